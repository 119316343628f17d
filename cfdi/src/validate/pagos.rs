//! Rules on the Pagos 2.0 complement, with the codes of the SAT *Matriz de errores* of the complemento para
//! recepción de pagos 2.0 (`CRP20xxx`).
//!
//! Conversions between currencies: amounts of a `DoctoRelacionado` are converted to the payment's currency by
//! dividing by `EquivalenciaDR`, and payment amounts to MXN by multiplying by `TipoCambioP`. SAT allows for the
//! rounding of those conversions; sums of converted amounts are accepted within one unit of the last decimal of
//! the target currency per summed payment.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::Ctx;
use super::amounts::{exceeds, sum, tax_limits};
use crate::catalog::{Catalog, TaxRole, moneda_decimals, tasa_o_cuota_allowed};
use crate::model::{DoctoRelacionado, ImpuestoDr, Pago, Pagos};

/// Grouping key of a traslado: (Impuesto, TipoFactor, normalized TasaOCuota).
type TaxKey = (String, String, Option<Decimal>);

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let Some(pagos) = ctx.c.pagos() else { return };
    let base = "/Comprobante/Complemento/Pagos";
    for (i, p) in pagos.pagos.iter().enumerate() {
        pago(ctx, p, &format!("{base}/Pago[{}]", i + 1));
    }
    totales(ctx, pagos, base);
}

/// `|a − b| ≤ tol`.
fn close(a: Decimal, b: Decimal, tol: Decimal) -> bool {
    a.checked_sub(b).is_some_and(|d| d.abs() <= tol)
}

/// One unit of the last decimal place of a currency with `dec` decimals (6 when unknown).
fn unit(dec: Option<u32>) -> Decimal {
    Decimal::new(1, dec.unwrap_or(6))
}

