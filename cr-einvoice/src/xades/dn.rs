//! Distinguished names compared by meaning, not by spelling: `xades:IssuerSerial/ds:X509IssuerName`
//! may be written in any RFC 4514 / RFC 2253 form — `,` or `, ` or `;` separators, short names
//! (`CN`, `SERIALNUMBER`, `E`…) or dotted OIDs (`2.5.4.5`, `OID.2.5.4.5`), values as text (with `\`
//! escapes or RFC 1779 quotes) or as `#hex` DER (`2.5.4.5=#1310…`), RDNs last-first (RFC 4514) or
//! in certificate order. Both sides become a sequence of RDNs, each a sorted set of
//! (OID, value); text values compare case-insensitively with whitespace runs collapsed (the
//! caseIgnoreMatch of RFC 4518, without its Unicode tables), other values by their DER bytes.

use x509_parser::x509::X509Name;

/// One attribute value, normalized for comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Value {
    /// A directory string (UTF8String, PrintableString, IA5String, BMPString, …), normalized.
    Text(String),
    /// Any other value: its DER (tag, length, content).
    Der(Vec<u8>),
}

/// A distinguished name: RDNs in certificate (DER) order, each a sorted list of (OID, value).
pub(crate) type Name = Vec<Vec<(String, Value)>>;

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The value of DER `tag` + `content` as a [`Value`].
fn value_of_der(tag: u8, content: &[u8], der: &[u8]) -> Value {
    let text = match tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString
        0x0C | 0x13 | 0x16 | 0x12 | 0x1A => std::str::from_utf8(content).ok().map(str::to_owned),
        // TeletexString: read as Latin-1, as most software does
        0x14 => Some(content.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16BE
        0x1E if content.len().is_multiple_of(2) => {
            let units = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        // UniversalString: UTF-32BE
        0x1C if content.len().is_multiple_of(4) => content
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Option<String>>(),
        _ => None,
    };
    match text {
        Some(t) => Value::Text(normalize(&t)),
        None => Value::Der(der.to_vec()),
    }
}

/// Splits one DER TLV (short or long definite length) that must fill `der`.
fn parse_tlv(der: &[u8]) -> Option<(u8, &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (lb, rest) = rest.split_at(n);
        (
            lb.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            rest,
        )
    };
    (rest.len() == len).then_some((tag, rest))
}

/// The name of a certificate field.
pub(crate) fn from_x509(name: &X509Name<'_>) -> Name {
    name.iter_rdn()
        .map(|rdn| {
            let mut set: Vec<(String, Value)> = rdn
                .iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    let v = atv.attr_value();
                    // universal primitive types: the identifier octet is the tag number
                    let tag = u8::try_from(v.tag().0).unwrap_or(0xFF);
                    let mut der = Vec::with_capacity(v.data.len() + 6);
                    der.push(tag);
                    push_len(&mut der, v.data.len());
                    der.extend_from_slice(v.data);
                    (oid, value_of_der(tag, v.data, &der))
                })
                .collect();
            set.sort();
            set
        })
        .collect()
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn oid_of(kind: &str) -> Option<String> {
    let upper = kind.to_ascii_uppercase();
    let dotted = upper.strip_prefix("OID.").unwrap_or(&upper);
    if !dotted.is_empty()
        && dotted.split('.').count() >= 2
        && dotted
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(dotted.to_owned());
    }
    let oid = match upper.as_str() {
        "CN" => "2.5.4.3",
        "SN" | "SURNAME" => "2.5.4.4",
        "SERIALNUMBER" => "2.5.4.5",
        "C" => "2.5.4.6",
        "L" => "2.5.4.7",
        "ST" | "S" => "2.5.4.8",
        "STREET" => "2.5.4.9",
        "O" => "2.5.4.10",
        "OU" => "2.5.4.11",
        "T" | "TITLE" => "2.5.4.12",
        "GN" | "GIVENNAME" => "2.5.4.42",
        "DNQUALIFIER" => "2.5.4.46",
        "UID" => "0.9.2342.19200300.100.1.1",
        "DC" => "0.9.2342.19200300.100.1.25",
        "E" | "EMAIL" | "EMAILADDRESS" => "1.2.840.113549.1.9.1",
        _ => return None,
    };
    Some(oid.to_owned())
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Parses an RFC 4514 / 2253 (and RFC 1779 quoting) string; `Err` names what could not be read.
/// The result is in the string's order (for RFC 4514, last RDN first).
pub(crate) fn parse(s: &str) -> Result<Name, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut name: Name = Vec::new();
    let mut rdn: Vec<(String, Value)> = Vec::new();
    skip_ws(&mut i);
    if i == b.len() {
        return Err("empty name".into());
    }
    loop {
        skip_ws(&mut i);
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let kind = &s[start..i];
        let oid = oid_of(kind).ok_or_else(|| format!("unknown attribute type {kind:?}"))?;
        skip_ws(&mut i);
        if b.get(i) != Some(&b'=') {
            return Err(format!("'=' expected after {kind:?}"));
        }
        i += 1;
        skip_ws(&mut i);
        let value = if b.get(i) == Some(&b'#') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            let hex = &b[start..i];
            if hex.is_empty() || !hex.len().is_multiple_of(2) {
                return Err(format!("bad #hex value of {kind}"));
            }
            let der: Vec<u8> = hex
                .chunks_exact(2)
                .map(|p| Some(hex_val(p[0])? << 4 | hex_val(p[1])?))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("bad #hex value of {kind}"))?;
            let (tag, content) = parse_tlv(&der)
                .ok_or_else(|| format!("#hex value of {kind} is not one DER TLV"))?;
            value_of_der(tag, content, &der)
        } else {
            let mut raw: Vec<u8> = Vec::new();
            // bytes of trailing unescaped spaces, trimmed at the end
            let mut trailing = 0usize;
            if b.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(format!("unclosed quote in the value of {kind}")),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < b.len() => {
                            raw.push(b[i + 1]);
                            i += 2;
                        }
                        Some(&c) => {
                            raw.push(c);
                            i += 1;
                        }
                    }
                }
            } else {
                while let Some(&c) = b.get(i) {
                    match c {
                        b',' | b'+' | b';' => break,
                        b'\\' => {
                            let (Some(&h), l) = (b.get(i + 1), b.get(i + 2)) else {
                                return Err(format!("dangling '\\' in the value of {kind}"));
                            };
                            match (hex_val(h), l.copied().and_then(hex_val)) {
                                (Some(hi), Some(lo)) => {
                                    raw.push(hi << 4 | lo);
                                    i += 3;
                                }
                                _ => {
                                    raw.push(h);
                                    i += 2;
                                }
                            }
                            trailing = 0;
                        }
                        c => {
                            raw.push(c);
                            trailing = if c == b' ' { trailing + 1 } else { 0 };
                            i += 1;
                        }
                    }
                }
                raw.truncate(raw.len() - trailing);
            }
            let text =
                String::from_utf8(raw).map_err(|_| format!("the value of {kind} is not UTF-8"))?;
            Value::Text(normalize(&text))
        };
        rdn.push((oid, value));
        skip_ws(&mut i);
        match b.get(i) {
            None => {
                rdn.sort();
                name.push(std::mem::take(&mut rdn));
                return Ok(name);
            }
            Some(b'+') => i += 1,
            Some(b',' | b';') => {
                rdn.sort();
                name.push(std::mem::take(&mut rdn));
                i += 1;
            }
            Some(&c) => return Err(format!("unexpected {:?} after {kind}", c as char)),
        }
    }
}

