//! Plain Rust models of the v4.4 comprobantes and the mensaje receptor.
//!
//! One [`Comprobante`] type covers FE, TE, NC, ND, FEC, FEE and REP: the [`TipoDocumento`] in the
//! clave's consecutivo selects the root element, the namespace and which elements are written
//! (the writer follows each XSD's element order; [`crate::validate`] reports fields that the
//! document type does not allow). Code lists (`CondicionVenta`, `Codigo` of a tax, …) are kept as
//! the two-character strings of the XSD; [`crate::codes`] has the common ones as constants.
//!
//! Every struct and enum here is `#[non_exhaustive]`, so a field or code added by a new XSD
//! revision is not a breaking change. Outside this crate, build values with the constructors
//! (`new`, [`Impuesto::iva`]) and the `with_*` methods (or `Default` where a type has one), then
//! set any other public field directly:
//!
//! ```
//! use cr_einvoice::{Descuento, Impuesto, LineaDetalle, Parte, Ubicacion};
//! use rust_decimal::Decimal;
//!
//! let linea = LineaDetalle::new("8314100000000", Decimal::ONE, "Sp", "Consultoría", Decimal::TEN)
//!     .with_impuesto(Impuesto::iva("08", Decimal::new(13, 0)))
//!     .with_descuento(Descuento::new(Decimal::ONE, "07").with_naturaleza("Promoción"));
//! let mut parte = Parte::new("Cliente Demo S.R.L.")
//!     .with_ubicacion(Ubicacion::new(1, 1, 1, "100 m norte del parque central"));
//! parte.nombre_comercial = Some("Cliente Demo".into());
//! assert_eq!(linea.codigo_cabys.as_deref(), Some("8314100000000"));
//! ```
//!
//! Struct literals do not compile outside the crate:
//!
//! ```compile_fail
//! let u = cr_einvoice::Ubicacion {
//!     provincia: 1,
//!     canton: 1,
//!     distrito: 1,
//!     barrio: None,
//!     otras_senas: String::new(),
//! };
//! ```

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
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identificacion {
    /// `Tipo`: which kind of id (cédula física, jurídica, DIMEX, NITE, …); it fixes the number's
    /// allowed lengths ([`TipoIdentificacion::lengths`]).
    pub tipo: TipoIdentificacion,
    /// `Numero`: the id without separators or dashes.
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
#[non_exhaustive]
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

impl Ubicacion {
    /// An address: province (1 digit), canton and district (2 digits each) codes of the
    /// Hacienda territorial division, and `OtrasSenas` (5–250 characters). No barrio.
    pub fn new(provincia: u8, canton: u8, distrito: u8, otras_senas: impl Into<String>) -> Self {
        Self {
            provincia,
            canton,
            distrito,
            barrio: None,
            otras_senas: otras_senas.into(),
        }
    }

    /// The same address with a `Barrio` (5–50 characters).
    #[must_use]
    pub fn with_barrio(mut self, barrio: impl Into<String>) -> Self {
        self.barrio = Some(barrio.into());
        self
    }
}

/// `Telefono` of a party: country calling code and number.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telefono {
    /// Country calling code (≤ 3 digits).
    pub codigo_pais: u16,
    /// `NumTelefono`: the subscriber number without the country code.
    pub numero: u64,
}

impl Telefono {
    /// A phone number: country calling code (506 for Costa Rica) and the number.
    pub fn new(codigo_pais: u16, numero: u64) -> Self {
        Self {
            codigo_pais,
            numero,
        }
    }
}

/// A party: `Emisor` or `Receptor`. Which fields are written depends on the document type.
#[non_exhaustive]
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

impl Parte {
    /// A party with only a `Nombre`; add the rest with the `with_*` methods (or set the fields).
    pub fn new(nombre: impl Into<String>) -> Self {
        Self {
            nombre: nombre.into(),
            ..Self::default()
        }
    }

    /// The same party with an `Identificacion`.
    #[must_use]
    pub fn with_identificacion(mut self, identificacion: Identificacion) -> Self {
        self.identificacion = Some(identificacion);
        self
    }

    /// The same party with a `Ubicacion`.
    #[must_use]
    pub fn with_ubicacion(mut self, ubicacion: Ubicacion) -> Self {
        self.ubicacion = Some(ubicacion);
        self
    }

    /// The same party with one more `CorreoElectronico` (appended).
    #[must_use]
    pub fn with_correo(mut self, correo: impl Into<String>) -> Self {
        self.correos.push(correo.into());
        self
    }

