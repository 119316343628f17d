#!/usr/bin/env python3
"""Generate the attribute facets (length, minLength, maxLength, pattern, enumeration) of CFDI 4.0 from the vendored
SAT schemas, so that no facet is typed by hand.

Usage (from the repository root; Python 3.8+, standard library only):

    python3 cfdi/tools/gen_facets.py            # writes cfdi/src/validate/facets_generated.rs
    python3 cfdi/tools/gen_facets.py --check    # exits 1 if the committed file is stale

Reads cfdv40.xsd and tdCFDI.xsd under cfdi/tests/fixtures/sat/www.sat.gob.mx/sitio_internet/cfd/. Attributes
whose type is a catalog (catCFDI:c_*) are left to the catalog checks; numeric types (xs:decimal, xs:int, ...) to
the amount checks. Every pattern is parsed with the subset of the XSD regular-expression language that
`cfdi/src/validate/pattern.rs` implements (characters, `.`, classes `[...]` / `[^...]` with ranges, groups,
`|`, and the quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}` on an atom that is not itself quantified
without a group); anything else (escapes such as `\\d` or `\\p{..}`, class subtraction, nested repetition of a
repetition) stops the generator with an error naming the schema, element and attribute.
"""

import os
import sys
import xml.etree.ElementTree as ET

XS = "{http://www.w3.org/2001/XMLSchema}"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SAT = os.path.join(ROOT, "cfdi", "tests", "fixtures", "sat", "www.sat.gob.mx", "sitio_internet", "cfd")
CFDV40 = os.path.join(SAT, "4", "cfdv40.xsd")
TDCFDI = os.path.join(SAT, "tipoDatos", "tdCFDI", "tdCFDI.xsd")
OUT = os.path.join(ROOT, "cfdi", "src", "validate", "facets_generated.rs")

STRINGISH = {"xs:string", "xs:token", "xs:normalizedString"}
NUMERIC = {"xs:decimal", "xs:int", "xs:integer", "xs:short", "xs:long", "xs:date", "xs:dateTime", "xs:gYear"}


class Unsupported(Exception):
    pass


def check_pattern(p):
    """Parses `p` with the supported subset; raises Unsupported otherwise."""
    i = 0

    def peek():
        return p[i] if i < len(p) else None

    def alt():
        nonlocal i
        seq()
        while peek() == "|":
            i += 1
            seq()

    def seq():
        nonlocal i
        while peek() is not None and peek() not in "|)":
            atom()
            quant()

    def quant():
        nonlocal i
        c = peek()
        if c in ("?", "*", "+"):
            i += 1
        elif c == "{":
            j = p.index("}", i)
            body = p[i + 1 : j]
            parts = body.split(",")
            if not (1 <= len(parts) <= 2) or not parts[0].isdigit() or (len(parts) == 2 and parts[1] and not parts[1].isdigit()):
                raise Unsupported(f"quantifier {{{body}}}")
            i = j + 1
        else:
            return
        if peek() in ("?", "*", "+", "{"):
            raise Unsupported("a quantifier on a quantifier")

    def atom():
        nonlocal i
        c = peek()
        if c == "(":
            i += 1
            alt()
            if peek() != ")":
                raise Unsupported("unclosed group")
            i += 1
        elif c == "[":
            i += 1
            if peek() == "^":
                i += 1
            first = True
            while True:
                c = peek()
                if c is None:
                    raise Unsupported("unclosed class")
                if c == "]" and not first:
                    i += 1
                    break
                if c in "\\[":
                    raise Unsupported(f"{c!r} in a character class")
                if c == "-" and not first and peek_at(i + 1) == "[":
                    raise Unsupported("class subtraction")
                i += 1
                if peek() == "-" and peek_at(i + 1) not in (None, "]"):
                    i += 2
                first = False
        elif c in ("\\", "^", "$", ")", "]", "{", "}", "?", "*", "+"):
            raise Unsupported(f"{c!r} outside a class")
        else:
            i += 1

    def peek_at(k):
        return p[k] if k < len(p) else None

    alt()
    if i != len(p):
        raise Unsupported(f"unexpected {p[i]!r} at {i}")


