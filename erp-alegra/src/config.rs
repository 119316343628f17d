//! [`AlegraConfig`]: credentials, base URL, limits and retry policy. Every URL is configuration, so tests and the
//! offline example point the adapter at a local mock.

use std::time::Duration;

use erp_hub_core::http::RetryPolicy;
use erp_hub_core::{Error, Result};
use secrecy::SecretString;

/// Alegra's API base URL (the same host for every country; there is no sandbox, use a demo or test company).
pub const API_BASE_URL: &str = "https://api.alegra.com/api/v1";

/// Alegra's documented page size limit (`limit` at most 30).
pub const MAX_PAGE_SIZE: u32 = 30;

/// Client-side limits. The default is Alegra's published limit ("Límite de request": 150 requests per minute
/// per user, then `429`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlegraLimits {
    /// Requests per minute per user (150).
    pub per_minute: u32,
    /// Requests in flight at once per user (Alegra documents none; 4 keeps bursts polite).
    pub in_flight: u32,
}

impl Default for AlegraLimits {
    fn default() -> Self {
        Self {
            per_minute: 150,
            in_flight: 4,
        }
    }
}

/// An Alegra user's API credentials and where to reach Alegra. `Debug` redacts the token.
///
/// The token comes from *Configuración → Integraciones → API*; "Renovar token" invalidates the old one at once,
/// after which every call fails with an [`Error::Auth`].
///
/// ```
/// # use erp_alegra::AlegraConfig;
/// let config = AlegraConfig::new("ops@example.com", "TOKEN-123");
/// let shown = format!("{config:?}");
/// assert!(shown.contains("ops@example.com"));
/// assert!(!shown.contains("TOKEN-123"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AlegraConfig {
    /// The user's e-mail (the Basic auth user name; also the key of the per-user rate limit).
    pub email: String,
    /// The API token (the Basic auth password).
    pub token: SecretString,
    /// API base URL, without a trailing slash.
    pub api_base_url: String,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// Retry policy of API calls (429 is retried for every request; 5xx only for reads).
    pub retry: RetryPolicy,
    /// Client-side rate limits.
    pub limits: AlegraLimits,
    /// Page size of list calls (`limit`), 1..=30.
    pub page_size: u32,
}

impl AlegraConfig {
    /// Credentials against the production API.
    pub fn new(email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        Self {
            email: email.into(),
            token: token.into(),
            api_base_url: API_BASE_URL.to_owned(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            limits: AlegraLimits::default(),
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Points the API somewhere else (a mock, a recording proxy): `{base}` replaces
    /// `https://api.alegra.com/api/v1`.
    #[must_use]
    pub fn with_base_url(mut self, base: impl Into<String>) -> Self {
        self.api_base_url = base.into().trim_end_matches('/').to_owned();
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
    pub fn with_limits(mut self, limits: AlegraLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the page size of list calls (1..=30; checked by [`AlegraClient::new`](crate::AlegraClient::new)).
    #[must_use]
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(Error::config(format!(
                "Alegra page_size must be 1..={MAX_PAGE_SIZE}, got {}",
                self.page_size
            )));
        }
        if self.email.is_empty() || self.email.contains(':') {
            return Err(Error::config(
                "Alegra email must be non-empty and contain no ':' (it is the Basic auth user name)",
            ));
        }
        url::Url::parse(&self.api_base_url)
            .map_err(|e| Error::config(format!("invalid Alegra API base URL: {e}")))?;
        Ok(())
    }
}
