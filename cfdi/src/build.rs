//! Builder with automatic totals for tipo I, E, T and P comprobantes, and a Pagos 2.0 builder.
//!
//! You give the conceptos (quantity, unit price, discount, tax rates); the builder computes every
//! amount SAT derives from them:
//!
//! * concepto `Importe` = Cantidad × ValorUnitario, `Base` = Importe − Descuento, each tax
//!   `Importe` = Base × TasaOCuota;
//! * comprobante `SubTotal` = Σ Importe, `Descuento` = Σ Descuento, `Impuestos` grouped by
//!   (Impuesto, TipoFactor, TasaOCuota) for traslados and by Impuesto for retenciones (exento
//!   rows carry only `Base`), `Total` = SubTotal − Descuento + trasladados − retenidos.
//!
//! **Rounding:** every computed amount is rounded **half away from zero** (half-up for the
//! non-negative amounts of a CFDI) to the currency's decimals (`c_Moneda`, e.g. MXN/USD 2,
//! JPY 0), then summed. Rounding the exact product to the currency's decimals always lands inside
//! SAT's *límite inferior / superior* for `Importe` and tax amounts (the exact value lies between
//! the limits and the limits are truncated / rounded up to the same decimals), and sums of
//! already-rounded values make `SubTotal`, the grouped taxes and `Total` exact.
//! `TasaOCuota` is written with 6 decimals (`0.160000`).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{BuildPlace, BuildRule, Error, Result};
use crate::model::*;

/// IVA (`c_Impuesto` 002).
pub const IVA: &str = "002";
/// ISR (`c_Impuesto` 001).
pub const ISR: &str = "001";
/// IEPS (`c_Impuesto` 003).
pub const IEPS: &str = "003";

/// `(Impuesto, TipoFactor, TasaOCuota)` → `(Σ Base, Σ Importe)`.
type TaxSums = BTreeMap<(String, String, Option<Decimal>), (Decimal, Option<Decimal>)>;

/// Largest amount the builder accepts or produces: `t_Importe` has at most 18 integer digits.
/// Bounding inputs this way keeps every intermediate sum far from `Decimal`'s range.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA763_FFFF, 0x0DE0_B6B3, 0, false, 0); // 10^18 - 1

/// Largest accepted rate, cuota, exchange rate or equivalence.
const MAX_RATE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// An [`Error::Build`] for the comprobante itself (no place yet; see [`placed`]).
fn invalid(field: &'static str, value: Option<String>, rule: BuildRule) -> Error {
    Error::Build {
        field,
        place: None,
        value,
        rule,
    }
}

/// Puts `place` on a build error that has none (other errors pass through).
fn placed(e: Error, place: BuildPlace) -> Error {
    match e {
        Error::Build {
            field,
            place: None,
            value,
            rule,
        } => Error::Build {
            field,
            place: Some(place),
            value,
            rule,
        },
        other => other,
    }
}

/// `v` if it lies in `0..=max`.
fn bounded(field: &'static str, v: Decimal, max: Decimal) -> Result<Decimal> {
    if v.is_sign_negative() || v > max {
        return Err(invalid(
            field,
            Some(v.to_string()),
            BuildRule::OutOfRange {
                min: Decimal::ZERO,
                max,
            },
        ));
    }
    Ok(v)
}

/// The result of a checked operation computing `field`; `None` is an overflow.
fn checked(field: &'static str, v: Option<Decimal>) -> Result<Decimal> {
    v.ok_or_else(|| invalid(field, None, BuildRule::Overflow))
}

/// `v` if it is positive and has at most `max_decimals` decimals.
fn positive(field: &'static str, v: Decimal, max_decimals: u32) -> Result<Decimal> {
    if v.scale() > max_decimals {
        return Err(invalid(
            field,
            Some(v.to_string()),
            BuildRule::TooManyDecimals { max: max_decimals },
        ));
    }
    if v <= Decimal::ZERO {
        return Err(invalid(field, Some(v.to_string()), BuildRule::NotPositive));
    }
    Ok(v)
}

fn money(x: Decimal, dec: u32) -> Decimal {
    let mut r = x.round_dp_with_strategy(dec, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dec);
    r
}

fn rate6(x: Decimal) -> Result<Decimal> {
    if x.scale() > 6 && x.normalize().scale() > 6 {
        return Err(invalid(
            "TasaOCuota",
            Some(x.to_string()),
            BuildRule::TooManyDecimals { max: 6 },
        ));
    }
    let mut r = x.normalize();
    r.rescale(6);
    Ok(r)
}

/// Decimals of the currency in `field` (`Moneda`, `MonedaP`, `MonedaDR`).
fn decimals_of(field: &'static str, moneda: &str) -> Result<u32> {
    if moneda == "XXX" {
        return Ok(0);
    }
    crate::catalog::moneda_decimals(moneda)
        .ok_or_else(|| invalid(field, Some(moneda.to_owned()), BuildRule::UnknownCurrency))
}

impl Emisor {
    /// An emisor: RFC, name (as registered with SAT, without régimen suffix) and c_RegimenFiscal.
    pub fn new(
        rfc: impl Into<String>,
        nombre: impl Into<String>,
        regimen_fiscal: impl Into<String>,
    ) -> Self {
        Self {
            rfc: rfc.into(),
            nombre: nombre.into(),
            regimen_fiscal: regimen_fiscal.into(),
            fac_atr_adquirente: None,
        }
    }
}

