//! Every document the crate's writer produces (all comprobante types and MensajeReceptor, both
//! schema revisions), signed: valid against the vendored XSD *with* the signature, accepted by
//! xmlsec1 and by our verifier; one changed character makes both verifiers fail.

mod xades_util;

use std::path::PathBuf;

use chrono::DateTime;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{SchemaRevision, TipoDocumento, demo};
use secrecy::SecretString;
use xades_util::{XADES_ID_ATTRS, fixture, read_fixture, run, temp_file, xmlsec_verify};

fn schema(tipo: TipoDocumento, revision: SchemaRevision) -> PathBuf {
    let dir = match (revision, tipo) {
        (SchemaRevision::V2024, _) => "v4.4",
        (
            _,
            TipoDocumento::FacturaElectronica
            | TipoDocumento::TiqueteElectronico
            | TipoDocumento::NotaCreditoElectronica
            | TipoDocumento::NotaDebitoElectronica,
        ) => "v4.4-2026-derived",
        _ => "v4.4-2026",
    };
    fixture("xsd/xsd")
        .join(dir)
        .join(format!("{}_V4.4.xsd", tipo.root_element()))
}

fn assert_schema_valid(xml: &[u8], xsd: &std::path::Path, what: &str) {
    let f = temp_file(xml, ".xml");
    let out = run(
        "xmllint",
        &[
            "--noout",
            "--nonet",
            "--schema",
            xades_util::path_str(xsd),
            xades_util::path_str(f.path()),
        ],
    );
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn documents() -> Vec<(String, TipoDocumento, SchemaRevision, Vec<u8>)> {
    let mut docs = Vec::new();
    for (revision, fecha) in [
        (SchemaRevision::V2024, "2026-03-15T10:30:00-06:00"),
        (SchemaRevision::V2026, "2026-11-20T16:45:12-06:00"),
    ] {
        let fecha = DateTime::parse_from_rfc3339(fecha).expect("fecha");
        for tipo in TipoDocumento::COMPROBANTES {
            let doc = demo::comprobante(tipo, revision, fecha, 3)
                .unwrap_or_else(|e| panic!("{tipo}: {e}"));
            let xml = doc.to_xml().unwrap_or_else(|e| panic!("{tipo}: {e}"));
            docs.push((format!("{tipo} {revision}"), tipo, revision, xml));
        }
        let msg = demo::mensaje_receptor(revision, fecha).expect("mensaje receptor");
        let xml = msg.to_xml().expect("mensaje receptor xml");
        docs.push((
            format!("MR {revision}"),
            TipoDocumento::AceptacionReceptor,
            revision,
            xml,
        ));
    }
    docs
}

#[test]
fn signed_documents_are_schema_valid_and_verify_everywhere() {
    let key = SigningKey::from_pkcs12(
        &read_fixture("keys/test-legacy.p12"),
        &SecretString::from("1234"),
    )
    .expect("key");
    let cert = key.certificate().clone();
    for (what, tipo, revision, xml) in documents() {
        let signed =
            xades::sign(&xml, &key, &SignOptions::new()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_schema_valid(&signed, &schema(tipo, revision), &what);
        let (ok, out) = xmlsec_verify(&signed, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
        assert!(
            ok && out.contains("SignedInfo References (ok/all): 3/3"),
            "{what}: {out}"
        );
        xades::verify(&signed, Some(&cert)).unwrap_or_else(|e| panic!("{what}: {e}"));

        // change one character of the document content (the first digit of the Clave)
        let text = String::from_utf8(signed).expect("utf-8");
        let at = text.find("<Clave>").expect("Clave") + "<Clave>".len();
        let mut tampered = text.into_bytes();
        tampered[at] = if tampered[at] == b'5' { b'6' } else { b'5' };
        assert!(
            xades::verify(&tampered, Some(&cert)).is_err(),
            "{what}: tampered accepted"
        );
        let (ok, out) = xmlsec_verify(&tampered, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
        assert!(!ok, "{what}: xmlsec1 accepted a tampered document: {out}");
    }
}

/// `Otros/OtroTexto` and `OtroContenido` with the `codigo` attribute (allowed by the official 2026
/// FEC and FEE schemas): schema-valid, signed so that xmlsec1 agrees (attribute values with tabs,
/// newlines, quotes and `&` go through our writer and our C14N), and parsed back unchanged.
/// Changing one character of the attribute breaks both verifiers.
#[test]
fn otros_with_codigo_attribute_sign_verify_and_round_trip() {
    use cr_einvoice::{Comprobante, Otro};
    let key = SigningKey::from_pkcs12(
        &read_fixture("keys/test-aes.p12"),
        &SecretString::from("1234"),
    )
    .expect("key");
    let cert = key.certificate().clone();
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").expect("fecha");
    for tipo in [
        TipoDocumento::FacturaElectronicaCompra,
        TipoDocumento::FacturaElectronicaExportacion,
    ] {
        let what = format!("{tipo}");
        let mut doc = demo::comprobante(tipo, SchemaRevision::V2026, fecha, 2)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        doc.otros_texto = vec![
            Otro::new("Orden de compra 4471 & <anexo> \"A\"").with_codigo("OC\t1 & \"x\"\nz"),
            Otro::new("sin código"),
        ];
        doc.otros_contenido = vec![Otro::new("contenido  estructurado").with_codigo("CONT-1")];
        let signed = doc
            .to_signed_xml(&key, &SignOptions::new())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let text = String::from_utf8(signed.clone()).expect("utf-8");
        assert!(
            text.contains(r#"<OtroTexto codigo="OC&#x9;1 &amp; &quot;x&quot;&#xA;z">"#),
            "{what}: {text}"
        );
        assert_schema_valid(&signed, &schema(tipo, SchemaRevision::V2026), &what);
        let (ok, out) = xmlsec_verify(&signed, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
        assert!(
            ok && out.contains("SignedInfo References (ok/all): 3/3"),
            "{what}: {out}"
        );
        xades::verify(&signed, Some(&cert)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let back = Comprobante::from_xml(&signed).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(back.otros_texto, doc.otros_texto, "{what}");
        assert_eq!(back.otros_contenido, doc.otros_contenido, "{what}");

        let tampered = text.replacen("codigo=\"CONT-1\"", "codigo=\"CONT-2\"", 1);
        assert_ne!(tampered, text);
        assert!(
            xades::verify(tampered.as_bytes(), Some(&cert)).is_err(),
            "{what}: tampered codigo accepted"
        );
        let (ok, out) = xmlsec_verify(
            tampered.as_bytes(),
            &fixture("keys/cert.pem"),
            &XADES_ID_ATTRS,
        );
        assert!(!ok, "{what}: xmlsec1 accepted a tampered codigo: {out}");
    }
}
