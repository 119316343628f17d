//! The unified model ⇄ Alegra mapping: request bodies, records read back, where our external reference lives,
//! and tax ids through [`AccountMapping::tax_key`].
//!
//! ## External references (Alegra has no idempotency header)
//!
//! | record | where erp-hub keeps `external_ref` |
//! |---|---|
//! | contacts, invoices, payments, credit notes | a marker line `erp-hub:ref=<external_ref>` in `observations` (internal notes, never printed; 500 characters at most) |
//! | items | `reference` (Alegra's item reference code) holds the external reference itself |
//!
//! The adapter finds a record by its external reference with a scan of the list endpoint (see
//! [`entities`](crate::entities)); a re-send after an uncertain outcome first looks there, so it never creates a
//! second record.
//!
//! ## Taxes
//!
//! Alegra references taxes by **id**. A line's taxes give one key, [`AccountMapping::tax_key`] (`IVA16`,
//! `IVA16+RET-ISR10`, `IEPS8+IVA16`, `IVA-EXEMPT`), and `mapping.tax_codes[key]` holds the Alegra tax ids of that
//! line, comma-separated (`"1,5"`). A line without taxes (`NONE`) is sent without tax ids unless `NONE` is
//! mapped. An unmapped key is an [`Error::Config`] naming it.
//!
//! ## Mexico (CFDI 4.0) fields
//!
//! Invoices default to `paymentMethod: PPD` and `paymentForm: 99` (to be defined), the right pair for an
//! invoice paid later; contacts need `regime`, `cfdiUse` and the address `zipCode`. Set any Alegra field through
//! the entity's `passthrough` JSON object (its keys are merged into the request body and win), e.g.
//! `{"regime": "GENERAL_LAW_MORAL_PERSON", "cfdiUse": "G03"}` on a customer, `{"paymentMethod": "PUE",
//! "paymentForm": "03"}` on an invoice, `{"productKey": "90121500", "tax": [{"id": 1}]}` on an item (its default taxes, by Alegra id).

use erp_hub_core::adapter::{Entity, RemoteRecord};
use erp_hub_core::http::wire::check_len;
use erp_hub_core::model::{
    AccountMapping, Address, AddressKind, CreditNote, Customer, DocRef, Invoice, InvoiceLine, Item,
    ItemKind, PartyRef, Payment, RemoteRef, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Discount, PriceMode};
use erp_hub_core::{Error, Result};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::wire::{
    AlegraCreditNote, AlegraInvoice, AlegraItem, AlegraPayment, Amount, Contact, ContactAddress,
    CurrencyRef, DocAmount, DocItem, Id, IdRef, Identification, ItemPrice, Stamp, TaxRef,
};

/// The provider id in [`RemoteRef::provider`].
pub const PROVIDER: &str = "alegra";

/// The prefix of the marker line in `observations`.
pub const REF_MARKER: &str = "erp-hub:ref=";

/// Alegra's limit on `observations`.
pub const OBSERVATIONS_MAX: usize = 500;

/// The `observations` text for a record: the optional note, then the marker line.
///
/// # Errors
/// [`Error::Validation`] on `observations` when the result exceeds Alegra's 500 characters.
pub fn observations(note: Option<&str>, external_ref: &str) -> Result<String> {
    let text = match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n}\n{REF_MARKER}{external_ref}"),
        None => format!("{REF_MARKER}{external_ref}"),
    };
    check_len("Alegra", "observations", &text, OBSERVATIONS_MAX)?;
    Ok(text)
}

/// The external reference in an `observations` text, when it carries erp-hub's marker.
pub fn ref_from_observations(observations: Option<&str>) -> Option<String> {
    observations?
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(REF_MARKER))
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
}

fn note_of(observations: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = observations?
        .lines()
        .filter(|l| !l.trim().starts_with(REF_MARKER))
        .collect();
    let note = kept.join("\n");
    let note = note.trim();
    (!note.is_empty()).then(|| note.to_owned())
}

