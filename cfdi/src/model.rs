//! In-memory model of a CFDI 4.0 document (`cfdv40.xsd`), Pagos 2.0 and TimbreFiscalDigital 1.1.
//!
//! Field names follow the SAT attribute names in `snake_case` (`SubTotal` → `sub_total`).
//! Conventions:
//!
//! * Amounts, quantities and rates are [`Decimal`]s that **keep the scale as written**
//!   (`"100.50"` stays scale 2, `"1500000"` scale 0), so decimal-place rules can be checked and the
//!   document is written back with the same digits.
//! * SAT catalog codes (`c_FormaPago`, `c_Impuesto`, `c_RegimenFiscal`, …) are `String`s holding the
//!   code exactly as written (`"01"`, `"002"`, `"601"`); see [`crate::catalog`] for the code lists.
//! * `Option<T>` is an optional attribute or element; `Some("")` is an attribute that is present
//!   but empty (the cadena original emits it as an empty field).
//! * Complements other than Pagos 2.0 and the TFD, `ComplementoConcepto` content and the Addenda
//!   are kept as [`RawXml`] and written back unchanged.

use rust_decimal::Decimal;

/// Namespace URI of CFDI 4.0 (`cfdi:` prefix).
pub const NS_CFDI: &str = "http://www.sat.gob.mx/cfd/4";
/// Namespace URI of the Pagos 2.0 complement (`pago20:` prefix).
pub const NS_PAGOS20: &str = "http://www.sat.gob.mx/Pagos20";
/// Namespace URI of TimbreFiscalDigital 1.1 (`tfd:` prefix).
pub const NS_TFD: &str = "http://www.sat.gob.mx/TimbreFiscalDigital";
/// Namespace URI of XML Schema instance attributes (`xsi:` prefix).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// `xsi:schemaLocation` of CFDI 4.0.
pub const SCHEMA_CFDI: &str = "http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd";
/// `xsi:schemaLocation` of Pagos 2.0.
pub const SCHEMA_PAGOS20: &str = "http://www.sat.gob.mx/sitio_internet/cfd/Pagos/Pagos20.xsd";
/// `xsi:schemaLocation` of TimbreFiscalDigital 1.1.
pub const SCHEMA_TFD: &str =
    "http://www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd";

/// `cfdi:Comprobante`, the root of a CFDI 4.0 document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Comprobante {
    /// `Version`, always `"4.0"` for this model.
    pub version: String,
    /// `Serie` (optional, free text up to 25 chars).
    pub serie: Option<String>,
    /// `Folio` (optional, free text up to 40 chars).
    pub folio: Option<String>,
    /// `Fecha`, local issue date-time as written (`AAAA-MM-DDThh:mm:ss`).
    pub fecha: String,
    /// `Sello`, base64 RSA-SHA256 signature of the cadena original (empty before sealing).
    pub sello: String,
    /// `FormaPago` (c_FormaPago).
    pub forma_pago: Option<String>,
    /// `NoCertificado`, the 20-digit CSD number.
    pub no_certificado: String,
    /// `Certificado`, base64 DER of the CSD certificate.
    pub certificado: String,
    /// `CondicionesDePago`.
    pub condiciones_de_pago: Option<String>,
    /// `SubTotal`.
    pub sub_total: Decimal,
    /// `Descuento`.
    pub descuento: Option<Decimal>,
    /// `Moneda` (c_Moneda).
    pub moneda: String,
    /// `TipoCambio`.
    pub tipo_cambio: Option<Decimal>,
    /// `Total`.
    pub total: Decimal,
    /// `TipoDeComprobante` (c_TipoDeComprobante: `I`, `E`, `T`, `N`, `P`).
    pub tipo_de_comprobante: String,
    /// `Exportacion` (c_Exportacion).
    pub exportacion: String,
    /// `MetodoPago` (c_MetodoPago: `PUE`, `PPD`).
    pub metodo_pago: Option<String>,
    /// `LugarExpedicion` (c_CodigoPostal).
    pub lugar_expedicion: String,
    /// `Confirmacion`.
    pub confirmacion: Option<String>,
    /// `cfdi:InformacionGlobal`.
    pub informacion_global: Option<InformacionGlobal>,
    /// `cfdi:CfdiRelacionados` nodes (zero or more).
    pub cfdi_relacionados: Vec<CfdiRelacionados>,
    /// `cfdi:Emisor`.
    pub emisor: Emisor,
    /// `cfdi:Receptor`.
    pub receptor: Receptor,
    /// `cfdi:Conceptos/cfdi:Concepto` (one or more).
    pub conceptos: Vec<Concepto>,
    /// `cfdi:Impuestos` (comprobante level).
    pub impuestos: Option<Impuestos>,
    /// `cfdi:Complemento` children in document order; `Some(vec![])` is an empty `Complemento`.
    pub complemento: Option<Vec<Complemento>>,
    /// `cfdi:Addenda` children, kept verbatim; excluded from the cadena and the seal.
    pub addenda: Option<Vec<RawXml>>,
    /// `xsi:schemaLocation` pairs `(namespace, location)` of the root element for namespaces other
    /// than CFDI 4.0 and Pagos 2.0 (e.g. of raw complements); written back after ours.
    pub other_schema_locations: Vec<(String, String)>,
}

