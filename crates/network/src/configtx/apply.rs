//! What the orderer does with a config update (Fabric `common/configtx`,
//! `ValidatorImpl.ProposeConfigUpdate`, the same in 2.5 and 3.x), less the
//! signature checks:
//!
//! 1. every element of the read set exists in the current config at the
//!    version the read set names;
//! 2. the delta set is the write set's elements that the read set does not
//!    name at the same version; it must not be empty;
//! 3. each element of the delta set has a mod_policy and is either new at
//!    version 0 or an existing element at its version + 1 (an existing
//!    element's mod_policy, evaluated against the update's signatures, is
//!    what authorises the change: [`modified_items`] lists them);
//! 4. the new config is the current one with the delta set's elements put
//!    in place, rebuilt from the root, each group's members being the ones
//!    its (possibly new) group element lists; its sequence is one more.

use std::collections::BTreeMap;

use super::map::{ConfigMap, Item, ItemKind, ItemPath};
use super::{ConfigTxError, ROOT_GROUP};
use crate::fabric::common::{Config, ConfigGroup, ConfigUpdate};

/// An existing element that an update modifies, and the policy that must
/// be satisfied for it (its current mod_policy, resolved to a full path
/// such as `/Channel/Application/Admins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedItem {
    pub path: ItemPath,
    pub mod_policy: String,
    pub policy_path: String,
}

/// The delta set of `update` against `current`, checked (steps 1 to 3).
fn delta<'u>(
    current: &ConfigMap<'_>,
    update: &'u ConfigUpdate,
) -> Result<BTreeMap<ItemPath, Item<'u>>, ConfigTxError> {
    let read = match &update.read_set {
        Some(g) => ConfigMap::of(g)?,
        None => ConfigMap::default(),
    };
    let write = match &update.write_set {
        Some(g) => ConfigMap::of(g)?,
        None => ConfigMap::default(),
    };
    for (path, item) in &read.items {
        let found = current.get(path).map(Item::version);
        if found != Some(item.version()) {
            return Err(ConfigTxError::StaleReadSet {
                key: path.to_string(),
                wanted: item.version(),
                found,
            });
        }
    }
    let delta: BTreeMap<ItemPath, Item<'u>> = write
        .items
        .into_iter()
        .filter(|(path, item)| read.get(path).is_none_or(|r| r.version() != item.version()))
        .collect();
    if delta.is_empty() {
        return Err(ConfigTxError::EmptyDelta);
    }
    for (path, item) in &delta {
        if item.mod_policy().is_empty() {
            return Err(ConfigTxError::NoModPolicy {
                key: path.to_string(),
            });
        }
        let found = current.get(path).map(Item::version);
        let ok = match found {
            Some(v) => item.version() == v + 1,
            None => item.version() == 0,
        };
        if !ok {
            return Err(ConfigTxError::BadVersion {
                key: path.to_string(),
                wanted: item.version(),
                found,
            });
        }
    }
    Ok(delta)
}

/// The policy a mod_policy names for an element at `path`: absolute when it
/// starts with `/`, else relative to the element's group (a group's own
/// mod_policy is relative to the group itself).
fn resolve_policy(path: &ItemPath, mod_policy: &str) -> String {
    if mod_policy.starts_with('/') {
        return mod_policy.to_string();
    }
    let mut out = String::new();
    for p in path.policy_base() {
        out.push('/');
        out.push_str(&p);
    }
    out.push('/');
    out.push_str(mod_policy);
    out
}

/// The existing elements `update` modifies, each with the policy its
/// signatures must satisfy, in key order. New elements need none of their
/// own: adding one modifies its parent group, which is listed.
pub fn modified_items(
    current: &Config,
    update: &ConfigUpdate,
) -> Result<Vec<ModifiedItem>, ConfigTxError> {
    let root = current
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "current" })?;
    let map = ConfigMap::of(root)?;
    let delta = delta(&map, update)?;
    Ok(delta
        .keys()
        .filter_map(|path| {
            let existing = map.get(path)?;
            Some(ModifiedItem {
                path: path.clone(),
                mod_policy: existing.mod_policy().to_string(),
                policy_path: resolve_policy(path, existing.mod_policy()),
            })
        })
        .collect())
}

