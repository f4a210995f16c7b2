#!/usr/bin/env bash
# Times a cold `fabdev up` (a new namespace: every pod, every DinD empty) on
# the real test node, for N peers, and prints each step's time from the
# JSON events. No chaincode is deployed: the figure is the network's.
# For issue 18's before/after, run it with FABDEV pointing at a fabdev built
# from the commit before the change (9511475 seeds all three builder images
# into every DinD; later ones only what chaincode runs on) and at today's;
# LABEL names the binary in the output.
#
#   sudo target/debug/examples/kubenode fabdev.invalid/standin-docker:28.5.1-dind \
#        fabdev.invalid/local-fabric-peer:2.5.14 fabdev.invalid/local-fabric-orderer:2.5.14 &
#   KUBECONFIG_FILE=... CONTEXT=... [FABDEV=...] [LABEL=...] scripts/bench/cold-up-real-node.sh PEERS [RUNS]
#
# Needs: the node above (scripts/setup/kube.sh, node-images.sh with
# FABRIC_HOME) and the builder stand-ins (scripts/setup/builder-images.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
peers=${1:?peers}; runs=${2:-1}; mode=${LABEL:-this}
: "${KUBECONFIG_FILE:?the node's kubeconfig}" "${CONTEXT:?the node's context}"
version=${FABRIC_VERSION:-2.5.14}; two=${version%.*}
ccenv=fabdev.invalid/standin-fabric-ccenv:$two
fabdev=${FABDEV:-$PWD/target/debug/fabdev}
dir=$(mktemp -d)
cat > "$dir/fabdev.yaml" <<YAML
apiVersion: fabdev/v1alpha1
kind: Workspace
name: bench-up
fabric: { version: "$two" }
cluster: { provider: existing, kubeconfig: $KUBECONFIG_FILE, context: $CONTEXT }
images: { peer: fabdev.invalid/local-fabric-peer:$version, orderer: fabdev.invalid/local-fabric-orderer:$version, dind: fabdev.invalid/standin-docker:28.5.1-dind, ccenv: $ccenv, baseos: fabdev.invalid/standin-fabric-baseos:$two, nodeenv: fabdev.invalid/standin-fabric-nodeenv:2.5 }
orgs:
  - { name: Org1, peers: $peers, stateDatabase: leveldb }
channels:
  - { name: mychannel, orgs: [Org1] }
YAML
cd "$dir"
for i in $(seq 1 "$runs"); do
  "$fabdev" down -o json >/dev/null 2>&1 || true
  start=$(date +%s.%N)
  "$fabdev" up --trust-spec -o json > up.json 2> up.err || { echo "up failed:"; tail -20 up.err; exit 1; }
  end=$(date +%s.%N)
  python3 - "$peers" "$mode" "$i" "$start" "$end" <<'PY'
import json, sys
peers, mode, run, start, end = sys.argv[1:]
steps = []
for line in open("up.json"):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "step_done":
        steps.append((e["step"], e["elapsed_ms"] / 1000, e.get("detail") or ""))
total = float(end) - float(start)
seed = [s for s in steps if "DinD" in s[0] or "builder" in s[0]]
print(f"peers={peers} fabdev={mode} run={run} up={total:.1f}s " + " ".join(f"[{n}: {t:.1f}s {d[:90]}]" for n, t, d in seed))
for n, t, d in steps:
    if t >= 0.5: print(f"    {n}: {t:.1f}s")
PY
done
"$fabdev" down -o json >/dev/null 2>&1 || true
