//! Signature policy expressions: the parser of `OR('Org1MSP.peer', …)`
//! and its encoding as policydsl's `SignaturePolicyEnvelope`.

use super::*;

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

pub(super) const EXAMPLE: &str = "e.g. OR('Org1MSP.peer', 'Org2MSP.peer') or OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org2MSP.admin')";

/// An example expression for hints.
pub fn example() -> &'static str {
    EXAMPLE
}

pub(super) struct Parser {
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

pub(super) fn signed_by(
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
