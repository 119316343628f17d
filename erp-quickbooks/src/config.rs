//! Adapter configuration: environment, realm, app credentials, tax mode, limits.

use std::fmt;
use std::time::Duration;

use erp_hub_core::http::{RateLimitConfig, RetryPolicy};
use erp_hub_core::{Error, Result};
use secrecy::SecretString;

/// The minor version sent on every call. Intuit ignores 1–74 since 2025-08-01; 75 is the floor and default.
pub const MINOR_VERSION: u32 = 75;

/// Intuit's OAuth2 authorization endpoint.
pub const AUTHORIZATION_URL: &str = "https://appcenter.intuit.com/connect/oauth2";
/// Intuit's OAuth2 token endpoint.
pub const TOKEN_URL: &str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer";
/// Production API host.
pub const PRODUCTION_URL: &str = "https://quickbooks.api.intuit.com";
/// Sandbox API host.
pub const SANDBOX_URL: &str = "https://sandbox-quickbooks.api.intuit.com";
/// The accounting scope.
pub const ACCOUNTING_SCOPE: &str = "com.intuit.quickbooks.accounting";

/// Which QuickBooks Online API host to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://quickbooks.api.intuit.com`.
    Production,
    /// `https://sandbox-quickbooks.api.intuit.com`.
    Sandbox,
    /// Any other base URL (a mock server, a proxy), with its own token endpoint.
    Custom {
        /// API base URL (without `/v3/...`).
        api_base: String,
        /// OAuth2 token endpoint.
        token_url: String,
    },
}

impl Environment {
    /// The API base URL.
    pub fn api_base(&self) -> &str {
        match self {
            Self::Production => PRODUCTION_URL,
            Self::Sandbox => SANDBOX_URL,
            Self::Custom { api_base, .. } => api_base.trim_end_matches('/'),
        }
    }

    /// The OAuth2 token endpoint.
    pub fn token_url(&self) -> &str {
        match self {
            Self::Production | Self::Sandbox => TOKEN_URL,
            Self::Custom { token_url, .. } => token_url,
        }
    }
}

/// How the company computes sales tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaxMode {
    /// US companies with Automated Sales Tax: lines carry the pseudo codes `TAX` / `NON`, QuickBooks computes
    /// the tax from the ship-to address.
    Us,
    /// Non-US ("Global") companies, including QuickBooks Online México: every line carries a real TaxCode id
    /// from [`AccountMapping::tax_codes`](erp_hub_core::model::AccountMapping::tax_codes), the transaction sets `GlobalTaxCalculation`.
    Global,
}

/// Everything the adapter needs for one company (realm). `Debug` redacts the client secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct QuickBooksConfig {
    /// Production, sandbox or a custom base URL.
    pub environment: Environment,
    /// The company id (`realmId` from the OAuth callback).
    pub realm_id: String,
    /// The app's OAuth2 client id.
    pub client_id: String,
    /// The app's OAuth2 client secret.
    pub client_secret: SecretString,
    /// The redirect URI registered for the app (for the authorization-code flow).
    pub redirect_uri: Option<String>,
    /// US (Automated Sales Tax) or Global tax model.
    pub tax_mode: TaxMode,
    /// Item used for lines without an item (QuickBooks requires an `ItemRef` on sales lines). Default `1`
    /// (the "Services" item of a new company).
    pub default_item_id: String,
    /// Send our computed tax total as `TxnTaxDetail.TotalTax` in Global mode, so QuickBooks books the exact
    /// amounts our tax engine computed (default `true`). Set `false` to let QuickBooks compute from the codes.
    pub send_computed_tax: bool,
    /// Minor version sent on every call (default [`MINOR_VERSION`]).
    pub minor_version: u32,
    /// Requests per minute and in flight per realm (default 500 / 10).
    pub rate_limit: RateLimitConfig,
    /// Batch requests per minute per realm (default 120).
    pub batch_rate_limit: RateLimitConfig,
    /// Retry policy of the HTTP client.
    pub retry: RetryPolicy,
    /// Per-attempt timeout (default 30 s).
    pub timeout: Duration,
}

impl fmt::Debug for QuickBooksConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuickBooksConfig")
            .field("environment", &self.environment)
            .field("realm_id", &self.realm_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .field("tax_mode", &self.tax_mode)
            .field("minor_version", &self.minor_version)
            .finish_non_exhaustive()
    }
}

impl QuickBooksConfig {
    /// A configuration with the defaults (US tax mode, 500 req/min + 10 in flight, 120 batch req/min).
    ///
    /// # Errors
    /// [`Error::Config`] for an empty realm id or client id.
    pub fn new(
        environment: Environment,
        realm_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Result<Self> {
        let realm_id = realm_id.into();
        let client_id = client_id.into();
        if realm_id.is_empty() || !realm_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::config("realm id must be non-empty and alphanumeric"));
        }
        if client_id.is_empty() {
            return Err(Error::config("client id must not be empty"));
        }
        Ok(Self {
            environment,
            realm_id,
            client_id,
            client_secret: client_secret.into(),
            redirect_uri: None,
            tax_mode: TaxMode::Us,
            default_item_id: "1".into(),
            send_computed_tax: true,
            minor_version: MINOR_VERSION,
            rate_limit: RateLimitConfig::new(500, Duration::from_secs(60), 10)?,
            batch_rate_limit: RateLimitConfig::new(120, Duration::from_secs(60), 10)?,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
        })
    }

    /// The API and the token endpoint under one base URL, for a sandbox proxy, a mock or a recording server:
    /// `{base}/v3/company/{realm}/…` and `{base}/oauth2/v1/tokens/bearer` ([`Environment::Custom`]). One call
    /// moves both, so tokens are never refreshed at the real Intuit endpoint by mistake; for another layout set
    /// [`Environment::Custom`] with both URLs.
    #[must_use]
    pub fn with_base_url(mut self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.environment = Environment::Custom {
            api_base: base.to_owned(),
            token_url: format!("{base}/oauth2/v1/tokens/bearer"),
        };
        self
    }

    /// The same configuration with another tax mode.
    #[must_use]
    pub fn with_tax_mode(mut self, mode: TaxMode) -> Self {
        self.tax_mode = mode;
        self
    }

    /// The same configuration with a redirect URI.
    #[must_use]
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The same configuration with another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// `{api_base}/v3/company/{realm}`.
    pub fn company_url(&self) -> String {
        format!(
            "{}/v3/company/{}",
            self.environment.api_base(),
            self.realm_id
        )
    }
}
