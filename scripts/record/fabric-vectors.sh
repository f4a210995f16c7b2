#!/usr/bin/env bash
# Records the Fabric vectors CI checks (fixtures/fabric-vectors/): fabdev's
# genesis blocks for fixed, committed test crypto, and real configtxlator's
# JSON of each. CI has no Fabric binaries; crates/testnet/tests/fabric_vectors.rs
# rebuilds the blocks and compares them with these recordings, so any change
# to the block fails CI until it is recorded again here, against real Fabric.
#
#   FABRIC_HOME=/path/to/fabric-2.5 scripts/record/fabric-vectors.sh
#   FABRIC_HOME=/path/to/fabric-3.1 scripts/record/fabric-vectors.sh
#
# FABRIC_HOME is a Fabric release folder (bin/, config/), as in Fabric's
# release tarballs. Record with both a 2.5 and a 3.x release.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${FABRIC_HOME:?set FABRIC_HOME to a Fabric release folder (bin/, config/)}"
for b in peer configtxlator; do
  [ -x "$FABRIC_HOME/bin/$b" ] || { echo "record/fabric-vectors: no $FABRIC_HOME/bin/$b" >&2; exit 1; }
done
release=$("$FABRIC_HOME/bin/peer" version | sed -n 's/^ *Version: *//p')
version=$(echo "$release" | cut -d. -f1,2)
dir=fixtures/fabric-vectors
mkdir -p "$dir"

# The crypto is made once and then kept: the vectors of every version use it.
cargo run -q --locked -p testnet --example fabric_vectors -- crypto "$dir"
rm -rf "${dir:?}/$version"
cargo run -q --locked -p testnet --example fabric_vectors -- blocks "$dir" "$version"
for block in "$dir/$version"/*.block; do
  "$FABRIC_HOME/bin/configtxlator" proto_decode --type common.Block --input "$block" > "${block%.block}.json"
  echo "decoded $block with configtxlator $release"
done
echo "$release" > "$dir/$version/RECORDED_WITH"
