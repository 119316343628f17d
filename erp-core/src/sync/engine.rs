//! [`SyncEngine`]: pushes a [`SyncBatch`] through an adapter, journaling every write ahead of the call.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::fingerprint::{canonical_json, derive_key};
use super::{EntryState, Fingerprint, JournalEntry, JournalKey, SyncStore};
use crate::adapter::{ErpAdapter, IdempotencyKey};
use crate::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};
use crate::{Error, ErrorKind, Result};

/// The records to push in one run. They are sent in dependency order: customers, items, invoices, payments,
/// credit notes.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SyncBatch {
    /// Customers (upserted by external reference).
    pub customers: Vec<Customer>,
    /// Items (upserted by external reference).
    pub items: Vec<Item>,
    /// Invoices (created once).
    pub invoices: Vec<Invoice>,
    /// Payments (created once).
    pub payments: Vec<Payment>,
    /// Credit notes (created once).
    pub credit_notes: Vec<CreditNote>,
}

impl SyncBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same batch with a customer added.
    #[must_use]
    pub fn with_customer(mut self, customer: Customer) -> Self {
        self.customers.push(customer);
        self
    }

    /// The same batch with an item added.
    #[must_use]
    pub fn with_item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }

    /// The same batch with an invoice added.
    #[must_use]
    pub fn with_invoice(mut self, invoice: Invoice) -> Self {
        self.invoices.push(invoice);
        self
    }

    /// The same batch with a payment added.
    #[must_use]
    pub fn with_payment(mut self, payment: Payment) -> Self {
        self.payments.push(payment);
        self
    }

    /// The same batch with a credit note added.
    #[must_use]
    pub fn with_credit_note(mut self, credit_note: CreditNote) -> Self {
        self.credit_notes.push(credit_note);
        self
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.customers.len()
            + self.items.len()
            + self.invoices.len()
            + self.payments.len()
            + self.credit_notes.len()
    }

    /// Whether the batch holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What happened to one record in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// First confirmed push of the record.
    Created {
        /// The provider's record.
        remote: RemoteRef,
    },
    /// A customer or item whose content changed since its last push was upserted again.
    Updated {
        /// The provider's record.
        remote: RemoteRef,
    },
    /// Already pushed with the same content: no adapter call.
    Unchanged {
        /// The provider's record.
        remote: RemoteRef,
    },
    /// An invoice, payment or credit note changed after it was pushed. Documents are never created twice:
    /// correct the provider's record yourself (void it, or issue a credit note) and push the correction under a
    /// new external reference.
    ChangedAfterPush {
        /// The provider's record, which still holds the earlier content.
        remote: RemoteRef,
    },
    /// Not sent because a record it depends on failed, is pending, or is blocked.
    Blocked {
        /// The dependency's kind.
        kind: EntityKind,
        /// The dependency's external reference.
        external_ref: String,
    },
    /// Definitely not applied: the provider (or adapter) rejected it. The next run retries with a new key.
    Failed {
        /// The error's kind.
        kind: ErrorKind,
        /// The error's message.
        message: String,
        /// For [`ErrorKind::Duplicate`], the provider's id of the existing record, when it said.
        existing_id: Option<String>,
    },
    /// May or may not have been applied, or could not be sent now (rate limit, credentials). The next run
    /// re-sends the same request with the same idempotency key.
    Pending {
        /// The kind of the last error.
        kind: ErrorKind,
        /// The last error's message.
        message: String,
    },
}

impl Outcome {
    /// Whether the provider holds the record with its current content (created, updated or unchanged).
    pub fn is_synced(&self) -> bool {
        matches!(
            self,
            Self::Created { .. } | Self::Updated { .. } | Self::Unchanged { .. }
        )
    }

    /// The provider's record, when the outcome names one.
    pub fn remote(&self) -> Option<&RemoteRef> {
        match self {
            Self::Created { remote }
            | Self::Updated { remote }
            | Self::Unchanged { remote }
            | Self::ChangedAfterPush { remote } => Some(remote),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { remote } => write!(f, "created {remote}"),
            Self::Updated { remote } => write!(f, "updated {remote}"),
            Self::Unchanged { remote } => write!(f, "unchanged {remote}"),
            Self::ChangedAfterPush { remote } => write!(
                f,
                "changed after push: {remote} keeps the pushed content; void or credit it"
            ),
            Self::Blocked { kind, external_ref } => write!(f, "blocked by {kind} {external_ref}"),
            Self::Failed { kind, message, .. } => write!(f, "failed ({kind:?}): {message}"),
            Self::Pending { kind, message } => write!(f, "pending ({kind:?}): {message}"),
        }
    }
}

