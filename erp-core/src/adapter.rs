//! The [`ErpAdapter`] trait every provider crate implements, and the types it speaks.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};

/// A caller-chosen key that makes a write safe to retry: the same key never creates a second record.
///
/// Adapters send it natively where the provider supports it (QuickBooks `requestid`, Xero `Idempotency-Key`)
/// and otherwise de-duplicate by looking up the external reference before writing. Keys are 1–128 printable
/// ASCII characters (Xero's limit); derive them from your own record id and operation, e.g. `inv-42-create`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 128;

    /// Validates and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        if key.is_empty() || key.len() > Self::MAX_LEN {
            return Err(crate::Error::invalid(
                "idempotency_key",
                format!(
                    "must be 1..={} characters, got {}",
                    Self::MAX_LEN,
                    key.len()
                ),
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(crate::Error::invalid(
                "idempotency_key",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(Self(key))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = crate::Error;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<IdempotencyKey> for String {
    fn from(value: IdempotencyKey) -> Self {
        value.0
    }
}

/// Something an adapter can do (or a way it behaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Invoices can be voided.
    VoidInvoice,
    /// Credit notes can be created.
    CreditNotes,
    /// A payment may cover part of an invoice and several invoices.
    PartialPayments,
    /// `list_changed_since` is supported.
    ChangedSince,
    /// The provider de-duplicates writes by idempotency key natively.
    NativeIdempotency,
    /// Records carry a version for optimistic concurrency.
    Versions,
    /// Documents may be in a currency other than the home currency.
    MultiCurrency,
    /// Several writes can be sent in one request.
    Batch,
    /// The provider can push change notifications.
    Webhooks,
}

impl Capability {
    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of [`Capability`] flags.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u32);

impl Capabilities {
    /// No capabilities.
    pub const fn none() -> Self {
        Self(0)
    }

    /// The same set with `cap` added.
    #[must_use]
    pub const fn with(self, cap: Capability) -> Self {
        Self(self.0 | cap.bit())
    }

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALL: [Capability; 9] = [
            Capability::VoidInvoice,
            Capability::CreditNotes,
            Capability::PartialPayments,
            Capability::ChangedSince,
            Capability::NativeIdempotency,
            Capability::Versions,
            Capability::MultiCurrency,
            Capability::Batch,
            Capability::Webhooks,
        ];
        f.debug_set()
            .entries(ALL.iter().filter(|c| self.contains(**c)))
            .finish()
    }
}

/// The connected company, as returned by [`ErpAdapter::test_connection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompanyInfo {
    /// The provider's id of the company (QuickBooks realmId, Xero tenant id).
    pub id: String,
    /// Company name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Home (base) currency code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_currency: Option<String>,
    /// The company's tax id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
}

impl CompanyInfo {
    /// Company info with only id and name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            country: None,
            home_currency: None,
            tax_id: None,
        }
    }
}

/// A unified entity, as read back from a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entity {
    /// A customer.
    Customer(Customer),
    /// An item.
    Item(Item),
    /// An invoice.
    Invoice(Invoice),
    /// A payment.
    Payment(Payment),
    /// A credit note.
    CreditNote(CreditNote),
}

impl Entity {
    /// The entity's kind.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Customer(_) => EntityKind::Customer,
            Self::Item(_) => EntityKind::Item,
            Self::Invoice(_) => EntityKind::Invoice,
            Self::Payment(_) => EntityKind::Payment,
            Self::CreditNote(_) => EntityKind::CreditNote,
        }
    }
}

/// A record read from the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteRecord {
    /// Where it lives.
    pub remote: RemoteRef,
    /// The record mapped to the unified model.
    pub entity: Entity,
    /// The open balance, for invoices (after payments and credit notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<rust_decimal::Decimal>,
    /// Whether the record is voided or deleted at the provider.
    #[serde(default)]
    pub voided: bool,
    /// The provider's raw JSON, when the adapter keeps it.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub raw: serde_json::Value,
}

