//! [`PacError`]: what went wrong talking to a PAC or the SAT, classified for failover.

use std::fmt;

/// Everything that can go wrong in [`crate::pac`]. Variants may be added in minor releases.
///
/// The classification that matters for stamping is [`PacError::is_definitely_not_stamped`]: only
/// when it is `true` may the same CFDI be sent to another PAC (see the decision table in the
/// [module docs](crate::pac)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacError {
    /// The PAC (or the SAT, through the PAC) rejected the request with a code: a CFDI40xxx/CRP20xxx
    /// validation code, a SAT stamping code (`301`–`308`, `401`–`403`, …) or a PAC code.
    /// Nothing was stamped.
    #[error("{pac} rejected the request: {code} {message}")]
    Rejected {
        /// Which PAC answered.
        pac: String,
        /// The SAT/PAC code as sent (e.g. `CFDI40102`, `302`).
        code: String,
        /// The PAC's message.
        message: String,
    },
    /// The PAC rejected our credentials (or the token could not be obtained). Nothing was stamped.
    #[error("{pac}: authentication failed: {message}")]
    Auth {
        /// Which PAC answered.
        pac: String,
        /// What the PAC said.
        message: String,
    },
    /// The client is misconfigured (bad URL, missing cancellation credentials, …). Nothing was sent.
    #[error("PAC configuration error: {message}")]
    Config {
        /// What is wrong with the configuration.
        message: String,
    },
    /// The PAC could not be reached or refused the request before processing it (connection
    /// refused, DNS failure, TLS failure, rate limit). Nothing was stamped.
    #[error("{pac} unavailable (nothing was processed): {message}")]
    Unavailable {
        /// Which PAC.
        pac: String,
        /// The transport failure or refusal (e.g. `connection refused`, `HTTP 429`).
        message: String,
    },
    /// The request reached the PAC but its outcome is unknown (timeout, connection reset after
    /// sending, `5xx`, unreadable answer): the CFDI **may** have been stamped. Recover it from the
    /// same PAC; never send it to another one.
    #[error("{pac}: outcome uncertain, the CFDI may have been stamped: {message}")]
    Uncertain {
        /// Which PAC.
        pac: String,
        /// What left the outcome open (timeout, reset, `5xx`, unreadable answer).
        message: String,
    },
    /// The PAC answered a read-only request (status, recover, cancel) with something unreadable.
    #[error("{pac} sent an unexpected response: {message}")]
    Protocol {
        /// Which PAC.
        pac: String,
        /// What could not be read in the answer.
        message: String,
    },
    /// The PAC returned a stamp that does not belong to this CFDI (`SelloCFD` differs from our
    /// `Sello`) or whose `SelloSAT` does not verify. Treated as uncertain: do not fail over.
    #[error("{pac} returned a TimbreFiscalDigital that does not check out: {problem}")]
    Tfd {
        /// Which PAC.
        pac: String,
        /// What did not match.
        problem: String,
    },
    /// The request itself is invalid (e.g. motivo `01` without `FolioSustitucion`, a malformed
    /// UUID). Nothing was sent.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// Which argument is invalid and why.
        message: String,
    },
    /// The CFDI could not be read (not sealed, not CFDI 4.0, …). Nothing was sent.
    #[error("invalid CFDI: {0}")]
    Cfdi(#[from] crate::Error),
    /// Failover gave up: every configured PAC definitely did not stamp. One error per PAC tried.
    #[error("no PAC stamped the CFDI (nothing was stamped): {}", join(errors))]
    AllFailed {
        /// The error of each PAC, in the order tried.
        errors: Vec<PacError>,
    },
}

