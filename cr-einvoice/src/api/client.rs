//! [`HaciendaClient`]: tokens, recepción `POST`, status queries, polling and the resubmission rule.

use std::fmt;
use std::sync::Arc;

use erp_hub_core::http::{
    ClientCredentials, HeaderMap, HttpClient, HttpResponse, InMemoryTokenStore, OAuth2Client,
    PasswordCredentials, PasswordGrantRefresher, RateLimitUpdate, RateLimits, Replay, RequestSpec,
    StatusCode, TokenManager, TokenStore,
};
use tracing::Instrument;

use super::config::HaciendaConfig;
use super::error::{ApiError, ApiErrorKind, CauseKind, ErrorCause};
use super::recepcion::Envio;
use super::status::{Estado, Outcome, StatusResponse};

const USER_AGENT: &str = concat!("cr-einvoice/", env!("CARGO_PKG_VERSION"));

/// How a submission reached Hacienda (see [`HaciendaClient::submit_no_wait`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Receipt {
    /// `POST` answered `202` (or `201`): received, decision pending.
    Accepted {
        /// The status key.
        key: String,
        /// `POST`s made (more than 1 only after lost answers and `404` lookups).
        posts: u32,
    },
    /// `POST` answered `400` "ya fue recibido anteriormente": Hacienda already held the clave.
    AlreadyReceived {
        /// The status key.
        key: String,
        /// `POST`s made.
        posts: u32,
        /// Hacienda's cause text.
        cause: ErrorCause,
    },
    /// The `POST`'s answer was lost (timeout, `5xx`); the status lookup that followed found the
    /// document.
    Reconciled {
        /// The status key.
        key: String,
        /// `POST`s made.
        posts: u32,
        /// The status found.
        status: Box<StatusResponse>,
    },
}

impl Receipt {
    /// The status key.
    pub fn key(&self) -> &str {
        match self {
            Receipt::Accepted { key, .. }
            | Receipt::AlreadyReceived { key, .. }
            | Receipt::Reconciled { key, .. } => key,
        }
    }

    /// `POST`s made.
    pub fn posts(&self) -> u32 {
        match self {
            Receipt::Accepted { posts, .. }
            | Receipt::AlreadyReceived { posts, .. }
            | Receipt::Reconciled { posts, .. } => *posts,
        }
    }
}

/// What one `POST` did.
enum Posted {
    Accepted,
    AlreadyReceived(ErrorCause),
    /// Sent, answer lost or `5xx`: may or may not have been received.
    Lost(String),
}

struct Inner {
    config: HaciendaConfig,
    http: HttpClient,
    refresher: Arc<PasswordGrantRefresher>,
}

/// A client of Hacienda's recepción API for one API user (tenant). Cheap to clone; clones and
/// [`with_tenant`](Self::with_tenant) share connections, the token manager and its store.
///
/// Tokens come from erp-hub-core's single-flight [`TokenManager`] with a
/// [`PasswordGrantRefresher`] (password grant, then refresh-token grant while the Keycloak session
/// lasts): any number of concurrent calls on an expired token cause one token request, and a `401`
/// from recepción forces exactly one refresh.
///
/// ```no_run
/// # async fn demo(signed_xml: Vec<u8>) -> Result<(), cr_einvoice::api::ApiError> {
/// use cr_einvoice::api::{Envio, HaciendaClient, HaciendaConfig, PasswordCredentials};
/// let client = HaciendaClient::new(
///     HaciendaConfig::sandbox(),
///     PasswordCredentials::new("cpf-01-0000-0000@stag.comprobanteselectronicos.go.cr", "password"),
/// )?;
/// let outcome = client.submit(&Envio::comprobante(&signed_xml)?).await?;
/// if outcome.is_rechazado() {
///     eprintln!("rechazado: {}", outcome.detalle_mensaje().unwrap_or(""));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HaciendaClient {
    inner: Arc<Inner>,
    tenant: String,
}

impl fmt::Debug for HaciendaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaciendaClient")
            .field("tenant", &self.tenant)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`HaciendaClient`].
