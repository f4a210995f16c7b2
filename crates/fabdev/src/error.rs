//! The CLI's errors and their exit codes: 2 for bad input (the user can fix
//! the command line or a file), 1 for everything else.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Spec(#[from] network::SpecError),
    #[error("{0}")]
    Package(#[from] chaincode::package::PackageError),
    #[error("{0}")]
    Pki(#[from] network::pki::PkiError),
    #[error("{0}")]
    Render(#[from] network::render::RenderError),
    #[error("{0}")]
    Lock(#[from] fabdev::lock::LockError),
    #[error("{} already exists\n  hint: {hint}", path.display())]
    Exists { path: PathBuf, hint: String },
    #[error(
        "workspace folder {} does not exist\n  hint: pass an existing folder with -w/--workspace, or run fabdev inside your project",
        path.display()
    )]
    NoWorkspace { path: PathBuf },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fabdev {command} failed: {source}")]
    Flow {
        command: &'static str,
        #[source]
        source: Box<fabdev::flow::FlowError>,
    },
    #[error(
        "fabdev {command} was interrupted\n  hint: run it again: every step is idempotent and completes what is missing"
    )]
    Interrupted { command: &'static str },
    #[error("doctor found problems: {failed}")]
    Doctor { failed: String },
    #[error(
        "`fabdev {command}` is not implemented yet (tracked in issue {issue}).\n  hint: `fabdev render --out DIR` writes everything it would apply"
    )]
    NotImplemented { command: &'static str, issue: u32 },
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Spec(_)
            | CliError::Package(_)
            | CliError::Exists { .. }
            | CliError::NoWorkspace { .. }
            // `--out` created by someone else while render ran: still the
            // output path the user gave.
            | CliError::Render(network::render::RenderError::OutExists { .. }) => 2,
            CliError::Flow { source, .. }
                if matches!(**source, fabdev::flow::FlowError::Spec(_)) =>
            {
                2
            }
            CliError::Interrupted { .. } => 130,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_input_exits_2() {
        let out_exists = CliError::Render(network::render::RenderError::OutExists {
            path: PathBuf::from("out"),
        });
        assert_eq!(out_exists.exit_code(), 2);
        let too_large = CliError::Spec(network::SpecError::TooLarge {
            path: PathBuf::from("/dev/zero"),
        });
        assert_eq!(too_large.exit_code(), 2);
    }
}
