//! [`ContpaqiClient`]: the bridge's HTTP client on erp-hub-core's [`HttpClient`]: submits jobs under an
//! idempotency key, polls them with backoff until they are done or failed, reads health and the change feed,
//! and maps the bridge's errors.
//!
//! Resubmitting is always safe: the bridge returns the job it holds for a key (or, for a failed job, runs it
//! again: a failed job applied nothing). So `POST /v1/jobs` is sent as replay-safe, and a lost answer or a job
//! still running when the [`PollPolicy`](crate::config::PollPolicy) runs out is resolved by sending the same
//! key again, which finds the same job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use erp_hub_core::http::{HttpClient, HttpResponse, Method, Replay, RequestSpec, TokenUse};
use erp_hub_core::{Error, Result};
use serde::de::DeserializeOwned;

use crate::auth;
use crate::config::ContpaqiConfig;
use crate::error::{SdkError, from_response};
use crate::wire::{
    ChangeFeed, Health, Job, JobAccepted, JobRequest, JobResult, JobStatus, JobType,
};

/// A client for one bridge. Cheap to clone.
#[derive(Clone)]
pub struct ContpaqiClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ContpaqiConfig,
    http: HttpClient,
}

impl std::fmt::Debug for ContpaqiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContpaqiClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl ContpaqiClient {
    /// A client for the bridge `config` points at.
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn new(config: ContpaqiConfig) -> Result<Self> {
        let http = HttpClient::builder()
            .timeout(config.request_timeout)
            .retry_policy(config.retry.clone())
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner { config, http }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ContpaqiConfig {
        &self.inner.config
    }

    async fn send(&self, spec: RequestSpec) -> Result<HttpResponse> {
        let spec = auth::authorize(spec.token(TokenUse::None), &self.inner.config.api_key)?;
        self.inner.http.send(spec).await
    }

    fn parse<T: DeserializeOwned>(resp: HttpResponse) -> Result<T> {
        if let Some(default) = resp.status_error() {
            return Err(from_response(resp.status(), resp.body(), || default));
        }
        resp.json()
    }

    /// `GET /v1/health`.
    ///
    /// # Errors
    /// Transport errors ([`Transient`](erp_hub_core::ErrorKind::Transient) when the bridge is unreachable),
    /// [`Auth`](erp_hub_core::ErrorKind::Auth) for a wrong key, `Unsupported` when the bridge does not speak v1.
    pub async fn health(&self) -> Result<Health> {
        let spec = RequestSpec::from_url(Method::GET, self.inner.config.health_url());
        Self::parse(self.send(spec).await?)
    }

    /// `POST /v1/jobs`: queues a job, or finds the one held for `key`.
    ///
    /// # Errors
    /// The bridge's refusals ([`BridgeProblem`](crate::error::BridgeProblem) as source): `Unsupported` for an
    /// unknown job type or contract version, `Validation` for an invalid payload or a key reused with another
    /// payload, `RateLimited` when the queue stays full; `Transient` when the bridge is unreachable;
    /// `Uncertain` when it kept answering `5xx` (the job may be queued: the same key finds it).
    pub async fn submit(
        &self,
        job_type: JobType,
        key: &str,
        payload: serde_json::Value,
    ) -> Result<JobAccepted> {
        let body = JobRequest::new(job_type, key.to_owned(), payload);
        let spec = RequestSpec::from_url(Method::POST, self.inner.config.jobs_url())
            .json(&body)?
            .idempotency_key(key)
            .replay(Replay::Safe);
        let resp = self.send(spec).await?;
        if resp.status().is_server_error() {
            // Re-sent (same key) until the retries ran out: the bridge may have queued the job meanwhile.
            return Err(Error::uncertain(format!(
                "CONTPAQi bridge answered HTTP {} to job {key}; it may have been queued: send the same key again",
                resp.status().as_u16()
            )));
        }
        Self::parse(resp)
    }

    /// `GET /v1/jobs/{id}`.
    ///
    /// # Errors
    /// `NotFound` (entity `job`) when the bridge does not know the id; transport errors.
    pub async fn job(&self, job_id: &str) -> Result<Job> {
        let spec = RequestSpec::from_url(Method::GET, self.inner.config.job_url(job_id));
        let resp = self.send(spec).await?;
        if resp.status().as_u16() == 404 {
            let default = Error::not_found("job", job_id);
            return Err(
                match from_response(resp.status(), resp.body(), || default) {
                    Error::NotFound { .. } => Error::not_found("job", job_id),
                    other => other,
                },
            );
        }
        Self::parse(resp)
    }

    /// Polls a job until it is done or failed, waiting `first`, then doubling up to `max`, for at most
    /// `timeout` (the [`PollPolicy`](crate::config::PollPolicy)).
    ///
    /// # Errors
    /// [`Uncertain`](erp_hub_core::ErrorKind::Uncertain) when the job is still queued or running at the
    /// deadline, or vanished from the bridge after it was accepted (it may have run: send the same key again);
    /// transport errors of the last poll.
    pub async fn wait(&self, job_id: &str) -> Result<Job> {
        let poll = self.inner.config.poll;
        let start = Instant::now();
        let mut delay = poll.first;
        loop {
            match self.job(job_id).await {
                Ok(job) if matches!(job.status, JobStatus::Done | JobStatus::Failed) => {
                    return Ok(job);
                }
                Ok(_) => {}
                Err(Error::NotFound { .. }) => {
                    return Err(Error::uncertain(format!(
                        "CONTPAQi job {job_id} was accepted but the bridge no longer knows it; \
                         send the same idempotency key again"
                    )));
                }
                // A poll is a read: a failed one does not change what the job did. Keep polling until the
                // deadline, then say the outcome is unknown.
                Err(e) if e.is_retriable() => {
                    tracing::debug!(job_id, error = %e, "poll failed; polling again");
                }
                Err(e) => return Err(e),
            }
            if start.elapsed() >= poll.timeout {
                return Err(Error::uncertain(format!(
                    "CONTPAQi job {job_id} not finished after {} ms; send the same idempotency key again \
                     to resume waiting",
                    poll.timeout.as_millis()
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(poll.max).max(Duration::from_millis(1));
        }
    }

    /// Submits a job, waits for it, and returns its result, or its SDK error mapped to an [`Error`]
    /// (`entity`/`id` name what a `consulta` looks for).
    ///
    /// # Errors
    /// See [`submit`](Self::submit), [`wait`](Self::wait) and [`SdkError::into_error`]. A submit that failed
    /// in transport after retries is `Transient` (nothing queued, or the same key finds the job again).
    pub async fn run(
        &self,
        job_type: JobType,
        key: &str,
        payload: serde_json::Value,
        entity: &str,
        id: &str,
    ) -> Result<JobResult> {
        let accepted = self.submit(job_type, key, payload).await?;
        let job = match accepted.status {
            JobStatus::Done | JobStatus::Failed => {
                self.job(&accepted.job_id).await.map_err(|e| {
                    if e.kind() == erp_hub_core::ErrorKind::NotFound {
                        Error::uncertain(format!(
                            "CONTPAQi job {} vanished after it finished",
                            accepted.job_id
                        ))
                    } else {
                        e
                    }
                })?
            }
            _ => self.wait(&accepted.job_id).await?,
        };
        finish(job, entity, id)
    }

    /// `GET /v1/changes?after=…&limit=…`.
    ///
    /// # Errors
    /// `Validation` for a cursor the bridge rejects; transport errors.
    pub async fn changes(&self, after: Option<&str>, limit: u32) -> Result<ChangeFeed> {
        let limit = limit.to_string();
        let mut pairs = vec![("limit", limit.as_str())];
        if let Some(a) = after {
            pairs.push(("after", a));
        }
        let spec =
            RequestSpec::from_url(Method::GET, self.inner.config.changes_url()).query(&pairs);
        Self::parse(self.send(spec).await?)
    }
}

/// A finished job's result, or its error.
fn finish(job: Job, entity: &str, id: &str) -> Result<JobResult> {
    match (job.status, job.result, job.error) {
        (JobStatus::Done, Some(result), _) => Ok(result),
        (JobStatus::Done, None, _) => Ok(JobResult::default()),
        (JobStatus::Failed, _, Some(body)) => Err(SdkError {
            job_id: job.job_id,
            job_type: job.job_type,
            body,
        }
        .into_error(entity, id)),
        (JobStatus::Failed, _, None) => Err(Error::transient(format!(
            "CONTPAQi job {} failed without an error body",
            job.job_id
        ))),
        (status, _, _) => Err(Error::uncertain(format!(
            "CONTPAQi job {} is {status:?}",
            job.job_id
        ))),
    }
}
