//! Quick start: the sync hub. Two tenants hand their customers, invoices, payments and a credit note to the
//! hub, which stores them durably in an SQLite file (in a temp dir) and drains them with concurrent workers into
//! each tenant's ERP — `MemoryErp` for one, the in-process QuickBooks Online mock for the other — in dependency
//! order, exactly once, and prints the sync log. Then it issues the first invoice as a sealed CFDI 4.0 (SAT test
//! CSD) and signs a Costa Rica factura electrónica v4.4 with a throwaway test key. Nothing leaves the machine.
//!
//! ```sh
//! cargo run -p examples --example quickstart
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use erp_hub_core::adapter::{ErpAdapter, WriteOp};
use erp_hub_core::http::{InMemoryTokenStore, TokenSet};
use erp_hub_core::hub::{Hub, HubConfig, HubStore, RecordFilter, Scope, SqliteStore};
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef,
    Payment, TaxId,
};
use erp_hub_core::money::{Currency, Rounding};
use erp_hub_core::tax::{Tax, TaxKind, TaxRate};
use erp_hub_core::testing::MemoryErp;
use erp_quickbooks::testing::{INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN, MockQuickBooks};
use erp_quickbooks::{QuickBooksAdapter, QuickBooksConfig, TaxMode};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const REALM: &str = "9130357992221046";

#[tokio::main]
async fn main() -> BoxResult<()> {
    // 1. The hub's store: one SQLite file (WAL, synchronous=FULL), migrated on open.
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn HubStore> = Arc::new(SqliteStore::open(dir.path().join("hub.db")).await?);
    // Short backoff for the demo; the defaults are 5 attempts with a 5 s base.
    let config = HubConfig::default()
        .with_workers(4)
        .with_poll(Duration::from_millis(20))
        .with_backoff(Duration::from_millis(50), Duration::from_secs(1));
    let hub = Hub::new(Arc::clone(&store), config);

    // 2. Tenant one: a Monterrey company on MemoryErp (stands in for any adapter).
    let norte = Scope::new("norte-mx", "memory:1");
    let erp = Arc::new(MemoryErp::new());
    hub.register(norte.clone(), erp.clone());

    // 3. Tenant two: a tour operator on QuickBooks Online México (the in-process mock).
    let sol = Scope::new("sol-mx", format!("quickbooks:{REALM}"));
    let mock = MockQuickBooks::start(REALM).await;
    hub.register(sol.clone(), Arc::new(quickbooks(&mock)?));

    // 4. Enqueue (durable before anything is sent). Order does not matter: the hub sends a customer before
    //    its invoice, and an invoice before its payment and credit note.
    let (norte_ops, invoice, total) = norte_records()?;
    hub.enqueue(&norte, norte_ops).await?;
    hub.enqueue(&sol, sol_records()?).await?;
    // One response lost after MemoryErp applied the write: the hub retries with the same key, no duplicate.
    erp.inject(1, erp_hub_core::testing::Fault::ApplyThenTimeout);

    // 5. Drain until every record is done (or dead-lettered).
    let status = hub.run_until_settled().await?;

    // 6. The sync log.
    println!(
        "{:<9} {:<12} {:<14} {:<6} {:>8}  remote",
        "tenant", "kind", "reference", "state", "attempts"
    );
    for r in store.records(&RecordFilter::all()).await? {
        println!(
            "{:<9} {:<12} {:<14} {:<6} {:>8}  {}",
            r.scope.tenant,
            r.kind.as_str(),
            r.external_ref,
            r.state.as_str(),
            r.attempts,
            r.remote
                .map(|x| x.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    for s in &status {
        println!(
            "scope {}: done {} dead {} backlog {}",
            s.scope,
            s.done,
            s.dead,
            s.backlog()
        );
    }
    let inv = store
        .find(&norte, EntityKind::Invoice, &invoice.external_ref)
        .await?
        .and_then(|r| r.remote)
        .ok_or("the invoice was not synced")?;
    let after = erp.get(EntityKind::Invoice, &inv.id).await?;
    println!(
        "balance   {} MXN still open on {} (MemoryErp holds {} invoice)",
        after.balance.unwrap_or_default(),
        after.remote,
        erp.count(EntityKind::Invoice)
    );

    issue_cfdi(&invoice, total)?;
    sign_costa_rica_factura()?;
    Ok(())
}

/// A customer, an invoice with IVA 16 % transferred and ISR 10 % withheld, and a 60 % payment.
fn norte_records() -> BoxResult<(Vec<WriteOp>, Invoice, rust_decimal::Decimal)> {
    let mut customer = Customer::new("cust-0001", "Comercializadora del Norte SA de CV");
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "CNO010101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("64000".into()),
    });
    customer.email = Some("cuentas@example.mx".into());
    customer.currency = Some(Currency::MXN);

    let iva = Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let isr = Tax::withheld("ISR", TaxRate::Percent(dec!(10)));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).ok_or("bad date")?;
    let mut invoice = Invoice::new(
        "inv-2026-0042",
        PartyRef::external("cust-0001"),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría contable, noviembre", dec!(12), dec!(1250.00))
            .with_tax(iva.clone())
            .with_tax(isr.clone()),
    )
    .with_line(
        InvoiceLine::new("Timbrado de nómina", dec!(35), dec!(18.50))
            .with_tax(iva)
            .with_tax(isr),
    );
    invoice.series = Some("A".into());
    invoice.number = Some("42".into());

    let totals = invoice.breakdown()?;
    println!("subtotal  {} {}", totals.subtotal.amount(), totals.currency);
    for g in &totals.groups {
        let kind = match g.kind {
            TaxKind::Transferred => "transferred",
            TaxKind::Withheld => "withheld",
            _ => "other",
        };
        let amount = g
            .amount
            .map(|m| m.amount().to_string())
            .unwrap_or_else(|| "exempt".into());
        println!("  {} {kind} on base {}: {amount}", g.code, g.base.amount());
    }
    println!("total     {} {}", totals.total.amount(), totals.currency);

    let paid = totals
        .total
        .checked_mul(dec!(0.60))?
        .round(Rounding::HalfUp)
        .amount();
    let mut payment = Payment::new(
        "pay-7781",
        PartyRef::external("cust-0001"),
        date,
        Currency::MXN,
        paid,
    )
    .apply_to(DocRef::external("inv-2026-0042"), paid);
    payment.method = Some("03".into()); // SAT c_FormaPago 03: transferencia electrónica
    let ops = vec![
        WriteOp::RecordPayment(payment),
        WriteOp::CreateInvoice(invoice.clone()),
        WriteOp::UpsertCustomer(customer),
    ];
    Ok((ops, invoice, totals.total.amount()))
}

