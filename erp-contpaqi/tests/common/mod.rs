//! Shared by the tests: the reference bridge with an adapter on it, and a checker of the bridge's traffic
//! against `bridge/openapi.yaml` (YAML → JSON, every object schema made strict, JSON Schema 2020-12 with boon).
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use boon::{Compiler, Draft, Schemas};
use erp_contpaqi::ContpaqiAdapter;
use erp_contpaqi::testing::{MockContpaqi, RecordedResponse};
use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

pub struct Env {
    pub mock: MockContpaqi,
    pub contpaqi: ContpaqiAdapter,
}

pub async fn env() -> Env {
    let mock = MockContpaqi::start().await;
    let contpaqi = ContpaqiAdapter::new(mock.config())
        .expect("adapter")
        .with_mapping(MockContpaqi::mapping());
    Env { mock, contpaqi }
}

const SPEC: &str = include_str!("../../bridge/openapi.yaml");
const BASE: &str = "urn:contpaqi-bridge";

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(s) | Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect::<Map<_, _>>(),
        ),
        _ => Value::Null,
    }
}

/// Responses must not carry fields the contract does not define: every schema with `properties` gets
/// `additionalProperties: false` unless it says otherwise.
fn strict(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("properties").is_some_and(Value::is_object)
                && !o.contains_key("additionalProperties")
                && !o.contains_key("oneOf")
            {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            // `oneOf` branches only pin the payload schema of each job type: they stay open.
            o.iter_mut()
                .filter(|(k, _)| k.as_str() != "oneOf")
                .for_each(|(_, v)| strict(v));
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

pub fn spec_json() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let docs = YamlLoader::load_from_str(SPEC).expect("openapi.yaml parses");
        let mut v = yaml_to_json(&docs[0]);
        strict(&mut v["components"]["schemas"]);
        v
    })
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of the schema of a response, or why there is none.
fn response_schema(r: &RecordedResponse) -> Result<String, String> {
    let spec = spec_json();
    let method = r.method.to_lowercase();
    let op = spec["paths"][&r.path][&method].clone();
    if op.is_null() {
        return Err(format!("{} {} is not in the contract", r.method, r.path));
    }
    let resp = &op["responses"][r.status.to_string()];
    if resp.is_null() {
        return Err(format!(
            "{} {} has no {} response",
            r.method, r.path, r.status
        ));
    }
    let base = match resp.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.trim_start_matches('#').to_owned(),
        None => format!("/paths/{}/{method}/responses/{}", escape(&r.path), r.status),
    };
    Ok(format!("{base}/content/application~1json/schema"))
}

fn validate(pointer: &str, body: &Value) -> Result<(), String> {
    let mut compiler = Compiler::new();
    compiler.set_default_draft(Draft::V2020_12);
    compiler
        .add_resource(BASE, spec_json().clone())
        .map_err(|e| format!("{e:#}"))?;
    let mut schemas = Schemas::new();
    let idx = compiler
        .compile(&format!("{BASE}#{pointer}"), &mut schemas)
        .map_err(|e| format!("compile {pointer}: {e:#}"))?;
    schemas.validate(body, idx).map_err(|e| format!("{e:#}"))
}

/// Checks every recorded response (and every job request body) against the contract; returns the number of
/// responses checked and the failures.
pub fn check_traffic(recorded: &[RecordedResponse]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    for (i, r) in recorded.iter().enumerate() {
        match response_schema(r).and_then(|p| validate(&p, &r.body)) {
            Ok(()) => {}
            Err(e) => failures.push(format!(
                "#{i} {} {} {}: {e}\n{}",
                r.method, r.path, r.status, r.body
            )),
        }
        if let Some(req) = r
            .request
            .as_ref()
            .filter(|_| r.method == "POST" && r.path == "/v1/jobs")
            && let Err(e) = validate("/components/schemas/JobRequest", req)
        {
            failures.push(format!("#{i} request body: {e}\n{req}"));
        }
    }
    (recorded.len(), failures)
}

/// Writes the recorded responses for `scripts/test.d/contpaqi-openapi.sh` when `ERP_CONTPAQI_RECORD` is set.
pub fn record(recorded: &[RecordedResponse]) {
    if std::env::var_os("ERP_CONTPAQI_RECORD").is_none() {
        return;
    }
    let list: Vec<Value> = recorded
        .iter()
        .map(|r| serde_json::json!({"method": r.method, "path": r.path, "status": r.status, "body": r.body}))
        .collect();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bridge-responses.json"
    );
    std::fs::write(path, serde_json::to_string_pretty(&list).expect("json"))
        .expect("write fixture");
}