impl Receptor {
    /// A receptor: RFC, name, fiscal postal code, c_RegimenFiscal and c_UsoCFDI.
    pub fn new(
        rfc: impl Into<String>,
        nombre: impl Into<String>,
        domicilio_fiscal_receptor: impl Into<String>,
        regimen_fiscal_receptor: impl Into<String>,
        uso_cfdi: impl Into<String>,
    ) -> Self {
        Self {
            rfc: rfc.into(),
            nombre: nombre.into(),
            domicilio_fiscal_receptor: domicilio_fiscal_receptor.into(),
            residencia_fiscal: None,
            num_reg_id_trib: None,
            regimen_fiscal_receptor: regimen_fiscal_receptor.into(),
            uso_cfdi: uso_cfdi.into(),
        }
    }

    /// The generic receptor of a global invoice: `XAXX010101000`, "PUBLICO EN GENERAL",
    /// régimen 616, uso S01, domicile = the issuer's `LugarExpedicion`.
    pub fn publico_en_general(lugar_expedicion: impl Into<String>) -> Self {
        Self::new(
            "XAXX010101000",
            "PUBLICO EN GENERAL",
            lugar_expedicion,
            "616",
            "S01",
        )
    }
}

impl InformacionGlobal {
    /// `InformacionGlobal` with c_Periodicidad, c_Meses and year.
    pub fn new(
        periodicidad: impl Into<String>,
        meses: impl Into<String>,
        anio: impl Into<String>,
    ) -> Self {
        Self {
            periodicidad: periodicidad.into(),
            meses: meses.into(),
            anio: anio.into(),
        }
    }
}

impl CfdiRelacionados {
    /// A relation type (c_TipoRelacion) with its UUIDs.
    pub fn new<I, S>(tipo_relacion: impl Into<String>, uuids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tipo_relacion: tipo_relacion.into(),
            uuids: uuids.into_iter().map(Into::into).collect(),
        }
    }
}

/// `c_TipoFactor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TipoFactor {
    /// A rate (`Tasa`).
    Tasa,
    /// An amount per unit (`Cuota`, e.g. IEPS on fuels).
    Cuota,
    /// Exempt (`Exento`): traslado with `Base` only.
    Exento,
}

impl TipoFactor {
    /// The catalog code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tasa => "Tasa",
            Self::Cuota => "Cuota",
            Self::Exento => "Exento",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TaxInput {
    impuesto: String,
    factor: TipoFactor,
    rate: Decimal,
}

/// One concepto for [`ComprobanteBuilder`]: quantities and prices in, amounts computed.
#[derive(Clone, Debug)]
#[must_use]
pub struct ConceptoInput {
    concepto: Concepto,
    descuento: Option<Decimal>,
    objeto_imp: Option<String>,
    traslados: Vec<TaxInput>,
    retenciones: Vec<TaxInput>,
}

impl ConceptoInput {
    /// A concepto: c_ClaveProdServ, c_ClaveUnidad, description, quantity and unit price (both
    /// written as given, at most 6 decimals).
    pub fn new(
        clave_prod_serv: impl Into<String>,
        clave_unidad: impl Into<String>,
        descripcion: impl Into<String>,
        cantidad: Decimal,
        valor_unitario: Decimal,
    ) -> Self {
        Self {
            concepto: Concepto {
                clave_prod_serv: clave_prod_serv.into(),
                clave_unidad: clave_unidad.into(),
                descripcion: descripcion.into(),
                cantidad,
                valor_unitario,
                ..Concepto::default()
            },
            descuento: None,
            objeto_imp: None,
            traslados: Vec::new(),
            retenciones: Vec::new(),
        }
    }

    /// Whether `other` has the same taxes (traslados, retenciones, in order) and `ObjetoImp` as this one.
    #[cfg(feature = "hub")]
    pub(crate) fn same_taxes(&self, other: &Self) -> bool {
        self.traslados == other.traslados
            && self.retenciones == other.retenciones
            && self.objeto_imp == other.objeto_imp
    }

    /// A new concepto (cantidad 1 at `valor_unitario`) with this one's taxes and `ObjetoImp`.
    #[cfg(feature = "hub")]
    pub(crate) fn with_taxes_of(
        template: &Self,
        clave_prod_serv: &str,
        clave_unidad: &str,
        descripcion: &str,
        valor_unitario: Decimal,
    ) -> Self {
        let mut k = Self::new(
            clave_prod_serv,
            clave_unidad,
            descripcion,
            Decimal::ONE,
            valor_unitario,
        );
        k.traslados = template.traslados.clone();
        k.retenciones = template.retenciones.clone();
        k.objeto_imp = template.objeto_imp.clone();
        k
    }

    /// `NoIdentificacion` (SKU).
    pub fn no_identificacion(mut self, v: impl Into<String>) -> Self {
        self.concepto.no_identificacion = Some(v.into());
        self
    }

    /// `Unidad` (free-text unit name).
    pub fn unidad(mut self, v: impl Into<String>) -> Self {
        self.concepto.unidad = Some(v.into());
        self
    }

    /// Discount on this concepto (rounded to the currency's decimals).
    pub fn descuento(mut self, v: Decimal) -> Self {
        self.descuento = Some(v);
        self
    }

    /// `ObjetoImp` (c_ObjetoImp). Default: `"02"` if the concepto has taxes, else `"01"`.
    /// `01`, `03` and `04` do not allow taxes.
    pub fn objeto_imp(mut self, v: impl Into<String>) -> Self {
        self.objeto_imp = Some(v.into());
        self
    }

    /// A transferred tax at a rate (`Tasa`) or per-unit amount (`Cuota`).
    pub fn traslado(mut self, impuesto: &str, factor: TipoFactor, tasa_o_cuota: Decimal) -> Self {
        self.traslados.push(TaxInput {
            impuesto: impuesto.into(),
            factor,
            rate: tasa_o_cuota,
        });
        self
    }

