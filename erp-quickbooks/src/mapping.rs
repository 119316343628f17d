//! The unified model ↔ QuickBooks entity shapes.
//!
//! ## Where our external references live
//! - **Customer**: a first line `[erp-hub ref=<external_ref>]` in `Notes` (free text, 2,000 characters in QBO),
//!   written on create and never sent on updates (sparse updates leave it, and whatever users add after it,
//!   untouched). Why not another field: `PrimaryTaxIdentifier` is the tax id and comes back masked; `AcctNum`
//!   is missing from Intuit's QBO Customer reference (the XSD annotates it `Product: QBW`, i.e. Desktop);
//!   `ResaleNum` holds 16 characters; QBO has no custom fields on customers and no field filterable by such a
//!   value. So upserts without a known remote id first *create* (idempotent through `requestid`); a 6240
//!   duplicate-name answer is resolved by querying the `DisplayName` and reading the marker: our reference →
//!   it is ours, update it; anything else → `Duplicate` with that record's id. A `Notes` passthrough value is
//!   appended after the marker.
//! - **Item**: `Sku` holds [`Item::code`]; a 6240 on `Name` is ours when the `Sku` matches.
//! - **Invoice / CreditMemo / Payment**: the `PrivateNote` (internal, never printed) starts with
//!   `[erp-hub ref=<external_ref>]`; the credit memo adds ` invoice=<id>`.
//!
//! ## Tax codes (Global / México mode)
//! Each line's taxes form a key looked up in [`AccountMapping::tax_codes`](erp_hub_core::model::AccountMapping::tax_codes),
//! built by erp-hub-core's [`AccountMapping::tax_key`] (the grammar every adapter shares): one token per tax, in
//! line order, joined with `+`; a token is the tax code followed by the rate (`IVA16`, `IEPS8`, `IVA0`),
//! `-EXEMPT` for an exempt tax, `-PU<amount>` for a per-unit tax, prefixed with `RET-` when withheld
//! (`RET-ISR10`). A line without taxes uses the key `NONE` (no `TaxCodeRef` is sent when it is unmapped). Example:
//! `{"IVA16": "5", "IVA16+RET-ISR10": "9", "IVA-EXEMPT": "6", "IEPS8+IVA16": "12"}`.

use chrono::{DateTime, NaiveDate, Utc};
use erp_hub_core::model::{
    AccountMapping, Address, AddressKind, CreditNote, Customer, DocRef, Invoice, InvoiceLine, Item,
    ItemKind, PartyRef, Payment, RemoteRef, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxBreakdown, TaxKind, TaxRate};
use erp_hub_core::{Error, Result};
use rust_decimal::Decimal;

use crate::config::{QuickBooksConfig, TaxMode};
use crate::wire::{
    Amount, CustomerBody, CustomerResp, EmailAddress, ItemBody, ItemResp, LinkedTxn, MemoRef,
    MetaData, PaymentBody, PaymentResp, PhysicalAddress, Ref, SalesItemLineDetail, SalesTxnBody,
    SalesTxnResp, TelephoneNumber, TxnLine, TxnTaxDetail, extra,
};

/// Provider id used in [`RemoteRef::provider`].
pub const PROVIDER: &str = "quickbooks";

const MARKER: &str = "[erp-hub ref=";

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The note marker for `external_ref`, plus `key=value` extras: `[erp-hub ref=<ref> key=value]`, values
/// form-URL-encoded (so references may hold spaces or brackets).
pub fn note_marker(external_ref: &str, extras: &[(&str, &str)]) -> String {
    let mut s = format!("{MARKER}{}", encode(external_ref));
    for (k, v) in extras {
        s.push_str(&format!(" {k}={}", encode(v)));
    }
    s.push(']');
    s
}

fn marker_parts(note: &str) -> Option<Vec<&str>> {
    let inner = note.split_once(MARKER)?.1;
    let inner = inner.split(']').next()?;
    Some(inner.split(' ').collect())
}

