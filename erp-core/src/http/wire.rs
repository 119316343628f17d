//! Helpers the adapters' `wire` and `mapping` modules share, so each exists once: the exact-decimal JSON
//! [`Amount`], reading a decimal out of untyped JSON ([`decimal`]), field length checks ([`check_len`]) and a
//! constant-time comparison for secrets such as OAuth `state` values ([`ct_eq`]) and the
//! `base64(HMAC-SHA256(body, key))` webhook signatures QuickBooks and Xero use ([`hmac_sha256_base64`],
//! [`verify_hmac_sha256_base64`]).
//!
//! ```
//! use erp_hub_core::http::wire::{Amount, check_len, ct_eq};
//! use rust_decimal::Decimal;
//!
//! // Written as a JSON number with every digit kept, never through f64.
//! let json = serde_json::to_string(&Amount(Decimal::new(1_234_567_890_123_456_789, 4)))?;
//! assert_eq!(json, "123456789012345.6789");
//! // Read from a JSON number or a numeric string.
//! let back: Amount = serde_json::from_str("\"0.10\"")?;
//! assert_eq!(back.0, Decimal::new(10, 2));
//!
//! assert!(check_len("Xero", "reference", "ABC", 2).is_err());
//! assert!(ct_eq(b"state-1", b"state-1") && !ct_eq(b"state-1", b"state-2"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::adapter::IdempotencyKey;
use crate::{Error, Result};

/// A money or quantity value written as an exact JSON number (`259.8`, trailing zeros dropped) and read from a
/// JSON number or a numeric string (scientific notation accepted), without going through `f64`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Amount(pub Decimal);

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let text = self.0.normalize().to_string();
        let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get().trim().trim_matches('"');
        parse_decimal(text)
            .map(Amount)
            .ok_or_else(|| D::Error::custom(format!("invalid decimal {text:?}")))
    }
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// The decimal in a JSON number or numeric string, `None` for anything else.
///
/// `serde_json::Value` keeps a number as `f64` unless its text is an integer, so this is exact for up to 15
/// significant digits (every amount the providers send); deserialize into [`Amount`] where more matter.
pub fn decimal(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// Fails with a [`Validation`](Error::Validation) error on `field` when `value` has more than `max` characters
/// (Unicode scalar values, as the providers count them).
///
/// # Errors
/// `Validation` naming the field and `provider`'s limit.
pub fn check_len(provider: &str, field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{provider} accepts at most {max} characters"),
        ));
    }
    Ok(())
}

/// Whether `a == b`, in time that depends only on the lengths (which are not secret): for comparing an
/// OAuth `state`, a webhook token or any other secret the caller echoes back.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `base64(HMAC-SHA256(body, key))`: the webhook signature QuickBooks (`intuit-signature`) and Xero
/// (`x-xero-signature`) send.
pub fn hmac_sha256_base64(key: &[u8], body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` (a header value, surrounding white space ignored) is
/// [`hmac_sha256_base64`]`(key, body)`, compared in constant time. `false` for anything that is not base64.
pub fn verify_hmac_sha256_base64(key: &[u8], body: &[u8], signature: &str) -> bool {
    use base64::Engine as _;
    use hmac::Mac as _;
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The idempotency key of one provider batch request, derived from its elements' keys in order: the same
/// elements with the same keys give the same key (a replayed batch is recognised), any other grouping another.
///
/// # Errors
/// None in practice (the key is `wb` and 32 hex digits); the `Result` is `IdempotencyKey::new`'s.
pub fn batch_key<'a>(keys: impl IntoIterator<Item = &'a IdempotencyKey>) -> Result<IdempotencyKey> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for k in keys {
        h.update(k.as_str().as_bytes());
        h.update(b"\n");
    }
    let mut text = String::from("wb");
    for b in h.finalize().iter().take(16) {
        text.push_str(&format!("{b:02x}"));
    }
    IdempotencyKey::new(text)
}

/// [`verify_hmac_sha256_base64`] as a `Result`: `Ok` for a matching signature.
///
/// # Errors
/// [`Error::Auth`] when the signature is not base64 or does not match.
pub fn check_hmac_sha256_base64(key: &[u8], body: &[u8], signature: &str) -> Result<()> {
    if verify_hmac_sha256_base64(key, body, signature) {
        Ok(())
    } else {
        Err(Error::auth("webhook signature does not match"))
    }
}

/// Checks the signature a webhook delivery carries in `header` against its raw `body`: what every adapter's
/// `WebhookVerifier::verify` does before parsing.
///
/// # Errors
/// [`Error::Auth`] when the header is missing, not text, or its signature does not match.
pub fn check_webhook_signature(
    headers: &super::HeaderMap,
    header: &str,
    key: &[u8],
    body: &[u8],
) -> Result<()> {
    let signature = headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::auth(format!("webhook without a valid {header} header")))?;
    check_hmac_sha256_base64(key, body, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_both_ways() {
        // 28 significant digits: far beyond what an f64 keeps.
        let a = Amount(Decimal::from_str("1234567890123456.789012345678").unwrap());
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, "1234567890123456.789012345678");
        assert_eq!(serde_json::from_str::<Amount>(&text).unwrap(), a);
        let b: Amount = serde_json::from_str("1.5e2").unwrap();
        assert_eq!(b.0, Decimal::from(150));
        assert!(serde_json::from_str::<Amount>("\"ten\"").is_err());
        assert!(serde_json::from_str::<Amount>("null").is_err());
    }

    #[test]
    fn decimals_from_untyped_json() {
        assert_eq!(
            decimal(Some(&serde_json::json!(12.34))),
            Some(Decimal::new(1234, 2))
        );
        assert_eq!(
            decimal(Some(&serde_json::json!(" 7 "))),
            Some(Decimal::from(7))
        );
        assert_eq!(decimal(Some(&serde_json::json!(true))), None);
        assert_eq!(decimal(None), None);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_len("QuickBooks", "name", "ñññ", 3).is_ok());
        let e = check_len("QuickBooks", "name", "ññññ", 3).unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
        assert!(
            e.to_string().contains("QuickBooks accepts at most 3"),
            "{e}"
        );
    }

    #[test]
    fn webhook_signatures() {
        // RFC 4231-style check against a published HMAC-SHA256 value.
        let sig = hmac_sha256_base64(b"key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(sig, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
        assert!(verify_hmac_sha256_base64(
            b"key",
            b"The quick brown fox jumps over the lazy dog",
            &format!(" {sig} ")
        ));
        assert!(!verify_hmac_sha256_base64(
            b"key",
            b"The quick brown fox jumps over the lazy cog",
            &sig
        ));
        assert!(!verify_hmac_sha256_base64(
            b"other",
            b"The quick brown fox jumps over the lazy dog",
            &sig
        ));
        assert!(!verify_hmac_sha256_base64(b"key", b"x", "not base64!"));
    }

    #[test]
    fn batch_keys_follow_their_elements() {
        let k = |s: &str| IdempotencyKey::new(s).unwrap();
        let (a, b) = (k("a"), k("b"));
        let key = |keys: &[&IdempotencyKey]| batch_key(keys.iter().copied()).unwrap();
        assert_eq!(key(&[&a, &b]), key(&[&a, &b]));
        assert_ne!(key(&[&a, &b]), key(&[&b, &a]));
        assert_ne!(key(&[&a]), key(&[&a, &b]));
        assert_eq!(key(&[&a]).as_str().len(), 34);
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }
}
