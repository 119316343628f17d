//! Random documents: computed totals → writer → parser gives the same model and the same bytes;
//! a sample of them, signed, is schema-valid (xmllint) in both revisions.

use std::path::Path;
use std::process::Command;

use chrono::DateTime;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::SignOptions;
use cr_einvoice::{
    Comprobante, Descuento, Documento, Exoneracion, Impuesto, LineaDetalle, SchemaRevision,
    TipoDocumento, demo, parse,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
struct LineIn {
    cantidad: Decimal,
    precio: Decimal,
    descuento_pct: Option<u32>,
    tarifa: &'static str,
    exonerada: Option<Decimal>,
    servicio: bool,
    detalle: String,
}

fn line_in() -> impl Strategy<Value = LineIn> {
    (
        (1i64..9_999_999_999).prop_map(|m| Decimal::new(m, 3)),
        (0i64..99_999_999_999).prop_map(|m| Decimal::new(m, 5)),
        proptest::option::of(1u32..100),
        proptest::sample::select(vec![
            "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
        ]),
        proptest::option::of(proptest::sample::select(vec![
            Decimal::new(1, 0),
            Decimal::new(13, 0),
            Decimal::new(65, 1),
        ])),
        any::<bool>(),
        "[a-zA-Z0-9áéíóúñÑ&<>\"' ]{3,60}",
    )
        .prop_map(
            |(cantidad, precio, descuento_pct, tarifa, exonerada, servicio, detalle)| LineIn {
                cantidad,
                precio,
                descuento_pct,
                tarifa,
                exonerada,
                servicio,
                detalle,
            },
        )
}

fn tipo() -> impl Strategy<Value = TipoDocumento> {
    proptest::sample::select(vec![
        TipoDocumento::FacturaElectronica,
        TipoDocumento::TiqueteElectronico,
        TipoDocumento::NotaCreditoElectronica,
        TipoDocumento::NotaDebitoElectronica,
        TipoDocumento::FacturaElectronicaCompra,
    ])
}

fn build(tipo: TipoDocumento, rev: SchemaRevision, lines: &[LineIn]) -> Comprobante {
    let fecha = DateTime::parse_from_rfc3339(match rev {
        SchemaRevision::V2024 => "2026-06-30T23:59:59-06:00",
        _ => "2026-11-01T00:00:00-06:00",
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut doc = demo::comprobante(tipo, rev, fecha, 1).unwrap_or_else(|e| panic!("{e}"));
    doc.lineas = lines
        .iter()
        .map(|li| {
            let tarifa = cr_einvoice::codes::tarifa_iva(li.tarifa).unwrap_or_default();
            let mut iva = Impuesto::iva(li.tarifa, tarifa);
            iva.exoneracion = li.exonerada.map(|x| {
                Exoneracion::new("08", "ZF-123", "04", fecha, x).with_articulo(20, Some(3))
            });
            let mut linea = LineaDetalle::new(
                if li.servicio {
                    "8314100000000"
                } else {
                    "2399999000000"
                },
                li.cantidad,
                if li.servicio { "Sp" } else { "Unid" },
                li.detalle.clone(),
                li.precio,
            )
            .with_impuesto(iva);
            if let Some(p) = li.descuento_pct {
                let monto = li.cantidad * li.precio * Decimal::from(p) / Decimal::ONE_HUNDRED;
                linea =
                    linea.with_descuento(Descuento::new(monto, "07").with_naturaleza("Promoción"));
            }
            linea
        })
        .collect();
    doc.compute_totals().unwrap_or_else(|e| panic!("{e}"));
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn write_parse_round_trip(tipo in tipo(), v2026 in any::<bool>(), lines in proptest::collection::vec(line_in(), 1..8)) {
        let rev = if v2026 { SchemaRevision::V2026 } else { SchemaRevision::V2024 };
        let doc = build(tipo, rev, &lines);
        let report = doc.validate();
        // random inputs may exceed the schema's ranges; then the writer must refuse, not emit
        if report.has_errors() {
            prop_assert!(matches!(doc.to_xml(), Err(cr_einvoice::Error::Invalid(_))));
            return Ok(());
        }
        let xml = doc.to_xml().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = parse::documento_with_revision(&xml, Some(rev)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &Documento::Comprobante(Box::new(doc.clone())));
        if let Documento::Comprobante(c) = back {
            prop_assert_eq!(c.to_xml().map_err(|e| TestCaseError::fail(e.to_string()))?, xml);
        }
    }
}

fn xsd(tipo: TipoDocumento, rev: SchemaRevision) -> std::path::PathBuf {
    let dir = match (rev, tipo) {
        (SchemaRevision::V2024, _) => "v4.4",
        (_, TipoDocumento::FacturaElectronicaCompra) => "v4.4-2026",
        _ => "v4.4-2026-derived",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xsd/xsd")
        .join(dir)
        .join(format!("{}_V4.4.xsd", tipo.root_element()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_signed_documents_are_schema_valid(tipo in tipo(), v2026 in any::<bool>(), lines in proptest::collection::vec(line_in(), 1..6)) {
        let rev = if v2026 { SchemaRevision::V2026 } else { SchemaRevision::V2024 };
        let doc = build(tipo, rev, &lines);
        prop_assume!(!doc.validate().has_errors());
        let p12 = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys/test-aes.p12"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let key = SigningKey::from_pkcs12(&p12, &secrecy::SecretString::from("1234"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let signed = doc.to_signed_xml(&key, &SignOptions::new()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let file = dir.path().join("doc.xml");
        std::fs::write(&file, &signed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(xsd(tipo, rev))
            .arg(&file)
            .output()
            .map_err(|e| TestCaseError::fail(format!("xmllint: {e}")))?;
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
