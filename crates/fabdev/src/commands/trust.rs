//! The user's word on fabdev.yaml's choices of cluster and privileged
//! images (`flow::trust`), asked before a command that reaches a cluster or
//! runs images writes anything: `--trust-spec`, or a question on a
//! terminal; without either, a refusal naming the file, the fields and the
//! flag.

use std::io::{BufRead, IsTerminal, Write};

use fabdev::events::escape_controls;
use fabdev::flow::{self, Context, trust};
use network::spec::SPEC_FILE;

use super::Env;
use crate::error::CliError;

/// Returns once every choice of the workspace's spec that needs the user's
/// word has it (recorded now, or before). A workspace that does not load
/// is left to the command's flow, which reports it.
pub(super) fn require(
    env: &Env,
    opts: &flow::Options,
    command: &'static str,
) -> Result<(), CliError> {
    let Ok(ctx) = Context::load(opts) else {
        return Ok(());
    };
    let request = trust::request(&ctx, &env.ws_dir, &env.flags).map_err(CliError::of(command))?;
    let left = request.unaccepted();
    if left.is_empty() {
        return Ok(());
    }
    let spec_file = env
        .spec
        .clone()
        .unwrap_or_else(|| env.ws_dir.join(SPEC_FILE));
    let fields: Vec<String> = left.iter().map(|c| c.field.to_string()).collect();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    // What would be touched, before anything is written.
    if !(env.trust_spec && env.notes.quiet) {
        eprint!("{}", describe(&spec_file, &request.choices, &fields));
    }
    let accepted = if env.trust_spec {
        true
    } else if terminal {
        ask()
    } else {
        false
    };
    if !accepted {
        return Err(CliError::Untrusted {
            spec: spec_file,
            fields: fields.join(", "),
            asked: terminal,
        });
    }
    request.accept().map_err(CliError::of(command))?;
    env.notes.say(&format!(
        " ✓ trusted: recorded in {}/{} (asked again when one of them changes)",
        flow::STATE_DIR,
        trust::TRUST_FILE
    ));
    Ok(())
}

/// The choices, one a line, the ones not accepted yet marked. Values come
/// from the spec: control characters are escaped.
fn describe(spec_file: &std::path::Path, choices: &[trust::Choice], left: &[String]) -> String {
    let mut text = format!(
        " ! {} makes choices fabdev acts on only with your word:\n",
        spec_file.display()
    );
    let width = choices.iter().map(|c| c.field.len()).max().unwrap_or(0);
    for c in choices {
        let mark = if left.iter().any(|f| f == c.field) {
            "*"
        } else {
            " "
        };
        text.push_str(&format!(
            "   {mark} {:width$}  {}\n       {:width$}  ({})\n",
            c.field,
            escape_controls(&c.value, false),
            "",
            c.why,
        ));
    }
    text.push_str("     (* new or changed since you last accepted them)\n");
    text
}

/// Asks on the terminal; only `y` or `yes` is a yes.
fn ask() -> bool {
    eprint!("Trust these choices for this workspace? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
