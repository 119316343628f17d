//! The reference bridge (feature `testing`): [`MockContpaqi`], an HTTP server on a local port that implements
//! `bridge/openapi.yaml` and simulates the CONTPAQi SDK in memory.
//!
//! What it simulates, as a Windows agent on the SDK behaves:
//! - **one SDK thread**: accepted jobs go to a queue executed one at a time, in order, by a worker thread
//!   (`queued` → `running` → `done`/`failed`), so clients really poll;
//! - **folio allocation** per concepto and serie (`fSiguienteFolio`); an explicit folio already used is a
//!   duplicate;
//! - **catalogues**: a document whose cliente, producto or concepto does not exist fails (missing catalogue
//!   entry), a second cliente with a razón social already used fails as a duplicate naming the existing código;
//! - **balances**: `CPENDIENTE` of cargos and abonos, applying more than what is pending fails and applies nothing;
//! - **idempotency**: the same key returns the same job unless it failed; the same key with another payload is
//!   `409`; unknown job types and other contract versions are typed `4xx`;
//! - **stamping**: `timbrar` gives a document a UUID once; a second `timbrar` fails (already stamped).
//!
//! The numeric error codes are this simulator's ([`codes`]); a real agent reports the SDK's own numbers from
//! `fError` with the same `kind` classification (see `WINDOWS_AGENT.md`).
//!
//! Faults for tests: [`FaultHook`] (`429` storms, a write refused after `n` others), [`MockContpaqi::pause`]
//! (jobs stay queued), [`MockContpaqi::restrict_job_types`] and [`MockContpaqi::set_contract_major`] (an older or
//! newer bridge). Every response is recorded ([`MockContpaqi::responses`]) so tests check them against the
//! OpenAPI document.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use chrono::Utc;
use erp_hub_core::http::wire::Amount;
use erp_hub_core::model::AccountMapping;
use erp_hub_core::testing::conformance::FaultHook;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::config::{Conceptos, ContpaqiConfig, PollPolicy};
use crate::wire::{
    AltaDocumento, Cancelar, ChangeEntry, Cliente, Consulta, DocKey, Documento, Entidad,
    ErrorSource, Job, JobAccepted, JobResult, JobStatus, JobType, Naturaleza, Producto, Saldar,
    SdkErrorBody, SdkErrorKind, Timbrar, UpsertCliente, UpsertProducto,
};

/// The API key the reference bridge accepts.
pub const API_KEY: &str = "mock-bridge-key";
/// The company's RFC.
pub const COMPANY_RFC: &str = "EKU9003173C9";

/// The simulator's error codes (a real agent reports the SDK's numbers).
pub mod codes {
    /// A código (cliente/producto) or document key already exists.
    pub const DUPLICATE: i64 = 101;
    /// A cliente/proveedor with this razón social already exists (agent check).
    pub const DUPLICATE_RAZON_SOCIAL: i64 = 9001;
    /// The cliente of a document does not exist.
    pub const NO_CLIENTE: i64 = 201;
    /// A producto of a movimiento does not exist.
    pub const NO_PRODUCTO: i64 = 202;
    /// The concepto does not exist.
    pub const NO_CONCEPTO: i64 = 203;
    /// The document does not exist.
    pub const NO_DOCUMENTO: i64 = 204;
    /// The amount exceeds what is pending.
    pub const EXCEEDS_PENDING: i64 = 301;
    /// A business rule refused the operation (injected with `reject_write_after`).
    pub const BUSINESS_RULE: i64 = 302;
    /// The document is cancelled.
    pub const CANCELLED: i64 = 303;
    /// The document has payments applied and cannot be cancelled.
    pub const HAS_PAYMENTS: i64 = 304;
    /// The document is already stamped.
    pub const ALREADY_STAMPED: i64 = 305;
    /// The record changed since the given `CTIMESTAMP` (agent check).
    pub const STALE_TIMESTAMP: i64 = 9002;
}

/// One response the bridge gave, for checking against the OpenAPI document.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedResponse {
    /// HTTP method.
    pub method: String,
    /// The OpenAPI path template (`/v1/jobs/{job_id}`), or the raw path when it matches none.
    pub path: String,
    /// Status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// The request's JSON body, when it had one.
    pub request: Option<Value>,
}

struct JobEntry {
    job: Job,
    payload: Value,
}

struct Sdk {
    conceptos: Conceptos,
    clientes: BTreeMap<String, Cliente>,
    productos: BTreeMap<String, Producto>,
    documentos: BTreeMap<String, Documento>,
    folios: HashMap<(String, String), i64>,
    next_id: i64,
    stamp: u64,
    changes: Vec<ChangeEntry>,
}

