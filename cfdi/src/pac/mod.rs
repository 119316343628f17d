//! PAC stamping (Finkok, SW Sapien) with double-stamp-safe failover, cancellation, the SAT status
//! service and the verification QR. Feature `pac` (on by default).
//!
//! A sealed CFDI has no fiscal value until a PAC (*Proveedor Autorizado de Certificación*) adds the
//! TimbreFiscalDigital with the UUID. This module offers:
//!
//! * the [`Pac`] trait: [`stamp`](Pac::stamp), [`recover`](Pac::recover) (a previous stamp of the
//!   same CFDI), [`cancel`](Pac::cancel) and [`sat_status`](Pac::sat_status);
//! * [`FinkokClient`] (SOAP 1.1) and [`SwClient`] (REST, token auth with caching and renewal);
//! * [`Failover`]: primary plus backups, never two UUIDs for one CFDI;
//! * [`SatStatusClient`] (SAT `ConsultaCFDIService`) and [`CfdiIdentity`] (expresión impresa and
//!   verification URL / QR payload);
//! * TFD checks on every stamp: `SelloCFD` equals our `Sello`, the PAC did not alter the document,
//!   and, when the PAC/SAT certificate is configured, `SelloSAT` verifies over the TFD cadena.
//!
//! # Dependencies
//!
//! The HTTP layer is `erp_hub_core::http` (reqwest 0.13 with rustls, retries only when replay-safe,
//! tracing spans without headers or bodies). It is pulled in only by this feature: with
//! `default-features = false, features = ["aws-lc-rs"]` sat-cfdi has no network or ERP dependency.
//! Endpoints and credentials come from configuration only ([`FinkokConfig`], [`SwConfig`],
//! [`SatStatusClient::new`]); the documented production and test URLs are just defaults of the
//! named constructors. Credentials and tokens are `secrecy` types and never appear in `Debug`
//! output, errors or logs.
//!
//! # Failover: the decision table
//!
//! A CFDI stamped twice gets two UUIDs: two valid invoices for one sale. So the CFDI may go to the
//! backup PAC **only when the primary definitely did not stamp it**. After each attempt at a PAC:
//!
//! | outcome at the PAC | meaning | [`Failover`] does |
//! |---|---|---|
//! | stamp returned, TFD checks pass | stamped | return it |
//! | `307` "previously stamped" with the stamp (Finkok, SW) | stamped before | return the existing stamp ([`Stamped::previously_stamped`]) |
//! | connection refused, DNS or TLS failure ([`PacError::Unavailable`]) | nothing reached the PAC | next PAC |
//! | `429` rate limited ([`PacError::Unavailable`]) | refused unprocessed | next PAC |
//! | `401`/`403`, bad user/password, Finkok `300` ([`PacError::Auth`]) | refused unprocessed | next PAC |
//! | bad configuration ([`PacError::Config`]) | nothing sent | next PAC |
//! | CFDI40xxx, `301`–`308` (except `307`), `401`–`403` ([`PacError::Rejected`]) | the document is wrong; any PAC would refuse it | return the error (no failover) |
//! | timeout, connection reset after sending, `5xx`, unreadable answer ([`PacError::Uncertain`]) | **may be stamped** | stay on this PAC: [`recover`](Pac::recover), re-send (the PAC de-duplicates by `Sello`: `307`), up to [`Failover::uncertain_attempts`] times; then return [`PacError::Uncertain`]. **Never** the next PAC |
//! | a TFD that does not belong to our CFDI or whose `SelloSAT` fails ([`PacError::Tfd`]) | something was stamped, maybe not ours | return the error (no failover) |
//!
//! Once an attempt at a PAC was uncertain, every later error from it is reported as uncertain too.
//! [`PacError::AllFailed`] (every PAC definitely did not stamp) is the only error after which the
//! CFDI is known to be unstamped everywhere; [`PacError::is_definitely_not_stamped`] says so.
//!
//! Cancellation and status queries do not create documents; [`Failover`] sends them to the next
//! PAC on the same "nothing reached the PAC" errors.
//!
//! ```no_run
//! # async fn demo(sealed_xml: &str) -> Result<(), cfdi::pac::PacError> {
//! use std::sync::Arc;
//! use cfdi::pac::{Failover, FinkokClient, FinkokConfig, SwClient, SwConfig};
//!
//! let finkok = FinkokClient::new(FinkokConfig::demo("user@example.com", "finkok-password"))?;
//! let sw = SwClient::new(SwConfig::test_with_user("user@example.com", "sw-password"))?;
//! let failover = Failover::new(Arc::new(finkok)).with_backup(Arc::new(sw));
//! let stamped = failover.stamp(sealed_xml).await?;
//! println!("{} stamped by {}", stamped.uuid, stamped.pac);
//! # Ok(()) }
//! ```

