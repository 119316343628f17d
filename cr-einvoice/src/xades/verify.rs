//! Verifying enveloped XAdES signatures.

use std::sync::Mutex;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, FixedOffset};

use super::dom::{self, Element};
use super::{DSIG_NS, SignatureError, XADES_NS};
use crate::Limits;
use crate::c14n::{self, Algorithm, C14nError, Canonicalizer, Collect, Context, Exclude, RootInfo};
use crate::keystore::Certificate;

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";
const XPATH_FILTER2: &str = "http://www.w3.org/2002/06/xmldsig-filter2";
const EXC_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// What a successful [`verify`] established.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    certificate: Certificate,
    signing_time: Option<DateTime<FixedOffset>>,
    policy_identifier: Option<String>,
    canonicalization: Algorithm,
    references: usize,
    signature_id: Option<String>,
}

impl VerifiedSignature {
    /// The certificate whose key verified the signature (the trusted one if given).
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// `xades:SigningTime`, if present and parsable.
    #[must_use]
    pub fn signing_time(&self) -> Option<DateTime<FixedOffset>> {
        self.signing_time
    }

    /// The `SigPolicyId/Identifier` of the signature policy, if present.
    #[must_use]
    pub fn policy_identifier(&self) -> Option<&str> {
        self.policy_identifier.as_deref()
    }

    /// The `SignedInfo` canonicalization method.
    #[must_use]
    pub fn canonicalization(&self) -> Algorithm {
        self.canonicalization
    }

    /// Number of verified references.
    #[must_use]
    pub fn references(&self) -> usize {
        self.references
    }

    /// The `Id` of the `ds:Signature` element, if any.
    #[must_use]
    pub fn signature_id(&self) -> Option<&str> {
        self.signature_id.as_deref()
    }
}

/// The start offset of the one element whose id is `id`; an error if several carry it (a
/// signature wrapping attempt, or a broken document).
fn find_id(ids: &[(String, usize)], id: &str) -> Result<Option<usize>, SignatureError> {
    let mut found = None;
    for (v, at) in ids {
        if v == id {
            if found.is_some() {
                return Err(SignatureError::Xml(C14nError::Malformed {
                    offset: *at,
                    message: format!("duplicate id {id:?}"),
                }));
            }
            found = Some(*at);
        }
    }
    Ok(found)
}

/// How many certificates taken from `ds:KeyInfo` [`certificate_from_der`] keeps.
const CERT_CACHE_SIZE: usize = 32;

/// Certificates parsed from `ds:KeyInfo` by earlier verifications, oldest first. A company's
/// inbox holds many documents signed with the same few certificates, and parsing one costs more
/// than all the rest of a verification's certificate handling. Keyed by the exact DER bytes.
static CERT_CACHE: Mutex<Vec<Certificate>> = Mutex::new(Vec::new());

/// [`Certificate::from_der`], through [`CERT_CACHE`]: a certificate seen recently is not parsed
/// again (the same bytes give the same certificate; failures are not cached). A poisoned cache
/// is bypassed.
fn certificate_from_der(der: &[u8]) -> Result<Certificate, SignatureError> {
    if let Ok(cache) = CERT_CACHE.lock()
        && let Some(c) = cache.iter().rev().find(|c| c.der() == der)
    {
        return Ok(c.clone());
    }
    let cert = Certificate::from_der(der)?;
    if let Ok(mut cache) = CERT_CACHE.lock() {
        if cache.len() >= CERT_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push(cert.clone());
    }
    Ok(cert)
}

fn invalid(msg: impl Into<String>) -> SignatureError {
    SignatureError::InvalidStructure(msg.into())
}

fn b64(text: &str) -> Result<Vec<u8>, SignatureError> {
    let bytes = text.as_bytes();
    let decoded = if bytes.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        B64.decode(compact)
    } else {
        B64.decode(bytes)
    };
    decoded.map_err(|_| invalid("bad base64"))
}

