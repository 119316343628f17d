//! CONTPAQi-specific behaviour over the reference bridge: stamping exactly once, folios, SDK errors mapped to
//! typed errors, polling, and bad input (unreachable bridge, wrong key, unknown job type or contract version,
//! malformed answers): typed errors, no panic, nothing duplicated.

mod common;

use std::time::Duration;

use erp_contpaqi::testing::codes;
use erp_contpaqi::wire::JobType;
use erp_contpaqi::{BridgeProblem, ContpaqiAdapter, ContpaqiConfig, PollPolicy, SdkError};
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{Error, ErrorKind};
use rust_decimal_macros::dec;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).expect("key")
}

fn invoice(r: &str, customer: &str) -> Invoice {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 10).expect("date");
    Invoice::new(
        r,
        PartyRef::resolved(customer, customer),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Servicio", dec!(2), dec!(500))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    )
}

async fn with_customer(env: &common::Env, codigo: &str) {
    env.contpaqi
        .upsert_customer(
            &Customer::new(codigo, format!("{codigo} SA")),
            &key(&format!("{codigo}-c")),
        )
        .await
        .expect("customer");
}

#[tokio::test]
async fn timbrar_stamps_once_and_returns_the_same_uuid() {
    let env = common::env().await;
    with_customer(&env, "CLI-T").await;
    let inv = env
        .contpaqi
        .create_invoice(&invoice("inv-t", "CLI-T"), &key("inv-t"))
        .await
        .expect("invoice");
    // The answer to the stamp request is lost once: the client re-sends the same key, the bridge finds the job.
    env.mock.lose_answers(1);
    let first = env
        .contpaqi
        .timbrar(&inv, &key("inv-t-stamp"))
        .await
        .expect("stamp");
    assert!(!first.already_stamped);
    assert_eq!(first.uuid.len(), 36, "{}", first.uuid);
    // A second call, even under a new key, consults first and never stamps again.
    let second = env
        .contpaqi
        .timbrar(&inv, &key("inv-t-stamp-2"))
        .await
        .expect("again");
    assert_eq!(second.uuid, first.uuid);
    assert!(second.already_stamped);
    assert_eq!(env.mock.stamps(), 1);
    let read = env
        .contpaqi
        .get(EntityKind::Invoice, &inv.id)
        .await
        .expect("read");
    assert_eq!(read.raw["uuid"], first.uuid.as_str());
}

#[tokio::test]
async fn folios_are_allocated_per_serie_and_a_taken_folio_is_a_duplicate() {
    let env = common::env().await;
    with_customer(&env, "CLI-F").await;
    let a = env
        .contpaqi
        .create_invoice(&invoice("f-a", "CLI-F"), &key("f-a"))
        .await
        .expect("a");
    let b = env
        .contpaqi
        .create_invoice(&invoice("f-b", "CLI-F"), &key("f-b"))
        .await
        .expect("b");
    assert_eq!((a.id.as_str(), b.id.as_str()), ("4/F/1", "4/F/2"));
    assert_eq!(a.number.as_deref(), Some("F1"));
    let mut other = invoice("f-c", "CLI-F");
    other.series = Some("B".into());
    let c = env
        .contpaqi
        .create_invoice(&other, &key("f-c"))
        .await
        .expect("c");
    assert_eq!(c.id, "4/B/1");
    let mut taken = invoice("f-d", "CLI-F");
    taken.number = Some("2".into());
    match env.contpaqi.create_invoice(&taken, &key("f-d")).await {
        Err(Error::Duplicate { existing_id, .. }) => {
            assert_eq!(existing_id.as_deref(), Some("4/F/2"))
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chosen_folio_already_holding_our_document_resolves_to_it() {
    let env = common::env().await;
    with_customer(&env, "CLI-R").await;
    let mut inv = invoice("r-1", "CLI-R");
    inv.number = Some("7".into());
    let first = env
        .contpaqi
        .create_invoice(&inv, &key("r-1"))
        .await
        .expect("first");
    // The bridge lost key `r-1` (a new key stands for that here): the re-run fails as a duplicate folio, the
    // adapter consults F-7, finds our reference on it, and answers with the existing document.
    let again = env
        .contpaqi
        .create_invoice(&inv, &key("r-1-lost"))
        .await
        .expect("resolved");
    assert_eq!(again.id, first.id);
    assert_eq!(env.mock.documentos().len(), 1);
}

#[tokio::test]
async fn missing_catalogue_entries_are_validation_errors_with_the_sdk_code() {
    let env = common::env().await;
    let err = env
        .contpaqi
        .create_invoice(&invoice("m-1", "NOPE"), &key("m-1"))
        .await
        .expect_err("no cliente");
    assert_eq!(err.kind(), ErrorKind::Validation);
    let sdk = err.provider_error::<SdkError>().expect("typed SDK error");
    assert_eq!(sdk.body.code, codes::NO_CLIENTE);
    assert_eq!(sdk.job_type, JobType::AltaDocumento);

    with_customer(&env, "CLI-M").await;
    let line = InvoiceLine::new("Tornillo", dec!(1), dec!(10))
        .with_item("TORN-1")
        .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16))));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 10).expect("date");
    let inv = Invoice::new(
        "m-2",
        PartyRef::resolved("CLI-M", "CLI-M"),
        date,
        Currency::MXN,
    )
    .with_line(line);
    let err = env
        .contpaqi
        .create_invoice(&inv, &key("m-2"))
        .await
        .expect_err("no producto");
    assert_eq!(
        err.provider_error::<SdkError>().map(|e| e.body.code),
        Some(codes::NO_PRODUCTO)
    );
    // Once the producto exists, the same key runs the (failed) job again and succeeds.
    env.contpaqi
        .upsert_item(
            &Item::new("TORN-1", "TORN-1", "Tornillo", ItemKind::Product),
            &key("torn"),
        )
        .await
        .expect("item");
    env.contpaqi
        .create_invoice(&inv, &key("m-2"))
        .await
        .expect("now it works");
    // An unmapped tax key is a Config error naming the key, before anything is sent.
    let odd = invoice("m-3", "CLI-M").with_line(
        InvoiceLine::new("x", dec!(1), dec!(1))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(8)))),
    );
    let err = env
        .contpaqi
        .create_invoice(&odd, &key("m-3"))
        .await
        .expect_err("unmapped");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("IVA8"), "{err}");
}

