//! [`HubDriven`]: the [`conformance`](super::conformance) suite with the sync hub in front of the adapter
//! (features `testing` + `hub`).

use std::sync::Arc;
use std::time::Duration;

use crate::adapter::{
    Capabilities, ChangeCursor, ChangePage, CompanyInfo, ErpAdapter, IdempotencyKey, RemoteRecord,
    WriteOp,
};
use crate::hub::{
    AttemptError, Enqueued, Hub, HubConfig, HubStore, MemoryStore, RecordState, Scope,
};
use crate::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};
use crate::testing::conformance::{self, Context, FaultHook, Outcome};
use crate::{Error, ErrorKind, FieldError, Result};

/// An [`ErpAdapter`] whose writes go through a [`Hub`]: each write is enqueued for one scope, the hub's workers
/// drain the queue into the wrapped adapter (claims, dependency order, retries with backoff, batching through
/// [`write_batch`](ErpAdapter::write_batch), the sync log), and the call returns the record's outcome from the
/// store: its remote for a done record, its last error for a dead letter. Reads go straight to the adapter.
///
/// The caller's idempotency key is not used: the hub derives and keeps its own. Writing the same content again
/// is therefore answered from the sync log (the hub sends nothing twice); writing it again after it was
/// dead-lettered requeues it, as an operator would.
pub struct HubDriven {
    hub: Hub,
    scope: Scope,
    adapter: Arc<dyn ErpAdapter>,
}

impl std::fmt::Debug for HubDriven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubDriven")
            .field("scope", &self.scope)
            .field("provider", &self.adapter.provider())
            .finish_non_exhaustive()
    }
}

impl HubDriven {
    /// `adapter` behind a hub on a [`MemoryStore`], with short backoffs (10 ms base, 6 attempts).
    pub fn new(adapter: Arc<dyn ErpAdapter>) -> Self {
        Self::with_store(adapter, Arc::new(MemoryStore::new()))
    }

    /// `adapter` behind a hub on `store`, with short backoffs (10 ms base, 6 attempts).
    pub fn with_store(adapter: Arc<dyn ErpAdapter>, store: Arc<dyn HubStore>) -> Self {
        let config = HubConfig::default()
            .with_workers(2)
            .with_max_attempts(6)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(200))
            .with_poll(Duration::from_millis(5))
            .with_name("conformance");
        let hub = Hub::new(store, config);
        let scope = Scope::new("conformance", format!("{}:1", adapter.provider()));
        hub.register(scope.clone(), Arc::clone(&adapter));
        Self {
            hub,
            scope,
            adapter,
        }
    }

    /// The hub (its store holds the sync log of every write).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The scope the writes are enqueued for.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn write(&self, op: WriteOp) -> Result<RemoteRef> {
        let store = self.hub.store();
        let enqueued = self.hub.enqueue(&self.scope, vec![op]).await?;
        let Some(first) = enqueued.first().copied() else {
            return Err(Error::uncertain("hub: enqueue returned no record"));
        };
        let id = first.id();
        if matches!(first, Enqueued::Unchanged(_))
            && store
                .record(id)
                .await?
                .is_some_and(|r| r.state == RecordState::Dead)
        {
            store.requeue(id).await?;
        }
        self.hub.run_until_settled().await?;
        let log = store
            .record(id)
            .await?
            .ok_or_else(|| Error::uncertain(format!("hub: record {id} vanished from the store")))?;
        match log.state {
            RecordState::Done => log.remote.ok_or_else(|| {
                Error::uncertain(format!("hub: record {id} is done without a remote"))
            }),
            RecordState::Dead => Err(match &log.last_error {
                Some(e) => error_of(e),
                None => Error::uncertain(format!("hub: record {id} is dead without an error")),
            }),
            state => Err(Error::uncertain(format!(
                "hub: record {id} settled as {} (waiting on a dead dependency)",
                state.as_str()
            ))),
        }
    }
}

