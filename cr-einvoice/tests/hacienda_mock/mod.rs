//! A mock of Hacienda's IDP and recepción API over local HTTP (wiremock), shared by `tests/hub_step.rs` and
//! the `hub_cr` example (`#[path]`-included).
//!
//! * `POST /token`: a token.
//! * `POST /recepcion/v1/recepcion`: records the document (every POST, per clave) and answers `202`.
//! * `GET /recepcion/v1/recepcion/{clave}`: `404` for an unknown clave; `procesando` for the first
//!   `pending_polls` queries (asynchronous processing); then a decision with a MensajeHacienda **signed with
//!   the mock's key**: `rechazado` when the document's first `Detalle` contains `RECHAZAR`, else `aceptado`.
//!   Bad answers on demand, by the first `Detalle`: `MH-OTRA-CLAVE` answers with a MensajeHacienda for
//!   another clave (the last digit of the security code changed), `MH-FIRMA-ROTA` with one edited after
//!   signing (its signature does not verify).
//! * [`HaciendaMock::stop`] / [`HaciendaMock::start`]: the server goes down (connections refused) and comes
//!   back on the same port with the same records.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::SignOptions;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the mock saw and decided, per clave.
#[derive(Debug, Default, Clone)]
pub struct Record {
    pub posts: u32,
    /// POSTs that arrived after the clave had already been answered 202.
    pub posts_after_202: u32,
    pub polls: u32,
    pub xml: Vec<u8>,
    /// `aceptado` / `rechazado` once decided.
    pub decision: Option<String>,
    /// The signed MensajeHacienda returned.
    pub mensaje: Option<Vec<u8>>,
}

#[derive(Default)]
pub struct State {
    pub records: BTreeMap<String, Record>,
    pub pending_polls: u32,
}

#[derive(Clone)]
pub struct Shared {
    pub state: Arc<Mutex<State>>,
    key: Arc<SigningKey>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Post(Shared);

impl Respond for Post {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
            return ResponseTemplate::new(400).insert_header("X-Error-Cause", "JSON inválido");
        };
        let clave = match body["consecutivoReceptor"].as_str() {
            Some(c) => format!("{}-{c}", body["clave"].as_str().unwrap_or_default()),
            None => body["clave"].as_str().unwrap_or_default().to_owned(),
        };
        let xml = body["comprobanteXml"]
            .as_str()
            .and_then(|b| BASE64.decode(b).ok())
            .unwrap_or_default();
        let mut s = self.0.lock();
        let r = s.records.entry(clave).or_default();
        if r.posts > 0 {
            r.posts_after_202 += 1;
            r.posts += 1;
            return ResponseTemplate::new(400).insert_header(
                "X-Error-Cause",
                "El comprobante ya fue recibido anteriormente",
            );
        }
        r.posts += 1;
        r.xml = xml;
        ResponseTemplate::new(202)
    }
}

struct Status(Shared);

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Status {
    fn decide(&self, key: &str, xml: &[u8]) -> (String, Vec<u8>) {
        // A MensajeReceptor's status key is `clave-consecutivoReceptor`; the answer names the clave.
        let clave = key.split('-').next().unwrap_or(key);
        let doc = match cr_einvoice::parse::documento(xml) {
            Ok(cr_einvoice::Documento::Comprobante(c)) => Some(*c),
            Ok(cr_einvoice::Documento::MensajeReceptor(m)) => {
                return (
                    "aceptado".to_owned(),
                    self.sign(&format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MensajeHacienda xmlns=\"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda\"><Clave>{clave}</Clave><NombreEmisor>Receptor</NombreEmisor><TipoIdentificacionEmisor>02</TipoIdentificacionEmisor><NumeroCedulaEmisor>{}</NumeroCedulaEmisor><Mensaje>1</Mensaje><EstadoMensaje>Aceptado</EstadoMensaje><DetalleMensaje>Mensaje receptor aceptado (mock)</DetalleMensaje><TotalFactura>{}</TotalFactura></MensajeHacienda>",
                        esc(&m.numero_cedula_receptor),
                        m.total_factura
                    )),
                );
            }
            _ => None,
        };
        let first = doc
            .as_ref()
            .and_then(|d| d.lineas.first())
            .map(|l| l.detalle.clone())
            .unwrap_or_default();
        let reject = first.contains("RECHAZAR");
        let answered = if first.contains("MH-OTRA-CLAVE") {
            let (head, last) = clave.split_at(clave.len().saturating_sub(1));
            format!("{head}{}", if last == "9" { "8" } else { "9" })
        } else {
            clave.to_owned()
        };
        let (estado, mensaje, detalle) = if reject {
            (
                "rechazado",
                "3",
                "El comprobante electrónico tiene los siguientes errores:\n[\ncodigo, mensaje, fila, columna\n-37, \"El total del comprobante no corresponde a la suma de las líneas\", 0, 0\n]",
            )
        } else {
            (
                "aceptado",
                "1",
                "Este comprobante fue aceptado en el ambiente de pruebas (mock)",
            )
        };
        let (nombre, tipo, cedula, receptor, impuesto, total) = match &doc {
            Some(d) => {
                let id = d.emisor.identificacion.as_ref();
                let receptor = d.receptor.as_ref().and_then(|r| {
                    r.identificacion.as_ref().map(|i| {
                        format!(
                            "<NombreReceptor>{}</NombreReceptor><TipoIdentificacionReceptor>{}</TipoIdentificacionReceptor><NumeroCedulaReceptor>{}</NumeroCedulaReceptor>",
                            esc(&r.nombre),
                            i.tipo.code(),
                            esc(&i.numero)
                        )
                    })
                });
                (
                    d.emisor.nombre.clone(),
                    id.map_or("02", |i| i.tipo.code()).to_owned(),
                    id.map(|i| i.numero.clone()).unwrap_or_default(),
                    receptor.unwrap_or_default(),
                    d.resumen.total_impuesto,
                    d.resumen.total_comprobante,
                )
            }
            None => (
                String::from("?"),
                "02".into(),
                "000000000".into(),
                String::new(),
                None,
                Default::default(),
            ),
        };
        let unsigned = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MensajeHacienda xmlns=\"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda\"><Clave>{answered}</Clave><NombreEmisor>{}</NombreEmisor><TipoIdentificacionEmisor>{tipo}</TipoIdentificacionEmisor><NumeroCedulaEmisor>{}</NumeroCedulaEmisor>{receptor}<Mensaje>{mensaje}</Mensaje><EstadoMensaje>{}</EstadoMensaje><DetalleMensaje>{}</DetalleMensaje>{impuesto}<TotalFactura>{total}</TotalFactura></MensajeHacienda>",
            esc(&nombre),
            esc(&cedula),
            if reject { "Rechazado" } else { "Aceptado" },
            esc(detalle),
            impuesto = impuesto
                .map(|i| format!("<MontoTotalImpuesto>{i}</MontoTotalImpuesto>"))
                .unwrap_or_default(),
        );
        let signed = self.sign(&unsigned);
        if first.contains("MH-FIRMA-ROTA") {
            let edited = String::from_utf8_lossy(&signed).replacen("(mock)", "(m0ck)", 1);
            return (estado.to_owned(), edited.into_bytes());
        }
        (estado.to_owned(), signed)
    }

    fn sign(&self, unsigned: &str) -> Vec<u8> {
        cr_einvoice::xades::sign(unsigned.as_bytes(), &self.0.key, &SignOptions::new())
            .unwrap_or_else(|_| unsigned.as_bytes().to_vec())
    }
}

