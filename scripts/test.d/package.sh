#!/usr/bin/env bash
# Every crate builds from its own published package: `cargo package --workspace` WITH verification (each
# .crate is unpacked and compiled on its own; workspace crates that depend on each other, e.g. erp-quickbooks
# on erp-hub-core, resolve through cargo's temporary local registry of the packages just made, so no
# unpublished crate is needed on crates.io). Also checks that each published crate ships both licence files.
#
# No --allow-dirty: CI runs on a clean clone. For a local run with uncommitted changes set
# PACKAGE_ALLOW_DIRTY=1 (the packages then contain the working-tree files).
set -euo pipefail
cd "$(dirname "$0")/../.."
dirty=()
[ "${PACKAGE_ALLOW_DIRTY:-0}" = 1 ] && dirty=(--allow-dirty)
for crate in erp-hub-core erp-quickbooks erp-xero erp-alegra sat-cfdi cr-einvoice; do
  list=$(cargo package -p "$crate" --list "${dirty[@]}")
  for f in LICENSE-MIT LICENSE-APACHE README.md; do
    grep -qx "$f" <<<"$list" || { echo "FAIL: $crate package lacks $f" >&2; exit 1; }
  done
done
cargo package --workspace "${dirty[@]}"
