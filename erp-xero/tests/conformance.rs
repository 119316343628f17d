//! erp-hub-core's shared conformance suite against the adapter talking to the mock Xero, and every request
//! body it sent checked against the official OpenAPI spec.

mod common;

use erp_hub_core::testing::conformance::{Context, run_all};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_mock_xero() {
    let env = common::env().await;
    let ctx = Context::new("xc");
    let results = run_all(&env.xero, &ctx, &env.mock).await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
    assert_eq!(results.len(), 10);

    // No write was duplicated: one contact per external reference.
    let contacts = env.mock.records("Contacts");
    let mut numbers: Vec<&str> = contacts
        .iter()
        .filter_map(|c| c.get("ContactNumber").and_then(Value::as_str))
        .collect();
    let before = numbers.len();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(before, numbers.len(), "a contact was created twice");

    let requests = env.mock.requests();
    // The storm really happened and was retried with the same key.
    assert!(requests.iter().any(|r| r.status == 429));
    // The token expiry really happened and was recovered by a refresh.
    assert!(requests.iter().any(|r| r.status == 401));
    assert!(env.mock.refresh_count() >= 1);
    // Every write carried an Idempotency-Key within Xero's limit, every API call the tenant header.
    for r in requests
        .iter()
        .filter(|r| r.path.starts_with("/api.xro/2.0"))
    {
        assert_eq!(
            r.tenant_id.as_deref(),
            Some(env.mock.tenant_id()),
            "{} {}",
            r.method,
            r.path
        );
        if r.method != "GET" {
            let key = r
                .idempotency_key
                .as_deref()
                .unwrap_or_else(|| panic!("no key on {} {}", r.method, r.path));
            assert!(!key.is_empty() && key.len() <= 128);
        }
    }
    let checked = common::spec::spec().check_requests(&requests);
    assert!(checked >= 20, "only {checked} bodies checked");
}
