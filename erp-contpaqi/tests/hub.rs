//! The sync hub (erp-hub-core `hub`, in-memory store) pushing families of records through the adapter to the
//! reference bridge while the bridge misbehaves: 429 storms, lost answers to accepted jobs, a held SDK thread
//! (jobs still queued when polling gives up: `Uncertain`), a slow SDK (jobs `running` for a while). Every record must land exactly once: duplicates = 0, lost = 0.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use erp_contpaqi::testing::MockContpaqi;
use erp_contpaqi::{ContpaqiAdapter, PollPolicy};
use erp_hub_core::adapter::ErpAdapter;
use erp_hub_core::hub::{Hub, HubConfig, HubStore, MemoryStore, RecordFilter, RecordState, Scope};
use erp_hub_core::testing::conformance::FaultHook;
use rust_decimal_macros::dec;

use erp_hub_core::testing::family;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_through_a_misbehaving_bridge_delivers_exactly_once() {
    const FAMILIES: usize = 12;
    let mock = Arc::new(MockContpaqi::start().await);
    let mut config = mock.config();
    // Give up polling quickly, so a held SDK thread produces `Uncertain` answers the hub must retry.
    config.poll = PollPolicy::new(
        Duration::from_millis(2),
        Duration::from_millis(10),
        Duration::from_millis(40),
    );
    let adapter: Arc<dyn ErpAdapter> = Arc::new(
        ContpaqiAdapter::new(config)
            .expect("adapter")
            .with_mapping(MockContpaqi::mapping()),
    );
    let store: Arc<dyn HubStore> = Arc::new(MemoryStore::new());
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(3)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(40))
            .with_poll(Duration::from_millis(10))
            .with_max_attempts(60),
    );
    let scope = Scope::new("tenant-1", "contpaqi");
    hub.register(scope.clone(), Arc::clone(&adapter));
    let mut ops = Vec::new();
    for n in 0..FAMILIES {
        ops.extend(family(n));
    }
    hub.enqueue(&scope, ops).await.expect("enqueue");

    // Faults while the hub works.
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let mock = Arc::clone(&mock);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                match round % 4 {
                    1 => mock.rate_limit_next(3).await,
                    2 => mock.lose_answers(2),
                    0 => {
                        mock.pause(true);
                        tokio::time::sleep(Duration::from_millis(120)).await;
                        mock.pause(false);
                    }
                    _ => {
                        mock.set_exec_delay(Duration::from_millis(15));
                        tokio::time::sleep(Duration::from_millis(60)).await;
                        mock.set_exec_delay(Duration::ZERO);
                    }
                }
                round += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            mock.pause(false);
            round
        })
    };
    let status = tokio::time::timeout(Duration::from_secs(120), hub.run_until_settled())
        .await
        .expect("hub settles")
        .expect("status");
    stop.store(true, Ordering::Relaxed);
    let rounds = chaos.await.expect("chaos task");
    assert!(rounds >= 2, "only {rounds} fault rounds ran");

    let records = store
        .records(&RecordFilter::all().with_scope(scope.clone()))
        .await
        .expect("records");
    let dead: Vec<String> = records
        .iter()
        .filter(|r| r.state != RecordState::Done)
        .map(|r| format!("{r:?}"))
        .collect();
    assert!(
        dead.is_empty(),
        "records not done (lost): {dead:#?}\n{status:?}"
    );
    assert_eq!(records.len(), FAMILIES * 4);
    // The held SDK thread made some writes `Uncertain`, and the hub resolved them by retrying the same key.
    let mut uncertain = 0;
    for r in &records {
        let full = store.record(r.id).await.expect("record").expect("exists");
        uncertain += full
            .history
            .iter()
            .filter(|a| a.error_kind == Some(erp_hub_core::ErrorKind::Uncertain))
            .count();
    }

    // Exactly once at CONTPAQi: one document per (concepto, reference), one cliente per family.
    let docs = mock.documentos();
    let mut per_ref: HashMap<(String, String), usize> = HashMap::new();
    for d in &docs {
        *per_ref
            .entry((d.concepto.clone(), d.referencia.clone()))
            .or_default() += 1;
    }
    let duplicates: usize = per_ref.values().map(|n| n - 1).sum();
    let conceptos = erp_contpaqi::Conceptos::default();
    let count = |c: &str| docs.iter().filter(|d| d.concepto == c).count();
    let lost = (FAMILIES - count(&conceptos.factura).min(FAMILIES))
        + (FAMILIES - count(&conceptos.pago).min(FAMILIES))
        + (FAMILIES - count(&conceptos.nota_credito).min(FAMILIES))
        + (FAMILIES - mock.clientes().len().min(FAMILIES));
    println!(
        "families={FAMILIES} fault_rounds={rounds} uncertain_attempts={uncertain} duplicates={duplicates} lost={lost}"
    );
    assert!(
        uncertain > 0,
        "no write was uncertain: the pause fault did not bite"
    );
    assert_eq!(duplicates, 0, "duplicates");
    assert_eq!(lost, 0, "lost");
    // Every invoice: 1160 − 500 paid − 116 credited.
    for d in docs.iter().filter(|d| d.concepto == conceptos.factura) {
        assert_eq!(d.pendiente.0, dec!(544), "{}", d.referencia);
    }
    // The faults were met: 429s and lost answers happened.
    let responses = mock.responses();
    for status in [429, 503] {
        assert!(
            responses.iter().any(|r| r.status == status),
            "no {status} answered"
        );
    }
}
