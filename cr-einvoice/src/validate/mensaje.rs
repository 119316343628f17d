//! Rules of a mensaje receptor.

use super::{Report, Rule, V};
use crate::codes;
use crate::model::MensajeReceptor;
use crate::revision::SchemaRevision;
use crate::shape::shape;
use crate::tipo::TipoDocumento;

/// Validates a mensaje receptor.
pub fn mensaje_receptor(msg: &MensajeReceptor) -> Report {
    let tipo = msg.mensaje.tipo_documento();
    let mut v = V {
        r: Report::default(),
        rev: msg.revision,
        tipo,
        s: shape(TipoDocumento::FacturaElectronica),
        _doc: std::marker::PhantomData,
    };
    if let Err(e) = msg.clave.check_revision(msg.revision) {
        v.r.err(Rule::ClaveRevision, "Clave", e.to_string());
    }
    if msg.numero_consecutivo_receptor.tipo() != tipo {
        v.r.err(
            Rule::ConsecutivoTipo,
            "NumeroConsecutivoReceptor",
            format!(
                "Mensaje {} requires tipo {}, found {}",
                msg.mensaje.code(),
                tipo.code(),
                msg.numero_consecutivo_receptor.tipo().code()
            ),
        );
    }
    let emisor_ok = match msg.revision {
        SchemaRevision::V2024 => {
            (9..=12).contains(&msg.numero_cedula_emisor.len())
                && msg.numero_cedula_emisor.bytes().all(|b| b.is_ascii_digit())
        }
        SchemaRevision::V2026 => {
            (1..=20).contains(&msg.numero_cedula_emisor.len())
                && msg
                    .numero_cedula_emisor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric())
        }
    };
    if !emisor_ok {
        v.r.err(
            Rule::Identificacion,
            "NumeroCedulaEmisor",
            "9–12 digits (2024) / ≤ 20 letters or digits (2026)",
        );
    }
    let padded = format!("{:0>12}", msg.numero_cedula_emisor);
    if padded != msg.clave.emisor() {
        v.r.err(
            Rule::ClaveEmisor,
            "NumeroCedulaEmisor",
            format!("differs from the clave's cédula {}", msg.clave.emisor()),
        );
    }
    let rec = &msg.numero_cedula_receptor;
    if !(9..=12).contains(&rec.len()) || !rec.bytes().all(|b| b.is_ascii_digit()) {
        v.r.err(
            Rule::Identificacion,
            "NumeroCedulaReceptor",
            "9–12 digits required (both revisions)",
        );
    }
    v.opt_chars("DetalleMensaje", msg.detalle_mensaje.as_deref());
    if let Some(c) = &msg.codigo_actividad {
        v.chars("CodigoActividad", c);
    }
    if let Some(c) = &msg.condicion_impuesto {
        v.code("CondicionImpuesto", c, &codes::CONDICIONES_IMPUESTO);
    }
    v.opt_money("MontoTotalImpuesto", msg.monto_total_impuesto);
    v.opt_money(
        "MontoTotalImpuestoAcreditar",
        msg.monto_total_impuesto_acreditar,
    );
    v.opt_money(
        "MontoTotalDeGastoAplicable",
        msg.monto_total_de_gasto_aplicable,
    );
    v.money("TotalFactura", msg.total_factura);
    super::facets::check_mensaje(msg, &mut v.r);
    v.r
}