/// Serialises `body` and merges the `passthrough` object over it (passthrough keys win).
///
/// # Errors
/// [`Error::Validation`] when `passthrough` is neither null nor an object.
pub(crate) fn merge_passthrough<T: Serialize>(body: &T, passthrough: &Value) -> Result<Value> {
    let mut v = serde_json::to_value(body)
        .map_err(|e| Error::invalid("body", format!("cannot serialise: {e}")))?;
    match passthrough {
        Value::Null => {}
        Value::Object(extra) => {
            if let Value::Object(target) = &mut v {
                for (k, x) in extra {
                    target.insert(k.clone(), x.clone());
                }
            }
        }
        _ => {
            return Err(Error::invalid(
                "passthrough",
                "must be a JSON object of Alegra fields",
            ));
        }
    }
    Ok(v)
}

/// The version of a record: `updated_at` when Alegra sends it, otherwise a digest of the mapped fields.
pub(crate) fn version_of<T: Serialize>(updated_at: Option<&str>, mapped: &T) -> String {
    if let Some(u) = updated_at.filter(|u| !u.is_empty()) {
        return u.to_owned();
    }
    let bytes = serde_json::to_vec(mapped).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_date(s: &str, field: &str) -> Result<chrono::NaiveDate> {
    let head = s.get(..10).unwrap_or(s);
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .map_err(|e| Error::invalid(field, format!("Alegra sent an invalid date {s:?}: {e}")))
}

fn currency_of(c: Option<&CurrencyRef>, home: Currency) -> Result<Currency> {
    match c {
        Some(c) => Currency::from_code(&c.code)
            .map_err(|e| Error::invalid("currency", format!("Alegra sent {:?}: {e}", c.code))),
        None => Ok(home),
    }
}

fn currency_ref(c: Currency, rate: Option<Decimal>) -> CurrencyRef {
    CurrencyRef {
        code: c.code().to_owned(),
        exchange_rate: rate.map(Amount),
    }
}

// ---------------------------------------------------------------- contacts

/// The `POST/PUT /contacts` body of a customer (before `passthrough`).
///
/// # Errors
/// [`Error::Validation`] for an empty name or too long notes.
pub fn contact_of(c: &Customer) -> Result<Contact> {
    if c.name().trim().is_empty() {
        return Err(Error::invalid("legal_name", "Alegra needs a contact name"));
    }
    let billing = c
        .addresses
        .iter()
        .find(|a| a.kind == AddressKind::Billing)
        .or_else(|| c.addresses.first());
    let address = billing.map(|a| ContactAddress {
        street: (!a.lines.is_empty()).then(|| a.lines.join(", ")),
        city: a.city.clone(),
        state: a.region.clone(),
        zip_code: a.postal_code.clone(),
        country: a.country.as_deref().map(country_name),
        ..ContactAddress::default()
    });
    let (regime, fiscal_zip) = c
        .tax_ids
        .iter()
        .find_map(|t| match t {
            TaxId::MxRfc {
                regimen_fiscal,
                postal_code,
                ..
            } => Some((regimen_fiscal.clone(), postal_code.clone())),
            _ => None,
        })
        .unwrap_or_default();
    let address = match (address, fiscal_zip) {
        (Some(mut a), Some(zip)) => {
            a.zip_code = Some(zip);
            Some(a)
        }
        (None, Some(zip)) => Some(ContactAddress {
            zip_code: Some(zip),
            ..ContactAddress::default()
        }),
        (a, None) => a,
    };
    Ok(Contact {
        name: c.legal_name.clone(),
        identification: c.rfc().map(|r| Identification::Plain(r.to_owned())),
        regime,
        email: c.email.clone(),
        phone_primary: c.phone.clone(),
        kind: vec!["client".to_owned()],
        address,
        observations: Some(observations(None, &c.external_ref)?),
        ..Contact::default()
    })
}

fn country_name(iso: &str) -> String {
    match iso {
        "MX" => "Mexico".to_owned(),
        "CO" => "Colombia".to_owned(),
        "US" => "United States".to_owned(),
        other => other.to_owned(),
    }
}

fn country_iso(name: &str) -> String {
    match name.to_lowercase().as_str() {
        "mexico" | "méxico" => "MX".to_owned(),
        "colombia" => "CO".to_owned(),
        "united states" => "US".to_owned(),
        _ => name.to_owned(),
    }
}

/// A contact read back as a customer (`external_ref` from the marker, else `alegra:<id>`).
pub fn customer_from(c: &Contact) -> Customer {
    let id = c.id.as_ref().map(Id::as_str).unwrap_or_default();
    let ext = ref_from_observations(c.observations.as_deref())
        .unwrap_or_else(|| format!("{PROVIDER}:{id}"));
    let mut out = Customer::new(ext, c.name.clone());
    if let Some(rfc) = c.identification.as_ref().and_then(Identification::number) {
        out.tax_ids.push(TaxId::MxRfc {
            rfc: rfc.to_owned(),
            regimen_fiscal: c.regime.clone(),
            postal_code: c.address.as_ref().and_then(|a| a.zip_code.clone()),
        });
    }
    out.email = c.email.clone();
    out.phone = c.phone_primary.clone();
    if let Some(a) = &c.address {
        let mut addr = Address::new(AddressKind::Billing);
        addr.lines = a.street.iter().cloned().collect();
        addr.city = a.city.clone();
        addr.region = a.state.clone();
        addr.postal_code = a.zip_code.clone();
        addr.country = a.country.as_deref().map(country_iso);
        out.addresses.push(addr);
    }
    out
}

/// The record version of a contact.
pub(crate) fn contact_version(c: &Contact) -> String {
    let mut mapped = c.clone();
    mapped.id = None;
    mapped.status = None;
    version_of(c.updated_at.as_deref(), &mapped)
}

// ------------------------------------------------------------------- items

/// The `POST/PUT /items` body of an item (before `passthrough`).
///
/// # Errors
/// [`Error::Validation`] for an empty name.
pub fn item_of(i: &Item) -> Result<AlegraItem> {
    if i.name.trim().is_empty() {
        return Err(Error::invalid("name", "Alegra needs an item name"));
    }
    Ok(AlegraItem {
        name: i.name.clone(),
        description: i.description.clone(),
        reference: Some(i.external_ref.clone()),
        kind: Some(
            match i.kind {
                ItemKind::Service => "service",
                _ => "product",
            }
            .to_owned(),
        ),
        price: i
            .unit_price
            .map(|p| ItemPrice {
                id_price_list: Some(Id("1".into())),
                price: Amount(p),
            })
            .into_iter()
            .collect(),
        unit: i.unit.clone(),
        ..AlegraItem::default()
    })
}

/// An Alegra item read back (`code` and `external_ref` are both its `reference`).
pub fn item_from(a: &AlegraItem) -> Item {
    let id = a.id.as_ref().map(Id::as_str).unwrap_or_default();
    let ext = a
        .reference
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("{PROVIDER}:{id}"));
    let kind = if a.kind.as_deref() == Some("service") {
        ItemKind::Service
    } else {
        ItemKind::Product
    };
    let mut out = Item::new(ext.clone(), ext, a.name.clone(), kind);
    out.description = a.description.clone();
    out.unit_price = a.price.first().map(|p| p.price.0);
    out.unit = a.unit.clone();
    out
}

