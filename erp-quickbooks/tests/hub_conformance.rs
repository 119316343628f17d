//! The shared conformance suite with the sync hub in front of the QuickBooks adapter (the stateful mock, every
//! body checked against the Intuit XSDs), including `verdict_after_apply`.

mod common;

use std::sync::Arc;

use erp_hub_core::testing::conformance::Context;
use erp_hub_core::testing::run_all_via_hub;
use erp_quickbooks::TaxMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let results = run_all_via_hub(Arc::new(qbo), &Context::new("hub"), &mock).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 11);
    assert!(mock.throttled_count() >= 6, "the 429 storm did not happen");
    assert_eq!(mock.violations(), Vec::<String>::new());
}