    /// IVA traslado at `tasa` (`0.16`, `0.08`, `0`).
    pub fn iva(self, tasa: Decimal) -> Self {
        self.traslado(IVA, TipoFactor::Tasa, tasa)
    }

    /// IVA exento.
    pub fn iva_exento(self) -> Self {
        self.traslado(IVA, TipoFactor::Exento, Decimal::ZERO)
    }

    /// IEPS traslado at `tasa`.
    pub fn ieps(self, tasa: Decimal) -> Self {
        self.traslado(IEPS, TipoFactor::Tasa, tasa)
    }

    /// A withheld tax (e.g. `retencion(ISR, 0.10)`, `retencion(IVA, 0.106667)`).
    pub fn retencion(mut self, impuesto: &str, tasa: Decimal) -> Self {
        self.retenciones.push(TaxInput {
            impuesto: impuesto.into(),
            factor: TipoFactor::Tasa,
            rate: tasa,
        });
        self
    }

    /// `ACuentaTerceros`: the concepto is billed on behalf of this third party.
    pub fn a_cuenta_terceros(mut self, t: ACuentaTerceros) -> Self {
        self.concepto.a_cuenta_terceros = Some(t);
        self
    }

    /// Adds an `InformacionAduanera/@NumeroPedimento`.
    pub fn informacion_aduanera(mut self, numero_pedimento: impl Into<String>) -> Self {
        self.concepto
            .informacion_aduanera
            .push(numero_pedimento.into());
        self
    }

    /// Adds a `CuentaPredial/@Numero`.
    pub fn cuenta_predial(mut self, numero: impl Into<String>) -> Self {
        self.concepto.cuenta_predial.push(numero.into());
        self
    }

    /// Adds a `Parte`.
    pub fn parte(mut self, p: Parte) -> Self {
        self.concepto.partes.push(p);
        self
    }

    /// The concepto with its amounts computed; errors carry no place (the caller adds it).
    fn finish(self, dec: u32, taxes_allowed: bool) -> Result<Concepto> {
        let mut c = self.concepto;
        positive("Cantidad", c.cantidad, 6)?;
        if c.valor_unitario.scale() > 6 {
            return Err(invalid(
                "ValorUnitario",
                Some(c.valor_unitario.to_string()),
                BuildRule::TooManyDecimals { max: 6 },
            ));
        }
        bounded("Cantidad", c.cantidad, MAX_AMOUNT)?;
        bounded("ValorUnitario", c.valor_unitario, MAX_AMOUNT)?;
        let importe = checked("Importe", c.cantidad.checked_mul(c.valor_unitario))?;
        c.importe = bounded("Importe", money(importe, dec), MAX_AMOUNT)?;
        let descuento = match self.descuento {
            Some(d) => {
                let d = money(d, dec);
                if d < Decimal::ZERO || d > c.importe {
                    return Err(invalid(
                        "Descuento",
                        Some(d.to_string()),
                        BuildRule::OutOfRange {
                            min: Decimal::ZERO,
                            max: c.importe,
                        },
                    ));
                }
                Some(d)
            }
            None => None,
        };
        c.descuento = descuento;
        let has_taxes = !self.traslados.is_empty() || !self.retenciones.is_empty();
        if has_taxes && !taxes_allowed {
            return Err(invalid(
                "Impuestos",
                None,
                BuildRule::NotAllowedWhen {
                    field: "TipoDeComprobante",
                    value: "T".into(),
                },
            ));
        }
        c.objeto_imp = self
            .objeto_imp
            .unwrap_or_else(|| if has_taxes { "02" } else { "01" }.to_string());
        match (c.objeto_imp.as_str(), has_taxes) {
            ("01" | "03" | "04", true) => {
                return Err(invalid(
                    "Impuestos",
                    None,
                    BuildRule::NotAllowedWhen {
                        field: "ObjetoImp",
                        value: c.objeto_imp,
                    },
                ));
            }
            ("02", false) => {
                return Err(invalid(
                    "Impuestos",
                    None,
                    BuildRule::RequiredWhen {
                        field: "ObjetoImp",
                        value: "02".into(),
                    },
                ));
            }
            _ => {}
        }
        if has_taxes {
            let base = c.importe - descuento.unwrap_or(Decimal::ZERO);
            let mut imp = ConceptoImpuestos::default();
            for t in self.traslados {
                imp.traslados.push(match t.factor {
                    TipoFactor::Exento => Traslado {
                        base,
                        impuesto: t.impuesto,
                        tipo_factor: "Exento".into(),
                        tasa_o_cuota: None,
                        importe: None,
                    },
                    f => {
                        let rate = rate6(bounded("TasaOCuota", t.rate, MAX_RATE)?)?;
                        let amount = bounded("Importe", base * rate, MAX_AMOUNT)?;
                        Traslado {
                            base,
                            impuesto: t.impuesto,
                            tipo_factor: f.as_str().into(),
                            tasa_o_cuota: Some(rate),
                            importe: Some(money(amount, dec)),
                        }
                    }
                });
            }
            for t in self.retenciones {
                let rate = rate6(bounded("TasaOCuota", t.rate, MAX_RATE)?)?;
                imp.retenciones.push(Retencion {
                    base,
                    impuesto: t.impuesto,
                    tipo_factor: t.factor.as_str().into(),
                    tasa_o_cuota: rate,
                    importe: money(bounded("Importe", base * rate, MAX_AMOUNT)?, dec),
                });
            }
            c.impuestos = Some(imp);
        }
        Ok(c)
    }
}

/// Builds a [`Comprobante`] with all derived amounts computed. See the [module docs](self).
///
/// ```
/// use cfdi::build::{ComprobanteBuilder, ConceptoInput};
/// use cfdi::model::{Emisor, Receptor};
/// use rust_decimal::Decimal;
///
/// let doc = ComprobanteBuilder::ingreso("2026-11-20T10:00:00", "42501")
///     .emisor(Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601"))
///     .receptor(Receptor::new("URE180429TM6", "UNIVERSIDAD ROBOTICA ESPAÑOLA", "86991", "601", "G03"))
///     .forma_pago("01")
///     .metodo_pago("PUE")
///     .concepto(
///         ConceptoInput::new("01010101", "H87", "Pieza", Decimal::new(3, 0), Decimal::new(1050, 2))
///             .iva(Decimal::new(16, 2)),
///     )
///     .build()?;
/// assert_eq!(doc.sub_total.to_string(), "31.50");
/// assert_eq!(doc.total.to_string(), "36.54");
/// # Ok::<(), cfdi::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ComprobanteBuilder {
    c: Comprobante,
    conceptos: Vec<ConceptoInput>,
}

