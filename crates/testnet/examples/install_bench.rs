//! Times the chaincode lifecycle on a real test network (needs root,
//! FABRIC_HOME and the builder images in the host's Docker):
//!
//! ```text
//! install_bench [PEERS] [node|go|typescript] [share|build|warm] [EDITS] [launch|lazy]
//! ```
//!
//! Starts PEERS peers: with 1, one org; else Org1 with PEERS-1 peers and
//! Org2 with one (approvals and the commit the usual two-org ones); creates the
//! channel, seeds the builder images, then deploys the fixture chaincode
//! and prints the time of each lifecycle phase, and of the first invoke.
//! `share` builds the chaincode once and hands the image to the other
//! peers; `build` lets every peer build it; `warm` has fabdev build it once
//! on the host's Docker with its caches (`chaincode::image`) and make each
//! peer's image in its daemon (seeding the runtime images only). With
//! EDITS, the chaincode is then changed by one line and deployed again
//! EDITS times, each printed as `edit=N deploy=…s first-query=…s` (odd
//! edits) or `first-invoke=…s` (even ones), from the edit. With `launch`, as `fabdev chaincode deploy` does, each
//! deploy ends by asking every peer to run the chaincode at once
//! (`lifecycle::launch_all`, counted in `deploy`); `lazy` (the default):
//! the first call launches it, as before fabdev did that.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use chaincode::lifecycle::{self, Caller, DeploySpec, LifecycleEvent};

/// The package of `dir`; TypeScript built first (`chaincode::nodebuild`,
/// as `fabdev chaincode deploy` does), its time printed.
fn package(dir: &Path, lang: &str) -> chaincode::package::Package {
    let opts = chaincode::package::PackageOptions {
        label: Some(format!("bench_{lang}")),
        lang: None,
    };
    if lang == "typescript" {
        let t = Instant::now();
        let step = chaincode::nodebuild::build_step(dir)
            .expect("build step")
            .expect("a build step");
        let built = chaincode::nodebuild::build(dir, &step).expect("tsc");
        println!("tsc build={:.2}s", t.elapsed().as_secs_f64());
        return chaincode::package::package_dir(built.dir(), &opts).expect("package");
    }
    chaincode::package::package_dir(dir, &opts).expect("package")
}

