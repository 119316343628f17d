//! The unified accounting model: what a business pushes into its ERP.
//!
//! Every entity carries:
//! - `external_ref`: **our** stable reference (your system's id), used to match records on upsert;
//! - `remote`: the provider's [`RemoteRef`] once known (id + version for optimistic concurrency);
//! - `passthrough`: a JSON value for provider-specific fields the unified model does not cover.
//!
//! Amounts are [`Decimal`](rust_decimal::Decimal); there is no floating point anywhere in the model.

mod credit_note;
mod customer;
mod invoice;
mod item;
mod mapping;
mod payment;
mod refs;

pub use crate::tax::{Discount, PriceMode};
pub use credit_note::CreditNote;
pub use customer::{Address, AddressKind, CedulaType, Customer, TaxId};
pub use invoice::{Invoice, InvoiceLine, InvoiceStatus};
pub use item::{Item, ItemKind};
pub use mapping::AccountMapping;
pub use payment::{Payment, PaymentApplication};
pub use refs::{DocRef, EntityKind, PartyRef, RemoteRef};
