//! What applies to a received v4.3 FE, NC or ND ([`crate::parse::v43`]): the clave against the emisor and
//! the date (numeric clave, as in the 2024 package), the identifications the 4.3 schemas require, amounts
//! (sign, decimals, size), the line formulas, and the `ResumenFactura` totals against the lines:
//!
//! - line: `MontoTotal = round5(Cantidad × PrecioUnitario)`, `SubTotal = MontoTotal − Σ MontoDescuento`,
//!   `ImpuestoNeto = Σ Monto − Σ MontoExoneracion`, `MontoTotalLinea = SubTotal + ImpuestoNeto`, the IVA
//!   (`Codigo` 01) `Monto = round5((BaseImponible or SubTotal) × Tarifa / 100)`, no exoneration above its tax;
//! - resumen: `TotalVenta = Σ MontoTotal`, `TotalDescuentos = Σ MontoDescuento`,
//!   `TotalVentaNeta = TotalVenta − TotalDescuentos`, `TotalImpuesto = Σ ImpuestoNeto`,
//!   `TotalOtrosCargos = Σ MontoCargo`, `TotalGravado / TotalExento / TotalExonerado` = their servicio +
//!   mercancía parts, `TotalVenta = TotalGravado + TotalExento + TotalExonerado` (when the categories are
//!   given), and `TotalComprobante = TotalVentaNeta + TotalImpuesto + TotalOtrosCargos − TotalIVADevuelto`.
//!
//! Not checked for 4.3: codes against the 4.3 code lists, text lengths and patterns, and how the lines split
//! into servicio / mercancía categories (the receiver relies on Hacienda having validated the document).

use rust_decimal::Decimal;

use super::comprobante::{check_clave, check_clave_emisor};
use super::{Report, Rule, V, plus, sum};
use crate::parse::v43::{Comprobante, Linea};
use crate::revision::SchemaRevision;
use crate::shape::shape;
use crate::tipo::TipoDocumento;
use crate::totals::round5;

/// Validates a received v4.3 comprobante (see the module documentation).
pub(crate) fn comprobante(doc: &Comprobante) -> Report {
    let mut v = V {
        r: Report::default(),
        rev: SchemaRevision::V2024,
        tipo: doc.tipo,
        s: shape(doc.tipo),
        _doc: std::marker::PhantomData,
    };
    // as for 4.4, with the numeric (2024) clave
    check_clave(&mut v, &doc.clave, &doc.fecha_emision);
    match &doc.emisor.identificacion {
        Some(id) => check_clave_emisor(&mut v, &doc.clave, "Emisor", id),
        None => {
            v.r.err(Rule::Required, "Emisor/Identificacion", "required in v4.3")
        }
    }
    if doc.tipo == TipoDocumento::FacturaElectronica
        && doc
            .receptor
            .as_ref()
            .and_then(|r| r.identificacion.as_ref())
            .is_none()
    {
        v.r.err(
            Rule::Required,
            "Receptor/Identificacion",
            "required in a v4.3 FacturaElectronica",
        );
    }
    if matches!(
        doc.tipo,
        TipoDocumento::NotaCreditoElectronica | TipoDocumento::NotaDebitoElectronica
    ) && doc.referencias.is_empty()
    {
        v.r.err(
            Rule::Count,
            "InformacionReferencia",
            "a nota de crédito or débito references the document it corrects",
        );
    }
    let mut venta = Decimal::ZERO;
    let mut desc = Decimal::ZERO;
    let mut imp = Decimal::ZERO;
    for (i, l) in doc.lineas.iter().enumerate() {
        let (d, neto) = linea(&mut v, i, l);
        venta = plus(venta, l.monto_total);
        desc = plus(desc, d);
        imp = plus(imp, neto);
    }
    let otros = sum(doc.otros_cargos.iter());
    resumen(&mut v, doc, [venta, desc, imp, otros]);
    v.r
}

