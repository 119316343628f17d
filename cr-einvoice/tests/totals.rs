//! Totals engine: the summary equals the sums of the emitted (rounded) line values exactly.

use chrono::DateTime;
use cr_einvoice::totals::{Tratamiento, es_servicio, tratamiento};
use cr_einvoice::validate::Rule;
use cr_einvoice::{
    Clave, CodigoSeguridad, Comprobante, Consecutivo, Descuento, Exoneracion, Identificacion,
    Impuesto, LineaDetalle, MedioPago, OtroCargo, Parte, SchemaRevision, Situacion, TipoDocumento,
    TipoIdentificacion, Ubicacion, demo,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn base_doc(tipo: TipoDocumento) -> Comprobante {
    let fecha =
        DateTime::parse_from_rfc3339("2026-05-04T09:00:00-06:00").unwrap_or_else(|e| panic!("{e}"));
    let consecutivo = Consecutivo::new(1, 1, tipo, 7).unwrap_or_else(|e| panic!("{e}"));
    let codigo = CodigoSeguridad::from_number(12345678).unwrap_or_else(|e| panic!("{e}"));
    let clave = Clave::new(
        Clave::fecha_de(&fecha),
        "3101234567",
        consecutivo,
        Situacion::Normal,
        &codigo,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let parte = |nombre: &str, id: &str| {
        Parte::new(nombre)
            .with_identificacion(Identificacion::new(TipoIdentificacion::CedulaJuridica, id))
            .with_ubicacion(Ubicacion::new(1, 2, 3, "Frente a la escuela"))
            .with_correo("a@b.example")
    };
    let mut doc = Comprobante::new(
        clave,
        fecha,
        "3101234567",
        parte("Emisor Uno S.A.", "3101234567"),
        Some(parte("Receptor Dos", "3109876543")),
    );
    doc.codigo_actividad_emisor = Some("620100".into());
    doc
}

#[derive(Debug, Clone)]
struct LineIn {
    cantidad: Decimal,
    precio: Decimal,
    descuento: Option<Decimal>,
    tarifa: &'static str,
    exonerada: Option<Decimal>,
    servicio: bool,
    asumido: Option<Decimal>,
}

fn amount(max: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (0..max).prop_map(move |m| Decimal::new(m, scale))
}

fn line_in() -> impl Strategy<Value = LineIn> {
    (
        (1i64..5_000_000).prop_map(|m| Decimal::new(m, 3)),
        amount(10_000_000_000, 5),
        proptest::option::of(0u32..100),
        proptest::sample::select(vec!["01", "02", "03", "04", "08", "09", "10", "11"]),
        proptest::option::of(proptest::sample::select(vec![
            dec!(1),
            dec!(4),
            dec!(13),
            dec!(6.5),
        ])),
        any::<bool>(),
        proptest::option::of(amount(1_000_000, 5)),
    )
        .prop_map(
            |(cantidad, precio, pct, tarifa, exonerada, servicio, asumido)| LineIn {
                cantidad,
                precio,
                descuento: pct.map(Decimal::from),
                tarifa,
                exonerada,
                servicio,
                asumido,
            },
        )
}

fn build(tipo: TipoDocumento, lines: &[LineIn], cargo: Option<Decimal>) -> Comprobante {
    let mut doc = base_doc(tipo);
    for li in lines {
        let tarifa = cr_einvoice::codes::tarifa_iva(li.tarifa).unwrap_or_default();
        let mut iva = Impuesto::iva(li.tarifa, tarifa);
        if let Some(x) = li.exonerada {
            iva.exoneracion = Some(Exoneracion::new("01", "DOC-1", "01", doc.fecha_emision, x));
        }
        let monto_bruto = li.cantidad * li.precio;
        let descuentos = li
            .descuento
            // a percentage of the gross amount, with arbitrary precision: the engine rounds it
            .map(|pct| Descuento::new(monto_bruto * pct / dec!(100), "01"))
            .into_iter()
            .collect();
        let mut linea = LineaDetalle::new(
            if li.servicio {
                "8314100000000"
            } else {
                "2399999000000"
            },
            li.cantidad,
            if li.servicio { "Sp" } else { "Unid" },
            "Artículo de prueba",
            li.precio,
        )
        .with_impuesto(iva);
        linea.descuentos = descuentos;
        linea.impuesto_asumido_emisor_fabrica = li.asumido;
        doc.lineas.push(linea);
    }
    if let Some(m) = cargo {
        doc.otros_cargos
            .push(OtroCargo::new("06", "Servicio 10 %", m));
    }
    doc.resumen.medios_pago.push(MedioPago::new("01"));
    doc
}

fn scale_ok(d: Decimal) -> bool {
    d.normalize().scale() <= 5
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn totals_equal_sums_of_emitted_line_values(lines in proptest::collection::vec(line_in(), 1..12), cargo in proptest::option::of(amount(100_000_000, 7))) {
        let mut doc = build(TipoDocumento::FacturaElectronica, &lines, cargo);
        doc.compute_totals().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = &doc.resumen;
        let z = |d: Option<Decimal>| d.unwrap_or_default();
        // every emitted value has ≤ 5 decimals
        for l in &doc.lineas {
            for d in [l.monto_total, l.sub_total, l.base_imponible, l.impuesto_neto, l.monto_total_linea] {
                prop_assert!(scale_ok(d), "{}", d);
            }
            for i in &l.impuestos {
                prop_assert!(scale_ok(i.monto));
                if let Some(e) = &i.exoneracion { prop_assert!(scale_ok(e.monto)); prop_assert!(e.monto <= i.monto); }
            }
        }
        // independent sums over the emitted line values
        let venta: Decimal = doc.lineas.iter().map(|l| l.monto_total).sum();
        let desc: Decimal = doc.lineas.iter().flat_map(|l| &l.descuentos).map(|d| d.monto).sum();
        let neto: Decimal = doc.lineas.iter().map(|l| l.impuesto_neto).sum();
        let lineas: Decimal = doc.lineas.iter().map(|l| l.monto_total_linea).sum();
        let cargos: Decimal = doc.otros_cargos.iter().map(|c| c.monto).sum();
        prop_assert_eq!(r.total_venta, venta);
        prop_assert_eq!(z(r.total_descuentos), desc);
        prop_assert_eq!(r.total_venta_neta, venta - desc);
        prop_assert_eq!(z(r.total_impuesto), neto);
        prop_assert_eq!(z(r.total_otros_cargos), cargos);
        prop_assert_eq!(r.total_comprobante, r.total_venta_neta + neto + cargos);
        prop_assert_eq!(r.total_comprobante, lineas + cargos);
        prop_assert_eq!(z(r.total_gravado) + z(r.total_exento) + z(r.total_exonerado) + z(r.total_no_sujeto), venta);
        prop_assert_eq!(z(r.total_serv_gravados) + z(r.total_merc_gravadas), z(r.total_gravado));
        prop_assert_eq!(z(r.total_serv_exonerado) + z(r.total_merc_exonerada), z(r.total_exonerado));
        let serv: Decimal = doc.lineas.iter().filter(|l| es_servicio(l)).map(|l| l.monto_total).sum();
        prop_assert_eq!(z(r.total_serv_gravados) + z(r.total_serv_exentos) + z(r.total_serv_exonerado) + z(r.total_serv_no_sujeto), serv);
        let desglose: Decimal = r.desglose_impuestos.iter().map(|d| d.total).sum();
        let asumido: Decimal = doc.lineas.iter().filter_map(|l| l.impuesto_asumido_emisor_fabrica).sum();
        prop_assert_eq!(desglose - asumido, neto);
        for l in &doc.lineas {
            let m: Decimal = l.impuestos.iter().map(|i| i.monto).sum();
            let x: Decimal = l.impuestos.iter().filter_map(|i| i.exoneracion.as_ref()).map(|e| e.monto).sum();
            prop_assert_eq!(l.impuesto_neto, m - x - l.impuesto_asumido_emisor_fabrica.unwrap_or_default());
            prop_assert_eq!(l.monto_total_linea, l.sub_total + l.impuesto_neto);
        }
        // and the validator agrees on every formula
        let report = doc.validate();
        prop_assert!(!report.has(Rule::TotalsFormula) && !report.has(Rule::LineFormula), "{}", report);
        // a one-unit change in any total is caught
        let mut bad = doc.clone();
        bad.resumen.total_venta += Decimal::new(1, 5);
        prop_assert!(bad.validate().has(Rule::TotalsFormula));
    }
}

#[test]
fn worked_example() {
    let lines = [
        LineIn {
            cantidad: dec!(3),
            precio: dec!(333.33333),
            descuento: Some(dec!(10)),
            tarifa: "08",
            exonerada: None,
            servicio: true,
            asumido: None,
        },
        LineIn {
            cantidad: dec!(1.5),
            precio: dec!(1000),
            descuento: None,
            tarifa: "08",
            exonerada: Some(dec!(4)),
            servicio: false,
            asumido: None,
        },
        LineIn {
            cantidad: dec!(2),
            precio: dec!(500),
            descuento: None,
            tarifa: "10",
            exonerada: None,
            servicio: false,
            asumido: None,
        },
    ];
    let mut doc = build(TipoDocumento::FacturaElectronica, &lines, None);
    doc.compute_totals().unwrap_or_else(|e| panic!("{e}"));
    let l = &doc.lineas;
    assert_eq!(l[0].monto_total, dec!(999.99999));
    assert_eq!(l[0].sub_total, dec!(899.99999)); // 10 % discount of 999.99999 rounds to 100.00000
    assert_eq!(l[0].impuestos[0].monto, dec!(117.00000)); // 899.99999 × 13 % = 116.9999987
    assert_eq!(l[1].impuestos[0].monto, dec!(195.00000));
    assert_eq!(
        l[1].impuestos[0].exoneracion.as_ref().map(|e| e.monto),
        Some(dec!(60.00000))
    );
    assert_eq!(l[1].impuesto_neto, dec!(135.00000));
    assert_eq!(
        tratamiento(TipoDocumento::FacturaElectronica, &l[1]).ok(),
        Some(Tratamiento::Exonerado {
            exonerado: dec!(461.53846)
        })
    );
    let r = &doc.resumen;
    assert_eq!(r.total_serv_gravados, Some(dec!(999.99999)));
    assert_eq!(r.total_merc_exonerada, Some(dec!(461.53846)));
    assert_eq!(r.total_merc_gravadas, Some(dec!(1038.46154)));
    assert_eq!(r.total_merc_exentas, Some(dec!(1000.00000)));
    assert_eq!(r.total_venta, dec!(3499.99999));
    assert_eq!(r.total_descuentos, Some(dec!(100.00000)));
    assert_eq!(r.total_impuesto, Some(dec!(252.00000)));
    assert_eq!(r.total_comprobante, dec!(3651.99999));
    assert_eq!(r.medios_pago[0].total, Some(dec!(3651.99999)));
    assert!(!doc.validate().has_errors(), "{}", doc.validate());
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    let mut doc = base_doc(TipoDocumento::FacturaElectronica);
    let mut linea = LineaDetalle::default().with_impuesto(Impuesto::iva("08", dec!(13)));
    linea.cantidad = Decimal::MAX;
    linea.precio_unitario = Decimal::MAX;
    doc.lineas.push(linea);
    assert!(matches!(
        doc.compute_totals(),
        Err(cr_einvoice::Error::Overflow(_))
    ));
}

#[test]
fn every_demo_document_is_valid() {
    for rev in [SchemaRevision::V2024, SchemaRevision::V2026] {
        let fecha = DateTime::parse_from_rfc3339("2026-11-02T08:00:00-06:00")
            .unwrap_or_else(|e| panic!("{e}"));
        for tipo in TipoDocumento::COMPROBANTES {
            let d = demo::comprobante(tipo, rev, fecha, 9).unwrap_or_else(|e| panic!("{e}"));
            let report = d.validate();
            assert!(!report.has_errors(), "{tipo} {rev}: {report}");
        }
    }
}
