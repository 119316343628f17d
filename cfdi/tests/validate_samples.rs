//! `validate` on the 15 peer samples in `tests/fixtures/samples` (provenance in `tests/fixtures/README.md`).
//!
//! Twelve samples have no error-level finding. Three break real SAT rules, and the test pins exactly which:
//! the satcfdi test documents were signed and stamped in SAT's *test* environment with test RFCs whose régimen
//! does not match the tipo de persona, and two satcfdi files are schema illustrations, not valid invoices.

use cfdi::validate::{Finding, Severity, validate};

fn findings(name: &str) -> Vec<Finding> {
    let path = format!(
        "{}/tests/fixtures/samples/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let xml = std::fs::read(&path).expect("sample");
    let c = cfdi::parse(&xml).expect("sample parses");
    validate(&c)
}

/// (code, path) of the error-level findings.
fn errors(name: &str) -> Vec<(&'static str, String)> {
    findings(name)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.code, f.path))
        .collect()
}

fn show(name: &str) -> String {
    findings(name)
        .iter()
        .map(|f| format!("{} {:?} {} {}", f.code, f.severity, f.path, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn valid_samples_have_no_error() {
    for name in [
        "cfdiutils-cfdi40-real",
        "cfdiutils-cfdi40-valid",
        "cfdiutils-pago20-valid",
        "cfdiutils-with-discounts-usd",
        "satcfdi-ingreso-ieps-exento-stamped",
        "satcfdi-ingreso-iva8-stamped",
    ] {
        assert!(errors(name).is_empty(), "{name}:\n{}", show(name));
    }
}

#[test]
fn satcfdi_samples_without_forma_pago_get_a_warning_only() {
    // FormaPago is optional in the schema and these I/PPD documents were stamped without it.
    let f = findings("satcfdi-ingreso-iva8-stamped");
    assert_eq!(
        f.iter().map(|f| (f.code, f.severity)).collect::<Vec<_>>(),
        [("CFDI40104", Severity::Warning)]
    );
}

/// Emisor XIQB891116QE4 (13 characters: persona física) declares RegimenFiscal 601 "General de Ley Personas
/// Morales", which c_RegimenFiscal allows only for personas morales: CFDI40141. Nothing else is wrong.
#[test]
fn persona_fisica_with_regimen_601_is_cfdi40141() {
    for name in [
        "satcfdi-ingreso-iva16-ret-stamped",
        "satcfdi-ingreso-ret-exento-stamped",
        "satcfdi-ingreso-tasa0-stamped",
        "satcfdi-iva-suma-100.05",
        "satcfdi-retenciones-suma-100.07",
        "satcfdi-pago20-parcial",
    ] {
        assert_eq!(
            errors(name),
            [("CFDI40141", "/Comprobante/Emisor/@RegimenFiscal".to_owned())],
            "{name}:\n{}",
            show(name)
        );
    }
}

/// Emisor H&E951128469 (12 characters: persona moral) declares RegimenFiscal 606 "Arrendamiento", a régimen of
/// personas físicas only: CFDI40141.
#[test]
fn persona_moral_with_regimen_606_is_cfdi40141() {
    let name = "satcfdi-pago20-stamped";
    assert_eq!(
        errors(name),
        [("CFDI40141", "/Comprobante/Emisor/@RegimenFiscal".to_owned())],
        "{}",
        show(name)
    );
}

fn codes(name: &str) -> Vec<&'static str> {
    errors(name).into_iter().map(|(c, _)| c).collect()
}

/// satcfdi's "every Pagos 2.0 node" fixture fills each attribute with a placeholder, so it breaks the rules:
/// FormaPago on a tipo P (CFDI40103), Exportacion 03 (CRP20102), RegimenFiscal 622 (personas morales) for the
/// 13-character emisor " AAA010101AAA" (CFDI40141), UsoCFDI P01, which CFDI 4.0 no longer has (CFDI40160),
/// FormaDePagoP 99 (CRP20212) with a TipoCadPago, which only SPEI (03) may carry (CRP20229), Monto 0.00 (CRP20218)
/// below the 1.00 paid (CRP20217), EquivalenciaDR 0.000001 with equal currencies (CRP20238), ImpSaldoAnt 0.00
/// (CRP20239) and so ImpSaldoInsoluto ≠ 0.00 − 1.00 (CRP20244), ImpuestosDR with ObjetoImpDR 03 (CRP20247), an
/// Exento RetencionDR (CRP20252), an Exento TrasladoDR with a rate (CRP20258), RetencionP 0.00 vs 1 / 0.000001
/// converted (CRP20265), an Exento TrasladoP with TasaOCuotaP and ImporteP (CRP20266), and no TrasladoP for the
/// TrasladoDR (CRP20268).
#[test]
fn satcfdi_pagos20_all_placeholder_document() {
    assert_eq!(
        codes("satcfdi-pagos20-all"),
        [
            "CFDI40103",
            "CRP20102",
            "CFDI40141",
            "CFDI40160",
            "CRP20212",
            "CRP20229",
            "CRP20218",
            "CRP20217",
            "CRP20238",
            "CRP20239",
            "CRP20244",
            "CRP20247",
            "CRP20252",
            "CRP20258",
            "CRP20265",
            "CRP20266",
            "CRP20268",
        ],
        "{}",
        show("satcfdi-pagos20-all")
    );
}

/// SAT's own Anexo 20 example (as signed by satcfdi) illustrates every node of the schema at once: it is a
/// tipo P with FormaPago/MetodoPago/CondicionesDePago/Descuento/Impuestos, non-zero totals in MXN,
/// InformacionGlobal for a named receptor, a persona moral emisor (AAA010101AAA) with régimen 630 of personas
/// físicas, ResidenciaFiscal MEX, IVA "Tasa" 1.600000, importes that are not Base × Tasa, and three conceptos. Each
/// of those is a SAT rejection.
#[test]
fn sat_anexo20_example_breaks_the_tipo_p_rules() {
    assert_eq!(
        codes("satcfdi-sat-ejemplo-signed-tfd"),
        [
            "CFDI40103",
            "CFDI40125",
            "CRP20107",
            "CRP20102",
            "CFDI40113",
            "CFDI40109",
            "CFDI40119",
            "CFDI40111",
            "CFDI40130",
            "CFDI40132",
            "CFDI40141",
            "CFDI40152",
            "CFDI40154",
            "CFDI40161",
            "CRP20111",
            "CRP20113",
            "CRP20115",
            "CRP20116",
            "CRP20119",
            "CRP20120",
            "CRP20123",
            "CFDI40172",
            "CFDI40179",
            "CFDI40180",
            "CFDI40186",
            "CFDI40179",
            "CFDI40180",
            "CFDI40186",
            "CFDI40172",
            "CFDI40179",
            "CFDI40180",
            "CFDI40186",
            "CFDI40201",
        ],
        "{}",
        show("satcfdi-sat-ejemplo-signed-tfd")
    );
}

#[test]
fn findings_implement_serialize() {
    // serde_json is not a dependency of sat-cfdi; quick-xml's serde serializer exercises the same derive.
    let f = findings("satcfdi-pago20-stamped");
    let first = f.first().expect("one finding");
    let xml = quick_xml::se::to_string_with_root("Finding", first).expect("serializes");
    assert!(
        xml.starts_with(
            "<Finding><code>CFDI40141</code><severity>error</severity>\
             <path>/Comprobante/Emisor/@RegimenFiscal</path><message>"
        ),
        "{xml}"
    );
}
