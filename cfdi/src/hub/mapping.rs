//! ERP records (`erp_hub_core::model`) → unsealed CFDI 4.0 comprobantes.

use std::collections::BTreeMap;

use erp_hub_core::model::{CreditNote, Customer, Invoice, InvoiceLine, Item, Payment};
use erp_hub_core::tax::{PriceMode, TaxBreakdown, TaxKind};
use rust_decimal::{Decimal, RoundingStrategy};

use super::error::FiscalError;
use super::profile::{FiscalProfile, sat_rate};
use crate::Comprobante;
use crate::build::{
    ComprobanteBuilder, ConceptoInput, DoctoInput, PagoBuilder, PagosBuilder, TipoFactor,
};
use crate::model::{CfdiRelacionados, InformacionGlobal};

fn cfdi_err(record: &str) -> impl Fn(crate::Error) -> FiscalError + '_ {
    move |source| FiscalError::Cfdi {
        record: record.to_owned(),
        source: Box::new(source),
    }
}

fn field(record: &str, field: &'static str, problem: impl Into<String>) -> FiscalError {
    FiscalError::Field {
        record: record.to_owned(),
        field,
        problem: problem.into(),
    }
}

fn passthrough<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.pointer(&format!("/cfdi/{key}")).and_then(|v| v.as_str())
}

/// `(Moneda, TipoCambio)` of a document; `TipoCambio` is required unless MXN.
fn moneda(
    record: &str,
    currency: erp_hub_core::money::Currency,
    rate: Option<Decimal>,
) -> Result<(String, Option<Decimal>), FiscalError> {
    let code = currency.code().to_owned();
    if crate::catalog::moneda_decimals(&code).is_none() {
        return Err(field(
            record,
            "currency",
            format!("{code} is not in c_Moneda"),
        ));
    }
    if code == "MXN" {
        return Ok((code, None));
    }
    match rate {
        Some(r) if r > Decimal::ZERO => Ok((code, Some(r))),
        Some(r) => Err(field(
            record,
            "exchange_rate",
            format!("{r} must be positive"),
        )),
        None => Err(field(
            record,
            "exchange_rate",
            format!("is required for a document in {code} (CFDI TipoCambio: MXN per {code})"),
        )),
    }
}

fn breakdown_err(record: &str) -> impl Fn(erp_hub_core::Error) -> FiscalError + '_ {
    move |e| field(record, "lines", e.to_string())
}

