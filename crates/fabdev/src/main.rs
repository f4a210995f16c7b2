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
            let text = fabdev::errors::chain_and_hint(&e);
            // A peer's or chaincode's own words are in it: multi-line by
            // design, nothing else of theirs reaches the terminal.
            eprintln!("error: {}", fabdev::events::escape_controls(&text, true));
            ExitCode::from(e.exit_code())
        }
    }
}
