//! `cargo bench -p sat-cfdi`: build+seal+serialize, parse+cadena+verify, and scaling with the
//! number of conceptos (allocations are counted by divan's `AllocProfiler`).

use std::path::PathBuf;
use std::sync::OnceLock;

use cfdi::build::{ComprobanteBuilder, ConceptoInput};
use cfdi::model::{Emisor, Receptor};
use cfdi::{Csd, SecretString};
use rust_decimal::Decimal;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

fn csd() -> &'static Csd {
    static CSD: OnceLock<Csd> = OnceLock::new();
    CSD.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csd");
        Csd::from_files(
            dir.join("EKU9003173C9.cer"),
            dir.join("EKU9003173C9.key"),
            &SecretString::from("12345678a"),
        )
        .expect("csd")
    })
}

fn invoice(k: usize) -> ComprobanteBuilder {
    ComprobanteBuilder::ingreso("2026-11-20T10:00:00", "42501")
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601"))
        .receptor(Receptor::new(
            "URE180429TM6",
            "UNIVERSIDAD ROBOTICA ESPAÑOLA",
            "86991",
            "601",
            "G03",
        ))
        .conceptos((0..k).map(|i| {
            ConceptoInput::new(
                "01010101",
                "H87",
                format!("Producto {i}"),
                Decimal::from(1 + i % 5),
                Decimal::new(10_050 + i as i64, 2),
            )
            .iva(Decimal::new(16, 2))
        }))
}

fn signed_xml(k: usize) -> String {
    let mut doc = invoice(k).build().expect("build");
    csd().seal(&mut doc).expect("seal");
    cfdi::to_xml(&doc)
}

/// The write-side workload: build (automatic totals), seal (RSA-2048) and serialize.
#[divan::bench(args = [1, 10, 100])]
fn build_seal_serialize(bencher: divan::Bencher, k: usize) {
    let csd = csd();
    bencher.bench(|| {
        let mut doc = invoice(k).build().expect("build");
        csd.seal(&mut doc).expect("seal");
        cfdi::to_xml(&doc)
    });
}

/// The read-side workload: parse, recompute the cadena and verify the Sello.
#[divan::bench(args = [1, 10, 100])]
fn parse_cadena_verify(bencher: divan::Bencher, k: usize) {
    let xml = signed_xml(k);
    bencher
        .counter(divan::counter::BytesCount::new(xml.len()))
        .bench(|| {
            let doc = cfdi::parse(divan::black_box(xml.as_bytes())).expect("parse");
            cfdi::verify(&doc).expect("verify")
        });
}

/// Parse alone, 1,000 vs 10,000 conceptos: time and allocated bytes should grow linearly.
#[divan::bench(args = [1_000, 10_000])]
fn parse_large(bencher: divan::Bencher, k: usize) {
    let xml = signed_xml(k);
    bencher
        .counter(divan::counter::BytesCount::new(xml.len()))
        .bench(|| cfdi::parse(divan::black_box(xml.as_bytes())).expect("parse"));
}

/// Cadena original alone on a parsed 10-concepto document.
#[divan::bench]
fn cadena_10(bencher: divan::Bencher) {
    let doc = cfdi::parse(signed_xml(10).as_bytes()).expect("parse");
    bencher.bench(|| cfdi::cadena_original(divan::black_box(&doc)).expect("cadena"));
}

/// RSA-2048 PKCS#1 v1.5 SHA-256 signature alone (the floor of build+seal).
#[divan::bench]
fn rsa_sign(bencher: divan::Bencher) {
    let key = csd().private_key();
    bencher.bench(|| {
        key.sign_sha256(divan::black_box(b"||4.0|cadena de prueba||"))
            .expect("sign")
    });
}

/// Parse alone, 10 conceptos.
#[divan::bench]
fn parse_10(bencher: divan::Bencher) {
    let xml = signed_xml(10);
    bencher.bench(|| cfdi::parse(divan::black_box(xml.as_bytes())).expect("parse"));
}

/// Reading the embedded `Certificado` (base64 + X.509), part of every verify.
#[divan::bench]
fn certificate_from_base64(bencher: divan::Bencher) {
    let b64 = csd().certificate().to_base64();
    bencher.bench(|| cfdi::Certificate::from_base64(divan::black_box(&b64)).expect("cert"));
}
