#!/usr/bin/env bash
# Makes a kind node image OFFLINE, from Debian packages and the Go module
# proxy only (no container registry, no GitHub), for machines where
# kindest/node cannot be pulled (this CI). On an ordinary machine kind's own
# kindest/node stays fabdev's default; this image is used only when it is
# named as the node image (fabdev.yaml `cluster.kind.nodeImage`, or
# FABDEV_KIND_NODE_IMAGE).
#
#   scripts/setup/kind-node-image.sh          # into podman (else Docker)
#   ENGINE=docker scripts/setup/kind-node-image.sh
#
# The image, fabdev.invalid/kind-node:<kube version>, is kind's base image
# rebuilt from Debian bookworm (systemd, containerd 1.6, runc, CNI plugins,
# jq; kind's own images/base/files from the kind module), with:
#   - kubeadm, kubelet, kubectl and the control-plane images built from the
#     Go module proxy: the binaries of scripts/setup/kube.sh (which builds
#     kubeadm and kubectl too when asked), each in a small image tagged as
#     `kubeadm config images list` prints, preloaded into the node's
#     containerd; CoreDNS with the plugins of kubeadm's Corefile;
#   - containerd `restrict_oom_score_adj = true`: where the host cannot grant
#     CAP_SYS_RESOURCE, runc cannot lower a pod's OOM score below
#     containerd's, and every pod sandbox fails ("can't get final child's
#     PID from pipe: EOF"); harmless elsewhere;
#   - kube-proxy's iptables commands going through a wrapper that uses the
#     backend the node's kubelet uses (legacy or nft), as kind's
#     iptables-wrapper does;
#   - a static ptp CNI config for the one node (no kindnetd offline), and a
#     default StorageClass of the kube-controller-manager's hostPath
#     provisioner (no local-path-provisioner offline).
# fabdev recognises the image by its label dev.fabdev.kind-node and then adds
# to its kind config what only the kind config can set: longer kubeadm waits,
# kubelet `failCgroupV1: false` and the hostPath provisioner's flag.
#
# Cached: the finished root file system is kept in
# ${FABDEV_TOOLS:-~/.cache/fabdev/tools}/kind-node/ under a key of this
# script and the versions, so a second run (or a new engine) only imports it.
# Does nothing when the engine has the image with the same key (FORCE=1
# builds again).
#
# Needs root, debootstrap, Go, containerd and ctr (the host's, to fill the
# node's image store), and podman or Docker.
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
KIND_VERSION=${KIND_VERSION:-v0.33.0}
CRICTL_VERSION=${CRICTL_VERSION:-v1.37.0}
IMAGE=${KIND_NODE_IMAGE:-fabdev.invalid/kind-node:$KUBE_VERSION}
TOOLS=${FABDEV_TOOLS:-$HOME/.cache/fabdev/tools}
KUBE_BIN="$TOOLS/kube-$KUBE_VERSION/bin"
CACHE="$TOOLS/kind-node"
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=dev.fabdev.kind-node

log() { printf '==> %s\n' "$*"; }
# debootstrap, tried a second time: a mirror hiccup fails it now and then.
bootstrap() {
  local dir=$1 include=$2 logf=$3
  debootstrap --variant=minbase --include="$include" "$SUITE" "$dir" "$MIRROR" >"$logf" 2>&1 && return 0
  log "debootstrap failed ($(tail -1 "$logf")); once more"
  cat "$dir/debootstrap/debootstrap.log" >>"$logf" 2>/dev/null || true
  rm -rf "$dir"
  debootstrap --variant=minbase --include="$include" "$SUITE" "$dir" "$MIRROR" >>"$logf" 2>&1
}
die() { echo "setup/kind-node-image: $*" >&2; exit 1; }
start=$(date +%s)

if [ -z "${ENGINE:-}" ]; then
  case "${KIND_EXPERIMENTAL_PROVIDER:-}" in
    podman | docker) ENGINE=$KIND_EXPERIMENTAL_PROVIDER ;;
    *) if command -v podman >/dev/null; then ENGINE=podman; else ENGINE=docker; fi ;;
  esac
fi
command -v "$ENGINE" >/dev/null || die "$ENGINE is not installed"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
export PATH="$(go env GOPATH)/bin:$PATH"

# The cache key: this script and every version it builds with.
key=$( { cat "$0"; echo "$KUBE_VERSION $KIND_VERSION $CRICTL_VERSION $SUITE"; } | sha256sum | cut -c1-16)
cached="$CACHE/kind-node-$KUBE_VERSION-$key.tar"

