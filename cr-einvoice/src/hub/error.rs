//! [`CrHubError`]: why an ERP record did not (yet) become a comprobante accepted by Hacienda.

use std::time::Duration;

use crate::api::ApiError;

/// Why an ERP record did not (yet) become a comprobante accepted by Hacienda. Every input problem names the
/// record (our external reference) and the field. Variants may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrHubError {
    /// A field of the ERP record is missing or invalid for a comprobante.
    #[error("{record}: {field} {problem}")]
    Field {
        /// The document (our external reference).
        record: String,
        /// The field, e.g. `lines[2].taxes`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A document this one refers to has no clave accepted by Hacienda yet (the credited or paid invoice).
    #[error("{record}: {field} refers to {reference}, which has no accepted comprobante yet")]
    NotIssued {
        /// The document.
        record: String,
        /// The field (`invoice`, `applications[0].invoice`).
        field: String,
        /// Our external reference of the referenced document.
        reference: String,
    },
    /// The document model refused the document (totals, clave, validation, signature).
    #[error("{record}: {source}")]
    Document {
        /// The document.
        record: String,
        /// What the document layer said.
        #[source]
        source: Box<crate::Error>,
    },
    /// Hacienda rejected the document (`rechazado`, or a `400` refusal of the `POST`). The clave and its
    /// consecutivo are used up, and the rejected comprobante has no fiscal effect (so no NC or ND refers to
    /// it): the correction is a **new** FE, never the same clave, issued from an ERP invoice whose
    /// `passthrough.cr_sustituye_rechazado` names the rejected one ([`super::SUSTITUYE_RECHAZADO`]: the new FE
    /// carries `InformacionReferencia` TipoDocIR 10, Numero the rejected clave, Codigo 16).
    #[error("{record}: Hacienda rejected clave {clave}: {detalle}")]
    Rechazado {
        /// The document.
        record: String,
        /// The rejected clave.
        clave: String,
        /// Hacienda's `DetalleMensaje` (or `X-Error-Cause`).
        detalle: String,
    },
    /// Hacienda holds the document (`recibido` / `procesando`) and has not decided yet: ask again after
    /// `retry_after`. Never re-`POST`ed.
    #[error(
        "{record}: clave {clave} is {estado} at Hacienda; poll the estado again in {retry_after:?}"
    )]
    Pending {
        /// The document.
        record: String,
        /// The clave.
        clave: String,
        /// The last `ind-estado`.
        estado: String,
        /// When to ask again.
        retry_after: Duration,
    },
    /// Hacienda could not be reached: the document is issued (signed, numbered, journalled; situación `3`
    /// when issued while Hacienda was down) and queued; it is submitted when Hacienda answers again.
    #[error(
        "{record}: contingencia: clave {clave} (situación {situacion}) issued and queued; Hacienda unreachable: {message}"
    )]
    Contingencia {
        /// The document.
        record: String,
        /// The clave.
        clave: String,
        /// Its situación digit.
        situacion: char,
        /// What failed.
        message: String,
    },
    /// Hacienda may hold the document (an answer was lost): the next attempt asks the estado first.
    #[error("{record}: clave {clave}: {message}")]
    Uncertain {
        /// The document.
        record: String,
        /// The clave.
        clave: String,
        /// What happened.
        message: String,
    },
    /// Hacienda's answer (MensajeHacienda) failed its signature check or does not belong to the clave; the
    /// document stays pending and the estado is asked again.
    #[error("{record}: the MensajeHacienda for clave {clave} is not trustworthy: {problem}")]
    Respuesta {
        /// The document.
        record: String,
        /// The clave.
        clave: String,
        /// What is wrong.
        problem: String,
    },
    /// The API client failed in a way that says nothing about the document (credentials, configuration).
    #[error("{record}: {source}")]
    Api {
        /// The document.
        record: String,
        /// The client's error.
        #[source]
        source: Box<ApiError>,
    },
    /// The profile is invalid or incomplete.
    #[error("fiscal profile: {field}: {problem}")]
    Profile {
        /// The setting, e.g. `llave.p12`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The journal or the numbering store failed.
    #[error(transparent)]
    Store(#[from] erp_hub_core::Error),
}

impl CrHubError {
    /// How long to wait before the next attempt, when the error says.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Pending { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    fn record(&self) -> Option<&str> {
        match self {
            Self::Field { record, .. }
            | Self::NotIssued { record, .. }
            | Self::Document { record, .. }
            | Self::Rechazado { record, .. }
            | Self::Pending { record, .. }
            | Self::Contingencia { record, .. }
            | Self::Uncertain { record, .. }
            | Self::Respuesta { record, .. }
            | Self::Api { record, .. } => Some(record),
            _ => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Field { .. } => "field",
            Self::NotIssued { .. } => "not_issued",
            Self::Document { .. } => "document",
            Self::Rechazado { .. } => "rechazado",
            Self::Pending { .. } => "pending",
            Self::Contingencia { .. } => "contingencia",
            Self::Uncertain { .. } => "uncertain",
            Self::Respuesta { .. } => "respuesta",
            Self::Api { .. } => "api",
            Self::Profile { .. } => "profile",
            Self::Store(_) => "store",
        }
    }
}

