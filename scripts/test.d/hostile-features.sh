#!/usr/bin/env bash
# First use with `default-features = false` (issue 14 point 8): building sat-cfdi without an RSA backend
# reports exactly one error, the crate's own compile_error! naming the features to enable.
set -euo pipefail
cd "$(dirname "$0")/../.."
set +e
out=$(cargo check -p sat-cfdi --no-default-features --message-format short 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || { echo "FAIL: sat-cfdi built without an RSA backend" >&2; exit 1; }
errors=$(grep -E '^[^ ]+: error|^error' <<<"$out" | grep -v '^error: could not compile' || true)
if [ "$(wc -l <<<"$errors")" != 1 ] || ! grep -q 'needs an RSA backend: enable feature `aws-lc-rs`' <<<"$errors"; then
  echo "FAIL: expected only the RSA-backend compile_error, got:" >&2; echo "$out" >&2; exit 1
fi
if grep -q '^[^ ]*: warning\|^warning' <<<"$out"; then
  echo "FAIL: warnings besides the compile_error:" >&2; echo "$out" >&2; exit 1
fi
echo "no-backend build: one clear error"
