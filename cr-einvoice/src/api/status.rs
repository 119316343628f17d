//! `GET /recepcion/{clave}`: the `ind-estado` and Hacienda's decoded answer.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::error::ApiError;
use crate::model::{EstadoHacienda, MensajeHacienda};

/// `ind-estado` of a received document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Estado {
    /// `recibido`: queued.
    Recibido,
    /// `procesando`: being validated.
    Procesando,
    /// `aceptado` (final).
    Aceptado,
    /// `rechazado` (final): `DetalleMensaje` says why.
    Rechazado,
    /// `error` (final): Hacienda could not process it.
    Error,
    /// A value this client does not know (treated as not final).
    Otro(String),
}

impl Estado {
    /// Parses `ind-estado` (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_lowercase().as_str() {
            "recibido" => Estado::Recibido,
            "procesando" => Estado::Procesando,
            "aceptado" => Estado::Aceptado,
            "rechazado" => Estado::Rechazado,
            "error" => Estado::Error,
            _ => Estado::Otro(s.trim().to_owned()),
        }
    }

    /// Whether Hacienda has decided (`aceptado`, `rechazado`, `error`).
    pub fn is_final(&self) -> bool {
        matches!(self, Estado::Aceptado | Estado::Rechazado | Estado::Error)
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Estado::Recibido => "recibido",
            Estado::Procesando => "procesando",
            Estado::Aceptado => "aceptado",
            Estado::Rechazado => "rechazado",
            Estado::Error => "error",
            Estado::Otro(s) => s,
        }
    }
}

impl fmt::Display for Estado {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON of `GET /recepcion/{clave}`.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    clave: Option<String>,
    #[serde(default)]
    fecha: Option<String>,
    #[serde(rename = "ind-estado", default)]
    ind_estado: Option<String>,
    #[serde(rename = "respuesta-xml", default)]
    respuesta_xml: Option<String>,
}

/// One status answer, with `respuesta-xml` decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusResponse {
    /// `clave` as Hacienda echoed it (for a MensajeReceptor: `clave-consecutivo`).
    pub clave: String,
    /// `fecha`, as sent by Hacienda.
    pub fecha: Option<String>,
    /// `ind-estado`.
    pub estado: Estado,
    /// `respuesta-xml` base64-decoded: Hacienda's signed MensajeHacienda, byte for byte (keep it:
    /// it is the legal proof of acceptance).
    pub respuesta_xml: Option<Vec<u8>>,
    /// `respuesta-xml` parsed with [`crate::parse::mensaje_hacienda`].
    pub mensaje: Option<MensajeHacienda>,
    /// `DetalleMensaje` of the answer: from `mensaje`, or read directly from `respuesta_xml` when
    /// the strict parser refused the answer (so that a rejection reason is never lost).
    pub detalle_mensaje: Option<String>,
    /// Why the strict parser refused `respuesta_xml`, if it did.
    pub mensaje_error: Option<String>,
}

impl StatusResponse {
    /// Reads the status JSON; `key` is what was asked for (used when Hacienda omits `clave`).
    pub(crate) fn from_json(key: &str, body: &[u8]) -> Result<Self, ApiError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| {
            ApiError::Response(format!("status of {key} is not the expected JSON: {e}"))
        })?;
        let estado = wire
            .ind_estado
            .as_deref()
            .map(Estado::parse)
            .ok_or_else(|| ApiError::Response(format!("status of {key} has no ind-estado")))?;
        let respuesta_xml = match wire.respuesta_xml.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b64) => {
                // Some gateways wrap long base64 lines.
                let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                Some(BASE64.decode(compact.as_bytes()).map_err(|e| {
                    ApiError::Response(format!("respuesta-xml of {key} is not base64: {e}"))
                })?)
            }
        };
        let (mensaje, mensaje_error) = match &respuesta_xml {
            None => (None, None),
            Some(xml) => match crate::parse::mensaje_hacienda(xml) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let clave_pedida = key.split('-').next().unwrap_or(key);
        if let Some(m) = &mensaje
            && m.clave.as_str() != clave_pedida
        {
            return Err(ApiError::Response(format!(
                "the MensajeHacienda for {key} answers clave {}",
                m.clave.as_str()
            )));
        }
        let detalle_mensaje = match (&mensaje, &respuesta_xml) {
            (Some(m), _) => Some(m.detalle_mensaje.clone()),
            (None, Some(xml)) => detalle_mensaje_raw(xml),
            (None, None) => None,
        };
        Ok(Self {
            clave: wire.clave.unwrap_or_else(|| key.to_owned()),
            fecha: wire.fecha,
            estado,
            respuesta_xml,
            mensaje,
            detalle_mensaje,
            mensaje_error,
        })
    }
}

