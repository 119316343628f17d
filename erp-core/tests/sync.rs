//! The sync engine against `MemoryErp`: exactly-once pushes across faults, re-sends and crashes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use erp_hub_core::adapter::{
    Capabilities, ChangeCursor, ChangePage, CompanyInfo, Entity, ErpAdapter, IdempotencyKey,
    RemoteRecord,
};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment, RemoteRef,
};
use erp_hub_core::money::Currency;
use erp_hub_core::sync::{
    EntryState, Fingerprint, InMemorySyncStore, JournalEntry, JournalKey, Outcome, SyncBatch,
    SyncEngine, SyncStore, derive_key,
};
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, ErrorKind, Result};
use proptest::prelude::*;
use rust_decimal_macros::dec;

const SCOPE: &str = "memory:test";

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")
}

/// 2 customers, 1 item, 2 invoices (1160 and 580 MXN), a 500 payment and a 116 credit note on `inv-1`.
fn batch() -> SyncBatch {
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let inv1 = Invoice::new("inv-1", PartyRef::external("c-1"), date(), Currency::MXN).with_line(
        InvoiceLine::new("Consultoría", dec!(10), dec!(100))
            .with_item("it-1")
            .with_tax(iva()),
    );
    let inv2 = Invoice::new("inv-2", PartyRef::external("c-2"), date(), Currency::MXN)
        .with_line(InvoiceLine::new("Soporte", dec!(1), dec!(500)).with_tax(iva()));
    let pay = Payment::new(
        "pay-1",
        PartyRef::external("c-1"),
        date(),
        Currency::MXN,
        dec!(500),
    )
    .apply_to(DocRef::external("inv-1"), dec!(500));
    let cn = CreditNote::new(
        "cn-1",
        PartyRef::external("c-1"),
        DocRef::external("inv-1"),
        date(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(100)).with_tax(iva()));
    SyncBatch::new()
        .with_customer(Customer::new("c-1", "Acme SA de CV"))
        .with_customer(Customer::new("c-2", "Beta SC"))
        .with_item(Item::new("it-1", "CONS", "Consultoría", ItemKind::Service))
        .with_invoice(inv1)
        .with_invoice(inv2)
        .with_payment(pay)
        .with_credit_note(cn)
}

fn jkey(kind: EntityKind, r: &str) -> JournalKey {
    JournalKey::new(SCOPE, kind, r)
}

fn engine(erp: Arc<dyn ErpAdapter>, store: Arc<dyn SyncStore>) -> SyncEngine {
    SyncEngine::new(erp, store, SCOPE)
}

fn outcome(report: &erp_hub_core::SyncReport, kind: EntityKind, r: &str) -> Outcome {
    report
        .get(kind, r)
        .unwrap_or_else(|| panic!("{kind} {r} not in report"))
        .outcome
        .clone()
}

