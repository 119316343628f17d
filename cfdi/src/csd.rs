//! SAT certificates (`.cer`) and private keys (`.key`): CSD loading, sealing and signature checks.
//!
//! * `.cer`: X.509, DER or PEM.
//! * `.key`: PKCS#8 `EncryptedPrivateKeyInfo` DER as issued by SAT (PBES2 + PBKDF2-HMAC-SHA1 +
//!   3DES-CBC; the SHA-1 / 3DES support is required for these files), an encrypted PKCS#8 PEM, or an
//!   unencrypted PKCS#8 / PKCS#1 PEM.
//! * RSA PKCS#1 v1.5 with SHA-256 is computed with `aws-lc-rs` (feature `aws-lc-rs`, default) or
//!   the pure-Rust `rsa` crate (feature `pure-rust-rsa`; note RUSTSEC-2023-0071, the Marvin timing
//!   attack on RSA *decryption*, is unfixed in every `rsa` release — signing with your own key on
//!   your own machine is the low-risk case, but prefer the default backend).

#[cfg(not(any(feature = "aws-lc-rs", feature = "pure-rust-rsa")))]
compile_error!(
    "sat-cfdi needs an RSA backend: enable feature `aws-lc-rs` (default) or `pure-rust-rsa`"
);

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::model::Comprobante;

/// What a certificate is: a SAT CSD (Certificado de Sello Digital, for invoices), a SAT e.firma
/// (FIEL, for the taxpayer's own signature) or not a SAT certificate at all.
///
/// The rule, read from the certificate's own fields (no chain check against SAT's CA
/// certificates is made — pin those yourself if you need proof of origin):
/// * **not SAT** unless the issuer's organization is `SERVICIO DE ADMINISTRACION TRIBUTARIA`
///   (compared in upper case without accents; SAT's production CA "AC DEL SERVICIO DE
///   ADMINISTRACION TRIBUTARIA", its test CA "AC UAT" and the older test CA "A.C. 2 de
///   pruebas(4096)" all carry it);
/// * **CSD** if the subject has an organizational unit (the branch name; phpcfdi/credentials
///   `docs/TODO.md`: "si \[OU\] está vacío es FIEL, si tiene contenido es CSD") and the key usage
///   allows signing only — digitalSignature and/or nonRepudiation, as all six SAT test CSDs in
///   `tests/fixtures/csd/` have;
/// * **e.firma** otherwise (no OU, or key usage that also allows encipherment or key agreement,
///   as e.firma certificates do: the SAT test e.firmas `30001000000400002311` (XIQB891116QE4)
///   and `30001000000400002460` (H&E951128469) embedded in the satcfdi sample CFDI have no OU and
///   key usage digitalSignature, nonRepudiation, dataEncipherment, keyAgreement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateKind {
    /// CSD: used to seal CFDI.
    Csd,
    /// e.firma (FIEL). PACs reject CFDI sealed with it (CFDI40106).
    Efirma,
    /// Not issued by SAT (for example self-signed). PACs reject CFDI sealed with it.
    NotSat,
}

impl fmt::Display for CertificateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Csd => "a CSD",
            Self::Efirma => "an e.firma",
            Self::NotSat => "not a SAT certificate",
        })
    }
}

/// SAT's organization name in the issuer of every certificate it issues.
const SAT_ISSUER_ORG: &str = "SERVICIO DE ADMINISTRACION TRIBUTARIA";

/// Reads a file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::File {
        path: path.to_path_buf(),
        source,
    })
}

/// A SAT X.509 certificate.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    no_certificado: String,
    rfc: String,
    nombre: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    kind: CertificateKind,
    /// PKCS#1 `RSAPublicKey` DER.
    rsa_public_key: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("no_certificado", &self.no_certificado)
            .field("rfc", &self.rfc)
            .field("nombre", &self.nombre)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn cert_err(e: impl fmt::Display) -> Error {
    Error::Certificate(e.to_string())
}

/// Decodes the body of a PEM block with the given label, if `data` looks like PEM.
fn pem_body(data: &[u8], label: &str) -> Option<Result<Vec<u8>>> {
    let text = std::str::from_utf8(data).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text.get(start..)?.find(&end)?;
    let b64: String = text
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some(
        B64.decode(b64)
            .map_err(|e| Error::Certificate(format!("bad PEM base64: {e}"))),
    )
}