mod error;
mod failover;
mod finkok;
mod qr;
mod sat_status;
mod soap;
mod sw;
mod tfd;

use async_trait::async_trait;

pub use error::{PacError, PacErrorKind};
pub use failover::Failover;
pub use finkok::{
    FINKOK_DEMO_URL, FINKOK_PRODUCTION_URL, FinkokCancelCsd, FinkokClient, FinkokConfig,
};
pub use qr::{CfdiIdentity, SAT_VERIFICATION_URL, verification_url};
pub use sat_status::{
    EsCancelable, Estado, EstatusCancelacion, SAT_STATUS_TEST_URL, SAT_STATUS_URL, SatStatus,
    SatStatusClient, ValidacionEfos,
};
pub use sw::{
    SW_PRODUCTION_API_URL, SW_PRODUCTION_URL, SW_TEST_API_URL, SW_TEST_URL, SwAuth, SwCancelCsd,
    SwClient, SwConfig,
};

use crate::model::TimbreFiscalDigital;

/// A stamped CFDI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stamped {
    /// The stamped XML as the PAC returned it (never re-serialized).
    pub xml: String,
    /// The UUID (folio fiscal).
    pub uuid: String,
    /// The TimbreFiscalDigital.
    pub tfd: TimbreFiscalDigital,
    /// Which PAC stamped it ([`Pac::name`]).
    pub pac: String,
    /// The PAC answered "previously stamped" (`307`) and returned the existing stamp.
    pub previously_stamped: bool,
}

/// Motivo de cancelación (catálogo de motivos, CFF 29-A, since 2022).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Motivo {
    /// `01` Comprobante emitido con errores con relación (needs `FolioSustitucion`).
    ErroresConRelacion,
    /// `02` Comprobante emitido con errores sin relación.
    ErroresSinRelacion,
    /// `03` No se llevó a cabo la operación.
    NoSeLlevoACabo,
    /// `04` Operación nominativa relacionada en una factura global.
    NominativaEnGlobal,
}

impl Motivo {
    /// The two-digit code.
    pub fn code(self) -> &'static str {
        match self {
            Self::ErroresConRelacion => "01",
            Self::ErroresSinRelacion => "02",
            Self::NoSeLlevoACabo => "03",
            Self::NominativaEnGlobal => "04",
        }
    }

    /// Parses `01`–`04`.
    ///
    /// # Errors
    /// [`PacError::InvalidRequest`] for any other value.
    pub fn from_code(code: &str) -> Result<Self, PacError> {
        match code {
            "01" => Ok(Self::ErroresConRelacion),
            "02" => Ok(Self::ErroresSinRelacion),
            "03" => Ok(Self::NoSeLlevoACabo),
            "04" => Ok(Self::NominativaEnGlobal),
            other => Err(PacError::InvalidRequest {
                message: format!("motivo de cancelación {other:?} is not 01, 02, 03 or 04"),
            }),
        }
    }
}

/// A validated cancellation request for one CFDI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    uuid: String,
    rfc_emisor: String,
    motivo: Motivo,
    folio_sustitucion: Option<String>,
}

impl CancelRequest {
    /// A cancellation of `uuid` issued by `rfc_emisor`. `folio_sustitucion` (the UUID of the
    /// replacing CFDI) is required with motivo `01` and not allowed with the others.
    ///
    /// # Errors
    /// [`PacError::InvalidRequest`] for a malformed UUID or RFC, motivo `01` without folio, or a
    /// folio with another motivo.
    pub fn new(
        uuid: impl Into<String>,
        rfc_emisor: impl Into<String>,
        motivo: Motivo,
        folio_sustitucion: Option<String>,
    ) -> Result<Self, PacError> {
        let uuid = uuid.into().trim().to_ascii_uppercase();
        let rfc_emisor = rfc_emisor.into().trim().to_owned();
        check_uuid("UUID", &uuid)?;
        let len = rfc_emisor.chars().count();
        if !(12..=13).contains(&len) {
            return Err(PacError::InvalidRequest {
                message: format!("RFC emisor {rfc_emisor:?} must have 12 or 13 characters"),
            });
        }
        let folio = folio_sustitucion
            .map(|f| f.trim().to_ascii_uppercase())
            .filter(|f| !f.is_empty());
        match (motivo, &folio) {
            (Motivo::ErroresConRelacion, None) => {
                return Err(PacError::InvalidRequest {
                    message: "motivo 01 requires FolioSustitucion (the UUID of the replacing CFDI)"
                        .into(),
                });
            }
            (Motivo::ErroresConRelacion, Some(f)) => {
                check_uuid("FolioSustitucion", f)?;
                if *f == uuid {
                    return Err(PacError::InvalidRequest {
                        message: "FolioSustitucion must differ from the cancelled UUID".into(),
                    });
                }
            }
            (_, Some(_)) => {
                return Err(PacError::InvalidRequest {
                    message: format!(
                        "FolioSustitucion is only allowed with motivo 01, not {}",
                        motivo.code()
                    ),
                });
            }
            (_, None) => {}
        }
        Ok(Self {
            uuid,
            rfc_emisor,
            motivo,
            folio_sustitucion: folio,
        })
    }

