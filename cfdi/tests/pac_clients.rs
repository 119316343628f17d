//! Finkok, SW Sapien and SAT status clients against in-process mock servers that speak the
//! documented shapes and issue real TFDs (see `pac_mock`).
#![cfg(feature = "pac")]

mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cfdi::pac::{
    CancelRequest, CancelStatus, CfdiIdentity, EsCancelable, Estado, EstatusCancelacion,
    FinkokCancelCsd, FinkokClient, FinkokConfig, Motivo, Pac, PacErrorKind, SatStatusClient,
    SwCancelCsd, SwClient, SwConfig,
};
use pac_mock::*;
use rust_decimal_macros::dec;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn finkok(server: &MockServer) -> FinkokClient {
    FinkokClient::new(
        FinkokConfig::new(server.uri(), FINKOK_USER, FINKOK_PASSWORD)
            .with_pac_certificate(pac_csd().certificate().clone())
            .with_cancel_csd(FinkokCancelCsd::new(
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIC\n-----END ENCRYPTED PRIVATE KEY-----\n",
            )),
    )
    .unwrap()
}

fn sw_config(server: &MockServer) -> SwConfig {
    SwConfig::new(
        server.uri(),
        server.uri(),
        cfdi::pac::SwAuth::UserPassword {
            user: SW_USER.into(),
            password: SW_PASSWORD.into(),
        },
    )
    .with_pac_certificate(pac_csd().certificate().clone())
}

fn sw(server: &MockServer) -> SwClient {
    SwClient::new(sw_config(server).with_cancel_csd(SwCancelCsd::new(
        include_bytes!("fixtures/csd/EKU9003173C9.cer"),
        include_bytes!("fixtures/csd/EKU9003173C9.key"),
        PASSWORD,
    )))
    .unwrap()
}

#[tokio::test]
async fn finkok_stamp_returns_a_verified_real_tfd() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    let client = finkok(&server);
    let sealed = sealed_cfdi("F-1");
    let s = client.stamp(&sealed).await.expect("stamp");
    assert!(!s.previously_stamped);
    assert_eq!(s.pac, "finkok");
    let issued = ledger.issued();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].uuid, s.uuid);
    // The TFD is real: SelloSAT verifies with the PAC certificate over the TFD cadena.
    let doc = cfdi::parse_str(&s.xml).unwrap();
    cfdi::verify_timbre(&doc, pac_csd().certificate()).expect("SelloSAT");
    cfdi::verify(&doc).expect("Sello still valid");
    assert_eq!(s.tfd.sello_cfd, cfdi::parse_str(&sealed).unwrap().sello);
}

