//! Test doubles: [`MemoryErp`], an in-memory [`ErpAdapter`](crate::adapter::ErpAdapter) with real
//! semantics and fault injection, the [`conformance`] suite every adapter runs, and [`LogCapture`] for tests of
//! what is logged.
//!
//! Enabled by the `testing` feature.

pub mod conformance;
mod logs;
mod memory;

pub use logs::LogCapture;
pub use memory::{Fault, MemoryErp};
