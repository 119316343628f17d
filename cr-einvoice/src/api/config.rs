//! Endpoints, timeouts and polling: sandbox and production are configuration.

use std::time::Duration;

use erp_hub_core::http::{Jitter, RateLimitConfig, RetryPolicy};

/// Hacienda's environments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// Pruebas: Keycloak realm `rut-stag`, client `api-stag`, `api-sandbox` recepción. Documents
    /// accepted here have no tax validity.
    Sandbox,
    /// Producción: realm `rut`, client `api-prod`.
    Production,
}

/// IDP token endpoint of the sandbox.
pub const SANDBOX_TOKEN_URL: &str =
    "https://idp.comprobanteselectronicos.go.cr/auth/realms/rut-stag/protocol/openid-connect/token";
/// IDP token endpoint of production.
pub const PRODUCTION_TOKEN_URL: &str =
    "https://idp.comprobanteselectronicos.go.cr/auth/realms/rut/protocol/openid-connect/token";
/// Recepción endpoint of the sandbox (`POST`; status is `GET …/recepcion/{clave}`).
pub const SANDBOX_RECEPCION_URL: &str =
    "https://api-sandbox.comprobanteselectronicos.go.cr/recepcion/v1/recepcion";
/// Recepción endpoint of production.
pub const PRODUCTION_RECEPCION_URL: &str =
    "https://api.comprobanteselectronicos.go.cr/recepcion/v1/recepcion";

/// How the status of a received document is polled until Hacienda decides.
///
/// The wait before poll `n` (1-based) is `min(max_delay, initial_delay * 2^(n-1))`; polling stops
/// with [`ApiError::Pending`](super::ApiError::Pending) after `max_polls` queries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// Wait before the first status query (default 1 s: Hacienda needs a moment).
    pub initial_delay: Duration,
    /// Upper bound of the wait between queries (default 16 s).
    pub max_delay: Duration,
    /// Status queries before giving up with `Pending` (default 12, about two and a half minutes).
    pub max_polls: u32,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(16),
            max_polls: 12,
        }
    }
}

impl PollPolicy {
    /// Sets [`initial_delay`](Self::initial_delay).
    #[must_use]
    pub fn with_initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets [`max_polls`](Self::max_polls) (at least 1).
    #[must_use]
    pub fn with_max_polls(mut self, n: u32) -> Self {
        self.max_polls = n.max(1);
        self
    }

    /// The wait before poll `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32 << n.saturating_sub(1).min(20);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// Where and how the client talks to Hacienda.
///
/// ```
/// use cr_einvoice::api::{Environment, HaciendaConfig};
/// let sandbox = HaciendaConfig::new(Environment::Sandbox);
/// assert_eq!(sandbox.client_id, "api-stag");
/// // A local mock (tests):
/// let mock = HaciendaConfig::new(Environment::Sandbox)
///     .with_urls("http://127.0.0.1:9000/token", "http://127.0.0.1:9000/recepcion/v1/recepcion");
/// assert!(mock.recepcion_url.starts_with("http://127.0.0.1"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HaciendaConfig {
    /// The environment the URLs and client id belong to.
    pub environment: Environment,
    /// Keycloak token endpoint (password and refresh-token grants).
    pub token_url: String,
    /// Keycloak client id (`api-stag` / `api-prod`; a public client, no secret).
    pub client_id: String,
    /// Recepción endpoint: documents are `POST`ed here, statuses read from `{recepcion_url}/{key}`.
    pub recepcion_url: String,
    /// Optional `callbackUrl` sent with every submission (best effort on Hacienda's side: the
    /// client always polls anyway).
    pub callback_url: Option<String>,
    /// Timeout of one HTTP attempt (default 30 s).
    pub request_timeout: Duration,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Retries of the HTTP layer. Status queries are retried on timeouts and `5xx`; the recepción
    /// `POST` is never re-sent by this layer (only after `401` + refresh, or `429`).
    pub retry: RetryPolicy,
    /// Polling until a final status.
    pub poll: PollPolicy,
    /// How long before expiry an access token is refreshed (default 30 s; Hacienda's tokens
    /// live about 5 minutes).
    pub token_skew: Duration,
    /// How many times [`submit`](super::HaciendaClient::submit) re-POSTs a document after a lost
    /// answer **and** a status lookup saying Hacienda does not know the clave (default 2).
    pub max_resubmissions: u32,
    /// Client-side limit per API user (default none: Hacienda publishes no numbers). When set,
    /// Hacienda's `X-Ratelimit-Remaining` / `X-Ratelimit-Reset` answers also pause the user's
    /// requests until the reset once the remaining budget is 0.
    pub rate_limit: Option<RateLimitConfig>,
}

impl HaciendaConfig {
    /// The official endpoints of `environment`, with default timeouts and policies.
    pub fn new(environment: Environment) -> Self {
        let (token_url, client_id, recepcion_url) = match environment {
            Environment::Sandbox => (SANDBOX_TOKEN_URL, "api-stag", SANDBOX_RECEPCION_URL),
            Environment::Production => (PRODUCTION_TOKEN_URL, "api-prod", PRODUCTION_RECEPCION_URL),
        };
        Self {
            environment,
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            recepcion_url: recepcion_url.to_owned(),
            callback_url: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default()
                .with_base_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(8))
                .with_jitter(Jitter::Full),
            poll: PollPolicy::default(),
            token_skew: Duration::from_secs(30),
            max_resubmissions: 2,
            rate_limit: None,
        }
    }

    /// The sandbox ([`Environment::Sandbox`]).
    pub fn sandbox() -> Self {
        Self::new(Environment::Sandbox)
    }

    /// Production ([`Environment::Production`]).
    pub fn production() -> Self {
        Self::new(Environment::Production)
    }

    /// Replaces the token and recepción URLs (a proxy, or a local mock in tests).
    #[must_use]
    pub fn with_urls(
        mut self,
        token_url: impl Into<String>,
        recepcion_url: impl Into<String>,
    ) -> Self {
        self.token_url = token_url.into();
        self.recepcion_url = recepcion_url.into();
        self
    }

    /// Sets [`callback_url`](Self::callback_url).
    #[must_use]
    pub fn with_callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`poll`](Self::poll).
    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Sets [`token_skew`](Self::token_skew).
    #[must_use]
    pub fn with_token_skew(mut self, skew: Duration) -> Self {
        self.token_skew = skew;
        self
    }

    /// Sets [`rate_limit`](Self::rate_limit).
    #[must_use]
    pub fn with_rate_limit(mut self, limit: RateLimitConfig) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Sets [`max_resubmissions`](Self::max_resubmissions).
    #[must_use]
    pub fn with_max_resubmissions(mut self, n: u32) -> Self {
        self.max_resubmissions = n;
        self
    }
}
