#![allow(clippy::unwrap_used)]
//! Existing-cluster mode (`cluster: { provider: existing }`) against a real
//! etcd, kube-apiserver and kube-controller-manager
//! (testkit::apiserver, from scripts/setup/kube.sh):
//!
//! - `up` applies fabdev's objects into its namespace (no NodePort host
//!   Services), waits for the pods and never runs kind (the kind binary given
//!   is a script that records any call and fails); there is no kubelet, so
//!   this test marks the pods Ready as a kubelet would, and `up` stops at
//!   seeding the peers' DinD, whose port-forward needs a kubelet. A second
//!   `up` changes nothing.
//! - `status` reads the pods through the kubeconfig's context.
//! - doctor's cluster checks: as the admin everything passes; as a user
//!   bound to a Role without some verbs, the denied permissions are named,
//!   and a namespace that enforces `restricted` Pod Security is reported.
//! - `down` removes fabdev's namespace only (another namespace stays); `up`
//!   and `down` refuse a namespace of the workspace's name that is not
//!   fabdev's.
//! - Ownership (issue 19, finding 3): a namespace someone made beforehand
//!   with the workspace's name and label and a RoleBinding of their own is
//!   refused by `up` and `down` and named by doctor; `--adopt-namespace`
//!   takes it over, writing the workspace's random ID on it; a second
//!   workspace of the same name is then refused, and `down` deletes only
//!   the namespace of the ID it checked.
//!
//! Docker is needed for the builder images `up` keeps on the host (tiny
//! local images under the spec's names).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cluster::doctor::{self, Check, Verdict};
use cluster::k8s::Access;
use fabdev::events::{ClusterState, Event};
use fabdev::flow::{self, Options};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use testkit::apiserver::{self, ApiServer, LIMITED_CONTEXT, LIMITED_USER};
use testkit::dockerd::{self, chain, host};
use testkit::kubelet::FakeKubelet;
use testkit::outcome::{outcome, status_without_fabric, up_stopping_at};

/// A kind binary that must not be run: it records the call and fails.
fn forbidden_kind(dir: &Path) -> PathBuf {
    let kind = dir.join("kind");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho 'kind must not run in existing-cluster mode' >&2\nexit 1\n",
            dir.join("kind-calls.log").display()
        ),
    )
    .unwrap();
    testkit::make_executable(&kind);
    kind
}

async fn create_namespace(client: &kube::Client, name: &str, labels: serde_json::Value) {
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": labels}
    }))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

/// Applies a Role in `namespace` with these rules, bound to the limited user.
async fn bind_limited_user(client: &kube::Client, namespace: &str, rules: serde_json::Value) {
    let apply = |api_version: &str, kind: &str| {
        kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "rbac.authorization.k8s.io",
            api_version,
            kind,
        ))
    };
    let params = PatchParams::apply("up-existing-test");
    let roles: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &apply("v1", "Role"));
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "fabdev-limited", "namespace": namespace},
        "rules": rules
    });
    roles
        .patch("fabdev-limited", &params, &Patch::Apply(&role))
        .await
        .unwrap();
    let bindings: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &apply("v1", "RoleBinding"));
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "fabdev-limited", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "fabdev-limited"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED_USER}]
    });
    bindings
        .patch("fabdev-limited", &params, &Patch::Apply(&binding))
        .await
        .unwrap();
}

