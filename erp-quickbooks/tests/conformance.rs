//! The shared erp-hub conformance suite against the adapter talking to the stateful QuickBooks mock, with every
//! request body checked against the Intuit XSDs.

mod common;

use erp_hub_core::testing::conformance::{Context, run_all};
use erp_quickbooks::TaxMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_global_mode() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    let ctx = Context::new("cf");
    let results = run_all(&qbo, &ctx, &mock).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 10);
    assert!(mock.throttled_count() >= 6, "the 429 storm did not happen");
    assert!(
        mock.refresh_count() >= 1,
        "the token expiry did not force a refresh"
    );
    assert_eq!(mock.violations(), Vec::<String>::new());
    // Every call carried minorversion=75; every write a requestid.
    for r in mock.requests() {
        assert!(
            r.query
                .iter()
                .any(|(k, v)| k == "minorversion" && v == "75"),
            "{r:?}"
        );
        if r.method == "POST" {
            assert!(r.query.iter().any(|(k, _)| k == "requestid"), "{r:?}");
        }
    }
}
