//! Shared by the hub tests (`hub_step`, `hub_bad_input`): test fixtures, the test signing key and a supplier's
//! signed FE to answer.

use std::path::PathBuf;

use cr_einvoice::keystore::SigningKey;
use secrecy::SecretString;

/// A file under `tests/fixtures`.
pub(crate) fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// A test `.p12` under `tests/fixtures` (PIN 1234).
pub(crate) fn p12(p: &str) -> SigningKey {
    SigningKey::from_pkcs12(
        &std::fs::read(fixture(p)).unwrap(),
        &SecretString::from("1234"),
    )
    .unwrap()
}

/// A supplier's FE addressed to the demo receptor, signed with the test key (not a Hacienda certificate):
/// the signed XML and its clave.
pub(crate) fn supplier_fe() -> (String, String) {
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-12-04T09:00:00-06:00").unwrap();
    let doc = cr_einvoice::demo::comprobante(
        cr_einvoice::TipoDocumento::FacturaElectronica,
        cr_einvoice::SchemaRevision::V2026,
        fecha,
        2,
    )
    .unwrap();
    let signed = doc
        .to_signed_xml(
            &p12("keys/test-aes.p12"),
            &cr_einvoice::xades::SignOptions::new(),
        )
        .unwrap();
    (
        String::from_utf8(signed).unwrap(),
        doc.clave.as_str().to_owned(),
    )
}
