//! Token stores in the hub's database: round trip, rotation, encryption at rest, wrong key, tampering.

mod hub_common;

use std::sync::Arc;

use erp_hub_core::ErrorKind;
use erp_hub_core::http::{SecretString, TokenSet, TokenStore};
use erp_hub_core::hub::{PgStore, PgTokenStore, SqliteStore, SqliteTokenStore, TokenCipher};
use secrecy::ExposeSecret;

const ACCESS: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.access-secret-value";
const REFRESH: &str = "AB11795585434refresh-secret-value";

fn tokens(refresh: &str) -> TokenSet {
    TokenSet::new(SecretString::from(ACCESS))
        .with_refresh_token(SecretString::from(refresh))
        .with_expires_at(chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap())
        .with_scope("com.intuit.quickbooks.accounting")
        .with_token_type("bearer")
}

async fn round_trip<S: TokenStore + std::fmt::Debug>(store: Arc<S>, wrong: Arc<S>) {
    assert!(store.load("realm-1").await.unwrap().is_none());
    store.save("realm-1", &tokens(REFRESH)).await.unwrap();
    let t = store.load("realm-1").await.unwrap().unwrap();
    assert_eq!(t.access_token.expose_secret(), ACCESS);
    assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), REFRESH);
    assert_eq!(t.expires_at, tokens(REFRESH).expires_at);
    assert_eq!(t.scope.as_deref(), Some("com.intuit.quickbooks.accounting"));
    // Rotation replaces the row.
    store
        .save("realm-1", &tokens("rotated-refresh"))
        .await
        .unwrap();
    let t = store.load("realm-1").await.unwrap().unwrap();
    assert_eq!(t.refresh_token.unwrap().expose_secret(), "rotated-refresh");
    // Another key cannot open it, and says so without leaking anything.
    let err = wrong.load("realm-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.to_string().contains("rotated-refresh"));
    let dbg = format!("{store:?}");
    assert!(!dbg.contains(ACCESS) && !dbg.contains("0101"), "{dbg}");
}

fn cipher(byte: u8) -> TokenCipher {
    TokenCipher::new(&[byte; 32])
}

#[tokio::test]
async fn sqlite_tokens_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let hub = SqliteStore::open(&path).await.unwrap();
    let store = Arc::new(SqliteTokenStore::new(hub.pool().clone(), cipher(1)));
    let wrong = Arc::new(SqliteTokenStore::new(hub.pool().clone(), cipher(2)));
    round_trip(store.clone(), wrong).await;
    // Neither token is anywhere in the database file (WAL included).
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(hub.pool())
        .await
        .unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        for secret in [ACCESS, "rotated-refresh", REFRESH] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} found in plain text on disk"
            );
        }
    }
    // A sealed value moved to another row does not open (the row key is authenticated).
    sqlx::query("INSERT INTO hub_tokens (key, nonce, sealed, updated_at) SELECT 'realm-2', nonce, sealed, 0 FROM hub_tokens WHERE key = 'realm-1'")
        .execute(hub.pool())
        .await
        .unwrap();
    assert_eq!(
        store.load("realm-2").await.unwrap_err().kind(),
        ErrorKind::Config
    );
    // A flipped bit is detected.
    sqlx::query("UPDATE hub_tokens SET sealed = substr(sealed, 1, 10) || x'00' || substr(sealed, 12) WHERE key = 'realm-1'")
        .execute(hub.pool())
        .await
        .unwrap();
    assert_eq!(
        store.load("realm-1").await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn pg_tokens_are_sealed_at_rest() {
    let hub = PgStore::connect(&hub_common::fresh_pg_database().await)
        .await
        .unwrap();
    let store = Arc::new(PgTokenStore::new(hub.pool().clone(), cipher(7)));
    let wrong = Arc::new(PgTokenStore::new(hub.pool().clone(), cipher(8)));
    round_trip(store, wrong).await;
    use sqlx::Row as _;
    let row = sqlx::query("SELECT sealed FROM hub_tokens WHERE key = 'realm-1'")
        .fetch_one(hub.pool())
        .await
        .unwrap();
    let sealed: Vec<u8> = row.try_get("sealed").unwrap();
    assert!(!sealed.windows(7).any(|w| w == b"rotated"));
}

#[test]
fn cipher_from_hex_rejects_bad_keys_without_echoing_them() {
    assert!(TokenCipher::from_hex(&SecretString::from("ab".repeat(32))).is_ok());
    let err = TokenCipher::from_hex(&SecretString::from("zz-secret-zz")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.to_string().contains("secret"));
    assert_eq!(format!("{:?}", cipher(3)), "TokenCipher([redacted])");
}
