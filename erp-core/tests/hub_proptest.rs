//! Property: whatever the fault schedule and wherever the hub crashes (its worker tasks aborted mid-flight,
//! claims left behind under a lease), a restarted hub on the same store delivers every record exactly once:
//! MemoryErp (which outlives the crashes, like a provider) holds one record per external reference, every
//! record is done, and the sync log has one entry per attempt. On the in-memory store and on SQLite.

mod hub_common;

use std::sync::Arc;
use std::time::Duration;

use erp_hub_core::hub::{Hub, HubConfig, HubStore, RecordFilter, RecordState, Scope};
use erp_hub_core::model::EntityKind;
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, ErrorKind};
use hub_common::family;
use proptest::prelude::*;

const FAMILIES: usize = 3;

fn config() -> HubConfig {
    HubConfig::default()
        .with_workers(3)
        .with_batch_size(3)
        .with_backoff(Duration::from_millis(2), Duration::from_millis(20))
        .with_poll(Duration::from_millis(5))
        .with_lease(Duration::from_millis(150), Duration::from_millis(50))
        .with_max_attempts(1000)
}

fn fault(kind: u8) -> Fault {
    match kind {
        0 => Fault::ApplyThenTimeout,
        1 => Fault::error(|| Error::transient("503 Service Unavailable")),
        2 => Fault::error(|| Error::RateLimited {
            retry_after: Some(Duration::from_millis(5)),
        }),
        _ => Fault::error(|| Error::uncertain("connection reset after the request was sent")),
    }
}

async fn run(store: Arc<dyn HubStore>, faults: Vec<u8>, crashes: Vec<u64>) {
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    let ops = (0..FAMILIES).flat_map(family).collect();
    Hub::new(Arc::clone(&store), config())
        .enqueue(&scope, ops)
        .await
        .expect("enqueue");
    // The schedule is injected in waves, one per run (each crashed run and the final one), so that faults
    // also meet invoices, payments and credit notes, not only the customers that are ready first.
    let waves = crashes.len() + 1;
    let mut faults = faults.chunks(faults.len().div_ceil(waves).max(1));
    for after in crashes {
        for &k in faults.next().unwrap_or_default() {
            erp.inject(1, fault(k));
        }
        let hub = Hub::new(Arc::clone(&store), config());
        hub.register(scope.clone(), erp.clone());
        let handle = hub.start();
        tokio::time::sleep(Duration::from_millis(after)).await;
        // A crash: the worker tasks are aborted wherever they are (dropping the handle aborts its JoinSet).
        drop(handle);
    }
    for &k in faults.flatten() {
        erp.inject(1, fault(k));
    }
    let hub = Hub::new(Arc::clone(&store), config());
    hub.register(scope.clone(), erp.clone());
    let status = tokio::time::timeout(Duration::from_secs(60), hub.run_until_settled())
        .await
        .expect("settles")
        .expect("run");
    assert_eq!(status[0].done as usize, FAMILIES * 4, "{status:?}");
    for kind in [
        EntityKind::Customer,
        EntityKind::Invoice,
        EntityKind::Payment,
        EntityKind::CreditNote,
    ] {
        assert_eq!(
            erp.count(kind),
            FAMILIES,
            "{kind}: nothing lost, nothing twice"
        );
    }
    for r in store.records(&RecordFilter::all()).await.expect("records") {
        assert_eq!(r.state, RecordState::Done, "{r:?}");
        let full = store.record(r.id).await.expect("record").expect("exists");
        assert_eq!(
            full.history.len() as u32,
            full.attempts,
            "one log entry per attempt"
        );
        assert!(
            full.history
                .iter()
                .all(|h| h.error_kind != Some(ErrorKind::Duplicate)),
            "{full:?}"
        );
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_survives_faults_and_crashes(
        faults in proptest::collection::vec(0u8..4, 0..16),
        crashes in proptest::collection::vec(0u64..200, 0..4),
    ) {
        rt().block_on(run(hub_common::memory(), faults, crashes));
    }

    #[test]
    fn sqlite_store_survives_faults_and_crashes(
        faults in proptest::collection::vec(0u8..4, 0..16),
        crashes in proptest::collection::vec(0u64..200, 0..4),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        rt().block_on(async { run(hub_common::sqlite(&dir).await, faults, crashes).await });
    }
}
