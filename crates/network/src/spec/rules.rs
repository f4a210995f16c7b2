//! Validation: the spec's rules over the raw file, turning it into a
//! [`Workspace`] or every [`Problem`] found.

mod batch;
mod chaincode;
mod cluster;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use self::batch::batch_size;
use self::chaincode::{
    chaincode, chaincode_collections, chaincode_folders, chaincode_inside_workspace,
    chaincode_policies,
};
pub use self::cluster::check_host_ports;
use self::cluster::{cluster, host_port_base};
use super::raw::{RawChannel, RawWorkspace};
use super::*;

/// The folder a spec's chaincode must stay inside: the git repository
/// holding `base` (the spec file's folder), or `base` itself outside one.
pub fn workspace_root(base: &Path) -> PathBuf {
    let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    base.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&base)
        .to_path_buf()
}

/// Rule: a chaincode folder named in the spec is inside the workspace (see
/// [`workspace_root`]), links resolved, so that a spec from a cloned
/// repository cannot package `/etc` or `~/.ssh`. A folder elsewhere can be
/// packaged by naming it on the command line. A folder that does not exist
/// passes here (another rule reports it).
pub fn check_inside_workspace(dir: &Path, base: &Path) -> Result<(), RuleError> {
    let Ok(real) = std::fs::canonicalize(dir) else {
        return Ok(());
    };
    let root = workspace_root(base);
    if real.starts_with(&root) {
        return Ok(());
    }
    Err(RuleError::with_hint(
        format!(
            "chaincode folder {} is outside the workspace",
            real.display()
        ),
        "keep chaincode inside the workspace: the git repository holding the spec file, or the spec file's folder outside a repository; to package a folder elsewhere, name it on the command line: `fabdev chaincode package PATH`",
    ))
}

pub(super) fn parse_fabric_version(s: &str) -> Result<FabricVersion, String> {
    let parts: Vec<&str> = s.split('.').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse::<u32>().ok()).collect();
    let Some(nums) = nums.filter(|n| n.len() == 2 || n.len() == 3) else {
        return Err(format!(
            "{s:?} is not a Fabric version: write MAJOR.MINOR or MAJOR.MINOR.PATCH, such as \"2.5\" or \"3.1.1\" (quoted)"
        ));
    };
    let (major, minor) = (nums[0], nums[1]);
    if !(major == 2 && minor == 5 || major == 3) {
        return Err(format!(
            "Fabric {s} is not supported: fabdev runs Fabric 2.5 and 3.x"
        ));
    }
    Ok(FabricVersion {
        tag: s.to_string(),
        major,
        minor,
    })
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn at<T>(
        &mut self,
        v: &Spanned<T>,
        field: impl Into<String>,
        r: Result<(), impl std::fmt::Display>,
        hint: &str,
    ) {
        if let Err(e) = r {
            self.problems.push(Problem {
                pos: pos_of(v),
                field: field.into(),
                message: e.to_string(),
                hint: hint.to_string(),
            });
        }
    }
    fn push(&mut self, pos: Option<Pos>, field: impl Into<String>, message: String, hint: &str) {
        self.problems.push(Problem {
            pos,
            field: field.into(),
            message,
            hint: hint.to_string(),
        });
    }
}

fn pos_of<T>(v: &Spanned<T>) -> Option<Pos> {
    let l = v.referenced;
    (l.line() > 0).then_some(Pos {
        line: l.line(),
        column: l.column(),
    })
}

