#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cr_einvoice::xades::fuzz_verify(data));
