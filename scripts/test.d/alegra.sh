#!/usr/bin/env bash
# erp-alegra's offline example: sync_alegra pushes a customer, two items, an invoice, a partial payment and a
# credit note into the in-process mock Alegra, stamps the invoice through Alegra (exactly once: the second call
# reuses the UUID, one stamp call sent) and prints the remote refs, the UUID and the invoice balance.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(cargo run --quiet -p examples --example sync_alegra)
for what in customer invoice payment 'credit note'; do
  echo "$out" | grep -q "^$what *alegra:[0-9]" || fail "sync_alegra: no remote ref for $what:\n$out"
done
echo "$out" | grep -qE '^stamped .* UUID [0-9A-F-]{36}$' || fail "sync_alegra: no UUID:\n$out"
echo "$out" | grep -q 'already stamped: true, stamp calls sent: 1)$' || fail "sync_alegra: invoice stamped twice:\n$out"
echo "$out" | grep -q '^balance      1320.00 MXN' || fail "sync_alegra: wrong balance:\n$out"
echo "alegra example ok"
