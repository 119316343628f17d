//! The hub's metrics as a recorder sees them: the status gauges of a long-running hub ([`Hub::start`]).
//!
//! One global recorder per test binary, so these tests live in their own file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use erp_hub_core::adapter::{
    Capabilities, ChangeCursor, ChangePage, CompanyInfo, ErpAdapter, IdempotencyKey, RemoteRecord,
    WriteOp,
};
use erp_hub_core::hub::{Hub, HubConfig, HubStore, MemoryStore, RecordFilter, Scope};
use erp_hub_core::model::{
    CreditNote, Customer, EntityKind, Invoice, Item, ItemKind, Payment, RemoteRef,
};
use erp_hub_core::testing::{MemoryErp, family};
use erp_hub_core::{Error, Result};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Every value recorded, by `name{label=value,…}` (labels sorted).
#[derive(Default)]
struct Values {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<String, Arc<Mutex<f64>>>>,
    histograms: Mutex<BTreeMap<String, Arc<Mutex<Vec<f64>>>>>,
}

struct Cell<T>(Arc<T>);

impl CounterFn for Cell<AtomicU64> {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

// float-ok: metric values are f64 by the facade's design (counts and seconds, not money)
#[allow(clippy::float_arithmetic)]
impl GaugeFn for Cell<Mutex<f64>> {
    fn increment(&self, value: f64) {
        *self.0.lock().unwrap() += value;
    }
    fn decrement(&self, value: f64) {
        *self.0.lock().unwrap() -= value;
    }
    fn set(&self, value: f64) {
        *self.0.lock().unwrap() = value;
    }
}

impl HistogramFn for Cell<Mutex<Vec<f64>>> {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

fn name(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

struct Capture(Arc<Values>);

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(
            self.0
                .counters
                .lock()
                .unwrap()
                .entry(name(key))
                .or_default(),
        );
        Counter::from_arc(Arc::new(Cell(cell)))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let cell = Arc::clone(self.0.gauges.lock().unwrap().entry(name(key)).or_default());
        Gauge::from_arc(Arc::new(Cell(cell)))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let cell = Arc::clone(
            self.0
                .histograms
                .lock()
                .unwrap()
                .entry(name(key))
                .or_default(),
        );
        Histogram::from_arc(Arc::new(Cell(cell)))
    }
}

fn values() -> &'static Arc<Values> {
    static VALUES: OnceLock<Arc<Values>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let v = Arc::new(Values::default());
        metrics::set_global_recorder(Capture(Arc::clone(&v))).expect("one recorder per binary");
        v
    })
}

fn gauge(name: &str) -> Option<f64> {
    values()
        .gauges
        .lock()
        .unwrap()
        .get(name)
        .map(|g| *g.lock().unwrap())
}

/// A hub started with `Hub::start` (no `run_until_settled`, no `publish_status`) publishes the queue gauges
/// while it runs: a dead-lettered customer and its three blocked dependents show up as they happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_hub_publishes_its_status_gauges() {
    values();
    let hub = Hub::new(
        Arc::new(MemoryStore::new()),
        HubConfig::default()
            .with_poll(Duration::from_millis(10))
            .with_lease(Duration::from_secs(2), Duration::from_millis(20)),
    );
    let scope = Scope::new("gauges", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(scope.clone(), erp.clone());
    erp.fail_next(1, || {
        Error::invalid("legal_name", "rejected by the provider")
    });
    hub.enqueue(&scope, family(1)).await.unwrap();
    let handle = hub.start();
    let dead = "erp_hub_dead_letters{connection=memory:1,tenant=gauges}";
    let blocked = "erp_hub_queue_depth{connection=memory:1,state=blocked,tenant=gauges}";
    let mut seen = false;
    // Waits for an event, with a generous bound; no duration is asserted.
    for _ in 0..1000 {
        if gauge(dead) == Some(1.0) && gauge(blocked) == Some(3.0) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let published: Vec<String> = values().gauges.lock().unwrap().keys().cloned().collect();
    assert!(seen, "gauges while running: {published:?}");
    assert!(
        gauge("erp_hub_oldest_pending_seconds{connection=memory:1,tenant=gauges}")
            .is_some_and(|age| age >= 0.0)
    );
    handle.shutdown().await;
}

/// MemoryErp behind a provider name of its own that takes up to 10 writes per request (the default
/// `write_batch`: one call per element).
struct Batching(MemoryErp);

#[async_trait::async_trait]
impl ErpAdapter for Batching {
    fn provider(&self) -> &'static str {
        "batching"
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn max_batch(&self) -> usize {
        10
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
        kinds: &[EntityKind],
        c: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.0.list_changed_since(kinds, c).await
    }
}

fn samples(name: &str) -> usize {
    values()
        .histograms
        .lock()
        .unwrap()
        .get(name)
        .map_or(0, |h| h.lock().unwrap().len())
}

fn counter(name: &str) -> u64 {
    values()
        .counters
        .lock()
        .unwrap()
        .get(name)
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// A batching adapter's records are measured one by one under their own operation: one latency sample and
/// at most one error per record sent, so `errors_total / request_seconds_count` is errors over records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_records_are_measured_per_record_and_operation() {
    values();
    let store: Arc<dyn HubStore> = Arc::new(MemoryStore::new());
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(1)
            .with_poll(Duration::from_millis(10))
            .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
    );
    let scope = Scope::new("batching", "memory:1");
    let erp = Arc::new(Batching(MemoryErp::new()));
    hub.register(scope.clone(), erp.clone());
    // The first element of the first batch fails once.
    erp.0
        .fail_next(1, || Error::transient("503 Service Unavailable"));
    let mut ops: Vec<WriteOp> = (1..=3)
        .map(|n| WriteOp::UpsertCustomer(Customer::new(format!("b-{n}"), format!("Lote {n} SA"))))
        .collect();
    ops.extend((1..=2).map(|n| {
        WriteOp::UpsertItem(Item::new(
            format!("i-{n}"),
            format!("SKU-{n}"),
            format!("Artículo {n}"),
            ItemKind::Service,
        ))
    }));
    hub.enqueue(&scope, ops).await.unwrap();
    let status = hub.run_until_settled().await.unwrap();
    assert_eq!(status[0].done, 5, "{status:?}");
    let attempts: u32 = store
        .records(&RecordFilter::all().with_scope(scope))
        .await
        .unwrap()
        .iter()
        .map(|r| r.attempts)
        .sum();
    assert_eq!(attempts, 6);
    let lat = |op: &str| {
        samples(&format!(
            "erp_hub_request_seconds{{operation={op},provider=batching}}"
        ))
    };
    let err = |op: &str| {
        counter(&format!(
            "erp_hub_errors_total{{error_kind=transient,operation={op},provider=batching}}"
        ))
    };
    // One sample per record sent (6 sends), under each record's operation; no `write_batch` label.
    assert_eq!(lat("upsert_customer") + lat("upsert_item"), 6);
    assert!(lat("upsert_customer") >= 3 && lat("upsert_item") >= 2);
    assert_eq!(lat("write_batch"), 0);
    assert_eq!(err("upsert_customer") + err("upsert_item"), 1);
    assert_eq!(err("write_batch"), 0);
    let outcome = |o: &str| {
        counter(&format!(
            "erp_hub_records_total{{outcome={o},provider=batching,tenant=batching}}"
        ))
    };
    assert_eq!((outcome("done"), outcome("retry")), (5, 1));
}
