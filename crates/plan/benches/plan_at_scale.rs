//! Plan at scale: a synthetic desired state (services in stacks, routes,
//! shared volumes, a cluster) and an observed snapshot (the state applied,
//! 1 % of the services then changed behind swarmkeeper's back, the nodes of
//! the pools), at three sizes: 0.1×, 1× and 10× of 1,000 services in 50
//! stacks, 500 nodes, 200 routes and 100 volumes (at 10× the nodes are
//! 1,003: a pool holds at most 1,000, the model's limit).
//!
//! Measured: load + validate (the real loader, from files on disk), diff
//! (swarm, AWS and the node lifecycle together), render (the text plan).
//! `cargo bench -p swarmkeeper-plan --bench plan_at_scale`; the peak heap of
//! one whole plan at each size is printed first (a counting allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group};
use swarmkeeper_model::{DesiredState, Variables, load_dir};
use swarmkeeper_plan::aws::desired::{AwsInputs, desired_aws};
use swarmkeeper_plan::aws::spec::{
    InstanceHealth, InstanceLifecycle, ObservedAws, ObservedInstance, Sensitive, TAG_NAME,
};
use swarmkeeper_plan::convert::{SharedVolumes, desired_swarm_with};
use swarmkeeper_plan::diff::diff_with_aws;
use swarmkeeper_plan::nodes::{
    ENGINE_LABEL_INSTANCE, LABEL_INSTANCE, LABEL_POOL, NodeAvailability, NodeContext, NodeRole, NodeState,
};
use swarmkeeper_plan::observed::ObservedNode;
use swarmkeeper_plan::simulate::apply_all;
use swarmkeeper_plan::spec::Mode;
use swarmkeeper_plan::{ObservedSwarm, Plan, PlanOptions, render};

/// Counts live heap bytes and remembers the peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const AMI_PARAM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

#[derive(Clone, Copy)]
struct Size {
    name: &'static str,
    services: usize,
    stacks: usize,
    nodes: usize,
    routes: usize,
    volumes: usize,
}

const SIZES: [Size; 3] = [
    Size {
        name: "0.1x",
        services: 100,
        stacks: 5,
        nodes: 50,
        routes: 20,
        volumes: 10,
    },
    Size {
        name: "1x",
        services: 1_000,
        stacks: 50,
        nodes: 500,
        routes: 200,
        volumes: 100,
    },
    Size {
        name: "10x",
        services: 10_000,
        stacks: 500,
        // 3 managers and the largest workers pool the model accepts.
        nodes: 1_003,
        routes: 2_000,
        volumes: 1_000,
    },
];

