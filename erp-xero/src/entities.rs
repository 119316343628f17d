//! [`XeroAdapter`]: the [`ErpAdapter`] for one Xero organisation (tenant).
//!
//! | unified | Xero | notes |
//! |---|---|---|
//! | `upsert_customer` | `PUT /Contacts` (create), `POST /Contacts/{ContactID}` (update) | matched on `ContactNumber` = `external_ref`; a taken name is [`Error::Duplicate`] with the existing `ContactID` |
//! | `upsert_item` | `PUT /Items`, `POST /Items/{ItemID}` | matched on `Code` |
//! | `create_invoice` | `PUT /Invoices` (`Type` `ACCREC`, `Status` `AUTHORISED`) | `Reference` = `external_ref` |
//! | `void_invoice` | `POST /Invoices/{InvoiceID}` with `Status` `VOIDED` (`DELETED` for drafts) | |
//! | `record_payment` | `PUT /Payments` (one application), `PUT /BatchPayments` (several) | partial amounts allowed; see [`payments`] |
//! | `create_credit_note` | `PUT /CreditNotes` (`ACCRECCREDIT`) then `PUT /CreditNotes/{id}/Allocations` | |
//! | `get` | `GET /Contacts/{id}`, `/Items/{id}`, `/Invoices/{id}`, `/Payments/{id}` (on `404`, `/BatchPayments/{id}`), `/CreditNotes/{id}` | |
//! | `list_changed_since` | `If-Modified-Since` + `page` | see [`changes`](crate::changes) |
//! | `test_connection` | `GET /Organisation` | |
//!
//! Every write sends an `Idempotency-Key` (the caller's key; a logical write that needs a second request, such
//! as the allocation of a credit note, derives `key:alloc`), so erp-hub-core's client may safely retry it after
//! a `429`, a `5xx` or a lost response.
//!
//! **Capabilities.** [`Capability::PartialPayments`] is claimed: a payment may cover part of an invoice, and a
//! payment over several invoices is recorded as one Xero batch payment (its applications must add up to its
//! amount, and it cannot carry an exchange rate; see [`payments`]).
//!
//! **Versions.** Xero has no ETag or SyncToken (last write wins). The adapter uses `UpdatedDateUTC` (epoch
//! milliseconds) as [`RemoteRef::version`]: an update whose input carries a version first reads the record and
//! fails with [`Error::Conflict`] when it changed since. The read and the write are two requests, so a change in
//! between is not detected.

pub mod payments;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use erp_hub_core::adapter::{
    BatchWrite, Capabilities, Capability, ChangeCursor, ChangePage, CompanyInfo, ConnectionLimits,
    Entity, ErpAdapter, IdempotencyKey, RemoteRecord,
};
use erp_hub_core::http::{HttpResponse, Method};
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, EntityKind, Invoice, Item, PartyRef, Payment,
    RemoteRef,
};
use erp_hub_core::money::Currency;
use erp_hub_core::{Error, Result};
use serde_json::Value;

use crate::client::{Call, XeroClient, derive_key};
use crate::error::{is_duplicate_name, rename_elements};
use crate::mapping::{self, PROVIDER, dec, str_of};
use crate::wire::{Account, AllocationBody, Amount, Contact, InvoiceRef, TaxRate};

/// The adapter for one organisation. Cheap to clone. Build it with [`XeroClient::adapter`].
#[derive(Clone)]
pub struct XeroAdapter {
    client: XeroClient,
    connection: String,
    tenant: String,
    mapping: Arc<AccountMapping>,
}

impl fmt::Debug for XeroAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XeroAdapter")
            .field("connection", &self.connection)
            .field("tenant", &self.tenant)
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

/// One element of a Xero collection as its typed [`wire`](crate::wire) struct.
fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| Error::invalid("response", format!("unexpected Xero record: {e}")))
}

