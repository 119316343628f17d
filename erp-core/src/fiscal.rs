//! Fiscal documents for ERP records: the stamp a tax authority (through a certifier) puts on an invoice,
//! payment or credit note, the [`FiscalStep`] that obtains it, the [`StampJournal`] that keeps it durably, and
//! [`ErpAdapter::attach_fiscal_stamp`], which writes it back to the
//! ERP record.
//!
//! This module knows no country: Mexico's CFDI implementation lives in `sat-cfdi` (feature `hub`,
//! `cfdi::hub::CfdiStep`). The flow for one document is
//!
//! 1. **stamp**: build the fiscal document from the unified model record, seal it, have it certified;
//! 2. **journal**: keep the stamped XML and its UUID durably ([`StampJournal`]) *before* anything else is done
//!    with it, so a crash after certification never loses the UUID and never leads to a second one;
//! 3. **write back**: attach the stamp to the ERP record ([`ErpAdapter::attach_fiscal_stamp`]).
//!
//! In the hub, wrap the tenant's adapter in a [`FiscalAdapter`] when registering it: every invoice, credit note
//! and payment it sends then goes through the step, and the hub's retries, leases and dead letters apply to the
//! whole (stamp, write, attach) unit.
//!
//! # Order: stamp first or post first
//! [`FiscalOrder`] says where the step runs relative to the ERP write:
//!
//! * [`FiscalOrder::StampThenPost`]: the document is certified first, then created in the ERP with the stamp
//!   attached right after. A document the certifier rejects (a wrong RFC, a missing catalog key) never reaches
//!   the books, and the UUID is on the ERP record from its first day. But a document the ERP then rejects is
//!   already a valid fiscal document: it must be fixed in the ERP (or cancelled with the tax authority).
//! * [`FiscalOrder::PostThenStamp`]: the ERP record is created first, then certified and the stamp written back.
//!   The books never contain a record that was refused by the ERP, but a certification failure leaves an ERP
//!   invoice without UUID until an operator fixes the input. [`FiscalAdapter`] then reports the failure as
//!   [`Transient`](crate::ErrorKind::Transient) ("posted as …, not stamped: …"), never as a verdict meaning
//!   "nothing applied": the hub keeps the write's idempotency key, so its retries and a re-queue after the
//!   fix replay the post (the provider answers with the record it has) and resume at stamping.
//!
//! # Exactly once
//! A fiscal document must never be certified twice (two UUIDs are two valid invoices for one sale). The
//! journal protocol that guarantees it is:
//!
//! * before the first send to a certifier, [`StampJournal::begin`] stores the sealed document (its content,
//!   and therefore its signature, are fixed from then on) and [`StampJournal::sending`] names the certifier
//!   about to receive it ([`StampJournal::begin_sending`] does both for a new document, in one durable write
//!   on the hub's databases);
//! * a retry (after a crash, a timeout, a lease takeover) finds that entry and first asks *that* certifier for
//!   an existing stamp of the same sealed document; only a certifier that definitely did not stamp it may be
//!   followed by another one;
//! * [`StampJournal::complete`] stores the stamped document; from then on the step returns it without any call.
//!
//! # Cancellation
//! Voiding a stamped invoice through a [`FiscalAdapter`] first cancels its fiscal document
//! ([`FiscalStep::cancel`]). The authority may take days (the receptor may have to accept), so the step never
//! waits: each call does one step (the request, or one status read), records it
//! ([`StampJournal::record_cancellation`]) and, while undecided, fails with
//! [`Error::retry_later`](crate::Error::retry_later): the hub retries at the hinted time, and the sync log shows
//! the state ([`CancellationState`], e.g. awaiting the receptor's acceptance). These waits do not use the hub's
//! `max_attempts`; its `max_wait` (`hub` feature, default 96 h from the record's first send, longer than SAT's
//! 72 h for the receptor's answer) bounds the follow-up: a cancellation still pending then is dead-lettered with
//! its state, and re-queueing it resumes from the journal (the request is not sent again).
//! A document the authority holds and may have received (Costa Rica's `procesando`) waits the same way.
//!
//! # Answering received documents
//! Where the receiver of a fiscal document must answer it to the authority (Costa Rica's MensajeReceptor),
//! the answer is a hub write too: [`WriteOp::AnswerReceived`] carries the supplier's document and the answer.
//! A [`FiscalAdapter`] hands it to the step ([`FiscalStep::stamp`]), writes nothing to the ERP, and returns
//! the authority's record; the step's journal answers each document once, and its errors are the record's
//! (a document that does not verify is a dead letter in the sync log). A plain adapter answers
//! [`Unsupported`](crate::ErrorKind::Unsupported).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::adapter::{
    BatchWrite, Capabilities, ChangeCursor, ChangePage, CompanyInfo, ConnectionLimits, ErpAdapter,
    IdempotencyKey, RemoteRecord, WriteOp, write_one,
};
use crate::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};

/// Which kind of fiscal document a stamp certifies (CFDI `TipoDeComprobante`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FiscalDocumentKind {
    /// An invoice (CFDI tipo `I`, ingreso).
    Invoice,
    /// A credit note (CFDI tipo `E`, egreso).
    CreditNote,
    /// A payment receipt (CFDI tipo `P`, Pagos 2.0).
    Payment,
}

impl FiscalDocumentKind {
    /// The entity kind of the ERP record the document belongs to.
    pub fn entity_kind(self) -> EntityKind {
        match self {
            Self::Invoice => EntityKind::Invoice,
            Self::CreditNote => EntityKind::CreditNote,
            Self::Payment => EntityKind::Payment,
        }
    }

    /// The fiscal document kind of an ERP entity kind, when it has one.
    pub fn of(kind: EntityKind) -> Option<Self> {
        match kind {
            EntityKind::Invoice => Some(Self::Invoice),
            EntityKind::CreditNote => Some(Self::CreditNote),
            EntityKind::Payment => Some(Self::Payment),
            _ => None,
        }
    }
}

