//! [`CfdiStep`]: the Mexican [`FiscalStep`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::fiscal::{
    Cancellation, CancellationState, CertifierAttempt, FiscalDocumentKind, FiscalKey, FiscalOrder,
    FiscalStamp, FiscalStep, JournalEntry, StampJournal,
};
use erp_hub_core::model::{Customer, EntityKind};

use super::error::FiscalError;
use super::mapping::{
    GlobalPeriod, GlobalSale, PaidInvoice, map_credit_note, map_global_invoice, map_invoice,
    map_payment,
};
use super::profile::FiscalProfile;
use crate::pac::{
    CancelRequest, CancelStatus, CfdiIdentity, EsCancelable, Estado, EstatusCancelacion, Failover,
    Motivo, Pac, PacError, SatStatus, SatStatusClient, Stamped,
};
use crate::{Comprobante, Csd};

pub use erp_hub_core::fiscal::{Directory, MemoryDirectory};

struct Tenant {
    profile: FiscalProfile,
    csd: Arc<Csd>,
    pacs: Vec<Arc<dyn Pac>>,
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The Mexican [`FiscalStep`]: ERP invoices, credit notes and payments of each configured tenant become CFDI
/// 4.0 documents (see [`map_invoice`], [`map_credit_note`], [`map_payment`]), sealed with the tenant's CSD and
/// stamped through its PACs, exactly once.
///
/// # Exactly once
/// The step follows the journal protocol of [`erp_hub_core::fiscal`]:
///
/// 1. a stamped entry in the [`StampJournal`] is returned as is;
/// 2. otherwise the document is built and sealed **once** and stored as pending
///    ([`StampJournal::begin`]) before any PAC sees it; later attempts re-send those exact bytes, so a PAC
///    recognises a repeat by its `Sello` and answers with the existing stamp;
/// 3. before each first send to a PAC the journal records it ([`StampJournal::sending`]; for a new document
///    the pending entry and its first PAC are one write, [`StampJournal::begin_sending`]). A PAC whose earlier
///    outcome is unknown (a timeout, a crash mid-call) is asked for an existing stamp
///    ([`Pac::recover`]) and re-sent the same bytes; whatever it answers short of a stamp or a rejection of
///    the document leaves the document pending and the step returns an
///    [`Uncertain`](erp_hub_core::ErrorKind::Uncertain) error: it never moves on to the next PAC.
/// 4. a PAC may be followed by the next one only when it **definitely** did not stamp
///    ([`PacError::allows_failover`], the [`Failover`] decision table); that is journalled
///    ([`StampJournal::not_stamped`]);
/// 5. a document the PAC rejects as wrong, or that no PAC accepted, is abandoned: the next attempt rebuilds
///    it (with a new `Fecha`).
///
/// Payment receipts of one tenant are built one at a time, so two payments of the same invoice never get
/// the same `NumParcialidad` from one process; and a receipt is not built while an earlier receipt of one
/// of its invoices is pending in the journal (its PAC's answer uncertain: it may yet be stamped): the
/// payment fails with [`FiscalError::PaymentPending`], a "retry later" naming the pending receipt.
/// (Several processes stamping payments of one tenant need the hub's per-record dependencies to order
/// them.)
pub struct CfdiStep {
    tenants: HashMap<String, Tenant>,
    journal: Arc<dyn StampJournal>,
    directory: Arc<dyn Directory>,
    order: FiscalOrder,
    clock: Clock,
    uncertain_attempts: u32,
    backoff: Duration,
    payments: tokio::sync::Mutex<()>,
    payment_wait: Duration,
    sat_status: Option<Arc<SatStatusClient>>,
    cancel_poll: (Duration, Duration),
}

impl std::fmt::Debug for CfdiStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CfdiStep")
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

impl CfdiStep {
    /// A step with no tenant yet, keeping documents in `journal` and customers/items in `directory`.
    pub fn new(journal: Arc<dyn StampJournal>, directory: Arc<dyn Directory>) -> Self {
        Self {
            tenants: HashMap::new(),
            journal,
            directory,
            order: FiscalOrder::StampThenPost,
            clock: Arc::new(Utc::now),
            uncertain_attempts: 4,
            backoff: Duration::from_millis(500),
            payments: tokio::sync::Mutex::new(()),
            payment_wait: Duration::from_secs(30),
            sat_status: None,
            cancel_poll: (Duration::from_secs(60), Duration::from_secs(6 * 3600)),
        }
    }