fn wall() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    network::channel::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let peers: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let lang = args.get(1).map_or("node", String::as_str);
    let mode = args.get(2).map_or("share", String::as_str).to_string();
    let edits: u32 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
    let launch = args.get(4).is_some_and(|a| a == "launch");
    let fabric = testnet::FabricHome::find().unwrap_or_else(|e| panic!("{e}"));
    let orgs = if peers <= 1 {
        "orgs:\n  - { name: Org1, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1] }\n"
            .to_string()
    } else {
        format!(
            "orgs:\n  - {{ name: Org1, peers: {} }}\n  - {{ name: Org2, peers: 1 }}\n",
            peers - 1
        )
    };
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: bench\nhostPortBase: 32500\n\
         fabric: {{ version: \"{}\" }}\n{orgs}",
        fabric.two_digit_version()
    );
    let ws =
        network::Workspace::parse(&text, Path::new("bench.yaml"), Path::new(".")).expect("spec");
    let opts = testnet::Options {
        dind: true,
        ready_timeout: std::time::Duration::from_secs(180),
        ..testnet::Options::default()
    };
    let net = testnet::TestNetwork::start(ws, opts)
        .await
        .expect("network");
    net.create_channel("mychannel").await.expect("channel");
    let seed = if mode == "warm" {
        net.runtime_images()
    } else {
        net.builder_images()
    };
    net.seed_images(&seed).await.expect("seed");
    let warm = net.warm_images().expect("host docker");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/chaincode")
        .join(lang);
    let vendored = chaincode::vendor::vendored_copy(&fixture).expect("vendor");
    let dir = vendored.as_ref().map_or(fixture.clone(), |t| {
        chaincode::vendor::copy_dir(t, &fixture)
    });
    let pkg = package(&dir, lang);
    let spec = DeploySpec::plain("basic", "mychannel", pkg.bytes, pkg.id);
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );
    let start = Instant::now();
    let mut marks: Vec<(String, f64)> = Vec::new();
    let images: Option<&dyn lifecycle::PeerImages> = match mode.as_str() {
        "warm" => Some(&warm),
        "share" => Some(&net),
        _ => None,
    };
    let mut first_approve = None;
    lifecycle::deploy(ws, topo, crypto, &eps, &spec, images, &mut |e| {
        let t = start.elapsed().as_secs_f64();
        if matches!(e, LifecycleEvent::Approving { .. }) && first_approve.is_none() {
            first_approve = Some(t);
        }
        marks.push((format!("{e:?}"), t));
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}"));
    let admins = lifecycle::ChannelAdmins::connect(ws, topo, crypto, &eps, "mychannel")
        .await
        .expect("admins");
    if launch {
        for l in lifecycle::launch_all(&admins, "basic").await {
            l.result
                .unwrap_or_else(|e| panic!("launch on {}: {e}", l.peer));
        }
    }
    let deployed = start.elapsed().as_secs_f64();
    let args: Vec<String> = ["b1", "red", "3", "Ann", "100"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let caller = Caller {
        org: "Org1".into(),
        user: "User1".into(),
    };
    lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller,
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    let invoked = start.elapsed().as_secs_f64();
    for (e, t) in &marks {
        println!("{t:8.2}s  {e}");
    }
    let install = first_approve.unwrap_or(deployed);
    println!(
        "peers={peers} lang={lang} mode={} install={install:.2}s approve+commit={:.2}s first-invoke={:.2}s approve+commit+invoke={:.2}s",
        mode,
        deployed - install,
        invoked - deployed,
        invoked - install
    );
    // One-line changes, each deployed and answered.
    let copy = tempfile::tempdir().expect("tempdir");
    let src = copy.path().join(lang);
    testnet::copy_tree(&dir, &src).expect("copy");
    let file = match lang {
        "go" => src.join("main.go"),
        "typescript" => src.join("src/assetTransfer.ts"),
        _ => src.join("index.js"),
    };
    for edit in 1..=edits {
        let code = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, format!("{code}\n// edit {edit}\n")).expect("write");
        let t0 = Instant::now();
        let wall0 = wall();
        let mut marks: Vec<(String, f64)> = Vec::new();
        let pkg = package(&src, lang);
        marks.push(("packaged".into(), t0.elapsed().as_secs_f64()));
        let spec = DeploySpec::plain("basic", "mychannel", pkg.bytes, pkg.id);
        lifecycle::deploy(ws, topo, crypto, &eps, &spec, images, &mut |e| {
            marks.push((format!("{e:?}"), t0.elapsed().as_secs_f64()));
        })
        .await
        .unwrap_or_else(|e| panic!("deploy: {e}"));
        if launch {
            for l in lifecycle::launch_all(&admins, "basic").await {
                l.result
                    .unwrap_or_else(|e| panic!("launch on {}: {e}", l.peer));
            }
        }
        let deployed = t0.elapsed().as_secs_f64();
        // Odd edits time the first query, even ones the first invoke: each
        // the first call after its deploy.
        let (call, args) = if edit % 2 == 1 {
            ("query", vec!["b1".to_string()])
        } else {
            (
                "invoke",
                [
                    format!("e{edit}"),
                    "red".into(),
                    "3".into(),
                    "Ann".into(),
                    "100".into(),
                ]
                .to_vec(),
            )
        };
        if call == "query" {
            lifecycle::query(
                ws,
                topo,
                crypto,
                &eps,
                &caller,
                "mychannel",
                "basic",
                "ReadAsset",
                &args,
            )
            .await
            .map(drop)
            .unwrap_or_else(|e| panic!("query: {e}"));
        } else {
            lifecycle::invoke(
                ws,
                topo,
                crypto,
                &eps,
                &caller,
                "mychannel",
                "basic",
                "CreateAsset",
                &args,
                &BTreeMap::new(),
            )
            .await
            .map(drop)
            .unwrap_or_else(|e| panic!("invoke: {e}"));
        }
        marks.push(("launched".into(), deployed));
        for (e, t) in &marks {
            println!("  edit={edit} {t:6.2}s  {e}");
        }
        println!(
            "edit={edit} mode={mode} lang={lang} peers={peers} launch={launch} deploy={deployed:.2}s first-{call}={:.2}s",
            t0.elapsed().as_secs_f64()
        );
        // What the first peer's daemon did for the launch: its container
        // events and from the edit (after the call, so it does not
        // delay it).
        if launch && let Ok(sock) = net.dind_socket("peer0-org1") {
            let host = format!("unix://{}", sock.display());
            let since = format!("{:.3}", wall0);
            let until = format!("{:.3}", wall() + 1.0);
            let ev = std::process::Command::new("docker")
                .args(["-H", &host, "events", "--since", &since, "--until", &until])
                .args([
                    "--filter",
                    "type=container",
                    "--format",
                    "{{.TimeNano}} {{.Status}}",
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for l in ev.lines() {
                let mut w = l.split_whitespace();
                let t: f64 = w.next().and_then(|t| t.parse().ok()).unwrap_or(0.0) / 1e9;
                println!(
                    "  edit={edit} {:6.2}s  dind peer0-org1 {}",
                    t - wall0,
                    w.next().unwrap_or("")
                );
            }
        }
    }
}
