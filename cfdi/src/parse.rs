//! Streaming CFDI 4.0 parser on `quick_xml::NsReader`.
//!
//! Elements are matched by namespace URI and local name (never by prefix). DOCTYPE and entity
//! declarations are rejected ([`Error::DtdForbidden`]), so no external entity is fetched and no
//! entity is expanded; only the five predefined entities and character references are accepted.

use std::borrow::Cow;
use std::str::FromStr;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, PrefixDeclaration, ResolveResult};
use rust_decimal::Decimal;

use crate::Limits;
use crate::error::{Error, Result};
use crate::model::*;

/// Parses a CFDI 4.0 document (UTF-8, optional BOM).
///
/// # Errors
/// [`Error`] of kind [`crate::ErrorKind::Xml`] for malformed XML, DOCTYPE/entities or a non-UTF-8
/// encoding; kind [`crate::ErrorKind::Schema`] when the structure is not CFDI 4.0 (unknown element
/// or attribute, missing required attribute, non-decimal amount…).
pub fn parse(xml: &[u8]) -> Result<Comprobante> {
    parse_with_limits(xml, &Limits::default())
}

/// [`parse`] with explicit input bounds: the length is checked before any work
/// ([`Error::TooLarge`]) and the nesting of complements and addenda while reading
/// ([`Error::TooDeep`]).
///
/// # Errors
/// As [`parse`], plus the two limit errors.
pub fn parse_with_limits(xml: &[u8], limits: &Limits) -> Result<Comprobante> {
    check_size(xml.len(), limits)?;
    let text = std::str::from_utf8(xml).map_err(|e| Error::Xml {
        position: e.valid_up_to() as u64,
        message: not_utf8_message(xml),
    })?;
    parse_str_inner(text, limits)
}

/// Parses a CFDI 4.0 document from a `&str` with the default [`Limits`]. See [`parse`].
///
/// # Errors
/// As [`parse`].
pub fn parse_str(xml: &str) -> Result<Comprobante> {
    let limits = Limits::default();
    check_size(xml.len(), &limits)?;
    parse_str_inner(xml, &limits)
}

fn check_size(size: usize, limits: &Limits) -> Result<()> {
    if size > limits.max_input_bytes() {
        return Err(Error::TooLarge {
            size,
            limit: limits.max_input_bytes(),
        });
    }
    Ok(())
}

/// Why bytes are not UTF-8, naming UTF-16 when it is recognisably that.
fn not_utf8_message(xml: &[u8]) -> String {
    let utf16 = xml.starts_with(&[0xFF, 0xFE])
        || xml.starts_with(&[0xFE, 0xFF])
        || xml.starts_with(b"<\0")
        || xml.starts_with(b"\0<");
    if utf16 {
        "input is UTF-16; CFDI must be UTF-8".into()
    } else {
        "input is not valid UTF-8".into()
    }
}

fn parse_str_inner(xml: &str, limits: &Limits) -> Result<Comprobante> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let mut p = Parser::new(xml, limits.max_depth());
    let root = p.prolog_and_root()?;
    if !root.is(NS_CFDI, "Comprobante") {
        return Err(Error::NotCfdi40 {
            found: root.qualified(),
        });
    }
    let c = p.comprobante(&root)?;
    p.epilog()?;
    Ok(c)
}

/// Parses a standalone element kept as [`RawXml`].
pub(crate) fn parse_raw_element(xml: &str) -> Result<RawXml> {
    let limits = Limits::default();
    check_size(xml.len(), &limits)?;
    let mut p = Parser::new(xml, limits.max_depth());
    let root = p.prolog_and_root()?;
    let raw = p.raw(&root, 1)?;
    p.epilog()?;
    Ok(raw)
}

/// An element start seen by the parser.
struct Elem<'i> {
    ns: Option<Cow<'static, str>>,
    start: BytesStart<'i>,
    empty: bool,
    /// Byte offset of `<`.
    offset: usize,
}

impl Elem<'_> {
    fn local(&self) -> &str {
        self.start.local_name().into_inner()
    }

    fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local() == local
    }

    fn qualified(&self) -> String {
        format!("{{{}}}{}", self.ns.as_deref().unwrap_or(""), self.local())
    }
}

/// Attribute values of one element, in document order: `(local name, value)`.
struct Attrs<'a> {
    /// The start tag (re-read only to explain an error).
    tag: &'a str,
    path: &'static str,
    items: Vec<(&'a str, Cow<'a, str>)>,
    schema_location: Option<String>,
}

impl Attrs<'_> {
    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.items.iter().position(|(k, _)| *k == name)?;
        Some(self.items.swap_remove(i).1.into_owned())
    }

    fn req(&mut self, name: &'static str) -> Result<String> {
        self.take(name).ok_or(Error::MissingAttribute {
            element: self.path.into(),
            attribute: name,
        })
    }

    fn dec(&mut self, name: &'static str) -> Result<Option<Decimal>> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => parse_decimal(self.path, name, &v).map(Some),
        }
    }

    fn req_dec(&mut self, name: &'static str) -> Result<Decimal> {
        let v = self.req(name)?;
        parse_decimal(self.path, name, &v)
    }

    /// Fails on any attribute not consumed.
    fn finish(self) -> Result<()> {
        match self.items.into_iter().next() {
            None => Ok(()),
            Some((k, _)) => {
                // a leftover that occurs twice in the tag is a duplicate, not an unknown name
                let name_len = self
                    .tag
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(self.tag.len());
                let copies = BytesStart::from_content(self.tag, name_len)
                    .attributes()
                    .with_checks(false)
                    .filter_map(std::result::Result::ok)
                    .filter(|a| a.key.local_name().into_inner() == k)
                    .count();
                Err(if copies > 1 {
                    Error::DuplicateAttribute {
                        element: self.path.into(),
                        attribute: k.to_string(),
                    }
                } else {
                    Error::UnexpectedAttribute {
                        element: self.path.into(),
                        attribute: k.to_string(),
                    }
                })
            }
        }
    }
}