/// A certified fiscal document: its UUID (folio fiscal) and the stamped XML exactly as the certifier returned
/// it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FiscalStamp {
    /// The scheme, e.g. `mx-cfdi-4.0`.
    pub scheme: String,
    /// What the document is.
    pub kind: FiscalDocumentKind,
    /// The UUID (upper case).
    pub uuid: String,
    /// When the certifier stamped it (CFDI `FechaTimbrado`, local time as written in the XML).
    pub stamped_at: String,
    /// Which certifier stamped it (e.g. `finkok`).
    pub certifier: String,
    /// Series of the fiscal document, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Number of the fiscal document within its series, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folio: Option<String>,
    /// The document total as written (`Total`; `0` for payment receipts).
    pub total: rust_decimal::Decimal,
    /// The stamped XML.
    pub xml: String,
}

impl std::fmt::Debug for FiscalStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscalStamp")
            .field("scheme", &self.scheme)
            .field("kind", &self.kind)
            .field("uuid", &self.uuid)
            .field("stamped_at", &self.stamped_at)
            .field("certifier", &self.certifier)
            .field("series", &self.series)
            .field("folio", &self.folio)
            .field("total", &self.total)
            .field("xml_len", &self.xml.len())
            .finish()
    }
}

impl FiscalStamp {
    /// A stamp; `uuid` is upper-cased.
    pub fn new(
        scheme: impl Into<String>,
        kind: FiscalDocumentKind,
        uuid: impl Into<String>,
        stamped_at: impl Into<String>,
        certifier: impl Into<String>,
        total: rust_decimal::Decimal,
        xml: impl Into<String>,
    ) -> Self {
        Self {
            scheme: scheme.into(),
            kind,
            uuid: uuid.into().to_ascii_uppercase(),
            stamped_at: stamped_at.into(),
            certifier: certifier.into(),
            series: None,
            folio: None,
            total,
            xml: xml.into(),
        }
    }

    /// The same stamp with series and folio.
    #[must_use]
    pub fn with_number(mut self, series: Option<String>, folio: Option<String>) -> Self {
        self.series = series;
        self.folio = folio;
        self
    }

    /// The marker adapters put in a free-text field of the ERP record (QuickBooks `PrivateNote`, Xero
    /// `Reference`): `UUID:<uuid>`. [`FiscalStamp::find_marker`] reads it back.
    pub fn marker(&self) -> String {
        format!("{MARKER_PREFIX}{}", self.uuid)
    }

    /// The fiscal id of the first marker found in `text`, if any: a CFDI UUID (`8-4-4-4-12` hex digits) or a
    /// Costa Rican clave (50 digits), see [`FiscalStamp::is_fiscal_id`].
    pub fn find_marker(text: &str) -> Option<&str> {
        let at = text.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
        let rest = &text[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .unwrap_or(rest.len());
        let id = &rest[..end];
        Self::is_fiscal_id(id).then_some(id)
    }

    /// File name for the XML attachment: `<UUID>.xml`.
    pub fn file_name(&self) -> String {
        format!("{}.xml", self.uuid)
    }

    /// The fiscal id of an attachment named like [`FiscalStamp::file_name`] (`<id>.xml`, any case), if any.
    pub fn id_of_file_name(name: &str) -> Option<&str> {
        let split = name.len().checked_sub(4)?;
        let (id, ext) = (name.get(..split)?, name.get(split..)?);
        (ext.eq_ignore_ascii_case(".xml") && Self::is_fiscal_id(id)).then_some(id)
    }

    /// Whether `id` has the shape of a fiscal document id this crate's markers carry: a CFDI UUID
    /// (`8-4-4-4-12` hex digits, either case) or a Costa Rican clave (50 ASCII digits).
    pub fn is_fiscal_id(id: &str) -> bool {
        let uuid = id.len() == 36
            && id.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        let clave = id.len() == 50 && id.bytes().all(|b| b.is_ascii_digit());
        uuid || clave
    }
}

const MARKER_PREFIX: &str = "UUID:";

/// Identifies one fiscal document: the tenant and the ERP record (kind and our external reference).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FiscalKey {
    /// The tenant (the issuer).
    pub tenant: String,
    /// The ERP record's kind.
    pub kind: EntityKind,
    /// Our external reference of the record.
    pub external_ref: String,
}

impl FiscalKey {
    /// A key.
    pub fn new(
        tenant: impl Into<String>,
        kind: EntityKind,
        external_ref: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            kind,
            external_ref: external_ref.into(),
        }
    }
}

impl std::fmt::Display for FiscalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.tenant, self.kind, self.external_ref)
    }
}

/// What the journal holds for a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JournalEntry {
    /// Sealed, maybe sent: the sealed document and the certifiers it was (or may have been) sent to.
    Pending {
        /// The sealed document, byte for byte what is (re)sent.
        sealed: String,
        /// Certifiers in the order they were tried, with whether each **definitely** did not stamp it.
        attempts: Vec<CertifierAttempt>,
    },
    /// Stamped.
    Stamped(FiscalStamp),
}

/// One certifier a pending document was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CertifierAttempt {
    /// The certifier's name.
    pub certifier: String,
    /// `true` once the certifier answered in a way that proves it did not stamp the document (nothing
    /// reached it, or it refused it unprocessed); `false` while the outcome is unknown.
    pub definitely_not_stamped: bool,
}

/// Where the cancellation of a stamped document stands (see [`FiscalStep::cancel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancellationState {
    /// The certifier accepted the request; the tax authority's status does not show it yet.
    Requested,
    /// The receptor must accept the cancellation (Mexico: `EstatusCancelacion` "En proceso" of a CFDI
    /// "Cancelable con aceptación"). An operator may want to call the customer.
    AwaitingAcceptance,
    /// Cancelled (with or without the receptor's acceptance, or already cancelled before the request).
    Cancelled,
    /// Cancelled because the receptor did not answer in time (Mexico: "Plazo vencido").
    DeadlinePassed,
    /// Refused: the receptor rejected it ("Solicitud rechazada") or the authority refused the request. The
    /// document stays valid.
    Rejected,
}

impl CancellationState {
    /// Whether the cancellation is over (cancelled or rejected).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Requested | Self::AwaitingAcceptance)
    }

    /// Whether the document is no longer valid ([`Cancelled`](Self::Cancelled) or
    /// [`DeadlinePassed`](Self::DeadlinePassed)).
    pub fn is_cancelled(self) -> bool {
        matches!(self, Self::Cancelled | Self::DeadlinePassed)
    }
}

