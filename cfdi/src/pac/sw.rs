//! SW Sapien / SmarterWeb (REST): token authentication, stamp v4, cancel by CSD, recover.
//!
//! Wire shapes (SAT-CFDI/python-satcfdi `satcfdi/pacs/swsapien.py`, lunasoft/sw-sdk-* SDKs):
//!
//! * `POST {services}/security/authenticate` with headers `user` and `password` →
//!   `{"status":"success","data":{"token":"…","expires_in":…}}`; then `Authorization: bearer …`.
//!   The token is cached by an `erp_hub_core` [`TokenManager`] and renewed before `expires_in`
//!   (read as a Unix time when it is one, else as seconds from now) or after a `401`.
//! * `POST {services}/v4/cfdi33/stamp/v4`, multipart field `xml` with the sealed CFDI, header
//!   `customid` (we send a hash of the `Sello`, so a re-send is recognised) →
//!   `{"status":"success","data":{"cfdi":"…","uuid":"…",…}}`.
//! * Errors: `{"status":"error","message":"CFDI40102 - …","messageDetail":"…"}`. A duplicate
//!   (`307` / `CFDI3307` "customId duplicado") carries the earlier TFD in `data.tfd`; the stamped XML
//!   is then fetched from `GET {api}/datawarehouse/v1/live/{uuid}` (`data.records[0].urlXml`).
//! * `POST {services}/cfdi33/cancel/csd` with JSON `{b64Cer, b64Key, password, rfc, uuid, motivo,
//!   folioSustitucion}` → `{"data":{"acuse":"…","uuid":{"<UUID>":"201"}}}`.
//!
//! SW has no "look up by document" call, so [`Pac::recover`] re-sends the stamp request with the
//! same `customid`: SW answers with the stamp it already issued; if it never received the CFDI it
//! stamps it now. Either way SW holds at most one UUID for the CFDI.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use erp_hub_core::http::{
    HttpClient, HttpResponse, InMemoryTokenStore, Replay, RequestSpec, TokenManager,
    TokenRefresher, TokenSet, TokenUse,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::error::PacError;
use super::finkok::{config_err, default_http};
use super::qr::CfdiIdentity;
use super::sat_status::{SAT_STATUS_URL, SatStatus, SatStatusClient};
use super::tfd::{self, Sent};
use super::{CancelRequest, CancelResult, CancelStatus, Pac, Stamped, sello_key, split_code};
use crate::csd::Certificate;

/// SW test services host.
pub const SW_TEST_URL: &str = "https://services.test.sw.com.mx";
/// SW production services host.
pub const SW_PRODUCTION_URL: &str = "https://services.sw.com.mx";
/// SW test API host (storage / datawarehouse).
pub const SW_TEST_API_URL: &str = "https://api.test.sw.com.mx";
/// SW production API host.
pub const SW_PRODUCTION_API_URL: &str = "https://api.sw.com.mx";

/// Token-manager key of the SW account.
const TENANT: &str = "sw";

/// How the client authenticates. `Debug` redacts secrets.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SwAuth {
    /// User and password: a token is requested, cached and renewed.
    UserPassword {
        /// SW user.
        user: String,
        /// SW password.
        password: SecretString,
    },
    /// A long-lived account token (cannot be renewed: a `401` is an [`PacError::Auth`]).
    Token(SecretString),
}

/// The CSD SW's `cancel/csd` needs: `.cer` and `.key` (DER) and the key's password.
#[derive(Clone)]
pub struct SwCancelCsd {
    cer_b64: String,
    key_b64: SecretString,
    password: SecretString,
}

impl SwCancelCsd {
    /// From the `.cer` and `.key` file contents (DER) and the CSD password.
    pub fn new(cer_der: &[u8], key_der: &[u8], password: impl Into<SecretString>) -> Self {
        Self {
            cer_b64: B64.encode(cer_der),
            key_b64: SecretString::from(B64.encode(key_der)),
            password: password.into(),
        }
    }
}

