//! The sync hub on every store (memory, SQLite, PostgreSQL): exactly-once delivery through faults, per-record
//! dependencies, retries as a schedule, dead letters and requeue, leases and fencing, the sync log.
//!
//! PostgreSQL tests need `DATABASE_URL`: run them through `scripts/with-postgres.sh`.

mod hub_common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use erp_hub_core::adapter::{
    Capabilities, Capability, ChangeCursor, ChangePage, CompanyInfo, ErpAdapter, IdempotencyKey,
    RemoteRecord, WriteOp,
};
use erp_hub_core::hub::{
    ClaimRequest, Completion, Enqueued, Hub, HubConfig, HubStore, Lease, NewRecord, RecordFilter,
    RecordId, RecordState, Scope, Verdict,
};
use erp_hub_core::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, ErrorKind, Result};
use hub_common::*;

fn fast() -> HubConfig {
    HubConfig::default()
        .with_workers(4)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(40))
        .with_poll(Duration::from_millis(10))
        .with_max_attempts(30)
}

/// Every record in every scope is done, MemoryErp holds exactly one record per external reference, and the
/// log has one history entry per attempt.
async fn check_exactly_once(
    store: &Arc<dyn HubStore>,
    erps: &[(Scope, Arc<MemoryErp>)],
    families: usize,
) {
    for (scope, erp) in erps {
        for kind in [
            EntityKind::Customer,
            EntityKind::Invoice,
            EntityKind::Payment,
            EntityKind::CreditNote,
        ] {
            assert_eq!(
                erp.count(kind),
                families,
                "{scope}: {kind} count in MemoryErp"
            );
        }
        let records = store
            .records(&RecordFilter::all().with_scope(scope.clone()))
            .await
            .expect("records");
        assert_eq!(records.len(), families * 4);
        for r in records {
            assert_eq!(
                r.state,
                RecordState::Done,
                "{} {} {:?}",
                r.kind,
                r.external_ref,
                r.last_error
            );
            let full = store.record(r.id).await.expect("record").expect("exists");
            assert_eq!(
                full.history.len() as u32,
                full.attempts,
                "one log entry per attempt"
            );
            assert_eq!(
                full.history.last().map(|h| h.outcome.as_str()),
                Some("done")
            );
            assert!(full.remote.is_some());
        }
    }
}

async fn faults_exactly_once(store: Arc<dyn HubStore>) {
    let hub = Hub::new(Arc::clone(&store), fast());
    let mut erps = Vec::new();
    for t in ["acme", "beta"] {
        let scope = Scope::new(t, "memory:1");
        let erp = Arc::new(MemoryErp::new());
        hub.register(scope.clone(), erp.clone());
        let mut ops = Vec::new();
        for n in 0..6 {
            ops.extend(family(n));
        }
        hub.enqueue(&scope, ops).await.expect("enqueue");
        // Faults interleaved: applied-then-lost responses, 5xx, rate limits with Retry-After.
        for i in 0..12 {
            match i % 3 {
                0 => erp.inject(1, Fault::ApplyThenTimeout),
                1 => erp.fail_next(1, || Error::transient("503 Service Unavailable")),
                _ => erp.fail_next(1, || Error::RateLimited {
                    retry_after: Some(Duration::from_millis(20)),
                }),
            }
        }
        erps.push((scope, erp));
    }
    let status = hub.run_until_settled().await.expect("run");
    assert!(
        status.iter().all(|s| s.done == 24 && s.dead == 0),
        "{status:?}"
    );
    check_exactly_once(&store, &erps, 6).await;
}

