//! Plain Rust models of the v4.4 comprobantes and the mensaje receptor.
//!
//! One [`Comprobante`] type covers FE, TE, NC, ND, FEC, FEE and REP: the [`TipoDocumento`] in the
//! clave's consecutivo selects the root element, the namespace and which elements are written
//! (the writer follows each XSD's element order; [`crate::validate`] reports fields that the
//! document type does not allow). Code lists (`CondicionVenta`, `Codigo` of a tax, …) are kept as
//! the two-character strings of the XSD; [`crate::codes`] has the common ones as constants.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

use crate::clave::{Clave, Consecutivo};
use crate::revision::SchemaRevision;
use crate::tipo::TipoDocumento;

/// Identification type (`Identificacion/Tipo`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TipoIdentificacion {
    /// `01` cédula física (9 digits).
    CedulaFisica,
    /// `02` cédula jurídica (10 digits).
    CedulaJuridica,
    /// `03` DIMEX (11 or 12 digits).
    Dimex,
    /// `04` NITE (10 digits).
    Nite,
    /// `05` extranjero no domiciliado.
    ExtranjeroNoDomiciliado,
    /// `06` no contribuyente (new in v4.4).
    NoContribuyente,
}

impl TipoIdentificacion {
    /// Two-digit code.
    pub fn code(self) -> &'static str {
        match self {
            TipoIdentificacion::CedulaFisica => "01",
            TipoIdentificacion::CedulaJuridica => "02",
            TipoIdentificacion::Dimex => "03",
            TipoIdentificacion::Nite => "04",
            TipoIdentificacion::ExtranjeroNoDomiciliado => "05",
            TipoIdentificacion::NoContribuyente => "06",
        }
    }
    /// Parses a two-digit code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            TipoIdentificacion::CedulaFisica,
            TipoIdentificacion::CedulaJuridica,
            TipoIdentificacion::Dimex,
            TipoIdentificacion::Nite,
            TipoIdentificacion::ExtranjeroNoDomiciliado,
            TipoIdentificacion::NoContribuyente,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }
    /// Allowed lengths of the number for this type (`None` = any length up to 20).
    pub fn lengths(self) -> Option<&'static [usize]> {
        match self {
            TipoIdentificacion::CedulaFisica => Some(&[9]),
            TipoIdentificacion::CedulaJuridica | TipoIdentificacion::Nite => Some(&[10]),
            TipoIdentificacion::Dimex => Some(&[11, 12]),
            TipoIdentificacion::ExtranjeroNoDomiciliado | TipoIdentificacion::NoContribuyente => {
                None
            }
        }
    }
}

/// `Identificacion`: type and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identificacion {
    /// Type.
    pub tipo: TipoIdentificacion,
    /// Number without separators.
    pub numero: String,
}

impl Identificacion {
    /// Builds an identification.
    pub fn new(tipo: TipoIdentificacion, numero: impl Into<String>) -> Self {
        Self {
            tipo,
            numero: numero.into(),
        }
    }
}

/// `Ubicacion`: province, canton, district codes and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ubicacion {
    /// Province, 1 digit.
    pub provincia: u8,
    /// Canton, 2 digits.
    pub canton: u8,
    /// District, 2 digits.
    pub distrito: u8,
    /// Neighbourhood (5–50 characters).
    pub barrio: Option<String>,
    /// Other directions (5–250 characters).
    pub otras_senas: String,
}

/// `Telefono`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telefono {
    /// Country calling code (≤ 3 digits).
    pub codigo_pais: u16,
    /// Number.
    pub numero: u64,
}

/// A party: `Emisor` or `Receptor`. Which fields are written depends on the document type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parte {
    /// `Nombre`.
    pub nombre: String,
    /// `Identificacion` (optional only for the receptor of TE, NC, ND, FEE).
    pub identificacion: Option<Identificacion>,
    /// `Registrofiscal8707` (emisor only).
    pub registro_fiscal_8707: Option<String>,
    /// `NombreComercial`.
    pub nombre_comercial: Option<String>,
    /// `Ubicacion`.
    pub ubicacion: Option<Ubicacion>,
    /// `OtrasSenasExtranjero` (receptor; emisor of FEC).
    pub otras_senas_extranjero: Option<String>,
    /// `Telefono`.
    pub telefono: Option<Telefono>,
    /// `CorreoElectronico` (emisor: 1–4, 0–4 in FEC; receptor: 0–1).
    pub correos: Vec<String>,
}

