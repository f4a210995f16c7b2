//! Chaincode policies as fabdev.yaml gives them: signature policy
//! expressions (`OR('Org1MSP.peer', 'Org2MSP.peer')`), channel config
//! policy references, and private data collections (a JSON file shaped like
//! Fabric's `collections_config.json`). Pure: text in, checked values and
//! Fabric's messages out.
//!
//! The encodings follow Fabric's `common/policydsl` (`FromString`) and the
//! peer CLI's `createPolicyBytes` / `getCollectionConfigFromBytes`:
//! - a gate is an `NOutOf`: `OR` is 1 out of its arguments, `AND` all of
//!   them, `OutOf(n, …)` n of them; gate names in `And`/`and`/`AND` spelling;
//! - each principal occurrence is its own identity (no sharing), a
//!   `ROLE` `MSPPrincipal` of `MSPRole{msp_id, role}`, and the identity
//!   numbers are given as policydsl's evaluation gives them: a gate's nested
//!   gates first (left to right), then its own principals (left to right);
//! - the validation parameter is an `ApplicationPolicy` holding either the
//!   envelope or the reference;
//! - a collection's member policy is a `CollectionPolicyConfig` with the
//!   envelope; `requiredPeerCount` defaults to 0 and `maxPeerCount` to 1.
//!
//! The recorded vectors (fixtures/fabric-vectors/lifecycle) hold what real
//! Fabric made of the same expressions.

use crate::fabric::{self, common, peer};

mod collections;
mod signature;

pub use collections::{
    Collection, CollectionProblem, check_collection_name, collection_package, parse_collections,
};
pub use signature::{PolicyError, Role, SignaturePolicy, example};

/// The channel policy a chaincode's endorsements are checked against when
/// its definition names none (the peer fills it in).
pub const DEFAULT_ENDORSEMENT_POLICY_REF: &str = "/Channel/Application/Endorsement";

/// A chaincode's (or a collection's) endorsement policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndorsementPolicy {
    /// A signature policy expression, as written and as parsed.
    Signature {
        expr: String,
        policy: SignaturePolicy,
    },
    /// A policy of the channel config, such as
    /// `/Channel/Application/Endorsement`.
    ChannelConfig(String),
}

impl EndorsementPolicy {
    /// Fabric's `ApplicationPolicy` for it.
    pub fn application_policy(&self) -> peer::ApplicationPolicy {
        use peer::application_policy::Type;
        peer::ApplicationPolicy {
            r#type: Some(match self {
                EndorsementPolicy::Signature { policy, .. } => {
                    Type::SignaturePolicy(policy.envelope())
                }
                EndorsementPolicy::ChannelConfig(r) => {
                    Type::ChannelConfigPolicyReference(r.clone())
                }
            }),
        }
    }

    /// The definition's validation parameter: the encoded
    /// `ApplicationPolicy`.
    pub fn validation_parameter(&self) -> Vec<u8> {
        fabric::encode(&self.application_policy())
    }

    /// The validation parameter of a definition that names no policy: the
    /// peer fills in a reference to the channel's Endorsement policy, so
    /// fabdev sends that explicitly and compares like with like.
    pub fn default_validation_parameter() -> Vec<u8> {
        EndorsementPolicy::ChannelConfig(DEFAULT_ENDORSEMENT_POLICY_REF.to_string())
            .validation_parameter()
    }
}

/// Rule for a channel config policy reference: an absolute path in the
/// channel config (`/Channel/Application/Endorsement`, or a relative name
/// such as `Endorsement`, which the peer resolves under
/// `/Channel/Application`).
pub fn check_policy_reference(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.trim_start_matches('/').split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a channel config policy: write a path such as {DEFAULT_ENDORSEMENT_POLICY_REF}"
        ))
    }
}