fn pago(ctx: &mut Ctx<'_>, p: &Pago, base: &str) {
    let dec_p = moneda_decimals(&p.moneda_p);
    if !Catalog::FormaPago.contains(&p.forma_de_pago_p) || p.forma_de_pago_p == "99" {
        ctx.error(
            "CRP20212",
            format!("{base}/@FormaDePagoP"),
            format!(
                "El campo FormaDePagoP debe contener un valor del catálogo c_FormaPago distinto de \"99\" (tiene {:?}).",
                p.forma_de_pago_p
            ),
        );
    }
    if !Catalog::Moneda.contains(&p.moneda_p) || p.moneda_p == "XXX" {
        ctx.error(
            "CRP20213",
            format!("{base}/@MonedaP"),
            format!(
                "El campo MonedaP debe contener un valor del catálogo c_Moneda distinto de \"XXX\" (tiene {:?}).",
                p.moneda_p
            ),
        );
    }
    match (p.moneda_p.as_str(), p.tipo_cambio_p) {
        ("MXN", Some(tc)) if tc != Decimal::ONE => ctx.error(
            "CRP20215",
            format!("{base}/@TipoCambioP"),
            format!("Si la MonedaP es MXN, el TipoCambioP debe ser \"1\" (tiene {tc})."),
        ),
        ("MXN", _) => {}
        (_, None) => ctx.error(
            "CRP20214",
            format!("{base}/@TipoCambioP"),
            "Si la MonedaP es distinta de MXN, el campo TipoCambioP debe existir.",
        ),
        _ => {}
    }
    if p.tipo_cad_pago.is_some() && p.forma_de_pago_p != "03" {
        ctx.error(
            "CRP20229",
            format!("{base}/@TipoCadPago"),
            format!(
                "El campo TipoCadPago solo debe existir si FormaDePagoP es \"03\" (tiene {:?}).",
                p.forma_de_pago_p
            ),
        );
    }
    if p.monto <= Decimal::ZERO {
        ctx.error(
            "CRP20218",
            format!("{base}/@Monto"),
            format!(
                "El valor del campo Monto debe ser mayor que cero (tiene {}).",
                p.monto
            ),
        );
    }
    if exceeds(p.monto, dec_p) {
        ctx.error(
            "CRP20219",
            format!("{base}/@Monto"),
            format!(
                "El Monto ({}) excede la cantidad de decimales que soporta la MonedaP.",
                p.monto
            ),
        );
    }
    let same_currency: Vec<Decimal> = p
        .doctos_relacionados
        .iter()
        .filter(|d| d.moneda_dr == p.moneda_p)
        .map(|d| d.imp_pagado)
        .collect();
    if same_currency.len() == p.doctos_relacionados.len()
        && let Some(s) = sum(same_currency)
        && s > p.monto
    {
        ctx.error(
            "CRP20217",
            format!("{base}/@Monto"),
            format!(
                "La suma de los ImpPagado de los documentos relacionados ({s}) es mayor que el Monto ({}).",
                p.monto
            ),
        );
    }
    // ImpuestosDR converted to MonedaP, grouped as ImpuestosP expects.
    let mut ret: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    let mut tras: BTreeMap<TaxKey, (Vec<Decimal>, Vec<Decimal>)> = BTreeMap::new();
    for (j, d) in p.doctos_relacionados.iter().enumerate() {
        let db = format!("{base}/DoctoRelacionado[{}]", j + 1);
        docto(ctx, p, d, &db);
        let equiv = d.equivalencia_dr.unwrap_or(Decimal::ONE);
        let conv = |v: Decimal| v.checked_div(equiv);
        if let Some(imp) = &d.impuestos_dr {
            for r in &imp.retenciones_dr {
                if let Some(v) = r.importe_dr.and_then(conv) {
                    ret.entry(r.impuesto_dr.clone()).or_default().push(v);
                }
            }
            for t in &imp.traslados_dr {
                let e = tras
                    .entry((
                        t.impuesto_dr.clone(),
                        t.tipo_factor_dr.clone(),
                        t.tasa_o_cuota_dr.map(|x| x.normalize()),
                    ))
                    .or_default();
                e.0.extend(conv(t.base_dr));
                e.1.extend(t.importe_dr.and_then(conv));
            }
        }
    }
    let tol = unit(dec_p);
    let Some(ip) = &p.impuestos_p else {
        if !ret.is_empty() || !tras.is_empty() {
            ctx.error(
                "CRP20265",
                format!("{base}/ImpuestosP"),
                "Los documentos relacionados tienen ImpuestosDR, pero no existe el nodo ImpuestosP.",
            );
        }
        return;
    };
    let mut seen_ret = Vec::new();
    for (k, r) in ip.retenciones_p.iter().enumerate() {
        let rp = format!("{base}/ImpuestosP/RetencionesP/RetencionP[{}]", k + 1);
        if seen_ret.contains(&r.impuesto_p) {
            ctx.error(
                "CRP20263",
                rp,
                format!(
                    "Debe haber un solo RetencionP por impuesto; {:?} se repite.",
                    r.impuesto_p
                ),
            );
            continue;
        }
        seen_ret.push(r.impuesto_p.clone());
        if !Catalog::Impuesto.contains(&r.impuesto_p) {
            ctx.error(
                "CRP20262",
                format!("{rp}/@ImpuestoP"),
                format!(
                    "El campo ImpuestoP no contiene un valor del catálogo c_Impuesto: {:?}.",
                    r.impuesto_p
                ),
            );
        }
        let s = ret
            .get(&r.impuesto_p)
            .and_then(|v| sum(v.iter().copied()))
            .unwrap_or_default();
        if !close(r.importe_p, s, tol) {
            ctx.error(
                "CRP20265",
                format!("{rp}/@ImporteP"),
                format!(
                    "El ImporteP ({}) no es igual a la suma de los ImporteDR retenidos de {} convertidos a la MonedaP ({s}).",
                    r.importe_p, r.impuesto_p
                ),
            );
        }
    }
    for impuesto in ret.keys() {
        if !seen_ret.contains(impuesto) {
            ctx.error(
                "CRP20265",
                format!("{base}/ImpuestosP"),
                format!(
                    "Falta el RetencionP de {impuesto} que tienen los documentos relacionados."
                ),
            );
        }
    }
    let mut seen_tras = Vec::new();
    for (k, t) in ip.traslados_p.iter().enumerate() {
        let tp = format!("{base}/ImpuestosP/TrasladosP/TrasladoP[{}]", k + 1);
        let key = (
            t.impuesto_p.clone(),
            t.tipo_factor_p.clone(),
            t.tasa_o_cuota_p.map(|x| x.normalize()),
        );
        if seen_tras.contains(&key) {
            ctx.error("CRP20271", tp, "Debe haber un solo TrasladoP por combinación de ImpuestoP, TipoFactorP y TasaOCuotaP.");
            continue;
        }
        seen_tras.push(key.clone());
        if !Catalog::Impuesto.contains(&t.impuesto_p) {
            ctx.error(
                "CRP20270",
                format!("{tp}/@ImpuestoP"),
                format!(
                    "El campo ImpuestoP no contiene un valor del catálogo c_Impuesto: {:?}.",
                    t.impuesto_p
                ),
            );
        }
        if t.tipo_factor_p == "Exento" {
            if t.tasa_o_cuota_p.is_some() || t.importe_p.is_some() {
                ctx.error(
                    "CRP20266",
                    format!("{tp}/@TipoFactorP"),
                    "Si el TipoFactorP es Exento, solo deben existir BaseP, ImpuestoP y TipoFactorP.",
                );
            }
        } else if let Some(tasa) = t.tasa_o_cuota_p
            && !tasa_o_cuota_allowed(&t.impuesto_p, &t.tipo_factor_p, tasa, TaxRole::Traslado)
        {
            ctx.error(
                "CRP20272",
                format!("{tp}/@TasaOCuotaP"),
                format!(
                    "La TasaOCuotaP {tasa} no es un valor del catálogo c_TasaOCuota para {} {}.",
                    t.impuesto_p, t.tipo_factor_p
                ),
            );
        }
        let (bases, importes) = tras
            .get(&key)
            .map(|(b, i)| (sum(b.iter().copied()), sum(i.iter().copied())))
            .unwrap_or((Some(Decimal::ZERO), Some(Decimal::ZERO)));
        if let Some(s) = bases
            && !close(t.base_p, s, tol)
        {
            ctx.error(
                "CRP20268",
                format!("{tp}/@BaseP"),
                format!("La BaseP ({}) no es igual a la suma de las BaseDR convertidas a la MonedaP ({s}).", t.base_p),
            );
        }
        if let (Some(v), Some(s)) = (t.importe_p, importes)
            && !close(v, s, tol)
        {
            ctx.error(
                "CRP20274",
                format!("{tp}/@ImporteP"),
                format!("El ImporteP ({v}) no es igual a la suma de los ImporteDR convertidos a la MonedaP ({s})."),
            );
        }
    }
    for key in tras.keys() {
        if !seen_tras.contains(key) {
            ctx.error(
                "CRP20268",
                format!("{base}/ImpuestosP"),
                format!(
                    "Falta el TrasladoP ({}, {}, {}) que tienen los documentos relacionados.",
                    key.0,
                    key.1,
                    super::fmt_tasa(key.2)
                ),
            );
        }
    }
}

