//! Payments: one invoice through `PUT /Payments`, several invoices through `PUT /BatchPayments`.
//!
//! A [`Payment`] with one application becomes one Xero `Payment` (`RemoteRef::id` = its `PaymentID`). A payment
//! with two or more applications becomes one Xero `BatchPayment` of type `RECBATCH`, sent as a single request
//! with the caller's `Idempotency-Key`: `Account` from `deposit_account` (through the mapping) or
//! `AccountMapping::payment_account`, `Date`, `Reference` = `external_ref` (on the batch and on each of its
//! payments), `Details` = `reference` (the bank reference, 18 characters at most), and one `Payments[]` element per
//! application with the invoice's `InvoiceID` and the applied `Amount`. `passthrough` is merged into the batch.
//! Xero creates one `Payment` per invoice inside the batch; each carries the batch's `BatchPaymentID`.
//!
//! Before anything is sent the adapter checks, with typed errors:
//! - the applications add up to `amount` exactly ([`Error::Validation`]; a batch has no unapplied part);
//! - every applied amount is positive and no invoice is named twice, neither by the same reference nor by two
//!   references that resolve to the same `InvoiceID` ([`Error::Validation`]);
//! - every invoice exists ([`Error::NotFound`]) and is in the payment's currency ([`Error::Validation`]): the
//!   invoices are read in at most two requests (`GET /Invoices?IDs=…` for those with a `remote_id`, one `where`
//!   lookup on `Reference` for the others);
//! - no `exchange_rate` is given ([`Error::Unsupported`]): the `BatchPayment` schema has no `CurrencyRate`. Its
//!   `Payments[]` reuse the generic `Payment` schema, which lists one, but nothing documents that Xero applies a
//!   rate given there, so it could be dropped silently. Without a rate, Xero applies its own to
//!   foreign-currency invoices; send one `Payment` per invoice to fix the rate yourself.
//!
//! Xero documents the batch `Reference` as a New Zealand field; whether other organisations keep it (and each
//! payment's `Reference`) is not documented. The link that always holds is the returned id.
//!
//! # Ids
//! `RemoteRef::id` of a payment over several invoices is the **`BatchPaymentID`**: the one record Xero keeps for
//! the whole deposit (it is what the bank statement line is reconciled against). Xero's ids are GUIDs and a
//! `BatchPaymentID` is never a `PaymentID`, so [`get`](erp_hub_core::ErpAdapter::get) with
//! [`EntityKind::Payment`] reads `GET /Payments/{id}` and, only when that is `404`, `GET /BatchPayments/{id}`:
//! single payments cost one request, batches two. A batch reads back as one [`Payment`] with one application per
//! invoice; the `PaymentID` of one payment inside a batch also works and reads back as that single application.
//!
//! # Change feed
//! `GET /Payments` lists the payments inside batches too. The change feed reports them under their
//! `BatchPaymentID` (the id `record_payment` returned), once per batch and page, with the batch reported deleted
//! only when every one of its payments on that page is `DELETED`. Call `get` for the batch's current state.

use std::collections::HashSet;

use erp_hub_core::adapter::{Entity, IdempotencyKey, RemoteRecord};
use erp_hub_core::http::Method;
use erp_hub_core::model::{DocRef, EntityKind, PartyRef, Payment, RemoteRef};
use erp_hub_core::{Error, FieldError, Result};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::client::Call;
use crate::entities::{XeroAdapter, currency, quote};
use crate::mapping::{self, dec, str_of};
use crate::wire::{AccountRef, Amount, InvoiceRef, PaymentBody};

fn party(contact: &Value) -> PartyRef {
    PartyRef::resolved(
        str_of(contact, "ContactNumber").unwrap_or_default(),
        str_of(contact, "ContactID").unwrap_or_default(),
    )
}

fn doc(invoice: &Value) -> DocRef {
    DocRef::resolved(
        str_of(invoice, "Reference").unwrap_or_default(),
        str_of(invoice, "InvoiceID").unwrap_or_default(),
    )
}

/// Two references that name the same invoice before any lookup.
fn same_doc(a: &DocRef, b: &DocRef) -> bool {
    match (&a.remote_id, &b.remote_id) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.external_ref == b.external_ref,
        _ => false,
    }
}