impl ComprobanteBuilder {
    fn new(tipo: &str, fecha: impl Into<String>, lugar_expedicion: impl Into<String>) -> Self {
        Self {
            c: Comprobante {
                version: "4.0".into(),
                fecha: fecha.into(),
                lugar_expedicion: lugar_expedicion.into(),
                tipo_de_comprobante: tipo.into(),
                moneda: "MXN".into(),
                exportacion: "01".into(),
                ..Comprobante::default()
            },
            conceptos: Vec::new(),
        }
    }

    /// Tipo `I` (ingreso): an invoice. `Fecha` is local time `AAAA-MM-DDThh:mm:ss`.
    pub fn ingreso(fecha: impl Into<String>, lugar_expedicion: impl Into<String>) -> Self {
        Self::new("I", fecha, lugar_expedicion)
    }

    /// Tipo `E` (egreso): credit note, return or discount; relate the invoices with
    /// [`relacionados`](Self::relacionados) (`01` nota de crédito, `03` devolución, `07` anticipo).
    pub fn egreso(fecha: impl Into<String>, lugar_expedicion: impl Into<String>) -> Self {
        Self::new("E", fecha, lugar_expedicion)
    }

    /// Tipo `T` (traslado): moving goods. Moneda `XXX`, SubTotal and Total 0, no taxes.
    pub fn traslado(fecha: impl Into<String>, lugar_expedicion: impl Into<String>) -> Self {
        let mut b = Self::new("T", fecha, lugar_expedicion);
        b.c.moneda = "XXX".into();
        b
    }

    /// `Serie`: the issuer's own series prefix (free text, ≤ 25 characters).
    pub fn serie(mut self, v: impl Into<String>) -> Self {
        self.c.serie = Some(v.into());
        self
    }

    /// `Folio`: the issuer's own invoice number (free text, ≤ 40 characters).
    pub fn folio(mut self, v: impl Into<String>) -> Self {
        self.c.folio = Some(v.into());
        self
    }

    /// `FormaPago` (c_FormaPago; `99` por definir with PPD).
    pub fn forma_pago(mut self, v: impl Into<String>) -> Self {
        self.c.forma_pago = Some(v.into());
        self
    }

    /// `MetodoPago` (`PUE` or `PPD`).
    pub fn metodo_pago(mut self, v: impl Into<String>) -> Self {
        self.c.metodo_pago = Some(v.into());
        self
    }

    /// `CondicionesDePago`: free-text payment terms (e.g. `30 días`).
    pub fn condiciones_de_pago(mut self, v: impl Into<String>) -> Self {
        self.c.condiciones_de_pago = Some(v.into());
        self
    }

    /// `Moneda` (default `MXN`) and, for other currencies, `TipoCambio` (MXN per unit, ≤ 6
    /// decimals). For MXN `TipoCambio` is omitted.
    pub fn moneda(mut self, moneda: impl Into<String>, tipo_cambio: Option<Decimal>) -> Self {
        self.c.moneda = moneda.into();
        self.c.tipo_cambio = tipo_cambio;
        self
    }

    /// `Exportacion` (c_Exportacion, default `01` no aplica).
    pub fn exportacion(mut self, v: impl Into<String>) -> Self {
        self.c.exportacion = v.into();
        self
    }

    /// `Confirmacion`: the PAC's confirmation code, needed when an amount or exchange rate is
    /// outside SAT's reasonable range.
    pub fn confirmacion(mut self, v: impl Into<String>) -> Self {
        self.c.confirmacion = Some(v.into());
        self
    }

    /// `InformacionGlobal` (global invoice to [`Receptor::publico_en_general`]).
    pub fn informacion_global(mut self, g: InformacionGlobal) -> Self {
        self.c.informacion_global = Some(g);
        self
    }

    /// Adds a `CfdiRelacionados` node.
    pub fn relacionados(mut self, r: CfdiRelacionados) -> Self {
        self.c.cfdi_relacionados.push(r);
        self
    }

    /// The issuer (`Emisor`); see [`Emisor::new`].
    pub fn emisor(mut self, e: Emisor) -> Self {
        self.c.emisor = e;
        self
    }

    /// The customer (`Receptor`); see [`Receptor::new`] and [`Receptor::publico_en_general`].
    pub fn receptor(mut self, r: Receptor) -> Self {
        self.c.receptor = r;
        self
    }

    /// Adds a concepto.
    pub fn concepto(mut self, k: ConceptoInput) -> Self {
        self.conceptos.push(k);
        self
    }