/// A namespace name as XML defines it: quick-xml hands out the raw declaration text, so literal
/// whitespace is normalized and references are resolved here (kept as written if malformed).
fn ns_value(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect();
    match quick_xml::escape::unescape(&spaced) {
        Ok(v) => v.into_owned(),
        Err(_) => spaced,
    }
}

/// The namespace URI, without allocating for the ones this parser knows.
fn known_ns(raw: &str) -> Cow<'static, str> {
    let normalized;
    let uri = if raw.contains(['&', '\t', '\n', '\r']) {
        normalized = ns_value(raw);
        normalized.as_str()
    } else {
        raw
    };
    match uri {
        NS_CFDI => Cow::Borrowed(NS_CFDI),
        NS_PAGOS20 => Cow::Borrowed(NS_PAGOS20),
        NS_TFD => Cow::Borrowed(NS_TFD),
        NS_XSI => Cow::Borrowed(NS_XSI),
        other => Cow::Owned(other.to_string()),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 26 digits: the canonical form that [`Decimal`]
/// parses exactly and prints back unchanged (negative zero excluded).
fn is_canonical_decimal(t: &str) -> bool {
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int_ok = int == "0"
        || (int.starts_with(|c: char| matches!(c, '1'..='9'))
            && int.bytes().all(|c| c.is_ascii_digit()));
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()));
    let short = int.len() + frac.map_or(0, str::len) <= 26;
    let negative_zero = negative && digits.bytes().all(|c| c == b'0' || c == b'.');
    int_ok && frac_ok && short && !negative_zero
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Parses an `xs:decimal` keeping its scale. Only the canonical lexical form that
/// [`Decimal`]'s `Display` reproduces is accepted (no `+`, no leading zeros, no exponent), so that
/// writing the value back yields the same cadena original.
pub(crate) fn parse_decimal(path: &str, attribute: &'static str, v: &str) -> Result<Decimal> {
    let t = v.trim_matches(is_xml_ws);
    let bad = || Error::InvalidValue {
        element: path.into(),
        attribute,
        value: v.into(),
        expected: "a decimal number without sign, exponent or leading zeros",
    };
    let d = Decimal::from_str(t).map_err(|_| bad())?;
    if is_canonical_decimal(t) {
        return Ok(d);
    }
    let mut buf = StackStr::default();
    use std::fmt::Write;
    if write!(buf, "{d}").is_err() || buf.as_bytes() != t.as_bytes() {
        return Err(bad());
    }
    Ok(d)
}

/// A small fixed buffer for formatting a [`Decimal`] without allocating.
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        Self {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Upper bound of the number of `Concepto` start tags in `rest` (to size the vector once).
fn count_concepto_tags(rest: &str) -> usize {
    let b = rest.as_bytes();
    rest.match_indices("Concepto")
        .filter(|(i, _)| {
            let after = b.get(i + 8).copied().unwrap_or(b'>');
            if !matches!(after, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') {
                return false;
            }
            let mut k = *i;
            while k > 0 {
                let c = b.get(k - 1).copied().unwrap_or(b' ');
                if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':') {
                    k -= 1;
                } else {
                    return c == b'<';
                }
            }
            false
        })
        .count()
}

struct Parser<'i> {
    input: &'i str,
    reader: NsReader<&'i [u8]>,
    max_depth: usize,
}

impl<'i> Parser<'i> {
    fn new(input: &'i str, max_depth: usize) -> Self {
        let mut reader = NsReader::from_str(input);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        Self {
            input,
            reader,
            max_depth,
        }
    }

    fn pos(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn xml_err(&self, e: impl std::fmt::Display) -> Error {
        Error::Xml {
            position: self.reader.error_position(),
            message: e.to_string(),
        }
    }

    fn read(&mut self) -> Result<(Option<Cow<'static, str>>, Event<'i>, usize)> {
        let before = usize::try_from(self.pos()).unwrap_or(usize::MAX);
        let res = self.reader.read_resolved_event();
        let (ns, ev) = match res {
            Ok(x) => x,
            Err(e) => {
                let message = e.to_string();
                return Err(Error::Xml {
                    position: self.reader.error_position(),
                    message,
                });
            }
        };
        let ns = match ns {
            ResolveResult::Bound(Namespace(b)) => Some(known_ns(b)),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(Error::Xml {
                    position: before as u64,
                    message: format!("undeclared namespace prefix {}", p),
                });
            }
        };
        Ok((ns, ev, before))
    }

