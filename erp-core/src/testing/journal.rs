//! One behavioural suite for every fiscal [`StampJournal`]: the in-memory one and the hub's database journals
//! run it, and so should yours.
//!
//! * [`check`]: the protocol of [`crate::fiscal`] step by step (first sealed document wins, `begin_sending`
//!   begins a new document with its first certifier and leaves an existing entry alone, certifier
//!   attempts in order, abandon, complete once, a second UUID refused, completion order per tenant and kind,
//!   pending documents listed per tenant and record kind, cancellations of stamped documents only, a
//!   terminal cancellation state never replaced);
//! * [`race`] (feature `hub`): workers racing on the same documents, through one journal or several (several
//!   pools on one database, as several processes would have): every racer gets the same sealed document,
//!   exactly one racer is told it began a document with `begin_sending`, exactly one UUID per document is
//!   kept, and every completion is listed once.
//!
//! Each run writes only documents of the tenant it is given, so runs can share a database.

use rust_decimal::Decimal;

use super::conformance::{Failure, Outcome, Step as _, ensure};
use crate::ErrorKind;
use crate::fiscal::{
    Cancellation, CancellationState, FiscalDocumentKind, FiscalKey, FiscalStamp, JournalEntry,
    StampJournal,
};
use crate::model::EntityKind;

/// A UUID made of `n` (upper case).
fn uuid(n: u64) -> String {
    format!("{:08X}-0000-4000-8000-{n:012X}", n >> 16)
}

/// A stamp of `kind` with UUID `n` and text that a lossy store would change (non-ASCII, a scale-3 total).
fn stamp(kind: FiscalDocumentKind, n: u64) -> FiscalStamp {
    FiscalStamp::new(
        "mx-cfdi-4.0",
        kind,
        uuid(n),
        "2026-12-01T10:00:00",
        "finkok",
        Decimal::new(116_000 + i64::try_from(n % 1000).unwrap_or(0), 3),
        format!("<cfdi:Comprobante Folio=\"{n}\" Nombre=\"ESCUELA KEMPER URGATE ñ\"/>"),
    )
    .with_number(Some("F".into()), Some(n.to_string()))
}

fn expect_conflict<T: std::fmt::Debug>(
    r: crate::Result<T>,
    step: &'static str,
) -> Result<(), Failure> {
    match r {
        Err(e) if e.kind() == ErrorKind::Conflict => Ok(()),
        other => Err(Failure::Violated {
            step,
            message: format!("expected a Conflict error, got {other:?}"),
        }),
    }
}

fn pending(
    entry: Option<JournalEntry>,
    step: &'static str,
) -> Result<(String, Vec<(String, bool)>), Failure> {
    match entry {
        Some(JournalEntry::Pending { sealed, attempts }) => Ok((
            sealed,
            attempts
                .into_iter()
                .map(|a| (a.certifier, a.definitely_not_stamped))
                .collect(),
        )),
        other => Err(Failure::Violated {
            step,
            message: format!("expected a pending entry, got {other:?}"),
        }),
    }
}

/// `entry` is pending with `sealed` and one attempt, at `certifier`, not known to be unstamped; otherwise a
/// failure of `step` saying `what` was found.
fn expect_sent_once(
    entry: Option<JournalEntry>,
    sealed: &str,
    certifier: &str,
    step: &'static str,
    what: &str,
) -> Outcome {
    let (got, attempts) = pending(entry, step)?;
    ensure(
        got == sealed && attempts == [(certifier.to_owned(), false)],
        step,
        || format!("{what}: {got:?} with attempts {attempts:?}"),
    )
}

fn stamped_uuid(entry: Option<JournalEntry>, step: &'static str) -> Result<FiscalStamp, Failure> {
    match entry {
        Some(JournalEntry::Stamped(s)) => Ok(s),
        other => Err(Failure::Violated {
            step,
            message: format!("expected a stamped entry, got {other:?}"),
        }),
    }
}

