//! The streaming canonicalizer: a small state machine driven by the lexer's tokens.
//!
//! [`Engine`] holds everything that changes while walking the document (the open-element
//! stack, the namespace and `xml:*` scopes, what has been rendered) and has one method per kind
//! of token. It never recurses: nesting lives in `stack`, so depth is bounded by memory only.

use std::borrow::Cow;

use super::escape::{
    decode_attr, normalize_newlines, write_attr_value, write_cdata, write_raw_text,
};
use super::lexer::{Lexer, Tok, attributes, name_len, verbatim_text_len};
use super::{C14nError, Canonicalizer, DSIG_NS, Exclude, XML_NS};

/// The namespace bindings and `xml:*` attributes in scope at some point of a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Context {
    /// In-scope namespace bindings `(prefix, uri)`; a later entry overrides an earlier one.
    pub(crate) bindings: Vec<(String, String)>,
    /// `xml:*` attributes of ancestors `(qualified name, decoded value)`; later wins.
    pub(crate) xml_attrs: Vec<(String, String)>,
}

/// Facts about the root element collected during a whole-document run.
#[derive(Clone, Debug, Default)]
pub(crate) struct RootInfo {
    /// What is in scope inside the root element (for content appended to it).
    pub(crate) context: Context,
    /// Offset of the root's end tag (`</`), if the root is not an empty-element tag.
    pub(crate) root_end: Option<usize>,
    /// Number of `ds:Signature` children of the root.
    pub(crate) signature_children: usize,
    /// Input: collect [`RootInfo::ids`], [`RootInfo::signatures`] and
    /// [`RootInfo::all_signatures`] (verification) and refuse nesting deeper than `max_depth`.
    pub(crate) collect: Option<Collect>,
    /// `(value, element offset)` of every `Id`, `ID` or `id` attribute (with `collect`).
    pub(crate) ids: Vec<(String, usize)>,
    /// `ds:Signature` children of the root: start offset and offset just past the end tag
    /// (equal for an empty element) (with `collect`).
    pub(crate) signatures: Vec<(usize, usize)>,
    /// Every `ds:Signature` element at any depth, when the run resolves element namespaces
    /// everywhere (exclusive C14N or `Exclude::AllSignatures`) (with `collect`).
    pub(crate) all_signatures: usize,
}

/// What a verification run collects besides the canonical bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Collect {
    /// Elements nested deeper than this are a [`C14nError::TooDeep`].
    pub(crate) max_depth: usize,
}

/// The text to canonicalize and where it sits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    /// The XML text (UTF-8, without byte order mark).
    pub(crate) text: &'a str,
    /// Offset of `text` in the caller's input: added to every offset the engine reports, and
    /// the origin of the apex and excluded-element offsets of the [`Canonicalizer`].
    pub(crate) base: usize,
    /// The scope in force where `text` starts (empty for a whole document; the root's scope
    /// for a `ds:Signature` fragment canonicalized before it is appended).
    pub(crate) context: &'a Context,
}

/// An element whose end tag has not been seen yet.
struct Open<'a> {
    name: &'a str,
    /// Rendered in the output.
    output: bool,
    /// Inside an excluded subtree.
    excluded: bool,
    /// The apex of a subtree canonicalization: its end finishes the run.
    apex: bool,
    /// Lengths of `scope`, `xml_attrs` and `rendered` before this element's start tag.
    marks: (usize, usize, usize),
    /// A `ds:Signature` child of the root: index in `RootInfo::signatures`.
    root_signature: Option<usize>,
}

impl<'a> Open<'a> {
    /// A plain child (no namespace declarations or attributes): excluded exactly when not rendered.
    fn plain(name: &'a str, output: bool, marks: (usize, usize, usize)) -> Self {
        Open {
            name,
            output,
            excluded: !output,
            apex: false,
            marks,
            root_signature: None,
        }
    }
}

/// An attribute of the current start tag; `uri` holds the prefix until it is resolved.
struct Attr<'a> {
    qname: &'a str,
    local: &'a str,
    uri: Cow<'a, str>,
    value: Cow<'a, str>,
}

/// Whether the run goes on after a token.
enum Step {
    Continue,
    Done,
}

