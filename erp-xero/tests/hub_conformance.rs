//! The shared conformance suite with the sync hub in front of the Xero adapter (the mock Xero), including
//! `verdict_after_apply`.

mod common;

use std::sync::Arc;

use erp_hub_core::testing::conformance::Context;
use erp_hub_core::testing::run_all_via_hub;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub() {
    let env = common::env().await;
    let results = run_all_via_hub(Arc::new(env.xero), &Context::new("xh"), &env.mock).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 11);
}