struct State {
    jobs: BTreeMap<String, JobEntry>,
    keys: HashMap<String, String>,
    next_job: u64,
    sdk: Sdk,
    throttle: usize,
    lose_answers: usize,
    reject_after: Option<usize>,
    paused: bool,
    exec_delay: Duration,
    job_types: Vec<JobType>,
    contract_major: u32,
    responses: Vec<RecordedResponse>,
    executed: Vec<(JobType, String)>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

const ALL_TYPES: [JobType; 7] = [
    JobType::UpsertCliente,
    JobType::UpsertProducto,
    JobType::AltaDocumento,
    JobType::Saldar,
    JobType::Timbrar,
    JobType::Cancelar,
    JobType::Consulta,
];

/// The reference bridge. Dropping it stops the server and its SDK thread.
pub struct MockContpaqi {
    server: MockServer,
    state: Arc<Mutex<State>>,
    _tx: mpsc::Sender<String>,
}

impl std::fmt::Debug for MockContpaqi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockContpaqi")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl MockContpaqi {
    /// Starts the bridge with the default conceptos and the generic producto in the catalogue.
    pub async fn start() -> Self {
        let conceptos = Conceptos::default();
        let mut sdk = Sdk {
            conceptos: conceptos.clone(),
            clientes: BTreeMap::new(),
            productos: BTreeMap::new(),
            documentos: BTreeMap::new(),
            folios: HashMap::new(),
            next_id: 1,
            stamp: 0,
            changes: Vec::new(),
        };
        let generic = UpsertProducto {
            codigo: conceptos.producto_generico.clone(),
            nombre: "Servicio".into(),
            tipo: crate::wire::TipoProducto::Servicio,
            descripcion: None,
            precio: None,
            clave_sat: Some("84111506".into()),
            unidad: Some("E48".into()),
        };
        let _ = sdk.upsert_producto(&generic);
        sdk.changes.clear();
        let state = Arc::new(Mutex::new(State {
            jobs: BTreeMap::new(),
            keys: HashMap::new(),
            next_job: 1,
            sdk,
            throttle: 0,
            lose_answers: 0,
            reject_after: None,
            paused: false,
            exec_delay: Duration::ZERO,
            job_types: ALL_TYPES.to_vec(),
            contract_major: 1,
            responses: Vec::new(),
            executed: Vec::new(),
        }));
        let (tx, rx) = mpsc::channel::<String>();
        let worker_state = Arc::clone(&state);
        // The single SDK thread: jobs run one at a time, in the order they were accepted.
        thread::spawn(move || {
            while let Ok(id) = rx.recv() {
                loop {
                    let (paused, delay) = {
                        let st = lock(&worker_state);
                        (st.paused, st.exec_delay)
                    };
                    if !paused {
                        if !delay.is_zero() {
                            if let Some(e) = lock(&worker_state).jobs.get_mut(&id) {
                                e.job.status = JobStatus::Running;
                            }
                            thread::sleep(delay);
                        }
                        break;
                    }
                    thread::sleep(Duration::from_millis(2));
                }
                lock(&worker_state).execute(&id);
            }
        });
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Responder {
                state: Arc::clone(&state),
                tx: Mutex::new(tx.clone()),
            })
            .mount(&server)
            .await;
        Self {
            server,
            state,
            _tx: tx,
        }
    }

    /// The bridge's base URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A config pointing at this bridge with its API key and fast polling (2 ms doubling to 20 ms, 5 s).
    pub fn config(&self) -> ContpaqiConfig {
        let mut c = ContpaqiConfig::new(&self.uri(), API_KEY.into())
            .unwrap_or_else(|_| unreachable!("the mock's URI is a valid http URL"));
        c.poll = PollPolicy::new(
            Duration::from_millis(2),
            Duration::from_millis(20),
            Duration::from_secs(5),
        );
        c.retry = c.retry.with_base_delay(Duration::from_millis(1));
        c
    }

    /// The tax mapping the conformance suite needs, in the CONTPAQi slot grammar.
    pub fn mapping() -> AccountMapping {
        let mut m = AccountMapping::new("contpaqi");
        for (k, v) in [
            ("NONE", "NONE"),
            ("IVA16", "impuesto1"),
            ("IVA0", "impuesto1"),
            ("IVA-EXEMPT", "exento"),
            ("IVA16+RET-ISR10", "impuesto1+retencion2"),
            (
                "IVA16+RET-IVA10.6667+RET-ISR10",
                "impuesto1+retencion1+retencion2",
            ),
            ("IEPS8+IVA16", "impuesto2+impuesto1"),
        ] {
            m.tax_codes.insert(k.into(), v.into());
        }
        m
    }

    /// Holds (`true`) or releases (`false`) the SDK thread: accepted jobs stay `queued` while held.
    pub fn pause(&self, paused: bool) {
        lock(&self.state).paused = paused;
    }

    /// How long each job runs (its status is `running` meanwhile).
    pub fn set_exec_delay(&self, delay: Duration) {
        lock(&self.state).exec_delay = delay;
    }

    /// Makes the bridge accept only these job types (an older agent); others are `400 unknown_job_type`.
    pub fn restrict_job_types(&self, types: &[JobType]) {
        lock(&self.state).job_types = types.to_vec();
    }

    /// Makes the bridge implement another contract major version: its paths are `/v{major}` and `/v1` paths
    /// are `404 unsupported_version`.
    pub fn set_contract_major(&self, major: u32) {
        lock(&self.state).contract_major = major;
    }

    /// Makes the next `n` accepted job submissions answer `503` after queuing the job (a lost answer).
    pub fn lose_answers(&self, n: usize) {
        lock(&self.state).lose_answers = n;
    }

    /// Every response so far.
    pub fn responses(&self) -> Vec<RecordedResponse> {
        lock(&self.state).responses.clone()
    }

    /// The write jobs the SDK thread executed successfully, in order (type, idempotency key).
    pub fn executed(&self) -> Vec<(JobType, String)> {
        lock(&self.state).executed.clone()
    }

    /// All documents.
    pub fn documentos(&self) -> Vec<Documento> {
        lock(&self.state).sdk.documentos.values().cloned().collect()
    }

    /// All clientes.
    pub fn clientes(&self) -> Vec<Cliente> {
        lock(&self.state).sdk.clientes.values().cloned().collect()
    }

    /// How many stamps were made.
    pub fn stamps(&self) -> u64 {
        lock(&self.state).sdk.stamp
    }
}

