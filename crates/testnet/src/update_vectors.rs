//! Recorded config-update vectors (`fixtures/fabric-vectors/config-update/`):
//! for a chain of channel changes (an org added, the batch timeout and the
//! batch size changed, anchor peers changed, a consenter added and
//! removed, an org removed), the channel's config before and after each
//! change as fabdev builds them from fabdev.yaml and committed test crypto,
//! and the `ConfigUpdate` real `configtxlator compute_update` computed from
//! the two (`scripts/record/config-update-vectors.sh`). CI, with no Fabric
//! binaries, rebuilds the configs and checks that
//! `network::configtx::compute_update` gives exactly the recorded update.
//!
//! The chain starts from the genesis config; each next "before" config is
//! the previous one with its update applied as the orderer applies it
//! (`network::configtx::apply_update`), so versions above 0 are exercised.
//! The "after" configs are built from the changed workspace with every
//! version 0, as fabdev builds the wanted config.

use std::path::{Path, PathBuf};

use network::configtx::{self, apply_update, compute_update};
use network::fabric::{self, Message as _, common, peer};
use network::genesis::{CryptoView, GenesisOptions};
use network::pki::CryptoDir;
use network::{Topology, Workspace};

/// The folder under `fixtures/fabric-vectors`.
pub const CONFIG_UPDATE: &str = "config-update";
/// The channel every case changes.
pub const CHANNEL: &str = "mychannel";

/// One recorded change.
#[derive(Debug, Clone)]
pub struct Case {
    /// `01-add-org`: the order in the chain and what changes.
    pub name: String,
    pub channel: String,
    pub original: common::Config,
    pub updated: common::Config,
}

impl Case {
    /// fabdev's update for the case.
    pub fn update(&self) -> Result<common::ConfigUpdate, String> {
        compute_update(&self.original, &self.updated, &self.channel).map_err(|e| e.to_string())
    }

    /// A file of the case in `dir`: `<name>.<suffix>`.
    pub fn file(&self, dir: &Path, suffix: &str) -> PathBuf {
        dir.join(format!("{}.{suffix}", self.name))
    }
}

/// The workspace of the vectors (`DIR/fabdev.yaml`): the largest network
/// of the chain (the committed crypto is made for it), for a Fabric
/// version.
pub fn workspace(dir: &Path, version: &str) -> Result<Workspace, String> {
    let path = dir.join("fabdev.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .replace("version: \"2.5\"", &format!("version: \"{version}\""));
    Workspace::parse(&text, &path, dir).map_err(|e| e.to_string())
}

/// The committed crypto (certificates only).
pub fn crypto_dir(dir: &Path) -> CryptoDir {
    CryptoDir::new(dir.join("crypto"))
}

/// The files of the crypto folder the vectors read (relative): what a
/// genesis block reads.
pub fn inputs(ws: &Workspace, topo: &Topology) -> Vec<PathBuf> {
    crate::vectors::genesis_inputs(ws, topo)
}

/// The channel's config for a workspace, as fabdev's genesis block holds
/// it (every version 0).
fn config_of(
    ws: &Workspace,
    crypto: &CryptoDir,
    opts: &GenesisOptions,
) -> Result<common::Config, String> {
    let topo = Topology::of(ws);
    let view = CryptoView::read(ws, &topo, crypto).map_err(|e| e.to_string())?;
    let block =
        network::genesis::genesis_block_from(ws, &topo, &view, opts).map_err(|e| e.to_string())?;
    configtx::config_from_block(&block).map_err(|e| e.to_string())
}

/// Sets an org's `AnchorPeers` value in a config.
fn set_anchor_peers(
    config: &mut common::Config,
    org: &str,
    peers: &[(&str, i32)],
) -> Result<(), String> {
    let group = config
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut("Application"))
        .and_then(|g| g.groups.get_mut(org))
        .ok_or_else(|| format!("no Application group for {org}"))?;
    let value = group
        .values
        .get_mut("AnchorPeers")
        .ok_or_else(|| format!("{org} has no AnchorPeers value"))?;
    value.value = fabric::encode(&peer::AnchorPeers {
        anchor_peers: peers
            .iter()
            .map(|(host, port)| peer::AnchorPeer {
                host: (*host).to_string(),
                port: *port,
            })
            .collect(),
    });
    Ok(())
}

