//! erp-hub-core's conformance suite against the adapter over the reference bridge (real HTTP), and every
//! response of the bridge (and every job the client submitted) checked against `bridge/openapi.yaml`.

mod common;

use std::collections::HashSet;

use erp_contpaqi::wire::JobType;
use erp_hub_core::testing::conformance::{Context, run_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_the_reference_bridge() {
    let env = common::env().await;
    let ctx = Context::new("cq");
    let results = run_all(&env.contpaqi, &ctx, &env.mock).await;
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

    // Nothing written twice: one document per (concepto, external reference), one stamp-free company.
    let docs = env.mock.documentos();
    let mut seen = HashSet::new();
    for d in &docs {
        assert!(
            seen.insert((d.concepto.clone(), d.referencia.clone())),
            "document {} written twice ({})",
            d.referencia,
            d.key().remote_id()
        );
    }
    // Each write job ran once per idempotency key (a failed job may be re-run, a done one never).
    let executed = env.mock.executed();
    let mut keys = HashSet::new();
    for (t, k) in &executed {
        assert!(
            keys.insert(k.clone()),
            "{t:?} job with key {k} executed twice"
        );
    }
    assert!(executed.iter().any(|(t, _)| *t == JobType::Saldar));

    let recorded = env.mock.responses();
    // The faults really happened: a 429 storm and a failed job.
    assert!(recorded.iter().any(|r| r.status == 429));
    assert!(
        recorded
            .iter()
            .any(|r| r.body.get("status").and_then(|s| s.as_str()) == Some("failed"))
    );
    let (checked, failures) = common::check_traffic(&recorded);
    assert!(
        failures.is_empty(),
        "responses off contract:\n{}",
        failures.join("\n")
    );
    assert!(checked >= 100, "only {checked} responses checked");
    common::record(&recorded);
}