#[async_trait::async_trait]
impl FaultHook for MockContpaqi {
    async fn rate_limit_next(&self, n: usize) {
        lock(&self.state).throttle = n;
    }

    /// The bridge authenticates with a static API key: there is no token to expire.
    async fn expire_token(&self) {}

    async fn reject_write_after(&self, skip: usize) -> bool {
        lock(&self.state).reject_after = Some(skip);
        true
    }

    async fn clear_faults(&self) {
        let mut st = lock(&self.state);
        st.throttle = 0;
        st.lose_answers = 0;
        st.reject_after = None;
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
    tx: Mutex<mpsc::Sender<String>>,
}

struct Reply {
    status: u16,
    template: String,
    body: Value,
    retry_after: bool,
}

fn problem(status: u16, template: &str, code: &str, message: impl Into<String>) -> Reply {
    Reply {
        status,
        template: template.into(),
        body: json!({"code": code, "message": message.into()}),
        retry_after: false,
    }
}

fn ok(status: u16, template: &str, body: Value) -> Reply {
    Reply {
        status,
        template: template.into(),
        body,
        retry_after: false,
    }
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let (reply, queued) = {
            let mut st = lock(&self.state);
            let r = st.handle(req);
            let method = req.method.to_string();
            st.responses.push(RecordedResponse {
                method,
                path: r.0.template.clone(),
                status: r.0.status,
                body: r.0.body.clone(),
                request: serde_json::from_slice(&req.body).ok(),
            });
            r
        };
        if let Some(id) = queued {
            let _ = self
                .tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(id);
        }
        let mut t = ResponseTemplate::new(reply.status).set_body_json(reply.body);
        if reply.retry_after {
            t = t.insert_header("Retry-After", "0");
        }
        t
    }
}

fn sdk_err(code: i64, kind: SdkErrorKind, message: impl Into<String>) -> SdkErrorBody {
    SdkErrorBody {
        source: if code >= 9000 {
            ErrorSource::Bridge
        } else {
            ErrorSource::Sdk
        },
        code,
        message: message.into(),
        kind,
        existing: None,
    }
}

