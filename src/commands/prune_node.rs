//! `swarmkeeper prune-node`: what the scheduled prune's global job runs on
//! each node. Waits its share of the stagger, prunes the engine of
//! DOCKER_HOST (`swarmkeeper_swarm::maintenance`), and prints one report
//! line (`swarmkeeper_plan::maintenance::NodePrune`), which the controller
//! reads from the job's output.

use std::process::ExitCode;

use swarmkeeper_plan::maintenance::stagger_secs;

use crate::cli::PruneNodeArgs;

pub fn run(args: &PruneNodeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let engine = swarmkeeper_swarm::Engine::connect().await.map_err(|e| {
            anyhow::anyhow!("{e}; the prune job mounts the node's engine socket at /var/run/docker.sock")
        })?;
        // The job passes the node through swarm's templates; by hand, the
        // engine says which node it is.
        let node = match std::env::var("SWARMKEEPER_NODE_ID").ok().filter(|n| !n.is_empty()) {
            Some(node) => node,
            None => engine
                .swarm_state()
                .await?
                .node_id
                .unwrap_or_else(|| "local".to_owned()),
        };
        let wait = stagger_secs(&node, args.stagger.as_secs());
        if wait > 0 {
            eprintln!(
                "node {node}: waiting {wait}s (its share of the {}s stagger)",
                args.stagger.as_secs()
            );
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
        let mut report = engine.prune_here(args.volumes).await;
        report.node = node;
        report.hostname = std::env::var("SWARMKEEPER_NODE_HOSTNAME").unwrap_or_default();
        for error in &report.errors {
            eprintln!("node {}: {error}", report.node);
        }
        // Parts that failed are in the report; the run itself succeeded.
        println!("{}", report.to_line());
        Ok(ExitCode::SUCCESS)
    })
}
