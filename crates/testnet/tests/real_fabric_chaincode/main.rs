//! Chaincode end to end on real peers, each with its own DinD-shaped
//! dockerd: fabdev packages the fixture chaincode, installs it on every peer
//! of two orgs (each peer's daemon builds and runs it), approves, commits,
//! invokes through one org and queries through the other. Needs the
//! builder images in the host's Docker (scripts/setup/builder-images.sh).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::path::Path;

use chaincode::lifecycle::{self, DeploySpec};
use network::Workspace;
use testkit::fabric::{
    CHANNEL, admins, chaincode_network, containers_of, deploy, deploy_observed, deploy_spec, home,
    invoke, one_at_a_time, package, query, query_json, try_invoke, try_query, wait_for_peer,
    workspace,
};
use testkit::fixture_copy;
use testnet::TestNetwork;

mod couchdb;
mod declared;
mod go;
mod node;

/// Two orgs with a peer each, every peer with its own DinD daemon, on
/// [`CHANNEL`], with the builder images seeded into every daemon.
async fn two_org_network(port_base: u16) -> TestNetwork {
    chaincode_network(workspace(
        &home(),
        &format!("name: cc\nhostPortBase: {port_base}\n"),
    ))
    .await
}

/// The chaincode in `dir`, packaged with `label`, as `basic`.
fn spec(dir: &Path, label: &str) -> DeploySpec {
    deploy_spec("basic", dir, label)
}

/// Connects to every TCP port listening in the network namespace it runs in
/// (from /proc/net/tcp{,6}), to 2375 and 2376, and to the Docker socket
/// paths, sends `GET /version` to each and prints one JSON line: which
/// ports listen (and on which addresses, as /proc/net/tcp writes them),
/// and, per target, whether it connected and whether a Docker
/// API answered.
const DAEMON_PROBE: &str = r#"
const net = require('net'), fs = require('fs');
const listening = new Set(), on = {};
for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
  try {
    for (const l of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = l.trim().split(/\s+/);
      if (c[3] !== '0A') continue;
      const [addr, port] = c[1].split(':');
      listening.add(parseInt(port, 16));
      (on[parseInt(port, 16)] = on[parseInt(port, 16)] || []).push(addr);
    }
  } catch (e) {}
}
const targets = [...new Set([...listening, 2375, 2376])].map(p => ({ host: '127.0.0.1', port: p }))
  .concat(['/var/run/dind/docker.sock', '/var/run/docker.sock', '/run/docker.sock'].map(p => ({ path: p })));
const probe = t => new Promise(done => {
  let buf = '', connected = false;
  const s = net.connect(t);
  const end = err => { s.destroy(); done({ target: t.path || t.port, connected, docker: /ApiVersion/.test(buf), err }); };
  s.setTimeout(3000, () => end('timeout'));
  s.on('connect', () => { connected = true; s.write('GET /version HTTP/1.0\r\nHost: docker\r\n\r\n'); });
  s.on('data', d => { buf += d; });
  s.on('end', () => end(null));
  s.on('error', e => end(e.code));
});
(async () => {
  const results = [];
  for (const t of targets) results.push(await probe(t));
  console.log(JSON.stringify({ listening: [...listening], on, results }));
})();
"#;

fn run_probe(cmd: &mut std::process::Command) -> serde_json::Value {
    let out = cmd.output().expect("run the daemon probe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("probe output {text:?}: {e}"))
}

fn answered_docker(probe: &serde_json::Value) -> Vec<String> {
    probe["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["docker"] == true)
        .map(|r| r["target"].to_string())
        .collect()
}

/// The chaincode container of `label` on `peer` reaches the peer but no
/// Docker daemon (see [`DAEMON_PROBE`]).
fn daemon_is_closed_to_chaincode(net: &TestNetwork, peer: &str, label: &str) {
    let socket = net.dind_socket(peer).expect("socket");
    let host = format!("--host=unix://{}", socket.display());
    let names = containers_of(net, peer);
    let container = names
        .lines()
        .find(|n| n.contains(label))
        .unwrap_or_else(|| panic!("no chaincode container {label} on {peer}: {names}"));
    let inside = run_probe(std::process::Command::new("docker").args([
        host.as_str(),
        "exec",
        container,
        "node",
        "-e",
        DAEMON_PROBE,
    ]));
    let listening: Vec<u64> = inside["listening"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    // The pod's namespace: the peer's chaincode port listens, on loopback
    // only (127.0.0.1 is 0100007F in /proc/net/tcp), and connects.
    assert!(listening.contains(&7052), "{inside}");
    assert_eq!(
        inside["on"]["7052"],
        serde_json::json!(["0100007F"]),
        "the chaincode port listens on 127.0.0.1 only: {inside}"
    );
    assert!(
        inside["results"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["target"] == 7052 && r["connected"] == true),
        "{inside}"
    );
    assert!(!listening.contains(&2375), "{inside}");
    assert_eq!(answered_docker(&inside), Vec::<String>::new(), "{inside}");
    // Control: the same probe in the pod's namespace on the host, where the
    // host daemon's socket is at /var/run/docker.sock, finds it, so the probe
    // does detect a reachable daemon.
    let control = run_probe(std::process::Command::new("ip").args([
        "netns",
        "exec",
        &net.netns(peer).expect("netns"),
        "node",
        "-e",
        DAEMON_PROBE,
    ]));
    assert!(
        answered_docker(&control).contains(&"\"/var/run/docker.sock\"".to_string()),
        "{control}"
    );
}