fn payload_ok(t: JobType, p: &Value) -> Result<(), String> {
    fn check<T: serde::de::DeserializeOwned>(p: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(p.clone())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    match t {
        JobType::UpsertCliente => check::<UpsertCliente>(p),
        JobType::UpsertProducto => check::<UpsertProducto>(p),
        JobType::AltaDocumento => check::<AltaDocumento>(p),
        JobType::Saldar => check::<Saldar>(p),
        JobType::Timbrar => check::<Timbrar>(p),
        JobType::Cancelar => check::<Cancelar>(p),
        JobType::Consulta => check::<Consulta>(p),
    }
}

impl State {
    fn handle(&mut self, req: &Request) -> (Reply, Option<String>) {
        let path = req.url.path().to_owned();
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {API_KEY}") {
            return (
                problem(401, &path, "unauthorized", "missing or wrong API key"),
                None,
            );
        }
        if self.throttle > 0 {
            self.throttle -= 1;
            let mut r = problem(429, "/v1/jobs", "queue_full", "the job queue is full");
            r.retry_after = true;
            return (r, None);
        }
        let version = format!("/v{}/", self.contract_major);
        let Some(rest) = path.strip_prefix(&version) else {
            let mut r = problem(
                404,
                &path,
                "unsupported_version",
                format!("this bridge implements contract v{}", self.contract_major),
            );
            r.body["supported"] = json!([format!("v{}", self.contract_major)]);
            return (r, None);
        };
        let method = req.method.as_str();
        match (method, rest) {
            ("GET", "health") => (ok(200, "/v1/health", self.health()), None),
            ("POST", "jobs") => {
                let (reply, queued) = self.submit(&req.body);
                if self.lose_answers > 0 && reply.status < 300 {
                    // The job is queued (or found), but the answer is lost.
                    self.lose_answers -= 1;
                    let lost = problem(
                        503,
                        "/v1/jobs",
                        "unavailable",
                        "the agent failed while answering",
                    );
                    return (lost, queued);
                }
                (reply, queued)
            }
            ("GET", "changes") => (self.changes(req), None),
            ("GET", r) if r.starts_with("jobs/") => {
                let id = &r["jobs/".len()..];
                match self.jobs.get(id) {
                    Some(e) => (
                        ok(
                            200,
                            "/v1/jobs/{job_id}",
                            serde_json::to_value(&e.job).unwrap_or_default(),
                        ),
                        None,
                    ),
                    None => (
                        problem(
                            404,
                            "/v1/jobs/{job_id}",
                            "job_not_found",
                            format!("no job {id}"),
                        ),
                        None,
                    ),
                }
            }
            _ => (
                problem(
                    404,
                    &path,
                    "not_found",
                    format!("no endpoint {method} {path}"),
                ),
                None,
            ),
        }
    }

    fn health(&self) -> Value {
        json!({
            "contract_version": format!("{}.0.0", self.contract_major),
            "job_types": self.job_types,
            "sdk_version": "CONTPAQi Comercial 11.5.1 (simulated)",
            "company": {"name": "Empresa de Prueba SA de CV", "rfc": COMPANY_RFC,
                        "path": "C:\\Compac\\Empresas\\adPRUEBA", "currency": "MXN"},
            "license": {"state": "valid"},
            "queue_depth": self.jobs.values().filter(|j| j.job.status == JobStatus::Queued).count(),
        })
    }

    fn changes(&self, req: &Request) -> Reply {
        let mut after = 0i64;
        let mut limit = 100usize;
        for (k, v) in req.url.query_pairs() {
            match k.as_ref() {
                "after" => match v.parse::<i64>() {
                    Ok(n) if n >= 0 => after = n,
                    _ => {
                        return problem(
                            400,
                            "/v1/changes",
                            "invalid_cursor",
                            format!("bad cursor {v:?}"),
                        );
                    }
                },
                "limit" => limit = v.parse::<usize>().unwrap_or(100).clamp(1, 500),
                _ => {}
            }
        }
        let pending: Vec<&ChangeEntry> =
            self.sdk.changes.iter().filter(|c| c.seq > after).collect();
        let page: Vec<&ChangeEntry> = pending.iter().take(limit).copied().collect();
        let next = page.last().map_or(after, |c| c.seq);
        ok(
            200,
            "/v1/changes",
            json!({"changes": page, "next": next.to_string(), "has_more": pending.len() > page.len()}),
        )
    }

    fn submit(&mut self, body: &[u8]) -> (Reply, Option<String>) {
        const T: &str = "/v1/jobs";
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return (
                problem(400, T, "invalid_payload", "the body is not JSON"),
                None,
            );
        };
        let Some(type_name) = v.get("type").and_then(Value::as_str) else {
            return (
                problem(400, T, "invalid_payload", "`type` is missing"),
                None,
            );
        };
        let known: Option<JobType> = serde_json::from_value(json!(type_name)).ok();
        let Some(t) = known.filter(|t| self.job_types.contains(t)) else {
            let mut r = problem(
                400,
                T,
                "unknown_job_type",
                format!("unknown job type {type_name:?}"),
            );
            r.body["field"] = json!("/type");
            r.body["supported"] = json!(self.job_types);
            return (r, None);
        };
        let key = match v.get("idempotency_key").and_then(Value::as_str) {
            Some(k)
                if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                k.to_owned()
            }
            _ => {
                let mut r = problem(
                    400,
                    T,
                    "invalid_payload",
                    "idempotency_key must be 1..=200 printable characters",
                );
                r.body["field"] = json!("/idempotency_key");
                return (r, None);
            }
        };
        let payload = v.get("payload").cloned().unwrap_or(Value::Null);
        if let Err(e) = payload_ok(t, &payload) {
            let mut r = problem(400, T, "invalid_payload", e);
            r.body["field"] = json!("/payload");
            return (r, None);
        }
        if let Some((id, e)) = self
            .keys
            .get(&key)
            .and_then(|id| Some((id, self.jobs.get(id)?)))
        {
            {
                if e.job.job_type != t || e.payload != payload {
                    return (
                        problem(
                            409,
                            T,
                            "idempotency_key_reused",
                            format!("key {key:?} was used for another request"),
                        ),
                        None,
                    );
                }
                if e.job.status != JobStatus::Failed {
                    let acc = JobAccepted {
                        job_id: id.clone(),
                        status: e.job.status,
                    };
                    return (
                        ok(200, T, serde_json::to_value(acc).unwrap_or_default()),
                        None,
                    );
                }
            }
        }
        let id = format!("job-{:06}", self.next_job);
        self.next_job += 1;
        let job = Job {
            job_id: id.clone(),
            job_type: t,
            idempotency_key: key.clone(),
            status: JobStatus::Queued,
            created_at: Utc::now(),
            finished_at: None,
            result: None,
            error: None,
        };
        self.jobs.insert(id.clone(), JobEntry { job, payload });
        self.keys.insert(key, id.clone());
        let acc = JobAccepted {
            job_id: id.clone(),
            status: JobStatus::Queued,
        };
        (
            ok(202, T, serde_json::to_value(acc).unwrap_or_default()),
            Some(id),
        )
    }

    fn execute(&mut self, id: &str) {
        let Some(entry) = self.jobs.get(id) else {
            return;
        };
        let t = entry.job.job_type;
        let payload = entry.payload.clone();
        let key = entry.job.idempotency_key.clone();
        let injected = if t.is_write() {
            match self.reject_after {
                Some(0) => {
                    self.reject_after = None;
                    true
                }
                Some(n) => {
                    self.reject_after = Some(n - 1);
                    false
                }
                None => false,
            }
        } else {
            false
        };
        let outcome = if injected {
            Err(sdk_err(
                codes::BUSINESS_RULE,
                SdkErrorKind::Invalid,
                "Operación rechazada por una regla de negocio",
            ))
        } else {
            self.sdk.run(t, &payload)
        };
        if outcome.is_ok() && t.is_write() {
            self.executed.push((t, key));
        }
        if let Some(e) = self.jobs.get_mut(id) {
            e.job.finished_at = Some(Utc::now());
            match outcome {
                Ok(r) => {
                    e.job.status = JobStatus::Done;
                    e.job.result = Some(r);
                }
                Err(err) => {
                    e.job.status = JobStatus::Failed;
                    e.job.error = Some(err);
                }
            }
        }
    }
}

