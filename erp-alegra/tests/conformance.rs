//! erp-hub-core's shared conformance suite against the adapter talking to the mock Alegra.

use erp_alegra::testing::MockAlegra;
use erp_hub_core::testing::conformance::{Context, run_all};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_mock_alegra() {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().expect("adapter");
    let ctx = Context::new("ac");
    let results = run_all(&alegra, &ctx, &mock).await;
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
    let requests = mock.requests();
    // The storm happened and was retried.
    assert!(requests.iter().any(|r| r.status == 429));
    // The business-rule rejection was provoked.
    assert!(requests.iter().any(|r| r.status == 400));
    // Every list call respected Alegra's paging.
    for r in requests
        .iter()
        .filter(|r| r.method == "GET" && r.query.iter().any(|(k, _)| k == "limit"))
    {
        let limit: u32 = r
            .query
            .iter()
            .find(|(k, _)| k == "limit")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert!(limit <= 30);
        assert!(r.query.contains(&("metadata".into(), "true".into())));
    }
}
