//! Offline validation of a CFDI 4.0 [`Comprobante`] against the SAT rules that need no SAT list or web service,
//! reported with the SAT error codes.
//!
//! Codes are those of the SAT *Matriz de errores* of Anexo 20 (`CFDI40xxx`) and, for tipo P and the Pagos 2.0
//! complement, of the *Matriz de errores del complemento para recepción de pagos 2.0* (`CRP20xxx`).
//!
//! | area | codes |
//! |---|---|
//! | Fecha pattern (and 72-hour window with [`Options`]) | CFDI40101 |
//! | FormaPago / MetodoPago per tipo, PPD ⇒ 99, catalogs | CFDI40103–40105, 40124, 40125 |
//! | SubTotal, Descuento, Total: decimals of the currency and formulas; T/P totals zero | CFDI40107–40112, 40119 |
//! | Moneda catalog, T/P ⇒ XXX; TipoCambio for MXN / XXX / others | CFDI40113–40117 |
//! | TipoDeComprobante, Exportacion (02 ⇒ Comercio Exterior), LugarExpedicion | CFDI40121–40123, 40126 |
//! | InformacionGlobal ⇔ XAXX010101000 + PUBLICO EN GENERAL; Periodicidad, Meses, Año | CFDI40130–40136 |
//! | TipoRelacion; Emisor RegimenFiscal (catalog, tipo de persona) | CFDI40137, 40140, 40141 |
//! | Receptor: RFC pattern, PUBLICO EN GENERAL, domicilio, residencia, régimen, UsoCFDI | CFDI40143, 40146, 40148–40155, 40157, 40158, 40160, 40161 |
//! | Concepto: catalogs, ValorUnitario, Importe límites, Descuento, ObjetoImp (01–08) | CFDI40162, 40165–40173 |
//! | Concepto traslados / retenciones: Base, catalogs, Exento, c_TasaOCuota, Importe límites | CFDI40174–40186 |
//! | ACuentaTerceros régimen; NumeroPedimento pattern / not with Comercio Exterior (concepto, parte) | CFDI40191, 40193, 40194, 40195, 40199, 40200 |
//! | Parte | CFDI40196–40198 |
//! | Comprobante Impuestos: T/P, totals, decimals, grouping by (Impuesto, TipoFactor, TasaOCuota) / Impuesto | CFDI40201–40208, 40210–40215, 40217–40221 |
//! | Tipo P comprobante and concepto fixed values | CRP20102, 20107, 20111, 20113, 20115, 20116, 20119, 20120, 20122, 20123 |
//! | Pago, DoctoRelacionado (ImpSaldoInsoluto = ImpSaldoAnt − ImpPagado), ImpuestosDR/P, Totales | CRP20201–20215, 20217–20219, 20229, 20236–20263, 20265, 20266, 20268, 20270–20272, 20274, 20278, 20279 |
//!
//! Where the Matriz has no code of its own for a rule, the closest one is used: Descuento ≠ Σ descuentos of the
//! conceptos (CFDI40110), Total decimals (CFDI40119), Moneda not XXX for T/P (CFDI40113), Receptor RFC pattern
//! (CFDI40143), DomicilioFiscalReceptor not in c_CodigoPostal (CFDI40148), DomicilioFiscalACuentaTerceros not in
//! c_CodigoPostal (CFDI40193), comprobante Traslado TipoFactor not in c_TipoFactor (CFDI40213), concepto taxes that
//! ObjetoImp 06–08 exclude (CFDI40172; missing IEPS for 07 too), generic RFC ⇒ régimen 616 (CFDI40158) and ⇒
//! UsoCFDI S01 (CFDI40161), missing comprobante tax rows (CFDI40211 / CFDI40221, CRP20265 / CRP20268).
//!
//! Not checked here: rules that need SAT's lists (l_RFC, LCO: names, régimen and domicilio of an RFC), the day's
//! exchange rate and c_Moneda variation (CFDI40118), PAC confirmation keys (CFDI40120, 40127–40129), the
//! certificate and seal (see verification), ClaveProdServ columns absent from `catCFDI.xsd` (CFDI40163, 40164), and
//! complements other than Pagos 2.0.
//!
//! ```
//! use cfdi::model::Comprobante;
//! use cfdi::validate::{Severity, validate};
//!
//! let c = Comprobante::default(); // an empty document breaks many rules
//! let findings = validate(&c);
//! assert!(findings.iter().any(|f| f.code == "CFDI40121" && f.severity == Severity::Error));
//! ```

