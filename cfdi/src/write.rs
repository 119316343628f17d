//! Deterministic XML writer.
//!
//! Output: UTF-8 without BOM, `<?xml version="1.0" encoding="UTF-8"?>`, prefixes `cfdi`, `xsi`,
//! `pago20`, `tfd`, attributes in `cfdv40.xsd` order, empty elements self-closed, no indentation.
//! The same [`Comprobante`] always gives the same bytes.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use crate::model::*;

/// Serializes a comprobante to CFDI 4.0 XML text.
pub fn to_xml(c: &Comprobante) -> String {
    let mut w = W {
        out: String::with_capacity(2048 + c.conceptos.len() * 600),
    };
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.comprobante(c);
    w.out
}

/// Appends `s` escaped for a double-quoted attribute value.
pub(crate) fn escape_attr_into(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\t' => "&#9;",
            b'\n' => "&#10;",
            b'\r' => "&#13;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

struct W {
    out: String,
}

impl W {
    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
    }

    fn attr(&mut self, name: &str, v: &str) {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_attr_into(&mut self.out, v);
        self.out.push('"');
    }

    fn opt(&mut self, name: &str, v: Option<&String>) {
        if let Some(v) = v {
            self.attr(name, v);
        }
    }

    fn dec(&mut self, name: &str, v: &Decimal) {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        let _ = write!(self.out, "{v}");
        self.out.push('"');
    }

    fn opt_dec(&mut self, name: &str, v: Option<&Decimal>) {
        if let Some(v) = v {
            self.dec(name, v);
        }
    }

    fn empty(&mut self) {
        self.out.push_str("/>");
    }

    fn gt(&mut self) {
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn comprobante(&mut self, c: &Comprobante) {
        self.open("cfdi:Comprobante");
        self.attr("xmlns:cfdi", NS_CFDI);
        self.attr("xmlns:xsi", NS_XSI);
        let has_pagos = c.pagos().is_some();
        if has_pagos {
            self.attr("xmlns:pago20", NS_PAGOS20);
        }
        let mut sl = format!("{NS_CFDI} {SCHEMA_CFDI}");
        if has_pagos {
            let _ = write!(sl, " {NS_PAGOS20} {SCHEMA_PAGOS20}");
        }
        for (ns, loc) in &c.other_schema_locations {
            let _ = write!(sl, " {ns} {loc}");
        }
        self.attr("xsi:schemaLocation", &sl);
        self.attr("Version", &c.version);
        self.opt("Serie", c.serie.as_ref());
        self.opt("Folio", c.folio.as_ref());
        self.attr("Fecha", &c.fecha);
        self.attr("Sello", &c.sello);
        self.opt("FormaPago", c.forma_pago.as_ref());
        self.attr("NoCertificado", &c.no_certificado);
        self.attr("Certificado", &c.certificado);
        self.opt("CondicionesDePago", c.condiciones_de_pago.as_ref());
        self.dec("SubTotal", &c.sub_total);
        self.opt_dec("Descuento", c.descuento.as_ref());
        self.attr("Moneda", &c.moneda);
        self.opt_dec("TipoCambio", c.tipo_cambio.as_ref());
        self.dec("Total", &c.total);
        self.attr("TipoDeComprobante", &c.tipo_de_comprobante);
        self.attr("Exportacion", &c.exportacion);
        self.opt("MetodoPago", c.metodo_pago.as_ref());
        self.attr("LugarExpedicion", &c.lugar_expedicion);
        self.opt("Confirmacion", c.confirmacion.as_ref());
        self.gt();
        if let Some(g) = &c.informacion_global {
            self.open("cfdi:InformacionGlobal");
            self.attr("Periodicidad", &g.periodicidad);
            self.attr("Meses", &g.meses);
            self.attr("Año", &g.anio);
            self.empty();
        }
        for r in &c.cfdi_relacionados {
            self.open("cfdi:CfdiRelacionados");
            self.attr("TipoRelacion", &r.tipo_relacion);
            self.gt();
            for u in &r.uuids {
                self.open("cfdi:CfdiRelacionado");
                self.attr("UUID", u);
                self.empty();
            }
            self.close("cfdi:CfdiRelacionados");
        }
        let e = &c.emisor;
        self.open("cfdi:Emisor");
        self.attr("Rfc", &e.rfc);
        self.attr("Nombre", &e.nombre);
        self.attr("RegimenFiscal", &e.regimen_fiscal);
        self.opt("FacAtrAdquirente", e.fac_atr_adquirente.as_ref());
        self.empty();
        let r = &c.receptor;
        self.open("cfdi:Receptor");
        self.attr("Rfc", &r.rfc);
        self.attr("Nombre", &r.nombre);
        self.attr("DomicilioFiscalReceptor", &r.domicilio_fiscal_receptor);
        self.opt("ResidenciaFiscal", r.residencia_fiscal.as_ref());
        self.opt("NumRegIdTrib", r.num_reg_id_trib.as_ref());
        self.attr("RegimenFiscalReceptor", &r.regimen_fiscal_receptor);
        self.attr("UsoCFDI", &r.uso_cfdi);
        self.empty();
        self.out.push_str("<cfdi:Conceptos>");
        for k in &c.conceptos {
            self.concepto(k);
        }
        self.close("cfdi:Conceptos");
        if let Some(i) = &c.impuestos {
            self.impuestos(i);
        }
        if let Some(items) = &c.complemento {
            self.out.push_str("<cfdi:Complemento>");
            for item in items {
                match item {
                    Complemento::Pagos(p) => self.pagos(p),
                    Complemento::Timbre(t) => self.timbre(t),
                    Complemento::Other(raw) => self.out.push_str(raw.as_str()),
                }
            }
            self.close("cfdi:Complemento");
        }
        if let Some(items) = &c.addenda {
            self.out.push_str("<cfdi:Addenda>");
            for raw in items {
                self.out.push_str(raw.as_str());
            }
            self.close("cfdi:Addenda");
        }
        self.close("cfdi:Comprobante");
    }

    fn concepto(&mut self, k: &Concepto) {
        self.open("cfdi:Concepto");
        self.attr("ClaveProdServ", &k.clave_prod_serv);
        self.opt("NoIdentificacion", k.no_identificacion.as_ref());
        self.dec("Cantidad", &k.cantidad);
        self.attr("ClaveUnidad", &k.clave_unidad);
        self.opt("Unidad", k.unidad.as_ref());
        self.attr("Descripcion", &k.descripcion);
        self.dec("ValorUnitario", &k.valor_unitario);
        self.dec("Importe", &k.importe);
        self.opt_dec("Descuento", k.descuento.as_ref());
        self.attr("ObjetoImp", &k.objeto_imp);
        let has_children = k.impuestos.is_some()
            || k.a_cuenta_terceros.is_some()
            || !k.informacion_aduanera.is_empty()
            || !k.cuenta_predial.is_empty()
            || k.complemento_concepto.is_some()
            || !k.partes.is_empty();
        if !has_children {
            self.empty();
            return;
        }
        self.gt();
        if let Some(i) = &k.impuestos {
            if i.traslados.is_empty() && i.retenciones.is_empty() {
                self.out.push_str("<cfdi:Impuestos/>");
            } else {
                self.out.push_str("<cfdi:Impuestos>");
                if !i.traslados.is_empty() {
                    self.out.push_str("<cfdi:Traslados>");
                    for t in &i.traslados {
                        self.traslado(t);
                    }
                    self.close("cfdi:Traslados");
                }
                if !i.retenciones.is_empty() {
                    self.out.push_str("<cfdi:Retenciones>");
                    for r in &i.retenciones {
                        self.open("cfdi:Retencion");
                        self.dec("Base", &r.base);
                        self.attr("Impuesto", &r.impuesto);
                        self.attr("TipoFactor", &r.tipo_factor);
                        self.dec("TasaOCuota", &r.tasa_o_cuota);
                        self.dec("Importe", &r.importe);
                        self.empty();
                    }
                    self.close("cfdi:Retenciones");
                }
                self.close("cfdi:Impuestos");
            }
        }
        if let Some(t) = &k.a_cuenta_terceros {
            self.open("cfdi:ACuentaTerceros");
            self.attr("RfcACuentaTerceros", &t.rfc);
            self.attr("NombreACuentaTerceros", &t.nombre);
            self.attr("RegimenFiscalACuentaTerceros", &t.regimen_fiscal);
            self.attr("DomicilioFiscalACuentaTerceros", &t.domicilio_fiscal);
            self.empty();
        }
        for n in &k.informacion_aduanera {
            self.open("cfdi:InformacionAduanera");
            self.attr("NumeroPedimento", n);
            self.empty();
        }
        for n in &k.cuenta_predial {
            self.open("cfdi:CuentaPredial");
            self.attr("Numero", n);
            self.empty();
        }
        if let Some(items) = &k.complemento_concepto {
            self.out.push_str("<cfdi:ComplementoConcepto>");
            for raw in items {
                self.out.push_str(raw.as_str());
            }
            self.close("cfdi:ComplementoConcepto");
        }
        for p in &k.partes {
            self.open("cfdi:Parte");
            self.attr("ClaveProdServ", &p.clave_prod_serv);
            self.opt("NoIdentificacion", p.no_identificacion.as_ref());
            self.dec("Cantidad", &p.cantidad);
            self.opt("Unidad", p.unidad.as_ref());
            self.attr("Descripcion", &p.descripcion);
            self.opt_dec("ValorUnitario", p.valor_unitario.as_ref());
            self.opt_dec("Importe", p.importe.as_ref());
            if p.informacion_aduanera.is_empty() {
                self.empty();
            } else {
                self.gt();
                for n in &p.informacion_aduanera {
                    self.open("cfdi:InformacionAduanera");
                    self.attr("NumeroPedimento", n);
                    self.empty();
                }
                self.close("cfdi:Parte");
            }
        }
        self.close("cfdi:Concepto");
    }

    fn traslado(&mut self, t: &Traslado) {
        self.open("cfdi:Traslado");
        self.dec("Base", &t.base);
        self.attr("Impuesto", &t.impuesto);
        self.attr("TipoFactor", &t.tipo_factor);
        self.opt_dec("TasaOCuota", t.tasa_o_cuota.as_ref());
        self.opt_dec("Importe", t.importe.as_ref());
        self.empty();
    }

    fn impuestos(&mut self, i: &Impuestos) {
        self.open("cfdi:Impuestos");
        self.opt_dec(
            "TotalImpuestosRetenidos",
            i.total_impuestos_retenidos.as_ref(),
        );
        self.opt_dec(
            "TotalImpuestosTrasladados",
            i.total_impuestos_trasladados.as_ref(),
        );
        if i.retenciones.is_empty() && i.traslados.is_empty() {
            self.empty();
            return;
        }
        self.gt();
        if !i.retenciones.is_empty() {
            self.out.push_str("<cfdi:Retenciones>");
            for r in &i.retenciones {
                self.open("cfdi:Retencion");
                self.attr("Impuesto", &r.impuesto);
                self.dec("Importe", &r.importe);
                self.empty();
            }
            self.close("cfdi:Retenciones");
        }
        if !i.traslados.is_empty() {
            self.out.push_str("<cfdi:Traslados>");
            for t in &i.traslados {
                self.traslado(t);
            }
            self.close("cfdi:Traslados");
        }
        self.close("cfdi:Impuestos");
    }

    fn timbre(&mut self, t: &TimbreFiscalDigital) {
        self.open("tfd:TimbreFiscalDigital");
        self.attr("xmlns:tfd", NS_TFD);
        self.opt("xsi:schemaLocation", t.schema_location.as_ref());
        self.attr("Version", &t.version);
        self.attr("UUID", &t.uuid);
        self.attr("FechaTimbrado", &t.fecha_timbrado);
        self.attr("RfcProvCertif", &t.rfc_prov_certif);
        self.opt("Leyenda", t.leyenda.as_ref());
        self.attr("SelloCFD", &t.sello_cfd);
        self.attr("NoCertificadoSAT", &t.no_certificado_sat);
        self.attr("SelloSAT", &t.sello_sat);
        self.empty();
    }

    fn pagos(&mut self, p: &Pagos) {
        self.open("pago20:Pagos");
        self.attr("Version", &p.version);
        self.gt();
        let t = &p.totales;
        self.open("pago20:Totales");
        self.opt_dec("TotalRetencionesIVA", t.total_retenciones_iva.as_ref());
        self.opt_dec("TotalRetencionesISR", t.total_retenciones_isr.as_ref());
        self.opt_dec("TotalRetencionesIEPS", t.total_retenciones_ieps.as_ref());
        self.opt_dec(
            "TotalTrasladosBaseIVA16",
            t.total_traslados_base_iva16.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosImpuestoIVA16",
            t.total_traslados_impuesto_iva16.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosBaseIVA8",
            t.total_traslados_base_iva8.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosImpuestoIVA8",
            t.total_traslados_impuesto_iva8.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosBaseIVA0",
            t.total_traslados_base_iva0.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosImpuestoIVA0",
            t.total_traslados_impuesto_iva0.as_ref(),
        );
        self.opt_dec(
            "TotalTrasladosBaseIVAExento",
            t.total_traslados_base_iva_exento.as_ref(),
        );
        self.dec("MontoTotalPagos", &t.monto_total_pagos);
        self.empty();
        for pg in &p.pagos {
            self.pago(pg);
        }
        self.close("pago20:Pagos");
    }

    fn pago(&mut self, p: &Pago) {
        self.open("pago20:Pago");
        self.attr("FechaPago", &p.fecha_pago);
        self.attr("FormaDePagoP", &p.forma_de_pago_p);
        self.attr("MonedaP", &p.moneda_p);
        self.opt_dec("TipoCambioP", p.tipo_cambio_p.as_ref());
        self.dec("Monto", &p.monto);
        self.opt("NumOperacion", p.num_operacion.as_ref());
        self.opt("RfcEmisorCtaOrd", p.rfc_emisor_cta_ord.as_ref());
        self.opt("NomBancoOrdExt", p.nom_banco_ord_ext.as_ref());
        self.opt("CtaOrdenante", p.cta_ordenante.as_ref());
        self.opt("RfcEmisorCtaBen", p.rfc_emisor_cta_ben.as_ref());
        self.opt("CtaBeneficiario", p.cta_beneficiario.as_ref());
        self.opt("TipoCadPago", p.tipo_cad_pago.as_ref());
        self.opt("CertPago", p.cert_pago.as_ref());
        self.opt("CadPago", p.cad_pago.as_ref());
        self.opt("SelloPago", p.sello_pago.as_ref());
        self.gt();
        for d in &p.doctos_relacionados {
            self.open("pago20:DoctoRelacionado");
            self.attr("IdDocumento", &d.id_documento);
            self.opt("Serie", d.serie.as_ref());
            self.opt("Folio", d.folio.as_ref());
            self.attr("MonedaDR", &d.moneda_dr);
            self.opt_dec("EquivalenciaDR", d.equivalencia_dr.as_ref());
            self.attr("NumParcialidad", &d.num_parcialidad);
            self.dec("ImpSaldoAnt", &d.imp_saldo_ant);
            self.dec("ImpPagado", &d.imp_pagado);
            self.dec("ImpSaldoInsoluto", &d.imp_saldo_insoluto);
            self.attr("ObjetoImpDR", &d.objeto_imp_dr);
            match &d.impuestos_dr {
                None => self.empty(),
                Some(i) => {
                    self.gt();
                    if i.retenciones_dr.is_empty() && i.traslados_dr.is_empty() {
                        self.out.push_str("<pago20:ImpuestosDR/>");
                    } else {
                        self.out.push_str("<pago20:ImpuestosDR>");
                        self.impuestos_dr(
                            "pago20:RetencionesDR",
                            "pago20:RetencionDR",
                            &i.retenciones_dr,
                        );
                        self.impuestos_dr(
                            "pago20:TrasladosDR",
                            "pago20:TrasladoDR",
                            &i.traslados_dr,
                        );
                        self.close("pago20:ImpuestosDR");
                    }
                    self.close("pago20:DoctoRelacionado");
                }
            }
        }
        if let Some(i) = &p.impuestos_p {
            if i.retenciones_p.is_empty() && i.traslados_p.is_empty() {
                self.out.push_str("<pago20:ImpuestosP/>");
            } else {
                self.out.push_str("<pago20:ImpuestosP>");
                if !i.retenciones_p.is_empty() {
                    self.out.push_str("<pago20:RetencionesP>");
                    for r in &i.retenciones_p {
                        self.open("pago20:RetencionP");
                        self.attr("ImpuestoP", &r.impuesto_p);
                        self.dec("ImporteP", &r.importe_p);
                        self.empty();
                    }
                    self.close("pago20:RetencionesP");
                }
                if !i.traslados_p.is_empty() {
                    self.out.push_str("<pago20:TrasladosP>");
                    for t in &i.traslados_p {
                        self.open("pago20:TrasladoP");
                        self.dec("BaseP", &t.base_p);
                        self.attr("ImpuestoP", &t.impuesto_p);
                        self.attr("TipoFactorP", &t.tipo_factor_p);
                        self.opt_dec("TasaOCuotaP", t.tasa_o_cuota_p.as_ref());
                        self.opt_dec("ImporteP", t.importe_p.as_ref());
                        self.empty();
                    }
                    self.close("pago20:TrasladosP");
                }
                self.close("pago20:ImpuestosP");
            }
        }
        self.close("pago20:Pago");
    }

    fn impuestos_dr(&mut self, group: &str, item: &str, v: &[ImpuestoDr]) {
        if v.is_empty() {
            return;
        }
        self.open(group);
        self.gt();
        for t in v {
            self.open(item);
            self.dec("BaseDR", &t.base_dr);
            self.attr("ImpuestoDR", &t.impuesto_dr);
            self.attr("TipoFactorDR", &t.tipo_factor_dr);
            self.opt_dec("TasaOCuotaDR", t.tasa_o_cuota_dr.as_ref());
            self.opt_dec("ImporteDR", t.importe_dr.as_ref());
            self.empty();
        }
        self.close(group);
    }
}