/// One record's line in a [`SyncReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordReport {
    /// The record's kind.
    pub kind: EntityKind,
    /// Our external reference.
    pub external_ref: String,
    /// What happened.
    pub outcome: Outcome,
    /// Adapter calls made for it in this run.
    pub sends: u32,
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncCounts {
    /// [`Outcome::Created`].
    pub created: usize,
    /// [`Outcome::Updated`].
    pub updated: usize,
    /// [`Outcome::Unchanged`].
    pub unchanged: usize,
    /// [`Outcome::ChangedAfterPush`].
    pub changed_after_push: usize,
    /// [`Outcome::Blocked`].
    pub blocked: usize,
    /// [`Outcome::Failed`].
    pub failed: usize,
    /// [`Outcome::Pending`].
    pub pending: usize,
}

/// The result of [`SyncEngine::push`]: one [`RecordReport`] per record, in the order they were processed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Per-record outcomes.
    pub records: Vec<RecordReport>,
}

impl SyncReport {
    /// Counts per outcome.
    pub fn counts(&self) -> SyncCounts {
        let mut c = SyncCounts::default();
        for r in &self.records {
            match r.outcome {
                Outcome::Created { .. } => c.created += 1,
                Outcome::Updated { .. } => c.updated += 1,
                Outcome::Unchanged { .. } => c.unchanged += 1,
                Outcome::ChangedAfterPush { .. } => c.changed_after_push += 1,
                Outcome::Blocked { .. } => c.blocked += 1,
                Outcome::Failed { .. } => c.failed += 1,
                Outcome::Pending { .. } => c.pending += 1,
            }
        }
        c
    }

    /// Adapter calls made in the run.
    pub fn sends(&self) -> u32 {
        self.records.iter().map(|r| r.sends).sum()
    }

    /// Whether every record is [synced](Outcome::is_synced).
    pub fn is_complete(&self) -> bool {
        self.records.iter().all(|r| r.outcome.is_synced())
    }

    /// The report line of one record.
    pub fn get(&self, kind: EntityKind, external_ref: &str) -> Option<&RecordReport> {
        self.records
            .iter()
            .find(|r| r.kind == kind && r.external_ref == external_ref)
    }
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<RemoteRef>> + Send + 'a>>;

/// A record the engine can push.
trait Record: Serialize + DeserializeOwned + Clone + Send + Sync {
    const KIND: EntityKind;
    /// Upserted by external reference (a changed record is sent again) rather than created once.
    const UPSERT: bool;
    fn external_ref(&self) -> &str;
    /// Records this one references, as (kind, external reference).
    fn dependencies(&self) -> Vec<(EntityKind, String)>;
    /// Fills in remote ids of references that lack them.
    fn resolve(&mut self, remote_id: &dyn Fn(EntityKind, &str) -> Option<String>);
    fn send<'a>(&'a self, adapter: &'a dyn ErpAdapter, key: &'a IdempotencyKey) -> SendFuture<'a>;
}

/// Customers and items: upserted by external reference, no dependencies.
macro_rules! upsert_record {
    ($ty:ty, $kind:expr, $method:ident) => {
        impl Record for $ty {
            const KIND: EntityKind = $kind;
            const UPSERT: bool = true;
            fn external_ref(&self) -> &str {
                &self.external_ref
            }
            fn dependencies(&self) -> Vec<(EntityKind, String)> {
                Vec::new()
            }
            fn resolve(&mut self, _: &dyn Fn(EntityKind, &str) -> Option<String>) {}
            fn send<'a>(
                &'a self,
                adapter: &'a dyn ErpAdapter,
                key: &'a IdempotencyKey,
            ) -> SendFuture<'a> {
                adapter.$method(self, key)
            }
        }
    };
}

upsert_record!(Customer, EntityKind::Customer, upsert_customer);
upsert_record!(Item, EntityKind::Item, upsert_item);

