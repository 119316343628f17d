//! The unified model ⇄ Xero JSON.
//!
//! # Request bodies
//! Bodies are typed structs serialised with Xero's PascalCase names. Amounts are written as exact JSON numbers
//! from [`Decimal`] (through `serde_json`'s raw values, never through `f64`). An entity's `passthrough` JSON
//! object is merged into its body last, so it can set any Xero field the unified model does not cover (or
//! override one, e.g. `"Status": "DRAFT"`).
//!
//! # Which Xero field holds our reference
//! | entity | Xero field | why |
//! |---|---|---|
//! | Customer | `Contact.ContactNumber` (≤ 50 chars) | the spec describes it as "used to identify contacts in external systems"; it is read-only in Xero's UI, so users cannot break the link |
//! | Item | `Item.Code` (≤ 30 chars) | Xero items have no external-id field; `Code` is unique per organisation. Invoice lines name items by this code |
//! | Invoice | `Invoice.Reference` | "ACCREC only – additional reference number"; `InvoiceNumber` stays free for the series/number |
//! | Payment | `Payment.Reference` | the only free reference on a payment (the bank reference goes to `Details`) |
//! | Payment over several invoices | `BatchPayment.Reference` and each of its `Payments[].Reference` | as payments; the bank reference goes to the batch's `Details` (18 characters at most) |
//! | Credit note | `CreditNote.Reference` | as invoices |
//!
//! # Not mapped
//! `Invoice::memo` (Xero's API has no memo on sales invoices; put a Xero field in `passthrough` if needed) and
//! the tax detail of lines read back (a line's Xero `TaxType` stays in [`RemoteRecord::raw`]). Xero invoices are
//! created `AUTHORISED` (so payments and allocations apply) with `DueDate` defaulting to the issue date;
//! `"Status": "DRAFT"` in `passthrough` creates a draft instead.
//!
//! [`RemoteRecord::raw`]: erp_hub_core::adapter::RemoteRecord::raw
//!
//! # Taxes
//! Xero has one `TaxType` per line. A line's **transferred** taxes form a key looked up in
//! [`AccountMapping::tax_codes`], built by erp-hub-core's [`AccountMapping::tax_key`] (the grammar every adapter
//! shares): each tax as `CODE` + rate (`IVA16`, `IEPS8`, `IVA0` for a zero rate, `IVA-EXEMPT`, `IEPS-PU1.5` for a
//! per-unit amount), several joined with `+` in line order (`IEPS8+IVA16`, for a Xero tax rate with a compound
//! component). A line without transferred taxes uses the key `NONE` (default Xero
//! `TaxType` `NONE`). The line's `TaxAmount` is sent as computed by erp-hub-core's tax math, so Xero's totals
//! equal ours to the cent.
//!
//! Xero has no withholding taxes: each **withheld** tax (ISR or IVA *retenido*) becomes a negative line, grouped
//! by key (`RET-ISR10`), posted to the account in [`AccountMapping::tax_accounts`] (looked up by key, then by code)
//! with the mapping's `NONE` tax type.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use erp_hub_core::model::{
    AccountMapping, Address, AddressKind, CreditNote, Customer, Discount, Invoice, InvoiceLine,
    Item, ItemKind, Payment, PriceMode, RemoteRef, TaxId,
};
use erp_hub_core::tax::{LineBreakdown, Tax, TaxBreakdown, TaxKind};
use erp_hub_core::{Error, FieldError, Result};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::wire::{
    AccountRef, AddressBody, Amount, BatchLineBody, BatchPaymentBody, ContactBody, ContactRef,
    CreditNoteBody, InvoiceBody, InvoiceRef, ItemBody, LineItemBody, PhoneBody, SalesDetails,
};

/// The provider id in [`RemoteRef::provider`].
pub const PROVIDER: &str = "xero";

fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    erp_hub_core::http::wire::check_len("Xero", field, value, max)
}

