//! [`CrStep`]: the Costa Rican [`FiscalStep`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use erp_hub_core::adapter::{ReceivedAnswer, WriteOp};
use erp_hub_core::fiscal::{
    FiscalDocumentKind, FiscalKey, FiscalOrder, FiscalStamp, FiscalStep, JournalEntry, StampJournal,
};
use erp_hub_core::hub::numbering::{NumberStore, Series};
use erp_hub_core::model::{Customer, EntityKind};

use super::error::CrHubError;
use super::mapping::{
    Draft, Referenced, SUSTITUYE_RECHAZADO, map_credit_note, map_invoice, map_payment,
};
use super::profile::{ContingencyMode, CrProfile};
use crate::api::{ApiError, ApiErrorKind, Envio, Estado, HaciendaClient, Receipt, StatusResponse};
use crate::clave::{Clave, CodigoSeguridad, Consecutivo, Situacion};
use crate::keystore::{Certificate, SigningKey};
use crate::model::{Comprobante, Documento, EstadoHacienda, TipoIdentificacion};
use crate::receive::{Receiver, Respuesta};
use crate::xades::SignOptions;

/// Certifier name journalled before a `POST` to recepción (outcome unknown until the estado says).
pub const SENT: &str = "hacienda";
/// Certifier name journalled once Hacienda answered `202` (or listed the clave): from then on only the estado
/// is asked, the clave is never `POST`ed again.
pub const RECEIVED: &str = "hacienda-received";
/// The numbering series (within the emisor) under which Hacienda's signed answers are kept, keyed by clave.
pub const MENSAJE_HACIENDA_SERIES: &str = "mensaje-hacienda";

pub use erp_hub_core::fiscal::{Directory, MemoryDirectory};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Tenant {
    name: String,
    profile: CrProfile,
    key: Arc<SigningKey>,
    client: HaciendaClient,
    /// Hacienda could not be reached at the last attempt: new documents get situación 3.
    offline: AtomicBool,
    /// Issued documents Hacienda has not received yet (the contingency backlog), by clave.
    backlog: Mutex<HashSet<String>>,
}

impl Tenant {
    fn set_offline(&self, offline: bool) {
        if self.offline.swap(offline, Ordering::SeqCst) != offline {
            tracing::warn!(tenant = %self.name, offline, "Hacienda reachability changed");
        }
    }

    fn backlog(&self, clave: &str, queued: bool) {
        let n = {
            let mut b = lock(&self.backlog);
            if queued {
                b.insert(clave.to_owned());
            } else {
                b.remove(clave);
            }
            b.len()
        };
        #[allow(clippy::cast_precision_loss)]
        let backlog = n as f64; // float-ok: a document count as a gauge (the metrics facade's value type), not money
        metrics::gauge!("cr_hacienda_backlog", "tenant" => self.name.clone()).set(backlog);
    }
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The Costa Rican [`FiscalStep`]: ERP invoices, credit notes and payments of each configured tenant become
/// signed comprobantes accepted by Hacienda, each with exactly one clave.
///
/// | ERP record | comprobante |
/// |---|---|
/// | invoice, customer with a `TaxId::CrCedula` | FE (01) |
/// | invoice, customer without identification | TE (04) |
/// | invoice with `passthrough.cr_nota_debito_de = "<invoice ref>"` | ND (02), `InformacionReferencia` to that invoice's clave |
/// | invoice with `passthrough.cr_sustituye_rechazado = "<invoice ref>"` naming an invoice Hacienda rejected | FE (or TE), `InformacionReferencia` TipoDocIR 10, Numero the rejected clave, Codigo 16 |
/// | credit note | NC (03), `InformacionReferencia` to the credited invoice's clave |
/// | payment of invoices sold with CondicionVenta 09/11 | REP (10), `InformacionReferencia` código 17 per invoice |
/// | any other payment | nothing (no Costa Rican document exists for it) |
///
/// # One document, one consecutivo, one clave
/// The consecutivo comes from the hub's [`NumberStore`] (series `SSS-TTTTT-TT` per emisor: sucursal,
/// terminal, tipo) and is consumed **together with** the signed XML: the number is allocated, the clave built,
/// the document signed and stored in one transaction, so a crash never skips or repeats one. The signed bytes
/// are then journalled ([`StampJournal::begin`]) and never rebuilt.
///
/// # Submission (exactly once)
/// * before the `POST` the journal records [`SENT`]; on `202` it records [`RECEIVED`]. A received clave is
///   **never `POST`ed again**: later attempts only ask the estado.
/// * an attempt that finds [`SENT`] without a known outcome asks the estado first and `POST`s only when
///   Hacienda does not know the clave.
/// * while Hacienda decides (`recibido`, `procesando`) the step returns [`CrHubError::Pending`] (for the hub
///   an [`erp_hub_core::Error::retry_later`] whose hint is the poll time, [`CrStep::with_poll_after`]):
///   polling happens on the hub's schedule, the step never loops.
/// * a final estado: the MensajeHacienda's signature is verified (against the configured Hacienda certificate
///   when given), the signed answer is stored in the number store (series [`MENSAJE_HACIENDA_SERIES`], keyed
///   by clave), and the stamp is completed with certifier `hacienda:aceptado` / `hacienda:rechazado`.
/// * `rechazado` is final: [`CrHubError::Rechazado`] with Hacienda's `DetalleMensaje` (a `Validation` dead
///   letter). A rejected comprobante has no fiscal effect (no NC or ND can refer to it); the correction is a
///   new invoice whose `passthrough.cr_sustituye_rechazado` names the rejected one: a new FE with a new clave
///   that substitutes it (`InformacionReferencia` TipoDocIR 10, Codigo 16).
///
/// # Contingency
/// When Hacienda cannot be reached the document is still issued (numbered, signed, journalled) and the
/// attempt ends with [`CrHubError::Contingencia`] (`Transient`: the hub queues and retries it); documents
/// issued while Hacienda is unreachable carry situación `3` (sin internet, unless the profile says
/// [`ContingencyMode::Normal`]); a record with `passthrough.cr_contingencia` is issued with situación `2` and
/// an `InformacionReferencia` to its paper document. The backlog (issued, not yet received) is the gauge
/// `cr_hacienda_backlog{tenant}`; each contingency document counts in `cr_contingencia_total{tenant}`.
///
/// The backlog gauge and the "Hacienda unreachable" flag are this process's view: with several worker
/// processes each reports the documents it handled (sum the gauge over processes), and a restarted process
/// counts a document again when the hub retries it. The durable truth is the journal (a pending entry sent to
/// [`SENT`] or [`RECEIVED`]) and the hub's queue. The flag only chooses the situación of the documents this
/// process issues next; a fresh process starts at "reachable" and learns otherwise at its first failed `POST`.
pub struct CrStep {
    tenants: HashMap<String, Tenant>,
    receivers: HashMap<String, Receiver>,
    journal: Arc<dyn StampJournal>,
    numbers: Arc<dyn NumberStore>,
    directory: Arc<dyn Directory>,
    hacienda_cert: Option<Certificate>,
    order: FiscalOrder,
    clock: Clock,
    poll_after: Duration,
    sign: SignOptions,
}

impl std::fmt::Debug for CrStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrStep")
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

/// The scheme name of the stamps this step produces.
pub const SCHEME: &str = "cr-v4.4";

fn record_err(record: &str) -> impl Fn(crate::Error) -> CrHubError + '_ {
    move |e| CrHubError::Document {
        record: record.to_owned(),
        source: Box::new(e),
    }
}

