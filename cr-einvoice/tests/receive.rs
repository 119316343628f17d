//! The receiving side (`cr_einvoice::receive`): a supplier's signed FE is verified, validated and checked
//! (addressee, certificate issuer, holder and validity), then answered with a MensajeReceptor whose amounts
//! follow the CondicionImpuesto; bad documents come back as typed errors or findings.

use chrono::DateTime;
use cr_einvoice::keystore::Certificate;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::receive::{
    CondicionImpuesto, Finding, IssuerPolicy, Receiver, Respuesta, check_mensaje_hacienda,
};
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{
    Consecutivo, Decimal, Documento, ErrorKind, FixedOffset, SchemaRevision, SecretString,
    TipoDocumento, demo,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn key(path: &str) -> SigningKey {
    let p12 = std::fs::read(format!("{FIXTURES}/{path}")).unwrap();
    SigningKey::from_pkcs12(&p12, &SecretString::from("1234")).unwrap()
}

fn fecha() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap()
}

/// While the test certificates are valid (they were made on 2026-12-05 for ten years).
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2027-06-01T09:00:00-06:00").unwrap()
}

fn unsigned(tipo: TipoDocumento) -> Vec<u8> {
    demo::comprobante(tipo, SchemaRevision::V2026, fecha(), 4)
        .unwrap()
        .to_xml()
        .unwrap()
}

fn sign(xml: &[u8], key_path: &str) -> Vec<u8> {
    xades::sign(
        xml,
        &key(key_path),
        &SignOptions::new().signing_time(fecha()),
    )
    .unwrap()
}

fn supplier_fe() -> Vec<u8> {
    sign(
        &unsigned(TipoDocumento::FacturaElectronica),
        "receive/hacienda-emisor.p12",
    )
}

fn receiver() -> Receiver {
    Receiver::new(demo::RECEPTOR_CEDULA).with_codigo_actividad("620100")
}

fn consecutivo(r: &Respuesta) -> Consecutivo {
    Consecutivo::new(1, 1, r.tipo_documento(), 7).unwrap()
}

#[test]
fn a_good_factura_is_accepted_crediting_its_iva() {
    let received = receiver().check(&supplier_fe(), now()).unwrap();
    assert!(received.is_acceptable(), "{}", received.summary());
    assert_eq!(received.summary(), "");
    let doc = received.comprobante().unwrap();
    let tax = doc.resumen.total_impuesto.unwrap();
    let iva = received.iva();
    assert!(iva > Decimal::ZERO && iva <= tax, "iva {iva} tax {tax}");

    let respuesta = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let msg = received
        .respond(&respuesta, consecutivo(&respuesta), now())
        .unwrap();
    assert_eq!(msg.clave, doc.clave);
    assert_eq!(msg.numero_cedula_emisor, demo::EMISOR_CEDULA);
    assert_eq!(msg.numero_cedula_receptor, demo::RECEPTOR_CEDULA);
    assert_eq!(msg.total_factura, doc.resumen.total_comprobante);
    assert_eq!(msg.monto_total_impuesto, Some(tax));
    assert_eq!(msg.condicion_impuesto.as_deref(), Some("01"));
    assert_eq!(msg.monto_total_impuesto_acreditar, Some(iva));
    assert_eq!(msg.monto_total_de_gasto_aplicable, Some(tax - iva));
    assert_eq!(msg.codigo_actividad.as_deref(), Some("620100"));
    let report = msg.validate();
    assert!(!report.has_errors(), "{report:?}");

    // The answer is a document like any other: written, signed by the receiver, verified, read back.
    let signed = sign(&msg.to_xml().unwrap(), "keys/test-aes.p12");
    xades::verify(&signed, None).unwrap();
    match cr_einvoice::parse::documento(&signed).unwrap() {
        Documento::MensajeReceptor(back) => assert_eq!(*back, msg),
        other => panic!("read back as {:?}", other.tipo()),
    }
}

