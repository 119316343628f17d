//! Alegra's error bodies and their mapping to [`erp_hub_core::Error`].
//!
//! Alegra answers errors with a JSON body `{"code": 2006, "message": "El cliente es obligatorio"}` (shape seen
//! in public clients; the messages are in Spanish). The body is kept, typed, as [`AlegraError`]: get it back with
//! `err.provider_error::<AlegraError>()` on the variants that carry a source.
//!
//! | Alegra answer | error |
//! |---|---|
//! | `400`/`422` whose message says the record exists ("ya existe", "duplicad") | [`Error::Duplicate`] |
//! | other `400`/`422` (and `402`, `405`, `413`) | [`Error::Validation`]: one [`FieldError`] with the message, its code the Alegra `code` |
//! | `401` (wrong e-mail or token, token renewed) | [`Error::Auth`] |
//! | `403` (the user lacks the permission, plan limit) | [`Error::Auth`] |
//! | `404` | [`Error::NotFound`] naming the id that was asked for |
//! | `409` | [`Error::Conflict`] |
//! | `429` | [`Error::RateLimited`], the wait from `Retry-After` or `X-Rate-Limit-Reset` |
//! | `5xx`, lost responses | erp-hub-core's rule: [`Error::Transient`] for reads, [`Error::Uncertain`] for writes (Alegra has no idempotency key, so a write that failed this way may have been applied) |

use std::fmt;
use std::time::Duration;

use erp_hub_core::http::{HttpResponse, parse_retry_after};
use erp_hub_core::{Error, FieldError};
use serde_json::Value;

/// An Alegra error body (`{code, message}`), with the HTTP status it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlegraError {
    /// The HTTP status.
    pub status: u16,
    /// Alegra's numeric error code, when the body has one.
    pub code: Option<i64>,
    /// Alegra's message (Spanish), or the start of a body that is not JSON.
    pub message: String,
}

impl fmt::Display for AlegraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(
                f,
                "Alegra HTTP {} (code {c}): {}",
                self.status, self.message
            ),
            None => write!(f, "Alegra HTTP {}: {}", self.status, self.message),
        }
    }
}

impl std::error::Error for AlegraError {}

impl AlegraError {
    /// Reads an error body. Never fails: a body that is not `{code, message}` keeps its first 300 characters as
    /// the message.
    pub fn parse(status: u16, body: &[u8]) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let code = json.as_ref().and_then(|j| match j.get("code") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        });
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(|m| match m {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .unwrap_or_else(|| snippet(&String::from_utf8_lossy(body)));
        Self {
            status,
            code,
            message: snippet(&message),
        }
    }

    /// Whether the message says the record already exists.
    pub fn is_duplicate(&self) -> bool {
        let m = self.message.to_lowercase();
        m.contains("ya existe") || m.contains("duplicad") || m.contains("already exists")
    }
}

fn snippet(s: &str) -> String {
    s.trim().chars().take(300).collect()
}

/// The wait a `429` asks for: `Retry-After`, else `X-Rate-Limit-Reset` (seconds left in the window).
pub(crate) fn rate_limit_wait(resp: &HttpResponse) -> Option<Duration> {
    parse_retry_after(resp.headers()).or_else(|| {
        let v: u64 = resp
            .headers()
            .get("x-rate-limit-reset")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(Duration::from_secs(v))
    })
}

/// Maps a non-2xx response; `entity`/`id` name what was addressed (for [`Error::NotFound`]).
pub fn map_error(resp: &HttpResponse, entity: &str, id: &str) -> Error {
    let status = resp.status().as_u16();
    let body = AlegraError::parse(status, resp.body());
    match status {
        400 | 402 | 405 | 413 | 422 => {
            if body.is_duplicate() {
                Error::Duplicate {
                    message: body.to_string(),
                    existing_id: None,
                }
            } else {
                validation(body)
            }
        }
        401 => Error::auth(format!(
            "Alegra rejected the credentials (wrong e-mail or token, or the token was renewed): {}",
            body.message
        )),
        403 => Error::auth(format!(
            "Alegra refused the operation for this user: {}",
            body.message
        )),
        404 => Error::not_found(entity, id),
        409 => Error::conflict(body.to_string()),
        429 => Error::RateLimited {
            retry_after: rate_limit_wait(resp),
        },
        _ => match resp.status_error() {
            Some(e @ (Error::Transient { .. } | Error::Uncertain { .. })) => e.with_source(body),
            Some(e) => e,
            None => Error::transient(format!("unexpected HTTP {status}")),
        },
    }
}

/// A [`Error::Validation`] from an Alegra error body, with the body as its source.
pub fn validation(body: AlegraError) -> Error {
    let mut fe = FieldError::new("", body.message.clone());
    if let Some(c) = body.code {
        fe = fe.with_code(c.to_string());
    }
    Error::validation(vec![fe]).with_source(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::ErrorKind;

    #[test]
    fn parses_code_and_spanish_message() {
        let e = AlegraError::parse(
            400,
            br#"{"code": 2006, "message": "El cliente es obligatorio"}"#,
        );
        assert_eq!(e.code, Some(2006));
        assert_eq!(e.message, "El cliente es obligatorio");
        let err = validation(e.clone());
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert_eq!(err.provider_error::<AlegraError>(), Some(&e));
    }

    #[test]
    fn tolerates_bodies_that_are_not_json() {
        let e = AlegraError::parse(400, b"<html>Bad Request</html>");
        assert_eq!(e.code, None);
        assert_eq!(e.message, "<html>Bad Request</html>");
        let e = AlegraError::parse(400, br#"{"code": "12", "message": {"es": "x"}}"#);
        assert_eq!(e.code, Some(12));
        assert_eq!(e.message, r#"{"es":"x"}"#);
        assert!(AlegraError::parse(400, br#"{"message":"El contacto ya existe"}"#).is_duplicate());
    }
}
