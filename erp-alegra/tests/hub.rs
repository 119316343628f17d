//! The adapter driven through erp-hub-core's sync hub (MemoryStore and SqliteStore) while the mock Alegra
//! injects faults: writes applied and then answered 500, unreadable 200 answers, 429 storms. Every record must
//! land exactly once: duplicates = 0, lost = 0.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use erp_alegra::testing::MockAlegra;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::hub::{Hub, HubConfig, HubStore, MemoryStore, Scope, SqliteStore};
use erp_hub_core::testing::family;
use serde_json::Value;

async fn exactly_once_through_faults(store: Arc<dyn HubStore>) {
    const FAMILIES: usize = 10;
    let mock = Arc::new(MockAlegra::start().await);
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(3)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(40))
            .with_poll(Duration::from_millis(10))
            .with_max_attempts(40),
    );
    let scope = Scope::new("acme", "alegra:1");
    hub.register(scope.clone(), Arc::new(mock.adapter().expect("adapter")));
    let ops: Vec<WriteOp> = (0..FAMILIES).flat_map(family).collect();
    hub.enqueue(&scope, ops).await.expect("enqueue");

    // Faults while the hub works: a storm to start with, a few 429s, then every 4th write applied and answered
    // 500 and every 7th successful answer unreadable.
    mock.throttle_next(3);
    mock.periodic_faults(4, 7);
    let status = hub.run_until_settled().await.expect("run");
    mock.periodic_faults(0, 0);
    assert!(
        status
            .iter()
            .all(|s| s.done == (FAMILIES * 4) as u64 && s.dead == 0),
        "{status:?}"
    );

    let requests = mock.requests();
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for r in &requests {
        *by_status.entry(r.status).or_default() += 1;
    }
    println!("requests by status: {by_status:?}");
    let failed_after_apply = requests.iter().filter(|r| r.status == 500).count();
    assert!(
        failed_after_apply >= 5,
        "only {failed_after_apply} writes answered 500 after they were applied"
    );
    assert!(
        requests.iter().any(|r| r.status == 429),
        "no 429 was answered"
    );

    let mut duplicates = 0;
    let mut lost = 0;
    for coll in ["contacts", "invoices", "payments", "credit-notes"] {
        let mut per_ref: HashMap<String, usize> = HashMap::new();
        for r in mock.records(coll) {
            if let Some(o) = r.get("observations").and_then(Value::as_str) {
                *per_ref.entry(o.to_owned()).or_default() += 1;
            }
        }
        duplicates += per_ref
            .values()
            .filter(|n| **n > 1)
            .map(|n| n - 1)
            .sum::<usize>();
        lost += FAMILIES.saturating_sub(per_ref.len());
    }
    // Balances: 1,160 − 500 − 116 = 544 on every invoice (each payment and credit note applied once).
    for inv in mock.records("invoices") {
        assert_eq!(inv["balance"], "544.00", "{inv}");
    }
    println!("duplicates={duplicates} lost={lost} writes_failed_after_apply={failed_after_apply}");
    assert_eq!((duplicates, lost), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_memory_store_exactly_once_through_faults() {
    exactly_once_through_faults(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_sqlite_store_exactly_once_through_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("hub.db"))
        .await
        .expect("sqlite");
    exactly_once_through_faults(Arc::new(store)).await;
}
