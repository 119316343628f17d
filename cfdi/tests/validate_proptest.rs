//! Property tests for `validate`: it never panics, whatever the amounts and codes, and it accepts documents whose
//! totals are computed the SAT way.

use cfdi::model::{Complemento, Comprobante, Concepto, ConceptoImpuestos, Traslado};
use cfdi::validate::{Severity, validate};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

fn load(name: &str) -> Comprobante {
    let path = format!(
        "{}/tests/fixtures/samples/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    cfdi::parse(&std::fs::read(path).expect("sample")).expect("sample parses")
}

/// Any `Decimal`, including the extremes of its range and every scale.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
    ]
}

fn any_code() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9A-Z]{0,4}",
        Just("XXX".to_owned()),
        Just("MXN".to_owned()),
        Just("Exento".to_owned()),
        ".{0,12}",
    ]
}

fn pagos_mut(c: &mut Comprobante) -> Option<&mut cfdi::model::Pagos> {
    c.complemento.iter_mut().flatten().find_map(|k| match k {
        Complemento::Pagos(p) => Some(&mut **p),
        _ => None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_amounts(v in proptest::collection::vec(any_decimal(), 24)) {
        let at = |i: usize| v.get(i).copied().unwrap_or_default();
        for name in ["satcfdi-ingreso-iva16-ret-stamped", "cfdiutils-pago20-valid"] {
            let mut c = load(name);
            c.sub_total = at(0);
            c.total = at(1);
            c.descuento = Some(at(2));
            c.tipo_cambio = Some(at(3));
            for k in &mut c.conceptos {
                k.cantidad = at(4);
                k.valor_unitario = at(5);
                k.importe = at(6);
                k.descuento = Some(at(7));
                if let Some(imp) = &mut k.impuestos {
                    for t in &mut imp.traslados {
                        t.base = at(8);
                        t.tasa_o_cuota = Some(at(9));
                        t.importe = Some(at(10));
                    }
                    for r in &mut imp.retenciones {
                        r.base = at(11);
                        r.tasa_o_cuota = at(12);
                        r.importe = at(13);
                    }
                }
            }
            if let Some(i) = &mut c.impuestos {
                i.total_impuestos_retenidos = Some(at(14));
                i.total_impuestos_trasladados = Some(at(15));
                for t in &mut i.traslados {
                    t.base = at(16);
                    t.importe = Some(at(17));
                }
            }
            if let Some(p) = pagos_mut(&mut c) {
                p.totales.monto_total_pagos = at(18);
                for pago in &mut p.pagos {
                    pago.monto = at(19);
                    pago.tipo_cambio_p = Some(at(20));
                    for d in &mut pago.doctos_relacionados {
                        d.equivalencia_dr = Some(at(21));
                        d.imp_saldo_ant = at(22);
                        d.imp_pagado = at(23);
                    }
                }
            }
            let _ = validate(&c);
        }
    }

    #[test]
    fn never_panics_on_arbitrary_codes(s in proptest::collection::vec(any_code(), 16)) {
        let at = |i: usize| s.get(i).cloned().unwrap_or_default();
        for name in ["satcfdi-sat-ejemplo-signed-tfd", "satcfdi-pagos20-all"] {
            let mut c = load(name);
            c.fecha = at(0);
            c.moneda = at(1);
            c.tipo_de_comprobante = at(2);
            c.forma_pago = Some(at(3));
            c.metodo_pago = Some(at(4));
            c.lugar_expedicion = at(5);
            c.emisor.rfc = at(6);
            c.receptor.rfc = at(7);
            c.receptor.uso_cfdi = at(8);
            c.receptor.regimen_fiscal_receptor = at(9);
            if let Some(ig) = &mut c.informacion_global {
                ig.anio = at(10);
                ig.meses = at(11);
                ig.periodicidad = at(12);
            }
            for k in &mut c.conceptos {
                k.clave_prod_serv = at(13);
                k.objeto_imp = at(14);
                if let Some(imp) = &mut k.impuestos {
                    for t in &mut imp.traslados {
                        t.tipo_factor = at(15);
                    }
                }
            }
            let _ = validate(&c);
        }
    }

    /// Conceptos with random quantities, prices, discounts and IVA 16 % / 8 % / 0 %, totals computed as the SAT
    /// describes (Importe = Cantidad × ValorUnitario, tax = Base × Tasa, rounded half up to 2 decimals; comprobante
    /// rows grouped by rate): `validate` reports no error.
    #[test]
    fn accepts_documents_computed_the_sat_way(
        lines in proptest::collection::vec(
            (1i64..=100_000, 0u32..=3, 1i64..=10_000_000, 2u32..=4, 0u32..=50, 0usize..3),
            1..8,
        ),
    ) {
        let round2 = |x: Decimal| x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let tasas = [Decimal::new(160_000, 6), Decimal::new(80_000, 6), Decimal::new(0, 6)];
        let mut c = load("cfdiutils-cfdi40-valid");
        let template = c.conceptos.first().cloned().unwrap_or_default();
        c.conceptos.clear();
        let mut groups: Vec<(Decimal, Decimal, Decimal)> = Vec::new(); // (tasa, Σ base, Σ importe)
        let mut sub_total = Decimal::ZERO;
        let mut descuento = Decimal::ZERO;
        for (q, qs, p, ps, pct, t) in lines {
            let cantidad = Decimal::new(q, qs);
            let valor = Decimal::new(p, ps);
            let importe = round2(cantidad * valor);
            let desc = round2(importe * Decimal::new(i64::from(pct), 2));
            let base = importe - desc;
            let tasa = tasas.get(t).copied().unwrap_or_default();
            let tax = round2(base * tasa);
            let mut k: Concepto = template.clone();
            k.cantidad = cantidad;
            k.valor_unitario = valor;
            k.importe = importe;
            k.descuento = (!desc.is_zero()).then_some(desc);
            k.objeto_imp = "02".into();
            let mut tr = Traslado::default();
            tr.base = base;
            tr.impuesto = "002".into();
            tr.tipo_factor = "Tasa".into();
            tr.tasa_o_cuota = Some(tasa);
            tr.importe = Some(tax);
            let mut imp = ConceptoImpuestos::default();
            imp.traslados.push(tr);
            k.impuestos = Some(imp);
            c.conceptos.push(k);
            sub_total += importe;
            descuento += desc;
            match groups.iter_mut().find(|g| g.0 == tasa) {
                Some(g) => { g.1 += base; g.2 += tax; }
                None => groups.push((tasa, base, tax)),
            }
        }
        let imp = c.impuestos.get_or_insert_with(Default::default);
        imp.traslados.clear();
        let mut total_tras = Decimal::ZERO;
        for (tasa, base, tax) in &groups {
            let mut tr = Traslado::default();
            tr.base = *base;
            tr.impuesto = "002".into();
            tr.tipo_factor = "Tasa".into();
            tr.tasa_o_cuota = Some(*tasa);
            tr.importe = Some(*tax);
            imp.traslados.push(tr);
            total_tras += *tax;
        }
        imp.total_impuestos_trasladados = Some(total_tras);
        c.sub_total = sub_total;
        c.descuento = (!descuento.is_zero()).then_some(descuento);
        c.total = sub_total - descuento + total_tras;
        let errors: Vec<_> = validate(&c).into_iter().filter(|f| f.severity == Severity::Error).collect();
        prop_assert!(errors.is_empty(), "{:#?}", errors);
    }
}