impl Record for Invoice {
    const KIND: EntityKind = EntityKind::Invoice;
    const UPSERT: bool = false;
    fn external_ref(&self) -> &str {
        &self.external_ref
    }
    fn dependencies(&self) -> Vec<(EntityKind, String)> {
        let mut deps = vec![(EntityKind::Customer, self.customer.external_ref.clone())];
        deps.extend(
            self.lines
                .iter()
                .filter_map(|l| l.item.clone())
                .map(|i| (EntityKind::Item, i)),
        );
        deps
    }
    fn resolve(&mut self, remote_id: &dyn Fn(EntityKind, &str) -> Option<String>) {
        if self.customer.remote_id.is_none() {
            self.customer.remote_id = remote_id(EntityKind::Customer, &self.customer.external_ref);
        }
    }
    fn send<'a>(&'a self, adapter: &'a dyn ErpAdapter, key: &'a IdempotencyKey) -> SendFuture<'a> {
        adapter.create_invoice(self, key)
    }
}

impl Record for Payment {
    const KIND: EntityKind = EntityKind::Payment;
    const UPSERT: bool = false;
    fn external_ref(&self) -> &str {
        &self.external_ref
    }
    fn dependencies(&self) -> Vec<(EntityKind, String)> {
        let mut deps = vec![(EntityKind::Customer, self.customer.external_ref.clone())];
        deps.extend(
            self.applications
                .iter()
                .map(|a| (EntityKind::Invoice, a.invoice.external_ref.clone())),
        );
        deps
    }
    fn resolve(&mut self, remote_id: &dyn Fn(EntityKind, &str) -> Option<String>) {
        if self.customer.remote_id.is_none() {
            self.customer.remote_id = remote_id(EntityKind::Customer, &self.customer.external_ref);
        }
        for app in &mut self.applications {
            if app.invoice.remote_id.is_none() {
                app.invoice.remote_id = remote_id(EntityKind::Invoice, &app.invoice.external_ref);
            }
        }
    }
    fn send<'a>(&'a self, adapter: &'a dyn ErpAdapter, key: &'a IdempotencyKey) -> SendFuture<'a> {
        adapter.record_payment(self, key)
    }
}

impl Record for CreditNote {
    const KIND: EntityKind = EntityKind::CreditNote;
    const UPSERT: bool = false;
    fn external_ref(&self) -> &str {
        &self.external_ref
    }
    fn dependencies(&self) -> Vec<(EntityKind, String)> {
        vec![
            (EntityKind::Customer, self.customer.external_ref.clone()),
            (EntityKind::Invoice, self.invoice.external_ref.clone()),
        ]
    }
    fn resolve(&mut self, remote_id: &dyn Fn(EntityKind, &str) -> Option<String>) {
        if self.customer.remote_id.is_none() {
            self.customer.remote_id = remote_id(EntityKind::Customer, &self.customer.external_ref);
        }
        if self.invoice.remote_id.is_none() {
            self.invoice.remote_id = remote_id(EntityKind::Invoice, &self.invoice.external_ref);
        }
    }
    fn send<'a>(&'a self, adapter: &'a dyn ErpAdapter, key: &'a IdempotencyKey) -> SendFuture<'a> {
        adapter.create_credit_note(self, key)
    }
}

/// What to do after an adapter error.
enum Next {
    /// Re-send now with the same key (bounded by `max_sends`).
    Resend,
    /// Keep the entry pending (same key next run).
    Pending,
    /// Record a definite failure (new key next run).
    Failed,
}

/// `attempts` counts every send of this key, across runs: with one send only, an error that proves this send
/// was not applied proves nothing was.
fn next_step(kind: ErrorKind, attempts: u32) -> Next {
    match kind {
        ErrorKind::Uncertain | ErrorKind::Transient => Next::Resend,
        ErrorKind::RateLimited => Next::Pending,
        // Raised before the provider's idempotency check: says nothing about an earlier send of this key.
        ErrorKind::Auth | ErrorKind::Config => {
            if attempts <= 1 {
                Next::Failed
            } else {
                Next::Pending
            }
        }
        // The provider's verdict on the request. Per the adapter contract a re-send of an applied write returns
        // its first result, so a verdict means the key's write was not applied.
        ErrorKind::Validation
        | ErrorKind::Duplicate
        | ErrorKind::Conflict
        | ErrorKind::NotFound
        | ErrorKind::Unsupported => Next::Failed,
    }
}

