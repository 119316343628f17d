//! The receiving side: check a supplier's signed comprobante and answer it with a `MensajeReceptor`.
//!
//! A company that receives a factura (FE), nota de débito (ND) or nota de crédito (NC) must accept or reject it
//! before it can credit the IVA. [`Receiver::check`] reads the supplier's signed XML, v4.4 or v4.3 ([`Version`];
//! suppliers' v4.3 documents from before 1 September 2025 are still received), verifies its XAdES signature
//! (the same verifier for both), validates it (totals, clave against emisor and date, and for v4.4 codes and
//! facets; what applies to v4.3 is listed at [`v43::Comprobante::validate`]) and checks that it is
//! addressed to this receiver and signed with a valid Hacienda certificate of the emisor.
//! [`Received::respond`] then builds the [`MensajeReceptor`] (aceptado, aceptado parcial or rechazado, with the
//! `CondicionImpuesto` and the IVA to credit; a document that is not [`Received::is_acceptable`] can only be
//! rejected: accepting it is [`Error::NotAcceptable`]); sign it with [`crate::xades::sign`] and submit it like any
//! document (`api` feature). [`check_mensaje_hacienda`] verifies Hacienda's answer to a document or answer
//! of ours and refuses one for a clave the caller does not know ([`Error::UnknownClave`]).
//!
//! The answer is always a v4.4 `MensajeReceptor`, also for a v4.3 comprobante: Hacienda accepts only v4.4
//! messages since 1 September 2025. [`Received::document`] gives the parsed comprobante in its own version
//! ([`ReceivedDocument::V44`] or [`ReceivedDocument::V43`]); [`Received::clave`], [`Received::iva`] and the
//! other accessors read either.
//!
//! Which certificates count as Hacienda's is the caller's [`IssuerPolicy`]. Taxpayers sign with the
//! certificate Hacienda issues them (issuer `CN=CA PERSONA JURIDICA` or `CN=CA PERSONA FISICA`,
//! `OU=DGT, O=MINISTERIO DE HACIENDA, C=CR`, published under `https://pki.comprobanteselectronicos.go.cr/`).
//! The default, [`IssuerPolicy::HaciendaName`], only reads the issuer's name, which anyone can copy into a
//! certificate of their own; [`IssuerPolicy::IssuedBy`] with Hacienda's CA certificates also checks that
//! the CA signed the signing certificate (one level, no revocation). Test keys are issued by no Hacienda CA:
//! tests use `IssuedBy` with their own test CA, or [`IssuerPolicy::Any`].
//!
//! ```no_run
//! # fn demo(xml: &[u8], key: &cr_einvoice::keystore::SigningKey) -> Result<(), cr_einvoice::Error> {
//! use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
//! use cr_einvoice::{Consecutivo, TipoDocumento};
//!
//! let now = chrono::Utc::now().fixed_offset();
//! let received = Receiver::new("3101123456").check(xml, now)?;
//! let respuesta = if received.is_acceptable() {
//!     Respuesta::aceptado(CondicionImpuesto::CreditoGeneral)
//! } else {
//!     Respuesta::rechazado(received.summary())
//! };
//! let consecutivo = Consecutivo::new(1, 1, respuesta.tipo_documento(), 42)?;
//! let mensaje = received.respond(&respuesta, consecutivo, now)?;
//! let signed = cr_einvoice::xades::sign(&mensaje.to_xml()?, key, &Default::default())?;
//! # let _ = signed; Ok(()) }
//! ```
//!
//! How the amounts are derived (the XSD names the fields but gives no formula; override with
//! [`Respuesta::with_amounts`] when your accountant books it differently):
//! - `MontoTotalImpuesto` is the comprobante's `TotalImpuesto`; `TotalFactura` its `TotalComprobante`.
//! - `MontoTotalImpuestoAcreditar` is the IVA of the document (lines' tax code `01`, net of exonerations)
//!   that the condition lets the receiver credit: all of it for `01` and `03`, the given proportion for `02`
//!   and `05`, none for `04`.
//! - `MontoTotalDeGastoAplicable` is the rest of the tax, booked as expense (`MontoTotalImpuesto` minus the
//!   amount credited).

use std::fmt;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;
use crate::clave::{Clave, Consecutivo};
use crate::keystore::Certificate;
use crate::limits::Limits;
use crate::model::MensajeHacienda;
use crate::model::{Comprobante, Documento, MensajeReceptor, RespuestaReceptor};
use crate::parse::{Supplier, v43};
use crate::tipo::TipoDocumento;
use crate::validate::Report;
use crate::xades::VerifiedSignature;