impl Respond for Status {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let clave = req
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let pending_polls = self.0.lock().pending_polls;
        let (xml, polls, decided) = {
            let mut s = self.0.lock();
            let Some(r) = s.records.get_mut(&clave) else {
                return ResponseTemplate::new(404)
                    .insert_header("X-Error-Cause", "Comprobante no encontrado");
            };
            r.polls += 1;
            (
                r.xml.clone(),
                r.polls,
                r.decision.clone().zip(r.mensaje.clone()),
            )
        };
        if decided.is_none() && polls <= pending_polls {
            return ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"clave": clave, "ind-estado": "procesando"}));
        }
        let (estado, mensaje) = match decided {
            Some(d) => d,
            None => {
                let (e, m) = self.decide(&clave, &xml);
                let mut s = self.0.lock();
                if let Some(r) = s.records.get_mut(&clave) {
                    r.decision = Some(e.clone());
                    r.mensaje = Some(m.clone());
                }
                (e, m)
            }
        };
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "clave": clave,
            "fecha": "2026-12-05T10:30:09-06:00",
            "ind-estado": estado,
            "respuesta-xml": BASE64.encode(mensaje),
        }))
    }
}

/// The mock: shared records plus the running server (if up).
pub struct HaciendaMock {
    pub shared: Shared,
    addr: SocketAddr,
    server: Option<MockServer>,
}

impl HaciendaMock {
    /// Starts on a free local port; `key` signs every MensajeHacienda.
    pub async fn start_new(key: SigningKey, pending_polls: u32) -> Self {
        let shared = Shared {
            state: Arc::new(Mutex::new(State {
                records: BTreeMap::new(),
                pending_polls,
            })),
            key: Arc::new(key),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut m = Self {
            shared,
            addr,
            server: None,
        };
        m.serve(listener).await;
        m
    }

    async fn serve(&mut self, listener: std::net::TcpListener) {
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "mock-access-token",
                "expires_in": 300,
                "refresh_token": "mock-refresh-token",
                "refresh_expires_in": 36000,
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/recepcion/v1/recepcion"))
            .respond_with(Post(self.shared.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/recepcion/v1/recepcion/[0-9A-Za-z-]+$"))
            .respond_with(Status(self.shared.clone()))
            .mount(&server)
            .await;
        self.server = Some(server);
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Goes down: connections are refused until [`start`](Self::start).
    pub fn stop(&mut self) {
        self.server = None;
    }

    /// Comes back on the same port.
    pub async fn start(&mut self) {
        if self.server.is_some() {
            return;
        }
        for _ in 0..50 {
            if let Ok(l) = std::net::TcpListener::bind(self.addr) {
                self.serve(l).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("cannot rebind {}", self.addr);
    }

    pub fn records(&self) -> BTreeMap<String, Record> {
        self.shared.lock().records.clone()
    }

    pub fn posts_by_clave(&self) -> HashMap<String, u32> {
        self.shared
            .lock()
            .records
            .iter()
            .map(|(k, r)| (k.clone(), r.posts))
            .collect()
    }
}
