//! A fabdev workspace run as real Fabric processes, each node shaped like
//! the pod `fabdev up` gives it, for end-to-end tests (fabdev's own and
//! those of projects built on it).
//!
//! Every pod is:
//! - its own network namespace with loopback and an address of its own on a
//!   bridge the harness makes (198.18.`slot`.0/24, a range that is never
//!   routed);
//! - exactly the env vars, Secret items and volume mount paths of the
//!   StatefulSet that `network::render` renders for it (typed objects, no
//!   YAML), with Fabric's `config/` bound at `/etc/hyperledger/fabric` and
//!   `FABRIC_CFG_PATH` pointing there, as the images ship it;
//! - the cluster's DNS names of every node (`peer0-org1`, `peer0-org1.<ns>`,
//!   `….svc`, `….svc.cluster.local`) in a hosts file bound over `/etc/hosts`
//!   in each process's private mount namespace, and a `/etc/resolv.conf`
//!   whose name server refuses at once ([`container::RESOLV_CONF`]);
//! - for peers (with [`Options::dind`]), the DinD sidecar as a real `dockerd`
//!   in the peer's network namespace with exactly the sidecar's rendered
//!   arguments, reachable from nowhere else;
//! - for peers with `stateDatabase: couchdb`, the CouchDB sidecar as a copy
//!   of a CouchDB release ([`Options::couchdb`]) with exactly the sidecar's
//!   env and mounts, in the peer's network namespace, started and ready
//!   (`/_up`) before the peer, as the native sidecar's startup probe makes
//!   it on Kubernetes;
//! - reachable from the host as on kind: `127.0.0.1:<NodePort host port>`
//!   forwarded to the pod's port, so `Endpoints::host_ports` and the TLS
//!   names work unchanged.
//!
//! Needs root (namespaces, mounts, a bridge), `ip`, `iptables`, `nsenter`,
//! `unshare`, `setpriv` (util-linux), and Fabric's binaries: a release folder
//! (`bin/`, `config/`) in `FABRIC_HOME`, or `peer` on PATH with `../config`.
//! The pods' own folders (`/var/hyperledger/...`, `/etc/hyperledger/fabric`,
//! `/opt/couchdb`) are made in each process's private copy of their parent
//! (a tmpfs with the host's entries bound back), never on the host;
//! everything else lives in a folder under `/var/tmp` that goes with the
//! network.
//!
//! Everything is torn down when the [`TestNetwork`] is dropped, also when a
//! test panics; processes die with the thread that started them (parent
//! death signal), and a network left by a killed run is cleared when its
//! slot is taken again.
//!
//! ```no_run
//! # async fn example() -> Result<(), testnet::TestnetError> {
//! let ws = network::Workspace::default_network();
//! let net = testnet::TestNetwork::start(ws, testnet::Options::default()).await?;
//! net.create_channel("mychannel").await?;
//! // fabdev's own clients reach the nodes as on kind:
//! let eps = net.endpoints();
//! # let _ = eps;
//! # Ok(()) }
//! ```

pub mod compare;
pub mod configtx;
mod container;
mod couchdb;
mod error;
mod fabric_home;
mod health;
mod host;
mod images;
pub mod operations;
mod pod;
mod proc;
pub mod update_vectors;
pub mod vectors;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use network::channel::{ChannelEvent, Endpoints};
use network::pki::{self, CryptoDir};
use network::render::{self, NodeFiles, containers};
use network::topology::ports;
use network::{NodeKind, Topology, Workspace};

use container::{dind_socket_of, launch, stop_pod, wait_socket};
pub use error::TestnetError;
pub use fabric_home::{FabricHome, WHERE_TO_GET};
use health::forward;
pub use health::only_docker_failed;
pub use images::WarmImages;
use operations::healthz;
use pod::Pod;
pub use pod::{ContainerPlan, PodPlan};