impl std::fmt::Display for CancellationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Requested => "requested",
            Self::AwaitingAcceptance => "awaiting the receptor's acceptance",
            Self::Cancelled => "cancelled",
            Self::DeadlinePassed => "cancelled (acceptance deadline passed)",
            Self::Rejected => "rejected",
        })
    }
}

/// The cancellation of one stamped document, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cancellation {
    /// The cancelled document's UUID.
    pub uuid: String,
    /// The reason code (Mexico: motivo `01`–`04`).
    pub reason: String,
    /// The UUID of the document that replaces it, when any (Mexico: `FolioSustitucion`, motivo `01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute: Option<String>,
    /// Where it stands.
    pub state: CancellationState,
    /// When the certifier accepted the request.
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// When the authority's status was last read, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How many times the status was read.
    #[serde(default)]
    pub checks: u32,
    /// The authority's or certifier's last words (status fields, refusal), for operators.
    #[serde(default)]
    pub detail: String,
}

impl Cancellation {
    /// A cancellation just accepted by the certifier.
    pub fn requested(
        uuid: impl Into<String>,
        reason: impl Into<String>,
        substitute: Option<String>,
        requested_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            uuid: uuid.into().to_ascii_uppercase(),
            reason: reason.into(),
            substitute,
            state: CancellationState::Requested,
            requested_at,
            checked_at: None,
            checks: 0,
            detail: String::new(),
        }
    }
}

/// Durable storage of fiscal documents, following the protocol in the [module docs](self).
///
/// Every method must be durable when it returns (the hub's stores implement it in their database;
/// [`MemoryStampJournal`] is for tests and single-process demos).
#[async_trait]
pub trait StampJournal: Send + Sync {
    /// The entry for `key`, if any.
    async fn get(&self, key: &FiscalKey) -> Result<Option<JournalEntry>>;

    /// Stores `sealed` as the pending document for `key` unless an entry exists; returns the stored entry
    /// (the existing one wins, so two racing workers send the same sealed document).
    async fn begin(&self, key: &FiscalKey, sealed: &str) -> Result<JournalEntry>;

    /// Records that the pending document is about to be sent to `certifier` (outcome unknown until
    /// [`not_stamped`](Self::not_stamped) or [`complete`](Self::complete)). Idempotent.
    async fn sending(&self, key: &FiscalKey, certifier: &str) -> Result<()>;

    /// [`begin`](Self::begin) and, when that stores `sealed`, [`sending`](Self::sending) to `certifier`: the
    /// first send of a new document. Returns `None` when the document was begun by this call (it is now
    /// pending with `certifier` recorded, durably: send it to `certifier`), `Some(entry)` when the journal
    /// already had an entry (another worker's sealed document, or a stamp), which is returned unchanged and
    /// is to be continued as one read with [`get`](Self::get).
    ///
    /// The default implementation calls [`begin`](Self::begin), then [`sending`](Self::sending) if the entry
    /// it got back is `sealed` with no certifier yet (two durable writes; an entry another worker stored with
    /// byte-identical `sealed` and sent nowhere yet is then taken as begun here: it is the same document,
    /// signature included, so this is the race `begin` + `sending` always had). The hub's database journals
    /// override it with one transaction (one durable write), which is what makes it worth calling.
    async fn begin_sending(
        &self,
        key: &FiscalKey,
        sealed: &str,
        certifier: &str,
    ) -> Result<Option<JournalEntry>> {
        match self.begin(key, sealed).await? {
            JournalEntry::Pending {
                sealed: stored,
                attempts,
            } if stored == sealed && attempts.is_empty() => {
                // Byte for byte our document (its signature included) and sent nowhere yet: ours to send.
                self.sending(key, certifier).await?;
                Ok(None)
            }
            entry => Ok(Some(entry)),
        }
    }

    /// Records that `certifier` definitely did not stamp the pending document.
    async fn not_stamped(&self, key: &FiscalKey, certifier: &str) -> Result<()>;

    /// Drops the pending entry of `key`: every certifier it was sent to definitely did not stamp it (or the
    /// document was refused as wrong), so the next attempt builds and seals it anew. A stamped entry is kept.
    async fn abandon(&self, key: &FiscalKey) -> Result<()>;

    /// Stores the stamp of `key` (replacing the pending entry). Storing the same UUID again is a no-op;
    /// a different UUID for a stamped key is a [`Conflict`](crate::ErrorKind::Conflict) error (it would be a
    /// double stamp).
    async fn complete(&self, key: &FiscalKey, stamp: &FiscalStamp) -> Result<()>;

    /// Every stamped document of `tenant` of the given kind, in the order they were completed.
    async fn stamped(&self, tenant: &str, kind: FiscalDocumentKind) -> Result<Vec<FiscalStamp>>;

    /// Every pending document (journalled, not stamped yet: [`JournalEntry::Pending`]) of `tenant` whose
    /// record is of `kind`: its key and its sealed document, ordered by external reference. A step reads it
    /// before building a document whose content depends on documents that may still be stamped (Mexico: a
    /// payment receipt's `NumParcialidad` and `ImpSaldoAnt` depend on every earlier receipt of the invoice).
    async fn pending(&self, tenant: &str, kind: EntityKind) -> Result<Vec<(FiscalKey, String)>>;

    /// The cancellation recorded for the stamped document `key`, if any.
    ///
    /// The default implementation is [`Unsupported`](crate::ErrorKind::Unsupported): a journal that does not
    /// store cancellations cannot follow one up durably, so it must not pretend to.
    async fn cancellation(&self, key: &FiscalKey) -> Result<Option<Cancellation>> {
        Err(crate::Error::unsupported(format!(
            "{key}: this stamp journal does not record cancellations"
        )))
    }

    /// Stores (replaces) the cancellation of the stamped document `key`; durable when it returns. A
    /// terminal state is never replaced by another state (a late, stale status read cannot undo it).
    ///
    /// The default implementation is [`Unsupported`](crate::ErrorKind::Unsupported).
    async fn record_cancellation(
        &self,
        key: &FiscalKey,
        cancellation: &Cancellation,
    ) -> Result<()> {
        Err(crate::Error::unsupported(format!(
            "{key}: this stamp journal does not record cancellations ({})",
            cancellation.state
        )))
    }
}