async fn dead_letter_blocks_dependents_and_requeue(store: Arc<dyn HubStore>) {
    let hub = Hub::new(Arc::clone(&store), fast().with_max_attempts(3));
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(scope.clone(), erp.clone());
    // A verdict on the customer: dead at once, invoice/payment/credit note wait for it.
    erp.fail_next(1, || {
        Error::invalid("legal_name", "rejected by the provider")
    });
    hub.enqueue(&scope, family(1)).await.expect("enqueue");
    let status = hub.run_until_settled().await.expect("run");
    assert_eq!(
        (status[0].dead, status[0].blocked, status[0].done),
        (1, 3, 0),
        "{status:?}"
    );
    let cust = store
        .find(&scope, EntityKind::Customer, "c-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cust.state, RecordState::Dead);
    assert_eq!(
        cust.last_error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Validation)
    );
    assert_eq!(cust.history.len(), 1);
    assert_eq!(
        erp.count(EntityKind::Invoice),
        0,
        "dependents were not sent"
    );
    // After a verdict the requeue gets a new key (nothing was applied).
    let old_key = cust.key.clone();
    assert!(store.requeue(cust.id).await.unwrap());
    assert!(
        !store.requeue(cust.id).await.unwrap(),
        "only dead letters requeue"
    );
    let after = store.record(cust.id).await.unwrap().unwrap();
    assert_ne!(after.key, old_key);
    let status = hub.run_until_settled().await.expect("run");
    assert_eq!((status[0].done, status[0].dead), (4, 0), "{status:?}");
    assert_eq!(erp.count(EntityKind::CreditNote), 1);

    // Out of attempts: dead with its history, and a requeue keeps the key (the last send may have applied).
    let s2 = Scope::new("beta", "memory:1");
    let erp2 = Arc::new(MemoryErp::new());
    hub.register(s2.clone(), erp2.clone());
    erp2.fail_next(3, || Error::uncertain("read timed out"));
    hub.enqueue(
        &s2,
        vec![WriteOp::UpsertCustomer(Customer::new("c-9", "Nueve SA"))],
    )
    .await
    .unwrap();
    hub.run_until_settled().await.expect("run");
    let c9 = store
        .find(&s2, EntityKind::Customer, "c-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c9.state, RecordState::Dead);
    assert_eq!(c9.attempts, 3);
    assert!(
        c9.history
            .iter()
            .all(|h| h.outcome == "retry" || h.outcome == "dead")
    );
    assert_eq!(c9.history.len(), 3);
    assert!(store.requeue(c9.id).await.unwrap());
    assert_eq!(store.record(c9.id).await.unwrap().unwrap().key, c9.key);
    hub.run_until_settled().await.expect("run");
    let c9 = store
        .find(&s2, EntityKind::Customer, "c-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c9.state, RecordState::Done);
    assert_eq!(c9.history.len(), 4);
    assert_eq!(
        erp2.count(EntityKind::Customer),
        1,
        "the replay created nothing new"
    );
}

/// Record `id` was sent by worker-a, whose lease ran out, and completed by worker-b as `C-b`.
async fn assert_taken_over(store: &Arc<dyn HubStore>, id: RecordId) {
    let rec = store.record(id).await.unwrap().unwrap();
    assert_eq!(rec.state, RecordState::Done);
    assert_eq!(rec.remote.as_ref().map(|r| r.id.as_str()), Some("C-b"));
    let outcomes: Vec<_> = rec
        .history
        .iter()
        .map(|h| (h.outcome.as_str(), h.worker.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [("lease_expired", "worker-a"), ("done", "worker-b")]
    );
}

async fn lease_stolen_is_fenced(store: Arc<dyn HubStore>) {
    let scope = Scope::new("acme", "memory:1");
    store
        .enqueue(&[NewRecord::new(
            scope.clone(),
            WriteOp::UpsertCustomer(Customer::new("c-1", "Uno SA")),
        )])
        .await
        .unwrap();
    let a = Lease::new("worker-a");
    let got = store
        .claim(&ClaimRequest::new(
            scope.clone(),
            a.clone(),
            10,
            Duration::from_millis(600),
        ))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let key_a = got[0].key.clone();
    // Held: nobody else can claim it.
    let b = Lease::new("worker-b");
    let none = store
        .claim(&ClaimRequest::new(
            scope.clone(),
            b.clone(),
            10,
            Duration::from_secs(60),
        ))
        .await
        .unwrap();
    assert!(none.is_empty(), "a held lease is not claimable");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got_b = store
        .claim(&ClaimRequest::new(
            scope.clone(),
            b.clone(),
            10,
            Duration::from_secs(60),
        ))
        .await
        .unwrap();
    assert_eq!(got_b.len(), 1, "an expired lease is claimable again");
    assert_eq!(got_b[0].key, key_a, "the key survives the takeover");
    assert_eq!(got_b[0].attempts, 1, "the lost attempt counts");
    let id = got_b[0].id;
    // Worker A wakes up while B holds the record: the lease token (not only the state) fences it off.
    let early = store
        .complete(
            &a,
            &[Completion::new(
                id,
                chrono::Utc::now(),
                Duration::from_millis(1),
                Verdict::Done(RemoteRef::new("memory", "C-a")),
            )],
        )
        .await
        .unwrap_err();
    assert_eq!(early.kind(), ErrorKind::Conflict, "{early}");
    let held = store.record(id).await.unwrap().unwrap();
    assert_eq!(held.state, RecordState::Claimed, "B still holds it");
    assert_eq!(held.remote, None, "A's result was not written");
    let remote_b = RemoteRef::new("memory", "C-b");
    store
        .complete(
            &b,
            &[Completion::new(
                id,
                chrono::Utc::now(),
                Duration::from_millis(1),
                Verdict::Done(remote_b.clone()),
            )],
        )
        .await
        .unwrap();
    // Worker A wakes up late: its completion is refused and does not overwrite B's result.
    let late = store
        .complete(
            &a,
            &[Completion::new(
                id,
                chrono::Utc::now(),
                Duration::from_millis(1),
                Verdict::Done(RemoteRef::new("memory", "C-a")),
            )],
        )
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict, "{late}");
    assert!(late.to_string().contains("lease lost"), "{late}");
    let err = store
        .heartbeat(&a, &[id], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_taken_over(&store, id).await;
}

/// `complete_and_claim` (one transaction per batch on SQLite and PostgreSQL): the completion is fenced by the
/// lease token exactly like `complete` (a stolen lease writes nothing and the claim still goes ahead), the
/// claim follows `claim`'s rules, and a record whose own lease ran out while it was being sent (nobody took it)
/// is completed, not claimed again by the same call.
async fn complete_and_claim_fences_and_claims(store: Arc<dyn HubStore>) {
    let a_scope = Scope::new("acme", "memory:1");
    let b_scope = Scope::new("beta", "memory:1");
    let customer = |s: &Scope, r: &str| {
        NewRecord::new(
            s.clone(),
            WriteOp::UpsertCustomer(Customer::new(r, format!("Cliente {r}"))),
        )
    };
    store
        .enqueue(&[
            customer(&a_scope, "c-1"),
            customer(&a_scope, "c-2"),
            customer(&b_scope, "c-3"),
        ])
        .await
        .unwrap();
    let done = |id, remote: &str| {
        Completion::new(
            id,
            chrono::Utc::now(),
            Duration::from_millis(1),
            Verdict::Done(RemoteRef::new("memory", remote)),
        )
    };
    // Nothing to complete: a plain claim.
    let a = Lease::new("worker-a");
    let (completed, got) = store
        .complete_and_claim(
            &Lease::new("worker-a"),
            &[],
            &ClaimRequest::new(a_scope.clone(), a.clone(), 1, Duration::from_millis(300)),
        )
        .await
        .unwrap();
    completed.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].external_ref, "c-1");
    let id1 = got[0].id;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // B takes over the expired lease.
    let b = Lease::new("worker-b");
    let got_b = store
        .claim(&ClaimRequest::new(
            a_scope.clone(),
            b.clone(),
            1,
            Duration::from_secs(60),
        ))
        .await
        .unwrap();
    assert_eq!(got_b.len(), 1);
    assert_eq!(got_b[0].id, id1);
    // A completes late and claims from the other scope: its result is refused, its claim goes ahead.
    let a2 = Lease::new("worker-a");
    let (completed, got_a2) = store
        .complete_and_claim(
            &a,
            &[done(id1, "C-a")],
            &ClaimRequest::new(b_scope.clone(), a2.clone(), 10, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let err = completed.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(
        got_a2
            .iter()
            .map(|c| c.external_ref.as_str())
            .collect::<Vec<_>>(),
        ["c-3"]
    );
    let held = store.record(id1).await.unwrap().unwrap();
    assert_eq!(held.state, RecordState::Claimed, "B still holds it");
    assert_eq!(held.remote, None, "A's result was not written");
    // B completes and claims the next of its scope.
    let b2 = Lease::new("worker-b");
    let (completed, got_b2) = store
        .complete_and_claim(
            &b,
            &[done(id1, "C-b")],
            &ClaimRequest::new(a_scope.clone(), b2.clone(), 10, Duration::from_millis(100)),
        )
        .await
        .unwrap();
    completed.unwrap();
    assert_eq!(
        got_b2
            .iter()
            .map(|c| c.external_ref.as_str())
            .collect::<Vec<_>>(),
        ["c-2"]
    );
    let id2 = got_b2[0].id;
    assert_taken_over(&store, id1).await;
    // B's lease on c-2 runs out while it sends, nobody takes it: its completion is written and the same call
    // does not claim c-2 again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (completed, again) = store
        .complete_and_claim(
            &b2,
            &[done(id2, "C-2")],
            &ClaimRequest::new(
                a_scope.clone(),
                Lease::new("worker-b"),
                10,
                Duration::from_secs(60),
            ),
        )
        .await
        .unwrap();
    completed.unwrap();
    assert!(again.is_empty(), "{again:?}");
    let rec = store.record(id2).await.unwrap().unwrap();
    assert_eq!(rec.state, RecordState::Done);
    assert_eq!(rec.remote.as_ref().map(|r| r.id.as_str()), Some("C-2"));
    let outcomes: Vec<_> = rec.history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes, ["done"]);
    // A completes what it claimed with the other scope, claiming nothing more.
    let (completed, none) = store
        .complete_and_claim(
            &a2,
            &[done(got_a2[0].id, "C-3")],
            &ClaimRequest::new(
                b_scope.clone(),
                Lease::new("worker-a"),
                10,
                Duration::from_secs(60),
            ),
        )
        .await
        .unwrap();
    completed.unwrap();
    assert!(none.is_empty());
    let status = store.status().await.unwrap();
    assert!(
        status.iter().all(|s| s.claimed == 0 && s.queued == 0),
        "{status:?}"
    );
}

async fn enqueue_rules(store: Arc<dyn HubStore>) {
    let scope = Scope::new("acme", "memory:1");
    let ops = family(1);
    let first = store
        .enqueue(
            &ops.iter()
                .cloned()
                .map(|o| NewRecord::new(scope.clone(), o))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert!(first.iter().all(|e| matches!(e, Enqueued::Queued(_))));
    let again = store
        .enqueue(
            &ops.iter()
                .cloned()
                .map(|o| NewRecord::new(scope.clone(), o))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert!(
        again.iter().all(|e| matches!(e, Enqueued::Unchanged(_))),
        "{again:?}"
    );
    // A changed invoice is refused, and nothing of the batch is stored.
    let mut ops2 = family(1);
    if let WriteOp::CreateInvoice(i) = &mut ops2[2] {
        i.memo = Some("changed".into());
    }
    let extra = NewRecord::new(
        scope.clone(),
        WriteOp::UpsertCustomer(Customer::new("c-new", "Nuevo SA")),
    );
    let err = store
        .enqueue(&[extra, NewRecord::new(scope.clone(), ops2[2].clone())])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        store
            .find(&scope, EntityKind::Customer, "c-new")
            .await
            .unwrap()
            .is_none(),
        "all or none"
    );
    // A changed customer not yet sent is replaced under a new key.
    let before = store
        .find(&scope, EntityKind::Customer, "c-1")
        .await
        .unwrap()
        .unwrap();
    let changed = store
        .enqueue(&[NewRecord::new(
            scope.clone(),
            WriteOp::UpsertCustomer(Customer::new("c-1", "Uno Renombrado SA")),
        )])
        .await
        .unwrap();
    assert!(matches!(changed[0], Enqueued::Requeued(_)));
    let after = store
        .find(&scope, EntityKind::Customer, "c-1")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(before.key, after.key);
    // Empty references are rejected.
    let err = store
        .enqueue(&[NewRecord::new(
            scope.clone(),
            WriteOp::UpsertCustomer(Customer::new("", "X")),
        )])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let status = store.status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!((status[0].queued, status[0].blocked), (4, 3));
    assert!(status[0].oldest_pending.is_some());
}

/// An adapter that records every key in flight and flags a key sent twice at the same time.
struct Watch {
    inner: MemoryErp,
    in_flight: Mutex<HashSet<String>>,
    overlaps: AtomicUsize,
    sends: Mutex<HashMap<String, usize>>,
    delay: Duration,
}

impl Watch {
    async fn guard<T>(
        &self,
        key: &IdempotencyKey,
        f: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if !self.in_flight.lock().unwrap().insert(key.to_string()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        *self
            .sends
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default() += 1;
        tokio::time::sleep(self.delay).await;
        let r = f.await;
        self.in_flight.lock().unwrap().remove(key.as_str());
        r
    }
}

#[async_trait::async_trait]
impl ErpAdapter for Watch {
    fn provider(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn test_connection(&self) -> Result<CompanyInfo> {
        self.inner.test_connection().await
    }
    async fn upsert_customer(&self, c: &Customer, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.upsert_customer(c, k)).await
    }
    async fn upsert_item(&self, i: &Item, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.upsert_item(i, k)).await
    }
    async fn create_invoice(&self, i: &Invoice, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.create_invoice(i, k)).await
    }
    async fn void_invoice(&self, r: &RemoteRef, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.void_invoice(r, k)).await
    }
    async fn record_payment(&self, p: &Payment, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.record_payment(p, k)).await
    }
    async fn create_credit_note(&self, c: &CreditNote, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.guard(k, self.inner.create_credit_note(c, k)).await
    }
    async fn get(&self, kind: EntityKind, id: &str) -> Result<RemoteRecord> {
        self.inner.get(kind, id).await
    }
    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        c: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.inner.list_changed_since(kinds, c).await
    }
}