fn docto(ctx: &mut Ctx<'_>, p: &Pago, d: &DoctoRelacionado, base: &str) {
    let dec = moneda_decimals(&d.moneda_dr);
    if !Catalog::Moneda.contains(&d.moneda_dr) || d.moneda_dr == "XXX" {
        ctx.error(
            "CRP20236",
            format!("{base}/@MonedaDR"),
            format!("El campo MonedaDR debe contener un valor del catálogo c_Moneda distinto de \"XXX\" (tiene {:?}).", d.moneda_dr),
        );
    }
    match d.equivalencia_dr {
        None if d.moneda_dr != p.moneda_p => ctx.error(
            "CRP20237",
            format!("{base}/@EquivalenciaDR"),
            "Si la MonedaDR es distinta de la MonedaP, el campo EquivalenciaDR debe existir.",
        ),
        Some(e) if d.moneda_dr == p.moneda_p && e != Decimal::ONE => ctx.error(
            "CRP20238",
            format!("{base}/@EquivalenciaDR"),
            format!("Si la MonedaDR es igual a la MonedaP, el campo EquivalenciaDR debe ser \"1\" (tiene {e})."),
        ),
        _ => {}
    }
    for (code_pos, code_dec, attr, v) in [
        ("CRP20239", "CRP20240", "ImpSaldoAnt", d.imp_saldo_ant),
        ("CRP20241", "CRP20242", "ImpPagado", d.imp_pagado),
    ] {
        if v <= Decimal::ZERO {
            ctx.error(
                code_pos,
                format!("{base}/@{attr}"),
                format!("El campo {attr} debe ser mayor que cero (tiene {v})."),
            );
        }
        if exceeds(v, dec) {
            ctx.error(
                code_dec,
                format!("{base}/@{attr}"),
                format!(
                    "El campo {attr} ({v}) excede la cantidad de decimales que soporta la MonedaDR."
                ),
            );
        }
    }
    if exceeds(d.imp_saldo_insoluto, dec) {
        ctx.error(
            "CRP20243",
            format!("{base}/@ImpSaldoInsoluto"),
            format!("El campo ImpSaldoInsoluto ({}) excede la cantidad de decimales que soporta la MonedaDR.", d.imp_saldo_insoluto),
        );
    }
    let expected = d.imp_saldo_ant.checked_sub(d.imp_pagado);
    if d.imp_saldo_insoluto < Decimal::ZERO || expected.is_some_and(|e| e != d.imp_saldo_insoluto) {
        ctx.error(
            "CRP20244",
            format!("{base}/@ImpSaldoInsoluto"),
            format!(
                "El ImpSaldoInsoluto ({}) debe ser mayor o igual a cero e igual a ImpSaldoAnt − ImpPagado ({} − {}).",
                d.imp_saldo_insoluto, d.imp_saldo_ant, d.imp_pagado
            ),
        );
    }
    let obj = d.objeto_imp_dr.as_str();
    if !Catalog::ObjetoImp.contains(obj) {
        ctx.error(
            "CRP20245",
            format!("{base}/@ObjetoImpDR"),
            format!("El campo ObjetoImpDR no contiene un valor del catálogo c_ObjetoImp: {obj:?}."),
        );
    } else if obj == "02" && d.impuestos_dr.is_none() {
        ctx.error(
            "CRP20246",
            format!("{base}/@ObjetoImpDR"),
            "Si el ObjetoImpDR es \"02\", el nodo ImpuestosDR debe existir.",
        );
    } else if matches!(obj, "01" | "03" | "04" | "05") && d.impuestos_dr.is_some() {
        ctx.error(
            "CRP20247",
            format!("{base}/ImpuestosDR"),
            format!("Si el ObjetoImpDR es {obj:?}, el nodo ImpuestosDR no debe existir."),
        );
    } else {
        let tras: Vec<&str> = d
            .impuestos_dr
            .iter()
            .flat_map(|i| &i.traslados_dr)
            .map(|t| t.impuesto_dr.as_str())
            .collect();
        let ret: Vec<&str> = d
            .impuestos_dr
            .iter()
            .flat_map(|i| &i.retenciones_dr)
            .map(|r| r.impuesto_dr.as_str())
            .collect();
        if let Some(problem) = super::objeto_imp_conflict(obj, &tras, &ret) {
            ctx.error(
                if obj == "07" { "CRP20279" } else { "CRP20278" },
                format!("{base}/@ObjetoImpDR"),
                format!("Los impuestos del documento relacionado no corresponden al ObjetoImpDR: {problem}."),
            );
        }
    }
    let Some(imp) = &d.impuestos_dr else { return };
    if imp.retenciones_dr.is_empty() && imp.traslados_dr.is_empty() {
        ctx.error(
            "CRP20248",
            format!("{base}/ImpuestosDR"),
            "El nodo ImpuestosDR debe contener RetencionesDR o TrasladosDR.",
        );
    }
    for (k, r) in imp.retenciones_dr.iter().enumerate() {
        impuesto_dr(
            ctx,
            r,
            dec,
            TaxRole::Retencion,
            &format!("{base}/ImpuestosDR/RetencionesDR/RetencionDR[{}]", k + 1),
        );
    }
    for (k, t) in imp.traslados_dr.iter().enumerate() {
        impuesto_dr(
            ctx,
            t,
            dec,
            TaxRole::Traslado,
            &format!("{base}/ImpuestosDR/TrasladosDR/TrasladoDR[{}]", k + 1),
        );
    }
}

