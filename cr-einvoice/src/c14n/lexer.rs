//! A small XML 1.0 tokenizer over a `&str`, borrowing everything from the input.
//!
//! It checks the well-formedness rules that matter for canonicalization (tag and attribute
//! syntax, quotes, comments, CDATA, processing instructions, a single leading XML
//! declaration, no DOCTYPE handling — the caller rejects it) and leaves reference decoding
//! and element nesting to the caller.

use super::C14nError;

/// One token; every `&str` borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// `<?xml ...?>` with its `encoding` pseudo-attribute, if any.
    Decl { encoding: Option<&'a str> },
    /// A start tag or an empty-element tag; `attrs` is the raw text after the name.
    Start {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
    },
    /// An end tag.
    End { name: &'a str },
    /// Character data as written (references not decoded).
    Text(&'a str),
    /// The content of a CDATA section.
    CData(&'a str),
    /// The content of a comment.
    Comment(&'a str),
    /// A processing instruction: target and data (leading whitespace removed).
    Pi { target: &'a str, data: &'a str },
    /// `<!DOCTYPE ...>` (not parsed).
    DocType,
    /// End of input.
    Eof,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn malformed(offset: usize, message: &str) -> C14nError {
    C14nError::Malformed {
        offset,
        message: message.to_owned(),
    }
}

/// Byte classes for the hot loops: one table load instead of a chain of comparisons.
const WS: u8 = 1;
const NAME: u8 = 2;
const NAME_START: u8 = 4;
/// Bytes that end a run of character data copied verbatim by the canonicalizer: the next tag
/// (`<`), and everything C14N rewrites or the lexer checks (`&`, `>`, CR, `]` of `]]>`).
const TEXT_STOP: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8; // i < 256
        let mut c = 0;
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            c |= WS;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') || b >= 0x80 {
            c |= NAME;
        }
        if b.is_ascii_alphabetic() || matches!(b, b'_' | b':') || b >= 0x80 {
            c |= NAME_START;
        }
        if matches!(b, b'<' | b'&' | b'>' | b'\r' | b']') {
            c |= TEXT_STOP;
        }
        t[i] = c;
        i += 1;
    }
    t
};

fn is_ws(b: u8) -> bool {
    CLASS[b as usize] & WS != 0
}

/// Length of the character data at the start of `s` that canonicalizes to itself: up to the
/// first byte that is `<`, `&`, `>`, CR or `]` (or the end).
pub(crate) fn verbatim_text_len(s: &[u8]) -> usize {
    // short texts (most element values) with a table; long ones (base64 certificates and
    // signature values) with two vectorized searches
    const SHORT: usize = 32;
    let head = s.get(..SHORT).unwrap_or(s);
    if let Some(i) = head
        .iter()
        .position(|b| CLASS[*b as usize] & TEXT_STOP != 0)
    {
        return i;
    }
    if head.len() == s.len() {
        return s.len();
    }
    let tail = s.get(SHORT..).unwrap_or_default();
    let stop = memchr::memchr3(b'<', b'&', b'>', tail).unwrap_or(tail.len());
    let until = tail.get(..stop).unwrap_or_default();
    SHORT + memchr::memchr2(b'\r', b']', until).unwrap_or(stop)
}

/// Length of the XML name at the start of `s` (0 if none).
pub(crate) fn name_len(s: &[u8]) -> usize {
    match s.first() {
        Some(b) if CLASS[*b as usize] & NAME_START != 0 => s
            .iter()
            .position(|b| CLASS[*b as usize] & NAME == 0)
            .unwrap_or(s.len()),
        _ => 0,
    }
}

impl<'a> Lexer<'a> {
    pub(crate) const fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    /// Offset just past the last token returned.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole input.
    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// Continues after tokens the caller consumed itself (`pos` must be a token boundary the
    /// caller has checked: [`Lexer::next_token`] resumes there).
    pub(crate) fn skip_to(&mut self, pos: usize) {
        self.pos = pos;
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or_default()
    }

    /// Finds `pat` at or after byte `from`; returns its absolute offset.
    fn find(&self, from: usize, pat: &str) -> Option<usize> {
        let hay = self.src.get(from..)?;
        memchr::memmem::find(hay.as_bytes(), pat.as_bytes()).map(|i| i + from)
    }

    /// The next token and the byte offset where it starts.
    pub(crate) fn next_token(&mut self) -> Result<(usize, Tok<'a>), C14nError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let Some(&first) = bytes.get(start) else {
            return Ok((start, Tok::Eof));
        };
        if first != b'<' {
            let end = memchr::memchr(b'<', bytes.get(start..).unwrap_or_default())
                .map_or(bytes.len(), |i| start + i);
            let text = self.slice(start, end);
            let tb = text.as_bytes();
            if memchr::memchr_iter(b']', tb).any(|i| tb.get(i + 1..i + 3) == Some(b"]>".as_slice()))
            {
                return Err(malformed(start, "']]>' in character data"));
            }
            self.pos = end;
            return Ok((start, Tok::Text(text)));
        }
        let rest = self.rest();
        let second = bytes.get(start + 1).copied().unwrap_or(0);
        if second == b'/' {
            let after = rest.get(2..).unwrap_or_default();
            let n = name_len(after.as_bytes());
            if n == 0 {
                return Err(malformed(start, "bad end tag"));
            }
            let name = after.get(..n).unwrap_or_default();
            let tail = after.get(n..).unwrap_or_default();
            let ws = tail.bytes().take_while(|b| is_ws(*b)).count();
            if tail.as_bytes().get(ws) != Some(&b'>') {
                return Err(malformed(start, "bad end tag"));
            }
            self.pos = start + 2 + n + ws + 1;
            return Ok((start, Tok::End { name }));
        }
        if second == b'!' && rest.starts_with("<!--") {
            let end = self
                .find(start + 4, "-->")
                .ok_or_else(|| malformed(start, "unterminated comment"))?;
            let body = self.slice(start + 4, end);
            if body.contains("--") || body.ends_with('-') {
                return Err(malformed(start, "'--' in comment"));
            }
            self.pos = end + 3;
            return Ok((start, Tok::Comment(body)));
        }
        if second == b'!' && rest.starts_with("<![CDATA[") {
            let end = self
                .find(start + 9, "]]>")
                .ok_or_else(|| malformed(start, "unterminated CDATA"))?;
            self.pos = end + 3;
            return Ok((start, Tok::CData(self.slice(start + 9, end))));
        }
        if second == b'!' && rest.starts_with("<!DOCTYPE") {
            return Ok((start, Tok::DocType));
        }
        if second == b'!' {
            return Err(malformed(start, "unexpected markup declaration"));
        }
        if second == b'?' {
            let after = rest.get(2..).unwrap_or_default();
            let n = name_len(after.as_bytes());
            if n == 0 {
                return Err(malformed(start, "bad processing instruction"));
            }
            let end = self
                .find(start + 2 + n, "?>")
                .ok_or_else(|| malformed(start, "unterminated processing instruction"))?;
            let target = after.get(..n).unwrap_or_default();
            let raw_data = self.slice(start + 2 + n, end);
            if !raw_data.is_empty() && !raw_data.as_bytes().first().copied().is_some_and(is_ws) {
                return Err(malformed(start, "bad processing instruction"));
            }
            let data = raw_data.trim_start_matches([' ', '\t', '\r', '\n']);
            self.pos = end + 2;
            if target.eq_ignore_ascii_case("xml") {
                if start != 0 || target != "xml" {
                    return Err(malformed(start, "misplaced XML declaration"));
                }
                return Ok((
                    start,
                    Tok::Decl {
                        encoding: decl_encoding(raw_data),
                    },
                ));
            }
            return Ok((start, Tok::Pi { target, data }));
        }
        // start or empty-element tag
        let after = rest.get(1..).unwrap_or_default();
        let n = name_len(after.as_bytes());
        if n == 0 {
            return Err(malformed(start, "bad tag"));
        }
        let name = after.get(..n).unwrap_or_default();
        // find the closing '>' outside quotes
        let tag_bytes = after.as_bytes();
        let mut i = n;
        let mut quote = 0u8;
        loop {
            let Some(&b) = tag_bytes.get(i) else {
                return Err(malformed(start, "unterminated tag"));
            };
            if quote != 0 {
                let Some(j) = memchr::memchr(quote, tag_bytes.get(i..).unwrap_or_default()) else {
                    return Err(malformed(start, "unterminated attribute value"));
                };
                i += j + 1;
                quote = 0;
                continue;
            }
            match b {
                b'"' | b'\'' => quote = b,
                b'>' | b'<' => break,
                _ => {}
            }
            i += 1;
        }
        if tag_bytes.get(i) == Some(&b'<') {
            return Err(malformed(start, "'<' in tag"));
        }
        let empty = i > n && tag_bytes.get(i - 1) == Some(&b'/');
        let attrs_end = if empty { i - 1 } else { i };
        let attrs = after.get(n..attrs_end).unwrap_or_default();
        self.pos = start + 1 + i + 1;
        Ok((start, Tok::Start { name, attrs, empty }))
    }
}

/// The `encoding` pseudo-attribute of an XML declaration.
fn decl_encoding(data: &str) -> Option<&str> {
    let mut it = Attrs::new(data, 0);
    while let Some(Ok((k, v))) = it.next() {
        if k == "encoding" {
            return Some(v);
        }
    }
    None
}

/// Iterates the attributes of a start tag: `(qualified name, raw value)`; rejects syntax
/// errors and duplicated names.
pub(crate) struct Attrs<'a> {
    rest: &'a str,
    offset: usize,
}