/// The config the orderer makes from `current` and `update` on channel
/// `channel_id`: checked as the orderer checks it (signatures aside), with
/// the next sequence number.
pub fn apply_update(
    current: &Config,
    update: &ConfigUpdate,
    channel_id: &str,
) -> Result<Config, ConfigTxError> {
    if update.channel_id != channel_id {
        return Err(ConfigTxError::WrongChannel {
            update: update.channel_id.clone(),
            channel: channel_id.to_string(),
        });
    }
    let root = current
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "current" })?;
    let map = ConfigMap::of(root)?;
    let delta = delta(&map, update)?;
    let mut merged = map.items;
    merged.extend(delta);
    let group = rebuild(&merged, Vec::new(), ROOT_GROUP)?;
    Ok(Config {
        sequence: current.sequence + 1,
        channel_group: Some(group),
    })
}

fn lookup<'m, 'a>(
    merged: &'m BTreeMap<ItemPath, Item<'a>>,
    kind: ItemKind,
    parents: &[String],
    key: &str,
) -> Result<&'m Item<'a>, ConfigTxError> {
    let path = ItemPath {
        kind,
        parents: parents.to_vec(),
        key: key.to_string(),
    };
    merged.get(&path).ok_or_else(|| ConfigTxError::Missing {
        key: path.to_string(),
    })
}

