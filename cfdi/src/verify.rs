//! Seal verification: `Sello` against the embedded `Certificado`, and the TFD's `SelloSAT`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::csd::{Certificate, CertificateKind};
use crate::error::{Error, Result, SealProblem};
use crate::model::Comprobante;

/// Outcome of a successful [`verify`]: the seal is valid; the other fields are facts a caller may
/// want to act on (SAT rejects, for example, a CFDI whose certificate had expired at `Fecha`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The certificate's number (equal to `NoCertificado`).
    pub no_certificado: String,
    /// RFC in the certificate.
    pub certificate_rfc: String,
    /// Whether the certificate's RFC equals `Emisor/@Rfc`.
    pub rfc_matches_emisor: bool,
    /// Whether `Fecha` (read as Mexico City time) is inside the certificate's validity;
    /// `None` if `Fecha` cannot be read.
    pub certificate_valid_at_fecha: Option<bool>,
    /// CSD, e.firma or not a SAT certificate: anything but [`CertificateKind::Csd`] is
    /// rejected by PACs (CFDI40106).
    pub certificate_kind: CertificateKind,
}

/// Verifies the comprobante's `Sello`: recomputes the cadena original, checks the RSA-SHA256
/// signature with the embedded `Certificado` and that `NoCertificado` is that certificate's number.
///
/// # Errors
/// [`Error::SealInvalid`] with the reason, [`Error::Certificate`] if `Certificado` is not a
/// certificate, or a cadena error ([`Error::UnsupportedComplement`]).
pub fn verify(c: &Comprobante) -> Result<Verification> {
    if c.sello.trim().is_empty() {
        return Err(Error::SealInvalid(SealProblem::Missing));
    }
    let cert = embedded_certificate(&c.certificado)?;
    if cert.no_certificado() != c.no_certificado {
        return Err(Error::SealInvalid(SealProblem::NoCertificadoMismatch {
            attribute: c.no_certificado.clone(),
            certificate: cert.no_certificado().into(),
        }));
    }
    let sig = decode_b64(&c.sello)?;
    let cadena = crate::cadena_original(c)?;
    if !cert.verify_sha256(cadena.as_bytes(), &sig) {
        return Err(Error::SealInvalid(SealProblem::Mismatch));
    }
    Ok(Verification {
        no_certificado: cert.no_certificado().into(),
        certificate_rfc: cert.rfc().into(),
        rfc_matches_emisor: cert.rfc() == c.emisor.rfc,
        certificate_valid_at_fecha: cert.is_valid_at_fecha(&c.fecha).ok(),
        certificate_kind: cert.kind(),
    })
}

/// Verifies the TimbreFiscalDigital: `SelloCFD` equals `Sello`, `NoCertificadoSAT` is the given
/// PAC/SAT certificate's number, and `SelloSAT` is a valid RSA-SHA256 signature of the TFD cadena
/// ([`crate::cadena_tfd`]) by that certificate.
///
/// # Errors
/// [`Error::SealInvalid`] with the reason.
pub fn verify_timbre(c: &Comprobante, sat_certificate: &Certificate) -> Result<()> {
    let t = c
        .timbre()
        .ok_or(Error::SealInvalid(SealProblem::NoTimbre))?;
    if t.sello_cfd != c.sello {
        return Err(Error::SealInvalid(SealProblem::SelloCfdMismatch));
    }
    if t.no_certificado_sat != sat_certificate.no_certificado() {
        return Err(Error::SealInvalid(SealProblem::NoCertificadoMismatch {
            attribute: t.no_certificado_sat.clone(),
            certificate: sat_certificate.no_certificado().into(),
        }));
    }
    if t.sello_sat.trim().is_empty() {
        return Err(Error::SealInvalid(SealProblem::Missing));
    }
    let sig = decode_b64(&t.sello_sat)?;
    let cadena = crate::cadena_tfd(t);
    if !sat_certificate.verify_sha256(cadena.as_bytes(), &sig) {
        return Err(Error::SealInvalid(SealProblem::Mismatch));
    }
    Ok(())
}

/// Reads the `Certificado` attribute. The last certificate read on this thread is kept, since a
/// batch of documents usually comes from few issuers (saves the base64 + X.509 parse, ~10 % of a
/// verification).
fn embedded_certificate(b64: &str) -> Result<std::rc::Rc<Certificate>> {
    use std::cell::RefCell;
    use std::rc::Rc;
    thread_local! {
        static LAST: RefCell<Option<(String, Rc<Certificate>)>> = const { RefCell::new(None) };
    }
    if let Some(hit) = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(k, _)| k == b64)
            .map(|(_, c)| Rc::clone(c))
    }) {
        return Ok(hit);
    }
    let cert = Rc::new(Certificate::from_base64(b64)?);
    LAST.with(|l| *l.borrow_mut() = Some((b64.to_string(), Rc::clone(&cert))));
    Ok(cert)
}

fn decode_b64(s: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(clean)
        .map_err(|_| Error::SealInvalid(SealProblem::NotBase64))
}
