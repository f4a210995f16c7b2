//! Node ports mapped by kind, Secret items that exist, DNS-1123 names,
//! deterministic output.

use super::*;

#[test]
fn every_node_port_has_a_kind_port_mapping_on_loopback() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        let kind: KindConfig = serde_saphyr::from_str(&r.kind_config).expect("kind config parses");
        assert_eq!(kind.name, ws.name);
        assert_eq!(kind.api_version, "kind.x-k8s.io/v1alpha4");
        assert_eq!(kind.nodes.len(), 1);
        let mut mapped = BTreeSet::new();
        for m in kind.port_mappings() {
            assert_eq!(m.listen_address, "127.0.0.1");
            assert_eq!(m.host_port, m.container_port);
            assert!(
                mapped.insert(m.container_port),
                "mapped twice: {}",
                m.container_port
            );
        }
        let mut node_ports = BTreeSet::new();
        for svc in &p.services {
            let spec = svc.spec.as_ref().unwrap();
            for port in spec.ports.iter().flatten() {
                if let Some(np) = port.node_port {
                    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
                    assert!(node_ports.insert(u16::try_from(np).unwrap()));
                }
            }
        }
        assert_eq!(mapped, node_ports);
        // And they are the topology's host ports.
        let topo = Topology::of(&ws);
        for n in &topo.nodes {
            assert!(node_ports.contains(&n.host_ports.grpc));
            assert!(node_ports.contains(&n.host_ports.operations));
            if let Some(a) = n.host_ports.admin {
                assert!(node_ports.contains(&a));
            }
        }
    }
}

#[test]
fn every_mounted_secret_item_exists_in_the_node_files() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        let topo = Topology::of(&ws);
        let files = fake_files(&topo);
        let secrets: BTreeMap<&str, &Secret> = p.secrets.iter().map(|s| (name_of(s), s)).collect();
        for sts in &p.statefulsets {
            let node = name_of(sts);
            let node_files = &files[node];
            let vol = pod(sts)
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == "crypto")
                .unwrap();
            let src = vol.secret.as_ref().unwrap();
            let secret_name = src.secret_name.as_deref().unwrap();
            assert_eq!(secret_name, format!("{node}-crypto"));
            let data = secrets[secret_name].data.as_ref().unwrap();
            let items = src.items.as_ref().unwrap();
            let mut paths = BTreeSet::new();
            for item in items {
                let bytes = node_files
                    .get(&item.path)
                    .unwrap_or_else(|| panic!("{node}: {}", item.path));
                assert_eq!(&data[&item.key].0, bytes, "{node}: {}", item.key);
                paths.insert(item.path.as_str());
            }
            // Every file of the folder is mounted, under its own path.
            assert_eq!(paths, node_files.keys().map(String::as_str).collect());
            assert_eq!(data.len(), node_files.len());
            for c in all_containers(pod(sts)).filter(|c| c.name == "peer" || c.name == "orderer") {
                let m = c
                    .volume_mounts
                    .iter()
                    .flatten()
                    .find(|m| m.name == "crypto")
                    .unwrap();
                assert_eq!(m.mount_path, "/var/hyperledger/fabric/crypto");
                assert_eq!(m.read_only, Some(true));
                // Nothing over the image's own config folder.
                for m in c.volume_mounts.iter().flatten() {
                    assert!(
                        !m.mount_path.starts_with("/etc/hyperledger/fabric"),
                        "{}",
                        m.mount_path
                    );
                }
                // Every crypto path the env names is a mounted file or folder.
                for e in c.env.iter().flatten() {
                    let Some(v) = e.value.as_deref() else {
                        continue;
                    };
                    for part in v.trim_matches(['[', ']']).split(',') {
                        if let Some(rel) = part.strip_prefix("/var/hyperledger/fabric/crypto/") {
                            assert!(
                                node_files
                                    .keys()
                                    .any(|k| k == rel || k.starts_with(&format!("{rel}/"))),
                                "{node}: {} = {v}",
                                e.name
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn names_are_dns_1123_labels() {
    for (_, r) in both() {
        let p = parse_back(&r);
        for o in &r.objects {
            check_dns_label(&o.name, 63).unwrap();
        }
        for sts in &p.statefulsets {
            for c in all_containers(pod(sts)) {
                check_dns_label(&c.name, 63).unwrap();
                for port in c.ports.iter().flatten() {
                    let n = port.name.as_deref().unwrap();
                    check_dns_label(n, 15).unwrap();
                }
            }
            for v in pod(sts).volumes.iter().flatten() {
                check_dns_label(&v.name, 63).unwrap();
            }
        }
        for svc in &p.services {
            // Service names are DNS-1035: a letter first.
            assert!(name_of(svc).starts_with(|c: char| c.is_ascii_lowercase()));
            for port in svc.spec.as_ref().unwrap().ports.iter().flatten() {
                check_dns_label(port.name.as_deref().unwrap(), 15).unwrap();
            }
        }
        for s in &p.secrets {
            for key in s.data.as_ref().unwrap().keys() {
                assert!(
                    key.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)),
                    "{key}"
                );
            }
        }
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for ws in [default_ws(), three_orgs_ws()] {
        let a = render_ws(&ws);
        let b = render_ws(&ws);
        assert_eq!(a, b);
        assert_eq!(render::to_multi_doc(&a), render::to_multi_doc(&b));
    }
}
