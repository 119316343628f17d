//! [`XeroClient`]: one per app registration. Owns the HTTP client, the token manager, and the rate limiters,
//! lists the tenants of a connection, and hands out one [`XeroAdapter`] per tenant.
//!
//! Tokens belong to a **connection** (one user's consent, which may cover several organisations); rate limits
//! belong to a **tenant** (organisation). The adapter therefore keys tokens by a connection key of your choice
//! and limits by `xero-tenant-id`, so two organisations of the same connection share one refresh token and never
//! race to rotate it.

pub mod limits;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use erp_hub_core::http::{
    ClientCredentials, HttpClient, HttpResponse, Method, OAuth2Client, RequestSpec, TokenManager,
    TokenStore, TokenUse,
};
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{AuthorizationRequest, Pkce, XeroRefresher};
use crate::client::limits::{Limiters, minute_update};
use crate::config::XeroConfig;
use crate::entities::XeroAdapter;
use crate::error::map_error;

/// One organisation the connection may access (`GET /connections`, schema `Connection` of
/// `xero-identity.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Tenant {
    /// The connection id (for `DELETE /connections/{id}`).
    pub id: String,
    /// The `xero-tenant-id` to send.
    pub tenant_id: String,
    /// `ORGANISATION` (or `PRACTICE`).
    #[serde(default)]
    pub tenant_type: Option<String>,
    /// The organisation name.
    #[serde(default)]
    pub tenant_name: Option<String>,
    /// The consent event that created the connection.
    #[serde(default)]
    pub auth_event_id: Option<String>,
    /// When the connection was created.
    #[serde(default)]
    pub created_date_utc: Option<String>,
    /// When the connection was last updated.
    #[serde(default)]
    pub updated_date_utc: Option<String>,
}

/// The Xero side of an app: HTTP, tokens, limits. Cheap to clone.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use erp_hub_core::http::InMemoryTokenStore;
/// # use erp_hub_core::model::AccountMapping;
/// # use erp_xero::{XeroClient, XeroConfig};
/// # async fn demo(code: secrecy::SecretString, returned_state: &str) -> erp_hub_core::Result<()> {
/// let config = XeroConfig::new("CLIENT_ID", "CLIENT_SECRET", "https://app.example.com/xero/callback");
/// let client = XeroClient::new(config, Arc::new(InMemoryTokenStore::new()))?;
/// let request = client.authorization_request()?;
/// // ... redirect the user to request.url, keep request.state and request.pkce in the session ...
/// request.check_state(returned_state)?;
/// client.exchange_code("user-42", &code, &request.pkce).await?;
/// let tenants = client.connections("user-42").await?;
/// let adapter = client.adapter("user-42", &tenants[0].tenant_id).with_mapping(AccountMapping::new("xero"));
/// # let _ = adapter; Ok(()) }
/// ```
#[derive(Clone)]
pub struct XeroClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: XeroConfig,
    http: HttpClient,
    oauth: OAuth2Client,
    tokens: Arc<TokenManager>,
    limiters: Limiters,
}

impl fmt::Debug for XeroClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XeroClient")
            .field("config", &self.inner.config)
            .field("tokens", &self.inner.tokens)
            .field("limiters", &self.inner.limiters)
            .finish_non_exhaustive()
    }
}

/// One API call (internal).
pub(crate) struct Call {
    pub(crate) method: Method,
    /// Path under the API base (`/Contacts`), or an absolute URL.
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    /// Content type of `body` (default `application/json`).
    pub(crate) content_type: Option<&'static str>,
    pub(crate) key: Option<String>,
    pub(crate) if_modified_since: Option<DateTime<Utc>>,
    /// For `NotFound`.
    pub(crate) entity: &'static str,
    pub(crate) id: String,
}

impl Call {
    pub(crate) fn get(
        path: impl Into<String>,
        entity: &'static str,
        id: impl Into<String>,
    ) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            content_type: None,
            key: None,
            if_modified_since: None,
            entity,
            id: id.into(),
        }
    }

    pub(crate) fn write(
        method: Method,
        path: impl Into<String>,
        body: Vec<u8>,
        key: String,
        entity: &'static str,
    ) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            content_type: None,
            key: Some(key),
            if_modified_since: None,
            entity,
            id: String::new(),
        }
    }

    pub(crate) fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_owned(), v.into()));
        self
    }
}

/// A sub-key for the `n`th request of one logical write (`key` itself when `suffix` is empty), within Xero's
/// 128-character limit: a long key is replaced by its SHA-256 before the suffix is added.
pub(crate) fn derive_key(key: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return key.to_owned();
    }
    let candidate = format!("{key}:{suffix}");
    if candidate.len() <= 128 {
        return candidate;
    }
    let hex: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("{hex}:{suffix}");
    out.truncate(128);
    out
}

