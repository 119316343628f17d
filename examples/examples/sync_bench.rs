//! Benchmark of the sync hub: how close it gets to QuickBooks' rate limits, and what the engine itself costs.
//!
//! 1. **QuickBooks limits.** Three realms, each an in-process QuickBooks Online mock that enforces the real
//!    limits — 500 requests per minute and 10 concurrent per realm, 200 ms latency, `429` (Fault 3001) past
//!    either — sit behind the real [`QuickBooksAdapter`]; the hub (SQLite store) drains customers, invoices,
//!    payments and credit notes into them for `--seconds` (default 60). Prints the API requests the mocks
//!    accepted in the window against what the limits allow (`allowed_rate_ratio=<achieved/allowed>`; above 1 for
//!    runs shorter than a minute, whose first minute's budget may be spent at once), the `429`s served during the
//!    whole run (`throttled_429`), and the records a `429` cost (`lost_429`: dead-lettered with a rate-limit
//!    error).
//! 2. **Engine cost.** `--records` (default 10,000) records through [`MemoryErp`] with the store durable
//!    (SQLite `synchronous=FULL`; PostgreSQL's default `synchronous_commit=on`): records/s from the hub's start
//!    until the store says every record is done, with 1 worker and with 4. PostgreSQL needs `DATABASE_URL`
//!    (each run creates a fresh database); without it that line says so and is skipped.
//!
//! ```sh
//! scripts/with-postgres.sh cargo run --release -p examples --example sync_bench
//! cargo run --release -p examples --example sync_bench -- --seconds 5 --records 1000
//! cargo run --release -p examples --example sync_bench -- --only engine --workers 1
//! scripts/with-postgres.sh cargo run --release -p examples --example sync_bench -- --only engine --backend postgres
//! ```
//!
//! `--only quickbooks|engine` runs one part; `--workers N` one worker count instead of 1 and 4; `--backend
//! sqlite|postgres` one store of the engine part; `--batch N` the engine's batch size (default 10, the hub's
//! default).

mod load;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::http::{InMemoryTokenStore, TokenSet};
use erp_hub_core::hub::{
    Hub, HubConfig, HubStore, NewRecord, PgStore, RecordFilter, RecordState, Scope, SqliteStore,
};
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, Invoice, InvoiceLine, PartyRef, Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::MemoryErp;
use erp_quickbooks::testing::{INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN, MockQuickBooks};
use erp_quickbooks::{QuickBooksAdapter, QuickBooksConfig, TaxMode};
use load::{TENANTS, enqueue_families, fresh_database};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The connection of every scope the MemoryErp-side load runs in.
const MEMORY_CONNECTION: &str = "memory:1";

const QB_PER_MINUTE: u32 = 500;
const QB_CONCURRENT: u32 = 10;
const QB_LATENCY: Duration = Duration::from_millis(200);

struct Args {
    seconds: u64,
    records: usize,
    workers: Vec<usize>,
    only: Option<String>,
    backend: Option<String>,
    batch: usize,
}

