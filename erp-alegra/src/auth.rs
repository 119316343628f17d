//! Authentication: HTTP Basic with the user's e-mail and API token.
//!
//! Alegra's public API takes `Authorization: Basic base64(email:token)` on every call; there is no consent flow
//! and no token refresh (OAuth exists only for Alegra marketplace apps). The token comes from *Configuración →
//! Integraciones → API* in Alegra; **"Renovar token" invalidates the old token immediately**, after which every
//! call fails with [`Error::Auth`](erp_hub_core::Error::Auth): store the new token and build a new client.
//!
//! The token is a [`SecretString`]: it is encoded once into a secret header value and never appears in `Debug`
//! output, logs or recorded requests. To start from credentials you already have, build an
//! [`AlegraConfig`] with them; [`Credentials`] is the form to keep them in.

use std::fmt;

use secrecy::SecretString;

use crate::config::AlegraConfig;

/// An Alegra user's API credentials. `Debug` redacts the token.
#[derive(Clone)]
#[non_exhaustive]
pub struct Credentials {
    /// The user's e-mail.
    pub email: String,
    /// The API token.
    pub token: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl Credentials {
    /// Credentials from an e-mail and token.
    pub fn new(email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        Self {
            email: email.into(),
            token: token.into(),
        }
    }

    /// A production configuration with these credentials.
    pub fn config(&self) -> AlegraConfig {
        AlegraConfig::new(self.email.clone(), self.token.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let c = Credentials::new("a@b.mx", "tok-123".to_owned());
        assert!(!format!("{c:?}").contains("tok-123"));
        assert!(!format!("{:?}", c.config()).contains("tok-123"));
    }
}
