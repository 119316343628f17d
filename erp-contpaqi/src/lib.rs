#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod batch;
pub mod changes;
pub mod client;
pub mod config;
pub mod entities;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod mapping;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod webhook;
pub mod wire;

pub use client::ContpaqiClient;
pub use config::{Conceptos, ContpaqiConfig, PollPolicy};
pub use entities::{ContpaqiAdapter, Timbrado};
pub use error::{BridgeProblem, SdkError};

/// See [`AccountMapping::tax_key`] for the keys of its tax codes and [`mapping`] for the CONTPAQi values.
pub use erp_hub_core::model::AccountMapping;
