//! [`AlegraAdapter`]: the `ErpAdapter` implementation, and Alegra's own CFDI stamping.
//!
//! ## Exactly once without an idempotency header
//!
//! Alegra has no idempotency key, so every write is keyed by the record's **external reference** (stored as
//! described in [`mapping`]):
//!
//! 1. before a create, the adapter looks the reference up (an id-ordered scan of the list endpoint, kept
//!    incrementally in memory, so a lookup normally costs one request) and returns the existing record;
//! 2. when the create's outcome is uncertain (a `5xx`, a timeout, a lost or unreadable answer), it looks the
//!    reference up again and returns the record if it is there; otherwise the error stays
//!    [`Uncertain`](erp_hub_core::ErrorKind::Uncertain), and the next attempt starts with step 1.
//!
//! Upserts update the record found by reference (`PUT`, replay-safe), skip the write when the record already
//! holds the requested values (so a re-sent update never conflicts with itself), and check the input's
//! `remote.version` first (contacts: `updated_at`; items: a digest of the mapped fields): a stale one is
//! [`Conflict`](erp_hub_core::ErrorKind::Conflict). A new customer whose name another contact already has is
//! [`Duplicate`](erp_hub_core::ErrorKind::Duplicate) with that contact's id (checked by the adapter; CFDI
//! needs unambiguous legal names).
//!
//! Payments and credit notes are applied to their invoices **in the same request** (`invoices[{id, amount}]`),
//! so there is no second step that could fail after the first was applied.
//!
//! ## Stamping (CFDI) is Alegra's
//!
//! Documents are created unstamped (`stamp.generateStamp: false`). [`AlegraAdapter::stamp_invoice`] (and
//! [`stamp_credit_note`](AlegraAdapter::stamp_credit_note), [`stamp_payment`](AlegraAdapter::stamp_payment)
//! for the payment complement) stamp explicitly: Alegra consumes a SAT folio and returns the UUID. Exactly once:
//! the document is re-read before every stamp call and an existing stamp is returned instead of stamping
//! again; an uncertain stamp call is re-queried, never blindly repeated; calls for one document from one
//! adapter are serialised.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use erp_hub_core::adapter::{
    BatchWrite, Capabilities, Capability, ChangeCursor, ChangePage, CompanyInfo, Entity,
    ErpAdapter, IdempotencyKey, RemoteRecord,
};
use erp_hub_core::http::Method;
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, EntityKind, Invoice, InvoiceLine, Item, PartyRef,
    Payment, RemoteRef,
};
use erp_hub_core::money::Currency;
use erp_hub_core::{ConnectionLimits, Error, ErrorKind, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::changes::{self, Position, path_of, scan_page};
use crate::client::{AlegraClient, Call};
use crate::mapping::{self, PROVIDER, merge_passthrough};
use crate::wire::{
    AlegraCreditNote, AlegraInvoice, AlegraItem, AlegraPayment, Contact, Id, NumberTemplate, Stamp,
    StampRequest,
};

/// What [`AlegraAdapter::stamp_invoice`] (and the credit note and payment variants) return.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StampResult {
    /// What was stamped.
    pub kind: EntityKind,
    /// Its Alegra id.
    pub remote_id: String,
    /// The SAT folio fiscal (UUID).
    pub uuid: String,
    /// When it was stamped, as Alegra says.
    pub stamped_at: Option<String>,
    /// Alegra's legal status of the stamp.
    pub legal_status: Option<String>,
    /// The document's folio (series and number), when it has one.
    pub number: Option<String>,
    /// `true` when the document was already stamped and no stamp call was made.
    pub already_stamped: bool,
}

/// Which index of references a kind uses.
#[derive(Debug, Default)]
struct RefIndex {
    by_ref: HashMap<String, String>,
    /// Lower-cased contact names → id (customers only).
    names: HashMap<String, String>,
    pos: Position,
}

