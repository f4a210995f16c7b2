//! What a cluster admin's policy asks of every container.

use super::*;

/// What a cluster admin's policy asks of every container, and the two
/// documented exceptions: the DinD sidecar (privileged, root) and CouchDB's
/// writable root filesystem (fixtures/checkov-exceptions.yaml says why).
#[test]
fn every_container_but_dind_runs_unprivileged_with_limits_and_liveness() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        let ns = &p.namespaces[0];
        let labels = ns.metadata.labels.as_ref().unwrap();
        assert_eq!(
            labels["pod-security.kubernetes.io/enforce"], "privileged",
            "{}",
            ws.name
        );
        let why = &ns.metadata.annotations.as_ref().unwrap()[render::labels::POD_SECURITY_REASON];
        assert!(why.contains("Docker-in-Docker"), "{why}");
        for sts in &p.statefulsets {
            let spec = pod(sts);
            let psc = spec.security_context.as_ref().unwrap();
            assert_eq!(
                psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
                Some("RuntimeDefault")
            );
            assert_eq!(psc.run_as_non_root, Some(true));
            for c in all_containers(spec) {
                let who = format!("{}/{}", name_of(sts), c.name);
                let res = c.resources.as_ref().unwrap();
                for key in ["cpu", "memory"] {
                    assert!(res.requests.as_ref().unwrap().contains_key(key), "{who}");
                    assert!(res.limits.as_ref().unwrap().contains_key(key), "{who}");
                }
                assert!(c.liveness_probe.is_some(), "{who} has no liveness probe");
                let sc = c.security_context.as_ref().unwrap();
                if c.name == "dind" {
                    assert_eq!(sc.privileged, Some(true));
                    continue;
                }
                assert_eq!(sc.privileged, Some(false), "{who}");
                assert_eq!(sc.allow_privilege_escalation, Some(false), "{who}");
                assert_eq!(sc.run_as_non_root, Some(true), "{who}");
                assert!(sc.run_as_user.is_some_and(|u| u > 0), "{who}");
                assert_eq!(
                    sc.capabilities.as_ref().unwrap().drop.as_deref(),
                    Some(&["ALL".to_string()][..]),
                    "{who}"
                );
                assert_eq!(
                    sc.read_only_root_filesystem,
                    Some(c.name != "couchdb"),
                    "{who}"
                );
            }
        }
        // Every pod has a NetworkPolicy letting in only its Services' ports.
        assert_eq!(p.network_policies.len(), p.statefulsets.len());
        for np in &p.network_policies {
            let spec = np.spec.as_ref().unwrap();
            let sel = spec
                .pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap();
            assert_eq!(sel[render::labels::NODE], name_of(np));
            let ports: Vec<_> = spec.ingress.as_ref().unwrap()[0]
                .ports
                .iter()
                .flatten()
                .filter_map(|p| p.port.clone())
                .collect();
            assert!(!ports.is_empty());
            assert!(
                !ports.contains(&IntOrString::Int(5984)),
                "CouchDB is let in"
            );
            assert!(
                !ports.contains(&IntOrString::Int(2375)),
                "dockerd is let in"
            );
        }
        // Exact image tags, never a floating "2.5".
        assert!(
            r.objects
                .iter()
                .all(|o| !o.yaml.contains("fabric-peer:2.5\n"))
        );
    }
}

/// Between nodes only the gRPC port, and only from the workspace's own
/// pods; on kind also the ports mapped to the host (NodePort traffic comes
/// from the kind node); the chaincode port is nowhere: the peer listens for
/// chaincode on 127.0.0.1 (chaincode runs in the pod's network namespace).
#[test]
fn nodes_admit_only_the_workspaces_pods_and_chaincode_stays_in_the_pod() {
    let mut existing = default_ws();
    existing.cluster.provider = network::spec::Provider::Existing;
    for ws in [default_ws(), three_orgs_ws(), existing] {
        let kind = ws.cluster.provider == network::spec::Provider::Kind;
        let r = render_ws(&ws);
        assert!(
            !r.objects.iter().any(|o| o.yaml.contains("7052")
                && !o.yaml.contains("localhost:7052")
                && !o.yaml.contains("127.0.0.1:7052")),
            "the chaincode port is named outside the peer's own env"
        );
        let p = parse_back(&r);
        for sts in &p.statefulsets {
            for c in all_containers(pod(sts)) {
                if let Some(listen) = env_of(c, "CORE_PEER_CHAINCODELISTENADDRESS") {
                    assert_eq!(listen, "127.0.0.1:7052", "{}", name_of(sts));
                    assert_eq!(
                        env_of(c, "CORE_PEER_CHAINCODEADDRESS"),
                        Some("localhost:7052")
                    );
                }
            }
        }
        let port = |p: &k8s_openapi::api::networking::v1::NetworkPolicyPort| match p.port {
            Some(IntOrString::Int(n)) => n,
            ref other => panic!("a numeric port: {other:?}"),
        };
        for np in &p.network_policies {
            let who = name_of(np);
            let grpc = if who.starts_with("orderer") {
                7050
            } else {
                7051
            };
            let rules = np.spec.as_ref().unwrap().ingress.as_ref().unwrap();
            let from_pods = &rules[0];
            let peers = from_pods.from.as_ref().expect("a source");
            assert_eq!(peers.len(), 1, "{who}");
            let labels = peers[0]
                .pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .expect("a pod selector");
            assert_eq!(labels[render::labels::MANAGED_BY], "fabdev", "{who}");
            assert_eq!(labels[render::labels::WORKSPACE], ws.name, "{who}");
            assert!(peers[0].namespace_selector.is_none() && peers[0].ip_block.is_none());
            let ports: Vec<i32> = from_pods.ports.iter().flatten().map(port).collect();
            assert_eq!(ports, [grpc], "{who}: only gRPC between nodes");
            if kind {
                assert_eq!(rules.len(), 2, "{who}");
                let mut host: Vec<i32> = rules[1].ports.iter().flatten().map(port).collect();
                host.sort_unstable();
                let want = if grpc == 7050 {
                    vec![7050, 7053, 9443]
                } else {
                    vec![7051, 9443]
                };
                assert_eq!(host, want, "{who}: the ports kind maps to 127.0.0.1");
            } else {
                assert_eq!(rules.len(), 1, "{who}: nothing from outside the workspace");
            }
        }
    }
}
