//! A checker for QuickBooks JSON bodies derived, at test time, from the vendored Intuit XSDs.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Elem {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub many: bool,
}

#[derive(Debug, Default, Clone)]
pub struct ComplexType {
    pub base: Option<String>,
    pub simple_content: bool,
    pub elements: Vec<Elem>,
    pub groups: Vec<String>,
    pub attributes: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Schema {
    pub types: HashMap<String, ComplexType>,
    pub groups: HashMap<String, Vec<Elem>>,
    pub simple: HashMap<String, String>,
}

/// Fields Intuit documents as required on create (shared/domain/erp.md §1); the XSD marks them optional.
pub const REQUIRED_ON_CREATE: &[(&str, &[&str])] = &[
    ("Customer", &["DisplayName"]),
    ("Item", &["Name", "Type", "IncomeAccountRef"]),
    ("Invoice", &["CustomerRef", "Line"]),
    ("CreditMemo", &["CustomerRef", "Line"]),
    ("Payment", &["CustomerRef", "TotalAmt"]),
];

fn strip(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.into_inner() == key)
        .map(|a| a.value.to_string())
}

enum Frame {
    Type(String),
    Group(String),
    Simple(String),
    Choice,
    Other,
}

impl Schema {
    pub fn load(dir: &Path) -> Self {
        let mut schema = Schema::default();
        for file in ["IntuitBaseTypes.xsd", "IntuitNamesTypes.xsd", "Finance.xsd"] {
            let text = std::fs::read_to_string(dir.join(file)).expect("read xsd");
            schema.parse(&text);
        }
        assert!(schema.types.contains_key("Customer"), "XSD parse failed");
        schema
    }

    fn parse(&mut self, text: &str) {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let ev = reader.read_event().expect("xsd is well-formed");
            let (e, empty) = match &ev {
                Event::Start(e) => (e.clone(), false),
                Event::Empty(e) => (e.clone(), true),
                Event::End(_) => {
                    stack.pop();
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let local = strip(e.name().into_inner());
            let current_type = stack.iter().rev().find_map(|f| match f {
                Frame::Type(t) => Some(t.clone()),
                Frame::Group(g) => Some(format!("group:{g}")),
                Frame::Simple(s) => Some(format!("simple:{s}")),
                _ => None,
            });
            let in_choice = stack.iter().any(|f| matches!(f, Frame::Choice));
            let frame = match local.as_str() {
                "complexType" => match attr(&e, "name") {
                    Some(n) if current_type.is_none() => {
                        self.types.entry(n.clone()).or_default();
                        Frame::Type(n)
                    }
                    // Anonymous nested types: not used by the entities the adapter writes.
                    _ => Frame::Type(format!("anon:{}", stack.len())),
                },
                "simpleType" => match attr(&e, "name") {
                    Some(n) if current_type.is_none() => Frame::Simple(n),
                    _ => Frame::Other,
                },
                "group" => {
                    if let Some(r) = attr(&e, "ref") {
                        if let Some(t) = current_type.as_deref().and_then(|t| self.types.get_mut(t))
                        {
                            t.groups.push(r);
                        }
                        Frame::Other
                    } else if let Some(n) = attr(&e, "name") {
                        self.groups.entry(n.clone()).or_default();
                        Frame::Group(n)
                    } else {
                        Frame::Other
                    }
                }
                "choice" => Frame::Choice,
                "simpleContent" => {
                    if let Some(t) = current_type.as_deref().and_then(|t| self.types.get_mut(t)) {
                        t.simple_content = true;
                    }
                    Frame::Other
                }
                "extension" | "restriction" => {
                    let base = attr(&e, "base").map(|b| strip(&b));
                    match current_type.as_deref() {
                        Some(s) if s.starts_with("simple:") => {
                            if let Some(b) = base {
                                self.simple
                                    .insert(s.trim_start_matches("simple:").to_owned(), b);
                            }
                        }
                        Some(t) => {
                            if let Some(ct) = self.types.get_mut(t) {
                                ct.base = base;
                            }
                        }
                        None => {}
                    }
                    Frame::Other
                }
                "element" => {
                    if let (Some(name), Some(owner)) = (attr(&e, "name"), current_type.clone()) {
                        let min = attr(&e, "minOccurs").unwrap_or_else(|| "1".into());
                        let max = attr(&e, "maxOccurs").unwrap_or_else(|| "1".into());
                        let elem = Elem {
                            name,
                            ty: attr(&e, "type")
                                .map(|t| strip(&t))
                                .unwrap_or_else(|| "anyType".into()),
                            required: min != "0" && !in_choice,
                            many: max == "unbounded" || max.parse::<u32>().is_ok_and(|m| m > 1),
                        };
                        if let Some(g) = owner.strip_prefix("group:") {
                            self.groups.entry(g.to_owned()).or_default().push(elem);
                        } else if let Some(t) = self.types.get_mut(&owner) {
                            t.elements.push(elem);
                        }
                    }
                    Frame::Other
                }
                "attribute" => {
                    if let (Some(name), Some(t)) = (
                        attr(&e, "name"),
                        current_type.as_deref().and_then(|t| self.types.get_mut(t)),
                    ) {
                        t.attributes.push(name);
                    }
                    Frame::Other
                }
                _ => Frame::Other,
            };
            if !empty {
                stack.push(frame);
            }
        }
    }

    /// Elements and attributes of `ty`, its base types and groups.
    fn members(&self, ty: &str) -> (Vec<Elem>, Vec<String>, bool) {
        let mut elems = Vec::new();
        let mut attrs = Vec::new();
        let mut simple = false;
        let mut cur = Some(ty.to_owned());
        let mut guard = 0;
        while let Some(t) = cur {
            guard += 1;
            if guard > 20 {
                break;
            }
            let Some(ct) = self.types.get(&t) else { break };
            elems.extend(ct.elements.iter().cloned());
            for g in &ct.groups {
                elems.extend(
                    self.groups
                        .get(g)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|mut e| {
                            e.required = false;
                            e
                        }),
                );
            }
            attrs.extend(ct.attributes.iter().cloned());
            simple |= ct.simple_content;
            cur = ct.base.clone();
        }
        (elems, attrs, simple)
    }

