//! Rules on the `Comprobante` attributes, `InformacionGlobal`, `CfdiRelacionados`, `Emisor` and `Receptor`.

use chrono::{NaiveDateTime, TimeDelta};
use rust_decimal::Decimal;

use super::amounts::{equals_rounded, exceeds, sum};
use super::{
    Ctx, RFC_EXTRANJERO, RFC_PUBLICO_GENERAL, has_comercio_exterior, is_generic_rfc, rfc_pattern_ok,
};
use crate::catalog::{
    Catalog, Persona, regimen_persona, uso_cfdi_allows_regimen, uso_cfdi_persona,
};
use crate::model::Complemento;

const ROOT: &str = "/Comprobante";

pub(super) fn check(ctx: &mut Ctx<'_>) {
    fecha(ctx);
    tipo_y_pago(ctx);
    moneda(ctx);
    totales(ctx);
    exportacion_lugar(ctx);
    informacion_global(ctx);
    relacionados(ctx);
    emisor(ctx);
    receptor(ctx);
}

fn fecha(ctx: &mut Ctx<'_>) {
    let path = format!("{ROOT}/@Fecha");
    let parsed = (ctx.c.fecha.len() == 19)
        .then(|| NaiveDateTime::parse_from_str(&ctx.c.fecha, "%Y-%m-%dT%H:%M:%S").ok())
        .flatten();
    let Some(fecha) = parsed else {
        ctx.error(
            "CFDI40101",
            path,
            format!(
                "El campo Fecha no cumple con el patrón AAAA-MM-DDThh:mm:ss: {:?}.",
                ctx.c.fecha
            ),
        );
        return;
    };
    if let Some(at) = ctx.options.certification_time {
        let window = TimeDelta::hours(72);
        if fecha > at || at.signed_duration_since(fecha) > window {
            ctx.error(
                "CFDI40101",
                path,
                format!(
                    "El campo Fecha ({fecha}) no está dentro de las 72 horas anteriores a la certificación ({at})."
                ),
            );
        }
    }
}

fn tipo_y_pago(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let tipo = c.tipo_de_comprobante.as_str();
    if !Catalog::TipoDeComprobante.contains(tipo) {
        ctx.error(
            "CFDI40121",
            format!("{ROOT}/@TipoDeComprobante"),
            format!("El campo TipoDeComprobante no contiene un valor del catálogo c_TipoDeComprobante: {tipo:?}."),
        );
    }
    let sin_pago = matches!(tipo, "T" | "N" | "P");
    match (&c.forma_pago, sin_pago) {
        (Some(fp), true) => ctx.error(
            "CFDI40103",
            format!("{ROOT}/@FormaPago"),
            format!("Si el TipoDeComprobante es T, N o P, el campo FormaPago no debe existir (tiene {fp:?})."),
        ),
        (Some(fp), false) if !Catalog::FormaPago.contains(fp) => ctx.error(
            "CFDI40104",
            format!("{ROOT}/@FormaPago"),
            format!("El campo FormaPago no contiene un valor del catálogo c_FormaPago: {fp:?}."),
        ),
        // FormaPago is optional in cfdv40.xsd and PACs stamp I/E documents without it (e.g. the satcfdi samples),
        // so its absence is only a warning; the Guía de llenado asks for it whenever the payment form is known.
        (None, false) if matches!(tipo, "I" | "E") => ctx.warning(
            "CFDI40104",
            format!("{ROOT}/@FormaPago"),
            "No existe el campo FormaPago en un comprobante de tipo I o E; regístrelo (\"99\" si aún no se conoce).",
        ),
        _ => {}
    }
    match &c.metodo_pago {
        Some(mp) if matches!(tipo, "T" | "P") => ctx.error(
            "CFDI40125",
            format!("{ROOT}/@MetodoPago"),
            format!("Si el TipoDeComprobante es T o P, el campo MetodoPago no debe existir (tiene {mp:?})."),
        ),
        Some(mp) if !Catalog::MetodoPago.contains(mp) => ctx.error(
            "CFDI40124",
            format!("{ROOT}/@MetodoPago"),
            format!("El campo MetodoPago no contiene un valor del catálogo c_MetodoPago: {mp:?}."),
        ),
        Some(mp) if mp == "PPD" && c.forma_pago.as_deref().is_some_and(|fp| fp != "99") => ctx.error(
            "CFDI40105",
            format!("{ROOT}/@FormaPago"),
            format!(
                "Si el MetodoPago es PPD, el campo FormaPago debe contener el valor \"99\" (tiene {:?}).",
                c.forma_pago.as_deref().unwrap_or_default()
            ),
        ),
        _ => {}
    }
    if tipo == "P" && c.condiciones_de_pago.is_some() {
        ctx.error(
            "CRP20107",
            format!("{ROOT}/@CondicionesDePago"),
            "En un CFDI de tipo P el campo CondicionesDePago no debe existir.",
        );
    }
    if tipo == "P" && c.exportacion != "01" {
        ctx.error(
            "CRP20102",
            format!("{ROOT}/@Exportacion"),
            format!(
                "En un CFDI de tipo P el campo Exportacion debe ser \"01\" (tiene {:?}).",
                c.exportacion
            ),
        );
    }
}

