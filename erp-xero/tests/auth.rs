//! OAuth2 against the mock identity server: PKCE code exchange, `/connections`, single-flight refresh with
//! rotation persisted before use, the 30-minute grace on a lost refresh response, and failed refreshes.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use erp_hub_core::http::{InMemoryTokenStore, TokenSet, TokenStore};
use erp_hub_core::{ErpAdapter, ErrorKind};
use erp_xero::XeroClient;
use erp_xero::testing::MockXero;
use secrecy::{ExposeSecret, SecretString};

#[tokio::test]
async fn pkce_code_exchange_then_connections() {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    let client = XeroClient::new(mock.config(), store.clone()).unwrap();
    let request = client.authorization_request().unwrap();
    assert!(
        request
            .url
            .as_str()
            .starts_with(&format!("{}/identity/connect/authorize?", mock.uri()))
    );
    // The "consent screen" binds the code to the challenge from the URL.
    let challenge = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code = SecretString::from(mock.issue_code(&challenge));
    request.check_state(&request.state.clone()).unwrap();

    // A wrong verifier is rejected as Auth (invalid_grant), and the code is single-use.
    let other = erp_xero::Pkce::generate();
    let err = client
        .exchange_code("user-1", &code, &other)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);

    let code = SecretString::from(mock.issue_code(&challenge));
    client
        .exchange_code("user-1", &code, &request.pkce)
        .await
        .unwrap();
    let saved = store.get("user-1").expect("tokens saved");
    assert!(saved.refresh_token.is_some());
    assert!(
        saved
            .expires_at
            .is_some_and(|e| e > Utc::now() + chrono::Duration::minutes(29))
    );

    let tenants = client.connections("user-1").await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].tenant_id, mock.tenant_id());
    assert_eq!(tenants[0].tenant_type.as_deref(), Some("ORGANISATION"));
    // Our Tenant's field names are those of `Connection` in xero-identity.yaml.
    let spec_fields = common::spec::identity_connection_fields();
    let ours = serde_json::to_value(&tenants[0]).unwrap();
    for k in ours.as_object().unwrap().keys() {
        assert!(spec_fields.contains(k), "{k} is not a Connection property");
    }

    let xero = client
        .adapter("user-1", &tenants[0].tenant_id)
        .with_mapping(MockXero::mapping());
    let org = xero.test_connection().await.unwrap();
    assert_eq!(org.id, mock.tenant_id());
    assert_eq!(org.home_currency.as_deref(), Some("MXN"));
    assert_eq!(org.country.as_deref(), Some("MX"));
}

/// A store that records, at each save, how many requests the mock had received.
struct WatchingStore {
    inner: InMemoryTokenStore,
    mock_requests: Box<dyn Fn() -> usize + Send + Sync>,
    saves: Mutex<Vec<(usize, String)>>,
}

#[async_trait]
impl TokenStore for WatchingStore {
    async fn load(&self, key: &str) -> erp_hub_core::Result<Option<TokenSet>> {
        self.inner.load(key).await
    }
    async fn save(&self, key: &str, tokens: &TokenSet) -> erp_hub_core::Result<()> {
        // Slow, durable-looking save: nobody may use the new token before this returns.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let seen = (self.mock_requests)();
        self.saves.lock().unwrap().push((
            seen,
            tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned())
                .unwrap_or_default(),
        ));
        self.inner.save(key, tokens).await
    }
}

