//! The wanted config of a channel-parameter change: the parameters
//! fabdev.yaml sets, as fabdev's own config for the channel has them, put
//! into the channel's live config, every other element left as it is.
//!
//! A parameter change then touches only what it changes, whatever else the
//! live config holds (an org another step adds, a consenter set another
//! step changes), and its update is what `configtxlator compute_update`
//! computes from the live config and that wanted one.

use super::ConfigTxError;
use crate::fabric::common::{Config, ConfigGroup};

/// The orderer group's values fabdev.yaml sets.
pub const ORDERER_PARAMETERS: [&str; 2] = ["BatchTimeout", "BatchSize"];
/// The value of each application org fabdev.yaml sets.
pub const ANCHOR_PEERS: &str = "AnchorPeers";

const ORDERER: &str = "Orderer";
const APPLICATION: &str = "Application";

/// `live` with `built`'s channel parameters: the orderers' `BatchTimeout`
/// and `BatchSize`, and the `AnchorPeers` of every application org that
/// both configs have (present or absent as in `built`). `built` is the
/// channel's config as fabdev builds it from fabdev.yaml (its genesis
/// config); versions stay the live ones.
pub fn with_parameters(live: &Config, built: &Config) -> Result<Config, ConfigTxError> {
    let mut out = live.clone();
    let root = out
        .channel_group
        .as_mut()
        .ok_or(ConfigTxError::NoChannelGroup { which: "live" })?;
    let built_root = built
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "wanted" })?;
    if let (Some(to), Some(from)) = (root.groups.get_mut(ORDERER), built_root.groups.get(ORDERER)) {
        for key in ORDERER_PARAMETERS {
            copy_value(to, from, key);
        }
    }
    if let (Some(to), Some(from)) = (
        root.groups.get_mut(APPLICATION),
        built_root.groups.get(APPLICATION),
    ) {
        for (org, group) in &mut to.groups {
            if let Some(wanted) = from.groups.get(org) {
                copy_value(group, wanted, ANCHOR_PEERS);
            }
        }
    }
    Ok(out)
}

/// The orderer group's values that name the consenters: the consensus
/// type with its metadata (Raft's consenters and options, or BFT's
/// options), and BFT's consenter mapping.
pub const CONSENTER_VALUES: [&str; 2] = ["ConsensusType", "Orderers"];
/// The orderer group's policy that checks the blocks' signatures: on BFT a
/// signature policy over the consenters' identities, which the orderers
/// require to follow the consenter set (implicit-meta on Raft, the same in
/// both configs).
pub const BLOCK_VALIDATION: &str = "BlockValidation";
/// The value of each orderer org that lists its orderers' addresses.
pub const ENDPOINTS: &str = "Endpoints";

/// `live` with `built`'s consenter set: the orderer group's
/// [`CONSENTER_VALUES`] and [`BLOCK_VALIDATION`] policy, and the
/// [`ENDPOINTS`] of every orderer org both
/// configs have; everything else as live has it. The wanted config of an
/// orderer added to (or removed from) the channel's consenters: its update
/// is signed for `/Channel/Orderer/Admins` and the orderer org's `Admins`.
pub fn with_consenters(live: &Config, built: &Config) -> Result<Config, ConfigTxError> {
    let mut out = live.clone();
    let root = out
        .channel_group
        .as_mut()
        .ok_or(ConfigTxError::NoChannelGroup { which: "live" })?;
    let built_root = built
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "wanted" })?;
    if let (Some(to), Some(from)) = (root.groups.get_mut(ORDERER), built_root.groups.get(ORDERER)) {
        for key in CONSENTER_VALUES {
            copy_value(to, from, key);
        }
        copy_policy(to, from, BLOCK_VALIDATION);
        for (org, group) in &mut to.groups {
            if let Some(wanted) = from.groups.get(org) {
                copy_value(group, wanted, ENDPOINTS);
            }
        }
    }
    Ok(out)
}

/// Policy `key` of `to` as `from` has it (the version stays `to`'s);
/// left alone when `from` has none.
fn copy_policy(to: &mut ConfigGroup, from: &ConfigGroup, key: &str) {
    if let (Some(wanted), Some(policy)) = (from.policies.get(key), to.policies.get_mut(key)) {
        policy.policy = wanted.policy.clone();
        policy.mod_policy = wanted.mod_policy.clone();
    }
}

