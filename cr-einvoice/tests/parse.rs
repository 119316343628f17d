//! Parser: round trips, namespace checks, and typed errors for bad input.

use std::path::Path;

use chrono::DateTime;
use cr_einvoice::{
    Comprobante, Documento, Error, ErrorKind, EstadoHacienda, MensajeHacienda, ParseError,
    SchemaRevision, TipoDocumento, demo, parse,
};
use proptest::prelude::*;

fn fecha() -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"))
}

fn fe_xml() -> String {
    let doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha(),
        3,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(doc.to_xml().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default()
}

fn reason(r: Result<impl std::fmt::Debug, Error>) -> ParseError {
    match r {
        Err(Error::Parse { reason, .. }) => reason,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn every_type_round_trips_to_identical_bytes() {
    for rev in [SchemaRevision::V2024, SchemaRevision::V2026] {
        for tipo in TipoDocumento::COMPROBANTES {
            let doc = demo::comprobante(tipo, rev, fecha(), 6).unwrap_or_else(|e| panic!("{e}"));
            let xml = doc.to_xml().unwrap_or_else(|e| panic!("{e}"));
            let parsed = parse::documento_with_revision(&xml, Some(rev))
                .unwrap_or_else(|e| panic!("{tipo}: {e}"));
            match &parsed {
                Documento::Comprobante(c) => assert_eq!(**c, doc, "{tipo} {rev}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(parsed.tipo(), tipo);
            let again = match parsed {
                Documento::Comprobante(c) => c.to_xml().unwrap_or_else(|e| panic!("{e}")),
                _ => Vec::new(),
            };
            assert_eq!(again, xml, "{tipo} {rev}: writer is not deterministic");
        }
        let mr = demo::mensaje_receptor(rev, fecha()).unwrap_or_else(|e| panic!("{e}"));
        let xml = mr.to_xml().unwrap_or_else(|e| panic!("{e}"));
        match parse::documento_with_revision(&xml, Some(rev)).unwrap_or_else(|e| panic!("{e}")) {
            Documento::MensajeReceptor(m) => assert_eq!(*m, mr),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn default_revision_follows_the_date() {
    let xml = fe_xml();
    let doc = Comprobante::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.revision, SchemaRevision::V2024);
}

#[test]
fn accepts_pretty_printed_and_prefixed_documents() {
    let xml = fe_xml();
    let pretty = xml.replace("><", ">\n  <");
    let a = Comprobante::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let b = Comprobante::from_xml(pretty.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
    // same namespace bound to a prefix
    let ns = TipoDocumento::FacturaElectronica.namespace();
    let prefixed = xml
        .replace(&format!(" xmlns=\"{ns}\""), &format!(" xmlns:fe=\"{ns}\""))
        .replace("</", "</fe:")
        .replace('<', "<fe:")
        .replace("<fe:/fe:", "</fe:")
        .replace("<fe:?xml", "<?xml");
    let c =
        Comprobante::from_xml(prefixed.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{prefixed}"));
    assert_eq!(a, c);
}

#[test]
fn namespace_is_checked() {
    let xml = fe_xml();
    let v43 = xml.replace("/v4.4/facturaElectronica", "/v4.3/facturaElectronica");
    assert!(matches!(
        reason(Comprobante::from_xml(v43.as_bytes())),
        ParseError::Namespace { .. }
    ));
    let none = xml.replace(
        &format!(
            " xmlns=\"{}\"",
            TipoDocumento::FacturaElectronica.namespace()
        ),
        "",
    );
    assert!(matches!(
        reason(Comprobante::from_xml(none.as_bytes())),
        ParseError::Namespace { .. }
    ));
    // a child in another namespace
    let foreign = xml.replacen(
        "<ProveedorSistemas>",
        "<ProveedorSistemas xmlns=\"urn:other\">",
        1,
    );
    assert!(matches!(
        reason(Comprobante::from_xml(foreign.as_bytes())),
        ParseError::Namespace { .. }
    ));
    // the root of one type with the namespace of another
    let swapped = xml.replace("/v4.4/facturaElectronica\"", "/v4.4/tiqueteElectronico\"");
    assert!(matches!(
        reason(Comprobante::from_xml(swapped.as_bytes())),
        ParseError::Namespace { .. }
    ));
}

#[test]
fn wrong_tipo_for_the_root_is_rejected() {
    // a TE clave/consecutivo inside a FacturaElectronica root
    let te = demo::comprobante(
        TipoDocumento::TiqueteElectronico,
        SchemaRevision::V2024,
        fecha(),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let xml = String::from_utf8(te.to_xml().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
    let fe_ns = TipoDocumento::FacturaElectronica.namespace();
    let wrong = xml
        .replace("TiqueteElectronico", "FacturaElectronica")
        .replace(TipoDocumento::TiqueteElectronico.namespace(), fe_ns);
    assert!(matches!(
        reason(Comprobante::from_xml(wrong.as_bytes())),
        ParseError::TipoMismatch { .. }
    ));
}

#[test]
fn consecutivo_must_match_the_clave() {
    let xml = fe_xml();
    let wrong = xml.replace(
        "<NumeroConsecutivo>00100001010000000001</NumeroConsecutivo>",
        "<NumeroConsecutivo>00100001010000000002</NumeroConsecutivo>",
    );
    assert_ne!(wrong, xml);
    assert!(matches!(
        reason(Comprobante::from_xml(wrong.as_bytes())),
        ParseError::ConsecutivoMismatch { .. }
    ));
}

#[test]
fn six_decimal_amounts_are_rejected() {
    let xml = fe_xml();
    let start = xml.find("<TotalVenta>").unwrap_or_default() + "<TotalVenta>".len();
    let end = xml[start..].find('<').unwrap_or_default() + start;
    let six = format!("{}{}1{}", &xml[..start], &xml[start..end], &xml[end..]);
    match reason(Comprobante::from_xml(six.as_bytes())) {
        ParseError::Decimals { element, max, .. } => {
            assert_eq!((element.as_str(), max), ("TotalVenta", 5))
        }
        other => panic!("{other:?}"),
    }
    // trailing zeros beyond 5 decimals are the same value and are accepted
    let zeros = format!("{}{}0{}", &xml[..start], &xml[start..end], &xml[end..]);
    assert!(Comprobante::from_xml(zeros.as_bytes()).is_ok());
}

#[test]
fn doctype_and_entities_are_rejected() {
    let xml = fe_xml();
    let body = xml.trim_start_matches(cr_einvoice::write::XML_DECLARATION);
    let dtd = format!("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>{body}");
    assert_eq!(
        reason(Comprobante::from_xml(dtd.as_bytes())),
        ParseError::Doctype
    );
    let ent = xml.replacen("Empresa Demo", "&e; Empresa Demo", 1);
    assert_eq!(
        reason(Comprobante::from_xml(ent.as_bytes())),
        ParseError::Entity("e".into())
    );
    // predefined entities and character references are fine
    let ok = xml.replacen("Empresa Demo", "Empresa &amp; Hijos &#x41;", 1);
    let doc = Comprobante::from_xml(ok.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(doc.emisor.nombre.starts_with("Empresa & Hijos A"));
}

type Case = (String, fn(&ParseError) -> bool);

#[test]
fn structure_errors_are_typed() {
    let xml = fe_xml();
    let cases: Vec<Case> = vec![
        (
            xml.replacen(
                "</FacturaElectronica>",
                "<Desconocido>x</Desconocido></FacturaElectronica>",
                1,
            ),
            |r| matches!(r, ParseError::Unexpected { .. }),
        ),
        (
            xml.replacen("<CondicionVenta>01</CondicionVenta>", "", 1),
            |r| matches!(r, ParseError::Misplaced { expected, .. } if expected == "CondicionVenta"),
        ),
        (
            xml.replacen("<PrecioUnitario>", "<DetalleSurtido/><PrecioUnitario>", 1),
            |r| matches!(r, ParseError::Missing { .. }),
        ),
        (
            xml.replacen("<CondicionVenta>01", "<CondicionVenta><x/>01", 1),
            |r| matches!(r, ParseError::MixedContent(_)),
        ),
        (xml.replacen("<Cantidad>", "<Cantidad>abc", 1), |r| {
            matches!(r, ParseError::Value { .. })
        }),
        (
            xml.replacen(
                "<FechaEmision>2026-03-15T10:30:00-06:00",
                "<FechaEmision>2026-03-15T10:30:00",
                1,
            ),
            |r| matches!(r, ParseError::Value { .. }),
        ),
        (xml.replacen("<Clave>506", "<Clave>507", 1), |r| {
            matches!(r, ParseError::Clave(_))
        }),
        (xml.replacen("</Emisor>", "", 1), |r| {
            matches!(r, ParseError::Malformed(_))
        }),
        (xml[..xml.len() - 5].to_owned(), |r| {
            matches!(r, ParseError::Malformed(_))
        }),
        (
            xml.replacen("<CondicionVenta>", "<CondicionVenta codigo=\"1\">", 1),
            |r| {
                matches!(r, ParseError::UnexpectedAttribute { element, attribute }
                    if element == "CondicionVenta" && attribute == "codigo")
            },
        ),
        ("<Otro xmlns=\"urn:x\"/>".to_owned(), |r| {
            matches!(r, ParseError::UnknownRoot { .. })
        }),
        (String::new(), |r| matches!(r, ParseError::Malformed(_))),
    ];
    for (i, (input, check)) in cases.into_iter().enumerate() {
        let got = Comprobante::from_xml(input.as_bytes());
        let r = reason(got);
        assert!(check(&r), "case {i}: {r:?}");
    }
    let nested = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    assert_eq!(
        reason(Comprobante::from_xml(nested.as_bytes())),
        ParseError::TooDeep(64)
    );
    let e = Comprobante::from_xml(b"\xff\xfe")
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.kind(), ErrorKind::Parse);
}

#[test]
fn mensaje_hacienda_is_parsed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mensaje-hacienda/rechazado_v4.4_unsigned.xml");
    let xml = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let m = MensajeHacienda::from_xml(&xml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.mensaje, EstadoHacienda::Rechazado);
    assert_eq!(m.estado_mensaje.as_deref(), Some("Rechazado"));
    assert!(m.detalle_mensaje.contains(
        "-37, \"El total del comprobante no corresponde a la suma de las líneas & cargos\""
    ));
    assert_eq!(
        m.clave.consecutivo().tipo(),
        TipoDocumento::FacturaElectronica
    );
    assert_eq!(m.total_factura.to_string(), "259279.26390");
    assert!(!m.firmado);
    // the fixture is schema-valid except for the signature
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xsd/xsd/v4.4/MensajeHacienda_V4.4.xsd");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&xsd)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("xmllint: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("}MensajeHacienda': Missing child element(s)"),
        "{stderr}"
    );
    // wrong namespace and wrong root are typed errors
    let text = String::from_utf8_lossy(&xml).into_owned();
    assert!(matches!(
        reason(MensajeHacienda::from_xml(
            text.replace("mensajeHacienda\"", "otro\"").as_bytes()
        )),
        ParseError::Namespace { .. }
    ));
    assert!(matches!(
        reason(MensajeHacienda::from_xml(fe_xml().as_bytes())),
        ParseError::UnknownRoot { .. }
    ));
    let bad = text.replace("<Mensaje>3</Mensaje>", "<Mensaje>9</Mensaje>");
    assert!(matches!(
        reason(MensajeHacienda::from_xml(bad.as_bytes())),
        ParseError::Value { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic(pos in 0usize..4000, len in 0usize..40, insert in "\\PC{0,12}") {
        let xml = fe_xml();
        let mut bytes = xml.into_bytes();
        let p = pos.min(bytes.len());
        let end = (p + len).min(bytes.len());
        bytes.splice(p..end, insert.bytes());
        cr_einvoice::fuzzing::parse_document(&bytes);
        cr_einvoice::fuzzing::parse_mensaje_hacienda(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        cr_einvoice::fuzzing::parse_document(&b);
        cr_einvoice::fuzzing::parse_mensaje_hacienda(&b);
    }
}

fn seeds() -> Vec<String> {
    let f =
        DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").unwrap_or_else(|e| panic!("{e}"));
    let mut v: Vec<String> = TipoDocumento::COMPROBANTES
        .into_iter()
        .map(|t| {
            let d =
                demo::comprobante(t, SchemaRevision::V2026, f, 3).unwrap_or_else(|e| panic!("{e}"));
            String::from_utf8(d.to_xml().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default()
        })
        .collect();
    let mr = demo::mensaje_receptor(SchemaRevision::V2026, f).unwrap_or_else(|e| panic!("{e}"));
    v.push(String::from_utf8(mr.to_xml().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default());
    v
}

/// Extreme numbers in every text node of every document type, one at a time: parsing, validating, recomputing and writing must return errors, not
/// overflow (this found an unchecked Decimal addition in validation).
#[test]
fn extreme_numbers_in_every_leaf_never_panic() {
    const TOKENS: [&str; 9] = [
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "0.0000000000000000000000000001",
        "18446744073709551616",
        "9999-12-31T23:59:59-14:00",
        "0000-01-01T00:00:00+14:00",
        "",
        "&#1;&#x10FFFF;",
        "\u{7f}\u{feff}",
    ];
    let replace = |text: &str, p: usize, token: &str| {
        let e = text[p..].find('<').map_or(p, |k| p + k);
        format!("{}{}{}", &text[..p], token, &text[e..])
    };
    for seed in seeds() {
        let starts: Vec<usize> = seed.match_indices('>').map(|(i, _)| i + 1).collect();
        for &p in &starts {
            for token in TOKENS {
                let once = replace(&seed, p, token);
                cr_einvoice::fuzzing::parse_document(once.as_bytes());
            }
        }
    }
}

/// `codigo` on `OtroTexto`/`OtroContenido` is read and written back; any other attribute there is
/// reported, never dropped.
#[test]
fn otro_texto_codigo_round_trips_and_other_attributes_are_reported() {
    let mut doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").unwrap_or_else(|e| panic!("{e}")),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    doc.otros_texto = vec![cr_einvoice::Otro::new("texto").with_codigo("C\t<1>")];
    doc.otros_contenido = vec!["contenido".into()];
    let xml = doc.to_xml().unwrap_or_else(|e| panic!("{e}"));
    let back = Comprobante::from_xml(&xml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, doc);
    assert_eq!(back.to_xml().unwrap_or_else(|e| panic!("{e}")), xml);
    assert_eq!(back.otros_texto[0].codigo.as_deref(), Some("C\t<1>"));
    assert_eq!(back.otros_contenido[0].codigo, None);

    let text = String::from_utf8(xml).unwrap_or_default();
    for bad in [
        text.replacen("<OtroTexto codigo=", "<OtroTexto tipo=", 1),
        text.replacen("<OtroContenido>", "<OtroContenido codigo=\"a\" x=\"b\">", 1),
        text.replacen("<Otros>", "<Otros codigo=\"a\">", 1),
    ] {
        assert_ne!(bad, text);
        let r = reason(Comprobante::from_xml(bad.as_bytes()));
        assert!(matches!(r, ParseError::UnexpectedAttribute { .. }), "{r:?}");
    }
}
