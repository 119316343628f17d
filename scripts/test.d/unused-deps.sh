#!/usr/bin/env bash
# Fails on an unused dependency: `cargo machete` over every crate (installed when missing), and every entry of
# the root `[workspace.dependencies]` must be used by some member.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-machete >/dev/null 2>&1; then
  cargo install cargo-machete --locked --quiet
fi
# --with-metadata: resolves renamed libraries (sat-cfdi is `cfdi` in code) through `cargo metadata`.
cargo machete --with-metadata

status=0
members=$(sed -n 's/^members *= *\[\(.*\)\]/\1/p' Cargo.toml | tr -d '" ' | tr ',' ' ')
deps=$(awk '/^\[workspace\.dependencies\]/{on=1; next} /^\[/{on=0} on && /^[A-Za-z0-9_-]+ *=/{sub(/ *=.*/, ""); print}' Cargo.toml)
for dep in $deps; do
  used=0
  for m in $members; do
    if grep -Eq "^${dep}(\.workspace *= *true| *= *\{[^}]*workspace *= *true)" "$m/Cargo.toml"; then
      used=1
      break
    fi
  done
  if [ "$used" -eq 0 ]; then
    echo "FAIL: [workspace.dependencies] $dep is used by no member" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "no unused dependencies"
exit "$status"