impl Certificate {
    /// Reads a certificate from DER or PEM bytes.
    ///
    /// # Errors
    /// [`Error::Certificate`] if it is not an X.509 certificate with an RSA key.
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        match pem_body(data, "CERTIFICATE") {
            Some(der) => Self::from_der(&der?),
            None => Self::from_der(data),
        }
    }

    /// Reads a `.cer` file (DER or PEM).
    ///
    /// # Errors
    /// [`Error::File`] (naming the path) or as [`Certificate::from_bytes`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_bytes(&read_file(path.as_ref())?)
    }

    /// Reads the base64 DER found in a comprobante's `Certificado` attribute.
    ///
    /// # Errors
    /// [`Error::Certificate`] if it is not base64 or not a certificate.
    pub fn from_base64(b64: &str) -> Result<Self> {
        let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = B64
            .decode(clean)
            .map_err(|e| Error::Certificate(format!("Certificado is not base64: {e}")))?;
        Self::from_der(&der)
    }

    /// Reads a DER certificate.
    ///
    /// # Errors
    /// [`Error::Certificate`] if it is not an X.509 certificate with an RSA key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        use x509_parser::oid_registry::{
            OID_PKCS1_RSAENCRYPTION, OID_X509_COMMON_NAME, OID_X509_NAME,
            OID_X509_UNIQUE_IDENTIFIER,
        };
        let (rest, cert) = x509_parser::parse_x509_certificate(der).map_err(cert_err)?;
        if !rest.is_empty() {
            return Err(Error::Certificate(
                "trailing bytes after the certificate".into(),
            ));
        }
        let serial = cert.raw_serial();
        let no_certificado = if !serial.is_empty() && serial.iter().all(u8::is_ascii_graphic) {
            String::from_utf8_lossy(serial).into_owned()
        } else {
            serial.iter().map(|b| format!("{b:02x}")).collect()
        };
        let subject = cert.subject();
        let (oid_uid, oid_name, oid_cn) = (
            OID_X509_UNIQUE_IDENTIFIER,
            OID_X509_NAME,
            OID_X509_COMMON_NAME,
        );
        let attr_str = |oid: &x509_parser::der_parser::Oid<'static>| -> Option<String> {
            subject.iter_by_oid(oid).next().map(|a| match a.as_str() {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8_lossy(a.attr_value().data).into_owned(),
            })
        };
        let rfc = attr_str(&oid_uid)
            .map(|s| s.split('/').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let nombre = attr_str(&oid_name)
            .or_else(|| attr_str(&oid_cn))
            .unwrap_or_default();
        let kind = classify(&cert);
        let spki = cert.public_key();
        if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
            return Err(Error::Certificate("not an RSA certificate".into()));
        }
        let v = cert.validity();
        let ts = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        Ok(Self {
            der: der.to_vec(),
            no_certificado,
            rfc,
            nombre,
            not_before: ts(v.not_before.timestamp()),
            not_after: ts(v.not_after.timestamp()),
            kind,
            rsa_public_key: spki.subject_public_key.data.to_vec(),
        })
    }

    /// `NoCertificado`: the serial number's bytes read as ASCII (20 digits for SAT certificates).
    pub fn no_certificado(&self) -> &str {
        &self.no_certificado
    }

    /// RFC of the holder (first value of `x500UniqueIdentifier`; a company's certificate also names
    /// its legal representative after a `/`).
    pub fn rfc(&self) -> &str {
        &self.rfc
    }

    /// Name of the holder (`name` or `CN`).
    pub fn nombre(&self) -> &str {
        &self.nombre
    }

    /// Start of validity.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// CSD, e.firma or not a SAT certificate (rule on [`CertificateKind`]).
    pub fn kind(&self) -> CertificateKind {
        self.kind
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Base64 of the DER, as written in the `Certificado` attribute.
    pub fn to_base64(&self) -> String {
        B64.encode(&self.der)
    }

    /// Whether `at` is inside the validity period.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Whether a CFDI `Fecha` (local time, no offset) is inside the validity period. `Fecha` is
    /// interpreted in UTC−06:00 (Mexico City).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if `fecha` is not `AAAA-MM-DDThh:mm:ss`.
    pub fn is_valid_at_fecha(&self, fecha: &str) -> Result<bool> {
        Ok(self.is_valid_at(fecha_to_utc(fecha)?))
    }

    /// Checks an RSA PKCS#1 v1.5 SHA-256 signature of `message` made with this certificate's key.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        backend::verify(&self.rsa_public_key, message, signature)
    }
}

/// Upper case without the accents of Spanish vowels: SAT's old test CA spells its organization
/// `Servicio de Administración Tributaria`.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'Á' => 'A',
            'é' | 'É' => 'E',
            'í' | 'Í' => 'I',
            'ó' | 'Ó' => 'O',
            'ú' | 'Ú' | 'ü' | 'Ü' => 'U',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// [`CertificateKind`] from the issuer, subject OU and key usage (rule on [`CertificateKind`]).
