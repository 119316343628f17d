//! Canonical XML 1.0 (inclusive and exclusive) for our document shapes (owned by the cr-xades helper).
