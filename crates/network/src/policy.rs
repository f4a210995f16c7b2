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

/// The channel policy a chaincode's endorsements are checked against when
/// its definition names none (the peer fills it in).
pub const DEFAULT_ENDORSEMENT_POLICY_REF: &str = "/Channel/Application/Endorsement";

/// An MSP role, as the `MSPID.role` principal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    Admin,
    Client,
    Peer,
    Orderer,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "member" => Role::Member,
            "admin" => Role::Admin,
            "client" => Role::Client,
            "peer" => Role::Peer,
            "orderer" => Role::Orderer,
            _ => return None,
        })
    }

    fn proto(self) -> common::msp_role::MspRoleType {
        use common::msp_role::MspRoleType as T;
        match self {
            Role::Member => T::Member,
            Role::Admin => T::Admin,
            Role::Client => T::Client,
            Role::Peer => T::Peer,
            Role::Orderer => T::Orderer,
        }
    }
}

/// A parsed signature policy expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignaturePolicy {
    /// `'MSPID.role'`.
    Principal { msp_id: String, role: Role },
    /// `n` of `rules` must be satisfied (`OR` is 1, `AND` all).
    Gate { n: u32, rules: Vec<SignaturePolicy> },
}

/// Why a signature policy expression does not parse or check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {at})")]
pub struct PolicyError {
    /// 1-based character position in the expression.
    pub at: usize,
    pub message: String,
}

const EXAMPLE: &str = "e.g. OR('Org1MSP.peer', 'Org2MSP.peer') or OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org2MSP.admin')";

/// An example expression for hints.
pub fn example() -> &'static str {
    EXAMPLE
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, PolicyError> {
        Err(PolicyError {
            at: self.pos + 1,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), PolicyError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            match self.peek() {
                Some(got) => self.err(format!("expected `{c}`, found `{got}`")),
                None => self.err(format!("expected `{c}`, found the end")),
            }
        }
    }

    fn expr(&mut self) -> Result<SignaturePolicy, PolicyError> {
        self.skip_ws();
        match self.peek() {
            Some(q @ ('\'' | '"')) => self.principal(q),
            Some(c) if c.is_ascii_alphabetic() => self.gate(),
            Some(c) => self.err(format!(
                "expected a gate (OR, AND, OutOf) or a quoted 'MSPID.role', found `{c}`"
            )),
            None => self.err("the expression is empty or ends too early"),
        }
    }

    fn principal(&mut self, quote: char) -> Result<SignaturePolicy, PolicyError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                Some(c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
                None => {
                    self.pos = start;
                    return self.err("a quoted principal is not closed");
                }
            }
        }
        // Fabric: ^([[:alnum:].-]+)([.])(admin|member|client|peer|orderer)$,
        // the MSP ID taking every character up to the last '.'.
        let bad = |p: &mut Parser| -> Result<SignaturePolicy, PolicyError> {
            p.pos = start;
            p.err(format!(
                "'{s}' is not a principal: write 'MSPID.role' with role member, admin, client, peer or orderer"
            ))
        };
        let Some((msp_id, role)) = s.rsplit_once('.') else {
            return bad(self);
        };
        let Some(role) = Role::parse(role) else {
            return bad(self);
        };
        if msp_id.is_empty()
            || !msp_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return bad(self);
        }
        Ok(SignaturePolicy::Principal {
            msp_id: msp_id.to_string(),
            role,
        })
    }

    fn gate(&mut self) -> Result<SignaturePolicy, PolicyError> {
        let start = self.pos;
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric()) {
            name.push(c);
            self.pos += 1;
        }
        #[derive(PartialEq)]
        enum G {
            And,
            Or,
            OutOf,
        }
        let g = match name.as_str() {
            "AND" | "And" | "and" => G::And,
            "OR" | "Or" | "or" => G::Or,
            "OutOf" | "outof" | "OUTOF" => G::OutOf,
            _ => {
                self.pos = start;
                return self.err(format!(
                    "unknown gate `{name}`: use OR, AND or OutOf (principals are quoted: '{name}.member')"
                ));
            }
        };
        self.expect('(')?;
        let mut n = None;
        if g == G::OutOf {
            self.skip_ws();
            let num_start = self.pos;
            let mut digits = String::new();
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                digits.push(c);
                self.pos += 1;
            }
            match digits.parse::<u32>() {
                Ok(v) => n = Some(v),
                Err(_) => {
                    self.pos = num_start;
                    return self.err("OutOf takes a number first: OutOf(2, 'A.peer', 'B.peer', …)");
                }
            }
            self.expect(',')?;
        }
        let mut rules = vec![self.expr()?];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    rules.push(self.expr()?);
                }
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => return self.err(format!("expected `,` or `)`, found `{c}`")),
                None => return self.err("expected `)`, found the end"),
            }
        }
        let count = u32::try_from(rules.len()).unwrap_or(u32::MAX);
        let n = match g {
            G::Or => 1,
            G::And => count,
            G::OutOf => {
                let v = n.unwrap_or(0);
                if v == 0 || v > count {
                    self.pos = start;
                    return self.err(format!(
                        "OutOf({v}, …) over {count} policies can never be what you mean: give a number from 1 to {count}"
                    ));
                }
                v
            }
        };
        Ok(SignaturePolicy::Gate { n, rules })
    }
}