fn moneda(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let moneda = c.moneda.as_str();
    if !Catalog::Moneda.contains(moneda) {
        ctx.error(
            "CFDI40113",
            format!("{ROOT}/@Moneda"),
            format!("El campo Moneda no contiene un valor del catálogo c_Moneda: {moneda:?}."),
        );
    }
    if matches!(ctx.tipo(), "T" | "P") && moneda != "XXX" {
        ctx.error(
            "CFDI40113",
            format!("{ROOT}/@Moneda"),
            format!("Si el TipoDeComprobante es T o P, el campo Moneda debe ser \"XXX\" (tiene {moneda:?})."),
        );
    }
    let path = format!("{ROOT}/@TipoCambio");
    match (moneda, c.tipo_cambio) {
        ("MXN", Some(tc)) if tc != Decimal::ONE => ctx.error(
            "CFDI40114",
            path,
            format!("Si la Moneda es MXN, el campo TipoCambio debe ser \"1\" o no existir (tiene {tc})."),
        ),
        ("XXX", Some(tc)) => ctx.error(
            "CFDI40116",
            path,
            format!("Si la Moneda es XXX, el campo TipoCambio no debe existir (tiene {tc})."),
        ),
        ("MXN" | "XXX", _) => {}
        (_, None) => ctx.error(
            "CFDI40115",
            path,
            format!("Si la Moneda ({moneda}) es distinta de MXN y de XXX, el campo TipoCambio debe existir."),
        ),
        (_, Some(tc)) if tc <= Decimal::ZERO || tc.scale() > 6 => ctx.error(
            "CFDI40117",
            path,
            format!("El campo TipoCambio no cumple con el patrón requerido (positivo, hasta 6 decimales): {tc}."),
        ),
        _ => {}
    }
}

