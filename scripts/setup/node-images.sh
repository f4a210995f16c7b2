#!/usr/bin/env bash
# Makes the images the single-node test cluster (crates/kubenode, the
# real_node_* tests) runs, in the host's Docker (nothing can be pulled here):
#
#   fabdev.invalid/kubenode-pause:1          the pod sandbox ("pause"): a static Go
#                                            binary (crates/kubenode/images/pause)
#   fabdev.invalid/standin-docker:28.5.1-dind
#                                            STAND-IN for the DinD image fabdev renders
#                                            by default (docker:28.5.1-dind; never under
#                                            that name): Debian bookworm's docker.io
#                                            (20.10) with an entrypoint that mounts the
#                                            cgroup v1 hierarchies as docker:dind's
#                                            `dind` script does, then runs its arguments
#   fabdev.invalid/standin-fabric-peer:2     STAND-INS for Fabric's peer and orderer
#   fabdev.invalid/standin-fabric-orderer:2  (CI has no Fabric): they only answer the
#                                            probes fabdev renders (/healthz on 9443)
#                                            (crates/kubenode/images/standin-node)
#
# and, only when FABRIC_HOME holds Fabric binaries (bin/, config/), images of
# those binaries as the real images lay them out (binaries in /usr/local/bin,
# config/ in /etc/hyperledger/fabric = FABRIC_CFG_PATH), under names of their
# own, never taken for (or shadowing) the images Hyperledger publishes, and
# labelled dev.fabdev.local-fabric=<FABRIC_HOME>:
#
#   fabdev.invalid/local-fabric-peer:<version>, fabdev.invalid/local-fabric-orderer:<version>
#
# These stay on this machine: never push or commit them, nor the binaries.
# Every image here is named under fabdev.invalid/ (scratch_import refuses any
# other name): the tests name them in their fabdev.yaml's `images:`
# (crates/testkit-probe), and a real `fabdev up` on this machine never
# seeds one in place of an image it pins.
#
# The Debian root file system comes from the debootstrap cache that
# scripts/setup/builder-images.sh keeps in ~/.cache/fabdev/images. Needs root,
# debootstrap, Docker, Go. Does nothing for an image that exists unless FORCE=1.
set -euo pipefail
cd "$(dirname "$0")/../.."