fn classify(cert: &x509_parser::certificate::X509Certificate<'_>) -> CertificateKind {
    let sat_issued = cert
        .issuer()
        .iter_organization()
        .any(|o| o.as_str().is_ok_and(|s| fold(s.trim()) == SAT_ISSUER_ORG));
    if !sat_issued {
        return CertificateKind::NotSat;
    }
    let has_ou = cert.subject().iter_organizational_unit().next().is_some();
    let signing_only = match cert.key_usage() {
        Ok(Some(ku)) => {
            let ku = ku.value;
            (ku.digital_signature() || ku.non_repudiation())
                && !(ku.key_encipherment()
                    || ku.data_encipherment()
                    || ku.key_agreement()
                    || ku.key_cert_sign()
                    || ku.crl_sign())
        }
        // SAT certificates always carry key usage
        _ => false,
    };
    if has_ou && signing_only {
        CertificateKind::Csd
    } else {
        CertificateKind::Efirma
    }
}

/// Parses a CFDI date-time (`AAAA-MM-DDThh:mm:ss`, Mexico City time) into UTC.
pub(crate) fn fecha_to_utc(fecha: &str) -> Result<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(fecha.trim(), "%Y-%m-%dT%H:%M:%S").map_err(|_| {
        Error::InvalidValue {
            element: "Comprobante".into(),
            attribute: "Fecha",
            value: fecha.into(),
            expected: "AAAA-MM-DDThh:mm:ss",
        }
    })?;
    // UTC-6 is always a valid offset; the UTC fallback only satisfies the Option.
    let offset = FixedOffset::west_opt(6 * 3600).unwrap_or_else(|| Utc.fix());
    Ok(naive
        .and_local_timezone(offset)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc()))
}

/// RSA backend used for signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// `aws-lc-rs` (feature `aws-lc-rs`, default).
    #[cfg(feature = "aws-lc-rs")]
    AwsLc,
    /// The pure-Rust `rsa` crate (feature `pure-rust-rsa`).
    #[cfg(feature = "pure-rust-rsa")]
    RustCrypto,
}

/// An RSA private key (from a SAT `.key`). `Debug` never shows key material.
pub struct PrivateKey {
    #[cfg(feature = "aws-lc-rs")]
    aws: aws_lc_rs::signature::RsaKeyPair,
    #[cfg(feature = "pure-rust-rsa")]
    rc: rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>,
    /// PKCS#1 `RSAPublicKey` DER of the matching public key.
    public_key: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey { .. }")
    }
}

impl PrivateKey {
    /// Reads a key: SAT `.key` (encrypted PKCS#8 DER), `ENCRYPTED PRIVATE KEY` PEM (both need the
    /// password), or unencrypted `PRIVATE KEY` (PKCS#8) / `RSA PRIVATE KEY` (PKCS#1) PEM.
    ///
    /// # Errors
    /// [`Error::WrongPassword`] if the password does not decrypt it, [`Error::PrivateKey`] if the
    /// data is not an RSA private key.
    pub fn from_bytes(data: &[u8], password: &SecretString) -> Result<Self> {
        if let Some(der) = pem_body(data, "ENCRYPTED PRIVATE KEY") {
            return Self::from_encrypted_der(&der.map_err(to_key_err)?, password);
        }
        if let Some(der) = pem_body(data, "PRIVATE KEY") {
            return Self::from_pkcs8_der(&der.map_err(to_key_err)?);
        }
        if let Some(der) = pem_body(data, "RSA PRIVATE KEY") {
            let der = der.map_err(to_key_err)?;
            return Self::from_pkcs8_der(&pkcs1_to_pkcs8(&der));
        }
        Self::from_encrypted_der(data, password)
    }

    /// Reads a `.key` file. See [`PrivateKey::from_bytes`].
    ///
    /// # Errors
    /// [`Error::File`] (naming the path) or as [`PrivateKey::from_bytes`].
    pub fn from_file(path: impl AsRef<Path>, password: &SecretString) -> Result<Self> {
        Self::from_bytes(&read_file(path.as_ref())?, password)
    }

