//! From an empty AWS account and no swarm to a running platform, through
//! the real user data: moto launches the pools' instances, the lab's node
//! agent boots each one as EC2 and cloud-init would (its rendered user
//! data, `manifests/bootstrap/node.sh`, run as root in a node namespace of
//! its own, with an instance metadata service and the aws CLI), the first
//! manager wins the init claim and creates the swarm, the others join it.
//! Then the swarm half is applied through a manager swarmkeeper finds
//! itself and reaches over ssh (`cluster.ssh`, DOCKER_HOST unset), and
//! `destroy` takes it all down again. No hand-built manager anywhere.
//!
//! One cluster of three managers and one worker covers both "one swarm
//! with one init" and "a worker joins" (the lab has two cores: each node is
//! a dockerd of its own).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{DesiredDir, boto, eventually, reset, reset_moto};
use serde_json::Value;

type Lab = BTreeMap<String, String>;

const AMI: &str = "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

fn desired(cluster: &str) -> String {
    format!(
        "version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: 3, instance_type: t3.small, ami: \"{AMI}\", instance_profile: {cluster}-nodes }}
  workers: {{ count: 1, instance_type: t3.small, ami: \"{AMI}\", instance_profile: {cluster}-nodes }}
logging:
  cloudwatch: {{ group: {cluster}-logs, retention_days: 1 }}
stacks:
  site:
    compose: site.yml
"
    )
}

/// A web service, and one that says a line on its standard output (which
/// the engine's awslogs driver sends to the cluster's log group).
fn site(lab: &Lab) -> String {
    let image = common::registry_image(lab, "web:1");
    format!(
        "services:
  talk:
    image: {image}
    command: [\"sh\", \"-c\", \"echo hello from the talk task; exec sleep 3600\"]
  web:
    image: {image}
    deploy:
      replicas: 2
      placement:
        constraints: [node.role == worker]
"
    )
}

/// The environment of a user with AWS credentials, the lab's ssh key and
/// known hosts, and no engine: the lab's, without DOCKER_HOST (this
/// machine has no default socket).
fn no_engine(lab: &Lab) -> Lab {
    let mut env = lab.clone();
    env.remove("DOCKER_HOST");
    env.insert(
        "SWARMKEEPER_SSH_IDENTITY".into(),
        lab["SWARMKEEPER_LAB_SSH_KEY"].clone(),
    );
    env.insert(
        "SWARMKEEPER_SSH_KNOWN_HOSTS".into(),
        lab["SWARMKEEPER_LAB_SSH_KNOWN_HOSTS"].clone(),
    );
    env
}

/// The same user with DOCKER_HOST naming one manager over ssh.
fn over_ssh(lab: &Lab, address: &str) -> Lab {
    let mut env = no_engine(lab);
    env.insert("DOCKER_HOST".into(), format!("ssh://ec2-user@{address}"));
    env
}

/// The binary with exactly `env`'s DOCKER_HOST: none when it has none
/// (not this process's, which a shell that sourced lab.env has set).
fn run(env: &Lab, args: &[&str]) -> common::Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_swarmkeeper"));
    cmd.args(args).env_remove("DOCKER_HOST").envs(env).env("NO_COLOR", "1");
    let out = cmd.output().expect("run swarmkeeper");
    let run = common::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("swarmkeeper {args:?}: {run:?}");
    run
}

fn parameter(lab: &Lab, name: &str) -> Value {
    boto(
        lab,
        &format!(
            "c = boto3.client('ssm', **kw)\ntry:\n    print(json.dumps(c.get_parameter(Name='{name}', WithDecryption=True)['Parameter']['Value']))\nexcept c.exceptions.ParameterNotFound:\n    print('null')"
        ),
    )
}

/// The cluster's pending or running instances: (id, group).
fn instances(lab: &Lab, cluster: &str) -> Vec<(String, String)> {
    let v = boto(
        lab,
        &format!(
            "e = boto3.client('ec2', **kw)\n\
             r = e.describe_instances(Filters=[{{'Name': 'tag:swarmkeeper:cluster', 'Values': ['{cluster}']}}, \
             {{'Name': 'instance-state-name', 'Values': ['pending', 'running']}}])['Reservations']\n\
             print(json.dumps([[i['InstanceId'], {{t['Key']: t['Value'] for t in i.get('Tags', [])}}.get('aws:autoscaling:groupName', '')] for x in r for i in x['Instances']]))"
        ),
    );
    v.as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i[0].as_str().unwrap_or_default().to_owned(),
                i[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A lab node's directory (the agent's contract: docker.sock,
/// bootstrap.log, address, pid).
fn node_dir(lab: &Lab, instance: &str) -> PathBuf {
    PathBuf::from(&lab["SWARMKEEPER_LAB_DIR"]).join("nodes").join(instance)
}

/// `docker` against one node's own engine.
fn node_docker(lab: &Lab, instance: &str, args: &[&str]) -> common::Run {
    let mut env = lab.clone();
    env.insert(
        "DOCKER_HOST".into(),
        format!("unix://{}", node_dir(lab, instance).join("docker.sock").display()),
    );
    common::docker(&env, args)
}

/// Whatever happens, the cluster's nodes do not outlive the test: marked
/// moto-only, the agent stops them.
struct Cleanup<'a>(&'a Lab, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        common::moto_only(self.0, &[self.1]);
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_empty_account_becomes_a_running_platform_through_the_real_user_data_and_destroy_takes_it_down() {
    let _serial = common::serial();
    let lab =
        common::lab("an_empty_account_becomes_a_running_platform_through_the_real_user_data_and_destroy_takes_it_down");
    reset(&lab, &[]);
    reset_moto(&lab);
    let cluster = format!("boot{}", std::process::id() % 100_000);
    let _cleanup = Cleanup(&lab, &cluster);
    let prefix = format!("/swarmkeeper/{cluster}");
    let dir = DesiredDir::new("bootstrap-lab");
    dir.write("swarmkeeper.yaml", &desired(&cluster))
        .write("site.yml", &site(&lab));
    // The pools' instance profile, made outside swarmkeeper as a user's
    // IAM code would.
    boto(
        &lab,
        &format!(
            "i = boto3.client('iam', **kw)\n\
             i.create_role(RoleName='{cluster}-nodes', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', \
             'Statement': [{{'Effect': 'Allow', 'Principal': {{'Service': 'ec2.amazonaws.com'}}, 'Action': 'sts:AssumeRole'}}]}}))\n\
             i.create_instance_profile(InstanceProfileName='{cluster}-nodes')\n\
             i.add_role_to_instance_profile(InstanceProfileName='{cluster}-nodes', RoleName='{cluster}-nodes')\n\
             print('{{}}')"
        ),
    );

    // The preview, with no engine: the swarm's steps wait for the swarm.
    let preview = run(&no_engine(&lab), &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(preview.code, Some(2), "{preview:?}");
    assert!(preview.stdout.contains("After the swarm exists"), "{preview:?}");
    let preview = run(&no_engine(&lab), &["reconcile", &dir.arg(), "--dry-run", "-o", "json"]);
    let shown = shown_steps(&preview);

    // The bootstrap, one command: the AWS half, the wait for the swarm,
    // then the swarm half through a manager found over ssh; it runs
    // exactly what the preview showed (three managers: their published
    // addresses too).
    let boot = run(
        &no_engine(&lab),
        &["reconcile", &dir.arg(), "--swarm-timeout", "420s", "-o", "json"],
    );
    assert!(boot.stderr.contains("swarm formed"), "{boot:?}");
    assert_eq!(shown, ran_steps(&boot), "the dry-run's steps are the apply's rounds");
    // cluster.ssh's default login, Amazon Linux's ec2-user.
    assert!(boot.stderr.contains("over ssh: ssh://ec2-user@10.213.0."), "{boot:?}");
    assert_eq!(boot.code, Some(0), "{boot:?}");

    // Both launch templates name the profile.
    let profiles = boto(
        &lab,
        &format!(
            "e = boto3.client('ec2', **kw)\n\
             out = []\n\
             for pool in ['managers', 'workers']:\n    \
             v = e.describe_launch_template_versions(LaunchTemplateName='{cluster}-' + pool, Versions=['$Default'])\n    \
             out.append(v['LaunchTemplateVersions'][0]['LaunchTemplateData'].get('IamInstanceProfile', {{}}).get('Name'))\n\
             print(json.dumps(out))"
        ),
    );
    assert_eq!(
        profiles,
        serde_json::json!([format!("{cluster}-nodes"), format!("{cluster}-nodes")])
    );

    // One init: the claim holder is a manager instance, and only its
    // bootstrap log initialised a swarm.
    let claim = parameter(&lab, &format!("{prefix}/init-claim"));
    let claim = claim.as_str().expect("an init claim").to_owned();
    let all = instances(&lab, &cluster);
    let managers: Vec<&str> = all
        .iter()
        .filter(|(_, g)| g.ends_with("-managers"))
        .map(|(i, _)| i.as_str())
        .collect();
    assert_eq!(managers.len(), 3, "{all:?}");
    assert!(managers.contains(&claim.as_str()), "{claim} in {managers:?}");
    let swarm_id = parameter(&lab, &format!("{prefix}/swarm-id"));
    let swarm_id = swarm_id.as_str().expect("a recorded swarm id").to_owned();

    // Every instance joins that one swarm through its user data.
    for (instance, group) in &all {
        let id = eventually(300, &format!("{instance} ({group}) in the cluster's swarm"), || {
            let run = node_docker(
                &lab,
                instance,
                &["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.Cluster.ID}}"],
            );
            let out = run.stdout.trim().to_owned();
            if group.ends_with("-workers") {
                // A worker does not see the cluster's id; active is enough.
                return out.starts_with("active").then(|| swarm_id.clone());
            }
            out.strip_prefix("active ").map(str::to_owned)
        });
        assert_eq!(id, swarm_id, "{instance}");
    }
    let inits: Vec<&str> = all
        .iter()
        .map(|(i, _)| i.as_str())
        .filter(|i| {
            std::fs::read_to_string(node_dir(&lab, i).join("root/var-log/swarmkeeper-bootstrap.log"))
                .unwrap_or_default()
                .contains("initialising a new swarm")
        })
        .collect();
    assert_eq!(inits, vec![claim.as_str()], "exactly one swarm init");

    // A manager the cluster published, for DOCKER_HOST.
    let addresses = parameter(&lab, &format!("{prefix}/manager-addresses"));
    let address = addresses
        .as_str()
        .and_then(|a| a.split(',').next())
        .and_then(|a| a.split(':').next())
        .expect("a published manager address")
        .to_owned();
    let ssh = over_ssh(&lab, &address);
    eventually(180, "site_web 2/2 on the worker", || {
        let ls = node_docker(&lab, &claim, &["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]);
        ls.stdout.contains("site_web 2/2").then_some(())
    });

    // Every node's engine sends container logs to the cluster's log group
    // (node.sh's daemon.json), one stream per container: the talk task's
    // line arrives in moto's CloudWatch Logs.
    let stream = eventually(120, "the talk task's line in the log group", || {
        let found = boto(
            &lab,
            &format!(
                "l = boto3.client('logs', **kw)\n\
                 out = []\n\
                 for s in l.describe_log_streams(logGroupName='{cluster}-logs')['logStreams']:\n    \
                 for e in l.get_log_events(logGroupName='{cluster}-logs', logStreamName=s['logStreamName'])['events']:\n        \
                 if 'hello from the talk task' in e['message']:\n            \
                 out.append(s['logStreamName'])\n\
                 print(json.dumps(out))"
            ),
        );
        found.as_array()?.first()?.as_str().map(str::to_owned)
    });
    assert!(
        stream.starts_with("site_talk.1."),
        "a stream named after the task's container: {stream}"
    );

    // Status from anywhere: AWS credentials alone.
    let status = eventually(60, "status --cluster synced", || {
        let s = run(&no_engine(&lab), &["status", "--cluster", &cluster, "-o", "json"]);
        let v: Value = serde_json::from_str(&s.stdout).ok()?;
        (v["sync_status"] == "Synced").then_some(v)
    });
    assert!(status["applied_revision"].is_string(), "{status:#}");

    // Nothing is left to do, with DOCKER_HOST unset (a manager found over
    // ssh) and with DOCKER_HOST naming one.
    let again = run(&no_engine(&lab), &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stderr.contains("over ssh: ssh://ec2-user@"), "{again:?}");
    let again = run(&ssh, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(again.code, Some(0), "{again:?}");

    // And back: destroy removes the instances, whose nodes go with them.
    let destroy = run(&ssh, &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(destroy.code, Some(0), "{destroy:?}");
    assert!(instances(&lab, &cluster).is_empty());
    eventually(120, "the cluster's nodes stopped", || {
        all.iter().all(|(i, _)| !node_dir(&lab, i).exists()).then_some(())
    });
    let second = run(&no_engine(&lab), &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(second.stdout.contains("Nothing to destroy"), "{second:?}");
}

/// The desired state of a cluster whose first manager starts the
/// controller, following `url`: one manager, the stack on it.
fn with_controller(lab: &Lab, controller: &str, cluster: &str, url: &str, replicas: u32) -> (String, String) {
    let yaml = format!(
        "version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: 1, instance_type: t3.small, ami: \"{AMI}\" }}
  controller:
    image: {controller}
    git: {{ url: \"{url}\", branch: main }}
    replicas: 1
stacks:
  site:
    compose: site.yml
"
    );
    let image = common::registry_image(lab, "web:1");
    let site = format!("services:\n  web:\n    image: {image}\n    deploy:\n      replicas: {replicas}\n");
    (yaml, site)
}

/// `cluster.controller`: the manager that creates the swarm starts
/// swarmkeeper from `manifests/swarmkeeper.stack.yml` (its image on the
/// node as a registry would provide it), following the lab's git server;
/// from then on the controller applies every pushed commit, and a CLI run
/// changes nothing without `--force`.
#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_first_manager_starts_the_controller_which_follows_git_and_owns_the_platform() {
    let _serial = common::serial();
    let lab = common::lab("the_first_manager_starts_the_controller_which_follows_git_and_owns_the_platform");
    reset(&lab, &[]);
    reset_moto(&lab);
    let cluster = format!("ctl{}", std::process::id() % 100_000);
    let _cleanup = Cleanup(&lab, &cluster);

    // The image the nodes run, from the binary under test, in the lab's
    // public registry: the first manager pulls it as it would from Docker Hub.
    let image = std::process::Command::new(common::repo_root().join("tests/lab/swarmkeeper-image"))
        .arg(env!("CARGO_BIN_EXE_swarmkeeper"))
        .envs(&lab)
        .output()
        .expect("run tests/lab/swarmkeeper-image");
    assert!(image.status.success(), "{}", String::from_utf8_lossy(&image.stderr));
    let controller = String::from_utf8_lossy(&image.stdout).trim().to_owned();
    assert!(
        controller.starts_with(&lab["SWARMKEEPER_LAB_PUBLIC_REGISTRY"]),
        "{controller}"
    );

    // The desired state in a repository on the lab's git server.
    let repo = format!("{cluster}.git");
    let bare = PathBuf::from(&lab["SWARMKEEPER_LAB_GIT_DIR"]).join(&repo);
    let _ = std::fs::remove_dir_all(&bare);
    std::fs::create_dir_all(&bare).expect("create the bare repository");
    common::git(&bare, &["init", "-q", "--bare"]);
    let url = format!("{}{repo}", lab["SWARMKEEPER_LAB_GIT_URL"]);
    let work = DesiredDir::new("controller-boot");
    let (yaml, site) = with_controller(&lab, &controller, &cluster, &url, 1);
    work.write("swarmkeeper.yaml", &yaml).write("site.yml", &site);
    let push = |message: &str| {
        common::git(&work.path, &["add", "-A"]);
        common::git(&work.path, &["commit", "-q", "-m", message]);
        common::git(
            &work.path,
            &[
                "push",
                "-q",
                &format!("file://{}", bare.display()),
                "HEAD:refs/heads/main",
            ],
        );
        common::git(&work.path, &["rev-parse", "HEAD"])
    };
    common::git(&work.path, &["init", "-q"]);
    let first = push("the platform");

    // One command from an empty account: the AWS half, the swarm formed;
    // the swarm half is the controller's.
    let boot = run(&no_engine(&lab), &["reconcile", &work.arg(), "--swarm-timeout", "420s"]);
    assert_eq!(boot.code, Some(0), "{boot:?}");
    assert!(boot.stderr.contains("swarm formed"), "{boot:?}");
    assert!(
        boot.stderr
            .contains(&format!("which applies the swarm half from {url}#main")),
        "{boot:?}"
    );
    let prefix = format!("/swarmkeeper/{cluster}");
    let manager = parameter(&lab, &format!("{prefix}/init-claim"));
    let manager = manager.as_str().expect("an init claim").to_owned();
    // Right after publishing the swarm, its bootstrap deploys the stack.
    let log_file = node_dir(&lab, &manager).join("root/var-log/swarmkeeper-bootstrap.log");
    eventually(120, "the first manager to start the controller", || {
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        assert!(!log.contains("starting the controller failed"), "{log}");
        log.contains(&format!("started the controller ({controller})"))
            .then_some(())
    });

    // The controller holds the lease and applies the commit: its stack
    // runs, and the cluster's status (AWS credentials alone) is its own.
    let applied = |commit: &str| {
        let revision = commit[..12].to_owned();
        let mut tries = 0;
        eventually(240, &format!("the controller to apply {revision}"), || {
            tries += 1;
            if tries % 20 == 0 {
                // What the controller says, for a test that times out.
                let ps = node_docker(
                    &lab,
                    &manager,
                    &["service", "ps", "--no-trunc", "swarmkeeper_controller"],
                );
                let logs = node_docker(
                    &lab,
                    &manager,
                    &["service", "logs", "--tail", "40", "swarmkeeper_controller"],
                );
                eprintln!("controller tasks: {ps:?}\ncontroller logs: {logs:?}");
            }
            let s = run(&no_engine(&lab), &["status", "--cluster", &cluster, "-o", "json"]);
            let v: Value = serde_json::from_str(&s.stdout).ok()?;
            (v["writer"] == "controller" && v["applied_revision"] == revision.as_str() && v["sync_status"] == "Synced")
                .then_some(v)
        })
    };
    applied(&first);
    eventually(120, "site_web 1/1 beside the controller", || {
        let ls = node_docker(
            &lab,
            &manager,
            &["service", "ls", "--format", "{{.Name}} {{.Replicas}}"],
        );
        (ls.stdout.contains("swarmkeeper_controller 1/1") && ls.stdout.contains("site_web 1/1")).then_some(())
    });
    let lease = node_docker(
        &lab,
        &manager,
        &[
            "config",
            "inspect",
            "swarmkeeper-lease",
            "--format",
            "{{json .Spec.Labels}}",
        ],
    );
    assert!(
        lease.stdout.contains(&url),
        "the lease names what it follows: {lease:?}"
    );

    // A pushed commit is applied by the controller.
    let (_, site) = with_controller(&lab, &controller, &cluster, &url, 2);
    work.write("site.yml", &site);
    let second = push("two replicas");
    applied(&second);
    eventually(120, "site_web 2/2", || {
        let ls = node_docker(
            &lab,
            &manager,
            &["service", "ls", "--format", "{{.Name}} {{.Replicas}}"],
        );
        ls.stdout.contains("site_web 2/2").then_some(())
    });

    // A CLI run from a directory of its own changes nothing and says where
    // changes go; --dry-run works as always.
    let (_, site) = with_controller(&lab, &controller, &cluster, &url, 3);
    work.write("site.yml", &site);
    let refused = run(&no_engine(&lab), &["reconcile", &work.arg()]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("the controller follows {url}#main: push there")),
        "{refused:?}"
    );
    let web = node_docker(
        &lab,
        &manager,
        &[
            "service",
            "inspect",
            "site_web",
            "--format",
            "{{.Spec.Mode.Replicated.Replicas}}",
        ],
    );
    assert_eq!(web.stdout.trim(), "2", "nothing changed: {web:?}");
    let preview = run(&no_engine(&lab), &["reconcile", &work.arg(), "--dry-run"]);
    assert_eq!(preview.code, Some(2), "{preview:?}");

    // Destroy stops the controller first, then takes the rest down.
    let destroy = run(&no_engine(&lab), &["destroy", &work.arg(), "--yes"]);
    assert_eq!(destroy.code, Some(0), "{destroy:?}");
    assert!(
        destroy.stdout.contains("removed the controller's service")
            || destroy.stderr.contains("removed the controller's service"),
        "{destroy:?}"
    );
    assert!(instances(&lab, &cluster).is_empty());
    let _ = std::fs::remove_dir_all(&bare);
}

/// The JSON documents one run printed, one after the other (a bootstrap
/// prints one for the AWS half and one for the swarm half).
fn documents(stdout: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("JSON documents on stdout ({e}): {stdout}"))
}

/// A step as the text plan names it: op, kind, name. A node's name is
/// known only after the apply, so a node step is named by the pool whose
/// label it gets.
fn named(step: &Value) -> (String, String, String) {
    let field = |k: &str| step[k].as_str().unwrap_or_default().to_owned();
    let name = match step["change"]["labels"]["io.swarmkeeper.pool"].as_str() {
        Some(pool) if field("kind") == "node" => format!("a node of the {pool} pool"),
        _ => field("name"),
    };
    assert!(!name.is_empty(), "a step without a name: {step}");
    (field("op"), field("kind"), name)
}

/// Every step a dry-run shows (now, after the swarm exists, after this
/// apply), named and sorted; the summary counts each of them.
fn shown_steps(preview: &common::Run) -> Vec<(String, String, String)> {
    assert_eq!(preview.code, Some(2), "{preview:?}");
    let plan = documents(&preview.stdout).pop().expect("a plan");
    let mut shown: Vec<_> = ["steps", "after_swarm", "after_apply"]
        .iter()
        .flat_map(|part| plan[*part].as_array().cloned().unwrap_or_default())
        .map(|s| named(&s))
        .collect();
    let count = |part: &str| plan[part].as_array().map_or(0, Vec::len);
    assert!(count("after_swarm") > 0 && count("steps") > 0, "{plan:#}");
    let summary = &plan["summary"];
    let counted: u64 = ["add", "change", "destroy", "after_swarm", "after_apply"]
        .iter()
        .map(|k| summary[*k].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        counted,
        shown.len() as u64,
        "the summary counts every step shown: {summary}"
    );
    shown.sort();
    shown
}

/// Every step a bootstrap ran, named and sorted: the rounds of its AWS
/// half and of its swarm half, which converged.
fn ran_steps(apply: &common::Run) -> Vec<(String, String, String)> {
    assert_eq!(apply.code, Some(0), "{apply:?}");
    let halves = documents(&apply.stdout);
    assert_eq!(halves.len(), 2, "the AWS half and the swarm half: {halves:#?}");
    assert_eq!(halves[1]["converged"], Value::Bool(true), "{:#}", halves[1]);
    let mut ran: Vec<_> = halves
        .iter()
        .flat_map(|half| half["rounds"].as_array().cloned().unwrap_or_default())
        .flat_map(|round| round.as_array().cloned().unwrap_or_default())
        .map(|s| named(&s))
        .collect();
    ran.sort();
    ran
}

/// A reviewer approves the dry-run; the apply must run exactly that. For
/// the example, from an empty account and no swarm: the dry-run's steps
/// (now, after the swarm exists, after this apply) are the union of the
/// apply's rounds (the AWS half's, then the swarm half's).
#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_examples_preview_from_an_empty_account_is_exactly_what_its_bootstrap_runs() {
    let _serial = common::serial();
    let lab = common::lab("the_examples_preview_from_an_empty_account_is_exactly_what_its_bootstrap_runs");
    reset(&lab, &[]);
    reset_moto(&lab);
    // The example's own cluster name, booted by the agent like any other.
    let cluster = "cloud";
    common::booted(&lab, cluster);
    // The account's one prerequisite: the certificate the ingress names,
    // issued in ACM as a user would have it.
    common::ensure_example_aws(&lab);
    let _cleanup = Cleanup(&lab, cluster);
    let example = format!("{}/manifests/examples/nextcloud", env!("CARGO_MANIFEST_DIR"));

    let preview = run(&no_engine(&lab), &["reconcile", &example, "--dry-run", "-o", "json"]);
    let shown = shown_steps(&preview);
    // Both of the example's instances are shown joining.
    for pool in ["managers", "workers"] {
        let want = (
            "update".to_owned(),
            "node".to_owned(),
            format!("a node of the {pool} pool"),
        );
        assert!(shown.contains(&want), "{pool} joining in {shown:?}");
    }

    let apply = run(
        &no_engine(&lab),
        &["reconcile", &example, "-o", "json", "--swarm-timeout", "420s"],
    );
    assert!(apply.stderr.contains("swarm formed"), "{apply:?}");
    // Revision names wait for the swarm's revision key: the preview shows
    // them as `<base>_(known after apply)`, the apply has the real suffix.
    let known_after_apply = |steps: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        let mut steps: Vec<_> = steps
            .into_iter()
            .map(|(op, kind, name)| match (kind.as_str(), name.rsplit_once('_')) {
                ("secret" | "config", Some((base, _))) => (op, kind.clone(), format!("{base}_(known after apply)")),
                _ => (op, kind, name),
            })
            .collect();
        steps.sort();
        steps
    };
    assert!(
        shown
            .iter()
            .any(|(_, kind, name)| kind == "secret" && name.ends_with("_(known after apply)")),
        "{shown:?}"
    );
    assert_eq!(
        known_after_apply(shown.clone()),
        known_after_apply(ran_steps(&apply)),
        "the dry-run's steps are the apply's rounds"
    );

    // Nothing is left to do.
    let again = run(&no_engine(&lab), &["reconcile", &example, "--dry-run"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    let destroy = run(&no_engine(&lab), &["destroy", &example, "--yes"]);
    assert_eq!(destroy.code, Some(0), "{destroy:?}");
}