/// Write the desired-state directory for `size`; its path.
fn write_state(size: Size) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmkeeper-bench-{}-{}", size.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("stacks")).expect("bench dir");
    let managers = 3;
    let workers = size.nodes - managers;
    let mut root = format!(
        "version: 1
cluster:
  name: bench
  region: eu-west-1
  managers: {{ count: {managers}, instance_type: t3.small, ami: \"ssm:{AMI_PARAM}\" }}
  workers: {{ count: {workers}, instance_type: t3.large, ami: \"ssm:{AMI_PARAM}\" }}
ingress:
  type: load_balancer
  certificate: bench.example.com
volumes:
"
    );
    for v in 0..size.volumes {
        root.push_str(&format!("  data{v}: {{ type: shared }}\n"));
    }
    root.push_str("routes:\n");
    let per_stack = size.services / size.stacks;
    for r in 0..size.routes {
        let (stack, svc) = (r % size.stacks, r / size.stacks);
        root.push_str(&format!(
            "  - {{ host: r{r}.bench.example.com, path: /, service: s{stack}/svc{svc}, port: 80 }}\n"
        ));
    }
    root.push_str("stacks:\n");
    for s in 0..size.stacks {
        root.push_str(&format!("  s{s}:\n    compose: stacks/s{s}.yml\n"));
        let mut compose = String::from("services:\n");
        let mut volumes = Vec::new();
        for i in 0..per_stack {
            let n = s * per_stack + i;
            compose.push_str(&format!(
                "  svc{i}:
    image: registry.example.com/team/app{n}:1.{i}
    environment:
      ROLE: svc{i}
      STACK: s{s}
      LOG_LEVEL: info
    ports:
      - target: 80
        published: {}
        mode: host
    deploy:
      replicas: {}
      resources:
        limits: {{ memory: 256M }}
      update_config: {{ parallelism: 1, order: start-first }}
",
                20_000 + n,
                1 + n % 3
            ));
            if n < size.volumes {
                compose.push_str(&format!("    volumes:\n      - data{n}:/data\n"));
                volumes.push(n);
            }
        }
        if !volumes.is_empty() {
            compose.push_str("volumes:\n");
            for v in volumes {
                compose.push_str(&format!("  data{v}:\n    external: true\n"));
            }
        }
        std::fs::write(dir.join(format!("stacks/s{s}.yml")), compose).expect("compose");
    }
    std::fs::write(dir.join("swarmkeeper.yaml"), root).expect("root");
    dir
}

fn load(dir: &Path) -> DesiredState {
    let outcome = load_dir(dir, &Variables::new());
    outcome.state.unwrap_or_else(|| {
        let first: Vec<_> = outcome.diagnostics.iter().take(3).map(|d| d.message.clone()).collect();
        panic!("the synthetic state is invalid: {first:?}")
    })
}

fn inputs() -> AwsInputs {
    AwsInputs {
        subnets: vec!["subnet-a".into(), "subnet-b".into(), "subnet-c".into()],
        amis: BTreeMap::from([(AMI_PARAM.to_owned(), "ami-0123456789abcdef0".to_owned())]),
        swarm_id: None,
        join_tokens: Some((Sensitive("SWMTKN-w".into()), Sensitive("SWMTKN-m".into()))),
        manager_addresses: vec!["10.0.0.1:2377".into()],
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/bench".into()),
    }
}

/// Everything a plan takes, already observed.
struct World {
    state: DesiredState,
    swarm: ObservedSwarm,
    aws: ObservedAws,
}

fn plan(w: &World) -> Plan {
    let want = desired_aws(&w.state, &inputs(), "#!/bin/sh\necho boot\n")
        .expect("inputs")
        .expect("cluster");
    let mut shared = SharedVolumes::new();
    for fs in &w.aws.file_systems {
        if let (Some(v), false) = (fs.tags.get(TAG_NAME), fs.mount_targets.is_empty()) {
            shared.insert(v.clone(), format!("{}.efs", fs.id));
        }
    }
    let key = swarmkeeper_plan::revision_key::RevisionKey::new(b"swarmkeeper bench revision key".to_vec())
        .expect("long enough");
    let desired = desired_swarm_with(&w.state, &shared, &key);
    let opts = PlanOptions {
        nodes: NodeContext {
            now_unix: 2_000_000_000,
            local_node: Some("node0".into()),
        },
        ..PlanOptions::default()
    };
    diff_with_aws(&desired, &w.swarm, Some((&want, &w.aws)), &opts).expect("plan")
}

/// The state applied to empty models, the pools' nodes joined, then 1 %
/// of the services changed behind swarmkeeper's back.
fn world(size: Size, dir: &Path) -> World {
    let mut w = World {
        state: load(dir),
        swarm: ObservedSwarm::default(),
        aws: ObservedAws::default(),
    };
    for _ in 0..3 {
        let p = plan(&w);
        if p.is_empty() {
            break;
        }
        apply_all(&p, &mut w.swarm, &mut w.aws, "bench");
    }
    for (k, group) in w.aws.groups.clone().iter().enumerate() {
        for i in 0..group.desired as usize {
            let id = format!("i-{k}-{i}");
            w.aws.instances.push(ObservedInstance {
                id: id.clone(),
                group: group.name.clone(),
                private_ip: Some(format!("10.{k}.{}.{}", i / 250, i % 250)),
                state: InstanceLifecycle::InService,
                health: InstanceHealth::Healthy,
                instance_type: if group.name.ends_with("managers") {
                    "t3.small"
                } else {
                    "t3.large"
                }
                .into(),
                image_id: Some("ami-0123456789abcdef0".into()),
                launched_unix: Some(1_900_000_000),
            });
            let manager = group.name.ends_with("managers");
            w.swarm.nodes.push(ObservedNode {
                id: format!("node{}", w.swarm.nodes.len()),
                hostname: format!("ip-10-{k}-{i}"),
                role: if manager { NodeRole::Manager } else { NodeRole::Worker },
                availability: NodeAvailability::Active,
                state: NodeState::Ready,
                addr: format!("10.{k}.{}.{}", i / 250, i % 250),
                manager_addr: manager.then(|| format!("10.{k}.0.{i}:2377")),
                reachable: manager,
                labels: BTreeMap::from([
                    (
                        LABEL_POOL.to_owned(),
                        if manager { "managers" } else { "workers" }.to_owned(),
                    ),
                    (LABEL_INSTANCE.to_owned(), id.clone()),
                ]),
                engine_labels: BTreeMap::from([(ENGINE_LABEL_INSTANCE.to_owned(), id)]),
                updated_unix: Some(1_900_000_000),
                leader: manager && i == 0,
            });
        }
    }
    for s in w.swarm.services.iter_mut().step_by(100) {
        s.spec.task.container.image.push_str("-drifted");
        if let Mode::Replicated { replicas } = &mut s.spec.mode {
            *replicas += 1;
        }
    }
    assert!(size.services == 0 || !w.swarm.services.is_empty());
    w
}

fn plan_at_scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for size in SIZES {
        let dir = write_state(size);
        let w = world(size, &dir);
        // One whole plan (load, diff, render) for the peak heap figure.
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        {
            let state = load(&dir);
            let w2 = World {
                state,
                swarm: w.swarm.clone(),
                aws: w.aws.clone(),
            };
            let p = plan(&w2);
            let text = render::text(&p, false, false);
            std::hint::black_box(text);
        }
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        let steps = plan(&w).steps.len();
        println!(
            "plan/{}: {} services, {} stacks, {} nodes, {} routes, {} volumes; {} steps; peak heap of load+diff+render {:.1} MiB",
            size.name,
            size.services,
            size.stacks,
            size.nodes,
            size.routes,
            size.volumes,
            steps,
            peak as f64 / (1024.0 * 1024.0)
        );
        group.bench_with_input(BenchmarkId::new("load_validate", size.name), &dir, |b, dir| {
            b.iter(|| load(dir))
        });
        group.bench_with_input(BenchmarkId::new("diff", size.name), &w, |b, w| b.iter(|| plan(w)));
        let p = plan(&w);
        group.bench_with_input(BenchmarkId::new("render", size.name), &p, |b, p| {
            b.iter(|| render::text(p, false, false))
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

criterion_group!(benches, plan_at_scale);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
