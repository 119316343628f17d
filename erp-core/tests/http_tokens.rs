//! Token manager acceptance tests: single-flight refresh, save-before-use, failed refresh, forced refresh after
//! 401, and the OAuth2 grants' wire format.
#![cfg(feature = "http")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use erp_hub_core::http::{
    ClientCredentials, ExposeSecret, HttpClient, InMemoryTokenStore, OAuth2Client,
    PasswordCredentials, PasswordGrantRefresher, RequestSpec, RetryPolicy, TokenManager, TokenSet,
    TokenStore,
};
use erp_hub_core::{ErrorKind, Result};
use wiremock::matchers::{basic_auth, bearer_token, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

type Log = Arc<Mutex<Vec<String>>>;

/// A store that records every save (with the refresh token saved) in a shared log, slowly, so that handing out
/// the access token before the save completed would show up in the log order.
struct RecordingStore {
    inner: InMemoryTokenStore,
    log: Log,
}

#[async_trait]
impl TokenStore for RecordingStore {
    async fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        self.inner.load(key).await
    }

    async fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.inner.save(key, tokens).await?;
        let rt = tokens
            .refresh_token
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default();
        self.log.lock().unwrap().push(format!("save {rt}"));
        Ok(())
    }
}

fn expired() -> TokenSet {
    TokenSet::new("old-access")
        .with_refresh_token("rt-1")
        .with_expires_at(Utc::now() - chrono::Duration::minutes(5))
}

fn valid(access: &str, rt: &str) -> TokenSet {
    TokenSet::new(access)
        .with_refresh_token(rt)
        .with_expires_at(Utc::now() + chrono::Duration::minutes(30))
}

fn token_response(access: &str, rt: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({
            "access_token": access,
            "refresh_token": rt,
            "token_type": "bearer",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8_726_400,
        }))
        // Slow enough that all concurrent callers pile up behind the one refresh.
        .set_delay(Duration::from_millis(200))
}

fn oauth(server: &MockServer) -> OAuth2Client {
    OAuth2Client::new(
        &format!("{}/oauth2/token", server.uri()),
        ClientCredentials::new("my-client", "my-secret"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_make_one_refresh_and_save_before_use() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(basic_auth("my-client", "my-secret"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(token_response("new-access", "rt-2"))
        .expect(1)
        .mount(&server)
        .await;

    let log: Log = Arc::default();
    let api_log = Arc::clone(&log);
    Mock::given(method("GET"))
        .and(path("/v3/company/realm-1/companyinfo/1"))
        .respond_with(move |req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            api_log.lock().unwrap().push(format!("api {auth}"));
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"CompanyName": "Acme"}))
        })
        .expect(50)
        .mount(&server)
        .await;

    let store = Arc::new(RecordingStore {
        inner: InMemoryTokenStore::new(),
        log: Arc::clone(&log),
    });
    store.inner.insert("realm-1", expired());
    let manager = Arc::new(TokenManager::new(store.clone(), Arc::new(oauth(&server))));
    let client = HttpClient::builder()
        .token_manager(manager)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();

    let url = format!("{}/v3/company/realm-1/companyinfo/1", server.uri());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let spec = RequestSpec::get(&url).unwrap().tenant("realm-1");
            client.send_json::<serde_json::Value>(spec).await
        }));
    }
    for t in tasks {
        let v = t.await.unwrap().unwrap();
        assert_eq!(v["CompanyName"], "Acme");
    }

    // The rotated refresh token is in the store.
    let stored = store.inner.get("realm-1").unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "rt-2");
    assert_eq!(stored.access_token.expose_secret(), "new-access");
    assert!(stored.refresh_token_expires_at.is_some());

    // The save came first; every API call used the new token.
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 51, "{log:?}");
    assert_eq!(log[0], "save rt-2", "{log:?}");
    assert!(
        log[1..].iter().all(|l| l == "api Bearer new-access"),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_refresh_is_auth_for_every_caller_with_one_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({
                    "error": "invalid_grant",
                    "error_description": "Incorrect or invalid refresh token"
                }))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let store = Arc::new(InMemoryTokenStore::new());
    store.insert("t", expired());
    let manager = Arc::new(TokenManager::new(store.clone(), Arc::new(oauth(&server))));

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let m = Arc::clone(&manager);
        tasks.push(tokio::spawn(async move { m.access_token("t").await }));
    }
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        assert!(err.to_string().contains("invalid_grant"), "{err}");
    }
    // A later caller with the same dead tokens does not hit the endpoint again.
    let err = manager.access_token("t").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    // The stale tokens are left as they were (nothing half-written).
    assert_eq!(
        store.get("t").unwrap().access_token.expose_secret(),
        "old-access"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_reconsent_the_manager_refreshes_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("refresh_token=rt-fresh"))
        .respond_with(token_response("a-2", "rt-3"))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert("t", expired());
    let manager = TokenManager::new(store.clone(), Arc::new(oauth(&server)));
    assert_eq!(
        manager.access_token("t").await.unwrap_err().kind(),
        ErrorKind::Auth
    );
    // The user connects again: new (expired) tokens in the store.
    store.insert(
        "t",
        TokenSet::new("a-1")
            .with_refresh_token("rt-fresh")
            .with_expires_at(Utc::now() - chrono::Duration::seconds(1)),
    );
    assert_eq!(
        manager.access_token("t").await.unwrap().expose_secret(),
        "a-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn about_to_expire_token_is_refreshed_per_skew() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(token_response("a-2", "rt-2"))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    let soon = TokenSet::new("a-1")
        .with_refresh_token("rt-1")
        .with_expires_at(Utc::now() + chrono::Duration::seconds(30));
    store.insert("t", soon);
    // 10 s skew: a token with 30 s left is still good.
    let relaxed = TokenManager::new(store.clone(), Arc::new(oauth(&server)))
        .with_skew(Duration::from_secs(10));
    assert_eq!(
        relaxed.access_token("t").await.unwrap().expose_secret(),
        "a-1"
    );
    // 60 s skew (default): refresh now.
    let strict = TokenManager::new(store.clone(), Arc::new(oauth(&server)));
    assert_eq!(
        strict.access_token("t").await.unwrap().expose_secret(),
        "a-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_401s_force_one_refresh_then_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(token_response("new-access", "rt-2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/thing"))
        .and(bearer_token("revoked-access"))
        .respond_with(ResponseTemplate::new(401).set_body_string("TokenExpired"))
        .expect(10)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/thing"))
        .and(bearer_token("new-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(10)
        .mount(&server)
        .await;

    let store = Arc::new(InMemoryTokenStore::new());
    // Not expired by its clock, but the provider revoked it.
    store.insert("t", valid("revoked-access", "rt-1"));
    let manager = Arc::new(TokenManager::new(store.clone(), Arc::new(oauth(&server))));
    let client = HttpClient::builder()
        .token_manager(manager)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let url = format!("{}/api/thing", server.uri());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client
                .send(RequestSpec::get(&url).unwrap().tenant("t"))
                .await
        }));
    }
    for t in tasks {
        let resp = t.await.unwrap().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.attempts(), 2);
    }
}