/// The organisation in the issuer of every certificate Hacienda hands to taxpayers
/// (`CN=CA PERSONA JURIDICA, OU=DGT, O=MINISTERIO DE HACIENDA, C=CR` and its física / sandbox siblings).
pub const HACIENDA_ISSUER_ORGANIZATION: &str = "MINISTERIO DE HACIENDA";

/// Which signing certificates a [`Receiver`] takes as issued by Hacienda (see the module documentation).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum IssuerPolicy {
    /// The issuer's organization is [`HACIENDA_ISSUER_ORGANIZATION`] (the default). A name check only:
    /// a certificate of anyone's own making can carry that issuer name.
    HaciendaName,
    /// The signing certificate names one of these CA certificates as its issuer (compared as decoded
    /// RDNs) and verifies under its key (RSA PKCS#1 v1.5 with SHA-256/384/512, or ECDSA P-256/P-384).
    /// Pass Hacienda's `CA PERSONA JURIDICA` and `CA PERSONA FISICA` certificates (production or sandbox).
    IssuedBy(Vec<Certificate>),
    /// Any issuer (tests with self-made keys).
    Any,
}

/// Who receives: the receiver's cédula and what it accepts.
#[derive(Debug, Clone)]
pub struct Receiver {
    cedula: String,
    codigo_actividad: Option<String>,
    issuers: IssuerPolicy,
    limits: Limits,
}

impl Receiver {
    /// A receiver with this identification number (digits only, as in `Receptor/Identificacion/Numero`).
    pub fn new(cedula: impl Into<String>) -> Self {
        Self {
            cedula: cedula.into(),
            codigo_actividad: None,
            issuers: IssuerPolicy::HaciendaName,
            limits: Limits::default(),
        }
    }

    /// The receiver's economic activity, written as `CodigoActividad` in every answer.
    pub fn with_codigo_actividad(mut self, codigo: impl Into<String>) -> Self {
        self.codigo_actividad = Some(codigo.into());
        self
    }

    /// Accepts signing certificates from any issuer (tests with self-made keys); by default a certificate not
    /// issued by Hacienda ([`HACIENDA_ISSUER_ORGANIZATION`]) is a [`Finding::CertificateNotHacienda`].
    /// Same as `with_issuer_policy(IssuerPolicy::Any)`.
    pub fn accept_any_issuer(mut self) -> Self {
        self.issuers = IssuerPolicy::Any;
        self
    }

    /// Which certificates count as Hacienda's (default [`IssuerPolicy::HaciendaName`]); one that does not is a
    /// [`Finding::CertificateNotHacienda`].
    pub fn with_issuer_policy(mut self, policy: IssuerPolicy) -> Self {
        self.issuers = policy;
        self
    }

    /// Input bounds for parsing and verification (default [`Limits::default`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The receiver's identification number.
    pub fn cedula(&self) -> &str {
        &self.cedula
    }

    /// Verifies, parses and checks a supplier's signed comprobante at time `at` (certificate validity).
    ///
    /// Problems with the document's content are returned as [`Received::findings`] and in
    /// [`Received::report`], so the receiver can still answer with a rejection.
    ///
    /// # Errors
    /// [`Error::Signature`] when the signature does not verify (edited after signing, malformed, wrong key),
    /// [`Error::Parse`] when the XML is not a comprobante of a known shape (v4.4, or a v4.3 FE, NC or ND),
    /// [`Error::NotReceivable`] for a document that is not a supplier comprobante (a `MensajeReceptor`, a TE
    /// or FEC, which get no answer), in either version.
    pub fn check(&self, signed_xml: &[u8], at: DateTime<FixedOffset>) -> Result<Received, Error> {
        let signature = crate::xades::verify_with_limits(signed_xml, None, &self.limits)?;
        let document = match crate::parse::supplier_with_limits(signed_xml, &self.limits)? {
            Supplier::V44(Documento::Comprobante(c)) => ReceivedDocument::V44(c),
            Supplier::V44(other) => {
                return Err(Error::NotReceivable { tipo: other.tipo() });
            }
            Supplier::V43(c) => ReceivedDocument::V43(c),
        };
        let tipo = document.tipo();
        if !matches!(
            tipo,
            TipoDocumento::FacturaElectronica
                | TipoDocumento::NotaDebitoElectronica
                | TipoDocumento::NotaCreditoElectronica
        ) {
            return Err(Error::NotReceivable { tipo });
        }
        let report = match &document {
            ReceivedDocument::V44(c) => c.validate(),
            ReceivedDocument::V43(c) => c.validate(),
        };
        let mut findings = Vec::new();
        let receptor = document.receptor_numero().map(str::to_owned);
        if receptor.as_deref() != Some(self.cedula.as_str()) {
            findings.push(Finding::NotForReceiver {
                receptor,
                receiver: self.cedula.clone(),
            });
        }
        check_certificate(
            &signature,
            document.emisor_numero(),
            at,
            &self.issuers,
            &mut findings,
        );
        Ok(Received {
            document,
            signature,
            report,
            findings,
            codigo_actividad: self.codigo_actividad.clone(),
            receiver: self.cedula.clone(),
        })
    }
}

