//! What `sync_bench` and `sync_faults` share: the records they enqueue and a throwaway PostgreSQL
//! database. (A folder without `main.rs`, so Cargo does not build it as an example of its own.)

use erp_hub_core::adapter::WriteOp;
use erp_hub_core::hub::{HubStore, NewRecord, Scope};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, Invoice, InvoiceLine, Item, ItemKind, PartyRef, Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The three tenants the load is spread over (family `n` goes to `TENANTS[n % 3]`).
pub const TENANTS: [&str; 3] = ["norte-mx", "sol-mx", "pacifico-us"];

/// Enqueues `families` families of five records each (customer `c{n}`, item `it{n}`, invoice `inv{n}`,
/// payment `pay{n}` and credit note `cn{n}` on it) for the connection `connection`, dependents first so
/// the hub must order them itself; 500 records per `enqueue` call.
pub async fn enqueue_families(
    store: &dyn HubStore,
    families: usize,
    connection: &str,
) -> BoxResult<()> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).ok_or("date")?;
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let mut batch = Vec::new();
    for n in 0..families {
        let scope = Scope::new(TENANTS[n % TENANTS.len()], connection);
        let (c, it, inv) = (format!("c{n}"), format!("it{n}"), format!("inv{n}"));
        let invoice = Invoice::new(&inv, PartyRef::external(&c), date, Currency::MXN).with_line(
            InvoiceLine::new("Servicio", dec!(10), dec!(100))
                .with_item(&it)
                .with_tax(iva()),
        );
        let ops = [
            WriteOp::CreateCreditNote(
                CreditNote::new(
                    format!("cn{n}"),
                    PartyRef::external(&c),
                    DocRef::external(&inv),
                    date,
                    Currency::MXN,
                )
                .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(100)).with_tax(iva())),
            ),
            WriteOp::RecordPayment(
                Payment::new(
                    format!("pay{n}"),
                    PartyRef::external(&c),
                    date,
                    Currency::MXN,
                    dec!(500),
                )
                .apply_to(DocRef::external(&inv), dec!(500)),
            ),
            WriteOp::CreateInvoice(invoice),
            WriteOp::UpsertItem(Item::new(
                &it,
                format!("SKU{n}"),
                format!("Servicio {n}"),
                ItemKind::Service,
            )),
            WriteOp::UpsertCustomer(Customer::new(&c, format!("Cliente {n} SA"))),
        ];
        batch.extend(ops.into_iter().map(|op| NewRecord::new(scope.clone(), op)));
        if batch.len() >= 500 {
            store.enqueue(&batch).await?;
            batch.clear();
        }
    }
    store.enqueue(&batch).await?;
    Ok(())
}

/// Creates a database named `{prefix}_{random}` on the server of `admin` (a PostgreSQL URL) and returns
/// its URL, so each run starts from an empty schema.
pub async fn fresh_database(admin: &str, prefix: &str) -> BoxResult<String> {
    use sqlx::Connection as _;
    let name = format!("{prefix}_{:08x}", rand::random::<u32>());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}
