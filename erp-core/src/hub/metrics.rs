//! Metric names and labels the hub emits through the [`metrics`] facade.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `erp_hub_records_total` | counter | `provider`, `tenant`, `outcome` (`done`, `reconciled`, `retry`, `wait`, `dead`) | attempts by outcome |
//! | `erp_hub_errors_total` | counter | `provider`, `operation`, `error_kind` | records the adapter answered with an error (one per record) |
//! | `erp_hub_request_seconds` | histogram | `provider`, `operation` | duration of the provider call that carried each record: one sample per record sent, under its own operation (`create_invoice`, …), so a batch of *n* gives *n* samples of its duration |
//! | `erp_hub_queue_depth` | gauge | `tenant`, `connection`, `state` (`queued`, `blocked`, `claimed`) | backlog |
//! | `erp_hub_dead_letters` | gauge | `tenant`, `connection` | dead letters |
//! | `erp_hub_oldest_pending_seconds` | gauge | `tenant`, `connection` | age of the oldest queued or claimed record |
//! | `erp_hub_lease_lost_total` | counter | – | completions refused because the lease had expired |
//! | `erp_hub_store_errors_total` | counter | `error_kind` | store errors the workers survived |
//!
//! The three gauges are read from the store ([`HubStore::status`](super::HubStore::status)) and published every
//! [`HubConfig::heartbeat`](super::HubConfig::heartbeat) while a hub runs ([`Hub::start`](super::Hub::start)),
//! at its shutdown, on every poll of [`Hub::run_until_settled`](super::Hub::run_until_settled), and on
//! [`Hub::publish_status`](super::Hub::publish_status). They describe the whole store, so every process of a
//! shared PostgreSQL publishes the same values: aggregate them with `max`, not `sum`.
//!
//! Success rate = `done + reconciled` over all final outcomes; error rate = `errors_total` over records sent
//! (`request_seconds_count`: both count records, per provider and operation, batched or not); p95 latency of a
//! record's write call from the histogram. Reconciliation lookups are not sends and are not sampled.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::types::{Scope, ScopeStatus, Verdict};
use crate::ErrorKind;

pub(crate) fn completion(provider: &'static str, scope: &Scope, verdict: &Verdict) {
    let outcome = match verdict {
        Verdict::Done(_) => "done",
        Verdict::Reconciled(_) => "reconciled",
        Verdict::Retry { .. } => "retry",
        Verdict::Wait { .. } => "wait",
        Verdict::Dead { .. } => "dead",
    };
    metrics::counter!("erp_hub_records_total", "provider" => provider, "tenant" => scope.tenant.clone(), "outcome" => outcome)
        .increment(1);
}

pub(crate) fn error(provider: &'static str, operation: &'static str, kind: ErrorKind) {
    metrics::counter!("erp_hub_errors_total", "provider" => provider, "operation" => operation, "error_kind" => super::types::error_kind_str(kind))
        .increment(1);
}

pub(crate) fn latency(provider: &'static str, operation: &'static str, d: Duration) {
    metrics::histogram!("erp_hub_request_seconds", "provider" => provider, "operation" => operation)
        .record(d.as_secs_f64()); // float-ok: a latency in seconds for the histogram
}

pub(crate) fn lease_lost() {
    metrics::counter!("erp_hub_lease_lost_total").increment(1);
}

pub(crate) fn store_error(e: &crate::Error) {
    metrics::counter!("erp_hub_store_errors_total", "error_kind" => super::types::error_kind_str(e.kind()))
        .increment(1);
}

// float-ok: record counts as metrics gauges (f64 by the facade's design), not money; counts stay far below 2^52
#[allow(clippy::cast_precision_loss)]
pub(crate) fn queue(s: &ScopeStatus, now: DateTime<Utc>) {
    let t = s.scope.tenant.clone();
    let c = s.scope.connection.clone();
    for (state, n) in [
        ("queued", s.queued),
        ("blocked", s.blocked),
        ("claimed", s.claimed),
    ] {
        metrics::gauge!("erp_hub_queue_depth", "tenant" => t.clone(), "connection" => c.clone(), "state" => state)
            .set(n as f64); // float-ok: a count as a gauge
    }
    metrics::gauge!("erp_hub_dead_letters", "tenant" => t.clone(), "connection" => c.clone())
        .set(s.dead as f64); // float-ok: a count as a gauge
    let age = s
        .oldest_pending
        .and_then(|o| (now - o).to_std().ok())
        .map_or(0.0, |d| d.as_secs_f64()); // float-ok: an age in seconds
    metrics::gauge!("erp_hub_oldest_pending_seconds", "tenant" => t, "connection" => c).set(age);
}
