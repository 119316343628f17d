//! Test doubles: [`MemoryErp`], an in-memory [`ErpAdapter`](crate::adapter::ErpAdapter) with real
//! semantics and fault injection, the [`journal`] suite for every fiscal `StampJournal`, the [`conformance`] suite every adapter runs (directly, and with the hub in front through
//! `HubDriven` / `run_all_via_hub`, feature `hub`), and [`LogCapture`] for tests of
//! what is logged.
//!
//! Enabled by the `testing` feature.

pub mod conformance;
#[cfg(feature = "hub")]
mod hub_driver;
pub mod journal;
mod logs;
mod memory;

#[cfg(feature = "hub")]
pub use hub_driver::{HubDriven, run_all_via_hub};
pub use logs::LogCapture;
pub use memory::{Fault, MemoryErp};
