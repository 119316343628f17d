//! The crate's error type.

use crate::clave::ClaveError;
use crate::validate::Report;

/// Why an XML document could not be read into a model.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML (or not UTF-8).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A `<!DOCTYPE …>` declaration (rejected: no DTDs, no entity expansion).
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// A reference to an entity other than the five predefined ones.
    #[error("entity reference &{0}; is not allowed")]
    Entity(String),
    /// The root element is not a v4.4 document we know.
    #[error("unknown root element {{{namespace}}}{name}")]
    UnknownRoot {
        /// Namespace URI of the root (empty when unbound).
        namespace: String,
        /// Local name of the root.
        name: String,
    },
    /// An element is in the wrong namespace.
    #[error("element {name} must be in namespace {expected}, found {found:?}")]
    Namespace {
        /// Local name.
        name: String,
        /// Expected namespace URI.
        expected: String,
        /// Namespace found (empty when unbound).
        found: String,
    },
    /// An element that is not allowed at this place (unknown, repeated too often, or out of the
    /// XSD order).
    #[error("unexpected element {found} in {parent}")]
    Unexpected {
        /// Parent element.
        parent: String,
        /// The element found.
        found: String,
    },
    /// A required element is missing.
    #[error("missing element {name} in {parent}")]
    Missing {
        /// Parent element.
        parent: String,
        /// Missing element.
        name: String,
    },
    /// An element of the schema that this crate does not model yet.
    #[error("element {0} is not supported by this version of cr-einvoice")]
    Unsupported(String),
    /// Text where only elements are allowed, or elements inside a simple value.
    #[error("element {0} has mixed content")]
    MixedContent(String),
    /// A value that cannot be read (not a number, not a date, unknown code, …).
    #[error("invalid value {value:?} in {element}: {reason}")]
    Value {
        /// Element.
        element: String,
        /// The raw text.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// An amount with more fraction digits than the schema allows.
    #[error("{element} = {value} has more than {max} decimals")]
    Decimals {
        /// Element.
        element: String,
        /// The raw text.
        value: String,
        /// Allowed fraction digits.
        max: u32,
    },
    /// The clave is malformed.
    #[error("invalid Clave: {0}")]
    Clave(ClaveError),
    /// `NumeroConsecutivo` differs from the consecutivo inside the clave.
    #[error("NumeroConsecutivo {consecutivo} differs from the one in the clave {clave}")]
    ConsecutivoMismatch {
        /// The clave.
        clave: String,
        /// The NumeroConsecutivo element.
        consecutivo: String,
    },
    /// The tipo in the consecutivo does not correspond to the root element.
    #[error(
        "the document type {tipo} of the consecutivo does not correspond to root element {root}"
    )]
    TipoMismatch {
        /// Tipo code found in the consecutivo.
        tipo: String,
        /// Root element.
        root: String,
    },
    /// Nesting deeper than any v4.4 document.
    #[error("document nesting exceeds {0} levels")]
    TooDeep(usize),
    /// The input is larger than [`crate::Limits::max_input_bytes`] (checked before parsing).
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An attribute the schema does not allow on this element (on the root as anywhere).
    #[error("attribute {attribute} is not allowed on {element}")]
    UnexpectedAttribute {
        /// The element carrying it.
        element: String,
        /// The attribute's qualified name.
        attribute: String,
    },
    /// An element where a required one belongs (unknown, repeated or out of the XSD order).
    #[error("unexpected element {found} in {parent} where {expected} is required")]
    Misplaced {
        /// Parent element.
        parent: String,
        /// The element found.
        found: String,
        /// The required element expected at this place.
        expected: String,
    },
}

/// Broad category of an [`Error`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Clave or consecutivo.
    Clave,
    /// Reading XML.
    Parse,
    /// The document breaks validation rules.
    Validation,
    /// Other bad arguments.
    InvalidInput,
    /// Keys, signing or signature verification.
    Signature,
}

/// Errors of this crate.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid clave or consecutivo.
    #[error("invalid clave/consecutivo: {0}")]
    Clave(#[from] ClaveError),
    /// The XML could not be read.
    #[error("XML error at byte {offset}: {reason}")]
    Parse {
        /// Byte offset in the input near the problem.
        offset: u64,
        /// What is wrong.
        reason: ParseError,
    },
    /// The document breaks one or more validation rules (writing refuses such documents).
    #[error("document is invalid: {0}")]
    Invalid(Report),
    /// An amount computation overflowed `rust_decimal` (absurdly large inputs).
    #[error("arithmetic overflow while computing {0}")]
    Overflow(&'static str),
    /// Unknown schema revision name.
    #[error("unknown schema revision {0:?} (expected 2024 or 2026)")]
    UnknownRevision(String),
    /// Signing, verification or key loading failed.
    #[error("signature: {0}")]
    Signature(#[from] crate::xades::SignatureError),
    /// The document is not one a receiver answers (only FE, ND and NC are; see [`crate::receive`]).
    #[error("a {} is not answered with a MensajeReceptor (only FE, ND and NC are)", tipo.code())]
    NotReceivable {
        /// The document's type.
        tipo: crate::TipoDocumento,
    },
    /// A [`crate::receive`] answer cannot be built as asked (consecutivo tipo, proportion, amounts, length).
    #[error("cannot answer the received document: {0}")]
    Receive(String),
    /// An aceptado or aceptado parcial was asked for a received document that is not
    /// [`is_acceptable`](crate::receive::Received::is_acceptable) (a receiver-side finding such as a
    /// certificate that is expired, not Hacienda's or not the emisor's, a document addressed to someone else,
    /// or a validation error): only a rechazado can answer it.
    #[error("cannot accept received comprobante {clave}: {}", codes.join(", "))]
    NotAcceptable {
        /// The received document's clave.
        clave: String,
        /// The codes of the findings ([`crate::receive::Finding::code`]) and of the validation errors
        /// ([`crate::validate::Rule::code`]), in that order.
        codes: Vec<String>,
        /// [`crate::receive::Received::summary`]: the codes with their detail.
        summary: String,
    },
    /// A `MensajeHacienda` answers a clave the caller never sent (see
    /// [`crate::receive::check_mensaje_hacienda`]): nothing of ours is updated from it.
    #[error("the MensajeHacienda answers clave {clave}, which is not one of ours")]
    UnknownClave {
        /// The clave the message answers.
        clave: crate::Clave,
    },
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Clave(_) => ErrorKind::Clave,
            Error::Parse { .. } => ErrorKind::Parse,
            Error::Invalid(_) => ErrorKind::Validation,
            Error::UnknownRevision(_)
            | Error::Overflow(_)
            | Error::NotReceivable { .. }
            | Error::Receive(_)
            | Error::NotAcceptable { .. }
            | Error::UnknownClave { .. } => ErrorKind::InvalidInput,
            Error::Signature(_) => ErrorKind::Signature,
        }
    }
}