/// The protocol, step by step, on documents of `tenant` (use a tenant no other run writes).
///
/// # Errors
/// The first [`Failure`]: an unexpected error, or a property the [`StampJournal`] contract requires that did
/// not hold.
pub async fn check(journal: &dyn StampJournal, tenant: &str) -> Outcome {
    let inv = FiscalKey::new(tenant, EntityKind::Invoice, "inv-1");
    // Same reference, other kind; same kind and reference, other tenant: other documents.
    let same_ref_cn = FiscalKey::new(tenant, EntityKind::CreditNote, "inv-1");
    let other_tenant = FiscalKey::new(format!("{tenant}-other"), EntityKind::Invoice, "inv-1");

    ensure(
        journal.get(&inv).await.step("get unknown")?.is_none(),
        "get unknown",
        || "an unknown document has an entry".into(),
    )?;
    expect_conflict(
        journal.sending(&inv, "finkok").await,
        "sending without begin",
    )?;
    expect_conflict(
        journal.not_stamped(&inv, "finkok").await,
        "not_stamped without begin",
    )?;

    // begin: the first sealed document wins.
    let first = journal.begin(&inv, "sealed-A").await.step("begin")?;
    let (sealed, attempts) = pending(Some(first), "begin")?;
    ensure(sealed == "sealed-A" && attempts.is_empty(), "begin", || {
        format!("begin returned {sealed:?} with attempts {attempts:?}")
    })?;
    let again = journal.begin(&inv, "sealed-B").await.step("begin again")?;
    let (sealed, _) = pending(Some(again), "begin again")?;
    ensure(sealed == "sealed-A", "begin again", || {
        format!("a second begin replaced the sealed document: {sealed:?}")
    })?;
    for k in [&same_ref_cn, &other_tenant] {
        ensure(
            journal.get(k).await.step("get other key")?.is_none(),
            "keys are (tenant, kind, reference)",
            || format!("{k} has an entry after begin of {inv}"),
        )?;
    }

    // Certifiers in the order tried; sending is idempotent; not_stamped marks only that certifier.
    journal.sending(&inv, "finkok").await.step("sending")?;
    journal.sending(&inv, "sw").await.step("sending")?;
    journal
        .sending(&inv, "finkok")
        .await
        .step("sending again")?;
    journal
        .not_stamped(&inv, "finkok")
        .await
        .step("not_stamped")?;
    journal
        .not_stamped(&inv, "never-sent")
        .await
        .step("not_stamped unknown certifier")?;
    let (sealed, attempts) = pending(journal.get(&inv).await.step("get")?, "attempts")?;
    ensure(
        sealed == "sealed-A"
            && attempts == vec![("finkok".to_owned(), true), ("sw".to_owned(), false)],
        "attempts",
        || format!("expected [finkok: not stamped, sw: unknown], got {attempts:?}"),
    )?;

    // abandon: the next begin starts afresh.
    journal.abandon(&inv).await.step("abandon")?;
    ensure(
        journal.get(&inv).await.step("get after abandon")?.is_none(),
        "abandon",
        || "the pending entry survived abandon".into(),
    )?;
    journal.abandon(&inv).await.step("abandon twice")?;
    let fresh = journal
        .begin(&inv, "sealed-C")
        .await
        .step("begin after abandon")?;
    let (sealed, attempts) = pending(Some(fresh), "begin after abandon")?;
    ensure(
        sealed == "sealed-C" && attempts.is_empty(),
        "begin after abandon",
        || format!("{sealed:?} {attempts:?}"),
    )?;
    journal.sending(&inv, "finkok").await.step("sending")?;

    // complete: stored exactly; the same UUID again is a no-op; another UUID is a Conflict.
    let s1 = stamp(FiscalDocumentKind::Invoice, 1);
    journal.complete(&inv, &s1).await.step("complete")?;
    let got = stamped_uuid(journal.get(&inv).await.step("get stamped")?, "complete")?;
    ensure(got == s1, "complete", || {
        format!(
            "stored {s1:?} ({:?}), read back {got:?} ({:?})",
            s1.xml, got.xml
        )
    })?;
    journal.complete(&inv, &s1).await.step("complete again")?;
    expect_conflict(
        journal
            .complete(&inv, &stamp(FiscalDocumentKind::Invoice, 2))
            .await,
        "complete with a second UUID",
    )?;
    journal.abandon(&inv).await.step("abandon stamped")?;
    expect_conflict(journal.sending(&inv, "sw").await, "sending after complete")?;
    expect_conflict(
        journal.not_stamped(&inv, "sw").await,
        "not_stamped after complete",
    )?;
    let entry = journal
        .begin(&inv, "sealed-D")
        .await
        .step("begin stamped")?;
    let kept = stamped_uuid(Some(entry), "begin on a stamped document")?;
    ensure(kept.uuid == s1.uuid, "second UUID refused", || {
        format!("the stamp changed to {}", kept.uuid)
    })?;

    // A document completed without a pending entry (a recovered stamp) is stored too.
    let pay = FiscalKey::new(tenant, EntityKind::Payment, "pay-1");
    let sp = stamp(FiscalDocumentKind::Payment, 10);
    journal
        .complete(&pay, &sp)
        .await
        .step("complete without begin")?;
    ensure(
        stamped_uuid(
            journal.get(&pay).await.step("get")?,
            "complete without begin",
        )? == sp,
        "complete without begin",
        || "not stored".into(),
    )?;

    // Completion order per tenant and kind, whatever the begin order and the keys.
    let order = [5u64, 3, 4, 2];
    for n in order {
        let k = FiscalKey::new(tenant, EntityKind::Invoice, format!("inv-{n}"));
        journal
            .begin(&k, &format!("sealed-{n}"))
            .await
            .step("begin")?;
    }
    let cn = FiscalKey::new(tenant, EntityKind::CreditNote, "cn-1");
    for (i, n) in order.into_iter().enumerate() {
        let k = FiscalKey::new(tenant, EntityKind::Invoice, format!("inv-{n}"));
        journal
            .complete(&k, &stamp(FiscalDocumentKind::Invoice, n))
            .await
            .step("complete")?;
        if i == 1 {
            journal
                .complete(&cn, &stamp(FiscalDocumentKind::CreditNote, 20))
                .await
                .step("complete credit note")?;
        }
    }
    let listed: Vec<String> = journal
        .stamped(tenant, FiscalDocumentKind::Invoice)
        .await
        .step("stamped")?
        .into_iter()
        .map(|s| s.uuid)
        .collect();
    let expected: Vec<String> = [1u64, 5, 3, 4, 2].into_iter().map(uuid).collect();
    ensure(listed == expected, "stamped in completion order", || {
        format!("expected {expected:?}, got {listed:?}")
    })?;
    let cns = journal
        .stamped(tenant, FiscalDocumentKind::CreditNote)
        .await
        .step("stamped credit notes")?;
    ensure(
        cns.len() == 1 && cns[0].uuid == uuid(20),
        "stamped per kind",
        || format!("credit notes: {cns:?}"),
    )?;
    let pays = journal
        .stamped(tenant, FiscalDocumentKind::Payment)
        .await
        .step("stamped payments")?;
    ensure(pays == vec![sp], "stamped per kind", || {
        format!("payments: {pays:?}")
    })?;
    let others = journal
        .stamped(&format!("{tenant}-other"), FiscalDocumentKind::Invoice)
        .await
        .step("stamped other tenant")?;
    ensure(others.is_empty(), "stamped per tenant", || {
        format!("another tenant lists {others:?}")
    })?;
    check_begin_sending(journal, tenant, &inv, &s1).await?;
    check_pending(journal, tenant).await?;
    check_cancellations(journal, &inv, &s1).await
}

