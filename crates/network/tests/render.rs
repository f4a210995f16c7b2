//! Rendered Kubernetes objects and kind config: snapshots of the whole output
//! for the default and a three-org workspace, plus the properties the design
//! relies on (one privileged container, DinD on loopback only, NodePorts
//! mapped by kind, Secret items that exist, DNS-1123 names, determinism).
//!
//! Crypto is a fake NodeFiles map with short placeholder contents (real
//! crypto is random, so it would make snapshots useless); rendering only
//! moves bytes, it never parses them.
//!
//! Set FABDEV_RENDER_OUT=DIR to also write both workspaces' output to
//! DIR/default and DIR/three-orgs (for `scripts/check/validate-manifests.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cluster::kind_config::KindConfig;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use network::render::{self, NodeFiles, REQUIRED_FILES, RenderError, Rendered};
use network::spec::check_dns_label;
use network::{NodeKind, Topology, Workspace};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn default_ws() -> Workspace {
    Workspace::default_network()
}

/// Three peer orgs with two CouchDB peers each and three Raft orderers.
fn three_orgs_ws() -> Workspace {
    let path = repo().join("fixtures/specs/three-orgs.yaml");
    let ws = Workspace::load_file(&path).expect("fixtures/specs/three-orgs.yaml parses");
    assert_eq!(ws.orderer.count, 3);
    assert_eq!(ws.orgs.len(), 3);
    for org in &ws.orgs {
        assert_eq!(org.peers, 2);
        assert_eq!(org.state_database, network::spec::StateDatabase::Couchdb);
    }
    ws
}

/// Every node's folder with short placeholder contents.
fn fake_files(topo: &Topology) -> NodeFiles {
    topo.nodes
        .iter()
        .map(|n| {
            let files = REQUIRED_FILES
                .iter()
                .map(|p| (p.to_string(), format!("{} {p}\n", n.name).into_bytes()))
                .collect();
            (n.name.clone(), files)
        })
        .collect()
}

fn render_ws(ws: &Workspace) -> Rendered {
    let topo = Topology::of(ws);
    render::render(ws, &topo, &fake_files(&topo)).expect("renders")
}

/// The whole output as one text: kind config, then every file.
fn whole(r: &Rendered) -> String {
    let mut s = format!("# kind-config.yaml\n{}", r.kind_config);
    for o in &r.objects {
        s.push_str(&format!("---\n# manifests/{}\n{}", o.file_name, o.yaml));
    }
    s
}

#[test]
fn snapshot_default() {
    insta::assert_snapshot!("default", whole(&render_ws(&default_ws())));
}

#[test]
fn snapshot_three_orgs() {
    insta::assert_snapshot!("three_orgs", whole(&render_ws(&three_orgs_ws())));
}

/// Every object parsed back into its k8s-openapi type.
#[derive(Default)]
struct Parsed {
    namespaces: Vec<Namespace>,
    secrets: Vec<Secret>,
    services: Vec<Service>,
    statefulsets: Vec<StatefulSet>,
    network_policies: Vec<NetworkPolicy>,
}

/// Parse every object back, check it re-serialises to the same bytes, and
/// that `apiVersion`/`kind` are in the YAML.
fn parse_back(r: &Rendered) -> Parsed {
    fn back<T>(yaml: &str) -> T
    where
        T: serde::de::DeserializeOwned + serde::Serialize + k8s_openapi::Resource,
    {
        assert!(
            yaml.starts_with(&format!(
                "apiVersion: {}\nkind: {}\n",
                T::API_VERSION,
                T::KIND
            )),
            "{yaml}"
        );
        let v: T = serde_saphyr::from_str(yaml).expect("parses back");
        assert_eq!(
            serde_saphyr::to_string(&v).expect("serialises"),
            yaml,
            "round trip"
        );
        v
    }
    let mut p = Parsed::default();
    for o in &r.objects {
        match o.kind.as_str() {
            "Namespace" => p.namespaces.push(back(&o.yaml)),
            "Secret" => p.secrets.push(back(&o.yaml)),
            "Service" => p.services.push(back(&o.yaml)),
            "StatefulSet" => p.statefulsets.push(back(&o.yaml)),
            "NetworkPolicy" => p.network_policies.push(back(&o.yaml)),
            other => panic!("unexpected kind {other}"),
        }
    }
    p
}

