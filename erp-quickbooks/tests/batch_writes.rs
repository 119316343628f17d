//! `ErpAdapter::write_batch` against the QuickBooks mock: new customers through one `/batch` request, other
//! writes singly, one result per element in order, and a replay with the same keys writes nothing.

mod common;

use erp_hub_core::adapter::{BatchWrite, WriteOp};
use erp_hub_core::model::{Customer, Item, ItemKind};
use erp_hub_core::{ErpAdapter, ErrorKind, IdempotencyKey};
use erp_quickbooks::TaxMode;

fn w(op: WriteOp, key: &str) -> BatchWrite {
    BatchWrite::new(op, IdempotencyKey::new(key).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_batch_per_element_results_and_replay() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    assert_eq!(qbo.max_batch(), 30);
    let limits = qbo.limits();
    assert_eq!(limits.requests_per_minute, Some(500));
    assert_eq!(limits.max_concurrent, Some(10));
    assert_eq!(limits.batch_requests_per_minute, Some(120));
    // Someone else's customer holds a name.
    qbo.upsert_customer(
        &Customer::new("other", "Taken Name"),
        &IdempotencyKey::new("other").unwrap(),
    )
    .await
    .unwrap();
    let mut item = Item::new("wb-item", "WB-1", "Batch item", ItemKind::Service);
    item.income_account = Some("79".into());
    let writes = vec![
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-1", "Batch One")),
            "wb-1",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-2", "Taken Name")),
            "wb-2",
        ),
        w(WriteOp::UpsertItem(item), "wb-item"),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-3", "Bad: name")),
            "wb-3",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-4", "Batch Four")),
            "wb-4",
        ),
    ];
    let batches = |m: &erp_quickbooks::testing::MockQuickBooks| {
        m.requests().iter().filter(|r| r.path == "batch").count()
    };
    let first = qbo.write_batch(&writes).await;
    assert_eq!(first.len(), 5);
    let one = first[0].as_ref().unwrap().clone();
    assert_eq!(first[1].as_ref().unwrap_err().kind(), ErrorKind::Duplicate);
    first[2].as_ref().unwrap();
    assert_eq!(first[3].as_ref().unwrap_err().kind(), ErrorKind::Validation);
    let four = first[4].as_ref().unwrap().clone();
    assert_ne!(one.id, four.id);
    assert_eq!(batches(&mock), 1, "the new customers went in one /batch");
    assert_eq!(mock.count("Customer"), 3);

    // The same batch with the same keys: the same answers, nothing written.
    let applied = mock.writes_applied();
    let again = qbo.write_batch(&writes).await;
    assert_eq!(again[0].as_ref().unwrap().id, one.id);
    assert_eq!(again[4].as_ref().unwrap().id, four.id);
    assert_eq!(again[1].as_ref().unwrap_err().kind(), ErrorKind::Duplicate);
    assert_eq!(mock.writes_applied(), applied);
    assert_eq!(mock.count("Customer"), 3);

    // An element re-sent in another grouping (here: with a new customer) is still not created twice.
    let regroup = vec![
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-4", "Batch Four")),
            "wb-4",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-5", "Batch Five")),
            "wb-5",
        ),
    ];
    let r = qbo.write_batch(&regroup).await;
    assert_eq!(r[0].as_ref().unwrap().id, four.id);
    r[1].as_ref().unwrap();
    assert_eq!(mock.count("Customer"), 4);
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}
