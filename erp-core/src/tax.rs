//! Tax math (owned by the money/tax helper).
