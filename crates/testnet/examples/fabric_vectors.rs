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
    testnet::vectors::recorder_main(
        "fabric_vectors",
        "fabric_vectors crypto DIR | blocks DIR VERSION",
        |words| match words {
            ["crypto", dir] => Some(crypto(Path::new(dir))),
            ["blocks", dir, version] => Some(blocks(Path::new(dir), version)),
            _ => None,
        },
    );
}

fn crypto(dir: &Path) -> Result<(), String> {
    // Every spec (3.x lists the BFT ones too); crypto does not depend on the version.
    for (name, ws) in testnet::vectors::specs(dir, "3.1")? {
        let out = dir.join("crypto").join(&name);
        testnet::vectors::write_crypto(&ws, testnet::vectors::genesis_inputs, &out)?;
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
