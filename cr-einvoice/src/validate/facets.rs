//! XSD facets of every simple element and attribute (length, minLength, maxLength, pattern,
//! enumeration, whiteSpace), from the tables `cr-einvoice/tools/gen_facets.py` generates out of the
//! vendored v4.4 schemas of both revisions (`facets_generated.rs`); nothing here is typed by hand.
//!
//! The check runs over exactly what the writer emits: [`check`] drives the writer's traversal with a
//! [`Walk`] attached, which sees every element as it is opened and closed and checks each leaf's text
//! against the facets of its schema path. A violation is reported with [`Rule::Length`],
//! [`Rule::Pattern`] or [`Rule::Code`] (enumeration) and the element's path, e.g.
//! `Emisor/NombreComercial`, unless a hand-written rule already reported an error at that path.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::facets_generated as g;
use super::pattern::Pattern;
use super::{Report, Rule};
use crate::revision::SchemaRevision;
use crate::tipo::TipoDocumento;

/// Facets of one simple type.
#[derive(Debug)]
pub(crate) struct Facet {
    /// `xs:length`.
    pub(crate) length: Option<usize>,
    /// `xs:minLength`.
    pub(crate) min_length: Option<usize>,
    /// `xs:maxLength`.
    pub(crate) max_length: Option<usize>,
    /// `xs:pattern`.
    pub(crate) pattern: Option<&'static str>,
    /// `xs:enumeration` values, sorted (empty: no enumeration).
    pub(crate) enumeration: &'static [&'static str],
    /// `xs:whiteSpace`: how the value is normalized before the other facets apply.
    pub(crate) white_space: WhiteSpace,
}

/// The `xs:whiteSpace` facet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhiteSpace {
    /// Value as is.
    Preserve,
    /// Tab, CR and LF become spaces. (No v4.4 type uses it today; the generator can emit it.)
    #[allow(dead_code)]
    Replace,
    /// As `Replace`, then runs of spaces become one and leading/trailing spaces go.
    Collapse,
}

impl WhiteSpace {
    fn normalize(self, v: &str) -> Cow<'_, str> {
        let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        match self {
            Self::Preserve => v.into(),
            Self::Replace if !v.contains(['\t', '\r', '\n']) => v.into(),
            Self::Replace => v.replace(['\t', '\r', '\n'], " ").into(),
            Self::Collapse => {
                let parts = v.split(ws).filter(|s| !s.is_empty()).collect::<Vec<_>>();
                if parts.len() == 1 && parts[0].len() == v.len() {
                    v.into()
                } else {
                    parts.join(" ").into()
                }
            }
        }
    }
}

/// "No facet" in [`Node::facet`].
pub(crate) const NO_FACET: u16 = u16::MAX;

/// One element (or `@attribute`) of a schema's generated trie of paths.
#[derive(Debug)]
pub(crate) struct Node {
    /// Local name (`@name` for an attribute); empty for the root.
    pub(crate) name: &'static str,
    /// Index of the first child; the children are contiguous.
    pub(crate) first: u16,
    /// Number of children.
    pub(crate) count: u16,
    /// Index into [`g::FACETS`], or [`NO_FACET`].
    pub(crate) facet: u16,
    /// maxOccurs > 1: shown with its position (`LineaDetalle[2]`).
    pub(crate) repeat: bool,
}

/// A node that is not in the trie (no facet below it).
const UNKNOWN: u16 = u16::MAX;

/// The generated trie of the schema of one document type and revision.
#[derive(Clone, Copy)]
pub(crate) struct Table {
    nodes: &'static [Node],
}

