//! OAuth2 tokens per tenant: storage, refresh, and a single-flight [`TokenManager`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::{Error, ErrorKind, Result};

/// The tokens of one tenant. `Debug` redacts both tokens.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenSet {
    /// The bearer token sent to the API.
    pub access_token: SecretString,
    /// The refresh token, when the grant issued one. May rotate on every refresh (Xero, QuickBooks, FreshBooks).
    pub refresh_token: Option<SecretString>,
    /// When the access token expires (`None`: unknown, treated as valid until the API answers `401`).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires, when the provider says (Intuit `x_refresh_token_expires_in`, Keycloak
    /// `refresh_expires_in`).
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Granted scopes (space separated), when reported.
    pub scope: Option<String>,
    /// Token type as reported (normally `Bearer`).
    pub token_type: Option<String>,
}

impl TokenSet {
    /// A token set with just an access token.
    pub fn new(access_token: impl Into<SecretString>) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            expires_at: None,
            refresh_token_expires_at: None,
            scope: None,
            token_type: None,
        }
    }

    /// Sets the refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: impl Into<SecretString>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Sets the access token expiry.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: DateTime<Utc>) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the refresh token expiry.
    #[must_use]
    pub fn with_refresh_token_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.refresh_token_expires_at = Some(at);
        self
    }

    /// Sets the granted scope.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the token type.
    #[must_use]
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = Some(token_type.into());
        self
    }

    /// Whether the access token is still usable at `now` with `skew` of margin (unknown expiry counts as usable).
    pub fn is_fresh(&self, now: DateTime<Utc>, skew: Duration) -> bool {
        let skew = chrono::Duration::from_std(skew).unwrap_or(chrono::Duration::MAX);
        match self.expires_at {
            None => true,
            Some(exp) => now.checked_add_signed(skew).is_some_and(|t| t < exp),
        }
    }

    /// Whether the refresh token is known to have expired at `now`.
    pub fn refresh_token_expired(&self, now: DateTime<Utc>) -> bool {
        self.refresh_token_expires_at.is_some_and(|exp| exp <= now)
    }

    fn same_tokens(&self, other: &Self) -> bool {
        self.access_token.expose_secret() == other.access_token.expose_secret()
            && self.refresh_token.as_ref().map(ExposeSecret::expose_secret)
                == other
                    .refresh_token
                    .as_ref()
                    .map(ExposeSecret::expose_secret)
    }
}

fn same(a: Option<&TokenSet>, b: Option<&TokenSet>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same_tokens(b),
        _ => false,
    }
}

/// Where token sets are persisted, one per tenant key. Implement it over your database or secret manager.
///
/// Refresh tokens rotate: [`save`](Self::save) must be durable before it returns, because the
/// [`TokenManager`] hands out the new access token only after `save` succeeded.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The tokens stored for `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<TokenSet>>;
    /// Stores (replaces) the tokens for `key`.
    async fn save(&self, key: &str, tokens: &TokenSet) -> Result<()>;
}

/// A [`TokenStore`] in process memory (tests, short-lived tools). Tokens are lost on exit.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    tokens: Mutex<HashMap<String, TokenSet>>,
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `tokens` for `key` (synchronous, for set-up).
    pub fn insert(&self, key: impl Into<String>, tokens: TokenSet) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.into(), tokens);
    }

    /// The tokens for `key` (synchronous).
    pub fn get(&self, key: &str) -> Option<TokenSet> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }
}

#[async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        Ok(self.get(key))
    }

    async fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        self.insert(key, tokens.clone());
        Ok(())
    }
}

