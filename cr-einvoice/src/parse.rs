//! Strict XML parser for v4.4 documents and Hacienda's MensajeHacienda; a received v4.3 FE, NC or ND
//! is read by [`v43`].
//!
//! * input must be UTF-8; `<!DOCTYPE>` and entity references other than the five predefined ones
//!   are rejected (no DTD processing, no entity expansion);
//! * the root element's namespace URI must be the v4.4 namespace of its document type, and every
//!   element except the trailing `ds:Signature` subtrees must be in that namespace;
//! * children must appear in the XSD's order; unknown elements are errors, never skipped;
//! * amounts with more decimals than the schema allows are errors;
//! * `NumeroConsecutivo` must equal the consecutivo inside the clave, and its tipo must match the
//!   root element ("El tipo de documento no corresponde"); [`v43`] applies the same check.
//!
//! Signatures are not verified here (see [`crate::xades`]).

use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use rust_decimal::Decimal;

use crate::clave::{Clave, Consecutivo};
use crate::error::ParseError;
use crate::model::{
    CodigoComercial, Comprobante, DatosImpuestoEspecifico, Descuento, DesgloseImpuesto, Documento,
    EstadoHacienda, Exoneracion, Identificacion, Impuesto, InformacionReferencia, LineaDetalle,
    LineaDetalleSurtido, MedioPago, MensajeHacienda, MensajeReceptor, Otro, OtroCargo, Parte,
    RespuestaReceptor, ResumenFactura, Telefono, TipoIdentificacion, Ubicacion,
};
use crate::revision::SchemaRevision;
use crate::tipo::{NS_DSIG, TipoDocumento};
use crate::{Error, Limits};

pub mod v43;

/// Namespace of MensajeHacienda v4.4.
pub const NS_MENSAJE_HACIENDA_V44: &str =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda";
/// Namespace of MensajeHacienda v4.3 (still accepted when reading Hacienda's answers).
pub const NS_MENSAJE_HACIENDA_V43: &str =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/mensajeHacienda";

/// The XML Schema instance namespace (`xsi:`).
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Elements of the schemas that this crate does not model (reported, never skipped).
const UNSUPPORTED: [&str; 0] = [];

#[derive(Debug)]
struct Node {
    ns: String,
    name: String,
    text: String,
    children: Vec<Node>,
    offset: u64,
    /// Attributes other than namespace declarations: (qualified name, normalized value).
    attrs: Vec<(String, String)>,
}

fn perr(offset: u64, reason: ParseError) -> Error {
    Error::Parse { offset, reason }
}

fn ns_of(r: &ResolveResult<'_>) -> String {
    match r {
        ResolveResult::Bound(ns) => AsRef::<str>::as_ref(ns).to_owned(),
        _ => String::new(),
    }
}

/// Names the encoding of input that is not UTF-8 when it is recognisably UTF-16.
pub(crate) fn not_utf8_message(input: &[u8], valid_up_to: usize) -> String {
    let utf16 = input.starts_with(&[0xFF, 0xFE])
        || input.starts_with(&[0xFE, 0xFF])
        || input.starts_with(b"<\0")
        || input.starts_with(b"\0<");
    if utf16 {
        "input is UTF-16; v4.4 documents must be UTF-8".into()
    } else {
        format!("input is not UTF-8 (invalid byte sequence at byte {valid_up_to})")
    }
}

fn build_tree(input: &[u8], limits: &Limits) -> Result<Node, Error> {
    if input.len() > limits.max_input_bytes() {
        return Err(perr(
            0,
            ParseError::TooLarge {
                size: input.len(),
                limit: limits.max_input_bytes(),
            },
        ));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        perr(
            e.valid_up_to() as u64,
            ParseError::Malformed(not_utf8_message(input, e.valid_up_to())),
        )
    })?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let offset = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| perr(offset, ParseError::Malformed(e.to_string())))?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            if root.is_some() {
                return Err(perr(
                    offset,
                    ParseError::Malformed("content after the root element".into()),
                ));
            }
            if stack.len() >= limits.max_depth() {
                return Err(perr(offset, ParseError::TooDeep(limits.max_depth())));
            }
            let ns = ns_of(&resolved);
            let name = AsRef::<str>::as_ref(&e.local_name()).to_owned();
            let mut attrs = Vec::new();
            for a in e.attributes() {
                let a = a.map_err(|err| perr(offset, ParseError::Malformed(err.to_string())))?;
                let key: &str = a.key.as_ref();
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|err| perr(offset, ParseError::Malformed(err.to_string())))?;
                if key == "xmlns" || key.starts_with("xmlns:") {
                    continue;
                }
                // schema-location hints carry no data; any other xsi: attribute is kept
                // (and reported by the attribute check)
                let (attr_ns, attr_local) = reader.resolver().resolve_attribute(a.key);
                if matches!(&attr_ns, ResolveResult::Bound(n) if AsRef::<str>::as_ref(n) == NS_XSI)
                    && matches!(
                        AsRef::<str>::as_ref(&attr_local),
                        "schemaLocation" | "noNamespaceSchemaLocation"
                    )
                {
                    continue;
                }
                attrs.push((key.to_owned(), value.into_owned()));
            }
            let node = Node {
                ns,
                name,
                text: String::new(),
                children: Vec::new(),
                offset,
                attrs,
            };
            if empty {
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            } else {
                stack.push(node);
            }
            continue;
        }
        match event {
            Event::Start(_) | Event::Empty(_) => {}
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| {
                    perr(offset, ParseError::Malformed("unbalanced end tag".into()))
                })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => {
                        return Err(perr(
                            offset,
                            ParseError::Malformed("text outside the root element".into()),
                        ));
                    }
                }
            }
            Event::CData(t) => match stack.last_mut() {
                Some(n) => n.text.push_str(&t.xml10_content()),
                None => {
                    return Err(perr(
                        offset,
                        ParseError::Malformed("CDATA outside the root element".into()),
                    ));
                }
            },
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| perr(offset, ParseError::Malformed(e.to_string())))?
                        .ok_or_else(|| {
                            perr(
                                offset,
                                ParseError::Malformed("bad character reference".into()),
                            )
                        })?
                } else {
                    match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(perr(offset, ParseError::Entity(other.to_owned()))),
                    }
                };
                match stack.last_mut() {
                    Some(n) => n.text.push(ch),
                    None => {
                        return Err(perr(
                            offset,
                            ParseError::Malformed("reference outside the root element".into()),
                        ));
                    }
                }
            }
            Event::DocType(_) => return Err(perr(offset, ParseError::Doctype)),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(perr(
            reader.buffer_position(),
            ParseError::Malformed("unexpected end of input".into()),
        ));
    }
    root.ok_or_else(|| perr(0, ParseError::Malformed("no root element".into())))
}

