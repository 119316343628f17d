//! `erp_hub_core::model` → unsigned [`Comprobante`] (FE, TE, NC, ND, REP). The clave is a placeholder
//! until the consecutivo is allocated ([`super::CrStep`] sets it inside the numbering transaction).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use erp_hub_core::model::{
    CedulaType, CreditNote, Customer, Invoice, InvoiceLine, Item, ItemKind, Payment, TaxId,
};
use erp_hub_core::tax::{Discount, PriceMode, TaxKind, TaxRate};
use rust_decimal::{Decimal, RoundingStrategy};

use super::error::CrHubError;
use super::profile::CrProfile;
use crate::clave::{Clave, CodigoSeguridad, Consecutivo, Situacion};
use crate::model::{
    Comprobante, Descuento, Identificacion, Impuesto, InformacionReferencia, LineaDetalle,
    MedioPago, Parte, ResumenFactura, TipoIdentificacion,
};
use crate::{TipoDocumento, codes};

/// The paper document a situación-2 comprobante replaces (from the record's `passthrough.cr_contingencia`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Papel {
    pub(crate) numero: String,
    pub(crate) fecha: DateTime<FixedOffset>,
}

/// A mapped document, its clave not yet allocated.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) doc: Comprobante,
    pub(crate) papel: Option<Papel>,
}

impl Draft {
    pub(crate) fn tipo(&self) -> TipoDocumento {
        self.doc.tipo()
    }
}

/// A document this one refers to: its clave, tipo and FechaEmision (read from the journalled XML).
#[derive(Debug, Clone)]
pub(crate) struct Referenced {
    pub(crate) clave: String,
    pub(crate) tipo: TipoDocumento,
    pub(crate) fecha: DateTime<FixedOffset>,
    pub(crate) total: Decimal,
    pub(crate) condicion_venta: String,
    pub(crate) tarifa: Option<(String, Decimal)>,
}

fn field(record: &str, field: impl Into<String>, problem: impl Into<String>) -> CrHubError {
    CrHubError::Field {
        record: record.to_owned(),
        field: field.into(),
        problem: problem.into(),
    }
}

/// A placeholder clave of the right tipo (replaced once the consecutivo is allocated).
fn placeholder(
    profile: &CrProfile,
    tipo: TipoDocumento,
    fecha: &DateTime<FixedOffset>,
    record: &str,
) -> Result<Clave, CrHubError> {
    let consecutivo = Consecutivo::new(u32::from(profile.sucursal), profile.terminal, tipo, 1)
        .map_err(|e| field(record, "sucursal/terminal", e.to_string()))?;
    let codigo =
        CodigoSeguridad::from_number(0).map_err(|e| field(record, "clave", e.to_string()))?;
    Clave::new(
        Clave::fecha_de(fecha),
        &profile.emisor.numero,
        consecutivo,
        Situacion::Normal,
        &codigo,
    )
    .map_err(|e| field(record, "emisor.numero", e.to_string()))
}

fn cedula(customer: &Customer) -> Option<(CedulaType, &str)> {
    customer.tax_ids.iter().find_map(|t| match t {
        TaxId::CrCedula { kind, number } => Some((*kind, number.as_str())),
        _ => None,
    })
}

fn receptor(customer: &Customer, record: &str) -> Result<Option<Parte>, CrHubError> {
    let Some((kind, number)) = cedula(customer) else {
        return Ok(None);
    };
    let tipo = TipoIdentificacion::from_code(kind.code()).ok_or_else(|| {
        field(
            record,
            "customer.tax_ids.cr_cedula.kind",
            "unknown identification type",
        )
    })?;
    let mut p =
        Parte::new(&customer.legal_name).with_identificacion(Identificacion::new(tipo, number));
    if let Some(c) = &customer.email {
        p = p.with_correo(c);
    }
    Ok(Some(p))
}

fn papel(record: &str, passthrough: &serde_json::Value) -> Result<Option<Papel>, CrHubError> {
    let Some(c) = passthrough.get("cr_contingencia") else {
        return Ok(None);
    };
    let numero = c
        .get("numero")
        .and_then(|v| v.as_str())
        .ok_or_else(|| field(record, "passthrough.cr_contingencia.numero", "is missing"))?;
    let fecha = c
        .get("fecha")
        .and_then(|v| v.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| {
            field(
                record,
                "passthrough.cr_contingencia.fecha",
                "is missing or not RFC 3339",
            )
        })?;
    Ok(Some(Papel {
        numero: numero.to_owned(),
        fecha,
    }))
}

