//! The config tree under construction: a [`Group`] gives every value and
//! policy version 0 and mod_policy `Admins`, and encodes implicit-meta and
//! signature policies as configtxgen does.

use super::ADMINS;
use crate::fabric::{self, Message, common};

#[derive(Debug, Clone, Copy)]
pub(super) enum Rule {
    Any,
    Majority,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Role {
    Member,
    Admin,
    Client,
    Peer,
}

impl Role {
    pub(super) fn proto(self) -> common::msp_role::MspRoleType {
        match self {
            Role::Member => common::msp_role::MspRoleType::Member,
            Role::Admin => common::msp_role::MspRoleType::Admin,
            Role::Client => common::msp_role::MspRoleType::Client,
            Role::Peer => common::msp_role::MspRoleType::Peer,
        }
    }
}

/// A config group under construction; everything in it gets version 0 and
/// mod_policy `Admins`, as configtxgen does for application channels.
pub(super) struct Group(pub(super) common::ConfigGroup);

impl Group {
    pub(super) fn new() -> Group {
        Group(common::ConfigGroup {
            mod_policy: ADMINS.to_string(),
            ..Default::default()
        })
    }

    pub(super) fn group(&mut self, key: &str, group: Group) {
        self.0.groups.insert(key.to_string(), group.0);
    }

    pub(super) fn value<M: Message>(&mut self, key: &str, msg: &M) {
        self.0.values.insert(
            key.to_string(),
            common::ConfigValue {
                version: 0,
                value: fabric::encode(msg),
                mod_policy: ADMINS.to_string(),
            },
        );
    }

    pub(super) fn policy(&mut self, key: &str, r#type: common::policy::PolicyType, value: Vec<u8>) {
        self.0.policies.insert(
            key.to_string(),
            common::ConfigPolicy {
                version: 0,
                policy: Some(common::Policy {
                    r#type: r#type as i32,
                    value,
                }),
                mod_policy: ADMINS.to_string(),
            },
        );
    }

    /// `"<RULE> <sub_policy>"`, as `policies.ImplicitMetaFromString`.
    pub(super) fn implicit_meta(&mut self, key: &str, rule: Rule, sub_policy: &str) {
        let rule = match rule {
            Rule::Any => common::implicit_meta_policy::Rule::Any,
            Rule::Majority => common::implicit_meta_policy::Rule::Majority,
        };
        let value = fabric::encode(&common::ImplicitMetaPolicy {
            sub_policy: sub_policy.to_string(),
            rule: rule as i32,
        });
        self.policy(key, common::policy::PolicyType::ImplicitMeta, value);
    }

    /// `OR('<msp>.<role>', ...)`, as `policydsl.FromString` encodes it.
    pub(super) fn signature(&mut self, key: &str, msp_id: &str, roles: &[Role]) {
        use common::signature_policy::{NOutOf, Type};
        let identities = roles
            .iter()
            .map(|role| common::MspPrincipal {
                principal_classification: common::msp_principal::Classification::Role as i32,
                principal: fabric::encode(&common::MspRole {
                    msp_identifier: msp_id.to_string(),
                    role: role.proto() as i32,
                }),
            })
            .collect::<Vec<_>>();
        let rules = (0..identities.len())
            .map(|i| common::SignaturePolicy {
                r#type: Some(Type::SignedBy(i32::try_from(i).unwrap_or(i32::MAX))),
            })
            .collect();
        let envelope = common::SignaturePolicyEnvelope {
            version: 0,
            rule: Some(common::SignaturePolicy {
                r#type: Some(Type::NOutOf(NOutOf { n: 1, rules })),
            }),
            identities,
        };
        self.policy(
            key,
            common::policy::PolicyType::Signature,
            fabric::encode(&envelope),
        );
    }
}
