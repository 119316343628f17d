//! The receiving side with a supplier's v4.3 FE, NC and ND: the documents are written as XML text
//! (`tests/v43_docs/`),
//! checked with `xmllint --schema` against the vendored v4.3 XSDs (`tests/fixtures/xsd/xsd/v4.3/`), signed
//! with the crate's signer (v4.3 signature policy), then received: verified, validated (clave, line
//! formulas, totals) and answered with a v4.4 MensajeReceptor that passes our validation and the v4.4 XSD.

mod v43_docs;

use std::path::Path;
use std::process::Command;

use chrono::DateTime;
use cr_einvoice::parse::v43;
use cr_einvoice::receive::{
    CondicionImpuesto, Finding, ReceivedDocument, Receiver, Respuesta, Version,
};
use cr_einvoice::xades::{self, SignOptions, SignaturePolicy};
use cr_einvoice::{Consecutivo, Error, ErrorKind, FixedOffset, ParseError, TipoDocumento, demo};
use v43_docs::{all, dec, factura, key, sign, xsd_dir};

/// While the test certificates are valid (made on 2026-12-05 for ten years).
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2027-06-01T09:00:00-06:00").unwrap()
}

fn receiver() -> Receiver {
    Receiver::new(demo::RECEPTOR_CEDULA)
        .with_codigo_actividad("620100")
        .accept_any_issuer()
}

/// Runs `xmllint --noout --nonet --schema`; returns its error lines.
fn xmllint(xml: &[u8], xsd: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint must be installed (scripts/test.sh installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("failed to compile"),
        "schema did not compile: {stderr}"
    );
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .map(str::to_owned)
        .collect();
    assert_eq!(out.status.success(), errors.is_empty(), "{stderr}");
    errors
}

#[test]
fn the_v43_fixtures_are_schema_valid_when_signed_and_only_miss_the_signature_unsigned() {
    for spec in all() {
        let signed = spec.signed();
        let errors = xmllint(&signed, &spec.xsd());
        assert!(errors.is_empty(), "{}: {errors:?}", spec.root());
        // The unsigned text fails only for the missing ds:Signature: the XSD is really applied.
        let errors = xmllint(spec.xml().as_bytes(), &spec.xsd());
        assert_eq!(errors.len(), 1, "{}: {errors:?}", spec.root());
        assert!(errors[0].contains("Signature"), "{errors:?}");
    }
}

#[test]
fn fe_nc_and_nd_v43_are_accepted_with_their_totals_and_iva_and_answered_in_v44() {
    let mr_xsd = xsd_dir().join("v4.4/MensajeReceptor_V4.4.xsd");
    for spec in all() {
        let what = spec.root();
        let received = receiver().check(&spec.signed(), now()).unwrap();
        assert_eq!(received.version(), Version::V43, "{what}");
        assert!(received.comprobante().is_none(), "{what}");
        assert!(
            matches!(received.document(), ReceivedDocument::V43(_)),
            "{what}"
        );
        assert!(received.is_acceptable(), "{what}: {}", received.summary());
        let doc = received.comprobante_v43().unwrap();
        assert_eq!(doc.tipo, spec.tipo, "{what}");
        assert_eq!(received.clave().as_str(), spec.clave(), "{what}");
        assert_eq!(doc.resumen.total_comprobante, spec.total_comprobante());
        assert_eq!(doc.resumen.total_impuesto, Some(spec.total_impuesto()));
        assert_eq!(received.iva(), spec.iva(), "{what}");
        assert!(
            received.iva() < spec.total_impuesto(),
            "the code-99 tax is not IVA"
        );
        assert_eq!(received.document().codigo_moneda(), Some("CRC"), "{what}");

        let respuesta = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
        let consecutivo = Consecutivo::new(1, 1, respuesta.tipo_documento(), 7).unwrap();
        let msg = received.respond(&respuesta, consecutivo, now()).unwrap();
        assert_eq!(msg.clave.as_str(), spec.clave());
        assert_eq!(msg.numero_cedula_emisor, demo::EMISOR_CEDULA);
        assert_eq!(msg.total_factura, spec.total_comprobante());
        assert_eq!(msg.monto_total_impuesto, Some(spec.total_impuesto()));
        assert_eq!(msg.monto_total_impuesto_acreditar, Some(spec.iva()));
        assert_eq!(
            msg.monto_total_de_gasto_aplicable,
            Some(spec.total_impuesto() - spec.iva())
        );
        let report = msg.validate();
        assert!(!report.has_errors(), "{what}: {report}");
        let xml = msg.to_xml().unwrap();
        assert!(
            String::from_utf8_lossy(&xml).contains("xml-schemas/v4.4/mensajeReceptor"),
            "answered in v4.4"
        );
        let signed = xades::sign(&xml, &key(), &SignOptions::new().signing_time(now())).unwrap();
        let errors = xmllint(&signed, &mr_xsd);
        assert!(errors.is_empty(), "{what}: {errors:?}");
    }
}