/// How to obtain a new [`TokenSet`] when the current one expired: a refresh-token grant
/// ([`OAuth2Client`](crate::http::OAuth2Client)), a password grant
/// ([`PasswordGrantRefresher`](crate::http::PasswordGrantRefresher), Hacienda's Keycloak), or anything else.
#[async_trait]
pub trait TokenRefresher: Send + Sync {
    /// Returns new tokens for `key`. `current` is what the store holds (possibly `None`).
    ///
    /// Return [`Error::Auth`] when the grant was rejected (`invalid_grant`, `401`): the user must re-consent,
    /// and the manager will not retry with the same tokens.
    async fn refresh(&self, key: &str, current: Option<&TokenSet>) -> Result<TokenSet>;
}

/// Per-key single-flight state.
#[derive(Default)]
struct Slot {
    /// Serialises refreshes of one key. Callers queue here while a refresh runs.
    lock: tokio::sync::Mutex<SlotState>,
    /// Number of refresh attempts that finished; lets a waiter see that a refresh completed while it waited.
    finished: AtomicU64,
    /// The last tokens loaded from or saved to the store, so that a valid token costs no store round trip.
    cached: Mutex<Option<TokenSet>>,
}

impl Slot {
    fn cached(&self) -> Option<TokenSet> {
        self.cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn cache(&self, tokens: Option<&TokenSet>) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = tokens.cloned();
    }
}

#[derive(Default)]
struct SlotState {
    /// The outcome of the last failed refresh, with the tokens it tried to refresh.
    last_failure: Option<Failure>,
    /// Refreshed tokens whose `save` failed: saved (and only then used) by the next caller.
    unsaved: Option<TokenSet>,
}

struct Failure {
    stale: Option<TokenSet>,
    error: Error,
    finished_at: u64,
}

