//! One mutation per rule: start from a sample with no error-level finding, break one rule, and check that its SAT
//! code is reported as an error.

use cfdi::model::{
    CfdiRelacionados, Complemento, Comprobante, ConceptoImpuestos, ImpuestoDr, Impuestos,
    ImpuestosDr, InformacionGlobal, Pagos, Parte, Retencion, RetencionP, RetencionTotal, Traslado,
};
use cfdi::validate::{Options, Severity, validate, validate_with};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

fn load(name: &str) -> Comprobante {
    let path = format!(
        "{}/tests/fixtures/samples/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    cfdi::parse(&std::fs::read(path).expect("sample")).expect("sample parses")
}

fn error_codes(c: &Comprobante) -> Vec<&'static str> {
    validate(c)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect()
}

fn clean(c: Comprobante) -> Comprobante {
    assert_eq!(
        error_codes(&c),
        Vec::<&str>::new(),
        "baseline must be clean"
    );
    c
}

/// Ingreso in MXN, PUE, one concepto with Descuento and IVA 16 % (CfdiUtils sample).
fn ingreso() -> Comprobante {
    clean(load("cfdiutils-cfdi40-valid"))
}

/// Ingreso in USD with TipoCambio (CfdiUtils sample).
fn usd() -> Comprobante {
    clean(load("cfdiutils-with-discounts-usd"))
}

/// Ingreso with IVA 16 % and retenciones ISR 10 % / IVA 2/3 (satcfdi sample). The sample's persona física emisor
/// declares régimen 601 (personas morales, CFDI40141); 612 makes the baseline clean.
fn retenciones() -> Comprobante {
    let mut c = load("satcfdi-ingreso-iva16-ret-stamped");
    c.emisor.regimen_fiscal = "612".into();
    clean(c)
}

/// Tipo P with Pagos 2.0: two documents, IVA 16 % (CfdiUtils sample).
fn pago() -> Comprobante {
    clean(load("cfdiutils-pago20-valid"))
}

/// The ingreso turned into a factura global to público en general.
fn global() -> Comprobante {
    let mut c = load("cfdiutils-cfdi40-valid");
    c.receptor.rfc = "XAXX010101000".into();
    c.receptor.nombre = "PUBLICO EN GENERAL".into();
    c.receptor.regimen_fiscal_receptor = "616".into();
    c.receptor.uso_cfdi = "S01".into();
    c.receptor.domicilio_fiscal_receptor = c.lugar_expedicion.clone();
    let mut ig = InformacionGlobal::default();
    ig.periodicidad = "01".into();
    ig.meses = "02".into();
    ig.anio = "2025".into();
    c.informacion_global = Some(ig);
    clean(c)
}

fn pagos_mut(c: &mut Comprobante) -> &mut Pagos {
    c.complemento
        .iter_mut()
        .flatten()
        .find_map(|k| match k {
            Complemento::Pagos(p) => Some(&mut **p),
            _ => None,
        })
        .expect("Pagos complement")
}

fn concepto_impuestos(c: &mut Comprobante) -> &mut ConceptoImpuestos {
    c.conceptos[0]
        .impuestos
        .as_mut()
        .expect("concepto impuestos")
}

fn impuestos(c: &mut Comprobante) -> &mut Impuestos {
    c.impuestos.as_mut().expect("comprobante impuestos")
}

