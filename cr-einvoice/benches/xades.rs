//! XAdES-EPES signing benchmarks (divan). `scripts/bench-cr.sh` runs these next to
//! `openssl speed rsa2048` and Python signxml signing the same document.
#![allow(missing_docs)]

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use cr_einvoice::c14n::{Algorithm, canonicalize};
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{SchemaRevision, TipoDocumento, demo};
use divan::{Bencher, black_box};
use secrecy::SecretString;

const P12: &[u8] = include_bytes!("../tests/fixtures/keys/test-aes.p12");
const KEY_PEM: &str = include_str!("../tests/fixtures/keys/key.pem");
const DOC_10_LINES: &[u8] =
    include_bytes!("../tests/fixtures/unsigned/FE_v4.4_10_lines_unsigned.xml");

fn main() {
    divan::main();
}

fn key() -> SigningKey {
    SigningKey::from_pkcs12(P12, &SecretString::from("1234")).expect("test key")
}

fn opts() -> SignOptions {
    SignOptions::new().signing_time(
        Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
            .single()
            .expect("time"),
    )
}

/// Canonical XML 1.0 of a 10-line factura (the document digest input).
#[divan::bench]
fn c14n_10_lines(b: Bencher<'_, '_>) {
    b.bench(|| canonicalize(black_box(DOC_10_LINES), Algorithm::Inclusive).expect("c14n"));
}

/// Complete XAdES-EPES signature of a 10-line factura (3 references, RSA-2048).
#[divan::bench]
fn sign_10_lines(b: Bencher<'_, '_>) {
    let key = key();
    let opts = opts();
    b.bench(|| xades::sign(black_box(DOC_10_LINES), &key, &opts).expect("sign"));
}

/// Build a 10-line factura (model with computed totals, deterministic writer) and sign it:
/// the figure the issue compares with `openssl speed rsa2048`.
#[divan::bench]
fn build_and_sign_10_lines(b: Bencher<'_, '_>) {
    let key = key();
    let opts = opts();
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").expect("fecha");
    b.bench(|| {
        let doc = demo::comprobante(
            TipoDocumento::FacturaElectronica,
            SchemaRevision::V2026,
            fecha,
            10,
        )
        .expect("build");
        let xml = doc.to_xml().expect("write");
        xades::sign(&xml, &key, &opts).expect("sign")
    });
}

/// Write (validate + serialize) a prebuilt 10-line factura and sign it: build+sign when the
/// model comes from the caller's own data.
#[divan::bench]
fn write_and_sign_10_lines(b: Bencher<'_, '_>) {
    let key = key();
    let opts = opts();
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").expect("fecha");
    let doc = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha,
        10,
    )
    .expect("build");
    b.bench(|| {
        let xml = doc.to_xml().expect("write");
        xades::sign(&xml, &key, &opts).expect("sign")
    });
}

/// The writer alone (validate + serialize a prebuilt 10-line factura), to split the figures.
#[divan::bench]
fn write_10_lines(b: Bencher<'_, '_>) {
    let doc = demo_doc();
    b.bench(|| doc.to_xml().expect("write"));
}

/// Signing alone, of the writer's 10-line factura bytes.
#[divan::bench]
fn sign_written_10_lines(b: Bencher<'_, '_>) {
    let key = key();
    let opts = opts();
    let xml = demo_doc().to_xml().expect("write");
    b.bench(|| xades::sign(black_box(&xml), &key, &opts).expect("sign"));
}

fn demo_doc() -> cr_einvoice::Comprobante {
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").expect("fecha");
    demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha,
        10,
    )
    .expect("build")
}

/// Verification of the signed 10-line factura. 2,000 samples (divan's default is 100): the
/// median `scripts/bench-cr.sh` reports is then steadier on a shared machine.
#[divan::bench(sample_count = 2000)]
fn verify_10_lines(b: Bencher<'_, '_>) {
    let key = key();
    let signed = xades::sign(DOC_10_LINES, &key, &opts()).expect("sign");
    b.bench(|| xades::verify(black_box(&signed), Some(key.certificate())).expect("verify"));
}

/// Verification of the signed 10-line factura with the certificate taken from its `ds:KeyInfo`
/// (no pinned certificate: the embedded certificate is decoded on every call, and parsed on the
/// first one only — verify keeps recently seen certificates parsed).
#[divan::bench(sample_count = 2000)]
fn verify_10_lines_keyinfo(b: Bencher<'_, '_>) {
    let signed = xades::sign(DOC_10_LINES, &key(), &opts()).expect("sign");
    b.bench(|| xades::verify(black_box(&signed), None).expect("verify"));
}

/// The bare RSA-2048 PKCS#1 v1.5 SHA-256 signature of 1 KiB with aws-lc-rs (the floor).
#[divan::bench]
fn rsa2048_sign_only(b: Bencher<'_, '_>) {
    let body: String = KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem");
    let kp = RsaKeyPair::from_pkcs8(&der).expect("pkcs8");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let msg = [0x5au8; 1024];
    let mut sig = vec![0u8; kp.public_modulus_len()];
    b.bench_local(|| {
        kp.sign(&RSA_PKCS1_SHA256, &rng, black_box(&msg), &mut sig)
            .expect("rsa")
    });
}