/// Every journal entry is done and names the MemoryErp record of the same external reference, and MemoryErp
/// holds exactly the batch's records; `inv-1`'s balance shows the payment and the credit note applied once.
async fn assert_exactly_once(erp: &MemoryErp, store: &InMemorySyncStore) {
    let entries = store.entries();
    assert_eq!(entries.len(), 7, "{entries:#?}");
    for e in &entries {
        let EntryState::Done { remote } = &e.state else {
            panic!("not done: {e:#?}");
        };
        let rec = erp
            .get(e.key.kind, &remote.id)
            .await
            .expect("remote exists");
        let ext = match &rec.entity {
            Entity::Customer(c) => &c.external_ref,
            Entity::Item(i) => &i.external_ref,
            Entity::Invoice(i) => &i.external_ref,
            Entity::Payment(p) => &p.external_ref,
            Entity::CreditNote(c) => &c.external_ref,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(ext, &e.key.external_ref);
    }
    for (kind, n) in [
        (EntityKind::Customer, 2),
        (EntityKind::Item, 1),
        (EntityKind::Invoice, 2),
        (EntityKind::Payment, 1),
        (EntityKind::CreditNote, 1),
    ] {
        assert_eq!(erp.count(kind), n, "{kind}");
    }
    let inv1 = store
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .and_then(|e| e.remote().cloned())
        .expect("inv-1 pushed");
    let rec = erp.get(EntityKind::Invoice, &inv1.id).await.expect("inv-1");
    assert_eq!(rec.balance, Some(dec!(544))); // 1160 - 500 - 116
}

/// Delegates to a `MemoryErp`, injecting a planned fault before chosen calls.
struct Scripted {
    erp: Arc<MemoryErp>,
    /// One slot per call in order (`None`: no fault); calls past the end get none.
    plan: Mutex<VecDeque<Option<Fault>>>,
    /// Faults for the next calls of one operation.
    on: Mutex<Vec<(&'static str, Fault)>>,
}

impl Scripted {
    fn new(erp: Arc<MemoryErp>) -> Self {
        Self {
            erp,
            plan: Mutex::new(VecDeque::new()),
            on: Mutex::new(Vec::new()),
        }
    }

    fn plan(&self, faults: Vec<Option<Fault>>) {
        *self.plan.lock().expect("lock") = faults.into();
    }

    fn fault_on(&self, op: &'static str, n: usize, fault: Fault) {
        let mut on = self.on.lock().expect("lock");
        for _ in 0..n {
            on.push((op, fault.clone()));
        }
    }

    fn before(&self, op: &'static str) {
        let planned = self.plan.lock().expect("lock").pop_front().flatten();
        let mut on = self.on.lock().expect("lock");
        let targeted = on
            .iter()
            .position(|(o, _)| *o == op)
            .map(|i| on.remove(i).1);
        if let Some(f) = targeted.or(planned) {
            self.erp.inject(1, f);
        }
    }
}

#[async_trait::async_trait]
impl ErpAdapter for Scripted {
    fn provider(&self) -> &'static str {
        self.erp.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.erp.capabilities()
    }
    async fn test_connection(&self) -> Result<CompanyInfo> {
        self.before("test_connection");
        self.erp.test_connection().await
    }
    async fn upsert_customer(&self, c: &Customer, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("upsert_customer");
        self.erp.upsert_customer(c, k).await
    }
    async fn upsert_item(&self, i: &Item, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("upsert_item");
        self.erp.upsert_item(i, k).await
    }
    async fn create_invoice(&self, i: &Invoice, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("create_invoice");
        self.erp.create_invoice(i, k).await
    }
    async fn void_invoice(&self, r: &RemoteRef, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("void_invoice");
        self.erp.void_invoice(r, k).await
    }
    async fn record_payment(&self, p: &Payment, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("record_payment");
        self.erp.record_payment(p, k).await
    }
    async fn create_credit_note(&self, c: &CreditNote, k: &IdempotencyKey) -> Result<RemoteRef> {
        self.before("create_credit_note");
        self.erp.create_credit_note(c, k).await
    }
    async fn get(&self, kind: EntityKind, id: &str) -> Result<RemoteRecord> {
        self.before("get");
        self.erp.get(kind, id).await
    }
    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.before("list_changed_since");
        self.erp.list_changed_since(kinds, cursor).await
    }
}

/// A journal on top of an `InMemorySyncStore` whose process "dies": once `dies_when` holds at a save, that save
/// and every later call fail, as if the process had stopped there. The inner store keeps what was saved.
struct DyingStore {
    inner: Arc<InMemorySyncStore>,
    dies_when: Box<dyn Fn(usize) -> bool + Send + Sync>,
    saves: AtomicUsize,
    dead: AtomicBool,
}