/// The conceptos of document lines.
fn conceptos(
    profile: &FiscalProfile,
    record: &str,
    lines: &[InvoiceLine],
    mode: PriceMode,
    breakdown: &TaxBreakdown,
    items: &BTreeMap<String, Item>,
) -> Result<Vec<ConceptoInput>, FiscalError> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, (line, bl)) in lines.iter().zip(&breakdown.lines).enumerate() {
        let item = line.item.as_deref().and_then(|r| items.get(r));
        let (clave_prod_serv, clave_unidad, item_objeto) = profile.line_keys(
            record,
            i,
            line.item.as_deref(),
            item.and_then(|it| it.unit.as_deref()),
        )?;
        if line.description.trim().is_empty() {
            return Err(FiscalError::Field {
                record: record.to_owned(),
                field: "lines.description",
                problem: format!("line {i} has no description (CFDI Descripcion is required)"),
            });
        }
        let valor_unitario = match mode {
            PriceMode::Exclusive => line.unit_price,
            // Net unit value of a tax-inclusive line, to the 6 decimals CFDI allows; the total check below
            // catches the cases where that cannot reproduce the ERP's amounts.
            _ => ((bl.net.amount() + bl.discount.amount()) / line.quantity)
                .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero),
        };
        let mut k = ConceptoInput::new(
            clave_prod_serv,
            clave_unidad,
            line.description.trim(),
            line.quantity,
            valor_unitario,
        );
        if let Some(it) = item {
            k = k.no_identificacion(&it.code);
        }
        if !bl.discount.is_zero() {
            k = k.descuento(bl.discount.amount());
        }
        let mut objeto = item_objeto;
        let mut reported = 0;
        for tax in &line.taxes {
            let (impuesto, forced) = profile.tax_keys(record, i, &tax.code)?;
            if objeto.is_none() {
                objeto = forced;
            }
            let Some(impuesto) = impuesto else { continue };
            let (factor, rate) = sat_rate(&tax.rate).ok_or_else(|| FiscalError::Unmapped {
                record: record.to_owned(),
                line: i,
                field: "taxes",
                value: format!("{} {:?}", tax.code, tax.rate),
                catalog: "c_TipoFactor",
            })?;
            if !tax.base_includes.is_empty() {
                // CFDI 4.0 has no compound base: every tax's Base is the concepto's Importe − Descuento.
                return Err(FiscalError::Unmapped {
                    record: record.to_owned(),
                    line: i,
                    field: "taxes",
                    value: format!("{} over {:?}", tax.code, tax.base_includes),
                    catalog: "c_TipoFactor (CFDI has no compound tax base)",
                });
            }
            k = match (tax.kind, factor) {
                (TaxKind::Withheld, TipoFactor::Tasa) => k.retencion(&impuesto, rate),
                (TaxKind::Withheld, _) => {
                    return Err(FiscalError::Unmapped {
                        record: record.to_owned(),
                        line: i,
                        field: "taxes",
                        value: format!("withheld {} {:?}", tax.code, tax.rate),
                        catalog: "c_TipoFactor (withholdings are Tasa only)",
                    });
                }
                (_, f) => k.traslado(&impuesto, f, rate),
            };
            reported += 1;
        }
        match objeto {
            Some(o) => k = k.objeto_imp(o),
            None if reported == 0 => k = k.objeto_imp("01"),
            None => {}
        }
        out.push(k);
    }
    Ok(out)
}

fn folio(number: Option<&str>, external_ref: &str) -> String {
    let f = number.unwrap_or(external_ref);
    f.chars().take(40).collect()
}

/// Checks the CFDI total against the ERP total, to the cent.
fn same_total(record: &str, c: &Comprobante, breakdown: &TaxBreakdown) -> Result<(), FiscalError> {
    let erp = breakdown.total.amount();
    if c.total != erp {
        return Err(FiscalError::TotalMismatch {
            record: record.to_owned(),
            field: "Total",
            erp,
            cfdi: c.total,
        });
    }
    Ok(())
}

/// An ERP invoice → an unsealed CFDI tipo `I` issued at `fecha` (`AAAA-MM-DDThh:mm:ss`, local time at the
/// place of issue).
///
/// * `MetodoPago`: `passthrough.cfdi.metodo_pago` when set; otherwise `PPD` (paid later, `FormaPago` 99)
///   when the invoice has a due date after its issue date, else `PUE` with `passthrough.cfdi.forma_pago` or
///   the profile's default c_FormaPago.
/// * `Serie` from the profile, `Folio` = the invoice number (or our external reference), ≤ 40 characters.
/// * Customer `XAXX010101000`: público en general with `InformacionGlobal` (daily, the issue month).
/// * `items` gives each line's item (its `code` becomes `NoIdentificacion`, its `unit` is mapped through the
///   profile's `units`).
///
/// # Errors
/// A [`FiscalError`] naming the invoice and the field: customer fiscal data, unmapped item / unit / tax, a
/// foreign currency without exchange rate, builder refusals, and [`FiscalError::TotalMismatch`] when the
/// CFDI `Total` would not equal the ERP total to the cent.
pub fn map_invoice(
    profile: &FiscalProfile,
    invoice: &Invoice,
    customer: &Customer,
    items: &BTreeMap<String, Item>,
    fecha: &str,
) -> Result<Comprobante, FiscalError> {
    let record = invoice.external_ref.as_str();
    let fiscal = profile.receptor(record, customer)?;
    let (moneda, tipo_cambio) = moneda(record, invoice.currency, invoice.exchange_rate)?;
    let breakdown = invoice.breakdown().map_err(breakdown_err(record))?;
    let conceptos = conceptos(
        profile,
        record,
        &invoice.lines,
        invoice.price_mode,
        &breakdown,
        items,
    )?;
    let metodo = match passthrough(&invoice.passthrough, "metodo_pago") {
        Some(m) => m.to_owned(),
        None if invoice.due_date.is_some_and(|d| d > invoice.issue_date) => "PPD".into(),
        None => "PUE".into(),
    };
    let forma = if metodo == "PPD" {
        "99".to_owned()
    } else {
        passthrough(&invoice.passthrough, "forma_pago")
            .unwrap_or(&profile.default_forma_pago)
            .to_owned()
    };
    let mut b = ComprobanteBuilder::ingreso(fecha, &profile.emisor.lugar_expedicion)
        .emisor(profile.emisor_node())
        .receptor(fiscal.receptor)
        .moneda(moneda, tipo_cambio)
        .metodo_pago(metodo)
        .forma_pago(forma)
        .folio(folio(invoice.number.as_deref(), record))
        .conceptos(conceptos);
    if let Some(s) = &profile.series.invoice {
        b = b.serie(s);
    }
    if fiscal.publico_en_general {
        b = b.informacion_global(InformacionGlobal::new(
            "01",
            invoice.issue_date.format("%m").to_string(),
            invoice.issue_date.format("%Y").to_string(),
        ));
    }
    let c = b.build().map_err(cfdi_err(record))?;
    same_total(record, &c, &breakdown)?;
    Ok(c)
}

