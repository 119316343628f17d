//! [`FiscalError`]: why an ERP record could not become a stamped CFDI.

use rust_decimal::Decimal;

use crate::pac::PacError;

/// Why an ERP record could not become a stamped CFDI. Every input problem names the record (our external
/// reference) and the field. Variants may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FiscalError {
    /// The customer's fiscal data is missing or invalid (RFC, régimen fiscal, postal code, UsoCFDI).
    #[error("{record}: customer {customer}: {field} {problem}")]
    Customer {
        /// The document (our external reference).
        record: String,
        /// The customer (our external reference).
        customer: String,
        /// The field, e.g. `tax_ids.mx_rfc.regimen_fiscal`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A line's item, unit or tax has no SAT catalog mapping (and the profile has no default).
    #[error("{record}: lines[{line}].{field}: no SAT mapping for {value:?} ({catalog})")]
    Unmapped {
        /// The document.
        record: String,
        /// 0-based line index.
        line: usize,
        /// The field (`item`, `unit`, `taxes`).
        field: &'static str,
        /// The value without mapping.
        value: String,
        /// The SAT catalog the value must map to (`c_ClaveProdServ`, `c_ClaveUnidad`, `c_Impuesto`).
        catalog: &'static str,
    },
    /// A field of the document is missing or invalid (e.g. `exchange_rate` of a document not in MXN).
    #[error("{record}: {field} {problem}")]
    Field {
        /// The document.
        record: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A document this one refers to has no stamp yet (the paid or credited invoice).
    #[error("{record}: {field} refers to {reference}, which has no stamped CFDI")]
    NotStamped {
        /// The document.
        record: String,
        /// The field (`invoice`, `applications[0].invoice`).
        field: String,
        /// Our external reference of the referenced document.
        reference: String,
    },
    /// The CFDI total would differ from the ERP total (SAT rounding rules); nothing was stamped.
    #[error("{record}: CFDI {field} {cfdi} differs from the ERP total {erp}; nothing was stamped")]
    TotalMismatch {
        /// The document.
        record: String,
        /// `Total` (or `Monto` of a payment).
        field: &'static str,
        /// The ERP's total.
        erp: Decimal,
        /// The total the CFDI would carry.
        cfdi: Decimal,
    },
    /// The CSD expired before the document's date. The message names the setting: `csd.cer`.
    #[error(
        "{record}: csd.cer: the CSD {no_certificado} expired on {not_after} (document date {at}); nothing was \
         stamped"
    )]
    CsdExpired {
        /// The document.
        record: String,
        /// The CSD's number.
        no_certificado: String,
        /// End of the CSD's validity.
        not_after: String,
        /// The document's Fecha.
        at: String,
    },
    /// The CFDI builder or the seal refused the document.
    #[error("{record}: {source}")]
    Cfdi {
        /// The document.
        record: String,
        /// What the builder said (field and place).
        #[source]
        source: Box<crate::Error>,
    },
    /// The profile is invalid or incomplete.
    #[error("fiscal profile: {field}: {problem}")]
    Profile {
        /// The setting, e.g. `csd.key`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The secret source has no secret of this name.
    #[error("secret {name:?} is not available from the secret source")]
    Secret {
        /// The secret's name (never its value).
        name: String,
    },
    /// Stamping failed (see [`PacError::is_definitely_not_stamped`]).
    #[error("{record}: {source}")]
    Pac {
        /// The document.
        record: String,
        /// The PAC's error.
        #[source]
        source: Box<PacError>,
    },
    /// A cancellation was requested and the SAT has not decided yet: ask again after `retry_after`.
    #[error(
        "{record}: cancellation of {uuid} is {state} ({detail}); next SAT status query in {} s",
        retry_after.as_secs_f64()
    )]
    CancellationPending {
        /// The invoice (our external reference).
        record: String,
        /// The CFDI's UUID.
        uuid: String,
        /// Where it stands ([`Requested`](erp_hub_core::fiscal::CancellationState::Requested) or
        /// [`AwaitingAcceptance`](erp_hub_core::fiscal::CancellationState::AwaitingAcceptance)).
        state: erp_hub_core::fiscal::CancellationState,
        /// The SAT's last status (or why it could not be read).
        detail: String,
        /// When to ask again.
        retry_after: std::time::Duration,
    },
    /// A payment receipt of the same invoice is journalled but not stamped yet (its PAC's answer is
    /// uncertain): this receipt's `NumParcialidad` and `ImpSaldoAnt` depend on it, so nothing is built until
    /// it is stamped or abandoned. Retry after `retry_after`.
    #[error(
        "{record}: {field} ({invoice}) has an earlier payment receipt {blocking} not stamped yet; \
         NumParcialidad and ImpSaldoAnt wait for it (retry in {} s)",
        retry_after.as_secs_f64()
    )]
    PaymentPending {
        /// The payment (our external reference).
        record: String,
        /// The application naming the invoice, e.g. `applications[0].invoice`.
        field: String,
        /// The invoice's UUID.
        invoice: String,
        /// The pending payment (our external reference).
        blocking: String,
        /// When to try again.
        retry_after: std::time::Duration,
    },
    /// The journal (or the directory) failed.
    #[error(transparent)]
    Store(#[from] erp_hub_core::Error),
}

