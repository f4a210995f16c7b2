//! metadata.json as the peer CLI writes it: Go's `json.Marshal` of
//! `struct { Path, Type, Label }` with tags `path`, `type`, `label`.
//! Compact, in that field order, with Go's string escaping (HTML-safe:
//! `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`; U+2028/U+2029 escaped;
//! `\b` and `\f` short forms as in Go 1.22+; other control characters as
//! `\u00xx` with lower-case hex).

/// The bytes of metadata.json.
pub(crate) fn metadata_json(path: &str, ty: &str, label: &str) -> Vec<u8> {
    let mut out = String::with_capacity(path.len() + label.len() + 40);
    out.push_str("{\"path\":");
    push_string(&mut out, path);
    out.push_str(",\"type\":");
    push_string(&mut out, ty);
    out.push_str(",\"label\":");
    push_string(&mut out, label);
    out.push('}');
    out.into_bytes()
}

fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(char::from(HEX[(b >> 4) as usize & 0xf]));
                out.push(char::from(HEX[b as usize & 0xf]));
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_in_field_order() {
        assert_eq!(
            metadata_json("github.com/x/y", "golang", "y_1.0"),
            br#"{"path":"github.com/x/y","type":"golang","label":"y_1.0"}"#
        );
    }

    #[test]
    fn go_escaping() {
        // Bytes as Go 1.22+ json.Marshal writes them.
        assert_eq!(
            metadata_json("a\"b\\c<d>e&f\u{1}\u{8}\u{c}\n\r\t\u{7f}\u{2028}\u{2029}é", "node", "l"),
            "{\"path\":\"a\\\"b\\\\c\\u003cd\\u003ee\\u0026f\\u0001\\b\\f\\n\\r\\t\u{7f}\\u2028\\u2029é\",\"type\":\"node\",\"label\":\"l\"}"
                .as_bytes()
        );
    }
}
