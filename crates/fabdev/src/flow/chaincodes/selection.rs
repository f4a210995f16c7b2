//! Which chaincodes a lifecycle command acts on: fabdev.yaml's, one of
//! them by name, or a folder it does not list; checked (by the `chaincodes`
//! step, `run.rs`) before anything is dialled.

use std::path::{Path, PathBuf};

use network::spec::{self, Chaincode, Detected};

use crate::flow::{Context, FlowError};

/// Which chaincodes a lifecycle command acts on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// One chaincode of fabdev.yaml by name (with `path`: the name to give
    /// the folder). Default: every chaincode of fabdev.yaml.
    pub name: Option<String>,
    /// A chaincode folder, listed in fabdev.yaml or not.
    pub path: Option<PathBuf>,
    /// The channel, instead of the one fabdev.yaml gives (or, for a folder
    /// not listed there, the workspace's only channel).
    pub channel: Option<String>,
    /// Package Go chaincode as it is, without a vendored copy.
    pub no_vendor: bool,
}

impl Selection {
    /// The names the steps carry; whether they are right is the
    /// `chaincodes` step's to say.
    pub(crate) fn names(&self, ctx: &Context) -> Vec<String> {
        match (&self.name, &self.path) {
            (Some(n), _) => vec![n.clone()],
            (None, Some(p)) => vec![folder_name(p)],
            (None, None) => ctx.ws.chaincodes.iter().map(|c| c.name.clone()).collect(),
        }
    }
}

fn folder_name(p: &Path) -> String {
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chaincode".to_string())
}

fn input(message: String, hint: &str) -> FlowError {
    FlowError::Input {
        message,
        hint: hint.to_string(),
    }
}

fn known_chaincodes(ctx: &Context) -> String {
    let names: Vec<&str> = ctx.ws.chaincodes.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The channel of a chaincode that fabdev.yaml does not name one for: the
/// one given, else the workspace's only channel.
pub(crate) fn channel_for(
    ctx: &Context,
    given: Option<&str>,
    name: &str,
) -> Result<String, FlowError> {
    let known = || {
        ctx.ws
            .channels
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match given {
        Some(c) if ctx.ws.channel(c).is_some() => Ok(c.to_string()),
        Some(c) => Err(input(
            format!(
                "channel `{c}` is not in the workspace (its channels: {})",
                known()
            ),
            "pass one of those to --channel",
        )),
        None => match ctx.ws.channels.as_slice() {
            [only] => Ok(only.name.clone()),
            _ => Err(input(
                format!(
                    "{name} is not in fabdev.yaml and the workspace has several channels ({})",
                    known()
                ),
                "say which with --channel",
            )),
        },
    }
}

/// The chaincodes `sel` names, as fabdev.yaml gives them (or as made up
/// for a folder that it does not list).
pub fn select(ctx: &Context, sel: &Selection) -> Result<Vec<Chaincode>, FlowError> {
    let listed = |name: &str| ctx.ws.chaincodes.iter().find(|c| c.name == name);
    let mut out = match (&sel.name, &sel.path) {
        (name, Some(path)) => {
            let name = name.clone().unwrap_or_else(|| folder_name(path));
            spec::check_chaincode_name(&name).map_err(|m| {
                input(
                    m.message,
                    "name the chaincode: `fabdev chaincode deploy NAME --path DIR`",
                )
            })?;
            if !path.is_dir() {
                return Err(input(
                    format!("chaincode folder {} does not exist", path.display()),
                    "pass the folder holding go.mod or package.json to --path",
                ));
            }
            let lang = match spec::detect_lang(path) {
                Detected::Found(l) => l,
                Detected::Ambiguous => {
                    return Err(input(
                        format!("{} has both go.mod and package.json", path.display()),
                        "list it in fabdev.yaml with `lang:`",
                    ));
                }
                Detected::Neither => {
                    return Err(input(
                        format!(
                            "{} has neither go.mod nor package.json, so its language is unknown",
                            path.display()
                        ),
                        "pass a Go module or a Node package to --path",
                    ));
                }
            };
            match listed(&name) {
                Some(c) => vec![Chaincode {
                    path: path.clone(),
                    lang,
                    ..c.clone()
                }],
                None => vec![Chaincode::plain(
                    &name,
                    path.clone(),
                    &channel_for(ctx, sel.channel.as_deref(), &name)?,
                    lang,
                )],
            }
        }
        (Some(name), None) => match listed(name) {
            Some(c) => vec![c.clone()],
            None => {
                return Err(input(
                    format!(
                        "chaincode `{name}` is not in fabdev.yaml (its chaincodes: {})",
                        known_chaincodes(ctx)
                    ),
                    "add it under `chaincodes:`, or give its folder with --path DIR",
                ));
            }
        },
        (None, None) if ctx.ws.chaincodes.is_empty() => {
            return Err(input(
                "fabdev.yaml lists no chaincodes".to_string(),
                "add one under `chaincodes:` (name, path, channel), or give a folder with --path DIR",
            ));
        }
        (None, None) => ctx.ws.chaincodes.clone(),
    };
    if let Some(ch) = &sel.channel {
        let ch = channel_for(ctx, Some(ch), "")?;
        for c in &mut out {
            c.channel = ch.clone();
        }
    }
    Ok(out)
}
