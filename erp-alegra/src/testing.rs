//! A stateful, in-process mock of the Alegra API (feature `testing`), on wiremock, for tests and offline
//! examples.
//!
//! It speaks Alegra's shapes: Basic auth (`401` for a wrong e-mail or token), `{code, message}` errors in
//! Spanish, lists with `start`/`limit` (at most 30, else `400`), `order_field=id`, `order_direction` and
//! `metadata=true` (`{metadata: {total}, data}`), amounts as numeric strings, `X-Rate-Limit-Limit` /
//! `-Remaining` / `-Reset` on every answer and `429` past 150 requests a minute. It keeps balances as Alegra does
//! (payments and credit notes reduce the invoices they name; an overpayment is refused), computes totals from
//! its tax catalogue (IVA over IEPS on the same line, ISR withholding), allocates folios per series, stamps
//! documents (`POST /{documents}/stamp`, a UUID per document, a second stamp is refused), voids invoices without
//! payments, and records every request (never the `Authorization` header).
//!
//! Faults ([`FaultHook`] and more): `429` storms, a business-rule rejection after N writes, writes applied and
//! then answered `500` (a lost answer), unreadable `200` bodies, stamp answers lost after the stamp.
//!
//! ```no_run
//! # async fn demo() -> erp_hub_core::Result<()> {
//! use erp_alegra::testing::MockAlegra;
//! let mock = MockAlegra::start().await;
//! let alegra = mock.adapter()?; // credentials, base URL, mapping and default item of the mock
//! # let _ = alegra; Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use erp_hub_core::Result;
use erp_hub_core::http::RetryPolicy;
use erp_hub_core::http::wire::decimal;
use erp_hub_core::model::AccountMapping;
use erp_hub_core::testing::conformance::FaultHook;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::client::AlegraClient;
use crate::config::AlegraConfig;
use crate::entities::AlegraAdapter;

/// The mock user's e-mail.
pub const EMAIL: &str = "mock@alegra.example";
/// The mock user's API token.
pub const TOKEN: &str = "mock-alegra-token";
/// The bank account id payments go to.
pub const BANK_ACCOUNT: &str = "1";
/// The preloaded item used for lines without an item.
pub const DEFAULT_ITEM: &str = "1";
const API: &str = "/api/v1";

/// One request the mock received. The `Authorization` header is never recorded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path below `/api/v1` (`/contacts/3`).
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// JSON body, when there was one.
    pub body: Option<Value>,
    /// The status the mock answered.
    pub status: u16,
}

#[derive(Debug, Clone, Copy)]
struct TaxDef {
    rate: Decimal,
    withheld: bool,
    /// IVA: computed on the line amount plus the line's IEPS.
    over_ieps: bool,
    ieps: bool,
}

#[derive(Default)]
struct State {
    per_minute: u32,
    window: Duration,
    reset_secs: u64,
    garbage_writes: usize,
    calls: Vec<Instant>,
    rate_limit_next: usize,
    reject_after: Option<usize>,
    writes_seen: usize,
    apply_then_fail: usize,
    garbage_next: usize,
    lose_stamp: usize,
    fail_writes_every: usize,
    garbage_every: usize,
    writes: usize,
    served: usize,
    clock: i64,
    next_id: HashMap<&'static str, u64>,
    folio: HashMap<&'static str, u64>,
    colls: HashMap<&'static str, Vec<Value>>,
    taxes: HashMap<String, TaxDef>,
    subscriptions: Vec<Value>,
    stamp_calls: usize,
    requests: Vec<RecordedRequest>,
}

/// The mock server and its state. Dropping it stops the server.
pub struct MockAlegra {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MockAlegra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockAlegra")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn money(d: Decimal) -> Value {
    Value::String(format!("{:.2}", r2(d)))
}

fn r2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(id_of),
        _ => None,
    }
}

struct Reply {
    status: u16,
    body: Option<Value>,
    raw: Option<&'static str>,
}