fn check_certificate(
    signature: &VerifiedSignature,
    emisor: Option<&str>,
    at: DateTime<FixedOffset>,
    issuers: &IssuerPolicy,
    findings: &mut Vec<Finding>,
) {
    let Ok((_, cert)) = X509Certificate::from_der(signature.certificate().der()) else {
        // The verifier parsed this certificate already; a second parse cannot fail.
        return;
    };
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    let instant = at.timestamp();
    if instant < not_before || instant > not_after {
        findings.push(Finding::CertificateNotValid {
            not_before: DateTime::from_timestamp(not_before, 0).unwrap_or_default(),
            not_after: DateTime::from_timestamp(not_after, 0).unwrap_or_default(),
        });
    }
    let hacienda = match issuers {
        IssuerPolicy::Any => true,
        IssuerPolicy::HaciendaName => cert
            .issuer()
            .iter_organization()
            .filter_map(|o| o.as_str().ok())
            .any(|o| o.trim().eq_ignore_ascii_case(HACIENDA_ISSUER_ORGANIZATION)),
        IssuerPolicy::IssuedBy(cas) => cas.iter().any(|ca| issued_by(&cert, ca)),
    };
    if !hacienda {
        findings.push(Finding::CertificateNotHacienda {
            issuer: signature.certificate().issuer().to_owned(),
        });
    }
    // Hacienda's certificates carry the holder's id in the subject serialNumber (`CPJ-3-101-123456`,
    // `CPF-01-0234-0567`); compare its digits with the emisor's (leading zeros aside).
    let holder = cert
        .subject()
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .filter_map(|a| a.as_str().ok())
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .find(|d| !d.is_empty());
    if let (Some(holder), Some(emisor)) = (holder, emisor)
        && holder.trim_start_matches('0') != emisor.trim_start_matches('0')
    {
        findings.push(Finding::CertificateHolder {
            holder,
            emisor: emisor.to_owned(),
        });
    }
}

/// Whether `ca` issued `cert`: `cert`'s issuer is `ca`'s subject (decoded RDNs) and `cert`'s signature
/// verifies under `ca`'s key.
fn issued_by(cert: &X509Certificate<'_>, ca: &Certificate) -> bool {
    use aws_lc_rs::signature as sig;
    let Ok((_, ca_cert)) = X509Certificate::from_der(ca.der()) else {
        return false;
    };
    let ca_subject = crate::xades::dn::from_x509(ca_cert.subject());
    if !crate::xades::dn::same_name(&crate::xades::dn::from_x509(cert.issuer()), &ca_subject) {
        return false;
    }
    let alg: &'static dyn sig::VerificationAlgorithm =
        match cert.signature_algorithm.algorithm.to_id_string().as_str() {
            "1.2.840.113549.1.1.11" => &sig::RSA_PKCS1_2048_8192_SHA256,
            "1.2.840.113549.1.1.12" => &sig::RSA_PKCS1_2048_8192_SHA384,
            "1.2.840.113549.1.1.13" => &sig::RSA_PKCS1_2048_8192_SHA512,
            "1.2.840.10045.4.3.2" => &sig::ECDSA_P256_SHA256_ASN1,
            "1.2.840.10045.4.3.3" => &sig::ECDSA_P384_SHA384_ASN1,
            _ => return false,
        };
    let key = ca_cert.public_key().subject_public_key.data.as_ref();
    sig::UnparsedPublicKey::new(alg, key)
        .verify(
            cert.tbs_certificate.as_ref(),
            cert.signature_value.data.as_ref(),
        )
        .is_ok()
}

