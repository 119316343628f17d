//! QuickBooks `Fault` bodies (JSON **and** XML) and their mapping to [`erp_hub_core::Error`].
//!
//! | QuickBooks | HTTP | [`ErrorKind`](erp_hub_core::ErrorKind) |
//! |---|---|---|
//! | 6240 duplicate name, 6140 duplicate doc number | 400 | `Duplicate` (the adapter looks up the existing record for 6240) |
//! | 5010 stale object | 400 | `Conflict` |
//! | 3200 authentication failed, 120 authorization failure, 100 | 401/403 | `Auth` |
//! | 3001 throttle exceeded | 429 | `RateLimited` (with `Retry-After` when sent) |
//! | 610 object not found | 400 | `NotFound` |
//! | 2500, 2020, 2170, 6000 and any other `ValidationFault` | 400 | `Validation`, one [`FieldError`] per error |
//! | any other 5xx | 5xx | `Transient` for replay-safe requests, else `Uncertain` |
//!
//! Intuit sometimes answers in XML even when JSON was requested (throttling in particular), so both are parsed.

use std::time::Duration;

use erp_hub_core::http::{HeaderMap, parse_retry_after};
use erp_hub_core::{Error, FieldError};
use quick_xml::events::Event;
use serde::Deserialize;

/// One error inside a [`Fault`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FaultError {
    /// Numeric code as a string (`6240`, `5010`, `3001`, ...).
    #[serde(default)]
    pub code: String,
    /// Short message.
    #[serde(default, rename = "Message")]
    pub message: String,
    /// Longer explanation.
    #[serde(default, rename = "Detail")]
    pub detail: String,
    /// The offending element, when QuickBooks names one.
    #[serde(default)]
    pub element: String,
}

/// A QuickBooks `Fault`: a type and its errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// `ValidationFault`, `SERVICE`, `AUTHENTICATION`, `SystemFault`, ...
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The errors.
    #[serde(default, rename = "Error")]
    pub errors: Vec<FaultError>,
}

/// The id of a [`Error::NotFound`] mapped from a response that does not say which record is missing.
pub const UNKNOWN_ID: &str = "(id not given)";

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuickBooks {} fault: {}", self.kind, self.summary())
    }
}

/// A fault is the typed source of the [`Error`] it maps to: `err.provider_error::<Fault>()` gets it back with its
/// codes and elements.
impl std::error::Error for Fault {}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Fault")]
    fault: Option<Fault>,
}

impl Fault {
    /// Parses a fault from a JSON (`{"Fault":{...}}`) or XML (`<IntuitResponse><Fault>...`) body.
    /// `None` when the body holds no fault.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let trimmed = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .and_then(|i| body.get(i..))
            .unwrap_or_default();
        match trimmed.first() {
            Some(b'{') => serde_json::from_slice::<Envelope>(trimmed).ok()?.fault,
            Some(b'<') => parse_xml(trimmed),
            _ => None,
        }
    }

    /// Parses a fault from a JSON value (a batch item's `Fault`).
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }

    /// Whether any error has `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.code.trim_start_matches('0') == code)
    }

    fn summary(&self) -> String {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                if e.detail.is_empty() {
                    format!("{} [{}]", e.message, e.code)
                } else {
                    format!("{}: {} [{}]", e.message, e.detail, e.code)
                }
            })
            .collect();
        if parts.is_empty() {
            self.kind.clone()
        } else {
            parts.join("; ")
        }
    }

    /// Maps the fault to an [`Error`] (see the module table). `status` is the HTTP status (200 for batch items).
    pub fn to_error(&self, status: u16, retry_after: Option<Duration>, replay_safe: bool) -> Error {
        let message = self.summary();
        if self.has_code("3001") || status == 429 {
            return Error::RateLimited { retry_after };
        }
        if self.has_code("3200")
            || self.has_code("120")
            || self.has_code("100")
            || status == 401
            || status == 403
            || self.kind.eq_ignore_ascii_case("AUTHENTICATION")
        {
            return Error::auth(message);
        }
        if self.has_code("5010") {
            return Error::conflict(message);
        }
        if self.has_code("6240") || self.has_code("6140") {
            return Error::Duplicate {
                message,
                existing_id: None,
            };
        }
        if self.has_code("610") || status == 404 {
            // The fault names no id; `QuickBooksClient::read` replaces it with the id it asked for.
            return Error::not_found("record", UNKNOWN_ID);
        }
        if status >= 500 || self.kind.eq_ignore_ascii_case("SystemFault") {
            return if replay_safe {
                Error::transient(message)
            } else {
                Error::uncertain(message)
            }
            .with_source(self.clone());
        }
        let errors = self
            .errors
            .iter()
            .map(|e| {
                let text = if e.detail.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.message, e.detail)
                };
                FieldError::new(e.element.clone(), text).with_code(e.code.clone())
            })
            .collect::<Vec<_>>();
        if errors.is_empty() {
            return Error::invalid("", format!("QuickBooks rejected the request: {message}"))
                .with_source(self.clone());
        }
        Error::validation(errors).with_source(self.clone())
    }
}

