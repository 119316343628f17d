//! A tiny element tree for the `ds:Signature` subtree (verification only). Names, attribute
//! values and texts borrow from the document whenever they need no decoding, so building the
//! tree allocates a few vectors, not a string per element.

use std::borrow::Cow;

use crate::c14n::lexer::{Lexer, Tok, attributes};
use crate::c14n::split_qname;
use crate::c14n::{C14nError, decode_attr, decode_text};

use super::SignatureError;

/// No binding / no namespace.
const NONE: u32 = u32::MAX;

/// One namespace binding; bindings form parent-linked chains shared by all elements in
/// their scope (an element never copies its parent's namespace list).
#[derive(Debug)]
struct Binding<'a> {
    prefix: &'a str,
    uri: Cow<'a, str>,
    /// The binding in scope before this one, or [`NONE`].
    parent: u32,
}

/// One stored element. Elements are kept in document (pre-)order, so the descendants of
/// element `i` are exactly `i + 1 .. end`, its first child (if any) is `i + 1` and the next
/// sibling of a child `c` is `c`'s `end`: searches are a slice scan and dropping the tree
/// is dropping a few `Vec`s — nothing recurses, however deep the input.
#[derive(Debug)]
struct Node<'a> {
    /// Binding that gave the element its namespace, or [`NONE`] (no namespace).
    ns: u32,
    local: &'a str,
    /// Range of this element's attributes in [`Tree::attrs`].
    attrs: (u32, u32),
    /// Concatenated decoded text of the direct text children.
    text: Cow<'a, str>,
    /// Absolute byte offset of the start tag.
    start: usize,
    /// Innermost namespace binding in scope, or [`NONE`].
    scope: u32,
    /// One past the index of the last descendant.
    end: u32,
}

/// An element subtree of the signature, stored flat (an arena).
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    bindings: Vec<Binding<'a>>,
    /// `(qualified name, decoded value)` of every element, namespace declarations excluded.
    attrs: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Tree<'a> {
    /// The apex element.
    pub(crate) fn root(&self) -> Element<'_> {
        Element { tree: self, idx: 0 }
    }

    fn push_binding(&mut self, prefix: &'a str, uri: Cow<'a, str>, parent: u32) -> u32 {
        let idx = index(self.bindings.len());
        self.bindings.push(Binding {
            prefix,
            uri,
            parent,
        });
        idx
    }

    fn lookup(&self, mut scope: u32, prefix: &str) -> Option<u32> {
        while scope != NONE {
            let b = &self.bindings[scope as usize];
            if b.prefix == prefix {
                return Some(scope);
            }
            scope = b.parent;
        }
        None
    }
}

/// `usize` → `u32` index; inputs are bounded by [`crate::Limits`] far below 4 GiB.
fn index(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(NONE)
}

/// A handle to one element of a [`Tree`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Element<'t> {
    tree: &'t Tree<'t>,
    idx: usize,
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.tree, other.tree) && self.idx == other.idx
    }
}

impl<'t> Element<'t> {
    fn node(self) -> &'t Node<'t> {
        &self.tree.nodes[self.idx]
    }

