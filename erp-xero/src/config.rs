//! [`XeroConfig`]: app registration, endpoints and limits. Every URL is configuration, so tests and the offline
//! example point the adapter at a local mock.

use std::time::Duration;

use erp_hub_core::http::RetryPolicy;
use secrecy::SecretString;

use crate::client::limits::XeroLimits;

/// Xero's authorization (consent) endpoint.
pub const AUTHORIZE_URL: &str = "https://login.xero.com/identity/connect/authorize";
/// Xero's token endpoint.
pub const TOKEN_URL: &str = "https://identity.xero.com/connect/token";
/// Lists the tenants (organisations) a token may access.
pub const CONNECTIONS_URL: &str = "https://api.xero.com/connections";
/// The Accounting API 2.0 base URL (`servers` of `xero_accounting.yaml`).
pub const API_BASE_URL: &str = "https://api.xero.com/api.xro/2.0";

/// The scopes requested by default: `offline_access` (refresh tokens) plus contacts, transactions and settings
/// (accounts, tax rates, organisation).
pub const DEFAULT_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.contacts",
    "accounting.transactions",
    "accounting.settings",
];

/// An app registration and where to reach Xero. `Debug` redacts the client secret.
///
/// ```
/// # use erp_xero::XeroConfig;
/// let config = XeroConfig::new("CLIENT_ID", "CLIENT_SECRET", "https://app.example.com/xero/callback");
/// assert!(format!("{config:?}").contains("CLIENT_ID"));
/// assert!(!format!("{config:?}").contains("CLIENT_SECRET"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct XeroConfig {
    /// The OAuth2 client id of the app.
    pub client_id: String,
    /// The client secret; `None` for a public client (PKCE without secret).
    pub client_secret: Option<SecretString>,
    /// The redirect URI registered with the app.
    pub redirect_uri: String,
    /// Scopes requested in the authorization URL.
    pub scopes: Vec<String>,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Connections endpoint (tenants).
    pub connections_url: String,
    /// Accounting API base URL, without a trailing slash.
    pub api_base_url: String,
    /// Timeout of one HTTP attempt (API and token endpoint).
    pub timeout: Duration,
    /// Retry policy of API calls.
    pub retry: RetryPolicy,
    /// Client-side rate limits (Xero's published limits by default).
    pub limits: XeroLimits,
    /// How many times a refresh whose response was lost is re-sent with the **same** refresh token (Xero accepts
    /// the previous refresh token for 30 minutes after a rotation).
    pub refresh_grace_retries: u32,
}

impl XeroConfig {
    /// A confidential app (client id and secret) against the production endpoints.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            redirect_uri: redirect_uri.into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            authorize_url: AUTHORIZE_URL.to_owned(),
            token_url: TOKEN_URL.to_owned(),
            connections_url: CONNECTIONS_URL.to_owned(),
            api_base_url: API_BASE_URL.to_owned(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            limits: XeroLimits::default(),
            refresh_grace_retries: 2,
        }
    }

    /// A public client (no secret; PKCE is then mandatory) against the production endpoints.
    pub fn public(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        let mut c = Self::new(client_id, SecretString::from(String::new()), redirect_uri);
        c.client_secret = None;
        c
    }

    /// Replaces the requested scopes.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Every endpoint under one base URL, for a mock, proxy or recording server: `{base}/identity/connect/authorize`,
    /// `{base}/connect/token`, `{base}/connections` and `{base}/api.xro/2.0`. One call moves the token endpoint
    /// with the API, so tokens are never sent to (or refreshed at) the real Xero by mistake. For another layout
    /// set both [`with_identity_urls`](Self::with_identity_urls) and [`with_api_urls`](Self::with_api_urls).
    #[must_use]
    pub fn with_base_url(self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.with_identity_urls(
            format!("{base}/identity/connect/authorize"),
            format!("{base}/connect/token"),
        )
        .with_api_urls(format!("{base}/connections"), format!("{base}/api.xro/2.0"))
    }

    /// Points the identity endpoints (authorize, token) somewhere else, e.g. a mock. Move the API with
    /// [`with_api_urls`](Self::with_api_urls) too (or use [`with_base_url`](Self::with_base_url)).
    #[must_use]
    pub fn with_identity_urls(
        mut self,
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        self.authorize_url = authorize_url.into();
        self.token_url = token_url.into();
        self
    }

    /// Points the API (connections and Accounting API base) somewhere else, e.g. a mock.
    #[must_use]
    pub fn with_api_urls(
        mut self,
        connections_url: impl Into<String>,
        api_base_url: impl Into<String>,
    ) -> Self {
        self.connections_url = connections_url.into();
        self.api_base_url = api_base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the client-side rate limits.
    #[must_use]
    pub fn with_limits(mut self, limits: XeroLimits) -> Self {
        self.limits = limits;
        self
    }
}
