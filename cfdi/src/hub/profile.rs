//! [`FiscalProfile`]: one tenant's fiscal setup.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use erp_hub_core::model::{Customer, TaxId};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::error::FiscalError;
use crate::Csd;
use crate::build::TipoFactor;
use crate::model::{Emisor, Receptor};
use crate::pac::{
    Failover, FinkokCancelCsd, FinkokClient, FinkokConfig, Pac, SwAuth, SwCancelCsd, SwClient,
    SwConfig,
};

/// RFC for "público en general" (domestic customers without RFC).
pub const RFC_PUBLICO_EN_GENERAL: &str = "XAXX010101000";
/// RFC for foreign customers (residents abroad without a Mexican RFC).
pub const RFC_EXTRANJERO: &str = "XEXX010101000";

/// Where secrets come from: the CSD password and PAC passwords are looked up **by name** here, so the profile
/// file holds names only. Implement it over your vault, environment or key store.
pub trait SecretSource: Send + Sync {
    /// The secret called `name`, or `None` if the source has none.
    fn secret(&self, name: &str) -> Option<SecretString>;
}

/// A [`SecretSource`] over a map (tests, or secrets loaded elsewhere). `Debug` shows names only.
#[derive(Default, Clone)]
pub struct MapSecrets(BTreeMap<String, SecretString>);

impl MapSecrets {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same source with `name` → `value`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }
}

impl std::fmt::Debug for MapSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretSource for MapSecrets {
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.0.get(name).cloned()
    }
}

/// The issuer: `Emisor` and `LugarExpedicion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmisorProfile {
    /// RFC.
    pub rfc: String,
    /// Name as registered with SAT (upper case, without the régimen suffix "SA DE CV").
    pub nombre: String,
    /// c_RegimenFiscal, e.g. `601`.
    pub regimen_fiscal: String,
    /// Postal code of the place of issue (c_CodigoPostal).
    pub lugar_expedicion: String,
}

/// The CSD files and the **name** of the password secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CsdFiles {
    /// Path of the `.cer` (DER).
    pub cer: PathBuf,
    /// Path of the `.key` (encrypted PKCS#8 DER).
    pub key: PathBuf,
    /// Name of the key's password in the [`SecretSource`].
    pub password_secret: String,
}

/// Series (`Serie`) per document type. A missing series writes no `Serie`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Series {
    /// Invoices (tipo I).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// Credit notes (tipo E).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<String>,
    /// Payment receipts (tipo P).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
}

/// Which PAC API a [`PacProfile`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PacKind {
    /// Finkok (SOAP).
    Finkok,
    /// SW Sapien / SmarterWeb (REST).
    Sw,
}

/// One PAC account: which API, where, the user and the **name** of the password secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PacProfile {
    /// Finkok or SW Sapien.
    pub kind: PacKind,
    /// Base URL (Finkok) or services URL (SW; its API URL is the same unless `api_url` is set).
    pub url: String,
    /// SW's API URL, when it differs from `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The account user.
    pub user: String,
    /// Name of the password in the [`SecretSource`].
    pub password_secret: String,
    /// Timeout of each request in milliseconds (default: the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Finkok only: name of the secret holding the CSD's private key as PEM **encrypted with the Finkok
    /// password**, which Finkok's cancel needs (see [`FinkokCancelCsd`]). Without it this PAC cannot cancel.
    /// SW needs nothing here: it gets the profile's CSD files and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_key_secret: Option<String>,
}

/// SAT keys for one of our items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ItemMapping {
    /// c_ClaveProdServ.
    pub clave_prod_serv: String,
    /// c_ClaveUnidad (overrides the unit mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clave_unidad: Option<String>,
    /// c_ObjetoImp for this item's lines (default: `02` with taxes, `01` without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objeto_imp: Option<String>,
}

impl ItemMapping {
    /// A mapping to a c_ClaveProdServ.
    pub fn new(clave_prod_serv: impl Into<String>) -> Self {
        Self {
            clave_prod_serv: clave_prod_serv.into(),
            clave_unidad: None,
            objeto_imp: None,
        }
    }
}

/// SAT meaning of one of our tax codes (`Tax::code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaxMapping {
    /// c_Impuesto (`001` ISR, `002` IVA, `003` IEPS); `None`: the tax is not reported on the CFDI and the line
    /// is not subject (`objeto_imp`, default `01`).
    #[serde(default)]
    pub impuesto: Option<String>,
    /// c_ObjetoImp forced on lines carrying this tax (e.g. `03` sí objeto, no obligado).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objeto_imp: Option<String>,
}