/// Graceful shutdown mid-run: the batch being sent is finished and recorded, records claimed but not sent are
/// given back (queued, no attempt), nothing stays claimed; a later run sends the rest, each exactly once.
async fn shutdown_finishes_or_releases(store: Arc<dyn HubStore>) {
    let watch = Arc::new(Watch {
        inner: MemoryErp::new(),
        in_flight: Mutex::new(HashSet::new()),
        overlaps: AtomicUsize::new(0),
        sends: Mutex::new(HashMap::new()),
        delay: Duration::from_millis(100),
    });
    let scope = Scope::new("acme", "memory:1");
    let ops: Vec<_> = (0..20)
        .map(|n| WriteOp::UpsertCustomer(Customer::new(format!("c-{n}"), format!("Cliente {n}"))))
        .collect();
    let hub = Hub::new(
        Arc::clone(&store),
        fast().with_workers(2).with_batch_size(4),
    );
    hub.register(scope.clone(), watch.clone());
    hub.enqueue(&scope, ops).await.unwrap();
    let running = hub.start();
    for _ in 0..500 {
        if !watch.sends.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.shutdown().await;
    let mut queued = 0;
    for n in 0..20 {
        let r = store
            .find(&scope, EntityKind::Customer, &format!("c-{n}"))
            .await
            .unwrap()
            .unwrap();
        let sent = watch.sends.lock().unwrap().get(r.key.as_str()).copied();
        match r.state {
            RecordState::Done => assert_eq!(sent, Some(1), "c-{n}"),
            RecordState::Queued => {
                queued += 1;
                assert_eq!(sent, None, "c-{n} was sent but is queued");
                assert!(r.history.is_empty(), "c-{n}: {:?}", r.history);
            }
            other => panic!("c-{n} is {other:?} after shutdown"),
        }
    }
    assert!(queued > 0, "shutdown came after the run had finished");
    assert_eq!(watch.in_flight.lock().unwrap().len(), 0);
    hub.run_until_settled().await.unwrap();
    let sends = watch.sends.lock().unwrap();
    assert_eq!(sends.len(), 20);
    assert!(sends.values().all(|n| *n == 1), "a record was sent twice");
}

/// Two hubs (as two processes would) with 4 workers each over one store: no key is ever in flight twice, and
/// without faults every record is sent exactly once.
async fn concurrent_workers_never_overlap(store: Arc<dyn HubStore>) {
    let watch = Arc::new(Watch {
        inner: MemoryErp::new(),
        in_flight: Mutex::new(HashSet::new()),
        overlaps: AtomicUsize::new(0),
        sends: Mutex::new(HashMap::new()),
        delay: Duration::from_millis(2),
    });
    let scope = Scope::new("acme", "memory:1");
    let mut ops = Vec::new();
    for n in 0..25 {
        ops.extend(family(n));
    }
    let hubs: Vec<Hub> = (0..2)
        .map(|i| {
            let h = Hub::new(
                Arc::clone(&store),
                fast().with_name(format!("p{i}")).with_batch_size(3),
            );
            h.register(scope.clone(), watch.clone());
            h
        })
        .collect();
    hubs[0].enqueue(&scope, ops).await.unwrap();
    let handles: Vec<_> = hubs.iter().map(Hub::start).collect();
    for _ in 0..1000 {
        let s = store.status().await.unwrap();
        if s[0].done == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for h in handles {
        h.shutdown().await;
    }
    assert_eq!(
        watch.overlaps.load(Ordering::SeqCst),
        0,
        "a key was in flight twice"
    );
    let sends = watch.sends.lock().unwrap();
    assert_eq!(sends.len(), 100);
    assert!(sends.values().all(|n| *n == 1), "a record was sent twice");
    assert_eq!(watch.inner.count(EntityKind::Payment), 25);
}

/// MemoryErp without a change feed: the hub cannot look a record up by external reference.
struct NoFeed(MemoryErp);

#[async_trait::async_trait]
impl ErpAdapter for NoFeed {
    fn provider(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with(Capability::VoidInvoice)
            .with(Capability::CreditNotes)
            .with(Capability::PartialPayments)
            .with(Capability::NativeIdempotency)
    }
    async fn test_connection(&self) -> Result<CompanyInfo> {
        self.0.test_connection().await
    }
    async fn upsert_customer(&self, c: &Customer, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.upsert_customer(c, k).await
    }
    async fn upsert_item(&self, i: &Item, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.upsert_item(i, k).await
    }
    async fn create_invoice(&self, i: &Invoice, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.create_invoice(i, k).await
    }
    async fn void_invoice(&self, r: &RemoteRef, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.void_invoice(r, k).await
    }
    async fn record_payment(&self, p: &Payment, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.record_payment(p, k).await
    }
    async fn create_credit_note(&self, c: &CreditNote, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.0.create_credit_note(c, k).await
    }
    async fn get(&self, kind: EntityKind, id: &str) -> Result<RemoteRecord> {
        self.0.get(kind, id).await
    }
    async fn list_changed_since(
        &self,
        _kinds: &[EntityKind],
        _c: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        Err(Error::unsupported("list_changed_since"))
    }
}

/// Enqueues customer `c-1`, runs it to done, then makes the next call (the invoice's first send) apply and
/// lose its answer, enqueues invoice `inv-1` and runs until settled.
async fn invoice_after_lost_answer(hub: &Hub, scope: &Scope, erp: &MemoryErp) {
    let ops = family(1);
    hub.enqueue(scope, vec![ops[3].clone()]).await.unwrap();
    hub.run_until_settled().await.unwrap();
    erp.inject(1, Fault::ApplyThenTimeout);
    hub.enqueue(scope, vec![ops[2].clone()]).await.unwrap();
    hub.run_until_settled().await.unwrap();
}

/// An invoice whose first send was applied but unanswered, and whose key is older than the idempotency window
/// (window 0), is looked up by external reference and marked reconciled, not sent again. Without a change feed
/// it is dead-lettered as uncertain, never re-sent blindly; a requeue keeps its key.
async fn idempotency_window_reconciles_before_resend(store: Arc<dyn HubStore>) {
    let hub = Hub::new(
        Arc::clone(&store),
        fast().with_idempotency_window(Duration::ZERO),
    );
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(scope.clone(), erp.clone());
    invoice_after_lost_answer(&hub, &scope, &erp).await;
    let inv = store
        .find(&scope, EntityKind::Invoice, "inv-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inv.state, RecordState::Done, "{:?}", inv.last_error);
    let outcomes: Vec<_> = inv.history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "reconciled"]);
    assert_eq!(inv.history[0].error_kind, Some(ErrorKind::Uncertain));
    assert_eq!(erp.calls("create_invoice"), 1, "the invoice was sent again");
    assert_eq!(erp.count(EntityKind::Invoice), 1);
    let remote = inv.remote.expect("reconciled remote");
    assert!(
        erp.get(EntityKind::Invoice, &remote.id).await.is_ok(),
        "{remote:?}"
    );

    // The same without a change feed: dead letter (uncertain, saying why), nothing sent twice.
    let s2 = Scope::new("beta", "memory:1");
    let nofeed = Arc::new(NoFeed(MemoryErp::new()));
    hub.register(s2.clone(), nofeed.clone());
    invoice_after_lost_answer(&hub, &s2, &nofeed.0).await;
    let inv = store
        .find(&s2, EntityKind::Invoice, "inv-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inv.state, RecordState::Dead);
    let err = inv.last_error.clone().expect("error");
    assert_eq!(err.kind, ErrorKind::Uncertain, "{err:?}");
    assert!(err.message.contains("change feed"), "{err:?}");
    assert_eq!(nofeed.0.calls("create_invoice"), 1, "re-sent blindly");
    assert_eq!(nofeed.0.count(EntityKind::Invoice), 1);
    // An operator who checked the provider requeues it: same key, so the provider replays, not duplicates.
    assert!(store.requeue(inv.id).await.unwrap());
    assert_eq!(store.record(inv.id).await.unwrap().unwrap().key, inv.key);
    hub.run_until_settled().await.unwrap();
    let inv = store.record(inv.id).await.unwrap().unwrap();
    assert_eq!(inv.state, RecordState::Done, "{:?}", inv.last_error);
    assert_eq!(nofeed.0.count(EntityKind::Invoice), 1);
}

/// A fiscal step whose first stamping call fails (the PAC is down), later ones stamp.
struct FlakyStamp(AtomicUsize);

#[async_trait::async_trait]
impl erp_hub_core::fiscal::FiscalStep for FlakyStamp {
    async fn stamp(
        &self,
        _tenant: &str,
        op: &WriteOp,
    ) -> Result<Option<erp_hub_core::fiscal::FiscalStamp>> {
        let WriteOp::CreateInvoice(_) = op else {
            return Ok(None);
        };
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::transient("PAC unreachable"));
        }
        Ok(Some(erp_hub_core::fiscal::FiscalStamp::new(
            "mx-cfdi-4.0",
            erp_hub_core::fiscal::FiscalDocumentKind::Invoice,
            "5E1D4B67-0000-4000-8000-000000000001",
            "2026-12-01T10:00:00",
            "TEST",
            erp_hub_core::Decimal::from(1160),
            "<cfdi:Comprobante/>",
        )))
    }

    fn order(&self) -> erp_hub_core::fiscal::FiscalOrder {
        erp_hub_core::fiscal::FiscalOrder::PostThenStamp
    }
}

