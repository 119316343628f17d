//! `list_changed_since` for Xero: `If-Modified-Since` + `page`.
//!
//! For each requested kind the cursor keeps a **timestamp** and a **page**. Each call asks for
//! `order=UpdatedDateUTC ASC&page=N&pageSize=100` with `If-Modified-Since` one millisecond before the timestamp,
//! then moves the timestamp to the newest `UpdatedDateUTC` it saw (keyset paging: a record updated while we page
//! moves to the end instead of shifting the pages under us), remembering the ids already delivered at exactly
//! that millisecond so each change is returned once whether Xero compares inclusively or exclusively. The page
//! number only moves past 1 when a whole page of records shares one millisecond. A full page means more may be
//! waiting (`has_more`). `GET /Items` has no paging: items come in one page.
//!
//! The cursor is a JSON string (`{"v":1,"kinds":{"customer":{"since":…,"page":…,"seen":[…]}}}`); treat it as
//! opaque and store it as is.
//!
//! | kind | endpoint | deleted when |
//! |---|---|---|
//! | customer | `/Contacts` | `ContactStatus` `ARCHIVED` |
//! | item | `/Items` | never reported |
//! | invoice | `/Invoices?where=Type=="ACCREC"` | `Status` `VOIDED` or `DELETED` |
//! | payment | `/Payments` | `Status` `DELETED` |
//! | credit note | `/CreditNotes?where=Type=="ACCRECCREDIT"` | `Status` `VOIDED` or `DELETED` |
//!
//! Payments made by a batch (a payment over several invoices) are reported once per batch, under the
//! `BatchPaymentID` that `record_payment` returned; see [`payments`](crate::entities::payments#change-feed).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use erp_hub_core::adapter::{Change, ChangeCursor, ChangePage};
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Call;
use crate::entities::XeroAdapter;
use crate::mapping::{self, str_of};

/// Records per page requested from Xero.
pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct KindState {
    /// `If-Modified-Since`, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<i64>,
    /// Page among the records modified at exactly `since` (1-based; above 1 only when more than a page of
    /// records share that millisecond).
    page: u32,
    /// Ids already delivered whose `UpdatedDateUTC` equals `since`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    v: u32,
    kinds: BTreeMap<String, KindState>,
}

struct Endpoint {
    path: &'static str,
    collection: &'static str,
    id: &'static str,
    number: Option<&'static str>,
    external: &'static str,
    filter: Option<&'static str>,
    paged: bool,
}

fn endpoint(kind: EntityKind) -> Result<Endpoint> {
    Ok(match kind {
        EntityKind::Customer => Endpoint {
            path: "/Contacts",
            collection: "Contacts",
            id: "ContactID",
            number: None,
            external: "ContactNumber",
            filter: None,
            paged: true,
        },
        EntityKind::Item => Endpoint {
            path: "/Items",
            collection: "Items",
            id: "ItemID",
            number: Some("Code"),
            external: "Code",
            filter: None,
            paged: false,
        },
        EntityKind::Invoice => Endpoint {
            path: "/Invoices",
            collection: "Invoices",
            id: "InvoiceID",
            number: Some("InvoiceNumber"),
            external: "Reference",
            filter: Some("Type==\"ACCREC\""),
            paged: true,
        },
        EntityKind::Payment => Endpoint {
            path: "/Payments",
            collection: "Payments",
            id: "PaymentID",
            number: None,
            external: "Reference",
            filter: None,
            paged: true,
        },
        EntityKind::CreditNote => Endpoint {
            path: "/CreditNotes",
            collection: "CreditNotes",
            id: "CreditNoteID",
            number: Some("CreditNoteNumber"),
            external: "Reference",
            filter: Some("Type==\"ACCRECCREDIT\""),
            paged: true,
        },
        other => return Err(Error::unsupported(format!("xero: changes of {other}"))),
    })
}

fn deleted(kind: EntityKind, v: &Value) -> bool {
    match kind {
        EntityKind::Customer => str_of(v, "ContactStatus") == Some("ARCHIVED"),
        EntityKind::Payment => str_of(v, "Status") == Some("DELETED"),
        EntityKind::Invoice | EntityKind::CreditNote => {
            matches!(str_of(v, "Status"), Some("VOIDED") | Some("DELETED"))
        }
        _ => false,
    }
}

