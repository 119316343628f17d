//! Reader for a supplier's v4.3 `FacturaElectronica`, `NotaCreditoElectronica` and
//! `NotaDebitoElectronica` (namespace `https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/…`),
//! for the receiving side only ([`crate::receive`]): v4.3 documents issued before v4.4 became mandatory
//! (1 September 2025) still reach receivers. This crate never writes v4.3.
//!
//! The same strict reader as for v4.4 ([`crate::parse`]): UTF-8 only, no DTD or entities, bounded by
//! [`Limits`], every element in the document's v4.3 namespace (except the trailing `ds:Signature`),
//! children in the XSD's order, unknown elements are errors. It shares the v4.4 reader's tree, element
//! readers and the header from `NumeroConsecutivo` (checked against the clave and the root, with the
//! same errors) to `CondicionVenta`; what differs is read here. One reader serves the three documents:
//! it accepts the union of their element sets (`PartidaArancelaria` and `Impuesto/MontoExportacion`
//! appear in the NC/ND schemas only). What receiving needs is kept in [`Comprobante`]; the addresses,
//! telephones, commercial codes and `Otros` are read (order checked) but not kept.
//!
//! The 4.3 shape differs from 4.4 in: `CodigoActividad` (not `CodigoActividadEmisor`), no
//! `ProveedorSistemas`, `MedioPago` in the header, line `Codigo` (CABYS) instead of `CodigoCABYS`,
//! `Impuesto/CodigoTarifa` instead of `CodigoTarifaIVA`, `FactorIVA`, `Exoneracion/PorcentajeExoneracion`,
//! `Receptor/IdentificacionExtranjero`, `Fax`, and a `ResumenFactura` without `Total*NoSujeto`,
//! `TotalDesgloseImpuesto` or `TotalImpAsumEmisorFabrica`.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

use super::{
    Cur, Encabezado, Node, build_tree, check_namespaces, clave, codigo_tipo_moneda, datetime,
    decimal, encabezado, expect_root_ns, identificacion, integer, leaf, lista_no_vacia, money,
    opt_money, opt_string, perr, string,
};
use crate::clave::Clave;
use crate::error::ParseError;
use crate::model::Identificacion;
use crate::tipo::TipoDocumento;
use crate::{Error, Limits};

/// Namespace of `FacturaElectronica` v4.3.
pub const NS_FACTURA: &str =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/facturaElectronica";
/// Namespace of `NotaCreditoElectronica` v4.3.
pub const NS_NOTA_CREDITO: &str =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/notaCreditoElectronica";
/// Namespace of `NotaDebitoElectronica` v4.3.
pub const NS_NOTA_DEBITO: &str =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/notaDebitoElectronica";
/// The common prefix of every v4.3 namespace.
pub const NS_PREFIX: &str = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/";

/// The v4.3 namespace of a received document type (FE, NC, ND), `None` for the others.
pub fn namespace(tipo: TipoDocumento) -> Option<&'static str> {
    match tipo {
        TipoDocumento::FacturaElectronica => Some(NS_FACTURA),
        TipoDocumento::NotaCreditoElectronica => Some(NS_NOTA_CREDITO),
        TipoDocumento::NotaDebitoElectronica => Some(NS_NOTA_DEBITO),
        _ => None,
    }
}

/// A v4.3 FE, NC or ND as far as receiving needs it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comprobante {
    /// The document type (from the root element; the consecutivo's tipo must agree).
    pub tipo: TipoDocumento,
    /// `Clave`.
    pub clave: Clave,
    /// `CodigoActividad`: the emisor's economic activity (6 characters).
    pub codigo_actividad: String,
    /// `FechaEmision`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `Emisor`.
    pub emisor: Parte,
    /// `Receptor` (required in FE, optional in NC and ND).
    pub receptor: Option<Parte>,
    /// `CondicionVenta`.
    pub condicion_venta: String,
    /// `PlazoCredito` as written.
    pub plazo_credito: Option<String>,
    /// `MedioPago` codes (header level in 4.3).
    pub medios_pago: Vec<String>,
    /// `DetalleServicio/LineaDetalle`.
    pub lineas: Vec<Linea>,
    /// `OtrosCargos/MontoCargo` of each other charge.
    pub otros_cargos: Vec<Decimal>,
    /// `ResumenFactura`.
    pub resumen: Resumen,
    /// `InformacionReferencia`.
    pub referencias: Vec<Referencia>,
}

