#![allow(clippy::unwrap_used)]
//! `cluster::k8s` against a real kube-apiserver, etcd and
//! kube-controller-manager (testkit::apiserver; built by
//! scripts/setup/kube.sh): server-side apply creates, changes nothing the
//! second time and takes back hand-edited fields; pod readiness as a kubelet
//! reports it through pods/status; namespace deletion finalized by the
//! namespace controller; a removed node's objects deleted by label, and
//! nobody else's. The test binary shares one control plane; each test
//! works in a namespace of its own.
//!
//! The default network's rendered objects are applied in
//! tests/apiserver_network.rs (the fabdev crate: cluster cannot depend on
//! network).

use std::time::Duration;

use cluster::k8s::{self, Applied, K8sError, Manifest};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use testkit::apiserver;

const WAIT: Duration = Duration::from_secs(60);

fn manifests(docs: &[(&str, String)]) -> Vec<Manifest> {
    docs.iter()
        .map(|(file, yaml)| Manifest {
            file: file.to_string(),
            yaml: yaml.clone(),
        })
        .collect()
}

fn changed(applied: &[Applied]) -> Vec<(String, bool)> {
    applied
        .iter()
        .map(|a| (format!("{} {}", a.kind, a.name), a.changed))
        .collect()
}

fn namespace(ns: &str) -> (&'static str, String) {
    (
        "00-namespace.yaml",
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    app.kubernetes.io/managed-by: fabdev\n"
        ),
    )
}

/// Objects shaped like fabdev's: a namespace, a Secret, a Service and a
/// StatefulSet that the API server fills with many defaults.
fn objects(ns: &str) -> Vec<Manifest> {
    manifests(&[
        namespace(ns),
        (
            "01-secret.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: peer0-org1-crypto\n  namespace: {ns}\ndata:\n  a: aGk=\n"
            ),
        ),
        (
            "02-service.yaml",
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: peer0-org1\n  namespace: {ns}\nspec:\n  selector: {{app: peer0-org1}}\n  ports:\n  - name: grpc\n    port: 7051\n"
            ),
        ),
        (
            "03-statefulset.yaml",
            format!(
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: peer0-org1\n  namespace: {ns}\nspec:\n  serviceName: peer0-org1\n  selector: {{matchLabels: {{app: peer0-org1}}}}\n  template:\n    metadata: {{labels: {{app: peer0-org1}}}}\n    spec:\n      containers:\n      - name: peer\n        image: hyperledger/fabric-peer:2.5\n        ports: [{{containerPort: 7051}}]\n"
            ),
        ),
    ])
}

#[tokio::test]
async fn apply_creates_then_changes_nothing_then_takes_back_hand_edits() {
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "apply-objects";
    let objs = objects(ns);

    let first = k8s::apply(&client, &objs).await.unwrap();
    assert_eq!(first.len(), 4);
    assert!(
        first.iter().all(|a| a.changed),
        "first apply: {:?}",
        changed(&first)
    );

    let second = k8s::apply(&client, &objs).await.unwrap();
    assert!(
        second.iter().all(|a| !a.changed),
        "second apply of the same objects: {:?}",
        changed(&second)
    );

    // A hand edit (`kubectl edit`: a strategic merge patch by another field manager) of
    // a field fabdev owns: the editor now owns the image.
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    sts.patch(
        "peer0-org1",
        &edit,
        &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "peer", "image": "example.invalid/hand-edited:1"}
        ]}}}})),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .patch(
            "peer0-org1-crypto",
            &edit,
            &Patch::Strategic(json!({"data": {"a": "ZWRpdGVk"}})),
        )
        .await
        .unwrap();

    // Without force the API server refuses fabdev's apply: the fields
    // belong to someone else now.
    let obj: serde_json::Value = serde_saphyr::from_str(&objs[3].yaml).unwrap();
    let unforced = sts
        .patch(
            "peer0-org1",
            &PatchParams::apply(k8s::FIELD_MANAGER),
            &Patch::Apply(&obj),
        )
        .await;
    match unforced {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("an unforced apply over a hand edit should conflict: {other:?}"),
    }

    // fabdev's apply is forced: its values come back, and only the edited
    // objects count as changed.
    let third = k8s::apply(&client, &objs).await.unwrap();
    let expected: Vec<(String, bool)> = [
        (format!("Namespace {ns}"), false),
        ("Secret peer0-org1-crypto".to_string(), true),
        ("Service peer0-org1".to_string(), false),
        ("StatefulSet peer0-org1".to_string(), true),
    ]
    .into_iter()
    .collect();
    assert_eq!(changed(&third), expected);
    let image = sts
        .get("peer0-org1")
        .await
        .unwrap()
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("hyperledger/fabric-peer:2.5"));
    let data = secrets
        .get("peer0-org1-crypto")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["a"].0, b"hi");

    // And the image is fabdev's again: a fourth apply changes nothing.
    let fourth = k8s::apply(&client, &objs).await.unwrap();
    assert!(fourth.iter().all(|a| !a.changed), "{:?}", changed(&fourth));
}

