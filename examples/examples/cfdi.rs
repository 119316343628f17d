//! CFDI 4.0 command line: cadena, verify, validate, sign, bench and demo.
//!
//! ```sh
//! cargo run -p examples --example cfdi -- cadena FILE            # cadena original (no trailing newline)
//! cargo run -p examples --example cfdi -- verify FILE            # exit 0 iff the Sello is valid,
//!                                                                # by a CSD of the Emisor's RFC
//! cargo run -p examples --example cfdi -- validate FILE          # findings as JSON lines
//! cargo run -p examples --example cfdi -- sign FILE --cer C --key K --password P
//! cargo run --release -p examples --example cfdi -- bench --n 2000 --conceptos 10
//! cargo run --release -p examples --example cfdi -- bench --n 2000 --conceptos 10 --mode verify
//! cargo run -p examples --example cfdi -- demo --out DIR         # signed I, E, P and global samples
//! ```
//!
//! `bench` and `demo` use the SAT test CSD `EKU9003173C9` from `cfdi/tests/fixtures/csd/` (password
//! `12345678a`) unless `--cer/--key/--password` are given.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cfdi::build::{ComprobanteBuilder, ConceptoInput, DoctoInput, ISR, PagoBuilder, PagosBuilder};
use cfdi::model::{
    CfdiRelacionados, Complemento, Emisor, InformacionGlobal, Receptor, TimbreFiscalDigital,
};
use cfdi::{Comprobante, Csd, SecretString};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: cfdi <command>
  cadena FILE
  verify FILE
  validate FILE
  sign FILE --cer C --key K --password P
  bench [--n N] [--conceptos K] [--mode build|verify] [--cer C --key K --password P]
  demo --out DIR [--cer C --key K --password P]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Value of `--name` in `args`.
fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn file_arg(args: &[String]) -> BoxResult<&str> {
    args.get(1).map(String::as_str).ok_or_else(|| USAGE.into())
}

/// Reads an input document: the size limit is checked on the file's metadata before reading
/// (a 200 MB file is refused at once), and errors name the path.
fn read_input(path: &str) -> Result<Vec<u8>, cfdi::Error> {
    let limit = cfdi::Limits::default().max_input_bytes();
    let file_error = |source| cfdi::Error::File {
        path: PathBuf::from(path),
        source,
    };
    let size = std::fs::metadata(path).map_err(file_error)?.len();
    if size > limit as u64 {
        return Err(cfdi::Error::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit,
        });
    }
    std::fs::read(path).map_err(file_error)
}

fn load_csd(args: &[String]) -> BoxResult<Csd> {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cfdi/tests/fixtures/csd");
    let cer = opt(args, "--cer")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures.join("EKU9003173C9.cer"));
    let key = opt(args, "--key")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures.join("EKU9003173C9.key"));
    let password = match opt(args, "--password") {
        Some(p) => p.to_string(),
        None => std::fs::read_to_string(fixtures.join("password.txt"))?,
    };
    Ok(Csd::from_files(cer, key, &SecretString::from(password))?)
}

