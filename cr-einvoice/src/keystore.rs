//! Signing keys and certificates: the Hacienda `.p12` "llave criptográfica".
//!
//! Hacienda issues the key as a PKCS#12 file protected by a numeric PIN. Older files use
//! the legacy PKCS#12 PBEs (`pbeWithSHA1And40BitRC2-CBC` for the certificate bag,
//! `pbeWithSHAAnd3-KeyTripleDES-CBC` for the key, SHA-1 MAC) that OpenSSL 3 only opens with
//! its legacy provider; newer ones use PBES2/PBKDF2/AES-256. Both are read by the pure-Rust
//! [`p12_keystore`] crate. The RSA key is then held by `aws-lc-rs`.
//!
//! ```no_run
//! use cr_einvoice::keystore::SigningKey;
//! use secrecy::SecretString;
//!
//! let p12 = std::fs::read("llave.p12")?;
//! let key = SigningKey::from_pkcs12(&p12, &SecretString::from("1234"))?;
//! println!("{}", key.certificate().subject());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

use crate::xades::SignatureError;

/// An X.509 certificate with the fields XAdES needs, parsed once. Cloning it is cheap (the
/// parsed fields are shared).
#[derive(Clone)]
pub struct Certificate {
    inner: std::sync::Arc<CertificateInner>,
}

/// The parsed fields of a [`Certificate`].
struct CertificateInner {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    /// The issuer as RDNs of normalized values, for comparing `X509IssuerName` by meaning.
    issuer_name: crate::xades::dn::Name,
    serial: String,
    rsa_public_key: Vec<u8>,
    /// The key parsed once for RSA PKCS#1 v1.5 SHA-256 (the Hacienda signature method), so
    /// that verifying many documents does not parse it every time; `None` if aws-lc rejects it
    /// for that use (verify then reports the failure).
    rsa_sha256: Option<aws_lc_rs::signature::ParsedPublicKey>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    /// SHA-256 of `der`, computed once: the usual `xades:CertDigest` of a signature.
    sha256: [u8; 32],
}

