//! [`MockQuickBooks`]: a stateful, in-process QuickBooks Online mock (feature `testing`).
//!
//! It answers on a local port (wiremock) with the JSON shapes of the Intuit XSDs and the documented behaviours
//! the adapter must handle:
//! - OAuth2 token endpoint with **rotating** refresh tokens (a used refresh token answers `invalid_grant`) and
//!   bearer checks (`401` + Fault 3200 for an expired or unknown access token);
//! - `requestid` de-duplication (a repeated id returns the stored response and writes nothing);
//! - `DisplayName` / `Name` uniqueness (6240), `DocNumber` uniqueness (6140), stale `SyncToken` (5010), unknown
//!   ids (610), invalid references (2500), missing required fields (2020), `Amount ≠ Qty × UnitPrice` (6070);
//! - invoice balances reduced by payments and credit memos applied through `LinkedTxn`, voids;
//! - queries (`WHERE f = 'v' [AND ...]`, `Active IN (...)`, `STARTPOSITION`, `MAXRESULTS`), CDC, batch (≤ 30);
//! - throttling on demand (`429` + Fault 3001, alternately JSON and **XML** bodies) through
//!   [`FaultHook`].
//!
//! Every request body can be checked by a caller-supplied validator (the crate's tests plug in one derived from
//! the vendored Intuit XSDs); rejected bodies answer `400` and are listed by [`MockQuickBooks::violations`].
//!
//! Amounts are computed with `Decimal`; stored JSON numbers go through `serde_json`'s number type, which is exact
//! for up to 15 significant digits.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use chrono::{DateTime, FixedOffset, Offset, SecondsFormat, Utc};
use erp_hub_core::testing::conformance::FaultHook;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// Checks one request body: `(entity, body) → list of problems`.
pub type BodyValidator = Arc<dyn Fn(&str, &Value) -> Vec<String> + Send + Sync>;

/// One request the mock received (API calls only, not the token endpoint).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path after `/v3/company/{realm}/`.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Body (JSON), `Null` when none.
    pub body: Value,
    /// The status answered.
    pub status: u16,
}

struct State {
    realm: String,
    next_id: u64,
    entities: BTreeMap<(String, String), Value>,
    by_request_id: HashMap<String, (u16, String)>,
    access_token: Option<String>,
    refresh_token: String,
    issued: u64,
    refreshes: u64,
    token_requests: u64,
    throttle_next: usize,
    throttled: u64,
    throttle_xml: bool,
    tax_rates: HashMap<String, Decimal>,
    log: Vec<Recorded>,
    token_uses: HashMap<String, u64>,
    violations: Vec<String>,
    validator: Option<BodyValidator>,
    writes_applied: u64,
    company_name: String,
    country: String,
    latency: Option<std::time::Duration>,
    touch_after_get: Option<(String, String)>,
    reject_write_after: Option<usize>,
    limits: Option<Limits>,
}

/// QuickBooks' per-realm limits, enforced by the mock when asked ([`MockQuickBooks::enforce_limits`]).
struct Limits {
    per_minute: usize,
    concurrent: usize,
    /// Arrival instants of the accepted API requests of the last minute (oldest first).
    accepted: std::collections::VecDeque<std::time::Instant>,
    total_accepted: u64,
    rejections: u64,
}

impl Limits {
    /// Accepts a request arriving now, or says how long to wait (the `Retry-After`) when it breaks a limit.
    /// A request is in flight from its arrival until the mock's latency has passed.
    fn admit(&mut self, latency: std::time::Duration) -> Result<(), u64> {
        let now = std::time::Instant::now();
        let minute = std::time::Duration::from_secs(60);
        while self
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            self.accepted.pop_front();
        }
        let in_flight = self
            .accepted
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < latency)
            .count();
        if self.accepted.len() >= self.per_minute {
            self.rejections += 1;
            let oldest = self.accepted.front().copied().unwrap_or(now);
            return Err((minute.saturating_sub(now.duration_since(oldest)).as_secs()) + 1);
        }
        if in_flight >= self.concurrent {
            self.rejections += 1;
            return Err(1);
        }
        self.accepted.push_back(now);
        self.total_accepted += 1;
        Ok(())
    }
}