/// The spec's rules, one function each, in the order their problems are
/// reported. Each reads the raw file and what earlier rules settled, adds
/// its problems to the checker and returns the settled value. Only
/// [`chaincode_inside_workspace`], [`chaincode_folders`] and
/// [`chaincode_collections`] (which reads a collections file) look at the
/// file system.
pub(super) fn validate(
    raw: RawWorkspace,
    path: &Path,
    base: &Path,
) -> Result<Workspace, SpecError> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let def = Workspace::default_network();

    api_version_and_kind(&mut c, &raw);
    let name = workspace_name(&mut c, &raw, &def);
    let (fabric, batch_timeout_ms) = fabric_release(&mut c, &raw, &def);
    let batch_size = batch_size(&mut c, &raw);
    let mut orderer = orderer_org(&mut c, &raw, &def);
    orderer_consensus(&mut c, &raw, &fabric, &mut orderer);
    let orgs = peer_orgs(&mut c, &raw, &def);
    orgs_are_unique(&mut c, &raw, &orderer, &orgs);
    let channels = channels(&mut c, &raw, &orgs);
    let mut chaincodes = Vec::new();
    let mut seen_cc = BTreeSet::new();
    for (i, cc) in raw.chaincodes.iter().enumerate() {
        let mut chaincode = chaincode(&mut c, i, cc, &channels, &mut seen_cc, base);
        chaincode_policies(&mut c, i, cc, &orgs, &mut chaincode);
        chaincode_inside_workspace(&mut c, i, cc, &chaincode, base);
        chaincode_folders(&mut c, i, cc, &mut chaincode);
        chaincode_collections(&mut c, i, cc, &orgs, base, &mut chaincode);
        chaincodes.push(chaincode);
    }
    let images = images(&mut c, &raw, &fabric);
    let host_port_base = host_port_base(&mut c, &raw, &orderer, &orgs);
    let cluster = cluster(&mut c, &raw, base);

    if !c.problems.is_empty() {
        return Err(SpecError::Invalid {
            path: path.to_path_buf(),
            problems: c.problems,
        });
    }
    Ok(Workspace {
        name,
        fabric,
        batch_timeout_ms,
        batch_size,
        orderer,
        orgs,
        channels,
        chaincodes,
        images,
        host_port_base,
        cluster,
        workspace_id: None,
    })
}

/// `apiVersion` and `kind` are the ones this fabdev reads.
fn api_version_and_kind(c: &mut Checker, raw: &RawWorkspace) {
    c.at(
        &raw.api_version,
        "apiVersion",
        if raw.api_version.value == API_VERSION {
            Ok(())
        } else {
            Err(format!(
                "apiVersion {:?} is not one this fabdev reads",
                raw.api_version.value
            ))
        },
        &format!("set `apiVersion: {API_VERSION}`"),
    );
    c.at(
        &raw.kind,
        "kind",
        if raw.kind.value == KIND {
            Ok(())
        } else {
            Err(format!("kind {:?} is not {KIND:?}", raw.kind.value))
        },
        &format!("set `kind: {KIND}`"),
    );
}