impl DyingStore {
    fn new(
        inner: Arc<InMemorySyncStore>,
        dies_when: impl Fn(usize) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            dies_when: Box::new(dies_when),
            saves: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
        }
    }

    fn died(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl SyncStore for DyingStore {
    async fn load(&self, key: &JournalKey) -> Result<Option<JournalEntry>> {
        if self.died() {
            return Err(Error::transient("process is dead"));
        }
        self.inner.load(key).await
    }

    async fn save(&self, entry: &JournalEntry) -> Result<()> {
        let n = self.saves.fetch_add(1, Ordering::SeqCst) + 1;
        if self.died() || (self.dies_when)(n) {
            self.dead.store(true, Ordering::SeqCst);
            return Err(Error::transient("process died"));
        }
        self.inner.save(entry).await
    }
}

#[tokio::test]
async fn push_creates_each_record_once_and_journals_it() {
    let erp = Arc::new(MemoryErp::new());
    let store = Arc::new(InMemorySyncStore::new());
    let report = engine(erp.clone(), store.clone())
        .push(&batch())
        .await
        .expect("push");
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.counts().created, 7);
    assert_eq!(report.sends(), 7);
    for (op, n) in [
        ("upsert_customer", 2),
        ("upsert_item", 1),
        ("create_invoice", 2),
        ("record_payment", 1),
        ("create_credit_note", 1),
    ] {
        assert_eq!(erp.calls(op), n, "{op}");
    }
    assert_exactly_once(&erp, &store).await;
    let keys: std::collections::BTreeSet<String> = store
        .entries()
        .iter()
        .map(|e| e.idempotency_key.as_str().to_owned())
        .collect();
    assert_eq!(keys.len(), 7, "keys are distinct");
    for k in &keys {
        assert!(k.len() <= 50, "fits QuickBooks requestid: {k}");
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{k}"
        );
    }
    // Remote references were resolved from the journal.
    let inv1 = store
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("entry");
    assert_eq!(inv1.payload, None, "payload dropped once done");
}

#[tokio::test]
async fn second_push_is_unchanged_and_makes_no_calls() {
    let erp = Arc::new(MemoryErp::new());
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(erp.clone(), store.clone());
    let first = engine.push(&batch()).await.expect("first");
    let calls_before: usize = ["upsert_customer", "upsert_item", "create_invoice"]
        .iter()
        .map(|op| erp.calls(op))
        .sum();
    let second = engine.push(&batch()).await.expect("second");
    assert_eq!(second.counts().unchanged, 7, "{second:#?}");
    assert_eq!(second.sends(), 0);
    let calls_after: usize = ["upsert_customer", "upsert_item", "create_invoice"]
        .iter()
        .map(|op| erp.calls(op))
        .sum();
    assert_eq!(calls_before, calls_after);
    for (a, b) in first.records.iter().zip(&second.records) {
        assert_eq!(a.outcome.remote(), b.outcome.remote());
    }
}

#[tokio::test]
async fn apply_then_timeout_is_resent_with_the_same_key() {
    let erp = Arc::new(MemoryErp::new());
    let adapter = Arc::new(Scripted::new(erp.clone()));
    adapter.fault_on("create_invoice", 1, Fault::ApplyThenTimeout);
    let store = Arc::new(InMemorySyncStore::new());
    let report = engine(adapter, store.clone())
        .push(&batch())
        .await
        .expect("push");
    assert!(report.is_complete(), "{report:#?}");
    let inv1 = report.get(EntityKind::Invoice, "inv-1").expect("inv-1");
    assert_eq!(inv1.sends, 2, "the timed-out create was re-sent once");
    assert!(matches!(inv1.outcome, Outcome::Created { .. }));
    let entry = store
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("entry");
    assert_eq!((entry.attempts, entry.generation), (2, 1));
    assert_eq!(erp.calls("create_invoice"), 3);
    assert_exactly_once(&erp, &store).await;
}

