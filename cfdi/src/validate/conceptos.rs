//! Rules on each `Concepto`, its `Impuestos` and its `Parte` nodes.

use rust_decimal::Decimal;

use super::amounts::{importe_limits, tax_limits};
use super::{Ctx, has_comercio_exterior, objeto_imp_conflict, pedimento_pattern_ok};
use crate::catalog::{Catalog, TaxRole, tasa_o_cuota_allowed};
use crate::model::Concepto;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    if ctx.tipo() == "P" {
        pago_concepto(ctx);
    }
    for (i, k) in c.conceptos.iter().enumerate() {
        let base = format!("/Comprobante/Conceptos/Concepto[{}]", i + 1);
        concepto(ctx, k, &base);
        impuestos(ctx, k, &base);
        if let Some(t) = &k.a_cuenta_terceros {
            if !Catalog::RegimenFiscal.contains(&t.regimen_fiscal) {
                ctx.error(
                    "CFDI40191",
                    format!("{base}/ACuentaTerceros/@RegimenFiscalACuentaTerceros"),
                    format!(
                        "El campo RegimenFiscalACuentaTerceros no contiene un valor del catálogo c_RegimenFiscal: {:?}.",
                        t.regimen_fiscal
                    ),
                );
            }
            if !Catalog::CodigoPostal.contains(&t.domicilio_fiscal) {
                ctx.error(
                    "CFDI40193",
                    format!("{base}/ACuentaTerceros/@DomicilioFiscalACuentaTerceros"),
                    format!(
                        "El campo DomicilioFiscalACuentaTerceros no contiene un valor del catálogo c_CodigoPostal: {:?}.",
                        t.domicilio_fiscal
                    ),
                );
            }
        }
        pedimentos(
            ctx,
            &k.informacion_aduanera,
            &base,
            ("CFDI40194", "CFDI40195"),
        );
        for (j, p) in k.partes.iter().enumerate() {
            let pb = format!("{base}/Parte[{}]", j + 1);
            if !Catalog::ClaveProdServ.contains(&p.clave_prod_serv) {
                ctx.error(
                    "CFDI40196",
                    format!("{pb}/@ClaveProdServ"),
                    format!(
                        "El campo ClaveProdServ de la Parte no contiene un valor del catálogo c_ClaveProdServ: {:?}.",
                        p.clave_prod_serv
                    ),
                );
            }
            pedimentos(
                ctx,
                &p.informacion_aduanera,
                &pb,
                ("CFDI40199", "CFDI40200"),
            );
            if let Some(vu) = p.valor_unitario {
                if vu <= Decimal::ZERO {
                    ctx.error(
                        "CFDI40197",
                        format!("{pb}/@ValorUnitario"),
                        format!("El valor del campo ValorUnitario de la Parte debe ser mayor que cero (tiene {vu})."),
                    );
                }
                if let Some(imp) = p.importe {
                    check_importe(
                        ctx,
                        "CFDI40198",
                        &format!("{pb}/@Importe"),
                        p.cantidad,
                        vu,
                        imp,
                    );
                }
            }
        }
    }
}

/// `InformacionAduanera/@NumeroPedimento` values: the cfdv40.xsd pattern (the Matriz also checks aduana, patente
/// and year against SAT catalogs that are not vendored), and none with the comercio exterior complement.
fn pedimentos(
    ctx: &mut Ctx<'_>,
    values: &[String],
    base: &str,
    (pattern, cce): (&'static str, &'static str),
) {
    let with_cce = has_comercio_exterior(ctx.c);
    for (i, n) in values.iter().enumerate() {
        let path = format!("{base}/InformacionAduanera[{}]/@NumeroPedimento", i + 1);
        if with_cce {
            ctx.error(
                cce,
                path,
                "El NumeroPedimento no debe existir si se incluye el complemento de comercio exterior.",
            );
        } else if !pedimento_pattern_ok(n) {
            ctx.error(
                pattern,
                path,
                format!(
                    "El NumeroPedimento {n:?} no cumple con el patrón \"AA  AD  PPPP  NNNNNNN\"."
                ),
            );
        }
    }
}

