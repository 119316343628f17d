//! Batches: CONTPAQi has no batch operation. The SDK runs one call at a time on one thread, and the bridge
//! executes jobs one by one in the order they were accepted, so
//! [`ErpAdapter::max_batch`](erp_hub_core::ErpAdapter::max_batch) is 1 and
//! [`write_batch`](erp_hub_core::ErpAdapter::write_batch) is the trait's default: one job per write, in order,
//! each under its own key.
//!
//! Submitting many jobs before waiting for any would not be faster (the SDK thread is the bottleneck) and would
//! make a failure's effect on later writes (an invoice whose cliente failed) harder to report per element.
