#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cfdi::fuzzing::hostile_shapes(data));