/// The external reference in a note written by [`note_marker`].
pub fn note_ref(note: &str) -> Option<String> {
    marker_parts(note)?.first().map(|r| decode(r))
}

/// A `key=value` extra in a marker.
pub fn note_field(note: &str, key: &str) -> Option<String> {
    let parts = marker_parts(note)?;
    parts.iter().skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

/// Parses a QuickBooks timestamp (`2026-01-15T10:00:00-08:00`).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A [`RemoteRef`] from id, SyncToken, doc number and metadata.
pub(crate) fn remote_ref(
    id: &str,
    token: Option<&String>,
    number: Option<&String>,
    meta: Option<&MetaData>,
) -> RemoteRef {
    let mut r = RemoteRef::new(PROVIDER, id);
    if let Some(t) = token {
        r = r.with_version(t.clone());
    }
    if let Some(n) = number {
        r = r.with_number(n.clone());
    }
    r.updated_at = meta
        .and_then(|m| m.last_updated_time.as_deref())
        .and_then(parse_time);
    r
}

fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    erp_hub_core::http::wire::check_len("QuickBooks", field, value, max)
}

fn address(a: &Address) -> PhysicalAddress {
    let mut lines = a.lines.iter().cloned();
    PhysicalAddress {
        line1: lines.next(),
        line2: lines.next(),
        line3: lines.next(),
        line4: lines.next(),
        line5: lines.next(),
        city: a.city.clone(),
        country_sub_division_code: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    }
}

fn address_back(kind: AddressKind, p: &PhysicalAddress) -> Address {
    let mut a = Address::new(kind);
    a.lines = [&p.line1, &p.line2, &p.line3, &p.line4, &p.line5]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    a.city = p.city.clone();
    a.region = p.country_sub_division_code.clone();
    a.postal_code = p.postal_code.clone();
    a.country = p.country.clone();
    a
}

/// The create / update body of a customer.
pub(crate) fn customer_body(c: &Customer, cfg: &QuickBooksConfig) -> Result<CustomerBody> {
    let name = c.name().trim();
    if name.is_empty() {
        return Err(Error::invalid("display_name", "must not be empty"));
    }
    if name.contains(':') || name.contains(['\t', '\n', '\r']) {
        return Err(Error::invalid(
            "display_name",
            "QuickBooks names cannot contain ':', tabs or new lines",
        ));
    }
    check_len("display_name", name, 500)?;
    check_len("legal_name", &c.legal_name, 100)?;
    if c.external_ref.is_empty() {
        return Err(Error::invalid("external_ref", "must not be empty"));
    }
    check_len("external_ref", &c.external_ref, 1000)?;
    let mut extra_fields = extra(&c.passthrough);
    let user_notes = match extra_fields.remove("Notes") {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => return Err(Error::invalid("passthrough.Notes", "must be a string")),
        None => None,
    };
    let bill = c.addresses.iter().find(|a| a.kind == AddressKind::Billing);
    let ship = c.addresses.iter().find(|a| a.kind == AddressKind::Shipping);
    let tax_id = match cfg.tax_mode {
        TaxMode::Global => c.tax_ids.iter().find_map(|t| match t {
            TaxId::MxRfc { rfc, .. } => Some(rfc.clone()),
            TaxId::UsEin { ein } => Some(ein.clone()),
            TaxId::CrCedula { number, .. } => Some(number.clone()),
            TaxId::Other { value, .. } => Some(value.clone()),
            _ => None,
        }),
        _ => None,
    };
    Ok(CustomerBody {
        display_name: name.to_owned(),
        company_name: Some(c.legal_name.clone()),
        primary_email_addr: c.email.clone().map(|a| EmailAddress { address: Some(a) }),
        primary_phone: c.phone.clone().map(|p| TelephoneNumber {
            free_form_number: Some(p),
        }),
        bill_addr: bill.map(address),
        ship_addr: ship.map(address),
        notes: Some(match user_notes {
            Some(n) => format!("{}\n{n}", note_marker(&c.external_ref, &[])),
            None => note_marker(&c.external_ref, &[]),
        }),
        currency_ref: c.currency.map(|cur| Ref::new(cur.code())),
        primary_tax_identifier: tax_id,
        extra: extra_fields,
        ..CustomerBody::default()
    })
}

