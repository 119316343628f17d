#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "api")]
pub mod api;
pub mod c14n;
pub mod clave;
pub mod codes;
#[cfg(feature = "demo")]
pub mod demo;
mod error;
#[cfg(feature = "hub")]
pub mod hub;
pub mod keystore;
pub mod limits;
pub mod model;
pub mod parse;
pub mod receive;
mod revision;
mod shape;
pub mod tipo;
pub mod totals;
pub mod validate;
pub mod write;
pub mod xades;

#[doc(hidden)]
pub mod fuzzing;

/// Dates of the model (`FechaEmision`) and of `demo` / [`Clave`] constructors, re-exported so callers need
/// no direct `chrono` dependency.
pub use chrono::{DateTime, FixedOffset};
pub use clave::{Clave, ClaveError, CodigoSeguridad, Consecutivo, Situacion};
pub use error::{Error, ErrorKind, ParseError};
pub use limits::Limits;
pub use model::{
    CodigoComercial, Comprobante, DatosImpuestoEspecifico, Descuento, DesgloseImpuesto, Documento,
    EstadoHacienda, Exoneracion, Identificacion, Impuesto, InformacionReferencia, LineaDetalle,
    LineaDetalleSurtido, MedioPago, MensajeHacienda, MensajeReceptor, Otro, OtroCargo, Parte,
    RespuestaReceptor, ResumenFactura, Telefono, TipoIdentificacion, Ubicacion,
};
pub use revision::SchemaRevision;
/// Amounts of the model, re-exported so callers need no direct `rust_decimal` dependency.
pub use rust_decimal::Decimal;
/// The PIN type of [`keystore::SigningKey::from_pkcs12`] (and the API credentials), re-exported.
pub use secrecy::SecretString;
pub use tipo::TipoDocumento;