    /// The same party with a `Telefono`.
    #[must_use]
    pub fn with_telefono(mut self, telefono: Telefono) -> Self {
        self.telefono = Some(telefono);
        self
    }

    /// The same party with a `NombreComercial`.
    #[must_use]
    pub fn with_nombre_comercial(mut self, nombre_comercial: impl Into<String>) -> Self {
        self.nombre_comercial = Some(nombre_comercial.into());
        self
    }

    /// The same party with `OtrasSenasExtranjero` (a foreign address instead of a `Ubicacion`).
    #[must_use]
    pub fn with_otras_senas_extranjero(mut self, otras_senas: impl Into<String>) -> Self {
        self.otras_senas_extranjero = Some(otras_senas.into());
        self
    }

    /// The same party with `Registrofiscal8707` (emisor only: beverage/tobacco registry).
    #[must_use]
    pub fn with_registro_fiscal_8707(mut self, registro: impl Into<String>) -> Self {
        self.registro_fiscal_8707 = Some(registro.into());
        self
    }
}

/// `CodigoComercial`: the seller's, buyer's or manufacturer's own code for a line's item.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodigoComercial {
    /// `Tipo` (01 vendedor, 02 comprador, 03 industria, 04 uso interno, 99 otros).
    pub tipo: String,
    /// `Codigo` (≤ 20).
    pub codigo: String,
}

impl CodigoComercial {
    /// A commercial code: `Tipo` (`01` vendedor … `99` otros) and `Codigo` (≤ 20).
    pub fn new(tipo: impl Into<String>, codigo: impl Into<String>) -> Self {
        Self {
            tipo: tipo.into(),
            codigo: codigo.into(),
        }
    }
}

/// `Descuento` of a line: an amount subtracted from `MontoTotal` before taxes, with its
/// reason code.
#[non_exhaustive]
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

impl Descuento {
    /// A discount: `MontoDescuento` (rounded to 5 decimals by [`crate::totals`]) and
    /// `CodigoDescuento`, without `CodigoDescuentoOTRO` or `NaturalezaDescuento`.
    pub fn new(monto: Decimal, codigo: impl Into<String>) -> Self {
        Self {
            monto,
            codigo: codigo.into(),
            codigo_otro: None,
            naturaleza: None,
        }
    }

    /// The same discount with a `NaturalezaDescuento` (why it is given).
    #[must_use]
    pub fn with_naturaleza(mut self, naturaleza: impl Into<String>) -> Self {
        self.naturaleza = Some(naturaleza.into());
        self
    }

    /// The same discount with `CodigoDescuentoOTRO` (required when the code is `99`).
    #[must_use]
    pub fn with_codigo_otro(mut self, codigo_otro: impl Into<String>) -> Self {
        self.codigo_otro = Some(codigo_otro.into());
        self
    }
}

/// `Exoneracion` of one tax.
#[non_exhaustive]
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

impl Exoneracion {
    /// An exoneration: `TipoDocumentoEX1`, `NumeroDocumento`, `NombreInstitucion` code,
    /// `FechaEmisionEX` and `TarifaExonerada` (percentage points). `MontoExoneracion` starts at
    /// zero and is computed by [`crate::totals`]; article, inciso and the `*OTRO` texts are unset.
    pub fn new(
        tipo_documento: impl Into<String>,
        numero_documento: impl Into<String>,
        nombre_institucion: impl Into<String>,
        fecha_emision: DateTime<FixedOffset>,
        tarifa_exonerada: Decimal,
    ) -> Self {
        Self {
            tipo_documento: tipo_documento.into(),
            tipo_documento_otro: None,
            numero_documento: numero_documento.into(),
            articulo: None,
            inciso: None,
            nombre_institucion: nombre_institucion.into(),
            nombre_institucion_otros: None,
            fecha_emision,
            tarifa_exonerada,
            monto: Decimal::ZERO,
        }
    }

    /// The same exoneration with the law's `Articulo` (and optionally `Inciso`).
    #[must_use]
    pub fn with_articulo(mut self, articulo: u32, inciso: Option<u32>) -> Self {
        self.articulo = Some(articulo);
        self.inciso = inciso;
        self
    }

    /// The same exoneration with `TipoDocumentoOTRO` (required when the type is `99`).
    #[must_use]
    pub fn with_tipo_documento_otro(mut self, otro: impl Into<String>) -> Self {
        self.tipo_documento_otro = Some(otro.into());
        self
    }

    /// The same exoneration with `NombreInstitucionOtros` (required when the institution is `99`).
    #[must_use]
    pub fn with_nombre_institucion_otros(mut self, otros: impl Into<String>) -> Self {
        self.nombre_institucion_otros = Some(otros.into());
        self
    }
}