pub(crate) fn item_version(a: &AlegraItem) -> String {
    let mut mapped = a.clone();
    mapped.id = None;
    mapped.status = None;
    version_of(None, &mapped)
}

// --------------------------------------------------------------- documents

/// The Alegra tax ids of one line, through `mapping.tax_codes[AccountMapping::tax_key(taxes)]`.
///
/// # Errors
/// [`Error::Config`] naming the unmapped key; [`Error::Validation`] for an empty id in the mapping.
pub fn tax_refs(mapping: &AccountMapping, line: &InvoiceLine) -> Result<Vec<TaxRef>> {
    let key = AccountMapping::tax_key(&line.taxes);
    if line.taxes.is_empty() && !mapping.tax_codes.contains_key(&key) {
        return Ok(Vec::new());
    }
    let ids = mapping.tax_code(&key)?;
    ids.split(',')
        .map(str::trim)
        .map(|id| {
            if id.is_empty() {
                Err(Error::config(format!(
                    "alegra tax mapping for `{key}` has an empty tax id: {ids:?}"
                )))
            } else {
                Ok(TaxRef {
                    id: Id(id.to_owned()),
                })
            }
        })
        .collect()
}

/// The lines of a document; `item_ids[i]` is the Alegra item of line `i`.
///
/// # Errors
/// [`Error::Unsupported`] for price-inclusive documents and amount discounts (Alegra prices exclude taxes and
/// discounts are percentages); tax mapping errors.
pub fn doc_items(
    mapping: &AccountMapping,
    lines: &[InvoiceLine],
    price_mode: PriceMode,
    item_ids: &[String],
) -> Result<Vec<DocItem>> {
    if price_mode == PriceMode::Inclusive {
        return Err(Error::unsupported(
            "Alegra prices exclude taxes: send price-exclusive documents",
        ));
    }
    if lines.is_empty() {
        return Err(Error::invalid(
            "lines",
            "an Alegra document needs at least one line",
        ));
    }
    lines
        .iter()
        .zip(item_ids)
        .enumerate()
        .map(|(n, (l, id))| {
            let discount = match &l.discount {
                None => None,
                Some(Discount::Percent(p)) => Some(Amount(*p)),
                Some(_) => {
                    return Err(Error::unsupported(format!(
                        "lines[{n}]: Alegra takes line discounts in percent only"
                    )));
                }
            };
            Ok(DocItem {
                id: Id(id.clone()),
                name: None,
                description: Some(l.description.clone()).filter(|d| !d.is_empty()),
                price: Amount(l.unit_price),
                quantity: Amount(l.quantity),
                discount,
                tax: tax_refs(mapping, l)?,
            })
        })
        .collect()
}

