//! `POST /batch`: up to 30 operations per request, each answered (or faulted) by its `bId`.
//!
//! Batch requests count against both the realm's 500 requests/min + 10 in flight and the separate
//! 120 batch requests/min limit (Intuit, 2025). Per-item faults arrive inside an HTTP 200 and are mapped
//! like single-request faults (see [`crate::error`]).

use std::collections::HashMap;

use erp_hub_core::{Error, Result};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;

use erp_hub_core::ErrorKind;
use erp_hub_core::adapter::{BatchWrite, ErpAdapter, IdempotencyKey, WriteOp, write_one};
use erp_hub_core::http::wire;
use erp_hub_core::model::{Customer, EntityKind, RemoteRef};

use crate::client::{QboResponse, QuickBooksClient, batch_request_id};
use crate::entities::QuickBooksAdapter;
use crate::error::Fault;
use crate::mapping::{self, remote_ref};
use crate::wire::CustomerResp;

/// Operations per batch request (Intuit's documented maximum; the XSD does not enforce it).
pub const MAX_BATCH_ITEMS: usize = 30;

/// One batch operation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BatchOp {
    /// `create` of `entity` (e.g. `Customer`) with a JSON body.
    Create {
        /// Entity name as in the XSD (`Customer`, `Invoice`, ...).
        entity: String,
        /// The entity body.
        body: Box<RawValue>,
    },
    /// `update` (full or sparse; the body carries `Id` and `SyncToken`).
    Update {
        /// Entity name.
        entity: String,
        /// The entity body.
        body: Box<RawValue>,
    },
    /// `delete` (the body carries `Id` and `SyncToken`).
    Delete {
        /// Entity name.
        entity: String,
        /// The entity body.
        body: Box<RawValue>,
    },
    /// A query.
    Query(String),
}

impl BatchOp {
    /// A `create` from any serialisable body (amounts as exact numbers when it uses [`crate::wire::Amount`]).
    ///
    /// # Errors
    /// [`Error::Validation`] when the body cannot be serialised.
    pub fn create<T: Serialize>(entity: impl Into<String>, body: &T) -> Result<Self> {
        Ok(Self::Create {
            entity: entity.into(),
            body: raw(body)?,
        })
    }

    /// An `update` from any serialisable body.
    ///
    /// # Errors
    /// [`Error::Validation`] when the body cannot be serialised.
    pub fn update<T: Serialize>(entity: impl Into<String>, body: &T) -> Result<Self> {
        Ok(Self::Update {
            entity: entity.into(),
            body: raw(body)?,
        })
    }
}

fn raw<T: Serialize>(body: &T) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(body).map_err(|e| Error::invalid("body", e.to_string()))
}

struct Item<'a> {
    bid: String,
    op: &'a BatchOp,
}

impl Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("bId", &self.bid)?;
        match self.op {
            BatchOp::Create { entity, body } => {
                m.serialize_entry("operation", "create")?;
                m.serialize_entry(entity, body)?;
            }
            BatchOp::Update { entity, body } => {
                m.serialize_entry("operation", "update")?;
                m.serialize_entry(entity, body)?;
            }
            BatchOp::Delete { entity, body } => {
                m.serialize_entry("operation", "delete")?;
                m.serialize_entry(entity, body)?;
            }
            BatchOp::Query(q) => m.serialize_entry("Query", q)?,
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Request<'a> {
    #[serde(rename = "BatchItemRequest")]
    items: Vec<Item<'a>>,
}

/// The outcome of one operation: the object under its entity name (or `QueryResponse`), or the mapped fault.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchResult {
    /// The operation's index in the input.
    pub index: usize,
    /// The `bId` sent.
    pub bid: String,
    /// The answer: entity name and its JSON (exact), or the error.
    pub result: Result<(String, Box<RawValue>)>,
}

/// Runs `ops` in requests of at most [`MAX_BATCH_ITEMS`]. Returns one result per operation, in input order.
///
/// With a `key`, each request carries `requestid` = [`batch_request_id`]`(key, "batch-<n>")`, so a lost
/// response can be retried; without one, a lost response is [`Error::Uncertain`] (a `429` is always retried).
/// Per-item faults do not fail the call.
///
/// # Errors
/// Errors of a whole request (auth, rate limit after retries, transport).
pub async fn execute(
    client: &QuickBooksClient,
    ops: &[BatchOp],
    key: Option<&IdempotencyKey>,
) -> Result<Vec<BatchResult>> {
    let mut out = Vec::with_capacity(ops.len());
    for (chunk_no, chunk) in ops.chunks(MAX_BATCH_ITEMS).enumerate() {
        let base = chunk_no * MAX_BATCH_ITEMS;
        let items: Vec<Item<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(i, op)| Item {
                bid: format!("b{}", base + i),
                op,
            })
            .collect();
        let bids: Vec<String> = items.iter().map(|i| i.bid.clone()).collect();
        let rid = key.map(|k| batch_request_id(k, &format!("batch-{chunk_no}")));
        let resp = client.batch_raw(&Request { items }, rid.as_deref()).await?;
        let mut answers = parse(&resp)?;
        for (i, bid) in bids.into_iter().enumerate() {
            let result = match answers.remove(&bid) {
                Some(a) => a,
                None => Err(Error::uncertain(format!(
                    "QuickBooks returned no answer for batch item {bid}"
                ))),
            };
            out.push(BatchResult {
                index: base + i,
                bid,
                result,
            });
        }
    }
    Ok(out)
}

