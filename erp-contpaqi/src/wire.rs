//! Typed request and response bodies of the bridge contract (`bridge/openapi.yaml`, field names as there).
//!
//! Amounts are [`Amount`]s: exact JSON numbers, never `f64`. Optional fields are left out when `None`.

use chrono::{DateTime, NaiveDate, Utc};
use erp_hub_core::http::wire::Amount;
use serde::{Deserialize, Serialize};

/// The contract's major version, the first segment of every path.
pub const CONTRACT_PATH_VERSION: &str = "v1";
/// The contract version this crate implements (`info.version` of `bridge/openapi.yaml`).
pub const CONTRACT_VERSION: &str = "1.0.0";

/// A job type: one thing the SDK can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobType {
    /// Create or update a cliente/proveedor (`fAltaCteProv` / `fEditaCteProv`).
    UpsertCliente,
    /// Create or update a producto/servicio (`fAltaProducto` / `fEditaProducto`).
    UpsertProducto,
    /// `fAltaDocumento` + `fAltaMovimiento`s + `fAfectaDocto_Param`.
    AltaDocumento,
    /// A payment (or an existing abono) applied to documents (`fSaldarDocumento`).
    Saldar,
    /// Stamping through CONTPAQi's PAC (`fEmitirDocumento`).
    Timbrar,
    /// Cancelling a document (`fCancelaDocumento`).
    Cancelar,
    /// Reading one record.
    Consulta,
}

impl JobType {
    /// The wire name (`upsert_cliente`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpsertCliente => "upsert_cliente",
            Self::UpsertProducto => "upsert_producto",
            Self::AltaDocumento => "alta_documento",
            Self::Saldar => "saldar",
            Self::Timbrar => "timbrar",
            Self::Cancelar => "cancelar",
            Self::Consulta => "consulta",
        }
    }

    /// Whether the job changes the company (every type but `consulta`).
    pub fn is_write(self) -> bool {
        self != Self::Consulta
    }
}

/// `POST /v1/jobs` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobRequest {
    /// What to do.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// Same key → same job (see the contract's idempotency rule).
    pub idempotency_key: String,
    /// The type's payload.
    pub payload: serde_json::Value,
}

impl JobRequest {
    /// A request.
    pub fn new(job_type: JobType, idempotency_key: String, payload: serde_json::Value) -> Self {
        Self {
            job_type,
            idempotency_key,
            payload,
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting for the SDK thread.
    Queued,
    /// Being executed.
    Running,
    /// Finished; `result` is set.
    Done,
    /// Refused by the SDK (or the agent); `error` is set and nothing was applied.
    Failed,
}

/// `202`/`200` answer of `POST /v1/jobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobAccepted {
    /// The job's id.
    pub job_id: String,
    /// Its state now.
    pub status: JobStatus,
}

/// `GET /v1/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// The job's id.
    pub job_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// The key it was submitted with.
    pub idempotency_key: String,
    /// Its state.
    pub status: JobStatus,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The result, when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// The error, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SdkErrorBody>,
}

/// Where a job error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorSource {
    /// `fError` of the SDK.
    Sdk,
    /// A check the agent makes itself.
    Bridge,
}

/// The agent's classification of an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SdkErrorKind {
    /// The record exists (`existing` names it).
    Duplicate,
    /// A referenced record (catalogue entry, document) does not exist.
    NotFound,
    /// A value was refused by a business rule.
    Invalid,
    /// The record changed since the version the caller based its update on.
    Conflict,
    /// The SDK could not run (license, company locked); retrying later may work.
    Unavailable,
    /// Anything else.
    Internal,
}

/// A failed job's error: the SDK code and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SdkErrorBody {
    /// `sdk` or `bridge`.
    pub source: ErrorSource,
    /// The code.
    pub code: i64,
    /// The text (`fError`).
    pub message: String,
    /// The agent's classification.
    pub kind: SdkErrorKind,
    /// With `duplicate`: the existing record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
}

/// What a done job produced.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobResult {
    /// For cliente jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cliente: Option<Cliente>,
    /// For producto jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producto: Option<Producto>,
    /// For document jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documento: Option<Documento>,
}

