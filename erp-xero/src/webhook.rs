//! Xero webhooks: signature check, intent-to-receive, payload parsing, with [`WebhookVerifier`] (the same API
//! in every erp-hub adapter): plug it into any HTTP server.
//!
//! Xero signs the **raw** request body: `x-xero-signature = base64(HMAC-SHA256(body, webhook key))`
//! (`xero-webhooks.yaml`). Before it enables a subscription, Xero sends "intent to receive" requests, some with a
//! valid signature and some without: answer `200` with an empty body when the signature is valid and `401` when
//! it is not, within 5 seconds. Real deliveries follow the same rule, so one handler does both:
//!
//! ```
//! use erp_hub_core::http::{HeaderMap, HeaderValue};
//! use erp_xero::webhook::{SIGNATURE_HEADER, WebhookVerifier};
//!
//! let verifier = WebhookVerifier::new("webhook-key-from-developer-portal".to_owned());
//! let body = br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"ABC"}"#;
//! let mut headers = HeaderMap::new();
//! // What Xero would send:
//! headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&verifier.sign(body)).unwrap());
//!
//! assert!(verifier.verify(&headers, body)?.is_empty()); // an intent-to-receive ping
//! assert_eq!(verifier.respond(&headers, body).status, 200);
//! assert_eq!(verifier.respond(&HeaderMap::new(), body).status, 401);
//! # Ok::<(), erp_hub_core::Error>(())
//! ```

use std::fmt;

use erp_hub_core::http::{HeaderMap, wire};
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-xero-signature";

/// Verifies deliveries with the webhook key (from the app's webhook settings). `Debug` redacts the key.
#[derive(Clone)]
pub struct WebhookVerifier {
    key: SecretString,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookVerifier([REDACTED])")
    }
}

impl WebhookVerifier {
    /// A verifier for `webhook_key`.
    pub fn new(webhook_key: impl Into<SecretString>) -> Self {
        Self {
            key: webhook_key.into(),
        }
    }

    /// Checks the [`SIGNATURE_HEADER`] of a delivery against its raw `body`, then parses the body: the one call a
    /// webhook endpoint needs (the same in every erp-hub adapter). An intent-to-receive ping gives no events.
    ///
    /// # Errors
    /// [`Error::Auth`] when the header is missing or the signature does not match (answer `401`);
    /// [`Error::Validation`] when a correctly signed body is not a Xero payload.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Vec<WebhookEvent>> {
        wire::check_webhook_signature(
            headers,
            SIGNATURE_HEADER,
            self.key.expose_secret().as_bytes(),
            body,
        )?;
        parse(body)
    }

    /// Checks `signature` (the `x-xero-signature` header value) against `body`, in constant time.
    ///
    /// # Errors
    /// [`Error::Auth`] when the signature is not base64 or does not match.
    pub fn verify_signature(&self, body: &[u8], signature: &str) -> Result<()> {
        wire::check_hmac_sha256_base64(self.key.expose_secret().as_bytes(), body, signature)
    }

    /// The signature Xero would send for `body` (for tests and local replays).
    pub fn sign(&self, body: &[u8]) -> String {
        wire::hmac_sha256_base64(self.key.expose_secret().as_bytes(), body)
    }

    /// What to answer Xero (the intent-to-receive contract): `200` with the payload when the signature is
    /// valid, `401` otherwise. A validly signed body that does not parse still gets `200` (Xero signed it;
    /// retries would not help) with no payload.
    pub fn respond(&self, headers: &HeaderMap, body: &[u8]) -> WebhookReply {
        let signed = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|sig| self.verify_signature(body, sig).is_ok());
        if signed {
            WebhookReply {
                status: 200,
                payload: parse_payload(body).ok(),
            }
        } else {
            WebhookReply {
                status: 401,
                payload: None,
            }
        }
    }
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

/// The events of a payload (check the signature first, or use [`WebhookVerifier::verify`]).
///
/// # Errors
/// [`Error::Validation`] for a body that is not a Xero webhook payload.
pub fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    parse_payload(body).map(|p| p.events)
}

/// Parses a whole payload, sequence numbers included (check the signature first).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tampering() {
        let v = WebhookVerifier::new("k".to_owned());
        let body = br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"X"}"#;
        let sig = v.sign(body);
        assert!(v.verify_signature(body, &sig).is_ok());
        assert!(v.verify_signature(b"{}", &sig).is_err());
        assert!(
            WebhookVerifier::new("other".to_owned())
                .verify_signature(body, &sig)
                .is_err()
        );
        assert!(v.verify_signature(body, "not base64!").is_err());
        assert_eq!(v.respond(&HeaderMap::new(), body).status, 401);
    }
}