type Answer = Result<(String, Box<RawValue>)>;

fn parse(resp: &QboResponse) -> Result<HashMap<String, Answer>> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "BatchItemResponse", default)]
        items: Vec<HashMap<String, Box<RawValue>>>,
    }
    let env: Envelope = serde_json::from_slice(resp.body())
        .map_err(|e| Error::uncertain(format!("unexpected batch response: {e}")))?;
    let mut out = HashMap::new();
    for mut item in env.items {
        let Some(bid) = item
            .remove("bId")
            .and_then(|b| serde_json::from_str::<String>(b.get()).ok())
        else {
            continue;
        };
        let answer = if let Some(f) = item.remove("Fault") {
            let fault: Fault = serde_json::from_str(f.get()).unwrap_or_default();
            Err(fault.to_error(200, None, false))
        } else {
            match item.into_iter().find(|(k, _)| k != "time") {
                Some(pair) => Ok(pair),
                None => Err(Error::uncertain(format!("empty batch answer for {bid}"))),
            }
        };
        out.insert(bid, answer);
    }
    Ok(out)
}

/// [`ErpAdapter::write_batch`](erp_hub_core::ErpAdapter::write_batch) for QuickBooks.
///
/// Only **new customers** (no `remote`) go through `/batch`, up to [`MAX_BATCH_ITEMS`] per request; every other
/// write is sent singly with [`write_one`] (its own `requestid`). Why: exactly-once must hold per element even
/// when the same element is later re-sent in another grouping, and QuickBooks can recognise an already-applied
/// write only where a unique field names it. A customer's `DisplayName` is unique (6240), and the adapter marks
/// its customers with the external reference in `Notes`, so an element re-sent in any batch or singly finds its
/// first record: a 6240 answer of an element is resolved by the single-record
/// [`upsert_customer`](erp_hub_core::ErpAdapter::upsert_customer) with the element's own key (ours → the same
/// record, updated; someone else's → `Duplicate`). Invoices (a `DocNumber` is unique only when the company
/// setting is on), payments and credit notes have no such field, so batching them could apply one twice.
///
/// Each batch request carries a `requestid` derived from all its elements' keys (`bId` = position), so a replay
/// of the same batch with the same keys gets QuickBooks' stored answer and writes nothing. A failure of the
/// whole request is reported on each of its elements.
pub(crate) async fn write_batch(
    qbo: &QuickBooksAdapter,
    writes: &[BatchWrite],
) -> Vec<Result<RemoteRef>> {
    let mut out: Vec<Option<Result<RemoteRef>>> = writes.iter().map(|_| None).collect();
    // New customers: their bodies, or a mapping error for the element.
    let mut batched: Vec<(usize, &Customer, BatchOp)> = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        if let WriteOp::UpsertCustomer(c) = &w.op
            && c.remote.is_none()
        {
            match mapping::customer_body(c, qbo.cfg()).and_then(|b| BatchOp::create("Customer", &b))
            {
                Ok(op) => batched.push((i, c, op)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
    }
    if batched.len() >= 2 {
        for chunk in batched.chunks(MAX_BATCH_ITEMS) {
            let ops: Vec<BatchOp> = chunk.iter().map(|(_, _, op)| op.clone()).collect();
            let sent = match wire::batch_key(chunk.iter().map(|(i, _, _)| &writes[*i].key)) {
                Ok(key) => execute(qbo.client(), &ops, Some(&key)).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(results) => {
                    for ((i, c, _), r) in chunk.iter().zip(results) {
                        out[*i] = Some(match r.result {
                            Ok((_, raw)) => customer_ref(qbo, c, &raw),
                            // Maybe ours from an earlier grouping or a single write: resolve it singly.
                            Err(e) if e.kind() == ErrorKind::Duplicate => {
                                qbo.upsert_customer(c, &writes[*i].key).await
                            }
                            Err(e) => Err(e),
                        });
                    }
                }
                Err(e) => {
                    for (i, _, _) in chunk {
                        out[*i] = Some(Err(e.replicate()));
                    }
                }
            }
        }
    }
    let mut results = Vec::with_capacity(writes.len());
    for (w, slot) in writes.iter().zip(out) {
        results.push(match slot {
            Some(r) => r,
            None => write_one(qbo, w).await,
        });
    }
    results
}

fn customer_ref(qbo: &QuickBooksAdapter, c: &Customer, raw: &RawValue) -> Result<RemoteRef> {
    let saved: CustomerResp = serde_json::from_str(raw.get())
        .map_err(|e| Error::uncertain(format!("unexpected batch answer for a customer: {e}")))?;
    qbo.remember(EntityKind::Customer, &c.external_ref, &saved.id);
    Ok(remote_ref(
        &saved.id,
        saved.sync_token.as_ref(),
        None,
        saved.meta_data.as_ref(),
    ))
}
