//! The config update between two configs, as `configtxlator compute_update`
//! computes it (Fabric `internal/configtxlator/update`, the same in 2.5 and
//! 3.x). The rules, per config group, comparing the current group with the
//! wanted one:
//!
//! - A value is unchanged when its mod_policy and its bytes are equal; a
//!   policy when its mod_policy and its `Policy` message are equal. A
//!   subgroup is unchanged when nothing below it changed (recursively).
//! - A changed element goes into the write set at its current version + 1
//!   with the wanted mod_policy and content; a new one at version 0; a
//!   changed subgroup also goes into the read set (as the read set computed
//!   for it). Values and policies never go into the read set by themselves.
//! - When the group's membership changed (an element added or removed in
//!   any of its three maps) or its own mod_policy changed, the group itself
//!   is rewritten: every unchanged element is listed in both sets as a
//!   placeholder carrying only its version (a group: its read set), the
//!   read set carries the group's version, the write set the version + 1
//!   and the wanted mod_policy. Otherwise both sets carry the group's
//!   current version and no mod_policy, and only the changes.
//! - A new subgroup is written whole, at version 0 with its mod_policy,
//!   its contents as if added to an empty group.
//!
//! Versions in the wanted config play no part: only the current config's
//! versions are read, so the wanted config may be built from scratch (all
//! versions 0), as fabdev builds it from fabdev.yaml.

use std::collections::BTreeMap;

use super::ConfigTxError;
use crate::fabric::common::{Config, ConfigGroup, ConfigPolicy, ConfigUpdate, ConfigValue};

/// The update that turns `current` into `wanted` on `channel_id`.
///
/// Fails when either config has no channel group, or when they do not
/// differ (`configtxlator` fails then too: an empty update would be
/// refused by the orderer).
pub fn compute_update(
    current: &Config,
    wanted: &Config,
    channel_id: &str,
) -> Result<ConfigUpdate, ConfigTxError> {
    let current = current
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "current" })?;
    let wanted = wanted
        .channel_group
        .as_ref()
        .ok_or(ConfigTxError::NoChannelGroup { which: "wanted" })?;
    let sets = group_sets(current, wanted);
    if !sets.changed {
        return Err(ConfigTxError::NoDifferences);
    }
    Ok(ConfigUpdate {
        channel_id: channel_id.to_string(),
        read_set: Some(sets.read),
        write_set: Some(sets.write),
        isolated_data: BTreeMap::new(),
    })
}

/// A group's read and write sets, and whether anything in it changed.
struct GroupSets {
    read: ConfigGroup,
    write: ConfigGroup,
    changed: bool,
}

/// One of a group's three maps, compared: what goes into the read and
/// write sets, the unchanged entries' placeholders (used only when the
/// group is rewritten) and whether an entry was added or removed.
struct MapSets<T> {
    read: BTreeMap<String, T>,
    write: BTreeMap<String, T>,
    unchanged: BTreeMap<String, T>,
    membership_changed: bool,
}

impl<T> MapSets<T> {
    fn has_changes(&self) -> bool {
        !self.read.is_empty() || !self.write.is_empty()
    }

    /// The unchanged entries' placeholders, listed in both sets.
    fn with_unchanged(mut self) -> (BTreeMap<String, T>, BTreeMap<String, T>)
    where
        T: Clone,
    {
        for (k, v) in self.unchanged {
            self.read.insert(k.clone(), v.clone());
            self.write.insert(k, v);
        }
        (self.read, self.write)
    }
}

/// A value or a policy: compared as a whole, written as a whole.
trait Leaf: Sized {
    fn version(&self) -> u64;
    fn mod_policy(&self) -> &str;
    /// Whether the content (not the version, not the mod_policy) is equal.
    fn same_content(&self, other: &Self) -> bool;
    /// `other`'s mod_policy and content at `version`.
    fn written(other: &Self, version: u64) -> Self;
    /// Only a version.
    fn placeholder(version: u64) -> Self;
}

impl Leaf for ConfigValue {
    fn version(&self) -> u64 {
        self.version
    }
    fn mod_policy(&self) -> &str {
        &self.mod_policy
    }
    fn same_content(&self, other: &Self) -> bool {
        self.value == other.value
    }
    fn written(other: &Self, version: u64) -> Self {
        ConfigValue {
            version,
            value: other.value.clone(),
            mod_policy: other.mod_policy.clone(),
        }
    }
    fn placeholder(version: u64) -> Self {
        ConfigValue {
            version,
            ..Default::default()
        }
    }
}

impl Leaf for ConfigPolicy {
    fn version(&self) -> u64 {
        self.version
    }
    fn mod_policy(&self) -> &str {
        &self.mod_policy
    }
    /// `proto.Equal` of the `Policy` messages: absent equals only absent.
    fn same_content(&self, other: &Self) -> bool {
        self.policy == other.policy
    }
    fn written(other: &Self, version: u64) -> Self {
        ConfigPolicy {
            version,
            policy: other.policy.clone(),
            mod_policy: other.mod_policy.clone(),
        }
    }
    fn placeholder(version: u64) -> Self {
        ConfigPolicy {
            version,
            ..Default::default()
        }
    }
}

