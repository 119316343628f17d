//! Batches: Alegra has no batch endpoint, so [`AlegraAdapter::write_batch`](crate::AlegraAdapter) sends one
//! request per element, in input order, each under the single-write contract (its own external reference,
//! looked up before any re-send). `max_batch()` is 1, so the hub hands the adapter one write at a time.

use erp_hub_core::Result;
use erp_hub_core::adapter::{BatchWrite, ErpAdapter, write_one};
use erp_hub_core::model::RemoteRef;

/// One result per write, in input order. An element that fails does not stop the ones after it (each is
/// independent; the hub orders dependent writes itself).
pub(crate) async fn write_batch<A: ErpAdapter>(
    adapter: &A,
    writes: &[BatchWrite],
) -> Vec<Result<RemoteRef>> {
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        out.push(write_one(adapter, w).await);
    }
    out
}
