#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod build;
mod cadena;
pub mod csd;
mod error;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "hub")]
pub mod hub;
mod limits;
pub mod model;
#[cfg(feature = "pac")]
pub mod pac;
mod parse;
mod verify;
mod write;

pub mod catalog;
pub mod validate;

pub use cadena::{cadena_original, cadena_tfd};
pub use csd::{Certificate, CertificateKind, Csd, PrivateKey};
pub use error::{BuildPlace, BuildRule, Error, ErrorKind, Result, SealProblem};
pub use limits::Limits;
pub use model::Comprobante;
pub use parse::{parse, parse_str, parse_with_limits};
/// Amounts in the model and the builder (re-exported so callers need no direct `rust_decimal` dependency).
pub use rust_decimal::Decimal;
pub use secrecy::SecretString;
pub use verify::{Verification, verify, verify_timbre};
pub use write::to_xml;
