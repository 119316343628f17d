//! OAuth2: single-flight refresh with rotation persisted before use, failed refresh → Auth (no loop), consent
//! URL and code exchange, and no secret in Debug output or logs.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use erp_hub_core::http::{
    ClientCredentials, ExposeSecret, InMemoryTokenStore, OAuth2Client, TokenSet, TokenStore,
};
use erp_hub_core::{ErpAdapter, ErrorKind};
use erp_quickbooks::auth::{Authorization, Callback, exchange_code};
use erp_quickbooks::testing::{
    AUTHORIZATION_CODE, INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN, MockQuickBooks,
};
use erp_quickbooks::{QuickBooksAdapter, TaxMode};

/// A store that checks, at each save, that the mock has not yet seen the new access token: the rotated tokens
/// are persisted before anyone uses them.
struct CheckingStore {
    inner: InMemoryTokenStore,
    mock: MockQuickBooks,
    saves: Mutex<Vec<(String, u64)>>,
}

#[async_trait]
impl TokenStore for CheckingStore {
    async fn load(&self, key: &str) -> erp_hub_core::Result<Option<TokenSet>> {
        self.inner.load(key).await
    }

    async fn save(&self, key: &str, tokens: &TokenSet) -> erp_hub_core::Result<()> {
        let access = tokens.access_token.expose_secret().to_owned();
        let uses_before_save = self.mock.token_uses(&access);
        self.saves.lock().unwrap().push((access, uses_before_save));
        self.inner.save(key, tokens).await
    }
}

async fn fifty_concurrent(qbo: &QuickBooksAdapter) -> Vec<erp_hub_core::Result<()>> {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let q = qbo.clone();
        tasks.push(tokio::spawn(async move {
            q.test_connection().await.map(|_| ())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_with_expired_token_refresh_once() {
    let mock = common::mock().await;
    let store = Arc::new(CheckingStore {
        inner: InMemoryTokenStore::new(),
        mock: mock.clone(),
        saves: Mutex::new(Vec::new()),
    });
    // Expired locally: the token manager must refresh before the first call.
    store.inner.insert(
        common::REALM,
        TokenSet::new(INITIAL_ACCESS_TOKEN)
            .with_refresh_token(INITIAL_REFRESH_TOKEN)
            .with_expires_at(Utc::now() - chrono::Duration::minutes(1)),
    );
    let qbo = QuickBooksAdapter::new(
        common::config(&mock, TaxMode::Global),
        Arc::clone(&store) as Arc<dyn TokenStore>,
    )
    .unwrap()
    .with_mapping(common::mx_mapping());
    for r in fifty_concurrent(&qbo).await {
        r.unwrap();
    }
    assert_eq!(mock.refresh_count(), 1, "exactly one refresh");
    assert_eq!(mock.token_requests(), 1);
    let saves = store.saves.lock().unwrap().clone();
    assert_eq!(saves.len(), 1);
    let (new_access, uses_at_save) = &saves[0];
    assert_eq!(
        *uses_at_save, 0,
        "the new token was used before it was saved"
    );
    // Every API request (50 × companyinfo + preferences) used the new token.
    assert_eq!(mock.token_uses(new_access), 100);
    assert_eq!(mock.requests().len(), 100);
    assert_eq!(mock.token_uses(INITIAL_ACCESS_TOKEN), 0);
    let stored = store.inner.get(common::REALM).unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        mock.current_refresh_token(),
        "the rotated refresh token is persisted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_401s_refresh_once() {
    let (qbo, mock, store) = common::adapter(TaxMode::Global).await;
    qbo.test_connection().await.unwrap();
    // The server revokes the access token while our copy still looks valid: every caller gets 401.
    mock.expire_access_token();
    for r in fifty_concurrent(&qbo).await {
        r.unwrap();
    }
    assert_eq!(mock.refresh_count(), 1);
    let stored = store.get(common::REALM).unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        mock.current_refresh_token()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_refresh_is_auth_without_retry_loop() {
    let (qbo, mock, _store) = common::adapter(TaxMode::Global).await;
    // Another process used (and rotated) our refresh token: ours is now invalid.
    let other = OAuth2Client::new(
        &mock.token_url(),
        ClientCredentials::new("client-id-123", "client-secret-xyz"),
    )
    .unwrap();
    other
        .refresh_token_grant(&INITIAL_REFRESH_TOKEN.into(), None)
        .await
        .unwrap();
    assert_eq!(mock.token_requests(), 1);
    for _ in 0..5 {
        let err = qbo.test_connection().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    }
    // One refresh attempt (rejected), remembered: no further token requests.
    assert_eq!(mock.token_requests(), 2);
}

#[tokio::test]
async fn consent_url_and_code_exchange() {
    let mock = MockQuickBooks::start(common::REALM).await;
    let a = Authorization::new("client-id-123", "https://app.example/callback").unwrap();
    let b = Authorization::new("client-id-123", "https://app.example/callback").unwrap();
    assert_ne!(a.state.expose_secret(), b.state.expose_secret());
    let url = a.url.as_str();
    assert!(url.starts_with("https://appcenter.intuit.com/connect/oauth2?"));
    let pairs: Vec<(String, String)> = a
        .url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("scope").as_deref(),
        Some("com.intuit.quickbooks.accounting")
    );
    assert_eq!(get("response_type").as_deref(), Some("code"));
    assert_eq!(
        get("redirect_uri").as_deref(),
        Some("https://app.example/callback")
    );
    assert_eq!(get("state").as_deref(), Some(a.state.expose_secret()));

    let oauth = OAuth2Client::new(
        &mock.token_url(),
        ClientCredentials::new("client-id-123", "client-secret-xyz"),
    )
    .unwrap();
    let store = InMemoryTokenStore::new();
    let query = format!(
        "code={AUTHORIZATION_CODE}&state={}&realmId={}",
        a.state.expose_secret(),
        common::REALM
    );
    let cb = Callback::from_query(&query).unwrap();
    // A state from another session is refused before any token request.
    let err = exchange_code(
        &oauth,
        &store,
        &b.state,
        &cb,
        "https://app.example/callback",
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(mock.token_requests(), 0);
    let (realm, _) = exchange_code(
        &oauth,
        &store,
        &a.state,
        &cb,
        "https://app.example/callback",
    )
    .await
    .unwrap();
    assert_eq!(realm, common::REALM);
    let saved = store.get(common::REALM).unwrap();
    assert!(saved.refresh_token.is_some());
    assert!(saved.expires_at.is_some());
    // A declined consent.
    let declined = Callback::from_query("error=access_denied&state=x").unwrap_err();
    assert_eq!(declined.kind(), ErrorKind::Auth);
}
