//! Batch writes: one request carrying an array, `summarizeErrors=false`, one result per element.
//!
//! Xero validates each element of a batch separately when `summarizeErrors=false`: the response is `200` with
//! every element, and rejected ones carry `HasValidationErrors: true` and their `ValidationErrors`. The adapter
//! turns that into one `Result` per input, in input order. Batches are split into chunks of
//! [`MAX_BATCH`] elements, each sent with its own derived `Idempotency-Key` (`key:b0`, `key:b1`, ...; a chunk that
//! updates contacts found existing adds a digest of their ids, `key:b0u1a2b3c…`).

use erp_hub_core::adapter::{BatchWrite, IdempotencyKey, WriteOp, write_one};
use erp_hub_core::http::{Method, wire};
use erp_hub_core::model::{Customer, RemoteRef};
use erp_hub_core::{Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::{Call, derive_key};
use crate::entities::{XeroAdapter, quote};
use crate::error::{element_errors, is_duplicate_name};
use crate::mapping::{self, str_of};

/// Elements per request (Xero recommends at most 50 per call for large documents).
pub const MAX_BATCH: usize = 50;

impl XeroAdapter {
    /// Creates or updates many customers (matched on `ContactNumber` = `external_ref`) with one
    /// `POST /Contacts?summarizeErrors=false` per [`MAX_BATCH`] customers.
    ///
    /// The outer `Result` fails only when a whole request failed (auth, transport, rate limit after retries);
    /// otherwise every customer has its own `Ok(RemoteRef)` or error: [`Error::Validation`] with field paths
    /// `Contacts[i]` (`i` = index in `customers`), or [`Error::Duplicate`] for a name already taken.
    ///
    /// # Errors
    /// See above.
    pub async fn batch_upsert_customers(
        &self,
        customers: &[Customer],
        key: &IdempotencyKey,
    ) -> Result<Vec<Result<RemoteRef>>> {
        let mut results: Vec<Option<Result<RemoteRef>>> = customers.iter().map(|_| None).collect();
        for (chunk_no, chunk) in customers.chunks(MAX_BATCH).enumerate() {
            let offset = chunk_no * MAX_BATCH;
            // Existing contacts of this chunk, in one lookup.
            let filter = chunk
                .iter()
                .filter(|c| !c.external_ref.is_empty())
                .map(|c| format!("ContactNumber=={}", quote(&c.external_ref)))
                .collect::<Vec<_>>()
                .join("||");
            let existing = if filter.is_empty() {
                Vec::new()
            } else {
                self.list(
                    Call::get("/Contacts", "customer", "").query("where", filter),
                    "Contacts",
                )
                .await?
            };
            let id_of = |number: &str| {
                existing
                    .iter()
                    .find(|v| str_of(v, "ContactNumber") == Some(number))
                    .and_then(|v| str_of(v, "ContactID"))
                    .map(str::to_owned)
            };
            let mut sent: Vec<(usize, String)> = Vec::new();
            // Contacts found existing make this request an update with another body: it gets its own key
            // (derived from those ids), as a single upsert's update does, so a replay of a batch whose
            // creates went through is not "the same key for a different request".
            let mut updated = Sha256::new();
            let mut elements = Vec::new();
            for (j, c) in chunk.iter().enumerate() {
                let i = offset + j;
                let id = c
                    .remote
                    .as_ref()
                    .map(|r| r.id.clone())
                    .or_else(|| id_of(&c.external_ref));
                if let Some(id) = &id {
                    updated.update(id.as_bytes());
                    updated.update(b"\n");
                }
                let prepared = mapping::contact_body(c, id).and_then(|b| {
                    let raw = mapping::with_passthrough(&b, &c.passthrough)?;
                    Ok((b.name, raw))
                });
                match prepared {
                    Ok((name, raw)) => {
                        sent.push((i, name));
                        elements.push(raw);
                    }
                    Err(e) => {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(Err(e));
                        }
                    }
                }
            }
            if elements.is_empty() {
                continue;
            }
            let body = mapping::envelope("Contacts", elements)?;
            let digest = updated.finalize();
            let suffix = if digest == Sha256::digest(b"") {
                format!("b{chunk_no}")
            } else {
                let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                format!("b{chunk_no}u{short}")
            };
            let call = Call::write(
                Method::POST,
                "/Contacts",
                body,
                derive_key(key.as_str(), &suffix),
                "customer",
            )
            .query("summarizeErrors", "false");
            let v: Value = self.call(call).await?.json()?;
            let returned = v
                .get("Contacts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if returned.len() != sent.len() {
                return Err(Error::uncertain(format!(
                    "Xero returned {} contacts for {} sent",
                    returned.len(),
                    sent.len()
                )));
            }
            for ((i, name), element) in sent.into_iter().zip(returned) {
                let failed = element.get("HasValidationErrors").and_then(Value::as_bool)
                    == Some(true)
                    || str_of(&element, "StatusAttributeString") == Some("ERROR");
                let outcome = if failed {
                    let errors = element_errors(&element, &format!("Contacts[{i}]"));
                    let err = Error::Validation {
                        errors,
                        source: None,
                    };
                    if is_duplicate_name(&err) {
                        let existing = self
                            .find_contact_by_name(&name)
                            .await
                            .ok()
                            .flatten()
                            .map(|c| c.contact_id);
                        Err(Error::Duplicate {
                            message: format!("a Xero contact named {name:?} already exists"),
                            existing_id: existing,
                        })
                    } else {
                        Err(err)
                    }
                } else {
                    mapping::remote_ref(&element, "ContactID", None)
                };
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(outcome);
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::uncertain("no result for this element"))))
            .collect())
    }
}

