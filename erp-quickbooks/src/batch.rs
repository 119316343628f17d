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

use erp_hub_core::adapter::IdempotencyKey;

use crate::client::{QboResponse, QuickBooksClient, batch_request_id};
use crate::error::Fault;

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
