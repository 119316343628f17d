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
echo "feature builds ok"
