//! The `fabdev` command.

mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", fabdev::errors::chain_and_hint(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
