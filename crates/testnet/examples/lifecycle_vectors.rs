//! Records the lifecycle vectors CI checks (`fixtures/fabric-vectors/lifecycle/VERSION/`),
//! on a real test network (root, FABRIC_HOME, the builder images in the
//! host's Docker): `scripts/record/lifecycle-vectors.sh` runs it, then
//! decodes what `configtxlator` can.
//!
//!   lifecycle_vectors DIR VERSION     DIR is fixtures/fabric-vectors/lifecycle
//!
//! From the chaincode of DIR/fabdev.yaml (a nested signature policy,
//! collections, initRequired):
//! - fabdev's messages, as sent: `approve-args.bin`, `commit-args.bin`,
//!   `validation-parameter.bin`, `collections.bin`, `package-id`;
//! - Org1 approves through fabdev, Org2 through the real `peer lifecycle
//!   chaincode approveformyorg` with the same expression and collections
//!   file, so that `approved-org2.bin` holds Fabric's own policydsl and
//!   collection bytes;
//! - the peers' raw answers our parsers read: `query-installed.bin`,
//!   `approved-org1.bin`, `approved-org2.bin`, `check-commit-readiness.bin`
//!   (asked with fabdev's definition: both orgs must match it),
//!   `query-chaincode-definition.bin` (after fabdev's commit);
//! - the real peer CLI's JSON of the same answers (`peer-cli/*.json`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chaincode::lifecycle::{self, ChannelAdmins, DeploySpec};
use chaincode::package::{PackageOptions, package_dir};
use network::channel::{approve_args, commit_args, readiness_args};
use network::fabric::{self, lifecycle as lc};
use testnet::{FabricHome, Options, TestNetwork};

const CHANNEL: &str = "mychannel";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let recorded = match args.as_slice() {
        [dir, version] => Some(record(Path::new(dir), version).await),
        _ => None,
    };
    testnet::vectors::recorder_main("lifecycle_vectors", "lifecycle_vectors DIR VERSION", |_| {
        recorded
    });
}

