//! In-process mock PACs (wiremock) shared by the `pac_*` tests and the `pac_failover` example.
//!
//! They speak the documented request/response shapes (Finkok SOAP 1.1, SW REST; see
//! `tests/fixtures/pac/README.md`), check credentials, and issue **real** TimbreFiscalDigital
//! stamps: `SelloSAT` is an RSA-SHA256 signature of the TFD cadena by a SAT test CSD
//! (`XIA190128J61`) acting as the PAC. Every stamp issued is written to a shared [`Ledger`], so a
//! test can count UUIDs per CFDI across both PACs (double stamps) from what the mocks recorded.
//!
//! Like a real PAC, each mock de-duplicates by `Sello`: a CFDI it already stamped gets the same
//! UUID back with code 307.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cfdi::model::{Complemento, NS_TFD, SCHEMA_TFD, TimbreFiscalDigital};
use cfdi::{Csd, SecretString};
use quick_xml::NsReader;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_STAMP: &str = "http://facturacion.finkok.com/stamp";
pub const NS_CANCEL: &str = "http://facturacion.finkok.com/cancel";
pub const NS_APPS: &str = "apps.services.soap.core.views";

pub const PASSWORD: &str = "12345678a";
pub const FINKOK_USER: &str = "finkok-user@example.com";
pub const FINKOK_PASSWORD: &str = "FINKOK-PASSWORD-f1nk0k";
pub const SW_USER: &str = "sw-user@example.com";
pub const SW_PASSWORD: &str = "SW-PASSWORD-5w5ap1en";
pub const SW_TOKEN: &str = "SW-TOKEN-eyJhbGciOiJIUzI1NiJ9.mock";

const SAMPLE: &str = include_str!("../fixtures/samples/cfdiutils-cfdi40-valid.xml");

/// The SAT test CSD that plays the PAC (signs `SelloSAT`).
pub fn pac_csd() -> Csd {
    Csd::from_bytes(
        include_bytes!("../fixtures/csd/XIA190128J61.cer"),
        include_bytes!("../fixtures/csd/XIA190128J61.key"),
        &SecretString::from(PASSWORD),
    )
    .expect("PAC test CSD")
}

/// The emisor's CSD (EKU9003173C9, valid until 2027).
pub fn emisor_csd() -> Csd {
    Csd::from_bytes(
        include_bytes!("../fixtures/csd/EKU9003173C9.cer"),
        include_bytes!("../fixtures/csd/EKU9003173C9.key"),
        &SecretString::from(PASSWORD),
    )
    .expect("emisor test CSD")
}

/// A sealed, unstamped CFDI 4.0: the cfdiutils sample without its TFD, with `folio`, re-sealed.
pub fn sealed_cfdi(folio: &str) -> String {
    let mut doc = cfdi::parse_str(SAMPLE).expect("sample");
    doc.complemento = None;
    doc.folio = Some(folio.to_owned());
    emisor_csd().seal(&mut doc).expect("seal");
    cfdi::to_xml(&doc)
}

/// One stamp issued by a mock.
#[derive(Clone, Debug)]
pub struct Issued {
    pub pac: String,
    pub sello: String,
    pub uuid: String,
    pub xml: String,
    pub tfd_xml: String,
}

/// Every stamp issued by the mocks.
#[derive(Default)]
pub struct Ledger {
    issued: Mutex<Vec<Issued>>,
    seq: AtomicUsize,
}

