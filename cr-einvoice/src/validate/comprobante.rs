//! Document-level rules of a comprobante: clave, consecutivo, header fields, otros cargos.

use super::{Report, Rule, V};
use super::{referencias::referencias, resumen::resumen};
use crate::clave::Clave;
use crate::codes;
use crate::model::{Comprobante, Identificacion};
use crate::revision::SchemaRevision;
use crate::shape::shape;
use crate::tipo::TipoDocumento;

/// The clave against the schema revision (`v.rev`) and the Costa Rica date of `FechaEmision`
/// (shared with the v4.3 rules).
pub(super) fn check_clave(
    v: &mut V<'_>,
    clave: &Clave,
    fecha: &chrono::DateTime<chrono::FixedOffset>,
) {
    if let Err(e) = clave.check_revision(v.rev) {
        v.r.err(Rule::ClaveRevision, "Clave", e.to_string());
    }
    let cr = Clave::fecha_de(fecha);
    if clave.fecha() != cr {
        v.r.err(
            Rule::ClaveFecha,
            "Clave",
            format!(
                "clave date {} differs from FechaEmision's Costa Rica date {cr}",
                clave.fecha()
            ),
        );
    }
}

/// The clave's cédula against the issuer's `Identificacion/Numero` (zero-padded to 12), the issuer
/// being `Emisor` or, in a FEC, `Receptor` (shared with the v4.3 rules).
pub(super) fn check_clave_emisor(
    v: &mut V<'_>,
    clave: &Clave,
    issuer_path: &str,
    id: &Identificacion,
) {
    let padded = format!("{:0>12}", id.numero);
    if padded != clave.emisor() {
        v.r.err(
            Rule::ClaveEmisor,
            "Clave",
            format!(
                "clave cédula {} differs from {issuer_path}/Identificacion/Numero {}",
                clave.emisor(),
                id.numero
            ),
        );
    }
}

/// Validates a comprobante.
pub fn comprobante(doc: &Comprobante) -> Report {
    let tipo = doc.tipo();
    let s = shape(tipo);
    let mut v = V {
        r: Report::default(),
        rev: doc.revision,
        tipo,
        s,
        _doc: std::marker::PhantomData,
    };
    if tipo.is_mensaje_receptor() {
        v.r.err(
            Rule::ConsecutivoTipo,
            "NumeroConsecutivo",
            format!(
                "tipo {} is a mensaje receptor, not a comprobante",
                tipo.code()
            ),
        );
        return v.r;
    }
    check_clave(&mut v, &doc.clave, &doc.fecha_emision);
    if doc.revision < SchemaRevision::in_force_at(&doc.fecha_emision) {
        v.r.warn(
            Rule::RevisionDate,
            "FechaEmision",
            format!(
                "the {} revision is in force at this date",
                SchemaRevision::in_force_at(&doc.fecha_emision)
            ),
        );
    }
    // In a FEC the buyer (Receptor) issues the document and its cédula goes into the clave.
    let (issuer_path, issuer) = if tipo == TipoDocumento::FacturaElectronicaCompra {
        (
            "Receptor",
            doc.receptor
                .as_ref()
                .and_then(|r| r.identificacion.as_ref()),
        )
    } else {
        ("Emisor", doc.emisor.identificacion.as_ref())
    };
    if let Some(id) = issuer {
        check_clave_emisor(&mut v, &doc.clave, issuer_path, id);
    }
    v.chars("ProveedorSistemas", &doc.proveedor_sistemas);
    v.occ(
        "CodigoActividadEmisor",
        s.codigo_actividad_emisor,
        doc.codigo_actividad_emisor.is_some(),
    );
    v.occ(
        "CodigoActividadReceptor",
        s.codigo_actividad_receptor,
        doc.codigo_actividad_receptor.is_some(),
    );
    for (name, c) in [
        ("CodigoActividadEmisor", &doc.codigo_actividad_emisor),
        ("CodigoActividadReceptor", &doc.codigo_actividad_receptor),
    ] {
        if let Some(c) = c {
            v.chars(name, c);
        }
    }
    v.parte("Emisor", &doc.emisor, true);
    v.occ("Receptor", s.receptor, doc.receptor.is_some());
    if let Some(r) = &doc.receptor {
        v.parte("Receptor", r, false);
    }
    if tipo == TipoDocumento::ReciboElectronicoPago {
        v.code(
            "CondicionVenta",
            &doc.condicion_venta,
            &codes::CONDICIONES_VENTA_REP,
        );
    } else {
        v.code(
            "CondicionVenta",
            &doc.condicion_venta,
            &codes::CONDICIONES_VENTA,
        );
    }
    v.not_allowed(
        "CondicionVentaOtros",
        !s.condicion_extra && doc.condicion_venta_otros.is_some(),
    );
    v.opt_chars("CondicionVentaOtros", doc.condicion_venta_otros.as_deref());
    v.otro(
        "CondicionVentaOtros",
        Some(&doc.condicion_venta),
        doc.condicion_venta_otros.as_deref(),
    );
    if doc.condicion_venta == codes::CONDICION_CREDITO && doc.plazo_credito.is_none() {
        v.r.err(
            Rule::Required,
            "PlazoCredito",
            "required for CondicionVenta 02 (crédito)",
        );
    }
    v.not_allowed(
        "PlazoCredito",
        !s.condicion_extra && doc.plazo_credito.is_some(),
    );
    if doc.plazo_credito.is_some_and(|p| p > 99_999) {
        v.r.err(Rule::Decimals, "PlazoCredito", "at most 5 digits");
    }
    v.count(
        "DetalleServicio/LineaDetalle",
        doc.lineas.len(),
        usize::from(s.detalle_required),
        1000,
    );
    for (i, l) in doc.lineas.iter().enumerate() {
        v.linea(i, l);
    }
    v.not_allowed(
        "OtrosCargos",
        !s.otros_cargos && !doc.otros_cargos.is_empty(),
    );
    v.count("OtrosCargos", doc.otros_cargos.len(), 0, 15);
    for c in &doc.otros_cargos {
        v.code(
            "OtrosCargos/TipoDocumentoOC",
            &c.tipo_documento,
            &codes::TIPOS_OTROS_CARGOS,
        );
        v.opt_chars(
            "OtrosCargos/TipoDocumentoOTROS",
            c.tipo_documento_otros.as_deref(),
        );
        v.otro(
            "OtrosCargos/TipoDocumentoOTROS",
            Some(&c.tipo_documento),
            c.tipo_documento_otros.as_deref(),
        );
        if let Some(id) = &c.identificacion_tercero {
            v.identificacion("OtrosCargos/IdentificacionTercero/Numero", id);
        }
        v.opt_chars("OtrosCargos/NombreTercero", c.nombre_tercero.as_deref());
        v.chars("OtrosCargos/Detalle", &c.detalle);
        if let Some(p) = c.porcentaje {
            v.dec("OtrosCargos/PorcentajeOC", p, 9, 5);
        }
        v.money("OtrosCargos/MontoCargo", c.monto);
    }
    resumen(&mut v, doc);
    referencias(&mut v, doc);
    v.not_allowed(
        "Otros",
        !(s.otros || doc.otros_texto.is_empty() && doc.otros_contenido.is_empty()),
    );
    for t in doc.otros_texto.iter().chain(&doc.otros_contenido) {
        v.chars("Otros", &t.texto);
    }
    super::facets::check(doc, &mut v.r);
    v.r
}
