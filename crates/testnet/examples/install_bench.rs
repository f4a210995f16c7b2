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
//! the first call launches it, as before fabdev did that. `typescript` is
//! built with npm before each package, as `fabdev chaincode deploy` does
//! (`chaincode::nodebuild`), the build's time printed.

use std::path::Path;
use std::time::Instant;

use chaincode::lifecycle::{self, ChannelAdmins, DeploySpec, LifecycleEvent, PeerImages};
use testkit::fabric::{
    CHANNEL, admins, deploy_observed, deploy_spec, home, invoke, peer_docker, query, start,
    workspace,
};
use testnet::TestNetwork;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let peers: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let lang = args.get(1).map_or("node", String::as_str);
    let mode = args.get(2).map_or("share", String::as_str).to_string();
    let edits: u32 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
    let launch = args.get(4).is_some_and(|a| a == "launch");
    let orgs = if peers <= 1 {
        format!(
            "orgs:\n  - {{ name: Org1, peers: 1 }}\nchannels:\n  - {{ name: {CHANNEL}, orgs: [Org1] }}\n"
        )
    } else {
        format!(
            "orgs:\n  - {{ name: Org1, peers: {} }}\n  - {{ name: Org2, peers: 1 }}\n",
            peers - 1
        )
    };
    let ws = workspace(
        &home(),
        &format!("name: bench\nhostPortBase: 32500\n{orgs}"),
    );
    let opts = testnet::Options {
        dind: true,
        ready_timeout: std::time::Duration::from_secs(180),
        ..testnet::Options::default()
    };
    let net = start(ws, opts).await;
    net.create_channel(CHANNEL).await.expect("channel");
    let seed = if mode == "warm" {
        net.runtime_images()
    } else {
        net.builder_images()
    };
    net.seed_images(&seed).await.expect("seed");
    let warm = net.warm_images().expect("host docker");
    let fixture = testkit::fixture("chaincode").join(lang);
    let vendored = chaincode::vendor::vendored_copy(&fixture).expect("vendor");
    let dir = vendored.as_ref().map_or(fixture.clone(), |t| {
        chaincode::vendor::copy_dir(t, &fixture)
    });
    let label = format!("bench_{lang}");
    let spec = spec_of(&dir, &label, lang);
    let images: Option<&dyn PeerImages> = match mode.as_str() {
        "warm" => Some(&warm),
        "share" => Some(&net),
        _ => None,
    };
    let start = Instant::now();
    let mut marks: Vec<(String, f64)> = Vec::new();
    let mut first_approve = None;
    deploy_observed(&net, &spec, images, &mut |e| {
        let t = start.elapsed().as_secs_f64();
        if matches!(e, LifecycleEvent::Approving { .. }) && first_approve.is_none() {
            first_approve = Some(t);
        }
        marks.push((format!("{e:?}"), t));
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}"));
    let admins = admins(&net).await;
    if launch {
        launch_all(&admins).await;
    }
    let deployed = start.elapsed().as_secs_f64();
    invoke(
        &net,
        "Org1",
        "basic",
        "CreateAsset",
        &["b1", "red", "3", "Ann", "100"],
    )
    .await;
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
    testkit::copy_tree(&dir, &src);
    let file = match lang {
        "go" => src.join("main.go"),
        "typescript" => src.join("src/assetTransfer.ts"),
        _ => src.join("index.js"),
    };
    for edit in 1..=edits {
        let timed = one_edit(
            &net,
            &admins,
            &file,
            &src,
            (&label, lang),
            edit,
            images,
            launch,
        )
        .await;
        println!("edit={edit} mode={mode} lang={lang} peers={peers} launch={launch} {timed}");
    }
}

/// Asks every peer to run the chaincode now, as `fabdev chaincode deploy`
/// ends.
async fn launch_all(admins: &ChannelAdmins) {
    for l in lifecycle::launch_all(admins, "basic").await {
        l.result
            .unwrap_or_else(|e| panic!("launch on {}: {e}", l.peer));
    }
}

/// The deploy spec of the chaincode in `dir`; TypeScript built first.
fn spec_of(dir: &Path, label: &str, lang: &str) -> DeploySpec {
    if lang != "typescript" {
        return deploy_spec("basic", dir, label);
    }
    let t = Instant::now();
    let step = chaincode::nodebuild::build_step(dir)
        .expect("build step")
        .expect("a build step");
    let built = chaincode::nodebuild::build(dir, &step).expect("tsc");
    println!("tsc build={:.2}s", t.elapsed().as_secs_f64());
    deploy_spec("basic", built.dir(), label)
}

fn wall() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Edit `edit`: a line added to `file`, the chaincode in `src` packaged
/// and deployed, then the first call after it: a query for odd edits, an
/// invoke for even ones. Prints its steps (with `launch`, also what the
/// first peer's daemon did for the launch) and says how long the deploy
/// took and when the first call answered, both from the edit.
#[allow(clippy::too_many_arguments)]
async fn one_edit(
    net: &TestNetwork,
    admins: &ChannelAdmins,
    file: &Path,
    src: &Path,
    (label, lang): (&str, &str),
    edit: u32,
    images: Option<&dyn PeerImages>,
    launch: bool,
) -> String {
    let code = std::fs::read_to_string(file).expect("read");
    std::fs::write(file, format!("{code}\n// edit {edit}\n")).expect("write");
    let t0 = Instant::now();
    let wall0 = wall();
    let mut marks: Vec<(String, f64)> = Vec::new();
    let spec: DeploySpec = spec_of(src, label, lang);
    marks.push(("packaged".into(), t0.elapsed().as_secs_f64()));
    deploy_observed(net, &spec, images, &mut |e| {
        marks.push((format!("{e:?}"), t0.elapsed().as_secs_f64()));
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}"));
    if launch {
        launch_all(admins).await;
    }
    let deployed = t0.elapsed().as_secs_f64();
    if edit % 2 == 1 {
        query(net, "Org1", "basic", "ReadAsset", &["b1"]).await;
    } else {
        let id = format!("e{edit}");
        invoke(
            net,
            "Org1",
            "basic",
            "CreateAsset",
            &[&id, "red", "3", "Ann", "100"],
        )
        .await;
    }
    // The answer's time, before the probe below (which waits a second
    // for the daemon's events).
    let answered = t0.elapsed().as_secs_f64();
    marks.push(("launched".into(), deployed));
    // What the first peer's daemon did for the launch: its container
    // events and the chaincode's first log line, in wall-clock time.
    if launch {
        let since = format!("{wall0:.3}");
        let until = format!("{:.3}", wall() + 1.0);
        let ev = peer_docker(
            net,
            "peer0-org1",
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "type=container",
                "--format",
                "{{.TimeNano}} {{.Status}}",
            ],
        );
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
    for (e, t) in &marks {
        println!("  edit={edit} {t:6.2}s  {e}");
    }
    format!(
        "deploy={deployed:.2}s first-{}={answered:.2}s",
        if edit % 2 == 1 { "query" } else { "invoke" }
    )
}