impl fmt::Debug for SwCancelCsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwCancelCsd")
            .field("cer_b64_len", &self.cer_b64.len())
            .finish_non_exhaustive()
    }
}

/// Configuration of a [`SwClient`]. `Debug` never shows credentials.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SwConfig {
    /// Services host, e.g. [`SW_TEST_URL`].
    pub services_url: String,
    /// API host (storage), e.g. [`SW_TEST_API_URL`].
    pub api_url: String,
    /// How to log in: user and password, or a long-lived SW token ([`SwAuth`]).
    pub auth: SwAuth,
    /// CSD for cancellations, if this client cancels.
    pub cancel_csd: Option<SwCancelCsd>,
    /// The PAC/SAT certificate that signs `SelloSAT`; when set, every stamp is verified with it.
    pub pac_certificate: Option<Certificate>,
    /// The SAT status service used by [`Pac::sat_status`] (default [`SAT_STATUS_URL`]).
    pub sat_status_url: String,
    /// Timeout of each HTTP attempt (default 60 s).
    pub timeout: Duration,
    /// Name for logs and [`Stamped::pac`] (default `sw`).
    pub name: String,
}

impl SwConfig {
    /// A configuration for the given hosts and credentials.
    pub fn new(services_url: impl Into<String>, api_url: impl Into<String>, auth: SwAuth) -> Self {
        Self {
            services_url: services_url.into(),
            api_url: api_url.into(),
            auth,
            cancel_csd: None,
            pac_certificate: None,
            sat_status_url: SAT_STATUS_URL.into(),
            timeout: Duration::from_secs(60),
            name: "sw".into(),
        }
    }

    /// Test environment with user and password.
    pub fn test_with_user(user: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self::new(
            SW_TEST_URL,
            SW_TEST_API_URL,
            SwAuth::UserPassword {
                user: user.into(),
                password: password.into(),
            },
        )
    }

    /// Production with user and password.
    pub fn production_with_user(
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self::new(
            SW_PRODUCTION_URL,
            SW_PRODUCTION_API_URL,
            SwAuth::UserPassword {
                user: user.into(),
                password: password.into(),
            },
        )
    }

    /// Production with a long-lived account token.
    pub fn production_with_token(token: impl Into<SecretString>) -> Self {
        Self::new(
            SW_PRODUCTION_URL,
            SW_PRODUCTION_API_URL,
            SwAuth::Token(token.into()),
        )
    }

    /// Sets the CSD for cancellations.
    #[must_use]
    pub fn with_cancel_csd(mut self, csd: SwCancelCsd) -> Self {
        self.cancel_csd = Some(csd);
        self
    }

    /// Verifies every `SelloSAT` with this certificate.
    #[must_use]
    pub fn with_pac_certificate(mut self, certificate: Certificate) -> Self {
        self.pac_certificate = Some(certificate);
        self
    }

