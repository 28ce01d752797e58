//! `swarmkeeper destroy` against the lab's moto: a cluster's AWS half built
//! by `swarmkeeper reconcile`, then taken down — everything tagged gone but
//! the retained file system (listed by id), after runs killed with SIGKILL
//! at random points; a second destroy has nothing to do. The dry-run's exit
//! codes, the refusal without a terminal or `--yes`, and the name typed on
//! a terminal. AWS state is read back with boto3, apart from swarmkeeper's
//! own provider.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DesiredDir, boto, reset, reset_moto, swarmkeeper};
use serde_json::Value;

type Lab = BTreeMap<String, String>;

fn setup(test: &str) -> Lab {
    let lab = common::lab(test);
    reset(&lab, &[]);
    reset_moto(&lab);
    common::moto_only(&lab, &["doomed", "asked", "spared"]);
    common::ensure_example_aws(&lab);
    lab
}

const AMI: &str = "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// A cluster `name` with everything swarmkeeper makes: both pools, a
/// retained and a deleted shared volume, a log group, the load balancer
/// with a route.
fn full(name: &str) -> String {
    format!(
        "version: 1
cluster:
  name: {name}
  region: eu-west-1
  managers:
    count: 1
    instance_type: t3.small
    ami: {AMI}
  workers:
    count: 2
    instance_type: t3.small
    ami: {AMI}
volumes:
  kept:
    type: shared
  scratch:
    type: shared
    deletion_policy: delete
logging:
  cloudwatch: {{ group: {name}-logs, retention_days: 7 }}
ingress:
  type: load_balancer
  certificate: cloud.example.com
routes:
  - host: cloud.example.com
    service: web/site
    port: 80
stacks:
  web:
    compose: web.yml
"
    )
}

/// A small cluster: one manager, no data.
fn small(name: &str) -> String {
    format!(
        "version: 1\ncluster:\n  name: {name}\n  region: eu-west-1\n  managers:\n    count: 1\n    instance_type: t3.small\n    ami: {AMI}\n"
    )
}

const WEB: &str = "services:\n  site:\n    image: swarmkeeper-lab/web:1\n    ports:\n      - target: 80\n        published: 18311\n        mode: host\n";

/// Everything in moto that carries `name`'s tag, or lives under its SSM
/// prefix, by kind (empty kinds left out).
fn tagged(lab: &Lab, name: &str) -> Value {
    boto(
        lab,
        &format!(
            r#"n = '{name}'
f = [{{'Name': 'tag:swarmkeeper:cluster', 'Values': [n]}}]
ec2 = boto3.client('ec2', **kw)
out = {{}}
out['security_groups'] = [g['GroupName'] for g in ec2.describe_security_groups(Filters=f)['SecurityGroups']]
out['launch_templates'] = [t['LaunchTemplateName'] for t in ec2.describe_launch_templates(Filters=f)['LaunchTemplates']]
out['instances'] = [i['InstanceId'] for r in ec2.describe_instances(Filters=f + [{{'Name': 'instance-state-name', 'Values': ['pending', 'running', 'stopping', 'stopped']}}])['Reservations'] for i in r['Instances']]
asg = boto3.client('autoscaling', **kw)
out['groups'] = [g['AutoScalingGroupName'] for g in asg.describe_auto_scaling_groups()['AutoScalingGroups'] if any(t['Key'] == 'swarmkeeper:cluster' and t['Value'] == n for t in g.get('Tags', []))]
efs = boto3.client('efs', **kw)
fss = efs.describe_file_systems()['FileSystems']
mine = [x for x in fss if any(t['Key'] == 'swarmkeeper:cluster' and t['Value'] == n for t in x.get('Tags', []))]
out['file_systems'] = sorted(x['CreationToken'] for x in mine)
out['mount_targets'] = [m['MountTargetId'] for x in mine for m in efs.describe_mount_targets(FileSystemId=x['FileSystemId'])['MountTargets']]
elb = boto3.client('elbv2', **kw)
out['load_balancers'] = [l['LoadBalancerName'] for l in elb.describe_load_balancers()['LoadBalancers'] if l['LoadBalancerName'] == n]
tgs = elb.describe_target_groups()['TargetGroups']
out['target_groups'] = [t['TargetGroupName'] for t in tgs if tgs and any(x['Key'] == 'swarmkeeper:cluster' and x['Value'] == n for d in elb.describe_tags(ResourceArns=[t['TargetGroupArn']])['TagDescriptions'] for x in d['Tags'])]
logs = boto3.client('logs', **kw)
out['log_groups'] = [g['logGroupName'] for g in logs.describe_log_groups(logGroupNamePrefix=n)['logGroups']]
ssm = boto3.client('ssm', **kw)
out['parameters'] = sorted(p['Name'] for p in ssm.get_parameters_by_path(Path='/swarmkeeper/' + n, Recursive=True)['Parameters'])
print(json.dumps({{k: v for k, v in out.items() if v}}))"#
        ),
    )
}

