//! Clave numérica (50 characters) and número consecutivo (20 digits).
//!
//! Layout of the clave:
//!
//! | positions | length | field |
//! |---|---|---|
//! | 1–3 | 3 | country `506` |
//! | 4–9 | 6 | emission date `DDMMYY` (Costa Rica local date of `FechaEmision`) |
//! | 10–21 | 12 | emisor identification, left-padded with `0` |
//! | 22–41 | 20 | número consecutivo |
//! | 42 | 1 | situación: `1` normal, `2` contingencia, `3` sin internet |
//! | 43–50 | 8 | código de seguridad |
//!
//! The 2024 schemas require a numeric clave (`\d{50}`); the 2026 revision allows
//! `[a-zA-Z0-9]{50}`. This module accepts letters only in the emisor and security-code fields
//! (the other fields are numeric by definition) and [`Clave::check_revision`] rejects letters
//! under [`SchemaRevision::V2024`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::America::Costa_Rica;

use crate::revision::SchemaRevision;
use crate::tipo::TipoDocumento;

/// Why a clave, consecutivo or one of their parts is invalid.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaveError {
    /// A clave, consecutivo or part of them has the wrong number of characters.
    #[error("{what} must have {expected} characters, found {found}")]
    Length {
        /// Which value (`clave`, `consecutivo`, `cédula`, …).
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length found (in characters).
        found: usize,
    },
    /// A character not allowed at that position.
    #[error("{what}: character {found:?} at position {position} is not allowed")]
    Character {
        /// Which value (`clave`, `consecutivo`, `cédula`, …).
        what: &'static str,
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The country code is not `506`.
    #[error("country code must be 506, found {0:?}")]
    Pais(String),
    /// The `DDMMYY` part is not a calendar date.
    #[error("{0:?} is not a valid DDMMYY date")]
    Fecha(String),
    /// Unknown situación digit.
    #[error("situación must be 1, 2 or 3, found {0:?}")]
    Situacion(char),
    /// Unknown document type code.
    #[error("unknown document type code {0:?}")]
    Tipo(String),
    /// Número out of range.
    #[error("número consecutivo must be 1..=9999999999, found {0}")]
    Numero(u64),
    /// Sucursal out of range.
    #[error("sucursal must be 0..=999, found {0}")]
    Sucursal(u32),
    /// Terminal out of range.
    #[error("terminal must be 0..=99999, found {0}")]
    Terminal(u32),
    /// Letters in the clave under the 2024 schemas.
    #[error(
        "the 2024 schemas require a numeric clave (letters are allowed from the 2026 revision)"
    )]
    NotNumeric,
}

/// Número consecutivo: sucursal (3) + terminal (5) + tipo (2) + número (10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Consecutivo {
    sucursal: u16,
    terminal: u32,
    tipo: TipoDocumento,
    numero: u64,
}

impl Consecutivo {
    /// Largest número (10 digits).
    pub const MAX_NUMERO: u64 = 9_999_999_999;

    /// Builds a consecutivo, checking every range.
    pub fn new(
        sucursal: u32,
        terminal: u32,
        tipo: TipoDocumento,
        numero: u64,
    ) -> Result<Self, ClaveError> {
        let sucursal = u16::try_from(sucursal)
            .ok()
            .filter(|s| *s <= 999)
            .ok_or(ClaveError::Sucursal(sucursal))?;
        if terminal > 99_999 {
            return Err(ClaveError::Terminal(terminal));
        }
        if numero == 0 || numero > Self::MAX_NUMERO {
            return Err(ClaveError::Numero(numero));
        }
        Ok(Self {
            sucursal,
            terminal,
            tipo,
            numero,
        })
    }

    /// Sucursal (establishment), 0–999.
    pub fn sucursal(&self) -> u16 {
        self.sucursal
    }
    /// Terminal / punto de venta, 0–99999.
    pub fn terminal(&self) -> u32 {
        self.terminal
    }
    /// Document type (digits 9–10 of the consecutivo): selects the root element and schema.
    pub fn tipo(&self) -> TipoDocumento {
        self.tipo
    }
    /// Sequence number, 1–9999999999.
    pub fn numero(&self) -> u64 {
        self.numero
    }

    /// The next consecutivo of the same sucursal/terminal/tipo, or `None` after 9999999999.
    pub fn next(&self) -> Option<Self> {
        let numero = self
            .numero
            .checked_add(1)
            .filter(|n| *n <= Self::MAX_NUMERO)?;
        Some(Self { numero, ..*self })
    }
}

impl fmt::Display for Consecutivo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:03}{:05}{}{:010}",
            self.sucursal,
            self.terminal,
            self.tipo.code(),
            self.numero
        )
    }
}

fn digits(what: &'static str, s: &str, offset: usize) -> Result<u64, ClaveError> {
    let mut n: u64 = 0;
    for (i, c) in s.chars().enumerate() {
        let d = c.to_digit(10).ok_or(ClaveError::Character {
            what,
            position: offset + i + 1,
            found: c,
        })?;
        n = n.saturating_mul(10).saturating_add(u64::from(d));
    }
    Ok(n)
}