/// A namespace binding `(prefix, uri)`.
type Binding<'a> = (&'a str, Cow<'a, str>);

fn malformed(offset: usize, message: impl Into<String>) -> C14nError {
    C14nError::Malformed {
        offset,
        message: message.into(),
    }
}

pub(crate) fn split_qname(q: &str) -> (&str, &str) {
    // a byte scan: names are short, and `str::split_once` goes through the generic searcher
    match q.as_bytes().iter().position(|&b| b == b':') {
        Some(i) => (
            q.get(..i).unwrap_or_default(),
            q.get(i + 1..).unwrap_or_default(),
        ),
        None => ("", q),
    }
}

fn lookup<'s, 'a>(bindings: &'s [Binding<'a>], prefix: &str) -> Option<&'s Cow<'a, str>> {
    bindings
        .iter()
        .rev()
        .find(|(p, _)| *p == prefix)
        .map(|(_, u)| u)
}

/// Adds `prefix = uri` to the namespace axis of the element being rendered unless it is `xml`,
/// already on the axis, or already rendered with the same URI by an output ancestor.
#[expect(
    clippy::ptr_arg,
    reason = "the Cow is cloned onto the axis: a borrowed URI stays borrowed, no allocation"
)]
fn consider<'a>(
    rendered: &[Binding<'a>],
    ns_out: &mut Vec<Binding<'a>>,
    prefix: &'a str,
    uri: &Cow<'a, str>,
) {
    if prefix == "xml" || ns_out.iter().any(|(q, _)| *q == prefix) {
        return;
    }
    let current = lookup(rendered, prefix).map_or("", |u| u.as_ref());
    if current != uri.as_ref() {
        ns_out.push((prefix, uri.clone()));
    }
}

/// The state of one canonicalization run.
struct Engine<'a, 'o> {
    lexer: Lexer<'a>,
    base: usize,
    inclusive_prefixes: &'a [String],
    apex: Option<usize>,
    exclude: Exclude,
    exclusive: bool,
    comments: bool,
    /// Whole document (no apex): everything outside excluded subtrees is output.
    whole: bool,
    out: &'o mut Vec<u8>,
    root_info: Option<&'o mut RootInfo>,
    /// In-scope namespace bindings, innermost last.
    scope: Vec<Binding<'a>>,
    /// In-scope `xml:*` attributes `(qname, value)`, innermost last.
    xml_attrs: Vec<Binding<'a>>,
    /// Namespace declarations rendered by output ancestors, innermost last.
    rendered: Vec<Binding<'a>>,
    stack: Vec<Open<'a>>,
    /// Scratch buffers reused for every start tag.
    raw_attrs: Vec<(&'a str, &'a str)>,
    attrs: Vec<Attr<'a>>,
    ns_out: Vec<Binding<'a>>,
    seen_root: bool,
    apex_found: bool,
    /// The nesting bound of a collecting run ([`Collect::max_depth`]), `usize::MAX` otherwise.
    max_depth: usize,
}

/// Runs the canonicalizer over `source` with `options`, appending to `out`; fills `root_info`
/// during a whole-document run.
///
/// `options`' apex and excluded-element offsets are offsets of the caller's input (that is,
/// of `source.text` plus `source.base`).
pub(crate) fn run(
    source: Source<'_>,
    options: &Canonicalizer,
    out: &mut Vec<u8>,
    root_info: Option<&mut RootInfo>,
) -> Result<(), C14nError> {
    let mut engine = Engine::new(source, options, out, root_info);
    loop {
        engine.verbatim_run();
        let (start, tok) = engine
            .lexer
            .next_token()
            .map_err(|e| rebase(e, engine.base))?;
        if let Step::Done = engine.token(start, tok)? {
            return Ok(());
        }
    }
}

