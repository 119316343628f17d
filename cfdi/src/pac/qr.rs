//! The SAT verification URL printed as a QR code on the representación impresa, and the
//! *expresión impresa* sent to the SAT status service. Both are built from the same five values
//! ([`CfdiIdentity`]).
//!
//! Formatting rules (Anexo 20, "Código de barras bidimensional", CFDI 3.3/4.0; as implemented by
//! eclipxe13/CfdiUtils `RequestParameters::expressionVersion33`, and satcfdi `verifica_url`):
//!
//! * `id` UUID of the TFD; `re`/`rr` RFCs of emisor and receptor; `fe` the last 8 characters of
//!   `Comprobante/@Sello`.
//! * `tt` the Total with at most 6 decimals and **no non-significant zeros**, but at least one
//!   decimal digit: `1160.00` → `1160.0`, `0.50` → `0.5`, `1191.95` → `1191.95`. (The zero-padded
//!   17-character form `0000001160.000000` is the CFDI 3.2 rule and is **not** used for 4.0.)
//! * An `&` inside an RFC (e.g. `H&E951128469`) is written `&amp;` in the expresión impresa that
//!   goes to the status service (SAT's rule; the SOAP writer then escapes the whole expression once
//!   more as XML text), and percent-encoded (`%26`) in the verification URL, where a raw `&` would
//!   end the parameter.

use rust_decimal::Decimal;

use super::error::PacError;
use crate::model::Comprobante;

/// Default base of the SAT verification page (`VERIFICA_CFDI` in satcfdi).
pub const SAT_VERIFICATION_URL: &str =
    "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx";

/// The values that identify a stamped CFDI to the SAT.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CfdiIdentity {
    /// UUID (folio fiscal) from the TFD.
    pub uuid: String,
    /// RFC of the emisor.
    pub rfc_emisor: String,
    /// RFC of the receptor.
    pub rfc_receptor: String,
    /// `Total` of the comprobante.
    pub total: Decimal,
    /// Last 8 characters of the comprobante's `Sello` (`fe`); empty when unknown.
    pub sello_last8: String,
}

impl CfdiIdentity {
    /// Builds the identity from its parts; `sello` may be the whole `Sello` (its last 8 characters
    /// are kept) or empty.
    pub fn new(
        uuid: impl Into<String>,
        rfc_emisor: impl Into<String>,
        rfc_receptor: impl Into<String>,
        total: Decimal,
        sello: &str,
    ) -> Self {
        Self {
            uuid: uuid.into(),
            rfc_emisor: rfc_emisor.into(),
            rfc_receptor: rfc_receptor.into(),
            total,
            sello_last8: last8(sello),
        }
    }

    /// Reads the identity of a stamped comprobante.
    ///
    /// # Errors
    /// [`PacError::InvalidRequest`] if the comprobante has no TimbreFiscalDigital.
    pub fn from_comprobante(c: &Comprobante) -> Result<Self, PacError> {
        let t = c.timbre().ok_or_else(|| PacError::InvalidRequest {
            message: "the comprobante is not stamped (no TimbreFiscalDigital)".into(),
        })?;
        Ok(Self::new(
            t.uuid.clone(),
            c.emisor.rfc.clone(),
            c.receptor.rfc.clone(),
            c.total,
            &c.sello,
        ))
    }

    /// The expresión impresa for the SAT status service:
    /// `?re=…&rr=…&tt=…&id=…&fe=…` with `&` in RFCs written `&amp;` (`fe` omitted when unknown).
    pub fn expresion_impresa(&self) -> String {
        let mut s = format!(
            "?re={}&rr={}&tt={}&id={}",
            self.rfc_emisor.replace('&', "&amp;"),
            self.rfc_receptor.replace('&', "&amp;"),
            format_total(self.total),
            self.uuid
        );
        if !self.sello_last8.is_empty() {
            s.push_str("&fe=");
            s.push_str(&self.sello_last8);
        }
        s
    }

    /// The verification URL on SAT's page ([`SAT_VERIFICATION_URL`]): the QR payload.
    pub fn verification_url(&self) -> String {
        self.verification_url_with_base(SAT_VERIFICATION_URL)
    }

    /// The verification URL on another base (e.g. a test host).
    pub fn verification_url_with_base(&self, base: &str) -> String {
        format!(
            "{base}?id={}&re={}&rr={}&tt={}&fe={}",
            pct(&self.uuid),
            pct(&self.rfc_emisor),
            pct(&self.rfc_receptor),
            format_total(self.total),
            pct(&self.sello_last8)
        )
    }
}

/// The QR payload (verification URL) of a stamped comprobante.
///
/// # Errors
/// [`PacError::InvalidRequest`] if it has no TimbreFiscalDigital.
pub fn verification_url(c: &Comprobante) -> Result<String, PacError> {
    Ok(CfdiIdentity::from_comprobante(c)?.verification_url())
}

/// Last 8 characters of a seal (all of it if shorter).
fn last8(sello: &str) -> String {
    let t = sello.trim();
    let n = t.chars().count();
    t.chars().skip(n.saturating_sub(8)).collect()
}

/// `tt`: at most 6 decimals, no non-significant zeros, at least one decimal digit.
pub(crate) fn format_total(total: Decimal) -> String {
    let t = total
        .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    let s = t.to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn total_format_drops_non_significant_zeros() {
        assert_eq!(format_total(d("1160.00")), "1160.0");
        assert_eq!(format_total(d("1191.95")), "1191.95");
        assert_eq!(format_total(d("0.50")), "0.5");
        assert_eq!(format_total(d("1000")), "1000.0");
        assert_eq!(format_total(d("0")), "0.0");
        assert_eq!(format_total(d("12.1234567")), "12.123457");
        assert_eq!(format_total(d("00012.340000")), "12.34");
    }

    proptest::proptest! {
        #[test]
        fn total_format_keeps_the_value_and_drops_only_zeros(m in proptest::num::i64::ANY, scale in 0u32..12) {
            let d = Decimal::new(m, scale).abs();
            let s = format_total(d);
            let back = Decimal::from_str(&s).unwrap();
            let expected = d.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            proptest::prop_assert_eq!(back, expected);
            let (_, frac) = s.split_once('.').unwrap();
            proptest::prop_assert!(!frac.is_empty() && frac.len() <= 6);
            proptest::prop_assert!(frac == "0" || !frac.ends_with('0'), "{}", s);
        }
    }

    #[test]
    fn expression_and_url_escape_ampersand_differently() {
        let id = CfdiIdentity::new(
            "1E5A6E1B-9C1B-5319-BFED-123BD143A310",
            "H&E951128469",
            "XIA190128J61",
            d("1160.00"),
            "...abcdefghXXXXXX12345678",
        );
        assert_eq!(
            id.expresion_impresa(),
            "?re=H&amp;E951128469&rr=XIA190128J61&tt=1160.0&id=1E5A6E1B-9C1B-5319-BFED-123BD143A310&fe=12345678"
        );
        assert_eq!(
            id.verification_url(),
            "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx?id=1E5A6E1B-9C1B-5319-BFED-123BD143A310&re=H%26E951128469&rr=XIA190128J61&tt=1160.0&fe=12345678"
        );
        let no_fe = CfdiIdentity::new("U", "A", "B", d("1"), "");
        assert_eq!(no_fe.expresion_impresa(), "?re=A&rr=B&tt=1.0&id=U");
    }
}