/// The Xero `Contact` for a customer.
pub(crate) fn contact_body(c: &Customer, contact_id: Option<String>) -> Result<ContactBody> {
    let name = c.name().trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "a Xero contact needs a name"));
    }
    if c.external_ref.is_empty() {
        return Err(Error::invalid("external_ref", "must not be empty"));
    }
    check_len("name", name, 255)?;
    check_len("external_ref", &c.external_ref, 50)?;
    let (tax_number, tax_number_type) = match c.tax_ids.first() {
        Some(TaxId::MxRfc { rfc, .. }) => (Some(rfc.clone()), None),
        Some(TaxId::CrCedula { number, .. }) => (Some(number.clone()), None),
        Some(TaxId::UsEin { ein }) => (Some(ein.clone()), Some("EIN")),
        Some(TaxId::Other { value, .. }) => (Some(value.clone()), None),
        Some(_) | None => (None, None),
    };
    if let Some(t) = &tax_number {
        check_len("tax_ids[0]", t, 50)?;
    }
    let addresses = c.addresses.iter().map(address_body).collect();
    let phones = c
        .phone
        .iter()
        .map(|p| PhoneBody {
            phone_type: "DEFAULT",
            phone_number: p.clone(),
        })
        .collect();
    Ok(ContactBody {
        contact_id,
        contact_number: c.external_ref.clone(),
        name: name.to_owned(),
        email_address: c.email.clone(),
        tax_number,
        tax_number_type,
        addresses,
        phones,
        default_currency: c.currency.map(|cur| cur.code().to_owned()),
    })
}

fn address_body(a: &Address) -> AddressBody {
    let line = |i: usize| a.lines.get(i).cloned();
    AddressBody {
        // Xero: POBOX is the billing (postal) address, STREET the delivery address.
        address_type: match a.kind {
            AddressKind::Shipping => "STREET",
            _ => "POBOX",
        },
        address_line1: line(0),
        address_line2: line(1),
        address_line3: line(2),
        address_line4: line(3),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    }
}

/// The Xero `Item` for an item.
pub(crate) fn item_body(
    item: &Item,
    item_id: Option<String>,
    mapping: &AccountMapping,
) -> Result<ItemBody> {
    if item.code.trim().is_empty() {
        return Err(Error::invalid("code", "a Xero item needs a code"));
    }
    check_len("code", &item.code, 30)?;
    check_len("name", &item.name, 50)?;
    let account = item
        .income_account
        .as_deref()
        .map(|a| mapping.account(a).to_owned())
        .or_else(|| mapping.income_account.clone());
    Ok(ItemBody {
        item_id,
        code: item.code.clone(),
        name: item.name.clone(),
        description: item.description.clone(),
        is_sold: true,
        sales_details: SalesDetails {
            unit_price: item.unit_price.map(Amount),
            account_code: account,
        },
    })
}

/// The key of one tax in the tax mapping (`IVA16`, `IVA0`, `IVA-EXEMPT`, `IEPS-PU1.5`, `RET-ISR10`):
/// erp-hub-core's [`AccountMapping::tax_key`] of that tax alone.
pub fn tax_key(tax: &Tax) -> String {
    AccountMapping::tax_key(std::slice::from_ref(tax))
}

/// The key of a line's transferred taxes (`IEPS8+IVA16`), or `NONE`: erp-hub-core's
/// [`AccountMapping::tax_key`] of the line's transferred taxes (withheld taxes become separate lines, see the
/// module docs).
pub fn line_tax_key(line: &InvoiceLine) -> String {
    let transferred: Vec<Tax> = line
        .taxes
        .iter()
        .filter(|t| t.kind == TaxKind::Transferred)
        .cloned()
        .collect();
    AccountMapping::tax_key(&transferred)
}

fn no_tax_type(mapping: &AccountMapping) -> String {
    mapping
        .tax_codes
        .get("NONE")
        .cloned()
        .unwrap_or_else(|| "NONE".to_owned())
}

/// Lines, `LineAmountTypes`, and the document total for a document (invoice or credit note).
pub(crate) struct Lines {
    pub(crate) items: Vec<LineItemBody>,
    pub(crate) amount_types: &'static str,
}

