//! [`CrProfile`]: one Costa Rican tenant's fiscal setup.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::error::CrHubError;
use crate::keystore::SigningKey;
use crate::model::{Identificacion, Parte, TipoIdentificacion, Ubicacion};

/// The issuer as it appears in `Emisor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmisorProfile {
    /// `Nombre`.
    pub nombre: String,
    /// `Identificacion/Tipo` (`01` física, `02` jurídica, `03` DIMEX, `04` NITE).
    pub tipo_identificacion: String,
    /// `Identificacion/Numero` (the cédula; it also goes into every clave).
    pub numero: String,
    /// `CodigoActividadEmisor` (CIIU-4, 6 characters).
    pub codigo_actividad: String,
    /// `Ubicacion`: provincia, cantón, distrito and otras señas.
    pub provincia: u8,
    /// Cantón.
    pub canton: u8,
    /// Distrito.
    pub distrito: u8,
    /// Otras señas.
    pub otras_senas: String,
    /// `CorreoElectronico`.
    pub correo: String,
}

/// The `.p12` "llave criptográfica" and its PIN (a `secrecy` value: never in `Debug` output or logs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LlaveProfile {
    /// Path of the `.p12` file.
    pub p12: PathBuf,
    /// The PIN.
    #[serde(serialize_with = "redacted")]
    pub pin: SecretString,
}

fn redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

/// CABYS code and `UnidadMedida` of an item (or the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CabysMapping {
    /// `CodigoCABYS` (13 digits).
    pub cabys: String,
    /// `UnidadMedida` (e.g. `Unid`, `Sp`).
    pub unidad: String,
}

impl CabysMapping {
    /// A mapping.
    pub fn new(cabys: impl Into<String>, unidad: impl Into<String>) -> Self {
        Self {
            cabys: cabys.into(),
            unidad: unidad.into(),
        }
    }
}

/// How documents are issued while Hacienda cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContingencyMode {
    /// Situación `3` (sin internet): issued, signed, queued, submitted when Hacienda answers again.
    #[default]
    SinInternet,
    /// Situación `1` even while Hacienda is down (the documents are still queued and submitted later).
    Normal,
}

/// One tenant's Costa Rica setup, loadable with serde (JSON, TOML, …).
///
/// The situación `2` (contingencia with a paper document) is per document: an ERP record whose
/// `passthrough` holds `{"cr_contingencia": {"numero": "<paper number>", "fecha": "<RFC 3339>"}}` is issued
/// with situación 2 and an `InformacionReferencia` (TipoDocIR `08`, código `05`) to that paper document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CrProfile {
    /// The issuer.
    pub emisor: EmisorProfile,
    /// The signing key.
    pub llave: LlaveProfile,
    /// `ProveedorSistemas`: the software vendor's identification.
    pub proveedor_sistemas: String,
    /// Sucursal (1–999) of this tenant's documents.
    pub sucursal: u16,
    /// Terminal / punto de venta (1–99999).
    pub terminal: u32,
    /// CABYS and unit for service items ([`ItemKind::Service`](erp_hub_core::model::ItemKind)) without a
    /// mapping.
    pub cabys_servicio: CabysMapping,
    /// CABYS and unit for other items (goods) and lines without an item.
    pub cabys_mercancia: CabysMapping,
    /// Per item (our external reference): CABYS and unit.
    #[serde(default)]
    pub items: BTreeMap<String, CabysMapping>,
    /// IVA percent (as written in the ERP, e.g. `"13"`) → `CodigoTarifaIVA`. Defaults: 13 → `08`, 4 → `04`,
    /// 2 → `03`, 1 → `02`, 0.5 → `09`; a zero rate → `01`; exempt → `10`.
    #[serde(default)]
    pub tarifas: BTreeMap<String, String>,
    /// When `true`, invoices with a due date are issued with CondicionVenta `10` (credit sale, IVA due on
    /// payment, ≤ 90 days) instead of `02`, and their payments get a REP (CondicionVenta `11`).
    #[serde(default)]
    pub credito_iva_diferido: bool,
    /// Contingency behaviour.
    #[serde(default)]
    pub contingencia: ContingencyMode,
}

impl CrProfile {
    /// Loads the `.p12` named by [`LlaveProfile::p12`] with its PIN.
    ///
    /// # Errors
    /// [`CrHubError::Profile`] when the file cannot be read or the key cannot be opened.
    pub fn load_key(&self) -> Result<SigningKey, CrHubError> {
        let bytes = std::fs::read(&self.llave.p12).map_err(|e| CrHubError::Profile {
            field: "llave.p12".into(),
            problem: format!("cannot read {}: {e}", self.llave.p12.display()),
        })?;
        SigningKey::from_pkcs12(&bytes, &self.llave.pin).map_err(|e| CrHubError::Profile {
            field: "llave".into(),
            problem: format!("cannot open the .p12 with the PIN given: {e}"),
        })
    }

    /// The `Emisor` element.
    ///
    /// # Errors
    /// [`CrHubError::Profile`] for an unknown identification type.
    pub fn emisor_parte(&self) -> Result<Parte, CrHubError> {
        let e = &self.emisor;
        let tipo = TipoIdentificacion::from_code(&e.tipo_identificacion).ok_or_else(|| {
            CrHubError::Profile {
                field: "emisor.tipo_identificacion".into(),
                problem: format!("`{}` is not an identification type", e.tipo_identificacion),
            }
        })?;
        Ok(Parte::new(&e.nombre)
            .with_identificacion(Identificacion::new(tipo, &e.numero))
            .with_ubicacion(Ubicacion::new(
                e.provincia,
                e.canton,
                e.distrito,
                &e.otras_senas,
            ))
            .with_correo(&e.correo))
    }

    /// The `CodigoTarifaIVA` of an IVA percent.
    pub fn tarifa(&self, percent: rust_decimal::Decimal) -> Option<String> {
        let key = percent.normalize().to_string();
        if let Some(c) = self.tarifas.get(&key) {
            return Some(c.clone());
        }
        Some(
            match key.as_str() {
                "13" => "08",
                "4" => "04",
                "2" => "03",
                "1" => "02",
                "0.5" => "09",
                "0" => "01",
                _ => return None,
            }
            .to_owned(),
        )
    }
}
