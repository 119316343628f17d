//! [`Hub`]: workers that drain a [`HubStore`] into registered adapters.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use tokio::task::JoinSet;

use super::metrics as m;
use super::op::{dependencies, is_upsert, resolve};
use super::store::HubStore;
use super::types::{
    AttemptError, ClaimRequest, Claimed, Completion, Enqueued, Lease, NewRecord, Scope,
    ScopeStatus, Verdict,
};
use crate::adapter::{BatchWrite, Capability, ConnectionLimits, ErpAdapter, WriteOp};
use crate::http::{RateLimitConfig, RateLimiter};
use crate::model::{EntityKind, RemoteRef};
use crate::{Error, ErrorKind, Result};

/// How a [`Hub`] runs. Defaults follow the seed product: batches of 10, 5 attempts, 5 s backoff base.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubConfig {
    /// Worker tasks (default 4).
    pub workers: usize,
    /// Records claimed per batch (default 10); provider requests carry at most `min(batch_size,
    /// adapter.max_batch())` of them.
    pub batch_size: usize,
    /// Attempts before a record is dead-lettered (default 5). Outcomes with a
    /// [`retry_hint`](Error::retry_hint) (an outside party asked for a later call) do not count: see
    /// [`max_wait`](Self::max_wait).
    pub max_attempts: u32,
    /// How long a record may keep answering "not yet, call again later" ([`Error::retry_later`],
    /// [`Error::uncertain_retry_later`]) before it is dead-lettered with its last state (default 96 h, above
    /// SAT's 72 h for a receptor to accept a cancellation). Measured from the record's first send
    /// ([`Claimed::first_sent_at`]), which a requeue keeps: a requeued record past it is polled once more and
    /// dead-lettered again if it is still waiting, unless this is raised.
    pub max_wait: Duration,
    /// Backoff base (default 5 s): the n-th retry waits a random time in `[0, base · 2ⁿ⁻¹]` (full jitter),
    /// capped at [`backoff_max`](Self::backoff_max); a `Retry-After` from the provider wins.
    pub backoff_base: Duration,
    /// Longest backoff (default 1 h).
    pub backoff_max: Duration,
    /// Lease length of a claim (default 60 s), renewed every [`heartbeat`](Self::heartbeat) while calls run.
    pub lease: Duration,
    /// Heartbeat period (default 10 s).
    pub heartbeat: Duration,
    /// How long an idle worker waits before polling again (default 200 ms).
    pub poll: Duration,
    /// How long providers are trusted to remember idempotency keys (default 24 h). An invoice, payment or
    /// credit note first sent longer ago is looked up by external reference before it is sent again.
    pub idempotency_window: Duration,
    /// Name prefix of this process's workers in leases and the log (default `hub-<pid>`).
    pub name: String,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            batch_size: 10,
            max_attempts: 5,
            max_wait: Duration::from_secs(96 * 3600),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_millis(200),
            idempotency_window: Duration::from_secs(24 * 3600),
            name: format!("hub-{}", std::process::id()),
        }
    }
}

impl HubConfig {
    /// Sets the number of workers (at least 1).
    #[must_use]
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
    /// Sets the batch size (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
    /// Sets the attempts before dead-lettering (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets how long a record may wait on an outside party ([`max_wait`](Self::max_wait)).
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
    /// Sets the backoff base and cap.
    #[must_use]
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max.max(base);
        self
    }
    /// Sets the lease length and heartbeat period (the heartbeat is kept below the lease).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration, heartbeat: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(10));
        self.heartbeat = heartbeat.min(self.lease / 2);
        self
    }
    /// Sets the idle poll period.
    #[must_use]
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
    /// Sets the idempotency window.
    #[must_use]
    pub fn with_idempotency_window(mut self, window: Duration) -> Self {
        self.idempotency_window = window;
        self
    }
    /// Sets the worker name prefix.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// One process's share of a connection's `limits` when `processes` hub processes serve it: requests per
/// minute, requests in flight, the daily cap and batch requests per minute each divided by `processes`
/// (rounded down, at least 1), so that together they stay within the provider's budget. Pass it to
/// [`Hub::register_with_limits`]. With one process (or 0) the limits are returned unchanged.
///
/// ```
/// use erp_hub_core::adapter::ConnectionLimits;
/// use erp_hub_core::hub::share_limits;
///
/// // QuickBooks: 500 requests/min and 10 in flight per realm, served by 4 worker processes.
/// let qb = ConnectionLimits::unlimited().with_requests_per_minute(500).with_max_concurrent(10);
/// let mine = share_limits(qb, 4);
/// assert_eq!((mine.requests_per_minute, mine.max_concurrent), (Some(125), Some(2)));
/// ```
pub fn share_limits(limits: ConnectionLimits, processes: u32) -> ConnectionLimits {
    let n = processes.max(1);
    let share = |v: Option<u32>| v.map(|v| (v / n).max(1));
    let mut out = limits;
    out.requests_per_minute = share(limits.requests_per_minute);
    out.max_concurrent = share(limits.max_concurrent);
    out.daily_cap = share(limits.daily_cap);
    out.batch_requests_per_minute = share(limits.batch_requests_per_minute);
    out
}

