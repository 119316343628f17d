//! Costa Rica through the hub, with a process kill and a Hacienda outage, counted from the mock's records and
//! the stores.
//!
//! ```text
//! cargo run -p examples --example hub_cr -- --out DIR
//! ```
//!
//! Two emisores × two terminals (four tenants) push 280 ERP records through the hub (SQLite store) into a
//! fake ERP, each tenant's adapter wrapped in `FiscalAdapter` with `cr_einvoice::hub::CrStep`: 50 invoices
//! (FE, or TE for walk-in customers; two of them rejected by Hacienda; seven sold on credit with IVA due on
//! payment), 8 credit notes (NC), 5 debit notes (ND, invoices marked `passthrough.cr_nota_debito_de`), 7
//! payments of the credit sales (REP) per tenant, plus 5 received supplier invoices per tenant answered with a
//! MensajeReceptor (MR) through the same queue: 300 documents. The queue, the consecutivos (numbering) and the
//! fiscal journal (`SqliteStore::stamp_journal`) live in the hub's SQLite database; the step's directory and
//! the fake ERP in a second SQLite file.
//!
//! The parent process runs a mock Hacienda over local HTTP (`cr-einvoice/tests/hacienda_mock`: answers 202,
//! decides asynchronously, signs every MensajeHacienda with a test key, rejects documents whose first line
//! says `RECHAZAR`) and re-spawns *itself* as a child that runs the hub. Hacienda goes down for part of the
//! run (documents are issued with situación 3 and queued), the child is SIGKILLed while Hacienda is down and a
//! second child finishes the run. Every signed XML and every MensajeHacienda is written to DIR; the last line
//! is counted from the mock's records, the journal and the numbering store:
//! `submitted=… aceptado=… rechazado=… contingencia=… resubmitted_202=0 lost=0 consecutivo_gaps=0 consecutivo_reused=0`.