async fn concurrent_reads(xero: &erp_xero::XeroAdapter, n: usize) -> Vec<erp_hub_core::Result<()>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let x = xero.clone();
            tokio::spawn(async move { x.test_connection().await.map(|_| ()) })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_with_a_server_expired_token_refresh_once() {
    let mock = Arc::new(MockXero::start().await);
    let m = Arc::clone(&mock);
    let store = Arc::new(WatchingStore {
        inner: InMemoryTokenStore::new(),
        mock_requests: Box::new(move || m.requests().len()),
        saves: Mutex::new(Vec::new()),
    });
    let initial = mock.issue_tokens();
    let old_refresh = initial.refresh_token.clone().unwrap();
    store.inner.insert("c", initial);
    let client = XeroClient::new(mock.config(), store.clone()).unwrap();
    let xero = client
        .adapter("c", mock.tenant_id())
        .with_mapping(MockXero::mapping());

    mock.expire_access_tokens(); // the store still believes the token is fresh: every call gets a 401
    let results = concurrent_reads(&xero, 50).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        mock.refresh_count(),
        1,
        "exactly one refresh for 50 callers"
    );

    let saves = store.saves.lock().unwrap().clone();
    assert_eq!(saves.len(), 1);
    let (requests_at_save, new_refresh) = &saves[0];
    assert_ne!(
        new_refresh,
        old_refresh.expose_secret(),
        "the refresh token rotated"
    );
    let stored = store.inner.get("c").unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), new_refresh);
    // Persisted before use: every request the mock had seen when the save finished failed with the old
    // token (401) or was the refresh itself; all successes came after.
    let requests = mock.requests();
    for r in &requests[..*requests_at_save] {
        assert!(
            r.status == 401 || r.path == "/connect/token",
            "{} {} {}",
            r.method,
            r.path,
            r.status
        );
    }
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.status == 200 && r.path.starts_with("/api.xro"))
            .count(),
        50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_with_a_known_expired_token_refresh_once_without_401() {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    let mut tokens = mock.issue_tokens();
    tokens.expires_at = Some(Utc::now() - chrono::Duration::minutes(1));
    store.insert("c", tokens);
    let client = XeroClient::new(mock.config(), store.clone()).unwrap();
    let xero = client
        .adapter("c", mock.tenant_id())
        .with_mapping(MockXero::mapping());
    let results = concurrent_reads(&xero, 50).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(mock.refresh_count(), 1);
    assert!(mock.requests().iter().all(|r| r.status != 401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_refresh_response_is_retried_with_the_previous_refresh_token() {
    let env = common::env_with(|c| c.with_timeout(Duration::from_millis(700))).await;
    env.mock
        .lose_next_refresh_responses(1, Duration::from_secs(2));
    env.mock.expire_access_tokens();
    let org = env
        .xero
        .test_connection()
        .await
        .expect("recovered through the grace period");
    assert_eq!(org.id, env.mock.tenant_id());
    // The first grant was processed (rotated) but its answer lost; the second reused the old refresh token.
    assert_eq!(env.mock.refresh_count(), 2);
    let grants: Vec<_> = env
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/connect/token")
        .collect();
    assert_eq!(grants.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_refresh_is_auth_and_not_a_retry_loop() {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        "c",
        TokenSet::new("access-unknown")
            .with_refresh_token("refresh-revoked")
            .with_expires_at(Utc::now() + chrono::Duration::minutes(30)),
    );
    let client = XeroClient::new(mock.config(), store).unwrap();
    let xero = client
        .adapter("c", mock.tenant_id())
        .with_mapping(MockXero::mapping());
    let results = concurrent_reads(&xero, 10).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth)),
        "{results:?}"
    );
    let grants = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/connect/token")
        .count();
    assert_eq!(
        grants, 1,
        "one rejected grant, remembered for the same tokens"
    );
}

#[tokio::test]
async fn public_client_uses_pkce_without_a_secret() {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    let base = mock.config();
    let config =
        erp_xero::XeroConfig::public(erp_xero::testing::CLIENT_ID, "http://localhost/callback")
            .with_identity_urls(base.authorize_url.clone(), base.token_url.clone())
            .with_api_urls(base.connections_url.clone(), base.api_base_url.clone());
    assert!(config.client_secret.is_none());
    let client = XeroClient::new(config, store.clone()).unwrap();
    let request = client.authorization_request().unwrap();
    let code = SecretString::from(mock.issue_code(request.pkce.challenge()));
    client
        .exchange_code("pub", &code, &request.pkce)
        .await
        .unwrap();
    // The rotated refresh token works for the public client too.
    mock.expire_access_tokens();
    let tenants = client.connections("pub").await.unwrap();
    assert_eq!(tenants[0].tenant_id, mock.tenant_id());
    assert_eq!(mock.refresh_count(), 1);
}
