//! Complement cadenas. The generated program table is what `cfdi/tools/gen_complement_cadena.py`
//! writes now and covers every attribute and template of the XSLTs; and for every complement of
//! SAT's `cadenaoriginal_4_0.xslt` the native cadena equals `xsltproc` byte for byte on instance
//! documents built from the program table (random presence, multiplicity, document order,
//! awkward whitespace and escaped characters).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use cfdi::fuzzing::{Cond, Op, Step, Value, complements, template};
use cfdi::{Csd, Error, ErrorKind, SecretString};
use proptest::prelude::*;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cfd_dir() -> PathBuf {
    manifest().join("tests/fixtures/sat/www.sat.gob.mx/sitio_internet/cfd")
}

fn sample() -> String {
    std::fs::read_to_string(manifest().join("tests/fixtures/samples/cfdiutils-cfdi40-valid.xml"))
        .expect("sample")
}

/// SAT's cadena of `xml`, from `xsltproc` and the vendored XSLTs.
fn xsltproc(xml: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cfdi.xml");
    std::fs::write(&file, xml).expect("write");
    let out = Command::new("xsltproc")
        .arg(cfd_dir().join("4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt"))
        .arg(&file)
        .output()
        .expect("cannot run xsltproc (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "xsltproc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 cadena")
}

// --- the generated file -------------------------------------------------------------------------

#[test]
fn generated_programs_are_what_the_generator_writes() {
    let out = Command::new("python3")
        .arg(manifest().join("tools/gen_complement_cadena.py"))
        .arg("--stdout")
        .output()
        .expect("cannot run python3 (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "generator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed =
        std::fs::read(manifest().join("src/cadena/generated.rs")).expect("generated.rs");
    assert!(
        out.stdout == committed,
        "cfdi/src/cadena/generated.rs is stale: run python3 cfdi/tools/gen_complement_cadena.py"
    );
}

/// Attribute and element names reachable from a complement's root template.
fn reachable(namespace: &'static str, root: &'static str) -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(
        ops: &[Op],
        attrs: &mut BTreeSet<String>,
        todo: &mut Vec<(&'static str, &'static str)>,
    ) {
        for op in ops {
            match op {
                Op::Required(Value::Attr(a)) | Op::Optional(Value::Attr(a)) => {
                    attrs.insert((*a).to_string());
                }
                Op::Required(_) | Op::Optional(_) => {}
                Op::Apply(path) => {
                    if let Some(s) = path.last() {
                        todo.push((s.namespace, s.local));
                    }
                }
                Op::ForEach(path, body) => {
                    let applies_self = body.iter().any(|o| matches!(o, Op::Apply([])));
                    if let (true, Some(s)) = (applies_self, path.last()) {
                        todo.push((s.namespace, s.local));
                    }
                    walk(body, attrs, todo);
                }
                Op::If(cond, body) => {
                    if let Cond::AttrEq(a, _) = cond {
                        attrs.insert((*a).to_string());
                    }
                    walk(body, attrs, todo);
                }
            }
        }
    }
    let (mut attrs, mut elements) = (BTreeSet::new(), BTreeSet::new());
    let mut todo = vec![(namespace, root)];
    while let Some((ns, local)) = todo.pop() {
        if !elements.insert(local.to_string()) {
            continue;
        }
        let t = template(ns, local).unwrap_or_else(|| panic!("no template for {local}"));
        walk(t.ops, &mut attrs, &mut todo);
    }
    (attrs, elements)
}

/// `name` in every `attr="..."` of `text` (a crude second reading of the XSLT, independent of the
/// generator).
fn attribute_values<'t>(text: &'t str, attr: &str) -> Vec<&'t str> {
    let key = format!("{attr}=\"");
    text.match_indices(&key)
        .filter_map(|(i, _)| {
            let rest = text.get(i + key.len()..)?;
            rest.split('"').next()
        })
        .collect()
}