/// `DatosImpuestoEspecifico`: unit-based data of a specific tax (FE, TE, NC, ND).
#[non_exhaustive]
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

impl DatosImpuestoEspecifico {
    /// Unit-based tax data: `CantidadUnidadMedida` and `ImpuestoUnidad`; `Porcentaje`,
    /// `Proporcion` and `VolumenUnidadConsumo` unset (set the fields when the tax needs them).
    pub fn new(cantidad_unidad_medida: Decimal, impuesto_unidad: Decimal) -> Self {
        Self {
            cantidad_unidad_medida,
            porcentaje: None,
            proporcion: None,
            volumen_unidad_consumo: None,
            impuesto_unidad,
        }
    }
}

/// `Impuesto` of a line.
#[non_exhaustive]
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
    /// A tax with the given `Codigo` (`01` IVA, `02` selectivo de consumo, …, `99` otros), no
    /// tarifa and a `Monto` of zero: set [`Impuesto::with_tarifa`] to have
    /// [`crate::totals`] compute the amount, or [`Impuesto::with_monto`] for a fixed amount.
    pub fn new(codigo: impl Into<String>) -> Self {
        Self {
            codigo: codigo.into(),
            codigo_impuesto_otro: None,
            codigo_tarifa_iva: None,
            tarifa: None,
            factor_calculo_iva: None,
            datos_impuesto_especifico: None,
            monto: Decimal::ZERO,
            monto_exportacion: None,
            exoneracion: None,
        }
    }

    /// The same tax with a `Tarifa` in percent (the totals engine computes `Monto` from it).
    #[must_use]
    pub fn with_tarifa(mut self, tarifa: Decimal) -> Self {
        self.tarifa = Some(tarifa);
        self
    }

    /// The same tax with a fixed `Monto` (kept by the totals engine when there is no tarifa).
    #[must_use]
    pub fn with_monto(mut self, monto: Decimal) -> Self {
        self.monto = monto;
        self
    }

    /// The same tax with `CodigoImpuestoOTRO` (required when the code is `99`).
    #[must_use]
    pub fn with_codigo_impuesto_otro(mut self, otro: impl Into<String>) -> Self {
        self.codigo_impuesto_otro = Some(otro.into());
        self
    }

    /// The same tax with unit-based `DatosImpuestoEspecifico`.
    #[must_use]
    pub fn with_datos_impuesto_especifico(mut self, datos: DatosImpuestoEspecifico) -> Self {
        self.datos_impuesto_especifico = Some(datos);
        self
    }

    /// The same tax with an `Exoneracion`.
    #[must_use]
    pub fn with_exoneracion(mut self, exoneracion: Exoneracion) -> Self {
        self.exoneracion = Some(exoneracion);
        self
    }

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
#[non_exhaustive]
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

impl LineaDetalleSurtido {
    /// A combo component: `CodigoCABYSSurtido`, `CantidadSurtido`, `UnidadMedidaSurtido`,
    /// `DetalleSurtido` and `PrecioUnitarioSurtido`; no codes, discounts or taxes yet (a component
    /// needs at least one [`Impuesto`]: [`LineaDetalleSurtido::with_impuesto`]). Computed amounts
    /// start at zero.
    pub fn new(
        codigo_cabys: impl Into<String>,
        cantidad: Decimal,
        unidad_medida: impl Into<String>,
        detalle: impl Into<String>,
        precio_unitario: Decimal,
    ) -> Self {
        Self {
            codigo_cabys: codigo_cabys.into(),
            cantidad,
            unidad_medida: unidad_medida.into(),
            detalle: detalle.into(),
            precio_unitario,
            ..Self::default()
        }
    }

    /// The same component with one more `ImpuestoSurtido` (appended).
    #[must_use]
    pub fn with_impuesto(mut self, impuesto: Impuesto) -> Self {
        self.impuestos.push(impuesto);
        self
    }

    /// The same component with one more `DescuentoSurtido` (appended).
    #[must_use]
    pub fn with_descuento(mut self, descuento: Descuento) -> Self {
        self.descuentos.push(descuento);
        self
    }

    /// The same component with one more `CodigoComercialSurtido` (appended).
    #[must_use]
    pub fn with_codigo_comercial(mut self, codigo: CodigoComercial) -> Self {
        self.codigos_comerciales.push(codigo);
        self
    }
}

/// `LineaDetalle`: one line of `DetalleServicio` (an item or service sold, with its taxes).
#[non_exhaustive]
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

