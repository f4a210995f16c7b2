//! The CLI's errors and their exit codes: 2 for bad input (the user can fix
//! the command line or a file), 1 for everything else.

use std::path::PathBuf;

use fabdev::flow::FlowError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Package(#[from] chaincode::package::PackageError),
    #[error("{0}")]
    NodeBuild(#[from] chaincode::nodebuild::NodeBuildError),
    #[error("{0}")]
    Lock(#[from] fabdev::lock::LockError),
    #[error("{} already exists\n  hint: {hint}", path.display())]
    Exists { path: PathBuf, hint: String },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A flow, or the workspace loading and steps a command shares with them.
    #[error("fabdev {command} failed: {source}")]
    Flow {
        command: &'static str,
        #[source]
        source: Box<FlowError>,
    },
    #[error(
        "fabdev {command} was interrupted\n  hint: run it again: every step is idempotent and completes what is missing"
    )]
    Interrupted { command: &'static str },
    #[error("doctor found problems: {failed}")]
    Doctor { failed: String },
}

impl CliError {
    /// `map_err` for a [`FlowError`] of `command`.
    pub fn of(command: &'static str) -> impl FnOnce(FlowError) -> CliError {
        move |e| CliError::Flow {
            command,
            source: Box::new(e),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Package(_) | CliError::Exists { .. } => 2,
            CliError::Flow { source, .. } if source.is_bad_input() => 2,
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
        // `--out` created by someone else while render ran: still the
        // output path the user gave.
        let out_exists =
            CliError::of("render")(FlowError::Render(network::render::RenderError::OutExists {
                path: PathBuf::from("out"),
            }));
        assert_eq!(out_exists.exit_code(), 2);
        let too_large = CliError::of("render")(FlowError::Spec(network::SpecError::TooLarge {
            path: PathBuf::from("/dev/zero"),
        }));
        assert_eq!(too_large.exit_code(), 2);
        let no_workspace = CliError::of("up")(FlowError::NoWorkspace {
            path: PathBuf::from("nowhere"),
        });
        assert_eq!(no_workspace.exit_code(), 2);
    }
}