/// A workspace on the test cluster named `name`, with tiny local builder
/// images under `image(what)`.
fn existing_workspace(
    dir: &Path,
    api: &ApiServer,
    name: &str,
    image: &dyn Fn(&str) -> String,
) -> PathBuf {
    std::fs::create_dir(dir).unwrap();
    std::fs::copy(api.kubeconfig(), dir.join("cluster.kubeconfig")).unwrap();
    std::fs::write(
        dir.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {name}\n\
             images: {{ ccenv: {}, baseos: {}, nodeenv: {} }}\n\
             cluster: {{ provider: existing, kubeconfig: cluster.kubeconfig, context: test }}\n",
            image("ccenv"),
            image("baseos"),
            image("nodeenv"),
        ),
    )
    .unwrap();
    dir.to_path_buf()
}

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_twice_status_doctor_and_down_on_an_existing_cluster() {
    let host = host().await;
    let api = ApiServer::start().await;
    let client = api.client().await;
    let name = format!("upx{}", std::process::id());

    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let kind = forbidden_kind(dir.path());
    let calls = dir.path().join("kind-calls.log");
    // The cluster's kubeconfig beside fabdev.yaml, named relative to it.
    std::fs::copy(api.kubeconfig(), ws.join("cluster.kubeconfig")).unwrap();

    // One tiny local image under every builder image name; the nodes'
    // images are the cluster's business (nothing pulls them here).
    let base = dockerd::HostImage::new(&host, "up-existing", 64 * 1024).await;
    let image = |what: &str| dockerd::test_image("upx", what);
    base.tag_each("upx", &["ccenv", "baseos", "nodeenv"]);
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {name}\n\
             images: {{ ccenv: {}, baseos: {}, nodeenv: {}, peer: registry.example/fabric-peer:2.5.14 }}\n\
             cluster:\n  provider: existing\n  kubeconfig: cluster.kubeconfig\n  context: test\n{}",
            image("ccenv"),
            image("baseos"),
            image("nodeenv"),
            testkit::declared_chaincodes(&ws, "mychannel", &["node"]),
        ),
    )
    .unwrap();

    // Someone else's namespace on the shared cluster: fabdev leaves it alone.
    let bystander = format!("{name}-other");
    create_namespace(&client, &bystander, json!({})).await;

    let kubelet = FakeKubelet::start(client.clone(), &name);
    let mut opts = Options::new(&ws);
    opts.kind = Some(kind);
    opts.wait_timeout = Duration::from_secs(90);
    let dind_step = "builder images in every peer's DinD";

    // First up: the objects are applied and the pods waited for; no kind.
    // (The DinD step needs a kubelet's port-forward.)
    let o = up_stopping_at(&opts, dind_step).await;
    assert!(
        o.failed[dind_step].contains("does not have a host assigned"),
        "{o:#?}"
    );
    assert_eq!(
        o.done,
        [
            "workspace",
            "plan",
            "existing cluster",
            "crypto material",
            "render Kubernetes objects",
            &format!("image {}", image("ccenv")),
            &format!("image {}", image("baseos")),
            &format!("image {}", image("nodeenv")),
            "apply objects",
            "wait for orderers and peers Ready",
        ]
    );
    assert_eq!(o.cluster, Some(("test".to_string(), ClusterState::Exists)));
    // 16 objects on kind, less the three NodePort host Services.
    assert_eq!(o.applied, Some((13, 13)));
    assert_eq!(o.pods_ready, Some(3));
    assert!(
        !calls.exists(),
        "kind was run: {:?}",
        std::fs::read_to_string(&calls)
    );
    assert!(!ws.join(".fabdev/kubeconfig").exists());
    let services: Api<Service> = Api::namespaced(client.clone(), &name);
    let services = services.list(&ListParams::default()).await.unwrap();
    assert_eq!(services.items.len(), 3);
    assert!(
        services
            .items
            .iter()
            .all(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) != Some("NodePort")),
        "{services:?}"
    );
    // The peer runs the image the spec names, from the cluster's registry.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &name);
    let peer = pods.get("peer0-org1-0").await.unwrap();
    let images: Vec<String> = peer
        .spec
        .unwrap()
        .containers
        .iter()
        .filter_map(|c| c.image.clone())
        .collect();
    assert!(
        images.contains(&"registry.example/fabric-peer:2.5.14".to_string()),
        "{images:?}"
    );

    // Second up: nothing changes up to the same point.
    let o = up_stopping_at(&opts, dind_step).await;
    assert_eq!(o.applied, Some((13, 0)));
    assert_eq!(o.pods_ready, Some(3));

    // status: the cluster answers, every pod Ready; channels cannot be read
    // (no Fabric behind the pods' port-forwards), and each node says why.
    let _ = status_without_fabric(&opts, 3).await;
    assert!(kubelet.stop().await >= 3);
    // The CLI's status: fabdev.yaml's cluster, and no kind.
    let out = testkit::fabdev(&ws).arg("status").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("workspace {name}: existing cluster answers\n")),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("$ fabdev status\n{stdout}");

    // doctor as the admin: context, version, every permission, privileged pods.
    let admin = Access {
        kubeconfig: Some(ws.join("cluster.kubeconfig")),
        context: None,
        untrusted_root: None,
    };
    let checks = doctor::existing_cluster_checks(&admin, &name).await;
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "context",
            "api server",
            "rbac",
            "rolebindings",
            "pod security"
        ]
    );
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Ok),
        "{checks:#?}"
    );
    assert!(
        check(&checks, "api server").detail.starts_with(&format!(
            "Kubernetes {} at {}",
            apiserver::KUBE_VERSION,
            api.url()
        )),
        "{checks:#?}"
    );
    assert_eq!(
        check(&checks, "pod security").detail,
        format!("namespace {name}: pod-security.kubernetes.io/enforce=privileged")
    );

    // doctor as a user whose Role lacks some verbs: each denied one by name.
    bind_limited_user(
        &client,
        &name,
        json!([
            {"apiGroups": [""], "resources": ["secrets", "services"],
             "verbs": ["create", "patch", "get", "list", "delete"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
             "verbs": ["create", "patch", "get", "list", "delete"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets"],
             "verbs": ["create", "patch", "get", "list"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]}
        ]),
    )
    .await;
    let limited = Access {
        kubeconfig: Some(ws.join("cluster.kubeconfig")),
        context: Some(LIMITED_CONTEXT.to_string()),
        untrusted_root: None,
    };
    let checks = doctor::existing_cluster_checks(&limited, &name).await;
    let rbac = check(&checks, "rbac");
    assert_eq!(rbac.verdict, Verdict::Fail, "{checks:#?}");
    assert_eq!(
        rbac.detail,
        format!(
            "denied in namespace {name}: create namespaces (cluster-wide), patch namespaces (cluster-wide), \
             get namespaces (cluster-wide), list namespaces (cluster-wide), delete namespaces (cluster-wide), \
             delete statefulsets.apps, watch namespaces (cluster-wide), create pods/exec"
        )
    );
    assert!(
        check(&checks, "context")
            .detail
            .starts_with("limited (cluster test, user limited)")
    );
    // It cannot read the namespace either: said, not guessed.
    let ps = check(&checks, "pod security");
    assert_eq!(ps.verdict, Verdict::Warn, "{ps:?}");
    assert!(ps.detail.contains("cannot read namespace"), "{ps:?}");

    // The CLI's doctor says the same, by name, and fails.
    let out = testkit::fabdev(&ws)
        .args(["--context", LIMITED_CONTEXT, "doctor", "-o", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("\"name\":\"rbac\"")
            && stdout.contains(
                "delete statefulsets.apps, watch namespaces (cluster-wide), create pods/exec"
            ),
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("\"name\":\"kind\""), "{stdout}");
    // As text (what the README shows).
    let out = testkit::fabdev(&ws)
        .args(["--context", LIMITED_CONTEXT, "doctor"])
        .output()
        .unwrap();
    eprintln!(
        "$ fabdev --context limited doctor\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A namespace that enforces `restricted`: the privileged DinD is refused there.
    let restricted = format!("{name}-restricted");
    create_namespace(
        &client,
        &restricted,
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    )
    .await;
    let checks = doctor::existing_cluster_checks(&admin, &restricted).await;
    let ps = check(&checks, "pod security");
    assert_eq!(ps.verdict, Verdict::Warn, "{ps:?}");
    assert!(ps.detail.contains("enforce=restricted"), "{ps:?}");

    // down: fabdev's namespace only, waited for until it is gone.
    let mut events: Vec<Event> = Vec::new();
    let report = flow::down(&opts, false, false, &mut events)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert!(
        report.namespace_deleted && !report.cluster_deleted,
        "{report:?}"
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(&name).await.unwrap().is_none());
    assert!(namespaces.get_opt(&bystander).await.unwrap().is_some());
    assert!(
        !calls.exists(),
        "kind was run: {:?}",
        std::fs::read_to_string(&calls)
    );
    assert!(ws.join(".fabdev/crypto").is_dir());
    // Again: nothing there, nothing to do.
    let mut events: Vec<Event> = Vec::new();
    let report = flow::down(&opts, false, false, &mut events).await.unwrap();
    assert!(!report.namespace_deleted);

    // A namespace of the workspace's name that is not fabdev's: neither
    // taken over by up nor deleted by down.
    let ws = dir.path().join("ws2");
    std::fs::create_dir(&ws).unwrap();
    std::fs::copy(api.kubeconfig(), ws.join("cluster.kubeconfig")).unwrap();
    opts.workspace_dir = ws.clone();
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {bystander}\n\
             images: {{ ccenv: {}, baseos: {}, nodeenv: {} }}\n\
             cluster: {{ provider: existing, kubeconfig: cluster.kubeconfig }}\n",
            image("ccenv"),
            image("baseos"),
            image("nodeenv"),
        ),
    )
    .unwrap();
    let mut events: Vec<Event> = Vec::new();
    let e = flow::up(&opts, &mut events).await.unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("fabdev up does not take it over"),
        "{e}"
    );
    assert_eq!(
        outcome(&events).failed.keys().collect::<Vec<_>>(),
        ["apply objects"]
    );
    let mut events: Vec<Event> = Vec::new();
    let e = flow::down(&opts, false, false, &mut events)
        .await
        .unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("fabdev down leaves it alone"),
        "{e}"
    );
    // Untouched: no label of fabdev's, no objects, still there.
    let ns = namespaces.get(&bystander).await.unwrap();
    assert_eq!(
        ns.metadata.labels.unwrap_or_default().len(),
        1,
        "only kubernetes.io/metadata.name"
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), &bystander);
    assert!(
        secrets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    for what in ["ccenv", "baseos", "nodeenv"] {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image(what)])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_is_the_workspaces_only_by_its_random_id() {
    let host = host().await;
    let api = ApiServer::start().await;
    let client = api.client().await;
    let name = format!("own{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let base = dockerd::HostImage::new(&host, "up-existing-own", 64 * 1024).await;
    let image = |what: &str| dockerd::test_image("own", what);
    base.tag_each("own", &["ccenv", "baseos", "nodeenv"]);
    let ws_a = existing_workspace(&dir.path().join("a"), &api, &name, &image);
    let ws_b = existing_workspace(&dir.path().join("b"), &api, &name, &image);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let secrets =
        |ns: &str| Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns);

    // Someone who may create namespaces made the victim's beforehand, with
    // the label fabdev used to trust and a RoleBinding for themselves.
    create_namespace(
        &client,
        &name,
        json!({"fabdev.dev/workspace": name, "app.kubernetes.io/managed-by": "fabdev"}),
    )
    .await;
    bind_limited_user(
        &client,
        &name,
        json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]),
    )
    .await;
    let admin = Access {
        kubeconfig: Some(ws_a.join("cluster.kubeconfig")),
        context: None,
        untrusted_root: None,
    };
    let checks = doctor::existing_cluster_checks(&admin, &name).await;
    let rb = check(&checks, "rolebindings");
    assert_eq!(rb.verdict, Verdict::Warn, "{checks:#?}");
    assert!(
        rb.detail
            .contains(&format!("fabdev-limited (User/{LIMITED_USER})")),
        "{rb:?}"
    );

    let mut opts = Options::new(&ws_a);
    opts.kind = Some(forbidden_kind(dir.path()));
    opts.wait_timeout = Duration::from_secs(3);
    let mut events: Vec<Event> = Vec::new();
    let e = flow::up(&opts, &mut events).await.unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("is not this workspace's"),
        "{}",
        chain(&e)
    );
    assert_eq!(
        outcome(&events).failed.keys().collect::<Vec<_>>(),
        ["apply objects"]
    );
    assert!(
        secrets(&name)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "no key may reach a namespace fabdev does not own"
    );
    let mut events: Vec<Event> = Vec::new();
    let e = flow::down(&opts, false, false, &mut events)
        .await
        .unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("fabdev down leaves it alone"),
        "{e}"
    );
    assert!(namespaces.get_opt(&name).await.unwrap().is_some());
    // The CLI says how to take it over.
    let out = testkit::fabdev(&ws_a).args(["down"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--adopt-namespace"), "{stderr}");

    // Adopted on purpose: the namespace carries workspace A's random ID.
    opts.cluster.adopt_namespace = true;
    let mut events: Vec<Event> = Vec::new();
    let _ = flow::up(&opts, &mut events).await;
    let o = outcome(&events);
    assert!(o.done.iter().any(|s| s == "apply objects"), "{o:#?}");
    let id = std::fs::read_to_string(ws_a.join(".fabdev/workspace-id")).unwrap();
    let id = id.trim();
    assert_eq!(id.len(), 32, "{id}");
    let ns = namespaces.get(&name).await.unwrap();
    let label = |m: Option<std::collections::BTreeMap<String, String>>| {
        m.unwrap_or_default()
            .get("fabdev.dev/workspace-id")
            .cloned()
    };
    assert_eq!(label(ns.metadata.labels.clone()).as_deref(), Some(id));
    assert_eq!(label(ns.metadata.annotations.clone()).as_deref(), Some(id));
    let uid_a = ns.metadata.uid.clone().unwrap();

    // A second workspace of the same name: its own ID, refused both ways.
    let mut opts_b = Options::new(&ws_b);
    opts_b.kind = opts.kind.clone();
    opts_b.wait_timeout = Duration::from_secs(3);
    let mut events: Vec<Event> = Vec::new();
    let e = flow::up(&opts_b, &mut events).await.unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("another workspace's ID"),
        "{}",
        chain(&e)
    );
    let id_b = std::fs::read_to_string(ws_b.join(".fabdev/workspace-id")).unwrap();
    assert_ne!(id_b.trim(), id);
    let mut events: Vec<Event> = Vec::new();
    let e = flow::down(&opts_b, false, false, &mut events)
        .await
        .unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    let ns = namespaces.get(&name).await.unwrap();
    assert_eq!(ns.metadata.uid.as_deref(), Some(uid_a.as_str()));
    assert!(ns.metadata.deletion_timestamp.is_none());

    // Workspace A's down deletes it (no flag needed now).
    opts.cluster.adopt_namespace = false;
    opts.wait_timeout = Duration::from_secs(60);
    let mut events: Vec<Event> = Vec::new();
    let report = flow::down(&opts, false, false, &mut events)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert!(report.namespace_deleted, "{report:?}");
    assert!(namespaces.get_opt(&name).await.unwrap().is_none());

    for what in ["ccenv", "baseos", "nodeenv"] {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image(what)])
            .output();
    }
}
