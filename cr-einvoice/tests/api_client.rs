//! Hacienda API client against a local wiremock of the Keycloak token endpoint and recepción.
#![cfg(feature = "api")]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use cr_einvoice::api::{
    ApiError, ApiErrorKind, CauseKind, Envio, Estado, HaciendaClient, HaciendaConfig,
    InMemoryTokenStore, ParteEnvio, PasswordCredentials, PollPolicy, RateLimitConfig, RetryPolicy,
    TokenSet,
};
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{Clave, EstadoHacienda, SchemaRevision, TipoDocumento, TipoIdentificacion, demo};
use erp_hub_core::http::Jitter;
use secrecy::SecretString;
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const USER: &str = "cpf-03-0123-0456@stag.comprobanteselectronicos.go.cr";
const PASSWORD: &str = "PASSWORD-Zq8!hunter2";
const STALE: &str = "ACCESS-STALE-eyJhbGciOiJSUzI1NiJ9.old";
const FRESH: &str = "ACCESS-FRESH-eyJhbGciOiJSUzI1NiJ9.new";
const REFRESH: &str = "REFRESH-TOKEN-eyJhbGciOiJIUzI1NiJ9.rt";
const POST_PATH: &str = "/recepcion/v1/recepcion";
const STATUS_PATH: &str = r"^/recepcion/v1/recepcion/[A-Za-z0-9-]+$";

/// The hand-written MensajeHacienda (rechazado, DetalleMensaje with code -37) of the parser tests.
const RECHAZADO_XML: &str = include_str!("fixtures/mensaje-hacienda/rechazado_v4.4_unsigned.xml");
/// Its clave.
const RECHAZADO_CLAVE: &str = "50615032600310123456700100001010000000001100000001";

fn config(server: &MockServer) -> HaciendaConfig {
    HaciendaConfig::sandbox()
        .with_urls(
            format!("{}/token", server.uri()),
            format!("{}{POST_PATH}", server.uri()),
        )
        .with_request_timeout(Duration::from_millis(1500))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_base_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20))
                .with_jitter(Jitter::None),
        )
        .with_poll(
            PollPolicy::default()
                .with_initial_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20))
                .with_max_polls(6),
        )
}

fn credentials() -> PasswordCredentials {
    PasswordCredentials::new(USER, PASSWORD)
}

fn store_with(access: &str, expires_at: DateTime<Utc>) -> Arc<InMemoryTokenStore> {
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        USER,
        TokenSet::new(access)
            .with_refresh_token(REFRESH)
            .with_expires_at(expires_at)
            .with_refresh_token_expires_at(Utc::now() + chrono::Duration::hours(10)),
    );
    store
}

fn client(server: &MockServer, store: Arc<InMemoryTokenStore>) -> HaciendaClient {
    HaciendaClient::builder(config(server))
        .credentials(credentials())
        .token_store(store)
        .build()
        .unwrap()
}

/// A clave of the demo issuer with consecutivo `n`.
fn clave(n: u64) -> Clave {
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00").unwrap();
    demo::clave(
        TipoDocumento::FacturaElectronica,
        n,
        &fecha,
        demo::EMISOR_CEDULA,
    )
    .unwrap()
}

/// A body from parts (the bytes stand for a signed document: recepción is mocked).
fn envio_for(clave: &Clave) -> Envio {
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00").unwrap();
    Envio::new(
        clave,
        &fecha,
        ParteEnvio::new(TipoIdentificacion::CedulaJuridica, demo::EMISOR_CEDULA),
        b"<FacturaElectronica>signed</FacturaElectronica>",
    )
}

/// A MensajeHacienda for `clave` with `mensaje` (1 aceptado, 3 rechazado) and `detalle`.
fn mensaje_hacienda(clave: &str, mensaje: &str, detalle: &str) -> String {
    let start = RECHAZADO_XML.find("<DetalleMensaje>").unwrap() + "<DetalleMensaje>".len();
    let end = RECHAZADO_XML.find("</DetalleMensaje>").unwrap();
    format!(
        "{}{}{}",
        &RECHAZADO_XML[..start],
        detalle,
        &RECHAZADO_XML[end..]
    )
    .replace(RECHAZADO_CLAVE, clave)
    .replace(
        "<Mensaje>3</Mensaje>",
        &format!("<Mensaje>{mensaje}</Mensaje>"),
    )
}