fn totales(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let dec = ctx.dec;
    let dp = ctx.dp();
    let tipo = ctx.tipo().to_owned();
    if exceeds(c.sub_total, dec) {
        ctx.error(
            "CFDI40107",
            format!("{ROOT}/@SubTotal"),
            format!(
                "El valor del campo SubTotal ({}) excede la cantidad de decimales que soporta la moneda {} ({}).",
                c.sub_total,
                c.moneda,
                dp
            ),
        );
    }
    if matches!(tipo.as_str(), "T" | "P") {
        if !c.sub_total.is_zero() {
            ctx.error(
                "CFDI40109",
                format!("{ROOT}/@SubTotal"),
                format!(
                    "Si el TipoDeComprobante es T o P, el SubTotal debe ser cero (tiene {}).",
                    c.sub_total
                ),
            );
        }
        if !c.total.is_zero() {
            ctx.error(
                "CFDI40119",
                format!("{ROOT}/@Total"),
                format!(
                    "Si el TipoDeComprobante es T o P, el Total debe ser cero (tiene {}).",
                    c.total
                ),
            );
        }
    } else if let Some(raw) = sum(c.conceptos.iter().map(|k| k.importe))
        && !equals_rounded(c.sub_total, raw, dp)
    {
        ctx.error(
            "CFDI40108",
            format!("{ROOT}/@SubTotal"),
            format!(
                "El SubTotal ({}) no es igual al redondeo de la suma de los importes de los conceptos ({raw}).",
                c.sub_total
            ),
        );
    }
    // Descuento.
    let concept_desc: Vec<Decimal> = c.conceptos.iter().filter_map(|k| k.descuento).collect();
    if !matches!(tipo.as_str(), "I" | "E" | "N")
        && (c.descuento.is_some() || !concept_desc.is_empty())
    {
        ctx.error(
            "CFDI40111",
            format!("{ROOT}/@Descuento"),
            "Si el TipoDeComprobante no es I, E o N, no deben existir descuentos.",
        );
    }
    if let Some(desc) = c.descuento {
        if exceeds(desc, dec) {
            ctx.error(
                "CFDI40112",
                format!("{ROOT}/@Descuento"),
                format!("El valor del campo Descuento ({desc}) excede la cantidad de decimales que soporta la moneda."),
            );
        }
        if desc > c.sub_total {
            ctx.error(
                "CFDI40110",
                format!("{ROOT}/@Descuento"),
                format!(
                    "El Descuento ({desc}) no es menor o igual que el SubTotal ({}).",
                    c.sub_total
                ),
            );
        }
    }
    if let Some(raw) = sum(concept_desc.iter().copied()) {
        let declared = c.descuento.unwrap_or(Decimal::ZERO);
        if !equals_rounded(declared, raw, dp) {
            ctx.error(
                "CFDI40110",
                format!("{ROOT}/@Descuento"),
                format!(
                    "El Descuento ({declared}) no es igual al redondeo de la suma de los descuentos de los conceptos ({raw})."
                ),
            );
        }
    }
    // Total.
    if exceeds(c.total, dec) {
        ctx.error(
            "CFDI40119",
            format!("{ROOT}/@Total"),
            format!("El valor del campo Total ({}) excede la cantidad de decimales que soporta la moneda.", c.total),
        );
    }
    if matches!(tipo.as_str(), "T" | "P") {
        return;
    }
    let has_implocal = c.complemento.iter().flatten().any(|k| {
        matches!(k, Complemento::Other(raw) if raw.namespace() == "http://www.sat.gob.mx/implocal")
    });
    let tras = c
        .impuestos
        .as_ref()
        .and_then(|i| i.total_impuestos_trasladados)
        .unwrap_or_default();
    let ret = c
        .impuestos
        .as_ref()
        .and_then(|i| i.total_impuestos_retenidos)
        .unwrap_or_default();
    let expected = c
        .sub_total
        .checked_sub(c.descuento.unwrap_or_default())
        .and_then(|v| v.checked_add(tras))
        .and_then(|v| v.checked_sub(ret));
    if let Some(expected) = expected
        && !equals_rounded(c.total, expected, dp)
    {
        if has_implocal {
            ctx.warning(
                "CFDI40119",
                format!("{ROOT}/@Total"),
                format!(
                    "El Total ({}) difiere de SubTotal − Descuento + Trasladados − Retenidos ({expected}); el documento \
                     tiene el complemento de impuestos locales, cuyos importes no se suman aquí.",
                    c.total
                ),
            );
        } else {
            ctx.error(
                "CFDI40119",
                format!("{ROOT}/@Total"),
                format!(
                    "El Total ({}) no es igual a SubTotal − Descuento + TotalImpuestosTrasladados − \
                     TotalImpuestosRetenidos ({expected}).",
                    c.total
                ),
            );
        }
    }
}

