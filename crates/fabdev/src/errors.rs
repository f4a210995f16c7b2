//! The one way fabdev prints an error: its message, then each cause on a
//! `caused by:` line of its own (as `anyhow`'s `{:#}` walks a chain). Used
//! by the step runner for `step_failed` and by the CLI for its last line.

use std::error::Error;

/// `e`'s message and its causes, each on its own `caused by:` line. A cause
/// whose text the lines so far already show is left out: some messages of
/// the crates below still print their source too.
pub fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
        source = s.source();
    }
    text
}
