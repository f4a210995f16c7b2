//! The wanted config of a channel that orgs join: the channel's current
//! config with each new org's `Application` group as fabdev's genesis
//! builder makes it (the builder the `01-add-org` vector checks), and
//! nothing else changed, so that the update
//! ([`super::compute_update`]) adds exactly those groups whatever else the
//! channel's config went through since its genesis block.

use crate::fabric::common;

use super::{ConfigTxError, ROOT_GROUP};

/// The `Application` group's key under `/Channel`.
pub const APPLICATION: &str = "Application";

/// The application orgs (their group names, which are fabdev's org names)
/// of a channel's config, sorted.
pub fn application_orgs(config: &common::Config) -> Vec<String> {
    config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get(APPLICATION))
        .map(|a| a.groups.keys().cloned().collect())
        .unwrap_or_default()
}

/// `current` with the `Application` group of each of `orgs` taken from
/// `built` (a config built from fabdev.yaml with those orgs on the
/// channel, every version 0), the rest as it is. An org already in
/// `current` keeps its group as the channel has it.
pub fn with_orgs(
    current: &common::Config,
    built: &common::Config,
    orgs: &[String],
) -> Result<common::Config, ConfigTxError> {
    let app = |c: &common::Config, which: &'static str| {
        c.channel_group
            .as_ref()
            .ok_or(ConfigTxError::NoChannelGroup { which })
            .and_then(|g| {
                g.groups
                    .get(APPLICATION)
                    .cloned()
                    .ok_or_else(|| ConfigTxError::NoGroup {
                        which,
                        path: format!("/{ROOT_GROUP}/{APPLICATION}"),
                    })
            })
    };
    let from = app(built, "wanted")?;
    let mut into = app(current, "current")?;
    for org in orgs {
        if into.groups.contains_key(org) {
            continue;
        }
        let group = from
            .groups
            .get(org)
            .cloned()
            .ok_or_else(|| ConfigTxError::NoGroup {
                which: "wanted",
                path: format!("/{ROOT_GROUP}/{APPLICATION}/{org}"),
            })?;
        into.groups.insert(org.clone(), group);
    }
    let mut wanted = current.clone();
    if let Some(root) = wanted.channel_group.as_mut() {
        root.groups.insert(APPLICATION.to_string(), into);
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::configtx::{apply_update, compute_update, modified_items};

    fn group(version: u64, subgroups: &[(&str, common::ConfigGroup)]) -> common::ConfigGroup {
        common::ConfigGroup {
            version,
            groups: subgroups
                .iter()
                .map(|(k, g)| ((*k).to_string(), g.clone()))
                .collect(),
            values: BTreeMap::new(),
            policies: BTreeMap::new(),
            mod_policy: "Admins".into(),
        }
    }

    fn org(version: u64, msp: &[u8]) -> common::ConfigGroup {
        let mut g = group(version, &[]);
        g.values.insert(
            "MSP".into(),
            common::ConfigValue {
                version,
                value: msp.to_vec(),
                mod_policy: "Admins".into(),
            },
        );
        g
    }

    fn config(app_version: u64, orgs: &[(&str, common::ConfigGroup)]) -> common::Config {
        common::Config {
            sequence: 0,
            channel_group: Some(group(
                0,
                &[
                    (APPLICATION, group(app_version, orgs)),
                    ("Orderer", group(3, &[])),
                ],
            )),
        }
    }

    #[test]
    fn only_the_new_orgs_group_is_added_and_the_rest_kept_as_the_channel_has_it() {
        // The channel's config has moved on (versions above 0, Org1's MSP
        // changed since); the built one is every version 0.
        let current = config(2, &[("Org1", org(1, b"org1-now")), ("Org2", org(0, b"2"))]);
        let built = config(
            0,
            &[
                ("Org1", org(0, b"org1-at-genesis")),
                ("Org2", org(0, b"2")),
                ("Org3", org(0, b"3")),
            ],
        );
        let wanted = with_orgs(&current, &built, &["Org3".into()]).expect("wanted");
        assert_eq!(application_orgs(&wanted), ["Org1", "Org2", "Org3"]);
        let update = compute_update(&current, &wanted, "mychannel").expect("update");
        let after = apply_update(&current, &update, "mychannel").expect("applies");
        assert_eq!(application_orgs(&after), ["Org1", "Org2", "Org3"]);
        // Only the Application group is modified: its Admins sign.
        let modified = modified_items(&current, &update).expect("modified");
        let policies: Vec<&str> = modified.iter().map(|m| m.policy_path.as_str()).collect();
        assert_eq!(policies, ["/Channel/Application/Admins"], "{modified:?}");
        // Org1 keeps the channel's group, not the genesis one.
        let app = &after.channel_group.expect("root").groups[APPLICATION];
        assert_eq!(app.groups["Org1"].values["MSP"].value, b"org1-now");
    }

    #[test]
    fn an_org_already_there_changes_nothing_and_a_missing_one_is_named() {
        let current = config(0, &[("Org1", org(0, b"1"))]);
        let same = with_orgs(&current, &current, &["Org1".into()]).expect("same");
        assert_eq!(same, current);
        let e = with_orgs(&current, &current, &["Org9".into()]).expect_err("no Org9");
        assert!(e.to_string().contains("/Channel/Application/Org9"), "{e}");
        let empty = common::Config::default();
        assert!(with_orgs(&empty, &current, &[]).is_err());
        assert!(application_orgs(&empty).is_empty());
    }
}
