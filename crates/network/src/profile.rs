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
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("organisation {org:?} is not in the workspace")]
    UnknownOrg { org: String },
}

impl ProfileError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProfileError::Read { .. } => {
                Some("generate the crypto first (`fabdev render` or `fabdev up`)".to_string())
            }
            _ => None,
        }
    }
}

fn read_text(path: &Path) -> Result<String, ProfileError> {
    std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The common connection profile of one peer org, as Fabric's SDKs that
/// read one (fabric-network for Node, the Go and Java SDKs) expect it:
/// every peer of the org's channels (its own first) and the orderers at
/// their localhost host ports with their TLS CA, the orgs with their MSP
/// IDs, and a `channels` section naming, per channel of the org, its peers
/// (all roles) and orderers, so a client works with discovery off. (With
/// discovery on, an SDK dials the peers' in-cluster addresses, which only
/// its own rewriting, such as fabric-network's `asLocalhost`, can map to
/// the host; fabdev's host ports differ from the in-cluster ports, so that
/// rewriting gives wrong ports.) An `x-fabdev` section names the org's
/// user credentials on disk.
pub fn connection_profile(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    org: &str,
) -> Result<Value, ProfileError> {
    ws.org(org)
        .ok_or_else(|| ProfileError::UnknownOrg { org: org.into() })?;
    let endpoint = |n: &crate::topology::Node| -> Result<Value, ProfileError> {
        let ca = read_text(&crypto.node_dir(n).join("tls/ca.crt"))?;
        Ok(json!({
            "url": format!("grpcs://localhost:{}", n.host_ports.grpc),
            "tlsCACerts": { "pem": ca },
            "grpcOptions": {
                "ssl-target-name-override": "localhost",
                "hostnameOverride": "localhost"
            }
        }))
    };
    // The org first, then the other orgs of its channels, in spec order.
    let channels: Vec<&crate::spec::Channel> = ws
        .channels
        .iter()
        .filter(|c| c.orgs.iter().any(|o| o == org))
        .collect();
    let mut orgs: Vec<&str> = vec![org];
    for o in &ws.orgs {
        if o.name != org && channels.iter().any(|c| c.orgs.contains(&o.name)) {
            orgs.push(&o.name);
        }
    }
    let mut organizations = Map::new();
    let mut peers = Map::new();
    for o in &orgs {
        let mut names = Vec::new();
        for p in topo.peers_of(o) {
            names.push(Value::String(p.name.clone()));
            peers.insert(p.name.clone(), endpoint(p)?);
        }
        let msp_id = ws.org(o).map(|x| x.msp_id.clone()).unwrap_or_default();
        organizations.insert(o.to_string(), json!({ "mspid": msp_id, "peers": names }));
    }
    let mut orderers = Map::new();
    for n in topo.orderers() {
        let mut e = endpoint(n)?;
        e["mspid"] = Value::String(ws.orderer.msp_id.clone());
        orderers.insert(n.name.clone(), e);
    }
    let orderer_names: Vec<Value> = topo
        .orderers()
        .map(|n| Value::String(n.name.clone()))
        .collect();
    let mut channel_map = Map::new();
    for c in &channels {
        let mut cp = Map::new();
        for o in &c.orgs {
            for p in topo.peers_of(o) {
                cp.insert(
                    p.name.clone(),
                    json!({
                        "endorsingPeer": true,
                        "chaincodeQuery": true,
                        "ledgerQuery": true,
                        "eventSource": true
                    }),
                );
            }
        }
        channel_map.insert(
            c.name.clone(),
            json!({ "orderers": orderer_names, "peers": cp }),
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
        "channels": channel_map,
        "organizations": organizations,
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
        // The other org of its channel too, for clients with discovery off.
        assert_eq!(p["peers"]["peer0-org2"]["url"], "grpcs://localhost:30020");
        assert_eq!(p["organizations"]["Org2"]["mspid"], "Org2MSP");
        assert_eq!(
            p["orderers"]["orderer0-ordererorg"]["mspid"],
            "OrdererOrgMSP"
        );
        assert_eq!(
            p["channels"]["mychannel"]["orderers"],
            json!(["orderer0-ordererorg"])
        );
        assert_eq!(
            p["channels"]["mychannel"]["peers"]["peer0-org2"]["endorsingPeer"],
            true
        );
        let key = p["x-fabdev"]["users"]["User1"]["key"].as_str().unwrap();
        assert!(Path::new(key).is_file());
        let err = connection_profile(&ws, &topo, &crypto, "Org9").unwrap_err();
        assert!(err.to_string().contains("Org9"));
    }
}