DIND_IMAGE=${DIND_IMAGE:-fabdev.invalid/standin-docker:28.5.1-dind}
LOCAL_FABRIC=fabdev.invalid/local-fabric
PAUSE_IMAGE=fabdev.invalid/kubenode-pause:1
PEER_STANDIN=fabdev.invalid/standin-fabric-peer:2
ORDERER_STANDIN=fabdev.invalid/standin-fabric-orderer:2
CACHE=${FABDEV_IMAGE_CACHE:-$HOME/.cache/fabdev/images}
SUITE=bookworm
log() { printf '==> %s\n' "$*"; }
have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
start=$(date +%s)

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
mkdir -p "$CACHE"
work=$(mktemp -d /var/tmp/fabdev-node-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A static Go program from crates/kubenode/images/<name> (standard library only).
gobuild() {
  local name=$1 out=$2
  mkdir -p "$work/go-$name"
  cp "crates/kubenode/images/$name/main.go" "$work/go-$name/"
  printf 'module fabdev.invalid/%s\n\ngo 1.22\n' "$name" >"$work/go-$name/go.mod"
  (cd "$work/go-$name" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out" .)
}

# A root file system with only the given files: a tar for `docker import`.
scratch_import() {
  local dir=$1 name=$2; shift 2
  case "$name" in fabdev.invalid/*) ;; *) echo "setup/node-images: refusing to name an image $name (only fabdev.invalid/...)" >&2; exit 1 ;; esac
  tar -C "$dir" -c . | docker import "$@" - "$name" >/dev/null
  log "made $name"
}

# A Debian root file system from the cached minbase tarball (made once).
rootfs() {
  local dir=$1
  if [ ! -f "$CACHE/$SUITE-minbase.tar" ]; then
    command -v debootstrap >/dev/null || { echo "setup/node-images: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
    log "debootstrap --variant=minbase $SUITE (once; cached in $CACHE)"
    debootstrap --variant=minbase "$SUITE" "$work/boot" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    chroot "$work/boot" apt-get clean
    tar -C "$work/boot" -cf "$CACHE/$SUITE-minbase.tar" .
    rm -rf "$work/boot"
  fi
  mkdir -p "$dir"
  tar -C "$dir" -xf "$CACHE/$SUITE-minbase.tar"
}

apt_in() {
  local dir=$1; shift
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  chroot "$dir" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  chroot "$dir" apt-get clean
  rm -rf "$dir/var/lib/apt/lists"/*
  : >"$dir/etc/resolv.conf"
}

path_env='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# --- pause ------------------------------------------------------------------------
if ! have "$PAUSE_IMAGE"; then
  t=$(date +%s)
  mkdir -p "$work/pause"
  gobuild pause "$work/pause/pause"
  scratch_import "$work/pause" "$PAUSE_IMAGE" --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535'
  log "pause image in $(($(date +%s) - t))s"
fi

# --- stand-in peer and orderer ------------------------------------------------------
if ! have "$PEER_STANDIN" || ! have "$ORDERER_STANDIN"; then
  t=$(date +%s)
  dir="$work/standin"
  mkdir -p "$dir/usr/local/bin" "$dir/tmp" "$dir/etc/hyperledger/fabric" \
    "$dir/var/hyperledger/production" "$dir/var/hyperledger/fabric/crypto"
  chmod 1777 "$dir/tmp"
  gobuild standin-node "$dir/usr/local/bin/fabdev-standin-node"
  printf 'This image is a fabdev CI stand-in, NOT Hyperledger Fabric: it only answers /healthz on :9443.\n' >"$dir/STANDIN"
  for pair in "peer:$PEER_STANDIN" "orderer:$ORDERER_STANDIN"; do
    role=${pair%%:*}; name=${pair#*:}
    scratch_import "$dir" "$name" --change "ENV $path_env" --change 'ENV FABRIC_CFG_PATH=/etc/hyperledger/fabric' \
      --change "LABEL dev.fabdev.standin=fabric-$role" --change 'ENTRYPOINT ["/usr/local/bin/fabdev-standin-node"]'
  done
  log "stand-in peer and orderer images in $(($(date +%s) - t))s"
fi

# --- DinD stand-in ------------------------------------------------------------------
if ! have "$DIND_IMAGE"; then
  t=$(date +%s)
  dir="$work/dind"
  rootfs "$dir"
  apt_in "$dir" docker.io iptables ca-certificates
  install -m 0755 crates/kubenode/images/dind-entrypoint.sh "$dir/usr/local/bin/dockerd-entrypoint.sh"
  printf 'fabdev stand-in for %s: Debian %s docker.io %s, NOT the Docker image.\n' \
    "${DIND_IMAGE##*/standin-}" "$SUITE" "$(chroot "$dir" dpkg-query -W -f '${Version}' docker.io)" >"$dir/STANDIN"
  scratch_import "$dir" "$DIND_IMAGE" --change "ENV $path_env" --change 'ENV DOCKER_TLS_CERTDIR=' \
    --change 'LABEL dev.fabdev.standin=dind' --change 'VOLUME /var/lib/docker' \
    --change 'ENTRYPOINT ["/usr/local/bin/dockerd-entrypoint.sh"]' --change 'CMD []'
  log "DinD stand-in in $(($(date +%s) - t))s"
fi

# --- real Fabric images (local only) ------------------------------------------------
if [ -n "${FABRIC_HOME:-}" ] && [ -x "$FABRIC_HOME/bin/peer" ] && [ -x "$FABRIC_HOME/bin/orderer" ] && [ -f "$FABRIC_HOME/config/core.yaml" ]; then
  version=$("$FABRIC_HOME/bin/peer" version 2>/dev/null | sed -n 's/^ *Version: *v\{0,1\}//p' | head -1)
  [ -n "$version" ] || { echo "setup/node-images: cannot read the version of $FABRIC_HOME/bin/peer" >&2; exit 1; }
  if ! have "$LOCAL_FABRIC-peer:$version" || ! have "$LOCAL_FABRIC-orderer:$version"; then
    t=$(date +%s)
    dir="$work/fabric"
    rootfs "$dir"
    mkdir -p "$dir/usr/local/bin" "$dir/etc/hyperledger/fabric" "$dir/var/hyperledger/production" "$dir/var/hyperledger/fabric/crypto"
    cp "$FABRIC_HOME"/bin/* "$dir/usr/local/bin/"
    cp -r "$FABRIC_HOME"/config/. "$dir/etc/hyperledger/fabric/"
    chmod -R a+rX "$dir/etc/hyperledger/fabric" "$dir/usr/local/bin"
    common=(--change "ENV $path_env" --change 'ENV FABRIC_CFG_PATH=/etc/hyperledger/fabric' --change "ENV FABRIC_VER=$version"
      --change "LABEL dev.fabdev.local-fabric=$FABRIC_HOME")
    scratch_import "$dir" "$LOCAL_FABRIC-peer:$version" "${common[@]}" --change 'WORKDIR /root' --change 'CMD ["peer","node","start"]'
    scratch_import "$dir" "$LOCAL_FABRIC-orderer:$version" "${common[@]}" --change 'WORKDIR /root' --change 'CMD ["orderer"]'
    log "Fabric $version images from $FABRIC_HOME in $(($(date +%s) - t))s (local only: never push or commit them)"
  fi
else
  log "no FABRIC_HOME with Fabric binaries: no $LOCAL_FABRIC-peer/orderer images (stand-ins only)"
fi

# What the tests' build scripts watch (crates/testkit-probe), so that tests
# ignored for want of these images run once they are made: the images' IDs,
# rewritten only when one changed.
made=("$PAUSE_IMAGE" "$PEER_STANDIN" "$ORDERER_STANDIN" "$DIND_IMAGE")
[ -z "${version:-}" ] || made+=("$LOCAL_FABRIC-peer:$version" "$LOCAL_FABRIC-orderer:$version")
ids=$(docker image inspect --format '{{index .RepoTags 0}} {{.Id}}' "${made[@]}" 2>/dev/null || true)
[ "$ids" = "$(cat "$CACHE/node-images.ids" 2>/dev/null)" ] || printf '%s\n' "$ids" >"$CACHE/node-images.ids"

log "node images ready in $(($(date +%s) - start))s"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -F 'fabdev.invalid/' || true
