#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
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
pub mod testing;
pub mod webhook;
pub mod wire;

pub use auth::{AuthorizationRequest, Pkce, XeroRefresher};
pub use client::limits::{RateLimitProblem, XeroLimits, XeroRateHeaders};
pub use client::{Tenant, XeroClient};
pub use config::XeroConfig;
pub use entities::XeroAdapter;

/// The erp-hub-core types needed to construct the adapter: token storage, tokens, the account mapping.
pub use erp_hub_core::http::{InMemoryTokenStore, TokenSet, TokenStore};
/// See [`AccountMapping::tax_key`] for the keys of its tax codes.
pub use erp_hub_core::model::AccountMapping;