fn exportacion_lugar(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    if !Catalog::Exportacion.contains(&c.exportacion) {
        ctx.error(
            "CFDI40123",
            format!("{ROOT}/@Exportacion"),
            format!(
                "El campo Exportacion no contiene un valor del catálogo c_Exportacion: {:?}.",
                c.exportacion
            ),
        );
    } else if c.exportacion == "02" && !has_comercio_exterior(c) {
        ctx.error(
            "CFDI40122",
            format!("{ROOT}/@Exportacion"),
            "Si el campo Exportacion es \"02\", debe existir el complemento para comercio exterior.",
        );
    }
    if !Catalog::CodigoPostal.contains(&c.lugar_expedicion) {
        ctx.error(
            "CFDI40126",
            format!("{ROOT}/@LugarExpedicion"),
            format!(
                "El campo LugarExpedicion no contiene un valor del catálogo c_CodigoPostal: {:?}.",
                c.lugar_expedicion
            ),
        );
    }
}

fn informacion_global(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let publico =
        c.receptor.rfc == RFC_PUBLICO_GENERAL && c.receptor.nombre == "PUBLICO EN GENERAL";
    let Some(ig) = &c.informacion_global else {
        if publico && matches!(ctx.tipo(), "I" | "E") {
            ctx.error(
                "CFDI40130",
                format!("{ROOT}/InformacionGlobal"),
                "Si el Rfc del receptor es XAXX010101000 y el Nombre es \"PUBLICO EN GENERAL\", debe existir el \
                 nodo InformacionGlobal.",
            );
        }
        return;
    };
    let base = format!("{ROOT}/InformacionGlobal");
    if !publico {
        ctx.error(
            "CFDI40130",
            base.clone(),
            format!(
                "El nodo InformacionGlobal solo debe existir si el Rfc del receptor es XAXX010101000 y el Nombre es \
                 \"PUBLICO EN GENERAL\" (tiene {:?} / {:?}).",
                c.receptor.rfc, c.receptor.nombre
            ),
        );
    }
    if !Catalog::Periodicidad.contains(&ig.periodicidad) {
        ctx.error(
            "CFDI40131",
            format!("{base}/@Periodicidad"),
            format!(
                "El campo Periodicidad no contiene un valor del catálogo c_Periodicidad: {:?}.",
                ig.periodicidad
            ),
        );
    } else if ig.periodicidad == "05" && c.emisor.regimen_fiscal != "621" {
        ctx.error(
            "CFDI40132",
            format!("{base}/@Periodicidad"),
            format!(
                "La Periodicidad \"05\" (bimestral) solo aplica si el RegimenFiscal del emisor es 621 (tiene {:?}).",
                c.emisor.regimen_fiscal
            ),
        );
    }
    if !Catalog::Meses.contains(&ig.meses) {
        ctx.error(
            "CFDI40133",
            format!("{base}/@Meses"),
            format!(
                "El campo Meses no contiene un valor del catálogo c_Meses: {:?}.",
                ig.meses
            ),
        );
    } else {
        let bimestral = ig.meses.as_str() >= "13";
        match ig.periodicidad.as_str() {
            "01" | "02" | "03" | "04" if bimestral => ctx.error(
                "CFDI40134",
                format!("{base}/@Meses"),
                format!(
                    "Con Periodicidad {:?}, el campo Meses debe contener un valor entre 01 y 12 (tiene {:?}).",
                    ig.periodicidad, ig.meses
                ),
            ),
            "05" if !bimestral => ctx.error(
                "CFDI40135",
                format!("{base}/@Meses"),
                format!(
                    "Con Periodicidad \"05\", el campo Meses debe contener un valor entre 13 y 18 (tiene {:?}).",
                    ig.meses
                ),
            ),
            _ => {}
        }
    }
    let year_fecha: Option<i32> = c.fecha.get(0..4).and_then(|y| y.parse().ok());
    let anio: Option<i32> = (ig.anio.len() == 4).then(|| ig.anio.parse().ok()).flatten();
    match (anio, year_fecha) {
        (Some(a), Some(y)) if a == y || Some(a) == y.checked_sub(1) => {}
        _ => ctx.error(
            "CFDI40136",
            format!("{base}/@Año"),
            format!(
                "El campo Año ({:?}) debe ser el año de la Fecha del comprobante o el inmediato anterior.",
                ig.anio
            ),
        ),
    }
}