#[test]
fn the_condition_decides_how_much_iva_is_credited() {
    let received = receiver().check(&supplier_fe(), now()).unwrap();
    let tax = received
        .comprobante()
        .unwrap()
        .resumen
        .total_impuesto
        .unwrap();
    let iva = received.iva();
    let amounts = |c: CondicionImpuesto| {
        let r = Respuesta::aceptado(c);
        let m = received.respond(&r, consecutivo(&r), now()).unwrap();
        (
            m.condicion_impuesto.unwrap(),
            m.monto_total_impuesto_acreditar.unwrap(),
            m.monto_total_de_gasto_aplicable.unwrap(),
        )
    };
    let sixty = Decimal::new(6, 1);
    let part = cr_einvoice::totals::round5(iva * sixty);
    assert_eq!(
        amounts(CondicionImpuesto::Proporcionalidad(sixty)),
        ("05".into(), part, tax - part)
    );
    assert_eq!(
        amounts(CondicionImpuesto::CreditoParcial(sixty)),
        ("02".into(), part, tax - part)
    );
    assert_eq!(
        amounts(CondicionImpuesto::BienesCapital),
        ("03".into(), iva, tax - iva)
    );
    assert_eq!(
        amounts(CondicionImpuesto::GastoCorriente),
        ("04".into(), Decimal::ZERO, tax)
    );
    // Amounts given by the caller win.
    let r = Respuesta::aceptado_parcial(CondicionImpuesto::CreditoGeneral, "una línea devuelta")
        .with_amounts(Decimal::ONE, Decimal::TWO);
    let m = received.respond(&r, consecutivo(&r), now()).unwrap();
    assert_eq!(m.mensaje, cr_einvoice::RespuestaReceptor::AceptadoParcial);
    assert_eq!(m.monto_total_impuesto_acreditar, Some(Decimal::ONE));
    assert_eq!(m.monto_total_de_gasto_aplicable, Some(Decimal::TWO));
}

#[test]
fn a_factura_for_someone_else_is_rejected_with_the_reason() {
    let received = Receiver::new("3101555555")
        .check(&supplier_fe(), now())
        .unwrap();
    assert!(!received.is_acceptable());
    assert_eq!(
        received.findings(),
        &[Finding::NotForReceiver {
            receptor: Some(demo::RECEPTOR_CEDULA.into()),
            receiver: "3101555555".into(),
        }]
    );
    let summary = received.summary();
    assert!(
        summary.starts_with("CR-RECV-RECEPTOR: addressed to"),
        "{summary}"
    );
    let r = Respuesta::rechazado(summary.clone());
    let m = received.respond(&r, consecutivo(&r), now()).unwrap();
    assert_eq!(m.mensaje, cr_einvoice::RespuestaReceptor::Rechazado);
    assert_eq!(m.detalle_mensaje.as_deref(), Some(summary.as_str()));
    assert_eq!(m.condicion_impuesto, None);
    assert_eq!(m.monto_total_impuesto_acreditar, None);
}

#[test]
fn certificate_issuer_holder_and_validity_are_checked() {
    let fe = unsigned(TipoDocumento::FacturaElectronica);
    // Self-made key, not issued by Hacienda.
    let self_signed = sign(&fe, "keys/test-aes.p12");
    let r = receiver().check(&self_signed, now()).unwrap();
    assert!(
        matches!(r.findings(), [Finding::CertificateNotHacienda { issuer }] if issuer.contains("PERSONA JURIDICA")),
        "{:?}",
        r.findings()
    );
    let r = receiver()
        .accept_any_issuer()
        .check(&self_signed, now())
        .unwrap();
    assert!(r.is_acceptable(), "{}", r.summary());

    // Hacienda-issued, but to another cédula than the emisor's.
    let other = sign(&fe, "receive/hacienda-other.p12");
    let r = receiver().check(&other, now()).unwrap();
    assert_eq!(
        r.findings(),
        &[Finding::CertificateHolder {
            holder: "3101999999".into(),
            emisor: demo::EMISOR_CEDULA.into(),
        }]
    );

    // Checked after the certificate expired.
    let later = DateTime::parse_from_rfc3339("2040-01-01T00:00:00-06:00").unwrap();
    let r = receiver().check(&supplier_fe(), later).unwrap();
    assert!(
        matches!(r.findings(), [Finding::CertificateNotValid { .. }]),
        "{:?}",
        r.findings()
    );
    assert_eq!(r.findings()[0].code(), "CR-RECV-CERT-VALIDITY");
}