    /// Namespace URI (empty when none).
    pub(crate) fn ns(self) -> &'t str {
        match self.node().ns {
            NONE => "",
            b => &self.tree.bindings[b as usize].uri,
        }
    }

    /// Local name.
    pub(crate) fn local(self) -> &'t str {
        self.node().local
    }

    /// Concatenated decoded text of the direct text children.
    pub(crate) fn text(self) -> &'t str {
        &self.node().text
    }

    /// Absolute byte offset of the start tag.
    /// The namespace bindings in scope at this element (its own declarations included), each
    /// prefix once.
    pub(crate) fn in_scope(self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut scope = self.node().scope;
        while scope != NONE {
            let Some(b) = self.tree.bindings.get(scope as usize) else {
                break;
            };
            if !out.iter().any(|(p, _)| p == b.prefix) {
                out.push((b.prefix.to_owned(), b.uri.to_string()));
            }
            scope = b.parent;
        }
        out
    }

    pub(crate) fn start(self) -> usize {
        self.node().start
    }

    pub(crate) fn attr(self, name: &str) -> Option<&'t str> {
        let (from, to) = self.node().attrs;
        self.tree
            .attrs
            .get(from as usize..to as usize)
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub(crate) fn is(self, ns: &str, local: &str) -> bool {
        self.ns() == ns && self.local() == local
    }

    /// The first child element.
    pub(crate) fn first_child(self) -> Option<Element<'t>> {
        self.children().next()
    }

    pub(crate) fn children(self) -> impl Iterator<Item = Element<'t>> {
        let tree = self.tree;
        let end = self.node().end as usize;
        let mut next = self.idx + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let idx = next;
            // the next sibling follows this child's last descendant; `max` guarantees progress
            next = tree
                .nodes
                .get(idx)
                .map_or(end, |n| (n.end as usize).max(idx + 1));
            Some(Element { tree, idx })
        })
    }

    pub(crate) fn children_named<'n>(
        self,
        ns: &'n str,
        local: &'n str,
    ) -> impl Iterator<Item = Element<'t>> + 'n
    where
        't: 'n,
    {
        self.children().filter(move |c| c.is(ns, local))
    }

    /// The only child with this name; error if missing or repeated.
    pub(crate) fn one(self, ns: &str, local: &str) -> Result<Element<'t>, SignatureError> {
        let mut it = self.children_named(ns, local);
        match (it.next(), it.next()) {
            (Some(e), None) => Ok(e),
            (None, _) => Err(SignatureError::InvalidStructure(format!(
                "missing {local} in {}",
                self.local()
            ))),
            (Some(_), Some(_)) => Err(SignatureError::InvalidStructure(format!(
                "repeated {local} in {}",
                self.local()
            ))),
        }
    }

    /// The only child with this name, if any; error if repeated.
    pub(crate) fn opt(self, ns: &str, local: &str) -> Result<Option<Element<'t>>, SignatureError> {
        let mut it = self.children_named(ns, local);
        match (it.next(), it.next()) {
            (None, _) => Ok(None),
            (Some(e), None) => Ok(Some(e)),
            (Some(_), Some(_)) => Err(SignatureError::InvalidStructure(format!(
                "repeated {local} in {}",
                self.local()
            ))),
        }
    }

    pub(crate) fn lookup_prefix(self, prefix: &str) -> Option<&'t str> {
        self.tree
            .lookup(self.node().scope, prefix)
            .map(|b| self.tree.bindings[b as usize].uri.as_ref())
    }

    /// First element in document order of this subtree (itself included) carrying
    /// `Id`/`ID`/`id` = `id`. A slice scan: no recursion.
    pub(crate) fn find_id(self, id: &str) -> Option<Element<'t>> {
        let end = self.node().end as usize;
        (self.idx..end)
            .map(|idx| Element {
                tree: self.tree,
                idx,
            })
            .find(|e| ["Id", "ID", "id"].iter().any(|k| e.attr(k) == Some(id)))
    }
}

fn malformed(offset: usize, message: impl Into<String>) -> SignatureError {
    SignatureError::Xml(C14nError::Malformed {
        offset,
        message: message.into(),
    })
}

fn rebase(e: C14nError, base: usize) -> SignatureError {
    SignatureError::Xml(match e {
        C14nError::Malformed { offset, message } => C14nError::Malformed {
            offset: offset + base,
            message,
        },
        other => other,
    })
}

