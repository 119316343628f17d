//! Content fingerprints and the idempotency keys derived from them.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::adapter::IdempotencyKey;
use crate::model::EntityKind;
use crate::{Error, Result};

/// SHA-256 of an entity's canonical JSON: `serde_json` serialization with object keys sorted by byte order,
/// no whitespace, strings escaped by `serde_json`.
///
/// Equal fingerprints mean equal serializations, not equal meanings: `Decimal` amounts serialize as written,
/// so `1250` and `1250.00` give different fingerprints (and cause one extra, harmless upsert).
///
/// Serializes as its 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl TryFrom<String> for Fingerprint {
    type Error = Error;

    fn try_from(hex: String) -> Result<Self> {
        Self::from_hex(&hex)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> Self {
        f.to_string()
    }
}

impl Fingerprint {
    /// The fingerprint of `entity`.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) when `entity` cannot be serialized to JSON.
    pub fn of<T: Serialize + ?Sized>(entity: &T) -> Result<Self> {
        let json = canonical_json(entity)?;
        Ok(Self(Sha256::digest(json.as_bytes()).into()))
    }

    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal digits (as written by `Display`).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) for anything else.
    pub fn from_hex(hex: &str) -> Result<Self> {
        let bad = || Error::invalid("fingerprint", "must be 64 hexadecimal digits");
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(s, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Serializes `value` to canonical JSON (sorted object keys, no whitespace).
pub(crate) fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|e| Error::invalid("entity", e.to_string()))?;
    let mut out = String::new();
    write_canonical(&value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &serde_json::Value, out: &mut String) -> Result<()> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scalar(&Value::String(k.clone()), out)?;
                out.push(':');
                write_canonical(v, out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out)?;
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out)?,
    }
    Ok(())
}

fn write_scalar(value: &serde_json::Value, out: &mut String) -> Result<()> {
    let s = serde_json::to_string(value).map_err(|e| Error::invalid("entity", e.to_string()))?;
    out.push_str(&s);
    Ok(())
}

/// Length of the hexadecimal part of a derived key (128 bits).
const KEY_HEX_LEN: usize = 32;

/// The idempotency key for push number `generation` of one record's content.
///
/// `sync-<kind>-<32 hex digits>`, at most 42 characters of `[a-z0-9-]`: within Xero's 128-character
/// `Idempotency-Key` and QuickBooks' 50-character `requestid`, which the QuickBooks adapter then sends as is.
/// The hex digits are the first 128 bits of SHA-256 over the scope, kind, external reference, fingerprint and
/// generation, each length-prefixed, so the same push always gets the same key and any other push another one.
///
/// # Errors
/// Never in practice (the key is always valid); the `Result` is [`IdempotencyKey::new`]'s.
pub fn derive_key(
    scope: &str,
    kind: EntityKind,
    external_ref: &str,
    fingerprint: &Fingerprint,
    generation: u32,
) -> Result<IdempotencyKey> {
    let mut h = Sha256::new();
    h.update(b"erp-hub-sync-key/1");
    for part in [
        scope.as_bytes(),
        kind.as_str().as_bytes(),
        external_ref.as_bytes(),
        fingerprint.as_bytes(),
        &generation.to_be_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut key = format!("sync-{}-", short_kind(kind));
    for b in digest.iter().take(KEY_HEX_LEN / 2) {
        key.push_str(&format!("{b:02x}"));
    }
    IdempotencyKey::new(key)
}

fn short_kind(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Customer => "cust",
        EntityKind::Item => "item",
        EntityKind::Invoice => "inv",
        EntityKind::Payment => "pmt",
        EntityKind::CreditNote => "cn",
    }
}