/// [`ErpAdapter::write_batch`](erp_hub_core::ErpAdapter::write_batch) for Xero.
///
/// Customer upserts go as arrays through [`XeroAdapter::batch_upsert_customers`] (`summarizeErrors=false`, one
/// result per element); every other write is sent singly with [`write_one`]. The request's `Idempotency-Key` is
/// derived from all its elements' keys ([`batch_key`](erp_hub_core::http::wire::batch_key)), so a replay of the
/// same batch gets Xero's stored answer; an element re-sent in another grouping is still matched on its
/// `ContactNumber` (= `external_ref`) and updated, never created twice. A failure of the whole request is
/// reported on each of its elements.
pub(crate) async fn write_batch(
    xero: &XeroAdapter,
    writes: &[BatchWrite],
) -> Vec<Result<RemoteRef>> {
    let mut out: Vec<Option<Result<RemoteRef>>> = writes.iter().map(|_| None).collect();
    let customers: Vec<(usize, &Customer)> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match &w.op {
            // A versioned update needs its own check (`Conflict` on a stale version): sent singly.
            WriteOp::UpsertCustomer(c) if c.remote.as_ref().is_none_or(|r| r.version.is_none()) => {
                Some((i, c))
            }
            _ => None,
        })
        .collect();
    if customers.len() >= 2 {
        let list: Vec<Customer> = customers.iter().map(|(_, c)| (*c).clone()).collect();
        let sent = match wire::batch_key(customers.iter().map(|(i, _)| &writes[*i].key)) {
            Ok(key) => xero.batch_upsert_customers(&list, &key).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(results) => {
                for ((i, _), r) in customers.iter().zip(results) {
                    out[*i] = Some(r);
                }
            }
            Err(e) => {
                for (i, _) in &customers {
                    out[*i] = Some(Err(e.replicate()));
                }
            }
        }
    }
    let mut results = Vec::with_capacity(writes.len());
    for (w, slot) in writes.iter().zip(out) {
        results.push(match slot {
            Some(r) => r,
            None => write_one(xero, w).await,
        });
    }
    results
}