    /// Sets the SAT status service URL.
    #[must_use]
    pub fn with_sat_status_url(mut self, url: impl Into<String>) -> Self {
        self.sat_status_url = url.into();
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

/// Gets SW tokens: `POST /security/authenticate` with `user` / `password` headers.
struct SwAuthenticator {
    http: HttpClient,
    url: String,
    auth: SwAuth,
}

#[async_trait]
impl TokenRefresher for SwAuthenticator {
    async fn refresh(
        &self,
        _key: &str,
        _current: Option<&TokenSet>,
    ) -> erp_hub_core::Result<TokenSet> {
        let (user, password) = match &self.auth {
            SwAuth::UserPassword { user, password } => (user, password),
            SwAuth::Token(_) => {
                return Err(erp_hub_core::Error::auth(
                    "the SW account token was rejected; configure a new one",
                ));
            }
        };
        let spec = RequestSpec::post(&self.url)?
            .header("user", user)?
            .secret_header("password", password)?
            .token(TokenUse::None);
        let resp = self.http.send(spec).await?;
        let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        let token = v
            .pointer("/data/token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        match token {
            Some(t) if resp.is_success() => {
                let mut set = TokenSet::new(SecretString::from(t.to_owned()));
                if let Some(exp) = v.pointer("/data/expires_in").and_then(Value::as_i64) {
                    let now = chrono::Utc::now();
                    let at = if exp > 1_000_000_000 {
                        chrono::DateTime::from_timestamp(exp, 0)
                    } else {
                        chrono::TimeDelta::try_seconds(exp).and_then(|d| now.checked_add_signed(d))
                    };
                    if let Some(at) = at {
                        set = set.with_expires_at(at);
                    }
                }
                Ok(set)
            }
            _ => {
                if let Some(e) = resp.status_error()
                    && !matches!(resp.status().as_u16(), 400..=403)
                {
                    return Err(e);
                }
                let msg = v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("SW authentication failed");
                Err(erp_hub_core::Error::auth(msg.to_owned()))
            }
        }
    }
}

/// SW Sapien REST client. Cheap to clone.
///
/// * Authentication: [`SwAuth::UserPassword`] gets a token from `POST /security/authenticate`,
///   caches it (an `erp_hub_core` token manager, single-flight) and renews it before `expires_in`
///   or after a `401`; [`SwAuth::Token`] uses a long-lived account token as is.
/// * [`Pac::stamp`]: `POST /v4/cfdi33/stamp/v4` (multipart `xml`) with header `customid` = a hash
///   of the `Sello`. A duplicate (`307`, `CFDI3307`) is answered with the earlier stamp, fetched
///   from `GET {api}/datawarehouse/v1/live/{uuid}`.
/// * [`Pac::recover`]: SW has no lookup by document, so this re-sends the stamp request with the
///   same `customid`; SW answers with the stamp it already issued (or stamps it now if it never
///   received it: still at most one UUID at SW). [`SwClient::recover_by_uuid`] reads the storage.
/// * [`Pac::cancel`]: `POST /cfdi33/cancel/csd` with the configured [`SwCancelCsd`].
/// * [`Pac::sat_status`]: the SAT service at [`SwConfig::sat_status_url`].
///
/// Error messages `"CODE - text"` become [`PacError::Rejected`] with the code (`CFDI40xxx`, `301`…),
/// `AU…` codes and `401`/`403` become [`PacError::Auth`].
#[derive(Clone)]
pub struct SwClient {
    http: HttpClient,
    plain: HttpClient,
    cfg: SwConfig,
    services: String,
    api: String,
    sat: SatStatusClient,
}

impl fmt::Debug for SwClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwClient")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// A parsed SW JSON answer.
struct SwAnswer {
    status: u16,
    success: bool,
    json: Value,
}

impl SwAnswer {
    fn message(&self) -> (String, String) {
        let msg = self
            .json
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let detail = self
            .json
            .get("messageDetail")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (code, mut rest) = split_code(msg);
        if !detail.is_empty() && detail != msg {
            if !rest.is_empty() {
                rest.push_str(": ");
            }
            rest.push_str(detail);
        }
        (code, rest)
    }

    fn data_str(&self, field: &str) -> Option<String> {
        self.json
            .get("data")
            .and_then(|d| d.get(field))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

impl SwClient {
    /// A client with its own HTTP client and token cache.
    ///
    /// # Errors
    /// [`PacError::Config`] for invalid URLs.
    pub fn new(cfg: SwConfig) -> Result<Self, PacError> {
        let plain = default_http(cfg.timeout)?;
        Self::with_http_client(cfg, plain)
    }

    /// A client whose requests go through `plain` (its timeouts, retry policy and reqwest client);
    /// the bearer-token layer is added on top.
    ///
    /// # Errors
    /// [`PacError::Config`] for invalid URLs.
    pub fn with_http_client(cfg: SwConfig, plain: HttpClient) -> Result<Self, PacError> {
        let services = cfg.services_url.trim_end_matches('/').to_owned();
        let api = cfg.api_url.trim_end_matches('/').to_owned();
        RequestSpec::post(&services).map_err(config_err)?;
        RequestSpec::get(&api).map_err(config_err)?;
        let store = Arc::new(InMemoryTokenStore::new());
        if let SwAuth::Token(t) = &cfg.auth {
            store.insert(TENANT, TokenSet::new(t.clone()));
        }
        let refresher = Arc::new(SwAuthenticator {
            http: plain.clone(),
            url: format!("{services}/security/authenticate"),
            auth: cfg.auth.clone(),
        });
        let tokens = Arc::new(TokenManager::new(store, refresher));
        let http = HttpClient::builder()
            .reqwest_client(plain.reqwest_client().clone())
            .timeout(cfg.timeout)
            .retry_policy(
                erp_hub_core::http::RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_base_delay(Duration::from_millis(100)),
            )
            .token_manager(tokens)
            .build()
            .map_err(config_err)?;
        let sat = SatStatusClient::with_http_client(&cfg.sat_status_url, plain.clone())?;
        Ok(Self {
            http,
            plain,
            cfg,
            services,
            api,
            sat,
        })
    }

    /// The configuration this client was built with (URLs, timeouts, cancellation CSD).
    pub fn config(&self) -> &SwConfig {
        &self.cfg
    }

    async fn send(&self, spec: RequestSpec, wrote: bool) -> Result<SwAnswer, PacError> {
        let name = self.cfg.name.as_str();
        let resp: HttpResponse = self
            .http
            .send(spec.tenant(TENANT))
            .await
            .map_err(|e| PacError::from_http(name, e, wrote))?;
        let status = resp.status().as_u16();
        let json: Option<Value> = serde_json::from_slice(resp.body()).ok();
        match json {
            Some(json) if status < 500 && !matches!(status, 401 | 403 | 429) => {
                let success = resp.is_success()
                    && json.get("status").and_then(Value::as_str) == Some("success");
                Ok(SwAnswer {
                    status,
                    success,
                    json,
                })
            }
            _ => {
                let e = resp.status_error().unwrap_or_else(|| {
                    erp_hub_core::Error::uncertain(format!(
                        "HTTP {status}: the answer is not SW's JSON"
                    ))
                });
                Err(PacError::from_http(name, e, wrote))
            }
        }
    }

    fn stamp_spec(&self, sealed_xml: &str, custom_id: &str) -> Result<RequestSpec, PacError> {
        let mut boundary = format!("----erp-hub-{custom_id}");
        while sealed_xml.contains(&boundary) {
            boundary.push('x');
        }
        let mut body = Vec::with_capacity(sealed_xml.len() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"xml\"; filename=\"xml\"\r\nContent-Type: text/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(sealed_xml.as_bytes());
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Ok(
            RequestSpec::post(&format!("{}/v4/cfdi33/stamp/v4", self.services))
                .and_then(|s| s.header("customid", custom_id))
                .and_then(|s| {
                    s.body(
                        &format!("multipart/form-data; boundary=\"{boundary}\""),
                        body,
                    )
                })
                .map_err(config_err)?
                .replay(Replay::Never),
        )
    }

    async fn stamp_inner(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        let sent = Sent::parse(sealed_xml)?;
        let custom_id = sello_key(&sent.doc.sello);
        let ans = self
            .send(self.stamp_spec(sealed_xml, &custom_id)?, true)
            .await?;
        let name = self.cfg.name.clone();
        if ans.success {
            let cfdi = ans.data_str("cfdi").ok_or_else(|| PacError::Uncertain {
                pac: name.clone(),
                message: "SW answered success without data.cfdi".into(),
            })?;
            return tfd::check(&name, &sent, cfdi, self.cfg.pac_certificate.as_ref(), false);
        }
        let (code, message) = ans.message();
        if matches!(code.as_str(), "307" | "CFDI3307" | "CFDI33307") {
            // Stamped before (same CFDI or same customid).
            if let Some(cfdi) = ans.data_str("cfdi") {
                return tfd::check(&name, &sent, cfdi, self.cfg.pac_certificate.as_ref(), true);
            }
            let uuid = ans
                .data_str("uuid")
                .or_else(|| ans.data_str("tfd").and_then(|t| attr(&t, "UUID")));
            // The CFDI *is* stamped at SW: a failure to fetch it must not read as "not stamped".
            let fetched = match uuid {
                Some(uuid) => self.fetch_xml(&uuid).await,
                None => Ok(None),
            };
            return match fetched {
                Ok(Some(xml)) => {
                    tfd::check(&name, &sent, xml, self.cfg.pac_certificate.as_ref(), true)
                }
                Ok(None) => Err(PacError::Uncertain {
                    pac: name,
                    message: format!(
                        "SW reports the CFDI as previously stamped ({code} {message}) but the stamp is not retrievable yet"
                    ),
                }),
                Err(e) => Err(PacError::Uncertain {
                    pac: name,
                    message: format!(
                        "SW reports the CFDI as previously stamped ({code} {message}) but fetching it failed: {e}"
                    ),
                }),
            };
        }
        Err(classify(&name, ans.status, code, message))
    }

    /// The stored XML of `uuid` (`GET {api}/datawarehouse/v1/live/{uuid}`, then its `urlXml`).
    async fn fetch_xml(&self, uuid: &str) -> Result<Option<String>, PacError> {
        let name = self.cfg.name.as_str();
        let spec = RequestSpec::get(&format!("{}/datawarehouse/v1/live/{uuid}", self.api))
            .map_err(config_err)?;
        let ans = self.send(spec, false).await?;
        if ans.status == 404 {
            return Ok(None);
        }
        if !ans.success {
            let (code, message) = ans.message();
            return Err(classify(name, ans.status, code, message));
        }
        let Some(url) = ans
            .json
            .pointer("/data/records/0/urlXml")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let spec = RequestSpec::get(url)
            .map_err(config_err)?
            .token(TokenUse::None);
        let resp = self
            .plain
            .send(spec)
            .await
            .map_err(|e| PacError::from_http(name, e, false))?;
        if let Some(e) = resp.status_error() {
            return Err(PacError::from_http(name, e, false));
        }
        String::from_utf8(resp.into_body())
            .map(Some)
            .map_err(|_| PacError::Protocol {
                pac: name.into(),
                message: "the stored XML is not UTF-8".into(),
            })
    }

    /// Recovers a stamped CFDI by UUID from SW's storage (`None` if SW does not have it). The
    /// TFD is parsed but not compared with any Sello (there is no sealed document to compare with).
    ///
    /// # Errors
    /// See [`PacError`].
    pub async fn recover_by_uuid(&self, uuid: &str) -> Result<Option<Stamped>, PacError> {
        let name = self.cfg.name.clone();
        let Some(xml) = self.fetch_xml(uuid).await? else {
            return Ok(None);
        };
        let doc = crate::parse_str(&xml).map_err(|e| PacError::Protocol {
            pac: name.clone(),
            message: format!("the stored XML does not parse: {e}"),
        })?;
        let tfd = doc.timbre().cloned().ok_or_else(|| PacError::Protocol {
            pac: name.clone(),
            message: "the stored XML has no TimbreFiscalDigital".into(),
        })?;
        if let Some(cert) = &self.cfg.pac_certificate {
            crate::verify_timbre(&doc, cert).map_err(|e| PacError::Tfd {
                pac: name.clone(),
                problem: e.to_string(),
            })?;
        }
        Ok(Some(Stamped {
            uuid: tfd.uuid.clone(),
            xml,
            tfd,
            pac: name,
            previously_stamped: true,
        }))
    }
}

/// Value of attribute `name` in a small XML fragment (the TFD SW returns in `data.tfd`).
fn attr(xml: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = xml.find(&needle)? + needle.len();
    let len = xml.get(start..)?.find('"')?;
    xml.get(start..start + len).map(str::to_owned)
}

fn classify(pac: &str, status: u16, code: String, message: String) -> PacError {
    let pac = pac.to_owned();
    if code.starts_with("AU") || matches!(status, 401 | 403) {
        return PacError::Auth { pac, message };
    }
    PacError::Rejected { pac, code, message }
}

#[async_trait]
impl Pac for SwClient {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        self.stamp_inner(sealed_xml).await
    }

    /// Re-sends the stamp request with the same `customid` (see the module docs).
    async fn recover(&self, sealed_xml: &str) -> Result<Option<Stamped>, PacError> {
        match self.stamp_inner(sealed_xml).await {
            Ok(mut s) => {
                s.previously_stamped = true;
                Ok(Some(s))
            }
            Err(e @ PacError::Rejected { .. }) => {
                tracing::debug!(pac = self.name(), error = %e, "SW has no stamp of this CFDI");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<CancelResult, PacError> {
        let csd = self
            .cfg
            .cancel_csd
            .as_ref()
            .ok_or_else(|| PacError::Config {
                message: "SW cancel needs SwConfig::with_cancel_csd".into(),
            })?;
        let mut body = serde_json::json!({
            "b64Cer": csd.cer_b64,
            "b64Key": csd.key_b64.expose_secret(),
            "password": csd.password.expose_secret(),
            "rfc": request.rfc_emisor(),
            "uuid": request.uuid(),
            "motivo": request.motivo().code(),
        });
        if let (Some(f), Some(map)) = (request.folio_sustitucion(), body.as_object_mut()) {
            map.insert("folioSustitucion".into(), Value::String(f.to_owned()));
        }
        let spec = RequestSpec::post(&format!("{}/cfdi33/cancel/csd", self.services))
            .and_then(|s| s.json(&body))
            .map_err(config_err)?
            .replay(Replay::Safe);
        let ans = self.send(spec, false).await?;
        let name = self.cfg.name.clone();
        if !ans.success {
            let (code, message) = ans.message();
            return Err(classify(&name, ans.status, code, message));
        }
        let code = ans
            .json
            .pointer("/data/uuid")
            .and_then(Value::as_object)
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(request.uuid()))
                    .map(|(_, v)| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
            })
            .ok_or_else(|| PacError::Protocol {
                pac: name.clone(),
                message: "data.uuid has no status for this UUID".into(),
            })?;
        match CancelStatus::from_code(&code) {
            Some(status) => Ok(CancelResult {
                uuid: request.uuid().to_owned(),
                status,
                code,
                description: None,
                acuse: ans.data_str("acuse"),
            }),
            None => Err(PacError::Rejected {
                pac: name,
                code,
                message: "the SAT refused the cancellation".into(),
            }),
        }
    }

    async fn sat_status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        self.sat.status(identity).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_attribute_from_a_tfd_fragment() {
        let t =
            r#"<tfd:TimbreFiscalDigital xmlns:tfd="x" Version="1.1" UUID="ABC-1" SelloSAT="z"/>"#;
        assert_eq!(attr(t, "UUID").as_deref(), Some("ABC-1"));
        assert_eq!(attr(t, "Nope"), None);
    }

    #[test]
    fn debug_never_shows_credentials() {
        let cfg = SwConfig::test_with_user("user@example.com", "pw-s3cret")
            .with_cancel_csd(SwCancelCsd::new(b"cer", b"key-bytes", "csd-s3cret"));
        let out = format!("{cfg:?}");
        assert!(
            !out.contains("pw-s3cret") && !out.contains("csd-s3cret"),
            "{out}"
        );
        assert!(!out.contains(&B64.encode(b"key-bytes")), "{out}");
        let tok = SwConfig::production_with_token("tok-s3cret");
        assert!(!format!("{tok:?}").contains("tok-s3cret"));
    }
}
