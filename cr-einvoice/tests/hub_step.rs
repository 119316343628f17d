//! The Costa Rica fiscal step (feature `hub`) against a mock Hacienda over local HTTP that answers 202,
//! decides asynchronously, signs its MensajeHacienda, rejects some documents and goes down.
#![cfg(feature = "hub")]
#![allow(missing_docs)]

mod hacienda_mock;
mod hub_support;
mod v43_docs;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use cr_einvoice::api::{HaciendaClient, HaciendaConfig, PasswordCredentials, RetryPolicy};
use cr_einvoice::hub::{
    ACCEPTED, CrHubError, CrProfile, CrStep, MENSAJE_HACIENDA_SERIES, MemoryDirectory, RECEIVED,
};
use erp_hub_core::ErrorKind;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::fiscal::{FiscalKey, FiscalStep, JournalEntry, MemoryStampJournal, StampJournal};
use erp_hub_core::hub::numbering::{MemoryNumbers, NumberStore, Series};
use erp_hub_core::model::{
    CedulaType, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment,
    PaymentApplication, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use hacienda_mock::HaciendaMock;
use hub_support::{fixture, p12, supplier_fe};
use rust_decimal_macros::dec;

const TENANT: &str = "cr-demo";

fn profile(credito_iva_diferido: bool) -> CrProfile {
    let json = serde_json::json!({
        "emisor": {
            "nombre": "Empresa Demo Sociedad Anónima", "tipo_identificacion": "02", "numero": "3101234567",
            "codigo_actividad": "620100", "provincia": 1, "canton": 1, "distrito": 1,
            "otras_senas": "100 m norte del parque central", "correo": "facturacion@demo.example"
        },
        "llave": { "p12": fixture("keys/test-aes.p12"), "pin": "1234" },
        "proveedor_sistemas": "3101234567",
        "sucursal": 1, "terminal": 2,
        "cabys_servicio": { "cabys": "8314100000000", "unidad": "Sp" },
        "cabys_mercancia": { "cabys": "4399100000000", "unidad": "Unid" },
        "credito_iva_diferido": credito_iva_diferido
    });
    serde_json::from_value(json).unwrap()
}

fn client(mock: &HaciendaMock) -> HaciendaClient {
    let config = HaciendaConfig::sandbox()
        .with_urls(
            format!("{}/token", mock.uri()),
            format!("{}/recepcion/v1/recepcion", mock.uri()),
        )
        .with_retry(RetryPolicy::never())
        .with_request_timeout(Duration::from_secs(5));
    HaciendaClient::new(
        config,
        PasswordCredentials::new("cpj-3-101-234567@stag", "pw"),
    )
    .unwrap()
}

struct Env {
    mock: HaciendaMock,
    journal: Arc<MemoryStampJournal>,
    numbers: Arc<MemoryNumbers>,
    directory: Arc<MemoryDirectory>,
    profile: CrProfile,
}

impl Env {
    async fn new(pending_polls: u32, credito_iva_diferido: bool) -> Self {
        Self {
            mock: HaciendaMock::start_new(p12("receive/hacienda-other.p12"), pending_polls).await,
            journal: Arc::new(MemoryStampJournal::new()),
            numbers: Arc::new(MemoryNumbers::new()),
            directory: Arc::new(MemoryDirectory::new()),
            profile: profile(credito_iva_diferido),
        }
    }

    /// A step over the shared stores (a "process": a new one after a restart).
    fn step(&self) -> CrStep {
        let hacienda = p12("receive/hacienda-other.p12").certificate().clone();
        CrStep::new(
            self.journal.clone(),
            self.numbers.clone(),
            self.directory.clone(),
        )
        .with_tenant(
            TENANT,
            self.profile.clone(),
            self.profile.load_key().unwrap(),
            client(&self.mock),
        )
        .with_hacienda_certificate(hacienda)
        .with_poll_after(Duration::from_millis(10))
    }
}

fn customer(r: &str, cedula: bool) -> Customer {
    let mut c = Customer::new(r, "Cliente Demo S.R.L.");
    if cedula {
        c.tax_ids.push(TaxId::CrCedula {
            kind: CedulaType::Juridica,
            number: "3109876543".into(),
        });
    }
    c
}

fn invoice(r: &str, customer: &str, detalle: &str) -> Invoice {
    let mut inv = Invoice::new(
        r,
        PartyRef::external(customer),
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        Currency::from_code("CRC").unwrap(),
    );
    inv.lines.push(
        InvoiceLine::new(detalle, dec!(2), dec!(15000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
    );
    inv
}

/// Runs the step until it is final (as the hub's retries would), returning the result and the attempts.
async fn settle(
    step: &CrStep,
    op: &WriteOp,
) -> (
    Result<Option<erp_hub_core::fiscal::FiscalStamp>, CrHubError>,
    u32,
) {
    for n in 1..=20 {
        match step.stamp_document(TENANT, op).await {
            Err(CrHubError::Pending { .. }) => continue,
            other => return (other, n),
        }
    }
    panic!("not final after 20 attempts");
}

async fn setup_customers(step: &CrStep) {
    for (r, ced) in [("c-ced", true), ("c-walkin", false)] {
        step.stamp(TENANT, &WriteOp::UpsertCustomer(customer(r, ced)))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn invoice_becomes_an_accepted_fe_polled_on_the_hubs_schedule_and_never_reposted() {
    let env = Env::new(1, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let op = WriteOp::CreateInvoice(invoice("inv-1", "c-ced", "Consultoría"));

    // First attempt: POST 202, estado procesando -> a retry-later outcome, not a loop.
    let e = step.stamp_document(TENANT, &op).await.unwrap_err();
    let retry = e.retry_after();
    assert!(matches!(e, CrHubError::Pending { .. }), "{e}");
    assert_eq!(retry, Some(Duration::from_millis(10)));
    let message = e.to_string();
    let core = erp_hub_core::Error::from(e);
    // The hub comes back after Hacienda's poll time (not its own backoff); the retry only asks the estado.
    assert_eq!(core.kind(), ErrorKind::Transient);
    assert_eq!(core.retry_hint(), Some(Duration::from_millis(10)));
    assert!(core.to_string().contains(&message), "{core}");
    assert!(
        message.contains("procesando at Hacienda; poll the estado again in 10ms"),
        "{message}"
    );
    let key = FiscalKey::new(TENANT, EntityKind::Invoice, "inv-1");
    match env.journal.get(&key).await.unwrap() {
        Some(JournalEntry::Pending { attempts, .. }) => {
            assert!(attempts.iter().any(|a| a.certifier == RECEIVED))
        }
        other => panic!("{other:?}"),
    }

    // A "restarted process" (new step, same stores) only polls.
    let stamp = env.step().stamp(TENANT, &op).await.unwrap().unwrap();
    assert_eq!(stamp.certifier, ACCEPTED);
    assert_eq!(stamp.uuid.len(), 50);
    assert_eq!(
        &stamp.uuid[21..41],
        "00100002010000000001",
        "sucursal 1, terminal 2, FE, número 1"
    );
    assert_eq!(&stamp.uuid[41..42], "1", "situación normal");
    assert_eq!(stamp.folio.as_deref(), Some("1"));
    assert_eq!(stamp.total, dec!(33900));
    cr_einvoice::xades::verify(stamp.xml.as_bytes(), None).unwrap();

    // The MensajeHacienda is stored and verifies with Hacienda's certificate.
    let series = Series::new("3101234567", MENSAJE_HACIENDA_SERIES);
    let mh = env
        .numbers
        .get(&series, &stamp.uuid)
        .await
        .unwrap()
        .unwrap();
    let hacienda = p12("receive/hacienda-other.p12").certificate().clone();
    cr_einvoice::xades::verify(&mh.document, Some(&hacienda)).unwrap();
    assert_eq!(
        cr_einvoice::parse::mensaje_hacienda(&mh.document)
            .unwrap()
            .clave
            .as_str(),
        stamp.uuid
    );

    // Again: the stored stamp, no HTTP at all.
    let again = step.stamp(TENANT, &op).await.unwrap().unwrap();
    assert_eq!(again, stamp);
    let rec = &env.mock.records()[&stamp.uuid];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
    assert_eq!(rec.polls, 2);
}

#[tokio::test]
async fn te_for_a_receptor_without_identification_and_nc_referencing_the_original_clave() {
    let env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let te = WriteOp::CreateInvoice(invoice("inv-te", "c-walkin", "Venta de mostrador"));
    let (te, _) = settle(&step, &te).await;
    let te = te.unwrap().unwrap();
    assert_eq!(&te.uuid[29..31], "04", "a tiquete");
    assert!(!te.xml.contains("<Receptor>"));

    // NC before its invoice is accepted: not issued yet (retried), nothing numbered.
    let mut cn = CreditNote::new(
        "cn-1",
        PartyRef::external("c-ced"),
        DocRef::external("inv-fe"),
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        Currency::from_code("CRC").unwrap(),
    );
    cn.lines.push(
        InvoiceLine::new("Devolución", dec!(1), dec!(15000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
    );
    let cn_op = WriteOp::CreateCreditNote(cn);
    let e = step.stamp_document(TENANT, &cn_op).await.unwrap_err();
    assert!(matches!(e, CrHubError::NotIssued { .. }), "{e}");
    assert_eq!(erp_hub_core::Error::from(e).kind(), ErrorKind::Transient);

    let (fe, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-fe", "c-ced", "Consultoría")),
    )
    .await;
    let fe = fe.unwrap().unwrap();
    assert_eq!(&fe.uuid[29..31], "01");
    let (nc, _) = settle(&step, &cn_op).await;
    let nc = nc.unwrap().unwrap();
    assert_eq!(&nc.uuid[29..31], "03");
    assert!(
        nc.xml.contains(&format!("<Numero>{}</Numero>", fe.uuid)),
        "InformacionReferencia to the FE"
    );
    assert!(nc.xml.contains("<Codigo>04</Codigo>"), "partial credit");
    let last = |tipo| {
        let numbers = env.numbers.clone();
        let s = CrStep::series(&env.profile, tipo);
        async move { numbers.last(&s).await.unwrap() }
    };
    assert_eq!(
        last(cr_einvoice::TipoDocumento::FacturaElectronica).await,
        1
    );
    assert_eq!(
        last(cr_einvoice::TipoDocumento::TiqueteElectronico).await,
        1
    );
    assert_eq!(
        last(cr_einvoice::TipoDocumento::NotaCreditoElectronica).await,
        1
    );
}

#[tokio::test]
async fn a_rejected_document_surfaces_hacienda_detail_and_its_clave_is_never_reused() {
    let env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let bad = WriteOp::CreateInvoice(invoice("inv-bad", "c-ced", "RECHAZAR este"));
    let (r, _) = settle(&step, &bad).await;
    let e = r.unwrap_err();
    let CrHubError::Rechazado { clave, detalle, .. } = &e else {
        panic!("{e}")
    };
    assert!(detalle.contains("-37"), "{detalle}");
    let clave = clave.clone();
    let core = erp_hub_core::Error::from(e);
    assert_eq!(core.kind(), ErrorKind::Validation);
    assert!(
        core.to_string().contains("no corresponde a la suma"),
        "{core}"
    );

    // Retrying the same record repeats the rejection (from the stored MensajeHacienda), no new POST.
    let e2 = env.step().stamp_document(TENANT, &bad).await.unwrap_err();
    assert!(
        matches!(&e2, CrHubError::Rechazado { clave: c, detalle, .. } if *c == clave && detalle.contains("-37")),
        "{e2}"
    );
    assert_eq!(env.mock.records()[&clave].posts, 1);

    // A credit note of the rejected invoice is refused at once (nothing to credit), not retried forever.
    let mut cn = CreditNote::new(
        "cn-bad",
        PartyRef::external("c-ced"),
        DocRef::external("inv-bad"),
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        Currency::from_code("CRC").unwrap(),
    );
    cn.lines
        .push(InvoiceLine::new("Devolución", dec!(1), dec!(100)));
    let e = erp_hub_core::Error::from(
        step.stamp_document(TENANT, &WriteOp::CreateCreditNote(cn))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.to_string().contains("Hacienda rejected"), "{e}");

    // The correction is a new document: a new consecutivo and clave.
    let (ok, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-bad-fix", "c-ced", "Consultoría")),
    )
    .await;
    let ok = ok.unwrap().unwrap();
    assert_ne!(ok.uuid, clave);
    assert_eq!(&ok.uuid[31..41], "0000000002");
}

#[tokio::test]
async fn a_sent_clave_with_unknown_outcome_is_asked_before_any_resend() {
    let env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let op = WriteOp::CreateInvoice(invoice("inv-x", "c-ced", "Consultoría"));
    let (stamp, _) = settle(&step, &op).await;
    let stamp = stamp.unwrap().unwrap();
    // Rewind the journal to "sent, outcome unknown" (a crash right after the POST): the next attempt asks
    // the estado, finds the clave and never POSTs again.
    let journal = Arc::new(MemoryStampJournal::new());
    let key = FiscalKey::new(TENANT, EntityKind::Invoice, "inv-x");
    journal.begin(&key, &stamp.xml).await.unwrap();
    journal.sending(&key, cr_einvoice::hub::SENT).await.unwrap();
    let step2 = CrStep::new(journal.clone(), env.numbers.clone(), env.directory.clone())
        .with_tenant(
            TENANT,
            env.profile.clone(),
            env.profile.load_key().unwrap(),
            client(&env.mock),
        )
        .with_hacienda_certificate(p12("receive/hacienda-other.p12").certificate().clone());
    let again = step2.stamp(TENANT, &op).await.unwrap().unwrap();
    assert_eq!(again.uuid, stamp.uuid);
    let rec = &env.mock.records()[&stamp.uuid];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
}

#[tokio::test]
async fn contingency_issues_with_situacion_3_queues_and_submits_when_hacienda_is_back() {
    let mut env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    env.mock.stop();
    let a = WriteOp::CreateInvoice(invoice("inv-a", "c-ced", "Consultoría"));
    let b = WriteOp::CreateInvoice(invoice("inv-b", "c-walkin", "Venta de mostrador"));
    let c = WriteOp::CreateInvoice(invoice("inv-c", "c-ced", "Soporte"));
    let mut claves = Vec::new();
    for op in [&a, &b, &c] {
        let e = step.stamp_document(TENANT, op).await.unwrap_err();
        let CrHubError::Contingencia { clave, .. } = &e else {
            panic!("{e}")
        };
        claves.push(clave.clone());
        let core = erp_hub_core::Error::from(e);
        assert_eq!(core.kind(), ErrorKind::Transient);
        assert!(core.to_string().contains("contingencia"), "{core}");
    }
    // The first was issued before Hacienda was known to be down; the next ones carry situación 3.
    assert_eq!(&claves[0][41..42], "1");
    assert_eq!(&claves[1][41..42], "3");
    assert_eq!(&claves[2][41..42], "3");
    assert_eq!(step.backlog(TENANT), 3);
    // Retried while still down: the same signed documents, no new consecutivo.
    assert!(matches!(
        step.stamp_document(TENANT, &a).await,
        Err(CrHubError::Contingencia { .. })
    ));
    assert_eq!(
        env.numbers
            .last(&CrStep::series(
                &env.profile,
                cr_einvoice::TipoDocumento::FacturaElectronica
            ))
            .await
            .unwrap(),
        2
    );

    env.mock.start().await;
    for (op, clave) in [&a, &b, &c].into_iter().zip(&claves) {
        let (s, _) = settle(&step, op).await;
        assert_eq!(&s.unwrap().unwrap().uuid, clave);
    }
    assert_eq!(step.backlog(TENANT), 0);
    for r in env.mock.records().values() {
        assert_eq!((r.posts, r.posts_after_202), (1, 0));
    }

    // Situación 2 with the paper document's reference, when the record carries it.
    let mut papel = invoice("inv-papel", "c-ced", "Consultoría");
    papel.passthrough = serde_json::json!({"cr_contingencia": {"numero": "P-000123", "fecha": "2026-12-05T08:00:00-06:00"}});
    let (s, _) = settle(&step, &WriteOp::CreateInvoice(papel)).await;
    let s = s.unwrap().unwrap();
    assert_eq!(&s.uuid[41..42], "2");
    assert!(
        s.xml.contains("<Numero>P-000123</Numero>") && s.xml.contains("<TipoDocIR>08</TipoDocIR>")
    );
}

#[tokio::test]
async fn payments_of_deferred_iva_credit_sales_get_a_rep_others_get_nothing() {
    let env = Env::new(0, true).await;
    let step = env.step();
    setup_customers(&step).await;
    let mut credit = invoice("inv-cr", "c-ced", "Servicio a crédito");
    credit.due_date = NaiveDate::from_ymd_opt(2027, 1, 4);
    let (fe, _) = settle(&step, &WriteOp::CreateInvoice(credit)).await;
    let fe = fe.unwrap().unwrap();
    assert!(fe.xml.contains("<CondicionVenta>10</CondicionVenta>"));
    let mut pay = Payment::new(
        "pay-1",
        PartyRef::external("c-ced"),
        NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
        Currency::from_code("CRC").unwrap(),
        dec!(11300),
    );
    pay.applications.push(PaymentApplication::new(
        DocRef::external("inv-cr"),
        dec!(11300),
    ));
    let (rep, _) = settle(&step, &WriteOp::RecordPayment(pay)).await;
    let rep = rep.unwrap().unwrap();
    assert_eq!(&rep.uuid[29..31], "10", "a REP");
    assert!(rep.xml.contains(&format!("<Numero>{}</Numero>", fe.uuid)));
    assert!(rep.xml.contains("<Codigo>17</Codigo>"));

    // A cash sale's payment: no comprobante.
    let (cash, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-cash", "c-ced", "Consultoría")),
    )
    .await;
    cash.unwrap().unwrap();
    let mut pay2 = Payment::new(
        "pay-2",
        PartyRef::external("c-ced"),
        NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
        Currency::from_code("CRC").unwrap(),
        dec!(33900),
    );
    pay2.applications.push(PaymentApplication::new(
        DocRef::external("inv-cash"),
        dec!(33900),
    ));
    assert!(
        step.stamp(TENANT, &WriteOp::RecordPayment(pay2))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bad_input_is_a_validation_error_naming_record_and_field_and_consumes_nothing() {
    let env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let mut inv = invoice("inv-isr", "c-ced", "Consultoría");
    inv.lines[0]
        .taxes
        .push(Tax::withheld("ISR", TaxRate::Percent(dec!(2))));
    let e = erp_hub_core::Error::from(
        step.stamp_document(TENANT, &WriteOp::CreateInvoice(inv))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.to_string().contains("inv-isr: lines[0].taxes[1]"), "{e}");
    let fe = CrStep::series(&env.profile, cr_einvoice::TipoDocumento::FacturaElectronica);
    assert_eq!(env.numbers.last(&fe).await.unwrap(), 0);
    assert!(env.mock.records().is_empty());
}

#[tokio::test]
async fn a_received_supplier_invoice_is_answered_with_a_mensaje_receptor_through_the_same_queue() {
    use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
    let env = Env::new(1, false).await;
    let step = env.step();
    let (signed, supplier_clave) = supplier_fe();
    let signed = signed.into_bytes();
    let receiver = Receiver::new(cr_einvoice::demo::RECEPTOR_CEDULA).accept_any_issuer();
    let respuesta = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let mut result = step
        .respond_received(TENANT, &receiver, &signed, &respuesta)
        .await;
    for _ in 0..5 {
        if !matches!(result, Err(CrHubError::Pending { .. })) {
            break;
        }
        result = step
            .respond_received(TENANT, &receiver, &signed, &respuesta)
            .await;
    }
    let stamp = result.unwrap();
    let key = format!("{supplier_clave}-00100002050000000001");
    assert_eq!(
        stamp.uuid, key,
        "status key clave-consecutivoReceptor, tipo 05"
    );
    assert!(stamp.xml.contains("<MensajeReceptor"));
    let rec = &env.mock.records()[&key];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
    // Answered once: asking again returns the same stamp.
    let again = step
        .respond_received(TENANT, &receiver, &signed, &respuesta)
        .await
        .unwrap();
    assert_eq!(again, stamp);
}

#[tokio::test]
async fn a_received_v43_supplier_invoice_is_answered_with_a_v44_mensaje_receptor() {
    use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
    let env = Env::new(0, false).await;
    let step = env.step();
    let spec = v43_docs::factura();
    let signed = spec.signed();
    let receiver = Receiver::new(cr_einvoice::demo::RECEPTOR_CEDULA).accept_any_issuer();
    let respuesta = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let mut result = step
        .respond_received(TENANT, &receiver, &signed, &respuesta)
        .await;
    for _ in 0..5 {
        if !matches!(result, Err(CrHubError::Pending { .. })) {
            break;
        }
        result = step
            .respond_received(TENANT, &receiver, &signed, &respuesta)
            .await;
    }
    let stamp = result.unwrap();
    assert_eq!(stamp.uuid, format!("{}-00100002050000000001", spec.clave()));
    assert!(
        stamp.xml.contains("xml-schemas/v4.4/mensajeReceptor"),
        "{}",
        stamp.xml
    );
    let acreditar = stamp
        .xml
        .split("<MontoTotalImpuestoAcreditar>")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap();
    assert_eq!(
        acreditar.parse::<cr_einvoice::Decimal>().unwrap(),
        spec.iva()
    );
    let errors = xmllint_errors(&stamp.xml, "v4.4/MensajeReceptor_V4.4.xsd");
    assert!(errors.is_empty(), "{errors:?}");
    let rec = &env.mock.records()[&stamp.uuid];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
}

#[tokio::test]
async fn a_supplier_document_that_is_not_acceptable_is_only_rejected_and_takes_no_number() {
    use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
    let env = Env::new(0, false).await;
    let step = env.step();
    let (signed, _) = supplier_fe();
    let signed = signed.into_bytes();
    // Addressed to someone else (and, by default policy, not a Hacienda certificate either).
    let receiver = Receiver::new("3101555555");
    for respuesta in [
        Respuesta::aceptado(CondicionImpuesto::CreditoGeneral),
        Respuesta::aceptado_parcial(CondicionImpuesto::CreditoGeneral, "parcial"),
    ] {
        let err = step
            .respond_received(TENANT, &receiver, &signed, &respuesta)
            .await
            .unwrap_err();
        match &err {
            CrHubError::Document { source, .. } => match source.as_ref() {
                cr_einvoice::Error::NotAcceptable { codes, .. } => {
                    assert!(codes.iter().any(|c| c == "CR-RECV-RECEPTOR"), "{codes:?}");
                    assert!(
                        codes.iter().any(|c| c == "CR-RECV-CERT-ISSUER"),
                        "{codes:?}"
                    );
                }
                other => panic!("{other}"),
            },
            other => panic!("{other}"),
        }
        let core = erp_hub_core::Error::from(err);
        assert_eq!(core.kind(), ErrorKind::Validation);
        assert!(core.to_string().contains("CR-RECV-RECEPTOR"), "{core}");
        let series = CrStep::series(&env.profile, respuesta.tipo_documento());
        assert_eq!(env.numbers.last(&series).await.unwrap(), 0);
    }
    assert!(env.mock.records().is_empty());
    // A rechazado goes out.
    let respuesta = Respuesta::rechazado("no es para nosotros");
    let mut result = step
        .respond_received(TENANT, &receiver, &signed, &respuesta)
        .await;
    for _ in 0..5 {
        if !matches!(result, Err(CrHubError::Pending { .. })) {
            break;
        }
        result = step
            .respond_received(TENANT, &receiver, &signed, &respuesta)
            .await;
    }
    let stamp = result.unwrap();
    assert!(stamp.xml.contains("<Mensaje>3</Mensaje>"), "{}", stamp.xml);
}

/// `xmllint --nonet --schema` errors of `xml` against a schema of `tests/fixtures/xsd/xsd/`.
fn xmllint_errors(xml: &str, schema: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(fixture("xsd/xsd").join(schema))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint must be installed (scripts/test.sh installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("failed to compile"), "{stderr}");
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .map(str::to_owned)
        .collect();
    assert_eq!(out.status.success(), errors.is_empty(), "{stderr}");
    errors
}

#[tokio::test]
async fn a_rejected_invoice_is_substituted_by_a_new_fe_referencing_its_clave_with_codigo_16() {
    let env = Env::new(0, false).await;
    let step = env.step();
    setup_customers(&step).await;
    let (r, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-rej", "c-ced", "RECHAZAR este")),
    )
    .await;
    let Err(CrHubError::Rechazado {
        clave: rejected, ..
    }) = r
    else {
        panic!("{r:?}")
    };
    let (ok, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-ok", "c-ced", "Consultoría")),
    )
    .await;
    let accepted = ok.unwrap().unwrap();

    let substitute = |r: &str, of: serde_json::Value| {
        let mut inv = invoice(r, "c-ced", "Consultoría corregida");
        inv.passthrough = serde_json::json!({ cr_einvoice::hub::SUSTITUYE_RECHAZADO: of });
        WriteOp::CreateInvoice(inv)
    };
    // Naming an accepted invoice, an unknown one or not a reference: refused, nothing numbered.
    let fe = CrStep::series(&env.profile, cr_einvoice::TipoDocumento::FacturaElectronica);
    let before = env.numbers.last(&fe).await.unwrap();
    for (r, of, says) in [
        ("sub-acc", serde_json::json!("inv-ok"), "did not reject"),
        (
            "sub-unk",
            serde_json::json!("inv-none"),
            "has no comprobante",
        ),
        (
            "sub-num",
            serde_json::json!(7),
            "must be the external reference",
        ),
    ] {
        let e = step
            .stamp_document(TENANT, &substitute(r, of))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CrHubError::Field { field, .. } if field == "passthrough.cr_sustituye_rechazado"),
            "{e}"
        );
        assert!(e.to_string().contains(says), "{e}");
        let core = erp_hub_core::Error::from(e);
        assert_eq!(core.kind(), ErrorKind::Validation);
    }
    assert!(
        step.stamp_document(TENANT, &substitute("sub-acc", serde_json::json!("inv-ok")))
            .await
            .unwrap_err()
            .to_string()
            .contains(&accepted.uuid)
    );
    assert_eq!(env.numbers.last(&fe).await.unwrap(), before);

    // Naming the rejected invoice: a new FE (new consecutivo and clave) that substitutes it.
    let (s, _) = settle(
        &step,
        &substitute("inv-rej-fix", serde_json::json!("inv-rej")),
    )
    .await;
    let stamp = s.unwrap().unwrap();
    assert_ne!(stamp.uuid, rejected);
    assert_eq!(&stamp.uuid[29..31], "01", "an FE");
    let doc = cr_einvoice::Comprobante::from_xml(stamp.xml.as_bytes()).unwrap();
    assert_eq!(doc.revision, cr_einvoice::SchemaRevision::V2026);
    let [reference] = doc.referencias.as_slice() else {
        panic!("{:?}", doc.referencias)
    };
    assert_eq!(reference.tipo_doc, "10");
    assert_eq!(reference.numero.as_deref(), Some(rejected.as_str()));
    assert_eq!(reference.codigo.as_deref(), Some("16"));
    assert!(reference.razon.as_deref().unwrap().contains("rechazado"));
    let rejected_doc = env
        .journal
        .get(&FiscalKey::new(TENANT, EntityKind::Invoice, "inv-rej"))
        .await
        .unwrap();
    let Some(JournalEntry::Stamped(rs)) = rejected_doc else {
        panic!("{rejected_doc:?}")
    };
    let rejected_doc = cr_einvoice::Comprobante::from_xml(rs.xml.as_bytes()).unwrap();
    assert_eq!(reference.fecha_emision, rejected_doc.fecha_emision);
    // Our validation and the 2026 FE schema (derived, see tests/xsd.rs) agree it is valid.
    let report = doc.validate();
    assert!(!report.has_errors(), "{report:?}");
    let errors = xmllint_errors(&stamp.xml, "v4.4-2026-derived/FacturaElectronica_V4.4.xsd");
    assert!(errors.is_empty(), "{errors:#?}");

    // A rejected tiquete (customer without cédula) is substituted by a new TE the same way.
    let (r, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("te-rej", "c-walkin", "RECHAZAR este")),
    )
    .await;
    let Err(CrHubError::Rechazado {
        clave: rejected, ..
    }) = r
    else {
        panic!("{r:?}")
    };
    let mut te = invoice("te-rej-fix", "c-walkin", "Venta corregida");
    te.passthrough = serde_json::json!({ cr_einvoice::hub::SUSTITUYE_RECHAZADO: "te-rej" });
    let (s, _) = settle(&step, &WriteOp::CreateInvoice(te)).await;
    let stamp = s.unwrap().unwrap();
    assert_eq!(&stamp.uuid[29..31], "04", "a TE");
    let doc = cr_einvoice::Comprobante::from_xml(stamp.xml.as_bytes()).unwrap();
    assert_eq!(doc.referencias.len(), 1);
    assert_eq!(
        doc.referencias[0].numero.as_deref(),
        Some(rejected.as_str())
    );
    assert_eq!(
        (
            doc.referencias[0].tipo_doc.as_str(),
            doc.referencias[0].codigo.as_deref()
        ),
        ("10", Some("16"))
    );
    let report = doc.validate();
    assert!(!report.has_errors(), "{report:?}");
    let errors = xmllint_errors(&stamp.xml, "v4.4-2026-derived/TiqueteElectronico_V4.4.xsd");
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn a_substitution_dated_under_the_2024_revision_is_refused_before_numbering() {
    let env = Env::new(0, false).await;
    let october = chrono::DateTime::parse_from_rfc3339("2026-10-15T10:00:00-06:00")
        .unwrap()
        .to_utc();
    let step = env.step().with_clock(move || october);
    setup_customers(&step).await;
    let (r, _) = settle(
        &step,
        &WriteOp::CreateInvoice(invoice("inv-rej", "c-ced", "RECHAZAR este")),
    )
    .await;
    assert!(matches!(r, Err(CrHubError::Rechazado { .. })), "{r:?}");
    let mut inv = invoice("inv-fix", "c-ced", "Consultoría corregida");
    inv.passthrough = serde_json::json!({ cr_einvoice::hub::SUSTITUYE_RECHAZADO: "inv-rej" });
    let e = step
        .stamp_document(TENANT, &WriteOp::CreateInvoice(inv))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CrHubError::Field { field, .. } if field == "passthrough.cr_sustituye_rechazado"),
        "{e}"
    );
    assert!(e.to_string().contains("only from the 2026 revision"), "{e}");
    let fe = CrStep::series(&env.profile, cr_einvoice::TipoDocumento::FacturaElectronica);
    assert_eq!(
        env.numbers.last(&fe).await.unwrap(),
        1,
        "only the rejected one"
    );
}

#[test]
fn an_answer_round_trips_through_its_json_form_and_bad_json_is_refused() {
    use cr_einvoice::receive::{CondicionImpuesto, Respuesta};
    for r in [
        Respuesta::aceptado(CondicionImpuesto::CreditoGeneral),
        Respuesta::aceptado(CondicionImpuesto::Proporcionalidad(dec!(0.25)))
            .with_amounts(dec!(3), dec!(9)),
        Respuesta::aceptado_parcial(
            CondicionImpuesto::CreditoParcial(dec!(0.5)),
            "faltó una línea",
        ),
        Respuesta::aceptado_parcial(CondicionImpuesto::GastoCorriente, "parcial"),
        Respuesta::rechazado("no es para nosotros"),
    ] {
        assert_eq!(
            Respuesta::from_json(&r.to_json()).unwrap(),
            r,
            "{}",
            r.to_json()
        );
    }
    for (bad, says) in [
        (serde_json::json!("aceptado"), "not a JSON object"),
        (serde_json::json!({}), "`mensaje` is required"),
        (serde_json::json!({ "mensaje": "si" }), "unknown mensaje"),
        (
            serde_json::json!({ "mensaje": "aceptado" }),
            "`condicion_impuesto` is required",
        ),
        (
            serde_json::json!({ "mensaje": "aceptado", "condicion_impuesto": "05" }),
            "needs `proporcion`",
        ),
        (
            serde_json::json!({ "mensaje": "rechazado" }),
            "`detalle` is required",
        ),
        (
            serde_json::json!({ "mensaje": "rechazado", "detalle": "x", "iva": "1" }),
            "unknown member `iva`",
        ),
        (
            serde_json::json!({ "mensaje": "aceptado", "condicion_impuesto": "01", "acreditar": "1" }),
            "go together",
        ),
    ] {
        let e = Respuesta::from_json(&bad).unwrap_err();
        assert!(e.to_string().contains(says), "{bad}: {e}");
    }
}