pub struct HaciendaClientBuilder {
    config: HaciendaConfig,
    credentials: Option<PasswordCredentials>,
    tenant: Option<String>,
    store: Option<Arc<dyn TokenStore>>,
}

impl fmt::Debug for HaciendaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaciendaClientBuilder")
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl HaciendaClientBuilder {
    /// The API user (ATV / TRIBU-CR "usuario de API") and its password.
    #[must_use]
    pub fn credentials(mut self, credentials: PasswordCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The key of this user's tokens in the store (default: the username).
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Where tokens are kept (default: in memory). A durable store lets several runs reuse a
    /// token instead of logging in each time; it must save durably before returning.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ApiError::Http`] (config) for invalid URLs or when the HTTP client cannot be built;
    /// [`ApiError::InvalidInput`] without credentials.
    pub fn build(self) -> Result<HaciendaClient, ApiError> {
        let credentials = self.credentials.ok_or_else(|| {
            ApiError::InvalidInput("the client needs the API user's credentials".into())
        })?;
        let tenant = self.tenant.unwrap_or_else(|| credentials.username.clone());
        let c = &self.config;
        erp_hub_core::http::Url::parse(&c.recepcion_url).map_err(|e| {
            ApiError::Http(erp_hub_core::Error::config(format!(
                "invalid recepción URL: {e}"
            )))
        })?;
        // One reqwest client (connection pool) for the IDP and recepción.
        let base = HttpClient::builder()
            .timeout(c.request_timeout)
            .connect_timeout(c.connect_timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(ApiError::Http)?;
        let reqwest = base.reqwest_client().clone();
        let oauth = OAuth2Client::with_http_client(
            reqwest.clone(),
            &c.token_url,
            ClientCredentials::public(c.client_id.clone()),
        )
        .map_err(ApiError::Http)?;
        let refresher = Arc::new(PasswordGrantRefresher::new(oauth));
        refresher.set_credentials(tenant.clone(), credentials);
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(InMemoryTokenStore::new()));
        let tokens =
            Arc::new(TokenManager::new(store, Arc::clone(&refresher) as _).with_skew(c.token_skew));
        let mut http = HttpClient::builder()
            .reqwest_client(reqwest)
            .retry_policy(c.retry.clone())
            .token_manager(tokens);
        if let Some(limit) = c.rate_limit {
            http = http
                .rate_limits(Arc::new(RateLimits::new(limit)))
                .rate_limit_headers(Arc::new(rate_limit_headers));
        }
        let http = http.build().map_err(ApiError::Http)?;
        Ok(HaciendaClient {
            inner: Arc::new(Inner {
                config: self.config,
                http,
                refresher,
            }),
            tenant,
        })
    }
}

/// Hacienda's `X-Ratelimit-Remaining` and `X-Ratelimit-Reset`. The reset is documented as "UTC
/// epoch seconds" but described as the time left: values that look like an epoch (after 2001) are
/// read as one, smaller values as seconds from now.
fn rate_limit_headers(headers: &HeaderMap) -> Option<RateLimitUpdate> {
    let int = |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    let remaining = u32::try_from(int("x-ratelimit-remaining")?).unwrap_or(u32::MAX);
    let reset_after = int("x-ratelimit-reset").map(|v| {
        if v > 1_000_000_000 {
            let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
            std::time::Duration::from_secs(v.saturating_sub(now))
        } else {
            std::time::Duration::from_secs(v)
        }
    });
    Some(RateLimitUpdate::new(Some(remaining), reset_after))
}

fn valid_key(key: &str) -> Result<(), ApiError> {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(ApiError::InvalidInput(format!(
            "{key:?} is not a clave or clave-consecutivo"
        )))
    }
}

impl HaciendaClient {
    /// A builder over `config`.
    pub fn builder(config: HaciendaConfig) -> HaciendaClientBuilder {
        HaciendaClientBuilder {
            config,
            credentials: None,
            tenant: None,
            store: None,
        }
    }

    /// A client for one API user, tokens kept in memory.
    ///
    /// # Errors
    /// As [`HaciendaClientBuilder::build`].
    pub fn new(config: HaciendaConfig, credentials: PasswordCredentials) -> Result<Self, ApiError> {
        Self::builder(config).credentials(credentials).build()
    }