/// `pending`: the pending documents of one tenant and record kind with their sealed bytes, by reference;
/// stamped, abandoned and other tenants' or kinds' documents are not listed. Leaves no entry behind
/// except the stamped `pay-1` it finds.
async fn check_pending(journal: &dyn StampJournal, tenant: &str) -> Outcome {
    let step = "pending";
    let pay = |r: &str| FiscalKey::new(tenant, EntityKind::Payment, r);
    // `pay-1` is stamped by `check`; these two are pending, begun out of order.
    journal.begin(&pay("pay-3"), "sealed-P3").await.step(step)?;
    journal
        .begin_sending(&pay("pay-2"), "sealed-P2", "finkok")
        .await
        .step(step)?;
    let other_kind = FiscalKey::new(tenant, EntityKind::Invoice, "pay-4");
    let other_tenant = FiscalKey::new(format!("{tenant}-other"), EntityKind::Payment, "pay-5");
    journal.begin(&other_kind, "sealed-I4").await.step(step)?;
    journal.begin(&other_tenant, "sealed-O5").await.step(step)?;
    let listed = journal
        .pending(tenant, EntityKind::Payment)
        .await
        .step(step)?;
    let expected = vec![
        (pay("pay-2"), "sealed-P2".to_owned()),
        (pay("pay-3"), "sealed-P3".to_owned()),
    ];
    ensure(listed == expected, step, || {
        format!("expected {expected:?}, got {listed:?}")
    })?;
    journal
        .complete(&pay("pay-2"), &stamp(FiscalDocumentKind::Payment, 30))
        .await
        .step(step)?;
    journal.abandon(&pay("pay-3")).await.step(step)?;
    let listed = journal
        .pending(tenant, EntityKind::Payment)
        .await
        .step(step)?;
    ensure(
        listed.is_empty(),
        "pending after complete and abandon",
        || format!("still listed: {listed:?}"),
    )?;
    for k in [&other_kind, &other_tenant] {
        journal.abandon(k).await.step(step)?;
    }
    Ok(())
}

