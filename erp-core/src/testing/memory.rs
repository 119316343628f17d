use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rust_decimal::Decimal;

use crate::adapter::{
    Capabilities, Capability, Change, ChangeCursor, ChangePage, CompanyInfo, Entity, ErpAdapter,
    IdempotencyKey, RemoteRecord,
};
use crate::fiscal::FiscalStamp;
use crate::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, Item, PartyRef, Payment, RemoteRef,
};
use crate::{Error, Result};

const PROVIDER: &str = "memory";

/// A fault to inject into the next call of a [`MemoryErp`].
#[derive(Clone)]
#[non_exhaustive]
pub enum Fault {
    /// Fail the call with this error, before anything is applied.
    Error(Arc<dyn Fn() -> Error + Send + Sync>),
    /// Apply the write, then report [`Error::Uncertain`] as if the response had been lost (a timeout after
    /// the provider committed). Reads are not affected by this fault.
    ApplyThenTimeout,
}

impl Fault {
    /// A fault that fails with the error `make` builds.
    pub fn error(make: impl Fn() -> Error + Send + Sync + 'static) -> Self {
        Self::Error(Arc::new(make))
    }
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Error(make) => write!(f, "Fault::Error({})", make()),
            Self::ApplyThenTimeout => f.write_str("Fault::ApplyThenTimeout"),
        }
    }
}

#[derive(Debug, Clone)]
struct Stored<T> {
    entity: T,
    external_ref: String,
    version: u64,
    balance: Option<Decimal>,
    voided: bool,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    seq: u64,
    customers: BTreeMap<String, Stored<Customer>>,
    items: BTreeMap<String, Stored<Item>>,
    invoices: BTreeMap<String, Stored<Invoice>>,
    payments: BTreeMap<String, Stored<Payment>>,
    credit_notes: BTreeMap<String, Stored<CreditNote>>,
    by_external: HashMap<(EntityKind, String), String>,
    idempotency: HashMap<String, (String, RemoteRef)>,
    changes: Vec<(u64, Change)>,
    /// Fiscal stamps attached with `attach_fiscal_stamp`, by (kind, remote id).
    stamps: BTreeMap<(EntityKind, String), FiscalStamp>,
}

/// An in-memory accounting provider with the semantics real adapters must have.
///
/// - Idempotency keys: the same key and input return the first result; the same key with another input is a
///   validation error.
/// - Versions: every update bumps the record's version; an update carrying a stale `remote.version` fails
///   with [`ErrorKind::Conflict`](crate::ErrorKind::Conflict).
/// - Duplicates: customer names (case-insensitive), item codes and invoice numbers are unique; a second
///   record fails with [`Error::Duplicate`] naming the existing id.
/// - Balances: payments and credit notes reduce invoice balances; over-application is rejected.
/// - Change feed: every write appends to a feed read with `list_changed_since`.
/// - Faults: [`MemoryErp::inject`] queues faults for the next calls.
///
/// ```
/// # tokio_test_block(async {
/// use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
/// use erp_hub_core::model::Customer;
/// use erp_hub_core::testing::MemoryErp;
///
/// let erp = MemoryErp::new();
/// let key = IdempotencyKey::new("cust-1-upsert")?;
/// let a = erp.upsert_customer(&Customer::new("cust-1", "Acme SA de CV"), &key).await?;
/// let b = erp.upsert_customer(&Customer::new("cust-1", "Acme SA de CV"), &key).await?;
/// assert_eq!(a, b); // replayed, not created twice
/// # Ok::<(), erp_hub_core::Error>(()) });
/// # fn tokio_test_block<F: std::future::Future<Output = Result<(), erp_hub_core::Error>>>(f: F) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap()
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryErp {
    state: Mutex<State>,
    faults: Mutex<VecDeque<Fault>>,
    company: CompanyInfo,
    page_size: usize,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    /// Writes to let through before one is rejected ([`FaultHook::reject_write_after`]).
    ///
    /// [`FaultHook::reject_write_after`]: super::conformance::FaultHook::reject_write_after
    reject_after: Mutex<Option<usize>>,
}

impl Default for MemoryErp {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still consistent because
    // every mutation below completes before the guard drops.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryErp {
    /// An empty company named "Memory Company" with MXN home currency.
    pub fn new() -> Self {
        let mut company = CompanyInfo::new("memory-1", "Memory Company");
        company.country = Some("MX".into());
        company.home_currency = Some("MXN".into());
        Self::with_company(company)
    }

