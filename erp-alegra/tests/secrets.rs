//! The API token never reaches logs or `Debug` output (alone in its binary: it captures `tracing` output).

use base64::Engine as _;
use erp_alegra::testing::{EMAIL, MockAlegra, TOKEN};
use erp_alegra::{AlegraAdapter, AlegraClient};
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::Customer;
use erp_hub_core::testing::LogCapture;

#[tokio::test(flavor = "current_thread")]
async fn token_is_never_logged() {
    let (logs, _guard) = LogCapture::start();
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().unwrap();
    alegra.test_connection().await.unwrap();
    mock.throttle_next(1);
    mock.apply_then_fail_next_writes(1);
    alegra
        .upsert_customer(
            &Customer::new("c1", "Uno"),
            &IdempotencyKey::new("c1").unwrap(),
        )
        .await
        .unwrap();
    let mut bad = mock.config();
    bad.token = "wrong-token-xyz".to_owned().into();
    let bad = AlegraAdapter::new(AlegraClient::new(bad).unwrap());
    assert!(bad.test_connection().await.is_err());

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"));
    let text = logs.text();
    assert!(
        text.contains("http.request"),
        "nothing was captured: {text}"
    );
    for secret in [TOKEN, basic.as_str(), "wrong-token-xyz"] {
        assert!(!text.contains(secret), "{secret} leaked into the logs");
        assert!(
            !format!("{alegra:?}{bad:?}").contains(secret),
            "{secret} leaked into Debug"
        );
    }
}