/// `CodigoComercial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodigoComercial {
    /// `Tipo` (01 vendedor, 02 comprador, 03 industria, 04 uso interno, 99 otros).
    pub tipo: String,
    /// `Codigo` (≤ 20).
    pub codigo: String,
}

/// `Descuento`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descuento {
    /// `MontoDescuento`.
    pub monto: Decimal,
    /// `CodigoDescuento`.
    pub codigo: String,
    /// `CodigoDescuentoOTRO` (when `codigo` is 99).
    pub codigo_otro: Option<String>,
    /// `NaturalezaDescuento`.
    pub naturaleza: Option<String>,
}

/// `Exoneracion` of one tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exoneracion {
    /// `TipoDocumentoEX1`.
    pub tipo_documento: String,
    /// `TipoDocumentoOTRO`.
    pub tipo_documento_otro: Option<String>,
    /// `NumeroDocumento`.
    pub numero_documento: String,
    /// `Articulo`.
    pub articulo: Option<u32>,
    /// `Inciso`.
    pub inciso: Option<u32>,
    /// `NombreInstitucion` (code).
    pub nombre_institucion: String,
    /// `NombreInstitucionOtros`.
    pub nombre_institucion_otros: Option<String>,
    /// `FechaEmisionEX`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `TarifaExonerada`: percentage points of the tax rate that are exonerated.
    pub tarifa_exonerada: Decimal,
    /// `MontoExoneracion` (computed by [`crate::totals`]).
    pub monto: Decimal,
}

/// `DatosImpuestoEspecifico`: unit-based data of a specific tax (FE, TE, NC, ND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatosImpuestoEspecifico {
    /// `CantidadUnidadMedida` (decimal 7,2).
    pub cantidad_unidad_medida: Decimal,
    /// `Porcentaje` (decimal 4,2).
    pub porcentaje: Option<Decimal>,
    /// `Proporcion` (decimal 5,2).
    pub proporcion: Option<Decimal>,
    /// `VolumenUnidadConsumo` (decimal 7,2).
    pub volumen_unidad_consumo: Option<Decimal>,
    /// `ImpuestoUnidad` (amount).
    pub impuesto_unidad: Decimal,
}

/// `Impuesto` of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impuesto {
    /// `Codigo` (01 IVA, 02 selectivo de consumo, …, 99 otros).
    pub codigo: String,
    /// `CodigoImpuestoOTRO`.
    pub codigo_impuesto_otro: Option<String>,
    /// `CodigoTarifaIVA` (IVA only).
    pub codigo_tarifa_iva: Option<String>,
    /// `Tarifa` in percent (e.g. `13.00`).
    pub tarifa: Option<Decimal>,
    /// `FactorCalculoIVA` (code 08).
    pub factor_calculo_iva: Option<Decimal>,
    /// `DatosImpuestoEspecifico` (unit-based specific taxes; FE, TE, NC, ND). The totals engine
    /// keeps the `monto` given for such a tax.
    pub datos_impuesto_especifico: Option<DatosImpuestoEspecifico>,
    /// `Monto` (computed by [`crate::totals`] when `tarifa` is set).
    pub monto: Decimal,
    /// `MontoExportacion` (NC, ND, FEE).
    pub monto_exportacion: Option<Decimal>,
    /// `Exoneracion` (not in FEE, REP).
    pub exoneracion: Option<Exoneracion>,
}

impl Impuesto {
    /// IVA at a tarifa code and rate, e.g. `Impuesto::iva("08", dec!(13))`.
    pub fn iva(codigo_tarifa: &str, tarifa: Decimal) -> Self {
        Self {
            codigo: crate::codes::IMPUESTO_IVA.to_owned(),
            codigo_impuesto_otro: None,
            codigo_tarifa_iva: Some(codigo_tarifa.to_owned()),
            tarifa: Some(tarifa),
            factor_calculo_iva: None,
            datos_impuesto_especifico: None,
            monto: Decimal::ZERO,
            monto_exportacion: None,
            exoneracion: None,
        }
    }
}