impl From<CrHubError> for erp_hub_core::Error {
    /// Input problems and rejections become [`Validation`](erp_hub_core::ErrorKind::Validation) errors (dead
    /// letters in the sync log, with Hacienda's detail).
    ///
    /// A document Hacienda holds but has not decided yet ([`CrHubError::Pending`]) becomes
    /// [`Error::retry_later`](erp_hub_core::Error::retry_later) (a [`Transient`](erp_hub_core::ErrorKind::Transient)
    /// whose [`retry_hint`](erp_hub_core::Error::retry_hint) is the poll time): the hub retries with the same
    /// key after that time instead of its own backoff, as for a cancellation awaiting the authority. This is
    /// safe although Hacienda holds the document: the hub's worker treats `Transient` and `Uncertain` alike
    /// (same key, retried), and what the retry does is decided by the journal, not by the error kind (a clave
    /// journalled as [`RECEIVED`](super::RECEIVED) is only asked for its estado, never `POST`ed again); no ERP
    /// write happened yet in [`FiscalOrder::StampThenPost`](erp_hub_core::fiscal::FiscalOrder), and in
    /// `PostThenStamp` the retry repeats the ERP write under its idempotency key. The sync log shows the
    /// message (clave, estado, when it is asked again).
    ///
    /// A document that may have reached Hacienda (an answer was lost) or whose answer was not trustworthy is
    /// [`Uncertain`](erp_hub_core::ErrorKind::Uncertain) (retried on the hub's backoff; the retry asks the
    /// estado first); contingency and a not-yet-issued reference are
    /// [`Transient`](erp_hub_core::ErrorKind::Transient) (retried; nothing reached Hacienda).
    fn from(e: CrHubError) -> Self {
        use erp_hub_core::Error;
        let message = e.to_string();
        match &e {
            CrHubError::Field { .. }
            | CrHubError::Document { .. }
            | CrHubError::Rechazado { .. } => {
                let field = match &e {
                    CrHubError::Field { record, field, .. } => format!("{record}: {field}"),
                    CrHubError::Rechazado { record, clave, .. } => {
                        format!("{record}: clave {clave}")
                    }
                    _ => e.record().unwrap_or_default().to_owned(),
                };
                let code = e.code();
                Error::validation(vec![
                    erp_hub_core::FieldError::new(field, message).with_code(code),
                ])
                .with_source(e)
            }
            // `retry_later` carries the hint as its source: adding `e` as source would drop it.
            CrHubError::Pending { retry_after, .. } => Error::retry_later(message, *retry_after),
            CrHubError::Uncertain { .. } | CrHubError::Respuesta { .. } => {
                Error::uncertain(message).with_source(e)
            }
            CrHubError::Contingencia { .. } | CrHubError::NotIssued { .. } => {
                Error::transient(message).with_source(e)
            }
            CrHubError::Api { source, .. } => match source.kind().core_kind() {
                erp_hub_core::ErrorKind::Auth => Error::auth(message),
                erp_hub_core::ErrorKind::Config => Error::config(message),
                erp_hub_core::ErrorKind::Uncertain => Error::uncertain(message).with_source(e),
                _ => Error::transient(message).with_source(e),
            },
            CrHubError::Profile { .. } => Error::config(message),
            CrHubError::Store(_) => match e {
                CrHubError::Store(inner) => inner,
                other => Error::transient(other.to_string()),
            },
        }
    }
}
