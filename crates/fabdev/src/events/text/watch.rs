//! `chaincode watch`'s events as text: the watched folders and the
//! changes on stderr, each round's outcome with its steps' times on stdout.

use std::io::Write;

use super::{TextReporter, secs};
use crate::events::EventKind;

impl<W: Write + Send> TextReporter<W> {
    pub(super) fn watch_event(&mut self, kind: EventKind) {
        match kind {
            EventKind::Watching { path, files, .. } if !self.quiet() => {
                self.line(&format!("   watching {path} ({files} files)"));
            }
            EventKind::Changed { chaincode, files } if !self.quiet() => {
                self.line(&format!("   {chaincode}: {}", files.join(" ")));
            }
            EventKind::Round {
                round,
                chaincodes,
                elapsed,
                steps,
                failed,
            } => {
                let times: Vec<String> = steps
                    .iter()
                    .map(|s| format!("{} {}", s.step, secs(s.elapsed)))
                    .collect();
                let what = chaincodes.join(", ");
                self.result_line(&match failed {
                    None => format!(
                        "round {round}: {what} ready in {} ({})",
                        secs(elapsed),
                        times.join(", ")
                    ),
                    Some(f) => format!(
                        "round {round}: {what} failed at `{f}` after {}; watching for the next change",
                        secs(elapsed)
                    ),
                });
            }
            _ => {}
        }
    }
}
