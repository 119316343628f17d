//! The change feed behind `list_changed_since`, and the scan that finds records by external reference.
//!
//! Alegra documents no modified-since filter, so the feed is a **periodic scan ordered by id**: each list
//! endpoint is read with `order_field=id&order_direction=ASC&start=…&limit=…&metadata=true`, and a record is new
//! when its id is above the last id seen (Alegra's ids are increasing integers). The feed therefore reports
//! **creations**; edits and voids of existing records come through webhooks (`edit-invoice`, `void-invoice`, …,
//! see [`webhook`](crate::webhook)) or a re-read with `get`.
//!
//! ## Cursor format
//!
//! `alegra:v1` followed by one `;<kind>=<last_id>@<offset>` per entity kind read so far, e.g.
//! `alegra:v1;customer=42@40;invoice=17@17`: the highest id seen and how many records (in id order) precede the
//! next page. Each call reads one page per requested kind, starting one record **before** the offset; when that
//! record is not `last_id` (records were deleted, so offsets shifted) the kind is re-read from the start, still
//! reporting only ids above `last_id`. A cursor from another provider or version is a
//! [`Validation`](erp_hub_core::Error::Validation) error.

use std::collections::BTreeMap;

use erp_hub_core::adapter::{Change, ChangeCursor, ChangePage};
use erp_hub_core::model::{EntityKind, RemoteRef};
use erp_hub_core::{Error, Result};
use serde_json::Value;

use crate::client::AlegraClient;
use crate::mapping::{PROVIDER, ref_from_observations};

const PREFIX: &str = "alegra:v1";

/// The list endpoint of a kind.
pub(crate) fn path_of(kind: EntityKind) -> Result<&'static str> {
    Ok(match kind {
        EntityKind::Customer => "/contacts",
        EntityKind::Item => "/items",
        EntityKind::Invoice => "/invoices",
        EntityKind::Payment => "/payments",
        EntityKind::CreditNote => "/credit-notes",
        other => {
            return Err(Error::unsupported(format!(
                "Alegra has no {other} endpoint"
            )));
        }
    })
}

/// Where one kind's scan stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) last_id: u64,
    pub(crate) offset: u64,
}

/// One record of a list page, as far as the scans need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) num: u64,
    pub(crate) external_ref: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) deleted: bool,
}

fn row_of(kind: EntityKind, v: &Value) -> Option<Row> {
    let id = match v.get("id")? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let external_ref = if kind == EntityKind::Item {
        v.get("reference")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
    } else {
        ref_from_observations(v.get("observations").and_then(Value::as_str))
    };
    let status = v.get("status").and_then(Value::as_str).unwrap_or("");
    Some(Row {
        num: id.parse().unwrap_or(0),
        id,
        external_ref,
        name: v.get("name").and_then(Value::as_str).map(str::to_owned),
        deleted: matches!(status, "void" | "deleted"),
    })
}

/// Reads the next page of `kind` after `pos`. Returns the rows with an id above `pos.last_id`, the new
/// position, and whether the page was full (more may follow).
pub(crate) async fn scan_page(
    client: &AlegraClient,
    kind: EntityKind,
    pos: Position,
) -> Result<(Vec<Row>, Position, bool)> {
    let path = path_of(kind)?;
    let start = pos.offset.saturating_sub(1);
    let page = client
        .page::<Value>(path, kind.as_str(), start, true, &[])
        .await?;
    let rows: Vec<Row> = page.data.iter().filter_map(|v| row_of(kind, v)).collect();
    if pos.offset > 0 && rows.first().map(|r| r.num) != Some(pos.last_id) {
        // Records before the offset were deleted (or the anchor itself): read this kind again from the start.
        tracing::debug!(kind = %kind, "Alegra scan anchor moved; rescanning from the start");
        return Ok((
            Vec::new(),
            Position {
                last_id: pos.last_id,
                offset: 0,
            },
            true,
        ));
    }
    let full = u64::try_from(page.data.len()).unwrap_or(u64::MAX) >= client.page_size();
    let mut next = pos;
    next.offset = start + u64::try_from(page.data.len()).unwrap_or(0);
    let mut fresh = Vec::new();
    for r in rows {
        next.last_id = next.last_id.max(r.num);
        if r.num > pos.last_id {
            fresh.push(r);
        }
    }
    Ok((fresh, next, full))
}

pub(crate) fn parse_cursor(
    cursor: Option<&ChangeCursor>,
) -> Result<BTreeMap<EntityKind, Position>> {
    let mut out = BTreeMap::new();
    let Some(c) = cursor else {
        return Ok(out);
    };
    let bad = || Error::invalid("cursor", format!("not an Alegra change cursor: {:?}", c.0));
    let mut parts = c.0.split(';');
    if parts.next() != Some(PREFIX) {
        return Err(bad());
    }
    for part in parts.filter(|p| !p.is_empty()) {
        let (kind, pos) = part.split_once('=').ok_or_else(bad)?;
        let (last, offset) = pos.split_once('@').ok_or_else(bad)?;
        let kind = EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(bad)?;
        out.insert(
            kind,
            Position {
                last_id: last.parse().map_err(|_| bad())?,
                offset: offset.parse().map_err(|_| bad())?,
            },
        );
    }
    Ok(out)
}

pub(crate) fn format_cursor(positions: &BTreeMap<EntityKind, Position>) -> ChangeCursor {
    let mut s = PREFIX.to_owned();
    for (k, p) in positions {
        s.push_str(&format!(";{}={}@{}", k.as_str(), p.last_id, p.offset));
    }
    ChangeCursor(s)
}

/// One page of the feed: one list page per requested kind.
pub(crate) async fn list_changed_since(
    client: &AlegraClient,
    kinds: &[EntityKind],
    cursor: Option<&ChangeCursor>,
) -> Result<ChangePage> {
    let mut positions = parse_cursor(cursor)?;
    let mut changes = Vec::new();
    let mut has_more = false;
    for &kind in kinds {
        let pos = positions.get(&kind).copied().unwrap_or_default();
        let (rows, next, full) = scan_page(client, kind, pos).await?;
        has_more |= full;
        positions.insert(kind, next);
        for r in rows {
            let mut c = Change::new(kind, RemoteRef::new(PROVIDER, r.id));
            c.external_ref = r.external_ref;
            c.deleted = r.deleted;
            changes.push(c);
        }
    }
    Ok(ChangePage::new(
        changes,
        format_cursor(&positions),
        has_more,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_rejects_foreign_cursors() {
        let mut m = BTreeMap::new();
        m.insert(
            EntityKind::Customer,
            Position {
                last_id: 42,
                offset: 40,
            },
        );
        m.insert(
            EntityKind::Invoice,
            Position {
                last_id: 17,
                offset: 17,
            },
        );
        let c = format_cursor(&m);
        assert_eq!(c.0, "alegra:v1;customer=42@40;invoice=17@17");
        assert_eq!(parse_cursor(Some(&c)).unwrap(), m);
        for bad in [
            "xero:1",
            "alegra:v1;customer=x@1",
            "alegra:v1;planet=1@1",
            "alegra:v1;customer",
        ] {
            assert!(
                parse_cursor(Some(&ChangeCursor(bad.into()))).is_err(),
                "{bad}"
            );
        }
    }
}
