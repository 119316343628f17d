//! Native validation rules with stable codes.
//!
//! [`comprobante`] and [`mensaje_receptor`] return a [`Report`] listing every [`Issue`]; each has a
//! [`Rule`] whose [`Rule::code`] is stable (`CR-…`), a path such as
//! `DetalleServicio/LineaDetalle[2]/CodigoCABYS` and a message. The writer refuses documents with
//! error-severity issues. These rules complement, not replace, the XSDs (the crate's tests check
//! its output with `xmllint` against the vendored schemas of both revisions).
//!
//! # Rules whose source is silent
//!
//! The only Hacienda texts at hand for v4.4 are the XSDs and their `xs:annotation/xs:documentation`
//! (the *Anexos y Estructuras v4.4* document itself is not vendored, so nothing here cites it). The
//! quotes below are from the **2026 revision** as published (22 April 2026), byte-exact copies in
//! `tests/fixtures/xsd/xsd/v4.4-2026/`: `FacturaElectronicaCompra_V4.4.xsd` (FEC) and
//! `FacturaElectronicaExportacion_V4.4.xsd` (FEE), element paths given for FEC. The same annotations,
//! word for word, are in the 2024 base files `tests/fixtures/xsd/xsd/v4.4/FacturaElectronica_V4.4.xsd`,
//! `TiqueteElectronico_V4.4.xsd`, `NotaCreditoElectronica_V4.4.xsd` and `NotaDebitoElectronica_V4.4.xsd`
//! (no official 2026 text of these four was found; the derived 2026 files in `v4.4-2026-derived/` keep
//! the 2024 annotations). Quotes keep the source's spelling. Where the annotations settle a question the
//! rule is an error; where they are silent the rule is a [`Severity::Warning`] (the document is still
//! written) and the behaviour chosen is stated:
//!
//! - **Servicio or mercancía** when CABYS and `UnidadMedida` disagree (`TotalServ*` vs `TotalMerc*`):
//!   `FacturaElectronicaCompra/ResumenFactura/TotalServGravados` says "Total de los servicios gravados
//!   con IVA" and `…/ResumenFactura/TotalMercanciasGravadas` "Total mercancias gravadas con IVA" (sic, no
//!   accent); `…/DetalleServicio/LineaDetalle/CodigoCABYS` says "Código de Producto/servicio" and
//!   `…/DetalleServicio/LineaDetalle/UnidadMedida` "Unidad de medida"; the `UnidadMedidaType` enumeration
//!   names some units as services (`Sp` "Servicios Profesionales", `Spe` "Servicios personales", `St`
//!   "Servicios técnicos", `Os` "Otro tipo de servicio", `Al` "Alquiler de uso habitacional", `Alc`
//!   "Alquiler de uso comercial", `Cm` "Comisiones", `I` "Intereses"). None of them says which decides when the two
//!   disagree: **silent, so a warning**. The totals follow CABYS (catalog sections 5–9 are services, 0–4
//!   goods; without a CABYS code, the service units above), and a line whose CABYS section and unit
//!   disagree gets [`Rule::ServicioMercancia`].
//! - **`TotalDesgloseImpuesto` for a tax whose total is 0**: `…/ResumenFactura/TotalDesgloseImpuesto` is
//!   optional (`minOccurs="0" maxOccurs="1000"`) and "Tipo complejo que contiene los montos desglosados por
//!   impuesto cobrado en el comprobante electrónico."; its `Codigo` "Indicará los códigos de impuesto
//!   registrados en las líneas de detalle."; its `TotalMontoImpuesto` "Se obtiene de la sumatoria del
//!   monto por código de impuesto cobrado en el comprobante electrónico"; `…/ResumenFactura/TotalImpuesto`
//!   "Se obtiene de la suma de todos campos monto del impuesto". "Cobrado" (charged) and "registrados en
//!   las líneas" (recorded in the lines) point different ways for a (Codigo, CodigoTarifaIVA) whose sum is
//!   0 — e.g. exenta — and nothing settles it: **silent, so a warning**. The totals engine lists it; a
//!   document that omits it (or lists a 0 the lines do not have) gets [`Rule::DesgloseCero`]. Any
//!   difference in a non-zero total stays an error ([`Rule::TotalsFormula`]).
//!
//! The rules are split by section: [`comprobante()`] drives the document-level checks
//! (`comprobante.rs`), with the parties (`partes.rs`), the lines (`lineas.rs`), the
//! `ResumenFactura` (`resumen.rs`) and `InformacionReferencia` (`referencias.rs`) in their own
//! modules; [`mensaje_receptor()`] is in `mensaje.rs`. This file holds the report types and the
//! field checks they share.

mod comprobante;
pub(crate) mod facets;
#[rustfmt::skip]
mod facets_generated;
mod lineas;
mod mensaje;
mod partes;
mod pattern;
mod referencias;
mod resumen;
pub(crate) mod v43;

use std::fmt;

use rust_decimal::Decimal;

use crate::revision::SchemaRevision;
use crate::shape::{Occ, Shape};
use crate::tipo::TipoDocumento;

