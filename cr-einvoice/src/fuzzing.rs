//! Entry points for fuzz targets. Each must return normally for every input (never panic).

/// Parses any document and, when it parses, validates it and writes it back.
pub fn parse_document(data: &[u8]) {
    if let Ok(doc) = crate::parse::documento(data) {
        #[allow(unreachable_patterns)]
        match doc {
            crate::Documento::Comprobante(c) => {
                let _ = c.validate();
                let _ = c.to_xml();
                let mut c = *c;
                let _ = c.compute_totals();
            }
            crate::Documento::MensajeReceptor(m) => {
                let _ = m.to_xml();
            }
            _ => {}
        }
    }
}

/// Parses a received v4.3 FE / NC / ND and, when it parses, validates it.
pub fn parse_v43(data: &[u8]) {
    if let Ok(c) = crate::parse::v43::comprobante(data) {
        let _ = c.validate();
    }
}

/// Parses a MensajeHacienda.
pub fn parse_mensaje_hacienda(data: &[u8]) {
    let _ = crate::parse::mensaje_hacienda(data);
}

/// Parses a clave (and a consecutivo from the same bytes) from arbitrary bytes.
pub fn parse_clave(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = s.parse::<crate::Clave>() {
            let _ = c.check_revision(crate::SchemaRevision::V2024);
            let _ = c.emisor_sin_relleno();
        }
        let _ = s.parse::<crate::Consecutivo>();
    }
}

#[cfg(feature = "demo")]
/// A hostile document shape decoded from fuzz bytes: how deep, how wide, how long an attribute, and a
/// name. The fuzzer mutates a few bytes of recipe instead of megabytes of XML, so it reaches depth and size
/// cases that libFuzzer's input cap (`-max_len`) never would.
#[derive(Debug)]
struct Shape {
    depth: usize,
    width: usize,
    attr_len: usize,
    on_root: bool,
    name: String,
}

#[cfg(feature = "demo")]
impl Shape {
    fn decode(data: &[u8]) -> Self {
        let b = |i: usize| usize::from(data.get(i).copied().unwrap_or(0));
        let name: String = data
            .iter()
            .skip(8)
            .take(12)
            .map(|&c| char::from(c))
            .filter(char::is_ascii_alphanumeric)
            .collect();
        Self {
            // up to ~1,000,000 levels, 260,000 children, 4 MB or just over the size limit
            depth: (b(0) << 8 | b(1)) * 16,
            width: (b(2) << 8 | b(3)) * 4,
            attr_len: if b(4) == 0xFF {
                crate::Limits::DEFAULT.max_input_bytes() + 1
            } else {
                (b(5) << 8 | b(6)) * 64
            },
            on_root: b(7) & 1 == 1,
            name: if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                "a".into()
            } else {
                name
            },
        }
    }

    /// The content to nest inside `ds:Object` (or the document): `width` siblings then `depth` levels.
    fn content(&self) -> String {
        let n = &self.name;
        let mut s = String::new();
        for _ in 0..self.width {
            s.push('<');
            s.push_str(n);
            s.push_str(" Id=\"x\"/>");
        }
        for _ in 0..self.depth {
            s.push('<');
            s.push_str(n);
            s.push('>');
        }
        for _ in 0..self.depth {
            s.push_str("</");
            s.push_str(n);
            s.push('>');
        }
        s
    }
}

#[cfg(feature = "demo")]
/// A valid unsigned factura (built once).
fn base_fe() -> &'static str {
    static FE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FE.get_or_init(|| {
        let fecha = chrono::DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00")
            .unwrap_or_else(|_| chrono::DateTime::default());
        crate::demo::comprobante(
            crate::TipoDocumento::FacturaElectronica,
            crate::SchemaRevision::V2024,
            fecha,
            1,
        )
        .and_then(|d| d.to_xml())
        .map(|x| String::from_utf8_lossy(&x).into_owned())
        .unwrap_or_default()
    })
}

#[cfg(feature = "demo")]
/// Builds a factura with a `ds:Signature` skeleton whose `ds:Object` holds a hostile shape (deep, wide, long
/// attribute), and runs the parser, the verifier and the canonicalizer on it; each must return an error or a
/// value, never panic or exhaust the stack.
pub fn hostile_shapes(data: &[u8]) {
    let shape = Shape::decode(data);
    let fe = base_fe();
    let Some(end) = fe.rfind("</FacturaElectronica>") else {
        return;
    };
    let attr = "v".repeat(shape.attr_len);
    let signature = format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"s\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#x\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue>AA==</ds:SignatureValue><ds:Object{}>{}</ds:Object></ds:Signature>",
        if shape.on_root {
            String::new()
        } else {
            format!(" long=\"{attr}\"")
        },
        shape.content()
    );
    let mut doc = format!("{}{signature}{}", &fe[..end], &fe[end..]);
    if shape.on_root {
        doc = doc.replacen(
            "<FacturaElectronica ",
            &format!("<FacturaElectronica long=\"{attr}\" "),
            1,
        );
    }
    let _ = crate::parse::documento(doc.as_bytes());
    let _ = crate::xades::verify(doc.as_bytes(), None);
    let _ = crate::parse::mensaje_hacienda(doc.as_bytes());
}

#[cfg(feature = "demo")]
#[cfg(test)]
mod tests {
    use super::{Shape, base_fe, hostile_shapes};

    #[test]
    fn the_base_document_parses_and_shapes_decode() {
        assert!(crate::parse::documento(base_fe().as_bytes()).is_ok());
        let s = Shape::decode(&[0x10, 0, 0, 2, 0, 0, 1, 1, b'x', b'1']);
        assert_eq!(
            (s.depth, s.width, s.attr_len, s.on_root),
            (65_536, 8, 64, true)
        );
        assert_eq!(s.name, "x1");
        // deep, wide and long at once: typed errors, no panic
        hostile_shapes(&[0xFF, 0xFF, 0x01, 0x00, 0xFF, 0, 0, 0]);
    }
}
