//! One behavioural suite every [`ErpAdapter`] must pass, in the style of rustls' provider tests.
//!
//! Each scenario talks to the adapter only through the trait. Run [`run_all`] against
//! [`MemoryErp`](super::MemoryErp) and against each adapter pointed at a local mock server that speaks the
//! provider's real API shapes. Scenarios use external references starting with the given prefix, so several
//! runs can share one company.
//!
//! Fault scenarios (rate-limit storms, token expiry) need a way to provoke the fault: pass a [`FaultHook`].

use std::time::Duration;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::adapter::{Entity, ErpAdapter, IdempotencyKey};
use crate::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, RemoteRef,
};
use crate::money::Currency;
use crate::tax::{Tax, TaxRate};
use crate::{Error, ErrorKind};

/// Provokes faults in the system under test (the in-memory ERP or a mock server).
#[async_trait::async_trait]
pub trait FaultHook: Send + Sync {
    /// Makes the next `n` requests answer "rate limited" (HTTP 429 / provider throttling).
    async fn rate_limit_next(&self, n: usize);
    /// Expires the current access token so the next request must refresh it (no-op without tokens).
    async fn expire_token(&self);
    /// Lets the next `skip` writes through and rejects the one after them with a business-rule error (HTTP 400,
    /// not remembered under its idempotency key), as a provider does when the second step of a two-step write
    /// is refused: the credit memo is created, applying it to the invoice fails.
    ///
    /// Returns whether the system under test can provoke this; the default cannot and returns `false`.
    async fn reject_write_after(&self, skip: usize) -> bool {
        let _ = skip;
        false
    }
    /// Disarms every fault still pending (so a scenario leaves none behind for the next one).
    async fn clear_faults(&self) {}
}

/// Why a scenario failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The adapter returned an error where the scenario expected success.
    #[error("{step}: unexpected error: {source}")]
    Unexpected {
        /// The step.
        step: &'static str,
        /// The error.
        #[source]
        source: Error,
    },
    /// A property the contract requires did not hold.
    #[error("{step}: {message}")]
    Violated {
        /// The step.
        step: &'static str,
        /// What was expected and what happened.
        message: String,
    },
}

/// Result of one scenario.
pub type Outcome = Result<(), Failure>;

pub(super) trait Step<T> {
    fn step(self, step: &'static str) -> Result<T, Failure>;
}

impl<T> Step<T> for crate::Result<T> {
    fn step(self, step: &'static str) -> Result<T, Failure> {
        self.map_err(|source| Failure::Unexpected { step, source })
    }
}

pub(super) fn ensure(cond: bool, step: &'static str, message: impl FnOnce() -> String) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(Failure::Violated {
            step,
            message: message(),
        })
    }
}

/// Settings shared by the scenarios.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Context {
    /// Prefix of every external reference and name the suite creates.
    pub prefix: String,
    /// Currency of the documents.
    pub currency: Currency,
    /// Issue date of the documents.
    pub date: NaiveDate,
    /// How many times a retriable error is retried (with the same idempotency key).
    pub max_retries: usize,
}

impl Context {
    /// Documents in MXN dated 2026-01-15, three retries.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            currency: Currency::MXN,
            date: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default(),
            max_retries: 3,
        }
    }

    fn r(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    fn key(&self, what: &str) -> Result<IdempotencyKey, Failure> {
        IdempotencyKey::new(self.r(what)).step("idempotency key")
    }
}

