//! Documents signed by another signer (xades4j, Hacienda sandbox certificates; copied from
//! johann04/xades-signer-cr, Apache-2.0, see fixtures/real-signed/README.md): our verify gives
//! xmlsec1's verdict on each, checked against a live `xmlsec1 --verify --insecure` and against the
//! verdicts recorded in the README.

mod xades_util;

use cr_einvoice::xades::{self, SignatureErrorKind};
use xades_util::{XADES_ID_ATTRS, fixture, path_str, read_fixture, run};

/// (file, xmlsec1's verdict recorded in the README: valid?, references it checks)
const DOCS: [(&str, bool); 5] = [
    ("johann04__factura-1-signed.xml", true),
    ("johann04__out-signed.xml", true),
    ("johann04__factura-firmada-old.xml", false),
    ("johann04__out-copy-signed.xml", false),
    (
        "johann04__comprobante-00100001010000000022-signed.xml",
        false,
    ),
];

fn xmlsec1_insecure(rel: &str) -> (bool, String) {
    let path = fixture(rel);
    let mut args = vec!["--verify", "--insecure"];
    args.extend_from_slice(&XADES_ID_ATTRS);
    args.push(path_str(&path));
    let out = run("xmlsec1", &args);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn our_verdict_is_xmlsec1s_on_every_real_document() {
    for (file, expected) in DOCS {
        let rel = format!("real-signed/{file}");
        let (xmlsec_ok, xmlsec_out) = xmlsec1_insecure(&rel);
        assert_eq!(
            xmlsec_ok, expected,
            "{file}: xmlsec1 now says\n{xmlsec_out}"
        );
        let ours = xades::verify(&read_fixture(&rel), None);
        match (&ours, expected) {
            (Ok(v), true) => assert_eq!(v.references(), 2, "{file}"),
            (Err(_), false) => {}
            _ => panic!("{file}: xmlsec1 {xmlsec_ok}, ours {ours:?}"),
        }
    }
}

#[test]
fn the_rejections_say_why() {
    let kind = |f: &str| {
        xades::verify(&read_fixture(&format!("real-signed/{f}")), None)
            .err()
            .map(|e| (e.kind(), e.to_string()))
    };
    // edited after signing: the document digest
    let (k, m) = kind("johann04__factura-firmada-old.xml").unwrap_or_else(|| panic!("accepted"));
    assert_eq!(k, SignatureErrorKind::Invalid, "{m}");
    assert!(m.contains("digest"), "{m}");
    // the SignedProperties digest
    let (k, m) = kind("johann04__out-copy-signed.xml").unwrap_or_else(|| panic!("accepted"));
    assert_eq!(k, SignatureErrorKind::Invalid, "{m}");
    assert!(m.contains("digest") && m.contains("signedprops"), "{m}");
    // ds:Signature after the root's end tag: not well-formed
    let (k, m) = kind("johann04__comprobante-00100001010000000022-signed.xml")
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(k, SignatureErrorKind::Document, "{m}");
}

#[test]
fn the_valid_ones_bind_their_certificate() {
    for f in ["johann04__factura-1-signed.xml", "johann04__out-signed.xml"] {
        let v = xades::verify(&read_fixture(&format!("real-signed/{f}")), None)
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            v.certificate()
                .issuer()
                .contains("MINISTERIO DE HACIENDA - SANDBOX"),
            "{f}: {}",
            v.certificate().issuer()
        );
    }
}