/// Hands out valid access tokens per tenant key, refreshing them through a [`TokenRefresher`] with
/// **single-flight** semantics:
///
/// - N concurrent callers on an expired (or within `skew` of expiry) token cause exactly one refresh; they all
///   get its result.
/// - The refreshed [`TokenSet`] (with a rotated refresh token) is saved to the [`TokenStore`] **before** any
///   caller receives the new access token. If saving fails, the error is returned and the next call retries
///   the save.
/// - A refresh rejected with [`ErrorKind::Auth`] is remembered for those stale tokens: later callers get the same
///   `Auth` error without another token request, until new tokens are stored (re-consent).
/// - [`force_refresh`](Self::force_refresh) (after a `401`) refreshes at most once per stale token.
///
/// The manager keeps the last token per key in memory and reads the store only when that one is unusable.
/// Single-flight holds within one process (one `TokenManager`): when several processes share a store, give
/// the store its own lock around refreshes, or rely on the provider's grace period for the previous refresh
/// token (Xero: 30 minutes).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use erp_hub_core::http::*;
/// # async fn demo() -> erp_hub_core::Result<()> {
/// let store = Arc::new(InMemoryTokenStore::new());
/// store.insert("realm-1", TokenSet::new("access").with_refresh_token("refresh"));
/// let oauth = OAuth2Client::new(
///     "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
///     ClientCredentials::new("client-id", "client-secret"),
/// )?;
/// let manager = TokenManager::new(store, Arc::new(oauth));
/// let token = manager.access_token("realm-1").await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct TokenManager {
    store: Arc<dyn TokenStore>,
    refresher: Arc<dyn TokenRefresher>,
    skew: Duration,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager over `store` and `refresher`, refreshing 60 s before expiry.
    pub fn new(store: Arc<dyn TokenStore>, refresher: Arc<dyn TokenRefresher>) -> Self {
        Self {
            store,
            refresher,
            skew: Duration::from_secs(60),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Refreshes tokens that expire within `skew` (default 60 s).
    #[must_use]
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key.to_owned()).or_default())
    }

    /// A valid access token for `key`, refreshing (once, for all concurrent callers) when needed.
    ///
    /// # Errors
    /// [`Error::Auth`] when there are no tokens and the refresher cannot get any, or the refresh was rejected;
    /// store and transport errors as returned by the store / refresher.
    pub async fn access_token(&self, key: &str) -> Result<SecretString> {
        self.get(key, None).await
    }

    /// A new access token after the API rejected `stale` with `401`. If another caller already replaced `stale`,
    /// returns the current token without refreshing again.
    ///
    /// # Errors
    /// As [`access_token`](Self::access_token).
    pub async fn force_refresh(&self, key: &str, stale: &SecretString) -> Result<SecretString> {
        self.get(key, Some(stale)).await
    }

    /// Drops the in-memory copy of `key`'s tokens, so the next call reads the store again. Call it after writing
    /// new tokens to the store yourself (e.g. after the user re-consented). A remembered refresh failure applies
    /// only to the tokens that failed, so new tokens in the store are refreshed normally.
    pub fn invalidate(&self, key: &str) {
        self.slot(key).cache(None);
    }

    fn usable(&self, tokens: &TokenSet, stale: Option<&SecretString>) -> bool {
        self.usable_with_skew(tokens, stale, self.skew)
    }

    fn usable_with_skew(
        &self,
        tokens: &TokenSet,
        stale: Option<&SecretString>,
        skew: Duration,
    ) -> bool {
        let replaced =
            stale.is_none_or(|s| s.expose_secret() != tokens.access_token.expose_secret());
        replaced && tokens.is_fresh(Utc::now(), skew)
    }

    async fn get(&self, key: &str, stale: Option<&SecretString>) -> Result<SecretString> {
        let slot = self.slot(key);
        // Fast path: no lock while the cached or stored token is good.
        if let Some(t) = slot.cached()
            && self.usable(&t, stale)
        {
            return Ok(t.access_token);
        }
        if let Some(t) = self.store.load(key).await?
            && self.usable(&t, stale)
        {
            slot.cache(Some(&t));
            return Ok(t.access_token);
        }
        let seen = slot.finished.load(Ordering::Acquire);
        let mut st = slot.lock.lock().await;

        if let Some(pending) = st.unsaved.take() {
            if let Err(e) = self.store.save(key, &pending).await {
                st.unsaved = Some(pending);
                return Err(e);
            }
            tracing::debug!(
                tenant = key,
                "saved refreshed tokens after an earlier store failure"
            );
        }

        let current = self.store.load(key).await?;
        // A refresh that finished while we waited counts even for tokens shorter-lived than the skew.
        let refreshed_meanwhile = slot.finished.load(Ordering::Acquire) > seen;
        if let Some(t) = &current
            && (self.usable(t, stale)
                || (refreshed_meanwhile && self.usable_with_skew(t, stale, Duration::ZERO)))
        {
            slot.cache(Some(t));
            return Ok(t.access_token.clone());
        }
        if let Some(f) = &st.last_failure
            && same(f.stale.as_ref(), current.as_ref())
            && (f.error.kind() == ErrorKind::Auth || f.finished_at > seen)
        {
            // The refresh of exactly these tokens failed: permanently (Auth), or while we were waiting.
            return Err(share_error(&f.error));
        }

        tracing::debug!(tenant = key, "refreshing access token");
        let outcome = self.refresher.refresh(key, current.as_ref()).await;
        let finished_at = slot.finished.fetch_add(1, Ordering::AcqRel) + 1;
        match outcome {
            Ok(new) => {
                st.last_failure = None;
                if let Err(e) = self.store.save(key, &new).await {
                    tracing::warn!(tenant = key, error = %e, "could not save refreshed tokens");
                    st.unsaved = Some(new);
                    return Err(e);
                }
                slot.cache(Some(&new));
                Ok(new.access_token)
            }
            Err(e) => {
                tracing::warn!(tenant = key, error = %e, kind = ?e.kind(), "token refresh failed");
                st.last_failure = Some(Failure {
                    stale: current,
                    error: share_error(&e),
                    finished_at,
                });
                Err(e)
            }
        }
    }
}

/// A copy of `e` for handing one outcome to several callers (sources are flattened into the message).
pub(crate) fn share_error(e: &Error) -> Error {
    e.replicate()
}