mod amounts;
mod comprobante;
mod conceptos;
mod impuestos;
mod pagos;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::catalog::moneda_decimals;
use crate::model::Comprobante;

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// The PAC would reject the document with this code.
    Error,
    /// Suspicious but not a rejection (or a rule that could only be checked partially).
    Warning,
}

/// One broken rule.
///
/// Serializes (serde) as `{"code":"CFDI40108","severity":"error","path":"/Comprobante/@SubTotal","message":"…"}`,
/// one JSON object per line in the command-line example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// SAT error code, e.g. `"CFDI40108"` or `"CRP20244"`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// XPath-like location, 1-based: `/Comprobante/Conceptos/Concepto[2]/Impuestos/Traslados/Traslado[1]/@Importe`.
    pub path: String,
    /// Human-readable explanation (Spanish, close to the Matriz wording) with the values involved.
    pub message: String,
}

/// Options for [`validate_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Reference date-time (local time of the place of issue, like `Fecha`) for the certification window of
    /// CFDI40101: `Fecha` must not be later than it nor more than 72 hours before it. `None` checks only the
    /// pattern of `Fecha`.
    pub certification_time: Option<NaiveDateTime>,
}

impl Options {
    /// Options with a reference date-time for the `Fecha` window (CFDI40101).
    pub fn with_certification_time(mut self, at: NaiveDateTime) -> Self {
        self.certification_time = Some(at);
        self
    }
}

/// Validates `c` with default [`Options`]; returns every finding, in document order. No error-level finding means
/// none of the offline SAT rules implemented here is broken.
pub fn validate(c: &Comprobante) -> Vec<Finding> {
    validate_with(c, &Options::default())
}

/// Validates `c` with `options`.
pub fn validate_with(c: &Comprobante, options: &Options) -> Vec<Finding> {
    let mut ctx = Ctx {
        c,
        options,
        dec: moneda_decimals(&c.moneda),
        findings: Vec::new(),
    };
    comprobante::check(&mut ctx);
    conceptos::check(&mut ctx);
    impuestos::check(&mut ctx);
    pagos::check(&mut ctx);
    ctx.findings
}

/// Validation state shared by the rule modules.
struct Ctx<'a> {
    c: &'a Comprobante,
    options: &'a Options,
    /// Decimals of `Moneda` (`None` when it has no currency rule or is unknown).
    dec: Option<u32>,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn error(&mut self, code: &'static str, path: impl Into<String>, message: impl Into<String>) {
        self.push(code, Severity::Error, path, message);
    }

    fn warning(&mut self, code: &'static str, path: impl Into<String>, message: impl Into<String>) {
        self.push(code, Severity::Warning, path, message);
    }

    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            path: path.into(),
            message: message.into(),
        });
    }

    fn tipo(&self) -> &str {
        &self.c.tipo_de_comprobante
    }

    /// Decimal places for comparisons at comprobante level: the currency's, or 6 (the schema's) if it has none.
    fn dp(&self) -> u32 {
        self.dec.unwrap_or(6)
    }
}

/// Whether the document carries the complemento para comercio exterior (any version).
fn has_comercio_exterior(c: &Comprobante) -> bool {
    c.complemento.iter().flatten().any(|k| {
        matches!(k, crate::model::Complemento::Other(raw)
            if raw.namespace().starts_with("http://www.sat.gob.mx/ComercioExterior"))
    })
}

/// Whether `s` matches the `NumeroPedimento` pattern of cfdv40.xsd: `[0-9]{2}  [0-9]{2}  [0-9]{4}  [0-9]{7}`.
fn pedimento_pattern_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 21
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 3 | 6 | 7 | 12 | 13 => *c == b' ',
            _ => c.is_ascii_digit(),
        })
}

