//! CI's guard on the genesis block without Fabric binaries: fabdev's blocks
//! for the committed test crypto must still be the ones recorded against
//! real Fabric (scripts/record-fabric-vectors.sh), byte for byte and, for a
//! readable failure, field by field against configtxlator's JSON.

use std::path::Path;

use serde_json::Value;
use testnet::compare::{differences, normalize};
use testnet::vectors;

const DIR: &str = "../../fixtures/fabric-vectors";

/// The versions recorded; both Fabric lines must be there.
const VERSIONS: [&str; 2] = ["2.5", "3.1"];

fn config_of(block: &Value) -> Value {
    let payload = &block["data"]["data"][0]["payload"];
    serde_json::json!({
        "channel_group": payload["data"]["config"]["channel_group"],
        "sequence": payload["data"]["config"]["sequence"],
        "channel_id": payload["header"]["channel_header"]["channel_id"],
        "type": payload["header"]["channel_header"]["type"],
        "number": block["header"]["number"],
    })
}

/// fabdev's decoding where it prints differently from configtxlator (the
/// only such places in a genesis block): `Policy.type` and the channel
/// header's `type` are int32 fields, which configtxlator prints as numbers
/// and fabdev by their enum names; a value whose message is all defaults
/// (ChannelRestrictions{0}) is empty bytes, which configtxlator prints as
/// `null` and fabdev as the decoded empty message `{}`.
fn as_configtxlator_prints(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Object(map) if map.is_empty() && key == "value" => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| as_configtxlator_prints(v, k).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|v| as_configtxlator_prints(v, key))
                .collect(),
        )),
        Value::String(s) if key == "type" => Some(match s.as_str() {
            // common.Policy.PolicyType
            "SIGNATURE" => Value::from(1),
            "MSP" => Value::from(2),
            "IMPLICIT_META" => Value::from(3),
            // common.HeaderType
            "CONFIG" => Value::from(1),
            _ => v.clone(),
        }),
        other => Some(other.clone()),
    }
}

#[test]
fn recorded_fabric_vectors_match_fabdevs_blocks() {
    let dir = Path::new(DIR);
    let mut checked = 0;
    for version in VERSIONS {
        let recorded_with = std::fs::read_to_string(dir.join(version).join("RECORDED_WITH"))
            .unwrap_or_else(|e| panic!("no vectors recorded for Fabric {version} ({e}): run scripts/record-fabric-vectors.sh"));
        for (spec, ws) in vectors::specs(dir, version).expect("specs") {
            for ch in &ws.channels {
                let stem = dir.join(version).join(format!("{spec}-{}", ch.name));
                let ours = vectors::block(dir, &spec, &ws, &ch.name).expect("block");
                let json: Value = serde_json::from_slice(
                    &std::fs::read(stem.with_extension("json")).expect("recorded JSON"),
                )
                .expect("JSON");
                let described = network::genesis::describe_block(&ours).expect("describe");
                let ours_json = as_configtxlator_prints(&normalize(&config_of(&described)), "")
                    .expect("object");
                let found = differences(&ours_json, &normalize(&config_of(&json)));
                assert!(
                    found.is_empty(),
                    "{spec}/{} for Fabric {version}: fabdev's block no longer matches what configtxlator {} decoded:\n{}\n\
                     hint: if the change is intended, record again against real Fabric (scripts/record-fabric-vectors.sh)",
                    ch.name,
                    recorded_with.trim(),
                    found.join("\n")
                );
                let recorded = std::fs::read(stem.with_extension("block")).expect("recorded block");
                assert!(
                    ours == recorded,
                    "{spec}/{} for Fabric {version}: same config but other bytes than recorded; record again",
                    ch.name
                );
                checked += 1;
            }
        }
    }
    // default: 1 channel, three-orgs: 2, for each version.
    assert_eq!(checked, 6);
}
