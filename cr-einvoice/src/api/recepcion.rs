//! The recepción `POST` body and how it is built from the final signed bytes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::error::ApiError;
use crate::clave::{Clave, Consecutivo};
use crate::model::{Documento, Identificacion, TipoIdentificacion};

/// `emisor` / `receptor` of the recepción body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParteEnvio {
    /// Two-digit identification type (`01` física, `02` jurídica, …).
    pub tipo_identificacion: String,
    /// Identification number without separators.
    pub numero_identificacion: String,
}

impl ParteEnvio {
    /// From a type and number.
    pub fn new(tipo: TipoIdentificacion, numero: impl Into<String>) -> Self {
        Self {
            tipo_identificacion: tipo.code().to_owned(),
            numero_identificacion: numero.into(),
        }
    }
}

impl From<&Identificacion> for ParteEnvio {
    fn from(id: &Identificacion) -> Self {
        Self::new(id.tipo, id.numero.clone())
    }
}

/// One document to submit: the JSON body of `POST /recepcion`.
///
/// `comprobanteXml` is the base64 of the signed bytes **exactly as signing returned them**: the
/// client never re-serializes the XML (Hacienda's most common rejection is "the XML was changed
/// after signing").
///
/// `Debug` shows the clave and parties and only the length of the document.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envio {
    clave: String,
    fecha: String,
    emisor: ParteEnvio,
    #[serde(skip_serializing_if = "Option::is_none")]
    receptor: Option<ParteEnvio>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consecutivo_receptor: Option<String>,
    comprobante_xml: String,
    #[serde(skip)]
    xml_len: usize,
}

impl fmt::Debug for Envio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envio")
            .field("clave", &self.clave)
            .field("fecha", &self.fecha)
            .field("emisor", &self.emisor)
            .field("receptor", &self.receptor)
            .field("callback_url", &self.callback_url)
            .field("consecutivo_receptor", &self.consecutivo_receptor)
            .field("xml_len", &self.xml_len)
            .finish()
    }
}