impl<'a> Attrs<'a> {
    pub(crate) const fn new(raw: &'a str, offset: usize) -> Self {
        Self { rest: raw, offset }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(&'a str, &'a str), C14nError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.rest.as_bytes();
        let ws = bytes.iter().take_while(|b| is_ws(**b)).count();
        if ws == bytes.len() {
            return None;
        }
        if ws == 0 {
            return Some(Err(malformed(
                self.offset,
                "missing whitespace before attribute",
            )));
        }
        let s = bytes.get(ws..).unwrap_or_default();
        let n = name_len(s);
        if n == 0 {
            return Some(Err(malformed(self.offset, "bad attribute name")));
        }
        let mut i = ws + n;
        i += bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| is_ws(**b))
            .count();
        if bytes.get(i) != Some(&b'=') {
            return Some(Err(malformed(self.offset, "attribute without value")));
        }
        i += 1;
        i += bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| is_ws(**b))
            .count();
        let Some(&q) = bytes.get(i).filter(|q| matches!(q, b'"' | b'\'')) else {
            return Some(Err(malformed(self.offset, "unquoted attribute value")));
        };
        let Some(j) = memchr::memchr(q, bytes.get(i + 1..).unwrap_or_default()) else {
            return Some(Err(malformed(self.offset, "unterminated attribute value")));
        };
        let name = self.rest.get(ws..ws + n).unwrap_or_default();
        let value = self.rest.get(i + 1..i + 1 + j).unwrap_or_default();
        self.rest = self.rest.get(i + 2 + j..).unwrap_or_default();
        Some(Ok((name, value)))
    }
}

