//! The hub's stores on bad input: a corrupt or foreign database file, a schema from a newer version.

mod hub_common;

use erp_hub_core::ErrorKind;
use erp_hub_core::hub::{PgStore, SqliteStore};
use hub_common::*;

#[tokio::test]
async fn sqlite_corrupt_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    std::fs::write(
        &path,
        b"this is not an SQLite database, just some bytes".repeat(200),
    )
    .unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("not a database"), "{err}");
    // The file was not touched.
    assert!(
        std::fs::read(&path)
            .unwrap()
            .starts_with(b"this is not an SQLite")
    );
}

#[tokio::test]
async fn sqlite_foreign_database_with_a_clashing_table_is_a_config_error() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE hub_records (id INTEGER PRIMARY KEY, something_else TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("hub_records"), "{err}");
}

#[tokio::test]
async fn sqlite_other_tables_are_left_alone() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE bookings (id INTEGER PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let store = SqliteStore::open(&path)
        .await
        .expect("hub tables join the app's database");
    sqlx::query("SELECT count(*) FROM bookings")
        .fetch_one(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_schema_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO _erp_hub_migrations (version, description, success, checksum, execution_time) \
         VALUES (3, 'from the future', 1, x'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    drop(store);
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("schema version 3, newer"), "{err}");
    // Reopening an up-to-date database is fine.
    let dir2 = tempfile::tempdir().unwrap();
    SqliteStore::open(dir2.path().join("a.db")).await.unwrap();
    SqliteStore::open(dir2.path().join("a.db")).await.unwrap();
}

#[tokio::test]
async fn pg_schema_from_a_newer_version_is_refused() {
    let url = fresh_pg_database().await;
    let store = PgStore::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _erp_hub_migrations (version, description, success, checksum, execution_time) \
         VALUES (3, 'from the future', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let err = PgStore::connect(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("schema version 3, newer"), "{err}");
}

#[tokio::test]
async fn pg_unreachable_is_transient_and_bad_url_is_config() {
    let err = PgStore::connect("postgres://postgres@127.0.0.1:1/nothing")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    let err = PgStore::connect("postgres://user@host:notaport/db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}