/// Value `key` of `to` as `from` has it: its bytes and mod_policy (the
/// version stays `to`'s), added, or removed when `from` has none.
fn copy_value(to: &mut ConfigGroup, from: &ConfigGroup, key: &str) {
    match (from.values.get(key), to.values.get_mut(key)) {
        (Some(wanted), Some(value)) => {
            value.value = wanted.value.clone();
            value.mod_policy = wanted.mod_policy.clone();
        }
        (Some(wanted), None) => {
            let mut value = wanted.clone();
            value.version = 0;
            to.values.insert(key.to_string(), value);
        }
        (None, Some(_)) => {
            to.values.remove(key);
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configtx::{compute_update, differences, modified_items};
    use crate::fabric::common::ConfigValue;

    fn value(bytes: &[u8], version: u64) -> ConfigValue {
        ConfigValue {
            version,
            value: bytes.to_vec(),
            mod_policy: "Admins".into(),
        }
    }

    fn group() -> ConfigGroup {
        ConfigGroup {
            mod_policy: "Admins".into(),
            ..ConfigGroup::default()
        }
    }

    /// A config with an orderer group and two orgs.
    fn config(timeout: &[u8], anchors: Option<&[u8]>, version: u64) -> Config {
        let mut orderer = group();
        orderer
            .values
            .insert("BatchTimeout".into(), value(timeout, version));
        orderer
            .values
            .insert("BatchSize".into(), value(b"size", version));
        orderer
            .values
            .insert("ConsensusType".into(), value(b"raft", version));
        let mut app = group();
        for org in ["Org1", "Org2"] {
            let mut g = group();
            g.values.insert("MSP".into(), value(org.as_bytes(), 0));
            if let Some(a) = anchors {
                g.values.insert(ANCHOR_PEERS.into(), value(a, version));
            }
            app.groups.insert(org.into(), g);
        }
        let mut root = group();
        root.groups.insert("Orderer".into(), orderer);
        root.groups.insert("Application".into(), app);
        Config {
            sequence: 3,
            channel_group: Some(root),
        }
    }

    #[test]
    fn only_the_parameters_change_and_versions_stay_live() {
        let live = config(b"250ms", Some(b"peer0"), 2);
        let mut built = config(b"2s", Some(b"peer0"), 0);
        // Something else differs in the built config: left as live has it.
        if let Some(o) = built
            .channel_group
            .as_mut()
            .and_then(|g| g.groups.get_mut("Orderer"))
        {
            o.values
                .insert("ConsensusType".into(), value(b"other consenters", 0));
        }
        let wanted = with_parameters(&live, &built).unwrap();
        let d = differences(
            live.channel_group.as_ref().unwrap(),
            wanted.channel_group.as_ref().unwrap(),
        )
        .unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("/Channel/Orderer/BatchTimeout"), "{d:?}");
        let update = compute_update(&live, &wanted, "c").unwrap();
        let items = modified_items(&live, &update).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].policy_path, "/Channel/Orderer/Admins");
        assert_eq!(wanted.sequence, live.sequence);
    }

    #[test]
    fn anchor_peers_follow_the_built_config_for_orgs_in_both() {
        let live = config(b"2s", Some(b"peer0"), 1);
        let mut built = config(b"2s", Some(b"peer1"), 0);
        // An org only fabdev.yaml has is another step's: not added here.
        if let Some(app) = built
            .channel_group
            .as_mut()
            .and_then(|g| g.groups.get_mut("Application"))
        {
            app.groups.insert("Org3".into(), group());
        }
        let wanted = with_parameters(&live, &built).unwrap();
        let app = &wanted.channel_group.as_ref().unwrap().groups["Application"];
        assert!(!app.groups.contains_key("Org3"));
        for org in ["Org1", "Org2"] {
            let v = &app.groups[org].values[ANCHOR_PEERS];
            assert_eq!((v.value.as_slice(), v.version), (&b"peer1"[..], 1));
        }
        // No anchor in fabdev's config: the value goes; and comes back.
        let none = config(b"2s", None, 0);
        let wanted = with_parameters(&live, &none).unwrap();
        let app = &wanted.channel_group.as_ref().unwrap().groups["Application"];
        assert!(!app.groups["Org1"].values.contains_key(ANCHOR_PEERS));
        let back = with_parameters(&wanted, &live).unwrap();
        let app = &back.channel_group.as_ref().unwrap().groups["Application"];
        assert_eq!(app.groups["Org1"].values[ANCHOR_PEERS].version, 0);
    }

    #[test]
    fn consenters_and_endpoints_only() {
        let mut live = config(b"250ms", Some(b"peer0"), 1);
        let orderer_org = |c: &mut Config, endpoints: &[u8]| {
            let o = c
                .channel_group
                .as_mut()
                .and_then(|g| g.groups.get_mut("Orderer"))
                .unwrap();
            let mut g = group();
            g.values.insert(ENDPOINTS.into(), value(endpoints, 0));
            o.groups.insert("OrdererOrg".into(), g);
        };
        orderer_org(&mut live, b"o0,o1");
        let mut built = config(b"2s", Some(b"peer1"), 0);
        orderer_org(&mut built, b"o0,o1,o2");
        if let Some(o) = built
            .channel_group
            .as_mut()
            .and_then(|g| g.groups.get_mut("Orderer"))
        {
            o.values
                .insert("ConsensusType".into(), value(b"three consenters", 0));
        }
        let wanted = with_consenters(&live, &built).unwrap();
        let update = compute_update(&live, &wanted, "c").unwrap();
        let mut policies: Vec<String> = modified_items(&live, &update)
            .unwrap()
            .into_iter()
            .map(|m| m.policy_path)
            .collect();
        policies.dedup();
        assert_eq!(
            policies,
            [
                "/Channel/Orderer/Admins",
                "/Channel/Orderer/OrdererOrg/Admins"
            ]
        );
        let d = differences(
            live.channel_group.as_ref().unwrap(),
            wanted.channel_group.as_ref().unwrap(),
        )
        .unwrap();
        assert_eq!(d.len(), 2, "the batch timeout and anchors stay: {d:?}");
    }

    #[test]
    fn the_block_validation_policy_follows_the_consenters() {
        use crate::fabric::common::{ConfigPolicy, Policy};
        let policy = |bytes: &[u8]| ConfigPolicy {
            version: 1,
            policy: Some(Policy {
                r#type: 1,
                value: bytes.to_vec(),
            }),
            mod_policy: "Admins".into(),
        };
        let with_policy = |c: &mut Config, bytes: &[u8]| {
            if let Some(o) = c
                .channel_group
                .as_mut()
                .and_then(|g| g.groups.get_mut("Orderer"))
            {
                o.policies.insert(BLOCK_VALIDATION.into(), policy(bytes));
            }
        };
        let mut live = config(b"2s", None, 1);
        with_policy(&mut live, b"3 of 4 consenters");
        let mut built = config(b"2s", None, 0);
        with_policy(&mut built, b"4 of 5 consenters");
        let wanted = with_consenters(&live, &built).unwrap();
        let p =
            &wanted.channel_group.as_ref().unwrap().groups["Orderer"].policies[BLOCK_VALIDATION];
        assert_eq!(p.policy.as_ref().unwrap().value, b"4 of 5 consenters");
        assert_eq!(p.version, 1, "the version stays the live one");
        let update = compute_update(&live, &wanted, "c").unwrap();
        let items = modified_items(&live, &update).unwrap();
        assert!(
            items
                .iter()
                .all(|m| m.policy_path == "/Channel/Orderer/Admins"),
            "{items:?}"
        );
        // The same policy: nothing to change.
        let same = with_consenters(&live, &live).unwrap();
        assert!(matches!(
            compute_update(&live, &same, "c"),
            Err(ConfigTxError::NoDifferences)
        ));
    }

    #[test]
    fn the_same_parameters_change_nothing() {
        let live = config(b"2s", Some(b"peer0"), 4);
        let wanted = with_parameters(&live, &config(b"2s", Some(b"peer0"), 0)).unwrap();
        assert!(matches!(
            compute_update(&live, &wanted, "c"),
            Err(ConfigTxError::NoDifferences)
        ));
        assert!(with_parameters(&Config::default(), &live).is_err());
    }
}
