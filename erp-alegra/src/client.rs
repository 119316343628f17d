//! [`AlegraClient`]: HTTP Basic auth, rate limits, error mapping, paging.
//!
//! Every call sends `Authorization: Basic base64(email:token)`, built once into a secret header value: the
//! token never appears in `Debug` output or logs. Limits are per **user** (the e-mail): 150 requests per
//! minute, enforced on the client side with erp-hub-core's limiter and fed by every response's
//! `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` (seconds left in the window), so a budget of zero makes the
//! next request wait for the reset instead of drawing a `429`. A `429` is retried by erp-hub-core's
//! `HttpClient` for every request (a throttled request was not applied); when retries run out it is
//! [`Error::RateLimited`] with the reset delay.
//!
//! Alegra has no idempotency header: writes are **not** replay-safe, so a `5xx` or a lost answer to a `POST`
//! is [`Error::Uncertain`] and the adapter looks the record up by its external reference before any re-send
//! (see [`entities`](crate::entities)).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use erp_hub_core::http::{
    HeaderMap, HttpClient, HttpResponse, Method, RateLimitConfig, RateLimitUpdate, RateLimits,
    Replay, RequestSpec, TokenUse,
};
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::AlegraConfig;
use crate::error::map_error;
use crate::wire::{Company, Page};

/// The rate-limit headers of one Alegra response ("Límite de request").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlegraRateHeaders {
    /// `X-Rate-Limit-Limit`: requests allowed per window.
    pub limit: Option<u32>,
    /// `X-Rate-Limit-Remaining`: requests left in this window.
    pub remaining: Option<u32>,
    /// `X-Rate-Limit-Reset`: time until the window resets.
    pub reset: Option<Duration>,
}

impl AlegraRateHeaders {
    /// Reads the headers (absent or malformed values are `None`).
    pub fn parse(headers: &HeaderMap) -> Self {
        let int =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let small = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            limit: int("x-rate-limit-limit").map(small),
            remaining: int("x-rate-limit-remaining").map(small),
            reset: int("x-rate-limit-reset").map(Duration::from_secs),
        }
    }
}

/// The limiter update of one response, for erp-hub-core's `HttpClient` header hook.
pub(crate) fn rate_update(headers: &HeaderMap) -> Option<RateLimitUpdate> {
    let h = AlegraRateHeaders::parse(headers);
    h.remaining.map(|r| RateLimitUpdate::new(Some(r), h.reset))
}

/// The Alegra side of one user's credentials: HTTP, auth, limits. Cheap to clone.
///
/// ```no_run
/// # use erp_alegra::{AlegraClient, AlegraConfig};
/// # async fn demo() -> erp_hub_core::Result<()> {
/// let client = AlegraClient::new(AlegraConfig::new("ops@example.com", "TOKEN"))?;
/// let company = client.company().await?;
/// println!("{} ({:?})", company.name, company.country());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AlegraClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: AlegraConfig,
    http: HttpClient,
    authorization: SecretString,
}

impl fmt::Debug for AlegraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlegraClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// One API call (internal).
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    /// The request cannot apply twice (a `PUT` of a whole record): 5xx answers may be retried.
    pub(crate) idempotent: bool,
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
            idempotent: true,
            entity,
            id: id.into(),
        }
    }

    pub(crate) fn write<T: Serialize + ?Sized>(
        method: Method,
        path: impl Into<String>,
        body: &T,
        entity: &'static str,
        id: impl Into<String>,
    ) -> Result<Self> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::invalid(entity, format!("cannot serialise the request: {e}")))?;
        Ok(Self {
            idempotent: method == Method::PUT,
            method,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            entity,
            id: id.into(),
        })
    }

    pub(crate) fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_owned(), v.into()));
        self
    }
}

