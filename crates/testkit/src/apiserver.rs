//! Test support for code that talks to a real Kubernetes API: etcd,
//! kube-apiserver and kube-controller-manager (its namespace, garbage
//! collector, service account and StatefulSet controllers) run as child
//! processes in a temp folder, with a kubeconfig that
//! fabdev's own `cluster::k8s::client` reads. There is no kubelet and no
//! scheduler: pods are created but never run; tests set their status the way
//! a kubelet would.
//!
//! The binaries come from `scripts/setup/kube.sh` (built from the Go module
//! proxy), found in `$FABDEV_KUBE_BIN` or in the folder that script installs
//! into. When they are missing the test fails, it is not skipped
//! (`scripts/test.sh` always builds them).

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tempfile::TempDir;

use crate::wait_until_async;

/// How long etcd plus kube-apiserver may take to answer `/readyz` `ok`
/// (two cores, test binaries starting theirs in parallel).
const READY_DEADLINE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(100);
/// A port chosen free can be taken by someone else before the child binds
/// it; then the control plane is started again on new ports.
const START_ATTEMPTS: usize = 3;
/// The bearer token of the admin user (group system:masters).
const ADMIN_TOKEN: &str = "fabdev-test-admin-token";
/// The bearer token of [`LIMITED_USER`]: no groups, so no rights but what
/// a test binds to it (and what every authenticated user has).
const LIMITED_TOKEN: &str = "fabdev-test-limited-token";
/// A user with only the RBAC a test gives it; the kubeconfig's context
/// [`LIMITED_CONTEXT`] authenticates as it.
pub const LIMITED_USER: &str = "limited";
pub const LIMITED_CONTEXT: &str = "limited";

pub use testkit_probe::{KUBE_VERSION, kube_bin_dir as bin_dir};

/// The path of one binary; panics (the test fails) with the install hint
/// when it is missing.
fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: these tests need a real etcd, kube-apiserver and kube-controller-manager \
         ({KUBE_VERSION}); run scripts/setup/kube.sh (scripts/test.sh does) to build them from \
         the Go module proxy, or set FABDEV_KUBE_BIN to a folder holding them",
        path.display()
    );
    path
}