impl LineaDetalle {
    /// A line: `CodigoCABYS`, `Cantidad`, `UnidadMedida`, `Detalle` and `PrecioUnitario`; no
    /// taxes, discounts or codes yet (add them with the `with_*` methods). `NumeroLinea` and the
    /// computed amounts are filled by [`crate::totals::compute`].
    pub fn new(
        codigo_cabys: impl Into<String>,
        cantidad: Decimal,
        unidad_medida: impl Into<String>,
        detalle: impl Into<String>,
        precio_unitario: Decimal,
    ) -> Self {
        Self {
            codigo_cabys: Some(codigo_cabys.into()),
            cantidad,
            unidad_medida: unidad_medida.into(),
            detalle: detalle.into(),
            precio_unitario,
            ..Self::default()
        }
    }

    /// The same line with one more `Impuesto` (appended).
    #[must_use]
    pub fn with_impuesto(mut self, impuesto: Impuesto) -> Self {
        self.impuestos.push(impuesto);
        self
    }

    /// The same line with one more `Descuento` (appended, ≤ 5 per line).
    #[must_use]
    pub fn with_descuento(mut self, descuento: Descuento) -> Self {
        self.descuentos.push(descuento);
        self
    }

    /// The same line with one more `CodigoComercial` (appended, ≤ 5 per line).
    #[must_use]
    pub fn with_codigo_comercial(mut self, codigo: CodigoComercial) -> Self {
        self.codigos_comerciales.push(codigo);
        self
    }

    /// The same line with one more combo component (`DetalleSurtido`, ≤ 20).
    #[must_use]
    pub fn with_surtido(mut self, componente: LineaDetalleSurtido) -> Self {
        self.surtido.push(componente);
        self
    }

    /// The same line with `ImpuestoAsumidoEmisorFabrica` (required in FE and TE; zero when none).
    #[must_use]
    pub fn with_impuesto_asumido_emisor_fabrica(mut self, monto: Decimal) -> Self {
        self.impuesto_asumido_emisor_fabrica = Some(monto);
        self
    }
}

/// `OtrosCargos`: a charge that is not a sale line (e.g. the 10 % service charge, a third
/// party's fee); summed into `TotalOtrosCargos` and the document total.
#[non_exhaustive]
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

impl OtroCargo {
    /// A charge: `TipoDocumentoOC`, `Detalle` and `MontoCargo`; no third party or percentage.
    pub fn new(
        tipo_documento: impl Into<String>,
        detalle: impl Into<String>,
        monto: Decimal,
    ) -> Self {
        Self {
            tipo_documento: tipo_documento.into(),
            tipo_documento_otros: None,
            identificacion_tercero: None,
            nombre_tercero: None,
            detalle: detalle.into(),
            porcentaje: None,
            monto,
        }
    }

    /// The same charge collected for a third party (`IdentificacionTercero`, `NombreTercero`).
    #[must_use]
    pub fn with_tercero(
        mut self,
        identificacion: Identificacion,
        nombre: impl Into<String>,
    ) -> Self {
        self.identificacion_tercero = Some(identificacion);
        self.nombre_tercero = Some(nombre.into());
        self
    }

    /// The same charge with the informative `PorcentajeOC`.
    #[must_use]
    pub fn with_porcentaje(mut self, porcentaje: Decimal) -> Self {
        self.porcentaje = Some(porcentaje);
        self
    }

    /// The same charge with `TipoDocumentoOTROS` (required when the type is `99`).
    #[must_use]
    pub fn with_tipo_documento_otros(mut self, otros: impl Into<String>) -> Self {
        self.tipo_documento_otros = Some(otros.into());
        self
    }
}

/// `MedioPago` (≤ 4 per document).
#[non_exhaustive]
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

    /// The same medio de pago with `TotalMedioPago` (required when there are several).
    #[must_use]
    pub fn with_total(mut self, total: Decimal) -> Self {
        self.total = Some(total);
        self
    }

    /// The same medio de pago with `MedioPagoOtros` (required when the type is `99`).
    #[must_use]
    pub fn with_otros(mut self, otros: impl Into<String>) -> Self {
        self.otros = Some(otros.into());
        self
    }
}

/// `TotalDesgloseImpuesto`: the document's tax total for one tax code and IVA tarifa.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesgloseImpuesto {
    /// `Codigo`.
    pub codigo: String,
    /// `CodigoTarifaIVA`.
    pub codigo_tarifa_iva: Option<String>,
    /// `TotalMontoImpuesto`.
    pub total: Decimal,
}

