//! Mexico CFDI 4.0 (placeholder crate root; the cfdi-core helper owns this file).
#![forbid(unsafe_code)]

pub mod catalog;
pub mod validate;