fn args() -> BoxResult<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<&String> {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
    };
    for (i, a) in argv.iter().enumerate() {
        if a.starts_with("--")
            && !matches!(
                a.as_str(),
                "--seconds" | "--records" | "--workers" | "--only" | "--backend" | "--batch"
            )
        {
            return Err(format!("unknown flag {a} (argument {i})").into());
        }
    }
    Ok(Args {
        seconds: value("--seconds").map_or(Ok(60), |s| s.parse())?,
        records: value("--records").map_or(Ok(10_000), |s| s.parse())?,
        workers: match value("--workers") {
            Some(s) => vec![s.parse()?],
            None => vec![1, 4],
        },
        only: value("--only").cloned(),
        backend: value("--backend").cloned(),
        batch: value("--batch").map_or(Ok(HubConfig::default().batch_size), |s| s.parse())?,
    })
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let args = args()?;
    if args.only.as_deref() != Some("engine") {
        quickbooks_limits(args.seconds).await?;
    }
    if args.only.as_deref() != Some("quickbooks") {
        engine(&args).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// 1. QuickBooks' limits

async fn quickbooks_limits(seconds: u64) -> BoxResult<()> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn HubStore> = Arc::new(SqliteStore::open(dir.path().join("qb.db")).await?);
    // Enough work that no realm runs dry: a family is 4 records and about 6 API requests.
    let families = usize::try_from(seconds.max(1))? * 30;
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(12)
            .with_batch_size(10)
            .with_name("bench-qb")
            .with_poll(Duration::from_millis(50)),
    );
    let mut mocks = Vec::new();
    for (i, tenant) in TENANTS.iter().enumerate() {
        let realm = format!("9130357{i}");
        let mock = MockQuickBooks::start(&realm).await;
        mock.set_latency(QB_LATENCY);
        mock.enforce_limits(QB_PER_MINUTE, QB_CONCURRENT);
        let scope = Scope::new(*tenant, format!("quickbooks:{realm}"));
        hub.register(scope.clone(), Arc::new(quickbooks(&mock, &realm)?));
        let mut records = Vec::new();
        for n in 0..families {
            records.extend(
                qb_family(tenant, n)?
                    .into_iter()
                    .map(|op| NewRecord::new(scope.clone(), op)),
            );
        }
        store.enqueue(&records).await?;
        mocks.push(mock);
    }
    println!(
        "quickbooks: 3 realms, {QB_PER_MINUTE} requests/min and {QB_CONCURRENT} concurrent each, {} ms latency, \
         {seconds} s",
        QB_LATENCY.as_millis()
    );
    let t = Instant::now();
    let handle = hub.start();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    // Requests the mocks accepted inside the measured window (shutdown then lets in-flight batches finish,
    // whose requests land after it).
    let per_realm: Vec<u64> = mocks.iter().map(MockQuickBooks::limited_accepted).collect();
    let accepted: u64 = per_realm.iter().sum();
    let elapsed = t.elapsed().as_secs_f64();
    handle.shutdown().await;
    let throttled: u64 = mocks.iter().map(MockQuickBooks::limit_rejections).sum();
    let allowed = f64::from(QB_PER_MINUTE) * 3.0 * elapsed / 60.0;
    let status = store.status().await?;
    let done: u64 = status.iter().map(|s| s.done).sum();
    let dead = store
        .records(&RecordFilter::default().with_state(RecordState::Dead))
        .await?;
    let lost_429 = dead
        .iter()
        .filter(|r| {
            r.last_error
                .as_ref()
                .is_some_and(|e| e.kind == erp_hub_core::ErrorKind::RateLimited)
        })
        .count();
    for ((mock, tenant), n) in mocks.iter().zip(TENANTS).zip(&per_realm) {
        println!(
            "  {tenant}: {n} requests accepted in the window; {} answered 429 (whole run)",
            mock.limit_rejections()
        );
    }
    println!(
        "quickbooks: {accepted} requests in {elapsed:.1} s (allowed {allowed:.0}); {done} records done, {} dead",
        dead.len()
    );
    #[allow(clippy::cast_precision_loss)]
    let ratio = accepted as f64 / allowed;
    println!("allowed_rate_ratio={ratio:.3} throttled_429={throttled} lost_429={lost_429}");
    Ok(())
}

/// The QuickBooks adapter pointed at one mock realm.
fn quickbooks(mock: &MockQuickBooks, realm: &str) -> BoxResult<QuickBooksAdapter> {
    let tokens = Arc::new(InMemoryTokenStore::new());
    tokens.insert(
        realm,
        TokenSet::new(INITIAL_ACCESS_TOKEN)
            .with_refresh_token(INITIAL_REFRESH_TOKEN)
            .with_expires_at(Utc::now() + chrono::Duration::minutes(55)),
    );
    let mut mapping = AccountMapping::new("quickbooks");
    mapping.income_account = Some("79".into());
    mapping.payment_account = Some("35".into());
    mapping.tax_codes.insert("IVA16".into(), "5".into());
    let config = QuickBooksConfig::new(mock.environment(), realm, "bench-client", "bench-secret")?
        .with_tax_mode(TaxMode::Global);
    Ok(QuickBooksAdapter::new(config, tokens)?.with_mapping(mapping))
}

