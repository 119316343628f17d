#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target and runs each for a short while (FUZZ_SECONDS, default 10),
# seeded with the crates' XML fixtures, XML targets with -max_len=1 MiB and fuzz/xml.dict, the structure-aware
# *_hostile targets (deep nesting, many children, long attributes) from their recipe bytes. A crash fails the
# run. Long campaigns: see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${FUZZ_SECONDS:-10}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1   # cargo-fuzz passes -Z flags; stable rustc accepts them with this (as rustls CI does)
cd fuzz
cargo fuzz build -O 2>&1 | tail -n 3
seed_dir() {
  case "$1" in
    cfdi_*) echo ../cfdi/tests/fixtures/samples ;;
    cr_clave) echo "" ;;
    cr_*) echo ../cr-einvoice/tests/fixtures ;;
  esac
}
for t in $(cargo fuzz list); do
  mkdir -p "corpus/$t"
  seeds=$(seed_dir "$t")
  if [ -n "$seeds" ] && [ -d "$seeds" ]; then
    find "$seeds" -name '*.xml' -size -200k -exec cp -n {} "corpus/$t/" \;
  fi
  echo "fuzz $t for ${secs}s"
  log="target/fuzz-$t.log"; mkdir -p target
  rc=0
  # XML targets: 1 MiB inputs (libFuzzer's default cap of ~4 KB never reaches depth or size bugs) and an XML
  # token dictionary; the *_hostile targets decode a few recipe bytes into multi-megabyte shapes themselves.
  extra=()
  case "$t" in
    cfdi_hostile|cr_hostile) extra=(-max_len=64) ;;
    cfdi_*|cr_parse_document|cr_parse_v43|cr_mensaje_hacienda|cr_verify) extra=(-max_len=1048576 -dict=xml.dict) ;;
  esac
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 "${extra[@]}" >"$log" 2>&1 || rc=$?
  grep -E '^Done' "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz target $t failed (exit $rc):"; tail -n 60 "$log"; exit 1
  fi
done
