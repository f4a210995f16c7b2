//! The lifecycle's calls on a test network, as the chaincode tests make
//! them: on [`CHANNEL`], as an org's `User1`, with the network's own
//! workspace, topology, crypto and endpoints. The plain forms fail the
//! test with what went wrong (and the network's logs where they help); the
//! `try_` forms give the error to a test that expects one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chaincode::lifecycle::{
    self, ChannelAdmins, DeployReport, DeploySpec, LifecycleError, LifecycleEvent, PeerImages,
};
use network::channel::Submitted;
use testnet::TestNetwork;

use super::{CHANNEL, caller};
use crate::dockerd::chain;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Deploys `spec` on the network (`lifecycle::deploy`), `images` building
/// and placing chaincode images (the network itself: one peer builds, the
/// others are given the image; `None`: every peer builds), each event
/// given to `on_event`.
pub async fn deploy_observed(
    net: &TestNetwork,
    spec: &DeploySpec,
    images: Option<&dyn PeerImages>,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<DeployReport, LifecycleError> {
    lifecycle::deploy(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        spec,
        images,
        on_event,
    )
    .await
}

/// [`deploy_observed`] that must succeed: its report and its events. A
/// failure fails the test with the error and the network's logs.
pub async fn deploy(
    net: &TestNetwork,
    spec: &DeploySpec,
    images: Option<&dyn PeerImages>,
) -> (DeployReport, Vec<LifecycleEvent>) {
    let mut events = Vec::new();
    let report = deploy_observed(net, spec, images, &mut |e| events.push(e))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "deploy {}: {}\n{events:?}\n{}",
                spec.name,
                chain(&e),
                net.all_logs()
            )
        });
    (report, events)
}

/// Submits `name`'s `function` with `args` as `org`'s User1.
pub async fn try_invoke(
    net: &TestNetwork,
    org: &str,
    name: &str,
    function: &str,
    args: &[&str],
) -> Result<Submitted, LifecycleError> {
    lifecycle::invoke(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        &caller(org),
        CHANNEL,
        name,
        function,
        &strings(args),
        &BTreeMap::new(),
    )
    .await
}

/// [`try_invoke`] that must succeed.
pub async fn invoke(
    net: &TestNetwork,
    org: &str,
    name: &str,
    function: &str,
    args: &[&str],
) -> Submitted {
    try_invoke(net, org, name, function, args)
        .await
        .unwrap_or_else(|e| panic!("invoke {name} {function} as {org}: {}", chain(&e)))
}

/// Evaluates `name`'s `function` with `args` as `org`'s User1: the answer
/// as text.
pub async fn try_query(
    net: &TestNetwork,
    org: &str,
    name: &str,
    function: &str,
    args: &[&str],
) -> Result<String, LifecycleError> {
    lifecycle::query(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        &caller(org),
        CHANNEL,
        name,
        function,
        &strings(args),
    )
    .await
    .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// [`try_query`] that must succeed.
pub async fn query(
    net: &TestNetwork,
    org: &str,
    name: &str,
    function: &str,
    args: &[&str],
) -> String {
    try_query(net, org, name, function, args)
        .await
        .unwrap_or_else(|e| panic!("query {name} {function} as {org}: {}", chain(&e)))
}

/// [`query`] whose answer is JSON.
pub async fn query_json(
    net: &TestNetwork,
    org: &str,
    name: &str,
    function: &str,
    args: &[&str],
) -> serde_json::Value {
    let text = query(net, org, name, function, args).await;
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("query {name} {function}: not JSON ({e}): {text}"))
}

/// One admin connection per peer of [`CHANNEL`].
pub async fn admins(net: &TestNetwork) -> ChannelAdmins {
    ChannelAdmins::connect(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        CHANNEL,
    )
    .await
    .unwrap_or_else(|e| panic!("channel admins: {}", chain(&e)))
}

/// `docker ARGS` against `peer`'s own daemon (its DinD socket): what it
/// printed. A failure fails the test.
pub fn peer_docker(net: &TestNetwork, peer: &str, args: &[&str]) -> String {
    let socket = net
        .dind_socket(peer)
        .unwrap_or_else(|e| panic!("{peer}'s DinD socket: {}", chain(&e)));
    let out = std::process::Command::new("docker")
        .arg(format!("--host=unix://{}", socket.display()))
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} on {peer}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The names of the containers `peer`'s own daemon runs, one a line.
pub fn containers_of(net: &TestNetwork, peer: &str) -> String {
    peer_docker(net, peer, &["ps", "--format", "{{.Names}}"])
}

/// A copy of the Go chaincode `fixture` with its `vendor/` (made with the
/// test runner's Go environment; the fixture is not changed), as each
/// peer's builder, which has no network, needs it: the copy's folder and
/// the temporary folder that holds it.
pub fn vendored(fixture: &Path) -> (PathBuf, tempfile::TempDir) {
    let copy = chaincode::vendor::vendored_copy(fixture)
        .unwrap_or_else(|e| panic!("go mod vendor in {}: {e}", fixture.display()))
        .unwrap_or_else(|| {
            panic!(
                "no vendored copy of {}: `go` is not on PATH",
                fixture.display()
            )
        });
    let dir = chaincode::vendor::copy_dir(&copy, fixture);
    (dir, copy)
}
