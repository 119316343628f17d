#!/usr/bin/env bash
# sat-cfdi's `hub` feature (issue 10): off by default (the default build knows no ERP model), and it builds on
# its own (no help from features other workspace members turn on).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
default=$(sed -n 's/^default = \(.*\)$/\1/p' cfdi/Cargo.toml)
case "$default" in *hub*) fail "sat-cfdi enables 'hub' by default: $default" ;; esac
cargo check --quiet -p sat-cfdi --features hub
echo "sat-cfdi hub feature ok"