    /// The UUID to cancel (upper case).
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// RFC of the emisor.
    pub fn rfc_emisor(&self) -> &str {
        &self.rfc_emisor
    }

    /// Why the CFDI is cancelled (SAT motivo `01`–`04`).
    pub fn motivo(&self) -> Motivo {
        self.motivo
    }

    /// FolioSustitucion (only with motivo `01`).
    pub fn folio_sustitucion(&self) -> Option<&str> {
        self.folio_sustitucion.as_deref()
    }
}

fn check_uuid(what: &str, u: &str) -> Result<(), PacError> {
    let ok = u.len() == 36
        && u.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(())
    } else {
        Err(PacError::InvalidRequest {
            message: format!("{what} {u:?} is not a UUID (8-4-4-4-12 hex digits)"),
        })
    }
}

/// What the SAT said about an accepted cancellation request (`EstatusUUID`). The SAT's refusals
/// (`203` not the emisor's, `204` not cancellable, `205` does not exist, …) are
/// [`PacError::Rejected`] instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelStatus {
    /// `201`: request received (cancelled, or pending the receptor's acceptance; ask
    /// [`Pac::sat_status`] for `EstatusCancelacion`).
    Requested,
    /// `202`: the CFDI was already cancelled.
    PreviouslyCancelled,
}

impl CancelStatus {
    /// Maps an `EstatusUUID`; `None` for the codes that mean the request was refused.
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        match code.trim() {
            "201" => Some(Self::Requested),
            "202" => Some(Self::PreviouslyCancelled),
            _ => None,
        }
    }
}

/// The outcome of a cancellation request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CancelResult {
    /// The UUID cancelled.
    pub uuid: String,
    /// Request accepted (`201`) or the CFDI was already cancelled (`202`).
    pub status: CancelStatus,
    /// The SAT code (`EstatusUUID`) as returned.
    pub code: String,
    /// The PAC's description of the status (Finkok `EstatusCancelacion`), if any.
    pub description: Option<String>,
    /// The SAT acuse (XML) as returned by the PAC, if any.
    pub acuse: Option<String>,
}

/// A PAC: stamps sealed CFDIs, recovers earlier stamps, cancels, and queries the SAT status.
///
/// Implementations never send a CFDI anywhere but to their own PAC; the cross-PAC safety rules
/// live in [`Failover`].
#[async_trait]
pub trait Pac: Send + Sync {
    /// A short name for logs and [`Stamped::pac`] (e.g. `finkok`).
    fn name(&self) -> &str;

    /// Stamps a sealed CFDI (`Sello`, `NoCertificado` and `Certificado` set) and checks the TFD.
    ///
    /// If the PAC already stamped this CFDI it returns that stamp
    /// ([`Stamped::previously_stamped`]), never a second UUID.
    ///
    /// # Errors
    /// See [`PacError`] and [`PacError::is_definitely_not_stamped`].
    async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError>;

    /// Looks for an earlier stamp of this sealed CFDI at this PAC; `Ok(None)` if the PAC has none
    /// (which may lag just after an uncertain stamp; see the [module docs](self)).
    ///
    /// # Errors
    /// See [`PacError`].
    async fn recover(&self, sealed_xml: &str) -> Result<Option<Stamped>, PacError>;

    /// Asks the SAT, through the PAC, to cancel a CFDI.
    ///
    /// # Errors
    /// See [`PacError`]; a SAT refusal (`203`, `205`, …) is [`PacError::Rejected`].
    async fn cancel(&self, request: &CancelRequest) -> Result<CancelResult, PacError>;