fn token_json(access: &str) -> serde_json::Value {
    serde_json::json!({
        "access_token": access,
        "expires_in": 300,
        "refresh_token": REFRESH,
        "refresh_expires_in": 36000,
        "token_type": "Bearer",
    })
}

/// Answers `GET …/recepcion/{key}` with `ind-estado` and, when final, a MensajeHacienda for the
/// clave in the path.
struct StatusResponder {
    estado: &'static str,
}

impl Respond for StatusResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let clave = key.split('-').next().unwrap_or_default();
        let mut json = serde_json::json!({
            "clave": key,
            "fecha": "2026-11-20T10:30:05-06:00",
            "ind-estado": self.estado,
        });
        if let Some(code) = match self.estado {
            "aceptado" => Some("1"),
            "rechazado" => Some("3"),
            _ => None,
        } {
            let xml = mensaje_hacienda(clave, code, "Mensaje de prueba");
            json["respuesta-xml"] = BASE64.encode(xml).into();
        }
        ResponseTemplate::new(200).set_body_json(json)
    }
}

/// `0`'s answer, `1` late.
struct Delayed(StatusResponder, Duration);

impl Respond for Delayed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.respond(req).set_delay(self.1)
    }
}

async fn mount_status(server: &MockServer, estado: &'static str) {
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(StatusResponder { estado })
        .mount(server)
        .await;
}

fn requests_of<'a>(reqs: &'a [Request], m: &str, p: &str) -> Vec<&'a Request> {
    reqs.iter()
        .filter(|r| r.method.as_str() == m && r.url.path().starts_with(p))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_on_an_expired_token_make_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=api-stag"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_json(FRESH))
                .set_delay(Duration::from_millis(150)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .and(header("authorization", format!("Bearer {FRESH}").as_str()))
        .respond_with(ResponseTemplate::new(202))
        .expect(24)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let store = store_with(STALE, Utc::now() - chrono::Duration::minutes(1));
    let client = client(&server, Arc::clone(&store));
    let mut tasks = Vec::new();
    for n in 1..=24 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.submit(&envio_for(&clave(n))).await
        }));
    }
    for t in tasks {
        let outcome = t.await.unwrap().unwrap();
        assert!(outcome.is_aceptado(), "{outcome:?}");
        assert_eq!(outcome.posts, 1);
    }
    // The refreshed tokens were saved before use.
    let saved = store.get(USER).unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&saved.access_token),
        FRESH
    );
}

#[tokio::test]
async fn a_401_from_recepcion_forces_exactly_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(FRESH)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .and(header("authorization", format!("Bearer {STALE}").as_str()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .and(header("authorization", format!("Bearer {FRESH}").as_str()))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .and(header("authorization", format!("Bearer {FRESH}").as_str()))
        .respond_with(StatusResponder { estado: "aceptado" })
        .mount(&server)
        .await;

    // The stored token looks valid (1 h left) but the server revoked it.
    let client = client(
        &server,
        store_with(STALE, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(7))).await.unwrap();
    assert!(outcome.is_aceptado());
}

#[tokio::test]
async fn a_second_401_is_an_auth_error_without_more_refreshes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(FRESH)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(
        &server,
        store_with(STALE, Utc::now() + chrono::Duration::hours(1)),
    );
    let err = client.submit(&envio_for(&clave(8))).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Auth, "{err}");
}

#[tokio::test]
async fn status_5xx_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(9))).await.unwrap();
    assert!(outcome.is_aceptado());
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(requests_of(&reqs, "GET", POST_PATH).len(), 3);
}

#[tokio::test]
async fn post_5xx_queries_the_status_instead_of_posting_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    // Hacienda did receive it: the status lookup finds it processing, then accepted.
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(StatusResponder {
            estado: "procesando",
        })
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(10))).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.posts, 1);
    let reqs = server.received_requests().await.unwrap();
    // POST, then only GETs.
    assert_eq!(reqs[0].method.as_str(), "POST");
    assert!(reqs[1..].iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test]
async fn post_5xx_and_unknown_clave_is_posted_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("X-Error-Cause", "El comprobante no ha sido recibido"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(11))).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.posts, 2);
    let reqs = server.received_requests().await.unwrap();
    let order: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(&order[..3], ["POST", "GET", "POST"]);
}

