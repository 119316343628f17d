//! Webhook signature, intent-to-receive and payload parsing, with the credit-note example of
//! `xero-webhooks.yaml`.

use erp_hub_core::ErrorKind;
use erp_hub_core::http::{HeaderMap, HeaderValue};
use erp_hub_core::model::EntityKind;
use erp_xero::webhook::{self, SIGNATURE_HEADER, WebhookVerifier};
use yaml_rust2::{Yaml, YamlLoader};

const WEBHOOKS: &str = include_str!("fixtures/xero-webhooks.yaml");

fn to_json(y: &Yaml) -> serde_json::Value {
    match y {
        Yaml::Integer(i) => (*i).into(),
        Yaml::String(s) | Yaml::Real(s) => serde_json::Value::String(s.clone()),
        Yaml::Boolean(b) => (*b).into(),
        Yaml::Array(a) => a.iter().map(to_json).collect(),
        Yaml::Hash(h) => h
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().map(str::to_owned).unwrap_or_default(),
                    to_json(v),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => serde_json::Value::Null,
    }
}

fn example_payload() -> Vec<u8> {
    let docs = YamlLoader::load_from_str(WEBHOOKS).unwrap();
    let spec = to_json(&docs[0]);
    let example = spec
        .pointer("/webhooks/creditNotes/post/requestBody/content/application~1json/examples/creditNoteCreate/value")
        .cloned()
        .expect("credit note example in xero-webhooks.yaml");
    serde_json::to_vec(&example).unwrap()
}

/// The headers of a delivery carrying `signature`.
fn signed(signature: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(sig) = signature {
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
    }
    h
}

#[test]
fn signed_spec_example_is_accepted_and_parsed() {
    let v = WebhookVerifier::new("test-webhook-key".to_owned());
    let body = example_payload();
    let sig = v.sign(&body);
    let headers = signed(Some(&sig));
    let reply = v.respond(&headers, &body);
    assert_eq!(reply.status, 200);
    let payload = reply.payload.expect("parsed");
    assert_eq!(payload.first_event_sequence, 76);
    assert_eq!(payload.entropy, "FXNGWLCCGVANWHKILRUB");
    let events = v.verify(&headers, &body).unwrap();
    assert_eq!(events, payload.events);
    let e = &events[0];
    assert_eq!(e.resource_id, "55d84274-a3da-4829-a7c0-0cab601b95cc");
    assert_eq!(e.event_type, "CREATE");
    assert_eq!(e.entity_kind(), Some(EntityKind::CreditNote));
    assert_eq!(e.data.as_ref().unwrap()["Type"], "ACCPAYCREDIT");
}

#[test]
fn intent_to_receive_answers_401_for_bad_signatures() {
    let v = WebhookVerifier::new("test-webhook-key".to_owned());
    let body =
        br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"S0M3ENTR0PY"}"#;
    let good = v.sign(body);
    assert_eq!(v.respond(&signed(Some(&good)), body).status, 200);
    assert_eq!(v.respond(&signed(None), body).status, 401);
    assert_eq!(
        v.verify(&signed(None), body).unwrap_err().kind(),
        ErrorKind::Auth
    );
    assert_eq!(v.respond(&signed(Some("")), body).status, 401);
    let other = WebhookVerifier::new("other".to_owned()).sign(body);
    assert_eq!(v.respond(&signed(Some(&other)), body).status, 401);
    // One changed byte in the body.
    let mut tampered = body.to_vec();
    tampered[12] = b' ';
    assert_eq!(v.respond(&signed(Some(&good)), &tampered).status, 401);
    // A signed body that is not a payload: 200 (it is Xero's) but nothing parsed.
    let junk = b"not json";
    let sig = v.sign(junk);
    let r = v.respond(&signed(Some(&sig)), junk);
    assert_eq!((r.status, r.payload.is_none()), (200, true));
    assert_eq!(
        v.verify(&signed(Some(&sig)), junk).unwrap_err().kind(),
        ErrorKind::Validation
    );
    assert!(webhook::parse_payload(junk).is_err());
}
