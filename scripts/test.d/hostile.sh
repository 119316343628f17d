#!/usr/bin/env bash
# Hostile input against the command-line examples (issue 14 acceptance). Every input is generated here:
#  - a signed FE with 1,000,000 nested elements inside ds:Object (7 MB): `cr verify` exits 1 with the depth
#    error, in under 2 s and under 100 MB max RSS (/usr/bin/time -v);
#  - the same nesting inside a CFDI Addenda: `cfdi verify` exits 1 with the depth error, same bounds;
#  - a 200 MB file: both examples refuse it from its size, without reading it (same bounds);
#  - a signed FE with foo="bar" on its root: `cr validate` exits 1 naming the attribute;
#  - a CFDI sealed with a self-signed certificate: `cfdi sign` refuses it (exit 2), and the same CFDI sealed
#    by hand with openssl is reported by `cfdi verify` as no CSD (exit 1);
#  - a 36-character Serie: `cfdi validate` exits 1 with a CFDI-XSD maxLength finding.
# Time and memory bounds are generous on purpose (debug build, shared CI machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p examples --example cfdi --example cr
CFDI="$TARGET/debug/examples/cfdi"
CR="$TARGET/debug/examples/cr"
command -v /usr/bin/time >/dev/null 2>&1 || { apt-get install -y -qq time >/dev/null; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# bounded NAME EXPECTED_EXIT PATTERN CMD...: runs CMD, checks exit code, output, wall time < 2 s, RSS < 100 MB
bounded() {
  local name=$1 want=$2 pattern=$3; shift 3
  set +e
  /usr/bin/time -v -o "$TMP/time.txt" "$@" >"$TMP/out.txt" 2>&1
  local rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$name: exit $rc, expected $want: $(head -c 600 "$TMP/out.txt")"
  grep -q -- "$pattern" "$TMP/out.txt" || fail "$name: output lacks '$pattern': $(head -c 600 "$TMP/out.txt")"
  local rss secs
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$TMP/time.txt")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; print s}' "$TMP/time.txt")
  [ "$rss" -lt 102400 ] || fail "$name: max RSS ${rss} KB (limit 100 MB)"
  awk -v s="$secs" 'BEGIN { exit !(s < 2.0) }' || fail "$name: took ${secs}s (limit 2 s)"
  echo "ok $name (exit $rc, ${secs}s, ${rss} KB)"
}

# --- Costa Rica -------------------------------------------------------------------------------------
K=cr-einvoice/tests/fixtures/keys/test-aes.p12
"$CR" sign cr-einvoice/tests/fixtures/unsigned/FE_v4.4_minimal_unsigned.xml --p12 "$K" --pin 1234 > "$TMP/fe.xml"
"$CR" verify "$TMP/fe.xml" >/dev/null || fail "the freshly signed FE does not verify"
python3 - "$TMP/fe.xml" "$TMP/deep.xml" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
n = 1_000_000
end = s.rindex("</ds:Signature>")
open(sys.argv[2], "w", encoding="utf-8").write(s[:end] + "<ds:Object>" + "<a>" * n + "</a>" * n + "</ds:Object>" + s[end:])
PY
bounded "cr verify, 1,000,000 levels in ds:Object" 1 "element nesting deeper than 64 levels at byte" "$CR" verify "$TMP/deep.xml"
bounded "cr validate, 1,000,000 levels" 1 "document nesting exceeds 64 levels" "$CR" validate "$TMP/deep.xml"
sed '0,/<FacturaElectronica /s//<FacturaElectronica foo="bar" /' "$TMP/fe.xml" > "$TMP/rootattr.xml"
cmp -s "$TMP/fe.xml" "$TMP/rootattr.xml" && fail "root attribute not inserted"
bounded "cr validate, root attribute" 1 "attribute foo is not allowed on FacturaElectronica" "$CR" validate "$TMP/rootattr.xml"
bounded "cr verify, root attribute" 1 '"valid":false' "$CR" verify "$TMP/rootattr.xml"
truncate -s 200M "$TMP/huge.xml"
bounded "cr verify, 200 MB file" 1 "exceeds the limit of" "$CR" verify "$TMP/huge.xml"

# --- Mexico -----------------------------------------------------------------------------------------
F=cfdi/tests/fixtures
S=$F/samples/cfdiutils-cfdi40-valid.xml
python3 - "$S" "$TMP/deep-cfdi.xml" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
n = 1_000_000
end = s.rindex("</cfdi:Comprobante>")
open(sys.argv[2], "w", encoding="utf-8").write(s[:end] + "<cfdi:Addenda>" + "<a>" * n + "</a>" * n + "</cfdi:Addenda>" + s[end:])
PY
bounded "cfdi verify, 1,000,000 levels in Addenda" 1 "element nesting deeper than 128 levels at byte" "$CFDI" verify "$TMP/deep-cfdi.xml"
bounded "cfdi verify, 200 MB file" 2 "exceeds the limit of" "$CFDI" verify "$TMP/huge.xml"
bounded "cfdi verify, missing file" 2 "cannot read $TMP/nope.xml" "$CFDI" verify "$TMP/nope.xml"

N=$F/noncsd
bounded "cfdi sign, self-signed certificate" 2 "not a SAT certificate, not a CSD" \
  "$CFDI" sign "$S" --cer $N/selfsigned.cer --key $N/selfsigned.key --password 12345678a
# the same document sealed by hand with the self-signed key (its serial reads 30001000000500003416, the
# sample's NoCertificado, so the cadena is unchanged)
"$CFDI" cadena "$S" > "$TMP/cadena.txt"
openssl pkcs8 -inform DER -in $N/selfsigned.key -passin pass:12345678a -out "$TMP/self.pem"
openssl dgst -sha256 -sign "$TMP/self.pem" -out "$TMP/sig.bin" "$TMP/cadena.txt"
python3 - "$S" "$N/selfsigned.cer" "$TMP/sig.bin" "$TMP/self-sealed.xml" <<'PY'
import base64, re, sys
s = open(sys.argv[1], encoding="utf-8").read()
cert = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
sello = base64.b64encode(open(sys.argv[3], "rb").read()).decode()
s = re.sub(r'(\s)Certificado="[^"]*"', lambda m: m.group(1) + 'Certificado="' + cert + '"', s, count=1)
s = re.sub(r'(\s)Sello="[^"]*"', lambda m: m.group(1) + 'Sello="' + sello + '"', s, count=1)
open(sys.argv[4], "w", encoding="utf-8").write(s)
PY
bounded "cfdi verify, sealed with a self-signed certificate" 1 "is not a SAT certificate, not a CSD" \
  "$CFDI" verify "$TMP/self-sealed.xml"

sed '0,/Version="4.0"/s//Version="4.0" Serie="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"/' "$S" > "$TMP/serie.xml"
grep -q 'Serie="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"' "$TMP/serie.xml" || fail "Serie not replaced"
bounded "cfdi validate, 36-character Serie" 1 '"code":"CFDI-XSD".*length 36 exceeds maxLength 25' \
  "$CFDI" validate "$TMP/serie.xml"
echo "hostile inputs: all typed errors within bounds"
