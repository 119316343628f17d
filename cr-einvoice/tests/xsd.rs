//! Schema checks with `xmllint --nonet --schema` against the vendored XSDs of both revisions.
//!
//! For FE, TE, NC and ND the 2026 check uses the *derived* schemas in
//! `tests/fixtures/xsd/xsd/v4.4-2026-derived/` (2024 text + the three 2026 edits, see the README
//! there); FEC, FEE, REP and MensajeReceptor use the published 2026 files.
//!
//! Signed documents (XAdES-EPES with the throwaway test key in `tests/fixtures/keys/`) must be
//! fully schema-valid; the same documents unsigned must fail with exactly one error: the missing
//! `ds:Signature` (minOccurs = 1) after the last child of the root.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::DateTime;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{Comprobante, Documento, SchemaRevision, TipoDocumento, demo, parse};
use secrecy::SecretString;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xsd/xsd")
}

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
    fixtures()
        .join(dir)
        .join(format!("{}_V4.4.xsd", tipo.root_element()))
}

/// Runs xmllint; returns the schema validity error lines.
fn xmllint(xml: &[u8], xsd: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap_or_else(|e| panic!("write: {e}"));
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(xsd)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint must be installed (scripts/test.sh installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("failed to compile"),
        "schema did not compile: {stderr}"
    );
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        out.status.success(),
        errors.is_empty(),
        "status/output disagree: {stderr}"
    );
    errors
}

/// The unsigned document must fail with exactly one error: the root element is missing a child
/// *after* all of its children matched the content model, i.e. the trailing `ds:Signature`.
/// (libxml2 lists the expected elements inconsistently for counted particles — sometimes only
/// `InformacionReferencia` — so the check is on the error's element and kind.)
fn assert_only_signature_missing(errors: &[String], root: &str, what: &str) {
    assert_eq!(
        errors.len(),
        1,
        "{what}: expected only the missing signature, got {errors:#?}"
    );
    let e = &errors[0];
    let at_root = format!("element {root}: Schemas validity error : Element '{{");
    assert!(
        e.contains(&at_root) && e.contains(&format!("}}{root}': Missing child element(s)")),
        "{what}: {e}"
    );
}

fn fecha(revision: SchemaRevision) -> DateTime<chrono::FixedOffset> {
    let s = match revision {
        SchemaRevision::V2024 => "2026-03-15T10:30:00-06:00",
        _ => "2026-11-20T16:45:12-06:00",
    };
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
}

const REVISIONS: [SchemaRevision; 2] = [SchemaRevision::V2024, SchemaRevision::V2026];

#[test]
fn every_comprobante_type_is_schema_valid_in_both_revisions() {
    for revision in REVISIONS {
        for tipo in TipoDocumento::COMPROBANTES {
            for lineas in [1, 7] {
                let doc = demo::comprobante(tipo, revision, fecha(revision), lineas)
                    .unwrap_or_else(|e| panic!("{tipo} {revision}: {e}"));
                let xml = doc
                    .to_xml()
                    .unwrap_or_else(|e| panic!("{tipo} {revision}: {e}"));
                let errors = xmllint(&xml, &schema(tipo, revision));
                assert_only_signature_missing(
                    &errors,
                    tipo.root_element(),
                    &format!("{tipo} {revision} {lineas} lines"),
                );
            }
        }
    }
}

#[test]
fn mensaje_receptor_is_schema_valid_in_both_revisions() {
    for revision in REVISIONS {
        let msg =
            demo::mensaje_receptor(revision, fecha(revision)).unwrap_or_else(|e| panic!("{e}"));
        let xml = msg.to_xml().unwrap_or_else(|e| panic!("{e}"));
        let errors = xmllint(&xml, &schema(TipoDocumento::AceptacionReceptor, revision));
        assert_only_signature_missing(&errors, "MensajeReceptor", &format!("MR {revision}"));
    }
}

#[test]
fn codigo_referencia_17_passes_only_the_2026_rep_schema() {
    // demo REP under 2026 uses CodigoReferencia 17; the 2024 schema must reject that document.
    let doc = demo::comprobante(
        TipoDocumento::ReciboElectronicoPago,
        SchemaRevision::V2026,
        fecha(SchemaRevision::V2026),
        2,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let xml = doc.to_xml().unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&xml).contains("<Codigo>17</Codigo>"));
    assert_only_signature_missing(
        &xmllint(
            &xml,
            &schema(TipoDocumento::ReciboElectronicoPago, SchemaRevision::V2026),
        ),
        "ReciboElectronicoPago",
        "REP 2026",
    );
    let errors = xmllint(
        &xml,
        &schema(TipoDocumento::ReciboElectronicoPago, SchemaRevision::V2024),
    );
    assert!(
        errors.iter().any(|e| e.contains("'17'")),
        "2024 schema must reject Codigo 17: {errors:#?}"
    );
    // and our own validator refuses it under 2024
    let mut old = doc.clone();
    old.revision = SchemaRevision::V2024;
    assert!(old.validate().has(cr_einvoice::validate::Rule::Referencia));
}

