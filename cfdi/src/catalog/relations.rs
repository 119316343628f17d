//! Catalog columns that `catCFDI.xsd` does not carry (SAT publishes them only in `catCFDI.xls`).
//!
//! These small tables are hand-written, each with its source. The vendored XSD has the codes only; if SAT changes
//! one of these columns, update the table and its test in `cfdi/tests/validate_catalog.rs`.

use rust_decimal::Decimal;

/// Tipo de persona: física (RFC of 13 characters) or moral (12 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Persona {
    /// Persona física (individual).
    Fisica,
    /// Persona moral (legal entity).
    Moral,
}

impl Persona {
    /// Tipo de persona of an RFC by its length: 13 characters ⇒ física, 12 ⇒ moral, anything else ⇒ `None`.
    /// The generic RFCs `XAXX010101000` and `XEXX010101000` are 13 characters, hence física.
    pub fn of_rfc(rfc: &str) -> Option<Persona> {
        match rfc.chars().count() {
            13 => Some(Persona::Fisica),
            12 => Some(Persona::Moral),
            _ => None,
        }
    }
}

/// Whether a tax line is a traslado (transferred) or a retención (withheld).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaxRole {
    /// `Traslado`: a tax transferred to (charged to) the receptor.
    Traslado,
    /// `Retencion`: a tax withheld by the receptor.
    Retencion,
}

// (física, moral) per régimen. Source: SAT catCFDI.xls, sheet c_RegimenFiscal, columns "Física"/"Moral"
// (CFDI 4.0 catalogs), as reproduced in public code: a `REGIMEN_FISCAL_SAT` table "extraído del archivo Catálogos
// del SAT.xlsx" and a MySQL dump of the 4.0 catalog (`c_regimenfiscal`, version 4.00), which agree. 609
// (Consolidación) ended on 2019-12-31; 628, 629 and 630 start on 2024-01-01.
const REGIMEN_PERSONA: &[(&str, bool, bool)] = &[
    ("601", false, true),
    ("603", false, true),
    ("605", true, false),
    ("606", true, false),
    ("607", true, false),
    ("608", true, false),
    ("610", true, true),
    ("611", true, false),
    ("612", true, false),
    ("614", true, false),
    ("615", true, false),
    ("616", true, false),
    ("620", false, true),
    ("621", true, false),
    ("622", false, true),
    ("623", false, true),
    ("624", false, true),
    ("625", true, false),
    ("626", true, true),
    ("609", false, true),
    ("628", false, true),
    ("629", true, false),
    ("630", true, false),
];

/// Whether régimen fiscal `regimen` applies to `persona` (catCFDI.xls c_RegimenFiscal "Física"/"Moral"
/// columns); `None` when the régimen is not in the table.
pub fn regimen_persona(regimen: &str, persona: Persona) -> Option<bool> {
    REGIMEN_PERSONA
        .iter()
        .find(|(r, _, _)| *r == regimen)
        .map(|(_, f, m)| match persona {
            Persona::Fisica => *f,
            Persona::Moral => *m,
        })
}

const REG_G: &[&str] = &[
    "601", "603", "606", "612", "620", "621", "622", "623", "624", "625", "626",
];
const REG_G02: &[&str] = &[
    "601", "603", "606", "612", "616", "620", "621", "622", "623", "624", "625", "626",
];
const REG_D: &[&str] = &[
    "605", "606", "607", "608", "611", "612", "614", "615", "625",
];
const REG_ALL: &[&str] = &[
    "601", "603", "605", "606", "607", "608", "610", "611", "612", "614", "615", "616", "620",
    "621", "622", "623", "624", "625", "626",
];
const REG_CN01: &[&str] = &["605"];

// (uso, física, moral, régimenes receptor). Source: SAT catCFDI.xls, sheet c_UsoCFDI, columns "Aplica para tipo
// persona Física/Moral" and "Régimen Fiscal Receptor" (CFDI 4.0, vigencia 2022-01-01; G02 gained 616 in a later
// revision), as reproduced in public code (e.g. an Elixir `SAT.CFDIUsage` module "based on catalog 2.0 from CFDI
// V4.0 2024-04-26" and a TypeScript `USO_CFDI_SAT` table, which agree). P01 ("Por definir", CFDI 3.3) is still in
// the vendored XSD enumeration but has no row in the 4.0 sheet: the functions below return `None` for it, and
// `validate` reports it as outside the CFDI 4.0 catalog (CFDI40160).
const USO: &[(&str, bool, bool, &[&str])] = &[
    ("G01", true, true, REG_G),
    ("G02", true, true, REG_G02),
    ("G03", true, true, REG_G),
    ("I01", true, true, REG_G),
    ("I02", true, true, REG_G),
    ("I03", true, true, REG_G),
    ("I04", true, true, REG_G),
    ("I05", true, true, REG_G),
    ("I06", true, true, REG_G),
    ("I07", true, true, REG_G),
    ("I08", true, true, REG_G),
    ("D01", true, false, REG_D),
    ("D02", true, false, REG_D),
    ("D03", true, false, REG_D),
    ("D04", true, false, REG_D),
    ("D05", true, false, REG_D),
    ("D06", true, false, REG_D),
    ("D07", true, false, REG_D),
    ("D08", true, false, REG_D),
    ("D09", true, false, REG_D),
    ("D10", true, false, REG_D),
    ("S01", true, true, REG_ALL),
    ("CP01", true, true, REG_ALL),
    ("CN01", true, false, REG_CN01),
];

