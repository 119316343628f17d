//! Building the enveloped XAdES-EPES signature.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, FixedOffset, Utc};

use super::{DSIG_NS, SIGNED_PROPERTIES_TYPE, SignatureError, XADES_NS};
use crate::c14n::{self, Algorithm, Canonicalizer, Context, RootInfo};
use crate::keystore::SigningKey;

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// The Hacienda signature policy named in `xades:SignaturePolicyIdentifier`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignaturePolicy {
    /// The v4.4 policy (resolution on technical provisions, 2024 package). Default.
    #[default]
    V4_4,
    /// The v4.3 policy (for re-signing legacy documents only).
    V4_3,
}

impl SignaturePolicy {
    /// The policy identifier URL.
    #[must_use]
    pub const fn identifier(self) -> &'static str {
        match self {
            Self::V4_4 => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
            }
            Self::V4_3 => {
                "https://atv.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.3/Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
            }
        }
    }

    /// Base64 SHA-256 digest of the policy document (`SigPolicyHash`).
    #[must_use]
    pub const fn digest_sha256_base64(self) -> &'static str {
        match self {
            Self::V4_4 => "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=",
            Self::V4_3 => "0h7Q3dFHhu0bHbcZEgVc07cEcDlquUeG08HG6Iototo=",
        }
    }
}

/// Options for [`sign`].
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct SignOptions {
    signing_time: Option<DateTime<FixedOffset>>,
    signature_id: Option<String>,
    policy: SignaturePolicy,
}

impl SignOptions {
    /// Defaults: signing time = now, signature id derived from the document digest, v4.4
    /// policy.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the signing time (written in Costa Rica time, `-06:00`).
    #[must_use]
    pub fn signing_time<Tz: chrono::TimeZone>(mut self, time: DateTime<Tz>) -> Self {
        self.signing_time = Some(time.fixed_offset());
        self
    }

    /// Sets the signature id suffix (`Signature-<id>`, `SignedProperties-Signature-<id>`,
    /// ...). Only ASCII letters, digits, `-`, `_` and `.` are allowed; by default the first
    /// 16 hex digits of the document's SHA-256 digest are used.
    #[must_use]
    pub fn signature_id(mut self, id: impl Into<String>) -> Self {
        self.signature_id = Some(id.into());
        self
    }

    /// Sets the signature policy (default [`SignaturePolicy::V4_4`]).
    #[must_use]
    pub const fn policy(mut self, policy: SignaturePolicy) -> Self {
        self.policy = policy;
        self
    }
}

fn sha256_b64(data: &[u8]) -> String {
    B64.encode(digest::digest(&digest::SHA256, data))
}

fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

