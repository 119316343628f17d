//! The Hacienda client never puts the API password or a token into `Debug` output, error messages
//! or `tracing` events.
#![cfg(feature = "api")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cr_einvoice::api::{
    ApiErrorKind, Envio, HaciendaClient, HaciendaConfig, ParteEnvio, PasswordCredentials,
    PollPolicy,
};
use cr_einvoice::{TipoDocumento, TipoIdentificacion, demo};
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "cpf-03-0123-0456@stag.comprobanteselectronicos.go.cr";
const PASSWORD: &str = "PASSWORD-Zq8!hunter2";
const FIRST: &str = "ACCESS-FIRST-eyJhbGciOiJSUzI1NiJ9.a";
const SECOND: &str = "ACCESS-SECOND-eyJhbGciOiJSUzI1NiJ9.b";
const REFRESH: &str = "REFRESH-TOKEN-eyJhbGciOiJIUzI1NiJ9.rt";

fn assert_clean(what: &str, text: &str) {
    for secret in [PASSWORD, FIRST, SECOND, REFRESH, "hunter2"] {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

/// A `tracing` subscriber that appends every span, record and event with all fields to a string.
#[derive(Clone, Default)]
struct Capture {
    out: Arc<Mutex<String>>,
    ids: Arc<std::sync::atomic::AtomicU64>,
}

struct Visitor<'a>(&'a mut String);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("\nspan {}", attrs.metadata().name());
        attrs.record(&mut Visitor(&mut line));
        self.out.lock().unwrap().push_str(&line);
        let id = self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("\nrecord");
        values.record(&mut Visitor(&mut line));
        self.out.lock().unwrap().push_str(&line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("\nevent {}", event.metadata().target());
        event.record(&mut Visitor(&mut line));
        self.out.lock().unwrap().push_str(&line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn config(server: &MockServer) -> HaciendaConfig {
    HaciendaConfig::sandbox()
        .with_urls(
            format!("{}/token", server.uri()),
            format!("{}/recepcion/v1/recepcion", server.uri()),
        )
        .with_request_timeout(Duration::from_secs(2))
        .with_poll(PollPolicy::default().with_initial_delay(Duration::from_millis(5)))
}

fn envio() -> Envio {
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00").unwrap();
    let clave = demo::clave(
        TipoDocumento::FacturaElectronica,
        5,
        &fecha,
        demo::EMISOR_CEDULA,
    )
    .unwrap();
    Envio::new(
        &clave,
        &fecha,
        ParteEnvio::new(TipoIdentificacion::CedulaJuridica, demo::EMISOR_CEDULA),
        b"<signed/>",
    )
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_debug_errors_or_logs() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let server = MockServer::start().await;
    // Login with the password, then a 401 from recepción, then a refresh-token grant.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("username=cpf-03-0123-0456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": FIRST, "expires_in": 300,
            "refresh_token": REFRESH, "refresh_expires_in": 36000,
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": SECOND, "expires_in": 300,
            "refresh_token": REFRESH, "refresh_expires_in": 36000,
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/recepcion/v1/recepcion"))
        .and(header("authorization", format!("Bearer {FIRST}").as_str()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/recepcion/v1/recepcion"))
        .and(header("authorization", format!("Bearer {SECOND}").as_str()))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/recepcion/v1/recepcion/.+"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ind-estado": "error",
        })))
        .mount(&server)
        .await;

    let credentials = PasswordCredentials::new(USER, PASSWORD);
    assert_clean("PasswordCredentials", &format!("{credentials:?}"));
    let builder = HaciendaClient::builder(config(&server)).credentials(credentials);
    assert_clean("HaciendaClientBuilder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_clean("HaciendaClient", &format!("{client:?} {client:#?}"));
    let envio = envio();
    assert_clean("Envio", &format!("{envio:?}"));

    let outcome = client.submit(&envio).await.unwrap();
    assert_eq!(outcome.estado.as_str(), "error");
    assert_clean("Outcome", &format!("{outcome:?}"));

    // A refused login: the error says so without the password.
    let bad = HaciendaClient::new(
        config(&server).with_urls(
            format!("{}/bad-token", server.uri()),
            format!("{}/recepcion/v1/recepcion", server.uri()),
        ),
        PasswordCredentials::new(USER, PASSWORD),
    )
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/bad-token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "Invalid user credentials",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = bad.submit(&envio).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Auth, "{err}");
    assert_clean("ApiError", &format!("{err} {err:?}"));

    let log = capture.out.lock().unwrap().clone();
    // The capture works: the submission span with its clave and the HTTP request spans are there.
    assert!(log.contains("hacienda.submit"), "{log}");
    assert!(log.contains(envio.clave()), "{log}");
    assert!(log.contains("http.request"), "{log}");
    assert_clean("tracing output", &log);
}
