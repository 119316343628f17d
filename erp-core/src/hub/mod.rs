//! The sync hub: a durable, concurrent, multi-tenant queue that gets every record into the right ERP exactly
//! once, and a sync log that tells an operator what happened (feature `hub`; stores behind `sqlite` and
//! `postgres`).
//!
//! # Model
//! - **Enqueue.** Your system hands the hub writes ([`WriteOp`](crate::adapter::WriteOp)) per [`Scope`]
//!   (tenant + connection). [`HubStore::enqueue`] stores them durably, in one transaction, before anything is
//!   sent. The idempotency key is derived there ([`derive_key`](crate::sync::derive_key) over scope, kind,
//!   external reference, content fingerprint and generation) and stored; it is never re-derived while a send
//!   may be pending, so it survives crashes and lease takeovers. Enqueueing the same content again is a no-op;
//!   a changed customer or item is queued again under the next generation's key; a changed invoice, payment
//!   or credit note is refused ([`Error::Conflict`](crate::Error::Conflict)): documents are created once.
//! - **Dependencies, per record.** An invoice waits for its customer (and items), a payment for its customer
//!   and invoices, a credit note for its customer and invoice — when those are in the hub for the same scope.
//!   Remote ids of done dependencies are filled in before the send. A reference the hub does not know is left
//!   to the adapter (it resolves by external reference).
//! - **Workers.** [`Hub`] runs N tokio tasks. Each claims ready records of one scope under a lease (rotating
//!   over scopes, so tenants run in parallel), groups them into requests of at most
//!   `min(`[`HubConfig::batch_size`]`, adapter.max_batch())` writes sent through
//!   [`write_batch`](crate::ErpAdapter::write_batch), and respects the connection's
//!   [`limits`](crate::ErpAdapter::limits): requests per minute and in flight (the shared
//!   [`RateLimiter`](crate::http::RateLimiter), paused on `Retry-After`), batch requests per
//!   minute, and the daily cap (counted per process and UTC day). The lease is renewed by a heartbeat while the
//!   calls run.
//!
//!   **Connection limits are enforced per process** (per [`Hub`]): nothing is shared through the store. N
//!   worker processes serving the same connection (e.g. on a shared PostgreSQL) each take the full
//!   requests/min, in-flight and daily budget, N times what the provider allows, and then meet its 429s
//!   (retried on `Retry-After`, but the daily cap can be overrun). Divide the budget: register the scope in
//!   each process with [`Hub::register_with_limits`]`(scope, adapter, `[`share_limits`]`(adapter.limits(),
//!   N))` (each limit / N, rounded down). Workers of one process share its limiters.
//!   [`HubHandle::shutdown`] lets workers finish and record the batch they are sending and releases claimed
//!   records they did not send.
//! - **Retries as a schedule.** Transient, uncertain, rate-limited outcomes (and auth/config errors after an
//!   earlier send of the key) set `next_attempt_at` with exponential backoff and full jitter (`Retry-After`
//!   wins); defaults 5 attempts, 5 s base. After the last attempt the record is a dead letter with its history;
//!   [`HubStore::requeue`] puts it back. A verdict (validation, duplicate, conflict, not found, unsupported)
//!   dead-letters at once: nothing was applied, so a requeue uses a new key.
//! - **Waiting on outside parties.** An adapter or fiscal step whose outcome is decided elsewhere answers "not
//!   yet, call again after *t*": [`Error::retry_later`](crate::Error::retry_later) (nothing applied, e.g. a
//!   cancellation awaiting the tax authority or the receptor) or
//!   [`Error::uncertain_retry_later`](crate::Error::uncertain_retry_later) (maybe received, e.g. a document
//!   the authority is still processing; the next call finds out with the same key). The record is scheduled
//!   at the hint ([`Verdict::Wait`], logged as `wait`), and these outcomes do **not** count against
//!   `max_attempts`: [`HubConfig::max_wait`] (default 96 h from the first send) bounds them, after which the
//!   record is dead-lettered with its last state (and keeps its key on requeue). A record whose attempts were
//!   all waits is not reconciled by the idempotency-window rule below: the step resumes from its own journal.
//! - **Idempotency windows.** An invoice, payment or credit note first sent longer than
//!   [`HubConfig::idempotency_window`] ago (default 24 h) is looked up by external reference with
//!   [`reconcile`] (the adapter's change feed) before it is sent again; a record found there is not sent, but
//!   [`finish_reconciled`](crate::ErpAdapter::finish_reconciled) lets the adapter finish what follows the
//!   write (the fiscal wrapper stamps it and attaches the stamp). Limits: it needs an adapter with
//!   [`Capability::ChangedSince`](crate::adapter::Capability::ChangedSince) whose feed carries external
//!   references, and reads the whole feed. When the lookup fails for good (e.g. no change feed) the record is
//!   dead-lettered as [`ErrorKind::Uncertain`](crate::ErrorKind::Uncertain), never re-sent blindly: an
//!   operator checks the provider and [`HubStore::requeue`]s it, which keeps its key (a requeued record is
//!   sent with that key without another lookup); a retriable lookup error retries the lookup.
//! - **Sync log.** [`HubStore::record`] / [`HubStore::find`] give a record's state and every attempt (time,
//!   duration, outcome, error kind and message, remote id, worker); [`HubStore::status`] gives counts per
//!   scope, backlog, blocked records, dead letters and the oldest pending record.
//! - **Tokens.** `SqliteTokenStore` / `PgTokenStore` keep OAuth tokens in the same database, sealed with a
//!   key you supply (`TokenCipher`, ChaCha20-Poly1305).
//! - **Fiscal documents.** [`HubStore::stamp_journal`] gives the fiscal
//!   [`StampJournal`](crate::fiscal::StampJournal) in the same database (`SqliteStampJournal`, `PgStampJournal`,
//!   the in-memory one of [`MemoryStore`]); hand it to the fiscal step (`cfdi::hub::CfdiStep`) so stamped XML
//!   and UUIDs are as durable as the queue.
//! - **Metrics** through the `metrics` facade: see [`metrics`].
//!
//! # Exactly once
//! A record is sent only under a lease; a lease that expires (a dead or stalled worker) makes the record
//! claimable again, and the next worker sends the *same payload with the same key*, so the provider replays
//! instead of creating a second record. The earlier worker's completion is then refused by the fencing token.
//! The guarantee holds while the provider honours keys (see the idempotency window above) and the adapter
//! keeps the [`ErpAdapter`](crate::ErpAdapter) contract.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use erp_hub_core::adapter::WriteOp;
//! use erp_hub_core::hub::{Hub, HubConfig, MemoryStore, Scope};
//! use erp_hub_core::model::Customer;
//! use erp_hub_core::testing::MemoryErp; // the `testing` feature
//!
//! let hub = Hub::new(Arc::new(MemoryStore::new()), HubConfig::default());
//! let scope = Scope::new("acme", "memory:1");
//! hub.register(scope.clone(), Arc::new(MemoryErp::new()));
//! hub.enqueue(&scope, vec![WriteOp::UpsertCustomer(Customer::new("c-1", "Acme SA"))]).await?;
//! let status = hub.run_until_settled().await?;
//! assert_eq!(status[0].done, 1);
//! # Ok::<(), erp_hub_core::Error>(()) }).unwrap();
//! ```

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod journal;
mod memory;
pub mod metrics;
pub mod numbering;
mod op;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod token;
mod types;
mod worker;

#[cfg(feature = "postgres")]
pub use journal::PgStampJournal;
#[cfg(feature = "sqlite")]
pub use journal::SqliteStampJournal;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::HubStore;
#[cfg(feature = "postgres")]
pub use token::PgTokenStore;
#[cfg(feature = "sqlite")]
pub use token::SqliteTokenStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use token::TokenCipher;
pub use types::{
    AttemptError, AttemptLog, ClaimRequest, Claimed, Completion, Enqueued, Lease, NewRecord,
    RecordFilter, RecordId, RecordLog, RecordState, Scope, ScopeStatus, Verdict,
};
pub use worker::{Hub, HubConfig, HubHandle, reconcile, share_limits};