/// Only `OtroTexto` and `OtroContenido` carry an attribute (`codigo`); any other attribute,
/// on the root as below it, is reported rather than dropped (`xsi:schemaLocation` and
/// `xsi:noNamespaceSchemaLocation` are dropped while reading).
fn check_attrs(n: &Node) -> Result<(), Error> {
    let allowed =
        |k: &str| k == "codigo" && matches!(n.name.as_str(), "OtroTexto" | "OtroContenido");
    match n.attrs.iter().find(|(k, _)| !allowed(k)) {
        None => Ok(()),
        Some((k, _)) => Err(perr(
            n.offset,
            ParseError::UnexpectedAttribute {
                element: n.name.clone(),
                attribute: k.clone(),
            },
        )),
    }
}

/// Checks attributes everywhere and namespaces: everything in `ns` except `ds:Signature`
/// children of the root (whose content is checked by [`crate::xades::verify`]). Iterative.
fn check_namespaces(root: &Node, ns: &str) -> Result<(), Error> {
    check_attrs(root)?;
    let mut todo: Vec<&Node> = root
        .children
        .iter()
        .rev()
        .filter(|c| !(c.name == "Signature" && c.ns == NS_DSIG))
        .collect();
    while let Some(c) = todo.pop() {
        if c.ns != ns {
            return Err(perr(
                c.offset,
                ParseError::Namespace {
                    name: c.name.clone(),
                    expected: ns.to_owned(),
                    found: c.ns.clone(),
                },
            ));
        }
        check_attrs(c)?;
        todo.extend(c.children.iter().rev());
    }
    Ok(())
}

struct Cur<'a> {
    parent: &'a Node,
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(parent: &'a Node) -> Self {
        Self { parent, i: 0 }
    }
    fn peek(&self) -> Option<&'a Node> {
        self.parent.children.get(self.i)
    }
    fn opt(&mut self, name: &str) -> Option<&'a Node> {
        match self.peek() {
            Some(n) if n.name == name && n.ns != NS_DSIG => {
                self.i += 1;
                Some(n)
            }
            _ => None,
        }
    }
    fn req(&mut self, name: &str) -> Result<&'a Node, Error> {
        self.opt(name).ok_or_else(|| match self.peek() {
            Some(n) if UNSUPPORTED.contains(&n.name.as_str()) => {
                perr(n.offset, ParseError::Unsupported(n.name.clone()))
            }
            // a stray (unknown, repeated or out-of-order) element where `name` belongs
            Some(n) => perr(
                n.offset,
                ParseError::Misplaced {
                    parent: self.parent.name.clone(),
                    found: n.name.clone(),
                    expected: name.to_owned(),
                },
            ),
            None => perr(
                self.parent.offset,
                ParseError::Missing {
                    parent: self.parent.name.clone(),
                    name: name.to_owned(),
                },
            ),
        })
    }
    fn many(&mut self, name: &str) -> Vec<&'a Node> {
        let mut v = Vec::new();
        while let Some(n) = self.opt(name) {
            v.push(n);
        }
        v
    }
    /// Reads every consecutive `name` child with `item`, stopping at the first error.
    fn many_map<T>(
        &mut self,
        name: &str,
        item: impl FnMut(&'a Node) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        self.many(name).into_iter().map(item).collect()
    }
    fn signatures(&mut self) -> usize {
        let mut k = 0;
        while let Some(n) = self.peek() {
            if n.name == "Signature" && n.ns == NS_DSIG {
                self.i += 1;
                k += 1;
            } else {
                break;
            }
        }
        k
    }
    fn finish(self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(n) if UNSUPPORTED.contains(&n.name.as_str()) => {
                Err(perr(n.offset, ParseError::Unsupported(n.name.clone())))
            }
            Some(n) => Err(perr(
                n.offset,
                ParseError::Unexpected {
                    parent: self.parent.name.clone(),
                    found: n.name.clone(),
                },
            )),
        }
    }
}

fn leaf(n: &Node) -> Result<&str, Error> {
    if let Some(c) = n.children.first() {
        return Err(perr(c.offset, ParseError::MixedContent(n.name.clone())));
    }
    Ok(&n.text)
}

fn string(n: &Node) -> Result<String, Error> {
    leaf(n).map(str::to_owned)
}

fn otro(n: &Node) -> Result<Otro, Error> {
    Ok(Otro {
        texto: string(n)?,
        codigo: n
            .attrs
            .iter()
            .find(|(k, _)| k == "codigo")
            .map(|(_, v)| v.clone()),
    })
}

fn opt_string(n: Option<&Node>) -> Result<Option<String>, Error> {
    n.map(string).transpose()
}

