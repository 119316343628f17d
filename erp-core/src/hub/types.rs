//! The store's vocabulary: scopes, records, claims, completions, the sync log and scope status.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::adapter::{IdempotencyKey, WriteOp};
use crate::model::{EntityKind, RemoteRef};
use crate::{ErrorKind, Result};

/// A record's id in the store.
pub type RecordId = i64;

/// Where a record goes: one tenant's connection to one provider account (e.g. tenant `acme-mx`, connection
/// `quickbooks:9130…`). Limits, batching and idempotency keys are per scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scope {
    /// Your tenant id.
    pub tenant: String,
    /// The provider connection of that tenant (provider and company id).
    pub connection: String,
}

impl Scope {
    /// A scope.
    pub fn new(tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            connection: connection.into(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.connection)
    }
}

/// A record handed to [`HubStore::enqueue`](super::HubStore::enqueue).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewRecord {
    /// Where it goes.
    pub scope: Scope,
    /// What to write (its references may lack remote ids: the hub fills them from done dependencies).
    pub op: WriteOp,
}

impl NewRecord {
    /// A record for `scope`.
    pub fn new(scope: Scope, op: WriteOp) -> Self {
        Self { scope, op }
    }
}

/// What [`HubStore::enqueue`](super::HubStore::enqueue) did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// New record, queued.
    Queued(RecordId),
    /// Already queued or done with the same content: nothing changed.
    Unchanged(RecordId),
    /// A customer or item with changed content: queued again under a new idempotency key.
    Requeued(RecordId),
}

impl Enqueued {
    /// The record's id.
    pub fn id(self) -> RecordId {
        match self {
            Self::Queued(id) | Self::Unchanged(id) | Self::Requeued(id) => id,
        }
    }
}

/// Where a record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordState {
    /// Waiting for its `next_attempt_at`, for its dependencies, or for a worker.
    Queued,
    /// Held by a worker under a lease.
    Claimed,
    /// The provider confirmed the write.
    Done,
    /// Dead letter: a verdict (nothing applied) or out of attempts (possibly applied). See
    /// [`HubStore::requeue`](super::HubStore::requeue).
    Dead,
}

impl RecordState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Claimed => "claimed",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Self::Queued,
            "claimed" => Self::Claimed,
            "done" => Self::Done,
            "dead" => Self::Dead,
            other => return Err(corrupt(format!("unknown record state `{other}`"))),
        })
    }
}

impl fmt::Display for RecordState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A worker's hold on claimed records: its name and a random token that fences completions. A completion whose
/// token no longer matches (the lease expired and another worker took the record) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The worker's name (shown in the log).
    pub worker: String,
    /// The fencing token of this claim.
    pub token: i64,
}

impl Lease {
    /// A lease for `worker` with a fresh random token.
    pub fn new(worker: impl Into<String>) -> Self {
        Self {
            worker: worker.into(),
            token: rand::random::<i64>(),
        }
    }
}

/// A request to claim ready records of one scope.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// The scope to claim from.
    pub scope: Scope,
    /// The lease the records are claimed under.
    pub lease: Lease,
    /// At most this many records.
    pub max: usize,
    /// Lease length (renew it with [`HubStore::heartbeat`](super::HubStore::heartbeat)).
    pub lease_for: Duration,
}

impl ClaimRequest {
    /// A request.
    pub fn new(scope: Scope, lease: Lease, max: usize, lease_for: Duration) -> Self {
        Self {
            scope,
            lease,
            max,
            lease_for,
        }
    }
}

/// A record a worker claimed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Claimed {
    /// Its id.
    pub id: RecordId,
    /// Its scope.
    pub scope: Scope,
    /// Its kind.
    pub kind: EntityKind,
    /// Our external reference.
    pub external_ref: String,
    /// What to write, as enqueued.
    pub op: WriteOp,
    /// The key to send it under: stored at enqueue, the same for every attempt.
    pub key: IdempotencyKey,
    /// Attempts made before this claim since it was enqueued or requeued (including sends by workers whose
    /// lease expired), not counting [`Verdict::Wait`] outcomes: what counts against the retry budget.
    pub attempts: u32,
    /// When it was enqueued.
    pub enqueued_at: DateTime<Utc>,
    /// When it was first claimed for sending (store clock).
    pub first_sent_at: DateTime<Utc>,
    /// The remotes of its dependencies that were done at the claim, when the store read them with the claim
    /// (PostgreSQL: saves the worker a round trip per batch); `None`: the worker asks
    /// [`remote_refs`](super::HubStore::remote_refs).
    pub(crate) dep_remotes: Option<Vec<((EntityKind, String), RemoteRef)>>,
}

