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
    testnet::vectors::recorder_main(
        "config_update_vectors",
        "config_update_vectors crypto DIR | cases DIR VERSION",
        |words| match words {
            ["crypto", dir] => Some(crypto(Path::new(dir))),
            ["cases", dir, version] => Some(cases(Path::new(dir), version)),
            _ => None,
        },
    );
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn crypto(dir: &Path) -> Result<(), String> {
    let ws = update_vectors::workspace(dir, "2.5")?;
    testnet::vectors::write_crypto(
        &ws,
        update_vectors::inputs,
        update_vectors::crypto_dir(dir).root(),
    )
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