/// Whether uso `uso` applies to `persona` (catCFDI.xls c_UsoCFDI); `None` when the uso is not in the table.
pub fn uso_cfdi_persona(uso: &str, persona: Persona) -> Option<bool> {
    USO.iter()
        .find(|(u, _, _, _)| *u == uso)
        .map(|(_, f, m, _)| match persona {
            Persona::Fisica => *f,
            Persona::Moral => *m,
        })
}

/// Whether `RegimenFiscalReceptor` `regimen` is allowed with `UsoCFDI` `uso` (catCFDI.xls c_UsoCFDI column
/// "Régimen Fiscal Receptor"); `None` when the uso is not in the table.
///
/// The sheet's lists predate régimenes 628, 629 and 630 (and 609 had ended): for a régimen that appears in no list
/// the answer is `None` rather than a guess.
pub fn uso_cfdi_allows_regimen(uso: &str, regimen: &str) -> Option<bool> {
    if !REG_ALL.contains(&regimen) {
        return None;
    }
    USO.iter()
        .find(|(u, _, _, _)| *u == uso)
        .map(|(_, _, _, regs)| regs.contains(&regimen))
}

/// One row of c_TasaOCuota: a fixed value or an inclusive range, in millionths.
struct TasaRow {
    impuesto: &'static str,
    factor: &'static str,
    min: i64,
    max: i64,
    traslado: bool,
    retencion: bool,
}

const fn fijo(impuesto: &'static str, micro: i64, traslado: bool, retencion: bool) -> TasaRow {
    TasaRow {
        impuesto,
        factor: "Tasa",
        min: micro,
        max: micro,
        traslado,
        retencion,
    }
}

// Source: SAT catCFDI.xls, sheet c_TasaOCuota (19 rows; columns "Rango o Fijo", "Valor mínimo", "Valor máximo",
// "Impuesto", "Factor", "Traslado", "Retención"), as reproduced in public SQL dumps of the catalog. Values in
// millionths (0.160000 = 160_000). Impuesto names mapped to c_Impuesto: ISR 001, IVA 002, IEPS 003.
const TASA_O_CUOTA: &[TasaRow] = &[
    fijo("002", 0, true, false),
    fijo("002", 160_000, true, false),
    TasaRow {
        impuesto: "002",
        factor: "Tasa",
        min: 0,
        max: 160_000,
        traslado: false,
        retencion: true,
    },
    fijo("002", 80_000, true, false),
    fijo("003", 265_000, true, true),
    fijo("003", 300_000, true, true),
    fijo("003", 530_000, true, true),
    fijo("003", 500_000, true, true),
    fijo("003", 1_600_000, true, true),
    fijo("003", 304_000, true, true),
    fijo("003", 250_000, true, true),
    fijo("003", 90_000, true, true),
    fijo("003", 80_000, true, true),
    fijo("003", 70_000, true, true),
    fijo("003", 60_000, true, true),
    fijo("003", 30_000, true, false),
    fijo("003", 0, true, false),
    TasaRow {
        impuesto: "003",
        factor: "Cuota",
        min: 0,
        max: 59_144_900,
        traslado: true,
        retencion: true,
    },
    TasaRow {
        impuesto: "001",
        factor: "Tasa",
        min: 0,
        max: 350_000,
        traslado: false,
        retencion: true,
    },
];

/// Whether `tasa` is a valid c_TasaOCuota value for `impuesto` (c_Impuesto code), `factor` (`Tasa`/`Cuota`) and
/// `role`. Values with more than 6 decimals are never valid (the schema allows 6).
///
/// ```
/// use cfdi::catalog::{TaxRole, tasa_o_cuota_allowed};
/// use rust_decimal::Decimal;
///
/// let t = |s: &str| s.parse::<Decimal>().unwrap();
/// assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.160000"), TaxRole::Traslado));
/// assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.106667"), TaxRole::Retencion));
/// assert!(!tasa_o_cuota_allowed("002", "Tasa", t("0.150000"), TaxRole::Traslado));
/// ```
pub fn tasa_o_cuota_allowed(impuesto: &str, factor: &str, tasa: Decimal, role: TaxRole) -> bool {
    let Some(micro) = tasa
        .checked_mul(Decimal::from(1_000_000))
        .filter(|m| m.fract().is_zero())
        .and_then(|m| i64::try_from(m).ok())
    else {
        return false;
    };
    TASA_O_CUOTA.iter().any(|r| {
        r.impuesto == impuesto
            && r.factor == factor
            && (r.min..=r.max).contains(&micro)
            && match role {
                TaxRole::Traslado => r.traslado,
                TaxRole::Retencion => r.retencion,
            }
    })
}