fn rebuild(
    merged: &BTreeMap<ItemPath, Item<'_>>,
    parents: Vec<String>,
    key: &str,
) -> Result<ConfigGroup, ConfigTxError> {
    let Item::Group(listed) = lookup(merged, ItemKind::Group, &parents, key)? else {
        return Err(ConfigTxError::Missing {
            key: format!("{}{}/{key}", ItemKind::Group.prefix(), parents.join("/")),
        });
    };
    let mut here = parents;
    here.push(key.to_string());
    let mut group = ConfigGroup {
        version: listed.version,
        mod_policy: listed.mod_policy.clone(),
        ..Default::default()
    };
    for k in listed.groups.keys() {
        group
            .groups
            .insert(k.clone(), rebuild(merged, here.clone(), k)?);
    }
    for k in listed.values.keys() {
        match lookup(merged, ItemKind::Value, &here, k)? {
            Item::Value(v) => {
                group.values.insert(k.clone(), (*v).clone());
            }
            _ => {
                return Err(ConfigTxError::Missing {
                    key: format!("value {k}"),
                });
            }
        }
    }
    for k in listed.policies.keys() {
        match lookup(merged, ItemKind::Policy, &here, k)? {
            Item::Policy(p) => {
                group.policies.insert(k.clone(), (*p).clone());
            }
            _ => {
                return Err(ConfigTxError::Missing {
                    key: format!("policy {k}"),
                });
            }
        }
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::super::{compute_update, differences};
    use super::*;
    use crate::fabric::common::{ConfigPolicy, ConfigValue, Policy};

    fn leaf(bytes: &[u8]) -> ConfigValue {
        ConfigValue {
            version: 0,
            value: bytes.to_vec(),
            mod_policy: "Admins".into(),
        }
    }

    fn group() -> ConfigGroup {
        let mut g = ConfigGroup {
            mod_policy: "Admins".into(),
            ..Default::default()
        };
        g.policies.insert(
            "Admins".into(),
            ConfigPolicy {
                version: 0,
                policy: Some(Policy {
                    r#type: 3,
                    value: b"majority".to_vec(),
                }),
                mod_policy: "Admins".into(),
            },
        );
        g
    }

    fn config(orgs: &[&str], timeout: &[u8]) -> Config {
        let mut app = group();
        for o in orgs {
            let mut org = group();
            org.values.insert("MSP".into(), leaf(o.as_bytes()));
            app.groups.insert((*o).into(), org);
        }
        let mut orderer = group();
        orderer.values.insert("BatchTimeout".into(), leaf(timeout));
        let mut ch = group();
        ch.groups.insert("Application".into(), app);
        ch.groups.insert("Orderer".into(), orderer);
        Config {
            sequence: 0,
            channel_group: Some(ch),
        }
    }

    /// `apply(c, compute(c, w))` is `w`, element for element, except for
    /// versions, which are the next ones where something changed.
    #[test]
    fn applying_a_computed_update_gives_the_wanted_config() {
        let c0 = config(&["Org1", "Org2"], b"2s");
        let steps = [
            config(&["Org1", "Org2", "Org3"], b"2s"),
            config(&["Org1", "Org2", "Org3"], b"1s"),
            config(&["Org1", "Org3"], b"1s"),
        ];
        let mut current = c0;
        for (i, wanted) in steps.iter().enumerate() {
            let u = compute_update(&current, wanted, "ch").expect("update");
            let next = apply_update(&current, &u, "ch").expect("apply");
            assert_eq!(next.sequence, i as u64 + 1);
            let mut strip = next.clone();
            zero_versions(strip.channel_group.as_mut().expect("group"));
            assert_eq!(
                differences(
                    strip.channel_group.as_ref().expect("a"),
                    wanted.channel_group.as_ref().expect("b")
                )
                .expect("diff"),
                Vec::<String>::new(),
                "step {i}"
            );
            current = next;
        }
        let root = current.channel_group.as_ref().expect("root");
        // Application: +Org3, -Org2; Orderer/BatchTimeout changed once.
        assert_eq!(root.groups["Application"].version, 2);
        assert_eq!(root.groups["Orderer"].values["BatchTimeout"].version, 1);
        assert_eq!(root.groups["Orderer"].version, 0);
    }

    fn zero_versions(g: &mut ConfigGroup) {
        g.version = 0;
        g.values.values_mut().for_each(|v| v.version = 0);
        g.policies.values_mut().for_each(|p| p.version = 0);
        g.groups.values_mut().for_each(zero_versions);
    }

    #[test]
    fn modified_items_name_the_policies_to_satisfy() {
        let c = config(&["Org1"], b"2s");
        let w = config(&["Org1", "Org2"], b"1s");
        let u = compute_update(&c, &w, "ch").expect("update");
        let m = modified_items(&c, &u).expect("items");
        let got: Vec<(String, &str)> = m
            .iter()
            .map(|i| (i.path.to_string(), i.policy_path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "[Group]  /Channel/Application".to_string(),
                    "/Channel/Application/Admins"
                ),
                (
                    "[Value]  /Channel/Orderer/BatchTimeout".to_string(),
                    "/Channel/Orderer/Admins"
                ),
            ]
        );
    }

    #[test]
    fn stale_and_bad_updates_are_refused() {
        let c = config(&["Org1"], b"2s");
        let w = config(&["Org1", "Org2"], b"2s");
        let u = compute_update(&c, &w, "ch").expect("update");
        // Applied once, the same update is stale.
        let next = apply_update(&c, &u, "ch").expect("apply");
        let e = apply_update(&next, &u, "ch").expect_err("stale");
        assert!(matches!(e, ConfigTxError::StaleReadSet { .. }), "{e}");
        assert!(e.to_string().contains("/Channel/Application"), "{e}");
        // Another channel.
        assert!(matches!(
            apply_update(&c, &u, "other"),
            Err(ConfigTxError::WrongChannel { .. })
        ));
        // A version that skips one.
        let mut skip = u.clone();
        if let Some(app) = skip
            .write_set
            .as_mut()
            .and_then(|w| w.groups.get_mut("Application"))
        {
            app.version = 5;
        }
        assert!(matches!(
            apply_update(&c, &skip, "ch"),
            Err(ConfigTxError::BadVersion {
                wanted: 5,
                found: Some(0),
                ..
            })
        ));
        // Nothing written.
        let mut empty = u;
        empty.write_set = empty.read_set.clone();
        assert!(matches!(
            apply_update(&c, &empty, "ch"),
            Err(ConfigTxError::EmptyDelta)
        ));
    }
}