/// One change of the chain: to the workspace, to the options the
/// workspace does not carry, or (the flag) Org1's anchor peers.
type Change = fn(&mut Workspace, &mut GenesisOptions, &mut bool);

/// The chain of cases for a Fabric version, from `DIR/fabdev.yaml` and the
/// committed crypto in `DIR/crypto`.
pub fn cases(dir: &Path, version: &str) -> Result<Vec<Case>, String> {
    let full = workspace(dir, version)?;
    let crypto = crypto_dir(dir);
    let channel_orgs = |ws: &mut Workspace, orgs: &[&str]| {
        if let Some(c) = ws.channels.iter_mut().find(|c| c.name == CHANNEL) {
            c.orgs = orgs.iter().map(ToString::to_string).collect();
        }
    };
    // The start: three orderers, Org1 and Org2 on the channel.
    let mut ws = full.clone();
    ws.orderer.count = 3;
    channel_orgs(&mut ws, &["Org1", "Org2"]);
    let mut opts = GenesisOptions::new(CHANNEL);
    let mut current = config_of(&ws, &crypto, &opts)?;
    let anchors: [(&str, i32); 2] = [("peer0-org1", 7051), ("peer1-org1", 7051)];
    let mut anchored = false;

    let mut out = Vec::new();
    let steps: [(&str, Change); 7] = [
        ("add-org", |ws, _, _| {
            if let Some(c) = ws.channels.iter_mut().find(|c| c.name == CHANNEL) {
                c.orgs.push("Org3".into());
            }
        }),
        ("batch-timeout", |ws, _, _| ws.batch_timeout_ms = 2000),
        ("batch-size", |ws, _, _| {
            ws.batch_size.max_message_count = 100;
            ws.batch_size.preferred_max_bytes = 2 * 1024 * 1024;
        }),
        ("anchor-peers", |_, _, anchored| *anchored = true),
        ("consenter-added", |ws, _, _| ws.orderer.count = 4),
        ("consenter-removed", |ws, _, _| ws.orderer.count = 3),
        ("org-removed", |ws, _, _| {
            if let Some(c) = ws.channels.iter_mut().find(|c| c.name == CHANNEL) {
                c.orgs.retain(|o| o != "Org2");
            }
        }),
    ];
    for (i, (what, change)) in steps.iter().enumerate() {
        change(&mut ws, &mut opts, &mut anchored);
        let mut updated = config_of(&ws, &crypto, &opts)?;
        if anchored {
            set_anchor_peers(&mut updated, "Org1", &anchors)?;
        }
        let case = Case {
            name: format!("{:02}-{what}", i + 1),
            channel: CHANNEL.to_string(),
            original: current.clone(),
            updated,
        };
        let update = case.update().map_err(|e| format!("{}: {e}", case.name))?;
        current = apply_update(&current, &update, CHANNEL)
            .map_err(|e| format!("{}: applying fabdev's update: {e}", case.name))?;
        out.push(case);
    }
    Ok(out)
}

/// Where two updates differ, read set and write set element by element
/// (Fabric's keys), then the channel ID and isolated data. Empty when
/// they are equal.
pub fn update_differences(
    ours: &common::ConfigUpdate,
    theirs: &common::ConfigUpdate,
) -> Vec<String> {
    let mut out = Vec::new();
    if ours.channel_id != theirs.channel_id {
        out.push(format!(
            "channel_id: {:?} vs {:?}",
            ours.channel_id, theirs.channel_id
        ));
    }
    let empty = common::ConfigGroup::default();
    for (set, a, b) in [
        ("read set", &ours.read_set, &theirs.read_set),
        ("write set", &ours.write_set, &theirs.write_set),
    ] {
        if a.is_some() != b.is_some() {
            out.push(format!("{set}: present {} vs {}", a.is_some(), b.is_some()));
        }
        let (a, b) = (a.as_ref().unwrap_or(&empty), b.as_ref().unwrap_or(&empty));
        match configtx::differences(a, b) {
            Ok(d) => out.extend(d.into_iter().map(|d| format!("{set}: {d}"))),
            Err(e) => out.push(format!("{set}: {e}")),
        }
    }
    if ours.isolated_data != theirs.isolated_data {
        out.push("isolated_data differs".to_string());
    }
    if out.is_empty() && ours.encode_to_vec() != theirs.encode_to_vec() {
        // Same elements, other contents than the element checks look at.
        out.push("the updates encode differently".to_string());
    }
    out
}
