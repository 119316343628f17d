//! The change feed behind `list_changed_since`: the bridge's `GET /v1/changes`.
//!
//! CONTPAQi has no notifications or modified-since queries. The agent keeps a sequence of what its jobs changed
//! and adds what it finds scanning `admClientes`, `admProductos` and `admDocumentos` by `CTIMESTAMP` (records
//! changed in the CONTPAQi UI). The [`ChangeCursor`] is the bridge's opaque `next` value, stored as is.
//! Documents are told apart by concepto: the configured factura, nota de crédito and pago conceptos map to
//! invoices, credit notes and payments; other conceptos are skipped.

use erp_hub_core::Result;
use erp_hub_core::adapter::{Change, ChangeCursor, ChangePage};
use erp_hub_core::model::{EntityKind, RemoteRef};

use crate::client::ContpaqiClient;
use crate::config::Conceptos;
use crate::entities::PROVIDER;
use crate::wire::{ChangeEntry, DocKey, Entidad};

/// Changes asked for per page.
pub const PAGE: u32 = 200;

/// The entity kind of a change entry, `None` for a concepto erp-hub does not write.
pub fn kind_of(e: &ChangeEntry, conceptos: &Conceptos) -> Option<EntityKind> {
    match e.entidad {
        Entidad::Cliente => Some(EntityKind::Customer),
        Entidad::Producto => Some(EntityKind::Item),
        Entidad::Documento => {
            let key = DocKey::parse(&e.id)?;
            if key.concepto == conceptos.factura {
                Some(EntityKind::Invoice)
            } else if key.concepto == conceptos.nota_credito {
                Some(EntityKind::CreditNote)
            } else if key.concepto == conceptos.pago {
                Some(EntityKind::Payment)
            } else {
                None
            }
        }
    }
}

/// One page of changes of `kinds` after `cursor`.
///
/// # Errors
/// The client's errors (`Validation` for a cursor the bridge rejects).
pub async fn list(
    client: &ContpaqiClient,
    kinds: &[EntityKind],
    cursor: Option<&ChangeCursor>,
) -> Result<ChangePage> {
    let feed = client.changes(cursor.map(|c| c.0.as_str()), PAGE).await?;
    let conceptos = &client.config().conceptos;
    let changes = feed
        .changes
        .iter()
        .filter_map(|e| {
            let kind = kind_of(e, conceptos)?;
            if !kinds.is_empty() && !kinds.contains(&kind) {
                return None;
            }
            let mut c = Change::new(kind, RemoteRef::new(PROVIDER, e.id.clone()));
            c.external_ref = e.referencia.clone();
            c.deleted = e.deleted;
            c.changed_at = e.at;
            Some(c)
        })
        .collect();
    Ok(ChangePage::new(
        changes,
        ChangeCursor(feed.next),
        feed.has_more,
    ))
}
