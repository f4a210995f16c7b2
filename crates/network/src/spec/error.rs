//! What goes wrong reading `fabdev.yaml`: a place, a problem, the error.

use std::path::{Path, PathBuf};

use super::MAX_SPEC_BYTES;

/// A place in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// One thing wrong with a spec, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, when known.
    pub pos: Option<Pos>,
    /// The field path, such as `orgs[1].name`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// Errors of reading and validating `fabdev.yaml`.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is larger than {MAX_SPEC_BYTES} bytes (1 MiB), which no fabdev.yaml is",
        path.display()
    )]
    TooLarge { path: PathBuf },
    #[error("{}{}: {message}", path.display(), fmt_pos(*pos))]
    Parse {
        path: PathBuf,
        pos: Option<Pos>,
        message: String,
        hint: String,
    },
    #[error("{}", fmt_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl SpecError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::TooLarge { .. } => Some("give the workspace's spec file with --spec, or none to use <workspace>/fabdev.yaml".to_string()),
            SpecError::Parse { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }
}

impl SpecError {
    /// The problems of an `Invalid` error (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            SpecError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn fmt_pos(pos: Option<Pos>) -> String {
    match pos {
        Some(p) => format!(":{}:{}", p.line, p.column),
        None => String::new(),
    }
}

fn fmt_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}{}: {}: {}\n  hint: {}",
            path.display(),
            fmt_pos(p.pos),
            p.field,
            p.message,
            p.hint
        ));
    }
    out
}

/// What one of the spec's rules refuses, as a value: the problem and, where
/// the rule knows one, what to do about it (data, so that a caller places
/// it). The name rules ([`super::check_channel_name`] and the others) give
/// no hint: their caller knows the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub message: String,
    pub hint: Option<String>,
}

impl RuleError {
    /// A refusal with what to do about it.
    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> RuleError {
        RuleError {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl From<String> for RuleError {
    fn from(message: String) -> RuleError {
        RuleError {
            message,
            hint: None,
        }
    }
}