fn kept_id(lab: &Lab, token: &str) -> String {
    boto(
        lab,
        &format!(
            "efs = boto3.client('efs', **kw)\nprint(json.dumps([x['FileSystemId'] for x in efs.describe_file_systems()['FileSystems'] if x['CreationToken'] == '{token}'][0]))"
        ),
    )
    .as_str()
    .expect("a file system id")
    .to_owned()
}

/// Start `destroy --yes`, SIGKILL it after `after`, by its pid.
fn killed_after(lab: &Lab, dir: &str, after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(["destroy", dir, "--yes"])
        .envs(lab)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start destroy");
    std::thread::sleep(after);
    let running = matches!(child.try_wait(), Ok(None));
    // Child::kill sends SIGKILL to this child's pid only.
    let _ = child.kill();
    let _ = child.wait();
    running
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn destroy_removes_everything_tagged_but_retained_data_even_when_killed_midway() {
    let _serial = common::serial();
    let lab = setup("destroy_removes_everything_tagged_but_retained_data_even_when_killed_midway");
    let dir = DesiredDir::new("destroy-full");
    dir.write("swarmkeeper.yaml", &full("doomed")).write("web.yml", WEB);
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let built = tagged(&lab, "doomed");
    for kind in [
        "security_groups",
        "launch_templates",
        "instances",
        "groups",
        "file_systems",
        "mount_targets",
        "load_balancers",
        "target_groups",
        "log_groups",
        "parameters",
    ] {
        assert!(built.get(kind).is_some(), "reconcile made {kind}: {built:#}");
    }
    let kept = kept_id(&lab, "doomed-kept");

    // The dry-run: the plan, what is kept, exit 2; nothing changes.
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    for line in [
        "- auto scaling group \"doomed-workers\"",
        "- load balancer \"doomed\"",
        "- efs file system \"scratch\"",
        "- security group \"doomed-nodes\"",
        "- ssm parameter \"/swarmkeeper/doomed/join-token/worker\"",
        "to destroy.",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    assert!(
        !run.stdout.contains("\"kept\""),
        "retained data is not planned: {run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("kept: {kept} (volume kept, deletion_policy: retain)")),
        "{run:?}"
    );
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--dry-run", "-o", "json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["changes"], true);
    assert_eq!(doc["kept"][0]["id"], kept.as_str());
    assert_eq!(doc["api_calls"]["writes"], 0, "a dry-run writes nothing: {doc:#}");
    assert!(!run.stdout.contains("SWMTKN-"), "no secret in the plan");

    // Without a terminal and without --yes: refused, nothing changes.
    let run = swarmkeeper(&lab, &["destroy", &dir.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("refusing to destroy cluster doomed"), "{run:?}");
    assert!(run.stderr.contains("--yes"), "{run:?}");
    assert_eq!(tagged(&lab, "doomed"), built, "a refusal changes nothing");

    // Killed at growing points of a run until one stops it midway, then
    // run to the end. Wherever a run stopped, once it deleted something
    // and left something, the marker is still there (it goes last), so the
    // controller stays stopped.
    let only_kept = serde_json::json!({"file_systems": ["doomed-kept"]});
    let mut stopped_midway = 0;
    for millis in [150, 300, 500, 800, 1200, 2000, 3000] {
        let before = tagged(&lab, "doomed");
        if before == only_kept {
            break;
        }
        let killed = killed_after(&lab, &dir.arg(), Duration::from_millis(millis));
        let left = tagged(&lab, "doomed");
        eprintln!(
            "destroy killed after {millis} ms: running {killed}, progressed {}",
            left != before
        );
        if !killed || left == only_kept || left == before {
            continue;
        }
        stopped_midway += 1;
        assert!(
            left["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == "/swarmkeeper/doomed/destroying")),
            "a run killed after {millis} ms left work and no marker: {left:#}"
        );
        // The rest is for the run to the end below.
        break;
    }
    assert!(stopped_midway > 0, "no kill landed in the middle of a destroy");
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Destroy complete:"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("kept: {kept} (volume kept, deletion_policy: retain)")),
        "{run:?}"
    );
    assert_eq!(
        tagged(&lab, "doomed"),
        serde_json::json!({"file_systems": ["doomed-kept"]}),
        "everything tagged is gone but the retained file system"
    );

    // Again: nothing to destroy, exit 0; the dry-run agrees.
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Nothing to destroy"), "{run:?}");
    assert!(run.stdout.contains(&format!("kept: {kept}")), "{run:?}");
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

/// Single quotes for `sh -c`.
fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// `destroy` on a pseudo-terminal (util-linux's `script`), `typed` sent as
/// the keyboard would.
fn destroy_on_a_terminal(lab: &Lab, dir: &str, typed: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let command = [env!("CARGO_BIN_EXE_swarmkeeper"), "destroy", dir]
        .into_iter()
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--flush",
            "--echo",
            "never",
            "--command",
            &command,
            "/dev/null",
        ])
        .envs(lab)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().expect("stdin");
    // Typed once the question is on the screen: the terminal keeps it.
    std::thread::sleep(Duration::from_secs(3));
    stdin.write_all(typed.as_bytes()).expect("type");
    let out = child.wait_with_output().expect("script ends");
    drop(stdin);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn on_a_terminal_destroy_asks_for_the_clusters_name() {
    let _serial = common::serial();
    let lab = setup("on_a_terminal_destroy_asks_for_the_clusters_name");
    let dir = DesiredDir::new("destroy-tty");
    dir.write("swarmkeeper.yaml", &small("asked"));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let built = tagged(&lab, "asked");

    let (code, shown) = destroy_on_a_terminal(&lab, &dir.arg(), "asket\n");
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("Type the cluster's name to confirm"), "{shown}");
    assert!(
        shown.contains("the name typed is not `asked`; nothing was destroyed"),
        "{shown}"
    );
    assert_eq!(tagged(&lab, "asked"), built, "a wrong name changes nothing");

    let (code, shown) = destroy_on_a_terminal(&lab, &dir.arg(), "asked\n");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("Destroy complete:"), "{shown}");
    assert_eq!(tagged(&lab, "asked"), serde_json::json!({}));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_invalid_directory_or_one_without_a_cluster_destroys_nothing() {
    let _serial = common::serial();
    let lab = setup("an_invalid_directory_or_one_without_a_cluster_destroys_nothing");
    let dir = DesiredDir::new("destroy-invalid");
    dir.write("swarmkeeper.yaml", &small("spared"));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    let built = tagged(&lab, "spared");

    dir.write("swarmkeeper.yaml", &small("spared").replace("count: 1", "count: 2"));
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("is invalid; nothing was destroyed"), "{run:?}");

    dir.write("swarmkeeper.yaml", "version: 1\n");
    let run = swarmkeeper(&lab, &["destroy", &dir.arg(), "--yes"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("declares no `cluster:`"), "{run:?}");
    assert_eq!(tagged(&lab, "spared"), built);
}
