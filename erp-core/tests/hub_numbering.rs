//! Gap-free numbering (`hub::numbering`) on every store: a number is consumed only with its document, a
//! document keeps its number across calls, a failed build consumes nothing, concurrent workers (tasks, and
//! connections of separate stores on one PostgreSQL) never skip or repeat one, a counter moved back by a
//! restore is refused instead of reusing a number.

mod hub_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use erp_hub_core::hub::numbering::{MemoryNumbers, NumberStore, Series};
use erp_hub_core::hub::{PgStore, SqliteStore};
use erp_hub_core::{Error, ErrorKind};
use hub_common::fresh_pg_database;

fn doc(n: u64) -> erp_hub_core::Result<Vec<u8>> {
    Ok(format!("<FE consecutivo=\"{n:010}\"/>").into_bytes())
}

async fn semantics(store: &dyn NumberStore) {
    let fe = Series::new("3101234567", "001-00001-01");
    let nc = Series::new("3101234567", "001-00001-03");
    assert_eq!(store.last(&fe).await.unwrap(), 0);

    let a = store.issue(&fe, "inv-1", &doc).await.unwrap();
    assert_eq!((a.number, a.fresh), (1, true));
    assert_eq!(a.document, doc(1).unwrap());
    // The same document again: its number and bytes, and `build` is not called.
    let calls = AtomicUsize::new(0);
    let counting = |n: u64| {
        calls.fetch_add(1, Ordering::SeqCst);
        doc(n)
    };
    let again = store.issue(&fe, "inv-1", &counting).await.unwrap();
    assert_eq!((again.number, again.fresh), (1, false));
    assert_eq!(again.document, a.document);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A build that fails consumes nothing: the next document gets the number.
    let failing = |_n: u64| -> erp_hub_core::Result<Vec<u8>> {
        Err(Error::invalid("Receptor", "no identification"))
    };
    let err = store.issue(&fe, "inv-2", &failing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert_eq!(store.last(&fe).await.unwrap(), 1);
    assert!(store.get(&fe, "inv-2").await.unwrap().is_none());
    assert_eq!(store.issue(&fe, "inv-3", &doc).await.unwrap().number, 2);

    // Series are independent.
    assert_eq!(store.issue(&nc, "cn-1", &doc).await.unwrap().number, 1);
    assert_eq!(store.get(&fe, "inv-3").await.unwrap().unwrap().number, 2);

    // advance_to never moves back.
    store.advance_to(&fe, 1).await.unwrap();
    assert_eq!(store.last(&fe).await.unwrap(), 2);
    store.advance_to(&fe, 40).await.unwrap();
    assert_eq!(store.issue(&fe, "inv-4", &doc).await.unwrap().number, 41);
}

/// Many tasks issue documents of one series at once, some twice: numbers 1..=n, each once, every document one.
async fn concurrent(stores: Vec<Arc<dyn NumberStore>>) {
    let fe = Series::new("3101234567", "001-00002-01");
    let mut tasks = Vec::new();
    for i in 0..60usize {
        let store = stores[i % stores.len()].clone();
        let fe = fe.clone();
        tasks.push(tokio::spawn(async move {
            // Documents 0..40, some issued by two tasks.
            let key = format!("inv-{}", i % 40);
            store.issue(&fe, &key, &doc).await.map(|d| (key, d.number))
        }));
    }
    let mut by_key = std::collections::HashMap::new();
    for t in tasks {
        let (key, number) = t.await.unwrap().unwrap();
        let first = *by_key.entry(key.clone()).or_insert(number);
        assert_eq!(first, number, "{key} got two numbers");
    }
    let numbers: BTreeSet<u64> = by_key.values().copied().collect();
    assert_eq!(numbers.len(), 40, "two documents share a number");
    assert_eq!(numbers, (1..=40).collect(), "gap or overshoot");
    assert_eq!(stores[0].last(&fe).await.unwrap(), 40);
}

#[tokio::test]
async fn memory_numbers() {
    semantics(&MemoryNumbers::new()).await;
    concurrent(vec![Arc::new(MemoryNumbers::new())]).await;
}

#[tokio::test]
async fn sqlite_numbers_survive_reopening_and_refuse_a_restored_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(&path).await.unwrap();
    semantics(&store).await;
    concurrent(vec![Arc::new(store)]).await;

    // Reopened (a restart): the documents and the counter are on disk.
    let store = SqliteStore::open(&path).await.unwrap();
    let fe = Series::new("3101234567", "001-00001-01");
    assert_eq!(store.get(&fe, "inv-4").await.unwrap().unwrap().number, 41);
    assert_eq!(store.issue(&fe, "inv-5", &doc).await.unwrap().number, 42);

    // A restore moves the counter back below stored numbers: refused, nothing reused.
    sqlx::query("UPDATE hub_number_series SET last_number = 40 WHERE series = '001-00001-01'")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.issue(&fe, "inv-6", &doc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("restored backup"), "{err}");
    store.advance_to(&fe, 42).await.unwrap();
    assert_eq!(store.issue(&fe, "inv-6", &doc).await.unwrap().number, 43);
}

#[tokio::test]
async fn pg_numbers_with_workers_on_separate_connections() {
    let url = fresh_pg_database().await;
    let store = PgStore::connect(&url).await.unwrap();
    semantics(&store).await;
    // Four stores = four pools, as four worker processes would have.
    let mut stores: Vec<Arc<dyn NumberStore>> = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(PgStore::connect(&url).await.unwrap()));
    }
    concurrent(stores).await;

    let fe = Series::new("3101234567", "001-00001-01");
    sqlx::query("UPDATE hub_number_series SET last_number = 1 WHERE series = '001-00001-01'")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.issue(&fe, "inv-9", &doc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
}
