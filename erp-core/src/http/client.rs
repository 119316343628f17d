//! [`HttpClient`]: reqwest with rate limiting, retries, bearer tokens and error classification.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::rate_limit::{RateLimitUpdate, RateLimits};
use super::retry::{RetryPolicy, parse_retry_after, status_is_retriable};
use super::token::TokenManager;
use crate::{Error, FieldError, Result};

/// The header used by [`RequestSpec::idempotency_key`] (Xero, Stripe-style APIs).
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Whether a request may be sent more than once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replay {
    /// Decided by the method: `GET`, `HEAD`, `OPTIONS` and `TRACE` are safe; every write is not.
    ByMethod,
    /// The caller guarantees that repeating the request cannot apply it twice (it carries an idempotency key the
    /// provider honours, or the operation is idempotent by nature, e.g. submitting a document by its unique key).
    Safe,
    /// Never re-send, whatever the method.
    Never,
}

/// Which tenant's rate limit and token a request uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenUse {
    /// Send `Authorization: Bearer` from the client's [`TokenManager`] (when it has one), keyed by the tenant.
    Bearer,
    /// Send no token (the caller sets its own auth headers, e.g. Basic for Alegra, or none).
    None,
}

/// One request: method, URL, headers, body, tenant, and whether it may be re-sent. The body is kept in memory so
/// that it can be re-sent.
///
/// ```
/// # use erp_hub_core::http::RequestSpec;
/// # fn demo() -> erp_hub_core::Result<()> {
/// let spec = RequestSpec::post("https://api.xero.com/api.xro/2.0/Invoices")?
///     .tenant("xero-tenant-1")
///     .header("xero-tenant-id", "0b1e...")?
///     .json(&serde_json::json!({"Invoices": []}))?
///     .idempotency_key("invoice-F-1042");
/// assert!(spec.is_replay_safe());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RequestSpec {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    replay: Replay,
    tenant: Option<String>,
    token: TokenUse,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

impl fmt::Debug for RequestSpec {
    /// Shows header names only, and the URL without query values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpec")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("replay", &self.replay)
            .field("tenant", &self.tenant)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl RequestSpec {
    /// A request with `method` to `url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn new(method: Method, url: &str) -> Result<Self> {
        let url = Url::parse(url).map_err(|e| Error::config(format!("invalid URL: {e}")))?;
        Ok(Self::from_url(method, url))
    }

    /// A request with `method` to an already parsed `url`.
    pub fn from_url(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            replay: Replay::ByMethod,
            tenant: None,
            token: TokenUse::Bearer,
            timeout: None,
            retry: None,
        }
    }

    /// `GET url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn get(url: &str) -> Result<Self> {
        Self::new(Method::GET, url)
    }

    /// `POST url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn post(url: &str) -> Result<Self> {
        Self::new(Method::POST, url)
    }

    /// `PUT url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn put(url: &str) -> Result<Self> {
        Self::new(Method::PUT, url)
    }

    /// `PATCH url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn patch(url: &str) -> Result<Self> {
        Self::new(Method::PATCH, url)
    }

    /// `DELETE url`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL.
    pub fn delete(url: &str) -> Result<Self> {
        Self::new(Method::DELETE, url)
    }

    /// The tenant: the key of its rate limiter and of its tokens in the [`TokenManager`].
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Adds a header.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid header name or value.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::config(format!("invalid header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| Error::config(format!("invalid value for header {name}: {e}")))?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Adds a header whose value is secret (marked sensitive, never logged).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid header name or value.
    pub fn secret_header(mut self, name: &str, value: &SecretString) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::config(format!("invalid header name {name:?}: {e}")))?;
        let mut value = HeaderValue::from_str(value.expose_secret())
            .map_err(|_| Error::config(format!("invalid value for header {name}")))?;
        value.set_sensitive(true);
        self.headers.append(name, value);
        Ok(self)
    }

    /// Appends query parameters (URL-encoded).
    #[must_use]
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.url.query_pairs_mut().extend_pairs(pairs);
        self
    }

    /// Sets a raw body with its content type.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Result<Self> {
        let ct = HeaderValue::from_str(content_type)
            .map_err(|e| Error::config(format!("invalid content type: {e}")))?;
        self.headers.insert(CONTENT_TYPE, ct);
        self.body = Some(body.into());
        Ok(self)
    }

    /// Sets a JSON body.
    ///
    /// # Errors
    /// [`Error::Validation`] when `value` cannot be serialised.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value).map_err(|e| Error::invalid("body", e.to_string()))?;
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Some(body);
        Ok(self)
    }

    /// Sets a `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(body.into_bytes());
        self
    }

    /// Sends `key` as the `Idempotency-Key` header and marks the request replay-safe.
    ///
    /// Only use this with providers that de-duplicate on that header (Xero). A key that is not a valid header
    /// value is percent-encoded.
    #[must_use]
    pub fn idempotency_key(mut self, key: &str) -> Self {
        let value = HeaderValue::from_str(key).unwrap_or_else(|_| {
            let enc: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
            HeaderValue::from_str(&enc).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        });
        self.headers
            .insert(HeaderName::from_static("idempotency-key"), value);
        self.replay = Replay::Safe;
        self
    }

    /// Sends `key` as query parameter `param` (QuickBooks: `requestid`) and marks the request replay-safe.
    #[must_use]
    pub fn idempotency_query(mut self, param: &str, key: &str) -> Self {
        self.url.query_pairs_mut().append_pair(param, key);
        self.replay = Replay::Safe;
        self
    }

    /// Says whether the request may be re-sent (see [`Replay`]).
    #[must_use]
    pub fn replay(mut self, replay: Replay) -> Self {
        self.replay = replay;
        self
    }

    /// Whether this request uses the client's bearer token (default [`TokenUse::Bearer`]).
    #[must_use]
    pub fn token(mut self, token: TokenUse) -> Self {
        self.token = token;
        self
    }

    /// Overrides the client's total timeout for this request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's [`RetryPolicy`] for this request (e.g. fewer attempts for a batch endpoint).
    /// The replay-safety rule still applies.
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The tenant, if set.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Whether sending this request twice cannot apply it twice (see [`Replay`]).
    pub fn is_replay_safe(&self) -> bool {
        match self.replay {
            Replay::Safe => true,
            Replay::Never => false,
            Replay::ByMethod => matches!(
                self.method,
                Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
            ),
        }
    }
}

