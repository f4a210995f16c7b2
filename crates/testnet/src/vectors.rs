//! Recorded Fabric vectors (`fixtures/fabric-vectors/`): fabdev's genesis
//! blocks for fixed, committed test crypto, with real `configtxlator`'s JSON
//! of each, recorded by `scripts/record/fabric-vectors.sh` against real
//! Fabric 2.5 and 3.x. CI, which has no Fabric binaries, rebuilds the
//! blocks and compares them with the recordings.

use std::path::{Path, PathBuf};

use network::pki::CryptoDir;
use network::{Topology, Workspace};

/// The specs recorded (from `fixtures/specs/`).
pub const SPECS: [&str; 2] = ["default", "three-orgs"];
/// The specs recorded for Fabric 3.x only (BFT ordering needs V3_0).
pub const V3_SPECS: [&str; 1] = ["bft"];

/// Each vector spec, for a Fabric version (`2.5`, `3.1`): the spec file
/// with its `fabric.version` replaced.
pub fn specs(vectors: &Path, version: &str) -> Result<Vec<(String, Workspace)>, String> {
    let specs_dir = vectors.join("..").join("specs");
    let v3 = version.starts_with('3');
    SPECS
        .iter()
        .chain(V3_SPECS.iter().filter(|_| v3))
        .map(|name| {
            let path = specs_dir.join(format!("{name}.yaml"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .replace("version: \"2.5\"", &format!("version: \"{version}\""))
                .replace("version: \"3.1\"", &format!("version: \"{version}\""));
            let ws = Workspace::parse(&text, &path, &specs_dir).map_err(|e| e.to_string())?;
            Ok(((*name).to_string(), ws))
        })
        .collect()
}

/// The `main` of a recorder example (`examples/*_vectors.rs`): `run` with
/// the command line's words, which gives `None` for words it does not
/// take (then `usage` is printed); an error is printed as `name: error`
/// and exits 1.
pub fn recorder_main(
    name: &str,
    usage: &str,
    run: impl FnOnce(&[&str]) -> Option<Result<(), String>>,
) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&words) {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
        None => {
            eprintln!("usage: {usage}");
            std::process::exit(2);
        }
    }
}

/// Writes fixed test crypto for `ws` into `out`, unless it is there: the
/// workspace's crypto made in a temporary folder, of which only the files
/// `inputs` names (certificates, never a key) are kept.
pub fn write_crypto(
    ws: &Workspace,
    inputs: impl Fn(&Workspace, &Topology) -> Vec<PathBuf>,
    out: &Path,
) -> Result<(), String> {
    if out.exists() {
        println!("kept {}", out.display());
        return Ok(());
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let full = CryptoDir::new(tmp.path());
    let topo = Topology::of(ws);
    network::pki::ensure(ws, &topo, &full).map_err(|e| e.to_string())?;
    for rel in inputs(ws, &topo) {
        let from = tmp.path().join(&rel);
        let to = out.join(&rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// The committed crypto of a vector spec.
pub fn crypto_dir(vectors: &Path, spec: &str) -> CryptoDir {
    CryptoDir::new(vectors.join("crypto").join(spec))
}

/// The files of a crypto folder that a genesis block reads (relative):
/// each org's MSP folder, each orderer's TLS certificate and enrollment
/// certificate (a BFT channel's consenters carry it). Private keys are not
/// among them.
pub fn genesis_inputs(ws: &Workspace, topo: &Topology) -> Vec<PathBuf> {
    let rel = CryptoDir::new("");
    let mut out = Vec::new();
    let orgs =
        std::iter::once(ws.orderer.name.as_str()).chain(ws.orgs.iter().map(|o| o.name.as_str()));
    for org in orgs {
        let msp = rel.org_msp_dir(org);
        out.extend([
            msp.join("cacerts").join("ca.crt"),
            msp.join("tlscacerts").join("tlsca.crt"),
            msp.join("config.yaml"),
        ]);
    }
    for n in topo.orderers() {
        out.push(rel.node_dir(n).join("tls").join("server.crt"));
        out.push(
            rel.node_dir(n)
                .join("msp")
                .join("signcerts")
                .join("cert.pem"),
        );
    }
    out
}

/// fabdev's genesis block of a vector spec's channel, from its committed
/// crypto.
pub fn block(vectors: &Path, spec: &str, ws: &Workspace, channel: &str) -> Result<Vec<u8>, String> {
    let topo = Topology::of(ws);
    network::genesis::genesis_block(ws, &topo, &crypto_dir(vectors, spec), channel)
        .map_err(|e| e.to_string())
}

/// The lifecycle vectors' folder under `fixtures/fabric-vectors`.
pub const LIFECYCLE: &str = "lifecycle";

/// The workspace of the lifecycle vectors (`DIR/fabdev.yaml`, DIR being
/// `fixtures/fabric-vectors/lifecycle`) for a Fabric version: its one
/// chaincode carries the policy, collections and Init that are recorded.
pub fn lifecycle_workspace(dir: &Path, version: &str) -> Result<Workspace, String> {
    let path = dir.join("fabdev.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .replace("version: \"2.5\"", &format!("version: \"{version}\""));
    Workspace::parse(&text, &path, dir).map_err(|e| e.to_string())
}