#[tokio::test]
async fn lost_202_is_settled_by_status_and_never_posted_twice() {
    let server = MockServer::start().await;
    // Hacienda accepts, but the answer arrives after the client's 1.5 s timeout.
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(4)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(StatusResponder { estado: "recibido" })
        .up_to_n_times(2)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(12))).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.posts, 1);
    assert_eq!(outcome.polls, 3);
}

#[tokio::test]
async fn lost_status_response_after_202_is_polled_again_without_a_second_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    // The first status answer never arrives in time.
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(Delayed(
            StatusResponder { estado: "aceptado" },
            Duration::from_secs(4),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_status(&server, "rechazado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(13))).await.unwrap();
    // The outcome is the one of a later, answered status query.
    assert!(outcome.is_rechazado());
    assert_eq!(outcome.posts, 1);
}

#[tokio::test]
async fn rechazado_brings_the_detalle_mensaje_to_the_caller() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{POST_PATH}/{RECHAZADO_CLAVE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "clave": RECHAZADO_CLAVE,
            "fecha": "2026-03-15T10:00:00-06:00",
            "ind-estado": "rechazado",
            "respuesta-xml": BASE64.encode(RECHAZADO_XML),
        })))
        .mount(&server)
        .await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let clave = Clave::from_str(RECHAZADO_CLAVE).unwrap();
    let outcome = client.submit(&envio_for(&clave)).await.unwrap();
    assert!(outcome.is_rechazado());
    assert_eq!(outcome.estado, Estado::Rechazado);
    let detalle = outcome.detalle_mensaje().unwrap();
    assert!(
        detalle.contains(
            "-37, \"El total del comprobante no corresponde a la suma de las líneas & cargos\""
        ),
        "{detalle}"
    );
    let mensaje = outcome.mensaje().unwrap();
    assert_eq!(mensaje.mensaje, EstadoHacienda::Rechazado);
    assert_eq!(mensaje.clave.as_str(), RECHAZADO_CLAVE);
    // The signed answer is kept byte for byte.
    assert_eq!(
        outcome.response.respuesta_xml.as_deref(),
        Some(RECHAZADO_XML.as_bytes())
    );
}

#[tokio::test]
async fn detalle_mensaje_survives_an_answer_the_strict_parser_refuses() {
    let server = MockServer::start().await;
    // An answer with an element the v4.4 model does not know: the strict parser refuses it.
    let odd = RECHAZADO_XML.replace(
        "<MontoTotalImpuesto>",
        "<Extra>?</Extra><MontoTotalImpuesto>",
    );
    Mock::given(method("GET"))
        .and(path(format!("{POST_PATH}/{RECHAZADO_CLAVE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "clave": RECHAZADO_CLAVE,
            "ind-estado": "rechazado",
            "respuesta-xml": BASE64.encode(&odd),
        })))
        .mount(&server)
        .await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.wait_for_outcome(RECHAZADO_CLAVE).await.unwrap();
    assert!(outcome.is_rechazado());
    assert!(outcome.mensaje().is_none());
    assert!(outcome.response.mensaje_error.is_some());
    assert!(outcome.detalle_mensaje().unwrap().contains("-37"));
}

#[tokio::test]
async fn x_error_cause_on_400_is_a_typed_error() {
    let server = MockServer::start().await;
    // ISO-8859-1 bytes, as Hacienda's gateway sends accented causes.
    let cause: &[u8] = b"La firma del comprobante electr\xf3nico no es v\xe1lida";
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header(
                    "X-Error-Cause",
                    erp_hub_core::http::HeaderValue::from_bytes(cause).unwrap(),
                )
                .insert_header("validation-exception", "true"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let err = client.submit(&envio_for(&clave(20))).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Validation);
    let ApiError::Rejected(cause) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(cause.status, 400);
    assert_eq!(cause.kind, CauseKind::Signature);
    assert_eq!(
        cause.message,
        "La firma del comprobante electrónico no es válida"
    );
    assert!(cause.validation_exception);
    assert!(err.to_string().contains("electrónico no es válida"));
}

#[tokio::test]
async fn already_received_is_polled_not_failed() {
    let server = MockServer::start().await;
    let c = clave(21);
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(
            ResponseTemplate::new(400).insert_header(
                "X-Error-Cause",
                format!(
                    "El comprobante [{}] ya fue recibido anteriormente.",
                    c.as_str()
                )
                .as_str(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&c)).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.posts, 1);
}