/// The mock server. Cheap to clone (shared state).
#[derive(Clone)]
pub struct MockQuickBooks {
    server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MockQuickBooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockQuickBooks")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

/// The initial access token the mock accepts.
pub const INITIAL_ACCESS_TOKEN: &str = "mock-access-0";
/// The initial refresh token the mock accepts.
pub const INITIAL_REFRESH_TOKEN: &str = "mock-refresh-0";
/// The authorization code the mock's token endpoint accepts.
pub const AUTHORIZATION_CODE: &str = "mock-auth-code";

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_str() -> String {
    let offset = FixedOffset::west_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    Utc::now()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
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

fn num(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

fn fault(status: u16, code: &str, message: &str, element: &str) -> (u16, String) {
    let kind = match code {
        "3200" | "120" => "AUTHENTICATION",
        "3001" => "SERVICE",
        _ => "ValidationFault",
    };
    let body = json!({
        "Fault": {"Error": [{"Message": message, "Detail": format!("{message} : {element}"), "code": code, "element": element}], "type": kind},
        "time": now_str(),
    });
    (status, body.to_string())
}

fn ok(entity: &str, v: &Value) -> (u16, String) {
    let mut m = Map::new();
    m.insert(entity.to_owned(), v.clone());
    m.insert("time".into(), Value::String(now_str()));
    (200, Value::Object(m).to_string())
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn ref_value<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(|r| r.get("value"))
        .and_then(Value::as_str)
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl State {
    /// Another user edits the record: its SyncToken moves on.
    fn touch(&mut self, entity: &str, id: &str) {
        if let Some(o) = self
            .entities
            .get_mut(&(entity.to_owned(), id.to_owned()))
            .and_then(Value::as_object_mut)
        {
            let token = o
                .get("SyncToken")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            o.insert("SyncToken".into(), json!(token.to_string()));
        }
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn get(&self, entity: &str, id: &str) -> Option<&Value> {
        self.entities.get(&(entity.to_owned(), id.to_owned()))
    }

    fn name_taken(&self, entity: &str, field: &str, name: &str, except: Option<&str>) -> bool {
        self.entities.iter().any(|((e, id), v)| {
            e == entity
                && Some(id.as_str()) != except
                && s(v, field).is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    fn stamp(v: &mut Value, created: bool) {
        let now = now_str();
        if let Some(o) = v.as_object_mut() {
            let meta = o
                .entry("MetaData")
                .or_insert_with(|| json!({"CreateTime": now}));
            if created && let Some(m) = meta.as_object_mut() {
                m.insert("CreateTime".into(), Value::String(now.clone()));
            }
            if let Some(m) = meta.as_object_mut() {
                m.insert("LastUpdatedTime".into(), Value::String(now));
            }
            o.insert("domain".into(), json!("QBO"));
            o.insert("sparse".into(), json!(false));
        }
    }

    fn validate(&mut self, entity: &str, body: &Value) -> Option<(u16, String)> {
        let problems = match &self.validator {
            Some(v) => v(entity, body),
            None => return None,
        };
        if problems.is_empty() {
            return None;
        }
        let msg = format!("{entity}: {}", problems.join("; "));
        self.violations.push(msg.clone());
        Some(fault(
            400,
            "2010",
            "Request has invalid or unsupported property",
            &msg,
        ))
    }

    /// Create or update (by `Id`) of a name entity with a unique field.
    fn upsert_named(&mut self, entity: &str, unique: &str, body: &Value) -> (u16, String) {
        let Some(obj) = body.as_object() else {
            return fault(400, "2020", "Required param missing", entity);
        };
        if let Some(id) = s(body, "Id") {
            let Some(current) = self.get(entity, id).cloned() else {
                return fault(400, "610", "Object Not Found", "Id");
            };
            if s(body, "SyncToken") != s(&current, "SyncToken") {
                return fault(400, "5010", "Stale Object Error", "SyncToken");
            }
            if let Some(name) = s(body, unique)
                && self.name_taken(entity, unique, name, Some(id))
            {
                return fault(400, "6240", "Duplicate Name Exists Error", unique);
            }
            let sparse = body.get("sparse").and_then(Value::as_bool) == Some(true);
            let mut next = if sparse { current.clone() } else { json!({}) };
            if let Some(n) = next.as_object_mut() {
                for (k, v) in obj {
                    n.insert(k.clone(), v.clone());
                }
                let token = s(&current, "SyncToken")
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                n.insert("SyncToken".into(), json!(token.to_string()));
                if let Some(m) = current.get("MetaData") {
                    n.insert("MetaData".into(), m.clone());
                }
                n.insert(
                    "Active".into(),
                    current.get("Active").cloned().unwrap_or(json!(true)),
                );
            }
            Self::stamp(&mut next, false);
            self.entities
                .insert((entity.to_owned(), id.to_owned()), next.clone());
            self.writes_applied += 1;
            return ok(entity, &next);
        }
        let Some(name) = s(body, unique).filter(|n| !n.trim().is_empty()) else {
            return fault(
                400,
                "2020",
                "Required param missing, need to supply the required value for the API",
                unique,
            );
        };
        if self.name_taken(entity, unique, name, None)
            || (entity == "Customer" && self.name_taken("Vendor", "DisplayName", name, None))
        {
            return fault(400, "6240", "Duplicate Name Exists Error", unique);
        }
        if entity == "Item" {
            if s(body, "Type").is_none() {
                return fault(400, "2020", "Required param missing", "Type");
            }
            match ref_value(body, "IncomeAccountRef") {
                None => return fault(400, "2020", "Required param missing", "IncomeAccountRef"),
                Some(a) if self.get("Account", a).is_none() => {
                    return fault(400, "2500", "Invalid Reference Id", "IncomeAccountRef");
                }
                _ => {}
            }
        }
        let id = self.id();
        let mut v = body.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("Id".into(), json!(id));
            o.insert("SyncToken".into(), json!("0"));
            o.insert("Active".into(), json!(true));
            if entity == "Customer" {
                o.insert("Balance".into(), json!(0));
                o.entry("CurrencyRef").or_insert(json!({"value": "USD"}));
            }
        }
        Self::stamp(&mut v, true);
        self.entities.insert((entity.to_owned(), id), v.clone());
        self.writes_applied += 1;
        ok(entity, &v)
    }

    fn sales_txn(&mut self, entity: &str, body: &Value) -> (u16, String) {
        let Some(cust) = ref_value(body, "CustomerRef") else {
            return fault(400, "2020", "Required param missing", "CustomerRef");
        };
        if self.get("Customer", cust).is_none() {
            return fault(400, "2500", "Invalid Reference Id", "CustomerRef");
        }
        let lines = body
            .get("Line")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if lines.is_empty() {
            return fault(400, "2020", "Required param missing", "Line");
        }
        if let Some(n) = s(body, "DocNumber")
            && self.name_taken(entity, "DocNumber", n, None)
        {
            return fault(400, "6140", "Duplicate Document Number Error", "DocNumber");
        }
        let mut subtotal = Decimal::ZERO;
        let mut computed_tax = Decimal::ZERO;
        for (i, l) in lines.iter().enumerate() {
            let Some(amount) = dec(l.get("Amount")) else {
                return fault(
                    400,
                    "2020",
                    "Required param missing",
                    &format!("Line[{i}].Amount"),
                );
            };
            let Some(d) = l.get("SalesItemLineDetail") else {
                return fault(
                    400,
                    "2020",
                    "Required param missing",
                    &format!("Line[{i}].SalesItemLineDetail"),
                );
            };
            match ref_value(d, "ItemRef") {
                Some(item) if self.get("Item", item).is_some() => {}
                _ => {
                    return fault(
                        400,
                        "2500",
                        "Invalid Reference Id",
                        &format!("Line[{i}].ItemRef"),
                    );
                }
            }
            if let (Some(q), Some(p)) = (dec(d.get("Qty")), dec(d.get("UnitPrice")))
                && round2(q * p) != amount
            {
                return fault(
                    400,
                    "6070",
                    "Amount is not equal to UnitPrice * Qty",
                    &format!("Line[{i}].Amount"),
                );
            }
            if let Some(code) = ref_value(d, "TaxCodeRef") {
                let rate = match code {
                    "TAX" | "NON" => None,
                    c => match self.tax_rates.get(c) {
                        Some(r) => Some(*r),
                        None => {
                            return fault(
                                400,
                                "2500",
                                "Invalid Reference Id",
                                &format!("Line[{i}].TaxCodeRef"),
                            );
                        }
                    },
                };
                if let Some(r) = rate {
                    computed_tax += round2(amount * r / Decimal::ONE_HUNDRED);
                }
            }
            subtotal += amount;
        }
        let tax = body
            .get("TxnTaxDetail")
            .and_then(|t| dec(t.get("TotalTax")))
            .unwrap_or(computed_tax);
        let total = subtotal + tax;
        let id = self.id();
        let mut v = body.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("Id".into(), json!(id));
            o.insert("SyncToken".into(), json!("0"));
            o.insert("TotalAmt".into(), num(total));
            o.insert("Balance".into(), num(total));
            if entity == "CreditMemo" {
                o.insert("RemainingCredit".into(), num(total));
            }
            let mut detail = o.get("TxnTaxDetail").cloned().unwrap_or(json!({}));
            if let Some(d) = detail.as_object_mut() {
                d.insert("TotalTax".into(), num(tax));
            }
            o.insert("TxnTaxDetail".into(), detail);
            o.entry("CurrencyRef").or_insert(json!({"value": "USD"}));
        }
        Self::stamp(&mut v, true);
        self.entities.insert((entity.to_owned(), id), v.clone());
        self.writes_applied += 1;
        ok(entity, &v)
    }

    fn void(&mut self, body: &Value) -> (u16, String) {
        let Some(id) = s(body, "Id") else {
            return fault(400, "2020", "Required param missing", "Id");
        };
        let Some(mut v) = self.get("Invoice", id).cloned() else {
            return fault(400, "610", "Object Not Found", "Id");
        };
        if s(body, "SyncToken") != s(&v, "SyncToken") {
            return fault(400, "5010", "Stale Object Error", "SyncToken");
        }
        if let Some(o) = v.as_object_mut() {
            let token = o
                .get("SyncToken")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            o.insert("SyncToken".into(), json!(token.to_string()));
            o.insert("TotalAmt".into(), json!(0));
            o.insert("Balance".into(), json!(0));
            o.insert("PrivateNote".into(), json!("Voided"));
            if let Some(lines) = o.get_mut("Line").and_then(Value::as_array_mut) {
                for l in lines {
                    if let Some(l) = l.as_object_mut() {
                        l.insert("Amount".into(), json!(0));
                    }
                }
            }
        }
        Self::stamp(&mut v, false);
        self.entities
            .insert(("Invoice".into(), id.to_owned()), v.clone());
        self.writes_applied += 1;
        ok("Invoice", &v)
    }

    fn payment(&mut self, body: &Value) -> (u16, String) {
        let Some(cust) = ref_value(body, "CustomerRef") else {
            return fault(400, "2020", "Required param missing", "CustomerRef");
        };
        if self.get("Customer", cust).is_none() {
            return fault(400, "2500", "Invalid Reference Id", "CustomerRef");
        }
        let Some(total) = dec(body.get("TotalAmt")) else {
            return fault(400, "2020", "Required param missing", "TotalAmt");
        };
        let lines = body
            .get("Line")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut updates: Vec<(String, String, Decimal)> = Vec::new();
        let mut net = Decimal::ZERO;
        for (i, l) in lines.iter().enumerate() {
            let amount = dec(l.get("Amount")).unwrap_or_default();
            for t in l
                .get("LinkedTxn")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(tid), Some(ttype)) = (s(t, "TxnId"), s(t, "TxnType")) else {
                    return fault(
                        400,
                        "2020",
                        "Required param missing",
                        &format!("Line[{i}].LinkedTxn"),
                    );
                };
                let (entity, field) = match ttype {
                    "Invoice" => ("Invoice", "Balance"),
                    "CreditMemo" => ("CreditMemo", "RemainingCredit"),
                    _ => return fault(400, "2170", "Invalid Enumeration", "TxnType"),
                };
                let Some(target) = self.get(entity, tid) else {
                    return fault(
                        400,
                        "2500",
                        "Invalid Reference Id",
                        &format!("Line[{i}].LinkedTxn.TxnId"),
                    );
                };
                let open = dec(target.get(field)).unwrap_or_default();
                if amount > open {
                    return fault(
                        400,
                        "6000",
                        "A business validation error has occurred while processing your request",
                        &format!("Line[{i}].Amount exceeds the open balance {open}"),
                    );
                }
                if entity == "Invoice" {
                    net += amount;
                } else {
                    net -= amount;
                }
                updates.push((entity.to_owned(), tid.to_owned(), amount));
            }
        }
        if net > total {
            return fault(
                400,
                "6000",
                "A business validation error has occurred while processing your request",
                "Applied amount exceeds TotalAmt",
            );
        }
        for (entity, id, amount) in updates {
            let field = if entity == "Invoice" {
                "Balance"
            } else {
                "RemainingCredit"
            };
            if let Some(v) = self.entities.get_mut(&(entity, id))
                && let Some(o) = v.as_object_mut()
            {
                let open = dec(o.get(field)).unwrap_or_default();
                o.insert(field.into(), num(open - amount));
                let token = o
                    .get("SyncToken")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                o.insert("SyncToken".into(), json!(token.to_string()));
                Self::stamp(v, false);
            }
        }
        let id = self.id();
        let mut v = body.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("Id".into(), json!(id));
            o.insert("SyncToken".into(), json!("0"));
            o.insert("UnappliedAmt".into(), num(total - net));
        }
        Self::stamp(&mut v, true);
        self.entities.insert(("Payment".into(), id), v.clone());
        self.writes_applied += 1;
        ok("Payment", &v)
    }

    /// Sparse update of a transaction: only `PrivateNote` (what `attach_fiscal_stamp` changes).
    fn sparse_update(&mut self, entity: &str, body: &Value) -> (u16, String) {
        let Some(id) = s(body, "Id") else {
            return fault(400, "2020", "Required param missing", "Id");
        };
        let Some(mut current) = self.get(entity, id).cloned() else {
            return fault(400, "610", "Object Not Found", "Id");
        };
        if s(body, "SyncToken") != s(&current, "SyncToken") {
            return fault(400, "5010", "Stale Object Error", "SyncToken");
        }
        let extra: Vec<&String> = body
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| {
                        !matches!(k.as_str(), "Id" | "SyncToken" | "sparse" | "PrivateNote")
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !extra.is_empty() {
            return fault(400, "2010", "Unsupported sparse update in the mock", entity);
        }
        let token = s(&current, "SyncToken")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        if let Some(o) = current.as_object_mut() {
            if let Some(n) = body.get("PrivateNote") {
                o.insert("PrivateNote".into(), n.clone());
            }
            o.insert("SyncToken".into(), json!(token.to_string()));
        }
        Self::stamp(&mut current, false);
        self.entities
            .insert((entity.to_owned(), id.to_owned()), current.clone());
        self.writes_applied += 1;
        ok(entity, &current)
    }

    /// `POST /upload`: a multipart body with `file_metadata_0` (Attachable JSON) and `file_content_0`.
    fn upload(&mut self, content_type: &str, raw: &[u8]) -> (u16, String) {
        let Some(boundary) = content_type.split("boundary=").nth(1) else {
            return fault(
                400,
                "2010",
                "upload without multipart boundary",
                "Content-Type",
            );
        };
        let text = String::from_utf8_lossy(raw);
        let mut meta: Option<Value> = None;
        let mut content: Option<String> = None;
        for part in text.split(&format!("--{boundary}")) {
            let Some((head, data)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let data = data.strip_suffix("\r\n").unwrap_or(data);
            if head.contains("name=\"file_metadata_0\"") {
                meta = serde_json::from_str(data).ok();
            } else if head.contains("name=\"file_content_0\"") {
                content = Some(data.to_owned());
            }
        }
        let (Some(mut meta), Some(content)) = (meta, content) else {
            return fault(
                400,
                "2010",
                "upload needs file_metadata_0 and file_content_0",
                "upload",
            );
        };
        self.next_id += 1;
        let id = self.next_id.to_string();
        if let Some(o) = meta.as_object_mut() {
            o.insert("Id".into(), json!(id));
            o.insert("SyncToken".into(), json!("0"));
            o.insert("Size".into(), json!(content.len()));
            o.insert("MockContent".into(), json!(content));
        }
        Self::stamp(&mut meta, true);
        self.entities
            .insert(("Attachable".into(), id), meta.clone());
        self.writes_applied += 1;
        let answer = json!({"AttachableResponse": [{"Attachable": meta}], "time": now_str()});
        (200, answer.to_string())
    }

    fn write(&mut self, entity: &str, operation: Option<&str>, body: &Value) -> (u16, String) {
        if let Some(f) = self.validate(entity, body) {
            return f;
        }
        match (entity, operation) {
            ("Invoice", Some("void")) => self.void(body),
            ("Customer", None) => self.upsert_named("Customer", "DisplayName", body),
            ("Item", None) => self.upsert_named("Item", "Name", body),
            ("Invoice" | "CreditMemo", None) if s(body, "Id").is_none() => {
                self.sales_txn(entity, body)
            }
            ("Payment", None) if s(body, "Id").is_none() => self.payment(body),
            ("Invoice" | "CreditMemo" | "Payment", None)
                if body.get("sparse").and_then(Value::as_bool) == Some(true) =>
            {
                self.sparse_update(entity, body)
            }
            _ => fault(400, "2010", "Unsupported operation in the mock", entity),
        }
    }

    fn query(&self, sql: &str) -> (u16, String) {
        match parse_query(sql) {
            Some(q) => {
                let mut rows: Vec<&Value> =
                    self.entities
                        .iter()
                        .filter(|((e, _), _)| *e == q.entity)
                        .map(|(_, v)| v)
                        .filter(|v| {
                            q.conditions.iter().all(|(f, val)| {
                                s(v, f).is_some_and(|x| x.eq_ignore_ascii_case(val))
                            }) && (q.any_active || v.get("Active") != Some(&json!(false)))
                        })
                        .collect();
                rows.sort_by_key(|v| s(v, "Id").and_then(|i| i.parse::<u64>().ok()).unwrap_or(0));
                let start = q.start.saturating_sub(1);
                let page: Vec<Value> = rows.into_iter().skip(start).take(q.max).cloned().collect();
                let mut qr = Map::new();
                if !page.is_empty() {
                    qr.insert("startPosition".into(), json!(q.start));
                    qr.insert("maxResults".into(), json!(page.len()));
                    qr.insert(q.entity.clone(), Value::Array(page));
                }
                (
                    200,
                    json!({"QueryResponse": qr, "time": now_str()}).to_string(),
                )
            }
            None => fault(400, "4000", "Error parsing query", sql),
        }
    }

    fn cdc(&self, entities: &str, since: &str) -> (u16, String) {
        let Some(since) = DateTime::parse_from_rfc3339(since).ok() else {
            return fault(400, "2020", "Required param missing", "changedSince");
        };
        let mut qrs = Vec::new();
        for e in entities.split(',').filter(|e| !e.is_empty()) {
            let rows: Vec<Value> = self
                .entities
                .iter()
                .filter(|((name, _), v)| {
                    name == e
                        && v.get("MetaData")
                            .and_then(|m| s(m, "LastUpdatedTime"))
                            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                            .is_some_and(|t| t >= since)
                })
                .map(|(_, v)| v.clone())
                .take(1000)
                .collect();
            let mut m = Map::new();
            if !rows.is_empty() {
                m.insert("startPosition".into(), json!(1));
                m.insert("maxResults".into(), json!(rows.len()));
                m.insert(e.to_owned(), Value::Array(rows));
            }
            qrs.push(Value::Object(m));
        }
        (
            200,
            json!({"CDCResponse": [{"QueryResponse": qrs}], "time": now_str()}).to_string(),
        )
    }

    fn batch(&mut self, body: &Value) -> (u16, String) {
        let items = body
            .get("BatchItemRequest")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if items.len() > 30 {
            return fault(400, "2020", "Batch size exceeds 30", "BatchItemRequest");
        }
        let mut out = Vec::new();
        for item in items {
            let bid = s(&item, "bId").unwrap_or_default().to_owned();
            let (status, text) = if let Some(q) = s(&item, "Query") {
                self.query(q)
            } else {
                let op = s(&item, "operation").unwrap_or("create");
                let Some((entity, payload)) = item
                    .as_object()
                    .and_then(|o| {
                        o.iter()
                            .find(|(k, _)| k.chars().next().is_some_and(char::is_uppercase))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                else {
                    out.push(json!({"bId": bid, "Fault": {"type": "ValidationFault", "Error": [{"code": "2020", "Message": "Required param missing"}]}}));
                    continue;
                };
                match op {
                    "create" | "update" => self.write(&entity, None, &payload),
                    _ => fault(400, "2010", "Unsupported batch operation in the mock", op),
                }
            };
            let mut answer: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
            answer.remove("time");
            let _ = status;
            answer.insert("bId".into(), json!(bid));
            out.push(Value::Object(answer));
        }
        (
            200,
            json!({"BatchItemResponse": out, "time": now_str()}).to_string(),
        )
    }
}

struct Query {
    entity: String,
    conditions: Vec<(String, String)>,
    any_active: bool,
    start: usize,
    max: usize,
}

/// A tiny parser for the queries the adapter sends.
fn parse_query(sql: &str) -> Option<Query> {
    let mut rest = sql.trim().strip_prefix("SELECT * FROM ")?;
    let (entity, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut q = Query {
        entity: entity.to_owned(),
        conditions: Vec::new(),
        any_active: false,
        start: 1,
        max: 100,
    };
    rest = after.trim();
    if let Some(w) = rest.strip_prefix("WHERE ") {
        rest = w;
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("Active IN (true, false)") {
                q.any_active = true;
                rest = r;
            } else {
                let (field, r) = rest.split_once(" = ")?;
                let r = r.strip_prefix('\'')?;
                let mut value = String::new();
                let mut chars = r.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                value.push(n);
                            }
                        }
                        '\'' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                q.conditions.push((field.trim().to_owned(), value));
                rest = r.get(end?..)?;
            }
            rest = rest.trim_start();
            match rest.strip_prefix("AND ") {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        match words.get(i).copied() {
            Some("ORDERBY") => i += 2,
            Some("STARTPOSITION") => {
                q.start = words.get(i + 1)?.parse().ok()?;
                i += 2;
            }
            Some("MAXRESULTS") => {
                q.max = words.get(i + 1)?.parse().ok()?;
                i += 2;
            }
            _ => return None,
        }
    }
    if q.max > 1000 {
        return None;
    }
    Some(q)
}

fn entity_of(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "customer" => "Customer",
        "item" => "Item",
        "invoice" => "Invoice",
        "payment" => "Payment",
        "creditmemo" => "CreditMemo",
        "account" => "Account",
        "taxcode" => "TaxCode",
        "attachable" => "Attachable",
        _ => return None,
    })
}

struct Responder {
    state: Arc<Mutex<State>>,
}

fn respond((status, body): (u16, String)) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .insert_header("intuit_tid", "1-mock-tid")
        .set_body_string(body)
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path().to_owned();
        let mut st = lock(&self.state);
        if path == "/oauth2/v1/tokens/bearer" {
            return token_endpoint(&mut st, req);
        }
        let prefix = format!("/v3/company/{}/", st.realm);
        let Some(rest) = path.strip_prefix(&prefix).map(str::to_owned) else {
            return respond(fault(404, "610", "Object Not Found", "realm"));
        };
        let latency = st.latency.unwrap_or_default();
        if let Some(Err(retry_after)) = st.limits.as_mut().map(|l| l.admit(latency)) {
            return respond(fault(
                429,
                "3001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "",
            ))
            .insert_header("retry-after", retry_after.to_string().as_str());
        }
        let query: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let method = req.method.to_string();
        let (status, text) = handle(&mut st, req, &method, &rest, &param, &body);
        if method == "GET"
            && status == 200
            && let Some((entity, id)) = st.touch_after_get.take()
        {
            st.touch(&entity, &id);
        }
        st.log.push(Recorded {
            method,
            path: rest,
            query,
            body,
            status,
        });
        let mut r = ResponseTemplate::new(status)
            .insert_header("intuit_tid", "1-mock-tid")
            .set_body_string(text.clone());
        if let Some(d) = st.latency {
            r = r.set_delay(d);
        }
        if text.starts_with('<') {
            r.insert_header("content-type", "application/xml")
        } else {
            r.insert_header("content-type", "application/json")
        }
    }
}

fn handle(
    st: &mut State,
    req: &Request,
    method: &str,
    rest: &str,
    param: &dyn Fn(&str) -> Option<String>,
    body: &Value,
) -> (u16, String) {
    // Gateway order: throttle, then authentication.
    if st.throttle_next > 0 {
        st.throttle_next -= 1;
        st.throttled += 1;
        st.throttle_xml = !st.throttle_xml;
        if st.throttle_xml {
            return (
                429,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><IntuitResponse xmlns=\"http://schema.intuit.com/finance/v3\" time=\"{}\"><Fault type=\"SERVICE\"><Error code=\"3001\"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>",
                    now_str()
                ),
            );
        }
        return fault(
            429,
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "",
        );
    }
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match (&bearer, &st.access_token) {
        (Some(b), Some(current)) if b == current => {
            *st.token_uses.entry(b.clone()).or_default() += 1;
        }
        _ => {
            return fault(
                401,
                "3200",
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "",
            );
        }
    }
    if param("minorversion").as_deref() != Some("75") {
        st.violations
            .push(format!("{method} {rest}: minorversion=75 missing"));
    }
    if req
        .headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|a| !a.contains("application/json"))
    {
        st.violations
            .push(format!("{method} {rest}: Accept: application/json missing"));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["query"]) => st.query(&param("query").unwrap_or_default()),
        ("GET", ["cdc"]) => st.cdc(
            &param("entities").unwrap_or_default(),
            &param("changedSince").unwrap_or_default(),
        ),
        ("GET", ["companyinfo", id]) if *id == st.realm => {
            let info = json!({"Id": "1", "SyncToken": "0", "CompanyName": st.company_name, "LegalName": st.company_name, "Country": st.country});
            ok("CompanyInfo", &info)
        }
        ("GET", ["preferences"]) => {
            let home = if st.country == "MX" { "MXN" } else { "USD" };
            let prefs = json!({"Id": "1", "SyncToken": "0",
                "CurrencyPrefs": {"MultiCurrencyEnabled": true, "HomeCurrency": {"value": home}},
                "TaxPrefs": {"PartnerTaxEnabled": st.country == "US"}});
            ok("Preferences", &prefs)
        }
        ("GET", [entity, id]) => match entity_of(entity) {
            Some(e) => match st.get(e, id) {
                Some(v) => ok(e, v),
                None => fault(400, "610", "Object Not Found", "Id"),
            },
            None => fault(400, "610", "Object Not Found", entity),
        },
        ("POST", [segment]) => {
            let rid = param("requestid");
            // The adapter must send requestid on every entity write; a batch may go without one.
            if rid.is_none() && *segment != "batch" {
                st.violations
                    .push(format!("POST {segment}: write without requestid"));
                return fault(400, "2010", "mock: requestid required", "requestid");
            }
            let max = if *segment == "batch" { 36 } else { 50 };
            if let Some(r) = rid.as_ref().filter(|r| r.len() > max) {
                st.violations
                    .push(format!("POST {segment}: requestid longer than {max}: {r}"));
                return fault(400, "2010", "requestid too long", "requestid");
            }
            if *segment == "batch"
                && rid.is_some()
                && body
                    .get("BatchItemRequest")
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items.iter().any(|i| {
                            i.get("bId")
                                .and_then(Value::as_str)
                                .is_none_or(|b| b.len() > 10)
                        })
                    })
            {
                st.violations
                    .push("POST batch: bId longer than 10 with a requestid".into());
                return fault(400, "2010", "bId too long", "bId");
            }
            match st.reject_write_after {
                Some(0) => {
                    st.reject_write_after = None;
                    return fault(
                        400,
                        "6000",
                        "A business validation error has occurred while processing your request",
                        "mock: injected rejection",
                    );
                }
                Some(n) => st.reject_write_after = Some(n - 1),
                None => {}
            }
            if let Some(stored) = rid.as_ref().and_then(|r| st.by_request_id.get(r)) {
                return stored.clone();
            }
            let answer = if *segment == "batch" {
                st.batch(body)
            } else if *segment == "upload" {
                let ct = req
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                st.upload(&ct, &req.body)
            } else {
                match entity_of(segment) {
                    Some(e) => st.write(e, param("operation").as_deref(), body),
                    None => fault(400, "2010", "Unsupported entity in the mock", segment),
                }
            };
            if let Some(rid) = rid {
                st.by_request_id.insert(rid, answer.clone());
            }
            answer
        }
        _ => fault(400, "2010", "Unsupported call in the mock", rest),
    }
}

