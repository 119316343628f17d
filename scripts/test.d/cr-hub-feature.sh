#!/usr/bin/env bash
# cr-einvoice's `hub` feature (issue 11 points 2-3): off by default, builds on its own, and the default build
# pulls in nothing of the hub (no erp-hub-core `hub` feature, no metrics facade, no stores). The default `api`
# feature does use erp-hub-core's `http` plumbing (token manager, retries) as before; without default features
# cr-einvoice has no erp-hub-core at all (scripts/test.d/features.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
default=$(sed -n 's/^default = \(.*\)$/\1/p' cr-einvoice/Cargo.toml)
case "$default" in *hub*) fail "cr-einvoice enables 'hub' by default: $default" ;; esac
cargo check --quiet -p cr-einvoice --features hub
hub_features() { cargo tree -p cr-einvoice "$@" -e normal,features -i erp-hub-core --prefix none 2>/dev/null; }
if hub_features | grep -E '^erp-hub-core feature "(hub|sqlite|postgres|testing)"'; then
  fail "cr-einvoice's default build enables hub code of erp-hub-core"
fi
if cargo tree -p cr-einvoice -e normal --prefix none 2>/dev/null | grep -E '^(metrics|sqlx) '; then
  fail "cr-einvoice's default build pulls in the hub's dependencies"
fi
hub_features --features hub | grep -q '^erp-hub-core feature "hub"' \
  || fail "the hub feature does not enable erp-hub-core/hub"
echo "cr-einvoice hub feature ok"