type SdkResult<T> = Result<T, SdkErrorBody>;

fn parse<T: serde::de::DeserializeOwned>(p: &Value) -> SdkResult<T> {
    serde_json::from_value(p.clone())
        .map_err(|e| sdk_err(1, SdkErrorKind::Invalid, format!("payload: {e}")))
}

fn amt(a: Option<Amount>) -> Decimal {
    a.map_or(Decimal::ZERO, |a| a.0)
}

impl Sdk {
    fn run(&mut self, t: JobType, p: &Value) -> SdkResult<JobResult> {
        let mut r = JobResult::default();
        match t {
            JobType::UpsertCliente => r.cliente = Some(self.upsert_cliente(&parse(p)?)?),
            JobType::UpsertProducto => r.producto = Some(self.upsert_producto(&parse(p)?)?),
            JobType::AltaDocumento => r.documento = Some(self.alta(&parse(p)?)?),
            JobType::Saldar => r.documento = Some(self.saldar(&parse(p)?)?),
            JobType::Timbrar => r.documento = Some(self.timbrar(&parse(p)?)?),
            JobType::Cancelar => r.documento = Some(self.cancelar(&parse(p)?)?),
            JobType::Consulta => {
                let c: Consulta = parse(p)?;
                match c.entidad {
                    Entidad::Cliente => {
                        let codigo = c.codigo.unwrap_or_default();
                        r.cliente = Some(self.clientes.get(&codigo).cloned().ok_or_else(|| {
                            sdk_err(
                                codes::NO_CLIENTE,
                                SdkErrorKind::NotFound,
                                format!("El cliente {codigo} no existe"),
                            )
                        })?);
                    }
                    Entidad::Producto => {
                        let codigo = c.codigo.unwrap_or_default();
                        r.producto =
                            Some(self.productos.get(&codigo).cloned().ok_or_else(|| {
                                sdk_err(
                                    codes::NO_PRODUCTO,
                                    SdkErrorKind::NotFound,
                                    format!("El producto {codigo} no existe"),
                                )
                            })?);
                    }
                    Entidad::Documento => {
                        let k = c.documento.ok_or_else(|| {
                            sdk_err(1, SdkErrorKind::Invalid, "documento is required")
                        })?;
                        r.documento = Some(self.doc(&k)?.clone());
                    }
                }
            }
        }
        Ok(r)
    }