/// `name` is a DNS label (it names the kind cluster and the namespace).
fn workspace_name(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> String {
    match &raw.name {
        Some(n) => {
            c.at(
                n,
                "name",
                check_dns_label(&n.value, 40),
                "the name becomes the kind cluster and namespace name; e.g. `name: my-project`",
            );
            n.value.clone()
        }
        None => def.name.clone(),
    }
}

/// `fabric.version` is a supported release; `fabric.batchTimeoutMs` is in range.
fn fabric_release(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> (FabricVersion, u32) {
    let mut fabric = def.fabric.clone();
    let mut batch_timeout_ms = def.batch_timeout_ms;
    if let Some(f) = &raw.fabric {
        if let Some(v) = &f.version {
            match parse_fabric_version(&v.value) {
                Ok(fv) => fabric = fv,
                Err(m) => c.push(
                    pos_of(v),
                    "fabric.version",
                    m,
                    "use \"2.5\" (default) or a 3.x version such as \"3.1\"",
                ),
            }
        }
        if let Some(b) = &f.batch_timeout_ms {
            let r = if (10..=10_000).contains(&b.value) {
                Ok(())
            } else {
                Err(format!(
                    "batchTimeoutMs {} is out of range 10..=10000",
                    b.value
                ))
            };
            c.at(
                b,
                "fabric.batchTimeoutMs",
                r,
                "a few hundred milliseconds keeps each lifecycle step fast",
            );
            batch_timeout_ms = b.value;
        }
    }
    (fabric, batch_timeout_ms)
}

/// The orderer org's name and MSP ID are well formed; 1 to 9 orderers.
fn orderer_org(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> OrdererOrg {
    let mut orderer = def.orderer.clone();
    if let Some(o) = &raw.orderer {
        if let Some(n) = &o.org {
            c.at(
                n,
                "orderer.org",
                check_org_name(&n.value),
                "e.g. `org: OrdererOrg`",
            );
            orderer.name = n.value.clone();
            orderer.msp_id = format!("{}MSP", n.value);
        }
        if let Some(m) = &o.msp_id {
            c.at(
                m,
                "orderer.mspId",
                check_msp_id(&m.value),
                "e.g. `mspId: OrdererMSP`",
            );
            orderer.msp_id = m.value.clone();
        }
        if let Some(n) = &o.count {
            let r = if (1..=9).contains(&n.value) {
                Ok(())
            } else {
                Err(format!("orderer count {} is out of range 1..=9", n.value))
            };
            c.at(
                n,
                "orderer.count",
                r,
                "use 1 for development or 3 / 5 for a Raft quorum",
            );
            orderer.count = n.value;
        }
    }
    orderer
}

/// `orderer.consensus` is `raft` (`etcdraft`) or `bft`; BFT needs Fabric 3
/// and at least [`MIN_BFT_ORDERERS`] orderers.
fn orderer_consensus(
    c: &mut Checker,
    raw: &RawWorkspace,
    fabric: &FabricVersion,
    orderer: &mut OrdererOrg,
) {
    let Some(o) = &raw.orderer else { return };
    let Some(v) = &o.consensus else { return };
    orderer.consensus = match v.value.to_ascii_lowercase().as_str() {
        "raft" | "etcdraft" => Consensus::Raft,
        "bft" | "smartbft" => Consensus::Bft,
        other => {
            c.push(
                pos_of(v),
                "orderer.consensus",
                format!("consensus {other:?} is not one fabdev runs"),
                "use `raft` (default) or `bft` (Fabric 3, at least 4 orderers)",
            );
            return;
        }
    };
    if orderer.consensus != Consensus::Bft {
        return;
    }
    if !fabric.is_v3() {
        c.push(
            pos_of(v),
            "orderer.consensus",
            format!(
                "BFT ordering needs Fabric 3 (the V3_0 channel capability), but fabric.version is {}",
                fabric.tag
            ),
            "set `fabric: { version: \"3.1\" }`, or use `consensus: raft` on Fabric 2.5",
        );
    }
    if orderer.count < MIN_BFT_ORDERERS {
        let (pos, field) = match &o.count {
            Some(n) => (pos_of(n), "orderer.count"),
            None => (pos_of(v), "orderer.consensus"),
        };
        c.push(
            pos,
            field,
            format!(
                "BFT ordering needs at least {MIN_BFT_ORDERERS} orderers (3f+1 orderers tolerate f faulty ones; with fewer, one stopped orderer stops the channel), but orderer.count is {}",
                orderer.count
            ),
            "set `orderer.count: 4` (or 7 to tolerate two), or use `consensus: raft`",
        );
    }
}

/// At least one peer org; each with a well-formed name and MSP ID and 1 to
/// 9 peers.
fn peer_orgs(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> Vec<PeerOrg> {
    let Some(list) = &raw.orgs else {
        return def.orgs.clone();
    };
    if list.value.is_empty() {
        c.push(
            pos_of(list),
            "orgs",
            "no peer organisations are listed".into(),
            "list at least one, e.g. `orgs: [{ name: Org1, peers: 1 }]`",
        );
    }
    list.value
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let f = format!("orgs[{i}]");
            c.at(
                &o.name,
                format!("{f}.name"),
                check_org_name(&o.name.value),
                "e.g. `name: Org1`",
            );
            let msp_id = match &o.msp_id {
                Some(m) => {
                    c.at(
                        m,
                        format!("{f}.mspId"),
                        check_msp_id(&m.value),
                        "e.g. `mspId: Org1MSP`",
                    );
                    m.value.clone()
                }
                None => format!("{}MSP", o.name.value),
            };
            let peers = match &o.peers {
                Some(p) => {
                    let r = if (1..=9).contains(&p.value) {
                        Ok(())
                    } else {
                        Err(format!("peer count {} is out of range 1..=9", p.value))
                    };
                    c.at(p, format!("{f}.peers"), r, "each org needs 1 to 9 peers");
                    p.value
                }
                None => 1,
            };
            PeerOrg {
                name: o.name.value.clone(),
                msp_id,
                peers,
                state_database: o.state_database.unwrap_or_default(),
                anchor_peers: anchor_peers(c, &f, o.anchor_peers.as_ref(), peers),
            }
        })
        .collect()
}

/// An org's `anchorPeers`: each `peer<N>` one of its `peers`, listed once;
/// without the field, its first peer.
fn anchor_peers(
    c: &mut Checker,
    org_field: &str,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    peers: u32,
) -> Vec<u32> {
    let Some(list) = raw else {
        return PeerOrg::default_anchor_peers();
    };
    let mut out: Vec<u32> = Vec::new();
    for (i, name) in list.value.iter().enumerate() {
        let field = format!("{org_field}.anchorPeers[{i}]");
        let index = name
            .value
            .strip_prefix("peer")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok());
        let problem = match index {
            None => Some(format!(
                "anchor peer {:?} is not a peer name of the form peer<N>",
                name.value
            )),
            Some(n) if n >= peers => Some(format!(
                "anchor peer {} is not one of the org's {peers} peer{} (peer0..peer{})",
                name.value,
                if peers == 1 { "" } else { "s" },
                peers.saturating_sub(1)
            )),
            Some(n) if out.contains(&n) => {
                Some(format!("anchor peer {} is listed twice", name.value))
            }
            Some(_) => None,
        };
        match (problem, index) {
            (Some(p), _) => c.push(
                pos_of(name),
                field,
                p,
                "name the org's own peers, each once, e.g. `anchorPeers: [peer0]`",
            ),
            (None, Some(n)) => out.push(n),
            (None, None) => {}
        }
    }
    out
}

/// Org names and MSP IDs are unique, also case-insensitively (they become
/// lower-case Kubernetes names), and distinct from the orderer org's.
fn orgs_are_unique(c: &mut Checker, raw: &RawWorkspace, orderer: &OrdererOrg, orgs: &[PeerOrg]) {
    let Some(list) = &raw.orgs else {
        return;
    };
    let mut seen_names = BTreeSet::from([orderer.name.to_ascii_lowercase()]);
    let mut seen_msp = BTreeSet::from([orderer.msp_id.clone()]);
    for (i, (o, org)) in list.value.iter().zip(orgs).enumerate() {
        if !seen_names.insert(org.name.to_ascii_lowercase()) {
            c.push(
                pos_of(&o.name),
                format!("orgs[{i}].name"),
                format!(
                    "organisation name {:?} is used twice (names are compared ignoring case, and the orderer org counts)",
                    org.name
                ),
                "give every organisation its own name",
            );
        }
        if !seen_msp.insert(org.msp_id.clone()) {
            c.push(
                o.msp_id.as_ref().map_or(pos_of(&o.name), pos_of),
                format!("orgs[{i}].mspId"),
                format!("MSP ID {:?} is used twice", org.msp_id),
                "give every organisation its own mspId",
            );
        }
    }
}

/// At least one channel; each named validly, listed once, with at least
/// one org, each org defined and listed once. Without `channels`:
/// `mychannel` with every org.
fn channels(c: &mut Checker, raw: &RawWorkspace, orgs: &[PeerOrg]) -> Vec<Channel> {
    let Some(list) = &raw.channels else {
        return vec![Channel {
            name: "mychannel".into(),
            orgs: orgs.iter().map(|o| o.name.clone()).collect(),
        }];
    };
    let mut seen = BTreeSet::new();
    let channels: Vec<Channel> = list
        .value
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let f = format!("channels[{i}]");
            c.at(
                &ch.name,
                format!("{f}.name"),
                check_channel_name(&ch.name.value),
                "e.g. `name: mychannel`",
            );
            if !seen.insert(ch.name.value.clone()) {
                c.push(
                    pos_of(&ch.name),
                    format!("{f}.name"),
                    format!("channel {:?} is listed twice", ch.name.value),
                    "list each channel once",
                );
            }
            Channel {
                name: ch.name.value.clone(),
                orgs: channel_orgs(c, &f, ch, orgs),
            }
        })
        .collect();
    if channels.is_empty() {
        c.push(
            pos_of(list),
            "channels",
            "no channels are listed".into(),
            "list at least one, e.g. `channels: [{ name: mychannel }]`",
        );
    }
    channels
}

