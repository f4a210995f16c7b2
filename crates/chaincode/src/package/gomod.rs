//! Reading the module path out of a `go.mod` without the `go` tool.
//!
//! Follows the lexical rules of golang.org/x/mod/modfile: `//` comments to
//! the end of the line (not inside quoted strings), `"…"` strings with Go
//! escapes, punctuation `( ) [ ] { } ,` as separate tokens, and the factored
//! form `module (\n path\n)`. A back-quoted or otherwise quoted unquoted path
//! is refused, as modfile refuses it.

/// A problem with a go.mod, with its 1-based line (0 when not tied to a line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> ModError {
    ModError {
        line,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String), // still quoted
    Punct(char),
}

fn is_punct(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ',')
}

/// Splits one line (without its newline) into tokens, dropping a `//` comment.
fn tokenize(line: &str, lineno: usize) -> Result<Vec<Tok>, ModError> {
    let mut toks = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\r' {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            break;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            return Err(err(
                lineno,
                "mod files must use // comments (not /* */ comments)",
            ));
        }
        if is_punct(c) {
            toks.push(Tok::Punct(c));
            i += 1;
            continue;
        }
        if c == '"' || c == '`' {
            let start = i;
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err(err(lineno, "unexpected newline in string"));
                };
                i += 1;
                if d == c {
                    break;
                }
                if d == '\\' && c != '`' {
                    if i >= chars.len() {
                        return Err(err(lineno, "unexpected newline in string"));
                    }
                    i += 1;
                }
            }
            toks.push(Tok::Str(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            return Err(err(lineno, format!("unexpected input character {c:?}")));
        }
        let start = i;
        while i < chars.len() {
            let d = chars[i];
            if d == ' '
                || d == '\t'
                || d == '\r'
                || is_punct(d)
                || d.is_whitespace()
                || d.is_control()
            {
                break;
            }
            if d == '/' && matches!(chars.get(i + 1), Some('/') | Some('*')) {
                break;
            }
            i += 1;
        }
        toks.push(Tok::Ident(chars[start..i].iter().collect()));
    }
    Ok(toks)
}

/// The module path declared by a go.mod's text.
pub(crate) fn module_path(text: &str) -> Result<String, ModError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut found: Option<(usize, String)> = None;
    // The verb of the factored block we are in, if any.
    let mut block: Option<String> = None;
    for (idx, line) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        let toks = tokenize(line, lineno)?;
        if toks.is_empty() {
            continue;
        }
        if let Some(verb) = &block {
            if toks == [Tok::Punct(')')] {
                block = None;
                continue;
            }
            if verb == "module" {
                record(&mut found, lineno, &toks)?;
            }
            continue;
        }
        match toks.as_slice() {
            [Tok::Ident(verb), Tok::Punct('(')] => block = Some(verb.clone()),
            [Tok::Ident(verb), rest @ ..] if verb == "module" => record(&mut found, lineno, rest)?,
            _ => {}
        }
    }
    if block.is_some() {
        return Err(err(0, "unexpected end of file inside a ( ) block"));
    }
    match found {
        Some((_, path)) => Ok(path),
        None => Err(err(
            0,
            "no `module` line: fabdev packages Go modules, which declare `module <import path>`",
        )),
    }
}

fn record(
    found: &mut Option<(usize, String)>,
    lineno: usize,
    args: &[Tok],
) -> Result<(), ModError> {
    if let Some((first, _)) = found {
        return Err(err(
            lineno,
            format!("repeated module statement (first on line {first})"),
        ));
    }
    let path = match args {
        [Tok::Ident(s)] => {
            if s.contains(['"', '\'', '`']) {
                return Err(err(
                    lineno,
                    "invalid quoted string: unquoted string cannot contain quote",
                ));
            }
            s.clone()
        }
        [Tok::Str(s)] if s.starts_with('"') => {
            unquote(s).map_err(|m| err(lineno, format!("invalid quoted string: {m}")))?
        }
        [Tok::Str(_)] => {
            return Err(err(
                lineno,
                "invalid quoted string: unquoted string cannot contain quote",
            ));
        }
        _ => return Err(err(lineno, "usage: module module/path")),
    };
    check_module_path(&path)
        .map_err(|m| err(lineno, format!("malformed module path {path:?}: {m}")))?;
    *found = Some((lineno, path));
    Ok(())
}