#[tokio::test]
async fn still_uncertain_stays_pending_blocks_dependents_and_completes_next_run() {
    let erp = Arc::new(MemoryErp::new());
    let adapter = Arc::new(Scripted::new(erp.clone()));
    // Applied, then the response is lost; the two re-sends time out before reaching the provider.
    adapter.fault_on("create_invoice", 1, Fault::ApplyThenTimeout);
    adapter.fault_on(
        "create_invoice",
        2,
        Fault::error(|| Error::uncertain("timeout")),
    );
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(adapter, store.clone());
    let first = engine.push(&batch()).await.expect("first");
    let Outcome::Pending { kind, .. } = outcome(&first, EntityKind::Invoice, "inv-1") else {
        panic!("{first:#?}");
    };
    assert_eq!(kind, ErrorKind::Uncertain);
    for (k, r) in [
        (EntityKind::Payment, "pay-1"),
        (EntityKind::CreditNote, "cn-1"),
    ] {
        assert_eq!(
            outcome(&first, k, r),
            Outcome::Blocked {
                kind: EntityKind::Invoice,
                external_ref: "inv-1".into()
            }
        );
    }
    assert_eq!(erp.calls("record_payment"), 0);
    let pending = store
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("entry");
    assert_eq!(pending.state, EntryState::Pending);
    assert_eq!(
        erp.count(EntityKind::Invoice),
        2,
        "applied once, not thrice"
    );

    let second = engine.push(&batch()).await.expect("second");
    assert!(second.is_complete(), "{second:#?}");
    let done = store
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("entry");
    assert_eq!(done.idempotency_key, pending.idempotency_key);
    assert_eq!(done.attempts, 4);
    assert_exactly_once(&erp, &store).await;
}

#[tokio::test]
async fn crash_after_the_provider_applied_reruns_with_the_same_key() {
    let erp = Arc::new(MemoryErp::new());
    let journal = Arc::new(InMemorySyncStore::new());
    // The process dies at the first journal write after create_invoice reached the provider: the invoice exists
    // remotely, the journal still says pending.
    let probe = erp.clone();
    let dying = Arc::new(DyingStore::new(journal.clone(), move |_| {
        probe.calls("create_invoice") > 0
    }));
    let err = engine(erp.clone(), dying.clone())
        .push(&batch())
        .await
        .expect_err("the process died");
    assert!(dying.died(), "{err}");
    assert_eq!(erp.count(EntityKind::Invoice), 1);
    let before = journal
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("written ahead");
    assert_eq!(
        (before.state.clone(), before.attempts),
        (EntryState::Pending, 1)
    );

    // A new process with the same journal.
    let report = engine(erp.clone(), journal.clone())
        .push(&batch())
        .await
        .expect("rerun");
    assert!(report.is_complete(), "{report:#?}");
    assert!(matches!(
        outcome(&report, EntityKind::Invoice, "inv-1"),
        Outcome::Created { .. }
    ));
    let after = journal
        .get(&jkey(EntityKind::Invoice, "inv-1"))
        .expect("entry");
    assert_eq!(after.idempotency_key, before.idempotency_key);
    assert_eq!(
        erp.calls("create_invoice"),
        3,
        "inv-1 twice (same key), inv-2 once"
    );
    assert_exactly_once(&erp, &journal).await;
}

#[tokio::test]
async fn failing_customer_blocks_its_documents_until_fixed() {
    let erp = Arc::new(MemoryErp::new());
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(erp.clone(), store.clone());
    let mut bad = batch();
    bad.customers[0].legal_name = " ".into(); // MemoryErp rejects an empty name
    let first = engine.push(&bad).await.expect("push");
    let Outcome::Failed { kind, .. } = outcome(&first, EntityKind::Customer, "c-1") else {
        panic!("{first:#?}");
    };
    assert_eq!(kind, ErrorKind::Validation);
    let blocked = Outcome::Blocked {
        kind: EntityKind::Customer,
        external_ref: "c-1".into(),
    };
    assert_eq!(outcome(&first, EntityKind::Invoice, "inv-1"), blocked);
    assert_eq!(outcome(&first, EntityKind::Payment, "pay-1"), blocked);
    assert_eq!(outcome(&first, EntityKind::CreditNote, "cn-1"), blocked);
    assert!(outcome(&first, EntityKind::Invoice, "inv-2").is_synced());
    assert_eq!(erp.calls("create_invoice"), 1);
    assert_eq!(
        erp.calls("record_payment") + erp.calls("create_credit_note"),
        0
    );
    let failed = store
        .get(&jkey(EntityKind::Customer, "c-1"))
        .expect("entry");
    assert!(matches!(
        failed.state,
        EntryState::Failed {
            kind: ErrorKind::Validation,
            ..
        }
    ));

    let second = engine.push(&batch()).await.expect("fixed");
    assert!(second.is_complete(), "{second:#?}");
    let fixed = store
        .get(&jkey(EntityKind::Customer, "c-1"))
        .expect("entry");
    assert_eq!(fixed.generation, 2);
    assert_ne!(fixed.idempotency_key, failed.idempotency_key);
    assert_exactly_once(&erp, &store).await;
}

