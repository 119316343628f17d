#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod money;
pub mod tax;

pub use error::{Error, ErrorKind, FieldError, Result};