/// A response read to the end: status, headers and body bytes, for provider-specific error mapping.
///
/// `Debug` shows the status, header names and body length only (bodies may carry tokens).
#[derive(Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    method: Method,
    url: Url,
    replay_safe: bool,
    attempts: u32,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl HttpResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Consumes the response, returning the body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// How many attempts were made (1 = no retry).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the request could have been re-sent safely (decides `Transient` vs `Uncertain` for `5xx`).
    pub fn was_replay_safe(&self) -> bool {
        self.replay_safe
    }

    /// Whether the status is `2xx`.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// For a body that is not the expected JSON: [`Error::Uncertain`] if the request was a write that may have
    /// been applied, [`Error::Transient`] otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let message = format!(
                "unexpected response body from {} {} (HTTP {}): {e}",
                self.method,
                redact_url(&self.url),
                self.status.as_u16()
            );
            if self.replay_safe || !self.status.is_success() {
                Error::transient(message)
            } else {
                Error::uncertain(message)
            }
        })
    }

    /// The default error for a non-`2xx` status, `None` for `2xx`. See [`classify_status`].
    pub fn status_error(&self) -> Option<Error> {
        if self.status.is_success() {
            return None;
        }
        Some(classify_status(
            self.status,
            &self.headers,
            &self.body,
            self.replay_safe,
            self.url.path(),
        ))
    }

    /// `Ok(self)` for `2xx`, otherwise the [`status_error`](Self::status_error).
    ///
    /// # Errors
    /// See [`classify_status`].
    pub fn error_for_status(self) -> Result<Self> {
        match self.status_error() {
            None => Ok(self),
            Some(e) => Err(e),
        }
    }
}

/// Default mapping of a non-`2xx` response to an [`Error`], for when the provider's error body says nothing
/// more specific:
///
/// | status | error |
/// |---|---|
/// | 401, 403 | [`Error::Auth`] |
/// | 404, 410 | [`Error::NotFound`] (entity `resource`, id = URL path) |
/// | 409, 412 | [`Error::Conflict`] |
/// | 429 | [`Error::RateLimited`] with `Retry-After` |
/// | 408, 5xx | [`Error::Transient`] if the request was replay-safe, else [`Error::Uncertain`] (the server may have applied the write before failing) |
/// | other 4xx | [`Error::Validation`] with the start of the body |
/// | other (1xx, 3xx) | [`Error::Unsupported`] |
pub fn classify_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    replay_safe: bool,
    path: &str,
) -> Error {
    let snippet = body_snippet(body);
    let detail = if snippet.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {snippet}", status.as_u16())
    };
    match status.as_u16() {
        401 | 403 => Error::auth(detail),
        404 | 410 => Error::not_found("resource", path),
        409 | 412 => Error::conflict(detail),
        429 => Error::RateLimited {
            retry_after: parse_retry_after(headers),
        },
        408 | 500..=599 => {
            if replay_safe {
                Error::transient(detail)
            } else {
                Error::uncertain(detail)
            }
        }
        400..=499 => Error::Validation {
            source: None,
            errors: vec![FieldError::new("", detail).with_code(status.as_u16().to_string())],
        },
        _ => Error::unsupported(format!("unexpected {detail}")),
    }
}

