#![allow(clippy::unwrap_used)]
//! Kubernetes API calls at request level, against tower-test's mock service:
//! server-side apply (method, path, field manager, force, content type) and
//! the watch-driven waits (list then watch, deadline, diagnostics).

use std::time::Duration;

use cluster::k8s::{self, K8sError, Manifest};
use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

type Handle = mock::Handle<Request<Body>, Response<Body>>;

fn mock_client() -> (Client, Handle) {
    let (svc, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(svc, "default"), handle)
}

fn respond(send: mock::SendResponse<Response<Body>>, status: u16, body: &Value) {
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

async fn body_text(req: Request<Body>) -> String {
    let bytes = req.into_body().collect_bytes().await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn query(req: &Request<Body>) -> String {
    req.uri().query().unwrap_or("").to_string()
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: peer0-org1-crypto\n  namespace: fabdev\ndata:\n  a: aGk=\n";
const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fabdev\n";
const STATEFULSET: &str = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: peer0-org1\n  namespace: fabdev\nspec:\n  serviceName: peer0-org1\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}\n";

#[tokio::test]
async fn apply_is_server_side_with_fabdev_as_forced_field_manager() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let expected = [
            ("/api/v1/namespaces/fabdev", "Namespace"),
            (
                "/api/v1/namespaces/fabdev/secrets/peer0-org1-crypto",
                "Secret",
            ),
            (
                "/apis/apps/v1/namespaces/fabdev/statefulsets/peer0-org1",
                "StatefulSet",
            ),
        ];
        for (path, kind) in expected {
            // First a GET to learn the current resourceVersion: not there yet.
            let (req, send) = handle.next_request().await.expect("get");
            assert_eq!(req.method(), Method::GET);
            assert_eq!(req.uri().path(), path);
            respond(send, 404, &not_found());
            // Then the apply patch.
            let (req, send) = handle.next_request().await.expect("patch");
            assert_eq!(req.method(), Method::PATCH);
            assert_eq!(req.uri().path(), path);
            let q = query(&req);
            assert!(q.contains("fieldManager=fabdev"), "{q}");
            assert!(q.contains("force=true"), "{q}");
            assert_eq!(
                req.headers().get("content-type").unwrap(),
                "application/apply-patch+yaml"
            );
            let body: Value = serde_json::from_str(&body_text(req).await).unwrap();
            assert_eq!(body["kind"], kind);
            let mut answer = body.clone();
            answer["metadata"]["resourceVersion"] = json!("1");
            respond(send, 200, &answer);
        }
    });
    let manifests = [NAMESPACE, SECRET, STATEFULSET].map(|y| Manifest {
        file: "x.yaml".into(),
        yaml: y.into(),
    });
    let applied = k8s::apply(&client, &manifests).await.unwrap();
    server.await.unwrap();
    let kinds: Vec<(&str, bool)> = applied
        .iter()
        .map(|a| (a.kind.as_str(), a.changed))
        .collect();
    assert_eq!(
        kinds,
        [("Namespace", true), ("Secret", true), ("StatefulSet", true)]
    );
}

#[tokio::test]
async fn reapplying_an_unchanged_object_reports_no_change() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.expect("get");
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fabdev", "resourceVersion": "7"}}),
        );
        let (_, send) = handle.next_request().await.expect("patch");
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fabdev", "resourceVersion": "7"}}),
        );
    });
    let m = Manifest {
        file: "00-namespace.yaml".into(),
        yaml: NAMESPACE.into(),
    };
    let applied = k8s::apply(&client, &[m]).await.unwrap();
    server.await.unwrap();
    assert!(!applied[0].changed);
}

/// A StatefulSet as the API server returns it: resourceVersion `rv`,
/// `replicas` in its spec, `ready` in its status (written by the controller
/// through the status subresource).
fn live_statefulset(rv: &str, replicas: u32, ready: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {
            "name": "peer0-org1", "namespace": "fabdev", "resourceVersion": rv, "generation": 1,
            "managedFields": [
                {"manager": "fabdev", "operation": "Apply", "apiVersion": "apps/v1",
                 "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                 "time": format!("2026-01-01T00:00:0{ready}Z"), "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {}}, "subresource": "status"},
            ],
        },
        "spec": {"replicas": replicas, "serviceName": "peer0-org1"},
        "status": {"replicas": 1, "readyReplicas": ready, "observedGeneration": 1},
    })
}

/// Apply STATEFULSET against a server that answers the GET with `before`
/// and the apply with `after`.
async fn apply_between(before: Value, after: Value) -> bool {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.expect("get");
        respond(send, 200, &before);
        let (_, send) = handle.next_request().await.expect("patch");
        respond(send, 200, &after);
    });
    let m = Manifest {
        file: "03.yaml".into(),
        yaml: STATEFULSET.into(),
    };
    let applied = k8s::apply(&client, &[m]).await.unwrap();
    server.await.unwrap();
    applied[0].changed
}