/// `DetalleSurtido/LineaDetalleSurtido`: one component of a combo / package (FE, TE, NC, ND,
/// FEE). Its element names carry the `Surtido` suffix in the XML; the fields reuse the line types:
/// a component's [`Descuento`] has no `naturaleza`, its [`Impuesto`] no `factor_calculo_iva`,
/// `monto_exportacion` or `exoneracion` (validation reports them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineaDetalleSurtido {
    /// `CodigoCABYSSurtido` (13 digits).
    pub codigo_cabys: String,
    /// `CodigoComercialSurtido` (≤ 5).
    pub codigos_comerciales: Vec<CodigoComercial>,
    /// `CantidadSurtido` (≤ 3 decimals).
    pub cantidad: Decimal,
    /// `UnidadMedidaSurtido`.
    pub unidad_medida: String,
    /// `UnidadMedidaComercialSurtido`.
    pub unidad_medida_comercial: Option<String>,
    /// `DetalleSurtido` (description).
    pub detalle: String,
    /// `PrecioUnitarioSurtido`.
    pub precio_unitario: Decimal,
    /// `MontoTotalSurtido` (computed).
    pub monto_total: Decimal,
    /// `DescuentoSurtido` (≤ 5).
    pub descuentos: Vec<Descuento>,
    /// `SubTotalSurtido` (computed).
    pub sub_total: Decimal,
    /// `IVACobradoFabricaSurtido` (not in FEE).
    pub iva_cobrado_fabrica: Option<String>,
    /// `BaseImponibleSurtido` (computed; not in FEE).
    pub base_imponible: Decimal,
    /// `ImpuestoSurtido` (≥ 1).
    pub impuestos: Vec<Impuesto>,
}

/// `LineaDetalle`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineaDetalle {
    /// `NumeroLinea` (1-based; set by [`crate::totals::compute`]).
    pub numero_linea: u32,
    /// `PartidaArancelaria` (NC, ND, FEE).
    pub partida_arancelaria: Option<String>,
    /// `CodigoCABYS` (13 characters; not in REP).
    pub codigo_cabys: Option<String>,
    /// `CodigoComercial` (≤ 5).
    pub codigos_comerciales: Vec<CodigoComercial>,
    /// `Cantidad` (≤ 3 decimals).
    pub cantidad: Decimal,
    /// `UnidadMedida` (e.g. `Unid`, `Sp`).
    pub unidad_medida: String,
    /// `TipoTransaccion`.
    pub tipo_transaccion: Option<String>,
    /// `UnidadMedidaComercial`.
    pub unidad_medida_comercial: Option<String>,
    /// `Detalle` (description).
    pub detalle: String,
    /// `NumeroVINoSerie`.
    pub numeros_vin_serie: Vec<String>,
    /// `RegistroMedicamento`.
    pub registro_medicamento: Option<String>,
    /// `FormaFarmaceutica`.
    pub forma_farmaceutica: Option<String>,
    /// `DetalleSurtido` (combo components, ≤ 20; empty = no element; FE, TE, NC, ND, FEE).
    pub surtido: Vec<LineaDetalleSurtido>,
    /// `PrecioUnitario`.
    pub precio_unitario: Decimal,
    /// `MontoTotal` = cantidad × precio (computed; in REP it is the input amount).
    pub monto_total: Decimal,
    /// `Descuento` (≤ 5).
    pub descuentos: Vec<Descuento>,
    /// `SubTotal` = MontoTotal − descuentos (computed).
    pub sub_total: Decimal,
    /// `IVACobradoFabrica` (`01`/`02`).
    pub iva_cobrado_fabrica: Option<String>,
    /// `BaseImponible` (computed; not in FEE, REP).
    pub base_imponible: Decimal,
    /// `Impuesto` list.
    pub impuestos: Vec<Impuesto>,
    /// `ImpuestoAsumidoEmisorFabrica` (required in FE and TE; optional in NC/ND; absent elsewhere).
    pub impuesto_asumido_emisor_fabrica: Option<Decimal>,
    /// `ImpuestoNeto` (computed; not in FEE).
    pub impuesto_neto: Decimal,
    /// `MontoTotalLinea` (computed).
    pub monto_total_linea: Decimal,
}

