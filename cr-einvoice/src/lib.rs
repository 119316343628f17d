//! Costa Rica comprobantes electrónicos v4.4 (placeholder crate root; the cr-docs helper owns this file).
#![forbid(unsafe_code)]

pub mod c14n;
pub mod keystore;
pub mod xades;
