//! `swarmkeeper status`: read a controller's `/status` and show it.

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