    /// Skips the XML declaration, comments and PIs, returns the root element.
    fn prolog_and_root(&mut self) -> Result<Elem<'i>> {
        loop {
            let (ns, ev, offset) = self.read()?;
            match ev {
                Event::Decl(d) => {
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.xml_err(e))?;
                        let enc = enc.into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(Error::UnsupportedEncoding(enc));
                        }
                    }
                }
                Event::DocType(_) => return Err(Error::DtdForbidden),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) => {
                    if !t.chars().all(is_xml_ws) {
                        return Err(self.xml_err("text before the root element"));
                    }
                }
                Event::Start(start) => return self.elem(ns, start, false, offset),
                Event::Empty(start) => return self.elem(ns, start, true, offset),
                Event::Eof => return Err(self.xml_err("no root element")),
                _ => return Err(self.xml_err("unexpected content before the root element")),
            }
        }
    }

    fn epilog(&mut self) -> Result<()> {
        loop {
            let (_, ev, _) = self.read()?;
            match ev {
                Event::Eof => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(Error::DtdForbidden),
                Event::Text(t) if t.chars().all(is_xml_ws) => {}
                _ => return Err(self.xml_err("content after the root element")),
            }
        }
    }

    fn elem(
        &self,
        ns: Option<Cow<'static, str>>,
        start: BytesStart<'i>,
        empty: bool,
        offset: usize,
    ) -> Result<Elem<'i>> {
        Ok(Elem {
            ns,
            start,
            empty,
            offset,
        })
    }

    /// Next child element of the current element, or `None` at its end tag.
    fn next_child(&mut self, path: &'static str) -> Result<Option<Elem<'i>>> {
        loop {
            let (ns, ev, offset) = self.read()?;
            match ev {
                Event::Start(s) => return self.elem(ns, s, false, offset).map(Some),
                Event::Empty(s) => return self.elem(ns, s, true, offset).map(Some),
                Event::End(_) => return Ok(None),
                Event::Text(t) => {
                    if !t.chars().all(is_xml_ws) {
                        return Err(Error::UnexpectedText {
                            element: path.into(),
                        });
                    }
                }
                Event::GeneralRef(r) => {
                    return Err(if r.is_char_ref() {
                        Error::UnexpectedText {
                            element: path.into(),
                        }
                    } else {
                        undefined_or_text(&r.into_inner(), path)
                    });
                }
                Event::CData(_) => {
                    return Err(Error::UnexpectedText {
                        element: path.into(),
                    });
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(Error::DtdForbidden),
                Event::Decl(_) => return Err(self.xml_err("misplaced XML declaration")),
                Event::Eof => return Err(self.xml_err("unexpected end of document")),
            }
        }
    }

    /// Skips to the end of an element that must have no child elements.
    fn no_children(&mut self, e: &Elem<'i>, path: &'static str) -> Result<()> {
        if e.empty {
            return Ok(());
        }
        match self.next_child(path)? {
            None => Ok(()),
            Some(c) => Err(unexpected(path, &c)),
        }
    }

    /// Reads the attributes of `e`. `xmlns` declarations are skipped; `xsi:schemaLocation` is
    /// returned separately; other namespaced attributes are an error.
    fn attrs<'e>(&self, e: &'e Elem<'i>, path: &'static str) -> Result<Attrs<'e>> {
        let mut items = Vec::with_capacity(12);
        let mut schema_location = None;
        // Duplicate attributes are caught by `Attrs::finish` (the second copy is never taken),
        // so quick-xml's quadratic duplicate check is skipped here.
        for a in e.start.attributes().with_checks(false) {
            let a = a.map_err(|err| self.xml_err(err))?;
            if a.key.as_namespace_binding().is_some() {
                continue;
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| escape_err(err, path, e.offset))?;
            let (ns, local) = self.reader.resolver().resolve_attribute(a.key);
            match ns {
                ResolveResult::Unbound => items.push((local.into_inner(), value)),
                ResolveResult::Bound(Namespace(n))
                    if n == NS_XSI
                        && local.into_inner() == "schemaLocation"
                        && schema_location.is_none() =>
                {
                    schema_location = Some(value.into_owned());
                }
                _ => {
                    return Err(Error::UnexpectedAttribute {
                        element: path.into(),
                        attribute: a.key.into_inner().to_string(),
                    });
                }
            }
        }
        Ok(Attrs {
            tag: &e.start[..],
            path,
            items,
            schema_location,
        })
    }

    /// Captures `e` (at nesting `level`, the root being 1) and its content verbatim, making it
    /// self-contained with respect to namespaces: in-scope declarations of the prefixes it uses
    /// are copied onto its start tag. Nesting beyond the parser's depth limit is an error.
    fn raw(&mut self, e: &Elem<'i>, level: usize) -> Result<RawXml> {
        let too_deep = |depth: usize, offset: usize, max: usize| {
            if level + depth > max {
                Err(Error::TooDeep {
                    position: offset as u64,
                    limit: max,
                })
            } else {
                Ok(())
            }
        };
        too_deep(0, e.offset, self.max_depth)?;
        let own: Vec<String> = e
            .start
            .attributes()
            .filter_map(|a| a.ok())
            .filter(|a| a.key.as_namespace_binding().is_some())
            .map(|a| a.key.into_inner().to_string())
            .collect();
        let in_scope: Vec<(String, String)> = self
            .reader
            .resolver()
            .bindings()
            .map(|(prefix, Namespace(uri))| {
                let key = match prefix {
                    PrefixDeclaration::Default => "xmlns".to_string(),
                    PrefixDeclaration::Named(p) => format!("xmlns:{p}"),
                };
                (key, ns_value(uri))
            })
            .collect();
        let mut used: Vec<String> = Vec::new();
        self.note_prefixes(&e.start, &mut used)?;
        if !e.empty {
            let mut depth = 0usize;
            loop {
                let (_, ev, offset) = self.read()?;
                match ev {
                    Event::Start(s) => {
                        depth += 1;
                        too_deep(depth, offset, self.max_depth)?;
                        self.note_prefixes(&s, &mut used)?;
                    }
                    Event::Empty(s) => {
                        too_deep(depth + 1, offset, self.max_depth)?;
                        self.note_prefixes(&s, &mut used)?;
                    }
                    Event::End(_) => {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    }
                    Event::GeneralRef(r) => {
                        if r.is_char_ref() {
                            r.resolve_char_ref().map_err(|err| self.xml_err(err))?;
                        } else {
                            let name = r.into_inner();
                            if !matches!(&*name, "amp" | "lt" | "gt" | "quot" | "apos") {
                                return Err(Error::UndefinedEntity(name.into_owned()));
                            }
                        }
                    }
                    Event::DocType(_) => return Err(Error::DtdForbidden),
                    Event::Eof => return Err(self.xml_err("unexpected end of document")),
                    Event::Decl(_) => return Err(self.xml_err("misplaced XML declaration")),
                    Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::PI(_) => {}
                }
            }
        }
        let mut decls = String::new();
        for (key, uri) in &in_scope {
            if own.contains(key) || !used.contains(key) {
                continue;
            }
            decls.push(' ');
            decls.push_str(key);
            decls.push_str("=\"");
            crate::write::escape_attr_into(&mut decls, uri);
            decls.push('"');
        }
        let end = usize::try_from(self.pos()).unwrap_or(usize::MAX);
        let text = self
            .input
            .get(e.offset..end)
            .ok_or_else(|| self.xml_err("internal offset error"))?;
        let split = 1 + e.start.name().into_inner().len();
        let (head, tail) = (
            text.get(..split).unwrap_or(text),
            text.get(split..).unwrap_or(""),
        );
        let mut xml = String::with_capacity(text.len() + decls.len());
        xml.push_str(head);
        xml.push_str(&decls);
        xml.push_str(tail);
        Ok(RawXml {
            namespace: e.ns.clone().map(Cow::into_owned).unwrap_or_default(),
            local_name: e.local().to_string(),
            xml,
        })
    }

    /// Validates the attributes of a raw element and records the namespace prefixes it uses
    /// (as `xmlns` / `xmlns:p` keys).
    fn note_prefixes(&self, s: &BytesStart<'_>, used: &mut Vec<String>) -> Result<()> {
        let mut note = |prefix: Option<&str>| {
            let key = match prefix {
                None => "xmlns".to_string(),
                Some(p) => format!("xmlns:{p}"),
            };
            if !used.contains(&key) {
                used.push(key);
            }
        };
        note(s.name().prefix().map(|p| p.into_inner()));
        for a in s.attributes() {
            let a = a.map_err(|err| self.xml_err(err))?;
            if a.key.as_namespace_binding().is_some() {
                continue;
            }
            if let Some(p) = a.key.prefix()
                && p.into_inner() != "xml"
            {
                if let (ResolveResult::Unknown(_), _) =
                    self.reader.resolver().resolve_attribute(a.key)
                {
                    return Err(
                        self.xml_err(format!("undeclared namespace prefix {}", p.into_inner()))
                    );
                }
                note(Some(p.into_inner()));
            }
            a.normalized_value(XmlVersion::Implicit1_0).map_err(|err| {
                let position = usize::try_from(self.pos()).unwrap_or(usize::MAX);
                escape_err(err, "raw element", position)
            })?;
        }
        Ok(())
    }

    // ----- CFDI elements -----

    fn comprobante(&mut self, e: &Elem<'i>) -> Result<Comprobante> {
        const P: &str = "Comprobante";
        let mut a = self.attrs(e, P)?;
        let mut c = Comprobante {
            version: a.req("Version")?,
            serie: a.take("Serie"),
            folio: a.take("Folio"),
            fecha: a.req("Fecha")?,
            // Sello, NoCertificado and Certificado are required by the schema but absent from
            // documents that are not sealed yet; they read as empty.
            sello: a.take("Sello").unwrap_or_default(),
            forma_pago: a.take("FormaPago"),
            no_certificado: a.take("NoCertificado").unwrap_or_default(),
            certificado: a.take("Certificado").unwrap_or_default(),
            condiciones_de_pago: a.take("CondicionesDePago"),
            sub_total: a.req_dec("SubTotal")?,
            descuento: a.dec("Descuento")?,
            moneda: a.req("Moneda")?,
            tipo_cambio: a.dec("TipoCambio")?,
            total: a.req_dec("Total")?,
            tipo_de_comprobante: a.req("TipoDeComprobante")?,
            exportacion: a.req("Exportacion")?,
            metodo_pago: a.take("MetodoPago"),
            lugar_expedicion: a.req("LugarExpedicion")?,
            confirmacion: a.take("Confirmacion"),
            ..Comprobante::default()
        };
        if let Some(sl) = a.schema_location.take() {
            c.other_schema_locations = schema_location_pairs(&sl)
                .into_iter()
                .filter(|(ns, _)| ns != NS_CFDI && ns != NS_PAGOS20)
                .collect();
        }
        a.finish()?;
        if c.version != "4.0" {
            return Err(Error::InvalidValue {
                element: P.into(),
                attribute: "Version",
                value: c.version,
                expected: "4.0",
            });
        }
        let mut emisor = None;
        let mut receptor = None;
        let mut conceptos = None;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if ch.ns.as_deref() != Some(NS_CFDI) {
                    return Err(unexpected(P, &ch));
                }
                match ch.local() {
                    "InformacionGlobal" if c.informacion_global.is_none() => {
                        c.informacion_global = Some(self.informacion_global(&ch)?)
                    }
                    "CfdiRelacionados" => c.cfdi_relacionados.push(self.relacionados(&ch)?),
                    "Emisor" if emisor.is_none() => emisor = Some(self.emisor(&ch)?),
                    "Receptor" if receptor.is_none() => receptor = Some(self.receptor(&ch)?),
                    "Conceptos" if conceptos.is_none() => conceptos = Some(self.conceptos(&ch)?),
                    "Impuestos" if c.impuestos.is_none() => {
                        c.impuestos = Some(self.impuestos(&ch)?)
                    }
                    "Complemento" if c.complemento.is_none() => {
                        c.complemento = Some(self.complemento(&ch)?)
                    }
                    "Addenda" if c.addenda.is_none() => c.addenda = Some(self.addenda(&ch)?),
                    _ => return Err(unexpected(P, &ch)),
                }
            }
        }
        c.emisor = emisor.ok_or(Error::MissingElement {
            parent: P.into(),
            element: "Emisor",
        })?;
        c.receptor = receptor.ok_or(Error::MissingElement {
            parent: P.into(),
            element: "Receptor",
        })?;
        c.conceptos = conceptos.ok_or(Error::MissingElement {
            parent: P.into(),
            element: "Conceptos",
        })?;
        Ok(c)
    }

    fn informacion_global(&mut self, e: &Elem<'i>) -> Result<InformacionGlobal> {
        const P: &str = "Comprobante/InformacionGlobal";
        let mut a = self.attrs(e, P)?;
        let r = InformacionGlobal {
            periodicidad: a.req("Periodicidad")?,
            meses: a.req("Meses")?,
            anio: a.req("Año")?,
        };
        a.finish()?;
        self.no_children(e, P)?;
        Ok(r)
    }

    fn relacionados(&mut self, e: &Elem<'i>) -> Result<CfdiRelacionados> {
        const P: &str = "Comprobante/CfdiRelacionados";
        const PC: &str = "Comprobante/CfdiRelacionados/CfdiRelacionado";
        let mut a = self.attrs(e, P)?;
        let mut r = CfdiRelacionados {
            tipo_relacion: a.req("TipoRelacion")?,
            uuids: Vec::new(),
        };
        a.finish()?;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if !ch.is(NS_CFDI, "CfdiRelacionado") {
                    return Err(unexpected(P, &ch));
                }
                let mut a = self.attrs(&ch, PC)?;
                r.uuids.push(a.req("UUID")?);
                a.finish()?;
                self.no_children(&ch, PC)?;
            }
        }
        Ok(r)
    }

    fn emisor(&mut self, e: &Elem<'i>) -> Result<Emisor> {
        const P: &str = "Comprobante/Emisor";
        let mut a = self.attrs(e, P)?;
        let r = Emisor {
            rfc: a.req("Rfc")?,
            nombre: a.req("Nombre")?,
            regimen_fiscal: a.req("RegimenFiscal")?,
            fac_atr_adquirente: a.take("FacAtrAdquirente"),
        };
        a.finish()?;
        self.no_children(e, P)?;
        Ok(r)
    }

    fn receptor(&mut self, e: &Elem<'i>) -> Result<Receptor> {
        const P: &str = "Comprobante/Receptor";
        let mut a = self.attrs(e, P)?;
        let r = Receptor {
            rfc: a.req("Rfc")?,
            nombre: a.req("Nombre")?,
            domicilio_fiscal_receptor: a.req("DomicilioFiscalReceptor")?,
            residencia_fiscal: a.take("ResidenciaFiscal"),
            num_reg_id_trib: a.take("NumRegIdTrib"),
            regimen_fiscal_receptor: a.req("RegimenFiscalReceptor")?,
            uso_cfdi: a.req("UsoCFDI")?,
        };
        a.finish()?;
        self.no_children(e, P)?;
        Ok(r)
    }

    fn conceptos(&mut self, e: &Elem<'i>) -> Result<Vec<Concepto>> {
        const P: &str = "Comprobante/Conceptos";
        let pos = usize::try_from(self.pos()).unwrap_or(usize::MAX);
        let rest = self.input.get(pos..).unwrap_or("");
        let end = rest.find("Conceptos>").unwrap_or(rest.len());
        let mut v = Vec::with_capacity(count_concepto_tags(rest.get(..end).unwrap_or(rest)));
        self.attrs(e, P)?.finish()?;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if !ch.is(NS_CFDI, "Concepto") {
                    return Err(unexpected(P, &ch));
                }
                v.push(self.concepto(&ch)?);
            }
        }
        Ok(v)
    }

    fn concepto(&mut self, e: &Elem<'i>) -> Result<Concepto> {
        const P: &str = "Comprobante/Conceptos/Concepto";
        let mut a = self.attrs(e, P)?;
        let mut c = Concepto {
            clave_prod_serv: a.req("ClaveProdServ")?,
            no_identificacion: a.take("NoIdentificacion"),
            cantidad: a.req_dec("Cantidad")?,
            clave_unidad: a.req("ClaveUnidad")?,
            unidad: a.take("Unidad"),
            descripcion: a.req("Descripcion")?,
            valor_unitario: a.req_dec("ValorUnitario")?,
            importe: a.req_dec("Importe")?,
            descuento: a.dec("Descuento")?,
            objeto_imp: a.req("ObjetoImp")?,
            ..Concepto::default()
        };
        a.finish()?;
        if e.empty {
            return Ok(c);
        }
        while let Some(ch) = self.next_child(P)? {
            if ch.ns.as_deref() != Some(NS_CFDI) {
                return Err(unexpected(P, &ch));
            }
            match ch.local() {
                "Impuestos" if c.impuestos.is_none() => {
                    c.impuestos = Some(self.concepto_impuestos(&ch)?)
                }
                "ACuentaTerceros" if c.a_cuenta_terceros.is_none() => {
                    const PA: &str = "Comprobante/Conceptos/Concepto/ACuentaTerceros";
                    let mut a = self.attrs(&ch, PA)?;
                    c.a_cuenta_terceros = Some(ACuentaTerceros {
                        rfc: a.req("RfcACuentaTerceros")?,
                        nombre: a.req("NombreACuentaTerceros")?,
                        regimen_fiscal: a.req("RegimenFiscalACuentaTerceros")?,
                        domicilio_fiscal: a.req("DomicilioFiscalACuentaTerceros")?,
                    });
                    a.finish()?;
                    self.no_children(&ch, PA)?;
                }
                "InformacionAduanera" => {
                    const PA: &str = "Comprobante/Conceptos/Concepto/InformacionAduanera";
                    let mut a = self.attrs(&ch, PA)?;
                    c.informacion_aduanera.push(a.req("NumeroPedimento")?);
                    a.finish()?;
                    self.no_children(&ch, PA)?;
                }
                "CuentaPredial" => {
                    const PA: &str = "Comprobante/Conceptos/Concepto/CuentaPredial";
                    let mut a = self.attrs(&ch, PA)?;
                    c.cuenta_predial.push(a.req("Numero")?);
                    a.finish()?;
                    self.no_children(&ch, PA)?;
                }
                "ComplementoConcepto" if c.complemento_concepto.is_none() => {
                    const PA: &str = "Comprobante/Conceptos/Concepto/ComplementoConcepto";
                    self.attrs(&ch, PA)?.finish()?;
                    let mut items = Vec::new();
                    if !ch.empty {
                        while let Some(x) = self.next_child(PA)? {
                            items.push(self.raw(&x, 5)?);
                        }
                    }
                    c.complemento_concepto = Some(items);
                }
                "Parte" => c.partes.push(self.parte(&ch)?),
                _ => return Err(unexpected(P, &ch)),
            }
        }
        Ok(c)
    }

    fn parte(&mut self, e: &Elem<'i>) -> Result<Parte> {
        const P: &str = "Comprobante/Conceptos/Concepto/Parte";
        const PA: &str = "Comprobante/Conceptos/Concepto/Parte/InformacionAduanera";
        let mut a = self.attrs(e, P)?;
        let mut r = Parte {
            clave_prod_serv: a.req("ClaveProdServ")?,
            no_identificacion: a.take("NoIdentificacion"),
            cantidad: a.req_dec("Cantidad")?,
            unidad: a.take("Unidad"),
            descripcion: a.req("Descripcion")?,
            valor_unitario: a.dec("ValorUnitario")?,
            importe: a.dec("Importe")?,
            informacion_aduanera: Vec::new(),
        };
        a.finish()?;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if !ch.is(NS_CFDI, "InformacionAduanera") {
                    return Err(unexpected(P, &ch));
                }
                let mut a = self.attrs(&ch, PA)?;
                r.informacion_aduanera.push(a.req("NumeroPedimento")?);
                a.finish()?;
                self.no_children(&ch, PA)?;
            }
        }
        Ok(r)
    }

    fn concepto_impuestos(&mut self, e: &Elem<'i>) -> Result<ConceptoImpuestos> {
        const P: &str = "Comprobante/Conceptos/Concepto/Impuestos";
        const PT: &str = "Comprobante/Conceptos/Concepto/Impuestos/Traslados";
        const PR: &str = "Comprobante/Conceptos/Concepto/Impuestos/Retenciones";
        const PTT: &str = "Comprobante/Conceptos/Concepto/Impuestos/Traslados/Traslado";
        const PRR: &str = "Comprobante/Conceptos/Concepto/Impuestos/Retenciones/Retencion";
        self.attrs(e, P)?.finish()?;
        let mut r = ConceptoImpuestos::default();
        if e.empty {
            return Ok(r);
        }
        let (mut seen_t, mut seen_r) = (false, false);
        while let Some(ch) = self.next_child(P)? {
            if ch.is(NS_CFDI, "Traslados") && !seen_t {
                seen_t = true;
                r.traslados = self.list(&ch, (PT, NS_CFDI, "Traslado", PTT), Self::traslado)?;
            } else if ch.is(NS_CFDI, "Retenciones") && !seen_r {
                seen_r = true;
                r.retenciones = self.list(&ch, (PR, NS_CFDI, "Retencion", PRR), |p, t, path| {
                    p.leaf(t, path, |a| {
                        Ok(Retencion {
                            base: a.req_dec("Base")?,
                            impuesto: a.req("Impuesto")?,
                            tipo_factor: a.req("TipoFactor")?,
                            tasa_o_cuota: a.req_dec("TasaOCuota")?,
                            importe: a.req_dec("Importe")?,
                        })
                    })
                })?;
            } else {
                return Err(unexpected(P, &ch));
            }
        }
        Ok(r)
    }

    fn traslado(&mut self, e: &Elem<'i>, path: &'static str) -> Result<Traslado> {
        self.leaf(e, path, |a| {
            Ok(Traslado {
                base: a.req_dec("Base")?,
                impuesto: a.req("Impuesto")?,
                tipo_factor: a.req("TipoFactor")?,
                tasa_o_cuota: a.dec("TasaOCuota")?,
                importe: a.dec("Importe")?,
            })
        })
    }

    /// Reads an element without children: `read` takes its attributes, any left over is an error.
    fn leaf<T>(
        &mut self,
        e: &Elem<'i>,
        path: &'static str,
        read: impl FnOnce(&mut Attrs<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut a = self.attrs(e, path)?;
        let r = read(&mut a)?;
        a.finish()?;
        self.no_children(e, path)?;
        Ok(r)
    }

    /// Reads a list wrapper (`Traslados`, `Retenciones`, `TrasladosP`, ...): no attributes, only
    /// `item` children in namespace `ns`, each read by `read` at `item_path`.
    /// `spec` = `(path, ns, item, item_path)`.
    fn list<T>(
        &mut self,
        wrapper: &Elem<'i>,
        spec: (&'static str, &str, &str, &'static str),
        mut read: impl FnMut(&mut Self, &Elem<'i>, &'static str) -> Result<T>,
    ) -> Result<Vec<T>> {
        let (path, ns, item, item_path) = spec;
        self.attrs(wrapper, path)?.finish()?;
        let mut v = Vec::new();
        if wrapper.empty {
            return Ok(v);
        }
        while let Some(t) = self.next_child(path)? {
            if !t.is(ns, item) {
                return Err(unexpected(path, &t));
            }
            v.push(read(self, &t, item_path)?);
        }
        Ok(v)
    }

    fn impuestos(&mut self, e: &Elem<'i>) -> Result<Impuestos> {
        const P: &str = "Comprobante/Impuestos";
        const PT: &str = "Comprobante/Impuestos/Traslados";
        const PR: &str = "Comprobante/Impuestos/Retenciones";
        const PTT: &str = "Comprobante/Impuestos/Traslados/Traslado";
        const PRR: &str = "Comprobante/Impuestos/Retenciones/Retencion";
        let mut a = self.attrs(e, P)?;
        let mut r = Impuestos {
            total_impuestos_retenidos: a.dec("TotalImpuestosRetenidos")?,
            total_impuestos_trasladados: a.dec("TotalImpuestosTrasladados")?,
            ..Impuestos::default()
        };
        a.finish()?;
        if e.empty {
            return Ok(r);
        }
        let (mut seen_t, mut seen_r) = (false, false);
        while let Some(ch) = self.next_child(P)? {
            if ch.is(NS_CFDI, "Retenciones") && !seen_r && !seen_t {
                seen_r = true;
                r.retenciones = self.list(&ch, (PR, NS_CFDI, "Retencion", PRR), |p, t, path| {
                    p.leaf(t, path, |a| {
                        Ok(RetencionTotal {
                            impuesto: a.req("Impuesto")?,
                            importe: a.req_dec("Importe")?,
                        })
                    })
                })?;
            } else if ch.is(NS_CFDI, "Traslados") && !seen_t {
                seen_t = true;
                r.traslados = self.list(&ch, (PT, NS_CFDI, "Traslado", PTT), Self::traslado)?;
            } else {
                return Err(unexpected(P, &ch));
            }
        }
        Ok(r)
    }

    fn complemento(&mut self, e: &Elem<'i>) -> Result<Vec<Complemento>> {
        const P: &str = "Comprobante/Complemento";
        self.attrs(e, P)?.finish()?;
        let mut v = Vec::new();
        if e.empty {
            return Ok(v);
        }
        while let Some(ch) = self.next_child(P)? {
            if ch.is(NS_TFD, "TimbreFiscalDigital") {
                v.push(Complemento::Timbre(Box::new(self.timbre(&ch)?)));
            } else if ch.is(NS_PAGOS20, "Pagos") {
                v.push(Complemento::Pagos(Box::new(self.pagos(&ch)?)));
            } else {
                v.push(Complemento::Other(self.raw(&ch, 3)?));
            }
        }
        Ok(v)
    }

    fn addenda(&mut self, e: &Elem<'i>) -> Result<Vec<RawXml>> {
        const P: &str = "Comprobante/Addenda";
        self.attrs(e, P)?.finish()?;
        let mut v = Vec::new();
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                v.push(self.raw(&ch, 3)?);
            }
        }
        Ok(v)
    }

    fn timbre(&mut self, e: &Elem<'i>) -> Result<TimbreFiscalDigital> {
        const P: &str = "Comprobante/Complemento/TimbreFiscalDigital";
        let mut a = self.attrs(e, P)?;
        let r = TimbreFiscalDigital {
            version: a.req("Version")?,
            uuid: a.req("UUID")?,
            fecha_timbrado: a.req("FechaTimbrado")?,
            rfc_prov_certif: a.req("RfcProvCertif")?,
            leyenda: a.take("Leyenda"),
            sello_cfd: a.req("SelloCFD")?,
            no_certificado_sat: a.req("NoCertificadoSAT")?,
            sello_sat: a.req("SelloSAT")?,
            schema_location: a.schema_location.take(),
        };
        a.finish()?;
        self.no_children(e, P)?;
        Ok(r)
    }

    fn pagos(&mut self, e: &Elem<'i>) -> Result<Pagos> {
        const P: &str = "Pagos";
        const PT: &str = "Pagos/Totales";
        let mut a = self.attrs(e, P)?;
        let mut r = Pagos {
            version: a.req("Version")?,
            ..Pagos::default()
        };
        a.finish()?;
        let mut totales = None;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if ch.is(NS_PAGOS20, "Totales") && totales.is_none() && r.pagos.is_empty() {
                    let mut a = self.attrs(&ch, PT)?;
                    totales = Some(PagosTotales {
                        total_retenciones_iva: a.dec("TotalRetencionesIVA")?,
                        total_retenciones_isr: a.dec("TotalRetencionesISR")?,
                        total_retenciones_ieps: a.dec("TotalRetencionesIEPS")?,
                        total_traslados_base_iva16: a.dec("TotalTrasladosBaseIVA16")?,
                        total_traslados_impuesto_iva16: a.dec("TotalTrasladosImpuestoIVA16")?,
                        total_traslados_base_iva8: a.dec("TotalTrasladosBaseIVA8")?,
                        total_traslados_impuesto_iva8: a.dec("TotalTrasladosImpuestoIVA8")?,
                        total_traslados_base_iva0: a.dec("TotalTrasladosBaseIVA0")?,
                        total_traslados_impuesto_iva0: a.dec("TotalTrasladosImpuestoIVA0")?,
                        total_traslados_base_iva_exento: a.dec("TotalTrasladosBaseIVAExento")?,
                        monto_total_pagos: a.req_dec("MontoTotalPagos")?,
                    });
                    a.finish()?;
                    self.no_children(&ch, PT)?;
                } else if ch.is(NS_PAGOS20, "Pago") {
                    r.pagos.push(self.pago(&ch)?);
                } else {
                    return Err(unexpected(P, &ch));
                }
            }
        }
        r.totales = totales.ok_or(Error::MissingElement {
            parent: P.into(),
            element: "Totales",
        })?;
        Ok(r)
    }

    fn pago(&mut self, e: &Elem<'i>) -> Result<Pago> {
        const P: &str = "Pagos/Pago";
        let mut a = self.attrs(e, P)?;
        let mut r = Pago {
            fecha_pago: a.req("FechaPago")?,
            forma_de_pago_p: a.req("FormaDePagoP")?,
            moneda_p: a.req("MonedaP")?,
            tipo_cambio_p: a.dec("TipoCambioP")?,
            monto: a.req_dec("Monto")?,
            num_operacion: a.take("NumOperacion"),
            rfc_emisor_cta_ord: a.take("RfcEmisorCtaOrd"),
            nom_banco_ord_ext: a.take("NomBancoOrdExt"),
            cta_ordenante: a.take("CtaOrdenante"),
            rfc_emisor_cta_ben: a.take("RfcEmisorCtaBen"),
            cta_beneficiario: a.take("CtaBeneficiario"),
            tipo_cad_pago: a.take("TipoCadPago"),
            cert_pago: a.take("CertPago"),
            cad_pago: a.take("CadPago"),
            sello_pago: a.take("SelloPago"),
            ..Pago::default()
        };
        a.finish()?;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if ch.is(NS_PAGOS20, "DoctoRelacionado") && r.impuestos_p.is_none() {
                    r.doctos_relacionados.push(self.docto(&ch)?);
                } else if ch.is(NS_PAGOS20, "ImpuestosP") && r.impuestos_p.is_none() {
                    r.impuestos_p = Some(self.impuestos_p(&ch)?);
                } else {
                    return Err(unexpected(P, &ch));
                }
            }
        }
        Ok(r)
    }

    fn docto(&mut self, e: &Elem<'i>) -> Result<DoctoRelacionado> {
        const P: &str = "Pagos/Pago/DoctoRelacionado";
        const PI: &str = "Pagos/Pago/DoctoRelacionado/ImpuestosDR";
        let mut a = self.attrs(e, P)?;
        let mut r = DoctoRelacionado {
            id_documento: a.req("IdDocumento")?,
            serie: a.take("Serie"),
            folio: a.take("Folio"),
            moneda_dr: a.req("MonedaDR")?,
            equivalencia_dr: a.dec("EquivalenciaDR")?,
            num_parcialidad: a.req("NumParcialidad")?,
            imp_saldo_ant: a.req_dec("ImpSaldoAnt")?,
            imp_pagado: a.req_dec("ImpPagado")?,
            imp_saldo_insoluto: a.req_dec("ImpSaldoInsoluto")?,
            objeto_imp_dr: a.req("ObjetoImpDR")?,
            impuestos_dr: None,
        };
        a.finish()?;
        if !e.empty {
            while let Some(ch) = self.next_child(P)? {
                if !ch.is(NS_PAGOS20, "ImpuestosDR") || r.impuestos_dr.is_some() {
                    return Err(unexpected(P, &ch));
                }
                self.attrs(&ch, PI)?.finish()?;
                let mut imp = ImpuestosDr::default();
                if !ch.empty {
                    let (mut seen_r, mut seen_t) = (false, false);
                    while let Some(g) = self.next_child(PI)? {
                        if g.is(NS_PAGOS20, "RetencionesDR") && !seen_r && !seen_t {
                            seen_r = true;
                            imp.retenciones_dr = self.impuestos_dr_list(&g, "RetencionDR", true)?;
                        } else if g.is(NS_PAGOS20, "TrasladosDR") && !seen_t {
                            seen_t = true;
                            imp.traslados_dr = self.impuestos_dr_list(&g, "TrasladoDR", false)?;
                        } else {
                            return Err(unexpected(PI, &g));
                        }
                    }
                }
                r.impuestos_dr = Some(imp);
            }
        }
        Ok(r)
    }

    fn impuestos_dr_list(
        &mut self,
        e: &Elem<'i>,
        child: &str,
        retencion: bool,
    ) -> Result<Vec<ImpuestoDr>> {
        const PG: &str = "Pagos/Pago/DoctoRelacionado/ImpuestosDR/*";
        const PI: &str = "Pagos/Pago/DoctoRelacionado/ImpuestosDR/*/*";
        self.list(e, (PG, NS_PAGOS20, child, PI), |p, ch, path| {
            p.leaf(ch, path, |a| {
                let base_dr = a.req_dec("BaseDR")?;
                let impuesto_dr = a.req("ImpuestoDR")?;
                let tipo_factor_dr = a.req("TipoFactorDR")?;
                let (tasa_o_cuota_dr, importe_dr) = if retencion {
                    (
                        Some(a.req_dec("TasaOCuotaDR")?),
                        Some(a.req_dec("ImporteDR")?),
                    )
                } else {
                    (a.dec("TasaOCuotaDR")?, a.dec("ImporteDR")?)
                };
                Ok(ImpuestoDr {
                    base_dr,
                    impuesto_dr,
                    tipo_factor_dr,
                    tasa_o_cuota_dr,
                    importe_dr,
                })
            })
        })
    }

    fn impuestos_p(&mut self, e: &Elem<'i>) -> Result<ImpuestosP> {
        const P: &str = "Pagos/Pago/ImpuestosP";
        const PR: &str = "Pagos/Pago/ImpuestosP/RetencionesP";
        const PT: &str = "Pagos/Pago/ImpuestosP/TrasladosP";
        const PRR: &str = "Pagos/Pago/ImpuestosP/RetencionesP/RetencionP";
        const PTT: &str = "Pagos/Pago/ImpuestosP/TrasladosP/TrasladoP";
        self.attrs(e, P)?.finish()?;
        let mut r = ImpuestosP::default();
        if e.empty {
            return Ok(r);
        }
        let (mut seen_r, mut seen_t) = (false, false);
        while let Some(ch) = self.next_child(P)? {
            if ch.is(NS_PAGOS20, "RetencionesP") && !seen_r && !seen_t {
                seen_r = true;
                let spec = (PR, NS_PAGOS20, "RetencionP", PRR);
                r.retenciones_p = self.list(&ch, spec, |p, t, path| {
                    p.leaf(t, path, |a| {
                        Ok(RetencionP {
                            impuesto_p: a.req("ImpuestoP")?,
                            importe_p: a.req_dec("ImporteP")?,
                        })
                    })
                })?;
            } else if ch.is(NS_PAGOS20, "TrasladosP") && !seen_t {
                seen_t = true;
                let spec = (PT, NS_PAGOS20, "TrasladoP", PTT);
                r.traslados_p = self.list(&ch, spec, |p, t, path| {
                    p.leaf(t, path, |a| {
                        Ok(TrasladoP {
                            base_p: a.req_dec("BaseP")?,
                            impuesto_p: a.req("ImpuestoP")?,
                            tipo_factor_p: a.req("TipoFactorP")?,
                            tasa_o_cuota_p: a.dec("TasaOCuotaP")?,
                            importe_p: a.dec("ImporteP")?,
                        })
                    })
                })?;
            } else {
                return Err(unexpected(P, &ch));
            }
        }
        Ok(r)
    }
}

