//! An operator's view of the sync hub: per scope counts by state, backlog, blocked records, oldest pending age
//! and dead letters (with their last error and attempt history), then the hub's metrics as Prometheus text.
//!
//! With `--db PATH` it reads an existing SQLite hub file; with `--pg` the PostgreSQL database in `DATABASE_URL`.
//! Without either it first runs a small demo (two tenants on MemoryErp, one rejected customer, 429s and 5xx) in
//! a temp dir so there is something to show.
//!
//! ```sh
//! cargo run -p examples --example hub_status
//! cargo run -p examples --example hub_status -- --db /var/lib/myapp/hub.db
//! scripts/with-postgres.sh cargo run -p examples --example hub_status -- --pg
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use erp_hub_core::Error;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::hub::{
    Hub, HubConfig, HubStore, PgStore, RecordFilter, RecordState, Scope, SqliteStore,
};
use erp_hub_core::model::{Customer, DocRef, Invoice, InvoiceLine, PartyRef, Payment};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::MemoryErp;
use metrics_exporter_prometheus::PrometheusBuilder;
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> BoxResult<()> {
    // Metrics: install a Prometheus recorder; the hub emits through the `metrics` facade. Serve
    // `handle.render()` on your /metrics endpoint (here it is printed at the end).
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&[0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0])?
        .install_recorder()?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let _dir;
    let store: Arc<dyn HubStore> = match args.first().map(String::as_str) {
        Some("--db") => Arc::new(SqliteStore::open(args.get(1).ok_or("--db needs a path")?).await?),
        Some("--pg") => {
            let url = std::env::var("DATABASE_URL").map_err(|_| {
                "DATABASE_URL is not set: pass a PostgreSQL URL, or run through scripts/with-postgres.sh"
            })?;
            Arc::new(PgStore::connect(&url).await?)
        }
        Some(other) => {
            return Err(format!("unknown argument `{other}` (use --db PATH or --pg)").into());
        }
        None => {
            let dir = tempfile::tempdir()?;
            let store: Arc<dyn HubStore> =
                Arc::new(SqliteStore::open(dir.path().join("hub.db")).await?);
            demo(Arc::clone(&store)).await?;
            _dir = dir;
            store
        }
    };

    let now = Utc::now();
    let status = store.status().await?;
    println!(
        "{:<24} {:>7} {:>7} {:>7} {:>7} {:>5} {:>8} {:>12}",
        "scope", "queued", "blocked", "claimed", "done", "dead", "backlog", "oldest_age_s"
    );
    for s in &status {
        let age = s
            .oldest_pending
            .map(|t| format!("{}", (now - t).num_seconds()))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<24} {:>7} {:>7} {:>7} {:>7} {:>5} {:>8} {:>12}",
            s.scope.to_string(),
            s.queued,
            s.blocked,
            s.claimed,
            s.done,
            s.dead,
            s.backlog(),
            age
        );
    }

    let dead = store
        .records(&RecordFilter::all().with_state(RecordState::Dead))
        .await?;
    println!("\ndead letters: {}", dead.len());
    for d in dead {
        let full = store.record(d.id).await?.ok_or("record vanished")?;
        let err = full
            .last_error
            .as_ref()
            .map(|e| format!("{:?}: {}", e.kind, e.message))
            .unwrap_or_default();
        println!(
            "  #{} {} {} {} after {} attempt(s): {err}",
            full.id, full.scope, full.kind, full.external_ref, full.attempts
        );
        for h in &full.history {
            println!(
                "      attempt {} at {} {} ms {:<13} {} {}",
                h.attempt,
                h.started_at.format("%H:%M:%S%.3f"),
                h.duration_ms,
                h.outcome,
                h.error_kind.map(|k| format!("{k:?}")).unwrap_or_default(),
                h.worker
            );
        }
        println!("      requeue with: store.requeue({})", full.id);
    }

    println!("\n# Prometheus text (serve this on /metrics)");
    let text = prometheus.render();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("erp_hub_") && !l.contains("_bucket{"))
        .collect();
    for l in &lines {
        println!("{l}");
    }
    println!("metric_lines={}", lines.len());
    Ok(())
}

/// Two tenants, a few families of records, a rejected customer, rate limits and 5xx.
async fn demo(store: Arc<dyn HubStore>) -> BoxResult<()> {
    let hub = Hub::new(
        Arc::clone(&store),
        HubConfig::default()
            .with_poll(Duration::from_millis(20))
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    );
    let date = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).ok_or("date")?;
    for tenant in ["norte-mx", "sol-mx"] {
        let scope = Scope::new(tenant, "memory:1");
        let erp = Arc::new(MemoryErp::new());
        hub.register(scope.clone(), erp.clone());
        let mut ops = Vec::new();
        for n in 0..5 {
            let c = format!("{tenant}-c{n}");
            let inv = format!("{tenant}-inv{n}");
            ops.push(WriteOp::UpsertCustomer(Customer::new(
                &c,
                format!("Cliente {n} de {tenant}"),
            )));
            ops.push(WriteOp::CreateInvoice(
                Invoice::new(&inv, PartyRef::external(&c), date, Currency::MXN).with_line(
                    InvoiceLine::new("Servicio", dec!(1), dec!(1000))
                        .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
                ),
            ));
            ops.push(WriteOp::RecordPayment(
                Payment::new(
                    format!("{tenant}-pay{n}"),
                    PartyRef::external(&c),
                    date,
                    Currency::MXN,
                    dec!(1160),
                )
                .apply_to(DocRef::external(&inv), dec!(1160)),
            ));
        }
        if tenant == "sol-mx" {
            // The provider rejects the first customer: a dead letter, its invoice and payment wait (blocked).
            erp.fail_next(1, || {
                Error::invalid("DisplayName", "contains a character the provider rejects")
            });
        }
        hub.enqueue(&scope, ops).await?;
        erp.fail_next(2, || Error::RateLimited {
            retry_after: Some(Duration::from_millis(30)),
        });
        erp.fail_next(1, || Error::transient("502 Bad Gateway"));
    }
    let status = hub.run_until_settled().await?;
    let dead: u64 = status.iter().map(|s| s.dead).sum();
    if dead != 1 {
        return Err(format!("demo expected exactly one dead letter, got {dead}").into());
    }
    Ok(())
}