/// `Emisor` or `Receptor`: who, without address or telephone.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parte {
    /// `Nombre`.
    pub nombre: String,
    /// `Identificacion` (required for the emisor and an FE's receptor).
    pub identificacion: Option<Identificacion>,
    /// `IdentificacionExtranjero` (receptor only; removed in 4.4).
    pub identificacion_extranjero: Option<String>,
    /// `CorreoElectronico`.
    pub correo: Option<String>,
}

/// One `LineaDetalle`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linea {
    /// `NumeroLinea`.
    pub numero: u32,
    /// `Codigo`: the CABYS code (4.4's `CodigoCABYS`).
    pub codigo: Option<String>,
    /// `Cantidad` (up to 3 decimals).
    pub cantidad: Decimal,
    /// `UnidadMedida`.
    pub unidad_medida: String,
    /// `Detalle`.
    pub detalle: Option<String>,
    /// `PrecioUnitario`.
    pub precio_unitario: Decimal,
    /// `MontoTotal`.
    pub monto_total: Decimal,
    /// `Descuento/MontoDescuento` of each discount.
    pub descuentos: Vec<Decimal>,
    /// `SubTotal`.
    pub sub_total: Decimal,
    /// `BaseImponible`.
    pub base_imponible: Option<Decimal>,
    /// `Impuesto`.
    pub impuestos: Vec<Impuesto>,
    /// `ImpuestoNeto`.
    pub impuesto_neto: Option<Decimal>,
    /// `MontoTotalLinea`.
    pub monto_total_linea: Decimal,
}

/// One line `Impuesto`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impuesto {
    /// `Codigo` (`01` IVA, …).
    pub codigo: String,
    /// `CodigoTarifa` (4.4's `CodigoTarifaIVA`).
    pub codigo_tarifa: Option<String>,
    /// `Tarifa` (percent).
    pub tarifa: Option<Decimal>,
    /// `FactorIVA`.
    pub factor_iva: Option<Decimal>,
    /// `Monto`.
    pub monto: Decimal,
    /// `MontoExportacion` (ND schema).
    pub monto_exportacion: Option<Decimal>,
    /// `Exoneracion`.
    pub exoneracion: Option<Exoneracion>,
}

/// A 4.3 `Exoneracion`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exoneracion {
    /// `TipoDocumento`.
    pub tipo_documento: String,
    /// `NumeroDocumento`.
    pub numero_documento: String,
    /// `NombreInstitucion`.
    pub nombre_institucion: String,
    /// `FechaEmision`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `PorcentajeExoneracion` (whole percent, removed in 4.4).
    pub porcentaje: u32,
    /// `MontoExoneracion`.
    pub monto: Decimal,
}

/// A 4.3 `ResumenFactura`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumen {
    /// `CodigoTipoMoneda/CodigoMoneda` (`None`: colones).
    pub codigo_moneda: Option<String>,
    /// `CodigoTipoMoneda/TipoCambio`.
    pub tipo_cambio: Option<Decimal>,
    /// `TotalServGravados`.
    pub total_serv_gravados: Option<Decimal>,
    /// `TotalServExentos`.
    pub total_serv_exentos: Option<Decimal>,
    /// `TotalServExonerado`.
    pub total_serv_exonerado: Option<Decimal>,
    /// `TotalMercanciasGravadas`.
    pub total_merc_gravadas: Option<Decimal>,
    /// `TotalMercanciasExentas`.
    pub total_merc_exentas: Option<Decimal>,
    /// `TotalMercExonerada`.
    pub total_merc_exonerada: Option<Decimal>,
    /// `TotalGravado`.
    pub total_gravado: Option<Decimal>,
    /// `TotalExento`.
    pub total_exento: Option<Decimal>,
    /// `TotalExonerado`.
    pub total_exonerado: Option<Decimal>,
    /// `TotalVenta`.
    pub total_venta: Decimal,
    /// `TotalDescuentos`.
    pub total_descuentos: Option<Decimal>,
    /// `TotalVentaNeta`.
    pub total_venta_neta: Decimal,
    /// `TotalImpuesto`.
    pub total_impuesto: Option<Decimal>,
    /// `TotalIVADevuelto`.
    pub total_iva_devuelto: Option<Decimal>,
    /// `TotalOtrosCargos`.
    pub total_otros_cargos: Option<Decimal>,
    /// `TotalComprobante`.
    pub total_comprobante: Decimal,
}