have_image() {
  [ "${FORCE:-0}" != 1 ] &&
    [ "$("$ENGINE" image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null)" = "$key" ]
}

import_image() {
  local t
  t=$(date +%s)
  "$ENGINE" import \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=docker' \
    --change "LABEL $LABEL=$key" \
    "$1" "$IMAGE" >/dev/null
  log "imported $IMAGE into $ENGINE in $(($(date +%s) - t))s"
}

if have_image; then
  log "$IMAGE ($LABEL=$key) already in $ENGINE"
  exit 0
fi
if [ "${FORCE:-0}" != 1 ] && [ -f "$cached" ]; then
  log "$IMAGE from the cache $cached"
  import_image "$cached"
  exit 0
fi

for tool in debootstrap containerd ctr python3; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"

work=$(mktemp -d /var/tmp/fabdev-kind-node.XXXXXX)
ctrd_pid=""
cleanup() {
  [ -n "$ctrd_pid" ] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null
  for m in proc sys dev; do umountpoint "$work/rootfs/$m"; done
  rm -rf "$work"
  [ -n "${built_images:-}" ] && "$ENGINE" rmi -f $built_images >/dev/null 2>&1
  return 0
}
umountpoint() { mountpoint -q "$1" 2>/dev/null && umount -l "$1" || true; }
trap cleanup EXIT
log "building $IMAGE with $ENGINE (Kubernetes $KUBE_VERSION, kind $KIND_VERSION's base files; work dir $work)"

# --- the node's root file system -----------------------------------------------------
t=$(date +%s)
root="$work/rootfs"
packages=systemd,systemd-sysv,dbus,iptables,nftables,iproute2,conntrack,ethtool,util-linux,mount,kmod,procps
packages+=,ca-certificates,libseccomp2,socat,ebtables,bash,containerd,runc,containernetworking-plugins
packages+=,fuse-overlayfs,jq,pigz,curl,e2fsprogs
bootstrap "$root" "$packages" "$work/debootstrap.log" ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
log "debootstrap $SUITE in $(($(date +%s) - t))s"

# --- Kubernetes binaries -------------------------------------------------------------
t=$(date +%s)
KUBE_VERSION=$KUBE_VERSION KUBE_EXTRA_CMDS="kubeadm kubectl" bash scripts/setup/kube.sh
for b in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns; do
  [ -x "$KUBE_BIN/$b" ] || die "scripts/setup/kube.sh left no $KUBE_BIN/$b"
done
grep -qx forward <<<"$("$KUBE_BIN/coredns" -plugins)" || die "$KUBE_BIN/coredns lacks the forward plugin of kubeadm's Corefile"
if ! grep -qF "${CRICTL_VERSION#v}" <<<"$(crictl --version 2>/dev/null)"; then
  go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
fi
kind_dir=$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
[ -d "$kind_dir/images/base/files" ] || die "no images/base/files in $kind_dir"
log "binaries ready in $(($(date +%s) - t))s"

# kind's base image files (images/base/Dockerfile), and its clean-ups.
f="$kind_dir/images/base/files"
install -d -m 0755 "$root/kind" "$root/kind/bin" "$root/kind/manifests" "$root/etc/containerd" \
  "$root/etc/systemd/system/kubelet.service.d" "$root/etc/kubernetes/manifests" "$root/opt/cni/bin" "$root/etc/cni/net.d"