/// How to run the network.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start each peer's DinD sidecar as a real dockerd (needed to build and
    /// run chaincode; a peer without one reports its `docker` health check
    /// failed, which readiness then accepts).
    pub dind: bool,
    /// Deadline for every node to answer `/healthz`.
    pub ready_timeout: Duration,
    /// The release folder; default [`FabricHome::find`].
    pub fabric: Option<FabricHome>,
    /// Where the network's folder goes (default `/var/tmp`; not `/tmp`,
    /// which each process gets a private one of).
    pub work_dir: PathBuf,
    /// The crypto folder to use (made where missing, reused where present,
    /// as `fabdev up` treats `.fabdev/crypto`), so that a workspace run by
    /// the `fabdev` binary and this network share it. Default: a folder
    /// inside the network's, which goes with it.
    pub crypto_dir: Option<PathBuf>,
    /// The CouchDB release each peer with `stateDatabase: couchdb` runs a
    /// copy of; default `$COUCHDB_HOME` or a well-known folder
    /// ([`testkit_probe::couchdb_home`]).
    pub couchdb: Option<PathBuf>,
    /// Slots the nodes keep, by node name, as `Topology::with_slots` takes
    /// them (the others get the lowest free ones): a node that fabdev.yaml
    /// lists only later then has the host ports `fabdev up` gives it, and
    /// the others keep theirs. Default: none, `Topology::of`.
    pub slots: BTreeMap<String, u32>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dind: false,
            ready_timeout: Duration::from_secs(60),
            fabric: None,
            work_dir: PathBuf::from("/var/tmp"),
            crypto_dir: None,
            couchdb: None,
            slots: BTreeMap::new(),
        }
    }
}

/// A running test network. Dropping it tears everything down.
#[derive(Debug)]
pub struct TestNetwork {
    ws: Workspace,
    topo: Topology,
    fabric: FabricHome,
    opts: Options,
    crypto: CryptoDir,
    pods: BTreeMap<String, Pod>,
    forwards: Vec<tokio::task::JoinHandle<()>>,
    hosts: PathBuf,
    // Dropped after the pods are stopped (see Drop), in this order.
    slot: Option<host::Slot>,
    dir: Option<tempfile::TempDir>,
}

