//! A sync engine that pushes your records into any [`ErpAdapter`](crate::ErpAdapter) so that nothing is lost or
//! duplicated across retries, timeouts and process crashes.
//!
//! [`SyncEngine::push`] takes a [`SyncBatch`] and sends customers, items, invoices, payments and credit notes
//! in that order. A [`SyncStore`] journals every record under (scope, [`EntityKind`](crate::model::EntityKind),
//! external reference).
//!
//! # Protocol
//! 1. The record's [`Fingerprint`] is SHA-256 of its canonical JSON (sorted keys, no whitespace). A record
//!    already done with the same fingerprint is [`Unchanged`](Outcome::Unchanged) and costs no call.
//! 2. **Write-ahead:** before the first call, the engine saves a pending entry holding the idempotency key and
//!    the exact payload. The key is [derived](derive_key) from the scope, kind, external reference,
//!    fingerprint and a generation number, so it is the same whenever the same push is retried.
//! 3. [`Uncertain`](crate::ErrorKind::Uncertain) and [`Transient`](crate::ErrorKind::Transient) errors are
//!    re-sent with the same key, up to [`SyncEngine::with_max_sends`] calls. If the outcome is still unknown,
//!    the record stays [`Pending`](Outcome::Pending). The next run, even in a new process after a crash,
//!    re-sends the stored payload with the stored key, and the provider replays its first answer.
//! 4. A provider verdict (validation, duplicate, not found, ...) is [`Failed`](Outcome::Failed). Nothing was
//!    applied, so the next run tries again with the next generation's key. A fresh key matters here because some
//!    providers cache error responses under the key.
//! 5. Invoices, payments and credit notes that depend on a record that failed, is pending or is blocked in this
//!    run (or is not done in the journal) are [`Blocked`](Outcome::Blocked) and not sent. References are
//!    filled in with the remote ids the journal knows.
//!
//! # Changed records
//! A customer or item whose fingerprint changed is upserted again under a new generation; the upsert matches
//! by external reference, so there is no second record. An invoice, payment or credit note that changed after
//! its push is [`ChangedAfterPush`](Outcome::ChangedAfterPush). It is never created a second time: void it or
//! credit it at the provider, then push the correction under a new external reference. A document that
//! changes while its push is still pending has its *earlier* payload re-sent first, because that payload may
//! already have been applied.
//!
//! # Duplicates reported by the provider
//! [`Error::Duplicate`](crate::Error::Duplicate) with an `existing_id` is reported as
//! [`Failed`](Outcome::Failed) carrying that id. It is never recorded as done. The clash may come from another
//! customer with the same name, or another item with the same code, that is not ours. Adopting that record
//! would post our invoices to someone else's account. Even when it is ours (for example, after the journal was
//! lost), its content may differ from ours. Check it, then fix the name or link it yourself by saving a done
//! [`JournalEntry`].
//!
//! # Limits
//! - **Idempotency windows.** The guarantee holds while the provider remembers the key. Providers keep keys for
//!   a limited time: Merge documents 24 h, and many APIs use 24 h. Our research notes (`erp.md`) do not state
//!   Xero's or QuickBooks' retention, so treat it as unknown and short. A pending record retried much later,
//!   see [`JournalEntry::first_sent_at`], can be created a second time by a provider that has forgotten the key.
//!   Before re-running old pending invoices, payments or credit notes, look them up by external reference (for
//!   example with [`ErpAdapter::list_changed_since`](crate::ErpAdapter::list_changed_since)). Customers and items
//!   are upserted by external reference and are safe.
//! - **Adapters without native keys** de-duplicate by looking up the external reference. They are as safe as
//!   that lookup.
//! - **The journal is the memory.** A lost or rolled-back store forgets pending keys. Keep it durable, ideally
//!   in the same database as your records, and run one engine per scope at a time: the engine takes no lock.
//! - A verdict on a re-sent key is trusted as proof that the key's write was not applied, as the
//!   [`ErpAdapter`](crate::ErpAdapter) contract says.
//!
//! ```
//! # block_on(async {
//! use std::sync::Arc;
//! use erp_hub_core::model::Customer;
//! use erp_hub_core::sync::{InMemorySyncStore, SyncBatch, SyncEngine};
//! use erp_hub_core::testing::MemoryErp; // the `testing` feature
//!
//! let erp = Arc::new(MemoryErp::new());
//! let engine = SyncEngine::new(erp, Arc::new(InMemorySyncStore::new()), "memory:demo");
//! let batch = SyncBatch::new().with_customer(Customer::new("cust-1", "Acme SA de CV"));
//! assert_eq!(engine.push(&batch).await?.counts().created, 1);
//! assert_eq!(engine.push(&batch).await?.counts().unchanged, 1); // no second call
//! # Ok::<(), erp_hub_core::Error>(()) });
//! # fn block_on<F: std::future::Future<Output = erp_hub_core::Result<()>>>(f: F) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap()
//! # }
//! ```

mod engine;
mod fingerprint;
mod store;

pub use engine::{Outcome, RecordReport, SyncBatch, SyncCounts, SyncEngine, SyncReport};
pub use fingerprint::{Fingerprint, derive_key};
pub use store::{EntryState, InMemorySyncStore, JournalEntry, JournalKey, SyncStore};
