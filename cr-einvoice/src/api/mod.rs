//! Hacienda's recepción API (feature `api`, on by default): IDP tokens, `POST /recepcion`,
//! status polling and Hacienda's decoded answer.
//!
//! The document side of this crate (models, clave, signing, validation) needs no network and no
//! ERP code: build with `default-features = false` to leave this module out, together with its
//! dependencies (erp-hub-core's `http` plumbing, reqwest, tokio, serde_json, tracing).
//!
//! # Flow
//!
//! 1. [`HaciendaClient::new`] with a [`HaciendaConfig`] ([`sandbox`](HaciendaConfig::sandbox) or
//!    [`production`](HaciendaConfig::production); URLs are plain configuration) and the API user's
//!    [`PasswordCredentials`] (a `secrecy` type: `Debug` redacts the password).
//! 2. [`Envio::comprobante`] (or [`Envio::mensaje_receptor`], which adds `consecutivoReceptor`)
//!    from the **final signed bytes**; `comprobanteXml` is their base64, unchanged.
//! 3. [`HaciendaClient::submit`] → an [`Outcome`]: aceptado, rechazado (with `DetalleMensaje`) or
//!    error, with `respuesta-xml` decoded and parsed into a [`MensajeHacienda`](crate::MensajeHacienda).
//!
//! Tokens: Keycloak password grant (client `api-stag` / `api-prod`, public), then refresh-token
//! grant while the session lasts, through erp-hub-core's single-flight
//! [`TokenManager`](erp_hub_core::http::TokenManager): concurrent submissions on an expired token
//! cause one token request; a `401` from recepción forces exactly one refresh and one more try.
//!
//! # Submission decision table
//!
//! Hacienda de-duplicates by clave, but a clave that got `202` is never `POST`ed again by this
//! client: on an uncertain outcome it asks first.
//!
//! | `POST /recepcion` answer | meaning | next step |
//! |---|---|---|
//! | `202` / `201` | received, decision pending | poll the status |
//! | `400`, `X-Error-Cause` "… ya fue recibido anteriormente" | Hacienda already holds the clave | poll the status (no error) |
//! | `400` other / `403` / other `4xx` | refused, **not** received | [`ApiError::Rejected`] with the [`ErrorCause`]; fix the document |
//! | `401` | token refused | one forced token refresh, same `POST` once more (a `401` is refused before processing); a second `401` is [`ApiError::Auth`] |
//! | `429` | throttled, not processed | waited and re-sent by the HTTP layer (`Retry-After`), else `Http(RateLimited)` |
//! | connect error | nothing was sent | retried by the HTTP layer, else `Http(Transient)`: safe to submit again |
//! | timeout / connection lost after sending, `408`, `5xx` | **unknown** whether received | `GET` the status first (below) |
//!
//! | status lookup after an unknown outcome | next step |
//! |---|---|
//! | `200` with any `ind-estado` | received: poll until final; no second `POST` |
//! | `404` (Hacienda does not know the clave) | `POST` again, at most [`HaciendaConfig::max_resubmissions`] times; a duplicate is answered "ya fue recibido", see above |
//! | fails too (network, `5xx` after retries) | [`ApiError::Uncertain`]: call [`HaciendaClient::resume`] later (status first, `POST` only on `404`) |
//!
//! | status while polling (after `202`) | next step |
//! |---|---|
//! | `recibido`, `procesando` | wait (backoff of [`PollPolicy`]) and ask again |
//! | `aceptado`, `rechazado`, `error` | done: [`Outcome`] |
//! | `404`, timeouts, `5xx` | ask again later (status `GET`s are retried by the HTTP layer too); never re-`POST` |
//! | still undecided after [`PollPolicy::max_polls`] | [`ApiError::Pending`]: call [`HaciendaClient::wait_for_outcome`] later |
//!
//! A MensajeReceptor's status key is `{clave}-{consecutivoReceptor}` ([`Envio::status_key`]).
//! Hacienda's `callbackUrl` is best effort: this client always polls.
//!
//! # Rate limits
//!
//! Hacienda publishes no request budget. [`HaciendaConfig::rate_limit`] (off by default) adds a
//! client-side limit per API user, and then also honours Hacienda's `X-Ratelimit-Remaining` /
//! `X-Ratelimit-Reset` headers: once the remaining budget is 0, that user's requests wait for the
//! reset. `429` answers are retried after `Retry-After` in any case.
//!
//! # Secrets
//!
//! Passwords and tokens are `secrecy` values held by erp-hub-core; no `Debug` output, error
//! message or `tracing` event of this module contains them. Request spans carry method, URL
//! without query values, tenant, attempts and status; submission events carry the clave.

mod client;
mod config;
mod error;
mod recepcion;
mod status;

pub use client::{HaciendaClient, HaciendaClientBuilder, Receipt};
pub use config::{
    Environment, HaciendaConfig, PRODUCTION_RECEPCION_URL, PRODUCTION_TOKEN_URL, PollPolicy,
    SANDBOX_RECEPCION_URL, SANDBOX_TOKEN_URL,
};
pub use error::{ApiError, ApiErrorKind, CauseKind, ErrorCause};
pub use recepcion::{Envio, ParteEnvio};
pub use status::{Estado, Outcome, StatusResponse};

pub use erp_hub_core::http::{
    InMemoryTokenStore, PasswordCredentials, RateLimitConfig, RetryPolicy, TokenSet, TokenStore,
};
