//! The 15 peer samples: our cadena original is byte-equal to xsltproc's, and parse → write →
//! parse keeps the cadena.

use std::path::PathBuf;

fn samples() -> Vec<(String, Vec<u8>, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples");
    let mut v = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("samples dir") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "xml") {
            let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
            let xml = std::fs::read(&p).expect("read xml");
            let cadena = std::fs::read_to_string(dir.join(format!("{name}.cadena.txt")))
                .expect("read cadena");
            v.push((name, xml, cadena));
        }
    }
    v.sort();
    assert_eq!(v.len(), 15, "expected the 15 SAT samples");
    v
}

#[test]
fn cadena_matches_xsltproc_for_every_sample() {
    for (name, xml, expected) in samples() {
        let doc = cfdi::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cadena = cfdi::cadena_original(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cadena, expected, "{name}");
    }
}

#[test]
fn parse_write_parse_keeps_model_and_cadena() {
    for (name, xml, expected) in samples() {
        let doc = cfdi::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = cfdi::to_xml(&doc);
        let again =
            cfdi::parse(written.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{written}"));
        assert_eq!(again, doc, "{name}: model changed after write/parse");
        assert_eq!(
            cfdi::cadena_original(&again).expect("cadena"),
            expected,
            "{name}"
        );
        // Deterministic bytes.
        assert_eq!(cfdi::to_xml(&again), written, "{name}");
    }
}
