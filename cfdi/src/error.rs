//! The crate's error type.

use std::fmt;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate. Variants may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed XML (or not UTF-8).
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset where the problem was detected.
        position: u64,
        /// What went wrong.
        message: String,
    },
    /// A DOCTYPE or entity declaration was found. Rejected to rule out XXE and entity expansion.
    #[error(
        "DOCTYPE / entity declarations are not allowed in a CFDI (XXE and entity-expansion protection)"
    )]
    DtdForbidden,
    /// A reference to an entity that is not one of the five predefined XML entities.
    #[error("undefined entity reference &{0};")]
    UndefinedEntity(String),
    /// The XML declaration names an encoding other than UTF-8.
    #[error("unsupported encoding {0:?}: CFDI must be UTF-8")]
    UnsupportedEncoding(String),
    /// The root element is not `cfdi:Comprobante` in the CFDI 4.0 namespace.
    #[error("root element is {found}, expected {{http://www.sat.gob.mx/cfd/4}}Comprobante")]
    NotCfdi40 {
        /// `{namespace}local` of the root element found.
        found: String,
    },
    /// An element that the schema does not allow at this place.
    #[error("unexpected element {element} in {parent}")]
    UnexpectedElement {
        /// Path of the parent element.
        parent: String,
        /// `{namespace}local` of the element.
        element: String,
    },
    /// An attribute that the schema does not allow on this element.
    #[error("unexpected attribute {attribute} on {element}")]
    UnexpectedAttribute {
        /// Path of the element.
        element: String,
        /// The attribute's qualified name.
        attribute: String,
    },
    /// A required attribute is missing.
    #[error("missing attribute {attribute} on {element}")]
    MissingAttribute {
        /// Path of the element.
        element: String,
        /// The attribute's name.
        attribute: &'static str,
    },
    /// A required element is missing.
    #[error("missing element {element} in {parent}")]
    MissingElement {
        /// Path of the parent element.
        parent: String,
        /// The missing element's name.
        element: &'static str,
    },
    /// Non-whitespace text where only elements are allowed.
    #[error("unexpected text content in {element}")]
    UnexpectedText {
        /// Path of the element.
        element: String,
    },
    /// An attribute value that is not of the expected type (e.g. not a decimal).
    #[error("invalid value {value:?} for {element}/@{attribute}: expected {expected}")]
    InvalidValue {
        /// Path of the element.
        element: String,
        /// The attribute's name.
        attribute: &'static str,
        /// The value found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A complement (or `ComplementoConcepto` content) whose cadena-original XSLT is not
    /// implemented: computing a cadena without it would give a wrong seal.
    #[error("complement {{{namespace}}}{local_name} is not supported for the cadena original")]
    UnsupportedComplement {
        /// Namespace URI of the complement.
        namespace: String,
        /// Local name of the complement element.
        local_name: String,
    },
    /// The certificate (`.cer` or the `Certificado` attribute) cannot be read.
    #[error("invalid certificate: {0}")]
    Certificate(String),
    /// The private key (`.key`) cannot be read.
    #[error("invalid private key: {0}")]
    PrivateKey(String),
    /// The password does not decrypt the `.key`.
    #[error("wrong password for the private key")]
    WrongPassword,
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// The certificate is not valid at the document's date.
    #[error(
        "certificate {no_certificado} is not valid at {at} (valid {not_before} to {not_after})"
    )]
    CertificateNotValid {
        /// NoCertificado of the certificate.
        no_certificado: String,
        /// The date checked (the comprobante's `Fecha`).
        at: String,
        /// Start of validity (UTC).
        not_before: String,
        /// End of validity (UTC).
        not_after: String,
    },
    /// The `Sello` (or `SelloSAT`) does not verify against the cadena original.
    #[error("{0}")]
    SealInvalid(SealProblem),
    /// The builder was given inconsistent input: `field` (at `place`, with `value`) breaks `rule`.
    #[error(
        "cannot build the CFDI: {}{field}{}: {rule}",
        place.as_ref().map(|p| format!("{p}: ")).unwrap_or_default(),
        value.as_ref().map(|v| format!(" {v:?}")).unwrap_or_default()
    )]
    Build {
        /// The SAT attribute or element that breaks the rule, as named in the XSD (`"Cantidad"`,
        /// `"TipoCambio"`, `"Concepto"`, …).
        field: &'static str,
        /// Which concepto, pago or paid document it belongs to; `None` for the comprobante.
        place: Option<BuildPlace>,
        /// The value given, as text, when there was one.
        value: Option<String>,
        /// The rule the value breaks.
        rule: BuildRule,
    },
    /// An I/O error without a file name (see [`Error::File`] for reads of named files).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Sealing with a certificate that is not a SAT CSD (an e.firma, or not issued by SAT):
    /// PACs reject such CFDI (CFDI40106). [`crate::Csd::allow_non_csd`] lifts the check (tests).
    #[error(
        "certificate {no_certificado} ({rfc}) is {kind}, not a CSD: PACs reject CFDI sealed with it (CFDI40106)"
    )]
    NotCsd {
        /// What the certificate is.
        kind: crate::CertificateKind,
        /// Its number.
        no_certificado: String,
        /// The RFC in it (empty if none).
        rfc: String,
    },
    /// Reading a named file failed.
    #[error("cannot read {}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input is larger than [`crate::Limits::max_input_bytes`] (checked before parsing).
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements nest deeper than [`crate::Limits::max_depth`].
    #[error("element nesting deeper than {limit} levels at byte {position}")]
    TooDeep {
        /// Byte offset of the start tag that went too deep.
        position: u64,
        /// The limit.
        limit: usize,
    },
    /// An attribute appears twice on one element (not well-formed XML).
    #[error("duplicated attribute {attribute} on {element}")]
    DuplicateAttribute {
        /// Element path.
        element: String,
        /// The attribute.
        attribute: String,
    },
}

