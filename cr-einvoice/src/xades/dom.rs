//! A tiny element tree for the `ds:Signature` subtree (verification only).

use crate::c14n::lexer::{Lexer, Tok, attributes};
use crate::c14n::{C14nError, DSIG_NS, decode_attr, decode_text};

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

struct TagParts {
    decls: Vec<(String, String)>,
    attrs: Vec<(String, String)>,
}

/// Splits a start tag's attributes into namespace declarations and other attributes.
fn parse_tag(raw: &str, at: usize) -> Result<TagParts, SignatureError> {
    let mut list = Vec::new();
    attributes(raw, at, &mut list)?;
    let mut decls = Vec::new();
    let mut attrs = Vec::new();
    for (key, raw_value) in list {
        let value = decode_attr(raw_value, at)?.into_owned();
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

/// Finds the `ds:Signature` children of the root element (same tokenizer as the
/// canonicalizer, so both see the same structure).
pub(crate) fn scan(src: &str, base: usize) -> Result<Scan, SignatureError> {
    let mut lexer = Lexer::new(src);
    let mut scope: Vec<(String, String)> = Vec::new();
    let mut names: Vec<(&str, usize)> = Vec::new();
    let mut out = Scan {
        signatures: Vec::new(),
        root_scope: Vec::new(),
    };
    loop {
        let (start, tok) = lexer.next_token().map_err(|e| rebase(e, base))?;
        let at = base + start;
        match tok {
            Tok::Start { name, attrs, empty } => {
                let mark = scope.len();
                // only the root's and its children's tags matter for namespaces
                if names.len() <= 1 {
                    let parts = parse_tag(attrs, at)?;
                    scope.extend(parts.decls);
                    let (ns, local) = resolve(&scope, name, at)?;
                    if names.is_empty() {
                        out.root_scope.clone_from(&scope);
                    } else if ns == DSIG_NS && local == "Signature" {
                        out.signatures.push(at);
                    }
                }
                if empty {
                    scope.truncate(mark);
                } else {
                    names.push((name, mark));
                }
            }
            Tok::End { name } => {
                let Some((open, mark)) = names.pop() else {
                    return Err(malformed(at, "unmatched end tag"));
                };
                if open != name {
                    return Err(malformed(at, "mismatched end tag"));
                }
                scope.truncate(mark);
            }
            Tok::DocType => return Err(SignatureError::Xml(C14nError::Doctype)),
            Tok::Eof => return Ok(out),
            _ => {}
        }
    }
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
    let mut lexer = Lexer::new(sub);
    let mut stack: Vec<(Element, &str)> = Vec::new();
    loop {
        let (s, tok) = lexer.next_token().map_err(|e| rebase(e, start))?;
        let at = start + s;
        match tok {
            Tok::Start { name, attrs, empty } => {
                let parts = parse_tag(attrs, at)?;
                let mut el_scope = stack
                    .last()
                    .map_or_else(|| scope.to_vec(), |(p, _)| p.scope.clone());
                el_scope.extend(parts.decls);
                let (ns, local) = resolve(&el_scope, name, at)?;
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
                        Some((parent, _)) => parent.children.push(el),
                        None => return Ok(el),
                    }
                } else {
                    stack.push((el, name));
                }
            }
            Tok::End { name } => {
                let Some((el, open)) = stack.pop() else {
                    return Err(malformed(at, "unmatched end tag"));
                };
                if open != name {
                    return Err(malformed(at, "mismatched end tag"));
                }
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Tok::Text(raw) => {
                if let Some((el, _)) = stack.last_mut() {
                    el.text.push_str(&decode_text(raw, at)?);
                }
            }
            Tok::CData(raw) => {
                if let Some((el, _)) = stack.last_mut() {
                    el.text.push_str(raw);
                }
            }
            Tok::DocType => return Err(SignatureError::Xml(C14nError::Doctype)),
            Tok::Eof => return Err(malformed(at, "unexpected end of document")),
            _ => {}
        }
    }
}