fn digest_alg(uri: &str) -> Result<&'static digest::Algorithm, SignatureError> {
    match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => Ok(&digest::SHA256),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Ok(&digest::SHA384),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Ok(&digest::SHA512),
        other => Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    }
}

/// Digest algorithms accepted in `xades:CertDigest`. SHA-1 is accepted there (and only there):
/// it identifies the certificate, it does not protect signed data, and xades4j-based signers
/// used in Costa Rica write it by default.
fn cert_digest_alg(uri: &str) -> Option<&'static digest::Algorithm> {
    match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        other => digest_alg(other).ok(),
    }
}

/// `SigningCertificate` must name the signing certificate: the `Cert` whose `CertDigest` is the
/// digest of its DER is the binding; that `Cert`'s `IssuerSerial`, when present, must name the
/// same issuer (compared as decoded RDN sequences, see [`super::dn`]) and serial number.
fn check_signing_certificate(
    signing_cert: Element<'_>,
    certificate: &Certificate,
) -> Result<(), SignatureError> {
    let mut bound = None;
    for cert in signing_cert.children_named(XADES_NS, "Cert") {
        let Ok(cd) = cert.one(XADES_NS, "CertDigest") else {
            continue;
        };
        let alg = cd
            .one(DSIG_NS, "DigestMethod")
            .ok()
            .and_then(|m| m.attr("Algorithm"))
            .and_then(cert_digest_alg);
        let value = cd
            .one(DSIG_NS, "DigestValue")
            .ok()
            .and_then(|v| b64(v.text()).ok());
        if let (Some(alg), Some(v)) = (alg, value)
            && certificate.has_digest(alg, &v)
        {
            bound = Some(cert);
            break;
        }
    }
    let Some(cert) = bound else {
        return Err(SignatureError::CertificateMismatch(
            "no SigningCertificate/Cert has the CertDigest of the signing certificate".into(),
        ));
    };
    let Some(is) = cert.opt(XADES_NS, "IssuerSerial")? else {
        return Ok(());
    };
    let name_text = is.one(DSIG_NS, "X509IssuerName")?.text();
    let written = super::dn::parse(name_text).map_err(|e| {
        SignatureError::CertificateMismatch(format!(
            "IssuerSerial/X509IssuerName {:?} cannot be read: {e}",
            name_text.trim()
        ))
    })?;
    if !super::dn::same_name(&written, certificate.issuer_name()) {
        return Err(SignatureError::CertificateMismatch(format!(
            "IssuerSerial/X509IssuerName {:?} is not the signing certificate's issuer {:?}",
            name_text.trim(),
            certificate.issuer()
        )));
    }
    let serial_text = is.one(DSIG_NS, "X509SerialNumber")?.text();
    if !super::dn::same_serial(serial_text, certificate.serial_number()) {
        return Err(SignatureError::CertificateMismatch(format!(
            "IssuerSerial/X509SerialNumber {:?} is not the signing certificate's serial {}",
            serial_text.trim(),
            certificate.serial_number()
        )));
    }
    Ok(())
}

fn algorithm_attr(el: Element<'_>) -> Result<&str, SignatureError> {
    el.attr("Algorithm")
        .ok_or_else(|| invalid(format!("{} without Algorithm", el.local())))
}