pub(crate) fn line_items(
    lines: &[InvoiceLine],
    breakdown: &TaxBreakdown,
    mode: PriceMode,
    mapping: &AccountMapping,
) -> Result<Lines> {
    let any_tax = lines.iter().any(|l| !l.taxes.is_empty());
    let amount_types = match (any_tax, mode) {
        (false, _) => "NoTax",
        (true, PriceMode::Inclusive) => "Inclusive",
        (true, _) => "Exclusive",
    };
    let mut items = Vec::with_capacity(lines.len());
    // Withheld taxes, grouped by key: (code, key, amount).
    let mut withheld: BTreeMap<String, (String, Decimal)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let lb: Option<&LineBreakdown> = breakdown.lines.get(i);
        let account_code = match (&line.account, &line.item, &mapping.income_account) {
            (Some(a), _, _) => Some(mapping.account(a).to_owned()),
            (None, Some(_), _) => None,
            (None, None, Some(default)) => Some(default.clone()),
            (None, None, None) => {
                return Err(Error::Validation {
                    source: None,
                    errors: vec![FieldError::new(
                        format!("lines[{i}].account"),
                        "no income account: set the line's account, an item, or AccountMapping::income_account",
                    )],
                });
            }
        };
        let (tax_type, tax_amount) = if any_tax {
            let key = line_tax_key(line);
            let tax_type = if key == "NONE" {
                no_tax_type(mapping)
            } else {
                mapping.tax_code(&key)?.to_owned()
            };
            let amount = lb.map(|b| b.transferred.amount()).unwrap_or_default();
            (Some(tax_type), Some(Amount(amount)))
        } else {
            (None, None)
        };
        if let Some(b) = lb {
            for t in b.taxes.iter().filter(|t| t.kind == TaxKind::Withheld) {
                let key = tax_key(&Tax::withheld(t.code.clone(), t.rate.clone()));
                let amount = t.amount.map(|m| m.amount()).unwrap_or_default();
                let entry = withheld
                    .entry(key)
                    .or_insert_with(|| (t.code.clone(), Decimal::ZERO));
                entry.1 += amount;
            }
        }
        let (discount_rate, discount_amount) = match &line.discount {
            Some(Discount::Percent(p)) => (Some(Amount(*p)), None),
            Some(Discount::Amount(m)) => (None, Some(Amount(m.amount()))),
            Some(_) | None => (None, None),
        };
        items.push(LineItemBody {
            description: line.description.clone(),
            quantity: Amount(line.quantity),
            unit_amount: Amount(line.unit_price),
            item_code: line.item.clone(),
            account_code,
            tax_type,
            tax_amount,
            discount_rate,
            discount_amount,
        });
    }
    for (key, (code, amount)) in withheld {
        if amount.is_zero() {
            continue;
        }
        let account = mapping
            .tax_accounts
            .get(&key)
            .or_else(|| mapping.tax_accounts.get(&code))
            .ok_or_else(|| {
                Error::config(format!(
                    "Xero has no withholding taxes: a withheld tax is booked as a negative line on an account, and none is mapped for `{key}`: add `{key}` (or `{code}`) to AccountMapping::tax_accounts"
                ))
            })?;
        items.push(LineItemBody {
            description: format!("{code} withheld ({key})"),
            quantity: Amount(Decimal::ONE),
            unit_amount: Amount(-amount),
            item_code: None,
            account_code: Some(mapping.account(account).to_owned()),
            tax_type: Some(no_tax_type(mapping)),
            tax_amount: Some(Amount(Decimal::ZERO)),
            discount_rate: None,
            discount_amount: None,
        });
    }
    Ok(Lines {
        items,
        amount_types,
    })
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The Xero invoice for an invoice; `contact_id` is the resolved ContactID.
pub(crate) fn invoice_body(
    inv: &Invoice,
    contact_id: String,
    mapping: &AccountMapping,
) -> Result<InvoiceBody> {
    let breakdown = inv.breakdown()?;
    let lines = line_items(&inv.lines, &breakdown, inv.price_mode, mapping)?;
    let number = match (&inv.series, &inv.number) {
        (Some(s), Some(n)) => Some(format!("{s}{n}")),
        (None, Some(n)) => Some(n.clone()),
        _ => None,
    };
    Ok(InvoiceBody {
        kind: "ACCREC",
        contact: ContactRef { contact_id },
        date: date(inv.issue_date),
        // Xero requires a due date on approved invoices; default to the issue date (due on receipt).
        due_date: date(inv.due_date.unwrap_or(inv.issue_date)),
        line_amount_types: lines.amount_types,
        invoice_number: number,
        reference: inv.external_ref.clone(),
        currency_code: inv.currency.code().to_owned(),
        currency_rate: inv.exchange_rate.map(Amount),
        status: "AUTHORISED",
        line_items: lines.items,
    })
}

