//! Alegra-specific behaviour against the mock: company, MX fields on the wire, ERP-native stamping exactly once,
//! void, payments over several invoices, and bad input (wrong token, unreadable answers, 429 storms, paging).

use std::time::Duration;

use erp_alegra::testing::{MockAlegra, TOKEN};
use erp_alegra::{AlegraAdapter, AlegraClient, AlegraConfig, AlegraError};
use erp_hub_core::adapter::{Entity, ErpAdapter, IdempotencyKey};
use erp_hub_core::http::RetryPolicy;
use erp_hub_core::model::{
    Address, AddressKind, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef,
    Payment, RemoteRef, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{Error, ErrorKind};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

fn mx_customer(ext: &str) -> Customer {
    let mut c = Customer::new(ext, format!("Acme Tours {ext} SA de CV"));
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "AAA010101AAA".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("06600".into()),
    });
    let mut a = Address::new(AddressKind::Billing);
    a.lines = vec!["Av. Reforma 1".into()];
    a.city = Some("Ciudad de México".into());
    a.country = Some("MX".into());
    c.addresses.push(a);
    c.passthrough = json!({"cfdiUse": "G03"});
    c
}

async fn invoice(
    alegra: &AlegraAdapter,
    cust: &RemoteRef,
    ext: &str,
    customer_ext: &str,
) -> RemoteRef {
    let inv = Invoice::new(
        ext,
        PartyRef::resolved(customer_ext, &cust.id),
        date(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Tour guiado", dec!(1), dec!(1000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    alegra
        .create_invoice(&inv, &key(&format!("{ext}-create")))
        .await
        .unwrap()
}

/// The mock, its adapter, and customer `c1` (with RFC, regime and zip code) created.
async fn setup() -> (MockAlegra, AlegraAdapter, RemoteRef) {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().unwrap();
    let c = alegra
        .upsert_customer(&mx_customer("c1"), &key("c1"))
        .await
        .unwrap();
    (mock, alegra, c)
}

#[tokio::test]
async fn test_connection_reads_the_company() {
    let mock = MockAlegra::start().await;
    let info = mock.adapter().unwrap().test_connection().await.unwrap();
    assert_eq!(info.country.as_deref(), Some("MX"));
    assert_eq!(info.home_currency.as_deref(), Some("MXN"));
    assert_eq!(info.tax_id.as_deref(), Some("TPA010101AB1"));
}

#[tokio::test]
async fn wrong_token_is_an_auth_error_and_the_token_is_never_recorded() {
    let mock = MockAlegra::start().await;
    let mut config = mock.config();
    config.token = "wrong-token".to_owned().into();
    let alegra = AlegraAdapter::new(AlegraClient::new(config).unwrap());
    let err = alegra.test_connection().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("Credenciales"), "{err}");
    let err = alegra
        .upsert_customer(&Customer::new("c", "C"), &key("c"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(mock.records("contacts").is_empty());
    let dump = format!("{:?}", mock.requests());
    assert!(!dump.contains("wrong-token") && !dump.contains(TOKEN));
}

#[tokio::test]
async fn mexican_fields_reach_alegra() {
    let (mock, alegra, c) = setup().await;
    let stored = &mock.records("contacts")[0];
    assert_eq!(stored["identification"], "AAA010101AAA");
    assert_eq!(stored["regime"], "601");
    assert_eq!(stored["cfdiUse"], "G03");
    assert_eq!(stored["address"]["zipCode"], "06600");
    assert_eq!(stored["address"]["country"], "Mexico");
    assert_eq!(stored["observations"], "erp-hub:ref=c1");
    let rec = alegra.get(EntityKind::Customer, &c.id).await.unwrap();
    let Entity::Customer(back) = rec.entity else {
        panic!()
    };
    assert_eq!(back.external_ref, "c1");
    assert_eq!(back.rfc(), Some("AAA010101AAA"));

    let inv = invoice(&alegra, &c, "inv-1", "c1").await;
    let body = mock.records("invoices")[0].clone();
    assert_eq!(body["paymentMethod"], "PPD");
    assert_eq!(body["paymentForm"], "99");
    assert_eq!(body["stamp"], Value::Null, "created unstamped");
    assert_eq!(body["items"][0]["tax"][0]["id"], 1);
    assert_eq!(body["currency"]["code"], "MXN");
    let rec = alegra.get(EntityKind::Invoice, &inv.id).await.unwrap();
    assert_eq!(rec.balance, Some(dec!(1160)));
    assert_eq!(inv.number.as_deref(), Some("A1"));
}

#[tokio::test]
async fn unmapped_tax_key_is_a_config_error_naming_it() {
    let (mock, alegra, c) = setup().await;
    let inv = Invoice::new(
        "inv-x",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("x", dec!(1), dec!(10))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(8)))),
    );
    let err = alegra
        .create_invoice(&inv, &key("inv-x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("IVA8"), "{err}");
    assert!(mock.records("invoices").is_empty());
}

#[tokio::test]
async fn stamping_is_exactly_once() {
    let (mock, alegra, c) = setup().await;
    let inv = invoice(&alegra, &c, "inv-1", "c1").await;
    assert_eq!(
        alegra.stamp_of(EntityKind::Invoice, &inv.id).await.unwrap(),
        None
    );
    let first = alegra.stamp_invoice(&inv.id).await.unwrap();
    assert!(!first.already_stamped);
    assert_eq!(first.uuid.len(), 36);
    assert_eq!(first.number.as_deref(), Some("A1"));
    let again = alegra.stamp_invoice(&inv.id).await.unwrap();
    assert!(again.already_stamped);
    assert_eq!(again.uuid, first.uuid);
    assert_eq!(
        mock.stamp_calls(),
        1,
        "the second call must re-read, not stamp"
    );
}

#[tokio::test]
async fn a_lost_stamp_answer_is_requeried_not_repeated() {
    let (mock, alegra, c) = setup().await;
    let inv = invoice(&alegra, &c, "inv-1", "c1").await;
    mock.lose_next_stamp_answers(1);
    let stamp = alegra.stamp_invoice(&inv.id).await.unwrap();
    assert!(!stamp.already_stamped);
    assert_eq!(mock.stamp_calls(), 1);
    let again = alegra.stamp_invoice(&inv.id).await.unwrap();
    assert_eq!(again.uuid, stamp.uuid);
    assert_eq!(mock.stamp_calls(), 1);
}

#[tokio::test]
async fn stamping_refused_by_alegra_keeps_the_typed_error() {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().unwrap();
    // No RFC, no zip code: Alegra cannot stamp.
    let c = alegra
        .upsert_customer(&Customer::new("c0", "Público"), &key("c0"))
        .await
        .unwrap();
    let inv = invoice(&alegra, &c, "inv-0", "c0").await;
    let err = alegra.stamp_invoice(&inv.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let typed = err.provider_error::<AlegraError>().expect("typed source");
    assert_eq!(typed.code, Some(2030));
    assert!(typed.message.contains("RFC"));
}

#[tokio::test]
async fn credit_notes_and_payments_stamp_too() {
    let (_mock, alegra, c) = setup().await;
    let inv = invoice(&alegra, &c, "inv-1", "c1").await;
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let cn = CreditNote::new(
        "cn-1",
        PartyRef::resolved("c1", &c.id),
        DocRef::resolved("inv-1", &inv.id),
        date(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(100)).with_tax(iva()));
    let cn = alegra.create_credit_note(&cn, &key("cn-1")).await.unwrap();
    let pay = Payment::new(
        "pay-1",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
        dec!(500),
    )
    .apply_to(DocRef::resolved("inv-1", &inv.id), dec!(500));
    let pay = alegra.record_payment(&pay, &key("pay-1")).await.unwrap();
    let a = alegra.stamp_credit_note(&cn.id).await.unwrap();
    let b = alegra.stamp_payment(&pay.id).await.unwrap();
    assert_ne!(a.uuid, b.uuid);
    assert_eq!(
        alegra
            .get(EntityKind::Invoice, &inv.id)
            .await
            .unwrap()
            .balance,
        Some(dec!(544))
    );
}

#[tokio::test]
async fn one_payment_over_several_invoices() {
    let (mock, alegra, c) = setup().await;
    let a = invoice(&alegra, &c, "inv-a", "c1").await;
    let b = invoice(&alegra, &c, "inv-b", "c1").await;
    let pay = Payment::new(
        "pay-ab",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
        dec!(1460),
    )
    .apply_to(DocRef::resolved("inv-a", &a.id), dec!(1160))
    .apply_to(DocRef::resolved("inv-b", &b.id), dec!(300));
    let p = alegra.record_payment(&pay, &key("pay-ab")).await.unwrap();
    let stored = &mock.records("payments")[0];
    assert_eq!(stored["type"], "in");
    assert_eq!(stored["bankAccount"]["id"], 1);
    assert_eq!(stored["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(
        alegra
            .get(EntityKind::Invoice, &a.id)
            .await
            .unwrap()
            .balance,
        Some(dec!(0))
    );
    assert_eq!(
        alegra
            .get(EntityKind::Invoice, &b.id)
            .await
            .unwrap()
            .balance,
        Some(dec!(860))
    );
    let Entity::Payment(back) = alegra.get(EntityKind::Payment, &p.id).await.unwrap().entity else {
        panic!()
    };
    assert_eq!(back.amount, dec!(1460));
    assert_eq!(back.applications.len(), 2);
}

#[tokio::test]
async fn void_is_idempotent_and_refused_on_paid_invoices() {
    let (_mock, alegra, c) = setup().await;
    let inv = invoice(&alegra, &c, "inv-1", "c1").await;
    alegra.void_invoice(&inv, &key("void-1")).await.unwrap();
    alegra.void_invoice(&inv, &key("void-1")).await.unwrap();
    let rec = alegra.get(EntityKind::Invoice, &inv.id).await.unwrap();
    assert!(rec.voided);
    assert_eq!(rec.balance, Some(dec!(0)));

    let paid = invoice(&alegra, &c, "inv-2", "c1").await;
    let pay = Payment::new(
        "p2",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
        dec!(10),
    )
    .apply_to(DocRef::resolved("inv-2", &paid.id), dec!(10));
    alegra.record_payment(&pay, &key("p2")).await.unwrap();
    let err = alegra
        .void_invoice(&paid, &key("void-2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
}

#[tokio::test]
async fn unreadable_answers_are_typed_errors_and_writes_land_once() {
    let (mock, alegra, c) = setup().await;
    // A read answered with broken JSON: a typed error, no panic.
    let mut config = mock.config();
    config.retry = RetryPolicy::never();
    let strict = AlegraAdapter::new(AlegraClient::new(config).unwrap());
    mock.garbage_next(1);
    let err = strict.get(EntityKind::Customer, &c.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    // A create applied and then answered with broken JSON: found by its reference, not created twice.
    let inv = Invoice::new(
        "inv-g",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("x", dec!(1), dec!(10)));
    mock.garbage_next_writes(1);
    let r = alegra.create_invoice(&inv, &key("inv-g")).await.unwrap();
    assert_eq!(mock.records("invoices").len(), 1);
    mock.apply_then_fail_next_writes(1);
    let inv2 = Invoice::new(
        "inv-h",
        PartyRef::resolved("c1", &c.id),
        date(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("y", dec!(1), dec!(10)));
    let r2 = alegra.create_invoice(&inv2, &key("inv-h")).await.unwrap();
    assert_ne!(r.id, r2.id);
    assert_eq!(
        mock.records("invoices").len(),
        2,
        "each invoice exactly once"
    );
    assert!(mock.requests().iter().any(|q| q.status == 500));
}

#[tokio::test]
async fn a_long_429_storm_is_rate_limited_and_nothing_lands_twice() {
    let mock = MockAlegra::start().await;
    let mut config = mock.config();
    config.retry = RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_delay(Duration::from_millis(1))
        .with_max_retry_after(Duration::from_secs(2));
    let alegra =
        AlegraAdapter::new(AlegraClient::new(config).unwrap()).with_mapping(MockAlegra::mapping());
    mock.set_limit(150, 0);
    mock.throttle_next(50);
    let c = Customer::new("storm", "Storm SA");
    let err = alegra.upsert_customer(&c, &key("storm")).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert!(err.is_retriable());
    mock.throttle_next(0);
    let a = alegra.upsert_customer(&c, &key("storm")).await.unwrap();
    let b = alegra.upsert_customer(&c, &key("storm")).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(mock.records("contacts").len(), 1);
}

#[tokio::test]
async fn the_client_waits_for_the_window_the_headers_report() {
    let mock = MockAlegra::start().await;
    mock.set_limit(3, 1);
    mock.set_window(Duration::from_secs(2));
    let alegra = mock.adapter().unwrap();
    let start = std::time::Instant::now();
    for _ in 0..5 {
        alegra.test_connection().await.unwrap();
    }
    // The third answer says `X-Rate-Limit-Remaining: 0` with the seconds to the reset: the client waits for
    // the window instead of drawing 429s.
    let statuses: Vec<u16> = mock.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200; 5], "{statuses:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn page_size_above_30_is_refused() {
    let err = AlegraClient::new(AlegraConfig::new("a@b.mx", "t".to_owned()).with_page_size(31))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn webhook_subscription_round_trip() {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().unwrap();
    let verifier = erp_alegra::webhook::WebhookVerifier::new("hook-secret".to_owned());
    let url = verifier
        .subscription_url("https://app.example.com/hooks/alegra")
        .unwrap();
    let sub = erp_alegra::webhook::subscribe(alegra.client(), "new-invoice", &url)
        .await
        .unwrap();
    assert_eq!(sub.event, "new-invoice");
    let subs = erp_alegra::webhook::subscriptions(alegra.client())
        .await
        .unwrap();
    assert_eq!(subs.len(), 1);
    let body = br#"{"subscription":"new-invoice","message":{"invoice":{"id":"3"}}}"#;
    let events = verifier.verify_url(&subs[0].url, body).unwrap();
    assert_eq!(events[0].entity_kind(), Some(EntityKind::Invoice));
    let err = verifier
        .verify_url("https://app.example.com/hooks/alegra?token=nope", body)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
}

/// Drains the customer feed from `cursor`, returning the ids reported and the final cursor.
async fn drain(
    alegra: &AlegraAdapter,
    mut cursor: Option<erp_hub_core::adapter::ChangeCursor>,
) -> (Vec<String>, erp_hub_core::adapter::ChangeCursor) {
    let mut ids = Vec::new();
    loop {
        let page = alegra
            .list_changed_since(&[EntityKind::Customer], cursor.as_ref())
            .await
            .unwrap();
        ids.extend(page.changes.iter().map(|c| c.remote.id.clone()));
        assert!(
            page.next.0.starts_with("alegra:v1;customer="),
            "{}",
            page.next.0
        );
        cursor = Some(page.next);
        if !page.has_more {
            return (ids, cursor.unwrap());
        }
    }
}

#[tokio::test]
async fn change_feed_survives_deletions_and_carries_external_refs() {
    let mock = MockAlegra::start().await;
    let alegra = AlegraAdapter::new(AlegraClient::new(mock.config().with_page_size(2)).unwrap());
    let mut made = Vec::new();
    for i in 1..=3 {
        let c = Customer::new(format!("feed-{i}"), format!("Feed {i}"));
        made.push(
            alegra
                .upsert_customer(&c, &key(&format!("feed-{i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let (first, cursor) = drain(&alegra, None).await;
    assert_eq!(
        first, made,
        "every record once, in id order, across pages of 2"
    );
    // Someone deletes records before the cursor's position, including its anchor, then adds one.
    mock.delete_record("contacts", &made[0]);
    mock.delete_record("contacts", &made[2]);
    let c4 = alegra
        .upsert_customer(&Customer::new("feed-4", "Feed 4"), &key("feed-4"))
        .await
        .unwrap();
    let (next, cursor) = drain(&alegra, Some(cursor)).await;
    assert_eq!(next, vec![c4.id.clone()], "only the new record, once");
    let (none, _) = drain(&alegra, Some(cursor)).await;
    assert!(none.is_empty());
    // The hub's reconciliation finds a record by its external reference through this feed.
    let found = erp_hub_core::hub::reconcile(&alegra, EntityKind::Customer, "feed-4")
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(c4.id));
    // A foreign cursor is refused.
    let err = alegra
        .list_changed_since(
            &[EntityKind::Customer],
            Some(&erp_hub_core::adapter::ChangeCursor("xero:2026".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}
