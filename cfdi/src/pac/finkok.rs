//! Finkok (SOAP 1.1): `stamp`, `stamped`, `cancel`, `get_sat_status`.
//!
//! Wire shapes (Finkok WSDLs `servicios/soap/{stamp,cancel}.wsdl`; responses as captured in
//! SAT-CFDI/python-satcfdi `tests/test_pac_finkok.py`): operations in the namespace
//! `http://facturacion.finkok.com/stamp` (or `/cancel`), result fields in
//! `apps.services.soap.core.views`:
//!
//! ```text
//! <tns:stampResponse><tns:stampResult>
//!   <s0:xml>…stamped CFDI, escaped…</s0:xml><s0:UUID>…</s0:UUID><s0:Fecha>…</s0:Fecha>
//!   <s0:CodEstatus>Comprobante timbrado satisfactoriamente</s0:CodEstatus><s0:SatSeal>…</s0:SatSeal>
//!   <s0:Incidencias><s0:Incidencia><s0:CodigoError>307</s0:CodigoError>
//!     <s0:MensajeIncidencia>El CFDI contiene un timbre previo</s0:MensajeIncidencia></s0:Incidencia></s0:Incidencias>
//!   <s0:NoCertificadoSAT>…</s0:NoCertificadoSAT>
//! </tns:stampResult></tns:stampResponse>
//! ```
//!
//! `Incidencias` become [`PacError::Rejected`] with the SAT/Finkok code (`300` "usuario inválido"
//! becomes [`PacError::Auth`]); `307` "timbre previo" returns the existing stamp (fetched with
//! `stamped` when Finkok omits the XML, a behaviour reported in phpcfdi/finkok
//! `docs/issues/StampServiceDobleEstampado.md`).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use erp_hub_core::http::{HttpClient, Replay, RequestSpec, RetryPolicy, TokenUse};
use secrecy::{ExposeSecret, SecretString};

use super::error::PacError;
use super::qr::{CfdiIdentity, format_total};
use super::sat_status::SatStatus;
use super::soap::{self, EnvelopeWriter, Node, SoapError};
use super::tfd::{self, Sent};
use super::{CancelRequest, CancelResult, CancelStatus, Pac, Stamped};
use crate::csd::Certificate;

/// Finkok's demo (test) host.
pub const FINKOK_DEMO_URL: &str = "https://demo-facturacion.finkok.com";
/// Finkok's production host.
pub const FINKOK_PRODUCTION_URL: &str = "https://facturacion.finkok.com";

const NS_STAMP: &str = "http://facturacion.finkok.com/stamp";
const NS_CANCEL: &str = "http://facturacion.finkok.com/cancel";
const NS_APPS: &str = "apps.services.soap.core.views";

/// The CSD that Finkok's `cancel` needs, in the form Finkok asks for: the certificate as PEM and the
/// private key as PEM **encrypted with the Finkok account password** (e.g.
/// `openssl pkcs8 -inform DER -in csd.key -passin pass:CSD_PASSWORD -out key.pem` then
/// `openssl rsa -in key.pem -des3 -out key.enc.pem -passout pass:FINKOK_PASSWORD`).
#[derive(Clone)]
pub struct FinkokCancelCsd {
    cer_pem: String,
    key_pem_encrypted: SecretString,
}

impl FinkokCancelCsd {
    /// The certificate PEM and the encrypted private-key PEM.
    pub fn new(cer_pem: impl Into<String>, key_pem_encrypted: impl Into<SecretString>) -> Self {
        Self {
            cer_pem: cer_pem.into(),
            key_pem_encrypted: key_pem_encrypted.into(),
        }
    }
}

impl fmt::Debug for FinkokCancelCsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinkokCancelCsd")
            .field("cer_pem_len", &self.cer_pem.len())
            .finish_non_exhaustive()
    }
}