fn join(errors: &[PacError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// Coarse classification of a [`PacError`]. Kinds that mean the same as an
/// [`erp_hub_core::ErrorKind`] carry its name; [`PacErrorKind::core_kind`] maps every kind to
/// the core one (also as `From`), so a sync engine can treat PAC errors like adapter errors:
///
/// | kind | variants | core kind |
/// |---|---|---|
/// | `Validation` | [`PacError::Rejected`], [`PacError::InvalidRequest`], [`PacError::Cfdi`] | `Validation` |
/// | `Auth` | [`PacError::Auth`] | `Auth` |
/// | `Config` | [`PacError::Config`] | `Config` |
/// | `Transient` | [`PacError::Unavailable`] | `Transient` |
/// | `Uncertain` | [`PacError::Uncertain`] | `Uncertain` |
/// | `Protocol` | [`PacError::Protocol`] | `Uncertain` (a stamp may exist: recover it) |
/// | `Tfd` | [`PacError::Tfd`] | `Uncertain` (a stamp may exist: recover it) |
/// | `AllFailed` | [`PacError::AllFailed`] | `Transient` (nothing was stamped anywhere) |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacErrorKind {
    /// The document or request was refused, by the PAC/SAT with a code ([`PacError::Rejected`])
    /// or by this crate before sending ([`PacError::InvalidRequest`], [`PacError::Cfdi`]): fix
    /// the input. Nothing was stamped.
    Validation,
    /// Credentials refused or no token ([`PacError::Auth`]).
    Auth,
    /// The client is misconfigured ([`PacError::Config`]).
    Config,
    /// The PAC was unreachable or refused the request unprocessed ([`PacError::Unavailable`]):
    /// nothing was stamped, retrying (or failing over) is safe.
    Transient,
    /// The request may have been stamped ([`PacError::Uncertain`]): recover from the same PAC.
    Uncertain,
    /// Unreadable answer to a status, recover or cancel request ([`PacError::Protocol`]).
    Protocol,
    /// The returned stamp does not check out ([`PacError::Tfd`]).
    Tfd,
    /// Every PAC tried definitely did not stamp ([`PacError::AllFailed`]).
    AllFailed,
}

impl PacErrorKind {
    /// The [`erp_hub_core::ErrorKind`] that tells a caller the same thing (see the table above).
    pub fn core_kind(self) -> erp_hub_core::ErrorKind {
        use erp_hub_core::ErrorKind as K;
        match self {
            Self::Validation => K::Validation,
            Self::Auth => K::Auth,
            Self::Config => K::Config,
            Self::Transient | Self::AllFailed => K::Transient,
            Self::Uncertain | Self::Protocol | Self::Tfd => K::Uncertain,
        }
    }
}

impl From<PacErrorKind> for erp_hub_core::ErrorKind {
    fn from(kind: PacErrorKind) -> Self {
        kind.core_kind()
    }
}

impl fmt::Display for PacErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl PacError {
    /// The error's [`PacErrorKind`].
    pub fn kind(&self) -> PacErrorKind {
        match self {
            Self::Rejected { .. } | Self::InvalidRequest { .. } | Self::Cfdi(_) => {
                PacErrorKind::Validation
            }
            Self::Auth { .. } => PacErrorKind::Auth,
            Self::Config { .. } => PacErrorKind::Config,
            Self::Unavailable { .. } => PacErrorKind::Transient,
            Self::Uncertain { .. } => PacErrorKind::Uncertain,
            Self::Protocol { .. } => PacErrorKind::Protocol,
            Self::Tfd { .. } => PacErrorKind::Tfd,
            Self::AllFailed { .. } => PacErrorKind::AllFailed,
        }
    }

    /// The SAT/PAC code, for [`PacError::Rejected`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this error proves that the CFDI was **not** stamped by the PAC that returned it
    /// (nothing reached it, it refused us, or it rejected the document).
    ///
    /// `false` for [`PacError::Uncertain`], [`PacError::Tfd`] and [`PacError::Protocol`]: the
    /// CFDI may carry a UUID at that PAC, so it must be recovered there, not stamped elsewhere.
    pub fn is_definitely_not_stamped(&self) -> bool {
        match self {
            Self::Rejected { .. }
            | Self::Auth { .. }
            | Self::Config { .. }
            | Self::Unavailable { .. }
            | Self::InvalidRequest { .. }
            | Self::Cfdi(_) => true,
            Self::AllFailed { errors } => errors.iter().all(Self::is_definitely_not_stamped),
            Self::Uncertain { .. } | Self::Protocol { .. } | Self::Tfd { .. } => false,
        }
    }

    /// Whether the failover may send the CFDI to the next PAC: definitely not stamped here **and**
    /// the problem is this PAC's (unreachable, credentials, configuration), not the document's.
    pub fn allows_failover(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Auth { .. } | Self::Config { .. }
        )
    }

    /// Whether the outcome is unknown and the stamp must be recovered from the same PAC.
    pub fn is_uncertain(&self) -> bool {
        !self.is_definitely_not_stamped()
    }

    /// Maps an `erp_hub_core` HTTP error of a request to `pac`. `wrote` says whether the request
    /// could apply something (a stamp or cancel) if it was processed.
    pub(crate) fn from_http(pac: &str, e: erp_hub_core::Error, wrote: bool) -> Self {
        use erp_hub_core::ErrorKind as K;
        let pac = pac.to_owned();
        let message = e.to_string();
        match e.kind() {
            K::Auth => Self::Auth { pac, message },
            K::Config => Self::Config { message },
            // A connect error (nothing was sent) or a 429 (refused unprocessed).
            K::Transient | K::RateLimited => Self::Unavailable { pac, message },
            K::Uncertain if wrote => Self::Uncertain { pac, message },
            K::Uncertain => Self::Protocol { pac, message },
            _ if wrote => Self::Uncertain { pac, message },
            _ => Self::Protocol { pac, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let u = PacError::Uncertain {
            pac: "x".into(),
            message: "timeout".into(),
        };
        assert!(!u.is_definitely_not_stamped() && !u.allows_failover() && u.is_uncertain());
        let r = PacError::Rejected {
            pac: "x".into(),
            code: "CFDI40102".into(),
            message: "sello".into(),
        };
        assert!(r.is_definitely_not_stamped() && !r.allows_failover());
        assert_eq!(r.code(), Some("CFDI40102"));
        let d = PacError::Unavailable {
            pac: "x".into(),
            message: "refused".into(),
        };
        assert!(d.is_definitely_not_stamped() && d.allows_failover());
        let all = PacError::AllFailed { errors: vec![d, r] };
        assert!(all.is_definitely_not_stamped());
        assert_eq!(all.kind(), PacErrorKind::AllFailed);
        let mixed = PacError::AllFailed { errors: vec![u] };
        assert!(!mixed.is_definitely_not_stamped());
    }

    #[test]
    fn every_kind_maps_to_the_core_kind_of_the_same_meaning() {
        use erp_hub_core::ErrorKind as K;
        let table = [
            (PacErrorKind::Validation, K::Validation),
            (PacErrorKind::Auth, K::Auth),
            (PacErrorKind::Config, K::Config),
            (PacErrorKind::Transient, K::Transient),
            (PacErrorKind::Uncertain, K::Uncertain),
            (PacErrorKind::Protocol, K::Uncertain),
            (PacErrorKind::Tfd, K::Uncertain),
            (PacErrorKind::AllFailed, K::Transient),
        ];
        for (kind, core) in table {
            assert_eq!(kind.core_kind(), core, "{kind}");
            assert_eq!(K::from(kind), core, "{kind}");
        }
        // Same-named kinds mean the same thing: the names agree wherever the mapping is 1:1.
        for (kind, core) in table {
            let same_name = format!("{kind:?}") == format!("{core:?}");
            let own_kind = matches!(
                kind,
                PacErrorKind::Protocol | PacErrorKind::Tfd | PacErrorKind::AllFailed
            );
            assert!(same_name || own_kind, "{kind:?} should be named {core:?}");
        }
        // Variants land on the kind the table documents.
        let rejected = PacError::Rejected {
            pac: "x".into(),
            code: "301".into(),
            message: "m".into(),
        };
        let invalid = PacError::InvalidRequest {
            message: "m".into(),
        };
        let unavailable = PacError::Unavailable {
            pac: "x".into(),
            message: "m".into(),
        };
        assert_eq!(rejected.kind().core_kind(), K::Validation);
        assert_eq!(invalid.kind().core_kind(), K::Validation);
        assert_eq!(unavailable.kind().core_kind(), K::Transient);
    }

    #[test]
    fn http_errors_map_by_what_was_sent() {
        let e = PacError::from_http("p", erp_hub_core::Error::transient("refused"), true);
        assert_eq!(e.kind(), PacErrorKind::Transient);
        let e = PacError::from_http("p", erp_hub_core::Error::uncertain("timeout"), true);
        assert_eq!(e.kind(), PacErrorKind::Uncertain);
        let e = PacError::from_http("p", erp_hub_core::Error::uncertain("timeout"), false);
        assert_eq!(e.kind(), PacErrorKind::Protocol);
        let e = PacError::from_http("p", erp_hub_core::Error::auth("nope"), true);
        assert_eq!(e.kind(), PacErrorKind::Auth);
    }
}