#[tokio::test]
async fn a_status_written_between_get_and_apply_is_not_a_change() {
    // The StatefulSet controller wrote the status (new resourceVersion, new
    // managedFields time of its status entry) between fabdev's GET and its
    // apply, which itself changed nothing.
    assert!(!apply_between(live_statefulset("7", 1, 0), live_statefulset("8", 1, 1)).await);
}

#[tokio::test]
async fn a_new_resource_version_with_a_new_spec_is_a_change() {
    assert!(apply_between(live_statefulset("7", 2, 1), live_statefulset("8", 1, 1)).await);
}

#[tokio::test]
async fn a_rejected_apply_names_kind_and_object() {
    let (client, mut handle) = mock_client();
    tokio::spawn(async move {
        let (_, send) = handle.next_request().await.expect("get");
        respond(send, 404, &not_found());
        let (_, send) = handle.next_request().await.expect("patch");
        respond(
            send,
            422,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422, "message": "spec.replicas: Invalid value"}),
        );
    });
    let m = Manifest {
        file: "03.yaml".into(),
        yaml: STATEFULSET.into(),
    };
    let err = k8s::apply(&client, &[m]).await.unwrap_err();
    // The message names the object; the API server's answer is its cause.
    let message = err.to_string();
    assert!(
        message.contains("cannot apply StatefulSet peer0-org1"),
        "{message}"
    );
    let cause = std::error::Error::source(&err).map(|s| s.to_string());
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("spec.replicas: Invalid value")),
        "{cause:?}"
    );
}

#[tokio::test]
async fn a_manifest_without_kind_is_refused_before_any_request() {
    let (client, _handle) = mock_client();
    let m = Manifest {
        file: "broken.yaml".into(),
        yaml: "metadata:\n  name: x\n".into(),
    };
    let err = k8s::apply(&client, &[m]).await.unwrap_err();
    assert!(matches!(err, K8sError::BadManifest { .. }), "{err}");
    assert!(err.to_string().starts_with("broken.yaml: "), "{err}");
}

fn node(name: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "resourceVersion": "10"},
           "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

#[tokio::test]
async fn waiting_for_nodes_lists_then_watches_until_ready() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.expect("list");
        assert_eq!(req.uri().path(), "/api/v1/nodes");
        assert!(!query(&req).contains("watch=true"));
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "10"},
            "items": [node("fabdev-control-plane", false)]}),
        );
        let (req, send) = handle.next_request().await.expect("watch");
        assert!(query(&req).contains("watch=true"), "{}", query(&req));
        assert!(
            query(&req).contains("resourceVersion=10"),
            "{}",
            query(&req)
        );
        let event = json!({"type": "MODIFIED", "object": node("fabdev-control-plane", true)});
        send.send_response(
            Response::builder()
                .status(200)
                .body(Body::from(format!("{event}\n").into_bytes()))
                .unwrap(),
        );
        handle
    });
    k8s::wait_nodes_ready(&client, Duration::from_secs(10))
        .await
        .unwrap();
    drop(server.await.unwrap());
}

#[tokio::test]
async fn waiting_for_nodes_times_out_saying_what_it_saw() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.expect("list");
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "10"},
            "items": [node("fabdev-control-plane", false)]}),
        );
        // The watch is never answered: nothing changes until the deadline.
        let (_, pending) = handle.next_request().await.expect("watch");
        (handle, pending)
    });
    let err = k8s::wait_nodes_ready(&client, Duration::from_millis(300))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("waiting for every node to be Ready"),
        "{text}"
    );
    assert!(text.contains("fabdev-control-plane NotReady"), "{text}");
    drop(server.await.unwrap());
}

