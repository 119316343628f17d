//! OAuth2 authorization-code flow for QuickBooks Online (confidential client, no PKCE).
//!
//! 1. [`Authorization::new`] makes the consent URL with a random `state`; keep the state in the user's session.
//! 2. Intuit redirects to your URI with `code`, `state` and `realmId`; [`exchange_code`] checks the state
//!    (constant time), exchanges the code and saves the tokens in your [`TokenStore`] under the realm id.
//! 3. From then on the [`TokenManager`](erp_hub_core::http::TokenManager) of the
//!    [`QuickBooksClient`](crate::QuickBooksClient) refreshes the access token (one refresh for all concurrent
//!    callers, the rotated refresh token saved before it is used). A rejected refresh (`invalid_grant`) is
//!    [`Error::Auth`]: ask the user to connect again, nothing is retried.
//!
//! # Starting from a token you already have
//! Skip the flow: put the tokens in the store under the realm id and build the adapter. The first call refreshes
//! the access token when it is expired (or has no expiry and is rejected once).
//!
//! ```no_run
//! use std::sync::Arc;
//! use erp_quickbooks::{Environment, InMemoryTokenStore, QuickBooksAdapter, QuickBooksConfig, TokenSet, TokenStore};
//!
//! # fn demo() -> erp_hub_core::Result<()> {
//! let store = Arc::new(InMemoryTokenStore::new());
//! store.insert("9130357992221046", TokenSet::new("ACCESS-TOKEN").with_refresh_token("REFRESH-TOKEN"));
//! let config = QuickBooksConfig::new(Environment::Sandbox, "9130357992221046", "CLIENT_ID", "CLIENT_SECRET")?;
//! let qbo = QuickBooksAdapter::new(config, store as Arc<dyn TokenStore>)?;
//! # let _ = qbo; Ok(()) }
//! ```

use std::fmt;

use base64::Engine;
use erp_hub_core::http::{OAuth2Client, TokenSet, TokenStore, Url};
use erp_hub_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{ACCOUNTING_SCOPE, AUTHORIZATION_URL};

/// A consent URL and the `state` that must come back with the redirect. `Debug` hides the state.
#[derive(Clone)]
pub struct Authorization {
    /// Send the user here.
    pub url: Url,
    /// Keep this (server side) and compare it with the redirect's `state`.
    pub state: SecretString,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("url", &"[contains state]")
            .finish_non_exhaustive()
    }
}

impl Authorization {
    /// The consent URL for `client_id` and `redirect_uri` with scope `com.intuit.quickbooks.accounting` and a
    /// fresh 256-bit random state.
    ///
    /// # Errors
    /// [`Error::Config`] when the endpoint URL is invalid.
    pub fn new(client_id: &str, redirect_uri: &str) -> Result<Self> {
        Self::with_endpoint(
            AUTHORIZATION_URL,
            client_id,
            redirect_uri,
            &[ACCOUNTING_SCOPE],
        )
    }

    /// As [`new`](Self::new) with another endpoint and scopes.
    ///
    /// # Errors
    /// [`Error::Config`] when the endpoint URL is invalid.
    pub fn with_endpoint(
        endpoint: &str,
        client_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> Result<Self> {
        let bytes: [u8; 32] = rand::random();
        let state = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut url = Url::parse(endpoint)
            .map_err(|e| Error::config(format!("invalid authorization URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(" "))
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", &state);
        Ok(Self {
            url,
            state: state.into(),
        })
    }
}

/// What Intuit sent to the redirect URI.
#[derive(Clone)]
#[non_exhaustive]
pub struct Callback {
    /// The authorization code.
    pub code: SecretString,
    /// The state echoed back.
    pub state: String,
    /// The company id.
    pub realm_id: String,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("realm_id", &self.realm_id)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// Parses the redirect's query string (`code=...&state=...&realmId=...`). An `error=` parameter (the user
    /// declined) is [`Error::Auth`].
    ///
    /// # Errors
    /// [`Error::Auth`] for a declined consent, [`Error::Validation`] for missing parameters.
    pub fn from_query(query: &str) -> Result<Self> {
        let mut code = None;
        let mut state = None;
        let mut realm = None;
        for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "realmId" => realm = Some(v.into_owned()),
                "error" => return Err(Error::auth(format!("consent refused: {v}"))),
                _ => {}
            }
        }
        Ok(Self {
            code: code
                .ok_or_else(|| Error::invalid("code", "missing from the redirect"))?
                .into(),
            state: state.ok_or_else(|| Error::invalid("state", "missing from the redirect"))?,
            realm_id: realm
                .ok_or_else(|| Error::invalid("realmId", "missing from the redirect"))?,
        })
    }
}

/// Checks the state, exchanges the code at the token endpoint and saves the tokens under `callback.realm_id`.
/// Returns the realm id. Call [`TokenManager::invalidate`](erp_hub_core::http::TokenManager::invalidate) on a
/// running client for that realm afterwards.
///
/// # Errors
/// [`Error::Auth`] when the state does not match or Intuit rejects the code; store errors as returned.
pub async fn exchange_code(
    oauth: &OAuth2Client,
    store: &dyn TokenStore,
    expected_state: &SecretString,
    callback: &Callback,
    redirect_uri: &str,
) -> Result<(String, TokenSet)> {
    if !erp_hub_core::http::wire::ct_eq(
        expected_state.expose_secret().as_bytes(),
        callback.state.as_bytes(),
    ) {
        return Err(Error::auth(
            "OAuth state mismatch: the redirect does not belong to this session",
        ));
    }
    let tokens = oauth
        .authorization_code_grant(&callback.code, redirect_uri, None)
        .await?;
    store.save(&callback.realm_id, &tokens).await?;
    Ok((callback.realm_id.clone(), tokens))
}
