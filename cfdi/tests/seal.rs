//! CSD loading, sealing and verification, plus hostile-input handling.

use std::path::PathBuf;

use cfdi::{
    Certificate, CertificateKind, Csd, Error, ErrorKind, PrivateKey, SealProblem, SecretString,
};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(fixture(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn password() -> SecretString {
    SecretString::from(String::from_utf8(read("csd/password.txt")).expect("utf8"))
}

fn eku() -> Csd {
    Csd::from_files(
        fixture("csd/EKU9003173C9.cer"),
        fixture("csd/EKU9003173C9.key"),
        &password(),
    )
    .expect("EKU CSD")
}

const SIGNED_SAMPLES: [&str; 14] = [
    "cfdiutils-cfdi40-real",
    "cfdiutils-cfdi40-valid",
    "cfdiutils-pago20-valid",
    "cfdiutils-with-discounts-usd",
    "satcfdi-ingreso-ieps-exento-stamped",
    "satcfdi-ingreso-iva16-ret-stamped",
    "satcfdi-ingreso-iva8-stamped",
    "satcfdi-ingreso-ret-exento-stamped",
    "satcfdi-ingreso-tasa0-stamped",
    "satcfdi-iva-suma-100.05",
    "satcfdi-pago20-parcial",
    "satcfdi-pago20-stamped",
    "satcfdi-retenciones-suma-100.07",
    "satcfdi-sat-ejemplo-signed-tfd",
];

#[test]
fn certificate_properties() {
    let c = Certificate::from_file(fixture("csd/EKU9003173C9.cer")).expect("cer");
    assert_eq!(c.no_certificado(), "30001000000500003416");
    assert_eq!(c.rfc(), "EKU9003173C9");
    assert_eq!(c.nombre(), "ESCUELA KEMPER URGATE SA DE CV");
    assert_eq!(c.kind(), CertificateKind::Csd);
    assert_eq!(c.not_after().to_rfc3339(), "2027-05-18T11:43:51+00:00");
    let pem = Certificate::from_bytes(&read("csd/EKU9003173C9.cer.pem")).expect("pem");
    assert_eq!(pem.der(), c.der());
    let h = Certificate::from_file(fixture("csd/H_E951128469.cer")).expect("cer");
    assert_eq!(h.rfc(), "H&E951128469");
    assert_eq!(h.no_certificado(), "30001000000400002463");
}

#[test]
fn every_test_key_decrypts_and_matches_its_certificate() {
    for name in [
        "EKU9003173C9",
        "EKU9003173C9_2019",
        "CACX7605101P8",
        "XIA190128J61",
        "H_E951128469",
        "XIQB891116QE4",
    ] {
        let csd = Csd::from_files(
            fixture(&format!("csd/{name}.cer")),
            fixture(&format!("csd/{name}.key")),
            &password(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(csd.certificate().no_certificado().len(), 20, "{name}");
    }
}

#[test]
fn pem_keys_load() {
    let cert = Certificate::from_file(fixture("csd/EKU9003173C9.cer")).expect("cer");
    let k = PrivateKey::from_bytes(
        &read("csd/EKU9003173C9.unencrypted.pem"),
        &SecretString::from(""),
    )
    .expect("plain pem");
    assert!(k.matches(&cert));
    let k = PrivateKey::from_bytes(
        &read("csd/EKU9003173C9.aes.pem"),
        &SecretString::from("otra-clave"),
    )
    .expect("encrypted pem");
    assert!(k.matches(&cert));
    let e = PrivateKey::from_bytes(&read("csd/EKU9003173C9.aes.pem"), &password()).unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e}");
}

#[test]
fn wrong_password_is_a_typed_error() {
    let e = PrivateKey::from_file(fixture("csd/EKU9003173C9.key"), &SecretString::from("nope"))
        .unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e}");
    assert_eq!(e.kind(), ErrorKind::Credentials);
    let e = PrivateKey::from_bytes(b"garbage", &password()).unwrap_err();
    assert!(matches!(e, Error::PrivateKey(_)), "{e}");
}

#[test]
fn key_certificate_mismatch_is_a_typed_error() {
    let e = Csd::from_files(
        fixture("csd/EKU9003173C9.cer"),
        fixture("csd/CACX7605101P8.key"),
        &password(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::KeyMismatch), "{e}");
}

#[test]
fn debug_output_never_shows_secrets() {
    let csd = eku();
    let dbg = format!("{csd:?} {:?} {:?}", csd.private_key(), password());
    assert!(!dbg.contains("12345678a"), "{dbg}");
    assert!(dbg.contains("PrivateKey { .. }"), "{dbg}");
}

fn sample(name: &str) -> cfdi::Comprobante {
    cfdi::parse(&read(&format!("samples/{name}.xml"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_14_signed_samples_verify() {
    for name in SIGNED_SAMPLES {
        let doc = sample(name);
        let v = cfdi::verify(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.no_certificado, doc.no_certificado, "{name}");
    }
    // The placeholder Certificado of this one makes verification fail with a typed error.
    let e = cfdi::verify(&sample("satcfdi-pagos20-all")).unwrap_err();
    assert!(matches!(e, Error::Certificate(_)), "{e}");
}

#[test]
fn expired_certificate_is_reported() {
    let v = cfdi::verify(&sample("satcfdi-sat-ejemplo-signed-tfd")).expect("verifies");
    assert_eq!(v.certificate_valid_at_fecha, Some(false));
    let v = cfdi::verify(&sample("cfdiutils-cfdi40-valid")).expect("verifies");
    assert_eq!(v.certificate_valid_at_fecha, Some(true));
    assert!(v.rfc_matches_emisor);
    // Sealing with a certificate that expired before Fecha is refused.
    let old = Csd::from_files(
        fixture("csd/CACX7605101P8.cer"),
        fixture("csd/CACX7605101P8.key"),
        &password(),
    )
    .expect("csd");
    let mut doc = sample("cfdiutils-cfdi40-valid");
    let e = old.seal(&mut doc).unwrap_err();
    assert!(matches!(e, Error::CertificateNotValid { .. }), "{e}");
}

#[test]
fn resealing_a_sample_reproduces_its_sello() {
    // PKCS#1 v1.5 is deterministic: same key + same cadena = same signature.
    let csd = eku();
    for name in [
        "cfdiutils-cfdi40-valid",
        "cfdiutils-pago20-valid",
        "cfdiutils-with-discounts-usd",
    ] {
        let original = sample(name);
        let mut doc = original.clone();
        doc.sello.clear();
        doc.certificado.clear();
        csd.seal(&mut doc).expect("seal");
        assert_eq!(doc.sello, original.sello, "{name}");
        assert_eq!(doc.certificado, original.certificado, "{name}");
    }
}

/// Every attribute that enters the cadena (or is Sello/Certificado), changed in the XML text,
/// makes verification fail.
#[test]
fn changing_any_attribute_value_breaks_verification() {
    let mut checked = 0;
    for name in SIGNED_SAMPLES {
        let text = String::from_utf8(read(&format!("samples/{name}.xml"))).expect("utf8");
        let tfd = text
            .match_indices("TimbreFiscalDigital ")
            .find_map(|(i, _)| {
                let lt = text[..i].rfind('<')?;
                let tag = &text[lt + 1..i];
                (!tag.contains(char::is_whitespace))
                    .then(|| (lt, i + text[i..].find('>').expect("tfd end")))
            });
        let addenda = text.find("Addenda>").unwrap_or(text.len());
        let root = text.find("Comprobante").expect("root");
        let mut pos = root;
        while let Some(off) = text[pos..].find("=\"") {
            let eq = pos + off;
            let vstart = eq + 2;
            let vend = vstart + text[vstart..].find('"').expect("closing quote");
            pos = vend + 1;
            if eq > addenda || tfd.is_some_and(|(s, e)| eq > s && eq < e) {
                continue;
            }
            let nstart = text[..eq].rfind(|c: char| c.is_whitespace()).expect("name") + 1;
            let attr = &text[nstart..eq];
            if attr.starts_with("xmlns") || attr == "xsi:schemaLocation" {
                continue;
            }
            let mutated = format!("{}9{}", &text[..vend], &text[vend..]);
            let outcome = cfdi::parse(mutated.as_bytes()).and_then(|d| cfdi::verify(&d));
            assert!(outcome.is_err(), "{name}: changing {attr} still verifies");
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} attributes checked");
}

#[test]
fn timbre_sello_sat_verifies_with_the_pac_certificate() {
    // No real PAC certificate is in the fixtures: a test CSD plays the PAC.
    let pac = Csd::from_files(
        fixture("csd/XIA190128J61.cer"),
        fixture("csd/XIA190128J61.key"),
        &password(),
    )
    .expect("pac");
    let mut doc = sample("cfdiutils-cfdi40-valid");
    let mut tfd = doc.timbre().expect("tfd").clone();
    tfd.no_certificado_sat = pac.certificate().no_certificado().into();
    tfd.sello_cfd = doc.sello.clone();
    let sig = pac
        .private_key()
        .sign_sha256(cfdi::cadena_tfd(&tfd).as_bytes())
        .expect("sign");
    use base64::Engine as _;
    tfd.sello_sat = base64::engine::general_purpose::STANDARD.encode(sig);
    doc.complemento = Some(vec![cfdi::model::Complemento::Timbre(Box::new(
        tfd.clone(),
    ))]);
    cfdi::verify_timbre(&doc, pac.certificate()).expect("SelloSAT verifies");
    // Round trip through XML keeps it valid.
    let again = cfdi::parse(cfdi::to_xml(&doc).as_bytes()).expect("parse");
    cfdi::verify_timbre(&again, pac.certificate()).expect("after write/parse");
    // Tampering with the UUID breaks it.
    let mut bad = tfd.clone();
    bad.uuid.push('0');
    doc.complemento = Some(vec![cfdi::model::Complemento::Timbre(Box::new(bad))]);
    let e = cfdi::verify_timbre(&doc, pac.certificate()).unwrap_err();
    assert!(
        matches!(e, Error::SealInvalid(SealProblem::Mismatch)),
        "{e}"
    );
    // Wrong certificate.
    let e = cfdi::verify_timbre(&again, eku().certificate()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::SealInvalid(SealProblem::NoCertificadoMismatch { .. })
        ),
        "{e}"
    );
}

#[cfg(all(feature = "aws-lc-rs", feature = "pure-rust-rsa"))]
#[test]
fn both_rsa_backends_give_identical_signatures() {
    use cfdi::csd::Backend;
    let csd = eku();
    for name in SIGNED_SAMPLES {
        let cadena = cfdi::cadena_original(&sample(name)).expect("cadena");
        let a = csd
            .private_key()
            .sign_sha256_with(Backend::AwsLc, cadena.as_bytes())
            .expect("aws");
        let b = csd
            .private_key()
            .sign_sha256_with(Backend::RustCrypto, cadena.as_bytes())
            .expect("rsa");
        assert_eq!(a, b, "{name}");
        assert!(csd.certificate().verify_sha256(cadena.as_bytes(), &b));
    }
}

// ----- hostile input -----

#[test]
fn malformed_xml_is_a_typed_error() {
    for bad in [
        &b""[..],
        b"<",
        b"not xml",
        b"<cfdi:Comprobante xmlns:cfdi=\"http://www.sat.gob.mx/cfd/4\">",
        b"<a></b>",
        b"\xff\xfe<",
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
    ] {
        let e = cfdi::parse(bad).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Xml | ErrorKind::Schema),
            "{e}"
        );
    }
}

#[test]
fn wrong_namespace_is_rejected_even_with_the_right_prefix() {
    let text = String::from_utf8(read("samples/cfdiutils-cfdi40-valid.xml")).expect("utf8");
    let bad = text.replacen(
        "http://www.sat.gob.mx/cfd/4\"",
        "http://www.sat.gob.mx/cfd/3\"",
        1,
    );
    let e = cfdi::parse(bad.as_bytes()).unwrap_err();
    assert!(matches!(e, Error::NotCfdi40 { .. }), "{e}");
    // Any prefix bound to the right namespace is fine.
    let other = text
        .replace("cfdi:", "c:")
        .replace("xmlns:cfdi=", "xmlns:c=");
    let doc = cfdi::parse(other.as_bytes()).expect("other prefix");
    cfdi::verify(&doc).expect("still verifies");
}

#[test]
fn xxe_and_entity_expansion_are_rejected() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" Serie="&xxe;"/>"#;
    let e = cfdi::parse(xxe.as_bytes()).unwrap_err();
    assert!(matches!(e, Error::DtdForbidden), "{e}");
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4">&lol3;</cfdi:Comprobante>"#;
    let e = cfdi::parse(laughs.as_bytes()).unwrap_err();
    assert!(matches!(e, Error::DtdForbidden), "{e}");
    // An entity reference without a DTD is undefined.
    let text = String::from_utf8(read("samples/cfdiutils-cfdi40-valid.xml")).expect("utf8");
    let undefined = text.replacen("Fecha=\"", "Fecha=\"&lol;", 1);
    let e = cfdi::parse(undefined.as_bytes()).unwrap_err();
    assert!(
        matches!(e, Error::UndefinedEntity(ref n) if n == "lol"),
        "{e}"
    );
}

#[test]
fn unknown_complement_is_kept_but_has_no_cadena() {
    // Nómina 1.1: not included by cadenaoriginal_4_0.xslt (nómina 1.2 is).
    let text = String::from_utf8(read("samples/cfdiutils-cfdi40-valid.xml")).expect("utf8");
    let with = text.replacen(
        "<cfdi:Complemento>",
        "<cfdi:Complemento><nomina:Nomina xmlns:nomina=\"http://www.sat.gob.mx/nomina\" Version=\"1.1\" TipoNomina=\"O\"/>",
        1,
    );
    assert_ne!(with, text);
    let doc = cfdi::parse(with.as_bytes()).expect("parse");
    let e = cfdi::cadena_original(&doc).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedComplement { ref namespace, .. } if namespace == "http://www.sat.gob.mx/nomina"),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    // Written back unchanged.
    let out = cfdi::to_xml(&doc);
    assert!(
        out.contains(
            "<cfdi:Complemento><nomina:Nomina xmlns:nomina=\"http://www.sat.gob.mx/nomina\" Version=\"1.1\" TipoNomina=\"O\"/>"
        ),
        "{out}"
    );
    assert_eq!(cfdi::parse(out.as_bytes()).expect("reparse"), doc);
}