/// Configuration of a [`FinkokClient`]. `Debug` never shows the password or keys.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FinkokConfig {
    /// Scheme and host, e.g. [`FINKOK_DEMO_URL`]; services are at `{base_url}/servicios/soap/…`.
    pub base_url: String,
    /// Finkok user name.
    pub username: String,
    /// Finkok password (kept secret: never in `Debug` output or logs).
    pub password: SecretString,
    /// CSD for cancellations, if this client cancels.
    pub cancel_csd: Option<FinkokCancelCsd>,
    /// The PAC/SAT certificate that signs `SelloSAT`; when set, every stamp is verified with it.
    pub pac_certificate: Option<Certificate>,
    /// Timeout of each HTTP attempt (default 60 s).
    pub timeout: Duration,
    /// Name for logs and [`Stamped::pac`] (default `finkok`).
    pub name: String,
}

impl FinkokConfig {
    /// A configuration for the Finkok host at `base_url`.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            cancel_csd: None,
            pac_certificate: None,
            timeout: Duration::from_secs(60),
            name: "finkok".into(),
        }
    }

    /// The demo environment ([`FINKOK_DEMO_URL`]).
    pub fn demo(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self::new(FINKOK_DEMO_URL, username, password)
    }

    /// Production ([`FINKOK_PRODUCTION_URL`]).
    pub fn production(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self::new(FINKOK_PRODUCTION_URL, username, password)
    }

    /// Sets the CSD for cancellations.
    #[must_use]
    pub fn with_cancel_csd(mut self, csd: FinkokCancelCsd) -> Self {
        self.cancel_csd = Some(csd);
        self
    }

    /// Verifies every `SelloSAT` with this certificate.
    #[must_use]
    pub fn with_pac_certificate(mut self, certificate: Certificate) -> Self {
        self.pac_certificate = Some(certificate);
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the name used in logs and [`Stamped::pac`].
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// Finkok SOAP client. Cheap to clone.
///
/// Services at `{base_url}/servicios/soap/stamp.wsdl` (`stamp`, `stamped`) and
/// `{base_url}/servicios/soap/cancel.wsdl` (`cancel`, `get_sat_status`); requests are SOAP 1.1
/// envelopes in the namespaces `http://facturacion.finkok.com/stamp` / `…/cancel`, answers are read
/// namespace-checked (`apps.services.soap.core.views`). `Incidencias` become
/// [`PacError::Rejected`] with the SAT/Finkok code (`300` → [`PacError::Auth`]); `307` "timbre
/// previo" returns the existing stamp ([`Stamped::previously_stamped`]), fetched with `stamped`
/// when Finkok leaves the XML out. A SOAP fault is a definite refusal ([`PacError::Rejected`]);
/// a lost or unreadable answer to `stamp` is [`PacError::Uncertain`].
#[derive(Clone, Debug)]
pub struct FinkokClient {
    http: HttpClient,
    cfg: FinkokConfig,
    stamp_url: String,
    cancel_url: String,
}

/// The HTTP client the PAC clients use by default: `timeout` per attempt, connect errors retried
/// once (writes are never re-sent after they reached the server).
pub(crate) fn default_http(timeout: Duration) -> Result<HttpClient, PacError> {
    HttpClient::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(100)),
        )
        .build()
        .map_err(|e| PacError::Config {
            message: e.to_string(),
        })
}

pub(crate) fn config_err(e: erp_hub_core::Error) -> PacError {
    PacError::Config {
        message: e.to_string(),
    }
}

impl FinkokClient {
    /// A client with its own HTTP client.
    ///
    /// # Errors
    /// [`PacError::Config`] for an invalid base URL.
    pub fn new(cfg: FinkokConfig) -> Result<Self, PacError> {
        let http = default_http(cfg.timeout)?;
        Self::with_http_client(cfg, http)
    }