/// Retries `op` while it fails with a retriable error, with the same key each time.
async fn retrying<T, F, Fut>(ctx: &Context, mut op: F) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if e.is_retriable() && tries < ctx.max_retries => {
                tries += 1;
                let wait = e
                    .retry_after()
                    .unwrap_or(Duration::from_millis(1))
                    .min(Duration::from_millis(50));
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

fn iva16() -> Tax {
    Tax::transferred("IVA", TaxRate::Percent(Decimal::from(16)))
}

fn customer(ctx: &Context, what: &str, name: &str) -> Customer {
    let mut c = Customer::new(ctx.r(what), format!("{} {name}", ctx.prefix));
    c.email = Some("ap@example.com".into());
    c
}

async fn new_customer(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    what: &str,
) -> Result<RemoteRef, Failure> {
    let c = customer(ctx, what, what);
    let key = ctx.key(&format!("{what}-upsert"))?;
    retrying(ctx, || erp.upsert_customer(&c, &key))
        .await
        .step("create customer")
}

async fn new_invoice(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    what: &str,
    customer: (&str, &RemoteRef),
    lines: Vec<InvoiceLine>,
) -> Result<(Invoice, RemoteRef), Failure> {
    let mut inv = Invoice::new(
        ctx.r(what),
        PartyRef::resolved(ctx.r(customer.0), customer.1.id.clone()),
        ctx.date,
        ctx.currency,
    );
    inv.lines = lines;
    let key = ctx.key(&format!("{what}-create"))?;
    let r = retrying(ctx, || erp.create_invoice(&inv, &key))
        .await
        .step("create invoice")?;
    Ok((inv, r))
}

async fn balance(erp: &dyn ErpAdapter, id: &str) -> Result<Option<Decimal>, Failure> {
    Ok(erp
        .get(EntityKind::Invoice, id)
        .await
        .step("read invoice")?
        .balance)
}

/// Creating a customer twice with the same key yields one record and the same reference.
pub async fn customer_same_key_once(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let c = customer(ctx, "once", "Once");
    let key = ctx.key("once-upsert")?;
    let a = retrying(ctx, || erp.upsert_customer(&c, &key))
        .await
        .step("first upsert")?;
    let b = retrying(ctx, || erp.upsert_customer(&c, &key))
        .await
        .step("replayed upsert")?;
    ensure(a.id == b.id, "replay", || {
        format!("replay created another record: {a} then {b}")
    })?;
    let rec = erp
        .get(EntityKind::Customer, &a.id)
        .await
        .step("read back")?;
    match rec.entity {
        Entity::Customer(got) => ensure(got.legal_name == c.legal_name, "read back", || {
            format!("legal name {:?} != {:?}", got.legal_name, c.legal_name)
        }),
        other => Err(Failure::Violated {
            step: "read back",
            message: format!("got a {}", other.kind()),
        }),
    }
}

/// An invoice mixing IVA 16 %, an ISR 10 % withholding, an exempt line and IEPS with IVA over IEPS has the
/// balance our tax math computes.
pub async fn invoice_mixed_taxes(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let cust = new_customer(erp, ctx, "mixed-cust").await?;
    let lines = vec![
        InvoiceLine::new("Consulting", Decimal::from(10), Decimal::new(1250, 0))
            .with_tax(iva16())
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(Decimal::from(10)))),
        InvoiceLine::new("Textbook", Decimal::from(2), Decimal::new(39990, 2))
            .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        InvoiceLine::new("Soft drink", Decimal::from(24), Decimal::new(1850, 2))
            .with_tax(Tax::transferred("IEPS", TaxRate::Percent(Decimal::from(8))))
            .with_tax(iva16().with_base_including("IEPS")),
    ];
    let (inv, r) = new_invoice(erp, ctx, "mixed", ("mixed-cust", &cust), lines).await?;
    let expected = inv.breakdown().step("local breakdown")?.total.amount();
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b == expected, "balance", || {
            format!("remote balance {b} != computed total {expected}")
        })?;
    }
    Ok(())
}