/// One registered connection: its adapter and the limiters built from its limits.
struct Connection {
    adapter: Arc<dyn ErpAdapter>,
    limiter: Option<Arc<RateLimiter>>,
    batch_limiter: Option<Arc<RateLimiter>>,
    daily_cap: Option<u32>,
    daily: Mutex<(NaiveDate, u32)>,
    max_batch: usize,
}

impl Connection {
    fn new(adapter: Arc<dyn ErpAdapter>, limits: ConnectionLimits) -> Self {
        let limiter = match (limits.requests_per_minute, limits.max_concurrent) {
            (None, None) => None,
            (rpm, conc) => {
                let (n, window) = match rpm {
                    Some(n) => (n, Duration::from_secs(60)),
                    None => (u32::MAX, Duration::from_secs(1)),
                };
                RateLimitConfig::new(n.max(1), window, conc.unwrap_or(u32::MAX >> 3).max(1))
                    .ok()
                    .map(|c| Arc::new(RateLimiter::new(c)))
            }
        };
        let batch_limiter = limits.batch_requests_per_minute.and_then(|n| {
            RateLimitConfig::new(n.max(1), Duration::from_secs(60), u32::MAX >> 3)
                .ok()
                .map(|c| Arc::new(RateLimiter::new(c)))
        });
        Self {
            max_batch: adapter.max_batch().max(1),
            adapter,
            limiter,
            batch_limiter,
            daily_cap: limits.daily_cap,
            daily: Mutex::new((Utc::now().date_naive(), 0)),
        }
    }

    /// Takes `n` requests from today's cap; `false` when the cap is reached.
    fn take_daily(&self, n: u32) -> bool {
        let Some(cap) = self.daily_cap else {
            return true;
        };
        let mut d = self.daily.lock().unwrap_or_else(PoisonError::into_inner);
        let today = Utc::now().date_naive();
        if d.0 != today {
            *d = (today, 0);
        }
        if d.1.saturating_add(n) > cap {
            return false;
        }
        d.1 += n;
        true
    }
}

struct Inner {
    store: Arc<dyn HubStore>,
    config: HubConfig,
    connections: RwLock<BTreeMap<Scope, Arc<Connection>>>,
    stop: AtomicBool,
    wake: tokio::sync::Notify,
    store_errors: AtomicUsize,
}

/// The sync hub: a durable queue ([`HubStore`]) drained by worker tasks into the adapters registered per
/// [`Scope`]. See the [module docs](super) for the protocol.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Running workers; [`shutdown`](Self::shutdown) stops them gracefully. Dropping it aborts them (claimed
/// records are then taken over when their lease expires).
#[derive(Debug)]
pub struct HubHandle {
    hub: Hub,
    workers: JoinSet<()>,
    /// The task publishing the status gauges every heartbeat.
    publisher: JoinSet<()>,
}

impl HubHandle {
    /// Stops taking new work, lets every worker finish (and record) the batch it is sending, releases what it
    /// claimed but did not send, waits for all workers, and publishes the status gauges a last time.
    pub async fn shutdown(mut self) {
        self.hub.inner.stop.store(true, Ordering::SeqCst);
        self.hub.inner.wake.notify_waiters();
        self.publisher.abort_all();
        while self.workers.join_next().await.is_some() {}
        while self.publisher.join_next().await.is_some() {}
        if let Err(e) = self.hub.publish_status().await {
            tracing::warn!(error = %e, "hub: publishing the status at shutdown failed");
        }
    }
}

