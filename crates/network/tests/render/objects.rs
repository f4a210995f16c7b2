//! The objects a workspace renders to: the list, the round trip, the labels.

use super::*;

#[test]
fn object_list_of_the_default_workspace() {
    let r = render_ws(&default_ws());
    let files: Vec<&str> = r.objects.iter().map(|o| o.file_name.as_str()).collect();
    assert_eq!(
        files,
        [
            "00-namespace-fabdev.yaml",
            "01-secret-orderer0-ordererorg-crypto.yaml",
            "01-secret-peer0-org1-crypto.yaml",
            "01-secret-peer0-org2-crypto.yaml",
            "02-service-orderer0-ordererorg.yaml",
            "02-service-orderer0-ordererorg-host.yaml",
            "02-networkpolicy-orderer0-ordererorg.yaml",
            "02-service-peer0-org1.yaml",
            "02-service-peer0-org1-host.yaml",
            "02-networkpolicy-peer0-org1.yaml",
            "02-service-peer0-org2.yaml",
            "02-service-peer0-org2-host.yaml",
            "02-networkpolicy-peer0-org2.yaml",
            "03-statefulset-orderer0-ordererorg.yaml",
            "03-statefulset-peer0-org1.yaml",
            "03-statefulset-peer0-org2.yaml",
        ]
    );
    for o in &r.objects {
        assert_eq!(
            o.file_name,
            format!(
                "{}-{}-{}.yaml",
                &o.file_name[..2],
                o.kind.to_lowercase(),
                o.name
            )
        );
    }
}

#[test]
fn objects_round_trip_and_carry_the_labels_down_needs() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        assert_eq!(p.namespaces.len(), 1);
        assert_eq!(name_of(&p.namespaces[0]), ws.name);
        let topo = Topology::of(&ws);
        let couch = topo
            .peers()
            .filter(|n| n.state_database == network::spec::StateDatabase::Couchdb)
            .count();
        assert_eq!(p.secrets.len(), topo.nodes.len() + couch);
        assert_eq!(p.services.len(), 2 * topo.nodes.len());
        assert_eq!(p.statefulsets.len(), topo.nodes.len());

        let metas = p
            .namespaces
            .iter()
            .map(|o| &o.metadata)
            .chain(p.secrets.iter().map(|o| &o.metadata))
            .chain(p.services.iter().map(|o| &o.metadata))
            .chain(p.statefulsets.iter().map(|o| &o.metadata));
        for m in metas {
            let l = m.labels.as_ref().unwrap();
            assert_eq!(l["app.kubernetes.io/managed-by"], "fabdev");
            assert_eq!(l["fabdev.dev/workspace"], ws.name);
            if m.name.as_deref() != Some(ws.name.as_str()) {
                assert_eq!(m.namespace.as_deref(), Some(ws.name.as_str()), "{m:?}");
                assert!(l.contains_key("fabdev.dev/node"), "{m:?}");
                assert!(l.contains_key("fabdev.dev/org"), "{m:?}");
                assert!(
                    ["orderer", "peer"].contains(&l["fabdev.dev/role"].as_str()),
                    "{m:?}"
                );
                assert!(l.contains_key("app.kubernetes.io/name"), "{m:?}");
            }
        }
        for sts in &p.statefulsets {
            let spec = sts.spec.as_ref().unwrap();
            assert_eq!(spec.replicas, Some(1));
            assert_eq!(spec.service_name.as_deref(), Some(name_of(sts)));
            let sel = spec.selector.match_labels.as_ref().unwrap();
            let pod_labels = spec
                .template
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .as_ref()
                .unwrap();
            for (k, v) in sel {
                assert_eq!(pod_labels.get(k), Some(v));
            }
            for c in all_containers(pod(sts)) {
                assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
                assert!(
                    c.resources.as_ref().unwrap().requests.is_some(),
                    "{}",
                    c.name
                );
            }
        }
    }
}

/// The workspace's random ID goes on its namespace as a label and an
/// annotation (whose namespace it is on an existing cluster), and nowhere
/// when there is none yet.
#[test]
fn the_namespace_carries_the_workspace_id() {
    let mut ws = default_ws();
    let none = parse_back(&render_ws(&ws));
    let meta = &none.namespaces[0].metadata;
    assert!(
        !meta
            .labels
            .as_ref()
            .unwrap()
            .contains_key("fabdev.dev/workspace-id")
    );
    ws.workspace_id = Some("0123456789abcdef0123456789abcdef".into());
    let p = parse_back(&render_ws(&ws));
    let meta = &p.namespaces[0].metadata;
    for map in [&meta.labels, &meta.annotations] {
        assert_eq!(
            map.as_ref().unwrap()["fabdev.dev/workspace-id"],
            "0123456789abcdef0123456789abcdef"
        );
    }
}

/// Disk is bounded like memory (issue 19, finding 9): every emptyDir has a
/// sizeLimit, and every container an ephemeral-storage limit with a small
/// request.
#[test]
fn every_volume_and_container_bounds_its_disk() {
    for (_, r) in both() {
        let p = parse_back(&r);
        for sts in &p.statefulsets {
            let pod = pod(sts);
            for v in pod.volumes.iter().flatten() {
                if let Some(e) = &v.empty_dir {
                    assert!(e.size_limit.is_some(), "{} {}", name_of(sts), v.name);
                }
            }
            for c in all_containers(pod) {
                let res = c.resources.as_ref().unwrap();
                let limit = res.limits.as_ref().unwrap().get("ephemeral-storage");
                let request = res.requests.as_ref().unwrap().get("ephemeral-storage");
                assert!(limit.is_some(), "{} {}", name_of(sts), c.name);
                assert_eq!(request.map(|q| q.0.as_str()), Some("64Mi"), "{}", c.name);
            }
        }
    }
}
