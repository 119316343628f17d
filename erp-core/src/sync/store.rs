//! The sync journal: what was pushed, with which idempotency key, and how it ended.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Fingerprint;
use crate::adapter::IdempotencyKey;
use crate::model::{EntityKind, RemoteRef};
use crate::{ErrorKind, Result};

/// Identifies one record in the journal: the provider connection, the kind and our external reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalKey {
    /// Provider and tenant, e.g. `xero:6a1c…` or `quickbooks:9130…` (one journal can serve many connections).
    pub scope: String,
    /// The record's kind.
    pub kind: EntityKind,
    /// Our external reference of the record.
    pub external_ref: String,
}

impl JournalKey {
    /// A journal key.
    pub fn new(
        scope: impl Into<String>,
        kind: EntityKind,
        external_ref: impl Into<String>,
    ) -> Self {
        Self {
            scope: scope.into(),
            kind,
            external_ref: external_ref.into(),
        }
    }
}

/// Where the current push of a record stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryState {
    /// Saved before the adapter call and not yet confirmed: the write may or may not have been applied.
    /// The next run re-sends [`JournalEntry::payload`] with the same key.
    Pending,
    /// The provider confirmed the write of this fingerprint.
    Done {
        /// The provider's record.
        remote: RemoteRef,
    },
    /// The provider (or adapter) rejected the write: nothing was applied, so the next push uses a new key.
    Failed {
        /// The error's kind.
        kind: ErrorKind,
        /// The error's message.
        message: String,
    },
}

/// One record's journal entry. It serializes with serde (the fingerprint as 64 hex digits), so a durable
/// [`SyncStore`] can keep it as one JSON document or map its fields to columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Which record.
    pub key: JournalKey,
    /// Fingerprint of the content this entry's push is about.
    pub fingerprint: Fingerprint,
    /// Number of this push of the record (1 for the first; a new fingerprint or a retry after a failure adds 1).
    pub generation: u32,
    /// The idempotency key of this push (derived from scope, kind, reference, fingerprint and generation).
    pub idempotency_key: IdempotencyKey,
    /// Where this push stands.
    pub state: EntryState,
    /// Adapter calls made with [`idempotency_key`](Self::idempotency_key), across runs.
    pub attempts: u32,
    /// When this key was first sent, once it was. Providers keep keys only for a limited time.
    pub first_sent_at: Option<DateTime<Utc>>,
    /// The exact JSON sent (the entity with resolved references), kept while the push is not done so that a
    /// re-send is byte-identical.
    pub payload: Option<String>,
    /// The provider's record from an earlier confirmed push of this record (`None` until its first one).
    pub previous_remote: Option<RemoteRef>,
}

impl JournalEntry {
    /// A pending entry for a push that has not been sent yet.
    pub fn pending(
        key: JournalKey,
        fingerprint: Fingerprint,
        generation: u32,
        idempotency_key: IdempotencyKey,
        payload: String,
    ) -> Self {
        Self {
            key,
            fingerprint,
            generation,
            idempotency_key,
            state: EntryState::Pending,
            attempts: 0,
            first_sent_at: None,
            payload: Some(payload),
            previous_remote: None,
        }
    }

    /// The provider's record, from this push when done or else from an earlier confirmed one.
    pub fn remote(&self) -> Option<&RemoteRef> {
        match &self.state {
            EntryState::Done { remote } => Some(remote),
            _ => self.previous_remote.as_ref(),
        }
    }

    /// Whether the push of the current fingerprint is confirmed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, EntryState::Done { .. })
    }
}

/// Where the journal is persisted. Implement it over your database, in the same database as your records if
/// you can.
///
/// [`save`](Self::save) must be durable before it returns: the engine calls the adapter only after the pending
/// entry (with its idempotency key) was saved, and that ordering is what makes a rerun after a crash safe.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// The entry for `key`, if any.
    async fn load(&self, key: &JournalKey) -> Result<Option<JournalEntry>>;
    /// Stores (replaces) the entry for `entry.key`.
    async fn save(&self, entry: &JournalEntry) -> Result<()>;
}

/// A [`SyncStore`] in process memory (tests, examples, short-lived tools). The journal is lost on exit, and
/// with it the protection against duplicates across process restarts.
#[derive(Debug, Default)]
pub struct InMemorySyncStore {
    entries: Mutex<BTreeMap<JournalKey, JournalEntry>>,
}

impl InMemorySyncStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for `key` (synchronous).
    pub fn get(&self, key: &JournalKey) -> Option<JournalEntry> {
        self.lock().get(key).cloned()
    }

    /// All entries, ordered by scope, kind and external reference.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<JournalKey, JournalEntry>> {
        // Every mutation is a single insert, so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SyncStore for InMemorySyncStore {
    async fn load(&self, key: &JournalKey) -> Result<Option<JournalEntry>> {
        Ok(self.get(key))
    }

    async fn save(&self, entry: &JournalEntry) -> Result<()> {
        self.lock().insert(entry.key.clone(), entry.clone());
        Ok(())
    }
}