impl<'a, 'o> Engine<'a, 'o> {
    fn new(
        source: Source<'a>,
        options: &'a Canonicalizer,
        out: &'o mut Vec<u8>,
        root_info: Option<&'o mut RootInfo>,
    ) -> Self {
        let ctx = source.context;
        let max_depth = root_info
            .as_ref()
            .and_then(|i| i.collect)
            .map_or(usize::MAX, |c| c.max_depth);
        Self {
            lexer: Lexer::new(source.text),
            base: source.base,
            inclusive_prefixes: &options.inclusive_prefixes,
            apex: options.apex,
            exclude: options.exclude,
            exclusive: options.algorithm.is_exclusive(),
            comments: options.algorithm.with_comments(),
            whole: options.apex.is_none(),
            out,
            root_info,
            scope: ctx
                .bindings
                .iter()
                .map(|(p, u)| (p.as_str(), Cow::Borrowed(u.as_str())))
                .collect(),
            xml_attrs: ctx
                .xml_attrs
                .iter()
                .map(|(q, v)| (q.as_str(), Cow::Borrowed(v.as_str())))
                .collect(),
            rendered: Vec::new(),
            stack: Vec::with_capacity(16),
            raw_attrs: Vec::new(),
            attrs: Vec::new(),
            ns_out: Vec::new(),
            seen_root: false,
            apex_found: false,
            max_depth,
        }
    }

    /// Whether content at the current position is output.
    fn inside(&self) -> bool {
        self.stack.last().map_or(self.whole, |o| o.output)
    }

    /// Handles one token; `start` is its offset in the source text.
    fn token(&mut self, start: usize, tok: Tok<'a>) -> Result<Step, C14nError> {
        match tok {
            Tok::Start { name, attrs, empty } => self.start_tag(start, name, attrs, empty),
            Tok::End { name } => self.end_tag(start, name),
            Tok::Text(raw) => self.text(start, raw).map(|()| Step::Continue),
            Tok::CData(body) => self.cdata(start, body).map(|()| Step::Continue),
            Tok::Comment(_) | Tok::Pi { .. } => {
                self.comment_or_pi(&tok);
                Ok(Step::Continue)
            }
            Tok::Decl { encoding } => match encoding {
                Some(enc) if !enc.eq_ignore_ascii_case("utf-8") => Err(C14nError::NotUtf8),
                _ => Ok(Step::Continue),
            },
            Tok::DocType => Err(C14nError::Doctype),
            Tok::Eof => self.eof(start).map(|()| Step::Done),
        }
    }

    fn start_tag(
        &mut self,
        start: usize,
        name: &'a str,
        raw_tag: &'a str,
        empty: bool,
    ) -> Result<Step, C14nError> {
        let marks = (self.scope.len(), self.xml_attrs.len(), self.rendered.len());
        let at = start + self.base;
        if self.plain_child(name, raw_tag, at) {
            return Ok(self.plain_start_tag(name, empty, marks));
        }
        let inside = self.inside();
        if self.stack.is_empty() && self.seen_root && self.whole {
            return Err(malformed(at, "more than one root element"));
        }
        let collect = self.root_info.as_ref().and_then(|i| i.collect);
        if let Some(c) = collect
            && self.stack.len() >= c.max_depth
        {
            return Err(C14nError::TooDeep {
                offset: at,
                limit: c.max_depth,
            });
        }
        self.read_attributes(raw_tag, at)?;
        if collect.is_some()
            && let Some(info) = self.root_info.as_deref_mut()
        {
            for a in &self.attrs {
                if matches!(a.qname, "Id" | "ID" | "id") {
                    info.ids.push((a.value.to_string(), at));
                }
            }
        }

        let (prefix, local) = split_qname(name);
        let elem_ns = self.element_namespace(prefix, at)?;
        let is_signature = elem_ns.is_some_and(|ns| local == "Signature" && ns == DSIG_NS);
        let parent_excluded = self.stack.last().is_some_and(|o| o.excluded);
        let excluded = parent_excluded
            || match self.exclude {
                Exclude::Nothing => false,
                Exclude::ElementAt(o) => o == at,
                Exclude::AllSignatures => is_signature,
            };
        let is_apex = self.apex == Some(at);
        self.apex_found |= is_apex;
        let output = !excluded && (inside || is_apex);

        self.note_root_facts(is_signature);
        let mut root_signature = None;
        if collect.is_some()
            && is_signature
            && let Some(info) = self.root_info.as_deref_mut()
        {
            info.all_signatures += 1;
            if self.stack.len() == 1 {
                info.signatures.push((at, at));
                root_signature = Some(info.signatures.len() - 1);
            }
        }
        if output {
            self.render_start_tag(name, prefix, marks, at)?;
        }

        self.seen_root = true;
        if empty {
            if output {
                self.write_end_tag(name);
            }
            self.truncate_scopes(marks);
            if is_apex {
                return Ok(Step::Done);
            }
        } else {
            self.stack.push(Open {
                name,
                output,
                excluded,
                apex: is_apex,
                marks,
                root_signature,
            });
        }
        Ok(Step::Continue)
    }

