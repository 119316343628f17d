//! [`QuickBooksAdapter`]: the [`ErpAdapter`] implementation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use erp_hub_core::adapter::{
    BatchWrite, Capabilities, Capability, ChangeCursor, ChangePage, CompanyInfo, ConnectionLimits,
    Entity, ErpAdapter, IdempotencyKey, RemoteRecord,
};
use erp_hub_core::http::TokenStore;
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, PartyRef,
    Payment, RemoteRef,
};
use erp_hub_core::tax::TaxBreakdown;
use erp_hub_core::{Error, ErrorKind, Result};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::client::{QuickBooksClient, derived_request_id, quote, request_id};
use crate::config::QuickBooksConfig;
use crate::mapping::{self, PROVIDER, note_marker, note_ref, remote_ref};
pub use crate::wire::{AccountInfo, TaxCodeInfo};
use crate::wire::{
    Amount, CompanyInfoResp, CustomerBody, CustomerResp, IdToken, ItemBody, ItemResp, LinkedTxn,
    PaymentBody, PaymentResp, Ref, SalesTxnBody, SalesTxnResp, TxnLine,
};

/// A QuickBooks Online company (one realm) as an [`ErpAdapter`].
///
/// Remembers, in memory, the remote ids of customers, items and invoices it wrote or read (by external
/// reference), so documents can refer to them by external reference within one process. Across processes,
/// pass the remote ids ([`PartyRef::resolved`], [`DocRef::resolved`]).
#[derive(Debug, Clone)]
pub struct QuickBooksAdapter {
    client: QuickBooksClient,
    mapping: Arc<AccountMapping>,
    known: Arc<Mutex<HashMap<(EntityKind, String), String>>>,
}

/// The adapter's name before 0.2.
#[deprecated(
    since = "0.1.0",
    note = "renamed to `QuickBooksAdapter` (every adapter is `<Provider>Adapter`)"
)]
pub type QuickBooks = QuickBooksAdapter;

impl QuickBooksAdapter {
    /// An adapter for `config.realm_id`, with OAuth tokens in `store` (keyed by realm id).
    ///
    /// # Errors
    /// [`Error::Config`] for invalid URLs or when the HTTP client cannot be built.
    pub fn new(config: QuickBooksConfig, store: Arc<dyn TokenStore>) -> Result<Self> {
        Ok(Self::from_client(QuickBooksClient::new(config, store)?))
    }

    /// An adapter over an existing client.
    pub fn from_client(client: QuickBooksClient) -> Self {
        Self {
            client,
            mapping: Arc::new(AccountMapping::new(PROVIDER)),
            known: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The same adapter with `mapping` for accounts and tax codes (see
    /// [`AccountMapping::tax_key`] for the keys of [`AccountMapping::tax_codes`]). Every adapter takes its
    /// mapping this way.
    #[must_use]
    pub fn with_mapping(mut self, mapping: AccountMapping) -> Self {
        self.mapping = Arc::new(mapping);
        self
    }

    /// The account and tax mapping.
    pub fn mapping(&self) -> &AccountMapping {
        &self.mapping
    }

    /// The REST client (queries, batch, CDC, raw entity access).
    pub fn client(&self) -> &QuickBooksClient {
        &self.client
    }

    pub(crate) fn cfg(&self) -> &QuickBooksConfig {
        self.client.config()
    }

    pub(crate) fn remember(&self, kind: EntityKind, external_ref: &str, id: &str) {
        if external_ref.is_empty() {
            return;
        }
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((kind, external_ref.to_owned()), id.to_owned());
    }

    fn known(&self, kind: EntityKind, external_ref: &str) -> Option<String> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(kind, external_ref.to_owned()))
            .cloned()
    }

    fn party(&self, p: &PartyRef, field: &str) -> Result<String> {
        p.remote_id
            .clone()
            .or_else(|| self.known(EntityKind::Customer, &p.external_ref))
            .ok_or_else(|| {
                Error::invalid(
                    format!("{field}.remote_id"),
                    "QuickBooks cannot find customers by external reference: pass the id returned by upsert_customer",
                )
            })
    }

    fn doc(&self, d: &DocRef, field: &str) -> Result<String> {
        d.remote_id
            .clone()
            .or_else(|| self.known(EntityKind::Invoice, &d.external_ref))
            .ok_or_else(|| {
                Error::invalid(
                    format!("{field}.remote_id"),
                    "QuickBooks cannot find invoices by external reference: pass the id returned by create_invoice",
                )
            })
    }

    async fn item_ids(&self, lines: &[InvoiceLine]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let id = match &line.item {
                None => self.cfg().default_item_id.clone(),
                Some(ext) => match self.known(EntityKind::Item, ext) {
                    Some(id) => id,
                    None => {
                        let rows: Vec<ItemResp> = self
                            .client
                            .query(&format!(
                                "SELECT * FROM Item WHERE Sku = {} MAXRESULTS 2",
                                quote(ext)
                            ))
                            .await?
                            .query_rows("Item")?;
                        let first = rows.into_iter().next().ok_or_else(|| {
                            Error::invalid(
                                format!("lines[{i}].item"),
                                format!(
                                    "no QuickBooks item with Sku {ext:?}; upsert the item first"
                                ),
                            )
                        })?;
                        self.remember(EntityKind::Item, ext, &first.id);
                        first.id
                    }
                },
            };
            out.push(id);
        }
        Ok(out)
    }

