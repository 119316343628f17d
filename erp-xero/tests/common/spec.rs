//! Validates request bodies against the vendored `xero_accounting.yaml` (OpenAPI 3.0) with a JSON-schema
//! validator (boon).
//!
//! The spec is converted from YAML to JSON and loaded as one schema resource. For a request `METHOD /Resource`,
//! the operation `paths./Resource.method` (path templates such as `/Contacts/{ContactID}` match any segment)
//! gives the `requestBody` schema (`#/components/schemas/Contacts`, ...), which the body must satisfy.
//! The spec's object schemas do not forbid unknown properties, so `additionalProperties: false` is added to every
//! schema under `components.schemas` that lists `properties`: a misspelt or invented field fails.

use std::collections::HashMap;
use std::sync::OnceLock;

use boon::{Compiler, Draft, SchemaIndex, Schemas};
use erp_xero::testing::RecordedRequest;
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

const SPEC: &str = include_str!("../fixtures/xero_accounting.yaml");
const BASE: &str = "https://erp-hub.test/xero_accounting.json";

pub struct Spec {
    schemas: Schemas,
    compiled: HashMap<String, SchemaIndex>,
    /// (path template segments, method) → schema pointer.
    operations: Vec<(Vec<String>, String, String)>,
}

fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::String(s.clone()), Value::Number),
        Yaml::Integer(i) => Value::Number((*i).into()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                m.insert(key, to_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

fn strictify(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("properties").is_some_and(Value::is_object)
                && !o.contains_key("additionalProperties")
            {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, child) in o.iter_mut() {
                strictify(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strictify),
        _ => {}
    }
}

pub fn spec() -> &'static Spec {
    static SPEC_CELL: OnceLock<Spec> = OnceLock::new();
    SPEC_CELL.get_or_init(|| {
        let docs = YamlLoader::load_from_str(SPEC).expect("xero_accounting.yaml parses");
        let mut json = to_json(&docs[0]);
        strictify(&mut json["components"]["schemas"]);
        let mut operations = Vec::new();
        for (path, item) in json["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if let Some(r) = op
                    .pointer("/requestBody/content/application~1json/schema/$ref")
                    .and_then(Value::as_str)
                {
                    let segments = path
                        .trim_matches('/')
                        .split('/')
                        .map(str::to_owned)
                        .collect();
                    operations.push((segments, method.to_uppercase(), r.to_owned()));
                }
            }
        }
        let mut compiler = Compiler::new();
        compiler.set_default_draft(Draft::V2020_12);
        compiler
            .add_resource(BASE, json)
            .expect("spec loads as a schema resource");
        let mut schemas = Schemas::new();
        let mut compiled = HashMap::new();
        for (_, _, r) in &operations {
            if compiled.contains_key(r) {
                continue;
            }
            let idx = compiler
                .compile(&format!("{BASE}{r}"), &mut schemas)
                .unwrap_or_else(|e| panic!("compile {r}: {e:#}"));
            compiled.insert(r.clone(), idx);
        }
        Spec {
            schemas,
            compiled,
            operations,
        }
    })
}

impl Spec {
    /// The requestBody schema of `METHOD resource`.
    pub fn schema_for(&self, method: &str, resource: &str) -> Option<&str> {
        let segs: Vec<&str> = resource.trim_matches('/').split('/').collect();
        self.operations
            .iter()
            .filter(|(tpl, m, _)| {
                m == method
                    && tpl.len() == segs.len()
                    && tpl
                        .iter()
                        .zip(&segs)
                        .all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s))
            })
            // Prefer literal matches over templates.
            .min_by_key(|(tpl, _, _)| tpl.iter().filter(|t| t.starts_with('{')).count())
            .map(|(_, _, r)| r.as_str())
    }

    /// Validates `body` against the schema at `pointer` (`#/components/schemas/X`).
    pub fn validate(&self, pointer: &str, body: &Value) -> Result<(), String> {
        let idx = self
            .compiled
            .get(pointer)
            .ok_or_else(|| format!("no schema {pointer}"))?;
        self.schemas
            .validate(body, *idx)
            .map_err(|e| format!("{e:#}"))
    }

    /// Validates every recorded API request with a body; returns how many were checked.
    pub fn check_requests(&self, requests: &[RecordedRequest]) -> usize {
        let mut n = 0;
        for r in requests {
            let Some(body) = &r.body else {
                continue;
            };
            let pointer = self.schema_for(&r.method, r.resource()).unwrap_or_else(|| {
                panic!(
                    "no requestBody schema in the spec for {} {}",
                    r.method,
                    r.resource()
                )
            });
            if let Err(e) = self.validate(pointer, body) {
                panic!(
                    "{} {} does not match {pointer}:\n{e}\nbody: {}",
                    r.method,
                    r.resource(),
                    serde_json::to_string_pretty(body).unwrap_or_default()
                );
            }
            n += 1;
        }
        n
    }
}

const IDENTITY: &str = include_str!("../fixtures/xero-identity.yaml");

/// Property names of `Connection` in `xero-identity.yaml`.
pub fn identity_connection_fields() -> Vec<String> {
    let docs = YamlLoader::load_from_str(IDENTITY).expect("identity spec parses");
    let json = to_json(&docs[0]);
    json.pointer("/components/schemas/Connection/properties")
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
