//! The fuzz entry point on real bridge answers (the recorded responses of the conformance run) and every prefix
//! and one-byte corruption of them: it must never panic.

#[test]
fn job_response_entry_point_never_panics_on_recorded_answers_and_their_corruptions() {
    let recorded: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("fixtures/bridge-responses.json")).expect("fixture");
    let mut inputs = 0usize;
    for r in recorded.iter().take(60) {
        let body = serde_json::to_vec(&r["body"]).expect("json");
        for end in (0..=body.len()).step_by(7) {
            erp_contpaqi::fuzzing::job_response(&body[..end]);
            inputs += 1;
        }
        for i in (0..body.len()).step_by(11) {
            let mut bad = body.clone();
            bad[i] = bad[i].wrapping_add(1);
            erp_contpaqi::fuzzing::job_response(&bad);
            inputs += 1;
        }
    }
    erp_contpaqi::fuzzing::job_response(b"4/F/-1");
    erp_contpaqi::fuzzing::job_response(b"//");
    assert!(inputs > 1000, "{inputs}");
}
