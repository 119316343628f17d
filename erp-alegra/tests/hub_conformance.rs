//! The shared conformance suite with the sync hub in front of the Alegra adapter (the mock Alegra), including
//! `verdict_after_apply` and the hub's sync-log check.

use std::sync::Arc;

use erp_alegra::testing::MockAlegra;
use erp_hub_core::testing::conformance::Context;
use erp_hub_core::testing::run_all_via_hub;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub() {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().expect("adapter");
    let results = run_all_via_hub(Arc::new(alegra), &Context::new("ah"), &mock).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 11);
    // Nothing was created twice: one record per external reference in every collection.
    for coll in ["contacts", "invoices", "payments", "credit-notes"] {
        let mut refs: Vec<String> = mock
            .records(coll)
            .iter()
            .filter_map(|r| {
                r.get("observations")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        let before = refs.len();
        refs.sort();
        refs.dedup();
        assert_eq!(before, refs.len(), "a record of {coll} was created twice");
    }
}