fn relacionados(ctx: &mut Ctx<'_>) {
    for (i, rel) in ctx.c.cfdi_relacionados.iter().enumerate() {
        // 08 and 09 ("Factura generada por pagos en parcialidades / diferidos") are in the vendored catCFDI.xsd
        // enumeration, but SAT's c_TipoRelacion for CFDI 4.0 ends their vigencia on 2022-06-30 (catCFDI.xls
        // "Fecha fin de vigencia", as reproduced in public dumps of the 4.0 catalog).
        let expired = matches!(rel.tipo_relacion.as_str(), "08" | "09")
            && ctx.c.fecha.get(0..10).is_none_or(|d| d > "2022-06-30");
        if !Catalog::TipoRelacion.contains(&rel.tipo_relacion) || expired {
            ctx.error(
                "CFDI40137",
                format!("{ROOT}/CfdiRelacionados[{}]/@TipoRelacion", i + 1),
                format!(
                    "El campo TipoRelacion no contiene un valor vigente del catálogo c_TipoRelacion: {:?}.",
                    rel.tipo_relacion
                ),
            );
        }
    }
}

fn emisor(ctx: &mut Ctx<'_>) {
    let e = &ctx.c.emisor;
    let path = format!("{ROOT}/Emisor/@RegimenFiscal");
    if !Catalog::RegimenFiscal.contains(&e.regimen_fiscal) {
        ctx.error(
            "CFDI40140",
            path,
            format!(
                "El campo RegimenFiscal no contiene un valor del catálogo c_RegimenFiscal: {:?}.",
                e.regimen_fiscal
            ),
        );
    } else if let Some(p) = Persona::of_rfc(&e.rfc)
        && regimen_persona(&e.regimen_fiscal, p) == Some(false)
    {
        ctx.error(
            "CFDI40141",
            path,
            format!(
                "El RegimenFiscal {:?} no corresponde al tipo de persona del Rfc del emisor ({:?}).",
                e.regimen_fiscal, e.rfc
            ),
        );
    }
}

