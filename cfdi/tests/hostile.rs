//! Hostile input and certificate checks (issue 14): non-CSD certificates, input bounds,
//! messages that name the real problem. Every large input is generated here.

use std::path::PathBuf;

use cfdi::{Certificate, CertificateKind, Csd, Error, ErrorKind, Limits, SecretString};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(fixture(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn password() -> SecretString {
    SecretString::from("12345678a")
}

fn sample_text() -> String {
    String::from_utf8(read("samples/cfdiutils-cfdi40-valid.xml")).unwrap_or_default()
}

fn csd(name: &str) -> Csd {
    Csd::from_files(
        fixture(&format!("{name}.cer")),
        fixture(&format!("{name}.key")),
        &password(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn certificate_kind_follows_issuer_ou_and_key_usage() {
    for name in [
        "EKU9003173C9",
        "EKU9003173C9_2019",
        "CACX7605101P8",
        "XIA190128J61",
        "XIQB891116QE4",
        "H_E951128469",
    ] {
        let c = Certificate::from_file(fixture(&format!("csd/{name}.cer")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.kind(), CertificateKind::Csd, "{name}");
    }
    // the certificates embedded in the sample CFDI: SAT test CSDs (AC UAT, and the older
    // "A.C. 2 de pruebas(4096)" whose O is spelled with an accent) and SAT test e.firmas
    for (sample, kind) in [
        ("cfdiutils-cfdi40-valid", CertificateKind::Csd),
        ("satcfdi-sat-ejemplo-signed-tfd", CertificateKind::Csd),
        ("satcfdi-ingreso-tasa0-stamped", CertificateKind::Efirma),
        ("satcfdi-ingreso-iva8-stamped", CertificateKind::Efirma),
    ] {
        let doc =
            cfdi::parse(&read(&format!("samples/{sample}.xml"))).unwrap_or_else(|e| panic!("{e}"));
        let c = Certificate::from_base64(&doc.certificado).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.kind(), kind, "{sample}");
    }
    for (name, kind) in [
        ("selfsigned", CertificateKind::NotSat),
        ("efirma", CertificateKind::Efirma),
        ("ou_enc", CertificateKind::Efirma),
    ] {
        let c = Certificate::from_file(fixture(&format!("noncsd/{name}.cer")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.kind(), kind, "{name}");
    }
}

#[test]
fn sealing_with_a_non_csd_is_refused_unless_allowed() {
    let mut doc = cfdi::parse(sample_text().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    doc.fecha = "2027-01-04T10:00:00".into();
    for (name, kind) in [
        ("noncsd/selfsigned", CertificateKind::NotSat),
        ("noncsd/efirma", CertificateKind::Efirma),
    ] {
        let err = csd(name)
            .seal(&mut doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{name} sealed"));
        assert_eq!(err.kind(), ErrorKind::Credentials);
        match &err {
            Error::NotCsd { kind: k, rfc, .. } => {
                assert_eq!((*k, rfc.as_str()), (kind, "EKU9003173C9"));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("not a CSD"), "{err}");
    }
    // explicitly allowed (tests): it seals, and verify reports what the certificate is
    let mut sealed = doc.clone();
    csd("noncsd/selfsigned")
        .allow_non_csd()
        .seal(&mut sealed)
        .unwrap_or_else(|e| panic!("{e}"));
    let v = cfdi::verify(&sealed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.certificate_kind, CertificateKind::NotSat);
    assert!(v.rfc_matches_emisor);
    // a real CSD of another RFC: verify says the RFC differs
    let mut other = doc.clone();
    other.fecha = "2020-06-01T10:00:00".into();
    csd("csd/XIA190128J61")
        .seal(&mut other)
        .unwrap_or_else(|e| panic!("{e}"));
    let v = cfdi::verify(&other).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.certificate_kind, CertificateKind::Csd);
    assert_eq!(v.certificate_rfc, "XIA190128J61");
    assert!(!v.rfc_matches_emisor);
}

#[test]
fn oversized_and_deep_input_are_typed_errors() {
    // 33 MiB attribute against the 32 MiB default: refused before parsing
    let text = sample_text();
    let big = text.replacen(
        "<cfdi:Comprobante ",
        &format!("<cfdi:Comprobante a=\"{}\" ", "x".repeat(33 << 20)),
        1,
    );
    match cfdi::parse(big.as_bytes()) {
        Err(Error::TooLarge { size, limit }) => {
            assert_eq!((size, limit), (big.len(), 32 << 20));
        }
        other => panic!("{other:?}"),
    }
    // configurable
    let small = Limits::default().with_max_input_bytes(text.len() - 1);
    assert!(matches!(
        cfdi::parse_with_limits(text.as_bytes(), &small),
        Err(Error::TooLarge { .. })
    ));
    assert!(cfdi::parse_with_limits(text.as_bytes(), &Limits::default()).is_ok());
    // 1,000,000 levels inside an addenda (7 MB): depth error at the first level too deep
    let n = 1_000_000;
    let deep = text.replacen(
        "</cfdi:Comprobante>",
        &format!(
            "<cfdi:Addenda>{}{}</cfdi:Addenda></cfdi:Comprobante>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        ),
        1,
    );
    match cfdi::parse(deep.as_bytes()) {
        Err(e @ Error::TooDeep { position, limit }) => {
            assert_eq!(limit, 128);
            let addenda = deep.find("<cfdi:Addenda>").unwrap_or_default();
            // Comprobante 1, Addenda 2, the first <a> 3: the 126th <a> is level 128, the 127th
            // too deep
            assert_eq!(
                position as usize,
                addenda + "<cfdi:Addenda>".len() + 126 * 3
            );
            assert_eq!(e.kind(), ErrorKind::Xml);
            assert!(e.to_string().contains(&format!("at byte {position}")));
        }
        other => panic!("{other:?}"),
    }
    let shallow = Limits::default().with_max_depth(3);
    let one = text.replacen(
        "</cfdi:Comprobante>",
        "<cfdi:Addenda><a><b/></a></cfdi:Addenda></cfdi:Comprobante>",
        1,
    );
    assert!(matches!(
        cfdi::parse_with_limits(one.as_bytes(), &shallow),
        Err(Error::TooDeep { limit: 3, .. })
    ));
    assert!(cfdi::parse_with_limits(one.as_bytes(), &Limits::default().with_max_depth(4)).is_ok());
}

#[test]
fn messages_name_the_real_problem() {
    let text = sample_text();
    // a duplicated attribute is a duplicate, not an unknown attribute
    let dup = text.replacen(
        "<cfdi:Comprobante ",
        "<cfdi:Comprobante Serie=\"A\" Serie=\"B\" ",
        1,
    );
    match cfdi::parse(dup.as_bytes()) {
        Err(Error::DuplicateAttribute { element, attribute }) => {
            assert_eq!(
                (element.as_str(), attribute.as_str()),
                ("Comprobante", "Serie")
            );
        }
        other => panic!("{other:?}"),
    }
    let dup = text.replacen("Moneda=\"MXN\"", "Moneda=\"MXN\" Moneda=\"USD\"", 1);
    assert!(matches!(
        cfdi::parse(dup.as_bytes()),
        Err(Error::DuplicateAttribute { attribute, .. }) if attribute == "Moneda"
    ));
    // a second xsi:schemaLocation
    let dup = text.replacen(
        "Version=\"4.0\"",
        "Version=\"4.0\" xsi:schemaLocation=\"a b\"",
        1,
    );
    assert!(cfdi::parse(dup.as_bytes()).is_err());
    let unknown = text.replacen("<cfdi:Comprobante ", "<cfdi:Comprobante Foo=\"A\" ", 1);
    assert!(matches!(
        cfdi::parse(unknown.as_bytes()),
        Err(Error::UnexpectedAttribute { .. })
    ));
    // UTF-16 is called UTF-16
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let e = cfdi::parse(&utf16)
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert!(
        e.to_string()
            .contains("input is UTF-16; CFDI must be UTF-8"),
        "{e}"
    );
    // a missing file names the path
    let missing = fixture("csd/no-such.cer");
    let e = Certificate::from_file(&missing)
        .err()
        .unwrap_or_else(|| panic!("read"));
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    assert!(matches!(e, Error::File { .. }));
    let e = Csd::from_files(fixture("csd/EKU9003173C9.cer"), &missing, &password())
        .err()
        .unwrap_or_else(|| panic!("read"));
    assert!(e.to_string().contains("no-such.cer"), "{e}");
}

#[test]
fn schema_facets_are_checked() {
    let text = sample_text();
    let doc = cfdi::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let xsd = |d: &cfdi::Comprobante| {
        cfdi::validate::validate(d)
            .into_iter()
            .filter(|f| f.code == "CFDI-XSD")
            .collect::<Vec<_>>()
    };
    assert!(xsd(&doc).is_empty(), "{:?}", xsd(&doc));
    // a 36-character Serie: cfdv40.xsd says maxLength 25
    let mut long = doc.clone();
    long.serie = Some("S".repeat(36));
    let f = xsd(&long);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].path, "/Comprobante/@Serie");
    assert_eq!(f[0].severity, cfdi::validate::Severity::Error);
    assert!(
        f[0].message.contains("length 36 exceeds maxLength 25"),
        "{}",
        f[0].message
    );
    // pattern: a '|' in a Descripcion; exact length: NoCertificado
    let mut bad = doc.clone();
    bad.conceptos[0].descripcion = "a|b".into();
    bad.no_certificado = "123".into();
    let paths: Vec<String> = xsd(&bad).into_iter().map(|f| f.path).collect();
    assert_eq!(
        paths,
        [
            "/Comprobante/@NoCertificado",
            "/Comprobante/Conceptos/Concepto[1]/@Descripcion"
        ]
    );
}

#[test]
fn decimal_is_re_exported() {
    let doc = cfdi::parse(sample_text().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let total: cfdi::Decimal = doc.total;
    assert!(total > cfdi::Decimal::ZERO);
}
