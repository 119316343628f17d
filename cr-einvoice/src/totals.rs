//! Totals engine: computes line amounts and `ResumenFactura` from the line inputs.
//!
//! Inputs per line: `cantidad`, `precio_unitario` (REP: `monto_total`), `descuentos[].monto`,
//! `impuestos[]` (`codigo`, `codigo_tarifa_iva`, `tarifa`, optional `exoneracion` with
//! `tarifa_exonerada`), `impuesto_asumido_emisor_fabrica`. Document inputs: `otros_cargos[].monto`,
//! `resumen.total_iva_devuelto`, `resumen.medios_pago`, currency.
//!
//! Every emitted amount is rounded to 5 decimals (half away from zero) **when it is computed**, and
//! every later value is computed from the rounded ones, so the document's sums hold exactly:
//!
//! * `MontoTotal = Cantidad × PrecioUnitario`; `SubTotal = MontoTotal − Σ MontoDescuento`
//! * `BaseImponible = SubTotal + Σ Monto` of taxes 02, 04, 05, 12 (computed first, on `SubTotal`)
//! * IVA (01, 07) `Monto = BaseImponible × Tarifa / 100`; other taxes with a `Tarifa`:
//!   `SubTotal × Tarifa / 100`; taxes without `Tarifa` or with `DatosImpuestoEspecifico` (unit
//!   based), and IVA 08 with `FactorCalculoIVA`, keep the `monto` given by the caller, rounded
//! * `MontoExoneracion = min(Monto, base × TarifaExonerada / 100)`
//! * `ImpuestoNeto = Σ Monto − Σ MontoExoneracion − ImpuestoAsumidoEmisorFabrica`
//! * `MontoTotalLinea = SubTotal + ImpuestoNeto` (FEE, which has no `ImpuestoNeto`: `SubTotal + Σ Monto`)
//!
//! Combo components (`DetalleSurtido`) get the same line formulas (`MontoTotalSurtido`,
//! `SubTotalSurtido`, `BaseImponibleSurtido`, `MontoImpuestoSurtido`); the amounts of the line
//! that contains them stay the caller's inputs (price and taxes of the combo as sold).
//!
//! Classification of a line's `MontoTotal` (services vs goods by [`es_servicio`]):
//! no IVA tax (01/07/08) → *no sujeto*; IVA with `CodigoTarifaIVA` 10 → *exento*; IVA with an
//! exoneración → the share `TarifaExonerada / Tarifa` (rounded) is *exonerado*, the rest *gravado*;
//! any other IVA (including 0 % tarifas) → *gravado*. FEE has no exonerado / no sujeto totals:
//! its lines without IVA count as exento.
//!
//! `TotalVenta = Σ MontoTotal`, `TotalVentaNeta = TotalVenta − TotalDescuentos`,
//! `TotalDesgloseImpuesto` = Σ (`Monto − MontoExoneracion`) per (`Codigo`, `CodigoTarifaIVA`),
//! `TotalImpuesto = Σ ImpuestoNeto`, `TotalComprobante = TotalVentaNeta + TotalImpuesto +
//! TotalOtrosCargos − TotalIVADevuelto` (= Σ MontoTotalLinea + TotalOtrosCargos − TotalIVADevuelto).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::Error;
use crate::codes;
use crate::model::{Comprobante, DesgloseImpuesto, LineaDetalle, LineaDetalleSurtido};
use crate::tipo::TipoDocumento;

/// Rounds to the 5 decimals of `DecimalDineroType` (half away from zero).
pub fn round5(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(5, RoundingStrategy::MidpointAwayFromZero)
}

/// Whether a line is a service: by CABYS section (first digit 5–9 = services, 0–4 = goods), or
/// when there is no CABYS code, by unit of measure ([`codes::UNIDADES_SERVICIO`]).
pub fn es_servicio(linea: &LineaDetalle) -> bool {
    match linea.codigo_cabys.as_deref().and_then(|c| c.chars().next()) {
        Some(c) if c.is_ascii_digit() => c >= '5',
        _ => codes::UNIDADES_SERVICIO.contains(&linea.unidad_medida.as_str()),
    }
}

/// Tax treatment of a line for `ResumenFactura`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tratamiento {
    /// Gravado with IVA.
    Gravado,
    /// Exento (tarifa 10).
    Exento,
    /// Exonerado in part or fully: the exonerated share of `MontoTotal`.
    Exonerado {
        /// Exonerated share (rounded to 5 decimals).
        exonerado: Decimal,
    },
    /// No sujeto (no IVA tax).
    NoSujeto,
}