#[tokio::test]
async fn a_key_reused_for_another_payload_is_refused() {
    let env = common::env().await;
    with_customer(&env, "CLI-K").await;
    env.contpaqi
        .create_invoice(&invoice("k-1", "CLI-K"), &key("k"))
        .await
        .expect("first");
    let err = env
        .contpaqi
        .create_invoice(&invoice("k-2", "CLI-K"), &key("k"))
        .await
        .expect_err("reused");
    assert_eq!(err.kind(), ErrorKind::Validation);
    let p = err
        .provider_error::<BridgeProblem>()
        .expect("typed problem");
    assert_eq!(
        (p.status, p.problem.code.as_str()),
        (409, "idempotency_key_reused")
    );
    assert_eq!(env.mock.documentos().len(), 1);
}

#[tokio::test]
async fn a_job_still_queued_when_polling_ends_is_uncertain_and_the_same_key_resumes_it() {
    let env = common::env().await;
    let mut config = env.mock.config();
    config.poll = PollPolicy::new(
        Duration::from_millis(2),
        Duration::from_millis(5),
        Duration::from_millis(30),
    );
    let impatient = ContpaqiAdapter::new(config).expect("adapter");
    let c = Customer::new("CLI-P", "Paciente SA");
    env.mock.pause(true);
    let err = impatient
        .upsert_customer(&c, &key("p"))
        .await
        .expect_err("held");
    assert_eq!(err.kind(), ErrorKind::Uncertain, "{err}");
    env.mock.pause(false);
    let r = impatient
        .upsert_customer(&c, &key("p"))
        .await
        .expect("resumed");
    assert_eq!(r.id, "CLI-P");
    assert_eq!(env.mock.executed().len(), 1, "the job ran once");
}

