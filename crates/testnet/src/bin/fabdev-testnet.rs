//! Run a workspace as a test network of real Fabric processes until killed
//! or interrupted, for trying things by hand (fabdev's commands against it,
//! the peer CLI through the host ports):
//!
//! ```text
//! fabdev-testnet [--dind] [FABDEV_YAML]
//! ```
//!
//! Prints one `ready` line with the network's folder, then each node's
//! address and host ports; Ctrl-C tears everything down.

use std::path::Path;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    network::channel::install_crypto_provider();
    let mut dind = false;
    let mut spec = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--dind" => dind = true,
            "-h" | "--help" => {
                println!("usage: fabdev-testnet [--dind] [FABDEV_YAML]");
                return;
            }
            other => spec = Some(other.to_string()),
        }
    }
    let ws = match spec {
        None => network::Workspace::default_network(),
        Some(p) => match network::Workspace::load_file(Path::new(&p)) {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("fabdev-testnet: {e}");
                std::process::exit(2);
            }
        },
    };
    let opts = testnet::Options {
        dind,
        ..testnet::Options::default()
    };
    let net = match testnet::TestNetwork::start(ws, opts).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("fabdev-testnet: {e}");
            std::process::exit(1);
        }
    };
    println!("ready {}", net.root().display());
    for node in &net.topology().nodes {
        let h = node.host_ports;
        let ip = net
            .ip(&node.name)
            .map(|i| i.to_string())
            .unwrap_or_default();
        let netns = net.netns(&node.name).unwrap_or_default();
        println!(
            "{} {ip} netns={netns} grpc=127.0.0.1:{}{} operations=127.0.0.1:{}",
            node.name,
            h.grpc,
            h.admin
                .map(|a| format!(" admin=127.0.0.1:{a}"))
                .unwrap_or_default(),
            h.operations
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    drop(net);
}