    /// A client on an existing [`HttpClient`] (its timeouts and retry policy apply).
    ///
    /// # Errors
    /// [`PacError::Config`] for an invalid base URL.
    pub fn with_http_client(cfg: FinkokConfig, http: HttpClient) -> Result<Self, PacError> {
        let base = cfg.base_url.trim_end_matches('/');
        let stamp_url = format!("{base}/servicios/soap/stamp.wsdl");
        let cancel_url = format!("{base}/servicios/soap/cancel.wsdl");
        RequestSpec::post(&stamp_url).map_err(config_err)?;
        Ok(Self {
            http,
            cfg,
            stamp_url,
            cancel_url,
        })
    }

    /// The configuration this client was built with (URLs, user, timeouts, cancellation CSD).
    pub fn config(&self) -> &FinkokConfig {
        &self.cfg
    }

    /// Envelope of `stamp` / `stamped`: `<stamp:{op}><stamp:xml>base64</stamp:xml>…`.
    fn stamp_envelope(&self, op: &str, sealed_xml: &str) -> Vec<u8> {
        let mut w = EnvelopeWriter::new(&[("stamp", NS_STAMP)]);
        let el = format!("stamp:{op}");
        w.start(&el, &[])
            .text_element("stamp:xml", &B64.encode(sealed_xml.as_bytes()))
            .text_element("stamp:username", &self.cfg.username)
            .text_element("stamp:password", self.cfg.password.expose_secret())
            .end(&el);
        w.finish()
    }

