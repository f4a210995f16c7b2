//! The real single-node cluster of `crates/kubenode` for the `real_node_*`
//! tests, and helpers for its pods (wait, exec, a GET through a
//! port-forward).
//!
//! A `real_node_*` test is marked
//! `#[cfg_attr(not(real_node), ignore = "…")]` (the cfg from the build
//! script of its crate, through `testkit-probe`), so on a host without the
//! pieces it is reported `ignored`, and [`node`] only runs where they were
//! found, or under `FABDEV_REQUIRE_REAL_NODE=1`, where a missing piece
//! fails the test.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::AttachParams;
use kubenode::{KubeNode, NodeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::probe::Check;
use crate::wait_until_async;

/// The node for `test`, Ready. Fails the test, naming each missing piece,
/// when the host lacks one (under FABDEV_REQUIRE_REAL_NODE=1, or when one
/// went away after the build), or with what went wrong when it does not
/// start.
pub async fn node(test: &str) -> KubeNode {
    Check::real_node().fail_if_missing(test);
    let started = Instant::now();
    match KubeNode::start(NodeOptions::default()).await {
        Ok(node) => {
            eprintln!("{test}: node Ready in {:.1?}", started.elapsed());
            node
        }
        Err(e) => panic!(
            "{test}: the node did not start: {}",
            crate::dockerd::chain(&e)
        ),
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
    let last = std::cell::RefCell::new(None);
    let found = wait_until_async(deadline, Duration::from_millis(250), || async {
        let pod = pods.get_opt(name).await.ok().flatten()?;
        if done(&pod) {
            return Some(pod);
        }
        *last.borrow_mut() = pod.status;
        None
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "pod {name} not there within {deadline:?}; last status: {:#?}\n{}",
            last.borrow(),
            node.logs(30)
        )
    })
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
