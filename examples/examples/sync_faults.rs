//! Acceptance run of the sync hub under faults and crashes, counted from the ERP's records and the store.
//!
//! 10,000 records (3 tenants; customers, items, invoices, payments, credit notes) go through a fake ERP that
//! injects faults on every call: 10 % applied-then-timeout (the write commits, the response is lost), 429
//! storms with `Retry-After`, 5xx, and dropped connections (before and after the write applied).
//!
//! 1. **SQLite.** The parent enqueues everything into an SQLite hub file, then re-spawns *itself* as a child
//!    process that runs the hub, and SIGKILLs it at a random point — three times — before a last child
//!    finishes the run.
//! 2. **PostgreSQL** (`DATABASE_URL`, e.g. via `scripts/with-postgres.sh`): 4 worker processes share one
//!    database; two are SIGKILLed mid-run and replaced. Their leases expire and other workers take over.
//!
//! The fake ERP must survive the kills, so its state lives in its own tables (in a separate SQLite file, and in
//! the PostgreSQL database): a table of records (no uniqueness: a second create *is* a duplicate we can count)
//! and a table of idempotency keys (a replayed key returns the first result). It refuses an invoice whose
//! customer or item it does not hold, and a payment or credit note whose invoice it does not hold, so the
//! dependency order is checked too. `duplicates` and `lost` are counted from those tables and the store, never
//! from the hub's counters. Its own writes use `synchronous=NORMAL` (they survive a process kill, which is what
//! is tested here).
//!
//! ```sh
//! scripts/with-postgres.sh cargo run --release -p examples --example sync_faults
//! scripts/with-postgres.sh cargo run --release -p examples --example sync_faults -- --records 2000
//! ```
//! Last line: `records=10000 duplicates=0 lost=0 dead_letters=<n> log_complete=true` (`dead_letters` and
//! `duplicates`/`lost` summed over both phases).

mod load;

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use erp_hub_core::adapter::{
    Capabilities, ChangeCursor, ChangePage, CompanyInfo, ErpAdapter, IdempotencyKey, RemoteRecord,
    WriteOp,
};
use erp_hub_core::hub::{
    Hub, HubConfig, HubStore, PgStore, RecordFilter, RecordState, Scope, SqliteStore,
};
use erp_hub_core::model::{CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef};
use erp_hub_core::{Error, Result as HubResult};
use load::{TENANTS, enqueue_families, fresh_database};
use sqlx::{PgPool, SqlitePool};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The connection of every scope the MemoryErp-side load runs in.
const CONNECTION: &str = "fake-erp:1";

const ERP_SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fake_erp_records (tenant TEXT NOT NULL, kind TEXT NOT NULL, \
     external_ref TEXT NOT NULL, remote_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fake_erp_keys (tenant TEXT NOT NULL, idem_key TEXT NOT NULL, \
     request TEXT NOT NULL, remote_id TEXT NOT NULL, PRIMARY KEY (tenant, idem_key))",
];