#[tokio::test]
async fn persistent_401_is_returned_after_one_forced_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(token_response("a-2", "rt-2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/thing"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert("t", valid("a-1", "rt-1"));
    let client = HttpClient::builder()
        .token_manager(Arc::new(TokenManager::new(store, Arc::new(oauth(&server)))))
        .build()
        .unwrap();
    let spec = RequestSpec::get(&format!("{}/api/thing", server.uri()))
        .unwrap()
        .tenant("t");
    let err = client
        .send_json::<serde_json::Value>(spec)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
}

#[tokio::test]
async fn no_refresh_token_is_auth_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_response("x", "y"))
        .expect(0)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    let manager = TokenManager::new(store.clone(), Arc::new(oauth(&server)));
    // Nothing stored at all.
    assert_eq!(
        manager.access_token("t").await.unwrap_err().kind(),
        ErrorKind::Auth
    );
    // Stored, expired, no refresh token.
    store.insert(
        "t",
        TokenSet::new("a").with_expires_at(Utc::now() - chrono::Duration::seconds(5)),
    );
    assert_eq!(
        manager.access_token("t").await.unwrap_err().kind(),
        ErrorKind::Auth
    );
}

/// A store whose first save fails.
struct FlakyStore {
    inner: InMemoryTokenStore,
    failures_left: Mutex<u32>,
}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        self.inner.load(key).await
    }
    async fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        {
            let mut left = self.failures_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(erp_hub_core::Error::transient("database unavailable"));
            }
        }
        self.inner.save(key, tokens).await
    }
}