fn run(args: &[String]) -> BoxResult<ExitCode> {
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    match cmd.as_str() {
        "cadena" => {
            let doc = cfdi::parse(&read_input(file_arg(args)?)?)?;
            let cadena = cfdi::cadena_original(&doc)?;
            let mut out = std::io::stdout().lock();
            out.write_all(cadena.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        "verify" => {
            let outcome = cfdi::parse(&read_input(file_arg(args)?)?).and_then(|d| cfdi::verify(&d));
            match outcome {
                Ok(v) if v.certificate_kind != cfdi::CertificateKind::Csd => {
                    println!(
                        "invalid: the Sello verifies, but certificate {} ({}) is {}, not a CSD: \
                         PACs reject it (CFDI40106)",
                        v.no_certificado, v.certificate_rfc, v.certificate_kind
                    );
                    Ok(ExitCode::from(1))
                }
                Ok(v) if !v.rfc_matches_emisor => {
                    println!(
                        "invalid: the Sello verifies, but certificate {} is for RFC {}, \
                         not the Emisor's: PACs reject it (CFDI40106)",
                        v.no_certificado, v.certificate_rfc
                    );
                    Ok(ExitCode::from(1))
                }
                Ok(v) => {
                    println!(
                        "valid: Sello verifies with CSD {} ({}, the Emisor's RFC)",
                        v.no_certificado, v.certificate_rfc
                    );
                    if v.certificate_valid_at_fecha == Some(false) {
                        println!("note: the certificate was not valid at Fecha");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("invalid: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "validate" => {
            let doc = cfdi::parse(&read_input(file_arg(args)?)?)?;
            let findings = cfdi::validate::validate(&doc);
            let mut out = std::io::stdout().lock();
            for f in &findings {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
            let errors = findings
                .iter()
                .any(|f| f.severity == cfdi::validate::Severity::Error);
            Ok(if errors {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        "sign" => {
            let mut doc = cfdi::parse(&read_input(file_arg(args)?)?)?;
            if opt(args, "--cer").is_none()
                || opt(args, "--key").is_none()
                || opt(args, "--password").is_none()
            {
                return Err(USAGE.into());
            }
            load_csd(args)?.seal(&mut doc)?;
            print!("{}", cfdi::to_xml(&doc));
            Ok(ExitCode::SUCCESS)
        }
        "bench" => bench(args),
        "demo" => demo(args),
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

const FECHA: &str = "2026-11-20T10:00:00";

fn emisor() -> Emisor {
    Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601")
}

fn receptor() -> Receptor {
    Receptor::new(
        "URE180429TM6",
        "UNIVERSIDAD ROBOTICA ESPAÑOLA",
        "86991",
        "601",
        "G03",
    )
}

/// The benchmark invoice: `k` conceptos with IVA 16 %.
fn invoice(folio: usize, k: usize) -> ComprobanteBuilder {
    ComprobanteBuilder::ingreso(FECHA, "42501")
        .serie("B")
        .folio(folio.to_string())
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(emisor())
        .receptor(receptor())
        .conceptos((0..k).map(|i| {
            ConceptoInput::new(
                "01010101",
                "H87",
                format!("Producto {i}"),
                Decimal::from(1 + i % 5),
                Decimal::new(10_050 + i as i64, 2),
            )
            .iva(dec!(0.16))
        }))
}

fn bench(args: &[String]) -> BoxResult<ExitCode> {
    let n: usize = opt(args, "--n").unwrap_or("1000").parse()?;
    let k: usize = opt(args, "--conceptos").unwrap_or("10").parse()?;
    let mode = opt(args, "--mode").unwrap_or("build");
    let csd = load_csd(args)?;
    let mut bytes = 0usize;
    let cpu_start;
    let elapsed = match mode {
        "build" => {
            // Untimed warm-up (allocator, caches), as for the Python side.
            for i in 0..n.div_ceil(10).min(50) {
                let mut doc = invoice(i, k).build()?;
                csd.seal(&mut doc)?;
                std::hint::black_box(cfdi::to_xml(&doc));
            }
            cpu_start = cpu_seconds().unwrap_or(0.0);
            let start = Instant::now();
            for i in 0..n {
                let mut doc = invoice(i, k).build()?;
                csd.seal(&mut doc)?;
                bytes += cfdi::to_xml(&doc).len();
            }
            start.elapsed()
        }
        "verify" => {
            let mut docs = Vec::with_capacity(n.min(1000));
            for i in 0..n.min(1000) {
                let mut doc = invoice(i, k).build()?;
                csd.seal(&mut doc)?;
                docs.push(cfdi::to_xml(&doc));
            }
            for xml in docs.iter().take(50) {
                std::hint::black_box(cfdi::verify(&cfdi::parse(xml.as_bytes())?)?);
            }
            cpu_start = cpu_seconds().unwrap_or(0.0);
            let start = Instant::now();
            for i in 0..n {
                let xml = &docs[i % docs.len()];
                let doc = cfdi::parse(xml.as_bytes())?;
                cfdi::verify(&doc)?;
                bytes += xml.len();
            }
            start.elapsed()
        }
        other => return Err(format!("unknown --mode {other}").into()),
    };
    let wall = elapsed.as_secs_f64();
    // CPU time of this process, like `openssl speed` (which divides by user CPU time), so the
    // figures stay comparable on a loaded machine; wall-clock time where it is not available.
    let secs = match cpu_seconds() {
        Some(end) if end > cpu_start => end - cpu_start,
        _ => wall,
    };
    println!(
        "mode={mode} n={n} conceptos={k} bytes={bytes} wall_seconds={wall:.3} cpu_seconds={secs:.3} wall_docs_per_sec={:.1}",
        n as f64 / wall
    );
    println!("docs_per_sec={:.1}", n as f64 / secs);
    Ok(ExitCode::SUCCESS)
}

/// CPU time consumed by this process so far (Linux `/proc/self/schedstat`, nanoseconds on CPU).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn demo(args: &[String]) -> BoxResult<ExitCode> {
    let out = PathBuf::from(opt(args, "--out").ok_or(USAGE)?);
    std::fs::create_dir_all(&out)?;
    let csd = load_csd(args)?;
    let write = |name: &str, mut doc: Comprobante| -> BoxResult<Comprobante> {
        csd.seal(&mut doc)?;
        let path = out.join(name);
        std::fs::write(&path, cfdi::to_xml(&doc))?;
        println!(
            "wrote {} (Total {} {})",
            path.display(),
            doc.total,
            doc.moneda
        );
        Ok(doc)
    };

    let mut ingreso = write(
        "ingreso.xml",
        ComprobanteBuilder::ingreso(FECHA, "42501")
            .serie("F")
            .folio("1001")
            .forma_pago("99")
            .metodo_pago("PPD")
            .emisor(emisor())
            .receptor(receptor())
            .concepto(
                ConceptoInput::new(
                    "81112100",
                    "E48",
                    "Hospedaje web anual",
                    dec!(1),
                    dec!(2400),
                )
                .iva(dec!(0.16)),
            )
            .concepto(
                ConceptoInput::new("80111600", "E48", "Consultoría", dec!(10), dec!(850))
                    .descuento(dec!(500))
                    .iva(dec!(0.16))
                    .retencion(ISR, dec!(0.10)),
            )
            .build()?,
    )?;
    // A PAC would add the TimbreFiscalDigital; the demo adds a placeholder one so the payment
    // receipt can reference the invoice's UUID.
    let mut tfd = TimbreFiscalDigital::default();
    tfd.version = "1.1".into();
    tfd.uuid = "7A5D3C1B-2E4F-4A6B-8C9D-0E1F2A3B4C5D".into();
    tfd.fecha_timbrado = FECHA.into();
    tfd.rfc_prov_certif = "SPR190613I52".into();
    tfd.sello_cfd = ingreso.sello.clone();
    tfd.no_certificado_sat = "30001000000500003456".into();
    tfd.sello_sat = "(demo)".into();
    ingreso.complemento = Some(vec![Complemento::Timbre(Box::new(tfd))]);

    write(
        "egreso.xml",
        ComprobanteBuilder::egreso(FECHA, "42501")
            .serie("NC")
            .folio("17")
            .forma_pago("15")
            .metodo_pago("PUE")
            .emisor(emisor())
            .receptor(Receptor::new(
                "URE180429TM6",
                "UNIVERSIDAD ROBOTICA ESPAÑOLA",
                "86991",
                "601",
                "G02",
            ))
            .relacionados(CfdiRelacionados::new(
                "01",
                ["7A5D3C1B-2E4F-4A6B-8C9D-0E1F2A3B4C5D"],
            ))
            .concepto(
                ConceptoInput::new("84111506", "ACT", "Bonificación", dec!(1), dec!(200))
                    .iva(dec!(0.16)),
            )
            .build()?,
    )?;

    let total = ingreso.total;
    write(
        "pago.xml",
        PagosBuilder::new(FECHA, "42501")
            .serie("P")
            .folio("55")
            .emisor(emisor())
            .receptor(receptor())
            .pago(
                PagoBuilder::new("2026-11-19T12:00:00", "03", "MXN", None)
                    .num_operacion("SPEI-000123")
                    .docto(DoctoInput::from_invoice(&ingreso, 1, total, dec!(5000))?),
            )
            .build()?,
    )?;

    write(
        "global.xml",
        ComprobanteBuilder::ingreso(FECHA, "42501")
            .serie("G")
            .folio("202611")
            .forma_pago("01")
            .metodo_pago("PUE")
            .informacion_global(InformacionGlobal::new("04", "11", "2026"))
            .emisor(emisor())
            .receptor(Receptor::publico_en_general("42501"))
            .concepto(
                ConceptoInput::new("01010101", "ACT", "Venta", dec!(1), dec!(1520.35))
                    .iva(dec!(0.16)),
            )
            .concepto(
                ConceptoInput::new("01010101", "ACT", "Venta", dec!(1), dec!(310.00))
                    .iva(dec!(0.16)),
            )
            .build()?,
    )?;
    Ok(ExitCode::SUCCESS)
}
