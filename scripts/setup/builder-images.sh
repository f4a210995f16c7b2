#!/usr/bin/env bash
# Makes local stand-ins for Fabric's chaincode builder and runtime images,
# which the peers' Docker daemons need and which cannot be pulled here:
#
#   fabdev.invalid/standin-fabric-baseos:<v>   for hyperledger/fabric-baseos, the Go chaincode
#                                              runtime (Debian minbase, user chaincode 500:500)
#   fabdev.invalid/standin-fabric-ccenv:<v>    for hyperledger/fabric-ccenv, the Go builder
#                                              (baseos + gcc, libc6-dev, git, the host's Go)
#   fabdev.invalid/standin-fabric-nodeenv:2.5  for hyperledger/fabric-nodeenv, Node's builder
#                                              and runtime (baseos + Debian's nodejs/npm,
#                                              /chaincode/build.sh and start.sh as in the real
#                                              image, and an npm cache filled on the host so
#                                              that build.sh installs offline)
#
# They are named as stand-ins, never as Fabric's images (`hyperledger/fabric-*`):
# fabdev pins Fabric's exact releases, and a stand-in under such a name in
# this Docker would be seeded by a later real `fabdev up`. A test that runs
# chaincode names them in its fabdev.yaml's `images:` (crates/testkit-probe
# `builder_standins`).
#
# for each <v> in FABRIC_TAGS (default "2.5 3.1"; nodeenv stays 2.5 for every
# Fabric version, as upstream). Each is made from a `debootstrap --variant=minbase
# bookworm` root file system (cached in ~/.cache/fabdev/images) and `docker
# import`ed into the host's Docker, with the entrypoint behaviour the peer
# relies on: the peer runs `/bin/sh -c <script>` in the builder, then starts
# Go chaincode as `chaincode -peer.address=…` from /usr/local/bin of a baseos
# image, and Node chaincode with /chaincode/start.sh of a nodeenv image.
#
# Needs root, debootstrap, Docker, Go (for ccenv), and the Debian and npm
# registries (nodeenv's npm cache is filled by the image's own npm, in a
# chroot). Does nothing for an image that exists unless FORCE=1.
#
# nodeenv's npm cache holds exactly what the lockfiles of the Node fixtures
# in NPM_LOCKED pin, development dependencies included (`npm ci
# --ignore-scripts`: no package's install script runs as root in the
# chroot). The dev ones matter: the lockfiles carry no download addresses,
# so an offline `npm ci --omit=dev` still asks the cache about every package
# the lockfile names. NPM_PACKAGES names other packages instead (resolved by
# npm, not locked).
#
#   scripts/setup/builder-images.sh
#   NPM_PACKAGES="fabric-shim@2.5.8 fabric-contract-api@2.5.8" scripts/setup/builder-images.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

FABRIC_TAGS=${FABRIC_TAGS:-"2.5 3.1"}
NPM_PACKAGES=${NPM_PACKAGES:-}
NPM_LOCKED=${NPM_LOCKED:-"fixtures/chaincode/node fixtures/chaincode/typescript"}
CACHE=${FABDEV_IMAGE_CACHE:-$HOME/.cache/fabdev/images}
SUITE=bookworm
log() { printf '==> %s\n' "$*"; }
have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