#[path = "../../cr-einvoice/tests/hacienda_mock/mod.rs"]
mod hacienda_mock;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use cr_einvoice::api::{HaciendaClient, HaciendaConfig, PasswordCredentials, RetryPolicy};
use cr_einvoice::hub::{
    ACCEPTED, CrHubError, CrProfile, CrStep, Directory, MENSAJE_HACIENDA_SERIES,
};
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
use cr_einvoice::{Identificacion, TipoDocumento, TipoIdentificacion};
use erp_hub_core::adapter::{
    Capabilities, ChangeCursor, ChangePage, CompanyInfo, ErpAdapter, IdempotencyKey, RemoteRecord,
    WriteOp,
};
use erp_hub_core::fiscal::{FiscalAdapter, FiscalKey, FiscalStamp, JournalEntry, StampJournal};
use erp_hub_core::hub::numbering::{NumberStore, Series};
use erp_hub_core::hub::{Hub, HubConfig, HubStore, NewRecord, RecordFilter, Scope, SqliteStore};
use erp_hub_core::model::{
    CedulaType, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, PartyRef,
    Payment, RemoteRef, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{Error, Result as HubResult};
use hacienda_mock::HaciendaMock;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use sqlx::Row as _;
use sqlx::SqlitePool;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const EMISOR_P12: &[u8] = include_bytes!("../../cr-einvoice/tests/fixtures/keys/test-aes.p12");
const HACIENDA_P12: &[u8] =
    include_bytes!("../../cr-einvoice/tests/fixtures/receive/hacienda-other.p12");
const EMISORES: [(&str, &str); 2] = [
    ("3101234567", "Empresa Demo Sociedad Anónima"),
    ("3101765432", "Comercial Pacífico Sociedad Anónima"),
];
const SUPPLIER: &str = "3101555555";
const INVOICES: usize = 50;
const SUPPLIER_DOCS: usize = 5;

fn key(p12: &[u8]) -> BoxResult<SigningKey> {
    Ok(SigningKey::from_pkcs12(p12, &SecretString::from("1234"))?)
}

/// The four tenants: (name, emisor index, terminal).
fn tenants() -> Vec<(String, usize, u32)> {
    let mut out = Vec::new();
    for (e, _) in EMISORES.iter().enumerate() {
        for terminal in 1..=2u32 {
            out.push((format!("e{}-t{terminal}", e + 1), e, terminal));
        }
    }
    out
}

fn profile(state: &Path, e: usize, terminal: u32) -> BoxResult<CrProfile> {
    let (numero, nombre) = EMISORES[e];
    let json = serde_json::json!({
        "emisor": {
            "nombre": nombre, "tipo_identificacion": "02", "numero": numero, "codigo_actividad": "620100",
            "provincia": 1, "canton": 1, "distrito": 1, "otras_senas": "100 m norte del parque central",
            "correo": "facturacion@demo.example"
        },
        "llave": { "p12": state.join("emisor.p12"), "pin": "1234" },
        "proveedor_sistemas": "3101234567",
        "sucursal": 1, "terminal": terminal,
        "cabys_servicio": { "cabys": "8314100000000", "unidad": "Sp" },
        "cabys_mercancia": { "cabys": "4399100000000", "unidad": "Unid" },
        "credito_iva_diferido": true
    });
    Ok(serde_json::from_value(json)?)
}

fn scope(tenant: &str) -> Scope {
    Scope::new(tenant, "fake-erp:1")
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let state = PathBuf::from(args.get(1).ok_or("--child STATE URI")?);
        let uri = args.get(2).ok_or("--child STATE URI")?;
        return child(&state, uri).await;
    }
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--out needs a directory")?),
        None => return Err("usage: hub_cr --out DIR".into()),
    };
    std::fs::create_dir_all(&out)?;
    let tmp = tempfile::tempdir()?;
    let state = tmp.path().to_path_buf();
    std::fs::write(state.join("emisor.p12"), EMISOR_P12)?;

    let mut mock = HaciendaMock::start_new(key(HACIENDA_P12)?, 1).await;
    let store = SqliteStore::open(state.join("hub.sqlite")).await?;
    let side = side_db(&state.join("side.sqlite")).await?;
    init_side(&side).await?;
    enqueue_all(&store, &state).await?;
    drop(store);

    let me = std::env::current_exe()?;
    let uri = mock.uri();
    let spawn = || {
        Command::new(&me)
            .args(["--child", &state.to_string_lossy(), &uri])
            .spawn()
    };
    // Child 1 runs; Hacienda goes down; child 1 is killed while it is down; child 2 starts, Hacienda returns.
    let mut first = spawn()?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mock.stop();
    println!("hacienda: down");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    first.kill()?; // SIGKILL
    first.wait()?;
    let (done, pending) = journal_counts(&state).await?;
    println!(
        "child 1: killed (SIGKILL) while Hacienda was down; journal: {done} decided, {pending} pending"
    );
    let mut second = spawn()?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mock.start().await;
    println!("hacienda: up again");
    let status = tokio::task::spawn_blocking(move || second.wait()).await??;
    if !status.success() {
        return Err(format!("child 2 failed: {status}").into());
    }

    count(&state, &side, &mock, &out).await
}