    fn simple_base(&self, ty: &str) -> String {
        let mut t = ty.to_owned();
        for _ in 0..10 {
            match self.simple.get(&t) {
                Some(b) => t = b.clone(),
                None => break,
            }
        }
        t
    }

    fn check_scalar(&self, ty: &str, v: &Value, path: &str, out: &mut Vec<String>) {
        let base = self.simple_base(ty);
        let ok = match base.as_str() {
            "decimal" | "int" | "integer" | "long" | "double" | "positiveInteger"
            | "nonNegativeInteger" => v.is_number(),
            "boolean" => v.is_boolean(),
            "date" => v
                .as_str()
                .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            _ => v.is_string(),
        };
        if !ok {
            out.push(format!("{path}: {v} is not a valid {ty} ({base})"));
        }
    }

    pub fn check(&self, ty: &str, v: &Value, path: &str, out: &mut Vec<String>) {
        if !self.types.contains_key(ty) {
            if v.is_object() || v.is_array() {
                out.push(format!("{path}: expected a simple {ty}, got {v}"));
            } else {
                self.check_scalar(ty, v, path, out);
            }
            return;
        }
        let (elems, attrs, simple) = self.members(ty);
        let Some(obj) = v.as_object() else {
            out.push(format!("{path}: expected an object of type {ty}"));
            return;
        };
        for (k, val) in obj {
            let p = format!("{path}.{k}");
            if simple && k == "value" {
                continue;
            }
            if attrs.iter().any(|a| a == k) {
                if val.is_object() || val.is_array() {
                    out.push(format!("{p}: attribute must be a scalar"));
                }
                continue;
            }
            let Some(el) = elems.iter().find(|e| &e.name == k) else {
                out.push(format!("{p}: not a field of {ty} in the Intuit XSD"));
                continue;
            };
            match val {
                Value::Array(items) => {
                    if !el.many {
                        out.push(format!("{p}: {ty}.{k} is not repeatable"));
                    }
                    for (i, item) in items.iter().enumerate() {
                        self.check(&el.ty, item, &format!("{p}[{i}]"), out);
                    }
                }
                other => self.check(&el.ty, other, &p, out),
            }
        }
        for el in elems.iter().filter(|e| e.required) {
            if !obj.contains_key(&el.name) {
                out.push(format!("{path}: required {ty}.{} missing", el.name));
            }
        }
    }

    /// Checks the body of a write of `entity`: XSD fields plus the documented create minimums.
    pub fn check_body(&self, entity: &str, body: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(entity, body, entity, &mut out);
        let Some(obj) = body.as_object() else {
            return out;
        };
        if obj.contains_key("Id") {
            if !obj.contains_key("SyncToken") {
                out.push(format!("{entity}: update without SyncToken"));
            }
            return out;
        }
        if let Some((_, req)) = REQUIRED_ON_CREATE.iter().find(|(e, _)| *e == entity) {
            for f in *req {
                if !obj.contains_key(*f) {
                    out.push(format!("{entity}: required on create: {f}"));
                }
            }
        }
        for (i, line) in obj
            .get("Line")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let detail = line.get("DetailType").and_then(Value::as_str);
            if line.get("Amount").is_none() {
                out.push(format!("{entity}.Line[{i}]: Amount missing"));
            }
            match (entity, detail) {
                ("Payment", _) => {
                    for t in line
                        .get("LinkedTxn")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if t.get("TxnId").is_none() || t.get("TxnType").is_none() {
                            out.push(format!(
                                "{entity}.Line[{i}].LinkedTxn: TxnId and TxnType required"
                            ));
                        }
                    }
                }
                (_, Some("SalesItemLineDetail"))
                    if line.pointer("/SalesItemLineDetail/ItemRef/value").is_none() =>
                {
                    out.push(format!(
                        "{entity}.Line[{i}]: SalesItemLineDetail.ItemRef missing"
                    ));
                }
                (_, None) => out.push(format!("{entity}.Line[{i}]: DetailType missing")),
                _ => {}
            }
        }
        out
    }
}