/// Verifies Hacienda's answer (`MensajeHacienda`) to a document or answer of ours and checks that it
/// answers one of our claves (`is_ours`), before anything is updated from it.
///
/// `hacienda` pins the certificate the message must be signed with (Hacienda's signing certificate);
/// without it the certificate in `ds:KeyInfo` is used (its signature and `SigningCertificate` binding are
/// still checked, but anyone's certificate would do).
///
/// # Errors
/// [`Error::Signature`] when the message is unsigned or its signature does not verify (edited, wrong key),
/// [`Error::Parse`] when it is not a `MensajeHacienda`, [`Error::UnknownClave`] when it answers a clave
/// `is_ours` does not know.
pub fn check_mensaje_hacienda(
    signed_xml: &[u8],
    hacienda: Option<&Certificate>,
    is_ours: impl Fn(&Clave) -> bool,
) -> Result<(MensajeHacienda, VerifiedSignature), Error> {
    let limits = Limits::default();
    let signature = crate::xades::verify_with_limits(signed_xml, hacienda, &limits)?;
    let mensaje = crate::parse::mensaje_hacienda_with_limits(signed_xml, &limits)?;
    if !is_ours(&mensaje.clave) {
        return Err(Error::UnknownClave {
            clave: mensaje.clave,
        });
    }
    Ok((mensaje, signature))
}

/// What [`Receiver::check`] found wrong with a received document (besides validation issues).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The comprobante is not addressed to this receiver.
    NotForReceiver {
        /// `Receptor/Identificacion/Numero` in the document (`None` if absent).
        receptor: Option<String>,
        /// The receiver's cédula.
        receiver: String,
    },
    /// The signing certificate was not valid at the time of the check.
    CertificateNotValid {
        /// Start of validity.
        not_before: DateTime<chrono::Utc>,
        /// End of validity.
        not_after: DateTime<chrono::Utc>,
    },
    /// The signing certificate was not issued by Hacienda.
    CertificateNotHacienda {
        /// Its issuer (RFC 4514).
        issuer: String,
    },
    /// The certificate belongs to someone else than the emisor.
    CertificateHolder {
        /// Digits of the certificate subject's serialNumber.
        holder: String,
        /// The emisor's identification number.
        emisor: String,
    },
}

impl Finding {
    /// A stable code for logs and the sync log.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::NotForReceiver { .. } => "CR-RECV-RECEPTOR",
            Finding::CertificateNotValid { .. } => "CR-RECV-CERT-VALIDITY",
            Finding::CertificateNotHacienda { .. } => "CR-RECV-CERT-ISSUER",
            Finding::CertificateHolder { .. } => "CR-RECV-CERT-HOLDER",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NotForReceiver { receptor, receiver } => write!(
                f,
                "addressed to {} instead of {receiver}",
                receptor.as_deref().unwrap_or("no identified receptor")
            ),
            Finding::CertificateNotValid {
                not_before,
                not_after,
            } => write!(
                f,
                "signing certificate valid only from {} to {}",
                not_before.format("%Y-%m-%d"),
                not_after.format("%Y-%m-%d")
            ),
            Finding::CertificateNotHacienda { issuer } => {
                write!(f, "signing certificate not issued by Hacienda ({issuer})")
            }
            Finding::CertificateHolder { holder, emisor } => {
                write!(
                    f,
                    "signing certificate belongs to {holder}, not the emisor {emisor}"
                )
            }
        }
    }
}

/// The schema version of a received comprobante.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// v4.3 (namespace `…/xml-schemas/v4.3/…`; issued until 31 August 2025).
    V43,
    /// v4.4 (2024 package or its 2026 revision).
    V44,
}

/// A received comprobante as parsed, in its own version.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum ReceivedDocument {
    /// A v4.4 FE, NC or ND.
    V44(Box<Comprobante>),
    /// A v4.3 FE, NC or ND.
    V43(Box<v43::Comprobante>),
}

impl ReceivedDocument {
    /// The version.
    pub fn version(&self) -> Version {
        match self {
            ReceivedDocument::V44(_) => Version::V44,
            ReceivedDocument::V43(_) => Version::V43,
        }
    }

    /// The document type (FE, NC or ND).
    pub fn tipo(&self) -> TipoDocumento {
        match self {
            ReceivedDocument::V44(c) => c.tipo(),
            ReceivedDocument::V43(c) => c.tipo,
        }
    }

    /// `Clave`.
    pub fn clave(&self) -> &Clave {
        match self {
            ReceivedDocument::V44(c) => &c.clave,
            ReceivedDocument::V43(c) => &c.clave,
        }
    }