impl XeroClient {
    /// A client for `config`, storing tokens in `store` (keyed by your connection key).
    ///
    /// # Errors
    /// [`Error::Config`] for invalid URLs or limits.
    pub fn new(config: XeroConfig, store: Arc<dyn TokenStore>) -> Result<Self> {
        let limiters = Limiters::new(config.limits)?;
        let http = HttpClient::builder()
            .timeout(config.timeout)
            .retry_policy(config.retry.clone())
            .rate_limits(Arc::clone(&limiters.minute))
            .rate_limit_headers(Arc::new(minute_update))
            .build()?;
        let credentials = match &config.client_secret {
            Some(secret) => ClientCredentials::new(config.client_id.clone(), secret.clone()),
            None => ClientCredentials::public(config.client_id.clone()),
        };
        let oauth = OAuth2Client::with_http_client(
            http.reqwest_client().clone(),
            &config.token_url,
            credentials,
        )?;
        let refresher = XeroRefresher::new(oauth.clone(), config.refresh_grace_retries);
        let tokens = Arc::new(TokenManager::new(store, Arc::new(refresher)));
        url::Url::parse(&config.api_base_url)
            .map_err(|e| Error::config(format!("invalid Xero API base URL: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                http,
                oauth,
                tokens,
                limiters,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &XeroConfig {
        &self.inner.config
    }

    /// The token manager (single-flight refresh over your store).
    pub fn token_manager(&self) -> &Arc<TokenManager> {
        &self.inner.tokens
    }

    /// A consent URL with a fresh `state` and PKCE pair.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid authorize URL.
    pub fn authorization_request(&self) -> Result<AuthorizationRequest> {
        AuthorizationRequest::new(&self.inner.config)
    }

    /// Exchanges the authorization `code` (with the PKCE verifier) and saves the tokens under `connection`.
    ///
    /// # Errors
    /// [`Error::Auth`] when Xero rejects the code; store errors.
    pub async fn exchange_code(
        &self,
        connection: &str,
        code: &SecretString,
        pkce: &Pkce,
    ) -> Result<()> {
        let tokens = self
            .inner
            .oauth
            .authorization_code_grant(code, &self.inner.config.redirect_uri, Some(pkce.verifier()))
            .await?;
        self.inner.tokens.store().save(connection, &tokens).await?;
        self.inner.tokens.invalidate(connection);
        Ok(())
    }

    /// `GET /connections`: the organisations this connection may access.
    ///
    /// # Errors
    /// [`Error::Auth`] when the token is rejected; transport errors.
    pub async fn connections(&self, connection: &str) -> Result<Vec<Tenant>> {
        let call = Call::get(self.inner.config.connections_url.clone(), "connection", "");
        let resp = self.call(connection, "", call).await?;
        resp.json()
    }

    /// The adapter for one organisation of `connection`. Give it the organisation's account and tax mapping with
    /// [`XeroAdapter::with_mapping`] (every adapter takes its mapping that way).
    pub fn adapter(&self, connection: &str, tenant_id: &str) -> XeroAdapter {
        XeroAdapter::new(self.clone(), connection, tenant_id)
    }

    /// Sends one call: rate limits, bearer token, `xero-tenant-id`, `Idempotency-Key`, one forced refresh on
    /// `401`, and error mapping. Returns only 2xx responses.
    pub(crate) async fn call(
        &self,
        connection: &str,
        tenant: &str,
        call: Call,
    ) -> Result<HttpResponse> {
        let inner = &self.inner;
        let url = if call.path.starts_with("http://") || call.path.starts_with("https://") {
            call.path.clone()
        } else {
            format!("{}{}", inner.config.api_base_url, call.path)
        };
        let mut refreshed = false;
        loop {
            inner.limiters.acquire(tenant).await?;
            let token = inner.tokens.access_token(connection).await?;
            let spec = self.spec(&url, tenant, &call, &token)?;
            let resp = inner.http.send(spec).await?;
            inner
                .limiters
                .observe(tenant, resp.headers(), resp.status().as_u16());
            if resp.status().as_u16() == 401 && !refreshed {
                refreshed = true;
                tracing::debug!(tenant, "401 from Xero: forcing one token refresh");
                inner.tokens.force_refresh(connection, &token).await?;
                continue;
            }
            if resp.is_success() {
                return Ok(resp);
            }
            return Err(map_error(&resp, call.entity, &call.id));
        }
    }

    fn spec(
        &self,
        url: &str,
        tenant: &str,
        call: &Call,
        token: &SecretString,
    ) -> Result<RequestSpec> {
        let mut spec = RequestSpec::new(call.method.clone(), url)?
            .tenant(tenant)
            .token(TokenUse::None)
            .header("accept", "application/json")?
            .secret_header(
                "authorization",
                &SecretString::from(format!("Bearer {}", token.expose_secret())),
            )?;
        if !tenant.is_empty() {
            spec = spec.header("xero-tenant-id", tenant)?;
        }
        if !call.query.is_empty() {
            let pairs: Vec<(&str, &str)> = call
                .query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            spec = spec.query(&pairs);
        }
        if let Some(since) = call.if_modified_since {
            spec = spec.header(
                "if-modified-since",
                &since.to_rfc3339_opts(SecondsFormat::Millis, true),
            )?;
        }
        if let Some(body) = &call.body {
            spec = spec.body(
                call.content_type.unwrap_or("application/json"),
                body.clone(),
            )?;
        }
        if let Some(key) = &call.key {
            spec = spec.idempotency_key(key);
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_stay_within_128_characters() {
        assert_eq!(derive_key("inv-1", ""), "inv-1");
        assert_eq!(derive_key("inv-1", "alloc"), "inv-1:alloc");
        let long = "k".repeat(128);
        let d = derive_key(&long, "alloc");
        assert!(d.len() <= 128);
        assert!(d.ends_with(":alloc"));
        assert_ne!(d, derive_key(&"j".repeat(128), "alloc"));
    }
}