    /// Adds several conceptos, in order (errors name them by position, 1-based).
    pub fn conceptos(mut self, ks: impl IntoIterator<Item = ConceptoInput>) -> Self {
        self.conceptos.extend(ks);
        self
    }

    /// Computes all amounts and returns the (unsealed) comprobante.
    ///
    /// # Errors
    /// [`Error::Build`] for inconsistent input: no conceptos, unknown currency decimals, taxes
    /// where the tipo or ObjetoImp forbids them, TipoCambio rules, more than 6 decimals.
    pub fn build(self) -> Result<Comprobante> {
        let mut c = self.c;
        if self.conceptos.is_empty() {
            return Err(invalid("Concepto", None, BuildRule::Required));
        }
        let tipo_t = c.tipo_de_comprobante == "T";
        if tipo_t {
            c.tipo_cambio = None;
            c.forma_pago = None;
            c.metodo_pago = None;
        } else if c.moneda == "MXN" {
            c.tipo_cambio = None;
        } else {
            match c.tipo_cambio {
                Some(t) => {
                    positive("TipoCambio", t, 6)?;
                    bounded("TipoCambio", t, MAX_RATE)?;
                }
                None => {
                    return Err(invalid(
                        "TipoCambio",
                        None,
                        BuildRule::RequiredWhen {
                            field: "Moneda",
                            value: c.moneda,
                        },
                    ));
                }
            }
        }
        let dec = decimals_of("Moneda", &c.moneda)?;
        let mut conceptos = Vec::with_capacity(self.conceptos.len());
        for (i, k) in self.conceptos.into_iter().enumerate() {
            conceptos.push(
                k.finish(dec, !tipo_t)
                    .map_err(|e| placed(e, BuildPlace::Concepto(i + 1)))?,
            );
        }
        if tipo_t {
            c.sub_total = Decimal::ZERO;
            c.total = Decimal::ZERO;
            c.conceptos = conceptos;
            return Ok(c);
        }
        let zero = money(Decimal::ZERO, dec);
        let mut sub_total = zero;
        let mut descuento: Option<Decimal> = None;
        // (impuesto, factor, tasa) -> (base, importe)
        let mut traslados: TaxSums = BTreeMap::new();
        let mut retenciones: BTreeMap<String, Decimal> = BTreeMap::new();
        for k in &conceptos {
            sub_total += k.importe;
            if let Some(d) = k.descuento {
                *descuento.get_or_insert(zero) += d;
            }
            if let Some(imp) = &k.impuestos {
                for t in &imp.traslados {
                    let e = traslados
                        .entry((t.impuesto.clone(), t.tipo_factor.clone(), t.tasa_o_cuota))
                        .or_insert((zero, t.importe.map(|_| zero)));
                    e.0 += t.base;
                    if let (Some(acc), Some(v)) = (e.1.as_mut(), t.importe) {
                        *acc += v;
                    }
                }
                for r in &imp.retenciones {
                    *retenciones.entry(r.impuesto.clone()).or_insert(zero) += r.importe;
                }
            }
        }
        let mut impuestos = Impuestos::default();
        let mut total_tras: Option<Decimal> = None;
        for ((impuesto, factor, tasa), (base, importe)) in traslados {
            if let Some(v) = importe {
                *total_tras.get_or_insert(zero) += v;
            }
            impuestos.traslados.push(Traslado {
                base,
                impuesto,
                tipo_factor: factor,
                tasa_o_cuota: tasa,
                importe,
            });
        }
        let mut total_ret: Option<Decimal> = None;
        for (impuesto, importe) in retenciones {
            *total_ret.get_or_insert(zero) += importe;
            impuestos
                .retenciones
                .push(RetencionTotal { impuesto, importe });
        }
        impuestos.total_impuestos_trasladados = total_tras;
        impuestos.total_impuestos_retenidos = total_ret;
        if !impuestos.traslados.is_empty() || !impuestos.retenciones.is_empty() {
            c.impuestos = Some(impuestos);
        }
        c.total = sub_total - descuento.unwrap_or(zero) + total_tras.unwrap_or(zero)
            - total_ret.unwrap_or(zero);
        c.sub_total = sub_total;
        c.descuento = descuento;
        c.conceptos = conceptos;
        Ok(c)
    }
}

/// An invoice paid (partially) by a [`PagoBuilder`] payment.
#[derive(Clone, Debug)]
#[must_use]
pub struct DoctoInput {
    id_documento: String,
    serie: Option<String>,
    folio: Option<String>,
    moneda_dr: String,
    total: Decimal,
    /// Invoice taxes: traslados (impuesto, factor, tasa, base) and retenciones (impuesto, tasa, base).
    traslados: Vec<(String, String, Option<Decimal>, Decimal)>,
    retenciones: Vec<(String, Decimal, Decimal)>,
    num_parcialidad: u32,
    imp_saldo_ant: Decimal,
    imp_pagado: Decimal,
    equivalencia_dr: Option<Decimal>,
}

