//! [`QuickBooksClient`]: the REST layer over erp-hub-core's [`HttpClient`].
//!
//! Every call goes to `{base}/v3/company/{realm}/...` with `minorversion=75`, `Accept: application/json`, the
//! realm's bearer token and rate limiter; writes carry `requestid` (see [`request_id`]). The `intuit_tid`
//! response header is recorded on the `qbo.call` tracing span (quote it to Intuit support).

use std::collections::HashMap;
use std::sync::Arc;

use erp_hub_core::adapter::IdempotencyKey;
use erp_hub_core::http::{
    ClientCredentials, HttpClient, Method, OAuth2Client, RateLimits, RequestSpec, TokenManager,
    TokenStore,
};
use erp_hub_core::{Error, Result};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::config::QuickBooksConfig;
use crate::error::{Fault, response_error};

/// The longest `requestid` Intuit accepts, and the longest key sent as is (longer keys are hashed).
/// Source: Intuit developer blog "Request ID update for QuickBooks Online integration" (2015-04-06): at most
/// 50 characters, 36 for batch requests (whose `bId`s may then hold at most 10 characters).
pub const MAX_REQUEST_ID_LEN: usize = 50;

/// The longest `requestid` of a batch request.
pub const MAX_BATCH_REQUEST_ID_LEN: usize = 36;

/// The `requestid` for a write made with `key`: the key itself when it is at most [`MAX_REQUEST_ID_LEN`]
/// characters of `[A-Za-z0-9._-]`, otherwise `h` + the first 48 hex digits of SHA-256(key).
pub fn request_id(key: &IdempotencyKey) -> String {
    let k = key.as_str();
    if k.len() <= MAX_REQUEST_ID_LEN
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        k.to_owned()
    } else {
        hashed(k)
    }
}

/// The `requestid` of a follow-up write of one logical operation (e.g. the update after a duplicate, or the
/// payment that applies a credit memo): `h` + 48 hex digits of SHA-256(key + `#` + step). Stable across
/// retries of the same key, distinct from [`request_id`].
pub fn derived_request_id(key: &IdempotencyKey, step: &str) -> String {
    hashed(&format!("{}#{step}", key.as_str()))
}

/// The `requestid` of a batch request made with `key`: `h` + 35 hex digits of SHA-256(key + `#` + step)
/// ([`MAX_BATCH_REQUEST_ID_LEN`] characters).
pub fn batch_request_id(key: &IdempotencyKey, step: &str) -> String {
    let mut id = hashed(&format!("{}#{step}", key.as_str()));
    id.truncate(MAX_BATCH_REQUEST_ID_LEN);
    id
}

fn hashed(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(49);
    out.push('h');
    for b in digest.iter().take(24) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A successful response body.
#[derive(Clone)]
pub struct QboResponse {
    body: Vec<u8>,
}

impl std::fmt::Debug for QboResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QboResponse")
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn bad_body(e: impl std::fmt::Display) -> Error {
    Error::transient(format!("unexpected QuickBooks response: {e}"))
}

impl QboResponse {
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as a JSON value (for [`RemoteRecord::raw`](erp_hub_core::adapter::RemoteRecord)).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The object under `key` (e.g. `Customer` in `{"Customer": {...}, "time": ...}`).
    ///
    /// # Errors
    /// [`Error::Transient`] when the key is missing or does not parse.
    pub fn entity<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let top: HashMap<String, Box<RawValue>> =
            serde_json::from_slice(&self.body).map_err(bad_body)?;
        let raw = top
            .get(key)
            .ok_or_else(|| bad_body(format!("no {key} in the response")))?;
        serde_json::from_str(raw.get()).map_err(bad_body)
    }

    /// The rows of `entity` in a `QueryResponse` (empty when there are none).
    ///
    /// # Errors
    /// [`Error::Transient`] when the body does not parse.
    pub fn query_rows<T: DeserializeOwned>(&self, entity: &str) -> Result<Vec<T>> {
        let top: HashMap<String, Box<RawValue>> =
            serde_json::from_slice(&self.body).map_err(bad_body)?;
        let Some(qr) = top.get("QueryResponse") else {
            return Err(bad_body("no QueryResponse"));
        };
        let qr: HashMap<String, Box<RawValue>> =
            serde_json::from_str(qr.get()).map_err(bad_body)?;
        match qr.get(entity) {
            Some(rows) => serde_json::from_str(rows.get()).map_err(bad_body),
            None => Ok(Vec::new()),
        }
    }
}

/// The QuickBooks Online REST client for one realm.
#[derive(Clone)]
pub struct QuickBooksClient {
    config: Arc<QuickBooksConfig>,
    http: HttpClient,
    batch_http: HttpClient,
    tokens: Arc<TokenManager>,
    oauth: OAuth2Client,
}