/// A namespace with the `default` service account (the ServiceAccount
/// admission plugin refuses pods without it; the controller manager makes
/// it too, but not necessarily before the test's first pod).
async fn pod_namespace(client: &Client, ns: &str) {
    let sa = (
        "01-sa.yaml",
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: {ns}\n"
        ),
    );
    k8s::apply(client, &manifests(&[namespace(ns), sa]))
        .await
        .unwrap();
}

/// A pod of workspace `ws` as fabdev labels them. No scheduler, no kubelet:
/// it stays Pending until a test writes its status.
async fn create_pod(client: &Client, ns: &str, name: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/managed-by": "fabdev",
                "fabdev.test/workspace": ns,
            },
        },
        "spec": {"containers": [{"name": "peer", "image": "hyperledger/fabric-peer:2.5"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
}

/// What a kubelet writes through pods/status when the container is up and
/// its readiness probe passes.
async fn report_ready(client: &Client, ns: &str, name: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let status = json!({"status": {
        "phase": "Running",
        "conditions": [
            {"type": "ContainersReady", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
    }});
    pods.patch_status(
        name,
        &PatchParams::apply("fake-kubelet").force(),
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "status": status["status"]})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn wait_pods_ready_returns_when_the_kubelet_reports_every_pod_ready() {
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "pods-ready";
    pod_namespace(&client, ns).await;
    create_pod(&client, ns, "orderer0-0").await;
    create_pod(&client, ns, "peer0-org1-0").await;

    let mut pods = k8s::pods(&client, ns).await.unwrap();
    pods.sort();
    assert_eq!(
        pods,
        [
            ("orderer0-0".to_string(), false),
            ("peer0-org1-0".to_string(), false)
        ]
    );

    // Wait first, then the pods become Ready: the wait sees it through its
    // watch, not only in its first listing.
    let selector = format!("fabdev.test/workspace={ns}");
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move { k8s::wait_pods_ready(&client, ns, &selector, 2, WAIT).await })
    };
    report_ready(&client, ns, "orderer0-0").await;
    report_ready(&client, ns, "peer0-org1-0").await;
    waiting.await.unwrap().unwrap();

    let mut pods = k8s::pods(&client, ns).await.unwrap();
    pods.sort();
    assert_eq!(
        pods,
        [
            ("orderer0-0".to_string(), true),
            ("peer0-org1-0".to_string(), true)
        ]
    );
}

#[tokio::test]
async fn wait_pods_ready_times_out_naming_the_pod_that_is_not_ready() {
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "pods-timeout";
    pod_namespace(&client, ns).await;
    create_pod(&client, ns, "orderer0-0").await;
    create_pod(&client, ns, "peer0-org1-0").await;
    report_ready(&client, ns, "orderer0-0").await;
    // The peer's image cannot be pulled, as a kubelet says it.
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    pods.patch_status(
        "peer0-org1-0",
        &PatchParams::apply("fake-kubelet").force(),
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "peer0-org1-0"}, "status": {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{
                "name": "peer", "ready": false, "restartCount": 0,
                "image": "hyperledger/fabric-peer:2.5", "imageID": "",
                "state": {"waiting": {"reason": "ErrImageNeverPull"}},
            }],
        }})),
    )
    .await
    .unwrap();

    let selector = format!("fabdev.test/workspace={ns}");
    let err = k8s::wait_pods_ready(&client, ns, &selector, 2, Duration::from_secs(3))
        .await
        .unwrap_err();
    let K8sError::Timeout {
        what,
        last,
        diagnostics,
        ..
    } = &err
    else {
        panic!("expected a timeout, got {err:?}");
    };
    assert!(what.contains("2 pod(s)") && what.contains(ns), "{what}");
    assert_eq!(
        last, "orderer0-0 Ready, peer0-org1-0 peer: ErrImageNeverPull",
        "{err}"
    );
    let diagnostics = diagnostics.as_deref().unwrap_or_default();
    assert!(diagnostics.contains("pod peer0-org1-0"), "{diagnostics}");
    assert!(!diagnostics.contains("pod orderer0-0"), "{diagnostics}");
    // Events and logs are read from the real API server: it lists the pod's
    // events (none: no scheduler, no kubelet) and answers the log request of
    // a pod no node runs with an empty log, both without error.
    assert!(!diagnostics.contains("cannot list events"), "{diagnostics}");
    assert!(!diagnostics.contains("no logs"), "{diagnostics}");
    let text = err.to_string();
    assert!(text.contains("timed out after 3s"), "{text}");
    assert!(text.contains("peer0-org1-0"), "{text}");
}