impl RemoteRecord {
    /// A record without balance or raw JSON.
    pub fn new(remote: RemoteRef, entity: Entity) -> Self {
        Self {
            remote,
            entity,
            balance: None,
            voided: false,
            raw: serde_json::Value::Null,
        }
    }
}

/// An opaque position in a provider's change feed; store it and pass it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeCursor(pub String);

/// One change in the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// What changed.
    pub kind: EntityKind,
    /// Its identity (and new version).
    pub remote: RemoteRef,
    /// Our external reference, when the provider keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// Whether the record was deleted or voided.
    #[serde(default)]
    pub deleted: bool,
    /// When it changed, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
}

impl Change {
    /// A non-deletion change.
    pub fn new(kind: EntityKind, remote: RemoteRef) -> Self {
        Self {
            kind,
            remote,
            external_ref: None,
            deleted: false,
            changed_at: None,
        }
    }
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChangePage {
    /// Changes in feed order.
    pub changes: Vec<Change>,
    /// Where to continue from (pass to the next call).
    pub next: ChangeCursor,
    /// Whether more changes are waiting now.
    pub has_more: bool,
}

impl ChangePage {
    /// A page.
    pub fn new(changes: Vec<Change>, next: ChangeCursor, has_more: bool) -> Self {
        Self {
            changes,
            next,
            has_more,
        }
    }
}

/// One write of a batch: what to write. Paired with its key in [`BatchWrite`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "record", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteOp {
    /// [`ErpAdapter::upsert_customer`].
    UpsertCustomer(Customer),
    /// [`ErpAdapter::upsert_item`].
    UpsertItem(Item),
    /// [`ErpAdapter::create_invoice`].
    CreateInvoice(Invoice),
    /// [`ErpAdapter::void_invoice`] of the referenced invoice.
    VoidInvoice(RemoteRef),
    /// [`ErpAdapter::record_payment`].
    RecordPayment(Payment),
    /// [`ErpAdapter::create_credit_note`].
    CreateCreditNote(CreditNote),
    /// [`ErpAdapter::answer_received`]: answer a fiscal document a supplier issued to us (Costa Rica's
    /// MensajeReceptor). No ERP record is written; a [`FiscalAdapter`](crate::fiscal::FiscalAdapter)'s step
    /// submits the answer to the tax authority.
    AnswerReceived(ReceivedAnswer),
}

/// The answer to a fiscal document a supplier issued to us, queued like any other write
/// ([`WriteOp::AnswerReceived`]) so its retries, polling and failures are the hub's and its sync log's.
///
/// Provider neutral: the country's [`FiscalStep`](crate::fiscal::FiscalStep) reads `document` (verifying it)
/// and interprets `answer` (for Costa Rica, `cr_einvoice::hub::answer_received` builds it from a
/// `Respuesta`). Answers are keyed [`EntityKind::Invoice`] under `external_ref`; choose references that cannot
/// collide with your invoices' (Costa Rica requires `mr:<supplier clave>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReceivedAnswer {
    /// Our reference of the answer (the hub record's key), e.g. `mr:<supplier clave>`.
    pub external_ref: String,
    /// The supplier's signed document, as received.
    pub document: String,
    /// The answer, in the form the country's fiscal step documents.
    pub answer: serde_json::Value,
}

impl ReceivedAnswer {
    /// An answer to `document`.
    pub fn new(
        external_ref: impl Into<String>,
        document: impl Into<String>,
        answer: serde_json::Value,
    ) -> Self {
        Self {
            external_ref: external_ref.into(),
            document: document.into(),
            answer,
        }
    }
}

impl WriteOp {
    /// The kind of record this write produces or changes.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::UpsertCustomer(_) => EntityKind::Customer,
            Self::UpsertItem(_) => EntityKind::Item,
            Self::CreateInvoice(_) | Self::VoidInvoice(_) | Self::AnswerReceived(_) => {
                EntityKind::Invoice
            }
            Self::RecordPayment(_) => EntityKind::Payment,
            Self::CreateCreditNote(_) => EntityKind::CreditNote,
        }
    }
}