pub use comprobante::comprobante;
pub use mensaje::mensaje_receptor;

/// A validation rule.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The clave has letters but the document follows the 2024 schemas.
    ClaveRevision,
    /// The date in the clave is not the Costa Rica date of `FechaEmision`.
    ClaveFecha,
    /// The cédula in the clave is not the emisor's identification number.
    ClaveEmisor,
    /// The tipo in the consecutivo does not fit the document (e.g. a mensaje receptor tipo in a
    /// comprobante, or a receptor consecutivo not matching `Mensaje`).
    ConsecutivoTipo,
    /// Identification number length/characters do not fit its type or the schema revision.
    Identificacion,
    /// A required element is missing.
    Required,
    /// An element the document type does not have.
    NotAllowed,
    /// Too many occurrences (lines, medios de pago, references, …) or too few.
    Count,
    /// Text length outside the XSD bounds.
    Length,
    /// Characters that XML 1.0 cannot carry.
    Characters,
    /// Code not in the XSD list for this document type and revision.
    Code,
    /// A value does not match the `xs:pattern` of its schema type (generated from the XSDs).
    Pattern,
    /// `CodigoCABYS` is not 13 digits.
    Cabys,
    /// Too many decimals, negative or too large amount.
    Decimals,
    /// A line amount does not follow its formula.
    LineFormula,
    /// A `ResumenFactura` total does not equal the sum/formula of the lines.
    TotalsFormula,
    /// `MedioPago` amounts inconsistent.
    MedioPago,
    /// `CodigoReferencia` / `TipoDocIR` not valid for this revision and document type.
    Referencia,
    /// The document uses an older revision than the one in force at its date.
    RevisionDate,
    /// `CodigoCABYS` and `UnidadMedida` disagree on servicio vs mercancía (warning: Hacienda's
    /// documents do not say which prevails; the totals follow CABYS).
    ServicioMercancia,
    /// `TotalDesgloseImpuesto` differs from the lines only in taxes whose total is 0 (warning:
    /// Hacienda's documents do not say whether a zero total is listed).
    DesgloseCero,
}

impl Rule {
    /// Stable code of the rule.
    pub fn code(self) -> &'static str {
        match self {
            Rule::ClaveRevision => "CR-CLAVE-REVISION",
            Rule::ClaveFecha => "CR-CLAVE-FECHA",
            Rule::ClaveEmisor => "CR-CLAVE-EMISOR",
            Rule::ConsecutivoTipo => "CR-CONSECUTIVO-TIPO",
            Rule::Identificacion => "CR-ID-LENGTH",
            Rule::Required => "CR-REQUIRED",
            Rule::NotAllowed => "CR-NOT-ALLOWED",
            Rule::Count => "CR-COUNT",
            Rule::Length => "CR-TEXT-LENGTH",
            Rule::Characters => "CR-TEXT-CHARS",
            Rule::Code => "CR-CODE",
            Rule::Pattern => "CR-XSD-PATTERN",
            Rule::Cabys => "CR-CABYS",
            Rule::Decimals => "CR-DECIMALS",
            Rule::LineFormula => "CR-LINE-FORMULA",
            Rule::TotalsFormula => "CR-TOTALS-FORMULA",
            Rule::MedioPago => "CR-MEDIO-PAGO",
            Rule::Referencia => "CR-REFERENCIA",
            Rule::RevisionDate => "CR-REVISION-DATE",
            Rule::ServicioMercancia => "CR-SERVICIO-MERCANCIA",
            Rule::DesgloseCero => "CR-DESGLOSE-CERO",
        }
    }
}

/// Severity of an issue.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Hacienda would reject the document (or the schema does not allow it).
    Error,
    /// Suspicious but accepted.
    Warning,
}

/// One finding.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The rule.
    pub rule: Rule,
    /// Severity.
    pub severity: Severity,
    /// Path of the element (`ResumenFactura/TotalVenta`).
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.rule.code(), self.path, self.message)
    }
}

/// The result of validating a document.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Every finding, in document order.
    pub issues: Vec<Issue>,
}