fn config(name: &str) -> HubConfig {
    HubConfig::default()
        .with_workers(4)
        .with_name(name)
        .with_max_attempts(8)
        .with_poll(Duration::from_millis(20))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(400))
        .with_lease(Duration::from_secs(2), Duration::from_millis(500))
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]).await;
    }
    let mut records = 10_000usize;
    if let Some(i) = args.iter().position(|a| a == "--records") {
        records = args.get(i + 1).ok_or("--records needs a number")?.parse()?;
    }
    let families = records.div_ceil(5);
    let records = families * 5;
    let database_url = std::env::var("DATABASE_URL").map_err(|_| {
        "DATABASE_URL is not set: the PostgreSQL phase needs a server; run \
         scripts/with-postgres.sh cargo run --release -p examples --example sync_faults"
    })?;

    let dir = tempfile::tempdir()?;
    let hub_db = dir.path().join("hub.db");
    let erp_db = dir.path().join("erp.db");

    // Phase 1: SQLite, one process at a time, killed three times.
    let t = Instant::now();
    let store = SqliteStore::open(&hub_db).await?;
    enqueue_families(&store, families, CONNECTION).await?;
    drop(store);
    Ledger::Sqlite(erp_sqlite(&erp_db).await?).init().await?;
    let me = std::env::current_exe()?;
    let spawn_sqlite = |name: &str| -> std::io::Result<Child> {
        Command::new(&me)
            .args(["--child", "sqlite", name])
            .arg(&hub_db)
            .arg(&erp_db)
            .spawn()
    };
    for i in 0..3 {
        let mut c = spawn_sqlite(&format!("sqlite-{i}"))?;
        let after = Duration::from_millis(rand::random_range(400..1500));
        tokio::time::sleep(after).await;
        c.kill()?; // SIGKILL
        c.wait()?;
        println!("sqlite: killed child {i} after {} ms", after.as_millis());
    }
    let status = spawn_sqlite("sqlite-final")?.wait()?;
    if !status.success() {
        return Err(format!("sqlite: final child failed: {status}").into());
    }
    let store: Arc<dyn HubStore> = Arc::new(SqliteStore::open(&hub_db).await?);
    let erp = Ledger::Sqlite(erp_sqlite(&erp_db).await?);
    let a = verify("sqlite", &store, &erp, records).await?;
    println!(
        "sqlite: {} in {:.1} s",
        a.line(records),
        t.elapsed().as_secs_f32()
    );

    // Phase 2: PostgreSQL, four worker processes, two killed and replaced.
    let t = Instant::now();
    let url = fresh_database(&database_url, "sync_faults").await?;
    let store = PgStore::connect(&url).await?;
    enqueue_families(&store, families, CONNECTION).await?;
    Ledger::Pg(store.pool().clone()).init().await?;
    let spawn_pg = |name: &str| -> std::io::Result<Child> {
        Command::new(&me)
            .args(["--child", "pg", name, &url])
            .spawn()
    };
    let mut workers = Vec::new();
    for i in 0..4 {
        workers.push(spawn_pg(&format!("pg-{i}"))?);
    }
    tokio::time::sleep(Duration::from_millis(rand::random_range(500..1500))).await;
    for (i, w) in workers.iter_mut().take(2).enumerate() {
        w.kill()?;
        w.wait()?;
        println!("pg: killed worker process {i}");
    }
    for i in 4..6 {
        workers.push(spawn_pg(&format!("pg-{i}"))?);
    }
    let mut failed = None;
    for w in workers.iter_mut().skip(2) {
        let s = w.wait()?;
        if !s.success() {
            failed = Some(s);
            // Do not leave the other workers running against a server that is about to go away.
            for other in workers.iter_mut().skip(2) {
                let _ = other.kill();
            }
            break;
        }
    }
    if let Some(s) = failed {
        return Err(format!("pg: a worker process failed: {s}").into());
    }
    let store: Arc<dyn HubStore> = Arc::new(store);
    let erp = Ledger::Pg(PgPool::connect(&url).await?);
    let b = verify("pg", &store, &erp, records).await?;
    println!(
        "pg: {} in {:.1} s",
        b.line(records),
        t.elapsed().as_secs_f32()
    );

    let total = Tally {
        duplicates: a.duplicates + b.duplicates,
        lost: a.lost + b.lost,
        dead: a.dead + b.dead,
        log_complete: a.log_complete && b.log_complete,
    };
    println!("{}", total.line(records));
    Ok(())
}

/// A child process: runs the hub until the queue is settled.
async fn child(args: &[String]) -> BoxResult<()> {
    let (store, erp, name): (Arc<dyn HubStore>, Ledger, &str) = match args {
        [kind, name, hub, erp] if kind == "sqlite" => (
            Arc::new(SqliteStore::open(hub).await?),
            Ledger::Sqlite(erp_sqlite(std::path::Path::new(erp)).await?),
            name,
        ),
        [kind, name, url] if kind == "pg" => {
            let store = PgStore::connect(url).await?;
            let pool = store.pool().clone();
            (Arc::new(store), Ledger::Pg(pool), name)
        }
        _ => return Err(format!("bad child arguments {args:?}").into()),
    };
    let hub = Hub::new(store, config(name));
    let erp = Arc::new(FakeErp {
        ledger: erp,
        storm_until: AtomicU64::new(0),
        start: Instant::now(),
    });
    for t in TENANTS {
        hub.register(
            scope(t),
            Arc::new(TenantErp {
                erp: Arc::clone(&erp),
                tenant: t,
            }),
        );
    }
    hub.run_until_settled().await?;
    Ok(())
}