/// `CTIPOCLIENTE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TipoCliente {
    /// A customer.
    Cliente,
    /// A supplier.
    Proveedor,
    /// Both.
    ClienteProveedor,
}

/// `upsert_cliente` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpsertCliente {
    /// `CCODIGOCLIENTE` (max 30).
    pub codigo: String,
    /// Customer, supplier or both.
    pub tipo: TipoCliente,
    /// `CRAZONSOCIAL` (max 60).
    pub razon_social: String,
    /// `CRFC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc: Option<String>,
    /// `CEMAIL1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `CTELEFONO1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefono: Option<String>,
    /// Fiscal address zip code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codigo_postal: Option<String>,
    /// SAT régimen fiscal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regimen_fiscal: Option<String>,
    /// SAT uso CFDI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uso_cfdi: Option<String>,
    /// Currency code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moneda: Option<String>,
    /// Optimistic concurrency: the `CTIMESTAMP` the update is based on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_timestamp: Option<String>,
}

/// A cliente/proveedor as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cliente {
    /// `CIDCLIENTEPROVEEDOR`.
    pub id: i64,
    /// `CCODIGOCLIENTE`.
    pub codigo: String,
    /// Customer, supplier or both.
    pub tipo: TipoCliente,
    /// `CRAZONSOCIAL`.
    pub razon_social: String,
    /// `CRFC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc: Option<String>,
    /// `CEMAIL1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `CTELEFONO1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefono: Option<String>,
    /// Fiscal zip code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codigo_postal: Option<String>,
    /// SAT régimen fiscal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regimen_fiscal: Option<String>,
    /// SAT uso CFDI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uso_cfdi: Option<String>,
    /// Currency code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moneda: Option<String>,
    /// `CTIMESTAMP`, the record's version.
    pub timestamp: String,
}

/// `CTIPOPRODUCTO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TipoProducto {
    /// Goods (1).
    Producto,
    /// A service (3).
    Servicio,
}

/// `upsert_producto` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpsertProducto {
    /// `CCODIGOPRODUCTO` (max 30).
    pub codigo: String,
    /// `CNOMBREPRODUCTO` (max 60).
    pub nombre: String,
    /// Goods or service.
    pub tipo: TipoProducto,
    /// `CDESCRIPCIONPRODUCTO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descripcion: Option<String>,
    /// `CPRECIO1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precio: Option<Amount>,
    /// `CCLAVESAT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clave_sat: Option<String>,
    /// SAT unit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unidad: Option<String>,
}

/// A producto/servicio as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Producto {
    /// `CIDPRODUCTO`.
    pub id: i64,
    /// `CCODIGOPRODUCTO`.
    pub codigo: String,
    /// `CNOMBREPRODUCTO`.
    pub nombre: String,
    /// Goods or service.
    pub tipo: TipoProducto,
    /// `CDESCRIPCIONPRODUCTO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descripcion: Option<String>,
    /// `CPRECIO1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precio: Option<Amount>,
    /// `CCLAVESAT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clave_sat: Option<String>,
    /// SAT unit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unidad: Option<String>,
    /// `CTIMESTAMP`.
    pub timestamp: String,
}

/// A document's unique key: concepto + serie + folio.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocKey {
    /// `CCODIGOCONCEPTO`.
    pub concepto: String,
    /// `CSERIEDOCUMENTO` (may be empty).
    pub serie: String,
    /// `CFOLIO`.
    pub folio: i64,
}

impl DocKey {
    /// A key.
    pub fn new(concepto: impl Into<String>, serie: impl Into<String>, folio: i64) -> Self {
        Self {
            concepto: concepto.into(),
            serie: serie.into(),
            folio,
        }
    }

    /// The remote id erp-hub uses: `concepto/serie/folio`.
    pub fn remote_id(&self) -> String {
        format!("{}/{}/{}", self.concepto, self.serie, self.folio)
    }