    async fn read_invoice(&self, id: &str) -> Result<SalesTxnResp> {
        self.client.read("invoice", id).await?.entity("Invoice")
    }

    /// Finds the customer named `name` (active or not).
    async fn customer_by_name(&self, name: &str) -> Result<Option<CustomerResp>> {
        let rows: Vec<CustomerResp> = self
            .client
            .query(&format!(
                "SELECT * FROM Customer WHERE DisplayName = {} AND Active IN (true, false)",
                quote(name)
            ))
            .await?
            .query_rows("Customer")?;
        Ok(rows.into_iter().next())
    }

    async fn update_customer(
        &self,
        mut body: CustomerBody,
        id: &str,
        token: String,
        rid: &str,
    ) -> Result<CustomerResp> {
        body.id = Some(id.to_owned());
        body.sync_token = Some(token);
        body.sparse = Some(true);
        // The marker was written on create; only send Notes when the caller passed some of their own.
        if body.notes.as_deref().is_some_and(|n| !n.contains('\n')) {
            body.notes = None;
        }
        self.client
            .write("customer", &body, rid, None)
            .await?
            .entity("Customer")
    }

    /// Sparse update of a record the adapter found itself: on a stale SyncToken (someone edited it between our
    /// read and our write) re-read and retry once. Safe because the update only sets fields of our model, and
    /// the re-read gives the current token.
    async fn update_found_customer(
        &self,
        body: CustomerBody,
        found: CustomerResp,
        key: &IdempotencyKey,
    ) -> Result<CustomerResp> {
        let token = found.sync_token.clone().unwrap_or_default();
        match self
            .update_customer(
                body.clone(),
                &found.id,
                token,
                &derived_request_id(key, "update"),
            )
            .await
        {
            Err(e) if e.kind() == ErrorKind::Conflict => {
                let fresh: CustomerResp = self
                    .client
                    .read("customer", &found.id)
                    .await?
                    .entity("Customer")?;
                self.update_customer(
                    body,
                    &fresh.id,
                    fresh.sync_token.clone().unwrap_or_default(),
                    &derived_request_id(key, "update-retry"),
                )
                .await
            }
            other => other,
        }
    }

    async fn apply_payment(&self, body: &PaymentBody, rid: &str) -> Result<PaymentResp> {
        self.client
            .write("payment", body, rid, None)
            .await?
            .entity("Payment")
    }