/// `DetalleMensaje` read with a plain pull parser, for answers the strict model parser refuses.
fn detalle_mensaje_raw(xml: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().into_inner() == "DetalleMensaje" => inside = true,
            Ok(Event::End(e)) if inside && e.local_name().into_inner() == "DetalleMensaje" => {
                return Some(text);
            }
            Ok(Event::Text(t)) if inside => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if inside => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok()??
                } else {
                    match r.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return None,
                    }
                };
                text.push(ch);
            }
            Ok(Event::CData(t)) if inside => text.push_str(&t.xml10_content()),
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The final result of a submission: Hacienda's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// The status key (clave, or `clave-consecutivoReceptor`).
    pub key: String,
    /// Aceptado, rechazado or error.
    pub estado: Estado,
    /// The last status answer (with `respuesta-xml` and the parsed MensajeHacienda).
    pub response: StatusResponse,
    /// How many `POST`s this call made (0 when Hacienda already held the document).
    pub posts: u32,
    /// How many status queries this call made.
    pub polls: u32,
}

impl Outcome {
    /// Whether Hacienda accepted the document (`aceptado`; see
    /// [`aceptado_parcialmente`](Self::aceptado_parcialmente) for mensaje 2).
    pub fn is_aceptado(&self) -> bool {
        self.estado == Estado::Aceptado
    }

    /// Whether Hacienda rejected it.
    pub fn is_rechazado(&self) -> bool {
        self.estado == Estado::Rechazado
    }

    /// Whether the MensajeHacienda says `2` (aceptación parcial).
    pub fn aceptado_parcialmente(&self) -> bool {
        self.response
            .mensaje
            .as_ref()
            .is_some_and(|m| m.mensaje == EstadoHacienda::AceptadoParcial)
    }

    /// Hacienda's `DetalleMensaje`: the reasons of a rejection.
    pub fn detalle_mensaje(&self) -> Option<&str> {
        self.response.detalle_mensaje.as_deref()
    }

    /// The parsed MensajeHacienda.
    pub fn mensaje(&self) -> Option<&MensajeHacienda> {
        self.response.mensaje.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "50615032600310123456700100001010000000001100000001";

    fn xml(detalle: &str) -> String {
        format!(
            "<MensajeHacienda xmlns=\"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda\"><Clave>{KEY}</Clave><X/><DetalleMensaje>{detalle}</DetalleMensaje></MensajeHacienda>"
        )
    }

    fn status(json: serde_json::Value) -> Result<StatusResponse, ApiError> {
        StatusResponse::from_json(KEY, json.to_string().as_bytes())
    }

    #[test]
    fn estados() {
        for (s, final_) in [
            ("recibido", false),
            ("procesando", false),
            ("aceptado", true),
            ("Rechazado", true),
            ("error", true),
            ("en cola", false),
        ] {
            let e = Estado::parse(s);
            assert_eq!(e.is_final(), final_, "{s}");
            assert_eq!(e.as_str().to_lowercase(), s.to_lowercase());
        }
    }

    #[test]
    fn raw_detalle_fallback_resolves_references_and_cdata() {
        let x = xml("a &amp; b &#233; <![CDATA[<c>]]>");
        assert_eq!(
            detalle_mensaje_raw(x.as_bytes()).as_deref(),
            Some("a & b é <c>")
        );
        assert_eq!(detalle_mensaje_raw(b"<a><b/></a>"), None);
        assert_eq!(
            detalle_mensaje_raw(b"<a><DetalleMensaje>&bogus;</DetalleMensaje></a>"),
            None
        );
    }

    #[test]
    fn unreadable_answers_are_typed_errors() {
        let bad = [
            serde_json::json!({"clave": KEY}),
            serde_json::json!({"ind-estado": "rechazado", "respuesta-xml": "%%%"}),
        ];
        for j in bad {
            assert_eq!(
                status(j).unwrap_err().kind(),
                super::super::ApiErrorKind::Response
            );
        }
        assert!(StatusResponse::from_json(KEY, b"not json").is_err());
        // Wrapped base64 lines are accepted; an answer the strict parser refuses keeps its
        // DetalleMensaje and the parse error.
        let b64 = BASE64.encode(xml("motivo"));
        let wrapped = format!("{}\n{}", &b64[..40], &b64[40..]);
        let s = status(serde_json::json!({"ind-estado": "rechazado", "respuesta-xml": wrapped}))
            .unwrap();
        assert_eq!(s.detalle_mensaje.as_deref(), Some("motivo"));
        assert!(s.mensaje.is_none() && s.mensaje_error.is_some());
        assert_eq!(s.clave, KEY);
    }

    #[test]
    fn an_answer_for_another_clave_is_refused() {
        let fixture =
            include_str!("../../tests/fixtures/mensaje-hacienda/rechazado_v4.4_unsigned.xml");
        let json =
            serde_json::json!({"ind-estado": "rechazado", "respuesta-xml": BASE64.encode(fixture)});
        let ok = StatusResponse::from_json(KEY, json.to_string().as_bytes()).unwrap();
        assert_eq!(ok.mensaje.unwrap().mensaje, EstadoHacienda::Rechazado);
        let other = "50615032600310123456700100001010000000002100000002";
        let err = StatusResponse::from_json(other, json.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("answers clave"), "{err}");
    }
}
