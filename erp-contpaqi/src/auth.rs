//! The bridge's authentication: a static API key, configured on the Windows agent and sent as
//! `Authorization: Bearer <key>` on every request.
//!
//! CONTPAQi itself has no OAuth and no cloud identity: the SDK runs on the machine with the company, under the
//! CONTPAQi user the agent signs in with (`fInicioSesionSDKCONTPAQi`). There is therefore no consent URL, token
//! refresh or token store here; the key is a [`SecretString`], never shown in `Debug` output or logs.

use erp_hub_core::Result;
use erp_hub_core::http::RequestSpec;
use secrecy::SecretString;

/// The header the key travels in.
pub const AUTH_HEADER: &str = "Authorization";

/// Adds the bridge's API key to a request (`Authorization: Bearer <key>`, marked sensitive).
///
/// # Errors
/// [`Error::Config`](erp_hub_core::Error::Config) when the key contains characters a header cannot carry.
pub fn authorize(spec: RequestSpec, api_key: &SecretString) -> Result<RequestSpec> {
    use secrecy::ExposeSecret as _;
    let bearer = SecretString::from(format!("Bearer {}", api_key.expose_secret()));
    spec.secret_header(AUTH_HEADER, &bearer)
}
