//! No credential or token in `Debug` output or in logs (a tracing capture at TRACE level), in its own test binary
//! so that the global subscriber sees every callsite.

mod common;

use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::Customer;
use erp_hub_core::testing::LogCapture;
use secrecy::ExposeSecret;

/// A `Write` target shared with the test.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_or_token_in_debug_output_or_logs() {
    let capture = LogCapture::global().expect("no other global subscriber");

    let env = common::env().await;
    let before = env.store.get(common::CONNECTION).unwrap();
    // Exercise auth: a 401, a refresh (rotation), writes, a 429.
    env.mock.expire_access_tokens();
    env.xero
        .upsert_customer(
            &Customer::new("c-log", "Logged Customer"),
            &IdempotencyKey::new("c-log").unwrap(),
        )
        .await
        .unwrap();
    env.mock.set_retry_after(0);
    env.mock.throttle_next(1);
    env.xero.test_connection().await.unwrap();
    let after = env.store.get(common::CONNECTION).unwrap();
    assert!(env.mock.refresh_count() >= 1);

    let secrets = [
        before.access_token.expose_secret().to_owned(),
        before.refresh_token.unwrap().expose_secret().to_owned(),
        after.access_token.expose_secret().to_owned(),
        after.refresh_token.unwrap().expose_secret().to_owned(),
        erp_xero::testing::CLIENT_SECRET.to_owned(),
    ];
    let logs = capture.text();
    assert!(
        logs.contains("http.request"),
        "tracing captured nothing: {logs}"
    );
    let debug = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        env.client,
        env.xero,
        env.client.config(),
        env.store.get(common::CONNECTION),
        env.client.authorization_request().unwrap()
    );
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "secret {s:?} in logs");
        assert!(!debug.contains(s.as_str()), "secret {s:?} in Debug output");
    }
    // Recorded requests never hold credentials either.
    let recorded = format!("{:?}", env.mock.requests());
    for s in &secrets {
        assert!(!recorded.contains(s.as_str()));
    }
}
