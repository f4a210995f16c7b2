//! What the tests that need more than Rust lack on this host, in one place:
//! Fabric's binaries for the `real_fabric_*` tests, and root, the
//! Kubernetes binaries, packages and images for the `real_node_*` tests.
//!
//! The build scripts of `testnet`, `kubenode` and `fabdev` ask it, at build
//! time, and set a cfg for each kind of test (`fabric_binaries`,
//! `real_node`, `real_node_fabric`); a test whose cfg is not set is marked
//! `#[ignore = "why"]` and reported `ignored`, with that reason, never `ok`:
//!
//! ```text
//! #[cfg_attr(not(real_node), ignore = "no real node here: …")]
//! ```
//!
//! Under a `FABDEV_REQUIRE_*` variable ([`REQUIRE_FABRIC`],
//! [`REQUIRE_REAL_NODE`]) the cfg is set whatever is missing, so the test
//! runs and fails, naming each missing piece (the test support calls the
//! same checks at run time: [`Check::fail_if_missing`]).
//!
//! A build script only re-runs when something it looked at changes, so
//! [`Check::set_cfg`] tells cargo what that is: the environment variables
//! read, the files found, and for what was missing the nearest folder that
//! exists of where it would appear (the images are watched through the
//! `*.ids` files `scripts/setup/node-images.sh` and `builder-images.sh`
//! write into `~/.cache/fabdev/images`, not through Docker's own store,
//! which every test that makes an image would change).
//!
//! Standard library only: it is a build-dependency.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to `1`: the `real_fabric_*` tests run (and fail) without Fabric's
/// binaries instead of being ignored.
pub const REQUIRE_FABRIC: &str = "FABDEV_REQUIRE_FABRIC";
/// Set to `1` (as `scripts/test.sh` does): the `real_node_*` tests run (and
/// fail) without the pieces of the real node instead of being ignored.
pub const REQUIRE_REAL_NODE: &str = "FABDEV_REQUIRE_REAL_NODE";
/// Set to `1`: the CouchDB tests run (and fail) without a CouchDB release
/// instead of being ignored.
pub const REQUIRE_COUCHDB: &str = "FABDEV_REQUIRE_COUCHDB";
/// Where a CouchDB release folder (`bin/couchdb`, `etc/vm.args`) is looked
/// for: [`COUCHDB_HOME`], else these folders in order (the Apache package's
/// install folder, then this project's local build folder).
pub const COUCHDB_HOME: &str = "COUCHDB_HOME";
pub const COUCHDB_WELL_KNOWN: &[&str] = &["/opt/couchdb", "/opt/couchdb-build/release"];

/// The Kubernetes version `scripts/setup/kube.sh` builds.
pub const KUBE_VERSION: &str = "v1.37.2";
/// The Kubernetes binaries of the real node (from `scripts/setup/kube.sh`);
/// the test API server uses the first three.
pub const KUBE_BINARIES: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "coredns",
];
/// The images of `scripts/setup/node-images.sh` the real node runs: the pod
/// sandbox, then stand-ins of the DinD image (for `docker:28.5.1-dind`,
/// never under that name, which a real `fabdev up` on the same machine
/// would then seed) and of Fabric's peer and orderer.
pub const PAUSE_IMAGE: &str = "fabdev.invalid/kubenode-pause:1";
pub const DIND_STANDIN_IMAGE: &str = "fabdev.invalid/standin-docker:28.5.1-dind";
pub const PEER_STANDIN_IMAGE: &str = "fabdev.invalid/standin-fabric-peer:2";
pub const ORDERER_STANDIN_IMAGE: &str = "fabdev.invalid/standin-fabric-orderer:2";

