//! `WriteOp::AnswerReceived` (the answer to a fiscal document a supplier issued to us) as a hub record on every
//! store: it round-trips through serde and the store to the fiscal step, a fiscal adapter returns the
//! authority's record without writing to the ERP, and a plain adapter answers `Unsupported` (a dead letter in
//! the sync log).
//!
//! PostgreSQL tests need `DATABASE_URL`: run them through `scripts/with-postgres.sh`.

mod hub_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use erp_hub_core::adapter::{BatchWrite, ErpAdapter, IdempotencyKey, ReceivedAnswer, WriteOp};
use erp_hub_core::fiscal::{FiscalAdapter, FiscalDocumentKind, FiscalStamp, FiscalStep};
use erp_hub_core::hub::{Hub, HubConfig, HubStore, RecordLog, RecordState, Scope};
use erp_hub_core::model::{EntityKind, RemoteRef};
use erp_hub_core::testing::MemoryErp;
use erp_hub_core::{ErrorKind, Result};
use hub_common::*;

/// A fiscal step that records what it is asked and "submits" answers to an authority called `hacienda`.
#[derive(Default)]
struct RecordingStep {
    seen: Mutex<Vec<WriteOp>>,
}

#[async_trait::async_trait]
impl FiscalStep for RecordingStep {
    async fn stamp(&self, _tenant: &str, op: &WriteOp) -> Result<Option<FiscalStamp>> {
        self.seen.lock().unwrap().push(op.clone());
        Ok(match op {
            WriteOp::AnswerReceived(a) => Some(FiscalStamp::new(
                "test",
                FiscalDocumentKind::Invoice,
                format!("{}-0010000105", a.external_ref.trim_start_matches("mr:")),
                "2026-12-06T10:00:00-06:00",
                "hacienda:aceptado",
                rust_decimal::Decimal::ZERO,
                "<MensajeReceptor/>",
            )),
            _ => None,
        })
    }
}

fn answer(r: &str) -> WriteOp {
    WriteOp::AnswerReceived(ReceivedAnswer::new(
        r,
        "<FacturaElectronica>…</FacturaElectronica>",
        serde_json::json!({ "mensaje": "aceptado", "condicion_impuesto": "01" }),
    ))
}

async fn log(store: &Arc<dyn HubStore>, scope: &Scope, r: &str) -> RecordLog {
    let found = store
        .find(scope, EntityKind::Invoice, r)
        .await
        .unwrap()
        .unwrap();
    store.record(found.id).await.unwrap().unwrap()
}

async fn answers_are_hub_records(store: Arc<dyn HubStore>) {
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(2)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(40))
            .with_poll(Duration::from_millis(10))
            .with_max_attempts(3),
    );
    let plain_scope = Scope::new("t-plain", "memory:1");
    let fiscal_scope = Scope::new("t-fiscal", "memory:2");
    let plain = Arc::new(MemoryErp::new());
    let erp = Arc::new(MemoryErp::new());
    let step = Arc::new(RecordingStep::default());
    hub.register(plain_scope.clone(), plain.clone());
    hub.register(
        fiscal_scope.clone(),
        Arc::new(FiscalAdapter::new(erp.clone(), step.clone(), "t-fiscal")),
    );
    hub.enqueue(&plain_scope, vec![answer("mr:506A")])
        .await
        .unwrap();
    hub.enqueue(&fiscal_scope, vec![answer("mr:506B")])
        .await
        .unwrap();
    hub.run_until_settled().await.unwrap();

    // A plain adapter cannot answer: a dead letter naming the record, after one attempt.
    let dead = log(&store, &plain_scope, "mr:506A").await;
    assert_eq!(dead.state, RecordState::Dead, "{dead:#?}");
    assert_eq!(dead.attempts, 1);
    let err = dead.last_error.as_ref().unwrap();
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("answer_received `mr:506A`"), "{err:?}");
    assert_eq!(plain.count(EntityKind::Invoice), 0);

    // Through a fiscal adapter: the step got the op exactly as enqueued (serde + store round trip), the
    // record is done with the authority's reference, and nothing was written to the ERP.
    let done = log(&store, &fiscal_scope, "mr:506B").await;
    assert_eq!(done.state, RecordState::Done, "{done:#?}");
    assert_eq!(
        done.remote,
        Some(RemoteRef::new("hacienda", "506B-0010000105"))
    );
    assert_eq!(*step.seen.lock().unwrap(), vec![answer("mr:506B")]);
    assert_eq!(erp.count(EntityKind::Invoice), 0);

    // Enqueued again: nothing new is sent.
    hub.enqueue(&fiscal_scope, vec![answer("mr:506B")])
        .await
        .unwrap();
    hub.run_until_settled().await.unwrap();
    assert_eq!(step.seen.lock().unwrap().len(), 1);
}

#[test]
fn the_op_round_trips_through_serde() {
    let op = answer("mr:506");
    let json = serde_json::to_value(&op).unwrap();
    assert_eq!(json["op"], "answer_received");
    assert_eq!(json["record"]["external_ref"], "mr:506");
    assert_eq!(serde_json::from_value::<WriteOp>(json).unwrap(), op);
    assert_eq!(op.kind(), EntityKind::Invoice);
}

#[tokio::test]
async fn a_plain_adapter_answers_unsupported() {
    let erp = MemoryErp::new();
    let key = IdempotencyKey::new("mr-506").unwrap();
    let e = erp_hub_core::adapter::write_one(&erp, &BatchWrite::new(answer("mr:506"), key.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let out = erp
        .write_batch(&[BatchWrite::new(answer("mr:506"), key)])
        .await;
    assert_eq!(out[0].as_ref().unwrap_err().kind(), ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_answers_are_hub_records() {
    answers_are_hub_records(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answers_are_hub_records() {
    let dir = tempfile::tempdir().unwrap();
    answers_are_hub_records(sqlite(&dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_answers_are_hub_records() {
    answers_are_hub_records(pg().await).await;
}
