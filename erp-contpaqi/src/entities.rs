//! [`ContpaqiAdapter`]: [`ErpAdapter`] over the bridge, plus CONTPAQi's own stamping
//! ([`ContpaqiAdapter::timbrar`]).
//!
//! Every write is one job (a credit note is two: the nota de crédito, then its application to the invoice)
//! submitted under the caller's idempotency key (`<key>#alta` / `<key>#saldar` for the two steps), so a retry
//! with the same key finds the same job and its result. A job still running when polling gives up, or a
//! second step refused after the first was applied, is [`Uncertain`](erp_hub_core::ErrorKind::Uncertain):
//! retry with the same key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use erp_hub_core::adapter::{
    Capabilities, Capability, ChangeCursor, ChangePage, CompanyInfo, Entity, ErpAdapter,
    IdempotencyKey, RemoteRecord,
};
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, EntityKind, Invoice, Item, Payment, RemoteRef,
};
use erp_hub_core::{Error, ErrorKind, Result};

use crate::client::ContpaqiClient;
use crate::config::ContpaqiConfig;
use crate::mapping;
use crate::wire::{
    AltaDocumento, Aplicacion, Cancelar, Cliente, Consulta, DocKey, Documento, Entidad, Health,
    JobResult, JobType, LicenseState, Producto, Saldar, Timbrar,
};

/// The provider id in [`RemoteRef::provider`].
pub const PROVIDER: &str = "contpaqi";

/// One CONTPAQi company behind one bridge.
///
/// ```no_run
/// # async fn demo() -> erp_hub_core::Result<()> {
/// use erp_contpaqi::{AccountMapping, ContpaqiAdapter, ContpaqiConfig};
/// use erp_hub_core::ErpAdapter;
///
/// let mut mapping = AccountMapping::new("contpaqi");
/// mapping.tax_codes.insert("IVA16".into(), "impuesto1".into());
/// let config = ContpaqiConfig::new("http://contpaqi-agent.local:8723", "agent-key".into())?;
/// let contpaqi = ContpaqiAdapter::new(config)?.with_mapping(mapping);
/// let company = contpaqi.test_connection().await?;
/// println!("{} ({:?})", company.name, company.tax_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ContpaqiAdapter {
    client: ContpaqiClient,
    mapping: AccountMapping,
}

/// The outcome of [`ContpaqiAdapter::timbrar`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timbrado {
    /// The CFDI UUID.
    pub uuid: String,
    /// The stamped document.
    pub documento: Documento,
    /// Whether the document was already stamped before this call (no new stamp was made).
    pub already_stamped: bool,
}

fn doc_ref(d: &Documento) -> RemoteRef {
    RemoteRef::new(PROVIDER, d.key().remote_id())
        .with_version(d.timestamp.clone())
        .with_number(format!("{}{}", d.serie, d.folio))
}

fn cliente_ref(c: &Cliente) -> RemoteRef {
    RemoteRef::new(PROVIDER, c.codigo.clone()).with_version(c.timestamp.clone())
}

fn producto_ref(p: &Producto) -> RemoteRef {
    RemoteRef::new(PROVIDER, p.codigo.clone()).with_version(p.timestamp.clone())
}

fn missing(job: &str, what: &str) -> Error {
    Error::uncertain(format!(
        "CONTPAQi {job} job finished without a {what} in its result"
    ))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::config(format!("serializing a job payload: {e}")))
}