    /// A client for another API user (another emisor) sharing this one's connections, token
    /// manager and store; `tenant` keys its tokens.
    pub fn with_tenant(&self, tenant: impl Into<String>, credentials: PasswordCredentials) -> Self {
        let tenant = tenant.into();
        self.inner
            .refresher
            .set_credentials(tenant.clone(), credentials);
        Self {
            inner: Arc::clone(&self.inner),
            tenant,
        }
    }

    /// The tenant key of this client's tokens.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The configuration this client was built with (URLs, client id, timeouts, polling).
    pub fn config(&self) -> &HaciendaConfig {
        &self.inner.config
    }

    /// Submits `envio` and polls until Hacienda decides. Follows the decision table of the
    /// [module documentation](super): a document that got `202` is never `POST`ed again; after a
    /// lost answer the status is queried first.
    ///
    /// A rejection is an `Ok` [`Outcome`] with [`Estado::Rechazado`] and the `DetalleMensaje`.
    ///
    /// # Errors
    /// [`ApiError::Rejected`] (`400`: fix the document; carries `X-Error-Cause`),
    /// [`ApiError::Auth`], [`ApiError::Uncertain`] (call [`resume`](Self::resume) later),
    /// [`ApiError::Pending`] (received, no decision yet: call
    /// [`wait_for_outcome`](Self::wait_for_outcome) later), transport errors.
    pub async fn submit(&self, envio: &Envio) -> Result<Outcome, ApiError> {
        let span = tracing::info_span!("hacienda.submit", key = %envio.status_key(), tenant = %self.tenant);
        async {
            let receipt = self.submit_no_wait(envio).await?;
            self.settle(receipt).await
        }
        .instrument(span)
        .await
    }

    /// Like [`submit`](Self::submit), but returns as soon as Hacienda holds the document (for
    /// callers that poll from a queue later with [`wait_for_outcome`](Self::wait_for_outcome)).
    ///
    /// # Errors
    /// As [`submit`](Self::submit), except `Pending`.
    pub async fn submit_no_wait(&self, envio: &Envio) -> Result<Receipt, ApiError> {
        let key = envio.status_key();
        valid_key(&key)?;
        let max_resubmissions = self.inner.config.max_resubmissions;
        let mut posts = 0u32;
        loop {
            posts += 1;
            match self.post(envio).await? {
                Posted::Accepted => {
                    tracing::info!(key = %key, posts, "received by Hacienda");
                    return Ok(Receipt::Accepted { key, posts });
                }
                Posted::AlreadyReceived(cause) => {
                    tracing::info!(key = %key, posts, "Hacienda already held this clave");
                    return Ok(Receipt::AlreadyReceived { key, posts, cause });
                }
                Posted::Lost(reason) => {
                    tracing::warn!(key = %key, posts, reason = %reason, "answer to the POST lost; querying the status before anything else");
                    match self.status(&key).await {
                        Ok(status) => {
                            return Ok(Receipt::Reconciled {
                                key,
                                posts,
                                status: Box::new(status),
                            });
                        }
                        Err(ApiError::NotFound { cause, .. }) => {
                            if posts > max_resubmissions {
                                return Err(ApiError::Uncertain {
                                    key,
                                    message: format!(
                                        "{posts} POSTs without an answer and Hacienda does not list the clave ({cause})"
                                    ),
                                });
                            }
                            tracing::info!(key = %key, "Hacienda does not know the clave; submitting again");
                        }
                        Err(e) if e.kind() == ApiErrorKind::Auth => return Err(e),
                        Err(e) => {
                            return Err(ApiError::Uncertain {
                                key,
                                message: format!("{reason}; then the status lookup failed: {e}"),
                            });
                        }
                    }
                }
            }
        }
    }