fn bad(n: &Node, value: &str, reason: impl Into<String>) -> Error {
    perr(
        n.offset,
        ParseError::Value {
            element: n.name.clone(),
            value: value.to_owned(),
            reason: reason.into(),
        },
    )
}

fn decimal(n: &Node, max_frac: u32) -> Result<Decimal, Error> {
    let raw = leaf(n)?;
    let t = raw.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
    {
        return Err(bad(n, raw, "not a decimal number"));
    }
    let d = Decimal::from_str(t).map_err(|e| bad(n, raw, e.to_string()))?;
    if d.normalize().scale() > max_frac {
        return Err(perr(
            n.offset,
            ParseError::Decimals {
                element: n.name.clone(),
                value: raw.to_owned(),
                max: max_frac,
            },
        ));
    }
    Ok(d)
}

fn money(n: &Node) -> Result<Decimal, Error> {
    decimal(n, 5)
}

fn opt_money(n: Option<&Node>) -> Result<Option<Decimal>, Error> {
    n.map(money).transpose()
}

fn integer<T: FromStr>(n: &Node) -> Result<T, Error> {
    let raw = leaf(n)?;
    raw.trim()
        .parse::<T>()
        .map_err(|_| bad(n, raw, "not an integer in range"))
}

fn datetime(n: &Node) -> Result<DateTime<FixedOffset>, Error> {
    let raw = leaf(n)?;
    DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|e| bad(n, raw, format!("not a date-time with offset: {e}")))
}

fn clave(n: &Node) -> Result<Clave, Error> {
    let raw = leaf(n)?;
    raw.trim()
        .parse::<Clave>()
        .map_err(|e| perr(n.offset, ParseError::Clave(e)))
}

fn tipo_id(n: &Node) -> Result<TipoIdentificacion, Error> {
    let raw = leaf(n)?;
    TipoIdentificacion::from_code(raw.trim())
        .ok_or_else(|| bad(n, raw, "unknown identification type"))
}

fn identificacion(n: &Node) -> Result<Identificacion, Error> {
    let mut c = Cur::new(n);
    let tipo = tipo_id(c.req("Tipo")?)?;
    let numero = string(c.req("Numero")?)?;
    c.finish()?;
    Ok(Identificacion { tipo, numero })
}

/// The `name` children of a list element (`DetalleServicio`, `DetalleSurtido`), read with `item`;
/// nothing else may stand in it.
fn lista<T>(
    n: &Node,
    name: &str,
    item: impl FnMut(&Node) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut c = Cur::new(n);
    let v = c.many_map(name, item)?;
    c.finish()?;
    Ok(v)
}

/// Like [`lista`], where the schema requires at least one `name` (an empty list is
/// [`ParseError::Missing`] at the list element, after its items were read).
fn lista_no_vacia<T>(
    n: &Node,
    name: &str,
    item: impl FnMut(&Node) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let v = lista(n, name, item)?;
    if v.is_empty() {
        return Err(perr(
            n.offset,
            ParseError::Missing {
                parent: n.name.clone(),
                name: name.into(),
            },
        ));
    }
    Ok(v)
}

/// `CodigoTipoMoneda`: (`CodigoMoneda`, `TipoCambio`).
fn codigo_tipo_moneda(n: &Node) -> Result<(String, Decimal), Error> {
    let mut c = Cur::new(n);
    let codigo = string(c.req("CodigoMoneda")?)?;
    let cambio = money(c.req("TipoCambio")?)?;
    c.finish()?;
    Ok((codigo, cambio))
}

/// `NumeroConsecutivo`, which must equal the consecutivo inside `clave`
/// ([`ParseError::ConsecutivoMismatch`]) and whose tipo must be `tipo`, the document type of
/// the root element ([`ParseError::TipoMismatch`]); both errors at `NumeroConsecutivo`.
fn numero_consecutivo(
    c: &mut Cur<'_>,
    root: &Node,
    clave: &Clave,
    tipo: TipoDocumento,
) -> Result<Consecutivo, Error> {
    let node = c.req("NumeroConsecutivo")?;
    let txt = leaf(node)?.trim();
    let consecutivo: Consecutivo = txt
        .parse()
        .map_err(|e| perr(node.offset, ParseError::Clave(e)))?;
    if consecutivo != *clave.consecutivo() {
        return Err(perr(
            node.offset,
            ParseError::ConsecutivoMismatch {
                clave: clave.to_string(),
                consecutivo: txt.to_owned(),
            },
        ));
    }
    if consecutivo.tipo() != tipo {
        return Err(perr(
            node.offset,
            ParseError::TipoMismatch {
                tipo: consecutivo.tipo().code().to_owned(),
                root: root.name.clone(),
            },
        ));
    }
    Ok(consecutivo)
}

/// The header from `NumeroConsecutivo` to `CondicionVenta`, the same in v4.4 and v4.3 but for
/// the `Emisor` / `Receptor` content (each version reads its own with `parte`).
struct Encabezado<P> {
    fecha_emision: DateTime<FixedOffset>,
    emisor: P,
    receptor: Option<P>,
    condicion_venta: String,
}

/// Reads [`Encabezado`], checking `NumeroConsecutivo` with [`numero_consecutivo`].
fn encabezado<P>(
    c: &mut Cur<'_>,
    root: &Node,
    clave: &Clave,
    tipo: TipoDocumento,
    parte: fn(&Node) -> Result<P, Error>,
) -> Result<Encabezado<P>, Error> {
    numero_consecutivo(c, root, clave, tipo)?;
    Ok(Encabezado {
        fecha_emision: datetime(c.req("FechaEmision")?)?,
        emisor: parte(c.req("Emisor")?)?,
        receptor: c.opt("Receptor").map(parte).transpose()?,
        condicion_venta: string(c.req("CondicionVenta")?)?,
    })
}

