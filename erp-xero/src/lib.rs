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
pub mod limits;
pub mod mapping;
#[cfg(feature = "testing")]
pub mod mock;
pub mod payments;
pub mod webhook;

pub use auth::{AuthorizationRequest, Pkce, XeroRefresher};
pub use client::{Tenant, XeroClient};
pub use config::XeroConfig;
pub use entities::XeroAdapter;
pub use limits::{RateLimitProblem, XeroLimits, XeroRateHeaders};