impl Comprobante {
    /// The TimbreFiscalDigital in the Complemento, if the document is stamped.
    pub fn timbre(&self) -> Option<&TimbreFiscalDigital> {
        self.complemento.iter().flatten().find_map(|c| match c {
            Complemento::Timbre(t) => Some(&**t),
            _ => None,
        })
    }

    /// The Pagos 2.0 complement, if present.
    pub fn pagos(&self) -> Option<&Pagos> {
        self.complemento.iter().flatten().find_map(|c| match c {
            Complemento::Pagos(p) => Some(&**p),
            _ => None,
        })
    }
}

/// `cfdi:InformacionGlobal` (global invoice to público en general).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InformacionGlobal {
    /// `Periodicidad` (c_Periodicidad, `"01"`–`"05"`).
    pub periodicidad: String,
    /// `Meses` (c_Meses, `"01"`–`"18"`).
    pub meses: String,
    /// `Año`, as written (four digits).
    pub anio: String,
}

/// `cfdi:CfdiRelacionados`: a relation type and the related UUIDs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CfdiRelacionados {
    /// `TipoRelacion` (c_TipoRelacion, e.g. `"01"` nota de crédito, `"04"` sustitución).
    pub tipo_relacion: String,
    /// `cfdi:CfdiRelacionado/@UUID` values (one or more).
    pub uuids: Vec<String>,
}

/// `cfdi:Emisor`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Emisor {
    /// `Rfc`.
    pub rfc: String,
    /// `Nombre`.
    pub nombre: String,
    /// `RegimenFiscal` (c_RegimenFiscal).
    pub regimen_fiscal: String,
    /// `FacAtrAdquirente`.
    pub fac_atr_adquirente: Option<String>,
}

/// `cfdi:Receptor`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receptor {
    /// `Rfc`.
    pub rfc: String,
    /// `Nombre`.
    pub nombre: String,
    /// `DomicilioFiscalReceptor` (c_CodigoPostal).
    pub domicilio_fiscal_receptor: String,
    /// `ResidenciaFiscal` (c_Pais).
    pub residencia_fiscal: Option<String>,
    /// `NumRegIdTrib`.
    pub num_reg_id_trib: Option<String>,
    /// `RegimenFiscalReceptor` (c_RegimenFiscal).
    pub regimen_fiscal_receptor: String,
    /// `UsoCFDI` (c_UsoCFDI).
    pub uso_cfdi: String,
}

/// `cfdi:Concepto`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Concepto {
    /// `ClaveProdServ` (c_ClaveProdServ).
    pub clave_prod_serv: String,
    /// `NoIdentificacion`.
    pub no_identificacion: Option<String>,
    /// `Cantidad`.
    pub cantidad: Decimal,
    /// `ClaveUnidad` (c_ClaveUnidad).
    pub clave_unidad: String,
    /// `Unidad`.
    pub unidad: Option<String>,
    /// `Descripcion`.
    pub descripcion: String,
    /// `ValorUnitario`.
    pub valor_unitario: Decimal,
    /// `Importe`.
    pub importe: Decimal,
    /// `Descuento`.
    pub descuento: Option<Decimal>,
    /// `ObjetoImp` (c_ObjetoImp, `"01"`–`"08"`).
    pub objeto_imp: String,
    /// `cfdi:Impuestos` of the concepto.
    pub impuestos: Option<ConceptoImpuestos>,
    /// `cfdi:ACuentaTerceros`.
    pub a_cuenta_terceros: Option<ACuentaTerceros>,
    /// `cfdi:InformacionAduanera/@NumeroPedimento` values.
    pub informacion_aduanera: Vec<String>,
    /// `cfdi:CuentaPredial/@Numero` values.
    pub cuenta_predial: Vec<String>,
    /// `cfdi:ComplementoConcepto` children, kept verbatim.
    pub complemento_concepto: Option<Vec<RawXml>>,
    /// `cfdi:Parte` nodes.
    pub partes: Vec<Parte>,
}

