//! Shared helpers for the c14n and XAdES oracle tests: run xmllint / xmlsec1 / openssl.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of a fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Reads a fixture file.
pub fn read_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Runs a tool; panics (fails the test) if the tool is missing.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (scripts/test.sh installs it): {e}"))
}

/// Writes bytes to a fresh temporary file and returns it.
pub fn temp_file(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    f.write_all(bytes).expect("write temp file");
    f.flush().expect("flush temp file");
    f
}

/// `xmllint <flag> file` (flag: `--c14n` or `--exc-c14n`; both keep comments).
pub fn xmllint_c14n(flag: &str, xml: &[u8]) -> Vec<u8> {
    let f = temp_file(xml, ".xml");
    let out = run("xmllint", &[flag, path_str(f.path())]);
    assert!(
        out.status.success(),
        "xmllint {flag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Path as &str.
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `xmlsec1 --verify` with the test certificate; returns (success, stdout+stderr).
pub fn xmlsec_verify(xml: &[u8], cert: &Path, extra: &[&str]) -> (bool, String) {
    let f = temp_file(xml, ".xml");
    let mut args = vec!["--verify", "--pubkey-cert-pem", path_str(cert)];
    args.extend_from_slice(extra);
    args.push(path_str(f.path()));
    let out = run("xmlsec1", &args);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The XAdES id attributes xmlsec1 must know about (as in the fixtures README).
pub const XADES_ID_ATTRS: [&str; 4] = [
    "--id-attr:Id",
    "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
    "--id-attr:Id",
    "http://www.w3.org/2000/09/xmldsig#:KeyInfo",
];

/// The pre-digest bytes xmlsec1 computes for a single-reference signature template that
/// points at `#target` with the transform `alg` (subset canonicalization oracle). The
/// template is inserted before the root end tag; `id_node` is `ns-uri:local-name` of the
/// element carrying `Id="target"`. Returns (document with template, pre-digest bytes).
pub fn xmlsec_subset_oracle(
    xml: &[u8],
    alg: &str,
    prefixes: Option<&str>,
    id_node: &str,
) -> (Vec<u8>, Vec<u8>) {
    let doc = std::str::from_utf8(xml).expect("utf-8 fixture");
    let at = doc.rfind("</").expect("root end tag");
    let incl = prefixes
        .map(|p| {
            format!(r#"<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{p}"/>"#)
        })
        .unwrap_or_default();
    let template = format!(
        concat!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#target"><ds:Transforms><ds:Transform Algorithm="{alg}">{incl}</ds:Transform></ds:Transforms>"##,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue>"#,
            r#"</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#
        ),
        alg = alg,
        incl = incl
    );
    let with_template = format!("{}{}{}", &doc[..at], template, &doc[at..]).into_bytes();
    let (_, text) = xmlsec_verify(
        &with_template,
        &fixture("keys/cert.pem"),
        &["--store-references", "--id-attr:Id", id_node],
    );
    let start_marker = "== PreDigest data - start buffer:\n";
    let end_marker = "\n== PreDigest data - end buffer";
    let s = text
        .find(start_marker)
        .unwrap_or_else(|| panic!("xmlsec1 printed no pre-digest data:\n{text}"))
        + start_marker.len();
    let e = s + text[s..].find(end_marker).expect("end marker");
    (with_template, text.as_bytes()[s..e].to_vec())
}

/// A tiny deterministic PRNG for document generators (proptest supplies the seed).
pub struct Rng(pub u64);

impl Rng {
    /// Next value in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    /// One of the items.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Generates a namespace-heavy, known-shape document; exactly one element carries
/// `Id="target"` and its `ns-uri:local-name` is returned for xmlsec1's `--id-attr`.
pub fn generate_doc(seed: u64) -> (String, String) {
    let mut rng = Rng(seed | 1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if rng.below(3) == 0 {
        out.push_str("<!-- prolog -->\n");
    }
    let mut target = None;
    let mut count = 0;
    gen_element(
        &mut rng,
        &mut out,
        &mut Vec::new(),
        0,
        &mut target,
        &mut count,
    );
    if rng.below(3) == 0 {
        out.push_str("\n<?tail pi?>");
    }
    out.push('\n');
    (out, target.unwrap_or_default())
}

const TEXTS: [&str; 8] = [
    "plain",
    "a &amp; b &lt; c &gt; d",
    " \t spaced \n text ",
    "&#xD;&#x9;&#xA;&#233;",
    "quote \" and ' ok",
    "ñandú ]]&gt;",
    "",
    "<![CDATA[<x>&amp;</x>]]>",
];
const VALUES: [&str; 7] = [
    "v",
    "a&amp;b",
    "tab\there",
    "nl&#xA;x",
    "&quot;q&quot; &lt;",
    "multi\nline",
    "'s'",
];

fn gen_element(
    rng: &mut Rng,
    out: &mut String,
    scope: &mut Vec<(String, String)>,
    depth: usize,
    target: &mut Option<String>,
    count: &mut usize,
) {
    *count += 1;
    let mark = scope.len();
    // namespace declarations on this element
    let mut decls = Vec::new();
    for (prefix, uris) in [
        ("", ["urn:d1", "urn:d2"]),
        ("a", ["urn:a1", "urn:a2"]),
        ("b", ["urn:b1", "urn:b2"]),
        ("c", ["urn:c1", "urn:c2"]),
    ] {
        if rng.below(if depth == 0 { 2 } else { 5 }) == 0 {
            let uri = if prefix.is_empty() && depth > 0 && rng.below(3) == 0 {
                ""
            } else {
                rng.pick(&uris)
            };
            decls.push((prefix.to_string(), uri.to_string()));
        }
    }
    scope.extend(decls.iter().cloned());
    let bound: Vec<String> = ["a", "b", "c"]
        .iter()
        .filter(|p| scope.iter().any(|(q, _)| q == *p))
        .map(|p| p.to_string())
        .collect();
    let prefix = if !bound.is_empty() && rng.below(2) == 0 {
        bound[rng.below(bound.len())].clone()
    } else {
        String::new()
    };
    let name = if prefix.is_empty() {
        format!("e{}", rng.below(4))
    } else {
        format!("{prefix}:e{}", rng.below(4))
    };
    out.push('<');
    out.push_str(&name);
    for (p, u) in &decls {
        if p.is_empty() {
            out.push_str(&format!(" xmlns=\"{u}\""));
        } else {
            out.push_str(&format!(" xmlns:{p}=\"{u}\""));
        }
    }
    let mut used = Vec::new();
    for _ in 0..rng.below(4) {
        let local = ["x", "y", "z", "w"][rng.below(4)];
        let p = if !bound.is_empty() && rng.below(2) == 0 {
            bound[rng.below(bound.len())].clone()
        } else {
            String::new()
        };
        let uri = scope
            .iter()
            .rev()
            .find(|(q, _)| *q == p)
            .map(|(_, u)| u.clone())
            .unwrap_or_default();
        let key = (if p.is_empty() { String::new() } else { uri }, local);
        if used.contains(&key) {
            continue;
        }
        used.push(key);
        let q = if p.is_empty() {
            local.to_string()
        } else {
            format!("{p}:{local}")
        };
        out.push_str(&format!(" {q}=\"{}\"", rng.pick(&VALUES)));
    }
    if rng.below(6) == 0 {
        out.push_str(&format!(" xml:lang=\"{}\"", rng.pick(&["es", "en"])));
    }
    let is_target = target.is_none() && depth > 0 && (rng.below(3) == 0 || *count > 6);
    if is_target {
        out.push_str(" Id=\"target\"");
        let uri = scope
            .iter()
            .rev()
            .find(|(q, _)| *q == prefix)
            .map(|(_, u)| u.clone())
            .unwrap_or_default();
        let local = name.rsplit(':').next().unwrap_or_default();
        *target = Some(if uri.is_empty() {
            local.to_string()
        } else {
            format!("{uri}:{local}")
        });
    }
    let children = if depth >= 4 { 0 } else { rng.below(4) };
    if children == 0 && rng.below(2) == 0 && !(depth == 0 && target.is_none()) {
        out.push_str("/>");
    } else {
        out.push('>');
        for _ in 0..children.max(usize::from(depth == 0)) {
            match rng.below(6) {
                0 => out.push_str(rng.pick(&TEXTS)),
                1 => out.push_str("<!-- c -->"),
                2 => out.push_str("<?p  d ?>"),
                _ => gen_element(rng, out, scope, depth + 1, target, count),
            }
            if rng.below(2) == 0 {
                out.push_str("\n  ");
            }
        }
        if depth == 0 && target.is_none() {
            *count = 100;
            gen_element(rng, out, scope, depth + 1, target, count);
        }
        out.push_str(&format!("</{name}>"));
    }
    scope.truncate(mark);
}

/// `xmlsec1 --verify` that only takes the key from the `X509Certificate` in `KeyInfo` and
/// requires that certificate to be the trusted test certificate (pinning).
pub fn xmlsec_verify_pinned(xml: &[u8]) -> (bool, String) {
    let f = temp_file(xml, ".xml");
    let cert = fixture("keys/cert.pem");
    let mut args = vec![
        "--verify",
        "--enabled-key-data",
        "x509",
        "--trusted-pem",
        path_str(&cert),
    ];
    args.extend_from_slice(&XADES_ID_ATTRS);
    args.push(path_str(f.path()));
    let out = run("xmlsec1", &args);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}