#[test]
fn the_oracle_detects_a_broken_document() {
    let doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha(SchemaRevision::V2024),
        2,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let xml = String::from_utf8(doc.to_xml().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
    let broken = xml.replacen(
        "<CodigoCABYS>8314100000000</CodigoCABYS>",
        "<CodigoCABYS>831410000000</CodigoCABYS>",
        1,
    );
    assert_ne!(broken, xml);
    let errors = xmllint(
        broken.as_bytes(),
        &schema(TipoDocumento::FacturaElectronica, SchemaRevision::V2024),
    );
    assert!(
        errors.iter().any(|e| e.contains("CodigoCABYS")),
        "{errors:#?}"
    );
}

fn key() -> SigningKey {
    let p12 = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys/test-aes.p12"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    SigningKey::from_pkcs12(&p12, &SecretString::from("1234")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn signed_documents_of_every_type_are_fully_schema_valid_in_both_revisions() {
    let key = key();
    let opts = SignOptions::new();
    for revision in REVISIONS {
        for tipo in TipoDocumento::COMPROBANTES {
            for lineas in [1, 7] {
                let what = format!("{tipo} {revision} {lineas} lines");
                let doc = demo::comprobante(tipo, revision, fecha(revision), lineas)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let signed = doc
                    .to_signed_xml(&key, &opts)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let errors = xmllint(&signed, &schema(tipo, revision));
                assert!(errors.is_empty(), "{what}: {errors:#?}");
                xades::verify(&signed, Some(key.certificate()))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                // the signed bytes still parse to the same model (the signature is skipped)
                let back = parse::documento_with_revision(&signed, Some(revision))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(back, Documento::Comprobante(Box::new(doc)), "{what}");
            }
        }
        let msg =
            demo::mensaje_receptor(revision, fecha(revision)).unwrap_or_else(|e| panic!("{e}"));
        let signed = msg
            .to_signed_xml(&key, &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        let errors = xmllint(
            &signed,
            &schema(TipoDocumento::AceptacionReceptor, revision),
        );
        assert!(errors.is_empty(), "MR {revision}: {errors:#?}");
        xades::verify(&signed, Some(key.certificate()))
            .unwrap_or_else(|e| panic!("MR {revision}: {e}"));
    }
}

#[test]
fn signing_an_already_signed_document_is_a_typed_error() {
    let key = key();
    let doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha(SchemaRevision::V2024),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let signed = doc
        .to_signed_xml(&key, &SignOptions::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let err = xades::sign(&signed, &key, &SignOptions::new()).map_err(cr_einvoice::Error::from);
    assert!(
        matches!(err, Err(ref e) if e.kind() == cr_einvoice::ErrorKind::Signature),
        "{err:?}"
    );
    // a signed document whose content is changed no longer verifies, although it still parses
    let text = String::from_utf8(signed).unwrap_or_default();
    let tampered = text.replacen("Cliente Demo", "Cliente Dema", 1);
    assert!(Comprobante::from_xml(tampered.as_bytes()).is_ok());
    assert!(xades::verify(tampered.as_bytes(), Some(key.certificate())).is_err());
}

#[test]
fn alphanumeric_clave_and_ids_pass_the_official_2026_schemas_only() {
    // FEE and REP: the official 2026 texts (no pattern on Identificacion/Numero, ClaveType
    // [a-zA-Z0-9]{50}); the same documents break ClaveType \d{50} of the 2024 schemas.
    let key = key();
    let revision = SchemaRevision::V2026;
    for tipo in [
        TipoDocumento::FacturaElectronicaExportacion,
        TipoDocumento::ReciboElectronicoPago,
    ] {
        let mut doc =
            demo::comprobante(tipo, revision, fecha(revision), 2).unwrap_or_else(|e| panic!("{e}"));
        let cedula = "3101ABC567";
        if let Some(id) = doc.emisor.identificacion.as_mut() {
            id.numero = cedula.to_owned();
        }
        let codigo: cr_einvoice::CodigoSeguridad =
            "Zx81Qa07".parse().unwrap_or_else(|e| panic!("{e}"));
        doc.clave = cr_einvoice::Clave::new(
            cr_einvoice::Clave::fecha_de(&doc.fecha_emision),
            cedula,
            *doc.clave.consecutivo(),
            cr_einvoice::Situacion::Normal,
            &codigo,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!doc.clave.is_numeric());
        let signed = doc
            .to_signed_xml(&key, &SignOptions::new())
            .unwrap_or_else(|e| panic!("{tipo}: {e}"));
        assert!(
            xmllint(&signed, &schema(tipo, revision)).is_empty(),
            "{tipo}"
        );
        let old = xmllint(&signed, &schema(tipo, SchemaRevision::V2024));
        assert!(old.iter().any(|e| e.contains("Clave")), "{tipo}: {old:#?}");
        // and our validator refuses the same document under 2024
        let mut as_2024 = doc.clone();
        as_2024.revision = SchemaRevision::V2024;
        let report = as_2024.validate();
        assert!(
            report.has(cr_einvoice::validate::Rule::ClaveRevision),
            "{report}"
        );
        assert!(
            report.has(cr_einvoice::validate::Rule::Identificacion),
            "{report}"
        );
    }
}

#[test]
fn specific_tax_with_unit_data_is_written_parsed_and_schema_valid() {
    use cr_einvoice::{DatosImpuestoEspecifico, Impuesto};
    use rust_decimal::Decimal;
    let key = key();
    for revision in REVISIONS {
        let mut doc = demo::comprobante(
            TipoDocumento::FacturaElectronica,
            revision,
            fecha(revision),
            1,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let line = &mut doc.lineas[0];
        // impuesto específico de bebidas alcohólicas (04): 12 units × 0.75 l at 15.5 % alcohol
        let mut datos =
            DatosImpuestoEspecifico::new(Decimal::new(1200, 2), Decimal::new(12_345, 1));
        datos.porcentaje = Some(Decimal::new(1550, 2));
        datos.volumen_unidad_consumo = Some(Decimal::new(75, 2));
        line.impuestos.insert(
            0,
            Impuesto::new("04")
                .with_datos_impuesto_especifico(datos)
                .with_monto(Decimal::new(14_814, 0)),
        );
        doc.compute_totals().unwrap_or_else(|e| panic!("{e}"));
        let l = &doc.lineas[0];
        assert_eq!(
            l.base_imponible,
            l.sub_total + Decimal::new(14_814, 0),
            "specific tax is part of the IVA base"
        );
        let signed = doc
            .to_signed_xml(&key, &SignOptions::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let errors = xmllint(
            &signed,
            &schema(TipoDocumento::FacturaElectronica, revision),
        );
        assert!(errors.is_empty(), "{revision}: {errors:#?}");
        let back = Comprobante::from_xml(&signed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.lineas[0].impuestos[0], doc.lineas[0].impuestos[0]);
    }
}

#[test]
fn combo_lines_with_detalle_surtido_are_schema_valid_and_round_trip() {
    use cr_einvoice::{CodigoComercial, Descuento, Impuesto, LineaDetalleSurtido};
    use rust_decimal::Decimal;
    let key = key();
    let componente = |cabys: &str, detalle: &str, precio: i64, tarifa: &str| {
        LineaDetalleSurtido::new(
            cabys,
            Decimal::new(2, 0),
            "Unid",
            detalle,
            Decimal::new(precio, 2),
        )
        .with_codigo_comercial(CodigoComercial::new("01", "SKU-1"))
        .with_descuento(Descuento::new(Decimal::new(100, 2), "06"))
        .with_impuesto(Impuesto::iva(
            tarifa,
            cr_einvoice::codes::tarifa_iva(tarifa).unwrap_or_default(),
        ))
    };
    for revision in REVISIONS {
        for tipo in [
            TipoDocumento::FacturaElectronica,
            TipoDocumento::TiqueteElectronico,
            TipoDocumento::NotaCreditoElectronica,
            TipoDocumento::NotaDebitoElectronica,
            TipoDocumento::FacturaElectronicaExportacion,
        ] {
            let what = format!("{tipo} {revision}");
            let mut doc = demo::comprobante(tipo, revision, fecha(revision), 2)
                .unwrap_or_else(|e| panic!("{e}"));
            doc.lineas[1].surtido = vec![
                componente("2399999000000", "Canasta: café molido", 450_050, "04"),
                componente(
                    "2399999000001",
                    "Canasta: taza de cerámica",
                    1_200_000,
                    "08",
                ),
            ];
            doc.compute_totals()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let c = &doc.lineas[1].surtido[0];
            assert_eq!(c.monto_total, Decimal::new(9_001, 0));
            assert_eq!(c.sub_total, Decimal::new(9_000, 0));
            assert_eq!(
                c.impuestos[0].monto,
                Decimal::new(360, 0),
                "{what}: 4 % of 9000"
            );
            let signed = doc
                .to_signed_xml(&key, &SignOptions::new())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let errors = xmllint(&signed, &schema(tipo, revision));
            assert!(errors.is_empty(), "{what}: {errors:#?}");
            let back = Comprobante::from_xml(&signed).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(back.lineas, doc.lineas, "{what}");
        }
    }
    // FEC has no DetalleSurtido: validation refuses it
    let mut fec = demo::comprobante(
        TipoDocumento::FacturaElectronicaCompra,
        SchemaRevision::V2024,
        fecha(SchemaRevision::V2024),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fec.lineas[0].surtido = vec![componente("2399999000000", "Componente", 100, "08")];
    fec.compute_totals().unwrap_or_else(|e| panic!("{e}"));
    assert!(fec.validate().has(cr_einvoice::validate::Rule::NotAllowed));
}
