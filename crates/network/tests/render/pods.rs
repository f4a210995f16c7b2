//! The pods: one privileged container (the DinD sidecar), its socket shared
//! with the peer only, CouchDB sidecars and their credentials.

use super::*;

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

/// Issue 19, finding 9: the CouchDB secrets fail closed without the peer's
/// TLS key (they fell back to a constant), and depend on the namespace and
/// the node, not on the key alone.
#[test]
fn couchdb_secrets_fail_closed_and_take_the_namespace_and_node_as_context() {
    let ws = three_orgs_ws();
    let topo = Topology::of(&ws);
    let secrets_of = |r: &Rendered, key: &str| -> Vec<Vec<u8>> {
        parse_back(r)
            .secrets
            .iter()
            .filter(|s| name_of(*s).ends_with("-couchdb"))
            .map(|s| s.data.as_ref().unwrap()[key].0.clone())
            .collect()
    };

    // An empty key is no key: no render, rather than a password anyone
    // could compute.
    let mut files = fake_files(&topo);
    files
        .get_mut("peer0-org1")
        .unwrap()
        .insert("tls/server.key".into(), Vec::new());
    match render::render(&ws, &topo, &files) {
        Err(render::RenderError::MissingFile { node, file }) => {
            assert_eq!(
                (node.as_str(), file.as_str()),
                ("peer0-org1", "tls/server.key")
            );
        }
        other => panic!("a CouchDB peer without its TLS key rendered: {other:?}"),
    }

    // The same key on every node: still one password and one cookie per
    // node, as the node is part of the derivation.
    let mut same = fake_files(&topo);
    for f in same.values_mut() {
        f.insert("tls/server.key".into(), b"one key".to_vec());
    }
    let r = render::render(&ws, &topo, &same).unwrap();
    let passwords: BTreeSet<Vec<u8>> = secrets_of(&r, "password").into_iter().collect();
    let cookies: BTreeSet<Vec<u8>> = secrets_of(&r, "erlang-cookie").into_iter().collect();
    assert_eq!(passwords.len(), 6);
    assert_eq!(cookies.len(), 6);
    assert!(passwords.is_disjoint(&cookies));
    assert!(cookies.iter().all(|c| c.len() == 32));
    // ... and the namespace too: another workspace name, other secrets.
    let mut renamed = ws.clone();
    renamed.name = "another-ns".to_string();
    let other = render::render(&renamed, &Topology::of(&renamed), &same).unwrap();
    let other_pw: BTreeSet<Vec<u8>> = secrets_of(&other, "password").into_iter().collect();
    assert!(passwords.is_disjoint(&other_pw));
}

/// Issue 19, finding 9: Erlang's distribution port and port mapper stay on
/// loopback, with a cookie of the peer's own from its Secret.
#[test]
fn couchdb_erlang_distribution_is_on_loopback_with_a_cookie_of_its_own() {
    let ws = three_orgs_ws();
    let p = parse_back(&render_ws(&ws));
    for sts in p
        .statefulsets
        .iter()
        .filter(|s| name_of(*s).starts_with("peer"))
    {
        let name = name_of(sts);
        let couch = all_containers(pod(sts))
            .find(|c| c.name == "couchdb")
            .unwrap();
        assert_eq!(env_of(couch, "ERL_EPMD_ADDRESS"), Some("127.0.0.1"));
        assert_eq!(
            env_of(couch, "ERL_FLAGS"),
            Some("-kernel inet_dist_use_interface {127,0,0,1}")
        );
        let cookie = couch
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "COUCHDB_ERLANG_COOKIE")
            .and_then(|e| e.value_from.as_ref())
            .and_then(|f| f.secret_key_ref.as_ref())
            .unwrap_or_else(|| panic!("{name}: no COUCHDB_ERLANG_COOKIE from a Secret"));
        assert_eq!(
            (cookie.name.as_str(), cookie.key.as_str()),
            (format!("{name}-couchdb").as_str(), "erlang-cookie")
        );
    }
}
