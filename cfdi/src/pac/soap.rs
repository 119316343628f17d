//! SOAP 1.1 helpers on quick-xml: an envelope writer and a small namespace-checked reader.
//!
//! The reader turns a response into a tree of [`Node`]s (namespace URI, local name, text, children).
//! DOCTYPE declarations are rejected (no entity expansion), only the five predefined entities and
//! character references are accepted, and nesting and size are bounded, so a hostile or broken server
//! cannot make the client allocate without limit.

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::{NsReader, Writer};

/// Namespace of SOAP 1.1 envelopes.
pub(crate) const NS_SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Largest response body parsed (32 MiB; a stamped CFDI with thousands of conceptos fits).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;

/// An element of a parsed response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    /// Namespace URI (empty when unqualified).
    pub(crate) ns: String,
    /// Local name.
    pub(crate) local: String,
    /// Concatenated, unescaped text content (CDATA included) of this element itself.
    pub(crate) text: String,
    /// Child elements in document order.
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// First child with this namespace and local name.
    pub(crate) fn child(&self, ns: &str, local: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.ns == ns && c.local == local)
    }

    /// Children with this namespace and local name.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.local == local)
    }

    /// Trimmed text of the first child with this name, `None` if absent or empty.
    pub(crate) fn child_text(&self, ns: &str, local: &str) -> Option<String> {
        self.child(ns, local)
            .map(|c| c.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

/// Why a SOAP response could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SoapError {
    /// Not well-formed, forbidden DTD, too large or too deep, or not a SOAP 1.1 envelope.
    Malformed(String),
    /// A `soap:Fault`.
    Fault {
        /// `faultcode`.
        code: String,
        /// `faultstring`.
        message: String,
    },
}

impl std::fmt::Display for SoapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed SOAP response: {m}"),
            Self::Fault { code, message } => write!(f, "SOAP fault {code}: {message}"),
        }
    }
}

/// Parses a whole XML document into its root [`Node`].
pub(crate) fn parse_document(body: &[u8]) -> Result<Node, SoapError> {
    if body.len() > MAX_BODY {
        return Err(SoapError::Malformed(format!(
            "response of {} bytes exceeds the {MAX_BODY}-byte limit",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| SoapError::Malformed(format!("response is not UTF-8: {e}")))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let (ns, ev) = reader
            .read_resolved_event()
            .map_err(|e| SoapError::Malformed(e.to_string()))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(SoapError::Malformed(
                    "content after the root element".into(),
                ));
            }
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::Malformed("elements nested too deeply".into()));
                }
                stack.push(new_node(&ns, &s)?);
            }
            Event::Empty(s) => {
                let node = new_node(&ns, &s)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| SoapError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::CData(c) => {
                let content = c.into_inner();
                push_text(&mut stack, &content)?;
            }
            Event::GeneralRef(r) => {
                let resolved: Cow<'_, str> = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(ch)) => Cow::Owned(ch.to_string()),
                        _ => {
                            return Err(SoapError::Malformed("invalid character reference".into()));
                        }
                    }
                } else {
                    let name = r.into_inner();
                    match resolve_predefined_entity(&name) {
                        Some(v) => Cow::Borrowed(v),
                        None => {
                            return Err(SoapError::Malformed(format!("undefined entity &{name};")));
                        }
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(SoapError::Malformed(
                    "DOCTYPE declarations are not accepted".into(),
                ));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(SoapError::Malformed("unexpected end of document".into()));
    }
    root.ok_or_else(|| SoapError::Malformed("no root element".into()))
}