    /// Applies a created credit memo to its invoice: a zero-amount Payment linking both (Intuit's documented way)
    /// for the smaller of the credit and the invoice's open balance.
    #[allow(clippy::too_many_arguments)]
    async fn apply_credit(
        &self,
        credit_note: &CreditNote,
        memo: &SalesTxnResp,
        invoice_id: &str,
        customer: String,
        body: &SalesTxnBody,
        breakdown: &TaxBreakdown,
        key: &IdempotencyKey,
    ) -> Result<()> {
        let credit = memo
            .total_amt
            .map(|a| a.0)
            .unwrap_or_else(|| breakdown.total.amount());
        let open = self
            .read_invoice(invoice_id)
            .await?
            .balance
            .map(|b| b.0)
            .unwrap_or_default();
        let apply = credit.min(open);
        if apply <= Decimal::ZERO {
            return Ok(());
        }
        let body = PaymentBody {
            customer_ref: Ref::new(customer),
            total_amt: Amount(Decimal::ZERO),
            txn_date: credit_note.issue_date.to_string(),
            currency_ref: body.currency_ref.clone(),
            private_note: Some(note_marker(
                &credit_note.external_ref,
                &[("apply", &memo.id)],
            )),
            line: vec![
                TxnLine {
                    amount: Amount(apply),
                    linked_txn: vec![LinkedTxn::new(invoice_id.to_owned(), "Invoice")],
                    ..TxnLine::default()
                },
                TxnLine {
                    amount: Amount(apply),
                    linked_txn: vec![LinkedTxn::new(memo.id.clone(), "CreditMemo")],
                    ..TxnLine::default()
                },
            ],
            ..PaymentBody::default()
        };
        self.apply_payment(&body, &derived_request_id(key, "apply"))
            .await
            .map(|_| ())
    }

    /// Lists accounts (`SELECT * FROM Account`, paged).
    ///
    /// # Errors
    /// Mapped faults.
    pub async fn accounts(&self) -> Result<Vec<AccountInfo>> {
        self.client.query_all("Account", None, 1000).await
    }

