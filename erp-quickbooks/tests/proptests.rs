//! Hostile input never panics; amounts round-trip exactly; markers round-trip any reference.

use erp_quickbooks::mapping::{note_field, note_marker, note_ref};
use erp_quickbooks::wire::Amount;
use proptest::prelude::*;
use rust_decimal::Decimal;

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        erp_quickbooks::fuzzing::fault(&data);
        erp_quickbooks::fuzzing::webhook(&data);
        erp_quickbooks::fuzzing::responses(&data);
    }

    #[test]
    fn xmlish_fault_bodies_never_panic(code in "[0-9]{0,6}", msg in ".{0,40}", tail in ".{0,40}") {
        let body = format!(r#"<IntuitResponse><Fault type="x"><Error code="{code}"><Message>{msg}</Message><Detail>{tail}"#);
        erp_quickbooks::fuzzing::fault(body.as_bytes());
    }

    #[test]
    fn amounts_round_trip(mantissa in any::<i64>(), scale in 0u32..10) {
        let d = Decimal::new(mantissa, scale);
        let text = serde_json::to_string(&Amount(d)).unwrap();
        let back: Amount = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.0, d);
        prop_assert!(!text.contains('"'));
    }

    #[test]
    fn markers_round_trip(reference in ".{1,60}", invoice in "[0-9]{1,8}") {
        let note = format!("{}\nfree text ] [erp-hub", note_marker(&reference, &[("invoice", &invoice)]));
        prop_assert_eq!(note_ref(&note), Some(reference));
        prop_assert_eq!(note_field(&note, "invoice"), Some(invoice));
    }
}
