#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "api")]
pub mod api;
pub mod c14n;
pub mod clave;
pub mod codes;
pub mod demo;
mod error;
pub mod keystore;
pub mod model;
pub mod parse;
mod revision;
mod shape;
pub mod tipo;
pub mod totals;
pub mod validate;
pub mod write;
pub mod xades;

#[doc(hidden)]
pub mod fuzzing;

pub use clave::{Clave, ClaveError, CodigoSeguridad, Consecutivo, Situacion};
pub use error::{Error, ErrorKind, ParseError};
pub use model::{
    CodigoComercial, Comprobante, DatosImpuestoEspecifico, Descuento, DesgloseImpuesto, Documento,
    EstadoHacienda, Exoneracion, Identificacion, Impuesto, InformacionReferencia, LineaDetalle,
    LineaDetalleSurtido, MedioPago, MensajeHacienda, MensajeReceptor, Otro, OtroCargo, Parte,
    RespuestaReceptor, ResumenFactura, Telefono, TipoIdentificacion, Ubicacion,
};
pub use revision::SchemaRevision;
pub use tipo::TipoDocumento;