/// An ERP credit note → an unsealed CFDI tipo `E` related (`CfdiRelacionados` TipoRelacion `01`, nota de
/// crédito) to the stamped invoice `invoice_uuid`. `UsoCFDI` is `G02` (devoluciones, descuentos o
/// bonificaciones) unless the customer is público en general; `MetodoPago` `PUE` with
/// `passthrough.cfdi.forma_pago` or the profile's default.
///
/// # Errors
/// As [`map_invoice`].
pub fn map_credit_note(
    profile: &FiscalProfile,
    credit_note: &CreditNote,
    customer: &Customer,
    items: &BTreeMap<String, Item>,
    invoice_uuid: &str,
    fecha: &str,
) -> Result<Comprobante, FiscalError> {
    let record = credit_note.external_ref.as_str();
    let mut fiscal = profile.receptor(record, customer)?;
    if !fiscal.publico_en_general {
        fiscal.receptor.uso_cfdi = "G02".into();
    }
    let (moneda, tipo_cambio) = moneda(record, credit_note.currency, credit_note.exchange_rate)?;
    let breakdown = credit_note.breakdown().map_err(breakdown_err(record))?;
    let conceptos = conceptos(
        profile,
        record,
        &credit_note.lines,
        credit_note.price_mode,
        &breakdown,
        items,
    )?;
    let forma = passthrough(&credit_note.passthrough, "forma_pago")
        .unwrap_or(&profile.default_forma_pago)
        .to_owned();
    let mut b = ComprobanteBuilder::egreso(fecha, &profile.emisor.lugar_expedicion)
        .emisor(profile.emisor_node())
        .receptor(fiscal.receptor)
        .moneda(moneda, tipo_cambio)
        .metodo_pago("PUE")
        .forma_pago(forma)
        .folio(folio(credit_note.number.as_deref(), record))
        .relacionados(CfdiRelacionados::new("01", [invoice_uuid]))
        .conceptos(conceptos);
    if let Some(s) = &profile.series.credit_note {
        b = b.serie(s);
    }
    let c = b.build().map_err(cfdi_err(record))?;
    same_total(record, &c, &breakdown)?;
    Ok(c)
}

/// A paid invoice for [`map_payment`]: its stamped CFDI and the payment receipts (REPs) stamped for it so far.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PaidInvoice<'a> {
    /// Our external reference of the invoice (matched against `Payment::applications`).
    pub external_ref: &'a str,
    /// The stamped invoice (it must carry a TimbreFiscalDigital).
    pub invoice: &'a Comprobante,
    /// Earlier stamped payment receipts; those that pay this invoice give `NumParcialidad` and `ImpSaldoAnt`.
    pub earlier_receipts: &'a [Comprobante],
}

