#!/usr/bin/env bash
# Records the lifecycle vectors CI checks (fixtures/fabric-vectors/lifecycle/):
# fabdev's lifecycle messages for the chaincode of
# fixtures/fabric-vectors/lifecycle/fabdev.yaml (a nested signature policy,
# collections, initRequired), and a real test network's answers to them:
# Org1 approves through fabdev, Org2 through the real
# `peer lifecycle chaincode approveformyorg` with the same policy expression
# and collections file, then fabdev commits. configtxlator decodes the
# policy and collections; the real peer CLI prints its JSON of each answer.
# CI has no Fabric binaries; crates/testnet/tests/fabric_vectors.rs checks
# fabdev's messages and parsers against these recordings.
#
#   FABRIC_HOME=/path/to/fabric-2.5 scripts/record/lifecycle-vectors.sh
#   FABRIC_HOME=/path/to/fabric-3.1 scripts/record/lifecycle-vectors.sh
#
# Needs root (the test network's namespaces), FABRIC_HOME (a Fabric release
# folder: bin/, config/) and the builder images in the host's Docker
# (scripts/setup/builder-images.sh): the packages are installed for real.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${FABRIC_HOME:?set FABRIC_HOME to a Fabric release folder (bin/, config/)}"
for b in peer orderer configtxlator; do
  [ -x "$FABRIC_HOME/bin/$b" ] || { echo "record/lifecycle-vectors: no $FABRIC_HOME/bin/$b" >&2; exit 1; }
done
release=$("$FABRIC_HOME/bin/peer" version | sed -n 's/^ *Version: *//p')
version=$(echo "$release" | cut -d. -f1,2)
dir=fixtures/fabric-vectors/lifecycle
rm -rf "${dir:?}/$version"
cargo run -q --locked -p testnet --example lifecycle_vectors -- "$dir" "$version"
decode() {
  "$FABRIC_HOME/bin/configtxlator" proto_decode --type "$2" --input "$dir/$version/$1.bin" > "$dir/$version/$1.json"
  echo "decoded $dir/$version/$1.bin as $2 with configtxlator $release"
}
# configtxlator knows no `lifecycle.*` messages; the peer CLI's JSON of the
# answers (peer-cli/) is real Fabric's reading of those.
decode validation-parameter protos.ApplicationPolicy
decode collections protos.CollectionConfigPackage
