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
# Every publishable workspace member (publish not set to false).
crates=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p.get("publish") != []:
        print(p["name"])')
for crate in $crates; do
  list=$(cargo package -p "$crate" --list "${dirty[@]}")
  for f in LICENSE-MIT LICENSE-APACHE README.md; do
    grep -qx "$f" <<<"$list" || { echo "FAIL: $crate package lacks $f" >&2; exit 1; }
  done
done
# cargo unpacks the packages it just made into registry/src/-<hash>/<name>-<version> and reuses an unpacked
# copy of the same version from an earlier run, so a second run would verify against stale sources: drop them.
for crate in $crates; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"-[0-9]*
done
cargo package --workspace "${dirty[@]}"
