//! The sync engine: push customers, items, invoices, a payment and a credit note into an ERP so that nothing is
//! lost or duplicated across lost responses and process crashes. Runs offline against `MemoryErp`.
//!
//! ```sh
//! cargo run -p examples --example sync_engine
//! ```
//!
//! Run 2 loses the response of an invoice the provider applied; the engine re-sends it with the same idempotency
//! key. Run 3 "crashes" after the provider applied a new invoice but before the journal recorded it; run 4, a
//! fresh engine over the same journal, re-sends with the same key. The last line is counted from what the ERP
//! holds. Against a real provider, pass its adapter (e.g. `erp_xero::XeroAdapter`) and a durable `SyncStore`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use erp_hub_core::adapter::{ChangeCursor, ErpAdapter};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::sync::{
    InMemorySyncStore, JournalEntry, JournalKey, SyncBatch, SyncEngine, SyncReport, SyncStore,
};
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::{Fault, MemoryErp};
use erp_hub_core::{Error, Result};
use rust_decimal_macros::dec;

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const SCOPE: &str = "memory:demo-company";

/// A journal whose process dies at the first write after `create_invoice` was called `after` times.
struct CrashingJournal {
    journal: Arc<InMemorySyncStore>,
    erp: Arc<MemoryErp>,
    after: usize,
    dead: AtomicBool,
}

/// A boxed store future: what `#[async_trait]` expands `async fn` to (this crate does not depend on async-trait).
type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl SyncStore for CrashingJournal {
    fn load<'s, 'k, 'f>(&'s self, key: &'k JournalKey) -> StoreFuture<'f, Option<JournalEntry>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        self.journal.load(key)
    }

    fn save<'s, 'e, 'f>(&'s self, entry: &'e JournalEntry) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'e: 'f,
        Self: 'f,
    {
        if self.dead.load(Ordering::SeqCst) || self.erp.calls("create_invoice") > self.after {
            self.dead.store(true, Ordering::SeqCst);
            return Box::pin(std::future::ready(Err(Error::transient("process killed"))));
        }
        self.journal.save(entry)
    }
}

fn print(run: &str, report: &SyncReport) {
    for r in &report.records {
        println!("{run}: {} {} -> {}", r.kind, r.external_ref, r.outcome);
    }
}

