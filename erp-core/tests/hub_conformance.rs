//! The shared conformance suite with the sync hub in front of `MemoryErp`: every write is enqueued and drained
//! by the hub's workers (on the in-memory store and on SQLite), including `verdict_after_apply`.

use std::sync::Arc;

use erp_hub_core::hub::{HubStore, SqliteStore};
use erp_hub_core::testing::conformance::{self, Context};
use erp_hub_core::testing::{HubDriven, MemoryErp, run_all_via_hub};

fn failures(results: &[(&str, conformance::Outcome)]) -> Vec<String> {
    results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub_on_memory_erp() {
    let erp = Arc::new(MemoryErp::new().with_page_size(2));
    let results = run_all_via_hub(erp.clone(), &Context::new("hubconf"), erp.as_ref()).await;
    assert_eq!(failures(&results), Vec::<String>::new());
    assert_eq!(results.len(), 11);
    assert!(results.iter().any(|(n, _)| *n == "verdict_after_apply"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn HubStore> =
        Arc::new(SqliteStore::open(dir.path().join("hub.db")).await.unwrap());
    let erp = Arc::new(MemoryErp::new());
    let driven = HubDriven::with_store(erp.clone(), store.clone());
    let results = conformance::run_all(&driven, &Context::new("hubsql"), erp.as_ref()).await;
    assert_eq!(failures(&results), Vec::<String>::new());
    // The writes really went through the store: each has a sync log.
    let status = store.status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(status[0].done >= 20, "{status:?}");
    assert_eq!(status[0].queued + status[0].claimed, 0, "{status:?}");
}