/// One element of [`ErpAdapter::write_batch`]: a write and the idempotency key it is sent under.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchWrite {
    /// What to write.
    pub op: WriteOp,
    /// The key this element is sent under; the same rules as for single writes apply.
    pub key: IdempotencyKey,
}

impl BatchWrite {
    /// Pairs a write with its key.
    pub fn new(op: WriteOp, key: IdempotencyKey) -> Self {
        Self { op, key }
    }
}

/// Sends one [`BatchWrite`] through the matching single-record method of `adapter`.
///
/// This is what the default [`ErpAdapter::write_batch`] does for every element.
pub async fn write_one<A: ErpAdapter + ?Sized>(
    adapter: &A,
    write: &BatchWrite,
) -> Result<RemoteRef> {
    let key = &write.key;
    match &write.op {
        WriteOp::UpsertCustomer(c) => adapter.upsert_customer(c, key).await,
        WriteOp::UpsertItem(i) => adapter.upsert_item(i, key).await,
        WriteOp::CreateInvoice(i) => adapter.create_invoice(i, key).await,
        WriteOp::VoidInvoice(r) => adapter.void_invoice(r, key).await,
        WriteOp::RecordPayment(p) => adapter.record_payment(p, key).await,
        WriteOp::CreateCreditNote(c) => adapter.create_credit_note(c, key).await,
        WriteOp::AnswerReceived(a) => adapter.answer_received(a, key).await,
    }
}

/// The limits a provider enforces per connection (tenant + app), which a scheduler must respect.
///
/// `None` means the provider documents no such limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
    /// Requests in flight at once.
    pub max_concurrent: Option<u32>,
    /// Requests per day.
    pub daily_cap: Option<u32>,
    /// Batch requests per minute (QuickBooks counts these separately as well).
    pub batch_requests_per_minute: Option<u32>,
}

impl ConnectionLimits {
    /// No documented limits.
    pub const fn unlimited() -> Self {
        Self {
            requests_per_minute: None,
            max_concurrent: None,
            daily_cap: None,
            batch_requests_per_minute: None,
        }
    }

    /// Sets requests per minute.
    pub const fn with_requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_minute = Some(n);
        self
    }

    /// Sets requests in flight at once.
    pub const fn with_max_concurrent(mut self, n: u32) -> Self {
        self.max_concurrent = Some(n);
        self
    }

    /// Sets requests per day.
    pub const fn with_daily_cap(mut self, n: u32) -> Self {
        self.daily_cap = Some(n);
        self
    }

    /// Sets batch requests per minute.
    pub const fn with_batch_requests_per_minute(mut self, n: u32) -> Self {
        self.batch_requests_per_minute = Some(n);
        self
    }
}

/// An accounting provider (QuickBooks Online, Xero, Alegra, CONTPAQi, or the in-memory test double).
///
/// Object safe: hold adapters as `Box<dyn ErpAdapter>` / `Arc<dyn ErpAdapter>`.
///
/// ## Contract
/// - Every write takes an [`IdempotencyKey`]; repeating a write with the same key and the same input
///   returns the first result and creates nothing new. The same key with a different input is a
///   [`Validation`](crate::ErrorKind::Validation) error.
/// - Upserts match on `external_ref`: the first call creates, later calls update (with optimistic
///   concurrency when the input carries a `remote` version: a stale one is a
///   [`Conflict`](crate::ErrorKind::Conflict)).
/// - A write that fails with [`Uncertain`](crate::ErrorKind::Uncertain) may have been applied: look it up
///   (by external reference or [`ErpAdapter::get`]) before retrying with a new key.
#[async_trait::async_trait]
pub trait ErpAdapter: Send + Sync {
    /// Short provider id (`quickbooks`, `xero`, `memory`, ...), used in [`RemoteRef::provider`].
    fn provider(&self) -> &'static str;

    /// What this adapter supports.
    fn capabilities(&self) -> Capabilities;