/// Enqueues every tenant's ERP records and writes the supplier documents the children answer.
async fn enqueue_all(store: &SqliteStore, state: &Path) -> BoxResult<()> {
    let day = NaiveDate::from_ymd_opt(2026, 12, 5).ok_or("date")?;
    let supplier_key = key(EMISOR_P12)?;
    for (tenant, e, terminal) in tenants() {
        let mut ops = Vec::new();
        let ced = format!("{tenant}-c-ced");
        let walkin = format!("{tenant}-c-walkin");
        let mut c = Customer::new(&ced, "Cliente Frecuente S.R.L.");
        c.tax_ids.push(TaxId::CrCedula {
            kind: CedulaType::Juridica,
            number: "3109876543".into(),
        });
        c.email = Some("compras@cliente.example".into());
        ops.push(WriteOp::UpsertCustomer(c));
        ops.push(WriteOp::UpsertCustomer(Customer::new(
            &walkin,
            "Cliente de mostrador",
        )));
        let inv_ref = |i: usize| format!("{tenant}-inv-{i}");
        let rejected = [20usize, 21];
        let credit = [40usize, 41, 42, 44, 45, 46, 48];
        for i in 0..INVOICES {
            let customer = if i % 4 == 3 { &walkin } else { &ced };
            let detalle = if rejected.contains(&i) {
                format!("RECHAZAR: servicio {i}")
            } else {
                format!("Servicio de consultoría {i}")
            };
            let mut inv = Invoice::new(
                inv_ref(i),
                PartyRef::external(customer),
                day,
                Currency::from_code("CRC")?,
            )
            .with_line(
                InvoiceLine::new(
                    detalle,
                    dec!(1) + rust_decimal::Decimal::from(i % 3),
                    dec!(12500.50),
                )
                .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
            );
            if i % 5 == 1 {
                inv = inv.with_line(
                    InvoiceLine::new("Repuesto", dec!(3), dec!(1999.99))
                        .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(4)))),
                );
            }
            if credit.contains(&i) {
                inv.due_date = day.checked_add_days(chrono::Days::new(30));
            }
            ops.push(WriteOp::CreateInvoice(inv));
        }
        for i in [0usize, 1, 2, 4, 5, 6, 8, 9] {
            let cn = CreditNote::new(
                format!("{tenant}-cn-{i}"),
                PartyRef::external(if i % 4 == 3 { &walkin } else { &ced }),
                DocRef::external(inv_ref(i)),
                day,
                Currency::from_code("CRC")?,
            )
            .with_line(
                InvoiceLine::new("Bonificación", dec!(1), dec!(1000))
                    .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
            );
            ops.push(WriteOp::CreateCreditNote(cn));
        }
        for (n, i) in [10usize, 12, 13, 14, 16].into_iter().enumerate() {
            let mut nd = Invoice::new(
                format!("{tenant}-nd-{n}"),
                PartyRef::external(&ced),
                day,
                Currency::from_code("CRC")?,
            )
            .with_line(
                InvoiceLine::new("Intereses por mora", dec!(1), dec!(2500))
                    .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
            );
            nd.passthrough = serde_json::json!({ "cr_nota_debito_de": inv_ref(i) });
            ops.push(WriteOp::CreateInvoice(nd));
        }
        for i in credit {
            let amount = dec!(5000);
            let p = Payment::new(
                format!("{tenant}-pay-{i}"),
                PartyRef::external(&ced),
                day,
                Currency::from_code("CRC")?,
                amount,
            )
            .apply_to(DocRef::external(inv_ref(i)), amount);
            ops.push(WriteOp::RecordPayment(p));
        }
        let records: Vec<NewRecord> = ops
            .into_iter()
            .map(|op| NewRecord::new(scope(&tenant), op))
            .collect();
        store.enqueue(&records).await?;

        // Supplier invoices received by this tenant (its emisor is their receptor).
        let dir = state.join("supplier").join(&tenant);
        std::fs::create_dir_all(&dir)?;
        let fecha = chrono::DateTime::parse_from_rfc3339("2026-12-04T09:00:00-06:00")?;
        for k in 0..SUPPLIER_DOCS {
            let numero = u64::try_from(e * 100 + usize::try_from(terminal)? * 10 + k + 1)?;
            let mut doc = cr_einvoice::demo::comprobante(
                TipoDocumento::FacturaElectronica,
                cr_einvoice::SchemaRevision::V2026,
                fecha,
                2,
            )?;
            doc.clave = cr_einvoice::demo::clave(
                TipoDocumento::FacturaElectronica,
                numero,
                &fecha,
                SUPPLIER,
            )?;
            doc.emisor.identificacion = Some(Identificacion::new(
                TipoIdentificacion::CedulaJuridica,
                SUPPLIER,
            ));
            if let Some(r) = doc.receptor.as_mut() {
                r.identificacion = Some(Identificacion::new(
                    TipoIdentificacion::CedulaJuridica,
                    EMISORES[e].0,
                ));
            }
            doc.compute_totals()?;
            let signed =
                doc.to_signed_xml(&supplier_key, &cr_einvoice::xades::SignOptions::new())?;
            std::fs::write(dir.join(format!("{k}.xml")), signed)?;
        }
    }
    Ok(())
}

