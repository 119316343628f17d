//! Shared test set-up: a mock Xero with a connected token store, and the OpenAPI request-body validator.
#![allow(dead_code, unreachable_pub)]

pub mod spec;

use std::sync::Arc;

use erp_hub_core::http::InMemoryTokenStore;
use erp_xero::testing::MockXero;
use erp_xero::{XeroAdapter, XeroClient, XeroConfig};

pub const CONNECTION: &str = "conn-1";

pub struct Env {
    pub mock: MockXero,
    pub store: Arc<InMemoryTokenStore>,
    pub client: XeroClient,
    pub xero: XeroAdapter,
}

pub async fn env() -> Env {
    env_with(|c| c).await
}

pub async fn env_with(tweak: impl FnOnce(XeroConfig) -> XeroConfig) -> Env {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    mock.connect(&store, CONNECTION);
    let client = XeroClient::new(tweak(mock.config()), store.clone()).expect("client");
    let xero = client
        .adapter(CONNECTION, mock.tenant_id())
        .with_mapping(MockXero::mapping());
    Env {
        mock,
        store,
        client,
        xero,
    }
}