fn assert_code(c: &Comprobante, code: &str) {
    let all = validate(c);
    assert!(
        all.iter()
            .any(|f| f.code == code && f.severity == Severity::Error),
        "expected {code}; got:\n{}",
        all.iter()
            .map(|f| format!("{} {:?} {} {}", f.code, f.severity, f.path, f.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `rule!(test_name, base_fn, "CODE", |c| mutation);`
macro_rules! rule {
    ($name:ident, $base:ident, $code:literal, |$c:ident| $body:block) => {
        #[test]
        fn $name() {
            let mut $c = $base();
            $body
            assert_code(&$c, $code);
        }
    };
}

// ---- Comprobante ----
rule!(fecha_pattern, ingreso, "CFDI40101", |c| {
    c.fecha = "2025-02-19 08:32:29".into();
});
rule!(forma_pago_on_p, pago, "CFDI40103", |c| {
    c.forma_pago = Some("03".into());
});
rule!(forma_pago_catalog, ingreso, "CFDI40104", |c| {
    c.forma_pago = Some("07".into());
});
rule!(ppd_requires_99, ingreso, "CFDI40105", |c| {
    c.metodo_pago = Some("PPD".into());
});
rule!(subtotal_decimals, ingreso, "CFDI40107", |c| {
    c.sub_total = d("3824.150");
});
rule!(subtotal_sum, ingreso, "CFDI40108", |c| {
    c.sub_total = d("3824.16");
    c.total = d("3327.02");
});
rule!(subtotal_zero_for_p, pago, "CFDI40109", |c| {
    c.sub_total = d("1");
});
rule!(descuento_over_subtotal, ingreso, "CFDI40110", |c| {
    c.descuento = Some(d("3824.16"));
});
rule!(descuento_not_sum_of_conceptos, ingreso, "CFDI40110", |c| {
    c.descuento = Some(d("956.03"));
    c.total = d("3327.02");
});
rule!(descuento_only_i_e_n, pago, "CFDI40111", |c| {
    c.conceptos[0].descuento = Some(d("0"));
});
rule!(descuento_decimals, ingreso, "CFDI40112", |c| {
    c.descuento = Some(d("956.040"));
});
rule!(moneda_catalog, ingreso, "CFDI40113", |c| {
    c.moneda = "MXP".into();
});
rule!(moneda_xxx_for_p, pago, "CFDI40113", |c| {
    c.moneda = "MXN".into();
});
rule!(tipo_cambio_mxn, ingreso, "CFDI40114", |c| {
    c.tipo_cambio = Some(d("1.5"));
});
rule!(tipo_cambio_required, usd, "CFDI40115", |c| {
    c.tipo_cambio = None;
});
rule!(tipo_cambio_xxx, pago, "CFDI40116", |c| {
    c.tipo_cambio = Some(d("1"));
});
rule!(tipo_cambio_pattern, usd, "CFDI40117", |c| {
    c.tipo_cambio = Some(d("18.1234567"));
});
rule!(total_formula, ingreso, "CFDI40119", |c| {
    c.total = d("3327.02");
});
rule!(total_zero_for_p, pago, "CFDI40119", |c| {
    c.total = d("1");
});
rule!(tipo_catalog, ingreso, "CFDI40121", |c| {
    c.tipo_de_comprobante = "X".into();
});
rule!(exportacion_02_needs_cce, ingreso, "CFDI40122", |c| {
    c.exportacion = "02".into();
});
rule!(exportacion_catalog, ingreso, "CFDI40123", |c| {
    c.exportacion = "05".into();
});
rule!(metodo_pago_catalog, ingreso, "CFDI40124", |c| {
    c.metodo_pago = Some("PIP".into());
});
rule!(metodo_pago_on_p, pago, "CFDI40125", |c| {
    c.metodo_pago = Some("PUE".into());
});
rule!(lugar_expedicion_catalog, ingreso, "CFDI40126", |c| {
    c.lugar_expedicion = "19000".into();
});

#[test]
fn fecha_outside_certification_window() {
    let c = ingreso();
    let at = chrono::NaiveDate::from_ymd_opt(2025, 2, 23)
        .and_then(|d| d.and_hms_opt(8, 32, 30))
        .expect("date");
    let codes: Vec<_> = validate_with(&c, &Options::default().with_certification_time(at))
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(codes, ["CFDI40101"]);
    let inside = at - chrono::TimeDelta::days(2);
    assert!(validate_with(&c, &Options::default().with_certification_time(inside)).is_empty());
}

// ---- InformacionGlobal, CfdiRelacionados, Emisor ----
rule!(
    global_requires_informacion_global,
    global,
    "CFDI40130",
    |c| {
        c.informacion_global = None;
    }
);
rule!(
    informacion_global_only_for_publico,
    ingreso,
    "CFDI40130",
    |c| {
        let mut ig = InformacionGlobal::default();
        ig.periodicidad = "01".into();
        ig.meses = "02".into();
        ig.anio = "2025".into();
        c.informacion_global = Some(ig);
    }
);
rule!(periodicidad_catalog, global, "CFDI40131", |c| {
    c.informacion_global.as_mut().expect("ig").periodicidad = "06".into();
});
rule!(bimestral_only_regimen_621, global, "CFDI40132", |c| {
    let ig = c.informacion_global.as_mut().expect("ig");
    ig.periodicidad = "05".into();
    ig.meses = "13".into();
});
rule!(meses_catalog, global, "CFDI40133", |c| {
    c.informacion_global.as_mut().expect("ig").meses = "19".into();
});
rule!(meses_monthly, global, "CFDI40134", |c| {
    c.informacion_global.as_mut().expect("ig").meses = "14".into();
});
rule!(meses_bimonthly, global, "CFDI40135", |c| {
    c.emisor.regimen_fiscal = "621".into();
    c.informacion_global.as_mut().expect("ig").periodicidad = "05".into();
});
rule!(anio_current_or_previous, global, "CFDI40136", |c| {
    c.informacion_global.as_mut().expect("ig").anio = "2020".into();
});
rule!(tipo_relacion_catalog, ingreso, "CFDI40137", |c| {
    let mut r = CfdiRelacionados::default();
    r.tipo_relacion = "10".into();
    r.uuids.push("6F35D3B5-3651-5370-BC2C-14CDBE384CD7".into());
    c.cfdi_relacionados.push(r);
});
rule!(emisor_regimen_catalog, ingreso, "CFDI40140", |c| {
    c.emisor.regimen_fiscal = "999".into();
});
rule!(emisor_regimen_persona, ingreso, "CFDI40141", |c| {
    c.emisor.regimen_fiscal = "605".into();
});

// ---- Receptor ----
rule!(receptor_rfc_pattern, ingreso, "CFDI40143", |c| {
    c.receptor.rfc = "MCI730624".into();
});
rule!(publico_en_general_needs_xaxx, ingreso, "CFDI40146", |c| {
    c.receptor.nombre = "PUBLICO EN GENERAL".into();
});
rule!(domicilio_catalog, ingreso, "CFDI40148", |c| {
    c.receptor.domicilio_fiscal_receptor = "19000".into();
});
rule!(generic_rfc_domicilio_is_lugar, global, "CFDI40149", |c| {
    c.receptor.domicilio_fiscal_receptor = "06300".into();
});
rule!(residencia_catalog, ingreso, "CFDI40150", |c| {
    c.receptor.residencia_fiscal = Some("XXY".into());
});
rule!(residencia_only_foreign, ingreso, "CFDI40151", |c| {
    c.receptor.residencia_fiscal = Some("USA".into());
});
rule!(residencia_not_mex, ingreso, "CFDI40152", |c| {
    c.receptor.residencia_fiscal = Some("MEX".into());
});
rule!(num_reg_id_trib_only_foreign, ingreso, "CFDI40154", |c| {
    c.receptor.num_reg_id_trib = Some("123".into());
});
rule!(regimen_receptor_catalog, ingreso, "CFDI40157", |c| {
    c.receptor.regimen_fiscal_receptor = "999".into();
});
rule!(regimen_receptor_persona, ingreso, "CFDI40158", |c| {
    c.receptor.regimen_fiscal_receptor = "605".into();
});
rule!(generic_rfc_regimen_616, global, "CFDI40158", |c| {
    c.receptor.regimen_fiscal_receptor = "601".into();
});
rule!(uso_catalog, ingreso, "CFDI40160", |c| {
    c.receptor.uso_cfdi = "G99".into();
});
rule!(uso_persona, ingreso, "CFDI40161", |c| {
    c.receptor.uso_cfdi = "D01".into();
});
rule!(uso_vs_regimen, ingreso, "CFDI40161", |c| {
    // Persona física 612 (allowed for 612) asking for CN01 (nómina, régimen 605 only).
    c.receptor.rfc = "COSC8001137NA".into();
    c.receptor.regimen_fiscal_receptor = "612".into();
    c.receptor.uso_cfdi = "CN01".into();
});
rule!(generic_rfc_uso_s01, global, "CFDI40161", |c| {
    c.receptor.uso_cfdi = "G03".into();
});
rule!(pago_uso_cp01, pago, "CFDI40161", |c| {
    c.receptor.uso_cfdi = "G03".into();
});

#[test]
fn uso_vs_regimen_allows_the_catalog_pairs() {
    let mut c = ingreso();
    c.receptor.rfc = "COSC8001137NA".into();
    c.receptor.regimen_fiscal_receptor = "612".into();
    c.receptor.uso_cfdi = "D01".into();
    assert_eq!(error_codes(&c), Vec::<&str>::new());
}

// ---- Concepto ----
rule!(clave_prod_serv_catalog, ingreso, "CFDI40162", |c| {
    c.conceptos[0].clave_prod_serv = "99999999".into();
});
rule!(clave_unidad_catalog, ingreso, "CFDI40165", |c| {
    c.conceptos[0].clave_unidad = "Q9Q".into();
});
rule!(valor_unitario_positive, ingreso, "CFDI40166", |c| {
    c.conceptos[0].valor_unitario = d("0");
});
rule!(importe_limits, ingreso, "CFDI40167", |c| {
    c.conceptos[0].importe = d("4302.22");
});
rule!(concepto_descuento_decimals, ingreso, "CFDI40168", |c| {
    c.conceptos[0].descuento = Some(d("956.040"));
});
rule!(concepto_descuento_over_importe, ingreso, "CFDI40169", |c| {
    c.conceptos[0].descuento = Some(d("3824.16"));
});
rule!(objeto_imp_catalog, ingreso, "CFDI40170", |c| {
    c.conceptos[0].objeto_imp = "09".into();
});
rule!(objeto_imp_02_needs_impuestos, ingreso, "CFDI40171", |c| {
    c.conceptos[0].impuestos = None;
});
rule!(objeto_imp_01_no_impuestos, ingreso, "CFDI40172", |c| {
    c.conceptos[0].objeto_imp = "01".into();
});
rule!(impuestos_not_empty, ingreso, "CFDI40173", |c| {
    c.conceptos[0].impuestos = Some(ConceptoImpuestos::default());
});

#[test]
fn importe_limits_accept_the_rounding_tolerance() {
    // 4 × 956.04 = 3824.16; Cantidad "4" has no decimals, so the límites are 3.5 × 956.035 … 4.5 × 956.045.
    let mut c = ingreso();
    c.conceptos[0].importe = d("3346.12");
    assert!(!error_codes(&c).contains(&"CFDI40167"));
    c.conceptos[0].importe = d("3346.11");
    assert!(error_codes(&c).contains(&"CFDI40167"));
}

// ---- Concepto traslados ----
rule!(traslado_base_positive, ingreso, "CFDI40174", |c| {
    concepto_impuestos(&mut c).traslados[0].base = d("0");
});
rule!(traslado_impuesto_catalog, ingreso, "CFDI40175", |c| {
    concepto_impuestos(&mut c).traslados[0].impuesto = "004".into();
});
rule!(traslado_factor_catalog, ingreso, "CFDI40176", |c| {
    concepto_impuestos(&mut c).traslados[0].tipo_factor = "Tasa2".into();
});
rule!(traslado_exento_without_tasa, ingreso, "CFDI40177", |c| {
    concepto_impuestos(&mut c).traslados[0].tipo_factor = "Exento".into();
});
rule!(traslado_tasa_needs_importe, ingreso, "CFDI40178", |c| {
    concepto_impuestos(&mut c).traslados[0].importe = None;
});
rule!(traslado_tasa_catalog, ingreso, "CFDI40179", |c| {
    concepto_impuestos(&mut c).traslados[0].tasa_o_cuota = Some(d("0.150000"));
});
rule!(traslado_importe_limits, ingreso, "CFDI40180", |c| {
    concepto_impuestos(&mut c).traslados[0].importe = Some(d("458.92"));
});

// ---- Concepto retenciones ----
rule!(retencion_base_positive, retenciones, "CFDI40181", |c| {
    concepto_impuestos(&mut c).retenciones[0].base = d("0");
});
rule!(retencion_impuesto_catalog, retenciones, "CFDI40182", |c| {
    concepto_impuestos(&mut c).retenciones[0].impuesto = "004".into();
});
rule!(retencion_factor_catalog, retenciones, "CFDI40183", |c| {
    concepto_impuestos(&mut c).retenciones[0].tipo_factor = "X".into();
});
rule!(retencion_not_exento, retenciones, "CFDI40184", |c| {
    concepto_impuestos(&mut c).retenciones[0].tipo_factor = "Exento".into();
});
rule!(retencion_tasa_catalog, retenciones, "CFDI40185", |c| {
    concepto_impuestos(&mut c).retenciones[0].tasa_o_cuota = d("0.400000");
});
rule!(retencion_importe_limits, retenciones, "CFDI40186", |c| {
    concepto_impuestos(&mut c).retenciones[0].importe = d("1539.05");
});

// ---- Parte ----
fn with_parte(c: &mut Comprobante, clave: &str, vu: &str, importe: &str) {
    let mut p = Parte::default();
    p.clave_prod_serv = clave.into();
    p.cantidad = d("2");
    p.descripcion = "pieza".into();
    p.valor_unitario = Some(d(vu));
    p.importe = Some(d(importe));
    c.conceptos[0].partes.push(p);
}
rule!(parte_clave_catalog, ingreso, "CFDI40196", |c| {
    with_parte(&mut c, "99999999", "10.00", "20.00");
});
rule!(parte_valor_unitario_positive, ingreso, "CFDI40197", |c| {
    with_parte(&mut c, "52161557", "0", "0");
});
rule!(parte_importe_limits, ingreso, "CFDI40198", |c| {
    with_parte(&mut c, "52161557", "10.00", "30.00");
});

#[test]
fn parte_consistent_is_accepted() {
    let mut c = ingreso();
    with_parte(&mut c, "52161557", "10.00", "20.00");
    assert_eq!(error_codes(&c), Vec::<&str>::new());
}

// ---- Comprobante Impuestos ----
rule!(impuestos_absent_for_p, pago, "CFDI40201", |c| {
    c.impuestos = Some(Impuestos::default());
});
rule!(total_retenidos_decimals, retenciones, "CFDI40202", |c| {
    impuestos(&mut c).total_impuestos_retenidos = Some(d("3180.670"));
});
rule!(total_retenidos_sum, retenciones, "CFDI40203", |c| {
    impuestos(&mut c).total_impuestos_retenidos = Some(d("3180.68"));
    c.total = d("14672.07");
});
rule!(total_retenidos_required, retenciones, "CFDI40206", |c| {
    impuestos(&mut c).total_impuestos_retenidos = None;
});
rule!(
    retencion_total_impuesto_catalog,
    retenciones,
    "CFDI40207",
    |c| {
        impuestos(&mut c).retenciones[0].impuesto = "004".into();
    }
);
rule!(retencion_total_unique, retenciones, "CFDI40208", |c| {
    let mut r = RetencionTotal::default();
    r.impuesto = "001".into();
    r.importe = d("0.00");
    impuestos(&mut c).retenciones.push(r);
});
rule!(retencion_total_decimals, retenciones, "CFDI40210", |c| {
    impuestos(&mut c).retenciones[0].importe = d("1539.030");
});
rule!(retencion_total_grouping, retenciones, "CFDI40211", |c| {
    let i = impuestos(&mut c);
    i.retenciones[0].importe = d("1539.04");
    i.total_impuestos_retenidos = Some(d("3180.68"));
    c.total = d("14672.07");
});
rule!(retencion_missing_group, retenciones, "CFDI40211", |c| {
    let mut r = Retencion::default();
    r.base = d("15390.30");
    r.impuesto = "003".into();
    r.tipo_factor = "Tasa".into();
    r.tasa_o_cuota = d("0.265000");
    r.importe = d("4078.43");
    concepto_impuestos(&mut c).retenciones.push(r);
});
rule!(total_trasladados_decimals, ingreso, "CFDI40204", |c| {
    impuestos(&mut c).total_impuestos_trasladados = Some(d("458.900"));
});
rule!(total_trasladados_sum, ingreso, "CFDI40205", |c| {
    impuestos(&mut c).total_impuestos_trasladados = Some(d("458.91"));
    c.total = d("3327.02");
});
rule!(total_trasladados_required, ingreso, "CFDI40212", |c| {
    impuestos(&mut c).total_impuestos_trasladados = None;
});
rule!(traslado_total_base_decimals, ingreso, "CFDI40214", |c| {
    impuestos(&mut c).traslados[0].base = d("2868.110");
});
rule!(traslado_total_base_grouping, ingreso, "CFDI40215", |c| {
    impuestos(&mut c).traslados[0].base = d("2868.12");
});
rule!(traslado_total_impuesto_catalog, ingreso, "CFDI40217", |c| {
    impuestos(&mut c).traslados[0].impuesto = "004".into();
});
rule!(traslado_total_unique, ingreso, "CFDI40218", |c| {
    let t = impuestos(&mut c).traslados[0].clone();
    impuestos(&mut c).traslados.push(t);
});
rule!(traslado_total_tasa_catalog, ingreso, "CFDI40219", |c| {
    impuestos(&mut c).traslados[0].tasa_o_cuota = Some(d("0.150000"));
});
rule!(traslado_total_importe_decimals, ingreso, "CFDI40220", |c| {
    impuestos(&mut c).traslados[0].importe = Some(d("458.900"));
});
rule!(traslado_total_importe_grouping, ingreso, "CFDI40221", |c| {
    impuestos(&mut c).traslados[0].importe = Some(d("458.91"));
    impuestos(&mut c).total_impuestos_trasladados = Some(d("458.91"));
    c.total = d("3327.02");
});
rule!(traslado_missing_group, ingreso, "CFDI40221", |c| {
    let mut t = Traslado::default();
    t.base = d("2868.11");
    t.impuesto = "003".into();
    t.tipo_factor = "Exento".into();
    concepto_impuestos(&mut c).traslados.push(t);
});

// ---- Tipo P comprobante (Pagos matrix) ----
rule!(p_exportacion_01, pago, "CRP20102", |c| {
    c.exportacion = "03".into();
});
rule!(p_no_condiciones, pago, "CRP20107", |c| {
    c.condiciones_de_pago = Some("contado".into());
});
rule!(p_one_concepto, pago, "CRP20111", |c| {
    let k = c.conceptos[0].clone();
    c.conceptos.push(k);
});
rule!(p_clave_84111506, pago, "CRP20113", |c| {
    c.conceptos[0].clave_prod_serv = "01010101".into();
});
rule!(p_cantidad_1, pago, "CRP20115", |c| {
    c.conceptos[0].cantidad = d("2");
});
rule!(p_unidad_act, pago, "CRP20116", |c| {
    c.conceptos[0].clave_unidad = "H87".into();
});
rule!(p_valor_unitario_0, pago, "CRP20119", |c| {
    c.conceptos[0].valor_unitario = d("1");
});
rule!(p_importe_0, pago, "CRP20120", |c| {
    c.conceptos[0].importe = d("1");
});
rule!(p_objeto_imp_01, pago, "CRP20122", |c| {
    c.conceptos[0].objeto_imp = "02".into();
});
rule!(p_concepto_sin_impuestos, pago, "CRP20123", |c| {
    c.conceptos[0].impuestos = Some(ConceptoImpuestos::default());
});

// ---- Pagos 2.0: Totales ----
rule!(totales_retenciones_iva, pago, "CRP20201", |c| {
    pagos_mut(&mut c).totales.total_retenciones_iva = Some(d("5.00"));
});
rule!(totales_base_iva16, pago, "CRP20204", |c| {
    pagos_mut(&mut c).totales.total_traslados_base_iva16 = Some(d("12932.04"));
});
rule!(totales_impuesto_iva16, pago, "CRP20205", |c| {
    pagos_mut(&mut c).totales.total_traslados_impuesto_iva16 = None;
});
rule!(totales_monto, pago, "CRP20211", |c| {
    pagos_mut(&mut c).totales.monto_total_pagos = d("15001.00");
});

// ---- Pago ----
rule!(pago_forma_not_99, pago, "CRP20212", |c| {
    pagos_mut(&mut c).pagos[0].forma_de_pago_p = "99".into();
});
rule!(pago_moneda_not_xxx, pago, "CRP20213", |c| {
    pagos_mut(&mut c).pagos[0].moneda_p = "XXX".into();
});
rule!(pago_tipo_cambio_required, pago, "CRP20214", |c| {
    let p = &mut pagos_mut(&mut c).pagos[0];
    p.moneda_p = "USD".into();
    p.tipo_cambio_p = None;
});
rule!(pago_tipo_cambio_mxn, pago, "CRP20215", |c| {
    pagos_mut(&mut c).pagos[0].tipo_cambio_p = Some(d("2"));
});
rule!(pago_monto_covers_imp_pagado, pago, "CRP20217", |c| {
    pagos_mut(&mut c).pagos[0].monto = d("14999.99");
    pagos_mut(&mut c).totales.monto_total_pagos = d("14999.99");
});
rule!(pago_monto_positive, pago, "CRP20218", |c| {
    pagos_mut(&mut c).pagos[0].monto = d("0");
});
rule!(pago_monto_decimals, pago, "CRP20219", |c| {
    pagos_mut(&mut c).pagos[0].monto = d("15000.000");
});

// ---- DoctoRelacionado ----
fn dr(c: &mut Comprobante) -> &mut cfdi::model::DoctoRelacionado {
    &mut pagos_mut(c).pagos[0].doctos_relacionados[1]
}
rule!(dr_moneda_not_xxx, pago, "CRP20236", |c| {
    dr(&mut c).moneda_dr = "XXX".into();
});
rule!(dr_equivalencia_required, pago, "CRP20237", |c| {
    let x = dr(&mut c);
    x.moneda_dr = "USD".into();
    x.equivalencia_dr = None;
});
rule!(dr_equivalencia_1, pago, "CRP20238", |c| {
    dr(&mut c).equivalencia_dr = Some(d("2"));
});
rule!(dr_saldo_ant_positive, pago, "CRP20239", |c| {
    dr(&mut c).imp_saldo_ant = d("0");
});
rule!(dr_saldo_ant_decimals, pago, "CRP20240", |c| {
    dr(&mut c).imp_saldo_ant = d("10000.000");
});
rule!(dr_pagado_positive, pago, "CRP20241", |c| {
    dr(&mut c).imp_pagado = d("0");
});
rule!(dr_pagado_decimals, pago, "CRP20242", |c| {
    dr(&mut c).imp_pagado = d("3000.000");
});
rule!(dr_insoluto_decimals, pago, "CRP20243", |c| {
    dr(&mut c).imp_saldo_insoluto = d("7000.000");
});
rule!(dr_insoluto_arithmetic, pago, "CRP20244", |c| {
    dr(&mut c).imp_saldo_insoluto = d("7000.01");
});
rule!(dr_insoluto_not_negative, pago, "CRP20244", |c| {
    let x = dr(&mut c);
    x.imp_saldo_ant = d("2000.00");
    x.imp_saldo_insoluto = d("-1000.00");
});
rule!(dr_objeto_catalog, pago, "CRP20245", |c| {
    dr(&mut c).objeto_imp_dr = "09".into();
});
rule!(dr_objeto_02_needs_impuestos, pago, "CRP20246", |c| {
    dr(&mut c).impuestos_dr = None;
});
rule!(dr_objeto_01_no_impuestos, pago, "CRP20247", |c| {
    dr(&mut c).objeto_imp_dr = "01".into();
});
rule!(dr_impuestos_not_empty, pago, "CRP20248", |c| {
    dr(&mut c).impuestos_dr = Some(ImpuestosDr::default());
});

// ---- ImpuestosDR ----
fn tdr(c: &mut Comprobante) -> &mut ImpuestoDr {
    &mut dr(c)
        .impuestos_dr
        .as_mut()
        .expect("ImpuestosDR")
        .traslados_dr[0]
}
fn with_retencion_dr(
    c: &mut Comprobante,
    base: &str,
    impuesto: &str,
    factor: &str,
    tasa: &str,
    importe: &str,
) {
    let mut r = ImpuestoDr::default();
    r.base_dr = d(base);
    r.impuesto_dr = impuesto.into();
    r.tipo_factor_dr = factor.into();
    r.tasa_o_cuota_dr = Some(d(tasa));
    r.importe_dr = Some(d(importe));
    dr(c)
        .impuestos_dr
        .as_mut()
        .expect("ImpuestosDR")
        .retenciones_dr
        .push(r);
}
rule!(rdr_base_positive, pago, "CRP20249", |c| {
    with_retencion_dr(&mut c, "0", "001", "Tasa", "0.100000", "0");
});
rule!(rdr_impuesto_catalog, pago, "CRP20250", |c| {
    with_retencion_dr(&mut c, "100", "004", "Tasa", "0.100000", "10");
});
rule!(rdr_factor_catalog, pago, "CRP20251", |c| {
    with_retencion_dr(&mut c, "100", "001", "X", "0.100000", "10");
});
rule!(rdr_not_exento, pago, "CRP20252", |c| {
    with_retencion_dr(&mut c, "100", "001", "Exento", "0.100000", "10");
});
rule!(rdr_tasa_catalog, pago, "CRP20253", |c| {
    with_retencion_dr(&mut c, "100", "001", "Tasa", "0.400000", "40");
});
rule!(rdr_importe_limits, pago, "CRP20254", |c| {
    with_retencion_dr(&mut c, "100", "001", "Tasa", "0.100000", "11");
});
rule!(tdr_base_positive, pago, "CRP20255", |c| {
    tdr(&mut c).base_dr = d("0");
});
rule!(tdr_impuesto_catalog, pago, "CRP20256", |c| {
    tdr(&mut c).impuesto_dr = "004".into();
});
rule!(tdr_factor_catalog, pago, "CRP20257", |c| {
    tdr(&mut c).tipo_factor_dr = "X".into();
});
rule!(tdr_exento_without_tasa, pago, "CRP20258", |c| {
    tdr(&mut c).tipo_factor_dr = "Exento".into();
});
rule!(tdr_tasa_needs_importe, pago, "CRP20259", |c| {
    tdr(&mut c).importe_dr = None;
});
rule!(tdr_tasa_catalog, pago, "CRP20260", |c| {
    tdr(&mut c).tasa_o_cuota_dr = Some(d("0.150000"));
});
rule!(tdr_importe_limits, pago, "CRP20261", |c| {
    tdr(&mut c).importe_dr = Some(d("413.81"));
});

// ---- ImpuestosP ----
rule!(retencion_p_unique, pago, "CRP20263", |c| {
    let mut r = RetencionP::default();
    r.impuesto_p = "001".into();
    let ip = pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP");
    ip.retenciones_p.push(r.clone());
    ip.retenciones_p.push(r);
});
rule!(retencion_p_sum, pago, "CRP20265", |c| {
    let mut r = RetencionP::default();
    r.impuesto_p = "001".into();
    r.importe_p = d("1.00");
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .retenciones_p
        .push(r);
});
rule!(traslado_p_base_sum, pago, "CRP20268", |c| {
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .traslados_p[0]
        .base_p = d("12931.060000");
});
rule!(traslado_p_unique, pago, "CRP20271", |c| {
    let ip = pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP");
    let t = ip.traslados_p[0].clone();
    ip.traslados_p.push(t);
});
rule!(traslado_p_importe_sum, pago, "CRP20274", |c| {
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .traslados_p[0]
        .importe_p = Some(d("2068.980000"));
});

// ---- Added rules: foreign receptor, terceros, pedimentos, TipoCadPago ----
fn with_cce(c: &mut Comprobante) {
    let raw = cfdi::model::RawXml::new(
        r#"<cce20:ComercioExterior xmlns:cce20="http://www.sat.gob.mx/ComercioExterior20" Version="2.0"/>"#,
    )
    .expect("raw complement");
    c.complemento
        .get_or_insert_with(Vec::new)
        .push(Complemento::Other(raw));
}
fn extranjero(c: &mut Comprobante) {
    c.receptor.rfc = "XEXX010101000".into();
    c.receptor.regimen_fiscal_receptor = "616".into();
    c.receptor.uso_cfdi = "S01".into();
    c.receptor.domicilio_fiscal_receptor = c.lugar_expedicion.clone();
    c.receptor.residencia_fiscal = Some("USA".into());
    c.receptor.num_reg_id_trib = Some("123456789".into());
}
fn export_with_cce() -> Comprobante {
    let mut c = load("cfdiutils-cfdi40-valid");
    extranjero(&mut c);
    c.exportacion = "02".into();
    with_cce(&mut c);
    clean(c)
}
rule!(
    num_reg_id_trib_needs_residencia,
    export_with_cce,
    "CFDI40153",
    |c| {
        c.receptor.residencia_fiscal = None;
    }
);
rule!(
    extranjero_with_cce_needs_num_reg_id_trib,
    export_with_cce,
    "CFDI40155",
    |c| {
        c.receptor.num_reg_id_trib = None;
        c.receptor.residencia_fiscal = None;
    }
);
rule!(terceros_regimen_catalog, ingreso, "CFDI40191", |c| {
    let mut t = cfdi::model::ACuentaTerceros::default();
    t.rfc = "CACX7605101P8".into();
    t.nombre = "XOCHILT CASAS CHAVEZ".into();
    t.regimen_fiscal = "999".into();
    t.domicilio_fiscal = "36257".into();
    c.conceptos[0].a_cuenta_terceros = Some(t);
});
rule!(pedimento_pattern, ingreso, "CFDI40194", |c| {
    c.conceptos[0]
        .informacion_aduanera
        .push("21 47 3807 8003832".into());
});
rule!(pedimento_not_with_cce, export_with_cce, "CFDI40195", |c| {
    c.conceptos[0]
        .informacion_aduanera
        .push("21  47  3807  8003832".into());
});
rule!(parte_pedimento_pattern, ingreso, "CFDI40199", |c| {
    with_parte(&mut c, "52161557", "10.00", "20.00");
    c.conceptos[0].partes[0]
        .informacion_aduanera
        .push("2147380780038321234".into());
});
rule!(
    parte_pedimento_not_with_cce,
    export_with_cce,
    "CFDI40200",
    |c| {
        with_parte(&mut c, "52161557", "10.00", "20.00");
        c.conceptos[0].partes[0]
            .informacion_aduanera
            .push("21  47  3807  8003832".into());
    }
);
rule!(tipo_cad_pago_only_spei, pago, "CRP20229", |c| {
    let p = &mut pagos_mut(&mut c).pagos[0];
    p.forma_de_pago_p = "02".into();
    p.tipo_cad_pago = Some("01".into());
});

#[test]
fn valid_pedimento_and_terceros_are_accepted() {
    let mut c = ingreso();
    c.conceptos[0]
        .informacion_aduanera
        .push("21  47  3807  8003832".into());
    let mut t = cfdi::model::ACuentaTerceros::default();
    t.rfc = "CACX7605101P8".into();
    t.nombre = "XOCHILT CASAS CHAVEZ".into();
    t.regimen_fiscal = "612".into();
    t.domicilio_fiscal = "36257".into();
    c.conceptos[0].a_cuenta_terceros = Some(t);
    assert_eq!(error_codes(&c), Vec::<&str>::new());
}

// ---- Remaining catalog memberships ----
rule!(terceros_domicilio_catalog, ingreso, "CFDI40193", |c| {
    let mut t = cfdi::model::ACuentaTerceros::default();
    t.rfc = "CACX7605101P8".into();
    t.nombre = "XOCHILT CASAS CHAVEZ".into();
    t.regimen_fiscal = "612".into();
    t.domicilio_fiscal = "19000".into();
    c.conceptos[0].a_cuenta_terceros = Some(t);
});
rule!(traslado_total_factor_catalog, ingreso, "CFDI40213", |c| {
    impuestos(&mut c).traslados[0].tipo_factor = "Tasa2".into();
});
rule!(retencion_p_impuesto_catalog, pago, "CRP20262", |c| {
    let mut r = RetencionP::default();
    r.impuesto_p = "004".into();
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .retenciones_p
        .push(r);
});
rule!(traslado_p_impuesto_catalog, pago, "CRP20270", |c| {
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .traslados_p[0]
        .impuesto_p = "004".into();
});
rule!(traslado_p_tasa_catalog, pago, "CRP20272", |c| {
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .traslados_p[0]
        .tasa_o_cuota_p = Some(d("0.150000"));
});
rule!(traslado_p_exento_only_base, pago, "CRP20266", |c| {
    pagos_mut(&mut c).pagos[0]
        .impuestos_p
        .as_mut()
        .expect("ImpuestosP")
        .traslados_p[0]
        .tipo_factor_p = "Exento".into();
});
rule!(uso_p01_not_in_cfdi40, ingreso, "CFDI40160", |c| {
    c.receptor.uso_cfdi = "P01".into();
});
rule!(tipo_relacion_08_not_in_cfdi40, ingreso, "CFDI40137", |c| {
    let mut r = CfdiRelacionados::default();
    r.tipo_relacion = "08".into();
    r.uuids.push("6F35D3B5-3651-5370-BC2C-14CDBE384CD7".into());
    c.cfdi_relacionados.push(r);
});

#[test]
fn tipo_relacion_09_was_valid_until_june_2022() {
    let mut c = ingreso();
    c.fecha = "2022-06-30T23:59:59".into();
    let mut r = CfdiRelacionados::default();
    r.tipo_relacion = "09".into();
    r.uuids.push("6F35D3B5-3651-5370-BC2C-14CDBE384CD7".into());
    c.cfdi_relacionados.push(r);
    assert!(!error_codes(&c).contains(&"CFDI40137"));
    c.fecha = "2022-07-01T00:00:00".into();
    assert!(error_codes(&c).contains(&"CFDI40137"));
}

#[test]
fn tipo_relacion_01_to_07_are_accepted() {
    for t in ["01", "02", "03", "04", "05", "06", "07"] {
        let mut c = ingreso();
        let mut r = CfdiRelacionados::default();
        r.tipo_relacion = t.into();
        r.uuids.push("6F35D3B5-3651-5370-BC2C-14CDBE384CD7".into());
        c.cfdi_relacionados.push(r);
        assert_eq!(error_codes(&c), Vec::<&str>::new(), "{t}");
    }
}

// ---- ObjetoImp 06–08 ----
rule!(objeto_imp_06_no_iva, ingreso, "CFDI40172", |c| {
    c.conceptos[0].objeto_imp = "06".into();
});
rule!(objeto_imp_07_needs_ieps, ingreso, "CFDI40172", |c| {
    c.conceptos[0].objeto_imp = "07".into();
    concepto_impuestos(&mut c).traslados.clear();
    let mut r = Retencion::default();
    r.base = d("2868.11");
    r.impuesto = "001".into();
    r.tipo_factor = "Tasa".into();
    r.tasa_o_cuota = d("0.100000");
    r.importe = d("286.81");
    concepto_impuestos(&mut c).retenciones.push(r);
});
rule!(objeto_imp_dr_08_no_iva, pago, "CRP20278", |c| {
    dr(&mut c).objeto_imp_dr = "08".into();
});
rule!(objeto_imp_dr_07_no_iva, pago, "CRP20279", |c| {
    dr(&mut c).objeto_imp_dr = "07".into();
});

#[test]
fn objeto_imp_07_with_ieps_is_accepted() {
    let mut c = ingreso();
    c.conceptos[0].objeto_imp = "07".into();
    let t = &mut concepto_impuestos(&mut c).traslados[0];
    t.impuesto = "003".into();
    t.tasa_o_cuota = Some(d("0.160000")); // not an IEPS rate: only the c_TasaOCuota rules may complain
    let codes = error_codes(&c);
    assert!(!codes.contains(&"CFDI40172"), "{codes:?}");
}