/// A key for a read (`consulta`): reads must not be de-duplicated, so each gets its own.
fn read_key() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("read-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

impl ContpaqiAdapter {
    /// An adapter for the bridge `config` points at, with an empty mapping.
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn new(config: ContpaqiConfig) -> Result<Self> {
        Ok(Self::from_client(ContpaqiClient::new(config)?))
    }

    /// An adapter over an existing client.
    pub fn from_client(client: ContpaqiClient) -> Self {
        Self {
            client,
            mapping: AccountMapping::new(PROVIDER),
        }
    }

    /// Sets the account and tax mapping (see [`mapping`](mod@crate::mapping) for the tax slot grammar).
    #[must_use]
    pub fn with_mapping(mut self, mapping: AccountMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// The mapping.
    pub fn mapping(&self) -> &AccountMapping {
        &self.mapping
    }

    /// The bridge client.
    pub fn client(&self) -> &ContpaqiClient {
        &self.client
    }

    /// `GET /v1/health`, checked: the contract's major version must be 1.
    ///
    /// # Errors
    /// `Unsupported` for another contract version; transport and auth errors.
    pub async fn health(&self) -> Result<Health> {
        let h = self.client.health().await?;
        if !h.contract_version.starts_with("1.") {
            return Err(Error::unsupported(format!(
                "CONTPAQi bridge contract {} (this client speaks {})",
                h.contract_version,
                crate::wire::CONTRACT_VERSION
            )));
        }
        Ok(h)
    }

    async fn consulta(&self, c: Consulta, entity: &str, id: &str) -> Result<JobResult> {
        self.client
            .run(JobType::Consulta, &read_key(), to_value(&c)?, entity, id)
            .await
    }

    /// Reads a document by concepto/serie/folio (`consulta`).
    ///
    /// # Errors
    /// `NotFound` when it does not exist.
    pub async fn consulta_documento(&self, key: &DocKey) -> Result<Documento> {
        let c = Consulta {
            entidad: Entidad::Documento,
            codigo: None,
            documento: Some(key.clone()),
        };
        let id = key.remote_id();
        self.consulta(c, "documento", &id)
            .await?
            .documento
            .ok_or_else(|| missing("consulta", "documento"))
    }

    /// Stamps a document through CONTPAQi's own PAC (`fEmitirDocumento`) and returns its UUID, exactly once:
    /// the document is consulted first and an existing UUID returned without a second stamp; after an
    /// uncertain stamp (lost answer, job still running) it is consulted again before answering.
    ///
    /// # Errors
    /// `Validation` for a document CONTPAQi refuses to stamp (cancelled, CSD or PAC errors, with the
    /// [`SdkError`](crate::error::SdkError) as source), `NotFound` for an unknown document, `Uncertain` when
    /// the stamp's outcome is still unknown after the re-query (call again with the same key).
    pub async fn timbrar(&self, document: &RemoteRef, key: &IdempotencyKey) -> Result<Timbrado> {
        let dk = DocKey::parse(&document.id)
            .ok_or_else(|| Error::not_found("documento", document.id.clone()))?;
        let before = self.consulta_documento(&dk).await?;
        if let Some(uuid) = before.uuid.clone() {
            return Ok(Timbrado {
                uuid,
                documento: before,
                already_stamped: true,
            });
        }
        let payload = to_value(&Timbrar {
            documento: dk.clone(),
        })?;
        let id = dk.remote_id();
        match self
            .client
            .run(JobType::Timbrar, key.as_str(), payload, "documento", &id)
            .await
        {
            Ok(r) => {
                let d = r.documento.ok_or_else(|| missing("timbrar", "documento"))?;
                let uuid = d.uuid.clone().ok_or_else(|| missing("timbrar", "uuid"))?;
                Ok(Timbrado {
                    uuid,
                    documento: d,
                    already_stamped: false,
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::Uncertain | ErrorKind::Duplicate) => {
                // Stamped or not? Ask CONTPAQi before anything else: never a second stamp.
                match self.consulta_documento(&dk).await {
                    Ok(d) if d.uuid.is_some() => Ok(Timbrado {
                        uuid: d.uuid.clone().unwrap_or_default(),
                        documento: d,
                        already_stamped: e.kind() == ErrorKind::Duplicate,
                    }),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `alta_documento`, with the uncertain cases resolved by serie/folio: when the caller chose the folio and
    /// the answer is `Duplicate` (a bridge that lost the key re-ran the job) or `Uncertain` (the job vanished),
    /// the document at that concepto/serie/folio is consulted; if it carries our reference, it is ours.
    async fn alta(&self, key: &str, alta: &AltaDocumento) -> Result<Documento> {
        match self
            .write_doc(JobType::AltaDocumento, key, to_value(alta)?)
            .await
        {
            Err(e) if matches!(e.kind(), ErrorKind::Duplicate | ErrorKind::Uncertain) => {
                if let Some(folio) = alta.folio {
                    let dk = DocKey::new(alta.concepto.clone(), alta.serie.clone(), folio);
                    if let Ok(d) = self.consulta_documento(&dk).await
                        && d.referencia == alta.referencia
                    {
                        return Ok(d);
                    }
                }
                Err(e)
            }
            other => other,
        }
    }

    async fn write_doc(
        &self,
        t: JobType,
        key: &str,
        payload: serde_json::Value,
    ) -> Result<Documento> {
        self.client
            .run(t, key, payload, "documento", "")
            .await?
            .documento
            .ok_or_else(|| missing(t.as_str(), "documento"))
    }
}

#[async_trait::async_trait]
impl ErpAdapter for ContpaqiAdapter {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with(Capability::VoidInvoice)
            .with(Capability::CreditNotes)
            .with(Capability::PartialPayments)
            .with(Capability::ChangedSince)
            .with(Capability::NativeIdempotency)
            .with(Capability::Versions)
            .with(Capability::MultiCurrency)
    }

    async fn test_connection(&self) -> Result<CompanyInfo> {
        let h = self.health().await?;
        if matches!(
            h.license.state,
            LicenseState::Expired | LicenseState::Unavailable
        ) {
            return Err(Error::config(format!(
                "CONTPAQi license is {:?}: {}",
                h.license.state,
                h.license.message.unwrap_or_default()
            )));
        }
        let mut info = CompanyInfo::new(h.company.rfc.clone(), h.company.name);
        info.country = Some("MX".into());
        info.home_currency = h.company.currency;
        info.tax_id = Some(h.company.rfc);
        Ok(info)
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let payload = to_value(&mapping::cliente(customer)?)?;
        let r = self
            .client
            .run(JobType::UpsertCliente, key.as_str(), payload, "cliente", "")
            .await?;
        r.cliente
            .as_ref()
            .map(cliente_ref)
            .ok_or_else(|| missing("upsert_cliente", "cliente"))
    }

    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef> {
        let payload = to_value(&mapping::producto(item)?)?;
        let r = self
            .client
            .run(
                JobType::UpsertProducto,
                key.as_str(),
                payload,
                "producto",
                "",
            )
            .await?;
        r.producto
            .as_ref()
            .map(producto_ref)
            .ok_or_else(|| missing("upsert_producto", "producto"))
    }

    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef> {
        let alta = mapping::factura(invoice, &self.mapping, &self.client.config().conceptos)?;
        Ok(doc_ref(&self.alta(key.as_str(), &alta).await?))
    }

    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef> {
        let dk = DocKey::parse(&invoice.id)
            .ok_or_else(|| Error::not_found("invoice", invoice.id.clone()))?;
        let payload = to_value(&Cancelar {
            documento: dk,
            motivo: None,
        })?;
        let d = self
            .write_doc(JobType::Cancelar, key.as_str(), payload)
            .await?;
        Ok(doc_ref(&d))
    }

    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef> {
        let saldar = mapping::pago(payment, &self.client.config().conceptos)?;
        let d = self
            .write_doc(JobType::Saldar, key.as_str(), to_value(&saldar)?)
            .await?;
        Ok(doc_ref(&d))
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let alta =
            mapping::nota_credito(credit_note, &self.mapping, &self.client.config().conceptos)?;
        let invoice = alta.relacionado.clone();
        let nota = self.alta(&format!("{key}#alta"), &alta).await?;
        let Some(invoice) = invoice else {
            return Ok(doc_ref(&nota));
        };
        let saldar = Saldar {
            pago: None,
            abono: Some(nota.key()),
            aplicaciones: vec![Aplicacion::new(invoice.clone(), nota.total)],
        };
        match self
            .write_doc(JobType::Saldar, &format!("{key}#saldar"), to_value(&saldar)?)
            .await
        {
            Ok(applied) => Ok(doc_ref(&applied)),
            // The nota de crédito exists: whatever went wrong applying it, a new key would create a second one.
            Err(e) => Err(Error::uncertain(format!(
                "nota de crédito {} was created but applying it to {} failed ({e}); retry with the same key",
                nota.key().remote_id(),
                invoice.remote_id()
            ))
            .with_source(e)),
        }
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        match kind {
            EntityKind::Customer => {
                let c = Consulta {
                    entidad: Entidad::Cliente,
                    codigo: Some(remote_id.to_owned()),
                    documento: None,
                };
                let r = self.consulta(c, kind.as_str(), remote_id).await?;
                let c = r.cliente.ok_or_else(|| missing("consulta", "cliente"))?;
                let mut rec = RemoteRecord::new(
                    cliente_ref(&c),
                    Entity::Customer(mapping::customer_from(&c)),
                );
                rec.raw = to_value(&c)?;
                Ok(rec)
            }
            EntityKind::Item => {
                let c = Consulta {
                    entidad: Entidad::Producto,
                    codigo: Some(remote_id.to_owned()),
                    documento: None,
                };
                let r = self.consulta(c, kind.as_str(), remote_id).await?;
                let p = r.producto.ok_or_else(|| missing("consulta", "producto"))?;
                let mut rec =
                    RemoteRecord::new(producto_ref(&p), Entity::Item(mapping::item_from(&p)));
                rec.raw = to_value(&p)?;
                Ok(rec)
            }
            _ => {
                let dk = DocKey::parse(remote_id)
                    .ok_or_else(|| Error::not_found(kind.as_str(), remote_id))?;
                let d = match self.consulta_documento(&dk).await {
                    Err(Error::NotFound { .. }) => {
                        return Err(Error::not_found(kind.as_str(), remote_id));
                    }
                    other => other?,
                };
                let entity = mapping::entity_from(&d, &self.client.config().conceptos)?;
                if entity.kind() != kind {
                    return Err(Error::not_found(kind.as_str(), remote_id));
                }
                let mut rec = RemoteRecord::new(doc_ref(&d), entity);
                if kind == EntityKind::Invoice {
                    rec.balance = Some(d.pendiente.0);
                }
                rec.voided = d.cancelado;
                rec.raw = to_value(&d)?;
                Ok(rec)
            }
        }
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        crate::changes::list(&self.client, kinds, cursor).await
    }
}