#[tokio::test]
async fn changed_invoice_is_reported_never_created_twice_and_changed_customer_is_updated() {
    let erp = Arc::new(MemoryErp::new());
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(erp.clone(), store.clone());
    engine.push(&batch()).await.expect("first");
    let mut changed = batch();
    changed.invoices[0].memo = Some("edited after push".into());
    changed.customers[1].email = Some("pagos@beta.example".into());
    let report = engine.push(&changed).await.expect("second");
    assert!(matches!(
        outcome(&report, EntityKind::Invoice, "inv-1"),
        Outcome::ChangedAfterPush { .. }
    ));
    assert!(matches!(
        outcome(&report, EntityKind::Customer, "c-2"),
        Outcome::Updated { .. }
    ));
    assert_eq!(report.counts().unchanged, 5);
    assert_eq!(erp.calls("create_invoice"), 2, "no second create");
    assert_eq!(erp.calls("upsert_customer"), 3);
    assert_exactly_once(&erp, &store).await;
    let c2 = store
        .get(&jkey(EntityKind::Customer, "c-2"))
        .and_then(|e| e.remote().cloned())
        .expect("c-2");
    let Entity::Customer(remote) = erp
        .get(EntityKind::Customer, &c2.id)
        .await
        .expect("c-2")
        .entity
    else {
        panic!("not a customer");
    };
    assert_eq!(remote.email.as_deref(), Some("pagos@beta.example"));
    // The report keeps saying so; the journal still holds the pushed fingerprint.
    let again = engine.push(&changed).await.expect("third");
    assert_eq!(again.counts().changed_after_push, 1);
    assert_eq!(again.sends(), 0);
}

#[tokio::test]
async fn invoice_changed_while_pending_replays_the_earlier_payload_first() {
    let erp = Arc::new(MemoryErp::new());
    let adapter = Arc::new(Scripted::new(erp.clone()));
    // Applied, then the response is lost; the two re-sends time out before reaching the provider.
    adapter.fault_on("create_invoice", 1, Fault::ApplyThenTimeout);
    adapter.fault_on(
        "create_invoice",
        2,
        Fault::error(|| Error::uncertain("timeout")),
    );
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(adapter, store.clone());
    let first = engine.push(&batch()).await.expect("first");
    assert!(matches!(
        outcome(&first, EntityKind::Invoice, "inv-1"),
        Outcome::Pending { .. }
    ));
    let mut changed = batch();
    changed.invoices[0].memo = Some("edited while pending".into());
    let report = engine.push(&changed).await.expect("second");
    let Outcome::ChangedAfterPush { remote } = outcome(&report, EntityKind::Invoice, "inv-1")
    else {
        panic!("{report:#?}");
    };
    let Entity::Invoice(inv) = erp
        .get(EntityKind::Invoice, &remote.id)
        .await
        .expect("inv")
        .entity
    else {
        panic!("not an invoice");
    };
    assert_eq!(inv.memo, None, "the provider holds the earlier content");
    assert_eq!(erp.count(EntityKind::Invoice), 2);
    assert_exactly_once(&erp, &store).await;
}