impl<'a> PaidInvoice<'a> {
    /// A paid invoice.
    pub fn new(
        external_ref: &'a str,
        invoice: &'a Comprobante,
        earlier_receipts: &'a [Comprobante],
    ) -> Self {
        Self {
            external_ref,
            invoice,
            earlier_receipts,
        }
    }

    /// `(NumParcialidad, ImpSaldoAnt)` of the next payment: one more than the highest earlier installment for
    /// this invoice's UUID and that installment's `ImpSaldoInsoluto`; `(1, Total)` for the first payment.
    pub fn next_installment(&self) -> Option<(u32, Decimal)> {
        let uuid = &self.invoice.timbre()?.uuid;
        let mut last: Option<(u32, Decimal)> = None;
        for rep in self.earlier_receipts {
            let Some(pagos) = rep.pagos() else { continue };
            for d in pagos.pagos.iter().flat_map(|p| &p.doctos_relacionados) {
                if !d.id_documento.eq_ignore_ascii_case(uuid) {
                    continue;
                }
                let n: u32 = d.num_parcialidad.parse().unwrap_or(0);
                if last.is_none_or(|(m, _)| n > m) {
                    last = Some((n, d.imp_saldo_insoluto));
                }
            }
        }
        Some(match last {
            Some((n, saldo)) => (n + 1, saldo),
            None => (1, self.invoice.total),
        })
    }
}

