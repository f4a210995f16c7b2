//! The pure parts of a channel config update: which orgs' admins must
//! sign it, the signed `CONFIG_UPDATE` envelope itself, and where a
//! channel's latest config block is.
//!
//! - [`required_signers`]: the MSP IDs whose admins satisfy the policies a
//!   config update must satisfy ([`crate::configtx::modified_items`]'s
//!   `policy_path`s), read from the channel's config as Fabric evaluates
//!   them: an implicit-meta policy (`MAJORITY Admins`) over the group's
//!   sub-groups' policies of that name, a signature policy over its
//!   principals. Deterministic: sub-groups and principals in name order,
//!   orgs already chosen for another policy preferred.
//! - [`signed_update`]: the `ConfigUpdateEnvelope` with one
//!   `ConfigSignature` per signer (a signature header with the signer's
//!   serialized identity and a nonce, and the signature over that header
//!   followed by the update's bytes), wrapped in an `Envelope` of type
//!   `CONFIG_UPDATE` signed by the submitter, as `peer channel update`
//!   sends it.
//! - [`last_config_index`]: the number of the channel's latest config
//!   block, from a block's metadata (Fabric's
//!   `protoutil.GetLastConfigIndexFromBlock`).

use std::collections::BTreeSet;

use fabric_sdk::gateway::configtx::{
    add_signature, build_config_update_transaction, create_config_update_envelope,
};
use fabric_sdk::identity::{Identity, IdentityBuilder};

use super::ChannelError;
use super::creds::KeyPair;
use crate::configtx::ROOT_GROUP;
use crate::fabric::{Message, common};

/// An org admin who signs config updates: the org, its MSP ID, and the
/// admin's signing certificate and key (checked by `creds::key_pair`).
#[derive(Clone)]
pub struct Signer {
    /// The org as fabdev.yaml names it (`Org1`, `OrdererOrg`).
    pub org: String,
    pub msp_id: String,
    pub(crate) pair: KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("org", &self.org)
            .field("msp_id", &self.msp_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The SDK identity. The key pair was checked as the SDK parses it, so
    /// its builder does not panic.
    pub(crate) fn identity(&self) -> Result<Identity, ChannelError> {
        IdentityBuilder::from_pem(&self.pair.cert_pem)
            .and_then(|b| b.with_msp(self.msp_id.clone()))
            .and_then(|b| b.with_private_key(self.pair.key_pem.clone()))
            .and_then(|b| b.build())
            .map_err(|e| ChannelError::Signer {
                org: self.org.clone(),
                source: Box::new(e),
            })
    }
}

/// `update` signed by each of `signers` (in order) and wrapped in a
/// `CONFIG_UPDATE` envelope signed by `submitter`, on the update's channel.
pub fn signed_update(
    update: &common::ConfigUpdate,
    signers: &[Signer],
    submitter: &Signer,
) -> Result<common::Envelope, ChannelError> {
    let mut envelope = create_config_update_envelope(update);
    for signer in signers {
        add_signature(&mut envelope, &signer.identity()?);
    }
    build_config_update_transaction(&submitter.identity()?, &envelope).map_err(|e| {
        ChannelError::BadUpdate {
            channel: update.channel_id.clone(),
            problem: format!("cannot wrap the config update in an envelope: {e}"),
        }
    })
}

/// The MSP IDs (sorted) whose admins' signatures satisfy every policy of
/// `policies` (full paths such as `/Channel/Application/Admins`) in
/// `config`, on channel `channel` (for the error).
pub fn required_signers(
    config: &common::Config,
    policies: &[String],
    channel: &str,
) -> Result<Vec<String>, ChannelError> {
    let root = config
        .channel_group
        .as_ref()
        .ok_or_else(|| ChannelError::BadUpdate {
            channel: channel.to_string(),
            problem: "the channel's config has no channel group".to_string(),
        })?;
    let mut chosen = BTreeSet::new();
    for path in policies {
        let unsatisfiable = |problem: String| ChannelError::PolicyUnsatisfiable {
            channel: channel.to_string(),
            policy: path.clone(),
            problem,
        };
        let (group, name) = locate(root, path).map_err(unsatisfiable)?;
        let found = choose(group, name, &chosen).map_err(unsatisfiable)?;
        chosen.extend(found);
    }
    Ok(chosen.into_iter().collect())
}

/// The group a policy path names, and the policy's name in it.
fn locate<'g>(
    root: &'g common::ConfigGroup,
    path: &'g str,
) -> Result<(&'g common::ConfigGroup, &'g str), String> {
    let mut parts = path.trim_start_matches('/').split('/');
    if parts.next() != Some(ROOT_GROUP) {
        return Err(format!("the path does not start with /{ROOT_GROUP}"));
    }
    let parts: Vec<&str> = parts.collect();
    let Some((name, groups)) = parts.split_last() else {
        return Err("the path names no policy".to_string());
    };
    let mut group = root;
    for g in groups {
        group = group
            .groups
            .get(*g)
            .ok_or_else(|| format!("the config has no group {g}"))?;
    }
    Ok((group, name))
}

