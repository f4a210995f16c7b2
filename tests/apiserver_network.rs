#![allow(clippy::unwrap_used)]
//! The default network's objects, made exactly as `fabdev up` makes them
//! (`flow::prepare`: real crypto, then rendering), applied with
//! `cluster::k8s::apply` to a real kube-apiserver and etcd
//! (testkit::apiserver; built by
//! scripts/setup/kube.sh): every object is created, applying them again
//! changes nothing (what a second `fabdev up` relies on), and a hand edit of
//! a field fabdev sets is taken back.

use cluster::k8s::{self, Applied};
use fabdev::events::Event;
use fabdev::flow::{self, Context, Options};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use testkit::apiserver;

fn changed(applied: &[Applied]) -> Vec<String> {
    applied
        .iter()
        .filter(|a| a.changed)
        .map(|a| format!("{} {}", a.kind, a.name))
        .collect()
}

fn api(
    client: &kube::Client,
    namespace: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), namespace, &ar)
}

#[tokio::test]
async fn the_default_network_applies_then_reapplies_unchanged_and_takes_back_hand_edits() {
    let server = apiserver::ApiServer::start().await;
    let client = server.client().await;

    let ws = tempfile::tempdir().unwrap();
    let ctx = Context::load(&Options::new(ws.path())).unwrap();
    let mut events: Vec<Event> = Vec::new();
    let rendered = flow::prepare(&ctx, &mut events).await.unwrap();
    let manifests = rendered.manifests();
    let ns = ctx.ws.name.clone();
    let kinds: Vec<&str> = rendered.objects.iter().map(|o| o.kind.as_str()).collect();
    for kind in ["Namespace", "Secret", "Service", "StatefulSet"] {
        assert!(kinds.contains(&kind), "no {kind} among {kinds:?}");
    }

    // First apply: every object is new.
    let first = k8s::apply(&client, &manifests).await.unwrap();
    let made: Vec<(String, String)> = first
        .iter()
        .map(|a| (a.kind.clone(), a.name.clone()))
        .collect();
    let wanted: Vec<(String, String)> = rendered
        .objects
        .iter()
        .map(|o| (o.kind.clone(), o.name.clone()))
        .collect();
    assert_eq!(made, wanted);
    let unchanged: Vec<&Applied> = first.iter().filter(|a| !a.changed).collect();
    assert!(unchanged.is_empty(), "not created: {unchanged:?}");
    // And the API server has each of them, managed by fabdev.
    for o in &rendered.objects {
        let (group, version) = match o.kind.as_str() {
            "StatefulSet" => ("apps", "v1"),
            "NetworkPolicy" => ("networking.k8s.io", "v1"),
            _ => ("", "v1"),
        };
        let obj = if o.kind == "Namespace" {
            let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"));
            Api::<DynamicObject>::all_with(client.clone(), &ar)
                .get(&o.name)
                .await
        } else {
            api(&client, &ns, group, version, &o.kind)
                .get(&o.name)
                .await
        }
        .unwrap_or_else(|e| panic!("{} {}: {e}", o.kind, o.name));
        let managers: Vec<String> = obj
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| m.manager.clone())
            .collect();
        assert!(
            managers.iter().any(|m| m == k8s::FIELD_MANAGER),
            "{} {}: managers {managers:?}",
            o.kind,
            o.name
        );
    }

    // Second apply of the same objects: nothing changes (no new
    // resourceVersion anywhere), as a second `fabdev up` expects.
    let second = k8s::apply(&client, &manifests).await.unwrap();
    assert_eq!(second.len(), manifests.len());
    assert_eq!(
        changed(&second),
        Vec::<String>::new(),
        "changed by a re-apply"
    );

    // Hand edits (`kubectl edit`: strategic merge patches by another field
    // manager) of fields fabdev sets: a peer's image and a crypto file.
    let peer = rendered
        .objects
        .iter()
        .find(|o| o.kind == "StatefulSet" && o.name.starts_with("peer"))
        .unwrap();
    let secret = rendered
        .objects
        .iter()
        .find(|o| o.kind == "Secret" && o.name.starts_with(&peer.name))
        .unwrap();
    let statefulsets = api(&client, &ns, "apps", "v1", "StatefulSet");
    let secrets = api(&client, &ns, "", "v1", "Secret");
    let container = |o: &DynamicObject| -> (String, String) {
        let c = &o.data["spec"]["template"]["spec"]["containers"][0];
        (
            c["name"].as_str().unwrap().to_string(),
            c["image"].as_str().unwrap().to_string(),
        )
    };
    let (name, image) = container(&statefulsets.get(&peer.name).await.unwrap());
    let live_secret = secrets.get(&secret.name).await.unwrap();
    let (key, value) = live_secret.data["data"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    statefulsets
        .patch(
            &peer.name,
            &edit,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": name, "image": "example.invalid/hand-edited:1"}
            ]}}}})),
        )
        .await
        .unwrap();
    secrets
        .patch(
            &secret.name,
            &edit,
            &Patch::Strategic(json!({"data": {&key: "aGFuZC1lZGl0ZWQ="}})),
        )
        .await
        .unwrap();
    assert_eq!(
        container(&statefulsets.get(&peer.name).await.unwrap()).1,
        "example.invalid/hand-edited:1"
    );

    // fabdev's forced apply takes both back, and reports exactly those two.
    let third = k8s::apply(&client, &manifests).await.unwrap();
    assert_eq!(
        changed(&third),
        [
            format!("Secret {}", secret.name),
            format!("StatefulSet {}", peer.name)
        ]
    );
    assert_eq!(
        container(&statefulsets.get(&peer.name).await.unwrap()),
        (name, image)
    );
    let restored: Value = secrets.get(&secret.name).await.unwrap().data["data"][&key].clone();
    assert_eq!(restored, value);

    // Settled again.
    let fourth = k8s::apply(&client, &manifests).await.unwrap();
    assert_eq!(changed(&fourth), Vec::<String>::new());
}
