//! Bounds on hostile input: the largest document and the deepest element nesting a parser
//! or the signature verifier accepts.
//!
//! Every entry point that takes XML ([`crate::parse`], [`crate::xades::verify`], the Hacienda
//! API responses) checks the input length **before** doing any work and the nesting depth
//! while reading, so a 200 MB attribute or a million nested elements is rejected quickly with
//! a typed error instead of exhausting memory or the stack.
//!
//! ```
//! use cr_einvoice::Limits;
//!
//! let strict = Limits::default().with_max_input_bytes(1 << 20).with_max_depth(32);
//! assert_eq!(strict.max_input_bytes(), 1 << 20);
//! assert_eq!(Limits::default().max_depth(), 64);
//! // depth is capped: the readers' own bookkeeping must stay small
//! assert_eq!(Limits::default().with_max_depth(usize::MAX).max_depth(), Limits::MAX_DEPTH_CAP);
//! ```

/// Input bounds for the parsers and the signature verifier.
///
/// The defaults (16 MiB, 64 levels) are far above any real v4.4 document (a factura with
/// 1,000 lines is about 1.5 MB and nests 8 levels; a XAdES signature about 10) and far below
/// what would exhaust memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    max_input_bytes: usize,
    max_depth: usize,
}

impl Limits {
    /// The default bounds: 16 MiB and 64 levels.
    pub const DEFAULT: Self = Self {
        max_input_bytes: 16 << 20,
        max_depth: 64,
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