/// The category of a [`FiscalError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FiscalErrorKind {
    /// The input cannot become a CFDI; fix the record or the profile.
    Input,
    /// The profile, a secret or the CSD is wrong.
    Config,
    /// A PAC may have stamped the document: retry later (the retry recovers the stamp).
    Uncertain,
    /// Nothing was stamped and a retry may succeed (no PAC reachable, the referenced invoice not stamped yet).
    Retry,
    /// The journal failed.
    Store,
}

impl FiscalError {
    /// The error's category.
    pub fn kind(&self) -> FiscalErrorKind {
        match self {
            Self::Customer { .. }
            | Self::Unmapped { .. }
            | Self::Field { .. }
            | Self::TotalMismatch { .. }
            | Self::Cfdi { .. } => FiscalErrorKind::Input,
            Self::NotStamped { .. }
            | Self::CancellationPending { .. }
            | Self::PaymentPending { .. } => FiscalErrorKind::Retry,
            Self::CsdExpired { .. } | Self::Profile { .. } | Self::Secret { .. } => {
                FiscalErrorKind::Config
            }
            Self::Pac { source, .. } => match source.kind().core_kind() {
                erp_hub_core::ErrorKind::Uncertain => FiscalErrorKind::Uncertain,
                erp_hub_core::ErrorKind::Validation => FiscalErrorKind::Input,
                erp_hub_core::ErrorKind::Auth | erp_hub_core::ErrorKind::Config => {
                    FiscalErrorKind::Config
                }
                _ => FiscalErrorKind::Retry,
            },
            Self::Store(_) => FiscalErrorKind::Store,
        }
    }

    /// The record (our external reference) the error is about, when it is about one.
    pub fn record(&self) -> Option<&str> {
        match self {
            Self::Customer { record, .. }
            | Self::Unmapped { record, .. }
            | Self::Field { record, .. }
            | Self::NotStamped { record, .. }
            | Self::TotalMismatch { record, .. }
            | Self::CsdExpired { record, .. }
            | Self::Cfdi { record, .. }
            | Self::CancellationPending { record, .. }
            | Self::PaymentPending { record, .. }
            | Self::Pac { record, .. } => Some(record),
            _ => None,
        }
    }

    /// The field path the error names (for [`erp_hub_core::FieldError::field`]).
    fn field_path(&self) -> String {
        match self {
            Self::Customer { field, .. } => format!("customer.{field}"),
            Self::Unmapped { line, field, .. } => format!("lines[{line}].{field}"),
            Self::Field { field, .. } | Self::TotalMismatch { field, .. } => (*field).to_owned(),
            Self::NotStamped { field, .. } | Self::PaymentPending { field, .. } => field.clone(),
            Self::CsdExpired { .. } => "csd.cer".into(),
            Self::Cfdi { source, .. } => match &**source {
                crate::Error::Build { field, place, .. } => match place {
                    Some(p) => format!("{p}.{field}"),
                    None => (*field).to_owned(),
                },
                _ => "cfdi".into(),
            },
            Self::Profile { field, .. } => field.clone(),
            Self::Secret { name } => format!("secret {name}"),
            Self::Pac { .. } => "pac".into(),
            Self::CancellationPending { .. } => "cancellation".into(),
            Self::Store(_) => "journal".into(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Customer { .. } => "customer_fiscal_data",
            Self::Unmapped { .. } => "unmapped",
            Self::Field { .. } => "field",
            Self::NotStamped { .. } => "not_stamped",
            Self::TotalMismatch { .. } => "total_mismatch",
            Self::CsdExpired { .. } => "csd_expired",
            Self::Cfdi { .. } => "cfdi_build",
            Self::Profile { .. } => "profile",
            Self::Secret { .. } => "secret",
            Self::Pac { .. } => "pac",
            Self::CancellationPending { .. } => "cancellation_pending",
            Self::PaymentPending { .. } => "payment_pending",
            Self::Store(_) => "journal",
        }
    }
}

impl From<FiscalError> for erp_hub_core::Error {
    /// Input problems become [`Validation`](erp_hub_core::ErrorKind::Validation) errors whose field names the
    /// record and the field (`inv-7: customer.tax_ids.mx_rfc.postal_code`) and whose code says which rule
    /// (`customer_fiscal_data`, `unmapped`, `total_mismatch`, …); the message is the full description.
    fn from(e: FiscalError) -> Self {
        use erp_hub_core::Error;
        let message = e.to_string();
        match e.kind() {
            FiscalErrorKind::Input => {
                let field = match e.record() {
                    Some(r) => format!("{r}: {}", e.field_path()),
                    None => e.field_path(),
                };
                let code = e.code();
                Error::validation(vec![
                    erp_hub_core::FieldError::new(field, message).with_code(code),
                ])
                .with_source(e)
            }
            FiscalErrorKind::Config => Error::config(message),
            FiscalErrorKind::Uncertain => Error::uncertain(message).with_source(e),
            FiscalErrorKind::Retry => match e {
                FiscalError::CancellationPending { retry_after, .. }
                | FiscalError::PaymentPending { retry_after, .. } => {
                    Error::retry_later(message, retry_after)
                }
                e => Error::transient(message).with_source(e),
            },
            FiscalErrorKind::Store => match e {
                FiscalError::Store(inner) => inner,
                other => Error::transient(other.to_string()),
            },
        }
    }
}