/// The MSP IDs whose admins satisfy policy `name` of `group`.
fn choose(
    group: &common::ConfigGroup,
    name: &str,
    preferred: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    let policy = group
        .policies
        .get(name)
        .and_then(|p| p.policy.as_ref())
        .ok_or_else(|| format!("no policy {name}"))?;
    use common::policy::PolicyType;
    match PolicyType::try_from(policy.r#type) {
        Ok(PolicyType::ImplicitMeta) => {
            let meta = common::ImplicitMetaPolicy::decode(policy.value.as_slice())
                .map_err(|e| format!("policy {name} does not decode: {e}"))?;
            implicit_meta(group, &meta, preferred)
        }
        Ok(PolicyType::Signature) => {
            let env = common::SignaturePolicyEnvelope::decode(policy.value.as_slice())
                .map_err(|e| format!("policy {name} does not decode: {e}"))?;
            let rule = env
                .rule
                .as_ref()
                .ok_or("a signature policy without a rule")?;
            signature(rule, &env.identities, preferred)
        }
        _ => Err(format!(
            "policy {name} is of type {}, which fabdev does not evaluate",
            policy.r#type
        )),
    }
}

/// `ANY`, `ALL` or `MAJORITY` of the sub-groups' `sub_policy`.
fn implicit_meta(
    group: &common::ConfigGroup,
    meta: &common::ImplicitMetaPolicy,
    preferred: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    use common::implicit_meta_policy::Rule;
    let subs = group.groups.len();
    let needed = match Rule::try_from(meta.rule) {
        // Fabric: ANY of no sub-policies is satisfied.
        Ok(Rule::Any) => subs.min(1),
        Ok(Rule::All) => subs,
        Ok(Rule::Majority) => subs / 2 + 1,
        Err(_) => return Err(format!("unknown implicit-meta rule {}", meta.rule)),
    };
    let mut options: Vec<BTreeSet<String>> = Vec::new();
    let mut problems = Vec::new();
    for (sub_name, sub) in &group.groups {
        match choose(sub, &meta.sub_policy, preferred) {
            Ok(set) => options.push(set),
            Err(p) => problems.push(format!("{sub_name}: {p}")),
        }
    }
    if options.len() < needed {
        return Err(format!(
            "{} of {subs} sub-groups' {} policies are needed, {} can be satisfied by admins{}",
            needed,
            meta.sub_policy,
            options.len(),
            if problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems.join("; "))
            }
        ));
    }
    Ok(pick(options, needed, preferred))
}

/// `needed` of `options` (each a set of MSP IDs that satisfies one
/// sub-policy), preferring those that add no new org, then the smallest,
/// then name order; their union.
fn pick(
    mut options: Vec<BTreeSet<String>>,
    needed: usize,
    preferred: &BTreeSet<String>,
) -> BTreeSet<String> {
    options.sort_by_key(|set| {
        let new = set.iter().filter(|m| !preferred.contains(*m)).count();
        (new, set.len(), set.iter().cloned().collect::<Vec<_>>())
    });
    options.into_iter().take(needed).flatten().collect()
}