/// The stand-ins `scripts/setup/builder-images.sh` makes for Fabric's Go
/// builder, Go runtime and Node images of the `MAJOR.MINOR` line `two`, in
/// that order (ccenv, baseos, nodeenv; nodeenv is on the 2.5 line for every
/// Fabric version). They have names of their own, never Fabric's
/// `hyperledger/fabric-*`, so a real `fabdev up` on the same machine never
/// takes a stand-in for the release it pins; the tests name them in their
/// fabdev.yaml's `images:`.
pub fn builder_standins(two: &str) -> [String; 3] {
    [
        format!("fabdev.invalid/standin-fabric-ccenv:{two}"),
        format!("fabdev.invalid/standin-fabric-baseos:{two}"),
        "fabdev.invalid/standin-fabric-nodeenv:2.5".to_string(),
    ]
}

/// The image `scripts/setup/node-images.sh` makes of `FABRIC_HOME`'s `role`
/// (`peer`, `orderer`) at `version`: that release's binaries, but not the
/// image Hyperledger publishes, so under a name of its own (and the label
/// `dev.fabdev.local-fabric`), never taken for a pulled
/// `hyperledger/fabric-peer:<version>` nor shadowing one.
pub fn local_fabric_image(role: &str, version: &str) -> String {
    format!("fabdev.invalid/local-fabric-{role}:{version}")
}

/// Where the CNI plugins are (Debian's containernetworking-plugins).
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";

/// Who decides whether a missing piece fails or ignores a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Fabric's binaries; [`REQUIRE_FABRIC`].
    Fabric,
    /// The real node's pieces; [`REQUIRE_REAL_NODE`].
    RealNode,
    /// A CouchDB release; [`REQUIRE_COUCHDB`].
    Couchdb,
}

impl Group {
    pub fn require_var(self) -> &'static str {
        match self {
            Group::Fabric => REQUIRE_FABRIC,
            Group::RealNode => REQUIRE_REAL_NODE,
            Group::Couchdb => REQUIRE_COUCHDB,
        }
    }

    /// Whether its `FABDEV_REQUIRE_*` variable is `1`.
    pub fn required(self) -> bool {
        std::env::var(self.require_var()).as_deref() == Ok("1")
    }
}

/// What one kind of test needs, looked at once: what is missing (each piece
/// with the group that decides about it and how to get it), and what was
/// looked at.
#[derive(Debug, Default)]
pub struct Check {
    missing: Vec<(Group, String)>,
    /// Files and folders to re-run a build script on.
    watch: BTreeSet<PathBuf>,
    /// Environment variables read.
    env: BTreeSet<&'static str>,
}

impl Check {
    /// Fabric's binaries, for the `real_fabric_*` tests.
    pub fn fabric() -> Check {
        let mut c = Check::default();
        c.fabric_home();
        c
    }

    /// Fabric's binaries and a CouchDB release, for the tests of peers with
    /// `stateDatabase: couchdb`.
    pub fn couchdb() -> Check {
        let mut c = Check::fabric();
        c.env.insert(COUCHDB_HOME);
        match couchdb_home() {
            Ok(home) => {
                c.watch.insert(home.join("bin"));
            }
            Err(why) => {
                let mut near: Vec<PathBuf> = std::env::var_os(COUCHDB_HOME)
                    .map(PathBuf::from)
                    .into_iter()
                    .collect();
                near.extend(COUCHDB_WELL_KNOWN.iter().map(PathBuf::from));
                c.watch_nearest(&near);
                c.missing
                    .push((Group::Couchdb, format!("a CouchDB release: {why}")));
            }
        }
        c
    }

    /// The real single-node cluster: root, the Kubernetes binaries, the
    /// packages, crictl, the CNI plugins, and the images of
    /// `scripts/setup/node-images.sh`.
    pub fn real_node() -> Check {
        let mut c = Check::default();
        let bin_dir = kube_bin_dir_watched(&mut c.env);
        c.node_host(&bin_dir);
        c.images(
            Group::RealNode,
            &[
                PAUSE_IMAGE,
                DIND_STANDIN_IMAGE,
                PEER_STANDIN_IMAGE,
                ORDERER_STANDIN_IMAGE,
            ],
            "run scripts/setup/node-images.sh",
        );
        c
    }