/// The error a dead letter stands for, rebuilt from the sync log (kind and message; a duplicate's existing id
/// is read back from its message).
fn error_of(e: &AttemptError) -> Error {
    let m = e.message.clone();
    match e.kind {
        ErrorKind::Auth => Error::auth(m),
        ErrorKind::RateLimited => Error::RateLimited { retry_after: None },
        ErrorKind::Conflict => Error::conflict(m),
        ErrorKind::Duplicate => Error::Duplicate {
            existing_id: m
                .rsplit_once(" (existing id ")
                .and_then(|(_, id)| id.strip_suffix(')'))
                .map(str::to_owned),
            message: m,
        },
        ErrorKind::Validation => Error::validation(vec![FieldError::new("hub", m)]),
        ErrorKind::NotFound => Error::not_found("record", m),
        ErrorKind::Transient => Error::transient(m),
        ErrorKind::Unsupported => Error::unsupported(m),
        ErrorKind::Config => Error::config(m),
        _ => Error::uncertain(m),
    }
}

#[async_trait::async_trait]
impl ErpAdapter for HubDriven {
    fn provider(&self) -> &'static str {
        self.adapter.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.adapter.capabilities()
    }

    async fn test_connection(&self) -> Result<CompanyInfo> {
        self.adapter.test_connection().await
    }

    async fn upsert_customer(&self, customer: &Customer, _: &IdempotencyKey) -> Result<RemoteRef> {
        self.write(WriteOp::UpsertCustomer(customer.clone())).await
    }

    async fn upsert_item(&self, item: &Item, _: &IdempotencyKey) -> Result<RemoteRef> {
        self.write(WriteOp::UpsertItem(item.clone())).await
    }

    async fn create_invoice(&self, invoice: &Invoice, _: &IdempotencyKey) -> Result<RemoteRef> {
        self.write(WriteOp::CreateInvoice(invoice.clone())).await
    }

    async fn void_invoice(&self, invoice: &RemoteRef, _: &IdempotencyKey) -> Result<RemoteRef> {
        self.write(WriteOp::VoidInvoice(invoice.clone())).await
    }

    async fn record_payment(&self, payment: &Payment, _: &IdempotencyKey) -> Result<RemoteRef> {
        self.write(WriteOp::RecordPayment(payment.clone())).await
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        _: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.write(WriteOp::CreateCreditNote(credit_note.clone()))
            .await
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        self.adapter.get(kind, remote_id).await
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.adapter.list_changed_since(kinds, cursor).await
    }
}

/// Runs every [`conformance`] scenario with the writes going through a hub ([`HubDriven`] on a
/// [`MemoryStore`]) in front of `adapter`, then checks the hub's sync log: nothing left queued or claimed,
/// and every record has an attempt history (scenario `hub_sync_log`). One line per adapter crate (the adapter,
/// and the mock that provokes its faults):
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use erp_hub_core::testing::conformance::Context;
/// use erp_hub_core::testing::{MemoryErp, run_all_via_hub};
///
/// let erp = Arc::new(MemoryErp::new());
/// let results = run_all_via_hub(erp.clone(), &Context::new("doc"), erp.as_ref()).await;
/// assert!(results.iter().all(|(_, outcome)| outcome.is_ok()));
/// # });
/// ```
pub async fn run_all_via_hub(
    adapter: Arc<dyn ErpAdapter>,
    ctx: &Context,
    faults: &dyn FaultHook,
) -> Vec<(&'static str, Outcome)> {
    let driven = HubDriven::new(adapter);
    let mut results = conformance::run_all(&driven, ctx, faults).await;
    results.push(("hub_sync_log", sync_log_complete(&driven).await));
    results
}

async fn sync_log_complete(driven: &HubDriven) -> Outcome {
    let violated = |message: String| conformance::Failure::Violated {
        step: "hub sync log",
        message,
    };
    let store = driven.hub().store();
    let records = store
        .records(&crate::hub::RecordFilter::default())
        .await
        .map_err(|source| conformance::Failure::Unexpected {
            step: "hub sync log",
            source,
        })?;
    if records.is_empty() {
        return Err(violated("no record went through the hub".into()));
    }
    for r in &records {
        if !matches!(r.state, RecordState::Done | RecordState::Dead) {
            return Err(violated(format!(
                "{} `{}` is {}",
                r.kind,
                r.external_ref,
                r.state.as_str()
            )));
        }
        let log = store
            .record(r.id)
            .await
            .map_err(|source| conformance::Failure::Unexpected {
                step: "hub sync log",
                source,
            })?;
        if log.is_none_or(|l| l.history.is_empty()) {
            return Err(violated(format!(
                "{} `{}` has no attempt history",
                r.kind, r.external_ref
            )));
        }
    }
    Ok(())
}