/// The MSP IDs whose admins satisfy a signature policy rule over
/// `identities`.
fn signature(
    rule: &common::SignaturePolicy,
    identities: &[common::MspPrincipal],
    preferred: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    use common::signature_policy::Type;
    match &rule.r#type {
        Some(Type::SignedBy(i)) => {
            let principal = usize::try_from(*i)
                .ok()
                .and_then(|i| identities.get(i))
                .ok_or_else(|| format!("signed_by({i}) names no identity"))?;
            admin_of(principal).map(|m| BTreeSet::from([m]))
        }
        Some(Type::NOutOf(n_out_of)) => {
            let needed = usize::try_from(n_out_of.n).unwrap_or(0);
            let mut options: Vec<BTreeSet<String>> = Vec::new();
            let mut problems = Vec::new();
            for rule in &n_out_of.rules {
                match signature(rule, identities, preferred) {
                    Ok(set) => options.push(set),
                    Err(p) => problems.push(p),
                }
            }
            if options.len() < needed {
                return Err(format!(
                    "{needed} of {} signatures are needed, {} can be given by admins ({})",
                    n_out_of.rules.len(),
                    options.len(),
                    problems.join("; ")
                ));
            }
            Ok(pick(options, needed, preferred))
        }
        None => Err("a signature policy rule of no type".to_string()),
    }
}

/// The MSP whose admin satisfies a principal: an MSP role `admin` or
/// `member` (an admin is a member).
fn admin_of(principal: &common::MspPrincipal) -> Result<String, String> {
    use common::msp_principal::Classification;
    use common::msp_role::MspRoleType;
    if principal.principal_classification != Classification::Role as i32 {
        return Err("a principal that is not an MSP role".to_string());
    }
    let role = common::MspRole::decode(principal.principal.as_slice())
        .map_err(|e| format!("an MSP role that does not decode: {e}"))?;
    match MspRoleType::try_from(role.role) {
        Ok(MspRoleType::Admin | MspRoleType::Member) => Ok(role.msp_identifier),
        _ => Err(format!(
            "{}'s role {} is not one an admin has",
            role.msp_identifier, role.role
        )),
    }
}

/// The number of the latest config block of the channel `block` belongs
/// to: the `SIGNATURES` metadata's `OrdererBlockMetadata.last_config`
/// (Fabric 2.x and 3.x), else the deprecated `LAST_CONFIG` metadata.
pub fn last_config_index(block: &common::Block, channel: &str) -> Result<u64, ChannelError> {
    let bad = |problem: String| ChannelError::BadUpdate {
        channel: channel.to_string(),
        problem: format!("cannot find the latest config block: {problem}"),
    };
    let metadata = block
        .metadata
        .as_ref()
        .ok_or_else(|| bad("the block has no metadata".to_string()))?;
    let entry = |index: common::BlockMetadataIndex| -> Option<common::Metadata> {
        let bytes = metadata.metadata.get(index as usize)?;
        common::Metadata::decode(bytes.as_slice()).ok()
    };
    if let Some(md) = entry(common::BlockMetadataIndex::Signatures)
        && let Ok(obm) = common::OrdererBlockMetadata::decode(md.value.as_slice())
        && let Some(last) = obm.last_config
    {
        return Ok(last.index);
    }
    #[allow(deprecated)]
    if let Some(md) = entry(common::BlockMetadataIndex::LastConfig)
        && !md.value.is_empty()
        && let Ok(last) = common::LastConfig::decode(md.value.as_slice())
    {
        return Ok(last.index);
    }
    Err(bad(
        "its metadata names no last config (neither SIGNATURES nor LAST_CONFIG)".to_string(),
    ))
}

#[cfg(test)]
mod tests;