fn parse_consecutivo(
    s: &str,
    what: &'static str,
    offset: usize,
) -> Result<Consecutivo, ClaveError> {
    let found = s.chars().count();
    if found != 20 || s.len() != 20 {
        return Err(ClaveError::Length {
            what,
            expected: 20,
            found,
        });
    }
    // all ASCII from here (len == chars)
    let sucursal = digits(what, &s[0..3], offset)?;
    let terminal = digits(what, &s[3..8], offset + 3)?;
    digits(what, &s[8..10], offset + 8)?;
    let tipo =
        TipoDocumento::from_code(&s[8..10]).ok_or_else(|| ClaveError::Tipo(s[8..10].to_owned()))?;
    let numero = digits(what, &s[10..20], offset + 10)?;
    // ranges cannot overflow: 3 and 5 digits
    Consecutivo::new(
        u32::try_from(sucursal).unwrap_or(u32::MAX),
        u32::try_from(terminal).unwrap_or(u32::MAX),
        tipo,
        numero,
    )
}

impl FromStr for Consecutivo {
    type Err = ClaveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_consecutivo(s, "consecutivo", 0)
    }
}

/// Situación of the emission (position 42 of the clave).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Situacion {
    /// `1` normal.
    Normal,
    /// `2` contingencia (issued on a pre-printed contingency document).
    Contingencia,
    /// `3` sin internet (issued offline, sent later).
    SinInternet,
}

impl Situacion {
    /// The digit used in the clave.
    pub fn digit(self) -> char {
        match self {
            Situacion::Normal => '1',
            Situacion::Contingencia => '2',
            Situacion::SinInternet => '3',
        }
    }
    /// Parses the digit used in the clave.
    pub fn from_digit(c: char) -> Option<Self> {
        match c {
            '1' => Some(Situacion::Normal),
            '2' => Some(Situacion::Contingencia),
            '3' => Some(Situacion::SinInternet),
            _ => None,
        }
    }
}

/// Código de seguridad: 8 ASCII alphanumeric characters (digits under the 2024 schemas).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CodigoSeguridad(String);

impl CodigoSeguridad {
    /// A zero-padded numeric code (`n` ≤ 99999999).
    pub fn from_number(n: u32) -> Result<Self, ClaveError> {
        if n > 99_999_999 {
            return Err(ClaveError::Length {
                what: "código de seguridad",
                expected: 8,
                found: 9,
            });
        }
        Ok(Self(format!("{n:08}")))
    }

    /// A fresh random numeric code (valid under both revisions).
    pub fn random() -> Self {
        Self(format!("{:08}", rand::random_range(0..100_000_000u32)))
    }

    /// The 8 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodigoSeguridad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CodigoSeguridad").field(&self.0).finish()
    }
}

impl FromStr for CodigoSeguridad {
    type Err = ClaveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = s.chars().count();
        if found != 8 {
            return Err(ClaveError::Length {
                what: "código de seguridad",
                expected: 8,
                found,
            });
        }
        alnum("código de seguridad", s, 0)?;
        Ok(Self(s.to_owned()))
    }
}

fn alnum(what: &'static str, s: &str, offset: usize) -> Result<(), ClaveError> {
    match s
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
    {
        Some((i, found)) => Err(ClaveError::Character {
            what,
            position: offset + i + 1,
            found,
        }),
        None => Ok(()),
    }
}

/// A parsed, structurally valid clave (50 characters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Clave {
    text: String,
    fecha: NaiveDate,
    consecutivo: Consecutivo,
    situacion: Situacion,
}

impl fmt::Debug for Clave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clave").field(&self.text).finish()
    }
}

impl Clave {
    /// Builds a clave.
    ///
    /// `fecha` is the Costa Rica local date of `FechaEmision` (see [`Clave::fecha_de`]);
    /// `emisor` is the emisor's identification number (1–12 ASCII alphanumerics, left-padded with
    /// zeros to 12).
    pub fn new(
        fecha: NaiveDate,
        emisor: &str,
        consecutivo: Consecutivo,
        situacion: Situacion,
        codigo_seguridad: &CodigoSeguridad,
    ) -> Result<Self, ClaveError> {
        let found = emisor.chars().count();
        if found == 0 || found > 12 {
            return Err(ClaveError::Length {
                what: "cédula del emisor",
                expected: 12,
                found,
            });
        }
        alnum("cédula del emisor", emisor, 0)?;
        let year = fecha.year();
        if !(2000..=2099).contains(&year) {
            return Err(ClaveError::Fecha(fecha.to_string()));
        }
        let text = format!(
            "506{:02}{:02}{:02}{:0>12}{}{}{}",
            fecha.day(),
            fecha.month(),
            year - 2000,
            emisor,
            consecutivo,
            situacion.digit(),
            codigo_seguridad.as_str()
        );
        Ok(Self {
            text,
            fecha,
            consecutivo,
            situacion,
        })
    }