/// The `POST /invoices` body (before `passthrough`): created `open` (a draft cannot be paid), unstamped.
///
/// # Errors
/// Line and tax mapping errors; too long notes.
pub fn invoice_of(inv: &Invoice, client_id: &str, items: Vec<DocItem>) -> Result<AlegraInvoice> {
    Ok(AlegraInvoice {
        date: date(inv.issue_date),
        due_date: date(inv.due_date.unwrap_or(inv.issue_date)),
        client: Some(IdRef::new(client_id)),
        items,
        payment_form: Some("99".into()),
        payment_method: Some("PPD".into()),
        currency: Some(currency_ref(inv.currency, inv.exchange_rate)),
        observations: Some(observations(inv.memo.as_deref(), &inv.external_ref)?),
        status: Some("open".into()),
        stamp: Some(Stamp {
            generate_stamp: Some(false),
            ..Stamp::default()
        }),
        ..AlegraInvoice::default()
    })
}

fn lines_from(items: &[DocItem]) -> Vec<InvoiceLine> {
    items
        .iter()
        .map(|i| {
            let mut l = InvoiceLine::new(
                i.description
                    .clone()
                    .or_else(|| i.name.clone())
                    .unwrap_or_default(),
                i.quantity.0,
                i.price.0,
            );
            l.item = Some(i.id.0.clone());
            l.discount = i.discount.map(|d| Discount::Percent(d.0));
            l
        })
        .collect()
}

fn number_of(t: Option<&crate::wire::NumberTemplate>) -> Option<String> {
    let t = t?;
    t.full_number.clone().or_else(|| {
        t.number
            .as_ref()
            .map(|n| format!("{}{n}", t.prefix.clone().unwrap_or_default()))
    })
}

