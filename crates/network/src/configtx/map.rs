//! A config tree as a flat map, keyed the way Fabric's `common/configtx`
//! keys it (`[Group]  /Channel/Application/Org1`, `[Value]  /Channel/Orderer/
//! BatchTimeout`, `[Policy] /Channel/Application/Admins`), so that updates
//! can be checked and applied element by element and differences named.

use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigTxError, ROOT_GROUP};
use crate::fabric::common::{ConfigGroup, ConfigPolicy, ConfigValue};

/// Which of a group's maps an element is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    Group,
    Value,
    Policy,
}

impl ItemKind {
    /// Fabric's key prefix (`configmap.go`), padded to one width.
    pub fn prefix(self) -> &'static str {
        match self {
            ItemKind::Group => "[Group]  ",
            ItemKind::Value => "[Value]  ",
            ItemKind::Policy => "[Policy] ",
        }
    }
}

/// One element of a config tree: where it is and what it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    Group(&'a ConfigGroup),
    Value(&'a ConfigValue),
    Policy(&'a ConfigPolicy),
}

impl Item<'_> {
    pub fn kind(&self) -> ItemKind {
        match self {
            Item::Group(_) => ItemKind::Group,
            Item::Value(_) => ItemKind::Value,
            Item::Policy(_) => ItemKind::Policy,
        }
    }

    pub fn version(&self) -> u64 {
        match self {
            Item::Group(g) => g.version,
            Item::Value(v) => v.version,
            Item::Policy(p) => p.version,
        }
    }

    pub fn mod_policy(&self) -> &str {
        match self {
            Item::Group(g) => &g.mod_policy,
            Item::Value(v) => &v.mod_policy,
            Item::Policy(p) => &p.mod_policy,
        }
    }

    /// Equal as Fabric's `configtx` compares elements: version, mod_policy,
    /// and for a group the set of its members' names (not their contents),
    /// for a value its bytes, for a policy its message.
    pub fn same_as(&self, other: &Item<'_>) -> bool {
        if self.version() != other.version() || self.mod_policy() != other.mod_policy() {
            return false;
        }
        match (self, other) {
            (Item::Group(a), Item::Group(b)) => {
                a.groups.keys().eq(b.groups.keys())
                    && a.values.keys().eq(b.values.keys())
                    && a.policies.keys().eq(b.policies.keys())
            }
            (Item::Value(a), Item::Value(b)) => a.value == b.value,
            (Item::Policy(a), Item::Policy(b)) => a.policy == b.policy,
            _ => false,
        }
    }
}

/// Where an element is: the path of its group (`["Channel", "Orderer"]`)
/// and its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemPath {
    pub kind: ItemKind,
    /// The groups above it, from the root (empty for the root group).
    pub parents: Vec<String>,
    pub key: String,
}

impl ItemPath {
    /// `/Channel/Application/Org1`.
    pub fn slash_path(&self) -> String {
        let mut s = String::new();
        for p in &self.parents {
            s.push('/');
            s.push_str(p);
        }
        s.push('/');
        s.push_str(&self.key);
        s
    }

    /// The group the element's mod_policy is relative to: the element
    /// itself for a group, its parent for a value or policy
    /// (`configtx.policyForItem`).
    pub fn policy_base(&self) -> Vec<String> {
        match self.kind {
            ItemKind::Group => {
                let mut p = self.parents.clone();
                p.push(self.key.clone());
                p
            }
            _ => self.parents.clone(),
        }
    }
}

impl fmt::Display for ItemPath {
    /// Fabric's own key, as its error messages print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind.prefix(), self.slash_path())
    }
}

/// Every element of a config tree by its path.
#[derive(Debug, Clone, Default)]
pub struct ConfigMap<'a> {
    pub items: BTreeMap<ItemPath, Item<'a>>,
}

/// Fabric's rule for config keys (`configtx.validateConfigID`): 1 to 249
/// characters of `[a-zA-Z0-9.-]` (no `_`), not `.` or `..`.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty".to_string());
    }
    if key.len() > 249 {
        return Err(format!("{} characters long, at most 249", key.len()));
    }
    if key == "." || key == ".." {
        return Err(format!("{key:?} is not allowed"));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
    {
        return Err(format!("character {c:?} is not allowed"));
    }
    Ok(())
}