impl std::fmt::Debug for QuickBooksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickBooksClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl QuickBooksClient {
    /// A client for `config.realm_id`, with tokens kept in `store` under the realm id.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid URLs, a minor version below 75, or when the HTTP client cannot be built.
    pub fn new(config: QuickBooksConfig, store: Arc<dyn TokenStore>) -> Result<Self> {
        if config.minor_version < crate::config::MINOR_VERSION {
            return Err(Error::config(format!(
                "minorversion {} is below {}, the floor Intuit enforces since 2025-08-01",
                config.minor_version,
                crate::config::MINOR_VERSION
            )));
        }
        let reqwest = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("erp-quickbooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("cannot build HTTP client: {e}")))?;
        let oauth = OAuth2Client::with_http_client(
            reqwest.clone(),
            config.environment.token_url(),
            ClientCredentials::new(
                config.client_id.clone(),
                config.client_secret.expose_secret().to_owned(),
            ),
        )?;
        let tokens = Arc::new(TokenManager::new(store, Arc::new(oauth.clone())));
        let http = HttpClient::builder()
            .reqwest_client(reqwest.clone())
            .retry_policy(config.retry.clone())
            .rate_limits(Arc::new(RateLimits::new(config.rate_limit)))
            .token_manager(Arc::clone(&tokens))
            .build()?;
        let batch_http = HttpClient::builder()
            .reqwest_client(reqwest)
            .retry_policy(config.retry.clone())
            .rate_limits(Arc::new(RateLimits::new(config.batch_rate_limit)))
            .token_manager(Arc::clone(&tokens))
            .build()?;
        Ok(Self {
            config: Arc::new(config),
            http,
            batch_http,
            tokens,
            oauth,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QuickBooksConfig {
        &self.config
    }

    /// The token manager (single-flight refresh, rotation persisted before use).
    pub fn tokens(&self) -> &Arc<TokenManager> {
        &self.tokens
    }

    /// The OAuth2 client for Intuit's token endpoint.
    pub fn oauth(&self) -> &OAuth2Client {
        &self.oauth
    }

    fn spec(&self, method: Method, path: &str, query: &[(&str, &str)]) -> Result<RequestSpec> {
        let url = format!("{}/{path}", self.config.company_url());
        let minor = self.config.minor_version.to_string();
        let spec = RequestSpec::new(method, &url)?
            .tenant(self.config.realm_id.clone())
            .header("Accept", "application/json")?
            .query(query)
            .query(&[("minorversion", minor.as_str())]);
        Ok(spec)
    }

    async fn send(&self, spec: RequestSpec, batch: bool) -> Result<QboResponse> {
        let span = tracing::info_span!(
            "qbo.call",
            realm = %self.config.realm_id,
            method = %spec.method(),
            path = %spec.url().path(),
            intuit_tid = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        async move {
            let resp = if batch {
                // A batch request counts against both the 500/min + 10 in flight budget and the 120/min batch one.
                let _main = match self.http.rate_limits() {
                    Some(l) => Some(l.acquire(&self.config.realm_id).await?),
                    None => None,
                };
                self.batch_http.send(spec).await?
            } else {
                self.http.send(spec).await?
            };
            let span = tracing::Span::current();
            if let Some(tid) = resp
                .headers()
                .get("intuit_tid")
                .and_then(|v| v.to_str().ok())
            {
                span.record("intuit_tid", tid);
            }
            span.record("status", resp.status().as_u16());
            let status = resp.status().as_u16();
            tracing::debug!(status, "QuickBooks answered");
            if !resp.is_success() {
                let err =
                    response_error(status, resp.headers(), resp.body(), resp.was_replay_safe());
                tracing::debug!(status, error = %err, "QuickBooks fault");
                return Err(err);
            }
            if let Some(f) = Fault::parse(resp.body()) {
                return Err(f.to_error(status, None, resp.was_replay_safe()));
            }
            Ok(QboResponse {
                body: resp.into_body(),
            })
        }
        .instrument(span)
        .await
    }

    /// `GET /{entity}/{id}`.
    ///
    /// An empty `id` reads a singleton (`GET /preferences`).
    ///
    /// # Errors
    /// Mapped faults (see [`crate::error`]); [`Error::Validation`] for an id that is not alphanumeric.
    pub async fn read(&self, entity: &str, id: &str) -> Result<QboResponse> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::invalid("id", "QuickBooks ids are alphanumeric"));
        }
        let lower = entity.to_ascii_lowercase();
        let path = if id.is_empty() {
            lower
        } else {
            format!("{lower}/{id}")
        };
        self.send(self.spec(Method::GET, &path, &[])?, false)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::not_found(entity, id),
                other => other,
            })
    }

    /// `GET /companyinfo/{realm}`.
    ///
    /// # Errors
    /// Mapped faults.
    pub async fn company_info(&self) -> Result<QboResponse> {
        let path = format!("companyinfo/{}", self.config.realm_id);
        self.send(self.spec(Method::GET, &path, &[])?, false).await
    }

    /// `GET /query?query=...`.
    ///
    /// # Errors
    /// Mapped faults.
    pub async fn query(&self, sql: &str) -> Result<QboResponse> {
        self.send(self.spec(Method::GET, "query", &[("query", sql)])?, false)
            .await
    }