/// Checks that need no request: amounts, duplicates, exchange rate, field lengths.
fn check_batch(payment: &Payment) -> Result<()> {
    if payment.exchange_rate.is_some() {
        return Err(Error::unsupported(
            "xero: a payment over several invoices is a BatchPayment, which has no CurrencyRate: \
             omit exchange_rate (Xero applies its own rate) or send one Payment per invoice",
        ));
    }
    let apps = &payment.applications;
    let mut errors = Vec::new();
    let mut sum = Decimal::ZERO;
    for (i, app) in apps.iter().enumerate() {
        sum += app.amount;
        if app.amount <= Decimal::ZERO {
            errors.push(FieldError::new(
                format!("applications[{i}].amount"),
                "must be greater than zero",
            ));
        }
        if apps
            .iter()
            .take(i)
            .any(|a| same_doc(&a.invoice, &app.invoice))
        {
            errors.push(FieldError::new(
                format!("applications[{i}].invoice"),
                "the invoice is already paid by an earlier application of this payment: merge them",
            ));
        }
    }
    if sum != payment.amount {
        errors.push(FieldError::new(
            "amount",
            format!(
                "a Xero batch payment has no unapplied part: the amount {} must equal the sum of the applications {sum}",
                payment.amount
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation {
            errors,
            source: None,
        });
    }
    // Field lengths, with placeholder invoice ids.
    mapping::batch_payment_body(payment, String::new(), Vec::new())?;
    Ok(())
}

impl XeroAdapter {
    /// The Xero account code the money goes to.
    fn payment_account(&self, payment: &Payment) -> Result<String> {
        payment
            .deposit_account
            .as_deref()
            .map(|a| self.mapping().account(a).to_owned())
            .or_else(|| self.mapping().payment_account.clone())
            .ok_or_else(|| {
                Error::config("no Xero payment account: set Payment::deposit_account or AccountMapping::payment_account")
            })
    }

    pub(crate) async fn record_any_payment(
        &self,
        payment: &Payment,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        match payment.applications.as_slice() {
            [] => Err(Error::unsupported(
                "xero: a payment must apply to at least one invoice (payments on account are not supported)",
            )),
            [app] => {
                if app.amount != payment.amount {
                    return Err(Error::invalid(
                        "amount",
                        "Xero records the applied amount: payment amount must equal its application",
                    ));
                }
                let account = self.payment_account(payment)?;
                let invoice_id = self.resolve_invoice(&app.invoice).await?;
                let body = PaymentBody {
                    invoice: InvoiceRef { invoice_id },
                    account: AccountRef { code: account },
                    date: mapping::payment_date(payment.date),
                    amount: Amount(app.amount),
                    reference: payment.external_ref.clone(),
                    details: payment.reference.clone(),
                    currency_rate: payment.exchange_rate.map(Amount),
                };
                let raw = mapping::with_passthrough(&body, &payment.passthrough)?;
                let bytes = mapping::envelope("Payments", vec![raw])?;
                let v = self
                    .write_one(
                        Method::PUT,
                        "/Payments".into(),
                        "Payments",
                        "payment",
                        bytes,
                        key.as_str().to_owned(),
                    )
                    .await?;
                mapping::remote_ref(&v, "PaymentID", None)
            }
            _ => self.record_batch_payment(payment, key).await,
        }
    }

    async fn record_batch_payment(
        &self,
        payment: &Payment,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        check_batch(payment)?;
        let account = self.payment_account(payment)?;
        let docs: Vec<&DocRef> = payment.applications.iter().map(|a| &a.invoice).collect();
        let invoices = self.invoices_of(&docs).await?;
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut ids = Vec::with_capacity(invoices.len());
        for (i, inv) in invoices.iter().enumerate() {
            let id = str_of(inv, "InvoiceID").unwrap_or_default().to_owned();
            if !seen.insert(id.clone()) {
                errors.push(FieldError::new(
                    format!("applications[{i}].invoice"),
                    format!("invoice {id} is already paid by an earlier application of this payment: merge them"),
                ));
            }
            let code = str_of(inv, "CurrencyCode");
            if code != Some(payment.currency.code()) {
                errors.push(FieldError::new(
                    format!("applications[{i}].invoice"),
                    format!(
                        "invoice {id} is in {}, the payment in {}: one batch payment pays invoices of its own currency",
                        code.unwrap_or("an unknown currency"),
                        payment.currency.code()
                    ),
                ));
            }
            ids.push(id);
        }
        if !errors.is_empty() {
            return Err(Error::Validation {
                errors,
                source: None,
            });
        }
        let body = mapping::batch_payment_body(payment, account, ids)?;
        let raw = mapping::with_passthrough(&body, &payment.passthrough)?;
        let bytes = mapping::envelope("BatchPayments", vec![raw])?;
        let v = self
            .write_one(
                Method::PUT,
                "/BatchPayments".into(),
                "BatchPayments",
                "payment",
                bytes,
                key.as_str().to_owned(),
            )
            .await?;
        mapping::remote_ref(&v, "BatchPaymentID", None)
    }

    /// The invoices named by `docs`, in order: those with a `remote_id` in one `GET /Invoices?IDs=…`, the others
    /// in one `where` lookup on `Reference`.
    async fn invoices_of(&self, docs: &[&DocRef]) -> Result<Vec<Value>> {
        let ids: Vec<&str> = docs.iter().filter_map(|d| d.remote_id.as_deref()).collect();
        let by_id = if ids.is_empty() {
            Vec::new()
        } else {
            let call = Call::get("/Invoices", "invoice", "").query("IDs", ids.join(","));
            self.list(call, "Invoices").await?
        };
        let filter = docs
            .iter()
            .filter(|d| d.remote_id.is_none())
            .map(|d| format!("Type==\"ACCREC\"&&Reference=={}", quote(&d.external_ref)))
            .collect::<Vec<_>>()
            .join("||");
        let by_ref = if filter.is_empty() {
            Vec::new()
        } else {
            let call = Call::get("/Invoices", "invoice", "").query("where", filter);
            self.list(call, "Invoices").await?
        };
        docs.iter()
            .map(|d| {
                let found = match &d.remote_id {
                    Some(id) => by_id
                        .iter()
                        .find(|v| str_of(v, "InvoiceID") == Some(id.as_str())),
                    None => by_ref
                        .iter()
                        .find(|v| str_of(v, "Reference") == Some(d.external_ref.as_str())),
                };
                found.cloned().ok_or_else(|| {
                    Error::not_found("invoice", d.remote_id.as_deref().unwrap_or(&d.external_ref))
                })
            })
            .collect()
    }

    /// `get(Payment, id)`: `/Payments/{id}`, then `/BatchPayments/{id}` when Xero has no such payment.
    pub(crate) async fn get_payment(&self, remote_id: &str) -> Result<RemoteRecord> {
        let path = format!("/Payments/{remote_id}");
        match self.one(path, "Payments", "payment", remote_id).await {
            Ok(v) => self.payment_record(v),
            Err(Error::NotFound { .. }) => {
                let path = format!("/BatchPayments/{remote_id}");
                let v = self
                    .one(path, "BatchPayments", "payment", remote_id)
                    .await?;
                self.batch_record(v)
            }
            Err(e) => Err(e),
        }
    }

    fn payment_record(&self, v: Value) -> Result<RemoteRecord> {
        let inv = v.get("Invoice").cloned().unwrap_or(Value::Null);
        let contact = inv.get("Contact").cloned().unwrap_or(Value::Null);
        let amount = dec(v.get("Amount")).unwrap_or_default();
        let date = mapping::date_field(&v, "Date")
            .ok_or_else(|| Error::invalid("Date", "missing in Xero payment"))?;
        let code = str_of(&inv, "CurrencyCode").or_else(|| str_of(&v, "CurrencyCode"));
        let mut p = Payment::new(
            str_of(&v, "Reference").unwrap_or_default(),
            party(&contact),
            date,
            currency(code)?,
            amount,
        )
        .apply_to(doc(&inv), amount);
        p.exchange_rate = dec(v.get("CurrencyRate"));
        self.finish_payment(p, v, "PaymentID")
    }

    fn batch_record(&self, v: Value) -> Result<RemoteRecord> {
        let empty = Vec::new();
        let payments = v
            .get("Payments")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let first_inv = payments
            .first()
            .and_then(|p| p.get("Invoice"))
            .cloned()
            .unwrap_or(Value::Null);
        let contact = first_inv.get("Contact").cloned().unwrap_or(Value::Null);
        let date = mapping::date_field(&v, "Date")
            .ok_or_else(|| Error::invalid("Date", "missing in Xero batch payment"))?;
        let code = str_of(&first_inv, "CurrencyCode")
            .or_else(|| v.get("Account").and_then(|a| str_of(a, "CurrencyCode")));
        let reference = str_of(&v, "Reference")
            .filter(|r| !r.is_empty())
            .or_else(|| payments.first().and_then(|p| str_of(p, "Reference")))
            .unwrap_or_default();
        let applied: Decimal = payments.iter().filter_map(|p| dec(p.get("Amount"))).sum();
        let amount = dec(v.get("TotalAmount")).unwrap_or(applied);
        let mut p = Payment::new(reference, party(&contact), date, currency(code)?, amount);
        for line in payments {
            let inv = line.get("Invoice").cloned().unwrap_or(Value::Null);
            p = p.apply_to(doc(&inv), dec(line.get("Amount")).unwrap_or_default());
        }
        self.finish_payment(p, v, "BatchPaymentID")
    }

    /// The fields a payment and a batch share (`Account`, `Details`, `Status`), the remote reference, the record.
    fn finish_payment(&self, mut p: Payment, v: Value, id_field: &str) -> Result<RemoteRecord> {
        p.deposit_account = v
            .get("Account")
            .and_then(|a| str_of(a, "Code"))
            .map(str::to_owned);
        p.reference = str_of(&v, "Details").map(str::to_owned);
        let remote = mapping::remote_ref(&v, id_field, None)?;
        p.remote = Some(remote.clone());
        let mut r = RemoteRecord::new(remote, Entity::Payment(p));
        r.voided = str_of(&v, "Status") == Some("DELETED");
        r.raw = v;
        Ok(r)
    }
}

/// The id under which the change feed reports a payment: its `BatchPaymentID` when it belongs to a batch.
pub(crate) fn change_id<'a>(kind: EntityKind, v: &'a Value, id_field: &str) -> Option<&'a str> {
    let batch = match kind {
        EntityKind::Payment => str_of(v, "BatchPaymentID").filter(|b| !b.is_empty()),
        _ => None,
    };
    batch.or_else(|| str_of(v, id_field))
}