/// Collects a tag's attributes, checking that no name repeats.
pub(crate) fn attributes<'a>(
    raw: &'a str,
    offset: usize,
    out: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), C14nError> {
    out.clear();
    for a in Attrs::new(raw, offset) {
        let (k, v) = a?;
        if out.iter().any(|(q, _)| *q == k) {
            return Err(malformed(offset, "duplicate attribute"));
        }
        out.push((k, v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Result<Vec<Tok<'_>>, C14nError> {
        let mut l = Lexer::new(src);
        let mut v = Vec::new();
        loop {
            let (at, t) = l.next_token()?;
            if let Tok::Start { attrs, .. } = t {
                attributes(attrs, at, &mut Vec::new())?;
            }
            if t == Tok::Eof {
                return Ok(v);
            }
            v.push(t);
        }
    }

    #[test]
    fn tokens() {
        let t = toks(
            "<?xml version='1.0' encoding=\"utf-8\"?><a x='>' y=\"'\"/><!--c--><?p  d ?><b>t&amp;<![CDATA[<]]></b >",
        );
        assert_eq!(
            t.ok(),
            Some(vec![
                Tok::Decl {
                    encoding: Some("utf-8")
                },
                Tok::Start {
                    name: "a",
                    attrs: " x='>' y=\"'\"",
                    empty: true
                },
                Tok::Comment("c"),
                Tok::Pi {
                    target: "p",
                    data: "d "
                },
                Tok::Start {
                    name: "b",
                    attrs: "",
                    empty: false
                },
                Tok::Text("t&amp;"),
                Tok::CData("<"),
                Tok::End { name: "b" },
            ])
        );
    }

    #[test]
    fn verbatim_text_len_stops_at_every_stop_byte_at_every_offset() {
        let naive = |s: &[u8]| {
            s.iter()
                .position(|b| matches!(b, b'<' | b'&' | b'>' | b'\r' | b']'))
                .unwrap_or(s.len())
        };
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let plain = vec![b'A'; len];
            assert_eq!(verbatim_text_len(&plain), len);
            for at in 0..len {
                for stop in [b'<', b'&', b'>', b'\r', b']'] {
                    let mut s = plain.clone();
                    s[at] = stop;
                    assert_eq!(verbatim_text_len(&s), at, "{len} {at} {stop}");
                    // a second stop byte later never wins over the first
                    if let Some(after) = s.get_mut(at + 1..) {
                        for b in after.iter_mut().step_by(7) {
                            *b = b'<';
                        }
                    }
                    assert_eq!(verbatim_text_len(&s), naive(&s));
                }
            }
        }
    }

    #[test]
    fn errors() {
        for bad in [
            "<a",
            "<a x='1>",
            "<a x=1>",
            "<a x='1'y='2'>",
            "</a",
            "<!-- a -- b -->",
            "<!x>",
            "a]]>b",
            "<a><?xml x?>",
            "<a <b>",
        ] {
            assert!(toks(bad).is_err(), "{bad}");
        }
        let mut v = Vec::new();
        assert!(attributes(" a='1' a='2'", 0, &mut v).is_err());
    }
}
