//! A tiny element tree for the `ds:Signature` subtree (verification only).

use quick_xml::Reader;
use quick_xml::events::Event;
use quick_xml::events::attributes::Attributes;

use crate::c14n::{C14nError, decode_attr, decode_text};

use super::SignatureError;

/// One element of the signature subtree.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) ns: String,
    pub(crate) local: String,
    /// `(qualified name, decoded value)`, namespace declarations excluded.
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    /// Concatenated decoded text of the direct text children.
    pub(crate) text: String,
    /// Absolute byte offset of the start tag.
    pub(crate) start: usize,
    /// Namespace bindings in scope at this element (later wins).
    pub(crate) scope: Vec<(String, String)>,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    pub(crate) fn children_named<'s, 'n>(
        &'s self,
        ns: &'n str,
        local: &'n str,
    ) -> impl Iterator<Item = &'s Element> + 'n
    where
        's: 'n,
    {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// The only child with this name; error if missing or repeated.
    pub(crate) fn one(&self, ns: &str, local: &str) -> Result<&Element, SignatureError> {
        let mut it = self.children_named(ns, local);
        match (it.next(), it.next()) {
            (Some(e), None) => Ok(e),
            (None, _) => Err(SignatureError::InvalidStructure(format!(
                "missing {local} in {}",
                self.local
            ))),
            (Some(_), Some(_)) => Err(SignatureError::InvalidStructure(format!(
                "repeated {local} in {}",
                self.local
            ))),
        }
    }

    /// The only child with this name, if any; error if repeated.
    pub(crate) fn opt(&self, ns: &str, local: &str) -> Result<Option<&Element>, SignatureError> {
        let mut it = self.children_named(ns, local);
        match (it.next(), it.next()) {
            (None, _) => Ok(None),
            (Some(e), None) => Ok(Some(e)),
            (Some(_), Some(_)) => Err(SignatureError::InvalidStructure(format!(
                "repeated {local} in {}",
                self.local
            ))),
        }
    }

    pub(crate) fn lookup_prefix(&self, prefix: &str) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// Depth-first search for an element carrying `Id`/`ID`/`id` = `id`.
    pub(crate) fn find_id(&self, id: &str) -> Option<&Element> {
        if ["Id", "ID", "id"].iter().any(|k| self.attr(k) == Some(id)) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find_id(id))
    }
}

fn malformed(offset: usize, message: impl Into<String>) -> SignatureError {
    SignatureError::Xml(C14nError::Malformed {
        offset,
        message: message.into(),
    })
}

/// What the document scan found: `ds:Signature` children of the root and the root scope.
pub(crate) struct Scan {
    pub(crate) signatures: Vec<usize>,
    pub(crate) root_scope: Vec<(String, String)>,
}

/// Parses the start tag at `raw` into (qname, declarations, attributes).
fn parse_tag(raw: &str, name_len: usize, at: usize) -> Result<TagParts, SignatureError> {
    let mut decls = Vec::new();
    let mut attrs = Vec::new();
    let mut it = Attributes::new(raw, name_len);
    it.with_checks(true);
    for a in it {
        let a = a.map_err(|e| malformed(at, e.to_string()))?;
        let key = a.key.0;
        let value = decode_attr(&a.value, at)?.into_owned();
        if key == "xmlns" {
            decls.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            decls.push((p.to_owned(), value));
        } else {
            attrs.push((key.to_owned(), value));
        }
    }
    Ok(TagParts { decls, attrs })
}

struct TagParts {
    decls: Vec<(String, String)>,
    attrs: Vec<(String, String)>,
}

fn resolve(
    scope: &[(String, String)],
    qname: &str,
    at: usize,
) -> Result<(String, String), SignatureError> {
    let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
    let ns = scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.clone());
    match ns {
        Some(u) => Ok((u, local.to_owned())),
        None if prefix.is_empty() => Ok((String::new(), local.to_owned())),
        None => Err(SignatureError::Xml(C14nError::UndeclaredPrefix {
            prefix: prefix.to_owned(),
            offset: at,
        })),
    }
}

