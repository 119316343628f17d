#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cr_einvoice::fuzzing::parse_v43(data));
