//! Rules where Hacienda's texts are silent are warnings, not errors (see the `validate` module
//! documentation for the sources): servicio vs mercancía when CABYS and UnidadMedida disagree, and
//! `TotalDesgloseImpuesto` for a tax whose total is 0.

use chrono::{DateTime, FixedOffset};
use cr_einvoice::validate::{Report, Rule, Severity};
use cr_einvoice::{Comprobante, Decimal, SchemaRevision, TipoDocumento, demo};

fn fe(lineas: usize) -> Comprobante {
    let fecha: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"));
    demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha,
        lineas,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn only_warning(r: &Report, rule: Rule, path: &str) {
    assert!(!r.has_errors(), "{r}");
    assert_eq!(r.issues.len(), 1, "{r}");
    assert_eq!(r.issues[0].rule, rule, "{r}");
    assert_eq!(r.issues[0].severity, Severity::Warning, "{r}");
    assert_eq!(r.issues[0].path, path, "{r}");
}

#[test]
fn cabys_and_unit_disagreeing_is_a_warning_and_cabys_decides() {
    for (cabys, unit, servicio) in [
        ("8399000000000", "Unid", true),
        ("2399000000000", "Sp", false),
    ] {
        let mut d = fe(3);
        d.lineas[0].codigo_cabys = Some(cabys.into());
        d.lineas[0].unidad_medida = unit.into();
        d.compute_totals().unwrap_or_else(|e| panic!("{e}"));
        let r = d.validate();
        only_warning(
            &r,
            Rule::ServicioMercancia,
            "DetalleServicio/LineaDetalle[1]/UnidadMedida",
        );
        assert_eq!(r.issues[0].rule.code(), "CR-SERVICIO-MERCANCIA");
        assert!(d.to_xml().is_ok(), "a warning does not stop the writer");
        // the totals follow CABYS: the line is counted where its CABYS section puts it
        assert_eq!(cr_einvoice::totals::es_servicio(&d.lineas[0]), servicio);
    }
    // agreeing: no issue
    let mut d = fe(3);
    d.lineas[0].codigo_cabys = Some("8399000000000".into());
    d.lineas[0].unidad_medida = "Sp".into();
    d.compute_totals().unwrap_or_else(|e| panic!("{e}"));
    assert!(d.validate().issues.is_empty());
}

#[test]
fn a_zero_total_missing_from_the_desglose_is_a_warning() {
    let mut d = fe(5); // line 5 is exenta (CodigoTarifaIVA 10, Monto 0)
    let zero = d
        .resumen
        .desglose_impuestos
        .iter()
        .position(|t| t.total.is_zero())
        .unwrap_or_else(|| panic!("the demo has a zero desglose: {:?}", d.resumen));
    d.resumen.desglose_impuestos.remove(zero);
    let r = d.validate();
    only_warning(
        &r,
        Rule::DesgloseCero,
        "ResumenFactura/TotalDesgloseImpuesto",
    );
    assert!(d.to_xml().is_ok());
    // a non-zero difference stays an error
    let mut d = fe(5);
    let t = d
        .resumen
        .desglose_impuestos
        .iter_mut()
        .find(|t| !t.total.is_zero())
        .unwrap_or_else(|| panic!("non-zero desglose"));
    t.total += Decimal::ONE;
    let r = d.validate();
    assert!(
        r.has(Rule::TotalsFormula) && !r.has(Rule::DesgloseCero),
        "{r}"
    );
}

/// The quotes in the `validate` module documentation are the annotations (`xs:documentation`) of the
/// elements it names, word for word, in every schema file it cites.
#[test]
fn the_sources_quoted_in_the_validate_docs_are_exact() {
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/src/validate/mod.rs"))
        .unwrap_or_else(|e| panic!("{e}"));
    // The module documentation as one line of text.
    let doc: String = doc
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let files = [
        "v4.4-2026/FacturaElectronicaCompra_V4.4.xsd",
        "v4.4-2026/FacturaElectronicaExportacion_V4.4.xsd",
        "v4.4/FacturaElectronica_V4.4.xsd",
        "v4.4/TiqueteElectronico_V4.4.xsd",
        "v4.4/NotaCreditoElectronica_V4.4.xsd",
        "v4.4/NotaDebitoElectronica_V4.4.xsd",
    ];
    // (the chain of anchors leading to the element, its annotation)
    let quotes: [(&[&str], &str); 17] = [
        (
            &["\"ResumenFactura\"", "\"TotalServGravados\""],
            "Total de los servicios gravados con IVA",
        ),
        (
            &["\"ResumenFactura\"", "\"TotalMercanciasGravadas\""],
            "Total mercancias gravadas con IVA",
        ),
        (
            &["\"DetalleServicio\"", "\"LineaDetalle\"", "\"CodigoCABYS\""],
            "Código de Producto/servicio",
        ),
        (
            &[
                "\"DetalleServicio\"",
                "\"LineaDetalle\"",
                "\"UnidadMedida\"",
            ],
            "Unidad de medida",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"Sp\""],
            "Servicios Profesionales",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"Spe\""],
            "Servicios personales",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"St\""],
            "Servicios técnicos",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"Os\""],
            "Otro tipo de servicio",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"Al\""],
            "Alquiler de uso habitacional",
        ),
        (
            &["\"UnidadMedidaType\"", "value=\"Alc\""],
            "Alquiler de uso comercial",
        ),
        (&["\"UnidadMedidaType\"", "value=\"Cm\""], "Comisiones"),
        (&["\"UnidadMedidaType\"", "value=\"I\""], "Intereses"),
        (
            &["\"ResumenFactura\"", "\"TotalDesgloseImpuesto\""],
            "Tipo complejo que contiene los montos desglosados por impuesto cobrado en el comprobante electrónico.",
        ),
        (
            &[
                "\"ResumenFactura\"",
                "\"TotalDesgloseImpuesto\"",
                "\"Codigo\"",
            ],
            "Indicará los códigos de impuesto registrados en las líneas de detalle.",
        ),
        (
            &[
                "\"ResumenFactura\"",
                "\"TotalDesgloseImpuesto\"",
                "\"TotalMontoImpuesto\"",
            ],
            "Se obtiene de la sumatoria del monto por código de impuesto cobrado en el comprobante electrónico",
        ),
        (
            &["\"ResumenFactura\"", "\"TotalImpuesto\""],
            "Se obtiene de la suma de todos campos monto del impuesto",
        ),
        (
            &["\"ResumenFactura\"", "\"TotalDesgloseImpuesto\" minOccurs"],
            "",
        ),
    ];
    for file in files {
        let xsd = std::fs::read_to_string(format!("{root}/tests/fixtures/xsd/xsd/{file}"))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for (anchors, quote) in quotes {
            let mut at = 0;
            for a in anchors {
                let needle = if a.starts_with("value=") {
                    (*a).to_owned()
                } else {
                    format!("name={a}")
                };
                at += xsd[at..]
                    .find(&needle)
                    .unwrap_or_else(|| panic!("{file}: {anchors:?}: {needle} not found"));
            }
            if quote.is_empty() {
                // The optionality the docs state.
                let tag = &xsd[at..at + xsd[at..].find('>').unwrap_or(0)];
                assert!(
                    tag.contains("minOccurs=\"0\" maxOccurs=\"1000\""),
                    "{file}: {tag}"
                );
                continue;
            }
            let open = "<xs:documentation>";
            let start = at
                + xsd[at..]
                    .find(open)
                    .unwrap_or_else(|| panic!("{file}: {anchors:?}"))
                + open.len();
            let end = start + xsd[start..].find("</xs:documentation>").unwrap_or(0);
            assert_eq!(xsd[start..end].trim(), quote, "{file}: {anchors:?}");
            assert!(
                doc.contains(&format!("\"{quote}\"")),
                "the validate docs do not quote {quote:?} exactly"
            );
        }
    }
}