/// A QuickBooks customer in the unified model.
pub(crate) fn customer_back(r: &CustomerResp) -> Customer {
    let display = r.display_name.clone().unwrap_or_default();
    let legal = r.company_name.clone().unwrap_or_else(|| display.clone());
    let external = r.notes.as_deref().and_then(note_ref).unwrap_or_default();
    let mut c = Customer::new(external, legal.clone());
    if display != legal {
        c.display_name = Some(display);
    }
    c.email = r
        .primary_email_addr
        .as_ref()
        .and_then(|e| e.address.clone());
    c.phone = r
        .primary_phone
        .as_ref()
        .and_then(|p| p.free_form_number.clone());
    if let Some(b) = &r.bill_addr {
        c.addresses.push(address_back(AddressKind::Billing, b));
    }
    if let Some(s) = &r.ship_addr {
        c.addresses.push(address_back(AddressKind::Shipping, s));
    }
    c.currency = r
        .currency_ref
        .as_ref()
        .and_then(|c| Currency::from_code(&c.value).ok());
    c.remote = Some(remote_ref(
        &r.id,
        r.sync_token.as_ref(),
        None,
        r.meta_data.as_ref(),
    ));
    c
}

/// The create / update body of an item.
pub(crate) fn item_body(item: &Item, map: &AccountMapping) -> Result<ItemBody> {
    if item.name.trim().is_empty() || item.name.contains(':') {
        return Err(Error::invalid(
            "name",
            "must be non-empty and without ':' (QuickBooks uses ':' for sub-items)",
        ));
    }
    check_len("name", &item.name, 100)?;
    check_len("code", &item.code, 100)?;
    let account = item
        .income_account
        .as_deref()
        .map(|a| map.account(a).to_owned())
        .or_else(|| map.income_account.clone())
        .ok_or_else(|| {
            Error::config(
                "QuickBooks items need an income account: set Item::income_account or AccountMapping::income_account",
            )
        })?;
    Ok(ItemBody {
        name: item.name.clone(),
        sku: Some(item.code.clone()),
        kind: match item.kind {
            ItemKind::Service => "Service".into(),
            _ => "NonInventory".into(),
        },
        description: item.description.clone(),
        unit_price: item.unit_price.map(Amount),
        income_account_ref: Ref::new(account),
        extra: extra(&item.passthrough),
        ..ItemBody::default()
    })
}

/// A QuickBooks item in the unified model.
pub(crate) fn item_back(r: &ItemResp) -> Item {
    let code = r.sku.clone().unwrap_or_default();
    let kind = match r.kind.as_deref() {
        Some("Service") => ItemKind::Service,
        _ => ItemKind::Product,
    };
    let mut item = Item::new(code.clone(), code, r.name.clone().unwrap_or_default(), kind);
    item.description = r.description.clone();
    item.unit_price = r.unit_price.map(|a| a.0);
    item.income_account = r.income_account_ref.as_ref().map(|a| a.value.clone());
    item.remote = Some(remote_ref(
        &r.id,
        r.sync_token.as_ref(),
        None,
        r.meta_data.as_ref(),
    ));
    item
}

/// The tax-code key of a line's taxes: erp-hub-core's [`AccountMapping::tax_key`].
pub fn line_tax_key(taxes: &[Tax]) -> String {
    AccountMapping::tax_key(taxes)
}

fn is_taxable_us(taxes: &[Tax]) -> bool {
    taxes.iter().any(|t| {
        t.kind == TaxKind::Transferred
            && match &t.rate {
                TaxRate::Percent(p) => !p.is_zero(),
                TaxRate::PerUnit(m) => !m.amount().is_zero(),
                _ => false,
            }
    })
}

