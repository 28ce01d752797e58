//! The loader on large and hostile input, all in memory (a [`MemoryTree`]
//! holding `swarmkeeper.yaml` and one compose file):
//!
//! - `env_keys/N`: a service whose `environment` is a mapping of N keys
//!   (25,000 and 100,000): loading is linear in the input, so 4× the keys
//!   take about 4× the time (a quadratic duplicate-key check took 181 s for
//!   80,000 keys in a debug build);
//! - `alias_bomb`: "billion laughs" (nine levels of ten aliases, under
//!   1 KiB, 10^9 nodes expanded) is rejected at the alias that crosses the
//!   node cap, with bounded time and heap;
//! - `large_compose`: a valid compose file of 2,000 services (about 1 MiB).
//!
//! `cargo bench -p swarmkeeper-model --bench load_hostile`; the peak heap of
//! one load of each is printed first (a counting allocator), as
//! `model/<name>: ... peak heap X MiB`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group};
use swarmkeeper_model::tree::Entry;
use swarmkeeper_model::{LoadOutcome, MemoryTree, SourceTree, Variables, load_tree};

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

const ROOT: &str = "version: 1\nstacks:\n  app:\n    compose: app.yml\n";

fn tree(compose: String) -> MemoryTree {
    let mut t = MemoryTree::new("bench");
    t.insert("swarmkeeper.yaml", Entry::File(ROOT.as_bytes().to_vec()));
    t.insert("app.yml", Entry::File(compose.into_bytes()));
    t
}

fn env_keys(n: usize) -> MemoryTree {
    let mut s = String::from("services:\n  web:\n    image: nginx:1.27\n    environment:\n");
    for i in 0..n {
        s.push_str(&format!("      KEY_{i}: value-{i}\n"));
    }
    tree(s)
}

fn alias_bomb() -> MemoryTree {
    let mut s = String::from("x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let levels = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in levels.windows(2) {
        let items = vec![format!("*{}", w[0]); 10].join(", ");
        s.push_str(&format!("x-{}: &{} [{items}]\n", w[1], w[1]));
    }
    s.push_str("services:\n  web:\n    image: nginx:1.27\n    labels:\n      bomb: *i\n");
    tree(s)
}

fn large_compose(services: usize) -> MemoryTree {
    let mut s = String::from("services:\n");
    for i in 0..services {
        s.push_str(&format!(
            "  svc{i}:
    image: registry.example.com/team/app{i}:1.{i}
    environment:
      ROLE: svc{i}
      LOG_LEVEL: info
      UPSTREAM: http://svc{}:8080
    ports:
      - target: 80
        published: {}
        mode: host
    deploy:
      replicas: {}
      resources:
        limits: {{ memory: 256M, cpus: 0.5 }}
      update_config: {{ parallelism: 1, order: start-first }}
    healthcheck:
      test: [CMD, wget, -q, -O-, http://localhost/health]
      interval: 30s
",
            (i + 1) % services,
            20_000 + i,
            1 + i % 3
        ));
    }
    tree(s)
}

fn load(t: &MemoryTree) -> LoadOutcome {
    load_tree(t, &Variables::new())
}

/// One load with the peak heap it took, printed; the outcome is checked.
fn measure(name: &str, t: &MemoryTree, valid: bool) {
    let bytes: usize = ["swarmkeeper.yaml", "app.yml"]
        .iter()
        .filter_map(|p| t.read(Path::new(p)).ok())
        .map(|b| b.len())
        .sum();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let outcome = load(t);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert_eq!(
        outcome.state.is_some(),
        valid,
        "{name}: {:?}",
        outcome
            .diagnostics
            .iter()
            .take(3)
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    let first = outcome
        .diagnostics
        .iter()
        .next()
        .map_or(String::new(), |d| format!("; {}: {}", d.code, d.message));
    drop(outcome);
    println!(
        "model/{name}: input {:.1} KiB; {}{first}; peak heap {:.1} MiB",
        bytes as f64 / 1024.0,
        if valid { "loaded" } else { "rejected" },
        peak as f64 / (1024.0 * 1024.0)
    );
}

fn load_hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    group.sample_size(10);
    for n in [25_000, 100_000] {
        let t = env_keys(n);
        measure(&format!("env_keys/{n}"), &t, true);
        group.bench_with_input(BenchmarkId::new("env_keys", n), &t, |b, t| b.iter(|| load(t)));
    }
    let bomb = alias_bomb();
    measure("alias_bomb", &bomb, false);
    group.bench_function("alias_bomb", |b| b.iter(|| load(&bomb)));
    let large = large_compose(2_000);
    measure("large_compose", &large, true);
    group.bench_function("large_compose", |b| b.iter(|| load(&large)));
    group.finish();
}

criterion_group!(benches, load_hostile);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
