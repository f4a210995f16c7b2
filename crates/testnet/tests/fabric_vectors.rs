//! CI's guard on the genesis block without Fabric binaries: fabdev's blocks
//! for the committed test crypto must still be the ones recorded against
//! real Fabric (scripts/record/fabric-vectors.sh), byte for byte and, for a
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
            .unwrap_or_else(|e| panic!("no vectors recorded for Fabric {version} ({e}): run scripts/record/fabric-vectors.sh"));
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
                     hint: if the change is intended, record again against real Fabric (scripts/record/fabric-vectors.sh)",
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
    // default: 1 channel, three-orgs: 2, for each version; bft: 1 on 3.x.
    assert_eq!(checked, 7);
}

// ---------------------------------------------------------------------------
// Lifecycle vectors (scripts/record/lifecycle-vectors.sh)
// ---------------------------------------------------------------------------

mod lifecycle_vectors {
    use std::collections::BTreeMap;
    use std::path::Path;

    use base64::Engine as _;
    use chaincode::lifecycle::DeploySpec;
    use network::channel::{
        approval_from, approve_args, commit_args, committed_from, installed_from,
    };
    use network::fabric::{self, Message as _, lifecycle as lc, peer};
    use serde_json::Value;

    fn read(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))
    }

    fn json(dir: &Path, name: &str) -> Result<Value, String> {
        serde_json::from_slice(&read(dir, name)?).map_err(|e| format!("{name}: {e}"))
    }

    fn decode<M: fabric::Message + Default>(dir: &Path, name: &str) -> Result<M, String> {
        M::decode(read(dir, name)?.as_slice()).map_err(|e| format!("{name}: {e}"))
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// configtxlator's (protojson) rendering of a signature policy
    /// envelope, built from ours: what the recorded JSON must say (it
    /// leaves each principal's `MSPRole` as base64 bytes).
    fn envelope_json(env: &network::fabric::common::SignaturePolicyEnvelope) -> Value {
        use network::fabric::common::signature_policy::Type;
        fn rule(r: &network::fabric::common::SignaturePolicy) -> Value {
            match &r.r#type {
                Some(Type::SignedBy(i)) => serde_json::json!({ "signed_by": i }),
                Some(Type::NOutOf(n)) => serde_json::json!({
                    "n_out_of": { "n": n.n, "rules": n.rules.iter().map(rule).collect::<Vec<_>>() }
                }),
                None => Value::Null,
            }
        }
        let identities: Vec<Value> = env
            .identities
            .iter()
            .map(|p| {
                serde_json::json!({
                    "principal": b64(&p.principal),
                    "principal_classification": "ROLE",
                })
            })
            .collect();
        serde_json::json!({
            "identities": identities,
            "rule": env.rule.as_ref().map_or(Value::Null, rule),
            "version": env.version,
        })
    }

    /// Checks one version's recordings; every problem, each naming its file.
    pub fn check(root: &Path, version: &str) -> Result<usize, Vec<String>> {
        let mut problems = Vec::new();
        let mut checked = 0;
        let mut expect = |ok: Result<bool, String>, what: &str| {
            checked += 1;
            match ok {
                Ok(true) => {}
                Ok(false) => problems.push(what.to_string()),
                Err(e) => problems.push(format!("{what}: {e}")),
            }
        };
        let dir = root.join(version);
        let ws = match testnet::vectors::lifecycle_workspace(root, version) {
            Ok(ws) => ws,
            Err(e) => return Err(vec![e]),
        };
        let Some(cc) = ws.chaincodes.first() else {
            return Err(vec!["no chaincode in fabdev.yaml".into()]);
        };
        let package_id = match read(&dir, "package-id") {
            Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
            Err(e) => return Err(vec![e]),
        };
        let spec = DeploySpec::of(cc, vec![], package_id.clone());
        let def = spec.definition(1);

        // fabdev's messages are still the ones recorded.
        expect(
            read(&dir, "validation-parameter.bin").map(|b| b == def.validation_parameter),
            "validation-parameter.bin: fabdev's endorsement policy bytes changed",
        );
        expect(
            read(&dir, "collections.bin").map(|b| b == def.collections),
            "collections.bin: fabdev's collection bytes changed",
        );
        expect(
            read(&dir, "approve-args.bin")
                .map(|b| approve_args(&def, &package_id).is_ok_and(|a| fabric::encode(&a) == b)),
            "approve-args.bin: fabdev's ApproveChaincodeDefinitionForMyOrgArgs changed",
        );
        expect(
            read(&dir, "commit-args.bin")
                .map(|b| commit_args(&def).is_ok_and(|a| fabric::encode(&a) == b)),
            "commit-args.bin: fabdev's CommitChaincodeDefinitionArgs changed",
        );

        // Real Fabric's own encoding of the same expression and collections
        // file (Org2 approved through `peer lifecycle chaincode
        // approveformyorg`) is fabdev's, byte for byte, and fabdev reads it.
        for (file, org) in [
            ("approved-org2.bin", "Org2 (peer CLI)"),
            ("approved-org1.bin", "Org1 (fabdev)"),
        ] {
            expect(
                decode::<lc::QueryApprovedChaincodeDefinitionResult>(&dir, file).map(|r| {
                    let a = approval_from(&cc.name, r);
                    a.definition == def && a.package_id.as_deref() == Some(package_id.as_str())
                }),
                &format!(
                    "{file}: {org}'s approval, as fabdev reads it, is not fabdev's definition"
                ),
            );
        }
        expect(
            decode::<lc::QueryChaincodeDefinitionResult>(&dir, "query-chaincode-definition.bin")
                .map(|r| {
                    let c = committed_from(&cc.name, r);
                    c.definition == def
                        && c.approvals
                            == BTreeMap::from([
                                ("Org1MSP".to_string(), true),
                                ("Org2MSP".to_string(), true),
                            ])
                }),
            "query-chaincode-definition.bin: the committed definition, as fabdev reads it",
        );
        expect(
            decode::<lc::CheckCommitReadinessResult>(&dir, "check-commit-readiness.bin").map(|r| {
                r.approvals
                    == std::collections::HashMap::from([
                        ("Org1MSP".to_string(), true),
                        ("Org2MSP".to_string(), true),
                    ])
            }),
            "check-commit-readiness.bin: both orgs' approvals match fabdev's definition",
        );
        expect(
            decode::<lc::QueryInstalledChaincodesResult>(&dir, "query-installed.bin").map(|r| {
                installed_from(r)
                    .iter()
                    .any(|i| i.package_id == package_id && i.label == cc.label())
            }),
            "query-installed.bin: the installed package, as fabdev reads it",
        );

        // configtxlator's decoding of fabdev's policy and collections.
        expect(
            json(&dir, "validation-parameter.json").map(|j| {
                let ours = peer::ApplicationPolicy::decode(def.validation_parameter.as_slice())
                    .ok()
                    .and_then(|p| match p.r#type {
                        Some(peer::application_policy::Type::SignaturePolicy(e)) => Some(e),
                        _ => None,
                    });
                ours.is_some_and(|e| j["signature_policy"] == envelope_json(&e))
            }),
            "validation-parameter.json: configtxlator reads another policy than fabdev's",
        );
        expect(
            json(&dir, "collections.json").map(|j| {
                let names: Vec<&str> = j["config"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c["static_collection_config"]["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let ours: Vec<&str> = cc
                    .collections
                    .as_ref()
                    .map(|c| c.collections.iter().map(|c| c.name.as_str()).collect())
                    .unwrap_or_default();
                names == ours
            }),
            "collections.json: configtxlator reads other collections than fabdev's",
        );

        // The real peer CLI's JSON of the same answers.
        for file in [
            "peer-cli/queryapproved-org1.json",
            "peer-cli/queryapproved-org2.json",
            "peer-cli/querycommitted.json",
        ] {
            expect(
                json(&dir, file).map(|j| {
                    j["sequence"] == 1
                        && j["version"] == def.version.as_str()
                        && j["init_required"] == true
                        && j["validation_parameter"] == b64(&def.validation_parameter).as_str()
                }),
                &format!("{file}: the peer CLI reads another definition than fabdev's"),
            );
        }
        expect(
            json(&dir, "peer-cli/checkcommitreadiness.json")
                .map(|j| j["approvals"] == serde_json::json!({"Org1MSP": true, "Org2MSP": true})),
            "peer-cli/checkcommitreadiness.json: both orgs ready",
        );
        expect(
            json(&dir, "peer-cli/queryinstalled.json").map(|j| {
                j["installed_chaincodes"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|c| c["package_id"] == package_id.as_str()))
            }),
            "peer-cli/queryinstalled.json: the package fabdev installed",
        );
        if problems.is_empty() {
            Ok(checked)
        } else {
            Err(problems)
        }
    }
}