/// `OtrosCargos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtroCargo {
    /// `TipoDocumentoOC`.
    pub tipo_documento: String,
    /// `TipoDocumentoOTROS`.
    pub tipo_documento_otros: Option<String>,
    /// `IdentificacionTercero`.
    pub identificacion_tercero: Option<Identificacion>,
    /// `NombreTercero`.
    pub nombre_tercero: Option<String>,
    /// `Detalle`.
    pub detalle: String,
    /// `PorcentajeOC` (informative).
    pub porcentaje: Option<Decimal>,
    /// `MontoCargo`.
    pub monto: Decimal,
}

/// `MedioPago` (≤ 4 per document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedioPago {
    /// `TipoMedioPago` (01 efectivo, 02 tarjeta, 03 cheque, 04 transferencia, 05 recaudado por
    /// terceros, 06 SINPE Móvil, 07 plataforma digital, 99 otros). Required in REP.
    pub tipo: Option<String>,
    /// `MedioPagoOtros`.
    pub otros: Option<String>,
    /// `TotalMedioPago` (required when there is more than one medio de pago).
    pub total: Option<Decimal>,
}

impl MedioPago {
    /// A medio de pago of the given type without amount.
    pub fn new(tipo: &str) -> Self {
        Self {
            tipo: Some(tipo.to_owned()),
            otros: None,
            total: None,
        }
    }
}

/// `TotalDesgloseImpuesto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesgloseImpuesto {
    /// `Codigo`.
    pub codigo: String,
    /// `CodigoTarifaIVA`.
    pub codigo_tarifa_iva: Option<String>,
    /// `TotalMontoImpuesto`.
    pub total: Decimal,
}

/// `ResumenFactura`. Totals are computed by [`crate::totals::compute`]; `None` = not written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResumenFactura {
    /// `CodigoMoneda` (ISO 4217), e.g. `CRC`.
    pub codigo_moneda: String,
    /// `TipoCambio` (1 for CRC).
    pub tipo_cambio: Decimal,
    /// `TotalServGravados`.
    pub total_serv_gravados: Option<Decimal>,
    /// `TotalServExentos`.
    pub total_serv_exentos: Option<Decimal>,
    /// `TotalServExonerado`.
    pub total_serv_exonerado: Option<Decimal>,
    /// `TotalServNoSujeto`.
    pub total_serv_no_sujeto: Option<Decimal>,
    /// `TotalMercanciasGravadas`.
    pub total_merc_gravadas: Option<Decimal>,
    /// `TotalMercanciasExentas`.
    pub total_merc_exentas: Option<Decimal>,
    /// `TotalMercExonerada`.
    pub total_merc_exonerada: Option<Decimal>,
    /// `TotalMercNoSujeta`.
    pub total_merc_no_sujeta: Option<Decimal>,
    /// `TotalGravado`.
    pub total_gravado: Option<Decimal>,
    /// `TotalExento`.
    pub total_exento: Option<Decimal>,
    /// `TotalExonerado`.
    pub total_exonerado: Option<Decimal>,
    /// `TotalNoSujeto`.
    pub total_no_sujeto: Option<Decimal>,
    /// `TotalVenta`.
    pub total_venta: Decimal,
    /// `TotalDescuentos`.
    pub total_descuentos: Option<Decimal>,
    /// `TotalVentaNeta`.
    pub total_venta_neta: Decimal,
    /// `TotalDesgloseImpuesto`.
    pub desglose_impuestos: Vec<DesgloseImpuesto>,
    /// `TotalImpuesto`.
    pub total_impuesto: Option<Decimal>,
    /// `TotalImpAsumEmisorFabrica`.
    pub total_imp_asum_emisor_fabrica: Option<Decimal>,
    /// `TotalIVADevuelto` (input: IVA returned for medical services paid by card; FE/TE/NC/ND).
    pub total_iva_devuelto: Option<Decimal>,
    /// `TotalOtrosCargos`.
    pub total_otros_cargos: Option<Decimal>,
    /// `MedioPago` (input, ≤ 4).
    pub medios_pago: Vec<MedioPago>,
    /// `TotalComprobante`.
    pub total_comprobante: Decimal,
}

