//! Costa Rica comprobantes electrónicos from the command line.
//!
//! ```text
//! cargo run -p examples --example cr -- clave FILE
//! cargo run -p examples --example cr -- sign FILE --p12 F --pin P
//! cargo run -p examples --example cr -- verify FILE [--cert PEM]
//! cargo run -p examples --example cr -- validate FILE [--revision 2024|2026]
//! cargo run -p examples --example cr -- bench --n N --lines K
//! cargo run -p examples --example cr -- demo --out DIR
//! ```
//!
//! * `clave FILE`: FILE holds a clave (50 characters) or a v4.4 document; prints the clave's parts
//!   as JSON.
//! * `sign FILE --p12 F --pin P`: checks that FILE is a v4.4 document, signs its bytes
//!   (XAdES-EPES) and writes the signed XML to stdout.
//! * `verify FILE [--cert PEM]`: exit 0 iff the signature is valid (and, with `--cert`, made
//!   with that certificate); prints a JSON summary.
//! * `validate FILE`: parses the document and runs the native validation rules; prints one JSON
//!   object per finding and exits with 0 iff there is no error.
//! * `bench --n N --lines K`: builds, validates, writes and signs N facturas of K lines with the
//!   crate's throwaway test key; the last line is `docs_per_sec=<number>`.
//! * `demo --out DIR`: creates a self-signed test key (`demo-test.p12`, PIN `1234`, with the
//!   `openssl` command-line tool) and writes one signed document of each type with made-up data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::process::Command;
use std::time::Instant;

use cr_einvoice::keystore::{Certificate, SigningKey};
use cr_einvoice::validate::Severity;
use cr_einvoice::xades::{self, SignOptions};
use cr_einvoice::{Clave, Documento, SchemaRevision, TipoDocumento, demo, parse};
use secrecy::SecretString;
use serde_json::json;

/// The crate's throwaway test key (self-signed, PIN 1234), used by `bench`.
const TEST_P12: &[u8] = include_bytes!("../../cr-einvoice/tests/fixtures/keys/test-aes.p12");

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  cr clave FILE\n  cr sign FILE --p12 F --pin P\n  cr verify FILE [--cert PEM]\n  cr validate FILE [--revision 2024|2026]\n  cr bench --n N --lines K\n  cr demo --out DIR"
    );
    ExitCode::from(2)
}