fn new_node(ns: &ResolveResult<'_>, s: &BytesStart<'_>) -> Result<Node, SoapError> {
    let ns = match ns {
        ResolveResult::Bound(Namespace(b)) => (*b).to_owned(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => {
            return Err(SoapError::Malformed(format!(
                "undeclared namespace prefix {p}"
            )));
        }
    };
    Ok(Node {
        ns,
        local: s.local_name().into_inner().to_owned(),
        text: String::new(),
        children: Vec::new(),
    })
}

fn push_text(stack: &mut [Node], content: &str) -> Result<(), SoapError> {
    match stack.last_mut() {
        Some(n) => {
            n.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(SoapError::Malformed("text outside the root element".into())),
    }
}

/// Parses a SOAP 1.1 response and returns its `Body`; a `Fault` becomes [`SoapError::Fault`].
pub(crate) fn parse_envelope(body: &[u8]) -> Result<Node, SoapError> {
    let root = parse_document(body)?;
    if root.ns != NS_SOAP_ENV || root.local != "Envelope" {
        return Err(SoapError::Malformed(format!(
            "root element is {{{}}}{}, expected a SOAP 1.1 Envelope",
            root.ns, root.local
        )));
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.ns == NS_SOAP_ENV && c.local == "Body")
        .ok_or_else(|| SoapError::Malformed("the envelope has no Body".into()))?;
    if let Some(fault) = body.child(NS_SOAP_ENV, "Fault") {
        // faultcode/faultstring are unqualified in SOAP 1.1.
        return Err(SoapError::Fault {
            code: fault.child_text("", "faultcode").unwrap_or_default(),
            message: fault.child_text("", "faultstring").unwrap_or_default(),
        });
    }
    Ok(body)
}

/// Writes a SOAP 1.1 request envelope with quick-xml. Text and attribute values are escaped.
pub(crate) struct EnvelopeWriter {
    w: Writer<Vec<u8>>,
}

impl EnvelopeWriter {
    /// Starts `<?xml?><soapenv:Envelope xmlns:soapenv=... {extra namespaces}><soapenv:Header/><soapenv:Body>`.
    pub(crate) fn new(namespaces: &[(&str, &str)]) -> Self {
        let mut w = Writer::new(Vec::with_capacity(4096));
        let mut env = BytesStart::new("soapenv:Envelope");
        env.push_attribute(("xmlns:soapenv", NS_SOAP_ENV));
        for (prefix, uri) in namespaces {
            env.push_attribute((format!("xmlns:{prefix}").as_str(), *uri));
        }
        // Writing into a Vec cannot fail.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let _ = w.write_event(Event::Start(env));
        let _ = w.write_event(Event::Empty(BytesStart::new("soapenv:Header")));
        let _ = w.write_event(Event::Start(BytesStart::new("soapenv:Body")));
        Self { w }
    }

    /// Opens an element with attributes.
    pub(crate) fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        let _ = self.w.write_event(Event::Start(s));
        self
    }

    /// Writes an empty element with attributes.
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        let _ = self.w.write_event(Event::Empty(s));
        self
    }

    /// Closes an element.
    pub(crate) fn end(&mut self, name: &str) -> &mut Self {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
        self
    }

    /// Writes `<name>text</name>` with `text` escaped.
    pub(crate) fn text_element(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = self.w.write_event(Event::Start(BytesStart::new(name)));
        let _ = self.w.write_event(Event::Text(BytesText::new(text)));
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
        self
    }

    /// Closes Body and Envelope and returns the bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let _ = self
            .w
            .write_event(Event::End(BytesEnd::new("soapenv:Body")));
        let _ = self
            .w
            .write_event(Event::End(BytesEnd::new("soapenv:Envelope")));
        self.w.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_text_with_entities_and_cdata() {
        let mut w = EnvelopeWriter::new(&[("t", "urn:t")]);
        w.start("t:op", &[("a", "x&\"y")])
            .text_element("t:v", "<a & b>")
            .end("t:op");
        let xml = w.finish();
        let body = parse_envelope(&xml).unwrap();
        let op = body.child("urn:t", "op").unwrap();
        assert_eq!(op.child_text("urn:t", "v").unwrap(), "<a & b>");
        let cdata = format!(
            "<s:Envelope xmlns:s=\"{NS_SOAP_ENV}\"><s:Body><x xmlns=\"urn:x\"><![CDATA[a&b]]>&#65;&amp;</x></s:Body></s:Envelope>"
        );
        let body = parse_envelope(cdata.as_bytes()).unwrap();
        assert_eq!(body.child("urn:x", "x").unwrap().text, "a&bA&");
    }

    #[test]
    fn wrong_namespace_dtd_and_faults_are_typed() {
        let wrong = b"<s:Envelope xmlns:s=\"urn:not-soap\"><s:Body/></s:Envelope>";
        assert!(matches!(
            parse_envelope(wrong),
            Err(SoapError::Malformed(_))
        ));
        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><s:Envelope xmlns:s=\"{NS_SOAP_ENV}\"><s:Body>&e;</s:Body></s:Envelope>"
        );
        assert!(matches!(
            parse_envelope(dtd.as_bytes()),
            Err(SoapError::Malformed(_))
        ));
        let fault = format!(
            "<s:Envelope xmlns:s=\"{NS_SOAP_ENV}\"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"
        );
        assert_eq!(
            parse_envelope(fault.as_bytes()),
            Err(SoapError::Fault {
                code: "s:Client".into(),
                message: "bad".into()
            })
        );
        let deep = format!(
            "<s:Envelope xmlns:s=\"{NS_SOAP_ENV}\"><s:Body>{}{}</s:Body></s:Envelope>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(parse_envelope(deep.as_bytes()).is_err());
        assert!(parse_envelope(b"\xff\xfe").is_err());
        assert!(parse_envelope(b"<a><b></a>").is_err());
    }
}