impl Ledger {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Stamps at `pac`; a CFDI this PAC already stamped gets its earlier stamp (`true`).
    pub fn stamp(
        &self,
        pac: &str,
        signer: &Csd,
        sealed_xml: &str,
    ) -> Result<(Issued, bool), String> {
        let mut doc = cfdi::parse_str(sealed_xml).map_err(|e| e.to_string())?;
        if let Some(prev) = self.find(pac, &doc.sello) {
            return Ok((prev, true));
        }
        cfdi::verify(&doc).map_err(|e| format!("Sello: {e}"))?;
        let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let h = fnv(&format!("{pac}|{}|{n}", doc.sello));
        let uuid = format!(
            "{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}",
            n as u32,
            (h >> 48) & 0xFFFF,
            (h >> 36) & 0xFFF,
            (h >> 24) & 0xFFF,
            h & 0xFFFF_FFFF_FFFF
        );
        let mut t = TimbreFiscalDigital::default();
        t.version = "1.1".into();
        t.uuid = uuid.clone();
        t.fecha_timbrado = "2025-02-19T08:35:00".into();
        t.rfc_prov_certif = "SPR190613I52".into();
        t.sello_cfd = doc.sello.clone();
        t.no_certificado_sat = signer.certificate().no_certificado().into();
        t.schema_location = Some(format!("{NS_TFD} {SCHEMA_TFD}"));
        let sig = signer
            .private_key()
            .sign_sha256(cfdi::cadena_tfd(&t).as_bytes())
            .map_err(|e| e.to_string())?;
        t.sello_sat = B64.encode(sig);
        let tfd_xml = format!(
            "<tfd:TimbreFiscalDigital xmlns:tfd=\"{NS_TFD}\" Version=\"1.1\" UUID=\"{uuid}\" SelloSAT=\"{}\"/>",
            t.sello_sat
        );
        doc.complemento
            .get_or_insert_with(Vec::new)
            .push(Complemento::Timbre(Box::new(t)));
        let issued = Issued {
            pac: pac.to_owned(),
            sello: doc.sello.clone(),
            uuid,
            xml: cfdi::to_xml(&doc),
            tfd_xml,
        };
        self.issued.lock().unwrap().push(issued.clone());
        Ok((issued, false))
    }

    pub fn find(&self, pac: &str, sello: &str) -> Option<Issued> {
        self.issued
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.pac == pac && i.sello == sello)
            .cloned()
    }

    pub fn by_uuid(&self, uuid: &str) -> Option<Issued> {
        self.issued
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.uuid == uuid)
            .cloned()
    }

    pub fn issued(&self) -> Vec<Issued> {
        self.issued.lock().unwrap().clone()
    }

    /// UUIDs issued for the CFDI with this `Sello`, across all PACs.
    pub fn uuids_for(&self, sello: &str) -> Vec<String> {
        self.issued
            .lock()
            .unwrap()
            .iter()
            .filter(|i| i.sello == sello)
            .map(|i| i.uuid.clone())
            .collect()
    }

    /// CFDIs (by `Sello`) that received more than one UUID.
    pub fn double_stamps(&self) -> usize {
        let mut per: HashMap<String, usize> = HashMap::new();
        for i in self.issued.lock().unwrap().iter() {
            *per.entry(i.sello.clone()).or_default() += 1;
        }
        per.values().filter(|n| **n > 1).count()
    }
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A parsed SOAP request: operation `{ns}local`, its child elements' text and attributes.
#[derive(Debug, Default)]
pub struct SoapRequest {
    pub op_ns: String,
    pub op: String,
    pub fields: HashMap<String, String>,
    pub attrs: HashMap<String, String>,
}