/// `InformacionReferencia`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformacionReferencia {
    /// `TipoDocIR` (01–18, 99; 19 FEE and 20 REP from the 2026 revision).
    pub tipo_doc: String,
    /// `TipoDocRefOTRO`.
    pub tipo_doc_otro: Option<String>,
    /// `Numero`: clave (or consecutivo) of the referenced document (required in REP).
    pub numero: Option<String>,
    /// `FechaEmisionIR`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `Codigo` (01–12, 99; 13–16 from the 2026 revision, 17 only in REP under 2026).
    pub codigo: Option<String>,
    /// `CodigoReferenciaOTRO`.
    pub codigo_otro: Option<String>,
    /// `Razon`.
    pub razon: Option<String>,
}

/// One of the seven v4.4 comprobantes (FE, ND, NC, TE, FEC, FEE, REP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comprobante {
    /// Schema revision the document is written and validated against.
    pub revision: SchemaRevision,
    /// `Clave`; its consecutivo gives the document type and `NumeroConsecutivo`.
    pub clave: Clave,
    /// `ProveedorSistemas`: identification of the software vendor (≤ 20).
    pub proveedor_sistemas: String,
    /// `CodigoActividadEmisor` (6; not in REP, optional in FEC).
    pub codigo_actividad_emisor: Option<String>,
    /// `CodigoActividadReceptor` (6; FE, NC, ND optional; required in FEC).
    pub codigo_actividad_receptor: Option<String>,
    /// `FechaEmision`.
    pub fecha_emision: DateTime<FixedOffset>,
    /// `Emisor`.
    pub emisor: Parte,
    /// `Receptor` (required in FE, FEC, REP).
    pub receptor: Option<Parte>,
    /// `CondicionVenta` (01 contado, 02 crédito, …; REP: 09 or 11).
    pub condicion_venta: String,
    /// `CondicionVentaOtros`.
    pub condicion_venta_otros: Option<String>,
    /// `PlazoCredito` in days.
    pub plazo_credito: Option<u32>,
    /// `DetalleServicio/LineaDetalle` (≤ 1000).
    pub lineas: Vec<LineaDetalle>,
    /// `OtrosCargos` (≤ 15; not in REP).
    pub otros_cargos: Vec<OtroCargo>,
    /// `ResumenFactura`.
    pub resumen: ResumenFactura,
    /// `InformacionReferencia` (≤ 10; at least 1 in NC, ND, FEC, REP).
    pub referencias: Vec<InformacionReferencia>,
    /// `Otros/OtroTexto`.
    pub otros_texto: Vec<Otro>,
    /// `Otros/OtroContenido`.
    pub otros_contenido: Vec<Otro>,
}

/// One `Otros/OtroTexto` or `Otros/OtroContenido` entry: text of at most 500 characters with an
/// optional `codigo` attribute.
///
/// The official v4.4 schemas (the 2024 text as republished in 2026, and the 2026 revision) allow
/// `codigo` on both elements; Hacienda's pre-2026 copies of the FE/TE/NC/ND schemas do not, so
/// leave it `None` unless the receiver asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Otro {
    /// The element's text.
    pub texto: String,
    /// The `codigo` attribute.
    pub codigo: Option<String>,
}

impl Otro {
    /// An entry with text and no `codigo`.
    pub fn new(texto: impl Into<String>) -> Self {
        Self {
            texto: texto.into(),
            codigo: None,
        }
    }

    /// The same entry with a `codigo` attribute.
    #[must_use]
    pub fn with_codigo(mut self, codigo: impl Into<String>) -> Self {
        self.codigo = Some(codigo.into());
        self
    }
}

impl From<&str> for Otro {
    fn from(texto: &str) -> Self {
        Self::new(texto)
    }
}

impl From<String> for Otro {
    fn from(texto: String) -> Self {
        Self::new(texto)
    }
}

impl Comprobante {
    /// A document with the given clave, date and parties, no lines, in CRC, with the schema
    /// revision in force at `fecha_emision`. Fill lines, medios de pago and references, then call
    /// [`crate::totals::compute`].
    pub fn new(
        clave: Clave,
        fecha_emision: DateTime<FixedOffset>,
        proveedor_sistemas: impl Into<String>,
        emisor: Parte,
        receptor: Option<Parte>,
    ) -> Self {
        Self {
            revision: SchemaRevision::in_force_at(&fecha_emision),
            clave,
            proveedor_sistemas: proveedor_sistemas.into(),
            codigo_actividad_emisor: None,
            codigo_actividad_receptor: None,
            fecha_emision,
            emisor,
            receptor,
            condicion_venta: crate::codes::CONDICION_CONTADO.to_owned(),
            condicion_venta_otros: None,
            plazo_credito: None,
            lineas: Vec::new(),
            otros_cargos: Vec::new(),
            resumen: ResumenFactura {
                codigo_moneda: "CRC".to_owned(),
                tipo_cambio: Decimal::ONE,
                ..ResumenFactura::default()
            },
            referencias: Vec::new(),
            otros_texto: Vec::new(),
            otros_contenido: Vec::new(),
        }
    }