fn token_endpoint(st: &mut State, req: &Request) -> ResponseTemplate {
    st.token_requests += 1;
    let basic = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if basic.is_none_or(|b| !b.contains(':')) {
        return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let grant_ok = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => form.get("refresh_token") == Some(&st.refresh_token),
        Some("authorization_code") => {
            form.get("code").map(String::as_str) == Some(AUTHORIZATION_CODE)
        }
        _ => false,
    };
    if !grant_ok {
        return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}));
    }
    if form.get("grant_type").map(String::as_str) == Some("refresh_token") {
        st.refreshes += 1;
    }
    st.issued += 1;
    let access = format!("mock-access-{}", st.issued);
    let refresh = format!("mock-refresh-{}", st.issued);
    st.access_token = Some(access.clone());
    st.refresh_token = refresh.clone();
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "bearer",
        "access_token": access,
        "expires_in": 3600,
        "refresh_token": refresh,
        "x_refresh_token_expires_in": 8_726_400,
    }))
}

impl MockQuickBooks {
    /// Starts a mock for `realm` with one income account (`79`), the "Services" item (`1`), a bank account
    /// (`35`) and México-style tax codes (`5` = IVA 16 %, `6` = exempt, `7` = 0 %).
    pub async fn start(realm: &str) -> Self {
        let server = MockServer::start().await;
        let mut entities = BTreeMap::new();
        let now = now_str();
        let seed = [
            (
                "Account",
                "79",
                json!({"Id": "79", "SyncToken": "0", "Name": "Sales of Product Income", "AccountType": "Income", "Active": true, "MetaData": {"CreateTime": now, "LastUpdatedTime": now}}),
            ),
            (
                "Account",
                "35",
                json!({"Id": "35", "SyncToken": "0", "Name": "Checking", "AccountType": "Bank", "Active": true, "MetaData": {"CreateTime": now, "LastUpdatedTime": now}}),
            ),
            (
                "Item",
                "1",
                json!({"Id": "1", "SyncToken": "0", "Name": "Services", "Type": "Service", "Active": true, "IncomeAccountRef": {"value": "79"}, "MetaData": {"CreateTime": now, "LastUpdatedTime": now}}),
            ),
            (
                "TaxCode",
                "5",
                json!({"Id": "5", "SyncToken": "0", "Name": "IVA 16%", "Taxable": true, "Active": true}),
            ),
            (
                "TaxCode",
                "6",
                json!({"Id": "6", "SyncToken": "0", "Name": "IVA Exento", "Taxable": false, "Active": true}),
            ),
            (
                "TaxCode",
                "7",
                json!({"Id": "7", "SyncToken": "0", "Name": "IVA 0%", "Taxable": true, "Active": true}),
            ),
        ];
        for (e, id, v) in seed {
            entities.insert((e.to_owned(), id.to_owned()), v);
        }
        let tax_rates = [
            ("5".to_owned(), Decimal::from(16)),
            ("6".to_owned(), Decimal::ZERO),
            ("7".to_owned(), Decimal::ZERO),
        ]
        .into_iter()
        .collect();
        let state = Arc::new(Mutex::new(State {
            realm: realm.to_owned(),
            next_id: 100,
            entities,
            by_request_id: HashMap::new(),
            access_token: Some(INITIAL_ACCESS_TOKEN.to_owned()),
            refresh_token: INITIAL_REFRESH_TOKEN.to_owned(),
            issued: 0,
            refreshes: 0,
            token_requests: 0,
            throttle_next: 0,
            throttled: 0,
            throttle_xml: false,
            tax_rates,
            log: Vec::new(),
            token_uses: HashMap::new(),
            violations: Vec::new(),
            validator: None,
            writes_applied: 0,
            company_name: "Mock Tours S.A. de C.V.".into(),
            country: "MX".into(),
            latency: None,
            touch_after_get: None,
            reject_write_after: None,
            limits: None,
        }));
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    /// The base URL (`http://127.0.0.1:port`), for [`Environment::Custom`](crate::Environment::Custom).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v1/tokens/bearer", self.server.uri())
    }

