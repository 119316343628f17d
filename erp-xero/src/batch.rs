//! Batch writes: one request carrying an array, `summarizeErrors=false`, one result per element.
//!
//! Xero validates each element of a batch separately when `summarizeErrors=false`: the response is `200` with
//! every element, and rejected ones carry `HasValidationErrors: true` and their `ValidationErrors`. The adapter
//! turns that into one `Result` per input, in input order. Batches are split into chunks of
//! [`MAX_BATCH`] elements, each sent with its own derived `Idempotency-Key` (`key:b0`, `key:b1`, ...).

use erp_hub_core::adapter::IdempotencyKey;
use erp_hub_core::http::Method;
use erp_hub_core::model::{Customer, RemoteRef};
use erp_hub_core::{Error, Result};
use serde_json::Value;

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
            let mut elements = Vec::new();
            for (j, c) in chunk.iter().enumerate() {
                let i = offset + j;
                let id = c
                    .remote
                    .as_ref()
                    .map(|r| r.id.clone())
                    .or_else(|| id_of(&c.external_ref));
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
            let call = Call::write(
                Method::POST,
                "/Contacts",
                body,
                derive_key(key.as_str(), &format!("b{chunk_no}")),
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
                    let err = Error::Validation { errors };
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