    /// The Costa Rica local date of an instant: the date that goes into the clave.
    pub fn fecha_de<Tz: TimeZone>(fecha_emision: &DateTime<Tz>) -> NaiveDate {
        fecha_emision.with_timezone(&Costa_Rica).date_naive()
    }

    /// The 50 characters.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The emission date encoded in the clave.
    pub fn fecha(&self) -> NaiveDate {
        self.fecha
    }
    /// The emisor identification (12 characters, zero-padded).
    pub fn emisor(&self) -> &str {
        self.text.get(9..21).unwrap_or_default()
    }
    /// The emisor identification with the left zero padding removed.
    pub fn emisor_sin_relleno(&self) -> &str {
        let e = self.emisor().trim_start_matches('0');
        if e.is_empty() { "0" } else { e }
    }
    /// The número consecutivo embedded in the clave.
    pub fn consecutivo(&self) -> &Consecutivo {
        &self.consecutivo
    }
    /// Situación.
    pub fn situacion(&self) -> Situacion {
        self.situacion
    }
    /// Security code (last 8 characters).
    pub fn codigo_seguridad(&self) -> &str {
        self.text.get(42..50).unwrap_or_default()
    }
    /// Whether every character is a digit (required by the 2024 schemas).
    pub fn is_numeric(&self) -> bool {
        self.text.bytes().all(|b| b.is_ascii_digit())
    }
    /// Checks the revision-specific character set.
    pub fn check_revision(&self, revision: SchemaRevision) -> Result<(), ClaveError> {
        if revision == SchemaRevision::V2024 && !self.is_numeric() {
            return Err(ClaveError::NotNumeric);
        }
        Ok(())
    }
}

impl FromStr for Clave {
    type Err = ClaveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "clave";
        let found = s.chars().count();
        if found != 50 || s.len() != 50 {
            return Err(ClaveError::Length {
                what: WHAT,
                expected: 50,
                found,
            });
        }
        alnum(WHAT, s, 0)?;
        let pais = &s[0..3];
        if pais != "506" {
            return Err(ClaveError::Pais(pais.to_owned()));
        }
        let fecha_txt = &s[3..9];
        let dmy = |r: std::ops::Range<usize>| digits(WHAT, &s[r.clone()], r.start);
        let (d, m, y) = (dmy(3..5)?, dmy(5..7)?, dmy(7..9)?);
        let fecha = NaiveDate::from_ymd_opt(
            2000 + i32::try_from(y).unwrap_or(0),
            u32::try_from(m).unwrap_or(0),
            u32::try_from(d).unwrap_or(0),
        )
        .ok_or_else(|| ClaveError::Fecha(fecha_txt.to_owned()))?;
        let consecutivo = parse_consecutivo(&s[21..41], "consecutivo (clave positions 22-41)", 21)?;
        let sit = s[41..42].chars().next().unwrap_or('0');
        let situacion = Situacion::from_digit(sit).ok_or(ClaveError::Situacion(sit))?;
        Ok(Self {
            text: s.to_owned(),
            fecha,
            consecutivo,
            situacion,
        })
    }
}

impl fmt::Display for Clave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_clave_parts() {
        let c: Clave = "50601072500310123456700100001010000000001199999999"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.fecha(),
            NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default()
        );
        assert_eq!(c.emisor(), "003101234567");
        assert_eq!(c.emisor_sin_relleno(), "3101234567");
        assert_eq!(c.consecutivo().to_string(), "00100001010000000001");
        assert_eq!(c.consecutivo().tipo(), TipoDocumento::FacturaElectronica);
        assert_eq!(c.situacion(), Situacion::Normal);
        assert_eq!(c.codigo_seguridad(), "99999999");
    }

    #[test]
    fn rejects_bad_parts() {
        let base = "50601072500310123456700100001010000000001199999999";
        let with = |pos: usize, ch: char| {
            let mut s: Vec<char> = base.chars().collect();
            s[pos] = ch;
            s.into_iter().collect::<String>().parse::<Clave>()
        };
        assert_eq!(with(0, '4'), Err(ClaveError::Pais("406".into())));
        assert!(matches!(with(3, '4'), Err(ClaveError::Fecha(_))));
        assert_eq!(with(41, '4'), Err(ClaveError::Situacion('4')));
        assert!(matches!(with(29, '1'), Err(ClaveError::Tipo(_))));
        assert!(matches!(
            with(30, 'A'),
            Err(ClaveError::Character { position: 31, .. })
        ));
        assert!(matches!(
            with(10, '-'),
            Err(ClaveError::Character { position: 11, .. })
        ));
        assert!(matches!(
            base[..49].parse::<Clave>(),
            Err(ClaveError::Length { found: 49, .. })
        ));
        // letters in the cédula: structurally fine, but only under the 2026 revision
        let alpha = with(12, 'A').unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            alpha.check_revision(SchemaRevision::V2024),
            Err(ClaveError::NotNumeric)
        );
        assert_eq!(alpha.check_revision(SchemaRevision::V2026), Ok(()));
        // multi-byte input of the right char count must not panic
        assert!("é".repeat(50).parse::<Clave>().is_err());
    }
}