    /// The document type (from the clave's consecutivo).
    pub fn tipo(&self) -> TipoDocumento {
        self.clave.consecutivo().tipo()
    }

    /// `NumeroConsecutivo` (from the clave).
    pub fn consecutivo(&self) -> &Consecutivo {
        self.clave.consecutivo()
    }
}

/// `Mensaje` of a mensaje receptor.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RespuestaReceptor {
    /// `1` aceptado (consecutivo tipo 05).
    Aceptado,
    /// `2` aceptado parcialmente (tipo 06).
    AceptadoParcial,
    /// `3` rechazado (tipo 07).
    Rechazado,
}

impl RespuestaReceptor {
    /// The `Mensaje` digit.
    pub fn code(self) -> &'static str {
        match self {
            RespuestaReceptor::Aceptado => "1",
            RespuestaReceptor::AceptadoParcial => "2",
            RespuestaReceptor::Rechazado => "3",
        }
    }
    /// Parses the `Mensaje` digit.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "1" => Some(RespuestaReceptor::Aceptado),
            "2" => Some(RespuestaReceptor::AceptadoParcial),
            "3" => Some(RespuestaReceptor::Rechazado),
            _ => None,
        }
    }
    /// The consecutivo type the receptor's own numbering must use.
    pub fn tipo_documento(self) -> TipoDocumento {
        match self {
            RespuestaReceptor::Aceptado => TipoDocumento::AceptacionReceptor,
            RespuestaReceptor::AceptadoParcial => TipoDocumento::AceptacionParcialReceptor,
            RespuestaReceptor::Rechazado => TipoDocumento::RechazoReceptor,
        }
    }
}

/// `MensajeReceptor`: the receiver's acceptance or rejection of a comprobante.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MensajeReceptor {
    /// Schema revision.
    pub revision: SchemaRevision,
    /// `Clave` of the received comprobante.
    pub clave: Clave,
    /// `NumeroCedulaEmisor` of the received comprobante.
    pub numero_cedula_emisor: String,
    /// `FechaEmisionDoc`: when this message is issued.
    pub fecha_emision_doc: DateTime<FixedOffset>,
    /// `Mensaje`.
    pub mensaje: RespuestaReceptor,
    /// `DetalleMensaje` (≤ 160).
    pub detalle_mensaje: Option<String>,
    /// `MontoTotalImpuesto`.
    pub monto_total_impuesto: Option<Decimal>,
    /// `CodigoActividad`.
    pub codigo_actividad: Option<String>,
    /// `CondicionImpuesto` (01–05).
    pub condicion_impuesto: Option<String>,
    /// `MontoTotalImpuestoAcreditar`.
    pub monto_total_impuesto_acreditar: Option<Decimal>,
    /// `MontoTotalDeGastoAplicable`.
    pub monto_total_de_gasto_aplicable: Option<Decimal>,
    /// `TotalFactura`.
    pub total_factura: Decimal,
    /// `NumeroCedulaReceptor`.
    pub numero_cedula_receptor: String,
    /// `NumeroConsecutivoReceptor` (tipo 05, 06 or 07 matching `mensaje`).
    pub numero_consecutivo_receptor: Consecutivo,
}

/// A parsed document: a comprobante or a mensaje receptor.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Documento {
    /// FE, ND, NC, TE, FEC, FEE or REP.
    Comprobante(Box<Comprobante>),
    /// Mensaje receptor.
    MensajeReceptor(Box<MensajeReceptor>),
}

