//! The streaming canonicalizer.

use std::borrow::Cow;

use super::escape::{
    decode_attr, normalize_newlines, write_attr_value, write_cdata, write_raw_text,
};
use super::lexer::{Lexer, Tok, attributes};
use super::{Algorithm, C14nError, DSIG_NS, Exclude, XML_NS};

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
}

struct Open<'a> {
    name: &'a str,
    output: bool,
    excluded: bool,
    apex: bool,
    marks: (usize, usize, usize),
}

struct Attr<'a> {
    qname: &'a str,
    local: &'a str,
    uri: Cow<'a, str>,
    value: Cow<'a, str>,
}

fn malformed(offset: usize, message: impl Into<String>) -> C14nError {
    C14nError::Malformed {
        offset,
        message: message.into(),
    }
}

fn split_qname(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

fn lookup<'s, 'a>(
    bindings: &'s [(&'a str, Cow<'a, str>)],
    prefix: &str,
) -> Option<&'s Cow<'a, str>> {
    bindings
        .iter()
        .rev()
        .find(|(p, _)| *p == prefix)
        .map(|(_, u)| u)
}

/// Runs the canonicalizer.
///
/// * `src` starts at the point described by `ctx` (the document start, or the start tag of
///   an element whose parent's scope is `ctx`); `base` is added to offsets in errors.
/// * `apex`: canonicalize only the subtree of the element starting at this offset of `src`.
/// * `root_info`: filled during a whole-document run.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
pub(crate) fn run<'a>(
    src: &'a str,
    base: usize,
    ctx: &'a Context,
    algorithm: Algorithm,
    inclusive_prefixes: &'a [String],
    apex: Option<usize>,
    exclude: Exclude,
    out: &mut Vec<u8>,
    mut root_info: Option<&mut RootInfo>,
) -> Result<(), C14nError> {
    let exclusive = algorithm.is_exclusive();
    let comments = algorithm.with_comments();
    let whole = apex.is_none();
    let mut lexer = Lexer::new(src);
    let mut raw_attrs: Vec<(&'a str, &'a str)> = Vec::new();

    let mut scope: Vec<(&'a str, Cow<'a, str>)> = ctx
        .bindings
        .iter()
        .map(|(p, u)| (p.as_str(), Cow::Borrowed(u.as_str())))
        .collect();
    let mut xml_attrs: Vec<(&'a str, Cow<'a, str>)> = ctx
        .xml_attrs
        .iter()
        .map(|(q, v)| (q.as_str(), Cow::Borrowed(v.as_str())))
        .collect();
    let mut rendered: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
    let mut stack: Vec<Open<'a>> = Vec::with_capacity(16);
    let mut attrs: Vec<Attr<'a>> = Vec::new();
    let mut ns_out: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
    let mut seen_root = false;
    let mut apex_found = false;

    loop {
        let (start, tok) = lexer.next_token().map_err(|e| rebase(e, base))?;
        let inside = stack.last().map_or(whole, |o| o.output);
        match tok {
            Tok::Start {
                name,
                attrs: raw_tag,
                empty,
            } => {
                let marks = (scope.len(), xml_attrs.len(), rendered.len());
                let at = start + base;
                if stack.is_empty() && seen_root && whole {
                    return Err(malformed(at, "more than one root element"));
                }

                attrs.clear();
                attributes(raw_tag, at, &mut raw_attrs)?;
                for &(key, raw_value) in &raw_attrs {
                    if key == "xmlns" {
                        scope.push(("", decode_attr(raw_value, at)?));
                    } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                        let uri = decode_attr(raw_value, at)?;
                        if uri.is_empty() {
                            return Err(malformed(at, "empty prefixed namespace declaration"));
                        }
                        scope.push((prefix, uri));
                    } else {
                        let (prefix, local) = split_qname(key);
                        let value = decode_attr(raw_value, at)?;
                        if prefix == "xml" {
                            xml_attrs.push((key, value.clone()));
                        }
                        attrs.push(Attr {
                            qname: key,
                            local,
                            uri: Cow::Borrowed(prefix),
                            value,
                        });
                    }
                }

                let (prefix, local) = split_qname(name);
                // The element's namespace is only needed for prefixed names (undeclared
                // prefix check), signature detection and exclusive C14N.
                let need_ns = !prefix.is_empty()
                    || exclusive
                    || exclude == Exclude::AllSignatures
                    || (root_info.is_some() && stack.len() == 1);
                let elem_ns: &str = if !need_ns {
                    ""
                } else {
                    match lookup(&scope, prefix) {
                        Some(u) => u,
                        None if prefix.is_empty() => "",
                        None if prefix == "xml" => XML_NS,
                        None => {
                            return Err(C14nError::UndeclaredPrefix {
                                prefix: prefix.to_owned(),
                                offset: at,
                            });
                        }
                    }
                };
                let is_signature = need_ns && local == "Signature" && elem_ns == DSIG_NS;
                let parent_excluded = stack.last().is_some_and(|o| o.excluded);
                let excluded = parent_excluded
                    || match exclude {
                        Exclude::Nothing => false,
                        Exclude::ElementAt(o) => o == start,
                        Exclude::AllSignatures => is_signature,
                    };
                let is_apex = apex == Some(start);
                apex_found |= is_apex;
                let output = !excluded && (inside || is_apex);

                if let Some(info) = root_info.as_deref_mut() {
                    if stack.is_empty() {
                        info.context = Context {
                            bindings: scope
                                .iter()
                                .map(|(p, u)| ((*p).to_owned(), u.to_string()))
                                .collect(),
                            xml_attrs: xml_attrs
                                .iter()
                                .map(|(q, v)| ((*q).to_owned(), v.to_string()))
                                .collect(),
                        };
                    } else if stack.len() == 1 && is_signature {
                        info.signature_children += 1;
                    }
                }

                if output {
                    // resolve attribute namespaces
                    for a in &mut attrs {
                        let p = a.uri.clone();
                        a.uri = if p.is_empty() {
                            Cow::Borrowed("")
                        } else if p == "xml" {
                            Cow::Borrowed(XML_NS)
                        } else {
                            match lookup(&scope, &p) {
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
                    let parent_output = stack.last().is_some_and(|o| o.output);
                    // inherited xml:* attributes on the apex of an inclusive subset
                    if !exclusive && !parent_output {
                        let own = attrs.len();
                        let mut seen: Vec<&str> = Vec::new();
                        for (q, v) in xml_attrs.iter().take(marks.1).rev() {
                            if seen.contains(q) {
                                continue;
                            }
                            seen.push(q);
                            if attrs.iter().take(own).any(|a| a.qname == *q) {
                                continue;
                            }
                            attrs.push(Attr {
                                qname: q,
                                local: split_qname(q).1,
                                uri: Cow::Borrowed(XML_NS),
                                value: v.clone(),
                            });
                        }
                    }
                    attrs.sort_by(|a, b| (a.uri.as_ref(), a.local).cmp(&(b.uri.as_ref(), b.local)));
                    if attrs
                        .windows(2)
                        .any(|w| matches!(w, [a, b] if a.uri == b.uri && a.local == b.local))
                    {
                        return Err(malformed(at, "duplicate attribute"));
                    }

                    // namespace axis
                    ns_out.clear();
                    let consider =
                        |p: &'a str,
                         uri: &Cow<'a, str>,
                         ns_out: &mut Vec<(&'a str, Cow<'a, str>)>| {
                            if p == "xml" || ns_out.iter().any(|(q, _)| *q == p) {
                                return;
                            }
                            let current = lookup(&rendered, p).map_or("", |u| u.as_ref());
                            if current != uri.as_ref() {
                                ns_out.push((p, uri.clone()));
                            }
                        };
                    if exclusive {
                        let elem_uri: Cow<'a, str> =
                            lookup(&scope, prefix).cloned().unwrap_or(Cow::Borrowed(""));
                        consider(prefix, &elem_uri, &mut ns_out);
                        for a in &attrs {
                            let (p, _) = split_qname(a.qname);
                            if !p.is_empty() && p != "xml" {
                                let u = a.uri.clone();
                                consider(p, &u, &mut ns_out);
                            }
                        }
                        for p in inclusive_prefixes {
                            if let Some(u) = lookup(&scope, p) {
                                let u = u.clone();
                                consider(p.as_str(), &u, &mut ns_out);
                            }
                        }
                    } else {
                        let from = if parent_output { marks.0 } else { 0 };
                        for i in (from..scope.len()).rev() {
                            if let Some((p, u)) = scope.get(i) {
                                let (p, u) = (*p, u.clone());
                                if from == 0
                                    && scope
                                        .get(i + 1..)
                                        .is_some_and(|l| l.iter().any(|(q, _)| *q == p))
                                {
                                    continue;
                                }
                                if !parent_output && p.is_empty() && u.is_empty() {
                                    continue;
                                }
                                consider(p, &u, &mut ns_out);
                            }
                        }
                    }
                    ns_out.sort_by(|a, b| a.0.cmp(b.0));

                    out.push(b'<');
                    out.extend_from_slice(name.as_bytes());
                    for (p, u) in &ns_out {
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
                    for a in &attrs {
                        out.push(b' ');
                        out.extend_from_slice(a.qname.as_bytes());
                        out.extend_from_slice(b"=\"");
                        write_attr_value(out, &a.value);
                        out.push(b'"');
                    }
                    out.push(b'>');
                    rendered.append(&mut ns_out);
                }

                seen_root = true;
                if empty {
                    if output {
                        out.extend_from_slice(b"</");
                        out.extend_from_slice(name.as_bytes());
                        out.push(b'>');
                    }
                    scope.truncate(marks.0);
                    xml_attrs.truncate(marks.1);
                    rendered.truncate(marks.2);
                    if is_apex {
                        return Ok(());
                    }
                } else {
                    stack.push(Open {
                        name,
                        output,
                        excluded,
                        apex: is_apex,
                        marks,
                    });
                }
            }
            Tok::End { name } => {
                let Some(open) = stack.pop() else {
                    return Err(malformed(start + base, "unmatched end tag"));
                };
                if open.name != name {
                    return Err(malformed(
                        start + base,
                        format!("end tag </{name}> does not match <{}>", open.name),
                    ));
                }
                if open.output {
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(open.name.as_bytes());
                    out.push(b'>');
                }
                scope.truncate(open.marks.0);
                xml_attrs.truncate(open.marks.1);
                rendered.truncate(open.marks.2);
                if let Some(info) = root_info.as_deref_mut()
                    && stack.is_empty()
                {
                    info.root_end = Some(start + base);
                }
                if open.apex {
                    return Ok(());
                }
            }
            Tok::Text(raw) => {
                if stack.is_empty() {
                    if !raw
                        .bytes()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        return Err(malformed(start + base, "text outside the root element"));
                    }
                } else if inside {
                    write_raw_text(out, raw, start + base)?;
                }
            }
            Tok::CData(body) => {
                if stack.is_empty() {
                    return Err(malformed(start + base, "CDATA outside the root element"));
                }
                if inside {
                    write_cdata(out, body);
                }
            }
            Tok::Comment(_) | Tok::Pi { .. } => {
                let is_comment = matches!(tok, Tok::Comment(_));
                if is_comment && !comments {
                    continue;
                }
                let doc_level = stack.is_empty();
                if !(inside || doc_level && whole) {
                    continue;
                }
                if doc_level && seen_root {
                    out.push(b'\n');
                }
                match tok {
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
                if doc_level && !seen_root {
                    out.push(b'\n');
                }
            }
            Tok::Decl { encoding } => {
                if let Some(enc) = encoding
                    && !enc.eq_ignore_ascii_case("utf-8")
                {
                    return Err(C14nError::NotUtf8);
                }
            }
            Tok::DocType => return Err(C14nError::Doctype),
            Tok::Eof => {
                if !stack.is_empty() {
                    return Err(malformed(start + base, "unexpected end of document"));
                }
                if let Some(a) = apex
                    && !apex_found
                {
                    return Err(C14nError::ApexNotFound(a + base));
                }
                if !seen_root {
                    return Err(malformed(start + base, "no root element"));
                }
                return Ok(());
            }
        }
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