/// A 4.3 `InformacionReferencia`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referencia {
    /// `TipoDoc`.
    pub tipo_doc: String,
    /// `Numero` (the referenced clave or number).
    pub numero: String,
    /// `FechaEmision`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `Codigo`.
    pub codigo: String,
    /// `Razon`.
    pub razon: String,
}

impl Comprobante {
    /// Validates what applies to a received 4.3 document (exact comparisons, amounts rounded to 5 decimals):
    /// - the clave (numeric) against `Emisor/Identificacion/Numero` and the Costa Rica date of
    ///   `FechaEmision`; the identifications the 4.3 schemas require; `InformacionReferencia` in NC / ND;
    /// - each amount's sign, decimals and size;
    /// - lines: `MontoTotal = Cantidad × PrecioUnitario`, `SubTotal = MontoTotal − Σ MontoDescuento`,
    ///   `ImpuestoNeto = Σ Monto − Σ MontoExoneracion`, `MontoTotalLinea = SubTotal + ImpuestoNeto`, the IVA
    ///   (`01`) `Monto = (BaseImponible or SubTotal) × Tarifa / 100`, no exoneration above its tax;
    /// - `ResumenFactura`: `TotalVenta`, `TotalDescuentos`, `TotalImpuesto` (Σ `ImpuestoNeto`) and
    ///   `TotalOtrosCargos` against the lines, `TotalVentaNeta = TotalVenta − TotalDescuentos`, the
    ///   gravado / exento / exonerado totals as their servicio + mercancía parts and their sum as
    ///   `TotalVenta`, and `TotalComprobante = TotalVentaNeta + TotalImpuesto + TotalOtrosCargos −
    ///   TotalIVADevuelto`.
    ///
    /// Not checked for 4.3: codes against the 4.3 lists, text lengths and patterns, and how the lines
    /// split into the servicio / mercancía categories.
    pub fn validate(&self) -> crate::validate::Report {
        crate::validate::v43::comprobante(self)
    }
}

/// Parses a v4.3 FE, NC or ND with the default [`Limits`]. The signature is not verified here.
///
/// # Errors
/// [`Error::Parse`] when the input is not such a document (malformed, other namespace or root, stray or
/// missing element, bad value, consecutivo not matching the clave or the root).
pub fn comprobante(xml: &[u8]) -> Result<Comprobante, Error> {
    comprobante_with_limits(xml, &Limits::default())
}

/// Like [`comprobante`], with explicit input bounds.
///
/// # Errors
/// As [`comprobante`], plus [`ParseError::TooLarge`] / [`ParseError::TooDeep`].
pub fn comprobante_with_limits(xml: &[u8], limits: &Limits) -> Result<Comprobante, Error> {
    from_root(&build_tree(xml, limits)?)
}

/// The received v4.3 document type of a root element, `None` when the root is not a v4.3 FE, NC or ND.
pub(crate) fn received_tipo(root_name: &str) -> Option<TipoDocumento> {
    TipoDocumento::comprobante_from_root(root_name).filter(|t| namespace(*t).is_some())
}

pub(super) fn from_root(root: &Node) -> Result<Comprobante, Error> {
    let tipo = received_tipo(&root.name).ok_or_else(|| {
        perr(
            root.offset,
            ParseError::UnknownRoot {
                namespace: root.ns.clone(),
                name: root.name.clone(),
            },
        )
    })?;
    let ns = namespace(tipo).unwrap_or(NS_FACTURA);
    expect_root_ns(root, ns)?;
    check_namespaces(root, ns)?;
    let mut c = Cur::new(root);
    let clave = clave(c.req("Clave")?)?;
    let codigo_actividad = string(c.req("CodigoActividad")?)?;
    // `NumeroConsecutivo` (checked against the clave and the root) to `CondicionVenta`, as in 4.4
    let Encabezado {
        fecha_emision,
        emisor,
        receptor,
        condicion_venta,
    } = encabezado(&mut c, root, &clave, tipo, parte)?;
    // 4.3: `PlazoCredito` kept as written, `MedioPago` here rather than in `ResumenFactura`
    let plazo_credito = opt_string(c.opt("PlazoCredito"))?;
    let medios_pago = c.many_map("MedioPago", string)?;
    // `DetalleServicio` is optional in 4.3, but when present it holds at least one `LineaDetalle`.
    let lineas = match c.opt("DetalleServicio") {
        Some(d) => lista_no_vacia(d, "LineaDetalle", linea)?,
        None => Vec::new(),
    };
    let otros_cargos = c.many_map("OtrosCargos", otro_cargo)?;
    let resumen = resumen(c.req("ResumenFactura")?)?;
    let referencias = c.many_map("InformacionReferencia", referencia)?;
    if let Some(o) = c.opt("Otros") {
        let mut oc = Cur::new(o);
        for n in oc.many("OtroTexto") {
            leaf(n)?;
        }
        // `OtroContenido` holds any content; it is not kept.
        oc.many("OtroContenido");
        oc.finish()?;
    }
    c.signatures();
    c.finish()?;
    Ok(Comprobante {
        tipo,
        clave,
        codigo_actividad,
        fecha_emision,
        emisor,
        receptor,
        condicion_venta,
        plazo_credito,
        medios_pago,
        lineas,
        otros_cargos,
        resumen,
        referencias,
    })
}