/// One tenant's fiscal setup for CFDI 4.0. Load it with serde; it holds no secret values, only their names
/// (see [`SecretSource`]).
///
/// ```
/// use cfdi::hub::FiscalProfile;
///
/// let profile: FiscalProfile = serde_json::from_str(r#"{
///   "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
///              "lugar_expedicion": "42501"},
///   "csd": {"cer": "csd/EKU9003173C9.cer", "key": "csd/EKU9003173C9.key", "password_secret": "csd-password"},
///   "series": {"invoice": "F", "credit_note": "NC", "payment": "P"},
///   "primary_pac": {"kind": "finkok", "url": "https://demo-facturacion.finkok.com", "user": "me@example.com",
///                   "password_secret": "finkok-password"},
///   "default_clave_prod_serv": "01010101",
///   "default_clave_unidad": "H87",
///   "items": {"svc-1": {"clave_prod_serv": "81111500", "clave_unidad": "E48"}},
///   "units": {"hour": "HUR"},
///   "payment_methods": {"card": "04", "transfer": "03"}
/// }"#)?;
/// assert_eq!(profile.series.invoice.as_deref(), Some("F"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FiscalProfile {
    /// The issuer.
    pub emisor: EmisorProfile,
    /// The CSD that seals every document.
    pub csd: CsdFiles,
    /// Series per document type.
    #[serde(default)]
    pub series: Series,
    /// The primary PAC (e.g. Finkok). At least one of `primary_pac` / `backup_pac` is needed to stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_pac: Option<PacProfile>,
    /// The backup PAC (e.g. SW Sapien), used only when the primary definitely did not stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pac: Option<PacProfile>,
    /// c_ClaveProdServ for lines whose item has no mapping; `None`: such lines are an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_clave_prod_serv: Option<String>,
    /// c_ClaveUnidad for lines with neither item nor unit mapping; `None`: such lines are an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_clave_unidad: Option<String>,
    /// Our item external reference → SAT keys.
    #[serde(default)]
    pub items: BTreeMap<String, ItemMapping>,
    /// Our unit of measure (`Item::unit`) → c_ClaveUnidad.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// Our tax codes → SAT. `IVA`, `ISR` and `IEPS` map to `002`, `001`, `003` without an entry.
    #[serde(default)]
    pub taxes: BTreeMap<String, TaxMapping>,
    /// Our payment methods (`Payment::method`) → c_FormaPago. A two-digit code passes through unmapped.
    #[serde(default)]
    pub payment_methods: BTreeMap<String, String>,
    /// c_FormaPago of invoices paid at once (PUE) when the invoice does not say (default `99`... is not
    /// allowed with PUE, so the default is `03`, transferencia).
    #[serde(default = "default_forma_pago")]
    pub default_forma_pago: String,
    /// c_UsoCFDI for customers that do not say (default `G03`, gastos en general).
    #[serde(default = "default_uso_cfdi")]
    pub default_uso_cfdi: String,
    /// Offset of the place of issue from UTC in hours, for `Fecha` (default −6, central Mexico).
    #[serde(default = "default_utc_offset")]
    pub utc_offset_hours: i32,
}

fn default_forma_pago() -> String {
    "03".into()
}

fn default_uso_cfdi() -> String {
    "G03".into()
}

fn default_utc_offset() -> i32 {
    -6
}

fn secret(source: &dyn SecretSource, name: &str) -> Result<SecretString, FiscalError> {
    source.secret(name).ok_or_else(|| FiscalError::Secret {
        name: name.to_owned(),
    })
}

/// The Customer's fiscal data as the CFDI needs it (see [`FiscalProfile::receptor`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerFiscal {
    /// The `Receptor`.
    pub receptor: Receptor,
    /// Whether the receptor is "público en general" (`XAXX010101000`): the document needs
    /// `InformacionGlobal`.
    pub publico_en_general: bool,
}

impl FiscalProfile {
    /// A profile with the required settings; everything else empty or default.
    pub fn new(emisor: EmisorProfile, csd: CsdFiles) -> Self {
        Self {
            emisor,
            csd,
            series: Series::default(),
            primary_pac: None,
            backup_pac: None,
            default_clave_prod_serv: None,
            default_clave_unidad: None,
            items: BTreeMap::new(),
            units: BTreeMap::new(),
            taxes: BTreeMap::new(),
            payment_methods: BTreeMap::new(),
            default_forma_pago: default_forma_pago(),
            default_uso_cfdi: default_uso_cfdi(),
            utc_offset_hours: default_utc_offset(),
        }
    }

