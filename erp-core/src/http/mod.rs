//! Shared HTTP plumbing for adapters and e-invoicing clients (feature `http`, on by default).
//!
//! - [`HttpClient`]: reqwest 0.13 (rustls) with per-tenant [`RateLimits`], a [`RetryPolicy`] that only re-sends
//!   what is safe to re-send, bearer tokens from a [`TokenManager`] (one forced refresh on `401`), status → [`Error`]
//!   mapping ([`classify_status`]) and a `tracing` span per request (method, redacted URL, tenant, attempts,
//!   status; never headers or bodies).
//! - [`TokenManager`]: single-flight OAuth2 refresh over a [`TokenStore`] and a [`TokenRefresher`]
//!   ([`OAuth2Client`] for refresh-token grants, [`PasswordGrantRefresher`] for Keycloak password grants).
//!
//! # Which requests are retried
//!
//! A request is *replay-safe* when sending it twice cannot apply it twice: `GET`/`HEAD`/`OPTIONS`, or a write the
//! caller marked with [`RequestSpec::idempotency_key`], [`RequestSpec::idempotency_query`] or
//! [`Replay::Safe`]. A connect error (nothing sent) and a `429` are retried for every request. A timeout or lost
//! response, `408` and `5xx` are retried only for replay-safe requests; for any other write a lost response is
//! [`Error::Uncertain`] (reconcile before retrying) and a `5xx` maps to `Uncertain` too.
//!
//! [`wire`] holds the small helpers every adapter's JSON mapping shares (exact-decimal amounts, length checks,
//! constant-time comparison).
//!
//! Secrets ([`TokenSet`], [`ClientCredentials`], [`PasswordCredentials`]) are `secrecy` types: `Debug` redacts them
//! and they are never logged.
//!
//! [`Error`]: crate::Error
//! [`Error::Uncertain`]: crate::Error::Uncertain

mod client;
mod oauth2;
mod rate_limit;
mod retry;
mod token;
#[cfg(feature = "erp")]
pub mod wire;

pub use client::{
    DEFAULT_MAX_RESPONSE_BYTES, HttpClient, HttpClientBuilder, HttpResponse,
    IDEMPOTENCY_KEY_HEADER, RateLimitHeaderParser, Replay, RequestSpec, Sleeper, TokenUse,
    classify_status, redact_url,
};
pub use oauth2::{
    ClientAuthMethod, ClientCredentials, OAuth2Client, PasswordCredentials, PasswordGrantRefresher,
};
pub use rate_limit::{RateLimitConfig, RateLimitPermit, RateLimitUpdate, RateLimiter, RateLimits};
pub use retry::{Jitter, RetryPolicy, parse_retry_after, parse_retry_after_value};
pub use token::{InMemoryTokenStore, TokenManager, TokenRefresher, TokenSet, TokenStore};

pub use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
pub use reqwest::{Method, StatusCode, Url};
pub use secrecy::{ExposeSecret, SecretString};