    /// Real Fabric on the real node: all of [`Check::real_node`], Fabric's
    /// binaries, the peer and orderer images `scripts/setup/node-images.sh`
    /// makes from them and the builder images of their release line.
    pub fn real_node_fabric() -> Check {
        let mut c = Check::real_node();
        match c.fabric_home().and_then(|h| fabric_version(&h)) {
            Some(v) => {
                let two = v.rsplit_once('.').map_or(v.as_str(), |(two, _)| two);
                let node = [
                    local_fabric_image("peer", &v),
                    local_fabric_image("orderer", &v),
                ];
                let node: Vec<&str> = node.iter().map(String::as_str).collect();
                c.images(
                    Group::RealNode,
                    &node,
                    "run scripts/setup/node-images.sh with FABRIC_HOME set",
                );
                let builders = builder_standins(two);
                let builders: Vec<&str> = builders.iter().map(String::as_str).collect();
                c.images(
                    Group::RealNode,
                    &builders,
                    "run scripts/setup/builder-images.sh",
                );
            }
            None => c.missing.push((
                Group::RealNode,
                "the Fabric peer and orderer images (they are made from FABRIC_HOME's binaries)"
                    .to_string(),
            )),
        }
        c
    }

    /// Whether the test runs: nothing missing, or every group with a
    /// missing piece required.
    pub fn runs(&self) -> bool {
        self.missing.iter().all(|(g, _)| g.required())
    }

    /// Each missing piece, with how to get it.
    pub fn missing(&self) -> Vec<&str> {
        self.missing.iter().map(|(_, m)| m.as_str()).collect()
    }

    /// At run time: fail the test (panic) naming each missing piece. A test
    /// that runs although something is missing does so because its
    /// `FABDEV_REQUIRE_*` variable is set, or because the piece went away
    /// after the build.
    #[track_caller]
    pub fn fail_if_missing(&self, test: &str) {
        if self.missing.is_empty() {
            return;
        }
        let groups: BTreeSet<&str> = self.missing.iter().map(|(g, _)| g.require_var()).collect();
        let why = if self.runs() {
            format!(
                "{} is set",
                groups.into_iter().collect::<Vec<_>>().join(" and ")
            )
        } else {
            "it went away after the build".to_string()
        };
        panic!(
            "{test} cannot run here ({why}); missing:\n  - {}",
            self.missing().join("\n  - ")
        );
    }

    /// In a build script: declare `cfg(name)`, set it when the test
    /// [`runs`](Check::runs), and tell cargo what to re-run on.
    pub fn set_cfg(&self, name: &str) {
        println!("cargo::rustc-check-cfg=cfg({name})");
        for var in self
            .env
            .iter()
            .chain(&[REQUIRE_FABRIC, REQUIRE_REAL_NODE, REQUIRE_COUCHDB])
        {
            println!("cargo::rerun-if-env-changed={var}");
        }
        for path in &self.watch {
            println!("cargo::rerun-if-changed={}", path.display());
        }
        if self.runs() {
            println!("cargo::rustc-cfg={name}");
        }
    }

    /// Fabric's release folder (`$FABRIC_HOME`, else the folder above a
    /// `peer` on PATH with `config/` beside `bin/`), or why there is none.
    fn fabric_home(&mut self) -> Option<PathBuf> {
        self.env.insert("FABRIC_HOME");
        self.env.insert("PATH");
        match fabric_home() {
            Ok(home) => {
                self.watch.insert(home.join("bin"));
                Some(home)
            }
            Err(why) => {
                if let Some(h) = std::env::var_os("FABRIC_HOME") {
                    let h = PathBuf::from(h);
                    self.watch_nearest(&[h.join("bin"), h]);
                }
                self.missing.push((
                    Group::Fabric,
                    format!("Fabric's binaries: {why} ({WHERE_TO_GET_FABRIC})"),
                ));
                None
            }
        }
    }

