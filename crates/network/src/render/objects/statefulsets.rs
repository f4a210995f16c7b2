//! Each node's StatefulSet: the pod, its Fabric container with its env,
//! and a peer's DinD and CouchDB sidecars.

use super::services::endpoints;
use super::*;

pub(super) fn statefulset(
    ws: &Workspace,
    node: &Node,
    nc: &NodeCrypto,
    pod: PodSpec,
    claims: Vec<PersistentVolumeClaim>,
) -> StatefulSet {
    StatefulSet {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(node.name.clone()),
            selector: LabelSelector {
                match_labels: Some(selector(ws, node)),
                ..LabelSelector::default()
            },
            // `fabdev down --keep-cluster` deletes the StatefulSets; their
            // ledgers go with them.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Delete".to_string()),
                    when_scaled: Some("Retain".to_string()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(node_labels(ws, node)),
                    annotations: Some(BTreeMap::from([(
                        labels::CRYPTO_HASH.to_string(),
                        nc.digest(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(claims),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

/// Pod-wide settings: no service-link env vars (they could shadow Fabric's
/// env configuration), no API token (nothing in the pod talks to Kubernetes),
/// the runtime's default seccomp profile, non-root by default (the DinD
/// sidecar alone says otherwise), and the Fabric user's group on the volumes
/// (the crypto Secret's files are 0440).
pub(super) fn pod_spec(
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> PodSpec {
    PodSpec {
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            fs_group: Some(FABRIC_UID),
            fs_group_change_policy: Some("OnRootMismatch".to_string()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        init_containers: (!init_containers.is_empty()).then_some(init_containers),
        containers,
        volumes: Some(volumes),
        ..PodSpec::default()
    }
}

pub(super) fn crypto_volume(node: &Node, nc: &NodeCrypto) -> Volume {
    Volume {
        name: VOL_CRYPTO.to_string(),
        secret: Some(nc.volume(&crypto_secret_name(node))),
        ..Volume::default()
    }
}

pub(super) fn orderer_env(node: &Node) -> Vec<EnvVar> {
    let tls_ca = in_pod(TLS_CA);
    let tls_cert = in_pod(TLS_CERT);
    let tls_key = in_pod(TLS_KEY);
    let ledger = format!("{PRODUCTION_DIR}/orderer");
    vec![
        env("ORDERER_GENERAL_LISTENADDRESS", "0.0.0.0"),
        env("ORDERER_GENERAL_LISTENPORT", ports::ORDERER.to_string()),
        env("ORDERER_GENERAL_LOCALMSPID", node.msp_id.clone()),
        env("ORDERER_GENERAL_LOCALMSPDIR", in_pod("msp")),
        env("ORDERER_GENERAL_TLS_ENABLED", "true"),
        env("ORDERER_GENERAL_TLS_PRIVATEKEY", tls_key.clone()),
        env("ORDERER_GENERAL_TLS_CERTIFICATE", tls_cert.clone()),
        env("ORDERER_GENERAL_TLS_ROOTCAS", env_list(&[&tls_ca])),
        env(
            "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE",
            tls_cert.clone(),
        ),
        env("ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY", tls_key.clone()),
        env("ORDERER_GENERAL_CLUSTER_ROOTCAS", env_list(&[&tls_ca])),
        env("ORDERER_GENERAL_BOOTSTRAPMETHOD", "none"),
        env("ORDERER_CHANNELPARTICIPATION_ENABLED", "true"),
        env(
            "ORDERER_ADMIN_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::ORDERER_ADMIN),
        ),
        env("ORDERER_ADMIN_TLS_ENABLED", "true"),
        env("ORDERER_ADMIN_TLS_CERTIFICATE", tls_cert),
        env("ORDERER_ADMIN_TLS_PRIVATEKEY", tls_key),
        env("ORDERER_ADMIN_TLS_ROOTCAS", env_list(&[&tls_ca])),
        env("ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", "true"),
        env("ORDERER_ADMIN_TLS_CLIENTROOTCAS", env_list(&[&tls_ca])),
        env(
            "ORDERER_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::OPERATIONS),
        ),
        // Operations over TLS: `/healthz` and `/version` answer anyone (the
        // kubelet's probe), `/logspec` and `/metrics` only a client with a
        // certificate of the org's TLS CA (Fabric's `fabhttp`: a verified
        // client certificate when one is given, required by those two).
        env("ORDERER_OPERATIONS_TLS_ENABLED", "true"),
        env("ORDERER_OPERATIONS_TLS_CERTIFICATE", in_pod(TLS_CERT)),
        env("ORDERER_OPERATIONS_TLS_PRIVATEKEY", in_pod(TLS_KEY)),
        env("ORDERER_OPERATIONS_TLS_CLIENTAUTHREQUIRED", "false"),
        env("ORDERER_OPERATIONS_TLS_CLIENTROOTCAS", env_list(&[&tls_ca])),
        env("ORDERER_METRICS_PROVIDER", "prometheus"),
        env("ORDERER_FILELEDGER_LOCATION", ledger.clone()),
        env("ORDERER_CONSENSUS_WALDIR", format!("{ledger}/etcdraft/wal")),
        env(
            "ORDERER_CONSENSUS_SNAPDIR",
            format!("{ledger}/etcdraft/snapshot"),
        ),
    ]
}

/// An orderer or peer container: the image's own config under env vars,
/// the node's ports, /healthz readiness over HTTPS, a liveness probe on the operations
/// port, crypto and ledger mounts, an emptyDir /tmp under a read-only root
/// filesystem, no privileges.
pub(super) fn fabric_container(
    name: &str,
    image: &str,
    env: Vec<EnvVar>,
    node: &Node,
    res: ResourceRequirements,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        env: Some(env),
        ports: Some(
            endpoints(node)
                .into_iter()
                .map(|(name, p, _)| port(name, p))
                .collect(),
        ),
        readiness_probe: Some(https_probe("/healthz", ports::OPERATIONS, 5, 3)),
        // Not /healthz: the peer's includes its Docker daemon, and a dead
        // DinD sidecar is restarted by itself, not by restarting the peer.
        liveness_probe: Some(tcp_liveness(ports::OPERATIONS)),
        resources: Some(res),
        security_context: Some(unprivileged(FABRIC_UID, true)),
        volume_mounts: Some(vec![
            mount(VOL_CRYPTO, super::super::CRYPTO_DIR, true),
            mount(VOL_DATA, PRODUCTION_DIR, false),
            mount(VOL_TMP, "/tmp", false),
        ]),
        ..Container::default()
    }
}

/// The size limit of a node's `/tmp`.
const TMP_LIMIT: &str = "512Mi";

pub(super) fn orderer_statefulset(ws: &Workspace, node: &Node, nc: &NodeCrypto) -> StatefulSet {
    let orderer = fabric_container(
        containers::ORDERER,
        &ws.images.orderer,
        orderer_env(node),
        node,
        resources(("100m", "128Mi"), ("1", "512Mi"), "2Gi"),
    );
    let volumes = vec![crypto_volume(node, nc), empty_dir(VOL_TMP, TMP_LIMIT)];
    let pod = pod_spec(vec![], vec![orderer], volumes);
    statefulset(ws, node, nc, pod, vec![claim(ws, node, VOL_DATA, "1Gi")])
}

pub(super) fn peer_env(ws: &Workspace, topo: &Topology, node: &Node) -> Vec<EnvVar> {
    let bootstrap = topo
        .peers_of(&node.org)
        .next()
        .map_or_else(|| node.address(), Node::address);
    let mut v = vec![
        env("CORE_PEER_ID", node.name.clone()),
        env("CORE_PEER_ADDRESS", node.address()),
        env(
            "CORE_PEER_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::PEER),
        ),
        env(
            "CORE_PEER_CHAINCODEADDRESS",
            format!("localhost:{}", ports::CHAINCODE),
        ),
        // Chaincode runs in the pod's network namespace (the DinD daemon's
        // containers, network mode `host`) and dials localhost: nothing
        // outside the pod reaches the port.
        env(
            "CORE_PEER_CHAINCODELISTENADDRESS",
            format!("127.0.0.1:{}", ports::CHAINCODE),
        ),
        env("CORE_PEER_GOSSIP_BOOTSTRAP", bootstrap),
        env("CORE_PEER_GOSSIP_EXTERNALENDPOINT", node.address()),
        env("CORE_PEER_LOCALMSPID", node.msp_id.clone()),
        env("CORE_PEER_MSPCONFIGPATH", in_pod("msp")),
        env("CORE_PEER_TLS_ENABLED", "true"),
        env("CORE_PEER_TLS_CERT_FILE", in_pod(TLS_CERT)),
        env("CORE_PEER_TLS_KEY_FILE", in_pod(TLS_KEY)),
        env("CORE_PEER_TLS_ROOTCERT_FILE", in_pod(TLS_CA)),
        env("CORE_PEER_FILESYSTEMPATH", PRODUCTION_DIR),
        env(
            "CORE_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::OPERATIONS),
        ),
        // As the orderer's (`orderer_env`): `/logspec` and `/metrics` only
        // for a client certificate of the org's TLS CA.
        env("CORE_OPERATIONS_TLS_ENABLED", "true"),
        env("CORE_OPERATIONS_TLS_CERT_FILE", in_pod(TLS_CERT)),
        env("CORE_OPERATIONS_TLS_KEY_FILE", in_pod(TLS_KEY)),
        env("CORE_OPERATIONS_TLS_CLIENTAUTHREQUIRED", "false"),
        // One path: the peer reads this list with viper's GetStringSlice,
        // which splits on spaces (the orderer's `[a,b]` form is its own).
        env("CORE_OPERATIONS_TLS_CLIENTROOTCAS_FILES", in_pod(TLS_CA)),
        env("CORE_METRICS_PROVIDER", "prometheus"),
        env("CORE_VM_ENDPOINT", DIND_SOCKET),
        env("CORE_CHAINCODE_BUILDER", ws.images.ccenv.clone()),
        env("CORE_CHAINCODE_GOLANG_RUNTIME", ws.images.baseos.clone()),
        env("CORE_CHAINCODE_NODE_RUNTIME", ws.images.nodeenv.clone()),
        env("CORE_CHAINCODE_PULL", "false"),
    ];
    if uses_couchdb(node) {
        let secret = couchdb_secret_name(node);
        v.extend([
            env("CORE_LEDGER_STATE_STATEDATABASE", "CouchDB"),
            env(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS",
                format!("127.0.0.1:{}", ports::COUCHDB),
            ),
            env_secret(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME",
                &secret,
                "username",
            ),
            env_secret(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD",
                &secret,
                "password",
            ),
        ]);
    }
    v
}

/// The peer's Docker daemon, as a native sidecar (an init container with
/// `restartPolicy: Always`): up before the peer starts, gone with the pod.
/// The only privileged container. Its first argument is `dockerd`, so the
/// image's entrypoint adds no listener of its own (it would add
/// tcp://0.0.0.0:2375).
///
/// The daemon listens on a unix socket only, in the `dind-socket` emptyDir
/// that is mounted into this container and the peer, and nowhere else: no
/// TCP listener at all. Fabric runs chaincode containers in the pod's network
/// namespace (network mode `host`, to reach the peer at localhost:7052), so
/// a loopback TCP port would be open to every chaincode, and with it a
/// privileged daemon. The socket belongs to the pod's `fsGroup` (the peer's
/// group), mode 0660.
///
/// Privileged, as root, with a writable root filesystem and no seccomp
/// profile of the pod's: a Docker daemon mounts filesystems, sets up
/// namespaces and cgroups and applies its own seccomp profile to the
/// containers it runs (chaincode builds and chaincode), which takes all of
/// root's capabilities. It is the one container that has them; its limits
/// cover the builds and chaincode containers it runs.
pub(super) fn dind_container(ws: &Workspace) -> Container {
    let dind_ping = ["docker", "version"];
    Container {
        name: containers::DIND.to_string(),
        image: Some(ws.images.dind.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        restart_policy: Some("Always".to_string()),
        args: Some(vec![
            "dockerd".to_string(),
            format!("--host={DIND_SOCKET}"),
            format!("--group={FABRIC_UID}"),
        ]),
        env: Some(vec![
            env("DOCKER_TLS_CERTDIR", ""),
            env("DOCKER_HOST", DIND_SOCKET),
        ]),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            run_as_non_root: Some(false),
            run_as_user: Some(0),
            seccomp_profile: Some(SeccompProfile {
                type_: "Unconfined".to_string(),
                ..SeccompProfile::default()
            }),
            ..SecurityContext::default()
        }),
        // Exec probes (`docker` reads DOCKER_HOST): the daemon has no port.
        startup_probe: Some(exec_probe(&dind_ping, 2, 90)),
        liveness_probe: Some(exec_probe(&dind_ping, 20, 6)),
        resources: Some(resources(("100m", "256Mi"), ("2", "2Gi"), "20Gi")),
        volume_mounts: Some(vec![
            mount(VOL_DOCKER, DOCKER_DIR, false),
            mount(VOL_DIND_SOCKET, DIND_SOCKET_DIR, false),
        ]),
        ..Container::default()
    }
}

/// Erlang's distribution listener on loopback, whatever the image's
/// `vm.args` says: it listens on every address otherwise, once the node is
/// named (the image's `NODENAME`, or a `vm.args` with `-name`, as CouchDB's
/// own release has). Read by `erlexec` after `vm.args`, so it wins.
pub(super) const COUCHDB_ERL_FLAGS: &str = "-kernel inet_dist_use_interface {127,0,0,1}";

/// CouchDB as a native sidecar: the peer starts once `/_up` answers. It
/// listens on 127.0.0.1 only (its HTTP port by [`COUCHDB_INI`], Erlang's
/// port mapper by `ERL_EPMD_ADDRESS`, Erlang's distribution by
/// [`COUCHDB_ERL_FLAGS`], with a cookie of its own from the Secret, which
/// the image's entrypoint writes to `~/.erlang.cookie`, 0600): the peer,
/// in the same pod, dials 127.0.0.1:5984; nothing else can reach it. So its
/// probes run inside the container (curl is part of the CouchDB image).
///
/// It runs as the image's couchdb user with no capabilities, but with a
/// writable root filesystem: the image's entrypoint writes the admin into
/// `/opt/couchdb/etc/local.d/docker.ini` and CouchDB writes back the hashed
/// password there, and Erlang keeps its cookie in the couchdb user's home,
/// `/opt/couchdb` (fixtures/checkov-exceptions.yaml).
pub(super) fn couchdb_container(ws: &Workspace, node: &Node) -> Container {
    let secret = couchdb_secret_name(node);
    let up = format!("http://127.0.0.1:{}/_up", ports::COUCHDB);
    let curl = ["curl", "-fsS", "-o", "/dev/null", up.as_str()];
    let mut ini = mount(VOL_COUCHDB_INI, COUCHDB_INI, true);
    ini.sub_path = Some("fabdev.ini".to_string());
    Container {
        name: containers::COUCHDB.to_string(),
        image: Some(ws.images.couchdb.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        restart_policy: Some("Always".to_string()),
        env: Some(vec![
            env_secret("COUCHDB_USER", &secret, "username"),
            env_secret("COUCHDB_PASSWORD", &secret, "password"),
            env_secret("COUCHDB_ERLANG_COOKIE", &secret, "erlang-cookie"),
            env("ERL_EPMD_ADDRESS", "127.0.0.1"),
            env("ERL_FLAGS", COUCHDB_ERL_FLAGS),
        ]),
        startup_probe: Some(exec_probe(&curl, 2, 90)),
        readiness_probe: Some(exec_probe(&curl, 10, 3)),
        liveness_probe: Some(exec_probe(&curl, 20, 6)),
        resources: Some(resources(("50m", "128Mi"), ("1", "512Mi"), "2Gi")),
        security_context: Some(unprivileged(COUCHDB_UID, false)),
        volume_mounts: Some(vec![mount(VOL_COUCHDB, COUCHDB_DIR, false), ini]),
        ..Container::default()
    }
}

pub(super) fn peer_statefulset(
    ws: &Workspace,
    topo: &Topology,
    node: &Node,
    nc: &NodeCrypto,
) -> StatefulSet {
    // The peer's /healthz includes a ping of the Docker daemon: a dead DinD
    // shows as an unready peer.
    let mut peer = fabric_container(
        containers::PEER,
        &ws.images.peer,
        peer_env(ws, topo, node),
        node,
        resources(("100m", "256Mi"), ("2", "1Gi"), "2Gi"),
    );
    // The daemon's socket: shared with the DinD sidecar and nothing else.
    peer.volume_mounts.get_or_insert_with(Vec::new).push(mount(
        VOL_DIND_SOCKET,
        DIND_SOCKET_DIR,
        false,
    ));
    let mut init = vec![dind_container(ws)];
    let mut claims = vec![claim(ws, node, VOL_DATA, "1Gi")];
    let mut volumes = vec![
        crypto_volume(node, nc),
        // The DinD daemon's images and containers: the builder images
        // (about 2 GB) and the chaincode images and containers.
        empty_dir(VOL_DOCKER, "16Gi"),
        empty_dir(VOL_DIND_SOCKET, "1Mi"),
        empty_dir(VOL_TMP, TMP_LIMIT),
    ];
    if uses_couchdb(node) {
        init.push(couchdb_container(ws, node));
        claims.push(claim(ws, node, VOL_COUCHDB, "1Gi"));
        volumes.push(Volume {
            name: VOL_COUCHDB_INI.to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(couchdb_secret_name(node)),
                items: Some(vec![KeyToPath {
                    key: "fabdev.ini".to_string(),
                    path: "fabdev.ini".to_string(),
                    mode: None,
                }]),
                default_mode: Some(0o444),
                optional: Some(false),
            }),
            ..Volume::default()
        });
    }
    statefulset(ws, node, nc, pod_spec(init, vec![peer], volumes), claims)
}
