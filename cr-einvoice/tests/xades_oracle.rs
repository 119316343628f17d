//! XAdES-EPES signing and verification, checked against xmlsec1 (libxml2 + OpenSSL).

mod xades_util;

use chrono::{FixedOffset, TimeZone, Utc};
use cr_einvoice::c14n::Algorithm;
use cr_einvoice::keystore::{Certificate, SigningKey};
use cr_einvoice::xades::{self, SignOptions, SignatureError, SignatureErrorKind};
use secrecy::SecretString;
use xades_util::{XADES_ID_ATTRS, fixture, read_fixture, xmlsec_verify};

fn pin() -> SecretString {
    SecretString::from("1234")
}

fn key(file: &str) -> SigningKey {
    SigningKey::from_pkcs12(&read_fixture(file), &pin()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn cert() -> Certificate {
    Certificate::from_pem(&read_fixture("keys/cert.pem")).expect("cert.pem")
}

fn opts() -> SignOptions {
    SignOptions::new()
        .signing_time(
            Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
                .single()
                .expect("time"),
        )
        .signature_id("test01")
}

/// xmlsec1 must accept it, checking every reference.
fn assert_xmlsec_ok(xml: &[u8], refs: usize) {
    let (ok, out) = xmlsec_verify(xml, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
    assert!(
        ok,
        "xmlsec1 rejected:\n{out}\n{}",
        String::from_utf8_lossy(xml)
    );
    assert!(
        out.contains(&format!("SignedInfo References (ok/all): {refs}/{refs}")),
        "{out}"
    );
}

fn assert_xmlsec_fails(xml: &[u8]) {
    let (ok, out) = xmlsec_verify(xml, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
    assert!(!ok, "xmlsec1 accepted a tampered document:\n{out}");
}

#[test]
fn both_p12_kinds_load_the_same_key_and_certificate() {
    let legacy = key("keys/test-legacy.p12");
    let aes = key("keys/test-aes.p12");
    assert_eq!(legacy.certificate(), aes.certificate());
    assert_eq!(legacy.certificate(), &cert());
    let c = cert();
    assert_eq!(
        c.issuer(),
        "CN=EMPRESA TEST SOCIEDAD ANONIMA, OU=CPJ, O=PERSONA JURIDICA, C=CR"
    );
    // `openssl x509 -noout -serial` = 464113DBAAFCC99501A393F84AB85770D8E7F334, in decimal:
    assert_eq!(
        c.serial_number(),
        "401080632278125622992349939720356948759781307188"
    );
    let debug = format!("{legacy:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("1234"),
        "{debug}"
    );
}

#[test]
fn wrong_pin_and_malformed_p12_are_typed_errors() {
    for f in ["keys/test-legacy.p12", "keys/test-aes.p12"] {
        let err = SigningKey::from_pkcs12(&read_fixture(f), &SecretString::from("4321"))
            .expect_err("wrong pin");
        assert_eq!(err, SignatureError::WrongPin, "{f}");
        assert_eq!(err.kind(), SignatureErrorKind::Key);
    }
    let p12 = read_fixture("keys/test-aes.p12");
    for bad in [
        &b""[..],
        b"not a p12",
        &p12[..p12.len() / 2],
        &read_fixture("keys/cert.pem"),
    ] {
        let err = SigningKey::from_pkcs12(bad, &pin()).expect_err("malformed");
        assert!(
            matches!(err, SignatureError::MalformedKeystore(_)),
            "{err:?}"
        );
    }
    // every single-byte corruption fails cleanly (no panic)
    for i in (0..p12.len()).step_by(97) {
        let mut c = p12.clone();
        c[i] ^= 0x5a;
        if let Err(e) = SigningKey::from_pkcs12(&c, &pin()) {
            assert_eq!(e.kind(), SignatureErrorKind::Key);
        }
    }
}

#[test]
fn signed_factura_passes_xmlsec1_and_our_verify() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    for k in ["keys/test-legacy.p12", "keys/test-aes.p12"] {
        let signed = xades::sign(&unsigned, &key(k), &opts()).expect("sign");
        assert_xmlsec_ok(&signed, 3);
        let v = xades::verify(&signed, Some(&cert())).expect("verify with trusted cert");
        assert_eq!(v.references(), 3);
        assert_eq!(v.canonicalization(), Algorithm::Inclusive);
        assert_eq!(
            v.signing_time(),
            FixedOffset::west_opt(6 * 3600)
                .and_then(|o| o.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).single())
        );
        assert!(
            v.policy_identifier()
                .is_some_and(|p| p.starts_with("https://cdn.comprobanteselectronicos.go.cr/"))
        );
        xades::verify(&signed, None).expect("verify with KeyInfo cert");
    }
}

#[test]
fn signing_only_inserts_the_signature_before_the_root_end_tag() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign");
    let end = b"</FacturaElectronica>";
    let at = unsigned
        .windows(end.len())
        .rposition(|w| w == end)
        .expect("root end");
    assert_eq!(&signed[..at], &unsigned[..at]);
    assert!(signed.ends_with(&unsigned[at..]));
    let inserted =
        std::str::from_utf8(&signed[at..signed.len() - (unsigned.len() - at)]).expect("utf-8");
    assert!(inserted.starts_with(r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#));
    assert!(inserted.ends_with("</ds:Signature>"));
    assert!(inserted.contains("<xades:SigningTime>2026-11-22T12:00:00-06:00</xades:SigningTime>"));
    assert!(inserted.contains(
        r#"<ds:DigestValue>DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=</ds:DigestValue>"#
    ));
    assert_eq!(inserted.matches("<ds:Reference ").count(), 3);
    // deterministic for fixed options (PKCS#1 v1.5 is deterministic)
    assert_eq!(
        signed,
        xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign again")
    );
    // already signed documents are refused
    assert_eq!(
        xades::sign(&signed, &key("keys/test-aes.p12"), &opts()),
        Err(SignatureError::AlreadySigned)
    );
}

/// Minimal documents of every v4.4 root (structure only; schema validity is tested with
/// the document writer), plus shapes that stress document-context canonicalization.
fn other_documents() -> Vec<(String, Vec<u8>)> {
    let base = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/";
    let mut docs = Vec::new();
    for (root, ns) in [
        ("TiqueteElectronico", "tiqueteElectronico"),
        ("NotaCreditoElectronica", "notaCreditoElectronica"),
        ("NotaDebitoElectronica", "notaDebitoElectronica"),
        ("FacturaElectronicaCompra", "facturaElectronicaCompra"),
        (
            "FacturaElectronicaExportacion",
            "facturaElectronicaExportacion",
        ),
        ("ReciboElectronicoPago", "reciboElectronicoPago"),
        ("MensajeReceptor", "mensajeReceptor"),
    ] {
        let xml = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><{root} xmlns="{base}{ns}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Clave>50601072500310123456700100001010000000001199999999</Clave><Detalle>Caf&#xE9; &amp; t&#233; &lt;b&gt;</Detalle></{root}>"#
        );
        docs.push((root.to_string(), xml.into_bytes()));
    }
    // CRLF, BOM, single quotes, whitespace before the end tag, xml:lang inherited into the
    // signature subtrees, a root without xmlns:ds, comments and a PI.
    docs.push((
        "tricky".into(),
        b"\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\r\n<!-- c -->\r\n<FacturaElectronica xml:lang='es' xmlns='https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica' xmlns:a='urn:other' a:x='1'>\r\n  <Clave>1</Clave><?pi x?>\r\n  <Nota a:y=\"q&quot;\tq\">l\xC3\xADnea 1\r\nl\xC3\xADnea 2 ]]&gt;</Nota>\r\n</FacturaElectronica>\r\n<!-- trailing -->\r\n".to_vec(),
    ));
    // root already binding the ds prefix, and a prefixed root element
    docs.push((
        "prefixed".into(),
        br#"<fe:FacturaElectronica xmlns:fe="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><fe:Clave>1</fe:Clave></fe:FacturaElectronica>"#.to_vec(),
    ));
    docs
}

#[test]
fn every_document_kind_signs_and_verifies_with_xmlsec1() {
    let k = key("keys/test-legacy.p12");
    for (name, xml) in other_documents() {
        let signed = xades::sign(&xml, &k, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_xmlsec_ok(&signed, 3);
        xades::verify(&signed, Some(&cert())).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Changes at several places of a signed document: each must fail our verify and xmlsec1.
#[test]
fn one_changed_character_fails_both_verifiers() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign");
    let text = String::from_utf8(signed).expect("utf-8");
    let edits: [(&str, &str); 8] = [
        (
            "<TotalComprobante>113000.00000",
            "<TotalComprobante>113000.00001",
        ),
        ("<Nombre>Empresa Test S.A.", "<Nombre>Empresa Test S.B."),
        (
            "CodigoActividadEmisor>620100<",
            "CodigoActividadEmisor>620101<",
        ),
        ("2026-11-22T12:00:00-06:00", "2026-11-22T12:00:01-06:00"),
        ("<xades:MimeType>text/xml", "<xades:MimeType>text/xmm"),
        ("<ds:Exponent>AQAB", "<ds:Exponent>AQAC"),
        (
            "<ds:SignatureValue Id=\"SignatureValue-Signature-test01\">",
            "<ds:SignatureValue Id=\"SignatureValue-Signature-test01\">A",
        ),
        (
            "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"",
            "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\" ",
        ),
    ];
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        let tampered = text.replacen(from, to, 1);
        let ours = xades::verify(tampered.as_bytes(), Some(&cert()));
        if from.ends_with("rsa-sha256\"") {
            // whitespace inside a tag is not a change of the XML content: both accept
            assert!(ours.is_ok(), "{ours:?}");
            assert_xmlsec_ok(tampered.as_bytes(), 3);
            continue;
        }
        assert!(ours.is_err(), "our verify accepted edit {from:?} -> {to:?}");
        assert_xmlsec_fails(tampered.as_bytes());
    }
}

/// A second, unrelated key made with `openssl req -x509 -newkey rsa:2048`.
fn other_key() -> SigningKey {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = dir.path().join("k.pem");
    let c = dir.path().join("c.pem");
    let d = dir.path().join("k.der");
    let p = |x: &std::path::Path| x.to_str().expect("utf-8 path").to_owned();
    let out = xades_util::run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &p(&k),
            "-out",
            &p(&c),
            "-subj",
            "/CN=OTRA/C=CR",
            "-days",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = xades_util::run(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            &p(&k),
            "-outform",
            "DER",
            "-out",
            &p(&d),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = Certificate::from_pem(&std::fs::read(&c).expect("cert")).expect("parse cert");
    // the wrong certificate for a key is refused
    assert!(matches!(
        SigningKey::from_pkcs8_der(&std::fs::read(&d).expect("key"), self::cert()),
        Err(SignatureError::CertificateMismatch(_))
    ));
    SigningKey::from_pkcs8_der(&std::fs::read(&d).expect("key"), cert).expect("other key")
}

#[test]
fn a_signature_by_another_key_fails_against_the_pinned_certificate() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = xades::sign(&unsigned, &other_key(), &opts()).expect("sign");
    // self-consistent: valid with its own KeyInfo certificate
    xades::verify(&signed, None).expect("valid with its own certificate");
    assert_eq!(
        xades::verify(&signed, Some(&cert())).map(|_| ()),
        Err(SignatureError::BadSignature)
    );
    // xmlsec1 with only the X509 key data and the test certificate as trust anchor agrees
    let (ok, out) = xades_util::xmlsec_verify_pinned(&signed);
    assert!(!ok, "{out}");
    let ours = xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign");
    let (ok, out) = xades_util::xmlsec_verify_pinned(&ours);
    assert!(ok, "{out}");
}

#[test]
fn accepts_the_signxml_sample() {
    let xml = read_fixture("signed/FE_v4.4_minimal_signed_signxml_testkey.xml");
    let v = xades::verify(&xml, Some(&cert())).expect("signxml sample");
    assert_eq!(v.references(), 3);
    xades::verify(&xml, None).expect("signxml sample with KeyInfo cert");
    let tampered =
        String::from_utf8(xml)
            .expect("utf-8")
            .replacen("113000.00000", "113000.00009", 1);
    assert!(matches!(
        xades::verify(tampered.as_bytes(), None),
        Err(SignatureError::DigestMismatch { .. })
    ));
}

#[test]
fn accepts_two_reference_exclusive_signatures() {
    for f in [
        "signed/FE_v4.4_exc2ref_enveloped_xmlsec.xml",
        "signed/FE_v4.4_exc2ref_xpath_xmlsec.xml",
        "signed/FE_v4.4_exc2ref_filter2_xmlsec.xml",
    ] {
        let xml = read_fixture(f);
        let v = xades::verify(&xml, Some(&cert())).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(v.references(), 2, "{f}");
        assert_eq!(v.canonicalization(), Algorithm::Exclusive, "{f}");
        let tampered = String::from_utf8(xml).expect("utf-8").replacen(
            "Cliente Ejemplo",
            "Cliente Ejemplq",
            1,
        );
        assert!(
            xades::verify(tampered.as_bytes(), Some(&cert())).is_err(),
            "{f}"
        );
    }
}

#[test]
fn rejects_wrong_key_and_structural_attacks() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = String::from_utf8(
        xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign"),
    )
    .expect("utf-8");
    // the signxml sample's cert is the same key; build a different certificate by using the
    // KeyInfo-less path: removing KeyInfo breaks the KeyInfo reference
    let start = signed.find("<ds:KeyInfo").expect("KeyInfo");
    let end = signed.find("</ds:KeyInfo>").expect("KeyInfo end") + "</ds:KeyInfo>".len();
    let no_key_info = format!("{}{}", &signed[..start], &signed[end..]);
    assert!(xades::verify(no_key_info.as_bytes(), None).is_err());
    // two signatures
    let twice = signed.replacen(
        "</FacturaElectronica>",
        &format!(
            "{}</FacturaElectronica>",
            &signed[signed.find("<ds:Signature").expect("sig")
                ..signed.find("</FacturaElectronica>").expect("end")]
        ),
        1,
    );
    assert_eq!(
        xades::verify(twice.as_bytes(), None).map(|_| ()),
        Err(SignatureError::MultipleSignatures)
    );
    // unsigned document
    assert_eq!(
        xades::verify(&unsigned, None).map(|_| ()),
        Err(SignatureError::MissingSignature)
    );
    // duplicated Id (wrapping attempt): a copy of SignedProperties elsewhere
    let sp_start = signed.find("<xades:SignedProperties").expect("sp");
    let sp_end = signed.find("</xades:SignedProperties>").expect("sp end")
        + "</xades:SignedProperties>".len();
    let wrapped = signed.replacen("<Clave>", &format!("<Extra xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{}</Extra><Clave>", &signed[sp_start..sp_end]), 1);
    assert!(xades::verify(wrapped.as_bytes(), None).is_err());
}

#[test]
fn fuzz_entry_point_never_panics_on_mutations() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign");
    xades::fuzz_verify(&signed);
    for i in (0..signed.len()).step_by(13) {
        let mut m = signed.clone();
        m[i] = m[i].wrapping_add(1);
        xades::fuzz_verify(&m);
        xades::fuzz_verify(&signed[..i]);
    }
}

/// Differential check: for single-character mutations spread over a signed document, our
/// verifier and xmlsec1 must agree (both reject, or both accept an insignificant change).
#[test]
fn single_character_mutations_agree_with_xmlsec1() {
    let unsigned = read_fixture("unsigned/FE_v4.4_minimal_unsigned.xml");
    let signed = xades::sign(&unsigned, &key("keys/test-aes.p12"), &opts()).expect("sign");
    let mut rejected = 0;
    let mut checked = 0;
    for i in (0..signed.len()).step_by(41) {
        let b = signed[i];
        let new = match b {
            b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => b + 1,
            b'9' => b'0',
            b'z' | b'Z' => b'a',
            b'!'..=b'~' => b'x',
            _ => continue,
        };
        let mut m = signed.clone();
        m[i] = new;
        let ours = xades::verify(&m, Some(&cert())).is_ok();
        let (theirs, out) = xmlsec_verify(&m, &fixture("keys/cert.pem"), &XADES_ID_ATTRS);
        assert_eq!(
            ours, theirs,
            "byte {i}: {:?} -> {:?}; ours {ours}, xmlsec1 {theirs}\n{out}",
            b as char, new as char
        );
        checked += 1;
        rejected += usize::from(!ours);
    }
    assert!(
        checked > 100 && rejected * 10 > checked * 9,
        "{rejected}/{checked}"
    );
}