    /// Checks credentials and returns the connected company.
    async fn test_connection(&self) -> Result<CompanyInfo>;

    /// Creates or updates a customer matched by `external_ref`.
    async fn upsert_customer(&self, customer: &Customer, key: &IdempotencyKey)
    -> Result<RemoteRef>;

    /// Creates or updates an item matched by `external_ref`.
    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef>;

    /// Creates an invoice.
    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef>;

    /// Voids an invoice (it stays on record with zero balance).
    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef>;

    /// Records a payment applied to one or more invoices.
    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef>;

    /// Creates a credit note and allocates it to the invoice it references.
    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef>;

    /// Answers a fiscal document a supplier issued to us ([`WriteOp::AnswerReceived`]). Only a
    /// [`FiscalAdapter`](crate::fiscal::FiscalAdapter) does (its step submits the answer to the authority and
    /// returns the authority's record); the default answers [`Unsupported`](crate::ErrorKind::Unsupported).
    async fn answer_received(
        &self,
        answer: &ReceivedAnswer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let _ = key;
        Err(crate::Error::unsupported(format!(
            "answer_received `{}`: {} writes no answers to received fiscal documents; register a fiscal \
             adapter",
            answer.external_ref,
            self.provider()
        )))
    }

    /// Reads a record by its remote id.
    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord>;

    /// Lists changes after `cursor` (from the beginning when `None`), for the given kinds.
    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage>;

    /// The provider's limits for this connection. Default: none documented.
    fn limits(&self) -> ConnectionLimits {
        ConnectionLimits::unlimited()
    }

    /// Most writes [`write_batch`](Self::write_batch) sends in one provider request. Default 1 (no native
    /// batching); QuickBooks answers 30, Xero 50.
    fn max_batch(&self) -> usize {
        1
    }

    /// Attaches a certified fiscal document (a CFDI UUID and its stamped XML) to the ERP record `record` of
    /// kind `kind`, so the UUID is on the record (QuickBooks: a `PrivateNote` marker plus the XML as an
    /// Attachable; Xero: the XML as an attachment named after the UUID, the `Reference` keeping our external
    /// reference).
    ///
    /// Idempotent like every write: attaching the same stamp again (same key, or a record that already carries
    /// the stamp's marker) changes nothing and returns the record's reference. Attaching a *different* UUID to
    /// a record that already carries one is a [`Conflict`](crate::ErrorKind::Conflict).
    ///
    /// The default answers [`Unsupported`](crate::ErrorKind::Unsupported).
    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &crate::fiscal::FiscalStamp,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let _ = (kind, record, stamp, key);
        Err(crate::Error::unsupported("attach_fiscal_stamp"))
    }

    /// Finishes a write that the hub found already applied at the provider: its key was older than the
    /// provider's idempotency window, and the lookup by external reference (`hub::reconcile`) found `remote`,
    /// so the write is not sent again. A plain adapter has nothing left to do (the default returns `remote`);
    /// an adapter that does more than the provider write (the fiscal wrapper: stamp, then attach the stamp)
    /// finishes that here, idempotently, so reconciliation never skips it.
    ///
    /// # Errors
    /// The remaining steps' errors; the hub keeps the key and retries (the write itself was applied).
    async fn finish_reconciled(
        &self,
        op: &WriteOp,
        key: &IdempotencyKey,
        remote: RemoteRef,
    ) -> Result<RemoteRef> {
        let _ = (op, key);
        Ok(remote)
    }

    /// Sends several writes, returning one result per input in input order.
    ///
    /// Each element keeps the single-write contract: its own key, replay-safe, and an error that may have been
    /// applied is [`Uncertain`](crate::ErrorKind::Uncertain). A failure of the whole request is reported on
    /// every element it covers. The default sends one call per element, in order, with [`write_one`].
    async fn write_batch(&self, writes: &[BatchWrite]) -> Vec<Result<RemoteRef>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(write_one(self, w).await);
        }
        out
    }
}
