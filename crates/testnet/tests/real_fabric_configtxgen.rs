//! Cross-check: real `configtxgen` on the equivalent `configtx.yaml`
//! (testnet::configtx) and fabdev's genesis block, both decoded by real
//! `configtxlator proto_decode`, agree on the whole channel config (groups,
//! values, policies, capabilities, consenters, MSP definitions). Every
//! intended difference is listed below with its reason.

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::path::Path;
use std::process::Command;

use network::pki::{self, CryptoDir};
use network::{Topology, Workspace};
use serde_json::Value;
use testnet::FabricHome;
use testnet::compare::{differences, normalize};

/// Paths (under the block) where fabdev's block differs from configtxgen's
/// on purpose.
const INTENDED: &[(&str, &str)] = &[
    (
        "/data/data/0/payload/header/channel_header/timestamp",
        "configtxgen stamps the current time; fabdev leaves it out so the same inputs give the same block",
    ),
    (
        "/data/data/0/payload/header/channel_header/tx_id",
        "derived from the nonce, which differs (next line)",
    ),
    (
        "/data/data/0/payload/header/signature_header/nonce",
        "configtxgen draws a random nonce; fabdev derives it from the channel and config",
    ),
    (
        "/header/data_hash",
        "the hash of the data, which differs by the three fields above",
    ),
];

fn decode(fabric: &FabricHome, block: &Path) -> Value {
    let out = Command::new(fabric.bin("configtxlator"))
        .args(["proto_decode", "--type", "common.Block", "--input"])
        .arg(block)
        .output()
        .expect("run configtxlator");
    assert!(
        out.status.success(),
        "configtxlator proto_decode {}: {}",
        block.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("configtxlator JSON")
}

fn check(spec: &str, channel: &str) {
    let fabric =
        FabricHome::find().unwrap_or_else(|e| panic!("built with Fabric binaries, but: {e}"));
    let text = std::fs::read_to_string(spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
        .replace(
            "version: \"2.5\"",
            &format!("version: \"{}\"", fabric.two_digit_version()),
        );
    let ws = Workspace::parse(&text, Path::new(spec), Path::new(".")).expect("spec");
    let topo = Topology::of(&ws);
    let dir = tempfile::tempdir().expect("tempdir");
    let crypto = CryptoDir::new(dir.path().join("crypto"));
    pki::ensure(&ws, &topo, &crypto).expect("crypto");

    let ours = dir.path().join("fabdev.block");
    let block =
        network::genesis::genesis_block(&ws, &topo, &crypto, channel).expect("fabdev block");
    std::fs::write(&ours, block).expect("write");

    let cfg = dir.path().join("cfg");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(
        cfg.join("configtx.yaml"),
        testnet::configtx::configtx_yaml(&ws, &topo, &crypto, channel),
    )
    .expect("write configtx.yaml");
    let theirs = dir.path().join("configtxgen.block");
    let out = Command::new(fabric.bin("configtxgen"))
        .args([
            "-profile",
            testnet::configtx::PROFILE,
            "-channelID",
            channel,
            "-outputBlock",
        ])
        .arg(&theirs)
        .arg("-configPath")
        .arg(&cfg)
        .output()
        .expect("run configtxgen");
    assert!(
        out.status.success(),
        "configtxgen: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let a = normalize(&decode(&fabric, &ours));
    let b = normalize(&decode(&fabric, &theirs));
    // The config itself is there, and not trivially empty.
    let groups = &a["data"]["data"][0]["payload"]["data"]["config"]["channel_group"]["groups"];
    assert!(
        groups["Application"]["groups"]
            .as_object()
            .is_some_and(|g| !g.is_empty())
    );
    let found = differences(&a, &b);
    let unexpected: Vec<&String> = found
        .iter()
        .filter(|d| {
            !INTENDED
                .iter()
                .any(|(p, _)| d.starts_with(&format!("{p}:")) || d.starts_with(&format!("{p}/")))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{spec} {channel} (Fabric {}): fabdev's block differs from configtxgen's:\n{}",
        fabric.version(),
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // And the intended differences are really there (or the list is stale).
    for (path, why) in INTENDED {
        if *path == "/data/data/0/payload/header/channel_header/tx_id"
            || *path == "/header/data_hash"
        {
            continue;
        }
        assert!(
            found.iter().any(|d| d.starts_with(path)),
            "{path} ({why}) no longer differs: update INTENDED"
        );
    }
}

#[test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
fn real_fabric_configtxgen_agrees_default_network() {
    check("../../fixtures/specs/default.yaml", "mychannel");
}

#[test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
fn real_fabric_configtxgen_agrees_three_orgs_both_channels() {
    check("../../fixtures/specs/three-orgs.yaml", "mychannel");
    check("../../fixtures/specs/three-orgs.yaml", "bilateral");
}

#[test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
fn real_fabric_configtxgen_agrees_bft() {
    let fabric =
        FabricHome::find().unwrap_or_else(|e| panic!("built with Fabric binaries, but: {e}"));
    let spec = "../../fixtures/specs/bft.yaml";
    if !fabric.two_digit_version().starts_with('3') {
        // Fabric 2.5 has no BFT ordering: what is checked against these
        // binaries is that fabdev refuses the spec for their version, as
        // configtxgen 2.5 would not make the block.
        let text = std::fs::read_to_string(spec)
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
            .replace(
                "version: \"3.1\"",
                &format!("version: \"{}\"", fabric.two_digit_version()),
            );
        let refused = Workspace::parse(&text, Path::new(spec), Path::new("."));
        assert!(
            refused.is_err(),
            "a BFT spec for Fabric {} was accepted",
            fabric.version()
        );
        return;
    }
    check(spec, "mychannel");
}