/// Parses a request envelope, checking the SOAP 1.1 namespace and that every child of the
/// operation (except `UUIDS` content) is in the operation's namespace.
pub fn parse_soap(body: &[u8]) -> Result<SoapRequest, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let mut r = NsReader::from_str(text);
    r.config_mut().expand_empty_elements = true;
    let mut path: Vec<(String, String)> = Vec::new();
    let mut out = SoapRequest::default();
    let mut current_text = String::new();
    loop {
        let (ns, ev) = r.read_resolved_event().map_err(|e| e.to_string())?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.into_inner().to_owned(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => return Err(format!("unknown prefix {p}")),
        };
        match ev {
            Event::Start(s) => {
                let local = s.local_name().into_inner().to_owned();
                match path.len() {
                    0 if !(ns == NS_SOAP && local == "Envelope") => {
                        return Err(format!("root is {{{ns}}}{local}"));
                    }
                    2 => {
                        if path[1] != (NS_SOAP.to_owned(), "Body".to_owned()) {
                            return Err("operation outside soap:Body".into());
                        }
                        out.op_ns = ns.clone();
                        out.op = local.clone();
                    }
                    3 if ns != out.op_ns => {
                        return Err(format!("{{{ns}}}{local} not in the operation namespace"));
                    }
                    _ => {}
                }
                for a in s.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let k = a.key.local_name().into_inner().to_owned();
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| e.to_string())?
                        .into_owned();
                    out.attrs.insert(k, v);
                }
                path.push((ns, local));
                current_text.clear();
            }
            Event::End(_) => {
                if let Some((_, local)) = path.pop()
                    && path.len() == 3
                {
                    out.fields.insert(local, std::mem::take(&mut current_text));
                }
            }
            Event::Text(t) => current_text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) => {
                let name = g.into_inner();
                let v = quick_xml::escape::resolve_predefined_entity(&name)
                    .ok_or_else(|| format!("entity {name}"))?;
                current_text.push_str(v);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if out.op.is_empty() {
        return Err("no operation".into());
    }
    Ok(out)
}

fn envelope(tns: &str, inner: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<senv:Envelope xmlns:s0=\"{NS_APPS}\" xmlns:senv=\"{NS_SOAP}\" xmlns:tns=\"{tns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><senv:Body>{inner}</senv:Body></senv:Envelope>"
    )
}

fn soap_ok(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/xml; charset=utf-8")
}

/// Mock Finkok (SOAP): `stamp`, `stamped`, `cancel`, `get_sat_status`.
pub struct FinkokMock {
    pub name: String,
    pub ledger: Arc<Ledger>,
    pub signer: Csd,
    /// The next N `stamp` answers are delayed by `hang` (after the stamp was issued).
    pub hang_next: AtomicUsize,
    pub hang: Duration,
    pub stamp_calls: AtomicUsize,
    pub stamped_calls: AtomicUsize,
    /// `stamped` answers "not found" this many times before finding the stamp (lag).
    pub stamped_lag: AtomicUsize,
    /// Answer 307 without the XML (as reported in phpcfdi/finkok issue docs).
    pub omit_xml_on_307: std::sync::atomic::AtomicBool,
    /// `stamped` answers 503 with an HTML page.
    pub fail_stamped: std::sync::atomic::AtomicBool,
    /// The child elements (`cer`, `key`, …) of every `cancel` request.
    pub cancel_fields: Mutex<Vec<HashMap<String, String>>>,
}

impl FinkokMock {
    pub fn new(name: &str, ledger: Arc<Ledger>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            ledger,
            signer: pac_csd(),
            hang_next: AtomicUsize::new(0),
            hang: Duration::from_secs(3),
            stamp_calls: AtomicUsize::new(0),
            stamped_calls: AtomicUsize::new(0),
            stamped_lag: AtomicUsize::new(0),
            omit_xml_on_307: std::sync::atomic::AtomicBool::new(false),
            fail_stamped: std::sync::atomic::AtomicBool::new(false),
            cancel_fields: Mutex::new(Vec::new()),
        })
    }

    fn result(op: &str, issued: Option<&Issued>, incidencias: &[(&str, &str)]) -> String {
        let mut inner = format!("<tns:{op}Response><tns:{op}Result>");
        if let Some(i) = issued {
            inner.push_str(&format!(
                "<s0:xml>{}</s0:xml><s0:UUID>{}</s0:UUID><s0:Fecha>2025-02-19T08:35:00</s0:Fecha><s0:CodEstatus>Comprobante timbrado satisfactoriamente</s0:CodEstatus>",
                escape(i.xml.as_str()),
                i.uuid
            ));
        } else {
            inner.push_str("<s0:xml></s0:xml>");
        }
        if incidencias.is_empty() {
            inner.push_str("<s0:Incidencias/>");
        } else {
            inner.push_str("<s0:Incidencias>");
            for (c, m) in incidencias {
                inner.push_str(&format!(
                    "<s0:Incidencia><s0:CodigoError>{c}</s0:CodigoError><s0:MensajeIncidencia>{}</s0:MensajeIncidencia></s0:Incidencia>",
                    escape(*m)
                ));
            }
            inner.push_str("</s0:Incidencias>");
        }
        inner.push_str(&format!("</tns:{op}Result></tns:{op}Response>"));
        envelope(NS_STAMP, &inner)
    }
}

