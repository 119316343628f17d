//! ISO 4217 currencies, generated from `erp-core/data/iso4217.csv` by `build.rs`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::MoneyError;

/// The static description of one currency (one row of the ISO 4217 table).
pub(crate) struct CurrencyDef {
    code: &'static str,
    numeric: u16,
    minor_units: u8,
    fund: bool,
    withdrawn: bool,
    name: &'static str,
}

/// An ISO 4217 currency: alphabetic code, numeric code and number of minor units (decimal places).
///
/// `Currency` is a cheap `Copy` handle to a row of a table generated at build time from the committed
/// `erp-core/data/iso4217.csv` (ISO 4217 List One of 2026-01-01, every code with defined minor units, plus the
/// withdrawn `ANG` for historical documents). Every currency of the Americas is there, including the fund codes
/// (`BOV`, `CLF`, `COU`, `MXV`, `USN`, `UYI`, `UYW`).
///
/// Equality, ordering and hashing use the alphabetic code. Serde reads and writes the code string (`"MXN"`).
///
/// ```
/// use erp_hub_core::money::Currency;
///
/// let mxn = Currency::from_code("MXN")?;
/// assert_eq!(mxn, Currency::MXN);
/// assert_eq!((mxn.numeric(), mxn.minor_units()), (484, 2));
/// assert_eq!(Currency::CLF.minor_units(), 4);
/// assert_eq!(Currency::JPY.minor_units(), 0);
/// # Ok::<(), erp_hub_core::money::MoneyError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Currency(&'static CurrencyDef);

include!(concat!(env!("OUT_DIR"), "/iso4217.rs"));

impl Currency {
    /// Looks a currency up by its ISO 4217 alphabetic code (ASCII, case-insensitive: `"mxn"` works too).
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] when the code is not in the table.
    pub fn from_code(code: &str) -> Result<Self, MoneyError> {
        let unknown = || MoneyError::UnknownCurrency(code.chars().take(16).collect());
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(unknown());
        }
        let upper = code.to_ascii_uppercase();
        ALL.binary_search_by(|c| c.code().cmp(upper.as_str()))
            .ok()
            .and_then(|i| ALL.get(i).copied())
            .ok_or_else(unknown)
    }

    /// Looks a currency up by its ISO 4217 numeric code (e.g. `484` for MXN).
    ///
    /// When a withdrawn code shares the number with a current one (ANG and XCG are both 532), the current
    /// currency is returned.
    pub fn from_numeric(numeric: u16) -> Option<Self> {
        let mut found = ALL.iter().copied().filter(|c| c.numeric() == numeric);
        let first = found.next()?;
        if first.is_withdrawn() {
            Some(found.find(|c| !c.is_withdrawn()).unwrap_or(first))
        } else {
            Some(first)
        }
    }

    /// Every currency in the table, sorted by alphabetic code.
    pub fn all() -> &'static [Currency] {
        &ALL
    }

    /// The ISO 4217 alphabetic code, e.g. `"MXN"`.
    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// The ISO 4217 numeric code, e.g. `484`.
    pub fn numeric(self) -> u16 {
        self.0.numeric
    }

    /// The number of decimal places of the minor unit (2 for MXN, 0 for JPY, 4 for CLF).
    pub fn minor_units(self) -> u32 {
        u32::from(self.0.minor_units)
    }

    /// The English name from the ISO table, e.g. `"Mexican Peso"`.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Whether ISO marks this code as a fund (e.g. `CLF`, `MXV`, `USN`) rather than a circulating currency.
    pub fn is_fund(self) -> bool {
        self.0.fund
    }

    /// Whether the code is withdrawn from ISO 4217 List One and kept only for historical documents (`ANG`).
    pub fn is_withdrawn(self) -> bool {
        self.0.withdrawn
    }
}

impl PartialEq for Currency {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for Currency {}

impl Hash for Currency {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Currency {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(other.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 alphabetic currency code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::from_code(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}