/// An invoice read back, with its balance. Line taxes are not mapped back (Alegra returns tax ids); `item` of
/// a line is the Alegra item id.
///
/// # Errors
/// [`Error::Validation`] for dates or currencies Alegra should not send.
pub fn invoice_record(a: &AlegraInvoice, raw: Value, home: Currency) -> Result<RemoteRecord> {
    let id = a.id.as_ref().map(Id::as_str).unwrap_or_default();
    let ext = ref_from_observations(a.observations.as_deref())
        .unwrap_or_else(|| format!("{PROVIDER}:{id}"));
    let client = a
        .client
        .as_ref()
        .map(|c| c.id.0.clone())
        .unwrap_or_default();
    let mut inv = Invoice::new(
        ext,
        PartyRef::resolved(format!("{PROVIDER}:{client}"), client),
        parse_date(&a.date, "date")?,
        currency_of(a.currency.as_ref(), home)?,
    );
    inv.due_date = Some(parse_date(&a.due_date, "dueDate")?);
    inv.exchange_rate = a
        .currency
        .as_ref()
        .and_then(|c| c.exchange_rate)
        .map(|r| r.0);
    inv.lines = lines_from(&a.items);
    inv.memo = note_of(a.observations.as_deref());
    let number = number_of(a.number_template.as_ref());
    inv.number = number.clone();
    let mut remote = RemoteRef::new(PROVIDER, id).with_version(version_of(None, a));
    if let Some(n) = number {
        remote = remote.with_number(n);
    }
    inv.remote = Some(remote.clone());
    let mut rec = RemoteRecord::new(remote, Entity::Invoice(inv));
    rec.balance = a.balance.map(|b| b.0);
    rec.voided = a.status.as_deref() == Some("void");
    rec.raw = raw;
    Ok(rec)
}

