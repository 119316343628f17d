//! Reference decoding, attribute-value normalization and canonical escaping.

use std::borrow::Cow;

use super::C14nError;

/// Decodes one reference body (`amp`, `#x41`, `#65`) into a character.
fn decode_ref(body: &str, offset: usize) -> Result<char, C14nError> {
    let ch = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = body.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = body.strip_prefix('#') {
                dec.parse::<u32>().ok()
            } else {
                return Err(C14nError::UndefinedEntity {
                    name: body.to_owned(),
                    offset,
                });
            };
            let ch = code.and_then(char::from_u32).filter(|c| is_xml_char(*c));
            return ch.ok_or_else(|| C14nError::Malformed {
                offset,
                message: format!("invalid character reference &{body};"),
            });
        }
    };
    Ok(ch)
}

/// `Char` production of XML 1.0.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Splits `raw` at the first `&`, returning the reference body and the rest after `;`.
fn split_ref(raw: &str, offset: usize) -> Result<(&str, &str), C14nError> {
    let end = raw.find(';').ok_or_else(|| C14nError::Malformed {
        offset,
        message: "unterminated reference".into(),
    })?;
    let body = raw.get(1..end).unwrap_or_default();
    let rest = raw.get(end + 1..).unwrap_or_default();
    Ok((body, rest))
}

/// A 256-entry table marking the bytes in `bytes`.
const fn byte_table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Bytes of a raw attribute value that decoding rewrites or rejects.
const ATTR_RAW_SPECIAL: [bool; 256] = byte_table(b"&\t\n\r<");
/// Bytes of a decoded attribute value that C14N escapes (see [`attr_escape`]).
const ATTR_ESCAPED: [bool; 256] = byte_table(b"&<\"\t\n\r");

/// Normalizes and decodes a raw (as written) attribute value: literal TAB/LF/CR (and CRLF)
/// become one space each, references are decoded (XML 1.0 §3.3.3 for CDATA attributes).
pub(crate) fn decode_attr(raw: &str, offset: usize) -> Result<Cow<'_, str>, C14nError> {
    if !raw.bytes().any(|b| ATTR_RAW_SPECIAL[b as usize]) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r', '<']) {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        match tail.as_bytes().first() {
            Some(b'&') => {
                let (body, after) = split_ref(tail, offset)?;
                out.push(decode_ref(body, offset)?);
                rest = after;
            }
            Some(b'<') => {
                return Err(C14nError::Malformed {
                    offset,
                    message: "'<' in attribute value".into(),
                });
            }
            Some(b'\r') if tail.as_bytes().get(1) == Some(&b'\n') => {
                out.push(' ');
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(' ');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Decodes raw character data (references decoded, line ends normalized to LF); borrowed when
/// there is nothing to decode (the usual case: a search for `&` and CR, no copy).
pub(crate) fn decode_text(raw: &str, offset: usize) -> Result<Cow<'_, str>, C14nError> {
    let Some(first) = memchr::memchr2(b'&', b'\r', raw.as_bytes()) else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(raw.get(..first).unwrap_or_default());
    let mut rest = raw.get(first..).unwrap_or_default();
    loop {
        let tail = rest;
        if tail.starts_with('&') {
            let (body, after) = split_ref(tail, offset)?;
            out.push(decode_ref(body, offset)?);
            rest = after;
        } else {
            out.push('\n');
            let skip = if tail.as_bytes().get(1) == Some(&b'\n') {
                2
            } else {
                1
            };
            rest = tail.get(skip..).unwrap_or_default();
        }
        match memchr::memchr2(b'&', b'\r', rest.as_bytes()) {
            Some(i) => {
                out.push_str(rest.get(..i).unwrap_or_default());
                rest = rest.get(i..).unwrap_or_default();
            }
            None => break,
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The C14N escape of an attribute-value byte (`& < " TAB LF CR`), if it needs one. The document
/// writer uses the same table, so the attributes it writes are already in canonical form.
pub(crate) fn attr_escape(b: u8) -> Option<&'static str> {
    Some(match b {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'"' => "&quot;",
        b'\t' => "&#x9;",
        b'\n' => "&#xA;",
        b'\r' => "&#xD;",
        _ => return None,
    })
}

/// Writes a decoded attribute value escaped as C14N requires (`& < " TAB LF CR`).
pub(crate) fn write_attr_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    // the usual value (an URI, an id, a number) has nothing to escape: one table scan, one copy
    let Some(first) = bytes.iter().position(|b| ATTR_ESCAPED[*b as usize]) else {
        out.extend_from_slice(bytes);
        return;
    };
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate().skip(first) {
        let Some(rep) = attr_escape(*b) else {
            continue;
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.extend_from_slice(rep.as_bytes());
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Writes a decoded text value escaped as C14N requires (`& < > CR`).
fn write_text_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Writes raw character data (as written in the document, with references) in canonical form:
/// line ends normalized, references decoded, then `& < > CR` escaped.
pub(crate) fn write_raw_text(out: &mut Vec<u8>, raw: &str, offset: usize) -> Result<(), C14nError> {
    let mut rest = raw;
    let mut buf = [0u8; 4];
    while let Some(i) = memchr::memchr3(b'&', b'>', b'\r', rest.as_bytes()) {
        out.extend_from_slice(rest.get(..i).unwrap_or_default().as_bytes());
        let tail = rest.get(i..).unwrap_or_default();
        match tail.as_bytes().first() {
            Some(b'&') => {
                let (body, after) = split_ref(tail, offset)?;
                let ch = decode_ref(body, offset)?;
                write_text_value(out, ch.encode_utf8(&mut buf));
                rest = after;
            }
            Some(b'>') => {
                out.extend_from_slice(b"&gt;");
                rest = tail.get(1..).unwrap_or_default();
            }
            _ => {
                // literal CR: CRLF -> LF, lone CR -> LF
                out.push(b'\n');
                let skip = if tail.as_bytes().get(1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = tail.get(skip..).unwrap_or_default();
            }
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(())
}

/// Writes CDATA section content (no references) in canonical form.
pub(crate) fn write_cdata(out: &mut Vec<u8>, raw: &str) {
    if !raw.contains('\r') {
        write_text_value(out, raw);
        return;
    }
    let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
    write_text_value(out, &normalized);
}

/// Normalizes line ends of comment or PI content.
pub(crate) fn normalize_newlines(raw: &str) -> Cow<'_, str> {
    if raw.contains('\r') {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_normalization_and_escaping() {
        let v = decode_attr("a\r\nb\tc&#xA;&amp;&quot;", 0).unwrap_or_default();
        assert_eq!(v, "a b c\n&\"");
        let mut out = Vec::new();
        write_attr_value(&mut out, &v);
        assert_eq!(out, b"a b c&#xA;&amp;&quot;");
    }

    #[test]
    fn tables_match_the_escapes() {
        for b in 0..=255u8 {
            assert_eq!(ATTR_ESCAPED[b as usize], attr_escape(b).is_some(), "{b}");
            assert_eq!(
                ATTR_RAW_SPECIAL[b as usize],
                matches!(b, b'&' | b'\t' | b'\n' | b'\r' | b'<'),
                "{b}"
            );
        }
    }

    #[test]
    fn text_escaping() {
        let mut out = Vec::new();
        write_raw_text(&mut out, "a\r\nb\rc &lt; &#xD; > &#62;", 0).ok();
        assert_eq!(out, b"a\nb\nc &lt; &#xD; &gt; &gt;");
        assert!(write_raw_text(&mut out, "&nbsp;", 0).is_err());
        assert!(write_raw_text(&mut out, "&#0;", 0).is_err());
    }
}
