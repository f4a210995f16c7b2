//! The one way an error and its causes become text, for every crate above
//! this one. A message says what failed and never prints its source: the
//! causes are walked here, each once.

use std::error::Error;

/// `e`'s message and its causes, each on its own `caused by:` line (as
/// `anyhow`'s `{:#}` walks a chain): what a user reads.
pub fn chain(e: &dyn Error) -> String {
    join(e, "\n  caused by: ")
}

/// `e`'s message and its causes on one line, `: `-separated: for an
/// event's one-line reason, a log line, or classifying an error by its
/// text.
pub fn one_line(e: &dyn Error) -> String {
    join(e, ": ")
}

fn join(e: &dyn Error, between: &str) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(between);
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot apply objects")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot reach the API server")]
    struct Middle(#[source] std::io::Error);

    fn outer() -> Outer {
        Outer(Middle(std::io::Error::other("connection refused")))
    }

    #[test]
    fn each_cause_once_on_its_own_line() {
        assert_eq!(
            chain(&outer()),
            "cannot apply objects\n  caused by: cannot reach the API server\n  caused by: connection refused"
        );
    }

    #[test]
    fn one_line_separates_the_causes_with_colons() {
        assert_eq!(
            one_line(&outer()),
            "cannot apply objects: cannot reach the API server: connection refused"
        );
    }
}
