//! [`MemoryStore`]: the hub's store in process memory, for tests and examples.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::op::{Existing, Prepared, on_existing};
use super::store::HubStore;
use super::types::{
    AttemptError, AttemptLog, ClaimRequest, Claimed, Completion, Enqueued, Lease, NewRecord,
    RecordFilter, RecordId, RecordLog, RecordState, Scope, ScopeStatus, Verdict,
};
use crate::adapter::{IdempotencyKey, WriteOp};
use crate::model::{EntityKind, RemoteRef};
use crate::{Error, Result};

#[derive(Debug, Clone)]
struct Row {
    log: RecordLog,
    op: WriteOp,
    prepared: Prepared,
    generation: u32,
    /// `attempts` when the retry budget last restarted (enqueue of new content, requeue).
    retry_base: u32,
    first_sent_at: Option<DateTime<Utc>>,
    lease: Option<(Lease, DateTime<Utc>)>,
}

#[derive(Debug, Default)]
struct State {
    rows: BTreeMap<RecordId, Row>,
    index: HashMap<(Scope, EntityKind, String), RecordId>,
    next_id: RecordId,
}

/// A [`HubStore`] in process memory. Same semantics as the database stores, nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    journal: std::sync::Arc<crate::fiscal::MemoryStampJournal>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The fiscal journal kept with this store (in memory, like the store).
    pub fn stamp_journal(&self) -> std::sync::Arc<crate::fiscal::MemoryStampJournal> {
        self.journal.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every method validates before mutating, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl State {
    fn deps_done(&self, row: &Row) -> bool {
        row.prepared.deps.iter().all(|(k, r)| {
            match self.index.get(&(row.log.scope.clone(), *k, r.clone())) {
                Some(id) => self
                    .rows
                    .get(id)
                    .is_some_and(|d| d.log.state == RecordState::Done),
                None => true, // unknown to the hub: the adapter resolves it by external reference
            }
        })
    }

    fn held<'a>(&'a mut self, lease: &Lease, id: RecordId) -> Option<&'a mut Row> {
        self.rows.get_mut(&id).filter(|r| {
            r.log.state == RecordState::Claimed
                && r.lease
                    .as_ref()
                    .is_some_and(|(l, _)| l.token == lease.token)
        })
    }
}

fn log_attempt(row: &mut Row, entry: AttemptLog) {
    row.log.attempts += 1;
    row.log.history.push(entry);
}

