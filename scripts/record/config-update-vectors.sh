#!/usr/bin/env bash
# Records the config-update vectors CI checks
# (fixtures/fabric-vectors/config-update/): for a chain of channel changes,
# the channel's config before and after as fabdev builds them, fabdev's
# ConfigUpdate, and the ConfigUpdate real `configtxlator compute_update`
# computes from the same two configs (binary, and decoded to JSON for
# reading). CI has no Fabric binaries; crates/testnet/tests/config_update_vectors.rs
# checks that fabdev still computes exactly the recorded updates, so any
# change fails CI until it is recorded again here, against real Fabric.
#
#   FABRIC_HOME=/path/to/fabric-2.5 scripts/record/config-update-vectors.sh
#   FABRIC_HOME=/path/to/fabric-3.1 scripts/record/config-update-vectors.sh
#
# FABRIC_HOME is a Fabric release folder (bin/, config/), as in Fabric's
# release tarballs. Record with both a 2.5 and a 3.x release.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${FABRIC_HOME:?set FABRIC_HOME to a Fabric release folder (bin/, config/)}"
for b in peer configtxlator; do
  [ -x "$FABRIC_HOME/bin/$b" ] || { echo "record/config-update-vectors: no $FABRIC_HOME/bin/$b" >&2; exit 1; }
done
release=$("$FABRIC_HOME/bin/peer" version | sed -n 's/^ *Version: *//p')
version=$(echo "$release" | cut -d. -f1,2)
dir=fixtures/fabric-vectors/config-update

# The crypto is made once and then kept: the vectors of every version use it.
cargo run -q --locked -p testnet --example config_update_vectors -- crypto "$dir"
rm -rf "${dir:?}/$version"
cargo run -q --locked -p testnet --example config_update_vectors -- cases "$dir" "$version"
while read -r name channel; do
  stem="$dir/$version/$name"
  "$FABRIC_HOME/bin/configtxlator" compute_update --channel_id "$channel" \
    --original "$stem.original.pb" --updated "$stem.updated.pb" --output "$stem.configtxlator.pb"
  "$FABRIC_HOME/bin/configtxlator" proto_decode --type common.ConfigUpdate \
    --input "$stem.configtxlator.pb" > "$stem.configtxlator.json"
  echo "computed $name with configtxlator $release"
done < "$dir/$version/cases"
echo "$release" > "$dir/$version/RECORDED_WITH"