    fn tick(&mut self) -> (i64, String) {
        let id = self.next_id;
        self.next_id += 1;
        (id, format!("{:012}", id))
    }

    fn changed(&mut self, entidad: Entidad, id: String, referencia: Option<String>, deleted: bool) {
        let seq = self.changes.len() as i64 + 1;
        self.changes.push(ChangeEntry {
            seq,
            entidad,
            id,
            referencia,
            deleted,
            at: Some(Utc::now()),
        });
    }

    fn upsert_cliente(&mut self, u: &UpsertCliente) -> SdkResult<Cliente> {
        if let Some(other) = self
            .clientes
            .values()
            .find(|c| c.codigo != u.codigo && c.razon_social.eq_ignore_ascii_case(&u.razon_social))
        {
            let mut e = sdk_err(
                codes::DUPLICATE_RAZON_SOCIAL,
                SdkErrorKind::Duplicate,
                format!(
                    "Ya existe el cliente {} con la razón social {}",
                    other.codigo, other.razon_social
                ),
            );
            e.existing = Some(other.codigo.clone());
            return Err(e);
        }
        let (id, ts) = self.tick();
        let c = match self.clientes.get(&u.codigo) {
            Some(existing) => {
                if let Some(expected) = &u.expected_timestamp
                    && *expected != existing.timestamp
                {
                    {
                        return Err(sdk_err(
                            codes::STALE_TIMESTAMP,
                            SdkErrorKind::Conflict,
                            format!(
                                "El cliente {} cambió (CTIMESTAMP {} ≠ {expected})",
                                u.codigo, existing.timestamp
                            ),
                        ));
                    }
                }
                Cliente {
                    id: existing.id,
                    ..cliente_of(u, ts)
                }
            }
            None => Cliente {
                id,
                ..cliente_of(u, ts)
            },
        };
        self.clientes.insert(u.codigo.clone(), c.clone());
        self.changed(
            Entidad::Cliente,
            c.codigo.clone(),
            Some(c.codigo.clone()),
            false,
        );
        Ok(c)
    }

    fn upsert_producto(&mut self, u: &UpsertProducto) -> SdkResult<Producto> {
        let (id, ts) = self.tick();
        let id = self.productos.get(&u.codigo).map_or(id, |p| p.id);
        let p = Producto {
            id,
            codigo: u.codigo.clone(),
            nombre: u.nombre.clone(),
            tipo: u.tipo,
            descripcion: u.descripcion.clone(),
            precio: u.precio,
            clave_sat: u.clave_sat.clone(),
            unidad: u.unidad.clone(),
            timestamp: ts,
        };
        self.productos.insert(u.codigo.clone(), p.clone());
        self.changed(
            Entidad::Producto,
            p.codigo.clone(),
            Some(p.codigo.clone()),
            false,
        );
        Ok(p)
    }

    fn naturaleza(&self, concepto: &str) -> SdkResult<Naturaleza> {
        if concepto == self.conceptos.factura {
            Ok(Naturaleza::Cargo)
        } else if concepto == self.conceptos.nota_credito || concepto == self.conceptos.pago {
            Ok(Naturaleza::Abono)
        } else {
            Err(sdk_err(
                codes::NO_CONCEPTO,
                SdkErrorKind::NotFound,
                format!("El concepto {concepto} no existe"),
            ))
        }
    }

    fn doc(&self, k: &DocKey) -> SdkResult<&Documento> {
        self.documentos.get(&k.remote_id()).ok_or_else(|| {
            sdk_err(
                codes::NO_DOCUMENTO,
                SdkErrorKind::NotFound,
                format!("El documento {} no existe", k.remote_id()),
            )
        })
    }

    fn cliente_exists(&self, codigo: &str) -> SdkResult<()> {
        if self.clientes.contains_key(codigo) {
            Ok(())
        } else {
            Err(sdk_err(
                codes::NO_CLIENTE,
                SdkErrorKind::NotFound,
                format!("El cliente {codigo} no existe"),
            ))
        }
    }

    /// `fSiguienteFolio`, or the given folio when it is free.
    fn folio(&mut self, concepto: &str, serie: &str, wanted: Option<i64>) -> SdkResult<i64> {
        let next = self
            .folios
            .entry((concepto.to_owned(), serie.to_owned()))
            .or_insert(1);
        let folio = wanted.unwrap_or(*next);
        let key = DocKey::new(concepto, serie, folio).remote_id();
        if self.documentos.contains_key(&key) {
            let mut e = sdk_err(
                codes::DUPLICATE,
                SdkErrorKind::Duplicate,
                format!("El documento {key} ya existe"),
            );
            e.existing = Some(key);
            return Err(e);
        }
        if folio >= *next {
            *next = folio + 1;
        }
        Ok(folio)
    }

