#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cr_einvoice::fuzzing::hostile_shapes(data));
