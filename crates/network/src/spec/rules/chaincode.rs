//! The rules of a spec's chaincodes: names, channels, versions, policies,
//! collections and folders (the three that read the file system).

use std::collections::BTreeSet;
use std::path::Path;

use super::super::raw::RawChaincode;
use super::super::*;
use super::{Checker, pos_of};
use crate::policy;

/// A chaincode: a valid name, unique on its channel; a channel that exists
/// (or the only one); a valid version and label. Its folder is resolved
/// against `base` but not looked at (see [`chaincode_folders`]).
pub(super) fn chaincode(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    channels: &[Channel],
    seen: &mut BTreeSet<(String, String)>,
    base: &Path,
) -> Chaincode {
    let f = format!("chaincodes[{i}]");
    c.at(
        &cc.name,
        format!("{f}.name"),
        check_chaincode_name(&cc.name.value),
        "e.g. `name: basic`",
    );
    let channel = match &cc.channel {
        Some(ch) => {
            if !channels.iter().any(|x| x.name == ch.value) {
                let known: Vec<&str> = channels.iter().map(|x| x.name.as_str()).collect();
                c.push(
                    pos_of(ch),
                    format!("{f}.channel"),
                    format!("channel {:?} is not defined in `channels`", ch.value),
                    &format!("use one of: {}", known.join(", ")),
                );
            }
            ch.value.clone()
        }
        None => match channels {
            [only] => only.name.clone(),
            _ => {
                c.push(
                    pos_of(&cc.name),
                    format!("{f}.channel"),
                    "the workspace has several channels and this chaincode names none".into(),
                    "add `channel: NAME`",
                );
                String::new()
            }
        },
    };
    if !seen.insert((channel.clone(), cc.name.value.clone())) {
        c.push(
            pos_of(&cc.name),
            format!("{f}.name"),
            format!(
                "chaincode {:?} is listed twice on channel {channel:?}",
                cc.name.value
            ),
            "give each chaincode on a channel its own name",
        );
    }
    let version = match &cc.version {
        Some(v) => {
            c.at(
                v,
                format!("{f}.version"),
                check_chaincode_version(&v.value),
                "e.g. `version: \"1.0\"`",
            );
            v.value.clone()
        }
        None => "1.0".to_string(),
    };
    if let Some(l) = &cc.label {
        c.at(
            l,
            format!("{f}.label"),
            check_label(&l.value),
            "e.g. `label: basic_1.0`",
        );
    } else {
        let implied = format!("{}_{}", cc.name.value, version);
        if check_chaincode_name(&cc.name.value).is_ok() && check_chaincode_version(&version).is_ok()
        {
            c.at(
                &cc.name,
                format!("{f}.label"),
                check_label(&implied),
                "set `label:` explicitly",
            );
        }
    }
    let rel = PathBuf::from(&cc.path.value);
    Chaincode {
        name: cc.name.value.clone(),
        path: if rel.is_absolute() {
            rel
        } else {
            base.join(rel)
        },
        channel,
        lang: cc.lang.as_ref().map_or(Lang::Go, |l| l.value),
        version,
        label: cc.label.as_ref().map(|l| l.value.clone()),
        init_required: cc.init_required.as_ref().is_some_and(|v| v.value),
        init_args: cc
            .init_args
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default(),
        endorsement: None,
        collections: None,
    }
}

fn msp_ids(orgs: &[PeerOrg]) -> Vec<&str> {
    orgs.iter().map(|o| o.msp_id.as_str()).collect()
}

/// A chaincode's endorsement policy: a signature policy expression that
/// parses and names only the workspace's MSP IDs, or a channel config
/// policy reference, not both; `initArgs` only with `initRequired`.
pub(super) fn chaincode_policies(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    orgs: &[PeerOrg],
    chaincode: &mut Chaincode,
) {
    let f = format!("chaincodes[{i}]");
    let known = msp_ids(orgs);
    match (&cc.signature_policy, &cc.channel_config_policy) {
        (Some(s), Some(_)) => c.push(
            pos_of(s),
            format!("{f}.signaturePolicy"),
            "both `signaturePolicy` and `channelConfigPolicy` are given".into(),
            "keep one: a chaincode has one endorsement policy",
        ),
        (Some(s), None) => match policy::signature_policy(&s.value, &known) {
            Ok(p) => {
                chaincode.endorsement = Some(EndorsementPolicy::Signature {
                    expr: s.value.clone(),
                    policy: p,
                })
            }
            Err(m) => c.push(
                pos_of(s),
                format!("{f}.signaturePolicy"),
                m,
                &format!(
                    "write Fabric's policy language over the orgs' MSP IDs and roles, {}",
                    policy::example()
                ),
            ),
        },
        (None, Some(r)) => {
            c.at(
                r,
                format!("{f}.channelConfigPolicy"),
                policy::check_policy_reference(&r.value),
                &format!(
                    "name a policy of the channel config, e.g. `channelConfigPolicy: {}`",
                    policy::DEFAULT_ENDORSEMENT_POLICY_REF
                ),
            );
            chaincode.endorsement = Some(EndorsementPolicy::ChannelConfig(r.value.clone()));
        }
        (None, None) => {}
    }
    if let Some(a) = &cc.init_args
        && !chaincode.init_required
    {
        c.push(
            pos_of(a),
            format!("{f}.initArgs"),
            "`initArgs` is given but `initRequired` is not true".into(),
            "set `initRequired: true` (deploy then calls Init once with these arguments), or remove `initArgs`",
        );
    }
}

