//! [`PgStore`]: the hub's store in PostgreSQL, for many worker processes (feature `postgres`).

use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::sql::{db_error, migrate_error, sql_store};
use crate::Result;

/// Latest schema version this build knows.
const LATEST: i64 = 6;

fn migrator() -> Migrator {
    let mut m = Migrator::with_migrations(vec![
        Migration::new(
            1,
            "hub".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!("../../migrations/postgres/0001_hub.sql")),
            false,
        ),
        Migration::new(
            2,
            "claim index".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/postgres/0002_claim_index.sql"
            )),
            false,
        ),
        Migration::new(
            3,
            "numbers".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!("../../migrations/postgres/0003_numbers.sql")),
            false,
        ),
        Migration::new(
            4,
            "fiscal journal".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/postgres/0004_fiscal_journal.sql"
            )),
            false,
        ),
        Migration::new(
            5,
            "fiscal cancellations".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/postgres/0005_fiscal_cancellations.sql"
            )),
            false,
        ),
        Migration::new(
            6,
            "partial claim indexes".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/postgres/0006_partial_claim_indexes.sql"
            )),
            false,
        ),
    ]);
    m.dangerous_set_table_name("_erp_hub_migrations");
    m
}

/// The hub's store in PostgreSQL: many worker processes on many machines share one database.
///
/// - Claims select ready rows with `FOR UPDATE OF r SKIP LOCKED`, so concurrent workers never block on or
///   claim the same row, and set a lease: `locked_by`, `locked_until` and a random `lease_token`.
/// - Lease times, retry times and log times come from the database (`clock_timestamp()`), never the worker's
///   clock, so clock skew between machines cannot expire a lease early.
/// - A worker renews its lease with [`heartbeat`](super::HubStore::heartbeat) while a call runs. When a lease
///   expires the record is claimable again; the earlier attempt is logged as `lease_expired`, and the new
///   worker sends it with the same idempotency key. The first worker's completion is refused (its token no
///   longer matches) with [`Error::Conflict`](crate::Error::Conflict), so it cannot overwrite the new result.
/// - Idle workers poll (no `LISTEN/NOTIFY` yet); finished rows stay in the table as the sync log.
/// - TLS is not compiled in: enable one of sqlx's TLS features in your own manifest for a remote server.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (e.g. `postgres://user@host/db`) and migrates the schema (under an advisory lock, so
    /// many processes may start at once).
    ///
    /// # Errors
    /// [`ErrorKind::Transient`](crate::ErrorKind::Transient) when the server cannot be reached;
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a bad URL or a schema from a newer erp-hub-core.
    pub async fn connect(url: &str) -> Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| crate::Error::config(format!("hub store: bad PostgreSQL URL: {e}")))?;
        Self::connect_with(options, 8).await
    }

    /// Connects with your own options and pool size, and migrates the schema.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    ///
    /// The store's sessions run with `jit = off`: its statements are short index walks, and JIT compilation of
    /// the status query (whose estimated cost crosses `jit_above_cost` on a table without statistics yet) took
    /// ~0.5 s of CPU per call at 10,000 records instead of ~0.1 s without it.
    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Self> {
        let options = options.options([("jit", "off")]);
        // No ping before each acquire (a round trip per statement): sqlx already pings a connection when it
        // goes back to the pool and drops it if broken; a connection that died while idle fails its statement
        // with a transient error (nothing committed, or a commit the lease and idempotency key make safe), and
        // is dropped.
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| db_error("connect", e))?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| migrate_error(e, LATEST))?;
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) async fn write_tx(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(|e| db_error("begin", e))
    }

    async fn now(tx: &mut Transaction<'static, Postgres>) -> Result<i64> {
        use sqlx::Row as _;
        let row =
            sqlx::query("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now")
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| db_error("now", e))?;
        row.try_get("now").map_err(|e| db_error("now", e))
    }
}

sql_store!(PgStore, Postgres, " FOR UPDATE OF r SKIP LOCKED", true);