/// An ERP payment → an unsealed CFDI tipo `P` with Pagos 2.0, or `Ok(None)` when none of the paid invoices
/// is `PPD` (invoices paid at issue, `PUE`, need no payment receipt).
///
/// One `Pago` in the payment's currency (`FormaDePagoP` from the profile's `payment_methods`, `NumOperacion`
/// = the bank reference), one `DoctoRelacionado` per application to a `PPD` invoice, with `NumParcialidad`
/// and `ImpSaldoAnt` from the earlier receipts ([`PaidInvoice::next_installment`]). When the invoice's
/// currency differs from the payment's, `ImpPagado` is the amount the payment settles in the invoice's currency
/// (the application's `invoice_amount`, as the ERP applied it at the payment's rate) and `EquivalenciaDR` =
/// ImpPagado / the applied amount (10 decimals); a foreign-currency payment of a peso invoice may omit
/// `invoice_amount`: EquivalenciaDR is then the payment's TipoCambioP. The invoice's own TipoCambio (of its
/// issue date) is never used for a payment.
///
/// # Errors
/// [`FiscalError::NotStamped`] for an application to an invoice not in `paid`; [`FiscalError::Field`] for a
/// missing payment method or exchange rate, a missing `applications.invoice_amount` (a payment of a
/// foreign-currency invoice in another currency), or an amount above the invoice's balance;
/// [`FiscalError::TotalMismatch`] when `Monto` would differ from the sum applied to those invoices.
pub fn map_payment(
    profile: &FiscalProfile,
    payment: &Payment,
    customer: &Customer,
    paid: &[PaidInvoice<'_>],
    fecha: &str,
) -> Result<Option<Comprobante>, FiscalError> {
    let record = payment.external_ref.as_str();
    let fiscal = profile.receptor(record, customer)?;
    let (moneda_p, tc_p) = moneda(record, payment.currency, payment.exchange_rate)?;
    let forma = profile.forma_pago(record, payment.method.as_deref())?;
    let dec_p = crate::catalog::moneda_decimals(&moneda_p).unwrap_or(2);
    let fecha_pago = format!("{}T12:00:00", payment.date.format("%Y-%m-%d"));
    let mut pago = PagoBuilder::new(fecha_pago, forma, &moneda_p, tc_p);
    if let Some(r) = payment
        .reference
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        pago = pago.num_operacion(r.trim());
    }
    let mut applied = Decimal::ZERO;
    let mut any = false;
    for (i, app) in payment.applications.iter().enumerate() {
        let not_stamped = || FiscalError::NotStamped {
            record: record.to_owned(),
            field: format!("applications[{i}].invoice"),
            reference: app.invoice.external_ref.clone(),
        };
        let p = paid
            .iter()
            .find(|p| p.external_ref == app.invoice.external_ref)
            .ok_or_else(not_stamped)?;
        if p.invoice.metodo_pago.as_deref() != Some("PPD") {
            continue;
        }
        let (n, saldo_ant) = p.next_installment().ok_or_else(not_stamped)?;
        let dec_dr = crate::catalog::moneda_decimals(&p.invoice.moneda).unwrap_or(2);
        let round_dr =
            |x: Decimal| x.round_dp_with_strategy(dec_dr, RoundingStrategy::MidpointAwayFromZero);
        let (equivalencia, pagado) = if p.invoice.moneda == moneda_p {
            (Decimal::ONE, round_dr(app.amount))
        } else if let Some(settled) = app.invoice_amount {
            // What the ERP applied in the invoice's currency, at the rate the payment was settled at.
            if settled <= Decimal::ZERO || app.amount <= Decimal::ZERO {
                return Err(FiscalError::Field {
                    record: record.to_owned(),
                    field: "applications.invoice_amount",
                    problem: format!(
                        "application {i}: {} {moneda_p} settling {settled} {} must both be positive",
                        app.amount, p.invoice.moneda
                    ),
                });
            }
            let pagado = round_dr(settled);
            let equivalencia = (pagado / app.amount)
                .round_dp_with_strategy(10, RoundingStrategy::MidpointAwayFromZero);
            (equivalencia, pagado)
        } else if p.invoice.moneda == "MXN"
            && let Some(tc) = tc_p
        {
            // A foreign-currency payment of a peso invoice: the payment's own TipoCambioP is the equivalence.
            (tc, round_dr(app.amount * tc))
        } else {
            // The invoice's rate is that of its issue date, not the payment's: never guess the amount settled.
            return Err(FiscalError::Field {
                record: record.to_owned(),
                field: "applications.invoice_amount",
                problem: format!(
                    "application {i} pays invoice {} (in {}) with {moneda_p}: give the amount it settles in {} \
                     (PaymentApplication::invoice_amount, at the rate the payment was settled at)",
                    app.invoice.external_ref, p.invoice.moneda, p.invoice.moneda
                ),
            });
        };
        if pagado > saldo_ant {
            return Err(FiscalError::Field {
                record: record.to_owned(),
                field: "applications.amount",
                problem: format!(
                    "application {i} pays {pagado} {} but invoice {} has {saldo_ant} left",
                    p.invoice.moneda, app.invoice.external_ref
                ),
            });
        }
        let mut docto =
            DoctoInput::from_invoice(p.invoice, n, saldo_ant, pagado).map_err(cfdi_err(record))?;
        if p.invoice.moneda != moneda_p {
            docto = docto.equivalencia(equivalencia);
        }
        pago = pago.docto(docto);
        applied += app.amount;
        any = true;
    }
    if !any {
        return Ok(None);
    }
    let mut b = PagosBuilder::new(fecha, &profile.emisor.lugar_expedicion)
        .emisor(profile.emisor_node())
        .receptor(fiscal.receptor)
        .folio(folio(None, record))
        .pago(pago);
    if let Some(s) = &profile.series.payment {
        b = b.serie(s);
    }
    let c = b.build().map_err(cfdi_err(record))?;
    let monto = c
        .pagos()
        .and_then(|p| p.pagos.first())
        .map(|p| p.monto)
        .unwrap_or_default();
    let erp = applied.round_dp_with_strategy(dec_p, RoundingStrategy::MidpointAwayFromZero);
    if monto != erp {
        return Err(FiscalError::TotalMismatch {
            record: record.to_owned(),
            field: "Monto",
            erp,
            cfdi: monto,
        });
    }
    Ok(Some(c))
}