impl DoctoInput {
    /// A payment of `imp_pagado` (in the invoice's currency) towards a stamped PPD invoice, as
    /// installment `num_parcialidad` with previous balance `imp_saldo_ant`.
    ///
    /// # Errors
    /// [`Error::Build`] if the invoice has no TimbreFiscalDigital (no UUID) or the amounts are
    /// inconsistent (pagado > saldo anterior, non-positive, parcialidad 0).
    pub fn from_invoice(
        invoice: &Comprobante,
        num_parcialidad: u32,
        imp_saldo_ant: Decimal,
        imp_pagado: Decimal,
    ) -> Result<Self> {
        // The paid invoice must be stamped: its UUID is the DoctoRelacionado's IdDocumento.
        let uuid = invoice
            .timbre()
            .map(|t| t.uuid.clone())
            .ok_or_else(|| invalid("TimbreFiscalDigital", None, BuildRule::Required))?;
        let place = || BuildPlace::DoctoRelacionado(uuid.clone());
        bounded("ImpSaldoAnt", imp_saldo_ant, invoice.total.min(MAX_AMOUNT))
            .map_err(|e| placed(e, place()))?;
        if num_parcialidad == 0 {
            let e = invalid("NumParcialidad", Some("0".into()), BuildRule::NotPositive);
            return Err(placed(e, place()));
        }
        if imp_pagado <= Decimal::ZERO {
            let e = invalid(
                "ImpPagado",
                Some(imp_pagado.to_string()),
                BuildRule::NotPositive,
            );
            return Err(placed(e, place()));
        }
        bounded("ImpPagado", imp_pagado, imp_saldo_ant).map_err(|e| placed(e, place()))?;
        let mut traslados = Vec::new();
        let mut retenciones = Vec::new();
        for k in &invoice.conceptos {
            if let Some(i) = &k.impuestos {
                for t in &i.traslados {
                    traslados.push((
                        t.impuesto.clone(),
                        t.tipo_factor.clone(),
                        t.tasa_o_cuota,
                        t.base,
                    ));
                }
                for r in &i.retenciones {
                    retenciones.push((r.impuesto.clone(), r.tasa_o_cuota, r.base));
                }
            }
        }
        Ok(Self {
            id_documento: uuid,
            serie: invoice.serie.clone(),
            folio: invoice.folio.clone(),
            moneda_dr: invoice.moneda.clone(),
            total: invoice.total,
            traslados,
            retenciones,
            num_parcialidad,
            imp_saldo_ant,
            imp_pagado,
            equivalencia_dr: None,
        })
    }

    /// `EquivalenciaDR`: units of the invoice's currency per unit of the payment's currency
    /// (required when they differ; `1` is used when they are equal).
    pub fn equivalencia(mut self, e: Decimal) -> Self {
        self.equivalencia_dr = Some(e);
        self
    }
}

/// One `pago20:Pago` for [`PagosBuilder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct PagoBuilder {
    fecha_pago: String,
    forma_de_pago_p: String,
    moneda_p: String,
    tipo_cambio_p: Option<Decimal>,
    num_operacion: Option<String>,
    doctos: Vec<DoctoInput>,
}

impl PagoBuilder {
    /// A payment received on `fecha_pago` (`AAAA-MM-DDThh:mm:ss`) with c_FormaPago, in `moneda_p`
    /// (`tipo_cambio_p` MXN per unit, required unless MXN).
    pub fn new(
        fecha_pago: impl Into<String>,
        forma_de_pago_p: impl Into<String>,
        moneda_p: impl Into<String>,
        tipo_cambio_p: Option<Decimal>,
    ) -> Self {
        Self {
            fecha_pago: fecha_pago.into(),
            forma_de_pago_p: forma_de_pago_p.into(),
            moneda_p: moneda_p.into(),
            tipo_cambio_p,
            num_operacion: None,
            doctos: Vec::new(),
        }
    }

    /// `NumOperacion` (bank reference).
    pub fn num_operacion(mut self, v: impl Into<String>) -> Self {
        self.num_operacion = Some(v.into());
        self
    }

    /// Adds a paid invoice.
    pub fn docto(mut self, d: DoctoInput) -> Self {
        self.doctos.push(d);
        self
    }

