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

pub use auth::Credentials;
pub use client::{AlegraClient, AlegraRateHeaders};
pub use config::{AlegraConfig, AlegraLimits};
pub use entities::{AlegraAdapter, StampResult};
pub use error::AlegraError;

/// See [`AccountMapping::tax_key`] for the keys of its tax codes; Alegra's values are tax ids.
pub use erp_hub_core::model::AccountMapping;
