//! The project's conventions, checked over its own sources: every
//! `real_fabric_` test is ignored with its reason where Fabric is absent,
//! and no error message prints its own source.

use std::path::{Path, PathBuf};

use testkit::repo;

/// Every `.rs` file under `dir`, skipping build output.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// A `real_fabric_…` test is reported ignored, with its reason, where the
/// Fabric binaries are absent (CI has none): it must never panic there,
/// nor pass silently. So each carries the `cfg_attr(not(…), ignore = …)`
/// the build script's probe sets. CI failed once on two that lacked it.
#[test]
fn every_real_fabric_test_is_ignored_where_fabric_is_absent() {
    let mut files = Vec::new();
    for dir in ["crates", "tests"] {
        rust_files(&repo().join(dir), &mut files);
    }
    let mut tests = 0;
    let mut unguarded = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read test source");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let is_fn = t.starts_with("fn real_fabric_") || t.starts_with("async fn real_fabric_");
            if !is_fn {
                continue;
            }
            // The attribute block right above the function.
            let attrs: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let l = l.trim_start();
                    l.starts_with("#[")
                        || l.starts_with(')')
                        || l.starts_with("not(")
                        || l.starts_with("ignore")
                        || l.starts_with("//")
                })
                .copied()
                .collect();
            if !attrs.iter().any(|a| a.contains("test")) {
                continue;
            }
            tests += 1;
            let block = attrs.join("\n");
            if !(block.contains("cfg_attr(") && block.contains("ignore =")) {
                unguarded.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(tests > 20, "found only {tests} real_fabric tests");
    assert!(
        unguarded.is_empty(),
        "real_fabric tests without `#[cfg_attr(not(fabric_binaries), ignore = …)]`:\n{}",
        unguarded.join("\n")
    );
}

/// The `#[error(…)]` messages in `text` that print their own source: a
/// `{source}` field, or `{0}` of a tuple variant whose first field is its
/// `#[from]`/`#[source]`. Each as `line: attribute`.
fn messages_printing_their_source(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].trim_start().starts_with("#[error(") {
            i += 1;
            continue;
        }
        // The attribute, over as many lines as it takes.
        let start = i;
        let mut attr = String::new();
        while i < lines.len() {
            attr.push_str(lines[i].trim());
            i += 1;
            if attr.ends_with(")]") {
                break;
            }
        }
        let item = lines[i..lines.len().min(i + 2)].join(" ");
        let tuple_source = item.contains("(#[from]") || item.contains("(#[source]");
        let prints_source = attr.contains("{source}") || attr.contains("{source:");
        let prints_first = attr.contains("{0}") || attr.contains("{0:");
        if prints_source || (prints_first && tuple_source) {
            found.push(format!("{}: {attr}", start + 1));
        }
    }
    found
}

/// fabdev's error convention (ARCHITECTURE.md): a message says what
/// failed and never prints its source; the one chain printer
/// (`cluster::errors::chain`) shows each cause once. A message that
/// printed its source would show that cause twice.
#[test]
fn no_error_message_prints_its_own_source() {
    // The check finds both ways a message can print its source.
    let bad = "#[error(\"cannot read {path}: {source}\")]\nRead { path: String, #[source] source: io::Error },\n\
               #[error(\"{0}\")]\nIo(#[from] io::Error),\n\
               #[error(\"cannot apply {0}\")]\nApply(String),\n";
    assert_eq!(messages_printing_their_source(bad).len(), 2, "{bad}");

    let mut files = Vec::new();
    rust_files(&repo().join("crates"), &mut files);
    let mut found = Vec::new();
    let mut messages = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        messages += text.matches("#[error(").count();
        for m in messages_printing_their_source(&text) {
            found.push(format!("{}:{m}", file.display()));
        }
    }
    assert!(messages > 200, "found only {messages} error messages");
    assert!(
        found.is_empty(),
        "error messages that print their own source (the chain printer shows it):\n{}",
        found.join("\n")
    );
}
