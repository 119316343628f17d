//! Entry points for fuzz targets (`fuzz/`): each takes arbitrary bytes and must never panic.

/// Reads arbitrary bytes as a Xero validation error body and maps it to an error.
pub fn validation_error(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice(data) {
        let _ = crate::error::validation_error(&v);
    }
}

/// Parses a webhook payload and checks a signature made of the first bytes.
pub fn webhook(data: &[u8]) {
    let _ = crate::webhook::parse_payload(data);
    let split = data.len().min(44);
    let (sig, body) = data.split_at(split);
    let _ = crate::webhook::WebhookVerifier::new("fuzz".to_owned())
        .verify_signature(body, &String::from_utf8_lossy(sig));
}