fn parte(n: &Node) -> Result<Parte, Error> {
    let mut c = Cur::new(n);
    let nombre = string(c.req("Nombre")?)?;
    let identificacion = c.opt("Identificacion").map(identificacion).transpose()?;
    let registro_fiscal_8707 = opt_string(c.opt("Registrofiscal8707"))?;
    let nombre_comercial = opt_string(c.opt("NombreComercial"))?;
    let ubicacion = match c.opt("Ubicacion") {
        Some(u) => {
            let mut uc = Cur::new(u);
            let provincia = integer(uc.req("Provincia")?)?;
            let canton = integer(uc.req("Canton")?)?;
            let distrito = integer(uc.req("Distrito")?)?;
            let barrio = opt_string(uc.opt("Barrio"))?;
            let otras_senas = string(uc.req("OtrasSenas")?)?;
            uc.finish()?;
            Some(Ubicacion {
                provincia,
                canton,
                distrito,
                barrio,
                otras_senas,
            })
        }
        None => None,
    };
    let otras_senas_extranjero = opt_string(c.opt("OtrasSenasExtranjero"))?;
    let telefono = match c.opt("Telefono") {
        Some(t) => {
            let mut tc = Cur::new(t);
            let codigo_pais = integer(tc.req("CodigoPais")?)?;
            let numero = integer(tc.req("NumTelefono")?)?;
            tc.finish()?;
            Some(Telefono {
                codigo_pais,
                numero,
            })
        }
        None => None,
    };
    let correos = c.many_map("CorreoElectronico", string)?;
    c.finish()?;
    Ok(Parte {
        nombre,
        identificacion,
        registro_fiscal_8707,
        nombre_comercial,
        ubicacion,
        otras_senas_extranjero,
        telefono,
        correos,
    })
}

fn impuesto(n: &Node) -> Result<Impuesto, Error> {
    let mut c = Cur::new(n);
    let codigo = string(c.req("Codigo")?)?;
    let codigo_impuesto_otro = opt_string(c.opt("CodigoImpuestoOTRO"))?;
    let codigo_tarifa_iva = opt_string(c.opt("CodigoTarifaIVA"))?;
    let tarifa = c.opt("Tarifa").map(|n| decimal(n, 2)).transpose()?;
    let factor_calculo_iva = c
        .opt("FactorCalculoIVA")
        .map(|n| decimal(n, 4))
        .transpose()?;
    let datos_impuesto_especifico = match c.opt("DatosImpuestoEspecifico") {
        Some(d) => {
            let mut k = Cur::new(d);
            let datos = DatosImpuestoEspecifico {
                cantidad_unidad_medida: decimal(k.req("CantidadUnidadMedida")?, 2)?,
                porcentaje: k.opt("Porcentaje").map(|n| decimal(n, 2)).transpose()?,
                proporcion: k.opt("Proporcion").map(|n| decimal(n, 2)).transpose()?,
                volumen_unidad_consumo: k
                    .opt("VolumenUnidadConsumo")
                    .map(|n| decimal(n, 2))
                    .transpose()?,
                impuesto_unidad: money(k.req("ImpuestoUnidad")?)?,
            };
            k.finish()?;
            Some(datos)
        }
        None => None,
    };
    let monto = money(c.req("Monto")?)?;
    let monto_exportacion = opt_money(c.opt("MontoExportacion"))?;
    let exoneracion = match c.opt("Exoneracion") {
        Some(e) => {
            let mut ec = Cur::new(e);
            let ex = Exoneracion {
                tipo_documento: string(ec.req("TipoDocumentoEX1")?)?,
                tipo_documento_otro: opt_string(ec.opt("TipoDocumentoOTRO"))?,
                numero_documento: string(ec.req("NumeroDocumento")?)?,
                articulo: ec.opt("Articulo").map(integer).transpose()?,
                inciso: ec.opt("Inciso").map(integer).transpose()?,
                nombre_institucion: string(ec.req("NombreInstitucion")?)?,
                nombre_institucion_otros: opt_string(ec.opt("NombreInstitucionOtros"))?,
                fecha_emision: datetime(ec.req("FechaEmisionEX")?)?,
                tarifa_exonerada: decimal(ec.req("TarifaExonerada")?, 2)?,
                monto: money(ec.req("MontoExoneracion")?)?,
            };
            ec.finish()?;
            Some(ex)
        }
        None => None,
    };
    c.finish()?;
    Ok(Impuesto {
        codigo,
        codigo_impuesto_otro,
        codigo_tarifa_iva,
        tarifa,
        factor_calculo_iva,
        datos_impuesto_especifico,
        monto,
        monto_exportacion,
        exoneracion,
    })
}

