//! `ErpAdapter::write_batch` against the Xero mock: customer upserts as one array request, other writes singly,
//! one result per element in order, and a replay with the same keys creates nothing.

mod common;

use erp_hub_core::adapter::{BatchWrite, WriteOp};
use erp_hub_core::model::{Customer, Item, ItemKind};
use erp_hub_core::{ErpAdapter, ErrorKind, IdempotencyKey};

fn w(op: WriteOp, key: &str) -> BatchWrite {
    BatchWrite::new(op, IdempotencyKey::new(key).unwrap())
}

#[tokio::test]
async fn write_batch_per_element_results_and_replay() {
    let env = common::env().await;
    let x = &env.xero;
    assert_eq!(x.max_batch(), 50);
    let limits = x.limits();
    assert_eq!(limits.requests_per_minute, Some(60));
    assert_eq!(limits.max_concurrent, Some(5));
    assert_eq!(limits.daily_cap, Some(5_000));
    x.upsert_customer(
        &Customer::new("other", "Taken Name"),
        &IdempotencyKey::new("other").unwrap(),
    )
    .await
    .unwrap();
    let writes = vec![
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-1", "Batch One")),
            "wb-1",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-2", "Taken Name")),
            "wb-2",
        ),
        w(
            WriteOp::UpsertItem(Item::new(
                "wb-item",
                "WB-1",
                "Batch item",
                ItemKind::Service,
            )),
            "wb-item",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-3", "Batch Three")),
            "wb-3",
        ),
    ];
    let arrays = || {
        env.mock
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/Contacts"))
            .count()
    };
    let first = x.write_batch(&writes).await;
    assert_eq!(first.len(), 4);
    let one = first[0].as_ref().unwrap().clone();
    assert_eq!(first[1].as_ref().unwrap_err().kind(), ErrorKind::Duplicate);
    first[2].as_ref().unwrap();
    let three = first[3].as_ref().unwrap().clone();
    assert_eq!(arrays(), 1, "the customers went in one array request");
    let contacts = env.mock.records("Contacts").len();
    assert_eq!(contacts, 3);

    let again = x.write_batch(&writes).await;
    assert_eq!(again[0].as_ref().unwrap().id, one.id);
    assert_eq!(again[3].as_ref().unwrap().id, three.id);
    assert_eq!(again[1].as_ref().unwrap_err().kind(), ErrorKind::Duplicate);
    assert_eq!(env.mock.records("Contacts").len(), contacts);
    assert_eq!(env.mock.records("Items").len(), 1);

    // Regrouped with a new customer: matched on ContactNumber, not created twice.
    let regroup = vec![
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-3", "Batch Three")),
            "wb-3",
        ),
        w(
            WriteOp::UpsertCustomer(Customer::new("wb-4", "Batch Four")),
            "wb-4",
        ),
    ];
    let r = x.write_batch(&regroup).await;
    assert_eq!(r[0].as_ref().unwrap().id, three.id);
    r[1].as_ref().unwrap();
    assert_eq!(env.mock.records("Contacts").len(), contacts + 1);
}
