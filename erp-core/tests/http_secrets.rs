//! No secret appears in any `Debug` output (or error message) of the HTTP and credential types.
#![cfg(feature = "http")]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use erp_hub_core::http::{
    ClientAuthMethod, ClientCredentials, HttpClient, InMemoryTokenStore, OAuth2Client,
    PasswordCredentials, PasswordGrantRefresher, RequestSpec, RetryPolicy, SecretString,
    TokenManager, TokenSet,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCESS: &str = "ACCESS-TOKEN-eyJhbGciOiJSUzI1NiJ9";
const REFRESH: &str = "REFRESH-TOKEN-AB11605744";
const CLIENT_SECRET: &str = "CLIENT-SECRET-s3cr3t";
const PASSWORD: &str = "PASSWORD-hunter2";
const API_KEY: &str = "ALEGRA-API-KEY-9f8e7d";

fn assert_clean(what: &str, out: &str) {
    for secret in [ACCESS, REFRESH, CLIENT_SECRET, PASSWORD, API_KEY] {
        assert!(!out.contains(secret), "{what} leaks a secret: {out}");
    }
}

fn tokens() -> TokenSet {
    TokenSet::new(ACCESS)
        .with_refresh_token(REFRESH)
        .with_expires_at(Utc::now() + chrono::Duration::hours(1))
        .with_scope("com.intuit.quickbooks.accounting")
}

#[tokio::test]
async fn debug_output_never_contains_secrets() {
    let t = tokens();
    let out = format!("{t:?} {t:#?}");
    assert_clean("TokenSet", &out);
    // Non-secret fields are still shown.
    assert!(out.contains("com.intuit.quickbooks.accounting"));

    let creds = ClientCredentials::new("client-id-123", CLIENT_SECRET);
    let out = format!("{creds:?}");
    assert_clean("ClientCredentials", &out);
    assert!(out.contains("client-id-123"));
    let creds_body = creds
        .clone()
        .with_auth_method(ClientAuthMethod::RequestBody);
    assert_clean("ClientCredentials", &format!("{creds_body:#?}"));

    let pw = PasswordCredentials::new("cpf-01-0000-0000@stag", PASSWORD);
    assert_clean("PasswordCredentials", &format!("{pw:?}"));

    let oauth = OAuth2Client::new("https://idp.example/token", creds)
        .unwrap()
        .with_extra_param("audience", "api");
    assert_clean("OAuth2Client", &format!("{oauth:?} {oauth:#?}"));

    let refresher = PasswordGrantRefresher::new(oauth.clone());
    refresher.set_credentials("tenant", pw);
    assert_clean("PasswordGrantRefresher", &format!("{refresher:?}"));

    let store = Arc::new(InMemoryTokenStore::new());
    store.insert("tenant", tokens());
    assert_clean("InMemoryTokenStore", &format!("{store:?}"));

    let manager = Arc::new(TokenManager::new(store, Arc::new(oauth)));
    assert_clean("TokenManager", &format!("{manager:?}"));

    let client = HttpClient::builder()
        .token_manager(Arc::clone(&manager))
        .build()
        .unwrap();
    assert_clean("HttpClient", &format!("{client:?}"));
    let builder = HttpClient::builder().token_manager(manager);
    assert_clean("HttpClientBuilder", &format!("{builder:?}"));

    let secret_key: SecretString = API_KEY.into();
    let spec = RequestSpec::post(
        "https://api.example/v1/invoices?access_token=ACCESS-TOKEN-eyJhbGciOiJSUzI1NiJ9",
    )
    .unwrap()
    .secret_header("authorization", &secret_key)
    .unwrap()
    .json(&serde_json::json!({"password": PASSWORD}))
    .unwrap();
    let out = format!("{spec:?}");
    assert_clean("RequestSpec", &out);
    assert!(out.contains("access_token=…"), "{out}");
}

#[tokio::test]
async fn responses_and_errors_do_not_leak_tokens() {
    let server = MockServer::start().await;
    // A token endpoint answer: its body is full of secrets.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 3600
        })))
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry_policy(RetryPolicy::never())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let resp = client
        .send(
            RequestSpec::post(&server.uri())
                .unwrap()
                .form(&[("password", PASSWORD)]),
        )
        .await
        .unwrap();
    assert_clean("HttpResponse", &format!("{resp:?}"));

    // A failing token refresh whose request carried the secrets.
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .mount(&failing)
        .await;
    let oauth =
        OAuth2Client::new(&failing.uri(), ClientCredentials::new("id", CLIENT_SECRET)).unwrap();
    let err = oauth
        .refresh_token_grant(&REFRESH.into(), None)
        .await
        .unwrap_err();
    assert_clean("token error", &format!("{err} {err:?}"));
    let err = oauth
        .password_grant(&PasswordCredentials::new("u", PASSWORD), None)
        .await
        .unwrap_err();
    assert_clean("token error", &format!("{err} {err:?}"));
}

/// A `tracing` subscriber that writes every span and event, with all fields, into a string.
#[derive(Default, Clone)]
struct Capture {
    out: Arc<std::sync::Mutex<String>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("\nspan {}", span.metadata().name());
        span.record(&mut Fields(&mut line));
        self.out.lock().unwrap().push_str(&line);
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("\nrecord");
        values.record(&mut Fields(&mut line));
        self.out.lock().unwrap().push_str(&line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("\nevent {}", event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.out.lock().unwrap().push_str(&line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn logs_never_contain_secrets() {
    use wiremock::matchers::{bearer_token, path};

    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    // tracing caches each callsite's interest process-wide, and while one dispatcher is registered it computes
    // it from the *registering* thread's subscriber: a sibling test thread without one could pin our callsites
    // to "never" (this test failed that way once). A second live dispatcher makes registration ask every
    // dispatcher, and the rebuild re-asks callsites registered before this test started.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api"))
        .and(bearer_token(ACCESS))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        "t",
        TokenSet::new("expired-access")
            .with_refresh_token("old-refresh")
            .with_expires_at(Utc::now() - chrono::Duration::hours(1)),
    );
    let oauth = OAuth2Client::new(
        &format!("{}/token", server.uri()),
        ClientCredentials::new("id", CLIENT_SECRET),
    )
    .unwrap();
    let client = HttpClient::builder()
        .token_manager(Arc::new(TokenManager::new(store, Arc::new(oauth))))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let key: SecretString = API_KEY.into();
    let spec = RequestSpec::post(&format!("{}/api?api_key={API_KEY}", server.uri()))
        .unwrap()
        .tenant("t")
        .secret_header("x-api-key", &key)
        .unwrap()
        .form(&[("password", PASSWORD)])
        .idempotency_key("k-1");
    let resp = client.send(spec).await.unwrap();
    assert_eq!(resp.status(), 503);

    let log = capture.out.lock().unwrap().clone();
    // The capture works: the request span and its fields are there.
    assert!(log.contains("span http.request"), "{log}");
    assert!(log.contains("api_key=…"), "{log}");
    assert!(log.contains("status=503"), "{log}");
    assert!(log.contains("span oauth2.token"), "{log}");
    assert_clean("tracing output", &log);
    assert!(!log.contains("old-refresh"), "{log}");
}