fn surtido(n: &Node) -> Result<LineaDetalleSurtido, Error> {
    let mut c = Cur::new(n);
    let codigo_cabys = string(c.req("CodigoCABYSSurtido")?)?;
    let mut codigos_comerciales = Vec::new();
    for cc in c.many("CodigoComercialSurtido") {
        let mut k = Cur::new(cc);
        codigos_comerciales.push(CodigoComercial {
            tipo: string(k.req("TipoSurtido")?)?,
            codigo: string(k.req("CodigoSurtido")?)?,
        });
        k.finish()?;
    }
    let cantidad = decimal(c.req("CantidadSurtido")?, 3)?;
    let unidad_medida = string(c.req("UnidadMedidaSurtido")?)?;
    let unidad_medida_comercial = opt_string(c.opt("UnidadMedidaComercialSurtido"))?;
    let detalle = string(c.req("DetalleSurtido")?)?;
    let precio_unitario = money(c.req("PrecioUnitarioSurtido")?)?;
    let monto_total = money(c.req("MontoTotalSurtido")?)?;
    let mut descuentos = Vec::new();
    for d in c.many("DescuentoSurtido") {
        let mut k = Cur::new(d);
        descuentos.push(Descuento {
            monto: money(k.req("MontoDescuentoSurtido")?)?,
            codigo: string(k.req("CodigoDescuentoSurtido")?)?,
            codigo_otro: opt_string(k.opt("DescuentoSurtidoOtros"))?,
            naturaleza: None,
        });
        k.finish()?;
    }
    let sub_total = money(c.req("SubTotalSurtido")?)?;
    let iva_cobrado_fabrica = opt_string(c.opt("IVACobradoFabricaSurtido"))?;
    let base_imponible = opt_money(c.opt("BaseImponibleSurtido"))?.unwrap_or_default();
    let mut impuestos = Vec::new();
    for i in c.many("ImpuestoSurtido") {
        let mut k = Cur::new(i);
        let codigo = string(k.req("CodigoImpuestoSurtido")?)?;
        let codigo_impuesto_otro = opt_string(k.opt("CodigoImpuestoOTROSurtido"))?;
        let codigo_tarifa_iva = opt_string(k.opt("CodigoTarifaIVASurtido"))?;
        let tarifa = k.opt("TarifaSurtido").map(|n| decimal(n, 2)).transpose()?;
        let datos_impuesto_especifico = match k.opt("DatosImpuestoEspecificoSurtido") {
            Some(d) => {
                let mut dk = Cur::new(d);
                let datos = DatosImpuestoEspecifico {
                    cantidad_unidad_medida: decimal(dk.req("CantidadUnidadMedidaSurtido")?, 2)?,
                    porcentaje: dk
                        .opt("PorcentajeSurtido")
                        .map(|n| decimal(n, 2))
                        .transpose()?,
                    proporcion: dk
                        .opt("ProporcionSurtido")
                        .map(|n| decimal(n, 2))
                        .transpose()?,
                    volumen_unidad_consumo: dk
                        .opt("VolumenUnidadConsumoSurtido")
                        .map(|n| decimal(n, 2))
                        .transpose()?,
                    impuesto_unidad: money(dk.req("ImpuestoUnidadSurtido")?)?,
                };
                dk.finish()?;
                Some(datos)
            }
            None => None,
        };
        let monto = money(k.req("MontoImpuestoSurtido")?)?;
        k.finish()?;
        impuestos.push(Impuesto {
            codigo,
            codigo_impuesto_otro,
            codigo_tarifa_iva,
            tarifa,
            factor_calculo_iva: None,
            datos_impuesto_especifico,
            monto,
            monto_exportacion: None,
            exoneracion: None,
        });
    }
    c.finish()?;
    Ok(LineaDetalleSurtido {
        codigo_cabys,
        codigos_comerciales,
        cantidad,
        unidad_medida,
        unidad_medida_comercial,
        detalle,
        precio_unitario,
        monto_total,
        descuentos,
        sub_total,
        iva_cobrado_fabrica,
        base_imponible,
        impuestos,
    })
}

fn linea(n: &Node) -> Result<LineaDetalle, Error> {
    let mut c = Cur::new(n);
    let numero_linea = integer(c.req("NumeroLinea")?)?;
    let partida_arancelaria = opt_string(c.opt("PartidaArancelaria"))?;
    let codigo_cabys = opt_string(c.opt("CodigoCABYS"))?;
    let mut codigos_comerciales = Vec::new();
    for cc in c.many("CodigoComercial") {
        let mut k = Cur::new(cc);
        codigos_comerciales.push(CodigoComercial {
            tipo: string(k.req("Tipo")?)?,
            codigo: string(k.req("Codigo")?)?,
        });
        k.finish()?;
    }
    let cantidad = c
        .opt("Cantidad")
        .map(|n| decimal(n, 3))
        .transpose()?
        .unwrap_or_default();
    let unidad_medida = opt_string(c.opt("UnidadMedida"))?.unwrap_or_default();
    let tipo_transaccion = opt_string(c.opt("TipoTransaccion"))?;
    let unidad_medida_comercial = opt_string(c.opt("UnidadMedidaComercial"))?;
    let detalle = string(c.req("Detalle")?)?;
    let numeros_vin_serie = c.many_map("NumeroVINoSerie", string)?;
    let registro_medicamento = opt_string(c.opt("RegistroMedicamento"))?;
    let forma_farmaceutica = opt_string(c.opt("FormaFarmaceutica"))?;
    let surtido = match c.opt("DetalleSurtido") {
        Some(d) => lista_no_vacia(d, "LineaDetalleSurtido", surtido)?,
        None => Vec::new(),
    };
    let precio_unitario = opt_money(c.opt("PrecioUnitario"))?.unwrap_or_default();
    let monto_total = money(c.req("MontoTotal")?)?;
    let mut descuentos = Vec::new();
    for d in c.many("Descuento") {
        let mut k = Cur::new(d);
        descuentos.push(Descuento {
            monto: money(k.req("MontoDescuento")?)?,
            codigo: string(k.req("CodigoDescuento")?)?,
            codigo_otro: opt_string(k.opt("CodigoDescuentoOTRO"))?,
            naturaleza: opt_string(k.opt("NaturalezaDescuento"))?,
        });
        k.finish()?;
    }
    let sub_total = money(c.req("SubTotal")?)?;
    let iva_cobrado_fabrica = opt_string(c.opt("IVACobradoFabrica"))?;
    let base_imponible = opt_money(c.opt("BaseImponible"))?.unwrap_or_default();
    let impuestos = c.many_map("Impuesto", impuesto)?;
    let impuesto_asumido_emisor_fabrica = opt_money(c.opt("ImpuestoAsumidoEmisorFabrica"))?;
    let neto = opt_money(c.opt("ImpuestoNeto"))?;
    let monto_total_linea = money(c.req("MontoTotalLinea")?)?;
    c.finish()?;
    let impuesto_neto = neto.unwrap_or_else(|| {
        impuestos
            .iter()
            .fold(Decimal::ZERO, |a: Decimal, i: &Impuesto| {
                a.checked_add(i.monto).unwrap_or(a)
            })
    });
    Ok(LineaDetalle {
        numero_linea,
        partida_arancelaria,
        codigo_cabys,
        codigos_comerciales,
        cantidad,
        unidad_medida,
        tipo_transaccion,
        unidad_medida_comercial,
        detalle,
        numeros_vin_serie,
        registro_medicamento,
        forma_farmaceutica,
        surtido,
        precio_unitario,
        monto_total,
        descuentos,
        sub_total,
        iva_cobrado_fabrica,
        base_imponible,
        impuestos,
        impuesto_asumido_emisor_fabrica,
        impuesto_neto,
        monto_total_linea,
    })
}