/// `begin_sending`: a new document is begun with its first certifier in one call; an existing entry is
/// returned unchanged. Leaves no entry behind (`inv` stays stamped with `s1`).
async fn check_begin_sending(
    journal: &dyn StampJournal,
    tenant: &str,
    inv: &FiscalKey,
    s1: &FiscalStamp,
) -> Outcome {
    let key = FiscalKey::new(tenant, EntityKind::Invoice, "bs-1");
    let step = "begin_sending a new document";
    let got = journal
        .begin_sending(&key, "sealed-E", "finkok")
        .await
        .step(step)?;
    ensure(got.is_none(), step, || {
        format!("expected None (begun by this call), got {got:?}")
    })?;
    let stored = journal.get(&key).await.step(step)?;
    expect_sent_once(stored, "sealed-E", "finkok", step, "stored")?;

    let step = "begin_sending an existing pending document";
    let got = journal
        .begin_sending(&key, "sealed-F", "sw")
        .await
        .step(step)?;
    expect_sent_once(
        got,
        "sealed-E",
        "finkok",
        step,
        "expected the existing entry, got",
    )?;
    let stored = journal.get(&key).await.step(step)?;
    expect_sent_once(
        stored,
        "sealed-E",
        "finkok",
        step,
        "the existing entry changed",
    )?;

    let step = "begin_sending a stamped document";
    let got = journal
        .begin_sending(inv, "sealed-G", "sw")
        .await
        .step(step)?;
    ensure(stamped_uuid(got, step)? == *s1, step, || {
        "returned another stamp".into()
    })?;
    ensure(
        stamped_uuid(journal.get(inv).await.step(step)?, step)? == *s1,
        step,
        || "the stamp changed".into(),
    )?;

    // Begun elsewhere and sent nowhere yet: either answer is allowed (see the trait docs), and a `None` must
    // have recorded the certifier.
    let step = "begin_sending a document begun without certifier";
    let other = FiscalKey::new(tenant, EntityKind::Invoice, "bs-2");
    journal.begin(&other, "sealed-H").await.step(step)?;
    let got = journal
        .begin_sending(&other, "sealed-H", "finkok")
        .await
        .step(step)?;
    let (sealed, attempts) = pending(journal.get(&other).await.step(step)?, step)?;
    let expected: Vec<(String, bool)> = match &got {
        None => vec![("finkok".to_owned(), false)],
        Some(_) => Vec::new(),
    };
    ensure(
        sealed == "sealed-H"
            && attempts == expected
            && got.as_ref().is_none_or(|e| matches!(e, JournalEntry::Pending { sealed, attempts } if sealed == "sealed-H" && attempts.is_empty())),
        step,
        || format!("returned {got:?}, stored {sealed:?} with {attempts:?}"),
    )?;

    // Abandoned: the next begin_sending begins afresh.
    let step = "begin_sending after abandon";
    journal.abandon(&key).await.step(step)?;
    journal.abandon(&other).await.step(step)?;
    let got = journal
        .begin_sending(&key, "sealed-I", "sw")
        .await
        .step(step)?;
    ensure(got.is_none(), step, || {
        format!("expected None after abandon, got {got:?}")
    })?;
    let stored = journal.get(&key).await.step(step)?;
    expect_sent_once(stored, "sealed-I", "sw", step, "stored")?;
    journal.abandon(&key).await.step(step)?;
    ensure(
        journal.get(&key).await.step(step)?.is_none()
            && journal.get(&other).await.step(step)?.is_none(),
        step,
        || "an abandoned entry survived".into(),
    )
}

