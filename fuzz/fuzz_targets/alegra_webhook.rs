#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| erp_alegra::fuzzing::webhook(data));