/// Two partial payments settle an invoice exactly; paying more than the balance is rejected.
pub async fn partial_payment(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let cust = new_customer(erp, ctx, "pp-cust").await?;
    let (inv, r) = new_invoice(
        erp,
        ctx,
        "pp-inv",
        ("pp-cust", &cust),
        vec![InvoiceLine::new("Service", Decimal::ONE, Decimal::from(1000)).with_tax(iva16())],
    )
    .await?;
    let total = inv.breakdown().step("local breakdown")?.total.amount();
    let first = Decimal::from(400);
    let party = PartyRef::resolved(ctx.r("pp-cust"), cust.id.clone());
    let doc = DocRef::resolved(inv.external_ref.clone(), r.id.clone());
    let p1 = Payment::new(ctx.r("pp-1"), party.clone(), ctx.date, ctx.currency, first)
        .apply_to(doc.clone(), first);
    let k1 = ctx.key("pp-1")?;
    retrying(ctx, || erp.record_payment(&p1, &k1))
        .await
        .step("first payment")?;
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b == total - first, "balance after first payment", || {
            format!("{b} != {}", total - first)
        })?;
    }
    let too_much = total; // more than what is left
    let over = Payment::new(
        ctx.r("pp-over"),
        party.clone(),
        ctx.date,
        ctx.currency,
        too_much,
    )
    .apply_to(doc.clone(), too_much);
    match erp.record_payment(&over, &ctx.key("pp-over")?).await {
        Err(e) if e.kind() == ErrorKind::Validation => {}
        other => {
            return Err(Failure::Violated {
                step: "overpayment",
                message: format!("expected a validation error, got {other:?}"),
            });
        }
    }
    let rest = total - first;
    let p2 = Payment::new(ctx.r("pp-2"), party, ctx.date, ctx.currency, rest).apply_to(doc, rest);
    let k2 = ctx.key("pp-2")?;
    retrying(ctx, || erp.record_payment(&p2, &k2))
        .await
        .step("second payment")?;
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b.is_zero(), "balance after second payment", || {
            format!("{b} != 0")
        })?;
    }
    Ok(())
}

/// A credit note reduces the balance of the invoice it references.
pub async fn credit_note(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let cust = new_customer(erp, ctx, "cn-cust").await?;
    let line = InvoiceLine::new("Widget", Decimal::from(5), Decimal::from(200)).with_tax(iva16());
    let (inv, r) = new_invoice(erp, ctx, "cn-inv", ("cn-cust", &cust), vec![line]).await?;
    let total = inv.breakdown().step("local breakdown")?.total.amount();
    let cn = CreditNote::new(
        ctx.r("cn-1"),
        PartyRef::resolved(ctx.r("cn-cust"), cust.id.clone()),
        DocRef::resolved(inv.external_ref.clone(), r.id.clone()),
        ctx.date,
        ctx.currency,
    )
    .with_line(
        InvoiceLine::new("Widget returned", Decimal::ONE, Decimal::from(200)).with_tax(iva16()),
    );
    let credit = cn.breakdown().step("local breakdown")?.total.amount();
    let key = ctx.key("cn-1")?;
    retrying(ctx, || erp.create_credit_note(&cn, &key))
        .await
        .step("create credit note")?;
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b == total - credit, "balance after credit", || {
            format!("{b} != {}", total - credit)
        })?;
    }
    Ok(())
}