#[tokio::test]
async fn delete_namespace_waits_until_the_controllers_have_removed_it() {
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "delete-me";
    pod_namespace(&client, ns).await;
    create_pod(&client, ns, "peer0-org1-0").await;
    let cm = (
        "02-configmap.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: core\n  namespace: {ns}\ndata:\n  a: b\n"
        ),
    );
    k8s::apply(&client, &manifests(&[cm])).await.unwrap();

    // The namespace controller deletes its objects, then the finalizers
    // (kubernetes, foregroundDeletion) go and the namespace with them.
    let uid = k8s::namespace_meta(&client, ns).await.unwrap().unwrap().uid;
    assert!(
        k8s::delete_namespace(&client, ns, &uid, WAIT)
            .await
            .unwrap()
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(ns).await.unwrap().is_none());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    assert!(cms.get_opt("core").await.unwrap().is_none());

    // Deleting it again: there is no such namespace.
    assert!(
        !k8s::delete_namespace(&client, ns, &uid, WAIT)
            .await
            .unwrap()
    );
}

/// The delete carries the UID fabdev read: a namespace of the same name
/// made again since (someone else's) is refused by the API server, not
/// deleted.
#[tokio::test]
async fn delete_namespace_leaves_a_namespace_made_again_since_its_uid_was_read() {
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "made-again";
    pod_namespace(&client, ns).await;
    let old = k8s::namespace_meta(&client, ns).await.unwrap().unwrap().uid;
    assert!(
        k8s::delete_namespace(&client, ns, &old, WAIT)
            .await
            .unwrap()
    );
    pod_namespace(&client, ns).await;
    let new = k8s::namespace_meta(&client, ns).await.unwrap().unwrap().uid;
    assert_ne!(old, new);
    let err = k8s::delete_namespace(&client, ns, &old, WAIT)
        .await
        .expect_err("a stale UID must not delete the new namespace");
    assert!(matches!(err, k8s::K8sError::Changed { .. }), "{err:?}");
    assert!(err.to_string().contains(&old), "{err}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let still = namespaces.get(ns).await.unwrap();
    assert_eq!(still.metadata.uid.as_deref(), Some(new.as_str()));
    assert!(still.metadata.deletion_timestamp.is_none());
}

/// A removed orderer's objects (what `up`'s `remove orderer <name>` step
/// deletes): every kind fabdev renders for a node, labelled with the node.
fn node_objects(ns: &str, node: &str) -> Vec<(String, String)> {
    let meta = format!(
        "metadata:\n  name: {node}\n  namespace: {ns}\n  labels: {{fabdev.dev/node: {node}}}\n"
    );
    vec![
        (
            format!("{node}-statefulset.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n  serviceName: {node}\n  selector: {{matchLabels: {{app: {node}}}}}\n  template:\n    metadata: {{labels: {{app: {node}}}}}\n    spec:\n      containers:\n      - name: orderer\n        image: fabdev.invalid/orderer:1\n"
            ),
        ),
        (
            format!("{node}-service.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\n{meta}spec:\n  selector: {{app: {node}}}\n  ports:\n  - name: grpc\n    port: 7050\n"
            ),
        ),
        (
            format!("{node}-secret.yaml"),
            format!("apiVersion: v1\nkind: Secret\n{meta}data:\n  a: aGk=\n"),
        ),
        (
            format!("{node}-configmap.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  a: b\n"),
        ),
        (
            format!("{node}-pvc.yaml"),
            format!(
                "apiVersion: v1\nkind: PersistentVolumeClaim\n{meta}spec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n"
            ),
        ),
    ]
}

#[tokio::test]
async fn delete_labelled_deletes_the_nodes_objects_of_every_kind_and_no_other() {
    use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
    let server = apiserver::shared().await;
    let client = server.client().await;
    let ns = "fabdev-delete-labelled";
    let (ns_file, ns_yaml) = namespace(ns);
    let mut docs = vec![(ns_file.to_string(), ns_yaml)];
    docs.extend(node_objects(ns, "orderer3-ordererorg"));
    docs.extend(node_objects(ns, "orderer0-ordererorg"));
    let docs: Vec<(&str, String)> = docs.iter().map(|(f, y)| (f.as_str(), y.clone())).collect();
    k8s::apply(&client, &manifests(&docs)).await.unwrap();

    let selector = "fabdev.dev/node=orderer3-ordererorg";
    let mut deleted = k8s::delete_labelled(&client, ns, selector).await.unwrap();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            "ConfigMap orderer3-ordererorg",
            "PersistentVolumeClaim orderer3-ordererorg",
            "Secret orderer3-ordererorg",
            "Service orderer3-ordererorg",
            "StatefulSet orderer3-ordererorg",
        ]
    );
    // Gone, or going (a PVC waits for its protection finalizer): never
    // listed as live again; the other node's objects are untouched.
    async fn live<K>(client: &Client, ns: &str, name: &str) -> bool
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(client.clone(), ns);
        api.get_opt(name)
            .await
            .unwrap()
            .is_some_and(|o| o.meta().deletion_timestamp.is_none())
    }
    for (name, want) in [
        ("orderer3-ordererorg", false),
        ("orderer0-ordererorg", true),
    ] {
        assert_eq!(
            live::<StatefulSet>(&client, ns, name).await,
            want,
            "StatefulSet {name}"
        );
        assert_eq!(
            live::<Service>(&client, ns, name).await,
            want,
            "Service {name}"
        );
        assert_eq!(
            live::<Secret>(&client, ns, name).await,
            want,
            "Secret {name}"
        );
        assert_eq!(
            live::<ConfigMap>(&client, ns, name).await,
            want,
            "ConfigMap {name}"
        );
        assert_eq!(
            live::<PersistentVolumeClaim>(&client, ns, name).await,
            want,
            "PersistentVolumeClaim {name}"
        );
    }
    // A second run finds nothing selected: nothing to do.
    let again = k8s::delete_labelled(&client, ns, selector).await.unwrap();
    assert!(
        again.iter().all(|d| d.starts_with("PersistentVolumeClaim")),
        "only a PVC still finalizing may be listed again: {again:?}"
    );
}