/// `cfdi:Concepto/cfdi:Impuestos`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConceptoImpuestos {
    /// `cfdi:Traslados/cfdi:Traslado` (empty = no `Traslados` node).
    pub traslados: Vec<Traslado>,
    /// `cfdi:Retenciones/cfdi:Retencion` (empty = no `Retenciones` node).
    pub retenciones: Vec<Retencion>,
}

/// A transferred tax (`cfdi:Traslado`), at concepto or comprobante level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Traslado {
    /// `Base`.
    pub base: Decimal,
    /// `Impuesto` (c_Impuesto: `"001"` ISR, `"002"` IVA, `"003"` IEPS).
    pub impuesto: String,
    /// `TipoFactor` (c_TipoFactor: `Tasa`, `Cuota`, `Exento`).
    pub tipo_factor: String,
    /// `TasaOCuota` (absent for `Exento`).
    pub tasa_o_cuota: Option<Decimal>,
    /// `Importe` (absent for `Exento`).
    pub importe: Option<Decimal>,
}

/// A withheld tax at concepto level (`cfdi:Concepto/cfdi:Impuestos/cfdi:Retenciones/cfdi:Retencion`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retencion {
    /// `Base`.
    pub base: Decimal,
    /// `Impuesto` (c_Impuesto).
    pub impuesto: String,
    /// `TipoFactor` (c_TipoFactor).
    pub tipo_factor: String,
    /// `TasaOCuota`.
    pub tasa_o_cuota: Decimal,
    /// `Importe`.
    pub importe: Decimal,
}

/// `cfdi:ACuentaTerceros`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ACuentaTerceros {
    /// `RfcACuentaTerceros`.
    pub rfc: String,
    /// `NombreACuentaTerceros`.
    pub nombre: String,
    /// `RegimenFiscalACuentaTerceros`.
    pub regimen_fiscal: String,
    /// `DomicilioFiscalACuentaTerceros`.
    pub domicilio_fiscal: String,
}

/// `cfdi:Parte`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Parte {
    /// `ClaveProdServ`.
    pub clave_prod_serv: String,
    /// `NoIdentificacion`.
    pub no_identificacion: Option<String>,
    /// `Cantidad`.
    pub cantidad: Decimal,
    /// `Unidad`.
    pub unidad: Option<String>,
    /// `Descripcion`.
    pub descripcion: String,
    /// `ValorUnitario`.
    pub valor_unitario: Option<Decimal>,
    /// `Importe`.
    pub importe: Option<Decimal>,
    /// `cfdi:InformacionAduanera/@NumeroPedimento` values.
    pub informacion_aduanera: Vec<String>,
}

/// `cfdi:Impuestos` at comprobante level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Impuestos {
    /// `TotalImpuestosRetenidos`.
    pub total_impuestos_retenidos: Option<Decimal>,
    /// `TotalImpuestosTrasladados`.
    pub total_impuestos_trasladados: Option<Decimal>,
    /// `cfdi:Retenciones/cfdi:Retencion` (grouped by `Impuesto`).
    pub retenciones: Vec<RetencionTotal>,
    /// `cfdi:Traslados/cfdi:Traslado` (grouped by `Impuesto`, `TipoFactor`, `TasaOCuota`).
    pub traslados: Vec<Traslado>,
}

/// A withheld tax total at comprobante level (`cfdi:Impuestos/cfdi:Retenciones/cfdi:Retencion`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetencionTotal {
    /// `Impuesto` (c_Impuesto).
    pub impuesto: String,
    /// `Importe`.
    pub importe: Decimal,
}