/// Builds the sales lines of an invoice or credit memo. `item_ids[i]` is the QuickBooks item of line `i`.
pub(crate) fn sales_lines(
    lines: &[InvoiceLine],
    breakdown: &TaxBreakdown,
    item_ids: &[String],
    map: &AccountMapping,
    cfg: &QuickBooksConfig,
) -> Result<Vec<TxnLine>> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let lb = breakdown
            .lines
            .get(i)
            .ok_or_else(|| Error::invalid(format!("lines[{i}]"), "missing from the breakdown"))?;
        let item = item_ids
            .get(i)
            .ok_or_else(|| Error::invalid(format!("lines[{i}].item"), "not resolved"))?;
        let tax_code_ref = match cfg.tax_mode {
            TaxMode::Us => Some(Ref::new(if is_taxable_us(&line.taxes) {
                "TAX"
            } else {
                "NON"
            })),
            _ => {
                let key = line_tax_key(&line.taxes);
                match map.tax_codes.get(&key) {
                    Some(code) => Some(Ref::new(code.clone())),
                    None if key == "NONE" => None,
                    None => {
                        return Err(Error::config(format!(
                            "no QuickBooks TaxCode id mapped for tax key `{key}` (lines[{i}]); add it to AccountMapping::tax_codes"
                        )));
                    }
                }
            }
        };
        let net = lb.net.amount();
        // The unit price as sent is tax-exclusive and after discount: exact when net / qty divides exactly.
        let unit_price = if line.quantity.is_zero() {
            None
        } else if line.discount.is_none()
            && lb.net == lb.gross
            && lb.gross.amount() == line.quantity * line.unit_price
        {
            Some(line.unit_price)
        } else {
            net.checked_div(line.quantity)
                .filter(|u| u.checked_mul(line.quantity) == Some(net))
        };
        check_len(&format!("lines[{i}].description"), &line.description, 4000)?;
        out.push(TxnLine {
            description: Some(line.description.clone()),
            amount: Amount(net),
            detail_type: Some("SalesItemLineDetail".into()),
            sales_item_line_detail: Some(SalesItemLineDetail {
                item_ref: Some(Ref::new(item.clone())),
                qty: Some(Amount(line.quantity)),
                unit_price: unit_price.map(Amount),
                tax_code_ref,
            }),
            ..TxnLine::default()
        });
    }
    Ok(out)
}

fn doc_number(series: Option<&str>, number: Option<&str>) -> Result<Option<String>> {
    let n = match (series, number) {
        (_, None) => return Ok(None),
        (Some(s), Some(n)) => format!("{s}{n}"),
        (None, Some(n)) => n.to_owned(),
    };
    check_len("number", &n, 21)?;
    Ok(Some(n))
}

/// Common parts of invoice and credit-memo bodies.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sales_txn_body(
    customer_id: &str,
    number: Option<String>,
    date: NaiveDate,
    due: Option<NaiveDate>,
    currency: Currency,
    exchange_rate: Option<Decimal>,
    lines: Vec<TxnLine>,
    breakdown: &TaxBreakdown,
    private_note: String,
    memo: Option<&str>,
    passthrough: &serde_json::Value,
    cfg: &QuickBooksConfig,
) -> Result<SalesTxnBody> {
    let global = cfg.tax_mode == TaxMode::Global;
    let tax = breakdown.transferred.amount() - breakdown.withheld.amount();
    if let Some(m) = memo {
        check_len("memo", m, 1000)?;
    }
    Ok(SalesTxnBody {
        customer_ref: Ref::new(customer_id),
        doc_number: number,
        txn_date: date.to_string(),
        due_date: due.map(|d| d.to_string()),
        currency_ref: (global || currency != Currency::USD || exchange_rate.is_some())
            .then(|| Ref::new(currency.code())),
        exchange_rate: exchange_rate.map(Amount),
        global_tax_calculation: global.then(|| "TaxExcluded".to_owned()),
        line: lines,
        txn_tax_detail: (global && cfg.send_computed_tax).then_some(TxnTaxDetail {
            txn_tax_code_ref: None,
            total_tax: Some(Amount(tax)),
        }),
        private_note: Some(private_note),
        customer_memo: memo.map(|m| MemoRef {
            value: m.to_owned(),
        }),
        extra: extra(passthrough),
    })
}