    fn finish(self) -> Result<Pago> {
        let dec_p = decimals_of("MonedaP", &self.moneda_p)?;
        let tipo_cambio_p = if self.moneda_p == "MXN" {
            Some(Decimal::ONE)
        } else {
            match self.tipo_cambio_p {
                Some(t) if t > Decimal::ZERO => Some(t),
                Some(t) => {
                    return Err(invalid(
                        "TipoCambioP",
                        Some(t.to_string()),
                        BuildRule::NotPositive,
                    ));
                }
                None => {
                    return Err(invalid(
                        "TipoCambioP",
                        None,
                        BuildRule::RequiredWhen {
                            field: "MonedaP",
                            value: self.moneda_p,
                        },
                    ));
                }
            }
        };
        if self.doctos.is_empty() {
            return Err(invalid("DoctoRelacionado", None, BuildRule::Required));
        }
        let mut monto = Decimal::ZERO;
        let mut doctos = Vec::new();
        // (impuesto, factor, tasa) -> (baseP, importeP) in payment currency, unrounded
        let mut tras_p: TaxSums = BTreeMap::new();
        let mut ret_p: BTreeMap<String, Decimal> = BTreeMap::new();
        for d in self.doctos {
            let place = || BuildPlace::DoctoRelacionado(d.id_documento.clone());
            let dec_dr = decimals_of("MonedaDR", &d.moneda_dr).map_err(|e| placed(e, place()))?;
            let equivalencia = if d.moneda_dr == self.moneda_p {
                Decimal::ONE
            } else {
                let min = Decimal::new(1, 6);
                match d.equivalencia_dr {
                    Some(e) if e >= min && e <= MAX_RATE => e,
                    Some(e) => {
                        let rule = BuildRule::OutOfRange { min, max: MAX_RATE };
                        let e = invalid("EquivalenciaDR", Some(e.to_string()), rule);
                        return Err(placed(e, place()));
                    }
                    None => {
                        let rule = BuildRule::RequiredWhen {
                            field: "MonedaDR",
                            value: d.moneda_dr.clone(),
                        };
                        return Err(placed(invalid("EquivalenciaDR", None, rule), place()));
                    }
                }
            };
            let pagado = checked("Monto", d.imp_pagado.checked_div(equivalencia))
                .map_err(|e| placed(e, place()))?;
            monto = checked("Monto", monto.checked_add(pagado))?;
            let factor = if d.total > Decimal::ZERO {
                d.imp_pagado / d.total
            } else {
                Decimal::ZERO
            };
            let has_taxes = !d.traslados.is_empty() || !d.retenciones.is_empty();
            let mut imp = ImpuestosDr::default();
            // Group the invoice's taxes like its comprobante-level Impuestos.
            let mut tg: BTreeMap<(String, String, Option<Decimal>), Decimal> = BTreeMap::new();
            for (i, f, t, b) in &d.traslados {
                *tg.entry((i.clone(), f.clone(), *t))
                    .or_insert(Decimal::ZERO) += *b;
            }
            for ((i, f, t), b) in tg {
                let base_dr = money(b * factor, dec_dr);
                let importe_dr = t.map(|t| money(base_dr * t, dec_dr));
                let e = tras_p
                    .entry((i.clone(), f.clone(), t))
                    .or_insert((Decimal::ZERO, importe_dr.map(|_| Decimal::ZERO)));
                e.0 += base_dr / equivalencia;
                if let (Some(acc), Some(v)) = (e.1.as_mut(), importe_dr) {
                    *acc += v / equivalencia;
                }
                imp.traslados_dr.push(ImpuestoDr {
                    base_dr,
                    impuesto_dr: i,
                    tipo_factor_dr: f,
                    tasa_o_cuota_dr: t,
                    importe_dr,
                });
            }
            let mut rg: BTreeMap<(String, Decimal), Decimal> = BTreeMap::new();
            for (i, t, b) in &d.retenciones {
                *rg.entry((i.clone(), *t)).or_insert(Decimal::ZERO) += *b;
            }
            for ((i, t), b) in rg {
                let base_dr = money(b * factor, dec_dr);
                let importe_dr = money(base_dr * t, dec_dr);
                *ret_p.entry(i.clone()).or_insert(Decimal::ZERO) += importe_dr / equivalencia;
                imp.retenciones_dr.push(ImpuestoDr {
                    base_dr,
                    impuesto_dr: i,
                    tipo_factor_dr: "Tasa".into(),
                    tasa_o_cuota_dr: Some(t),
                    importe_dr: Some(importe_dr),
                });
            }
            doctos.push(DoctoRelacionado {
                id_documento: d.id_documento,
                serie: d.serie,
                folio: d.folio,
                moneda_dr: d.moneda_dr,
                equivalencia_dr: Some(equivalencia),
                num_parcialidad: d.num_parcialidad.to_string(),
                imp_saldo_ant: money(d.imp_saldo_ant, dec_dr),
                imp_pagado: money(d.imp_pagado, dec_dr),
                imp_saldo_insoluto: money(d.imp_saldo_ant - d.imp_pagado, dec_dr),
                objeto_imp_dr: if has_taxes { "02" } else { "01" }.into(),
                impuestos_dr: has_taxes.then_some(imp),
            });
        }
        let mut impuestos_p = ImpuestosP::default();
        for (impuesto_p, importe) in ret_p {
            impuestos_p.retenciones_p.push(RetencionP {
                impuesto_p,
                importe_p: money(importe, dec_p),
            });
        }
        for ((impuesto_p, factor, tasa), (base, importe)) in tras_p {
            impuestos_p.traslados_p.push(TrasladoP {
                base_p: money(base, dec_p),
                impuesto_p,
                tipo_factor_p: factor,
                tasa_o_cuota_p: tasa,
                importe_p: importe.map(|v| money(v, dec_p)),
            });
        }
        let has_imp = !impuestos_p.retenciones_p.is_empty() || !impuestos_p.traslados_p.is_empty();
        Ok(Pago {
            fecha_pago: self.fecha_pago,
            forma_de_pago_p: self.forma_de_pago_p,
            moneda_p: self.moneda_p,
            tipo_cambio_p,
            monto: money(monto, dec_p),
            num_operacion: self.num_operacion,
            doctos_relacionados: doctos,
            impuestos_p: has_imp.then_some(impuestos_p),
            ..Pago::default()
        })
    }
}

/// Builds a tipo `P` comprobante with a Pagos 2.0 complement, computing `Monto`, `ImpSaldoInsoluto`,
/// `ImpuestosDR` (the invoice's taxes in proportion ImpPagado / Total), `ImpuestosP` and `Totales`.
///
/// Amounts are rounded half away from zero to the decimals of MonedaDR (DR amounts), MonedaP
/// (`Monto`, `ImpuestosP`) and MXN (`Totales`).
#[derive(Clone, Debug)]
#[must_use]
pub struct PagosBuilder {
    fecha: String,
    lugar_expedicion: String,
    serie: Option<String>,
    folio: Option<String>,
    emisor: Emisor,
    receptor: Receptor,
    relacionados: Vec<CfdiRelacionados>,
    pagos: Vec<PagoBuilder>,
}

impl PagosBuilder {
    /// A payment receipt issued on `fecha` at `lugar_expedicion`.
    pub fn new(fecha: impl Into<String>, lugar_expedicion: impl Into<String>) -> Self {
        Self {
            fecha: fecha.into(),
            lugar_expedicion: lugar_expedicion.into(),
            serie: None,
            folio: None,
            emisor: Emisor::default(),
            receptor: Receptor::default(),
            relacionados: Vec::new(),
            pagos: Vec::new(),
        }
    }

    /// `Serie` of the receipt (the issuer's own series, ≤ 25 characters).
    pub fn serie(mut self, v: impl Into<String>) -> Self {
        self.serie = Some(v.into());
        self
    }

