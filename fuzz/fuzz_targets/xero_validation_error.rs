#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| erp_xero::fuzzing::validation_error(data));
