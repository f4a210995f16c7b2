//! `fabdev identity add|list|remove` and `fabdev connect`.

use std::path::Path;

use fabdev::flow::Context;
use fabdev::flow::identity::{self as flow_identity, Connection};
use network::pki::identity::{Identity, Role};

use super::{Env, LOCK_WAIT, lock, reporter};
use crate::cli::{ConnectArgs, ConnectFormat, Format, IdentityCommand, RoleArg};
use crate::error::CliError;
use crate::output::stdout_write;

/// The workspace, as every command loads it.
fn context(env: &Env, command: &'static str) -> Result<Context, CliError> {
    Context::load_with(&env.ws_dir, env.spec.as_deref(), &env.flags).map_err(CliError::of(command))
}

pub(super) fn run(env: &Env, command: IdentityCommand) -> Result<(), CliError> {
    let notes = &env.notes;
    match command {
        IdentityCommand::Add(a) => {
            let name = "identity add";
            let ctx = context(env, name)?;
            let role = match a.role {
                RoleArg::Client => Role::Client,
                RoleArg::Admin => Role::Admin,
            };
            // Bad input first: it writes nothing, not even the lock file.
            let request = flow_identity::check_new(&ctx, &a.org, &a.name, role, &a.attrs)
                .map_err(CliError::of(name))?;
            let _lock = lock(&env.ws_dir, name, LOCK_WAIT, notes)?;
            let (mut sink, _) = reporter(Format::Text, env.verbosity);
            let id =
                flow_identity::add(&ctx, &request, sink.as_mut()).map_err(CliError::of(name))?;
            drop(sink);
            match a.output {
                Format::Json => stdout_write(json_line(&id).as_bytes()),
                Format::Text => stdout_write(describe(&id).as_bytes()),
            }
        }
        IdentityCommand::List { output } => {
            let name = "identity list";
            let ctx = context(env, name)?;
            let all = flow_identity::list(&ctx).map_err(CliError::of(name))?;
            match output {
                Format::Json => stdout_write(json_line(&all).as_bytes()),
                Format::Text => stdout_write(table(&all).as_bytes()),
            }
        }
        IdentityCommand::Remove { org, name: user } => {
            let name = "identity remove";
            let ctx = context(env, name)?;
            let _lock = lock(&env.ws_dir, name, LOCK_WAIT, notes)?;
            let (mut sink, _) = reporter(Format::Text, env.verbosity);
            flow_identity::remove(&ctx, &org, &user, sink.as_mut()).map_err(CliError::of(name))?;
            Ok(())
        }
    }
}

pub(super) fn connect(env: &Env, a: &ConnectArgs) -> Result<(), CliError> {
    let name = "connect";
    let ctx = context(env, name)?;
    let c = flow_identity::connect(&ctx, &a.org, a.user.as_deref()).map_err(CliError::of(name))?;
    let text = match a.output {
        ConnectFormat::Json => json_line(&c),
        ConnectFormat::Env => c.env_text(),
        ConnectFormat::Text => connection_text(&c),
    };
    stdout_write(text.as_bytes())
}

fn json_line<T: serde::Serialize>(v: &T) -> String {
    // Plain structs of strings, maps and paths always serialise.
    serde_json::to_string(v).unwrap_or_default() + "\n"
}

fn attrs_text(id: &Identity) -> String {
    if id.attrs.is_empty() {
        "-".to_string()
    } else {
        id.attrs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn describe(id: &Identity) -> String {
    format!(
        "{} of {}: {} ({}), attributes {}\n  certificate {}\n  key         {}\n",
        id.name,
        id.org,
        id.enrollment_id,
        id.role,
        attrs_text(id),
        id.cert.display(),
        id.key.display()
    )
}

/// ORG NAME ROLE ATTRIBUTES, aligned; built-in users marked.
fn table(all: &[Identity]) -> String {
    let rows: Vec<[String; 4]> = std::iter::once([
        "ORG".to_string(),
        "NAME".to_string(),
        "ROLE".to_string(),
        "ATTRIBUTES".to_string(),
    ])
    .chain(all.iter().map(|i| {
        [
            i.org.clone(),
            i.name.clone(),
            i.role.clone(),
            if i.built_in {
                format!("{} (built-in)", attrs_text(i))
            } else {
                attrs_text(i)
            },
        ]
    }))
    .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    rows.iter()
        .map(|r| format!("{:w0$}  {:w1$}  {:w2$}  {}\n", r[0], r[1], r[2], r[3]))
        .collect()
}

fn connection_text(c: &Connection) -> String {
    let p = |p: &Path| p.display().to_string();
    let mut lines = vec![
        ("org", c.org.clone()),
        ("msp id", c.msp_id.clone()),
        (
            "user",
            format!("{} ({}, {})", c.user, c.enrollment_id, c.role),
        ),
        ("peer", c.peer.clone()),
        ("peer endpoint", c.peer_endpoint.clone()),
        ("tls host name", c.peer_host_alias.clone()),
        ("cluster endpoint", c.cluster_endpoint.clone()),
        ("tls ca", p(&c.tls_ca_file)),
        ("certificate", p(&c.cert_file)),
        ("private key", p(&c.key_file)),
        ("msp dir", p(&c.msp_dir)),
        ("channels", c.channels.join(", ")),
        (
            "chaincodes",
            c.chaincodes
                .iter()
                .map(|cc| format!("{} on {}", cc.name, cc.channel))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("profile", p(&c.connection_profile)),
    ];
    if let Some(pf) = &c.port_forward {
        lines.insert(5, ("port-forward", pf.clone()));
    }
    if !c.attrs.is_empty() {
        let attrs = c
            .attrs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        lines.insert(3, ("attributes", attrs));
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{:17}{v}\n", format!("{k}:")))
        .collect()
}