/// Lets an `Arc<FinkokMock>` be mounted while the test keeps a handle.
pub struct Shared<T>(pub Arc<T>);

impl Respond for Shared<FinkokMock> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let m = &self.0;
        let soap = match parse_soap(&req.body) {
            Ok(s) => s,
            Err(e) => {
                return ResponseTemplate::new(500).set_body_string(envelope(
                    NS_STAMP,
                    &format!(
                        "<senv:Fault><faultcode>senv:Client</faultcode><faultstring>{}</faultstring></senv:Fault>",
                        escape(e.as_str())
                    ),
                ));
            }
        };
        let user_ok = soap.fields.get("username").map(String::as_str) == Some(FINKOK_USER)
            && soap.fields.get("password").map(String::as_str) == Some(FINKOK_PASSWORD);
        match (soap.op_ns.as_str(), soap.op.as_str()) {
            (NS_STAMP, op @ ("stamp" | "stamped")) => {
                if op == "stamp" {
                    m.stamp_calls.fetch_add(1, Ordering::SeqCst);
                } else {
                    m.stamped_calls.fetch_add(1, Ordering::SeqCst);
                }
                if !user_ok {
                    return soap_ok(FinkokMock::result(
                        op,
                        None,
                        &[("300", "Usuario o contraseña inválidos")],
                    ));
                }
                let xml = soap
                    .fields
                    .get("xml")
                    .and_then(|b| B64.decode(b.trim()).ok())
                    .and_then(|b| String::from_utf8(b).ok());
                let Some(xml) = xml else {
                    return soap_ok(FinkokMock::result(op, None, &[("301", "XML mal formado")]));
                };
                if op == "stamped" {
                    if m.fail_stamped.load(Ordering::SeqCst) {
                        return ResponseTemplate::new(503)
                            .set_body_string("<html>maintenance</html>");
                    }
                    let sello = cfdi::parse_str(&xml).map(|d| d.sello).unwrap_or_default();
                    let lagging = m
                        .stamped_lag
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    return match m.ledger.find(&m.name, &sello) {
                        Some(i) if !lagging => {
                            soap_ok(FinkokMock::result("stamped", Some(&i), &[]))
                        }
                        _ => soap_ok(FinkokMock::result(
                            "stamped",
                            None,
                            &[("603", "El CFDI no se encuentra timbrado")],
                        )),
                    };
                }
                match m.ledger.stamp(&m.name, &m.signer, &xml) {
                    Ok((issued, previously)) => {
                        let inc: &[(&str, &str)] = if previously {
                            &[("307", "El CFDI contiene un timbre previo")]
                        } else {
                            &[]
                        };
                        let omit = previously && m.omit_xml_on_307.load(Ordering::SeqCst);
                        let mut t = soap_ok(FinkokMock::result(
                            "stamp",
                            if omit { None } else { Some(&issued) },
                            inc,
                        ));
                        if m.hang_next
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                        {
                            t = t.set_delay(m.hang);
                        }
                        t
                    }
                    Err(e) => soap_ok(FinkokMock::result("stamp", None, &[("302", &e)])),
                }
            }
            (NS_CANCEL, "cancel") => {
                m.cancel_fields.lock().unwrap().push(soap.fields.clone());
                let uuid = soap.attrs.get("UUID").cloned().unwrap_or_default();
                let code = if !user_ok {
                    return soap_ok(envelope(
                        NS_CANCEL,
                        "<tns:cancelResponse><tns:cancelResult><s0:CodEstatus>300 - Usuario o contraseña inválidos</s0:CodEstatus></tns:cancelResult></tns:cancelResponse>",
                    ));
                } else if m.ledger.by_uuid(&uuid).is_some() {
                    "201"
                } else {
                    "205"
                };
                let motivo = soap.attrs.get("Motivo").cloned().unwrap_or_default();
                soap_ok(envelope(
                    NS_CANCEL,
                    &format!(
                        "<tns:cancelResponse><tns:cancelResult><s0:Folios><s0:Folio><s0:UUID>{uuid}</s0:UUID><s0:EstatusUUID>{code}</s0:EstatusUUID><s0:EstatusCancelacion>motivo {motivo}</s0:EstatusCancelacion></s0:Folio></s0:Folios><s0:Acuse>&lt;Acuse UUID=\"{uuid}\"/&gt;</s0:Acuse><s0:Fecha>2025-02-20T10:00:00</s0:Fecha><s0:RfcEmisor>EKU9003173C9</s0:RfcEmisor></tns:cancelResult></tns:cancelResponse>"
                    ),
                ))
            }
            (NS_CANCEL, "get_sat_status") => soap_ok(envelope(
                NS_CANCEL,
                "<tns:get_sat_statusResponse><tns:get_sat_statusResult><s0:sat><s0:CodigoEstatus>S - Comprobante obtenido satisfactoriamente.</s0:CodigoEstatus><s0:Estado>Vigente</s0:Estado><s0:EsCancelable>Cancelable sin aceptación</s0:EsCancelable><s0:EstatusCancelacion>En proceso</s0:EstatusCancelacion><s0:ValidacionEFOS>200</s0:ValidacionEFOS></s0:sat></tns:get_sat_statusResult></tns:get_sat_statusResponse>",
            )),
            _ => ResponseTemplate::new(500).set_body_string("unknown operation"),
        }
    }
}

