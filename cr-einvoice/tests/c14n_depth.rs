//! The canonicalizer keeps open elements on a heap stack, never on the call stack: a document
//! nested 100,000 levels deep canonicalizes on a thread with a 256 KiB stack (a recursive walk
//! needs far more than that: a few hundred bytes per level).

use cr_einvoice::c14n::{Algorithm, Canonicalizer, Exclude, canonicalize};

const DEPTH: usize = 100_000;

/// `<r xmlns="urn:x" xmlns:p="urn:p"><a p:k="1">` × DEPTH, then the end tags: already canonical.
fn deep() -> String {
    let mut s = String::with_capacity(DEPTH * 20);
    s.push_str(r#"<r xmlns="urn:x" xmlns:p="urn:p">"#);
    for _ in 0..DEPTH {
        s.push_str(r#"<a p:k="1">"#);
    }
    s.push_str("text");
    for _ in 0..DEPTH {
        s.push_str("</a>");
    }
    s.push_str("</r>");
    s
}

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap_or_else(|e| panic!("spawn: {e}"))
        .join()
        .unwrap_or_else(|_| panic!("canonicalization overflowed or panicked"))
}

#[test]
fn hundred_thousand_levels_whole_document() {
    on_small_stack(|| {
        let xml = deep();
        for alg in [Algorithm::Inclusive, Algorithm::Exclusive] {
            let out = canonicalize(xml.as_bytes(), alg).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            if alg == Algorithm::Inclusive {
                assert!(
                    out == xml.as_bytes(),
                    "inclusive output differs from the input"
                );
            } else {
                // Exclusive C14N drops the unused default namespace from the root and declares
                // `p` on the root only if it is used there; here it is first used by the first `a`.
                let expected = xml
                    .replacen(
                        r#"<r xmlns="urn:x" xmlns:p="urn:p">"#,
                        r#"<r xmlns="urn:x">"#,
                        1,
                    )
                    .replacen(r#"<a p:k="1">"#, r#"<a xmlns:p="urn:p" p:k="1">"#, 1);
                assert!(out == expected.as_bytes(), "exclusive output differs");
            }
        }
    });
}

#[test]
fn hundred_thousand_levels_subtree_and_exclusion() {
    on_small_stack(|| {
        let xml = deep();
        let first_a = xml.find("<a ").unwrap_or_else(|| panic!("no <a"));
        let middle = first_a + (DEPTH / 2) * r#"<a p:k="1">"#.len();

        // Subtree at half depth: the apex carries the namespaces in scope.
        let sub = Canonicalizer::new(Algorithm::Inclusive)
            .subtree_at(middle)
            .canonicalize(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let rest = DEPTH - DEPTH / 2;
        let mut expected = String::from(r#"<a xmlns="urn:x" xmlns:p="urn:p" p:k="1">"#);
        expected.push_str(&r#"<a p:k="1">"#.repeat(rest - 1));
        expected.push_str("text");
        expected.push_str(&"</a>".repeat(rest));
        assert!(sub == expected.as_bytes(), "subtree output differs");

        // Excluding the same element leaves its ancestors only.
        let cut = Canonicalizer::new(Algorithm::Inclusive)
            .exclude(Exclude::ElementAt(middle))
            .canonicalize(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut expected = String::from(r#"<r xmlns="urn:x" xmlns:p="urn:p">"#);
        expected.push_str(&r#"<a p:k="1">"#.repeat(DEPTH / 2));
        expected.push_str(&"</a>".repeat(DEPTH / 2));
        expected.push_str("</r>");
        assert!(cut == expected.as_bytes(), "excluded output differs");
    });
}

#[test]
fn unclosed_deep_document_is_an_error_not_a_crash() {
    on_small_stack(|| {
        let xml = deep();
        let truncated = &xml[..xml.len() / 2];
        assert!(canonicalize(truncated.as_bytes(), Algorithm::Inclusive).is_err());
    });
}
