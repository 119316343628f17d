#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "erp")]
pub mod adapter;
pub mod error;
#[cfg(feature = "erp")]
pub mod fiscal;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hub")]
pub mod hub;
#[cfg(feature = "erp")]
pub mod model;
pub mod money;
#[cfg(feature = "erp")]
pub mod sync;
pub mod tax;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "erp")]
pub use adapter::{
    BatchWrite, ConnectionLimits, ErpAdapter, IdempotencyKey, ReceivedAnswer, WriteOp,
};
pub use error::{Error, ErrorKind, FieldError, Result, RetryLater};
/// Every amount, quantity and rate in the model (re-exported so callers need no direct `rust_decimal`
/// dependency, and always get the version this crate was built with).
pub use rust_decimal::Decimal;
#[cfg(feature = "erp")]
pub use sync::{SyncBatch, SyncEngine, SyncReport, SyncStore};