#[tokio::test]
async fn void_and_change_feed() {
    let env = common::env().await;
    with_customer(&env, "CLI-V").await;
    let inv = env
        .contpaqi
        .create_invoice(&invoice("v-1", "CLI-V"), &key("v-1"))
        .await
        .expect("inv");
    env.contpaqi
        .void_invoice(&inv, &key("v-1-void"))
        .await
        .expect("void");
    let rec = env
        .contpaqi
        .get(EntityKind::Invoice, &inv.id)
        .await
        .expect("read");
    assert!(rec.voided);
    assert_eq!(rec.balance, Some(dec!(0)));
    let page = env
        .contpaqi
        .list_changed_since(&[EntityKind::Invoice], None)
        .await
        .expect("feed");
    assert!(
        page.changes
            .iter()
            .any(|c| c.remote.id == inv.id && c.deleted)
    );
    assert!(page.changes.iter().all(|c| c.kind == EntityKind::Invoice));
    // Unknown ids are NotFound naming the id; a customer id is not an invoice.
    for (kind, id) in [
        (EntityKind::Invoice, "4/F/99"),
        (EntityKind::Invoice, "garbage"),
        (EntityKind::Customer, "NOPE"),
    ] {
        match env.contpaqi.get(kind, id).await {
            Err(Error::NotFound { id: got, .. }) => assert_eq!(got, id),
            other => panic!("{kind} {id}: expected NotFound, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn unreachable_bridge_is_transient() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut config =
        ContpaqiConfig::new(&format!("http://127.0.0.1:{port}"), "k".into()).expect("config");
    config.retry = config
        .retry
        .with_max_attempts(2)
        .with_base_delay(Duration::from_millis(1));
    let contpaqi = ContpaqiAdapter::new(config).expect("adapter");
    let err = contpaqi.test_connection().await.expect_err("down");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    let err = contpaqi
        .upsert_customer(&Customer::new("C", "C SA"), &key("c"))
        .await
        .expect_err("down");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn wrong_key_is_auth_and_never_shown() {
    let env = common::env().await;
    let config = ContpaqiConfig::new(&env.mock.uri(), "not-the-key-123".into()).expect("config");
    assert!(!format!("{config:?}").contains("not-the-key-123"));
    let contpaqi = ContpaqiAdapter::new(config).expect("adapter");
    assert!(!format!("{contpaqi:?}").contains("not-the-key-123"));
    let err = contpaqi.test_connection().await.expect_err("wrong key");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("not-the-key-123"));
}

#[tokio::test]
async fn an_older_bridge_without_a_job_type_or_another_contract_version_is_unsupported() {
    let env = common::env().await;
    with_customer(&env, "CLI-O").await;
    let inv = env
        .contpaqi
        .create_invoice(&invoice("o-1", "CLI-O"), &key("o-1"))
        .await
        .expect("inv");
    env.mock.restrict_job_types(&[
        JobType::UpsertCliente,
        JobType::AltaDocumento,
        JobType::Consulta,
    ]);
    let err = env
        .contpaqi
        .timbrar(&inv, &key("o-1-stamp"))
        .await
        .expect_err("no timbrar");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("unknown_job_type"), "{err}");
    assert_eq!(env.mock.stamps(), 0);

    env.mock.set_contract_major(2);
    let err = env.contpaqi.test_connection().await.expect_err("v2");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let err = env
        .contpaqi
        .upsert_customer(&Customer::new("CLI-O2", "Otro SA"), &key("o-2"))
        .await
        .expect_err("v2");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(env.mock.clientes().iter().all(|c| c.codigo != "CLI-O2"));
}

#[tokio::test]
async fn malformed_bridge_answers_are_typed_errors() {
    let server = MockServer::start().await;
    // Accepts every job, then reports a status this client does not know and a health of a v9 contract.
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(serde_json::json!({"job_id": "j1", "status": "queued"})),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/v1/jobs/j1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "job_id": "j1", "type": "upsert_cliente", "idempotency_key": "c",
            "status": "exploded", "created_at": "2026-01-01T00:00:00Z"})))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/v1/health"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"contract_version\": 9"))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418))
        .mount(&server)
        .await;
    let mut config = ContpaqiConfig::new(&server.uri(), "k".into()).expect("config");
    config.poll = PollPolicy::new(
        Duration::from_millis(1),
        Duration::from_millis(2),
        Duration::from_millis(20),
    );
    config.retry = config.retry.with_max_attempts(1);
    let contpaqi = ContpaqiAdapter::new(config).expect("adapter");
    let err = contpaqi
        .upsert_customer(&Customer::new("C", "C SA"), &key("c"))
        .await
        .expect_err("garbage status");
    assert!(
        matches!(err.kind(), ErrorKind::Transient | ErrorKind::Uncertain),
        "{err:?}"
    );
    let err = contpaqi
        .test_connection()
        .await
        .expect_err("truncated JSON");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    let err = contpaqi
        .get(EntityKind::Customer, "C")
        .await
        .expect_err("garbage");
    assert!(
        matches!(err.kind(), ErrorKind::Transient | ErrorKind::Uncertain),
        "{err:?}"
    );
}
