//! Deterministic XML writer.
//!
//! Output: `<?xml version="1.0" encoding="utf-8"?>` then the root element with exactly two
//! namespace declarations (`xmlns` = the document type's v4.4 namespace, `xmlns:ds` = XML-DSig),
//! children in the XSD's order, no whitespace between elements, no attributes elsewhere, text
//! escaped the way Canonical XML escapes it (`&amp;`, `&lt;`, `&gt;`, `&#xD;`). Amounts have
//! exactly 5 decimals, `Cantidad` 3, rates 2 (`FactorCalculoIVA` 4). The same model always
//! produces the same bytes. The document is unsigned: the XAdES signature goes after the last
//! child of the root.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use rust_decimal::Decimal;

use crate::c14n::escape::attr_escape;
use crate::model::{
    Comprobante, Identificacion, Impuesto, LineaDetalle, LineaDetalleSurtido, MensajeReceptor,
    Otro, Parte, ResumenFactura, Ubicacion,
};
use crate::shape::{Shape, shape};
use crate::tipo::{NS_DSIG, TipoDocumento};
use crate::validate::facets::Walk;
use crate::{Error, validate};

/// XML declaration written at the start of every document.
pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// Serializes a comprobante after checking it with [`validate::comprobante`]; any rule with
/// severity error makes this fail with [`Error::Invalid`].
pub fn comprobante(doc: &Comprobante) -> Result<Vec<u8>, Error> {
    let report = validate::comprobante(doc);
    if report.has_errors() {
        return Err(Error::Invalid(report));
    }
    Ok(comprobante_unchecked(doc).into_bytes())
}

/// Serializes a mensaje receptor after checking it with [`validate::mensaje_receptor`].
pub fn mensaje_receptor(msg: &MensajeReceptor) -> Result<Vec<u8>, Error> {
    let report = validate::mensaje_receptor(msg);
    if report.has_errors() {
        return Err(Error::Invalid(report));
    }
    let mut w = W::root(msg.mensaje.tipo_documento());
    mensaje_receptor_body(&mut w, msg);
    Ok(w.finish("MensajeReceptor").into_bytes())
}

fn mensaje_receptor_body(w: &mut W<'_>, msg: &MensajeReceptor) {
    w.leaf("Clave", msg.clave.as_str());
    w.leaf("NumeroCedulaEmisor", &msg.numero_cedula_emisor);
    w.date("FechaEmisionDoc", &msg.fecha_emision_doc);
    w.leaf("Mensaje", msg.mensaje.code());
    w.opt("DetalleMensaje", msg.detalle_mensaje.as_deref());
    w.opt_money("MontoTotalImpuesto", msg.monto_total_impuesto);
    w.opt("CodigoActividad", msg.codigo_actividad.as_deref());
    w.opt("CondicionImpuesto", msg.condicion_impuesto.as_deref());
    w.opt_money(
        "MontoTotalImpuestoAcreditar",
        msg.monto_total_impuesto_acreditar,
    );
    w.opt_money(
        "MontoTotalDeGastoAplicable",
        msg.monto_total_de_gasto_aplicable,
    );
    w.money("TotalFactura", msg.total_factura);
    w.leaf("NumeroCedulaReceptor", &msg.numero_cedula_receptor);
    w.leaf(
        "NumeroConsecutivoReceptor",
        &msg.numero_consecutivo_receptor.to_string(),
    );
}

/// Runs the writer over `msg` with `walk` attached (the facet check of `validate`).
pub(crate) fn mensaje_receptor_walk(msg: &MensajeReceptor, walk: &mut Walk) {
    let mut w = W::root(msg.mensaje.tipo_documento());
    w.walk = Some(walk);
    mensaje_receptor_body(&mut w, msg);
}

struct W<'a> {
    out: String,
    /// Set while `validate` checks the facets of what is written.
    walk: Option<&'a mut Walk>,
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