impl Documento {
    /// The document type (for a mensaje receptor: from its `Mensaje`).
    pub fn tipo(&self) -> TipoDocumento {
        match self {
            Documento::Comprobante(c) => c.tipo(),
            Documento::MensajeReceptor(m) => m.mensaje.tipo_documento(),
        }
    }
    /// The clave (for a mensaje receptor: of the document it answers).
    pub fn clave(&self) -> &Clave {
        match self {
            Documento::Comprobante(c) => &c.clave,
            Documento::MensajeReceptor(m) => &m.clave,
        }
    }
}

/// `Mensaje` of a MensajeHacienda.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EstadoHacienda {
    /// `1` aceptado.
    Aceptado,
    /// `2` aceptado parcialmente.
    AceptadoParcial,
    /// `3` rechazado.
    Rechazado,
}

/// Hacienda's answer to a submitted document (`respuesta-xml`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MensajeHacienda {
    /// `Clave` of the answered document.
    pub clave: Clave,
    /// `NombreEmisor`.
    pub nombre_emisor: String,
    /// `TipoIdentificacionEmisor`.
    pub tipo_identificacion_emisor: TipoIdentificacion,
    /// `NumeroCedulaEmisor`.
    pub numero_cedula_emisor: String,
    /// `NombreReceptor`.
    pub nombre_receptor: Option<String>,
    /// `TipoIdentificacionReceptor`.
    pub tipo_identificacion_receptor: Option<TipoIdentificacion>,
    /// `NumeroCedulaReceptor`.
    pub numero_cedula_receptor: Option<String>,
    /// `Mensaje`.
    pub mensaje: EstadoHacienda,
    /// `EstadoMensaje` (text, e.g. `Aceptado`, `Rechazado`; absent in v4.3 answers).
    pub estado_mensaje: Option<String>,
    /// `DetalleMensaje`: Hacienda's explanation (lists the validation errors when rejected).
    pub detalle_mensaje: String,
    /// `MontoTotalImpuesto`.
    pub monto_total_impuesto: Option<Decimal>,
    /// `TotalFactura`.
    pub total_factura: Decimal,
    /// Whether a `ds:Signature` element was present (it is not verified by the parser).
    pub firmado: bool,
}

impl Comprobante {
    /// Computes line amounts and `ResumenFactura` (see [`crate::totals::compute`]).
    pub fn compute_totals(&mut self) -> Result<(), crate::Error> {
        crate::totals::compute(self)
    }
    /// Runs the native validation rules.
    pub fn validate(&self) -> crate::validate::Report {
        crate::validate::comprobante(self)
    }
    /// Validates, then writes the unsigned XML (see [`crate::write`]).
    pub fn to_xml(&self) -> Result<Vec<u8>, crate::Error> {
        crate::write::comprobante(self)
    }
    /// Validates, writes and signs (XAdES-EPES, signature appended as the last child of the
    /// root; see [`crate::xades::sign`]). The returned bytes are final: send them as they are.
    pub fn to_signed_xml(
        &self,
        key: &crate::keystore::SigningKey,
        options: &crate::xades::SignOptions,
    ) -> Result<Vec<u8>, crate::Error> {
        Ok(crate::xades::sign(&self.to_xml()?, key, options)?)
    }
    /// Parses a comprobante (see [`crate::parse`]).
    pub fn from_xml(xml: &[u8]) -> Result<Self, crate::Error> {
        crate::parse::comprobante_xml(xml)
    }
}

impl MensajeReceptor {
    /// Runs the native validation rules.
    pub fn validate(&self) -> crate::validate::Report {
        crate::validate::mensaje_receptor(self)
    }
    /// Validates, then writes the unsigned XML.
    pub fn to_xml(&self) -> Result<Vec<u8>, crate::Error> {
        crate::write::mensaje_receptor(self)
    }
    /// Validates, writes and signs (see [`Comprobante::to_signed_xml`]).
    pub fn to_signed_xml(
        &self,
        key: &crate::keystore::SigningKey,
        options: &crate::xades::SignOptions,
    ) -> Result<Vec<u8>, crate::Error> {
        Ok(crate::xades::sign(&self.to_xml()?, key, options)?)
    }
}

impl MensajeHacienda {
    /// Parses Hacienda's answer (see [`crate::parse::mensaje_hacienda`]).
    pub fn from_xml(xml: &[u8]) -> Result<Self, crate::Error> {
        crate::parse::mensaje_hacienda(xml)
    }
}
