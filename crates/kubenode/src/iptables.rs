//! The node's packet-filter rules: which rules and chains are this node's
//! (pure, over `iptables-save` text and the record of what existed before
//! the node started), the firewall that keeps the node's address to its
//! bridge and loopback, and their removal.
//!
//! kube-proxy and the kubelet name their chains `KUBE-*` on every host, and
//! CNI's portmap shares `CNI-HOSTPORT-*` between every CNI network, so a
//! name alone does not say whose a chain is. At start (after a killed run's
//! leftovers are gone) the node refuses a host with IPv4 `KUBE-*` chains
//! (IPv6 ones alone are not another node's sign: the node, IPv4 only,
//! leaves its kube-proxy's IPv6 chains to what was there, and nodes before
//! this check left theirs behind), then records every chain that exists
//! ([`RECORD`]); at teardown a `KUBE-*` / `CNI-*` chain is ours only when
//! that record did not have it. Rules in
//! chains not ours are ours when they name the bridge, carry the
//! `fabdev-kubenode` comment (ours, and portmap's `name: "fabdev-kubenode"`)
//! or jump to a chain of ours. Without a record (after teardown, or an
//! older node's leftovers) only the tagged rules and chains are ours.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::run;
use crate::{BRIDGE, NODE_IP, NodeError, POD_CIDR, io};

/// The file under the node's folder that lists the chains that existed
/// before the node started (`<family> <table> <chain>` lines).
pub(crate) const RECORD: &str = "iptables-before";
/// The comment on every rule the node adds itself, and the word CNI's
/// portmap puts in its rules' comments for the node's network.
pub(crate) const TAG: &str = "fabdev-kubenode";
/// The node's own chain: traffic to [`NODE_IP`] from anywhere but the
/// bridge or loopback is dropped.
pub(crate) const FIREWALL_CHAIN: &str = "FABDEV-KUBENODE-INPUT";
/// The IP families, by their command.
pub(crate) const FAMILIES: &[&str] = &["iptables", "ip6tables"];

/// One table of an `iptables-save` dump: its chains and its rules (the
/// words of each `-A` line, quoted comments as one word).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) chains: Vec<String>,
    pub(crate) rules: Vec<Vec<String>>,
}

/// The tables of an `iptables-save` dump.
pub(crate) fn parse_save(text: &str) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            tables.push(Table {
                name: name.trim().to_string(),
                ..Table::default()
            });
            continue;
        }
        let Some(table) = tables.last_mut() else {
            continue;
        };
        if let Some(chain) = line.strip_prefix(':') {
            if let Some(name) = chain.split_whitespace().next() {
                table.chains.push(name.to_string());
            }
        } else if line.starts_with("-A ") {
            table.rules.push(rule_words(line));
        }
    }
    tables
}

/// The chains of a dump as `(table, chain)`, for the record.
pub(crate) fn chains_of(text: &str) -> BTreeSet<(String, String)> {
    parse_save(text)
        .into_iter()
        .flat_map(|t| {
            let name = t.name;
            t.chains.into_iter().map(move |c| (name.clone(), c))
        })
        .collect()
}

/// The record's text for each family's dump (`family`, its save text).
pub(crate) fn record_text(dumps: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (family, text) in dumps {
        for (table, chain) in chains_of(text) {
            out.push_str(&format!("{family} {table} {chain}\n"));
        }
    }
    out
}

/// The chains of one family in a record's text.
pub(crate) fn record_for(record: &str, family: &str) -> BTreeSet<(String, String)> {
    record
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == family).then(|| Some((w.next()?.to_string(), w.next()?.to_string())))?
        })
        .collect()
}

fn shared_prefix(chain: &str) -> bool {
    chain.starts_with("KUBE-") || chain.starts_with("CNI-")
}

fn tagged(rule: &[String]) -> bool {
    rule.iter().any(|w| w == BRIDGE || w.contains(TAG))
}

