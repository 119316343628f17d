//! Loading `.p12` signing keys (owned by the cr-xades helper).
