//! The shared conformance suite with the sync hub in front of the CONTPAQi adapter (over the reference bridge),
//! including `verdict_after_apply` and the hub's sync-log check.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use erp_hub_core::testing::conformance::Context;
use erp_hub_core::testing::run_all_via_hub;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_the_hub() {
    let env = common::env().await;
    let results = run_all_via_hub(Arc::new(env.contpaqi), &Context::new("ch"), &env.mock).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:#?}");
    assert_eq!(results.len(), 11);
    // Each write job ran once per idempotency key.
    let mut keys = HashSet::new();
    for (t, k) in &env.mock.executed() {
        assert!(
            keys.insert(k.clone()),
            "{t:?} job with key {k} executed twice"
        );
    }
}
