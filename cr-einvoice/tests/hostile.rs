//! Hostile input (issue 14): deep nesting, oversized input, attributes on the root, stray
//! elements and non-UTF-8 encodings all give typed errors that name the problem — never a
//! stack overflow, never a silent acceptance. Every input is generated here.

use cr_einvoice::c14n::C14nError;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions, SignatureError, SignatureErrorKind};
use cr_einvoice::{
    Comprobante, DateTime, Decimal, Error, FixedOffset, Limits, ParseError, SchemaRevision,
    SecretString, TipoDocumento, demo, parse,
};

fn key() -> SigningKey {
    let p12 = include_bytes!("fixtures/keys/test-aes.p12");
    SigningKey::from_pkcs12(p12, &SecretString::from("1234")).unwrap_or_else(|e| panic!("{e}"))
}

fn fe_xml() -> Vec<u8> {
    let fecha =
        DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"));
    demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha,
        3,
    )
    .and_then(|d| d.to_xml())
    .unwrap_or_else(|e| panic!("{e}"))
}

fn signed_fe() -> Vec<u8> {
    xades::sign(&fe_xml(), &key(), &SignOptions::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// Inserts `inner` as the content of a `ds:Object` at the end of the signature.
fn with_object(signed: &[u8], inner: &str) -> Vec<u8> {
    let s = std::str::from_utf8(signed).unwrap_or_else(|e| panic!("{e}"));
    let end = s
        .rfind("</ds:Signature>")
        .unwrap_or_else(|| panic!("no signature"));
    format!("{}<ds:Object>{inner}</ds:Object>{}", &s[..end], &s[end..]).into_bytes()
}

fn parse_reason(r: Result<impl std::fmt::Debug, Error>) -> (u64, ParseError) {
    match r {
        Err(Error::Parse { offset, reason }) => (offset, reason),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn a_million_levels_inside_ds_object_is_a_typed_error_not_a_stack_overflow() {
    let signed = signed_fe();
    let n = 1_000_000;
    let deep = with_object(&signed, &format!("{}{}", "<a>".repeat(n), "</a>".repeat(n)));
    assert!(deep.len() > 7_000_000);
    let err = xades::verify(&deep, None)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(err.kind(), SignatureErrorKind::Document);
    match err {
        SignatureError::Xml(C14nError::TooDeep { offset, limit }) => {
            assert_eq!(limit, 64);
            // the offset points into the nesting, not at byte 0
            assert!(offset > signed.len() - 200, "offset {offset}");
            assert_eq!(&deep[offset..offset + 3], b"<a>");
        }
        other => panic!("{other:?}"),
    }
    // the same document parsed as a comprobante: the parser's own depth error
    let (offset, reason) = parse_reason(Comprobante::from_xml(&deep));
    assert_eq!(reason, ParseError::TooDeep(64));
    assert!(offset > 0);
}

#[test]
fn depth_and_size_limits_are_configurable() {
    let signed = signed_fe();
    assert!(xades::verify(&signed, None).is_ok());
    // the signature subtree nests 6 levels below the root
    let shallow = Limits::default().with_max_depth(4);
    assert!(matches!(
        xades::verify_with_limits(&signed, None, &shallow),
        Err(SignatureError::Xml(C14nError::TooDeep { limit: 4, .. }))
    ));
    let small = Limits::default().with_max_input_bytes(signed.len() - 1);
    assert_eq!(
        xades::verify_with_limits(&signed, None, &small).err(),
        Some(SignatureError::Xml(C14nError::TooLarge {
            size: signed.len(),
            limit: signed.len() - 1
        }))
    );
    let (_, reason) = parse_reason(parse::documento_with_limits(&signed, None, &small));
    assert_eq!(
        reason,
        ParseError::TooLarge {
            size: signed.len(),
            limit: signed.len() - 1
        }
    );
    let (_, reason) = parse_reason(parse::documento_with_limits(&signed, None, &shallow));
    assert_eq!(reason, ParseError::TooDeep(4));
    assert!(parse::documento_with_limits(&signed, None, &Limits::default()).is_ok());
    // depth is capped so no reader's bookkeeping can be made unbounded
    assert_eq!(
        Limits::default().with_max_depth(10_000_000).max_depth(),
        Limits::MAX_DEPTH_CAP
    );
}

#[test]
fn an_attribute_beyond_the_size_limit_is_rejected_before_parsing() {
    // 17 MiB attribute (default limit 16 MiB); the same check rejects a 200 MB one
    let xml = fe_xml();
    let s = String::from_utf8(xml).unwrap_or_default();
    let big = s.replacen(
        "<FacturaElectronica ",
        &format!("<FacturaElectronica foo=\"{}\" ", "x".repeat(17 << 20)),
        1,
    );
    let (_, reason) = parse_reason(Comprobante::from_xml(big.as_bytes()));
    assert!(matches!(reason, ParseError::TooLarge { limit, .. } if limit == 16 << 20));
    assert!(matches!(
        xades::verify(big.as_bytes(), None),
        Err(SignatureError::Xml(C14nError::TooLarge { .. }))
    ));
    let (_, reason) = parse_reason(parse::mensaje_hacienda(big.as_bytes()));
    assert!(matches!(reason, ParseError::TooLarge { .. }));
}

#[test]
fn many_children_inside_ds_object_verify_in_bounded_memory() {
    // 200,000 siblings with ids: the flat tree scans them without recursion, and the
    // signature, which does not cover them, is still checked (and fails on the digest)
    let signed = signed_fe();
    let wide = with_object(&signed, &"<b Id=\"x\"/>".repeat(200_000));
    match xades::verify(&wide, None) {
        Err(SignatureError::DigestMismatch { .. }) | Ok(_) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_attribute_on_the_root_is_reported() {
    let signed = signed_fe();
    let s = String::from_utf8(signed).unwrap_or_default();
    let bad = s.replacen(
        "<FacturaElectronica ",
        "<FacturaElectronica foo=\"bar\" ",
        1,
    );
    assert_ne!(bad, s);
    let (offset, reason) = parse_reason(Comprobante::from_xml(bad.as_bytes()));
    assert_eq!(
        reason,
        ParseError::UnexpectedAttribute {
            element: "FacturaElectronica".into(),
            attribute: "foo".into()
        }
    );
    assert_eq!(
        Error::Parse { offset, reason }.to_string(),
        format!("XML error at byte {offset}: attribute foo is not allowed on FacturaElectronica")
    );
    // xsi:schemaLocation is a hint XSD validators accept everywhere; it stays allowed
    let hint = s.replacen(
        "<FacturaElectronica ",
        "<FacturaElectronica xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"urn:x x.xsd\" ",
        1,
    );
    assert!(Comprobante::from_xml(hint.as_bytes()).is_ok());
    // any other xsi: attribute is not
    let nil = hint.replacen("xsi:schemaLocation", "xsi:nil", 1);
    let (_, reason) = parse_reason(Comprobante::from_xml(nil.as_bytes()));
    assert!(
        matches!(reason, ParseError::UnexpectedAttribute { attribute, .. } if attribute == "xsi:nil")
    );
}

#[test]
fn a_stray_element_is_named_as_such() {
    let s = String::from_utf8(fe_xml()).unwrap_or_default();
    let stray = s.replacen("<NumeroConsecutivo>", "<Extra/><NumeroConsecutivo>", 1);
    let (offset, reason) = parse_reason(Comprobante::from_xml(stray.as_bytes()));
    assert_eq!(
        reason.to_string(),
        "unexpected element Extra in FacturaElectronica where NumeroConsecutivo is required"
    );
    assert_eq!(offset as usize, stray.find("<Extra/>").unwrap_or_default());
    // really missing at the end of a parent: still "missing"
    let missing = s.replacen("<NumeroConsecutivo>", "<x>", 1);
    assert!(matches!(
        parse_reason(Comprobante::from_xml(missing.as_bytes())).1,
        ParseError::Misplaced { .. } | ParseError::Malformed(_)
    ));
}

#[test]
fn utf16_input_is_called_utf16() {
    let s = String::from_utf8(fe_xml()).unwrap_or_default();
    let mut utf16 = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let (_, reason) = parse_reason(Comprobante::from_xml(&utf16));
    assert_eq!(
        reason,
        ParseError::Malformed("input is UTF-16; v4.4 documents must be UTF-8".into())
    );
    let (offset, reason) = parse_reason(Comprobante::from_xml(b"<a>\xC3</a>"));
    assert_eq!(offset, 3);
    assert!(
        reason
            .to_string()
            .contains("invalid byte sequence at byte 3")
    );
}

#[test]
fn a_pem_file_given_as_p12_is_named_pem() {
    let pem = include_bytes!("fixtures/keys/cert.pem");
    match SigningKey::from_pkcs12(pem, &SecretString::from("1234")) {
        Err(SignatureError::MalformedKeystore(m)) => {
            assert!(
                m.starts_with("this is a PEM file (CERTIFICATE), not a PKCS#12 (.p12) keystore"),
                "{m}"
            );
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn the_types_a_caller_must_name_are_re_exported() {
    // no direct rust_decimal / chrono / secrecy dependency is needed to call the API
    let fecha: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"));
    let doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        fecha,
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let total: Decimal = doc.resumen.total_comprobante;
    assert!(total > Decimal::ZERO);
    let pin = SecretString::from("1234");
    assert!(SigningKey::from_pkcs12(include_bytes!("fixtures/keys/test-aes.p12"), &pin).is_ok());
}