/// Checks one line; returns its discounts and its net tax.
fn linea(v: &mut V<'_>, i: usize, l: &Linea) -> (Decimal, Decimal) {
    let p = format!("DetalleServicio/LineaDetalle[{}]", i + 1);
    for (name, d) in [
        ("PrecioUnitario", l.precio_unitario),
        ("MontoTotal", l.monto_total),
        ("SubTotal", l.sub_total),
        ("MontoTotalLinea", l.monto_total_linea),
    ] {
        v.money(&format!("{p}/{name}"), d);
    }
    v.opt_money(&format!("{p}/ImpuestoNeto"), l.impuesto_neto);
    v.opt_money(&format!("{p}/BaseImponible"), l.base_imponible);
    let desc = sum(l.descuentos.iter());
    let montos = sum(l.impuestos.iter().map(|i| &i.monto));
    let exon = sum(l
        .impuestos
        .iter()
        .filter_map(|i| i.exoneracion.as_ref().map(|e| &e.monto)));
    let mut f = |name: &str, expected: Option<Decimal>, found: Decimal| {
        if expected != Some(found) {
            let e = expected.map_or_else(|| "an amount in range".to_owned(), |e| e.to_string());
            v.r.err(
                Rule::LineFormula,
                format!("{p}/{name}"),
                format!("expected {e}, found {found}"),
            );
        }
    };
    f(
        "MontoTotal",
        l.cantidad.checked_mul(l.precio_unitario).map(round5),
        l.monto_total,
    );
    f("SubTotal", l.monto_total.checked_sub(desc), l.sub_total);
    let computed = montos.checked_sub(exon);
    let neto = match l.impuesto_neto {
        Some(n) => {
            f("ImpuestoNeto", computed, n);
            n
        }
        None => computed.unwrap_or(Decimal::MAX),
    };
    f(
        "MontoTotalLinea",
        l.sub_total.checked_add(neto),
        l.monto_total_linea,
    );
    for (j, imp) in l.impuestos.iter().enumerate() {
        v.money(&format!("{p}/Impuesto[{}]/Monto", j + 1), imp.monto);
        if let Some(e) = &imp.exoneracion {
            let path = format!("{p}/Impuesto[{}]/Exoneracion/MontoExoneracion", j + 1);
            v.money(&path, e.monto);
            if e.monto > imp.monto {
                v.r.err(
                    Rule::LineFormula,
                    path,
                    format!("{} exceeds the tax {}", e.monto, imp.monto),
                );
            }
            if e.porcentaje > 100 {
                v.r.err(
                    Rule::Decimals,
                    format!("{p}/Impuesto[{}]/Exoneracion/PorcentajeExoneracion", j + 1),
                    format!("{} is above 100", e.porcentaje),
                );
            }
        }
        if imp.codigo == crate::codes::IMPUESTO_IVA
            && let Some(t) = imp.tarifa
        {
            let expected = l
                .base_imponible
                .unwrap_or(l.sub_total)
                .checked_mul(t)
                .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                .map(round5);
            if expected != Some(imp.monto) {
                let e = expected.map_or_else(|| "an amount in range".to_owned(), |e| e.to_string());
                v.r.err(
                    Rule::LineFormula,
                    format!("{p}/Impuesto[{}]/Monto", j + 1),
                    format!("expected {e}, found {}", imp.monto),
                );
            }
        }
    }
    (desc, neto)
}

/// `[Σ MontoTotal, Σ MontoDescuento, Σ ImpuestoNeto, Σ MontoCargo]` against `ResumenFactura`.
fn resumen(v: &mut V<'_>, doc: &Comprobante, [venta, desc, imp, otros]: [Decimal; 4]) {
    let r = &doc.resumen;
    let p = "ResumenFactura";
    if let Some(m) = &r.codigo_moneda
        && (m.len() != 3 || !m.bytes().all(|b| b.is_ascii_uppercase()))
    {
        v.r.err(
            Rule::Code,
            format!("{p}/CodigoTipoMoneda/CodigoMoneda"),
            "ISO 4217 code expected",
        );
    }
    let cats = [
        ("TotalServGravados", r.total_serv_gravados),
        ("TotalServExentos", r.total_serv_exentos),
        ("TotalServExonerado", r.total_serv_exonerado),
        ("TotalMercanciasGravadas", r.total_merc_gravadas),
        ("TotalMercanciasExentas", r.total_merc_exentas),
        ("TotalMercExonerada", r.total_merc_exonerada),
        ("TotalGravado", r.total_gravado),
        ("TotalExento", r.total_exento),
        ("TotalExonerado", r.total_exonerado),
        ("TotalDescuentos", r.total_descuentos),
        ("TotalImpuesto", r.total_impuesto),
        ("TotalIVADevuelto", r.total_iva_devuelto),
        ("TotalOtrosCargos", r.total_otros_cargos),
        ("CodigoTipoMoneda/TipoCambio", r.tipo_cambio),
    ];
    for (name, val) in cats {
        v.opt_money(&format!("{p}/{name}"), val);
    }
    for (name, val) in [
        ("TotalVenta", r.total_venta),
        ("TotalVentaNeta", r.total_venta_neta),
        ("TotalComprobante", r.total_comprobante),
    ] {
        v.money(&format!("{p}/{name}"), val);
    }
    let mut check = |name: &str, expected: Decimal, found: Decimal| {
        v.r.totals_formula(format!("{p}/{name}"), expected, found);
    };
    let z = |d: Option<Decimal>| d.unwrap_or(Decimal::ZERO);
    check("TotalVenta", venta, r.total_venta);
    check("TotalDescuentos", desc, z(r.total_descuentos));
    check(
        "TotalVentaNeta",
        r.total_venta
            .checked_sub(z(r.total_descuentos))
            .unwrap_or(Decimal::MAX),
        r.total_venta_neta,
    );
    check("TotalImpuesto", imp, z(r.total_impuesto));
    check("TotalOtrosCargos", otros, z(r.total_otros_cargos));
    let parts = [
        (
            "TotalGravado",
            r.total_gravado,
            r.total_serv_gravados,
            r.total_merc_gravadas,
        ),
        (
            "TotalExento",
            r.total_exento,
            r.total_serv_exentos,
            r.total_merc_exentas,
        ),
        (
            "TotalExonerado",
            r.total_exonerado,
            r.total_serv_exonerado,
            r.total_merc_exonerada,
        ),
    ];
    for (name, total, serv, merc) in parts {
        if total.is_some() || serv.is_some() || merc.is_some() {
            check(name, plus(z(serv), z(merc)), z(total));
        }
    }
    if r.total_gravado.is_some() || r.total_exento.is_some() || r.total_exonerado.is_some() {
        check(
            "TotalVenta",
            plus(
                plus(z(r.total_gravado), z(r.total_exento)),
                z(r.total_exonerado),
            ),
            r.total_venta,
        );
    }
    let expected = plus(
        plus(r.total_venta_neta, z(r.total_impuesto)),
        z(r.total_otros_cargos),
    )
    .checked_sub(z(r.total_iva_devuelto))
    .unwrap_or(Decimal::MAX);
    check("TotalComprobante", expected, r.total_comprobante);
}
