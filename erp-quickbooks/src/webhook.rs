//! Webhook notifications: `intuit-signature` verification and payload parsing.
//!
//! Intuit signs the **raw request body** with HMAC-SHA256 keyed by the app's *verifier token* (not the client
//! secret) and sends it base64-encoded in the `intuit-signature` header. Verify before parsing, on the exact
//! bytes received. Payloads only carry ids: fetch the entities with
//! [`ErpAdapter::get`](erp_hub_core::ErpAdapter::get) afterwards.
//!
//! Two payload formats are accepted: the legacy `{"eventNotifications": [...]}` and the CloudEvents array
//! (`type: qbo.invoice.created.v1`, quoted by third parties and unverified against Intuit's docs).

use std::fmt;

use erp_hub_core::http::{HeaderMap, wire};
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "intuit-signature";

/// Verifies webhook signatures with the app's verifier token. `Debug` redacts the token.
#[derive(Clone)]
pub struct WebhookVerifier {
    token: SecretString,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookVerifier([REDACTED])")
    }
}

impl WebhookVerifier {
    /// A verifier for `verifier_token` (from the app's webhook settings).
    pub fn new(verifier_token: impl Into<SecretString>) -> Self {
        Self {
            token: verifier_token.into(),
        }
    }

    /// Checks the [`SIGNATURE_HEADER`] of a delivery against its raw `body`, then parses the body: the one call a
    /// webhook endpoint needs (the same in every erp-hub adapter).
    ///
    /// # Errors
    /// [`Error::Auth`] when the header is missing or the signature does not match; [`Error::Validation`] when a
    /// correctly signed body is neither payload format.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Vec<WebhookEvent>> {
        wire::check_webhook_signature(
            headers,
            SIGNATURE_HEADER,
            self.token.expose_secret().as_bytes(),
            body,
        )?;
        parse(body)
    }

    /// Checks `signature` (the `intuit-signature` header value) against `body`, in constant time.
    ///
    /// # Errors
    /// [`Error::Auth`] when the signature is not base64 or does not match.
    pub fn verify_signature(&self, body: &[u8], signature: &str) -> Result<()> {
        wire::check_hmac_sha256_base64(self.token.expose_secret().as_bytes(), body, signature)
    }

    /// The signature Intuit would send for `body` (for tests and local replays).
    pub fn sign(&self, body: &[u8]) -> String {
        wire::hmac_sha256_base64(self.token.expose_secret().as_bytes(), body)
    }
}

/// One entity change announced by a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The company (realm) id.
    pub realm_id: String,
    /// Entity name as QuickBooks spells it (`Invoice`, `Customer`, `CreditMemo`, ...).
    pub entity: String,
    /// The entity id.
    pub id: String,
    /// `Create`, `Update`, `Delete`, `Merge`, `Void`, `Emailed` (CloudEvents verbs are capitalised to match).
    pub operation: String,
    /// When it changed, as sent.
    pub last_updated: Option<String>,
    /// The CloudEvents id, for de-duplication (legacy payloads have none).
    pub event_id: Option<String>,
}

impl WebhookEvent {
    /// The unified kind of the changed entity, when it is one (`CreditMemo` → credit note; vendors, bills and
    /// the like → `None`).
    pub fn entity_kind(&self) -> Option<EntityKind> {
        match self.entity.as_str() {
            "Customer" => Some(EntityKind::Customer),
            "Item" => Some(EntityKind::Item),
            "Invoice" => Some(EntityKind::Invoice),
            "Payment" => Some(EntityKind::Payment),
            "CreditMemo" => Some(EntityKind::CreditNote),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Legacy {
    event_notifications: Vec<Notification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    realm_id: String,
    data_change_event: DataChange,
}

#[derive(Deserialize)]
struct DataChange {
    #[serde(default)]
    entities: Vec<LegacyEntity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyEntity {
    name: String,
    id: String,
    operation: String,
    #[serde(default)]
    last_updated: Option<String>,
}

#[derive(Deserialize)]
struct CloudEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    time: Option<String>,
    intuitentityid: String,
    intuitaccountid: String,
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Entity names of CloudEvents types in lower case (`creditmemo`) mapped to their QuickBooks spelling.
fn entity_name(lower: &str) -> String {
    match lower {
        "creditmemo" => "CreditMemo".into(),
        "salesreceipt" => "SalesReceipt".into(),
        "journalentry" => "JournalEntry".into(),
        "billpayment" => "BillPayment".into(),
        "purchaseorder" => "PurchaseOrder".into(),
        "taxcode" => "TaxCode".into(),
        other => capitalise(other),
    }
}

/// Parses a webhook body (legacy or CloudEvents) into events. Call only after verifying the signature.
///
/// # Errors
/// [`Error::Validation`] when the body is neither format.
pub fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    if let Ok(legacy) = serde_json::from_slice::<Legacy>(body) {
        let mut out = Vec::new();
        for n in legacy.event_notifications {
            for e in n.data_change_event.entities {
                out.push(WebhookEvent {
                    realm_id: n.realm_id.clone(),
                    entity: e.name,
                    id: e.id,
                    operation: e.operation,
                    last_updated: e.last_updated,
                    event_id: None,
                });
            }
        }
        return Ok(out);
    }
    let events: Vec<CloudEvent> = serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            "webhook",
            format!("neither a legacy nor a CloudEvents QuickBooks payload: {e}"),
        )
    })?;
    events
        .into_iter()
        .map(|e| {
            // qbo.<entity>.<verb>.v<n>
            let mut parts = e.kind.split('.');
            let (Some("qbo"), Some(entity), Some(verb)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::invalid(
                    "type",
                    format!("unexpected CloudEvents type {:?}", e.kind),
                ));
            };
            let operation = match verb {
                "created" => "Create".to_owned(),
                "updated" => "Update".to_owned(),
                "deleted" => "Delete".to_owned(),
                "merged" => "Merge".to_owned(),
                "voided" => "Void".to_owned(),
                "emailed" => "Emailed".to_owned(),
                other => capitalise(other),
            };
            Ok(WebhookEvent {
                realm_id: e.intuitaccountid,
                entity: entity_name(entity),
                id: e.intuitentityid,
                operation,
                last_updated: e.time,
                event_id: Some(e.id),
            })
        })
        .collect()
}
