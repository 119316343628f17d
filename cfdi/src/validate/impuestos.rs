//! Rules on the comprobante-level `Impuestos` node: totals, decimals and grouping of the concepto taxes
//! (traslados by Impuesto + TipoFactor + TasaOCuota, retenciones by Impuesto).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::Ctx;
use super::amounts::{equals_rounded, exceeds, sum};
use crate::catalog::{Catalog, TaxRole, tasa_o_cuota_allowed};
use crate::model::Impuestos;

const BASE: &str = "/Comprobante/Impuestos";

/// Grouping key of a traslado: (Impuesto, TipoFactor, normalized TasaOCuota).
type Key = (String, String, Option<Decimal>);

#[derive(Default)]
struct Acc {
    base: Vec<Decimal>,
    importe: Vec<Decimal>,
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    if matches!(ctx.tipo(), "T" | "P") {
        if c.impuestos.is_some() {
            ctx.error(
                "CFDI40201",
                BASE,
                "Si el TipoDeComprobante es T o P, el nodo Impuestos no debe existir.",
            );
        }
        return;
    }
    // Concepto taxes, grouped.
    let mut tras: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut ret: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    for k in &c.conceptos {
        let Some(imp) = &k.impuestos else { continue };
        for t in &imp.traslados {
            let acc = tras
                .entry((
                    t.impuesto.clone(),
                    t.tipo_factor.clone(),
                    t.tasa_o_cuota.map(|d| d.normalize()),
                ))
                .or_default();
            acc.base.push(t.base);
            acc.importe.extend(t.importe);
        }
        for r in &imp.retenciones {
            ret.entry(r.impuesto.clone()).or_default().push(r.importe);
        }
    }
    let empty = Impuestos::default();
    let imp = c.impuestos.as_ref().unwrap_or(&empty);
    retenciones(ctx, imp, &ret);
    traslados(ctx, imp, &tras);
}