/// A customer, an invoice, a partial payment and a credit note for the QuickBooks tenant.
fn sol_records() -> BoxResult<Vec<WriteOp>> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("date")?;
    let mut customer = Customer::new("cust-42", "Viajes del Sol S.A. de C.V.");
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "VSO990101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("06600".into()),
    });
    let party = PartyRef::external("cust-42");
    let invoice = Invoice::new("inv-1001", party.clone(), date, Currency::MXN)
        .with_line(
            InvoiceLine::new("Tour guiado (por persona)", dec!(4), dec!(850))
                .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
        )
        .with_line(
            InvoiceLine::new("Guía impresa", dec!(1), dec!(299))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        );
    let doc = DocRef::external("inv-1001");
    let payment = Payment::new("pay-7", party.clone(), date, Currency::MXN, dec!(2000))
        .apply_to(doc.clone(), dec!(2000));
    let credit = CreditNote::new("cn-3", party, doc, date, Currency::MXN).with_line(
        InvoiceLine::new("Cancelación de un lugar", dec!(1), dec!(850))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    Ok(vec![
        WriteOp::CreateCreditNote(credit),
        WriteOp::RecordPayment(payment),
        WriteOp::CreateInvoice(invoice),
        WriteOp::UpsertCustomer(customer),
    ])
}

/// The QuickBooks adapter pointed at the mock (for a real company: your app's credentials, the realm from the
/// OAuth callback and a durable token store).
fn quickbooks(mock: &MockQuickBooks) -> BoxResult<QuickBooksAdapter> {
    let tokens = Arc::new(InMemoryTokenStore::new());
    tokens.insert(
        REALM,
        TokenSet::new(INITIAL_ACCESS_TOKEN)
            .with_refresh_token(INITIAL_REFRESH_TOKEN)
            .with_expires_at(Utc::now() + chrono::Duration::minutes(55)),
    );
    let mut mapping = AccountMapping::new("quickbooks");
    mapping.income_account = Some("79".into());
    mapping.payment_account = Some("35".into());
    mapping.tax_codes.insert("IVA16".into(), "5".into());
    mapping.tax_codes.insert("IVA-EXEMPT".into(), "6".into());
    let config = QuickBooksConfig::new(
        mock.environment(),
        REALM,
        "my-client-id",
        "my-client-secret",
    )?
    .with_tax_mode(TaxMode::Global);
    Ok(QuickBooksAdapter::new(config, tokens)?.with_mapping(mapping))
}

