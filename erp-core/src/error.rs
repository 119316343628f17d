//! The error taxonomy shared by every adapter and client.
//!
//! One [`Error`] enum (non-exhaustive) with [`Error::kind`] and [`Error::is_retriable`], in the style of sqlx.
//! The kind tells a caller what to do next:
//!
//! | kind | meaning | what to do |
//! |---|---|---|
//! | [`ErrorKind::Auth`] | credentials rejected or refresh failed | ask the user to re-consent |
//! | [`ErrorKind::RateLimited`] | the provider throttled us | wait `retry_after`, then retry |
//! | [`ErrorKind::Conflict`] | stale version (optimistic concurrency) | re-read, re-apply, retry |
//! | [`ErrorKind::Duplicate`] | the record already exists | use the existing remote id |
//! | [`ErrorKind::Validation`] | the provider (or we) rejected field values | fix the input |
//! | [`ErrorKind::NotFound`] | no such remote record | - |
//! | [`ErrorKind::Transient`] | the request definitely did not apply (5xx before processing, connect error) | retry |
//! | [`ErrorKind::Uncertain`] | the request **may** have been applied | reconcile (look it up) before any retry |
//! | [`ErrorKind::Unsupported`] | the provider cannot do this | - |
//! | [`ErrorKind::Config`] | bad configuration | fix the configuration |

use std::fmt;
use std::time::Duration;

/// A boxed error usable as an error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a caller can act on. See the [module docs](self).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed (or the token could not be refreshed): the user must re-consent.
    #[error("authentication failed: {message}")]
    Auth {
        /// What the provider (or the token manager) said.
        message: String,
    },
    /// The provider throttled the request.
    #[error("rate limited{}", fmt_retry_after(*.retry_after))]
    RateLimited {
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The write was based on a stale version of the record.
    #[error("conflict: {message}")]
    Conflict {
        /// What the provider said.
        message: String,
    },
    /// The record already exists at the provider.
    #[error("duplicate: {message}{}", existing_id.as_ref().map(|i| format!(" (existing id {i})")).unwrap_or_default())]
    Duplicate {
        /// What the provider said.
        message: String,
        /// The remote id of the existing record, when known.
        existing_id: Option<String>,
    },
    /// Field values were rejected.
    #[error("validation failed: {}", fmt_fields(errors))]
    Validation {
        /// One entry per rejected field.
        errors: Vec<FieldError>,
        /// The provider's own typed error when the provider rejected them (QuickBooks
        /// `erp_quickbooks::error::Fault`, Xero `erp_xero::error::ValidationException`); see
        /// [`Error::provider_error`].
        #[source]
        source: Option<BoxError>,
    },
    /// The remote record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity name (e.g. `invoice`).
        entity: String,
        /// The id that was looked up.
        id: String,
    },
    /// A failure that definitely did not apply the request; retrying is safe.
    #[error("transient failure: {message}")]
    Transient {
        /// What failed (status, provider message), for logs and operators.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The request may or may not have been applied: reconcile before retrying.
    #[error("outcome uncertain (the request may have been applied): {message}")]
    Uncertain {
        /// What happened and, where known, what may have been applied (e.g. the id of a created record).
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The provider does not support this operation.
    #[error("unsupported operation: {operation}")]
    Unsupported {
        /// The operation that was asked for.
        operation: String,
    },
    /// The configuration is invalid or incomplete.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong or missing, naming the setting (e.g. the unmapped tax key).
        message: String,
    },
    /// Money arithmetic failed (overflow, currency mismatch, ...).
    #[error(transparent)]
    Money(#[from] crate::money::MoneyError),
}

fn fmt_retry_after(d: Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {} ms)", d.as_millis()))
        .unwrap_or_default()
}