impl AlegraClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid base URL, e-mail, page size or limits.
    pub fn new(config: AlegraConfig) -> Result<Self> {
        config.check()?;
        let limits = RateLimitConfig::new(
            config.limits.per_minute,
            Duration::from_secs(60),
            config.limits.in_flight,
        )?;
        let http = HttpClient::builder()
            .timeout(config.timeout)
            .retry_policy(config.retry.clone())
            .rate_limits(Arc::new(RateLimits::new(limits)))
            .rate_limit_headers(Arc::new(rate_update))
            .build()?;
        let basic = STANDARD.encode(format!("{}:{}", config.email, config.token.expose_secret()));
        Ok(Self {
            inner: Arc::new(Inner {
                authorization: SecretString::from(format!("Basic {basic}")),
                config,
                http,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AlegraConfig {
        &self.inner.config
    }

    /// `GET /company`: the company these credentials belong to.
    ///
    /// # Errors
    /// [`Error::Auth`] for a wrong e-mail or token; transport errors.
    pub async fn company(&self) -> Result<Company> {
        self.get_json(Call::get("/company", "company", "")).await
    }

    /// Sends one call and returns the 2xx response, or the mapped error.
    pub(crate) async fn call(&self, call: Call) -> Result<HttpResponse> {
        let inner = &self.inner;
        let url = format!("{}{}", inner.config.api_base_url, call.path);
        let mut spec = RequestSpec::new(call.method.clone(), &url)?
            .tenant(inner.config.email.clone())
            .token(TokenUse::None)
            .header("accept", "application/json")?
            .secret_header("authorization", &inner.authorization)?;
        if !call.query.is_empty() {
            let pairs: Vec<(&str, &str)> = call
                .query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            spec = spec.query(&pairs);
        }
        if let Some(body) = &call.body {
            spec = spec.body("application/json", body.clone())?;
        }
        if call.idempotent && call.method != Method::GET {
            spec = spec.replay(Replay::Safe);
        }
        let resp = inner.http.send(spec).await?;
        if resp.is_success() {
            return Ok(resp);
        }
        let err = map_error(&resp, call.entity, &call.id);
        if resp.status().as_u16() == 429 {
            let h = AlegraRateHeaders::parse(resp.headers());
            tracing::warn!(
                remaining = h.remaining,
                reset_s = h.reset.map(|d| d.as_secs()),
                "Alegra rate limit still hit after retries"
            );
        }
        Err(err)
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.call(call).await?.json()
    }

    /// One page of a list endpoint (`start`, `limit`, `metadata=true`, ordered by id).
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        entity: &'static str,
        start: u64,
        ascending: bool,
        filters: &[(&str, String)],
    ) -> Result<Page<T>> {
        let mut call = Call::get(path, entity, "")
            .query("start", start.to_string())
            .query("limit", self.inner.config.page_size.to_string())
            .query("metadata", "true")
            .query("order_field", "id")
            .query("order_direction", if ascending { "ASC" } else { "DESC" });
        for (k, v) in filters {
            call = call.query(k, v.clone());
        }
        self.get_json(call).await
    }

    pub(crate) fn page_size(&self) -> u64 {
        u64::from(self.inner.config.page_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rate_limit_headers() {
        let mut h = HeaderMap::new();
        h.insert("X-Rate-Limit-Limit", "150".parse().unwrap());
        h.insert("X-Rate-Limit-Remaining", "0".parse().unwrap());
        h.insert("X-Rate-Limit-Reset", "17".parse().unwrap());
        let p = AlegraRateHeaders::parse(&h);
        assert_eq!(p.limit, Some(150));
        assert_eq!(p.remaining, Some(0));
        assert_eq!(p.reset, Some(Duration::from_secs(17)));
        let u = rate_update(&h).unwrap();
        assert_eq!(u.remaining, Some(0));
        assert_eq!(u.reset_after, Some(Duration::from_secs(17)));
        assert!(rate_update(&HeaderMap::new()).is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = AlegraClient::new(AlegraConfig::new("a@b.mx", "SECRET-TOKEN")).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET-TOKEN"));
        assert!(!shown.contains(&STANDARD.encode("a@b.mx:SECRET-TOKEN")));
    }
}