    /// Parses a [`remote_id`](Self::remote_id); `None` when it is not `concepto/serie/folio` with a positive
    /// folio.
    pub fn parse(id: &str) -> Option<Self> {
        let mut parts = id.rsplitn(3, '/');
        let folio = parts.next()?.parse::<i64>().ok().filter(|f| *f > 0)?;
        let serie = parts.next()?;
        let concepto = parts.next().filter(|c| !c.is_empty())?;
        Some(Self::new(concepto, serie, folio))
    }
}

/// One movimiento (document line), amounts exactly as erp-hub computed them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Movimiento {
    /// `CCODIGOPRODUCTO`.
    pub producto: String,
    /// `CUNIDADES`.
    pub unidades: Amount,
    /// `CPRECIO`.
    pub precio: Amount,
    /// `CDESCUENTO1` amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descuento: Option<Amount>,
    /// `CNETO`.
    pub neto: Amount,
    /// `CIMPUESTO1` (IVA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impuesto1: Option<Amount>,
    /// `CPORCENTAJEIMPUESTO1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porcentaje_impuesto1: Option<Amount>,
    /// `CIMPUESTO2` (IEPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impuesto2: Option<Amount>,
    /// `CPORCENTAJEIMPUESTO2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porcentaje_impuesto2: Option<Amount>,
    /// `CIMPUESTO3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impuesto3: Option<Amount>,
    /// `CPORCENTAJEIMPUESTO3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porcentaje_impuesto3: Option<Amount>,
    /// `CRETENCION1` (IVA withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retencion1: Option<Amount>,
    /// `CPORCENTAJERETENCION1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porcentaje_retencion1: Option<Amount>,
    /// `CRETENCION2` (ISR withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retencion2: Option<Amount>,
    /// `CPORCENTAJERETENCION2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porcentaje_retencion2: Option<Amount>,
    /// IVA-exempt line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exento: bool,
    /// `COBSERVAMOV` (the line description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observaciones: Option<String>,
}

/// `alta_documento` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AltaDocumento {
    /// `CCODIGOCONCEPTO`.
    pub concepto: String,
    /// `CSERIEDOCUMENTO`.
    pub serie: String,
    /// `CFOLIO`; `None` lets the agent take `fSiguienteFolio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    /// `CFECHA`.
    pub fecha: NaiveDate,
    /// `CFECHAVENCIMIENTO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vencimiento: Option<NaiveDate>,
    /// Cliente código.
    pub cliente: String,
    /// Currency code.
    pub moneda: String,
    /// `CTIPOCAMBIO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_cambio: Option<Amount>,
    /// `CTEXTOEXTRA1`: our external reference.
    pub referencia: String,
    /// `COBSERVACIONES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observaciones: Option<String>,
    /// The lines.
    pub movimientos: Vec<Movimiento>,
    /// For a nota de crédito: the related document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relacionado: Option<DocKey>,
}

/// The payment document of a [`Saldar`] job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PagoNuevo {
    /// Concepto of the pago/abono.
    pub concepto: String,
    /// Serie.
    pub serie: String,
    /// Date.
    pub fecha: NaiveDate,
    /// Cliente código.
    pub cliente: String,
    /// Currency code.
    pub moneda: String,
    /// Exchange rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_cambio: Option<Amount>,
    /// The amount received.
    pub total: Amount,
    /// `CTEXTOEXTRA1`: our external reference.
    pub referencia: String,
    /// SAT forma de pago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forma_pago: Option<String>,
}

/// One application of a payment or abono.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Aplicacion {
    /// The cargo paid.
    pub documento: DocKey,
    /// How much of it.
    pub importe: Amount,
}

impl Aplicacion {
    /// An application.
    pub fn new(documento: DocKey, importe: Amount) -> Self {
        Self { documento, importe }
    }
}

/// `saldar` payload: a new pago, or an existing abono, applied to cargos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Saldar {
    /// The payment document to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pago: Option<PagoNuevo>,
    /// An existing abono (nota de crédito) to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abono: Option<DocKey>,
    /// The applications.
    pub aplicaciones: Vec<Aplicacion>,
}

/// `timbrar` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timbrar {
    /// The document to stamp.
    pub documento: DocKey,
}

/// `cancelar` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cancelar {
    /// The document.
    pub documento: DocKey,
    /// SAT motive (stamped documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
}

