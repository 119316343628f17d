//! PostgreSQL going away mid-run: the store's calls fail with transient errors, workers survive, and after
//! the server is back every record is done exactly once. Needs the throwaway cluster of
//! `scripts/with-postgres.sh` (it stops and restarts it), so it lives in its own test binary.

mod hub_common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use erp_hub_core::ErrorKind;
use erp_hub_core::hub::{Hub, HubConfig, HubStore, PgStore, RecordFilter, RecordState, Scope};
use erp_hub_core::model::EntityKind;
use erp_hub_core::testing::MemoryErp;
use hub_common::*;

fn pg_ctl(args: &[&str]) {
    let var = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: run through scripts/with-postgres.sh"))
    };
    let (bin, data, port, sock) = (
        var("ERP_HUB_PG_BIN"),
        var("ERP_HUB_PG_DATA"),
        var("ERP_HUB_PG_PORT"),
        var("ERP_HUB_PG_SOCKET"),
    );
    let cmd = format!(
        "{bin}/pg_ctl -D {data} -w -l {sock}/server.log -o '-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200' {}",
        args.join(" ")
    );
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let status = if as_root {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", &cmd])
            .status()
    } else {
        Command::new("sh").args(["-c", &cmd]).status()
    }
    .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl {args:?} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_mid_run_loses_nothing() {
    let url = fresh_pg_database().await;
    let store: Arc<dyn HubStore> = Arc::new(PgStore::connect(&url).await.unwrap());
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(3)
            .with_poll(Duration::from_millis(10))
            .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
            .with_lease(Duration::from_secs(2), Duration::from_millis(500)),
    );
    let scope = Scope::new("acme", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(scope.clone(), erp.clone());
    let mut ops = Vec::new();
    for n in 0..100 {
        ops.extend(family(n));
    }
    hub.enqueue(&scope, ops).await.unwrap();
    let running = hub.start();
    tokio::time::sleep(Duration::from_millis(150)).await;

    pg_ctl(&["-m", "immediate", "stop"]);
    let err = store.status().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(hub.store_errors() > 0, "workers met the outage");
    pg_ctl(&["start"]);

    let mut done = 0;
    for _ in 0..600 {
        if let Ok(s) = store.status().await {
            done = s[0].done;
            if done == 400 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.shutdown().await;
    assert_eq!(done, 400);
    for kind in [
        EntityKind::Customer,
        EntityKind::Invoice,
        EntityKind::Payment,
        EntityKind::CreditNote,
    ] {
        assert_eq!(erp.count(kind), 100, "{kind}: nothing lost, nothing twice");
    }
    let records = store.records(&RecordFilter::all()).await.unwrap();
    assert!(records.iter().all(|r| r.state == RecordState::Done));
}
