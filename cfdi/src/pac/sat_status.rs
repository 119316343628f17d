//! SAT `ConsultaCFDIService`: the status of a CFDI (Vigente / Cancelado, cancellability, EFOS).

use std::fmt;
use std::time::Duration;

use erp_hub_core::http::{HttpClient, Replay, RequestSpec, RetryPolicy, TokenUse};

use super::error::PacError;
use super::qr::CfdiIdentity;
use super::soap::{self, EnvelopeWriter, Node, SoapError};

/// Production endpoint of the SAT status service.
pub const SAT_STATUS_URL: &str =
    "https://consultaqr.facturaelectronica.sat.gob.mx/ConsultaCFDIService.svc";
/// Test endpoint used by satcfdi.
pub const SAT_STATUS_TEST_URL: &str =
    "https://pruebacfdiconsultaqr.cloudapp.net/ConsultaCFDIService.svc";

const NS_TEMPURI: &str = "http://tempuri.org/";
const NS_RESULT: &str =
    "http://schemas.datacontract.org/2004/07/Sat.Cfdi.Negocio.ConsultaCfdi.Servicio";
const SOAP_ACTION: &str = "http://tempuri.org/IConsultaCFDIService/Consulta";

/// `Estado` of a CFDI at the SAT.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Estado {
    /// `Vigente`: the CFDI is valid (not cancelled).
    Vigente,
    /// `Cancelado`: the cancellation took effect.
    Cancelado,
    /// `No Encontrado`: the SAT has no CFDI with this UUID, RFCs and total.
    NoEncontrado,
    /// Any other text, kept as sent.
    Other(String),
}

/// `EsCancelable`: whether (and how) the CFDI can still be cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EsCancelable {
    /// `No cancelable` (e.g. it has related documents that are not cancelled).
    NoCancelable,
    /// `Cancelable sin aceptación`: a cancellation takes effect at once.
    SinAceptacion,
    /// `Cancelable con aceptación`: the receptor must accept a cancellation.
    ConAceptacion,
    /// Any other text, kept as sent.
    Other(String),
}

/// `EstatusCancelacion`: where a requested cancellation stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EstatusCancelacion {
    /// Empty: no cancellation requested.
    Ninguno,
    /// `En proceso`: waiting for the receptor.
    EnProceso,
    /// `Cancelado sin aceptación`: cancelled without the receptor's consent being needed.
    CanceladoSinAceptacion,
    /// `Cancelado con aceptación`: the receptor accepted the cancellation.
    CanceladoConAceptacion,
    /// `Plazo vencido`: cancelled because the receptor did not answer in time.
    PlazoVencido,
    /// `Solicitud rechazada`: the receptor refused.
    SolicitudRechazada,
    /// Any other text, kept as sent.
    Other(String),
}

/// `ValidacionEFOS`: the SAT's code for whether the emisor is listed under CFF art. 69-B
/// (*empresas que facturan operaciones simuladas*). The SAT documents `200` for an emisor that
/// is not listed; other codes are kept as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidacionEfos(pub String);

impl ValidacionEfos {
    /// Whether the code is `200` (not listed as EFOS).
    pub fn is_not_listed(&self) -> bool {
        self.0.trim() == "200"
    }
}

/// The SAT's answer about one CFDI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SatStatus {
    /// `CodigoEstatus` as sent (`S - Comprobante obtenido satisfactoriamente.`, `N - 602: …`).
    pub codigo_estatus: String,
    /// Whether `CodigoEstatus` starts with `S` (the query was understood and the CFDI found).
    pub found: bool,
    /// `Estado`: valid, cancelled or not found.
    pub estado: Estado,
    /// `EsCancelable`; `None` when the answer has none (e.g. for a CFDI that was not found).
    pub es_cancelable: Option<EsCancelable>,
    /// `EstatusCancelacion` ([`EstatusCancelacion::Ninguno`] when none was requested).
    pub estatus_cancelacion: EstatusCancelacion,
    /// `ValidacionEFOS`; `None` when the answer has none.
    pub validacion_efos: Option<ValidacionEfos>,
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Estado {
    pub(crate) fn parse(s: &str) -> Self {
        match norm(s).as_str() {
            "vigente" => Self::Vigente,
            "cancelado" => Self::Cancelado,
            "no encontrado" => Self::NoEncontrado,
            _ => Self::Other(s.trim().to_owned()),
        }
    }
}

impl EsCancelable {
    pub(crate) fn parse(s: &str) -> Self {
        match norm(s).as_str() {
            "no cancelable" => Self::NoCancelable,
            "cancelable sin aceptación" | "cancelable sin aceptacion" => Self::SinAceptacion,
            "cancelable con aceptación" | "cancelable con aceptacion" => Self::ConAceptacion,
            _ => Self::Other(s.trim().to_owned()),
        }
    }
}

impl EstatusCancelacion {
    pub(crate) fn parse(s: &str) -> Self {
        match norm(s).as_str() {
            "" => Self::Ninguno,
            "en proceso" => Self::EnProceso,
            "cancelado sin aceptación" | "cancelado sin aceptacion" => {
                Self::CanceladoSinAceptacion
            }
            "cancelado con aceptación" | "cancelado con aceptacion" => {
                Self::CanceladoConAceptacion
            }
            "plazo vencido" => Self::PlazoVencido,
            "solicitud rechazada" => Self::SolicitudRechazada,
            _ => Self::Other(s.trim().to_owned()),
        }
    }
}