#[tokio::test]
async fn duplicate_name_is_failed_with_the_existing_id_not_adopted() {
    let erp = Arc::new(MemoryErp::new());
    let other = erp
        .upsert_customer(
            &Customer::new("someone-else", "Acme SA de CV"),
            &IdempotencyKey::new("outside").expect("key"),
        )
        .await
        .expect("existing customer");
    let store = Arc::new(InMemorySyncStore::new());
    let report = engine(erp.clone(), store.clone())
        .push(&batch())
        .await
        .expect("push");
    assert_eq!(
        outcome(&report, EntityKind::Customer, "c-1"),
        Outcome::Failed {
            kind: ErrorKind::Duplicate,
            message: "duplicate: another customer is named `Acme SA de CV` (existing id C-1)"
                .into(),
            existing_id: Some(other.id),
        }
    );
    let entry = store
        .get(&jkey(EntityKind::Customer, "c-1"))
        .expect("entry");
    assert!(!entry.is_done());
    assert!(matches!(
        outcome(&report, EntityKind::Invoice, "inv-1"),
        Outcome::Blocked { .. }
    ));
}

#[tokio::test]
async fn rate_limit_is_pending_without_resend_and_auth_first_send_is_failed() {
    let erp = Arc::new(MemoryErp::new());
    let adapter = Arc::new(Scripted::new(erp.clone()));
    adapter.fault_on(
        "upsert_customer",
        1,
        Fault::error(|| Error::RateLimited { retry_after: None }),
    );
    adapter.fault_on(
        "upsert_item",
        1,
        Fault::error(|| Error::auth("token revoked")),
    );
    let store = Arc::new(InMemorySyncStore::new());
    let engine = engine(adapter, store.clone());
    let first = engine.push(&batch()).await.expect("push");
    let c1 = first.get(EntityKind::Customer, "c-1").expect("c-1");
    assert!(matches!(
        c1.outcome,
        Outcome::Pending {
            kind: ErrorKind::RateLimited,
            ..
        }
    ));
    assert_eq!(c1.sends, 1);
    assert!(matches!(
        outcome(&first, EntityKind::Item, "it-1"),
        Outcome::Failed {
            kind: ErrorKind::Auth,
            ..
        }
    ));
    let second = engine.push(&batch()).await.expect("rerun");
    assert!(second.is_complete(), "{second:#?}");
    assert_exactly_once(&erp, &store).await;
}

#[tokio::test]
async fn invalid_batches_are_rejected_before_any_call() {
    let erp = Arc::new(MemoryErp::new());
    let engine = engine(erp.clone(), Arc::new(InMemorySyncStore::new()));
    let mut twice = batch();
    twice.customers.push(Customer::new("c-1", "Otra"));
    let err = engine.push(&twice).await.expect_err("duplicate ref");
    assert_eq!(err.kind(), ErrorKind::Validation);
    let empty = SyncBatch::new().with_customer(Customer::new("", "Sin referencia"));
    assert_eq!(
        engine.push(&empty).await.expect_err("empty ref").kind(),
        ErrorKind::Validation
    );
    assert_eq!(erp.calls("upsert_customer"), 0);
}

