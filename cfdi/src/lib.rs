#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cadena;
mod error;
pub mod model;
mod parse;
mod write;

pub mod catalog;
pub mod validate;

pub use cadena::{cadena_original, cadena_tfd};
pub use error::{Error, ErrorKind, Result, SealProblem};
pub use model::Comprobante;
pub use parse::{parse, parse_str};
pub use write::to_xml;
