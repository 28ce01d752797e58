//! `swarmkeeper status`: read a controller's `/status` and show it, or,
//! with `--cluster`, the compact status the cluster's last apply wrote to
//! SSM (`/swarmkeeper/<name>/status`), with AWS credentials alone.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{OutputFormat, StatusArgs};

fn fetch(address: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /status HTTP/1.0\r\nHost: swarmkeeper\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .ok_or_else(|| std::io::Error::other("the answer has no body"))
}

pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    if let Some(cluster) = &args.cluster {
        return from_ssm(cluster, args);
    }
    let body = match fetch(args.listen) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "error: no controller answers on {addr}: {e}. Give `--listen` the address the controller's `swarmkeeper run --listen` has, or start one there",
                addr = args.listen
            );
            return Ok(ExitCode::from(1));
        }
    };
    let status: serde_json::Value = serde_json::from_str(&body)?;
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    println!("sync:     {}", text(&status["sync_status"]));
    println!("health:   {}", text(&status["health_status"]));
    println!(
        "revision: {} (desired {})",
        text(&status["applied_revision"]),
        text(&status["desired_revision"])
    );
    println!("source:   {}", text(&status["source"]));
    if !status["source_error"].is_null() {
        println!("source error: {}", text(&status["source_error"]));
    }
    if let Some(hook) = status["last_webhook"].as_object() {
        let ago = now_unix().saturating_sub(hook["at_unix"].as_u64().unwrap_or(0));
        println!(
            "webhook:  last delivery {}s ago: {} from {} (HTTP {})",
            ago,
            text(&hook["outcome"]),
            text(&hook["provider"]),
            hook["status"]
        );
    }
    if let Some(m) = status["maintenance"].as_object() {
        let mut line = format!("prune:    {}", text(&m["state"]));
        if let Some(next) = m["next_run_unix"].as_u64() {
            let now = now_unix();
            if next > now {
                line.push_str(&format!(", next in {}s", next - now));
            }
        }
        if let Some(problem) = m["problem"].as_str() {
            line.push_str(&format!(": {problem}"));
        }
        println!("{line}");
        if let Some(run) = m["last_run"].as_object() {
            let ago = now_unix().saturating_sub(run["finished"].as_u64().unwrap_or(0));
            let nodes = run["nodes"].as_array().map_or(&[][..], Vec::as_slice);
            let bytes: u64 = nodes.iter().filter_map(|n| n["reclaimed_bytes"].as_u64()).sum();
            println!(
                "          last run {ago}s ago: {} reclaimed on {} node(s){}",
                swarmkeeper_plan::maintenance::human_bytes(bytes),
                nodes.len(),
                run["failed"]
                    .as_array()
                    .filter(|f| !f.is_empty())
                    .map(|f| format!(", {} not pruned", f.len()))
                    .unwrap_or_default()
            );
        }
    }
    println!("cycles:   {}", status["cycles"]);
    if let Some(q) = status["nodes"]["quorum"].as_object() {
        println!(
            "managers: {} of {} reachable, quorum {}",
            q["reachable"],
            q["managers"],
            if q["ok"] == true { "ok" } else { "LOST" }
        );
    }
    for p in status["nodes"]["problems"].as_array().into_iter().flatten() {
        println!("node:     {}", text(p));
    }
    for p in status["nodes"]["progress"].as_array().into_iter().flatten() {
        println!("progress: {}", text(p));
    }
    if let Some(c) = status["last_cycle"].as_object() {
        println!(
            "last:     {} — planned {}, applied {}, {} remaining",
            text(&c["trigger"]),
            c["planned"],
            c["applied"],
            c["remaining"]
        );
    }
    if let Some(s) = status["suspended"].as_object() {
        if let Some(all) = s.get("all") {
            println!(
                "suspended: everything (by {}); `swarmkeeper resume` lifts it",
                text(&all["by"])
            );
        }
        for (stack, mark) in s.get("stacks").and_then(|v| v.as_object()).into_iter().flatten() {
            println!(
                "suspended: stack {stack} (by {}); `swarmkeeper resume --stack {stack}` lifts it",
                text(&mark["by"])
            );
        }
        println!(
            "held:     {} change(s) found and not applied",
            status["last_cycle"]["planned"]["held"]
        );
    }
    if let Some(pin) = status["pinned"].as_object() {
        println!(
            "pinned:   {} (by {}); `swarmkeeper unpin` follows the branch again",
            text(&pin["revision"]),
            text(&pin["by"])
        );
    }
    for e in status["validation_errors"].as_array().into_iter().flatten() {
        println!("invalid:  {}", text(e));
    }
    for s in status["unhealthy_services"].as_array().into_iter().flatten() {
        println!("degraded: {}", text(s));
    }
    if !status["last_error"].is_null() {
        println!(
            "error:    {} (retry in {} ms)",
            text(&status["last_error"]),
            status["next_retry_ms"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `status --cluster NAME [--region R]`.
fn from_ssm(cluster: &str, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    use swarmkeeper_plan::aws::names::status_parameter;
    use swarmkeeper_plan::cluster_status::ClusterStatus;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let name = status_parameter(cluster);
    let read = runtime.block_on(async {
        let aws = swarmkeeper_aws::Aws::connect(args.region.as_deref()).await;
        if aws.region().is_empty() {
            return Err("no AWS region: give --region (the cluster's `cluster.region`) or set AWS_REGION".to_owned());
        }
        let region = aws.region().to_owned();
        match aws.string_parameter(&name).await {
            Ok(value) => Ok((region, value)),
            Err(e) => Err(format!("cannot read {name}: {e}")),
        }
    });
    let (region, value) = match read {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let Some(value) = value else {
        eprintln!(
            "error: cluster `{cluster}` has no status in {region} ({name} does not exist): it was never applied, or it does not exist in that region. Check the name and --region, or run `swarmkeeper reconcile` on its directory."
        );
        return Ok(ExitCode::from(1));
    };
    let status = match ClusterStatus::parse(&value) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {name} holds no status swarmkeeper can read: {e}. The next apply rewrites it.");
            return Ok(ExitCode::from(1));
        }
    };
    if args.output == OutputFormat::Json {
        let mut doc = serde_json::to_value(&status)?;
        doc["cluster"] = serde_json::json!(cluster);
        doc["region"] = serde_json::json!(region);
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("cluster:  {cluster} ({region})");
    println!("sync:     {}", status.sync_status);
    println!("health:   {}", status.health_status);
    println!("revision: {}", status.applied_revision.as_deref().unwrap_or("(none)"));
    for (pool, count) in &status.pools {
        println!("{:<9} {} of {} ready", format!("{pool}:"), count.ready, count.desired);
    }
    if let Some(e) = &status.last_error {
        println!("error:    {e}");
    }
    println!("updated:  {} by the {}", status.updated_at, status.writer);
    Ok(ExitCode::SUCCESS)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
