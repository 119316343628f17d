//! The subset of the XSD regular-expression language used by the patterns of the Costa Rica v4.4 schemas:
//! characters, `.`, `\d`, classes `[...]` / `[^...]` with ranges, groups, `|`, and the quantifiers `?`, `*`,
//! `+`, `{n}`, `{n,}`, `{n,m}`. XSD patterns are implicitly anchored (the whole value must match).
//! Copied from sat-cfdi's `validate/pattern.rs` (cr-einvoice does not depend on sat-cfdi) with `\d` added.
//! `\d` matches the ASCII digits 0–9 only; XSD's `\d` is any Unicode decimal digit, so a value with
//! other digits (e.g. Arabic-Indic) is refused here although the XSD would accept it — Hacienda's
//! numeric fields (clave, consecutivo, cédulas) are ASCII in practice.
//!
//! `cr-einvoice/tools/gen_facets.py` refuses any schema pattern outside this subset, so every generated pattern
//! compiles here; [`Pattern::new`] still returns `None` for anything else rather than guessing. Matching is
//! backtracking over a value whose length the caller bounds (attribute values are checked against their
//! length facets first, and inputs are bounded by [`crate::Limits`]); the schemas' patterns have no nested
//! repetition, which the generator also enforces, so matching is linear in practice.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    alt: Alt,
}

type Alt = Vec<Seq>;
type Seq = Vec<Piece>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    min: u32,
    /// `None` = unbounded.
    max: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(char),
    /// `.`: any character except line ends.
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Group(Alt),
}

impl Pattern {
    /// Compiles `p`; `None` if it uses anything outside the subset.
    pub(crate) fn new(p: &str) -> Option<Self> {
        let chars: Vec<char> = p.chars().collect();
        let mut i = 0;
        let alt = parse_alt(&chars, &mut i)?;
        (i == chars.len()).then_some(Self { alt })
    }

    /// Whether the whole of `value` matches.
    pub(crate) fn matches(&self, value: &str) -> bool {
        // one repeated single-character atom (`\d{20}`, `[a-zA-Z0-9]{50,50}`): no backtracking
        if let [seq] = self.alt.as_slice()
            && let [piece] = seq.as_slice()
            && !matches!(piece.atom, Atom::Group(_))
        {
            let mut n = 0u32;
            for c in value.chars() {
                n = n.saturating_add(1);
                if !match_atom(&piece.atom, &[c], 0, &mut |_| true) {
                    return false;
                }
            }
            return n >= piece.min && piece.max.is_none_or(|m| n <= m);
        }
        let v: Vec<char> = value.chars().collect();
        match_alt(&self.alt, &v, 0, &mut |end| end == v.len())
    }
}

fn parse_alt(p: &[char], i: &mut usize) -> Option<Alt> {
    let mut alt = vec![parse_seq(p, i)?];
    while p.get(*i) == Some(&'|') {
        *i += 1;
        alt.push(parse_seq(p, i)?);
    }
    Some(alt)
}

fn parse_seq(p: &[char], i: &mut usize) -> Option<Seq> {
    let mut seq = Vec::new();
    while let Some(&c) = p.get(*i) {
        if c == '|' || c == ')' {
            break;
        }
        let atom = parse_atom(p, i)?;
        let (min, max) = parse_quant(p, i)?;
        if matches!(p.get(*i), Some('?' | '*' | '+' | '{')) {
            return None;
        }
        seq.push(Piece { atom, min, max });
    }
    Some(seq)
}

fn parse_quant(p: &[char], i: &mut usize) -> Option<(u32, Option<u32>)> {
    let q = match p.get(*i) {
        Some('?') => (0, Some(1)),
        Some('*') => (0, None),
        Some('+') => (1, None),
        Some('{') => {
            let close = p[*i..].iter().position(|&c| c == '}')? + *i;
            let body: String = p[*i + 1..close].iter().collect();
            *i = close;
            match body.split_once(',') {
                None => {
                    let n = body.parse().ok()?;
                    (n, Some(n))
                }
                Some((a, "")) => (a.parse().ok()?, None),
                Some((a, b)) => (a.parse().ok()?, Some(b.parse().ok()?)),
            }
        }
        _ => return Some((1, Some(1))),
    };
    *i += 1;
    Some(q)
}

fn parse_atom(p: &[char], i: &mut usize) -> Option<Atom> {
    let c = *p.get(*i)?;
    *i += 1;
    match c {
        '(' => {
            let alt = parse_alt(p, i)?;
            (p.get(*i) == Some(&')')).then_some(())?;
            *i += 1;
            Some(Atom::Group(alt))
        }
        '[' => {
            let negated = p.get(*i) == Some(&'^');
            if negated {
                *i += 1;
            }
            let mut ranges = Vec::new();
            let mut first = true;
            loop {
                let c = *p.get(*i)?;
                if c == ']' && !first {
                    *i += 1;
                    break;
                }
                if c == '\\' || c == '[' {
                    return None;
                }
                *i += 1;
                let hi = if p.get(*i) == Some(&'-') && !matches!(p.get(*i + 1), None | Some(']')) {
                    let hi = *p.get(*i + 1)?;
                    if hi == '[' || hi == '\\' {
                        return None;
                    }
                    *i += 2;
                    hi
                } else {
                    c
                };
                ranges.push((c, hi));
                first = false;
            }
            Some(Atom::Class { negated, ranges })
        }
        '.' => Some(Atom::Any),
        '\\' if p.get(*i) == Some(&'d') => {
            *i += 1;
            Some(Atom::Class {
                negated: false,
                ranges: vec![('0', '9')],
            })
        }
        '\\' | '^' | '$' | ')' | ']' | '{' | '}' | '?' | '*' | '+' => None,
        c => Some(Atom::Char(c)),
    }
}