    /// Root, the Kubernetes binaries in `bin_dir`, the packages, crictl and
    /// the CNI plugins.
    fn node_host(&mut self, bin_dir: &Path) {
        for missing in node_host_missing(bin_dir) {
            self.missing.push((Group::RealNode, missing));
        }
        self.watch_nearest(&[
            bin_dir.to_path_buf(),
            bin_dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            tools_dir(),
            cache_dir(),
        ]);
        // Debian packages: dpkg's database changes with every install.
        self.watch_nearest(&[PathBuf::from("/var/lib/dpkg/status")]);
        self.env.extend(["GOBIN", "GOPATH", "PATH"]);
        if let Some(gobin) = go_bin() {
            self.watch_nearest(&[gobin]);
        }
    }

    /// Whether the host's Docker has each image.
    fn images(&mut self, group: Group, images: &[&str], how: &str) {
        self.env.insert("DOCKER_HOST");
        self.env.insert("FABDEV_IMAGE_CACHE");
        let absent = absent_images(images);
        if !absent.is_empty() {
            self.missing.push((
                group,
                format!("in the host's Docker: {} ({how})", absent.join(", ")),
            ));
        }
        self.watch_nearest(&[image_cache_dir(), cache_dir()]);
    }

    /// Watch the first of `candidates` that exists (none when none does: a
    /// missing path would re-run the build script, and build the crate
    /// again, every time). Cargo scans a folder recursively on every build,
    /// so a folder less than three levels deep (`/`, `/usr`, `$HOME`) is
    /// never watched, nor a relative path.
    fn watch_nearest(&mut self, candidates: &[PathBuf]) {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let watchable = |p: &&PathBuf| {
            p.is_absolute()
                && p.exists()
                && (p.is_file()
                    || (p.components().count() > 3 && home.as_deref() != Some(p.as_path())))
        };
        if let Some(p) = candidates.iter().find(watchable) {
            self.watch.insert(p.clone());
        }
    }
}

/// Where users get Fabric's binaries; said whenever they are missing.
pub const WHERE_TO_GET_FABRIC: &str = "download a Fabric release tarball (hyperledger-fabric-linux-amd64-<version>.tar.gz \
from the hyperledger/fabric GitHub releases), unpack it and set FABRIC_HOME to the folder \
holding its bin/ and config/";

/// What a Fabric release folder lacks of `bin/peer`, `bin/orderer`,
/// `config/core.yaml` and `config/orderer.yaml`.
pub fn fabric_home_missing(root: &Path) -> Vec<&'static str> {
    [
        "bin/peer",
        "bin/orderer",
        "config/core.yaml",
        "config/orderer.yaml",
    ]
    .into_iter()
    .filter(|f| !root.join(f).is_file())
    .collect()
}

/// `$FABRIC_HOME` when it is a complete release folder, else the folder
/// above a `peer` on PATH that is one; or why there is none.
pub fn fabric_home() -> Result<PathBuf, String> {
    if let Some(h) = std::env::var_os("FABRIC_HOME") {
        let h = PathBuf::from(h);
        let gone = fabric_home_missing(&h);
        return if gone.is_empty() {
            Ok(h)
        } else {
            Err(format!(
                "FABRIC_HOME={} has no {}",
                h.display(),
                gone.join(", ")
            ))
        };
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.join("peer").is_file())
                .filter_map(|d| d.parent().map(Path::to_path_buf))
                .find(|h| fabric_home_missing(h).is_empty())
        })
        .ok_or_else(|| {
            "FABRIC_HOME is not set, and no `peer` on PATH has ../config beside it".to_string()
        })
}

/// A CouchDB release folder: `$COUCHDB_HOME`, else the first of
/// [`COUCHDB_WELL_KNOWN`] that is one; or why there is none.
pub fn couchdb_home() -> Result<PathBuf, String> {
    let is_release = |h: &Path| h.join("bin/couchdb").is_file() && h.join("etc/vm.args").is_file();
    if let Some(h) = std::env::var_os(COUCHDB_HOME) {
        let h = PathBuf::from(h);
        return if is_release(&h) {
            Ok(h)
        } else {
            Err(format!(
                "{COUCHDB_HOME}={} has no bin/couchdb and etc/vm.args",
                h.display()
            ))
        };
    }
    COUCHDB_WELL_KNOWN
        .iter()
        .map(PathBuf::from)
        .find(|h| is_release(h))
        .ok_or_else(|| {
            format!(
                "{COUCHDB_HOME} is not set and none of {} is a CouchDB release folder (bin/couchdb, etc/vm.args); CouchDB is no Debian package: build a release from Apache CouchDB's source and set {COUCHDB_HOME} to it",
                COUCHDB_WELL_KNOWN.join(", ")
            )
        })
}