    /// Continues after [`ApiError::Uncertain`] (or any interruption): queries the status first and
    /// `POST`s only when Hacienda answers that it does not know the clave; then polls.
    ///
    /// # Errors
    /// As [`submit`](Self::submit).
    pub async fn resume(&self, envio: &Envio) -> Result<Outcome, ApiError> {
        let key = envio.status_key();
        valid_key(&key)?;
        match self.status(&key).await {
            Ok(status) => {
                self.settle(Receipt::Reconciled {
                    key,
                    posts: 0,
                    status: Box::new(status),
                })
                .await
            }
            Err(ApiError::NotFound { .. }) => self.submit(envio).await,
            Err(e) => Err(e),
        }
    }

    /// Polls the status of `key` (a clave, or `clave-consecutivoReceptor`) until it is final,
    /// querying at once and then with the configured backoff.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when Hacienda does not know `key`; [`ApiError::Pending`] when still
    /// undecided after [`PollPolicy::max_polls`](super::PollPolicy) queries; [`ApiError::Auth`];
    /// [`ApiError::Response`] for unreadable answers.
    pub async fn wait_for_outcome(&self, key: &str) -> Result<Outcome, ApiError> {
        valid_key(key)?;
        self.poll(key, 0, 0, false).await
    }

    /// One status query: `GET {recepcion_url}/{key}`. Retried on timeouts and `5xx` per the
    /// configured [`RetryPolicy`](erp_hub_core::http::RetryPolicy).
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when Hacienda does not know `key` (`404`), [`ApiError::Auth`],
    /// transport errors, [`ApiError::Response`] for unreadable answers.
    pub async fn status(&self, key: &str) -> Result<StatusResponse, ApiError> {
        valid_key(key)?;
        let url = format!(
            "{}/{key}",
            self.inner.config.recepcion_url.trim_end_matches('/')
        );
        let spec = RequestSpec::get(&url)
            .map_err(ApiError::Http)?
            .tenant(self.tenant.clone())
            .header("accept", "application/json")
            .map_err(ApiError::Http)?;
        let resp = self
            .inner
            .http
            .send(spec)
            .await
            .map_err(ApiError::from_http)?;
        let status = resp.status();
        if status == StatusCode::OK {
            let s = StatusResponse::from_json(key, resp.body())?;
            tracing::debug!(key = %key, estado = %s.estado, "status");
            return Ok(s);
        }
        let cause = ErrorCause::from_response(status, resp.headers(), resp.body());
        match status.as_u16() {
            404 => Err(ApiError::NotFound {
                key: key.to_owned(),
                cause,
            }),
            _ => Err(error_for(resp, cause)),
        }
    }

    async fn post(&self, envio: &Envio) -> Result<Posted, ApiError> {
        let c = &self.inner.config;
        let mut body = envio.clone();
        if body.callback_url().is_none()
            && let Some(cb) = &c.callback_url
        {
            body = body.with_callback_url(cb.clone());
        }
        let spec = RequestSpec::post(&c.recepcion_url)
            .map_err(ApiError::Http)?
            .tenant(self.tenant.clone())
            .json(&body)
            .map_err(ApiError::Http)?
            // Never re-sent by the HTTP layer after it may have been received.
            .replay(Replay::Never);
        let resp = match self.inner.http.send(spec).await {
            Ok(r) => r,
            Err(e) if e.kind() == erp_hub_core::ErrorKind::Uncertain => {
                return Ok(Posted::Lost(e.to_string()));
            }
            Err(e) => return Err(ApiError::from_http(e)),
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(Posted::Accepted);
        }
        if status.as_u16() == 408 || status.is_server_error() {
            return Ok(Posted::Lost(format!("HTTP {}", status.as_u16())));
        }
        let cause = ErrorCause::from_response(status, resp.headers(), resp.body());
        if cause.kind == CauseKind::AlreadyReceived {
            return Ok(Posted::AlreadyReceived(cause));
        }
        tracing::info!(status = status.as_u16(), cause = %cause.message, "recepción refused the document");
        Err(error_for(resp, cause))
    }

    /// Turns a receipt into an outcome, polling when needed.
    async fn settle(&self, receipt: Receipt) -> Result<Outcome, ApiError> {
        match receipt {
            Receipt::Reconciled { key, posts, status } => {
                if status.estado.is_final() {
                    Ok(Outcome {
                        key,
                        estado: status.estado.clone(),
                        response: *status,
                        posts,
                        polls: 1,
                    })
                } else {
                    self.poll(&key, posts, 1, true).await
                }
            }
            Receipt::Accepted { key, posts } | Receipt::AlreadyReceived { key, posts, .. } => {
                self.poll(&key, posts, 0, true).await
            }
        }
    }