    /// Sends a SOAP request; `wrote` marks requests that may apply something (stamp).
    async fn call(&self, url: &str, body: Vec<u8>, wrote: bool) -> Result<Node, PacError> {
        let name = self.cfg.name.as_str();
        let spec = RequestSpec::post(url)
            .and_then(|s| s.body("text/xml; charset=utf-8", body))
            .map_err(config_err)?
            .token(TokenUse::None)
            .replay(if wrote { Replay::Never } else { Replay::Safe });
        let resp = self
            .http
            .send(spec)
            .await
            .map_err(|e| PacError::from_http(name, e, wrote))?;
        match soap::parse_envelope(resp.body()) {
            Ok(body) if resp.is_success() => Ok(body),
            Err(SoapError::Fault { code, message })
                if !matches!(resp.status().as_u16(), 401 | 403) =>
            {
                // A fault is a definite answer: the operation was not carried out.
                Err(PacError::Rejected {
                    pac: name.into(),
                    code,
                    message,
                })
            }
            other => {
                if let Some(e) = resp.status_error() {
                    return Err(PacError::from_http(name, e, wrote));
                }
                let message = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "unexpected answer".into(),
                };
                Err(if wrote {
                    PacError::Uncertain {
                        pac: name.into(),
                        message,
                    }
                } else {
                    PacError::Protocol {
                        pac: name.into(),
                        message,
                    }
                })
            }
        }
    }

    fn unexpected(&self, wrote: bool, message: String) -> PacError {
        let pac = self.cfg.name.clone();
        if wrote {
            PacError::Uncertain { pac, message }
        } else {
            PacError::Protocol { pac, message }
        }
    }

    fn incidencia_error(&self, code: String, message: String) -> PacError {
        let pac = self.cfg.name.clone();
        if code == "300" {
            PacError::Auth { pac, message }
        } else {
            PacError::Rejected { pac, code, message }
        }
    }

    /// Reads a `stampResult` / `stampedResult`.
    async fn stamp_result(
        &self,
        sent: &Sent,
        sealed_xml: &str,
        result: &Node,
        recovering: bool,
    ) -> Result<Option<Stamped>, PacError> {
        let incidencias = incidencias(result);
        let previously = incidencias.iter().any(|(c, _)| c == "307");
        if let Some(xml) = result.child_text(NS_APPS, "xml") {
            let s = tfd::check(
                &self.cfg.name,
                sent,
                xml,
                self.cfg.pac_certificate.as_ref(),
                previously || recovering,
            )?;
            return Ok(Some(s));
        }
        if previously && !recovering {
            // The CFDI *is* stamped at Finkok: whatever goes wrong fetching it, the outcome for
            // the caller is "recover it here later", never "not stamped" (that would fail over).
            return match self.stamped_inner(sent, sealed_xml).await {
                Ok(Some(s)) => Ok(Some(s)),
                Ok(None) => Err(PacError::Uncertain {
                    pac: self.cfg.name.clone(),
                    message: "Finkok reports 307 (previously stamped) but returned no XML yet; recover it later".into(),
                }),
                Err(e @ PacError::Tfd { .. }) => Err(e),
                Err(e) => Err(PacError::Uncertain {
                    pac: self.cfg.name.clone(),
                    message: format!(
                        "Finkok reports 307 (previously stamped) but fetching the stamp failed: {e}"
                    ),
                }),
            };
        }
        match incidencias.into_iter().next() {
            Some((code, msg)) if code == "300" || !recovering => {
                Err(self.incidencia_error(code, msg))
            }
            // `stamped` found nothing for this CFDI.
            Some(_) => Ok(None),
            None if recovering => Ok(None),
            None => {
                Err(self.unexpected(true, "stampResult has neither xml nor Incidencias".into()))
            }
        }
    }

    async fn stamped_inner(
        &self,
        sent: &Sent,
        sealed_xml: &str,
    ) -> Result<Option<Stamped>, PacError> {
        let body = self
            .call(
                &self.stamp_url,
                self.stamp_envelope("stamped", sealed_xml),
                false,
            )
            .await?;
        let result = body
            .child(NS_STAMP, "stampedResponse")
            .and_then(|r| r.child(NS_STAMP, "stampedResult"))
            .ok_or_else(|| self.unexpected(false, "no stampedResponse/stampedResult".into()))?;
        let stamped = Box::pin(self.stamp_result(sent, sealed_xml, result, true)).await?;
        Ok(stamped.map(|mut s| {
            s.previously_stamped = true;
            s
        }))
    }

    /// `stamped`: the stamp Finkok already issued for this sealed CFDI, if any.
    ///
    /// # Errors
    /// See [`PacError`].
    pub async fn stamped(&self, sealed_xml: &str) -> Result<Option<Stamped>, PacError> {
        let sent = Sent::parse(sealed_xml)?;
        self.stamped_inner(&sent, sealed_xml).await
    }

    /// `get_sat_status`: the SAT status of a CFDI, through Finkok.
    ///
    /// # Errors
    /// See [`PacError`].
    pub async fn get_sat_status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        let mut w = EnvelopeWriter::new(&[("can", NS_CANCEL)]);
        w.start("can:get_sat_status", &[])
            .text_element("can:username", &self.cfg.username)
            .text_element("can:password", self.cfg.password.expose_secret())
            .text_element("can:taxpayer_id", &identity.rfc_emisor)
            .text_element("can:rtaxpayer_id", &identity.rfc_receptor)
            .text_element("can:uuid", &identity.uuid)
            .text_element("can:total", &format_total(identity.total))
            .end("can:get_sat_status");
        let body = self.call(&self.cancel_url, w.finish(), false).await?;
        let result = body
            .child(NS_CANCEL, "get_sat_statusResponse")
            .and_then(|r| r.child(NS_CANCEL, "get_sat_statusResult"))
            .ok_or_else(|| self.unexpected(false, "no get_sat_statusResponse".into()))?;
        match result.child(NS_APPS, "sat") {
            Some(sat) => Ok(SatStatus::from_node(sat, NS_APPS)),
            None => {
                let message = result
                    .child_text(NS_APPS, "error")
                    .unwrap_or_else(|| "get_sat_status returned no sat element".into());
                Err(PacError::Rejected {
                    pac: self.cfg.name.clone(),
                    code: String::new(),
                    message,
                })
            }
        }
    }
}