fn target(rule: &[String]) -> Option<&str> {
    rule.windows(2)
        .find(|w| w[0] == "-j" || w[0] == "-g")
        .map(|w| w[1].as_str())
}

/// The chains of `table` that are this node's. `before` is the record
/// (None: no record, only tagged chains).
pub(crate) fn our_chains(
    table: &Table,
    before: Option<&BTreeSet<(String, String)>>,
) -> BTreeSet<String> {
    let mut ours: BTreeSet<String> = table
        .chains
        .iter()
        .filter(|c| {
            c.starts_with(FIREWALL_CHAIN)
                || before.is_some_and(|b| {
                    shared_prefix(c) && !b.contains(&(table.name.clone(), c.to_string()))
                })
        })
        .cloned()
        .collect();
    // Chains only our tagged rules jump to (portmap's per-pod CNI-DN-*).
    for rule in table.rules.iter().filter(|r| tagged(r)) {
        if let Some(t) = target(rule)
            && t.starts_with("CNI-DN-")
            && table.chains.iter().any(|c| c == t)
        {
            ours.insert(t.to_string());
        }
    }
    ours
}

/// The `iptables` arguments that remove this node's rules and chains from
/// one family's dump, in order: our rules in chains not ours, then our
/// chains flushed, then deleted.
pub(crate) fn removals(
    save: &str,
    before: Option<&BTreeSet<(String, String)>>,
) -> Vec<Vec<String>> {
    let mut deletes = Vec::new();
    let mut flushes = Vec::new();
    let mut drops = Vec::new();
    for table in parse_save(save) {
        let ours = our_chains(&table, before);
        for rule in &table.rules {
            let Some(chain) = rule.get(1) else { continue };
            if ours.contains(chain) {
                continue;
            }
            if tagged(rule) || target(rule).is_some_and(|t| ours.contains(t)) {
                let mut args = vec!["-t".to_string(), table.name.clone(), "-D".to_string()];
                args.extend(rule[1..].iter().cloned());
                deletes.push(args);
            }
        }
        for chain in ours {
            flushes.push(vec![
                "-t".into(),
                table.name.clone(),
                "-F".into(),
                chain.clone(),
            ]);
            drops.push(vec!["-t".into(), table.name.clone(), "-X".into(), chain]);
        }
    }
    deletes.into_iter().chain(flushes).chain(drops).collect()
}

/// Chains and rules of this node in one family's dump, one description each
/// (for [`crate::leftovers`]).
pub(crate) fn described(
    family: &str,
    save: &str,
    before: Option<&BTreeSet<(String, String)>>,
) -> Vec<String> {
    removals(save, before)
        .into_iter()
        .filter(|args| args.get(2).is_some_and(|a| a == "-D" || a == "-X"))
        .map(|args| format!("{family} {}", args.join(" ")))
        .collect()
}

/// `KUBE-*` chains in a dump: another kubelet or kube-proxy's (the node
/// refuses to start beside IPv4 ones), as `table chain`.
pub(crate) fn foreign_kube_chains(save: &str) -> Vec<String> {
    parse_save(save)
        .into_iter()
        .flat_map(|t| {
            let name = t.name;
            t.chains
                .into_iter()
                .filter(|c| c.starts_with("KUBE-"))
                .map(move |c| format!("{name} {c}"))
        })
        .collect()
}