/// How one push attempt sequence ended.
enum Sent {
    Done(RemoteRef),
    Pending(Error),
    Failed(Error),
}

/// Pushes records into an [`ErpAdapter`] without losing or duplicating them across retries, timeouts and
/// crashes. See the [module docs](super) for the protocol and its limits.
pub struct SyncEngine {
    adapter: Arc<dyn ErpAdapter>,
    store: Arc<dyn SyncStore>,
    scope: String,
    max_sends: u32,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("provider", &self.adapter.provider())
            .field("scope", &self.scope)
            .field("max_sends", &self.max_sends)
            .finish_non_exhaustive()
    }
}

/// Default adapter calls per record per run (one send and two re-sends with the same key).
const DEFAULT_MAX_SENDS: u32 = 3;

impl SyncEngine {
    /// An engine pushing into `adapter`, journaling in `store` under `scope` (provider and tenant, e.g.
    /// `xero:<tenant id>`; use one scope per connected company).
    pub fn new(
        adapter: Arc<dyn ErpAdapter>,
        store: Arc<dyn SyncStore>,
        scope: impl Into<String>,
    ) -> Self {
        Self {
            adapter,
            store,
            scope: scope.into(),
            max_sends: DEFAULT_MAX_SENDS,
        }
    }

    /// At most `n` adapter calls per record per run (at least 1; default 3). Re-sends after
    /// [`Uncertain`](ErrorKind::Uncertain) or [`Transient`](ErrorKind::Transient) errors reuse the key, with no
    /// delay: the adapter's HTTP layer already backs off.
    #[must_use]
    pub fn with_max_sends(mut self, n: u32) -> Self {
        self.max_sends = n.max(1);
        self
    }

    /// The journal scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Pushes `batch`: customers, items, invoices, payments, then credit notes. Each record gets an
    /// [`Outcome`]; per-record errors are outcomes, not `Err`.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] before anything is sent when a record has an empty external reference or two
    /// records of one kind share one; otherwise only errors of the [`SyncStore`] (or an unreadable journal
    /// entry), which stop the run at that record. Rerunning the same batch afterwards is safe.
    pub async fn push(&self, batch: &SyncBatch) -> Result<SyncReport> {
        validate(batch)?;
        let mut run = Run::default();
        for c in &batch.customers {
            self.process(c, &mut run).await?;
        }
        for i in &batch.items {
            self.process(i, &mut run).await?;
        }
        for i in &batch.invoices {
            self.process(i, &mut run).await?;
        }
        for p in &batch.payments {
            self.process(p, &mut run).await?;
        }
        for c in &batch.credit_notes {
            self.process(c, &mut run).await?;
        }
        Ok(SyncReport {
            records: run.records,
        })
    }

    async fn process<T: Record>(&self, record: &T, run: &mut Run) -> Result<()> {
        let span = tracing::info_span!(
            "sync_record",
            scope = %self.scope,
            kind = T::KIND.as_str(),
            external_ref = record.external_ref(),
        );
        let mut sends = 0;
        let outcome = self
            .outcome(record, run, &mut sends)
            .instrument(span.clone())
            .await?;
        span.in_scope(|| match &outcome {
            Outcome::Failed { kind, message, .. } | Outcome::Pending { kind, message } => {
                tracing::warn!(?kind, %message, sends, "record not synced");
            }
            other => tracing::debug!(outcome = %other, sends, "record processed"),
        });
        run.records.push(RecordReport {
            kind: T::KIND,
            external_ref: record.external_ref().to_owned(),
            outcome,
            sends,
        });
        Ok(())
    }

