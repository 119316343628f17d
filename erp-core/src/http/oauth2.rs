//! A small OAuth2 token-endpoint client (RFC 6749) over reqwest: refresh-token, password, client-credentials and
//! authorization-code grants with form bodies.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tracing::Instrument;

use super::token::{TokenRefresher, TokenSet};
use crate::{Error, ErrorKind, Result};

/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))` (QuickBooks, Xero).
    #[default]
    BasicAuth,
    /// `client_id` (and `client_secret`, when there is one) as form fields (public Keycloak clients such as
    /// Hacienda's `api-prod`/`api-stag`).
    RequestBody,
}

/// An OAuth2 client registration. `Debug` redacts the secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (`None` for public clients).
    pub client_secret: Option<SecretString>,
    /// Where the credentials go.
    pub auth_method: ClientAuthMethod,
}

impl ClientCredentials {
    /// A confidential client, authenticated with HTTP Basic.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            auth_method: ClientAuthMethod::BasicAuth,
        }
    }

    /// A public client (no secret): `client_id` goes in the form body.
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            auth_method: ClientAuthMethod::RequestBody,
        }
    }

    /// Sets where the credentials go.
    #[must_use]
    pub fn with_auth_method(mut self, auth_method: ClientAuthMethod) -> Self {
        self.auth_method = auth_method;
        self
    }
}

/// A resource-owner username and password (password grant). `Debug` redacts the password.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PasswordCredentials {
    /// The username (Hacienda: `cpf-01-0000-0000@stag.comprobanteselectronicos.go.cr` style ATV user).
    pub username: String,
    /// The password.
    pub password: SecretString,
}

impl PasswordCredentials {
    /// Username and password.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// A client for one OAuth2 token endpoint.
///
/// ```no_run
/// # use erp_hub_core::http::{ClientCredentials, OAuth2Client};
/// # async fn demo() -> erp_hub_core::Result<()> {
/// let client = OAuth2Client::new(
///     "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
///     ClientCredentials::new("client-id", "client-secret"),
/// )?;
/// let tokens = client.refresh_token_grant(&"refresh-token".into(), None).await?;
/// # let _ = tokens; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuth2Client {
    http: reqwest::Client,
    token_url: Url,
    credentials: ClientCredentials,
    extra_params: Vec<(String, String)>,
}

