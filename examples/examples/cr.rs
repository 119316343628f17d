//! Costa Rica comprobantes electrónicos from the command line.
//!
//! ```text
//! cargo run -p examples --example cr -- clave FILE
//! cargo run -p examples --example cr -- validate FILE [--revision 2024|2026]
//! cargo run -p examples --example cr -- demo --out DIR
//! ```
//!
//! * `clave FILE`: FILE holds a clave (50 characters) or a v4.4 document; prints the clave's parts
//!   as JSON.
//! * `validate FILE`: parses the document and runs the native validation rules; prints one JSON
//!   object per finding and exits with 0 iff there is no error.
//! * `demo --out DIR`: writes one (unsigned) document of each type with made-up data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cr_einvoice::validate::Severity;
use cr_einvoice::{Clave, Documento, SchemaRevision, TipoDocumento, demo, parse};
use serde_json::json;

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  cr clave FILE\n  cr validate FILE [--revision 2024|2026]\n  cr demo --out DIR"
    );
    ExitCode::from(2)
}

fn read(path: &str) -> Result<Vec<u8>, String> {
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

fn cmd_demo(out: &Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let now =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::west_opt(6 * 3600).ok_or("offset")?);
    let revision = SchemaRevision::in_force_at(&now);
    let mut written = Vec::new();
    for tipo in TipoDocumento::COMPROBANTES {
        let doc = demo::comprobante(tipo, revision, now, 3).map_err(|e| e.to_string())?;
        let xml = doc.to_xml().map_err(|e| e.to_string())?;
        let path = out.join(format!("{}_{}.xml", tipo.short_name(), doc.clave));
        std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    let mr = demo::mensaje_receptor(revision, now).map_err(|e| e.to_string())?;
    let path = out.join(format!("MR_{}.xml", mr.numero_consecutivo_receptor));
    std::fs::write(&path, mr.to_xml().map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    written.push(path);
    for p in &written {
        println!(
            "{}",
            json!({"written": p.display().to_string(), "revision": revision.as_str(), "signed": false})
        );
    }
    Ok(ExitCode::SUCCESS)
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
