//! Alegra webhooks: subscriptions (`/webhooks/subscriptions`), delivery verification and payload parsing, with
//! [`WebhookVerifier`] (the same name as in every erp-hub adapter).
//!
//! Alegra documents no signature on deliveries. The verifier therefore puts a **secret token in the
//! subscription URL** ([`WebhookVerifier::subscription_url`]) and checks it, in constant time, on every delivery
//! ([`WebhookVerifier::verify_url`]); an unverified delivery must be answered `401` and ignored. Treat even a
//! verified payload as a hint: re-read the record with `get` before acting on it (Alegra retries deliveries,
//! so the same event may arrive twice).
//!
//! ```
//! use erp_alegra::webhook::WebhookVerifier;
//! use erp_hub_core::model::EntityKind;
//!
//! let verifier = WebhookVerifier::new("a-long-random-secret".to_owned());
//! let url = verifier.subscription_url("https://app.example.com/hooks/alegra")?;
//! // ... POST /webhooks/subscriptions {"event": "new-invoice", "url": url} (see `subscribe`) ...
//! let body = br#"{"subscription":"new-invoice","message":{"invoice":{"id":"17"}}}"#;
//! let events = verifier.verify_url(&url, body)?;
//! assert_eq!(events[0].entity_kind(), Some(EntityKind::Invoice));
//! assert_eq!(events[0].resource_id.as_deref(), Some("17"));
//! assert!(verifier.verify_url("https://app.example.com/hooks/alegra?token=guess", body).is_err());
//! # Ok::<(), erp_hub_core::Error>(())
//! ```

use std::fmt;

use erp_hub_core::http::wire::ct_eq;
use erp_hub_core::http::{Method, Url};
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{AlegraClient, Call};

/// The query parameter carrying the token in the subscription URL.
pub const TOKEN_PARAM: &str = "token";

/// The events Alegra can notify (the `event` of a subscription).
pub const EVENTS: &[&str] = &[
    "new-client",
    "edit-client",
    "delete-client",
    "new-item",
    "edit-item",
    "delete-item",
    "new-invoice",
    "edit-invoice",
    "delete-invoice",
    "new-payment",
    "edit-payment",
    "delete-payment",
];

/// Verifies deliveries by the secret token of the subscription URL. `Debug` redacts the secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: SecretString,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookVerifier([REDACTED])")
    }
}