#[derive(Default)]
struct Indexes {
    kinds: StdMutex<HashMap<EntityKind, Arc<Mutex<RefIndex>>>>,
    stamps: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Indexes {
    fn of(&self, kind: EntityKind) -> Arc<Mutex<RefIndex>> {
        let mut m = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(m.entry(kind).or_default())
    }

    fn stamp_lock(&self, key: String) -> Arc<Mutex<()>> {
        let mut m = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(m.entry(key).or_default())
    }
}

/// The adapter for one Alegra company (one user's e-mail and token). Cheap to clone.
///
/// ```no_run
/// # use erp_alegra::{AccountMapping, AlegraAdapter, AlegraClient, AlegraConfig};
/// # fn demo() -> erp_hub_core::Result<()> {
/// let mut mapping = AccountMapping::new("alegra");
/// mapping.payment_account = Some("1".into()); // bank account id
/// mapping.tax_codes.insert("IVA16".into(), "1".into()); // Alegra tax id(s) of each tax key
/// let client = AlegraClient::new(AlegraConfig::new("ops@example.com", "TOKEN"))?;
/// let alegra = AlegraAdapter::new(client).with_mapping(mapping).with_default_item("1");
/// # let _ = alegra; Ok(()) }
/// ```
#[derive(Clone)]
pub struct AlegraAdapter {
    client: AlegraClient,
    mapping: Arc<AccountMapping>,
    home: Currency,
    default_item: Option<String>,
    indexes: Arc<Indexes>,
}

impl std::fmt::Debug for AlegraAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlegraAdapter")
            .field("client", &self.client)
            .field("home", &self.home)
            .field("default_item", &self.default_item)
            .finish_non_exhaustive()
    }
}

fn decode<T: DeserializeOwned>(raw: &Value, entity: &str) -> Result<T> {
    serde_json::from_value(raw.clone())
        .map_err(|e| Error::transient(format!("unexpected Alegra {entity} body: {e}")))
}

/// Whether `current` already holds every value of `desired` (objects compared key by key, numbers by value).
fn holds(desired: &Value, current: &Value) -> bool {
    match (desired, current) {
        (Value::Object(d), Value::Object(c)) => d
            .iter()
            .all(|(k, v)| v.is_null() || c.get(k).is_some_and(|cv| holds(v, cv))),
        (Value::Array(d), Value::Array(c)) => {
            d.len() == c.len() && d.iter().zip(c).all(|(a, b)| holds(a, b))
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            let a = erp_hub_core::http::wire::decimal(Some(desired));
            a.is_some() && a == erp_hub_core::http::wire::decimal(Some(current))
        }
        _ => desired == current,
    }
}

impl AlegraAdapter {
    /// The adapter over `client`, with an empty mapping and MXN as home currency.
    pub fn new(client: AlegraClient) -> Self {
        Self {
            client,
            mapping: Arc::new(AccountMapping::new(PROVIDER)),
            home: Currency::MXN,
            default_item: None,
            indexes: Arc::new(Indexes::default()),
        }
    }

    /// Sets the account and tax mapping: `tax_codes` maps each tax key to Alegra tax ids (comma-separated),
    /// `payment_account` is the default bank account id of payments, `accounts` maps our account codes.
    #[must_use]
    pub fn with_mapping(mut self, mapping: AccountMapping) -> Self {
        self.mapping = Arc::new(mapping);
        self
    }

    /// The account and tax mapping.
    pub fn mapping(&self) -> &AccountMapping {
        &self.mapping
    }

    /// The Alegra item used for document lines that name no item (Alegra requires an item on every line).
    #[must_use]
    pub fn with_default_item(mut self, item_id: impl Into<String>) -> Self {
        self.default_item = Some(item_id.into());
        self
    }

    /// The company's home currency (default MXN), used when a record read back names none.
    #[must_use]
    pub fn with_home_currency(mut self, currency: Currency) -> Self {
        self.home = currency;
        self
    }