#[tokio::test]
async fn finkok_previously_stamped_307_returns_the_existing_stamp() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    let client = finkok(&server);
    let sealed = sealed_cfdi("F-2");
    let first = client.stamp(&sealed).await.unwrap();
    let again = client.stamp(&sealed).await.unwrap();
    assert_eq!(first.uuid, again.uuid);
    assert!(again.previously_stamped);
    assert_eq!(ledger.issued().len(), 1);
    // `stamped` (recover) finds it too.
    let rec = client.recover(&sealed).await.unwrap().expect("recovered");
    assert_eq!(rec.uuid, first.uuid);
    // and finds nothing for a CFDI never sent.
    assert!(
        client
            .recover(&sealed_cfdi("F-other"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn finkok_incidencias_are_typed_errors() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    // Wrong password: Finkok incidencia 300 → Auth (the backup may be used).
    let bad = FinkokClient::new(FinkokConfig::new(server.uri(), FINKOK_USER, "wrong")).unwrap();
    let e = bad.stamp(&sealed_cfdi("F-3")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Auth, "{e}");
    assert!(e.allows_failover() && e.is_definitely_not_stamped());
    // A broken Sello: the mock answers 302 → Rejected with the code, no failover.
    let sealed = sealed_cfdi("F-4").replace("Folio=\"F-4\"", "Folio=\"F-5\"");
    let e = finkok(&server).stamp(&sealed).await.unwrap_err();
    assert!(matches!(e, cfdi::pac::PacError::Rejected { .. }), "{e}");
    assert_eq!(e.kind(), PacErrorKind::Validation, "{e}");
    assert_eq!(e.code(), Some("302"));
    assert!(e.is_definitely_not_stamped() && !e.allows_failover());
    assert!(ledger.issued().is_empty());
}

#[tokio::test]
async fn a_tfd_signed_by_another_certificate_is_refused() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    let client = FinkokClient::new(
        FinkokConfig::new(server.uri(), FINKOK_USER, FINKOK_PASSWORD)
            .with_pac_certificate(emisor_csd().certificate().clone()),
    )
    .unwrap();
    let e = client.stamp(&sealed_cfdi("F-6")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Tfd, "{e}");
    assert!(!e.is_definitely_not_stamped());
}

#[tokio::test]
async fn a_stamp_for_another_cfdi_is_refused() {
    // A PAC that answers with somebody else's stamp.
    let ledger = Ledger::new();
    let other = ledger
        .stamp("x", &pac_csd(), &sealed_cfdi("OTHER"))
        .unwrap()
        .0;
    let server = MockServer::start().await;
    let body = format!(
        "<senv:Envelope xmlns:s0=\"{NS_APPS}\" xmlns:senv=\"{NS_SOAP}\" xmlns:tns=\"{NS_STAMP}\"><senv:Body><tns:stampResponse><tns:stampResult><s0:xml>{}</s0:xml><s0:UUID>{}</s0:UUID><s0:Incidencias/></tns:stampResult></tns:stampResponse></senv:Body></senv:Envelope>",
        quick_xml::escape::escape(other.xml.as_str()),
        other.uuid
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let e = finkok(&server)
        .stamp(&sealed_cfdi("MINE"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Tfd, "{e}");
    assert!(e.to_string().contains("Sello"), "{e}");
}

#[tokio::test]
async fn finkok_soap_faults_and_garbage_are_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("stamp:stamp"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("can:get_sat_status"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!(
            "<s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>"
        )))
        .mount(&server)
        .await;
    let c = finkok(&server);
    // 5xx after a stamp request was read: may be stamped.
    let e = c.stamp(&sealed_cfdi("F-7")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Uncertain, "{e}");
    let id = CfdiIdentity::new(
        "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3",
        "EKU9003173C9",
        "XIA190128J61",
        dec!(1),
        "",
    );
    let e = c.get_sat_status(&id).await.unwrap_err();
    assert!(matches!(e, cfdi::pac::PacError::Rejected { .. }), "{e}");
    assert_eq!(e.kind(), PacErrorKind::Validation, "{e}");
    assert!(e.to_string().contains("boom"));
}

#[tokio::test]
async fn finkok_cancel_and_sat_status() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    let client = finkok(&server);
    let s = client.stamp(&sealed_cfdi("F-8")).await.unwrap();
    let req =
        CancelRequest::new(&s.uuid, "EKU9003173C9", Motivo::ErroresSinRelacion, None).unwrap();
    let r = client.cancel(&req).await.unwrap();
    assert_eq!(r.status, CancelStatus::Requested);
    assert_eq!(r.code, "201");
    assert_eq!(r.description.as_deref(), Some("motivo 02"));
    assert!(r.acuse.unwrap().contains(&s.uuid));
    // Unknown UUID: the SAT says 205 → Rejected.
    let req = CancelRequest::new(
        "00000000-0000-4000-8000-000000000000",
        "EKU9003173C9",
        Motivo::NoSeLlevoACabo,
        None,
    )
    .unwrap();
    let e = client.cancel(&req).await.unwrap_err();
    assert_eq!(e.code(), Some("205"), "{e}");
    // No CSD configured: typed configuration error, nothing sent.
    let no_csd = FinkokClient::new(FinkokConfig::new(
        server.uri(),
        FINKOK_USER,
        FINKOK_PASSWORD,
    ))
    .unwrap();
    assert_eq!(
        no_csd.cancel(&req).await.unwrap_err().kind(),
        PacErrorKind::Config
    );
    let st = client
        .sat_status(&CfdiIdentity::new(
            &s.uuid,
            "EKU9003173C9",
            "XIA190128J61",
            dec!(1160.00),
            "",
        ))
        .await
        .unwrap();
    assert!(st.found);
    assert_eq!(st.estado, Estado::Vigente);
    assert_eq!(st.es_cancelable, Some(EsCancelable::SinAceptacion));
    assert_eq!(st.estatus_cancelacion, EstatusCancelacion::EnProceso);
}

#[tokio::test]
async fn sw_token_is_cached_and_renewed() {
    let ledger = Ledger::new();
    let mock = SwMock::new("sw", ledger.clone());
    let server = start_sw(&mock).await;
    let client = sw(&server);
    let a = client.stamp(&sealed_cfdi("S-1")).await.expect("stamp");
    let b = client.stamp(&sealed_cfdi("S-2")).await.expect("stamp");
    assert_ne!(a.uuid, b.uuid);
    assert_eq!(mock.auth_calls.load(Ordering::SeqCst), 1, "token cached");
    cfdi::verify_timbre(&cfdi::parse_str(&a.xml).unwrap(), pac_csd().certificate()).unwrap();
    // The server drops the token: one 401, one re-authentication, the stamp goes through.
    mock.revoke_tokens();
    client
        .stamp(&sealed_cfdi("S-3"))
        .await
        .expect("stamp after renewal");
    assert_eq!(mock.auth_calls.load(Ordering::SeqCst), 2);
    assert_eq!(ledger.issued().len(), 3);
}

#[tokio::test]
async fn sw_bad_credentials_are_auth_errors() {
    let ledger = Ledger::new();
    let mock = SwMock::new("sw", ledger.clone());
    let server = start_sw(&mock).await;
    let client = SwClient::new(SwConfig::new(
        server.uri(),
        server.uri(),
        cfdi::pac::SwAuth::UserPassword {
            user: SW_USER.into(),
            password: "wrong".into(),
        },
    ))
    .unwrap();
    let e = client.stamp(&sealed_cfdi("S-4")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Auth, "{e}");
    assert!(e.allows_failover());
    assert!(ledger.issued().is_empty());
}

#[tokio::test]
async fn sw_duplicate_is_recovered_from_storage_and_errors_carry_codes() {
    let ledger = Ledger::new();
    let mock = SwMock::new("sw", ledger.clone());
    let server = start_sw(&mock).await;
    let client = sw(&server);
    let sealed = sealed_cfdi("S-5");
    let first = client.stamp(&sealed).await.unwrap();
    // Same CFDI again: SW answers 307 with the TFD; the XML comes from the datawarehouse.
    let again = client.stamp(&sealed).await.unwrap();
    assert_eq!(again.uuid, first.uuid);
    assert!(again.previously_stamped);
    let rec = client.recover(&sealed).await.unwrap().unwrap();
    assert_eq!(rec.uuid, first.uuid);
    let by_uuid = client.recover_by_uuid(&first.uuid).await.unwrap().unwrap();
    assert_eq!(by_uuid.xml, first.xml);
    assert!(
        client
            .recover_by_uuid("00000000-0000-4000-8000-000000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(ledger.issued().len(), 1);
    // A broken seal: CFDI40102 from SW.
    let bad = sealed_cfdi("S-6").replace("Folio=\"S-6\"", "Folio=\"S-7\"");
    let e = client.stamp(&bad).await.unwrap_err();
    assert_eq!(e.code(), Some("CFDI40102"), "{e}");
}

#[tokio::test]
async fn sw_cancel_by_csd_sends_motivo_and_folio() {
    let ledger = Ledger::new();
    let mock = SwMock::new("sw", ledger.clone());
    let server = start_sw(&mock).await;
    let client = sw(&server);
    let old = client.stamp(&sealed_cfdi("S-8")).await.unwrap();
    let new = client.stamp(&sealed_cfdi("S-9")).await.unwrap();
    let req = CancelRequest::new(
        &old.uuid,
        "EKU9003173C9",
        Motivo::ErroresConRelacion,
        Some(new.uuid.clone()),
    )
    .unwrap();
    let r = client.cancel(&req).await.unwrap();
    assert_eq!(r.status, CancelStatus::Requested);
    assert!(r.acuse.unwrap().contains(&old.uuid));
    let sent = mock.cancel_bodies.lock().unwrap()[0].clone();
    assert_eq!(sent["motivo"], "01");
    assert_eq!(sent["folioSustitucion"], new.uuid.as_str());
    assert_eq!(sent["rfc"], "EKU9003173C9");
    assert_eq!(sent["password"], PASSWORD);
    assert!(sent["b64Cer"].as_str().unwrap().starts_with("MII"));
    // Motivo 02 sends no folio.
    let req =
        CancelRequest::new(&new.uuid, "EKU9003173C9", Motivo::ErroresSinRelacion, None).unwrap();
    client.cancel(&req).await.unwrap();
    assert!(
        mock.cancel_bodies.lock().unwrap()[1]
            .get("folioSustitucion")
            .is_none()
    );
}

#[tokio::test]
async fn sat_status_service_request_and_answer() {
    let server = MockServer::start().await;
    let answer = include_str!("fixtures/pac/sat-consulta-response.xml");
    Mock::given(method("POST"))
        .and(path("/ConsultaCFDIService.svc"))
        .and(header("SOAPAction", "\"http://tempuri.org/IConsultaCFDIService/Consulta\""))
        // `&` in the RFC is `&amp;` in the expression, escaped once more as XML text.
        .and(body_string_contains(
            "?re=H&amp;amp;E951128469&amp;rr=XIA190128J61&amp;tt=1160.0&amp;id=F08A8B8C-26DB-5385-86AF-2A1D354C5CC3&amp;fe=12345678",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(answer))
        .expect(1)
        .mount(&server)
        .await;
    let client =
        SatStatusClient::new(&format!("{}/ConsultaCFDIService.svc", server.uri())).unwrap();
    let id = CfdiIdentity::new(
        "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3",
        "H&E951128469",
        "XIA190128J61",
        dec!(1160.00),
        "abcdefgh12345678",
    );
    let s = client.status(&id).await.expect("status");
    assert!(s.found);
    assert_eq!(s.estado, Estado::Cancelado);
    assert_eq!(s.es_cancelable, Some(EsCancelable::ConAceptacion));
    assert_eq!(
        s.estatus_cancelacion,
        EstatusCancelacion::CanceladoConAceptacion
    );
    assert!(s.validacion_efos.unwrap().is_not_listed());
    server.verify().await;
}

#[tokio::test]
async fn verification_url_of_a_stamped_cfdi() {
    let ledger = Ledger::new();
    let mock = FinkokMock::new("finkok", ledger.clone());
    let server = start_finkok(&mock).await;
    let s = finkok(&server).stamp(&sealed_cfdi("Q-1")).await.unwrap();
    let doc = cfdi::parse_str(&s.xml).unwrap();
    let url = cfdi::pac::verification_url(&doc).unwrap();
    let fe: String = doc
        .sello
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(url.starts_with("https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx?id="));
    assert!(url.contains(&format!(
        "id={}&re={}&rr={}&tt=",
        s.uuid, doc.emisor.rfc, doc.receptor.rfc
    )));
    let fe_enc = fe
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert!(url.ends_with(&format!("&fe={fe_enc}")), "{url}");
    // Not stamped: typed error.
    let unstamped = cfdi::parse_str(&sealed_cfdi("Q-2")).unwrap();
    let e = cfdi::pac::verification_url(&unstamped).unwrap_err();
    assert!(
        matches!(e, cfdi::pac::PacError::InvalidRequest { .. }),
        "{e}"
    );
    assert_eq!(e.kind(), PacErrorKind::Validation);
    let _ = Arc::clone(&mock);
}

#[tokio::test]
async fn sw_sat_status_goes_to_the_configured_sat_service() {
    let ledger = Ledger::new();
    let mock = SwMock::new("sw", ledger.clone());
    let server = start_sw(&mock).await;
    let sat = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ConsultaCFDIService.svc"))
        .and(body_string_contains(
            "tt=1160.0&amp;id=F08A8B8C-26DB-5385-86AF-2A1D354C5CC3",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(include_str!("fixtures/pac/sat-consulta-response.xml")),
        )
        .expect(1)
        .mount(&sat)
        .await;
    let client = SwClient::new(
        sw_config(&server).with_sat_status_url(format!("{}/ConsultaCFDIService.svc", sat.uri())),
    )
    .unwrap();
    let id = CfdiIdentity::new(
        "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3",
        "EKU9003173C9",
        "XIA190128J61",
        dec!(1160.00),
        "",
    );
    let st = client.sat_status(&id).await.unwrap();
    assert_eq!(st.estado, Estado::Cancelado);
    sat.verify().await;
    // Nothing went to SW itself.
    assert_eq!(mock.auth_calls.load(Ordering::SeqCst), 0);
}