    /// An empty company with the given info.
    pub fn with_company(company: CompanyInfo) -> Self {
        Self {
            state: Mutex::new(State::default()),
            faults: Mutex::new(VecDeque::new()),
            company,
            page_size: 100,
            calls: Mutex::new(BTreeMap::new()),
            reject_after: Mutex::new(None),
        }
    }

    /// The same adapter returning at most `n` changes per page (min 1).
    #[must_use]
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Queues `fault` for each of the next `n` calls.
    pub fn inject(&self, n: usize, fault: Fault) {
        let mut q = lock(&self.faults);
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// Fails the next `n` calls with the error `make` builds.
    pub fn fail_next(&self, n: usize, make: impl Fn() -> Error + Send + Sync + 'static) {
        self.inject(n, Fault::error(make));
    }

    /// How many times `operation` (e.g. `create_invoice`) was called, faults included.
    pub fn calls(&self, operation: &str) -> usize {
        lock(&self.calls).get(operation).copied().unwrap_or(0)
    }

    /// Number of stored records of `kind`.
    pub fn count(&self, kind: EntityKind) -> usize {
        let s = lock(&self.state);
        match kind {
            EntityKind::Customer => s.customers.len(),
            EntityKind::Item => s.items.len(),
            EntityKind::Invoice => s.invoices.len(),
            EntityKind::Payment => s.payments.len(),
            EntityKind::CreditNote => s.credit_notes.len(),
        }
    }

    /// The fiscal stamp attached to the record `remote_id` of `kind`
    /// ([`attach_fiscal_stamp`](ErpAdapter::attach_fiscal_stamp)), if any.
    pub fn fiscal_stamp(&self, kind: EntityKind, remote_id: &str) -> Option<FiscalStamp> {
        lock(&self.state)
            .stamps
            .get(&(kind, remote_id.to_owned()))
            .cloned()
    }

    /// Every attached fiscal stamp: `(kind, remote id, stamp)`, ordered by kind and id.
    pub fn fiscal_stamps(&self) -> Vec<(EntityKind, String, FiscalStamp)> {
        lock(&self.state)
            .stamps
            .iter()
            .map(|((k, id), s)| (*k, id.clone(), s.clone()))
            .collect()
    }

    fn enter(&self, op: &'static str) -> Option<Fault> {
        *lock(&self.calls).entry(op).or_insert(0) += 1;
        lock(&self.faults).pop_front()
    }

    /// Runs a write: faults, idempotency replay, then `apply`.
    fn write<T: serde::Serialize>(
        &self,
        op: &'static str,
        input: &T,
        key: &IdempotencyKey,
        apply: impl FnOnce(&mut State) -> Result<RemoteRef>,
    ) -> Result<RemoteRef> {
        let fault = self.enter(op);
        if let Some(Fault::Error(make)) = &fault {
            return Err(make());
        }
        {
            let mut armed = lock(&self.reject_after);
            match *armed {
                Some(0) => {
                    *armed = None;
                    return Err(Error::invalid(
                        op,
                        "rejected by an injected business-rule fault",
                    ));
                }
                Some(n) => *armed = Some(n - 1),
                None => {}
            }
        }
        let fingerprint = format!(
            "{op}:{}",
            serde_json::to_string(input).map_err(|e| Error::invalid("input", e.to_string()))?
        );
        let mut state = lock(&self.state);
        if let Some((seen, result)) = state.idempotency.get(key.as_str()) {
            if *seen == fingerprint {
                return Ok(result.clone());
            }
            return Err(Error::invalid(
                "idempotency_key",
                format!("key `{key}` was already used for a different request"),
            ));
        }
        let result = apply(&mut state)?;
        state
            .idempotency
            .insert(key.as_str().to_owned(), (fingerprint, result.clone()));
        drop(state);
        if matches!(fault, Some(Fault::ApplyThenTimeout)) {
            return Err(Error::uncertain(format!(
                "{op}: response lost after the write was applied"
            )));
        }
        Ok(result)
    }

    fn read(&self, op: &'static str) -> Result<()> {
        match self.enter(op) {
            Some(Fault::Error(make)) => Err(make()),
            _ => Ok(()),
        }
    }
}

impl State {
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    fn record(&mut self, kind: EntityKind, remote: &RemoteRef, external_ref: &str, deleted: bool) {
        self.seq += 1;
        let mut change = Change::new(kind, remote.clone());
        change.external_ref = Some(external_ref.to_owned());
        change.deleted = deleted;
        self.changes.push((self.seq, change));
    }