pub(crate) fn credit_note_body(
    cn: &CreditNote,
    contact_id: String,
    mapping: &AccountMapping,
) -> Result<CreditNoteBody> {
    let breakdown = cn.breakdown()?;
    let lines = line_items(&cn.lines, &breakdown, cn.price_mode, mapping)?;
    Ok(CreditNoteBody {
        kind: "ACCRECCREDIT",
        contact: ContactRef { contact_id },
        date: date(cn.issue_date),
        line_amount_types: lines.amount_types,
        credit_note_number: cn.number.clone(),
        reference: cn.external_ref.clone(),
        currency_code: cn.currency.code().to_owned(),
        currency_rate: cn.exchange_rate.map(Amount),
        status: "AUTHORISED",
        line_items: lines.items,
    })
}

pub(crate) fn payment_date(d: NaiveDate) -> String {
    date(d)
}

/// The Xero batch payment for `p`: `Reference` (batch and each payment) = `external_ref`, `Details` = the bank
/// reference, one `Payments[]` element per application with the resolved `invoice_ids` (in application order).
///
/// # Errors
/// [`Error::Validation`] when a reference is longer than the spec allows (`Reference` 255, `Details` 18).
pub(crate) fn batch_payment_body(
    p: &Payment,
    account: String,
    invoice_ids: Vec<String>,
) -> Result<BatchPaymentBody> {
    check_len("external_ref", &p.external_ref, 255)?;
    if let Some(d) = &p.reference {
        check_len("reference", d, 18)?;
    }
    let payments = p
        .applications
        .iter()
        .zip(invoice_ids)
        .map(|(app, invoice_id)| BatchLineBody {
            invoice: InvoiceRef { invoice_id },
            amount: Amount(app.amount),
            reference: p.external_ref.clone(),
        })
        .collect();
    Ok(BatchPaymentBody {
        account: AccountRef { code: account },
        date: date(p.date),
        reference: p.external_ref.clone(),
        details: p.reference.clone(),
        payments,
    })
}

/// Serialises `body` and merges the `passthrough` object into it (passthrough keys win).
///
/// # Errors
/// [`Error::Validation`] when `passthrough` is neither null nor an object.
pub(crate) fn with_passthrough<T: Serialize>(
    body: &T,
    passthrough: &Value,
) -> Result<Box<RawValue>> {
    let text = serde_json::to_string(body).map_err(|e| Error::invalid("body", e.to_string()))?;
    let bad = |e: serde_json::Error| Error::invalid("body", e.to_string());
    match passthrough {
        Value::Null => RawValue::from_string(text).map_err(bad),
        Value::Object(extra) => {
            let mut map: BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(&text).map_err(bad)?;
            for (k, v) in extra {
                map.insert(
                    k.clone(),
                    RawValue::from_string(v.to_string()).map_err(bad)?,
                );
            }
            RawValue::from_string(serde_json::to_string(&map).map_err(bad)?).map_err(bad)
        }
        _ => Err(Error::invalid(
            "passthrough",
            "must be a JSON object of Xero fields",
        )),
    }
}

/// `{"<collection>": [elements...]}` as bytes.
pub(crate) fn envelope(collection: &str, elements: Vec<Box<RawValue>>) -> Result<Vec<u8>> {
    let mut map: BTreeMap<&str, Vec<Box<RawValue>>> = BTreeMap::new();
    map.insert(collection, elements);
    serde_json::to_vec(&map).map_err(|e| Error::invalid("body", e.to_string()))
}