impl Hub {
    /// A hub over `store`.
    pub fn new(store: Arc<dyn HubStore>, config: HubConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                connections: RwLock::new(BTreeMap::new()),
                stop: AtomicBool::new(false),
                wake: tokio::sync::Notify::new(),
                store_errors: AtomicUsize::new(0),
            }),
        }
    }

    /// Registers the adapter records of `scope` are written to (replacing an earlier one). Its
    /// [`limits`](ErpAdapter::limits) and [`max_batch`](ErpAdapter::max_batch) are read now.
    ///
    /// The limits are enforced by this hub only: N hub processes serving the same connection each use the
    /// full budget. Then register with [`register_with_limits`](Self::register_with_limits) and
    /// [`share_limits`]`(adapter.limits(), N)`.
    pub fn register(&self, scope: Scope, adapter: Arc<dyn ErpAdapter>) {
        let limits = adapter.limits();
        self.register_with_limits(scope, adapter, limits);
    }

    /// As [`register`](Self::register), enforcing `limits` instead of the adapter's (e.g. its share of them
    /// when several processes serve the connection: [`share_limits`]).
    pub fn register_with_limits(
        &self,
        scope: Scope,
        adapter: Arc<dyn ErpAdapter>,
        limits: ConnectionLimits,
    ) {
        self.inner
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(scope, Arc::new(Connection::new(adapter, limits)));
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn HubStore> {
        &self.inner.store
    }

    /// The store's fiscal journal ([`HubStore::stamp_journal`]): give it to the fiscal step so stamped
    /// documents are kept in the hub's database.
    pub fn stamp_journal(&self) -> Option<Arc<dyn crate::fiscal::StampJournal>> {
        self.inner.store.stamp_journal()
    }

    /// Enqueues writes for `scope` (all or none) and wakes idle workers.
    ///
    /// # Errors
    /// As [`HubStore::enqueue`].
    pub async fn enqueue(&self, scope: &Scope, ops: Vec<WriteOp>) -> Result<Vec<Enqueued>> {
        let records: Vec<NewRecord> = ops
            .into_iter()
            .map(|op| NewRecord::new(scope.clone(), op))
            .collect();
        let out = self.inner.store.enqueue(&records).await?;
        self.inner.wake.notify_waiters();
        Ok(out)
    }

    /// Store errors the workers met (and survived) since start.
    pub fn store_errors(&self) -> usize {
        self.inner.store_errors.load(Ordering::Relaxed)
    }

    /// Starts [`HubConfig::workers`] worker tasks on the current tokio runtime, and a task that publishes the
    /// status gauges (queue depth, dead letters, oldest pending age: [`publish_status`](Self::publish_status))
    /// every [`HubConfig::heartbeat`] while they run.
    pub fn start(&self) -> HubHandle {
        self.inner.stop.store(false, Ordering::SeqCst);
        let mut workers = JoinSet::new();
        for i in 0..self.inner.config.workers.max(1) {
            let inner = Arc::clone(&self.inner);
            workers.spawn(async move { worker(inner, i).await });
        }
        let mut publisher = JoinSet::new();
        let inner = Arc::clone(&self.inner);
        publisher.spawn(async move { publish_periodically(inner).await });
        HubHandle {
            hub: self.clone(),
            workers,
            publisher,
        }
    }

    /// Runs the workers until the queue is settled — every record done or dead, or waiting on a dead
    /// dependency — then shuts them down. Records scheduled for a retry are waited for.
    ///
    /// # Errors
    /// The store's errors while reading the status.
    pub async fn run_until_settled(&self) -> Result<Vec<ScopeStatus>> {
        let handle = self.start();
        let result = loop {
            tokio::time::sleep(self.inner.config.poll.max(Duration::from_millis(20))).await;
            match self.inner.store.status().await {
                Ok(status) => {
                    publish_status(&status);
                    if status
                        .iter()
                        .all(|s| s.claimed == 0 && s.queued == s.blocked)
                    {
                        break Ok(status);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Transient => continue,
                Err(e) => break Err(e),
            }
        };
        handle.shutdown().await;
        result
    }

    /// Reads the status from the store and publishes it as gauges (queue depth, dead letters, oldest pending
    /// age per scope).
    ///
    /// # Errors
    /// The store's.
    pub async fn publish_status(&self) -> Result<Vec<ScopeStatus>> {
        let status = self.inner.store.status().await?;
        publish_status(&status);
        Ok(status)
    }
}

/// Publishes the status gauges every heartbeat until the hub stops (a store error is counted and skipped).
async fn publish_periodically(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(inner.config.heartbeat.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !inner.stop.load(Ordering::SeqCst) {
        tick.tick().await;
        match inner.store.status().await {
            Ok(status) => publish_status(&status),
            Err(e) => {
                inner.store_errors.fetch_add(1, Ordering::Relaxed);
                m::store_error(&e);
            }
        }
    }
}

fn publish_status(status: &[ScopeStatus]) {
    let now = Utc::now();
    for s in status {
        m::queue(s, now);
    }
}

/// A batch a worker claimed and has not sent yet.
struct Batch {
    scope: Scope,
    lease: Lease,
    claimed: Vec<Claimed>,
}

/// The scopes registered now, in order.
fn scopes(inner: &Inner) -> Vec<(Scope, Arc<Connection>)> {
    inner
        .connections
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(s, c)| (s.clone(), Arc::clone(c)))
        .collect()
}

fn claim_request(inner: &Inner, worker: &str, scope: &Scope) -> ClaimRequest {
    ClaimRequest::new(
        scope.clone(),
        Lease::new(worker),
        inner.config.batch_size,
        inner.config.lease,
    )
}

fn store_error(inner: &Inner, worker: &str, scope: &Scope, e: &Error) {
    inner.store_errors.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(worker = %worker, scope = %scope, error = %e, "hub store error");
    m::store_error(e);
}

/// A worker visits the scopes in turn, one batch each. The batch of the next scope is claimed with the
/// completion of the last one ([`HubStore::complete_and_claim`]: one commit per batch where the store allows
/// it); a scope that has nothing ready is skipped, and when every scope in a row had nothing the worker waits
/// for an enqueue or the poll period.
async fn worker(inner: Arc<Inner>, index: usize) {
    let name = format!("{}-w{index}", inner.config.name);
    let mut pos = index;
    // Scopes found with nothing ready in a row.
    let mut idle = 0_usize;
    // Claimed with the last completion, for the scope at `pos`.
    let mut next: Option<Batch> = None;
    while !inner.stop.load(Ordering::SeqCst) {
        let scopes = scopes(&inner);
        if scopes.is_empty() {
            let _ = tokio::time::timeout(inner.config.poll, inner.wake.notified()).await;
            continue;
        }
        let n = scopes.len();
        let batch = match next.take() {
            Some(b) => b,
            None => {
                let scope = &scopes[pos % n].0;
                let req = claim_request(&inner, &name, scope);
                match inner.store.claim(&req).await {
                    Ok(claimed) => Batch {
                        scope: req.scope,
                        lease: req.lease,
                        claimed,
                    },
                    Err(e) => {
                        store_error(&inner, &name, scope, &e);
                        pos = pos.wrapping_add(1);
                        tokio::time::sleep(inner.config.poll).await;
                        continue;
                    }
                }
            }
        };
        pos = pos.wrapping_add(1);
        let following = &scopes[pos % n].0;
        // The scope's adapter (the batch was claimed for a scope registered then; registrations are only added
        // or replaced).
        let conn = scopes
            .iter()
            .find(|(s, _)| *s == batch.scope)
            .map(|(_, c)| Arc::clone(c));
        if batch.claimed.is_empty() {
            idle += 1;
        } else if let Some(conn) = conn {
            idle = 0;
            let scope = batch.scope.clone();
            match run_batch(&inner, &name, batch, &conn, following).await {
                Ok(Some(b)) if b.claimed.is_empty() => {
                    // The following scope had nothing ready: skip it.
                    pos = pos.wrapping_add(1);
                    idle = 1;
                }
                Ok(b) => next = b,
                Err(e) => {
                    store_error(&inner, &name, &scope, &e);
                    tokio::time::sleep(inner.config.poll).await;
                }
            }
        } else {
            // Not reachable while registrations are only added; give the records back rather than hold them.
            if let Err(e) = release(&inner, &batch, Duration::ZERO).await {
                store_error(&inner, &name, &batch.scope, &e);
            }
        }
        if idle >= n && !inner.stop.load(Ordering::SeqCst) {
            idle = 0;
            let _ = tokio::time::timeout(inner.config.poll, inner.wake.notified()).await;
        }
    }
    // Stopping: give back what was claimed with the last completion and not sent.
    if let Some(b) = next
        && let Err(e) = release(&inner, &b, Duration::ZERO).await
    {
        store_error(&inner, &name, &b.scope, &e);
    }
}

async fn release(inner: &Inner, batch: &Batch, after: Duration) -> Result<()> {
    let ids: Vec<i64> = batch.claimed.iter().map(|c| c.id).collect();
    inner.store.release(&batch.lease, &ids, after).await
}

/// Sends one claimed batch and records its results; unless the hub is stopping, claims the next batch, of
/// `following`, with the completion, and returns it.
async fn run_batch(
    inner: &Inner,
    worker: &str,
    batch: Batch,
    conn: &Arc<Connection>,
    following: &Scope,
) -> Result<Option<Batch>> {
    let cfg = &inner.config;
    let Batch {
        scope,
        lease,
        claimed,
    } = batch;
    let scope = &scope;
    let n = claimed.len();
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    if inner.stop.load(Ordering::SeqCst) {
        inner.store.release(&lease, &ids, Duration::ZERO).await?;
        return Ok(None);
    }
    let requests = n.div_ceil(conn.max_batch);
    if !conn.take_daily(u32::try_from(requests).unwrap_or(u32::MAX)) {
        let now = Utc::now();
        let midnight = (now.date_naive() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        let wait = midnight
            .and_then(|m| (m - now).to_std().ok())
            .unwrap_or(Duration::from_secs(3600));
        tracing::info!(scope = %scope, "daily request cap reached; records wait for the next UTC day");
        inner.store.release(&lease, &ids, wait).await?;
        return Ok(None);
    }

    let mut completions = Vec::with_capacity(n);
    let mut to_send = Vec::with_capacity(n);
    // Reconcile documents whose key the provider may have forgotten.
    for c in claimed {
        let waited = (Utc::now() - c.first_sent_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        if c.attempts > 0 && waited > cfg.idempotency_window && !is_upsert(&c.op) {
            let started = Utc::now();
            let t = Instant::now();
            let verdict = match reconcile(conn.adapter.as_ref(), c.kind, &c.external_ref).await {
                Ok(Some(remote)) => {
                    match conn.adapter.finish_reconciled(&c.op, &c.key, remote).await {
                        Ok(remote) => Verdict::Reconciled(remote),
                        Err(e) => applied_or_unknown(
                            cfg,
                            c.attempts,
                            waited,
                            &e,
                            "found applied at the provider by external reference, but not finished",
                        ),
                    }
                }
                Ok(None) => {
                    to_send.push(c);
                    continue;
                }
                Err(e) => applied_or_unknown(
                    cfg,
                    c.attempts,
                    waited,
                    &e,
                    "not re-sent: the key may have expired at the provider and the lookup by external \
                     reference failed",
                ),
            };
            completions.push(Completion::new(c.id, started, t.elapsed(), verdict));
        } else {
            to_send.push(c);
        }
    }

    // Fill in remote ids of done dependencies: read with the claim when the store did (PostgreSQL), else
    // asked for.
    let known: BTreeMap<(EntityKind, String), RemoteRef> =
        if to_send.iter().all(|c| c.dep_remotes.is_some()) {
            to_send
                .iter_mut()
                .flat_map(|c| c.dep_remotes.take().unwrap_or_default())
                .collect()
        } else {
            remotes_of(inner, scope, &to_send).await?
        };
    let mut chunks: JoinSet<Vec<Completion>> = JoinSet::new();
    for chunk in to_send.chunks(conn.max_batch) {
        let mut writes = Vec::with_capacity(chunk.len());
        for c in chunk {
            let mut op = c.op.clone();
            resolve(&mut op, &|k, r| known.get(&(k, r.to_owned())).cloned());
            writes.push(BatchWrite::new(op, c.key.clone()));
        }
        let meta: Vec<Meta> = chunk
            .iter()
            .map(|c| Meta {
                id: c.id,
                attempts: c.attempts,
                first_sent_at: c.first_sent_at,
            })
            .collect();
        let conn = Arc::clone(conn);
        let cfg = cfg.clone();
        chunks.spawn(async move { send_chunk(&conn, &cfg, writes, meta).await });
    }
    // Wait for the calls, renewing the lease meanwhile.
    let mut beat = tokio::time::interval(cfg.heartbeat.max(Duration::from_millis(1)));
    beat.tick().await;
    loop {
        tokio::select! {
            done = chunks.join_next() => match done {
                Some(Ok(c)) => completions.extend(c),
                Some(Err(e)) => tracing::error!(error = %e, "hub: a send task failed; its records retry after the lease"),
                None => break,
            },
            _ = beat.tick() => {
                if let Err(e) = inner.store.heartbeat(&lease, &ids, cfg.lease).await {
                    tracing::warn!(error = %e, "hub: heartbeat failed");
                }
            }
        }
    }
    for c in &completions {
        m::completion(conn.adapter.provider(), scope, &c.verdict);
    }
    let lease_lost = |e: &Error| {
        m::lease_lost();
        tracing::warn!(error = %e, "hub: lease lost; another worker's result stands");
    };
    if inner.stop.load(Ordering::SeqCst) {
        match inner.store.complete(&lease, &completions).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Conflict => lease_lost(&e),
            Err(e) => return Err(e),
        }
        return Ok(None);
    }
    let req = claim_request(inner, worker, following);
    let (completed, claimed) = inner
        .store
        .complete_and_claim(&lease, &completions, &req)
        .await?;
    let next = Batch {
        scope: req.scope,
        lease: req.lease,
        claimed,
    };
    match completed {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::Conflict => lease_lost(&e),
        Err(e) => {
            // Not a completion outcome the trait allows; give the new claim back and report the error.
            release(inner, &next, Duration::ZERO).await?;
            return Err(e);
        }
    }
    Ok(Some(next))
}

/// The remotes of the done dependencies of `claimed`, asked of the store.
async fn remotes_of(
    inner: &Inner,
    scope: &Scope,
    claimed: &[Claimed],
) -> Result<BTreeMap<(EntityKind, String), RemoteRef>> {
    let deps: Vec<(EntityKind, String)> = {
        let mut d: Vec<_> = claimed.iter().flat_map(|c| dependencies(&c.op)).collect();
        d.sort();
        d.dedup();
        d
    };
    let remotes = if deps.is_empty() {
        Vec::new()
    } else {
        inner.store.remote_refs(scope, &deps).await?
    };
    Ok(deps
        .into_iter()
        .zip(remotes)
        .filter_map(|(k, r)| r.map(|r| (k, r)))
        .collect())
}

/// What [`send_chunk`] needs of a claimed record besides its write.
struct Meta {
    id: i64,
    attempts: u32,
    first_sent_at: chrono::DateTime<Utc>,
}

async fn send_chunk(
    conn: &Connection,
    cfg: &HubConfig,
    writes: Vec<BatchWrite>,
    meta: Vec<Meta>,
) -> Vec<Completion> {
    let provider = conn.adapter.provider();
    // Metrics are per record, under each record's own operation (a batch mixes them).
    let operations: Vec<&'static str> = writes.iter().map(|w| operation_name(&w.op)).collect();
    let _permit = match &conn.limiter {
        Some(l) => l.acquire().await.ok(),
        None => None,
    };
    if writes.len() > 1
        && let Some(b) = &conn.batch_limiter
    {
        let _ = b.acquire().await;
    }
    let started = Utc::now();
    let t = Instant::now();
    let results = conn.adapter.write_batch(&writes).await;
    let took = t.elapsed();
    let mut out = Vec::with_capacity(meta.len());
    for (i, r) in meta.into_iter().enumerate() {
        let operation = operations.get(i).copied().unwrap_or("unknown");
        // One sample per record: the duration of the call that carried it.
        m::latency(provider, operation, took);
        let waited = (Utc::now() - r.first_sent_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let verdict = match results.get(i) {
            Some(Ok(remote)) => Verdict::Done(remote.clone()),
            Some(Err(e)) => {
                m::error(provider, operation, e.kind());
                if let (Some(l), Some(d)) = (&conn.limiter, e.retry_after()) {
                    l.pause_for(d);
                }
                decide(cfg, r.attempts, waited, e)
            }
            None => {
                let e = Error::uncertain("adapter returned fewer batch results than writes");
                m::error(provider, operation, e.kind());
                retry_or_dead(cfg, r.attempts, &e)
            }
        };
        out.push(Completion::new(r.id, started, took, verdict));
    }
    out
}

fn operation_name(op: &WriteOp) -> &'static str {
    match op {
        WriteOp::UpsertCustomer(_) => "upsert_customer",
        WriteOp::UpsertItem(_) => "upsert_item",
        WriteOp::CreateInvoice(_) => "create_invoice",
        WriteOp::VoidInvoice(_) => "void_invoice",
        WriteOp::RecordPayment(_) => "record_payment",
        WriteOp::CreateCreditNote(_) => "create_credit_note",
        WriteOp::AnswerReceived(_) => "answer_received",
    }
}

/// The verdict for an adapter error on attempt `attempts + 1` (of the retry budget) of a key first sent
/// `waited` ago.
fn decide(cfg: &HubConfig, attempts: u32, waited: Duration, e: &Error) -> Verdict {
    // Only transient and uncertain errors carry a hint.
    if let Some(after) = e.retry_hint() {
        return wait_or_dead(cfg, waited, after, e);
    }
    match e.kind() {
        // The provider's verdict: per the adapter contract, nothing of this key was applied.
        ErrorKind::Validation
        | ErrorKind::Duplicate
        | ErrorKind::Conflict
        | ErrorKind::NotFound
        | ErrorKind::Unsupported => Verdict::Dead {
            error: AttemptError::of(e),
        },
        // Raised before the provider's idempotency check: on the first send nothing was applied; after
        // earlier sends of the key one of them may have been, so keep the key and retry.
        ErrorKind::Auth | ErrorKind::Config if attempts == 0 => Verdict::Dead {
            error: AttemptError::of(e),
        },
        _ => retry_or_dead(cfg, attempts, e),
    }
}

/// The verdict when the lookup before a re-send failed (`what`: "not re-sent: …"), or when a write that
/// reconciliation found applied could not be finished
/// ([`ErpAdapter::finish_reconciled`](crate::ErpAdapter::finish_reconciled), e.g. its fiscal stamp). The record
/// may have been (or was) applied, so this is never a provider verdict: waits wait, retriable errors retry (the
/// next attempt looks it up again), anything else (e.g. an adapter without a change feed) dead-letters the
/// record as [`ErrorKind::Uncertain`], so [`HubStore::requeue`] keeps its key (a new key could create a second
/// record).
fn applied_or_unknown(
    cfg: &HubConfig,
    attempts: u32,
    waited: Duration,
    e: &Error,
    what: &str,
) -> Verdict {
    if let Some(after) = e.retry_hint() {
        return wait_or_dead(cfg, waited, after, e);
    }
    if e.is_retriable() {
        return retry_or_dead(cfg, attempts, e);
    }
    Verdict::Dead {
        error: AttemptError {
            kind: ErrorKind::Uncertain,
            message: format!("{what}: {e}"),
        },
    }
}

/// Retry with backoff (Retry-After wins), or dead letter when the attempts are used up.
fn retry_or_dead(cfg: &HubConfig, attempts: u32, e: &Error) -> Verdict {
    let error = AttemptError::of(e);
    if attempts + 1 >= cfg.max_attempts {
        return Verdict::Dead { error };
    }
    let after = e
        .retry_after()
        .unwrap_or_else(|| backoff(cfg.backoff_base, cfg.backoff_max, attempts + 1));
    Verdict::Retry { after, error }
}

/// An outside party asked for a call after `after`: wait (outside the attempt budget), or dead letter with the
/// last state once the record has waited [`HubConfig::max_wait`].
fn wait_or_dead(cfg: &HubConfig, waited: Duration, after: Duration, e: &Error) -> Verdict {
    if waited >= cfg.max_wait {
        return Verdict::Dead {
            error: AttemptError {
                kind: e.kind(),
                message: format!(
                    "gave up waiting after {} s (HubConfig::max_wait {} s): {e}",
                    waited.as_secs(),
                    cfg.max_wait.as_secs()
                ),
            },
        };
    }
    Verdict::Wait {
        after,
        error: AttemptError::of(e),
    }
}

/// Full jitter: a random delay in `[0, min(max, base · 2^(n-1))]`.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let cap = base
        .saturating_mul(1_u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
        .min(max);
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random_range(0..=cap_ms))
}

/// Looks up the record of `kind` with our `external_ref` at the provider by scanning its change feed.
///
/// Needs [`Capability::ChangedSince`] and a feed that carries external references; the whole feed is read, so
/// this is only for the rare record pending longer than the idempotency window.
///
/// # Errors
/// [`Error::Unsupported`] when the adapter has no change feed (an operator must check the record); the
/// adapter's errors.
pub async fn reconcile(
    adapter: &dyn ErpAdapter,
    kind: EntityKind,
    external_ref: &str,
) -> Result<Option<RemoteRef>> {
    if !adapter.capabilities().contains(Capability::ChangedSince) {
        return Err(Error::unsupported(format!(
            "reconciling {kind} `{external_ref}`: the adapter has no change feed; check the provider and \
             requeue or resolve the record by hand"
        )));
    }
    let mut cursor = None;
    let mut found = None;
    loop {
        let page = adapter.list_changed_since(&[kind], cursor.as_ref()).await?;
        for c in &page.changes {
            if c.external_ref.as_deref() == Some(external_ref) && !c.deleted {
                found = Some(c.remote.clone());
            }
        }
        if !page.has_more || page.changes.is_empty() {
            return Ok(found);
        }
        cursor = Some(page.next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(v: &Verdict) -> Option<Duration> {
        match v {
            Verdict::Retry { after, .. } => Some(*after),
            _ => None,
        }
    }

    #[test]
    fn defaults_follow_the_seed_product() {
        let c = HubConfig::default();
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.backoff_base, Duration::from_secs(5));
        assert_eq!(c.batch_size, 10);
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        let cfg = HubConfig::default();
        for attempts in 0..4 {
            let v = decide(
                &cfg,
                attempts,
                Duration::ZERO,
                &Error::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                },
            );
            assert_eq!(retry_after(&v), Some(Duration::from_secs(7)), "{v:?}");
        }
        // Without Retry-After: the backoff of the attempt.
        let v = decide(
            &cfg,
            0,
            Duration::ZERO,
            &Error::RateLimited { retry_after: None },
        );
        assert!(
            retry_after(&v).is_some_and(|d| d <= cfg.backoff_base),
            "{v:?}"
        );
    }

    #[test]
    fn backoff_is_full_jitter_under_the_capped_exponential() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(3_000);
        for n in 1..=40 {
            let cap = base.saturating_mul(2_u32.saturating_pow(n - 1)).min(max);
            let mut highest = Duration::ZERO;
            for _ in 0..300 {
                let d = backoff(base, max, n);
                assert!(d <= cap, "n={n}: {d:?} > {cap:?}");
                highest = highest.max(d);
            }
            // Full jitter reaches the upper half of the range (fails with probability 2^-300).
            assert!(
                highest > cap / 2,
                "n={n}: highest {highest:?} of cap {cap:?}"
            );
        }
        assert_eq!(backoff(Duration::ZERO, max, 3), Duration::ZERO);
    }

    #[test]
    fn the_fifth_failure_dead_letters() {
        let cfg = HubConfig::default();
        let e = Error::transient("503 Service Unavailable");
        for attempts in 0..4 {
            assert!(
                matches!(
                    decide(&cfg, attempts, Duration::ZERO, &e),
                    Verdict::Retry { .. }
                ),
                "failure {}",
                attempts + 1
            );
        }
        assert!(matches!(
            decide(&cfg, 4, Duration::ZERO, &e),
            Verdict::Dead { .. }
        ));
        let u = Error::uncertain("read timed out");
        assert!(matches!(
            decide(&cfg, 3, Duration::ZERO, &u),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            decide(&cfg, 4, Duration::ZERO, &u),
            Verdict::Dead { .. }
        ));
        // A verdict dead-letters at once.
        assert!(matches!(
            decide(&cfg, 0, Duration::ZERO, &Error::invalid("name", "bad")),
            Verdict::Dead { .. }
        ));
    }

    #[test]
    fn hinted_waits_skip_the_budget_until_max_wait() {
        let cfg = HubConfig::default();
        assert_eq!(cfg.max_wait, Duration::from_secs(96 * 3600));
        let hint = Duration::from_secs(600);
        let hour = Duration::from_secs(3600);
        for e in [
            Error::retry_later("cancellation awaiting the receptor", hint),
            Error::uncertain_retry_later("held by the authority", hint),
        ] {
            // Past the attempt budget, within max_wait: wait for the hint.
            for attempts in [0, 4, 50] {
                let v = decide(&cfg, attempts, 95 * hour, &e);
                assert!(
                    matches!(&v, Verdict::Wait { after, .. } if *after == hint),
                    "{v:?}"
                );
            }
            // At max_wait: dead, with the last state, kind kept (so a requeue keeps the key).
            let v = decide(&cfg, 0, 96 * hour, &e);
            let Verdict::Dead { error } = v else {
                panic!("{v:?}")
            };
            assert_eq!(error.kind, e.kind());
            assert!(error.message.contains(&e.to_string()), "{error:?}");
        }
        // A hint survives replication (the elements of a batch).
        let e = Error::uncertain_retry_later("held", hint).replicate();
        assert_eq!(
            (e.kind(), e.retry_hint()),
            (ErrorKind::Uncertain, Some(hint))
        );
        assert_eq!(Error::uncertain("x").retry_hint(), None);
    }

    #[test]
    fn shared_limits_divide_every_limit() {
        let xero = ConnectionLimits::unlimited()
            .with_requests_per_minute(60)
            .with_max_concurrent(5)
            .with_daily_cap(5_000)
            .with_batch_requests_per_minute(120);
        let l = share_limits(xero, 4);
        assert_eq!(
            (
                l.requests_per_minute,
                l.max_concurrent,
                l.daily_cap,
                l.batch_requests_per_minute
            ),
            (Some(15), Some(1), Some(1_250), Some(30))
        );
        assert_eq!(share_limits(xero, 1), xero);
        assert_eq!(share_limits(xero, 0), xero);
        assert_eq!(share_limits(xero, 100).max_concurrent, Some(1));
        assert_eq!(
            share_limits(ConnectionLimits::unlimited(), 3),
            ConnectionLimits::unlimited()
        );
        // The hub enforces the limits it was given, not the adapter's.
        let conn = Connection::new(
            Arc::new(crate::testing::MemoryErp::new()),
            share_limits(xero, 4),
        );
        assert_eq!(conn.daily_cap, Some(1_250));
        assert!(conn.take_daily(1_250));
        assert!(!conn.take_daily(1));
    }
}