fn receptor(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let r = &c.receptor;
    let base = format!("{ROOT}/Receptor");
    let generic = is_generic_rfc(&r.rfc);
    if !rfc_pattern_ok(&r.rfc) {
        ctx.error(
            "CFDI40143",
            format!("{base}/@Rfc"),
            format!(
                "El campo Rfc del receptor no cumple con el patrón de un RFC: {:?}.",
                r.rfc
            ),
        );
    }
    if r.nombre == "PUBLICO EN GENERAL" && r.rfc != RFC_PUBLICO_GENERAL {
        ctx.error(
            "CFDI40146",
            format!("{base}/@Rfc"),
            format!(
                "Si el Nombre del receptor es \"PUBLICO EN GENERAL\", el Rfc debe ser XAXX010101000 (tiene {:?}).",
                r.rfc
            ),
        );
    }
    if !Catalog::CodigoPostal.contains(&r.domicilio_fiscal_receptor) {
        ctx.error(
            "CFDI40148",
            format!("{base}/@DomicilioFiscalReceptor"),
            format!(
                "El campo DomicilioFiscalReceptor no contiene un valor del catálogo c_CodigoPostal: {:?}.",
                r.domicilio_fiscal_receptor
            ),
        );
    } else if generic && r.domicilio_fiscal_receptor != c.lugar_expedicion {
        ctx.error(
            "CFDI40149",
            format!("{base}/@DomicilioFiscalReceptor"),
            format!(
                "Con RFC genérico, el DomicilioFiscalReceptor ({:?}) debe ser igual al LugarExpedicion ({:?}).",
                r.domicilio_fiscal_receptor, c.lugar_expedicion
            ),
        );
    }
    if let Some(res) = &r.residencia_fiscal {
        let path = format!("{base}/@ResidenciaFiscal");
        if !Catalog::Pais.contains(res) {
            ctx.error(
                "CFDI40150",
                path,
                format!(
                    "El campo ResidenciaFiscal no contiene un valor del catálogo c_Pais: {res:?}."
                ),
            );
        } else if res == "MEX" {
            ctx.error(
                "CFDI40152",
                path,
                "El campo ResidenciaFiscal no debe contener el valor \"MEX\".",
            );
        } else if r.rfc != RFC_EXTRANJERO {
            ctx.error(
                "CFDI40151",
                path,
                "El campo ResidenciaFiscal solo debe existir si el Rfc del receptor es el genérico extranjero.",
            );
        }
    }
    if r.num_reg_id_trib.is_some() && r.rfc != RFC_EXTRANJERO {
        ctx.error(
            "CFDI40154",
            format!("{base}/@NumRegIdTrib"),
            "El campo NumRegIdTrib solo debe existir si el Rfc del receptor es el genérico extranjero.",
        );
    } else if r.num_reg_id_trib.is_some() && r.residencia_fiscal.is_none() {
        ctx.error(
            "CFDI40153",
            format!("{base}/@ResidenciaFiscal"),
            "Si existe el campo NumRegIdTrib, debe existir el campo ResidenciaFiscal.",
        );
    }
    if r.rfc == RFC_EXTRANJERO && r.num_reg_id_trib.is_none() && has_comercio_exterior(c) {
        ctx.error(
            "CFDI40155",
            format!("{base}/@NumRegIdTrib"),
            "Con RFC genérico extranjero y complemento de comercio exterior, debe existir el campo NumRegIdTrib.",
        );
    }
    let regimen = r.regimen_fiscal_receptor.as_str();
    let persona = Persona::of_rfc(&r.rfc);
    let reg_path = format!("{base}/@RegimenFiscalReceptor");
    let regimen_ok = Catalog::RegimenFiscal.contains(regimen);
    if !regimen_ok {
        ctx.error(
            "CFDI40157",
            reg_path,
            format!("El campo RegimenFiscalReceptor no contiene un valor del catálogo c_RegimenFiscal: {regimen:?}."),
        );
    } else if generic && regimen != "616" {
        ctx.error(
            "CFDI40158",
            reg_path,
            format!("Con RFC genérico, el RegimenFiscalReceptor debe ser 616 (tiene {regimen:?})."),
        );
    } else if let Some(p) = persona
        && regimen_persona(regimen, p) == Some(false)
    {
        ctx.error(
            "CFDI40158",
            reg_path,
            format!(
                "El RegimenFiscalReceptor {regimen:?} no corresponde al tipo de persona del Rfc {:?}.",
                r.rfc
            ),
        );
    }
    let uso = r.uso_cfdi.as_str();
    let uso_path = format!("{base}/@UsoCFDI");
    // P01 ("Por definir", CFDI 3.3) is still in the vendored catCFDI.xsd enumeration but not in the CFDI 4.0
    // c_UsoCFDI; the 4.0 usos are exactly those of the relation table.
    if !Catalog::UsoCfdi.contains(uso) || uso_cfdi_persona(uso, Persona::Fisica).is_none() {
        ctx.error(
            "CFDI40160",
            uso_path,
            format!(
                "El campo UsoCFDI no contiene un valor del catálogo c_UsoCFDI de CFDI 4.0: {uso:?}."
            ),
        );
        return;
    }
    let required = match ctx.tipo() {
        "P" => Some("CP01"),
        "N" => Some("CN01"),
        _ if generic => Some("S01"),
        _ => None,
    };
    if let Some(req) = required
        && uso != req
    {
        ctx.error(
            "CFDI40161",
            uso_path,
            format!(
                "El UsoCFDI debe ser {req:?} para este comprobante (TipoDeComprobante {:?}, Rfc {:?}); tiene {uso:?}.",
                c.tipo_de_comprobante, r.rfc
            ),
        );
    } else if let Some(p) = persona
        && uso_cfdi_persona(uso, p) == Some(false)
    {
        ctx.error(
            "CFDI40161",
            uso_path,
            format!(
                "El UsoCFDI {uso:?} no corresponde al tipo de persona del Rfc {:?}.",
                r.rfc
            ),
        );
    } else if regimen_ok && uso_cfdi_allows_regimen(uso, regimen) == Some(false) {
        ctx.error(
            "CFDI40161",
            uso_path,
            format!("El UsoCFDI {uso:?} no corresponde con el RegimenFiscalReceptor {regimen:?} (c_UsoCFDI)."),
        );
    }
}
