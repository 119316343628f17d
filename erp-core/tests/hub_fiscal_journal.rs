//! The fiscal `StampJournal` on every store, through the shared suite (`testing::journal`): the protocol
//! (`check`), racing workers (`race`: tasks on one journal, and on PostgreSQL four pools as four worker
//! processes would have), and durability (SQLite: everything, cancellations included, is there after the store
//! is dropped and the file reopened).

mod hub_common;

use std::sync::Arc;

use erp_hub_core::fiscal::{
    FiscalDocumentKind, FiscalKey, JournalEntry, MemoryStampJournal, StampJournal,
};
use erp_hub_core::hub::{HubStore, MemoryStore, PgStore, SqliteStore};
use erp_hub_core::model::EntityKind;
use erp_hub_core::testing::journal::{check, race};
use hub_common::fresh_pg_database;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_journal() {
    let j = MemoryStampJournal::new();
    check(&j, "t1").await.unwrap();
    let shared: Arc<dyn StampJournal> = Arc::new(MemoryStampJournal::new());
    race(&[shared], "t1").await.unwrap();
    // The memory store hands out one shared journal.
    let store = MemoryStore::new();
    let a = store.stamp_journal();
    check(a.as_ref(), "t2").await.unwrap();
    let b = HubStore::stamp_journal(&store).expect("journal");
    assert_eq!(
        b.stamped("t2", FiscalDocumentKind::Invoice)
            .await
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_journal_is_durable_and_race_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let inv1 = FiscalKey::new("t1", EntityKind::Invoice, "inv-1");
    let (before, pending_before, cancel_before) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let j = store.stamp_journal();
        check(&j, "t1").await.unwrap();
        let shared: Arc<dyn StampJournal> = Arc::new(j.clone());
        // Two journals on the same store (one pool) and one through the HubStore trait.
        let via_trait = HubStore::stamp_journal(&store).expect("journal");
        race(&[shared, via_trait], "t2").await.unwrap();
        let pending = FiscalKey::new("t1", EntityKind::Invoice, "inv-pending");
        j.begin(&pending, "sealed-pending").await.unwrap();
        j.sending(&pending, "finkok").await.unwrap();
        let before = j.stamped("t1", FiscalDocumentKind::Invoice).await.unwrap();
        let cancel = j.cancellation(&inv1).await.unwrap();
        (before, j.get(&pending).await.unwrap(), cancel)
    };
    // Dropped (pool closed on drop), reopened: a restart sees every stamp, in the same order, and the pending
    // document with the certifier it may have reached.
    let store = SqliteStore::open(&path).await.unwrap();
    let j = store.stamp_journal();
    let after = j.stamped("t1", FiscalDocumentKind::Invoice).await.unwrap();
    assert_eq!(before.len(), 5);
    assert_eq!(before, after);
    // `check` left invoice inv-1 cancelled: the cancellation survives the restart too.
    let cancel_after = j.cancellation(&inv1).await.unwrap();
    assert!(
        cancel_before
            .as_ref()
            .is_some_and(|c| c.state.is_cancelled()),
        "{cancel_before:?}"
    );
    assert_eq!(cancel_before, cancel_after);
    let pending = FiscalKey::new("t1", EntityKind::Invoice, "inv-pending");
    assert_eq!(j.get(&pending).await.unwrap(), pending_before);
    match pending_before {
        Some(JournalEntry::Pending { sealed, attempts }) => {
            assert_eq!(sealed, "sealed-pending");
            assert_eq!(attempts.len(), 1);
            assert!(!attempts[0].definitely_not_stamped);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        j.stamped("t2", FiscalDocumentKind::Invoice)
            .await
            .unwrap()
            .len(),
        12
    );
    // A second store on the same file (a second handle after restart) races with the first.
    let other = SqliteStore::open(&path).await.unwrap();
    race(&[Arc::new(j), Arc::new(other.stamp_journal())], "t3")
        .await
        .unwrap();
}

/// SQLite group commit: writes that fail (here `sending` for documents never begun) share rounds with writes
/// that succeed; each failed write is answered with its own error and undone alone, every other write of its
/// round is committed (and still there after a reopen).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_group_commit_isolates_a_failed_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let j = store.stamp_journal();
        let mut tasks = Vec::new();
        for n in 0..64u32 {
            let j = j.clone();
            tasks.push(tokio::spawn(async move {
                let key = FiscalKey::new("t1", EntityKind::Invoice, format!("g-{n}"));
                if n % 3 == 0 {
                    j.sending(&key, "finkok").await.map(|()| None)
                } else {
                    j.begin_sending(&key, &format!("sealed-{n}"), "finkok")
                        .await
                }
            }));
        }
        for (n, t) in tasks.into_iter().enumerate() {
            match (n % 3, t.await.unwrap()) {
                (0, Err(e)) => assert_eq!(e.kind(), erp_hub_core::ErrorKind::Conflict, "{e}"),
                (0, other) => panic!("g-{n}: sending without begin answered {other:?}"),
                (_, Ok(None)) => {}
                (_, other) => panic!("g-{n}: begin_sending answered {other:?}"),
            }
        }
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let j = store.stamp_journal();
    for n in 0..64u32 {
        let key = FiscalKey::new("t1", EntityKind::Invoice, format!("g-{n}"));
        match (n % 3, j.get(&key).await.unwrap()) {
            (0, None) => {}
            (0, other) => panic!("g-{n}: a failed write left {other:?}"),
            (_, Some(JournalEntry::Pending { sealed, attempts })) => {
                assert_eq!(sealed, format!("sealed-{n}"));
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].certifier, "finkok");
            }
            (_, other) => panic!("g-{n}: expected pending, found {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_journal_with_workers_on_separate_connections() {
    let url = fresh_pg_database().await;
    let store = PgStore::connect(&url).await.unwrap();
    check(&store.stamp_journal(), "t1").await.unwrap();
    // Four stores = four pools, as four worker processes would have.
    let mut journals: Vec<Arc<dyn StampJournal>> = Vec::new();
    for _ in 0..4 {
        journals.push(Arc::new(
            PgStore::connect(&url).await.unwrap().stamp_journal(),
        ));
    }
    race(&journals, "t2").await.unwrap();
    // Reconnected: still there.
    drop(journals);
    let again = PgStore::connect(&url).await.unwrap();
    let j = HubStore::stamp_journal(&again).expect("journal");
    assert_eq!(
        j.stamped("t2", FiscalDocumentKind::Invoice)
            .await
            .unwrap()
            .len(),
        12
    );
    assert_eq!(
        j.stamped("t1", FiscalDocumentKind::Invoice)
            .await
            .unwrap()
            .len(),
        5
    );
}
