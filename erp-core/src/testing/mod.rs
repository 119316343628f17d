//! Test doubles: [`MemoryErp`], an in-memory [`ErpAdapter`](crate::adapter::ErpAdapter) with real
//! semantics and fault injection, and the [`conformance`] suite every adapter runs.
//!
//! Enabled by the `testing` feature.

pub mod conformance;
mod memory;

pub use memory::{Fault, MemoryErp};