/// Cancellations of the stamped invoice `inv` (stamp `s1`).
async fn check_cancellations(
    journal: &dyn StampJournal,
    inv: &FiscalKey,
    s1: &FiscalStamp,
) -> Outcome {
    ensure(
        journal
            .cancellation(inv)
            .await
            .step("cancellation unknown")?
            .is_none(),
        "cancellation unknown",
        || "a document never cancelled has a cancellation".into(),
    )?;
    let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let requested = Cancellation::requested(&s1.uuid, "01", Some(uuid(3)), at);
    expect_conflict(
        journal
            .record_cancellation(inv, &Cancellation::requested(uuid(99), "02", None, at))
            .await,
        "cancel another UUID",
    )?;
    let unknown = FiscalKey::new(inv.tenant.clone(), inv.kind, "never-stamped");
    expect_conflict(
        journal.record_cancellation(&unknown, &requested).await,
        "cancel an unknown document",
    )?;
    journal
        .record_cancellation(inv, &requested)
        .await
        .step("record cancellation")?;
    let got = journal.cancellation(inv).await.step("cancellation")?;
    ensure(
        got.as_ref() == Some(&requested),
        "record cancellation",
        || format!("stored {requested:?}, read {got:?}"),
    )?;
    let mut awaiting = requested.clone();
    awaiting.state = CancellationState::AwaitingAcceptance;
    awaiting.checks = 1;
    awaiting.checked_at = Some(at);
    awaiting.detail = "En proceso · acentos ñ".into();
    let mut done = awaiting.clone();
    done.state = CancellationState::Cancelled;
    done.checks = 2;
    for (c, step) in [(&awaiting, "awaiting acceptance"), (&done, "cancelled")] {
        journal.record_cancellation(inv, c).await.step(step)?;
        let got = journal.cancellation(inv).await.step(step)?;
        ensure(got.as_ref() == Some(c), step, || {
            format!("stored {c:?}, read {got:?}")
        })?;
    }
    // A late, stale status read does not undo a terminal state.
    journal
        .record_cancellation(inv, &awaiting)
        .await
        .step("stale cancellation state")?;
    let got = journal
        .cancellation(inv)
        .await
        .step("stale cancellation state")?;
    ensure(got.as_ref() == Some(&done), "terminal state kept", || {
        format!("a stale state replaced the terminal one: {got:?}")
    })?;
    // The document itself is untouched.
    let kept = stamped_uuid(
        journal.get(inv).await.step("get cancelled")?,
        "get cancelled",
    )?;
    ensure(&kept == s1, "cancellation keeps the stamp", || {
        format!("stamp changed to {kept:?}")
    })?;
    Ok(())
}