#[test]
fn programs_cover_every_attribute_and_template_of_the_xslts() {
    assert_eq!(complements().len(), 31);
    let main =
        std::fs::read_to_string(cfd_dir().join("4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt"))
            .expect("xslt");
    let includes = attribute_values(&main, "href");
    for c in complements() {
        assert!(
            includes.iter().any(|h| h.ends_with(c.xslt)),
            "{} not included",
            c.xslt
        );
        let text = std::fs::read_to_string(cfd_dir().join(c.xslt)).expect("xslt");
        let mut xslt_attrs = BTreeSet::new();
        for sel in attribute_values(&text, "select")
            .into_iter()
            .chain(attribute_values(&text, "test"))
        {
            if let Some((_, a)) = sel.split_once('@') {
                let name: String = a
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                xslt_attrs.insert(name);
            }
        }
        let xslt_templates: BTreeSet<String> = attribute_values(&text, "match")
            .into_iter()
            .filter(|m| *m != "/")
            .map(|m| m.split_once(':').map_or(m, |(_, l)| l).to_string())
            .collect();
        let (attrs, elements) = reachable(c.namespace, c.root);
        assert_eq!(attrs, xslt_attrs, "{}: attributes", c.xslt);
        assert_eq!(elements, xslt_templates, "{}: templates", c.xslt);
    }
}

// --- instance documents ---------------------------------------------------------------------------

/// splitmix64: deterministic, seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u32) -> bool {
        self.next() % 100 < u64::from(percent)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Attribute values as written in the document (already escaped). Literal tabs and newlines are
/// turned into spaces by attribute-value normalization; `&#9;`-style references survive it.
const ATTR_VALUES: &[&str] = &[
    "ABC123",
    "  leading",
    "trailing  ",
    "double  space",
    "tab&#9;inside",
    "&#9;tab edges&#9;",
    "R&amp;D",
    "&quot;quoted&quot;",
    "a &lt;b&gt; c",
    "",
    " ",
    "Año ñ ü",
    "line&#10;feed",
    "cr&#13;&#10;lf",
    "literal\ttab",
    "literal\nnewline",
    "1.50",
    "x   y \t z",
];

/// Element text content as written (escaped), for `select="."` and element-path values.
const TEXT_VALUES: &[&str] = &[
    "text",
    "  padded  ",
    "two\n  lines",
    "R&amp;D",
    "<![CDATA[ cdata  & <raw> ]]>",
    "tab\tin",
    "&quot;q&quot; &#9;x",
    "",
    "\r\n crlf \r\n",
];

const NOISE_NS: &str = "urn:example:noise";

struct El {
    ns: &'static str,
    local: &'static str,
    attrs: Vec<(String, String)>,
    children: Vec<Item>,
}

enum Item {
    El(El),
    Text(String),
}

impl El {
    fn new(ns: &'static str, local: &'static str) -> Self {
        El {
            ns,
            local,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k == name)
    }

    fn write(&self, out: &mut String, ns: &str, default_ns: bool, root: bool) {
        let prefix = if self.ns == NOISE_NS {
            "z:"
        } else if self.ns == ns && default_ns {
            ""
        } else if self.ns == ns {
            "c:"
        } else {
            panic!("unexpected namespace {}", self.ns)
        };
        out.push('<');
        out.push_str(prefix);
        out.push_str(self.local);
        if root {
            if default_ns {
                out.push_str(&format!(" xmlns=\"{ns}\""));
            } else {
                out.push_str(&format!(" xmlns:c=\"{ns}\""));
            }
            out.push_str(&format!(" xmlns:z=\"{NOISE_NS}\""));
        }
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}=\"{v}\""));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for ch in &self.children {
            match ch {
                Item::El(e) => e.write(out, ns, default_ns, false),
                Item::Text(t) => out.push_str(t),
            }
        }
        out.push_str(&format!("</{prefix}{}>", self.local));
    }
}