/// Starts a mock Finkok server.
pub async fn start_finkok(mock: &Arc<FinkokMock>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/servicios/soap/(stamp|cancel)\\.wsdl$"))
        .respond_with(Shared(Arc::clone(mock)))
        .mount(&server)
        .await;
    server
}

/// Mock SW Sapien (REST).
pub struct SwMock {
    pub name: String,
    pub ledger: Arc<Ledger>,
    pub signer: Csd,
    pub base: Mutex<String>,
    pub auth_calls: AtomicUsize,
    pub stamp_calls: AtomicUsize,
    /// Tokens handed out; a stamp with any other bearer token gets 401.
    pub valid_tokens: Mutex<Vec<String>>,
    pub token_seq: AtomicUsize,
    /// `expires_in` handed out, seconds from now.
    pub token_ttl: i64,
    pub cancel_bodies: Mutex<Vec<serde_json::Value>>,
}

impl SwMock {
    pub fn new(name: &str, ledger: Arc<Ledger>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            ledger,
            signer: pac_csd(),
            base: Mutex::new(String::new()),
            auth_calls: AtomicUsize::new(0),
            stamp_calls: AtomicUsize::new(0),
            valid_tokens: Mutex::new(Vec::new()),
            token_seq: AtomicUsize::new(0),
            token_ttl: 3600,
            cancel_bodies: Mutex::new(Vec::new()),
        })
    }

    /// Invalidates every token handed out so far (the next stamp gets 401).
    pub fn revoke_tokens(&self) {
        self.valid_tokens.lock().unwrap().clear();
    }

    fn authorized(&self, req: &Request) -> bool {
        let Some(v) = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, tok)) = v.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && self.valid_tokens.lock().unwrap().iter().any(|t| t == tok)
    }
}

fn json(status: u16, v: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(v)
}

fn sw_error(status: u16, message: &str) -> ResponseTemplate {
    json(
        status,
        serde_json::json!({"status": "error", "message": message, "messageDetail": ""}),
    )
}

/// The `xml` part of a multipart/form-data body.
fn multipart_xml(req: &Request) -> Option<String> {
    let ct = req.headers.get("content-type")?.to_str().ok()?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"').to_owned();
    let body = std::str::from_utf8(&req.body).ok()?;
    let start_marker = format!("--{boundary}\r\n");
    let part = body.strip_prefix(&start_marker)?;
    let (headers, rest) = part.split_once("\r\n\r\n")?;
    if !headers.contains("name=\"xml\"") {
        return None;
    }
    let end = rest.find(&format!("\r\n--{boundary}--"))?;
    Some(rest[..end].to_owned())
}