/// Restrictions of ObjetoImp 06, 07 and 08 on the taxes present, given the `Impuesto` codes of the traslados and
/// retenciones (c_ObjetoImp: 06 "Sí objeto del IVA, no traslado IVA", 07 "No traslado del IVA, sí desglose IEPS",
/// 08 "No traslado del IVA, no desglose IEPS"; as the Pagos 2.0 matrix spells out for ObjetoImpDR in CRP20278 and
/// CRP20279: with 06/08 only an ISR retención may appear, with 07 no IVA and an IEPS traslado is required).
/// Returns the problem, or `None`.
fn objeto_imp_conflict(
    obj: &str,
    traslados: &[&str],
    retenciones: &[&str],
) -> Option<&'static str> {
    let any = |codes: &[&str], set: &[&str]| codes.iter().any(|c| set.contains(c));
    match obj {
        "06" | "08" if any(traslados, &["002", "003"]) || any(retenciones, &["002", "003"]) => {
            Some("con ObjetoImp 06 u 08 no deben existir traslados ni retenciones de IVA o IEPS")
        }
        "07" if any(traslados, &["002"]) || any(retenciones, &["002"]) => {
            Some("con ObjetoImp 07 no deben existir traslados ni retenciones de IVA")
        }
        "07" if !any(traslados, &["003"]) => {
            Some("con ObjetoImp 07 debe existir un traslado de IEPS")
        }
        _ => None,
    }
}

/// A TasaOCuota for messages: its value, or `-` when absent (Exento).
fn fmt_tasa(t: Option<rust_decimal::Decimal>) -> String {
    t.map_or_else(|| "-".to_owned(), |d| d.to_string())
}

/// `true` for the generic RFCs (público en general, extranjero).
fn is_generic_rfc(rfc: &str) -> bool {
    rfc == RFC_PUBLICO_GENERAL || rfc == RFC_EXTRANJERO
}

/// RFC genérico nacional (público en general).
const RFC_PUBLICO_GENERAL: &str = "XAXX010101000";
/// RFC genérico extranjero.
const RFC_EXTRANJERO: &str = "XEXX010101000";

/// Whether `rfc` matches the `t_RFC` pattern of tdCFDI.xsd:
/// `[A-Z&Ñ]{3,4}[0-9]{2}(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])[A-Z0-9]{2}[0-9A]`.
pub(crate) fn rfc_pattern_ok(rfc: &str) -> bool {
    let chars: Vec<char> = rfc.chars().collect();
    let letters = match chars.len() {
        12 => 3,
        13 => 4,
        _ => return false,
    };
    let (head, rest) = chars.split_at(letters);
    let digit = |c: &char| c.is_ascii_digit();
    let num = |s: &[char]| {
        s.iter()
            .fold(0u32, |a, c| a * 10 + c.to_digit(10).unwrap_or(0))
    };
    let [y1, y2, m1, m2, d1, d2, h1, h2, v] = rest else {
        return false;
    };
    let month = num(&[*m1, *m2]);
    let day = num(&[*d1, *d2]);
    head.iter()
        .all(|c| c.is_ascii_uppercase() || *c == '&' || *c == 'Ñ')
        && [y1, y2, m1, m2, d1, d2].into_iter().all(digit)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && [h1, h2]
            .into_iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && (v.is_ascii_digit() || *v == 'A')
}

#[cfg(test)]
mod tests {
    use super::rfc_pattern_ok;

    #[test]
    fn pedimento_pattern() {
        assert!(super::pedimento_pattern_ok("21  47  3807  8003832"));
        assert!(!super::pedimento_pattern_ok("21 47 3807 8003832"));
        assert!(!super::pedimento_pattern_ok("21  47  3807  800383A"));
        assert!(!super::pedimento_pattern_ok(""));
    }

    #[test]
    fn rfc_pattern() {
        for ok in [
            "EKU9003173C9",
            "XAXX010101000",
            "H&E951128469",
            "CACX7605101P8",
            "ÑAÑ8501011AA",
        ] {
            assert!(rfc_pattern_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "EKU9003173C",
            "eku9003173C9",
            "EKU9013173C9",
            "EKU9003003C9",
            "EKU9003173CB",
            "12345678901234",
        ] {
            assert!(!rfc_pattern_ok(bad), "{bad}");
        }
    }
}