#[tokio::test]
async fn unreachable_status_after_a_lost_post_is_uncertain_and_resume_asks_first() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(504))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let envio = envio_for(&clave(22));
    let err = client.submit(&envio).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Uncertain, "{err}");
    assert!(!err.is_retriable());
    // Later: resume asks first and finds it; no second POST (the POST mock expects 1).
    let outcome = client.resume(&envio).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.posts, 0);
}

#[tokio::test]
async fn undecided_after_the_polling_budget_is_pending() {
    let server = MockServer::start().await;
    mount_status(&server, "procesando").await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let err = client
        .wait_for_outcome(clave(23).as_str())
        .await
        .unwrap_err();
    match &err {
        ApiError::Pending { estado, polls, .. } => {
            assert_eq!(estado.as_ref(), Some(&Estado::Procesando));
            assert_eq!(*polls, 6);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retriable());
}

fn test_key() -> SigningKey {
    SigningKey::from_pkcs12(
        include_bytes!("fixtures/keys/test-aes.p12"),
        &SecretString::from("1234"),
    )
    .unwrap()
}

#[tokio::test]
async fn signed_documents_are_sent_byte_for_byte() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(2)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let key = test_key();
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00").unwrap();

    // A factura.
    let fe = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha,
        3,
    )
    .unwrap();
    let signed = fe.to_signed_xml(&key, &SignOptions::new()).unwrap();
    let envio = Envio::comprobante(&signed).unwrap();
    assert_eq!(envio.clave(), fe.clave.as_str());
    assert_eq!(envio.fecha(), "2026-11-20T10:30:00-06:00");
    assert_eq!(envio.emisor().numero_identificacion, demo::EMISOR_CEDULA);
    assert_eq!(
        envio.receptor().unwrap().numero_identificacion,
        demo::RECEPTOR_CEDULA
    );
    let outcome = client.submit(&envio).await.unwrap();
    assert!(outcome.is_aceptado());

    // A mensaje receptor: consecutivoReceptor in the body, status under clave-consecutivo.
    let mr = demo::mensaje_receptor(SchemaRevision::V2026, fecha).unwrap();
    let signed_mr = mr.to_signed_xml(&key, &SignOptions::new()).unwrap();
    let envio_mr = Envio::mensaje_receptor(
        &signed_mr,
        TipoIdentificacion::CedulaJuridica,
        TipoIdentificacion::CedulaJuridica,
    )
    .unwrap();
    let consecutivo = mr.numero_consecutivo_receptor.to_string();
    assert_eq!(envio_mr.consecutivo_receptor(), Some(consecutivo.as_str()));
    assert_eq!(
        envio_mr.status_key(),
        format!("{}-{consecutivo}", mr.clave.as_str())
    );
    let outcome = client.submit(&envio_mr).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!(outcome.key, envio_mr.status_key());

    let reqs = server.received_requests().await.unwrap();
    let posts = requests_of(&reqs, "POST", POST_PATH);
    let bodies: Vec<serde_json::Value> = posts
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    for (body, bytes) in bodies.iter().zip([&signed, &signed_mr]) {
        let sent = BASE64
            .decode(body["comprobanteXml"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            &sent, bytes,
            "comprobanteXml must be the signed bytes unchanged"
        );
        xades::verify(&sent, Some(key.certificate())).unwrap();
    }
    assert_eq!(bodies[0]["emisor"]["tipoIdentificacion"], "02");
    assert!(bodies[0].get("consecutivoReceptor").is_none());
    assert_eq!(bodies[1]["consecutivoReceptor"], consecutivo.as_str());
    assert_eq!(
        bodies[1]["receptor"]["numeroIdentificacion"],
        demo::RECEPTOR_CEDULA
    );
    let gets = requests_of(&reqs, "GET", POST_PATH);
    assert!(
        gets.iter()
            .any(|r| r.url.path().ends_with(&format!("-{consecutivo}")))
    );
}