fn scope(tenant: &str) -> Scope {
    Scope::new(tenant, CONNECTION)
}

async fn erp_sqlite(path: &std::path::Path) -> BoxResult<SqlitePool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30));
    Ok(sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

/// The fake ERP's durable state.
enum Ledger {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Runs the same statements on either pool (both drivers take `$n` parameters).
macro_rules! on_ledger {
    ($ledger:expr, |$pool:ident| $body:expr) => {
        match $ledger {
            Ledger::Sqlite($pool) => $body,
            Ledger::Pg($pool) => $body,
        }
    };
}

struct Applied {
    remote_id: String,
}

/// One write as the fake ERP sees it.
struct FakeWrite<'a> {
    tenant: &'a str,
    kind: EntityKind,
    external_ref: &'a str,
    key: &'a str,
    request: &'a str,
    deps: &'a [(EntityKind, String)],
    upsert: bool,
}

impl Ledger {
    async fn init(&self) -> BoxResult<()> {
        for s in ERP_SCHEMA {
            on_ledger!(self, |p| sqlx::query(s).execute(p).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Applies a write atomically: key replay, dependency check, upsert or create.
    async fn apply(&self, w: FakeWrite<'_>) -> HubResult<Applied> {
        let FakeWrite {
            tenant,
            kind,
            external_ref,
            key,
            request,
            deps,
            upsert,
        } = w;
        let db = |e: sqlx::Error| Error::transient(format!("fake ERP database: {e}"));
        macro_rules! body {
            ($pool:expr) => {{
                use sqlx::Row as _;
                let mut tx = $pool.begin().await.map_err(db)?;
                if let Some(row) = sqlx::query("SELECT request, remote_id FROM fake_erp_keys WHERE tenant = $1 AND idem_key = $2")
                    .bind(tenant).bind(key).fetch_optional(&mut *tx).await.map_err(db)?
                {
                    let seen: String = row.try_get("request").map_err(db)?;
                    if seen != request {
                        return Err(Error::invalid("idempotency_key", "reused for a different request"));
                    }
                    return Ok(Applied { remote_id: row.try_get("remote_id").map_err(db)? });
                }
                for (k, r) in deps {
                    let found = sqlx::query("SELECT 1 FROM fake_erp_records WHERE tenant = $1 AND kind = $2 AND external_ref = $3")
                        .bind(tenant).bind(k.as_str()).bind(r).fetch_optional(&mut *tx).await.map_err(db)?;
                    if found.is_none() {
                        return Err(Error::not_found(k.as_str(), r.clone()));
                    }
                }
                let existing = if upsert {
                    sqlx::query("SELECT remote_id FROM fake_erp_records WHERE tenant = $1 AND kind = $2 AND external_ref = $3")
                        .bind(tenant).bind(kind.as_str()).bind(external_ref)
                        .fetch_optional(&mut *tx).await.map_err(db)?
                        .map(|r| r.try_get::<String, _>("remote_id")).transpose().map_err(db)?
                } else {
                    None
                };
                let remote_id = match existing {
                    Some(id) => id,
                    None => {
                        let id = format!("{}-{:016x}", kind.as_str(), rand::random::<u64>());
                        sqlx::query("INSERT INTO fake_erp_records (tenant, kind, external_ref, remote_id) VALUES ($1, $2, $3, $4)")
                            .bind(tenant).bind(kind.as_str()).bind(external_ref).bind(&id)
                            .execute(&mut *tx).await.map_err(db)?;
                        id
                    }
                };
                sqlx::query("INSERT INTO fake_erp_keys (tenant, idem_key, request, remote_id) VALUES ($1, $2, $3, $4)")
                    .bind(tenant).bind(key).bind(request).bind(&remote_id)
                    .execute(&mut *tx).await.map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(Applied { remote_id })
            }};
        }
        match self {
            Ledger::Sqlite(p) => body!(p),
            Ledger::Pg(p) => body!(p),
        }
    }

    /// (records, distinct records) per tenant+kind+reference.
    async fn counts(&self) -> BoxResult<HashMap<(String, String, String), i64>> {
        use sqlx::Row as _;
        let q = "SELECT tenant, kind, external_ref, COUNT(*) AS n FROM fake_erp_records \
                 GROUP BY tenant, kind, external_ref";
        let mut out = HashMap::new();
        macro_rules! body {
            ($p:expr) => {{
                for r in sqlx::query(q).fetch_all($p).await? {
                    out.insert(
                        (
                            r.try_get("tenant")?,
                            r.try_get("kind")?,
                            r.try_get("external_ref")?,
                        ),
                        r.try_get::<i64, _>("n")?,
                    );
                }
            }};
        }
        match self {
            Ledger::Sqlite(p) => body!(p),
            Ledger::Pg(p) => body!(p),
        }
        Ok(out)
    }
}

struct FakeErp {
    ledger: Ledger,
    /// Milliseconds since `start` until which every call is rate limited (a 429 storm).
    storm_until: AtomicU64,
    start: Instant,
}

/// One tenant's connection to the fake ERP.
struct TenantErp {
    erp: Arc<FakeErp>,
    tenant: &'static str,
}

impl TenantErp {
    async fn write(&self, op: WriteOp, key: &IdempotencyKey) -> HubResult<RemoteRef> {
        let erp = &self.erp;
        let now = u64::try_from(erp.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let roll: u32 = rand::random_range(0..1000);
        if now < erp.storm_until.load(Ordering::Relaxed) {
            return Err(Error::RateLimited {
                retry_after: Some(Duration::from_millis(150)),
            });
        }
        if roll < 5 {
            // A storm starts: 429 with Retry-After for everyone for the next 300 ms.
            erp.storm_until.store(now + 300, Ordering::Relaxed);
            return Err(Error::RateLimited {
                retry_after: Some(Duration::from_millis(150)),
            });
        }
        if roll < 55 {
            return Err(Error::transient("503 Service Unavailable"));
        }
        if roll < 80 {
            return Err(Error::transient(
                "connection reset before the request was sent",
            ));
        }
        let kind = op.kind();
        let (external_ref, deps, upsert) = describe(&op);
        let request =
            serde_json::to_string(&op).map_err(|e| Error::invalid("op", e.to_string()))?;
        let applied = erp
            .ledger
            .apply(FakeWrite {
                tenant: self.tenant,
                kind,
                external_ref: &external_ref,
                key: key.as_str(),
                request: &request,
                deps: &deps,
                upsert,
            })
            .await?;
        tokio::time::sleep(Duration::from_micros(200)).await;
        if roll < 180 {
            return Err(Error::uncertain(
                "read timed out after the provider applied the write",
            ));
        }
        if roll < 205 {
            return Err(Error::uncertain(
                "connection dropped after the request was sent",
            ));
        }
        Ok(RemoteRef::new("fake-erp", applied.remote_id))
    }
}

fn describe(op: &WriteOp) -> (String, Vec<(EntityKind, String)>, bool) {
    match op {
        WriteOp::UpsertCustomer(c) => (c.external_ref.clone(), vec![], true),
        WriteOp::UpsertItem(i) => (i.external_ref.clone(), vec![], true),
        WriteOp::CreateInvoice(i) => {
            let mut d = vec![(EntityKind::Customer, i.customer.external_ref.clone())];
            d.extend(
                i.lines
                    .iter()
                    .filter_map(|l| l.item.clone())
                    .map(|r| (EntityKind::Item, r)),
            );
            (i.external_ref.clone(), d, false)
        }
        WriteOp::RecordPayment(p) => (
            p.external_ref.clone(),
            p.applications
                .iter()
                .map(|a| (EntityKind::Invoice, a.invoice.external_ref.clone()))
                .collect(),
            false,
        ),
        WriteOp::CreateCreditNote(c) => (
            c.external_ref.clone(),
            vec![(EntityKind::Invoice, c.invoice.external_ref.clone())],
            false,
        ),
        WriteOp::VoidInvoice(r) => (format!("void:{}", r.id), vec![], false),
        _ => (String::new(), vec![], false),
    }
}

#[async_trait::async_trait]
impl ErpAdapter for TenantErp {
    fn provider(&self) -> &'static str {
        "fake-erp"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
    }
    async fn test_connection(&self) -> HubResult<CompanyInfo> {
        Ok(CompanyInfo::new(self.tenant, self.tenant))
    }
    async fn upsert_customer(&self, c: &Customer, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::UpsertCustomer(c.clone()), k).await
    }
    async fn upsert_item(&self, i: &Item, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::UpsertItem(i.clone()), k).await
    }
    async fn create_invoice(&self, i: &Invoice, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::CreateInvoice(i.clone()), k).await
    }
    async fn void_invoice(&self, r: &RemoteRef, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::VoidInvoice(r.clone()), k).await
    }
    async fn record_payment(&self, p: &Payment, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::RecordPayment(p.clone()), k).await
    }
    async fn create_credit_note(&self, c: &CreditNote, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(WriteOp::CreateCreditNote(c.clone()), k).await
    }
    async fn get(&self, kind: EntityKind, id: &str) -> HubResult<RemoteRecord> {
        Err(Error::not_found(kind.as_str(), id))
    }
    async fn list_changed_since(
        &self,
        _: &[EntityKind],
        _: Option<&ChangeCursor>,
    ) -> HubResult<ChangePage> {
        Err(Error::unsupported("list_changed_since"))
    }
}