/// Parses the element starting at absolute offset `start` (relative `start - base` in `src`)
/// into a flat [`Tree`], rejecting nesting deeper than `max_depth` levels below it.
pub(crate) fn parse_element<'a>(
    src: &'a str,
    base: usize,
    start: usize,
    scope: &'a [(String, String)],
    max_depth: usize,
) -> Result<Tree<'a>, SignatureError> {
    let rel = start
        .checked_sub(base)
        .ok_or_else(|| malformed(start, "bad offset"))?;
    let sub = src
        .get(rel..)
        .ok_or_else(|| malformed(start, "bad offset"))?;
    let mut tree = Tree {
        nodes: Vec::with_capacity(64),
        bindings: Vec::with_capacity(scope.len() + 8),
        attrs: Vec::with_capacity(64),
    };
    let mut outer = NONE;
    for (prefix, uri) in scope {
        outer = tree.push_binding(prefix, Cow::Borrowed(uri), outer);
    }
    let mut raw_attrs = Vec::new();
    let mut lexer = Lexer::new(sub);
    // open elements: (node index, qualified name)
    let mut stack: Vec<(usize, &str)> = Vec::new();
    loop {
        let (s, tok) = lexer.next_token().map_err(|e| rebase(e, start))?;
        let at = start + s;
        match tok {
            Tok::Start { name, attrs, empty } => {
                if stack.len() >= max_depth {
                    return Err(SignatureError::Xml(C14nError::TooDeep {
                        offset: at,
                        limit: max_depth,
                    }));
                }
                let parent = stack.last().map(|&(p, _)| p);
                let mut el_scope = parent.map_or(outer, |p| tree.nodes[p].scope);
                attributes(attrs, at, &mut raw_attrs)?;
                let attrs_from = index(tree.attrs.len());
                for &(key, raw_value) in &raw_attrs {
                    let value = decode_attr(raw_value, at)?;
                    if key == "xmlns" {
                        el_scope = tree.push_binding("", value, el_scope);
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        el_scope = tree.push_binding(p, value, el_scope);
                    } else {
                        tree.attrs.push((key, value));
                    }
                }
                let attrs_range = (attrs_from, index(tree.attrs.len()));
                let (prefix, local) = split_qname(name);
                let ns = match tree.lookup(el_scope, prefix) {
                    Some(b) if !tree.bindings[b as usize].uri.is_empty() => b,
                    _ if prefix.is_empty() => NONE,
                    _ => {
                        return Err(SignatureError::Xml(C14nError::UndeclaredPrefix {
                            prefix: prefix.to_owned(),
                            offset: at,
                        }));
                    }
                };
                let idx = tree.nodes.len();
                tree.nodes.push(Node {
                    ns,
                    local,
                    attrs: attrs_range,
                    text: Cow::Borrowed(""),
                    start: at,
                    scope: el_scope,
                    end: index(idx + 1),
                });
                if empty {
                    if parent.is_none() {
                        return Ok(tree);
                    }
                } else {
                    stack.push((idx, name));
                }
            }
            Tok::End { name } => {
                let Some((idx, open)) = stack.pop() else {
                    return Err(malformed(at, "unmatched end tag"));
                };
                if open != name {
                    return Err(malformed(at, "mismatched end tag"));
                }
                tree.nodes[idx].end = index(tree.nodes.len());
                if stack.is_empty() {
                    return Ok(tree);
                }
            }
            Tok::Text(raw) => {
                if let Some(&(idx, _)) = stack.last() {
                    append_text(&mut tree.nodes[idx].text, decode_text(raw, at)?);
                }
            }
            Tok::CData(raw) => {
                if let Some(&(idx, _)) = stack.last() {
                    append_text(&mut tree.nodes[idx].text, Cow::Borrowed(raw));
                }
            }
            Tok::DocType => return Err(SignatureError::Xml(C14nError::Doctype)),
            Tok::Eof => return Err(malformed(at, "unexpected end of document")),
            _ => {}
        }
    }
}

/// Appends a text child to an element's text: the first one is kept as is (borrowed when it
/// needed no decoding), later ones are concatenated.
fn append_text<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else if !more.is_empty() {
        text.to_mut().push_str(&more);
    }
}
