//! A stateful, in-process mock of Xero (feature `testing`): the identity token endpoint, `GET /connections`
//! and the Accounting API endpoints the adapter uses, speaking Xero's JSON shapes (PascalCase envelopes,
//! `/Date(…)/` dates, `ValidationException` errors, `summarizeErrors=false` element errors, `429` with
//! `Retry-After` and `X-Rate-Limit-Problem`, `X-*-Limit-Remaining` headers, `Idempotency-Key` replay).
//!
//! It keeps balances like Xero does (payments, batch payments and credit-note allocations reduce `AmountDue`; the
//! payments a batch creates are listed by `GET /Payments` with their `BatchPaymentID`), rejects what
//! Xero rejects for the cases the adapter meets (a taken contact name, an overpayment, a missing due date on an
//! approved invoice, unknown accounts or tax types, voiding a paid invoice), rotates refresh tokens with the
//! 30-minute grace for the previous one, and records every request (without credentials) so tests can check the
//! bodies against the OpenAPI spec.
//!
//! Assumption (not documented by Xero): an `Idempotency-Key` reused with a different request is answered with a
//! `400`; reused with the same request, the first response is replayed.
//!
//! ```no_run
//! # async fn demo() -> erp_hub_core::Result<()> {
//! use std::sync::Arc;
//! use erp_hub_core::http::InMemoryTokenStore;
//! use erp_xero::testing::MockXero;
//! use erp_xero::XeroClient;
//!
//! let mock = MockXero::start().await;
//! let store = Arc::new(InMemoryTokenStore::new());
//! mock.connect(&store, "demo");
//! let client = XeroClient::new(mock.config(), store)?;
//! let xero = client.adapter("demo", mock.tenant_id()).with_mapping(MockXero::mapping());
//! # let _ = xero; Ok(()) }
//! ```

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use erp_hub_core::http::{InMemoryTokenStore, TokenSet};
use erp_hub_core::model::AccountMapping;
use erp_hub_core::testing::conformance::FaultHook;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::client::limits::XeroLimits;
use crate::config::XeroConfig;

/// The mock app's client id.
pub const CLIENT_ID: &str = "mock-client-id";
/// The mock app's client secret.
pub const CLIENT_SECRET: &str = "mock-client-secret";
/// The mock organisation's tenant id.
pub const TENANT_ID: &str = "6f0c8a4e-0000-4000-8000-00000000a001";
/// How long the previous refresh token stays usable after a rotation (Xero: 30 minutes).
pub const REFRESH_GRACE: Duration = Duration::from_secs(30 * 60);

/// One request the mock received. Credentials (`Authorization`, form secrets) are never recorded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// URL path (e.g. `/api.xro/2.0/Contacts`).
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// `Idempotency-Key`, when sent.
    pub idempotency_key: Option<String>,
    /// `xero-tenant-id`, when sent.
    pub tenant_id: Option<String>,
    /// `If-Modified-Since`, when sent.
    pub if_modified_since: Option<String>,
    /// The JSON body (API calls only; `None` for token requests and bodiless calls).
    pub body: Option<Value>,
    /// The status the mock answered.
    pub status: u16,
}

impl RecordedRequest {
    /// The API resource path below `/api.xro/2.0` (`/Contacts`), or the full path for other endpoints.
    pub fn resource(&self) -> &str {
        self.path.strip_prefix(API_PREFIX).unwrap_or(&self.path)
    }
}

const API_PREFIX: &str = "/api.xro/2.0";

struct RefreshState {
    /// When it was rotated away (then usable until + grace).
    rotated_at: Option<Instant>,
}

struct Stored {
    fingerprint: String,
    status: u16,
    body: Value,
}

struct State {
    access: HashMap<String, bool>,
    refresh: HashMap<String, RefreshState>,
    codes: HashMap<String, String>,
    refreshes: usize,
    lose_next_refresh: usize,
    lost_delay: Duration,
    rate_limit_next: usize,
    rate_limit_writes: usize,
    retry_after_secs: u64,
    minute_limit: u32,
    day_limit: u32,
    app_minute_limit: u32,
    calls: Vec<Instant>,
    last_ms: i64,
    frozen: bool,
    seq: u64,
    contacts: Vec<Value>,
    items: Vec<Value>,
    invoices: Vec<Value>,
    payments: Vec<Value>,
    batch_payments: Vec<Value>,
    credit_notes: Vec<Value>,
    idempotency: HashMap<String, Stored>,
    requests: Vec<RecordedRequest>,
    invoice_no: u32,
    credit_no: u32,
    reject_write_after: Option<usize>,
}