fn parse_cursor(cursor: Option<&ChangeCursor>) -> Result<Cursor> {
    match cursor {
        None => Ok(Cursor {
            v: 1,
            kinds: BTreeMap::new(),
        }),
        Some(c) => {
            let parsed: Cursor = serde_json::from_str(&c.0)
                .map_err(|e| Error::invalid("cursor", format!("not a Xero change cursor: {e}")))?;
            if parsed.v != 1 {
                return Err(Error::invalid("cursor", "unknown Xero cursor version"));
            }
            Ok(parsed)
        }
    }
}

pub(crate) async fn list_changed_since(
    adapter: &XeroAdapter,
    kinds: &[EntityKind],
    cursor: Option<&ChangeCursor>,
) -> Result<ChangePage> {
    let mut cur = parse_cursor(cursor)?;
    let mut changes = Vec::new();
    let mut has_more = false;
    for &kind in kinds {
        let ep = endpoint(kind)?;
        let state = cur.kinds.entry(kind.as_str().to_owned()).or_default();
        if state.page == 0 {
            state.page = 1;
        }
        let mut call = Call::get(ep.path, "change feed", "").query("order", "UpdatedDateUTC ASC");
        if let Some(f) = ep.filter {
            call = call.query("where", f);
        }
        if ep.paged {
            call = call
                .query("page", state.page.to_string())
                .query("pageSize", PAGE_SIZE.to_string());
        }
        // One millisecond early: records at exactly `since` come back whether Xero's comparison is
        // inclusive or exclusive; the ones already delivered are skipped below.
        call.if_modified_since = state
            .since
            .and_then(|ms| Utc.timestamp_millis_opt(ms.saturating_sub(1)).single());
        let records = adapter.list(call, ep.collection).await?;
        let full = ep.paged && records.len() >= PAGE_SIZE;
        let mut page_max: Option<i64> = None;
        let mut at_max: Vec<String> = Vec::new();
        for r in &records {
            let Some(id) = crate::entities::payments::change_id(kind, r, ep.id) else {
                continue;
            };
            let at = mapping::updated(r);
            let ms = at.map_or(0, |u| u.timestamp_millis());
            match page_max {
                Some(m) if ms < m => {}
                Some(m) if ms == m => at_max.push(id.to_owned()),
                _ => {
                    page_max = Some(ms);
                    at_max = vec![id.to_owned()];
                }
            }
            if let Some(since) = state.since
                && (ms < since || (ms == since && state.seen.iter().any(|s| s == id)))
            {
                continue;
            }
            if state.since == Some(ms) && !state.seen.iter().any(|s| s == id) {
                state.seen.push(id.to_owned());
            }
            // The payments of one batch: one change, deleted only when all of them are.
            if let Some(earlier) = changes
                .iter_mut()
                .find(|c: &&mut Change| c.kind == kind && c.remote.id == id)
            {
                earlier.deleted &= deleted(kind, r);
                earlier.changed_at = earlier.changed_at.max(at);
                continue;
            }
            let mut remote = mapping::remote_ref(r, ep.id, ep.number)?;
            remote.id = id.to_owned();
            let mut change = Change::new(kind, remote);
            change.external_ref = str_of(r, ep.external)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            change.deleted = deleted(kind, r);
            change.changed_at = at;
            changes.push(change);
        }
        match page_max {
            // Progress: continue after the newest record (keyset), which survives records moving while we page.
            Some(m) if state.since.is_none_or(|s| m > s) => {
                // A first page entirely at `m` is what page 1 at `m` would return again: go on with page 2.
                let whole_page_at_m = full && at_max.len() == records.len() && state.page == 1;
                state.since = Some(m);
                state.seen = at_max;
                state.page = if whole_page_at_m { 2 } else { 1 };
            }
            // Nothing newer than `since`: every record on this page is at `since`. Move to the next page when
            // this one is full, otherwise stay on it (the earlier pages hold only records already delivered).
            _ => {
                state.page = if full {
                    state.page + 1
                } else if records.is_empty() {
                    1
                } else {
                    state.page
                };
            }
        }
        has_more |= full;
    }
    let next = serde_json::to_string(&cur).map_err(|e| Error::invalid("cursor", e.to_string()))?;
    Ok(ChangePage::new(changes, ChangeCursor(next), has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cursors_are_validation_errors() {
        let e = parse_cursor(Some(&ChangeCursor("nope".into()))).unwrap_err();
        assert_eq!(e.kind(), erp_hub_core::ErrorKind::Validation);
        let e = parse_cursor(Some(&ChangeCursor(r#"{"v":9,"kinds":{}}"#.into()))).unwrap_err();
        assert_eq!(e.kind(), erp_hub_core::ErrorKind::Validation);
    }
}