/// Matches `alt` at `pos`, calling `k` with each end position until it returns true.
fn match_alt(alt: &Alt, v: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    alt.iter().any(|seq| match_seq(seq, v, pos, k))
}

fn match_seq(seq: &[Piece], v: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((first, rest)) = seq.split_first() else {
        return k(pos);
    };
    match_piece(first, 0, v, pos, &mut |end| match_seq(rest, v, end, k))
}

/// Matches `piece` having already matched `count` repetitions, greedily.
fn match_piece(
    piece: &Piece,
    count: u32,
    v: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if piece.max.is_none_or(|m| count < m) {
        let more = match_atom(&piece.atom, v, pos, &mut |end| {
            // an empty repetition cannot make progress
            end != pos && match_piece(piece, count + 1, v, end, k)
        });
        if more {
            return true;
        }
    }
    count >= piece.min && k(pos)
}

fn match_atom(atom: &Atom, v: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match atom {
        Atom::Group(alt) => match_alt(alt, v, pos, k),
        single => {
            let Some(&c) = v.get(pos) else {
                return false;
            };
            let ok = match single {
                Atom::Char(x) => c == *x,
                Atom::Any => c != '\n' && c != '\r',
                Atom::Class { negated, ranges } => {
                    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                }
                Atom::Group(_) => false,
            };
            ok && k(pos + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap_or_else(|| panic!("{s} does not compile"))
    }

    #[test]
    fn the_schema_patterns_match_as_xsd_says() {
        let rfc = p("[A-Z&Ñ]{3,4}[0-9]{2}(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])[A-Z0-9]{2}[0-9A]");
        assert!(rfc.matches("EKU9003173C9"));
        assert!(rfc.matches("ÑAÑ900317AB1"));
        assert!(rfc.matches("XAXX010101000"));
        assert!(!rfc.matches("EKU9013173C9"));
        assert!(!rfc.matches("eku9003173C9"));
        assert!(!rfc.matches("EKU9003173C9 "));
        let serie = p("[^|]{1,25}");
        assert!(serie.matches("A"));
        assert!(serie.matches(&"x".repeat(25)));
        assert!(!serie.matches(&"x".repeat(26)));
        assert!(!serie.matches(""));
        assert!(!serie.matches("A|B"));
        let dec = p("[0-9]{1,18}(.[0-9]{1,6})?");
        assert!(dec.matches("12.5") && dec.matches("12") && dec.matches("12x5"));
        assert!(!dec.matches("12.") && !dec.matches(".5"));
        let uuid = p(
            "([a-f0-9A-F]{8}-[a-f0-9A-F]{4}-[a-f0-9A-F]{4}-[a-f0-9A-F]{4}-[a-f0-9A-F]{12})|([0-9]{3}-[0-9]{2}-[0-9]{9})",
        );
        assert!(uuid.matches("5FB2822E-396D-4725-8521-CDC4BDD20CCF"));
        assert!(uuid.matches("123-45-123456789"));
        assert!(!uuid.matches("5FB2822E-396D-4725-8521-CDC4BDD20CC"));
        let ped = p("[0-9]{2}  [0-9]{2}  [0-9]{4}  [0-9]{7}");
        assert!(ped.matches("21  47  3807  8003832"));
        assert!(!ped.matches("21 47 3807 8003832"));
        let g = p("XEXX010101000|[A-Z]{3}");
        assert!(g.matches("XEXX010101000") && g.matches("ABC") && !g.matches("ABCD"));
        assert!(
            p("a*b+c?").matches("bb") && p("a{2,}").matches("aaaa") && !p("a{2,}").matches("a")
        );
    }

    #[test]
    fn the_costa_rica_patterns_match() {
        let clave = p("\\d{50,50}");
        assert!(clave.matches(&"5".repeat(50)));
        assert!(!clave.matches(&"5".repeat(49)) && !clave.matches(&"5".repeat(51)));
        assert!(!clave.matches(&format!("{}A", "5".repeat(49))));
        let clave26 = p("[a-zA-Z0-9]{50,50}");
        assert!(clave26.matches(&format!("{}A", "5".repeat(49))));
        assert!(!clave26.matches(&format!("{}-", "5".repeat(49))));
        let cedula = p("\\d{9,20}");
        assert!(
            cedula.matches("310100000")
                && !cedula.matches("31010000")
                && !cedula.matches("3101OOOOO")
        );
        assert!(p("\\d\\d").matches("07") && !p("\\d\\d").matches("7"));
        assert!(!p("\\d").matches("\u{0663}"), "ASCII digits only");
        assert!(!p("\\d").matches("") && !p("\\d").matches("12") && p("\\d").matches("7"));
        assert!(p("[ab]*").matches("") && p("[ab]*").matches("abba") && !p("[ab]*").matches("abc"));
    }

    #[test]
    fn constructs_outside_the_subset_do_not_compile() {
        for bad in [
            "\\w",
            "[a-z-[aeiou]]",
            "a{2}{3}",
            "a**",
            "(a",
            "a)",
            "^a$",
            "[a",
            "\\p{L}",
        ] {
            assert!(Pattern::new(bad).is_none(), "{bad} compiled");
        }
    }
}