fn resumen(n: &Node) -> Result<ResumenFactura, Error> {
    let mut c = Cur::new(n);
    let (codigo_moneda, tipo_cambio) = codigo_tipo_moneda(c.req("CodigoTipoMoneda")?)?;
    let mut r = ResumenFactura {
        codigo_moneda,
        tipo_cambio,
        ..ResumenFactura::default()
    };
    r.total_serv_gravados = opt_money(c.opt("TotalServGravados"))?;
    r.total_serv_exentos = opt_money(c.opt("TotalServExentos"))?;
    r.total_serv_exonerado = opt_money(c.opt("TotalServExonerado"))?;
    r.total_serv_no_sujeto = opt_money(c.opt("TotalServNoSujeto"))?;
    r.total_merc_gravadas = opt_money(c.opt("TotalMercanciasGravadas"))?;
    r.total_merc_exentas = opt_money(c.opt("TotalMercanciasExentas"))?;
    r.total_merc_exonerada = opt_money(c.opt("TotalMercExonerada"))?;
    r.total_merc_no_sujeta = opt_money(c.opt("TotalMercNoSujeta"))?;
    r.total_gravado = opt_money(c.opt("TotalGravado"))?;
    r.total_exento = opt_money(c.opt("TotalExento"))?;
    r.total_exonerado = opt_money(c.opt("TotalExonerado"))?;
    r.total_no_sujeto = opt_money(c.opt("TotalNoSujeto"))?;
    r.total_venta = money(c.req("TotalVenta")?)?;
    r.total_descuentos = opt_money(c.opt("TotalDescuentos"))?;
    r.total_venta_neta = money(c.req("TotalVentaNeta")?)?;
    for d in c.many("TotalDesgloseImpuesto") {
        let mut k = Cur::new(d);
        r.desglose_impuestos.push(DesgloseImpuesto {
            codigo: string(k.req("Codigo")?)?,
            codigo_tarifa_iva: opt_string(k.opt("CodigoTarifaIVA"))?,
            total: money(k.req("TotalMontoImpuesto")?)?,
        });
        k.finish()?;
    }
    r.total_impuesto = opt_money(c.opt("TotalImpuesto"))?;
    r.total_imp_asum_emisor_fabrica = opt_money(c.opt("TotalImpAsumEmisorFabrica"))?;
    r.total_iva_devuelto = opt_money(c.opt("TotalIVADevuelto"))?;
    r.total_otros_cargos = opt_money(c.opt("TotalOtrosCargos"))?;
    for m in c.many("MedioPago") {
        let mut k = Cur::new(m);
        r.medios_pago.push(MedioPago {
            tipo: opt_string(k.opt("TipoMedioPago"))?,
            otros: opt_string(k.opt("MedioPagoOtros"))?,
            total: opt_money(k.opt("TotalMedioPago"))?,
        });
        k.finish()?;
    }
    r.total_comprobante = money(c.req("TotalComprobante")?)?;
    c.finish()?;
    Ok(r)
}

