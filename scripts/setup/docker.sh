#!/usr/bin/env bash
# Makes sure the host Docker daemon answers, starting dockerd in the
# background when `docker info` fails. Tests that talk to a real Docker engine
# (crates/cluster/tests/images.rs) need it; scripts/test.sh calls this script
# after installing docker.io.
#
#   scripts/setup/docker.sh            # idempotent: does nothing when Docker answers
#
# Env: DOCKERD_LOG (default /var/log/fabdev-dockerd.log), DOCKERD_WAIT_SECS (default 60).
# Needs root (or sudo) to start dockerd.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

command -v dockerd >/dev/null 2>&1 || {
  echo "setup/docker.sh: dockerd not found; install docker.io (scripts/test.sh does)" >&2
  exit 1
}

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

log_file=${DOCKERD_LOG:-/var/log/fabdev-dockerd.log}
wait_secs=${DOCKERD_WAIT_SECS:-60}

log "starting dockerd (log: $log_file)"
# setsid: detach from this script's session so the daemon outlives it.
$sudo_cmd setsid dockerd >>"$log_file" 2>&1 </dev/null &
dockerd_pid=$!

deadline=$((SECONDS + wait_secs))
until docker info >/dev/null 2>&1; do
  if ! kill -0 "$dockerd_pid" 2>/dev/null && ! pgrep -x dockerd >/dev/null; then
    echo "setup/docker.sh: dockerd exited; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2 || true
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "setup/docker.sh: dockerd did not answer 'docker info' within ${wait_secs}s; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2 || true
    exit 1
  fi
  sleep 0.2
done
log "docker is up: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
