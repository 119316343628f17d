//! Cadena original, computed natively in the field order of SAT's
//! `cadenaoriginal_4_0.xslt` (with `Pagos20.xslt`) and `cadenaoriginal_TFD_1_1.xslt`.
//!
//! Rules reproduced from the XSLT (`utilerias.xslt`): the output starts with `||` and ends with
//! `||`; each required attribute is emitted as `|value` (empty if missing), each optional attribute
//! only when present; values pass through `normalize-space()` (trim and collapse runs of
//! space/tab/CR/LF into one space). `Sello`, `Certificado`, the TimbreFiscalDigital and the Addenda
//! are not part of the cadena; `NoCertificado` is.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::*;

/// Computes the cadena original of a CFDI 4.0 comprobante.
///
/// # Errors
/// [`Error::UnsupportedComplement`] if the Complemento holds a complement other than Pagos 2.0,
/// the TimbreFiscalDigital, impuestos locales (`implocal`) and leyendas fiscales, or a concepto has
/// `ComplementoConcepto` content: SAT's XSLT would add fields for them that this crate does not
/// implement.
pub fn cadena_original(c: &Comprobante) -> Result<String> {
    let mut s = C {
        out: String::with_capacity(1024 + c.conceptos.len() * 200),
    };
    s.comprobante(c)?;
    Ok(s.out)
}

/// Computes the cadena original of a TimbreFiscalDigital 1.1 (what `SelloSAT` signs):
/// `||1.1|UUID|FechaTimbrado|RfcProvCertif|[Leyenda|]SelloCFD|NoCertificadoSAT||`.
pub fn cadena_tfd(t: &TimbreFiscalDigital) -> String {
    let mut s = C {
        out: String::with_capacity(800),
    };
    s.out.push('|');
    s.req(&t.version);
    s.req(&t.uuid);
    s.req(&t.fecha_timbrado);
    s.req(&t.rfc_prov_certif);
    s.opt(t.leyenda.as_deref());
    s.req(&t.sello_cfd);
    s.req(&t.no_certificado_sat);
    s.out.push_str("||");
    s.out
}

struct C {
    out: String,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Cadena layout of a simple complement: the root's attributes, then for each child group (in
/// this order, not document order) every child's attributes. `true` = Requerido.
struct RawSpec {
    namespace: &'static str,
    root: &'static str,
    attrs: &'static [(&'static str, bool)],
    groups: &'static [(&'static str, &'static [(&'static str, bool)])],
}

/// Complements whose XSLT is implemented: `implocal.xslt` (impuestos locales 1.0) and
/// `leyendasFisc.xslt` (leyendas fiscales 1.0).
const RAW_SPECS: &[RawSpec] = &[
    RawSpec {
        namespace: "http://www.sat.gob.mx/implocal",
        root: "ImpuestosLocales",
        attrs: &[
            ("version", true),
            ("TotaldeRetenciones", true),
            ("TotaldeTraslados", true),
        ],
        groups: &[
            (
                "RetencionesLocales",
                &[
                    ("ImpLocRetenido", true),
                    ("TasadeRetencion", true),
                    ("Importe", true),
                ],
            ),
            (
                "TrasladosLocales",
                &[
                    ("ImpLocTrasladado", true),
                    ("TasadeTraslado", true),
                    ("Importe", true),
                ],
            ),
        ],
    },
    RawSpec {
        namespace: "http://www.sat.gob.mx/leyendasFiscales",
        root: "LeyendasFiscales",
        attrs: &[("version", true)],
        groups: &[(
            "Leyenda",
            &[
                ("disposicionFiscal", false),
                ("norma", false),
                ("textoLeyenda", true),
            ],
        )],
    },
];

/// Attributes (local name, value) of a raw element and of its direct children in `ns`.
type RawTree = (Vec<(String, String)>, Vec<(String, Vec<(String, String)>)>);