/// A running control plane. Stopped, and its temp folder removed, when the
/// last handle is dropped, also when a test panics.
#[derive(Debug)]
pub struct ApiServer {
    /// Children in start order (etcd first); stopped in reverse.
    children: Vec<(&'static str, Child)>,
    dir: TempDir,
    url: String,
    kubeconfig: PathBuf,
}

static SHARED: tokio::sync::Mutex<Weak<ApiServer>> = tokio::sync::Mutex::const_new(Weak::new());

/// The control plane of this test binary, started if no test holds one yet.
/// Tests sharing it keep apart by namespace.
pub async fn shared() -> Arc<ApiServer> {
    let mut shared = SHARED.lock().await;
    if let Some(running) = shared.upgrade() {
        return running;
    }
    let started = Arc::new(ApiServer::start().await);
    *shared = Arc::downgrade(&started);
    started
}

/// Why one start attempt failed, and whether new ports may help.
struct Failed {
    message: String,
    port_taken: bool,
}

impl ApiServer {
    /// Start etcd, kube-apiserver and kube-controller-manager on free ports
    /// and wait until the API server's `/readyz` says `ok`.
    pub async fn start() -> ApiServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bins = [
            binary("etcd"),
            binary("kube-apiserver"),
            binary("kube-controller-manager"),
        ];
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match ApiServer::start_once(&bins).await {
                Ok(server) => return server,
                Err(Failed {
                    message,
                    port_taken: true,
                }) if attempt < START_ATTEMPTS => last = message,
                Err(Failed { message, .. }) => panic!("{message}"),
            }
        }
        panic!("{last}")
    }

    async fn start_once(bins: &[PathBuf; 3]) -> Result<ApiServer, Failed> {
        let dir = tempfile::Builder::new()
            .prefix("fabdev-apiserver-")
            .tempdir()
            .expect("a temp folder for the control plane");
        let path = dir.path().to_path_buf();
        kubenode::write_pki(&path).unwrap_or_else(|e| {
            panic!(
                "the API server's certificates: {}",
                crate::dockerd::chain(&e)
            )
        });
        std::fs::write(
            path.join("tokens.csv"),
            format!(
                "{ADMIN_TOKEN},admin,admin,\"system:masters\"\n{LIMITED_TOKEN},{LIMITED_USER},{LIMITED_USER}\n"
            ),
        )
        .expect("write tokens.csv");

        let [etcd_client, etcd_peer, secure] = free_ports();
        let url = format!("https://127.0.0.1:{secure}");
        let kubeconfig = path.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(&url, &path.join("ca.crt")))
            .expect("write kubeconfig");

        let mut this = ApiServer {
            children: Vec::new(),
            dir,
            url,
            kubeconfig,
        };
        let p = |name: &str| path.join(name).display().to_string();
        this.spawn(
            "etcd",
            Command::new(&bins[0]).args([
                "--name=fabdev-test".to_string(),
                format!("--data-dir={}", p("etcd")),
                format!("--listen-client-urls=http://127.0.0.1:{etcd_client}"),
                format!("--advertise-client-urls=http://127.0.0.1:{etcd_client}"),
                format!("--listen-peer-urls=http://127.0.0.1:{etcd_peer}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}"),
                format!("--initial-cluster=fabdev-test=http://127.0.0.1:{etcd_peer}"),
                // A throwaway store: no fsync, much faster on CI disks.
                "--unsafe-no-fsync".to_string(),
                "--log-level=warn".to_string(),
            ]),
        );
        this.spawn(
            "kube-apiserver",
            Command::new(&bins[1]).args([
                format!("--etcd-servers=http://127.0.0.1:{etcd_client}"),
                "--bind-address=127.0.0.1".to_string(),
                "--advertise-address=127.0.0.1".to_string(),
                format!("--secure-port={secure}"),
                format!("--cert-dir={}", p("certs")),
                format!("--tls-cert-file={}", p("apiserver.crt")),
                format!("--tls-private-key-file={}", p("apiserver.key")),
                format!("--token-auth-file={}", p("tokens.csv")),
                "--authorization-mode=RBAC".to_string(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
                format!("--service-account-key-file={}", p("sa.pub")),
                format!("--service-account-signing-key-file={}", p("sa.key")),
                "--service-cluster-ip-range=10.96.0.0/16".to_string(),
                // fabdev's peers run a privileged DinD container (kind allows it too).
                "--allow-privileged=true".to_string(),
                // Endpoints may not hold a loopback address: do not publish
                // the `kubernetes` service's endpoints.
                "--endpoint-reconciler-type=none".to_string(),
                "--profiling=false".to_string(),
                "-v=0".to_string(),
            ]),
        );
        this.spawn(
            "kube-controller-manager",
            Command::new(&bins[2]).args([
                format!("--kubeconfig={}", this.kubeconfig.display()),
                // Namespace deletion (namespace controller, garbage collector
                // for foregroundDeletion, and the PVC protection controller
                // that lifts the StatefulSets' claims' finalizer once no pod
                // uses them), the `default` service account pods need, and
                // StatefulSets making pods and writing their status as on
                // kind (status writes race with applies).
                "--controllers=namespace-controller,garbage-collector-controller,\
                 persistentvolumeclaim-protection-controller,\
                 serviceaccount-controller,statefulset-controller"
                    .to_string(),
                "--leader-elect=false".to_string(),
                // No serving endpoint of its own (nothing scrapes it).
                "--secure-port=0".to_string(),
                "--profiling=false".to_string(),
                "-v=0".to_string(),
            ]),
        );
        this.wait_ready().await?;
        Ok(this)
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) {
        let log = File::create(self.dir.path().join(format!("{name}.log")))
            .unwrap_or_else(|e| panic!("create {name}.log: {e}"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", cmd.get_program().display()));
        self.children.push((name, child));
    }

    /// Poll `/readyz` (every check of the API server: etcd, RBAC bootstrap
    /// roles, priority and fairness, ...) until it says `ok`, a child exits,
    /// or the deadline passes.
    async fn wait_ready(&mut self) -> Result<(), Failed> {
        let client = cluster::k8s::client(&self.kubeconfig)
            .await
            .expect("a client from the test kubeconfig");
        let last = std::cell::RefCell::new(String::new());
        let children = &mut self.children;
        let ready = wait_until_async(READY_DEADLINE, POLL, || {
            let exited = children
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            let (client, last) = (&client, &last);
            async move {
                if exited.is_some() {
                    return Some(exited);
                }
                let request = http::Request::get("/readyz")
                    .body(Vec::new())
                    .expect("request");
                match client.request_text(request).await {
                    Ok(text) if text.trim() == "ok" => return Some(None),
                    Ok(text) => *last.borrow_mut() = text,
                    Err(e) => *last.borrow_mut() = e.to_string(),
                }
                None
            }
        })
        .await;
        match ready {
            Some(None) => Ok(()),
            Some(Some((name, status))) => {
                let logs = self.logs();
                Err(Failed {
                    port_taken: logs.contains("address already in use"),
                    message: format!(
                        "{name} exited ({status}) while waiting for kube-apiserver at {} to be ready\n{logs}",
                        self.url
                    ),
                })
            }
            None => Err(Failed {
                port_taken: false,
                message: format!(
                    "kube-apiserver at {} was not ready within {READY_DEADLINE:?}; last /readyz: {}\n{}",
                    self.url,
                    last.borrow(),
                    self.logs()
                ),
            }),
        }
    }

    /// The kubeconfig (CA = the serving certificate's CA); its current
    /// context `test` is an admin in system:masters (bearer token), its
    /// context [`LIMITED_CONTEXT`] the user [`LIMITED_USER`].
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A fresh client through fabdev's own constructor. Each test makes its
    /// own: a client belongs to the runtime of the test that made it.
    pub async fn client(&self) -> kube::Client {
        cluster::k8s::client(&self.kubeconfig)
            .await
            .expect("a client from the test kubeconfig")
    }

    /// The last lines of every child's log.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (name, _) in &self.children {
            let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            out.push_str(&format!("--- {name}.log (last lines):\n"));
            for line in &lines[lines.len().saturating_sub(20)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        // Controller manager, API server, then etcd. SIGKILL: the store is
        // thrown away with the temp folder.
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three distinct free TCP ports on 127.0.0.1, all held until chosen.
fn free_ports() -> [u16; 3] {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port"))
        .collect();
    let port = |i: usize| listeners[i].local_addr().expect("local addr").port();
    [port(0), port(1), port(2)]
}

fn kubeconfig_yaml(url: &str, ca: &Path) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: admin
  user:
    token: {ADMIN_TOKEN}
- name: {LIMITED_USER}
  user:
    token: {LIMITED_TOKEN}
contexts:
- name: test
  context:
    cluster: test
    user: admin
- name: {LIMITED_CONTEXT}
  context:
    cluster: test
    user: {LIMITED_USER}
current-context: test
",
        ca = ca.display()
    )
}
