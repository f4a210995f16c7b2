//! Connection profiles: one per peer org, so host applications (Fabric
//! Gateway clients, SDKs) reach the network through the kind port mappings
//! on localhost with verified TLS (every node's TLS certificate carries
//! `localhost` and `127.0.0.1`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::pki::CryptoDir;
use crate::spec::Workspace;
use crate::topology::Topology;

/// Errors of writing connection profiles.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read {}: {source}\n  hint: generate the crypto first (`fabdev render` or `fabdev up`)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("organisation {org:?} is not in the workspace")]
    UnknownOrg { org: String },
}

fn read_text(path: &Path) -> Result<String, ProfileError> {
    std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The common connection profile of one peer org: its peers (and the
/// orderers) at their localhost host ports with their TLS CA, plus an
/// `x-fabdev` section naming the org's user credentials on disk.
pub fn connection_profile(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    org: &str,
) -> Result<Value, ProfileError> {
    let o = ws
        .org(org)
        .ok_or_else(|| ProfileError::UnknownOrg { org: org.into() })?;
    let mut peers = Map::new();
    let mut org_peers = Vec::new();
    for p in topo.peers_of(org) {
        let ca = read_text(&crypto.node_dir(p).join("tls/ca.crt"))?;
        org_peers.push(Value::String(p.name.clone()));
        peers.insert(
            p.name.clone(),
            json!({
                "url": format!("grpcs://localhost:{}", p.host_ports.grpc),
                "tlsCACerts": { "pem": ca },
                "grpcOptions": { "ssl-target-name-override": "localhost" }
            }),
        );
    }
    let mut orderers = Map::new();
    for n in topo.orderers() {
        let ca = read_text(&crypto.node_dir(n).join("tls/ca.crt"))?;
        orderers.insert(
            n.name.clone(),
            json!({
                "url": format!("grpcs://localhost:{}", n.host_ports.grpc),
                "tlsCACerts": { "pem": ca },
                "grpcOptions": { "ssl-target-name-override": "localhost" }
            }),
        );
    }
    let mut users = Map::new();
    for user in ["Admin", "User1"] {
        let dir = crypto.user_dir(org, user);
        users.insert(
            user.to_string(),
            json!({
                "mspDir": dir.join("msp"),
                "cert": dir.join("msp/signcerts/cert.pem"),
                "key": dir.join("msp/keystore/key.pem"),
            }),
        );
    }
    Ok(json!({
        "name": format!("{}-{}", ws.name, org.to_ascii_lowercase()),
        "version": "1.0.0",
        "client": {
            "organization": org,
            "connection": { "timeout": { "peer": { "endorser": "300" } } }
        },
        "organizations": {
            org: { "mspid": o.msp_id, "peers": org_peers }
        },
        "peers": peers,
        "orderers": orderers,
        "x-fabdev": { "workspace": ws.name, "users": users }
    }))
}

/// Write `connection-<org>.json` for every peer org into `dir`; returns the
/// files written.
pub fn write_profiles(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    dir: &Path,
) -> Result<Vec<PathBuf>, ProfileError> {
    std::fs::create_dir_all(dir).map_err(|source| ProfileError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for org in &ws.orgs {
        let profile = connection_profile(ws, topo, crypto, &org.name)?;
        let path = dir.join(format!("connection-{}.json", org.name.to_ascii_lowercase()));
        let text = serde_json::to_string_pretty(&profile).unwrap_or_default() + "\n";
        let write = |source| ProfileError::Write {
            path: path.clone(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, &path).map_err(write)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_point_at_localhost_host_ports_with_the_tls_ca() {
        let ws = Workspace::default_network();
        let topo = Topology::of(&ws);
        let tmp = tempfile::tempdir().unwrap();
        let crypto = CryptoDir::new(tmp.path().join("crypto"));
        crate::pki::ensure(&ws, &topo, &crypto).unwrap();
        let files = write_profiles(&ws, &topo, &crypto, &tmp.path().join("profiles")).unwrap();
        assert_eq!(files.len(), 2);
        let p: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
        assert_eq!(p["client"]["organization"], "Org1");
        assert_eq!(p["organizations"]["Org1"]["mspid"], "Org1MSP");
        assert_eq!(p["organizations"]["Org1"]["peers"], json!(["peer0-org1"]));
        assert_eq!(p["peers"]["peer0-org1"]["url"], "grpcs://localhost:30010");
        let ca = std::fs::read_to_string(crypto.org_dir("Org1").join("tlsca/tlsca.crt")).unwrap();
        assert_eq!(p["peers"]["peer0-org1"]["tlsCACerts"]["pem"], ca);
        assert_eq!(
            p["orderers"]["orderer0-ordererorg"]["url"],
            "grpcs://localhost:30000"
        );
        assert!(p["peers"].get("peer0-org2").is_none());
        let key = p["x-fabdev"]["users"]["User1"]["key"].as_str().unwrap();
        assert!(Path::new(key).is_file());
        let err = connection_profile(&ws, &topo, &crypto, "Org9").unwrap_err();
        assert!(err.to_string().contains("Org9"));
    }
}