/// The mock server and its state. Dropping it stops the server.
pub struct MockXero {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MockXero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockXero")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MockXero {
    /// Starts a mock on a random local port.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            refreshes: 0,
            lose_next_refresh: 0,
            lost_delay: Duration::from_secs(3),
            rate_limit_next: 0,
            rate_limit_writes: 0,
            retry_after_secs: 1,
            minute_limit: 10_000,
            day_limit: 100_000,
            app_minute_limit: 100_000,
            calls: Vec::new(),
            last_ms: 0,
            frozen: false,
            seq: 0,
            contacts: Vec::new(),
            items: Vec::new(),
            invoices: Vec::new(),
            payments: Vec::new(),
            batch_payments: Vec::new(),
            credit_notes: Vec::new(),
            idempotency: HashMap::new(),
            requests: Vec::new(),
            invoice_no: 0,
            credit_no: 0,
            reject_write_after: None,
        }));
        Mock::given(any())
            .respond_with(Responder {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The server's base URI (`http://127.0.0.1:PORT`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The mock organisation's tenant id.
    pub fn tenant_id(&self) -> &'static str {
        TENANT_ID
    }

    /// A [`XeroConfig`] pointing every endpoint at the mock, with a 2 s timeout and client-side limits high
    /// enough not to slow tests down (the mock's own limits are set with [`MockXero::set_limits`]).
    pub fn config(&self) -> XeroConfig {
        let base = self.uri();
        let limits = XeroLimits {
            per_minute: 100_000,
            per_day: 1_000_000,
            in_flight: 64,
            app_per_minute: 1_000_000,
        };
        XeroConfig::new(CLIENT_ID, CLIENT_SECRET, "http://localhost/callback")
            .with_base_url(&base)
            .with_timeout(Duration::from_secs(2))
            .with_limits(limits)
    }

    /// The account and tax mapping matching the mock organisation's chart of accounts and tax rates.
    pub fn mapping() -> AccountMapping {
        let mut m = AccountMapping::new("xero");
        m.income_account = Some("200".into());
        m.payment_account = Some("090".into());
        for (ours, theirs) in [
            ("IVA16", "OUTPUT"),
            ("IVA0", "ZERORATEDOUTPUT"),
            ("IVA-EXEMPT", "EXEMPTOUTPUT"),
            ("IEPS8+IVA16", "TAX001"),
            ("NONE", "NONE"),
        ] {
            m.tax_codes.insert(ours.into(), theirs.into());
        }
        m.tax_accounts.insert("ISR".into(), "825".into());
        m.tax_accounts.insert("IVA".into(), "826".into());
        m
    }

    /// Issues a fresh access and refresh token (as after consent) and stores them under `connection`.
    pub fn connect(&self, store: &InMemoryTokenStore, connection: &str) {
        store.insert(connection, self.issue_tokens());
    }

    /// Issues a fresh token pair known to the mock (access valid for 30 minutes).
    pub fn issue_tokens(&self) -> TokenSet {
        let mut st = lock(&self.state);
        let (a, r) = st.new_pair();
        TokenSet::new(a)
            .with_refresh_token(r)
            .with_expires_at(Utc::now() + chrono::Duration::minutes(30))
    }

    /// Registers an authorization code bound to a PKCE `code_challenge` (what Xero's consent screen does).
    pub fn issue_code(&self, code_challenge: &str) -> String {
        let mut st = lock(&self.state);
        let code = format!("code-{}", st.next_seq());
        st.codes.insert(code.clone(), code_challenge.to_owned());
        code
    }

    /// Makes every access token issued so far invalid (the next API call gets `401 TokenExpired`).
    pub fn expire_access_tokens(&self) {
        let mut st = lock(&self.state);
        for v in st.access.values_mut() {
            *v = false;
        }
    }

    /// Answers the next `n` API calls with `429` (`X-Rate-Limit-Problem: minute`, `Retry-After`).
    pub fn throttle_next(&self, n: usize) {
        lock(&self.state).rate_limit_next = n;
    }

    /// Answers the next `n` API writes (any method but `GET`) with `429`, letting reads through: a write throttled
    /// after the reads that prepared it.
    pub fn throttle_next_writes(&self, n: usize) {
        lock(&self.state).rate_limit_writes = n;
    }

    /// The `Retry-After` seconds sent with injected `429`s (default 1).
    pub fn set_retry_after(&self, secs: u64) {
        lock(&self.state).retry_after_secs = secs;
    }

    /// The mock's own per-tenant minute, day and app-minute limits (reported in `X-*-Limit-Remaining`,
    /// enforced with `429`).
    pub fn set_limits(&self, minute: u32, day: u32, app_minute: u32) {
        let mut st = lock(&self.state);
        st.minute_limit = minute;
        st.day_limit = day;
        st.app_minute_limit = app_minute;
    }

    /// Processes the next `n` refresh grants (rotating the tokens) but answers only after `delay`, so a client
    /// with a shorter timeout loses the response.
    pub fn lose_next_refresh_responses(&self, n: usize, delay: Duration) {
        let mut st = lock(&self.state);
        st.lose_next_refresh = n;
        st.lost_delay = delay;
    }

    /// Stops the clock of `UpdatedDateUTC`: every later write gets the same millisecond (bulk imports do that).
    pub fn freeze_clock(&self, frozen: bool) {
        lock(&self.state).frozen = frozen;
    }

    /// How many refresh-token grants the token endpoint processed.
    pub fn refresh_count(&self) -> usize {
        lock(&self.state).refreshes
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The contacts, items, invoices, payments, batch payments and credit notes held (as Xero would return
    /// them), by collection name (`Contacts`, `Items`, `Invoices`, `Payments`, `BatchPayments`, `CreditNotes`).
    pub fn records(&self, collection: &str) -> Vec<Value> {
        lock(&self.state)
            .coll_mut(collection)
            .map(|c| c.clone())
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl FaultHook for MockXero {
    async fn rate_limit_next(&self, n: usize) {
        self.throttle_next(n);
    }

    async fn expire_token(&self) {
        self.expire_access_tokens();
    }

    async fn reject_write_after(&self, skip: usize) -> bool {
        lock(&self.state).reject_write_after = Some(skip);
        true
    }

    async fn clear_faults(&self) {
        let mut st = lock(&self.state);
        st.reject_write_after = None;
        st.rate_limit_next = 0;
        st.rate_limit_writes = 0;
    }
}

/// Validates and stores one element: the stored record, or Xero's validation messages.
type Handler = fn(&mut State, &Value, Option<String>) -> Result<Value, Vec<String>>;

struct Responder {
    state: Arc<Mutex<State>>,
}

/// A response before conversion to wiremock's type.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
    delay: Option<Duration>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
            delay: None,
        }
    }
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = lock(&self.state);
        let reply = st.handle(req);
        let mut t = ResponseTemplate::new(reply.status);
        if !reply.body.is_null() {
            t = t.set_body_json(&reply.body);
        }
        for (k, v) in reply.headers {
            t = t.insert_header(k, v.as_str());
        }
        if let Some(d) = reply.delay {
            t = t.set_delay(d);
        }
        t
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn ms_date(ms: i64) -> String {
    format!("/Date({ms}+0000)/")
}

fn num(d: Decimal) -> Value {
    serde_json::from_str(&d.to_string()).unwrap_or(Value::Null)
}

fn dec(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn validation(elements: Vec<Value>) -> Reply {
    Reply::json(
        400,
        json!({
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        }),
    )
}

fn element_error(mut element: Value, messages: &[String]) -> Value {
    if let Some(o) = element.as_object_mut() {
        o.insert(
            "ValidationErrors".into(),
            Value::Array(messages.iter().map(|m| json!({ "Message": m })).collect()),
        );
        o.insert("HasValidationErrors".into(), Value::Bool(true));
        o.insert("StatusAttributeString".into(), json!("ERROR"));
    }
    element
}

fn not_found() -> Reply {
    Reply::json(
        404,
        json!({"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"}),
    )
}

const TAX_RATES: &[(&str, &str, i64, u32)] = &[
    // (TaxType, Name, rate in hundredths of a percent for the effective rate, scale)
    ("OUTPUT", "IVA 16%", 1600, 2),
    ("ZERORATEDOUTPUT", "IVA 0%", 0, 0),
    ("EXEMPTOUTPUT", "IVA Exento", 0, 0),
    ("TAX001", "IEPS 8% + IVA 16% (compound)", 2528, 2),
    ("NONE", "No tax", 0, 0),
];

const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("090", "Business Bank Account", "BANK"),
    ("200", "Sales", "REVENUE"),
    ("260", "Other Revenue", "REVENUE"),
    ("820", "IVA trasladado", "CURRLIAB"),
    ("825", "ISR retenido por clientes", "CURRENT"),
    ("826", "IVA retenido por clientes", "CURRENT"),
];

/// A parsed `where` filter: alternatives (`||`) of conjunctions (`&&`) of `Field=="value"`.
fn parse_where(w: &str) -> Option<Vec<Vec<(String, String)>>> {
    let mut alts = Vec::new();
    for alt in split_outside_quotes(w, "||") {
        let mut terms = Vec::new();
        for term in split_outside_quotes(&alt, "&&") {
            let (field, value) = term.split_once("==")?;
            let value = value.trim();
            let inner = value.strip_prefix('"')?.strip_suffix('"')?;
            let unescaped = inner.replace("\\\"", "\"").replace("\\\\", "\\");
            terms.push((field.trim().to_owned(), unescaped));
        }
        alts.push(terms);
    }
    Some(alts)
}

fn split_outside_quotes(s: &str, sep: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && in_q {
            cur.push(c);
            if let Some((_, n)) = chars.next() {
                cur.push(n);
            }
            continue;
        }
        if c == '"' {
            in_q = !in_q;
        }
        if !in_q && s.get(i..).is_some_and(|r| r.starts_with(sep)) {
            out.push(std::mem::take(&mut cur));
            for _ in 1..sep.len() {
                chars.next();
            }
            continue;
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn field_of(v: &Value, field: &str) -> Option<String> {
    // `Contact.ContactID` style paths.
    let mut cur = v;
    for part in field.split('.') {
        cur = cur.get(part)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn matches_where(v: &Value, filter: &[Vec<(String, String)>]) -> bool {
    filter.iter().any(|alt| {
        alt.iter()
            .all(|(f, want)| field_of(v, f).as_deref() == Some(want.as_str()))
    })
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn uuid(&mut self) -> String {
        let n = self.next_seq();
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    fn now_ms(&mut self) -> i64 {
        if self.frozen && self.last_ms > 0 {
            return self.last_ms;
        }
        let now = Utc::now().timestamp_millis();
        self.last_ms = now.max(self.last_ms + 1);
        self.last_ms
    }

    fn new_pair(&mut self) -> (String, String) {
        let a = format!("access-{}", self.next_seq());
        let r = format!("refresh-{}", self.next_seq());
        self.access.insert(a.clone(), true);
        self.refresh
            .insert(r.clone(), RefreshState { rotated_at: None });
        (a, r)
    }

    fn handle(&mut self, req: &Request) -> Reply {
        let path = req.url.path().to_owned();
        let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let method = req.method.as_str().to_owned();
        let mut record = RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            idempotency_key: header(req, "idempotency-key"),
            tenant_id: header(req, "xero-tenant-id"),
            if_modified_since: header(req, "if-modified-since"),
            body: None,
            status: 0,
        };
        let reply = if path == "/connect/token" {
            self.token(req)
        } else {
            let body: Option<Value> = if req.body.is_empty() {
                None
            } else {
                serde_json::from_slice(&req.body).ok()
            };
            record.body.clone_from(&body);
            self.api(req, &method, &path, &query, body)
        };
        record.status = reply.status;
        self.requests.push(record);
        reply
    }

    // ---------------------------------------------------------------------------------------------- identity

    fn token(&mut self, req: &Request) -> Reply {
        let expected = format!(
            "Basic {}",
            STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        );
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        // Confidential clients authenticate with Basic; public (PKCE) clients send only their client_id.
        let confidential = header(req, "authorization").as_deref() == Some(expected.as_str());
        let public = header(req, "authorization").is_none()
            && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && !form.contains_key("client_secret");
        if !confidential && !public {
            return Reply::json(400, json!({"error": "invalid_client"}));
        }
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = form.get("code").cloned().unwrap_or_default();
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let Some(challenge) = self.codes.remove(&code) else {
                    return Reply::json(400, json!({"error": "invalid_grant"}));
                };
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if computed != challenge {
                    return Reply::json(400, json!({"error": "invalid_grant"}));
                }
                let (a, r) = self.new_pair();
                Reply::json(200, token_body(&a, &r))
            }
            Some("refresh_token") => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                let usable = match self.refresh.get(&rt) {
                    Some(RefreshState { rotated_at: None }) => true,
                    Some(RefreshState {
                        rotated_at: Some(at),
                    }) => at.elapsed() < REFRESH_GRACE,
                    None => false,
                };
                if !usable {
                    return Reply::json(400, json!({"error": "invalid_grant"}));
                }
                if let Some(old) = self.refresh.get_mut(&rt)
                    && old.rotated_at.is_none()
                {
                    old.rotated_at = Some(Instant::now());
                }
                self.refreshes += 1;
                let (a, r) = self.new_pair();
                let mut reply = Reply::json(200, token_body(&a, &r));
                if self.lose_next_refresh > 0 {
                    self.lose_next_refresh -= 1;
                    reply.delay = Some(self.lost_delay);
                }
                reply
            }
            _ => Reply::json(400, json!({"error": "unsupported_grant_type"})),
        }
    }

    // --------------------------------------------------------------------------------------------------- API

    fn limit_headers(&mut self) -> Vec<(&'static str, String)> {
        let now = Instant::now();
        self.calls
            .retain(|t| now.duration_since(*t) < Duration::from_secs(24 * 3600));
        let minute = self
            .calls
            .iter()
            .filter(|t| now.duration_since(**t) < Duration::from_secs(60))
            .count();
        let minute = u32::try_from(minute).unwrap_or(u32::MAX);
        let day = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        vec![
            (
                "X-MinLimit-Remaining",
                self.minute_limit.saturating_sub(minute).to_string(),
            ),
            (
                "X-DayLimit-Remaining",
                self.day_limit.saturating_sub(day).to_string(),
            ),
            (
                "X-AppMinLimit-Remaining",
                self.app_minute_limit.saturating_sub(minute).to_string(),
            ),
        ]
    }

    fn api(
        &mut self,
        req: &Request,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<Value>,
    ) -> Reply {
        let token = header(req, "authorization")
            .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
            .unwrap_or_default();
        if self.access.get(&token) != Some(&true) {
            let mut r = Reply::json(
                401,
                json!({"Type": null, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired"}),
            );
            r.headers
                .push(("WWW-Authenticate", "Bearer error=\"invalid_token\"".into()));
            return r;
        }
        if path == "/connections" {
            return Reply::json(
                200,
                json!([{
                    "id": "00000000-0000-4000-8000-00000000c001",
                    "authEventId": "00000000-0000-4000-8000-00000000e001",
                    "tenantId": TENANT_ID,
                    "tenantType": "ORGANISATION",
                    "tenantName": "Demo Company (MX)",
                    "createdDateUtc": "2026-01-01T00:00:00.0000000",
                    "updatedDateUtc": "2026-01-01T00:00:00.0000000"
                }]),
            );
        }
        if header(req, "xero-tenant-id").as_deref() != Some(TENANT_ID) {
            return Reply::json(
                403,
                json!({"Type": null, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}),
            );
        }
        // Throttling: injected storms and the mock's own per-minute limit.
        let mut headers = self.limit_headers();
        let minute_left = headers
            .first()
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(1);
        let throttle_write = method != "GET" && self.rate_limit_writes > 0;
        if self.rate_limit_next > 0 || throttle_write || minute_left == 0 {
            if throttle_write {
                self.rate_limit_writes -= 1;
            } else {
                self.rate_limit_next = self.rate_limit_next.saturating_sub(1);
            }
            headers.push(("Retry-After", self.retry_after_secs.to_string()));
            headers.push(("X-Rate-Limit-Problem", "minute".into()));
            let mut r = Reply::json(429, Value::Null);
            r.headers = headers;
            return r;
        }
        self.calls.push(Instant::now());
        let Some(resource) = path.strip_prefix(API_PREFIX) else {
            return not_found();
        };
        if method != "GET" {
            match self.reject_write_after {
                Some(0) => {
                    self.reject_write_after = None;
                    let mut r = validation(vec![json!({"ValidationErrors": [
                        {"Message": "mock: injected rejection"}]})]);
                    r.headers = headers;
                    return r;
                }
                Some(n) => self.reject_write_after = Some(n - 1),
                None => {}
            }
        }
        let key = header(req, "idempotency-key");
        let fingerprint = format!(
            "{method} {path}?{} {}",
            req.url.query().unwrap_or(""),
            String::from_utf8_lossy(&req.body)
        );
        if let Some(k) = &key
            && method != "GET"
            && let Some(stored) = self.idempotency.get(k)
        {
            let mut r = if stored.fingerprint == fingerprint {
                Reply::json(stored.status, stored.body.clone())
            } else {
                Reply::json(
                    400,
                    json!({"ErrorNumber": 10, "Type": "ValidationException",
                           "Message": "The Idempotency-Key was already used for a different request"}),
                )
            };
            r.headers = headers;
            return r;
        }
        let mut reply = self.route(method, resource, query, req, body);
        if let Some(k) = key
            && method != "GET"
            && reply.status < 500
        {
            self.idempotency.insert(
                k,
                Stored {
                    fingerprint,
                    status: reply.status,
                    body: reply.body.clone(),
                },
            );
        }
        reply.headers.extend(headers);
        reply
    }

    fn route(
        &mut self,
        method: &str,
        resource: &str,
        query: &[(String, String)],
        req: &Request,
        body: Option<Value>,
    ) -> Reply {
        let parts: Vec<&str> = resource.trim_matches('/').split('/').collect();
        let summarize = !query
            .iter()
            .any(|(k, v)| k == "summarizeErrors" && v == "false");
        match (method, parts.as_slice()) {
            ("GET", ["Organisation"]) => ok(
                "Organisations",
                vec![json!({
                    "OrganisationID": "00000000-0000-4000-8000-0000000000a1",
                    "Name": "Demo Company (MX)",
                    "LegalName": "Demo Company SA de CV",
                    "CountryCode": "MX",
                    "BaseCurrency": "MXN",
                    "TaxNumber": "EKU9003173C9",
                    "OrganisationType": "COMPANY",
                    "IsDemoCompany": true,
                    "OrganisationStatus": "ACTIVE"
                })],
            ),
            ("GET", ["Accounts"]) => ok(
                "Accounts",
                ACCOUNTS
                    .iter()
                    .enumerate()
                    .map(|(i, (code, name, t))| {
                        json!({"AccountID": format!("00000000-0000-4000-8000-0000000acc{i:02}"),
                               "Code": code, "Name": name, "Type": t, "Status": "ACTIVE",
                               "EnablePaymentsToAccount": *t == "BANK"})
                    })
                    .collect(),
            ),
            ("GET", ["TaxRates"]) => ok(
                "TaxRates",
                TAX_RATES
                    .iter()
                    .map(|(t, name, rate, scale)| {
                        json!({"TaxType": t, "Name": name, "Status": "ACTIVE",
                               "EffectiveRate": num(Decimal::new(*rate, *scale)),
                               "CanApplyToRevenue": true})
                    })
                    .collect(),
            ),
            ("GET", [coll]) => self.list(coll, query, req),
            ("GET", [coll, id]) => {
                let c = coll.to_string();
                match self.find(&c, id) {
                    Some(v) => ok(&c, vec![v.clone()]),
                    None => not_found(),
                }
            }
            ("PUT", ["Contacts"]) => {
                self.write_many(body, "Contacts", summarize, false, Self::put_contact)
            }
            ("POST", ["Contacts"]) => {
                self.write_many(body, "Contacts", summarize, true, Self::put_contact)
            }
            ("POST", ["Contacts", id]) => {
                self.update_one(body, "Contacts", "ContactID", id, Self::put_contact)
            }
            ("PUT", ["Items"]) => self.write_many(body, "Items", summarize, false, Self::put_item),
            ("POST", ["Items", id]) => self.update_one(body, "Items", "ItemID", id, Self::put_item),
            ("PUT", ["Invoices"]) => {
                self.write_many(body, "Invoices", summarize, false, Self::put_invoice)
            }
            ("POST", ["Invoices", id]) => self.update_invoice(body, id),
            ("PUT", ["Payments"]) => {
                self.write_many(body, "Payments", summarize, false, Self::put_payment)
            }
            ("PUT", ["BatchPayments"]) => self.put_batch_payments(body, summarize),
            ("PUT", ["CreditNotes"]) => {
                self.write_many(body, "CreditNotes", summarize, false, Self::put_credit_note)
            }
            ("PUT", ["CreditNotes", id, "Allocations"]) => self.allocate(body, id),
            ("GET", [coll @ ("Invoices" | "CreditNotes"), id, "Attachments"]) => {
                let c = coll.to_string();
                match self.find(&c, id) {
                    Some(v) => {
                        let list: Vec<Value> = v
                            .get("MockAttachments")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|a| {
                                json!({"AttachmentID": a["AttachmentID"], "FileName": a["FileName"],
                                       "MimeType": a["MimeType"], "ContentLength": a["ContentLength"]})
                            })
                            .collect();
                        ok("Attachments", list)
                    }
                    None => not_found(),
                }
            }
            ("PUT" | "POST", [coll @ ("Invoices" | "CreditNotes"), id, "Attachments", name]) => {
                let c = coll.to_string();
                let aid = self.uuid();
                let mime = header(req, "content-type").unwrap_or_default();
                let content = String::from_utf8_lossy(&req.body).into_owned();
                let Some(v) = self.find(&c, id) else {
                    return not_found();
                };
                let a = json!({"AttachmentID": aid, "FileName": name, "MimeType": mime,
                               "ContentLength": content.len(), "Content": content});
                if let Some(o) = v.as_object_mut() {
                    let list = o.entry("MockAttachments").or_insert_with(|| json!([]));
                    if let Some(l) = list.as_array_mut() {
                        l.retain(|x| x["FileName"] != json!(name));
                        l.push(a.clone());
                    }
                    o.insert("HasAttachments".into(), json!(true));
                }
                let mut shown = a;
                if let Some(o) = shown.as_object_mut() {
                    o.remove("Content");
                }
                ok("Attachments", vec![shown])
            }
            _ => not_found(),
        }
    }

    fn coll_mut(&mut self, coll: &str) -> Option<&mut Vec<Value>> {
        match coll {
            "Contacts" => Some(&mut self.contacts),
            "Items" => Some(&mut self.items),
            "Invoices" => Some(&mut self.invoices),
            "Payments" => Some(&mut self.payments),
            "BatchPayments" => Some(&mut self.batch_payments),
            "CreditNotes" => Some(&mut self.credit_notes),
            _ => None,
        }
    }

    fn id_field(coll: &str) -> &'static str {
        match coll {
            "Contacts" => "ContactID",
            "Items" => "ItemID",
            "Invoices" => "InvoiceID",
            "Payments" => "PaymentID",
            "BatchPayments" => "BatchPaymentID",
            _ => "CreditNoteID",
        }
    }

    fn find(&mut self, coll: &str, id: &str) -> Option<&mut Value> {
        let field = Self::id_field(coll);
        self.coll_mut(coll)?
            .iter_mut()
            .find(|v| s(v, field) == Some(id))
    }

    fn list(&mut self, coll: &str, query: &[(String, String)], req: &Request) -> Reply {
        let Some(all) = self.coll_mut(coll).map(|c| c.clone()) else {
            return not_found();
        };
        let q = |k: &str| query.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        let filter = match q("where") {
            Some(w) => match parse_where(&w) {
                Some(f) => Some(f),
                None => {
                    return Reply::json(
                        400,
                        json!({"ErrorNumber": 16, "Type": "QueryParseException", "Message": "invalid where"}),
                    );
                }
            },
            None => None,
        };
        let term = q("searchTerm").map(|t| t.to_lowercase());
        // `IDs=a,b,c`: a comma-separated list of record ids.
        let ids: Option<Vec<String>> =
            q("IDs").map(|v| v.split(',').map(|i| i.trim().to_owned()).collect());
        let id_field = Self::id_field(coll);
        let since = header(req, "if-modified-since")
            .and_then(|h| DateTime::parse_from_rfc3339(&h).ok())
            .map(|d| d.timestamp_millis());
        let mut rows: Vec<Value> = all
            .into_iter()
            .filter(|v| filter.as_ref().is_none_or(|f| matches_where(v, f)))
            .filter(|v| {
                ids.as_ref()
                    .is_none_or(|ids| s(v, id_field).is_some_and(|id| ids.iter().any(|i| i == id)))
            })
            .filter(|v| {
                term.as_ref().is_none_or(|t| {
                    [
                        "Name",
                        "FirstName",
                        "LastName",
                        "ContactNumber",
                        "EmailAddress",
                    ]
                    .iter()
                    .any(|k| s(v, k).is_some_and(|x| x.to_lowercase().contains(t.as_str())))
                })
            })
            .filter(|v| since.is_none_or(|s| updated_ms(v) >= s))
            .collect();
        rows.sort_by_key(updated_ms);
        if let Some(page) = q("page").and_then(|p| p.parse::<usize>().ok()) {
            let size = q("pageSize")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(100)
                .clamp(1, 1000);
            rows = rows
                .into_iter()
                .skip(page.saturating_sub(1) * size)
                .take(size)
                .collect();
        }
        ok(coll, rows)
    }

    /// PUT (create) or POST (create-or-update) of an array. `handler` validates and stores one element,
    /// returning the stored record or its error messages.
    fn write_many(
        &mut self,
        body: Option<Value>,
        coll: &str,
        summarize: bool,
        upsert: bool,
        handler: Handler,
    ) -> Reply {
        let elements = match elements(body.as_ref(), coll) {
            Ok(e) => e,
            Err(r) => return r,
        };
        let id_field = Self::id_field(coll);
        let mut out = Vec::new();
        let mut failed = false;
        for e in &elements {
            let existing = if upsert {
                s(e, id_field).map(str::to_owned)
            } else {
                None
            };
            match handler(self, e, existing) {
                Ok(v) => out.push(v),
                Err(msgs) => {
                    failed = true;
                    out.push(element_error(e.clone(), &msgs));
                }
            }
        }
        finish_many(coll, out, failed, summarize)
    }

    fn update_one(
        &mut self,
        body: Option<Value>,
        coll: &str,
        id_field: &str,
        id: &str,
        handler: Handler,
    ) -> Reply {
        if self.find(coll, id).is_none() {
            return not_found();
        }
        let Some(mut e) = body
            .as_ref()
            .and_then(|b| b.get(coll))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
        else {
            return Reply::json(
                400,
                json!({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "invalid body"}),
            );
        };
        if let Some(o) = e.as_object_mut() {
            o.insert(id_field.into(), json!(id));
        }
        match handler(self, &e, Some(id.to_owned())) {
            Ok(v) => ok(coll, vec![v]),
            Err(msgs) => validation(vec![element_error(e, &msgs)]),
        }
    }

    fn put_contact(&mut self, e: &Value, existing: Option<String>) -> Result<Value, Vec<String>> {
        let name = s(e, "Name").map(str::trim).unwrap_or_default().to_owned();
        if existing.is_none() && name.is_empty() {
            return Err(vec!["The contact name must be specified.".into()]);
        }
        if !name.is_empty() {
            let taken = self.contacts.iter().any(|c| {
                s(c, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name))
                    && s(c, "ContactStatus") == Some("ACTIVE")
                    && s(c, "ContactID") != existing.as_deref()
            });
            if taken {
                return Err(vec![format!(
                    "The contact name {name} is already assigned to another contact. The contact name must be unique across all active contacts."
                )]);
            }
        }
        let ms = self.now_ms();
        let id = match existing {
            Some(id) => id,
            None => {
                let id = self.uuid();
                self.contacts.push(json!({
                    "ContactID": id, "ContactStatus": "ACTIVE", "IsSupplier": false, "IsCustomer": false,
                    "Addresses": [], "Phones": [], "HasAttachments": false
                }));
                id
            }
        };
        let Some(c) = self.find("Contacts", &id) else {
            return Err(vec![format!("Contact {id} not found")]);
        };
        merge(c, e, &["ContactID"]);
        set(c, "UpdatedDateUTC", json!(ms_date(ms)));
        Ok(c.clone())
    }

    fn put_item(&mut self, e: &Value, existing: Option<String>) -> Result<Value, Vec<String>> {
        let code = s(e, "Code").unwrap_or_default().to_owned();
        if code.is_empty() {
            return Err(vec!["Item code must be specified".into()]);
        }
        if self
            .items
            .iter()
            .any(|i| s(i, "Code") == Some(code.as_str()) && s(i, "ItemID") != existing.as_deref())
        {
            return Err(vec![format!("Item code '{code}' already exists")]);
        }
        let ms = self.now_ms();
        let id = match existing {
            Some(id) => id,
            None => {
                let id = self.uuid();
                self.items
                    .push(json!({"ItemID": id, "IsTrackedAsInventory": false}));
                id
            }
        };
        let Some(i) = self.find("Items", &id) else {
            return Err(vec![format!("Item {id} not found")]);
        };
        merge(i, e, &["ItemID"]);
        set(i, "UpdatedDateUTC", json!(ms_date(ms)));
        Ok(i.clone())
    }

    /// Validates lines and computes totals like Xero: `LineAmount = round(Quantity × UnitAmount − discount)`,
    /// tax = the given `TaxAmount` or the rate of `TaxType`.
    fn lines(&self, e: &Value) -> Result<(Vec<Value>, Decimal, Decimal, Decimal), Vec<String>> {
        let mut errors = Vec::new();
        let inclusive = s(e, "LineAmountTypes") == Some("Inclusive");
        let no_tax = s(e, "LineAmountTypes") == Some("NoTax");
        let Some(items) = e.get("LineItems").and_then(Value::as_array) else {
            return Err(vec!["At least one line item is required".into()]);
        };
        if items.is_empty() {
            return Err(vec!["At least one line item is required".into()]);
        }
        let (mut sub, mut tax_total) = (Decimal::ZERO, Decimal::ZERO);
        let mut out = Vec::new();
        for li in items {
            let qty = dec(li.get("Quantity")).unwrap_or(Decimal::ONE);
            let unit = dec(li.get("UnitAmount")).unwrap_or_default();
            let mut amount = qty * unit;
            if let Some(r) = dec(li.get("DiscountRate")) {
                amount -= amount * r / Decimal::ONE_HUNDRED;
            }
            if let Some(a) = dec(li.get("DiscountAmount")) {
                amount -= a;
            }
            let amount = round2(amount);
            let account = s(li, "AccountCode");
            let item = s(li, "ItemCode");
            if let Some(a) = account {
                if !ACCOUNTS.iter().any(|(c, _, _)| *c == a) {
                    errors.push(format!(
                        "Account code '{a}' is not a valid code for this document."
                    ));
                }
            } else if let Some(code) = item {
                if !self.items.iter().any(|i| s(i, "Code") == Some(code)) {
                    errors.push(format!("Item code '{code}' is not valid"));
                }
            } else {
                errors.push("Account code must be specified".into());
            }
            let rate = match s(li, "TaxType") {
                None => Decimal::ZERO,
                Some(t) => match TAX_RATES.iter().find(|(tt, ..)| *tt == t) {
                    Some((_, _, r, sc)) => Decimal::new(*r, *sc),
                    None => {
                        errors.push(format!("The TaxType code '{t}' does not exist or cannot be used for this type of transaction."));
                        Decimal::ZERO
                    }
                },
            };
            let tax = if no_tax {
                Decimal::ZERO
            } else {
                match dec(li.get("TaxAmount")) {
                    Some(t) => t,
                    None if inclusive => {
                        round2(amount - amount / (Decimal::ONE + rate / Decimal::ONE_HUNDRED))
                    }
                    None => round2(amount * rate / Decimal::ONE_HUNDRED),
                }
            };
            let net = if inclusive { amount - tax } else { amount };
            sub += net;
            tax_total += tax;
            let mut l = li.clone();
            set(&mut l, "LineAmount", num(amount));
            set(&mut l, "TaxAmount", num(tax));
            set(&mut l, "LineItemID", json!(format!("{:x}", out.len() + 1)));
            out.push(l);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((out, sub, tax_total, sub + tax_total))
    }

    fn contact_summary(&self, e: &Value) -> Result<Value, Vec<String>> {
        let id = e
            .get("Contact")
            .and_then(|c| s(c, "ContactID"))
            .unwrap_or_default();
        self.contacts
            .iter()
            .find(|c| s(c, "ContactID") == Some(id))
            .map(|c| json!({"ContactID": id, "Name": s(c, "Name"), "ContactNumber": s(c, "ContactNumber")}))
            .ok_or_else(|| vec![format!("The contact '{id}' could not be found")])
    }

    fn put_invoice(&mut self, e: &Value, _existing: Option<String>) -> Result<Value, Vec<String>> {
        if s(e, "Type") != Some("ACCREC") {
            return Err(vec![
                "Only ACCREC invoices are supported by this mock".into(),
            ]);
        }
        let contact = self.contact_summary(e)?;
        let (lines, sub, tax, total) = self.lines(e)?;
        let status = s(e, "Status").unwrap_or("DRAFT").to_owned();
        if status == "AUTHORISED" && e.get("DueDate").is_none() {
            return Err(vec!["Due Date is required.".into()]);
        }
        if total < Decimal::ZERO {
            return Err(vec!["Invoice total cannot be negative".into()]);
        }
        let ms = self.now_ms();
        let id = self.uuid();
        let number = match s(e, "InvoiceNumber") {
            Some(n) => n.to_owned(),
            None => {
                self.invoice_no += 1;
                format!("INV-{:04}", self.invoice_no)
            }
        };
        let mut v = e.clone();
        for (k, val) in [
            ("InvoiceID", json!(id)),
            ("InvoiceNumber", json!(number)),
            ("Contact", contact),
            ("LineItems", Value::Array(lines)),
            ("Status", json!(status)),
            ("SubTotal", num(sub)),
            ("TotalTax", num(tax)),
            ("Total", num(total)),
            ("AmountDue", num(total)),
            ("AmountPaid", num(Decimal::ZERO)),
            ("AmountCredited", num(Decimal::ZERO)),
            ("UpdatedDateUTC", json!(ms_date(ms))),
        ] {
            set(&mut v, k, val);
        }
        to_ms_dates(&mut v, &["Date", "DueDate"]);
        self.invoices.push(v.clone());
        Ok(v)
    }

    fn update_invoice(&mut self, body: Option<Value>, id: &str) -> Reply {
        let e = body
            .as_ref()
            .and_then(|b| b.get("Invoices"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(Value::Null);
        let ms = self.now_ms();
        let Some(inv) = self.find("Invoices", id) else {
            return not_found();
        };
        match s(&e, "Status") {
            Some(st @ ("VOIDED" | "DELETED")) => {
                let paid = dec(inv.get("AmountPaid")).unwrap_or_default()
                    + dec(inv.get("AmountCredited")).unwrap_or_default();
                if !paid.is_zero() {
                    return validation(vec![element_error(
                        e,
                        &["This document cannot be edited as it has a payment or credit note allocated to it.".into()],
                    )]);
                }
                set(inv, "Status", json!(st));
                set(inv, "AmountDue", num(Decimal::ZERO));
                set(inv, "UpdatedDateUTC", json!(ms_date(ms)));
                ok("Invoices", vec![inv.clone()])
            }
            _ => validation(vec![element_error(
                e,
                &["Only status changes are supported by this mock".into()],
            )]),
        }
    }

    fn put_payment(&mut self, e: &Value, _existing: Option<String>) -> Result<Value, Vec<String>> {
        let account = bank_account(e)?;
        let inv_id = invoice_id_of(e);
        let amount = self.check_payable(&inv_id, dec(e.get("Amount")), Decimal::ZERO)?;
        let ms = self.now_ms();
        let id = self.uuid();
        let inv_summary = self.apply_paid(&inv_id, amount, ms);
        let mut p = payment_stored(e, &id, inv_summary, &account, ms);
        to_ms_dates(&mut p, &["Date"]);
        self.payments.push(p.clone());
        Ok(p)
    }

    /// Checks that `amount` may be paid on invoice `inv_id`, of which `pending` is already being paid by other
    /// payments of the same request. Returns the amount.
    fn check_payable(
        &self,
        inv_id: &str,
        amount: Option<Decimal>,
        pending: Decimal,
    ) -> Result<Decimal, Vec<String>> {
        let Some(amount) = amount.filter(|a| *a > Decimal::ZERO) else {
            return Err(vec!["Payment amount must be greater than zero".into()]);
        };
        let Some(inv) = self
            .invoices
            .iter()
            .find(|i| s(i, "InvoiceID") == Some(inv_id))
        else {
            return Err(vec![format!("Invoice '{inv_id}' could not be found")]);
        };
        if s(inv, "Status") != Some("AUTHORISED") {
            return Err(vec![
                "Payments can only be made against Authorised documents".into(),
            ]);
        }
        let due = dec(inv.get("AmountDue")).unwrap_or_default();
        if amount + pending > due {
            return Err(vec![
                "Payment amount exceeds the amount outstanding on this document".into(),
            ]);
        }
        Ok(amount)
    }

    /// Applies a checked payment to its invoice; returns the invoice summary Xero nests in payments.
    fn apply_paid(&mut self, inv_id: &str, amount: Decimal, ms: i64) -> Value {
        let Some(inv) = self.find("Invoices", inv_id) else {
            return json!({ "InvoiceID": inv_id });
        };
        let due = dec(inv.get("AmountDue")).unwrap_or_default();
        let paid = dec(inv.get("AmountPaid")).unwrap_or_default() + amount;
        let left = due - amount;
        set(inv, "AmountPaid", num(paid));
        set(inv, "AmountDue", num(left));
        if left.is_zero() {
            set(inv, "Status", json!("PAID"));
        }
        set(inv, "UpdatedDateUTC", json!(ms_date(ms)));
        json!({
            "InvoiceID": inv_id, "InvoiceNumber": s(inv, "InvoiceNumber"), "Reference": s(inv, "Reference"),
            "CurrencyCode": s(inv, "CurrencyCode"), "Contact": inv.get("Contact").cloned().unwrap_or(Value::Null),
            "Type": "ACCREC"
        })
    }

    /// `PUT /BatchPayments`: each batch is validated whole (account, date, and every payment against its
    /// invoice, counting the other payments of the batch) before any of it is applied.
    fn put_batch_payments(&mut self, body: Option<Value>, summarize: bool) -> Reply {
        let batches = match elements(body.as_ref(), "BatchPayments") {
            Ok(b) => b,
            Err(r) => return r,
        };
        let mut out = Vec::new();
        let mut failed = false;
        for b in &batches {
            match self.put_batch(b) {
                Ok(v) => out.push(v),
                Err(e) => {
                    failed = true;
                    out.push(e);
                }
            }
        }
        finish_many("BatchPayments", out, failed, summarize)
    }

    /// One batch: the stored batch, or the element with Xero's messages (on the batch, or on the payment they
    /// concern).
    fn put_batch(&mut self, b: &Value) -> Result<Value, Value> {
        let mut batch_errors = Vec::new();
        let account = bank_account(b).map_err(|m| batch_errors.extend(m)).ok();
        if s(b, "Date").is_none() {
            batch_errors.push("A valid Date must be specified".to_owned());
        }
        let lines = b
            .get("Payments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if lines.is_empty() {
            batch_errors.push("At least one payment must be specified".to_owned());
        }
        let mut pending: HashMap<String, Decimal> = HashMap::new();
        let mut checked = Vec::new();
        let mut answered = Vec::new();
        let mut line_failed = false;
        for line in &lines {
            let inv_id = invoice_id_of(line);
            let before = pending.get(&inv_id).copied().unwrap_or_default();
            match self.check_payable(&inv_id, dec(line.get("Amount")), before) {
                Ok(amount) => {
                    *pending.entry(inv_id.clone()).or_default() += amount;
                    checked.push((inv_id, amount, line));
                    answered.push(line.clone());
                }
                Err(msgs) => {
                    line_failed = true;
                    answered.push(element_error(line.clone(), &msgs));
                }
            }
        }
        let Some(account) = account.filter(|_| batch_errors.is_empty() && !line_failed) else {
            let mut e = element_error(b.clone(), &batch_errors);
            set(&mut e, "Payments", Value::Array(answered));
            return Err(e);
        };
        let ms = self.now_ms();
        let batch_id = self.uuid();
        let mut stored_lines = Vec::new();
        let mut total = Decimal::ZERO;
        for (inv_id, amount, line) in checked {
            let id = self.uuid();
            let inv_summary = self.apply_paid(&inv_id, amount, ms);
            // Xero creates one payment per invoice, dated like the batch and listed by `GET /Payments`.
            let mut p = payment_stored(line, &id, inv_summary.clone(), &account, ms);
            set(
                &mut p,
                "Date",
                b.get("Date").cloned().unwrap_or(Value::Null),
            );
            set(&mut p, "BatchPaymentID", json!(batch_id));
            to_ms_dates(&mut p, &["Date"]);
            self.payments.push(p);
            let mut summary = json!({
                "Invoice": inv_summary, "PaymentID": id, "Amount": num(amount), "BankAmount": num(amount)
            });
            if let Some(r) = line.get("Reference") {
                set(&mut summary, "Reference", r.clone());
            }
            stored_lines.push(summary);
            total += amount;
        }
        let mut v = b.clone();
        for (k, val) in [
            ("BatchPaymentID", json!(batch_id)),
            ("Account", account_ref(&account)),
            ("Payments", Value::Array(stored_lines)),
            ("Type", json!("RECBATCH")),
            ("Status", json!("AUTHORISED")),
            ("TotalAmount", num(total)),
            ("IsReconciled", json!(false)),
            ("UpdatedDateUTC", json!(ms_date(ms))),
        ] {
            set(&mut v, k, val);
        }
        to_ms_dates(&mut v, &["Date"]);
        self.batch_payments.push(v.clone());
        Ok(v)
    }

    fn put_credit_note(
        &mut self,
        e: &Value,
        _existing: Option<String>,
    ) -> Result<Value, Vec<String>> {
        if s(e, "Type") != Some("ACCRECCREDIT") {
            return Err(vec![
                "Only ACCRECCREDIT credit notes are supported by this mock".into(),
            ]);
        }
        let contact = self.contact_summary(e)?;
        let (lines, sub, tax, total) = self.lines(e)?;
        let ms = self.now_ms();
        let id = self.uuid();
        let number = match s(e, "CreditNoteNumber") {
            Some(n) => n.to_owned(),
            None => {
                self.credit_no += 1;
                format!("CN-{:04}", self.credit_no)
            }
        };
        let mut v = e.clone();
        for (k, val) in [
            ("CreditNoteID", json!(id)),
            ("CreditNoteNumber", json!(number)),
            ("Contact", contact),
            ("LineItems", Value::Array(lines)),
            ("Status", json!(s(e, "Status").unwrap_or("DRAFT"))),
            ("SubTotal", num(sub)),
            ("TotalTax", num(tax)),
            ("Total", num(total)),
            ("RemainingCredit", num(total)),
            ("Allocations", json!([])),
            ("UpdatedDateUTC", json!(ms_date(ms))),
        ] {
            set(&mut v, k, val);
        }
        to_ms_dates(&mut v, &["Date"]);
        self.credit_notes.push(v.clone());
        Ok(v)
    }

    fn allocate(&mut self, body: Option<Value>, cn_id: &str) -> Reply {
        let allocs = match elements(body.as_ref(), "Allocations") {
            Ok(a) => a,
            Err(r) => return r,
        };
        let mut out = Vec::new();
        for a in allocs {
            let ms = self.now_ms();
            let alloc_id = self.uuid();
            let inv_id = a
                .get("Invoice")
                .and_then(|i| s(i, "InvoiceID"))
                .unwrap_or_default()
                .to_owned();
            let amount = dec(a.get("Amount")).unwrap_or_default();
            let Some(cn) = self.find("CreditNotes", cn_id) else {
                return not_found();
            };
            let remaining = dec(cn.get("RemainingCredit")).unwrap_or_default();
            if amount <= Decimal::ZERO || amount > remaining || a.get("Date").is_none() {
                return validation(vec![element_error(a, &["The amount allocated must be positive, dated, and no more than the remaining credit".into()])]);
            }
            let Some(inv) = self.find("Invoices", &inv_id) else {
                return validation(vec![element_error(
                    a,
                    &[format!("Invoice '{inv_id}' could not be found")],
                )]);
            };
            let due = dec(inv.get("AmountDue")).unwrap_or_default();
            if amount > due {
                return validation(vec![element_error(
                    a,
                    &["The amount allocated exceeds the amount outstanding on the invoice".into()],
                )]);
            }
            let credited = dec(inv.get("AmountCredited")).unwrap_or_default() + amount;
            set(inv, "AmountCredited", num(credited));
            set(inv, "AmountDue", num(due - amount));
            if (due - amount).is_zero() {
                set(inv, "Status", json!("PAID"));
            }
            set(inv, "UpdatedDateUTC", json!(ms_date(ms)));
            let inv_summary = json!({"InvoiceID": inv_id, "InvoiceNumber": s(inv, "InvoiceNumber"), "Reference": s(inv, "Reference")});
            let mut stored = json!({
                "AllocationID": alloc_id, "Amount": num(amount), "Date": a.get("Date").cloned().unwrap_or(Value::Null),
                "Invoice": inv_summary, "CreditNote": {"CreditNoteID": cn_id}, "IsDeleted": false
            });
            to_ms_dates(&mut stored, &["Date"]);
            let Some(cn) = self.find("CreditNotes", cn_id) else {
                return not_found();
            };
            set(cn, "RemainingCredit", num(remaining - amount));
            set(cn, "UpdatedDateUTC", json!(ms_date(ms)));
            if let Some(list) = cn.get_mut("Allocations").and_then(Value::as_array_mut) {
                list.push(stored.clone());
            }
            out.push(stored);
        }
        ok("Allocations", out)
    }
}

/// The array `{"<coll>": [...]}` of a request body, or Xero's `PostDataInvalidException`.
fn elements(body: Option<&Value>, coll: &str) -> Result<Vec<Value>, Reply> {
    body.and_then(|b| b.get(coll))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| {
            Reply::json(
                400,
                json!({"ErrorNumber": 14, "Type": "PostDataInvalidException",
                       "Message": format!("JSON for {coll} is invalid")}),
            )
        })
}

/// The answer to a PUT/POST of an array: `200` with every element, or (errors summarised, Xero's default) `400`
/// with the rejected ones.
fn finish_many(coll: &str, out: Vec<Value>, failed: bool, summarize: bool) -> Reply {
    if failed && summarize {
        return validation(
            out.into_iter()
                .filter(|v| v.get("ValidationErrors").is_some())
                .collect(),
        );
    }
    ok(coll, out)
}

/// `Invoice.InvoiceID` of a payment element.
fn invoice_id_of(e: &Value) -> String {
    e.get("Invoice")
        .and_then(|i| s(i, "InvoiceID"))
        .unwrap_or_default()
        .to_owned()
}

/// The code of the bank account a payment or batch is paid into, or Xero's message.
fn bank_account(e: &Value) -> Result<String, Vec<String>> {
    let account = e
        .get("Account")
        .and_then(|a| s(a, "Code"))
        .unwrap_or_default()
        .to_owned();
    if ACCOUNTS
        .iter()
        .any(|(c, _, t)| *c == account && *t == "BANK")
    {
        Ok(account)
    } else {
        Err(vec![format!(
            "Account code '{account}' is not a bank account or has payments disabled"
        )])
    }
}

fn account_ref(code: &str) -> Value {
    json!({"AccountID": "00000000-0000-4000-8000-0000000acc00", "Code": code})
}

/// A payment as stored and returned: the request element completed with Xero's fields.
fn payment_stored(e: &Value, id: &str, invoice: Value, account: &str, ms: i64) -> Value {
    let mut p = e.clone();
    for (k, v) in [
        ("PaymentID", json!(id)),
        ("Invoice", invoice),
        ("Account", account_ref(account)),
        ("Status", json!("AUTHORISED")),
        ("PaymentType", json!("ACCRECPAYMENT")),
        ("IsReconciled", json!(false)),
        ("UpdatedDateUTC", json!(ms_date(ms))),
    ] {
        set(&mut p, k, v);
    }
    p
}

fn token_body(access: &str, refresh: &str) -> Value {
    json!({
        "id_token": "mock-id-token",
        "access_token": access,
        "expires_in": 1800,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "scope": "openid profile email offline_access accounting.contacts accounting.transactions accounting.settings"
    })
}

fn ok(coll: &str, rows: Vec<Value>) -> Reply {
    let mut body = Map::new();
    body.insert("Id".into(), json!("00000000-0000-4000-8000-0000000000ff"));
    body.insert("Status".into(), json!("OK"));
    body.insert("ProviderName".into(), json!("erp-hub mock"));
    body.insert(
        "DateTimeUTC".into(),
        json!(ms_date(Utc::now().timestamp_millis())),
    );
    body.insert(coll.into(), Value::Array(rows));
    Reply::json(200, Value::Object(body))
}

fn set(v: &mut Value, k: &str, val: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(k.to_owned(), val);
    }
}

fn merge(target: &mut Value, src: &Value, skip: &[&str]) {
    let (Some(t), Some(s)) = (target.as_object_mut(), src.as_object()) else {
        return;
    };
    for (k, v) in s {
        if !skip.contains(&k.as_str()) {
            t.insert(k.clone(), v.clone());
        }
    }
}

fn updated_ms(v: &Value) -> i64 {
    s(v, "UpdatedDateUTC")
        .and_then(crate::mapping::parse_xero_date)
        .map_or(0, |d| d.timestamp_millis())
}

/// Rewrites `YYYY-MM-DD` fields as Xero returns them (`/Date(ms+0000)/`) and adds `…String` variants.
fn to_ms_dates(v: &mut Value, fields: &[&str]) {
    for f in fields {
        let Some(d) = s(v, f).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|dt| Utc.from_utc_datetime(&dt).timestamp_millis())
            .unwrap_or_default();
        set(v, f, json!(ms_date(ms)));
        set(
            v,
            &format!("{f}String"),
            json!(format!("{}T00:00:00", d.format("%Y-%m-%d"))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_filters() {
        let f = parse_where(r#"Type=="ACCREC"&&Reference=="a\"b""#).unwrap();
        assert_eq!(
            f,
            vec![vec![
                ("Type".into(), "ACCREC".into()),
                ("Reference".into(), "a\"b".into())
            ]]
        );
        let f = parse_where(r#"ContactNumber=="x"||ContactNumber=="y""#).unwrap();
        assert_eq!(f.len(), 2);
        assert!(parse_where("Name=foo").is_none());
        let v = json!({"Contact": {"ContactID": "1"}});
        assert!(matches_where(
            &v,
            &parse_where(r#"Contact.ContactID=="1""#).unwrap()
        ));
    }

    #[test]
    fn mapping_covers_the_mock_tax_rates() {
        let m = MockXero::mapping();
        for t in m.tax_codes.values() {
            assert!(TAX_RATES.iter().any(|(tt, ..)| tt == t), "{t}");
        }
    }
}