/// Where the fiscal step runs relative to the ERP write. See the [module docs](self) for the trade-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FiscalOrder {
    /// Certify, then create the ERP record and attach the stamp.
    #[default]
    StampThenPost,
    /// Create the ERP record, then certify and attach the stamp.
    PostThenStamp,
}

/// Turns the ERP writes of one tenant into certified fiscal documents.
///
/// Implementations are country specific (`cfdi::hub::CfdiStep` for Mexico). Calls for the same document are
/// idempotent: a document is certified at most once, whatever retries, crashes and certifier failovers happen
/// (see the [module docs](self)).
#[async_trait]
pub trait FiscalStep: Send + Sync {
    /// Certifies the document `op` produces for `tenant`, or returns its existing stamp.
    ///
    /// Returns `Ok(None)` for writes that produce no fiscal document (customers, items, voids).
    /// For [`WriteOp::AnswerReceived`] it verifies the received document and submits the answer, returning the
    /// answer's stamp (its `uuid` the authority's key); a step that answers no received documents returns
    /// `Ok(None)` (the [`FiscalAdapter`] then answers [`Unsupported`](crate::ErrorKind::Unsupported)).
    ///
    /// # Errors
    /// [`Validation`](crate::ErrorKind::Validation) naming the record and field for input that cannot become
    /// a fiscal document (nothing was certified); [`Uncertain`](crate::ErrorKind::Uncertain) when a certifier
    /// may have stamped it (retry later: the retry recovers that stamp); [`Transient`](crate::ErrorKind::Transient)
    /// when no certifier could be reached (nothing was certified).
    async fn stamp(&self, tenant: &str, op: &WriteOp) -> Result<Option<FiscalStamp>>;

    /// Where the step runs relative to the ERP write.
    fn order(&self) -> FiscalOrder {
        FiscalOrder::StampThenPost
    }

    /// Follows up the cancellation of the stamped invoice `invoice` (our external reference) of `tenant`, the
    /// fiscal side of voiding it: the first call asks the certifier to cancel it and records the request;
    /// later calls read the authority's status and record it. Each call does one step and returns; it never
    /// waits for the authority.
    ///
    /// Returns `Ok(None)` when the invoice has no stamp (nothing to cancel), `Ok(Some(c))` once the
    /// cancellation is over ([`CancellationState::is_terminal`]: cancelled, deadline passed or rejected).
    ///
    /// # Errors
    /// While the authority has not decided: a [`Transient`](crate::ErrorKind::Transient) error made with
    /// [`Error::retry_later`](crate::Error::retry_later) whose message names the state (for the sync log) and
    /// whose [`retry_hint`](crate::Error::retry_hint) says when to call again. Certifier and journal errors
    /// otherwise. The default implementation has nothing to cancel (`Ok(None)`).
    async fn cancel(&self, tenant: &str, invoice: &str) -> Result<Option<Cancellation>> {
        let _ = (tenant, invoice);
        Ok(None)
    }
}

/// An in-memory [`StampJournal`] (tests, demos). Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryStampJournal {
    inner: Mutex<MemoryJournalState>,
}

#[derive(Debug, Default)]
struct MemoryJournalState {
    entries: HashMap<FiscalKey, JournalEntry>,
    order: Vec<FiscalKey>,
    cancellations: HashMap<FiscalKey, Cancellation>,
}

impl MemoryStampJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryJournalState> {
        unpoisoned(&self.inner)
    }
}

fn no_pending(key: &FiscalKey) -> crate::Error {
    crate::Error::conflict(format!("{key}: no pending fiscal document in the journal"))
}

#[async_trait]
impl StampJournal for MemoryStampJournal {
    async fn get(&self, key: &FiscalKey) -> Result<Option<JournalEntry>> {
        Ok(self.lock().entries.get(key).cloned())
    }

    async fn begin(&self, key: &FiscalKey, sealed: &str) -> Result<JournalEntry> {
        let mut s = self.lock();
        Ok(s.entries
            .entry(key.clone())
            .or_insert_with(|| JournalEntry::Pending {
                sealed: sealed.to_owned(),
                attempts: Vec::new(),
            })
            .clone())
    }

    async fn sending(&self, key: &FiscalKey, certifier: &str) -> Result<()> {
        let mut s = self.lock();
        match s.entries.get_mut(key) {
            Some(JournalEntry::Pending { attempts, .. }) => {
                if !attempts.iter().any(|a| a.certifier == certifier) {
                    attempts.push(CertifierAttempt {
                        certifier: certifier.to_owned(),
                        definitely_not_stamped: false,
                    });
                }
                Ok(())
            }
            _ => Err(no_pending(key)),
        }
    }

    async fn not_stamped(&self, key: &FiscalKey, certifier: &str) -> Result<()> {
        let mut s = self.lock();
        match s.entries.get_mut(key) {
            Some(JournalEntry::Pending { attempts, .. }) => {
                for a in attempts.iter_mut().filter(|a| a.certifier == certifier) {
                    a.definitely_not_stamped = true;
                }
                Ok(())
            }
            _ => Err(no_pending(key)),
        }
    }

    async fn abandon(&self, key: &FiscalKey) -> Result<()> {
        let mut s = self.lock();
        if matches!(s.entries.get(key), Some(JournalEntry::Pending { .. })) {
            s.entries.remove(key);
        }
        Ok(())
    }

    async fn complete(&self, key: &FiscalKey, stamp: &FiscalStamp) -> Result<()> {
        let mut s = self.lock();
        if let Some(JournalEntry::Stamped(existing)) = s.entries.get(key) {
            if existing.uuid == stamp.uuid {
                return Ok(());
            }
            return Err(crate::Error::conflict(format!(
                "{key} is already stamped with UUID {}; refusing a second UUID {}",
                existing.uuid, stamp.uuid
            )));
        }
        s.entries
            .insert(key.clone(), JournalEntry::Stamped(stamp.clone()));
        s.order.push(key.clone());
        Ok(())
    }

    async fn cancellation(&self, key: &FiscalKey) -> Result<Option<Cancellation>> {
        Ok(self.lock().cancellations.get(key).cloned())
    }

