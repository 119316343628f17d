//! No credential or token in Debug output or logs; `intuit_tid` is logged. Alone in its test binary: tracing
//! callsite interest is process-global, so other tests running at the same time would hide events.

mod common;

use erp_hub_core::ErpAdapter;
use erp_hub_core::testing::LogCapture;
use erp_quickbooks::TaxMode;
use erp_quickbooks::auth::Authorization;
use erp_quickbooks::testing::{INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN};

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_debug_or_logs_and_intuit_tid_is_logged() {
    let (capture, _guard) = LogCapture::start();

    let (qbo, mock, store) = common::adapter(TaxMode::Global).await;
    qbo.test_connection().await.unwrap();
    mock.expire_access_token();
    mock.throttle_next(1);
    let c = erp_hub_core::model::Customer::new("log-1", "Logged Customer");
    qbo.upsert_customer(&c, &erp_hub_core::IdempotencyKey::new("log-1").unwrap())
        .await
        .unwrap();
    assert_eq!(mock.refresh_count(), 1);

    let debug = format!(
        "{qbo:?} {:?} {:?} {:?} {:?}",
        qbo.client().config(),
        store.get(common::REALM).unwrap(),
        Authorization::new("client-id-123", "https://x").unwrap(),
        erp_quickbooks::WebhookVerifier::new("verifier-token-secret"),
    );
    let logs = capture.text();
    assert!(
        logs.contains("intuit_tid=\"1-mock-tid\""),
        "intuit_tid not logged:\n{logs}"
    );
    let new_refresh = mock.current_refresh_token();
    for secret in [
        "client-secret-xyz",
        INITIAL_ACCESS_TOKEN,
        INITIAL_REFRESH_TOKEN,
        "mock-access-1",
        new_refresh.as_str(),
        "verifier-token-secret",
        // base64("client-id-123:client-secret-xyz"), the Basic header of token requests
        "Y2xpZW50LWlkLTEyMzpjbGllbnQtc2VjcmV0LXh5eg",
    ] {
        assert!(!logs.contains(secret), "{secret} in logs");
        assert!(!debug.contains(secret), "{secret} in Debug output: {debug}");
    }
}