/// The recorded lifecycle vectors (scripts/record/lifecycle-vectors.sh) of
/// every recorded Fabric version: fabdev's lifecycle messages unchanged,
/// equal to real Fabric's encoding of the same policy and collections, and
/// the real peers' answers read as fabdev must read them.
#[test]
fn recorded_lifecycle_vectors_match_fabdevs_messages_and_parsers() {
    let root = Path::new(DIR).join(testnet::vectors::LIFECYCLE);
    let mut versions = 0;
    for version in VERSIONS {
        assert!(
            root.join(version).join("RECORDED_WITH").is_file(),
            "no lifecycle vectors for Fabric {version}: run scripts/record/lifecycle-vectors.sh"
        );
        let checked = lifecycle_vectors::check(&root, version).unwrap_or_else(|p| {
            panic!(
                "lifecycle vectors for Fabric {version}:\n{}\nhint: if fabdev's messages changed on purpose, record again against real Fabric (scripts/record/lifecycle-vectors.sh)",
                p.join("\n")
            )
        });
        assert!(checked >= 15, "{checked}");
        versions += 1;
    }
    assert_eq!(versions, VERSIONS.len());
}

/// A tampered recording fails the check: one byte of Fabric's own policy
/// encoding, of fabdev's recorded message, or a field of the peer CLI's JSON.
#[test]
fn a_tampered_lifecycle_recording_fails_the_check() {
    let root = Path::new(DIR).join(testnet::vectors::LIFECYCLE);
    let version = "2.5";
    for (file, tamper) in [
        ("approved-org2.bin", "flip"),
        ("validation-parameter.bin", "flip"),
        ("approve-args.bin", "flip"),
        ("query-chaincode-definition.bin", "flip"),
        ("peer-cli/querycommitted.json", "sequence"),
    ] {
        // A copy laid out as in the repository: fabdev.yaml's chaincode
        // (../../chaincode/node) inside the same git work tree.
        let tmp = tempfile::tempdir().expect("tempdir");
        let copy = tmp.path().join("fabric-vectors/lifecycle");
        testkit::copy_tree(&root, &copy);
        std::fs::create_dir_all(tmp.path().join(".git")).expect(".git");
        std::fs::create_dir_all(tmp.path().join("chaincode/node")).expect("chaincode");
        std::fs::write(tmp.path().join("chaincode/node/package.json"), "{}").expect("package.json");
        // Untouched, the copy passes.
        lifecycle_vectors::check(&copy, version).expect("the untouched copy");
        let path = copy.join(version).join(file);
        let mut bytes = std::fs::read(&path).expect("recorded file");
        match tamper {
            "flip" => {
                // A byte inside the policy's MSP IDs, where every file has one.
                let at = bytes
                    .windows(7)
                    .position(|w| w == b"Org1MSP")
                    .unwrap_or_else(|| panic!("{file} names Org1MSP"));
                bytes[at + 3] = b'9';
            }
            _ => {
                let text = String::from_utf8(bytes).expect("JSON");
                let changed = text.replacen("\"sequence\": 1", "\"sequence\": 2", 1);
                assert_ne!(text, changed, "{file}");
                bytes = changed.into_bytes();
            }
        }
        std::fs::write(&path, bytes).expect("tamper");
        let problems = lifecycle_vectors::check(&copy, version).expect_err(file);
        assert!(
            problems.iter().any(|p| p.contains(file)),
            "{file}: {problems:?}"
        );
    }
}
