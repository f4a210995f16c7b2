#!/usr/bin/env bash
# The fast check, for every change: no root, no services, nothing installed.
#
#   scripts/check/fast.sh
#
# 1. cargo fmt --check
# 2. cargo clippy --workspace --all-targets -D warnings
# 3. the pure tests: every crate's unit tests (--lib; the flows' step lists
#    with fakes are in crates/fabdev/src/flow/tests.rs) and the test targets
#    that need neither root nor Docker, Kubernetes or Fabric:
#      cluster    k8s             Kubernetes calls against a mock service
#      network    channel         channel joins against fake orderer/peer endpoints
#                 genesis         genesis blocks decoded and checked
#                 pki             MSP and TLS material
#                 render          rendered objects (insta snapshots)
#      chaincode  package         lifecycle packages
#      testnet    fabric_vectors  the genesis block and lifecycle messages
#                                 against recorded real-Fabric vectors
#      fabdev     specs           every fixture spec and its exact error
#                 hardening       the binary against bad and hostile input
#
# scripts/test.sh runs all of this and everything else (real Docker, a real
# kube-apiserver, the real single-node cluster, real Fabric when FABRIC_HOME
# is set); CI runs that one.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '==> %s\n' "$*"; }

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "pure tests"
cargo test --workspace --locked --lib \
  --test k8s \
  --test channel --test genesis --test pki --test render \
  --test package \
  --test fabric_vectors \
  --test specs --test hardening
