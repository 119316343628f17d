#!/usr/bin/env bash
# The `cfdi` command-line example against the reference tools:
#  - `cadena` is byte-equal to the xsltproc output for all 15 samples (no trailing newline);
#  - `verify` exits 0 for the 5 samples sealed with SAT test CSDs, 1 (naming the e.firma) for the 9 sealed
#    with SAT test e.firmas, 1 for the placeholder-certificate one and for a tampered document;
#  - `demo` writes I, E, P and global documents that pass xmllint --schema, whose cadena equals
#    xsltproc's, whose seal openssl accepts, and that `validate` reports without errors;
#  - `sign` re-seals a document so that it verifies.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p examples --example cfdi
CFDI="$TARGET/debug/examples/cfdi"
F=cfdi/tests/fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

for x in $F/samples/*.xml; do
  n=$(basename "$x" .xml)
  "$CFDI" cadena "$x" > "$TMP/c.txt"
  cmp -s "$TMP/c.txt" "$F/samples/$n.cadena.txt" || fail "cadena $n"
  case "$n" in
    satcfdi-pagos20-all)
      if "$CFDI" verify "$x" >/dev/null; then fail "verify $n should fail"; fi ;;
    cfdiutils-*|satcfdi-sat-ejemplo-signed-tfd)
      "$CFDI" verify "$x" >/dev/null || fail "verify $n" ;;
    *)
      # sealed with SAT *test e.firmas*: the Sello verifies but a PAC would reject it (CFDI40106)
      set +e; out=$("$CFDI" verify "$x"); rc=$?; set -e
      [ "$rc" = 1 ] && grep -q "is an e.firma, not a CSD" <<<"$out" || fail "verify $n: exit $rc: $out" ;;
  esac
done
sed 's/SubTotal="/SubTotal="1/' $F/samples/cfdiutils-cfdi40-valid.xml > "$TMP/tampered.xml"
set +e; "$CFDI" verify "$TMP/tampered.xml" >/dev/null; rc=$?; set -e
[ "$rc" = 1 ] || fail "tampered document: verify exit $rc, expected 1"

# Schema tree with the crate's vendored catCFDI.xsd in place.
cp -r $F/sat "$TMP/sat"
cp cfdi/data/catCFDI.xsd "$TMP/sat/www.sat.gob.mx/sitio_internet/cfd/catalogos/catCFDI.xsd"
XSLT="$TMP/sat/www.sat.gob.mx/sitio_internet/cfd/4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt"
openssl x509 -inform DER -in $F/csd/EKU9003173C9.cer -pubkey -noout > "$TMP/pub.pem"

"$CFDI" demo --out "$TMP/demo" >/dev/null
"$CFDI" sign "$TMP/demo/global.xml" --cer $F/csd/EKU9003173C9.cer --key $F/csd/EKU9003173C9.key \
  --password "$(cat $F/csd/password.txt)" > "$TMP/demo/resigned.xml"
count=0
for x in "$TMP"/demo/*.xml; do
  n=$(basename "$x")
  xmllint --noout --nonet --schema "$TMP/sat/cfdi40-with-complements.xsd" "$x" 2>"$TMP/err" || { cat "$TMP/err"; fail "xmllint $n"; }
  xsltproc "$XSLT" "$x" 2>/dev/null > "$TMP/xslt.txt"
  "$CFDI" cadena "$x" > "$TMP/ours.txt"
  cmp -s "$TMP/xslt.txt" "$TMP/ours.txt" || fail "cadena of $n differs from xsltproc"
  xmllint --xpath 'string(/*/@Sello)' "$x" | base64 -d > "$TMP/sig.bin"
  openssl dgst -sha256 -verify "$TMP/pub.pem" -signature "$TMP/sig.bin" "$TMP/ours.txt" >/dev/null || fail "openssl $n"
  "$CFDI" verify "$x" >/dev/null || fail "verify $n"
  "$CFDI" validate "$x" > "$TMP/findings.jsonl" || { cat "$TMP/findings.jsonl"; fail "validate $n"; }
  count=$((count + 1))
done
[ "$count" = 5 ] || fail "expected 5 demo documents, got $count"
echo "cfdi CLI: 15 samples + $count generated documents OK"