/// Once a provider applied a write, the adapter never answers with a verdict that invites a new key.
///
/// Two checks, both from the exactly-once contract ("any error after the provider applied a write is
/// `Uncertain`, or the adapter finishes the operation"):
/// - a payment that settled an invoice, sent again with the same key, returns the same record (an adapter that
///   first compares the amount with the now-zero open balance answers `Validation` and the caller marks an
///   applied payment as failed);
/// - a credit note whose second step (its application to the invoice) is refused after the note was created
///   answers `Uncertain`, or finishes the job, never `Validation`/`NotFound`/`Conflict` (a caller would then
///   re-send with a new key and create a second note); a retry with the same key then completes it, and the
///   invoice is credited exactly once.
pub async fn verdict_after_apply(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    faults: &dyn FaultHook,
) -> Outcome {
    let cust = new_customer(erp, ctx, "va-cust").await?;
    let party = PartyRef::resolved(ctx.r("va-cust"), cust.id.clone());
    let line = || InvoiceLine::new("Service", Decimal::ONE, Decimal::from(500)).with_tax(iva16());

    // 1. Re-sending a payment that settled the invoice.
    let (inv, r) = new_invoice(erp, ctx, "va-inv", ("va-cust", &cust), vec![line()]).await?;
    let total = inv.breakdown().step("local breakdown")?.total.amount();
    let doc = DocRef::resolved(inv.external_ref.clone(), r.id.clone());
    let pay = Payment::new(
        ctx.r("va-pay"),
        party.clone(),
        ctx.date,
        ctx.currency,
        total,
    )
    .apply_to(doc, total);
    let key = ctx.key("va-pay")?;
    let first = retrying(ctx, || erp.record_payment(&pay, &key))
        .await
        .step("payment")?;
    let again = retrying(ctx, || erp.record_payment(&pay, &key))
        .await
        .step("payment re-sent with the same key after it was applied")?;
    ensure(again.id == first.id, "payment replay", || {
        format!("the replay returned {again}, the first call {first}")
    })?;
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b.is_zero(), "balance after payment replay", || {
            format!("{b} != 0")
        })?;
    }

    // 2. A credit note whose application is refused after the note was created.
    let (inv, r) = new_invoice(erp, ctx, "va-cn-inv", ("va-cust", &cust), vec![line()]).await?;
    let total = inv.breakdown().step("local breakdown")?.total.amount();
    let cn = CreditNote::new(
        ctx.r("va-cn"),
        party,
        DocRef::resolved(inv.external_ref.clone(), r.id.clone()),
        ctx.date,
        ctx.currency,
    )
    .with_line(InvoiceLine::new("Refund", Decimal::ONE, Decimal::from(100)).with_tax(iva16()));
    let credit = cn.breakdown().step("local breakdown")?.total.amount();
    let key = ctx.key("va-cn")?;
    let armed = faults.reject_write_after(1).await;
    let first = retrying(ctx, || erp.create_credit_note(&cn, &key)).await;
    faults.clear_faults().await;
    match &first {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::Uncertain => {}
        Err(e) => {
            return Err(Failure::Violated {
                step: "credit note refused after it was created",
                message: format!(
                    "expected success or Uncertain (fault armed: {armed}), got {:?}: {e}",
                    e.kind()
                ),
            });
        }
    }
    let done = retrying(ctx, || erp.create_credit_note(&cn, &key))
        .await
        .step("credit note retried with the same key")?;
    if let Ok(f) = &first {
        ensure(f.id == done.id, "credit note replay", || {
            format!("the replay returned {done}, the first call {f}")
        })?;
    }
    if let Some(b) = balance(erp, &r.id).await? {
        ensure(b == total - credit, "balance after credit", || {
            format!("{b} != {} (credited once)", total - credit)
        })?;
    }
    Ok(())
}

/// An update based on a stale version is rejected with `Conflict`.
pub async fn stale_update(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let mut c = customer(ctx, "stale", "Stale");
    let k0 = ctx.key("stale-0")?;
    let v0 = retrying(ctx, || erp.upsert_customer(&c, &k0))
        .await
        .step("create")?;
    c.email = Some("new@example.com".into());
    c.remote = Some(v0.clone());
    let k1 = ctx.key("stale-1")?;
    let v1 = retrying(ctx, || erp.upsert_customer(&c, &k1))
        .await
        .step("update with current version")?;
    ensure(v1.version != v0.version, "update", || {
        "version did not change on update".into()
    })?;
    c.phone = Some("+52 55 0000 0000".into());
    c.remote = Some(v0);
    match erp.upsert_customer(&c, &ctx.key("stale-2")?).await {
        Err(e) if e.kind() == ErrorKind::Conflict => Ok(()),
        other => Err(Failure::Violated {
            step: "stale update",
            message: format!("expected Conflict, got {other:?}"),
        }),
    }
}

/// A second customer with the same name is reported as `Duplicate` with the existing id.
pub async fn duplicate_name(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let first = customer(ctx, "dup-a", "Same Name");
    let ka = ctx.key("dup-a")?;
    let a = retrying(ctx, || erp.upsert_customer(&first, &ka))
        .await
        .step("first customer")?;
    let mut second = customer(ctx, "dup-b", "Same Name");
    second.email = Some("other@example.com".into());
    match erp.upsert_customer(&second, &ctx.key("dup-b")?).await {
        Err(Error::Duplicate { existing_id, .. }) => ensure(
            existing_id.as_deref() == Some(a.id.as_str()),
            "duplicate",
            || format!("existing id {existing_id:?} != {}", a.id),
        ),
        other => Err(Failure::Violated {
            step: "duplicate",
            message: format!("expected Duplicate, got {other:?}"),
        }),
    }
}