/// `fecha` as Hacienda wants it: RFC 3339 with the document's own offset, no fraction.
fn fecha(d: &DateTime<FixedOffset>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

const XMLDSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

fn require_signed(signed_xml: &[u8]) -> Result<(), ApiError> {
    let has_signature = memchr::memmem::find(signed_xml, XMLDSIG_NS).is_some()
        && memchr::memmem::find(signed_xml, b"SignatureValue").is_some();
    if has_signature {
        Ok(())
    } else {
        Err(ApiError::InvalidInput(
            "the document carries no XML signature: sign it first and submit the bytes signing returned"
                .into(),
        ))
    }
}

impl Envio {
    /// A body from its parts, for documents produced elsewhere. `signed_xml` must be the final
    /// signed bytes; they are base64-encoded unchanged.
    pub fn new(
        clave: &Clave,
        fecha_emision: &DateTime<FixedOffset>,
        emisor: ParteEnvio,
        signed_xml: &[u8],
    ) -> Self {
        Self {
            clave: clave.as_str().to_owned(),
            fecha: fecha(fecha_emision),
            emisor,
            receptor: None,
            callback_url: None,
            consecutivo_receptor: None,
            comprobante_xml: BASE64.encode(signed_xml),
            xml_len: signed_xml.len(),
        }
    }

    /// The body for a signed comprobante (FE, ND, NC, TE, FEC, FEE, REP): clave, `FechaEmision`,
    /// emisor and (when identified) receptor are read from the document.
    ///
    /// # Errors
    /// [`ApiError::Document`] when the XML cannot be parsed; [`ApiError::InvalidInput`] when it is
    /// unsigned, is a MensajeReceptor (use [`Envio::mensaje_receptor`]) or its emisor has no
    /// identification.
    pub fn comprobante(signed_xml: &[u8]) -> Result<Self, ApiError> {
        require_signed(signed_xml)?;
        let c = match crate::parse::documento(signed_xml)? {
            Documento::Comprobante(c) => c,
            Documento::MensajeReceptor(_) => {
                return Err(ApiError::InvalidInput(
                    "a MensajeReceptor is submitted with Envio::mensaje_receptor".into(),
                ));
            }
        };
        let emisor = c
            .emisor
            .identificacion
            .as_ref()
            .ok_or_else(|| ApiError::InvalidInput("the emisor has no Identificacion".into()))?;
        let mut envio = Self::new(&c.clave, &c.fecha_emision, emisor.into(), signed_xml);
        envio.receptor = c
            .receptor
            .as_ref()
            .and_then(|r| r.identificacion.as_ref())
            .map(ParteEnvio::from);
        Ok(envio)
    }

    /// The body for a signed MensajeReceptor (the receiver's acceptance or rejection of a
    /// comprobante it received). `clave` is that comprobante's clave, `emisor` its issuer,
    /// `receptor` the party sending this message, and `consecutivoReceptor` the message's own
    /// `NumeroConsecutivoReceptor`. The message holds only the identification numbers, so the
    /// caller gives their types.
    ///
    /// # Errors
    /// As [`Envio::comprobante`]; [`ApiError::InvalidInput`] for a comprobante.
    pub fn mensaje_receptor(
        signed_xml: &[u8],
        tipo_emisor: TipoIdentificacion,
        tipo_receptor: TipoIdentificacion,
    ) -> Result<Self, ApiError> {
        require_signed(signed_xml)?;
        let m = match crate::parse::documento(signed_xml)? {
            Documento::MensajeReceptor(m) => m,
            _ => {
                return Err(ApiError::InvalidInput(
                    "not a MensajeReceptor: submit comprobantes with Envio::comprobante".into(),
                ));
            }
        };
        let mut envio = Self::new(
            &m.clave,
            &m.fecha_emision_doc,
            ParteEnvio::new(tipo_emisor, m.numero_cedula_emisor.clone()),
            signed_xml,
        );
        envio.receptor = Some(ParteEnvio::new(
            tipo_receptor,
            m.numero_cedula_receptor.clone(),
        ));
        envio.consecutivo_receptor = Some(m.numero_consecutivo_receptor.to_string());
        Ok(envio)
    }

    /// Sets the `receptor`.
    #[must_use]
    pub fn with_receptor(mut self, receptor: ParteEnvio) -> Self {
        self.receptor = Some(receptor);
        self
    }

    /// Sets `consecutivoReceptor` (MensajeReceptor submissions).
    #[must_use]
    pub fn with_consecutivo_receptor(mut self, consecutivo: &Consecutivo) -> Self {
        self.consecutivo_receptor = Some(consecutivo.to_string());
        self
    }

    /// Sets `callbackUrl` (overrides the client's configured one).
    #[must_use]
    pub fn with_callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// The clave (50 characters) read from the signed document.
    pub fn clave(&self) -> &str {
        &self.clave
    }

    /// `fecha` as sent.
    pub fn fecha(&self) -> &str {
        &self.fecha
    }

    /// The emisor's identification type and number, as sent in the JSON body.
    pub fn emisor(&self) -> &ParteEnvio {
        &self.emisor
    }

    /// The receptor, if any.
    pub fn receptor(&self) -> Option<&ParteEnvio> {
        self.receptor.as_ref()
    }

    /// `consecutivoReceptor`, for a MensajeReceptor.
    pub fn consecutivo_receptor(&self) -> Option<&str> {
        self.consecutivo_receptor.as_deref()
    }

    /// `callbackUrl`, if set on this body.
    pub fn callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref()
    }

    /// `comprobanteXml`: the base64 of the signed bytes.
    pub fn comprobante_xml_base64(&self) -> &str {
        &self.comprobante_xml
    }

    /// The key under which Hacienda reports the status: the clave, or
    /// `{clave}-{consecutivoReceptor}` for a MensajeReceptor.
    pub fn status_key(&self) -> String {
        match &self.consecutivo_receptor {
            Some(c) => format!("{}-{c}", self.clave),
            None => self.clave.clone(),
        }
    }
}