    /// `Emisor/Identificacion/Numero`.
    pub fn emisor_numero(&self) -> Option<&str> {
        let id = match self {
            ReceivedDocument::V44(c) => c.emisor.identificacion.as_ref(),
            ReceivedDocument::V43(c) => c.emisor.identificacion.as_ref(),
        };
        id.map(|i| i.numero.as_str())
    }

    /// `Receptor/Identificacion/Numero`.
    pub fn receptor_numero(&self) -> Option<&str> {
        let id = match self {
            ReceivedDocument::V44(c) => c.receptor.as_ref().and_then(|r| r.identificacion.as_ref()),
            ReceivedDocument::V43(c) => c.receptor.as_ref().and_then(|r| r.identificacion.as_ref()),
        };
        id.map(|i| i.numero.as_str())
    }

    /// `ResumenFactura/TotalComprobante`.
    pub fn total_comprobante(&self) -> Decimal {
        match self {
            ReceivedDocument::V44(c) => c.resumen.total_comprobante,
            ReceivedDocument::V43(c) => c.resumen.total_comprobante,
        }
    }

    /// `ResumenFactura/TotalImpuesto`.
    pub fn total_impuesto(&self) -> Option<Decimal> {
        match self {
            ReceivedDocument::V44(c) => c.resumen.total_impuesto,
            ReceivedDocument::V43(c) => c.resumen.total_impuesto,
        }
    }

    /// `ResumenFactura/CodigoTipoMoneda/CodigoMoneda` (`None` in a v4.3 document in colones, which may
    /// omit it).
    pub fn codigo_moneda(&self) -> Option<&str> {
        match self {
            ReceivedDocument::V44(c) => Some(c.resumen.codigo_moneda.as_str()),
            ReceivedDocument::V43(c) => c.resumen.codigo_moneda.as_deref(),
        }
    }

    /// The IVA: tax code `01` on every line, net of exonerations.
    pub fn iva(&self) -> Decimal {
        let net = |codigo: &str, monto: Decimal, exon: Option<Decimal>| {
            if codigo == crate::codes::IMPUESTO_IVA {
                monto
                    .checked_sub(exon.unwrap_or(Decimal::ZERO))
                    .unwrap_or(Decimal::ZERO)
            } else {
                Decimal::ZERO
            }
        };
        // Saturating: amounts out of range are validation errors already.
        let total = |it: &mut dyn Iterator<Item = Decimal>| {
            it.fold(Decimal::ZERO, |a, b| {
                a.checked_add(b).unwrap_or(Decimal::MAX)
            })
        };
        match self {
            ReceivedDocument::V44(c) => total(
                &mut c
                    .lineas
                    .iter()
                    .flat_map(|l| l.impuestos.iter())
                    .map(|i| net(&i.codigo, i.monto, i.exoneracion.as_ref().map(|e| e.monto))),
            ),
            ReceivedDocument::V43(c) => total(
                &mut c
                    .lineas
                    .iter()
                    .flat_map(|l| l.impuestos.iter())
                    .map(|i| net(&i.codigo, i.monto, i.exoneracion.as_ref().map(|e| e.monto))),
            ),
        }
    }
}

/// A checked supplier comprobante, ready to be answered.
#[derive(Debug, Clone)]
pub struct Received {
    document: ReceivedDocument,
    signature: VerifiedSignature,
    report: Report,
    findings: Vec<Finding>,
    codigo_actividad: Option<String>,
    receiver: String,
}

impl Received {
    /// The parsed comprobante, in its version.
    pub fn document(&self) -> &ReceivedDocument {
        &self.document
    }

    /// Which schema version the supplier used.
    pub fn version(&self) -> Version {
        self.document.version()
    }

    /// The parsed v4.4 comprobante (`None` for a v4.3 one: see [`comprobante_v43`](Self::comprobante_v43)).
    pub fn comprobante(&self) -> Option<&Comprobante> {
        match &self.document {
            ReceivedDocument::V44(c) => Some(c),
            ReceivedDocument::V43(_) => None,
        }
    }

    /// The parsed v4.3 comprobante (`None` for a v4.4 one).
    pub fn comprobante_v43(&self) -> Option<&v43::Comprobante> {
        match &self.document {
            ReceivedDocument::V43(c) => Some(c),
            ReceivedDocument::V44(_) => None,
        }
    }

    /// The comprobante's clave.
    pub fn clave(&self) -> &Clave {
        self.document.clave()
    }