impl SatStatus {
    /// Reads the fields from a result element whose children are in `ns`.
    pub(crate) fn from_node(result: &Node, ns: &str) -> Self {
        let codigo_estatus = result.child_text(ns, "CodigoEstatus").unwrap_or_default();
        Self {
            found: codigo_estatus.trim_start().starts_with('S'),
            estado: Estado::parse(&result.child_text(ns, "Estado").unwrap_or_default()),
            es_cancelable: result
                .child_text(ns, "EsCancelable")
                .map(|s| EsCancelable::parse(&s)),
            estatus_cancelacion: EstatusCancelacion::parse(
                &result
                    .child_text(ns, "EstatusCancelacion")
                    .unwrap_or_default(),
            ),
            validacion_efos: result.child_text(ns, "ValidacionEFOS").map(ValidacionEfos),
            codigo_estatus,
        }
    }
}

/// Client of the SAT `ConsultaCFDIService` (SOAP 1.1, no credentials).
#[derive(Clone)]
pub struct SatStatusClient {
    http: HttpClient,
    url: String,
}

impl fmt::Debug for SatStatusClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SatStatusClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SatStatusClient {
    /// A client of the service at `url` (e.g. [`SAT_STATUS_URL`]); 30 s timeout, reads retried.
    ///
    /// # Errors
    /// [`PacError::Config`] for an invalid URL or if the HTTP client cannot be built.
    pub fn new(url: &str) -> Result<Self, PacError> {
        let http = HttpClient::builder()
            .timeout(Duration::from_secs(30))
            .retry_policy(RetryPolicy::default().with_max_attempts(3))
            .build()
            .map_err(|e| PacError::Config {
                message: e.to_string(),
            })?;
        Self::with_http_client(url, http)
    }

    /// A client on an existing [`HttpClient`].
    ///
    /// # Errors
    /// [`PacError::Config`] for an invalid URL.
    pub fn with_http_client(url: &str, http: HttpClient) -> Result<Self, PacError> {
        RequestSpec::post(url).map_err(|e| PacError::Config {
            message: e.to_string(),
        })?;
        Ok(Self {
            http,
            url: url.to_owned(),
        })
    }

    /// The SOAP request body for `identity`.
    pub fn request_body(identity: &CfdiIdentity) -> Vec<u8> {
        let mut w = EnvelopeWriter::new(&[("tem", NS_TEMPURI)]);
        w.start("tem:Consulta", &[])
            .text_element("tem:expresionImpresa", &identity.expresion_impresa())
            .end("tem:Consulta");
        w.finish()
    }

    /// Asks the SAT for the status of a CFDI.
    ///
    /// # Errors
    /// [`PacError::Unavailable`] when the service cannot be reached, [`PacError::Protocol`] for an
    /// unexpected answer, [`PacError::Rejected`] for a SOAP fault.
    pub async fn status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        const WHO: &str = "sat";
        let spec = RequestSpec::post(&self.url)
            .and_then(|s| s.header("SOAPAction", &format!("\"{SOAP_ACTION}\"")))
            .and_then(|s| s.body("text/xml; charset=utf-8", Self::request_body(identity)))
            .map_err(|e| PacError::Config {
                message: e.to_string(),
            })?
            .token(TokenUse::None)
            .replay(Replay::Safe);
        let resp = self
            .http
            .send(spec)
            .await
            .map_err(|e| PacError::from_http(WHO, e, false))?;
        let body = match soap::parse_envelope(resp.body()) {
            Ok(b) => b,
            Err(SoapError::Fault { code, message }) => {
                return Err(PacError::Rejected {
                    pac: WHO.into(),
                    code,
                    message,
                });
            }
            Err(e) if !resp.is_success() => {
                return Err(PacError::from_http(
                    WHO,
                    resp.status_error()
                        .unwrap_or_else(|| erp_hub_core::Error::transient(e.to_string())),
                    false,
                ));
            }
            Err(e) => {
                return Err(PacError::Protocol {
                    pac: WHO.into(),
                    message: e.to_string(),
                });
            }
        };
        let result = body
            .child(NS_TEMPURI, "ConsultaResponse")
            .and_then(|r| r.child(NS_TEMPURI, "ConsultaResult"))
            .ok_or_else(|| PacError::Protocol {
                pac: WHO.into(),
                message: "no {http://tempuri.org/}ConsultaResponse/ConsultaResult in the answer"
                    .into(),
            })?;
        Ok(SatStatus::from_node(result, NS_RESULT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_answer() {
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ConsultaResponse xmlns="http://tempuri.org/"><ConsultaResult xmlns:a="http://schemas.datacontract.org/2004/07/Sat.Cfdi.Negocio.ConsultaCfdi.Servicio" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><a:CodigoEstatus>S - Comprobante obtenido satisfactoriamente.</a:CodigoEstatus><a:EsCancelable>Cancelable con aceptación</a:EsCancelable><a:Estado>Vigente</a:Estado><a:EstatusCancelacion/><a:ValidacionEFOS>200</a:ValidacionEFOS></ConsultaResult></ConsultaResponse></s:Body></s:Envelope>"#;
        let body = soap::parse_envelope(xml.as_bytes()).unwrap();
        let r = body
            .child(NS_TEMPURI, "ConsultaResponse")
            .and_then(|r| r.child(NS_TEMPURI, "ConsultaResult"))
            .unwrap();
        let s = SatStatus::from_node(r, NS_RESULT);
        assert!(s.found);
        assert_eq!(s.estado, Estado::Vigente);
        assert_eq!(s.es_cancelable, Some(EsCancelable::ConAceptacion));
        assert_eq!(s.estatus_cancelacion, EstatusCancelacion::Ninguno);
        assert!(s.validacion_efos.unwrap().is_not_listed());
        assert_eq!(
            EstatusCancelacion::parse("Plazo vencido"),
            EstatusCancelacion::PlazoVencido
        );
        assert_eq!(Estado::parse("No Encontrado"), Estado::NoEncontrado);
    }
}
