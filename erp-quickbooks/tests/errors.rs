//! Fault mapping from the documented samples (JSON) and XML bodies, and write safety under 429 storms.

mod common;

use std::time::Duration;

use erp_hub_core::http::HeaderMap;
use erp_hub_core::model::Customer;
use erp_hub_core::{ErpAdapter, Error, ErrorKind, IdempotencyKey};
use erp_quickbooks::TaxMode;
use erp_quickbooks::error::{Fault, response_error};

#[test]
fn documented_fault_samples_map_to_kinds() {
    let h = HeaderMap::new();
    for (file, status, kind) in [
        ("fault_6240_duplicate_name.json", 400, ErrorKind::Duplicate),
        (
            "fault_6140_duplicate_doc_num.json",
            400,
            ErrorKind::Duplicate,
        ),
        ("fault_5010_stale_object.json", 400, ErrorKind::Conflict),
        ("fault_3200_auth_401.json", 401, ErrorKind::Auth),
        ("fault_3001_throttle_429.json", 429, ErrorKind::RateLimited),
        ("fault_610_object_not_found.json", 400, ErrorKind::NotFound),
        (
            "fault_2500_invalid_reference.json",
            400,
            ErrorKind::Validation,
        ),
    ] {
        let body = common::sample_bytes(file);
        let err = response_error(status, &h, &body, false);
        assert_eq!(err.kind(), kind, "{file}: {err}");
    }
    // Validation keeps the code and the element per error.
    let body = br#"{"Fault":{"Error":[{"Message":"Required param missing","Detail":"need DisplayName","code":"2020","element":"DisplayName"},{"Message":"Business Validation Error","Detail":"x","code":"6000","element":""}],"type":"ValidationFault"}}"#;
    let err = response_error(400, &h, body, false);
    // The typed Fault is the error's source: users can match on its codes.
    let fault = err.provider_error::<Fault>().expect("the Fault as source");
    assert_eq!(fault.kind, "ValidationFault");
    assert_eq!(fault.errors.len(), 2);
    match err {
        Error::Validation { errors, .. } => {
            assert_eq!(errors.len(), 2);
            assert_eq!(errors[0].field, "DisplayName");
            assert_eq!(errors[0].code.as_deref(), Some("2020"));
            assert_eq!(errors[1].code.as_deref(), Some("6000"));
        }
        other => panic!("{other:?}"),
    }
    // 120 authorization failure (JSON) and a 3200 in XML.
    let body = br#"{"Fault":{"Error":[{"Message":"AuthorizationFailure","code":"120"}],"type":"AUTHENTICATION"}}"#;
    assert_eq!(response_error(403, &h, body, false).kind(), ErrorKind::Auth);
    let xml = br#"<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="AUTHENTICATION"><Error code="3200"><Message>message=AuthenticationFailed; errorCode=003200; statusCode=401</Message></Error></Fault></IntuitResponse>"#;
    assert_eq!(response_error(401, &h, xml, false).kind(), ErrorKind::Auth);
    let f = Fault::parse(xml).unwrap();
    assert_eq!(f.errors[0].code, "3200");
    // 5xx: transient when replay-safe, uncertain otherwise; an unparsable body still maps by status.
    assert_eq!(
        response_error(503, &h, b"<html/>", true).kind(),
        ErrorKind::Transient
    );
    assert_eq!(
        response_error(500, &h, b"oops", false).kind(),
        ErrorKind::Uncertain
    );
    let mut h = HeaderMap::new();
    h.insert("retry-after", "7".parse().unwrap());
    assert_eq!(
        response_error(429, &h, b"", false).retry_after(),
        Some(Duration::from_secs(7))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_json_and_xml_429s_never_loses_or_duplicates_a_write() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let before = mock.count("Customer");
    for i in 0..5 {
        // Alternating JSON / XML throttle bodies, more than one per write.
        mock.throttle_next(3);
        let c = Customer::new(format!("storm-{i}"), format!("Storm Customer {i}"));
        let key = IdempotencyKey::new(format!("storm-key-{i}")).unwrap();
        let a = qbo.upsert_customer(&c, &key).await.unwrap();
        // Replaying the same key (e.g. after a crash) returns the same record.
        let b = qbo.upsert_customer(&c, &key).await.unwrap();
        assert_eq!(a.id, b.id);
    }
    assert_eq!(mock.throttled_count(), 15);
    assert_eq!(mock.count("Customer") - before, 5);
    assert_eq!(mock.writes_applied(), 5);
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_longer_than_the_retry_budget_is_rate_limited_not_lost() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    mock.throttle_next(50);
    let c = Customer::new("long-storm", "Long Storm");
    let key = IdempotencyKey::new("long-storm").unwrap();
    let err = qbo.upsert_customer(&c, &key).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(mock.count("Customer"), 0);
    // Once the storm is over the same key writes exactly once.
    let mut tries = 0;
    let r = loop {
        match qbo.upsert_customer(&c, &key).await {
            Ok(r) => break r,
            Err(e) if e.is_retriable() && tries < 20 => tries += 1,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(mock.count("Customer"), 1);
    assert_eq!(qbo.upsert_customer(&c, &key).await.unwrap().id, r.id);
}

#[tokio::test]
async fn duplicate_names_are_resolved_by_external_reference() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let mut c = Customer::new("cust-1", "Acme Tours LLC");
    let a = qbo
        .upsert_customer(&c, &IdempotencyKey::new("k1").unwrap())
        .await
        .unwrap();
    // Same external reference, new key, no remote id: the 6240 is ours → sparse update of the same record.
    c.email = Some("billing@acme.example".into());
    let b = qbo
        .upsert_customer(&c, &IdempotencyKey::new("k2").unwrap())
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.version, b.version);
    let stored = mock.record("Customer", &a.id).unwrap();
    assert_eq!(
        stored["PrimaryEmailAddr"]["Address"],
        "billing@acme.example"
    );
    assert_eq!(stored["Notes"], "[erp-hub ref=cust-1]");
    // Another external reference with the same name: Duplicate with the existing id.
    let other = Customer::new("cust-2", "Acme Tours LLC");
    match qbo
        .upsert_customer(&other, &IdempotencyKey::new("k3").unwrap())
        .await
    {
        Err(Error::Duplicate { existing_id, .. }) => assert_eq!(existing_id, Some(a.id.clone())),
        other => panic!("{other:?}"),
    }
    // A vendor's name: Duplicate without an id (it is not a customer).
    mock.add_vendor("Supplier Inc");
    match qbo
        .upsert_customer(
            &Customer::new("cust-3", "Supplier Inc"),
            &IdempotencyKey::new("k4").unwrap(),
        )
        .await
    {
        Err(Error::Duplicate {
            existing_id,
            message,
        }) => {
            assert_eq!(existing_id, None);
            assert!(message.contains("vendor"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Bad input never reaches QuickBooks.
    let before = mock.requests().len();
    let err = qbo
        .upsert_customer(
            &Customer::new("cust-4", "Parent:Child"),
            &IdempotencyKey::new("k5").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(mock.requests().len(), before);
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}

#[tokio::test]
async fn passthrough_fields_are_checked_against_the_xsd_by_the_mock() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let mut c = Customer::new("pt-1", "Passthrough");
    c.passthrough = serde_json::json!({"Notes": "VIP", "Favourite": "not a QBO field"});
    let err = qbo
        .upsert_customer(&c, &IdempotencyKey::new("pt-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(mock.violations().iter().any(|v| v.contains("Favourite")));
    c.passthrough = serde_json::json!({"Notes": "VIP"});
    let r = qbo
        .upsert_customer(&c, &IdempotencyKey::new("pt-2").unwrap())
        .await
        .unwrap();
    assert_eq!(
        mock.record("Customer", &r.id).unwrap()["Notes"],
        "[erp-hub ref=pt-1]\nVIP"
    );
}

#[tokio::test]
async fn stale_sync_token_after_our_own_read_is_re_read_and_retried_once() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let mut c = Customer::new("race-1", "Race Customer");
    let a = qbo
        .upsert_customer(&c, &IdempotencyKey::new("race-k1").unwrap())
        .await
        .unwrap();
    // 6240 → query (someone edits right after) → update 5010 → re-read → update.
    mock.touch_after_next_get("Customer", &a.id);
    c.phone = Some("+52 55 1234 5678".into());
    let b = qbo
        .upsert_customer(&c, &IdempotencyKey::new("race-k2").unwrap())
        .await
        .unwrap();
    assert_eq!(b.id, a.id);
    assert_eq!(
        mock.record("Customer", &a.id).unwrap()["PrimaryPhone"]["FreeFormNumber"],
        "+52 55 1234 5678"
    );
    let stale = mock
        .requests()
        .iter()
        .filter(|r| r.path == "customer" && r.status == 400)
        .count();
    assert_eq!(stale, 2, "one 6240 and one 5010");
    // With the caller's own (stale) version there is no retry: Conflict.
    let mut explicit = c.clone();
    explicit.remote = Some(a.clone());
    let err = qbo
        .upsert_customer(&explicit, &IdempotencyKey::new("race-k3").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}