impl WebhookVerifier {
    /// A verifier for `secret` (use a long random value; it travels in the URL, so only over HTTPS).
    pub fn new(secret: impl Into<SecretString>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// `base` with the token added as the `token` query parameter: the URL to subscribe.
    ///
    /// # Errors
    /// [`Error::Config`] when `base` is not a URL.
    pub fn subscription_url(&self, base: &str) -> Result<String> {
        let mut url =
            Url::parse(base).map_err(|e| Error::config(format!("invalid webhook URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair(TOKEN_PARAM, self.secret.expose_secret());
        Ok(url.into())
    }

    /// Checks a delivery's token (the `token` query value of the URL it was posted to), in constant time.
    ///
    /// # Errors
    /// [`Error::Auth`] when it does not match.
    pub fn verify_token(&self, token: &str) -> Result<()> {
        if ct_eq(token.as_bytes(), self.secret.expose_secret().as_bytes()) {
            Ok(())
        } else {
            Err(Error::auth("Alegra webhook token does not match"))
        }
    }

    /// Checks the token in the URL a delivery was posted to (full URL, or path and query), then parses the body.
    ///
    /// # Errors
    /// [`Error::Auth`] when the token is missing or wrong (answer `401`); [`Error::Validation`] when a verified
    /// body is not an Alegra webhook payload.
    pub fn verify_url(&self, request_url: &str, body: &[u8]) -> Result<Vec<WebhookEvent>> {
        let url = Url::parse(request_url)
            .or_else(|_| Url::parse("http://localhost/").and_then(|b| b.join(request_url)))
            .map_err(|_| Error::auth("Alegra webhook delivery URL is unreadable"))?;
        let token = url
            .query_pairs()
            .find(|(k, _)| k == TOKEN_PARAM)
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| Error::auth("Alegra webhook delivery has no token"))?;
        self.verify_token(&token)?;
        parse(body)
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The event (`new-invoice`, `edit-client`, ...).
    pub event: String,
    /// The id of the record concerned, when the message names it.
    pub resource_id: Option<String>,
    /// The message as sent (the record, or a wrapper around it).
    pub message: Value,
}

impl WebhookEvent {
    /// The unified kind of the record concerned, when it is one.
    pub fn entity_kind(&self) -> Option<EntityKind> {
        let subject = self.event.split_once('-').map_or("", |(_, s)| s);
        match subject {
            "client" | "contact" => Some(EntityKind::Customer),
            "item" => Some(EntityKind::Item),
            "invoice" => Some(EntityKind::Invoice),
            "payment" => Some(EntityKind::Payment),
            "credit-note" => Some(EntityKind::CreditNote),
            _ => None,
        }
    }
}

fn id_in(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Parses a delivery (`{"subscription" | "event": "...", "message": {...}}`, one event or a list of them).
/// Check the token first, or use [`WebhookVerifier::verify_url`].
///
/// # Errors
/// [`Error::Validation`] for a body that is not an Alegra webhook payload.
pub fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid("webhook", format!("not JSON: {e}")))?;
    let items = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let event = item
                .get("subscription")
                .or_else(|| item.get("event"))
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid("webhook", "no `subscription` or `event` name"))?
                .to_owned();
            let message = item.get("message").cloned().unwrap_or(Value::Null);
            let resource_id = id_in(&message)
                .or_else(|| message.as_object().and_then(|o| o.values().find_map(id_in)));
            Ok(WebhookEvent {
                event,
                resource_id,
                message,
            })
        })
        .collect()
}

/// A webhook subscription (`/webhooks/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subscription {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<crate::wire::Id>,
    /// The event.
    pub event: String,
    /// Where Alegra posts it.
    pub url: String,
}

/// Subscribes `url` (from [`WebhookVerifier::subscription_url`]) to `event`.
///
/// # Errors
/// [`Error::Validation`] for an event Alegra does not know; transport and auth errors.
pub async fn subscribe(client: &AlegraClient, event: &str, url: &str) -> Result<Subscription> {
    let body = Subscription {
        id: None,
        event: event.to_owned(),
        url: url.to_owned(),
    };
    client
        .call(Call::write(
            Method::POST,
            "/webhooks/subscriptions",
            &body,
            "subscription",
            "",
        )?)
        .await?
        .json()
}

/// The company's subscriptions.
///
/// # Errors
/// Transport and auth errors.
pub async fn subscriptions(client: &AlegraClient) -> Result<Vec<Subscription>> {
    client
        .get_json(Call::get("/webhooks/subscriptions", "subscription", ""))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_list_payloads() {
        let one = parse(br#"{"event":"edit-client","message":{"id":5,"name":"X"}}"#).unwrap();
        assert_eq!(one[0].entity_kind(), Some(EntityKind::Customer));
        assert_eq!(one[0].resource_id.as_deref(), Some("5"));
        let many =
            parse(br#"[{"subscription":"new-payment","message":{"payment":{"id":"9"}}}]"#).unwrap();
        assert_eq!(many[0].entity_kind(), Some(EntityKind::Payment));
        assert_eq!(many[0].resource_id.as_deref(), Some("9"));
        assert!(parse(b"{}").is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn token_is_checked_and_never_shown() {
        let v = WebhookVerifier::new("s3cret".to_owned());
        assert!(!format!("{v:?}").contains("s3cret"));
        assert!(
            v.verify_url(
                "/hooks?token=s3cret",
                br#"{"event":"new-item","message":{}}"#
            )
            .is_ok()
        );
        assert!(v.verify_url("/hooks?token=s3cre", b"{}").is_err());
        assert!(v.verify_url("/hooks", b"{}").is_err());
    }
}
