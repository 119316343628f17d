//! Quick start: push a customer, an invoice with IVA 16 % and an ISR 10 % withholding, and a partial payment
//! into an ERP — here the in-memory `MemoryErp`, so it runs offline — and print the totals and remote refs.
//! Then issue the same invoice as a sealed CFDI 4.0 (SAT test CSD) and validate it, and sign a Costa Rica
//! factura electrónica v4.4 with a throwaway test key. Nothing leaves the machine.
//!
//! ```sh
//! cargo run -p examples --example quickstart
//! ```

use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{
    Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::{Currency, Rounding};
use erp_hub_core::tax::{Tax, TaxKind, TaxRate};
use erp_hub_core::testing::MemoryErp;
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let erp: Box<dyn ErpAdapter> = Box::new(MemoryErp::new());
    let company = erp.test_connection().await?;
    println!(
        "connected to {} ({}), home currency {}",
        company.name,
        erp.provider(),
        company.home_currency.unwrap_or_default()
    );

    // 1. The customer, matched by our own reference on every later upsert.
    let mut customer = Customer::new("cust-0001", "Comercializadora del Norte SA de CV");
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "CNO010101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("64000".into()),
    });
    customer.email = Some("cuentas@example.mx".into());
    customer.currency = Some(Currency::MXN);
    let customer_ref = erp
        .upsert_customer(&customer, &IdempotencyKey::new("cust-0001-upsert")?)
        .await?;
    println!("customer  {customer_ref}");

    // 2. An invoice: professional services with IVA 16 % transferred and ISR 10 % withheld.
    let iva = Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let isr = Tax::withheld("ISR", TaxRate::Percent(dec!(10)));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).ok_or("bad date")?;
    let mut invoice = Invoice::new(
        "inv-2026-0042",
        PartyRef::resolved("cust-0001", customer_ref.id.clone()),
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

    let invoice_ref = erp
        .create_invoice(&invoice, &IdempotencyKey::new("inv-2026-0042-create")?)
        .await?;
    println!(
        "invoice   {invoice_ref} number {}",
        invoice_ref.number.as_deref().unwrap_or("-")
    );

    // 3. A partial payment: 60 % of the total, by bank transfer.
    let paid = totals
        .total
        .checked_mul(dec!(0.60))?
        .round(Rounding::HalfUp)
        .amount();
    let mut payment = Payment::new(
        "pay-7781",
        PartyRef::resolved("cust-0001", customer_ref.id.clone()),
        date,
        Currency::MXN,
        paid,
    )
    .apply_to(
        DocRef::resolved("inv-2026-0042", invoice_ref.id.clone()),
        paid,
    );
    payment.method = Some("03".into()); // SAT c_FormaPago 03: transferencia electrónica
    let payment_ref = erp
        .record_payment(&payment, &IdempotencyKey::new("pay-7781-record")?)
        .await?;
    println!("payment   {payment_ref} amount {paid}");

    let after = erp.get(EntityKind::Invoice, &invoice_ref.id).await?;
    println!(
        "balance   {} MXN still open on {}",
        after.balance.unwrap_or_default(),
        after.remote
    );

    issue_cfdi(&invoice, totals.total.amount())?;
    sign_costa_rica_factura()?;
    Ok(())
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