// ---------------------------------------------------------------------------------------------------------
// Responses

pub(crate) use erp_hub_core::http::wire::decimal as dec;

pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses Xero's `/Date(1573755038314+0000)/` (milliseconds since the epoch) and ISO dates
/// (`2026-01-15T00:00:00`, `2026-01-15`).
pub fn parse_xero_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map_or(inner.len(), |(i, _)| i);
        let ms: i64 = inner.get(..end)?.parse().ok()?;
        return Utc.timestamp_millis_opt(ms).single();
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(dt.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

pub(crate) fn date_field(v: &Value, key: &str) -> Option<NaiveDate> {
    str_of(v, key)
        .and_then(parse_xero_date)
        .map(|d| d.date_naive())
}

/// `UpdatedDateUTC` of a record.
pub(crate) fn updated(v: &Value) -> Option<DateTime<Utc>> {
    str_of(v, "UpdatedDateUTC").and_then(parse_xero_date)
}

/// The reference of a record: id, version (`UpdatedDateUTC` in epoch milliseconds: Xero has no version token,
/// see [`XeroAdapter`](crate::XeroAdapter)), number and update time.
pub(crate) fn remote_ref(
    v: &Value,
    id_field: &str,
    number_field: Option<&str>,
) -> Result<RemoteRef> {
    let id = str_of(v, id_field)
        .ok_or_else(|| Error::uncertain(format!("Xero response without {id_field}")))?;
    let mut r = RemoteRef::new(PROVIDER, id);
    if let Some(u) = updated(v) {
        r = r.with_version(u.timestamp_millis().to_string());
        r.updated_at = Some(u);
    }
    if let Some(n) = number_field
        .and_then(|f| str_of(v, f))
        .filter(|n| !n.is_empty())
    {
        r = r.with_number(n);
    }
    Ok(r)
}

/// A customer from a Xero contact.
pub(crate) fn customer_from(v: &Value) -> Customer {
    let mut c = Customer::new(
        str_of(v, "ContactNumber").unwrap_or_default(),
        str_of(v, "Name").unwrap_or_default(),
    );
    c.email = str_of(v, "EmailAddress")
        .map(str::to_owned)
        .filter(|s| !s.is_empty());
    c.phone = v
        .get("Phones")
        .and_then(Value::as_array)
        .and_then(|p| {
            p.iter()
                .find_map(|p| str_of(p, "PhoneNumber").filter(|s| !s.is_empty()))
        })
        .map(str::to_owned);
    if let Some(t) = str_of(v, "TaxNumber").filter(|s| !s.is_empty()) {
        c.tax_ids.push(match str_of(v, "TaxNumberType") {
            Some("EIN") => TaxId::UsEin { ein: t.to_owned() },
            _ => TaxId::Other {
                country: String::new(),
                scheme: "TaxNumber".to_owned(),
                value: t.to_owned(),
            },
        });
    }
    if let Some(addrs) = v.get("Addresses").and_then(Value::as_array) {
        for a in addrs {
            let lines: Vec<String> = [
                "AddressLine1",
                "AddressLine2",
                "AddressLine3",
                "AddressLine4",
            ]
            .iter()
            .filter_map(|k| str_of(a, k).filter(|s| !s.is_empty()).map(str::to_owned))
            .collect();
            let city = str_of(a, "City").filter(|s| !s.is_empty());
            if lines.is_empty() && city.is_none() {
                continue;
            }
            let kind = if str_of(a, "AddressType") == Some("STREET") {
                AddressKind::Shipping
            } else {
                AddressKind::Billing
            };
            let mut addr = Address::new(kind);
            addr.lines = lines;
            addr.city = city.map(str::to_owned);
            addr.region = str_of(a, "Region")
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            addr.postal_code = str_of(a, "PostalCode")
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            addr.country = str_of(a, "Country")
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            c.addresses.push(addr);
        }
    }
    c.currency =
        str_of(v, "DefaultCurrency").and_then(|s| erp_hub_core::money::Currency::from_code(s).ok());
    c
}

/// An item from a Xero item.
pub(crate) fn item_from(v: &Value) -> Item {
    let code = str_of(v, "Code").unwrap_or_default();
    let kind = if v.get("IsTrackedAsInventory").and_then(Value::as_bool) == Some(true) {
        ItemKind::Product
    } else {
        ItemKind::Service
    };
    let mut item = Item::new(code, code, str_of(v, "Name").unwrap_or(code), kind);
    item.description = str_of(v, "Description").map(str::to_owned);
    let sales = v.get("SalesDetails");
    item.unit_price = sales.and_then(|s| dec(s.get("UnitPrice")));
    item.income_account = sales
        .and_then(|s| str_of(s, "AccountCode"))
        .map(str::to_owned);
    item
}

/// Lines from a Xero document (taxes are not reverse-mapped: the Xero `TaxType` stays in the raw JSON).
pub(crate) fn lines_from(v: &Value) -> Vec<InvoiceLine> {
    v.get("LineItems")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|li| {
                    let mut l = InvoiceLine::new(
                        str_of(li, "Description").unwrap_or_default(),
                        dec(li.get("Quantity")).unwrap_or(Decimal::ONE),
                        dec(li.get("UnitAmount")).unwrap_or_default(),
                    );
                    l.item = str_of(li, "ItemCode").map(str::to_owned);
                    l.account = str_of(li, "AccountCode").map(str::to_owned);
                    l
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn price_mode_from(v: &Value) -> PriceMode {
    if str_of(v, "LineAmountTypes") == Some("Inclusive") {
        PriceMode::Inclusive
    } else {
        PriceMode::Exclusive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::tax::TaxRate;

    #[test]
    fn amounts_are_exact_json_numbers() {
        let s = serde_json::to_string(&Amount(Decimal::new(7672, 2))).unwrap();
        assert_eq!(s, "76.72");
        // The shared core `Amount` drops trailing zeros (the same JSON number).
        let s = serde_json::to_string(&Amount(Decimal::new(-125000, 2))).unwrap();
        assert_eq!(s, "-1250");
    }

    #[test]
    fn xero_dates() {
        let d = parse_xero_date("/Date(1573755038314+0000)/").unwrap();
        assert_eq!(d.timestamp_millis(), 1_573_755_038_314);
        assert_eq!(
            parse_xero_date("2026-01-15T00:00:00").unwrap().date_naive(),
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
        );
        assert!(parse_xero_date("garbage").is_none());
        assert!(parse_xero_date("/Date(abc)/").is_none());
    }

    #[test]
    fn tax_keys() {
        let l = InvoiceLine::new("x", Decimal::ONE, Decimal::ONE)
            .with_tax(Tax::transferred(
                "IEPS",
                TaxRate::Percent(Decimal::new(800, 2)),
            ))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(Decimal::from(16))))
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(Decimal::from(10))));
        assert_eq!(line_tax_key(&l), "IEPS8+IVA16");
        assert_eq!(
            tax_key(&Tax::transferred("IVA", TaxRate::Exempt)),
            "IVA-EXEMPT"
        );
        assert_eq!(
            tax_key(&Tax::withheld("ISR", TaxRate::Percent(Decimal::from(10)))),
            "RET-ISR10"
        );
        assert_eq!(
            line_tax_key(&InvoiceLine::new("x", Decimal::ONE, Decimal::ONE)),
            "NONE"
        );
    }

    #[test]
    fn passthrough_overrides_and_keeps_exact_numbers() {
        #[derive(Serialize)]
        struct B {
            #[serde(rename = "Amount")]
            amount: Amount,
            #[serde(rename = "Status")]
            status: &'static str,
        }
        let body = B {
            amount: Amount(Decimal::new(10010, 2)),
            status: "AUTHORISED",
        };
        let raw = with_passthrough(
            &body,
            &serde_json::json!({"Status": "DRAFT", "Url": "https://x"}),
        )
        .unwrap();
        assert_eq!(
            raw.get(),
            r#"{"Amount":100.1,"Status":"DRAFT","Url":"https://x"}"#
        );
        assert!(with_passthrough(&body, &serde_json::json!([1])).is_err());
    }
}