#[test]
fn unsigned_or_wrong_documents_are_refused_before_any_request() {
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00").unwrap();
    let fe = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha,
        1,
    )
    .unwrap();
    let unsigned = fe.to_xml().unwrap();
    let err = Envio::comprobante(&unsigned).unwrap_err();
    assert!(matches!(err, ApiError::InvalidInput(_)), "{err:?}");
    assert_eq!(err.kind(), ApiErrorKind::Validation, "{err}");

    let signed = fe.to_signed_xml(&test_key(), &SignOptions::new()).unwrap();
    let err = Envio::mensaje_receptor(
        &signed,
        TipoIdentificacion::CedulaJuridica,
        TipoIdentificacion::CedulaJuridica,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Validation, "{err}");

    let err = Envio::comprobante(
        b"<not xml xmlns:ds='http://www.w3.org/2000/09/xmldsig#'><SignatureValue/>",
    )
    .unwrap_err();
    assert!(matches!(err, ApiError::Document(_)), "{err:?}");
}

#[test]
fn sandbox_and_production_are_configuration() {
    let s = HaciendaConfig::sandbox();
    let p = HaciendaConfig::production();
    assert_eq!(s.client_id, "api-stag");
    assert_eq!(p.client_id, "api-prod");
    assert!(s.token_url.contains("/realms/rut-stag/"));
    assert!(p.token_url.contains("/realms/rut/"));
    assert_eq!(
        s.recepcion_url,
        "https://api-sandbox.comprobanteselectronicos.go.cr/recepcion/v1/recepcion"
    );
    assert_eq!(
        p.recepcion_url,
        "https://api.comprobanteselectronicos.go.cr/recepcion/v1/recepcion"
    );
}

#[tokio::test]
async fn waiting_for_an_unknown_clave_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(
            ResponseTemplate::new(404).insert_header("X-Error-Cause", "El comprobante no existe"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let err = client
        .wait_for_outcome(clave(24).as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::NotFound, "{err}");
    assert_eq!(err.cause().unwrap().kind, CauseKind::NotReceived);
    assert_eq!(err.cause().unwrap().message, "El comprobante no existe");
}

#[tokio::test]
async fn not_yet_listed_after_202_keeps_polling() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(STATUS_PATH))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;
    let client = client(
        &server,
        store_with(FRESH, Utc::now() + chrono::Duration::hours(1)),
    );
    let outcome = client.submit(&envio_for(&clave(25))).await.unwrap();
    assert!(outcome.is_aceptado());
    assert_eq!((outcome.posts, outcome.polls), (1, 3));
}

#[test]
fn poll_backoff_doubles_up_to_the_cap() {
    let p = PollPolicy::default();
    let secs: Vec<u64> = (1..=7).map(|n| p.delay(n).as_secs()).collect();
    assert_eq!(secs, [1, 2, 4, 8, 16, 16, 16]);
    assert_eq!(p.delay(u32::MAX), Duration::from_secs(16));
}

#[tokio::test]
async fn an_expired_keycloak_session_logs_in_again_with_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("client_id=api-stag"))
        .and(body_string_contains("username=cpf-03-0123-0456%40stag"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(FRESH)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(STALE)))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .and(header("authorization", format!("Bearer {FRESH}").as_str()))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;

    // Access token and refresh token (the ~10 h Keycloak session) both expired.
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        USER,
        TokenSet::new(STALE)
            .with_refresh_token(REFRESH)
            .with_expires_at(Utc::now() - chrono::Duration::hours(11))
            .with_refresh_token_expires_at(Utc::now() - chrono::Duration::hours(1)),
    );
    let client = client(&server, store);
    let outcome = client.submit(&envio_for(&clave(26))).await.unwrap();
    assert!(outcome.is_aceptado());
}

#[tokio::test]
async fn an_exhausted_hacienda_budget_pauses_the_next_request_until_the_reset() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POST_PATH))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("X-Ratelimit-Limit", "100")
                .insert_header("X-Ratelimit-Remaining", "0")
                .insert_header("X-Ratelimit-Reset", "1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_status(&server, "aceptado").await;
    let config = config(&server)
        .with_rate_limit(RateLimitConfig::new(1000, Duration::from_secs(60), 8).unwrap());
    let client = HaciendaClient::builder(config)
        .credentials(credentials())
        .token_store(store_with(FRESH, Utc::now() + chrono::Duration::hours(1)))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = client.submit(&envio_for(&clave(27))).await.unwrap();
    assert!(outcome.is_aceptado());
    // The status query waited for Hacienda's window to reset (1 s), not just the 5 ms poll delay.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