/// The table of the schema of `tipo` under `rev`.
pub(crate) fn table(tipo: TipoDocumento, rev: SchemaRevision) -> Table {
    use SchemaRevision::{V2024, V2026};
    use TipoDocumento as T;
    let nodes = match (tipo, rev) {
        (T::FacturaElectronica, V2024) => g::FE_2024,
        (T::NotaDebitoElectronica, V2024) => g::ND_2024,
        (T::NotaCreditoElectronica, V2024) => g::NC_2024,
        (T::TiqueteElectronico, V2024) => g::TE_2024,
        (T::FacturaElectronicaCompra, V2024) => g::FEC_2024,
        (T::FacturaElectronicaExportacion, V2024) => g::FEE_2024,
        (T::ReciboElectronicoPago, V2024) => g::REP_2024,
        (T::AceptacionReceptor | T::AceptacionParcialReceptor | T::RechazoReceptor, V2024) => {
            g::MR_2024
        }
        (T::FacturaElectronica, V2026) => g::FE_2026,
        (T::NotaDebitoElectronica, V2026) => g::ND_2026,
        (T::NotaCreditoElectronica, V2026) => g::NC_2026,
        (T::TiqueteElectronico, V2026) => g::TE_2026,
        (T::FacturaElectronicaCompra, V2026) => g::FEC_2026,
        (T::FacturaElectronicaExportacion, V2026) => g::FEE_2026,
        (T::ReciboElectronicoPago, V2026) => g::REP_2026,
        (T::AceptacionReceptor | T::AceptacionParcialReceptor | T::RechazoReceptor, V2026) => {
            g::MR_2026
        }
    };
    Table { nodes }
}

impl Table {
    fn node(&self, i: u16) -> Option<&'static Node> {
        self.nodes.get(usize::from(i))
    }
    /// The child `name` of node `parent` ([`UNKNOWN`] if none).
    fn child(&self, parent: u16, name: &str) -> u16 {
        let Some(p) = self.node(parent) else {
            return UNKNOWN;
        };
        (p.first..p.first.saturating_add(p.count))
            .find(|&c| self.node(c).is_some_and(|n| n.name == name))
            .unwrap_or(UNKNOWN)
    }
    /// The facet of node `i`.
    fn facet(&self, i: u16) -> Option<(usize, &'static Facet)> {
        let k = self.node(i)?.facet;
        let k = usize::from(k);
        Some((k, g::FACETS.get(k)?))
    }
    /// The facet of the element at `path` (`A/B/C`, no indices).
    #[cfg(test)]
    fn facet_at(&self, path: &str) -> Option<(usize, &'static Facet)> {
        let node = path.split('/').fold(0, |n, part| self.child(n, part));
        self.facet(node)
    }
}

/// Compiled patterns, one per [`g::FACETS`] entry.
fn patterns() -> &'static [Option<Pattern>] {
    static P: OnceLock<Vec<Option<Pattern>>> = OnceLock::new();
    P.get_or_init(|| {
        g::FACETS
            .iter()
            .map(|f| f.pattern.and_then(Pattern::new))
            .collect()
    })
}

/// What is wrong with `value` for facet `k`, or `None`.
pub(crate) fn violation(k: usize, f: &Facet, value: &str) -> Option<(Rule, String)> {
    let value = f.white_space.normalize(value);
    let value = value.as_ref();
    // XSD lengths count characters
    let len = value.chars().count();
    if let Some(n) = f.length
        && len != n
    {
        let m = format!("length {len}, the schema requires exactly {n}");
        return Some((Rule::Length, m));
    }
    if let Some(n) = f.max_length
        && len > n
    {
        return Some((Rule::Length, format!("length {len} exceeds maxLength {n}")));
    }
    if let Some(n) = f.min_length
        && len < n
    {
        return Some((Rule::Length, format!("length {len} is below minLength {n}")));
    }
    if !f.enumeration.is_empty() && f.enumeration.binary_search(&value).is_err() {
        let m = format!("{value:?} is not in the schema's enumeration");
        return Some((Rule::Code, m));
    }
    if let Some(p) = f.pattern {
        // a pattern outside the supported subset is refused by the generator; never pass it silently
        let ok = patterns()
            .get(k)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.matches(value));
        if !ok {
            return Some((Rule::Pattern, format!("{value:?} does not match {p}")));
        }
    }
    None
}

