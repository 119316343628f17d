//! Errors of the Hacienda API client.

use std::fmt;

use erp_hub_core::http::{HeaderMap, StatusCode};

use super::status::Estado;

/// What a non-success answer of Hacienda said: the `X-Error-Cause` header (or, without it, the
/// start of the body), classified into a [`CauseKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorCause {
    /// HTTP status of the answer.
    pub status: u16,
    /// What Hacienda classified: see [`CauseKind`].
    pub kind: CauseKind,
    /// The `X-Error-Cause` text as sent (ISO-8859-1 bytes decoded), or the start of the body.
    pub message: String,
    /// Whether Hacienda set the `validation-exception` header (the JSON body itself was refused).
    pub validation_exception: bool,
}

/// The classification of an [`ErrorCause`], by the wording Hacienda uses (matched
/// case-insensitively on fragments; the full text is always kept in [`ErrorCause::message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CauseKind {
    /// "El comprobante … ya fue recibido anteriormente": Hacienda already holds this clave. Not a
    /// failure for [`HaciendaClient::submit`](super::HaciendaClient::submit), which then polls.
    AlreadyReceived,
    /// The clave is unknown to Hacienda (status lookup answered `404`).
    NotReceived,
    /// The signature of the document was refused.
    Signature,
    /// Anything else (malformed body, wrong emisor, invalid clave, …): read the message.
    Other,
}

impl ErrorCause {
    /// Reads `X-Error-Cause` and `validation-exception` from `headers`, falling back to the start of
    /// `body` when there is no cause header.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let header = headers
            .get("x-error-cause")
            .map(|v| decode_header(v.as_bytes()));
        let message = match header {
            Some(h) if !h.trim().is_empty() => h.trim().to_owned(),
            _ => snippet(body),
        };
        let kind = if status == StatusCode::NOT_FOUND {
            CauseKind::NotReceived
        } else {
            classify(&message)
        };
        Self {
            status: status.as_u16(),
            kind,
            message,
            validation_exception: headers.contains_key("validation-exception"),
        }
    }
}

impl fmt::Display for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "HTTP {} without X-Error-Cause", self.status)
        } else {
            write!(f, "HTTP {}: {}", self.status, self.message)
        }
    }
}

/// Header bytes as text: UTF-8 when valid, else ISO-8859-1 (what Hacienda's gateway sends for
/// accented causes).
fn decode_header(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or_default()),
        None => text.to_owned(),
    }
}

fn classify(message: &str) -> CauseKind {
    let m = message.to_lowercase();
    if m.contains("recibido anteriormente") || m.contains("ya fue recibido") {
        CauseKind::AlreadyReceived
    } else if m.contains("no ha sido recibido") || m.contains("no encontrado") {
        CauseKind::NotReceived
    } else if m.contains("firma") {
        CauseKind::Signature
    } else {
        CauseKind::Other
    }
}

/// Broad category of an [`ApiError`]: what the caller should do next.
///
/// Kinds that mean the same as an [`erp_hub_core::ErrorKind`] carry its name;
/// [`ApiErrorKind::core_kind`] (also `From`) maps every kind to the core one:
///
/// | kind | variants | core kind |
/// |---|---|---|
/// | `Validation` | [`ApiError::Rejected`], [`ApiError::Document`], [`ApiError::InvalidInput`] | `Validation` |
/// | `Auth` | [`ApiError::Auth`] | `Auth` |
/// | `Uncertain` | [`ApiError::Uncertain`] | `Uncertain` |
/// | `Pending` | [`ApiError::Pending`] | `Uncertain` (received, undecided: look it up, never re-POST) |
/// | `NotFound` | [`ApiError::NotFound`] | `NotFound` |
/// | `Transient` | [`ApiError::Http`] (network, throttling) | `Transient` |
/// | `Response` | [`ApiError::Response`] | `Uncertain` (the answer was lost: look it up) |
/// | `Config` | [`ApiError::Http`] (configuration) | `Config` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// The document or request cannot be accepted as it is: Hacienda refused it
    /// ([`ApiError::Rejected`]; it was **not** received) or this client did before sending
    /// ([`ApiError::Document`], [`ApiError::InvalidInput`]). Fix it.
    Validation,
    /// Credentials or token refused (fix the API user / password).
    Auth,
    /// The document may or may not have been received: call
    /// [`HaciendaClient::resume`](super::HaciendaClient::resume), never a blind re-POST.
    Uncertain,
    /// Received, but no final answer yet within the polling budget: poll again later.
    Pending,
    /// Hacienda does not know the clave.
    NotFound,
    /// Network failure or throttling that definitely did not submit anything: retry later.
    Transient,
    /// Hacienda answered something this client cannot read.
    Response,
    /// Bad configuration.
    Config,
}