fn comprobante(
    root: &Node,
    tipo: TipoDocumento,
    revision: Option<SchemaRevision>,
) -> Result<Comprobante, Error> {
    let mut c = Cur::new(root);
    let clave_node = c.req("Clave")?;
    let clave = clave(clave_node)?;
    let proveedor_sistemas = string(c.req("ProveedorSistemas")?)?;
    let codigo_actividad_emisor = opt_string(c.opt("CodigoActividadEmisor"))?;
    let codigo_actividad_receptor = opt_string(c.opt("CodigoActividadReceptor"))?;
    let Encabezado {
        fecha_emision,
        emisor,
        receptor,
        condicion_venta,
    } = encabezado(&mut c, root, &clave, tipo, parte)?;
    let condicion_venta_otros = opt_string(c.opt("CondicionVentaOtros"))?;
    let plazo_credito = c.opt("PlazoCredito").map(integer).transpose()?;
    let lineas = match c.opt("DetalleServicio") {
        Some(d) => lista_no_vacia(d, "LineaDetalle", linea)?,
        None => Vec::new(),
    };
    let mut otros_cargos = Vec::new();
    for o in c.many("OtrosCargos") {
        let mut k = Cur::new(o);
        otros_cargos.push(OtroCargo {
            tipo_documento: string(k.req("TipoDocumentoOC")?)?,
            tipo_documento_otros: opt_string(k.opt("TipoDocumentoOTROS"))?,
            identificacion_tercero: k
                .opt("IdentificacionTercero")
                .map(identificacion)
                .transpose()?,
            nombre_tercero: opt_string(k.opt("NombreTercero"))?,
            detalle: string(k.req("Detalle")?)?,
            porcentaje: k.opt("PorcentajeOC").map(|n| decimal(n, 5)).transpose()?,
            monto: money(k.req("MontoCargo")?)?,
        });
        k.finish()?;
    }
    let resumen = resumen(c.req("ResumenFactura")?)?;
    let mut referencias = Vec::new();
    for r in c.many("InformacionReferencia") {
        let mut k = Cur::new(r);
        referencias.push(InformacionReferencia {
            tipo_doc: string(k.req("TipoDocIR")?)?,
            tipo_doc_otro: opt_string(k.opt("TipoDocRefOTRO"))?,
            numero: opt_string(k.opt("Numero"))?,
            fecha_emision: datetime(k.req("FechaEmisionIR")?)?,
            codigo: opt_string(k.opt("Codigo"))?,
            codigo_otro: opt_string(k.opt("CodigoReferenciaOTRO"))?,
            razon: opt_string(k.opt("Razon"))?,
        });
        k.finish()?;
    }
    let (mut otros_texto, mut otros_contenido) = (Vec::new(), Vec::new());
    if let Some(o) = c.opt("Otros") {
        let mut k = Cur::new(o);
        otros_texto = k.many_map("OtroTexto", otro)?;
        otros_contenido = k.many_map("OtroContenido", otro)?;
        k.finish()?;
    }
    c.signatures();
    c.finish()?;
    Ok(Comprobante {
        revision: revision.unwrap_or_else(|| SchemaRevision::in_force_at(&fecha_emision)),
        clave,
        proveedor_sistemas,
        codigo_actividad_emisor,
        codigo_actividad_receptor,
        fecha_emision,
        emisor,
        receptor,
        condicion_venta,
        condicion_venta_otros,
        plazo_credito,
        lineas,
        otros_cargos,
        resumen,
        referencias,
        otros_texto,
        otros_contenido,
    })
}

fn mensaje_receptor(
    root: &Node,
    revision: Option<SchemaRevision>,
) -> Result<MensajeReceptor, Error> {
    let mut c = Cur::new(root);
    let clave = clave(c.req("Clave")?)?;
    let numero_cedula_emisor = string(c.req("NumeroCedulaEmisor")?)?;
    let fecha_emision_doc = datetime(c.req("FechaEmisionDoc")?)?;
    let mensaje_node = c.req("Mensaje")?;
    let raw = leaf(mensaje_node)?;
    let mensaje = RespuestaReceptor::from_code(raw.trim())
        .ok_or_else(|| bad(mensaje_node, raw, "expected 1, 2 or 3"))?;
    let detalle_mensaje = opt_string(c.opt("DetalleMensaje"))?;
    let monto_total_impuesto = opt_money(c.opt("MontoTotalImpuesto"))?;
    let codigo_actividad = opt_string(c.opt("CodigoActividad"))?;
    let condicion_impuesto = opt_string(c.opt("CondicionImpuesto"))?;
    let monto_total_impuesto_acreditar = opt_money(c.opt("MontoTotalImpuestoAcreditar"))?;
    let monto_total_de_gasto_aplicable = opt_money(c.opt("MontoTotalDeGastoAplicable"))?;
    let total_factura = money(c.req("TotalFactura")?)?;
    let numero_cedula_receptor = string(c.req("NumeroCedulaReceptor")?)?;
    let cn = c.req("NumeroConsecutivoReceptor")?;
    let numero_consecutivo_receptor: Consecutivo = leaf(cn)?
        .trim()
        .parse()
        .map_err(|e| perr(cn.offset, ParseError::Clave(e)))?;
    if numero_consecutivo_receptor.tipo() != mensaje.tipo_documento() {
        return Err(perr(
            cn.offset,
            ParseError::TipoMismatch {
                tipo: numero_consecutivo_receptor.tipo().code().to_owned(),
                root: format!("MensajeReceptor (Mensaje {})", mensaje.code()),
            },
        ));
    }
    c.signatures();
    c.finish()?;
    Ok(MensajeReceptor {
        revision: revision.unwrap_or_else(|| SchemaRevision::in_force_at(&fecha_emision_doc)),
        clave,
        numero_cedula_emisor,
        fecha_emision_doc,
        mensaje,
        detalle_mensaje,
        monto_total_impuesto,
        codigo_actividad,
        condicion_impuesto,
        monto_total_impuesto_acreditar,
        monto_total_de_gasto_aplicable,
        total_factura,
        numero_cedula_receptor,
        numero_consecutivo_receptor,
    })
}

/// Parses any v4.4 comprobante or mensaje receptor. The schema revision defaults to the one in
/// force at the document's date.
pub fn documento(xml: &[u8]) -> Result<Documento, Error> {
    documento_with_revision(xml, None)
}

/// Like [`documento`], with an explicit schema revision (`None` = in force at the date).
pub fn documento_with_revision(
    xml: &[u8],
    revision: Option<SchemaRevision>,
) -> Result<Documento, Error> {
    documento_with_limits(xml, revision, &Limits::default())
}

/// Like [`documento_with_revision`], with explicit input bounds (size checked before any
/// work, nesting while reading; [`ParseError::TooLarge`] / [`ParseError::TooDeep`]).
pub fn documento_with_limits(
    xml: &[u8],
    revision: Option<SchemaRevision>,
    limits: &Limits,
) -> Result<Documento, Error> {
    documento_from_root(&build_tree(xml, limits)?, revision)
}

/// A received supplier document: v4.4 (any document this crate reads) or a v4.3 FE, NC or ND.
pub(crate) enum Supplier {
    V44(Documento),
    V43(Box<v43::Comprobante>),
}