/// Workers racing on the same documents of `tenant`, spread over `journals` (one journal shared by tasks, or
/// several journals on one database). Run it on a multi-threaded runtime for real parallelism.
///
/// 1. 8 racers `begin` each of 12 documents with their own sealed bytes: all of them (and a later `get`) see
///    the same sealed document; 8 racers `begin_sending` 12 other documents, each with its own certifier:
///    exactly one per document is told it began it, and the journal holds its sealed bytes and certifier;
/// 2. 4 racers `complete` each document with their own UUID: exactly one succeeds, the others get a
///    `Conflict`, and the journal keeps the winner's UUID;
/// 3. `stamped` lists every document once.
///
/// # Errors
/// The first [`Failure`].
#[cfg(feature = "hub")]
pub async fn race(journals: &[std::sync::Arc<dyn StampJournal>], tenant: &str) -> Outcome {
    const DOCS: usize = 12;
    ensure(!journals.is_empty(), "race", || "no journal given".into())?;
    let key = |d: usize| FiscalKey::new(tenant, EntityKind::Invoice, format!("race-{d}"));

    let mut tasks = Vec::new();
    for racer in 0..8usize {
        let j = journals[racer % journals.len()].clone();
        let keys: Vec<FiscalKey> = (0..DOCS).map(key).collect();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for d in 0..keys.len() {
                // Racers walk the documents in different orders.
                let k = &keys[(d + racer * 5) % keys.len()];
                let entry = j.begin(k, &format!("sealed-by-{racer}")).await?;
                seen.push((k.clone(), entry));
            }
            Ok::<_, crate::Error>(seen)
        }));
    }
    let mut winner: std::collections::HashMap<FiscalKey, String> = Default::default();
    for t in tasks {
        let seen = t
            .await
            .map_err(|e| Failure::Violated {
                step: "race begin",
                message: format!("task failed: {e}"),
            })?
            .step("race begin")?;
        for (k, entry) in seen {
            let (sealed, _) = pending(Some(entry), "race begin")?;
            let first = winner.entry(k.clone()).or_insert_with(|| sealed.clone());
            ensure(*first == sealed, "race begin", || {
                format!("{k}: racers got different sealed documents ({first} and {sealed})")
            })?;
        }
    }
    for d in 0..DOCS {
        let k = key(d);
        let (sealed, _) = pending(journals[0].get(&k).await.step("get")?, "race begin")?;
        ensure(Some(&sealed) == winner.get(&k), "race begin", || {
            format!("{k}: stored {sealed}, racers saw {:?}", winner.get(&k))
        })?;
    }

    race_begin_sending(journals, tenant).await?;

    let mut tasks = Vec::new();
    for racer in 0..4usize {
        let j = journals[racer % journals.len()].clone();
        let keys: Vec<FiscalKey> = (0..DOCS).map(key).collect();
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for d in 0..keys.len() {
                let k = &keys[(d + racer * 3) % keys.len()];
                let doc = u64::try_from((d + racer * 3) % keys.len()).unwrap_or(0);
                let n = 1000 + doc * 10 + u64::try_from(racer).unwrap_or(0);
                let r = j.complete(k, &stamp(FiscalDocumentKind::Invoice, n)).await;
                results.push((k.clone(), uuid(n), r));
            }
            results
        }));
    }
    let mut won: std::collections::HashMap<FiscalKey, Vec<String>> = Default::default();
    for t in tasks {
        let results = t.await.map_err(|e| Failure::Violated {
            step: "race complete",
            message: format!("task failed: {e}"),
        })?;
        for (k, u, r) in results {
            match r {
                Ok(()) => won.entry(k).or_default().push(u),
                Err(e) if e.kind() == ErrorKind::Conflict => {}
                Err(e) => {
                    return Err(Failure::Unexpected {
                        step: "race complete",
                        source: e,
                    });
                }
            }
        }
    }
    for d in 0..DOCS {
        let k = key(d);
        let winners = won.remove(&k).unwrap_or_default();
        ensure(winners.len() == 1, "race complete", || {
            format!("{k}: {} completions succeeded: {winners:?}", winners.len())
        })?;
        let kept = stamped_uuid(journals[0].get(&k).await.step("get")?, "race complete")?;
        ensure(kept.uuid == winners[0], "race complete", || {
            format!(
                "{k}: the journal keeps {}, the winner was {}",
                kept.uuid, winners[0]
            )
        })?;
    }
    let listed = journals[journals.len() - 1]
        .stamped(tenant, FiscalDocumentKind::Invoice)
        .await
        .step("stamped")?;
    let mut uuids: Vec<&str> = listed.iter().map(|s| s.uuid.as_str()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    ensure(
        listed.len() == DOCS && uuids.len() == DOCS,
        "race stamped",
        || format!("expected {DOCS} distinct stamps, got {}", listed.len()),
    )?;
    Ok(())
}