/// What a [`Consulta`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entidad {
    /// A cliente/proveedor, by código.
    Cliente,
    /// A producto/servicio, by código.
    Producto,
    /// A document, by concepto/serie/folio.
    Documento,
}

/// `consulta` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Consulta {
    /// What to read.
    pub entidad: Entidad,
    /// For catalogues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    /// For documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documento: Option<DocKey>,
}

/// `cargo` (factura) or `abono` (nota de crédito, pago).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Naturaleza {
    /// Increases what the cliente owes.
    Cargo,
    /// Decreases it.
    Abono,
}

/// A document as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Documento {
    /// `CIDDOCUMENTO`.
    pub id: i64,
    /// Concepto código.
    pub concepto: String,
    /// Serie.
    pub serie: String,
    /// Folio.
    pub folio: i64,
    /// Cargo or abono.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naturaleza: Option<Naturaleza>,
    /// `CFECHA`.
    pub fecha: NaiveDate,
    /// Cliente código.
    pub cliente: String,
    /// Currency code.
    pub moneda: String,
    /// `CTIPOCAMBIO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_cambio: Option<Amount>,
    /// `CTEXTOEXTRA1`: the external reference.
    pub referencia: String,
    /// `CNETO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neto: Option<Amount>,
    /// `CIMPUESTO1..3` summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impuestos: Option<Amount>,
    /// `CRETENCION1..2` summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retenciones: Option<Amount>,
    /// `CTOTAL`.
    pub total: Amount,
    /// `CPENDIENTE`, the open balance.
    pub pendiente: Amount,
    /// `CCANCELADO`.
    pub cancelado: bool,
    /// CFDI UUID once stamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub movimientos: Vec<Movimiento>,
    /// For pagos and abonos: where they were applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aplicaciones: Vec<Aplicacion>,
    /// `CTIMESTAMP`.
    pub timestamp: String,
}

impl Documento {
    /// The document's key.
    pub fn key(&self) -> DocKey {
        DocKey::new(self.concepto.clone(), self.serie.clone(), self.folio)
    }
}

/// License state reported by `GET /v1/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LicenseState {
    /// Licensed.
    Valid,
    /// Trial period.
    Trial,
    /// Expired: the SDK refuses writes.
    Expired,
    /// The license server cannot be reached.
    Unavailable,
}

/// The license part of [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct License {
    /// State.
    pub state: LicenseState,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The open company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Company {
    /// Name.
    pub name: String,
    /// RFC.
    pub rfc: String,
    /// Directory given to `fAbreEmpresa`.
    pub path: String,
    /// Home currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// The contract version the agent implements.
    pub contract_version: String,
    /// Job types it accepts (unknown names are kept out: a newer agent may list more).
    #[serde(deserialize_with = "known_job_types")]
    pub job_types: Vec<JobType>,
    /// SDK version.
    pub sdk_version: String,
    /// The open company.
    pub company: Company,
    /// License state.
    pub license: License,
    /// Jobs waiting.
    pub queue_depth: u64,
}

fn known_job_types<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<JobType>, D::Error> {
    let names: Vec<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(names
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// A `4xx` body: the bridge refused the request before queuing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Problem {
    /// Machine-readable code (`unknown_job_type`, ...); kept as text so that new codes still parse.
    pub code: String,
    /// Text.
    pub message: String,
    /// The field at fault (JSON pointer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the bridge supports (job types or versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<Vec<String>>,
}

/// What a change entry refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChangeEntry {
    /// Position in the feed.
    pub seq: i64,
    /// Cliente, producto or documento.
    pub entidad: Entidad,
    /// Código, or `concepto/serie/folio`.
    pub id: String,
    /// The external reference, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referencia: Option<String>,
    /// Deleted or cancelled.
    pub deleted: bool,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// `GET /v1/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChangeFeed {
    /// Changes in order.
    pub changes: Vec<ChangeEntry>,
    /// Cursor to continue from.
    pub next: String,
    /// Whether more are waiting.
    pub has_more: bool,
}