/// A child of `cfdi:Complemento`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Complemento {
    /// `pago20:Pagos` (Pagos 2.0).
    Pagos(Box<Pagos>),
    /// `tfd:TimbreFiscalDigital` (version 1.1).
    Timbre(Box<TimbreFiscalDigital>),
    /// Any other complement, kept verbatim.
    Other(RawXml),
}

/// An XML element kept verbatim (unknown complement, `ComplementoConcepto` child, Addenda child).
///
/// The text is a self-contained, well-formed element: namespace declarations that were in scope
/// in the source document are copied onto its start tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawXml {
    pub(crate) namespace: String,
    pub(crate) local_name: String,
    pub(crate) xml: String,
}

impl RawXml {
    /// Namespace URI of the element (empty if none).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Local name of the element.
    pub fn local_name(&self) -> &str {
        &self.local_name
    }

    /// The element's XML text.
    pub fn as_str(&self) -> &str {
        &self.xml
    }

    /// Checks that `xml` is one well-formed element (no DOCTYPE, only predefined entities) and
    /// wraps it.
    ///
    /// # Errors
    /// [`crate::Error`] of kind [`crate::ErrorKind::Xml`] if it is not.
    pub fn new(xml: &str) -> crate::Result<Self> {
        crate::parse::parse_raw_element(xml)
    }
}

/// `pago20:Pagos` (Complemento para recepción de pagos 2.0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pagos {
    /// `Version`, `"2.0"`.
    pub version: String,
    /// `pago20:Totales`.
    pub totales: PagosTotales,
    /// `pago20:Pago` nodes (one or more).
    pub pagos: Vec<Pago>,
}

/// `pago20:Totales`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PagosTotales {
    /// `TotalRetencionesIVA`.
    pub total_retenciones_iva: Option<Decimal>,
    /// `TotalRetencionesISR`.
    pub total_retenciones_isr: Option<Decimal>,
    /// `TotalRetencionesIEPS`.
    pub total_retenciones_ieps: Option<Decimal>,
    /// `TotalTrasladosBaseIVA16`.
    pub total_traslados_base_iva16: Option<Decimal>,
    /// `TotalTrasladosImpuestoIVA16`.
    pub total_traslados_impuesto_iva16: Option<Decimal>,
    /// `TotalTrasladosBaseIVA8`.
    pub total_traslados_base_iva8: Option<Decimal>,
    /// `TotalTrasladosImpuestoIVA8`.
    pub total_traslados_impuesto_iva8: Option<Decimal>,
    /// `TotalTrasladosBaseIVA0`.
    pub total_traslados_base_iva0: Option<Decimal>,
    /// `TotalTrasladosImpuestoIVA0`.
    pub total_traslados_impuesto_iva0: Option<Decimal>,
    /// `TotalTrasladosBaseIVAExento`.
    pub total_traslados_base_iva_exento: Option<Decimal>,
    /// `MontoTotalPagos`.
    pub monto_total_pagos: Decimal,
}

/// `pago20:Pago`, one payment received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pago {
    /// `FechaPago`, as written.
    pub fecha_pago: String,
    /// `FormaDePagoP` (c_FormaPago).
    pub forma_de_pago_p: String,
    /// `MonedaP` (c_Moneda).
    pub moneda_p: String,
    /// `TipoCambioP`.
    pub tipo_cambio_p: Option<Decimal>,
    /// `Monto`.
    pub monto: Decimal,
    /// `NumOperacion`.
    pub num_operacion: Option<String>,
    /// `RfcEmisorCtaOrd`.
    pub rfc_emisor_cta_ord: Option<String>,
    /// `NomBancoOrdExt`.
    pub nom_banco_ord_ext: Option<String>,
    /// `CtaOrdenante`.
    pub cta_ordenante: Option<String>,
    /// `RfcEmisorCtaBen`.
    pub rfc_emisor_cta_ben: Option<String>,
    /// `CtaBeneficiario`.
    pub cta_beneficiario: Option<String>,
    /// `TipoCadPago`.
    pub tipo_cad_pago: Option<String>,
    /// `CertPago`.
    pub cert_pago: Option<String>,
    /// `CadPago`.
    pub cad_pago: Option<String>,
    /// `SelloPago`.
    pub sello_pago: Option<String>,
    /// `pago20:DoctoRelacionado` nodes (one or more).
    pub doctos_relacionados: Vec<DoctoRelacionado>,
    /// `pago20:ImpuestosP`.
    pub impuestos_p: Option<ImpuestosP>,
}