/// `peer version`'s `Version:`, e.g. `2.5.14`.
pub fn fabric_version(home: &Path) -> Option<String> {
    let out = Command::new(home.join("bin").join("peer"))
        .arg("version")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version:"))
        .map(|v| v.trim().trim_start_matches('v').to_string())
        .filter(|v| !v.is_empty())
}

/// `~/.cache/fabdev`.
fn cache_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/fabdev")
}

/// `${FABDEV_TOOLS:-$HOME/.cache/fabdev/tools}`.
fn tools_dir() -> PathBuf {
    match std::env::var_os("FABDEV_TOOLS") {
        Some(t) => PathBuf::from(t),
        None => cache_dir().join("tools"),
    }
}

/// `${FABDEV_IMAGE_CACHE:-$HOME/.cache/fabdev/images}`: the setup scripts'
/// cache, where they write the `*.ids` of the images they made.
fn image_cache_dir() -> PathBuf {
    match std::env::var_os("FABDEV_IMAGE_CACHE") {
        Some(t) => PathBuf::from(t),
        None => cache_dir().join("images"),
    }
}

/// The folder with the Kubernetes binaries: `$FABDEV_KUBE_BIN`, else
/// `${FABDEV_TOOLS:-$HOME/.cache/fabdev/tools}/kube-<version>/bin`.
pub fn kube_bin_dir() -> PathBuf {
    kube_bin_dir_watched(&mut BTreeSet::new())
}

fn kube_bin_dir_watched(env: &mut BTreeSet<&'static str>) -> PathBuf {
    env.extend(["FABDEV_KUBE_BIN", "FABDEV_TOOLS", "HOME"]);
    if let Some(dir) = std::env::var_os("FABDEV_KUBE_BIN") {
        return PathBuf::from(dir);
    }
    tools_dir().join(format!("kube-{KUBE_VERSION}")).join("bin")
}

/// What the host lacks for a real node, each piece with how to get it:
/// root, the Kubernetes binaries in `bin_dir`, the packages, crictl and the
/// CNI plugins (not the images: [`absent_images`]).
pub fn node_host_missing(bin_dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (the node mounts, makes a bridge, sets iptables rules)".to_string());
    }
    let kube: Vec<&str> = KUBE_BINARIES
        .iter()
        .copied()
        .filter(|b| !bin_dir.join(b).is_file())
        .collect();
    if !kube.is_empty() {
        missing.push(format!(
            "{} in {} (run scripts/setup/kube.sh)",
            kube.join(", "),
            bin_dir.display()
        ));
    }
    for (tool, package) in [
        ("containerd", "containerd"),
        ("ctr", "containerd"),
        ("runc", "runc"),
        ("iptables", "iptables"),
        ("ipset", "ipset"),
        ("ip", "iproute2"),
        ("docker", "docker.io"),
        ("kill", "procps"),
        ("umount", "mount"),
    ] {
        if find_tool(tool).is_none() {
            missing.push(format!("{tool} (apt-get install {package})"));
        }
    }
    if find_crictl().is_none() {
        missing.push(
            "crictl (go install sigs.k8s.io/cri-tools/cmd/crictl; scripts/test.sh does)"
                .to_string(),
        );
    }
    if find_kube_router().is_none() {
        missing.push(
            "kube-router (go install github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0; scripts/test.sh does)"
                .to_string(),
        );
    }
    for plugin in ["bridge", "host-local", "loopback", "portmap"] {
        if !Path::new(CNI_BIN_DIR).join(plugin).is_file() {
            missing.push(format!(
                "the CNI plugin {CNI_BIN_DIR}/{plugin} (apt-get install containernetworking-plugins)"
            ));
        }
    }
    missing.extend(bridge_netfilter_missing(
        std::fs::read_to_string(BRIDGE_NF_CALL_IPTABLES)
            .ok()
            .as_deref(),
    ));
    missing
}

