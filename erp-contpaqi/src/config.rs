//! [`ContpaqiConfig`]: where the bridge is, its API key, how jobs are polled, and which conceptos and series
//! the company uses for each kind of document.

use std::fmt;
use std::time::Duration;

use erp_hub_core::http::RetryPolicy;
use erp_hub_core::{Error, Result};
use secrecy::SecretString;
use url::Url;

/// How a job is waited for: `GET /v1/jobs/{id}` after `first`, doubling up to `max`, for at most `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// First wait.
    pub first: Duration,
    /// Longest wait between two polls.
    pub max: Duration,
    /// Give up (with [`Uncertain`](erp_hub_core::ErrorKind::Uncertain): the job may still run) after this.
    pub timeout: Duration,
}

impl PollPolicy {
    /// A policy.
    pub const fn new(first: Duration, max: Duration, timeout: Duration) -> Self {
        Self {
            first,
            max,
            timeout,
        }
    }
}

impl Default for PollPolicy {
    /// 100 ms, doubling to 2 s, for 2 minutes (the SDK is single-threaded: a queue of invoices takes a while).
    fn default() -> Self {
        Self::new(
            Duration::from_millis(100),
            Duration::from_secs(2),
            Duration::from_secs(120),
        )
    }
}

/// The CONTPAQi conceptos (`CCODIGOCONCEPTO`) and series used for each document erp-hub writes. They are
/// configured per company in CONTPAQi; the defaults are those of a freshly created company.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conceptos {
    /// Factura (cargo). Default `"4"`.
    pub factura: String,
    /// Serie of facturas. Default `"F"`.
    pub serie_factura: String,
    /// Nota de crédito (abono). Default `"7"`.
    pub nota_credito: String,
    /// Serie of notas de crédito. Default `"NC"`.
    pub serie_nota_credito: String,
    /// Pago de cliente (abono, complemento de pago). Default `"13"`.
    pub pago: String,
    /// Serie of pagos. Default `"P"`.
    pub serie_pago: String,
    /// Producto used for invoice lines without an item. Default `"SERVICIO"`; it must exist in the catalogue.
    pub producto_generico: String,
}

impl Default for Conceptos {
    fn default() -> Self {
        Self {
            factura: "4".into(),
            serie_factura: "F".into(),
            nota_credito: "7".into(),
            serie_nota_credito: "NC".into(),
            pago: "13".into(),
            serie_pago: "P".into(),
            producto_generico: "SERVICIO".into(),
        }
    }
}

/// Connection settings for one bridge (one CONTPAQi company).
///
/// ```
/// use erp_contpaqi::ContpaqiConfig;
/// let config = ContpaqiConfig::new("http://contpaqi-agent.local:8723", "key-from-the-agent".into())?;
/// assert_eq!(config.jobs_url().as_str(), "http://contpaqi-agent.local:8723/v1/jobs");
/// assert!(!format!("{config:?}").contains("key-from-the-agent"));
/// # Ok::<(), erp_hub_core::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ContpaqiConfig {
    /// The bridge's base URL (without `/v1`).
    pub base_url: Url,
    /// The API key the agent was configured with (sent as `Authorization: Bearer`).
    pub api_key: SecretString,
    /// Job polling.
    pub poll: PollPolicy,
    /// Retries of single HTTP requests (connect errors, `5xx` of replay-safe requests, `429`).
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Conceptos and series.
    pub conceptos: Conceptos,
}

impl fmt::Debug for ContpaqiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContpaqiConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("poll", &self.poll)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("conceptos", &self.conceptos)
            .finish()
    }
}

impl ContpaqiConfig {
    /// Settings for the bridge at `base_url`.
    ///
    /// # Errors
    /// [`Error::Config`] when `base_url` is not an `http(s)` URL.
    pub fn new(base_url: &str, api_key: SecretString) -> Result<Self> {
        let mut base_url = Url::parse(base_url)
            .map_err(|e| Error::config(format!("CONTPAQi bridge base_url {base_url:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::config(format!(
                "CONTPAQi bridge base_url must be http(s), got {base_url}"
            )));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        Ok(Self {
            base_url,
            api_key,
            poll: PollPolicy::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            conceptos: Conceptos::default(),
        })
    }

    /// Sets the polling policy.
    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Sets the HTTP retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the conceptos and series.
    #[must_use]
    pub fn with_conceptos(mut self, conceptos: Conceptos) -> Self {
        self.conceptos = conceptos;
        self
    }

    fn url(&self, path: &str) -> Url {
        // `path` is a constant of this crate or a percent-encoded job id: joining cannot fail.
        self.base_url
            .join(path)
            .unwrap_or_else(|_| self.base_url.clone())
    }

    /// `…/v1/jobs`.
    pub fn jobs_url(&self) -> Url {
        self.url("v1/jobs")
    }

    /// `…/v1/jobs/{id}` (the id percent-encoded).
    pub fn job_url(&self, job_id: &str) -> Url {
        let mut url = self.jobs_url();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.push(job_id);
        }
        url
    }

    /// `…/v1/health`.
    pub fn health_url(&self) -> Url {
        self.url("v1/health")
    }

    /// `…/v1/changes`.
    pub fn changes_url(&self) -> Url {
        self.url("v1/changes")
    }
}