    async fn outcome<T: Record>(&self, record: &T, run: &Run, sends: &mut u32) -> Result<Outcome> {
        let jkey = JournalKey::new(self.scope.clone(), T::KIND, record.external_ref());
        let fingerprint = match Fingerprint::of(record) {
            Ok(f) => f,
            Err(e) => return Ok(failed(&e)),
        };
        let existing = self.store.load(&jkey).await?;
        let previous = match existing {
            None => None,
            Some(entry) => match &entry.state {
                EntryState::Done { remote } if entry.fingerprint == fingerprint => {
                    return Ok(Outcome::Unchanged {
                        remote: remote.clone(),
                    });
                }
                EntryState::Done { remote } if !T::UPSERT => {
                    return Ok(Outcome::ChangedAfterPush {
                        remote: remote.clone(),
                    });
                }
                EntryState::Pending if entry.fingerprint == fingerprint || !T::UPSERT => {
                    // Finish the push in flight first: same payload, same key.
                    let same = entry.fingerprint == fingerprint;
                    let payload: T = read_payload(&entry)?;
                    if let Some(blocked) = self.blocked_by(&payload, run).await? {
                        return Ok(blocked);
                    }
                    match self.send(entry, &payload, sends).await? {
                        (_, Sent::Done(remote)) if !same => {
                            return Ok(Outcome::ChangedAfterPush { remote });
                        }
                        (entry, Sent::Done(remote)) => return Ok(done(&entry, remote)),
                        (_, Sent::Pending(e)) => return Ok(pending(&e)),
                        (_, Sent::Failed(e)) if same => return Ok(failed(&e)),
                        // The earlier content was definitely not applied: push the new content.
                        (entry, Sent::Failed(_)) => Some(entry),
                    }
                }
                // Failed, a changed customer or item (done or pending): a new push with a new key.
                _ => Some(entry),
            },
        };

        let mut payload = record.clone();
        if let Some(blocked) = self.blocked_by(&payload, run).await? {
            return Ok(blocked);
        }
        let ids = self.dependency_ids(&payload, run).await?;
        payload.resolve(&|kind, r| ids.get(&(kind, r.to_owned())).cloned());
        let json = canonical_json(&payload)?;
        let generation = previous
            .as_ref()
            .map_or(1, |p| p.generation.saturating_add(1));
        let key = derive_key(
            &self.scope,
            T::KIND,
            record.external_ref(),
            &fingerprint,
            generation,
        )?;
        let mut entry = JournalEntry::pending(jkey, fingerprint, generation, key, json);
        entry.previous_remote = previous.and_then(|p| p.remote().cloned());
        let (entry, sent) = self.send(entry, &payload, sends).await?;
        Ok(match sent {
            Sent::Done(remote) => done(&entry, remote),
            Sent::Pending(e) => pending(&e),
            Sent::Failed(e) => failed(&e),
        })
    }

    /// Sends `payload` with `entry`'s key until it is done, definitely failed, or out of re-sends. The entry
    /// (with its attempt count) is saved before every call and after the last one.
    async fn send<T: Record>(
        &self,
        mut entry: JournalEntry,
        payload: &T,
        sends: &mut u32,
    ) -> Result<(JournalEntry, Sent)> {
        let mut this_run = 0;
        loop {
            entry.attempts = entry.attempts.saturating_add(1);
            entry.first_sent_at.get_or_insert_with(Utc::now);
            self.store.save(&entry).await?; // write-ahead: the key is durable before the request leaves
            this_run += 1;
            *sends += 1;
            tracing::debug!(
                key = entry.idempotency_key.as_str(),
                attempt = entry.attempts,
                "sending"
            );
            let error = match payload
                .send(self.adapter.as_ref(), &entry.idempotency_key)
                .await
            {
                Ok(remote) => {
                    entry.state = EntryState::Done {
                        remote: remote.clone(),
                    };
                    entry.payload = None;
                    self.store.save(&entry).await?;
                    return Ok((entry, Sent::Done(remote)));
                }
                Err(e) => e,
            };
            tracing::debug!(kind = ?error.kind(), error = %error, "send failed");
            match next_step(error.kind(), entry.attempts) {
                Next::Resend if this_run < self.max_sends => {}
                Next::Resend | Next::Pending => return Ok((entry, Sent::Pending(error))),
                Next::Failed => {
                    entry.state = EntryState::Failed {
                        kind: error.kind(),
                        message: error.to_string(),
                    };
                    entry.payload = None;
                    self.store.save(&entry).await?;
                    return Ok((entry, Sent::Failed(error)));
                }
            }
        }
    }