    fn lookup(&self, kind: EntityKind, external_ref: &str) -> Option<String> {
        self.by_external
            .get(&(kind, external_ref.to_owned()))
            .cloned()
    }

    fn resolve_customer(&self, party: &PartyRef) -> Result<String> {
        let id = match &party.remote_id {
            Some(id) => id.clone(),
            None => self
                .lookup(EntityKind::Customer, &party.external_ref)
                .ok_or_else(|| Error::not_found("customer", party.external_ref.clone()))?,
        };
        if self.customers.contains_key(&id) {
            Ok(id)
        } else {
            Err(Error::not_found("customer", id))
        }
    }

    fn resolve_invoice(&self, doc: &DocRef) -> Result<String> {
        let id = match &doc.remote_id {
            Some(id) => id.clone(),
            None => self
                .lookup(EntityKind::Invoice, &doc.external_ref)
                .ok_or_else(|| Error::not_found("invoice", doc.external_ref.clone()))?,
        };
        if self.invoices.contains_key(&id) {
            Ok(id)
        } else {
            Err(Error::not_found("invoice", id))
        }
    }
}

fn remote(id: &str, version: u64) -> RemoteRef {
    RemoteRef::new(PROVIDER, id).with_version(version.to_string())
}

fn check_version(input: Option<&RemoteRef>, current: u64) -> Result<()> {
    if let Some(v) = input.and_then(|r| r.version.as_deref())
        && v != current.to_string()
    {
        return Err(Error::conflict(format!(
            "stale version {v}, current is {current}"
        )));
    }
    Ok(())
}

fn positive(field: &str, amount: Decimal) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Err(Error::invalid(field, "must be greater than zero"));
    }
    Ok(())
}