/// A channel's `orgs`: not empty, each defined in `orgs` and listed once;
/// left out, every org.
fn channel_orgs(c: &mut Checker, f: &str, ch: &RawChannel, orgs: &[PeerOrg]) -> Vec<String> {
    let Some(l) = &ch.orgs else {
        return orgs.iter().map(|o| o.name.clone()).collect();
    };
    if l.value.is_empty() {
        c.push(
            pos_of(l),
            format!("{f}.orgs"),
            "a channel needs at least one organisation".into(),
            "list org names from `orgs`, or leave `orgs` out to use all of them",
        );
    }
    let mut in_channel = BTreeSet::new();
    for (j, n) in l.value.iter().enumerate() {
        if !orgs.iter().any(|o| o.name == n.value) {
            let known: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
            c.push(
                pos_of(n),
                format!("{f}.orgs[{j}]"),
                format!("organisation {:?} is not defined in `orgs`", n.value),
                &format!("use one of: {}", known.join(", ")),
            );
        }
        if !in_channel.insert(n.value.clone()) {
            c.push(
                pos_of(n),
                format!("{f}.orgs[{j}]"),
                format!("organisation {:?} is listed twice", n.value),
                "list each organisation once",
            );
        }
    }
    l.value.iter().map(|n| n.value.clone()).collect()
}

