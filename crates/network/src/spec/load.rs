//! Loading: read the file (bounded), parse its raw form, validate it; parse
//! errors name the place and the field.

use std::path::Path;

use super::raw::RawWorkspace;
use super::rules::validate;
use super::{API_VERSION, MAX_SPEC_BYTES, Pos, SPEC_FILE, SpecError, Workspace};

impl Workspace {
    /// Load `fabdev.yaml` from a workspace folder, or the default network
    /// when the file does not exist.
    pub fn load_dir(dir: &Path) -> Result<Workspace, SpecError> {
        let path = dir.join(SPEC_FILE);
        if !path.exists() {
            return Ok(Workspace::default_network());
        }
        Workspace::load_file(&path)
    }

    /// Load and validate a spec file; relative chaincode paths resolve against
    /// the file's folder.
    pub fn load_file(path: &Path) -> Result<Workspace, SpecError> {
        let text = read_spec(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Workspace::parse(&text, path, base)
    }

    /// Parse and validate spec text. `path` is only used in messages; `base` is
    /// the folder relative chaincode paths resolve against.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Workspace, SpecError> {
        let raw: RawWorkspace =
            serde_saphyr::from_str(text).map_err(|e| parse_error(path, text, &e))?;
        validate(raw, path, base)
    }
}

/// Reads a spec file of at most [`MAX_SPEC_BYTES`], without trusting its
/// size (a device or a pipe has none).
fn read_spec(path: &Path) -> Result<String, SpecError> {
    use std::io::Read as _;
    let read_err = |source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(SpecError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e})"),
        ))
    })
}

fn parse_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> SpecError {
    let pos = e.location().and_then(|l| {
        (l.line() > 0).then_some(Pos {
            line: l.line(),
            column: l.column(),
        })
    });
    let mut message = first_line_of(e);
    // Name the field when the message does not: the key on the error's line.
    if let Some(key) = pos.and_then(|p| key_on_line(text, p))
        && !message.contains(&format!("`{key}`"))
    {
        message = format!("field `{key}`: {message}");
    }
    let hint = if message.contains("unknown field") {
        format!(
            "remove or rename the field; `fabdev init` writes a commented file listing every field ({API_VERSION})"
        )
    } else {
        "fix the YAML at that place; `fabdev init --stdout` prints a valid example".to_string()
    };
    SpecError::Parse {
        path: path.to_path_buf(),
        pos,
        message,
        hint,
    }
}

/// The mapping key written on `pos`'s line before `pos`, as in `  - peers: two`.
fn key_on_line(text: &str, pos: Pos) -> Option<String> {
    let line = text
        .lines()
        .nth(usize::try_from(pos.line).ok()?.checked_sub(1)?)?;
    let body = line.trim_start().trim_start_matches("- ").trim_start();
    let (key, _) = body.split_once(':')?;
    let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key_end = line.find(key)? + key.len();
    (key_ok && usize::try_from(pos.column).ok()? > key_end).then(|| key.to_string())
}

/// serde-saphyr renders errors with a source snippet; keep the message line.
fn first_line_of(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let line = full
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML");
    // Drop the "error: line X column Y: " prefix: we print the place ourselves.
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((place, msg)) if place.contains("column") => msg.to_string(),
        _ => line.to_string(),
    }
}