fn pod(sts: &StatefulSet) -> &PodSpec {
    sts.spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
}

fn all_containers(p: &PodSpec) -> impl Iterator<Item = &Container> {
    p.init_containers
        .iter()
        .flatten()
        .chain(p.containers.iter())
}

fn env_of<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_deref())
}

fn name_of<
    T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    o: &T,
) -> &str {
    o.metadata().name.as_deref().expect("name")
}

fn both() -> Vec<(Workspace, Rendered)> {
    [default_ws(), three_orgs_ws()]
        .into_iter()
        .map(|ws| {
            let r = render_ws(&ws);
            (ws, r)
        })
        .collect()
}

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

#[test]
fn exactly_one_privileged_container_per_peer_pod_and_it_is_the_dind_sidecar() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        let topo = Topology::of(&ws);
        for sts in &p.statefulsets {
            let node = topo.node(name_of(sts)).unwrap();
            let privileged: Vec<&Container> = all_containers(pod(sts))
                .filter(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true))
                .collect();
            match node.kind {
                NodeKind::Orderer => assert!(privileged.is_empty()),
                NodeKind::Peer => {
                    assert_eq!(privileged.len(), 1, "{}", node.name);
                    let dind = privileged[0];
                    assert_eq!(dind.name, "dind");
                    assert_eq!(dind.image.as_deref(), Some(ws.images.dind.as_str()));
                    // A native sidecar: an init container that keeps running.
                    let inits = pod(sts).init_containers.as_ref().unwrap();
                    assert_eq!(inits[0].name, "dind");
                    assert_eq!(inits[0].restart_policy.as_deref(), Some("Always"));
                    assert!(inits[0].startup_probe.as_ref().unwrap().exec.is_some());
                    assert!(!pod(sts).containers.iter().any(|c| c.name == "dind"));
                }
            }
        }
    }
}

