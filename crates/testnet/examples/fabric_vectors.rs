//! Writes the inputs and fabdev's outputs of the recorded Fabric vectors
//! (`scripts/record/fabric-vectors.sh` runs it, then decodes each block with
//! the real `configtxlator`):
//!
//!   fabric_vectors crypto DIR          fixed test crypto (certificates only)
//!                                      for every vector spec, when missing
//!   fabric_vectors blocks DIR VERSION  DIR/VERSION/<spec>-<channel>.block
//!
//! DIR is `fixtures/fabric-vectors`.

use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["crypto", dir] => crypto(Path::new(dir)),
        ["blocks", dir, version] => blocks(Path::new(dir), version),
        _ => Err("usage: fabric_vectors crypto DIR | blocks DIR VERSION".to_string()),
    };
    if let Err(e) = result {
        eprintln!("fabric_vectors: {e}");
        std::process::exit(1);
    }
}

fn crypto(dir: &Path) -> Result<(), String> {
    // Every spec (3.x lists the BFT ones too); crypto does not depend on the version.
    for (name, ws) in testnet::vectors::specs(dir, "3.1")? {
        let out = dir.join("crypto").join(&name);
        if out.exists() {
            println!("kept {}", out.display());
            continue;
        }
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let full = network::pki::CryptoDir::new(tmp.path());
        let topo = network::Topology::of(&ws);
        network::pki::ensure(&ws, &topo, &full).map_err(|e| e.to_string())?;
        for rel in testnet::vectors::genesis_inputs(&ws, &topo) {
            let from = tmp.path().join(&rel);
            let to = out.join(&rel);
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
        }
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn blocks(dir: &Path, version: &str) -> Result<(), String> {
    let out: PathBuf = dir.join(version);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for (name, ws) in testnet::vectors::specs(dir, version)? {
        for ch in &ws.channels {
            let block = testnet::vectors::block(dir, &name, &ws, &ch.name)?;
            let path = out.join(format!("{name}-{}.block", ch.name));
            std::fs::write(&path, block).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