    /// The verified signature (certificate, signing time, policy).
    pub fn signature(&self) -> &VerifiedSignature {
        &self.signature
    }

    /// Validation of the document (totals, clave against emisor and date, codes, facets).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Receiver-side findings (addressee, certificate).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// No finding and no validation error: the document can be accepted as is.
    pub fn is_acceptable(&self) -> bool {
        self.findings.is_empty() && !self.report.has_errors()
    }

    /// The codes of the findings ([`Finding::code`]) and of the validation errors ([`crate::validate::Rule::code`]).
    pub fn codes(&self) -> Vec<String> {
        self.findings
            .iter()
            .map(|f| f.code().to_owned())
            .chain(self.report.errors().map(|i| i.rule.code().to_owned()))
            .collect()
    }

    /// `Ok` when `respuesta` may answer this document: a rechazado always, an aceptado or aceptado parcial
    /// only when the document [`is_acceptable`](Self::is_acceptable).
    ///
    /// # Errors
    /// [`Error::NotAcceptable`] with the findings' and validation errors' codes.
    pub fn may_answer(&self, respuesta: &Respuesta) -> Result<(), Error> {
        if respuesta.mensaje == RespuestaReceptor::Rechazado || self.is_acceptable() {
            return Ok(());
        }
        Err(Error::NotAcceptable {
            clave: self.clave().as_str().to_owned(),
            codes: self.codes(),
            summary: self.summary(),
        })
    }

    /// The findings and validation errors in one line of at most 160 characters (`DetalleMensaje`), empty
    /// when there is none.
    pub fn summary(&self) -> String {
        let all: Vec<String> = self
            .findings
            .iter()
            .map(|f| format!("{}: {f}", f.code()))
            .chain(self.report.errors().map(ToString::to_string))
            .collect();
        truncate_chars(&all.join("; "), DETALLE_MAX)
    }

    /// The document's IVA (tax code `01` on every line, net of exonerations).
    pub fn iva(&self) -> Decimal {
        self.document.iva()
    }

    /// Builds the `MensajeReceptor` answering this comprobante, numbered with the receiver's own
    /// `consecutivo` (its tipo must be 05, 06 or 07 matching the answer) and dated `fecha`.
    ///
    /// A document that is not [`is_acceptable`](Self::is_acceptable) can only be rejected: an aceptado or
    /// aceptado parcial for it is refused, so a forged or problematic supplier document never gets its IVA
    /// credited through this crate.
    ///
    /// # Errors
    /// [`Error::NotAcceptable`] (with the findings' and validation errors' codes) when `respuesta` accepts
    /// (fully or partially) a document that is not acceptable; [`Error::Receive`] when the consecutivo's tipo
    /// does not match the answer, a proportion lies outside 0..=1, the detail is longer than 160 characters,
    /// or given amounts are negative or exceed the tax.
    pub fn respond(
        &self,
        respuesta: &Respuesta,
        consecutivo: Consecutivo,
        fecha: DateTime<FixedOffset>,
    ) -> Result<MensajeReceptor, Error> {
        self.may_answer(respuesta)?;
        if consecutivo.tipo() != respuesta.tipo_documento() {
            return Err(Error::Receive(format!(
                "consecutivo tipo {} does not match the answer (tipo {})",
                consecutivo.tipo().code(),
                respuesta.tipo_documento().code()
            )));
        }
        if let Some(d) = &respuesta.detalle
            && d.chars().count() > DETALLE_MAX
        {
            return Err(Error::Receive(format!(
                "DetalleMensaje has {} characters, at most {DETALLE_MAX} allowed",
                d.chars().count()
            )));
        }
        let emisor = self
            .document
            .emisor_numero()
            .map(str::to_owned)
            .ok_or_else(|| Error::Receive("the comprobante has no emisor identification".into()))?;
        let mut msg = MensajeReceptor::new(
            self.clave().clone(),
            emisor,
            fecha,
            respuesta.mensaje,
            self.document.total_comprobante(),
            self.receiver.clone(),
            consecutivo,
        );
        msg.detalle_mensaje.clone_from(&respuesta.detalle);
        msg.codigo_actividad.clone_from(&self.codigo_actividad);
        let total_impuesto = self.document.total_impuesto();
        msg.monto_total_impuesto = total_impuesto;
        if let Some(condicion) = respuesta.condicion {
            let tax = total_impuesto.unwrap_or(Decimal::ZERO);
            let (acreditar, gasto) = match respuesta.amounts {
                Some(given) => given,
                None => {
                    let credit = condicion.creditable(self.iva())?;
                    (credit, tax - credit)
                }
            };
            if acreditar < Decimal::ZERO || gasto < Decimal::ZERO || acreditar > tax {
                return Err(Error::Receive(format!(
                    "amounts to credit ({acreditar}) and to expense ({gasto}) must be between 0 and the tax ({tax})"
                )));
            }
            msg.condicion_impuesto = Some(condicion.code().to_owned());
            msg.monto_total_impuesto_acreditar = Some(crate::totals::round5(acreditar));
            msg.monto_total_de_gasto_aplicable = Some(crate::totals::round5(gasto));
        }
        Ok(msg)
    }
}

