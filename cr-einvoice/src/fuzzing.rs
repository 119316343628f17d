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