    /// The first dependency that keeps `record` from being sent, as an outcome.
    async fn blocked_by<T: Record>(&self, record: &T, run: &Run) -> Result<Option<Outcome>> {
        for (kind, external_ref) in record.dependencies() {
            let ready = match run.outcome(kind, &external_ref) {
                Some(o) => matches!(
                    o,
                    Outcome::Created { .. }
                        | Outcome::Updated { .. }
                        | Outcome::Unchanged { .. }
                        | Outcome::ChangedAfterPush { .. }
                ),
                None => {
                    let key = JournalKey::new(self.scope.clone(), kind, external_ref.clone());
                    // Unknown to the journal: the adapter resolves it by external reference.
                    self.store.load(&key).await?.is_none_or(|e| e.is_done())
                }
            };
            if !ready {
                return Ok(Some(Outcome::Blocked { kind, external_ref }));
            }
        }
        Ok(None)
    }

    /// Remote ids of `record`'s dependencies that the journal knows.
    async fn dependency_ids<T: Record>(
        &self,
        record: &T,
        run: &Run,
    ) -> Result<HashMap<(EntityKind, String), String>> {
        let mut ids = HashMap::new();
        for (kind, external_ref) in record.dependencies() {
            let id = match run.outcome(kind, &external_ref).and_then(Outcome::remote) {
                Some(r) => Some(r.id.clone()),
                None => {
                    let key = JournalKey::new(self.scope.clone(), kind, external_ref.clone());
                    self.store
                        .load(&key)
                        .await?
                        .and_then(|e| e.remote().map(|r| r.id.clone()))
                }
            };
            if let Some(id) = id {
                ids.insert((kind, external_ref), id);
            }
        }
        Ok(ids)
    }
}

#[derive(Default)]
struct Run {
    records: Vec<RecordReport>,
}

impl Run {
    fn outcome(&self, kind: EntityKind, external_ref: &str) -> Option<&Outcome> {
        self.records
            .iter()
            .find(|r| r.kind == kind && r.external_ref == external_ref)
            .map(|r| &r.outcome)
    }
}

fn done(entry: &JournalEntry, remote: RemoteRef) -> Outcome {
    if entry.previous_remote.is_some() {
        Outcome::Updated { remote }
    } else {
        Outcome::Created { remote }
    }
}

fn pending(e: &Error) -> Outcome {
    Outcome::Pending {
        kind: e.kind(),
        message: e.to_string(),
    }
}

fn failed(e: &Error) -> Outcome {
    Outcome::Failed {
        kind: e.kind(),
        message: e.to_string(),
        existing_id: match e {
            Error::Duplicate { existing_id, .. } => existing_id.clone(),
            _ => None,
        },
    }
}

fn read_payload<T: Record>(entry: &JournalEntry) -> Result<T> {
    let json = entry.payload.as_deref().ok_or_else(|| {
        Error::config(format!(
            "sync journal: pending {} `{}` has no payload",
            entry.key.kind, entry.key.external_ref
        ))
    })?;
    serde_json::from_str(json).map_err(|e| {
        Error::config(format!(
            "sync journal: payload of {} `{}` is unreadable: {e}",
            entry.key.kind, entry.key.external_ref
        ))
    })
}

fn validate(batch: &SyncBatch) -> Result<()> {
    fn check<'a>(field: &str, refs: impl Iterator<Item = &'a str>) -> Result<()> {
        let mut seen = HashSet::new();
        for (i, r) in refs.enumerate() {
            if r.is_empty() {
                return Err(Error::invalid(
                    format!("{field}[{i}].external_ref"),
                    "must not be empty",
                ));
            }
            if !seen.insert(r) {
                return Err(Error::invalid(
                    format!("{field}[{i}].external_ref"),
                    format!("`{r}` appears twice in the batch"),
                ));
            }
        }
        Ok(())
    }
    check(
        "customers",
        batch.customers.iter().map(|c| c.external_ref.as_str()),
    )?;
    check("items", batch.items.iter().map(|c| c.external_ref.as_str()))?;
    check(
        "invoices",
        batch.invoices.iter().map(|c| c.external_ref.as_str()),
    )?;
    check(
        "payments",
        batch.payments.iter().map(|c| c.external_ref.as_str()),
    )?;
    check(
        "credit_notes",
        batch.credit_notes.iter().map(|c| c.external_ref.as_str()),
    )
}
