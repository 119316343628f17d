//! Per-realm limits through erp-hub-core's rate limiter: defaults, in-flight cap, batch budget; config checks.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use erp_hub_core::http::{RateLimitConfig, TokenStore};
use erp_hub_core::model::Customer;
use erp_hub_core::{ErpAdapter, Error, ErrorKind, IdempotencyKey};
use erp_quickbooks::batch::{self, BatchOp};
use erp_quickbooks::{QuickBooksAdapter, QuickBooksConfig, TaxMode};
use serde_json::json;

#[test]
fn defaults_match_intuit_limits() {
    let c =
        QuickBooksConfig::new(erp_quickbooks::Environment::Sandbox, "123", "id", "secret").unwrap();
    assert_eq!(c.rate_limit.max_requests(), 500);
    assert_eq!(c.rate_limit.window(), Duration::from_secs(60));
    assert_eq!(c.rate_limit.max_in_flight(), 10);
    assert_eq!(c.batch_rate_limit.max_requests(), 120);
    assert_eq!(c.batch_rate_limit.window(), Duration::from_secs(60));
    assert_eq!(c.minor_version, 75);
    assert_eq!(
        c.company_url(),
        "https://sandbox-quickbooks.api.intuit.com/v3/company/123"
    );
    let p = QuickBooksConfig::new(
        erp_quickbooks::Environment::Production,
        "123",
        "id",
        "secret",
    )
    .unwrap();
    assert_eq!(
        p.company_url(),
        "https://quickbooks.api.intuit.com/v3/company/123"
    );
    assert_eq!(
        QuickBooksConfig::new(erp_quickbooks::Environment::Sandbox, "12/3", "id", "s")
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn minor_versions_below_75_are_refused() {
    let m = common::mock().await;
    let mut c = common::config(&m, TaxMode::Us);
    c.minor_version = 73;
    let err = QuickBooksAdapter::new(c, common::store_with_initial_tokens()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_in_flight_requests_per_realm() {
    let m = common::mock().await;
    m.set_latency(Duration::from_millis(150));
    let mut c = common::config(&m, TaxMode::Global);
    c.rate_limit = RateLimitConfig::new(500, Duration::from_secs(60), 5).unwrap();
    let qbo = QuickBooksAdapter::new(
        c,
        common::store_with_initial_tokens() as Arc<dyn TokenStore>,
    )
    .unwrap()
    .with_mapping(common::mx_mapping());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let q = qbo.clone();
        tasks.push(tokio::spawn(async move { q.test_connection().await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // 10 requests, 5 at a time, 150 ms each: at least two waves.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_requests_use_their_own_budget() {
    let m = common::mock().await;
    let mut c = common::config(&m, TaxMode::Global);
    c.batch_rate_limit = RateLimitConfig::new(1, Duration::from_millis(1500), 10).unwrap();
    let qbo = QuickBooksAdapter::new(
        c,
        common::store_with_initial_tokens() as Arc<dyn TokenStore>,
    )
    .unwrap()
    .with_mapping(common::mx_mapping());
    let ops: Vec<BatchOp> = (0..31)
        .map(|i| BatchOp::create("Customer", &json!({"DisplayName": format!("B{i}")})).unwrap())
        .collect();
    let started = Instant::now();
    let results = batch::execute(qbo.client(), &ops, None).await.unwrap();
    assert_eq!(results.len(), 31);
    // Two requests (30 + 1 operations) under a budget of one per 1.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    // Single requests are not held back by the batch budget (which would make them wait ~1.5 s more).
    let t = Instant::now();
    qbo.test_connection().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn renaming_onto_a_taken_name_reports_the_existing_record() {
    let (qbo, _m, _s) = common::adapter(TaxMode::Global).await;
    let a = qbo
        .upsert_customer(
            &Customer::new("r-a", "Alpha"),
            &IdempotencyKey::new("r-a").unwrap(),
        )
        .await
        .unwrap();
    let b = qbo
        .upsert_customer(
            &Customer::new("r-b", "Beta"),
            &IdempotencyKey::new("r-b").unwrap(),
        )
        .await
        .unwrap();
    let mut renamed = Customer::new("r-b", "Alpha");
    renamed.remote = Some(b);
    match qbo
        .upsert_customer(&renamed, &IdempotencyKey::new("r-b-rename").unwrap())
        .await
    {
        Err(Error::Duplicate { existing_id, .. }) => assert_eq!(existing_id, Some(a.id)),
        other => panic!("{other:?}"),
    }
}