/// Where in the builder's input an [`Error::Build`] was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildPlace {
    /// The n-th concepto (1-based, in the order given to the builder).
    Concepto(usize),
    /// The n-th `pago20:Pago` (1-based).
    Pago(usize),
    /// The `pago20:DoctoRelacionado` with this `IdDocumento` (UUID of the paid invoice).
    DoctoRelacionado(String),
}

impl fmt::Display for BuildPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Concepto(n) => write!(f, "concepto {n}"),
            Self::Pago(n) => write!(f, "pago {n}"),
            Self::DoctoRelacionado(id) => write!(f, "DoctoRelacionado {id}"),
        }
    }
}

/// The rule an [`Error::Build`] input breaks. `Display` says what the rule requires.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildRule {
    /// The field (or at least one element of it) is required.
    Required,
    /// The field is required because another field has this value (e.g. `TipoCambio` when
    /// `Moneda` is not MXN).
    RequiredWhen {
        /// The other field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// The field is not allowed because another field has this value (e.g. taxes on a
    /// concepto whose `ObjetoImp` is `01`).
    NotAllowedWhen {
        /// The other field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// The value must be greater than zero.
    NotPositive,
    /// The value must lie in `min..=max`.
    OutOfRange {
        /// Smallest allowed value.
        min: rust_decimal::Decimal,
        /// Largest allowed value (for amounts: 18 integer digits, `t_Importe`).
        max: rust_decimal::Decimal,
    },
    /// The value has more decimal places than SAT allows.
    TooManyDecimals {
        /// Decimal places allowed.
        max: u32,
    },
    /// A computed amount does not fit a decimal (the inputs are far too large).
    Overflow,
    /// The currency is not in `c_Moneda`, so its number of decimals is unknown.
    UnknownCurrency,
}

impl fmt::Display for BuildRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => f.write_str("is required"),
            Self::RequiredWhen { field, value } => {
                write!(f, "is required when {field} is {value:?}")
            }
            Self::NotAllowedWhen { field, value } => {
                write!(f, "is not allowed when {field} is {value:?}")
            }
            Self::NotPositive => f.write_str("must be greater than zero"),
            Self::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Self::TooManyDecimals { max } => write!(f, "must have at most {max} decimals"),
            Self::Overflow => f.write_str("overflows: the computed amount is out of range"),
            Self::UnknownCurrency => f.write_str("is not in c_Moneda (its decimals are unknown)"),
        }
    }
}

/// Why a seal did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealProblem {
    /// The document has no `Sello` (or the TFD no `SelloSAT`).
    Missing,
    /// The `Sello` is not valid base64.
    NotBase64,
    /// The RSA-SHA256 signature does not match the cadena original.
    Mismatch,
    /// `NoCertificado` differs from the embedded certificate's serial.
    NoCertificadoMismatch {
        /// `NoCertificado` attribute.
        attribute: String,
        /// Serial of the certificate (as ASCII).
        certificate: String,
    },
    /// The TFD's `SelloCFD` differs from the comprobante's `Sello`.
    SelloCfdMismatch,
    /// The document has no TimbreFiscalDigital.
    NoTimbre,
}

impl fmt::Display for SealProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("the document has no seal"),
            Self::NotBase64 => f.write_str("the seal is not valid base64"),
            Self::Mismatch => f.write_str(
                "the seal does not verify: the RSA-SHA256 signature does not match the cadena original",
            ),
            Self::NoCertificadoMismatch {
                attribute,
                certificate,
            } => write!(
                f,
                "NoCertificado {attribute:?} differs from the certificate's number {certificate:?}"
            ),
            Self::SelloCfdMismatch => f.write_str("TimbreFiscalDigital/@SelloCFD differs from Sello"),
            Self::NoTimbre => f.write_str("the document has no TimbreFiscalDigital"),
        }
    }
}

/// Coarse classification of an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not well-formed, forbidden DTD/entities, wrong encoding.
    Xml,
    /// Well-formed XML that does not match the CFDI 4.0 structure.
    Schema,
    /// A feature this crate does not implement (e.g. a complement's cadena).
    Unsupported,
    /// Certificate or private-key problems, wrong password, mismatch, validity.
    Credentials,
    /// A seal did not verify.
    Seal,
    /// Invalid builder input.
    Build,
    /// I/O.
    Io,
}

impl Error {
    /// The error's [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Xml { .. }
            | Self::DtdForbidden
            | Self::UndefinedEntity(_)
            | Self::UnsupportedEncoding(_) => ErrorKind::Xml,
            Self::NotCfdi40 { .. }
            | Self::UnexpectedElement { .. }
            | Self::UnexpectedAttribute { .. }
            | Self::MissingAttribute { .. }
            | Self::MissingElement { .. }
            | Self::UnexpectedText { .. }
            | Self::InvalidValue { .. } => ErrorKind::Schema,
            Self::UnsupportedComplement { .. } => ErrorKind::Unsupported,
            Self::Certificate(_)
            | Self::PrivateKey(_)
            | Self::WrongPassword
            | Self::KeyMismatch
            | Self::CertificateNotValid { .. } => ErrorKind::Credentials,
            Self::SealInvalid(_) => ErrorKind::Seal,
            Self::Build { .. } => ErrorKind::Build,
            Self::Io(_) | Self::File { .. } => ErrorKind::Io,
            Self::NotCsd { .. } => ErrorKind::Credentials,
            Self::TooLarge { .. } | Self::TooDeep { .. } | Self::DuplicateAttribute { .. } => {
                ErrorKind::Xml
            }
        }
    }
}
