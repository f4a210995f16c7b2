#!/usr/bin/env bash
# Policy scan: checkov (PyPI) over the rendered default and three-orgs
# networks; every failed check must be listed, with its reason, in
# fixtures/checkov-exceptions.yaml, and every entry there must still match a
# failure. checkov is installed when missing, pinned, into its own venv
# (~/.cache/fabdev/checkov-VERSION): it pins many packages that would clash
# with others in a shared Python.
#
# usage: scripts/check/checkov.sh [FABDEV_BINARY]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECKOV_VERSION=3.3.30
venv="${FABDEV_CHECKOV_VENV:-$HOME/.cache/fabdev/checkov-$CHECKOV_VERSION}"
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/fabdev}"
exceptions=fixtures/checkov-exceptions.yaml

if ! "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "==> installing checkov $CHECKOV_VERSION (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
[ -x "$bin" ] || { echo "checkov.sh: no fabdev binary at $bin (cargo build -p fabdev)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
reports=()
for spec in default three-orgs; do
  mkdir "$work/ws-$spec"
  "$bin" -q -w "$work/ws-$spec" --spec "fixtures/specs/$spec.yaml" render --out "$work/$spec"
  # checkov exits 1 when a check fails; the comparison below decides.
  "$venv/bin/checkov" -d "$work/$spec/manifests" --framework kubernetes \
    --quiet --compact --skip-download -o json >"$work/$spec.json" || true
  reports+=("$work/$spec.json")
done
"$venv/bin/python" scripts/check/checkov_check.py "$exceptions" "${reports[@]}"
