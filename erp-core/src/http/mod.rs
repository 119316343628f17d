//! Shared HTTP plumbing (owned by the http helper).
