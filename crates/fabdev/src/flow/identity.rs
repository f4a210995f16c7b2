//! `fabdev identity add|list|remove` and `fabdev connect`: the identities
//! an application uses, and everything a Fabric Gateway client needs to
//! connect as one of them.
//!
//! These touch no cluster: they read and write the workspace's crypto
//! folder (`network::pki::identity`) and read its spec, so they are plain
//! functions rather than step lists. Bad input (an unknown org, a name
//! that is taken, a malformed attribute) is found before anything is
//! written. What they did is said through the reporter, as an
//! [`EventKind::Note`] outside any step (as `doctor` reports its checks).

use std::collections::BTreeMap;
use std::path::PathBuf;

use network::pki::USER1;
use network::pki::identity::{self, Identity, NewIdentity, Role};
use serde::Serialize;

use super::{Context, FlowError, Target};
use crate::events::{EventKind, Sink};

/// Check a request for a new identity against the workspace (nothing is
/// written): what the CLI does before it takes the workspace lock.
pub fn check_new(
    ctx: &Context,
    org: &str,
    name: &str,
    role: Role,
    attrs: &[String],
) -> Result<NewIdentity, FlowError> {
    Ok(NewIdentity::new(&ctx.ws, org, name, role, attrs)?)
}

/// Issue a checked identity from its org's CA. The crypto material is made
/// first where it is missing (as `render` does), so this works before
/// `up` too. The issue is reported to `sink`.
pub fn add(ctx: &Context, id: &NewIdentity, sink: &mut dyn Sink) -> Result<Identity, FlowError> {
    super::ensure_crypto(ctx)?;
    let id = identity::add(&ctx.crypto, id)?;
    sink.send(EventKind::Note {
        message: format!(
            " ✓ issued {} ({}) from the CA of {}",
            id.enrollment_id, id.role, id.org
        ),
    });
    Ok(id)
}

/// Every identity of every peer org (none before the crypto exists).
pub fn list(ctx: &Context) -> Result<Vec<Identity>, FlowError> {
    Ok(identity::list(&ctx.ws, &ctx.crypto)?)
}

/// Remove an identity made by `add`; returns its folder. The removal is
/// reported to `sink`.
pub fn remove(
    ctx: &Context,
    org: &str,
    name: &str,
    sink: &mut dyn Sink,
) -> Result<PathBuf, FlowError> {
    let dir = identity::remove(&ctx.ws, &ctx.crypto, org, name)?;
    sink.send(EventKind::Note {
        message: format!(" ✓ removed {name} of {org} ({})", dir.display()),
    });
    Ok(dir)
}

/// What a Gateway client needs to connect to an org's peer as one of its
/// identities. Paths are absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub org: String,
    pub msp_id: String,
    /// The identity's name (`--user`) and its certificate's CN.
    pub user: String,
    pub enrollment_id: String,
    pub role: String,
    pub attrs: BTreeMap<String, String>,
    /// The Gateway peer: the org's first peer.
    pub peer: String,
    /// Where the host reaches it: `localhost:<host port>` through kind's
    /// port mapping; on an existing cluster, `localhost:7051` once
    /// [`Connection::port_forward`] runs.
    pub peer_endpoint: String,
    /// The host name to check the peer's TLS certificate against. It is the
    /// endpoint's own host, which the certificate names, so no override is
    /// needed; clients that always set one (`grpc.ssl_target_name_override`,
    /// the Fabric samples' `PEER_HOST_ALIAS`) set this.
    pub peer_host_alias: String,
    /// Where pods in the cluster reach it (the certificate names it too).
    pub cluster_endpoint: String,
    /// On an existing cluster: the command that makes `peer_endpoint`
    /// answer.
    pub port_forward: Option<String>,
    /// The CA that signed the peer's TLS certificate.
    pub tls_ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The folders holding them (the Fabric samples read a folder).
    pub cert_dir: PathBuf,
    pub key_dir: PathBuf,
    pub msp_dir: PathBuf,
    /// The org's channels and the chaincodes of fabdev.yaml on them.
    pub channels: Vec<String>,
    pub chaincodes: Vec<ChaincodeRef>,
    /// The org's common connection profile (written by `up`), for SDKs
    /// that read one.
    pub connection_profile: PathBuf,
}

