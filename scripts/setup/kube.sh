#!/usr/bin/env bash
# Builds Kubernetes for the API server tests (crates/cluster/tests/apiserver.rs,
# tests/apiserver_network.rs) and for the real single-node cluster of the
# real_node_* tests (crates/kubenode):
#
#   kube-apiserver, kube-controller-manager,  k8s.io/kubernetes  (Go module proxy)
#   kube-scheduler, kubelet, kube-proxy
#   etcd                                      go.etcd.io/etcd/server/v3 (Go module proxy)
#   coredns                                   github.com/coredns/coredns (Go module proxy;
#                                             a main with only the plugins the node uses)
#
# into ${FABDEV_TOOLS:-$HOME/.cache/fabdev/tools}/kube-<version>/bin/, the
# folder the tests look in (or set FABDEV_KUBE_BIN to another one). Does
# nothing when the binaries are there already (each asked its --version);
# builds only what is missing. Needs Go and the module proxy;
# no container registry, no GitHub.
#
#   scripts/setup/kube.sh                 # Kubernetes v1.37.2, etcd v3.7.3
#   KUBE_VERSION=v1.36.3 scripts/setup/kube.sh
#   KUBE_EXTRA_CMDS="kubeadm kubectl" scripts/setup/kube.sh   # also these
#                                         # (scripts/setup/kind-node-image.sh)
#
# v1.37.2 is the version kind v0.33.0 (scripts/e2e/kind.sh) runs by default.
# The tests look in kube-v1.37.2 (KUBE_VERSION in
# crates/testkit-probe); point FABDEV_KUBE_BIN at the
# folder of another version to test against it.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod points every staging
# module (k8s.io/api, k8s.io/apiserver, ...) at ./staging/src with replace
# directives, which only work inside its own tree. So this writes a throwaway
# module that requires k8s.io/kubernetes and replaces each staging module with
# its published version (v1.X.Y -> v0.X.Y), and builds the commands from there.
# etcd's own main module has the same problem; a three-line main around
# go.etcd.io/etcd/server/v3/etcdmain, in a second throwaway module, does not.
#
# A cold build (empty Go build cache, 2 cores, Go 1.26) took 14 min 19 s:
# kube-apiserver 10.5 min, kube-controller-manager 3 min more (it shares most
# packages), etcd under 1 min, downloads and `go mod tidy` the rest. Adding
# the node's binaries to that warm cache (2 cores shared with other builds):
# kube-scheduler 18 s, kubelet 57 s, kube-proxy 30 s, coredns 7 min 19 s (its
# own dependency versions: client-go and the API types compile again); 9 min
# 8 s in all. Each step prints its time. The Go build cache is left at its default; caching the
# install folder skips all of it.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
COREDNS_VERSION=${COREDNS_VERSION:-v1.13.1}
TOOLS=${FABDEV_TOOLS:-$HOME/.cache/fabdev/tools}
DEST="$TOOLS/kube-$KUBE_VERSION/bin"

log() { printf '==> %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup/kube.sh: Go is needed (https://go.dev/dl/) and was not found" >&2
    exit 1
  fi
fi

# A Kubernetes command's version line (kubeadm and kubectl have no --version).
kube_version() {
  case "$(basename "$1")" in
    kubeadm) "$1" version -o short ;;
    # Read whole, then cut: `| head -1` could kill it with SIGPIPE, which
    # pipefail would take for a missing binary.
    kubectl) out=$("$1" version --client) && echo "${out%%$'\n'*}" ;;
    *) "$1" --version ;;
  esac
}

# What is there already: each binary, and the version it says it is. Only
# what is missing (or of another version) is built.
kube_cmds="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy ${KUBE_EXTRA_CMDS:-}"
missing_kube=()
for cmd in $kube_cmds; do
  # (grep reads a here-string: `cmd | grep -q` can end cmd with SIGPIPE,
  # which pipefail takes for a failure.)
  if ! { [ -x "$DEST/$cmd" ] && grep -qF "$KUBE_VERSION" <<<"$(kube_version "$DEST/$cmd" 2>/dev/null)"; }; then
    missing_kube+=("$cmd")
  fi
done
need_etcd=1
[ -x "$DEST/etcd" ] && grep -qF "etcd Version: ${ETCD_VERSION#v}" <<<"$("$DEST/etcd" --version 2>/dev/null)" && need_etcd=0
need_coredns=1
# Also rebuilt when it lacks a plugin of kubeadm's Corefile (an older build).
[ -x "$DEST/coredns" ] && grep -qF "CoreDNS-${COREDNS_VERSION#v}" <<<"$("$DEST/coredns" -version 2>/dev/null)" \
  && grep -qx loadbalance <<<"$("$DEST/coredns" -plugins 2>/dev/null)" && need_coredns=0
