//! Entry points for the cargo-fuzz targets in `fuzz/`, and the generated complement cadena programs
//! for the oracle tests. Not part of the public API.
//! Each function must return normally for every input; a panic is a bug.

/// Parses arbitrary bytes; if they parse, writing and re-parsing must give the same model.
pub fn parse(data: &[u8]) {
    if let Ok(doc) = crate::parse(data) {
        let xml = crate::to_xml(&doc);
        match crate::parse(xml.as_bytes()) {
            Ok(again) => assert_eq!(again, doc, "parse -> write -> parse changed the model"),
            Err(e) => panic!("our own output does not parse: {e}\n{xml}"),
        }
    }
}

/// Parses arbitrary bytes and computes the cadena original (and the TFD cadena if stamped).
pub fn cadena(data: &[u8]) {
    if let Ok(doc) = crate::parse(data) {
        let _ = crate::cadena_original(&doc);
        if let Some(t) = doc.timbre() {
            let _ = crate::cadena_tfd(t);
        }
    }
}

/// Parses arbitrary bytes and verifies the seal.
pub fn verify(data: &[u8]) {
    if let Ok(doc) = crate::parse(data) {
        let _ = crate::verify(&doc);
    }
}

/// The generated complement programs (for the oracle tests' instance generator).
pub use crate::cadena::program::{
    Complement, Cond, Op, Step, Template, Value, complements, template,
};
