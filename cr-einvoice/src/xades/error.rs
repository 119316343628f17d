//! The error type of key loading, signing and verification.

use crate::c14n::C14nError;

/// Broad category of a [`SignatureError`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureErrorKind {
    /// The `.p12` keystore, PIN, key or certificate could not be used.
    Key,
    /// The XML document is malformed or cannot be signed as given.
    Document,
    /// The signature is present but does not verify (tampered, wrong key, broken structure).
    Invalid,
    /// The signature uses an algorithm, transform or reference this crate does not support.
    Unsupported,
}

/// Why a key could not be loaded, or a document could not be signed or verified.
///
/// Variants may be added in minor releases.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The PIN does not open the `.p12` keystore (the MAC does not match or the key does
    /// not decrypt).
    #[error("wrong PIN for the .p12 keystore")]
    WrongPin,
    /// The `.p12` file is not a PKCS#12 keystore this crate can read.
    #[error("malformed .p12 keystore: {0}")]
    MalformedKeystore(String),
    /// The keystore holds no private key.
    #[error("the keystore holds no private key")]
    NoPrivateKey,
    /// No certificate in the keystore matches the private key.
    #[error("no certificate in the keystore matches the private key")]
    NoCertificate,
    /// The key is not an RSA key usable for RSA-SHA256.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// A certificate could not be parsed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// The document could not be parsed or canonicalized.
    #[error("malformed XML: {0}")]
    Xml(#[from] C14nError),
    /// The document already carries a `ds:Signature` child of the root.
    #[error("the document is already signed")]
    AlreadySigned,
    /// The root element is an empty-element tag (`<Root/>`); there is nothing to sign.
    #[error("the root element is empty")]
    EmptyRoot,
    /// No enveloped `ds:Signature` child of the root was found.
    #[error("no ds:Signature element under the document root")]
    MissingSignature,
    /// More than one `ds:Signature` child of the root.
    #[error("more than one ds:Signature element under the document root")]
    MultipleSignatures,
    /// The signature's structure is invalid (missing or duplicated elements, bad base64, a
    /// reference that does not cover the document or the signed properties, ...).
    #[error("invalid signature structure: {0}")]
    InvalidStructure(String),
    /// An algorithm (canonicalization, digest, signature) is not supported.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A transform is not supported.
    #[error("unsupported transform {0}")]
    UnsupportedTransform(String),
    /// A reference URI form is not supported (only `""` and `#id`).
    #[error("unsupported reference URI {0:?}")]
    UnsupportedReference(String),
    /// The digest of a reference does not match: the referenced content was changed.
    #[error("digest mismatch for reference {uri:?}")]
    DigestMismatch {
        /// The reference URI.
        uri: String,
    },
    /// The signature value does not verify with the signing key.
    #[error("the signature value does not verify")]
    BadSignature,
    /// The certificate does not match the signed `SigningCertificate` digest, or differs from
    /// the trusted certificate.
    #[error("the signing certificate does not match: {0}")]
    CertificateMismatch(String),
    /// The cryptographic backend failed.
    #[error("cryptographic operation failed")]
    Crypto,
}

impl SignatureError {
    /// The broad category of this error.
    #[must_use]
    pub const fn kind(&self) -> SignatureErrorKind {
        match self {
            Self::WrongPin
            | Self::MalformedKeystore(_)
            | Self::NoPrivateKey
            | Self::NoCertificate
            | Self::UnsupportedKey(_)
            | Self::InvalidCertificate(_)
            | Self::Crypto => SignatureErrorKind::Key,
            Self::Xml(_) | Self::AlreadySigned | Self::EmptyRoot => SignatureErrorKind::Document,
            Self::MissingSignature
            | Self::MultipleSignatures
            | Self::InvalidStructure(_)
            | Self::DigestMismatch { .. }
            | Self::BadSignature
            | Self::CertificateMismatch(_) => SignatureErrorKind::Invalid,
            Self::UnsupportedAlgorithm(_)
            | Self::UnsupportedTransform(_)
            | Self::UnsupportedReference(_) => SignatureErrorKind::Unsupported,
        }
    }
}