    /// Polls `key`; `polls_done` queries were already made. `received`: Hacienda is known to hold
    /// the document (it answered `202`, "ya fue recibido" or a status), so the first query waits
    /// and a `404` only means "not listed yet"; otherwise the first query is immediate and a `404`
    /// is returned as [`ApiError::NotFound`].
    async fn poll(
        &self,
        key: &str,
        posts: u32,
        polls_done: u32,
        received: bool,
    ) -> Result<Outcome, ApiError> {
        let policy = &self.inner.config.poll;
        let mut last: Option<Estado> = None;
        let mut polls = polls_done;
        for n in 1..=policy.max_polls.max(1) {
            if received || n > 1 {
                tokio::time::sleep(policy.delay(n)).await;
            }
            polls += 1;
            match self.status(key).await {
                Ok(s) if s.estado.is_final() => {
                    tracing::info!(key = %key, estado = %s.estado, polls, "Hacienda decided");
                    return Ok(Outcome {
                        key: key.to_owned(),
                        estado: s.estado.clone(),
                        response: s,
                        posts,
                        polls,
                    });
                }
                Ok(s) => last = Some(s.estado),
                // Not listed yet, or a network hiccup that the HTTP layer's retries did not cure:
                // the document is (or may be) with Hacienda, so keep asking, never re-POST.
                Err(e)
                    if e.kind() == ApiErrorKind::Transient
                        || (received && e.kind() == ApiErrorKind::NotFound) =>
                {
                    tracing::debug!(key = %key, error = %e, "status not available yet");
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Pending {
            key: key.to_owned(),
            estado: last,
            polls,
        })
    }
}

/// Maps a non-success answer (other than the ones handled by the caller) to an error.
fn error_for(resp: HttpResponse, cause: ErrorCause) -> ApiError {
    match resp.status().as_u16() {
        401 => ApiError::Auth {
            message: format!("recepción refused the access token after a refresh ({cause})"),
        },
        429 => ApiError::Http(
            resp.error_for_status()
                .err()
                .unwrap_or_else(|| erp_hub_core::Error::RateLimited { retry_after: None }),
        ),
        408 | 500..=599 => ApiError::Http(erp_hub_core::Error::transient(cause.to_string())),
        _ => ApiError::Rejected(cause),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn rate_limit_reset_as_seconds_or_epoch() {
        let u = rate_limit_headers(&headers(&[
            ("x-ratelimit-remaining", "3".into()),
            ("x-ratelimit-reset", "42".into()),
        ]))
        .unwrap();
        assert_eq!(u.remaining, Some(3));
        assert_eq!(u.reset_after, Some(std::time::Duration::from_secs(42)));

        let in_a_minute = chrono::Utc::now().timestamp() + 60;
        let u = rate_limit_headers(&headers(&[
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", in_a_minute.to_string()),
        ]))
        .unwrap();
        let secs = u.reset_after.unwrap().as_secs();
        assert!((58..=60).contains(&secs), "{secs}");

        // An epoch in the past: no wait.
        let u = rate_limit_headers(&headers(&[
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", "1600000000".into()),
        ]))
        .unwrap();
        assert_eq!(u.reset_after, Some(std::time::Duration::ZERO));

        assert!(rate_limit_headers(&headers(&[("x-ratelimit-reset", "5".into())])).is_none());
    }

    #[test]
    fn status_keys_are_checked() {
        assert!(valid_key("50620112600310123456700100001010000000003100000003").is_ok());
        assert!(
            valid_key("5062011260031012345670010000101000000000310000000a-00100001050000000001")
                .is_ok()
        );
        for bad in ["", "../token", "a/b", "clave?x=1", "clave con espacio"] {
            assert_eq!(
                valid_key(bad).unwrap_err().kind(),
                ApiErrorKind::Validation,
                "{bad:?}"
            );
        }
    }
}
