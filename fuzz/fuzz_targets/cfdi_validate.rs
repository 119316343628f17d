#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| if let Ok(c) = cfdi::parse(data) { let _ = cfdi::validate::validate(&c); });