    /// Whether the start tag at `at` is a plain child of an output element: no attributes, no
    /// namespace declarations, an unprefixed name or one whose prefix is bound (not `xml`), not
    /// a possible `ds:Signature` (any local name `Signature`), not the apex, not the excluded
    /// element, within the depth bound. Its canonical form is then `<name>` and it changes no
    /// scope and no collected fact (inclusive C14N: its parent already rendered every binding in
    /// scope; exclusive C14N is left to the general path).
    ///
    /// The same holds for a plain child of an excluded element (nothing is output): then the
    /// child is excluded too.
    fn plain_child(&self, name: &str, raw_tag: &str, at: usize) -> bool {
        let Some(parent) = self.stack.last() else {
            return false;
        };
        if !(parent.output || parent.excluded)
            || self.exclusive
            || !raw_tag
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            || self.stack.len() >= self.max_depth
            || self.apex == Some(at)
            || self.exclude == Exclude::ElementAt(at)
        {
            return false;
        }
        let (prefix, local) = split_qname(name);
        local != "Signature"
            && (prefix.is_empty() || prefix != "xml" && lookup(&self.scope, prefix).is_some())
    }

    /// Consumes, without tokenizing, the tokens ahead whose canonical form is exactly their
    /// text, and copies them to the output in one piece: inside an output element (inclusive
    /// C14N), character data with nothing to rewrite or check (no `& > CR ]`), start tags
    /// `<name>` of [`Engine::plain_child`]ren and end tags `</name>` of the open element (unless
    /// its end finishes the run or is recorded: the apex, the root, a root `ds:Signature`).
    /// Anything else is left to [`Lexer::next_token`] and [`Engine::token`], which produce the
    /// same output for these tokens; this only skips their per-token work.
    fn verbatim_run(&mut self) {
        if self.exclusive {
            return;
        }
        let Some(output) = self.stack.last().map(|o| o.output) else {
            return;
        };
        let src = self.lexer.src();
        let bytes = src.as_bytes();
        let from = self.lexer.pos();
        let mut pos = from;
        // every token consumed belongs to an element of the same kind (output, or excluded)
        while let Some(top) = self.stack.last()
            && top.output == output
            && (output || top.excluded)
        {
            let rest = bytes.get(pos..).unwrap_or_default();
            match rest {
                [b'<', b'/', tail @ ..] => {
                    let name = top.name.as_bytes();
                    let closes = tail.starts_with(name) && tail.get(name.len()) == Some(&b'>');
                    if !closes || top.apex || top.root_signature.is_some() || self.stack.len() < 2 {
                        break;
                    }
                    let marks = top.marks;
                    self.stack.pop();
                    self.truncate_scopes(marks);
                    pos += 3 + name.len();
                }
                [b'<', tail @ ..] => {
                    let n = name_len(tail);
                    if n == 0 || tail.get(n) != Some(&b'>') {
                        break;
                    }
                    let name = src.get(pos + 1..pos + 1 + n).unwrap_or_default();
                    if !self.plain_child(name, "", pos + self.base) {
                        break;
                    }
                    let marks = (self.scope.len(), self.xml_attrs.len(), self.rendered.len());
                    self.stack.push(Open::plain(name, output, marks));
                    pos += n + 2;
                }
                [] => break,
                _ => {
                    let n = verbatim_text_len(rest);
                    if rest.get(n) != Some(&b'<') {
                        break;
                    }
                    pos += n;
                }
            }
        }
        if pos != from {
            if output {
                self.out
                    .extend_from_slice(bytes.get(from..pos).unwrap_or_default());
            }
            self.lexer.skip_to(pos);
        }
    }