fn leaf_sets<T: Leaf>(current: &BTreeMap<String, T>, wanted: &BTreeMap<String, T>) -> MapSets<T> {
    let mut sets = MapSets {
        read: BTreeMap::new(),
        write: BTreeMap::new(),
        unchanged: BTreeMap::new(),
        membership_changed: current.keys().any(|k| !wanted.contains_key(k)),
    };
    for (key, want) in wanted {
        match current.get(key) {
            None => {
                sets.membership_changed = true;
                sets.write.insert(key.clone(), T::written(want, 0));
            }
            Some(have) if have.mod_policy() == want.mod_policy() && have.same_content(want) => {
                sets.unchanged
                    .insert(key.clone(), T::placeholder(have.version()));
            }
            Some(have) => {
                sets.write
                    .insert(key.clone(), T::written(want, have.version() + 1));
            }
        }
    }
    sets
}

fn subgroup_sets(
    current: &BTreeMap<String, ConfigGroup>,
    wanted: &BTreeMap<String, ConfigGroup>,
) -> MapSets<ConfigGroup> {
    let mut sets = MapSets {
        read: BTreeMap::new(),
        write: BTreeMap::new(),
        unchanged: BTreeMap::new(),
        membership_changed: current.keys().any(|k| !wanted.contains_key(k)),
    };
    for (key, want) in wanted {
        match current.get(key) {
            None => {
                sets.membership_changed = true;
                let whole = group_sets(&ConfigGroup::default(), want).write;
                sets.write.insert(
                    key.clone(),
                    ConfigGroup {
                        version: 0,
                        mod_policy: want.mod_policy.clone(),
                        ..whole
                    },
                );
            }
            Some(have) => {
                let sub = group_sets(have, want);
                if sub.changed {
                    sets.read.insert(key.clone(), sub.read);
                    sets.write.insert(key.clone(), sub.write);
                } else {
                    sets.unchanged.insert(key.clone(), sub.read);
                }
            }
        }
    }
    sets
}