/// Checks the shape of a `Ubicacion` / `Telefono` / `Fax` / `CodigoComercial` child whose content is not kept.
fn skip(n: &Node, children: &[(&str, bool)]) -> Result<(), Error> {
    let mut c = Cur::new(n);
    for &(name, required) in children {
        let child = if required {
            Some(c.req(name)?)
        } else {
            c.opt(name)
        };
        if let Some(child) = child {
            leaf(child)?;
        }
    }
    c.finish()
}

const UBICACION: [(&str, bool); 5] = [
    ("Provincia", true),
    ("Canton", true),
    ("Distrito", true),
    ("Barrio", false),
    ("OtrasSenas", true),
];
const TELEFONO: [(&str, bool); 2] = [("CodigoPais", true), ("NumTelefono", true)];

fn parte(n: &Node) -> Result<Parte, Error> {
    let mut c = Cur::new(n);
    let nombre = string(c.req("Nombre")?)?;
    let identificacion = c.opt("Identificacion").map(identificacion).transpose()?;
    let identificacion_extranjero = opt_string(c.opt("IdentificacionExtranjero"))?;
    opt_string(c.opt("NombreComercial"))?;
    if let Some(u) = c.opt("Ubicacion") {
        skip(u, &UBICACION)?;
    }
    opt_string(c.opt("OtrasSenasExtranjero"))?;
    for name in ["Telefono", "Fax"] {
        if let Some(t) = c.opt(name) {
            skip(t, &TELEFONO)?;
        }
    }
    let correo = opt_string(c.opt("CorreoElectronico"))?;
    c.finish()?;
    Ok(Parte {
        nombre,
        identificacion,
        identificacion_extranjero,
        correo,
    })
}

fn linea(n: &Node) -> Result<Linea, Error> {
    let mut c = Cur::new(n);
    let numero = integer(c.req("NumeroLinea")?)?;
    opt_string(c.opt("PartidaArancelaria"))?;
    let codigo = opt_string(c.opt("Codigo"))?;
    for cc in c.many("CodigoComercial") {
        skip(cc, &[("Tipo", true), ("Codigo", false)])?;
    }
    let cantidad = decimal(c.req("Cantidad")?, 3)?;
    let unidad_medida = string(c.req("UnidadMedida")?)?;
    opt_string(c.opt("UnidadMedidaComercial"))?;
    let detalle = opt_string(c.opt("Detalle"))?;
    let precio_unitario = money(c.req("PrecioUnitario")?)?;
    let monto_total = money(c.req("MontoTotal")?)?;
    let mut descuentos = Vec::new();
    for d in c.many("Descuento") {
        let mut dc = Cur::new(d);
        descuentos.push(money(dc.req("MontoDescuento")?)?);
        string(dc.req("NaturalezaDescuento")?)?;
        dc.finish()?;
    }
    let sub_total = money(c.req("SubTotal")?)?;
    let base_imponible = opt_money(c.opt("BaseImponible"))?;
    let impuestos = c.many_map("Impuesto", impuesto)?;
    let impuesto_neto = opt_money(c.opt("ImpuestoNeto"))?;
    let monto_total_linea = money(c.req("MontoTotalLinea")?)?;
    c.finish()?;
    Ok(Linea {
        numero,
        codigo,
        cantidad,
        unidad_medida,
        detalle,
        precio_unitario,
        monto_total,
        descuentos,
        sub_total,
        base_imponible,
        impuestos,
        impuesto_neto,
        monto_total_linea,
    })
}