    /// The HTTP client.
    pub fn client(&self) -> &AlegraClient {
        &self.client
    }

    /// The taxes configured in the company (`GET /taxes`), for building the mapping.
    ///
    /// # Errors
    /// Transport and auth errors.
    pub async fn taxes(&self) -> Result<Vec<crate::wire::AlegraTax>> {
        self.client.get_json(Call::get("/taxes", "tax", "")).await
    }

    // ------------------------------------------------------------ lookups

    /// Brings the reference index of `kind` up to date (reads the pages added since the last scan).
    async fn refresh(&self, kind: EntityKind, idx: &mut RefIndex) -> Result<()> {
        loop {
            let (rows, next, full) = scan_page(&self.client, kind, idx.pos).await?;
            for r in rows {
                if let Some(ext) = &r.external_ref {
                    idx.by_ref.insert(ext.clone(), r.id.clone());
                }
                if let Some(n) = &r.name {
                    idx.names.entry(n.to_lowercase()).or_insert(r.id.clone());
                }
            }
            idx.pos = next;
            if !full {
                return Ok(());
            }
        }
    }

    /// The Alegra id of the record of `kind` carrying `external_ref`, if there is one.
    pub async fn find_by_external_ref(
        &self,
        kind: EntityKind,
        external_ref: &str,
    ) -> Result<Option<String>> {
        let idx = self.indexes.of(kind);
        let mut g = idx.lock().await;
        self.refresh(kind, &mut g).await?;
        Ok(g.by_ref.get(external_ref).cloned())
    }

    async fn remember(&self, kind: EntityKind, external_ref: &str, id: &str, name: Option<&str>) {
        let idx = self.indexes.of(kind);
        let mut g = idx.lock().await;
        g.by_ref.insert(external_ref.to_owned(), id.to_owned());
        if let Some(n) = name {
            g.names.insert(n.to_lowercase(), id.to_owned());
        }
    }

    async fn forget(&self, kind: EntityKind, external_ref: &str) {
        let idx = self.indexes.of(kind);
        idx.lock().await.by_ref.remove(external_ref);
    }

    async fn read_raw(&self, kind: EntityKind, id: &str) -> Result<Value> {
        let path = format!("{}/{id}", path_of(kind)?);
        self.client
            .get_json(Call::get(path, kind.as_str(), id))
            .await
    }