impl TestNetwork {
    /// Generate the workspace's crypto, render its objects, and run every
    /// node; returns once each answers `/healthz`.
    pub async fn start(ws: Workspace, opts: Options) -> Result<TestNetwork, TestnetError> {
        let fabric = match &opts.fabric {
            Some(f) => f.clone(),
            None => FabricHome::find()?,
        };
        pod::mkdir(&opts.work_dir)?;
        // The slot first: taking it clears what a killed run left in it,
        // its folder included.
        let slot = host::Slot::take()?;
        slot.clear_folders(&opts.work_dir);
        let dir = tempfile::Builder::new()
            .prefix(&slot.folder_prefix())
            .tempdir_in(&opts.work_dir)
            .map_err(|source| TestnetError::Io {
                action: "create a folder in",
                path: opts.work_dir.clone(),
                source,
            })?;
        let topo = Topology::with_slots(&ws, &opts.slots);
        let crypto = CryptoDir::new(
            opts.crypto_dir
                .clone()
                .unwrap_or_else(|| dir.path().join("crypto")),
        );
        pki::ensure(&ws, &topo, &crypto)?;
        let mut files = NodeFiles::new();
        for node in &topo.nodes {
            files.insert(node.name.clone(), pki::read_tree(&crypto.node_dir(node))?);
        }
        let typed = render::typed_objects(&ws, &topo, &files)?;

        let mut net = TestNetwork {
            hosts: dir.path().join("hosts"),
            ws,
            topo,
            fabric,
            opts,
            crypto,
            pods: BTreeMap::new(),
            forwards: Vec::new(),
            slot: None,
            dir: Some(dir),
        };
        let root = net.root().to_path_buf();
        let slot = net.slot.insert(slot);
        slot.create_bridge()?;

        // Addresses and names first: every process sees every name.
        let mut hosts =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (i, sts) in typed.statefulsets.iter().enumerate() {
            let plan = PodPlan::of(sts, &typed.secrets)?;
            let node = net
                .topo
                .node(&plan.node)
                .ok_or_else(|| TestnetError::UnknownNode {
                    node: plan.node.clone(),
                    known: String::new(),
                })?
                .clone();
            let ip = slot.pod_ip(i)?;
            let names = node.tls_dns_names(&net.topo.namespace);
            let names: Vec<&String> = names.iter().filter(|n| *n != "localhost").collect();
            hosts.push_str(&format!(
                "{ip}\t{}\n",
                names
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            slot.create_pod_netns(&plan.name, i, ip)?;
            let pod_dir = root.join("pods").join(&plan.name);
            plan.materialize(&pod_dir.join("volumes"))?;
            net.pods.insert(
                node.name.clone(),
                Pod {
                    netns: slot.netns(&plan.name),
                    plan,
                    kind: node.kind,
                    ip,
                    dir: pod_dir,
                    procs: BTreeMap::new(),
                },
            );
        }
        std::fs::write(&net.hosts, hosts).map_err(|source| TestnetError::Io {
            action: "write",
            path: net.hosts.clone(),
            source,
        })?;
        let resolv = container::resolv_conf(&net.hosts);
        std::fs::write(&resolv, container::RESOLV_CONF).map_err(|source| TestnetError::Io {
            action: "write",
            path: resolv.clone(),
            source,
        })?;

        net.forward_host_ports().await?;
        let names: Vec<String> = net.pods.keys().cloned().collect();
        for name in &names {
            net.start_pod(name)?;
        }
        for name in &names {
            net.wait_ready(name).await?;
        }
        Ok(net)
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    pub fn fabric(&self) -> &FabricHome {
        &self.fabric
    }

    /// The workspace's crypto (what `.fabdev/crypto` holds for `fabdev up`;
    /// that very folder with [`Options::crypto_dir`]).
    pub fn crypto(&self) -> &CryptoDir {
        &self.crypto
    }

    /// Where fabdev reaches the nodes: the host ports, as on kind.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::host_ports(&self.topo)
    }

    /// The network's folder (crypto, pods' volumes and logs).
    pub fn root(&self) -> &Path {
        match &self.dir {
            Some(d) => d.path(),
            None => Path::new("/nonexistent"),
        }
    }

    /// The host's address on the test bridge: where connections that come
    /// through the host ports (fabdev's own calls) reach the nodes from.
    pub fn host_ip(&self) -> Option<Ipv4Addr> {
        self.slot.as_ref().map(host::Slot::gateway)
    }

    /// A node's address on the test bridge.
    pub fn ip(&self, node: &str) -> Result<Ipv4Addr, TestnetError> {
        Ok(self.pod(node)?.ip)
    }

    /// The network namespace of a node's pod (`ip netns exec NAME ...`).
    pub fn netns(&self, node: &str) -> Result<String, TestnetError> {
        Ok(self.pod(node)?.netns.clone())
    }

    /// The process ID of a running container of a node's pod (e.g.
    /// `peer`, `couchdb`): its mounts are `/proc/<pid>/root`'s.
    pub fn pid(&self, node: &str, container: &str) -> Result<u32, TestnetError> {
        let pod = self.pod(node)?;
        pod.procs
            .get(container)
            .map(std::process::Child::id)
            .ok_or_else(|| TestnetError::Unsupported {
                pod: pod.plan.node.clone(),
                problem: format!("no running container {container}"),
            })
    }

    /// The plan a node's pod runs (env, mounts, args per container).
    pub fn plan(&self, node: &str) -> Result<&PodPlan, TestnetError> {
        Ok(&self.pod(node)?.plan)
    }

    /// An HTTP request to a peer's CouchDB, inside its pod (it listens on
    /// the pod's loopback only), as the rendered admin: (status, body).
    pub fn couchdb(
        &self,
        node: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), TestnetError> {
        let pod = self.pod(node)?;
        let env = pod
            .plan
            .container(containers::COUCHDB)
            .map(|c| c.env.clone())
            .ok_or_else(|| TestnetError::Unsupported {
                pod: pod.plan.node.clone(),
                problem: "the pod has no couchdb container".to_string(),
            })?;
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let credentials = format!("{}:{}", get("COUCHDB_USER"), get("COUCHDB_PASSWORD"));
        couchdb::request(&pod.netns, method, path, Some(&credentials), body)
    }

    /// The TCP listeners in a node's pod: (local address, program), as
    /// `ss -ltnp` shows them in its network namespace.
    pub fn listeners(&self, node: &str) -> Result<Vec<(String, String)>, TestnetError> {
        couchdb::listeners(&self.pod(node)?.netns)
    }

    /// The host path of the unix socket of a peer's DinD daemon.
    pub fn dind_socket(&self, node: &str) -> Result<PathBuf, TestnetError> {
        dind_socket_of(self.pod(node)?)
    }

    /// The builder and runtime images a peer's daemon is asked for: the
    /// values of its rendered `CORE_CHAINCODE_BUILDER`,
    /// `CORE_CHAINCODE_GOLANG_RUNTIME` and `CORE_CHAINCODE_NODE_RUNTIME`.
    pub fn builder_images(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for pod in self.pods.values().filter(|p| p.kind == NodeKind::Peer) {
            for (k, v) in pod
                .plan
                .container(containers::PEER)
                .into_iter()
                .flat_map(|c| &c.env)
            {
                if [
                    "CORE_CHAINCODE_BUILDER",
                    "CORE_CHAINCODE_GOLANG_RUNTIME",
                    "CORE_CHAINCODE_NODE_RUNTIME",
                ]
                .contains(&k.as_str())
                    && !out.contains(v)
                {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// Copy `images` from the host's Docker into every peer's DinD daemon,
    /// as `fabdev up` seeds them (one export per image streamed into all
    /// daemons that lack it). Needs [`Options::dind`].
    pub async fn seed_images(&self, images: &[String]) -> Result<(), TestnetError> {
        use cluster::dind::Dind;
        use cluster::images::{Daemon, transfer_to_many};
        let host = Daemon::connect_local().map_err(TestnetError::Images)?;
        // The same `docker load` in each daemon as `up` runs in each DinD
        // sidecar, against the daemons' sockets.
        let mut daemons = Vec::new();
        for (name, pod) in self.pods.iter().filter(|(_, p)| p.kind == NodeKind::Peer) {
            daemons.push(Dind::local(dind_socket_of(pod)?, &format!("{name}/dind")));
        }
        let targets: Vec<&Dind> = daemons.iter().collect();
        transfer_to_many(&host, &targets, images, &mut |_| {})
            .await
            .map_err(TestnetError::Images)?;
        Ok(())
    }

    /// Everything a node's containers printed, container by container.
    pub fn logs(&self, node: &str) -> Result<String, TestnetError> {
        let pod = self.pod(node)?;
        let mut out = String::new();
        for c in &pod.plan.containers {
            let text = std::fs::read_to_string(pod.log(&c.name)).unwrap_or_default();
            out.push_str(&format!("=== {node}/{} ===\n{text}", c.name));
        }
        Ok(out)
    }

    /// The logs of every node.
    pub fn all_logs(&self) -> String {
        self.pods
            .keys()
            .filter_map(|n| self.logs(n).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Build the channel's genesis block with fabdev, join every orderer
    /// and peer of the channel's orgs (`network::channel::create_channel`)
    /// and wait until its orderers have a Raft leader
    /// (`network::channel::wait_for_leader`).
    pub async fn create_channel(&self, channel: &str) -> Result<Vec<ChannelEvent>, TestnetError> {
        let block = network::genesis::genesis_block(&self.ws, &self.topo, &self.crypto, channel)?;
        let mut events = Vec::new();
        network::channel::create_channel(
            &self.ws,
            &self.topo,
            &self.crypto,
            &self.endpoints(),
            channel,
            &block,
            &mut |e| events.push(e),
        )
        .await?;
        // As `fabdev channel create` and `up` do: nothing is submitted
        // before the channel's orderers have a leader.
        network::channel::wait_for_leader(
            &self.ws,
            &self.topo,
            &self.crypto,
            &self.endpoints(),
            channel,
            network::channel::ordering::LEADER_TIMEOUT,
        )
        .await?;
        Ok(events)
    }

    /// Stop a node's containers (the pod is "down"; its volumes stay).
    pub fn stop_node(&mut self, node: &str) -> Result<(), TestnetError> {
        let pod = self.pod_mut(node)?;
        stop_pod(pod);
        Ok(())
    }

    /// Start a stopped node again and wait until it is ready.
    pub async fn start_node(&mut self, node: &str) -> Result<(), TestnetError> {
        self.start_pod(node)?;
        self.wait_ready(node).await
    }

    fn pod(&self, node: &str) -> Result<&Pod, TestnetError> {
        self.pods.get(node).ok_or_else(|| self.unknown(node))
    }

    fn pod_mut(&mut self, node: &str) -> Result<&mut Pod, TestnetError> {
        let e = self.unknown(node);
        self.pods.get_mut(node).ok_or(e)
    }

    fn unknown(&self, node: &str) -> TestnetError {
        TestnetError::UnknownNode {
            node: node.to_string(),
            known: self.pods.keys().cloned().collect::<Vec<_>>().join(", "),
        }
    }

    /// Start the pod's containers: sidecars first, as the kubelet does.
    fn start_pod(&mut self, node: &str) -> Result<(), TestnetError> {
        let fabric = self.fabric.clone();
        let hosts = self.hosts.clone();
        let dind = self.opts.dind;
        let couchdb = self.opts.couchdb.clone();
        let pod = self.pod_mut(node)?;
        let plans = pod.plan.containers.clone();
        for c in plans
            .iter()
            .filter(|c| c.sidecar)
            .chain(plans.iter().filter(|c| !c.sidecar))
        {
            if c.name == containers::DIND && !dind {
                continue;
            }
            if pod.procs.contains_key(&c.name) {
                continue;
            }
            if c.name == containers::COUCHDB {
                let release = match &couchdb {
                    Some(r) => r.clone(),
                    None => couchdb::find_release()?,
                };
                couchdb::prepare(&release, &couchdb::release_dir(pod))?;
            }
            let launch = launch(pod, c, &fabric, &hosts)?;
            let child = launch.spawn()?;
            pod.procs.insert(c.name.clone(), child);
            if c.name == containers::COUCHDB {
                couchdb::wait_up(pod, &c.name)?;
            }
            if c.name == containers::DIND {
                let socket = dind_socket_of(pod)?;
                wait_socket(pod, &socket)?;
            }
        }
        Ok(())
    }

    /// Wait for `/healthz` to answer 200 (or, for a peer without its
    /// daemon, 503 with only the `docker` check failing).
    async fn wait_ready(&mut self, node: &str) -> Result<(), TestnetError> {
        let dind = self.opts.dind;
        let timeout = self.opts.ready_timeout;
        let pod = self.pod_mut(node)?;
        let address = format!("{}:{}", pod.ip, ports::OPERATIONS);
        let deadline = Instant::now() + timeout;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            for (name, child) in pod.procs.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(TestnetError::Exited {
                        node: node.to_string(),
                        container: name.clone(),
                        status: status.to_string(),
                        logs: proc::tail(&pod.dir.join(format!("{name}.log")), 40),
                    });
                }
            }
            let last = match healthz(&address).await {
                Ok((200, _)) => return Ok(()),
                Ok((503, body))
                    if !dind && pod.kind == NodeKind::Peer && only_docker_failed(&body) =>
                {
                    return Ok(());
                }
                Ok((status, body)) => format!("GET https://{address}/healthz: {status} {body}"),
                Err(e) => format!("GET https://{address}/healthz: {e}"),
            };
            if Instant::now() >= deadline {
                let logs = pod
                    .plan
                    .containers
                    .iter()
                    .map(|c| format!("[{}]\n{}", c.name, proc::tail(&pod.log(&c.name), 30)))
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(TestnetError::NotReady {
                    node: node.to_string(),
                    waited: timeout,
                    last,
                    logs,
                });
            }
        }
    }

    /// `127.0.0.1:<host port>` -> the pod's port, for every NodePort.
    async fn forward_host_ports(&mut self) -> Result<(), TestnetError> {
        for node in &self.topo.nodes {
            let Some(pod) = self.pods.get(&node.name) else {
                continue;
            };
            let h = node.host_ports;
            let mut pairs = vec![
                (h.grpc, node.grpc_port()),
                (h.operations, ports::OPERATIONS),
            ];
            if let Some(a) = h.admin {
                pairs.push((a, ports::ORDERER_ADMIN));
            }
            for (host_port, pod_port) in pairs {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", host_port))
                    .await
                    .map_err(|source| TestnetError::Forward {
                        node: node.name.clone(),
                        port: host_port,
                        source,
                    })?;
                let target = std::net::SocketAddr::from((pod.ip, pod_port));
                self.forwards.push(tokio::spawn(forward(listener, target)));
            }
        }
        Ok(())
    }

    fn teardown(&mut self) {
        for f in self.forwards.drain(..) {
            f.abort();
        }
        for pod in self.pods.values_mut() {
            stop_pod(pod);
        }
        self.pods.clear();
        // The slot's namespaces, bridge and rule, then the folder.
        self.slot.take();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        self.teardown();
    }
}