impl DesgloseImpuesto {
    /// One `TotalDesgloseImpuesto` row: tax `Codigo`, `CodigoTarifaIVA` (IVA only) and the total.
    /// [`crate::totals::compute`] produces these rows; build them by hand only to compare.
    pub fn new(
        codigo: impl Into<String>,
        codigo_tarifa_iva: Option<String>,
        total: Decimal,
    ) -> Self {
        Self {
            codigo: codigo.into(),
            codigo_tarifa_iva,
            total,
        }
    }
}

/// `ResumenFactura`. Totals are computed by [`crate::totals::compute`]; `None` = not written.
#[non_exhaustive]
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

impl ResumenFactura {
    /// An empty summary in the given currency (`CodigoMoneda`, ISO 4217) and exchange rate to
    /// colones (`TipoCambio`, 1 for CRC); totals are filled by [`crate::totals::compute`].
    pub fn new(codigo_moneda: impl Into<String>, tipo_cambio: Decimal) -> Self {
        Self {
            codigo_moneda: codigo_moneda.into(),
            tipo_cambio,
            ..Self::default()
        }
    }
}

/// `InformacionReferencia`: a document this one refers to (the invoice a nota de crédito
/// corrects, the substituted document, …) and why.
#[non_exhaustive]
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

impl InformacionReferencia {
    /// A reference of type `TipoDocIR` issued at `FechaEmisionIR`; `Numero`, `Codigo` and
    /// `Razon` unset (NC and ND need them: see the `with_*` methods).
    pub fn new(tipo_doc: impl Into<String>, fecha_emision: DateTime<FixedOffset>) -> Self {
        Self {
            tipo_doc: tipo_doc.into(),
            tipo_doc_otro: None,
            numero: None,
            fecha_emision,
            codigo: None,
            codigo_otro: None,
            razon: None,
        }
    }

    /// The same reference with the referenced document's clave (or consecutivo) as `Numero`.
    #[must_use]
    pub fn with_numero(mut self, numero: impl Into<String>) -> Self {
        self.numero = Some(numero.into());
        self
    }

    /// The same reference with a `Codigo` (why it is referenced: `01` anula, `02` corrige texto, …).
    #[must_use]
    pub fn with_codigo(mut self, codigo: impl Into<String>) -> Self {
        self.codigo = Some(codigo.into());
        self
    }

    /// The same reference with `CodigoReferenciaOTRO` (required when the code is `99`).
    #[must_use]
    pub fn with_codigo_otro(mut self, codigo_otro: impl Into<String>) -> Self {
        self.codigo_otro = Some(codigo_otro.into());
        self
    }

    /// The same reference with `TipoDocRefOTRO` (required when the type is `99`).
    #[must_use]
    pub fn with_tipo_doc_otro(mut self, tipo_doc_otro: impl Into<String>) -> Self {
        self.tipo_doc_otro = Some(tipo_doc_otro.into());
        self
    }

    /// The same reference with a `Razon` (free text, ≤ 180).
    #[must_use]
    pub fn with_razon(mut self, razon: impl Into<String>) -> Self {
        self.razon = Some(razon.into());
        self
    }
}

/// One of the seven v4.4 comprobantes (FE, ND, NC, TE, FEC, FEE, REP).
#[non_exhaustive]
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
#[non_exhaustive]
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
            resumen: ResumenFactura::new("CRC", Decimal::ONE),
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
#[non_exhaustive]
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

impl MensajeReceptor {
    /// A mensaje receptor answering the comprobante `clave` (issued by `numero_cedula_emisor`
    /// for `total_factura`), numbered with the receiver's own `numero_consecutivo_receptor`
    /// (tipo 05, 06 or 07 matching `mensaje`), with the schema revision in force at
    /// `fecha_emision_doc`. The optional tax fields are unset.
    pub fn new(
        clave: Clave,
        numero_cedula_emisor: impl Into<String>,
        fecha_emision_doc: DateTime<FixedOffset>,
        mensaje: RespuestaReceptor,
        total_factura: Decimal,
        numero_cedula_receptor: impl Into<String>,
        numero_consecutivo_receptor: Consecutivo,
    ) -> Self {
        Self {
            revision: SchemaRevision::in_force_at(&fecha_emision_doc),
            clave,
            numero_cedula_emisor: numero_cedula_emisor.into(),
            fecha_emision_doc,
            mensaje,
            detalle_mensaje: None,
            monto_total_impuesto: None,
            codigo_actividad: None,
            condicion_impuesto: None,
            monto_total_impuesto_acreditar: None,
            monto_total_de_gasto_aplicable: None,
            total_factura,
            numero_cedula_receptor: numero_cedula_receptor.into(),
            numero_consecutivo_receptor,
        }
    }
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
