#!/usr/bin/env bash
# Compares sat-cfdi with the Python satcfdi package (pip, in a venv under target/) on the same
# workload in the same run, and records OpenSSL's RSA-2048 sign rate on this machine.
#   write side: build (automatic totals) + seal (RSA-2048, SAT test CSD) + serialize, K conceptos
#   read side : parse + cadena original + verify Sello
# Rates are documents per CPU second of the measuring process (openssl speed also divides by CPU
# time), so a busy machine does not distort the ratios; wall-clock rates are printed too.
# usage: scripts/bench-cfdi.sh [N] [K]      (defaults N=1000, K=10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
K=${2:-10}
TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/satcfdi-venv"
CSD=cfdi/tests/fixtures/csd

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import satcfdi' 2>/dev/null; then
  echo "==> installing satcfdi into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet satcfdi
fi
SATCFDI_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("satcfdi"))')

echo "==> building the Rust example (release)"
cargo build --quiet --release -p examples --example cfdi
BIN="$TARGET/release/examples/cfdi"

rate() { tail -n1 | sed 's/^docs_per_sec=//'; }

echo "==> openssl speed rsa2048 (sign/s per CPU second)"
OPENSSL_SIGN=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
echo "openssl $(openssl version | awk '{print $2}') rsa2048 sign/s: $OPENSSL_SIGN"

for MODE in build verify; do
  echo "==> $MODE: N=$N docs of K=$K conceptos"
  OUT=$("$BIN" bench --n "$N" --conceptos "$K" --mode "$MODE"); echo "sat-cfdi: $OUT"
  RUST=$(echo "$OUT" | rate)
  OUT=$("$VENV/bin/python" scripts/bench-cfdi.py "$MODE" "$N" "$K" "$CSD"); echo "satcfdi:  $OUT"
  PY=$(echo "$OUT" | rate)
  RATIO=$(awk -v a="$RUST" -v b="$PY" 'BEGIN { printf "%.1f", a / b }')
  echo "$MODE: sat-cfdi ${RUST} docs/s, satcfdi ${SATCFDI_VERSION} ${PY} docs/s, ratio ${RATIO}x"
  if [ "$MODE" = build ]; then
    echo "build: sat-cfdi / openssl rsa2048 sign rate = $(awk -v a="$RUST" -v b="$OPENSSL_SIGN" 'BEGIN { printf "%.2f", a / b }')"
  fi
done