/// Parse a signature policy and check that it names only `known` MSP IDs.
pub fn signature_policy(expr: &str, known: &[&str]) -> Result<SignaturePolicy, String> {
    let p = SignaturePolicy::parse(expr).map_err(|e| format!("{expr:?}: {e}"))?;
    let unknown: Vec<&str> = p
        .msp_ids()
        .into_iter()
        .filter(|m| !known.contains(m))
        .collect();
    if let Some(first) = unknown.first() {
        return Err(format!(
            "{expr:?} names MSP ID {first:?}, which no org of the workspace has (its MSP IDs: {})",
            known.join(", ")
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::signature_policy::{NOutOf, Type};

    fn signed(i: i32) -> common::SignaturePolicy {
        common::SignaturePolicy {
            r#type: Some(Type::SignedBy(i)),
        }
    }

    fn n_of(n: i32, rules: Vec<common::SignaturePolicy>) -> common::SignaturePolicy {
        common::SignaturePolicy {
            r#type: Some(Type::NOutOf(NOutOf { n, rules })),
        }
    }

    fn msp(env: &common::SignaturePolicyEnvelope) -> Vec<(String, i32)> {
        use prost::Message as _;
        env.identities
            .iter()
            .map(|p| {
                let r = common::MspRole::decode(p.principal.as_slice()).expect("role");
                (r.msp_identifier, r.role)
            })
            .collect()
    }

    #[test]
    fn or_and_outof_are_n_out_of() {
        let e = SignaturePolicy::parse("OR('Org1MSP.peer', \"Org2MSP.member\")")
            .expect("parses")
            .envelope();
        assert_eq!(e.rule, Some(n_of(1, vec![signed(0), signed(1)])));
        assert_eq!(msp(&e), [("Org1MSP".into(), 3), ("Org2MSP".into(), 0)]);
        let e = SignaturePolicy::parse("and('A.admin','B.client')")
            .expect("parses")
            .envelope();
        assert_eq!(e.rule, Some(n_of(2, vec![signed(0), signed(1)])));
        let e = SignaturePolicy::parse("OutOf(2, 'A.peer', 'B.peer', 'C.orderer')")
            .expect("parses")
            .envelope();
        assert_eq!(e.rule, Some(n_of(2, vec![signed(0), signed(1), signed(2)])));
    }

    #[test]
    fn nested_gates_number_their_principals_first_as_policydsl_does() {
        // outof(1, 'A', outof(2, 'B', 'C')): the inner call runs first and
        // numbers B and C; then the outer one numbers A.
        let e = SignaturePolicy::parse("OR('A.peer', AND('B.peer', 'C.peer'), 'A.peer')")
            .expect("parses")
            .envelope();
        assert_eq!(
            e.rule,
            Some(n_of(
                1,
                vec![signed(2), n_of(2, vec![signed(0), signed(1)]), signed(3)]
            ))
        );
        let ids: Vec<String> = msp(&e).into_iter().map(|(m, _)| m).collect();
        assert_eq!(ids, ["B", "C", "A", "A"]);
    }

    #[test]
    fn bad_expressions_say_where() {
        for (expr, at, words) in [
            ("", 1, "empty"),
            ("OR('Org1MSP.peer'", 18, "expected `)`"),
            ("OR('Org1MSP.peers')", 4, "not a principal"),
            ("XOR('A.peer')", 1, "unknown gate `XOR`"),
            ("OR(Org1MSP.peer)", 4, "unknown gate `Org1MSP`"),
            ("OutOf(3, 'A.peer', 'B.peer')", 1, "from 1 to 2"),
            ("OR('A.peer') x", 14, "unexpected `x`"),
            ("'A.peer'", 1, "bare principal"),
        ] {
            let e = SignaturePolicy::parse(expr).expect_err(expr);
            assert_eq!(e.at, at, "{expr}: {e}");
            assert!(e.message.contains(words), "{expr}: {e}");
        }
    }

    #[test]
    fn unknown_msp_ids_are_named() {
        let e = signature_policy("OR('Org1MSP.peer','Org3MSP.peer')", &["Org1MSP", "Org2MSP"])
            .expect_err("Org3");
        assert!(
            e.contains("\"Org3MSP\"") && e.contains("Org1MSP, Org2MSP"),
            "{e}"
        );
    }

    #[test]
    fn collections_are_checked_like_the_peer_does() {
        let known = ["Org1MSP", "Org2MSP"];
        let ok = parse_collections(
            r#"[{"name":"private","policy":"OR('Org1MSP.member','Org2MSP.member')",
                "requiredPeerCount":0,"maxPeerCount":3,"blockToLive":100,"memberOnlyRead":true,
                "endorsementPolicy":{"signaturePolicy":"OR('Org1MSP.peer')"}}]"#,
            &known,
        )
        .expect("valid");
        assert_eq!(ok[0].maximum_peer_count, 3);
        assert!(ok[0].member_only_read);
        let defaults =
            parse_collections(r#"[{"name":"c","policy":"OR('Org1MSP.member')"}]"#, &known)
                .expect("valid");
        assert_eq!(
            (
                defaults[0].required_peer_count,
                defaults[0].maximum_peer_count
            ),
            (0, 1)
        );
        let problems = parse_collections(
            r#"[{"name":"_x","policy":"AND('Org1MSP.member','Org2MSP.member')"},
                {"name":"y","policy":"OR('Org9MSP.member')","requiredPeerCount":2,"maxPeerCount":1},
                {"name":"y","policy":"OR('Org1MSP.member')","endorsementPolicy":{"signaturePolicy":"OR('Org1MSP.peer')","channelConfigPolicy":"/Channel/Application/Endorsement"}}]"#,
            &known,
        )
        .expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "[0].name",
                "[0].policy",
                "[1].policy",
                "[1].maxPeerCount",
                "[2].name",
                "[2].endorsementPolicy"
            ],
            "{problems:?}"
        );
        let syntax = parse_collections("[\n{\"name\": }]", &known).expect_err("syntax");
        assert_eq!(syntax[0].line, Some(2));
        let unknown = parse_collections(
            r#"[{"name":"c","policy":"OR('Org1MSP.member')","maxPeers":1}]"#,
            &known,
        )
        .expect_err("unknown field");
        assert!(unknown[0].message.contains("maxPeers"), "{unknown:?}");
    }

    #[test]
    fn validation_parameters_are_application_policies() {
        use prost::Message as _;
        let d = EndorsementPolicy::default_validation_parameter();
        let p = peer::ApplicationPolicy::decode(d.as_slice()).expect("decode");
        assert_eq!(
            p.r#type,
            Some(
                peer::application_policy::Type::ChannelConfigPolicyReference(
                    DEFAULT_ENDORSEMENT_POLICY_REF.into()
                )
            )
        );
        assert!(check_policy_reference("/Channel/Application/Endorsement").is_ok());
        assert!(check_policy_reference("Endorsement").is_ok());
        assert!(check_policy_reference("/Channel//x").is_err());
        assert!(check_policy_reference("").is_err());
    }
}