/// A child process: runs the hub and answers the supplier documents until everything is settled.
async fn child(state: &Path, uri: &str) -> BoxResult<()> {
    // The step's backlog gauge (`cr_hacienda_backlog{tenant}`) through the metrics facade, sampled while the
    // hub runs and printed by child 2 (child 1 is killed).
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let sampler = tokio::spawn(async move {
        loop {
            println!(
                "child: gauge cr_hacienda_backlog (sum over tenants) = {}",
                backlog(&prometheus.render())
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let store = Arc::new(SqliteStore::open(state.join("hub.sqlite")).await?);
    let side = side_db(&state.join("side.sqlite")).await?;
    // The hub's durable journal, in the hub's database next to the queue and the numbering.
    let journal = Arc::new(store.stamp_journal());
    let hacienda = key(HACIENDA_P12)?.certificate().clone();
    let config = HaciendaConfig::sandbox()
        .with_urls(
            format!("{uri}/token"),
            format!("{uri}/recepcion/v1/recepcion"),
        )
        .with_retry(RetryPolicy::never())
        .with_request_timeout(Duration::from_secs(5));
    let base = HaciendaClient::new(config, PasswordCredentials::new("cpj@stag", "mock"))?;
    let mut step = CrStep::new(
        journal,
        store.clone(),
        Arc::new(SqliteDirectory(side.clone())),
    )
    .with_hacienda_certificate(hacienda)
    .with_poll_after(Duration::from_millis(50));
    for (tenant, e, terminal) in tenants() {
        let p = profile(state, e, terminal)?;
        let k = p.load_key()?;
        let client = base.with_tenant(
            &tenant,
            PasswordCredentials::new(format!("{tenant}@stag"), "mock"),
        );
        step = step.with_tenant(&tenant, p, k, client);
    }
    let step = Arc::new(step);
    let hub = Hub::new(
        store.clone(),
        HubConfig::default()
            .with_workers(4)
            .with_max_attempts(400)
            .with_poll(Duration::from_millis(20))
            .with_backoff(Duration::from_millis(30), Duration::from_millis(300))
            .with_lease(Duration::from_secs(3), Duration::from_millis(500)),
    );
    for (tenant, _, _) in tenants() {
        let erp = Arc::new(FakeErp {
            pool: side.clone(),
            tenant: tenant.clone(),
        });
        hub.register(
            scope(&tenant),
            Arc::new(FiscalAdapter::new(erp, step.clone(), &tenant)),
        );
    }
    let answers = {
        let step = step.clone();
        let state = state.to_path_buf();
        tokio::spawn(async move {
            answer_suppliers(&step, &state)
                .await
                .map_err(|e| e.to_string())
        })
    };
    let status = hub.run_until_settled().await?;
    answers
        .await?
        .map_err(|e| format!("answering supplier documents: {e}"))?;
    sampler.abort();
    for s in status {
        println!(
            "child: scope {} done {} dead {}",
            s.scope.tenant, s.done, s.dead
        );
    }
    println!("child: settled; backlog={}", backlog_now(&step));
    Ok(())
}

/// The sum of `cr_hacienda_backlog` over the tenants in Prometheus text.
fn backlog(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("cr_hacienda_backlog{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn backlog_now(step: &CrStep) -> usize {
    tenants().iter().map(|(t, _, _)| step.backlog(t)).sum()
}

/// MensajeReceptor for every supplier document, retried (as the hub would) until Hacienda decides.
async fn answer_suppliers(step: &CrStep, state: &Path) -> BoxResult<()> {
    for (tenant, e, _) in tenants() {
        let receiver = Receiver::new(EMISORES[e].0)
            .with_codigo_actividad("620100")
            .accept_any_issuer();
        for k in 0..SUPPLIER_DOCS {
            let xml = std::fs::read(
                state
                    .join("supplier")
                    .join(&tenant)
                    .join(format!("{k}.xml")),
            )?;
            let respuesta = if k == 0 {
                Respuesta::aceptado_parcial(
                    CondicionImpuesto::CreditoGeneral,
                    "Se acepta parcialmente",
                )
            } else {
                Respuesta::aceptado(CondicionImpuesto::CreditoGeneral)
            };
            let mut tries = 0u32;
            loop {
                tries += 1;
                match step
                    .respond_received(&tenant, &receiver, &xml, &respuesta)
                    .await
                {
                    Ok(_) | Err(CrHubError::Rechazado { .. }) => break,
                    Err(
                        e @ (CrHubError::Pending { .. }
                        | CrHubError::Contingencia { .. }
                        | CrHubError::Uncertain { .. }),
                    ) if tries < 400 => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

async fn side_db(path: &Path) -> BoxResult<SqlitePool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    // One connection: every read-modify-write below is serialised.
    Ok(sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

async fn init_side(pool: &SqlitePool) -> BoxResult<()> {
    for s in [
        "CREATE TABLE IF NOT EXISTS directory (tenant TEXT NOT NULL, kind TEXT NOT NULL, external_ref TEXT NOT NULL, \
         json TEXT NOT NULL, PRIMARY KEY (tenant, kind, external_ref))",
        "CREATE TABLE IF NOT EXISTS erp_records (tenant TEXT NOT NULL, idem_key TEXT NOT NULL, kind TEXT NOT NULL, \
         external_ref TEXT NOT NULL, remote_id TEXT NOT NULL, PRIMARY KEY (tenant, idem_key))",
        "CREATE TABLE IF NOT EXISTS erp_stamps (tenant TEXT NOT NULL, idem_key TEXT NOT NULL, kind TEXT NOT NULL, \
         remote_id TEXT NOT NULL, clave TEXT NOT NULL, certifier TEXT NOT NULL, PRIMARY KEY (tenant, idem_key))",
    ] {
        sqlx::query(s).execute(pool).await?;
    }
    Ok(())
}

fn db(e: sqlx::Error) -> Error {
    Error::transient(format!("example database: {e}"))
}

fn json_err(e: serde_json::Error) -> Error {
    Error::conflict(format!("example database: bad JSON: {e}"))
}

/// The step's customers and items, durable.
struct SqliteDirectory(SqlitePool);

impl SqliteDirectory {
    async fn put(&self, tenant: &str, kind: &str, r: &str, json: String) -> HubResult<()> {
        sqlx::query("INSERT OR REPLACE INTO directory (tenant, kind, external_ref, json) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(kind)
            .bind(r)
            .bind(json)
            .execute(&self.0)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl Directory for SqliteDirectory {
    async fn put_customer(&self, tenant: &str, customer: &Customer) -> HubResult<()> {
        self.put(
            tenant,
            "customer",
            &customer.external_ref,
            serde_json::to_string(customer).map_err(json_err)?,
        )
        .await
    }

    async fn customer(&self, tenant: &str, external_ref: &str) -> HubResult<Option<Customer>> {
        let row = sqlx::query("SELECT json FROM directory WHERE tenant = $1 AND kind = 'customer' AND external_ref = $2")
            .bind(tenant)
            .bind(external_ref)
            .fetch_optional(&self.0)
            .await
            .map_err(db)?;
        match row {
            Some(r) => Ok(Some(
                serde_json::from_str(&r.try_get::<String, _>("json").map_err(db)?)
                    .map_err(json_err)?,
            )),
            None => Ok(None),
        }
    }

    async fn put_item(&self, tenant: &str, item: &Item) -> HubResult<()> {
        self.put(
            tenant,
            "item",
            &item.external_ref,
            serde_json::to_string(item).map_err(json_err)?,
        )
        .await
    }

    async fn items(&self, tenant: &str) -> HubResult<BTreeMap<String, Item>> {
        let rows = sqlx::query("SELECT json FROM directory WHERE tenant = $1 AND kind = 'item'")
            .bind(tenant)
            .fetch_all(&self.0)
            .await
            .map_err(db)?;
        let mut out = BTreeMap::new();
        for r in rows {
            let item: Item = serde_json::from_str(&r.try_get::<String, _>("json").map_err(db)?)
                .map_err(json_err)?;
            out.insert(item.external_ref.clone(), item);
        }
        Ok(out)
    }
}

/// A fake ERP whose records and attached stamps survive the kill (idempotent by key).
struct FakeErp {
    pool: SqlitePool,
    tenant: String,
}

impl FakeErp {
    async fn write(
        &self,
        kind: EntityKind,
        external_ref: &str,
        key: &IdempotencyKey,
    ) -> HubResult<RemoteRef> {
        let id = format!("{}-{:016x}", kind.as_str(), rand::random::<u64>());
        sqlx::query("INSERT OR IGNORE INTO erp_records (tenant, idem_key, kind, external_ref, remote_id) VALUES ($1, $2, $3, $4, $5)")
            .bind(&self.tenant)
            .bind(key.as_str())
            .bind(kind.as_str())
            .bind(external_ref)
            .bind(&id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let row =
            sqlx::query("SELECT remote_id FROM erp_records WHERE tenant = $1 AND idem_key = $2")
                .bind(&self.tenant)
                .bind(key.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        Ok(RemoteRef::new(
            "fake-erp",
            row.try_get::<String, _>("remote_id").map_err(db)?,
        ))
    }
}

#[async_trait]
impl ErpAdapter for FakeErp {
    fn provider(&self) -> &'static str {
        "fake-erp"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
    }
    async fn test_connection(&self) -> HubResult<CompanyInfo> {
        Ok(CompanyInfo::new(&self.tenant, &self.tenant))
    }
    async fn upsert_customer(&self, c: &Customer, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(EntityKind::Customer, &c.external_ref, k).await
    }
    async fn upsert_item(&self, i: &Item, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(EntityKind::Item, &i.external_ref, k).await
    }
    async fn create_invoice(&self, i: &Invoice, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(EntityKind::Invoice, &i.external_ref, k).await
    }
    async fn void_invoice(&self, _: &RemoteRef, _: &IdempotencyKey) -> HubResult<RemoteRef> {
        Err(Error::unsupported("void_invoice"))
    }
    async fn record_payment(&self, p: &Payment, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(EntityKind::Payment, &p.external_ref, k).await
    }
    async fn create_credit_note(&self, c: &CreditNote, k: &IdempotencyKey) -> HubResult<RemoteRef> {
        self.write(EntityKind::CreditNote, &c.external_ref, k).await
    }
    async fn get(&self, kind: EntityKind, id: &str) -> HubResult<RemoteRecord> {
        Err(Error::not_found(kind.as_str(), id))
    }
    async fn list_changed_since(
        &self,
        _: &[EntityKind],
        _: Option<&ChangeCursor>,
    ) -> HubResult<ChangePage> {
        Err(Error::unsupported("list_changed_since"))
    }
    async fn attach_fiscal_stamp(
        &self,
        kind: EntityKind,
        record: &RemoteRef,
        stamp: &FiscalStamp,
        key: &IdempotencyKey,
    ) -> HubResult<RemoteRef> {
        sqlx::query("INSERT OR IGNORE INTO erp_stamps (tenant, idem_key, kind, remote_id, clave, certifier) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&self.tenant)
            .bind(key.as_str())
            .bind(kind.as_str())
            .bind(&record.id)
            .bind(&stamp.uuid)
            .bind(&stamp.certifier)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(record.clone())
    }
}

/// Every journal entry of the run, read through the hub's `StampJournal`: one key per ERP record that can carry
/// a comprobante and per supplier document (`mr:<clave>`).
async fn journal_entries(state: &Path) -> BoxResult<Vec<(String, JournalEntry)>> {
    let store = SqliteStore::open(state.join("hub.sqlite")).await?;
    let journal = store.stamp_journal();
    let mut keys = Vec::new();
    for r in store.records(&RecordFilter::all()).await? {
        if matches!(
            r.kind,
            EntityKind::Invoice | EntityKind::CreditNote | EntityKind::Payment
        ) {
            keys.push(FiscalKey::new(&r.scope.tenant, r.kind, &r.external_ref));
        }
    }
    for (tenant, _, _) in tenants() {
        for k in 0..SUPPLIER_DOCS {
            let xml = std::fs::read(
                state
                    .join("supplier")
                    .join(&tenant)
                    .join(format!("{k}.xml")),
            )?;
            let clave = cr_einvoice::Comprobante::from_xml(&xml)?.clave;
            keys.push(FiscalKey::new(
                &tenant,
                EntityKind::Invoice,
                format!("mr:{}", clave.as_str()),
            ));
        }
    }
    let mut out = Vec::new();
    for key in keys {
        if let Some(e) = journal.get(&key).await? {
            out.push((key.tenant.clone(), e));
        }
    }
    Ok(out)
}

/// (decided, pending) entries of the journal.
async fn journal_counts(state: &Path) -> BoxResult<(usize, usize)> {
    let all = journal_entries(state).await?;
    let done = all
        .iter()
        .filter(|(_, e)| matches!(e, JournalEntry::Stamped(_)))
        .count();
    Ok((done, all.len() - done))
}

/// Counts from the mock's records, the journal and the numbering store; writes every document.
async fn count(state: &Path, side: &SqlitePool, mock: &HaciendaMock, out: &Path) -> BoxResult<()> {
    let records = mock.records();
    let store = SqliteStore::open(state.join("hub.sqlite")).await?;
    let rows = journal_entries(state).await?;
    let mut journalled: HashMap<String, FiscalStamp> = HashMap::new();
    let mut pending = 0usize;
    let mut by_series: HashMap<(String, String), Vec<u64>> = HashMap::new();
    let (mut contingencia, mut files) = (0usize, 0usize);
    for (tenant, entry) in rows {
        let JournalEntry::Stamped(s) = entry else {
            pending += 1;
            continue;
        };
        let dir = out.join(&tenant);
        std::fs::create_dir_all(&dir)?;
        let series = s.series.clone().unwrap_or_default();
        let numero: u64 = s.folio.as_deref().unwrap_or("0").parse()?;
        let emisor = match &s.xml {
            x if x.contains("<MensajeReceptor") => cr_einvoice::parse::documento(x.as_bytes())
                .ok()
                .and_then(|d| match d {
                    cr_einvoice::Documento::MensajeReceptor(m) => {
                        Some(m.numero_cedula_receptor.clone())
                    }
                    _ => None,
                }),
            _ => s
                .uuid
                .get(9..21)
                .map(|c| c.trim_start_matches('0').to_owned()),
        }
        .unwrap_or_default();
        by_series
            .entry((emisor.clone(), series.clone()))
            .or_default()
            .push(numero);
        if !s.uuid.contains('-') && s.uuid.get(41..42) != Some("1") {
            contingencia += 1;
        }
        std::fs::write(dir.join(format!("{series}-{numero:010}.xml")), &s.xml)?;
        files += 1;
        let mh = store
            .get(&Series::new(&emisor, MENSAJE_HACIENDA_SERIES), &s.uuid)
            .await?;
        if let Some(mh) = mh {
            std::fs::write(
                dir.join(format!("{series}-{numero:010}.respuesta.xml")),
                &mh.document,
            )?;
            files += 1;
        }
        journalled.insert(s.uuid.clone(), s);
    }
    // Gaps and reuse per series, from the numbers carried by the documents and the store's counters.
    let (mut gaps, mut reused, mut issued) = (0u64, 0usize, 0u64);
    for ((emisor, series), mut numbers) in by_series {
        let last = store.last(&Series::new(&emisor, &series)).await?;
        issued += last;
        numbers.sort_unstable();
        let distinct: HashSet<u64> = numbers.iter().copied().collect();
        reused += numbers.len() - distinct.len();
        gaps += (1..=last).filter(|n| !distinct.contains(n)).count() as u64;
    }
    let submitted = records.values().filter(|r| r.posts > 0).count();
    let aceptado = records
        .values()
        .filter(|r| r.decision.as_deref() == Some("aceptado"))
        .count();
    let rechazado = records
        .values()
        .filter(|r| r.decision.as_deref() == Some("rechazado"))
        .count();
    let resubmitted: u32 = records.values().map(|r| r.posts_after_202).sum();
    // Lost: a document with a consecutivo that Hacienda never decided, or a decision the journal lacks.
    let decided: HashSet<&String> = records
        .iter()
        .filter(|(_, r)| r.decision.is_some())
        .map(|(k, _)| k)
        .collect();
    let lost = pending
        + journalled.keys().filter(|k| !decided.contains(k)).count()
        + decided
            .iter()
            .filter(|k| !journalled.contains_key(**k))
            .count()
        + usize::try_from(issued)?.saturating_sub(journalled.len());
    let attached: HashSet<String> = sqlx::query("SELECT clave FROM erp_stamps")
        .fetch_all(side)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String, _>("clave").ok())
        .collect();
    let erp_clave_missing = journalled
        .values()
        .filter(|s| s.certifier == ACCEPTED && !s.uuid.contains('-') && !attached.contains(&s.uuid))
        .count();
    let dead = store.status().await?.iter().map(|s| s.dead).sum::<u64>();
    // The contingency backlog as the sync log shows it: attempts that ended "contingencia … queued".
    let mut queued_attempts = 0;
    for r in store.records(&RecordFilter::all()).await? {
        if let Some(log) = store.record(r.id).await? {
            queued_attempts += log
                .history
                .iter()
                .filter(|a| {
                    a.message
                        .as_deref()
                        .is_some_and(|m| m.contains("contingencia"))
                })
                .count();
        }
    }
    println!("sync_log: {queued_attempts} attempts ended 'contingencia: … issued and queued'");
    println!(
        "documents={} files={files} dead_letters={dead} erp_clave_missing={erp_clave_missing}",
        journalled.len()
    );
    println!(
        "submitted={submitted} aceptado={aceptado} rechazado={rechazado} contingencia={contingencia} resubmitted_202={resubmitted} lost={lost} consecutivo_gaps={gaps} consecutivo_reused={reused}"
    );
    Ok(())
}