    /// The `Emisor` node.
    pub fn emisor_node(&self) -> Emisor {
        Emisor::new(
            &self.emisor.rfc,
            &self.emisor.nombre,
            &self.emisor.regimen_fiscal,
        )
    }

    /// Loads the CSD: reads `csd.cer` and `csd.key` and decrypts the key with the password named
    /// `csd.password_secret` from `secrets`. Checks that the certificate is a CSD of the emisor's RFC and valid
    /// now.
    ///
    /// # Errors
    /// [`FiscalError::Secret`] when the password is not in the source; [`FiscalError::Profile`] naming
    /// `csd.cer` / `csd.key` when a file cannot be read or decrypted, or the CSD belongs to another RFC;
    /// [`FiscalError::CsdExpired`] when it has expired ([`FiscalError::Profile`] naming `csd.cer` when it is
    /// not valid yet).
    pub fn load_csd(&self, secrets: &dyn SecretSource) -> Result<Csd, FiscalError> {
        let password = secret(secrets, &self.csd.password_secret)?;
        let read = |field: &str, p: &PathBuf| {
            std::fs::read(p).map_err(|e| FiscalError::Profile {
                field: field.to_owned(),
                problem: format!("cannot read {}: {e}", p.display()),
            })
        };
        let cer = read("csd.cer", &self.csd.cer)?;
        let key = read("csd.key", &self.csd.key)?;
        self.csd_from_bytes(&cer, &key, &password)
    }

    /// As [`load_csd`](Self::load_csd) from bytes the caller already holds (e.g. from a vault).
    ///
    /// # Errors
    /// As [`load_csd`](Self::load_csd).
    pub fn csd_from_bytes(
        &self,
        cer: &[u8],
        key: &[u8],
        password: &SecretString,
    ) -> Result<Csd, FiscalError> {
        let csd = Csd::from_bytes(cer, key, password).map_err(|e| FiscalError::Profile {
            field: "csd".into(),
            problem: e.to_string(),
        })?;
        let cert = csd.certificate();
        if !cert.rfc().eq_ignore_ascii_case(self.emisor.rfc.trim()) {
            return Err(FiscalError::Profile {
                field: "csd.cer".into(),
                problem: format!(
                    "the CSD belongs to RFC {}, not to the emisor {}",
                    cert.rfc(),
                    self.emisor.rfc
                ),
            });
        }
        let now = chrono::Utc::now();
        if now < cert.not_before() {
            return Err(FiscalError::Profile {
                field: "csd.cer".into(),
                problem: format!(
                    "the CSD {} is not valid before {}",
                    cert.no_certificado(),
                    cert.not_before().to_rfc3339()
                ),
            });
        }
        if !cert.is_valid_at(now) {
            return Err(FiscalError::CsdExpired {
                record: "profile".into(),
                no_certificado: cert.no_certificado().to_owned(),
                not_after: cert.not_after().to_rfc3339(),
                at: now.to_rfc3339(),
            });
        }
        Ok(csd)
    }

    /// The PACs to stamp and cancel with: the primary, then the backup, as a [`Failover`]. `pac_certificate`
    /// (the PAC's or SAT's certificate) makes every client verify `SelloSAT` of the stamps it receives.
    ///
    /// Cancelling needs the CSD at the PAC: the profile's `.cer` and `.key` files are read and given to each
    /// client ([`SwCancelCsd`]: the files and the CSD password; [`FinkokCancelCsd`]: the certificate as PEM
    /// and the key PEM encrypted with the Finkok password, which Finkok wants and this crate does not make:
    /// the secret named by the PAC's [`cancel_key_secret`](PacProfile::cancel_key_secret)). A Finkok PAC
    /// without `cancel_key_secret` stamps but cannot cancel. CSD bytes held elsewhere:
    /// [`failover_with_csd`](Self::failover_with_csd).
    ///
    /// # Errors
    /// [`FiscalError::Profile`] when neither PAC is configured, a client cannot be built or a CSD file
    /// cannot be read (naming `csd.cer` / `csd.key`); [`FiscalError::Secret`] for a missing password.
    pub fn failover(
        &self,
        secrets: &dyn SecretSource,
        pac_certificate: Option<&crate::Certificate>,
    ) -> Result<Failover, FiscalError> {
        let read = |field: &str, p: &PathBuf| {
            std::fs::read(p).map_err(|e| FiscalError::Profile {
                field: field.to_owned(),
                problem: format!("cannot read {}: {e}", p.display()),
            })
        };
        let cer = read("csd.cer", &self.csd.cer)?;
        let key = read("csd.key", &self.csd.key)?;
        self.failover_with_csd(secrets, pac_certificate, &cer, &key)
    }