    /// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (DER).
    ///
    /// # Errors
    /// As [`PrivateKey::from_bytes`].
    pub fn from_encrypted_der(der: &[u8], password: &SecretString) -> Result<Self> {
        use pkcs8::der::Decode;
        let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der)
            .map_err(|e| Error::PrivateKey(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}")))?;
        let doc = info
            .decrypt(password.expose_secret().as_bytes())
            .map_err(|_| Error::WrongPassword)?;
        // A wrong password very rarely yields valid padding; the result is then not a key.
        Self::from_pkcs8_der(doc.as_bytes()).map_err(|_| Error::WrongPassword)
    }

    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (DER) holding an RSA key.
    ///
    /// # Errors
    /// [`Error::PrivateKey`] if it is not one.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        #[cfg(feature = "aws-lc-rs")]
        let (aws, public_key) = {
            use aws_lc_rs::signature::KeyPair;
            let k = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der)
                .map_err(|e| Error::PrivateKey(e.to_string()))?;
            let public = k.public_key().as_ref().to_vec();
            (k, public)
        };
        #[cfg(feature = "pure-rust-rsa")]
        let (rc, rc_public) = {
            use rsa::pkcs1::EncodeRsaPublicKey;
            use rsa::pkcs8::DecodePrivateKey;
            let k = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| Error::PrivateKey(e.to_string()))?;
            let public = rsa::RsaPublicKey::from(&k)
                .to_pkcs1_der()
                .map_err(|e| Error::PrivateKey(e.to_string()))?
                .as_bytes()
                .to_vec();
            (
                rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(k),
                public,
            )
        };
        #[cfg(all(not(feature = "aws-lc-rs"), feature = "pure-rust-rsa"))]
        let public_key = rc_public;
        // no backend: only the compile_error! above is reported (this keeps the rest compiling)
        #[cfg(not(any(feature = "aws-lc-rs", feature = "pure-rust-rsa")))]
        let public_key: Vec<u8> = {
            let _ = der;
            Vec::new()
        };
        #[cfg(all(feature = "aws-lc-rs", feature = "pure-rust-rsa"))]
        if rc_public != public_key {
            return Err(Error::PrivateKey(
                "backends disagree on the public key".into(),
            ));
        }
        Ok(Self {
            #[cfg(feature = "aws-lc-rs")]
            aws,
            #[cfg(feature = "pure-rust-rsa")]
            rc,
            public_key,
        })
    }

    /// Whether this key is the private half of `cert`.
    pub fn matches(&self, cert: &Certificate) -> bool {
        self.public_key == cert.rsa_public_key
    }

    /// RSA PKCS#1 v1.5 SHA-256 signature of `message` with the default backend.
    ///
    /// # Errors
    /// [`Error::PrivateKey`] if the backend fails.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "aws-lc-rs")]
        return self.sign_sha256_with(Backend::AwsLc, message);
        #[cfg(all(not(feature = "aws-lc-rs"), feature = "pure-rust-rsa"))]
        return self.sign_sha256_with(Backend::RustCrypto, message);
        #[cfg(not(any(feature = "aws-lc-rs", feature = "pure-rust-rsa")))]
        return {
            let _ = message;
            Err(Error::PrivateKey("no RSA backend".into()))
        };
    }

    /// RSA PKCS#1 v1.5 SHA-256 signature of `message` with a chosen backend.
    ///
    /// # Errors
    /// [`Error::PrivateKey`] if the backend fails.
    #[cfg_attr(
        not(any(feature = "aws-lc-rs", feature = "pure-rust-rsa")),
        allow(unused_variables)
    )]
    pub fn sign_sha256_with(&self, backend: Backend, message: &[u8]) -> Result<Vec<u8>> {
        match backend {
            #[cfg(feature = "aws-lc-rs")]
            Backend::AwsLc => {
                let mut sig = vec![0u8; self.aws.public_modulus_len()];
                self.aws
                    .sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &aws_lc_rs::rand::SystemRandom::new(),
                        message,
                        &mut sig,
                    )
                    .map_err(|_| Error::PrivateKey("aws-lc-rs signing failed".into()))?;
                Ok(sig)
            }
            #[cfg(feature = "pure-rust-rsa")]
            Backend::RustCrypto => {
                use rsa::signature::{SignatureEncoding, Signer};
                let sig = self
                    .rc
                    .try_sign(message)
                    .map_err(|e| Error::PrivateKey(e.to_string()))?;
                Ok(sig.to_vec())
            }
        }
    }
}

fn to_key_err(e: Error) -> Error {
    match e {
        Error::Certificate(m) => Error::PrivateKey(m),
        other => other,
    }
}

/// Wraps a PKCS#1 `RSAPrivateKey` DER into a PKCS#8 `PrivateKeyInfo` DER.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    fn len(n: usize, out: &mut Vec<u8>) {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes = n.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    // version 0, AlgorithmIdentifier rsaEncryption NULL
    let head: [u8; 18] = [
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00,
    ];
    let mut octet = vec![0x04];
    len(pkcs1.len(), &mut octet);
    octet.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    len(head.len() + octet.len(), &mut out);
    out.extend_from_slice(&head);
    out.extend_from_slice(&octet);
    out
}