/// The invoice's document number.
pub(crate) fn invoice_number(inv: &Invoice) -> Result<Option<String>> {
    doc_number(inv.series.as_deref(), inv.number.as_deref())
}

/// The credit note's document number.
pub(crate) fn credit_number(cn: &CreditNote) -> Result<Option<String>> {
    doc_number(None, cn.number.as_deref())
}

fn currency_of(r: Option<&Ref>) -> Currency {
    r.and_then(|c| Currency::from_code(&c.value).ok())
        .unwrap_or(Currency::USD)
}

fn date_of(s: Option<&String>) -> NaiveDate {
    s.and_then(|d| d.parse().ok()).unwrap_or_default()
}

fn lines_back(lines: &[TxnLine]) -> Vec<InvoiceLine> {
    lines
        .iter()
        .filter_map(|l| {
            let d = l.sales_item_line_detail.as_ref()?;
            let qty = d.qty.map_or(Decimal::ONE, |q| q.0);
            let price = d
                .unit_price
                .map(|p| p.0)
                .unwrap_or_else(|| l.amount.0.checked_div(qty).unwrap_or(l.amount.0));
            let mut line = InvoiceLine::new(l.description.clone().unwrap_or_default(), qty, price);
            line.item = d.item_ref.as_ref().map(|r| r.value.clone());
            Some(line)
        })
        .collect()
}

/// A QuickBooks invoice in the unified model (taxes stay on the QuickBooks side: lines come back without them).
pub(crate) fn invoice_back(r: &SalesTxnResp) -> Invoice {
    let note = r.private_note.as_deref().unwrap_or_default();
    let customer = r
        .customer_ref
        .as_ref()
        .map(|c| PartyRef::resolved(String::new(), c.value.clone()))
        .unwrap_or_else(|| PartyRef::external(String::new()));
    let mut inv = Invoice::new(
        note_ref(note).unwrap_or_default(),
        customer,
        date_of(r.txn_date.as_ref()),
        currency_of(r.currency_ref.as_ref()),
    );
    inv.number = r.doc_number.clone();
    inv.due_date = r.due_date.as_ref().and_then(|d| d.parse().ok());
    inv.exchange_rate = r.exchange_rate.map(|a| a.0);
    inv.lines = lines_back(&r.line);
    inv.memo = r.customer_memo.as_ref().map(|m| m.value.clone());
    inv.remote = Some(remote_ref(
        &r.id,
        r.sync_token.as_ref(),
        r.doc_number.as_ref(),
        r.meta_data.as_ref(),
    ));
    inv
}

/// A QuickBooks credit memo in the unified model.
pub(crate) fn credit_back(r: &SalesTxnResp) -> CreditNote {
    let note = r.private_note.as_deref().unwrap_or_default();
    let customer = r
        .customer_ref
        .as_ref()
        .map(|c| PartyRef::resolved(String::new(), c.value.clone()))
        .unwrap_or_else(|| PartyRef::external(String::new()));
    let invoice = match note_field(note, "invoice") {
        Some(id) => DocRef::resolved(String::new(), id),
        None => DocRef::external(String::new()),
    };
    let mut cn = CreditNote::new(
        note_ref(note).unwrap_or_default(),
        customer,
        invoice,
        date_of(r.txn_date.as_ref()),
        currency_of(r.currency_ref.as_ref()),
    );
    cn.number = r.doc_number.clone();
    cn.exchange_rate = r.exchange_rate.map(|a| a.0);
    cn.lines = lines_back(&r.line);
    cn.reason = r.customer_memo.as_ref().map(|m| m.value.clone());
    cn.remote = Some(remote_ref(
        &r.id,
        r.sync_token.as_ref(),
        r.doc_number.as_ref(),
        r.meta_data.as_ref(),
    ));
    cn
}