    async fn record_cancellation(
        &self,
        key: &FiscalKey,
        cancellation: &Cancellation,
    ) -> Result<()> {
        let mut s = self.lock();
        match s.entries.get(key) {
            Some(JournalEntry::Stamped(st)) if st.uuid.eq_ignore_ascii_case(&cancellation.uuid) => {
            }
            _ => {
                return Err(crate::Error::conflict(format!(
                    "{key}: no stamped document with UUID {} to cancel",
                    cancellation.uuid
                )));
            }
        }
        if let Some(existing) = s.cancellations.get(key)
            && existing.state.is_terminal()
            && existing.state != cancellation.state
        {
            return Ok(());
        }
        s.cancellations.insert(key.clone(), cancellation.clone());
        Ok(())
    }

    async fn pending(&self, tenant: &str, kind: EntityKind) -> Result<Vec<(FiscalKey, String)>> {
        let s = self.lock();
        let mut all: Vec<(FiscalKey, String)> = s
            .entries
            .iter()
            .filter(|(k, _)| k.tenant == tenant && k.kind == kind)
            .filter_map(|(k, e)| match e {
                JournalEntry::Pending { sealed, .. } => Some((k.clone(), sealed.clone())),
                JournalEntry::Stamped(_) => None,
            })
            .collect();
        all.sort_by(|a, b| a.0.external_ref.cmp(&b.0.external_ref));
        Ok(all)
    }

    async fn stamped(&self, tenant: &str, kind: FiscalDocumentKind) -> Result<Vec<FiscalStamp>> {
        let s = self.lock();
        Ok(s.order
            .iter()
            .filter(|k| k.tenant == tenant)
            .filter_map(|k| match s.entries.get(k) {
                Some(JournalEntry::Stamped(st)) if st.kind == kind => Some(st.clone()),
                _ => None,
            })
            .collect())
    }
}

/// The final stamp of a document the authority **rejected for good** (Costa Rica: `rechazado`): the fiscal
/// id it used up and the authority's answer. A [`FiscalStep`] puts it in the source chain of its
/// [`Validation`](crate::ErrorKind::Validation) error with [`Rejected::attach_to`]; [`FiscalAdapter`] finds it
/// ([`Rejected::find`]):
/// * [`FiscalOrder::StampThenPost`]: nothing is posted (the ERP only receives documents the authority
///   accepted); the error stays a [`Validation`](crate::ErrorKind::Validation) dead letter with the
///   authority's detail. Nothing was applied, so a re-queue is harmless: the step answers from its journal
///   with the same rejection, and the ERP still gets nothing.
/// * [`FiscalOrder::PostThenStamp`]: the ERP record exists already, so the rejected stamp is written back to
///   it like an accepted one (the ERP record carries the rejected id and the state), and the error becomes a
///   [`Transient`](crate::ErrorKind::Transient) one naming the ERP record: it keeps the idempotency key, so
///   retries and a re-queue replay the post instead of posting a second record. The correction is a new
///   document, never the rejected one again.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rejected {
    /// The rejected document's final stamp (its `certifier` names the authority's verdict).
    pub stamp: FiscalStamp,
    source: Option<crate::error::BoxError>,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} document {} rejected ({})",
            self.stamp.kind, self.stamp.uuid, self.stamp.certifier
        )
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Rejected {
    /// `error` (a [`Validation`](crate::ErrorKind::Validation) error; other kinds are returned unchanged)
    /// with `stamp` in its source chain: its field errors and message stay as they are, its former source
    /// becomes the source of the [`Rejected`].
    pub fn attach_to(error: crate::Error, stamp: FiscalStamp) -> crate::Error {
        match error {
            crate::Error::Validation { errors, source } => crate::Error::Validation {
                errors,
                source: Some(Box::new(Self { stamp, source })),
            },
            other => other,
        }
    }

    /// The rejected stamp in the source chain of `error`, if any.
    pub fn find(error: &crate::Error) -> Option<&FiscalStamp> {
        let mut next = std::error::Error::source(error);
        while let Some(e) = next {
            if let Some(r) = e.downcast_ref::<Self>() {
                return Some(&r.stamp);
            }
            next = e.source();
        }
        None
    }
}

/// Customers and items a fiscal step has seen, per tenant: an invoice names its customer by reference only, so
/// a step keeps the fiscal data of `UpsertCustomer` writes (and the units of `UpsertItem` writes) it is given.
///
/// The hub's stores can implement it over the records they already hold; [`MemoryDirectory`] keeps them in
/// memory. Shared by the country steps (`cfdi::hub::CfdiStep`, `cr_einvoice::hub::CrStep`).
#[async_trait]
pub trait Directory: Send + Sync {
    /// Stores (replaces) a customer of `tenant`.
    async fn put_customer(&self, tenant: &str, customer: &Customer) -> Result<()>;
    /// A customer of `tenant` by our external reference.
    async fn customer(&self, tenant: &str, external_ref: &str) -> Result<Option<Customer>>;
    /// Stores (replaces) an item of `tenant`.
    async fn put_item(&self, tenant: &str, item: &Item) -> Result<()>;
    /// Every item of `tenant`, by our external reference.
    async fn items(&self, tenant: &str) -> Result<BTreeMap<String, Item>>;
}

type DirectoryCustomers = HashMap<(String, String), Customer>;

/// An in-memory [`Directory`].
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    customers: Mutex<DirectoryCustomers>,
    items: Mutex<HashMap<String, BTreeMap<String, Item>>>,
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }
}

fn unpoisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Directory for MemoryDirectory {
    async fn put_customer(&self, tenant: &str, customer: &Customer) -> Result<()> {
        unpoisoned(&self.customers).insert(
            (tenant.to_owned(), customer.external_ref.clone()),
            customer.clone(),
        );
        Ok(())
    }

    async fn customer(&self, tenant: &str, external_ref: &str) -> Result<Option<Customer>> {
        Ok(unpoisoned(&self.customers)
            .get(&(tenant.to_owned(), external_ref.to_owned()))
            .cloned())
    }

    async fn put_item(&self, tenant: &str, item: &Item) -> Result<()> {
        unpoisoned(&self.items)
            .entry(tenant.to_owned())
            .or_default()
            .insert(item.external_ref.clone(), item.clone());
        Ok(())
    }

    async fn items(&self, tenant: &str) -> Result<BTreeMap<String, Item>> {
        Ok(unpoisoned(&self.items)
            .get(tenant)
            .cloned()
            .unwrap_or_default())
    }
}

