//! The CLI's errors and their exit codes: 2 for bad input (the user can fix
//! the command line or a file), 1 for everything else. Messages follow
//! `fabdev::errors`: no source in a message, the hint as data.

use std::path::PathBuf;

use fabdev::errors::Hint;
use fabdev::flow::FlowError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Package(#[from] chaincode::package::PackageError),
    #[error(transparent)]
    NodeBuild(#[from] chaincode::nodebuild::NodeBuildError),
    #[error(transparent)]
    Lock(#[from] fabdev::lock::LockError),
    #[error("{} already exists", path.display())]
    Exists { path: PathBuf, hint: String },
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A flow, or the workspace loading and steps a command shares with them.
    #[error("fabdev {command} failed")]
    Flow {
        command: &'static str,
        #[source]
        source: Box<FlowError>,
    },
    #[error("fabdev {command} was interrupted")]
    Interrupted { command: &'static str },
    /// fabdev.yaml's choices of cluster or privileged images that the user
    /// has not accepted (see `flow::trust`).
    #[error("{} asks for {fields}, which fabdev uses only once you accept them", spec.display())]
    Untrusted {
        spec: PathBuf,
        fields: String,
        /// Whether the user was asked on a terminal (and said no).
        asked: bool,
    },
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
            CliError::Package(_) | CliError::Exists { .. } | CliError::Untrusted { .. } => 2,
            CliError::Flow { source, .. } if source.is_bad_input() => 2,
            CliError::Interrupted { .. } => 130,
            _ => 1,
        }
    }
}

impl Hint for CliError {
    fn hint(&self) -> Option<String> {
        match self {
            CliError::Exists { hint, .. } => Some(hint.clone()),
            CliError::Flow { source, .. } => source.hint(),
            CliError::Lock(e) => e.hint(),
            CliError::NodeBuild(e) => e.hint(),
            CliError::Untrusted { asked, .. } => Some(untrusted_hint(*asked)),
            CliError::Interrupted { .. } => Some(
                "run it again: every step is idempotent and completes what is missing".to_string(),
            ),
            _ => None,
        }
    }
}

/// The hint of a refusal to run on settings of fabdev.yaml not trusted
/// yet ([`CliError::Untrusted`]).
fn untrusted_hint(asked: bool) -> String {
    let record = PathBuf::from(fabdev::flow::STATE_DIR).join(fabdev::flow::trust::TRUST_FILE);
    if asked {
        format!(
            "nothing was written; check them, and answer y to trust them (or pass --trust-spec); fabdev records them in {} and asks again when one changes",
            record.display()
        )
    } else {
        format!(
            "nothing was written; check them, then run the command again with --trust-spec (recorded in {}: later runs do not ask again unless one of them changes), or on a terminal to be asked",
            record.display()
        )
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
