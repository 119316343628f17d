//! `InformacionReferencia`: TipoDocIR and CodigoReferencia per revision and document type.

use super::{At, Rule, V};
use crate::codes;
use crate::model::Comprobante;
use crate::revision::SchemaRevision;
use crate::tipo::TipoDocumento;

pub(super) fn referencias(v: &mut V<'_>, doc: &Comprobante) {
    let s = v.s;
    v.count(
        "InformacionReferencia",
        doc.referencias.len(),
        s.referencias_min,
        10,
    );
    let rep = v.tipo == TipoDocumento::ReciboElectronicoPago;
    for (i, r) in doc.referencias.iter().enumerate() {
        let p = format!("InformacionReferencia[{}]", i + 1);
        let tipo_ok = codes::TIPOS_DOC_REFERENCIA_2024.contains(&r.tipo_doc.as_str())
            || (v.rev == SchemaRevision::V2026
                && codes::TIPOS_DOC_REFERENCIA_2026.contains(&r.tipo_doc.as_str()));
        if !tipo_ok {
            let why = if codes::TIPOS_DOC_REFERENCIA_2026.contains(&r.tipo_doc.as_str()) {
                "TipoDocIR 19 and 20 exist only from the 2026 revision"
            } else {
                "unknown TipoDocIR"
            };
            v.r.err(
                Rule::Referencia,
                format!("{p}/TipoDocIR"),
                format!("{:?}: {why}", r.tipo_doc),
            );
        }
        v.opt_chars(At(&p, "TipoDocRefOTRO"), r.tipo_doc_otro.as_deref());
        v.otro(
            At(&p, "TipoDocRefOTRO"),
            Some(&r.tipo_doc),
            r.tipo_doc_otro.as_deref(),
        );
        if s.referencia_numero_required && r.numero.is_none() {
            v.r.err(Rule::Required, format!("{p}/Numero"), "required in REP");
        }
        v.opt_chars(At(&p, "Numero"), r.numero.as_deref());
        if let Some(c) = &r.codigo {
            let c = c.as_str();
            let ok = codes::CODIGOS_REFERENCIA_2024.contains(&c)
                || (v.rev == SchemaRevision::V2026 && codes::CODIGOS_REFERENCIA_2026.contains(&c))
                || (v.rev == SchemaRevision::V2026 && rep && c == codes::CODIGO_REFERENCIA_PAGO);
            if !ok {
                let why = if codes::CODIGOS_REFERENCIA_2026.contains(&c) {
                    "CodigoReferencia 13–16 exist only from the 2026 revision"
                } else if c == codes::CODIGO_REFERENCIA_PAGO {
                    "CodigoReferencia 17 exists only in REP under the 2026 revision"
                } else {
                    "unknown CodigoReferencia"
                };
                v.r.err(
                    Rule::Referencia,
                    format!("{p}/Codigo"),
                    format!("{c:?}: {why}"),
                );
            }
        }
        v.opt_chars(At(&p, "CodigoReferenciaOTRO"), r.codigo_otro.as_deref());
        v.otro(
            At(&p, "CodigoReferenciaOTRO"),
            r.codigo.as_deref(),
            r.codigo_otro.as_deref(),
        );
        v.opt_chars(At(&p, "Razon"), r.razon.as_deref());
    }
}
