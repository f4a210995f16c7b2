#!/usr/bin/env bash
# Opt-in end-to-end run on a REAL kind cluster, for machines with Docker,
# kind and a network (images are pulled from Docker Hub):
#
#   scripts/e2e/kind.sh            # or: cargo test -p fabdev --test e2e_kind -- --ignored
#
# and, without a network, with podman as kind's node provider, the offline
# node image of scripts/setup/kind-node-image.sh, and local images (copied
# from the host's Docker into podman when podman lacks them):
#
#   KIND_EXPERIMENTAL_PROVIDER=podman FABDEV_KIND_NODE_IMAGE=fabdev.invalid/kind-node:v1.37.2 \
#     FABRIC_VERSION=2.5.14 scripts/e2e/kind.sh
#
# FABRIC_VERSION (offline) runs the local images of the setup scripts instead
# of pulled ones, all named under fabdev.invalid/ in fabdev.yaml's `images:`
# (so `up` is given --trust-spec, for the DinD image): the peer and orderer
# that scripts/setup/node-images.sh makes from FABRIC_HOME
# (fabdev.invalid/local-fabric-peer:<version>), its DinD stand-in, and
# scripts/setup/builder-images.sh's builder stand-ins. Without it: fabdev's
# pinned defaults, pulled.
#
# It runs `fabdev up`, checks that every pod is ready and every orderer and
# peer is on every channel, runs `fabdev up` again and checks that nothing
# changed, then `fabdev down --purge`. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

# kind is on the Go module proxy: install it when missing and Go is there.
KIND_VERSION=v0.33.0
if ! command -v kind >/dev/null && command -v go >/dev/null; then
  echo "==> installing kind $KIND_VERSION (go install)"
  go install "sigs.k8s.io/kind@$KIND_VERSION"
  export PATH="$(go env GOPATH)/bin:$PATH"
fi

engine=${KIND_EXPERIMENTAL_PROVIDER:-docker}
for tool in "$engine" kind python3 cargo; do
  command -v "$tool" >/dev/null || { echo "e2e/kind: $tool is required" >&2; exit 2; }
done
"$engine" info >/dev/null 2>&1 || { echo "e2e/kind: $engine is not running" >&2; exit 2; }

cargo build --release -p fabdev
fabdev="$PWD/target/release/fabdev"
ws=$(mktemp -d)
logs=$(mktemp -d)
cleanup() {
  "$fabdev" -w "$ws" down "${trust[@]}" --purge >/dev/null 2>&1 || true
  rm -rf "$ws"
}
trap cleanup EXIT

cat > "$ws/fabdev.yaml" <<YAML
apiVersion: fabdev/v1alpha1
kind: Workspace
name: fabdev-e2e
YAML
trust=()
if [ -n "${FABRIC_VERSION:-}" ]; then
  two=${FABRIC_VERSION%.*}
  cat >> "$ws/fabdev.yaml" <<YAML
fabric: { version: "$two" }
images:
  peer: "fabdev.invalid/local-fabric-peer:$FABRIC_VERSION"
  orderer: "fabdev.invalid/local-fabric-orderer:$FABRIC_VERSION"
  dind: "fabdev.invalid/standin-docker:28.5.1-dind"
  ccenv: "fabdev.invalid/standin-fabric-ccenv:$two"
  baseos: "fabdev.invalid/standin-fabric-baseos:$two"
  nodeenv: "fabdev.invalid/standin-fabric-nodeenv:2.5"
YAML
  trust=(--trust-spec)
fi

# With podman, images that only the host's Docker has (made locally, where
# nothing can be pulled) are copied into podman, where fabdev looks for them.
if [ "$engine" = podman ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  "$fabdev" -w "$ws" render "${trust[@]}" --out "$logs/render" >/dev/null
  # The rendered images, and the builder and runtime images the peers are
  # told (CORE_CHAINCODE_BUILDER and the runtimes, in their env).
  for image in $( (grep -ho 'image: *[^ ]*' "$logs"/render/*.yaml; grep -hA1 -E 'name: CORE_CHAINCODE_(BUILDER|GOLANG_RUNTIME|NODE_RUNTIME)$' "$logs"/render/*.yaml | grep -o 'value: *[^ ]*') 2>/dev/null \
    | awk '{print $2}' | tr -d '"' | sort -u); do
    if ! podman image exists "$image" && docker image inspect "$image" >/dev/null 2>&1; then
      echo "==> $image: from the host's Docker into podman"
      docker save "$image" | podman load -q >/dev/null
    fi
  done
fi

echo "==> fabdev up (first run)"
"$fabdev" -w "$ws" up "${trust[@]}" -o json | tee "$logs/up1.jsonl"

echo "==> fabdev status"
"$fabdev" -w "$ws" status "${trust[@]}" -o json | tee "$logs/status.jsonl"
python3 - "$logs/status.jsonl" <<'PY'
import json, sys
# One event a line: the steps, then the status itself.
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = next(e for e in events if e["event"] == "status")
assert st["cluster_exists"], "the cluster must exist"
bad = []
for n in st["nodes"]:
    if n["pod_ready"] is not True:
        bad.append(f'{n["name"]}: pod not ready')
    ch = n["channels"]
    if "Ok" not in ch or "mychannel" not in ch["Ok"]:
        bad.append(f'{n["name"]}: not on mychannel ({ch})')
assert not bad, "\n".join(bad)
print(f'ok: {len(st["nodes"])} nodes ready and on mychannel')
PY

echo "==> fabdev up (second run: must change nothing)"
"$fabdev" -w "$ws" up "${trust[@]}" -o json | tee "$logs/up2.jsonl"
python3 - "$logs/up2.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = {e["step"]: e.get("detail") for e in events if e["event"] == "step_done"}
assert done.get("kind cluster fabdev-e2e") == "exists", done
assert done.get("apply objects", "").endswith(" 0 changed"), done
assert done.get("load images into the kind nodes", "").startswith("0 loaded"), done
assert done.get("builder images in every peer's DinD", "").startswith("0 copied"), done
print("ok: second up changed nothing")
PY

echo "==> fabdev down --purge"
"$fabdev" -w "$ws" down "${trust[@]}" --purge
if KIND_EXPERIMENTAL_PROVIDER=$engine kind get clusters 2>/dev/null | grep -qx fabdev-e2e; then
  echo "e2e/kind: the cluster is still there after down" >&2
  exit 1
fi
echo "e2e/kind: passed"
