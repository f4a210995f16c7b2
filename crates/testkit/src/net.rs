//! A workspace from a few lines of fabdev.yaml, and its crypto material made
//! in a temporary folder: the set-up of the tests that read what fabdev
//! writes (genesis blocks, channel calls, plans).

use std::path::Path;

use network::pki::{self, CryptoDir};
use network::{Node, Topology, Workspace};

/// Two orgs with a peer each, on `mychannel`.
pub const TWO_ORGS: &str = "orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
                            channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n";

/// The workspace of fabdev.yaml `body` (without its `apiVersion` and
/// `kind` lines).
pub fn workspace_of(body: &str) -> Workspace {
    let text = format!("apiVersion: fabdev/v1alpha1\nkind: Workspace\n{body}");
    Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new("."))
        .unwrap_or_else(|e| panic!("spec: {e}"))
}

/// A workspace, its topology and its crypto material in a temporary
/// folder (removed with it).
#[derive(Debug)]
pub struct CryptoNet {
    _dir: tempfile::TempDir,
    pub ws: Workspace,
    pub topo: Topology,
    pub crypto: CryptoDir,
}

impl CryptoNet {
    /// `ws` with its crypto material made (`pki::ensure`).
    pub fn new(ws: Workspace) -> CryptoNet {
        let dir = tempfile::tempdir().expect("tempdir");
        let crypto = CryptoDir::new(dir.path().join("crypto"));
        let topo = Topology::of(&ws);
        pki::ensure(&ws, &topo, &crypto).expect("crypto");
        CryptoNet {
            _dir: dir,
            ws,
            topo,
            crypto,
        }
    }

    /// The node `name` of the topology.
    pub fn node(&self, name: &str) -> &Node {
        self.topo
            .node(name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }
}