    /// As [`failover`](Self::failover) with the CSD's `.cer` and `.key` (DER) the caller already holds (e.g.
    /// from a vault, as for [`csd_from_bytes`](Self::csd_from_bytes)).
    ///
    /// # Errors
    /// As [`failover`](Self::failover); [`FiscalError::Profile`] naming `csd.cer` when `cer` is not a
    /// certificate.
    pub fn failover_with_csd(
        &self,
        secrets: &dyn SecretSource,
        pac_certificate: Option<&crate::Certificate>,
        cer: &[u8],
        key: &[u8],
    ) -> Result<Failover, FiscalError> {
        let csd_password = secret(secrets, &self.csd.password_secret)?;
        let cer_pem = crate::Certificate::from_bytes(cer)
            .map(|c| pem("CERTIFICATE", c.der()))
            .map_err(|e| FiscalError::Profile {
                field: "csd.cer".into(),
                problem: e.to_string(),
            })?;
        let mut pacs: Vec<Arc<dyn Pac>> = Vec::new();
        for (field, p) in [
            ("primary_pac", &self.primary_pac),
            ("backup_pac", &self.backup_pac),
        ] {
            let Some(p) = p else { continue };
            let password = secret(secrets, &p.password_secret)?;
            let bad = |e: crate::pac::PacError| FiscalError::Profile {
                field: field.to_owned(),
                problem: e.to_string(),
            };
            let pac: Arc<dyn Pac> = match p.kind {
                PacKind::Finkok => {
                    let mut cfg = FinkokConfig::new(&p.url, &p.user, password);
                    if let Some(c) = pac_certificate {
                        cfg = cfg.with_pac_certificate(c.clone());
                    }
                    if let Some(ms) = p.timeout_ms {
                        cfg = cfg.with_timeout(Duration::from_millis(ms));
                    }
                    if let Some(name) = &p.cancel_key_secret {
                        let key_pem = secret(secrets, name)?;
                        cfg = cfg.with_cancel_csd(FinkokCancelCsd::new(cer_pem.clone(), key_pem));
                    }
                    Arc::new(FinkokClient::new(cfg).map_err(bad)?)
                }
                PacKind::Sw => {
                    let api = p.api_url.clone().unwrap_or_else(|| p.url.clone());
                    let auth = SwAuth::UserPassword {
                        user: p.user.clone(),
                        password,
                    };
                    let mut cfg = SwConfig::new(&p.url, api, auth);
                    if let Some(c) = pac_certificate {
                        cfg = cfg.with_pac_certificate(c.clone());
                    }
                    if let Some(ms) = p.timeout_ms {
                        cfg = cfg.with_timeout(Duration::from_millis(ms));
                    }
                    cfg = cfg.with_cancel_csd(SwCancelCsd::new(cer, key, csd_password.clone()));
                    Arc::new(SwClient::new(cfg).map_err(bad)?)
                }
            };
            pacs.push(pac);
        }
        let mut it = pacs.into_iter();
        let first = it.next().ok_or_else(|| FiscalError::Profile {
            field: "primary_pac".into(),
            problem: "no PAC configured (set primary_pac, backup_pac or both)".into(),
        })?;
        Ok(it.fold(Failover::new(first), Failover::with_backup))
    }