/// How often a global invoice is issued (c_Periodicidad) and which period it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobalPeriod {
    /// `01` Diario: the sales of one day.
    Daily(chrono::NaiveDate),
    /// `02` Semanal: the sales of the week ending on this day (7 days).
    Weekly(chrono::NaiveDate),
    /// `03` Quincenal: the sales of the 1st–15th (`first_half`) or the 16th–end of a month.
    Fortnightly {
        /// The year.
        year: i32,
        /// The month, 1–12.
        month: u32,
        /// 1st–15th when `true`, 16th–end of month otherwise.
        first_half: bool,
    },
    /// `04` Mensual: the sales of one month.
    Monthly {
        /// The year.
        year: i32,
        /// The month, 1–12.
        month: u32,
    },
    /// `05` Bimestral (only for régimen 621, RIF): the sales of two months, `first_month` odd (1, 3, … 11).
    Bimonthly {
        /// The year.
        year: i32,
        /// The first month of the pair: 1, 3, 5, 7, 9 or 11.
        first_month: u32,
    },
}

impl GlobalPeriod {
    /// The first and last day of the period; `None` for an invalid month.
    pub fn days(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        use chrono::NaiveDate;
        let last_of = |y: i32, m: u32| {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.pred_opt())
        };
        match *self {
            Self::Daily(d) => Some((d, d)),
            Self::Weekly(end) => Some((end - chrono::Duration::days(6), end)),
            Self::Fortnightly {
                year,
                month,
                first_half,
            } => {
                if first_half {
                    Some((
                        NaiveDate::from_ymd_opt(year, month, 1)?,
                        NaiveDate::from_ymd_opt(year, month, 15)?,
                    ))
                } else {
                    Some((
                        NaiveDate::from_ymd_opt(year, month, 16)?,
                        last_of(year, month)?,
                    ))
                }
            }
            Self::Monthly { year, month } => Some((
                NaiveDate::from_ymd_opt(year, month, 1)?,
                last_of(year, month)?,
            )),
            Self::Bimonthly { year, first_month } => {
                if first_month % 2 == 0 {
                    return None;
                }
                Some((
                    NaiveDate::from_ymd_opt(year, first_month, 1)?,
                    last_of(year, first_month + 1)?,
                ))
            }
        }
    }

    /// `InformacionGlobal` per SAT's Anexo 20: `Periodicidad` 01–05; `Meses` the month (01–12) of the period's
    /// last day for 01–04, 13–18 (Enero-Febrero … Noviembre-Diciembre) for 05; `Año` the year of the period.
    pub fn informacion_global(&self) -> Option<InformacionGlobal> {
        let (_, last) = self.days()?;
        use chrono::Datelike as _;
        let (periodicidad, meses) = match self {
            Self::Daily(_) => ("01", last.month()),
            Self::Weekly(_) => ("02", last.month()),
            Self::Fortnightly { .. } => ("03", last.month()),
            Self::Monthly { .. } => ("04", last.month()),
            Self::Bimonthly { first_month, .. } => ("05", 12 + first_month.div_ceil(2)),
        };
        Some(InformacionGlobal::new(
            periodicidad,
            format!("{meses:02}"),
            format!("{:04}", last.year()),
        ))
    }
}

/// One sale to the public for [`map_global_invoice`]: the ERP invoice and its customer (whose RFC must be
/// `XAXX010101000`).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct GlobalSale<'a> {
    /// The sale (an ERP invoice to público en general).
    pub invoice: &'a Invoice,
    /// Its customer.
    pub customer: &'a Customer,
}

impl<'a> GlobalSale<'a> {
    /// A sale.
    pub fn new(invoice: &'a Invoice, customer: &'a Customer) -> Self {
        Self { invoice, customer }
    }
}

