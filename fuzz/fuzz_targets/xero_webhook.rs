#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| drop(erp_xero::webhook::parse_payload(data)));