impl W<'_> {
    fn root(tipo: TipoDocumento) -> Self {
        let mut out = String::with_capacity(8 * 1024);
        out.push_str(XML_DECLARATION);
        out.push('<');
        out.push_str(tipo.root_element());
        out.push_str(" xmlns=\"");
        out.push_str(tipo.namespace());
        out.push_str("\" xmlns:ds=\"");
        out.push_str(NS_DSIG);
        out.push_str("\">");
        Self { out, walk: None }
    }
    fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        if let Some(w) = &mut self.walk {
            w.open(name, self.out.len());
        }
    }
    fn close(&mut self, name: &str) {
        if let Some(w) = &mut self.walk {
            w.close(&self.out);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name);
    }
    /// `<name codigo="…">text</name>`; the attribute value is escaped as C14N writes it, so that
    /// attribute-value normalization gives back the same string (tabs and newlines as references).
    fn otro(&mut self, name: &str, o: &Otro) {
        let Some(codigo) = &o.codigo else {
            return self.leaf(name, &o.texto);
        };
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" codigo=\"");
        for c in codigo.chars() {
            match u8::try_from(c).ok().and_then(attr_escape) {
                Some(rep) => self.out.push_str(rep),
                None => self.out.push(c),
            }
        }
        self.out.push_str("\">");
        if let Some(w) = &mut self.walk {
            w.open(name, self.out.len());
            w.attribute("codigo", codigo);
        }
        escape_into(&mut self.out, &o.texto);
        self.close(name);
    }
    fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, t);
        }
    }
    fn dec(&mut self, name: &str, d: Decimal, dp: u32) {
        let d = if d.is_zero() { Decimal::ZERO } else { d };
        self.open(name);
        if self.walk.as_ref().is_some_and(|w| !w.has_facet()) {
            // the facet check only needs the text of elements that have facets
            return self.close(name);
        }
        // writing into a String cannot fail. rust_decimal's fixed-precision formatting panics when
        // integer digits + precision exceed its buffer; only an invalid document (which `validate`
        // walks for its facet check) can hold such a value, so it is written as is.
        if d.abs() < Decimal::from(1_000_000_000_000_000_000_u64) {
            let _ = write!(self.out, "{:.*}", dp as usize, d);
        } else {
            let _ = write!(self.out, "{d}");
        }
        self.close(name);
    }
    fn int(&mut self, name: &str, n: impl std::fmt::Display) {
        self.open(name);
        let _ = write!(self.out, "{n}");
        self.close(name);
    }
    fn money(&mut self, name: &str, d: Decimal) {
        self.dec(name, d, 5);
    }
    fn opt_money(&mut self, name: &str, d: Option<Decimal>) {
        if let Some(d) = d {
            self.money(name, d);
        }
    }
    fn date(&mut self, name: &str, d: &DateTime<FixedOffset>) {
        self.leaf(name, &d.to_rfc3339_opts(SecondsFormat::AutoSi, false));
    }

    fn identificacion(&mut self, name: &str, id: &Identificacion) {
        self.open(name);
        self.leaf("Tipo", id.tipo.code());
        self.leaf("Numero", &id.numero);
        self.close(name);
    }

    fn ubicacion(&mut self, u: &Ubicacion) {
        self.open("Ubicacion");
        self.int("Provincia", u.provincia);
        self.open("Canton");
        let _ = write!(self.out, "{:02}", u.canton);
        self.close("Canton");
        self.open("Distrito");
        let _ = write!(self.out, "{:02}", u.distrito);
        self.close("Distrito");
        self.opt("Barrio", u.barrio.as_deref());
        self.leaf("OtrasSenas", &u.otras_senas);
        self.close("Ubicacion");
    }

    fn parte(&mut self, name: &str, p: &Parte, s: &Shape, emisor: bool) {
        self.open(name);
        self.leaf("Nombre", &p.nombre);
        if let Some(id) = &p.identificacion {
            self.identificacion("Identificacion", id);
        }
        if s.full_parties {
            if emisor {
                self.opt("Registrofiscal8707", p.registro_fiscal_8707.as_deref());
            }
            self.opt("NombreComercial", p.nombre_comercial.as_deref());
            let ubicacion_ok = if emisor {
                s.emisor_ubicacion.allowed()
            } else {
                s.receptor_ubicacion
            };
            if ubicacion_ok && let Some(u) = &p.ubicacion {
                self.ubicacion(u);
            }
            let ose = if emisor {
                s.emisor_otras_senas_extranjero
            } else {
                s.receptor_otras_senas_extranjero
            };
            if ose {
                self.opt("OtrasSenasExtranjero", p.otras_senas_extranjero.as_deref());
            }
            if let Some(t) = &p.telefono {
                self.open("Telefono");
                self.leaf("CodigoPais", &t.codigo_pais.to_string());
                self.leaf("NumTelefono", &t.numero.to_string());
                self.close("Telefono");
            }
        }
        for c in &p.correos {
            self.leaf("CorreoElectronico", c);
        }
        self.close(name);
    }

    fn impuesto(&mut self, i: &Impuesto, s: &Shape) {
        self.open("Impuesto");
        self.leaf("Codigo", &i.codigo);
        self.opt("CodigoImpuestoOTRO", i.codigo_impuesto_otro.as_deref());
        self.opt("CodigoTarifaIVA", i.codigo_tarifa_iva.as_deref());
        if let Some(t) = i.tarifa {
            self.dec("Tarifa", t, 2);
        }
        if let Some(f) = i.factor_calculo_iva {
            self.dec("FactorCalculoIVA", f, 4);
        }
        if s.datos_impuesto_especifico
            && let Some(d) = &i.datos_impuesto_especifico
        {
            self.open("DatosImpuestoEspecifico");
            self.dec("CantidadUnidadMedida", d.cantidad_unidad_medida, 2);
            if let Some(x) = d.porcentaje {
                self.dec("Porcentaje", x, 2);
            }
            if let Some(x) = d.proporcion {
                self.dec("Proporcion", x, 2);
            }
            if let Some(x) = d.volumen_unidad_consumo {
                self.dec("VolumenUnidadConsumo", x, 2);
            }
            self.money("ImpuestoUnidad", d.impuesto_unidad);
            self.close("DatosImpuestoEspecifico");
        }
        self.money("Monto", i.monto);
        if s.monto_exportacion {
            self.opt_money("MontoExportacion", i.monto_exportacion);
        }
        if s.exoneracion
            && let Some(e) = &i.exoneracion
        {
            self.open("Exoneracion");
            self.leaf("TipoDocumentoEX1", &e.tipo_documento);
            self.opt("TipoDocumentoOTRO", e.tipo_documento_otro.as_deref());
            self.leaf("NumeroDocumento", &e.numero_documento);
            if let Some(a) = e.articulo {
                self.leaf("Articulo", &a.to_string());
            }
            if let Some(a) = e.inciso {
                self.leaf("Inciso", &a.to_string());
            }
            self.leaf("NombreInstitucion", &e.nombre_institucion);
            self.opt(
                "NombreInstitucionOtros",
                e.nombre_institucion_otros.as_deref(),
            );
            self.date("FechaEmisionEX", &e.fecha_emision);
            self.dec("TarifaExonerada", e.tarifa_exonerada, 2);
            self.money("MontoExoneracion", e.monto);
            self.close("Exoneracion");
        }
        self.close("Impuesto");
    }

    fn surtido(&mut self, c: &LineaDetalleSurtido, s: &Shape) {
        let fee = !s.base_imponible;
        self.open("LineaDetalleSurtido");
        self.leaf("CodigoCABYSSurtido", &c.codigo_cabys);
        for k in &c.codigos_comerciales {
            self.open("CodigoComercialSurtido");
            self.leaf("TipoSurtido", &k.tipo);
            self.leaf("CodigoSurtido", &k.codigo);
            self.close("CodigoComercialSurtido");
        }
        self.dec("CantidadSurtido", c.cantidad, 3);
        self.leaf("UnidadMedidaSurtido", &c.unidad_medida);
        self.opt(
            "UnidadMedidaComercialSurtido",
            c.unidad_medida_comercial.as_deref(),
        );
        self.leaf("DetalleSurtido", &c.detalle);
        self.money("PrecioUnitarioSurtido", c.precio_unitario);
        self.money("MontoTotalSurtido", c.monto_total);
        for d in &c.descuentos {
            self.open("DescuentoSurtido");
            self.money("MontoDescuentoSurtido", d.monto);
            self.leaf("CodigoDescuentoSurtido", &d.codigo);
            self.opt("DescuentoSurtidoOtros", d.codigo_otro.as_deref());
            self.close("DescuentoSurtido");
        }
        self.money("SubTotalSurtido", c.sub_total);
        if !fee {
            self.opt("IVACobradoFabricaSurtido", c.iva_cobrado_fabrica.as_deref());
            self.money("BaseImponibleSurtido", c.base_imponible);
        }
        for i in &c.impuestos {
            self.open("ImpuestoSurtido");
            self.leaf("CodigoImpuestoSurtido", &i.codigo);
            self.opt(
                "CodigoImpuestoOTROSurtido",
                i.codigo_impuesto_otro.as_deref(),
            );
            self.opt("CodigoTarifaIVASurtido", i.codigo_tarifa_iva.as_deref());
            if let Some(t) = i.tarifa {
                self.dec("TarifaSurtido", t, 2);
            }
            if !fee && let Some(d) = &i.datos_impuesto_especifico {
                self.open("DatosImpuestoEspecificoSurtido");
                self.dec("CantidadUnidadMedidaSurtido", d.cantidad_unidad_medida, 2);
                if let Some(x) = d.porcentaje {
                    self.dec("PorcentajeSurtido", x, 2);
                }
                if let Some(x) = d.proporcion {
                    self.dec("ProporcionSurtido", x, 2);
                }
                if let Some(x) = d.volumen_unidad_consumo {
                    self.dec("VolumenUnidadConsumoSurtido", x, 2);
                }
                self.money("ImpuestoUnidadSurtido", d.impuesto_unidad);
                self.close("DatosImpuestoEspecificoSurtido");
            }
            self.money("MontoImpuestoSurtido", i.monto);
            self.close("ImpuestoSurtido");
        }
        self.close("LineaDetalleSurtido");
    }

    fn linea(&mut self, l: &LineaDetalle, s: &Shape) {
        self.open("LineaDetalle");
        self.int("NumeroLinea", l.numero_linea);
        if s.rep_line {
            self.leaf("Detalle", &l.detalle);
            self.money("MontoTotal", l.monto_total);
            self.money("SubTotal", l.sub_total);
            for i in &l.impuestos {
                self.impuesto(i, s);
            }
            self.money("ImpuestoNeto", l.impuesto_neto);
            self.money("MontoTotalLinea", l.monto_total_linea);
            self.close("LineaDetalle");
            return;
        }
        if s.partida_arancelaria {
            self.opt("PartidaArancelaria", l.partida_arancelaria.as_deref());
        }
        self.opt("CodigoCABYS", l.codigo_cabys.as_deref());
        for c in &l.codigos_comerciales {
            self.open("CodigoComercial");
            self.leaf("Tipo", &c.tipo);
            self.leaf("Codigo", &c.codigo);
            self.close("CodigoComercial");
        }
        self.dec("Cantidad", l.cantidad, 3);
        self.leaf("UnidadMedida", &l.unidad_medida);
        if s.tipo_transaccion {
            self.opt("TipoTransaccion", l.tipo_transaccion.as_deref());
        }
        self.opt(
            "UnidadMedidaComercial",
            l.unidad_medida_comercial.as_deref(),
        );
        self.leaf("Detalle", &l.detalle);
        for n in &l.numeros_vin_serie {
            self.leaf("NumeroVINoSerie", n);
        }
        self.opt("RegistroMedicamento", l.registro_medicamento.as_deref());
        self.opt("FormaFarmaceutica", l.forma_farmaceutica.as_deref());
        if s.surtido && !l.surtido.is_empty() {
            self.open("DetalleSurtido");
            for c in &l.surtido {
                self.surtido(c, s);
            }
            self.close("DetalleSurtido");
        }
        self.money("PrecioUnitario", l.precio_unitario);
        self.money("MontoTotal", l.monto_total);
        for d in &l.descuentos {
            self.open("Descuento");
            self.money("MontoDescuento", d.monto);
            self.leaf("CodigoDescuento", &d.codigo);
            self.opt("CodigoDescuentoOTRO", d.codigo_otro.as_deref());
            self.opt("NaturalezaDescuento", d.naturaleza.as_deref());
            self.close("Descuento");
        }
        self.money("SubTotal", l.sub_total);
        if s.iva_cobrado_fabrica {
            self.opt("IVACobradoFabrica", l.iva_cobrado_fabrica.as_deref());
        }
        if s.base_imponible {
            self.money("BaseImponible", l.base_imponible);
        }
        for i in &l.impuestos {
            self.impuesto(i, s);
        }
        if s.asumido.allowed() {
            self.opt_money(
                "ImpuestoAsumidoEmisorFabrica",
                l.impuesto_asumido_emisor_fabrica,
            );
        }
        if s.impuesto_neto {
            self.money("ImpuestoNeto", l.impuesto_neto);
        }
        self.money("MontoTotalLinea", l.monto_total_linea);
        self.close("LineaDetalle");
    }

    fn resumen(&mut self, r: &ResumenFactura, s: &Shape) {
        self.open("ResumenFactura");
        self.open("CodigoTipoMoneda");
        self.leaf("CodigoMoneda", &r.codigo_moneda);
        self.money("TipoCambio", r.tipo_cambio);
        self.close("CodigoTipoMoneda");
        if s.resumen_categorias {
            let xn = s.resumen_exonerado_no_sujeto;
            self.opt_money("TotalServGravados", r.total_serv_gravados);
            self.opt_money("TotalServExentos", r.total_serv_exentos);
            if xn {
                self.opt_money("TotalServExonerado", r.total_serv_exonerado);
                self.opt_money("TotalServNoSujeto", r.total_serv_no_sujeto);
            }
            self.opt_money("TotalMercanciasGravadas", r.total_merc_gravadas);
            self.opt_money("TotalMercanciasExentas", r.total_merc_exentas);
            if xn {
                self.opt_money("TotalMercExonerada", r.total_merc_exonerada);
                self.opt_money("TotalMercNoSujeta", r.total_merc_no_sujeta);
            }
            self.opt_money("TotalGravado", r.total_gravado);
            self.opt_money("TotalExento", r.total_exento);
            if xn {
                self.opt_money("TotalExonerado", r.total_exonerado);
                self.opt_money("TotalNoSujeto", r.total_no_sujeto);
            }
        }
        self.money("TotalVenta", r.total_venta);
        if s.total_descuentos {
            self.opt_money("TotalDescuentos", r.total_descuentos);
        }
        self.money("TotalVentaNeta", r.total_venta_neta);
        for d in &r.desglose_impuestos {
            self.open("TotalDesgloseImpuesto");
            self.leaf("Codigo", &d.codigo);
            self.opt("CodigoTarifaIVA", d.codigo_tarifa_iva.as_deref());
            self.money("TotalMontoImpuesto", d.total);
            self.close("TotalDesgloseImpuesto");
        }
        self.opt_money("TotalImpuesto", r.total_impuesto);
        if s.total_imp_asum {
            self.opt_money("TotalImpAsumEmisorFabrica", r.total_imp_asum_emisor_fabrica);
        }
        if s.total_iva_devuelto {
            self.opt_money("TotalIVADevuelto", r.total_iva_devuelto);
        }
        if s.total_otros_cargos {
            self.opt_money("TotalOtrosCargos", r.total_otros_cargos);
        }
        for m in &r.medios_pago {
            self.open("MedioPago");
            self.opt("TipoMedioPago", m.tipo.as_deref());
            self.opt("MedioPagoOtros", m.otros.as_deref());
            self.opt_money("TotalMedioPago", m.total);
            self.close("MedioPago");
        }
        self.money("TotalComprobante", r.total_comprobante);
        self.close("ResumenFactura");
    }
}

