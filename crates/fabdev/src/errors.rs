//! fabdev's error convention. A message says what failed and never prints
//! its source; [`chain`] is the one printer of an error and its causes
//! (each on a `caused by:` line of its own, as `anyhow`'s `{:#}` walks a
//! chain), for the step runner's `step_failed` and the CLI's last line. A
//! fix the user can paste is data, [`Hint::hint`], not part of the
//! message: the text reporter prints it on a `hint:` line and JSON
//! `step_failed` carries it as `hint`.

use std::error::Error;

/// `e`'s message and its causes, each on its own `caused by:` line
/// (`cluster::errors::chain`, which every crate uses).
pub use cluster::errors::chain;

/// The fix for an error, when there is one to give.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

/// `e`'s chain, then its hint on a `hint:` line.
pub fn chain_and_hint<E: Error + Hint>(e: &E) -> String {
    let mut text = chain(e);
    if let Some(h) = e.hint() {
        text.push_str(&format!("\n  hint: {h}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot apply objects")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn each_cause_on_its_own_line() {
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            chain(&e),
            "cannot apply objects\n  caused by: connection refused"
        );
    }
}