/// Escapes a value for a Xero `where` filter string literal.
pub(crate) fn quote(v: &str) -> String {
    let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// The currency of a Xero `CurrencyCode`.
pub(crate) fn currency(code: Option<&str>) -> Result<Currency> {
    let code = code.ok_or_else(|| Error::invalid("CurrencyCode", "missing in Xero response"))?;
    Ok(Currency::from_code(code)?)
}

impl XeroAdapter {
    pub(crate) fn new(client: XeroClient, connection: &str, tenant: &str) -> Self {
        Self {
            client,
            connection: connection.to_owned(),
            tenant: tenant.to_owned(),
            mapping: Arc::new(AccountMapping::new(PROVIDER)),
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

    /// The `xero-tenant-id`.
    pub fn tenant_id(&self) -> &str {
        &self.tenant
    }

    /// The account and tax mapping.
    pub fn mapping(&self) -> &AccountMapping {
        &self.mapping
    }

    /// The client.
    pub fn client(&self) -> &XeroClient {
        &self.client
    }

    pub(crate) async fn call(&self, call: Call) -> Result<HttpResponse> {
        self.client.call(&self.connection, &self.tenant, call).await
    }

    /// `GET` a collection endpoint and return its array (`{"Contacts": [...]}` → `[...]`).
    pub(crate) async fn list(&self, call: Call, collection: &str) -> Result<Vec<Value>> {
        let v: Value = self.call(call).await?.json()?;
        Ok(v.get(collection)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    pub(crate) async fn one(
        &self,
        path: String,
        collection: &str,
        entity: &'static str,
        id: &str,
    ) -> Result<Value> {
        self.list(Call::get(path, entity, id), collection)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(entity, id))
    }

    async fn find(
        &self,
        path: &str,
        collection: &'static str,
        filter: String,
    ) -> Result<Option<Value>> {
        let call = Call::get(path, collection, "").query("where", filter);
        Ok(self.list(call, collection).await?.into_iter().next())
    }

    /// The contact whose `ContactNumber` is `number`, if any.
    ///
    /// # Errors
    /// Transport and auth errors; [`Error::Validation`] for a record that is not a Xero contact.
    pub async fn find_contact_by_number(&self, number: &str) -> Result<Option<Contact>> {
        self.find(
            "/Contacts",
            "Contacts",
            format!("ContactNumber=={}", quote(number)),
        )
        .await?
        .map(typed)
        .transpose()
    }

    /// The active contact named `name` (compared case-insensitively, as Xero's uniqueness rule does), if any.
    /// Uses `searchTerm`, Xero's case-insensitive search over names, numbers and e-mail addresses.
    ///
    /// # Errors
    /// Transport and auth errors; [`Error::Validation`] for a record that is not a Xero contact.
    pub async fn find_contact_by_name(&self, name: &str) -> Result<Option<Contact>> {
        let call = Call::get("/Contacts", "customer", "").query("searchTerm", name);
        let wanted = name.trim().to_lowercase();
        self.list(call, "Contacts")
            .await?
            .into_iter()
            .find(|c| {
                str_of(c, "ContactStatus") != Some("ARCHIVED")
                    && str_of(c, "Name").is_some_and(|n| n.trim().to_lowercase() == wanted)
            })
            .map(typed)
            .transpose()
    }

    /// `GET /Accounts`: the chart of accounts (to build an [`AccountMapping`]).
    ///
    /// # Errors
    /// Transport and auth errors; [`Error::Validation`] for a record that is not a Xero account.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.list(Call::get("/Accounts", "account", ""), "Accounts")
            .await?
            .into_iter()
            .map(typed)
            .collect()
    }

    /// `GET /TaxRates`: the organisation's tax rates and their `TaxType` codes (to build an [`AccountMapping`]).
    ///
    /// # Errors
    /// Transport and auth errors; [`Error::Validation`] for a record that is not a Xero tax rate.
    pub async fn tax_rates(&self) -> Result<Vec<TaxRate>> {
        self.list(Call::get("/TaxRates", "tax_rate", ""), "TaxRates")
            .await?
            .into_iter()
            .map(typed)
            .collect()
    }

    async fn resolve_contact(&self, party: &PartyRef) -> Result<String> {
        if let Some(id) = &party.remote_id {
            return Ok(id.clone());
        }
        let found = self.find_contact_by_number(&party.external_ref).await?;
        found
            .map(|c| c.contact_id)
            .ok_or_else(|| Error::not_found("customer", party.external_ref.clone()))
    }

    pub(crate) async fn resolve_invoice(&self, doc: &DocRef) -> Result<String> {
        if let Some(id) = &doc.remote_id {
            return Ok(id.clone());
        }
        let found = self
            .find(
                "/Invoices",
                "Invoices",
                format!("Type==\"ACCREC\"&&Reference=={}", quote(&doc.external_ref)),
            )
            .await?;
        found
            .as_ref()
            .and_then(|v| str_of(v, "InvoiceID"))
            .map(str::to_owned)
            .ok_or_else(|| Error::not_found("invoice", doc.external_ref.clone()))
    }

    /// Fails with `Conflict` when the record changed since `expected.version`.
    async fn check_version(
        &self,
        path: String,
        collection: &str,
        entity: &'static str,
        expected: &RemoteRef,
    ) -> Result<()> {
        let Some(version) = &expected.version else {
            return Ok(());
        };
        let current = self.one(path, collection, entity, &expected.id).await?;
        let now = mapping::updated(&current).map(|u| u.timestamp_millis().to_string());
        if now.as_deref() != Some(version.as_str()) {
            return Err(Error::conflict(format!(
                "Xero {entity} {} changed since version {version} (now {})",
                expected.id,
                now.unwrap_or_else(|| "unknown".into())
            )));
        }
        Ok(())
    }

    /// Sends one write and returns the first element of `collection` in the response.
    pub(crate) async fn write_one(
        &self,
        method: Method,
        path: String,
        collection: &str,
        entity: &'static str,
        body: Vec<u8>,
        key: String,
    ) -> Result<Value> {
        let resp = self
            .call(Call::write(method, path, body, key, entity))
            .await
            .map_err(|e| rename_elements(e, collection))?;
        let v: Value = resp.json()?;
        v.get(collection)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
            .ok_or_else(|| Error::uncertain(format!("Xero answered without {collection}")))
    }

    async fn duplicate_or(&self, err: Error, name: &str) -> Error {
        if !is_duplicate_name(&err) {
            return err;
        }
        let existing = match self.find_contact_by_name(name).await {
            Ok(v) => v.map(|c| c.contact_id),
            Err(lookup) => {
                tracing::debug!(error = %lookup, "could not look up the contact holding the name");
                None
            }
        };
        Error::Duplicate {
            message: format!("a Xero contact named {name:?} already exists"),
            existing_id: existing,
        }
    }

    fn record(&self, remote: RemoteRef, entity: Entity, raw: Value) -> RemoteRecord {
        let mut r = RemoteRecord::new(remote, entity);
        r.raw = raw;
        r
    }
}

#[async_trait]
impl ErpAdapter for XeroAdapter {
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
        let org = self
            .one("/Organisation".into(), "Organisations", "organisation", "")
            .await?;
        let mut info = CompanyInfo::new(
            self.tenant.clone(),
            str_of(&org, "Name").unwrap_or_default(),
        );
        info.country = str_of(&org, "CountryCode").map(str::to_owned);
        info.home_currency = str_of(&org, "BaseCurrency").map(str::to_owned);
        info.tax_id = str_of(&org, "TaxNumber").map(str::to_owned);
        Ok(info)
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        // Validate before any request.
        mapping::contact_body(customer, None)?;
        let existing = match &customer.remote {
            Some(r) => {
                self.check_version(format!("/Contacts/{}", r.id), "Contacts", "customer", r)
                    .await?;
                Some(r.id.clone())
            }
            None => self
                .find_contact_by_number(&customer.external_ref)
                .await?
                .map(|c| c.contact_id),
        };
        let body = mapping::contact_body(customer, existing.clone())?;
        let raw = mapping::with_passthrough(&body, &customer.passthrough)?;
        let bytes = mapping::envelope("Contacts", vec![raw])?;
        let (method, path, k) = match &existing {
            Some(id) => (
                Method::POST,
                format!("/Contacts/{id}"),
                derive_key(key.as_str(), "update"),
            ),
            None => (Method::PUT, "/Contacts".to_owned(), key.as_str().to_owned()),
        };
        match self
            .write_one(method, path, "Contacts", "customer", bytes, k)
            .await
        {
            Ok(v) => mapping::remote_ref(&v, "ContactID", None),
            Err(e) => Err(self.duplicate_or(e, &body.name).await),
        }
    }

    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef> {
        mapping::item_body(item, None, &self.mapping)?;
        let existing = match &item.remote {
            Some(r) => {
                self.check_version(format!("/Items/{}", r.id), "Items", "item", r)
                    .await?;
                Some(r.id.clone())
            }
            None => self
                .find("/Items", "Items", format!("Code=={}", quote(&item.code)))
                .await?
                .and_then(|v| str_of(&v, "ItemID").map(str::to_owned)),
        };
        let body = mapping::item_body(item, existing.clone(), &self.mapping)?;
        let raw = mapping::with_passthrough(&body, &item.passthrough)?;
        let bytes = mapping::envelope("Items", vec![raw])?;
        let (method, path, k) = match &existing {
            Some(id) => (
                Method::POST,
                format!("/Items/{id}"),
                derive_key(key.as_str(), "update"),
            ),
            None => (Method::PUT, "/Items".to_owned(), key.as_str().to_owned()),
        };
        let v = self
            .write_one(method, path, "Items", "item", bytes, k)
            .await?;
        mapping::remote_ref(&v, "ItemID", Some("Code"))
    }

    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef> {
        // Map first (tax mapping, accounts): configuration errors before any request.
        mapping::invoice_body(invoice, String::new(), &self.mapping)?;
        let contact = self.resolve_contact(&invoice.customer).await?;
        let body = mapping::invoice_body(invoice, contact, &self.mapping)?;
        let raw = mapping::with_passthrough(&body, &invoice.passthrough)?;
        let bytes = mapping::envelope("Invoices", vec![raw])?;
        let v = self
            .write_one(
                Method::PUT,
                "/Invoices".into(),
                "Invoices",
                "invoice",
                bytes,
                key.as_str().to_owned(),
            )
            .await?;
        mapping::remote_ref(&v, "InvoiceID", Some("InvoiceNumber"))
    }

    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef> {
        let path = format!("/Invoices/{}", invoice.id);
        let current = self
            .one(path.clone(), "Invoices", "invoice", &invoice.id)
            .await?;
        let status = match str_of(&current, "Status") {
            Some("VOIDED") | Some("DELETED") => {
                return mapping::remote_ref(&current, "InvoiceID", Some("InvoiceNumber"));
            }
            // Xero deletes drafts and voids approved invoices.
            Some("DRAFT") | Some("SUBMITTED") => "DELETED",
            _ => "VOIDED",
        };
        let body = serde_json::json!({"Invoices": [{"InvoiceID": invoice.id, "Status": status}]});
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::invalid("body", e.to_string()))?;
        let v = self
            .write_one(
                Method::POST,
                path,
                "Invoices",
                "invoice",
                bytes,
                key.as_str().to_owned(),
            )
            .await?;
        mapping::remote_ref(&v, "InvoiceID", Some("InvoiceNumber"))
    }

    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.record_any_payment(payment, key).await
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        mapping::credit_note_body(credit_note, String::new(), &self.mapping)?;
        let contact = self.resolve_contact(&credit_note.customer).await?;
        let invoice_id = self.resolve_invoice(&credit_note.invoice).await?;
        let body = mapping::credit_note_body(credit_note, contact, &self.mapping)?;
        let raw = mapping::with_passthrough(&body, &credit_note.passthrough)?;
        let bytes = mapping::envelope("CreditNotes", vec![raw])?;
        let v = self
            .write_one(
                Method::PUT,
                "/CreditNotes".into(),
                "CreditNotes",
                "credit_note",
                bytes,
                key.as_str().to_owned(),
            )
            .await?;
        let remote = mapping::remote_ref(&v, "CreditNoteID", Some("CreditNoteNumber"))?;
        let total = match dec(v.get("Total")) {
            Some(t) => t,
            None => credit_note.breakdown()?.total.amount(),
        };
        let alloc_invoice = invoice_id.clone();
        let alloc = AllocationBody {
            invoice: InvoiceRef { invoice_id },
            amount: Amount(total),
            date: mapping::payment_date(credit_note.issue_date),
        };
        let bytes = serde_json::to_vec(&serde_json::json!({ "Allocations": [alloc] }))
            .map_err(|e| Error::invalid("body", e.to_string()))?;
        // The credit note exists now: a failed allocation is `Uncertain`, never a verdict that invites a new key
        // (and a second credit note). A retry with the same key gets the same note back from Xero's
        // Idempotency-Key store and sends the allocation again under its derived key.
        self.write_one(
            Method::PUT,
            format!("/CreditNotes/{}/Allocations", remote.id),
            "Allocations",
            "credit_note",
            bytes,
            derive_key(key.as_str(), "alloc"),
        )
        .await
        .map_err(|e| Error::Uncertain {
            message: format!(
                "credit note {} was created but allocating it to invoice {} failed; retry with the same key to finish",
                remote.id, alloc_invoice
            ),
            source: Some(Box::new(e)),
        })?;
        Ok(remote)
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        match kind {
            EntityKind::Customer => {
                let v = self
                    .one(
                        format!("/Contacts/{remote_id}"),
                        "Contacts",
                        "customer",
                        remote_id,
                    )
                    .await?;
                let mut c = mapping::customer_from(&v);
                let remote = mapping::remote_ref(&v, "ContactID", None)?;
                c.remote = Some(remote.clone());
                let mut r = self.record(remote, Entity::Customer(c), Value::Null);
                r.voided = str_of(&v, "ContactStatus") == Some("ARCHIVED");
                r.raw = v;
                Ok(r)
            }
            EntityKind::Item => {
                let v = self
                    .one(format!("/Items/{remote_id}"), "Items", "item", remote_id)
                    .await?;
                let mut item = mapping::item_from(&v);
                let remote = mapping::remote_ref(&v, "ItemID", Some("Code"))?;
                item.remote = Some(remote.clone());
                Ok(self.record(remote, Entity::Item(item), v))
            }
            EntityKind::Invoice => {
                let v = self
                    .one(
                        format!("/Invoices/{remote_id}"),
                        "Invoices",
                        "invoice",
                        remote_id,
                    )
                    .await?;
                let contact = v.get("Contact").cloned().unwrap_or(Value::Null);
                let party = PartyRef::resolved(
                    str_of(&contact, "ContactNumber").unwrap_or_default(),
                    str_of(&contact, "ContactID").unwrap_or_default(),
                );
                let issue = mapping::date_field(&v, "Date")
                    .ok_or_else(|| Error::invalid("Date", "missing in Xero invoice"))?;
                let mut inv = Invoice::new(
                    str_of(&v, "Reference").unwrap_or_default(),
                    party,
                    issue,
                    currency(str_of(&v, "CurrencyCode"))?,
                );
                inv.due_date = mapping::date_field(&v, "DueDate");
                inv.number = str_of(&v, "InvoiceNumber").map(str::to_owned);
                inv.exchange_rate = dec(v.get("CurrencyRate"));
                inv.price_mode = mapping::price_mode_from(&v);
                inv.lines = mapping::lines_from(&v);
                let remote = mapping::remote_ref(&v, "InvoiceID", Some("InvoiceNumber"))?;
                inv.remote = Some(remote.clone());
                let mut r = self.record(remote, Entity::Invoice(inv), Value::Null);
                r.balance = dec(v.get("AmountDue"));
                r.voided = matches!(str_of(&v, "Status"), Some("VOIDED") | Some("DELETED"));
                r.raw = v;
                Ok(r)
            }
            EntityKind::Payment => self.get_payment(remote_id).await,
            EntityKind::CreditNote => {
                let v = self
                    .one(
                        format!("/CreditNotes/{remote_id}"),
                        "CreditNotes",
                        "credit_note",
                        remote_id,
                    )
                    .await?;
                let contact = v.get("Contact").cloned().unwrap_or(Value::Null);
                let alloc_inv = v
                    .get("Allocations")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|a| a.get("Invoice"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let date = mapping::date_field(&v, "Date")
                    .ok_or_else(|| Error::invalid("Date", "missing in Xero credit note"))?;
                let mut cn = CreditNote::new(
                    str_of(&v, "Reference").unwrap_or_default(),
                    PartyRef::resolved(
                        str_of(&contact, "ContactNumber").unwrap_or_default(),
                        str_of(&contact, "ContactID").unwrap_or_default(),
                    ),
                    // No allocation yet: the invoice is unknown (`remote_id: None`, never `Some("")`).
                    match str_of(&alloc_inv, "InvoiceID").filter(|id| !id.is_empty()) {
                        Some(id) => DocRef::resolved(
                            str_of(&alloc_inv, "Reference").unwrap_or_default(),
                            id,
                        ),
                        None => {
                            DocRef::external(str_of(&alloc_inv, "Reference").unwrap_or_default())
                        }
                    },
                    date,
                    currency(str_of(&v, "CurrencyCode"))?,
                );
                cn.number = str_of(&v, "CreditNoteNumber").map(str::to_owned);
                cn.exchange_rate = dec(v.get("CurrencyRate"));
                cn.price_mode = mapping::price_mode_from(&v);
                cn.lines = mapping::lines_from(&v);
                let remote = mapping::remote_ref(&v, "CreditNoteID", Some("CreditNoteNumber"))?;
                cn.remote = Some(remote.clone());
                let mut r = self.record(remote, Entity::CreditNote(cn), Value::Null);
                r.balance = dec(v.get("RemainingCredit"));
                r.voided = matches!(str_of(&v, "Status"), Some("VOIDED") | Some("DELETED"));
                r.raw = v;
                Ok(r)
            }
            other => Err(Error::unsupported(format!("xero: get {other}"))),
        }
    }

    /// Uploads the stamped XML as an attachment `<UUID>.xml` of the invoice or credit note: the file name
    /// carries the UUID. `Reference` is left alone: it holds our external reference, which
    /// `create_invoice` / `create_credit_note` and the change feed look records up by (appending the UUID
    /// there would break that reconciliation). Idempotent: an attachment of that name is not uploaded again;
    /// a `<other UUID>.xml` attachment is a `Conflict`. Xero payments take no attachments: `Unsupported`.
    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &erp_hub_core::fiscal::FiscalStamp,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        use erp_hub_core::fiscal::FiscalStamp;
        let (coll, id_field, number_field, entity) = match kind {
            EntityKind::Invoice => ("Invoices", "InvoiceID", "InvoiceNumber", "invoice"),
            EntityKind::CreditNote => (
                "CreditNotes",
                "CreditNoteID",
                "CreditNoteNumber",
                "credit_note",
            ),
            other => {
                return Err(Error::unsupported(format!(
                    "attach_fiscal_stamp to a Xero {other}"
                )));
            }
        };
        let path = format!("/{coll}/{}", record.id);
        let current = self.one(path.clone(), coll, entity, &record.id).await?;
        let file_name = stamp.file_name();
        let attachments = self
            .list(
                Call::get(format!("{path}/Attachments"), entity, &record.id),
                "Attachments",
            )
            .await?;
        let mut present = false;
        for a in &attachments {
            let name = str_of(a, "FileName").unwrap_or_default();
            if name.eq_ignore_ascii_case(&file_name) {
                present = true;
            } else if let Some(other) = FiscalStamp::id_of_file_name(name) {
                return Err(Error::conflict(format!(
                    "{coll} {} already carries UUID {other}; not attaching {}",
                    record.id, stamp.uuid
                )));
            }
        }
        if !present {
            let mut call = Call::write(
                Method::PUT,
                format!("{path}/Attachments/{file_name}"),
                stamp.xml.as_bytes().to_vec(),
                derive_key(key.as_str(), "stamp-xml"),
                entity,
            );
            call.content_type = Some("application/xml");
            self.call(call).await?;
        }
        mapping::remote_ref(&current, id_field, Some(number_field))
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        crate::changes::list_changed_since(self, kinds, cursor).await
    }

    /// Per tenant: 60 requests/min, 5 in flight, 5,000 per day (Xero's documented limits).
    fn limits(&self) -> ConnectionLimits {
        ConnectionLimits::unlimited()
            .with_requests_per_minute(60)
            .with_max_concurrent(5)
            .with_daily_cap(5_000)
    }

    /// [`MAX_BATCH`](crate::batch::MAX_BATCH) (50).
    fn max_batch(&self) -> usize {
        crate::batch::MAX_BATCH
    }

    /// Customer upserts as one array request, everything else singly: see [`crate::batch`].
    async fn write_batch(&self, writes: &[BatchWrite]) -> Vec<Result<RemoteRef>> {
        crate::batch::write_batch(self, writes).await
    }
}