    /// [`Engine::start_tag`] for a [`Engine::plain_child`].
    fn plain_start_tag(
        &mut self,
        name: &'a str,
        empty: bool,
        marks: (usize, usize, usize),
    ) -> Step {
        let output = self.inside();
        if output {
            self.out.push(b'<');
            self.out.extend_from_slice(name.as_bytes());
            self.out.push(b'>');
        }
        if empty {
            if output {
                self.write_end_tag(name);
            }
        } else {
            self.stack.push(Open::plain(name, output, marks));
        }
        Step::Continue
    }

    /// Splits the start tag's attributes into namespace declarations (pushed on `scope`),
    /// `xml:*` attributes (pushed on `xml_attrs`) and the rest (into `attrs`, prefix unresolved).
    fn read_attributes(&mut self, raw_tag: &'a str, at: usize) -> Result<(), C14nError> {
        self.attrs.clear();
        attributes(raw_tag, at, &mut self.raw_attrs)?;
        for &(key, raw_value) in &self.raw_attrs {
            if key == "xmlns" {
                self.scope.push(("", decode_attr(raw_value, at)?));
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                let uri = decode_attr(raw_value, at)?;
                if uri.is_empty() {
                    return Err(malformed(at, "empty prefixed namespace declaration"));
                }
                self.scope.push((prefix, uri));
            } else {
                let (prefix, local) = split_qname(key);
                let value = decode_attr(raw_value, at)?;
                if prefix == "xml" {
                    self.xml_attrs.push((key, value.clone()));
                }
                self.attrs.push(Attr {
                    qname: key,
                    local,
                    uri: Cow::Borrowed(prefix),
                    value,
                });
            }
        }
        Ok(())
    }

    /// The element's namespace URI, or `None` when nothing needs it: it is only looked up for
    /// prefixed names (undeclared prefix check), signature detection and exclusive C14N.
    fn element_namespace(&self, prefix: &str, at: usize) -> Result<Option<&str>, C14nError> {
        let need_ns = !prefix.is_empty()
            || self.exclusive
            || self.exclude == Exclude::AllSignatures
            || (self.root_info.is_some() && self.stack.len() == 1);
        if !need_ns {
            return Ok(None);
        }
        match lookup(&self.scope, prefix) {
            Some(u) => Ok(Some(u)),
            None if prefix.is_empty() => Ok(Some("")),
            None if prefix == "xml" => Ok(Some(XML_NS)),
            None => Err(C14nError::UndeclaredPrefix {
                prefix: prefix.to_owned(),
                offset: at,
            }),
        }
    }

    /// Records the root's scope and counts its `ds:Signature` children (whole-document runs).
    fn note_root_facts(&mut self, is_signature: bool) {
        let Some(info) = self.root_info.as_deref_mut() else {
            return;
        };
        if self.stack.is_empty() {
            info.context = Context {
                bindings: self
                    .scope
                    .iter()
                    .map(|(p, u)| ((*p).to_owned(), u.to_string()))
                    .collect(),
                xml_attrs: self
                    .xml_attrs
                    .iter()
                    .map(|(q, v)| ((*q).to_owned(), v.to_string()))
                    .collect(),
            };
        } else if self.stack.len() == 1 && is_signature {
            info.signature_children += 1;
        }
    }

