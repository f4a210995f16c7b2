//! Comparing decoded blocks: configtxlator's JSON (protolator: bytes as
//! base64, 64-bit numbers as strings, default values printed) and fabdev's
//! own decoding (`network::genesis::describe_block`: PEM as text, other
//! bytes as hex) brought to one form, and differences listed by path.

use serde_json::Value;

/// Bring a decoded block (either source) to one form: strings that are
/// base64 of text become the text; numeric strings become numbers;
/// default values (0, "", false, null, empty lists) are dropped, as
/// protobuf does not tell them from absent fields. Empty objects stay: a map
/// entry with an empty message (a capability: `"V2_5": {}`) is information.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalize(v)))
                .filter(|(_, v)| !is_default(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::String(s) => {
            if let Ok(n) = s.parse::<u64>() {
                return Value::from(n);
            }
            match base64_text(s) {
                Some(text) => Value::String(text),
                None => Value::String(s.clone()),
            }
        }
        other => other.clone(),
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// Standard base64 (with padding) of UTF-8 text that starts like PEM.
fn base64_text(s: &str) -> Option<String> {
    use base64::Engine as _;
    if s.len() < 16 || !s.len().is_multiple_of(4) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.starts_with("-----BEGIN").then_some(text)
}

/// Every path where `a` and `b` differ, with both values (`-` absent).
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", a, b, &mut out);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(117).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => diff(&p, va, vb, out),
                    (Some(va), None) => out.push(format!("{p}: {} vs -", short(va))),
                    (None, Some(vb)) => out.push(format!("{p}: - vs {}", short(vb))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}/{i}"), va, vb, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {} vs {}", short(a), short(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_pem_and_numbers_normalize() {
        // "-----BEGIN X-----\n" in base64.
        let b = "LS0tLS1CRUdJTiBYLS0tLS0K";
        let v =
            normalize(&json!({"cert": b, "n": "42", "zero": 0, "empty": [], "s": "x", "V2_5": {}}));
        assert_eq!(
            v,
            json!({"cert": "-----BEGIN X-----\n", "n": 42, "s": "x", "V2_5": {}})
        );
    }

    #[test]
    fn differences_name_paths() {
        let d = differences(
            &json!({"a": {"b": 1, "c": [1, 2]}, "x": 1}),
            &json!({"a": {"b": 2, "c": [1, 3]}, "y": 1}),
        );
        assert_eq!(
            d,
            ["/a/b: 1 vs 2", "/a/c/1: 2 vs 3", "/x: 1 vs -", "/y: - vs 1"]
        );
    }
}