#[test]
fn dockerd_listens_on_a_socket_shared_with_the_peer_only() {
    for (ws, r) in both() {
        let p = parse_back(&r);
        let topo = Topology::of(&ws);
        for sts in &p.statefulsets {
            let node = topo.node(name_of(sts)).unwrap();
            if node.kind != NodeKind::Peer {
                continue;
            }
            let dind = all_containers(pod(sts)).find(|c| c.name == "dind").unwrap();
            assert!(dind.command.is_none(), "keep the image's entrypoint");
            let args = dind.args.as_ref().unwrap();
            // With `dockerd` first, dockerd-entrypoint.sh adds no
            // --host=tcp://0.0.0.0:2375 of its own.
            assert_eq!(args[0], "dockerd");
            let hosts: Vec<&str> = args
                .iter()
                .filter_map(|a| a.strip_prefix("--host=").or_else(|| a.strip_prefix("-H=")))
                .collect();
            // No TCP listener at all: chaincode shares the pod's network
            // namespace, so loopback is no boundary.
            assert_eq!(hosts, ["unix:///var/run/dind/docker.sock"]);
            assert!(!args.iter().any(|a| a == "-H" || a == "--host"), "{args:?}");
            assert!(args.iter().all(|a| !a.contains("tcp://")), "{args:?}");
            // The socket's group is the pod's fsGroup, which the peer has.
            let fs_group = pod(sts)
                .security_context
                .as_ref()
                .and_then(|s| s.fs_group)
                .unwrap();
            assert!(args.contains(&format!("--group={fs_group}")), "{args:?}");
            for a in args {
                assert!(!a.contains("0.0.0.0") && !a.contains("POD_IP"), "{a}");
            }
            assert_eq!(env_of(dind, "DOCKER_TLS_CERTDIR"), Some(""));
            assert_eq!(
                env_of(dind, "DOCKER_HOST"),
                Some("unix:///var/run/dind/docker.sock")
            );
            // The socket's folder is mounted into the DinD sidecar and the
            // peer, and into no other container of the pod.
            let socket_vol: Vec<&str> = all_containers(pod(sts))
                .filter(|c| {
                    c.volume_mounts
                        .iter()
                        .flatten()
                        .any(|m| m.name == "dind-socket" && m.mount_path == "/var/run/dind")
                })
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(socket_vol, ["dind", "peer"]);
            assert!(
                pod(sts)
                    .volumes
                    .iter()
                    .flatten()
                    .any(|v| v.name == "dind-socket" && v.empty_dir.is_some())
            );
            assert!(dind.ports.is_none(), "the daemon is not a pod endpoint");
            assert!(dind.startup_probe.as_ref().unwrap().tcp_socket.is_none());
            let docker_dir = dind.volume_mounts.as_ref().unwrap();
            assert!(
                docker_dir
                    .iter()
                    .any(|m| m.mount_path == "/var/lib/docker" && m.name == "docker")
            );
            let vol = pod(sts)
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == "docker")
                .unwrap();
            assert!(vol.empty_dir.is_some());

            let peer = pod(sts)
                .containers
                .iter()
                .find(|c| c.name == "peer")
                .unwrap();
            assert_eq!(
                env_of(peer, "CORE_VM_ENDPOINT"),
                Some("unix:///var/run/dind/docker.sock")
            );
            assert_eq!(
                env_of(peer, "CORE_PEER_CHAINCODEADDRESS"),
                Some("localhost:7052")
            );
            assert_eq!(
                env_of(peer, "CORE_CHAINCODE_BUILDER"),
                Some(ws.images.ccenv.as_str())
            );
            assert_eq!(
                env_of(peer, "CORE_CHAINCODE_GOLANG_RUNTIME"),
                Some(ws.images.baseos.as_str())
            );
            assert_eq!(
                env_of(peer, "CORE_CHAINCODE_NODE_RUNTIME"),
                Some(ws.images.nodeenv.as_str())
            );
            let probe = peer
                .readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap();
            assert_eq!(probe.path.as_deref(), Some("/healthz"));
        }
    }
}

#[test]
fn couchdb_peers_get_a_couchdb_sidecar_and_credentials() {
    let ws = three_orgs_ws();
    let r = render_ws(&ws);
    let p = parse_back(&r);
    for sts in &p.statefulsets {
        let name = name_of(sts);
        if !name.starts_with("peer") {
            continue;
        }
        let couch = all_containers(pod(sts))
            .find(|c| c.name == "couchdb")
            .unwrap();
        assert_eq!(couch.restart_policy.as_deref(), Some("Always"));
        assert_eq!(couch.image.as_deref(), Some(ws.images.couchdb.as_str()));
        // CouchDB listens on loopback only, so its probes run inside it.
        let ready = couch
            .readiness_probe
            .as_ref()
            .unwrap()
            .exec
            .as_ref()
            .unwrap();
        let cmd = ready.command.as_ref().unwrap();
        assert_eq!(
            cmd.last().map(String::as_str),
            Some("http://127.0.0.1:5984/_up")
        );
        assert!(couch.ports.is_none(), "CouchDB publishes no port");
        let peer = pod(sts)
            .containers
            .iter()
            .find(|c| c.name == "peer")
            .unwrap();
        assert_eq!(
            env_of(peer, "CORE_LEDGER_STATE_STATEDATABASE"),
            Some("CouchDB")
        );
        assert_eq!(
            env_of(peer, "CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS"),
            Some("127.0.0.1:5984")
        );
        let secret = format!("{name}-couchdb");
        for (var, key) in [
            ("CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME", "username"),
            ("CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD", "password"),
        ] {
            let e = peer.env.iter().flatten().find(|e| e.name == var).unwrap();
            let r = e
                .value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap();
            assert_eq!((r.name.as_str(), r.key.as_str()), (secret.as_str(), key));
            let s = p.secrets.iter().find(|s| name_of(*s) == secret).unwrap();
            assert!(s.data.as_ref().unwrap().contains_key(key));
        }
    }
    // No fixed password: one per peer (and per workspace, as it comes from
    // the peer's TLS key), the same on every render.
    let passwords: BTreeSet<Vec<u8>> = p
        .secrets
        .iter()
        .filter(|s| name_of(*s).ends_with("-couchdb"))
        .map(|s| s.data.as_ref().unwrap()["password"].0.clone())
        .collect();
    assert_eq!(passwords.len(), 6);
    assert!(!passwords.contains(b"adminpw".as_slice()));
    assert!(passwords.iter().all(|pw| pw.len() == 32));
    assert_eq!(render_ws(&ws), r);
    // Another workspace (other keys): other passwords.
    let mut files = fake_files(&Topology::of(&ws));
    for f in files.values_mut() {
        f.insert("tls/server.key".into(), b"another key".to_vec());
    }
    let other = render::render(&ws, &Topology::of(&ws), &files).unwrap();
    let other_pw: BTreeSet<Vec<u8>> = parse_back(&other)
        .secrets
        .iter()
        .filter(|s| name_of(*s).ends_with("-couchdb"))
        .map(|s| s.data.as_ref().unwrap()["password"].0.clone())
        .collect();
    assert!(passwords.is_disjoint(&other_pw));
    // Default workspace: leveldb, no CouchDB anywhere.
    let r = render_ws(&default_ws());
    assert!(
        !r.objects
            .iter()
            .any(|o| o.yaml.contains("couchdb") || o.yaml.contains("COUCHDB"))
    );
}

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