/// A chaincode and its channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChaincodeRef {
    pub name: String,
    pub channel: String,
}

/// Everything to connect to `org`'s peer as `user` (default `User1`).
pub fn connect(ctx: &Context, org: &str, user: Option<&str>) -> Result<Connection, FlowError> {
    let org = identity::peer_org(&ctx.ws, org)?;
    let ca = ctx.crypto.ca_dir(&org).join("ca.crt");
    if !ca.is_file() {
        return Err(FlowError::Input {
            message: format!(
                "{org} has no crypto material yet ({} is missing)",
                ca.display()
            ),
            hint: "run `fabdev up` (or `fabdev render`) first".into(),
        });
    }
    let id = identity::find(&ctx.ws, &ctx.crypto, &org, user.unwrap_or(USER1))?;
    let Some(peer) = ctx.topo.peers_of(&org).next() else {
        return Err(FlowError::Input {
            message: format!("{org} has no peers"),
            hint: format!("give {org} `peers: 1` or more in fabdev.yaml"),
        });
    };
    let msp_id = ctx
        .ws
        .org(&org)
        .map(|o| o.msp_id.clone())
        .unwrap_or_default();
    let (peer_endpoint, port_forward) = match &ctx.target {
        Target::Kind => (format!("localhost:{}", peer.host_ports.grpc), None),
        Target::Existing(_) => (
            format!("localhost:{}", peer.grpc_port()),
            Some(format!(
                "kubectl -n {} port-forward pod/{} {}:{}",
                ctx.ws.name,
                peer.pod_name(),
                peer.grpc_port(),
                peer.grpc_port()
            )),
        ),
    };
    let cluster_host = format!("{}.{}.svc.cluster.local", peer.name, ctx.topo.namespace);
    let channels: Vec<String> = ctx
        .ws
        .channels
        .iter()
        .filter(|c| c.orgs.iter().any(|o| o == &org))
        .map(|c| c.name.clone())
        .collect();
    let chaincodes = ctx
        .ws
        .chaincodes
        .iter()
        .filter(|c| channels.contains(&c.channel))
        .map(|c| ChaincodeRef {
            name: c.name.clone(),
            channel: c.channel.clone(),
        })
        .collect();
    let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    Ok(Connection {
        msp_id,
        user: id.name.clone(),
        enrollment_id: id.enrollment_id.clone(),
        role: id.role.clone(),
        attrs: id.attrs.clone(),
        peer: peer.name.clone(),
        peer_endpoint,
        peer_host_alias: "localhost".into(),
        cluster_endpoint: format!("{cluster_host}:{}", peer.grpc_port()),
        port_forward,
        tls_ca_file: abs(ctx.crypto.node_dir(peer).join("tls/ca.crt")),
        cert_dir: abs(id.msp_dir.join("signcerts")),
        key_dir: abs(id.msp_dir.join("keystore")),
        cert_file: abs(id.cert),
        key_file: abs(id.key),
        msp_dir: abs(id.msp_dir),
        channels,
        chaincodes,
        connection_profile: abs(ctx
            .profiles_dir()
            .join(format!("connection-{}.json", org.to_ascii_lowercase()))),
        org,
    })
}