/// Reads an input file; the size limit is checked on its metadata first (a 200 MB file is
/// refused without reading it).
fn read(path: &str) -> Result<Vec<u8>, String> {
    let limit = cr_einvoice::Limits::default().max_input_bytes();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .len();
    if size > limit as u64 {
        return Err(format!(
            "{path}: input of {size} bytes exceeds the limit of {limit} bytes"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn clave_json(c: &Clave) -> serde_json::Value {
    let k = c.consecutivo();
    json!({
        "clave": c.as_str(),
        "pais": "506",
        "fecha": c.fecha().to_string(),
        "emisor": c.emisor(),
        "emisor_sin_relleno": c.emisor_sin_relleno(),
        "consecutivo": {
            "numero_consecutivo": k.to_string(),
            "sucursal": k.sucursal(),
            "terminal": k.terminal(),
            "tipo": k.tipo().code(),
            "tipo_nombre": k.tipo().short_name(),
            "numero": k.numero(),
        },
        "situacion": c.situacion().digit().to_string(),
        "codigo_seguridad": c.codigo_seguridad(),
        "numerica": c.is_numeric(),
    })
}

fn cmd_clave(file: &str) -> Result<ExitCode, String> {
    let bytes = read(file)?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim();
    let clave = if trimmed.len() == 50 && !trimmed.starts_with('<') {
        trimmed.parse::<Clave>().map_err(|e| e.to_string())?
    } else {
        match parse::documento(&bytes) {
            Ok(d) => d.clave().clone(),
            Err(e) => match parse::mensaje_hacienda(&bytes) {
                Ok(m) => m.clave,
                Err(_) => return Err(e.to_string()),
            },
        }
    };
    println!("{}", clave_json(&clave));
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate(file: &str, revision: Option<SchemaRevision>) -> Result<ExitCode, String> {
    let bytes = read(file)?;
    let report = match parse::documento_with_revision(&bytes, revision) {
        Ok(Documento::Comprobante(c)) => c.validate(),
        Ok(Documento::MensajeReceptor(m)) => m.validate(),
        Ok(_) => return Err("unsupported document".into()),
        Err(e) => {
            let (offset, reason) = match &e {
                cr_einvoice::Error::Parse { offset, reason } => (Some(*offset), reason.to_string()),
                other => (None, other.to_string()),
            };
            println!(
                "{}",
                json!({"code": "CR-PARSE", "severity": "error", "offset": offset, "message": reason})
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    for issue in &report.issues {
        let severity = match issue.severity {
            Severity::Error => "error",
            _ => "warning",
        };
        println!(
            "{}",
            json!({"code": issue.rule.code(), "severity": severity, "path": issue.path, "message": issue.message})
        );
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn load_key(p12: &Path, pin: &str) -> Result<SigningKey, String> {
    let bytes = std::fs::read(p12).map_err(|e| format!("cannot read {}: {e}", p12.display()))?;
    SigningKey::from_pkcs12(&bytes, &SecretString::from(pin.to_owned())).map_err(|e| e.to_string())
}

fn cmd_sign(file: &str, p12: &str, pin: &str) -> Result<ExitCode, String> {
    let bytes = read(file)?;
    // refuse anything that is not a v4.4 document; the bytes themselves are signed unchanged
    parse::documento(&bytes).map_err(|e| e.to_string())?;
    let key = load_key(Path::new(p12), pin)?;
    let signed = xades::sign(&bytes, &key, &SignOptions::new()).map_err(|e| e.to_string())?;
    use std::io::Write as _;
    std::io::stdout()
        .write_all(&signed)
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_verify(file: &str, cert: Option<&str>) -> Result<ExitCode, String> {
    let bytes = read(file)?;
    let cert = match cert {
        Some(path) => Some(Certificate::from_pem(&read(path)?).map_err(|e| e.to_string())?),
        None => None,
    };
    match xades::verify(&bytes, cert.as_ref()) {
        Ok(v) => {
            println!(
                "{}",
                json!({
                    "valid": true,
                    "subject": v.certificate().subject(),
                    "issuer": v.certificate().issuer(),
                    "references": v.references(),
                    "signing_time": v.signing_time().map(|t| t.to_rfc3339()),
                    "policy": v.policy_identifier(),
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"valid": false, "error": e.to_string()}));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn cmd_bench(n: usize, lines: usize) -> Result<ExitCode, String> {
    let key = SigningKey::from_pkcs12(TEST_P12, &SecretString::from("1234"))
        .map_err(|e| e.to_string())?;
    let opts = SignOptions::new();
    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T16:45:12-06:00")
        .map_err(|e| e.to_string())?;
    let n = n.max(1);
    let (mut build, mut sign, mut bytes) = (0f64, 0f64, 0usize);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let doc = demo::comprobante(
            TipoDocumento::FacturaElectronica,
            SchemaRevision::V2026,
            fecha,
            lines,
        )
        .map_err(|e| e.to_string())?;
        let xml = doc.to_xml().map_err(|e| e.to_string())?;
        let t1 = Instant::now();
        let signed = xades::sign(&xml, &key, &opts).map_err(|e| e.to_string())?;
        let t2 = Instant::now();
        build += (t1 - t0).as_secs_f64();
        sign += (t2 - t1).as_secs_f64();
        bytes += signed.len();
    }
    let total = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "docs": n,
            "lines": lines,
            "avg_signed_bytes": bytes / n,
            "build_validate_write_us": build / n as f64 * 1e6,
            "sign_us": sign / n as f64 * 1e6,
        })
    );
    println!("docs_per_sec={:.1}", n as f64 / total);
    Ok(ExitCode::SUCCESS)
}

/// Self-signed RSA-2048 test key and certificate, exported as PKCS#12 (PIN 1234) with openssl.
fn make_test_p12(out: &Path) -> Result<PathBuf, String> {
    let key = out.join("demo-test-key.pem");
    let cert = out.join("demo-test-cert.pem");
    let p12 = out.join("demo-test.p12");
    let run = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("openssl")
            .args(args)
            .output()
            .map_err(|e| format!("openssl is required for demo: {e}"))?;
        if status.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&status.stderr)
            ))
        }
    };
    let (k, c, p) = (
        key.to_str().ok_or("non-UTF-8 path")?,
        cert.to_str().ok_or("non-UTF-8 path")?,
        p12.to_str().ok_or("non-UTF-8 path")?,
    );
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        k,
        "-out",
        c,
        "-days",
        "30",
        "-subj",
        "/C=CR/O=PERSONA JURIDICA/OU=CPJ/CN=EMPRESA DEMO SOCIEDAD ANONIMA (TEST)",
    ])?;
    run(&[
        "pkcs12",
        "-export",
        "-inkey",
        k,
        "-in",
        c,
        "-passout",
        "pass:1234",
        "-out",
        p,
    ])?;
    Ok(p12)
}

fn cmd_demo(out: &Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let p12 = make_test_p12(out)?;
    let key = load_key(&p12, "1234")?;
    let opts = SignOptions::new();
    let now =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::west_opt(6 * 3600).ok_or("offset")?);
    let revision = SchemaRevision::in_force_at(&now);
    let mut written = Vec::new();
    for tipo in TipoDocumento::COMPROBANTES {
        let doc = demo::comprobante(tipo, revision, now, 3).map_err(|e| e.to_string())?;
        let xml = doc.to_signed_xml(&key, &opts).map_err(|e| e.to_string())?;
        let path = out.join(format!("{}_{}.xml", tipo.short_name(), doc.clave));
        std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    let mr = demo::mensaje_receptor(revision, now).map_err(|e| e.to_string())?;
    let path = out.join(format!("MR_{}.xml", mr.numero_consecutivo_receptor));
    let xml = mr.to_signed_xml(&key, &opts).map_err(|e| e.to_string())?;
    std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
    written.push(path);
    println!(
        "{}",
        json!({"p12": p12.display().to_string(), "pin": "1234", "test_key": true})
    );
    for p in &written {
        println!(
            "{}",
            json!({"written": p.display().to_string(), "revision": revision.as_str(), "signed": true})
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn number(s: &str) -> Result<usize, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    match args {
        [cmd, file] if cmd == "clave" => cmd_clave(file),
        [cmd, file] if cmd == "validate" => cmd_validate(file, None),
        [cmd, file, flag, rev] if cmd == "validate" && flag == "--revision" => {
            let revision = rev.parse::<SchemaRevision>().map_err(|e| e.to_string())?;
            cmd_validate(file, Some(revision))
        }
        [cmd, flag, dir] if cmd == "demo" && flag == "--out" => cmd_demo(&PathBuf::from(dir)),
        [cmd, file, f1, p12, f2, pin] if cmd == "sign" && f1 == "--p12" && f2 == "--pin" => {
            cmd_sign(file, p12, pin)
        }
        [cmd, file] if cmd == "verify" => cmd_verify(file, None),
        [cmd, file, flag, cert] if cmd == "verify" && flag == "--cert" => {
            cmd_verify(file, Some(cert))
        }
        [cmd, f1, n, f2, k] if cmd == "bench" && f1 == "--n" && f2 == "--lines" => {
            cmd_bench(number(n)?, number(k)?)
        }
        _ => Ok(usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