/// The single concepto of a tipo P comprobante (Pagos 2.0 matrix, CRP201xx).
fn pago_concepto(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    if c.conceptos.len() != 1 {
        ctx.error(
            "CRP20111",
            "/Comprobante/Conceptos",
            format!(
                "Un CFDI de tipo P debe tener un solo Concepto (tiene {}).",
                c.conceptos.len()
            ),
        );
    }
    let Some(k) = c.conceptos.first() else { return };
    let base = "/Comprobante/Conceptos/Concepto[1]";
    let rules: [(&'static str, bool, &str, String); 6] = [
        (
            "CRP20113",
            k.clave_prod_serv == "84111506",
            "ClaveProdServ",
            format!("\"84111506\" (tiene {:?})", k.clave_prod_serv),
        ),
        (
            "CRP20115",
            k.cantidad == Decimal::ONE,
            "Cantidad",
            format!("1 (tiene {})", k.cantidad),
        ),
        (
            "CRP20116",
            k.clave_unidad == "ACT",
            "ClaveUnidad",
            format!("\"ACT\" (tiene {:?})", k.clave_unidad),
        ),
        (
            "CRP20119",
            k.valor_unitario.is_zero(),
            "ValorUnitario",
            format!("0 (tiene {})", k.valor_unitario),
        ),
        (
            "CRP20120",
            k.importe.is_zero(),
            "Importe",
            format!("0 (tiene {})", k.importe),
        ),
        (
            "CRP20122",
            k.objeto_imp == "01",
            "ObjetoImp",
            format!("\"01\" (tiene {:?})", k.objeto_imp),
        ),
    ];
    for (code, ok, attr, expect) in rules {
        if !ok {
            ctx.error(
                code,
                format!("{base}/@{attr}"),
                format!("En un CFDI de tipo P el campo {attr} del Concepto debe ser {expect}."),
            );
        }
    }
    if k.impuestos.is_some() {
        ctx.error(
            "CRP20123",
            format!("{base}/Impuestos"),
            "En un CFDI de tipo P el Concepto no debe tener el nodo Impuestos.",
        );
    }
}

fn check_importe(
    ctx: &mut Ctx<'_>,
    code: &'static str,
    path: &str,
    cant: Decimal,
    vu: Decimal,
    imp: Decimal,
) {
    let dp = ctx.dec.unwrap_or_else(|| imp.scale());
    if let Some((lo, hi)) = importe_limits(cant, vu, dp)
        && (imp < lo || imp > hi)
    {
        ctx.error(
            code,
            path.to_owned(),
            format!(
                "El valor del campo Importe ({imp}) no se encuentra entre el límite inferior ({lo}) y superior ({hi}) \
                 de Cantidad × ValorUnitario ({cant} × {vu})."
            ),
        );
    }
}

fn concepto(ctx: &mut Ctx<'_>, k: &Concepto, base: &str) {
    if !Catalog::ClaveProdServ.contains(&k.clave_prod_serv) {
        ctx.error(
            "CFDI40162",
            format!("{base}/@ClaveProdServ"),
            format!(
                "El campo ClaveProdServ no contiene un valor del catálogo c_ClaveProdServ: {:?}.",
                k.clave_prod_serv
            ),
        );
    }
    if !Catalog::ClaveUnidad.contains(&k.clave_unidad) {
        ctx.error(
            "CFDI40165",
            format!("{base}/@ClaveUnidad"),
            format!(
                "El campo ClaveUnidad no contiene un valor del catálogo c_ClaveUnidad: {:?}.",
                k.clave_unidad
            ),
        );
    }
    if matches!(ctx.tipo(), "I" | "E" | "N") && k.valor_unitario <= Decimal::ZERO {
        ctx.error(
            "CFDI40166",
            format!("{base}/@ValorUnitario"),
            format!(
                "Si el TipoDeComprobante es I, E o N, el ValorUnitario debe ser mayor que cero (tiene {}).",
                k.valor_unitario
            ),
        );
    }
    check_importe(
        ctx,
        "CFDI40167",
        &format!("{base}/@Importe"),
        k.cantidad,
        k.valor_unitario,
        k.importe,
    );
    if let Some(desc) = k.descuento {
        if desc.scale() > k.importe.scale() {
            ctx.error(
                "CFDI40168",
                format!("{base}/@Descuento"),
                format!(
                    "El Descuento ({desc}) tiene más decimales que el Importe del concepto ({}).",
                    k.importe
                ),
            );
        }
        if desc > k.importe {
            ctx.error(
                "CFDI40169",
                format!("{base}/@Descuento"),
                format!(
                    "El Descuento ({desc}) es mayor que el Importe del concepto ({}).",
                    k.importe
                ),
            );
        }
    }
    let obj = k.objeto_imp.as_str();
    if !Catalog::ObjetoImp.contains(obj) {
        ctx.error(
            "CFDI40170",
            format!("{base}/@ObjetoImp"),
            format!("El campo ObjetoImp no contiene un valor del catálogo c_ObjetoImp: {obj:?}."),
        );
    } else if obj == "02" && k.impuestos.is_none() {
        ctx.error(
            "CFDI40171",
            format!("{base}/@ObjetoImp"),
            "Si el ObjetoImp es \"02\", el nodo Impuestos del concepto debe existir.",
        );
    } else if matches!(obj, "01" | "03" | "04" | "05") && k.impuestos.is_some() {
        ctx.error(
            "CFDI40172",
            format!("{base}/Impuestos"),
            format!("Si el ObjetoImp es {obj:?}, el nodo Impuestos del concepto no debe existir."),
        );
    } else {
        let tras: Vec<&str> = k
            .impuestos
            .iter()
            .flat_map(|i| &i.traslados)
            .map(|t| t.impuesto.as_str())
            .collect();
        let ret: Vec<&str> = k
            .impuestos
            .iter()
            .flat_map(|i| &i.retenciones)
            .map(|r| r.impuesto.as_str())
            .collect();
        if let Some(problem) = objeto_imp_conflict(obj, &tras, &ret) {
            ctx.error(
                "CFDI40172",
                format!("{base}/@ObjetoImp"),
                format!("Los impuestos del concepto no corresponden al ObjetoImp: {problem}."),
            );
        }
    }
}

fn impuestos(ctx: &mut Ctx<'_>, k: &Concepto, base: &str) {
    let Some(imp) = &k.impuestos else { return };
    if imp.traslados.is_empty() && imp.retenciones.is_empty() {
        ctx.error(
            "CFDI40173",
            format!("{base}/Impuestos"),
            "El nodo Impuestos del concepto debe contener Traslados o Retenciones.",
        );
    }
    for (j, t) in imp.traslados.iter().enumerate() {
        let p = format!("{base}/Impuestos/Traslados/Traslado[{}]", j + 1);
        if t.base <= Decimal::ZERO {
            ctx.error(
                "CFDI40174",
                format!("{p}/@Base"),
                format!(
                    "La Base del traslado debe ser mayor que cero (tiene {}).",
                    t.base
                ),
            );
        }
        if !Catalog::Impuesto.contains(&t.impuesto) {
            ctx.error(
                "CFDI40175",
                format!("{p}/@Impuesto"),
                format!(
                    "El campo Impuesto no contiene un valor del catálogo c_Impuesto: {:?}.",
                    t.impuesto
                ),
            );
        }
        if !Catalog::TipoFactor.contains(&t.tipo_factor) {
            ctx.error(
                "CFDI40176",
                format!("{p}/@TipoFactor"),
                format!(
                    "El campo TipoFactor no contiene un valor del catálogo c_TipoFactor: {:?}.",
                    t.tipo_factor
                ),
            );
            continue;
        }
        match (t.tipo_factor.as_str(), t.tasa_o_cuota, t.importe) {
            ("Exento", None, None) => {}
            ("Exento", _, _) => ctx.error(
                "CFDI40177",
                format!("{p}/@TipoFactor"),
                "Si el TipoFactor es Exento, no deben existir TasaOCuota ni Importe.",
            ),
            (_, Some(tasa), Some(importe)) => {
                if !tasa_o_cuota_allowed(&t.impuesto, &t.tipo_factor, tasa, TaxRole::Traslado) {
                    ctx.error(
                        "CFDI40179",
                        format!("{p}/@TasaOCuota"),
                        format!(
                            "La TasaOCuota {tasa} no es un valor del catálogo c_TasaOCuota para el traslado de {} {}.",
                            t.impuesto, t.tipo_factor
                        ),
                    );
                }
                tax_importe(ctx, "CFDI40180", &p, t.base, tasa, importe);
            }
            _ => ctx.error(
                "CFDI40178",
                format!("{p}/@TipoFactor"),
                "Si el TipoFactor es Tasa o Cuota, deben existir TasaOCuota e Importe.",
            ),
        }
    }
    for (j, r) in imp.retenciones.iter().enumerate() {
        let p = format!("{base}/Impuestos/Retenciones/Retencion[{}]", j + 1);
        if r.base <= Decimal::ZERO {
            ctx.error(
                "CFDI40181",
                format!("{p}/@Base"),
                format!(
                    "La Base de la retención debe ser mayor que cero (tiene {}).",
                    r.base
                ),
            );
        }
        if !Catalog::Impuesto.contains(&r.impuesto) {
            ctx.error(
                "CFDI40182",
                format!("{p}/@Impuesto"),
                format!(
                    "El campo Impuesto no contiene un valor del catálogo c_Impuesto: {:?}.",
                    r.impuesto
                ),
            );
        }
        if !Catalog::TipoFactor.contains(&r.tipo_factor) {
            ctx.error(
                "CFDI40183",
                format!("{p}/@TipoFactor"),
                format!(
                    "El campo TipoFactor no contiene un valor del catálogo c_TipoFactor: {:?}.",
                    r.tipo_factor
                ),
            );
            continue;
        }
        if r.tipo_factor == "Exento" {
            ctx.error(
                "CFDI40184",
                format!("{p}/@TipoFactor"),
                "El TipoFactor de una retención no puede ser Exento.",
            );
            continue;
        }
        if !tasa_o_cuota_allowed(
            &r.impuesto,
            &r.tipo_factor,
            r.tasa_o_cuota,
            TaxRole::Retencion,
        ) {
            ctx.error(
                "CFDI40185",
                format!("{p}/@TasaOCuota"),
                format!(
                    "La TasaOCuota {} no es un valor del catálogo c_TasaOCuota para la retención de {} {}.",
                    r.tasa_o_cuota, r.impuesto, r.tipo_factor
                ),
            );
        }
        tax_importe(ctx, "CFDI40186", &p, r.base, r.tasa_o_cuota, r.importe);
    }
}

fn tax_importe(
    ctx: &mut Ctx<'_>,
    code: &'static str,
    path: &str,
    base: Decimal,
    tasa: Decimal,
    importe: Decimal,
) {
    let dp = ctx.dec.unwrap_or_else(|| importe.scale());
    if let Some((lo, hi)) = tax_limits(base, tasa, dp)
        && (importe < lo || importe > hi)
    {
        ctx.error(
            code,
            format!("{path}/@Importe"),
            format!(
                "El Importe ({importe}) no se encuentra entre el límite inferior ({lo}) y superior ({hi}) de \
                 Base × TasaOCuota ({base} × {tasa})."
            ),
        );
    }
}
