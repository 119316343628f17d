//! The sync journal serializes with serde, so a durable store can keep it as JSON: a pending push written
//! by one process is finished by the next one with the same idempotency key, and nothing is duplicated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, PartyRef};
use erp_hub_core::money::Currency;
use erp_hub_core::sync::{
    EntryState, InMemorySyncStore, JournalEntry, JournalKey, Outcome, SyncBatch, SyncEngine,
    SyncStore,
};
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, ErrorKind, Result};
use rust_decimal_macros::dec;

const SCOPE: &str = "memory:serde";

/// A store that keeps nothing but JSON text, as a database column would.
#[derive(Default)]
struct JsonStore {
    rows: Mutex<BTreeMap<String, String>>,
}

impl JsonStore {
    fn from_rows(rows: BTreeMap<String, String>) -> Self {
        Self {
            rows: Mutex::new(rows),
        }
    }

    fn rows(&self) -> BTreeMap<String, String> {
        self.rows.lock().expect("rows").clone()
    }
}

fn json_err(e: serde_json::Error) -> Error {
    Error::config(format!("journal JSON: {e}"))
}

#[async_trait]
impl SyncStore for JsonStore {
    async fn load(&self, key: &JournalKey) -> Result<Option<JournalEntry>> {
        let k = serde_json::to_string(key).map_err(json_err)?;
        let row = self.rows.lock().expect("rows").get(&k).cloned();
        row.map(|text| serde_json::from_str(&text).map_err(json_err))
            .transpose()
    }

    async fn save(&self, entry: &JournalEntry) -> Result<()> {
        let k = serde_json::to_string(&entry.key).map_err(json_err)?;
        let v = serde_json::to_string(entry).map_err(json_err)?;
        self.rows.lock().expect("rows").insert(k, v);
        Ok(())
    }
}

fn invoice() -> Invoice {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
    Invoice::new("inv-1", PartyRef::external("c-1"), date, Currency::MXN)
        .with_line(InvoiceLine::new("Consultoría", dec!(2), dec!(450)))
}

#[tokio::test]
async fn a_pending_push_stored_as_json_is_finished_by_the_next_process_with_the_same_key() {
    let erp = Arc::new(MemoryErp::new());
    let customer_only = SyncBatch::new().with_customer(Customer::new("c-1", "Acme SA de CV"));
    let full = customer_only.clone().with_invoice(invoice());

    // Process 1: the customer is pushed; the invoice is applied but its response is lost.
    let rows = {
        let store = Arc::new(JsonStore::default());
        let engine = SyncEngine::new(erp.clone(), store.clone(), SCOPE).with_max_sends(1);
        engine.push(&customer_only).await.expect("customer");
        erp.inject(1, Fault::ApplyThenTimeout);
        let report = engine.push(&full).await.expect("invoice");
        let outcome = &report
            .get(EntityKind::Invoice, "inv-1")
            .expect("inv")
            .outcome;
        assert!(
            matches!(
                outcome,
                Outcome::Pending {
                    kind: ErrorKind::Uncertain,
                    ..
                }
            ),
            "{outcome:?}"
        );
        store.rows()
    };
    assert_eq!(erp.count(EntityKind::Invoice), 1, "applied once");
    let pending_json = rows
        .values()
        .find(|v| v.contains("\"inv-1\""))
        .expect("invoice row");
    let v: serde_json::Value = serde_json::from_str(pending_json).expect("json");
    assert_eq!(v["state"]["state"], "pending", "{v}");
    let fp = v["fingerprint"].as_str().expect("fingerprint is a string");
    assert_eq!(fp.len(), 64);
    assert!(
        fp.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let key = v["idempotency_key"].as_str().expect("key").to_owned();

    // Process 2: a new store read back from the JSON rows, a new engine.
    let store = Arc::new(JsonStore::from_rows(rows));
    let engine = SyncEngine::new(erp.clone(), store.clone(), SCOPE);
    let report = engine.push(&full).await.expect("rerun");
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(erp.count(EntityKind::Invoice), 1, "no second invoice");
    assert_eq!(erp.count(EntityKind::Customer), 1);
    let done = store
        .load(&JournalKey::new(SCOPE, EntityKind::Invoice, "inv-1"))
        .await
        .expect("load")
        .expect("entry");
    assert!(done.is_done(), "{done:?}");
    assert_eq!(done.idempotency_key.as_str(), key);
    // The entry was read back, not re-created: one attempt per process, first send time kept.
    assert_eq!(done.attempts, 2, "{done:?}");
    assert_eq!(
        done.first_sent_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        v["first_sent_at"].as_str().map(str::to_owned),
    );
}

#[tokio::test]
async fn every_entry_state_round_trips_through_json() {
    let erp = Arc::new(MemoryErp::new());
    let store = Arc::new(InMemorySyncStore::new());
    let engine = SyncEngine::new(erp.clone(), store.clone(), SCOPE).with_max_sends(1);
    let batch = SyncBatch::new()
        .with_customer(Customer::new("c-1", "Acme SA de CV"))
        .with_customer(Customer::new("c-2", "Beta SC"))
        .with_invoice(invoice());
    // c-1 is refused, c-2 goes through, inv-1 is blocked by c-1; then inv-1 goes pending.
    erp.fail_next(1, || Error::invalid("name", "refused"));
    engine.push(&batch).await.expect("first");
    erp.inject(1, Fault::ApplyThenTimeout);
    engine.push(&batch).await.expect("second");

    let entries = store.entries();
    let states: Vec<&str> = entries
        .iter()
        .map(|e| match e.state {
            EntryState::Pending => "pending",
            EntryState::Done { .. } => "done",
            EntryState::Failed { .. } => "failed",
            _ => "other",
        })
        .collect();
    assert!(states.contains(&"done"), "{entries:#?}");
    assert!(states.contains(&"pending"), "{entries:#?}");
    for e in &entries {
        let text = serde_json::to_string(e).expect("serialize");
        let back: JournalEntry = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(&back, e, "{text}");
    }

    let failed = EntryState::Failed {
        kind: ErrorKind::RateLimited,
        message: "429".into(),
    };
    let text = serde_json::to_string(&failed).expect("serialize");
    assert_eq!(
        text,
        r#"{"state":"failed","kind":"rate_limited","message":"429"}"#
    );
    assert_eq!(
        serde_json::from_str::<EntryState>(&text).expect("back"),
        failed
    );
    let good = pending_with_fingerprint(&"ab".repeat(32));
    let entry: JournalEntry = serde_json::from_str(&good).expect("valid entry");
    assert_eq!(entry.fingerprint.to_string(), "ab".repeat(32));
    for bad in ["not-hex", &"AB".repeat(31), &"zz".repeat(32)] {
        let text = pending_with_fingerprint(bad);
        assert!(
            serde_json::from_str::<JournalEntry>(&text).is_err(),
            "{bad}"
        );
    }
}

/// A serialized pending entry whose fingerprint field is replaced by `fp`.
fn pending_with_fingerprint(fp: &str) -> String {
    format!(
        r#"{{"key":{{"scope":"s","kind":"invoice","external_ref":"x"}},"fingerprint":"{fp}","generation":1,
        "idempotency_key":"k","state":{{"state":"pending"}},"attempts":0,"first_sent_at":null,"payload":null,
        "previous_remote":null}}"#
    )
}
