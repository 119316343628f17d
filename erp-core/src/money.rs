//! Money (owned by the money/tax helper).

/// Errors of money arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Placeholder until the money module lands.
    #[error("overflow")]
    Overflow,
}