/// Whether `written` (an `X509IssuerName`) names `cert_name` (certificate order): in RFC 4514
/// order (last RDN first) or, as some signers write it, in certificate order.
pub(crate) fn same_name(written: &Name, cert_name: &Name) -> bool {
    written.len() == cert_name.len()
        && (written.iter().rev().eq(cert_name.iter()) || written.iter().eq(cert_name.iter()))
}

/// Whether the decimal `X509SerialNumber` text equals `serial` (the certificate's, decimal).
pub(crate) fn same_serial(written: &str, serial: &str) -> bool {
    let w = written.trim();
    let w = w.strip_prefix('+').unwrap_or(w);
    !w.is_empty()
        && w.bytes().all(|c| c.is_ascii_digit())
        && w.trim_start_matches('0') == serial.trim_start_matches('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn forms_parse_to_the_same_name() {
        let a = parse("CN=CA PERSONA JURIDICA, OU=DGT, O=MINISTERIO DE HACIENDA, C=CR").unwrap();
        for other in [
            "CN=CA PERSONA JURIDICA,OU=DGT,O=MINISTERIO DE HACIENDA,C=CR",
            "cn=ca persona  juridica ; ou=DGT; o=Ministerio de Hacienda; c=CR",
            "2.5.4.3=#0c13434120504552534f4e41204a55524944494341, OU=DGT, O=MINISTERIO DE HACIENDA, C=CR",
            "OID.2.5.4.3=\"CA PERSONA JURIDICA\", OU=DGT, O=MINISTERIO DE HACIENDA, 2.5.4.6=#13024352",
            "CN=CA\\20PERSONA JURIDICA, OU=DGT, O=MINISTERIO DE HACIENDA, C=CR",
        ] {
            assert_eq!(parse(other), Ok(a.clone()), "{other}");
        }
        assert_eq!(a[0], vec![("2.5.4.3".to_owned(), t("ca persona juridica"))]);
        let multi = parse("CN=X+SERIALNUMBER=1, C=CR").unwrap();
        assert_eq!(multi, parse("SERIALNUMBER=1 + CN=x, C=CR").unwrap());
    }

    #[test]
    fn bad_names_are_errors() {
        for bad in [
            "",
            "FOO=bar",
            "CN",
            "CN=#0c",
            "CN=#0c05ab",
            "CN=\"x",
            "CN=a\\",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serials() {
        assert!(same_serial(" 01512090668933\n", "1512090668933"));
        assert!(!same_serial("1512090668934", "1512090668933"));
        assert!(!same_serial("0x1", "1"));
    }
}