struct Tally {
    duplicates: i64,
    lost: i64,
    dead: i64,
    log_complete: bool,
}

impl Tally {
    fn line(&self, records: usize) -> String {
        format!(
            "records={records} duplicates={} lost={} dead_letters={} log_complete={}",
            self.duplicates, self.lost, self.dead, self.log_complete
        )
    }
}

/// Counts from the ERP's tables and the store: a duplicate is a second ERP record for one reference; a lost
/// record is one enqueued but neither in the ERP nor a dead letter (or waiting on one), or done in the store
/// but absent from the ERP.
async fn verify(
    phase: &str,
    store: &Arc<dyn HubStore>,
    erp: &Ledger,
    expected: usize,
) -> BoxResult<Tally> {
    let in_erp = erp.counts().await?;
    let duplicates: i64 = in_erp.values().map(|n| n - 1).sum();
    let rows = store.records(&RecordFilter::all()).await?;
    let mut lost = i64::try_from(expected.saturating_sub(rows.len()))?;
    let mut dead = 0;
    let mut log_complete = true;
    let status = store.status().await?;
    let blocked: u64 = status.iter().map(|s| s.blocked).sum();
    let claimed: u64 = status.iter().map(|s| s.claimed).sum();
    let queued: u64 = status.iter().map(|s| s.queued).sum();
    if claimed > 0 || queued != blocked {
        println!("{phase}: not settled: queued {queued} blocked {blocked} claimed {claimed}");
        log_complete = false;
    }
    for r in &rows {
        let key = (
            r.scope.tenant.clone(),
            r.kind.as_str().to_owned(),
            r.external_ref.clone(),
        );
        let held = in_erp.contains_key(&key);
        let full = store.record(r.id).await?.ok_or("record vanished")?;
        let last = full.history.last().map(|h| h.outcome.as_str());
        let entries_match = full.history.len() == full.attempts as usize;
        match r.state {
            RecordState::Done => {
                if !held {
                    lost += 1;
                }
                log_complete &= entries_match
                    && full.remote.is_some()
                    && matches!(last, Some("done" | "reconciled"));
            }
            RecordState::Dead => {
                dead += 1;
                if dead <= 3 {
                    let e = full
                        .last_error
                        .as_ref()
                        .map(|e| format!("{:?}: {}", e.kind, e.message));
                    println!(
                        "{phase}: dead letter {} {} after {} attempts: {}",
                        r.kind,
                        r.external_ref,
                        full.attempts,
                        e.unwrap_or_default()
                    );
                }
                log_complete &= entries_match && last == Some("dead") && full.last_error.is_some();
            }
            RecordState::Queued => log_complete &= entries_match,
            RecordState::Claimed => log_complete = false,
            _ => log_complete = false,
        }
    }
    Ok(Tally {
        duplicates,
        lost,
        dead,
        log_complete,
    })
}