fn impuesto(n: &Node) -> Result<Impuesto, Error> {
    let mut c = Cur::new(n);
    let codigo = string(c.req("Codigo")?)?;
    let codigo_tarifa = opt_string(c.opt("CodigoTarifa"))?;
    let tarifa = c.opt("Tarifa").map(|t| decimal(t, 2)).transpose()?;
    let factor_iva = c.opt("FactorIVA").map(|t| decimal(t, 4)).transpose()?;
    let monto = money(c.req("Monto")?)?;
    let monto_exportacion = opt_money(c.opt("MontoExportacion"))?;
    let exoneracion = match c.opt("Exoneracion") {
        Some(e) => {
            let mut ec = Cur::new(e);
            let tipo_documento = string(ec.req("TipoDocumento")?)?;
            let numero_documento = string(ec.req("NumeroDocumento")?)?;
            let nombre_institucion = string(ec.req("NombreInstitucion")?)?;
            let fecha_emision = datetime(ec.req("FechaEmision")?)?;
            let porcentaje = integer(ec.req("PorcentajeExoneracion")?)?;
            let monto = money(ec.req("MontoExoneracion")?)?;
            ec.finish()?;
            Some(Exoneracion {
                tipo_documento,
                numero_documento,
                nombre_institucion,
                fecha_emision,
                porcentaje,
                monto,
            })
        }
        None => None,
    };
    c.finish()?;
    Ok(Impuesto {
        codigo,
        codigo_tarifa,
        tarifa,
        factor_iva,
        monto,
        monto_exportacion,
        exoneracion,
    })
}

fn otro_cargo(n: &Node) -> Result<Decimal, Error> {
    let mut c = Cur::new(n);
    string(c.req("TipoDocumento")?)?;
    opt_string(c.opt("NumeroIdentidadTercero"))?;
    opt_string(c.opt("NombreTercero"))?;
    string(c.req("Detalle")?)?;
    c.opt("Porcentaje").map(|p| decimal(p, 5)).transpose()?;
    let monto = money(c.req("MontoCargo")?)?;
    c.finish()?;
    Ok(monto)
}

fn resumen(n: &Node) -> Result<Resumen, Error> {
    let mut c = Cur::new(n);
    // optional in 4.3 (colones), required in 4.4
    let (codigo_moneda, tipo_cambio) = match c.opt("CodigoTipoMoneda") {
        Some(m) => {
            let (codigo, cambio) = codigo_tipo_moneda(m)?;
            (Some(codigo), Some(cambio))
        }
        None => (None, None),
    };
    let mut o = |name: &str| opt_money(c.opt(name));
    let total_serv_gravados = o("TotalServGravados")?;
    let total_serv_exentos = o("TotalServExentos")?;
    let total_serv_exonerado = o("TotalServExonerado")?;
    let total_merc_gravadas = o("TotalMercanciasGravadas")?;
    let total_merc_exentas = o("TotalMercanciasExentas")?;
    let total_merc_exonerada = o("TotalMercExonerada")?;
    let total_gravado = o("TotalGravado")?;
    let total_exento = o("TotalExento")?;
    let total_exonerado = o("TotalExonerado")?;
    let total_venta = money(c.req("TotalVenta")?)?;
    let total_descuentos = opt_money(c.opt("TotalDescuentos"))?;
    let total_venta_neta = money(c.req("TotalVentaNeta")?)?;
    let total_impuesto = opt_money(c.opt("TotalImpuesto"))?;
    let total_iva_devuelto = opt_money(c.opt("TotalIVADevuelto"))?;
    let total_otros_cargos = opt_money(c.opt("TotalOtrosCargos"))?;
    let total_comprobante = money(c.req("TotalComprobante")?)?;
    c.finish()?;
    Ok(Resumen {
        codigo_moneda,
        tipo_cambio,
        total_serv_gravados,
        total_serv_exentos,
        total_serv_exonerado,
        total_merc_gravadas,
        total_merc_exentas,
        total_merc_exonerada,
        total_gravado,
        total_exento,
        total_exonerado,
        total_venta,
        total_descuentos,
        total_venta_neta,
        total_impuesto,
        total_iva_devuelto,
        total_otros_cargos,
        total_comprobante,
    })
}

fn referencia(n: &Node) -> Result<Referencia, Error> {
    let mut c = Cur::new(n);
    let tipo_doc = string(c.req("TipoDoc")?)?;
    let numero = string(c.req("Numero")?)?;
    let fecha_emision = datetime(c.req("FechaEmision")?)?;
    let codigo = string(c.req("Codigo")?)?;
    let razon = string(c.req("Razon")?)?;
    c.finish()?;
    Ok(Referencia {
        tipo_doc,
        numero,
        fecha_emision,
        codigo,
        razon,
    })
}