fn is_iva(codigo: &str) -> bool {
    codigo == codes::IMPUESTO_IVA
        || codigo == codes::IMPUESTO_IVA_CALCULO_ESPECIAL
        || codigo == codes::IMPUESTO_IVA_BIENES_USADOS
}

fn overflow(what: &'static str) -> Error {
    Error::Overflow(what)
}

fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, Error> {
    a.checked_add(b).ok_or_else(|| overflow(what))
}
fn sub(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, Error> {
    a.checked_sub(b).ok_or_else(|| overflow(what))
}
fn mul(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, Error> {
    a.checked_mul(b).ok_or_else(|| overflow(what))
}
fn percent(a: Decimal, pct: Decimal, what: &'static str) -> Result<Decimal, Error> {
    let x = mul(a, pct, what)?;
    x.checked_div(Decimal::ONE_HUNDRED)
        .ok_or_else(|| overflow(what))
}

/// The treatment of a line whose amounts are already computed (used by the engine and by
/// validation).
pub fn tratamiento(tipo: TipoDocumento, linea: &LineaDetalle) -> Result<Tratamiento, Error> {
    let Some(iva) = linea.impuestos.iter().find(|i| is_iva(&i.codigo)) else {
        return Ok(if tipo == TipoDocumento::FacturaElectronicaExportacion {
            Tratamiento::Exento
        } else {
            Tratamiento::NoSujeto
        });
    };
    if iva.codigo_tarifa_iva.as_deref() == Some(codes::TARIFA_EXENTA) {
        return Ok(Tratamiento::Exento);
    }
    match (&iva.exoneracion, iva.tarifa) {
        (Some(ex), Some(tarifa)) if tarifa > Decimal::ZERO => {
            let share = ex.tarifa_exonerada.min(tarifa);
            let exonerado = mul(linea.monto_total, share, "exonerated share")?
                .checked_div(tarifa)
                .ok_or_else(|| overflow("exonerated share"))?;
            Ok(Tratamiento::Exonerado {
                exonerado: round5(exonerado),
            })
        }
        (Some(_), _) => Ok(Tratamiento::Exonerado {
            exonerado: linea.monto_total,
        }),
        (None, _) => Ok(Tratamiento::Gravado),
    }
}

/// Combo components: the same formulas as a line (MontoTotal, SubTotal, BaseImponible, tax
/// montos); they do not change the amounts of the line that contains them.
fn compute_surtido(tipo: TipoDocumento, c: &mut LineaDetalleSurtido) -> Result<(), Error> {
    c.monto_total = round5(mul(c.cantidad, c.precio_unitario, "MontoTotalSurtido")?);
    let mut descuentos = Decimal::ZERO;
    for d in &mut c.descuentos {
        d.monto = round5(d.monto);
        descuentos = add(descuentos, d.monto, "descuentos")?;
    }
    c.sub_total = sub(c.monto_total, descuentos, "SubTotalSurtido")?;
    let mut base = c.sub_total;
    for imp in c.impuestos.iter_mut().filter(|i| !is_iva(&i.codigo)) {
        imp.monto = match (imp.tarifa, &imp.datos_impuesto_especifico) {
            (Some(t), None) => round5(percent(c.sub_total, t, "MontoImpuestoSurtido")?),
            _ => round5(imp.monto),
        };
        if codes::IMPUESTOS_EN_BASE_IMPONIBLE.contains(&imp.codigo.as_str()) {
            base = add(base, imp.monto, "BaseImponibleSurtido")?;
        }
    }
    for imp in c.impuestos.iter_mut().filter(|i| is_iva(&i.codigo)) {
        imp.monto = match (imp.tarifa, imp.codigo.as_str()) {
            (Some(t), code) if code != codes::IMPUESTO_IVA_BIENES_USADOS => {
                round5(percent(base, t, "MontoImpuestoSurtido")?)
            }
            _ => round5(imp.monto),
        };
    }
    c.base_imponible = if crate::shape::shape(tipo).base_imponible {
        base
    } else {
        Decimal::ZERO
    };
    Ok(())
}

fn compute_line(tipo: TipoDocumento, numero: u32, l: &mut LineaDetalle) -> Result<(), Error> {
    l.numero_linea = numero;
    for c in &mut l.surtido {
        compute_surtido(tipo, c)?;
    }
    if tipo == TipoDocumento::ReciboElectronicoPago {
        l.monto_total = round5(l.monto_total);
    } else {
        l.monto_total = round5(mul(l.cantidad, l.precio_unitario, "MontoTotal")?);
    }
    let mut descuentos = Decimal::ZERO;
    for d in &mut l.descuentos {
        d.monto = round5(d.monto);
        descuentos = add(descuentos, d.monto, "descuentos")?;
    }
    l.sub_total = sub(l.monto_total, descuentos, "SubTotal")?;

    // taxes that are part of the base, on SubTotal
    let mut base = l.sub_total;
    for imp in &mut l.impuestos {
        if is_iva(&imp.codigo) {
            continue;
        }
        imp.monto = match (imp.tarifa, &imp.datos_impuesto_especifico) {
            (Some(t), None) => round5(percent(l.sub_total, t, "Impuesto/Monto")?),
            _ => round5(imp.monto),
        };
        if codes::IMPUESTOS_EN_BASE_IMPONIBLE.contains(&imp.codigo.as_str()) {
            base = add(base, imp.monto, "BaseImponible")?;
        }
    }
    l.base_imponible = base;
    let mut montos = Decimal::ZERO;
    let mut exonerado = Decimal::ZERO;
    for imp in &mut l.impuestos {
        if is_iva(&imp.codigo) {
            imp.monto = match (imp.tarifa, imp.codigo.as_str()) {
                (Some(t), c) if c != codes::IMPUESTO_IVA_BIENES_USADOS => {
                    round5(percent(base, t, "Impuesto/Monto")?)
                }
                _ => round5(imp.monto),
            };
        }
        let tax_base = if is_iva(&imp.codigo) {
            base
        } else {
            l.sub_total
        };
        if let Some(ex) = &mut imp.exoneracion {
            ex.monto =
                round5(percent(tax_base, ex.tarifa_exonerada, "MontoExoneracion")?).min(imp.monto);
            exonerado = add(exonerado, ex.monto, "MontoExoneracion")?;
        }
        if let Some(m) = &mut imp.monto_exportacion {
            *m = round5(*m);
        }
        montos = add(montos, imp.monto, "impuestos")?;
    }
    let asumido = match tipo {
        TipoDocumento::FacturaElectronica
        | TipoDocumento::TiqueteElectronico
        | TipoDocumento::NotaCreditoElectronica
        | TipoDocumento::NotaDebitoElectronica => {
            let a = round5(l.impuesto_asumido_emisor_fabrica.unwrap_or_default());
            l.impuesto_asumido_emisor_fabrica = Some(a);
            a
        }
        _ => {
            l.impuesto_asumido_emisor_fabrica = None;
            Decimal::ZERO
        }
    };
    if tipo == TipoDocumento::FacturaElectronicaExportacion {
        l.impuesto_neto = montos;
    } else {
        l.impuesto_neto = sub(
            sub(montos, exonerado, "ImpuestoNeto")?,
            asumido,
            "ImpuestoNeto",
        )?;
    }
    l.monto_total_linea = add(l.sub_total, l.impuesto_neto, "MontoTotalLinea")?;
    if !crate::shape::shape(tipo).base_imponible {
        // FEE and REP have no BaseImponible element
        l.base_imponible = Decimal::ZERO;
    }
    Ok(())
}

#[derive(Default)]
struct Sums {
    serv: [Decimal; 4],
    merc: [Decimal; 4],
}

fn nonzero(d: Decimal) -> Option<Decimal> {
    (!d.is_zero()).then_some(d)
}

/// Computes every line amount and the whole `ResumenFactura` of `doc` in place.
///
/// Errors only on arithmetic overflow ([`Error::Overflow`]); use [`crate::validate`] to check
/// the inputs (codes, decimals, lengths).
pub fn compute(doc: &mut Comprobante) -> Result<(), Error> {
    let tipo = doc.tipo();
    let mut sums = Sums::default();
    let mut descuentos = Decimal::ZERO;
    let mut venta = Decimal::ZERO;
    let mut impuesto = Decimal::ZERO;
    let mut asumido = Decimal::ZERO;
    let mut desglose: BTreeMap<(String, Option<String>), Decimal> = BTreeMap::new();
    for (i, l) in doc.lineas.iter_mut().enumerate() {
        let numero = u32::try_from(i + 1).map_err(|_| overflow("NumeroLinea"))?;
        compute_line(tipo, numero, l)?;
        let idx = match tratamiento(tipo, l)? {
            Tratamiento::Gravado => [(0, l.monto_total)].to_vec(),
            Tratamiento::Exento => [(1, l.monto_total)].to_vec(),
            Tratamiento::Exonerado { exonerado } => [
                (2, exonerado),
                (0, sub(l.monto_total, exonerado, "gravado")?),
            ]
            .to_vec(),
            Tratamiento::NoSujeto => [(3, l.monto_total)].to_vec(),
        };
        let bucket = if es_servicio(l) {
            &mut sums.serv
        } else {
            &mut sums.merc
        };
        for (k, v) in idx {
            if let Some(slot) = bucket.get_mut(k) {
                *slot = add(*slot, v, "totales")?;
            }
        }
        venta = add(venta, l.monto_total, "TotalVenta")?;
        descuentos = add(
            descuentos,
            sub(l.monto_total, l.sub_total, "descuentos")?,
            "TotalDescuentos",
        )?;
        impuesto = add(impuesto, l.impuesto_neto, "TotalImpuesto")?;
        asumido = add(
            asumido,
            l.impuesto_asumido_emisor_fabrica.unwrap_or_default(),
            "asumido",
        )?;
        for imp in &l.impuestos {
            let neto = sub(
                imp.monto,
                imp.exoneracion
                    .as_ref()
                    .map(|e| e.monto)
                    .unwrap_or_default(),
                "desglose",
            )?;
            let slot = desglose
                .entry((imp.codigo.clone(), imp.codigo_tarifa_iva.clone()))
                .or_default();
            *slot = add(*slot, neto, "TotalMontoImpuesto")?;
        }
    }
    let mut otros = Decimal::ZERO;
    for c in &mut doc.otros_cargos {
        c.monto = round5(c.monto);
        otros = add(otros, c.monto, "TotalOtrosCargos")?;
    }
    let r = &mut doc.resumen;
    let rep = tipo == TipoDocumento::ReciboElectronicoPago;
    let fee = tipo == TipoDocumento::FacturaElectronicaExportacion;
    let (sg, se, sx, sn) = (sums.serv[0], sums.serv[1], sums.serv[2], sums.serv[3]);
    let (mg, me, mx, mn) = (sums.merc[0], sums.merc[1], sums.merc[2], sums.merc[3]);
    let cat = |d: Decimal, allowed: bool| if allowed && !rep { nonzero(d) } else { None };
    r.total_serv_gravados = cat(sg, true);
    r.total_serv_exentos = cat(se, true);
    r.total_serv_exonerado = cat(sx, !fee);
    r.total_serv_no_sujeto = cat(sn, !fee);
    r.total_merc_gravadas = cat(mg, true);
    r.total_merc_exentas = cat(me, true);
    r.total_merc_exonerada = cat(mx, !fee);
    r.total_merc_no_sujeta = cat(mn, !fee);
    r.total_gravado = cat(add(sg, mg, "TotalGravado")?, true);
    r.total_exento = cat(add(se, me, "TotalExento")?, true);
    r.total_exonerado = cat(add(sx, mx, "TotalExonerado")?, !fee);
    r.total_no_sujeto = cat(add(sn, mn, "TotalNoSujeto")?, !fee);
    r.total_venta = venta;
    r.total_descuentos = (!rep).then_some(descuentos);
    r.total_venta_neta = sub(venta, descuentos, "TotalVentaNeta")?;
    r.desglose_impuestos = desglose
        .into_iter()
        .map(|((codigo, codigo_tarifa_iva), total)| DesgloseImpuesto {
            codigo,
            codigo_tarifa_iva,
            total,
        })
        .collect();
    r.total_impuesto = Some(impuesto);
    r.total_imp_asum_emisor_fabrica = if rep { None } else { nonzero(asumido) };
    let iva_devuelto_allowed = matches!(
        tipo,
        TipoDocumento::FacturaElectronica
            | TipoDocumento::TiqueteElectronico
            | TipoDocumento::NotaCreditoElectronica
            | TipoDocumento::NotaDebitoElectronica
    );
    if !iva_devuelto_allowed {
        r.total_iva_devuelto = None;
    }
    r.total_iva_devuelto = r.total_iva_devuelto.map(round5);
    r.total_otros_cargos = if rep || doc.otros_cargos.is_empty() {
        None
    } else {
        Some(otros)
    };
    let mut total = add(r.total_venta_neta, impuesto, "TotalComprobante")?;
    total = add(total, otros, "TotalComprobante")?;
    total = sub(
        total,
        r.total_iva_devuelto.unwrap_or_default(),
        "TotalComprobante",
    )?;
    r.total_comprobante = total;
    for m in &mut r.medios_pago {
        m.total = m.total.map(round5);
    }
    if let [only] = r.medios_pago.as_mut_slice()
        && only.total.is_none()
    {
        only.total = Some(total);
    }
    Ok(())
}
