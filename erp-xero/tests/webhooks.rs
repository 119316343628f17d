//! Webhook signature, intent-to-receive and payload parsing, with the credit-note example of
//! `xero-webhooks.yaml`.

use erp_hub_core::model::EntityKind;
use erp_xero::webhook;
use secrecy::SecretString;
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

#[test]
fn signed_spec_example_is_accepted_and_parsed() {
    let key = SecretString::from("test-webhook-key".to_owned());
    let body = example_payload();
    let sig = webhook::sign(&body, &key).unwrap();
    let reply = webhook::handle(&body, Some(&sig), &key);
    assert_eq!(reply.status, 200);
    let payload = reply.payload.expect("parsed");
    assert_eq!(payload.first_event_sequence, 76);
    assert_eq!(payload.entropy, "FXNGWLCCGVANWHKILRUB");
    let e = &payload.events[0];
    assert_eq!(e.resource_id, "55d84274-a3da-4829-a7c0-0cab601b95cc");
    assert_eq!(e.event_type, "CREATE");
    assert_eq!(e.entity_kind(), Some(EntityKind::CreditNote));
    assert_eq!(e.data.as_ref().unwrap()["Type"], "ACCPAYCREDIT");
}

#[test]
fn intent_to_receive_answers_401_for_bad_signatures() {
    let key = SecretString::from("test-webhook-key".to_owned());
    let body =
        br#"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"S0M3ENTR0PY"}"#;
    let good = webhook::sign(body, &key).unwrap();
    assert_eq!(webhook::handle(body, Some(&good), &key).status, 200);
    assert_eq!(webhook::handle(body, None, &key).status, 401);
    assert_eq!(webhook::handle(body, Some(""), &key).status, 401);
    let other = webhook::sign(body, &SecretString::from("other".to_owned())).unwrap();
    assert_eq!(webhook::handle(body, Some(&other), &key).status, 401);
    // One changed byte in the body.
    let mut tampered = body.to_vec();
    tampered[12] = b' ';
    assert_eq!(webhook::handle(&tampered, Some(&good), &key).status, 401);
    // A signed body that is not a payload: 200 (it is Xero's) but nothing parsed.
    let junk = b"not json";
    let sig = webhook::sign(junk, &key).unwrap();
    let r = webhook::handle(junk, Some(&sig), &key);
    assert_eq!((r.status, r.payload.is_none()), (200, true));
    assert!(webhook::parse_payload(junk).is_err());
}
