//! XAdES-EPES signing and verification for Hacienda v4.4 documents.
//!
//! [`sign`] appends an enveloped `ds:Signature` as the last child of the document root and
//! returns the final bytes: the input bytes are copied unchanged around the inserted
//! signature, and every digest is computed by this crate's canonicalizer ([`crate::c14n`])
//! over those exact bytes **in document context** (inherited namespaces included), so the
//! signed document is never re-serialized after signing.
//!
//! The signature follows the shape Hacienda's validators and common Costa Rican signers
//! expect:
//! * Canonical XML 1.0 (inclusive), RSA-SHA256, SHA-256 digests;
//! * three references: the document (`URI=""`, enveloped-signature transform), `ds:KeyInfo`
//!   (certificate and RSA key value), and `xades:SignedProperties`;
//! * `SignedProperties` with `SigningTime` in Costa Rica time (`-06:00`),
//!   `SigningCertificate` (SHA-256 digest and issuer/serial), the v4.4
//!   `SignaturePolicyIdentifier` and a `DataObjectFormat` for the document reference.
//!
//! [`verify`] checks such signatures and also the two-reference exclusive-C14N style some
//! issuers and Hacienda's own `MensajeHacienda` use.
//!
//! ```
//! use cr_einvoice::keystore::SigningKey;
//! use cr_einvoice::xades::{self, SignOptions};
//! use secrecy::SecretString;
//!
//! let p12 = include_bytes!("../../tests/fixtures/keys/test-aes.p12");
//! let key = SigningKey::from_pkcs12(p12, &SecretString::from("1234"))?;
//! let unsigned = include_bytes!("../../tests/fixtures/unsigned/FE_v4.4_minimal_unsigned.xml");
//! let signed = xades::sign(unsigned, &key, &SignOptions::new())?;
//! let checked = xades::verify(&signed, Some(key.certificate()))?;
//! assert_eq!(checked.certificate().der(), key.certificate().der());
//! # Ok::<(), cr_einvoice::xades::SignatureError>(())
//! ```

pub(crate) mod dn;
mod dom;
mod error;
mod sign;
mod verify;

pub use error::{SignatureError, SignatureErrorKind};
pub use sign::{SignOptions, SignaturePolicy, sign};
pub use verify::{VerifiedSignature, verify, verify_with_limits};

/// XAdES 1.3.2 namespace (`xades:`).
pub const XADES_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// XML-DSig namespace (`ds:`).
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// `Type` of the reference to `xades:SignedProperties`.
pub const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";

/// Runs [`verify`] on arbitrary bytes and discards the result (fuzzing entry point; must
/// never panic).
#[doc(hidden)]
pub fn fuzz_verify(data: &[u8]) {
    let _ = verify(data, None);
}
