//! Entry points for fuzz targets (`fuzz/`): each takes arbitrary bytes and must never panic.

/// Reads arbitrary bytes as an Alegra error body, and as list and record responses.
pub fn responses(data: &[u8]) {
    let e = crate::error::AlegraError::parse(400, data);
    let _ = crate::error::validation(e);
    let _ = serde_json::from_slice::<crate::wire::Page<crate::wire::AlegraInvoice>>(data);
    if let Ok(inv) = serde_json::from_slice::<crate::wire::AlegraInvoice>(data) {
        let _ = crate::mapping::invoice_record(
            &inv,
            serde_json::Value::Null,
            erp_hub_core::money::Currency::MXN,
        );
    }
    let text = String::from_utf8_lossy(data);
    let _ = crate::mapping::ref_from_observations(Some(&text));
}

/// Parses a webhook payload and checks a token made of the first bytes.
pub fn webhook(data: &[u8]) {
    let _ = crate::webhook::parse(data);
    let split = data.len().min(16);
    let (token, body) = data.split_at(split);
    let url = format!("/hooks?token={}", String::from_utf8_lossy(token));
    let _ = crate::webhook::WebhookVerifier::new("fuzz".to_owned()).verify_url(&url, body);
}