fn unexpected(parent: &str, e: &Elem<'_>) -> Error {
    Error::UnexpectedElement {
        parent: parent.into(),
        element: e.qualified(),
    }
}

fn undefined_or_text(name: &str, path: &str) -> Error {
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        Error::UnexpectedText {
            element: path.into(),
        }
    } else {
        Error::UndefinedEntity(name.into())
    }
}

fn escape_err(e: quick_xml::Error, path: &str, position: usize) -> Error {
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            Error::UndefinedEntity(name)
        }
        other => Error::Xml {
            position: position as u64,
            message: format!("in {path}: {other}"),
        },
    }
}

/// Splits an `xsi:schemaLocation` value into `(namespace, location)` pairs.
fn schema_location_pairs(s: &str) -> Vec<(String, String)> {
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    parts
        .chunks(2)
        .filter_map(|c| match c {
            [a, b] => Some(((*a).to_string(), (*b).to_string())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_scale_and_reject_non_canonical_forms() {
        for ok in [
            "0",
            "0.00",
            "1500000",
            "100.50",
            "0.000001",
            "-3.5",
            "12345678901234567890.123456",
        ] {
            let d = parse_decimal("X", "A", ok).expect(ok);
            assert_eq!(d.to_string(), ok);
        }
        assert_eq!(
            parse_decimal("X", "A", " 1.50 ").expect("ws").to_string(),
            "1.50"
        );
        for bad in [
            "", "+1", "01.5", ".5", "5.", "1e3", "1_000", "1,5", "abc", "--1", "0x10",
        ] {
            assert!(parse_decimal("X", "A", bad).is_err(), "{bad:?} accepted");
        }
    }
}
