//! Entity shapes (US and Global/México), void, payments, credit memos, items, paging, batch, CDC, webhooks.

mod common;

use chrono::NaiveDate;
use erp_hub_core::adapter::Entity;
use erp_hub_core::http::{HeaderMap, HeaderValue};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{ErpAdapter, ErrorKind, IdempotencyKey};
use erp_quickbooks::batch::{self, BatchOp};
use erp_quickbooks::wire::CustomerResp;
use erp_quickbooks::{QuickBooksAdapter, TaxMode, WebhookVerifier, webhook};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

async fn customer(qbo: &QuickBooksAdapter, ext: &str) -> PartyRef {
    let r = qbo
        .upsert_customer(&Customer::new(ext, format!("Customer {ext}")), &key(ext))
        .await
        .unwrap();
    PartyRef::resolved(ext, r.id)
}

fn last_body(mock: &erp_quickbooks::testing::MockQuickBooks, path: &str) -> serde_json::Value {
    mock.requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST" && r.path == path)
        .map(|r| r.body)
        .unwrap()
}

#[tokio::test]
async fn company_info_home_currency_and_tax_mode() {
    let (qbo, _mock, _s) = common::adapter(TaxMode::Us).await;
    let info = qbo.test_connection().await.unwrap();
    assert_eq!(info.id, common::REALM);
    assert_eq!(info.country.as_deref(), Some("MX"));
    assert_eq!(info.home_currency.as_deref(), Some("MXN"));
    assert_eq!(qbo.detect_tax_mode().await.unwrap(), TaxMode::Global);
    assert_eq!(
        qbo.get(EntityKind::Invoice, "").await.unwrap_err().kind(),
        ErrorKind::Validation
    );
    assert_eq!(
        qbo.get(EntityKind::Invoice, "999999")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn us_invoice_uses_tax_and_non_pseudo_codes() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Us).await;
    let cust = customer(&qbo, "us-cust").await;
    let mut inv = Invoice::new("us-inv-1", cust, date(), Currency::USD)
        .with_line(
            InvoiceLine::new("Guided tour", dec!(2), dec!(120))
                .with_tax(Tax::transferred("SALES", TaxRate::Percent(dec!(8.25)))),
        )
        .with_line(InvoiceLine::new("Gift card", dec!(1), dec!(50)));
    inv.number = Some("BK-1001".into());
    let r = qbo.create_invoice(&inv, &key("us-inv-1")).await.unwrap();
    assert_eq!(r.number.as_deref(), Some("BK-1001"));
    let body = last_body(&mock, "invoice");
    assert_eq!(
        body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"],
        "TAX"
    );
    assert_eq!(
        body["Line"][1]["SalesItemLineDetail"]["TaxCodeRef"]["value"],
        "NON"
    );
    assert_eq!(body["Line"][0]["Amount"], json!(240));
    assert_eq!(
        body["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"],
        "1"
    );
    assert!(body.get("GlobalTaxCalculation").is_none());
    assert!(body.get("TxnTaxDetail").is_none());
    assert!(body.get("CurrencyRef").is_none());
    assert_eq!(body["PrivateNote"], "[erp-hub ref=us-inv-1]");
    // Same DocNumber from the same external reference with a new key: it is ours, no duplicate.
    let again = qbo
        .create_invoice(&inv, &key("us-inv-1-retry"))
        .await
        .unwrap();
    assert_eq!(again.id, r.id);
    // A different invoice reusing the number: Duplicate (6140) with the existing id.
    let mut other = inv.clone();
    other.external_ref = "us-inv-2".into();
    let err = qbo
        .create_invoice(&other, &key("us-inv-2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate);
    assert!(err.to_string().contains(&r.id), "{err}");
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test]
async fn global_mx_invoice_with_tax_codes_currency_and_rate() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    let cust = customer(&qbo, "mx-cust").await;
    let mut inv = Invoice::new("mx-inv-1", cust.clone(), date(), Currency::USD)
        .with_line(
            InvoiceLine::new("Consultoría", dec!(3), dec!(333.33))
                .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
        )
        .with_line(
            InvoiceLine::new("Libro", dec!(1), dec!(399.90))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        );
    inv.exchange_rate = Some(dec!(17.2531));
    inv.memo = Some("Gracias".into());
    let r = qbo.create_invoice(&inv, &key("mx-inv-1")).await.unwrap();
    let body = last_body(&mock, "invoice");
    assert_eq!(body["GlobalTaxCalculation"], "TaxExcluded");
    assert_eq!(body["CurrencyRef"]["value"], "USD");
    assert_eq!(body["ExchangeRate"], json!(17.2531));
    assert_eq!(
        body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"],
        "5"
    );
    assert_eq!(
        body["Line"][1]["SalesItemLineDetail"]["TaxCodeRef"]["value"],
        "6"
    );
    assert_eq!(body["Line"][0]["Amount"], json!(999.99));
    assert_eq!(body["CustomerMemo"]["value"], "Gracias");
    let expected = inv.breakdown().unwrap();
    assert_eq!(
        body["TxnTaxDetail"]["TotalTax"],
        serde_json::from_str::<serde_json::Value>(
            &expected.transferred.amount().normalize().to_string()
        )
        .unwrap()
    );
    let rec = qbo.get(EntityKind::Invoice, &r.id).await.unwrap();
    assert_eq!(rec.balance, Some(expected.total.amount()));
    match rec.entity {
        Entity::Invoice(got) => {
            assert_eq!(got.external_ref, "mx-inv-1");
            assert_eq!(got.exchange_rate, Some(dec!(17.2531)));
            assert_eq!(got.lines.len(), 2);
            assert_eq!(got.lines[0].unit_price, dec!(333.33));
        }
        other => panic!("{other:?}"),
    }
    // An unmapped tax combination is a configuration error before any request.
    let bad = Invoice::new("mx-inv-2", cust, date(), Currency::MXN).with_line(
        InvoiceLine::new("x", Decimal::ONE, Decimal::ONE)
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(8)))),
    );
    let err = qbo
        .create_invoice(&bad, &key("mx-inv-2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("IVA8"), "{err}");
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test]
async fn void_partial_payments_and_credit_memo() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    let cust = customer(&qbo, "pay-cust").await;
    let inv = Invoice::new("pay-inv", cust.clone(), date(), Currency::MXN).with_line(
        InvoiceLine::new("Servicio", dec!(1), dec!(1000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let r = qbo.create_invoice(&inv, &key("pay-inv")).await.unwrap();
    let doc = DocRef::resolved("pay-inv", r.id.clone());
    let p1 = Payment::new("pay-1", cust.clone(), date(), Currency::MXN, dec!(500))
        .apply_to(doc.clone(), dec!(500));
    let paid = qbo.record_payment(&p1, &key("pay-1")).await.unwrap();
    let body = last_body(&mock, "payment");
    assert_eq!(
        body["Line"][0]["LinkedTxn"][0],
        json!({"TxnId": r.id, "TxnType": "Invoice"})
    );
    assert_eq!(body["DepositToAccountRef"]["value"], "35");
    assert_eq!(
        qbo.get(EntityKind::Invoice, &r.id).await.unwrap().balance,
        Some(dec!(660))
    );
    // Too much is refused by QuickBooks (6000), and nothing is written. The adapter does not compare with the
    // open balance itself: a re-send of an applied payment must get its first answer back.
    let writes = mock.writes_applied();
    let over = Payment::new("pay-over", cust.clone(), date(), Currency::MXN, dec!(700))
        .apply_to(doc.clone(), dec!(700));
    let err = qbo
        .record_payment(&over, &key("pay-over"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(mock.writes_applied(), writes);
    // The applied payment re-sent with its key: the same payment, nothing new.
    let again = qbo.record_payment(&p1, &key("pay-1")).await.unwrap();
    assert_eq!(mock.writes_applied(), writes);
    assert_eq!(
        qbo.get(EntityKind::Invoice, &r.id).await.unwrap().balance,
        Some(dec!(660))
    );
    assert_eq!(again.id, paid.id);
    // Credit memo of 116 applied through a zero Payment linking the invoice and the memo.
    let cn = CreditNote::new("cn-1", cust.clone(), doc.clone(), date(), Currency::MXN).with_line(
        InvoiceLine::new("Descuento", dec!(1), dec!(100))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let cm = qbo.create_credit_note(&cn, &key("cn-1")).await.unwrap();
    let apply = last_body(&mock, "payment");
    assert_eq!(apply["TotalAmt"], json!(0));
    assert_eq!(
        apply["Line"][1]["LinkedTxn"][0],
        json!({"TxnId": cm.id, "TxnType": "CreditMemo"})
    );
    assert_eq!(
        qbo.get(EntityKind::Invoice, &r.id).await.unwrap().balance,
        Some(dec!(544))
    );
    // Replaying the credit note with the same key writes nothing new.
    let writes = mock.writes_applied();
    let again = qbo.create_credit_note(&cn, &key("cn-1")).await.unwrap();
    assert_eq!(again.id, cm.id);
    assert_eq!(mock.writes_applied(), writes);
    match qbo
        .get(EntityKind::CreditNote, &cm.id)
        .await
        .unwrap()
        .entity
    {
        Entity::CreditNote(c) => {
            assert_eq!(c.external_ref, "cn-1");
            assert_eq!(c.invoice.remote_id.as_deref(), Some(r.id.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // Void with an explicit stale version → Conflict; without a version → read, void.
    let stale = r.clone();
    let err = qbo
        .void_invoice(&stale, &key("void-stale"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let mut unversioned = r.clone();
    unversioned.version = None;
    qbo.void_invoice(&unversioned, &key("void-1"))
        .await
        .unwrap();
    let rec = qbo.get(EntityKind::Invoice, &r.id).await.unwrap();
    assert!(rec.voided);
    assert_eq!(rec.balance, Some(Decimal::ZERO));
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test]
async fn items_are_upserted_and_referenced_by_lines() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    let mut item = Item::new(
        "tour-pp",
        "TOUR-PP",
        "Guided tour (per person)",
        ItemKind::Service,
    );
    item.unit_price = Some(dec!(120));
    let a = qbo.upsert_item(&item, &key("item-1")).await.unwrap();
    let body = last_body(&mock, "item");
    assert_eq!(body["Type"], "Service");
    assert_eq!(body["IncomeAccountRef"]["value"], "79");
    assert_eq!(body["Sku"], "TOUR-PP");
    // Same item again with another key: matched by Name + Sku, updated.
    item.description = Some("Two hours".into());
    let b = qbo.upsert_item(&item, &key("item-2")).await.unwrap();
    assert_eq!(a.id, b.id);
    // A fresh adapter (no memory) finds the line's item by Sku.
    let fresh = QuickBooksAdapter::new(
        common::config(&mock, TaxMode::Global),
        common::store_with_initial_tokens(),
    )
    .unwrap()
    .with_mapping(common::mx_mapping());
    let cust = customer(&fresh, "item-cust").await;
    let inv = Invoice::new("item-inv", cust, date(), Currency::MXN).with_line(
        InvoiceLine::new("Tour", dec!(2), dec!(120))
            .with_item("TOUR-PP")
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    fresh.create_invoice(&inv, &key("item-inv")).await.unwrap();
    assert_eq!(
        last_body(&mock, "invoice")["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"],
        json!(a.id)
    );
    match qbo.get(EntityKind::Item, &a.id).await.unwrap().entity {
        Entity::Item(i) => assert_eq!(i.description.as_deref(), Some("Two hours")),
        other => panic!("{other:?}"),
    }
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test]
async fn query_paging_batch_and_cdc() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    // Batch: 35 creates in two requests (30 + 5), one of them a duplicate name.
    let mut ops = Vec::new();
    for i in 0..35 {
        let name = if i == 34 {
            "Batch 0".to_owned()
        } else {
            format!("Batch {i}")
        };
        ops.push(BatchOp::create("Customer", &json!({"DisplayName": name})).unwrap());
    }
    ops.push(BatchOp::Query(
        "SELECT * FROM Customer WHERE DisplayName = 'Batch 3'".into(),
    ));
    let results = batch::execute(qbo.client(), &ops, Some(&key("batch-1")))
        .await
        .unwrap();
    assert_eq!(results.len(), 36);
    let batches: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "batch")
        .collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        batches[0].body["BatchItemRequest"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    for r in &results[..34] {
        assert!(r.result.is_ok(), "{r:?}");
    }
    assert_eq!(
        results[34].result.as_ref().unwrap_err().kind(),
        ErrorKind::Duplicate
    );
    let (name, raw) = results[35].result.as_ref().unwrap();
    assert_eq!(name, "QueryResponse");
    assert!(raw.get().contains("Batch 3"));
    // Paging: 35 customers read 10 at a time.
    let all: Vec<CustomerResp> = qbo.client().query_all("Customer", None, 10).await.unwrap();
    assert_eq!(all.len(), 34);
    let pages: Vec<String> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "query")
        .filter_map(|r| {
            r.query
                .into_iter()
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v)
        })
        .collect();
    assert!(
        pages
            .iter()
            .any(|q| q.ends_with("STARTPOSITION 31 MAXRESULTS 10")),
        "{pages:?}"
    );
    // CDC: everything since the start, then only what changed after the cursor.
    let page = qbo
        .list_changed_since(&[EntityKind::Customer], None)
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 34);
    assert!(!page.has_more);
    let again = qbo
        .list_changed_since(&[EntityKind::Customer], Some(&page.next))
        .await
        .unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    let c = qbo
        .upsert_customer(&Customer::new("cdc-1", "CDC One"), &key("cdc-1"))
        .await
        .unwrap();
    let after = qbo
        .list_changed_since(&[EntityKind::Customer], Some(&again.next))
        .await
        .unwrap();
    assert_eq!(after.changes.len(), 1);
    assert_eq!(after.changes[0].remote.id, c.id);
    assert_eq!(after.changes[0].external_ref.as_deref(), Some("cdc-1"));
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[test]
fn webhook_signatures_and_payloads() {
    let verifier = WebhookVerifier::new("verifier-token");
    let legacy = common::sample_bytes("webhook_legacy_payload.json");
    let sig = verifier.sign(&legacy);
    let mut headers = HeaderMap::new();
    headers.insert(
        webhook::SIGNATURE_HEADER,
        HeaderValue::from_str(&sig).unwrap(),
    );
    let events = verifier.verify(&headers, &legacy).unwrap();
    assert_eq!(events[1].entity_kind(), Some(EntityKind::Invoice));
    assert_eq!(
        verifier
            .verify(&HeaderMap::new(), &legacy)
            .unwrap_err()
            .kind(),
        ErrorKind::Auth
    );
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].realm_id, "1185883450");
    assert_eq!(
        (events[1].entity.as_str(), events[1].id.as_str()),
        ("Invoice", "130")
    );
    assert_eq!(events[1].operation, "Update");
    // One changed byte, a wrong key, garbage: all rejected.
    let mut tampered = legacy.clone();
    tampered[10] ^= 1;
    assert_eq!(
        verifier.verify(&headers, &tampered).unwrap_err().kind(),
        ErrorKind::Auth
    );
    assert!(
        WebhookVerifier::new("other")
            .verify(&headers, &legacy)
            .is_err()
    );
    assert!(verifier.verify_signature(&legacy, "not base64!").is_err());
    assert!(verifier.verify_signature(&legacy, "").is_err());
    // Independent HMAC check: base64(HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")).
    assert_eq!(
        WebhookVerifier::new("key").sign(b"The quick brown fox jumps over the lazy dog"),
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    );
    let ce = webhook::parse(&common::sample_bytes("webhook_cloudevents_payload.json")).unwrap();
    assert_eq!(ce.len(), 1);
    assert_eq!(ce[0].entity, "Invoice");
    assert_eq!(ce[0].operation, "Create");
    assert_eq!(ce[0].id, "95");
    assert_eq!(ce[0].realm_id, "310687");
    assert!(ce[0].event_id.is_some());
    assert!(webhook::parse(b"{\"hello\":1}").is_err());
}

#[tokio::test]
async fn void_without_version_survives_a_concurrent_edit() {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    let cust = customer(&qbo, "void-cust").await;
    let inv = Invoice::new("void-inv", cust, date(), Currency::MXN).with_line(InvoiceLine::new(
        "x",
        dec!(1),
        dec!(10),
    ));
    let mut r = qbo.create_invoice(&inv, &key("void-inv")).await.unwrap();
    r.version = None;
    mock.touch_after_next_get("Invoice", &r.id);
    qbo.void_invoice(&r, &key("void-race")).await.unwrap();
    assert!(qbo.get(EntityKind::Invoice, &r.id).await.unwrap().voided);
    let voids: Vec<u16> = mock
        .requests()
        .iter()
        .filter(|q| {
            q.path == "invoice" && q.query.iter().any(|(k, v)| k == "operation" && v == "void")
        })
        .map(|q| q.status)
        .collect();
    assert_eq!(voids, vec![400, 200]);
}