/// Maps a non-2xx response (or a 2xx one carrying a `Fault`) to an [`Error`].
pub fn response_error(status: u16, headers: &HeaderMap, body: &[u8], replay_safe: bool) -> Error {
    let retry_after = parse_retry_after(headers);
    match Fault::parse(body) {
        Some(f) => f.to_error(status, retry_after, replay_safe),
        None => match status {
            401 | 403 => Error::auth(format!("HTTP {status}")),
            429 => Error::RateLimited { retry_after },
            404 => Error::not_found("record", UNKNOWN_ID),
            s if s >= 500 && replay_safe => Error::transient(format!("HTTP {s}")),
            s if s >= 500 => Error::uncertain(format!("HTTP {s}")),
            s => Error::invalid("", format!("HTTP {s} without a QuickBooks fault body")),
        },
    }
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn parse_xml(body: &[u8]) -> Option<Fault> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut fault: Option<Fault> = None;
    let mut current: Option<FaultError> = None;
    let mut text_target: Option<&'static str> = None;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                match local_name(name.into_inner()) {
                    "Fault" => {
                        let mut f = Fault::default();
                        for a in e.attributes().flatten() {
                            if local_name(a.key.into_inner()) == "type" {
                                f.kind = a.value.to_string();
                            }
                        }
                        fault = Some(f);
                    }
                    "Error" => {
                        let mut err = FaultError::default();
                        for a in e.attributes().flatten() {
                            let v = a.value.to_string();
                            match local_name(a.key.into_inner()) {
                                "code" => err.code = v,
                                "element" => err.element = v,
                                _ => {}
                            }
                        }
                        current = Some(err);
                    }
                    "Message" => text_target = Some("Message"),
                    "Detail" => text_target = Some("Detail"),
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let (Some(target), Some(err)) = (text_target, current.as_mut()) {
                    let text: &str = &t;
                    match target {
                        "Message" => err.message.push_str(text),
                        _ => err.detail.push_str(text),
                    }
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(target), Some(err)) = (text_target, current.as_mut()) {
                    let name = r.into_inner();
                    let resolved = match &*name {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    };
                    match target {
                        "Message" => err.message.push_str(resolved),
                        _ => err.detail.push_str(resolved),
                    }
                }
            }
            Event::End(e) => match local_name(e.name().into_inner()) {
                "Error" => {
                    if let (Some(f), Some(err)) = (fault.as_mut(), current.take()) {
                        f.errors.push(err);
                    }
                }
                "Message" | "Detail" => text_target = None,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    fault
}

#[cfg(test)]
mod tests {
    use super::*;
    use erp_hub_core::ErrorKind;

    #[test]
    fn xml_throttle_fault() {
        let body = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-01-15T10:00:00.123-08:00">
  <Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
  <Detail>The request limit was reached.  Try again later &amp; retry</Detail></Error></Fault></IntuitResponse>"#;
        let f = Fault::parse(body).unwrap();
        assert_eq!(f.kind, "SERVICE");
        assert_eq!(f.errors[0].code, "3001");
        assert!(f.errors[0].detail.contains("later & retry"), "{f:?}");
        assert_eq!(f.to_error(429, None, false).kind(), ErrorKind::RateLimited);
    }

    #[test]
    fn not_a_fault() {
        assert!(Fault::parse(b"{\"Customer\":{}}").is_none());
        assert!(Fault::parse(b"<html>oops</html>").is_none());
        assert!(Fault::parse(b"").is_none());
    }
}