    /// Adds a tenant: its profile, its loaded CSD ([`FiscalProfile::load_csd`]) and its PACs
    /// ([`FiscalProfile::failover`]; only the order of its PACs is used, the step applies the decision table
    /// itself, per PAC, with the journal).
    #[must_use]
    pub fn with_tenant(
        mut self,
        tenant: impl Into<String>,
        profile: FiscalProfile,
        csd: Csd,
        pacs: &Failover,
    ) -> Self {
        self.tenants.insert(
            tenant.into(),
            Tenant {
                profile,
                csd: Arc::new(csd),
                pacs: pacs.pacs().to_vec(),
            },
        );
        self
    }

    /// Where the step runs relative to the ERP write (default [`FiscalOrder::StampThenPost`]).
    #[must_use]
    pub fn with_order(mut self, order: FiscalOrder) -> Self {
        self.order = order;
        self
    }

    /// Recovery at one PAC after an uncertain outcome within one call: attempts and base backoff (defaults 4
    /// and 500 ms, as [`Failover`]).
    #[must_use]
    pub fn with_recovery(mut self, attempts: u32, backoff: Duration) -> Self {
        self.uncertain_attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// How long a payment waits when an earlier receipt of the same invoice is still pending (default 30 s;
    /// see [`FiscalError::PaymentPending`]).
    #[must_use]
    pub fn with_payment_wait(mut self, wait: Duration) -> Self {
        self.payment_wait = wait;
        self
    }

    /// The clock for `Fecha` (default: now). `Fecha` is this instant at the profile's UTC offset.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Reads cancellation status from the SAT's `ConsultaCFDIService` through `client` (default: through the
    /// tenant's PACs, [`Pac::sat_status`], in order).
    #[must_use]
    pub fn with_sat_status(mut self, client: SatStatusClient) -> Self {
        self.sat_status = Some(Arc::new(client));
        self
    }

    /// The schedule of SAT status reads while a cancellation is pending: `first` after the request, then
    /// doubling up to `max` (defaults 60 s and 6 h; the receptor has 72 h to answer).
    #[must_use]
    pub fn with_cancel_poll(mut self, first: Duration, max: Duration) -> Self {
        self.cancel_poll = (first, max.max(first));
        self
    }

    /// The journal the step keeps documents in.
    pub fn journal(&self) -> &Arc<dyn StampJournal> {
        &self.journal
    }

    fn tenant(&self, tenant: &str) -> Result<&Tenant, FiscalError> {
        self.tenants
            .get(tenant)
            .ok_or_else(|| FiscalError::Profile {
                field: format!("tenant {tenant}"),
                problem: "no fiscal profile for this tenant".into(),
            })
    }

    fn fecha(&self, profile: &FiscalProfile) -> String {
        let now = (self.clock)();
        let local = now + chrono::Duration::hours(i64::from(profile.utc_offset_hours));
        local.format("%Y-%m-%dT%H:%M:%S").to_string()
    }

    /// As [`FiscalStep::stamp`], with this module's error type.
    ///
    /// # Errors
    /// See [`FiscalError`].
    pub async fn stamp_document(
        &self,
        tenant: &str,
        op: &WriteOp,
    ) -> Result<Option<FiscalStamp>, FiscalError> {
        match op {
            WriteOp::UpsertCustomer(c) => {
                self.directory.put_customer(tenant, c).await?;
                Ok(None)
            }
            WriteOp::UpsertItem(i) => {
                self.directory.put_item(tenant, i).await?;
                Ok(None)
            }
            WriteOp::CreateInvoice(inv)
                if inv
                    .passthrough
                    .pointer("/cfdi/global")
                    .and_then(serde_json::Value::as_bool)
                    == Some(true) =>
            {
                // A walk-in sale left for the period's global invoice (stamp_global): no CFDI of its own.
                Ok(None)
            }
            WriteOp::CreateInvoice(inv) => {
                let key = FiscalKey::new(tenant, EntityKind::Invoice, &inv.external_ref);
                if let Some(s) = self
                    .resume(tenant, &key, FiscalDocumentKind::Invoice)
                    .await?
                {
                    return Ok(Some(s));
                }
                let t = self.tenant(tenant)?;
                let customer = self
                    .customer(tenant, &inv.external_ref, &inv.customer.external_ref)
                    .await?;
                let items = self.directory.items(tenant).await?;
                let fecha = self.fecha(&t.profile);
                let mut doc = map_invoice(&t.profile, inv, &customer, &items, &fecha)?;
                // A reissue names the invoice it replaces: CfdiRelacionados 04 (sustitución) to its UUID, so
                // the old one can be cancelled with motivo 01 and this UUID as FolioSustitucion.
                if let Some(old) = inv
                    .passthrough
                    .pointer("/cfdi/sustituye")
                    .and_then(|v| v.as_str())
                {
                    let old_key = FiscalKey::new(tenant, EntityKind::Invoice, old);
                    let stamp =
                        self.already(&old_key)
                            .await?
                            .ok_or_else(|| FiscalError::NotStamped {
                                record: inv.external_ref.clone(),
                                field: "passthrough.cfdi.sustituye".into(),
                                reference: old.to_owned(),
                            })?;
                    doc.cfdi_relacionados
                        .push(crate::model::CfdiRelacionados::new("04", [stamp.uuid]));
                }
                self.seal_and_stamp(t, &key, FiscalDocumentKind::Invoice, doc)
                    .await
                    .map(Some)
            }
            WriteOp::CreateCreditNote(cn) => {
                let key = FiscalKey::new(tenant, EntityKind::CreditNote, &cn.external_ref);
                if let Some(s) = self
                    .resume(tenant, &key, FiscalDocumentKind::CreditNote)
                    .await?
                {
                    return Ok(Some(s));
                }
                let t = self.tenant(tenant)?;
                let customer = self
                    .customer(tenant, &cn.external_ref, &cn.customer.external_ref)
                    .await?;
                let inv_key = FiscalKey::new(tenant, EntityKind::Invoice, &cn.invoice.external_ref);
                let invoice =
                    self.already(&inv_key)
                        .await?
                        .ok_or_else(|| FiscalError::NotStamped {
                            record: cn.external_ref.clone(),
                            field: "invoice".into(),
                            reference: cn.invoice.external_ref.clone(),
                        })?;
                let items = self.directory.items(tenant).await?;
                let fecha = self.fecha(&t.profile);
                let doc =
                    map_credit_note(&t.profile, cn, &customer, &items, &invoice.uuid, &fecha)?;
                self.seal_and_stamp(t, &key, FiscalDocumentKind::CreditNote, doc)
                    .await
                    .map(Some)
            }
            WriteOp::RecordPayment(p) => {
                let key = FiscalKey::new(tenant, EntityKind::Payment, &p.external_ref);
                if let Some(s) = self.already(&key).await? {
                    return Ok(Some(s));
                }
                let t = self.tenant(tenant)?;
                let _one_at_a_time = self.payments.lock().await;
                // A pending receipt is re-sent as sealed; only a new one is built from the saldos.
                if let Some(entry) = self.journal.get(&key).await? {
                    return self
                        .continue_entry(t, &key, FiscalDocumentKind::Payment, entry)
                        .await
                        .map(Some);
                }
                let customer = self
                    .customer(tenant, &p.external_ref, &p.customer.external_ref)
                    .await?;
                let mut invoices = Vec::new();
                for (i, app) in p.applications.iter().enumerate() {
                    let inv_key =
                        FiscalKey::new(tenant, EntityKind::Invoice, &app.invoice.external_ref);
                    let stamp =
                        self.already(&inv_key)
                            .await?
                            .ok_or_else(|| FiscalError::NotStamped {
                                record: p.external_ref.clone(),
                                field: format!("applications[{i}].invoice"),
                                reference: app.invoice.external_ref.clone(),
                            })?;
                    invoices.push((
                        app.invoice.external_ref.clone(),
                        parse_stamped(&stamp)?,
                        stamp.uuid.to_ascii_uppercase(),
                    ));
                }
                // An earlier receipt of one of these invoices still pending (its PAC's answer uncertain)
                // may yet be stamped: building this one from the stamped receipts alone would repeat its
                // NumParcialidad and ImpSaldoAnt. Wait for it.
                for (other, sealed) in self.journal.pending(tenant, EntityKind::Payment).await? {
                    let sealed = sealed.to_ascii_uppercase();
                    if let Some((i, (_, _, uuid))) = invoices
                        .iter()
                        .enumerate()
                        .find(|(_, (_, _, uuid))| sealed.contains(uuid.as_str()))
                    {
                        return Err(FiscalError::PaymentPending {
                            record: p.external_ref.clone(),
                            field: format!("applications[{i}].invoice"),
                            invoice: uuid.clone(),
                            blocking: other.external_ref,
                            retry_after: self.payment_wait,
                        });
                    }
                }
                let mut receipts = Vec::new();
                for s in self
                    .journal
                    .stamped(tenant, FiscalDocumentKind::Payment)
                    .await?
                {
                    receipts.push(parse_stamped(&s)?);
                }
                let paid: Vec<PaidInvoice<'_>> = invoices
                    .iter()
                    .map(|(r, c, _)| PaidInvoice::new(r, c, &receipts))
                    .collect();
                let fecha = self.fecha(&t.profile);
                match map_payment(&t.profile, p, &customer, &paid, &fecha)? {
                    Some(doc) => self
                        .seal_and_stamp(t, &key, FiscalDocumentKind::Payment, doc)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// Stamps the global invoice `folio` of `tenant` for `sales` ([`map_global_invoice`]) with the journal
    /// protocol of every other document (key: the tenant's invoice `folio`), exactly once: a repeated call
    /// returns the existing stamp. Walk-in sales left for it are ERP invoices whose `passthrough.cfdi.global` is
    /// `true`: the step stamps no CFDI of their own.
    ///
    /// # Errors
    /// As [`map_global_invoice`] and [`stamp_document`](Self::stamp_document).
    pub async fn stamp_global(
        &self,
        tenant: &str,
        folio: &str,
        period: GlobalPeriod,
        sales: &[GlobalSale<'_>],
        forma_pago: &str,
    ) -> Result<FiscalStamp, FiscalError> {
        let key = FiscalKey::new(tenant, EntityKind::Invoice, folio);
        if let Some(s) = self
            .resume(tenant, &key, FiscalDocumentKind::Invoice)
            .await?
        {
            return Ok(s);
        }
        let t = self.tenant(tenant)?;
        let items = self.directory.items(tenant).await?;
        let fecha = self.fecha(&t.profile);
        let doc = map_global_invoice(&t.profile, period, sales, &items, folio, forma_pago, &fecha)?;
        self.seal_and_stamp(t, &key, FiscalDocumentKind::Invoice, doc)
            .await
    }

    /// As [`FiscalStep::cancel`], with this module's error type: one step of the cancellation of the stamped
    /// invoice `invoice` of `tenant`.
    ///
    /// * No cancellation recorded: the request goes to the tenant's PACs in order (the next one only when a
    ///   PAC was definitely not reached, as for stamping). Motivo `01` with `FolioSustitucion` when a stamped
    ///   invoice of the tenant replaces this one (`CfdiRelacionados` 04 to its UUID, see
    ///   `passthrough.cfdi.sustituye`), motivo `02` otherwise. Once a PAC accepts it the request is recorded
    ///   ([`StampJournal::record_cancellation`], [`CancellationState::Requested`]); `202` (already
    ///   cancelled) is recorded as [`CancellationState::Cancelled`], a SAT refusal (`203`–`205`, …) as
    ///   [`CancellationState::Rejected`]. A crash between the PAC's answer and the record re-sends the same
    ///   request, which the SAT answers as a repeat.
    /// * Recorded and pending: one SAT status read ([`with_sat_status`](Self::with_sat_status) or the PACs),
    ///   recorded: `Cancelado` / "Cancelado sin/con aceptación" → [`CancellationState::Cancelled`],
    ///   "Plazo vencido" → [`CancellationState::DeadlinePassed`], "Solicitud rechazada" →
    ///   [`CancellationState::Rejected`], "En proceso" → [`CancellationState::AwaitingAcceptance`].
    /// * Still pending: [`FiscalError::CancellationPending`] with the next read's delay (the poll schedule of
    ///   [`with_cancel_poll`](Self::with_cancel_poll)); the hub retries then.
    ///
    /// # Errors
    /// [`FiscalError::CancellationPending`] while pending; [`FiscalError::Pac`] when no PAC could take the
    /// request (nothing recorded, retry); [`FiscalError::Store`] from the journal.
    pub async fn cancel_invoice(
        &self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Option<Cancellation>, FiscalError> {
        let key = FiscalKey::new(tenant, EntityKind::Invoice, invoice);
        let stamp = match self.journal.get(&key).await? {
            Some(JournalEntry::Stamped(s)) => s,
            Some(JournalEntry::Pending { .. }) => {
                return Err(FiscalError::NotStamped {
                    record: invoice.to_owned(),
                    field: "cancellation".into(),
                    reference: format!("{invoice} (its stamp is still pending)"),
                });
            }
            _ => return Ok(None),
        };
        let t = self.tenant(tenant)?;
        let now = (self.clock)();
        let mut c = match self.journal.cancellation(&key).await? {
            Some(c) if c.state.is_terminal() => return Ok(Some(c)),
            Some(c) => c,
            None => {
                let c = self.request_cancellation(t, &key, &stamp, now).await?;
                self.journal.record_cancellation(&key, &c).await?;
                if c.state.is_terminal() {
                    return Ok(Some(c));
                }
                return Err(self.pending(invoice, &c));
            }
        };
        let doc = parse_stamped(&stamp)?;
        let identity = CfdiIdentity::from_comprobante(&doc).map_err(|source| FiscalError::Pac {
            record: invoice.to_owned(),
            source: Box::new(source),
        })?;
        c.checks += 1;
        c.checked_at = Some(now);
        match self.read_status(t, &identity).await {
            Ok(status) => {
                if let Some(state) = cancellation_state(&status) {
                    c.state = state;
                }
                c.detail = describe(&status);
            }
            Err(e) => c.detail = format!("SAT status not available: {e}"),
        }
        self.journal.record_cancellation(&key, &c).await?;
        if c.state.is_terminal() {
            return Ok(Some(c));
        }
        Err(self.pending(invoice, &c))
    }

    fn pending(&self, invoice: &str, c: &Cancellation) -> FiscalError {
        let (first, max) = self.cancel_poll;
        let factor = 1u32.checked_shl(c.checks.min(16)).unwrap_or(u32::MAX);
        FiscalError::CancellationPending {
            record: invoice.to_owned(),
            uuid: c.uuid.clone(),
            state: c.state,
            detail: if c.detail.is_empty() {
                format!("motivo {}", c.reason)
            } else {
                c.detail.clone()
            },
            retry_after: first.saturating_mul(factor).min(max),
        }
    }

    async fn request_cancellation(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        stamp: &FiscalStamp,
        now: DateTime<Utc>,
    ) -> Result<Cancellation, FiscalError> {
        let record = &key.external_ref;
        let pac_err = |source: PacError| FiscalError::Pac {
            record: record.clone(),
            source: Box::new(source),
        };
        let substitute = self.substitute_of(&key.tenant, &stamp.uuid).await?;
        let motivo = if substitute.is_some() {
            Motivo::ErroresConRelacion
        } else {
            Motivo::ErroresSinRelacion
        };
        let request = CancelRequest::new(
            &stamp.uuid,
            &t.profile.emisor.rfc,
            motivo,
            substitute.clone(),
        )
        .map_err(pac_err)?;
        let mut refusals = Vec::new();
        for pac in &t.pacs {
            match pac.cancel(&request).await {
                Ok(r) => {
                    let mut c = Cancellation::requested(
                        &stamp.uuid,
                        motivo.code(),
                        substitute.clone(),
                        now,
                    );
                    c.detail = format!(
                        "{} answered EstatusUUID {}{}",
                        pac.name(),
                        r.code,
                        r.description.map(|d| format!(" ({d})")).unwrap_or_default()
                    );
                    if r.status == CancelStatus::PreviouslyCancelled {
                        c.state = CancellationState::Cancelled;
                    }
                    return Ok(c);
                }
                Err(PacError::Rejected { pac, code, message }) => {
                    let mut c = Cancellation::requested(
                        &stamp.uuid,
                        motivo.code(),
                        substitute.clone(),
                        now,
                    );
                    c.state = CancellationState::Rejected;
                    c.detail = format!("{pac} refused the cancellation request: {code} {message}");
                    return Ok(c);
                }
                Err(e) if e.allows_failover() => refusals.push(e),
                Err(e) => return Err(pac_err(e)),
            }
        }
        Err(pac_err(PacError::AllFailed { errors: refusals }))
    }

    /// The UUID of a stamped invoice of `tenant` that replaces `uuid` (`CfdiRelacionados` 04), if any.
    async fn substitute_of(&self, tenant: &str, uuid: &str) -> Result<Option<String>, FiscalError> {
        for s in self
            .journal
            .stamped(tenant, FiscalDocumentKind::Invoice)
            .await?
        {
            if s.uuid.eq_ignore_ascii_case(uuid) || !s.xml.contains(uuid) {
                continue;
            }
            let doc = parse_stamped(&s)?;
            if doc.cfdi_relacionados.iter().any(|r| {
                r.tipo_relacion == "04" && r.uuids.iter().any(|u| u.eq_ignore_ascii_case(uuid))
            }) {
                return Ok(Some(s.uuid));
            }
        }
        Ok(None)
    }

    async fn read_status(
        &self,
        t: &Tenant,
        identity: &CfdiIdentity,
    ) -> Result<SatStatus, PacError> {
        if let Some(sat) = &self.sat_status {
            return sat.status(identity).await;
        }
        let mut errors = Vec::new();
        for pac in &t.pacs {
            match pac.sat_status(identity).await {
                Ok(s) => return Ok(s),
                Err(e) => errors.push(e),
            }
        }
        Err(PacError::AllFailed { errors })
    }

    /// The stamp of `key` if it is stamped, or the outcome of re-sending its pending document; `None` when the
    /// journal has nothing for it.
    async fn resume(
        &self,
        tenant: &str,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
    ) -> Result<Option<FiscalStamp>, FiscalError> {
        match self.journal.get(key).await? {
            Some(JournalEntry::Stamped(s)) => Ok(Some(s)),
            Some(entry) => {
                let t = self.tenant(tenant)?;
                self.continue_entry(t, key, kind, entry).await.map(Some)
            }
            None => Ok(None),
        }
    }

    async fn already(&self, key: &FiscalKey) -> Result<Option<FiscalStamp>, FiscalError> {
        Ok(match self.journal.get(key).await? {
            Some(JournalEntry::Stamped(s)) => Some(s),
            _ => None,
        })
    }

    async fn customer(
        &self,
        tenant: &str,
        record: &str,
        customer: &str,
    ) -> Result<Customer, FiscalError> {
        self.directory
            .customer(tenant, customer)
            .await?
            .ok_or_else(|| FiscalError::Customer {
                record: record.to_owned(),
                customer: customer.to_owned(),
                field: "external_ref",
                problem: "is unknown to the fiscal step (no UpsertCustomer for it)".into(),
            })
    }

    /// Seals `doc`, journals it as pending and sent to the first PAC ([`StampJournal::begin_sending`]: one
    /// durable write on the hub's databases), and stamps it. The caller has just found no entry for `key`; an
    /// entry that appeared since (a racing worker's) wins over this document and is continued instead.
    async fn seal_and_stamp(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        mut doc: Comprobante,
    ) -> Result<FiscalStamp, FiscalError> {
        t.csd.seal(&mut doc).map_err(|e| match e {
            crate::Error::CertificateNotValid {
                no_certificado,
                at,
                not_after,
                ..
            } if expired(&at, &not_after) => FiscalError::CsdExpired {
                record: key.external_ref.clone(),
                no_certificado,
                not_after,
                at,
            },
            source => FiscalError::Cfdi {
                record: key.external_ref.clone(),
                source: Box::new(source),
            },
        })?;
        let sealed = crate::to_xml(&doc);
        let Some(first) = t.pacs.first() else {
            // No PAC to send it to: nothing is journalled, nothing can carry a UUID.
            return Err(FiscalError::Pac {
                record: key.external_ref.clone(),
                source: Box::new(PacError::AllFailed { errors: Vec::new() }),
            });
        };
        match self
            .journal
            .begin_sending(key, &sealed, first.name())
            .await?
        {
            // Ours, durably pending and recorded as going to the first PAC: no need to read it back.
            None => {
                self.send_pending(t, key, kind, Pending::begun(sealed, &doc, first.name()))
                    .await
            }
            Some(entry) => self.continue_entry(t, key, kind, entry).await,
        }
    }

    /// Continues from a journal entry just read: returns a stamp, re-sends a pending document.
    async fn continue_entry(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        entry: JournalEntry,
    ) -> Result<FiscalStamp, FiscalError> {
        match entry {
            JournalEntry::Stamped(s) => Ok(s),
            JournalEntry::Pending { sealed, attempts } => {
                self.send_pending(
                    t,
                    key,
                    kind,
                    Pending {
                        sealed,
                        attempts,
                        doc: None,
                        journalled: None,
                    },
                )
                .await
            }
            other => Err(FiscalError::Store(erp_hub_core::Error::conflict(format!(
                "{key}: unexpected journal entry {other:?}"
            )))),
        }
    }

    async fn send_pending(
        &self,
        t: &Tenant,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        pending: Pending<'_>,
    ) -> Result<FiscalStamp, FiscalError> {
        let Pending {
            sealed,
            attempts,
            doc,
            journalled,
        } = pending;
        let record = &key.external_ref;
        let pac_err = |source: PacError| FiscalError::Pac {
            record: record.clone(),
            source: Box::new(source),
        };
        let mut refusals = Vec::new();
        for pac in &t.pacs {
            let name = pac.name().to_owned();
            let once = Failover::new(pac.clone())
                .uncertain_attempts(self.uncertain_attempts)
                .backoff(self.backoff);
            match attempts.iter().find(|a| a.certifier == name) {
                Some(a) if a.definitely_not_stamped => continue,
                Some(_) => {
                    // An earlier send to this PAC has no known outcome: recover, then re-send the same bytes.
                    match pac.recover(&sealed).await {
                        Ok(Some(s)) => return self.complete(key, kind, &sealed, doc, s).await,
                        Ok(None) => {}
                        Err(e) => return Err(pac_err(still_uncertain(&name, &e))),
                    }
                    return match once.stamp(&sealed).await {
                        Ok(s) => self.complete(key, kind, &sealed, doc, s).await,
                        Err(e @ PacError::Rejected { .. }) => {
                            // No stamp to recover and the document itself is refused (a stamped one would
                            // be answered with the existing stamp): nothing carries a UUID.
                            self.journal.abandon(key).await?;
                            Err(pac_err(e))
                        }
                        Err(e) => Err(pac_err(still_uncertain(&name, &e))),
                    };
                }
                None => {
                    // Journalled before the request leaves, unless begin_sending already did it.
                    if journalled != Some(name.as_str()) {
                        self.journal.sending(key, &name).await?;
                    }
                    match once.stamp(&sealed).await {
                        Ok(s) => return self.complete(key, kind, &sealed, doc, s).await,
                        Err(e) if failover_allowed(&e) => {
                            self.journal.not_stamped(key, &name).await?;
                            refusals.push(e);
                        }
                        Err(e) if e.is_definitely_not_stamped() => {
                            self.journal.abandon(key).await?;
                            return Err(pac_err(e));
                        }
                        Err(e) => return Err(pac_err(e)),
                    }
                }
            }
        }
        // Every PAC definitely did not stamp: start afresh next time.
        self.journal.abandon(key).await?;
        Err(pac_err(PacError::AllFailed { errors: refusals }))
    }

    /// Journals the stamp `s` of the sealed document `sealed` (parsed for its total and number unless `doc`,
    /// the same document, is at hand).
    async fn complete(
        &self,
        key: &FiscalKey,
        kind: FiscalDocumentKind,
        sealed: &str,
        doc: Option<&Comprobante>,
        s: Stamped,
    ) -> Result<FiscalStamp, FiscalError> {
        let parsed;
        let doc = match doc {
            Some(d) => d,
            None => {
                parsed = crate::parse_str(sealed).map_err(|source| FiscalError::Cfdi {
                    record: key.external_ref.clone(),
                    source: Box::new(source),
                })?;
                &parsed
            }
        };
        let stamp = FiscalStamp::new(
            super::SCHEME,
            kind,
            &s.uuid,
            &s.tfd.fecha_timbrado,
            &s.pac,
            doc.total,
            s.xml,
        )
        .with_number(doc.serie.clone(), doc.folio.clone());
        self.journal.complete(key, &stamp).await?;
        Ok(stamp)
    }
}

/// A pending document about to be (re)sent: its sealed bytes and journalled attempts.
struct Pending<'a> {
    sealed: String,
    attempts: Vec<CertifierAttempt>,
    /// The sealed document itself, when this call built it (saves parsing `sealed` again).
    doc: Option<&'a Comprobante>,
    /// The PAC whose first send this call has already journalled ([`StampJournal::begin_sending`]).
    journalled: Option<&'a str>,
}

impl<'a> Pending<'a> {
    /// A document this call just began with `begin_sending` to `first`.
    fn begun(sealed: String, doc: &'a Comprobante, first: &'a str) -> Self {
        Self {
            sealed,
            attempts: Vec::new(),
            doc: Some(doc),
            journalled: Some(first),
        }
    }
}

/// Whether the document date `at` (`Fecha`, local) is after `not_after` (RFC 3339): both start with
/// `YYYY-MM-DDTHH:MM:SS`, so their prefixes compare as dates (within the hours of the UTC offset).
fn expired(at: &str, not_after: &str) -> bool {
    at.get(..19).unwrap_or(at) > not_after.get(..19).unwrap_or(not_after)
}

/// Whether a single-PAC failover's error proves the PAC did not process the document (so the next PAC may
/// get it): unreachable, credentials, configuration.
fn failover_allowed(e: &PacError) -> bool {
    match e {
        PacError::AllFailed { errors } => {
            !errors.is_empty() && errors.iter().all(PacError::allows_failover)
        }
        other => other.allows_failover(),
    }
}

fn still_uncertain(pac: &str, e: &PacError) -> PacError {
    if e.is_uncertain() {
        return match e {
            PacError::Uncertain { pac, message } => PacError::Uncertain {
                pac: pac.clone(),
                message: message.clone(),
            },
            other => PacError::Uncertain {
                pac: pac.to_owned(),
                message: other.to_string(),
            },
        };
    }
    PacError::Uncertain {
        pac: pac.to_owned(),
        message: format!(
            "an earlier send may have stamped it and the PAC cannot confirm now ({e}); retry later"
        ),
    }
}

/// The cancellation state a SAT status shows, or `None` when it shows no decision yet (the request not
/// registered yet, the CFDI not found yet).
fn cancellation_state(s: &SatStatus) -> Option<CancellationState> {
    match &s.estatus_cancelacion {
        EstatusCancelacion::CanceladoSinAceptacion | EstatusCancelacion::CanceladoConAceptacion => {
            return Some(CancellationState::Cancelled);
        }
        EstatusCancelacion::PlazoVencido => return Some(CancellationState::DeadlinePassed),
        EstatusCancelacion::SolicitudRechazada => return Some(CancellationState::Rejected),
        EstatusCancelacion::EnProceso => return Some(CancellationState::AwaitingAcceptance),
        _ => {}
    }
    match (&s.estado, &s.es_cancelable) {
        (Estado::Cancelado, _) => Some(CancellationState::Cancelled),
        (Estado::Vigente, Some(EsCancelable::ConAceptacion)) => {
            Some(CancellationState::AwaitingAcceptance)
        }
        _ => None,
    }
}

fn describe(s: &SatStatus) -> String {
    let estado = match &s.estado {
        Estado::Vigente => "Vigente".to_owned(),
        Estado::Cancelado => "Cancelado".to_owned(),
        Estado::NoEncontrado => "No Encontrado".to_owned(),
        Estado::Other(o) => o.clone(),
    };
    let estatus = match &s.estatus_cancelacion {
        EstatusCancelacion::Ninguno => String::new(),
        EstatusCancelacion::EnProceso => "En proceso".into(),
        EstatusCancelacion::CanceladoSinAceptacion => "Cancelado sin aceptación".into(),
        EstatusCancelacion::CanceladoConAceptacion => "Cancelado con aceptación".into(),
        EstatusCancelacion::PlazoVencido => "Plazo vencido".into(),
        EstatusCancelacion::SolicitudRechazada => "Solicitud rechazada".into(),
        EstatusCancelacion::Other(o) => o.clone(),
    };
    let cancelable = match &s.es_cancelable {
        Some(EsCancelable::NoCancelable) => "No cancelable".to_owned(),
        Some(EsCancelable::SinAceptacion) => "Cancelable sin aceptación".to_owned(),
        Some(EsCancelable::ConAceptacion) => "Cancelable con aceptación".to_owned(),
        Some(EsCancelable::Other(o)) => o.clone(),
        None => String::new(),
    };
    format!("Estado {estado}; EsCancelable {cancelable:?}; EstatusCancelacion {estatus:?}")
}

fn parse_stamped(s: &FiscalStamp) -> Result<Comprobante, FiscalError> {
    crate::parse_str(&s.xml).map_err(|source| FiscalError::Cfdi {
        record: s.uuid.clone(),
        source: Box::new(source),
    })
}

#[async_trait]
impl FiscalStep for CfdiStep {
    async fn stamp(&self, tenant: &str, op: &WriteOp) -> erp_hub_core::Result<Option<FiscalStamp>> {
        self.stamp_document(tenant, op).await.map_err(Into::into)
    }

    fn order(&self) -> FiscalOrder {
        self.order
    }

    async fn cancel(
        &self,
        tenant: &str,
        invoice: &str,
    ) -> erp_hub_core::Result<Option<Cancellation>> {
        self.cancel_invoice(tenant, invoice)
            .await
            .map_err(Into::into)
    }
}