fn ok(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body: Some(body),
        raw: None,
    }
}

fn err(status: u16, code: i64, message: &str) -> Reply {
    ok(status, json!({"code": code, "message": message}))
}

impl MockAlegra {
    /// Starts a mock on a random local port: one default item, taxes 1 (IVA 16 %), 2 (IVA 0 %), 3 (IVA
    /// exento), 4 (IEPS 8 %), 5 (ISR retención 10 %), bank account 1, 150 requests a minute.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let mut st = State {
            per_minute: 150,
            window: Duration::from_secs(60),
            reset_secs: 1,
            ..State::default()
        };
        let t = |rate: i64, withheld, over_ieps, ieps| TaxDef {
            rate: Decimal::from(rate),
            withheld,
            over_ieps,
            ieps,
        };
        st.taxes.insert("1".into(), t(16, false, true, false));
        st.taxes.insert("2".into(), t(0, false, true, false));
        st.taxes.insert("3".into(), t(0, false, false, false));
        st.taxes.insert("4".into(), t(8, false, false, true));
        st.taxes.insert("5".into(), t(10, true, false, false));
        let item = json!({"name": "Servicio general", "type": "service", "status": "active",
            "price": [{"idPriceList": 1, "price": "0"}], "reference": "", "tax": []});
        st.insert("items", item);
        let state = Arc::new(Mutex::new(st));
        Mock::given(any())
            .respond_with(Responder {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The server's base URI (`http://127.0.0.1:PORT`); the API is under `/api/v1`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A configuration with the mock's credentials and URL, and a quick retry policy for tests.
    pub fn config(&self) -> AlegraConfig {
        AlegraConfig::new(EMAIL, TOKEN.to_owned())
            .with_base_url(format!("{}{API}", self.uri()))
            .with_retry(
                RetryPolicy::default()
                    .with_base_delay(Duration::from_millis(5))
                    .with_max_delay(Duration::from_millis(50))
                    .with_max_retry_after(Duration::from_secs(5)),
            )
    }

    /// The mapping of the mock's tax catalogue: `IVA16` → 1, `IVA0` → 2, `IVA-EXEMPT` → 3, `IEPS8+IVA16` → 4,1,
    /// `IVA16+RET-ISR10` → 1,5, `RET-ISR10` → 5; payments to bank account 1.
    pub fn mapping() -> AccountMapping {
        let mut m = AccountMapping::new("alegra");
        m.payment_account = Some(BANK_ACCOUNT.into());
        for (k, v) in [
            ("IVA16", "1"),
            ("IVA0", "2"),
            ("IVA-EXEMPT", "3"),
            ("IEPS8+IVA16", "4,1"),
            ("IVA16+RET-ISR10", "1,5"),
            ("RET-ISR10", "5"),
        ] {
            m.tax_codes.insert(k.into(), v.into());
        }
        m
    }

    /// An adapter on the mock (its config, [`mapping`](Self::mapping) and default item).
    ///
    /// # Errors
    /// Configuration errors (none for the mock's own settings).
    pub fn adapter(&self) -> Result<AlegraAdapter> {
        Ok(AlegraAdapter::new(AlegraClient::new(self.config())?)
            .with_mapping(Self::mapping())
            .with_default_item(DEFAULT_ITEM))
    }

    /// Answers the next `n` requests with `429` (`X-Rate-Limit-Remaining: 0`).
    pub fn throttle_next(&self, n: usize) {
        lock(&self.state).rate_limit_next = n;
    }

    /// Sets the per-minute limit and the `X-Rate-Limit-Reset` sent with a `429`.
    pub fn set_limit(&self, per_minute: u32, reset_secs: u64) {
        let mut s = lock(&self.state);
        s.per_minute = per_minute;
        s.reset_secs = reset_secs;
    }

    /// Shortens the mock's rate-limit window (Alegra: one minute), so tests can watch a window reset.
    pub fn set_window(&self, window: Duration) {
        lock(&self.state).window = window;
    }

    /// Applies the next `n` writes and answers them `201` with a body that is not JSON.
    pub fn garbage_next_writes(&self, n: usize) {
        lock(&self.state).garbage_writes = n;
    }

    /// Applies the next `n` writes, then answers them `500` (the answer is lost; the record exists).
    pub fn apply_then_fail_next_writes(&self, n: usize) {
        lock(&self.state).apply_then_fail = n;
    }

    /// From now on, applies every `n`th write and answers it `500`, and answers every `m`th successful request
    /// `200` with an unreadable body (writes applied first); `0` turns a fault off.
    pub fn periodic_faults(&self, n: usize, m: usize) {
        let mut s = lock(&self.state);
        s.fail_writes_every = n;
        s.garbage_every = m;
    }

    /// Answers the next `n` requests `200` with a body that is not JSON (writes are applied first).
    pub fn garbage_next(&self, n: usize) {
        lock(&self.state).garbage_next = n;
    }

    /// Stamps on the next `n` stamp calls, then answers `504` (the stamp happened, the answer is lost).
    pub fn lose_next_stamp_answers(&self, n: usize) {
        lock(&self.state).lose_stamp = n;
    }

    /// Deletes a record, as a user deleting it in Alegra would (for change-feed tests).
    pub fn delete_record(&self, collection: &str, id: &str) {
        let mut s = lock(&self.state);
        if let Some((_, rows)) = s.colls.iter_mut().find(|(k, _)| **k == collection) {
            rows.retain(|v| v.get("id").and_then(id_of).as_deref() != Some(id));
        }
    }

    /// How many stamp calls reached the mock (including refused ones).
    pub fn stamp_calls(&self) -> usize {
        lock(&self.state).stamp_calls
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The stored records of a collection (`contacts`, `items`, `invoices`, `payments`, `credit-notes`).
    pub fn records(&self, collection: &str) -> Vec<Value> {
        let s = lock(&self.state);
        s.colls
            .iter()
            .find(|(k, _)| **k == collection)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl FaultHook for MockAlegra {
    async fn rate_limit_next(&self, n: usize) {
        self.throttle_next(n);
    }

    /// Alegra's Basic-auth tokens do not expire (renewing one is a user action): nothing to do.
    async fn expire_token(&self) {}

    async fn reject_write_after(&self, skip: usize) -> bool {
        let mut s = lock(&self.state);
        s.writes_seen = 0;
        s.reject_after = Some(skip);
        true
    }

    async fn clear_faults(&self) {
        let mut s = lock(&self.state);
        s.reject_after = None;
        s.rate_limit_next = 0;
        s.apply_then_fail = 0;
        s.garbage_next = 0;
        s.lose_stamp = 0;
        s.fail_writes_every = 0;
        s.garbage_every = 0;
        s.garbage_writes = 0;
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = lock(&self.state);
        let (reply, headers) = s.handle(req);
        let body_json: Option<Value> = serde_json::from_slice(&req.body).ok();
        s.requests.push(RecordedRequest {
            method: req.method.to_string(),
            path: req
                .url
                .path()
                .strip_prefix(API)
                .unwrap_or(req.url.path())
                .to_owned(),
            query: req
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body: body_json,
            status: reply.status,
        });
        let mut t = ResponseTemplate::new(reply.status);
        for (k, v) in headers {
            t = t.insert_header(k, v.as_str());
        }
        if let Some(raw) = reply.raw {
            t = t.set_body_raw(raw.as_bytes().to_vec(), "application/json");
        } else if let Some(b) = reply.body {
            t = t.set_body_json(b);
        }
        t
    }
}

impl State {
    fn coll(&mut self, name: &'static str) -> &mut Vec<Value> {
        self.colls.entry(name).or_default()
    }

    fn tick(&mut self) -> String {
        self.clock += 1;
        let base =
            chrono::DateTime::from_timestamp(1_767_225_600 + self.clock, 0).unwrap_or_default();
        base.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    fn insert(&mut self, coll: &'static str, mut v: Value) -> Value {
        let n = self.next_id.entry(coll).or_insert(0);
        *n += 1;
        let id = *n;
        let now = self.tick();
        if let Value::Object(o) = &mut v {
            o.insert("id".into(), Value::String(id.to_string()));
            o.insert("created_at".into(), Value::String(now.clone()));
            o.insert("updated_at".into(), Value::String(now));
        }
        self.coll(coll).push(v.clone());
        v
    }

    fn find(&mut self, coll: &'static str, id: &str) -> Option<&mut Value> {
        self.coll(coll)
            .iter_mut()
            .find(|v| v.get("id").and_then(id_of).as_deref() == Some(id))
    }

    fn handle(&mut self, req: &Request) -> (Reply, Vec<(&'static str, String)>) {
        let now = Instant::now();
        let window = self.window;
        self.calls.retain(|t| now.duration_since(*t) < window);
        let auth_ok = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .is_some_and(|d| d == format!("{EMAIL}:{TOKEN}").as_bytes());
        if !auth_ok {
            return (
                err(
                    401,
                    401,
                    "Credenciales inválidas: revisa el usuario y el token",
                ),
                Vec::new(),
            );
        }
        let mut headers = vec![("x-rate-limit-limit", self.per_minute.to_string())];
        let used = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        if self.rate_limit_next > 0 || used >= self.per_minute {
            self.rate_limit_next = self.rate_limit_next.saturating_sub(1);
            headers.push(("x-rate-limit-remaining", "0".into()));
            headers.push(("x-rate-limit-reset", self.reset_secs.to_string()));
            return (
                err(429, 429, "Has superado el límite de peticiones por minuto"),
                headers,
            );
        }
        self.calls.push(now);
        let left = self.per_minute.saturating_sub(used + 1);
        headers.push(("x-rate-limit-remaining", left.to_string()));
        let reset = self.calls.first().map_or(window.as_secs(), |t| {
            let ms = window.saturating_sub(now.duration_since(*t)).as_millis();
            u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX)
        });
        headers.push(("x-rate-limit-reset", reset.to_string()));

        let method = req.method.as_str().to_owned();
        let write = method != "GET";
        if write && let Some(skip) = self.reject_after {
            if self.writes_seen >= skip {
                self.reject_after = None;
                return (
                    err(400, 3061, "Operación rechazada por una regla de negocio"),
                    headers,
                );
            }
            self.writes_seen += 1;
        }
        let body: Option<Value> = serde_json::from_slice(&req.body).ok();
        if write && !req.body.is_empty() && body.is_none() {
            return (
                err(400, 1, "El cuerpo de la petición no es JSON válido"),
                headers,
            );
        }
        let path = req.url.path().strip_prefix(API).unwrap_or("").to_owned();
        let query: HashMap<String, String> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut reply = self.route(&method, &path, &query, body.as_ref());
        if reply.status < 300 {
            self.served += 1;
            if write {
                self.writes += 1;
            }
            let periodic_garbage = (self.garbage_every > 0
                && self.served.is_multiple_of(self.garbage_every))
                || (write && self.garbage_writes > 0);
            if write {
                self.garbage_writes = self.garbage_writes.saturating_sub(1);
            }
            let periodic_fail = write
                && self.fail_writes_every > 0
                && self.writes.is_multiple_of(self.fail_writes_every);
            if self.garbage_next > 0 || periodic_garbage {
                self.garbage_next = self
                    .garbage_next
                    .saturating_sub(usize::from(!periodic_garbage));
                reply = Reply {
                    status: 200,
                    body: None,
                    raw: Some("{\"id\": 1, \"unterminated"),
                };
            } else if (write && self.apply_then_fail > 0) || periodic_fail {
                self.apply_then_fail = self
                    .apply_then_fail
                    .saturating_sub(usize::from(!periodic_fail));
                reply = err(500, 500, "Error interno");
            }
        }
        (reply, headers)
    }

    fn route(
        &mut self,
        method: &str,
        path: &str,
        query: &HashMap<String, String>,
        body: Option<&Value>,
    ) -> Reply {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let coll: Option<&'static str> = match parts.first().copied() {
            Some("contacts") => Some("contacts"),
            Some("items") => Some("items"),
            Some("invoices") => Some("invoices"),
            Some("payments") => Some("payments"),
            Some("credit-notes") => Some("credit-notes"),
            _ => None,
        };
        match (method, parts.as_slice(), coll) {
            ("GET", ["company"], _) => ok(
                200,
                json!({"id": "1", "name": "Tours del Pacífico SA de CV", "identification": "TPA010101AB1",
                    "regime": "GENERAL_LAW_MORAL_PERSON", "applicationVersion": "mexico",
                    "currency": {"code": "MXN"}, "address": {"zipCode": "06600", "country": "Mexico"}}),
            ),
            ("GET", ["taxes"], _) => ok(
                200,
                json!([
                    {"id": "1", "name": "IVA 16%", "percentage": "16.00", "type": "IVA", "status": "active"},
                    {"id": "2", "name": "IVA 0%", "percentage": "0.00", "type": "IVA", "status": "active"},
                    {"id": "3", "name": "IVA Exento", "percentage": "0.00", "type": "IVA", "status": "active"},
                    {"id": "4", "name": "IEPS 8%", "percentage": "8.00", "type": "IEPS", "status": "active"},
                    {"id": "5", "name": "Retención ISR 10%", "percentage": "10.00", "type": "ISR", "status": "active"}
                ]),
            ),
            ("GET", ["webhooks", "subscriptions"], _) => {
                ok(200, Value::Array(self.subscriptions.clone()))
            }
            ("POST", ["webhooks", "subscriptions"], _) => {
                let Some(b) = body.filter(|b| b.get("event").is_some() && b.get("url").is_some())
                else {
                    return err(400, 2001, "El evento y la url son obligatorios");
                };
                let mut b = b.clone();
                if let Value::Object(o) = &mut b {
                    o.insert(
                        "id".into(),
                        json!((self.subscriptions.len() + 1).to_string()),
                    );
                }
                self.subscriptions.push(b.clone());
                ok(201, b)
            }
            ("GET", [_], Some(c)) => self.list(c, query),
            ("GET", [_, id], Some(c)) => match self.find(c, id) {
                Some(v) => ok(200, v.clone()),
                None => err(404, 404, "El recurso no existe"),
            },
            ("POST", [_, "stamp"], Some(c)) => self.stamp(c, body),
            ("POST", ["invoices", id, "void"], _) => self.void(id),
            ("POST", [_], Some(c)) => self.create(c, body),
            ("PUT", [_, id], Some("contacts" | "items")) => {
                let c = if parts.first() == Some(&"contacts") {
                    "contacts"
                } else {
                    "items"
                };
                self.update(c, id, body)
            }
            _ => err(404, 404, "Ruta no encontrada"),
        }
    }

    fn list(&mut self, coll: &'static str, q: &HashMap<String, String>) -> Reply {
        let start: usize = match q.get("start").map(|s| s.parse()) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return err(400, 1010, "El parámetro start no es válido"),
        };
        let limit: usize = match q.get("limit").map(|s| s.parse()) {
            None => 30,
            Some(Ok(n)) if (1..=30).contains(&n) => n,
            _ => return err(400, 1011, "El límite máximo de elementos es 30"),
        };
        let mut rows = self.coll(coll).clone();
        let key = |v: &Value| {
            v.get("id")
                .and_then(id_of)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        rows.sort_by_key(key);
        if q.get("order_direction")
            .is_some_and(|d| d.eq_ignore_ascii_case("DESC"))
        {
            rows.reverse();
        }
        let total = rows.len();
        let page: Vec<Value> = rows.into_iter().skip(start).take(limit).collect();
        if q.get("metadata").is_some_and(|m| m == "true") {
            ok(200, json!({"metadata": {"total": total}, "data": page}))
        } else {
            ok(200, Value::Array(page))
        }
    }

    fn create(&mut self, coll: &'static str, body: Option<&Value>) -> Reply {
        let Some(Value::Object(b)) = body else {
            return err(400, 1, "El cuerpo de la petición debe ser un objeto");
        };
        let b = b.clone();
        match coll {
            "contacts" | "items" => {
                if b.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n.trim().is_empty())
                {
                    return err(400, 2006, "El nombre es obligatorio");
                }
                let mut v = Value::Object(b);
                v["status"] = json!("active");
                ok(201, self.insert(coll, v))
            }
            "invoices" => self.create_invoice(b),
            "payments" => self.create_payment(b),
            _ => self.create_credit_note(b),
        }
    }

    fn update(&mut self, coll: &'static str, id: &str, body: Option<&Value>) -> Reply {
        let Some(Value::Object(b)) = body else {
            return err(400, 1, "El cuerpo de la petición debe ser un objeto");
        };
        let now = self.tick();
        let Some(v) = self.find(coll, id) else {
            return err(404, 404, "El recurso no existe");
        };
        if let Value::Object(o) = v {
            for (k, x) in b {
                if k != "id" {
                    o.insert(k.clone(), x.clone());
                }
            }
            o.insert("updated_at".into(), Value::String(now));
        }
        ok(200, v.clone())
    }

    /// The lines' total (with taxes), or the error message.
    fn total(&mut self, items: Option<&Value>) -> std::result::Result<Decimal, Reply> {
        let Some(Value::Array(items)) = items else {
            return Err(err(400, 2007, "Los ítems son obligatorios"));
        };
        if items.is_empty() {
            return Err(err(400, 2007, "Los ítems son obligatorios"));
        }
        let mut total = Decimal::ZERO;
        for it in items {
            let Some(item_id) = it.get("id").and_then(id_of) else {
                return Err(err(400, 2008, "Cada ítem necesita un id"));
            };
            if self.find("items", &item_id).is_none() {
                return Err(err(400, 2009, &format!("El ítem {item_id} no existe")));
            }
            let (Some(price), Some(qty)) = (decimal(it.get("price")), decimal(it.get("quantity")))
            else {
                return Err(err(400, 2010, "Precio y cantidad son obligatorios"));
            };
            let disc = decimal(it.get("discount")).unwrap_or_default();
            let net = r2(price * qty * (Decimal::ONE_HUNDRED - disc) / Decimal::ONE_HUNDRED);
            let mut ieps = Decimal::ZERO;
            let mut taxes = Vec::new();
            for t in it
                .get("tax")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let tid = id_of(t).unwrap_or_default();
                let Some(def) = self.taxes.get(&tid).copied() else {
                    return Err(err(400, 2011, &format!("El impuesto {tid} no existe")));
                };
                taxes.push(def);
            }
            let mut line = net;
            for def in taxes.iter().filter(|d| d.ieps) {
                let a = r2(net * def.rate / Decimal::ONE_HUNDRED);
                ieps += a;
                line += a;
            }
            for def in taxes.iter().filter(|d| !d.ieps) {
                let base = if def.over_ieps { net + ieps } else { net };
                let a = r2(base * def.rate / Decimal::ONE_HUNDRED);
                line += if def.withheld { -a } else { a };
            }
            total += line;
        }
        Ok(total)
    }

    fn client_ok(&mut self, b: &Map<String, Value>) -> Option<Reply> {
        let Some(cid) = b.get("client").and_then(id_of) else {
            return Some(err(400, 2006, "El cliente es obligatorio"));
        };
        if self.find("contacts", &cid).is_none() {
            return Some(err(400, 2012, &format!("El cliente {cid} no existe")));
        }
        None
    }

    fn create_invoice(&mut self, b: Map<String, Value>) -> Reply {
        if let Some(e) = self.client_ok(&b) {
            return e;
        }
        let (Some(date), Some(due)) = (
            b.get("date").and_then(Value::as_str),
            b.get("dueDate").and_then(Value::as_str),
        ) else {
            return err(
                400,
                2013,
                "La fecha y la fecha de vencimiento son obligatorias",
            );
        };
        if due < date {
            return err(
                400,
                2014,
                "La fecha de vencimiento no puede ser anterior a la fecha",
            );
        }
        let total = match self.total(b.get("items")) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let status = if b.get("status").and_then(Value::as_str) == Some("open") {
            "open"
        } else {
            "draft"
        };
        let folio = self.folio.entry("invoices").or_insert(0);
        *folio += 1;
        let number = *folio;
        let mut v = Value::Object(b);
        v["status"] = json!(status);
        v["total"] = money(total);
        v["totalPaid"] = money(Decimal::ZERO);
        v["balance"] = money(total);
        v["numberTemplate"] = json!({"id": "1", "prefix": "A", "number": number.to_string(), "fullNumber": format!("A{number}")});
        v["stamp"] = Value::Null;
        ok(201, self.insert("invoices", v))
    }

    fn balance_of(&mut self, id: &str) -> std::result::Result<Decimal, Reply> {
        let Some(inv) = self.find("invoices", id) else {
            return Err(err(400, 2015, &format!("La factura {id} no existe")));
        };
        match inv.get("status").and_then(Value::as_str) {
            Some("open") => {}
            Some("closed") => {
                return Err(err(400, 2016, &format!("La factura {id} ya está pagada")));
            }
            other => {
                return Err(err(
                    400,
                    2017,
                    &format!("La factura {id} está en estado {other:?}"),
                ));
            }
        }
        Ok(decimal(inv.get("balance")).unwrap_or_default())
    }

    fn apply(&mut self, id: &str, amount: Decimal, paid: bool) {
        if let Some(inv) = self.find("invoices", id) {
            let bal = decimal(inv.get("balance")).unwrap_or_default() - amount;
            inv["balance"] = money(bal);
            if paid {
                let p = decimal(inv.get("totalPaid")).unwrap_or_default() + amount;
                inv["totalPaid"] = money(p);
            }
            if bal.is_zero() {
                inv["status"] = json!("closed");
            }
        }
    }

    fn applications(
        &mut self,
        b: &Map<String, Value>,
        cap: Option<Decimal>,
    ) -> std::result::Result<Vec<(String, Decimal)>, Reply> {
        let Some(Value::Array(list)) = b.get("invoices") else {
            return Err(err(400, 2018, "Las facturas son obligatorias"));
        };
        let mut out = Vec::new();
        let mut sum = Decimal::ZERO;
        for e in list {
            let (Some(id), Some(amount)) = (e.get("id").and_then(id_of), decimal(e.get("amount")))
            else {
                return Err(err(400, 2019, "Cada factura necesita id y monto"));
            };
            if amount <= Decimal::ZERO {
                return Err(err(400, 2020, "El monto debe ser mayor que cero"));
            }
            let bal = self.balance_of(&id)?;
            if amount > bal {
                return Err(err(
                    400,
                    2021,
                    &format!("El monto {amount} es mayor al saldo de la factura {id} ({bal})"),
                ));
            }
            sum += amount;
            out.push((id, amount));
        }
        if let Some(c) = cap
            && sum > c
        {
            return Err(err(
                400,
                2022,
                "El monto aplicado supera el total de la nota crédito",
            ));
        }
        Ok(out)
    }

    fn create_payment(&mut self, b: Map<String, Value>) -> Reply {
        if b.get("type").and_then(Value::as_str) != Some("in") {
            return err(400, 2023, "El tipo de pago debe ser in u out");
        }
        if let Some(e) = self.client_ok(&b) {
            return e;
        }
        if b.get("bankAccount").and_then(id_of).as_deref() != Some(BANK_ACCOUNT) {
            return err(400, 2024, "La cuenta bancaria no existe");
        }
        let apps = match self.applications(&b, None) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let mut total = Decimal::ZERO;
        for (id, a) in &apps {
            self.apply(id, *a, true);
            total += a;
        }
        let mut v = Value::Object(b);
        v["amount"] = money(total);
        v["status"] = json!("open");
        ok(201, self.insert("payments", v))
    }

    fn create_credit_note(&mut self, b: Map<String, Value>) -> Reply {
        if let Some(e) = self.client_ok(&b) {
            return e;
        }
        let total = match self.total(b.get("items")) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let apps = match self.applications(&b, Some(total)) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let mut applied = Decimal::ZERO;
        for (id, a) in &apps {
            self.apply(id, *a, false);
            applied += a;
        }
        let folio = self.folio.entry("credit-notes").or_insert(0);
        *folio += 1;
        let number = *folio;
        let mut v = Value::Object(b);
        v["total"] = money(total);
        v["totalApplied"] = money(applied);
        v["balance"] = money(total - applied);
        v["status"] = json!(if total == applied { "closed" } else { "open" });
        v["numberTemplate"] = json!({"id": "2", "prefix": "NC", "number": number.to_string(), "fullNumber": format!("NC{number}")});
        ok(201, self.insert("credit-notes", v))
    }

    fn void(&mut self, id: &str) -> Reply {
        let now = self.tick();
        let Some(inv) = self.find("invoices", id) else {
            return err(404, 404, "La factura no existe");
        };
        if inv.get("status").and_then(Value::as_str) == Some("void") {
            return err(400, 2025, "La factura ya está anulada");
        }
        if decimal(inv.get("totalPaid")).is_some_and(|p| !p.is_zero()) {
            return err(
                400,
                2026,
                "No se puede anular una factura con pagos asociados",
            );
        }
        inv["status"] = json!("void");
        inv["balance"] = money(Decimal::ZERO);
        inv["updated_at"] = json!(now);
        ok(200, inv.clone())
    }

    fn stamp(&mut self, coll: &'static str, body: Option<&Value>) -> Reply {
        self.stamp_calls += 1;
        let Some(ids) = body
            .and_then(|b| b.get("ids"))
            .and_then(Value::as_array)
            .cloned()
        else {
            return err(400, 2027, "Los ids son obligatorios");
        };
        let mut out = Vec::new();
        for id in ids.iter().filter_map(id_of) {
            let client = match self.find(coll, &id) {
                None => return err(404, 404, &format!("El documento {id} no existe")),
                Some(d) if d.get("stamp").and_then(|s| s.get("uuid")).is_some() => {
                    return err(400, 2028, &format!("El documento {id} ya fue timbrado"));
                }
                Some(d) if d.get("status").and_then(Value::as_str) == Some("void") => {
                    return err(400, 2029, &format!("El documento {id} está anulado"));
                }
                Some(d) => d.get("client").and_then(id_of).unwrap_or_default(),
            };
            let rfc_ok = self.find("contacts", &client).is_some_and(|c| {
                c.get("identification").is_some_and(|i| !i.is_null())
                    && c.get("address").and_then(|a| a.get("zipCode")).is_some()
            });
            if !rfc_ok {
                return err(
                    400,
                    2030,
                    "El cliente necesita RFC y código postal para timbrar",
                );
            }
            let seq = self.clock + 1;
            let date = self.tick();
            let uuid = format!(
                "6F9C0D2E-{:04X}-4{:03X}-8000-{:012X}",
                seq % 0xFFFF,
                seq % 0xFFF,
                seq
            );
            if let Some(d) = self.find(coll, &id) {
                d["stamp"] =
                    json!({"uuid": uuid, "date": date, "legalStatus": "STAMPED_AND_ACCEPTED"});
                out.push(d.clone());
            }
        }
        if self.lose_stamp > 0 {
            self.lose_stamp -= 1;
            return err(504, 504, "Tiempo de espera agotado");
        }
        ok(200, Value::Array(out))
    }
}