/// During a storm of rate-limit answers no write is lost or duplicated.
pub async fn rate_limit_storm(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    faults: &dyn FaultHook,
) -> Outcome {
    let mut refs = Vec::new();
    for i in 0..3 {
        faults.rate_limit_next(2).await;
        let c = customer(ctx, &format!("storm-{i}"), &format!("Storm {i}"));
        let key = ctx.key(&format!("storm-{i}"))?;
        let r = retrying(ctx, || erp.upsert_customer(&c, &key))
            .await
            .step("write during storm")?;
        let again = retrying(ctx, || erp.upsert_customer(&c, &key))
            .await
            .step("replay after storm")?;
        ensure(again.id == r.id, "replay", || {
            format!("duplicate record {} vs {}", again.id, r.id)
        })?;
        refs.push(r);
    }
    for r in &refs {
        erp.get(EntityKind::Customer, &r.id)
            .await
            .step("read back")?;
    }
    Ok(())
}

/// The access token expires between writes of a batch: every write still lands exactly once.
pub async fn token_expiry_mid_batch(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    faults: &dyn FaultHook,
) -> Outcome {
    for i in 0..4 {
        if i == 2 {
            faults.expire_token().await;
        }
        let c = customer(ctx, &format!("tok-{i}"), &format!("Token {i}"));
        let key = ctx.key(&format!("tok-{i}"))?;
        let r = retrying(ctx, || erp.upsert_customer(&c, &key))
            .await
            .step("write")?;
        erp.get(EntityKind::Customer, &r.id)
            .await
            .step("read back")?;
    }
    Ok(())
}

/// The change feed returns every write once, in order, and resumes from its cursor.
pub async fn changed_since(erp: &dyn ErpAdapter, ctx: &Context) -> Outcome {
    let start = erp
        .list_changed_since(&[EntityKind::Customer], None)
        .await
        .step("initial feed")?;
    let mut cursor = start.next;
    let mut more = start.has_more;
    while more {
        let page = erp
            .list_changed_since(&[EntityKind::Customer], Some(&cursor))
            .await
            .step("drain feed")?;
        cursor = page.next;
        more = page.has_more;
    }
    let made = new_customer(erp, ctx, "feed").await?;
    let page = erp
        .list_changed_since(&[EntityKind::Customer], Some(&cursor))
        .await
        .step("feed after write")?;
    ensure(
        page.changes.iter().any(|c| c.remote.id == made.id),
        "feed",
        || format!("the new customer {} is not in the feed", made.id),
    )?;
    let again = erp
        .list_changed_since(&[EntityKind::Customer], Some(&page.next))
        .await
        .step("feed again")?;
    ensure(
        !again.changes.iter().any(|c| c.remote.id == made.id),
        "feed",
        || "a change was returned twice".into(),
    )
}

/// Runs every scenario; returns `(name, outcome)` pairs in a fixed order.
pub async fn run_all(
    erp: &dyn ErpAdapter,
    ctx: &Context,
    faults: &dyn FaultHook,
) -> Vec<(&'static str, Outcome)> {
    vec![
        (
            "customer_same_key_once",
            customer_same_key_once(erp, ctx).await,
        ),
        ("invoice_mixed_taxes", invoice_mixed_taxes(erp, ctx).await),
        ("partial_payment", partial_payment(erp, ctx).await),
        ("credit_note", credit_note(erp, ctx).await),
        (
            "verdict_after_apply",
            verdict_after_apply(erp, ctx, faults).await,
        ),
        ("stale_update", stale_update(erp, ctx).await),
        ("duplicate_name", duplicate_name(erp, ctx).await),
        ("rate_limit_storm", rate_limit_storm(erp, ctx, faults).await),
        (
            "token_expiry_mid_batch",
            token_expiry_mid_batch(erp, ctx, faults).await,
        ),
        ("changed_since", changed_since(erp, ctx).await),
    ]
}