fn batch(date: NaiveDate) -> SyncBatch {
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    SyncBatch::new()
        .with_customer(Customer::new(
            "cust-1",
            "Comercializadora del Norte SA de CV",
        ))
        .with_customer(Customer::new("cust-2", "Servicios Beta SC"))
        .with_item(Item::new("svc-1", "CONS", "Consultoría", ItemKind::Service))
        .with_invoice(
            Invoice::new("F-1", PartyRef::external("cust-1"), date, Currency::MXN).with_line(
                InvoiceLine::new("Consultoría", dec!(10), dec!(1250))
                    .with_item("svc-1")
                    .with_tax(iva()),
            ),
        )
        .with_invoice(
            Invoice::new("F-2", PartyRef::external("cust-2"), date, Currency::MXN)
                .with_line(InvoiceLine::new("Soporte", dec!(1), dec!(800)).with_tax(iva())),
        )
        .with_payment(
            Payment::new(
                "PAY-1",
                PartyRef::external("cust-1"),
                date,
                Currency::MXN,
                dec!(5000),
            )
            .apply_to(DocRef::external("F-1"), dec!(5000)),
        )
        .with_credit_note(
            CreditNote::new(
                "NC-1",
                PartyRef::external("cust-1"),
                DocRef::external("F-1"),
                date,
                Currency::MXN,
            )
            .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(500)).with_tax(iva())),
        )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let date = NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("bad date")?;
    let erp = Arc::new(MemoryErp::new());
    let journal = Arc::new(InMemorySyncStore::new());
    let engine = SyncEngine::new(erp.clone(), journal.clone(), SCOPE);

    // Run 1: customers and items only.
    let mut b = batch(date);
    let documents = (
        std::mem::take(&mut b.invoices),
        std::mem::take(&mut b.payments),
        std::mem::take(&mut b.credit_notes),
    );
    print("run 1", &engine.push(&b).await?);

    // Run 2: everything; the provider applies F-1 but its response is lost.
    (b.invoices, b.payments, b.credit_notes) = documents;
    erp.inject(1, Fault::ApplyThenTimeout);
    let report = engine.push(&b).await?;
    print("run 2", &report);
    let f1 = report
        .get(EntityKind::Invoice, "F-1")
        .ok_or("F-1 missing")?;
    println!("run 2: F-1 took {} sends with one key", f1.sends);

    // Run 3: a new invoice; the process dies after the provider applied it, before the journal said so.
    b = b.with_invoice(
        Invoice::new("F-3", PartyRef::external("cust-2"), date, Currency::MXN)
            .with_line(InvoiceLine::new("Capacitación", dec!(2), dec!(300))),
    );
    let crashing = Arc::new(CrashingJournal {
        journal: journal.clone(),
        erp: erp.clone(),
        after: erp.calls("create_invoice"),
        dead: AtomicBool::new(false),
    });
    let doomed = SyncEngine::new(erp.clone(), crashing, SCOPE);
    match doomed.push(&b).await {
        Ok(_) => return Err("the crash did not happen".into()),
        Err(e) => println!(
            "run 3: process died ({e}); the ERP already holds {} invoices",
            erp.count(EntityKind::Invoice)
        ),
    }
    drop(doomed);
    let f3 = JournalKey::new(SCOPE, EntityKind::Invoice, "F-3");
    let key_before = journal.get(&f3).ok_or("F-3 not journaled")?.idempotency_key;

    // Run 4: a new engine over the same journal finishes F-3 with the same key.
    let engine = SyncEngine::new(erp.clone(), journal.clone(), SCOPE);
    let report = engine.push(&b).await?;
    print("run 4", &report);
    let key_after = journal.get(&f3).ok_or("F-3 not journaled")?.idempotency_key;
    println!(
        "run 4: F-3 re-sent with the same key: {}",
        key_before == key_after
    );

    // Count what the ERP holds, from its change feed: records per (kind, external reference).
    let mut records: BTreeMap<(EntityKind, String), BTreeSet<String>> = BTreeMap::new();
    let mut cursor: Option<ChangeCursor> = None;
    loop {
        let page = erp
            .list_changed_since(&EntityKind::ALL, cursor.as_ref())
            .await?;
        for c in page.changes {
            let ext = c.external_ref.ok_or("change without external reference")?;
            records
                .entry((c.kind, ext))
                .or_default()
                .insert(c.remote.id);
        }
        cursor = Some(page.next);
        if !page.has_more {
            break;
        }
    }
    let created: usize = records.values().map(BTreeSet::len).sum();
    let duplicates: usize = records.values().map(|ids| ids.len() - 1).sum();
    let expected: Vec<(EntityKind, &str)> = b
        .customers
        .iter()
        .map(|c| (EntityKind::Customer, c.external_ref.as_str()))
        .chain(
            b.items
                .iter()
                .map(|i| (EntityKind::Item, i.external_ref.as_str())),
        )
        .chain(
            b.invoices
                .iter()
                .map(|i| (EntityKind::Invoice, i.external_ref.as_str())),
        )
        .chain(
            b.payments
                .iter()
                .map(|p| (EntityKind::Payment, p.external_ref.as_str())),
        )
        .chain(
            b.credit_notes
                .iter()
                .map(|c| (EntityKind::CreditNote, c.external_ref.as_str())),
        )
        .collect();
    let lost = expected
        .iter()
        .filter(|(k, r)| !records.contains_key(&(*k, (*r).to_owned())))
        .count();
    println!("created={created} duplicates={duplicates} lost={lost}");
    Ok(())
}
