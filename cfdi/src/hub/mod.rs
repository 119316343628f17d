//! Mexico through the hub: ERP invoices, credit notes and payments of `erp_hub_core::model` become stamped
//! CFDI 4.0 documents (feature `hub`, off by default; without it this crate knows no ERP model).
//!
//! * [`FiscalProfile`]: one tenant's fiscal setup, loadable with serde (JSON, TOML, …): emisor, CSD (files
//!   plus a password from a caller-supplied [`SecretSource`]), series per document type, PAC credentials
//!   (primary and backup), default and mapped SAT catalog keys.
//! * [`map_invoice`], [`map_credit_note`], [`map_payment`]: the ERP record → an unsealed [`Comprobante`]
//!   (tipo `I`, `E` with `CfdiRelacionados` 01, `P` with Pagos 2.0), built with
//!   [`ComprobanteBuilder`](crate::build::ComprobanteBuilder) / [`PagosBuilder`](crate::build::PagosBuilder).
//!   The CFDI `Total` must equal the ERP total to the cent: otherwise a [`FiscalError::TotalMismatch`]
//!   before anything is sealed or stamped.
//! * [`map_global_invoice`]: a period's walk-in sales → one CFDI to the public (`InformacionGlobal`, one
//!   `Concepto` per sale).
//! * [`CfdiStep`]: the [`FiscalStep`](erp_hub_core::fiscal::FiscalStep) for Mexico: map, seal, stamp through
//!   the PACs with the journal protocol of [`erp_hub_core::fiscal`] (exactly one UUID per document);
//!   [`CfdiStep::stamp_global`] stamps a global invoice the same way; [`CfdiStep::cancel_invoice`] follows a
//!   void through the SAT (cancel request with motivo 02, or 01 with the substitute's UUID, then one SAT status
//!   read per call on the hub's schedule until cancelled, deadline passed or rejected).
//!
//! [`Comprobante`]: crate::Comprobante

mod error;
mod mapping;
mod profile;
mod step;

pub use error::{FiscalError, FiscalErrorKind};
pub use mapping::{
    GlobalPeriod, GlobalSale, PaidInvoice, map_credit_note, map_global_invoice, map_invoice,
    map_payment,
};
pub use profile::{
    CsdFiles, CustomerFiscal, EmisorProfile, FiscalProfile, ItemMapping, MapSecrets, PacKind,
    PacProfile, RFC_EXTRANJERO, RFC_PUBLICO_EN_GENERAL, SecretSource, Series, TaxMapping,
};
pub use step::{CfdiStep, Directory, MemoryDirectory};

/// The scheme name of the stamps this module produces ([`FiscalStamp::scheme`](erp_hub_core::fiscal::FiscalStamp::scheme)).
pub const SCHEME: &str = "mx-cfdi-4.0";