impl CrStep {
    /// A step with no tenant yet: documents in `journal`, consecutivos (and Hacienda's answers) in `numbers`,
    /// customers and items in `directory`.
    pub fn new(
        journal: Arc<dyn StampJournal>,
        numbers: Arc<dyn NumberStore>,
        directory: Arc<dyn Directory>,
    ) -> Self {
        Self {
            tenants: HashMap::new(),
            receivers: HashMap::new(),
            journal,
            numbers,
            directory,
            hacienda_cert: None,
            order: FiscalOrder::StampThenPost,
            clock: Arc::new(Utc::now),
            poll_after: Duration::from_secs(5),
            sign: SignOptions::new(),
        }
    }

    /// Adds a tenant: its profile, its signing key ([`CrProfile::load_key`]) and its Hacienda client.
    #[must_use]
    pub fn with_tenant(
        mut self,
        tenant: impl Into<String>,
        profile: CrProfile,
        key: SigningKey,
        client: HaciendaClient,
    ) -> Self {
        let name = tenant.into();
        self.tenants.insert(
            name.clone(),
            Tenant {
                name,
                profile,
                key: Arc::new(key),
                client,
                offline: AtomicBool::new(false),
                backlog: Mutex::new(HashSet::new()),
            },
        );
        self
    }

    /// How `tenant` checks the supplier documents it answers through the hub
    /// ([`WriteOp::AnswerReceived`]): its cédula, `CodigoActividad` and [`IssuerPolicy`](crate::receive::IssuerPolicy).
    /// Default: [`Receiver::new`] with the profile's emisor number and activity code (Hacienda's issuer name
    /// required).
    #[must_use]
    pub fn with_receiver(mut self, tenant: impl Into<String>, receiver: Receiver) -> Self {
        self.receivers.insert(tenant.into(), receiver);
        self
    }

    /// Hacienda's certificate: every MensajeHacienda must verify with it (without it the signature is
    /// verified with the certificate it carries).
    #[must_use]
    pub fn with_hacienda_certificate(mut self, cert: Certificate) -> Self {
        self.hacienda_cert = Some(cert);
        self
    }

    /// Where the step runs relative to the ERP write (default [`FiscalOrder::StampThenPost`]).
    #[must_use]
    pub fn with_order(mut self, order: FiscalOrder) -> Self {
        self.order = order;
        self
    }

    /// The clock for `FechaEmision` (default: now), written at Costa Rica's offset (-06:00).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The `retry_after` of [`CrHubError::Pending`] (default 5 s).
    #[must_use]
    pub fn with_poll_after(mut self, d: Duration) -> Self {
        self.poll_after = d;
        self
    }