/// The sysctl that sends traffic between ports of a bridge through
/// iptables.
pub const BRIDGE_NF_CALL_IPTABLES: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/// What the node lacks, given [`BRIDGE_NF_CALL_IPTABLES`]'s content (`None`:
/// the file is absent, `br_netfilter` is not loaded): without it, traffic
/// between two pods on the node's bridge never meets iptables, and
/// kube-router cannot enforce NetworkPolicy between them.
pub fn bridge_netfilter_missing(value: Option<&str>) -> Option<String> {
    match value.map(str::trim) {
        Some("1") => None,
        Some(_) => Some(
            "net.bridge.bridge-nf-call-iptables=1 (sysctl -w net.bridge.bridge-nf-call-iptables=1; \
             without it pod-to-pod traffic on the node's bridge bypasses iptables and NetworkPolicy)"
                .to_string(),
        ),
        None => Some(
            "br_netfilter (modprobe br_netfilter; then net.bridge.bridge-nf-call-iptables=1): \
             without it pod-to-pod traffic on the node's bridge bypasses iptables and NetworkPolicy"
                .to_string(),
        ),
    }
}

/// Which of `images` the host's Docker does not have (all of them when
/// Docker does not answer).
pub fn absent_images(images: &[&str]) -> Vec<String> {
    let Ok(out) = Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{range .RepoTags}}{{.}} {{end}}",
        ])
        .args(images)
        .output()
    else {
        return images.iter().map(|i| i.to_string()).collect();
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tags: BTreeSet<&str> = stdout.split_whitespace().collect();
    images
        .iter()
        .filter(|i| !tags.contains(*i))
        .map(|i| i.to_string())
        .collect()
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A program on PATH or in the system's sbin and bin folders.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Where `go install` puts programs: `$GOBIN`, else `$GOPATH/bin`, else
/// `~/go/bin`.
pub fn go_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("GOBIN").filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(bin));
    }
    let gopath = match std::env::var_os("GOPATH").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?).join("go"),
    };
    Some(gopath.join("bin"))
}

/// kube-router (the real node's NetworkPolicy controller): on PATH, else
/// where `go install` puts it.
pub fn find_kube_router() -> Option<PathBuf> {
    find_tool("kube-router").or_else(|| {
        go_bin()
            .map(|b| b.join("kube-router"))
            .filter(|p| p.is_file())
    })
}

/// crictl: on PATH, else where `go install` puts it.
pub fn find_crictl() -> Option<PathBuf> {
    find_tool("crictl").or_else(|| go_bin().map(|b| b.join("crictl")).filter(|p| p.is_file()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_node_needs_bridge_traffic_in_iptables() {
        use super::bridge_netfilter_missing as missing;
        assert_eq!(missing(Some("1\n")), None);
        assert!(missing(Some("0\n")).is_some_and(|m| m.contains("sysctl -w")));
        assert!(missing(None).is_some_and(|m| m.contains("modprobe br_netfilter")));
    }

    use super::*;

    #[test]
    fn shallow_folders_are_never_watched() {
        let mut c = Check::default();
        c.watch_nearest(&[PathBuf::from("/nowhere/bin"), PathBuf::from("/")]);
        c.watch_nearest(&[PathBuf::from("/usr")]);
        c.watch_nearest(&[PathBuf::from("relative")]);
        assert!(c.watch.is_empty(), "{:?}", c.watch);
        c.watch_nearest(&[PathBuf::from("/proc/self/status")]);
        assert_eq!(c.watch.len(), 1);
    }

    #[test]
    fn a_required_group_runs_with_pieces_missing() {
        let c = Check {
            missing: vec![(Group::RealNode, "x".into())],
            ..Check::default()
        };
        assert_eq!(c.runs(), Group::RealNode.required());
        assert_eq!(c.missing(), ["x"]);
    }
}
