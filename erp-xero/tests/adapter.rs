//! Adapter behaviour against the mock: entities, error mapping, limits, batches, the change feed, and secrets.

mod common;

use std::time::Duration;

use chrono::NaiveDate;
use erp_hub_core::adapter::{Entity, ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{Error, ErrorKind};
use erp_xero::testing::MockXero;
use rust_decimal_macros::dec;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

async fn customer(xero: &erp_xero::XeroAdapter, ext: &str) -> String {
    xero.upsert_customer(
        &Customer::new(ext, format!("Customer {ext}")),
        &key(&format!("{ext}-k")),
    )
    .await
    .unwrap()
    .id
}

fn invoice(ext: &str, cust: (&str, &str)) -> Invoice {
    Invoice::new(
        ext,
        PartyRef::resolved(cust.0, cust.1),
        day(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Service", dec!(2), dec!(500))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    )
}

#[tokio::test]
async fn invoice_payment_credit_note_void_and_reads() {
    let env = common::env().await;
    let x = &env.xero;
    let cid = customer(x, "c-1").await;
    let inv = invoice("inv-1", ("c-1", &cid));
    let r = x.create_invoice(&inv, &key("inv-1")).await.unwrap();
    assert_eq!(r.provider, "xero");
    assert!(r.number.as_deref().is_some_and(|n| n.starts_with("INV-")));

    let rec = x.get(EntityKind::Invoice, &r.id).await.unwrap();
    assert_eq!(rec.balance, Some(dec!(1160.00)));
    let Entity::Invoice(got) = &rec.entity else {
        panic!()
    };
    assert_eq!(got.external_ref, "inv-1");
    assert_eq!(got.customer.remote_id.as_deref(), Some(cid.as_str()));
    assert_eq!(rec.raw["LineItems"][0]["TaxType"], "OUTPUT");

    // Partial payment by external references only (the adapter looks both up).
    let p = Payment::new(
        "pay-1",
        PartyRef::external("c-1"),
        day(),
        Currency::MXN,
        dec!(160),
    )
    .apply_to(DocRef::external("inv-1"), dec!(160));
    let pr = x.record_payment(&p, &key("pay-1")).await.unwrap();
    assert_eq!(
        x.get(EntityKind::Invoice, &r.id).await.unwrap().balance,
        Some(dec!(1000.00))
    );
    let prec = x.get(EntityKind::Payment, &pr.id).await.unwrap();
    let Entity::Payment(gp) = prec.entity else {
        panic!()
    };
    assert_eq!(gp.amount, dec!(160));
    assert_eq!(
        gp.applications[0].invoice.remote_id.as_deref(),
        Some(r.id.as_str())
    );

    // Two applications to one invoice: rejected before any request (merge them instead).
    let split = Payment::new(
        "pay-2",
        PartyRef::external("c-1"),
        day(),
        Currency::MXN,
        dec!(2),
    )
    .apply_to(DocRef::external("inv-1"), dec!(1))
    .apply_to(DocRef::external("inv-1"), dec!(1));
    let n = env.mock.requests().len();
    assert_eq!(
        x.record_payment(&split, &key("pay-2"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    assert_eq!(env.mock.requests().len(), n);

    // Credit note allocated to the invoice.
    let cn = CreditNote::new(
        "cn-1",
        PartyRef::resolved("c-1", &cid),
        DocRef::resolved("inv-1", &r.id),
        day(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Refund", dec!(1), dec!(100))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let cr = x.create_credit_note(&cn, &key("cn-1")).await.unwrap();
    assert_eq!(
        x.get(EntityKind::Invoice, &r.id).await.unwrap().balance,
        Some(dec!(884.00))
    );
    let crec = x.get(EntityKind::CreditNote, &cr.id).await.unwrap();
    assert_eq!(crec.balance, Some(dec!(0.00)));
    let Entity::CreditNote(gcn) = crec.entity else {
        panic!()
    };
    assert_eq!(gcn.invoice.remote_id.as_deref(), Some(r.id.as_str()));

    // Voiding: refused while payments are applied (Xero's rule), fine for a fresh invoice.
    let err = x.void_invoice(&r, &key("void-1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let r2 = x
        .create_invoice(&invoice("inv-2", ("c-1", &cid)), &key("inv-2"))
        .await
        .unwrap();
    x.void_invoice(&r2, &key("void-2")).await.unwrap();
    let v = x.get(EntityKind::Invoice, &r2.id).await.unwrap();
    assert!(v.voided);
    assert_eq!(v.balance, Some(dec!(0)));

    common::spec::spec().check_requests(&env.mock.requests());
}

#[tokio::test]
async fn items_are_matched_on_code_and_versions_detect_stale_updates() {
    let env = common::env().await;
    let x = &env.xero;
    let mut item = Item::new("W-1", "W-1", "Widget", ItemKind::Product);
    item.unit_price = Some(dec!(12.50));
    let a = x.upsert_item(&item, &key("item-1")).await.unwrap();
    item.name = "Widget v2".into();
    let b = x.upsert_item(&item, &key("item-2")).await.unwrap();
    assert_eq!(a.id, b.id, "matched on Code, not created again");
    assert_eq!(env.mock.records("Items").len(), 1);
    let rec = x.get(EntityKind::Item, &a.id).await.unwrap();
    let Entity::Item(got) = rec.entity else {
        panic!()
    };
    assert_eq!(got.name, "Widget v2");
    assert_eq!(got.unit_price, Some(dec!(12.50)));
    // Stale version → Conflict, without writing.
    item.remote = Some(a.clone());
    let writes = env
        .mock
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(
        x.upsert_item(&item, &key("item-3"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        env.mock
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count(),
        writes
    );
    common::spec::spec().check_requests(&env.mock.requests());
}

#[tokio::test]
async fn errors_map_to_the_taxonomy() {
    let env = common::env().await;
    let x = &env.xero;
    // 404.
    let e = x
        .get(EntityKind::Customer, "00000000-0000-4000-8000-00000000dead")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    // 400 ValidationException with element paths: an account Xero does not know.
    let cid = customer(x, "c-err").await;
    let mut inv = invoice("inv-bad", ("c-err", &cid));
    inv.lines[0].account = Some("999".into());
    let err = x.create_invoice(&inv, &key("inv-bad")).await.unwrap_err();
    // The typed ValidationException is the error's source.
    let exception = err
        .provider_error::<erp_xero::error::ValidationException>()
        .expect("the ValidationException as source");
    assert_eq!(exception.error_number, Some(10));
    assert!(!exception.elements.is_empty());
    let Error::Validation { errors, .. } = err else {
        panic!("expected Validation")
    };
    assert_eq!(errors[0].field, "Invoices[0]");
    assert!(errors[0].message.contains("'999'"), "{errors:?}");
    // Unmapped tax → Config before any request.
    let n = env.mock.requests().len();
    let inv = invoice("inv-x", ("c-err", &cid)).with_line(
        InvoiceLine::new("x", dec!(1), dec!(1))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(8)))),
    );
    assert_eq!(
        x.create_invoice(&inv, &key("inv-x"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    assert_eq!(env.mock.requests().len(), n);
    // Withheld tax without an account mapping → Config.
    let inv = invoice("inv-w", ("c-err", &cid)).with_line(
        InvoiceLine::new("x", dec!(1), dec!(100))
            .with_tax(Tax::withheld("IEPS", TaxRate::Percent(dec!(1)))),
    );
    assert_eq!(
        x.create_invoice(&inv, &key("inv-w"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    // Local validation: ContactNumber is 50 characters at most.
    let long = Customer::new("x".repeat(51), "Long Ref");
    assert_eq!(
        x.upsert_customer(&long, &key("long"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    // 403: a tenant this connection does not have.
    let other = env
        .client
        .adapter(common::CONNECTION, "00000000-0000-4000-8000-0000000000bb")
        .with_mapping(MockXero::mapping());
    assert_eq!(
        other.test_connection().await.unwrap_err().kind(),
        ErrorKind::Auth
    );
    // 429 with a Retry-After longer than the client waits → RateLimited carrying it.
    env.mock.set_retry_after(600);
    env.mock.throttle_next(1);
    let e = x.test_connection().await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_neither_loses_nor_duplicates_an_invoice() {
    let env = common::env().await;
    let x = &env.xero;
    let cid = customer(x, "c-storm").await;
    env.mock.set_retry_after(0);
    env.mock.throttle_next(3);
    let r = x
        .create_invoice(&invoice("inv-storm", ("c-storm", &cid)), &key("inv-storm"))
        .await
        .unwrap();
    // Replaying the same key returns the same invoice.
    let again = x
        .create_invoice(&invoice("inv-storm", ("c-storm", &cid)), &key("inv-storm"))
        .await
        .unwrap();
    assert_eq!(r.id, again.id);
    let invoices = env.mock.records("Invoices");
    assert_eq!(
        invoices
            .iter()
            .filter(|i| i["Reference"] == "inv-storm")
            .count(),
        1
    );
    let puts: Vec<_> = env
        .mock
        .requests()
        .into_iter()
        .filter(|q| q.method == "PUT" && q.resource() == "/Invoices")
        .collect();
    assert!(puts.iter().filter(|q| q.status == 429).count() >= 1);
    assert!(
        puts.iter()
            .all(|q| q.idempotency_key.as_deref() == Some("inv-storm"))
    );
}

#[tokio::test]
async fn batch_upsert_reports_each_element() {
    let env = common::env().await;
    let x = &env.xero;
    let taken = customer(x, "c-taken").await;
    let mut batch: Vec<Customer> = (0..3)
        .map(|i| Customer::new(format!("b-{i}"), format!("Batch {i}")))
        .collect();
    batch.push(Customer::new("b-dup", "CUSTOMER C-TAKEN")); // name of an existing contact, other case
    batch.push(Customer::new("b-empty", "  ")); // rejected locally
    let results = x
        .batch_upsert_customers(&batch, &key("batch-1"))
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    assert!(results[..3].iter().all(Result::is_ok));
    match &results[3] {
        Err(Error::Duplicate { existing_id, .. }) => {
            assert_eq!(existing_id.as_deref(), Some(taken.as_str()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        results[4].as_ref().unwrap_err().kind(),
        ErrorKind::Validation
    );
    // Second run: the three exist and are updated, not duplicated.
    let again = x
        .batch_upsert_customers(&batch[..3], &key("batch-2"))
        .await
        .unwrap();
    for (a, b) in results[..3].iter().zip(&again) {
        assert_eq!(a.as_ref().unwrap().id, b.as_ref().unwrap().id);
    }
    assert_eq!(env.mock.records("Contacts").len(), 4);
    let batch_posts = env
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.resource() == "/Contacts")
        .count();
    assert_eq!(batch_posts, 2);
    common::spec::spec().check_requests(&env.mock.requests());
}

#[tokio::test]
async fn change_feed_pages_and_resumes() {
    let env = common::env().await;
    let x = &env.xero;
    let batch: Vec<Customer> = (0..120)
        .map(|i| Customer::new(format!("f-{i:03}"), format!("Feed {i:03}")))
        .collect();
    let results = x
        .batch_upsert_customers(&batch, &key("feed"))
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok));
    let p1 = x
        .list_changed_since(&[EntityKind::Customer], None)
        .await
        .unwrap();
    assert_eq!(p1.changes.len(), 100);
    assert!(p1.has_more);
    let p2 = x
        .list_changed_since(&[EntityKind::Customer], Some(&p1.next))
        .await
        .unwrap();
    assert_eq!(p2.changes.len(), 20);
    assert!(!p2.has_more);
    let mut ids: Vec<_> = p1
        .changes
        .iter()
        .chain(&p2.changes)
        .map(|c| c.remote.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120);
    assert!(
        p1.changes[0]
            .external_ref
            .as_deref()
            .is_some_and(|r| r.starts_with("f-"))
    );
    let p3 = x
        .list_changed_since(&[EntityKind::Customer], Some(&p2.next))
        .await
        .unwrap();
    assert!(p3.changes.is_empty());
    // An update shows up once.
    let mut c = batch[7].clone();
    c.email = Some("new@example.com".into());
    let r = x.upsert_customer(&c, &key("feed-upd")).await.unwrap();
    let p4 = x
        .list_changed_since(&[EntityKind::Customer, EntityKind::Invoice], Some(&p3.next))
        .await
        .unwrap();
    assert_eq!(p4.changes.len(), 1);
    assert_eq!(p4.changes[0].remote.id, r.id);
    let p5 = x
        .list_changed_since(&[EntityKind::Customer, EntityKind::Invoice], Some(&p4.next))
        .await
        .unwrap();
    assert!(p5.changes.is_empty());
    let sent: Vec<_> = env
        .mock
        .requests()
        .into_iter()
        .filter(|q| q.method == "GET" && q.resource() == "/Contacts")
        .collect();
    assert!(sent.iter().any(|q| q.if_modified_since.is_some()));
}

#[tokio::test]
async fn change_feed_pages_through_records_sharing_one_millisecond() {
    let env = common::env().await;
    let x = &env.xero;
    customer(x, "before").await;
    env.mock.freeze_clock(true);
    let batch: Vec<Customer> = (0..130)
        .map(|i| Customer::new(format!("s-{i:03}"), format!("Same {i:03}")))
        .collect();
    assert!(
        x.batch_upsert_customers(&batch, &key("same"))
            .await
            .unwrap()
            .iter()
            .all(Result::is_ok)
    );
    env.mock.freeze_clock(false);
    let mut cursor = None;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let page = x
            .list_changed_since(&[EntityKind::Customer], cursor.as_ref())
            .await
            .unwrap();
        ids.extend(page.changes.iter().map(|c| c.remote.id.clone()));
        cursor = Some(page.next);
        if !page.has_more {
            break;
        }
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((n, ids.len()), (131, 131), "every record once");
    let sent: Vec<_> = env
        .mock
        .requests()
        .into_iter()
        .filter(|q| q.method == "GET" && q.resource() == "/Contacts")
        .collect();
    assert!(
        sent.iter()
            .any(|q| q.query.iter().any(|(k, v)| k == "page" && v == "2"))
    );
    // Nothing new: an empty page.
    let page = x
        .list_changed_since(&[EntityKind::Customer], cursor.as_ref())
        .await
        .unwrap();
    assert!(page.changes.is_empty() && !page.has_more);
}

#[tokio::test]
async fn inclusive_prices_and_foreign_currency_keep_our_totals() {
    let env = common::env().await;
    let x = &env.xero;
    let cid = customer(x, "c-incl").await;
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let mut inv = Invoice::new(
        "inv-incl",
        PartyRef::resolved("c-incl", &cid),
        day(),
        Currency::USD,
    )
    .with_line(InvoiceLine::new("A", dec!(3), dec!(33.33)).with_tax(iva()))
    .with_line(InvoiceLine::new("B", dec!(1), dec!(10.01)).with_tax(iva()))
    .with_line(
        InvoiceLine::new("C", dec!(7), dec!(19.99))
            .with_tax(iva())
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10)))),
    );
    inv.price_mode = erp_hub_core::model::PriceMode::Inclusive;
    inv.exchange_rate = Some(dec!(17.2345));
    inv.due_date = Some(NaiveDate::from_ymd_opt(2026, 2, 14).unwrap());
    let expected = inv.breakdown().unwrap().total.amount();
    let r = x.create_invoice(&inv, &key("inv-incl")).await.unwrap();
    let rec = x.get(EntityKind::Invoice, &r.id).await.unwrap();
    assert_eq!(rec.balance, Some(expected));
    assert_eq!(rec.raw["LineAmountTypes"], "Inclusive");
    assert_eq!(rec.raw["CurrencyCode"], "USD");
    let Entity::Invoice(got) = rec.entity else {
        panic!()
    };
    assert_eq!(got.exchange_rate, Some(dec!(17.2345)));
    assert_eq!(got.due_date, inv.due_date);
    // The ISR withholding became a negative line on the mapped account.
    let lines = rec.raw["LineItems"].as_array().unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["AccountCode"], "825");
    common::spec::spec().check_requests(&env.mock.requests());
}

#[tokio::test]
async fn chart_of_accounts_and_tax_rates_for_the_mapping() {
    let env = common::env().await;
    let accounts = env.xero.accounts().await.unwrap();
    assert!(
        accounts
            .iter()
            .any(|a| a.code.as_deref() == Some("090") && a.account_type == "BANK")
    );
    let rates = env.xero.tax_rates().await.unwrap();
    assert!(rates.iter().any(|r| r.rate() == dec!(16)), "{rates:?}");
    for t in MockXero::mapping().tax_codes.values() {
        assert!(rates.iter().any(|r| r.tax_type == *t), "{t}");
    }
}

#[tokio::test]
async fn change_feed_loses_nothing_when_records_change_while_paging() {
    let env = common::env().await;
    let x = &env.xero;
    let batch: Vec<Customer> = (0..150)
        .map(|i| Customer::new(format!("m-{i:03}"), format!("Moving {i:03}")))
        .collect();
    assert!(
        x.batch_upsert_customers(&batch, &key("moving"))
            .await
            .unwrap()
            .iter()
            .all(Result::is_ok)
    );
    let p1 = x
        .list_changed_since(&[EntityKind::Customer], None)
        .await
        .unwrap();
    assert_eq!(p1.changes.len(), 100);
    // Records of the first page change before the second page is read (they move to the end of the order).
    for i in [3, 40, 99] {
        let mut c = batch[i].clone();
        c.email = Some(format!("m{i}@example.com"));
        x.upsert_customer(&c, &key(&format!("moving-upd-{i}")))
            .await
            .unwrap();
    }
    let p2 = x
        .list_changed_since(&[EntityKind::Customer], Some(&p1.next))
        .await
        .unwrap();
    let mut seen: Vec<String> = p1
        .changes
        .iter()
        .chain(&p2.changes)
        .filter_map(|c| c.external_ref.clone())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 150, "no record skipped");
    // The three updates are reported again.
    assert_eq!(p2.changes.len(), 53);
}

/// Three invoices of 1,160.00 each (2 × 500 + IVA 16%) for one customer; returns their ids.
async fn three_invoices(xero: &erp_xero::XeroAdapter, cust: &str) -> (String, Vec<String>) {
    let cid = customer(xero, cust).await;
    let mut ids = Vec::new();
    for n in ["a", "b", "c"] {
        let ext = format!("{cust}-inv-{n}");
        let r = xero
            .create_invoice(&invoice(&ext, (cust, &cid)), &key(&ext))
            .await
            .unwrap();
        ids.push(r.id);
    }
    (cid, ids)
}

async fn balance(xero: &erp_xero::XeroAdapter, id: &str) -> rust_decimal::Decimal {
    xero.get(EntityKind::Invoice, id)
        .await
        .unwrap()
        .balance
        .unwrap()
}

fn batch_puts(mock: &MockXero) -> Vec<erp_xero::testing::RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.resource() == "/BatchPayments")
        .collect()
}

#[tokio::test]
async fn a_payment_over_three_invoices_is_one_batch_payment() {
    let env = common::env().await;
    let x = &env.xero;
    assert!(
        x.capabilities()
            .contains(erp_hub_core::adapter::Capability::PartialPayments)
    );
    let (cid, inv) = three_invoices(x, "c-bp").await;
    // Partial on a (by our reference only), partial on b and the whole of c (by Xero id).
    let mut p = Payment::new(
        "bp-1",
        PartyRef::resolved("c-bp", &cid),
        day(),
        Currency::MXN,
        dec!(1960.00),
    )
    .apply_to(DocRef::external("c-bp-inv-a"), dec!(300.00))
    .apply_to(DocRef::resolved("c-bp-inv-b", &inv[1]), dec!(500.00))
    .apply_to(DocRef::resolved("c-bp-inv-c", &inv[2]), dec!(1160.00));
    p.reference = Some("SPEI 0042".into());
    let r = x.record_payment(&p, &key("bp-1")).await.unwrap();

    assert_eq!(balance(x, &inv[0]).await, dec!(860.00));
    assert_eq!(balance(x, &inv[1]).await, dec!(660.00));
    assert_eq!(balance(x, &inv[2]).await, dec!(0.00));

    // One request, with the caller's key, valid against the spec; nothing went to /Payments.
    let puts = batch_puts(&env.mock);
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].idempotency_key.as_deref(), Some("bp-1"));
    let body = puts[0].body.as_ref().unwrap();
    let batch = &body["BatchPayments"][0];
    assert_eq!(batch["Account"]["Code"], "090");
    assert_eq!(batch["Date"], "2026-01-15");
    assert_eq!(batch["Reference"], "bp-1");
    assert_eq!(batch["Details"], "SPEI 0042");
    let lines = batch["Payments"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["Invoice"]["InvoiceID"], inv[0].as_str());
    let amount = |v: &serde_json::Value| v.to_string().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(amount(&lines[0]["Amount"]), dec!(300));
    assert_eq!(amount(&lines[2]["Amount"]), dec!(1160));
    let pointer = common::spec::spec()
        .schema_for("PUT", "/BatchPayments")
        .unwrap();
    common::spec::spec().validate(pointer, body).unwrap();
    assert!(
        !env.mock
            .requests()
            .iter()
            .any(|q| q.method == "PUT" && q.resource() == "/Payments")
    );

    // The id is the BatchPaymentID; Xero made one payment per invoice, each listed with that id.
    let batches = env.mock.records("BatchPayments");
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0]["BatchPaymentID"], r.id.as_str());
    let children = env.mock.records("Payments");
    assert_eq!(children.len(), 3);
    assert!(
        children
            .iter()
            .all(|c| c["BatchPaymentID"] == r.id.as_str())
    );

    // Read back by the batch id: one payment with three applications.
    let rec = x.get(EntityKind::Payment, &r.id).await.unwrap();
    assert_eq!(rec.remote.id, r.id);
    let Entity::Payment(got) = rec.entity else {
        panic!()
    };
    assert_eq!(got.external_ref, "bp-1");
    assert_eq!(got.amount, dec!(1960.00));
    assert_eq!(got.currency, Currency::MXN);
    assert_eq!(got.deposit_account.as_deref(), Some("090"));
    assert_eq!(got.reference.as_deref(), Some("SPEI 0042"));
    assert_eq!(got.customer.remote_id.as_deref(), Some(cid.as_str()));
    let applied: Vec<_> = got
        .applications
        .iter()
        .map(|a| (a.invoice.remote_id.clone().unwrap(), a.amount))
        .collect();
    assert_eq!(
        applied,
        vec![
            (inv[0].clone(), dec!(300.00)),
            (inv[1].clone(), dec!(500.00)),
            (inv[2].clone(), dec!(1160.00))
        ]
    );
    // The PaymentID of one payment inside the batch reads as that one application.
    let child = children[1]["PaymentID"].as_str().unwrap();
    let Entity::Payment(one) = x.get(EntityKind::Payment, child).await.unwrap().entity else {
        panic!()
    };
    assert_eq!(one.amount, dec!(500.00));
    assert_eq!(one.applications.len(), 1);
    // An id that is neither: NotFound.
    let e = x
        .get(EntityKind::Payment, "00000000-0000-4000-8000-00000000dead")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // Replaying the key returns the same batch without applying it twice.
    let again = x.record_payment(&p, &key("bp-1")).await.unwrap();
    assert_eq!(again.id, r.id);
    assert_eq!(env.mock.records("BatchPayments").len(), 1);
    assert_eq!(env.mock.records("Payments").len(), 3);
    assert_eq!(balance(x, &inv[0]).await, dec!(860.00));
    assert_eq!(balance(x, &inv[1]).await, dec!(660.00));

    // The change feed reports the batch once, under the id record_payment returned.
    let page = x
        .list_changed_since(&[EntityKind::Payment], None)
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 1, "{:?}", page.changes);
    assert_eq!(page.changes[0].remote.id, r.id);
    assert_eq!(page.changes[0].external_ref.as_deref(), Some("bp-1"));
    assert!(!page.changes[0].deleted);
    // A single payment afterwards is its own change; the batch is not reported again.
    let single = Payment::new(
        "bp-2",
        PartyRef::resolved("c-bp", &cid),
        day(),
        Currency::MXN,
        dec!(60),
    )
    .apply_to(DocRef::resolved("c-bp-inv-a", &inv[0]), dec!(60));
    let s = x.record_payment(&single, &key("bp-2")).await.unwrap();
    let next = x
        .list_changed_since(&[EntityKind::Payment], Some(&page.next))
        .await
        .unwrap();
    let ids: Vec<_> = next.changes.iter().map(|c| c.remote.id.as_str()).collect();
    assert_eq!(ids, vec![s.id.as_str()]);

    common::spec::spec().check_requests(&env.mock.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_a_batch_payment_is_retried_into_exactly_one_batch() {
    let env = common::env().await;
    let x = &env.xero;
    let (cid, inv) = three_invoices(x, "c-bp429").await;
    env.mock.set_retry_after(0);
    env.mock.throttle_next_writes(2);
    let p = Payment::new(
        "bp429",
        PartyRef::resolved("c-bp429", &cid),
        day(),
        Currency::MXN,
        dec!(30),
    )
    .apply_to(DocRef::resolved("a", &inv[0]), dec!(10))
    .apply_to(DocRef::resolved("b", &inv[1]), dec!(20));
    let r = x.record_payment(&p, &key("bp429")).await.unwrap();
    let puts = batch_puts(&env.mock);
    let statuses: Vec<u16> = puts.iter().map(|q| q.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
    assert!(
        puts.iter()
            .all(|q| q.idempotency_key.as_deref() == Some("bp429"))
    );
    assert_eq!(env.mock.records("BatchPayments").len(), 1);
    assert_eq!(
        env.mock.records("BatchPayments")[0]["BatchPaymentID"],
        r.id.as_str()
    );
    assert_eq!(balance(x, &inv[0]).await, dec!(1150.00));
    assert_eq!(balance(x, &inv[1]).await, dec!(1140.00));
}

#[tokio::test]
async fn bad_batch_payments_are_typed_errors_and_create_nothing() {
    let env = common::env().await;
    let x = &env.xero;
    let (cid, inv) = three_invoices(x, "c-bad").await;
    let party = PartyRef::resolved("c-bad", &cid);
    let pay = |amount| Payment::new("bad", party.clone(), day(), Currency::MXN, amount);
    let a = DocRef::resolved("c-bad-inv-a", &inv[0]);
    let b = DocRef::resolved("c-bad-inv-b", &inv[1]);
    let fields = |e: Error| match e {
        Error::Validation { errors, .. } => errors.into_iter().map(|f| f.field).collect::<Vec<_>>(),
        other => panic!("expected Validation, got {other:?}"),
    };

    // Checked locally, before any request.
    let n = env.mock.requests().len();
    let mismatch = pay(dec!(31))
        .apply_to(a.clone(), dec!(10))
        .apply_to(b.clone(), dec!(20));
    assert_eq!(
        fields(
            x.record_payment(&mismatch, &key("bad-1"))
                .await
                .unwrap_err()
        ),
        vec!["amount"]
    );
    let twice = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(a.clone(), dec!(20));
    assert_eq!(
        fields(x.record_payment(&twice, &key("bad-2")).await.unwrap_err()),
        vec!["applications[1].invoice"]
    );
    let zero = pay(dec!(10))
        .apply_to(a.clone(), dec!(10))
        .apply_to(b.clone(), dec!(0));
    assert_eq!(
        fields(x.record_payment(&zero, &key("bad-3")).await.unwrap_err()),
        vec!["applications[1].amount"]
    );
    let mut rated = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(b.clone(), dec!(20));
    rated.exchange_rate = Some(dec!(17.5));
    assert_eq!(
        x.record_payment(&rated, &key("bad-4"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    let mut long = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(b.clone(), dec!(20));
    long.reference = Some("x".repeat(19));
    assert_eq!(
        fields(x.record_payment(&long, &key("bad-5")).await.unwrap_err()),
        vec!["reference"]
    );
    assert_eq!(
        x.record_payment(&pay(dec!(0)), &key("bad-6"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(env.mock.requests().len(), n, "no request was sent");

    // Found out by reading the invoices (never by writing).
    let same = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(DocRef::external("c-bad-inv-a"), dec!(20));
    assert_eq!(
        fields(x.record_payment(&same, &key("bad-7")).await.unwrap_err()),
        vec!["applications[1].invoice"]
    );
    let unknown = pay(dec!(30)).apply_to(a.clone(), dec!(10)).apply_to(
        DocRef::resolved("gone", "00000000-0000-4000-8000-00000000dead"),
        dec!(20),
    );
    let e = x.record_payment(&unknown, &key("bad-8")).await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { id, .. } if id.ends_with("dead")),
        "{e:?}"
    );
    let unknown_ref = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(DocRef::external("no-such-invoice"), dec!(20));
    assert_eq!(
        x.record_payment(&unknown_ref, &key("bad-9"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let mut usd = invoice("c-bad-usd", ("c-bad", &cid));
    usd.currency = Currency::USD;
    let usd = x.create_invoice(&usd, &key("c-bad-usd")).await.unwrap();
    let mixed = pay(dec!(30))
        .apply_to(a.clone(), dec!(10))
        .apply_to(DocRef::resolved("c-bad-usd", &usd.id), dec!(20));
    assert_eq!(
        fields(x.record_payment(&mixed, &key("bad-10")).await.unwrap_err()),
        vec!["applications[1].invoice"]
    );
    assert!(
        batch_puts(&env.mock).is_empty(),
        "no batch request was sent"
    );

    // Xero's own rule: paying more than an invoice's balance. The whole batch is refused, the error names the
    // payment inside the batch, and no invoice changes.
    let over = pay(dec!(1210.01))
        .apply_to(a.clone(), dec!(50))
        .apply_to(b.clone(), dec!(1160.01));
    let Error::Validation { errors, .. } =
        x.record_payment(&over, &key("bad-11")).await.unwrap_err()
    else {
        panic!("expected Validation")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "BatchPayments[0].Payments[1]");
    assert!(errors[0].message.contains("exceeds"), "{errors:?}");
    assert_eq!(batch_puts(&env.mock).len(), 1);
    assert!(env.mock.records("BatchPayments").is_empty());
    assert!(env.mock.records("Payments").is_empty());
    assert_eq!(balance(x, &inv[0]).await, dec!(1160.00));
    assert_eq!(balance(x, &inv[1]).await, dec!(1160.00));
}

#[tokio::test]
async fn a_credit_note_without_allocation_reads_back_without_an_invoice_id() {
    use erp_hub_core::testing::conformance::FaultHook;
    let env = common::env().await;
    let x = &env.xero;
    let cid = customer(x, "c-cn-noalloc").await;
    let r = x
        .create_invoice(
            &invoice("inv-noalloc", ("c-cn-noalloc", &cid)),
            &key("inv-noalloc"),
        )
        .await
        .unwrap();
    let cn = CreditNote::new(
        "cn-noalloc",
        PartyRef::resolved("c-cn-noalloc", cid.clone()),
        DocRef::resolved("inv-noalloc", r.id.clone()),
        NaiveDate::from_ymd_opt(2026, 1, 20).unwrap(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Refund", dec!(1), dec!(10)));
    // The allocation (second write) is refused: the note exists, unallocated, and the adapter says Uncertain.
    assert!(env.mock.reject_write_after(1).await);
    let err = x
        .create_credit_note(&cn, &key("cn-noalloc"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uncertain);
    let note = env.mock.records("CreditNotes").pop().unwrap();
    let id = note["CreditNoteID"].as_str().unwrap();
    let Entity::CreditNote(read) = x.get(EntityKind::CreditNote, id).await.unwrap().entity else {
        panic!("expected a credit note")
    };
    assert_eq!(read.invoice.remote_id, None);
}
