//! Entry points for fuzz targets (`fuzz/`): each takes arbitrary bytes and must never panic.

/// Parses a QuickBooks fault body (JSON or XML) and maps it to an error.
pub fn fault(data: &[u8]) {
    if let Some(f) = crate::error::Fault::parse(data) {
        let _ = f.to_error(400, None, false);
    }
    let _ = crate::error::response_error(429, &erp_hub_core::http::HeaderMap::new(), data, true);
}

/// Parses a webhook payload (legacy or CloudEvents) and checks a signature made of the first bytes.
pub fn webhook(data: &[u8]) {
    let _ = crate::webhook::parse(data);
    let split = data.len().min(44);
    let (sig, body) = data.split_at(split);
    let _ = crate::webhook::WebhookVerifier::new("fuzz")
        .verify_signature(body, &String::from_utf8_lossy(sig));
}

/// Reads arbitrary bytes as a QuickBooks invoice response, a CDC response and a note marker.
pub fn responses(data: &[u8]) {
    let _ = serde_json::from_slice::<crate::wire::SalesTxnResp>(data);
    let _ = serde_json::from_slice::<crate::wire::PaymentResp>(data);
    let text = String::from_utf8_lossy(data);
    let _ = crate::mapping::note_ref(&text);
    let _ = crate::mapping::note_field(&text, "invoice");
}