const DETALLE_MAX: usize = 160;

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `CondicionImpuesto`: how the receiver may credit the document's IVA.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondicionImpuesto {
    /// `01` general: the whole IVA is credited.
    CreditoGeneral,
    /// `02` partial credit: this proportion (0..=1) of the IVA.
    CreditoParcial(Decimal),
    /// `03` capital goods: the whole IVA is credited.
    BienesCapital,
    /// `04` current expense that generates no credit.
    GastoCorriente,
    /// `05` proportionality: the receiver's proportion (0..=1) of the IVA.
    Proporcionalidad(Decimal),
}

impl CondicionImpuesto {
    /// The XSD code (`01`–`05`).
    pub fn code(self) -> &'static str {
        match self {
            CondicionImpuesto::CreditoGeneral => "01",
            CondicionImpuesto::CreditoParcial(_) => "02",
            CondicionImpuesto::BienesCapital => "03",
            CondicionImpuesto::GastoCorriente => "04",
            CondicionImpuesto::Proporcionalidad(_) => "05",
        }
    }

    fn creditable(self, iva: Decimal) -> Result<Decimal, Error> {
        match self {
            CondicionImpuesto::CreditoGeneral | CondicionImpuesto::BienesCapital => Ok(iva),
            CondicionImpuesto::GastoCorriente => Ok(Decimal::ZERO),
            CondicionImpuesto::CreditoParcial(p) | CondicionImpuesto::Proporcionalidad(p) => {
                if p < Decimal::ZERO || p > Decimal::ONE {
                    return Err(Error::Receive(format!(
                        "proportion {p} for CondicionImpuesto {} is outside 0..=1",
                        self.code()
                    )));
                }
                iva.checked_mul(p)
                    .ok_or(Error::Overflow("MontoTotalImpuestoAcreditar"))
            }
        }
    }
}

/// The answer to a received comprobante.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respuesta {
    mensaje: RespuestaReceptor,
    condicion: Option<CondicionImpuesto>,
    detalle: Option<String>,
    amounts: Option<(Decimal, Decimal)>,
}

impl Respuesta {
    /// Accepted in full, crediting the IVA as `condicion` allows.
    pub fn aceptado(condicion: CondicionImpuesto) -> Self {
        Self {
            mensaje: RespuestaReceptor::Aceptado,
            condicion: Some(condicion),
            detalle: None,
            amounts: None,
        }
    }

    /// Partially accepted (`detalle` says why).
    pub fn aceptado_parcial(condicion: CondicionImpuesto, detalle: impl Into<String>) -> Self {
        Self {
            mensaje: RespuestaReceptor::AceptadoParcial,
            condicion: Some(condicion),
            detalle: Some(detalle.into()),
            amounts: None,
        }
    }

    /// Rejected (`detalle` says why; e.g. [`Received::summary`]). No tax is credited.
    pub fn rechazado(detalle: impl Into<String>) -> Self {
        Self {
            mensaje: RespuestaReceptor::Rechazado,
            condicion: None,
            detalle: Some(detalle.into()),
            amounts: None,
        }
    }

    /// Sets `MontoTotalImpuestoAcreditar` and `MontoTotalDeGastoAplicable` instead of deriving them.
    pub fn with_amounts(mut self, acreditar: Decimal, gasto_aplicable: Decimal) -> Self {
        self.amounts = Some((acreditar, gasto_aplicable));
        self
    }

    /// The consecutivo type the receiver's numbering must use for this answer (05, 06 or 07).
    pub fn tipo_documento(&self) -> TipoDocumento {
        self.mensaje.tipo_documento()
    }