/// Reads a supplier's document in either version (dispatch on the root's namespace).
///
/// A v4.3 document other than FE, NC or ND (TE, FEC, FEE, MensajeReceptor) is
/// [`Error::NotReceivable`].
pub(crate) fn supplier_with_limits(xml: &[u8], limits: &Limits) -> Result<Supplier, Error> {
    let root = build_tree(xml, limits)?;
    if root.ns.starts_with(v43::NS_PREFIX) {
        if v43::received_tipo(&root.name).is_none() {
            let tipo = if root.name == "MensajeReceptor" {
                Some(TipoDocumento::AceptacionReceptor)
            } else {
                TipoDocumento::comprobante_from_root(&root.name)
            };
            if let Some(tipo) = tipo {
                return Err(Error::NotReceivable { tipo });
            }
        }
        return v43::from_root(&root).map(|c| Supplier::V43(Box::new(c)));
    }
    documento_from_root(&root, None).map(Supplier::V44)
}

fn documento_from_root(root: &Node, revision: Option<SchemaRevision>) -> Result<Documento, Error> {
    if root.name == "MensajeReceptor" {
        let ns = TipoDocumento::AceptacionReceptor.namespace();
        expect_root_ns(root, ns)?;
        check_namespaces(root, ns)?;
        return Ok(Documento::MensajeReceptor(Box::new(mensaje_receptor(
            root, revision,
        )?)));
    }
    let tipo = TipoDocumento::comprobante_from_root(&root.name).ok_or_else(|| {
        perr(
            root.offset,
            ParseError::UnknownRoot {
                namespace: root.ns.clone(),
                name: root.name.clone(),
            },
        )
    })?;
    expect_root_ns(root, tipo.namespace())?;
    check_namespaces(root, tipo.namespace())?;
    Ok(Documento::Comprobante(Box::new(comprobante(
        root, tipo, revision,
    )?)))
}

fn expect_root_ns(root: &Node, ns: &str) -> Result<(), Error> {
    if root.ns != ns {
        return Err(perr(
            root.offset,
            ParseError::Namespace {
                name: root.name.clone(),
                expected: ns.to_owned(),
                found: root.ns.clone(),
            },
        ));
    }
    Ok(())
}

/// Parses a comprobante (FE, ND, NC, TE, FEC, FEE, REP).
pub fn comprobante_xml(xml: &[u8]) -> Result<Comprobante, Error> {
    match documento(xml)? {
        Documento::Comprobante(c) => Ok(*c),
        Documento::MensajeReceptor(_) => Err(perr(
            0,
            ParseError::UnknownRoot {
                namespace: TipoDocumento::AceptacionReceptor.namespace().into(),
                name: "MensajeReceptor".into(),
            },
        )),
    }
}

/// Parses Hacienda's answer (`respuesta-xml`, already base64-decoded). Accepts the v4.4 and the
/// v4.3 namespace. The signature, if any, is not verified.
pub fn mensaje_hacienda(xml: &[u8]) -> Result<MensajeHacienda, Error> {
    mensaje_hacienda_with_limits(xml, &Limits::default())
}

/// Like [`mensaje_hacienda`], with explicit input bounds.
pub fn mensaje_hacienda_with_limits(xml: &[u8], limits: &Limits) -> Result<MensajeHacienda, Error> {
    let root = build_tree(xml, limits)?;
    if root.name != "MensajeHacienda" {
        return Err(perr(
            root.offset,
            ParseError::UnknownRoot {
                namespace: root.ns.clone(),
                name: root.name.clone(),
            },
        ));
    }
    let ns = if root.ns == NS_MENSAJE_HACIENDA_V43 {
        NS_MENSAJE_HACIENDA_V43
    } else {
        NS_MENSAJE_HACIENDA_V44
    };
    expect_root_ns(&root, ns)?;
    check_namespaces(&root, ns)?;
    let mut c = Cur::new(&root);
    let clave = clave(c.req("Clave")?)?;
    let nombre_emisor = string(c.req("NombreEmisor")?)?;
    let tipo_identificacion_emisor = tipo_id(c.req("TipoIdentificacionEmisor")?)?;
    let numero_cedula_emisor = string(c.req("NumeroCedulaEmisor")?)?;
    let nombre_receptor = opt_string(c.opt("NombreReceptor"))?;
    let tipo_identificacion_receptor = c
        .opt("TipoIdentificacionReceptor")
        .map(tipo_id)
        .transpose()?;
    let numero_cedula_receptor = opt_string(c.opt("NumeroCedulaReceptor"))?;
    let mn = c.req("Mensaje")?;
    let raw = leaf(mn)?;
    let mensaje = match raw.trim() {
        "1" => EstadoHacienda::Aceptado,
        "2" => EstadoHacienda::AceptadoParcial,
        "3" => EstadoHacienda::Rechazado,
        _ => return Err(bad(mn, raw, "expected 1, 2 or 3")),
    };
    let estado_mensaje = opt_string(c.opt("EstadoMensaje"))?;
    let detalle_mensaje = string(c.req("DetalleMensaje")?)?;
    let monto_total_impuesto = opt_money(c.opt("MontoTotalImpuesto"))?;
    let total_factura = money(c.req("TotalFactura")?)?;
    let firmado = c.signatures() > 0;
    c.finish()?;
    Ok(MensajeHacienda {
        clave,
        nombre_emisor,
        tipo_identificacion_emisor,
        numero_cedula_emisor,
        nombre_receptor,
        tipo_identificacion_receptor,
        numero_cedula_receptor,
        mensaje,
        estado_mensaje,
        detalle_mensaje,
        monto_total_impuesto,
        total_factura,
        firmado,
    })
}
