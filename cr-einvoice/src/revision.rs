//! Which revision of the v4.4 schemas a document follows.

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::America::Costa_Rica;

/// Revision of the Hacienda v4.4 schemas.
///
/// Both revisions share the same namespaces (`…/xml-schemas/v4.4/…`) and element structure; the
/// April-2026 revision allows an alphanumeric clave and alphanumeric identification numbers, adds
/// `CodigoReferencia` 13–17 and `TipoDocIR` 19/20.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaRevision {
    /// The 2024 base package of v4.4 (mandatory from 2025-09-01): numeric clave and ids.
    V2024,
    /// The revision of 22 April 2026, mandatory from 2026-11-01.
    V2026,
}

impl SchemaRevision {
    /// First day (Costa Rica local date) on which the 2026 revision is mandatory.
    pub const V2026_MANDATORY_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 1) {
        Some(d) => d,
        None => NaiveDate::MIN,
    };

    /// The revision in force on a Costa Rica local date.
    pub fn in_force_on(date: NaiveDate) -> Self {
        if date >= Self::V2026_MANDATORY_FROM {
            SchemaRevision::V2026
        } else {
            SchemaRevision::V2024
        }
    }

    /// The revision in force at an instant (the date is taken in `America/Costa_Rica`).
    pub fn in_force_at<Tz: TimeZone>(instant: &DateTime<Tz>) -> Self {
        Self::in_force_on(instant.with_timezone(&Costa_Rica).date_naive())
    }

    /// `"2024"` or `"2026"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaRevision::V2024 => "2024",
            SchemaRevision::V2026 => "2026",
        }
    }
}

impl std::fmt::Display for SchemaRevision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SchemaRevision {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2024" => Ok(SchemaRevision::V2024),
            "2026" => Ok(SchemaRevision::V2026),
            other => Err(crate::Error::UnknownRevision(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn boundary_is_costa_rica_local_midnight() {
        let cr = FixedOffset::west_opt(6 * 3600).unwrap_or_else(|| unreachable!());
        let before = cr.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).single();
        let after = cr.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
        assert_eq!(
            before.map(|d| SchemaRevision::in_force_at(&d)),
            Some(SchemaRevision::V2024)
        );
        assert_eq!(
            after.map(|d| SchemaRevision::in_force_at(&d)),
            Some(SchemaRevision::V2026)
        );
        // 2026-11-01T05:00Z is still Oct 31 in Costa Rica.
        let utc = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 5, 0, 0).single();
        assert_eq!(
            utc.map(|d| SchemaRevision::in_force_at(&d)),
            Some(SchemaRevision::V2024)
        );
    }
}