    /// Signing options (default [`SignOptions::new`]).
    #[must_use]
    pub fn with_sign_options(mut self, sign: SignOptions) -> Self {
        self.sign = sign;
        self
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn StampJournal> {
        &self.journal
    }

    /// Issued documents of `tenant` Hacienda has not received yet (this process's view).
    pub fn backlog(&self, tenant: &str) -> usize {
        self.tenants
            .get(tenant)
            .map_or(0, |t| lock(&t.backlog).len())
    }

    /// The numbering series of a tipo for a tenant's profile: `SSS-TTTTT-TT` within the emisor's cédula.
    pub fn series(profile: &CrProfile, tipo: crate::TipoDocumento) -> Series {
        Series::new(
            &profile.emisor.numero,
            format!(
                "{:03}-{:05}-{}",
                profile.sucursal,
                profile.terminal,
                tipo.code()
            ),
        )
    }

    fn tenant(&self, tenant: &str) -> Result<&Tenant, CrHubError> {
        self.tenants.get(tenant).ok_or_else(|| CrHubError::Profile {
            field: format!("tenant {tenant}"),
            problem: "no Costa Rica profile for this tenant".into(),
        })
    }

    fn fecha(&self) -> DateTime<FixedOffset> {
        let cr = FixedOffset::west_opt(6 * 3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or(Utc.fix()));
        (self.clock)().with_timezone(&cr)
    }

    /// As [`FiscalStep::stamp`], with this module's error type.
    ///
    /// # Errors
    /// See [`CrHubError`].
    pub async fn stamp_document(
        &self,
        tenant: &str,
        op: &WriteOp,
    ) -> Result<Option<FiscalStamp>, CrHubError> {
        match op {
            WriteOp::UpsertCustomer(c) => {
                self.directory.put_customer(tenant, c).await?;
                Ok(None)
            }
            WriteOp::UpsertItem(i) => {
                self.directory.put_item(tenant, i).await?;
                Ok(None)
            }
            WriteOp::CreateInvoice(inv) => {
                let key = FiscalKey::new(tenant, EntityKind::Invoice, &inv.external_ref);
                let t = self.tenant(tenant)?;
                if let Some(done) = self.resume(t, &key, FiscalDocumentKind::Invoice).await? {
                    return done.map(Some);
                }
                let customer = self
                    .customer(tenant, &inv.external_ref, &inv.customer.external_ref)
                    .await?;
                let items = self.directory.items(tenant).await?;
                let debits = match inv
                    .passthrough
                    .get("cr_nota_debito_de")
                    .and_then(|v| v.as_str())
                {
                    Some(r) => Some(
                        self.referenced(
                            tenant,
                            &inv.external_ref,
                            "passthrough.cr_nota_debito_de",
                            r,
                        )
                        .await?,
                    ),
                    None => None,
                };
                let substitutes = match inv.passthrough.get(SUSTITUYE_RECHAZADO) {
                    Some(v) => {
                        let field = format!("passthrough.{SUSTITUYE_RECHAZADO}");
                        let rejected = v.as_str().ok_or_else(|| CrHubError::Field {
                            record: inv.external_ref.clone(),
                            field: field.clone(),
                            problem: "must be the external reference of the rejected invoice"
                                .into(),
                        })?;
                        Some(
                            self.rejected(tenant, &inv.external_ref, &field, rejected)
                                .await?,
                        )
                    }
                    None => None,
                };
                let draft = map_invoice(
                    &t.profile,
                    inv,
                    &customer,
                    &items,
                    self.fecha(),
                    debits.as_ref(),
                    substitutes.as_ref(),
                )?;
                self.issue_and_send(t, &key, FiscalDocumentKind::Invoice, draft)
                    .await
                    .map(Some)
            }
            WriteOp::CreateCreditNote(cn) => {
                let key = FiscalKey::new(tenant, EntityKind::CreditNote, &cn.external_ref);
                let t = self.tenant(tenant)?;
                if let Some(done) = self.resume(t, &key, FiscalDocumentKind::CreditNote).await? {
                    return done.map(Some);
                }
                let customer = self
                    .customer(tenant, &cn.external_ref, &cn.customer.external_ref)
                    .await?;
                let original = self
                    .referenced(
                        tenant,
                        &cn.external_ref,
                        "invoice",
                        &cn.invoice.external_ref,
                    )
                    .await?;
                let items = self.directory.items(tenant).await?;
                let draft =
                    map_credit_note(&t.profile, cn, &customer, &items, self.fecha(), &original)?;
                self.issue_and_send(t, &key, FiscalDocumentKind::CreditNote, draft)
                    .await
                    .map(Some)
            }
            WriteOp::RecordPayment(p) => {
                let key = FiscalKey::new(tenant, EntityKind::Payment, &p.external_ref);
                let t = self.tenant(tenant)?;
                if let Some(done) = self.resume(t, &key, FiscalDocumentKind::Payment).await? {
                    return done.map(Some);
                }
                let customer = self
                    .customer(tenant, &p.external_ref, &p.customer.external_ref)
                    .await?;
                let mut paid = Vec::new();
                for (i, app) in p.applications.iter().enumerate() {
                    paid.push(
                        self.referenced(
                            tenant,
                            &p.external_ref,
                            &format!("applications[{i}].invoice"),
                            &app.invoice.external_ref,
                        )
                        .await?,
                    );
                }
                match map_payment(&t.profile, p, &customer, &paid, self.fecha())? {
                    Some(draft) => self
                        .issue_and_send(t, &key, FiscalDocumentKind::Payment, draft)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            }
            WriteOp::AnswerReceived(a) => self.answer(tenant, a).await.map(Some),
            _ => Ok(None),
        }
    }

    /// [`WriteOp::AnswerReceived`]: the answer ([`Respuesta::from_json`]) to the supplier document, checked
    /// by the tenant's receiver ([`with_receiver`](Self::with_receiver)); the record must be
    /// `mr:<supplier clave>`.
    async fn answer(&self, tenant: &str, a: &ReceivedAnswer) -> Result<FiscalStamp, CrHubError> {
        let t = self.tenant(tenant)?;
        let respuesta = Respuesta::from_json(&a.answer).map_err(record_err(&a.external_ref))?;
        let default;
        let receiver = match self.receivers.get(tenant) {
            Some(r) => r,
            None => {
                default = Receiver::new(&t.profile.emisor.numero)
                    .with_codigo_actividad(&t.profile.emisor.codigo_actividad);
                &default
            }
        };
        self.respond(
            tenant,
            receiver,
            a.document.as_bytes(),
            &respuesta,
            Some(&a.external_ref),
        )
        .await
    }

    async fn customer(
        &self,
        tenant: &str,
        record: &str,
        customer: &str,
    ) -> Result<Customer, CrHubError> {
        self.directory
            .customer(tenant, customer)
            .await?
            .ok_or_else(|| CrHubError::Field {
                record: record.to_owned(),
                field: "customer".into(),
                problem: format!(
                    "{customer} is unknown to the fiscal step (no UpsertCustomer for it)"
                ),
            })
    }

    /// The accepted comprobante of an invoice of `tenant` (for NC, ND and REP references).
    async fn referenced(
        &self,
        tenant: &str,
        record: &str,
        field: &str,
        invoice: &str,
    ) -> Result<Referenced, CrHubError> {
        let key = FiscalKey::new(tenant, EntityKind::Invoice, invoice);
        let not_issued = || CrHubError::NotIssued {
            record: record.to_owned(),
            field: field.to_owned(),
            reference: invoice.to_owned(),
        };
        let stamp = match self.journal.get(&key).await? {
            Some(JournalEntry::Stamped(s)) if s.certifier == REJECTED => {
                // Final: waiting would never help. A rejected comprobante has no fiscal effect, so there is
                // nothing to credit, debit or pay: the correction is a new FE that substitutes it.
                return Err(CrHubError::Field {
                    record: record.to_owned(),
                    field: field.to_owned(),
                    problem: format!(
                        "refers to {invoice}, whose comprobante (clave {}) Hacienda rejected and which has no \
                         fiscal effect; issue a new invoice with passthrough.{SUSTITUYE_RECHAZADO} = \
                         \"{invoice}\" and refer to that one",
                        s.uuid
                    ),
                });
            }
            Some(JournalEntry::Stamped(s)) => s,
            _ => return Err(not_issued()),
        };
        Self::referenced_from(record, &stamp)
    }

    /// The comprobante of an invoice of `tenant` that Hacienda rejected (the one a new FE substitutes).
    ///
    /// # Errors
    /// [`CrHubError::Field`] when the invoice has no comprobante Hacienda rejected: accepted (correct it with
    /// an NC or ND), not decided yet, or unknown.
    async fn rejected(
        &self,
        tenant: &str,
        record: &str,
        field: &str,
        invoice: &str,
    ) -> Result<Referenced, CrHubError> {
        let key = FiscalKey::new(tenant, EntityKind::Invoice, invoice);
        let refuse = |problem: String| CrHubError::Field {
            record: record.to_owned(),
            field: field.to_owned(),
            problem,
        };
        match self.journal.get(&key).await? {
            Some(JournalEntry::Stamped(s)) if s.certifier == REJECTED => {
                Self::referenced_from(record, &s)
            }
            Some(JournalEntry::Stamped(s)) => Err(refuse(format!(
                "names {invoice}, whose comprobante (clave {}) Hacienda did not reject ({}); only a rejected \
                 comprobante is substituted, an accepted one is corrected with an NC or ND",
                s.uuid, s.certifier
            ))),
            Some(_) => Err(refuse(format!(
                "names {invoice}, whose comprobante Hacienda has not decided yet; only a rejected comprobante \
                 is substituted"
            ))),
            None => Err(refuse(format!(
                "names {invoice}, which has no comprobante; only a rejected comprobante is substituted"
            ))),
        }
    }

    fn referenced_from(record: &str, stamp: &FiscalStamp) -> Result<Referenced, CrHubError> {
        let doc = Comprobante::from_xml(stamp.xml.as_bytes()).map_err(record_err(record))?;
        let tarifa = doc
            .lineas
            .iter()
            .flat_map(|l| l.impuestos.iter())
            .find_map(|i| Some((i.codigo_tarifa_iva.clone()?, i.tarifa?)));
        Ok(Referenced {
            clave: stamp.uuid.clone(),
            tipo: doc.tipo(),
            fecha: doc.fecha_emision,
            total: doc.resumen.total_comprobante,
            condicion_venta: doc.condicion_venta.clone(),
            tarifa,
        })
    }

    /// `Some(outcome)` when the journal already has the document (stamped, or pending and advanced now).
    async fn resume(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
    ) -> Result<Option<Result<FiscalStamp, CrHubError>>, CrHubError> {
        match self.journal.get(key).await? {
            Some(JournalEntry::Stamped(s)) => Ok(Some(self.finished(t, key, s).await)),
            Some(JournalEntry::Pending { sealed, attempts }) => {
                let sent = attempts
                    .iter()
                    .find(|a| a.certifier == SENT)
                    .map(|a| a.definitely_not_stamped);
                let received = attempts.iter().any(|a| a.certifier == RECEIVED);
                Ok(Some(
                    self.advance(t, key, kind, &sealed, sent, received).await,
                ))
            }
            _ => Ok(None),
        }
    }

    /// A stamped entry: the stamp, or the rejection again.
    async fn finished(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        s: FiscalStamp,
    ) -> Result<FiscalStamp, CrHubError> {
        if s.certifier != REJECTED {
            return Ok(s);
        }
        let series = Series::new(&t.profile.emisor.numero, MENSAJE_HACIENDA_SERIES);
        let detalle = match self.numbers.get(&series, &s.uuid).await? {
            Some(mh) => crate::parse::mensaje_hacienda(&mh.document)
                .map(|m| m.detalle_mensaje)
                .unwrap_or_else(|e| format!("(stored MensajeHacienda unreadable: {e})")),
            None => {
                "refused by recepción before processing (see the first attempt in the sync log)"
                    .to_owned()
            }
        };
        Err(CrHubError::Rechazado {
            record: key.external_ref.clone(),
            clave: s.uuid,
            detalle,
        })
    }

    async fn issue_and_send(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        draft: Draft,
    ) -> Result<FiscalStamp, CrHubError> {
        let record = key.external_ref.clone();
        let offline = t.offline.load(Ordering::SeqCst);
        let situacion = if draft.papel.is_some() {
            Situacion::Contingencia
        } else if offline && t.profile.contingencia == ContingencyMode::SinInternet {
            Situacion::SinInternet
        } else {
            Situacion::Normal
        };
        let series = Self::series(&t.profile, draft.tipo());
        let profile = &t.profile;
        let signing = t.key.clone();
        let sign = self.sign.clone();
        let build = move |numero: u64| -> erp_hub_core::Result<Vec<u8>> {
            let invalid = |what: &str, e: String| {
                erp_hub_core::Error::validation(vec![
                    erp_hub_core::FieldError::new(format!("{record}: {what}"), e)
                        .with_code("document"),
                ])
            };
            let mut doc = draft.doc.clone();
            let consecutivo = Consecutivo::new(
                u32::from(profile.sucursal),
                profile.terminal,
                draft.tipo(),
                numero,
            )
            .map_err(|e| invalid("consecutivo", e.to_string()))?;
            doc.clave = Clave::new(
                Clave::fecha_de(&doc.fecha_emision),
                &profile.emisor.numero,
                consecutivo,
                situacion,
                &CodigoSeguridad::random(),
            )
            .map_err(|e| invalid("clave", e.to_string()))?;
            doc.compute_totals()
                .map_err(|e| invalid("totals", e.to_string()))?;
            let report = doc.validate();
            if report.has_errors() {
                let all: Vec<String> = report.errors().map(ToString::to_string).collect();
                return Err(invalid("comprobante", all.join("; ")));
            }
            doc.to_signed_xml(&signing, &sign)
                .map_err(|e| invalid("signature", e.to_string()))
        };
        let issued = self
            .numbers
            .issue(&series, &key.to_string(), &build)
            .await?;
        let sealed = String::from_utf8(issued.document).map_err(|e| CrHubError::Field {
            record: key.external_ref.clone(),
            field: "document".into(),
            problem: format!("stored document is not UTF-8: {e}"),
        })?;
        if issued.fresh {
            metrics::counter!("cr_issued_total", "tenant" => t.name.clone()).increment(1);
            if situacion != Situacion::Normal {
                metrics::counter!("cr_contingencia_total", "tenant" => t.name.clone()).increment(1);
            }
        }
        match self.journal.begin(key, &sealed).await? {
            JournalEntry::Stamped(s) => self.finished(t, key, s).await,
            JournalEntry::Pending { sealed, attempts } => {
                let sent = attempts
                    .iter()
                    .find(|a| a.certifier == SENT)
                    .map(|a| a.definitely_not_stamped);
                let received = attempts.iter().any(|a| a.certifier == RECEIVED);
                self.advance(t, key, kind, &sealed, sent, received).await
            }
            _ => Err(CrHubError::Store(erp_hub_core::Error::conflict(format!(
                "{key}: unexpected journal entry"
            )))),
        }
    }

    /// Moves a journalled document on: `POST` it if Hacienda never had it, else ask the estado.
    /// `sent`: `None` never sent, `Some(true)` definitely not received, `Some(false)` outcome unknown.
    async fn advance(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        sealed: &str,
        sent: Option<bool>,
        received: bool,
    ) -> Result<FiscalStamp, CrHubError> {
        let record = key.external_ref.clone();
        let envio = envio_of(&t.profile, sealed).map_err(|e| CrHubError::Api {
            record: record.clone(),
            source: Box::new(e),
        })?;
        // The status key: the clave, or `clave-consecutivoReceptor` for a MensajeReceptor.
        let clave = envio.status_key();
        let situacion = envio.clave().chars().nth(41).unwrap_or('1');
        let mut received = received;
        let mut status: Option<StatusResponse> = None;
        if !received && sent == Some(false) {
            // An earlier POST has no known outcome: ask before anything is sent again.
            match t.client.status(&clave).await {
                Ok(s) => {
                    self.journal.sending(key, RECEIVED).await?;
                    received = true;
                    status = Some(s);
                }
                Err(ApiError::NotFound { .. }) => {}
                Err(e) => return Err(self.unreachable(t, &record, &clave, situacion, e, true)),
            }
        }
        if !received {
            self.journal.sending(key, SENT).await?;
            t.backlog(&clave, true);
            match t.client.submit_no_wait(&envio).await {
                Ok(receipt) => {
                    self.journal.sending(key, RECEIVED).await?;
                    t.set_offline(false);
                    t.backlog(&clave, false);
                    metrics::counter!("cr_submitted_total", "tenant" => t.name.clone())
                        .increment(1);
                    if let Receipt::Reconciled { status: s, .. } = receipt {
                        status = Some(*s);
                    }
                }
                Err(ApiError::Rejected(cause)) => {
                    // Refused before processing: the clave is used up all the same (never reused).
                    self.journal.not_stamped(key, SENT).await?;
                    t.backlog(&clave, false);
                    let stamp = self.stamp(kind, &clave, sealed, None, REJECTED)?;
                    self.journal.complete(key, &stamp).await?;
                    metrics::counter!("cr_rechazado_total", "tenant" => t.name.clone())
                        .increment(1);
                    return Err(CrHubError::Rechazado {
                        record,
                        clave,
                        detalle: cause.to_string(),
                    });
                }
                Err(e) if e.kind() == ApiErrorKind::Transient => {
                    // Nothing reached Hacienda: contingency, submitted on a later attempt.
                    self.journal.not_stamped(key, SENT).await?;
                    return Err(self.unreachable(t, &record, &clave, situacion, e, false));
                }
                Err(e) => return Err(self.unreachable(t, &record, &clave, situacion, e, true)),
            }
        }
        let status = match status {
            Some(s) => s,
            None => match t.client.status(&clave).await {
                Ok(s) => s,
                Err(ApiError::NotFound { .. }) => {
                    return Err(self.pending(&record, &clave, "not listed yet"));
                }
                Err(e) => return Err(self.unreachable(t, &record, &clave, situacion, e, true)),
            },
        };
        t.set_offline(false);
        if !status.estado.is_final() {
            return Err(self.pending(&record, &clave, status.estado.as_str()));
        }
        self.decided(t, key, kind, sealed, (&clave, envio.clave()), status)
            .await
    }

    /// Answers a supplier's comprobante received by `tenant` with a MensajeReceptor (aceptado, aceptado
    /// parcial or rechazado, per `respuesta`) and submits it with the same journal, numbering and protocol as
    /// the tenant's own documents. Through the hub, enqueue [`answer_received`] instead: the hub calls this
    /// (with the receiver of [`with_receiver`](Self::with_receiver)), retries and polls it, and records its
    /// failures in the sync log; called directly, retries and polling are the caller's.
    /// `receiver` verifies and checks the supplier's document, the consecutivo (tipo
    /// 05 / 06 / 07) comes from the hub's numbering with the signed message, the journal key is
    /// `(tenant, invoice, "mr:<supplier clave>")` (the ERP model has no supplier-bill kind; the `mr:` prefix
    /// keeps these keys apart from ERP references), and the stamp's `uuid` is Hacienda's status key
    /// `clave-consecutivoReceptor`. Call it again to poll; one supplier document gets one answer (asking
    /// again with another answer is a [`CrHubError::Field`] `answer`: a MensajeReceptor is final).
    ///
    /// # Errors
    /// As [`stamp_document`](Self::stamp_document); [`CrHubError::Document`] when the supplier's document does
    /// not verify or cannot be answered, and (source [`crate::Error::NotAcceptable`], before any consecutivo is
    /// taken) when `respuesta` accepts a document that is not
    /// [`is_acceptable`](crate::receive::Received::is_acceptable): a finding (certificate expired, not
    /// Hacienda's or not the emisor's, not addressed to `receiver`) or a validation error. A rechazado is
    /// always allowed.
    pub async fn respond_received(
        &self,
        tenant: &str,
        receiver: &Receiver,
        supplier_xml: &[u8],
        respuesta: &Respuesta,
    ) -> Result<FiscalStamp, CrHubError> {
        self.respond(tenant, receiver, supplier_xml, respuesta, None)
            .await
    }

    /// [`respond_received`](Self::respond_received); errors before the clave is known name `hub_record` (the
    /// hub's record of the answer) when given, which must be `mr:<supplier clave>`.
    async fn respond(
        &self,
        tenant: &str,
        receiver: &Receiver,
        supplier_xml: &[u8],
        respuesta: &Respuesta,
        hub_record: Option<&str>,
    ) -> Result<FiscalStamp, CrHubError> {
        let t = self.tenant(tenant)?;
        let fecha = self.fecha();
        let received = receiver
            .check(supplier_xml, fecha)
            .map_err(record_err(hub_record.unwrap_or("received comprobante")))?;
        let record = format!("mr:{}", received.clave().as_str());
        if let Some(hub_record) = hub_record
            && hub_record != record
        {
            return Err(CrHubError::Field {
                record: hub_record.to_owned(),
                field: "external_ref".into(),
                problem: format!("must be {record} (the answered document's clave)"),
            });
        }
        let key = FiscalKey::new(tenant, EntityKind::Invoice, &record);
        // A MensajeReceptor is final: asking again with another answer is refused, not silently ignored.
        let previous = match self.journal.get(&key).await? {
            Some(JournalEntry::Stamped(s)) => Some(s.xml),
            Some(JournalEntry::Pending { sealed, .. }) => Some(sealed),
            _ => None,
        };
        if let Some(Ok(Documento::MensajeReceptor(m))) =
            previous.map(|xml| crate::parse::documento(xml.as_bytes()))
            && m.mensaje.tipo_documento() != respuesta.tipo_documento()
        {
            return Err(CrHubError::Field {
                record,
                field: "answer".into(),
                problem: format!(
                    "the document was already answered {:?} (MensajeReceptor {}); an answer is final",
                    m.mensaje, m.numero_consecutivo_receptor
                ),
            });
        }
        if let Some(done) = self.resume(t, &key, FiscalDocumentKind::Invoice).await? {
            return done;
        }
        // An aceptado / aceptado parcial only for an acceptable document (checked before a number is taken).
        received
            .may_answer(respuesta)
            .map_err(record_err(&record))?;
        let tipo = respuesta.tipo_documento();
        let series = Self::series(&t.profile, tipo);
        let (sucursal, terminal) = (u32::from(t.profile.sucursal), t.profile.terminal);
        let signing = t.key.clone();
        let sign = self.sign.clone();
        let respuesta = respuesta.clone();
        let rec = record.clone();
        let build = move |numero: u64| -> erp_hub_core::Result<Vec<u8>> {
            let invalid = |what: &str, e: String| {
                erp_hub_core::Error::validation(vec![
                    erp_hub_core::FieldError::new(format!("{rec}: {what}"), e)
                        .with_code("document"),
                ])
            };
            let consecutivo = Consecutivo::new(sucursal, terminal, tipo, numero)
                .map_err(|e| invalid("consecutivo", e.to_string()))?;
            let msg = received
                .respond(&respuesta, consecutivo, fecha)
                .map_err(|e| invalid("mensaje receptor", e.to_string()))?;
            let report = msg.validate();
            if report.has_errors() {
                let all: Vec<String> = report.errors().map(ToString::to_string).collect();
                return Err(invalid("mensaje receptor", all.join("; ")));
            }
            msg.to_signed_xml(&signing, &sign)
                .map_err(|e| invalid("signature", e.to_string()))
        };
        let issued = self
            .numbers
            .issue(&series, &key.to_string(), &build)
            .await?;
        let sealed = String::from_utf8(issued.document).map_err(|e| CrHubError::Field {
            record: record.clone(),
            field: "document".into(),
            problem: format!("stored document is not UTF-8: {e}"),
        })?;
        match self.journal.begin(&key, &sealed).await? {
            JournalEntry::Stamped(s) => self.finished(t, &key, s).await,
            JournalEntry::Pending { sealed, attempts } => {
                let sent = attempts
                    .iter()
                    .find(|a| a.certifier == SENT)
                    .map(|a| a.definitely_not_stamped);
                let received = attempts.iter().any(|a| a.certifier == RECEIVED);
                self.advance(
                    t,
                    &key,
                    FiscalDocumentKind::Invoice,
                    &sealed,
                    sent,
                    received,
                )
                .await
            }
            _ => Err(CrHubError::Store(erp_hub_core::Error::conflict(format!(
                "{key}: unexpected journal entry"
            )))),
        }
    }

    fn pending(&self, record: &str, clave: &str, estado: &str) -> CrHubError {
        CrHubError::Pending {
            record: record.to_owned(),
            clave: clave.to_owned(),
            estado: estado.to_owned(),
            retry_after: self.poll_after,
        }
    }

    /// An API failure: transport failures mark Hacienda unreachable.
    fn unreachable(
        &self,
        t: &Tenant,
        record: &str,
        clave: &str,
        situacion: char,
        e: ApiError,
        maybe_received: bool,
    ) -> CrHubError {
        match e.kind() {
            ApiErrorKind::Transient if !maybe_received => {
                t.set_offline(true);
                CrHubError::Contingencia {
                    record: record.to_owned(),
                    clave: clave.to_owned(),
                    situacion,
                    message: e.to_string(),
                }
            }
            ApiErrorKind::Transient
            | ApiErrorKind::Uncertain
            | ApiErrorKind::Pending
            | ApiErrorKind::Response => {
                if e.kind() == ApiErrorKind::Transient {
                    t.set_offline(true);
                }
                CrHubError::Uncertain {
                    record: record.to_owned(),
                    clave: clave.to_owned(),
                    message: e.to_string(),
                }
            }
            _ => CrHubError::Api {
                record: record.to_owned(),
                source: Box::new(e),
            },
        }
    }

    fn stamp(
        &self,
        kind: FiscalDocumentKind,
        clave: &str,
        sealed: &str,
        fecha: Option<&str>,
        certifier: &str,
    ) -> Result<FiscalStamp, CrHubError> {
        let (c, emitted, total) =
            match crate::parse::documento(sealed.as_bytes()).map_err(record_err(clave))? {
                Documento::Comprobante(doc) => (
                    *doc.consecutivo(),
                    doc.fecha_emision,
                    doc.resumen.total_comprobante,
                ),
                Documento::MensajeReceptor(m) => (
                    m.numero_consecutivo_receptor,
                    m.fecha_emision_doc,
                    m.total_factura,
                ),
            };
        let fecha = fecha.map_or_else(|| emitted.to_rfc3339(), str::to_owned);
        let mut stamp = FiscalStamp::new(SCHEME, kind, clave, fecha, certifier, total, sealed)
            .with_number(
                Some(format!(
                    "{:03}-{:05}-{}",
                    c.sucursal(),
                    c.terminal(),
                    c.tipo().code()
                )),
                Some(c.numero().to_string()),
            );
        // The 2026 clave is alphanumeric: keep it exactly as issued.
        clave.clone_into(&mut stamp.uuid);
        Ok(stamp)
    }

    async fn decided(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        sealed: &str,
        (clave, doc_clave): (&str, &str),
        status: StatusResponse,
    ) -> Result<FiscalStamp, CrHubError> {
        let record = key.external_ref.clone();
        let bad = |problem: String| CrHubError::Respuesta {
            record: record.clone(),
            clave: clave.to_owned(),
            problem,
        };
        let xml = status
            .respuesta_xml
            .clone()
            .ok_or_else(|| bad(format!("estado {} without respuesta-xml", status.estado)))?;
        crate::xades::verify(&xml, self.hacienda_cert.as_ref())
            .map_err(|e| bad(format!("signature: {e}")))?;
        let mensaje = status.mensaje.as_ref().ok_or_else(|| {
            bad(status
                .mensaje_error
                .clone()
                .unwrap_or_else(|| "unreadable".into()))
        })?;
        if mensaje.clave.as_str() != doc_clave {
            return Err(bad(format!("it answers clave {}", mensaje.clave.as_str())));
        }
        let series = Series::new(&t.profile.emisor.numero, MENSAJE_HACIENDA_SERIES);
        let stored = xml.clone();
        self.numbers
            .issue(&series, clave, &move |_| Ok(stored.clone()))
            .await?;
        let aceptado =
            status.estado == Estado::Aceptado && mensaje.mensaje != EstadoHacienda::Rechazado;
        let certifier = if aceptado { ACCEPTED } else { REJECTED };
        let stamp = self.stamp(kind, clave, sealed, status.fecha.as_deref(), certifier)?;
        self.journal.complete(key, &stamp).await?;
        if aceptado {
            metrics::counter!("cr_aceptado_total", "tenant" => t.name.clone()).increment(1);
            Ok(stamp)
        } else {
            metrics::counter!("cr_rechazado_total", "tenant" => t.name.clone()).increment(1);
            Err(CrHubError::Rechazado {
                record,
                clave: clave.to_owned(),
                detalle: mensaje.detalle_mensaje.clone(),
            })
        }
    }
}

/// The recepción body of a journalled document: a comprobante, or a MensajeReceptor (whose supplier's
/// identification type is inferred from the length of its number: 9 física, 10 jurídica, 11–12 DIMEX, as
/// Hacienda assigns them; the message itself carries only the number).
fn envio_of(profile: &CrProfile, sealed: &str) -> Result<Envio, ApiError> {
    match crate::parse::documento(sealed.as_bytes())? {
        Documento::MensajeReceptor(m) => {
            let emisor = match m.numero_cedula_emisor.len() {
                9 => TipoIdentificacion::CedulaFisica,
                11 | 12 => TipoIdentificacion::Dimex,
                _ => TipoIdentificacion::CedulaJuridica,
            };
            let receptor = TipoIdentificacion::from_code(&profile.emisor.tipo_identificacion)
                .unwrap_or(TipoIdentificacion::CedulaJuridica);
            Envio::mensaje_receptor(sealed.as_bytes(), emisor, receptor)
        }
        _ => Envio::comprobante(sealed.as_bytes()),
    }
}

/// The hub write that answers the supplier document `supplier_xml` with `respuesta`
/// ([`WriteOp::AnswerReceived`], record `mr:<supplier clave>`, the answer as [`Respuesta::to_json`]).
/// Enqueue it in the tenant's scope of a hub whose adapter is a
/// [`FiscalAdapter`](erp_hub_core::fiscal::FiscalAdapter) around a [`CrStep`]: the step verifies the document
/// with the tenant's receiver ([`CrStep::with_receiver`]) and submits the MensajeReceptor as
/// [`CrStep::respond_received`] does; retries, polling and failures (a broken signature, an answer the
/// document does not allow) are the hub's and are recorded in its sync log. Enqueueing it again is a no-op,
/// and the journal answers each supplier document once.
///
/// Only the clave is read here (the signature is verified by the step, where a failure is logged).
///
/// # Errors
/// [`CrHubError::Document`] when no clave can be read from `supplier_xml` (no record to key it by).
pub fn answer_received(
    supplier_xml: impl Into<String>,
    respuesta: &Respuesta,
) -> Result<WriteOp, CrHubError> {
    let xml = supplier_xml.into();
    let clave = match crate::parse::supplier_with_limits(xml.as_bytes(), &crate::Limits::default())
        .map_err(record_err("received comprobante"))?
    {
        crate::parse::Supplier::V44(d) => d.clave().as_str().to_owned(),
        crate::parse::Supplier::V43(c) => c.clave.as_str().to_owned(),
    };
    Ok(WriteOp::AnswerReceived(ReceivedAnswer::new(
        format!("mr:{clave}"),
        xml,
        respuesta.to_json(),
    )))
}

/// The certifier of an accepted comprobante's stamp (the estado written back to the ERP).
pub const ACCEPTED: &str = "hacienda:aceptado";
/// The certifier of a rejected comprobante's journal entry (written back to an ERP record that exists
/// already, in [`FiscalOrder::PostThenStamp`], with the rejection's error, never as a success).
pub const REJECTED: &str = "hacienda:rechazado";

use chrono::Offset as _;

#[async_trait]
impl FiscalStep for CrStep {
    /// As [`CrStep::stamp_document`]; a `rechazado` document's error carries its final journal entry (clave
    /// and estado) as [`Rejected`](erp_hub_core::fiscal::Rejected): a
    /// [`FiscalAdapter`](erp_hub_core::fiscal::FiscalAdapter) posting first writes it back to the ERP record;
    /// stamping first, it posts nothing (the ERP only gets accepted comprobantes).
    async fn stamp(&self, tenant: &str, op: &WriteOp) -> erp_hub_core::Result<Option<FiscalStamp>> {
        let e = match self.stamp_document(tenant, op).await {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        // `finished` and `decided` journal the rejected stamp before returning the error.
        let rejected = match &e {
            CrHubError::Rechazado { record, clave, .. } => {
                match self
                    .journal
                    .get(&FiscalKey::new(tenant, op.kind(), record))
                    .await
                {
                    Ok(Some(JournalEntry::Stamped(s)))
                        if s.certifier == REJECTED && s.uuid == *clave =>
                    {
                        Some(s)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let e = erp_hub_core::Error::from(e);
        Err(match rejected {
            Some(s) => erp_hub_core::fiscal::Rejected::attach_to(e, s),
            None => e,
        })
    }

    fn order(&self) -> FiscalOrder {
        self.order
    }
}
