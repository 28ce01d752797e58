//! Node failure, quorum, scale and rolls on the multi-node lab: each test
//! builds a swarm of its own (the node agent's seed manager plus one node
//! per instance that swarmkeeper's auto scaling groups launch in moto),
//! runs `swarmkeeper run` on it, breaks something, and watches it mend.
//!
//! Bounds are generous (a shared machine); the reaction times themselves
//! are benchmarked, not asserted.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{DesiredDir, boto, eventually, free_port, get, status};
use serde_json::Value;

type Lab = BTreeMap<String, String>;

const AMI: &str = "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// A cluster's nodes on the lab: a seed manager (a hand-built first manager,
/// `node-agent --seed`, which publishes its swarm as the cluster's), and one
/// node per instance of the cluster's groups, which the lab's node agent
/// boots through the instance's real user data. On drop the seed stops and
/// the cluster is marked moto-only, so the agent stops its nodes too.
struct NodeLab {
    seed: Child,
    env: Lab,
    lab: Lab,
    cluster: String,
    state: PathBuf,
}

impl NodeLab {
    fn start(lab: &Lab, cluster: &str) -> NodeLab {
        let state = PathBuf::from(&lab["SWARMKEEPER_LAB_DIR"]).join("nodes");
        let seed_dir = state.join(format!("seed-{cluster}"));
        let seed = Command::new(&lab["SWARMKEEPER_LAB_PYTHON"])
            .arg(common::repo_root().join("tests/lab/node-agent"))
            .args(["--seed", cluster])
            .envs(lab)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the seed manager");
        let mut nodes = NodeLab {
            seed,
            env: lab.clone(),
            lab: lab.clone(),
            cluster: cluster.to_owned(),
            state,
        };
        eventually(120, "the seed manager", || {
            seed_dir.join("ready").exists().then_some(())
        });
        let sock = format!("unix://{}", seed_dir.join("docker.sock").display());
        nodes.env.insert("DOCKER_HOST".into(), sock);
        nodes
    }

    fn docker(&self, args: &[&str]) -> common::Run {
        common::docker(&self.env, args)
    }

    /// Every node as `docker node inspect` shows it.
    fn nodes(&self) -> Vec<Value> {
        let ids = self.docker(&["node", "ls", "-q"]);
        let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
        if ids.is_empty() {
            return vec![];
        }
        let mut args = vec!["node", "inspect"];
        args.extend(ids);
        serde_json::from_str(&self.docker(&args).stdout).unwrap_or_default()
    }

    /// Nodes of one pool (by the label swarmkeeper gives the nodes it adopts).
    fn pool(&self, pool: &str) -> Vec<Value> {
        self.nodes()
            .into_iter()
            .filter(|n| n["Spec"]["Labels"]["io.swarmkeeper.pool"] == pool)
            .collect()
    }

    /// Pool nodes that are ready, active, and (managers) reachable.
    fn serving(&self, pool: &str) -> Vec<Value> {
        self.pool(pool)
            .into_iter()
            .filter(|n| n["Status"]["State"] == "ready" && n["Spec"]["Availability"] == "active")
            .filter(|n| n["Spec"]["Role"] != "manager" || n["ManagerStatus"]["Reachability"] == "reachable")
            .collect()
    }

    /// A node failure: SIGKILL its dockerd (the agent does not restart it).
    fn kill(&self, node: &Value) -> String {
        let instance = node["Description"]["Engine"]["Labels"]["swarmkeeper.instance-id"]
            .as_str()
            .expect("a node of an instance")
            .to_owned();
        let pid = std::fs::read_to_string(self.state.join(&instance).join("pid")).expect("node pid");
        let killed = Command::new("kill").args(["-KILL", pid.trim()]).status().expect("kill");
        assert!(killed.success());
        instance
    }