/// `pago20:DoctoRelacionado`, an invoice (partially) paid by a `Pago`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DoctoRelacionado {
    /// `IdDocumento`, the UUID of the paid invoice.
    pub id_documento: String,
    /// `Serie`.
    pub serie: Option<String>,
    /// `Folio`.
    pub folio: Option<String>,
    /// `MonedaDR`.
    pub moneda_dr: String,
    /// `EquivalenciaDR`.
    pub equivalencia_dr: Option<Decimal>,
    /// `NumParcialidad`, as written.
    pub num_parcialidad: String,
    /// `ImpSaldoAnt`.
    pub imp_saldo_ant: Decimal,
    /// `ImpPagado`.
    pub imp_pagado: Decimal,
    /// `ImpSaldoInsoluto`.
    pub imp_saldo_insoluto: Decimal,
    /// `ObjetoImpDR` (c_ObjetoImp).
    pub objeto_imp_dr: String,
    /// `pago20:ImpuestosDR`.
    pub impuestos_dr: Option<ImpuestosDr>,
}

/// `pago20:ImpuestosDR`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImpuestosDr {
    /// `pago20:RetencionesDR/pago20:RetencionDR`.
    pub retenciones_dr: Vec<ImpuestoDr>,
    /// `pago20:TrasladosDR/pago20:TrasladoDR`.
    pub traslados_dr: Vec<ImpuestoDr>,
}

/// `pago20:RetencionDR` or `pago20:TrasladoDR`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImpuestoDr {
    /// `BaseDR`.
    pub base_dr: Decimal,
    /// `ImpuestoDR` (c_Impuesto).
    pub impuesto_dr: String,
    /// `TipoFactorDR` (c_TipoFactor).
    pub tipo_factor_dr: String,
    /// `TasaOCuotaDR` (required in `RetencionDR`, absent for `Exento` traslados).
    pub tasa_o_cuota_dr: Option<Decimal>,
    /// `ImporteDR` (required in `RetencionDR`, absent for `Exento` traslados).
    pub importe_dr: Option<Decimal>,
}

/// `pago20:ImpuestosP`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImpuestosP {
    /// `pago20:RetencionesP/pago20:RetencionP`.
    pub retenciones_p: Vec<RetencionP>,
    /// `pago20:TrasladosP/pago20:TrasladoP`.
    pub traslados_p: Vec<TrasladoP>,
}

/// `pago20:RetencionP`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetencionP {
    /// `ImpuestoP` (c_Impuesto).
    pub impuesto_p: String,
    /// `ImporteP`.
    pub importe_p: Decimal,
}

/// `pago20:TrasladoP`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrasladoP {
    /// `BaseP`.
    pub base_p: Decimal,
    /// `ImpuestoP` (c_Impuesto).
    pub impuesto_p: String,
    /// `TipoFactorP` (c_TipoFactor).
    pub tipo_factor_p: String,
    /// `TasaOCuotaP`.
    pub tasa_o_cuota_p: Option<Decimal>,
    /// `ImporteP`.
    pub importe_p: Option<Decimal>,
}

/// `tfd:TimbreFiscalDigital` version 1.1, added by the PAC when stamping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimbreFiscalDigital {
    /// `Version`, `"1.1"`.
    pub version: String,
    /// `UUID` (folio fiscal).
    pub uuid: String,
    /// `FechaTimbrado`, as written.
    pub fecha_timbrado: String,
    /// `RfcProvCertif`, RFC of the PAC.
    pub rfc_prov_certif: String,
    /// `Leyenda`.
    pub leyenda: Option<String>,
    /// `SelloCFD`, copy of the comprobante's `Sello`.
    pub sello_cfd: String,
    /// `NoCertificadoSAT`.
    pub no_certificado_sat: String,
    /// `SelloSAT`, the SAT/PAC signature of the TFD cadena.
    pub sello_sat: String,
    /// `xsi:schemaLocation` written on the element, if any (PACs write
    /// `"{NS_TFD} {SCHEMA_TFD}"`).
    pub schema_location: Option<String>,
}