/// Go's `strconv.Unquote` for a double-quoted string.
fn unquote(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| "missing closing quote".to_string())?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == '"' {
            return Err("unescaped quote".into());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or("trailing backslash")?;
        let simple = match e {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            continue;
        }
        let (digits, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(format!("invalid escape \\{e}")),
        };
        let mut num = String::new();
        if radix == 8 {
            num.push(e);
        }
        for _ in 0..digits {
            num.push(it.next().ok_or("short escape")?);
        }
        let v = u32::from_str_radix(&num, radix).map_err(|_| format!("invalid escape in {s}"))?;
        match e {
            'x' | '0'..='7' => {
                if v > 0x7f {
                    // A raw byte that is not ASCII cannot be a valid UTF-8
                    // module path on its own.
                    return Err("non-ASCII byte escape".into());
                }
                out.push(char::from_u32(v).ok_or("invalid escape")?);
            }
            _ => out.push(char::from_u32(v).ok_or_else(|| format!("invalid code point {v:#x}"))?),
        }
    }
    Ok(out)
}

/// A light form of golang.org/x/mod/module's import-path check: non-empty
/// `/`-separated elements of letters, digits and `-._~+`, none empty, none
/// starting with a dot or ending with one.
fn check_module_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    for elem in path.split('/') {
        if elem.is_empty() {
            return Err("empty path element (leading, trailing or double slash)".into());
        }
        if elem.starts_with('.') || elem.ends_with('.') {
            return Err(format!("path element {elem:?} starts or ends with a dot"));
        }
        if let Some(c) = elem
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+')))
        {
            return Err(format!("invalid character {c:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_commented_quoted_and_factored() {
        assert_eq!(
            module_path("module example.com/a\n\ngo 1.22\n").unwrap(),
            "example.com/a"
        );
        assert_eq!(
            module_path("// header\nmodule example.com/b // the module\r\ngo 1.22\n").unwrap(),
            "example.com/b"
        );
        assert_eq!(
            module_path("module \"example.com/c\"\n").unwrap(),
            "example.com/c"
        );
        assert_eq!(
            module_path("module \"example.com/d//x\"\n")
                .unwrap_err()
                .line,
            1
        );
        assert_eq!(
            module_path("module \"example.com/\\x64\"\n").unwrap(),
            "example.com/d"
        );
        assert_eq!(
            module_path("require (\n\tmodule v1.0.0\n)\nmodule (\n  example.com/e // c\n)\n")
                .unwrap(),
            "example.com/e"
        );
        assert_eq!(module_path("\u{feff}module x\n").unwrap(), "x");
        assert_eq!(
            module_path("module\texample.com/tab").unwrap(),
            "example.com/tab"
        );
        // "module" as a require target or inside a comment is not a directive.
        assert_eq!(
            module_path("// module nope\nrequire module v1\nmodule example.com/f\n").unwrap(),
            "example.com/f"
        );
    }

    #[test]
    fn refusals() {
        let e = module_path("go 1.22\n").unwrap_err();
        assert!(e.message.contains("no `module` line"), "{e:?}");
        let e = module_path("module a\nmodule b\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("repeated"), "{e:?}");
        assert!(module_path("module `example.com/raw`\n").is_err());
        assert!(module_path("module 'x'\n").is_err());
        assert!(module_path("module a b\n").is_err());
        assert!(module_path("module\n").is_err());
        assert!(module_path("module \"unterminated\n").is_err());
        assert!(module_path("module /* c */ x\n").is_err());
        // As in modfile, `//` ends an unquoted path: the rest is a comment.
        assert_eq!(
            module_path("module example.com//x\n").unwrap(),
            "example.com"
        );
        assert!(module_path("module example.com/x/\n").is_err());
        assert!(module_path("module example.com/a$b\n").is_err());
        assert!(module_path("module (\n a\n").is_err());
        assert!(module_path("module \"a\\qb\"\n").is_err());
    }
}