impl ApiErrorKind {
    /// The [`erp_hub_core::ErrorKind`] that tells a caller the same thing (see the table above).
    pub fn core_kind(self) -> erp_hub_core::ErrorKind {
        use erp_hub_core::ErrorKind as K;
        match self {
            Self::Validation => K::Validation,
            Self::Auth => K::Auth,
            Self::Uncertain | Self::Pending | Self::Response => K::Uncertain,
            Self::NotFound => K::NotFound,
            Self::Transient => K::Transient,
            Self::Config => K::Config,
        }
    }
}

impl From<ApiErrorKind> for erp_hub_core::ErrorKind {
    fn from(kind: ApiErrorKind) -> Self {
        kind.core_kind()
    }
}

/// Errors of the Hacienda API client. See [`ApiErrorKind`] for what to do with each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Hacienda refused the request (`400` with `X-Error-Cause`, `403`, …); nothing was received.
    #[error("Hacienda refused the request: {0}")]
    Rejected(ErrorCause),
    /// The IDP refused the credentials or the refresh, or recepción kept answering `401`.
    #[error("authentication with Hacienda failed: {message}")]
    Auth {
        /// What failed (never contains a token or password).
        message: String,
    },
    /// The POST was sent and its answer lost, and the status lookup that should have settled it
    /// failed too. Call [`HaciendaClient::resume`](super::HaciendaClient::resume) later.
    #[error("the submission of {key} may or may not have been received: {message}")]
    Uncertain {
        /// The status key (clave, or `clave-consecutivoReceptor`).
        key: String,
        /// Why the status lookup failed too (transport error or unreadable answer).
        message: String,
    },
    /// Hacienda holds the document but had not decided within the polling budget.
    #[error("{key} is still {} after {polls} status queries", estado.as_ref().map_or("unlisted", Estado::as_str))]
    Pending {
        /// The status key.
        key: String,
        /// The last `ind-estado` seen (`None` while Hacienda did not list the clave yet).
        estado: Option<Estado>,
        /// How many status queries were made.
        polls: u32,
    },
    /// Hacienda does not know the clave (status lookup `404`).
    #[error("Hacienda does not know {key}: {cause}")]
    NotFound {
        /// The status key.
        key: String,
        /// The `X-Error-Cause` of the `404`.
        cause: ErrorCause,
    },
    /// The signed XML could not be read to build the request.
    #[error("cannot read the document to submit: {0}")]
    Document(#[from] crate::Error),
    /// The document or arguments cannot be submitted as they are.
    #[error("cannot submit: {0}")]
    InvalidInput(String),
    /// Hacienda's answer could not be read (bad JSON, base64 or MensajeHacienda).
    #[error("unreadable answer from Hacienda: {0}")]
    Response(String),
    /// Transport failures, throttling and configuration errors of the HTTP layer.
    #[error(transparent)]
    Http(erp_hub_core::Error),
}

impl ApiError {
    /// The category of this error.
    pub fn kind(&self) -> ApiErrorKind {
        match self {
            ApiError::Rejected(_) | ApiError::Document(_) | ApiError::InvalidInput(_) => {
                ApiErrorKind::Validation
            }
            ApiError::Auth { .. } => ApiErrorKind::Auth,
            ApiError::Uncertain { .. } => ApiErrorKind::Uncertain,
            ApiError::Pending { .. } => ApiErrorKind::Pending,
            ApiError::NotFound { .. } => ApiErrorKind::NotFound,
            ApiError::Response(_) => ApiErrorKind::Response,
            ApiError::Http(e) => match e.kind() {
                erp_hub_core::ErrorKind::Config => ApiErrorKind::Config,
                erp_hub_core::ErrorKind::Auth => ApiErrorKind::Auth,
                erp_hub_core::ErrorKind::Uncertain => ApiErrorKind::Uncertain,
                erp_hub_core::ErrorKind::Validation => ApiErrorKind::Validation,
                _ => ApiErrorKind::Transient,
            },
        }
    }