    /// The answer as JSON, the form [`WriteOp::AnswerReceived`](erp_hub_core::adapter::WriteOp) carries it
    /// (see [`crate::hub::answer_received`]): `mensaje` (`aceptado`, `aceptado_parcial`, `rechazado`),
    /// `condicion_impuesto` (`01`–`05`) with `proporcion` (a decimal string, for `02` and `05`), `detalle`,
    /// and `acreditar` / `gasto_aplicable` (decimal strings) when set with [`with_amounts`](Self::with_amounts).
    #[cfg(feature = "hub")]
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        let mensaje = match self.mensaje {
            RespuestaReceptor::Aceptado => "aceptado",
            RespuestaReceptor::AceptadoParcial => "aceptado_parcial",
            RespuestaReceptor::Rechazado => "rechazado",
        };
        m.insert("mensaje".into(), mensaje.into());
        if let Some(c) = self.condicion {
            m.insert("condicion_impuesto".into(), c.code().into());
            if let CondicionImpuesto::CreditoParcial(p) | CondicionImpuesto::Proporcionalidad(p) = c
            {
                m.insert("proporcion".into(), p.to_string().into());
            }
        }
        if let Some(d) = &self.detalle {
            m.insert("detalle".into(), d.clone().into());
        }
        if let Some((a, g)) = self.amounts {
            m.insert("acreditar".into(), a.to_string().into());
            m.insert("gasto_aplicable".into(), g.to_string().into());
        }
        serde_json::Value::Object(m)
    }

    /// Reads the form [`to_json`](Self::to_json) writes.
    ///
    /// # Errors
    /// [`Error::Receive`] naming the member that is missing or invalid (unknown members are errors too).
    #[cfg(feature = "hub")]
    pub fn from_json(value: &serde_json::Value) -> Result<Self, Error> {
        let bad = |what: &str| Error::Receive(format!("answer: {what}"));
        let m = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let text = |k: &str| -> Result<Option<&str>, Error> {
            match m.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(bad(&format!("`{k}` must be a string"))),
            }
        };
        let decimal = |k: &str| -> Result<Option<Decimal>, Error> {
            text(k)?
                .map(|s| {
                    s.parse::<Decimal>()
                        .map_err(|e| bad(&format!("`{k}` {s:?} is not a decimal: {e}")))
                })
                .transpose()
        };
        if let Some(k) = m.keys().find(|k| {
            ![
                "mensaje",
                "condicion_impuesto",
                "proporcion",
                "detalle",
                "acreditar",
                "gasto_aplicable",
            ]
            .contains(&k.as_str())
        }) {
            return Err(bad(&format!("unknown member `{k}`")));
        }
        let condicion = || -> Result<CondicionImpuesto, Error> {
            let code = text("condicion_impuesto")?
                .ok_or_else(|| bad("`condicion_impuesto` is required to accept"))?;
            let proporcion = || {
                decimal("proporcion")?
                    .ok_or_else(|| bad(&format!("condicion_impuesto {code} needs `proporcion`")))
            };
            Ok(match code {
                "01" => CondicionImpuesto::CreditoGeneral,
                "02" => CondicionImpuesto::CreditoParcial(proporcion()?),
                "03" => CondicionImpuesto::BienesCapital,
                "04" => CondicionImpuesto::GastoCorriente,
                "05" => CondicionImpuesto::Proporcionalidad(proporcion()?),
                other => return Err(bad(&format!("unknown condicion_impuesto {other:?}"))),
            })
        };
        let detalle = text("detalle")?.map(str::to_owned);
        let mut respuesta = match text("mensaje")? {
            Some("aceptado") => Self::aceptado(condicion()?),
            Some("aceptado_parcial") => Self::aceptado_parcial(
                condicion()?,
                detalle
                    .clone()
                    .ok_or_else(|| bad("`detalle` is required for aceptado_parcial"))?,
            ),
            Some("rechazado") => Self::rechazado(
                detalle
                    .clone()
                    .ok_or_else(|| bad("`detalle` is required for rechazado"))?,
            ),
            Some(other) => return Err(bad(&format!("unknown mensaje {other:?}"))),
            None => return Err(bad("`mensaje` is required")),
        };
        if respuesta.mensaje == RespuestaReceptor::Aceptado {
            respuesta.detalle = detalle;
        }
        match (decimal("acreditar")?, decimal("gasto_aplicable")?) {
            (Some(a), Some(g)) => respuesta = respuesta.with_amounts(a, g),
            (None, None) => {}
            _ => return Err(bad("`acreditar` and `gasto_aplicable` go together")),
        }
        Ok(respuesta)
    }
}
