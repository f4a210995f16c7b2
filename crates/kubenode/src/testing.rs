//! Helpers for `real_node_*` tests, here and in other crates' tests. They
//! panic (the test fails) with what went wrong and the node's logs, so use
//! them in tests only.

use std::time::{Duration, Instant};

use crate::{KubeNode, NodeError, NodeOptions};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The node, or `None` after saying loudly why the test is skipped (the
/// host lacks binaries, packages, images or root). With
/// FABDEV_REQUIRE_REAL_NODE=1 a missing piece fails the test instead.
pub async fn node_or_skip(test: &str) -> Option<KubeNode> {
    let started = Instant::now();
    match KubeNode::start(NodeOptions::default()).await {
        Ok(node) => {
            eprintln!("{test}: node Ready in {:.1?}", started.elapsed());
            Some(node)
        }
        Err(NodeError::Unavailable(reason))
            if std::env::var("FABDEV_REQUIRE_REAL_NODE").as_deref() != Ok("1") =>
        {
            eprintln!("SKIPPED {test}: the real node cannot run on this host: {reason}");
            None
        }
        Err(e) => panic!("{test}: the node did not start: {e}"),
    }
}

/// Wait until the pod satisfies `done`; on the deadline, fail with the
/// pod's status, its events and the node's logs.
pub async fn wait_pod(
    node: &KubeNode,
    pods: &Api<Pod>,
    name: &str,
    deadline: Duration,
    done: impl Fn(&Pod) -> bool,
) -> Pod {
    let until = Instant::now() + deadline;
    let mut last = None;
    loop {
        if let Ok(Some(pod)) = pods.get_opt(name).await {
            if done(&pod) {
                return pod;
            }
            last = pod.status;
        }
        if Instant::now() >= until {
            panic!(
                "pod {name} not there within {deadline:?}; last status: {last:#?}\n{}",
                node.logs(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Run a command in a pod's container through the API server; its stdout
/// (the test fails if it exits non-zero).
pub async fn exec(pods: &Api<Pod>, pod: &str, command: &[&str], params: AttachParams) -> String {
    let mut attached = pods
        .exec(pod, command.to_vec(), &params.stdout(true).stderr(true))
        .await
        .unwrap_or_else(|e| panic!("exec {command:?} in {pod}: {e}"));
    let mut out = String::new();
    let mut err = String::new();
    let mut stdout = attached.stdout().expect("stdout");
    let mut stderr = attached.stderr().expect("stderr");
    let (a, b) = tokio::join!(
        stdout.read_to_string(&mut out),
        stderr.read_to_string(&mut err)
    );
    a.expect("read stdout");
    b.expect("read stderr");
    let status = attached.take_status().expect("status").await;
    attached.join().await.expect("exec finished");
    if let Some(s) = status {
        assert!(
            s.status.as_deref() != Some("Failure"),
            "exec {command:?} in {pod} failed: {s:?}\nstderr: {err}"
        );
    }
    out
}

/// Whether FABRIC_HOME is set and the host's Docker has both images (made
/// from it by scripts/setup/node-images.sh).
pub fn local_fabric_images(peer: &str, orderer: &str) -> bool {
    std::env::var_os("FABRIC_HOME").is_some()
        && [peer, orderer].iter().all(|image| {
            std::process::Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", image])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// `GET path` (HTTP/1.0) on a pod's port through an API-server port-forward;
/// the whole answer.
pub async fn get_through_port_forward(pods: &Api<Pod>, pod: &str, port: u16, path: &str) -> String {
    let mut forward = pods
        .portforward(pod, &[port])
        .await
        .unwrap_or_else(|e| panic!("port-forward to {pod}:{port}: {e}"));
    let mut stream = forward.take_stream(port).expect("the forwarded stream");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {pod}\r\n\r\n").as_bytes())
        .await
        .expect("send the request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read the answer");
    drop(stream);
    // The pod closed the connection first; kube's forwarder then reports
    // failing to send its own close, which says nothing about the answer.
    let _ = forward.join().await;
    String::from_utf8_lossy(&answer).into_owned()
}