    /// Runs `SELECT * FROM {entity} [WHERE ...]` page by page (`STARTPOSITION`/`MAXRESULTS`, `page_size` ≤ 1000)
    /// and returns every row.
    ///
    /// # Errors
    /// Mapped faults; [`Error::Validation`] for a page size of 0 or above 1000.
    pub async fn query_all<T: DeserializeOwned>(
        &self,
        entity: &str,
        where_clause: Option<&str>,
        page_size: u32,
    ) -> Result<Vec<T>> {
        if page_size == 0 || page_size > 1000 {
            return Err(Error::invalid("page_size", "must be 1..=1000"));
        }
        let mut out = Vec::new();
        let mut start: u64 = 1;
        loop {
            let sql = format!(
                "SELECT * FROM {entity}{} ORDERBY Id STARTPOSITION {start} MAXRESULTS {page_size}",
                where_clause
                    .map(|w| format!(" WHERE {w}"))
                    .unwrap_or_default()
            );
            let rows: Vec<T> = self.query(&sql).await?.query_rows(entity)?;
            let n = rows.len();
            out.extend(rows);
            if n < page_size as usize {
                return Ok(out);
            }
            start += u64::from(page_size);
        }
    }

    /// `POST /{entity}?requestid=...` (create, or update when the body has `Id` + `SyncToken`).
    ///
    /// # Errors
    /// Mapped faults; [`Error::Uncertain`] when the response was lost (the same `requestid` makes a retry safe).
    pub async fn write<B: Serialize>(
        &self,
        entity: &str,
        body: &B,
        request_id: &str,
        operation: Option<&str>,
    ) -> Result<QboResponse> {
        let path = entity.to_ascii_lowercase();
        let query: Vec<(&str, &str)> = operation.map(|o| ("operation", o)).into_iter().collect();
        let spec = self
            .spec(Method::POST, &path, &query)?
            .body("application/json", crate::wire::to_body(body)?)?
            .idempotency_query("requestid", request_id);
        self.send(spec, false).await
    }

    /// `POST /upload?requestid=...`: one file as a multipart body (`file_metadata_0`: the Attachable JSON,
    /// `file_content_0`: the bytes), creating an Attachable.
    ///
    /// # Errors
    /// Mapped faults; [`Error::Uncertain`] when the response was lost (the same `requestid` makes a retry safe).
    pub async fn upload(
        &self,
        metadata: &serde_json::Value,
        file_name: &str,
        content_type: &str,
        content: &[u8],
        request_id: &str,
    ) -> Result<QboResponse> {
        let boundary = format!("erp-hub-{}", &hashed(request_id)[..16]);
        let mut body = Vec::with_capacity(content.len() + 512);
        let meta =
            serde_json::to_vec(metadata).map_err(|e| Error::invalid("metadata", e.to_string()))?;
        let name = file_name.replace(['"', '\r', '\n'], "_");
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file_metadata_0\"; filename=\"attachment.json\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
        body.extend_from_slice(&meta);
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file_content_0\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let spec = self
            .spec(Method::POST, "upload", &[])?
            .body(&format!("multipart/form-data; boundary={boundary}"), body)?
            .idempotency_query("requestid", request_id);
        self.send(spec, false).await
    }

    /// `GET /cdc?entities=...&changedSince=...`.
    ///
    /// # Errors
    /// Mapped faults.
    pub async fn cdc(&self, entities: &[&str], changed_since: &str) -> Result<QboResponse> {
        let list = entities.join(",");
        let spec = self.spec(
            Method::GET,
            "cdc",
            &[("entities", list.as_str()), ("changedSince", changed_since)],
        )?;
        self.send(spec, false).await
    }

    /// `POST /batch` with `{"BatchItemRequest": [...]}` (at most 30 items; see [`crate::batch`]).
    ///
    /// # Errors
    /// Mapped faults of the whole request.
    pub async fn batch_raw<B: Serialize>(
        &self,
        body: &B,
        request_id: Option<&str>,
    ) -> Result<QboResponse> {
        let mut spec = self
            .spec(Method::POST, "batch", &[])?
            .body("application/json", crate::wire::to_body(body)?)?;
        if let Some(rid) = request_id {
            spec = spec.idempotency_query("requestid", rid);
        }
        self.send(spec, true).await
    }
}

/// Quotes a string for a QuickBooks query literal (`'` → `\'`, `\` → `\\`).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        let k = IdempotencyKey::new("inv-42-create").unwrap();
        assert_eq!(request_id(&k), "inv-42-create");
        let long = IdempotencyKey::new("x".repeat(51)).unwrap();
        let r = request_id(&long);
        assert_eq!(r.len(), 49);
        assert!(r.starts_with('h'));
        let odd = IdempotencyKey::new("a/b").unwrap();
        assert_ne!(request_id(&odd), "a/b");
        assert_ne!(derived_request_id(&k, "update"), request_id(&k));
        assert_eq!(
            derived_request_id(&k, "update"),
            derived_request_id(&k, "update")
        );
        assert_eq!(batch_request_id(&k, "batch-0").len(), 36);
        assert_ne!(
            batch_request_id(&k, "batch-0"),
            batch_request_id(&k, "batch-1")
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("O'Brien"), "'O\\'Brien'");
    }
}