impl SignaturePolicy {
    /// Parse an expression in Fabric's policy language.
    pub fn parse(s: &str) -> Result<SignaturePolicy, PolicyError> {
        let mut p = Parser {
            chars: s.chars().collect(),
            pos: 0,
        };
        let e = p.expr()?;
        p.skip_ws();
        if let Some(c) = p.peek() {
            return p.err(format!("unexpected `{c}` after the expression"));
        }
        if matches!(e, SignaturePolicy::Principal { .. }) {
            return Err(PolicyError {
                at: 1,
                message: "a policy is a gate over principals: write OR('Org1MSP.peer') rather than a bare principal".into(),
            });
        }
        Ok(e)
    }

    /// The MSP IDs the expression names, in order, with repeats.
    pub fn msp_ids(&self) -> Vec<&str> {
        match self {
            SignaturePolicy::Principal { msp_id, .. } => vec![msp_id.as_str()],
            SignaturePolicy::Gate { rules, .. } => rules.iter().flat_map(|r| r.msp_ids()).collect(),
        }
    }

    /// Whether every gate is an OR (1 out of n), as a collection's member
    /// policy must be.
    pub fn only_ors(&self) -> bool {
        match self {
            SignaturePolicy::Principal { .. } => true,
            SignaturePolicy::Gate { n, rules } => *n == 1 && rules.iter().all(|r| r.only_ors()),
        }
    }

    /// The expression as Fabric's `policydsl.FromString` builds it.
    pub fn envelope(&self) -> common::SignaturePolicyEnvelope {
        let mut identities = Vec::new();
        let rule = self.rule(&mut identities);
        common::SignaturePolicyEnvelope {
            version: 0,
            rule: Some(rule),
            identities,
        }
    }

    /// policydsl numbers identities as its evaluation meets them: a gate's
    /// arguments are evaluated first (so nested gates number theirs), then
    /// the gate numbers its own principals, left to right.
    fn rule(&self, ids: &mut Vec<common::MspPrincipal>) -> common::SignaturePolicy {
        use common::signature_policy::{NOutOf, Type};
        match self {
            SignaturePolicy::Principal { msp_id, role } => signed_by(ids, msp_id, *role),
            SignaturePolicy::Gate { n, rules } => {
                let nested: Vec<Option<common::SignaturePolicy>> = rules
                    .iter()
                    .map(|r| matches!(r, SignaturePolicy::Gate { .. }).then(|| r.rule(ids)))
                    .collect();
                let rules = rules
                    .iter()
                    .zip(nested)
                    .map(|(r, done)| done.unwrap_or_else(|| r.rule(ids)))
                    .collect();
                common::SignaturePolicy {
                    r#type: Some(Type::NOutOf(NOutOf {
                        n: i32::try_from(*n).unwrap_or(i32::MAX),
                        rules,
                    })),
                }
            }
        }
    }
}

fn signed_by(
    ids: &mut Vec<common::MspPrincipal>,
    msp_id: &str,
    role: Role,
) -> common::SignaturePolicy {
    use common::signature_policy::Type;
    let index = i32::try_from(ids.len()).unwrap_or(i32::MAX);
    ids.push(common::MspPrincipal {
        principal_classification: common::msp_principal::Classification::Role as i32,
        principal: fabric::encode(&common::MspRole {
            msp_identifier: msp_id.to_string(),
            role: role.proto() as i32,
        }),
    });
    common::SignaturePolicy {
        r#type: Some(Type::SignedBy(index)),
    }
}

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
struct RawCollection {
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
struct RawEndorsement {
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
