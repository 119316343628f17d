#!/usr/bin/env bash
# Mexico through the hub (issue 10): runs `hub_mx` (3 tenants, 200 invoices with mixed taxes, partial and
# multi-invoice payments, credit notes, a reissue and two cancellations, one global invoice, PAC failover, lost
# ERP responses, a SIGKILLed child process running the hub and a restart on the same SQLite file) and checks
#  - its last line: invoices=200 stamped=197 pagos=… egresos=6 cancelled=2 double_stamps=0 lost=0
#    erp_uuid_missing=0 total_mismatch=0 tfd_invalid=0 (counted from MemoryErp, the journal and the PAC mocks);
#  - that the child was killed mid-run and the sync log showed a cancellation awaiting the receptor;
#  - every stamped XML it wrote: xmllint --schema (vendored SAT XSDs incl. Pagos 2.0 and TFD 1.1), cadena equal
#    to xsltproc with SAT's XSLT, Sello verified by openssl with the emisor's CSD, TFD SelloSAT verified by
#    openssl with the mock PAC's certificate over xsltproc's TFD cadena, `cfdi validate` without errors;
#  - the global invoice (InformacionGlobal, PUBLICO EN GENERAL, one 01010101/ACT concepto per sale) and the
#    reissue (CfdiRelacionados 04) are among them.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in xmllint xsltproc openssl; do
  command -v "$tool" >/dev/null || fail "$tool is required (apt-get install -y libxml2-utils xsltproc openssl)"
done
cargo build --quiet -p examples --example cfdi --example hub_mx
CFDI="$TARGET/debug/examples/cfdi"
F=cfdi/tests/fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

out=$("$TARGET/debug/examples/hub_mx" --out "$TMP/out" --invoices 200)
last=$(echo "$out" | tail -1)
echo "$last" | grep -qE '^invoices=200 stamped=197 pagos=[1-9][0-9]* egresos=6 cancelled=2 double_stamps=0 lost=0 erp_uuid_missing=0 total_mismatch=0 tfd_invalid=0$' \
  || fail "hub_mx: $last"
echo "$out" | grep -qE '^killed the child process after [1-9][0-9]* of 195 invoices stamped' \
  || fail "hub_mx: the child was not killed mid-run"
echo "$out" | grep -q "awaiting the receptor's acceptance" || fail "hub_mx: no acceptance-pending state in the sync log"

cp -r $F/sat "$TMP/sat"
cp cfdi/data/catCFDI.xsd "$TMP/sat/www.sat.gob.mx/sitio_internet/cfd/catalogos/catCFDI.xsd"
XSLT="$TMP/sat/www.sat.gob.mx/sitio_internet/cfd/4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt"
TFD_XSLT="$TMP/sat/www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/cadenaoriginal_TFD_1_1.xslt"
openssl x509 -inform DER -in $F/csd/EKU9003173C9.cer -pubkey -noout > "$TMP/pub.pem"
openssl x509 -inform DER -in $F/csd/XIA190128J61.cer -pubkey -noout > "$TMP/pac.pem"

count=0
for x in "$TMP"/out/*/*.xml; do
  n=${x#"$TMP/out/"}
  xmllint --noout --nonet --schema "$TMP/sat/cfdi40-with-complements.xsd" "$x" 2>"$TMP/err" || { cat "$TMP/err"; fail "xmllint $n"; }
  xsltproc "$XSLT" "$x" 2>/dev/null > "$TMP/xslt.txt"
  "$CFDI" cadena "$x" > "$TMP/ours.txt"
  cmp -s "$TMP/xslt.txt" "$TMP/ours.txt" || fail "cadena of $n differs from xsltproc"
  xmllint --xpath 'string(/*/@Sello)' "$x" | base64 -d > "$TMP/sig.bin"
  openssl dgst -sha256 -verify "$TMP/pub.pem" -signature "$TMP/sig.bin" "$TMP/ours.txt" >/dev/null || fail "Sello of $n"
  xmllint --xpath '//*[local-name()="TimbreFiscalDigital"]' "$x" \
    | sed 's#<tfd:TimbreFiscalDigital #<tfd:TimbreFiscalDigital xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" #' > "$TMP/tfd.xml"
  xsltproc "$TFD_XSLT" "$TMP/tfd.xml" 2>/dev/null > "$TMP/tfd.txt"
  [ -s "$TMP/tfd.txt" ] || fail "no TFD cadena for $n"
  xmllint --xpath 'string(//*[local-name()="TimbreFiscalDigital"]/@SelloSAT)' "$x" | base64 -d > "$TMP/sat.bin"
  openssl dgst -sha256 -verify "$TMP/pac.pem" -signature "$TMP/sat.bin" "$TMP/tfd.txt" >/dev/null || fail "SelloSAT of $n"
  "$CFDI" validate "$x" > "$TMP/findings.jsonl" || { cat "$TMP/findings.jsonl"; fail "validate $n"; }
  count=$((count + 1))
done
[ "$count" -ge 300 ] || fail "expected at least 300 stamped XMLs, got $count"
g="$TMP/out/norte/invoice-NFGLOBAL-20261201.xml"
[ -f "$g" ] || fail "no global invoice XML"
[ "$(xmllint --xpath 'string(//*[local-name()="InformacionGlobal"]/@Periodicidad)' "$g")" = 01 ] || fail "global: Periodicidad"
[ "$(xmllint --xpath 'string(//*[local-name()="Receptor"]/@Rfc)' "$g")" = XAXX010101000 ] || fail "global: receptor"
[ "$(xmllint --xpath 'count(//*[local-name()="Concepto"][@ClaveProdServ="01010101"][@ClaveUnidad="ACT"])' "$g")" -ge 4 ] \
  || fail "global: conceptos"
grep -q 'TipoRelacion="04"' "$TMP/out/sur/invoice-SFsur-inv-5r.xml" || fail "reissue without CfdiRelacionados 04"
echo "hub_mx: $count stamped XMLs OK ($last)"