/// Posting first, the invoice reaches the ERP and its stamping fails; past the idempotency window (0) the
/// next attempt finds the invoice by external reference. Reconciliation must not skip the fiscal part: the
/// invoice is stamped and the stamp attached (`ErpAdapter::finish_reconciled`), and it is not posted again.
async fn reconciliation_finishes_fiscal_writes(store: Arc<dyn HubStore>) {
    let hub = Hub::new(
        Arc::clone(&store),
        fast().with_idempotency_window(Duration::ZERO),
    );
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    let step = Arc::new(FlakyStamp(AtomicUsize::new(0)));
    let fiscal = erp_hub_core::fiscal::FiscalAdapter::new(erp.clone(), step.clone(), "acme");
    hub.register(scope.clone(), Arc::new(fiscal));
    let ops = family(1);
    hub.enqueue(&scope, vec![ops[3].clone(), ops[2].clone()])
        .await
        .unwrap();
    hub.run_until_settled().await.unwrap();
    let inv = store
        .find(&scope, EntityKind::Invoice, "inv-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inv.state, RecordState::Done, "{:?}", inv.last_error);
    let outcomes: Vec<_> = inv.history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "reconciled"]);
    assert_eq!(erp.calls("create_invoice"), 1, "posted again");
    assert_eq!(step.0.load(Ordering::SeqCst), 2);
    let stamps = erp.fiscal_stamps();
    assert_eq!(stamps.len(), 1, "reconciled without its stamp");
    assert_eq!(Some(&stamps[0].1), inv.remote.as_ref().map(|r| &r.id));
}