/// An [`ErpAdapter`] that runs a [`FiscalStep`] around every write of one tenant: the hook that puts the fiscal
/// step into the hub without touching it. Register it instead of the plain adapter:
/// `hub.register(scope, Arc::new(FiscalAdapter::new(adapter, step, "tenant")))`.
///
/// For a write that produces a fiscal document (invoice, credit note, payment receipt) it certifies the
/// document, writes the ERP record and attaches the stamp ([`ErpAdapter::attach_fiscal_stamp`], key
/// `stamp-<UUID>`), in the step's [`FiscalOrder`]. Every part is idempotent (the step's journal, the write's
/// key, the stamp's key), so the hub's retries after a crash or a timeout repeat nothing: the hub's
/// exactly-once guarantee extends to the UUID. A step error is the write's error: an input problem is a
/// [`Validation`](crate::ErrorKind::Validation) naming the record and field (dead-lettered, visible in the sync
/// log), an uncertain certification an [`Uncertain`](crate::ErrorKind::Uncertain) (retried; the retry
/// recovers the stamp). A failure after the ERP record was written (stamping in
/// [`FiscalOrder::PostThenStamp`], attaching the stamp) is never a verdict kind: see the
/// [module docs](self#order-stamp-first-or-post-first). Batching is off (one write per request) so every element goes through the step.
///
/// A provider that cannot attach a stamp to a kind of record ([`Unsupported`](crate::ErrorKind::Unsupported)
/// from [`ErpAdapter::attach_fiscal_stamp`], e.g. Xero payments, which take no attachments) does not fail the
/// write: the stamp stays in the step's journal, the record is written, and a `tracing` event says so (`info`
/// for payments, `warn` for invoices and credit notes, whose UUID belongs on the ERP record).
pub struct FiscalAdapter {
    inner: std::sync::Arc<dyn ErpAdapter>,
    step: std::sync::Arc<dyn FiscalStep>,
    tenant: String,
}

impl std::fmt::Debug for FiscalAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscalAdapter")
            .field("provider", &self.inner.provider())
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl FiscalAdapter {
    /// Wraps `inner` for `tenant`, certifying through `step`.
    pub fn new(
        inner: std::sync::Arc<dyn ErpAdapter>,
        step: std::sync::Arc<dyn FiscalStep>,
        tenant: impl Into<String>,
    ) -> Self {
        Self {
            inner,
            step,
            tenant: tenant.into(),
        }
    }

    async fn fiscal_write(&self, op: WriteOp, key: &IdempotencyKey) -> Result<RemoteRef> {
        let kind = op.kind();
        let write = BatchWrite::new(op, key.clone());
        match self.step.order() {
            FiscalOrder::PostThenStamp => {
                let remote = write_one(self.inner.as_ref(), &write).await?;
                self.stamp_and_attach(&write.op, remote).await
            }
            // A rejection (see [`Rejected`]) included: nothing is posted for a document without a stamp.
            _ => {
                let stamp = self.step.stamp(&self.tenant, &write.op).await?;
                let remote = write_one(self.inner.as_ref(), &write).await?;
                let Some(stamp) = stamp else {
                    return Ok(remote);
                };
                self.attach(&write.op, kind, &remote, &stamp).await?;
                Ok(remote)
            }
        }
    }

    /// The fiscal part of a write whose ERP record `remote` exists (posted first, or found by the hub's
    /// reconciliation): stamp (the journal answers for a document already stamped), then attach.
    async fn stamp_and_attach(&self, op: &WriteOp, remote: RemoteRef) -> Result<RemoteRef> {
        let kind = op.kind();
        match self.step.stamp(&self.tenant, op).await {
            Ok(Some(stamp)) => {
                self.attach(op, kind, &remote, &stamp).await?;
                Ok(remote)
            }
            Ok(None) => Ok(remote),
            Err(e) => Err(self.stamp_failed(op, kind, &remote, e).await),
        }
    }

    /// The error of a stamping failure after the ERP record `remote` was written: a rejected document's
    /// stamp ([`Rejected`]) is attached first; see [`after_post`](Self::after_post).
    async fn stamp_failed(
        &self,
        op: &WriteOp,
        kind: EntityKind,
        remote: &RemoteRef,
        e: crate::Error,
    ) -> crate::Error {
        let Some(rejected) = Rejected::find(&e).cloned() else {
            return self.after_post(
                op,
                remote,
                "not stamped (fix the input, then re-queue if it was dead-lettered)",
                e,
            );
        };
        if let Err(attach) = self.attach(op, kind, remote, &rejected).await {
            return attach;
        }
        // Final at the authority, but the ERP record exists: keep the key (a re-queue under a new key would
        // post a second record), the sync log saying where the record is and which id it carries.
        self.after_post(
            op,
            remote,
            &format!(
                "rejected by the authority ({} {}, written back to the record); correct it with new \
                 documents",
                rejected.certifier, rejected.uuid
            ),
            e,
        )
    }

    /// Attaches `stamp` to the written record `remote` (key `stamp-<id>`); see the type's docs for
    /// providers that cannot.
    async fn attach(
        &self,
        op: &WriteOp,
        kind: EntityKind,
        remote: &RemoteRef,
        stamp: &FiscalStamp,
    ) -> Result<()> {
        let stamp_key = IdempotencyKey::new(format!("stamp-{}", stamp.uuid))?;
        match self
            .inner
            .attach_fiscal_stamp(kind, remote, stamp, &stamp_key)
            .await
        {
            Ok(_) => {}
            // The provider has nowhere to put it (Xero: no attachments on payments). The stamp is durable in
            // the step's journal and the record is written: dead-lettering it would only invite a replay.
            Err(e) if e.kind() == crate::ErrorKind::Unsupported => {
                if kind == EntityKind::Payment {
                    tracing::info!(
                        provider = self.inner.provider(),
                        %kind,
                        remote_id = %remote.id,
                        uuid = %stamp.uuid,
                        "fiscal stamp kept in the journal only: the provider cannot attach it ({e})"
                    );
                } else {
                    tracing::warn!(
                        provider = self.inner.provider(),
                        %kind,
                        remote_id = %remote.id,
                        uuid = %stamp.uuid,
                        "fiscal stamp kept in the journal only: the provider cannot attach it ({e})"
                    );
                }
            }
            Err(e) => return Err(self.after_post(op, remote, "stamp not attached", e)),
        }
        Ok(())
    }

    /// The error of a step that failed after the ERP record was written. A verdict kind
    /// ([`Validation`](crate::ErrorKind::Validation), [`Conflict`](crate::ErrorKind::Conflict), …) would tell
    /// the hub that nothing was applied, and its re-queue would send the write again under a **new**
    /// idempotency key: a second ERP record. It becomes a [`Transient`](crate::ErrorKind::Transient) error
    /// (the original as its source) saying the record exists: the hub retries under the same key, which the
    /// provider answers with the record it already has, and resumes at the failed step; once the attempts
    /// are used up the record is dead-lettered with that message, and a re-queue (the input fixed) keeps the
    /// key too. Errors that already keep the key (transient, uncertain, rate limited) pass unchanged.
    fn after_post(
        &self,
        op: &WriteOp,
        remote: &RemoteRef,
        what: &str,
        e: crate::Error,
    ) -> crate::Error {
        use crate::ErrorKind as K;
        if matches!(e.kind(), K::Transient | K::Uncertain | K::RateLimited) {
            return e;
        }
        crate::Error::transient(format!(
            "{} {}: posted to {} as {}, {what}: {e}; retried under the same idempotency key (the post is \
             replayed, not repeated)",
            op.kind(),
            fiscal_ref(op),
            self.inner.provider(),
            remote.id,
        ))
        .with_source(e)
    }
}