def restriction_facets(restriction, where):
    base = restriction.get("base")
    f = {"base": base, "length": None, "min": None, "max": None, "pattern": None, "enum": [], "ws": "preserve"}
    for child in restriction:
        tag = child.tag.replace(XS, "")
        v = child.get("value")
        if tag == "length":
            f["length"] = int(v)
        elif tag == "minLength":
            f["min"] = int(v)
        elif tag == "maxLength":
            f["max"] = int(v)
        elif tag == "pattern":
            if f["pattern"] is not None:
                raise SystemExit(f"{where}: more than one pattern is not supported")
            try:
                check_pattern(v)
            except (Unsupported, ValueError) as e:
                raise SystemExit(f"{where}: unsupported pattern {v!r}: {e}")
            f["pattern"] = v
        elif tag == "enumeration":
            f["enum"].append(v)
        elif tag == "whiteSpace":
            if v not in ("preserve", "replace", "collapse"):
                raise SystemExit(f"{where}: unsupported whiteSpace {v!r}")
            f["ws"] = v
        elif tag in ("fractionDigits", "totalDigits", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
            f["numeric"] = True
        elif tag == "annotation":
            pass
        else:
            raise SystemExit(f"{where}: unsupported facet xs:{tag}")
    return f


def named_types(path, prefix):
    root = ET.parse(path).getroot()
    out = {}
    for st in root.findall(XS + "simpleType"):
        r = st.find(XS + "restriction")
        if r is None:
            raise SystemExit(f"{path}: simpleType {st.get('name')} without restriction")
        out[prefix + st.get("name")] = restriction_facets(r, f"{os.path.basename(path)} {st.get('name')}")
    return out


def main():
    types = named_types(TDCFDI, "tdCFDI:")
    root = ET.parse(CFDV40).getroot()
    rows = []

    def walk(el, path):
        name = el.get("name")
        here = f"{path}/{name}" if path else name
        ct = el.find(XS + "complexType")
        if ct is None:
            return
        for a in ct.iter(XS + "attribute"):
            # only this element's own attributes (not those of nested elements)
            if parent_element(ct, a) is not ct:
                continue
            aname = a.get("name")
            where = f"cfdv40.xsd {here}/@{aname}"
            t = a.get("type")
            if t is None:
                st = a.find(XS + "simpleType")
                if st is None:
                    raise SystemExit(f"{where}: attribute without a type")
                f = restriction_facets(st.find(XS + "restriction"), where)
            elif t.startswith("catCFDI:"):
                continue
            elif t.startswith("tdCFDI:"):
                if t not in types:
                    raise SystemExit(f"{where}: unknown type {t}")
                f = types[t]
            elif t in NUMERIC:
                continue
            elif t in STRINGISH:
                f = {"base": t, "length": None, "min": None, "max": None, "pattern": None, "enum": [], "ws": "preserve"}
            else:
                raise SystemExit(f"{where}: unsupported attribute type {t}")
            if f.get("numeric") or f["base"] in NUMERIC or (f["base"] or "").startswith("tdCFDI:"):
                continue
            if f["base"] not in STRINGISH:
                raise SystemExit(f"{where}: unsupported base type {f['base']}")
            if f["length"] is None and f["min"] is None and f["max"] is None and f["pattern"] is None and not f["enum"]:
                continue
            rows.append((here, aname, f))
        for child in ct.iter(XS + "element"):
            if parent_element(ct, child) is ct and child.get("name"):
                walk(child, here)

    parents = {}

    def index(node):
        for c in node:
            parents[c] = node
            index(c)

    index(root)

    def parent_element(ct, node):
        """The nearest complexType ancestor of `node`."""
        p = parents.get(node)
        while p is not None and p.tag != XS + "complexType":
            p = parents.get(p)
        return p

    walk(root.find(XS + "element"), "")
    out = render(rows)
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as fh:
            if fh.read() != out:
                print(f"{OUT} is stale: run python3 cfdi/tools/gen_facets.py", file=sys.stderr)
                sys.exit(1)
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(out)


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def opt(v):
    return "None" if v is None else f"Some({v})"


def render(rows):
    lines = [
        "// @generated by cfdi/tools/gen_facets.py from cfdv40.xsd and tdCFDI.xsd. Do not edit.",
        "",
        "use super::facets::{Facet, WhiteSpace};",
        "",
        "/// Facets of every string attribute of cfdv40.xsd that has any (catalog and numeric types excluded).",
        "pub(crate) static FACETS: &[Facet] = &[",
    ]
    for el, attr, f in rows:
        enum = ", ".join(rust_str(e) for e in f["enum"])
        lines.append("    Facet {")
        lines.append(f"        element: {rust_str(el)},")
        lines.append(f"        attribute: {rust_str(attr)},")
        lines.append(f"        length: {opt(f['length'])},")
        lines.append(f"        min_length: {opt(f['min'])},")
        lines.append(f"        max_length: {opt(f['max'])},")
        pat = opt(rust_str(f["pattern"]) if f["pattern"] is not None else None)
        if len(f"        pattern: {pat},") > 100:
            # rustfmt's layout, so `cargo fmt` leaves the file as generated
            lines.append("        pattern: Some(")
            lines.append(f"            {rust_str(f['pattern'])},")
            lines.append("        ),")
        else:
            lines.append(f"        pattern: {pat},")
        lines.append(f"        enumeration: &[{enum}],")
        lines.append(f"        white_space: WhiteSpace::{f['ws'].capitalize()},")
        lines.append("    },")
    lines.append("];")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