/// The firewall's `iptables` commands (filter table): the node's chain
/// returns for the bridge and loopback and drops the rest; INPUT sends
/// traffic for [`NODE_IP`] through it, and mangle's FORWARD drops traffic
/// for the pods that does not come from the bridge. Every rule carries
/// [`TAG`].
///
/// That drop is in mangle, which the kernel runs before filter: kube-router
/// keeps its jump first in filter's FORWARD and ACCEPTs there every packet
/// for a pod that no policy refuses (its mark 0x20000), wherever the packet
/// came from, so a filter rule after it would no longer keep neighbours
/// that route the pod range through this host away from the pods.
pub(crate) fn firewall_rules() -> Vec<Vec<String>> {
    let comment = |text: &str| {
        vec![
            "-m".to_string(),
            "comment".into(),
            "--comment".into(),
            format!("{TAG}: {text}"),
        ]
    };
    let rule = |head: &[&str], text: &str, tail: &[&str]| {
        let mut r: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        r.extend(comment(text));
        r.extend(tail.iter().map(|s| s.to_string()));
        r
    };
    let node = format!("{NODE_IP}/32");
    vec![
        vec!["-N".into(), FIREWALL_CHAIN.into()],
        rule(
            &["-A", FIREWALL_CHAIN, "-i", "lo"],
            "this host",
            &["-j", "RETURN"],
        ),
        rule(
            &["-A", FIREWALL_CHAIN, "-i", BRIDGE],
            "the node's pods",
            &["-j", "RETURN"],
        ),
        rule(
            &["-A", FIREWALL_CHAIN],
            "nobody else reaches the node address",
            &["-j", "DROP"],
        ),
        rule(
            &["-I", "INPUT", "-d", &node],
            "the node address",
            &["-j", FIREWALL_CHAIN],
        ),
        rule(
            &[
                "-t", "mangle", "-I", "FORWARD", "-d", POD_CIDR, "!", "-i", BRIDGE,
            ],
            "pods only from the bridge",
            &["-j", "DROP"],
        ),
        // The host's dockerd sets FORWARD's policy to DROP: pods (and
        // Services DNAT'ed to pods) forward bridge to bridge.
        rule(
            &["-I", "FORWARD", "-i", BRIDGE, "-o", BRIDGE],
            "pod to pod",
            &["-j", "ACCEPT"],
        ),
    ]
}

/// One family's `iptables-save` text (empty when the family's tool fails:
/// no IPv6 on the host).
pub(crate) fn save(family: &str) -> String {
    let mut cmd = Command::new(format!("{family}-save"));
    run(&mut cmd, Duration::from_secs(20)).unwrap_or_default()
}

/// Write the record of the chains that exist now (before the node makes
/// any).
pub(crate) fn write_record(base: &Path) -> Result<(), NodeError> {
    let dumps: Vec<(&str, String)> = FAMILIES.iter().map(|f| (*f, save(f))).collect();
    let path = base.join(RECORD);
    std::fs::write(&path, record_text(&dumps)).map_err(io(format!("write {}", path.display())))
}

/// The record under `base`: the node's, or, when the folder exists without
/// one (an older node's killed run, which kept no record), an empty one
/// (every `KUBE-*` / `CNI-*` chain is then that node's, as that node
/// itself assumed); `None` without the folder.
pub(crate) fn read_record(base: &Path) -> Option<String> {
    match std::fs::read_to_string(base.join(RECORD)) {
        Ok(text) => Some(text),
        Err(_) => base.is_dir().then(String::new),
    }
}

/// Add the firewall.
pub(crate) fn add_firewall() -> Result<(), NodeError> {
    for args in firewall_rules() {
        let mut cmd = Command::new("iptables");
        cmd.args(&args);
        run(&mut cmd, Duration::from_secs(10))?;
    }
    Ok(())
}

/// Remove this node's rules and chains in both families; the problems met.
pub(crate) fn remove(record: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for family in FAMILIES {
        let before = record.map(|r| record_for(r, family));
        for args in removals(&save(family), before.as_ref()) {
            let mut cmd = Command::new(family);
            cmd.args(&args);
            let flush = args.get(2).is_some_and(|a| a == "-F");
            if let Err(e) = run(&mut cmd, Duration::from_secs(10))
                && !flush
            {
                problems.push(e.to_string());
            }
        }
    }
    problems
}

/// The words of an `iptables -S` line, double-quoted words (comments) as one.
pub(crate) fn rule_words(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
#[path = "iptables_tests.rs"]
mod tests;