fn signing_time_text(opts: &SignOptions) -> String {
    let t = opts
        .signing_time
        .unwrap_or_else(|| Utc::now().fixed_offset());
    let cr = FixedOffset::west_opt(6 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or(*t.offset()));
    t.with_timezone(&cr)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn signature_id(opts: &SignOptions, doc_digest: &[u8]) -> Result<String, SignatureError> {
    if let Some(id) = &opts.signature_id {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err(SignatureError::InvalidStructure(format!(
                "invalid signature id {id:?}"
            )));
        }
        return Ok(id.clone());
    }
    // Unique per document content; deterministic, so equal inputs give equal outputs.
    Ok(doc_digest
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Signs a v4.4 document (any root element: FE, TE, NC, ND, FEC, FEE, REP, MensajeReceptor)
/// with an enveloped XAdES-EPES signature appended as the last child of the root.
///
/// The returned bytes are `unsigned_xml` with the signature inserted before the root's end
/// tag; nothing else changes. The document must be UTF-8 without a DOCTYPE and must not
/// already carry a `ds:Signature` child of the root.
///
/// # Errors
/// [`SignatureError::Xml`] for malformed input, [`SignatureError::AlreadySigned`],
/// [`SignatureError::EmptyRoot`], [`SignatureError::InvalidStructure`] for a bad signature id,
/// [`SignatureError::Crypto`] if the RSA operation fails.
pub fn sign(
    unsigned_xml: &[u8],
    key: &SigningKey,
    opts: &SignOptions,
) -> Result<Vec<u8>, SignatureError> {
    let (src, base) = c14n::as_utf8(unsigned_xml)?;
    let no_ctx = Context::default();
    let inclusive = Canonicalizer::new(Algorithm::Inclusive);
    let mut canon = Vec::with_capacity(src.len());
    let mut info = RootInfo::default();
    let source = c14n::Source {
        text: src,
        base,
        context: &no_ctx,
    };
    c14n::run(source, &inclusive, &mut canon, Some(&mut info))?;
    if info.signature_children > 0 {
        return Err(SignatureError::AlreadySigned);
    }
    let root_end = info.root_end.ok_or(SignatureError::EmptyRoot)?;
    let doc_digest_raw = digest::digest(&digest::SHA256, &canon);
    let doc_digest = B64.encode(doc_digest_raw.as_ref());

    let id = signature_id(opts, doc_digest_raw.as_ref())?;
    let sig_id = format!("Signature-{id}");
    let start_tag =
        format!(r#"<ds:Signature xmlns:ds="{DSIG_NS}" xmlns:xades="{XADES_NS}" Id="{sig_id}">"#);

    // ds:KeyInfo and ds:Object, which do not depend on SignedInfo.
    let mut tail = String::with_capacity(4096);
    tail.push_str(&start_tag);
    let key_info_at = tail.len();
    tail.push_str(r#"<ds:KeyInfo Id="KeyInfoId-"#);
    tail.push_str(&sig_id);
    tail.push_str(r#""><ds:X509Data><ds:X509Certificate>"#);
    tail.push_str(&key.cert_b64);
    tail.push_str(r"</ds:X509Certificate></ds:X509Data><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>");
    tail.push_str(&key.modulus_b64);
    tail.push_str(r"</ds:Modulus><ds:Exponent>");
    tail.push_str(&key.exponent_b64);
    tail.push_str(r"</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>");
    tail.push_str(r##"<ds:Object><xades:QualifyingProperties Target="#"##);
    tail.push_str(&sig_id);
    tail.push_str(r#"">"#);
    let signed_props_at = tail.len();
    tail.push_str(r#"<xades:SignedProperties Id="SignedProperties-"#);
    tail.push_str(&sig_id);
    tail.push_str(r#""><xades:SignedSignatureProperties><xades:SigningTime>"#);
    tail.push_str(&signing_time_text(opts));
    tail.push_str(r#"</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm=""#);
    tail.push_str(SHA256);
    tail.push_str(r#""/><ds:DigestValue>"#);
    tail.push_str(&key.cert_digest_b64);
    tail.push_str(r"</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>");
    push_text(&mut tail, key.certificate().issuer());
    tail.push_str(r"</ds:X509IssuerName><ds:X509SerialNumber>");
    tail.push_str(key.certificate().serial_number());
    tail.push_str(concat!(
        r"</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>",
        r"<xades:SignaturePolicyIdentifier><xades:SignaturePolicyId><xades:SigPolicyId><xades:Identifier>"
    ));
    tail.push_str(opts.policy.identifier());
    tail.push_str(r#"</xades:Identifier><xades:Description/></xades:SigPolicyId><xades:SigPolicyHash><ds:DigestMethod Algorithm=""#);
    tail.push_str(SHA256);
    tail.push_str(r#""/><ds:DigestValue>"#);
    tail.push_str(opts.policy.digest_sha256_base64());
    tail.push_str(concat!(
        r"</ds:DigestValue></xades:SigPolicyHash></xades:SignaturePolicyId></xades:SignaturePolicyIdentifier>",
        r"</xades:SignedSignatureProperties><xades:SignedDataObjectProperties>",
        r##"<xades:DataObjectFormat ObjectReference="#Reference-"##
    ));
    tail.push_str(&sig_id);
    tail.push_str(concat!(
        r#""><xades:MimeType>text/xml</xades:MimeType><xades:Encoding>UTF-8</xades:Encoding>"#,
        r"</xades:DataObjectFormat></xades:SignedDataObjectProperties></xades:SignedProperties>",
        r"</xades:QualifyingProperties></ds:Object>"
    ));

    // Digests of KeyInfo and SignedProperties: canonicalized from the very bytes that go
    // into the document, with the start tag of ds:Signature and the root's scope as context.
    let digest_of =
        |apex: usize, canon: &mut Vec<u8>, text: &str| -> Result<String, SignatureError> {
            canon.clear();
            let source = c14n::Source {
                text,
                base: 0,
                context: &info.context,
            };
            let apex = Canonicalizer::new(Algorithm::Inclusive).subtree_at(apex);
            c14n::run(source, &apex, canon, None)?;
            Ok(sha256_b64(canon))
        };
    let key_info_digest = digest_of(key_info_at, &mut canon, &tail)?;
    let signed_props_digest = digest_of(signed_props_at, &mut canon, &tail)?;

    let mut head = String::with_capacity(2048);
    head.push_str(&start_tag);
    let signed_info_at = head.len();
    head.push_str(concat!(
        r#"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
        r#"<ds:SignatureMethod Algorithm=""#
    ));
    head.push_str(RSA_SHA256);
    head.push_str(r#""/><ds:Reference Id="Reference-"#);
    head.push_str(&sig_id);
    head.push_str(r#"" URI=""><ds:Transforms><ds:Transform Algorithm=""#);
    head.push_str(ENVELOPED);
    head.push_str(r#""/></ds:Transforms><ds:DigestMethod Algorithm=""#);
    head.push_str(SHA256);
    head.push_str(r#""/><ds:DigestValue>"#);
    head.push_str(&doc_digest);
    head.push_str(r#"</ds:DigestValue></ds:Reference><ds:Reference Id="ReferenceKeyInfo-"#);
    head.push_str(&sig_id);
    head.push_str(r##"" URI="#KeyInfoId-"##);
    head.push_str(&sig_id);
    head.push_str(r#""><ds:DigestMethod Algorithm=""#);
    head.push_str(SHA256);
    head.push_str(r#""/><ds:DigestValue>"#);
    head.push_str(&key_info_digest);
    head.push_str(r#"</ds:DigestValue></ds:Reference><ds:Reference Type=""#);
    head.push_str(SIGNED_PROPERTIES_TYPE);
    head.push_str(r##"" URI="#SignedProperties-"##);
    head.push_str(&sig_id);
    head.push_str(r#""><ds:DigestMethod Algorithm=""#);
    head.push_str(SHA256);
    head.push_str(r#""/><ds:DigestValue>"#);
    head.push_str(&signed_props_digest);
    head.push_str(r"</ds:DigestValue></ds:Reference></ds:SignedInfo>");

    canon.clear();
    let source = c14n::Source {
        text: &head,
        base: 0,
        context: &info.context,
    };
    let signed_info = inclusive.subtree_at(signed_info_at);
    c14n::run(source, &signed_info, &mut canon, None)?;
    let signature_value = B64.encode(key.sign_rsa_sha256(&canon)?);

    let before = unsigned_xml
        .get(..root_end)
        .ok_or(SignatureError::EmptyRoot)?;
    let after = unsigned_xml
        .get(root_end..)
        .ok_or(SignatureError::EmptyRoot)?;
    let mut out = Vec::with_capacity(
        unsigned_xml.len() + head.len() + tail.len() + signature_value.len() + 128,
    );
    out.extend_from_slice(before);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(br#"<ds:SignatureValue Id="SignatureValue-"#);
    out.extend_from_slice(sig_id.as_bytes());
    out.extend_from_slice(br#"">"#);
    out.extend_from_slice(signature_value.as_bytes());
    out.extend_from_slice(b"</ds:SignatureValue>");
    out.extend_from_slice(tail.get(start_tag.len()..).unwrap_or_default().as_bytes());
    out.extend_from_slice(b"</ds:Signature>");
    out.extend_from_slice(after);
    Ok(out)
}