fn impuesto_dr(ctx: &mut Ctx<'_>, t: &ImpuestoDr, dec: Option<u32>, role: TaxRole, path: &str) {
    let ret = role == TaxRole::Retencion;
    let code = |r: &'static str, tr: &'static str| if ret { r } else { tr };
    if t.base_dr <= Decimal::ZERO {
        ctx.error(
            code("CRP20249", "CRP20255"),
            format!("{path}/@BaseDR"),
            format!(
                "El campo BaseDR debe ser mayor que cero (tiene {}).",
                t.base_dr
            ),
        );
    }
    if !Catalog::Impuesto.contains(&t.impuesto_dr) {
        ctx.error(
            code("CRP20250", "CRP20256"),
            format!("{path}/@ImpuestoDR"),
            format!(
                "El campo ImpuestoDR no contiene un valor del catálogo c_Impuesto: {:?}.",
                t.impuesto_dr
            ),
        );
    }
    if !Catalog::TipoFactor.contains(&t.tipo_factor_dr) {
        ctx.error(
            code("CRP20251", "CRP20257"),
            format!("{path}/@TipoFactorDR"),
            format!(
                "El campo TipoFactorDR no contiene un valor del catálogo c_TipoFactor: {:?}.",
                t.tipo_factor_dr
            ),
        );
        return;
    }
    match (t.tipo_factor_dr.as_str(), t.tasa_o_cuota_dr, t.importe_dr) {
        ("Exento", _, _) if ret => ctx.error(
            "CRP20252",
            format!("{path}/@TipoFactorDR"),
            "El TipoFactorDR de una retención no puede ser Exento.",
        ),
        ("Exento", None, None) => {}
        ("Exento", _, _) => ctx.error(
            "CRP20258",
            format!("{path}/@TipoFactorDR"),
            "Si el TipoFactorDR es Exento, no deben existir TasaOCuotaDR ni ImporteDR.",
        ),
        (_, Some(tasa), Some(importe)) => {
            if !tasa_o_cuota_allowed(&t.impuesto_dr, &t.tipo_factor_dr, tasa, role) {
                ctx.error(
                    code("CRP20253", "CRP20260"),
                    format!("{path}/@TasaOCuotaDR"),
                    format!("La TasaOCuotaDR {tasa} no es un valor del catálogo c_TasaOCuota para {} {}.", t.impuesto_dr, t.tipo_factor_dr),
                );
            }
            let dp = dec.unwrap_or_else(|| importe.scale());
            if let Some((lo, hi)) = tax_limits(t.base_dr, tasa, dp)
                && (importe < lo || importe > hi)
            {
                ctx.error(
                    code("CRP20254", "CRP20261"),
                    format!("{path}/@ImporteDR"),
                    format!("El ImporteDR ({importe}) no se encuentra entre el límite inferior ({lo}) y superior ({hi}) de BaseDR × TasaOCuotaDR."),
                );
            }
        }
        _ => ctx.error(
            "CRP20259",
            format!("{path}/@TipoFactorDR"),
            "Si el TipoFactorDR es Tasa o Cuota, deben existir TasaOCuotaDR e ImporteDR.",
        ),
    }
}

