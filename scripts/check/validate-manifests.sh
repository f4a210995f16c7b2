#!/usr/bin/env bash
# Validate rendered Kubernetes manifests against the real Kubernetes OpenAPI
# schemas with `kubernetes-validate --strict` (PyPI package kubernetes-validate).
#
# usage: scripts/check/validate-manifests.sh DIR [DIR...]
#
# DIR is a folder of manifests (`fabdev render --out OUT` writes them to
# OUT/manifests); given OUT itself, its manifests/ folder is used, so
# kind-config.yaml (not a Kubernetes object) is never validated. Every *.yaml
# and *.yml file directly in the folder is checked, for:
#   - Kubernetes 1.31 (override: KUBE_VALIDATE_MIN=1.31.0), and
#   - the newest version the installed kubernetes-validate knows (the default
#     its --help reports).
# Exits non-zero if any file fails for any version, if a folder holds no
# manifests, or if kubernetes-validate is missing.
set -euo pipefail

min_version="${KUBE_VALIDATE_MIN:-1.31.0}"

if [ "$#" -eq 0 ]; then
	echo "usage: $0 DIR [DIR...]" >&2
	exit 2
fi
if ! command -v kubernetes-validate >/dev/null 2>&1; then
	echo "error: kubernetes-validate is not installed (pip install kubernetes-validate)" >&2
	exit 2
fi

# The newest version it knows is the default its --help names:
# "... Defaults to 1.37.0".
latest="$(kubernetes-validate --help | tr '\n' ' ' | sed -n 's/.*Defaults to \([0-9][0-9.]*[0-9]\).*/\1/p')"
if [ -z "$latest" ]; then
	echo "error: cannot tell the newest Kubernetes version from \`kubernetes-validate --help\`" >&2
	exit 2
fi
versions=("$min_version")
if [ "$latest" != "$min_version" ]; then
	versions+=("$latest")
fi
echo "kubernetes-validate $(kubernetes-validate --version): Kubernetes ${versions[*]}, strict"

files=()
for dir in "$@"; do
	if [ -d "$dir/manifests" ]; then
		dir="$dir/manifests"
	fi
	if [ ! -d "$dir" ]; then
		echo "error: $dir is not a folder" >&2
		exit 2
	fi
	found=0
	while IFS= read -r -d '' f; do
		files+=("$f")
		found=$((found + 1))
	done < <(find "$dir" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
	if [ "$found" -eq 0 ]; then
		echo "error: no manifests (*.yaml, *.yml) in $dir" >&2
		exit 1
	fi
done

failed=0
for v in "${versions[@]}"; do
	# One process per version for all files; it exits non-zero if any fails.
	if ! kubernetes-validate --strict --quiet -k "$v" "${files[@]}"; then
		failed=1
		echo "FAIL: Kubernetes $v" >&2
	else
		echo "ok: ${#files[@]} files valid for Kubernetes $v"
	fi
done
exit "$failed"