#[tokio::test]
async fn failed_save_withholds_the_token_and_is_retried_without_a_new_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(token_response("a-2", "rt-2"))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(FlakyStore {
        inner: InMemoryTokenStore::new(),
        failures_left: Mutex::new(1),
    });
    store.inner.insert("t", expired());
    let manager = TokenManager::new(store.clone(), Arc::new(oauth(&server)));
    let err = manager.access_token("t").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    // The rotated token was not lost: the next call saves it, then hands it out.
    assert_eq!(
        manager.access_token("t").await.unwrap().expose_secret(),
        "a-2"
    );
    let stored = store.inner.get("t").unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "rt-2");
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "a-2", "expires_in": "1800", "token_type": "Bearer"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert("t", expired());
    let manager = TokenManager::new(store.clone(), Arc::new(oauth(&server)));
    assert_eq!(
        manager.access_token("t").await.unwrap().expose_secret(),
        "a-2"
    );
    let stored = store.get("t").unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "rt-1");
    let left = stored.expires_at.unwrap() - Utc::now();
    assert!(left > chrono::Duration::seconds(1700) && left <= chrono::Duration::seconds(1800));
}

#[tokio::test]
async fn password_grant_for_keycloak_public_client() {
    let server = MockServer::start().await;
    // Hacienda's IDP: public client `api-stag`, password grant, form body.
    Mock::given(method("POST"))
        .and(path("/auth/realms/rut-stag/protocol/openid-connect/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains(
            "username=cpf-01-0000-0000%40stag.comprobanteselectronicos.go.cr",
        ))
        .and(body_string_contains("password=p%26ss+word"))
        .and(body_string_contains("client_id=api-stag"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "kc-access-1",
            "expires_in": 300,
            "refresh_expires_in": 36000,
            "refresh_token": "kc-refresh-1",
            "token_type": "bearer",
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/realms/rut-stag/protocol/openid-connect/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=kc-refresh-1"))
        .and(body_string_contains("client_id=api-stag"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "kc-access-2",
            "expires_in": 300,
            "refresh_token": "kc-refresh-2",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let client = OAuth2Client::new(
        &format!(
            "{}/auth/realms/rut-stag/protocol/openid-connect/token",
            server.uri()
        ),
        ClientCredentials::public("api-stag"),
    )
    .unwrap();
    let refresher = PasswordGrantRefresher::new(client);
    refresher.set_credentials(
        "3-101-123456",
        PasswordCredentials::new(
            "cpf-01-0000-0000@stag.comprobanteselectronicos.go.cr",
            "p&ss word",
        ),
    );
    let store = Arc::new(InMemoryTokenStore::new());
    let manager = TokenManager::new(store.clone(), Arc::new(refresher));
    // No tokens yet: the password grant gets the first ones.
    assert_eq!(
        manager
            .access_token("3-101-123456")
            .await
            .unwrap()
            .expose_secret(),
        "kc-access-1"
    );
    // Expire it: now the refresh token is used.
    let mut t = store.get("3-101-123456").unwrap();
    assert!(t.refresh_token_expires_at.is_some());
    t.expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
    store.insert("3-101-123456", t);
    // The manager keeps the last token in memory: tell it the store changed.
    manager.invalidate("3-101-123456");
    assert_eq!(
        manager
            .access_token("3-101-123456")
            .await
            .unwrap()
            .expose_secret(),
        "kc-access-2"
    );
    // Unknown tenant: Auth, no request.
    assert_eq!(
        manager.access_token("other").await.unwrap_err().kind(),
        ErrorKind::Auth
    );
}

#[tokio::test]
async fn token_endpoint_status_mapping() {
    let server = MockServer::start().await;
    for (p, status, body) in [
        ("/401", 401, serde_json::json!({"error": "invalid_client"})),
        ("/429", 429, serde_json::json!({})),
        ("/503", 503, serde_json::json!({})),
        (
            "/400",
            400,
            serde_json::json!({"error": "unsupported_grant_type"}),
        ),
        ("/200", 200, serde_json::json!({"token_type": "bearer"})),
    ] {
        Mock::given(path(p))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(body)
                    .insert_header("retry-after", "7"),
            )
            .mount(&server)
            .await;
    }
    let rt = "rt".into();
    let kind = |p: &'static str| {
        let server = &server;
        let rt = &rt;
        async move {
            OAuth2Client::new(
                &format!("{}{p}", server.uri()),
                ClientCredentials::new("c", "s"),
            )
            .unwrap()
            .refresh_token_grant(rt, None)
            .await
            .unwrap_err()
        }
    };
    assert_eq!(kind("/401").await.kind(), ErrorKind::Auth);
    let rl = kind("/429").await;
    assert_eq!(rl.kind(), ErrorKind::RateLimited);
    assert_eq!(rl.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(kind("/503").await.kind(), ErrorKind::Transient);
    assert_eq!(kind("/400").await.kind(), ErrorKind::Validation);
    // 200 without access_token.
    assert_eq!(kind("/200").await.kind(), ErrorKind::Validation);
}
