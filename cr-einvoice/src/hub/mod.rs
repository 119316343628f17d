//! Costa Rica through the hub (feature `hub`, off by default; without it this crate knows no ERP model):
//! ERP invoices, credit notes and payments of `erp_hub_core::model` become signed comprobantes accepted by
//! Hacienda, with gap-free consecutivos from the hub's numbering store and the journal protocol of
//! [`erp_hub_core::fiscal`].
//!
//! * [`CrProfile`]: one tenant's setup (serde): emisor, `.p12` and PIN (`secrecy`), sucursal / terminal,
//!   CABYS defaults and mappings, IVA tarifas, contingency mode.
//! * [`CrStep`]: the [`FiscalStep`](erp_hub_core::fiscal::FiscalStep) for Costa Rica (see its docs for the
//!   mapping table, the submission protocol and contingency).
//! * [`answer_received`]: the hub write ([`WriteOp::AnswerReceived`](erp_hub_core::adapter::WriteOp)) that
//!   answers a supplier's comprobante with a MensajeReceptor through the queue: [`CrStep`] verifies it with
//!   the tenant's receiver ([`CrStep::with_receiver`]) and submits the answer once; bad documents are dead
//!   letters in the sync log.
//! * [`CrHubError`]: typed errors; `From<CrHubError> for erp_hub_core::Error` maps them onto the hub's
//!   retry / dead-letter decisions.

mod error;
mod mapping;
mod profile;
mod step;

pub use error::CrHubError;
pub use mapping::SUSTITUYE_RECHAZADO;
pub use profile::{CabysMapping, ContingencyMode, CrProfile, EmisorProfile, LlaveProfile};
pub use step::{
    ACCEPTED, CrStep, Directory, MENSAJE_HACIENDA_SERIES, MemoryDirectory, RECEIVED, REJECTED,
    SCHEME, SENT, answer_received,
};
