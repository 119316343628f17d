//! `xades:IssuerSerial/ds:X509IssuerName` in every RFC 4514 / 2253 form other signers write is
//! compared by meaning; the CertDigest stays the primary binding. Certificates made with
//! `fixtures/issuer-forms/make.sh` (the issuing CA's subject carries a serialNumber, like
//! Hacienda's production CA). Each variant is produced by signing with our signer, rewriting the
//! `X509IssuerName` (or CertDigest / serial), then recomputing the SignedProperties digest and the
//! signature value; xmlsec1 checks each rewritten document, so the harness itself is sound.

mod xades_util;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cr_einvoice::c14n::{self, Algorithm, Canonicalizer};
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions, SignatureError};
use cr_einvoice::{SchemaRevision, TipoDocumento, demo};
use secrecy::SecretString;
use xades_util::{XADES_ID_ATTRS, fixture, read_fixture, xmlsec_verify};

fn key() -> SigningKey {
    SigningKey::from_pkcs12(
        &read_fixture("issuer-forms/leaf.p12"),
        &SecretString::from("1234"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn rsa() -> RsaKeyPair {
    let pem = String::from_utf8(read_fixture("issuer-forms/leaf.key")).unwrap_or_default();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = B64.decode(body).unwrap_or_else(|e| panic!("{e}"));
    RsaKeyPair::from_pkcs8(&der).unwrap_or_else(|e| panic!("{e}"))
}

/// The documents: a factura and a MensajeHacienda, signed by our signer.
fn signed_documents() -> Vec<(&'static str, String)> {
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00")
        .unwrap_or_else(|e| panic!("{e}"));
    let fe = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha,
        3,
    )
    .and_then(|d| d.to_xml())
    .unwrap_or_else(|e| panic!("{e}"));
    let mh = read_fixture("mensaje-hacienda/rechazado_v4.4_unsigned.xml");
    let k = key();
    [("FE", fe), ("MensajeHacienda", mh)]
        .into_iter()
        .map(|(n, xml)| {
            let s = xades::sign(&xml, &k, &SignOptions::new()).unwrap_or_else(|e| panic!("{e}"));
            (n, String::from_utf8(s).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect()
}

/// Replaces the text of the first `<tag …>` … `</tag>` after `from`.
fn replace_text(xml: &mut String, from: usize, tag: &str, text: &str) {
    let open = format!("<{tag}");
    let at = from
        + xml[from..]
            .match_indices(&open)
            .find(|(i, _)| matches!(xml.as_bytes().get(from + i + open.len()), Some(b'>' | b' ')))
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no {tag}"));
    let start = at + xml[at..].find('>').unwrap_or_default() + 1;
    let end = start
        + xml[start..]
            .find('<')
            .unwrap_or_else(|| panic!("no </{tag}>"));
    xml.replace_range(start..end, text);
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rewrites SigningCertificate with `edit`, then re-signs: SignedProperties digest, SignatureValue.
fn rewrite(signed: &str, edit: impl FnOnce(&mut String)) -> String {
    let mut xml = signed.to_owned();
    edit(&mut xml);
    let sp = xml
        .find("<xades:SignedProperties")
        .unwrap_or_else(|| panic!("no SignedProperties"));
    let canon = Canonicalizer::new(Algorithm::Inclusive)
        .subtree_at(sp)
        .canonicalize(xml.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let d = B64.encode(digest::digest(&digest::SHA256, &canon));
    let r = xml
        .find(r##"URI="#SignedProperties-"##)
        .unwrap_or_else(|| panic!("no reference"));
    replace_text(&mut xml, r, "ds:DigestValue", &d);
    let si = xml
        .find("<ds:SignedInfo")
        .unwrap_or_else(|| panic!("no SignedInfo"));
    let canon = Canonicalizer::new(Algorithm::Inclusive)
        .subtree_at(si)
        .canonicalize(xml.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let kp = rsa();
    let mut sig = vec![0u8; kp.public_modulus_len()];
    kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &canon, &mut sig)
        .unwrap_or_else(|e| panic!("{e}"));
    replace_text(&mut xml, 0, "ds:SignatureValue", &B64.encode(sig));
    xml
}

fn with_issuer(signed: &str, name: &str) -> String {
    rewrite(signed, |x| {
        replace_text(x, 0, "ds:X509IssuerName", &escape(name))
    })
}

#[track_caller]
fn xmlsec_ok(xml: &str) {
    let (ok, out) = xmlsec_verify(
        xml.as_bytes(),
        &fixture("issuer-forms/leaf.pem"),
        &XADES_ID_ATTRS,
    );
    assert!(ok, "xmlsec1 rejected the rewritten document:\n{out}");
}

const ACCEPTED: [&str; 7] = [
    // openssl -nameopt RFC2253: no spaces, UTF-8 as \XX pairs
    r"CN=CA POL\C3\8DTICA PERSONA JUR\C3\8DDICA - PRUEBA,serialNumber=CPJ-4-000-004017,OU=DGT,O=MINISTERIO DE HACIENDA - PRUEBA,C=CR",
    // as on Hacienda's MensajeHacienda: ", " and the serialNumber as a dotted OID with its DER
    "CN=CA POLÍTICA PERSONA JURÍDICA - PRUEBA, 2.5.4.5=#131043504A2D342D3030302D303034303137, OU=DGT, O=MINISTERIO DE HACIENDA - PRUEBA, C=CR",
    // every attribute as a dotted OID with #hex DER
    "2.5.4.3=#0C27434120504F4CC38D5449434120504552534F4E41204A5552C38D44494341202D20505255454241, 2.5.4.5=#131043504A2D342D3030302D303034303137, 2.5.4.11=#0C03444754, 2.5.4.10=#0C1F4D494E4953544552494F2044452048414349454E4441202D20505255454241, 2.5.4.6=#13024352",
    // Java X500Principal / .NET style short name for serialNumber
    "CN=CA POLÍTICA PERSONA JURÍDICA - PRUEBA, SERIALNUMBER=CPJ-4-000-004017, OU=DGT, O=MINISTERIO DE HACIENDA - PRUEBA, C=CR",
    // certificate order, ';' separators, other case and spacing
    "c=cr; o=ministerio de hacienda - prueba; ou=dgt; serialnumber=cpj-4-000-004017; cn=ca política  persona jurídica - prueba",
    // RFC 1779 quotes and the OID. prefix
    r#"CN="CA POLÍTICA PERSONA JURÍDICA - PRUEBA", OID.2.5.4.5="CPJ-4-000-004017", OU=DGT, O="MINISTERIO DE HACIENDA - PRUEBA", C=CR"#,
    // our own writer's form, rewritten unchanged (the harness baseline)
    "",
];

#[test]
fn every_form_of_the_issuer_name_verifies() {
    for (doc, signed) in signed_documents() {
        let v = xades::verify(signed.as_bytes(), None).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert!(v.certificate().issuer().contains("2.5.4.5=#1310"), "{doc}");
        for name in ACCEPTED {
            let name = if name.is_empty() {
                v.certificate().issuer().to_owned()
            } else {
                name.to_owned()
            };
            let xml = with_issuer(&signed, &name);
            xmlsec_ok(&xml);
            if let Err(e) = xades::verify(xml.as_bytes(), None) {
                panic!("{doc}: {name:?} rejected: {e}");
            }
        }
    }
}

#[test]
fn another_issuer_or_serial_or_cert_digest_is_rejected() {
    for (doc, signed) in signed_documents() {
        let serial = key().certificate().serial_number().to_owned();
        let mut cases: Vec<(&str, String)> = vec![
            (
                "another CN",
                with_issuer(
                    &signed,
                    "CN=CA POLÍTICA PERSONA JURÍDICA - PRUEBA2, 2.5.4.5=#131043504A2D342D3030302D303034303137, OU=DGT, O=MINISTERIO DE HACIENDA - PRUEBA, C=CR",
                ),
            ),
            (
                "serialNumber RDN missing",
                with_issuer(
                    &signed,
                    "CN=CA POLÍTICA PERSONA JURÍDICA - PRUEBA, OU=DGT, O=MINISTERIO DE HACIENDA - PRUEBA, C=CR",
                ),
            ),
            (
                "another serialNumber value",
                with_issuer(
                    &signed,
                    "CN=CA POLÍTICA PERSONA JURÍDICA - PRUEBA, 2.5.4.5=#131043504A2D342D3030302D303034303138, OU=DGT, O=MINISTERIO DE HACIENDA - PRUEBA, C=CR",
                ),
            ),
            (
                "unreadable name",
                with_issuer(&signed, "CN=CA POLÍTICA, FOO=bar"),
            ),
            (
                "another X509SerialNumber",
                rewrite(&signed, |x| {
                    replace_text(x, 0, "ds:X509SerialNumber", &format!("{serial}1"));
                }),
            ),
        ];
        // the CertDigest of another certificate, IssuerSerial still right: the digest rules
        let other = B64.encode(digest::digest(&digest::SHA256, b"another certificate"));
        cases.push((
            "another CertDigest",
            rewrite(&signed, |x| {
                let cd = x.find("<xades:CertDigest>").unwrap_or_default();
                replace_text(x, cd, "ds:DigestValue", &other);
            }),
        ));
        for (what, xml) in cases {
            xmlsec_ok(&xml);
            match xades::verify(xml.as_bytes(), None) {
                Err(SignatureError::CertificateMismatch(m)) => {
                    assert!(
                        m.contains("IssuerSerial") || m.contains("CertDigest"),
                        "{m}"
                    );
                }
                other => panic!("{doc}, {what}: {other:?}"),
            }
        }
    }
}

#[test]
fn c14n_is_exposed_for_the_harness() {
    // the harness re-signs with the public canonicalizer; make sure it finds SignedProperties by id
    let (_, signed) = signed_documents().remove(0);
    let id_at = signed.find("SignedProperties-").unwrap_or_default();
    let id: String = signed[id_at..].chars().take_while(|c| *c != '"').collect();
    let at = c14n::find_element_by_id(signed.as_bytes(), &id).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(at, signed.find("<xades:SignedProperties"));
}
