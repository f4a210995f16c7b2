#!/usr/bin/env bash
# Sets up podman as kind's node provider on this machine, for the real_kind_*
# tests and scripts/e2e/kind.sh (KIND_EXPERIMENTAL_PROVIDER=podman), doing
# what `fabdev doctor` asks for:
#
#   - podman (Debian's) when it is missing;
#   - /etc/containers/containers.conf.d/50-fabdev-kind.conf, only with what
#     this machine needs: default_ulimits no higher than the hard limits
#     where the capability bounding set lacks CAP_SYS_RESOURCE (no hard limit
#     can be raised; podman's default asks for 1048576 open files), and
#     runtime = "runc" on a hybrid cgroup layout (crun refuses it);
#   - /lib/modules (kind bind-mounts it into every node; an empty folder
#     where the kernel has no modules);
#   - podman's Docker-compatible API socket (/run/podman/podman.sock), through
#     which fabdev moves images: `podman system service` in the background
#     when nothing answers there (no systemd here; on a laptop
#     `systemctl enable --now podman.socket` does it);
#   - kind v0.33.0 (`go install`) when it is missing.
#
# Idempotent: does nothing that is done already. Needs root.
set -euo pipefail

KIND_VERSION=${KIND_VERSION:-v0.33.0}
SOCKET=/run/podman/podman.sock
CONF=/etc/containers/containers.conf.d/50-fabdev-kind.conf
log() { printf '==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup/podman: needs root" >&2; exit 1; }

if ! command -v podman >/dev/null; then
  log "installing podman (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc >/dev/null
fi

# What this machine needs of containers.conf.
conf=""
capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ $(((0x$capbnd >> 24) & 1)) = 0 ]; then
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nofile" -gt 1048576 ] && nofile=1048576
  conf+=$'[containers]\n'
  conf+=$'# This machine cannot raise a hard limit (no CAP_SYS_RESOURCE in the\n'
  conf+=$'# bounding set): stay at the hard limits (conmon runs with nproc 32768).\n'
  conf+="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=32768:32768\"]"$'\n'
fi
if grep -qw cgroup /proc/self/mounts && grep -qw cgroup2 /proc/self/mounts; then
  conf+=$'[engine]\n'
  conf+=$'# crun refuses a hybrid cgroup layout (v1 hierarchies plus a cgroup2 mount).\n'
  conf+=$'runtime = "runc"\n'
fi
if [ -n "$conf" ]; then
  want="# Written by fabdev's scripts/setup/podman.sh (see \`fabdev doctor\`).
$conf"
  if [ "$(cat "$CONF" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$CONF")"
    printf '%s' "$want" >"$CONF"
    log "wrote $CONF"
  fi
fi

if [ ! -d /lib/modules ]; then
  mkdir -p /lib/modules
  log "made /lib/modules (kind mounts it into its nodes)"
fi

answers() { curl -sf --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; }
if ! answers; then
  mkdir -p "$(dirname "$SOCKET")"
  log "starting podman's API service on unix://$SOCKET"
  nohup podman system service --time=0 "unix://$SOCKET" >/var/log/fabdev-podman-service.log 2>&1 &
  deadline=$(($(date +%s) + 30))
  until answers; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail /var/log/fabdev-podman-service.log >&2; echo "setup/podman: the API service did not answer within 30s" >&2; exit 1; }
    sleep 0.2
  done
fi

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
export PATH="$(go env GOPATH)/bin:$PATH"
if ! kind version 2>/dev/null | grep -qF "kind $KIND_VERSION "; then
  log "installing kind $KIND_VERSION (go install)"
  go install "sigs.k8s.io/kind@$KIND_VERSION"
fi
log "podman $(podman --version | awk '{print $3}') ($(podman info --format '{{.Host.OCIRuntime.Name}}')), API unix://$SOCKET, $(kind version)"
