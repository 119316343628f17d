//! Our canonicalizer against libxml2: `xmllint --c14n` / `--exc-c14n` for whole documents and
//! `xmlsec1 --store-references` for subtrees in document context.

mod xades_util;

use cr_einvoice::c14n::{Algorithm, Canonicalizer, canonicalize, find_element_by_id};
use proptest::prelude::*;
use xades_util::{generate_doc, read_fixture, xmllint_c14n, xmlsec_subset_oracle};

const FIXTURES: [(&str, &str); 9] = [
    ("c14n/namespaces.xml", "inner"),
    ("c14n/text.xml", "urn:d:wrap"),
    ("c14n/exclusive.xml", "urn:soap:Body"),
    ("unsigned/FE_v4.4_minimal_unsigned.xml", ""),
    ("unsigned/FE_v4.4_10_lines_unsigned.xml", ""),
    ("signed/FE_v4.4_minimal_signed_signxml_testkey.xml", ""),
    ("signed/FE_v4.4_exc2ref_enveloped_xmlsec.xml", ""),
    ("signed/FE_v4.4_exc2ref_xpath_xmlsec.xml", ""),
    ("signed/FE_v4.4_exc2ref_filter2_xmlsec.xml", ""),
];

fn ours(xml: &[u8], alg: Algorithm) -> Vec<u8> {
    canonicalize(xml, alg).unwrap_or_else(|e| panic!("canonicalize: {e}"))
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check_whole(xml: &[u8]) {
    let inc = ours(xml, Algorithm::InclusiveWithComments);
    assert_eq!(show(&inc), show(&xmllint_c14n("--c14n", xml)), "inclusive");
    let exc = ours(xml, Algorithm::ExclusiveWithComments);
    assert_eq!(
        show(&exc),
        show(&xmllint_c14n("--exc-c14n", xml)),
        "exclusive"
    );
}

fn check_subset(xml: &[u8], id_node: &str) {
    for (alg, prefixes) in [
        (Algorithm::Inclusive, None),
        (Algorithm::Exclusive, None),
        (Algorithm::Exclusive, Some("#default a")),
    ] {
        let (doc, expected) = xmlsec_subset_oracle(xml, alg.uri(), prefixes, id_node);
        let apex = find_element_by_id(&doc, "target")
            .expect("scan")
            .expect("target element");
        let c = Canonicalizer::new(alg)
            .subtree_at(apex)
            .inclusive_prefixes(prefixes.unwrap_or_default().split_whitespace());
        let got = c.canonicalize(&doc).expect("canonicalize subtree");
        assert_eq!(
            show(&got),
            show(&expected),
            "{alg:?} {prefixes:?} subset of\n{}",
            show(&doc)
        );
    }
}

#[test]
fn whole_documents_match_xmllint() {
    for (f, _) in FIXTURES {
        let xml = read_fixture(f);
        check_whole(&xml);
    }
}

#[test]
fn without_comments_drops_only_comments() {
    let xml = read_fixture("c14n/text.xml");
    let out = show(&ours(&xml, Algorithm::Inclusive));
    assert!(!out.contains("<!--"));
    assert!(out.starts_with("<?app some   data ?>\n<doc"), "{out}");
    assert!(out.ends_with("</doc>\n<?trailing?>"), "{out}");
    let with = show(&ours(&xml, Algorithm::InclusiveWithComments));
    let stripped = with
        .replace("<!-- leading comment -->\n", "")
        .replace("\n<!-- trailing comment -->", "")
        .replace("<!-- inner comment -->", "");
    assert_eq!(out, stripped);
}

#[test]
fn subsets_match_xmlsec1() {
    for (f, id_node) in FIXTURES {
        if !id_node.is_empty() {
            check_subset(&read_fixture(f), id_node);
        }
    }
}

#[test]
fn rejects_bad_input_without_panicking() {
    for bad in [
        &b"<a><b></a>"[..],
        b"<a>&nbsp;</a>",
        b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
        b"<a x='1' x='2'/>",
        b"<p:a/>",
        b"<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>",
        b"\xff<a/>",
        b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
        b"<a/><b/>",
        b"text",
        b"",
        b"<a>",
        b"<a b='<'/>",
    ] {
        assert!(
            canonicalize(bad, Algorithm::Inclusive).is_err(),
            "{}",
            show(bad)
        );
    }
}

#[test]
fn duplicate_ids_are_rejected() {
    let xml = br#"<a><b Id="x"/><c Id="x"/></a>"#;
    assert!(find_element_by_id(xml, "x").is_err());
    assert_eq!(
        find_element_by_id(br#"<a><b Id="x"/></a>"#, "x"),
        Ok(Some(3))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn generated_documents_match_xmllint(seed in any::<u64>()) {
        let (doc, _) = generate_doc(seed);
        check_whole(doc.as_bytes());
    }

    #[test]
    fn generated_subsets_match_xmlsec1(seed in any::<u64>()) {
        let (doc, id_node) = generate_doc(seed);
        check_subset(doc.as_bytes(), &id_node);
    }
}