/// A customer, an invoice, a partial payment and a credit note (dependencies last: the hub orders them).
fn qb_family(tenant: &str, n: usize) -> BoxResult<Vec<WriteOp>> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("date")?;
    let (c, inv) = (format!("{tenant}-c{n}"), format!("{tenant}-inv{n}"));
    let party = PartyRef::external(&c);
    let iva = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let invoice = Invoice::new(&inv, party.clone(), date, Currency::MXN)
        .with_line(InvoiceLine::new("Tour guiado", dec!(2), dec!(850)).with_tax(iva()));
    let payment = Payment::new(
        format!("{tenant}-pay{n}"),
        party.clone(),
        date,
        Currency::MXN,
        dec!(1000),
    )
    .apply_to(DocRef::external(&inv), dec!(1000));
    let credit = CreditNote::new(
        format!("{tenant}-cn{n}"),
        party,
        DocRef::external(&inv),
        date,
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Descuento", dec!(1), dec!(100)).with_tax(iva()));
    Ok(vec![
        WriteOp::CreateCreditNote(credit),
        WriteOp::RecordPayment(payment),
        WriteOp::CreateInvoice(invoice),
        WriteOp::UpsertCustomer(Customer::new(&c, format!("Cliente {n} SA"))),
    ])
}

// ---------------------------------------------------------------------------------------------------------
// 2. Engine cost

async fn engine(args: &Args) -> BoxResult<()> {
    let families = args.records.div_ceil(5).max(1);
    let records = families * 5;
    let database_url = std::env::var("DATABASE_URL").ok();
    let run = |backend: &str| args.backend.as_deref().is_none_or(|b| b == backend);
    for &workers in &args.workers {
        if run("sqlite") {
            let dir = tempfile::tempdir()?;
            let store = SqliteStore::open(dir.path().join("engine.db")).await?;
            let rate = engine_run(Arc::new(store), families, workers, args.batch).await?;
            print_rate("sqlite", records, workers, args.batch, rate);
        }
        match &database_url {
            _ if !run("postgres") => {}
            Some(url) => {
                let store = PgStore::connect(&fresh_database(url, "sync_bench").await?).await?;
                let rate = engine_run(Arc::new(store), families, workers, args.batch).await?;
                print_rate("postgres", records, workers, args.batch, rate);
            }
            None => println!(
                "engine postgres: skipped: DATABASE_URL is not set (run through scripts/with-postgres.sh)"
            ),
        }
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss)]
fn print_rate(backend: &str, records: usize, workers: usize, batch: usize, secs: f64) {
    let rate = records as f64 / secs;
    println!(
        "engine {backend}: records={records} workers={workers} batch={batch} seconds={secs:.2} records_per_s={rate:.0} \
         records_per_s_per_worker={:.0}",
        rate / workers as f64
    );
}

/// Enqueues `families` × 5 records for three tenants, then times the hub from start until all are done.
async fn engine_run(
    store: Arc<dyn HubStore>,
    families: usize,
    workers: usize,
    batch: usize,
) -> BoxResult<f64> {
    enqueue_families(store.as_ref(), families, MEMORY_CONNECTION).await?;
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_workers(workers)
            .with_batch_size(batch)
            .with_name("bench")
            .with_poll(Duration::from_millis(20)),
    );
    for t in TENANTS {
        hub.register(scope(t), Arc::new(MemoryErp::new()));
    }
    let total = u64::try_from(families * 5)?;
    let t = Instant::now();
    let handle = hub.start();
    // Every record is done when none is queued or claimed (a dead letter fails the run below). Asked as two
    // `LIMIT 1` lookups: the status query checks the dependencies of every queued record (~0.1 s of the
    // database's CPU per call at 10,000 records), which polled every 200 ms took a large share of this 2-core
    // machine from the engine being measured.
    let pending = |state| RecordFilter::default().with_state(state).with_limit(1);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if store
            .records(&pending(RecordState::Queued))
            .await?
            .is_empty()
            && store
                .records(&pending(RecordState::Claimed))
                .await?
                .is_empty()
        {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    handle.shutdown().await;
    let status = store.status().await?;
    let done: u64 = status.iter().map(|s| s.done).sum();
    let dead: u64 = status.iter().map(|s| s.dead).sum();
    if dead > 0 || done != total {
        return Err(format!("engine: {done} of {total} records done, {dead} dead-lettered").into());
    }
    Ok(secs)
}

fn scope(tenant: &str) -> Scope {
    Scope::new(tenant, MEMORY_CONNECTION)
}