/// The body of a payment applied to `applications` (QuickBooks invoice id, amount).
pub(crate) fn payment_body(
    p: &Payment,
    customer_id: &str,
    applications: &[(String, Decimal)],
    map: &AccountMapping,
    cfg: &QuickBooksConfig,
) -> Result<PaymentBody> {
    if let Some(r) = &p.reference {
        check_len("reference", r, 21)?;
    }
    let deposit = p
        .deposit_account
        .as_deref()
        .map(|a| map.account(a).to_owned())
        .or_else(|| map.payment_account.clone());
    Ok(PaymentBody {
        customer_ref: Ref::new(customer_id),
        total_amt: Amount(p.amount),
        txn_date: p.date.to_string(),
        currency_ref: (cfg.tax_mode == TaxMode::Global
            || p.currency != Currency::USD
            || p.exchange_rate.is_some())
        .then(|| Ref::new(p.currency.code())),
        exchange_rate: p.exchange_rate.map(Amount),
        payment_ref_num: p.reference.clone(),
        deposit_to_account_ref: deposit.map(Ref::new),
        private_note: Some(note_marker(&p.external_ref, &[])),
        line: applications
            .iter()
            .map(|(id, amount)| TxnLine {
                amount: Amount(*amount),
                linked_txn: vec![LinkedTxn::new(id.clone(), "Invoice")],
                ..TxnLine::default()
            })
            .collect(),
        extra: extra(&p.passthrough),
    })
}

/// A QuickBooks payment in the unified model.
pub(crate) fn payment_back(r: &PaymentResp) -> Payment {
    let note = r.private_note.as_deref().unwrap_or_default();
    let customer = r
        .customer_ref
        .as_ref()
        .map(|c| PartyRef::resolved(String::new(), c.value.clone()))
        .unwrap_or_else(|| PartyRef::external(String::new()));
    let mut p = Payment::new(
        note_ref(note).unwrap_or_default(),
        customer,
        date_of(r.txn_date.as_ref()),
        currency_of(r.currency_ref.as_ref()),
        r.total_amt.map(|a| a.0).unwrap_or_default(),
    );
    p.exchange_rate = r.exchange_rate.map(|a| a.0);
    p.reference = r.payment_ref_num.clone();
    for l in &r.line {
        for t in &l.linked_txn {
            if t.txn_type == "Invoice" {
                p = p.apply_to(
                    DocRef::resolved(String::new(), t.txn_id.clone()),
                    l.amount.0,
                );
            }
        }
    }
    p.remote = Some(remote_ref(
        &r.id,
        r.sync_token.as_ref(),
        None,
        r.meta_data.as_ref(),
    ));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let n = note_marker("cn-1", &[("invoice", "130")]);
        assert_eq!(n, "[erp-hub ref=cn-1 invoice=130]");
        assert_eq!(note_ref(&n).as_deref(), Some("cn-1"));
        assert_eq!(note_field(&n, "invoice").as_deref(), Some("130"));
        assert_eq!(note_ref("Voided"), None);
        let odd = note_marker("Order 7 [B]", &[]);
        assert_eq!(
            note_ref(&format!("{odd}\nVIP customer")).as_deref(),
            Some("Order 7 [B]")
        );
    }

    #[test]
    fn tax_keys() {
        use erp_hub_core::tax::TaxRate::Percent;
        let iva = Tax::transferred("IVA", Percent(Decimal::from(16)));
        let isr = Tax::withheld("ISR", Percent(Decimal::from(10)));
        assert_eq!(line_tax_key(&[iva.clone(), isr]), "IVA16+RET-ISR10");
        assert_eq!(
            line_tax_key(&[Tax::transferred("IVA", TaxRate::Exempt)]),
            "IVA-EXEMPT"
        );
        assert_eq!(
            line_tax_key(&[Tax::transferred("IVA", Percent(Decimal::new(1600, 2)))]),
            "IVA16"
        );
        assert_eq!(line_tax_key(&[]), "NONE");
    }
}