fn reader(src: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(src);
    r.config_mut().check_end_names = true;
    r.config_mut().trim_text(false);
    r
}

fn pos(r: &Reader<&[u8]>) -> usize {
    usize::try_from(r.buffer_position()).unwrap_or(usize::MAX)
}

/// Finds the `ds:Signature` children of the root element.
pub(crate) fn scan(src: &str, base: usize) -> Result<Scan, SignatureError> {
    let mut r = reader(src);
    let mut scope: Vec<(String, String)> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut out = Scan {
        signatures: Vec::new(),
        root_scope: Vec::new(),
    };
    let mut last = 0;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| malformed(base + last, e.to_string()))?;
        let start = last;
        last = pos(&r);
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(src.get(..last), Some(s) if s.ends_with("/>"));
                let at = base + start;
                // only the root's and its children's tags matter
                if marks.len() <= 1 {
                    let name_len = e.name().0.len();
                    let raw = src
                        .get(start + 1..last.saturating_sub(if empty { 2 } else { 1 }))
                        .unwrap_or_default();
                    let parts = parse_tag(raw, name_len, at)?;
                    let mark = scope.len();
                    scope.extend(parts.decls);
                    let qname = raw.get(..name_len).unwrap_or_default();
                    let (ns, local) = resolve(&scope, qname, at)?;
                    if marks.is_empty() {
                        out.root_scope.clone_from(&scope);
                    } else if ns == crate::c14n::DSIG_NS && local == "Signature" {
                        out.signatures.push(at);
                    }
                    if empty {
                        scope.truncate(mark);
                    } else {
                        marks.push(mark);
                    }
                } else if !empty {
                    marks.push(scope.len());
                }
            }
            Event::End(_) => {
                let m = marks.pop().unwrap_or(0);
                scope.truncate(m);
            }
            Event::DocType(_) => return Err(SignatureError::Xml(C14nError::Doctype)),
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// Parses the element starting at absolute offset `start` (relative `start - base` in `src`).
pub(crate) fn parse_element(
    src: &str,
    base: usize,
    start: usize,
    scope: &[(String, String)],
) -> Result<Element, SignatureError> {
    let rel = start
        .checked_sub(base)
        .ok_or_else(|| malformed(start, "bad offset"))?;
    let sub = src
        .get(rel..)
        .ok_or_else(|| malformed(start, "bad offset"))?;
    let mut r = reader(sub);
    let mut stack: Vec<Element> = Vec::new();
    let mut last = 0;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| malformed(start + last, e.to_string()))?;
        let s = last;
        last = pos(&r);
        let at = start + s;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(sub.get(..last), Some(x) if x.ends_with("/>"));
                let name_len = e.name().0.len();
                let raw = sub
                    .get(s + 1..last.saturating_sub(if empty { 2 } else { 1 }))
                    .unwrap_or_default();
                let parts = parse_tag(raw, name_len, at)?;
                let mut el_scope = stack
                    .last()
                    .map_or_else(|| scope.to_vec(), |p| p.scope.clone());
                el_scope.extend(parts.decls);
                let (ns, local) = resolve(&el_scope, raw.get(..name_len).unwrap_or_default(), at)?;
                let el = Element {
                    ns,
                    local,
                    attrs: parts.attrs,
                    children: Vec::new(),
                    text: String::new(),
                    start: at,
                    scope: el_scope,
                };
                if empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => return Ok(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(malformed(at, "unmatched end tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(_) | Event::GeneralRef(_) => {
                if let Some(el) = stack.last_mut() {
                    el.text
                        .push_str(&decode_text(sub.get(s..last).unwrap_or_default(), at)?);
                }
            }
            Event::CData(_) => {
                if let Some(el) = stack.last_mut() {
                    let raw = sub.get(s + 9..last.saturating_sub(3)).unwrap_or_default();
                    el.text.push_str(raw);
                }
            }
            Event::Eof => return Err(malformed(start + last, "unexpected end of document")),
            _ => {}
        }
    }
}
