#!/usr/bin/env bash
# The one test command: formatting and clippy first (seconds when the build is
# warm), then installs what the tests need when it is missing and runs every
# check and test. Used as-is by CI (.ci/run). scripts/check/fast.sh is the
# quick check without root or services.
#
#   scripts/test.sh            # everything
#
# Needs: a Rust toolchain (cargo), python3 with pip, and root or sudo for apt
# when a Debian package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
apt_install() {
  log "installing $* (apt)"
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

# --- The environment of every cargo command below --------------------------------
# Set once, before the first cargo command: the build scripts that decide
# which tests can run here read PATH (and the FABDEV_REQUIRE_* variables), and
# a change between two cargo commands would build those crates again.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if command -v go >/dev/null 2>&1; then
  export PATH="$(go env GOPATH)/bin:$PATH"
fi
py_scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
export PATH="$py_scripts:$PATH"
# Here the real node must run: a missing piece fails the real_node_* tests
# instead of leaving them ignored.
export FABDEV_REQUIRE_REAL_NODE=1
# And a real kind cluster on podman with the offline node image: a missing
# piece fails the real_kind_* tests.
export FABDEV_REQUIRE_REAL_KIND=1

# --- Formatting and clippy first: a slip fails in seconds ------------------------
# (protoc first when it is missing: fabric-sdk compiles Fabric's protos in its
# build script, so clippy needs it.)
log "cargo fmt --check"
cargo fmt --all -- --check
command -v protoc >/dev/null 2>&1 || apt_install protobuf-compiler
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# --- Debian packages -----------------------------------------------------------
apt_missing=()
# dockerd: the image-transfer tests run against real Docker engines.
command -v dockerd >/dev/null 2>&1 || apt_missing+=(docker.io)
# containerd and ctr: the kind-node tests run a real containerd in a container.
command -v ctr >/dev/null 2>&1 || apt_missing+=(containerd)
# The real_node_* tests (crates/kubenode) run a kubelet on its own containerd
# with runc, CNI bridge networking and kube-proxy's iptables rules; their
# stand-in images start from a debootstrap'd Debian.
command -v runc >/dev/null 2>&1 || apt_missing+=(runc)
[ -x /usr/lib/cni/bridge ] || apt_missing+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || apt_missing+=(iptables)
# ipset: kube-router, the real node's NetworkPolicy controller, keeps the
# policies' pod addresses in ipsets.
command -v ipset >/dev/null 2>&1 || apt_missing+=(ipset)
command -v ip >/dev/null 2>&1 || apt_missing+=(iproute2)
command -v debootstrap >/dev/null 2>&1 || apt_missing+=(debootstrap)
# python3-venv: checkov gets a venv of its own (scripts/check/checkov.sh).
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt_install "${apt_missing[@]}"
fi

# --- Docker engine ---------------------------------------------------------------
bash scripts/setup/docker.sh
# The real node's pods talk over one bridge: kube-router enforces
# NetworkPolicy between them only when bridged packets pass iptables (Docker
# usually turns this on; the real_node tests' host check says so when it is off).
if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" != 1 ]; then
  log "turning on net.bridge.bridge-nf-call-iptables (br_netfilter) for the real node"
  { modprobe br_netfilter 2>/dev/null || true; } && sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
    || log "could not turn on net.bridge.bridge-nf-call-iptables; the real_node tests will name it"
fi

# --- Go-built tools ---------------------------------------------------------------
# crictl: kind nodes answer "which image ID do you have" through it, and so
# does the stand-in node of the kind-node tests.
CRICTL_VERSION=v1.37.0
command -v go >/dev/null 2>&1 || { echo "test.sh: Go is needed (crictl and the Kubernetes control plane are built with it)" >&2; exit 1; }
if ! crictl --version >/dev/null 2>&1; then
  log "installing crictl $CRICTL_VERSION (Go module proxy)"
  go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
fi
# kube-router: the real node's NetworkPolicy controller (firewall only, beside
# the bridge CNI and kube-proxy), so the real_node_* tests see fabdev's
# NetworkPolicies enforced.
KUBE_ROUTER_VERSION=v2.1.0
# (`go install` sets no version in its --version: ask the binary's build info.)
if ! go version -m "$(command -v kube-router || echo /nonexistent)" 2>/dev/null \
    | grep -q "kube-router/v2[[:space:]]*$KUBE_ROUTER_VERSION"; then
  log "installing kube-router $KUBE_ROUTER_VERSION (Go module proxy)"
  go install "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
fi

# --- Kubernetes -------------------------------------------------------------------
# kube-apiserver, kube-controller-manager and etcd for the real API server tests
# (crates/cluster/tests/apiserver.rs, tests/apiserver_network.rs,
# tests/up_local.rs), and kube-scheduler, kubelet, kube-proxy and CoreDNS for the
# real single-node cluster of the real_node_* tests (crates/kubenode); built
# from the Go module proxy on first use, then reused.
bash scripts/setup/kube.sh

# --- Images of the real node --------------------------------------------------------
# The pause image and the stand-ins (DinD from Debian's docker.io, peer and
# orderer that only answer /healthz) in the host's Docker; the real_node_*
# tests import them into the node's containerd. With FABRIC_HOME set, also
# images of the local Fabric binaries (never pushed or committed).
t=$(date +%s)
bash scripts/setup/node-images.sh
log "node images ready in $(($(date +%s) - t))s"

# --- kind on podman ------------------------------------------------------------------
# The real_kind_* tests run `fabdev up` on a real kind cluster. Docker cannot
# run kind's privileged nodes here (no CAP_SYS_RESOURCE in the bounding set),
# podman can: podman with what `fabdev doctor` asks for, its API socket, kind
# v0.33.0, and kind's node image built offline (kindest/node cannot be
# pulled here), cached in ~/.cache/fabdev/tools/kind-node.
bash scripts/setup/podman.sh
t=$(date +%s)
bash scripts/setup/kind-node-image.sh
log "kind node image ready in $(($(date +%s) - t))s"

# --- Python validators --------------------------------------------------------
KV_VERSION=1.37.0
if ! kubernetes-validate --version 2>/dev/null | grep -q "$KV_VERSION"; then
  log "installing kubernetes-validate $KV_VERSION (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
kubernetes-validate --version

# --- Real Fabric (optional) ----------------------------------------------------
# The real_fabric_* tests (crates/testnet) run fabdev against real orderers and
# peers when Fabric's binaries are there; otherwise they are reported ignored,
# by name, and counted as skipped below. Never built or fetched here.
if [ -n "${FABRIC_HOME:-}" ] && [ -x "$FABRIC_HOME/bin/peer" ] && [ -f "$FABRIC_HOME/config/core.yaml" ]; then
  log "real Fabric: $FABRIC_HOME ($("$FABRIC_HOME/bin/peer" version 2>/dev/null | sed -n 's/^ *Version: *//p'))"
else
  log "real Fabric: no binaries, so the real_fabric_* tests are skipped (reported ignored)."
  log "  To run them: unpack a Fabric release tarball (hyperledger-fabric-linux-amd64-<version>.tar.gz,"
  log "  from the hyperledger/fabric GitHub releases) and set FABRIC_HOME to the folder holding bin/ and config/."
fi

# --- Policy scan (checkov) ----------------------------------------------------
# checkov (PyPI, pinned, in its own venv) over the rendered default and
# three-orgs networks: a failed check not listed with its reason in
# fixtures/checkov-exceptions.yaml, or an entry matching nothing, fails CI.
log "checkov over the rendered networks (scripts/check/checkov.sh)"
cargo build -p fabdev --locked --quiet
bash scripts/check/checkov.sh

# --- Rust tests ------------------------------------------------------------------
log "cargo test"
mkdir -p target
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e
# A summary line over all test binaries, for readers of the log.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.txt
exit "$status"
