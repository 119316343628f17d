//! `MemoryErp` semantics and the shared conformance suite.

use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::conformance::{self, Context};
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, ErrorKind};
use rust_decimal_macros::dec;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).expect("valid key")
}

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")
}

#[tokio::test]
async fn conformance_suite_passes_on_memory_erp() {
    let erp = MemoryErp::new().with_page_size(2);
    let results = conformance::run_all(&erp, &Context::new("conf"), &erp).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 10);
}

#[tokio::test]
async fn same_key_different_input_is_rejected() {
    let erp = MemoryErp::new();
    erp.upsert_customer(&Customer::new("c1", "Uno"), &key("k1"))
        .await
        .expect("create");
    let err = erp
        .upsert_customer(&Customer::new("c1", "Otro"), &key("k1"))
        .await
        .expect_err("reuse");
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(erp.count(EntityKind::Customer), 1);
}

#[tokio::test]
async fn apply_then_timeout_is_uncertain_and_reconcilable() {
    let erp = MemoryErp::new();
    erp.inject(1, Fault::ApplyThenTimeout);
    let c = Customer::new("c9", "Nueve");
    let err = erp
        .upsert_customer(&c, &key("k9"))
        .await
        .expect_err("lost response");
    assert_eq!(err.kind(), ErrorKind::Uncertain);
    assert!(!err.is_retriable(), "uncertain must not be blindly retried");
    // The write was applied: replaying the same key returns it, no second record.
    let r = erp.upsert_customer(&c, &key("k9")).await.expect("replay");
    assert_eq!(erp.count(EntityKind::Customer), 1);
    assert_eq!(r.id, "C-1");
}

#[tokio::test]
async fn injected_errors_apply_nothing() {
    let erp = MemoryErp::new();
    erp.fail_next(2, || Error::transient("boom"));
    let c = Customer::new("c2", "Dos");
    assert_eq!(
        erp.upsert_customer(&c, &key("k2"))
            .await
            .expect_err("1")
            .kind(),
        ErrorKind::Transient
    );
    assert_eq!(
        erp.upsert_customer(&c, &key("k2"))
            .await
            .expect_err("2")
            .kind(),
        ErrorKind::Transient
    );
    assert_eq!(erp.count(EntityKind::Customer), 0);
    erp.upsert_customer(&c, &key("k2"))
        .await
        .expect("third call succeeds");
    assert_eq!(erp.calls("upsert_customer"), 3);
}

