#!/usr/bin/env bash
# The e-invoicing crates must build without any network or ERP code, and erp-hub-core without its HTTP stack.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo check --quiet -p sat-cfdi --no-default-features --features aws-lc-rs
cargo check --quiet -p cr-einvoice --no-default-features
cargo check --quiet -p cr-einvoice --no-default-features --features demo
cargo check --quiet -p erp-hub-core --no-default-features
# each hub feature alone (no help from the features other workspace members turn on)
for f in hub sqlite postgres; do cargo check --quiet -p erp-hub-core --features "$f"; done
for pkg in sat-cfdi cr-einvoice; do
  if cargo tree -p "$pkg" --no-default-features -e normal --prefix none 2>/dev/null \
      | grep -E '^(reqwest|tokio|erp-hub-core) ' ; then
    echo "FAIL: $pkg without default features still depends on network/ERP crates" >&2; exit 1
  fi
done
# with their default features (network on), they use erp-hub-core's HTTP plumbing only: no ERP model, adapter
# trait or sync engine (erp-hub-core feature `erp`) is compiled
for pkg in sat-cfdi cr-einvoice; do
  cargo check --quiet -p "$pkg"
  tree=$(cargo tree -p "$pkg" -e features,normal -i erp-hub-core --prefix none)
  grep -q '^erp-hub-core feature "http"' <<<"$tree" || { echo "FAIL: $pkg no longer uses erp-hub-core's http" >&2; exit 1; }
  if grep -E '^erp-hub-core feature "(erp|default)"' <<<"$tree"; then
    echo "FAIL: $pkg with default features compiles erp-hub-core's ERP side" >&2; exit 1
  fi
done
echo "feature builds ok"