fn raw_tree(xml: &str, ns: &str) -> Option<RawTree> {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::name::{Namespace, ResolveResult};
    fn attrs(s: &BytesStart<'_>) -> Option<Vec<(String, String)>> {
        let mut v = Vec::new();
        for a in s.attributes() {
            let a = a.ok()?;
            if a.key.as_namespace_binding().is_some() || a.key.prefix().is_some() {
                continue;
            }
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?;
            v.push((
                a.key.local_name().into_inner().to_string(),
                value.into_owned(),
            ));
        }
        Some(v)
    }
    let mut r = quick_xml::NsReader::from_str(xml);
    let mut root = None;
    let mut children = Vec::new();
    let mut depth = 0usize;
    loop {
        let (res, ev) = r.read_resolved_event().ok()?;
        let in_ns = matches!(res, ResolveResult::Bound(Namespace(n)) if n == ns);
        let (s, empty) = match ev {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if depth == 0 {
            root = Some(attrs(&s)?);
        } else if depth == 1 && in_ns {
            children.push((s.local_name().into_inner().to_string(), attrs(&s)?));
        }
        if !empty {
            depth += 1;
        }
    }
    Some((root?, children))
}

impl C {
    /// Cadena fields of a complement kept as raw XML, for the complements in [`RAW_SPECS`].
    fn raw_complement(&mut self, raw: &RawXml) -> Result<()> {
        let unsupported = || Error::UnsupportedComplement {
            namespace: raw.namespace().into(),
            local_name: raw.local_name().into(),
        };
        let spec = RAW_SPECS
            .iter()
            .find(|s| s.namespace == raw.namespace() && s.root == raw.local_name())
            .ok_or_else(unsupported)?;
        let (root, children) = raw_tree(raw.as_str(), spec.namespace).ok_or_else(unsupported)?;
        let get = |attrs: &[(String, String)], name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        for (name, required) in spec.attrs {
            match (get(&root, name), required) {
                (Some(v), _) => self.req(&v),
                (None, true) => self.req(""),
                (None, false) => {}
            }
        }
        for (group, attrs) in spec.groups {
            for (_, child) in children.iter().filter(|(n, _)| n == group) {
                for (name, required) in *attrs {
                    match (get(child, name), required) {
                        (Some(v), _) => self.req(&v),
                        (None, true) => self.req(""),
                        (None, false) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// `|` + normalize-space(v).
    fn req(&mut self, v: &str) {
        self.out.push('|');
        if !v.contains(['\t', '\r', '\n'])
            && !v.contains("  ")
            && !v.starts_with(' ')
            && !v.ends_with(' ')
        {
            self.out.push_str(v);
            return;
        }
        let mut first = true;
        for word in v.split(is_ws).filter(|w| !w.is_empty()) {
            if !first {
                self.out.push(' ');
            }
            self.out.push_str(word);
            first = false;
        }
    }

    fn opt(&mut self, v: Option<&str>) {
        if let Some(v) = v {
            self.req(v);
        }
    }

    fn dec(&mut self, v: &Decimal) {
        self.out.push('|');
        let _ = write!(self.out, "{v}");
    }

    fn opt_dec(&mut self, v: Option<&Decimal>) {
        if let Some(v) = v {
            self.dec(v);
        }
    }

    fn comprobante(&mut self, c: &Comprobante) -> Result<()> {
        self.out.push('|');
        self.req(&c.version);
        self.opt(c.serie.as_deref());
        self.opt(c.folio.as_deref());
        self.req(&c.fecha);
        self.opt(c.forma_pago.as_deref());
        self.req(&c.no_certificado);
        self.opt(c.condiciones_de_pago.as_deref());
        self.dec(&c.sub_total);
        self.opt_dec(c.descuento.as_ref());
        self.req(&c.moneda);
        self.opt_dec(c.tipo_cambio.as_ref());
        self.dec(&c.total);
        self.req(&c.tipo_de_comprobante);
        self.req(&c.exportacion);
        self.opt(c.metodo_pago.as_deref());
        self.req(&c.lugar_expedicion);
        self.opt(c.confirmacion.as_deref());
        if let Some(g) = &c.informacion_global {
            self.req(&g.periodicidad);
            self.req(&g.meses);
            self.req(&g.anio);
        }
        for r in &c.cfdi_relacionados {
            self.req(&r.tipo_relacion);
            for u in &r.uuids {
                self.req(u);
            }
        }
        let e = &c.emisor;
        self.req(&e.rfc);
        self.req(&e.nombre);
        self.req(&e.regimen_fiscal);
        self.opt(e.fac_atr_adquirente.as_deref());
        let r = &c.receptor;
        self.req(&r.rfc);
        self.req(&r.nombre);
        self.req(&r.domicilio_fiscal_receptor);
        self.opt(r.residencia_fiscal.as_deref());
        self.opt(r.num_reg_id_trib.as_deref());
        self.req(&r.regimen_fiscal_receptor);
        self.req(&r.uso_cfdi);
        for k in &c.conceptos {
            self.concepto(k)?;
        }
        if let Some(i) = &c.impuestos {
            for r in &i.retenciones {
                self.req(&r.impuesto);
                self.dec(&r.importe);
            }
            self.opt_dec(i.total_impuestos_retenidos.as_ref());
            for t in &i.traslados {
                self.traslado(t);
            }
            self.opt_dec(i.total_impuestos_trasladados.as_ref());
        }
        for item in c.complemento.iter().flatten() {
            match item {
                Complemento::Timbre(_) => {}
                Complemento::Pagos(p) => self.pagos(p),
                Complemento::Other(raw) => self.raw_complement(raw)?,
            }
        }
        self.out.push_str("||");
        Ok(())
    }

    fn traslado(&mut self, t: &Traslado) {
        self.dec(&t.base);
        self.req(&t.impuesto);
        self.req(&t.tipo_factor);
        self.opt_dec(t.tasa_o_cuota.as_ref());
        self.opt_dec(t.importe.as_ref());
    }

    fn concepto(&mut self, k: &Concepto) -> Result<()> {
        self.req(&k.clave_prod_serv);
        self.opt(k.no_identificacion.as_deref());
        self.dec(&k.cantidad);
        self.req(&k.clave_unidad);
        self.opt(k.unidad.as_deref());
        self.req(&k.descripcion);
        self.dec(&k.valor_unitario);
        self.dec(&k.importe);
        self.opt_dec(k.descuento.as_ref());
        self.req(&k.objeto_imp);
        if let Some(i) = &k.impuestos {
            for t in &i.traslados {
                self.traslado(t);
            }
            for r in &i.retenciones {
                self.dec(&r.base);
                self.req(&r.impuesto);
                self.req(&r.tipo_factor);
                self.dec(&r.tasa_o_cuota);
                self.dec(&r.importe);
            }
        }
        if let Some(t) = &k.a_cuenta_terceros {
            self.req(&t.rfc);
            self.req(&t.nombre);
            self.req(&t.regimen_fiscal);
            self.req(&t.domicilio_fiscal);
        }
        for n in &k.informacion_aduanera {
            self.req(n);
        }
        // The XSLT applies templates to the first CuentaPredial node set, i.e. every one.
        for n in &k.cuenta_predial {
            self.req(n);
        }
        if let Some(raw) = k.complemento_concepto.iter().flatten().next() {
            return Err(Error::UnsupportedComplement {
                namespace: raw.namespace().into(),
                local_name: raw.local_name().into(),
            });
        }
        for p in &k.partes {
            self.req(&p.clave_prod_serv);
            self.opt(p.no_identificacion.as_deref());
            self.dec(&p.cantidad);
            self.opt(p.unidad.as_deref());
            self.req(&p.descripcion);
            self.opt_dec(p.valor_unitario.as_ref());
            self.opt_dec(p.importe.as_ref());
            for n in &p.informacion_aduanera {
                self.req(n);
            }
        }
        Ok(())
    }

    fn pagos(&mut self, p: &Pagos) {
        self.req(&p.version);
        let t = &p.totales;
        self.opt_dec(t.total_retenciones_iva.as_ref());
        self.opt_dec(t.total_retenciones_isr.as_ref());
        self.opt_dec(t.total_retenciones_ieps.as_ref());
        self.opt_dec(t.total_traslados_base_iva16.as_ref());
        self.opt_dec(t.total_traslados_impuesto_iva16.as_ref());
        self.opt_dec(t.total_traslados_base_iva8.as_ref());
        self.opt_dec(t.total_traslados_impuesto_iva8.as_ref());
        self.opt_dec(t.total_traslados_base_iva0.as_ref());
        self.opt_dec(t.total_traslados_impuesto_iva0.as_ref());
        self.opt_dec(t.total_traslados_base_iva_exento.as_ref());
        self.dec(&t.monto_total_pagos);
        for pg in &p.pagos {
            self.req(&pg.fecha_pago);
            self.req(&pg.forma_de_pago_p);
            self.req(&pg.moneda_p);
            self.opt_dec(pg.tipo_cambio_p.as_ref());
            self.dec(&pg.monto);
            self.opt(pg.num_operacion.as_deref());
            self.opt(pg.rfc_emisor_cta_ord.as_deref());
            self.opt(pg.nom_banco_ord_ext.as_deref());
            self.opt(pg.cta_ordenante.as_deref());
            self.opt(pg.rfc_emisor_cta_ben.as_deref());
            self.opt(pg.cta_beneficiario.as_deref());
            self.opt(pg.tipo_cad_pago.as_deref());
            self.opt(pg.cert_pago.as_deref());
            self.opt(pg.cad_pago.as_deref());
            self.opt(pg.sello_pago.as_deref());
            for d in &pg.doctos_relacionados {
                self.req(&d.id_documento);
                self.opt(d.serie.as_deref());
                self.opt(d.folio.as_deref());
                self.req(&d.moneda_dr);
                self.opt_dec(d.equivalencia_dr.as_ref());
                self.req(&d.num_parcialidad);
                self.dec(&d.imp_saldo_ant);
                self.dec(&d.imp_pagado);
                self.dec(&d.imp_saldo_insoluto);
                self.req(&d.objeto_imp_dr);
                if let Some(i) = &d.impuestos_dr {
                    for r in &i.retenciones_dr {
                        self.dec(&r.base_dr);
                        self.req(&r.impuesto_dr);
                        self.req(&r.tipo_factor_dr);
                        // Required in the XSLT: emitted (possibly empty) even if absent.
                        match &r.tasa_o_cuota_dr {
                            Some(v) => self.dec(v),
                            None => self.req(""),
                        }
                        match &r.importe_dr {
                            Some(v) => self.dec(v),
                            None => self.req(""),
                        }
                    }
                    for t in &i.traslados_dr {
                        self.dec(&t.base_dr);
                        self.req(&t.impuesto_dr);
                        self.req(&t.tipo_factor_dr);
                        self.opt_dec(t.tasa_o_cuota_dr.as_ref());
                        self.opt_dec(t.importe_dr.as_ref());
                    }
                }
            }
            if let Some(i) = &pg.impuestos_p {
                for r in &i.retenciones_p {
                    self.req(&r.impuesto_p);
                    self.dec(&r.importe_p);
                }
                for t in &i.traslados_p {
                    self.dec(&t.base_p);
                    self.req(&t.impuesto_p);
                    self.req(&t.tipo_factor_p);
                    self.opt_dec(t.tasa_o_cuota_p.as_ref());
                    self.opt_dec(t.importe_p.as_ref());
                }
            }
        }
    }
}