/// Every image given is a reference (not empty, no whitespace or control
/// character, not starting with `-`); the rest
/// follow the Fabric version.
fn images(c: &mut Checker, raw: &RawWorkspace, fabric: &FabricVersion) -> Images {
    let mut images = Images::for_version(fabric);
    if let Some(im) = &raw.images {
        let fields: [(&Option<Spanned<String>>, &str, &mut String); 7] = [
            (&im.peer, "peer", &mut images.peer),
            (&im.orderer, "orderer", &mut images.orderer),
            (&im.ccenv, "ccenv", &mut images.ccenv),
            (&im.baseos, "baseos", &mut images.baseos),
            (&im.nodeenv, "nodeenv", &mut images.nodeenv),
            (&im.dind, "dind", &mut images.dind),
            (&im.couchdb, "couchdb", &mut images.couchdb),
        ];
        for (v, key, slot) in fields {
            if let Some(v) = v {
                // A leading `-` would make it an option to `docker`.
                let r = if !v.value.is_empty()
                    && !v.value.starts_with('-')
                    && !v.value.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    Ok(())
                } else {
                    Err(format!("{:?} is not an image reference", v.value))
                };
                c.at(v, format!("images.{key}"), r, "e.g. `docker:28.5.1-dind`");
                *slot = v.value.clone();
            }
        }
    }
    images
}
