//! Shared fixtures of the hub tests: records, stores for each backend.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use erp_hub_core::hub::{HubStore, MemoryStore, PgStore, SqliteStore};

pub fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")
}

#[allow(unused_imports)]
pub use erp_hub_core::testing::family;

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