/// An error as the sync log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttemptError {
    /// The error's kind.
    pub kind: ErrorKind,
    /// Its message.
    pub message: String,
}

impl AttemptError {
    /// From an adapter error.
    pub fn of(e: &crate::Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// How an attempt ended, as decided by the hub.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// Written: the provider's record.
    Done(RemoteRef),
    /// Found at the provider by external reference (reconciliation), not sent again.
    Reconciled(RemoteRef),
    /// Try again after `after` with the same key.
    Retry {
        /// Delay from now (store clock).
        after: Duration,
        /// Why.
        error: AttemptError,
    },
    /// Waiting on an outside party (the adapter answered with a
    /// [`retry_hint`](crate::Error::retry_hint): a cancellation awaiting the tax authority, a document it is still
    /// processing): try again after `after` with the same key. Logged as `wait`; it does **not** count against
    /// [`HubConfig::max_attempts`](super::HubConfig::max_attempts) (the wait is bounded by
    /// [`HubConfig::max_wait`](super::HubConfig::max_wait) instead).
    Wait {
        /// Delay from now (store clock): the hint.
        after: Duration,
        /// What is awaited (the step's state, for the sync log).
        error: AttemptError,
    },
    /// Dead letter.
    Dead {
        /// Why.
        error: AttemptError,
    },
}

/// The result of one attempt of one claimed record.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Completion {
    /// The record.
    pub id: RecordId,
    /// When the call started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub verdict: Verdict,
}

impl Completion {
    /// A completion.
    pub fn new(
        id: RecordId,
        started_at: DateTime<Utc>,
        duration: Duration,
        verdict: Verdict,
    ) -> Self {
        Self {
            id,
            started_at,
            duration,
            verdict,
        }
    }
}

/// One attempt in the sync log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttemptLog {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// `done`, `reconciled`, `retry`, `wait` (an outside party asked for a later call, [`Verdict::Wait`]),
    /// `dead`, or `lease_expired` (a worker's lease ran out before it reported;
    /// the send may have happened).
    pub outcome: String,
    /// The error's kind, when there was one.
    pub error_kind: Option<ErrorKind>,
    /// The error's message, when there was one.
    pub message: Option<String>,
    /// The provider's record id, when written.
    pub remote_id: Option<String>,
    /// The worker that made the attempt.
    pub worker: String,
}

/// One record in the sync log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordLog {
    /// Its id.
    pub id: RecordId,
    /// Its scope.
    pub scope: Scope,
    /// Its kind.
    pub kind: EntityKind,
    /// Our external reference.
    pub external_ref: String,
    /// Where it stands.
    pub state: RecordState,
    /// Attempts made (each has an entry in `history`).
    pub attempts: u32,
    /// The current idempotency key.
    pub key: String,
    /// When the next attempt may start (for queued records).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was enqueued.
    pub enqueued_at: DateTime<Utc>,
    /// The provider's record, once done.
    pub remote: Option<RemoteRef>,
    /// The last error, if any.
    pub last_error: Option<AttemptError>,
    /// Every attempt, oldest first (empty in list views).
    pub history: Vec<AttemptLog>,
}

/// Counts and ages for one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScopeStatus {
    /// The scope.
    pub scope: Scope,
    /// Queued records (including blocked and retry-scheduled ones).
    pub queued: u64,
    /// Queued records waiting for a dependency that is not done.
    pub blocked: u64,
    /// Records held by a worker.
    pub claimed: u64,
    /// Done records.
    pub done: u64,
    /// Dead letters.
    pub dead: u64,
    /// When the oldest queued or claimed record was enqueued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl ScopeStatus {
    /// Queued plus claimed records.
    pub fn backlog(&self) -> u64 {
        self.queued + self.claimed
    }
}

/// Which records [`HubStore::records`](super::HubStore::records) lists.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RecordFilter {
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only this state.
    pub state: Option<RecordState>,
    /// At most this many (default: all).
    pub limit: Option<u32>,
}

impl RecordFilter {
    /// Every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only records in `state`.
    #[must_use]
    pub fn with_state(mut self, state: RecordState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only records of `scope`.
    #[must_use]
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// At most `n` records.
    #[must_use]
    pub fn with_limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
}

/// A store error about unreadable contents.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn corrupt(message: impl fmt::Display) -> crate::Error {
    crate::Error::config(format!("hub store: {message}"))
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn kind_from_str(s: &str) -> Result<EntityKind> {
    EntityKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| corrupt(format!("unknown entity kind `{s}`")))
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn error_kind_from_str(s: &str) -> Result<ErrorKind> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| corrupt(format!("unknown error kind `{s}`")))
}

pub(crate) fn error_kind_str(k: ErrorKind) -> String {
    match serde_json::to_value(k) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{k:?}"),
    }
}
