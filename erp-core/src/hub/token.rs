//! OAuth token stores in the hub's database, tokens encrypted at rest (features `sqlite` / `postgres`).
//!
//! Each row of `hub_tokens` holds one [`TokenSet`] serialized to JSON and sealed with ChaCha20-Poly1305
//! (RustCrypto `chacha20poly1305`) under a 256-bit key you supply, with a fresh random 96-bit nonce per write
//! and the row's key as associated data (a sealed value copied to another row does not open). Nothing in
//! the table — access token, refresh token, expiry, scope — is readable without the key; a wrong key or a
//! tampered row is an [`ErrorKind::Config`](crate::ErrorKind::Config) error. Keys and tokens never appear in
//! `Debug` output or logs.

use std::fmt;

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::http::TokenSet;
use crate::{Error, Result};

/// The encryption key of a token store: 32 bytes from your secret manager (e.g. `openssl rand 32`).
#[derive(Clone)]
pub struct TokenCipher {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// A cipher over a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(*key)),
        }
    }

    /// A cipher over a key given as 64 hexadecimal digits.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for anything but 64 hex digits (the value is not echoed).
    pub fn from_hex(hex: &SecretString) -> Result<Self> {
        let hex = hex.expose_secret().trim();
        let bad = || Error::config("token store: the encryption key must be 64 hexadecimal digits");
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (b, pair) in key.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            *b = u8::from_str_radix(s, 16).map_err(|_| bad())?;
        }
        Ok(Self::new(&key))
    }

    pub(crate) fn seal(&self, row_key: &str, tokens: &TokenSet) -> Result<(Vec<u8>, Vec<u8>)> {
        let plain = serde_json::to_vec(&Plain::from(tokens))
            .map_err(|e| Error::config(format!("token store: {e}")))?;
        let nonce = Nonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plain,
                    aad: row_key.as_bytes(),
                },
            )
            .map_err(|_| Error::config("token store: encryption failed"))?;
        Ok((nonce.to_vec(), sealed))
    }

    pub(crate) fn open(&self, row_key: &str, nonce: &[u8], sealed: &[u8]) -> Result<TokenSet> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| Error::config(format!("token store: row `{row_key}` has a bad nonce")))?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: row_key.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::config(format!(
                    "token store: cannot decrypt the tokens of `{row_key}`: wrong encryption key or a \
                     tampered row"
                ))
            })?;
        let p: Plain = serde_json::from_slice(&plain)
            .map_err(|e| Error::config(format!("token store: row `{row_key}`: {e}")))?;
        Ok(p.into_tokens())
    }
}

/// The serialized form, only ever inside the sealed box.
#[derive(Serialize, Deserialize)]
struct Plain {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    scope: Option<String>,
    token_type: Option<String>,
}

impl From<&TokenSet> for Plain {
    fn from(t: &TokenSet) -> Self {
        Self {
            access_token: t.access_token.expose_secret().to_owned(),
            refresh_token: t
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_owned()),
            expires_at: t.expires_at,
            refresh_token_expires_at: t.refresh_token_expires_at,
            scope: t.scope.clone(),
            token_type: t.token_type.clone(),
        }
    }
}

impl Plain {
    fn into_tokens(self) -> TokenSet {
        let mut t = TokenSet::new(SecretString::from(self.access_token));
        if let Some(r) = self.refresh_token {
            t = t.with_refresh_token(SecretString::from(r));
        }
        if let Some(e) = self.expires_at {
            t = t.with_expires_at(e);
        }
        if let Some(e) = self.refresh_token_expires_at {
            t = t.with_refresh_token_expires_at(e);
        }
        if let Some(s) = self.scope {
            t = t.with_scope(s);
        }
        if let Some(s) = self.token_type {
            t = t.with_token_type(s);
        }
        t
    }
}

const LOAD: &str = "SELECT nonce, sealed FROM hub_tokens WHERE key = $1";
const SAVE: &str = "INSERT INTO hub_tokens (key, nonce, sealed, updated_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (key) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed, \
     updated_at = excluded.updated_at";

macro_rules! token_store {
    ($(#[$doc:meta])* $name:ident, $pool:ty, $feature:literal) => {
        $(#[$doc])*
        #[cfg(feature = $feature)]
        #[derive(Clone)]
        pub struct $name {
            pool: $pool,
            cipher: TokenCipher,
        }

        #[cfg(feature = $feature)]
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        #[cfg(feature = $feature)]
        impl $name {
            /// A token store in the database of `pool` (the hub's migrations create its table: open the hub
            /// store first and pass its pool).
            pub fn new(pool: $pool, cipher: TokenCipher) -> Self {
                Self { pool, cipher }
            }
        }

        #[cfg(feature = $feature)]
        #[async_trait::async_trait]
        impl crate::http::TokenStore for $name {
            async fn load(&self, key: &str) -> Result<Option<TokenSet>> {
                use sqlx::Row as _;
                let e = |err| super::sql::db_error("token load", err);
                let row = sqlx::query(LOAD).bind(key).fetch_optional(&self.pool).await.map_err(e)?;
                match row {
                    Some(row) => {
                        let nonce: Vec<u8> = row.try_get("nonce").map_err(e)?;
                        let sealed: Vec<u8> = row.try_get("sealed").map_err(e)?;
                        self.cipher.open(key, &nonce, &sealed).map(Some)
                    }
                    None => Ok(None),
                }
            }

            async fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
                let (nonce, sealed) = self.cipher.seal(key, tokens)?;
                sqlx::query(SAVE)
                    .bind(key)
                    .bind(nonce)
                    .bind(sealed)
                    .bind(Utc::now().timestamp_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(|err| super::sql::db_error("token save", err))?;
                Ok(())
            }
        }
    };
}

token_store!(
    /// A [`TokenStore`](crate::http::TokenStore) in the hub's SQLite file, tokens encrypted with a
    /// [`TokenCipher`].
    SqliteTokenStore,
    sqlx::SqlitePool,
    "sqlite"
);
token_store!(
    /// A [`TokenStore`](crate::http::TokenStore) in the hub's PostgreSQL database, tokens encrypted with a
    /// [`TokenCipher`].
    PgTokenStore,
    sqlx::PgPool,
    "postgres"
);
