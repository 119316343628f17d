#![allow(dead_code, unreachable_pub)]

pub mod xsd;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use erp_hub_core::http::{InMemoryTokenStore, Jitter, RetryPolicy, TokenSet, TokenStore};
use erp_hub_core::model::AccountMapping;
use erp_quickbooks::testing::{INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN, MockQuickBooks};
use erp_quickbooks::{QuickBooksAdapter, QuickBooksConfig, TaxMode};
use serde_json::Value;

pub const REALM: &str = "9130357992221046";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn schema() -> &'static xsd::Schema {
    static S: OnceLock<xsd::Schema> = OnceLock::new();
    S.get_or_init(|| xsd::Schema::load(&fixtures().join("xsd")))
}

/// A sample, with the curator's `_note` keys removed.
pub fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("samples").join(name)).expect("sample");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with('_'));
    }
    v
}

pub fn sample_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("samples").join(name)).expect("sample")
}

/// A mock with the XSD validator plugged in.
pub async fn mock() -> MockQuickBooks {
    let m = MockQuickBooks::start(REALM).await;
    m.set_validator(Arc::new(|entity: &str, body: &Value| {
        schema().check_body(entity, body)
    }));
    m
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
        .with_jitter(Jitter::None)
        .with_max_attempts(6)
}

/// México mapping: IVA 16 % → 5, exempt → 6, 0 % → 7 (the mock's seeded tax codes); combinations with
/// withholdings and IEPS map to the IVA 16 % code (the mock computes nothing for them: the adapter sends the
/// total tax).
pub fn mx_mapping() -> AccountMapping {
    let mut m = AccountMapping::new("quickbooks");
    m.income_account = Some("79".into());
    m.payment_account = Some("35".into());
    for (k, v) in [
        ("IVA16", "5"),
        ("IVA-EXEMPT", "6"),
        ("IVA0", "7"),
        ("IVA16+RET-ISR10", "5"),
        ("IEPS8+IVA16", "5"),
    ] {
        m.tax_codes.insert(k.into(), v.into());
    }
    m
}

pub fn config(mock: &MockQuickBooks, mode: TaxMode) -> QuickBooksConfig {
    // One call moves the API and the token endpoint to the mock.
    let mut c = QuickBooksConfig::new(
        erp_quickbooks::Environment::Sandbox,
        REALM,
        "client-id-123",
        "client-secret-xyz",
    )
    .expect("config")
    .with_base_url(&mock.uri())
    .with_tax_mode(mode)
    .with_retry(fast_retry());
    c.timeout = Duration::from_secs(10);
    c
}

pub fn store_with_initial_tokens() -> Arc<InMemoryTokenStore> {
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        REALM,
        TokenSet::new(INITIAL_ACCESS_TOKEN)
            .with_refresh_token(INITIAL_REFRESH_TOKEN)
            .with_expires_at(Utc::now() + chrono::Duration::minutes(50)),
    );
    store
}

pub async fn adapter(
    mode: TaxMode,
) -> (QuickBooksAdapter, MockQuickBooks, Arc<InMemoryTokenStore>) {
    let m = mock().await;
    let store = store_with_initial_tokens();
    let qbo = QuickBooksAdapter::new(config(&m, mode), Arc::clone(&store) as Arc<dyn TokenStore>)
        .expect("adapter")
        .with_mapping(mx_mapping());
    (qbo, m, store)
}