/// Certificates are equal when their DER encodings are.
impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.inner.der == other.inner.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.inner.subject)
            .field("issuer", &self.inner.issuer)
            .field("serial", &self.inner.serial)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// The issuer as normalized RDNs (see `xades::dn`).
    pub(crate) fn issuer_name(&self) -> &crate::xades::dn::Name {
        &self.inner.issuer_name
    }

    /// Whether `value` is the digest of the certificate's DER with `alg` (SHA-256 is computed
    /// once, when the certificate is parsed; other algorithms on each call).
    pub(crate) fn has_digest(&self, alg: &'static digest::Algorithm, value: &[u8]) -> bool {
        if alg == &digest::SHA256 {
            return self.inner.sha256.as_slice() == value;
        }
        digest::digest(alg, &self.inner.der).as_ref() == value
    }

    /// Parses a DER certificate. Only RSA certificates are accepted.
    ///
    /// # Errors
    /// [`SignatureError::InvalidCertificate`] if it does not parse,
    /// [`SignatureError::UnsupportedKey`] if its key is not RSA.
    pub fn from_der(der: &[u8]) -> Result<Self, SignatureError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| SignatureError::InvalidCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(SignatureError::InvalidCertificate("trailing data".into()));
        }
        let spki = cert.public_key();
        let (modulus, exponent) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => (
                strip_zeros(rsa.modulus).to_vec(),
                strip_zeros(rsa.exponent).to_vec(),
            ),
            Ok(_) => {
                return Err(SignatureError::UnsupportedKey(
                    "certificate key is not RSA".into(),
                ));
            }
            Err(e) => return Err(SignatureError::InvalidCertificate(e.to_string())),
        };
        let der = der[..der.len() - rest.len()].to_vec();
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest::digest(&digest::SHA256, &der).as_ref());
        Ok(Self {
            inner: std::sync::Arc::new(CertificateInner {
                sha256,
                der,
                subject: rfc4514(cert.subject()),
                issuer: rfc4514(cert.issuer()),
                issuer_name: crate::xades::dn::from_x509(cert.issuer()),
                serial: cert.tbs_certificate.serial.to_string(),
                rsa_public_key: spki.subject_public_key.data.to_vec(),
                rsa_sha256: aws_lc_rs::signature::ParsedPublicKey::new(
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    spki.subject_public_key.data.as_ref(),
                )
                .ok(),
                modulus,
                exponent,
            }),
        })
    }

    /// Whether both handles share one parse (a clone, or a cached certificate).
    #[cfg(test)]
    pub(crate) fn shares_parse_with(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Parses the first `CERTIFICATE` block of a PEM file.
    ///
    /// # Errors
    /// [`SignatureError::InvalidCertificate`] if there is no parsable PEM certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignatureError> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem)
            .map_err(|e| SignatureError::InvalidCertificate(format!("PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(SignatureError::InvalidCertificate(format!(
                "PEM label {}",
                pem.label
            )));
        }
        Self::from_der(&pem.contents)
    }

    /// The DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.inner.der
    }

    /// The subject as an RFC 4514 string (`CN=..., O=..., C=CR`).
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The issuer as an RFC 4514 string, as written in XAdES `ds:X509IssuerName`.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The serial number in decimal, as written in XAdES `ds:X509SerialNumber`.
    #[must_use]
    pub fn serial_number(&self) -> &str {
        &self.inner.serial
    }

    /// SHA-256 of the DER encoding.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        let d = digest::digest(&digest::SHA256, &self.inner.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// The PKCS#1 `RSAPublicKey` DER of the subject key.
    pub(crate) fn rsa_public_key(&self) -> &[u8] {
        &self.inner.rsa_public_key
    }

    /// The key parsed for RSA PKCS#1 v1.5 SHA-256, if aws-lc accepts it.
    pub(crate) fn rsa_sha256(&self) -> Option<&aws_lc_rs::signature::ParsedPublicKey> {
        self.inner.rsa_sha256.as_ref()
    }

    /// Big-endian modulus without leading zeros.
    pub(crate) fn modulus(&self) -> &[u8] {
        &self.inner.modulus
    }

    /// Big-endian public exponent without leading zeros.
    pub(crate) fn exponent(&self) -> &[u8] {
        &self.inner.exponent
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(i..).unwrap_or_default()
}

/// RFC 4514 string of a distinguished name (last RDN first).
fn rfc4514(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name
        .iter_rdn()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .enumerate()
    {
        if i > 0 {
            out.push_str(", ");
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            let short = match oid.as_str() {
                "2.5.4.3" => Some("CN"),
                "2.5.4.6" => Some("C"),
                "2.5.4.7" => Some("L"),
                "2.5.4.8" => Some("ST"),
                "2.5.4.9" => Some("STREET"),
                "2.5.4.10" => Some("O"),
                "2.5.4.11" => Some("OU"),
                "0.9.2342.19200300.100.1.1" => Some("UID"),
                "0.9.2342.19200300.100.1.25" => Some("DC"),
                _ => None,
            };
            match (short, atv.as_str()) {
                (Some(s), Ok(v)) => {
                    out.push_str(s);
                    out.push('=');
                    escape_rdn_value(&mut out, v);
                }
                _ => {
                    out.push_str(&oid);
                    out.push_str("=#");
                    // the DER of the value: tag, length, content
                    let v = atv.attr_value();
                    let mut der = Vec::new();
                    der.push(u8::try_from(v.tag().0).unwrap_or(0x04));
                    let len = v.data.len();
                    if len < 0x80 {
                        der.push(u8::try_from(len).unwrap_or(0));
                    } else {
                        let bytes = len.to_be_bytes();
                        let lb = strip_zeros(&bytes);
                        der.push(0x80 | u8::try_from(lb.len()).unwrap_or(0));
                        der.extend_from_slice(lb);
                    }
                    der.extend_from_slice(v.data);
                    for b in der {
                        out.push_str(&format!("{b:02x}"));
                    }
                }
            }
        }
    }
    out
}

fn escape_rdn_value(out: &mut String, v: &str) {
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
            continue;
        }
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