#[async_trait]
impl HubStore for MemoryStore {
    fn stamp_journal(&self) -> Option<std::sync::Arc<dyn crate::fiscal::StampJournal>> {
        Some(self.journal.clone())
    }

    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<Enqueued>> {
        let prepared = records
            .iter()
            .map(|r| Prepared::new(&r.op))
            .collect::<Result<Vec<_>>>()?;
        let mut s = self.lock();
        // Validate everything first: all or none.
        let mut plan = Vec::with_capacity(records.len());
        for (rec, p) in records.iter().zip(&prepared) {
            let key = (rec.scope.clone(), p.kind, p.external_ref.clone());
            let existing = match s.index.get(&key) {
                Some(id) => {
                    let row = &s.rows[id];
                    let e = on_existing(
                        p,
                        &row.prepared.fingerprint.to_string(),
                        row.log.state,
                        row.log.attempts,
                    )?;
                    Some((*id, e, row.generation))
                }
                None => None,
            };
            plan.push(existing);
        }
        let now = Utc::now();
        let mut out = Vec::with_capacity(records.len());
        for ((rec, p), existing) in records.iter().zip(prepared).zip(plan) {
            match existing {
                Some((id, Existing::Unchanged, _)) => out.push(Enqueued::Unchanged(id)),
                Some((id, Existing::Requeue, generation)) => {
                    let key = p.key(&rec.scope, generation + 1)?;
                    let row = s
                        .rows
                        .get_mut(&id)
                        .ok_or_else(|| Error::config("hub: lost row"))?;
                    row.generation = generation + 1;
                    row.log.key = key.to_string();
                    row.log.state = RecordState::Queued;
                    row.log.next_attempt_at = now;
                    row.retry_base = row.log.attempts;
                    row.log.last_error = None;
                    row.first_sent_at = None;
                    row.op = rec.op.clone();
                    row.prepared = p;
                    out.push(Enqueued::Requeued(id));
                }
                None => {
                    s.next_id += 1;
                    let id = s.next_id;
                    let key = p.key(&rec.scope, 1)?;
                    s.index
                        .insert((rec.scope.clone(), p.kind, p.external_ref.clone()), id);
                    s.rows.insert(
                        id,
                        Row {
                            log: RecordLog {
                                id,
                                scope: rec.scope.clone(),
                                kind: p.kind,
                                external_ref: p.external_ref.clone(),
                                state: RecordState::Queued,
                                attempts: 0,
                                key: key.to_string(),
                                next_attempt_at: now,
                                enqueued_at: now,
                                remote: None,
                                last_error: None,
                                history: Vec::new(),
                            },
                            op: rec.op.clone(),
                            prepared: p,
                            generation: 1,
                            retry_base: 0,
                            first_sent_at: None,
                            lease: None,
                        },
                    );
                    out.push(Enqueued::Queued(id));
                }
            }
        }
        Ok(out)
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Claimed>> {
        let now = Utc::now();
        let mut s = self.lock();
        let mut ready: Vec<(DateTime<Utc>, RecordId)> = s
            .rows
            .values()
            .filter(|r| r.log.scope == req.scope)
            .filter(|r| match r.log.state {
                RecordState::Queued => r.log.next_attempt_at <= now,
                RecordState::Claimed => r.lease.as_ref().is_some_and(|(_, until)| *until < now),
                _ => false,
            })
            .filter(|r| s.deps_done(r))
            .map(|r| (r.log.next_attempt_at, r.log.id))
            .collect();
        ready.sort();
        ready.truncate(req.max);
        let mut out = Vec::with_capacity(ready.len());
        for (_, id) in ready {
            let Some(row) = s.rows.get_mut(&id) else {
                continue;
            };
            if row.log.state == RecordState::Claimed {
                let worker = row
                    .lease
                    .as_ref()
                    .map(|(l, _)| l.worker.clone())
                    .unwrap_or_default();
                let attempt = row.log.attempts + 1;
                log_attempt(
                    row,
                    AttemptLog {
                        attempt,
                        started_at: now,
                        duration_ms: 0,
                        outcome: "lease_expired".into(),
                        error_kind: None,
                        message: Some(
                            "the worker's lease ran out; the send may have happened".into(),
                        ),
                        remote_id: None,
                        worker,
                    },
                );
            }
            row.log.state = RecordState::Claimed;
            row.lease = Some((req.lease.clone(), after(now, req.lease_for)));
            let first = *row.first_sent_at.get_or_insert(now);
            out.push(Claimed {
                id,
                scope: row.log.scope.clone(),
                kind: row.log.kind,
                external_ref: row.log.external_ref.clone(),
                op: row.op.clone(),
                key: IdempotencyKey::new(row.log.key.clone())?,
                attempts: row.log.attempts - row.retry_base,
                enqueued_at: row.log.enqueued_at,
                first_sent_at: first,
                dep_remotes: None,
            });
        }
        Ok(out)
    }

    async fn heartbeat(&self, lease: &Lease, ids: &[RecordId], extend: Duration) -> Result<()> {
        let now = Utc::now();
        let mut s = self.lock();
        let mut lost = Vec::new();
        for id in ids {
            match s.held(lease, *id) {
                Some(row) => row.lease = Some((lease.clone(), after(now, extend))),
                None => lost.push(*id),
            }
        }
        lost_lease(&lost)
    }

    async fn complete(&self, lease: &Lease, results: &[Completion]) -> Result<()> {
        let now = Utc::now();
        let mut s = self.lock();
        let mut lost = Vec::new();
        for c in results {
            let Some(row) = s.held(lease, c.id) else {
                lost.push(c.id);
                continue;
            };
            let (state, next, remote, error, outcome) = apply(&c.verdict, now);
            row.log.state = state;
            row.log.next_attempt_at = next;
            if remote.is_some() {
                row.log.remote = remote.clone();
            }
            row.log.last_error = error.clone();
            row.lease = None;
            if matches!(c.verdict, Verdict::Wait { .. }) {
                // A wait is logged as an attempt but does not use the retry budget.
                row.retry_base += 1;
            }
            let attempt = row.log.attempts + 1;
            log_attempt(
                row,
                AttemptLog {
                    attempt,
                    started_at: c.started_at,
                    duration_ms: u64::try_from(c.duration.as_millis()).unwrap_or(u64::MAX),
                    outcome: outcome.into(),
                    error_kind: error.as_ref().map(|e| e.kind),
                    message: error.map(|e| e.message),
                    remote_id: remote.map(|r| r.id),
                    worker: lease.worker.clone(),
                },
            );
        }
        lost_lease(&lost)
    }

    async fn release(&self, lease: &Lease, ids: &[RecordId], after_d: Duration) -> Result<()> {
        let now = Utc::now();
        let mut s = self.lock();
        for id in ids {
            if let Some(row) = s.held(lease, *id) {
                row.log.state = RecordState::Queued;
                row.log.next_attempt_at = after(now, after_d);
                row.lease = None;
            }
        }
        Ok(())
    }

    async fn remote_refs(
        &self,
        scope: &Scope,
        refs: &[(EntityKind, String)],
    ) -> Result<Vec<Option<RemoteRef>>> {
        let s = self.lock();
        Ok(refs
            .iter()
            .map(|(k, r)| {
                s.index
                    .get(&(scope.clone(), *k, r.clone()))
                    .and_then(|id| s.rows.get(id))
                    .filter(|row| row.log.state == RecordState::Done)
                    .and_then(|row| row.log.remote.clone())
            })
            .collect())
    }

    async fn requeue(&self, id: RecordId) -> Result<bool> {
        let now = Utc::now();
        let mut s = self.lock();
        let Some(row) = s.rows.get_mut(&id) else {
            return Ok(false);
        };
        if row.log.state != RecordState::Dead {
            return Ok(false);
        }
        if row
            .log
            .last_error
            .as_ref()
            .is_some_and(|e| is_verdict(e.kind))
        {
            row.generation += 1;
            row.log.key = row
                .prepared
                .key(&row.log.scope, row.generation)?
                .to_string();
            row.first_sent_at = None;
        }
        row.log.state = RecordState::Queued;
        row.log.next_attempt_at = now;
        // The history stays; the retry budget starts again.
        row.retry_base = row.log.attempts;
        Ok(true)
    }

    async fn record(&self, id: RecordId) -> Result<Option<RecordLog>> {
        Ok(self.lock().rows.get(&id).map(|r| r.log.clone()))
    }

    async fn find(
        &self,
        scope: &Scope,
        kind: EntityKind,
        external_ref: &str,
    ) -> Result<Option<RecordLog>> {
        let s = self.lock();
        Ok(s.index
            .get(&(scope.clone(), kind, external_ref.to_owned()))
            .and_then(|id| s.rows.get(id))
            .map(|r| r.log.clone()))
    }

    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordLog>> {
        let s = self.lock();
        Ok(s.rows
            .values()
            .filter(|r| filter.scope.as_ref().is_none_or(|sc| *sc == r.log.scope))
            .filter(|r| filter.state.is_none_or(|st| st == r.log.state))
            .take(filter.limit.map_or(usize::MAX, |l| l as usize))
            .map(|r| {
                let mut log = r.log.clone();
                log.history.clear();
                log
            })
            .collect())
    }

    async fn status(&self) -> Result<Vec<ScopeStatus>> {
        let s = self.lock();
        let mut by: BTreeMap<Scope, ScopeStatus> = BTreeMap::new();
        for r in s.rows.values() {
            let st = by
                .entry(r.log.scope.clone())
                .or_insert_with(|| ScopeStatus {
                    scope: r.log.scope.clone(),
                    queued: 0,
                    blocked: 0,
                    claimed: 0,
                    done: 0,
                    dead: 0,
                    oldest_pending: None,
                });
            match r.log.state {
                RecordState::Queued => {
                    st.queued += 1;
                    if !s.deps_done(r) {
                        st.blocked += 1;
                    }
                }
                RecordState::Claimed => st.claimed += 1,
                RecordState::Done => st.done += 1,
                RecordState::Dead => st.dead += 1,
            }
            if matches!(r.log.state, RecordState::Queued | RecordState::Claimed) {
                st.oldest_pending = Some(
                    st.oldest_pending
                        .map_or(r.log.enqueued_at, |o| o.min(r.log.enqueued_at)),
                );
            }
        }
        Ok(by.into_values().collect())
    }
}

/// Error kinds that are a provider verdict on the request: nothing was applied.
pub(crate) fn is_verdict(kind: crate::ErrorKind) -> bool {
    use crate::ErrorKind::*;
    matches!(
        kind,
        Validation | Duplicate | Conflict | NotFound | Unsupported | Auth | Config
    )
}

type Applied = (
    RecordState,
    DateTime<Utc>,
    Option<RemoteRef>,
    Option<AttemptError>,
    &'static str,
);

/// The new state of a record after `verdict`.
pub(crate) fn apply(verdict: &Verdict, now: DateTime<Utc>) -> Applied {
    match verdict {
        Verdict::Done(r) => (RecordState::Done, now, Some(r.clone()), None, "done"),
        Verdict::Reconciled(r) => (RecordState::Done, now, Some(r.clone()), None, "reconciled"),
        Verdict::Retry { after: d, error } => (
            RecordState::Queued,
            after(now, *d),
            None,
            Some(error.clone()),
            "retry",
        ),
        Verdict::Wait { after: d, error } => (
            RecordState::Queued,
            after(now, *d),
            None,
            Some(error.clone()),
            "wait",
        ),
        Verdict::Dead { error } => (RecordState::Dead, now, None, Some(error.clone()), "dead"),
    }
}

pub(crate) fn lost_lease(lost: &[RecordId]) -> Result<()> {
    if lost.is_empty() {
        Ok(())
    } else {
        Err(Error::conflict(format!(
            "hub: lease lost for records {lost:?}: another worker took them over after the lease expired; \
             their results were not written"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_delay_past_the_calendar_saturates_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + chrono::Duration::seconds(5)
        );
    }
}