/// A rule that reads the file system: a chaincode's `collections` file
/// (relative to fabdev.yaml) is Fabric's collections_config.json shape,
/// every collection checked (see [`policy::parse_collections`]).
pub(super) fn chaincode_collections(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    orgs: &[PeerOrg],
    base: &Path,
    chaincode: &mut Chaincode,
) {
    let Some(file) = &cc.collections else {
        return;
    };
    let f = format!("chaincodes[{i}].collections");
    let rel = PathBuf::from(&file.value);
    let path = if rel.is_absolute() {
        rel
    } else {
        base.join(rel)
    };
    let text = read_collections(&path, base);
    let text = match text {
        Ok(t) => t,
        Err(m) => {
            c.push(
                pos_of(file),
                f,
                m,
                "give the path of a collections JSON file (as Fabric's collections_config.json), relative to fabdev.yaml",
            );
            return;
        }
    };
    match policy::parse_collections(&text, &msp_ids(orgs)) {
        Ok(collections) => {
            chaincode.collections = Some(Collections {
                file: path,
                collections,
            })
        }
        Err(problems) => {
            for p in problems {
                let place = match p.line {
                    Some(l) => format!("{}:{l}", file.value),
                    None => file.value.clone(),
                };
                let sep = if p.field.is_empty() { "" } else { " " };
                c.push(
                    pos_of(file),
                    f.clone(),
                    format!("{place}{sep}{}: {}", p.field, p.message),
                    "each collection is {\"name\", \"policy\": \"OR('Org1MSP.member', …)\", \"requiredPeerCount\", \"maxPeerCount\", \"blockToLive\", \"memberOnlyRead\", \"memberOnlyWrite\", \"endorsementPolicy\"} as in Fabric's collections_config.json, over the workspace's MSP IDs",
                );
            }
        }
    }
}

/// A collections file's text: a regular file (links resolved) inside the
/// workspace, of at most [`MAX_SPEC_BYTES`], opened so that a pipe or
/// device put there cannot hang the read (`/dev/zero`, a FIFO).
fn read_collections(path: &Path, base: &Path) -> Result<String, String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let real = std::fs::canonicalize(path).map_err(cannot)?;
    let root = super::workspace_root(base);
    if !real.starts_with(&root) {
        return Err(format!(
            "{} is outside the workspace ({})",
            real.display(),
            root.display()
        ));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&real)
        .map_err(cannot)?;
    let m = f.metadata().map_err(cannot)?;
    if !m.is_file() {
        return Err(format!(
            "{} is not a regular file (a device, pipe or socket)",
            path.display()
        ));
    }
    if m.len() > MAX_SPEC_BYTES {
        return Err(format!(
            "{} is larger than 1 MiB, which no collections file is",
            path.display()
        ));
    }
    let mut text = String::new();
    f.take(MAX_SPEC_BYTES)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    Ok(text)
}

/// A rule that reads the file system: a chaincode's folder, links resolved,
/// is inside the workspace (see [`check_inside_workspace`]).
pub(super) fn chaincode_inside_workspace(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    chaincode: &Chaincode,
    base: &Path,
) {
    if let Err(RuleError { message, hint }) = check_inside_workspace(&chaincode.path, base) {
        let hint = hint.unwrap_or_default();
        c.push(
            pos_of(&cc.path),
            format!("chaincodes[{i}].path"),
            message,
            &hint,
        );
    }
}

/// A rule that reads the file system: a chaincode's folder exists, and
/// without `lang` its language shows (go.mod or package.json, not both).
pub(super) fn chaincode_folders(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    chaincode: &mut Chaincode,
) {
    let f = format!("chaincodes[{i}]");
    let dir = &chaincode.path;
    if !dir.is_dir() {
        c.push(
            pos_of(&cc.path),
            format!("{f}.path"),
            format!(
                "chaincode folder {} does not exist or is not a folder",
                dir.display()
            ),
            "give the path of the chaincode folder, relative to fabdev.yaml",
        );
        return;
    }
    if cc.lang.is_some() {
        return;
    }
    match detect_lang(dir) {
        Detected::Found(l) => chaincode.lang = l,
        Detected::Ambiguous => c.push(
            pos_of(&cc.path),
            format!("{f}.lang"),
            format!("{} has both go.mod and package.json", dir.display()),
            "add `lang: go` or `lang: node`",
        ),
        Detected::Neither => c.push(
            pos_of(&cc.path),
            format!("{f}.path"),
            format!(
                "{} has neither go.mod nor package.json, so its language is unknown",
                dir.display()
            ),
            "point `path` at a Go module or a Node package, or add `lang: go|node`",
        ),
    }
}