    /// c_ClaveProdServ, c_ClaveUnidad and forced ObjetoImp of a line selling `item` with unit `unit`.
    pub(crate) fn line_keys(
        &self,
        record: &str,
        line: usize,
        item: Option<&str>,
        unit: Option<&str>,
    ) -> Result<(String, String, Option<String>), FiscalError> {
        let mapping = item.and_then(|i| self.items.get(i));
        let clave_prod_serv = match (mapping, &self.default_clave_prod_serv) {
            (Some(m), _) => m.clave_prod_serv.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(FiscalError::Unmapped {
                    record: record.to_owned(),
                    line,
                    field: "item",
                    value: item.unwrap_or("").to_owned(),
                    catalog: "c_ClaveProdServ",
                });
            }
        };
        let clave_unidad = mapping
            .and_then(|m| m.clave_unidad.clone())
            .or_else(|| unit.and_then(|u| self.units.get(u).cloned()))
            .or_else(|| self.default_clave_unidad.clone())
            .ok_or_else(|| FiscalError::Unmapped {
                record: record.to_owned(),
                line,
                field: "unit",
                value: unit.or(item).unwrap_or("").to_owned(),
                catalog: "c_ClaveUnidad",
            })?;
        Ok((
            clave_prod_serv,
            clave_unidad,
            mapping.and_then(|m| m.objeto_imp.clone()),
        ))
    }

    /// The SAT `(c_Impuesto, forced ObjetoImp)` of our tax code; `Ok((None, _))` for a tax not reported.
    pub(crate) fn tax_keys(
        &self,
        record: &str,
        line: usize,
        code: &str,
    ) -> Result<(Option<String>, Option<String>), FiscalError> {
        if let Some(m) = self.taxes.get(code) {
            return Ok((m.impuesto.clone(), m.objeto_imp.clone()));
        }
        let impuesto = match code {
            "IVA" => crate::build::IVA,
            "ISR" => crate::build::ISR,
            "IEPS" => crate::build::IEPS,
            _ => {
                return Err(FiscalError::Unmapped {
                    record: record.to_owned(),
                    line,
                    field: "taxes",
                    value: code.to_owned(),
                    catalog: "c_Impuesto",
                });
            }
        };
        Ok((Some(impuesto.to_owned()), None))
    }

    /// c_FormaPago of a payment method: the mapping, or a two-digit code as is.
    pub(crate) fn forma_pago(
        &self,
        record: &str,
        method: Option<&str>,
    ) -> Result<String, FiscalError> {
        let Some(m) = method else {
            return Err(FiscalError::Field {
                record: record.to_owned(),
                field: "method",
                problem: "is required for a payment receipt (c_FormaPago)".into(),
            });
        };
        if let Some(code) = self.payment_methods.get(m) {
            return Ok(code.clone());
        }
        if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(m.to_owned());
        }
        Err(FiscalError::Field {
            record: record.to_owned(),
            field: "method",
            problem: format!("{m:?} has no c_FormaPago mapping (payment_methods)"),
        })
    }

    /// The `Receptor` for `customer`, from its [`TaxId::MxRfc`] (RFC, régimen, postal code) and
    /// `passthrough.cfdi.uso_cfdi` (default [`default_uso_cfdi`](Self::default_uso_cfdi)).
    ///
    /// SAT's generic RFCs: `XAXX010101000` (público en general) becomes
    /// [`Receptor::publico_en_general`] (régimen 616, UsoCFDI S01, domicile = LugarExpedicion) and marks the
    /// document as needing `InformacionGlobal`; `XEXX010101000` (foreign) keeps the customer's name, with
    /// régimen 616, UsoCFDI S01 and domicile = LugarExpedicion. Other RFCs need régimen and postal code.
    ///
    /// # Errors
    /// [`FiscalError::Customer`] naming the missing or malformed field.
    pub fn receptor(
        &self,
        record: &str,
        customer: &Customer,
    ) -> Result<CustomerFiscal, FiscalError> {
        let err = |field: &'static str, problem: &str| FiscalError::Customer {
            record: record.to_owned(),
            customer: customer.external_ref.clone(),
            field,
            problem: problem.to_owned(),
        };
        let (rfc, regimen, cp) = customer
            .tax_ids
            .iter()
            .find_map(|t| match t {
                TaxId::MxRfc {
                    rfc,
                    regimen_fiscal,
                    postal_code,
                } => Some((rfc, regimen_fiscal, postal_code)),
                _ => None,
            })
            .ok_or_else(|| err("tax_ids.mx_rfc", "is missing (the customer has no RFC)"))?;
        let rfc = rfc.trim().to_ascii_uppercase();
        let len = rfc.chars().count();
        if !(12..=13).contains(&len) {
            return Err(err(
                "tax_ids.mx_rfc.rfc",
                &format!("{rfc:?} must have 12 or 13 characters"),
            ));
        }
        let lugar = &self.emisor.lugar_expedicion;
        if rfc == RFC_PUBLICO_EN_GENERAL {
            return Ok(CustomerFiscal {
                receptor: Receptor::publico_en_general(lugar),
                publico_en_general: true,
            });
        }
        let nombre = customer.legal_name.trim().to_uppercase();
        if nombre.is_empty() {
            return Err(err("legal_name", "is empty"));
        }
        if rfc == RFC_EXTRANJERO {
            return Ok(CustomerFiscal {
                receptor: Receptor::new(rfc, nombre, lugar, "616", "S01"),
                publico_en_general: false,
            });
        }
        let regimen = regimen
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| err("tax_ids.mx_rfc.regimen_fiscal", "is missing"))?;
        if !crate::catalog::Catalog::RegimenFiscal.contains(regimen) {
            return Err(err(
                "tax_ids.mx_rfc.regimen_fiscal",
                &format!("{regimen:?} is not in c_RegimenFiscal"),
            ));
        }
        let cp = cp
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| err("tax_ids.mx_rfc.postal_code", "is missing"))?;
        if cp.len() != 5 || !cp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "tax_ids.mx_rfc.postal_code",
                &format!("{cp:?} is not a 5-digit postal code"),
            ));
        }
        let uso = customer
            .passthrough
            .pointer("/cfdi/uso_cfdi")
            .and_then(|v| v.as_str())
            .unwrap_or(&self.default_uso_cfdi);
        Ok(CustomerFiscal {
            receptor: Receptor::new(rfc, nombre, cp, regimen, uso),
            publico_en_general: false,
        })
    }
}