impl fmt::Debug for OAuth2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Client")
            .field("token_url", &self.token_url.as_str())
            .field("credentials", &self.credentials)
            .field(
                "extra_params",
                &self.extra_params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OAuth2Client {
    /// A client for `token_url` with its own reqwest client (rustls, 30 s timeout).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL or when the HTTP client cannot be built.
    pub fn new(token_url: &str, credentials: ClientCredentials) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::config(format!("cannot build HTTP client: {e}")))?;
        Self::with_http_client(http, token_url, credentials)
    }

    /// A client that sends through `http` (share one reqwest client per process).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL.
    pub fn with_http_client(
        http: reqwest::Client,
        token_url: &str,
        credentials: ClientCredentials,
    ) -> Result<Self> {
        let token_url = Url::parse(token_url)
            .map_err(|e| Error::config(format!("invalid token endpoint URL: {e}")))?;
        Ok(Self {
            http,
            token_url,
            credentials,
            extra_params: Vec::new(),
        })
    }

    /// Adds a form field sent with every token request (e.g. `audience`).
    #[must_use]
    pub fn with_extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The client registration.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// `grant_type=refresh_token`. Keeps `refresh_token` in the result when the server does not rotate it.
    ///
    /// # Errors
    /// See [`token_request`](Self::token_request).
    pub async fn refresh_token_grant(
        &self,
        refresh_token: &SecretString,
        scope: Option<&str>,
    ) -> Result<TokenSet> {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let mut tokens = self.token_request(&params).await?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.clone());
        }
        Ok(tokens)
    }

    /// `grant_type=password` (Hacienda's Keycloak IDP).
    ///
    /// # Errors
    /// See [`token_request`](Self::token_request).
    pub async fn password_grant(
        &self,
        credentials: &PasswordCredentials,
        scope: Option<&str>,
    ) -> Result<TokenSet> {
        let mut params = vec![
            ("grant_type", "password"),
            ("username", credentials.username.as_str()),
            ("password", credentials.password.expose_secret()),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.token_request(&params).await
    }

    /// `grant_type=client_credentials`.
    ///
    /// # Errors
    /// See [`token_request`](Self::token_request).
    pub async fn client_credentials_grant(&self, scope: Option<&str>) -> Result<TokenSet> {
        let mut params = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.token_request(&params).await
    }

    /// `grant_type=authorization_code`: exchanges the code from the consent redirect (with the PKCE verifier
    /// when the flow used one).
    ///
    /// # Errors
    /// See [`token_request`](Self::token_request).
    pub async fn authorization_code_grant(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        pkce_verifier: Option<&SecretString>,
    ) -> Result<TokenSet> {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = pkce_verifier {
            params.push(("code_verifier", v.expose_secret()));
        }
        self.token_request(&params).await
    }

    /// POSTs `params` (plus the client credentials and extra params) as a form to the token endpoint.
    ///
    /// # Errors
    /// - [`Error::Auth`] for `400`/`401` with an OAuth2 error such as `invalid_grant` or `invalid_client`
    ///   (re-consent needed), and for any other `401`/`403`;
    /// - [`Error::RateLimited`] for `429`; [`Error::Transient`] for `5xx`, connection errors and timeouts
    ///   (Xero and Intuit accept the previous refresh token again for a while, so a retry is safe);
    /// - [`Error::Validation`] for other `4xx`, or a success response without `access_token`.
    pub async fn token_request(&self, params: &[(&str, &str)]) -> Result<TokenSet> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.extend(
            self.extra_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let mut req = self
            .http
            .post(self.token_url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        match self.credentials.auth_method {
            ClientAuthMethod::BasicAuth => {
                let id = form_encode(&self.credentials.client_id);
                let secret = self
                    .credentials
                    .client_secret
                    .as_ref()
                    .map(|s| form_encode(s.expose_secret()));
                req = req.basic_auth(id, secret);
            }
            ClientAuthMethod::RequestBody => {
                form.push(("client_id", self.credentials.client_id.as_str()));
                if let Some(s) = &self.credentials.client_secret {
                    form.push(("client_secret", s.expose_secret()));
                }
            }
        }
        let grant = form
            .iter()
            .find(|(k, _)| *k == "grant_type")
            .map_or("", |(_, v)| *v)
            .to_owned();
        let span = tracing::debug_span!("oauth2.token", url = %self.token_url, grant = %grant);
        async move {
            let resp = req.form(&form).send().await.map_err(|e| Error::Transient {
                message: format!("token endpoint unreachable: {}", without_url(&e)),
                source: None,
            })?;
            let status = resp.status();
            let retry_after = super::retry::parse_retry_after(resp.headers());
            let body = resp.bytes().await.map_err(|e| Error::Transient {
                message: format!("token response lost: {}", without_url(&e)),
                source: None,
            })?;
            tracing::debug!(status = status.as_u16(), "token endpoint answered");
            let json: Option<Value> = serde_json::from_slice(&body).ok();
            if status.is_success() {
                let json = json.ok_or_else(|| Error::invalid("token_response", "not JSON"))?;
                return parse_token_response(&json);
            }
            Err(token_error(status, json.as_ref(), retry_after))
        }
        .instrument(span)
        .await
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The reqwest error text without the URL (which is not secret, but keeps messages short and stable).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<token endpoint>");
    }
    s
}

fn token_error(status: StatusCode, json: Option<&Value>, retry_after: Option<Duration>) -> Error {
    let field = |name: &str| json.and_then(|j| j.get(name)).and_then(Value::as_str);
    let code = field("error").unwrap_or("");
    let description = field("error_description").unwrap_or("");
    let detail = match (code, description) {
        ("", "") => format!("HTTP {}", status.as_u16()),
        (c, "") => format!("{c} (HTTP {})", status.as_u16()),
        (c, d) => format!("{c}: {d} (HTTP {})", status.as_u16()),
    };
    match status.as_u16() {
        401 | 403 => Error::auth(format!("token endpoint rejected the credentials: {detail}")),
        429 => Error::RateLimited { retry_after },
        400 if matches!(
            code,
            "invalid_grant" | "invalid_client" | "unauthorized_client" | "invalid_scope"
        ) =>
        {
            Error::auth(format!("token grant rejected: {detail}"))
        }
        s if s >= 500 => Error::transient(format!("token endpoint failed: {detail}")),
        _ => Error::invalid("token_request", detail),
    }
}

fn parse_token_response(json: &Value) -> Result<TokenSet> {
    let string = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
    // Some servers send numbers as strings.
    let seconds = |name: &str| -> Option<i64> {
        match json.get(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let access_token = string("access_token")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid("access_token", "missing from token response"))?;
    let now = Utc::now();
    let at = |secs: i64| now.checked_add_signed(chrono::Duration::try_seconds(secs)?);
    Ok(TokenSet {
        access_token: access_token.into(),
        refresh_token: string("refresh_token")
            .filter(|s| !s.is_empty())
            .map(Into::into),
        expires_at: seconds("expires_in").and_then(at),
        refresh_token_expires_at: seconds("x_refresh_token_expires_in")
            .or_else(|| seconds("refresh_expires_in"))
            .or_else(|| seconds("refresh_token_expires_in"))
            .filter(|s| *s > 0)
            .and_then(at),
        scope: string("scope"),
        token_type: string("token_type"),
    })
}

#[async_trait]
impl TokenRefresher for OAuth2Client {
    /// Refresh-token grant with the stored refresh token; [`Error::Auth`] when there is none.
    async fn refresh(&self, _key: &str, current: Option<&TokenSet>) -> Result<TokenSet> {
        let rt = current
            .and_then(|t| t.refresh_token.as_ref())
            .ok_or_else(|| Error::auth("no refresh token stored: the user must connect again"))?;
        self.refresh_token_grant(rt, None).await
    }
}

/// A [`TokenRefresher`] for password-grant IDPs (Costa Rica Hacienda's Keycloak): uses the refresh token while
/// it is valid and falls back to the password grant with the tenant's stored credentials.
pub struct PasswordGrantRefresher {
    client: OAuth2Client,
    scope: Option<String>,
    credentials: RwLock<HashMap<String, PasswordCredentials>>,
}

impl fmt::Debug for PasswordGrantRefresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenants = self
            .credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("PasswordGrantRefresher")
            .field("client", &self.client)
            .field("scope", &self.scope)
            .field("tenants", &tenants)
            .finish()
    }
}