/// Racers `begin_sending` the same new documents, each with its own sealed bytes and certifier: per document
/// exactly one gets `None` (begun by it), every other one gets the winner's pending entry, and the journal
/// keeps the winner's sealed document with the winner's certifier only.
#[cfg(feature = "hub")]
async fn race_begin_sending(
    journals: &[std::sync::Arc<dyn StampJournal>],
    tenant: &str,
) -> Outcome {
    const DOCS: usize = 12;
    let key = |d: usize| FiscalKey::new(tenant, EntityKind::Invoice, format!("race-bs-{d}"));
    let mut tasks = Vec::new();
    for racer in 0..8usize {
        let j = journals[racer % journals.len()].clone();
        let keys: Vec<FiscalKey> = (0..DOCS).map(key).collect();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for d in 0..keys.len() {
                let k = &keys[(d + racer * 7) % keys.len()];
                let got = j
                    .begin_sending(k, &format!("sealed-by-{racer}"), &format!("pac-{racer}"))
                    .await?;
                seen.push((k.clone(), racer, got));
            }
            Ok::<_, crate::Error>(seen)
        }));
    }
    let step = "race begin_sending";
    let mut begun: std::collections::HashMap<FiscalKey, Vec<usize>> = Default::default();
    let mut others: Vec<(FiscalKey, usize, String)> = Vec::new();
    for t in tasks {
        let seen = t
            .await
            .map_err(|e| Failure::Violated {
                step,
                message: format!("task failed: {e}"),
            })?
            .step(step)?;
        for (k, racer, got) in seen {
            match got {
                None => begun.entry(k).or_default().push(racer),
                Some(entry) => {
                    let (sealed, _) = pending(Some(entry), step)?;
                    others.push((k, racer, sealed));
                }
            }
        }
    }
    let mut winner = std::collections::HashMap::new();
    for d in 0..DOCS {
        let k = key(d);
        let racers = begun.remove(&k).unwrap_or_default();
        ensure(racers.len() == 1, step, || {
            format!(
                "{k}: {} racers were told they began it: {racers:?}",
                racers.len()
            )
        })?;
        let w = racers[0];
        let (sealed, attempts) = pending(journals[0].get(&k).await.step(step)?, step)?;
        ensure(
            sealed == format!("sealed-by-{w}") && attempts == vec![(format!("pac-{w}"), false)],
            step,
            || format!("{k}: racer {w} began it, the journal holds {sealed:?} with {attempts:?}"),
        )?;
        winner.insert(k, w);
    }
    for (k, racer, sealed) in others {
        let w = winner.get(&k).copied().unwrap_or(usize::MAX);
        ensure(sealed == format!("sealed-by-{w}"), step, || {
            format!("{k}: racer {racer} got {sealed:?}, racer {w} began it")
        })?;
    }
    Ok(())
}