fn totales(ctx: &mut Ctx<'_>, pagos: &Pagos, base: &str) {
    // Sums in MXN of the ImpuestosP of every Pago, × TipoCambioP.
    let mut acc: BTreeMap<&'static str, Vec<Decimal>> = BTreeMap::new();
    let mut montos = Vec::new();
    for p in &pagos.pagos {
        let tc = p.tipo_cambio_p.unwrap_or(Decimal::ONE);
        let mxn = |v: Decimal| v.checked_mul(tc);
        montos.extend(mxn(p.monto));
        let Some(ip) = &p.impuestos_p else { continue };
        for r in &ip.retenciones_p {
            let key = match r.impuesto_p.as_str() {
                "001" => "TotalRetencionesISR",
                "002" => "TotalRetencionesIVA",
                "003" => "TotalRetencionesIEPS",
                _ => continue,
            };
            acc.entry(key).or_default().extend(mxn(r.importe_p));
        }
        for t in ip.traslados_p.iter().filter(|t| t.impuesto_p == "002") {
            let tasa = t.tasa_o_cuota_p.map(|x| x.normalize().to_string());
            let (b, i) = match (t.tipo_factor_p.as_str(), tasa.as_deref()) {
                ("Exento", _) => ("TotalTrasladosBaseIVAExento", None),
                ("Tasa", Some("0.16")) => (
                    "TotalTrasladosBaseIVA16",
                    Some("TotalTrasladosImpuestoIVA16"),
                ),
                ("Tasa", Some("0.08")) => {
                    ("TotalTrasladosBaseIVA8", Some("TotalTrasladosImpuestoIVA8"))
                }
                ("Tasa", Some("0")) => {
                    ("TotalTrasladosBaseIVA0", Some("TotalTrasladosImpuestoIVA0"))
                }
                _ => continue,
            };
            acc.entry(b).or_default().extend(mxn(t.base_p));
            if let (Some(i), Some(v)) = (i, t.importe_p) {
                acc.entry(i).or_default().extend(mxn(v));
            }
        }
    }
    let t = &pagos.totales;
    let n = Decimal::from(pagos.pagos.len().max(1));
    let tol = Decimal::new(1, 2).checked_mul(n).unwrap_or(Decimal::MAX);
    let fields: [(&'static str, &'static str, Option<Decimal>); 10] = [
        ("CRP20201", "TotalRetencionesIVA", t.total_retenciones_iva),
        ("CRP20202", "TotalRetencionesISR", t.total_retenciones_isr),
        ("CRP20203", "TotalRetencionesIEPS", t.total_retenciones_ieps),
        (
            "CRP20204",
            "TotalTrasladosBaseIVA16",
            t.total_traslados_base_iva16,
        ),
        (
            "CRP20205",
            "TotalTrasladosImpuestoIVA16",
            t.total_traslados_impuesto_iva16,
        ),
        (
            "CRP20206",
            "TotalTrasladosBaseIVA8",
            t.total_traslados_base_iva8,
        ),
        (
            "CRP20207",
            "TotalTrasladosImpuestoIVA8",
            t.total_traslados_impuesto_iva8,
        ),
        (
            "CRP20208",
            "TotalTrasladosBaseIVA0",
            t.total_traslados_base_iva0,
        ),
        (
            "CRP20209",
            "TotalTrasladosImpuestoIVA0",
            t.total_traslados_impuesto_iva0,
        ),
        (
            "CRP20210",
            "TotalTrasladosBaseIVAExento",
            t.total_traslados_base_iva_exento,
        ),
    ];
    for (code, name, declared) in fields {
        let computed = acc.get(name).map(|v| sum(v.iter().copied()));
        let path = format!("{base}/Totales/@{name}");
        match (declared, computed) {
            (None, None) => {}
            (Some(v), None) if v.is_zero() => {}
            (Some(v), None) => ctx.error(code, path, format!("El campo {name} ({v}) debe existir solo si hay impuestos de ese tipo en los pagos.")),
            (None, Some(_)) => ctx.error(code, path, format!("Falta el campo {name}: hay impuestos de ese tipo en los pagos.")),
            (Some(v), Some(Some(s))) if !close(v, s, tol) => ctx.error(
                code,
                path,
                format!("El campo {name} ({v}) no es igual a la suma de los impuestos de los pagos por su TipoCambioP ({s})."),
            ),
            _ => {}
        }
    }
    if let Some(s) = sum(montos)
        && !close(t.monto_total_pagos, s, tol)
    {
        ctx.error(
            "CRP20211",
            format!("{base}/Totales/@MontoTotalPagos"),
            format!(
                "El MontoTotalPagos ({}) no es igual a la suma de los Monto de los pagos por su TipoCambioP ({s}).",
                t.monto_total_pagos
            ),
        );
    }
}