impl PasswordGrantRefresher {
    /// A refresher over `client` with no credentials yet.
    pub fn new(client: OAuth2Client) -> Self {
        Self {
            client,
            scope: None,
            credentials: RwLock::new(HashMap::new()),
        }
    }

    /// Requests `scope` with the password grant.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the username and password used for `key`.
    pub fn set_credentials(&self, key: impl Into<String>, credentials: PasswordCredentials) {
        self.credentials
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.into(), credentials);
    }
}

#[async_trait]
impl TokenRefresher for PasswordGrantRefresher {
    async fn refresh(&self, key: &str, current: Option<&TokenSet>) -> Result<TokenSet> {
        if let Some(rt) = current
            .filter(|t| !t.refresh_token_expired(Utc::now()))
            .and_then(|t| t.refresh_token.as_ref())
        {
            match self.client.refresh_token_grant(rt, None).await {
                Ok(t) => return Ok(t),
                // A rejected refresh token (expired session): fall back to the password.
                Err(e) if e.kind() == ErrorKind::Auth => {
                    tracing::debug!(
                        tenant = key,
                        "refresh token rejected; using the password grant"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        let creds = self
            .credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
            .ok_or_else(|| Error::auth(format!("no password credentials for tenant {key}")))?;
        self.client
            .password_grant(&creds, self.scope.as_deref())
            .await
    }
}