/// The walk-in sales of a day, week, fortnight, month or two months → one unsealed CFDI tipo `I` to the public
/// (the *factura global*), per SAT's Anexo 20 guía de llenado:
///
/// * Receptor `XAXX010101000`, `PUBLICO EN GENERAL`, régimen `616`, UsoCFDI `S01`, DomicilioFiscalReceptor =
///   the profile's `LugarExpedicion`; `InformacionGlobal` from `period` ([`GlobalPeriod::informacion_global`]).
/// * One `Concepto` per sale: ClaveProdServ `01010101`, ClaveUnidad `ACT`, Cantidad 1, Descripcion `Venta`,
///   `NoIdentificacion` = the sale's number (or our external reference), `ValorUnitario` = the sale's amount
///   before discounts, `Descuento` = its discounts, and the sale's taxes (mapped as in [`map_invoice`]). A sale
///   whose lines carry different taxes gives one concepto per tax set, all with the sale's `NoIdentificacion`
///   (a concepto's taxes all apply to its whole `Importe − Descuento`).
/// * `PUE` with `forma_pago` (c_FormaPago of the sales, e.g. `01` cash), `Folio` = `folio`, `Serie` the
///   invoice series.
///
/// The CFDI `Total` equals the sum of the sales' ERP totals to the cent, and each sale's conceptos add up to
/// that sale's ERP total; otherwise [`FiscalError::TotalMismatch`] naming the sale (or `folio` for the sum).
///
/// # Errors
/// [`FiscalError::Field`] for no sales, a sale outside the period, sales in different currencies, a bimonthly
/// period for an emisor not in régimen 621, or an invalid period; [`FiscalError::Customer`] for a sale whose
/// customer is not público en general; mapping errors as [`map_invoice`]; [`FiscalError::TotalMismatch`].
pub fn map_global_invoice(
    profile: &FiscalProfile,
    period: GlobalPeriod,
    sales: &[GlobalSale<'_>],
    items: &BTreeMap<String, Item>,
    folio_global: &str,
    forma_pago: &str,
    fecha: &str,
) -> Result<Comprobante, FiscalError> {
    let record = folio_global;
    let (first, last) = period.days().ok_or_else(|| {
        field(
            record,
            "period",
            format!("{period:?} is not a valid period"),
        )
    })?;
    let info = period.informacion_global().ok_or_else(|| {
        field(
            record,
            "period",
            format!("{period:?} is not a valid period"),
        )
    })?;
    if matches!(period, GlobalPeriod::Bimonthly { .. }) && profile.emisor.regimen_fiscal != "621" {
        return Err(field(
            record,
            "period",
            format!(
                "Periodicidad 05 (bimestral) is only for régimen 621; the emisor has {}",
                profile.emisor.regimen_fiscal
            ),
        ));
    }
    let Some(head) = sales.first() else {
        return Err(field(
            record,
            "sales",
            "is empty: a global invoice needs at least one sale",
        ));
    };
    // The lines' own catalog keys do not appear in a global invoice (every concepto is 01010101 / ACT): a
    // line without an item mapping is fine; its taxes are still mapped through the profile.
    let mut lines_profile = profile.clone();
    lines_profile
        .default_clave_prod_serv
        .get_or_insert_with(|| "01010101".into());
    lines_profile
        .default_clave_unidad
        .get_or_insert_with(|| "ACT".into());
    let currency = head.invoice.currency;
    let (moneda, tipo_cambio) = moneda(record, currency, head.invoice.exchange_rate)?;
    let mut conceptos_out = Vec::new();
    let mut per_sale = Vec::with_capacity(sales.len());
    let mut erp_sum = Decimal::ZERO;
    for sale in sales {
        let inv = sale.invoice;
        let sale_ref = inv.external_ref.as_str();
        if !profile
            .receptor(sale_ref, sale.customer)?
            .publico_en_general
        {
            return Err(FiscalError::Customer {
                record: sale_ref.to_owned(),
                customer: sale.customer.external_ref.clone(),
                field: "tax_ids.mx_rfc.rfc",
                problem: format!(
                    "is not {}: a global invoice covers sales to the public only",
                    super::profile::RFC_PUBLICO_EN_GENERAL
                ),
            });
        }
        if inv.issue_date < first || inv.issue_date > last {
            return Err(field(
                sale_ref,
                "issue_date",
                format!(
                    "{} is outside the global invoice's period {first}..={last}",
                    inv.issue_date
                ),
            ));
        }
        if inv.currency != currency || inv.exchange_rate != head.invoice.exchange_rate {
            return Err(field(
                sale_ref,
                "currency",
                format!(
                    "{} {:?} differs from the global invoice's {} {:?}",
                    inv.currency.code(),
                    inv.exchange_rate,
                    currency.code(),
                    head.invoice.exchange_rate
                ),
            ));
        }
        let breakdown = inv.breakdown().map_err(breakdown_err(sale_ref))?;
        let lines = conceptos(
            &lines_profile,
            sale_ref,
            &inv.lines,
            inv.price_mode,
            &breakdown,
            items,
        )?;
        let reference = folio(inv.number.as_deref(), sale_ref);
        if per_sale.iter().any(|(_, r, _)| *r == reference) {
            return Err(field(
                sale_ref,
                "number",
                format!(
                    "{reference:?} is the NoIdentificacion of another sale in the global invoice"
                ),
            ));
        }
        // Group the sale's lines by tax set: (template, amount before discount, discount).
        let mut groups: Vec<(ConceptoInput, Decimal, Decimal)> = Vec::new();
        for (k, bl) in lines.into_iter().zip(&breakdown.lines) {
            let gross = bl.net.amount() + bl.discount.amount();
            match groups.iter_mut().find(|(t, _, _)| t.same_taxes(&k)) {
                Some(g) => {
                    g.1 += gross;
                    g.2 += bl.discount.amount();
                }
                None => groups.push((k, gross, bl.discount.amount())),
            }
        }
        for (template, gross, discount) in groups {
            let mut k = ConceptoInput::with_taxes_of(&template, "01010101", "ACT", "Venta", gross)
                .no_identificacion(&reference);
            if !discount.is_zero() {
                k = k.descuento(discount);
            }
            conceptos_out.push(k);
        }
        let erp = breakdown.total.amount();
        erp_sum += erp;
        per_sale.push((sale_ref, reference, erp));
    }
    let mut b = ComprobanteBuilder::ingreso(fecha, &profile.emisor.lugar_expedicion)
        .emisor(profile.emisor_node())
        .receptor(crate::model::Receptor::publico_en_general(
            &profile.emisor.lugar_expedicion,
        ))
        .informacion_global(info)
        .moneda(moneda, tipo_cambio)
        .metodo_pago("PUE")
        .forma_pago(forma_pago)
        .folio(folio(None, folio_global))
        .conceptos(conceptos_out);
    if let Some(s) = &profile.series.invoice {
        b = b.serie(s);
    }
    let c = b.build().map_err(cfdi_err(record))?;
    // Each sale's conceptos must reproduce that sale's ERP total (the builder rounds each concepto's taxes).
    for (sale_ref, reference, erp) in &per_sale {
        let mut cfdi = Decimal::ZERO;
        for k in c
            .conceptos
            .iter()
            .filter(|k| k.no_identificacion.as_deref() == Some(reference.as_str()))
        {
            cfdi += k.importe - k.descuento.unwrap_or_default();
            if let Some(imp) = &k.impuestos {
                cfdi += imp
                    .traslados
                    .iter()
                    .filter_map(|t| t.importe)
                    .sum::<Decimal>();
                cfdi -= imp.retenciones.iter().map(|r| r.importe).sum::<Decimal>();
            }
        }
        if cfdi != *erp {
            return Err(FiscalError::TotalMismatch {
                record: (*sale_ref).to_owned(),
                field: "Total",
                erp: *erp,
                cfdi,
            });
        }
    }
    if c.total != erp_sum {
        return Err(FiscalError::TotalMismatch {
            record: record.to_owned(),
            field: "Total",
            erp: erp_sum,
            cfdi: c.total,
        });
    }
    Ok(c)
}
