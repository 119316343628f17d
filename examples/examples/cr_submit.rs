//! Submitting signed Costa Rica comprobantes to Hacienda and waiting for the decision, offline:
//! an in-process mock plays Hacienda's IDP (Keycloak token endpoint) and recepción API.
//!
//! ```text
//! cargo run -p examples --example cr_submit
//! ```
//!
//! Against the real sandbox the only change is the configuration and the credentials:
//! `HaciendaClient::new(HaciendaConfig::sandbox(), PasswordCredentials::new(user, password))`
//! with the API user issued in ATV / TRIBU-CR and the taxpayer's own `.p12`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use cr_einvoice::api::{Envio, HaciendaClient, HaciendaConfig, PasswordCredentials, PollPolicy};
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::SignOptions;
use cr_einvoice::{SchemaRevision, TipoDocumento, demo};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The crate's throwaway test key (self-signed, PIN 1234).
const TEST_P12: &[u8] = include_bytes!("../../cr-einvoice/tests/fixtures/keys/test-aes.p12");

/// Mock recepción status: every other query answers `procesando` (so each of the sequential
/// submissions below is polled twice); decisions: an even consecutivo is rejected, an odd one
/// accepted.
struct MockStatus {
    queries: AtomicU32,
}

impl Respond for MockStatus {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let clave = req.url.path().rsplit('/').next().unwrap_or_default();
        let n = self.queries.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(2) {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"clave": clave, "ind-estado": "procesando"}));
        }
        // Digits 32..41 of the clave are the consecutivo's número.
        let numero: u64 = clave.get(31..41).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (estado, mensaje, detalle) = if numero.is_multiple_of(2) {
            (
                "rechazado",
                "3",
                "El comprobante electrónico tiene los siguientes errores:\n[\ncodigo, mensaje, fila, columna\n-37, \"El total del comprobante no corresponde a la suma de las líneas\", 0, 0\n]",
            )
        } else {
            (
                "aceptado",
                "1",
                "Este comprobante fue aceptado en el ambiente de pruebas",
            )
        };
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda">
  <Clave>{clave}</Clave>
  <NombreEmisor>Empresa Demo S.A.</NombreEmisor>
  <TipoIdentificacionEmisor>02</TipoIdentificacionEmisor>
  <NumeroCedulaEmisor>{emisor}</NumeroCedulaEmisor>
  <Mensaje>{mensaje}</Mensaje>
  <DetalleMensaje>{detalle}</DetalleMensaje>
  <TotalFactura>0</TotalFactura>
</MensajeHacienda>"#,
            emisor = demo::EMISOR_CEDULA,
        );
        ResponseTemplate::new(200).set_body_json(json!({
            "clave": clave,
            "fecha": "2026-11-20T10:30:09-06:00",
            "ind-estado": estado,
            "respuesta-xml": BASE64.encode(xml),
        }))
    }
}

async fn mock_hacienda() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "mock-access-token",
            "expires_in": 300,
            "refresh_token": "mock-refresh-token",
            "refresh_expires_in": 36000,
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/recepcion/v1/recepcion"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/recepcion/v1/recepcion/[0-9A-Za-z-]+$"))
        .respond_with(MockStatus {
            queries: AtomicU32::new(0),
        })
        .mount(&server)
        .await;
    server
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let server = mock_hacienda().await;
    let config = HaciendaConfig::sandbox()
        .with_urls(
            format!("{}/token", server.uri()),
            format!("{}/recepcion/v1/recepcion", server.uri()),
        )
        .with_poll(PollPolicy::default().with_initial_delay(Duration::from_millis(200)));
    let client = HaciendaClient::new(
        config,
        PasswordCredentials::new(
            "cpf-02-3101-234567@stag.comprobanteselectronicos.go.cr",
            "not-a-real-password",
        ),
    )?;

    let key = SigningKey::from_pkcs12(TEST_P12, &SecretString::from("1234"))?;
    let fecha = DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00")?;
    for lineas in [3, 2] {
        let mut factura = demo::comprobante(
            TipoDocumento::FacturaElectronica,
            SchemaRevision::V2026,
            fecha,
            lineas,
        )?;
        let numero = u64::try_from(lineas)?;
        factura.clave = demo::clave(
            TipoDocumento::FacturaElectronica,
            numero,
            &fecha,
            demo::EMISOR_CEDULA,
        )?;
        // The signed bytes are final: Envio base64-encodes them unchanged.
        let signed = factura.to_signed_xml(&key, &SignOptions::new())?;
        let envio = Envio::comprobante(&signed)?;
        let outcome = client.submit(&envio).await?;
        println!(
            "{} -> {} ({} POST, {} status queries)",
            outcome.key, outcome.estado, outcome.posts, outcome.polls
        );
        if let Some(detalle) = outcome.detalle_mensaje() {
            println!("  DetalleMensaje: {}", detalle.replace('\n', "\n    "));
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