fn retenciones(
    ctx: &mut Ctx<'_>,
    imp: &Impuestos,
    from_conceptos: &BTreeMap<String, Vec<Decimal>>,
) {
    let dec = ctx.dec;
    let dp = ctx.dp();
    if let Some(total) = imp.total_impuestos_retenidos {
        if exceeds(total, dec) {
            ctx.error(
                "CFDI40202",
                format!("{BASE}/@TotalImpuestosRetenidos"),
                format!("El TotalImpuestosRetenidos ({total}) excede la cantidad de decimales que soporta la moneda."),
            );
        }
        if let Some(s) = sum(imp.retenciones.iter().map(|r| r.importe))
            && !equals_rounded(total, s, dp)
        {
            ctx.error(
                "CFDI40203",
                format!("{BASE}/@TotalImpuestosRetenidos"),
                format!("El TotalImpuestosRetenidos ({total}) no es igual a la suma de los importes de las retenciones ({s})."),
            );
        }
    } else if !imp.retenciones.is_empty() || !from_conceptos.is_empty() {
        ctx.error(
            "CFDI40206",
            format!("{BASE}/@TotalImpuestosRetenidos"),
            "Hay retenciones en los conceptos o en el comprobante, pero no existe el campo TotalImpuestosRetenidos.",
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, r) in imp.retenciones.iter().enumerate() {
        let p = format!("{BASE}/Retenciones/Retencion[{}]", i + 1);
        if !Catalog::Impuesto.contains(&r.impuesto) {
            ctx.error(
                "CFDI40207",
                format!("{p}/@Impuesto"),
                format!(
                    "El campo Impuesto no contiene un valor del catálogo c_Impuesto: {:?}.",
                    r.impuesto
                ),
            );
        }
        if seen.contains(&r.impuesto.as_str()) {
            ctx.error(
                "CFDI40208",
                format!("{p}/@Impuesto"),
                format!(
                    "Debe haber un solo registro de retención por impuesto; {:?} se repite.",
                    r.impuesto
                ),
            );
            continue;
        }
        seen.push(&r.impuesto);
        if exceeds(r.importe, dec) {
            ctx.error(
                "CFDI40210",
                format!("{p}/@Importe"),
                format!(
                    "El Importe ({}) excede la cantidad de decimales que soporta la moneda.",
                    r.importe
                ),
            );
        }
        let raw = from_conceptos
            .get(&r.impuesto)
            .map(|v| sum(v.iter().copied()));
        match raw {
            Some(Some(s)) if !equals_rounded(r.importe, s, dp) => ctx.error(
                "CFDI40211",
                format!("{p}/@Importe"),
                format!(
                    "El Importe de la retención {} ({}) no es igual al redondeo de la suma de las retenciones de los \
                     conceptos ({s}).",
                    r.impuesto, r.importe
                ),
            ),
            None => ctx.error(
                "CFDI40211",
                format!("{p}/@Importe"),
                format!("No hay retenciones de {} en los conceptos.", r.impuesto),
            ),
            _ => {}
        }
    }
    for impuesto in from_conceptos.keys() {
        if !seen.contains(&impuesto.as_str()) {
            ctx.error(
                "CFDI40211",
                format!("{BASE}/Retenciones"),
                format!("Falta la retención de {impuesto} que tienen los conceptos."),
            );
        }
    }
}

fn traslados(ctx: &mut Ctx<'_>, imp: &Impuestos, from_conceptos: &BTreeMap<Key, Acc>) {
    let dec = ctx.dec;
    let dp = ctx.dp();
    let any_importe = imp.traslados.iter().any(|t| t.importe.is_some());
    if let Some(total) = imp.total_impuestos_trasladados {
        if exceeds(total, dec) {
            ctx.error(
                "CFDI40204",
                format!("{BASE}/@TotalImpuestosTrasladados"),
                format!("El TotalImpuestosTrasladados ({total}) excede la cantidad de decimales que soporta la moneda."),
            );
        }
        if let Some(s) = sum(imp.traslados.iter().filter_map(|t| t.importe))
            && !equals_rounded(total, s, dp)
        {
            ctx.error(
                "CFDI40205",
                format!("{BASE}/@TotalImpuestosTrasladados"),
                format!("El TotalImpuestosTrasladados ({total}) no es igual a la suma de los importes de los traslados ({s})."),
            );
        }
    } else if any_importe {
        ctx.error(
            "CFDI40212",
            format!("{BASE}/@TotalImpuestosTrasladados"),
            "Hay traslados con Importe, pero no existe el campo TotalImpuestosTrasladados.",
        );
    }
    let mut seen: Vec<Key> = Vec::new();
    for (i, t) in imp.traslados.iter().enumerate() {
        let p = format!("{BASE}/Traslados/Traslado[{}]", i + 1);
        let key: Key = (
            t.impuesto.clone(),
            t.tipo_factor.clone(),
            t.tasa_o_cuota.map(|d| d.normalize()),
        );
        if !Catalog::Impuesto.contains(&t.impuesto) {
            ctx.error(
                "CFDI40217",
                format!("{p}/@Impuesto"),
                format!(
                    "El campo Impuesto no contiene un valor del catálogo c_Impuesto: {:?}.",
                    t.impuesto
                ),
            );
        }
        if seen.contains(&key) {
            ctx.error(
                "CFDI40218",
                format!("{p}/@Impuesto"),
                format!(
                    "Debe haber un solo traslado por combinación de Impuesto, TipoFactor y TasaOCuota; ({}, {}, {}) \
                     se repite.",
                    t.impuesto,
                    t.tipo_factor,
                    super::fmt_tasa(t.tasa_o_cuota)
                ),
            );
            continue;
        }
        seen.push(key.clone());
        if !Catalog::TipoFactor.contains(&t.tipo_factor) {
            ctx.error(
                "CFDI40213",
                format!("{p}/@TipoFactor"),
                format!(
                    "El campo TipoFactor no contiene un valor del catálogo c_TipoFactor: {:?}.",
                    t.tipo_factor
                ),
            );
        }
        if let Some(tasa) = t.tasa_o_cuota
            && !tasa_o_cuota_allowed(&t.impuesto, &t.tipo_factor, tasa, TaxRole::Traslado)
        {
            ctx.error(
                "CFDI40219",
                format!("{p}/@TasaOCuota"),
                format!(
                    "La TasaOCuota {tasa} no corresponde al catálogo c_TasaOCuota para {} {}.",
                    t.impuesto, t.tipo_factor
                ),
            );
        }
        if exceeds(t.base, dec) {
            ctx.error(
                "CFDI40214",
                format!("{p}/@Base"),
                format!(
                    "La Base ({}) excede la cantidad de decimales que soporta la moneda.",
                    t.base
                ),
            );
        }
        if let Some(importe) = t.importe
            && exceeds(importe, dec)
        {
            ctx.error(
                "CFDI40220",
                format!("{p}/@Importe"),
                format!(
                    "El Importe ({importe}) excede la cantidad de decimales que soporta la moneda."
                ),
            );
        }
        let Some(acc) = from_conceptos.get(&key) else {
            ctx.error(
                "CFDI40221",
                p,
                format!(
                    "No hay traslados de ({}, {}, {}) en los conceptos.",
                    t.impuesto,
                    t.tipo_factor,
                    super::fmt_tasa(t.tasa_o_cuota)
                ),
            );
            continue;
        };
        if let Some(s) = sum(acc.base.iter().copied())
            && !equals_rounded(t.base, s, dp)
        {
            ctx.error(
                "CFDI40215",
                format!("{p}/@Base"),
                format!(
                    "La Base ({}) no es igual al redondeo de la suma de las bases de los conceptos con el mismo \
                     Impuesto, TipoFactor y TasaOCuota ({s}).",
                    t.base
                ),
            );
        }
        if let (Some(importe), Some(s)) = (t.importe, sum(acc.importe.iter().copied()))
            && !equals_rounded(importe, s, dp)
        {
            ctx.error(
                "CFDI40221",
                format!("{p}/@Importe"),
                format!(
                    "El Importe ({importe}) no es igual al redondeo de la suma de los importes de los conceptos con el \
                     mismo Impuesto, TipoFactor y TasaOCuota ({s})."
                ),
            );
        }
    }
    for (key, _) in from_conceptos.iter() {
        if !seen.contains(key) {
            ctx.error(
                "CFDI40221",
                format!("{BASE}/Traslados"),
                format!(
                    "Falta el traslado ({}, {}, {}) que tienen los conceptos.",
                    key.0,
                    key.1,
                    super::fmt_tasa(key.2)
                ),
            );
        }
    }
}