    /// Running tasks of `service`: (task id, node id).
    fn running(&self, service: &str) -> Vec<(String, String)> {
        let ps = self.docker(&[
            "service",
            "ps",
            service,
            "--filter",
            "desired-state=running",
            "--format",
            "{{.ID}} {{.CurrentState}}",
            "--no-trunc",
        ]);
        ps.stdout
            .lines()
            .filter(|l| l.contains(" Running"))
            .filter_map(|l| l.split_whitespace().next())
            .map(|task| {
                let node = self.docker(&["inspect", "--format", "{{.NodeID}}", task]);
                (task.to_owned(), node.stdout.trim().to_owned())
            })
            .collect()
    }
}

impl Drop for NodeLab {
    fn drop(&mut self) {
        common::moto_only(&self.lab, &[&self.cluster]);
        let pid = self.seed.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..240 {
            if self.seed.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let _ = self.seed.kill();
        let _ = self.seed.wait();
    }
}

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn controller(nodes: &NodeLab, dir: &DesiredDir, port: u16) -> Controller {
    controller_with(nodes, dir, port, &[])
}

/// The same with more environment variables.
fn controller_with(nodes: &NodeLab, dir: &DesiredDir, port: u16, env: &[(&str, &str)]) -> Controller {
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args([
            "run",
            "--adopt-swarm",
            &dir.arg(),
            "--resync",
            "2s",
            "--lease-ttl",
            "6s",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .envs(&nodes.env)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(controller_log(nodes, port))
        .spawn()
        .expect("start swarmkeeper run");
    Controller(child)
}

/// Where a controller's log goes: `$SWARMKEEPER_LAB_DIR/logs/`, named by
/// cluster and port, for when a test fails (`tests/lab/down` removes it).
fn controller_log(nodes: &NodeLab, port: u16) -> Stdio {
    let dir = PathBuf::from(&nodes.lab["SWARMKEEPER_LAB_DIR"]).join("logs");
    let file = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::File::create(dir.join(format!("controller-{}-{port}.log", nodes.cluster))));
    file.map_or_else(|_| Stdio::null(), Stdio::from)
}

/// A cluster name of its own per test run (moto keeps what earlier runs
/// made): `test` is a prefix no other test of this file uses.
fn cluster_name(test: &str) -> String {
    format!("{test}-{}", std::process::id() % 100_000)
}

/// The cluster and one stack: `replicas` of a web service on the workers;
/// with `apart`, at most one per node (as a production service should be:
/// a drain then never stops every replica at once).
fn write_state(
    lab: &Lab,
    dir: &DesiredDir,
    cluster: &str,
    (managers, workers, worker_type): (u32, u32, &str),
    replicas: u32,
    apart: bool,
) {
    dir.write(
        "swarmkeeper.yaml",
        &format!(
            "version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: {managers}, instance_type: t3.small, ami: \"{AMI}\" }}
  workers: {{ count: {workers}, instance_type: {worker_type}, ami: \"{AMI}\" }}
  replace_after: 5s
  max_unavailable: 1
stacks:
  app:
    compose: app.yml
"
        ),
    );
    let placement = match (workers > 0, apart) {
        (true, true) => {
            "      placement:\n        constraints: [node.role == worker]\n        max_replicas_per_node: 1\n"
        }
        (true, false) => "      placement:\n        constraints: [node.role == worker]\n",
        (false, _) => "",
    };
    let image = common::registry_image(lab, "web:1");
    dir.write(
        "app.yml",
        &format!("services:\n  web:\n    image: {image}\n    deploy:\n      replicas: {replicas}\n{placement}"),
    );
}

/// Instances of a group as moto has them: (id, lifecycle state, type).
fn group_instances(lab: &Lab, group: &str) -> Vec<(String, String, String)> {
    let v = boto(
        lab,
        &format!(
            "a = boto3.client('autoscaling', **kw)\n\
             g = a.describe_auto_scaling_groups(AutoScalingGroupNames=['{group}'])['AutoScalingGroups']\n\
             print(json.dumps([[i['InstanceId'], i['LifecycleState'], i.get('InstanceType', '')] for x in g for i in x['Instances']]))"
        ),
    );
    v.as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i[0].as_str().unwrap_or_default().to_owned(),
                i[1].as_str().unwrap_or_default().to_owned(),
                i[2].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| n["ID"].as_str().map(str::to_owned))
        .collect()
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_dead_worker_is_removed_and_replaced_and_its_replicas_run_on_live_nodes() {
    let _serial = common::serial();
    let lab = common::lab("a_dead_worker_is_removed_and_replaced_and_its_replicas_run_on_live_nodes");
    let cluster = cluster_name("wk");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-worker");
    write_state(&lab, &dir, &cluster, (1, 2, "t3.small"), 2, true);
    // A receiver of the node events (the notifications' own test covers the others).
    let (receiver_port, got) = common::receiver::receiver();
    let root = std::fs::read_to_string(dir.path.join("swarmkeeper.yaml")).expect("the state");
    dir.write(
        "swarmkeeper.yaml",
        &format!(
            "{root}notifications:\n  nodes:\n    type: webhook\n    url: {{env: SK_TEST_NOTIFY_URL}}\n    events: [node_replaced]\n"
        ),
    );
    let notify_url = format!("http://127.0.0.1:{receiver_port}/nodes");
    let port = free_port();
    let _controller = controller_with(&nodes, &dir, port, &[("SK_TEST_NOTIFY_URL", &notify_url)]);

    eventually(180, "2 workers serving and 2 replicas running", || {
        (nodes.serving("workers").len() == 2 && nodes.running("app_web").len() == 2).then_some(())
    });
    // Kill a worker that runs a replica.
    let running = nodes.running("app_web");
    let workers = nodes.serving("workers");
    let victim = workers
        .iter()
        .find(|n| running.iter().any(|(_, node)| n["ID"] == node.as_str()))
        .expect("a worker with a replica");
    let victim_id = victim["ID"].as_str().unwrap_or_default().to_owned();
    let instance = nodes.kill(victim);

    eventually(
        180,
        "the dead node removed and replaced, 2 replicas on live nodes",
        || {
            let all = nodes.nodes();
            let gone = !ids(&all).contains(&victim_id);
            let serving = ids(&nodes.serving("workers"));
            let running = nodes.running("app_web");
            let on_live = running.iter().all(|(_, node)| serving.contains(node));
            (gone && serving.len() == 2 && running.len() == 2 && on_live).then_some(())
        },
    );
    // Its instance was terminated through the group, which launched another.
    let instances = group_instances(&lab, &format!("{cluster}-workers"));
    assert!(!instances.iter().any(|(id, _, _)| id == &instance), "{instances:?}");
    assert_eq!(instances.len(), 2, "{instances:?}");
    let s = status(port).expect("status");
    assert_eq!(s["nodes"]["quorum"]["ok"], true, "{s:#}");
    // One message: this instance replaced.
    let told = eventually(30, "the replacement's notification", || {
        let told = got.on("/nodes");
        (!told.is_empty()).then_some(told)
    });
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0]["event"], "node_replaced", "{told:#?}");
    assert!(
        told[0]["node"].as_str().unwrap_or_default().starts_with(&instance),
        "{told:#?}"
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_dead_manager_is_replaced_while_quorum_holds() {
    let _serial = common::serial();
    let lab = common::lab("a_dead_manager_is_replaced_while_quorum_holds");
    let cluster = cluster_name("mg");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-manager");
    write_state(&lab, &dir, &cluster, (3, 0, "t3.small"), 1, true);
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);

    eventually(180, "3 managers of the pool reachable", || {
        (nodes.serving("managers").len() == 3).then_some(())
    });
    let victim = nodes.serving("managers").remove(0);
    let victim_id = victim["ID"].as_str().unwrap_or_default().to_owned();
    nodes.kill(&victim);

    // Seed + 3: with one dead, 3 of 4 are reachable — a majority.
    eventually(180, "the dead manager removed and 3 reachable managers again", || {
        let gone = !ids(&nodes.nodes()).contains(&victim_id);
        (gone && nodes.serving("managers").len() == 3).then_some(())
    });
    let s = status(port).expect("status");
    assert_eq!(s["nodes"]["quorum"]["ok"], true, "{s:#}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn with_two_of_three_managers_dead_nothing_destructive_happens_and_quorum_loss_is_reported() {
    let _serial = common::serial();
    let lab = common::lab("with_two_of_three_managers_dead_nothing_destructive_happens_and_quorum_loss_is_reported");
    let cluster = cluster_name("qm");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-quorum");
    write_state(&lab, &dir, &cluster, (3, 0, "t3.small"), 1, true);
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);

    eventually(180, "3 managers of the pool reachable", || {
        (nodes.serving("managers").len() == 3).then_some(())
    });
    let group = format!("{cluster}-managers");
    let before = group_instances(&lab, &group);
    let managers = nodes.serving("managers");
    nodes.kill(&managers[0]);
    nodes.kill(&managers[1]);

    // Seed + 3 with 2 dead: 2 of 4, no majority.
    let lost = eventually(120, "quorum loss reported", || {
        status(port).filter(|s| s["nodes"]["quorum"]["ok"] == false)
    });
    assert!(
        lost["nodes"]["problems"][0]
            .as_str()
            .unwrap_or_default()
            .contains("QUORUM LOST"),
        "{lost:#}"
    );
    let metrics = get(port, "/metrics").expect("metrics");
    assert!(metrics.contains("swarmkeeper_manager_quorum 0"), "{metrics}");
    // Well past replace_after (5 s): no instance was terminated, none added.
    std::thread::sleep(Duration::from_secs(20));
    assert_eq!(group_instances(&lab, &group), before);
    let s = status(port).expect("status");
    assert_eq!(s["nodes"]["quorum"]["ok"], false, "{s:#}");
    assert_eq!(s["health_status"], "Degraded", "{s:#}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn workers_scale_out_then_in_with_drains_and_the_service_keeps_running() {
    let _serial = common::serial();
    let lab = common::lab("workers_scale_out_then_in_with_drains_and_the_service_keeps_running");
    let cluster = cluster_name("sc");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-scale");
    write_state(&lab, &dir, &cluster, (1, 2, "t3.small"), 2, false);
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);
    eventually(180, "2 workers and 2 replicas", || {
        (nodes.serving("workers").len() == 2 && nodes.running("app_web").len() == 2).then_some(())
    });

    write_state(&lab, &dir, &cluster, (1, 3, "t3.small"), 2, false);
    eventually(180, "3 workers serving", || {
        (nodes.serving("workers").len() == 3).then_some(())
    });

    write_state(&lab, &dir, &cluster, (1, 1, "t3.small"), 2, false);
    let mut samples = 0;
    eventually(240, "1 worker left, 2 replicas running on it", || {
        let running = nodes.running("app_web");
        assert!(!running.is_empty(), "the service stopped running during the scale-in");
        samples += 1;
        let workers = nodes.pool("workers");
        (workers.len() == 1 && running.len() == 2).then_some(())
    });
    assert!(samples > 1, "the scale-in was watched");
    let instances = group_instances(&lab, &format!("{cluster}-workers"));
    assert_eq!(instances.len(), 1, "{instances:?}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_instance_type_change_rolls_the_workers_one_at_a_time() {
    let _serial = common::serial();
    let lab = common::lab("an_instance_type_change_rolls_the_workers_one_at_a_time");
    let cluster = cluster_name("rl");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-roll");
    write_state(&lab, &dir, &cluster, (1, 2, "t3.small"), 2, true);
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);
    eventually(180, "2 workers and 2 replicas", || {
        (nodes.serving("workers").len() == 2 && nodes.running("app_web").len() == 2).then_some(())
    });
    let group = format!("{cluster}-workers");
    let old: Vec<String> = group_instances(&lab, &group).into_iter().map(|(id, _, _)| id).collect();

    write_state(&lab, &dir, &cluster, (1, 2, "t3.medium"), 2, true);
    eventually(300, "both workers replaced by t3.medium ones", || {
        // Never more than max_unavailable (1) of the 2 workers out.
        let serving = nodes.serving("workers").len();
        assert!(serving >= 1, "both workers out of service at once");
        assert!(
            !nodes.running("app_web").is_empty(),
            "the service stopped running during the roll"
        );
        let instances = group_instances(&lab, &group);
        let rolled = instances.len() == 2 && instances.iter().all(|(id, _, t)| t == "t3.medium" && !old.contains(id));
        (rolled && serving == 2).then_some(())
    });
}

/// Whether the auto scaling group exists in moto.
fn group_exists(lab: &Lab, group: &str) -> bool {
    let v = boto(
        lab,
        &format!(
            "a = boto3.client('autoscaling', **kw)\n\
             print(json.dumps(len(a.describe_auto_scaling_groups(AutoScalingGroupNames=['{group}'])['AutoScalingGroups'])))"
        ),
    );
    v.as_u64().is_some_and(|n| n > 0)
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_pool_removed_from_the_state_is_drained_to_zero_before_its_group_goes() {
    let _serial = common::serial();
    let lab = common::lab("a_pool_removed_from_the_state_is_drained_to_zero_before_its_group_goes");
    let cluster = cluster_name("pr");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-pool-removal");
    let state = |workers: bool| {
        let pool = if workers {
            format!("  workers: {{ count: 2, instance_type: t3.small, ami: \"{AMI}\" }}\n")
        } else {
            String::new()
        };
        dir.write(
            "swarmkeeper.yaml",
            &format!(
                "version: 1\ncluster:\n  name: {cluster}\n  region: eu-west-1\n  \
                 managers: {{ count: 1, instance_type: t3.small, ami: \"{AMI}\" }}\n{pool}  \
                 replace_after: 5s\n  max_unavailable: 1\nstacks:\n  app:\n    compose: app.yml\n"
            ),
        );
        // No placement: the replicas may run on the manager once the
        // workers are gone.
        let image = common::registry_image(&lab, "web:1");
        dir.write(
            "app.yml",
            &format!("services:\n  web:\n    image: {image}\n    deploy:\n      replicas: 2\n"),
        );
    };
    state(true);
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);
    let group = format!("{cluster}-workers");
    eventually(180, "2 workers and 2 replicas", || {
        (nodes.serving("workers").len() == 2 && nodes.running("app_web").len() == 2).then_some(())
    });

    // The `workers:` section goes: the pool drains one node at a time, and
    // its group goes only once it has no instance left.
    state(false);
    let mut drained_with_group = false;
    eventually(300, "the workers pool drained and its group deleted", || {
        // The group is read before the swarm: the controller removes a node
        // before it terminates the instance and deletes the group a cycle
        // later, so a group seen gone means the nodes read after it are gone
        // too. (Read the other way round, a node list taken just before the
        // last removal looks like a group deleted under a live worker.)
        let exists = group_exists(&lab, &group);
        let instances = if exists { group_instances(&lab, &group) } else { vec![] };
        let workers = nodes.pool("workers");
        assert!(
            !nodes.running("app_web").is_empty(),
            "the service stopped running during the removal"
        );
        let out = workers
            .iter()
            .filter(|n| n["Spec"]["Availability"] != "active" || n["Status"]["State"] != "ready")
            .count();
        assert!(out <= 1, "more than max_unavailable workers out at once: {workers:#?}");
        if !exists {
            assert!(
                workers.is_empty(),
                "the group went with workers in the swarm: {workers:#?}"
            );
        } else if workers.len() < 2 {
            drained_with_group = true;
        }
        (!exists && instances.is_empty()).then_some(())
    });
    assert!(
        drained_with_group,
        "the drain was watched while the group still existed"
    );
    eventually(120, "2 replicas on the remaining node", || {
        (nodes.running("app_web").len() == 2).then_some(())
    });
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_private_image_is_pulled_on_every_node_with_the_credentials_of_registries() {
    let _serial = common::serial();
    let lab = common::lab("a_private_image_is_pulled_on_every_node_with_the_credentials_of_registries");
    let cluster = cluster_name("pi");
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-private-image");
    // The image only the lab registry holds (no engine has it loaded).
    let registry = lab["SWARMKEEPER_LAB_REGISTRY"].clone();
    let image = format!("{registry}/it/everywhere-{}:v1", std::process::id());
    let client = PathBuf::from(&lab["SWARMKEEPER_LAB_DIR"]).join("registry/client");
    let client = client.to_string_lossy().into_owned();
    for args in [
        vec!["tag", "swarmkeeper-lab/web:1", image.as_str()],
        vec!["--config", client.as_str(), "push", image.as_str()],
        vec!["rmi", image.as_str()],
    ] {
        let run = common::docker(&lab, &args);
        assert_eq!(run.code, Some(0), "docker {args:?}: {run:?}");
    }
    // The controller's credentials: `registries:` naming a file (as a swarm
    // secret mounted into it would be).
    let password = PathBuf::from(&lab["SWARMKEEPER_LAB_REGISTRY_PASSWORD_FILE"]);
    dir.write(
        "swarmkeeper.yaml",
        &format!(
            "version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: 1, instance_type: t3.small, ami: \"{AMI}\" }}
  workers: {{ count: 2, instance_type: t3.small, ami: \"{AMI}\" }}
registries:
  {registry}:
    username: {}
    password: {{file: {}}}
stacks:
  app:
    compose: app.yml
",
            lab["SWARMKEEPER_LAB_REGISTRY_USER"],
            password.display()
        ),
    );
    dir.write(
        "app.yml",
        &format!("services:\n  web:\n    image: {image}\n    deploy:\n      mode: global\n"),
    );
    let port = free_port();
    let _controller = controller(&nodes, &dir, port);

    // One task on each of the three nodes, each running the pinned digest.
    let tasks = eventually(240, "the global service running on 3 nodes", || {
        let running = nodes.running("app_web");
        (nodes.serving("workers").len() == 2 && running.len() == 3).then_some(running)
    });
    let nodes_used: std::collections::BTreeSet<&String> = tasks.iter().map(|(_, node)| node).collect();
    assert_eq!(nodes_used.len(), 3, "{tasks:?}");
    for (task, _) in &tasks {
        let image_of = nodes.docker(&["inspect", "--format", "{{.Spec.ContainerSpec.Image}}", task]);
        let ran = image_of.stdout.trim();
        assert!(ran.starts_with(&format!("{image}@sha256:")), "task {task} runs {ran}");
    }
}

/// The engine socket of each node of the cluster, as the host reaches it:
/// the seed's, and each instance's node directory.
fn node_sockets(nodes: &NodeLab) -> Vec<(String, String)> {
    nodes
        .nodes()
        .iter()
        .map(|n| {
            let id = n["ID"].as_str().expect("a node ID").to_owned();
            let dir = match n["Description"]["Engine"]["Labels"]["swarmkeeper.instance-id"].as_str() {
                Some(instance) => instance.to_owned(),
                None => format!("seed-{}", nodes.cluster),
            };
            let sock = nodes.state.join(dir).join("docker.sock");
            (id, format!("unix://{}", sock.display()))
        })
        .collect()
}

/// `docker ARGS` against one node's engine, with `stdin` from a file.
fn docker_on(lab: &Lab, host: &str, args: &[&str], stdin: Option<&std::path::Path>) -> common::Run {
    let mut command = Command::new("docker");
    command.args(args).envs(lab).env("DOCKER_HOST", host);
    if let Some(file) = stdin {
        command.stdin(std::fs::File::open(file).expect("open stdin file"));
    }
    let out = command.output().expect("run docker");
    common::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_scheduled_prune_runs_on_every_node_and_removes_what_docker_system_prune_would_but_volumes() {
    let _serial = common::serial();
    let lab =
        common::lab("the_scheduled_prune_runs_on_every_node_and_removes_what_docker_system_prune_would_but_volumes");
    let cluster = cluster_name("sp");
    // swarmkeeper's own image, from the binary this test run built, in the
    // lab's public registry (where the nodes pull from).
    let tag = format!("{}/lab/swarmkeeper:prune-test", lab["SWARMKEEPER_LAB_PUBLIC_REGISTRY"]);
    let built = Command::new(common::repo_root().join("tests/lab/swarmkeeper-image"))
        .arg(env!("CARGO_BIN_EXE_swarmkeeper"))
        .arg(&tag)
        .envs(&lab)
        .output()
        .expect("run tests/lab/swarmkeeper-image");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let nodes = NodeLab::start(&lab, &cluster);
    let dir = DesiredDir::new("nodes-prune");
    let (receiver_port, received) = common::receiver::receiver();
    let state = |maintenance: &str| {
        format!(
            "version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: 1, instance_type: t3.small, ami: \"{AMI}\" }}
  workers: {{ count: 2, instance_type: t3.small, ami: \"{AMI}\" }}
notifications:
  ops:
    type: webhook
    url: {{env: SK_TEST_PRUNE_URL}}
    events: [prune]
{maintenance}"
        )
    };
    dir.write("swarmkeeper.yaml", &state(""));
    let port = free_port();
    let url = format!("http://127.0.0.1:{receiver_port}/prune");
    let _controller = controller_with(
        &nodes,
        &dir,
        port,
        &[("SWARMKEEPER_MAINTENANCE_IMAGE", &tag), ("SK_TEST_PRUNE_URL", &url)],
    );
    // The seed, the managers' instance and two workers.
    eventually(240, "the cluster's nodes serving", || {
        (nodes.serving("managers").len() == 1
            && nodes.serving("workers").len() == 2
            && nodes.nodes().iter().all(|n| n["Status"]["State"] == "ready"))
        .then_some(())
    });

    // On every node: a dangling image, a stopped container (of a tagged
    // image, which stays: only dangling images go) and a named volume.
    let work = DesiredDir::new("nodes-prune-files");
    let mut planted = Vec::new();
    for (i, (node, host)) in node_sockets(&nodes).into_iter().enumerate() {
        let mut ids = Vec::new();
        for name in ["dangling", "stopped"] {
            let root = work.path.join(format!("{name}-{i}"));
            std::fs::create_dir_all(&root).expect("mkdir");
            std::fs::write(root.join(name), format!("{name} on {node}")).expect("write");
            let tar = work.path.join(format!("{name}-{i}.tar"));
            let packed = Command::new("tar")
                .arg("-C")
                .arg(&root)
                .arg("-cf")
                .arg(&tar)
                .arg(".")
                .status()
                .expect("tar");
            assert!(packed.success());
            let mut args = vec!["import", "-"];
            if name == "stopped" {
                args.push("planted/stopped:1");
            }
            let imported = docker_on(&lab, &host, &args, Some(&tar));
            assert_eq!(imported.code, Some(0), "{imported:?}");
            ids.push(imported.stdout.trim().to_owned());
        }
        for args in [
            vec!["create", "--name", "planted-stopped", "planted/stopped:1", "/nothing"],
            vec!["volume", "create", "planted-keep"],
        ] {
            let run = docker_on(&lab, &host, &args, None);
            assert_eq!(run.code, Some(0), "{node}: docker {args:?}: {run:?}");
        }
        planted.push((node, host, ids[0].clone()));
    }

    // A window missed while no controller ran: the swarm's record says the
    // last prune was long ago. Then the schedule is declared.
    let record = work.path.join("record");
    std::fs::write(&record, "test").expect("write");
    let made = nodes.docker(&[
        "config",
        "create",
        "--label",
        "io.swarmkeeper.prune.window=1",
        "swarmkeeper-maintenance",
        &record.display().to_string(),
    ]);
    assert_eq!(made.code, Some(0), "{made:?}");
    dir.write(
        "swarmkeeper.yaml",
        &state("maintenance:\n  system_prune: { schedule: daily, at: \"01:42\", stagger: 3s }\n"),
    );

    let run = eventually(300, "the scheduled prune's run in /status", || {
        let s = status(port)?;
        let run = s["maintenance"]["last_run"].clone();
        run.is_object().then_some(run)
    });
    assert_eq!(run["failed"], Value::Null, "{run}");
    let reports = run["nodes"].as_array().expect("nodes").clone();
    assert_eq!(reports.len(), planted.len(), "{run}");
    for (node, host, dangling) in &planted {
        let report = reports
            .iter()
            .find(|r| r["node"] == node.as_str())
            .unwrap_or_else(|| panic!("no report for {node}: {run}"));
        assert!(report["containers"].as_u64() >= Some(1), "{report}");
        assert!(report["images"].as_u64() >= Some(1), "{report}");
        let image = docker_on(&lab, host, &["image", "inspect", dangling], None);
        assert_ne!(
            image.code,
            Some(0),
            "{node}: the dangling image {dangling} is still there"
        );
        let container = docker_on(&lab, host, &["container", "inspect", "planted-stopped"], None);
        assert_ne!(container.code, Some(0), "{node}: the stopped container is still there");
        let volume = docker_on(&lab, host, &["volume", "inspect", "planted-keep"], None);
        assert_eq!(volume.code, Some(0), "{node}: the volume went: {volume:?}");
        let tagged = docker_on(&lab, host, &["image", "inspect", "planted/stopped:1"], None);
        assert_eq!(tagged.code, Some(0), "{node}: a tagged image went: {tagged:?}");
    }
    // The run is recorded (for the window it ran for), the job is gone,
    // the metrics say what each node reclaimed, and one message told it.
    let labels = nodes.docker(&[
        "config",
        "inspect",
        "--format",
        "{{json .Spec.Labels}}",
        "swarmkeeper-maintenance",
    ]);
    let labels: Value = serde_json::from_str(labels.stdout.trim()).expect("labels");
    let window: u64 = labels["io.swarmkeeper.prune.window"]
        .as_str()
        .and_then(|w| w.parse().ok())
        .expect("a window");
    assert!(window > 1 && window == run["window"].as_u64().unwrap_or(0), "{labels}");
    let services = nodes.docker(&["service", "ls", "--format", "{{.Name}}"]);
    assert!(!services.stdout.contains("swarmkeeper-prune"), "{services:?}");
    let metrics = get(port, "/metrics").expect("metrics");
    let series = metrics
        .lines()
        .filter(|l| l.starts_with("swarmkeeper_prune_reclaimed_bytes{"))
        .count();
    assert_eq!(series, planted.len(), "{metrics}");
    assert!(
        metrics.contains("swarmkeeper_prune_runs_total{outcome=\"ok\"} 1"),
        "{metrics}"
    );
    let told = eventually(60, "the prune notification", || {
        let got = received.on("/prune");
        (!got.is_empty()).then_some(got)
    });
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["event"], "prune", "{}", told[0]);
    assert_eq!(
        told[0]["prune"]["nodes"].as_array().map(Vec::len),
        Some(planted.len()),
        "{}",
        told[0]
    );
    // The next window is tomorrow's: nothing runs again meanwhile.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(received.on("/prune").len(), 1);
}