#[test]
fn a_v43_document_edited_after_signing_is_a_signature_error() {
    let signed = String::from_utf8(factura().signed()).unwrap();
    let edited = signed.replacen("<TotalImpuesto>", "<TotalImpuesto>1", 1);
    assert_ne!(edited, signed);
    let err = receiver().check(edited.as_bytes(), now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");
    assert!(matches!(err, Error::Signature(_)), "{err}");
}

#[test]
fn v43_totals_that_do_not_add_up_make_it_unacceptable() {
    let mut spec = factura();
    spec.total_comprobante = Some("99999");
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert_eq!(received.version(), Version::V43);
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-TOTALS-FORMULA" && i.path.ends_with("TotalComprobante")),
        "{}",
        received.report()
    );
    let r = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let err = received
        .respond(
            &r,
            Consecutivo::new(1, 1, r.tipo_documento(), 8).unwrap(),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotAcceptable { .. }), "{err}");
    // A rejection is still possible.
    let r = Respuesta::rechazado(received.summary());
    let msg = received
        .respond(
            &r,
            Consecutivo::new(1, 1, r.tipo_documento(), 8).unwrap(),
            now(),
        )
        .unwrap();
    assert!(!msg.validate().has_errors());

    // A line whose MontoTotalLinea is off by one cent.
    let spec = factura();
    let good = spec.xml();
    let line = format!(
        "<MontoTotalLinea>{}</MontoTotalLinea>",
        spec.lines[0].sub_total() + spec.lines[0].neto()
    );
    let bad = good.replacen(
        &line,
        &format!(
            "<MontoTotalLinea>{}</MontoTotalLinea>",
            spec.lines[0].sub_total() + spec.lines[0].neto() + dec("0.01")
        ),
        1,
    );
    assert_ne!(bad, good);
    let received = receiver()
        .check(&sign(bad.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-LINE-FORMULA"),
        "{}",
        received.report()
    );
}

#[test]
fn a_v43_clave_of_another_emisor_or_another_addressee_is_reported_as_for_v44() {
    let mut spec = factura();
    spec.clave_cedula = "3101999999";
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-CLAVE-EMISOR"),
        "{}",
        received.report()
    );
    assert!(received.summary().contains("CR-CLAVE-EMISOR"));

    let mut spec = factura();
    spec.receptor = "3101555555";
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received.findings().iter().any(|f| matches!(
            f,
            Finding::NotForReceiver { receptor: Some(r), .. } if r == "3101555555"
        )),
        "{:?}",
        received.findings()
    );
}

#[test]
fn v43_documents_that_get_no_answer_or_do_not_fit_are_typed_errors() {
    // A v4.3 tiquete: verified, then refused as not receivable.
    let fe = factura().xml();
    let te = fe
        .replace("FacturaElectronica", "TiqueteElectronico")
        .replace("facturaElectronica", "tiqueteElectronico");
    let err = receiver()
        .check(&sign(te.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotReceivable {
                tipo: TipoDocumento::TiqueteElectronico
            }
        ),
        "{err}"
    );

    // A v4.4 element in a v4.3 document is a parse error.
    let stray = fe.replacen(
        "<CodigoActividad>",
        "<ProveedorSistemas>3101234567</ProveedorSistemas><CodigoActividad>",
        1,
    );
    let err = receiver()
        .check(&sign(stray.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");

    // A `DetalleServicio` without any `LineaDetalle` is malformed (the 4.3 XSD requires one).
    let start = fe.find("<DetalleServicio>").expect("DetalleServicio");
    let end = fe.find("</DetalleServicio>").expect("/DetalleServicio");
    let empty = format!(
        "{}<DetalleServicio></DetalleServicio>{}",
        &fe[..start],
        &fe[end + "</DetalleServicio>".len()..]
    );
    let err = v43::comprobante(empty.as_bytes()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Parse {
                reason: ParseError::Missing { name, .. },
                ..
            } if name == "LineaDetalle"
        ),
        "{err}"
    );

    // Bounded input.
    let limits = cr_einvoice::Limits::default().with_max_input_bytes(1024);
    let err = v43::comprobante_with_limits(fe.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Parse {
                reason: ParseError::TooLarge { .. },
                ..
            }
        ),
        "{err}"
    );
    // The same text parses under the default limits.
    assert!(v43::comprobante(fe.as_bytes()).is_ok());
}
