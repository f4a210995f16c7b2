//! Private data collections: a collections_config.json checked as the
//! peer checks it, and encoded as a `CollectionConfigPackage`.

use super::*;

/// A private data collection, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub name: String,
    /// Who holds the data: ORs over principals.
    pub policy: SignaturePolicy,
    pub required_peer_count: i32,
    pub maximum_peer_count: i32,
    pub block_to_live: u64,
    pub member_only_read: bool,
    pub member_only_write: bool,
    pub endorsement_policy: Option<EndorsementPolicy>,
}

/// One thing wrong with a collections file: where (`[1].policy`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionProblem {
    /// `[i].field`, or empty for the whole file.
    pub field: String,
    /// Line in the file, when known (JSON syntax errors).
    pub line: Option<usize>,
    pub message: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCollection {
    name: String,
    policy: String,
    required_peer_count: Option<i32>,
    max_peer_count: Option<i32>,
    #[serde(default)]
    block_to_live: u64,
    #[serde(default)]
    member_only_read: bool,
    #[serde(default)]
    member_only_write: bool,
    endorsement_policy: Option<RawEndorsement>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawEndorsement {
    signature_policy: Option<String>,
    channel_config_policy: Option<String>,
}

/// Fabric's collection names: alphanumerics, '_' and '-', not starting
/// with '_'.
pub fn check_collection_name(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a collection name: use letters, digits, '_' and '-', not starting with '_'"
        ))
    }
}

/// Parse and check a collections file (a JSON array, as Fabric's
/// `collections_config.json`): names valid and unique, member policies of
/// ORs over the workspace's MSP IDs, peer counts that make sense, and
/// endorsement policies that parse and name known MSP IDs.
pub fn parse_collections(
    json: &str,
    known: &[&str],
) -> Result<Vec<Collection>, Vec<CollectionProblem>> {
    let raw: Vec<RawCollection> = serde_json::from_str(json).map_err(|e| {
        vec![CollectionProblem {
            field: String::new(),
            line: Some(e.line()),
            message: format!("not a JSON array of collections: {e}"),
        }]
    })?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in raw.into_iter().enumerate() {
        let mut bad = |field: &str, message: String| {
            problems.push(CollectionProblem {
                field: format!("[{i}].{field}"),
                line: None,
                message,
            })
        };
        if let Err(m) = check_collection_name(&r.name) {
            bad("name", m);
        } else if !seen.insert(r.name.clone()) {
            bad("name", format!("collection {:?} is listed twice", r.name));
        }
        let policy = match signature_policy(&r.policy, known) {
            Ok(p) if p.only_ors() => Some(p),
            Ok(_) => {
                bad(
                    "policy",
                    format!(
                        "{:?}: a collection's member policy may only use OR (it says which orgs hold the data)",
                        r.policy
                    ),
                );
                None
            }
            Err(m) => {
                bad("policy", m);
                None
            }
        };
        let required = r.required_peer_count.unwrap_or(0);
        let maximum = r.max_peer_count.unwrap_or(1);
        if required < 0 {
            bad(
                "requiredPeerCount",
                format!("requiredPeerCount {required} is less than zero"),
            );
        }
        if maximum < required {
            bad(
                "maxPeerCount",
                format!("maxPeerCount {maximum} is less than requiredPeerCount {required}"),
            );
        }
        let endorsement_policy = match r.endorsement_policy {
            None => None,
            Some(RawEndorsement {
                signature_policy: Some(_),
                channel_config_policy: Some(_),
            }) => {
                bad(
                    "endorsementPolicy",
                    "give signaturePolicy or channelConfigPolicy, not both".into(),
                );
                None
            }
            Some(RawEndorsement {
                signature_policy: Some(s),
                ..
            }) => match signature_policy(&s, known) {
                Ok(policy) => Some(EndorsementPolicy::Signature { expr: s, policy }),
                Err(m) => {
                    bad("endorsementPolicy.signaturePolicy", m);
                    None
                }
            },
            Some(RawEndorsement {
                channel_config_policy: Some(c),
                ..
            }) => match check_policy_reference(&c) {
                Ok(()) => Some(EndorsementPolicy::ChannelConfig(c)),
                Err(m) => {
                    bad("endorsementPolicy.channelConfigPolicy", m);
                    None
                }
            },
            Some(_) => None,
        };
        if let Some(policy) = policy {
            out.push(Collection {
                name: r.name,
                policy,
                required_peer_count: required,
                maximum_peer_count: maximum,
                block_to_live: r.block_to_live,
                member_only_read: r.member_only_read,
                member_only_write: r.member_only_write,
                endorsement_policy,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The collections as the definition's `CollectionConfigPackage`.
pub fn collection_package(collections: &[Collection]) -> peer::CollectionConfigPackage {
    use peer::collection_config::Payload;
    use peer::collection_policy_config::Payload as PolicyPayload;
    peer::CollectionConfigPackage {
        config: collections
            .iter()
            .map(|c| peer::CollectionConfig {
                payload: Some(Payload::StaticCollectionConfig(
                    peer::StaticCollectionConfig {
                        name: c.name.clone(),
                        member_orgs_policy: Some(peer::CollectionPolicyConfig {
                            payload: Some(PolicyPayload::SignaturePolicy(c.policy.envelope())),
                        }),
                        required_peer_count: c.required_peer_count,
                        maximum_peer_count: c.maximum_peer_count,
                        block_to_live: c.block_to_live,
                        member_only_read: c.member_only_read,
                        member_only_write: c.member_only_write,
                        endorsement_policy: c
                            .endorsement_policy
                            .as_ref()
                            .map(EndorsementPolicy::application_policy),
                    },
                )),
            })
            .collect(),
    }
}
