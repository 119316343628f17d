//! Change data capture (`GET /cdc`) behind [`ErpAdapter::list_changed_since`](erp_hub_core::ErpAdapter).
//!
//! The cursor is `v1|<RFC 3339 time>|<entity:id:SyncToken,...>`: the latest `LastUpdatedTime` seen and the
//! changes already returned at exactly that second (QuickBooks timestamps have one-second precision and
//! `changedSince` is inclusive, so they come back and are dropped). Without a cursor the feed starts at the
//! CDC look-back limit (30 days). `has_more` is set when an entity hit the 1,000-object cap of one response.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use erp_hub_core::adapter::{Change, ChangeCursor, ChangePage};
use erp_hub_core::model::EntityKind;
use erp_hub_core::{Error, Result};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::client::QuickBooksClient;
use crate::mapping::{note_ref, parse_time, remote_ref};
use crate::wire::Identity;

/// Objects per entity in one CDC response.
pub const CDC_MAX_OBJECTS: usize = 1000;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "CDCResponse", default)]
    cdc: Vec<CdcItem>,
}

#[derive(Deserialize)]
struct CdcItem {
    #[serde(rename = "QueryResponse", default)]
    query: Vec<HashMap<String, Box<RawValue>>>,
}

fn entity_name(kind: EntityKind) -> Option<&'static str> {
    Some(match kind {
        EntityKind::Customer => "Customer",
        EntityKind::Item => "Item",
        EntityKind::Invoice => "Invoice",
        EntityKind::Payment => "Payment",
        EntityKind::CreditNote => "CreditMemo",
        _ => return None,
    })
}

fn kind_of(name: &str) -> Option<EntityKind> {
    Some(match name {
        "Customer" => EntityKind::Customer,
        "Item" => EntityKind::Item,
        "Invoice" => EntityKind::Invoice,
        "Payment" => EntityKind::Payment,
        "CreditMemo" => EntityKind::CreditNote,
        _ => return None,
    })
}

struct Cursor {
    at: DateTime<Utc>,
    seen: BTreeSet<String>,
}

impl Cursor {
    fn parse(c: &ChangeCursor) -> Result<Self> {
        let mut parts = c.0.splitn(3, '|');
        let (Some("v1"), Some(at), seen) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::invalid("cursor", "not a QuickBooks change cursor"));
        };
        let at = parse_time(at).ok_or_else(|| Error::invalid("cursor", "bad time"))?;
        let seen = seen
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self { at, seen })
    }

    fn encode(&self) -> ChangeCursor {
        let seen: Vec<&str> = self.seen.iter().map(String::as_str).collect();
        ChangeCursor(format!(
            "v1|{}|{}",
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            seen.join(",")
        ))
    }
}

/// One page of the change feed.
pub(crate) async fn changed_since(
    client: &QuickBooksClient,
    kinds: &[EntityKind],
    cursor: Option<&ChangeCursor>,
) -> Result<ChangePage> {
    let mut names: Vec<&str> = kinds.iter().filter_map(|k| entity_name(*k)).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Err(Error::invalid(
            "kinds",
            "no entity kind QuickBooks can report",
        ));
    }
    let cur = match cursor {
        Some(c) => Cursor::parse(c)?,
        None => Cursor {
            at: Utc::now() - Duration::days(30) + Duration::minutes(5),
            seen: BTreeSet::new(),
        },
    };
    // `2026-01-14T08:00:00+00:00`, the offset form of Intuit's examples.
    let since = cur.at.to_rfc3339_opts(SecondsFormat::Secs, false);
    let resp = client.cdc(&names, &since).await?;
    let env: Envelope = serde_json::from_slice(resp.body())
        .map_err(|e| Error::transient(format!("unexpected CDC response: {e}")))?;
    let mut rows: Vec<(DateTime<Utc>, String, Change)> = Vec::new();
    let mut has_more = false;
    for item in env.cdc {
        for qr in item.query {
            for (name, raw) in qr {
                let Some(kind) = kind_of(&name) else { continue };
                let list: Vec<Identity> = serde_json::from_str(raw.get())
                    .map_err(|e| Error::transient(format!("unexpected CDC {name}: {e}")))?;
                has_more |= list.len() >= CDC_MAX_OBJECTS;
                for r in list {
                    let at = r
                        .meta_data
                        .as_ref()
                        .and_then(|m| m.last_updated_time.as_deref())
                        .and_then(parse_time)
                        .unwrap_or(cur.at);
                    let seen_key =
                        format!("{name}:{}:{}", r.id, r.sync_token.as_deref().unwrap_or(""));
                    let mut change = Change::new(
                        kind,
                        remote_ref(
                            &r.id,
                            r.sync_token.as_ref(),
                            r.doc_number.as_ref(),
                            r.meta_data.as_ref(),
                        ),
                    );
                    change.deleted = r.status.as_deref() == Some("Deleted");
                    change.changed_at = Some(at);
                    change.external_ref = match kind {
                        EntityKind::Customer => r.notes.as_deref().and_then(note_ref),
                        _ => r.private_note.as_deref().and_then(note_ref),
                    };
                    rows.push((at, seen_key, change));
                }
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut next = Cursor {
        at: cur.at,
        seen: cur.seen.clone(),
    };
    let mut changes = Vec::with_capacity(rows.len());
    for (at, key, change) in rows {
        if at < cur.at || (at == cur.at && cur.seen.contains(&key)) {
            continue;
        }
        if at > next.at {
            next.at = at;
            next.seen.clear();
        }
        if at == next.at {
            next.seen.insert(key);
        }
        changes.push(change);
    }
    Ok(ChangePage::new(changes, next.encode(), has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = Cursor {
            at: parse_time("2026-01-15T10:00:00-08:00").unwrap(),
            seen: ["Customer:1:0".to_owned()].into_iter().collect(),
        };
        let enc = c.encode();
        assert_eq!(enc.0, "v1|2026-01-15T18:00:00Z|Customer:1:0");
        let back = Cursor::parse(&enc).unwrap();
        assert_eq!(back.at, c.at);
        assert_eq!(back.seen, c.seen);
        assert!(Cursor::parse(&ChangeCursor("x".into())).is_err());
    }
}