    /// Writes the canonical start tag: namespace axis, then attributes in (URI, local) order.
    fn render_start_tag(
        &mut self,
        name: &'a str,
        prefix: &'a str,
        marks: (usize, usize, usize),
        at: usize,
    ) -> Result<(), C14nError> {
        self.resolve_attribute_namespaces(at)?;
        let parent_output = self.stack.last().is_some_and(|o| o.output);
        if !self.exclusive && !parent_output {
            self.inherit_xml_attrs(marks.1);
        }
        self.attrs
            .sort_by(|a, b| (a.uri.as_ref(), a.local).cmp(&(b.uri.as_ref(), b.local)));
        if self
            .attrs
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.uri == b.uri && a.local == b.local))
        {
            return Err(malformed(at, "duplicate attribute"));
        }

        self.ns_out.clear();
        if self.exclusive {
            self.exclusive_namespace_axis(prefix);
        } else {
            self.inclusive_namespace_axis(parent_output, marks.0);
        }
        self.ns_out.sort_by(|a, b| a.0.cmp(b.0));

        let out = &mut *self.out;
        out.push(b'<');
        out.extend_from_slice(name.as_bytes());
        for (p, u) in &self.ns_out {
            if p.is_empty() {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(p.as_bytes());
                out.extend_from_slice(b"=\"");
            }
            write_attr_value(out, u);
            out.push(b'"');
        }
        for a in &self.attrs {
            out.push(b' ');
            out.extend_from_slice(a.qname.as_bytes());
            out.extend_from_slice(b"=\"");
            write_attr_value(out, &a.value);
            out.push(b'"');
        }
        out.push(b'>');
        self.rendered.append(&mut self.ns_out);
        Ok(())
    }

    /// Replaces each attribute's prefix by its namespace URI.
    fn resolve_attribute_namespaces(&mut self, at: usize) -> Result<(), C14nError> {
        for a in &mut self.attrs {
            let p = a.uri.clone();
            a.uri = if p.is_empty() {
                Cow::Borrowed("")
            } else if p == "xml" {
                Cow::Borrowed(XML_NS)
            } else {
                match lookup(&self.scope, &p) {
                    Some(u) => u.clone(),
                    None => {
                        return Err(C14nError::UndeclaredPrefix {
                            prefix: p.into_owned(),
                            offset: at,
                        });
                    }
                }
            };
        }
        Ok(())
    }

    /// Inclusive C14N of a subset: the apex carries the `xml:*` attributes of its ancestors
    /// (the first `ancestors` entries of `xml_attrs`) that it does not set itself.
    fn inherit_xml_attrs(&mut self, ancestors: usize) {
        let own = self.attrs.len();
        let mut seen: Vec<&str> = Vec::new();
        for (q, v) in self.xml_attrs.iter().take(ancestors).rev() {
            if seen.contains(q) {
                continue;
            }
            seen.push(q);
            if self.attrs.iter().take(own).any(|a| a.qname == *q) {
                continue;
            }
            self.attrs.push(Attr {
                qname: q,
                local: split_qname(q).1,
                uri: Cow::Borrowed(XML_NS),
                value: v.clone(),
            });
        }
    }

    /// Exclusive C14N: only the prefixes visibly used by the element and its attributes, plus
    /// the `InclusiveNamespaces PrefixList`.
    fn exclusive_namespace_axis(&mut self, prefix: &'a str) {
        let elem_uri: Cow<'a, str> = lookup(&self.scope, prefix)
            .cloned()
            .unwrap_or(Cow::Borrowed(""));
        consider(&self.rendered, &mut self.ns_out, prefix, &elem_uri);
        for a in &self.attrs {
            let (p, _) = split_qname(a.qname);
            if !p.is_empty() && p != "xml" {
                consider(&self.rendered, &mut self.ns_out, p, &a.uri);
            }
        }
        for p in self.inclusive_prefixes {
            if let Some(u) = lookup(&self.scope, p) {
                consider(&self.rendered, &mut self.ns_out, p.as_str(), u);
            }
        }
    }

    /// Inclusive C14N: the element's own declarations when its parent is output, otherwise
    /// every binding in scope (innermost wins; an empty default namespace is left out).
    fn inclusive_namespace_axis(&mut self, parent_output: bool, own_from: usize) {
        let from = if parent_output { own_from } else { 0 };
        for i in (from..self.scope.len()).rev() {
            if let Some((p, u)) = self.scope.get(i) {
                let p = *p;
                if from == 0
                    && self
                        .scope
                        .get(i + 1..)
                        .is_some_and(|l| l.iter().any(|(q, _)| *q == p))
                {
                    continue;
                }
                if !parent_output && p.is_empty() && u.is_empty() {
                    continue;
                }
                consider(&self.rendered, &mut self.ns_out, p, u);
            }
        }
    }

    fn write_end_tag(&mut self, name: &str) {
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }

    /// Drops what an element put in scope.
    fn truncate_scopes(&mut self, marks: (usize, usize, usize)) {
        self.scope.truncate(marks.0);
        self.xml_attrs.truncate(marks.1);
        self.rendered.truncate(marks.2);
    }

    fn end_tag(&mut self, start: usize, name: &str) -> Result<Step, C14nError> {
        let at = start + self.base;
        let Some(open) = self.stack.pop() else {
            return Err(malformed(at, "unmatched end tag"));
        };
        if open.name != name {
            return Err(malformed(
                at,
                format!("end tag </{name}> does not match <{}>", open.name),
            ));
        }
        if open.output {
            self.write_end_tag(open.name);
        }
        self.truncate_scopes(open.marks);
        if let Some(info) = self.root_info.as_deref_mut() {
            if self.stack.is_empty() {
                info.root_end = Some(at);
            }
            if let Some(sig) = open.root_signature.and_then(|i| info.signatures.get_mut(i)) {
                sig.1 = self.lexer.pos() + self.base;
            }
        }
        Ok(if open.apex {
            Step::Done
        } else {
            Step::Continue
        })
    }

    fn text(&mut self, start: usize, raw: &str) -> Result<(), C14nError> {
        if self.stack.is_empty() {
            if !raw
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                return Err(malformed(
                    start + self.base,
                    "text outside the root element",
                ));
            }
        } else if self.inside() {
            write_raw_text(self.out, raw, start + self.base)?;
        }
        Ok(())
    }

    fn cdata(&mut self, start: usize, body: &str) -> Result<(), C14nError> {
        if self.stack.is_empty() {
            return Err(malformed(
                start + self.base,
                "CDATA outside the root element",
            ));
        }
        if self.inside() {
            write_cdata(self.out, body);
        }
        Ok(())
    }

    /// Comments (only with a `WithComments` algorithm) and processing instructions; at
    /// document level they are separated from the root element by a line feed.
    fn comment_or_pi(&mut self, tok: &Tok<'_>) {
        if matches!(tok, Tok::Comment(_)) && !self.comments {
            return;
        }
        let doc_level = self.stack.is_empty();
        if !(self.inside() || doc_level && self.whole) {
            return;
        }
        let out = &mut *self.out;
        if doc_level && self.seen_root {
            out.push(b'\n');
        }
        match *tok {
            Tok::Comment(body) => {
                out.extend_from_slice(b"<!--");
                out.extend_from_slice(normalize_newlines(body).as_bytes());
                out.extend_from_slice(b"-->");
            }
            Tok::Pi { target, data } => {
                out.extend_from_slice(b"<?");
                out.extend_from_slice(target.as_bytes());
                if !data.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(normalize_newlines(data).as_bytes());
                }
                out.extend_from_slice(b"?>");
            }
            _ => {}
        }
        if doc_level && !self.seen_root {
            out.push(b'\n');
        }
    }

    fn eof(&self, start: usize) -> Result<(), C14nError> {
        if !self.stack.is_empty() {
            return Err(malformed(start + self.base, "unexpected end of document"));
        }
        if let Some(a) = self.apex
            && !self.apex_found
        {
            return Err(C14nError::ApexNotFound(a));
        }
        if !self.seen_root {
            return Err(malformed(start + self.base, "no root element"));
        }
        Ok(())
    }
}

fn rebase(e: C14nError, base: usize) -> C14nError {
    match e {
        C14nError::Malformed { offset, message } => C14nError::Malformed {
            offset: offset + base,
            message,
        },
        other => other,
    }
}

/// Finds the element carrying `Id`/`ID`/`id` = `id`; errors if more than one does.
pub(crate) fn find_id(src: &str, id: &str) -> Result<Option<usize>, C14nError> {
    let mut lexer = Lexer::new(src);
    let mut raw_attrs = Vec::new();
    let mut found = None;
    loop {
        match lexer.next_token()? {
            (start, Tok::Start { attrs, .. }) => {
                attributes(attrs, start, &mut raw_attrs)?;
                for (k, v) in &raw_attrs {
                    if matches!(*k, "Id" | "ID" | "id") && decode_attr(v, start)? == id {
                        if found.is_some() {
                            return Err(malformed(start, format!("duplicate id {id:?}")));
                        }
                        found = Some(start);
                    }
                }
            }
            (_, Tok::DocType) => return Err(C14nError::Doctype),
            (_, Tok::Eof) => return Ok(found),
            _ => {}
        }
    }
}