impl Connection {
    /// Shell variables, named as the Fabric samples' Gateway applications
    /// read them (`asset-transfer-basic/application-gateway-*`), so
    /// `eval "$(fabdev connect Org1 -o env)"` configures one unchanged.
    /// `CHANNEL_NAME` and `CHAINCODE_NAME` are the org's first channel and
    /// the first chaincode on it, when fabdev.yaml has them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let path = |p: &PathBuf| p.display().to_string();
        let mut out = vec![
            ("MSP_ID", self.msp_id.clone()),
            ("PEER_ENDPOINT", self.peer_endpoint.clone()),
            ("PEER_HOST_ALIAS", self.peer_host_alias.clone()),
            ("TLS_CERT_PATH", path(&self.tls_ca_file)),
            ("CERT_PATH", path(&self.cert_file)),
            ("KEY_PATH", path(&self.key_file)),
            ("CERT_DIRECTORY_PATH", path(&self.cert_dir)),
            ("KEY_DIRECTORY_PATH", path(&self.key_dir)),
        ];
        if let Some(channel) = self.channels.first() {
            out.push(("CHANNEL_NAME", channel.clone()));
            if let Some(cc) = self.chaincodes.iter().find(|c| &c.channel == channel) {
                out.push(("CHAINCODE_NAME", cc.name.clone()));
            }
        }
        out
    }

    /// `export NAME='value'` lines, quoted for POSIX shells.
    pub fn env_text(&self) -> String {
        self.env()
            .into_iter()
            .map(|(k, v)| format!("export {k}={}\n", shell_quote(&v)))
            .collect()
    }
}

/// `'…'` with every `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn connect_names_the_peer_the_user_and_their_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            tmp.path().join("fabdev.yaml"),
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: app\n",
        )
        .expect("spec");
        let ctx = Context::load_from(tmp.path(), None).expect("ctx");
        // Before any crypto: say so.
        let err = connect(&ctx, "Org1", None).unwrap_err();
        assert!(err.is_bad_input());
        let hint = crate::errors::Hint::hint(&err).unwrap_or_default();
        assert!(hint.contains("fabdev up"), "{err}: {hint}");

        let id =
            check_new(&ctx, "org2", "bob", Role::Client, &["dept=audit".into()]).expect("request");
        let mut events: Vec<crate::events::Event> = Vec::new();
        add(&ctx, &id, &mut events).expect("add");
        // What it did goes to the reporter.
        assert!(
            matches!(
                events.as_slice(),
                [e] if matches!(&e.kind, EventKind::Note { message } if message.contains("issued bob@org2 (client) from the CA of Org2"))
            ),
            "{events:?}"
        );
        let c = connect(&ctx, "ORG2", Some("bob")).expect("connect");
        assert_eq!(c.org, "Org2");
        assert_eq!(c.msp_id, "Org2MSP");
        assert_eq!(c.enrollment_id, "bob@org2");
        assert_eq!(c.peer, "peer0-org2");
        assert_eq!(c.peer_endpoint, "localhost:30020");
        assert_eq!(c.cluster_endpoint, "peer0-org2.app.svc.cluster.local:7051");
        assert_eq!(c.port_forward, None);
        assert_eq!(c.attrs.get("dept").map(String::as_str), Some("audit"));
        assert!(c.cert_file.is_absolute() && c.cert_file.is_file());
        assert!(c.key_file.is_file() && c.tls_ca_file.is_file());
        assert_eq!(c.channels, ["mychannel"]);
        let env = c.env_text();
        assert!(env.contains("export MSP_ID='Org2MSP'\n"), "{env}");
        assert!(env.contains("export CHANNEL_NAME='mychannel'\n"), "{env}");

        // The default user; an unknown one names the known ones.
        assert_eq!(connect(&ctx, "Org1", None).expect("User1").user, "User1");
        let err = connect(&ctx, "Org1", Some("bob")).unwrap_err();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("Admin, User1"), "{err}");
        // On an existing cluster: the port-forward that makes the endpoint
        // answer.
        let flags = crate::flow::ClusterFlags {
            provider: Some(network::spec::Provider::Existing),
            ..Default::default()
        };
        let ctx = Context::load_with(tmp.path(), None, &flags).expect("ctx");
        let c = connect(&ctx, "Org1", None).expect("connect");
        assert_eq!(c.peer_endpoint, "localhost:7051");
        assert_eq!(
            c.port_forward.as_deref(),
            Some("kubectl -n app port-forward pod/peer0-org1-0 7051:7051")
        );
    }
}
