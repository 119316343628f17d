#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| if let Ok(v) = serde_json::from_slice(data) { drop(erp_xero::error::validation_error(&v)) });