/// Our external reference of a write that may produce a fiscal document (empty for other writes).
fn fiscal_ref(op: &WriteOp) -> &str {
    match op {
        WriteOp::CreateInvoice(i) => &i.external_ref,
        WriteOp::RecordPayment(p) => &p.external_ref,
        WriteOp::CreateCreditNote(c) => &c.external_ref,
        _ => "",
    }
}

#[async_trait]
impl ErpAdapter for FiscalAdapter {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn test_connection(&self) -> Result<CompanyInfo> {
        self.inner.test_connection().await
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.step
            .stamp(&self.tenant, &WriteOp::UpsertCustomer(customer.clone()))
            .await?;
        self.inner.upsert_customer(customer, key).await
    }

    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.step
            .stamp(&self.tenant, &WriteOp::UpsertItem(item.clone()))
            .await?;
        self.inner.upsert_item(item, key).await
    }

    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.fiscal_write(WriteOp::CreateInvoice(invoice.clone()), key)
            .await
    }

    /// Voiding a stamped invoice cancels its fiscal document first ([`FiscalStep::cancel`]): while the
    /// authority has not decided, the write fails with the step's "retry later" error (the hub comes back at
    /// the hinted time; the sync log shows the state, e.g. awaiting the receptor's acceptance); once cancelled
    /// the ERP invoice is voided; a rejected cancellation is a [`Validation`](crate::ErrorKind::Validation)
    /// error (code `cancellation_rejected`) and the ERP invoice stays as it is. An invoice without stamp is
    /// voided at once.
    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef> {
        let record = self.inner.get(EntityKind::Invoice, &invoice.id).await?;
        if let crate::adapter::Entity::Invoice(inv) = &record.entity
            && let Some(c) = self.step.cancel(&self.tenant, &inv.external_ref).await?
            && !c.state.is_cancelled()
        {
            return Err(crate::Error::validation(vec![
                crate::FieldError::new(
                    format!("{}: cancellation", inv.external_ref),
                    format!(
                        "the cancellation of {} was {}: {}; the invoice stays valid and is not voided",
                        c.uuid, c.state, c.detail
                    ),
                )
                .with_code("cancellation_rejected"),
            ]));
        }
        self.inner.void_invoice(invoice, key).await
    }

    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.fiscal_write(WriteOp::RecordPayment(payment.clone()), key)
            .await
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.fiscal_write(WriteOp::CreateCreditNote(credit_note.clone()), key)
            .await
    }

    /// Answers a received fiscal document: no ERP write; the step ([`FiscalStep::stamp`] with
    /// [`WriteOp::AnswerReceived`]) verifies the supplier's document and submits the answer to the authority,
    /// exactly once through its journal. Returns the authority's record: provider = the stamp's certifier up
    /// to its first `:` (Costa Rica: `hacienda`), id = the stamp's `uuid` (Costa Rica: Hacienda's status key
    /// `clave-consecutivoReceptor`), number = its folio. The step's errors are the write's: a document that
    /// does not verify or cannot be answered is a [`Validation`](crate::ErrorKind::Validation) naming the
    /// record (dead-lettered in the sync log), an undecided answer a
    /// [`retry_later`](crate::Error::retry_later) (polled on the hub's schedule).
    async fn answer_received(
        &self,
        answer: &crate::adapter::ReceivedAnswer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let _ = key;
        let op = WriteOp::AnswerReceived(answer.clone());
        let Some(stamp) = self.step.stamp(&self.tenant, &op).await? else {
            return Err(crate::Error::unsupported(format!(
                "answer_received `{}`: this fiscal step answers no received documents",
                answer.external_ref
            )));
        };
        let authority = stamp
            .certifier
            .split(':')
            .next()
            .unwrap_or(stamp.certifier.as_str());
        let mut remote = RemoteRef::new(authority, stamp.uuid.clone());
        remote.number = stamp.folio.clone();
        Ok(remote)
    }

    /// A fiscal write the hub found applied (reconciliation) is stamped and the stamp attached, as after a
    /// post; other writes are the inner adapter's.
    async fn finish_reconciled(
        &self,
        op: &WriteOp,
        key: &IdempotencyKey,
        remote: RemoteRef,
    ) -> Result<RemoteRef> {
        match op {
            WriteOp::CreateInvoice(_)
            | WriteOp::RecordPayment(_)
            | WriteOp::CreateCreditNote(_) => self.stamp_and_attach(op, remote).await,
            _ => self.inner.finish_reconciled(op, key, remote).await,
        }
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        self.inner.get(kind, remote_id).await
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.inner.list_changed_since(kinds, cursor).await
    }

    fn limits(&self) -> ConnectionLimits {
        self.inner.limits()
    }

    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &FiscalStamp,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.inner
            .attach_fiscal_stamp(kind, record, stamp, key)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    const U1: &str = "1e5a6e1b-9c1b-5319-bfed-123bd143a310";

    fn stamp(uuid: &str) -> FiscalStamp {
        FiscalStamp::new(
            "mx-cfdi-4.0",
            FiscalDocumentKind::Invoice,
            uuid,
            "2026-12-01T10:00:00",
            "finkok",
            Decimal::new(11600, 2),
            "<cfdi/>",
        )
    }

    #[tokio::test]
    async fn journal_records_cancellations_of_stamped_documents_and_keeps_terminal_states() {
        let j = MemoryStampJournal::new();
        let key = FiscalKey::new("t1", EntityKind::Invoice, "inv-1");
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let mut c = Cancellation::requested(U1, "02", None, at);
        let e = j.record_cancellation(&key, &c).await.unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Conflict, "not stamped yet");
        j.begin(&key, "sealed").await.unwrap();
        j.complete(&key, &stamp(U1)).await.unwrap();
        assert_eq!(j.cancellation(&key).await.unwrap(), None);
        j.record_cancellation(&key, &c).await.unwrap();
        c.state = CancellationState::AwaitingAcceptance;
        j.record_cancellation(&key, &c).await.unwrap();
        c.state = CancellationState::Rejected;
        j.record_cancellation(&key, &c).await.unwrap();
        let mut stale = c.clone();
        stale.state = CancellationState::AwaitingAcceptance;
        j.record_cancellation(&key, &stale).await.unwrap();
        let got = j.cancellation(&key).await.unwrap().unwrap();
        assert_eq!(got.state, CancellationState::Rejected);
        assert!(got.state.is_terminal() && !got.state.is_cancelled());
        let other = FiscalKey::new("t1", EntityKind::Invoice, "inv-2");
        let bad = Cancellation::requested(U1, "02", None, at);
        assert!(j.record_cancellation(&other, &bad).await.is_err());
    }

    #[test]
    fn retry_later_is_a_transient_with_a_hint_not_a_rate_limit() {
        let e = crate::Error::retry_later("awaiting", std::time::Duration::from_secs(60));
        assert_eq!(e.kind(), crate::ErrorKind::Transient);
        assert_eq!(e.retry_hint(), Some(std::time::Duration::from_secs(60)));
        assert_eq!(e.retry_after(), None);
        assert_eq!(crate::Error::transient("x").retry_hint(), None);
    }

    #[test]
    fn marker_round_trips_and_rejects_garbage() {
        let s = stamp(U1);
        assert_eq!(s.uuid, U1.to_ascii_uppercase());
        let note = format!("paid by card {} thanks", s.marker());
        assert_eq!(FiscalStamp::find_marker(&note), Some(s.uuid.as_str()));
        assert_eq!(FiscalStamp::find_marker("UUID:not-a-uuid"), None);
        assert_eq!(FiscalStamp::find_marker("nothing"), None);
        // a UUID followed by more hex is not a UUID
        assert_eq!(
            FiscalStamp::find_marker(&format!("{}ABC", s.marker())),
            None
        );
        assert_eq!(
            FiscalStamp::find_marker(&format!("{}.", s.marker())),
            Some(s.uuid.as_str())
        );
        // a Costa Rican clave (50 digits) round-trips too; 49 or 51 digits do not
        let clave = "50601012600310123456700100001010000000001100000001";
        let cr = FiscalStamp::new(
            "cr-4.4",
            FiscalDocumentKind::Invoice,
            clave,
            "2026-01-01T00:00:00-06:00",
            "hacienda:aceptado",
            Decimal::ONE,
            "<x/>",
        );
        let note = format!("memo {} end", cr.marker());
        assert_eq!(FiscalStamp::find_marker(&note), Some(clave));
        assert_eq!(
            FiscalStamp::find_marker(&format!("UUID:{}", &clave[1..])),
            None
        );
        assert_eq!(FiscalStamp::find_marker(&format!("UUID:{clave}1")), None);
        assert_eq!(FiscalStamp::id_of_file_name(&cr.file_name()), Some(clave));
        assert_eq!(
            FiscalStamp::id_of_file_name(&s.file_name().to_ascii_lowercase()),
            Some(U1)
        );
        assert_eq!(FiscalStamp::id_of_file_name("aé.xml"), None);
        assert_eq!(FiscalStamp::id_of_file_name("invoice.xml"), None);
        assert_eq!(FiscalStamp::id_of_file_name(".xml"), None);
        assert_eq!(FiscalStamp::id_of_file_name("é"), None);
        assert!(!format!("{s:?}").contains("<cfdi/>"));
    }

    #[tokio::test]
    async fn journal_keeps_the_first_sealed_document_and_refuses_a_second_uuid() {
        let j = MemoryStampJournal::new();
        let key = FiscalKey::new("t1", EntityKind::Invoice, "inv-1");
        let first = j.begin(&key, "sealed-A").await.unwrap();
        let again = j.begin(&key, "sealed-B").await.unwrap();
        assert_eq!(first, again, "the existing pending document wins");
        j.sending(&key, "finkok").await.unwrap();
        j.sending(&key, "finkok").await.unwrap();
        j.not_stamped(&key, "finkok").await.unwrap();
        match j.get(&key).await.unwrap() {
            Some(JournalEntry::Pending { sealed, attempts }) => {
                assert_eq!(sealed, "sealed-A");
                assert_eq!(attempts.len(), 1);
                assert!(attempts[0].definitely_not_stamped);
            }
            other => panic!("{other:?}"),
        }
        j.complete(&key, &stamp(U1)).await.unwrap();
        j.complete(&key, &stamp(U1)).await.unwrap();
        let other = "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3";
        let e = j.complete(&key, &stamp(other)).await.unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        j.abandon(&key).await.unwrap();
        assert!(matches!(
            j.get(&key).await.unwrap(),
            Some(JournalEntry::Stamped(_))
        ));
        let all = j.stamped("t1", FiscalDocumentKind::Invoice).await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(
            j.stamped("t2", FiscalDocumentKind::Invoice)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
