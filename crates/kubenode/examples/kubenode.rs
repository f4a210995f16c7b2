//! Run the real single-node cluster by hand, until Ctrl-C:
//!
//!     sudo target/debug/examples/kubenode [IMAGE ...]
//!
//! (after `cargo build -p kubenode --examples`). Imports each IMAGE from the
//! host's Docker, prints the kubeconfig and context to use (for example in a
//! fabdev.yaml `cluster: { provider: existing, kubeconfig, context }`), and
//! tears everything down on Ctrl-C.
use kubenode::{KubeNode, NodeOptions};

#[tokio::main]
async fn main() {
    let started = std::time::Instant::now();
    let node = match KubeNode::start(NodeOptions::default()).await {
        Ok(node) => node,
        Err(e) => {
            eprintln!("kubenode: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("kubenode: node Ready in {:.1?}", started.elapsed());
    for image in std::env::args().skip(1) {
        if let Err(e) = node.import_image(&image) {
            eprintln!("kubenode: {e}");
            std::process::exit(1);
        }
    }
    println!("kubeconfig: {}", node.kubeconfig().display());
    println!("context: {}", node.context());
    println!("Ctrl-C stops the node and removes it.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("kubenode: waiting for Ctrl-C: {e}");
    }
    drop(node);
    let left = kubenode::leftovers();
    if !left.is_empty() {
        eprintln!("kubenode: left behind: {left:#?}");
        std::process::exit(1);
    }
}