#[test]
fn keys_and_fingerprints_are_deterministic_and_distinct() {
    #[derive(serde::Serialize)]
    struct Ab {
        a: u8,
        b: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Ba {
        b: &'static str,
        a: u8,
    }
    let f1 = Fingerprint::of(&Ab { a: 1, b: "x" }).expect("fp");
    assert_eq!(f1, Fingerprint::of(&Ba { b: "x", a: 1 }).expect("fp"));
    // SHA-256 of the canonical JSON `{"a":1,"b":"x"}` (checked with `printf '%s' '{"a":1,"b":"x"}' | sha256sum`).
    assert_eq!(f1.to_string(), SHA_AB);
    assert_eq!(Fingerprint::from_hex(&f1.to_string()).expect("hex"), f1);
    assert!(Fingerprint::from_hex("zz").is_err());
    let f2 = Fingerprint::of(&Ab { a: 2, b: "x" }).expect("fp");
    assert_ne!(f1, f2);
    let k = |fp: &Fingerprint, generation| {
        derive_key(SCOPE, EntityKind::Invoice, "inv-1", fp, generation).expect("key")
    };
    assert_eq!(k(&f1, 1), k(&f1, 1));
    assert_ne!(k(&f1, 1), k(&f1, 2));
    assert_ne!(k(&f1, 1), k(&f2, 1));
    assert_ne!(
        k(&f1, 1),
        derive_key("memory:other", EntityKind::Invoice, "inv-1", &f1, 1).expect("key")
    );
    assert!(k(&f1, 1).as_str().starts_with("sync-inv-"));
    assert_eq!(k(&f1, 1).as_str().len(), 41);
}

const SHA_AB: &str = "ecf9e98ec0641e23113ff3ce8bdc78d0ddd249886517fd4a7f68cc83d4e65667";

#[test]
fn push_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let engine = engine(
        Arc::new(MemoryErp::new()),
        Arc::new(InMemorySyncStore::new()),
    );
    let b = batch();
    let fut = engine.push(&b);
    assert_send(&fut);
}

/// A fault for one adapter call of a random schedule. Only faults a real provider can produce for a request
/// that it then applies or not: no verdicts on replays of applied writes (see the module docs).
fn fault() -> impl Strategy<Value = Option<Fault>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(Fault::error(|| Error::transient("503 before processing")))),
        1 => Just(Some(Fault::error(|| Error::RateLimited { retry_after: None }))),
        1 => Just(Some(Fault::error(|| Error::uncertain("timeout, not applied")))),
        2 => Just(Some(Fault::ApplyThenTimeout)),
        1 => Just(Some(Fault::error(|| Error::auth("token expired")))),
    ]
}

#[derive(Debug, Clone)]
struct RunPlan {
    faults: Vec<Option<Fault>>,
    /// The process dies at this journal write, if any.
    crash_at_save: Option<usize>,
}

fn run_plan() -> impl Strategy<Value = RunPlan> {
    (
        prop::collection::vec(fault(), 0..16),
        prop::option::weighted(0.4, 1usize..30),
    )
        .prop_map(|(faults, crash_at_save)| RunPlan {
            faults,
            crash_at_save,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any schedule of faults and crashes over several runs, then one clean run: every record exists exactly
    /// once and every journal entry is done.
    #[test]
    fn random_faults_and_crashes_converge_to_exactly_once(runs in prop::collection::vec(run_plan(), 1..5)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let erp = Arc::new(MemoryErp::new());
            let adapter = Arc::new(Scripted::new(erp.clone()));
            let journal = Arc::new(InMemorySyncStore::new());
            for plan in runs {
                adapter.plan(plan.faults.clone());
                let crash = plan.crash_at_save;
                let store = Arc::new(DyingStore::new(journal.clone(), move |n| Some(n) == crash));
                let result = engine(adapter.clone(), store.clone()).push(&batch()).await;
                match result {
                    Ok(report) => {
                        prop_assert!(!store.died());
                        for r in &report.records {
                            if let Outcome::Failed { kind, .. } = &r.outcome {
                                prop_assert_eq!(*kind, ErrorKind::Auth, "{:?}", r);
                            }
                        }
                    }
                    Err(_) => prop_assert!(store.died()),
                }
                for (kind, max) in [(EntityKind::Customer, 2), (EntityKind::Invoice, 2), (EntityKind::Payment, 1), (EntityKind::CreditNote, 1)] {
                    prop_assert!(erp.count(kind) <= max);
                }
            }
            adapter.plan(Vec::new());
            let report = engine(adapter.clone(), journal.clone()).push(&batch()).await.expect("clean run");
            prop_assert!(report.is_complete(), "{:#?}", report);
            assert_exactly_once(&erp, &journal).await;
            Ok(())
        })?;
    }
}