    /// Lists tax codes (`SELECT * FROM TaxCode`, paged): the ids to put in [`AccountMapping::tax_codes`](erp_hub_core::model::AccountMapping::tax_codes).
    ///
    /// # Errors
    /// Mapped faults.
    pub async fn tax_codes(&self) -> Result<Vec<TaxCodeInfo>> {
        self.client.query_all("TaxCode", None, 1000).await
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Preferences {
    currency_prefs: Option<CurrencyPrefs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CurrencyPrefs {
    home_currency: Option<Ref>,
}

impl QuickBooksAdapter {
    /// The tax mode that fits the connected company: [`TaxMode::Us`](crate::TaxMode::Us) for US companies, [`TaxMode::Global`](crate::TaxMode::Global) for
    /// every other country (México included), from `CompanyInfo.Country`.
    ///
    /// # Errors
    /// As [`ErpAdapter::test_connection`].
    pub async fn detect_tax_mode(&self) -> Result<crate::config::TaxMode> {
        let info = self.test_connection().await?;
        Ok(match info.country.as_deref() {
            Some("US") | None => crate::config::TaxMode::Us,
            Some(_) => crate::config::TaxMode::Global,
        })
    }
}

fn sum(mut values: impl Iterator<Item = Decimal>) -> Result<Decimal> {
    values.try_fold(Decimal::ZERO, |acc, v| {
        acc.checked_add(v)
            .ok_or_else(|| Error::invalid("amount", "overflow"))
    })
}

fn kind_entity(kind: EntityKind) -> Result<&'static str> {
    Ok(match kind {
        EntityKind::Customer => "Customer",
        EntityKind::Item => "Item",
        EntityKind::Invoice => "Invoice",
        EntityKind::Payment => "Payment",
        EntityKind::CreditNote => "CreditMemo",
        other => return Err(Error::unsupported(format!("QuickBooks entity for {other}"))),
    })
}

fn country2(c: &str) -> String {
    match c {
        "USA" => "US".into(),
        "MEX" => "MX".into(),
        "CAN" => "CA".into(),
        "CRI" => "CR".into(),
        other => other.to_owned(),
    }
}

#[async_trait]
impl ErpAdapter for QuickBooksAdapter {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with(Capability::VoidInvoice)
            .with(Capability::CreditNotes)
            .with(Capability::PartialPayments)
            .with(Capability::ChangedSince)
            .with(Capability::NativeIdempotency)
            .with(Capability::Versions)
            .with(Capability::MultiCurrency)
            .with(Capability::Batch)
            .with(Capability::Webhooks)
    }

    async fn test_connection(&self) -> Result<CompanyInfo> {
        let info: CompanyInfoResp = self.client.company_info().await?.entity("CompanyInfo")?;
        let mut out = CompanyInfo::new(
            self.cfg().realm_id.clone(),
            info.company_name.or(info.legal_name).unwrap_or_default(),
        );
        out.country = info
            .country
            .or_else(|| info.company_addr.and_then(|a| a.country))
            .map(|c| country2(&c));
        // Home currency from the company preferences; optional (a token without access to them still connects).
        match self.client.read("preferences", "").await {
            Ok(resp) => {
                out.home_currency = resp
                    .entity::<Preferences>("Preferences")
                    .ok()
                    .and_then(|p| p.currency_prefs)
                    .and_then(|c| c.home_currency)
                    .map(|r| r.value);
            }
            Err(e) if e.kind() == ErrorKind::Auth => return Err(e),
            Err(e) => tracing::debug!(error = %e, "company preferences unavailable"),
        }
        Ok(out)
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let body = mapping::customer_body(customer, self.cfg())?;
        let saved = if let Some(remote) = &customer.remote {
            // Explicit update: the caller's version is the optimistic-concurrency check (5010 → Conflict).
            let token = match &remote.version {
                Some(v) => v.clone(),
                None => self
                    .client
                    .read("customer", &remote.id)
                    .await?
                    .entity::<CustomerResp>("Customer")?
                    .sync_token
                    .unwrap_or_default(),
            };
            let name = body.display_name.clone();
            match self
                .update_customer(body, &remote.id, token, &request_id(key))
                .await
            {
                Err(Error::Duplicate { message, .. }) => {
                    // Renamed to a name another record uses.
                    let existing = self.customer_by_name(&name).await?.map(|c| c.id);
                    return Err(Error::Duplicate {
                        message,
                        existing_id: existing,
                    });
                }
                other => other?,
            }
        } else {
            match self
                .client
                .write("customer", &body, &request_id(key), None)
                .await
            {
                Ok(resp) => resp.entity("Customer")?,
                Err(Error::Duplicate { message, .. }) => {
                    match self.customer_by_name(&body.display_name).await? {
                        Some(found)
                            if found.notes.as_deref().and_then(note_ref).as_deref()
                                == Some(customer.external_ref.as_str()) =>
                        {
                            self.update_found_customer(body, found, key).await?
                        }
                        Some(found) => {
                            return Err(Error::Duplicate {
                                message,
                                existing_id: Some(found.id),
                            });
                        }
                        None => {
                            return Err(Error::Duplicate {
                                message: format!(
                                    "{message} (the name belongs to a vendor or employee)"
                                ),
                                existing_id: None,
                            });
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        };
        self.remember(EntityKind::Customer, &customer.external_ref, &saved.id);
        Ok(remote_ref(
            &saved.id,
            saved.sync_token.as_ref(),
            None,
            saved.meta_data.as_ref(),
        ))
    }

    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef> {
        let mut body: ItemBody = mapping::item_body(item, &self.mapping)?;
        let saved: ItemResp = if let Some(remote) = &item.remote {
            body.id = Some(remote.id.clone());
            body.sync_token = Some(match &remote.version {
                Some(v) => v.clone(),
                None => self
                    .client
                    .read("item", &remote.id)
                    .await?
                    .entity::<ItemResp>("Item")?
                    .sync_token
                    .unwrap_or_default(),
            });
            body.sparse = Some(true);
            self.client
                .write("item", &body, &request_id(key), None)
                .await?
                .entity("Item")?
        } else {
            match self
                .client
                .write("item", &body, &request_id(key), None)
                .await
            {
                Ok(r) => r.entity("Item")?,
                Err(Error::Duplicate { message, .. }) => {
                    let rows: Vec<ItemResp> = self
                        .client
                        .query(&format!(
                            "SELECT * FROM Item WHERE Name = {} AND Active IN (true, false)",
                            quote(&item.name)
                        ))
                        .await?
                        .query_rows("Item")?;
                    match rows.into_iter().next() {
                        Some(found) if found.sku.as_deref() == Some(item.code.as_str()) => {
                            body.id = Some(found.id.clone());
                            body.sync_token = found.sync_token.clone();
                            body.sparse = Some(true);
                            self.client
                                .write("item", &body, &derived_request_id(key, "update"), None)
                                .await?
                                .entity("Item")?
                        }
                        found => {
                            return Err(Error::Duplicate {
                                message,
                                existing_id: found.map(|f| f.id),
                            });
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        };
        self.remember(EntityKind::Item, &item.external_ref, &saved.id);
        self.remember(EntityKind::Item, &item.code, &saved.id);
        Ok(remote_ref(
            &saved.id,
            saved.sync_token.as_ref(),
            None,
            saved.meta_data.as_ref(),
        ))
    }

    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef> {
        let customer = self.party(&invoice.customer, "customer")?;
        let breakdown = invoice.breakdown()?;
        let items = self.item_ids(&invoice.lines).await?;
        let lines = mapping::sales_lines(
            &invoice.lines,
            &breakdown,
            &items,
            &self.mapping,
            self.cfg(),
        )?;
        let number = mapping::invoice_number(invoice)?;
        let body = mapping::sales_txn_body(
            &customer,
            number.clone(),
            invoice.issue_date,
            invoice.due_date,
            invoice.currency,
            invoice.exchange_rate,
            lines,
            &breakdown,
            note_marker(&invoice.external_ref, &[]),
            invoice.memo.as_deref(),
            &invoice.passthrough,
            self.cfg(),
        )?;
        let saved: SalesTxnResp = match self
            .client
            .write("invoice", &body, &request_id(key), None)
            .await
        {
            Ok(r) => r.entity("Invoice")?,
            Err(Error::Duplicate { message, .. }) => {
                // 6140: the DocNumber exists. If it is this very invoice (same external reference), it is ours.
                let existing: Option<SalesTxnResp> = match &number {
                    Some(n) => self
                        .client
                        .query(&format!(
                            "SELECT * FROM Invoice WHERE DocNumber = {} MAXRESULTS 1",
                            quote(n)
                        ))
                        .await?
                        .query_rows("Invoice")?
                        .into_iter()
                        .next(),
                    None => None,
                };
                match existing {
                    Some(e)
                        if e.private_note.as_deref().and_then(note_ref).as_deref()
                            == Some(invoice.external_ref.as_str()) =>
                    {
                        e
                    }
                    e => {
                        return Err(Error::Duplicate {
                            message,
                            existing_id: e.map(|e| e.id),
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        };
        self.remember(EntityKind::Invoice, &invoice.external_ref, &saved.id);
        Ok(remote_ref(
            &saved.id,
            saved.sync_token.as_ref(),
            saved.doc_number.as_ref(),
            saved.meta_data.as_ref(),
        ))
    }

    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef> {
        let explicit = invoice.version.clone();
        let token = match &explicit {
            Some(v) => v.clone(),
            None => self
                .read_invoice(&invoice.id)
                .await?
                .sync_token
                .unwrap_or_default(),
        };
        let body = IdToken {
            id: invoice.id.clone(),
            sync_token: token,
        };
        let result = self
            .client
            .write("invoice", &body, &request_id(key), Some("void"))
            .await;
        let saved: SalesTxnResp = match result {
            Ok(r) => r.entity("Invoice")?,
            // We read the token ourselves: voiding is the same whatever changed meanwhile, so retry once.
            Err(e) if e.kind() == ErrorKind::Conflict && explicit.is_none() => {
                let fresh = self.read_invoice(&invoice.id).await?;
                let body = IdToken {
                    id: invoice.id.clone(),
                    sync_token: fresh.sync_token.unwrap_or_default(),
                };
                self.client
                    .write(
                        "invoice",
                        &body,
                        &derived_request_id(key, "void-retry"),
                        Some("void"),
                    )
                    .await?
                    .entity("Invoice")?
            }
            Err(e) => return Err(e),
        };
        Ok(remote_ref(
            &saved.id,
            saved.sync_token.as_ref(),
            saved.doc_number.as_ref(),
            saved.meta_data.as_ref(),
        ))
    }

    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef> {
        if payment.amount <= Decimal::ZERO {
            return Err(Error::invalid("amount", "must be positive"));
        }
        let customer = self.party(&payment.customer, "customer")?;
        let mut applications = Vec::with_capacity(payment.applications.len());
        for (i, a) in payment.applications.iter().enumerate() {
            if a.amount <= Decimal::ZERO {
                return Err(Error::invalid(
                    format!("applications[{i}].amount"),
                    "must be positive",
                ));
            }
            let id = self.doc(&a.invoice, &format!("applications[{i}].invoice"))?;
            applications.push((id, a.amount));
        }
        let applied = sum(applications.iter().map(|(_, a)| *a))?;
        if applied > payment.amount {
            return Err(Error::invalid(
                "applications",
                format!(
                    "applied {applied} exceeds the payment amount {}",
                    payment.amount
                ),
            ));
        }
        // No comparison with the invoice's open balance here: after this very payment was applied the balance is
        // lower, and a re-send with the same key (which QuickBooks answers from its `requestid` store) would be
        // refused as an overpayment although it succeeded. Over-application is QuickBooks' verdict (6000).
        let body =
            mapping::payment_body(payment, &customer, &applications, &self.mapping, self.cfg())?;
        let saved = self.apply_payment(&body, &request_id(key)).await?;
        Ok(remote_ref(
            &saved.id,
            saved.sync_token.as_ref(),
            None,
            saved.meta_data.as_ref(),
        ))
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let customer = self.party(&credit_note.customer, "customer")?;
        let invoice_id = self.doc(&credit_note.invoice, "invoice")?;
        let breakdown = credit_note.breakdown()?;
        let items = self.item_ids(&credit_note.lines).await?;
        let lines = mapping::sales_lines(
            &credit_note.lines,
            &breakdown,
            &items,
            &self.mapping,
            self.cfg(),
        )?;
        let body = mapping::sales_txn_body(
            &customer,
            mapping::credit_number(credit_note)?,
            credit_note.issue_date,
            None,
            credit_note.currency,
            credit_note.exchange_rate,
            lines,
            &breakdown,
            note_marker(&credit_note.external_ref, &[("invoice", &invoice_id)]),
            credit_note.reason.as_deref(),
            &credit_note.passthrough,
            self.cfg(),
        )?;
        let memo: SalesTxnResp = self
            .client
            .write("creditmemo", &body, &request_id(key), None)
            .await?
            .entity("CreditMemo")?;
        // From here on the credit memo exists: whatever fails is `Uncertain` (never `Validation`, which would invite
        // a re-send under a new key and a second memo). A retry with the same key gets the same memo back from
        // QuickBooks' `requestid` store and sends the application again under its own derived request id.
        self.apply_credit(
            credit_note,
            &memo,
            &invoice_id,
            customer,
            &body,
            &breakdown,
            key,
        )
        .await
        .map_err(|e| Error::Uncertain {
            message: format!(
                "credit memo {} was created but applying it to invoice {invoice_id} failed; \
                     retry with the same key to finish",
                memo.id
            ),
            source: Some(Box::new(e)),
        })?;
        Ok(remote_ref(
            &memo.id,
            memo.sync_token.as_ref(),
            memo.doc_number.as_ref(),
            memo.meta_data.as_ref(),
        ))
    }

    /// Puts the stamp's marker (`UUID:<uuid>`) into the record's `PrivateNote` (sparse update, keeping the
    /// note's text) and uploads the stamped XML as an Attachable linked to the record (`<UUID>.xml`).
    /// Idempotent: a note that already carries the marker is left alone, an existing Attachable of that name on
    /// the record is not uploaded again; a note carrying another UUID is a `Conflict`.
    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &erp_hub_core::fiscal::FiscalStamp,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        use erp_hub_core::fiscal::FiscalStamp;
        use serde_json::{Value, json};
        let entity = match kind {
            EntityKind::Invoice => "Invoice",
            EntityKind::CreditNote => "CreditMemo",
            EntityKind::Payment => "Payment",
            other => {
                return Err(Error::unsupported(format!(
                    "attach_fiscal_stamp to a {other}"
                )));
            }
        };
        let path = entity.to_ascii_lowercase();
        let current = self.client.read(&path, &record.id).await?.value();
        let obj = current.get(entity).cloned().unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let note = text(&obj, "PrivateNote").unwrap_or_default();
        let mut saved = obj.clone();
        match FiscalStamp::find_marker(&note) {
            Some(u) if u.eq_ignore_ascii_case(&stamp.uuid) => {}
            Some(other) => {
                return Err(Error::conflict(format!(
                    "{entity} {} already carries UUID {other}; not attaching {}",
                    record.id, stamp.uuid
                )));
            }
            None => {
                let marker = stamp.marker();
                let mut next = if note.is_empty() {
                    marker.clone()
                } else {
                    format!("{note} {marker}")
                };
                if next.chars().count() > 4000 {
                    // PrivateNote holds 4,000 characters: keep the marker, drop the oldest text.
                    let keep: String = note.chars().take(4000 - marker.len() - 1).collect();
                    next = format!("{keep} {marker}");
                }
                let body = json!({
                    "Id": record.id,
                    "SyncToken": text(&obj, "SyncToken").unwrap_or_default(),
                    "sparse": true,
                    "PrivateNote": next,
                });
                let r = self
                    .client
                    .write(&path, &body, &derived_request_id(key, "stamp-note"), None)
                    .await?;
                saved = r.value().get(entity).cloned().unwrap_or(Value::Null);
            }
        }
        let file_name = stamp.file_name();
        let existing: Vec<Value> = self
            .client
            .query(&format!(
                "SELECT * FROM Attachable WHERE FileName = {}",
                quote(&file_name)
            ))
            .await?
            .query_rows("Attachable")?;
        let linked = existing.iter().any(|a| {
            a.get("AttachableRef")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r.pointer("/EntityRef/value").and_then(Value::as_str)
                            == Some(record.id.as_str())
                    })
                })
        });
        if !linked {
            let meta = json!({
                "FileName": file_name,
                "ContentType": "application/xml",
                "Note": stamp.marker(),
                "AttachableRef": [{"EntityRef": {"type": entity, "value": record.id}}],
            });
            self.client
                .upload(
                    &meta,
                    &file_name,
                    "application/xml",
                    stamp.xml.as_bytes(),
                    &derived_request_id(key, "stamp-xml"),
                )
                .await?;
        }
        let token = text(&saved, "SyncToken");
        let number = text(&saved, "DocNumber");
        Ok(remote_ref(
            &record.id,
            token.as_ref(),
            number.as_ref(),
            None,
        ))
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        let name = kind_entity(kind)?;
        if remote_id.is_empty() {
            return Err(Error::invalid("remote_id", "must not be empty"));
        }
        let resp = self
            .client
            .read(name, remote_id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::not_found(kind.as_str(), remote_id),
                other => other,
            })?;
        let (entity, remote, balance, voided) = match kind {
            EntityKind::Customer => {
                let r: CustomerResp = resp.entity(name)?;
                let c = mapping::customer_back(&r);
                let remote = c.remote.clone();
                (
                    Entity::Customer(c),
                    remote,
                    r.balance.map(|b| b.0),
                    r.active == Some(false),
                )
            }
            EntityKind::Item => {
                let r: ItemResp = resp.entity(name)?;
                let i = mapping::item_back(&r);
                let remote = i.remote.clone();
                (Entity::Item(i), remote, None, r.active == Some(false))
            }
            EntityKind::Invoice => {
                let r: SalesTxnResp = resp.entity(name)?;
                let i = mapping::invoice_back(&r);
                let remote = i.remote.clone();
                let voided = r
                    .private_note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("Voided"));
                if !i.external_ref.is_empty() {
                    self.remember(EntityKind::Invoice, &i.external_ref, &r.id);
                }
                (Entity::Invoice(i), remote, r.balance.map(|b| b.0), voided)
            }
            EntityKind::Payment => {
                let r: PaymentResp = resp.entity(name)?;
                let p = mapping::payment_back(&r);
                let remote = p.remote.clone();
                (Entity::Payment(p), remote, None, false)
            }
            _ => {
                let r: SalesTxnResp = resp.entity(name)?;
                let c = mapping::credit_back(&r);
                let remote = c.remote.clone();
                (
                    Entity::CreditNote(c),
                    remote,
                    r.remaining_credit.map(|b| b.0),
                    false,
                )
            }
        };
        let mut rec = RemoteRecord::new(
            remote.unwrap_or_else(|| RemoteRef::new(PROVIDER, remote_id)),
            entity,
        );
        rec.balance = balance;
        rec.voided = voided;
        rec.raw = resp.value();
        Ok(rec)
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        crate::changes::changed_since(&self.client, kinds, cursor).await
    }

    /// 500 requests/min and 10 in flight per realm, 120 batch requests/min (Intuit, 2025).
    fn limits(&self) -> ConnectionLimits {
        ConnectionLimits::unlimited()
            .with_requests_per_minute(500)
            .with_max_concurrent(10)
            .with_batch_requests_per_minute(120)
    }

    /// [`MAX_BATCH_ITEMS`](crate::batch::MAX_BATCH_ITEMS) (30).
    fn max_batch(&self) -> usize {
        crate::batch::MAX_BATCH_ITEMS
    }

    /// New customers through `/batch`, everything else singly: see [`crate::batch`].
    async fn write_batch(&self, writes: &[BatchWrite]) -> Vec<Result<RemoteRef>> {
        crate::batch::write_batch(self, writes).await
    }
}
