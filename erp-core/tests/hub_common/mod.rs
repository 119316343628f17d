//! Shared fixtures of the hub tests: records, stores for each backend.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use erp_hub_core::adapter::WriteOp;
use erp_hub_core::hub::{HubStore, MemoryStore, PgStore, SqliteStore};
use erp_hub_core::model::{CreditNote, Customer, DocRef, Invoice, InvoiceLine, PartyRef, Payment};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;

pub fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")
}

/// Customer `c-{n}`, invoice `inv-{n}` (1160 MXN), payment `pay-{n}` (500) and credit note `cn-{n}` (116),
/// enqueued in reverse dependency order so that the hub has to order them.
pub fn family(n: usize) -> Vec<WriteOp> {
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let c = format!("c-{n}");
    let inv = format!("inv-{n}");
    let invoice = Invoice::new(&inv, PartyRef::external(&c), date(), Currency::MXN)
        .with_line(InvoiceLine::new("Consultoría", dec!(10), dec!(100)).with_tax(iva()));
    let pay = Payment::new(
        format!("pay-{n}"),
        PartyRef::external(&c),
        date(),
        Currency::MXN,
        dec!(500),
    )
    .apply_to(DocRef::external(&inv), dec!(500));
    let cn = CreditNote::new(
        format!("cn-{n}"),
        PartyRef::external(&c),
        DocRef::external(&inv),
        date(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(100)).with_tax(iva()));
    vec![
        WriteOp::CreateCreditNote(cn),
        WriteOp::RecordPayment(pay),
        WriteOp::CreateInvoice(invoice),
        WriteOp::UpsertCustomer(Customer::new(&c, format!("Cliente {n} SA"))),
    ]
}

pub fn memory() -> Arc<dyn HubStore> {
    Arc::new(MemoryStore::new())
}

pub async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn HubStore> {
    Arc::new(
        SqliteStore::open(dir.path().join("hub.db"))
            .await
            .expect("open sqlite store"),
    )
}

/// The admin URL of the throwaway cluster.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: the PostgreSQL tests need a server; run them through \
             scripts/with-postgres.sh (e.g. scripts/with-postgres.sh cargo test -p erp-hub-core)"
        )
    })
}

/// A fresh database on the cluster, returning its URL.
pub async fn fresh_pg_database() -> String {
    use sqlx::Connection as _;
    let admin = database_url();
    let name = format!("hub_test_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect admin");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

pub async fn pg() -> Arc<dyn HubStore> {
    Arc::new(
        PgStore::connect(&fresh_pg_database().await)
            .await
            .expect("connect pg store"),
    )
}
