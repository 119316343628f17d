#!/usr/bin/env bash
# The docs as docs.rs builds them (every feature, `--cfg docsrs` for the `doc_cfg` badges) without a warning:
# broken intra-doc links, missing docs and feature-gated items all fail here.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUSTDOCFLAGS="--cfg docsrs -D warnings" RUSTC_BOOTSTRAP=1 cargo doc --workspace --all-features --no-deps --quiet
echo "docs.rs build ok"