install -m 0755 "$f"/usr/local/bin/* "$root/usr/local/bin/"
install -m 0755 "$f"/kind/bin/* "$root/kind/bin/"
install -m 0644 "$f"/etc/crictl.yaml "$root/etc/"
install -m 0644 "$f"/etc/containerd/* "$root/etc/containerd/"
install -m 0644 "$f"/etc/default/* "$root/etc/default/"
install -m 0644 "$f"/etc/sysctl.d/* "$root/etc/sysctl.d/"
install -m 0644 "$f"/etc/systemd/system/*.service "$f"/etc/systemd/system/*.slice "$root/etc/systemd/system/"
install -m 0644 "$f"/etc/systemd/system/kubelet.service.d/* "$root/etc/systemd/system/kubelet.service.d/"
# Debian's containerd, where kind's units look for it.
ln -sf /usr/bin/containerd "$root/usr/local/bin/containerd"
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$root/etc/containerd/config.toml"
grep -q 'restrict_oom_score_adj = true' "$root/etc/containerd/config.toml" || die "kind's containerd config has no restrict_oom_score_adj"
chroot "$root" ctr oci spec | python3 -c '
import json, sys
spec = json.load(sys.stdin)
spec["process"].pop("rlimits", None)
spec.setdefault("hooks", {}).setdefault("createContainer", []).append({"path": "/kind/bin/mount-product-files.sh"})
json.dump(spec, sys.stdout, indent=2)' >"$root/etc/containerd/cri-base.json"
find "$root/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
  "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
  "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "$root/sbin/init"
# The controller-manager's hostPath provisioner (the default StorageClass
# below) makes each volume root-owned 0750 (fabdev's kind config mounts its
# folder from the node), and hostPath ignores a pod's fsGroup: make them
# writable for the pods' users.
cat >"$root/etc/systemd/system/fabdev-hostpath-writable.service" <<'UNIT'
[Unit]
Description=fabdev offline node: hostPath provisioner volumes writable by pods

[Service]
ExecStart=/bin/sh -c 'mkdir -p /tmp/hostpath_pv; while :; do find /tmp/hostpath_pv -mindepth 1 -maxdepth 3 -type d ! -perm -0777 -exec chmod 0777 {} + ; sleep 1; done'
Restart=always

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service fabdev-hostpath-writable.service >/dev/null 2>&1
chroot "$root" systemctl mask systemd-binfmt.service >/dev/null 2>&1

# Kubernetes on the node.
install -m 0755 "$KUBE_BIN/kubeadm" "$KUBE_BIN/kubelet" "$KUBE_BIN/kubectl" "$root/usr/bin/"
install -m 0755 "$(command -v crictl)" "$root/usr/local/bin/crictl"
for p in host-local loopback ptp portmap bridge; do ln -sf "/usr/lib/cni/$p" "$root/opt/cni/bin/$p"; done
echo "$KUBE_VERSION" >"$root/kind/version"
echo "fabdev offline kind node image $key (scripts/setup/kind-node-image.sh)" >"$root/kind/fabdev-node-image"

# The pod network of the one node: kind's pod subnet (10.244.0.0/16), of
# which the first node gets 10.244.0.0/24. kind applies default-cni.yaml
# with `kubectl create`: a placeholder (there is no kindnetd offline).
cat >"$root/etc/cni/net.d/10-fabdev-ptp.conflist" <<'EOF'
{
  "cniVersion": "0.4.0",
  "name": "kind",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "10.244.0.0/24" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
cat >"$root/kind/manifests/default-cni.yaml" <<'EOF'
# fabdev's offline node image: the pod network is a static ptp CNI config
# (/etc/cni/net.d/10-fabdev-ptp.conflist) for one node; nothing to apply.
apiVersion: v1
kind: ConfigMap
metadata:
  name: fabdev-offline-cni
  namespace: kube-system
data:
  cni: "static ptp, /etc/cni/net.d/10-fabdev-ptp.conflist (one node)"
EOF
# The kube-controller-manager's hostPath provisioner (enabled by fabdev's
# kind config for this image) behind the default StorageClass.
cat >"$root/kind/manifests/default-storage.yaml" <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF

# --- the control-plane images ----------------------------------------------------------
t=$(date +%s)
images_list=$("$KUBE_BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null)
ref() { echo "$images_list" | grep -E "/$1:" | head -1; }
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns pause; do
  [ -n "$(ref "$c")" ] || die "kubeadm config images list names no $c image: $images_list"
done
# One base layer for all (Debian minbase plus iptables and conntrack for
# kube-proxy), shared by every image in the node's store.
base="$work/base"
bootstrap "$base" iptables,conntrack,ca-certificates "$work/debootstrap-base.log" ||
  { tail -20 "$work/debootstrap-base.log" >&2; die "debootstrap of the image base failed"; }
chroot "$base" apt-get clean
rm -rf "$base"/var/lib/apt/lists/* "$base"/var/cache/apt/*.bin
# kube-proxy writes its rules with the backend the node's kubelet uses
# (its KUBE-IPTABLES-HINT chain), as kubernetes-sigs/iptables-wrappers does.
cat >"$base/usr/local/sbin/fabdev-iptables-wrapper" <<'EOF'
#!/bin/sh
# fabdev offline kind node: run iptables* with the node kubelet's backend.
mode=nft
hint='^:KUBE-IPTABLES-HINT\|^:KUBE-KUBELET-CANARY'
if iptables-legacy-save -t mangle 2>/dev/null | grep -q "$hint"; then
  mode=legacy
elif ! iptables-nft-save -t mangle 2>/dev/null | grep -q "$hint"; then
  legacy=$(iptables-legacy-save 2>/dev/null | grep -c '^-')
  nft=$(iptables-nft-save 2>/dev/null | grep -c '^-')
  [ "${legacy:-0}" -gt "${nft:-0}" ] && mode=legacy
fi
cmd=$(basename "$0" | sed "s/^\(ip6\{0,1\}tables\)/\1-$mode/")
exec "/usr/sbin/$cmd" "$@"
EOF
chmod 0755 "$base/usr/local/sbin/fabdev-iptables-wrapper"
for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sf fabdev-iptables-wrapper "$base/usr/local/sbin/$c"
done
base_image=fabdev.invalid/kind-node-base:$key
tar -C "$base" -c . | "$ENGINE" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base_image" >/dev/null
built_images="$base_image"

component() {
  local name=$1 bin=$2 entry=$3 ctx="$work/img-$1"
  mkdir -p "$ctx"
  cp "$KUBE_BIN/$bin" "$ctx/"
  printf 'FROM %s\nCOPY %s /usr/local/bin/%s\n%s\n' "$base_image" "$bin" "$bin" "$entry" >"$ctx/Containerfile"
  "$ENGINE" build -q -t "$name" -f "$ctx/Containerfile" "$ctx" >/dev/null
  built_images+=" $name"
}
component "$(ref kube-apiserver)" kube-apiserver ''
component "$(ref kube-controller-manager)" kube-controller-manager ''
component "$(ref kube-scheduler)" kube-scheduler ''
component "$(ref kube-proxy)" kube-proxy ''
component "$(ref etcd)" etcd ''
component "$(ref coredns)" coredns 'ENTRYPOINT ["/usr/local/bin/coredns"]'
# pause: the static one of crates/kubenode/images/pause, under kubeadm's
# name and kind's sandbox_image (registry.k8s.io/pause:3.10).
mkdir -p "$work/pause"
cp crates/kubenode/images/pause/main.go "$work/pause/"
printf 'module fabdev.invalid/pause\n\ngo 1.22\n' >"$work/pause/go.mod"
(cd "$work/pause" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$work/pause-root/pause" .)
sandbox=$(sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p' "$root/etc/containerd/config.toml")
tar -C "$work/pause-root" -c . | "$ENGINE" import --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' - "$(ref pause)" >/dev/null
built_images+=" $(ref pause)"
if [ -n "$sandbox" ] && [ "$sandbox" != "$(ref pause)" ]; then
  "$ENGINE" tag "$(ref pause)" "$sandbox"
  built_images+=" $sandbox"
fi
component_refs=$(echo "$built_images" | tr ' ' '\n' | grep -v "^$base_image$")
if [ "$ENGINE" = podman ]; then
  # shellcheck disable=SC2086
  podman save -q -m --format docker-archive -o "$work/images.tar" $component_refs
else
  # shellcheck disable=SC2086
  docker save -o "$work/images.tar" $component_refs
fi
log "control-plane images ($(echo $component_refs | wc -w)) in $(($(date +%s) - t))s"

# --- the images into the node's containerd ----------------------------------------------
# A throw-away containerd on the node's /var/lib/containerd (no CRI), so the
# images are there when the node starts: kind copies /var into the node's
# volume. The CRI unpacks them on first use.
t=$(date +%s)
c="$work/ctrd"
mkdir -p "$c"
cat >"$c/config.toml" <<EOF
version = 2
root = "$root/var/lib/containerd"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
EOF
containerd --config "$c/config.toml" >"$c/log" 2>&1 &
ctrd_pid=$!
deadline=$(($(date +%s) + 60))
until ctr --address "$c/containerd.sock" version >/dev/null 2>&1; do
  kill -0 "$ctrd_pid" 2>/dev/null || { tail "$c/log" >&2; die "the throw-away containerd exited"; }
  [ "$(date +%s)" -lt "$deadline" ] || die "the throw-away containerd did not answer within 60s"
  sleep 0.2
done
ctr --address "$c/containerd.sock" -n k8s.io images import --no-unpack --all-platforms --digests "$work/images.tar" >/dev/null
ctr --address "$c/containerd.sock" -n k8s.io images ls -q | sed 's/^/    /'
kill "$ctrd_pid"
wait "$ctrd_pid" 2>/dev/null || true
ctrd_pid=""
log "images into the node's containerd in $(($(date +%s) - t))s"

# --- the node image -----------------------------------------------------------------------
t=$(date +%s)
mkdir -p "$CACHE"
rm -f "$CACHE"/kind-node-*.tar
tar -C "$root" -cf "$cached.part" .
mv "$cached.part" "$cached"
log "root file system cached as $cached ($(du -h "$cached" | cut -f1)) in $(($(date +%s) - t))s"
import_image "$cached"
log "$IMAGE ready in $(($(date +%s) - start))s"
