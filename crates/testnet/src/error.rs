//! The test network's one error enum.

use std::path::PathBuf;
use std::time::Duration;

use network::{pki, render};

use crate::WHERE_TO_GET;

/// Errors of the test network; each names the node or the command. A
/// message does not print its source: print the chain (`testkit::dockerd::chain`).
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    #[error("no Fabric binaries: {looked}")]
    NoFabric { looked: String },
    #[error("no CouchDB release for a peer with `stateDatabase: couchdb`: {why}")]
    NoCouchdb { why: String },
    #[error("cannot run {what}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{line}` failed ({status}):\n{output}")]
    Command {
        line: String,
        status: String,
        output: String,
    },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("every test network slot (198.18.1-250.0/24) is taken by a live process")]
    NoSlot,
    #[error("a test network holds at most 245 pods ({pods} asked)")]
    TooManyPods { pods: usize },
    #[error("pod of {pod}: {problem}")]
    Unsupported { pod: String, problem: String },
    #[error("no node {node} in the test network (its nodes: {known})")]
    UnknownNode { node: String, known: String },
    #[error("cannot listen on 127.0.0.1:{port} for {node}")]
    Forward {
        node: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("{node}: not ready after {}s: {last}\n--- last lines of its logs ---\n{logs}", waited.as_secs())]
    NotReady {
        node: String,
        waited: Duration,
        last: String,
        logs: String,
    },
    #[error(
        "{node}: container {container} exited ({status})\n--- last lines of its log ---\n{logs}"
    )]
    Exited {
        node: String,
        container: String,
        status: String,
        logs: String,
    },
    #[error(transparent)]
    Images(cluster::images::ImageError),
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Genesis(#[from] network::genesis::GenesisError),
    #[error(transparent)]
    Channel(#[from] network::channel::ChannelError),
}

impl TestnetError {
    /// The fix, when there is one: a hint is data, which the tests print
    /// after the chain (`testkit::fabric`).
    pub fn hint(&self) -> Option<String> {
        match self {
            TestnetError::NoFabric { .. } => Some(WHERE_TO_GET.to_string()),
            TestnetError::Forward { .. } => Some("another network (a kind cluster, another test) uses the port; give the workspace another hostPortBase".to_string()),
            TestnetError::Pki(e) => e.hint(),
            TestnetError::Genesis(e) => e.hint(),
            TestnetError::Render(e) => e.hint(),
            TestnetError::Channel(e) => e.hint(),
            _ => None,
        }
    }
}