/// How full an instance is.
#[derive(Clone, Copy, Debug)]
struct Mode {
    /// Percent chance that a `Requerido` value is present.
    required: u32,
    /// Percent chance that an `Opcional` value is present.
    optional: u32,
    /// Copies of each selected child: `min..=max`.
    min: usize,
    max: usize,
}

const FULL: Mode = Mode {
    required: 100,
    optional: 100,
    min: 1,
    max: 2,
};
const BARE: Mode = Mode {
    required: 100,
    optional: 0,
    min: 1,
    max: 1,
};
const EMPTY: Mode = Mode {
    required: 0,
    optional: 0,
    min: 0,
    max: 0,
};

struct Gen<'r> {
    rng: &'r mut Rng,
    mode: Mode,
    /// Elements still allowed (keeps documents small).
    budget: usize,
}

impl Gen<'_> {
    fn copies(&mut self, depth: usize) -> usize {
        if self.budget == 0 || depth > 8 {
            return 0;
        }
        let max = if depth > 3 {
            self.mode.max.min(2)
        } else {
            self.mode.max
        };
        let min = self.mode.min.min(max);
        min + self.rng.below(max - min + 1)
    }

    /// A complete element matched by its template (if any), children shuffled.
    fn element(&mut self, ns: &'static str, local: &'static str, depth: usize) -> El {
        let mut el = El::new(ns, local);
        if let Some(t) = template(ns, local) {
            self.fill(&mut el, t.ops, depth);
        }
        self.finish(&mut el);
        el
    }

    fn finish(&mut self, el: &mut El) {
        if self.rng.chance(25) {
            el.children.push(Item::Text("\n    ".into()));
        }
        if self.rng.chance(15) {
            let mut z = El::new(NOISE_NS, "Ruido");
            z.attrs.push(("Version".into(), "9.9".into()));
            z.children.push(Item::Text(" noise text ".into()));
            el.children.push(Item::El(z));
        }
        if self.rng.chance(10) {
            el.attrs.push(("z:Version".into(), "prefixed".into()));
        }
        if self.rng.chance(10) {
            el.attrs.push(("AtributoNoUsado".into(), "x".into()));
        }
        // Document order different from the XSLT's order.
        for i in (1..el.children.len()).rev() {
            let j = self.rng.below(i + 1);
            el.children.swap(i, j);
        }
        for i in (1..el.attrs.len()).rev() {
            let j = self.rng.below(i + 1);
            el.attrs.swap(i, j);
        }
    }

    fn fill(&mut self, el: &mut El, ops: &[Op], depth: usize) {
        for op in ops {
            match op {
                Op::Required(v) => self.value(el, v, self.mode.required, depth),
                Op::Optional(v) => self.value(el, v, self.mode.optional, depth),
                Op::Apply([]) => {
                    if let Some(t) = template(el.ns, el.local) {
                        self.fill(el, t.ops, depth);
                    }
                }
                Op::Apply(path) => {
                    for _ in 0..self.copies(depth) {
                        let leaf = path.last().expect("non-empty");
                        let child = self.element(leaf.namespace, leaf.local, depth + path.len());
                        self.chain(el, path, child);
                    }
                }
                Op::ForEach(path, body) => {
                    for _ in 0..self.copies(depth) {
                        let leaf = path.last().expect("non-empty");
                        let mut child = El::new(leaf.namespace, leaf.local);
                        self.fill(&mut child, body, depth + path.len());
                        self.finish(&mut child);
                        self.chain(el, path, child);
                    }
                }
                Op::If(Cond::Exists(_), body) => self.fill(el, body, depth),
                Op::If(Cond::AttrEq(name, literal), body) => {
                    if !el.has(name) && self.rng.chance(self.mode.required.max(30)) {
                        let v = if self.rng.chance(70) { *literal } else { "1.0" };
                        el.attrs.push(((*name).into(), v.into()));
                    }
                    self.fill(el, body, depth);
                }
            }
        }
    }

    fn value(&mut self, el: &mut El, v: &Value, percent: u32, depth: usize) {
        match v {
            Value::Attr(name) => {
                if !el.has(name) && self.rng.chance(percent) {
                    let v = self.rng.pick(ATTR_VALUES);
                    el.attrs.push(((*name).into(), v.into()));
                }
            }
            Value::Current => {
                if self.rng.chance(percent) {
                    let t = self.rng.pick(TEXT_VALUES);
                    el.children.push(Item::Text(t.into()));
                }
            }
            Value::Path(path) => {
                if self.rng.chance(percent) {
                    for _ in 0..1 + self.rng.below(2) {
                        let leaf = path.last().expect("non-empty");
                        let mut child = El::new(leaf.namespace, leaf.local);
                        let t = self.rng.pick(TEXT_VALUES);
                        child.children.push(Item::Text(t.into()));
                        self.finish(&mut child);
                        self.chain(el, path, child);
                        if self.budget == 0 || depth > 8 {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Puts `leaf` under `el` through the intermediate elements of `path` (and, for `.//` steps,
    /// sometimes through unrelated wrapper elements).
    fn chain(&mut self, el: &mut El, path: &[Step], leaf: El) {
        self.budget = self.budget.saturating_sub(path.len());
        let mut node = leaf;
        for (i, step) in path.iter().enumerate().rev() {
            if step.descendant && self.rng.chance(50) {
                let mut wrap = El::new(step.namespace, "Envoltura");
                wrap.children.push(Item::El(node));
                node = wrap;
            }
            if i == 0 {
                break;
            }
            let parent = &path[i - 1];
            let mut p = El::new(parent.namespace, parent.local);
            p.children.push(Item::El(node));
            node = p;
        }
        el.children.push(Item::El(node));
    }
}

/// Complements that SAT places in a concepto's `ComplementoConcepto`.
const CONCEPTO_LEVEL: &[&str] = &[
    "http://www.sat.gob.mx/iedu",
    "http://www.sat.gob.mx/ventavehiculos",
];

/// One instance of the complement `(namespace, root)` as XML text.
fn instance(namespace: &'static str, root: &'static str, rng: &mut Rng, mode: Mode) -> String {
    let default_ns = rng.chance(30);
    let mut g = Gen {
        rng,
        mode,
        budget: 400,
    };
    let el = g.element(namespace, root, 0);
    let mut out = String::new();
    el.write(&mut out, namespace, default_ns, true);
    out
}

/// The sample CFDI with `complementos` in `cfdi:Complemento` and `conceptos` in the first
/// concepto's `cfdi:ComplementoConcepto`.
fn document(complementos: &[String], conceptos: &[String]) -> String {
    let mut xml = sample();
    if !conceptos.is_empty() {
        let inner = format!(
            "<cfdi:ComplementoConcepto>{}</cfdi:ComplementoConcepto></cfdi:Concepto>",
            conceptos.concat()
        );
        xml = xml.replacen("</cfdi:Concepto>", &inner, 1);
    }
    xml.replacen(
        "<cfdi:Complemento>",
        &format!("<cfdi:Complemento>{}", complementos.concat()),
        1,
    )
}

/// Native cadena == xsltproc, and the complements did add something.
fn check(xml: &str, label: &str) -> String {
    let doc = cfdi::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{label}: parse: {e}\n{xml}"));
    let ours =
        cfdi::cadena_original(&doc).unwrap_or_else(|e| panic!("{label}: cadena: {e}\n{xml}"));
    let theirs = xsltproc(xml);
    assert_eq!(ours, theirs, "{label}: cadena differs from xsltproc\n{xml}");
    ours
}

fn base_cadena() -> String {
    let doc = cfdi::parse(sample().as_bytes()).expect("sample");
    cfdi::cadena_original(&doc).expect("cadena")
}

fn single(namespace: &'static str, root: &'static str, rng: &mut Rng, mode: Mode) -> String {
    let x = instance(namespace, root, rng, mode);
    if CONCEPTO_LEVEL.contains(&namespace) {
        document(&[], &[x])
    } else {
        document(&[x], &[])
    }
}

#[test]
fn every_complement_matches_xsltproc() {
    let base = base_cadena();
    for (i, c) in complements().iter().enumerate() {
        for seed in 0..8u64 {
            let mode = match seed {
                0 => FULL,
                1 => BARE,
                2 => EMPTY,
                _ => Mode {
                    required: 85,
                    optional: 50,
                    min: 0,
                    max: 3,
                },
            };
            let mut rng = Rng(seed * 1000 + i as u64);
            let xml = single(c.namespace, c.root, &mut rng, mode);
            let cadena = check(&xml, &format!("{} seed {seed}", c.xslt));
            assert!(cadena.len() > base.len(), "{}: nothing added", c.xslt);
        }
    }
}

#[test]
fn complement_in_either_place_matches_xsltproc() {
    // The 4.0 XSLT applies the same templates in Complemento and ComplementoConcepto.
    let mut rng = Rng(7);
    for c in complements() {
        let x = instance(c.namespace, c.root, &mut rng, FULL);
        check(&document(&[], std::slice::from_ref(&x)), c.xslt);
        check(&document(&[x], &[]), c.xslt);
    }
}

#[test]
fn all_complements_at_once_match_xsltproc() {
    let mut rng = Rng(42);
    let mut top = Vec::new();
    let mut concepto = Vec::new();
    for c in complements().iter().rev() {
        let x = instance(c.namespace, c.root, &mut rng, FULL);
        if CONCEPTO_LEVEL.contains(&c.namespace) {
            concepto.push(x);
        } else {
            top.push(x);
        }
    }
    check(&document(&top, &concepto), "all complements");
}

#[test]
fn descendant_paths_reach_deep_elements() {
    // ventavehiculos selects .//ventavehiculos:InformacionAduanera: nested at any depth.
    let mut inner = String::from("<v:InformacionAduanera numero=\" deep \" fecha=\"2024-01-01\"/>");
    for i in 0..60 {
        inner = format!(
            "<v:Parte n=\"{i}\">{inner}<v:InformacionAduanera numero=\"{i}\" fecha=\"f\" aduana=\"a{i}\"/></v:Parte>"
        );
    }
    let x = format!(
        "<v:VentaVehiculos xmlns:v=\"http://www.sat.gob.mx/ventavehiculos\" version=\"1.1\" ClaveVehicular=\"K\" Niv=\"N\">{inner}</v:VentaVehiculos>"
    );
    check(&document(&[], &[x]), "deep ventavehiculos");
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 20_000;
    let x = format!(
        "<i:ImpuestosLocales xmlns:i=\"http://www.sat.gob.mx/implocal\" version=\"1.0\">{}{}</i:ImpuestosLocales>",
        "<i:x>".repeat(depth),
        "</i:x>".repeat(depth)
    );
    // the parser stops at its depth limit (issue 14) ...
    let e = cfdi::parse(document(&[x], &[]).as_bytes()).unwrap_err();
    assert!(matches!(e, Error::TooDeep { limit: 128, .. }), "{e}");
    // ... and with the highest limit allowed, the cadena interpreter stops at its own
    let depth = 900;
    let x = format!(
        "<i:ImpuestosLocales xmlns:i=\"http://www.sat.gob.mx/implocal\" version=\"1.0\">{}{}</i:ImpuestosLocales>",
        "<i:x>".repeat(depth),
        "</i:x>".repeat(depth)
    );
    let limits = cfdi::Limits::default().with_max_depth(1000);
    let doc = cfdi::parse_with_limits(document(&[x], &[]).as_bytes(), &limits).expect("parse");
    let e = cfdi::cadena_original(&doc).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Xml, "{e}");
}

#[test]
fn unknown_complements_are_unsupported() {
    let cases = [
        // Nómina 1.1 is not included by the 4.0 XSLT.
        (
            "<n:Nomina xmlns:n=\"http://www.sat.gob.mx/nomina\" Version=\"1.1\"/>",
            false,
            "http://www.sat.gob.mx/nomina",
        ),
        (
            "<x:Algo xmlns:x=\"urn:example:unknown\" a=\"1\"/>",
            true,
            "urn:example:unknown",
        ),
        // A known namespace but not the complement's root element.
        (
            "<c:Ubicacion xmlns:c=\"http://www.sat.gob.mx/CartaPorte31\" TipoUbicacion=\"Origen\"/>",
            false,
            "http://www.sat.gob.mx/CartaPorte31",
        ),
    ];
    for (x, in_concepto, ns) in cases {
        let xml = if in_concepto {
            document(&[], &[x.to_string()])
        } else {
            document(&[x.to_string()], &[])
        };
        let doc = cfdi::parse(xml.as_bytes()).expect("parse");
        let e = cfdi::cadena_original(&doc).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedComplement { ref namespace, .. } if namespace == ns),
            "{e}"
        );
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Carta Porte 3.1, Comercio Exterior 2.0 and nómina 1.2 with random presence, multiplicity
    /// and order, all in one document.
    #[test]
    fn complex_complements_match_xsltproc(
        seed in any::<u64>(),
        required in 0u32..=100,
        optional in 0u32..=100,
        max in 0usize..=3,
    ) {
        let mut rng = Rng(seed);
        let mode = Mode { required, optional, min: 0, max };
        let mut xs = Vec::new();
        for ns in [
            "http://www.sat.gob.mx/CartaPorte31",
            "http://www.sat.gob.mx/ComercioExterior20",
            "http://www.sat.gob.mx/nomina12",
        ] {
            let c = complements().iter().find(|c| c.namespace == ns).expect("in table");
            xs.push(instance(c.namespace, c.root, &mut rng, mode));
        }
        let xml = document(&xs, &[]);
        let doc = cfdi::parse(xml.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ours = cfdi::cadena_original(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ours, xsltproc(&xml), "{}", xml);
    }
}

// --- seal round trip ------------------------------------------------------------------------------

fn csd() -> Csd {
    let dir = manifest().join("tests/fixtures/csd");
    let pw = std::fs::read_to_string(dir.join("password.txt")).expect("password");
    Csd::from_files(
        dir.join("EKU9003173C9.cer"),
        dir.join("EKU9003173C9.key"),
        &SecretString::from(pw),
    )
    .expect("csd")
}

#[test]
fn carta_porte_and_comercio_exterior_seal_round_trip() {
    let mut rng = Rng(2026);
    let mut xs = Vec::new();
    for ns in [
        "http://www.sat.gob.mx/CartaPorte31",
        "http://www.sat.gob.mx/ComercioExterior20",
    ] {
        let c = complements()
            .iter()
            .find(|c| c.namespace == ns)
            .expect("in table");
        xs.push(instance(c.namespace, c.root, &mut rng, FULL));
    }
    let mut doc = cfdi::parse(document(&xs, &[]).as_bytes()).expect("parse");
    let before = doc.sello.clone();
    csd().seal(&mut doc).expect("seal");
    assert_ne!(doc.sello, before);
    let xml = cfdi::to_xml(&doc);
    check(&xml, "sealed");
    let again = cfdi::parse(xml.as_bytes()).expect("reparse");
    cfdi::verify(&again).expect("sealed document verifies");

    // Change one attribute inside the Carta Porte: the seal no longer verifies.
    let start = xml.find("CartaPorte31").expect("carta porte");
    let at = start + xml[start..].find("IdCCP=\"").expect("IdCCP") + "IdCCP=\"".len();
    let tampered = format!("{}Z{}", &xml[..at], &xml[at..]);
    let doc = cfdi::parse(tampered.as_bytes()).expect("parse tampered");
    let e = cfdi::verify(&doc).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Seal, "{e}");
}