fn group_sets(current: &ConfigGroup, wanted: &ConfigGroup) -> GroupSets {
    let values = leaf_sets(&current.values, &wanted.values);
    let policies = leaf_sets(&current.policies, &wanted.policies);
    let groups = subgroup_sets(&current.groups, &wanted.groups);
    let rewritten = values.membership_changed
        || policies.membership_changed
        || groups.membership_changed
        || current.mod_policy != wanted.mod_policy;

    if !rewritten {
        let changed = values.has_changes() || policies.has_changes() || groups.has_changes();
        let only_version = || ConfigGroup {
            version: current.version,
            ..Default::default()
        };
        if !changed {
            return GroupSets {
                read: only_version(),
                write: only_version(),
                changed: false,
            };
        }
        return GroupSets {
            read: ConfigGroup {
                version: current.version,
                groups: groups.read,
                values: values.read,
                policies: policies.read,
                mod_policy: String::new(),
            },
            write: ConfigGroup {
                version: current.version,
                groups: groups.write,
                values: values.write,
                policies: policies.write,
                mod_policy: String::new(),
            },
            changed: true,
        };
    }

    let (read_values, write_values) = values.with_unchanged();
    let (read_policies, write_policies) = policies.with_unchanged();
    let (read_groups, write_groups) = groups.with_unchanged();
    GroupSets {
        read: ConfigGroup {
            version: current.version,
            groups: read_groups,
            values: read_values,
            policies: read_policies,
            mod_policy: String::new(),
        },
        write: ConfigGroup {
            version: current.version + 1,
            groups: write_groups,
            values: write_values,
            policies: write_policies,
            mod_policy: wanted.mod_policy.clone(),
        },
        changed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::common::Policy;

    fn value(version: u64, bytes: &[u8]) -> ConfigValue {
        ConfigValue {
            version,
            value: bytes.to_vec(),
            mod_policy: "Admins".into(),
        }
    }

    fn policy(version: u64, bytes: &[u8]) -> ConfigPolicy {
        ConfigPolicy {
            version,
            policy: Some(Policy {
                r#type: 1,
                value: bytes.to_vec(),
            }),
            mod_policy: "Admins".into(),
        }
    }

    fn group(version: u64) -> ConfigGroup {
        ConfigGroup {
            version,
            mod_policy: "Admins".into(),
            ..Default::default()
        }
    }

    /// Channel{Orderer{BatchTimeout}, Application{Org1{MSP}, Admins}, Admins}
    /// with some versions raised, as a channel that was updated before.
    fn channel() -> Config {
        let mut orderer = group(0);
        orderer
            .values
            .insert("BatchTimeout".into(), value(2, b"2s"));
        orderer.values.insert("BatchSize".into(), value(0, b"10"));
        let mut org1 = group(0);
        org1.values.insert("MSP".into(), value(0, b"org1"));
        org1.policies
            .insert("Admins".into(), policy(0, b"org1 admin"));
        let mut app = group(1);
        app.groups.insert("Org1".into(), org1);
        app.policies.insert("Admins".into(), policy(0, b"majority"));
        let mut ch = group(0);
        ch.groups.insert("Orderer".into(), orderer);
        ch.groups.insert("Application".into(), app);
        ch.policies.insert("Admins".into(), policy(0, b"majority"));
        Config {
            sequence: 3,
            channel_group: Some(ch),
        }
    }

    fn root(c: &mut Config) -> &mut ConfigGroup {
        c.channel_group.as_mut().expect("channel group")
    }

    #[test]
    fn a_changed_value_is_written_at_the_next_version_and_groups_keep_theirs() {
        let current = channel();
        let mut wanted = channel();
        // Versions of the wanted config do not matter.
        root(&mut wanted).version = 9;
        root(&mut wanted)
            .groups
            .get_mut("Orderer")
            .expect("orderer")
            .values
            .insert("BatchTimeout".into(), value(0, b"1s"));
        let u = compute_update(&current, &wanted, "ch").expect("update");
        assert_eq!(u.channel_id, "ch");
        let mut orderer_w = ConfigGroup::default();
        orderer_w.values.insert(
            "BatchTimeout".into(),
            ConfigValue {
                version: 3,
                value: b"1s".to_vec(),
                mod_policy: "Admins".into(),
            },
        );
        let mut write = ConfigGroup::default();
        write.groups.insert("Orderer".into(), orderer_w);
        let mut read = ConfigGroup::default();
        read.groups.insert("Orderer".into(), ConfigGroup::default());
        assert_eq!(u.write_set, Some(write));
        assert_eq!(u.read_set, Some(read));
    }

    #[test]
    fn a_new_org_rewrites_its_parent_with_placeholders() {
        let current = channel();
        let mut wanted = channel();
        let mut org2 = group(5);
        org2.values.insert("MSP".into(), value(7, b"org2"));
        org2.groups.insert("Sub".into(), group(3));
        root(&mut wanted)
            .groups
            .get_mut("Application")
            .expect("app")
            .groups
            .insert("Org2".into(), org2);
        let u = compute_update(&current, &wanted, "ch").expect("update");
        let write = u.write_set.expect("write set");
        let app = &write.groups["Application"];
        assert_eq!(app.version, 2);
        assert_eq!(app.mod_policy, "Admins");
        // Unchanged members as version-only placeholders.
        assert_eq!(app.groups["Org1"], ConfigGroup::default());
        assert_eq!(app.policies["Admins"], ConfigPolicy::default());
        // The new group whole, at version 0.
        let org2 = &app.groups["Org2"];
        assert_eq!(org2.version, 0);
        assert_eq!(org2.values["MSP"], value(0, b"org2"));
        assert_eq!(org2.groups["Sub"], group(0));
        // The root is unchanged in membership: version only, no mod_policy.
        assert_eq!(write.version, 0);
        assert_eq!(write.mod_policy, "");
        assert!(!write.groups.contains_key("Orderer"));
        let read = u.read_set.expect("read set");
        let app_r = &read.groups["Application"];
        assert_eq!(app_r.version, 1);
        assert_eq!(app_r.mod_policy, "");
        assert!(!app_r.groups.contains_key("Org2"));
        assert_eq!(app_r.groups["Org1"], ConfigGroup::default());
    }

    #[test]
    fn a_removed_value_rewrites_the_group() {
        let current = channel();
        let mut wanted = channel();
        root(&mut wanted)
            .groups
            .get_mut("Orderer")
            .expect("orderer")
            .values
            .remove("BatchSize");
        let u = compute_update(&current, &wanted, "ch").expect("update");
        let orderer = &u.write_set.expect("write").groups["Orderer"];
        assert_eq!(orderer.version, 1);
        assert_eq!(orderer.values.len(), 1);
        assert_eq!(orderer.values["BatchTimeout"], ConfigValue::placeholder(2));
    }

    #[test]
    fn a_mod_policy_change_counts_as_a_change() {
        let current = channel();
        let mut wanted = channel();
        root(&mut wanted)
            .policies
            .get_mut("Admins")
            .expect("admins")
            .mod_policy = "Writers".into();
        let u = compute_update(&current, &wanted, "ch").expect("update");
        let w = u.write_set.expect("write");
        assert_eq!(w.policies["Admins"].version, 1);
        assert_eq!(w.policies["Admins"].mod_policy, "Writers");
        // And the group's own mod_policy rewrites the group.
        let mut wanted = channel();
        root(&mut wanted).mod_policy = "Writers".into();
        let w = compute_update(&current, &wanted, "ch")
            .expect("update")
            .write_set
            .expect("write");
        assert_eq!((w.version, w.mod_policy.as_str()), (1, "Writers"));
        assert_eq!(w.groups.len(), 2);
    }

    #[test]
    fn equal_configs_have_no_update() {
        assert!(matches!(
            compute_update(&channel(), &channel(), "ch"),
            Err(ConfigTxError::NoDifferences)
        ));
        assert!(matches!(
            compute_update(&Config::default(), &channel(), "ch"),
            Err(ConfigTxError::NoChannelGroup { which: "current" })
        ));
    }
}
