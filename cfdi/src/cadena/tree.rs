//! A light, read-only element tree of one [`RawXml`] complement, for the XSLT programs.
//!
//! Elements are stored in document order (pre-order), so the descendants of element `i` are the
//! ids `i + 1 .. end` and sorting ids gives XPath document order. Text (character data, CDATA,
//! character and predefined entity references) is kept in one document-ordered list; an
//! element's string value is the concatenation of the text inside it.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use crate::error::{Error, Result};
use crate::model::RawXml;

/// Deepest element nesting accepted (SAT's complements nest at most 6 levels).
pub(super) const MAX_DEPTH: usize = 128;

/// One element.
pub(super) struct Node {
    /// Namespace URI (empty if none).
    pub(super) namespace: String,
    /// Local name.
    pub(super) local: String,
    /// Unprefixed attributes (local name, normalized value); prefixed ones are in a namespace
    /// and never selected by SAT's `./@Name` expressions.
    pub(super) attrs: Vec<(String, String)>,
    /// One past the id of the last descendant.
    pub(super) end: usize,
    /// Range of `Tree::texts` inside this element.
    text_start: usize,
    text_end: usize,
    /// Id of the parent element, `None` for the root.
    parent: Option<usize>,
}

/// The element tree; id 0 is the root element.
pub(super) struct Tree {
    pub(super) nodes: Vec<Node>,
    texts: Vec<String>,
}

fn xml_error(position: u64, message: impl Into<String>) -> Error {
    Error::Xml {
        position,
        message: message.into(),
    }
}

impl Tree {
    /// Parses `raw` (a single element with its namespace declarations).
    pub(super) fn parse(raw: &RawXml) -> Result<Self> {
        let mut r = NsReader::from_str(raw.as_str());
        let mut tree = Tree {
            nodes: Vec::new(),
            texts: Vec::new(),
        };
        let mut open: Option<usize> = None;
        let mut depth = 0usize;
        loop {
            let pos = r.buffer_position();
            let (res, ev) = r
                .read_resolved_event()
                .map_err(|e| xml_error(pos, e.to_string()))?;
            match ev {
                Event::Start(s) | Event::Empty(s) if open.is_none() && !tree.nodes.is_empty() => {
                    return Err(xml_error(
                        pos,
                        format!("second root element {}", s.name().into_inner()),
                    ));
                }
                Event::Start(s) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(xml_error(
                            pos,
                            format!("complement nested deeper than {MAX_DEPTH} elements"),
                        ));
                    }
                    open = Some(tree.push(&res, &s, open, pos)?);
                }
                Event::Empty(s) => {
                    let id = tree.push(&res, &s, open, pos)?;
                    tree.close(id);
                }
                Event::End(_) => {
                    let id = open.ok_or_else(|| xml_error(pos, "unexpected end tag"))?;
                    tree.close(id);
                    depth = depth.saturating_sub(1);
                    open = tree.nodes.get(id).and_then(|n| n.parent);
                }
                Event::Text(t) => tree.texts.push(t.xml10_content().into_owned()),
                Event::CData(t) => tree.texts.push(t.xml10_content().into_owned()),
                Event::GeneralRef(g) => {
                    let c = match g.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match g.into_inner().as_ref() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => return Err(Error::UndefinedEntity(other.to_string())),
                        },
                        Err(e) => return Err(xml_error(pos, e.to_string())),
                    };
                    tree.texts.push(c.to_string());
                }
                Event::DocType(_) => return Err(Error::DtdForbidden),
                Event::Eof => break,
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            }
        }
        if tree.nodes.is_empty() || open.is_some() {
            return Err(xml_error(0, "complement is not one complete element"));
        }
        Ok(tree)
    }

    fn push(
        &mut self,
        res: &ResolveResult<'_>,
        s: &BytesStart<'_>,
        parent: Option<usize>,
        pos: u64,
    ) -> Result<usize> {
        let namespace = match res {
            ResolveResult::Bound(Namespace(n)) => (*n).to_string(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => {
                return Err(xml_error(pos, format!("undeclared prefix {p}")));
            }
        };
        let mut attrs = Vec::new();
        for a in s.attributes() {
            let a = a.map_err(|e| xml_error(pos, e.to_string()))?;
            if a.key.as_namespace_binding().is_some() || a.key.prefix().is_some() {
                continue;
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| xml_error(pos, e.to_string()))?;
            attrs.push((
                a.key.local_name().into_inner().to_string(),
                value.into_owned(),
            ));
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            namespace,
            local: s.local_name().into_inner().to_string(),
            attrs,
            end: id + 1,
            text_start: self.texts.len(),
            text_end: self.texts.len(),
            parent,
        });
        Ok(id)
    }

    fn close(&mut self, id: usize) {
        let (end, text_end) = (self.nodes.len(), self.texts.len());
        if let Some(n) = self.nodes.get_mut(id) {
            n.end = end;
            n.text_end = text_end;
        }
    }

    /// The value of attribute `name` of element `id`.
    pub(super) fn attr(&self, id: usize, name: &str) -> Option<&str> {
        self.nodes
            .get(id)?
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// XPath string value of element `id`: all text inside it, in document order.
    pub(super) fn string_value(&self, id: usize) -> String {
        self.nodes
            .get(id)
            .and_then(|n| self.texts.get(n.text_start..n.text_end))
            .map(|t| t.concat())
            .unwrap_or_default()
    }

    /// Ids of the children of `id`, in document order.
    pub(super) fn children(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes.get(id).map_or(id, |n| n.end);
        let mut next = id + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let child = next;
            next = self.nodes.get(child).map_or(end, |n| n.end);
            Some(child)
        })
    }

    /// Ids of all descendants of `id` (not `id` itself), in document order.
    pub(super) fn descendants(&self, id: usize) -> std::ops::Range<usize> {
        let end = self.nodes.get(id).map_or(id + 1, |n| n.end);
        id + 1..end
    }
}