impl Respond for Shared<SwMock> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let m = &self.0;
        let p = req.url.path().to_owned();
        if p == "/security/authenticate" {
            m.auth_calls.fetch_add(1, Ordering::SeqCst);
            let h = |n: &str| {
                req.headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            };
            if h("user") != SW_USER || h("password") != SW_PASSWORD {
                return sw_error(401, "AU4101 - Usuario o contraseña inválidos");
            }
            let n = m.token_seq.fetch_add(1, Ordering::SeqCst);
            let token = format!("{SW_TOKEN}.{n}");
            m.valid_tokens.lock().unwrap().push(token.clone());
            let exp = chrono::Utc::now().timestamp() + m.token_ttl;
            return json(
                200,
                serde_json::json!({"data": {"token": token, "expires_in": exp, "tokeny_type": "bearer"}, "status": "success"}),
            );
        }
        if p.starts_with("/storage/") {
            let uuid = p.trim_start_matches("/storage/").trim_end_matches(".xml");
            return match m.ledger.by_uuid(uuid) {
                Some(i) => ResponseTemplate::new(200).set_body_raw(i.xml.into_bytes(), "text/xml"),
                None => ResponseTemplate::new(404),
            };
        }
        if !m.authorized(req) {
            return sw_error(401, "AU2000 - El token debe contener 3 partes");
        }
        if p == "/v4/cfdi33/stamp/v4" {
            m.stamp_calls.fetch_add(1, Ordering::SeqCst);
            if req.headers.get("customid").is_none() {
                return sw_error(400, "CFDI33000 - customid missing in mock");
            }
            let Some(xml) = multipart_xml(req) else {
                return sw_error(400, "301 - XML mal formado");
            };
            return match m.ledger.stamp(&m.name, &m.signer, &xml) {
                Ok((i, false)) => json(
                    200,
                    serde_json::json!({"data": {"cfdi": i.xml, "uuid": i.uuid, "noCertificadoSAT": m.signer.certificate().no_certificado(), "fechaTimbrado": "2025-02-19T08:35:00"}, "status": "success"}),
                ),
                Ok((i, true)) => json(
                    400,
                    serde_json::json!({"status": "error", "message": "307. El comprobante contiene un timbre previo.", "messageDetail": "", "data": {"tfd": i.tfd_xml}}),
                ),
                Err(e) => sw_error(400, &format!("CFDI40102 - {e}")),
            };
        }
        if let Some(uuid) = p.strip_prefix("/datawarehouse/v1/live/") {
            let base = m.base.lock().unwrap().clone();
            return match m.ledger.by_uuid(uuid) {
                Some(i) => json(
                    200,
                    serde_json::json!({"data": {"records": [{"uuid": i.uuid, "urlXml": format!("{base}/storage/{}.xml", i.uuid)}]}, "status": "success"}),
                ),
                None => json(
                    200,
                    serde_json::json!({"data": {"records": []}, "status": "success"}),
                ),
            };
        }
        if p == "/cfdi33/cancel/csd" {
            let body: serde_json::Value = match serde_json::from_slice(&req.body) {
                Ok(b) => b,
                Err(_) => return sw_error(400, "CA1000 - JSON inválido"),
            };
            m.cancel_bodies.lock().unwrap().push(body.clone());
            let uuid = body["uuid"].as_str().unwrap_or_default().to_owned();
            let code = if m.ledger.by_uuid(&uuid).is_some() {
                "201"
            } else {
                "205"
            };
            return json(
                200,
                serde_json::json!({"data": {"acuse": format!("<Acuse UUID=\"{uuid}\"/>"), "uuid": {uuid.clone(): code}}, "status": "success"}),
            );
        }
        ResponseTemplate::new(404)
    }
}