/// Outcomes that ask for a later call (an outside party is deciding: `retry_later`, `uncertain_retry_later`)
/// do not use the attempt budget: with the default retry policy (5 attempts) 20 of them in a row are waited
/// out, each logged as `wait`. `max_wait` bounds them instead: past it the record is dead-lettered with its
/// last state, and keeps its key.
async fn waits_on_outside_parties_do_not_use_attempts(store: Arc<dyn HubStore>) {
    let config = HubConfig::default();
    assert_eq!(config.max_attempts, 5);
    // Only the idle poll is shortened (it sets no schedule: the hints do).
    let hub = Hub::new(
        Arc::clone(&store),
        config.clone().with_poll(Duration::from_millis(10)),
    );
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(scope.clone(), erp.clone());
    let hint = Duration::from_millis(1);
    for i in 0..20 {
        if i % 2 == 0 {
            erp.fail_next(1, move || {
                Error::retry_later("cancellation awaiting the receptor", hint)
            });
        } else {
            erp.fail_next(1, move || {
                Error::uncertain_retry_later("held by the authority, maybe received", hint)
            });
        }
    }
    let ops = family(1);
    hub.enqueue(&scope, vec![ops[3].clone()]).await.unwrap();
    hub.run_until_settled().await.unwrap();
    let c = store
        .find(&scope, EntityKind::Customer, "c-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.state, RecordState::Done, "{:?}", c.last_error);
    assert_eq!(c.attempts, 21);
    let outcomes: Vec<_> = c.history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes[..20], ["wait"; 20]);
    assert_eq!(outcomes[20], "done");
    assert_eq!(erp.calls("upsert_customer"), 21);
    assert_eq!(erp.count(EntityKind::Customer), 1);
    // Waits do not hide real failures: 5 plain transient failures still dead-letter.
    erp.fail_next(5, || Error::transient("503 Service Unavailable"));
    hub.enqueue(
        &scope,
        vec![WriteOp::UpsertCustomer(Customer::new("c-2", "Dos SA"))],
    )
    .await
    .unwrap();
    let hub_fast_backoff = Hub::new(
        Arc::clone(&store),
        config
            .clone()
            .with_poll(Duration::from_millis(10))
            .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
    );
    hub_fast_backoff.register(scope.clone(), erp.clone());
    hub_fast_backoff.run_until_settled().await.unwrap();
    let c2 = store
        .find(&scope, EntityKind::Customer, "c-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c2.state, c2.attempts), (RecordState::Dead, 5));

    // max_wait bounds the wait: past it, dead with the last state, key kept.
    let bounded = Hub::new(
        Arc::clone(&store),
        config
            .with_poll(Duration::from_millis(10))
            .with_max_wait(Duration::ZERO),
    );
    let s2 = Scope::new("beta", "memory:1");
    let erp2 = Arc::new(MemoryErp::new());
    bounded.register(s2.clone(), erp2.clone());
    erp2.fail_next(1, move || {
        Error::retry_later("cancellation awaiting the receptor", hint)
    });
    bounded.enqueue(&s2, vec![ops[3].clone()]).await.unwrap();
    bounded.run_until_settled().await.unwrap();
    let c = store
        .find(&s2, EntityKind::Customer, "c-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.state, RecordState::Dead);
    let err = c.last_error.clone().expect("error");
    assert_eq!(err.kind, ErrorKind::Transient, "{err:?}");
    assert!(
        err.message.contains("max_wait") && err.message.contains("awaiting the receptor"),
        "{err:?}"
    );
    assert!(store.requeue(c.id).await.unwrap());
    assert_eq!(store.record(c.id).await.unwrap().unwrap().key, c.key);

    // Waits are not unconfirmed sends: past the idempotency window (0 here) an invoice that only waited is
    // sent again without a lookup by external reference.
    let windowless = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_poll(Duration::from_millis(10))
            .with_idempotency_window(Duration::ZERO),
    );
    let s3 = Scope::new("gamma", "memory:1");
    let erp3 = Arc::new(MemoryErp::new());
    windowless.register(s3.clone(), erp3.clone());
    // The requeued record of `beta` is settled by this hub too (it waits for it).
    windowless.register(s2.clone(), erp2.clone());
    windowless.enqueue(&s3, vec![ops[3].clone()]).await.unwrap();
    windowless.run_until_settled().await.unwrap();
    erp3.fail_next(3, move || {
        Error::uncertain_retry_later("held by the authority", hint)
    });
    windowless.enqueue(&s3, vec![ops[2].clone()]).await.unwrap();
    windowless.run_until_settled().await.unwrap();
    let inv = store
        .find(&s3, EntityKind::Invoice, "inv-1")
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<_> = inv.history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes, ["wait", "wait", "wait", "done"]);
    assert_eq!(erp3.calls("list_changed_since"), 0, "a wait was reconciled");
    assert_eq!(erp3.calls("create_invoice"), 4);
}

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory_store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::memory()).await })*
        }
        mod sqlite_store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(super::sqlite(&dir).await).await
            })*
        }
        mod pg_store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::pg().await).await })*
        }
    };
}

on_every_store!(
    faults_exactly_once,
    dead_letter_blocks_dependents_and_requeue,
    lease_stolen_is_fenced,
    complete_and_claim_fences_and_claims,
    enqueue_rules,
    concurrent_workers_never_overlap,
    idempotency_window_reconciles_before_resend,
    waits_on_outside_parties_do_not_use_attempts,
    reconciliation_finishes_fiscal_writes,
    shutdown_finishes_or_releases,
);