    /// The `X-Error-Cause` Hacienda gave, when this error carries one.
    pub fn cause(&self) -> Option<&ErrorCause> {
        match self {
            ApiError::Rejected(c) | ApiError::NotFound { cause: c, .. } => Some(c),
            _ => None,
        }
    }

    /// Whether calling again later may succeed without changing anything (transient failures and
    /// pending decisions). [`ApiErrorKind::Uncertain`] is not: resume instead.
    pub fn is_retriable(&self) -> bool {
        matches!(self.kind(), ApiErrorKind::Transient | ApiErrorKind::Pending)
    }

    /// Maps an error of the HTTP layer, keeping auth errors as [`ApiError::Auth`].
    pub(crate) fn from_http(e: erp_hub_core::Error) -> Self {
        match e {
            erp_hub_core::Error::Auth { message } => ApiError::Auth { message },
            other => ApiError::Http(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::http::HeaderValue;

    fn cause(status: u16, header: Option<&[u8]>, body: &str) -> ErrorCause {
        let mut h = HeaderMap::new();
        if let Some(v) = header {
            h.insert("x-error-cause", HeaderValue::from_bytes(v).unwrap());
        }
        ErrorCause::from_response(StatusCode::from_u16(status).unwrap(), &h, body.as_bytes())
    }

    #[test]
    fn every_kind_maps_to_the_core_kind_of_the_same_meaning() {
        use erp_hub_core::ErrorKind as K;
        let table = [
            (ApiErrorKind::Validation, K::Validation),
            (ApiErrorKind::Auth, K::Auth),
            (ApiErrorKind::Uncertain, K::Uncertain),
            (ApiErrorKind::Pending, K::Uncertain),
            (ApiErrorKind::NotFound, K::NotFound),
            (ApiErrorKind::Transient, K::Transient),
            (ApiErrorKind::Response, K::Uncertain),
            (ApiErrorKind::Config, K::Config),
        ];
        for (kind, core) in table {
            assert_eq!(kind.core_kind(), core, "{kind:?}");
            assert_eq!(K::from(kind), core, "{kind:?}");
            // Same meaning, same name: only the kinds core has no word for differ.
            let own_kind = matches!(kind, ApiErrorKind::Pending | ApiErrorKind::Response);
            assert!(
                format!("{kind:?}") == format!("{core:?}") || own_kind,
                "{kind:?} should be named {core:?}"
            );
        }
        let rejected = ApiError::Rejected(cause(400, Some(b"El emisor no coincide"), ""));
        assert_eq!(rejected.kind(), ApiErrorKind::Validation);
        let local = ApiError::InvalidInput("clave".into());
        assert_eq!(local.kind(), ApiErrorKind::Validation);
        let http = ApiError::Http(erp_hub_core::Error::transient("refused"));
        assert_eq!(http.kind().core_kind(), K::Transient);
        let http = ApiError::Http(erp_hub_core::Error::config("no url"));
        assert_eq!(http.kind(), ApiErrorKind::Config);
    }

    #[test]
    fn causes_are_decoded_and_classified() {
        let c = cause(
            400,
            Some("El comprobante [506…] ya fue recibido anteriormente.".as_bytes()),
            "",
        );
        assert_eq!(c.kind, CauseKind::AlreadyReceived);
        let c = cause(400, Some(b"Firma inv\xe1lida"), "");
        assert_eq!(
            (c.kind, c.message.as_str()),
            (CauseKind::Signature, "Firma inválida")
        );
        let c = cause(404, Some(b"no existe"), "");
        assert_eq!(c.kind, CauseKind::NotReceived);
        let c = cause(400, Some(b"El emisor no coincide"), "");
        assert_eq!(c.kind, CauseKind::Other);
        assert!(!c.validation_exception);
        // No header: the start of the body.
        let c = cause(400, None, "  {\"error\":\"bad json\"}  ");
        assert_eq!(c.message, "{\"error\":\"bad json\"}");
        let c = cause(400, None, &"x".repeat(1000));
        assert_eq!(c.message.chars().count(), 301);
        assert_eq!(
            cause(400, None, "").to_string(),
            "HTTP 400 without X-Error-Cause"
        );
    }
}