fn fmt_fields(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// The category of an [`Error`]. Serializes as `snake_case` (`"rate_limited"`, `"uncertain"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::Auth`].
    Auth,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::Duplicate`].
    Duplicate,
    /// See [`Error::Validation`] (and money/tax input errors).
    Validation,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Transient`].
    Transient,
    /// See [`Error::Uncertain`].
    Uncertain,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Config`].
    Config,
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Auth { .. } => ErrorKind::Auth,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Duplicate { .. } => ErrorKind::Duplicate,
            Self::Validation { .. } | Self::Money(_) => ErrorKind::Validation,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Transient { .. } => ErrorKind::Transient,
            Self::Uncertain { .. } => ErrorKind::Uncertain,
            Self::Unsupported { .. } => ErrorKind::Unsupported,
            Self::Config { .. } => ErrorKind::Config,
        }
    }

    /// Whether retrying the same request is safe and may succeed (rate limits and transient failures).
    ///
    /// [`ErrorKind::Uncertain`] is **not** retriable: the request may have been applied, so reconcile first.
    pub fn is_retriable(&self) -> bool {
        matches!(self.kind(), ErrorKind::RateLimited | ErrorKind::Transient)
    }

    /// How long to wait before retrying, when the provider said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// When to try again, as hinted by a [`Error::retry_later`] or [`Error::uncertain_retry_later`] error (a
    /// step that waits on an outside party, e.g. a cancellation awaiting the tax authority, asks the hub to come
    /// back later instead of looping). Unlike [`retry_after`](Self::retry_after) it is not a rate limit:
    /// nothing else should slow down. The hub does not count such outcomes against its attempt budget; its
    /// `HubConfig::max_wait` bounds them instead.
    pub fn retry_hint(&self) -> Option<Duration> {
        match self {
            Self::Transient {
                source: Some(s), ..
            }
            | Self::Uncertain {
                source: Some(s), ..
            } => s.downcast_ref::<RetryLater>().map(|r| r.after),
            _ => None,
        }
    }

    /// A [`Transient`](Error::Transient) error saying "not yet: try again after `after`" (see
    /// [`retry_hint`](Self::retry_hint)); nothing was applied. `message` says what is awaited (it is what the
    /// sync log shows).
    pub fn retry_later(message: impl Into<String>, after: Duration) -> Self {
        Self::Transient {
            message: message.into(),
            source: Some(Box::new(RetryLater { after })),
        }
    }

    /// An [`Uncertain`](Error::Uncertain) error saying "maybe applied, not decided yet: poll again after
    /// `after`" (see [`retry_hint`](Self::retry_hint)): e.g. a document an authority is holding, which it may or
    /// may not have received. The next call must find out what happened (with the same idempotency key) before
    /// sending anything again. `message` says what is awaited (it is what the sync log shows).
    pub fn uncertain_retry_later(message: impl Into<String>, after: Duration) -> Self {
        Self::Uncertain {
            message: message.into(),
            source: Some(Box::new(RetryLater { after })),
        }
    }

    /// A copy of this error for handing one failure to several callers (the elements of a batch in
    /// [`ErpAdapter::write_batch`](crate::ErpAdapter::write_batch), the waiters of one token refresh): the same
    /// variant, kind and fields; a `source` is not copied (it cannot be cloned) but named in the message,
    /// except a [`RetryLater`] hint, which is kept.
    pub fn replicate(&self) -> Self {
        if let Some(after) = self.retry_hint() {
            match self {
                Self::Transient { message, .. } => {
                    return Self::retry_later(message.clone(), after);
                }
                Self::Uncertain { message, .. } => {
                    return Self::uncertain_retry_later(message.clone(), after);
                }
                _ => {}
            }
        }
        let with_source = |message: &str, source: &Option<BoxError>| match source {
            Some(s) => format!("{message}: {s}"),
            None => message.to_owned(),
        };
        match self {
            Self::Auth { message } => Self::auth(message.clone()),
            Self::RateLimited { retry_after } => Self::RateLimited {
                retry_after: *retry_after,
            },
            Self::Conflict { message } => Self::conflict(message.clone()),
            Self::Duplicate {
                message,
                existing_id,
            } => Self::Duplicate {
                message: message.clone(),
                existing_id: existing_id.clone(),
            },
            Self::Validation { errors, .. } => Self::Validation {
                source: None,
                errors: errors.clone(),
            },
            Self::NotFound { entity, id } => Self::not_found(entity.clone(), id.clone()),
            Self::Transient { message, source } => Self::transient(with_source(message, source)),
            Self::Uncertain { message, source } => Self::uncertain(with_source(message, source)),
            Self::Unsupported { operation } => Self::unsupported(operation.clone()),
            Self::Config { message } => Self::config(message.clone()),
            Self::Money(e) => Self::Money(e.clone()),
        }
    }

    /// Shorthand for [`Error::Auth`].
    pub fn auth(message: impl Into<String>) -> Self {
        Self::Auth {
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Transient`] without a source.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            source: None,
        }
    }

    /// Shorthand for [`Error::Uncertain`] without a source.
    pub fn uncertain(message: impl Into<String>) -> Self {
        Self::Uncertain {
            message: message.into(),
            source: None,
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: impl Into<String>, id: impl Into<String>) -> Self {
        Self::NotFound {
            entity: entity.into(),
            id: id.into(),
        }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(operation: impl Into<String>) -> Self {
        Self::Unsupported {
            operation: operation.into(),
        }
    }

    /// [`Error::Validation`] with these field errors and no source.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::Validation {
            errors,
            source: None,
        }
    }

    /// The same error carrying `source`, the provider's typed error, where the variant has a source
    /// ([`Validation`](Error::Validation), [`Transient`](Error::Transient), [`Uncertain`](Error::Uncertain));
    /// other variants are returned unchanged.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        match &mut self {
            Self::Validation { source: s, .. }
            | Self::Transient { source: s, .. }
            | Self::Uncertain { source: s, .. } => *s = Some(source.into()),
            _ => {}
        }
        self
    }

    /// The provider's typed error behind this one, when it is a `T` (sqlx style): walks the
    /// [`source`](std::error::Error::source) chain and downcasts each link.
    ///
    /// ```
    /// use erp_hub_core::{Error, FieldError};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("fault 6000")]
    /// struct Fault { code: u32 }
    ///
    /// let e = Error::validation(vec![FieldError::new("Line[0]", "bad")]).with_source(Fault { code: 6000 });
    /// assert_eq!(e.provider_error::<Fault>().map(|f| f.code), Some(6000));
    /// assert!(e.provider_error::<std::io::Error>().is_none());
    /// ```
    pub fn provider_error<T: std::error::Error + 'static>(&self) -> Option<&T> {
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            if let Some(t) = e.downcast_ref::<T>() {
                return Some(t);
            }
            next = e.source();
        }
        None
    }

    /// Shorthand for a [`Error::Validation`] with a single field error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }
}

/// The source of an [`Error::retry_later`] or [`Error::uncertain_retry_later`] error: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("retry after {} ms", after.as_millis())]
#[non_exhaustive]
pub struct RetryLater {
    /// The delay before the next attempt.
    pub after: Duration,
}

/// One rejected field in a [`Error::Validation`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// Path of the field, e.g. `lines[2].quantity` (provider naming when it comes from the provider).
    pub field: String,
    /// Provider or rule code, when there is one (e.g. QuickBooks `2020`).
    pub code: Option<String>,
    /// Human-readable message.
    pub message: String,
}

impl FieldError {
    /// A field error without a code.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: None,
            message: message.into(),
        }
    }

    /// The same error with a provider or rule code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{}: {} [{}]", self.field, self.message, c),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}