    /// `Folio` of the receipt (the issuer's own number, ≤ 40 characters).
    pub fn folio(mut self, v: impl Into<String>) -> Self {
        self.folio = Some(v.into());
        self
    }

    /// The issuer (`Emisor`), the same as on the paid invoices.
    pub fn emisor(mut self, e: Emisor) -> Self {
        self.emisor = e;
        self
    }

    /// `Receptor` (its `UsoCFDI` is set to `CP01`).
    pub fn receptor(mut self, r: Receptor) -> Self {
        self.receptor = r;
        self
    }

    /// Adds a `CfdiRelacionados` (e.g. `04` to replace a cancelled receipt).
    pub fn relacionados(mut self, r: CfdiRelacionados) -> Self {
        self.relacionados.push(r);
        self
    }

    /// Adds a payment.
    pub fn pago(mut self, p: PagoBuilder) -> Self {
        self.pagos.push(p);
        self
    }

    /// Computes everything and returns the (unsealed) comprobante.
    ///
    /// # Errors
    /// [`Error::Build`] for inconsistent input.
    pub fn build(self) -> Result<Comprobante> {
        if self.pagos.is_empty() {
            return Err(invalid("Pago", None, BuildRule::Required));
        }
        let mut pagos = Vec::new();
        for (i, p) in self.pagos.into_iter().enumerate() {
            pagos.push(p.finish().map_err(|e| placed(e, BuildPlace::Pago(i + 1)))?);
        }
        let mut totales = PagosTotales::default();
        let mut monto_total = Decimal::ZERO;
        fn add(slot: &mut Option<Decimal>, v: Decimal) -> Result<()> {
            let acc = slot.get_or_insert(Decimal::ZERO);
            *acc = checked("Totales", acc.checked_add(v))?;
            Ok(())
        }
        for p in &pagos {
            let tc = p.tipo_cambio_p.unwrap_or(Decimal::ONE);
            let monto = checked("MontoTotalPagos", p.monto.checked_mul(tc))?;
            monto_total = checked("MontoTotalPagos", monto_total.checked_add(monto))?;
            if let Some(i) = &p.impuestos_p {
                for r in &i.retenciones_p {
                    let v = checked("Totales", r.importe_p.checked_mul(tc))?;
                    match r.impuesto_p.as_str() {
                        IVA => add(&mut totales.total_retenciones_iva, v)?,
                        ISR => add(&mut totales.total_retenciones_isr, v)?,
                        IEPS => add(&mut totales.total_retenciones_ieps, v)?,
                        _ => {}
                    }
                }
                for t in &i.traslados_p {
                    if t.impuesto_p != IVA {
                        continue;
                    }
                    let base = checked("Totales", t.base_p.checked_mul(tc))?;
                    let imp = checked(
                        "Totales",
                        t.importe_p.unwrap_or(Decimal::ZERO).checked_mul(tc),
                    )?;
                    let tasa = t.tasa_o_cuota_p.map(|x| x.normalize());
                    if t.tipo_factor_p == "Exento" {
                        add(&mut totales.total_traslados_base_iva_exento, base)?;
                    } else if tasa == Some(Decimal::new(16, 2)) {
                        add(&mut totales.total_traslados_base_iva16, base)?;
                        add(&mut totales.total_traslados_impuesto_iva16, imp)?;
                    } else if tasa == Some(Decimal::new(8, 2)) {
                        add(&mut totales.total_traslados_base_iva8, base)?;
                        add(&mut totales.total_traslados_impuesto_iva8, imp)?;
                    } else if tasa == Some(Decimal::ZERO) {
                        add(&mut totales.total_traslados_base_iva0, base)?;
                        add(&mut totales.total_traslados_impuesto_iva0, imp)?;
                    }
                }
            }
        }
        for slot in [
            &mut totales.total_retenciones_iva,
            &mut totales.total_retenciones_isr,
            &mut totales.total_retenciones_ieps,
            &mut totales.total_traslados_base_iva16,
            &mut totales.total_traslados_impuesto_iva16,
            &mut totales.total_traslados_base_iva8,
            &mut totales.total_traslados_impuesto_iva8,
            &mut totales.total_traslados_base_iva0,
            &mut totales.total_traslados_impuesto_iva0,
            &mut totales.total_traslados_base_iva_exento,
        ] {
            if let Some(v) = slot.as_mut() {
                *v = money(*v, 2);
            }
        }
        totales.monto_total_pagos = money(monto_total, 2);
        let mut receptor = self.receptor;
        receptor.uso_cfdi = "CP01".into();
        Ok(Comprobante {
            version: "4.0".into(),
            serie: self.serie,
            folio: self.folio,
            fecha: self.fecha,
            sub_total: Decimal::ZERO,
            moneda: "XXX".into(),
            total: Decimal::ZERO,
            tipo_de_comprobante: "P".into(),
            exportacion: "01".into(),
            lugar_expedicion: self.lugar_expedicion,
            cfdi_relacionados: self.relacionados,
            emisor: self.emisor,
            receptor,
            conceptos: vec![Concepto {
                clave_prod_serv: "84111506".into(),
                cantidad: Decimal::ONE,
                clave_unidad: "ACT".into(),
                descripcion: "Pago".into(),
                valor_unitario: Decimal::ZERO,
                importe: Decimal::ZERO,
                objeto_imp: "01".into(),
                ..Concepto::default()
            }],
            complemento: Some(vec![Complemento::Pagos(Box::new(Pagos {
                version: "2.0".into(),
                totales,
                pagos,
            }))]),
            ..Comprobante::default()
        })
    }
}