    /// The record carrying `external_ref` (read back), or `None`.
    async fn existing(
        &self,
        kind: EntityKind,
        external_ref: &str,
    ) -> Result<Option<(String, Value)>> {
        let Some(id) = self.find_by_external_ref(kind, external_ref).await? else {
            return Ok(None);
        };
        match self.read_raw(kind, &id).await {
            Ok(raw) => Ok(Some((id, raw))),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.forget(kind, external_ref).await;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST`s a new record; after an uncertain outcome, looks the reference up before answering.
    async fn create(
        &self,
        kind: EntityKind,
        external_ref: &str,
        body: &Value,
    ) -> Result<(String, Value)> {
        let call = Call::write(Method::POST, path_of(kind)?, body, kind.as_str(), "")?;
        let sent: Result<Value> = match self.client.call(call).await {
            Ok(resp) => resp.json(),
            Err(e) => Err(e),
        };
        let outcome = sent.and_then(|raw| match raw.get("id") {
            Some(Value::Number(n)) => Ok((n.to_string(), raw.clone())),
            Some(Value::String(s)) => Ok((s.clone(), raw.clone())),
            _ => Err(Error::uncertain(format!(
                "Alegra answered the {kind} create without an id"
            ))),
        });
        match outcome {
            Ok((id, raw)) => {
                let name = raw.get("name").and_then(Value::as_str);
                self.remember(kind, external_ref, &id, name).await;
                Ok((id, raw))
            }
            Err(e) if e.kind() == ErrorKind::Uncertain => {
                tracing::info!(kind = %kind, external_ref, "uncertain Alegra create: looking the record up");
                match self.existing(kind, external_ref).await {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => Err(e),
                    Err(lookup) => {
                        tracing::warn!(error = %lookup, "lookup after an uncertain create failed");
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn party_id(&self, party: &PartyRef) -> Result<String> {
        if let Some(id) = &party.remote_id {
            return Ok(id.clone());
        }
        self.find_by_external_ref(EntityKind::Customer, &party.external_ref)
            .await?
            .ok_or_else(|| Error::not_found("customer", party.external_ref.clone()))
    }

    async fn invoice_id(&self, doc: &erp_hub_core::model::DocRef) -> Result<String> {
        if let Some(id) = &doc.remote_id {
            return Ok(id.clone());
        }
        self.find_by_external_ref(EntityKind::Invoice, &doc.external_ref)
            .await?
            .ok_or_else(|| Error::not_found("invoice", doc.external_ref.clone()))
    }

    async fn item_ids(&self, lines: &[InvoiceLine]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(lines.len());
        for (n, l) in lines.iter().enumerate() {
            let id = match &l.item {
                Some(ext) => self
                    .find_by_external_ref(EntityKind::Item, ext)
                    .await?
                    .ok_or_else(|| Error::not_found("item", ext.clone()))?,
                None => self.default_item.clone().ok_or_else(|| {
                    Error::config(format!(
                        "lines[{n}] names no item and no default Alegra item is set \
                         (AlegraAdapter::with_default_item): Alegra needs an item on every line"
                    ))
                })?,
            };
            out.push(id);
        }
        Ok(out)
    }

    fn remote(&self, id: &str, version: String, number: Option<String>) -> RemoteRef {
        let r = RemoteRef::new(PROVIDER, id).with_version(version);
        match number {
            Some(n) => r.with_number(n),
            None => r,
        }
    }

    fn record(&self, kind: EntityKind, raw: Value) -> Result<RemoteRecord> {
        match kind {
            EntityKind::Customer => {
                let c: Contact = decode(&raw, "contact")?;
                let id = c.id.clone().unwrap_or_default().0;
                let mut cust = mapping::customer_from(&c);
                let remote = self.remote(&id, mapping::contact_version(&c), None);
                cust.remote = Some(remote.clone());
                let mut rec = RemoteRecord::new(remote, Entity::Customer(cust));
                rec.voided = c.status.as_deref() == Some("inactive");
                rec.raw = raw;
                Ok(rec)
            }
            EntityKind::Item => {
                let a: AlegraItem = decode(&raw, "item")?;
                let id = a.id.clone().unwrap_or_default().0;
                let mut item = mapping::item_from(&a);
                let remote = self.remote(&id, mapping::item_version(&a), None);
                item.remote = Some(remote.clone());
                let mut rec = RemoteRecord::new(remote, Entity::Item(item));
                rec.voided = a.status.as_deref() == Some("inactive");
                rec.raw = raw;
                Ok(rec)
            }
            EntityKind::Invoice => {
                let a: AlegraInvoice = decode(&raw, "invoice")?;
                mapping::invoice_record(&a, raw, self.home)
            }
            EntityKind::Payment => {
                let a: AlegraPayment = decode(&raw, "payment")?;
                mapping::payment_record(&a, raw, self.home)
            }
            EntityKind::CreditNote => {
                let a: AlegraCreditNote = decode(&raw, "credit note")?;
                mapping::credit_note_record(&a, raw, self.home)
            }
            other => Err(Error::unsupported(format!("Alegra has no {other} records"))),
        }
    }

    /// Updates (or keeps) an existing record for an upsert.
    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        current: Value,
        desired: &Value,
        expected_version: Option<&str>,
    ) -> Result<RemoteRef> {
        if holds(desired, &current) {
            return Ok(self.record(kind, current)?.remote);
        }
        let now = self.record(kind, current)?.remote;
        if let Some(v) = expected_version
            && now.version.as_deref() != Some(v)
        {
            return Err(Error::conflict(format!(
                "Alegra {kind} {id} changed since version {v} (now {})",
                now.version.as_deref().unwrap_or("?")
            )));
        }
        let path = format!("{}/{id}", path_of(kind)?);
        let raw: Value = self
            .client
            .call(Call::write(Method::PUT, path, desired, kind.as_str(), id)?)
            .await?
            .json()?;
        Ok(self.record(kind, raw)?.remote)
    }

    fn body<T: Serialize>(body: &T, passthrough: &Value) -> Result<Value> {
        merge_passthrough(body, passthrough)
    }

    // ------------------------------------------------------------ stamping

    /// Stamps an invoice through Alegra (CFDI: consumes a folio, returns the UUID); exactly once.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown invoice; Alegra's refusal ([`Error::Validation`], e.g. a client
    /// without RFC or zip code); [`Error::Uncertain`] when the call's outcome is unknown and a re-read shows no
    /// stamp yet (call again: the next call re-reads first).
    pub async fn stamp_invoice(&self, remote_id: &str) -> Result<StampResult> {
        self.stamp(EntityKind::Invoice, remote_id).await
    }

    /// Stamps a credit note (CFDI de egreso) through Alegra; exactly once. Errors as
    /// [`stamp_invoice`](Self::stamp_invoice).
    ///
    /// # Errors
    /// As [`stamp_invoice`](Self::stamp_invoice).
    pub async fn stamp_credit_note(&self, remote_id: &str) -> Result<StampResult> {
        self.stamp(EntityKind::CreditNote, remote_id).await
    }

    /// Stamps a payment's complement (CFDI de pago, for `PPD` invoices) through Alegra; exactly once.
    ///
    /// # Errors
    /// As [`stamp_invoice`](Self::stamp_invoice).
    pub async fn stamp_payment(&self, remote_id: &str) -> Result<StampResult> {
        self.stamp(EntityKind::Payment, remote_id).await
    }

    /// The stamp a document already has, without stamping.
    ///
    /// # Errors
    /// [`Error::NotFound`]; transport errors.
    pub async fn stamp_of(&self, kind: EntityKind, remote_id: &str) -> Result<Option<StampResult>> {
        let raw = self.read_raw(kind, remote_id).await?;
        Ok(stamp_result(kind, remote_id, &raw, true))
    }

    async fn stamp(&self, kind: EntityKind, id: &str) -> Result<StampResult> {
        let lock = self.indexes.stamp_lock(format!("{kind}:{id}"));
        let _serial = lock.lock().await;
        if let Some(done) = self.stamp_of(kind, id).await? {
            return Ok(done);
        }
        let path = format!("{}/stamp", path_of(kind)?);
        let body = StampRequest {
            ids: vec![Id(id.to_owned())],
        };
        let sent = self
            .client
            .call(Call::write(Method::POST, path, &body, kind.as_str(), id)?)
            .await;
        match sent {
            Ok(_) => {
                // Read the document back: its stamp is the truth, whatever the stamp answer looked like.
                let raw = self.read_raw(kind, id).await?;
                stamp_result(kind, id, &raw, false).ok_or_else(|| {
                    Error::uncertain(format!(
                        "Alegra accepted the stamp call for {kind} {id} but the document shows no UUID yet"
                    ))
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::Uncertain | ErrorKind::Transient) => {
                tracing::info!(kind = %kind, id, error = %e, "stamp outcome unknown: re-reading the document");
                match self.read_raw(kind, id).await {
                    Ok(raw) => match stamp_result(kind, id, &raw, false) {
                        Some(done) => Ok(done),
                        None => Err(e),
                    },
                    Err(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

fn stamp_result(kind: EntityKind, id: &str, raw: &Value, already: bool) -> Option<StampResult> {
    let stamp: Stamp = serde_json::from_value(raw.get("stamp")?.clone()).ok()?;
    let uuid = stamp.uuid.filter(|u| !u.is_empty())?;
    let number = raw
        .get("numberTemplate")
        .and_then(|t| serde_json::from_value::<NumberTemplate>(t.clone()).ok())
        .and_then(|t| {
            t.full_number.or_else(|| {
                t.number
                    .map(|n| format!("{}{n}", t.prefix.unwrap_or_default()))
            })
        });
    Some(StampResult {
        kind,
        remote_id: id.to_owned(),
        uuid,
        stamped_at: stamp.date,
        legal_status: stamp.legal_status,
        number,
        already_stamped: already,
    })
}

#[async_trait::async_trait]
impl ErpAdapter for AlegraAdapter {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with(Capability::VoidInvoice)
            .with(Capability::CreditNotes)
            .with(Capability::PartialPayments)
            .with(Capability::ChangedSince)
            .with(Capability::Versions)
            .with(Capability::MultiCurrency)
            .with(Capability::Webhooks)
    }

    async fn test_connection(&self) -> Result<CompanyInfo> {
        let c = self.client.company().await?;
        let id =
            c.id.as_ref()
                .map(|i| i.0.clone())
                .or_else(|| c.identification.clone())
                .unwrap_or_else(|| self.client.config().email.clone());
        let mut info = CompanyInfo::new(id, c.name.clone());
        info.country = c.country().map(str::to_owned);
        info.home_currency = c.currency.as_ref().map(|x| x.code.clone());
        info.tax_id = c.identification.clone();
        Ok(info)
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        _key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let kind = EntityKind::Customer;
        let body = Self::body(&mapping::contact_of(customer)?, &customer.passthrough)?;
        let expected = customer.remote.as_ref().and_then(|r| r.version.as_deref());
        if let Some((id, current)) = self.existing(kind, &customer.external_ref).await? {
            return self.update(kind, &id, current, &body, expected).await;
        }
        // A name another contact has (checked against the scan, confirmed by a read).
        let taken = {
            let idx = self.indexes.of(kind);
            let g = idx.lock().await;
            g.names.get(&customer.name().to_lowercase()).cloned()
        };
        if let Some(other) = taken {
            match self.read_raw(kind, &other).await {
                Ok(raw)
                    if raw
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(customer.name())) =>
                {
                    return Err(Error::Duplicate {
                        message: format!(
                            "an Alegra contact is already named {:?}",
                            customer.name()
                        ),
                        existing_id: Some(other),
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let (_, raw) = self.create(kind, &customer.external_ref, &body).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn upsert_item(&self, item: &Item, _key: &IdempotencyKey) -> Result<RemoteRef> {
        let kind = EntityKind::Item;
        let body = Self::body(&mapping::item_of(item)?, &item.passthrough)?;
        let expected = item.remote.as_ref().and_then(|r| r.version.as_deref());
        if let Some((id, current)) = self.existing(kind, &item.external_ref).await? {
            return self.update(kind, &id, current, &body, expected).await;
        }
        let (_, raw) = self.create(kind, &item.external_ref, &body).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn create_invoice(&self, invoice: &Invoice, _key: &IdempotencyKey) -> Result<RemoteRef> {
        let kind = EntityKind::Invoice;
        if let Some((_, raw)) = self.existing(kind, &invoice.external_ref).await? {
            return Ok(self.record(kind, raw)?.remote);
        }
        let client = self.party_id(&invoice.customer).await?;
        let items = self.item_ids(&invoice.lines).await?;
        let lines = mapping::doc_items(&self.mapping, &invoice.lines, invoice.price_mode, &items)?;
        let body = Self::body(
            &mapping::invoice_of(invoice, &client, lines)?,
            &invoice.passthrough,
        )?;
        let (_, raw) = self.create(kind, &invoice.external_ref, &body).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn void_invoice(&self, invoice: &RemoteRef, _key: &IdempotencyKey) -> Result<RemoteRef> {
        let kind = EntityKind::Invoice;
        let current = self.read_raw(kind, &invoice.id).await?;
        if current.get("status").and_then(Value::as_str) == Some("void") {
            return Ok(self.record(kind, current)?.remote);
        }
        let path = format!("/invoices/{}/void", invoice.id);
        let sent = self
            .client
            .call(Call::write(
                Method::POST,
                path,
                &serde_json::json!({}),
                "invoice",
                &invoice.id,
            )?)
            .await;
        match sent {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Uncertain => {
                let now = self
                    .read_raw(kind, &invoice.id)
                    .await
                    .map_err(|_| e.replicate())?;
                if now.get("status").and_then(Value::as_str) != Some("void") {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        let raw = self.read_raw(kind, &invoice.id).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn record_payment(&self, payment: &Payment, _key: &IdempotencyKey) -> Result<RemoteRef> {
        let kind = EntityKind::Payment;
        if let Some((_, raw)) = self.existing(kind, &payment.external_ref).await? {
            return Ok(self.record(kind, raw)?.remote);
        }
        let client = self.party_id(&payment.customer).await?;
        let mut invoices = Vec::with_capacity(payment.applications.len());
        for a in &payment.applications {
            invoices.push(self.invoice_id(&a.invoice).await?);
        }
        let bank = payment
            .deposit_account
            .as_deref()
            .map(|a| self.mapping.account(a).to_owned())
            .or_else(|| self.mapping.payment_account.clone())
            .ok_or_else(|| {
                Error::config(
                    "no Alegra bank account for the payment: set Payment::deposit_account or \
                     AccountMapping::payment_account (an Alegra bank account id)",
                )
            })?;
        let body = Self::body(
            &mapping::payment_of(payment, &client, &bank, &invoices)?,
            &payment.passthrough,
        )?;
        let (_, raw) = self.create(kind, &payment.external_ref, &body).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        _key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let kind = EntityKind::CreditNote;
        if let Some((_, raw)) = self.existing(kind, &credit_note.external_ref).await? {
            return Ok(self.record(kind, raw)?.remote);
        }
        let client = self.party_id(&credit_note.customer).await?;
        let invoice = self.invoice_id(&credit_note.invoice).await?;
        let amount = credit_note.breakdown()?.total.amount();
        let items = self.item_ids(&credit_note.lines).await?;
        let lines = mapping::doc_items(
            &self.mapping,
            &credit_note.lines,
            credit_note.price_mode,
            &items,
        )?;
        let body = Self::body(
            &mapping::credit_note_of(credit_note, &client, &invoice, amount, lines)?,
            &credit_note.passthrough,
        )?;
        let (_, raw) = self.create(kind, &credit_note.external_ref, &body).await?;
        Ok(self.record(kind, raw)?.remote)
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        let raw = self.read_raw(kind, remote_id).await?;
        self.record(kind, raw)
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        changes::list_changed_since(&self.client, kinds, cursor).await
    }

    fn limits(&self) -> ConnectionLimits {
        let l = self.client.config().limits;
        ConnectionLimits::unlimited()
            .with_requests_per_minute(l.per_minute)
            .with_max_concurrent(l.in_flight)
    }

    async fn write_batch(&self, writes: &[BatchWrite]) -> Vec<Result<RemoteRef>> {
        crate::batch::write_batch(self, writes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_compares_numbers_by_value_and_ignores_extra_fields() {
        let desired = serde_json::json!({"name": "A", "price": [{"price": 10}], "x": null});
        let current = serde_json::json!({"id": 1, "name": "A", "price": [{"price": "10.00"}]});
        assert!(holds(&desired, &current));
        let changed = serde_json::json!({"id": 1, "name": "B", "price": [{"price": "10.00"}]});
        assert!(!holds(&desired, &changed));
    }
}
