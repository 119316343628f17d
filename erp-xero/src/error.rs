//! Mapping Xero error responses to [`erp_hub_core::Error`].
//!
//! | Xero answer | error |
//! |---|---|
//! | `400` `ValidationException` | [`Error::Validation`], one [`FieldError`] per `ValidationErrors[].Message`, its field the element path (`Contacts[0]`, `Invoices[0].LineItems[1]`) |
//! | other `400` (`PostDataInvalidException`, ...) | [`Error::Validation`] with the message |
//! | `401` (after one forced token refresh) | [`Error::Auth`] |
//! | `403` (scope missing, tenant disconnected) | [`Error::Auth`] |
//! | `404` | [`Error::NotFound`] |
//! | `429` | [`Error::RateLimited`] with `Retry-After` (`X-Rate-Limit-Problem` is logged and pauses the right limiter) |
//! | `5xx`, lost responses | erp-hub-core's rule: [`Error::Transient`] when the write carried an `Idempotency-Key`, else [`Error::Uncertain`] |

use erp_hub_core::http::HttpResponse;
use erp_hub_core::{Error, FieldError};
use serde_json::Value;

/// Xero's `ValidationException` error number.
pub const VALIDATION_EXCEPTION: &str = "ValidationException";

/// Maps a non-2xx response. `entity`/`id` name what was addressed, for [`Error::NotFound`].
pub fn map_error(resp: &HttpResponse, entity: &str, id: &str) -> Error {
    let status = resp.status().as_u16();
    let json: Option<Value> = serde_json::from_slice(resp.body()).ok();
    match status {
        400 => match &json {
            Some(j) => validation_error(j),
            None => Error::invalid("", format!("HTTP 400: {}", snippet(&resp.text()))),
        },
        401 => Error::auth(format!(
            "Xero rejected the access token{}",
            detail(json.as_ref())
        )),
        403 => Error::auth(format!(
            "Xero refused access (missing scope or tenant not connected){}",
            detail(json.as_ref())
        )),
        404 => Error::not_found(entity, id),
        _ => resp
            .status_error()
            .unwrap_or_else(|| Error::transient(format!("unexpected HTTP {status}"))),
    }
}

fn detail(json: Option<&Value>) -> String {
    let Some(j) = json else {
        return String::new();
    };
    for k in ["Detail", "detail", "Message", "Title"] {
        if let Some(s) = j.get(k).and_then(Value::as_str) {
            return format!(": {}", snippet(s));
        }
    }
    String::new()
}

fn snippet(s: &str) -> String {
    s.chars().take(300).collect()
}

/// A Xero `ValidationException` (`{ErrorNumber, Type, Message, Elements}`), kept as the typed source of the
/// [`Error::Validation`] it maps to: `err.provider_error::<ValidationException>()` gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationException {
    /// `ErrorNumber` (10 for validation errors).
    pub error_number: Option<i64>,
    /// `Type` (`ValidationException`).
    pub kind: Option<String>,
    /// `Message`.
    pub message: String,
    /// Every `ValidationErrors[].Message` of every element, with its path (`Elements[0].LineItems[1]`).
    pub elements: Vec<FieldError>,
}

impl std::fmt::Display for ValidationException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Xero {}: {}",
            self.kind.as_deref().unwrap_or("error"),
            self.message
        )
    }
}

impl std::error::Error for ValidationException {}

/// A `Validation` error from a Xero error body (`{ErrorNumber, Type, Message, Elements}`), with the body as a
/// [`ValidationException`] source.
pub fn validation_error(body: &Value) -> Error {
    let mut errors = Vec::new();
    let collection = body
        .get("Elements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, element) in collection.iter().enumerate() {
        walk(element, &format!("Elements[{i}]"), &mut errors);
    }
    if errors.is_empty() {
        let message = body
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or("Xero rejected the request");
        let mut fe = FieldError::new("", message);
        if let Some(t) = body.get("Type").and_then(Value::as_str) {
            fe = fe.with_code(t);
        }
        errors.push(fe);
    }
    let exception = ValidationException {
        error_number: body.get("ErrorNumber").and_then(Value::as_i64),
        kind: body.get("Type").and_then(Value::as_str).map(str::to_owned),
        message: body
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or("Xero rejected the request")
            .to_owned(),
        elements: errors.clone(),
    };
    Error::validation(errors).with_source(exception)
}

/// Field errors of one element (a returned entity with `ValidationErrors`, possibly nested in line items).
pub(crate) fn element_errors(element: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    walk(element, path, &mut errors);
    errors
}

fn walk(v: &Value, path: &str, out: &mut Vec<FieldError>) {
    let Some(obj) = v.as_object() else {
        return;
    };
    if let Some(list) = obj.get("ValidationErrors").and_then(Value::as_array) {
        for e in list {
            if let Some(m) = e.get("Message").and_then(Value::as_str) {
                out.push(FieldError::new(path, m).with_code(VALIDATION_EXCEPTION));
            }
        }
    }
    for (k, child) in obj {
        if k == "ValidationErrors" || k == "Warnings" {
            continue;
        }
        match child {
            Value::Array(items) => {
                for (j, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}.{k}[{j}]"), out);
                }
            }
            Value::Object(_) => walk(child, &format!("{path}.{k}"), out),
            _ => {}
        }
    }
}

/// Rewrites `Elements[i]` paths to the collection that was posted (`Contacts[i]`).
pub(crate) fn rename_elements(err: Error, collection: &str) -> Error {
    match err {
        Error::Validation { errors, source } => Error::Validation {
            source,
            errors: errors
                .into_iter()
                .map(|mut e| {
                    if let Some(rest) = e.field.strip_prefix("Elements") {
                        e.field = format!("{collection}{rest}");
                    }
                    e
                })
                .collect(),
        },
        other => other,
    }
}

/// Whether a validation error says a contact name is taken (Xero: "The contact name X is already assigned to
/// another contact. The contact name must be unique across all active contacts.").
pub(crate) fn is_duplicate_name(err: &Error) -> bool {
    match err {
        Error::Validation { errors, .. } => errors.iter().any(|e| {
            let m = e.message.to_ascii_lowercase();
            m.contains("already assigned to another contact") || m.contains("must be unique")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::ErrorKind;

    #[test]
    fn validation_exception_maps_each_message_to_its_element_path() {
        let body = serde_json::json!({
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [
                {"ValidationErrors": []},
                {
                    "Type": "ACCREC",
                    "ValidationErrors": [{"Message": "Email address must be valid."}],
                    "LineItems": [
                        {"ValidationErrors": []},
                        {"ValidationErrors": [{"Message": "Account code '999' is not a valid code for this document."}]}
                    ]
                }
            ]
        });
        let err = rename_elements(validation_error(&body), "Invoices");
        assert_eq!(err.kind(), ErrorKind::Validation);
        let Error::Validation { errors, .. } = err else {
            panic!("not a validation error")
        };
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "Invoices[1]");
        assert_eq!(errors[0].message, "Email address must be valid.");
        assert_eq!(errors[1].field, "Invoices[1].LineItems[1]");
    }

    #[test]
    fn other_400_keeps_the_message() {
        let body = serde_json::json!({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "JSON for Contacts is invalid"});
        let Error::Validation { errors, .. } = validation_error(&body) else {
            panic!()
        };
        assert_eq!(errors[0].message, "JSON for Contacts is invalid");
        assert_eq!(errors[0].code.as_deref(), Some("PostDataInvalidException"));
    }
}