    /// An [`Environment::Custom`](crate::Environment::Custom) pointing at this mock.
    pub fn environment(&self) -> crate::Environment {
        crate::Environment::Custom {
            api_base: self.uri(),
            token_url: self.token_url(),
        }
    }

    /// Checks every request body with `validator`; rejected bodies answer `400` and are recorded.
    pub fn set_validator(&self, validator: BodyValidator) {
        lock(&self.state).validator = Some(validator);
    }

    /// Problems found in requests (body validation, missing `minorversion`, `requestid` or `Accept`).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state).violations.clone()
    }

    /// Every API request received (not the token endpoint), in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).log.clone()
    }

    /// Number of successful refresh-token grants.
    pub fn refresh_count(&self) -> u64 {
        lock(&self.state).refreshes
    }

    /// Number of requests to the token endpoint (successful or not).
    pub fn token_requests(&self) -> u64 {
        lock(&self.state).token_requests
    }

    /// Number of requests answered `429`.
    pub fn throttled_count(&self) -> u64 {
        lock(&self.state).throttled
    }

    /// Number of writes that changed state (replays of a `requestid` do not count).
    pub fn writes_applied(&self) -> u64 {
        lock(&self.state).writes_applied
    }

    /// How many API requests used `access_token`.
    pub fn token_uses(&self, access_token: &str) -> u64 {
        lock(&self.state)
            .token_uses
            .get(access_token)
            .copied()
            .unwrap_or(0)
    }

    /// The refresh token the mock currently accepts.
    pub fn current_refresh_token(&self) -> String {
        lock(&self.state).refresh_token.clone()
    }

    /// Number of stored records of `entity` (`Customer`, `Invoice`, ...).
    pub fn count(&self, entity: &str) -> usize {
        lock(&self.state)
            .entities
            .keys()
            .filter(|(e, _)| e == entity)
            .count()
    }

    /// A stored record.
    pub fn record(&self, entity: &str, id: &str) -> Option<Value> {
        lock(&self.state).get(entity, id).cloned()
    }

    /// Adds a vendor (to provoke 6240 across name lists).
    pub fn add_vendor(&self, display_name: &str) {
        let mut st = lock(&self.state);
        let id = st.id();
        st.entities.insert(
            ("Vendor".into(), id.clone()),
            json!({"Id": id, "SyncToken": "0", "DisplayName": display_name, "Active": true}),
        );
    }

    /// Delays every API response by `latency` (to observe client-side concurrency limits).
    pub fn set_latency(&self, latency: std::time::Duration) {
        lock(&self.state).latency = Some(latency);
    }

    /// Simulates another user editing `entity` `id` right after the next successful `GET` (read or query), so
    /// a write based on that read meets a stale SyncToken (5010).
    pub fn touch_after_next_get(&self, entity: &str, id: &str) {
        lock(&self.state).touch_after_get = Some((entity.to_owned(), id.to_owned()));
    }

    /// Enforces QuickBooks' per-realm limits from now on: at most `per_minute` API requests in any 60 s and
    /// `concurrent` in flight (a request is in flight for the [`set_latency`](Self::set_latency) delay after
    /// it arrives). A request past either answers `429` with Fault 3001 and a `Retry-After` header, and is not
    /// processed or logged. The token endpoint is not limited.
    pub fn enforce_limits(&self, per_minute: u32, concurrent: u32) {
        lock(&self.state).limits = Some(Limits {
            per_minute: usize::try_from(per_minute).unwrap_or(usize::MAX),
            concurrent: usize::try_from(concurrent).unwrap_or(usize::MAX),
            accepted: std::collections::VecDeque::new(),
            total_accepted: 0,
            rejections: 0,
        });
    }

    /// API requests accepted under [`enforce_limits`](Self::enforce_limits) (0 without limits).
    pub fn limited_accepted(&self) -> u64 {
        lock(&self.state)
            .limits
            .as_ref()
            .map_or(0, |l| l.total_accepted)
    }

    /// Requests answered `429` because they broke [`enforce_limits`](Self::enforce_limits).
    pub fn limit_rejections(&self) -> u64 {
        lock(&self.state)
            .limits
            .as_ref()
            .map_or(0, |l| l.rejections)
    }

    /// Makes the current access token invalid (the next API call gets `401`).
    pub fn expire_access_token(&self) {
        lock(&self.state).access_token = None;
    }

    /// Makes the next `n` API requests answer `429` (alternately JSON and XML bodies).
    pub fn throttle_next(&self, n: usize) {
        lock(&self.state).throttle_next += n;
    }
}

#[async_trait::async_trait]
impl FaultHook for MockQuickBooks {
    async fn rate_limit_next(&self, n: usize) {
        self.throttle_next(n);
    }

    async fn expire_token(&self) {
        self.expire_access_token();
    }

    async fn reject_write_after(&self, skip: usize) -> bool {
        lock(&self.state).reject_write_after = Some(skip);
        true
    }

    async fn clear_faults(&self) {
        let mut st = lock(&self.state);
        st.reject_write_after = None;
        st.throttle_next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parser() {
        let q = parse_query(
            "SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien' AND Active IN (true, false)",
        )
        .unwrap();
        assert_eq!(q.entity, "Customer");
        assert_eq!(
            q.conditions,
            vec![("DisplayName".to_owned(), "O'Brien".to_owned())]
        );
        assert!(q.any_active);
        let q = parse_query("SELECT * FROM Item ORDERBY Id STARTPOSITION 3 MAXRESULTS 2").unwrap();
        assert_eq!((q.start, q.max), (3, 2));
        assert!(parse_query("DELETE FROM Item").is_none());
    }
}