/// A CSD: certificate plus matching private key, ready to seal comprobantes.
pub struct Csd {
    certificate: Certificate,
    key: PrivateKey,
    certificate_b64: String,
    allow_non_csd: bool,
}

impl fmt::Debug for Csd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csd")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl Csd {
    /// Pairs a certificate with its private key.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] if the key is not the certificate's.
    pub fn new(certificate: Certificate, key: PrivateKey) -> Result<Self> {
        if !key.matches(&certificate) {
            return Err(Error::KeyMismatch);
        }
        let certificate_b64 = certificate.to_base64();
        Ok(Self {
            certificate,
            key,
            certificate_b64,
            allow_non_csd: false,
        })
    }

    /// Loads `.cer` and `.key` bytes.
    ///
    /// # Errors
    /// As [`Certificate::from_bytes`], [`PrivateKey::from_bytes`] and [`Csd::new`].
    pub fn from_bytes(cer: &[u8], key: &[u8], password: &SecretString) -> Result<Self> {
        Self::new(
            Certificate::from_bytes(cer)?,
            PrivateKey::from_bytes(key, password)?,
        )
    }

    /// Loads `.cer` and `.key` files.
    ///
    /// # Errors
    /// As [`Csd::from_bytes`], or [`Error::File`] naming the file that could not be read.
    pub fn from_files(
        cer: impl AsRef<Path>,
        key: impl AsRef<Path>,
        password: &SecretString,
    ) -> Result<Self> {
        Self::from_bytes(
            &read_file(cer.as_ref())?,
            &read_file(key.as_ref())?,
            password,
        )
    }

    /// The CSD's certificate (its number goes into `NoCertificado`, its DER into `Certificado`).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Lets [`Csd::seal`] use a certificate that is not a SAT CSD (an e.firma or a self-signed
    /// test certificate). Such CFDI verify but every PAC rejects them (CFDI40106): for tests only.
    #[must_use]
    pub fn allow_non_csd(mut self) -> Self {
        self.allow_non_csd = true;
        self
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// Seals a comprobante: sets `NoCertificado` and `Certificado`, computes the cadena original
    /// and sets `Sello` = base64(RSA-SHA256(cadena)).
    ///
    /// # Errors
    /// [`Error::NotCsd`] if the certificate is not a SAT CSD (see [`CertificateKind`]) and
    /// [`Csd::allow_non_csd`] was not called, [`Error::CertificateNotValid`] if `Fecha` is outside
    /// the certificate's validity, cadena errors ([`Error::UnsupportedComplement`]), or a signing
    /// failure.
    pub fn seal(&self, c: &mut Comprobante) -> Result<()> {
        if self.certificate.kind != CertificateKind::Csd && !self.allow_non_csd {
            return Err(Error::NotCsd {
                kind: self.certificate.kind,
                no_certificado: self.certificate.no_certificado.clone(),
                rfc: self.certificate.rfc.clone(),
            });
        }
        if !self.certificate.is_valid_at_fecha(&c.fecha)? {
            return Err(Error::CertificateNotValid {
                no_certificado: self.certificate.no_certificado.clone(),
                at: c.fecha.clone(),
                not_before: self.certificate.not_before.to_rfc3339(),
                not_after: self.certificate.not_after.to_rfc3339(),
            });
        }
        c.no_certificado
            .clone_from(&self.certificate.no_certificado);
        c.certificado.clone_from(&self.certificate_b64);
        let cadena = crate::cadena_original(c)?;
        let sig = self.key.sign_sha256(cadena.as_bytes())?;
        c.sello = B64.encode(sig);
        Ok(())
    }
}

mod backend {
    #[cfg(feature = "aws-lc-rs")]
    pub(super) fn verify(pkcs1_public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            pkcs1_public,
        )
        .verify(message, signature)
        .is_ok()
    }

    /// No backend: only the crate's compile_error! is reported (this keeps the rest compiling).
    #[cfg(not(any(feature = "aws-lc-rs", feature = "pure-rust-rsa")))]
    pub(super) fn verify(_: &[u8], _: &[u8], _: &[u8]) -> bool {
        false
    }

    #[cfg(all(not(feature = "aws-lc-rs"), feature = "pure-rust-rsa"))]
    pub(super) fn verify(pkcs1_public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::signature::Verifier;
        let Ok(key) = rsa::RsaPublicKey::from_pkcs1_der(pkcs1_public) else {
            return false;
        };
        let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
            return false;
        };
        rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key)
            .verify(message, &sig)
            .is_ok()
    }
}