/// The `POST /payments` body (before `passthrough`): `type: in`, the bank account, one entry per invoice.
///
/// # Errors
/// [`Error::Validation`] for a payment without applications or with a non-positive amount.
pub fn payment_of(
    p: &Payment,
    client_id: &str,
    bank_account: &str,
    invoice_ids: &[String],
) -> Result<AlegraPayment> {
    if p.applications.is_empty() {
        return Err(Error::invalid(
            "applications",
            "an Alegra payment (type in) must pay at least one invoice",
        ));
    }
    let invoices = p
        .applications
        .iter()
        .zip(invoice_ids)
        .enumerate()
        .map(|(n, (a, id))| {
            if a.amount <= Decimal::ZERO {
                return Err(Error::invalid(
                    format!("applications[{n}].amount"),
                    "must be positive",
                ));
            }
            Ok(DocAmount {
                id: Id(id.clone()),
                amount: Amount(a.amount),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(AlegraPayment {
        date: date(p.date),
        kind: "in".into(),
        client: Some(IdRef::new(client_id)),
        bank_account: Some(IdRef::new(bank_account)),
        payment_method: Some(p.method.clone().unwrap_or_else(|| "transfer".into())),
        invoices,
        currency: Some(currency_ref(p.currency, p.exchange_rate)),
        observations: Some(observations(p.reference.as_deref(), &p.external_ref)?),
        ..AlegraPayment::default()
    })
}

/// A payment read back.
///
/// # Errors
/// [`Error::Validation`] for dates or currencies Alegra should not send.
pub fn payment_record(a: &AlegraPayment, raw: Value, home: Currency) -> Result<RemoteRecord> {
    let id = a.id.as_ref().map(Id::as_str).unwrap_or_default();
    let ext = ref_from_observations(a.observations.as_deref())
        .unwrap_or_else(|| format!("{PROVIDER}:{id}"));
    let client = a
        .client
        .as_ref()
        .map(|c| c.id.0.clone())
        .unwrap_or_default();
    let applied: Decimal = a.invoices.iter().map(|i| i.amount.0).sum();
    let mut p = Payment::new(
        ext,
        PartyRef::resolved(format!("{PROVIDER}:{client}"), client),
        parse_date(&a.date, "date")?,
        currency_of(a.currency.as_ref(), home)?,
        a.amount.map_or(applied, |x| x.0),
    );
    for i in &a.invoices {
        p = p.apply_to(
            DocRef::resolved(format!("{PROVIDER}:{}", i.id), i.id.0.clone()),
            i.amount.0,
        );
    }
    p.method = a.payment_method.clone();
    p.deposit_account = a.bank_account.as_ref().map(|b| b.id.0.clone());
    p.reference = note_of(a.observations.as_deref());
    let remote = RemoteRef::new(PROVIDER, id).with_version(version_of(None, a));
    p.remote = Some(remote.clone());
    let mut rec = RemoteRecord::new(remote, Entity::Payment(p));
    rec.voided = a.status.as_deref() == Some("void");
    rec.raw = raw;
    Ok(rec)
}

/// The `POST /credit-notes` body (before `passthrough`): lines, and the invoice credited by `amount` (the note's
/// total as erp-hub computes it), SAT cause `01`.
///
/// # Errors
/// Line and tax mapping errors; too long notes.
pub fn credit_note_of(
    cn: &CreditNote,
    client_id: &str,
    invoice_id: &str,
    amount: Decimal,
    items: Vec<DocItem>,
) -> Result<AlegraCreditNote> {
    Ok(AlegraCreditNote {
        date: date(cn.issue_date),
        client: Some(IdRef::new(client_id)),
        items,
        invoices: vec![DocAmount {
            id: Id(invoice_id.to_owned()),
            amount: Amount(amount),
        }],
        cause: Some("01".into()),
        currency: Some(currency_ref(cn.currency, cn.exchange_rate)),
        observations: Some(observations(cn.reason.as_deref(), &cn.external_ref)?),
        stamp: Some(Stamp {
            generate_stamp: Some(false),
            ..Stamp::default()
        }),
        ..AlegraCreditNote::default()
    })
}

/// A credit note read back.
///
/// # Errors
/// [`Error::Validation`] for dates or currencies Alegra should not send.
pub fn credit_note_record(
    a: &AlegraCreditNote,
    raw: Value,
    home: Currency,
) -> Result<RemoteRecord> {
    let id = a.id.as_ref().map(Id::as_str).unwrap_or_default();
    let ext = ref_from_observations(a.observations.as_deref())
        .unwrap_or_else(|| format!("{PROVIDER}:{id}"));
    let client = a
        .client
        .as_ref()
        .map(|c| c.id.0.clone())
        .unwrap_or_default();
    let invoice = a
        .invoices
        .first()
        .map(|i| i.id.0.clone())
        .unwrap_or_default();
    let mut cn = CreditNote::new(
        ext,
        PartyRef::resolved(format!("{PROVIDER}:{client}"), client),
        DocRef::resolved(format!("{PROVIDER}:{invoice}"), invoice),
        parse_date(&a.date, "date")?,
        currency_of(a.currency.as_ref(), home)?,
    );
    cn.lines = lines_from(&a.items);
    cn.reason = note_of(a.observations.as_deref());
    let number = number_of(a.number_template.as_ref());
    cn.number = number.clone();
    let mut remote = RemoteRef::new(PROVIDER, id).with_version(version_of(None, a));
    if let Some(n) = number {
        remote = remote.with_number(n);
    }
    cn.remote = Some(remote.clone());
    let mut rec = RemoteRecord::new(remote, Entity::CreditNote(cn));
    rec.voided = a.status.as_deref() == Some("void");
    rec.raw = raw;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::tax::{Tax, TaxRate};

    #[test]
    fn marker_round_trip_keeps_the_note() {
        let o = observations(Some("Pedido 42"), "inv-7").unwrap();
        assert_eq!(o, "Pedido 42\nerp-hub:ref=inv-7");
        assert_eq!(ref_from_observations(Some(&o)).as_deref(), Some("inv-7"));
        assert_eq!(note_of(Some(&o)).as_deref(), Some("Pedido 42"));
        assert_eq!(ref_from_observations(Some("nota sin marca")), None);
        assert!(observations(Some(&"x".repeat(500)), "r").is_err());
    }

    #[test]
    fn line_taxes_go_through_the_tax_key() {
        let mut m = AccountMapping::new("alegra");
        m.tax_codes.insert("IVA16+RET-ISR10".into(), "1, 5".into());
        let line = InvoiceLine::new("x", Decimal::ONE, Decimal::TEN)
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(Decimal::from(16))))
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(Decimal::from(10))));
        let ids: Vec<String> = tax_refs(&m, &line)
            .unwrap()
            .into_iter()
            .map(|t| t.id.0)
            .collect();
        assert_eq!(ids, ["1", "5"]);
        let other = InvoiceLine::new("y", Decimal::ONE, Decimal::TEN)
            .with_tax(Tax::transferred("IVA", TaxRate::Zero));
        let err = tax_refs(&m, &other).unwrap_err();
        assert!(err.to_string().contains("IVA0"), "{err}");
        assert!(
            tax_refs(&m, &InvoiceLine::new("z", Decimal::ONE, Decimal::ONE))
                .unwrap()
                .is_empty()
        );
    }
}