/// `(CodigoError, MensajeIncidencia)` of each `Incidencia`.
fn incidencias(result: &Node) -> Vec<(String, String)> {
    result
        .child(NS_APPS, "Incidencias")
        .map(|i| {
            i.children_named(NS_APPS, "Incidencia")
                .map(|n| {
                    (
                        n.child_text(NS_APPS, "CodigoError").unwrap_or_default(),
                        n.child_text(NS_APPS, "MensajeIncidencia")
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl Pac for FinkokClient {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        let sent = Sent::parse(sealed_xml)?;
        let body = self
            .call(
                &self.stamp_url,
                self.stamp_envelope("stamp", sealed_xml),
                true,
            )
            .await?;
        let result = body
            .child(NS_STAMP, "stampResponse")
            .and_then(|r| r.child(NS_STAMP, "stampResult"))
            .ok_or_else(|| self.unexpected(true, "no stampResponse/stampResult".into()))?;
        self.stamp_result(&sent, sealed_xml, result, false)
            .await?
            .ok_or_else(|| self.unexpected(true, "no stamp in the answer".into()))
    }

    async fn recover(&self, sealed_xml: &str) -> Result<Option<Stamped>, PacError> {
        self.stamped(sealed_xml).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<CancelResult, PacError> {
        let csd = self
            .cfg
            .cancel_csd
            .as_ref()
            .ok_or_else(|| PacError::Config {
                message: "Finkok cancel needs FinkokConfig::with_cancel_csd".into(),
            })?;
        let mut w = EnvelopeWriter::new(&[("can", NS_CANCEL), ("apps", NS_APPS)]);
        w.start("can:cancel", &[])
            .start("can:UUIDS", &[])
            .empty(
                "apps:UUID",
                &[
                    ("UUID", request.uuid()),
                    ("Motivo", request.motivo().code()),
                    (
                        "FolioSustitucion",
                        request.folio_sustitucion().unwrap_or(""),
                    ),
                ],
            )
            .end("can:UUIDS")
            .text_element("can:username", &self.cfg.username)
            .text_element("can:password", self.cfg.password.expose_secret())
            .text_element("can:taxpayer_id", request.rfc_emisor())
            .text_element("can:cer", &B64.encode(csd.cer_pem.as_bytes()))
            .text_element(
                "can:key",
                &B64.encode(csd.key_pem_encrypted.expose_secret().as_bytes()),
            )
            .text_element("can:store_pending", "false")
            .end("can:cancel");
        let body = self.call(&self.cancel_url, w.finish(), false).await?;
        let result = body
            .child(NS_CANCEL, "cancelResponse")
            .and_then(|r| r.child(NS_CANCEL, "cancelResult"))
            .ok_or_else(|| self.unexpected(false, "no cancelResponse/cancelResult".into()))?;
        let folio = result.child(NS_APPS, "Folios").and_then(|f| {
            f.children_named(NS_APPS, "Folio").find(|x| {
                x.child_text(NS_APPS, "UUID")
                    .is_some_and(|u| u.eq_ignore_ascii_case(request.uuid()))
            })
        });
        let Some(folio) = folio else {
            let message = result
                .child_text(NS_APPS, "CodEstatus")
                .unwrap_or_else(|| "cancelResult has no Folio for this UUID".into());
            let (code, message) = super::split_code(&message);
            return Err(PacError::Rejected {
                pac: self.cfg.name.clone(),
                code,
                message,
            });
        };
        let code = folio.child_text(NS_APPS, "EstatusUUID").unwrap_or_default();
        let description = folio.child_text(NS_APPS, "EstatusCancelacion");
        match CancelStatus::from_code(&code) {
            Some(status) => Ok(CancelResult {
                uuid: request.uuid().to_owned(),
                status,
                code,
                description,
                acuse: result.child_text(NS_APPS, "Acuse"),
            }),
            None => Err(PacError::Rejected {
                pac: self.cfg.name.clone(),
                code,
                message: description.unwrap_or_default(),
            }),
        }
    }

    async fn sat_status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        self.get_sat_status(identity).await
    }
}
