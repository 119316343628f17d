#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
pub mod error;
pub mod fiscal;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hub")]
pub mod hub;
pub mod model;
pub mod money;
pub mod sync;
pub mod tax;
#[cfg(feature = "testing")]
pub mod testing;

pub use adapter::{BatchWrite, ConnectionLimits, ErpAdapter, IdempotencyKey, WriteOp};
pub use error::{Error, ErrorKind, FieldError, Result, RetryLater};
/// Every amount, quantity and rate in the model (re-exported so callers need no direct `rust_decimal`
/// dependency, and always get the version this crate was built with).
pub use rust_decimal::Decimal;
pub use sync::{SyncBatch, SyncEngine, SyncReport, SyncStore};
