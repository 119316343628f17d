//! The bridge's two error shapes and their mapping to [`erp_hub_core::Error`]:
//!
//! - [`SdkError`]: a job that **failed** (`status: failed`) with the SDK's code and text (`fError`), or a check
//!   of the agent. A failed job applied nothing (the agent rolls back), so these are never `Uncertain`.
//! - [`BridgeProblem`]: a `4xx` answer to a request the bridge refused before queuing anything
//!   (`unknown_job_type`, `unsupported_version`, `invalid_payload`, ...).
//!
//! Both are kept as the typed `source` where the core error has one, so callers get them back with
//! [`Error::provider_error`](erp_hub_core::Error::provider_error).
//!
//! | job error `kind` | [`ErrorKind`](erp_hub_core::ErrorKind) |
//! |---|---|
//! | `duplicate` | `Duplicate` (with the existing id) |
//! | `not_found` | `NotFound` for a `consulta`, `Validation` naming the missing catalogue entry for a write |
//! | `invalid` | `Validation` (field `sdk`, code = the SDK code) |
//! | `conflict` | `Conflict` |
//! | `unavailable`, `internal` | `Transient` (nothing was applied; the same key runs the job again) |

use std::fmt;

use erp_hub_core::http::StatusCode;
use erp_hub_core::{Error, FieldError};

use crate::wire::{JobType, Problem, SdkErrorBody, SdkErrorKind};

/// A failed job's error, as the agent reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkError {
    /// The job that failed.
    pub job_id: String,
    /// Its type.
    pub job_type: JobType,
    /// Code, text and classification.
    pub body: SdkErrorBody,
}

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CONTPAQi {} job {} failed: {:?} error {}: {}",
            self.job_type.as_str(),
            self.job_id,
            self.body.source,
            self.body.code,
            self.body.message
        )
    }
}

impl std::error::Error for SdkError {}

impl SdkError {
    /// The core error for this failure; `entity`/`id` name what a `consulta` looked for.
    pub fn into_error(self, entity: &str, id: &str) -> Error {
        let text = self.to_string();
        match self.body.kind {
            SdkErrorKind::Duplicate => Error::Duplicate {
                message: text,
                existing_id: self.body.existing.clone(),
            },
            SdkErrorKind::NotFound if self.job_type == JobType::Consulta => {
                Error::not_found(entity, id)
            }
            SdkErrorKind::NotFound | SdkErrorKind::Invalid => Error::validation(vec![
                FieldError::new("sdk", self.body.message.clone())
                    .with_code(self.body.code.to_string()),
            ])
            .with_source(self),
            SdkErrorKind::Conflict => Error::conflict(text),
            SdkErrorKind::Unavailable | SdkErrorKind::Internal => {
                Error::transient(text).with_source(self)
            }
        }
    }
}

/// A `4xx` the bridge answered before queuing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeProblem {
    /// HTTP status.
    pub status: u16,
    /// The body (`code`, `message`, `field`, `supported`).
    pub problem: Problem,
}

impl fmt::Display for BridgeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CONTPAQi bridge refused the request (HTTP {}, {}): {}",
            self.status, self.problem.code, self.problem.message
        )?;
        if let Some(s) = &self.problem.supported {
            write!(f, " (supported: {})", s.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for BridgeProblem {}

impl BridgeProblem {
    /// The core error for this refusal.
    pub fn into_error(self) -> Error {
        let text = self.to_string();
        match self.problem.code.as_str() {
            "unknown_job_type" | "unsupported_version" => Error::unsupported(text),
            "unauthorized" => Error::auth(text),
            "queue_full" => Error::RateLimited { retry_after: None },
            "job_not_found" => {
                Error::not_found("job", self.problem.field.clone().unwrap_or_default())
            }
            _ => {
                let field = self.problem.field.clone().unwrap_or_default();
                Error::validation(vec![
                    FieldError::new(field, self.problem.message.clone())
                        .with_code(self.problem.code.clone()),
                ])
                .with_source(self)
            }
        }
    }
}

/// Maps a non-`2xx` bridge response: its [`Problem`] body when it has one, else the status alone.
pub(crate) fn from_response(
    status: StatusCode,
    body: &[u8],
    fallback: impl FnOnce() -> Error,
) -> Error {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) if status.is_client_error() && status.as_u16() != 429 => BridgeProblem {
            status: status.as_u16(),
            problem,
        }
        .into_error(),
        _ => fallback(),
    }
}

/// Reads a job error body (fuzzing entry point).
pub fn parse_job_error(body: &[u8]) -> Option<Error> {
    let b: SdkErrorBody = serde_json::from_slice(body).ok()?;
    Some(
        SdkError {
            job_id: String::new(),
            job_type: JobType::Consulta,
            body: b,
        }
        .into_error("record", ""),
    )
}
