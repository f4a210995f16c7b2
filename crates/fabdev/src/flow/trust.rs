//! Which of fabdev.yaml's choices fabdev acts on only once the user has
//! accepted them. A workspace's fabdev.yaml may come from a cloned
//! repository: where it sends fabdev to an existing cluster (`cluster:
//! provider: existing`, `kubeconfig`, `context`) or names an image that runs
//! privileged (`images.dind`: the peers' DinD sidecars) or as a kind node
//! (`cluster.kind.nodeImage`), those choices are the repository's word, not
//! the user's. The CLI shows them and asks once (a flag, or a question on a
//! terminal), before anything is written; what was accepted is recorded in
//! `.fabdev/trusted-spec.json` with the identity of the workspace folder
//! (device and inode), so a record that came with a clone or a copy does
//! not count, and a changed value is asked again.
//!
//! [`choices`] and [`unaccepted`] are pure; [`read_record`] and
//! [`write_record`] are the edges.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cluster::k8s::Resolved;
use network::spec::{DEFAULT_DIND_IMAGE, Workspace};
use serde::{Deserialize, Serialize};

use super::{ClusterFlags, Context, FlowError, Target};

/// The record of accepted choices under `.fabdev/`.
pub const TRUST_FILE: &str = "trusted-spec.json";

/// One choice of fabdev.yaml that needs the user's word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Where it is in fabdev.yaml (`cluster.context`, `images.dind`), or
    /// `cluster` for the cluster those fields select.
    pub field: &'static str,
    /// Its value, as recorded.
    pub value: String,
    /// What fabdev does with it.
    pub why: &'static str,
}

/// What the user accepted, for the workspace folder `folder`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// `<device>:<inode>` of the workspace folder the record was made in.
    pub folder: String,
    /// Field → accepted value.
    pub accepted: BTreeMap<String, String>,
}

/// The choices of `ws` (as loaded, with `flags` over its `cluster:` and
/// `target` the result) that need the user's word: the existing-cluster
/// fields the spec decides (with the cluster they select, `resolved`, or
/// why it cannot be read), a DinD image other than fabdev's, and a kind
/// node image named in fabdev.yaml. What the command line gives is the
/// user's own word; so is `$FABDEV_KIND_NODE_IMAGE`. Pure.
pub fn choices(
    ws: &Workspace,
    flags: &ClusterFlags,
    target: &Target,
    resolved: Result<&Resolved, String>,
) -> Vec<Choice> {
    let mut out = Vec::new();
    match target {
        Target::Existing(_) => {
            let spec = &ws.cluster;
            let mut from_spec = false;
            if flags.provider.is_none() {
                from_spec = true;
                out.push(Choice {
                    field: "cluster.provider",
                    value: "existing".into(),
                    why: "runs the network on one of your clusters instead of a kind cluster of its own",
                });
            }
            if let (None, Some(k)) = (&flags.kubeconfig, &spec.kubeconfig) {
                from_spec = true;
                out.push(Choice {
                    field: "cluster.kubeconfig",
                    value: k.display().to_string(),
                    why: "the kubeconfig whose credentials fabdev uses",
                });
            }
            if let (None, Some(c)) = (&flags.context, &spec.context) {
                from_spec = true;
                out.push(Choice {
                    field: "cluster.context",
                    value: c.clone(),
                    why: "the context fabdev uses",
                });
            }
            if from_spec {
                out.push(Choice {
                    field: "cluster",
                    value: match resolved {
                        Ok(r) => format!(
                            "context {} (cluster {}, user {}) at {}",
                            r.context, r.cluster, r.user, r.server
                        ),
                        Err(why) => format!("not known: {why}"),
                    },
                    why: "fabdev creates a namespace there, with privileged pods and the network's private keys",
                });
            }
        }
        Target::Kind => {
            if let Some(image) = &ws.cluster.kind.node_image {
                out.push(Choice {
                    field: "cluster.kind.nodeImage",
                    value: image.clone(),
                    why: "kind runs it as privileged containers on this machine (root on the host)",
                });
            }
        }
    }
    if ws.images.dind != DEFAULT_DIND_IMAGE {
        out.push(Choice {
            field: "images.dind",
            value: ws.images.dind.clone(),
            why: "runs privileged, as each peer's Docker daemon",
        });
    }
    out
}

/// The choices the record does not hold with the same value (all of them
/// when the record was made for another folder). Pure.
pub fn unaccepted<'a>(
    choices: &'a [Choice],
    record: Option<&Record>,
    folder: &str,
) -> Vec<&'a Choice> {
    let accepted = record.filter(|r| r.folder == folder).map(|r| &r.accepted);
    choices
        .iter()
        .filter(|c| accepted.and_then(|a| a.get(c.field)) != Some(&c.value))
        .collect()
}

/// The record that accepts exactly `choices` in `folder`. Pure.
pub fn record_of(choices: &[Choice], folder: &str) -> Record {
    Record {
        folder: folder.to_string(),
        accepted: choices
            .iter()
            .map(|c| (c.field.to_string(), c.value.clone()))
            .collect(),
    }
}