#[test]
fn a_missing_crypto_file_names_node_and_file() {
    let ws = default_ws();
    let topo = Topology::of(&ws);
    let mut files = fake_files(&topo);
    files
        .get_mut("peer0-org2")
        .unwrap()
        .remove("tls/server.key");
    let err = render::render(&ws, &topo, &files).unwrap_err();
    match &err {
        RenderError::MissingFile { node, file } => {
            assert_eq!(node, "peer0-org2");
            assert_eq!(file, "tls/server.key");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("peer0-org2") && text.contains("tls/server.key"),
        "{text}"
    );

    let mut files = fake_files(&topo);
    files.remove("orderer0-ordererorg");
    let err = render::render(&ws, &topo, &files).unwrap_err();
    assert!(
        matches!(&err, RenderError::NoCrypto { node } if node == "orderer0-ordererorg"),
        "{err}"
    );
    assert!(err.to_string().contains("orderer0-ordererorg"));
}

#[test]
fn multi_doc_stream_holds_every_object() {
    let r = render_ws(&default_ws());
    let s = render::to_multi_doc(&r);
    assert_eq!(s.matches("---\n").count(), r.objects.len());
    assert!(s.starts_with("---\napiVersion: v1\nkind: Namespace\n"));
    let docs: Vec<&str> = s.split("---\n").skip(1).collect();
    for (d, o) in docs.iter().zip(&r.objects) {
        assert_eq!(*d, o.yaml);
    }
}

/// `out` holds exactly the kind config and one file per object, each with
/// the rendered text.
fn assert_written(r: &Rendered, out: &Path) {
    assert_eq!(
        std::fs::read_to_string(out.join("kind-config.yaml")).expect("kind config"),
        r.kind_config
    );
    let mut written: Vec<String> = std::fs::read_dir(out.join("manifests"))
        .expect("manifests folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut wanted: Vec<String> = r.objects.iter().map(|o| o.file_name.clone()).collect();
    wanted.sort();
    assert_eq!(written, wanted, "{}", out.display());
    for o in &r.objects {
        let text =
            std::fs::read_to_string(out.join("manifests").join(&o.file_name)).expect("manifest");
        assert_eq!(text, o.yaml, "{}", o.file_name);
    }
}

#[test]
fn write_out_writes_a_new_folder_and_refuses_an_existing_one() {
    let r = render_ws(&default_ws());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nested/out");
    render::write_out(&r, &out).unwrap();
    assert_written(&r, &out);
    for o in &r.objects {
        assert_eq!(
            std::fs::read_to_string(out.join("manifests").join(&o.file_name)).unwrap(),
            o.yaml
        );
    }
    // Nothing left beside it.
    let beside: Vec<_> = std::fs::read_dir(tmp.path().join("nested"))
        .unwrap()
        .collect();
    assert_eq!(beside.len(), 1);

    let err = render::write_out(&r, &out).unwrap_err();
    assert!(matches!(err, RenderError::OutExists { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("already exists") && text.contains("--out"),
        "{text}"
    );
    // An existing empty folder is refused too.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(
        render::write_out(&r, &empty),
        Err(RenderError::OutExists { .. })
    ));
}

/// Writes both workspaces (DIR/default, DIR/three-orgs) and reads back what
/// was written: exactly the kind config and one file per object, with the
/// rendered text. DIR is FABDEV_RENDER_OUT when set (for
/// `scripts/check/validate-manifests.sh`, which then validates the files; each
/// folder must not exist), else a temporary folder.
#[test]
fn written_folders_hold_exactly_what_was_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("FABDEV_RENDER_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    for (name, ws) in [("default", default_ws()), ("three-orgs", three_orgs_ws())] {
        let r = render_ws(&ws);
        let out = dir.join(name);
        render::write_out(&r, &out).unwrap();
        assert_written(&r, &out);
    }
}

#[test]
fn fabric_3_uses_its_own_images_and_nodeenv_2_5() {
    let ws = Workspace::parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: three\nfabric: { version: \"3.1\" }\n",
        Path::new("fabdev.yaml"),
        Path::new("."),
    )
    .unwrap();
    let r = render_ws(&ws);
    let p = parse_back(&r);
    let peer_sts = p
        .statefulsets
        .iter()
        .find(|s| name_of(*s) == "peer0-org1")
        .unwrap();
    let peer = pod(peer_sts)
        .containers
        .iter()
        .find(|c| c.name == "peer")
        .unwrap();
    // "3.1" runs the release pinned for it (spec::FABRIC_RELEASES).
    assert_eq!(peer.image.as_deref(), Some("hyperledger/fabric-peer:3.1.5"));
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_BUILDER"),
        Some("hyperledger/fabric-ccenv:3.1")
    );
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_GOLANG_RUNTIME"),
        Some("hyperledger/fabric-baseos:3.1")
    );
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_NODE_RUNTIME"),
        Some("hyperledger/fabric-nodeenv:2.5")
    );
    let o_sts = p
        .statefulsets
        .iter()
        .find(|s| name_of(*s) == "orderer0-ordererorg")
        .unwrap();
    let orderer = &pod(o_sts).containers[0];
    assert_eq!(
        orderer.image.as_deref(),
        Some("hyperledger/fabric-orderer:3.1.5")
    );
    // `none` is 3.x's only bootstrap method; 2.5 needs it set.
    assert_eq!(
        env_of(orderer, "ORDERER_GENERAL_BOOTSTRAPMETHOD"),
        Some("none")
    );
}

#[cfg(unix)]
#[test]
fn write_out_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render::write_out(&render_ws(&default_ws()), &out).unwrap();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
}

/// A render killed midway (SIGKILL, power loss) leaves its temporary folder,
/// private keys included, beside `--out`: the next render there removes it.
/// Folders of renders still running are kept.
#[test]
fn leftovers_of_killed_renders_are_removed_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    // A process that has exited: its ID names no running process.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = tmp
        .path()
        .join(format!("{}{dead}-abc123", render::RENDER_TMP_PREFIX));
    std::fs::create_dir_all(stale.join("manifests")).unwrap();
    std::fs::write(stale.join("manifests/01-secret-x.yaml"), "tls/server.key").unwrap();
    // One of a render that still runs (this test's own parent process).
    let live = tmp.path().join(format!(
        "{}{}-def456",
        render::RENDER_TMP_PREFIX,
        std::os::unix::process::parent_id()
    ));
    std::fs::create_dir(&live).unwrap();

    render::write_out(&render_ws(&default_ws()), &tmp.path().join("out")).unwrap();
    assert!(!stale.exists(), "the killed render's folder is still there");
    assert!(live.exists(), "a running render's folder was removed");
}

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