if [ ${#missing_kube[@]} -eq 0 ] && [ "$need_etcd" = 0 ] && [ "$need_coredns" = 0 ]; then
  log "$kube_cmds $KUBE_VERSION, etcd $ETCD_VERSION and coredns $COREDNS_VERSION already in $DEST"
  exit 0
fi

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building ${missing_kube[*]:-} $KUBE_VERSION$([ "$need_etcd" = 1 ] && echo ", etcd $ETCD_VERSION")$([ "$need_coredns" = 1 ] && echo ", coredns $COREDNS_VERSION") from the Go module proxy ($(go version | cut -d' ' -f3), $(nproc) cores, build dir $work)"

# --- Kubernetes components -----------------------------------------------------
mkdir -p "$work/kube" "$work/etcd" "$work/coredns" "$work/bin"
log "downloading k8s.io/kubernetes@$KUBE_VERSION"
kube_gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$kube_gomod" ] || { echo "setup/kube.sh: no go.mod for k8s.io/kubernetes@$KUBE_VERSION" >&2; exit 1; }
go_directive=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$kube_gomod")
staging_version="v0.${KUBE_VERSION#v1.}"
staging=$(sed -n 's|^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => ./staging/src/.*$|\1|p' "$kube_gomod")
[ -n "$staging" ] || { echo "setup/kube.sh: no staging replace directives in $kube_gomod" >&2; exit 1; }
log "replacing $(echo "$staging" | wc -l) staging modules with their published $staging_version"

{
  echo "module fabdev.invalid/kube-build"
  echo
  echo "go $go_directive"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "tool ("
  for cmd in $kube_cmds; do echo "	k8s.io/kubernetes/cmd/$cmd"; done
  echo ")"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $staging_version"; done
  echo ")"
} >"$work/kube/go.mod"
if [ ${#missing_kube[@]} -gt 0 ]; then
  (cd "$work/kube" && log "resolving dependencies (go mod tidy)" && go mod tidy)
fi

# What `kube-apiserver --version` and /version report, as Kubernetes' own
# build sets them (hack/lib/version.sh).
minor=${KUBE_VERSION#v1.}
minor=${minor%%.*}
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
for cmd in "${missing_kube[@]}"; do
  t=$(date +%s)
  log "go build k8s.io/kubernetes/cmd/$cmd"
  (cd "$work/kube" && go build -ldflags "$ldflags" -o "$work/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  log "$cmd built in $(($(date +%s) - t))s"
done

# --- etcd -----------------------------------------------------------------------
cat >"$work/etcd/main.go" <<'EOF'
// etcd, as the etcd binary runs it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
{
  echo "module fabdev.invalid/etcd-build"
  echo
  echo "go $go_directive"
  echo
  echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
} >"$work/etcd/go.mod"
if [ "$need_etcd" = 1 ]; then
  t=$(date +%s)
  log "go build go.etcd.io/etcd/server/v3/etcdmain@$ETCD_VERSION (wrapper main)"
  (cd "$work/etcd" && go mod tidy && go build -ldflags "-s -w" -o "$work/bin/etcd" .)
  log "etcd built in $(($(date +%s) - t))s"
fi

# --- coredns ----------------------------------------------------------------------
# The cluster DNS of the single-node test cluster (crates/kubenode) and of the
# offline kind node image (scripts/setup/kind-node-image.sh). CoreDNS's own
# main links every plugin (cloud DNS providers, ...); this one links only the
# plugins of the node's Corefile and of kubeadm's default one, which builds
# in a fraction of the time.
cat >"$work/coredns/main.go" <<'EOF'
// CoreDNS with the plugins the fabdev test node and kubeadm's Corefile use.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() { coremain.Run() }
EOF
{
  echo "module fabdev.invalid/coredns-build"
  echo
  echo "go $go_directive"
  echo
  echo "require github.com/coredns/coredns $COREDNS_VERSION"
} >"$work/coredns/go.mod"
if [ "$need_coredns" = 1 ]; then
  t=$(date +%s)
  log "go build github.com/coredns/coredns@$COREDNS_VERSION (wrapper main: bind, cache, errors, forward, health, kubernetes, loadbalance, log, loop, metrics, ready, reload)"
  (cd "$work/coredns" && go mod tidy && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$work/bin/coredns" .)
  log "coredns built in $(($(date +%s) - t))s"
fi

# --- install ----------------------------------------------------------------------
mkdir -p "$DEST"
for b in "$work"/bin/*; do
  mv -f "$b" "$DEST/"
done
for cmd in $kube_cmds; do printf '%s: ' "$cmd"; kube_version "$DEST/$cmd"; done
# (Read whole, then the first line: `| head -1` could end them with SIGPIPE,
# which pipefail would take for a failure.)
out=$("$DEST/etcd" --version) && echo "${out%%$'\n'*}"
out=$("$DEST/coredns" -version) && echo "${out%%$'\n'*}"
log "installed into $DEST; built in $(($(date +%s) - start))s"