fn resumen(
    record: &str,
    currency: &str,
    rate: Option<Decimal>,
) -> Result<ResumenFactura, CrHubError> {
    if currency == "CRC" {
        return Ok(ResumenFactura::new("CRC", Decimal::ONE));
    }
    let rate = rate.ok_or_else(|| {
        field(
            record,
            "exchange_rate",
            format!("is required for a document in {currency}"),
        )
    })?;
    Ok(ResumenFactura::new(currency, rate))
}

fn linea(
    profile: &CrProfile,
    items: &BTreeMap<String, Item>,
    record: &str,
    i: usize,
    l: &InvoiceLine,
    tipo: TipoDocumento,
) -> Result<LineaDetalle, CrHubError> {
    let mapping = match &l.item {
        Some(r) => match profile.items.get(r) {
            Some(m) => m,
            None => match items.get(r).map(|it| it.kind) {
                Some(ItemKind::Service) => &profile.cabys_servicio,
                _ => &profile.cabys_mercancia,
            },
        },
        None => &profile.cabys_mercancia,
    };
    let mut out = LineaDetalle::new(
        &mapping.cabys,
        l.quantity,
        &mapping.unidad,
        &l.description,
        l.unit_price,
    );
    if matches!(
        tipo,
        TipoDocumento::FacturaElectronica | TipoDocumento::TiqueteElectronico
    ) {
        out = out.with_impuesto_asumido_emisor_fabrica(Decimal::ZERO);
    }
    match &l.discount {
        None => {}
        Some(Discount::Amount(m)) => {
            out = out.with_descuento(
                Descuento::new(m.amount(), "07").with_naturaleza("Descuento comercial"),
            );
        }
        Some(Discount::Percent(p)) => {
            let monto = (l.quantity * l.unit_price * *p / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(5, RoundingStrategy::MidpointAwayFromZero);
            out = out
                .with_descuento(Descuento::new(monto, "07").with_naturaleza("Descuento comercial"));
        }
        Some(_) => {
            return Err(field(
                record,
                format!("lines[{i}].discount"),
                "kind not supported",
            ));
        }
    }
    for (t, tax) in l.taxes.iter().enumerate() {
        let at = || format!("lines[{i}].taxes[{t}]");
        if tax.kind != TaxKind::Transferred {
            return Err(field(
                record,
                at(),
                "withholdings do not exist on Costa Rican comprobantes",
            ));
        }
        if !tax.code.eq_ignore_ascii_case("IVA") {
            return Err(field(
                record,
                at(),
                format!("tax code `{}` has no Hacienda mapping (only IVA)", tax.code),
            ));
        }
        let imp = match &tax.rate {
            TaxRate::Percent(p) => {
                let codigo = profile.tarifa(*p).ok_or_else(|| {
                    field(
                        record,
                        at(),
                        format!("IVA {p} % has no CodigoTarifaIVA mapping"),
                    )
                })?;
                Impuesto::iva(&codigo, *p)
            }
            TaxRate::Zero => Impuesto::iva("01", Decimal::ZERO),
            TaxRate::Exempt => Impuesto::iva(codes::TARIFA_EXENTA, Decimal::ZERO),
            _ => return Err(field(record, at(), "per-unit IVA does not exist")),
        };
        out = out.with_impuesto(imp);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn venta(
    profile: &CrProfile,
    record: &str,
    customer: &Customer,
    items: &BTreeMap<String, Item>,
    lines: &[InvoiceLine],
    price_mode: PriceMode,
    currency: &str,
    rate: Option<Decimal>,
    fecha: DateTime<FixedOffset>,
    tipo_con_receptor: TipoDocumento,
    passthrough: &serde_json::Value,
) -> Result<Draft, CrHubError> {
    if price_mode != PriceMode::Exclusive {
        return Err(field(
            record,
            "price_mode",
            "must be exclusive (PrecioUnitario is net of IVA)",
        ));
    }
    if lines.is_empty() {
        return Err(field(record, "lines", "is empty"));
    }
    let receptor = receptor(customer, record)?;
    // A receptor without identification gets a tiquete (TE) instead of a factura.
    let tipo = match (&receptor, tipo_con_receptor) {
        (None, TipoDocumento::FacturaElectronica) => TipoDocumento::TiqueteElectronico,
        _ => tipo_con_receptor,
    };
    let clave = placeholder(profile, tipo, &fecha, record)?;
    let mut doc = Comprobante::new(
        clave,
        fecha,
        &profile.proveedor_sistemas,
        profile.emisor_parte()?,
        receptor,
    );
    doc.codigo_actividad_emisor = Some(profile.emisor.codigo_actividad.clone());
    doc.resumen = resumen(record, currency, rate)?;
    doc.lineas = lines
        .iter()
        .enumerate()
        .map(|(i, l)| linea(profile, items, record, i, l, tipo))
        .collect::<Result<_, _>>()?;
    let papel = papel(record, passthrough)?;
    if let Some(p) = &papel {
        doc.referencias.push(
            InformacionReferencia::new("08", p.fecha)
                .with_numero(&p.numero)
                .with_codigo("05")
                .with_razon("Sustituye comprobante provisional por contingencia"),
        );
    }
    Ok(Draft { doc, papel })
}

/// The passthrough key of an ERP invoice that replaces an invoice Hacienda rejected: its value is the
/// rejected invoice's external reference.
pub const SUSTITUYE_RECHAZADO: &str = "cr_sustituye_rechazado";

/// Invoice → FE (TE when the customer has no cédula); a `passthrough.cr_nota_debito_de` names the
/// invoice it debits, and then it becomes an ND referencing that invoice's clave (`referenced`).
/// `substitutes` (from `passthrough.cr_sustituye_rechazado`) is a comprobante Hacienda rejected that this one
/// replaces: `InformacionReferencia` TipoDocIR `10`, Numero its clave, Codigo `16` (2026 revision).
pub(crate) fn map_invoice(
    profile: &CrProfile,
    inv: &Invoice,
    customer: &Customer,
    items: &BTreeMap<String, Item>,
    fecha: DateTime<FixedOffset>,
    referenced: Option<&Referenced>,
    substitutes: Option<&Referenced>,
) -> Result<Draft, CrHubError> {
    let r = &inv.external_ref;
    let tipo = if referenced.is_some() {
        TipoDocumento::NotaDebitoElectronica
    } else {
        TipoDocumento::FacturaElectronica
    };
    let mut d = venta(
        profile,
        r,
        customer,
        items,
        &inv.lines,
        inv.price_mode,
        inv.currency.code(),
        inv.exchange_rate,
        fecha,
        tipo,
        &inv.passthrough,
    )?;
    if let Some(due) = inv.due_date {
        let days = (due - inv.issue_date).num_days();
        if days > 0 {
            d.doc.condicion_venta = if profile.credito_iva_diferido {
                CONDICION_CREDITO_IVA_90.to_owned()
            } else {
                codes::CONDICION_CREDITO.to_owned()
            };
            d.doc.plazo_credito = u32::try_from(days).ok();
        }
    }
    if d.doc.condicion_venta == codes::CONDICION_CONTADO {
        d.doc
            .resumen
            .medios_pago
            .push(MedioPago::new(codes::MEDIO_PAGO_EFECTIVO));
    }
    if let Some(orig) = referenced {
        d.doc.referencias.push(
            InformacionReferencia::new(orig.tipo.code(), orig.fecha)
                .with_numero(&orig.clave)
                .with_codigo("04")
                .with_razon(
                    inv.memo
                        .clone()
                        .unwrap_or_else(|| "Nota de débito".to_owned()),
                ),
        );
    }
    if let Some(rejected) = substitutes {
        if d.doc.revision < crate::SchemaRevision::V2026 {
            return Err(field(
                r,
                format!("passthrough.{SUSTITUYE_RECHAZADO}"),
                format!(
                    "CodigoReferencia {} (sustituye comprobante electrónico rechazado) exists only from the \
                     2026 revision; this document is dated under the {} revision",
                    codes::CODIGO_REFERENCIA_SUSTITUYE_RECHAZADO,
                    d.doc.revision
                ),
            ));
        }
        d.doc.referencias.push(
            InformacionReferencia::new(codes::TIPO_DOC_REFERENCIA_RECHAZADO, rejected.fecha)
                .with_numero(&rejected.clave)
                .with_codigo(codes::CODIGO_REFERENCIA_SUSTITUYE_RECHAZADO)
                .with_razon(
                    "Sustituye comprobante electrónico rechazado por el Ministerio de Hacienda",
                ),
        );
    }
    Ok(d)
}

/// Credit note → NC with `InformacionReferencia` to the credited comprobante's clave (código `01` when it
/// credits the whole total, else `04`).
pub(crate) fn map_credit_note(
    profile: &CrProfile,
    cn: &CreditNote,
    customer: &Customer,
    items: &BTreeMap<String, Item>,
    fecha: DateTime<FixedOffset>,
    original: &Referenced,
) -> Result<Draft, CrHubError> {
    let r = &cn.external_ref;
    let mut d = venta(
        profile,
        r,
        customer,
        items,
        &cn.lines,
        cn.price_mode,
        cn.currency.code(),
        cn.exchange_rate,
        fecha,
        TipoDocumento::NotaCreditoElectronica,
        &cn.passthrough,
    )?;
    let mut probe = d.doc.clone();
    probe.compute_totals().map_err(|e| CrHubError::Document {
        record: r.clone(),
        source: Box::new(e),
    })?;
    let codigo = if probe.resumen.total_comprobante == original.total {
        "01"
    } else {
        "04"
    };
    d.doc.referencias.push(
        InformacionReferencia::new(original.tipo.code(), original.fecha)
            .with_numero(&original.clave)
            .with_codigo(codigo)
            .with_razon(
                cn.reason
                    .clone()
                    .unwrap_or_else(|| "Nota de crédito".to_owned()),
            ),
    );
    Ok(d)
}

/// CondicionVenta `10` of an FE: credit sale whose IVA is due on payment, up to 90 days (LIVA art. 27).
const CONDICION_CREDITO_IVA_90: &str = "10";
/// CondicionVenta `11` of the REP that records a payment of such a sale.
const CONDICION_REP_CREDITO_IVA_90: &str = "11";

/// Payment → REP (ReciboElectronicoPago, CondicionVenta `11`) when every paid invoice was sold with
/// CondicionVenta `10` (credit sale whose IVA is declared when paid, ≤ 90 days): the only ERP case whose
/// IVA moves with the payment. REP with CondicionVenta `09` (payments of services to the State) is out of
/// scope: the ERP model carries no signal that a customer is a State entity. `None` for every other payment:
/// Costa Rica has no payment document for ordinary cash or credit sales.
pub(crate) fn map_payment(
    profile: &CrProfile,
    p: &Payment,
    customer: &Customer,
    paid: &[Referenced],
    fecha: DateTime<FixedOffset>,
) -> Result<Option<Draft>, CrHubError> {
    let r = &p.external_ref;
    if paid.is_empty()
        || !paid
            .iter()
            .all(|i| i.condicion_venta == CONDICION_CREDITO_IVA_90)
    {
        return Ok(None);
    }
    let tipo = TipoDocumento::ReciboElectronicoPago;
    let mut emisor = profile.emisor_parte()?;
    emisor.ubicacion = None;
    let receptor = receptor(customer, r)?.ok_or_else(|| {
        field(
            r,
            "customer.tax_ids",
            "a REP needs a receptor with a cédula",
        )
    })?;
    let clave = placeholder(profile, tipo, &fecha, r)?;
    let mut doc = Comprobante::new(
        clave,
        fecha,
        &profile.proveedor_sistemas,
        emisor,
        Some(receptor),
    );
    doc.condicion_venta = CONDICION_REP_CREDITO_IVA_90.to_owned();
    doc.resumen = resumen(r, p.currency.code(), p.exchange_rate)?;
    for (i, (app, inv)) in p.applications.iter().zip(paid).enumerate() {
        let (codigo, rate) = inv
            .tarifa
            .clone()
            .unwrap_or_else(|| (codes::TARIFA_EXENTA.to_owned(), Decimal::ZERO));
        // The amount paid includes the IVA: the line carries its base, the IVA is computed on it.
        let base = (app.amount * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + rate))
            .round_dp_with_strategy(5, RoundingStrategy::MidpointAwayFromZero);
        let mut l = LineaDetalle {
            monto_total: base,
            detalle: format!("Pago {} de la factura {}", i + 1, inv.clave),
            ..LineaDetalle::default()
        };
        l.impuestos.push(Impuesto::iva(&codigo, rate));
        doc.lineas.push(l);
        doc.referencias.push(
            InformacionReferencia::new(inv.tipo.code(), inv.fecha)
                .with_numero(&inv.clave)
                .with_codigo(codes::CODIGO_REFERENCIA_PAGO)
                .with_razon("Pago de factura a crédito"),
        );
    }
    doc.resumen
        .medios_pago
        .push(MedioPago::new(codes::MEDIO_PAGO_TRANSFERENCIA));
    let papel = papel(r, &p.passthrough)?;
    Ok(Some(Draft { doc, papel }))
}