#[tokio::test]
async fn payment_rules() {
    let erp = MemoryErp::new();
    let c = erp
        .upsert_customer(&Customer::new("c", "Cliente"), &key("c"))
        .await
        .expect("customer");
    let inv = Invoice::new(
        "inv",
        PartyRef::resolved("c", c.id.clone()),
        date(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("x", dec!(1), dec!(100))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let r = erp
        .create_invoice(&inv, &key("inv"))
        .await
        .expect("invoice");
    // Currency mismatch.
    let usd = Payment::new(
        "p-usd",
        PartyRef::external("c"),
        date(),
        Currency::USD,
        dec!(10),
    )
    .apply_to(DocRef::external("inv"), dec!(10));
    assert_eq!(
        erp.record_payment(&usd, &key("p-usd"))
            .await
            .expect_err("usd")
            .kind(),
        ErrorKind::Validation
    );
    // Applications above the payment amount.
    let over = Payment::new(
        "p-over",
        PartyRef::external("c"),
        date(),
        Currency::MXN,
        dec!(10),
    )
    .apply_to(DocRef::external("inv"), dec!(20));
    assert_eq!(
        erp.record_payment(&over, &key("p-over"))
            .await
            .expect_err("over")
            .kind(),
        ErrorKind::Validation
    );
    // Unknown invoice.
    let ghost = Payment::new(
        "p-ghost",
        PartyRef::external("c"),
        date(),
        Currency::MXN,
        dec!(10),
    )
    .apply_to(DocRef::external("nope"), dec!(10));
    assert_eq!(
        erp.record_payment(&ghost, &key("p-ghost"))
            .await
            .expect_err("ghost")
            .kind(),
        ErrorKind::NotFound
    );
    // Partial payment, then voiding is refused.
    let part = Payment::new(
        "p1",
        PartyRef::external("c"),
        date(),
        Currency::MXN,
        dec!(16),
    )
    .apply_to(DocRef::external("inv"), dec!(16));
    erp.record_payment(&part, &key("p1"))
        .await
        .expect("partial");
    let rec = erp.get(EntityKind::Invoice, &r.id).await.expect("read");
    assert_eq!(rec.balance, Some(dec!(100.00)));
    // A dollar payment that says what it settles in pesos takes that off the balance.
    let usd = Payment::new(
        "p-usd2",
        PartyRef::external("c"),
        date(),
        Currency::USD,
        dec!(1),
    )
    .apply_to_foreign(DocRef::external("inv"), dec!(1), dec!(18.10));
    erp.record_payment(&usd, &key("p-usd2"))
        .await
        .expect("usd settling pesos");
    let rec = erp.get(EntityKind::Invoice, &r.id).await.expect("read");
    assert_eq!(rec.balance, Some(dec!(81.90)));
    let latest = rec.remote;
    assert_eq!(
        erp.void_invoice(&latest, &key("void"))
            .await
            .expect_err("paid")
            .kind(),
        ErrorKind::Validation
    );
}

#[tokio::test]
async fn void_uses_versions() {
    let erp = MemoryErp::new();
    let c = erp
        .upsert_customer(&Customer::new("c", "Cliente"), &key("c"))
        .await
        .expect("customer");
    let inv = Invoice::new("inv", PartyRef::resolved("c", c.id), date(), Currency::MXN)
        .with_line(InvoiceLine::new("x", dec!(2), dec!(50)));
    let r = erp
        .create_invoice(&inv, &key("inv"))
        .await
        .expect("invoice");
    let voided = erp.void_invoice(&r, &key("void")).await.expect("void");
    assert_ne!(voided.version, r.version);
    let rec = erp.get(EntityKind::Invoice, &r.id).await.expect("read");
    assert!(rec.voided);
    assert_eq!(rec.balance, Some(dec!(0)));
    // Voiding again with the stale ref is a conflict.
    assert_eq!(
        erp.void_invoice(&r, &key("void-2"))
            .await
            .expect_err("stale")
            .kind(),
        ErrorKind::Conflict
    );
}

#[tokio::test]
async fn usable_as_dyn() {
    let erp: Box<dyn ErpAdapter> = Box::new(MemoryErp::new());
    let info = erp.test_connection().await.expect("connect");
    assert_eq!(info.home_currency.as_deref(), Some("MXN"));
    assert_eq!(erp.provider(), "memory");
}

#[tokio::test]
async fn default_write_batch_answers_each_element_in_order_and_replays() {
    use erp_hub_core::adapter::{BatchWrite, WriteOp};
    let erp = MemoryErp::new();
    let writes = vec![
        BatchWrite::new(
            WriteOp::UpsertCustomer(Customer::new("b1", "Uno")),
            key("bk1"),
        ),
        // Same key, different input: this element alone fails.
        BatchWrite::new(
            WriteOp::UpsertCustomer(Customer::new("b2", "Dos")),
            key("bk1"),
        ),
        BatchWrite::new(
            WriteOp::UpsertCustomer(Customer::new("b3", "Tres")),
            key("bk3"),
        ),
    ];
    let first = erp.write_batch(&writes).await;
    assert_eq!(first.len(), 3);
    assert!(first[0].is_ok());
    assert_eq!(
        first[1].as_ref().expect_err("reused key").kind(),
        ErrorKind::Validation
    );
    assert!(first[2].is_ok());
    assert_eq!(erp.count(EntityKind::Customer), 2);
    assert_eq!(erp.max_batch(), 1);

    // Replaying the batch with the same keys creates nothing new and returns the same refs.
    let again = erp.write_batch(&writes).await;
    assert_eq!(erp.count(EntityKind::Customer), 2);
    assert_eq!(
        again[0].as_ref().expect("replay").id,
        first[0].as_ref().expect("first").id
    );
    assert_eq!(
        again[2].as_ref().expect("replay").id,
        first[2].as_ref().expect("first").id
    );
}