/// Serializes without validating. Only for documents already checked (the output may not be
/// schema-valid otherwise); elements the document type does not have are skipped.
pub(crate) fn comprobante_unchecked(doc: &Comprobante) -> String {
    let mut w = W::root(doc.tipo());
    comprobante_body(&mut w, doc);
    w.finish(doc.tipo().root_element())
}

/// Runs the writer over `doc` with `walk` attached (the facet check of `validate`).
pub(crate) fn comprobante_walk(doc: &Comprobante, walk: &mut Walk) {
    let mut w = W::root(doc.tipo());
    w.walk = Some(walk);
    comprobante_body(&mut w, doc);
}

fn comprobante_body(w: &mut W<'_>, doc: &Comprobante) {
    let tipo = doc.tipo();
    let s = shape(tipo);
    w.leaf("Clave", doc.clave.as_str());
    w.leaf("ProveedorSistemas", &doc.proveedor_sistemas);
    if s.codigo_actividad_emisor.allowed() {
        w.opt(
            "CodigoActividadEmisor",
            doc.codigo_actividad_emisor.as_deref(),
        );
    }
    if s.codigo_actividad_receptor.allowed() {
        w.opt(
            "CodigoActividadReceptor",
            doc.codigo_actividad_receptor.as_deref(),
        );
    }
    w.leaf("NumeroConsecutivo", &doc.consecutivo().to_string());
    w.date("FechaEmision", &doc.fecha_emision);
    w.parte("Emisor", &doc.emisor, &s, true);
    if let Some(r) = &doc.receptor {
        w.parte("Receptor", r, &s, false);
    }
    w.leaf("CondicionVenta", &doc.condicion_venta);
    if s.condicion_extra {
        w.opt("CondicionVentaOtros", doc.condicion_venta_otros.as_deref());
        if let Some(p) = doc.plazo_credito {
            w.leaf("PlazoCredito", &p.to_string());
        }
    }
    if !doc.lineas.is_empty() {
        w.open("DetalleServicio");
        for l in &doc.lineas {
            w.linea(l, &s);
        }
        w.close("DetalleServicio");
    }
    if s.otros_cargos {
        for c in &doc.otros_cargos {
            w.open("OtrosCargos");
            w.leaf("TipoDocumentoOC", &c.tipo_documento);
            w.opt("TipoDocumentoOTROS", c.tipo_documento_otros.as_deref());
            if let Some(id) = &c.identificacion_tercero {
                w.identificacion("IdentificacionTercero", id);
            }
            w.opt("NombreTercero", c.nombre_tercero.as_deref());
            w.leaf("Detalle", &c.detalle);
            if let Some(p) = c.porcentaje {
                w.money("PorcentajeOC", p);
            }
            w.money("MontoCargo", c.monto);
            w.close("OtrosCargos");
        }
    }
    w.resumen(&doc.resumen, &s);
    for r in &doc.referencias {
        w.open("InformacionReferencia");
        w.leaf("TipoDocIR", &r.tipo_doc);
        w.opt("TipoDocRefOTRO", r.tipo_doc_otro.as_deref());
        w.opt("Numero", r.numero.as_deref());
        w.date("FechaEmisionIR", &r.fecha_emision);
        w.opt("Codigo", r.codigo.as_deref());
        w.opt("CodigoReferenciaOTRO", r.codigo_otro.as_deref());
        w.opt("Razon", r.razon.as_deref());
        w.close("InformacionReferencia");
    }
    if s.otros && (!doc.otros_texto.is_empty() || !doc.otros_contenido.is_empty()) {
        w.open("Otros");
        for t in &doc.otros_texto {
            w.otro("OtroTexto", t);
        }
        for t in &doc.otros_contenido {
            w.otro("OtroContenido", t);
        }
        w.close("Otros");
    }
}
