#!/usr/bin/env bash
# Runs the offline reference programs and checks what they print:
#  - quickstart: the hub (SQLite) syncs two tenants into MemoryErp and the QuickBooks mock, a sealed CFDI whose total equals the ERP total, a signed CR factura;
#  - sync_quickbooks / sync_xero / sync_contpaqi: the four remote refs against the in-process mocks;
#  - cr_submit: one aceptado and one rechazado (with its DetalleMensaje), one POST each, against the mock Hacienda;
#  - pac_failover: every scenario, last line double_stamps=0 lost=0 (counted by the mock PACs);
#  - hub_status: the operator table (one dead letter with its history) and the hub's metrics as Prometheus text;
#  - sync_faults --records 1500: last line records=1500 duplicates=0 lost=0 dead_letters=<n> log_complete=true;
#  - sync_bench --seconds 5 --records 1000 --workers 1 (smoke): no 429 from the QuickBooks-limits mock, no record
#    lost to one, engine lines for SQLite and PostgreSQL (the 60 s benchmark itself is not run here);
#  - sync_engine: faults and a crash between runs, last line created=8 duplicates=0 lost=0 (counted in MemoryErp).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { cargo run --quiet -p examples --example "$@"; }

out=$(run quickstart)
echo "$out" | grep -q '^cfdi .*validation errors 0$' || fail "quickstart: CFDI line missing or invalid"
echo "$out" | grep -q '^cr .*signature verified$' || fail "quickstart: CR line missing"
echo "$out" | grep -q '^balance ' || fail "quickstart: no balance line"
echo "$out" | grep -q '^scope norte-mx/memory:1: done 3 dead 0 backlog 0$' || fail "quickstart: MemoryErp tenant not synced"
echo "$out" | grep -q '^scope sol-mx/quickbooks:[0-9]*: done 4 dead 0 backlog 0$' || fail "quickstart: QuickBooks tenant not synced"

for ex in sync_quickbooks sync_xero sync_contpaqi; do
  out=$(run "$ex")
  n=$(echo "$out" | grep -ciE 'customer|invoice|payment|credit' || true)
  [ "$n" -ge 4 ] || fail "$ex printed $n of the 4 remote refs:\n$out"
done

out=$(run cr_submit)
echo "$out" | grep -q -- '-> aceptado (1 POST' || fail "cr_submit: no aceptado with a single POST"
echo "$out" | grep -q -- '-> rechazado (1 POST' || fail "cr_submit: no rechazado with a single POST"
echo "$out" | grep -q 'DetalleMensaje: El comprobante' || fail "cr_submit: DetalleMensaje did not reach the caller"

last=$(run sync_engine | tail -n 1)
[ "$last" = "created=8 duplicates=0 lost=0" ] || fail "sync_engine ended with '$last'"

out=$(run hub_status)
echo "$out" | grep -q '^dead letters: 1$' || fail "hub_status: expected one dead letter"
echo "$out" | grep -q '^erp_hub_records_total{.*outcome="done"} ' || fail "hub_status: no Prometheus records_total"
echo "$out" | tail -n 1 | grep -q '^metric_lines=[1-9]' || fail "hub_status: no metrics exported"

# The hub under faults and SIGKILLs (SQLite child processes, then 4 PostgreSQL worker processes); a smaller
# instance than the 10,000-record acceptance run, in release so it stays within CI time.
last=$(scripts/with-postgres.sh cargo run --quiet --release -p examples --example sync_faults -- --records 1500 | tail -n 1)
[[ "$last" =~ ^records=1500\ duplicates=0\ lost=0\ dead_letters=[0-9]+\ log_complete=true$ ]] \
  || fail "sync_faults ended with '$last'"

out=$(scripts/with-postgres.sh cargo run --quiet --release -p examples --example sync_bench -- --seconds 5 --records 1000 --workers 1)
echo "$out" | grep -Eq '^allowed_rate_ratio=[0-9.]+ throttled_429=0 lost_429=0$' || fail "sync_bench: QuickBooks limits broken:\n$out"
echo "$out" | grep -q '^engine sqlite: records=1000 workers=1 ' || fail "sync_bench: no SQLite engine line:\n$out"
echo "$out" | grep -q '^engine postgres: records=1000 workers=1 ' || fail "sync_bench: no PostgreSQL engine line:\n$out"

last=$(run pac_failover | tail -n 1)
[ "$last" = "double_stamps=0 lost=0" ] || fail "pac_failover ended with '$last'"
echo "examples ok"