struct Frame {
    /// The element's trie node ([`UNKNOWN`]: no facet at or below it).
    node: u16,
    /// Start of this element's content in the writer's output.
    text_start: usize,
    /// 1-based position among consecutive siblings of the same name.
    index: u32,
    has_child: bool,
    /// Node and position of the last closed child.
    last_child: u16,
    last_count: u32,
}

/// The writer's companion while checking facets: follows the element path in the generated trie
/// and checks every leaf.
pub(crate) struct Walk {
    table: Table,
    stack: Vec<Frame>,
    root_last_child: u16,
    root_last_count: u32,
    found: Vec<(Rule, String, String)>,
}

impl Walk {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            stack: Vec::with_capacity(8),
            root_last_child: UNKNOWN,
            root_last_count: 0,
            found: Vec::new(),
        }
    }

    /// An element `name` opens; its content starts at `text_start` of the output.
    pub(crate) fn open(&mut self, name: &str, text_start: usize) {
        let parent = self.stack.last().map_or(0, |f| f.node);
        let node = if parent == UNKNOWN {
            UNKNOWN
        } else {
            self.table.child(parent, name)
        };
        let (last, count) = match self.stack.last_mut() {
            Some(f) => {
                f.has_child = true;
                (f.last_child, f.last_count)
            }
            None => (self.root_last_child, self.root_last_count),
        };
        let index = if node != UNKNOWN && last == node {
            count + 1
        } else {
            1
        };
        self.stack.push(Frame {
            node,
            text_start,
            index,
            has_child: false,
            last_child: UNKNOWN,
            last_count: 0,
        });
    }

    /// Whether the element opened last has facets (the writer skips formatting the others).
    pub(crate) fn has_facet(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|f| self.table.facet(f.node).is_some())
    }

    /// The element opened last closes; `out` is the writer's output so far (its content is
    /// `out[text_start..]`, escaped as the writer escapes).
    pub(crate) fn close(&mut self, out: &str) {
        let Some(frame) = self.stack.pop() else {
            return; // the root
        };
        if !frame.has_child
            && let Some((k, f)) = self.table.facet(frame.node)
            && let Some(text) = out.get(frame.text_start..)
        {
            let text = unescape(text);
            if let Some((rule, msg)) = violation(k, f, &text) {
                let shown = self.shown_path(Some(&frame));
                self.found.push((rule, shown, msg));
            }
        }
        let slot = match self.stack.last_mut() {
            Some(f) => (&mut f.last_child, &mut f.last_count),
            None => (&mut self.root_last_child, &mut self.root_last_count),
        };
        *slot.0 = frame.node;
        *slot.1 = frame.index;
    }

    /// An attribute of the element opened last.
    pub(crate) fn attribute(&mut self, name: &str, value: &str) {
        let Some(parent) = self.stack.last().map(|f| f.node).filter(|n| *n != UNKNOWN) else {
            return;
        };
        let Some(p) = self.table.node(parent) else {
            return;
        };
        let node = (p.first..p.first.saturating_add(p.count))
            .find(|&c| {
                self.table
                    .node(c)
                    .is_some_and(|n| n.name.strip_prefix('@') == Some(name))
            })
            .unwrap_or(UNKNOWN);
        if let Some((k, f)) = self.table.facet(node)
            && let Some((rule, msg)) = violation(k, f, value)
        {
            let mut shown = self.shown_path(None);
            shown.push_str("/@");
            shown.push_str(name);
            self.found.push((rule, shown, msg));
        }
    }

    /// `DetalleServicio/LineaDetalle[2]/Impuesto[1]/Codigo`: indices on repeatable elements.
    fn shown_path(&self, last: Option<&Frame>) -> String {
        let mut s = String::new();
        for f in self.stack.iter().chain(last) {
            let Some(n) = self.table.node(f.node) else {
                continue;
            };
            if !s.is_empty() {
                s.push('/');
            }
            s.push_str(n.name);
            if n.repeat {
                s.push_str(&format!("[{}]", f.index));
            }
        }
        s
    }

    /// Adds the violations to `report`, skipping paths where a hand-written rule already reported
    /// an error (one problem, one issue).
    pub(crate) fn report_into(self, report: &mut Report) {
        for (rule, path, msg) in self.found {
            // hand-written rules do not always index repeatable elements: compare without indices
            let known = report
                .issues
                .iter()
                .any(|i| i.severity == super::Severity::Error && same_element(&i.path, &path));
            if !known {
                report.err(rule, path, msg);
            }
        }
    }
}

