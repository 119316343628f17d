//! What the hub needs to know about a [`WriteOp`]: its reference, dependencies and key.

use crate::adapter::{IdempotencyKey, WriteOp};
use crate::model::{EntityKind, RemoteRef};
use crate::sync::{Fingerprint, derive_key};
use crate::{Error, Result};

use super::types::Scope;

/// Our external reference of the record `op` writes. A void is keyed `void:<remote id>`.
pub(crate) fn external_ref(op: &WriteOp) -> Result<String> {
    let r = match op {
        WriteOp::UpsertCustomer(c) => c.external_ref.clone(),
        WriteOp::UpsertItem(i) => i.external_ref.clone(),
        WriteOp::CreateInvoice(i) => i.external_ref.clone(),
        WriteOp::VoidInvoice(r) => format!("void:{}", r.id),
        WriteOp::RecordPayment(p) => p.external_ref.clone(),
        WriteOp::CreateCreditNote(c) => c.external_ref.clone(),
        WriteOp::AnswerReceived(a) => a.external_ref.clone(),
    };
    if r.is_empty() {
        return Err(Error::invalid("external_ref", "must not be empty"));
    }
    Ok(r)
}

/// Customers and items are upserted by external reference: re-sending changed content is safe. So is an
/// answer to a received document: it writes no ERP record (nothing to reconcile), and the fiscal step's
/// journal answers each document once, so changed content (a rejected *aceptado* corrected to *rechazado*)
/// is sent only while nothing was sent for that document.
pub(crate) fn is_upsert(op: &WriteOp) -> bool {
    matches!(
        op,
        WriteOp::UpsertCustomer(_) | WriteOp::UpsertItem(_) | WriteOp::AnswerReceived(_)
    )
}

/// Records `op` references (same scope), which must be done before it is sent.
pub(crate) fn dependencies(op: &WriteOp) -> Vec<(EntityKind, String)> {
    let mut deps = Vec::new();
    match op {
        WriteOp::CreateInvoice(i) => {
            deps.push((EntityKind::Customer, i.customer.external_ref.clone()));
            deps.extend(
                i.lines
                    .iter()
                    .filter_map(|l| l.item.clone())
                    .map(|i| (EntityKind::Item, i)),
            );
        }
        WriteOp::RecordPayment(p) => {
            deps.push((EntityKind::Customer, p.customer.external_ref.clone()));
            deps.extend(
                p.applications
                    .iter()
                    .map(|a| (EntityKind::Invoice, a.invoice.external_ref.clone())),
            );
        }
        WriteOp::CreateCreditNote(c) => {
            deps.push((EntityKind::Customer, c.customer.external_ref.clone()));
            deps.push((EntityKind::Invoice, c.invoice.external_ref.clone()));
        }
        _ => {}
    }
    deps.sort();
    deps.dedup();
    deps
}

/// Fills remote ids of references that lack them from `remote(kind, external_ref)`.
pub(crate) fn resolve(op: &mut WriteOp, remote: &dyn Fn(EntityKind, &str) -> Option<RemoteRef>) {
    let id = |k, r: &str| remote(k, r).map(|r| r.id);
    match op {
        WriteOp::CreateInvoice(i) if i.customer.remote_id.is_none() => {
            i.customer.remote_id = id(EntityKind::Customer, &i.customer.external_ref);
        }
        WriteOp::RecordPayment(p) => {
            if p.customer.remote_id.is_none() {
                p.customer.remote_id = id(EntityKind::Customer, &p.customer.external_ref);
            }
            for a in &mut p.applications {
                if a.invoice.remote_id.is_none() {
                    a.invoice.remote_id = id(EntityKind::Invoice, &a.invoice.external_ref);
                }
            }
        }
        WriteOp::CreateCreditNote(c) => {
            if c.customer.remote_id.is_none() {
                c.customer.remote_id = id(EntityKind::Customer, &c.customer.external_ref);
            }
            if c.invoice.remote_id.is_none() {
                c.invoice.remote_id = id(EntityKind::Invoice, &c.invoice.external_ref);
            }
        }
        _ => {}
    }
}

/// Everything a store keeps about a new record, computed once at enqueue.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) kind: EntityKind,
    pub(crate) external_ref: String,
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) op_json: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) deps: Vec<(EntityKind, String)>,
    pub(crate) upsert: bool,
}

impl Prepared {
    pub(crate) fn new(op: &WriteOp) -> Result<Self> {
        Ok(Self {
            kind: op.kind(),
            external_ref: external_ref(op)?,
            op_json: serde_json::to_string(op).map_err(|e| Error::invalid("op", e.to_string()))?,
            fingerprint: Fingerprint::of(op)?,
            deps: dependencies(op),
            upsert: is_upsert(op),
        })
    }

    /// The key of push number `generation` of this content.
    pub(crate) fn key(&self, scope: &Scope, generation: u32) -> Result<IdempotencyKey> {
        derive_key(
            &scope.to_string(),
            self.kind,
            &self.external_ref,
            &self.fingerprint,
            generation,
        )
    }
}

/// What enqueue does when a record with the same scope, kind and reference exists.
pub(crate) enum Existing {
    /// Same content: nothing to do.
    Unchanged,
    /// Changed customer/item, not in flight: new content, next generation's key, queued again.
    Requeue,
}

/// Decides what to do with an enqueue of `new` over an existing record.
///
/// # Errors
/// [`Error::Conflict`] for a changed invoice, payment or credit note (documents are created once) and for a
/// changed customer, item or answer to a received document whose earlier content may be in flight (claimed,
/// or queued after an attempt).
pub(crate) fn on_existing(
    new: &Prepared,
    fingerprint: &str,
    state: super::RecordState,
    attempts: u32,
) -> Result<Existing> {
    if fingerprint == new.fingerprint.to_string() {
        return Ok(Existing::Unchanged);
    }
    let what = format!("{} `{}`", new.kind, new.external_ref);
    if !new.upsert {
        return Err(Error::conflict(format!(
            "hub: {what} changed after it was enqueued; documents are created once: void or credit it and \
             enqueue the correction under a new external reference"
        )));
    }
    use super::RecordState::*;
    match state {
        Done | Dead => Ok(Existing::Requeue),
        Queued if attempts == 0 => Ok(Existing::Requeue),
        _ => Err(Error::conflict(format!(
            "hub: {what} changed while its earlier content may be in flight; enqueue it again once it is done \
             or dead"
        ))),
    }
}