/// An RSA signing key with its certificate, ready to sign many documents.
///
/// Everything XAdES needs from the certificate (base64 DER, SHA-256 digest, issuer, serial,
/// modulus and exponent) is computed once here. `Debug` never shows key material.
pub struct SigningKey {
    key_pair: RsaKeyPair,
    certificate: Certificate,
    pub(crate) cert_b64: String,
    pub(crate) cert_digest_b64: String,
    pub(crate) modulus_b64: String,
    pub(crate) exponent_b64: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key", &"<redacted>")
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl SigningKey {
    /// Opens a `.p12` keystore with its PIN (legacy RC2/3DES and PBES2/AES files).
    ///
    /// Uses the first RSA private key in the file and the certificate whose public key
    /// matches it.
    ///
    /// # Errors
    /// [`SignatureError::WrongPin`], [`SignatureError::MalformedKeystore`],
    /// [`SignatureError::NoPrivateKey`], [`SignatureError::NoCertificate`],
    /// [`SignatureError::UnsupportedKey`].
    pub fn from_pkcs12(p12: &[u8], pin: &SecretString) -> Result<Self, SignatureError> {
        use p12_keystore::error::Error as P12Error;
        if let Some(label) = pem_label(p12) {
            return Err(SignatureError::MalformedKeystore(format!(
                "this is a PEM file ({label}), not a PKCS#12 (.p12) keystore; \
                 use SigningKey::from_pkcs8_der with the key and certificate, or convert with \
                 `openssl pkcs12 -export`"
            )));
        }
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(p12, pin.expose_secret()).map_err(
            |e| match e {
                P12Error::MacError(_) | P12Error::UnpadError => SignatureError::WrongPin,
                other => SignatureError::MalformedKeystore(other.to_string()),
            },
        )?;
        let Some(bag) = archive.keys.first() else {
            return Err(SignatureError::NoPrivateKey);
        };
        let key_pair = RsaKeyPair::from_pkcs8(bag.key.as_der())
            .map_err(|e| SignatureError::UnsupportedKey(e.to_string()))?;
        let public = key_pair.public_key().as_ref().to_vec();
        let certificate = archive
            .certs
            .iter()
            .filter_map(|c| Certificate::from_der(c.cert.as_der()).ok())
            .find(|c| c.rsa_public_key() == public.as_slice())
            .ok_or(SignatureError::NoCertificate)?;
        Ok(Self::assemble(key_pair, certificate))
    }

    /// Builds a key from an unencrypted PKCS#8 DER RSA key and its certificate.
    ///
    /// # Errors
    /// [`SignatureError::UnsupportedKey`] if the key is not RSA PKCS#8,
    /// [`SignatureError::CertificateMismatch`] if the certificate is for another key.
    pub fn from_pkcs8_der(pkcs8: &[u8], certificate: Certificate) -> Result<Self, SignatureError> {
        let key_pair = RsaKeyPair::from_pkcs8(pkcs8)
            .map_err(|e| SignatureError::UnsupportedKey(e.to_string()))?;
        if key_pair.public_key().as_ref() != certificate.rsa_public_key() {
            return Err(SignatureError::CertificateMismatch(
                "the certificate is not for this private key".into(),
            ));
        }
        Ok(Self::assemble(key_pair, certificate))
    }

    fn assemble(key_pair: RsaKeyPair, certificate: Certificate) -> Self {
        Self {
            cert_b64: B64.encode(certificate.der()),
            cert_digest_b64: B64.encode(certificate.sha256()),
            modulus_b64: B64.encode(certificate.modulus()),
            exponent_b64: B64.encode(certificate.exponent()),
            key_pair,
            certificate,
        }
    }

    /// The signing certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub(crate) fn sign_rsa_sha256(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut sig = vec![0u8; self.key_pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key_pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                message,
                &mut sig,
            )
            .map_err(|_| SignatureError::Crypto)?;
        Ok(sig)
    }
}

/// The label of the first PEM block (`-----BEGIN <label>-----`) if `data` is PEM text.
fn pem_label(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data.get(..data.len().min(4096))?).ok()?;
    let start = text.trim_start().strip_prefix("-----BEGIN ")?;
    let end = start.find("-----")?;
    Some(start[..end].to_owned())
}