/// The workspace of `ctx` asked for: its choices, and the folder identity
/// a record must carry.
#[derive(Debug, Clone)]
pub struct Request {
    pub choices: Vec<Choice>,
    pub folder: String,
    pub record: Option<Record>,
    pub state_dir: PathBuf,
}

impl Request {
    /// The choices still to accept (see [`unaccepted`]).
    pub fn unaccepted(&self) -> Vec<&Choice> {
        unaccepted(&self.choices, self.record.as_ref(), &self.folder)
    }

    /// Records every choice as accepted.
    pub fn accept(&self) -> Result<(), FlowError> {
        write_record(&self.state_dir, &record_of(&self.choices, &self.folder))
    }
}

/// Reads what [`choices`] needs of a loaded workspace: the existing
/// cluster's kubeconfig (read only: no client is made, so no credential
/// plugin runs), the record and the folder's identity.
pub fn request(
    ctx: &Context,
    workspace_dir: &Path,
    flags: &ClusterFlags,
) -> Result<Request, FlowError> {
    let resolved = match &ctx.target {
        Target::Existing(access) => Some(access.resolve()),
        Target::Kind => None,
    };
    let resolved_ref = match &resolved {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => Err(e.to_string()),
        None => Err(String::new()),
    };
    Ok(Request {
        choices: choices(&ctx.ws, flags, &ctx.target, resolved_ref),
        folder: folder_id(workspace_dir)?,
        record: read_record(&ctx.state_dir)?,
        state_dir: ctx.state_dir.clone(),
    })
}

/// `<device>:<inode>` of the workspace folder.
pub fn folder_id(dir: &Path) -> Result<String, FlowError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|source| FlowError::Io {
        action: "read",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(format!("{}:{}", meta.dev(), meta.ino()))
}

/// The record under `state_dir`; `None` when there is none or it does not
/// parse (fabdev then asks again).
pub fn read_record(state_dir: &Path) -> Result<Option<Record>, FlowError> {
    let path = state_dir.join(TRUST_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FlowError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Writes the record (0600) under `state_dir`, made 0700 when missing.
pub fn write_record(state_dir: &Path, record: &Record) -> Result<(), FlowError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| FlowError::Io {
            action,
            path,
            source,
        }
    };
    match std::fs::DirBuilder::new().mode(0o700).create(state_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(io("create", state_dir)(source)),
    }
    let path = state_dir.join(TRUST_FILE);
    let tmp = state_dir.join(format!("{TRUST_FILE}.tmp"));
    let mut text = serde_json::to_string_pretty(record).unwrap_or_default();
    text.push('\n');
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    f.write_all(text.as_bytes()).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("write", &path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::k8s::Access;
    use network::spec::Provider;

    fn existing(spec_context: Option<&str>) -> (Workspace, Target) {
        let mut ws = Workspace::default_network();
        ws.cluster.context = spec_context.map(str::to_string);
        (ws, Target::Existing(Access::default()))
    }

    #[test]
    fn what_the_spec_decides_needs_a_word_and_the_command_line_does_not() {
        let (ws, target) = existing(Some("prod"));
        let none = ClusterFlags::default();
        let fields = |c: Vec<Choice>| c.iter().map(|c| c.field).collect::<Vec<_>>();
        assert_eq!(
            fields(choices(&ws, &none, &target, Err("no file".into()))),
            ["cluster.provider", "cluster.context", "cluster"]
        );
        let typed = ClusterFlags {
            provider: Some(Provider::Existing),
            context: Some("dev".into()),
            ..ClusterFlags::default()
        };
        assert!(choices(&ws, &typed, &target, Err(String::new())).is_empty());
        // The default network on kind asks nothing; a node image and a
        // DinD image of the spec's do.
        let mut kind = Workspace::default_network();
        assert!(choices(&kind, &none, &Target::Kind, Err(String::new())).is_empty());
        kind.cluster.kind.node_image = Some("evil/node:1".into());
        kind.images.dind = "evil/dind:1".into();
        assert_eq!(
            fields(choices(&kind, &none, &Target::Kind, Err(String::new()))),
            ["cluster.kind.nodeImage", "images.dind"]
        );
    }

    #[test]
    fn a_record_counts_in_its_own_folder_and_for_the_same_values_only() {
        let mut ws = Workspace::default_network();
        ws.images.dind = "mine/dind:1".into();
        let flags = ClusterFlags::default();
        let now = choices(&ws, &flags, &Target::Kind, Err(String::new()));
        assert_eq!(unaccepted(&now, None, "1:2").len(), 1);
        let record = record_of(&now, "1:2");
        assert!(unaccepted(&now, Some(&record), "1:2").is_empty());
        // A clone's or a copy's record.
        assert_eq!(unaccepted(&now, Some(&record), "1:3").len(), 1);
        // A changed value.
        ws.images.dind = "mine/dind:2".into();
        let changed = choices(&ws, &flags, &Target::Kind, Err(String::new()));
        let left = unaccepted(&changed, Some(&record), "1:2");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].value, "mine/dind:2");
    }
}
