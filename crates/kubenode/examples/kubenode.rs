//! Run the real single-node cluster by hand, until Ctrl-C, SIGTERM or
//! SIGHUP:
//!
//!     sudo target/debug/examples/kubenode [IMAGE ...]
//!
//! (after `cargo build -p kubenode --examples`). Imports each IMAGE from the
//! host's Docker, prints the kubeconfig (0600, yours under sudo; a new
//! admin token each run) and context to use (for example in a fabdev.yaml
//! `cluster: { provider: existing, kubeconfig, context }`), and tears
//! everything down on Ctrl-C, SIGTERM or SIGHUP (also while starting). Its
//! components die with it if it is killed; the next start clears the rest.
use kubenode::stop_signal;
use kubenode::{KubeNode, NodeOptions};

#[tokio::main]
async fn main() {
    let started = std::time::Instant::now();
    let stop = stop_signal();
    tokio::pin!(stop);
    // A signal during the start drops the start, which tears down what it
    // made.
    let node = tokio::select! {
        node = KubeNode::start(NodeOptions::default()) => match node {
            Ok(node) => node,
            Err(e) => {
                eprintln!("kubenode: {e}");
                std::process::exit(1);
            }
        },
        signal = &mut stop => {
            eprintln!("kubenode: {} while starting; removed what was started", describe(signal));
            finish();
        }
    };
    eprintln!("kubenode: node Ready in {:.1?}", started.elapsed());
    for image in std::env::args().skip(1) {
        if let Err(e) = node.import_image(&image) {
            eprintln!("kubenode: {e}");
            drop(node);
            std::process::exit(1);
        }
    }
    println!("kubeconfig: {}", node.kubeconfig().display());
    println!("context: {}", node.context());
    println!("Ctrl-C (or SIGTERM, SIGHUP) stops the node and removes it.");
    let signal = stop.await;
    eprintln!("kubenode: {}; stopping", describe(signal));
    drop(node);
    finish();
}

fn describe(signal: Result<&'static str, std::io::Error>) -> String {
    match signal {
        Ok(name) => name.to_string(),
        Err(e) => format!("waiting for a signal failed ({e})"),
    }
}

/// Exit 0 when nothing is left behind, 1 naming what is.
fn finish() -> ! {
    let left = kubenode::leftovers();
    if !left.is_empty() {
        eprintln!("kubenode: left behind: {left:#?}");
        std::process::exit(1);
    }
    std::process::exit(0);
}
