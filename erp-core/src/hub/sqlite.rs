//! [`SqliteStore`]: the hub's embedded store, one SQLite file (feature `sqlite`).

use std::path::Path;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::sql::{db_error, migrate_error, sql_store};
use crate::Result;

/// Latest schema version this build knows.
const LATEST: i64 = 5;

fn migrator() -> Migrator {
    let mut m = Migrator::with_migrations(vec![
        Migration::new(
            1,
            "hub".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!("../../migrations/sqlite/0001_hub.sql")),
            false,
        ),
        Migration::new(
            2,
            "claim index".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!("../../migrations/sqlite/0002_claim_index.sql")),
            false,
        ),
        Migration::new(
            3,
            "numbers".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!("../../migrations/sqlite/0003_numbers.sql")),
            false,
        ),
        Migration::new(
            4,
            "fiscal journal".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/sqlite/0004_fiscal_journal.sql"
            )),
            false,
        ),
        Migration::new(
            5,
            "fiscal cancellations".into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!(
                "../../migrations/sqlite/0005_fiscal_cancellations.sql"
            )),
            false,
        ),
    ]);
    m.dangerous_set_table_name("_erp_hub_migrations");
    m
}

/// The hub's store in one SQLite file: the embedded default (one process, many tasks).
///
/// - `journal_mode=WAL`: readers (status queries) do not block the writer.
/// - `synchronous=FULL`: every commit (enqueue, claim, completion) is on disk before it returns, so an
///   enqueued record survives a power cut. `NORMAL` would be faster but may lose the last commits on power
///   loss (not on a process crash); losing a completion is harmless (the re-send uses the same key and the
///   provider replays), losing an enqueue is not, so FULL is the default.
/// - `busy_timeout=10s`: writers queue for the single write lock instead of failing.
/// - Every write transaction starts with `BEGIN IMMEDIATE` (the write lock is taken up front, so two claims
///   never interleave and no deferred transaction fails while upgrading to a writer).
/// - Times come from this process's clock: use one process per file (many tasks are fine).
///
/// The schema is created and migrated on [`open`](Self::open) (table `_erp_hub_migrations`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    journal_writer: super::journal::JournalWriter,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the file is not an SQLite database or was written
    /// by a newer erp-hub-core (an unknown schema version); [`ErrorKind::Transient`](crate::ErrorKind::Transient)
    /// when it cannot be opened.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(options).await
    }

    /// Opens a database with your own options (WAL, `synchronous`, …) and migrates it.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn connect(options: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| db_error("open", e))?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| migrate_error(e, LATEST))?;
        Ok(Self {
            pool,
            journal_writer: Default::default(),
        })
    }

    /// The connection pool (the same database can hold your own tables and the token store).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) fn journal_writer(&self) -> &super::journal::JournalWriter {
        &self.journal_writer
    }

    pub(super) async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| db_error("begin", e))
    }

    async fn now(_tx: &mut Transaction<'static, Sqlite>) -> Result<i64> {
        Ok(chrono::Utc::now().timestamp_millis())
    }
}

sql_store!(SqliteStore, Sqlite, "", false);