command -v debootstrap >/dev/null || { echo "setup/builder-images: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
mkdir -p "$CACHE"
work=$(mktemp -d /var/tmp/fabdev-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A root file system from the cached minbase tarball (made once).
rootfs() {
  local dir=$1
  if [ ! -f "$CACHE/$SUITE-minbase.tar" ]; then
    log "debootstrap --variant=minbase $SUITE (once; cached in $CACHE)"
    local boot="$work/boot"
    debootstrap --variant=minbase "$SUITE" "$boot" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    chroot "$boot" apt-get clean
    tar -C "$boot" -cf "$CACHE/$SUITE-minbase.tar" .
    rm -rf "$boot"
  fi
  mkdir -p "$dir"
  tar -C "$dir" -xf "$CACHE/$SUITE-minbase.tar"
  chroot "$dir" groupadd -g 500 chaincode
  chroot "$dir" useradd -u 500 -g 500 -m -d /home/chaincode chaincode
  mkdir -p "$dir/chaincode/input" "$dir/chaincode/output"
  chmod 0777 "$dir/chaincode/input" "$dir/chaincode/output"
}

apt_in() {
  local dir=$1; shift
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  chroot "$dir" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  chroot "$dir" apt-get clean
  rm -rf "$dir/var/lib/apt/lists"/*
}

import() {
  local dir=$1; shift
  local name=$1; shift
  case "$name" in fabdev.invalid/*) ;; *) echo "setup/builder-images: refusing to name a stand-in $name (only fabdev.invalid/...)" >&2; exit 1 ;; esac
  tar -C "$dir" -c . | docker import "$@" - "$name" >/dev/null
  log "made $name"
}

path_env='PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

for tag in $FABRIC_TAGS; do
  if ! have "fabdev.invalid/standin-fabric-baseos:$tag"; then
    rm -rf "$work/baseos"; rootfs "$work/baseos"
    import "$work/baseos" "fabdev.invalid/standin-fabric-baseos:$tag" --change "ENV $path_env" --change 'USER chaincode' --change 'WORKDIR /home/chaincode'
  fi
  if ! have "fabdev.invalid/standin-fabric-ccenv:$tag"; then
    command -v go >/dev/null || { echo "setup/builder-images: ccenv needs Go on PATH" >&2; exit 1; }
    rm -rf "$work/ccenv"; rootfs "$work/ccenv"
    apt_in "$work/ccenv" gcc libc6-dev binutils git ca-certificates
    goroot=$(go env GOROOT)
    mkdir -p "$work/ccenv/usr/local/go"
    tar -C "$goroot" --exclude=./test --exclude=./doc --exclude=./api -c . | tar -C "$work/ccenv/usr/local/go" -x
    import "$work/ccenv" "fabdev.invalid/standin-fabric-ccenv:$tag" --change "ENV $path_env" --change 'ENV GOPATH=/go' \
      --change 'ENV GOCACHE=/tmp/gocache' --change 'ENV GOFLAGS=-buildvcs=false' --change 'WORKDIR /chaincode/input'
  fi
done

if ! have "fabdev.invalid/standin-fabric-nodeenv:2.5"; then
  rm -rf "$work/nodeenv"; rootfs "$work/nodeenv"
  apt_in "$work/nodeenv" nodejs npm
  log "npm cache for ${NPM_PACKAGES:-the lockfiles of $NPM_LOCKED} (filled by the image's own npm, so that its offline installs find it)"
  mkdir -p "$work/nodeenv/tmp/npm-fill"
  npm_flags="--ignore-scripts --cafile /tmp/host-ca.crt --cache /npm-cache --no-audit --no-fund"
  if [ -z "$NPM_PACKAGES" ]; then
    fill_cmd=true
    for dir in $NPM_LOCKED; do
      name=$(basename "$dir")
      mkdir -p "$work/nodeenv/tmp/npm-fill/$name"
      cp "$dir/package.json" "$dir/package-lock.json" "$work/nodeenv/tmp/npm-fill/$name/"
      fill_cmd="$fill_cmd && (cd $name && npm ci $npm_flags)"
    done
  else
    fill_cmd="npm init -y >/dev/null && npm install $npm_flags $NPM_PACKAGES"
  fi
  # The host's CA bundle for this one step (a registry behind a TLS proxy
  # needs the proxy's CA, which the host trusts); not left in the image.
  cp /etc/ssl/certs/ca-certificates.crt "$work/nodeenv/tmp/host-ca.crt"
  # npm needs /proc and /dev ("Exit handler never called" without them).
  mount -t proc proc "$work/nodeenv/proc"
  mount --bind /dev "$work/nodeenv/dev"
  fill_ok=0
  chroot "$work/nodeenv" sh -c "cd /tmp/npm-fill && $fill_cmd >/dev/null" || fill_ok=$?
  umount "$work/nodeenv/dev" "$work/nodeenv/proc"
  [ "$fill_ok" = 0 ] || { echo "setup/builder-images: filling the npm cache failed" >&2; exit 1; }
  rm -rf "$work/nodeenv/tmp/npm-fill" "$work/nodeenv/tmp/host-ca.crt"
  chmod -R a+rX "$work/nodeenv/npm-cache"
  # As in the real image: build.sh copies the package and installs its
  # production dependencies (offline, from the image's cache); start.sh runs
  # `npm start` in /usr/local/src, where the runtime image puts the output.
  cat > "$work/nodeenv/chaincode/build.sh" <<'SH'
#!/bin/sh
set -e
cp -R /chaincode/input/src/. /chaincode/output
cd /chaincode/output
if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
  npm ci --omit=dev --ignore-scripts --offline --cache /npm-cache --no-audit --no-fund
else
  npm install --omit=dev --ignore-scripts --offline --cache /npm-cache --no-audit --no-fund
fi
SH
  cat > "$work/nodeenv/chaincode/start.sh" <<'SH'
#!/bin/sh
set -e
cd /usr/local/src
exec npm start -- "$@"
SH
  chmod 0755 "$work/nodeenv/chaincode/build.sh" "$work/nodeenv/chaincode/start.sh"
  import "$work/nodeenv" "fabdev.invalid/standin-fabric-nodeenv:2.5" --change "ENV $path_env" --change 'WORKDIR /chaincode/output'
fi
# What the tests' build scripts watch (crates/testkit-probe): the images'
# IDs, rewritten only when one changed.
made=(fabdev.invalid/standin-fabric-nodeenv:2.5)
for tag in $FABRIC_TAGS; do made+=("fabdev.invalid/standin-fabric-ccenv:$tag" "fabdev.invalid/standin-fabric-baseos:$tag"); done
ids=$(docker image inspect --format '{{index .RepoTags 0}} {{.Id}}' "${made[@]}" 2>/dev/null || true)
[ "$ids" = "$(cat "$CACHE/builder-images.ids" 2>/dev/null)" ] || printf '%s\n' "$ids" >"$CACHE/builder-images.ids"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'standin-fabric-(baseos|ccenv|nodeenv)' || true
