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

/// A minimal CFDI with `{attr}` on the root, `{complemento}` and `{addenda}` placeholders.
const BASE: &str = concat!(
    r#"<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" "#,
    r#"Fecha="2026-01-01T00:00:00" Sello="" NoCertificado="" Certificado="" SubTotal="1" "#,
    r#"Moneda="MXN" Total="1" TipoDeComprobante="I" Exportacion="01" LugarExpedicion="01000"{attr}>"#,
    r#"<cfdi:Emisor Rfc="EKU9003173C9" Nombre="X" RegimenFiscal="601"/>"#,
    r#"<cfdi:Receptor Rfc="XAXX010101000" Nombre="X" DomicilioFiscalReceptor="01000" "#,
    r#"RegimenFiscalReceptor="616" UsoCFDI="S01"/><cfdi:Conceptos><cfdi:Concepto "#,
    r#"ClaveProdServ="01010101" Cantidad="1" ClaveUnidad="H87" Descripcion="x" ValorUnitario="1" "#,
    r#"Importe="1" ObjetoImp="01"/></cfdi:Conceptos>{complemento}{addenda}</cfdi:Comprobante>"#,
);

/// Builds a CFDI with a hostile shape decoded from a few fuzz bytes (nesting up to ~1,000,000 levels in a
/// complement or the addenda, up to 260,000 children, an attribute of up to 4 MB or just over the size
/// limit) and parses, validates and computes its cadena: typed errors, never a panic or a stack overflow.
/// Mutating a small recipe reaches the depth and size cases libFuzzer's input cap never would.
pub fn hostile_shapes(data: &[u8]) {
    let b = |i: usize| usize::from(data.get(i).copied().unwrap_or(0));
    let depth = (b(0) << 8 | b(1)) * 16;
    let width = (b(2) << 8 | b(3)) * 4;
    let attr_len = if b(4) == 0xFF {
        crate::Limits::DEFAULT.max_input_bytes() + 1
    } else {
        (b(5) << 8 | b(6)) * 64
    };
    let in_complement = b(7) & 1 == 1;
    let name = if b(7) & 2 == 2 { "i:x" } else { "a" };
    let mut inner = String::new();
    for _ in 0..width {
        inner.push('<');
        inner.push_str(name);
        inner.push_str("/>");
    }
    for _ in 0..depth {
        inner.push('<');
        inner.push_str(name);
        inner.push('>');
    }
    for _ in 0..depth {
        inner.push_str("</");
        inner.push_str(name);
        inner.push('>');
    }
    let (complemento, addenda) = if in_complement {
        (
            format!(
                "<cfdi:Complemento><i:ImpuestosLocales xmlns:i=\"http://www.sat.gob.mx/implocal\" \
                 version=\"1.0\">{inner}</i:ImpuestosLocales></cfdi:Complemento>"
            ),
            String::new(),
        )
    } else {
        (
            String::new(),
            format!("<cfdi:Addenda xmlns:i=\"urn:x\">{inner}</cfdi:Addenda>"),
        )
    };
    let attr = if attr_len > 0 {
        format!(" CondicionesDePago=\"{}\"", "v".repeat(attr_len))
    } else {
        String::new()
    };
    let doc = BASE
        .replace("{attr}", &attr)
        .replace("{complemento}", &complemento)
        .replace("{addenda}", &addenda);
    if let Ok(c) = crate::parse(doc.as_bytes()) {
        let _ = crate::cadena_original(&c);
        let _ = crate::validate::validate(&c);
        let _ = crate::to_xml(&c);
    }
}

/// The generated complement programs (for the oracle tests' instance generator).
pub use crate::cadena::program::{
    Complement, Cond, Op, Step, Template, Value, complements, template,
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_base_document_parses_and_hostile_shapes_return() {
        let plain = super::BASE
            .replace("{attr}", "")
            .replace("{complemento}", "")
            .replace("{addenda}", "");
        assert!(crate::parse(plain.as_bytes()).is_ok());
        super::hostile_shapes(&[0xFF, 0xFF, 0x01, 0x00, 0xFF, 0, 0, 3]);
        super::hostile_shapes(&[0, 7, 0, 2, 0, 1, 0, 1]);
    }
}
