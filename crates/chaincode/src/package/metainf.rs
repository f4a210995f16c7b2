//! What may go into a package's top-level `META-INF/`: CouchDB index
//! definitions, as the peer CLI's metadata validation accepts them
//! (Fabric internal/ccmetadata), checked here so a bad index fails at
//! package time with the file named rather than at install time.

use serde_json::{Map, Value};

/// Why a META-INF file is refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not a `.json` file in an index folder.
    Place(String),
    /// Not JSON at all.
    Json(serde_json::Error),
    /// JSON, but not an index definition.
    Index(String),
}

const INDEXES: &str = "META-INF/statedb/couchdb/indexes/";
const COLLECTIONS: &str = "META-INF/statedb/couchdb/collections/";

/// Checks a file at `name` (its path inside the package, starting with
/// `META-INF/`) with content `data`.
pub(crate) fn validate(name: &str, data: &[u8]) -> Result<(), Refusal> {
    if !allowed_place(name) {
        return Err(Refusal::Place(format!(
            "only CouchDB index definitions (*.json) are allowed in META-INF, under \
             {INDEXES} or {COLLECTIONS}<collection>/indexes/; found {name}"
        )));
    }
    let value: Value = serde_json::from_slice(data).map_err(Refusal::Json)?;
    let Value::Object(def) = value else {
        return Err(Refusal::Index("the file must hold a JSON object".into()));
    };
    validate_index(&def).map_err(Refusal::Index)
}

fn allowed_place(name: &str) -> bool {
    if !name.ends_with(".json") {
        return false;
    }
    if let Some(rest) = name.strip_prefix(INDEXES) {
        return !rest.is_empty();
    }
    let Some((collection, tail)) = name
        .strip_prefix(COLLECTIONS)
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    !collection.is_empty()
        && collection
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && tail.strip_prefix("indexes/").is_some_and(|f| !f.is_empty())
}

fn validate_index(def: &Map<String, Value>) -> Result<(), String> {
    let mut has_index = false;
    for (key, value) in def {
        match key.as_str() {
            "index" => {
                let Value::Object(index) = value else {
                    return Err("\"index\" must be a JSON object".into());
                };
                validate_index_body(index)?;
                has_index = true;
            }
            "ddoc" | "name" => {
                if !value.is_string() {
                    return Err(format!("\"{key}\" must be a string"));
                }
            }
            "type" => {
                if value.as_str() != Some("json") {
                    return Err("index \"type\" must be \"json\"".into());
                }
            }
            other => return Err(format!("unexpected entry \"{other}\"")),
        }
    }
    if !has_index {
        return Err("the definition must include an \"index\" with \"fields\"".into());
    }
    Ok(())
}

fn validate_index_body(index: &Map<String, Value>) -> Result<(), String> {
    for (key, value) in index {
        match key.as_str() {
            "fields" => {
                let Value::Array(fields) = value else {
                    return Err("\"fields\" must be a JSON array".into());
                };
                for field in fields {
                    match field {
                        Value::Object(sort) => {
                            for (name, dir) in sort {
                                let ok = dir.as_str().is_some_and(|d| {
                                    d.eq_ignore_ascii_case("asc") || d.eq_ignore_ascii_case("desc")
                                });
                                if !ok {
                                    return Err(format!(
                                        "field {name:?}: sort must be \"asc\" or \"desc\", found {dir}"
                                    ));
                                }
                            }
                        }
                        Value::Null => return Err("\"fields\" holds a null".into()),
                        // Fabric lets strings (and, by omission, other scalars) through.
                        _ => {}
                    }
                }
            }
            "partial_filter_selector" => {}
            other => return Err(format!("unexpected entry \"{other}\" in \"index\"")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = br#"{"index":{"fields":["docType","owner",{"size":"desc"}]},"ddoc":"d","name":"n","type":"json"}"#;

    #[test]
    fn places() {
        assert!(validate("META-INF/statedb/couchdb/indexes/a.json", GOOD).is_ok());
        assert!(validate("META-INF/statedb/couchdb/indexes/sub/a.json", GOOD).is_ok());
        assert!(
            validate(
                "META-INF/statedb/couchdb/collections/col_1/indexes/a.json",
                GOOD
            )
            .is_ok()
        );
        for bad in [
            "META-INF/statedb/couchdb/indexes/a.txt",
            "META-INF/statedb/couchdb/indexes/a.json.bak",
            "META-INF/statedb/couchdb/a.json",
            "META-INF/a.json",
            "META-INF/statedb/leveldb/indexes/a.json",
            "META-INF/statedb/couchdb/collections/c!/indexes/a.json",
            "META-INF/statedb/couchdb/collections/c/a.json",
        ] {
            assert!(
                matches!(validate(bad, GOOD), Err(Refusal::Place(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn contents() {
        let p = "META-INF/statedb/couchdb/indexes/a.json";
        assert!(matches!(validate(p, b"{nope"), Err(Refusal::Json(_))));
        for bad in [
            &br#"[1]"#[..],
            br#"{"ddoc":"x"}"#,
            br#"{"index":[]}"#,
            br#"{"index":{"fields":"a"}}"#,
            br#"{"index":{"fields":[{"a":"up"}]}}"#,
            br#"{"index":{"fields":["a"]},"type":"text"}"#,
            br#"{"index":{"fields":["a"]},"extra":1}"#,
            br#"{"index":{"fields":["a"],"x":1}}"#,
            br#"{"index":{"fields":["a"]},"name":1}"#,
        ] {
            assert!(
                matches!(validate(p, bad), Err(Refusal::Index(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(
            validate(
                p,
                br#"{"index":{"fields":["a"],"partial_filter_selector":{"a":1}}}"#
            )
            .is_ok()
        );
    }
}
