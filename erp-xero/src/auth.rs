//! OAuth2 for Xero: authorization URL with PKCE (S256) and `state`, code exchange, and a refresher that
//! survives a lost refresh response.
//!
//! Xero access tokens live **30 minutes**; refresh tokens **rotate on every use** and an unused one expires after
//! 60 days. Tokens are stored through erp-hub-core's [`TokenStore`](erp_hub_core::http::TokenStore) and handed
//! out by its single-flight [`TokenManager`](erp_hub_core::http::TokenManager), which saves the rotated refresh
//! token **before** the new access token is used. If the refresh response is lost (timeout, reset), Xero still
//! accepts the previous refresh token for a 30-minute grace period, so [`XeroRefresher`] re-sends the same grant.
//!
//! # Starting from a token you already have
//! Skip the consent flow: put the tokens in the store under your connection key, then list the tenants and
//! build one adapter per organisation. The first call refreshes an expired access token.
//!
//! ```no_run
//! use std::sync::Arc;
//! use erp_xero::{AccountMapping, InMemoryTokenStore, TokenSet, XeroClient, XeroConfig};
//!
//! # async fn demo() -> erp_hub_core::Result<()> {
//! let store = Arc::new(InMemoryTokenStore::new());
//! store.insert("user-42", TokenSet::new("ACCESS-TOKEN").with_refresh_token("REFRESH-TOKEN"));
//! let client = XeroClient::new(XeroConfig::new("CLIENT_ID", "CLIENT_SECRET", "https://app/cb"), store)?;
//! let tenant = client.connections("user-42").await?.remove(0);
//! let xero = client.adapter("user-42", &tenant.tenant_id).with_mapping(AccountMapping::new("xero"));
//! # let _ = xero; Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use erp_hub_core::http::{OAuth2Client, TokenRefresher, TokenSet};
use erp_hub_core::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::XeroConfig;

/// A PKCE pair (RFC 7636): a random `code_verifier` (kept secret until the code exchange) and its S256
/// `code_challenge`. `Debug` redacts the verifier.
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// A new pair from 32 random bytes (a 43-character verifier).
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self::from_verifier(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The pair for a given verifier (43–128 characters of `[A-Za-z0-9-._~]`, not checked here).
    pub fn from_verifier(verifier: SecretString) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }

    /// The verifier, sent with the code exchange.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// `BASE64URL(SHA256(verifier))`, sent in the authorization URL with `code_challenge_method=S256`.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// What to send the user to, and what to keep until they come back (store `state` and the PKCE verifier in the
/// user's session). `Debug` redacts the verifier.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The consent URL.
    pub url: Url,
    /// The anti-CSRF `state`; compare it with the one on the redirect ([`AuthorizationRequest::check_state`]).
    pub state: String,
    /// The PKCE pair whose challenge is in the URL.
    pub pkce: Pkce,
}

impl AuthorizationRequest {
    /// Builds the consent URL for `config` with a random `state` and a new PKCE pair.
    ///
    /// # Errors
    /// [`Error::Config`] when the authorize URL is invalid.
    pub fn new(config: &XeroConfig) -> Result<Self> {
        let state_bytes: [u8; 24] = rand::random();
        Self::with_state(
            config,
            URL_SAFE_NO_PAD.encode(state_bytes),
            Pkce::generate(),
        )
    }

    /// Builds the consent URL with a caller-chosen `state` and PKCE pair.
    ///
    /// # Errors
    /// [`Error::Config`] when the authorize URL is invalid.
    pub fn with_state(config: &XeroConfig, state: String, pkce: Pkce) -> Result<Self> {
        let mut url = Url::parse(&config.authorize_url)
            .map_err(|e| Error::config(format!("invalid Xero authorize URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &config.redirect_uri)
            .append_pair("scope", &config.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(Self { url, state, pkce })
    }

    /// Checks the `state` returned on the redirect (constant-time).
    ///
    /// # Errors
    /// [`Error::Auth`] when it differs (possible CSRF: do not exchange the code).
    pub fn check_state(&self, returned: &str) -> Result<()> {
        if erp_hub_core::http::wire::ct_eq(self.state.as_bytes(), returned.as_bytes()) {
            Ok(())
        } else {
            Err(Error::auth(
                "OAuth2 state mismatch: the redirect does not belong to this authorization request",
            ))
        }
    }
}

/// A [`TokenRefresher`] for Xero: a refresh-token grant that, when the response is lost
/// ([`ErrorKind::Transient`]), re-sends the grant with the **same** refresh token (valid for 30 minutes after
/// Xero rotated it), up to [`XeroConfig::refresh_grace_retries`] times.
///
/// A rejected grant (`invalid_grant`: expired, revoked, or already used outside the grace period) is
/// [`Error::Auth`] and is not retried.
#[derive(Clone)]
pub struct XeroRefresher {
    oauth: OAuth2Client,
    grace_retries: u32,
}

impl fmt::Debug for XeroRefresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XeroRefresher")
            .field("oauth", &self.oauth)
            .field("grace_retries", &self.grace_retries)
            .finish()
    }
}

impl XeroRefresher {
    /// A refresher over an OAuth2 client for Xero's token endpoint.
    pub fn new(oauth: OAuth2Client, grace_retries: u32) -> Self {
        Self {
            oauth,
            grace_retries,
        }
    }

    /// The OAuth2 client.
    pub fn oauth(&self) -> &OAuth2Client {
        &self.oauth
    }
}

#[async_trait]
impl TokenRefresher for XeroRefresher {
    async fn refresh(&self, key: &str, current: Option<&TokenSet>) -> Result<TokenSet> {
        let rt = current
            .and_then(|t| t.refresh_token.as_ref())
            .ok_or_else(|| {
                Error::auth("no Xero refresh token stored: the user must connect again")
            })?;
        let mut retries = 0;
        loop {
            match self.oauth.refresh_token_grant(rt, None).await {
                Err(e) if e.kind() == ErrorKind::Transient && retries < self.grace_retries => {
                    retries += 1;
                    tracing::debug!(
                        tenant = key,
                        retries,
                        "refresh response lost; re-sending with the previous refresh token (30-minute grace)"
                    );
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(retries))).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        let p = Pkce::from_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
                .to_owned()
                .into(),
        );
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!format!("{p:?}").contains("dBjftJeZ4CVP"));
    }

    #[test]
    fn authorization_url_has_pkce_and_state() {
        let config = XeroConfig::new("cid", "secret", "https://app.example/cb");
        let req = AuthorizationRequest::new(&config).unwrap();
        let q: std::collections::HashMap<_, _> = req.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["redirect_uri"], "https://app.example/cb");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], req.pkce.challenge());
        assert_eq!(q["state"], req.state);
        assert!(q["scope"].split(' ').any(|s| s == "offline_access"));
        assert!(req.check_state(&req.state).is_ok());
        assert_eq!(
            req.check_state("forged").unwrap_err().kind(),
            ErrorKind::Auth
        );
        let other = AuthorizationRequest::new(&config).unwrap();
        assert_ne!(other.state, req.state);
    }
}