/// The same invoice as a CFDI 4.0, sealed with SAT's public test CSD, then verified and validated offline.
fn issue_cfdi(invoice: &Invoice, erp_total: rust_decimal::Decimal) -> BoxResult<()> {
    use cfdi::build::{ComprobanteBuilder, ConceptoInput, ISR};
    use cfdi::model::{Emisor, Receptor};
    use cfdi::validate::Severity;

    // SAT's published test certificate (password 12345678a); never use it for real invoices.
    let csd = cfdi::Csd::from_bytes(
        include_bytes!("../../cfdi/tests/fixtures/csd/EKU9003173C9.cer"),
        include_bytes!("../../cfdi/tests/fixtures/csd/EKU9003173C9.key"),
        &cfdi::SecretString::from("12345678a"),
    )?;
    let mut builder = ComprobanteBuilder::ingreso("2026-11-20T10:00:00", "42501")
        .serie(invoice.series.clone().unwrap_or_default())
        .folio(invoice.number.clone().unwrap_or_default())
        .forma_pago("99") // por definir: paid in instalments
        .metodo_pago("PPD")
        .emisor(Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601"))
        .receptor(Receptor::new(
            "CNO010101AB1",
            "COMERCIALIZADORA DEL NORTE",
            "64000",
            "601",
            "G03",
        ));
    for line in &invoice.lines {
        builder = builder.concepto(
            ConceptoInput::new(
                "84111500",
                "E48",
                line.description.clone(),
                line.quantity,
                line.unit_price,
            )
            .iva(dec!(0.16))
            .retencion(ISR, dec!(0.10)),
        );
    }
    let mut doc = builder.build()?;
    csd.seal(&mut doc)?;
    let xml = cfdi::to_xml(&doc);
    let parsed = cfdi::parse(xml.as_bytes())?;
    let verified = cfdi::verify(&parsed)?;
    let errors = cfdi::validate::validate(&parsed)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    println!(
        "cfdi      total {} MXN (ERP total {erp_total}), {} bytes, NoCertificado {}, validation errors {errors}",
        doc.total,
        xml.len(),
        verified.no_certificado
    );
    if doc.total != erp_total {
        return Err(format!(
            "CFDI total {} differs from the ERP total {erp_total}",
            doc.total
        )
        .into());
    }
    Ok(())
}

/// A Costa Rica factura electrónica v4.4, signed XAdES-EPES with a throwaway test key and verified.
fn sign_costa_rica_factura() -> BoxResult<()> {
    use cr_einvoice::keystore::SigningKey;
    use cr_einvoice::xades::{self, SignOptions};
    use cr_einvoice::{
        Clave, CodigoSeguridad, Comprobante, Consecutivo, Identificacion, Impuesto, LineaDetalle,
        MedioPago, Parte, Situacion, TipoDocumento, TipoIdentificacion, Ubicacion,
    };

    let fecha = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:30:00-06:00")?;
    let consecutivo = Consecutivo::new(1, 1, TipoDocumento::FacturaElectronica, 42)?;
    let clave = Clave::new(
        Clave::fecha_de(&fecha),
        "3101234567",
        consecutivo,
        Situacion::Normal,
        &CodigoSeguridad::random(),
    )?;
    let emisor = Parte::new("Empresa Demo S.A.")
        .with_identificacion(Identificacion::new(
            TipoIdentificacion::CedulaJuridica,
            "3101234567",
        ))
        .with_ubicacion(Ubicacion::new(1, 1, 1, "100 m norte del parque central"))
        .with_correo("facturacion@demo.example");
    let receptor = Parte::new("Cliente Demo S.R.L.").with_identificacion(Identificacion::new(
        TipoIdentificacion::CedulaJuridica,
        "3109876543",
    ));
    let mut factura = Comprobante::new(clave, fecha, "3101234567", emisor, Some(receptor));
    factura.codigo_actividad_emisor = Some("620100".into());
    factura.lineas.push(
        LineaDetalle::new(
            "8314100000000",
            dec!(2),
            "Sp",
            "Consultoría en TI",
            dec!(50000),
        )
        .with_impuesto(Impuesto::iva("08", dec!(13))),
    );
    factura.resumen.medios_pago.push(MedioPago::new("04"));
    factura.compute_totals()?;

    // Throwaway self-signed test key (PIN 1234), see cr-einvoice/tests/fixtures/keys/README.md.
    let key = SigningKey::from_pkcs12(
        include_bytes!("../../cr-einvoice/tests/fixtures/keys/test-aes.p12"),
        &secrecy::SecretString::from("1234"),
    )?;
    let signed = factura.to_signed_xml(&key, &SignOptions::new())?;
    xades::verify(&signed, Some(key.certificate()))?;
    println!(
        "cr        clave {} total {} CRC, signed {} bytes, signature verified",
        factura.clave,
        factura.resumen.total_comprobante,
        signed.len()
    );
    Ok(())
}
