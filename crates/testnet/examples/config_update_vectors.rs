//! Writes the inputs and fabdev's outputs of the recorded config-update
//! vectors (`scripts/record/config-update-vectors.sh` runs it, then has the
//! real `configtxlator compute_update` compute each update from the same
//! two configs):
//!
//!   config_update_vectors crypto DIR          fixed test crypto (certificates
//!                                             only) for DIR/fabdev.yaml, when missing
//!   config_update_vectors cases DIR VERSION   DIR/VERSION/<case>.{original,updated,fabdev}.pb
//!                                             and DIR/VERSION/cases (one `<case> <channel>` a line)
//!
//! DIR is `fixtures/fabric-vectors/config-update`.

use std::path::Path;

use network::fabric;
use testnet::update_vectors;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["crypto", dir] => crypto(Path::new(dir)),
        ["cases", dir, version] => cases(Path::new(dir), version),
        _ => Err("usage: config_update_vectors crypto DIR | cases DIR VERSION".to_string()),
    };
    if let Err(e) = result {
        eprintln!("config_update_vectors: {e}");
        std::process::exit(1);
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn crypto(dir: &Path) -> Result<(), String> {
    let out = update_vectors::crypto_dir(dir);
    if out.root().exists() {
        println!("kept {}", out.root().display());
        return Ok(());
    }
    let ws = update_vectors::workspace(dir, "2.5")?;
    let topo = network::Topology::of(&ws);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let full = network::pki::CryptoDir::new(tmp.path());
    network::pki::ensure(&ws, &topo, &full).map_err(|e| e.to_string())?;
    for rel in update_vectors::inputs(&ws, &topo) {
        let from = tmp.path().join(&rel);
        let to = out.root().join(&rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    println!("wrote {}", out.root().display());
    Ok(())
}

fn cases(dir: &Path, version: &str) -> Result<(), String> {
    let out = dir.join(version);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut list = String::new();
    for case in update_vectors::cases(dir, version)? {
        write(
            &case.file(&out, "original.pb"),
            &fabric::encode(&case.original),
        )?;
        write(
            &case.file(&out, "updated.pb"),
            &fabric::encode(&case.updated),
        )?;
        write(
            &case.file(&out, "fabdev.pb"),
            &fabric::encode(&case.update()?),
        )?;
        list.push_str(&format!("{} {}\n", case.name, case.channel));
        println!("wrote {}", case.file(&out, "*.pb").display());
    }
    write(&out.join("cases"), list.as_bytes())
}