impl<'a> ConfigMap<'a> {
    /// The elements of a channel group (Fabric's `mapConfig` under
    /// `Channel`).
    pub fn of(channel_group: &'a ConfigGroup) -> Result<ConfigMap<'a>, ConfigTxError> {
        let mut map = ConfigMap::default();
        map.add_group(Vec::new(), ROOT_GROUP, channel_group)?;
        Ok(map)
    }

    fn insert(
        &mut self,
        kind: ItemKind,
        parents: &[String],
        key: &str,
        item: Item<'a>,
    ) -> Result<(), ConfigTxError> {
        check_key(key).map_err(|problem| ConfigTxError::BadKey {
            path: format!("/{}", parents.join("/")),
            key: key.to_string(),
            problem,
        })?;
        self.items.insert(
            ItemPath {
                kind,
                parents: parents.to_vec(),
                key: key.to_string(),
            },
            item,
        );
        Ok(())
    }

    fn add_group(
        &mut self,
        parents: Vec<String>,
        key: &str,
        group: &'a ConfigGroup,
    ) -> Result<(), ConfigTxError> {
        self.insert(ItemKind::Group, &parents, key, Item::Group(group))?;
        let mut here = parents;
        here.push(key.to_string());
        for (k, g) in &group.groups {
            self.add_group(here.clone(), k, g)?;
        }
        for (k, v) in &group.values {
            self.insert(ItemKind::Value, &here, k, Item::Value(v))?;
        }
        for (k, p) in &group.policies {
            self.insert(ItemKind::Policy, &here, k, Item::Policy(p))?;
        }
        Ok(())
    }

    pub fn get(&self, path: &ItemPath) -> Option<&Item<'a>> {
        self.items.get(path)
    }
}

/// Every element that differs between two channel groups, by its Fabric
/// key: added (`+`), removed (`-`) or changed (`~`, with the versions),
/// in key order. Empty when the trees are equal element by element.
pub fn differences(a: &ConfigGroup, b: &ConfigGroup) -> Result<Vec<String>, ConfigTxError> {
    let (ma, mb) = (ConfigMap::of(a)?, ConfigMap::of(b)?);
    let mut out = BTreeMap::new();
    for (path, x) in &ma.items {
        match mb.get(path) {
            None => {
                out.insert(path, format!("- {path}"));
            }
            Some(y) if !x.same_as(y) => {
                out.insert(
                    path,
                    format!(
                        "~ {path} (version {} {}, mod_policy {:?} {:?})",
                        x.version(),
                        y.version(),
                        x.mod_policy(),
                        y.mod_policy()
                    ),
                );
            }
            Some(_) => {}
        }
    }
    for path in mb.items.keys() {
        if !ma.items.contains_key(path) {
            out.insert(path, format!("+ {path}"));
        }
    }
    Ok(out.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_fabric_prints_them() {
        let mut org = ConfigGroup::default();
        org.values.insert("MSP".into(), ConfigValue::default());
        let mut app = ConfigGroup::default();
        app.groups.insert("Org1".into(), org);
        app.policies
            .insert("Admins".into(), ConfigPolicy::default());
        let mut ch = ConfigGroup::default();
        ch.groups.insert("Application".into(), app);
        let m = ConfigMap::of(&ch).expect("map");
        let keys: Vec<String> = m.items.keys().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "[Group]  /Channel",
                "[Group]  /Channel/Application",
                "[Group]  /Channel/Application/Org1",
                "[Value]  /Channel/Application/Org1/MSP",
                "[Policy] /Channel/Application/Admins",
            ]
        );
    }

    #[test]
    fn bad_keys_are_named() {
        let mut ch = ConfigGroup::default();
        ch.groups.insert("Org 1".into(), ConfigGroup::default());
        let e = ConfigMap::of(&ch).expect_err("space");
        assert!(e.to_string().contains("\"Org 1\""), "{e}");
    }

    #[test]
    fn differences_list_added_removed_and_changed() {
        let mut a = ConfigGroup::default();
        a.values.insert("X".into(), ConfigValue::default());
        a.values.insert("Y".into(), ConfigValue::default());
        let mut b = a.clone();
        b.values.remove("X");
        b.values.get_mut("Y").expect("Y").version = 1;
        b.policies.insert("P".into(), ConfigPolicy::default());
        let d = differences(&a, &b).expect("diff");
        assert_eq!(
            d,
            [
                "~ [Group]  /Channel (version 0 0, mod_policy \"\" \"\")",
                "- [Value]  /Channel/X",
                "~ [Value]  /Channel/Y (version 0 1, mod_policy \"\" \"\")",
                "+ [Policy] /Channel/P",
            ]
        );
    }
}
