//! Bounds on hostile input: the largest document and the deepest element nesting a parser
//! or the signature verifier accepts.
//!
//! [`crate::parse_with_limits`] (and [`crate::parse`] with the defaults) checks the input
//! length **before** doing any work and the nesting depth while reading (complements and
//! addenda included), so a 200 MB attribute or a million nested elements is rejected quickly
//! with a typed error ([`crate::Error::TooLarge`], [`crate::Error::TooDeep`]) instead of
//! exhausting memory or the stack.
//!
//! ```
//! use cfdi::Limits;
//!
//! let strict = Limits::default().with_max_input_bytes(1 << 20).with_max_depth(32);
//! assert_eq!(strict.max_input_bytes(), 1 << 20);
//! assert_eq!(Limits::default().max_depth(), 128);
//! // depth is capped: the readers' own bookkeeping must stay small
//! assert_eq!(Limits::default().with_max_depth(usize::MAX).max_depth(), Limits::MAX_DEPTH_CAP);
//! ```

/// Input bounds for the CFDI parser.
///
/// The defaults (32 MiB, 128 levels) are far above any real CFDI (10,000 conceptos are about
/// 6 MB; Carta Porte 3.1, the deepest complement, nests about 10 levels) and far below what
/// would exhaust memory. 128 is also the nesting the cadena original of a complement supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    max_input_bytes: usize,
    max_depth: usize,
}

impl Limits {
    /// The default bounds: 32 MiB and 128 levels.
    pub const DEFAULT: Self = Self {
        max_input_bytes: 32 << 20,
        max_depth: 128,
    };

    /// The highest depth [`Limits::with_max_depth`] accepts; larger values are lowered to it.
    pub const MAX_DEPTH_CAP: usize = 1_000;

    /// Sets the largest accepted input, in bytes.
    #[must_use]
    pub const fn with_max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }

    /// Sets the deepest accepted element nesting (the root element is level 1), at most
    /// [`Limits::MAX_DEPTH_CAP`].
    #[must_use]
    pub const fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > Self::MAX_DEPTH_CAP {
            Self::MAX_DEPTH_CAP
        } else {
            depth
        };
        self
    }

    /// Largest accepted input, in bytes.
    #[must_use]
    pub const fn max_input_bytes(&self) -> usize {
        self.max_input_bytes
    }

    /// Deepest accepted element nesting.
    #[must_use]
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
