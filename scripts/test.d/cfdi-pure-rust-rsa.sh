#!/usr/bin/env bash
# sat-cfdi with both RSA backends: proves aws-lc-rs and the pure-Rust `rsa` crate give identical
# signatures, and runs the whole suite against the pure-Rust code paths too.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo clippy -p sat-cfdi --all-targets --features pure-rust-rsa -- -D warnings
cargo test -p sat-cfdi --features pure-rust-rsa
cargo test -p sat-cfdi --no-default-features --features pure-rust-rsa --test seal --test samples