fn prefix_list(el: Element<'_>) -> Vec<String> {
    el.children_named(EXC_NS, "InclusiveNamespaces")
        .filter_map(|i| i.attr("PrefixList"))
        .flat_map(|l| {
            l.split_ascii_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether an XPath expression (whitespace removed) selects "not inside any ds:Signature".
fn is_signature_exclusion(el: Element<'_>, expr: &str, pattern: &str) -> bool {
    let compact: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(prefix) = compact
        .strip_prefix(pattern.split("{p}").next().unwrap_or_default())
        .and_then(|rest| rest.strip_suffix(pattern.split("{p}").nth(1).unwrap_or_default()))
    else {
        return false;
    };
    prefix
        .strip_suffix(":Signature")
        .is_some_and(|p| el.lookup_prefix(p) == Some(DSIG_NS))
}

struct Reference<'e> {
    uri: &'e str,
    apex: Option<usize>,
    target: Option<Element<'e>>,
    covers_document: bool,
}

/// Verifies the enveloped signature of a Hacienda document.
///
/// Accepted shapes: this crate's own and CRLibre-style signatures (three references,
/// inclusive C14N 1.0), and the two-reference exclusive-C14N style (document reference with
/// an enveloped-signature, XPath `not(ancestor-or-self::ds:Signature)` or XPath Filter 2.0
/// `subtract /descendant::ds:Signature` transform). Every reference digest and the
/// signature value are checked; at least one reference must cover the whole document and
/// one the `xades:SignedProperties`, whose `SigningCertificate` must name the signing
/// certificate: a `Cert` whose `CertDigest` (SHA-256/384/512, or SHA-1 as xades4j writes it) is
/// the certificate's digest, and whose `IssuerSerial`, if present, names the same issuer — compared
/// as decoded RDN sequences, so every RFC 4514 spelling (`, ` or `,` separators, dotted OIDs,
/// `#hex` DER values such as `2.5.4.5=#1310…`) matches — and serial number.
///
/// The signing key is `trusted`'s if given, otherwise the certificate in `ds:KeyInfo` (the
/// last 32 such certificates are kept parsed, by their DER bytes, so that a batch of documents
/// from the same issuers parses each certificate once).
/// No certificate chain or revocation check is made: pass the expected certificate as
/// `trusted` to pin it.
///
/// # Errors
/// A [`SignatureError`] of kind `Invalid`, `Unsupported` or `Document`.
pub fn verify(
    signed_xml: &[u8],
    trusted: Option<&Certificate>,
) -> Result<VerifiedSignature, SignatureError> {
    verify_with_limits(signed_xml, trusted, &Limits::default())
}

/// [`verify`] with explicit input bounds: the input length is checked before any work and
/// the element nesting while scanning, so hostile input is rejected quickly.
///
/// # Errors
/// As [`verify`]; [`C14nError::TooLarge`] and [`C14nError::TooDeep`] (kind `Document`) for
/// input beyond `limits`.
pub fn verify_with_limits(
    signed_xml: &[u8],
    trusted: Option<&Certificate>,
    limits: &Limits,
) -> Result<VerifiedSignature, SignatureError> {
    if signed_xml.len() > limits.max_input_bytes() {
        return Err(SignatureError::Xml(C14nError::TooLarge {
            size: signed_xml.len(),
            limit: limits.max_input_bytes(),
        }));
    }
    let (src, base) = c14n::as_utf8(signed_xml)?;
    // One pass over the whole document: well-formedness, the depth bound, the root's scope,
    // the ds:Signature children of the root and every Id — and, speculatively, the canonical
    // bytes of the usual document reference (inclusive C14N without signatures), reused below
    // when the reference asks for exactly that.
    let mut scan = RootInfo {
        collect: Some(Collect {
            max_depth: limits.max_depth(),
        }),
        ..RootInfo::default()
    };
    let no_context = Context::default();
    let doc_c14n = Canonicalizer::new(Algorithm::Inclusive).exclude(Exclude::AllSignatures);
    let mut doc_canon = Vec::with_capacity(src.len());
    c14n::run(
        c14n::Source {
            text: src,
            base,
            context: &no_context,
        },
        &doc_c14n,
        &mut doc_canon,
        Some(&mut scan),
    )?;
    let (sig_at, sig_end) = match scan.signatures.as_slice() {
        [] => return Err(SignatureError::MissingSignature),
        [one] => *one,
        _ => return Err(SignatureError::MultipleSignatures),
    };
    // Subtrees inside ds:Signature (KeyInfo, SignedProperties, SignedInfo) are canonicalized
    // from the signature's own text with the root's scope as context (the signature is a child
    // of the root): the same bytes as a whole-document run, without lexing the document again.
    let context = &scan.context;
    let fragment = src
        .get(sig_at - base..sig_end.saturating_sub(base))
        .filter(|f| !f.is_empty());
    // An apex inside the signature starts the run at the apex itself, with the bindings in
    // scope there as context (unless an element of the signature before it carries an xml:*
    // attribute, which inclusive C14N would inherit: then the run starts at the signature).
    // The first whitespace-preceded `xml:` of the signature, searched once for every run.
    let first_xml_attr = fragment.and_then(|text| {
        memchr::memmem::find_iter(text.as_bytes(), b"xml:").find(|&i| {
            i > 0
                && text
                    .as_bytes()
                    .get(i - 1)
                    .is_some_and(u8::is_ascii_whitespace)
        })
    });
    let canonicalize = |c: &Canonicalizer,
                        apex: Option<(usize, Option<Element<'_>>)>,
                        out: &mut Vec<u8>| match (fragment, apex) {
        (Some(text), Some((a, el))) if (sig_at..sig_end).contains(&a) => {
            let rel = a - sig_at;
            let xml_attr_before = first_xml_attr.is_some_and(|i| i + 4 <= rel);
            match (el, text.get(rel..)) {
                (Some(el), Some(from_apex)) if !xml_attr_before => {
                    let ctx = Context {
                        bindings: el.in_scope(),
                        xml_attrs: context.xml_attrs.clone(),
                    };
                    let source = c14n::Source {
                        text: from_apex,
                        base: a,
                        context: &ctx,
                    };
                    c14n::run(source, c, out, None)
                }
                _ => {
                    let source = c14n::Source {
                        text,
                        base: sig_at,
                        context,
                    };
                    c14n::run(source, c, out, None)
                }
            }
        }
        _ => c.canonicalize_into(signed_xml, out),
    };
    let tree = dom::parse_element(
        src,
        base,
        sig_at,
        &scan.context.bindings,
        limits.max_depth(),
    )?;
    let sig = tree.root();
    let signed_info = sig.one(DSIG_NS, "SignedInfo")?;
    if sig.first_child() != Some(signed_info) {
        return Err(invalid("SignedInfo must be the first child of Signature"));
    }
    let c14n_el = signed_info.one(DSIG_NS, "CanonicalizationMethod")?;
    let c14n_uri = algorithm_attr(c14n_el)?;
    let si_alg = Algorithm::from_uri(c14n_uri)
        .ok_or_else(|| SignatureError::UnsupportedAlgorithm(c14n_uri.to_owned()))?;
    let si_prefixes = prefix_list(c14n_el);
    let sig_method = algorithm_attr(signed_info.one(DSIG_NS, "SignatureMethod")?)?;
    let verify_alg: &'static dyn signature::VerificationAlgorithm = match sig_method {
        RSA_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => {
            &signature::RSA_PKCS1_2048_8192_SHA384
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        other => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    };
    let signature_value = b64(sig.one(DSIG_NS, "SignatureValue")?.text())?;

    // The signing certificate (the one in KeyInfo is only parsed when none is trusted).
    let key_info = if trusted.is_some() {
        None
    } else {
        sig.opt(DSIG_NS, "KeyInfo")?
    };
    let key_info_cert = match key_info {
        Some(ki) => ki
            .children_named(DSIG_NS, "X509Data")
            .flat_map(|d| d.children_named(DSIG_NS, "X509Certificate"))
            .next()
            .map(|c| b64(c.text()).and_then(|der| certificate_from_der(&der)))
            .transpose()?,
        None => None,
    };
    let certificate = match (trusted, key_info_cert) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) => c,
        (None, None) => {
            return Err(invalid(
                "no X509Certificate in KeyInfo and no trusted certificate",
            ));
        }
    };

    // The references.
    let mut refs = Vec::new();
    let mut canon = Vec::with_capacity(signed_xml.len());
    for r in signed_info.children_named(DSIG_NS, "Reference") {
        let uri = r
            .attr("URI")
            .ok_or_else(|| invalid("Reference without URI"))?;
        let (apex, target) = if uri.is_empty() {
            (None, None)
        } else if let Some(id) = uri.strip_prefix('#') {
            if id.is_empty() || id.contains('(') {
                return Err(SignatureError::UnsupportedReference(uri.to_owned()));
            }
            let at = find_id(&scan.ids, id)?
                .ok_or_else(|| invalid(format!("no element with id {id:?}")))?;
            (Some(at), sig.find_id(id).filter(|e| e.start() == at))
        } else {
            return Err(SignatureError::UnsupportedReference(uri.to_owned()));
        };
        let mut alg = Algorithm::Inclusive;
        let mut prefixes = Vec::new();
        let mut exclude = Exclude::Nothing;
        let mut excludes_signatures = false;
        let transforms: Vec<Element<'_>> = match r.opt(DSIG_NS, "Transforms")? {
            Some(t) => t.children_named(DSIG_NS, "Transform").collect(),
            None => Vec::new(),
        };
        for (i, t) in transforms.iter().enumerate() {
            let a = algorithm_attr(*t)?;
            if let Some(c) = Algorithm::from_uri(a) {
                if i + 1 != transforms.len() {
                    return Err(SignatureError::UnsupportedTransform(format!(
                        "{a} before other transforms"
                    )));
                }
                alg = c;
                prefixes = prefix_list(*t);
                continue;
            }
            match a {
                ENVELOPED => {
                    if exclude == Exclude::Nothing {
                        exclude = Exclude::ElementAt(sig_at);
                    }
                    excludes_signatures = true;
                }
                XPATH => {
                    let expr = t.one(DSIG_NS, "XPath")?;
                    if !is_signature_exclusion(expr, expr.text(), "not(ancestor-or-self::{p})") {
                        return Err(SignatureError::UnsupportedTransform(format!(
                            "XPath {}",
                            expr.text().trim()
                        )));
                    }
                    exclude = Exclude::AllSignatures;
                    excludes_signatures = true;
                }
                XPATH_FILTER2 => {
                    let mut filters = t.children_named(XPATH_FILTER2, "XPath");
                    let ok = match (filters.next(), filters.next()) {
                        (Some(f), None) => {
                            f.attr("Filter") == Some("subtract")
                                && is_signature_exclusion(f, f.text(), "/descendant::{p}")
                        }
                        _ => false,
                    };
                    if !ok {
                        return Err(SignatureError::UnsupportedTransform(
                            "XPath Filter 2.0 expression".into(),
                        ));
                    }
                    exclude = Exclude::AllSignatures;
                    excludes_signatures = true;
                }
                other => return Err(SignatureError::UnsupportedTransform(other.to_owned())),
            }
        }
        // Same-document references never include comments.
        let alg = if alg.is_exclusive() {
            Algorithm::Exclusive
        } else {
            Algorithm::Inclusive
        };
        let digest_method = algorithm_attr(r.one(DSIG_NS, "DigestMethod")?)?;
        let expected = b64(r.one(DSIG_NS, "DigestValue")?.text())?;
        let mut c = Canonicalizer::new(alg)
            .exclude(exclude)
            .inclusive_prefixes(prefixes);
        if let Some(a) = apex {
            c = c.subtree_at(a);
        }
        // the speculative document bytes fit when the reference is inclusive C14N of the whole
        // document without signatures (enveloped = all signatures when there is only one)
        let same_as_scan = uri.is_empty()
            && alg == Algorithm::Inclusive
            && (exclude == Exclude::AllSignatures
                || (exclude == Exclude::ElementAt(sig_at) && scan.all_signatures == 1));
        let bytes = if same_as_scan {
            &doc_canon
        } else {
            canon.clear();
            // with an exclusion the whole-document run decides (an apex inside an excluded
            // signature canonicalizes to nothing)
            let apex = apex.filter(|_| exclude == Exclude::Nothing);
            canonicalize(&c, apex.map(|a| (a, target)), &mut canon)?;
            &canon
        };
        let got = digest::digest(digest_alg(digest_method)?, bytes);
        if got.as_ref() != expected.as_slice() {
            return Err(SignatureError::DigestMismatch {
                uri: uri.to_owned(),
            });
        }
        refs.push(Reference {
            uri,
            apex,
            target,
            covers_document: uri.is_empty() && excludes_signatures,
        });
    }
    if refs.is_empty() {
        return Err(invalid("SignedInfo has no Reference"));
    }
    if !refs.iter().any(|r| r.covers_document) {
        return Err(invalid("no reference covers the whole document"));
    }
    if refs.iter().any(|r| r.uri.is_empty() && !r.covers_document) {
        return Err(invalid(
            "a URI=\"\" reference without enveloped-signature transform",
        ));
    }
    let signed_props = refs
        .iter()
        .filter_map(|r| {
            r.target
                .filter(|t| t.is(XADES_NS, "SignedProperties"))
                .map(|t| (t, r.apex))
        })
        .next()
        .ok_or_else(|| invalid("xades:SignedProperties is not signed"))?;

    // SignedInfo, in document context.
    canon.clear();
    let si_c14n = Canonicalizer::new(si_alg)
        .subtree_at(signed_info.start())
        .inclusive_prefixes(si_prefixes);
    canonicalize(
        &si_c14n,
        Some((signed_info.start(), Some(signed_info))),
        &mut canon,
    )?;
    let checked = match certificate.rsa_sha256() {
        Some(parsed) if sig_method == RSA_SHA256 => parsed.verify_sig(&canon, &signature_value),
        _ => UnparsedPublicKey::new(verify_alg, certificate.rsa_public_key())
            .verify(&canon, &signature_value),
    };
    checked.map_err(|_| SignatureError::BadSignature)?;

    // XAdES signed properties.
    let (props, _) = signed_props;
    let ssp = props.one(XADES_NS, "SignedSignatureProperties")?;
    let signing_cert = match ssp.opt(XADES_NS, "SigningCertificate")? {
        Some(c) => c,
        None => ssp
            .opt(XADES_NS, "SigningCertificateV2")?
            .ok_or_else(|| invalid("no SigningCertificate"))?,
    };
    check_signing_certificate(signing_cert, &certificate)?;
    let signing_time = ssp
        .opt(XADES_NS, "SigningTime")?
        .and_then(|t| DateTime::parse_from_rfc3339(t.text().trim()).ok());
    let policy_identifier = ssp
        .opt(XADES_NS, "SignaturePolicyIdentifier")?
        .and_then(|p| p.opt(XADES_NS, "SignaturePolicyId").ok().flatten())
        .and_then(|p| p.opt(XADES_NS, "SigPolicyId").ok().flatten())
        .and_then(|p| p.opt(XADES_NS, "Identifier").ok().flatten())
        .map(|i| i.text().trim().to_owned());

    Ok(VerifiedSignature {
        certificate,
        signing_time,
        policy_identifier,
        canonicalization: si_alg,
        references: refs.len(),
        signature_id: sig.attr("Id").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyinfo_certificates_are_parsed_once() {
        let pem = include_bytes!("../../tests/fixtures/keys/cert.pem");
        let Ok(cert) = Certificate::from_pem(pem) else {
            panic!("test certificate");
        };
        let (Ok(a), Ok(b)) = (
            certificate_from_der(cert.der()),
            certificate_from_der(cert.der()),
        ) else {
            panic!("parse");
        };
        assert!(a.shares_parse_with(&b));
        assert!(!a.shares_parse_with(&cert));
        assert_eq!(a, cert);
        // bytes that are not a certificate are still refused, every time
        let mut bad = cert.der().to_vec();
        bad.push(0);
        assert!(certificate_from_der(&bad).is_err());
        assert!(certificate_from_der(&bad).is_err());
    }
}
