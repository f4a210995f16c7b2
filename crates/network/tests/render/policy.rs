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