/// Whether two paths name the same element, ignoring `[n]` indices.
fn same_element(a: &str, b: &str) -> bool {
    fn strip(s: &str) -> impl Iterator<Item = char> + '_ {
        let mut depth = 0u32;
        s.chars().filter(move |&c| {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth = depth.saturating_sub(1);
                    return false;
                }
                _ => {}
            }
            depth == 0
        })
    }
    strip(a).eq(strip(b))
}

/// The writer escapes `&`, `<`, `>` and CR; undo that.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return s.into();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#xD;", "\r")
        .replace("&amp;", "&")
        .into()
}

/// Checks every simple element of `doc` as the writer emits it.
pub(crate) fn check(doc: &crate::model::Comprobante, report: &mut Report) {
    let mut walk = Walk::new(table(doc.tipo(), doc.revision));
    crate::write::comprobante_walk(doc, &mut walk);
    walk.report_into(report);
}

/// Checks every simple element of `msg` as the writer emits it.
pub(crate) fn check_mensaje(msg: &crate::model::MensajeReceptor, report: &mut Report) {
    let tipo = msg.mensaje.tipo_documento();
    let mut walk = Walk::new(table(tipo, msg.revision));
    crate::write::mensaje_receptor_walk(msg, &mut walk);
    walk.report_into(report);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tipo: TipoDocumento, rev: SchemaRevision, path: &str, v: &str) -> Option<Rule> {
        let (k, f) = table(tipo, rev)
            .facet_at(path)
            .unwrap_or_else(|| panic!("no facet for {path}"));
        violation(k, f, v).map(|(r, _)| r)
    }

    #[test]
    fn generated_patterns_are_applied() {
        use SchemaRevision::{V2024, V2026};
        use TipoDocumento::{FacturaElectronica as FE, ReciboElectronicoPago as REP};
        let n = "Receptor/Identificacion/Numero";
        assert_eq!(check(FE, V2024, n, "310100000"), None);
        assert_eq!(check(FE, V2024, n, "31O100000"), Some(Rule::Pattern));
        assert_eq!(check(FE, V2024, n, "3101"), Some(Rule::Pattern));
        let clave = "5".repeat(49);
        assert_eq!(
            check(REP, V2024, "Clave", &format!("{clave}A")),
            Some(Rule::Pattern)
        );
        assert_eq!(check(REP, V2026, "Clave", &format!("{clave}A")), None);
        assert_eq!(
            check(FE, V2024, "Emisor/Ubicacion/Canton", "7"),
            Some(Rule::Pattern)
        );
        assert_eq!(check(FE, V2024, "Emisor/Ubicacion/Canton", "07"), None);
        // whiteSpace collapse of the numeric types applies before the pattern
        assert_eq!(check(FE, V2024, "Emisor/Ubicacion/Canton", " 07 "), None);
        assert_eq!(check(FE, V2024, "CondicionVenta", "09"), Some(Rule::Code));
    }

    #[test]
    fn every_generated_pattern_compiles() {
        for (f, p) in g::FACETS.iter().zip(patterns()) {
            assert_eq!(f.pattern.is_some(), p.is_some(), "{:?}", f.pattern);
        }
    }

    #[test]
    fn paths_ignore_indices_when_deduplicating() {
        assert!(same_element("A/B[2]/C", "A/B/C"));
        assert!(same_element("A/B[12]/C[1]", "A/B[3]/C"));
        assert!(!same_element("A/B/C", "A/B/D"));
    }
}