fn write(out: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = out.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

async fn record(dir: &Path, version: &str) -> Result<(), String> {
    network::channel::install_crypto_provider();
    let fabric = FabricHome::find().map_err(|e| e.to_string())?;
    let ws = testnet::vectors::lifecycle_workspace(dir, version)?;
    let cc = ws
        .chaincodes
        .first()
        .ok_or("no chaincode in fabdev.yaml")?
        .clone();
    let out: PathBuf = dir.join(version);
    std::fs::create_dir_all(out.join("peer-cli")).map_err(|e| e.to_string())?;

    let pkg = package_dir(
        &cc.path,
        &PackageOptions {
            label: Some(cc.label()),
            lang: Some(cc.lang),
        },
    )
    .map_err(|e| e.to_string())?;
    let spec = DeploySpec::of(&cc, pkg.bytes, pkg.id.clone());
    let def = spec.definition(1);
    let err = |e: network::fabric::DecodeError| e.to_string();
    write(&out, "package-id", pkg.id.as_bytes())?;
    write(
        &out,
        "approve-args.bin",
        &fabric::encode(&approve_args(&def, &pkg.id).map_err(err)?),
    )?;
    write(
        &out,
        "commit-args.bin",
        &fabric::encode(&commit_args(&def).map_err(err)?),
    )?;
    write(&out, "validation-parameter.bin", &def.validation_parameter)?;
    write(&out, "collections.bin", &def.collections)?;

    let net = TestNetwork::start(
        ws.clone(),
        Options {
            dind: true,
            ready_timeout: Duration::from_secs(120),
            ..Options::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    net.create_channel(CHANNEL)
        .await
        .map_err(|e| e.to_string())?;
    net.seed_images(&net.builder_images())
        .await
        .map_err(|e| format!("{e} (scripts/setup/builder-images.sh)"))?;
    let (topo, crypto, eps) = (net.topology(), net.crypto(), net.endpoints());
    let admins = ChannelAdmins::connect(&ws, topo, crypto, &eps, CHANNEL)
        .await
        .map_err(|e| e.to_string())?;
    lifecycle::install_all(&admins, &spec, Some(&net), &mut |_| {})
        .await
        .map_err(|e| format!("{e}\n{}", net.all_logs()))?;
    let peers: Vec<_> = admins.peers().collect();
    let [org1, org2] = peers.as_slice() else {
        return Err("expected one peer in each of two orgs".into());
    };
    let t = lifecycle::CALL_TIMEOUT;
    let raw = |e: network::channel::ChannelError| e.to_string();
    write(
        &out,
        "query-installed.bin",
        &org1
            .lifecycle_query_raw("", "QueryInstalledChaincodes", vec![], t)
            .await
            .map_err(raw)?,
    )?;

    // Org1 through fabdev, Org2 through the real peer CLI.
    org1.approve(CHANNEL, &def, &pkg.id, t).await.map_err(raw)?;
    let expr = match &cc.endorsement {
        Some(network::policy::EndorsementPolicy::Signature { expr, .. }) => expr.clone(),
        _ => return Err("the vector chaincode has a signature policy".into()),
    };
    let collections = cc
        .collections
        .as_ref()
        .map(|c| c.file.display().to_string())
        .ok_or("the vector chaincode has collections")?;
    let definition_flags: Vec<String> = [
        "--channelID",
        CHANNEL,
        "--name",
        &cc.name,
        "--version",
        &def.version,
        "--sequence",
        "1",
        "--init-required",
        "--signature-policy",
        &expr,
        "--collections-config",
        &collections,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut approve = vec![
        "lifecycle",
        "chaincode",
        "approveformyorg",
        "--package-id",
        &pkg.id,
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    approve.extend(definition_flags.iter().cloned());
    peer_cli(&net, "peer0-org2", &approve, true).await?;

    let approved_args = |_: ()| {
        fabric::encode(&lc::QueryApprovedChaincodeDefinitionArgs {
            name: cc.name.clone(),
            sequence: 1,
        })
    };
    for (name, c) in [("approved-org1.bin", org1), ("approved-org2.bin", org2)] {
        let bytes = c
            .lifecycle_query_raw(
                CHANNEL,
                "QueryApprovedChaincodeDefinition",
                approved_args(()),
                t,
            )
            .await
            .map_err(raw)?;
        write(&out, name, &bytes)?;
    }
    write(
        &out,
        "check-commit-readiness.bin",
        &org1
            .lifecycle_query_raw(
                CHANNEL,
                "CheckCommitReadiness",
                fabric::encode(&readiness_args(&def).map_err(err)?),
                t,
            )
            .await
            .map_err(raw)?,
    )?;
    // The peer CLI's readiness for the same flags (before the commit,
    // after which only the next sequence can be asked about).
    let mut readiness: Vec<String> = ["lifecycle", "chaincode", "checkcommitreadiness"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    readiness.extend(definition_flags.iter().cloned());
    readiness.extend(["--output".to_string(), "json".to_string()]);
    let json = peer_cli(&net, "peer0-org1", &readiness, false).await?;
    write(
        &out.join("peer-cli"),
        "checkcommitreadiness.json",
        json.as_bytes(),
    )?;
    org1.commit(CHANNEL, &def, &[*org2], t).await.map_err(raw)?;
    write(
        &out,
        "query-chaincode-definition.bin",
        &org1
            .lifecycle_query_raw(
                CHANNEL,
                "QueryChaincodeDefinition",
                fabric::encode(&lc::QueryChaincodeDefinitionArgs {
                    name: cc.name.clone(),
                }),
                t,
            )
            .await
            .map_err(raw)?,
    )?;

    // The real peer CLI's JSON of the same answers.
    for (file, peer, args) in [
        (
            "queryinstalled.json",
            "peer0-org1",
            vec!["lifecycle", "chaincode", "queryinstalled"],
        ),
        (
            "queryapproved-org1.json",
            "peer0-org1",
            vec![
                "lifecycle",
                "chaincode",
                "queryapproved",
                "--channelID",
                CHANNEL,
                "--name",
                &cc.name,
                "--sequence",
                "1",
            ],
        ),
        (
            "queryapproved-org2.json",
            "peer0-org2",
            vec![
                "lifecycle",
                "chaincode",
                "queryapproved",
                "--channelID",
                CHANNEL,
                "--name",
                &cc.name,
                "--sequence",
                "1",
            ],
        ),
        (
            "querycommitted.json",
            "peer0-org1",
            vec![
                "lifecycle",
                "chaincode",
                "querycommitted",
                "--channelID",
                CHANNEL,
                "--name",
                &cc.name,
            ],
        ),
    ] {
        let mut args: Vec<String> = args.into_iter().map(String::from).collect();
        args.extend(["--output".to_string(), "json".to_string()]);
        let json = peer_cli(&net, peer, &args, false).await?;
        write(&out.join("peer-cli"), file, json.as_bytes())?;
    }
    let release = fabric.version();
    write(&out, "RECORDED_WITH", format!("{release}\n").as_bytes())?;
    drop(admins);
    drop(net);
    Ok(())
}

/// Runs Fabric's `peer` as `peer`'s org admin against its host port; with
/// `ordered`, also names the orderer. Returns stdout.
async fn peer_cli(
    net: &TestNetwork,
    peer: &str,
    args: &[String],
    ordered: bool,
) -> Result<String, String> {
    let topo = net.topology();
    topo.node(peer).ok_or(format!("no node {peer}"))?;
    let crypto = net.crypto();
    let mut cmd = testkit::fabric::peer_cli(net, peer);
    cmd.args(args);
    if ordered {
        let orderer = topo.orderers().next().ok_or("no orderer")?;
        cmd.arg("-o")
            .arg(format!("127.0.0.1:{}", orderer.host_ports.grpc))
            .arg("--tls")
            .arg("--cafile")
            .arg(crypto.node_dir(orderer).join("tls/ca.crt"));
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("peer {}: {e}", args.join(" ")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "peer {} on {peer}: {stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!("peer {} on {peer}: ok", args.join(" "));
    Ok(stdout)
}
