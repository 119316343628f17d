//! Validation benchmarks (divan): `validate::comprobante` on the demo 10- and 100-line facturas
//! and `validate::mensaje_receptor`. Run alone with `scripts/bench-cr.sh validate`; the figures
//! guard refactors of the rules (no slowdown over 3 %).
#![allow(missing_docs)]

use cr_einvoice::{SchemaRevision, TipoDocumento, demo, validate};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

fn fecha() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00").expect("fecha")
}

fn doc(lineas: usize) -> cr_einvoice::Comprobante {
    demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2026,
        fecha(),
        lineas,
    )
    .expect("build")
}

/// All rules on a 10-line factura (clean: no issue is reported).
#[divan::bench]
fn validate_10_lines(b: Bencher<'_, '_>) {
    let d = doc(10);
    assert!(validate::comprobante(&d).issues.is_empty());
    b.bench(|| validate::comprobante(black_box(&d)));
}

/// All rules on a 100-line factura.
#[divan::bench]
fn validate_100_lines(b: Bencher<'_, '_>) {
    let d = doc(100);
    assert!(validate::comprobante(&d).issues.is_empty());
    b.bench(|| validate::comprobante(black_box(&d)));
}

/// All rules on a mensaje receptor.
#[divan::bench]
fn validate_mensaje_receptor(b: Bencher<'_, '_>) {
    let m = demo::mensaje_receptor(SchemaRevision::V2026, fecha()).expect("build");
    assert!(validate::mensaje_receptor(&m).issues.is_empty());
    b.bench(|| validate::mensaje_receptor(black_box(&m)));
}
