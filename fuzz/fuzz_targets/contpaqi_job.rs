#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| erp_contpaqi::fuzzing::job_response(data));
