//! Xero webhooks: signature check, intent-to-receive, payload parsing. Pure functions: plug them into any
//! HTTP server.
//!
//! Xero signs the **raw** request body: `x-xero-signature = base64(HMAC-SHA256(body, webhook key))`
//! (`xero-webhooks.yaml`). Before it enables a subscription, Xero sends "intent to receive" requests, some with a
//! valid signature and some without: answer `200` with an empty body when the signature is valid and `401` when
//! it is not, within 5 seconds. Real deliveries follow the same rule, so one handler does both:
//!
//! ```
//! use erp_xero::webhook::{self, SIGNATURE_HEADER};
//! use secrecy::SecretString;
//!
//! let key = SecretString::from("webhook-key-from-developer-portal".to_owned());
//! let body = br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"ABC"}"#;
//! let signature = webhook::sign(body, &key)?; // what Xero would send in x-xero-signature
//!
//! let reply = webhook::handle(body, Some(&signature), &key);
//! assert_eq!(reply.status, 200);
//! assert!(reply.payload.unwrap().events.is_empty()); // an intent-to-receive ping
//! assert_eq!(webhook::handle(body, Some("forged"), &key).status, 401);
//! # let _ = SIGNATURE_HEADER;
//! # Ok::<(), erp_hub_core::Error>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-xero-signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &SecretString) -> Option<HmacSha256> {
    // HMAC accepts keys of any length; `None` is not expected in practice.
    <HmacSha256 as KeyInit>::new_from_slice(key.expose_secret().as_bytes()).ok()
}

/// `base64(HMAC-SHA256(body, key))`, as Xero computes it.
///
/// # Errors
/// [`Error::Config`] if the HMAC implementation rejects the key (it accepts every length).
pub fn sign(body: &[u8], key: &SecretString) -> Result<String> {
    let mut m = mac(key).ok_or_else(|| Error::config("HMAC-SHA256 rejected the webhook key"))?;
    m.update(body);
    Ok(STANDARD.encode(m.finalize().into_bytes()))
}

/// Whether `signature` (the header value) is the signature of `body` under `key`. Constant-time.
pub fn verify_signature(body: &[u8], signature: &str, key: &SecretString) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Some(mut m) = mac(key) else {
        return false;
    };
    m.update(body);
    m.verify_slice(&given).is_ok()
}

/// One event (`WebhookEvent.events[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookEvent {
    /// URL of the changed resource in the API.
    pub resource_url: String,
    /// Id of the changed resource.
    pub resource_id: String,
    /// When it happened (as sent, e.g. `2025-12-02T00:44:09.923`).
    pub event_date_utc: String,
    /// `CREATE` or `UPDATE`.
    pub event_type: String,
    /// `CONTACT`, `INVOICE`, `CREDITNOTE`, `SUBSCRIPTION`.
    pub event_category: String,
    /// The organisation.
    pub tenant_id: String,
    /// `ORGANISATION` or `APPLICATION`.
    pub tenant_type: String,
    /// Extra data some categories carry (credit notes: `Type`, `Status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl WebhookEvent {
    /// The unified kind of the changed resource, when it is one (`INVOICE` covers sales and purchase
    /// invoices: read it to know which).
    pub fn entity_kind(&self) -> Option<EntityKind> {
        match self.event_category.as_str() {
            "CONTACT" => Some(EntityKind::Customer),
            "INVOICE" => Some(EntityKind::Invoice),
            "CREDITNOTE" => Some(EntityKind::CreditNote),
            _ => None,
        }
    }
}

/// A webhook delivery (`WebhookEvent` schema). Intent-to-receive requests have no events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookPayload {
    /// The events, oldest first.
    pub events: Vec<WebhookEvent>,
    /// Sequence number of the first event.
    pub first_event_sequence: i64,
    /// Sequence number of the last event.
    pub last_event_sequence: i64,
    /// Random padding Xero adds to every payload.
    pub entropy: String,
}

/// Parses a payload (check the signature first).
///
/// # Errors
/// [`Error::Validation`] for a body that is not a Xero webhook payload.
pub fn parse_payload(body: &[u8]) -> Result<WebhookPayload> {
    serde_json::from_slice(body)
        .map_err(|e| Error::invalid("webhook", format!("not a Xero webhook payload: {e}")))
}

/// What to answer Xero, and the verified payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookReply {
    /// `200` (signature valid) or `401` (missing or invalid signature). Send it with an empty body.
    pub status: u16,
    /// The payload, when the signature is valid and the body parses.
    pub payload: Option<WebhookPayload>,
}

/// Checks the signature and parses the body: `200` with the payload when the signature is valid, `401`
/// otherwise (the intent-to-receive contract). A validly signed body that does not parse still gets `200`
/// (Xero signed it; retries would not help) with no payload.
pub fn handle(body: &[u8], signature: Option<&str>, key: &SecretString) -> WebhookReply {
    match signature {
        Some(sig) if verify_signature(body, sig, key) => WebhookReply {
            status: 200,
            payload: parse_payload(body).ok(),
        },
        _ => WebhookReply {
            status: 401,
            payload: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tampering() {
        let key = SecretString::from("k".to_owned());
        let body = br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"X"}"#;
        let sig = sign(body, &key).unwrap();
        assert!(verify_signature(body, &sig, &key));
        assert!(!verify_signature(b"{}", &sig, &key));
        assert!(!verify_signature(
            body,
            &sig,
            &SecretString::from("other".to_owned())
        ));
        assert!(!verify_signature(body, "not base64!", &key));
        assert_eq!(handle(body, None, &key).status, 401);
    }
}