/// PEM armour of `der` (base64 in 64-character lines).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `(c_Impuesto, TipoFactor, TasaOCuota)` of one of our tax rates.
pub(crate) fn sat_rate(rate: &erp_hub_core::tax::TaxRate) -> Option<(TipoFactor, Decimal)> {
    use erp_hub_core::tax::TaxRate;
    match rate {
        TaxRate::Percent(p) => Some((TipoFactor::Tasa, *p / Decimal::ONE_HUNDRED)),
        TaxRate::Zero => Some((TipoFactor::Tasa, Decimal::ZERO)),
        TaxRate::Exempt => Some((TipoFactor::Exento, Decimal::ZERO)),
        TaxRate::PerUnit(m) => Some((TipoFactor::Cuota, m.amount())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> FiscalProfile {
        serde_json::from_value(serde_json::json!({
            "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                       "lugar_expedicion": "42501"},
            "csd": {"cer": "tests/fixtures/csd/EKU9003173C9.cer", "key": "tests/fixtures/csd/EKU9003173C9.key",
                    "password_secret": "csd"},
            "primary_pac": {"kind": "finkok", "url": "http://127.0.0.1:9", "user": "u", "password_secret": "fk"},
            "backup_pac": {"kind": "sw", "url": "http://127.0.0.1:9", "user": "u", "password_secret": "sw"},
            "items": {"i-1": {"clave_prod_serv": "81111500", "clave_unidad": "E48"}},
            "units": {"hour": "HUR"}
        }))
        .unwrap()
    }

    fn customer(tax: TaxId) -> Customer {
        let mut c = Customer::new("c-1", "Universidad Robotica Española");
        c.tax_ids.push(tax);
        c
    }

    fn rfc(rfc: &str, regimen: Option<&str>, cp: Option<&str>) -> TaxId {
        serde_json::from_value(serde_json::json!({
            "type": "mx_rfc", "rfc": rfc, "regimen_fiscal": regimen, "postal_code": cp
        }))
        .unwrap()
    }

    #[test]
    fn loads_the_csd_through_the_secret_source_and_never_shows_secrets() {
        let p = profile();
        let e = p.load_csd(&MapSecrets::new()).unwrap_err();
        assert!(
            matches!(e, FiscalError::Secret { ref name } if name == "csd"),
            "{e}"
        );
        let wrong = MapSecrets::new().with("csd", "wrong-password");
        assert!(matches!(
            p.load_csd(&wrong).unwrap_err(),
            FiscalError::Profile { .. }
        ));
        let secrets = MapSecrets::new()
            .with("csd", "12345678a")
            .with("fk", "FINKOK-SECRET")
            .with("sw", "SW-SECRET");
        let csd = p.load_csd(&secrets).unwrap();
        assert_eq!(csd.certificate().rfc(), "EKU9003173C9");
        let f = p.failover(&secrets, None).unwrap();
        let names: Vec<&str> = f.pacs().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["finkok", "sw"]);
        let shown = format!("{secrets:?} {p:?} {f:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("12345678a"),
            "{shown}"
        );
    }

    #[test]
    fn an_expired_csd_is_refused_when_loaded() {
        let mut p = profile();
        p.csd.cer = "tests/fixtures/csd/EKU9003173C9_2019.cer".into();
        p.csd.key = "tests/fixtures/csd/EKU9003173C9_2019.key".into();
        let e = p
            .load_csd(&MapSecrets::new().with("csd", "12345678a"))
            .unwrap_err();
        assert!(matches!(e, FiscalError::CsdExpired { .. }), "{e}");
    }

    #[test]
    fn receptor_from_the_rfc_tax_id() {
        let p = profile();
        let r = p
            .receptor(
                "inv-1",
                &customer(rfc("URE180429TM6", Some("601"), Some("86991"))),
            )
            .unwrap();
        assert_eq!(r.receptor.rfc, "URE180429TM6");
        assert_eq!(r.receptor.nombre, "UNIVERSIDAD ROBOTICA ESPAÑOLA");
        assert_eq!(r.receptor.uso_cfdi, "G03");
        assert!(!r.publico_en_general);
        for (tax, field) in [
            (
                rfc("URE180429TM6", None, Some("86991")),
                "tax_ids.mx_rfc.regimen_fiscal",
            ),
            (
                rfc("URE180429TM6", Some("601"), None),
                "tax_ids.mx_rfc.postal_code",
            ),
            (
                rfc("URE180429TM6", Some("999"), Some("86991")),
                "tax_ids.mx_rfc.regimen_fiscal",
            ),
            (
                rfc("URE18", Some("601"), Some("86991")),
                "tax_ids.mx_rfc.rfc",
            ),
        ] {
            match p.receptor("inv-1", &customer(tax)).unwrap_err() {
                FiscalError::Customer {
                    field: f, record, ..
                } => {
                    assert_eq!(f, field);
                    assert_eq!(record, "inv-1");
                }
                e => panic!("{e}"),
            }
        }
        let none = Customer::new("c-2", "Sin RFC");
        assert!(matches!(
            p.receptor("inv-1", &none).unwrap_err(),
            FiscalError::Customer {
                field: "tax_ids.mx_rfc",
                ..
            }
        ));
        let pg = p
            .receptor("inv-1", &customer(rfc("XAXX010101000", None, None)))
            .unwrap();
        assert!(pg.publico_en_general);
        assert_eq!(pg.receptor.nombre, "PUBLICO EN GENERAL");
        assert_eq!(pg.receptor.domicilio_fiscal_receptor, "42501");
        assert_eq!(pg.receptor.regimen_fiscal_receptor, "616");
        let ex = p
            .receptor("inv-1", &customer(rfc("XEXX010101000", None, None)))
            .unwrap();
        assert!(!ex.publico_en_general);
        assert_eq!(ex.receptor.uso_cfdi, "S01");
        assert_eq!(ex.receptor.domicilio_fiscal_receptor, "42501");
    }

    #[test]
    fn line_keys_follow_item_unit_default() {
        let mut p = profile();
        assert_eq!(
            p.line_keys("inv-1", 0, Some("i-1"), None).unwrap(),
            ("81111500".into(), "E48".into(), None)
        );
        let e = p
            .line_keys("inv-1", 2, Some("i-9"), Some("hour"))
            .unwrap_err();
        assert!(
            matches!(
                e,
                FiscalError::Unmapped {
                    line: 2,
                    field: "item",
                    catalog: "c_ClaveProdServ",
                    ..
                }
            ),
            "{e}"
        );
        p.default_clave_prod_serv = Some("01010101".into());
        assert_eq!(
            p.line_keys("inv-1", 2, Some("i-9"), Some("hour"))
                .unwrap()
                .1,
            "HUR"
        );
        let e = p
            .line_keys("inv-1", 2, Some("i-9"), Some("kg"))
            .unwrap_err();
        assert!(
            matches!(e, FiscalError::Unmapped { field: "unit", .. }),
            "{e}"
        );
        assert!(matches!(
            p.tax_keys("inv-1", 0, "VAT").unwrap_err(),
            FiscalError::Unmapped { field: "taxes", .. }
        ));
        assert_eq!(
            p.tax_keys("inv-1", 0, "IVA").unwrap().0.as_deref(),
            Some("002")
        );
    }
}