fn body_snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// The URL for logs: scheme, host, port and path; query values replaced by `…`; no user info or fragment.
pub fn redact_url(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| format!("{k}=…")).collect();
    if !keys.is_empty() {
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

/// Parses provider rate-limit headers into a [`RateLimitUpdate`] (see [`HttpClientBuilder::rate_limit_headers`]).
pub type RateLimitHeaderParser = Arc<dyn Fn(&HeaderMap) -> Option<RateLimitUpdate> + Send + Sync>;

/// Waits between retries (see [`HttpClientBuilder::sleeper`]); the default is `tokio::time::sleep`.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    rate_limits: Option<Arc<RateLimits>>,
    tokens: Option<Arc<TokenManager>>,
    rate_limit_headers: Option<RateLimitHeaderParser>,
    reqwest: Option<reqwest::Client>,
    sleeper: Sleeper,
    max_response_bytes: usize,
}

/// Default cap on a response body: 16 MiB, far above any ERP API page.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("tokens", &self.tokens)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    /// Largest response body read into memory (default [`DEFAULT_MAX_RESPONSE_BYTES`]). A longer body (by its
    /// `Content-Length` or while streaming) is abandoned: `Uncertain` for a write the provider accepted,
    /// `Transient` otherwise, like a body lost in transit.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Total timeout per attempt, from sending to the end of the body (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// TCP + TLS connect timeout (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `erp-hub/<version>`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Rate-limits every request by its tenant (requests without a tenant share the `""` limiter).
    #[must_use]
    pub fn rate_limits(mut self, limits: Arc<RateLimits>) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Adds bearer tokens from `tokens` to requests with a tenant and [`TokenUse::Bearer`].
    #[must_use]
    pub fn token_manager(mut self, tokens: Arc<TokenManager>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Feeds every response's headers through `parser` into the tenant's rate limiter, e.g. for Alegra:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use erp_hub_core::http::{HttpClient, RateLimitUpdate};
    /// let builder = HttpClient::builder().rate_limit_headers(Arc::new(|h| {
    ///     RateLimitUpdate::from_headers(h, "x-rate-limit-remaining", Some("x-rate-limit-reset"))
    /// }));
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn rate_limit_headers(mut self, parser: RateLimitHeaderParser) -> Self {
        self.rate_limit_headers = Some(parser);
        self
    }

    /// Replaces how the client waits between retries (backoff and `Retry-After`), e.g. to record the delays in
    /// a test instead of sleeping. Rate-limiter waits are not affected.
    #[must_use]
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Sends through an existing reqwest client (its own timeouts and TLS settings apply; the builder's
    /// timeout and user agent are then ignored, except per-request timeouts).
    #[must_use]
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest = Some(client);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] when reqwest cannot build its client (TLS set-up).
    pub fn build(self) -> Result<HttpClient> {
        let inner = match self.reqwest {
            Some(c) => c,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::config(format!("cannot build HTTP client: {e}")))?,
        };
        Ok(HttpClient {
            inner,
            retry: self.retry,
            rate_limits: self.rate_limits,
            tokens: self.tokens,
            rate_limit_headers: self.rate_limit_headers,
            sleeper: self.sleeper,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// An HTTP client for provider APIs: per-tenant rate limiting, retries (only when replay-safe), bearer tokens
/// with one forced refresh on `401`, and a `tracing` span per request. Cheap to clone.
///
/// Use [`send`](Self::send) to get the final response (any status) and map provider error bodies yourself, or
/// [`send_json`](Self::send_json) for the default mapping.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use erp_hub_core::http::*;
/// # async fn demo() -> erp_hub_core::Result<()> {
/// let store = Arc::new(InMemoryTokenStore::new());
/// let oauth = OAuth2Client::new(
///     "https://identity.xero.com/connect/token",
///     ClientCredentials::new("client-id", "client-secret"),
/// )?;
/// let tokens = Arc::new(TokenManager::new(store, Arc::new(oauth)));
/// let client = HttpClient::builder()
///     .rate_limits(Arc::new(RateLimits::new(RateLimitConfig::new(60, Duration::from_secs(60), 5)?)))
///     .token_manager(tokens)
///     .build()?;
/// let spec = RequestSpec::get("https://api.xero.com/api.xro/2.0/Organisation")?.tenant("tenant-1");
/// let org: serde_json::Value = client.send_json(spec).await?;
/// # let _ = org; Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    retry: RetryPolicy,
    rate_limits: Option<Arc<RateLimits>>,
    tokens: Option<Arc<TokenManager>>,
    rate_limit_headers: Option<RateLimitHeaderParser>,
    sleeper: Sleeper,
    max_response_bytes: usize,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Outcome of one attempt.
enum Attempt {
    Response(HttpResponse),
    Failed(Error),
}

impl HttpClient {
    /// A builder with the defaults (30 s timeout, 10 s connect timeout, [`RetryPolicy::default`]).
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("erp-hub/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            rate_limits: None,
            tokens: None,
            rate_limit_headers: None,
            reqwest: None,
            sleeper: tokio_sleeper(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The underlying reqwest client (e.g. to share it with an [`OAuth2Client`](crate::http::OAuth2Client)).
    pub fn reqwest_client(&self) -> &reqwest::Client {
        &self.inner
    }

    /// The token manager, if any.
    pub fn token_manager(&self) -> Option<&Arc<TokenManager>> {
        self.tokens.as_ref()
    }

    /// The rate limits, if any.
    pub fn rate_limits(&self) -> Option<&Arc<RateLimits>> {
        self.rate_limits.as_ref()
    }

    /// Sends `spec` through the rate limiter, with retries and bearer token, and returns the final response
    /// whatever its status, so the caller can map the provider's error body.
    ///
    /// - Retries (per the [`RetryPolicy`]) connect errors, and for replay-safe requests also timeouts, broken
    ///   responses, `408` and `5xx`; `429` is retried for every request (honouring `Retry-After`, which also
    ///   pauses the tenant's limiter).
    /// - On `401` with a bearer token: one forced token refresh and one more attempt.
    ///
    /// # Errors
    /// - [`Error::Transient`] for a connect error (nothing was sent) or a failure of a replay-safe request, once
    ///   retries are exhausted;
    /// - [`Error::Uncertain`] when a request that is **not** replay-safe was sent and its response was lost
    ///   (timeout, connection reset): it may have been applied, and it is not re-sent;
    /// - token errors ([`Error::Auth`] when the refresh was rejected), [`Error::Config`] for a bearer request
    ///   without a tenant.
    pub async fn send(&self, spec: RequestSpec) -> Result<HttpResponse> {
        let span = tracing::info_span!(
            "http.request",
            method = %spec.method,
            url = %redact_url(&spec.url),
            tenant = spec.tenant.as_deref().unwrap_or(""),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.send_inner(spec).instrument(span).await
    }

    /// [`send`](Self::send), then [`HttpResponse::error_for_status`], then parse the body as JSON.
    ///
    /// # Errors
    /// As [`send`](Self::send), [`classify_status`] and [`HttpResponse::json`].
    pub async fn send_json<T: DeserializeOwned>(&self, spec: RequestSpec) -> Result<T> {
        self.send(spec).await?.error_for_status()?.json()
    }

    async fn send_inner(&self, spec: RequestSpec) -> Result<HttpResponse> {
        let replay_safe = spec.is_replay_safe();
        let policy = spec.retry.as_ref().unwrap_or(&self.retry);
        let max_attempts = policy.attempts();
        let tenant = spec.tenant.clone().unwrap_or_default();
        let use_token = spec.token == TokenUse::Bearer && self.tokens.is_some();
        if use_token && spec.tenant.is_none() {
            return Err(Error::config(
                "a bearer-token request needs a tenant (RequestSpec::tenant)",
            ));
        }
        let limiter = self.rate_limits.as_ref().map(|l| l.limiter(&tenant));

        let mut attempt: u32 = 0;
        let mut retries: u32 = 0;
        let mut forced_refresh = false;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let token = match (&self.tokens, use_token) {
                (Some(tm), true) => Some(tm.access_token(&tenant).await?),
                _ => None,
            };
            let permit = match &limiter {
                Some(l) => Some(l.acquire().await?),
                None => None,
            };
            let outcome = self
                .attempt(&spec, token.as_ref(), replay_safe, attempt)
                .instrument(tracing::debug_span!("http.attempt", attempt))
                .await;
            drop(permit);

            let delay = match outcome {
                Attempt::Failed(err) => {
                    if !err.is_retriable() || retries + 1 >= max_attempts {
                        return Err(err);
                    }
                    tracing::debug!(error = %err, "retrying after transport error");
                    policy.backoff(retries + 1)
                }
                Attempt::Response(resp) => {
                    let status = resp.status;
                    tracing::Span::current().record("status", status.as_u16());
                    if let (Some(l), Some(parse)) = (&limiter, &self.rate_limit_headers)
                        && let Some(update) = parse(&resp.headers)
                    {
                        l.observe(update);
                    }
                    if status == StatusCode::UNAUTHORIZED
                        && !forced_refresh
                        && let (Some(tm), Some(stale)) = (&self.tokens, &token)
                    {
                        forced_refresh = true;
                        tracing::debug!("401: forcing a token refresh");
                        tm.force_refresh(&tenant, stale).await?;
                        continue;
                    }
                    let retry_after = if matches!(status.as_u16(), 429 | 503) {
                        parse_retry_after(&resp.headers)
                    } else {
                        None
                    };
                    if let (Some(l), Some(d)) = (&limiter, retry_after) {
                        // Every request of this tenant waits, not just this one.
                        l.pause_for(d.min(policy.max_retry_after));
                    }
                    if !status_is_retriable(status, replay_safe) || retries + 1 >= max_attempts {
                        return Ok(resp);
                    }
                    match retry_after {
                        Some(d) if d > policy.max_retry_after => {
                            tracing::debug!(
                                retry_after_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                                "Retry-After too long; returning the response"
                            );
                            return Ok(resp);
                        }
                        Some(d) => d,
                        None => policy.backoff(retries + 1),
                    }
                }
            };
            retries += 1;
            tracing::debug!(
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "backing off"
            );
            (self.sleeper)(delay).await;
        }
    }

    async fn attempt(
        &self,
        spec: &RequestSpec,
        token: Option<&SecretString>,
        replay_safe: bool,
        attempt: u32,
    ) -> Attempt {
        let mut req = self
            .inner
            .request(spec.method.clone(), spec.url.clone())
            .headers(spec.headers.clone());
        if let Some(t) = token {
            req = req.bearer_auth(t.expose_secret());
        }
        if let Some(body) = &spec.body {
            req = req.body(body.clone());
        }
        if let Some(t) = spec.timeout {
            req = req.timeout(t);
        }
        let started = tokio::time::Instant::now();
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(transport_error(&e, replay_safe, false)),
        };
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        // The server answered, so a write it accepted was processed even if its body is then lost.
        let processed = !replay_safe && status.is_success();
        let limit = self.max_response_bytes;
        let too_large = |size: String| {
            let message = format!(
                "response body from {} {} (HTTP {}) is {size}, over the limit of {limit} bytes",
                spec.method,
                redact_url(&spec.url),
                status.as_u16()
            );
            Attempt::Failed(if processed {
                Error::uncertain(message)
            } else {
                Error::transient(message)
            })
        };
        if let Some(len) = resp.content_length()
            && usize::try_from(len).map_or(true, |len| len > limit)
        {
            return too_large(format!("{len} bytes"));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > limit {
                        return too_large("longer".to_owned());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Attempt::Failed(transport_error(&e, replay_safe, processed)),
            }
        }
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "response"
        );
        Attempt::Response(HttpResponse {
            status,
            headers,
            body,
            method: spec.method.clone(),
            url: spec.url.clone(),
            replay_safe,
            attempts: attempt,
        })
    }
}

/// Maps a reqwest transport error. A connect error means nothing was sent (`Transient`); anything later is
/// `Transient` only for replay-safe requests, else `Uncertain`.
fn transport_error(e: &reqwest::Error, replay_safe: bool, processed: bool) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else {
        "request failed"
    };
    let message = match e.url() {
        Some(u) => format!("{what}: {} ({})", redact_url(u), error_chain(e)),
        None => format!("{what}: {}", error_chain(e)),
    };
    if e.is_builder() {
        return Error::config(message);
    }
    if e.is_connect() && !processed {
        return Error::transient(message);
    }
    if replay_safe {
        Error::transient(message)
    } else {
        Error::uncertain(message)
    }
}

/// The error's sources joined, without the URL that reqwest puts in its own `Display`.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    if parts.is_empty() {
        "no further detail".to_owned()
    } else {
        parts.join(": ")
    }
}
