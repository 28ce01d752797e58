//! The `swarmkeeper` binary: parses the command line and hands off to one
//! command module. Each command returns the process exit code; `main` only
//! reports an unexpected error and exits with it.

mod apply;
mod bootstrap;
mod cli;
mod cluster_status;
mod commands;
mod controller;
mod cycle;
mod dashboard;
mod execute;
mod keys;
mod progress;
mod reach;
mod registries;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Validate(args) => commands::validate::run(&args),
        cli::Command::Schema => commands::schema::run(),
        cli::Command::Reconcile(args) => commands::reconcile::run(&args),
        cli::Command::Run(args) => commands::run::run(&args),
        cli::Command::Status(args) => commands::status::run(&args),
        cli::Command::Destroy(args) => commands::destroy::run(&args),
        cli::Command::Suspend(args) => commands::control::run(&args, commands::control::Verb::Suspend),
        cli::Command::Resume(args) => commands::control::run(&args, commands::control::Verb::Resume),
        cli::Command::Pin(args) => commands::control::pin(Some(&args.revision)),
        cli::Command::Unpin => commands::control::pin(None),
        cli::Command::History(args) => commands::control::history(&args),
        cli::Command::PruneNode(args) => commands::prune_node::run(&args),
        cli::Command::Dashboard(args) => commands::dashboard::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
