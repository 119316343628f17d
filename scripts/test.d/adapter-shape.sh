#!/usr/bin/env bash
# Every adapter crate (each erp-*/ directory except erp-core) has the same top-level modules (erp-core/ADAPTERS.md):
# a module is src/NAME.rs or src/NAME/mod.rs; submodules (src/NAME/*.rs next to src/NAME.rs) are free.
# Fails on any difference, naming the crate and the modules it lacks or adds.
set -euo pipefail
cd "$(dirname "$0")/../.."

modules() {
  local src="$1/src"
  {
    for f in "$src"/*.rs; do
      [ -e "$f" ] || continue
      local name; name=$(basename "$f" .rs)
      [ "$name" = lib ] || echo "$name"
    done
    for d in "$src"/*/; do
      if [ -e "$d/mod.rs" ]; then basename "$d"; fi
    done
  } | sort -u
}

crates=()
for d in erp-*/; do
  d=${d%/}
  [ "$d" = erp-core ] && continue
  [ -f "$d/Cargo.toml" ] && crates+=("$d")
done
if [ "${#crates[@]}" -lt 2 ]; then
  echo "FAIL: expected at least two adapter crates, found: ${crates[*]:-none}" >&2
  exit 1
fi

reference=${crates[0]}
expected=$(modules "$reference")
status=0
for c in "${crates[@]:1}"; do
  got=$(modules "$c")
  if [ "$got" != "$expected" ]; then
    status=1
    echo "FAIL: $c does not have the module files of $reference (see erp-core/ADAPTERS.md):" >&2
    comm -23 <(echo "$expected") <(echo "$got") | sed "s/^/  missing in $c: /" >&2
    comm -13 <(echo "$expected") <(echo "$got") | sed "s/^/  only in $c: /" >&2
  fi
done
if [ "$status" -eq 0 ]; then echo "adapter shape ok: ${crates[*]} have $(echo "$expected" | tr '\n' ' ')"; fi
exit "$status"