/// Starts a mock SW server.
pub async fn start_sw(mock: &Arc<SwMock>) -> MockServer {
    let server = MockServer::start().await;
    *mock.base.lock().unwrap() = server.uri();
    Mock::given(wiremock::matchers::any())
        .respond_with(Shared(Arc::clone(mock)))
        .mount(&server)
        .await;
    server
}

/// A local port with nothing listening (connection refused).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Marker to keep `path` imported for callers that build their own mocks.
pub fn stamp_path() -> impl wiremock::Match {
    path("/servicios/soap/stamp.wsdl")
}

/// One answer of the mock SAT status service: `(Estado, EsCancelable, EstatusCancelacion)`.
pub type SatAnswer = (&'static str, &'static str, &'static str);

/// Mock SAT `ConsultaCFDIService` (SOAP): answers per UUID (the `id=` of the expresión impresa) from a
/// script; the last answer of a script repeats. A UUID without script is `Vigente`, `Cancelable sin
/// aceptación`, no cancellation. A UUID the ledger never issued is `No Encontrado`.
pub struct SatMock {
    pub ledger: Arc<Ledger>,
    scripts: Mutex<HashMap<String, std::collections::VecDeque<SatAnswer>>>,
    pub queries: Mutex<Vec<String>>,
}

impl SatMock {
    pub fn new(ledger: Arc<Ledger>) -> Arc<Self> {
        Arc::new(Self {
            ledger,
            scripts: Mutex::new(HashMap::new()),
            queries: Mutex::new(Vec::new()),
        })
    }

    /// The answers for `uuid`, in order (the last one repeats).
    pub fn script(&self, uuid: &str, answers: &[SatAnswer]) {
        self.scripts
            .lock()
            .unwrap()
            .insert(uuid.to_ascii_uppercase(), answers.iter().copied().collect());
    }

    /// How many status queries named `uuid`.
    pub fn queries_for(&self, uuid: &str) -> usize {
        self.queries
            .lock()
            .unwrap()
            .iter()
            .filter(|u| u.eq_ignore_ascii_case(uuid))
            .count()
    }
}

impl Respond for Shared<SatMock> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&req.body);
        let Some(uuid) = body
            .split("id=")
            .nth(1)
            .map(|r| r.chars().take(36).collect::<String>().to_ascii_uppercase())
        else {
            return ResponseTemplate::new(500).set_body_string("no expresionImpresa id");
        };
        self.0.queries.lock().unwrap().push(uuid.clone());
        let (codigo, (estado, cancelable, estatus)) = if self.0.ledger.by_uuid(&uuid).is_none() {
            (
                "N - 602: Comprobante no encontrado.",
                ("No Encontrado", "", ""),
            )
        } else {
            let mut scripts = self.0.scripts.lock().unwrap();
            let a = match scripts.get_mut(&uuid) {
                Some(q) if q.len() > 1 => q.pop_front().unwrap_or(("Vigente", "", "")),
                Some(q) => q.front().copied().unwrap_or(("Vigente", "", "")),
                None => ("Vigente", "Cancelable sin aceptación", ""),
            };
            ("S - Comprobante obtenido satisfactoriamente.", a)
        };
        let xml = format!(
            "<s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Body><ConsultaResponse xmlns=\"http://tempuri.org/\"><ConsultaResult xmlns:a=\"http://schemas.datacontract.org/2004/07/Sat.Cfdi.Negocio.ConsultaCfdi.Servicio\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><a:CodigoEstatus>{codigo}</a:CodigoEstatus><a:EsCancelable>{cancelable}</a:EsCancelable><a:Estado>{estado}</a:Estado><a:EstatusCancelacion>{estatus}</a:EstatusCancelacion><a:ValidacionEFOS>200</a:ValidacionEFOS></ConsultaResult></ConsultaResponse></s:Body></s:Envelope>"
        );
        soap_ok(xml)
    }
}

/// Starts a mock SAT status service; its URL is the server's URI.
pub async fn start_sat(mock: &Arc<SatMock>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Shared(Arc::clone(mock)))
        .mount(&server)
        .await;
    server
}
