//! The [`HubStore`] trait: the durable queue and sync log behind a [`Hub`](super::Hub).

use std::time::Duration;

use async_trait::async_trait;

use super::types::{
    ClaimRequest, Claimed, Completion, Enqueued, Lease, NewRecord, RecordFilter, RecordId,
    RecordLog, Scope, ScopeStatus,
};
use crate::Result;
use crate::model::{EntityKind, RemoteRef};

/// The durable queue, journal and sync log of the hub. Object safe; implemented by
/// [`MemoryStore`](super::MemoryStore), `SqliteStore` (feature `sqlite`) and `PgStore` (feature `postgres`).
///
/// Every method is one transaction: when it returns `Ok`, its effect is durable (as durable as the backend is
/// configured to be).
///
/// # Errors
/// Every method fails with [`ErrorKind::Transient`](crate::ErrorKind::Transient) when the database cannot be
/// reached (nothing was changed, or the transaction rolled back) and [`ErrorKind::Config`](crate::ErrorKind::Config)
/// when its contents are unreadable.
#[async_trait]
pub trait HubStore: Send + Sync {
    /// Stores `records` (all or none). The idempotency key of each is derived here, once, and kept until the
    /// record is done or requeued after a verdict.
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) when an invoice, payment or credit note was enqueued before
    /// with other content, or a customer or item changed while its earlier content may be in flight;
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) for an empty external reference.
    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<Enqueued>>;

    /// Claims up to `req.max` ready records of `req.scope`: queued and due, with every dependency done, or
    /// claimed under a lease that expired (that earlier attempt is logged as `lease_expired`).
    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Claimed>>;

    /// Extends the lease on `ids` by `extend` from now.
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) naming the records this lease no longer holds.
    async fn heartbeat(&self, lease: &Lease, ids: &[RecordId], extend: Duration) -> Result<()>;

    /// Records the outcome of one attempt per record and releases them.
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) when `lease` no longer holds some of the records (its lease
    /// expired and another worker claimed them): their results are **not** written, so the other worker's
    /// result stands; the results of the records still held are written.
    async fn complete(&self, lease: &Lease, results: &[Completion]) -> Result<()>;

    /// Records the outcome of a batch, as [`complete`](Self::complete), and claims the next batch, as
    /// [`claim`](Self::claim) with `next` (its own lease), in one transaction where the store can: one round
    /// trip and one commit per batch instead of two. The default calls `complete`, then `claim`; `SqliteStore`
    /// and `PgStore` override it. The default and SQLite claim after the completion is written (in SQLite's
    /// case in the same transaction), so a record retried with no delay or whose last dependency was just done
    /// may be claimed at once; PostgreSQL's single statement claims from the snapshot before the completion
    /// and never takes the records being completed, so those wait for a later claim.
    ///
    /// Returns the completion's outcome (`Err` only for [`Error::Conflict`](crate::Error::Conflict), exactly as
    /// `complete`: the results of the records still held are written, the claim goes ahead) and the claimed
    /// records.
    ///
    /// # Errors
    /// The store's other errors. Then nothing was claimed (or what was claimed is lost until its lease expires)
    /// and the completion may or may not have been written, as when `complete` fails: the records then stay
    /// claimed until their lease expires and are sent again with the same idempotency key.
    async fn complete_and_claim(
        &self,
        lease: &Lease,
        results: &[Completion],
        next: &ClaimRequest,
    ) -> Result<(Result<()>, Vec<Claimed>)> {
        let completed = match self.complete(lease, results).await {
            Err(e) if e.kind() != crate::ErrorKind::Conflict => return Err(e),
            r => r,
        };
        Ok((completed, self.claim(next).await?))
    }

    /// Gives claimed records back without an attempt (nothing was sent), due again after `after`.
    async fn release(&self, lease: &Lease, ids: &[RecordId], after: Duration) -> Result<()>;

    /// The provider's records for done records of `scope`, in the order of `refs` (`None`: not done or unknown).
    async fn remote_refs(
        &self,
        scope: &Scope,
        refs: &[(EntityKind, String)],
    ) -> Result<Vec<Option<RemoteRef>>>;

    /// Puts a dead letter back in the queue, due now, with a fresh attempt budget. After a verdict (nothing was
    /// applied) it gets the next generation's key; after running out of attempts it keeps its key, because
    /// the last send may have been applied. Returns whether the record was dead.
    async fn requeue(&self, id: RecordId) -> Result<bool>;

    /// One record with its full attempt history.
    async fn record(&self, id: RecordId) -> Result<Option<RecordLog>>;

    /// The record of `scope`, `kind` and `external_ref`, with its history.
    async fn find(
        &self,
        scope: &Scope,
        kind: EntityKind,
        external_ref: &str,
    ) -> Result<Option<RecordLog>>;

    /// Records matching `filter`, by id, without their history.
    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordLog>>;

    /// Counts per scope, ordered by scope.
    async fn status(&self) -> Result<Vec<ScopeStatus>>;

    /// The fiscal [`StampJournal`](crate::fiscal::StampJournal) kept in the same database, so stamped
    /// documents live (and are backed up) with the queue: every built-in store has one (`SqliteStore` and
    /// `PgStore` in their database, [`MemoryStore`](super::MemoryStore) in memory). `None` (the default) for a
    /// store without one.
    fn stamp_journal(&self) -> Option<std::sync::Arc<dyn crate::fiscal::StampJournal>> {
        None
    }
}