#[test]
fn a_clave_that_does_not_match_its_emisor_fails_validation() {
    let xml = String::from_utf8(unsigned(TipoDocumento::FacturaElectronica)).unwrap();
    let start = xml.find("<Clave>").unwrap() + "<Clave>".len();
    let clave = &xml[start..start + 50];
    // Positions 10..21 of the clave are the emisor's cédula, zero-padded to 12.
    let forged = format!("{}{}{}", &clave[..9], "003101999999", &clave[21..]);
    let xml = xml.replacen(clave, &forged, 1);
    let received = receiver()
        .check(&sign(xml.as_bytes(), "receive/hacienda-emisor.p12"), now())
        .unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-CLAVE-EMISOR"),
        "{:?}",
        received.report()
    );
    assert!(received.summary().contains("CR-CLAVE-EMISOR"));
}

#[test]
fn broken_signatures_and_unanswerable_documents_are_typed_errors() {
    // One character edited after signing.
    let signed = String::from_utf8(supplier_fe()).unwrap();
    let at = signed.find("<TotalComprobante>").unwrap() + "<TotalComprobante>".len();
    let mut edited = signed.into_bytes();
    edited[at] = if edited[at] == b'9' { b'8' } else { b'9' };
    let err = receiver().check(&edited, now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");

    // Not XML at all.
    let err = receiver().check(b"not xml", now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");

    // A tiquete has no identified receptor and gets no answer.
    let te = sign(
        &unsigned(TipoDocumento::TiqueteElectronico),
        "receive/hacienda-emisor.p12",
    );
    let err = receiver().check(&te, now()).unwrap_err();
    assert!(
        matches!(
            err,
            cr_einvoice::Error::NotReceivable {
                tipo: TipoDocumento::TiqueteElectronico
            }
        ),
        "{err}"
    );

    // A mensaje receptor is an answer, not something to answer.
    let received = receiver().check(&supplier_fe(), now()).unwrap();
    let r = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let mr = received.respond(&r, consecutivo(&r), now()).unwrap();
    let mr = sign(&mr.to_xml().unwrap(), "keys/test-aes.p12");
    let err = receiver().check(&mr, now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn answers_that_cannot_be_built_are_refused() {
    let received = receiver().check(&supplier_fe(), now()).unwrap();
    let ok = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    // The consecutivo of an acceptance must be tipo 05.
    let wrong = Consecutivo::new(1, 1, TipoDocumento::RechazoReceptor, 7).unwrap();
    let err = received.respond(&ok, wrong, now()).unwrap_err();
    assert!(
        err.to_string().contains("does not match the answer"),
        "{err}"
    );

    let r = Respuesta::aceptado(CondicionImpuesto::Proporcionalidad(Decimal::new(15, 1)));
    let err = received.respond(&r, consecutivo(&r), now()).unwrap_err();
    assert!(err.to_string().contains("outside 0..=1"), "{err}");

    let r = Respuesta::rechazado("x".repeat(161));
    let err = received.respond(&r, consecutivo(&r), now()).unwrap_err();
    assert!(err.to_string().contains("161 characters"), "{err}");

    let tax = received
        .comprobante()
        .unwrap()
        .resumen
        .total_impuesto
        .unwrap();
    let r = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral)
        .with_amounts(tax + Decimal::ONE, Decimal::ZERO);
    let err = received.respond(&r, consecutivo(&r), now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

fn test_ca() -> Certificate {
    Certificate::from_pem(
        &std::fs::read(format!("{FIXTURES}/receive/hacienda-test-ca.pem")).unwrap(),
    )
    .unwrap()
}

#[test]
fn issuer_policy_decides_what_counts_as_a_hacienda_certificate() {
    let fe = unsigned(TipoDocumento::FacturaElectronica);
    let genuine = supplier_fe();
    // Issued by a second CA that copies the test CA's name but has its own key.
    let imposter = sign(&fe, "receive/imposter-emisor.p12");
    let self_made = sign(&fe, "keys/test-aes.p12");

    // The default policy reads the issuer's name only: the imposter passes it.
    assert!(receiver().check(&genuine, now()).unwrap().is_acceptable());
    let r = receiver().check(&imposter, now()).unwrap();
    assert!(r.is_acceptable(), "{}", r.summary());

    // IssuedBy checks the CA's signature on the certificate.
    let strict = || receiver().with_issuer_policy(IssuerPolicy::IssuedBy(vec![test_ca()]));
    let r = strict().check(&genuine, now()).unwrap();
    assert!(r.is_acceptable(), "{}", r.summary());
    for (what, doc) in [("imposter", &imposter), ("self-made", &self_made)] {
        let r = strict().check(doc, now()).unwrap();
        assert!(
            matches!(r.findings(), [Finding::CertificateNotHacienda { .. }]),
            "{what}: {:?}",
            r.findings()
        );
        assert_eq!(r.findings()[0].code(), "CR-RECV-CERT-ISSUER");
        assert!(!r.is_acceptable());
        assert!(
            r.summary().contains("CR-RECV-CERT-ISSUER"),
            "{}",
            r.summary()
        );
    }
    // No CA at all: nothing is Hacienda's.
    let r = receiver()
        .with_issuer_policy(IssuerPolicy::IssuedBy(Vec::new()))
        .check(&genuine, now())
        .unwrap();
    assert!(matches!(
        r.findings(),
        [Finding::CertificateNotHacienda { .. }]
    ));
    // Any: the caller's choice for self-made test keys.
    let r = receiver()
        .with_issuer_policy(IssuerPolicy::Any)
        .check(&self_made, now())
        .unwrap();
    assert!(r.is_acceptable(), "{}", r.summary());
}

#[test]
fn an_expired_certificate_and_a_not_yet_valid_one_are_findings() {
    let before = DateTime::parse_from_rfc3339("2026-01-01T00:00:00-06:00").unwrap();
    let after = DateTime::parse_from_rfc3339("2037-01-01T00:00:00-06:00").unwrap();
    for at in [before, after] {
        let r = receiver().check(&supplier_fe(), at).unwrap();
        assert!(
            matches!(r.findings(), [Finding::CertificateNotValid { .. }]),
            "{at}: {:?}",
            r.findings()
        );
        assert!(!r.is_acceptable());
    }
}

#[test]
fn a_clave_that_does_not_match_its_date_fails_validation() {
    let xml = String::from_utf8(unsigned(TipoDocumento::FacturaElectronica)).unwrap();
    let start = xml.find("<Clave>").unwrap() + "<Clave>".len();
    let clave = &xml[start..start + 50];
    // Positions 4..9 of the clave are the day, month and year of FechaEmision (here 15 03 26).
    assert_eq!(&clave[3..9], "150326");
    let forged = format!("{}{}{}", &clave[..3], "160326", &clave[9..]);
    let xml = xml.replacen(clave, &forged, 1);
    let received = receiver()
        .check(&sign(xml.as_bytes(), "receive/hacienda-emisor.p12"), now())
        .unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-CLAVE-FECHA"),
        "{:?}",
        received.report()
    );
}

const MENSAJE_HACIENDA: &str = "mensaje-hacienda/rechazado_v4.4_unsigned.xml";

fn signed_mensaje_hacienda() -> Vec<u8> {
    let xml = std::fs::read(format!("{FIXTURES}/{MENSAJE_HACIENDA}")).unwrap();
    // Stands in for Hacienda's signing key.
    sign(&xml, "receive/hacienda-other.p12")
}

#[test]
fn a_mensaje_hacienda_is_verified_and_must_answer_one_of_our_claves() {
    let hacienda = key("receive/hacienda-other.p12").certificate().clone();
    let mh = signed_mensaje_hacienda();
    let ours = "50615032600310123456700100001010000000001100000001";

    let (m, sig) = check_mensaje_hacienda(&mh, Some(&hacienda), |c| c.as_str() == ours).unwrap();
    assert_eq!(m.clave.as_str(), ours);
    assert_eq!(sig.certificate(), &hacienda);

    // Unknown clave: a typed error carrying the clave, nothing returned to update from.
    let err = check_mensaje_hacienda(&mh, Some(&hacienda), |_| false).unwrap_err();
    match &err {
        cr_einvoice::Error::UnknownClave { clave } => assert_eq!(clave.as_str(), ours),
        other => panic!("{other}"),
    }
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // Signed by someone else than the pinned certificate.
    let other = key("receive/hacienda-emisor.p12").certificate().clone();
    let err = check_mensaje_hacienda(&mh, Some(&other), |_| true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");

    // Edited after signing.
    let text = String::from_utf8(mh.clone()).unwrap();
    let edited = text.replacen("<Mensaje>3</Mensaje>", "<Mensaje>1</Mensaje>", 1);
    assert_ne!(edited, text);
    let err = check_mensaje_hacienda(edited.as_bytes(), Some(&hacienda), |_| true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");

    // Unsigned.
    let unsigned = std::fs::read(format!("{FIXTURES}/{MENSAJE_HACIENDA}")).unwrap();
    let err = check_mensaje_hacienda(&unsigned, None, |_| true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");
}

/// Every kind of problem `check` reports makes the document un-acceptable: an aceptado or aceptado parcial
/// for it is refused with the problem's code, a rechazado is still built.
#[test]
fn a_problematic_document_can_only_be_rejected() {
    let fe = unsigned(TipoDocumento::FacturaElectronica);
    let xml = String::from_utf8(fe.clone()).unwrap();
    let start = xml.find("<Clave>").unwrap() + "<Clave>".len();
    let clave = &xml[start..start + 50];
    let forged = format!("{}{}{}", &clave[..9], "003101999999", &clave[21..]);
    let forged_clave = xml.replacen(clave, &forged, 1);
    let expired = DateTime::parse_from_rfc3339("2040-01-01T00:00:00-06:00").unwrap();
    let cases = [
        (
            "not for this receiver",
            Receiver::new("3101555555").check(&supplier_fe(), now()),
            "CR-RECV-RECEPTOR",
        ),
        (
            "expired certificate",
            receiver().check(&supplier_fe(), expired),
            "CR-RECV-CERT-VALIDITY",
        ),
        (
            "non-Hacienda certificate",
            receiver().check(&sign(&fe, "keys/test-aes.p12"), now()),
            "CR-RECV-CERT-ISSUER",
        ),
        (
            "certificate of someone else",
            receiver().check(&sign(&fe, "receive/hacienda-other.p12"), now()),
            "CR-RECV-CERT-HOLDER",
        ),
        (
            "validation error (clave of another emisor)",
            receiver().check(
                &sign(forged_clave.as_bytes(), "receive/hacienda-emisor.p12"),
                now(),
            ),
            "CR-CLAVE-EMISOR",
        ),
    ];
    for (what, received, code) in cases {
        let received = received.unwrap();
        assert!(!received.is_acceptable(), "{what}");
        for r in [
            Respuesta::aceptado(CondicionImpuesto::CreditoGeneral),
            Respuesta::aceptado_parcial(CondicionImpuesto::GastoCorriente, "parcial"),
        ] {
            let err = received.respond(&r, consecutivo(&r), now()).unwrap_err();
            match &err {
                cr_einvoice::Error::NotAcceptable {
                    clave,
                    codes,
                    summary,
                } => {
                    assert_eq!(
                        clave,
                        received.comprobante().unwrap().clave.as_str(),
                        "{what}"
                    );
                    assert!(codes.iter().any(|c| c == code), "{what}: {codes:?}");
                    assert!(summary.contains(code), "{what}: {summary}");
                }
                other => panic!("{what}: {other}"),
            }
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains(code), "{what}: {err}");
        }
        let r = Respuesta::rechazado(received.summary());
        let m = received.respond(&r, consecutivo(&r), now()).unwrap();
        assert_eq!(
            m.mensaje,
            cr_einvoice::RespuestaReceptor::Rechazado,
            "{what}"
        );
    }
}