#[async_trait::async_trait]
impl ErpAdapter for MemoryErp {
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
        self.read("test_connection")?;
        Ok(self.company.clone())
    }

    async fn upsert_customer(
        &self,
        customer: &Customer,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.write("upsert_customer", customer, key, |s| {
            if customer.legal_name.trim().is_empty() {
                return Err(Error::invalid("legal_name", "must not be empty"));
            }
            let name = customer.name().to_lowercase();
            let existing = s.lookup(EntityKind::Customer, &customer.external_ref);
            if let Some((id, _)) = s.customers.iter().find(|(id, c)| {
                c.entity.name().to_lowercase() == name && Some(*id) != existing.as_ref()
            }) {
                return Err(Error::Duplicate {
                    message: format!("another customer is named `{}`", customer.name()),
                    existing_id: Some(id.clone()),
                });
            }
            let (id, version) = match existing {
                Some(id) => {
                    let stored = s
                        .customers
                        .get_mut(&id)
                        .ok_or_else(|| Error::not_found("customer", id.clone()))?;
                    check_version(customer.remote.as_ref(), stored.version)?;
                    stored.version += 1;
                    stored.entity = customer.clone();
                    (id, stored.version)
                }
                None => {
                    let id = s.new_id("C");
                    s.customers.insert(
                        id.clone(),
                        Stored {
                            entity: customer.clone(),
                            external_ref: customer.external_ref.clone(),
                            version: 0,
                            balance: None,
                            voided: false,
                        },
                    );
                    s.by_external.insert(
                        (EntityKind::Customer, customer.external_ref.clone()),
                        id.clone(),
                    );
                    (id, 0)
                }
            };
            let r = remote(&id, version);
            s.record(EntityKind::Customer, &r, &customer.external_ref, false);
            Ok(r)
        })
    }

    async fn upsert_item(&self, item: &Item, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.write("upsert_item", item, key, |s| {
            if item.code.trim().is_empty() || item.name.trim().is_empty() {
                return Err(Error::invalid(
                    "code",
                    "item code and name must not be empty",
                ));
            }
            let existing = s.lookup(EntityKind::Item, &item.external_ref);
            if let Some((id, _)) = s.items.iter().find(|(id, i)| {
                (i.entity.code == item.code || i.entity.name.eq_ignore_ascii_case(&item.name))
                    && Some(*id) != existing.as_ref()
            }) {
                return Err(Error::Duplicate {
                    message: format!(
                        "another item has code `{}` or name `{}`",
                        item.code, item.name
                    ),
                    existing_id: Some(id.clone()),
                });
            }
            let (id, version) = match existing {
                Some(id) => {
                    let stored = s
                        .items
                        .get_mut(&id)
                        .ok_or_else(|| Error::not_found("item", id.clone()))?;
                    check_version(item.remote.as_ref(), stored.version)?;
                    stored.version += 1;
                    stored.entity = item.clone();
                    (id, stored.version)
                }
                None => {
                    let id = s.new_id("I");
                    s.items.insert(
                        id.clone(),
                        Stored {
                            entity: item.clone(),
                            external_ref: item.external_ref.clone(),
                            version: 0,
                            balance: None,
                            voided: false,
                        },
                    );
                    s.by_external
                        .insert((EntityKind::Item, item.external_ref.clone()), id.clone());
                    (id, 0)
                }
            };
            let r = remote(&id, version);
            s.record(EntityKind::Item, &r, &item.external_ref, false);
            Ok(r)
        })
    }

    async fn create_invoice(&self, invoice: &Invoice, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.write("create_invoice", invoice, key, |s| {
            if let Some(id) = s.lookup(EntityKind::Invoice, &invoice.external_ref) {
                return Err(Error::Duplicate {
                    message: format!("invoice `{}` already exists", invoice.external_ref),
                    existing_id: Some(id),
                });
            }
            if let Some(number) = &invoice.number
                && let Some((id, _)) = s.invoices.iter().find(|(_, i)| {
                    i.entity.number.as_ref() == Some(number) && i.entity.series == invoice.series
                })
            {
                return Err(Error::Duplicate {
                    message: format!("invoice number `{number}` is already used"),
                    existing_id: Some(id.clone()),
                });
            }
            let customer_id = s.resolve_customer(&invoice.customer)?;
            if let Some(cur) = s
                .customers
                .get(&customer_id)
                .and_then(|c| c.entity.currency)
                && cur != invoice.currency
            {
                return Err(Error::invalid(
                    "currency",
                    format!("customer is invoiced in {cur}, not {}", invoice.currency),
                ));
            }
            let totals = invoice.breakdown()?;
            let id = s.new_id("INV");
            let number = invoice.number.clone().unwrap_or_else(|| id.clone());
            let mut entity = invoice.clone();
            entity.customer =
                PartyRef::resolved(invoice.customer.external_ref.clone(), customer_id);
            s.invoices.insert(
                id.clone(),
                Stored {
                    entity,
                    external_ref: invoice.external_ref.clone(),
                    version: 0,
                    balance: Some(totals.total.amount()),
                    voided: false,
                },
            );
            s.by_external.insert(
                (EntityKind::Invoice, invoice.external_ref.clone()),
                id.clone(),
            );
            let r = remote(&id, 0).with_number(number);
            s.record(EntityKind::Invoice, &r, &invoice.external_ref, false);
            Ok(r)
        })
    }

    async fn void_invoice(&self, invoice: &RemoteRef, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.write("void_invoice", invoice, key, |s| {
            let stored = s
                .invoices
                .get_mut(&invoice.id)
                .ok_or_else(|| Error::not_found("invoice", invoice.id.clone()))?;
            check_version(Some(invoice), stored.version)?;
            if stored.voided {
                return Err(Error::invalid("status", "invoice is already voided"));
            }
            let total = stored.entity.breakdown()?.total.amount();
            if stored.balance != Some(total) {
                return Err(Error::invalid(
                    "status",
                    "invoice has payments or credits applied; remove them before voiding",
                ));
            }
            stored.voided = true;
            stored.balance = Some(Decimal::ZERO);
            stored.version += 1;
            let r = remote(&invoice.id, stored.version);
            let ext = stored.external_ref.clone();
            s.record(EntityKind::Invoice, &r, &ext, true);
            Ok(r)
        })
    }

    async fn record_payment(&self, payment: &Payment, key: &IdempotencyKey) -> Result<RemoteRef> {
        self.write("record_payment", payment, key, |s| {
            if let Some(id) = s.lookup(EntityKind::Payment, &payment.external_ref) {
                return Err(Error::Duplicate {
                    message: format!("payment `{}` already exists", payment.external_ref),
                    existing_id: Some(id),
                });
            }
            positive("amount", payment.amount)?;
            if payment.applications.is_empty() {
                return Err(Error::invalid(
                    "applications",
                    "a payment must be applied to at least one invoice",
                ));
            }
            let customer_id = s.resolve_customer(&payment.customer)?;
            let mut applied = Decimal::ZERO;
            let mut plan = Vec::with_capacity(payment.applications.len());
            for (i, app) in payment.applications.iter().enumerate() {
                positive(&format!("applications[{i}].amount"), app.amount)?;
                let id = s.resolve_invoice(&app.invoice)?;
                let inv = s
                    .invoices
                    .get(&id)
                    .ok_or_else(|| Error::not_found("invoice", id.clone()))?;
                if inv.voided {
                    return Err(Error::invalid(
                        format!("applications[{i}]"),
                        "invoice is voided",
                    ));
                }
                // What the application takes off the invoice's balance, in the invoice's currency.
                let settles = if inv.entity.currency == payment.currency {
                    app.amount
                } else {
                    let Some(settled) = app.invoice_amount else {
                        return Err(Error::invalid(
                            format!("applications[{i}]"),
                            "payment and invoice currencies differ and no invoice_amount says what it settles",
                        ));
                    };
                    positive(&format!("applications[{i}].invoice_amount"), settled)?;
                    settled
                };
                if inv.entity.customer.remote_id.as_deref() != Some(customer_id.as_str()) {
                    return Err(Error::invalid(
                        format!("applications[{i}]"),
                        "invoice belongs to another customer",
                    ));
                }
                let already: Decimal = plan.iter().filter(|(p, _)| *p == id).map(|(_, a)| *a).sum();
                let balance = inv.balance.unwrap_or_default() - already;
                if settles > balance {
                    return Err(Error::invalid(
                        format!("applications[{i}].amount"),
                        format!("{settles} exceeds the open balance {balance}"),
                    ));
                }
                applied = applied
                    .checked_add(app.amount)
                    .ok_or(Error::Money(crate::money::MoneyError::Overflow))?;
                plan.push((id, settles));
            }
            if applied > payment.amount {
                return Err(Error::invalid(
                    "amount",
                    format!(
                        "applications sum {applied} exceeds the payment {}",
                        payment.amount
                    ),
                ));
            }
            for (id, amount) in &plan {
                if let Some(inv) = s.invoices.get_mut(id) {
                    inv.balance = Some(inv.balance.unwrap_or_default() - *amount);
                    inv.version += 1;
                    let r = remote(id, inv.version);
                    let ext = inv.external_ref.clone();
                    s.record(EntityKind::Invoice, &r, &ext, false);
                }
            }
            let id = s.new_id("PMT");
            let mut entity = payment.clone();
            entity.customer =
                PartyRef::resolved(payment.customer.external_ref.clone(), customer_id);
            s.payments.insert(
                id.clone(),
                Stored {
                    entity,
                    external_ref: payment.external_ref.clone(),
                    version: 0,
                    balance: Some(payment.amount - applied),
                    voided: false,
                },
            );
            s.by_external.insert(
                (EntityKind::Payment, payment.external_ref.clone()),
                id.clone(),
            );
            let r = remote(&id, 0);
            s.record(EntityKind::Payment, &r, &payment.external_ref, false);
            Ok(r)
        })
    }

    async fn create_credit_note(
        &self,
        credit_note: &CreditNote,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        self.write("create_credit_note", credit_note, key, |s| {
            if let Some(id) = s.lookup(EntityKind::CreditNote, &credit_note.external_ref) {
                return Err(Error::Duplicate {
                    message: format!("credit note `{}` already exists", credit_note.external_ref),
                    existing_id: Some(id),
                });
            }
            let customer_id = s.resolve_customer(&credit_note.customer)?;
            let invoice_id = s.resolve_invoice(&credit_note.invoice)?;
            let total = credit_note.breakdown()?.total.amount();
            let inv = s
                .invoices
                .get_mut(&invoice_id)
                .ok_or_else(|| Error::not_found("invoice", invoice_id.clone()))?;
            if inv.voided {
                return Err(Error::invalid("invoice", "invoice is voided"));
            }
            if inv.entity.currency != credit_note.currency {
                return Err(Error::invalid(
                    "currency",
                    "credit note and invoice currencies differ",
                ));
            }
            let balance = inv.balance.unwrap_or_default();
            if total > balance {
                return Err(Error::invalid(
                    "lines",
                    format!("credit {total} exceeds the invoice's open balance {balance}"),
                ));
            }
            inv.balance = Some(balance - total);
            inv.version += 1;
            let inv_ref = remote(&invoice_id, inv.version);
            let inv_ext = inv.external_ref.clone();
            s.record(EntityKind::Invoice, &inv_ref, &inv_ext, false);
            let id = s.new_id("CN");
            let mut entity = credit_note.clone();
            entity.customer =
                PartyRef::resolved(credit_note.customer.external_ref.clone(), customer_id);
            entity.invoice = DocRef::resolved(credit_note.invoice.external_ref.clone(), invoice_id);
            s.credit_notes.insert(
                id.clone(),
                Stored {
                    entity,
                    external_ref: credit_note.external_ref.clone(),
                    version: 0,
                    balance: Some(Decimal::ZERO),
                    voided: false,
                },
            );
            s.by_external.insert(
                (EntityKind::CreditNote, credit_note.external_ref.clone()),
                id.clone(),
            );
            let r = remote(&id, 0);
            s.record(EntityKind::CreditNote, &r, &credit_note.external_ref, false);
            Ok(r)
        })
    }

    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &FiscalStamp,
        key: &IdempotencyKey,
    ) -> Result<RemoteRef> {
        let input = (kind, &record.id, stamp);
        self.write("attach_fiscal_stamp", &input, key, |s| {
            let exists = match kind {
                EntityKind::Invoice => s.invoices.contains_key(&record.id),
                EntityKind::Payment => s.payments.contains_key(&record.id),
                EntityKind::CreditNote => s.credit_notes.contains_key(&record.id),
                _ => {
                    return Err(Error::unsupported(format!(
                        "attach_fiscal_stamp to a {kind}"
                    )));
                }
            };
            if !exists {
                return Err(Error::not_found(kind.as_str(), record.id.clone()));
            }
            let slot = (kind, record.id.clone());
            if let Some(existing) = s.stamps.get(&slot) {
                if existing.uuid != stamp.uuid {
                    return Err(Error::conflict(format!(
                        "{kind} {} already carries UUID {}; not attaching {}",
                        record.id, existing.uuid, stamp.uuid
                    )));
                }
            } else {
                s.stamps.insert(slot, stamp.clone());
            }
            Ok(record.clone())
        })
    }

    async fn get(&self, kind: EntityKind, remote_id: &str) -> Result<RemoteRecord> {
        self.read("get")?;
        let s = lock(&self.state);
        fn rec<T: Clone>(
            map: &BTreeMap<String, Stored<T>>,
            kind: EntityKind,
            id: &str,
            wrap: fn(T) -> Entity,
        ) -> Result<RemoteRecord> {
            let stored = map
                .get(id)
                .ok_or_else(|| Error::not_found(kind.as_str(), id))?;
            let mut r = RemoteRecord::new(remote(id, stored.version), wrap(stored.entity.clone()));
            r.balance = stored.balance;
            r.voided = stored.voided;
            Ok(r)
        }
        match kind {
            EntityKind::Customer => rec(&s.customers, kind, remote_id, Entity::Customer),
            EntityKind::Item => rec(&s.items, kind, remote_id, Entity::Item),
            EntityKind::Invoice => rec(&s.invoices, kind, remote_id, Entity::Invoice),
            EntityKind::Payment => rec(&s.payments, kind, remote_id, Entity::Payment),
            EntityKind::CreditNote => rec(&s.credit_notes, kind, remote_id, Entity::CreditNote),
        }
    }

    async fn list_changed_since(
        &self,
        kinds: &[EntityKind],
        cursor: Option<&ChangeCursor>,
    ) -> Result<ChangePage> {
        self.read("list_changed_since")?;
        let after: u64 = match cursor {
            None => 0,
            Some(c) => c
                .0
                .parse()
                .map_err(|_| Error::invalid("cursor", format!("not a memory cursor: `{}`", c.0)))?,
        };
        let s = lock(&self.state);
        let mut changes = Vec::new();
        let mut last = after;
        let mut has_more = false;
        for (seq, change) in s
            .changes
            .iter()
            .filter(|(seq, c)| *seq > after && kinds.contains(&c.kind))
        {
            if changes.len() == self.page_size {
                has_more = true;
                break;
            }
            changes.push(change.clone());
            last = *seq;
        }
        Ok(ChangePage::new(
            changes,
            ChangeCursor(last.to_string()),
            has_more,
        ))
    }
}

#[async_trait::async_trait]
impl super::conformance::FaultHook for MemoryErp {
    async fn rate_limit_next(&self, n: usize) {
        self.fail_next(n, || Error::RateLimited {
            retry_after: Some(std::time::Duration::from_millis(1)),
        });
    }

    async fn expire_token(&self) {
        // No tokens in memory: nothing to expire.
    }

    async fn reject_write_after(&self, skip: usize) -> bool {
        *lock(&self.reject_after) = Some(skip);
        true
    }

    async fn clear_faults(&self) {
        *lock(&self.reject_after) = None;
        lock(&self.faults).clear();
    }
}