impl Report {
    /// Whether any issue has [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }
    /// Issues with [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
    /// Whether some issue has this rule.
    pub fn has(&self, rule: Rule) -> bool {
        self.issues.iter().any(|i| i.rule == rule)
    }
    fn err(&mut self, rule: Rule, path: impl PathArg, message: impl Into<String>) {
        self.issues.push(Issue {
            rule,
            severity: Severity::Error,
            path: path.render(),
            message: message.into(),
        });
    }
    /// A [`Rule::TotalsFormula`] error at `path` unless `expected == found`.
    fn totals_formula(&mut self, path: impl PathArg, expected: Decimal, found: Decimal) {
        if expected != found {
            self.err(
                Rule::TotalsFormula,
                path,
                format!("expected {expected}, found {found}"),
            );
        }
    }
    fn warn(&mut self, rule: Rule, path: impl PathArg, message: impl Into<String>) {
        self.issues.push(Issue {
            rule,
            severity: Severity::Warning,
            path: path.render(),
            message: message.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(f, "{n} issue(s)")?;
        for i in &self.issues {
            write!(f, "; {i}")?;
        }
        Ok(())
    }
}

/// A path given lazily: rendered only when an issue is reported.
trait PathArg {
    fn render(&self) -> String;
}

impl PathArg for &str {
    fn render(&self) -> String {
        (*self).to_owned()
    }
}

impl PathArg for &String {
    fn render(&self) -> String {
        (*self).clone()
    }
}

impl PathArg for String {
    fn render(&self) -> String {
        self.clone()
    }
}

/// `parent/leaf`.
#[derive(Clone, Copy)]
struct At<'a>(&'a str, &'static str);

impl PathArg for At<'_> {
    fn render(&self) -> String {
        format!("{}/{}", self.0, self.1)
    }
}

/// Largest `DecimalDineroType` value.
const MAX_MONEY: Decimal = Decimal::from_parts(2_808_348_671, 232_830_643, 0, false, 5);

fn fraction_digits(d: Decimal) -> u32 {
    d.normalize().scale()
}

fn char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

struct V<'a> {
    r: Report,
    rev: SchemaRevision,
    tipo: TipoDocumento,
    s: Shape,
    _doc: std::marker::PhantomData<&'a ()>,
}

impl V<'_> {
    fn money(&mut self, path: impl PathArg + Copy, d: Decimal) {
        if d.is_sign_negative() && !d.is_zero() {
            self.r.err(Rule::Decimals, path, format!("{d} is negative"));
        } else if d > MAX_MONEY {
            self.r.err(
                Rule::Decimals,
                path,
                format!("{d} exceeds 9999999999999.99999"),
            );
        }
        if fraction_digits(d) > 5 {
            self.r.err(
                Rule::Decimals,
                path,
                format!("{d} has more than 5 decimals"),
            );
        }
    }
    fn opt_money(&mut self, path: impl PathArg + Copy, d: Option<Decimal>) {
        if let Some(d) = d {
            self.money(path, d);
        }
    }
    fn dec(&mut self, path: impl PathArg + Copy, d: Decimal, total: u32, frac: u32) {
        if fraction_digits(d) > frac {
            self.r.err(
                Rule::Decimals,
                path,
                format!("{d} has more than {frac} decimals"),
            );
        }
        // XSD totalDigits: digits of the value without the decimal point and without leading or
        // trailing zeros
        let mut m = d.normalize().mantissa().unsigned_abs();
        let mut digits = 0u32;
        while m > 0 {
            m /= 10;
            digits += 1;
        }
        if digits > total {
            self.r.err(
                Rule::Decimals,
                path,
                format!("{d} has more than {total} digits"),
            );
        }
        if d.is_sign_negative() && !d.is_zero() {
            self.r.err(Rule::Decimals, path, format!("{d} is negative"));
        }
    }
    /// Characters XML 1.0 cannot carry. (Lengths, patterns and enumerations come from the
    /// generated XSD facets, see `facets.rs`.)
    fn chars(&mut self, path: impl PathArg + Copy, t: &str) {
        if let Some(c) = t.chars().find(|c| !char_ok(*c)) {
            self.r.err(
                Rule::Characters,
                path,
                format!("character U+{:04X} is not allowed in XML", c as u32),
            );
        }
    }
    fn opt_chars(&mut self, path: impl PathArg + Copy, t: Option<&str>) {
        if let Some(t) = t {
            self.chars(path, t);
        }
    }
    fn code(&mut self, path: impl PathArg + Copy, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.r.err(
                Rule::Code,
                path,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            );
        }
    }
    fn not_allowed(&mut self, path: impl PathArg + Copy, present: bool) {
        if present {
            self.r.err(
                Rule::NotAllowed,
                path,
                format!(
                    "{} documents do not have this element",
                    self.tipo.short_name()
                ),
            );
        }
    }
    fn occ(&mut self, path: impl PathArg + Copy, occ: Occ, present: bool) {
        match (occ, present) {
            (Occ::Required, false) => self.r.err(Rule::Required, path, "required element missing"),
            (Occ::Absent, true) => self.not_allowed(path, true),
            _ => {}
        }
    }
    fn count(&mut self, path: impl PathArg + Copy, n: usize, min: usize, max: usize) {
        if n < min || n > max {
            self.r.err(
                Rule::Count,
                path,
                format!("{n} occurrences, allowed {min}..={max}"),
            );
        }
    }

    /// `…OTRO(S)` text required when the code is 99.
    fn otro(&mut self, path: impl PathArg + Copy, code: Option<&str>, otro: Option<&str>) {
        if code == Some("99") && otro.is_none() {
            self.r
                .err(Rule::Required, path, "required when the code is 99");
        }
    }
}

/// Saturating addition (an overflowing sum can only come from absurd inputs, which the
/// per-field range checks already report).
fn plus(a: Decimal, b: Decimal) -> Decimal {
    a.checked_add(b).unwrap_or(Decimal::MAX)
}

fn sum<'a>(it: impl Iterator<Item = &'a Decimal>) -> Decimal {
    it.fold(Decimal::ZERO, |a, b| {
        a.checked_add(*b).unwrap_or(Decimal::MAX)
    })
}
