//! Property tests: random builder input gives documents that round-trip through XML, keep their
//! cadena, satisfy the total formulas and raise no error in `validate()`.

use cfdi::build::{ComprobanteBuilder, ConceptoInput, IEPS, ISR, IVA};
use cfdi::model::{Emisor, Receptor};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Clone, Debug)]
struct Line {
    cantidad: Decimal,
    valor_unitario: Decimal,
    descuento_pct: u32,
    taxes: u8,
}

fn line() -> impl Strategy<Value = Line> {
    (
        1i64..100_000,
        0u32..=3,
        0i64..10_000_000,
        0u32..=6,
        0u32..=50,
        0u8..8,
    )
        .prop_map(|(q, qs, v, vs, d, taxes)| Line {
            cantidad: Decimal::new(q, qs),
            valor_unitario: Decimal::new(v, vs),
            descuento_pct: d,
            taxes,
        })
}

fn concepto(i: usize, l: &Line) -> ConceptoInput {
    let mut c = ConceptoInput::new(
        "01010101",
        "H87",
        format!("Concepto {i}"),
        l.cantidad,
        l.valor_unitario,
    );
    if l.descuento_pct > 0 {
        c = c.descuento(
            l.cantidad * l.valor_unitario * Decimal::new(i64::from(l.descuento_pct), 2)
                / Decimal::from(2),
        );
    }
    match l.taxes {
        0 => c.objeto_imp("01"),
        1 => c.iva(Decimal::new(16, 2)),
        2 => c.iva(Decimal::new(8, 2)),
        3 => c.iva(Decimal::ZERO),
        4 => c.iva_exento(),
        5 => c.ieps(Decimal::new(8, 2)).iva(Decimal::new(16, 2)),
        6 => c
            .iva(Decimal::new(16, 2))
            .retencion(ISR, Decimal::new(10, 2))
            .retencion(IVA, Decimal::new(106_667, 6)),
        _ => c.traslado(IEPS, cfdi::build::TipoFactor::Tasa, Decimal::new(265, 3)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn built_documents_are_consistent(lines in prop::collection::vec(line(), 1..12), usd in any::<bool>()) {
        let mut b = ComprobanteBuilder::ingreso("2026-11-20T10:00:00", "42501")
            .forma_pago("01")
            .metodo_pago("PUE")
            .emisor(Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601"))
            .receptor(Receptor::new("URE180429TM6", "UNIVERSIDAD ROBOTICA ESPAÑOLA", "86991", "601", "G03"))
            .conceptos(lines.iter().enumerate().map(|(i, l)| concepto(i, l)));
        if usd {
            b = b.moneda("USD", Some(Decimal::new(172_345, 4)));
        }
        let doc = b.build().expect("build");
        // Formulas.
        let sum: Decimal = doc.conceptos.iter().map(|c| c.importe).sum();
        prop_assert_eq!(doc.sub_total, sum);
        let imp = doc.impuestos.clone().unwrap_or_default();
        let total = doc.sub_total - doc.descuento.unwrap_or_default()
            + imp.total_impuestos_trasladados.unwrap_or_default()
            - imp.total_impuestos_retenidos.unwrap_or_default();
        prop_assert_eq!(doc.total, total);
        prop_assert_eq!(doc.total.scale(), 2);
        // Round trip and cadena.
        let xml = cfdi::to_xml(&doc);
        let again = cfdi::parse(xml.as_bytes()).expect("parse");
        prop_assert_eq!(&again, &doc);
        prop_assert_eq!(cfdi::cadena_original(&again).expect("cadena"), cfdi::cadena_original(&doc).expect("cadena"));
        // The crate's SAT rules (límites, grouping, decimals…) find no error.
        let errors: Vec<_> = cfdi::validate::validate(&doc)
            .into_iter()
            .filter(|f| f.severity == cfdi::validate::Severity::Error)
            .collect();
        prop_assert!(errors.is_empty(), "{:#?}", errors);
    }

    #[test]
    fn parser_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
        cfdi::fuzzing::parse(&data);
        cfdi::fuzzing::cadena(&data);
        cfdi::fuzzing::verify(&data);
    }

    #[test]
    fn mutated_sample_never_panics(pos in 0usize..4000, byte in any::<u8>()) {
        let mut xml = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/cfdiutils-pago20-valid.xml")).expect("sample");
        if let Some(b) = xml.get_mut(pos) {
            *b = byte;
        }
        cfdi::fuzzing::parse(&xml);
        cfdi::fuzzing::verify(&xml);
    }
}

#[test]
fn unsealed_documents_parse() {
    let xml = r#"<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" Fecha="2026-11-20T10:00:00" SubTotal="0" Moneda="XXX" Total="0" TipoDeComprobante="T" Exportacion="01" LugarExpedicion="42501"><cfdi:Emisor Rfc="EKU9003173C9" Nombre="E" RegimenFiscal="601"/><cfdi:Receptor Rfc="EKU9003173C9" Nombre="E" DomicilioFiscalReceptor="42501" RegimenFiscalReceptor="601" UsoCFDI="S01"/><cfdi:Conceptos><cfdi:Concepto ClaveProdServ="01010101" Cantidad="1" ClaveUnidad="H87" Descripcion="x" ValorUnitario="0" Importe="0" ObjetoImp="01"/></cfdi:Conceptos></cfdi:Comprobante>"#;
    let doc = cfdi::parse(xml.as_bytes()).expect("parse");
    assert!(doc.sello.is_empty() && doc.certificado.is_empty() && doc.no_certificado.is_empty());
    let e = cfdi::verify(&doc).unwrap_err();
    assert!(
        matches!(e, cfdi::Error::SealInvalid(cfdi::SealProblem::Missing)),
        "{e}"
    );
}

/// Inputs found by `cargo fuzz run cfdi_parse` (namespace declarations with character
/// references) that once broke parse → write → parse; kept as regressions.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("fuzz dir") {
        let data = std::fs::read(e.expect("entry").path()).expect("read");
        cfdi::fuzzing::parse(&data);
        cfdi::fuzzing::cadena(&data);
        cfdi::fuzzing::verify(&data);
        n += 1;
    }
    assert!(n >= 2);
}