    /// The SAT status of a CFDI.
    ///
    /// # Errors
    /// See [`PacError`].
    async fn sat_status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError>;
}

/// A stable idempotency key for a sealed CFDI: hex SHA-256 of its `Sello`, 40 characters.
pub(crate) fn sello_key(sello: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(sello.trim().as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s.truncate(40);
    s
}

/// Splits a PAC message like `"CFDI40102 - El resultado…"` or `"307. El comprobante…"` into
/// `(code, rest)`.
pub(crate) fn split_code(message: &str) -> (String, String) {
    let m = message.trim();
    let end = m
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(m.len());
    let (code, rest) = m.split_at(end);
    let looks_like_code = !code.is_empty()
        && code.chars().any(|c| c.is_ascii_digit())
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    if looks_like_code {
        let rest = rest
            .trim_start_matches(|c: char| c == '.' || c == '-' || c == ':' || c.is_whitespace());
        (code.to_owned(), rest.to_owned())
    } else {
        (String::new(), m.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "1e5a6e1b-9c1b-5319-bfed-123bd143a310";
    const U2: &str = "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3";

    #[test]
    fn motivo_01_requires_a_folio_and_others_refuse_one() {
        let e =
            CancelRequest::new(U1, "EKU9003173C9", Motivo::ErroresConRelacion, None).unwrap_err();
        assert!(matches!(e, PacError::InvalidRequest { .. }), "{e}");
        assert_eq!(e.kind(), PacErrorKind::Validation);
        assert!(e.to_string().contains("FolioSustitucion"), "{e}");
        let ok = CancelRequest::new(
            U1,
            "EKU9003173C9",
            Motivo::ErroresConRelacion,
            Some(U2.into()),
        )
        .unwrap();
        assert_eq!(ok.uuid(), U1.to_ascii_uppercase());
        assert_eq!(ok.folio_sustitucion(), Some(U2));
        assert!(
            CancelRequest::new(
                U1,
                "EKU9003173C9",
                Motivo::ErroresSinRelacion,
                Some(U2.into())
            )
            .is_err()
        );
        assert!(
            CancelRequest::new(
                U1,
                "EKU9003173C9",
                Motivo::ErroresConRelacion,
                Some(U1.into())
            )
            .is_err()
        );
        assert!(CancelRequest::new("nope", "EKU9003173C9", Motivo::NoSeLlevoACabo, None).is_err());
        assert!(CancelRequest::new(U1, "EKU", Motivo::NoSeLlevoACabo, None).is_err());
        for (c, m) in [
            ("01", Motivo::ErroresConRelacion),
            ("02", Motivo::ErroresSinRelacion),
            ("03", Motivo::NoSeLlevoACabo),
            ("04", Motivo::NominativaEnGlobal),
        ] {
            assert_eq!(Motivo::from_code(c).unwrap(), m);
            assert_eq!(m.code(), c);
        }
        assert!(Motivo::from_code("05").is_err());
    }

    #[test]
    fn codes_are_split_from_messages() {
        assert_eq!(
            split_code("CFDI40102 - El resultado de la digestión debe ser igual"),
            (
                "CFDI40102".into(),
                "El resultado de la digestión debe ser igual".into()
            )
        );
        assert_eq!(
            split_code("307. El comprobante contiene un timbre previo."),
            (
                "307".into(),
                "El comprobante contiene un timbre previo.".into()
            )
        );
        assert_eq!(
            split_code("Usuario inválido"),
            ("".into(), "Usuario inválido".into())
        );
        assert_eq!(split_code("AU4101 - token expirado").0, "AU4101");
    }

    #[test]
    fn cancel_status_codes() {
        assert_eq!(
            CancelStatus::from_code("201"),
            Some(CancelStatus::Requested)
        );
        assert_eq!(
            CancelStatus::from_code("202"),
            Some(CancelStatus::PreviouslyCancelled)
        );
        assert_eq!(CancelStatus::from_code("205"), None);
        assert_eq!(CancelStatus::from_code("203"), None);
        assert_eq!(CancelStatus::from_code("300"), None);
    }

    #[test]
    fn sello_key_is_stable_and_short() {
        assert_eq!(sello_key("abc"), sello_key(" abc\n"));
        assert_eq!(sello_key("abc").len(), 40);
        assert_ne!(sello_key("abc"), sello_key("abd"));
    }
}
