//! Checks on what a PAC returns: the stamped XML is *our* CFDI with a TFD that belongs to it.

use super::Stamped;
use super::error::PacError;
use crate::csd::Certificate;
use crate::model::Comprobante;

/// What we sent: the parsed sealed CFDI, kept to check the PAC's answer against it.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) doc: Comprobante,
}

impl Sent {
    /// Parses a sealed (not yet stamped) CFDI.
    pub(crate) fn parse(sealed_xml: &str) -> Result<Self, PacError> {
        let doc = crate::parse_str(sealed_xml)?;
        if doc.sello.trim().is_empty() {
            return Err(PacError::InvalidRequest {
                message: "the CFDI is not sealed (empty Sello)".into(),
            });
        }
        Ok(Self { doc })
    }
}

/// Verifies a stamped XML returned by `pac` for `sent`:
///
/// 1. it parses as CFDI 4.0 and carries a TimbreFiscalDigital;
/// 2. its `Sello` and the TFD's `SelloCFD` both equal the `Sello` we sent (the stamp is for this
///    CFDI, not another one);
/// 3. its cadena original equals ours (the PAC did not alter the document);
/// 4. when `pac_certificate` is given, `NoCertificadoSAT` is that certificate's number and
///    `SelloSAT` verifies over the TFD cadena original.
pub(crate) fn check(
    pac: &str,
    sent: &Sent,
    stamped_xml: String,
    pac_certificate: Option<&Certificate>,
    previously_stamped: bool,
) -> Result<Stamped, PacError> {
    let bad = |problem: String| PacError::Tfd {
        pac: pac.to_owned(),
        problem,
    };
    let doc = crate::parse_str(&stamped_xml)
        .map_err(|e| bad(format!("the stamped XML does not parse: {e}")))?;
    let tfd = doc
        .timbre()
        .cloned()
        .ok_or_else(|| bad("the stamped XML has no TimbreFiscalDigital".into()))?;
    if doc.sello != sent.doc.sello {
        return Err(bad(
            "the stamped XML's Sello differs from the Sello sent (another CFDI)".into(),
        ));
    }
    if tfd.sello_cfd != sent.doc.sello {
        return Err(bad(
            "TimbreFiscalDigital/@SelloCFD differs from our Sello".into()
        ));
    }
    let ours = crate::cadena_original(&sent.doc)?;
    let theirs =
        crate::cadena_original(&doc).map_err(|e| bad(format!("cadena of the stamped XML: {e}")))?;
    if ours != theirs {
        return Err(bad(
            "the PAC changed the document: its cadena original differs from ours".into(),
        ));
    }
    if let Some(cert) = pac_certificate {
        crate::verify_timbre(&doc, cert).map_err(|e| bad(format!("SelloSAT: {e}")))?;
    }
    if tfd.uuid.trim().is_empty() {
        return Err(bad("the TimbreFiscalDigital has no UUID".into()));
    }
    Ok(Stamped {
        uuid: tfd.uuid.clone(),
        xml: stamped_xml,
        tfd,
        pac: pac.to_owned(),
        previously_stamped,
    })
}

impl Stamped {
    /// Checks what a PAC answered for `sealed_xml` and returns it as a [`Stamped`]: for your own [`Pac`]
    /// implementation (another PAC, an in-process mock), with the checks the built-in clients run on every
    /// answer: the stamped XML parses and carries a TimbreFiscalDigital with a UUID, its `Sello` and the TFD's
    /// `SelloCFD` are the `Sello` sent, its cadena original equals the sent one, and, when `pac_certificate` is
    /// given, `NoCertificadoSAT` is that certificate and `SelloSAT` verifies.
    ///
    /// # Errors
    /// [`PacError::InvalidRequest`] when `sealed_xml` is not a sealed CFDI; [`PacError::Tfd`] when the answer
    /// fails a check.
    ///
    /// [`Pac`]: super::Pac
    pub fn verified(
        pac: &str,
        sealed_xml: &str,
        stamped_xml: String,
        pac_certificate: Option<&Certificate>,
        previously_stamped: bool,
    ) -> Result<Self, PacError> {
        let sent = Sent::parse(sealed_xml)?;
        check(pac, &sent, stamped_xml, pac_certificate, previously_stamped)
    }
}