#[tokio::test]
async fn a_pod_wait_timeout_shows_events_and_logs_of_unready_containers() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.expect("list pods");
        assert_eq!(req.uri().path(), "/api/v1/namespaces/fabdev/pods");
        assert!(
            query(&req).contains("labelSelector=fabdev.dev%2Frole%3Dpeer"),
            "{}",
            query(&req)
        );
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "3"},
            "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "peer0-org1-0", "resourceVersion": "3"},
                "status": {"phase": "Pending",
                    "initContainerStatuses": [{"name": "dind", "ready": false, "restartCount": 2, "image": "d", "imageID": "",
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
                    "containerStatuses": [{"name": "peer", "ready": false, "restartCount": 0, "image": "p", "imageID": "",
                        "state": {"waiting": {"reason": "PodInitializing"}}}]}}]}),
        );
        let (_, pending_watch) = handle.next_request().await.expect("watch");
        let (req, send) = handle.next_request().await.expect("events");
        assert_eq!(req.uri().path(), "/api/v1/namespaces/fabdev/events");
        assert!(
            query(&req).contains("involvedObject.name%3Dpeer0-org1-0"),
            "{}",
            query(&req)
        );
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "EventList", "metadata": {},
            "items": [{"metadata": {"name": "e1"}, "involvedObject": {}, "reason": "BackOff", "message": "Back-off restarting failed container dind"}]}),
        );
        for container in ["dind", "peer"] {
            let (req, send) = handle.next_request().await.expect("logs");
            assert_eq!(
                req.uri().path(),
                "/api/v1/namespaces/fabdev/pods/peer0-org1-0/log"
            );
            assert!(query(&req).contains(&format!("container={container}")));
            assert!(query(&req).contains("tailLines=20"));
            send.send_response(
                Response::builder()
                    .status(200)
                    .body(Body::from(
                        format!("{container} says: failed to start daemon\n").into_bytes(),
                    ))
                    .unwrap(),
            );
        }
        (handle, pending_watch)
    });
    let err = k8s::wait_pods_ready(
        &client,
        "fabdev",
        "fabdev.dev/role=peer",
        1,
        Duration::from_millis(300),
    )
    .await
    .unwrap_err()
    .to_string();
    drop(server.await.unwrap());
    assert!(
        err.contains("1 pod(s) with fabdev.dev/role=peer in namespace fabdev to be Ready"),
        "{err}"
    );
    assert!(err.contains("peer0-org1-0 dind: CrashLoopBackOff"), "{err}");
    assert!(
        err.contains("event BackOff: Back-off restarting failed container dind"),
        "{err}"
    );
    assert!(
        err.contains("dind| dind says: failed to start daemon"),
        "{err}"
    );
    assert!(
        err.contains("peer| peer says: failed to start daemon"),
        "{err}"
    );
}

#[tokio::test]
async fn the_client_comes_from_fabdevs_own_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let Err(err) = k8s::client(&path).await else {
        panic!("a missing kubeconfig must fail");
    };
    let err = err.to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: kind-fabdev\nclusters:\n- name: kind-fabdev\n  cluster:\n    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\ncontexts:\n- name: kind-fabdev\n  context: {cluster: kind-fabdev, user: kind-fabdev}\nusers:\n- name: kind-fabdev\n  user: {token: abc}\n",
    )
    .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = k8s::client(&path).await.unwrap();
    assert_eq!(client.default_namespace(), "default");
}

#[tokio::test]
async fn deleting_a_missing_namespace_is_not_an_error() {
    let (client, mut handle) = mock_client();
    tokio::spawn(async move {
        let (req, send) = handle.next_request().await.expect("delete");
        assert_eq!(req.method(), Method::DELETE);
        assert_eq!(req.uri().path(), "/api/v1/namespaces/fabdev");
        respond(send, 404, &not_found());
    });
    let existed = k8s::delete_namespace(&client, "fabdev", "u1", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!existed);
}

#[tokio::test]
async fn deleting_a_namespace_waits_until_it_is_gone() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fabdev", "uid": "u1", "resourceVersion": "4"}});
        let (req, send) = handle.next_request().await.expect("delete");
        assert_eq!(req.method(), Method::DELETE);
        assert_eq!(req.uri().path(), "/api/v1/namespaces/fabdev");
        respond(send, 200, &ns);
        // await_condition watches the object by name: answer with an empty
        // list (it is gone).
        let (req, send) = handle.next_request().await.expect("watch list");
        assert!(
            query(&req).contains("fieldSelector=metadata.name%3Dfabdev"),
            "{}",
            query(&req)
        );
        respond(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "9"}, "items": []}),
        );
        handle
    });
    let existed = k8s::delete_namespace(&client, "fabdev", "u1", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(existed);
    drop(server.await.unwrap());
}

/// The delete names the UID it checked (a precondition), and a watch the
/// API server refuses (403: no `watch namespaces`) is reported as that, not
/// as a timeout.
#[tokio::test]
async fn deleting_a_namespace_names_its_uid_and_a_refused_watch_is_no_timeout() {
    let (client, mut handle) = mock_client();
    let server = tokio::spawn(async move {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fabdev", "uid": "u1", "resourceVersion": "4"}});
        let (req, send) = handle.next_request().await.expect("delete");
        assert_eq!(req.method(), Method::DELETE);
        let body = body_text(req).await;
        assert!(
            body.contains("\"preconditions\":{\"uid\":\"u1\"}"),
            "{body}"
        );
        respond(send, 200, &ns);
        let (_, send) = handle.next_request().await.expect("watch list");
        respond(
            send,
            403,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                    "message": "namespaces \"fabdev\" is forbidden: User \"limited\" cannot watch resource \"namespaces\""}),
        );
        handle
    });
    let err = k8s::delete_namespace(&client, "fabdev", "u1", Duration::from_secs(30))
        .await
        .expect_err("a refused watch fails");
    assert!(matches!(err, k8s::K8sError::Watch { .. }), "{err:?}");
    assert!(!err.to_string().contains("timed out"), "{err}");
    drop(server.await.unwrap());
}
