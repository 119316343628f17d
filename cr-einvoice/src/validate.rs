//! Native validation rules with stable codes.
//!
//! [`comprobante`] and [`mensaje_receptor`] return a [`Report`] listing every [`Issue`]; each has a
//! [`Rule`] whose [`Rule::code`] is stable (`CR-…`), a path such as
//! `DetalleServicio/LineaDetalle[2]/CodigoCABYS` and a message. The writer refuses documents with
//! error-severity issues. These rules complement, not replace, the XSDs (the crate's tests check
//! its output with `xmllint` against the vendored schemas of both revisions).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;

use crate::clave::Clave;
use crate::codes;
use crate::model::{
    Comprobante, Identificacion, LineaDetalle, LineaDetalleSurtido, MensajeReceptor, Parte,
};
use crate::revision::SchemaRevision;
use crate::shape::{Occ, Shape, shape};
use crate::tipo::TipoDocumento;
use crate::totals::{Tratamiento, es_servicio, round5, tratamiento};

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
            Rule::Cabys => "CR-CABYS",
            Rule::Decimals => "CR-DECIMALS",
            Rule::LineFormula => "CR-LINE-FORMULA",
            Rule::TotalsFormula => "CR-TOTALS-FORMULA",
            Rule::MedioPago => "CR-MEDIO-PAGO",
            Rule::Referencia => "CR-REFERENCIA",
            Rule::RevisionDate => "CR-REVISION-DATE",
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
    fn text(&mut self, path: impl PathArg + Copy, t: &str, min: usize, max: usize) {
        let n = t.chars().count();
        if n < min || n > max {
            self.r.err(
                Rule::Length,
                path,
                format!("length {n} outside {min}..={max}"),
            );
        }
        if let Some(c) = t.chars().find(|c| !char_ok(*c)) {
            self.r.err(
                Rule::Characters,
                path,
                format!("character U+{:04X} is not allowed in XML", c as u32),
            );
        }
    }
    fn opt_text(&mut self, path: impl PathArg + Copy, t: Option<&str>, min: usize, max: usize) {
        if let Some(t) = t {
            self.text(path, t, min, max);
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
    fn identificacion(&mut self, path: impl PathArg + Copy, id: &Identificacion) {
        let n = &id.numero;
        let len = n.chars().count();
        match self.rev {
            SchemaRevision::V2024 => {
                if !n.bytes().all(|b| b.is_ascii_digit()) || !(9..=20).contains(&len) {
                    self.r.err(
                        Rule::Identificacion,
                        path,
                        format!("{n:?}: the 2024 schemas require 9 to 20 digits"),
                    );
                    return;
                }
            }
            SchemaRevision::V2026 => {
                if !n.chars().all(|c| c.is_ascii_alphanumeric()) || !(1..=20).contains(&len) {
                    self.r.err(
                        Rule::Identificacion,
                        path,
                        format!("{n:?}: 1 to 20 letters or digits expected"),
                    );
                    return;
                }
            }
        }
        if let Some(lengths) = id.tipo.lengths()
            && !lengths.contains(&len)
        {
            self.r.err(
                Rule::Identificacion,
                path,
                format!(
                    "tipo {} requires {lengths:?} characters, found {len}",
                    id.tipo.code()
                ),
            );
        }
    }

    fn parte(&mut self, name: &str, p: &Parte, emisor: bool) {
        let s = self.s;
        self.text(
            At(name, "Nombre"),
            &p.nombre,
            if emisor { 5 } else { 3 },
            100,
        );
        match &p.identificacion {
            Some(id) => self.identificacion(At(name, "Identificacion/Numero"), id),
            None => {
                let occ = if emisor {
                    Occ::Required
                } else {
                    s.receptor_identificacion
                };
                self.occ(At(name, "Identificacion"), occ, false);
            }
        }
        let full = s.full_parties;
        if emisor {
            self.not_allowed(
                At(name, "Registrofiscal8707"),
                !full && p.registro_fiscal_8707.is_some(),
            );
            self.opt_text(
                At(name, "Registrofiscal8707"),
                p.registro_fiscal_8707.as_deref(),
                0,
                12,
            );
        } else {
            self.not_allowed(
                At(name, "Registrofiscal8707"),
                p.registro_fiscal_8707.is_some(),
            );
        }
        self.not_allowed(
            At(name, "NombreComercial"),
            !full && p.nombre_comercial.is_some(),
        );
        self.opt_text(
            At(name, "NombreComercial"),
            p.nombre_comercial.as_deref(),
            3,
            80,
        );
        let ubic = if emisor {
            s.emisor_ubicacion
        } else if s.receptor_ubicacion {
            Occ::Optional
        } else {
            Occ::Absent
        };
        self.occ(At(name, "Ubicacion"), ubic, p.ubicacion.is_some());
        if let Some(u) = &p.ubicacion {
            if !(1..=9).contains(&u.provincia)
                || !(1..=99).contains(&u.canton)
                || !(1..=99).contains(&u.distrito)
            {
                self.r.err(
                    Rule::Code,
                    format!("{name}/Ubicacion"),
                    "provincia 1–9, cantón and distrito 01–99",
                );
            }
            self.opt_text(At(name, "Ubicacion/Barrio"), u.barrio.as_deref(), 5, 50);
            self.text(At(name, "Ubicacion/OtrasSenas"), &u.otras_senas, 5, 250);
        }
        let ose = if emisor {
            s.emisor_otras_senas_extranjero
        } else {
            s.receptor_otras_senas_extranjero
        };
        self.not_allowed(
            At(name, "OtrasSenasExtranjero"),
            !ose && p.otras_senas_extranjero.is_some(),
        );
        self.opt_text(
            At(name, "OtrasSenasExtranjero"),
            p.otras_senas_extranjero.as_deref(),
            5,
            300,
        );
        self.not_allowed(At(name, "Telefono"), !full && p.telefono.is_some());
        if let Some(t) = &p.telefono
            && (t.codigo_pais > 999 || t.numero < 10_000_000)
        {
            self.r.err(
                Rule::Code,
                format!("{name}/Telefono"),
                "CodigoPais ≤ 3 digits, NumTelefono ≥ 8 digits",
            );
        }
        let (min, max) = if emisor {
            (s.emisor_correos_min, 4)
        } else {
            (0, 1)
        };
        self.count(At(name, "CorreoElectronico"), p.correos.len(), min, max);
        for c in &p.correos {
            self.text(At(name, "CorreoElectronico"), c, 1, 160);
        }
    }

    fn surtido(&mut self, p: &str, c: &LineaDetalleSurtido) {
        let fee = !self.s.base_imponible;
        if c.codigo_cabys.len() != 13 || !c.codigo_cabys.bytes().all(|b| b.is_ascii_digit()) {
            self.r.err(
                Rule::Cabys,
                At(p, "CodigoCABYSSurtido"),
                format!("{:?} must be 13 digits", c.codigo_cabys),
            );
        }
        self.count(
            At(p, "CodigoComercialSurtido"),
            c.codigos_comerciales.len(),
            0,
            5,
        );
        for k in &c.codigos_comerciales {
            self.code(
                At(p, "CodigoComercialSurtido/TipoSurtido"),
                &k.tipo,
                &codes::TIPOS_CODIGO_COMERCIAL,
            );
            self.text(
                At(p, "CodigoComercialSurtido/CodigoSurtido"),
                &k.codigo,
                1,
                20,
            );
        }
        self.dec(At(p, "CantidadSurtido"), c.cantidad, 16, 3);
        self.text(At(p, "UnidadMedidaSurtido"), &c.unidad_medida, 1, 15);
        self.opt_text(
            At(p, "UnidadMedidaComercialSurtido"),
            c.unidad_medida_comercial.as_deref(),
            0,
            20,
        );
        self.text(At(p, "DetalleSurtido"), &c.detalle, 3, 200);
        self.money(At(p, "PrecioUnitarioSurtido"), c.precio_unitario);
        self.money(At(p, "MontoTotalSurtido"), c.monto_total);
        self.count(At(p, "DescuentoSurtido"), c.descuentos.len(), 0, 5);
        let mut desc = Decimal::ZERO;
        for d in &c.descuentos {
            self.money(At(p, "DescuentoSurtido/MontoDescuentoSurtido"), d.monto);
            self.code(
                At(p, "DescuentoSurtido/CodigoDescuentoSurtido"),
                &d.codigo,
                &codes::CODIGOS_DESCUENTO,
            );
            self.opt_text(
                At(p, "DescuentoSurtido/DescuentoSurtidoOtros"),
                d.codigo_otro.as_deref(),
                3,
                80,
            );
            self.not_allowed(
                At(p, "DescuentoSurtido/NaturalezaDescuento"),
                d.naturaleza.is_some(),
            );
            desc = plus(desc, d.monto);
        }
        self.money(At(p, "SubTotalSurtido"), c.sub_total);
        self.not_allowed(
            At(p, "IVACobradoFabricaSurtido"),
            fee && c.iva_cobrado_fabrica.is_some(),
        );
        if let Some(v) = &c.iva_cobrado_fabrica {
            self.code(At(p, "IVACobradoFabricaSurtido"), v, &["01", "02"]);
        }
        self.money(At(p, "BaseImponibleSurtido"), c.base_imponible);
        self.count(At(p, "ImpuestoSurtido"), c.impuestos.len(), 1, 1000);
        for imp in &c.impuestos {
            self.code(
                At(p, "ImpuestoSurtido/CodigoImpuestoSurtido"),
                &imp.codigo,
                &codes::IMPUESTO_CODIGOS,
            );
            if let Some(t) = &imp.codigo_tarifa_iva {
                self.code(
                    At(p, "ImpuestoSurtido/CodigoTarifaIVASurtido"),
                    t,
                    &codes::CODIGOS_TARIFA_IVA,
                );
            }
            if let Some(t) = imp.tarifa {
                self.dec(At(p, "ImpuestoSurtido/TarifaSurtido"), t, 4, 2);
            }
            self.not_allowed(
                At(p, "ImpuestoSurtido"),
                imp.factor_calculo_iva.is_some()
                    || imp.monto_exportacion.is_some()
                    || imp.exoneracion.is_some(),
            );
            self.not_allowed(
                At(p, "ImpuestoSurtido/DatosImpuestoEspecificoSurtido"),
                fee && imp.datos_impuesto_especifico.is_some(),
            );
            self.money(At(p, "ImpuestoSurtido/MontoImpuestoSurtido"), imp.monto);
        }
        let expected = c.cantidad.checked_mul(c.precio_unitario).map(round5);
        if expected.is_some_and(|e| e != c.monto_total) {
            self.r.err(
                Rule::LineFormula,
                At(p, "MontoTotalSurtido"),
                format!("expected {expected:?}, found {}", c.monto_total),
            );
        }
        if c.monto_total.checked_sub(desc) != Some(c.sub_total) {
            self.r.err(
                Rule::LineFormula,
                At(p, "SubTotalSurtido"),
                "MontoTotalSurtido − descuentos expected",
            );
        }
    }

    fn linea(&mut self, i: usize, l: &LineaDetalle) {
        let s = self.s;
        let p = format!("DetalleServicio/LineaDetalle[{}]", i + 1);
        if usize::try_from(l.numero_linea).ok() != Some(i + 1) {
            self.r.err(
                Rule::LineFormula,
                format!("{p}/NumeroLinea"),
                format!("expected {}, found {}", i + 1, l.numero_linea),
            );
        }
        self.text(
            At(&p, "Detalle"),
            &l.detalle,
            if s.rep_line { 0 } else { 3 },
            200,
        );
        self.not_allowed(
            At(&p, "PartidaArancelaria"),
            !s.partida_arancelaria && l.partida_arancelaria.is_some(),
        );
        self.occ(At(&p, "CodigoCABYS"), s.cabys, l.codigo_cabys.is_some());
        if let Some(c) = &l.codigo_cabys
            && (c.len() != 13 || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            self.r.err(
                Rule::Cabys,
                format!("{p}/CodigoCABYS"),
                format!("{c:?} must be 13 digits"),
            );
        }
        let rep = s.rep_line;
        self.not_allowed(
            At(&p, "CodigoComercial"),
            rep && !l.codigos_comerciales.is_empty(),
        );
        self.count(At(&p, "CodigoComercial"), l.codigos_comerciales.len(), 0, 5);
        for c in &l.codigos_comerciales {
            self.code(
                At(&p, "CodigoComercial/Tipo"),
                &c.tipo,
                &codes::TIPOS_CODIGO_COMERCIAL,
            );
            self.text(At(&p, "CodigoComercial/Codigo"), &c.codigo, 1, 20);
        }
        if !rep {
            self.dec(At(&p, "Cantidad"), l.cantidad, 16, 3);
            self.text(At(&p, "UnidadMedida"), &l.unidad_medida, 1, 15);
            self.money(At(&p, "PrecioUnitario"), l.precio_unitario);
        }
        self.not_allowed(
            At(&p, "TipoTransaccion"),
            !s.tipo_transaccion && l.tipo_transaccion.is_some(),
        );
        if let Some(t) = &l.tipo_transaccion {
            self.code(At(&p, "TipoTransaccion"), t, &codes::TIPOS_TRANSACCION);
        }
        self.not_allowed(
            At(&p, "UnidadMedidaComercial"),
            rep && l.unidad_medida_comercial.is_some(),
        );
        self.opt_text(
            At(&p, "UnidadMedidaComercial"),
            l.unidad_medida_comercial.as_deref(),
            0,
            20,
        );
        self.not_allowed(
            At(&p, "NumeroVINoSerie"),
            rep && !l.numeros_vin_serie.is_empty(),
        );
        for n in &l.numeros_vin_serie {
            self.text(At(&p, "NumeroVINoSerie"), n, 0, 17);
        }
        self.not_allowed(
            At(&p, "RegistroMedicamento"),
            rep && l.registro_medicamento.is_some(),
        );
        self.not_allowed(
            At(&p, "FormaFarmaceutica"),
            rep && l.forma_farmaceutica.is_some(),
        );
        self.opt_text(
            At(&p, "RegistroMedicamento"),
            l.registro_medicamento.as_deref(),
            0,
            100,
        );
        self.opt_text(
            At(&p, "FormaFarmaceutica"),
            l.forma_farmaceutica.as_deref(),
            0,
            3,
        );
        self.not_allowed(
            At(&p, "DetalleSurtido"),
            !s.surtido && !l.surtido.is_empty(),
        );
        self.count(
            At(&p, "DetalleSurtido/LineaDetalleSurtido"),
            l.surtido.len(),
            0,
            20,
        );
        for (k, c) in l.surtido.iter().enumerate() {
            self.surtido(
                &format!("{p}/DetalleSurtido/LineaDetalleSurtido[{}]", k + 1),
                c,
            );
        }
        self.money(At(&p, "MontoTotal"), l.monto_total);
        self.not_allowed(At(&p, "Descuento"), rep && !l.descuentos.is_empty());
        self.count(At(&p, "Descuento"), l.descuentos.len(), 0, 5);
        let mut desc = Decimal::ZERO;
        for d in &l.descuentos {
            self.money(At(&p, "Descuento/MontoDescuento"), d.monto);
            self.code(
                At(&p, "Descuento/CodigoDescuento"),
                &d.codigo,
                &codes::CODIGOS_DESCUENTO,
            );
            self.opt_text(
                At(&p, "Descuento/CodigoDescuentoOTRO"),
                d.codigo_otro.as_deref(),
                5,
                100,
            );
            self.otro(
                At(&p, "Descuento/CodigoDescuentoOTRO"),
                Some(&d.codigo),
                d.codigo_otro.as_deref(),
            );
            self.opt_text(
                At(&p, "Descuento/NaturalezaDescuento"),
                d.naturaleza.as_deref(),
                3,
                80,
            );
            desc = desc.checked_add(d.monto).unwrap_or(Decimal::MAX);
        }
        self.money(At(&p, "SubTotal"), l.sub_total);
        self.not_allowed(
            At(&p, "IVACobradoFabrica"),
            !s.iva_cobrado_fabrica && l.iva_cobrado_fabrica.is_some(),
        );
        if let Some(v) = &l.iva_cobrado_fabrica {
            self.code(At(&p, "IVACobradoFabrica"), v, &["01", "02"]);
        }
        if s.base_imponible {
            self.money(At(&p, "BaseImponible"), l.base_imponible);
        }
        self.count(At(&p, "Impuesto"), l.impuestos.len(), s.impuestos_min, 1000);
        let mut montos = Decimal::ZERO;
        let mut exon = Decimal::ZERO;
        for (j, imp) in l.impuestos.iter().enumerate() {
            let ip = format!("{p}/Impuesto[{}]", j + 1);
            self.code(At(&ip, "Codigo"), &imp.codigo, &codes::IMPUESTO_CODIGOS);
            self.opt_text(
                At(&ip, "CodigoImpuestoOTRO"),
                imp.codigo_impuesto_otro.as_deref(),
                5,
                100,
            );
            self.otro(
                At(&ip, "CodigoImpuestoOTRO"),
                Some(&imp.codigo),
                imp.codigo_impuesto_otro.as_deref(),
            );
            if imp.codigo == codes::IMPUESTO_IVA && imp.tarifa.is_none() {
                self.r
                    .err(Rule::Required, At(&ip, "Tarifa"), "IVA requires Tarifa");
            }
            if let Some(c) = &imp.codigo_tarifa_iva {
                self.code(At(&ip, "CodigoTarifaIVA"), c, &codes::CODIGOS_TARIFA_IVA);
                if let (Some(expected), Some(t)) = (codes::tarifa_iva(c), imp.tarifa)
                    && expected != t
                    && c != codes::TARIFA_EXENTA
                {
                    self.r.err(
                        Rule::Code,
                        format!("{ip}/Tarifa"),
                        format!("CodigoTarifaIVA {c} means {expected} %, found {t}"),
                    );
                }
            } else if imp.codigo == codes::IMPUESTO_IVA {
                self.r.err(
                    Rule::Required,
                    format!("{ip}/CodigoTarifaIVA"),
                    "IVA requires CodigoTarifaIVA",
                );
            }
            if let Some(t) = imp.tarifa {
                self.dec(At(&ip, "Tarifa"), t, 4, 2);
            }
            if let Some(f) = imp.factor_calculo_iva {
                self.dec(At(&ip, "FactorCalculoIVA"), f, 5, 4);
            }
            self.not_allowed(
                At(&ip, "DatosImpuestoEspecifico"),
                !s.datos_impuesto_especifico && imp.datos_impuesto_especifico.is_some(),
            );
            if let Some(d) = &imp.datos_impuesto_especifico {
                self.dec(
                    At(&ip, "DatosImpuestoEspecifico/CantidadUnidadMedida"),
                    d.cantidad_unidad_medida,
                    7,
                    2,
                );
                for x in [d.porcentaje, d.proporcion, d.volumen_unidad_consumo]
                    .into_iter()
                    .flatten()
                {
                    self.dec(At(&ip, "DatosImpuestoEspecifico"), x, 7, 2);
                }
                self.money(
                    At(&ip, "DatosImpuestoEspecifico/ImpuestoUnidad"),
                    d.impuesto_unidad,
                );
            }
            self.money(At(&ip, "Monto"), imp.monto);
            self.not_allowed(
                At(&ip, "MontoExportacion"),
                !s.monto_exportacion && imp.monto_exportacion.is_some(),
            );
            self.opt_money(At(&ip, "MontoExportacion"), imp.monto_exportacion);
            self.not_allowed(
                At(&ip, "Exoneracion"),
                !s.exoneracion && imp.exoneracion.is_some(),
            );
            if let Some(e) = &imp.exoneracion {
                let ep = format!("{ip}/Exoneracion");
                self.code(
                    At(&ep, "TipoDocumentoEX1"),
                    &e.tipo_documento,
                    &codes::TIPOS_EXONERACION,
                );
                self.opt_text(
                    At(&ep, "TipoDocumentoOTRO"),
                    e.tipo_documento_otro.as_deref(),
                    5,
                    100,
                );
                self.otro(
                    At(&ep, "TipoDocumentoOTRO"),
                    Some(&e.tipo_documento),
                    e.tipo_documento_otro.as_deref(),
                );
                self.text(At(&ep, "NumeroDocumento"), &e.numero_documento, 3, 40);
                self.code(
                    At(&ep, "NombreInstitucion"),
                    &e.nombre_institucion,
                    &codes::INSTITUCIONES_EXONERACION,
                );
                self.opt_text(
                    At(&ep, "NombreInstitucionOtros"),
                    e.nombre_institucion_otros.as_deref(),
                    5,
                    160,
                );
                self.otro(
                    At(&ep, "NombreInstitucionOtros"),
                    Some(&e.nombre_institucion),
                    e.nombre_institucion_otros.as_deref(),
                );
                if e.articulo.is_some_and(|a| a > 999_999) || e.inciso.is_some_and(|a| a > 999_999)
                {
                    self.r.err(
                        Rule::Decimals,
                        &ep,
                        "Articulo / Inciso have at most 6 digits",
                    );
                }
                self.dec(At(&ep, "TarifaExonerada"), e.tarifa_exonerada, 4, 2);
                self.money(At(&ep, "MontoExoneracion"), e.monto);
                if e.monto > imp.monto {
                    self.r.err(
                        Rule::LineFormula,
                        format!("{ep}/MontoExoneracion"),
                        "exceeds the tax amount",
                    );
                }
                exon = exon.checked_add(e.monto).unwrap_or(Decimal::MAX);
            }
            montos = montos.checked_add(imp.monto).unwrap_or(Decimal::MAX);
        }
        self.occ(
            At(&p, "ImpuestoAsumidoEmisorFabrica"),
            s.asumido,
            l.impuesto_asumido_emisor_fabrica.is_some(),
        );
        self.opt_money(
            At(&p, "ImpuestoAsumidoEmisorFabrica"),
            l.impuesto_asumido_emisor_fabrica,
        );
        if s.impuesto_neto {
            self.money(At(&p, "ImpuestoNeto"), l.impuesto_neto);
        }
        self.money(At(&p, "MontoTotalLinea"), l.monto_total_linea);

        // formulas
        let mut f = |name: &str, expected: Option<Decimal>, found: Decimal| {
            if let Some(e) = expected
                && e != found
            {
                self.r.err(
                    Rule::LineFormula,
                    format!("{p}/{name}"),
                    format!("expected {e}, found {found}"),
                );
            }
        };
        if !rep {
            f(
                "MontoTotal",
                l.cantidad.checked_mul(l.precio_unitario).map(round5),
                l.monto_total,
            );
        }
        f("SubTotal", l.monto_total.checked_sub(desc), l.sub_total);
        let asumido = l.impuesto_asumido_emisor_fabrica.unwrap_or_default();
        let neto = if s.impuesto_neto {
            let n = montos
                .checked_sub(exon)
                .and_then(|x| x.checked_sub(asumido));
            f("ImpuestoNeto", n, l.impuesto_neto);
            l.impuesto_neto
        } else {
            montos
        };
        f(
            "MontoTotalLinea",
            l.sub_total.checked_add(neto),
            l.monto_total_linea,
        );
        if s.base_imponible {
            let mut base = Some(l.sub_total);
            for imp in &l.impuestos {
                if codes::IMPUESTOS_EN_BASE_IMPONIBLE.contains(&imp.codigo.as_str()) {
                    base = base.and_then(|b| b.checked_add(imp.monto));
                }
            }
            if l.iva_cobrado_fabrica.as_deref() != Some("01")
                && !l
                    .impuestos
                    .iter()
                    .any(|i| i.codigo == codes::IMPUESTO_IVA_CALCULO_ESPECIAL)
            {
                f("BaseImponible", base, l.base_imponible);
            }
            for (j, imp) in l.impuestos.iter().enumerate() {
                if imp.codigo == codes::IMPUESTO_IVA
                    && let Some(t) = imp.tarifa
                {
                    let expected = l
                        .base_imponible
                        .checked_mul(t)
                        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                        .map(round5);
                    f(&format!("Impuesto[{}]/Monto", j + 1), expected, imp.monto);
                }
            }
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

fn check_clave(v: &mut V<'_>, clave: &Clave, fecha: &chrono::DateTime<chrono::FixedOffset>) {
    if let Err(e) = clave.check_revision(v.rev) {
        v.r.err(Rule::ClaveRevision, "Clave", e.to_string());
    }
    let cr = Clave::fecha_de(fecha);
    if clave.fecha() != cr {
        v.r.err(
            Rule::ClaveFecha,
            "Clave",
            format!(
                "clave date {} differs from FechaEmision's Costa Rica date {cr}",
                clave.fecha()
            ),
        );
    }
}

/// Validates a comprobante.
pub fn comprobante(doc: &Comprobante) -> Report {
    let tipo = doc.tipo();
    let s = shape(tipo);
    let mut v = V {
        r: Report::default(),
        rev: doc.revision,
        tipo,
        s,
        _doc: std::marker::PhantomData,
    };
    if tipo.is_mensaje_receptor() {
        v.r.err(
            Rule::ConsecutivoTipo,
            "NumeroConsecutivo",
            format!(
                "tipo {} is a mensaje receptor, not a comprobante",
                tipo.code()
            ),
        );
        return v.r;
    }
    check_clave(&mut v, &doc.clave, &doc.fecha_emision);
    if doc.revision < SchemaRevision::in_force_at(&doc.fecha_emision) {
        v.r.warn(
            Rule::RevisionDate,
            "FechaEmision",
            format!(
                "the {} revision is in force at this date",
                SchemaRevision::in_force_at(&doc.fecha_emision)
            ),
        );
    }
    // In a FEC the buyer (Receptor) issues the document and its cédula goes into the clave.
    let (issuer_path, issuer) = if tipo == TipoDocumento::FacturaElectronicaCompra {
        (
            "Receptor",
            doc.receptor
                .as_ref()
                .and_then(|r| r.identificacion.as_ref()),
        )
    } else {
        ("Emisor", doc.emisor.identificacion.as_ref())
    };
    if let Some(id) = issuer {
        let padded = format!("{:0>12}", id.numero);
        if padded != doc.clave.emisor() {
            v.r.err(
                Rule::ClaveEmisor,
                "Clave",
                format!(
                    "clave cédula {} differs from {issuer_path}/Identificacion/Numero {}",
                    doc.clave.emisor(),
                    id.numero
                ),
            );
        }
    }
    v.text("ProveedorSistemas", &doc.proveedor_sistemas, 1, 20);
    v.occ(
        "CodigoActividadEmisor",
        s.codigo_actividad_emisor,
        doc.codigo_actividad_emisor.is_some(),
    );
    v.occ(
        "CodigoActividadReceptor",
        s.codigo_actividad_receptor,
        doc.codigo_actividad_receptor.is_some(),
    );
    for (name, c) in [
        ("CodigoActividadEmisor", &doc.codigo_actividad_emisor),
        ("CodigoActividadReceptor", &doc.codigo_actividad_receptor),
    ] {
        if let Some(c) = c {
            v.text(name, c, 6, 6);
        }
    }
    v.parte("Emisor", &doc.emisor, true);
    v.occ("Receptor", s.receptor, doc.receptor.is_some());
    if let Some(r) = &doc.receptor {
        v.parte("Receptor", r, false);
    }
    if tipo == TipoDocumento::ReciboElectronicoPago {
        v.code(
            "CondicionVenta",
            &doc.condicion_venta,
            &codes::CONDICIONES_VENTA_REP,
        );
    } else {
        v.code(
            "CondicionVenta",
            &doc.condicion_venta,
            &codes::CONDICIONES_VENTA,
        );
    }
    v.not_allowed(
        "CondicionVentaOtros",
        !s.condicion_extra && doc.condicion_venta_otros.is_some(),
    );
    v.opt_text(
        "CondicionVentaOtros",
        doc.condicion_venta_otros.as_deref(),
        5,
        100,
    );
    v.otro(
        "CondicionVentaOtros",
        Some(&doc.condicion_venta),
        doc.condicion_venta_otros.as_deref(),
    );
    if doc.condicion_venta == codes::CONDICION_CREDITO && doc.plazo_credito.is_none() {
        v.r.err(
            Rule::Required,
            "PlazoCredito",
            "required for CondicionVenta 02 (crédito)",
        );
    }
    v.not_allowed(
        "PlazoCredito",
        !s.condicion_extra && doc.plazo_credito.is_some(),
    );
    if doc.plazo_credito.is_some_and(|p| p > 99_999) {
        v.r.err(Rule::Decimals, "PlazoCredito", "at most 5 digits");
    }
    v.count(
        "DetalleServicio/LineaDetalle",
        doc.lineas.len(),
        usize::from(s.detalle_required),
        1000,
    );
    for (i, l) in doc.lineas.iter().enumerate() {
        v.linea(i, l);
    }
    v.not_allowed(
        "OtrosCargos",
        !s.otros_cargos && !doc.otros_cargos.is_empty(),
    );
    v.count("OtrosCargos", doc.otros_cargos.len(), 0, 15);
    for c in &doc.otros_cargos {
        v.code(
            "OtrosCargos/TipoDocumentoOC",
            &c.tipo_documento,
            &codes::TIPOS_OTROS_CARGOS,
        );
        v.opt_text(
            "OtrosCargos/TipoDocumentoOTROS",
            c.tipo_documento_otros.as_deref(),
            5,
            100,
        );
        v.otro(
            "OtrosCargos/TipoDocumentoOTROS",
            Some(&c.tipo_documento),
            c.tipo_documento_otros.as_deref(),
        );
        if let Some(id) = &c.identificacion_tercero {
            v.identificacion("OtrosCargos/IdentificacionTercero/Numero", id);
        }
        v.opt_text(
            "OtrosCargos/NombreTercero",
            c.nombre_tercero.as_deref(),
            5,
            100,
        );
        v.text("OtrosCargos/Detalle", &c.detalle, 0, 160);
        if let Some(p) = c.porcentaje {
            v.dec("OtrosCargos/PorcentajeOC", p, 9, 5);
        }
        v.money("OtrosCargos/MontoCargo", c.monto);
    }
    resumen(&mut v, doc);
    referencias(&mut v, doc);
    v.not_allowed(
        "Otros",
        !(s.otros || doc.otros_texto.is_empty() && doc.otros_contenido.is_empty()),
    );
    for t in doc.otros_texto.iter().chain(&doc.otros_contenido) {
        v.text("Otros", &t.texto, 0, 500);
    }
    v.r
}

fn resumen(v: &mut V<'_>, doc: &Comprobante) {
    let s = v.s;
    let r = &doc.resumen;
    let p = "ResumenFactura";
    v.text(
        At(p, "CodigoTipoMoneda/CodigoMoneda"),
        &r.codigo_moneda,
        3,
        3,
    );
    if !r.codigo_moneda.bytes().all(|b| b.is_ascii_uppercase()) {
        v.r.err(
            Rule::Code,
            format!("{p}/CodigoTipoMoneda/CodigoMoneda"),
            "ISO 4217 code expected",
        );
    }
    v.money(At(p, "CodigoTipoMoneda/TipoCambio"), r.tipo_cambio);
    let cats = [
        ("TotalServGravados", r.total_serv_gravados, true),
        ("TotalServExentos", r.total_serv_exentos, true),
        ("TotalServExonerado", r.total_serv_exonerado, false),
        ("TotalServNoSujeto", r.total_serv_no_sujeto, false),
        ("TotalMercanciasGravadas", r.total_merc_gravadas, true),
        ("TotalMercanciasExentas", r.total_merc_exentas, true),
        ("TotalMercExonerada", r.total_merc_exonerada, false),
        ("TotalMercNoSujeta", r.total_merc_no_sujeta, false),
        ("TotalGravado", r.total_gravado, true),
        ("TotalExento", r.total_exento, true),
        ("TotalExonerado", r.total_exonerado, false),
        ("TotalNoSujeto", r.total_no_sujeto, false),
    ];
    for (name, val, basic) in cats {
        let allowed = s.resumen_categorias && (basic || s.resumen_exonerado_no_sujeto);
        v.not_allowed(At(p, name), !allowed && val.is_some());
        v.opt_money(At(p, name), val);
    }
    v.money(At(p, "TotalVenta"), r.total_venta);
    v.not_allowed(
        At(p, "TotalDescuentos"),
        !s.total_descuentos && r.total_descuentos.is_some(),
    );
    v.opt_money(At(p, "TotalDescuentos"), r.total_descuentos);
    v.money(At(p, "TotalVentaNeta"), r.total_venta_neta);
    for d in &r.desglose_impuestos {
        v.code(
            At(p, "TotalDesgloseImpuesto/Codigo"),
            &d.codigo,
            &codes::IMPUESTO_CODIGOS,
        );
        v.money(At(p, "TotalDesgloseImpuesto/TotalMontoImpuesto"), d.total);
    }
    v.opt_money(At(p, "TotalImpuesto"), r.total_impuesto);
    v.not_allowed(
        At(p, "TotalImpAsumEmisorFabrica"),
        !s.total_imp_asum && r.total_imp_asum_emisor_fabrica.is_some(),
    );
    v.opt_money(
        At(p, "TotalImpAsumEmisorFabrica"),
        r.total_imp_asum_emisor_fabrica,
    );
    v.not_allowed(
        At(p, "TotalIVADevuelto"),
        !s.total_iva_devuelto && r.total_iva_devuelto.is_some(),
    );
    v.opt_money(At(p, "TotalIVADevuelto"), r.total_iva_devuelto);
    v.not_allowed(
        At(p, "TotalOtrosCargos"),
        !s.total_otros_cargos && r.total_otros_cargos.is_some(),
    );
    v.opt_money(At(p, "TotalOtrosCargos"), r.total_otros_cargos);
    v.count(
        At(p, "MedioPago"),
        r.medios_pago.len(),
        s.medios_pago_min,
        4,
    );
    for m in &r.medios_pago {
        match &m.tipo {
            Some(t) => v.code(At(p, "MedioPago/TipoMedioPago"), t, &codes::MEDIOS_PAGO),
            None if v.tipo == TipoDocumento::ReciboElectronicoPago => v.r.err(
                Rule::Required,
                format!("{p}/MedioPago/TipoMedioPago"),
                "required in REP",
            ),
            None => {}
        }
        v.opt_text(
            At(p, "MedioPago/MedioPagoOtros"),
            m.otros.as_deref(),
            3,
            100,
        );
        v.otro(
            At(p, "MedioPago/MedioPagoOtros"),
            m.tipo.as_deref(),
            m.otros.as_deref(),
        );
        v.opt_money(At(p, "MedioPago/TotalMedioPago"), m.total);
    }
    if r.medios_pago.len() > 1 {
        if r.medios_pago.iter().any(|m| m.total.is_none()) {
            v.r.err(
                Rule::MedioPago,
                format!("{p}/MedioPago/TotalMedioPago"),
                "required when there is more than one medio de pago",
            );
        } else {
            let total = sum(r.medios_pago.iter().filter_map(|m| m.total.as_ref()));
            if total != r.total_comprobante {
                v.r.err(
                    Rule::MedioPago,
                    format!("{p}/MedioPago"),
                    format!(
                        "Σ TotalMedioPago {total} ≠ TotalComprobante {}",
                        r.total_comprobante
                    ),
                );
            }
        }
    }
    v.money(At(p, "TotalComprobante"), r.total_comprobante);

    // formulas over the emitted (rounded) line values
    let z = |d: Option<Decimal>| d.unwrap_or_default();
    let mut check = |name: &str, expected: Decimal, found: Decimal| {
        if expected != found {
            v.r.err(
                Rule::TotalsFormula,
                format!("{p}/{name}"),
                format!("expected {expected}, found {found}"),
            );
        }
    };
    let mut by_cat = [[Decimal::ZERO; 4]; 2];
    let mut desc = Decimal::ZERO;
    let mut venta = Decimal::ZERO;
    let mut imp = Decimal::ZERO;
    let mut asum = Decimal::ZERO;
    let mut desglose: BTreeMap<(&str, Option<&str>), Decimal> = BTreeMap::new();
    let add = |a: &mut Decimal, b: Decimal| *a = a.checked_add(b).unwrap_or(Decimal::MAX);
    for l in &doc.lineas {
        let k = usize::from(!es_servicio(l));
        let cat = tratamiento(v.tipo, l).unwrap_or(Tratamiento::Gravado);
        let parts: Vec<(usize, Decimal)> = match cat {
            Tratamiento::Gravado => vec![(0, l.monto_total)],
            Tratamiento::Exento => vec![(1, l.monto_total)],
            Tratamiento::Exonerado { exonerado } => {
                vec![
                    (2, exonerado),
                    (0, l.monto_total.checked_sub(exonerado).unwrap_or_default()),
                ]
            }
            Tratamiento::NoSujeto => vec![(3, l.monto_total)],
        };
        for (c, val) in parts {
            if let Some(slot) = by_cat.get_mut(k).and_then(|row| row.get_mut(c)) {
                add(slot, val);
            }
        }
        add(&mut venta, l.monto_total);
        add(
            &mut desc,
            l.monto_total.checked_sub(l.sub_total).unwrap_or_default(),
        );
        add(
            &mut imp,
            if s.impuesto_neto {
                l.impuesto_neto
            } else {
                sum(l.impuestos.iter().map(|i| &i.monto))
            },
        );
        add(&mut asum, z(l.impuesto_asumido_emisor_fabrica));
        for i in &l.impuestos {
            let e = i.exoneracion.as_ref().map(|e| e.monto).unwrap_or_default();
            add(
                desglose
                    .entry((i.codigo.as_str(), i.codigo_tarifa_iva.as_deref()))
                    .or_default(),
                i.monto.checked_sub(e).unwrap_or_default(),
            );
        }
    }
    if s.resumen_categorias {
        let [sv, mc] = by_cat;
        let (sg, se, sx, sn) = (sv[0], sv[1], sv[2], sv[3]);
        let (mg, me, mx, mn) = (mc[0], mc[1], mc[2], mc[3]);
        check("TotalServGravados", sg, z(r.total_serv_gravados));
        check("TotalServExentos", se, z(r.total_serv_exentos));
        check("TotalMercanciasGravadas", mg, z(r.total_merc_gravadas));
        check("TotalMercanciasExentas", me, z(r.total_merc_exentas));
        check(
            "TotalGravado",
            plus(z(r.total_serv_gravados), z(r.total_merc_gravadas)),
            z(r.total_gravado),
        );
        check(
            "TotalExento",
            plus(z(r.total_serv_exentos), z(r.total_merc_exentas)),
            z(r.total_exento),
        );
        if s.resumen_exonerado_no_sujeto {
            check("TotalServExonerado", sx, z(r.total_serv_exonerado));
            check("TotalServNoSujeto", sn, z(r.total_serv_no_sujeto));
            check("TotalMercExonerada", mx, z(r.total_merc_exonerada));
            check("TotalMercNoSujeta", mn, z(r.total_merc_no_sujeta));
            check(
                "TotalExonerado",
                plus(z(r.total_serv_exonerado), z(r.total_merc_exonerada)),
                z(r.total_exonerado),
            );
            check(
                "TotalNoSujeto",
                plus(z(r.total_serv_no_sujeto), z(r.total_merc_no_sujeta)),
                z(r.total_no_sujeto),
            );
        }
        let parts = plus(
            plus(z(r.total_gravado), z(r.total_exento)),
            plus(z(r.total_exonerado), z(r.total_no_sujeto)),
        );
        check("TotalVenta", parts, r.total_venta);
    }
    check("TotalVenta", venta, r.total_venta);
    if s.total_descuentos {
        check("TotalDescuentos", desc, z(r.total_descuentos));
    }
    check(
        "TotalVentaNeta",
        r.total_venta
            .checked_sub(z(r.total_descuentos))
            .unwrap_or_default(),
        r.total_venta_neta,
    );
    check("TotalImpuesto", imp, z(r.total_impuesto));
    if s.total_imp_asum {
        check(
            "TotalImpAsumEmisorFabrica",
            asum,
            z(r.total_imp_asum_emisor_fabrica),
        );
    }
    let found: BTreeMap<(&str, Option<&str>), Decimal> = r
        .desglose_impuestos
        .iter()
        .map(|d| ((d.codigo.as_str(), d.codigo_tarifa_iva.as_deref()), d.total))
        .collect();
    if found.len() != r.desglose_impuestos.len() {
        v.r.err(
            Rule::TotalsFormula,
            format!("{p}/TotalDesgloseImpuesto"),
            "repeated Codigo/CodigoTarifaIVA",
        );
    }
    if found != desglose {
        v.r.err(
            Rule::TotalsFormula,
            format!("{p}/TotalDesgloseImpuesto"),
            "does not equal the per-tax sums of Monto − MontoExoneracion of the lines",
        );
    }
    let otros = sum(doc.otros_cargos.iter().map(|c| &c.monto));
    if s.total_otros_cargos {
        let mut check2 = |name: &str, expected: Decimal, found: Decimal| {
            if expected != found {
                v.r.err(
                    Rule::TotalsFormula,
                    format!("{p}/{name}"),
                    format!("expected {expected}, found {found}"),
                );
            }
        };
        check2("TotalOtrosCargos", otros, z(r.total_otros_cargos));
    }
    let expected_total = r
        .total_venta_neta
        .checked_add(z(r.total_impuesto))
        .and_then(|x| x.checked_add(z(r.total_otros_cargos)))
        .and_then(|x| x.checked_sub(z(r.total_iva_devuelto)))
        .unwrap_or(Decimal::MAX);
    if expected_total != r.total_comprobante {
        v.r.err(
            Rule::TotalsFormula,
            format!("{p}/TotalComprobante"),
            format!("expected {expected_total}, found {}", r.total_comprobante),
        );
    }
}

fn referencias(v: &mut V<'_>, doc: &Comprobante) {
    let s = v.s;
    v.count(
        "InformacionReferencia",
        doc.referencias.len(),
        s.referencias_min,
        10,
    );
    let rep = v.tipo == TipoDocumento::ReciboElectronicoPago;
    for (i, r) in doc.referencias.iter().enumerate() {
        let p = format!("InformacionReferencia[{}]", i + 1);
        let tipo_ok = codes::TIPOS_DOC_REFERENCIA_2024.contains(&r.tipo_doc.as_str())
            || (v.rev == SchemaRevision::V2026
                && codes::TIPOS_DOC_REFERENCIA_2026.contains(&r.tipo_doc.as_str()));
        if !tipo_ok {
            let why = if codes::TIPOS_DOC_REFERENCIA_2026.contains(&r.tipo_doc.as_str()) {
                "TipoDocIR 19 and 20 exist only from the 2026 revision"
            } else {
                "unknown TipoDocIR"
            };
            v.r.err(
                Rule::Referencia,
                format!("{p}/TipoDocIR"),
                format!("{:?}: {why}", r.tipo_doc),
            );
        }
        v.opt_text(At(&p, "TipoDocRefOTRO"), r.tipo_doc_otro.as_deref(), 5, 100);
        v.otro(
            At(&p, "TipoDocRefOTRO"),
            Some(&r.tipo_doc),
            r.tipo_doc_otro.as_deref(),
        );
        if s.referencia_numero_required && r.numero.is_none() {
            v.r.err(Rule::Required, format!("{p}/Numero"), "required in REP");
        }
        v.opt_text(At(&p, "Numero"), r.numero.as_deref(), 0, 50);
        if let Some(c) = &r.codigo {
            let c = c.as_str();
            let ok = codes::CODIGOS_REFERENCIA_2024.contains(&c)
                || (v.rev == SchemaRevision::V2026 && codes::CODIGOS_REFERENCIA_2026.contains(&c))
                || (v.rev == SchemaRevision::V2026 && rep && c == codes::CODIGO_REFERENCIA_PAGO);
            if !ok {
                let why = if codes::CODIGOS_REFERENCIA_2026.contains(&c) {
                    "CodigoReferencia 13–16 exist only from the 2026 revision"
                } else if c == codes::CODIGO_REFERENCIA_PAGO {
                    "CodigoReferencia 17 exists only in REP under the 2026 revision"
                } else {
                    "unknown CodigoReferencia"
                };
                v.r.err(
                    Rule::Referencia,
                    format!("{p}/Codigo"),
                    format!("{c:?}: {why}"),
                );
            }
        }
        v.opt_text(
            At(&p, "CodigoReferenciaOTRO"),
            r.codigo_otro.as_deref(),
            5,
            100,
        );
        v.otro(
            At(&p, "CodigoReferenciaOTRO"),
            r.codigo.as_deref(),
            r.codigo_otro.as_deref(),
        );
        v.opt_text(At(&p, "Razon"), r.razon.as_deref(), 0, 180);
    }
}

/// Validates a mensaje receptor.
pub fn mensaje_receptor(msg: &MensajeReceptor) -> Report {
    let tipo = msg.mensaje.tipo_documento();
    let mut v = V {
        r: Report::default(),
        rev: msg.revision,
        tipo,
        s: shape(TipoDocumento::FacturaElectronica),
        _doc: std::marker::PhantomData,
    };
    if let Err(e) = msg.clave.check_revision(msg.revision) {
        v.r.err(Rule::ClaveRevision, "Clave", e.to_string());
    }
    if msg.numero_consecutivo_receptor.tipo() != tipo {
        v.r.err(
            Rule::ConsecutivoTipo,
            "NumeroConsecutivoReceptor",
            format!(
                "Mensaje {} requires tipo {}, found {}",
                msg.mensaje.code(),
                tipo.code(),
                msg.numero_consecutivo_receptor.tipo().code()
            ),
        );
    }
    let emisor_ok = match msg.revision {
        SchemaRevision::V2024 => {
            (9..=12).contains(&msg.numero_cedula_emisor.len())
                && msg.numero_cedula_emisor.bytes().all(|b| b.is_ascii_digit())
        }
        SchemaRevision::V2026 => {
            (1..=20).contains(&msg.numero_cedula_emisor.len())
                && msg
                    .numero_cedula_emisor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric())
        }
    };
    if !emisor_ok {
        v.r.err(
            Rule::Identificacion,
            "NumeroCedulaEmisor",
            "9–12 digits (2024) / ≤ 20 letters or digits (2026)",
        );
    }
    let padded = format!("{:0>12}", msg.numero_cedula_emisor);
    if padded != msg.clave.emisor() {
        v.r.err(
            Rule::ClaveEmisor,
            "NumeroCedulaEmisor",
            format!("differs from the clave's cédula {}", msg.clave.emisor()),
        );
    }
    let rec = &msg.numero_cedula_receptor;
    if !(9..=12).contains(&rec.len()) || !rec.bytes().all(|b| b.is_ascii_digit()) {
        v.r.err(
            Rule::Identificacion,
            "NumeroCedulaReceptor",
            "9–12 digits required (both revisions)",
        );
    }
    v.opt_text("DetalleMensaje", msg.detalle_mensaje.as_deref(), 0, 160);
    if let Some(c) = &msg.codigo_actividad {
        v.text("CodigoActividad", c, 0, 6);
    }
    if let Some(c) = &msg.condicion_impuesto {
        v.code("CondicionImpuesto", c, &codes::CONDICIONES_IMPUESTO);
    }
    v.opt_money("MontoTotalImpuesto", msg.monto_total_impuesto);
    v.opt_money(
        "MontoTotalImpuestoAcreditar",
        msg.monto_total_impuesto_acreditar,
    );
    v.opt_money(
        "MontoTotalDeGastoAplicable",
        msg.monto_total_de_gasto_aplicable,
    );
    v.money("TotalFactura", msg.total_factura);
    v.r
}