    fn alta(&mut self, a: &AltaDocumento) -> SdkResult<Documento> {
        let naturaleza = self.naturaleza(&a.concepto)?;
        self.cliente_exists(&a.cliente)?;
        for m in &a.movimientos {
            if !self.productos.contains_key(&m.producto) {
                return Err(sdk_err(
                    codes::NO_PRODUCTO,
                    SdkErrorKind::NotFound,
                    format!("El producto {} no existe", m.producto),
                ));
            }
        }
        if let Some(rel) = &a.relacionado {
            self.doc(rel)?;
        }
        let folio = self.folio(&a.concepto, &a.serie, a.folio)?;
        let neto: Decimal = a.movimientos.iter().map(|m| m.neto.0).sum();
        let impuestos: Decimal = a
            .movimientos
            .iter()
            .map(|m| amt(m.impuesto1) + amt(m.impuesto2) + amt(m.impuesto3))
            .sum();
        let retenciones: Decimal = a
            .movimientos
            .iter()
            .map(|m| amt(m.retencion1) + amt(m.retencion2))
            .sum();
        let total = neto + impuestos - retenciones;
        let (id, ts) = self.tick();
        let d = Documento {
            id,
            concepto: a.concepto.clone(),
            serie: a.serie.clone(),
            folio,
            naturaleza: Some(naturaleza),
            fecha: a.fecha,
            cliente: a.cliente.clone(),
            moneda: a.moneda.clone(),
            tipo_cambio: a.tipo_cambio,
            referencia: a.referencia.clone(),
            neto: Some(Amount(neto)),
            impuestos: Some(Amount(impuestos)),
            retenciones: Some(Amount(retenciones)),
            total: Amount(total),
            pendiente: Amount(total),
            cancelado: false,
            uuid: None,
            movimientos: a.movimientos.clone(),
            aplicaciones: Vec::new(),
            timestamp: ts,
        };
        let key = d.key().remote_id();
        self.documentos.insert(key.clone(), d.clone());
        self.changed(Entidad::Documento, key, Some(d.referencia.clone()), false);
        Ok(d)
    }

    fn saldar(&mut self, s: &Saldar) -> SdkResult<Documento> {
        // Every check first: a refused saldar applies nothing.
        let available = match (&s.pago, &s.abono) {
            (Some(p), None) => {
                self.naturaleza(&p.concepto)?;
                self.cliente_exists(&p.cliente)?;
                p.total.0
            }
            (None, Some(k)) => {
                let d = self.doc(k)?;
                if d.naturaleza != Some(Naturaleza::Abono) || d.cancelado {
                    return Err(sdk_err(
                        codes::CANCELLED,
                        SdkErrorKind::Invalid,
                        format!("{} no es un abono vigente", k.remote_id()),
                    ));
                }
                d.pendiente.0
            }
            _ => {
                return Err(sdk_err(
                    1,
                    SdkErrorKind::Invalid,
                    "give either pago or abono",
                ));
            }
        };
        let mut sum = Decimal::ZERO;
        for a in &s.aplicaciones {
            let d = self.doc(&a.documento)?;
            if d.cancelado {
                return Err(sdk_err(
                    codes::CANCELLED,
                    SdkErrorKind::Invalid,
                    format!("El documento {} está cancelado", a.documento.remote_id()),
                ));
            }
            if a.importe.0 <= Decimal::ZERO || a.importe.0 > d.pendiente.0 {
                return Err(sdk_err(
                    codes::EXCEEDS_PENDING,
                    SdkErrorKind::Invalid,
                    format!(
                        "El importe {} excede el saldo pendiente {} de {}",
                        a.importe.0,
                        d.pendiente.0,
                        a.documento.remote_id()
                    ),
                ));
            }
            sum += a.importe.0;
        }
        if sum > available {
            return Err(sdk_err(
                codes::EXCEEDS_PENDING,
                SdkErrorKind::Invalid,
                format!("Se aplican {sum}, el abono tiene {available}"),
            ));
        }
        let abono_key = match (&s.pago, &s.abono) {
            (Some(p), _) => {
                let folio = self.folio(&p.concepto, &p.serie, None)?;
                let (id, ts) = self.tick();
                let d = Documento {
                    id,
                    concepto: p.concepto.clone(),
                    serie: p.serie.clone(),
                    folio,
                    naturaleza: Some(Naturaleza::Abono),
                    fecha: p.fecha,
                    cliente: p.cliente.clone(),
                    moneda: p.moneda.clone(),
                    tipo_cambio: p.tipo_cambio,
                    referencia: p.referencia.clone(),
                    neto: None,
                    impuestos: None,
                    retenciones: None,
                    total: p.total,
                    pendiente: p.total,
                    cancelado: false,
                    uuid: None,
                    movimientos: Vec::new(),
                    aplicaciones: Vec::new(),
                    timestamp: ts,
                };
                let k = d.key().remote_id();
                self.documentos.insert(k.clone(), d);
                k
            }
            (None, Some(k)) => k.remote_id(),
            _ => {
                return Err(sdk_err(
                    1,
                    SdkErrorKind::Invalid,
                    "give either pago or abono",
                ));
            }
        };
        for a in &s.aplicaciones {
            if let Some(d) = self.documentos.get_mut(&a.documento.remote_id()) {
                d.pendiente = Amount(d.pendiente.0 - a.importe.0);
            }
        }
        let (_, ts) = self.tick();
        let d = self
            .documentos
            .get_mut(&abono_key)
            .ok_or_else(|| sdk_err(codes::NO_DOCUMENTO, SdkErrorKind::NotFound, "abono"))?;
        d.pendiente = Amount(d.pendiente.0 - sum);
        d.aplicaciones.extend(s.aplicaciones.iter().cloned());
        d.timestamp = ts;
        let d = d.clone();
        self.changed(
            Entidad::Documento,
            abono_key,
            Some(d.referencia.clone()),
            false,
        );
        for a in &s.aplicaciones {
            let r = self
                .documentos
                .get(&a.documento.remote_id())
                .map(|d| d.referencia.clone());
            self.changed(Entidad::Documento, a.documento.remote_id(), r, false);
        }
        Ok(d)
    }

    fn timbrar(&mut self, t: &Timbrar) -> SdkResult<Documento> {
        let k = t.documento.remote_id();
        let d = self.doc(&t.documento)?;
        if d.cancelado {
            return Err(sdk_err(
                codes::CANCELLED,
                SdkErrorKind::Invalid,
                format!("El documento {k} está cancelado"),
            ));
        }
        if let Some(u) = &d.uuid {
            let mut e = sdk_err(
                codes::ALREADY_STAMPED,
                SdkErrorKind::Duplicate,
                format!("El documento {k} ya está timbrado ({u})"),
            );
            e.existing = Some(k);
            return Err(e);
        }
        self.stamp += 1;
        let uuid = format!(
            "5F3A0C1E-{:04X}-4000-8000-{:012X}",
            self.stamp & 0xFFFF,
            self.stamp
        );
        let (_, ts) = self.tick();
        let d = self
            .documentos
            .get_mut(&k)
            .ok_or_else(|| sdk_err(codes::NO_DOCUMENTO, SdkErrorKind::NotFound, "documento"))?;
        d.uuid = Some(uuid);
        d.timestamp = ts;
        Ok(d.clone())
    }

    fn cancelar(&mut self, c: &Cancelar) -> SdkResult<Documento> {
        let k = c.documento.remote_id();
        let d = self.doc(&c.documento)?;
        if d.cancelado {
            return Err(sdk_err(
                codes::CANCELLED,
                SdkErrorKind::Invalid,
                format!("El documento {k} ya está cancelado"),
            ));
        }
        if d.naturaleza == Some(Naturaleza::Cargo) && d.pendiente != d.total {
            return Err(sdk_err(
                codes::HAS_PAYMENTS,
                SdkErrorKind::Invalid,
                format!("El documento {k} tiene abonos aplicados"),
            ));
        }
        let (_, ts) = self.tick();
        let d = self
            .documentos
            .get_mut(&k)
            .ok_or_else(|| sdk_err(codes::NO_DOCUMENTO, SdkErrorKind::NotFound, "documento"))?;
        d.cancelado = true;
        d.pendiente = Amount(Decimal::ZERO);
        d.timestamp = ts;
        let d = d.clone();
        self.changed(Entidad::Documento, k, Some(d.referencia.clone()), true);
        Ok(d)
    }
}

fn cliente_of(u: &UpsertCliente, timestamp: String) -> Cliente {
    Cliente {
        id: 0,
        codigo: u.codigo.clone(),
        tipo: u.tipo,
        razon_social: u.razon_social.clone(),
        rfc: u.rfc.clone(),
        email: u.email.clone(),
        telefono: u.telefono.clone(),
        codigo_postal: u.codigo_postal.clone(),
        regimen_fiscal: u.regimen_fiscal.clone(),
        uso_cfdi: u.uso_cfdi.clone(),
        moneda: u.moneda.clone(),
        timestamp,
    }
}
