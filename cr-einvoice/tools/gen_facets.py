#!/usr/bin/env python3
"""Generate the XSD facets (length, minLength, maxLength, pattern, enumeration, whiteSpace) of every simple
element and attribute of the Costa Rica v4.4 comprobantes from the vendored schemas, so that none is typed by
hand (the approach of cfdi/tools/gen_facets.py, for element-based schemas).

Usage (from the repository root; Python 3.8+, standard library only):

    python3 cr-einvoice/tools/gen_facets.py            # writes cr-einvoice/src/validate/facets_generated.rs
    python3 cr-einvoice/tools/gen_facets.py --check    # exits 1 if the committed file is stale

Schemas (cr-einvoice/tests/fixtures/xsd/xsd/): revision 2024 = v4.4/*.xsd; revision 2026 = v4.4-2026/*.xsd
(official) and, for FE/TE/NC/ND, v4.4-2026-derived/*.xsd (see that folder's README). MensajeHacienda is not
generated (it is parsed, never validated by `validate`).

Every pattern must be in the subset cr-einvoice/src/validate/pattern.rs implements (characters, `.`, `\\d`,
classes `[...]` / `[^...]` with ranges, groups, `|`, quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, no
quantifier on a quantifier); any other construct — another escape, class subtraction, an unknown facet or
schema element, a type that cannot be resolved — stops the generator with an error naming the schema and path.
"""

import os
import sys
import xml.etree.ElementTree as ET

XS = "{http://www.w3.org/2001/XMLSchema}"
# paths relative to the crate, so that the published package can run its own check
CRATE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
XSD = os.path.join(CRATE, "tests", "fixtures", "xsd", "xsd")
OUT = os.path.join(CRATE, "src", "validate", "facets_generated.rs")

# (Rust constant prefix, file name)
DOCS = [
    ("FE", "FacturaElectronica_V4.4.xsd"),
    ("ND", "NotaDebitoElectronica_V4.4.xsd"),
    ("NC", "NotaCreditoElectronica_V4.4.xsd"),
    ("TE", "TiqueteElectronico_V4.4.xsd"),
    ("FEC", "FacturaElectronicaCompra_V4.4.xsd"),
    ("FEE", "FacturaElectronicaExportacion_V4.4.xsd"),
    ("REP", "ReciboElectronicoPago_V4.4.xsd"),
    ("MR", "MensajeReceptor_V4.4.xsd"),
]
REVISIONS = [("2024", ["v4.4"]), ("2026", ["v4.4-2026", "v4.4-2026-derived"])]

STRINGISH = {"xs:string", "xs:token", "xs:normalizedString"}
NUMERIC = {"xs:decimal", "xs:int", "xs:integer", "xs:positiveInteger", "xs:nonNegativeInteger", "xs:short",
           "xs:long", "xs:unsignedInt", "xs:unsignedShort", "xs:unsignedByte", "xs:byte"}
OTHER_BUILTIN = {"xs:dateTime", "xs:date", "xs:boolean", "xs:base64Binary", "xs:anyURI"}


class Fail(SystemExit):
    pass


def check_pattern(p, where):
    """Parses `p` with the supported subset; exits naming `where` otherwise."""
    i = 0

    def fail(msg):
        raise Fail(f"{where}: unsupported pattern {p!r}: {msg}")

    def peek(k=0):
        return p[i + k] if i + k < len(p) else None

    def alt():
        nonlocal i
        seq()
        while peek() == "|":
            i += 1
            seq()

    def seq():
        while peek() is not None and peek() not in "|)":
            atom()
            quant()

    def quant():
        nonlocal i
        c = peek()
        if c in ("?", "*", "+"):
            i += 1
        elif c == "{":
            j = p.find("}", i)
            if j < 0:
                fail("unclosed {")
            parts = p[i + 1 : j].split(",")
            if not (1 <= len(parts) <= 2) or not parts[0].isdigit() or (len(parts) == 2 and parts[1] and not parts[1].isdigit()):
                fail(f"quantifier {p[i:j + 1]}")
            i = j + 1
        else:
            return
        if peek() in ("?", "*", "+", "{"):
            fail("a quantifier on a quantifier")

    def atom():
        nonlocal i
        c = peek()
        if c == "(":
            i += 1
            alt()
            if peek() != ")":
                fail("unclosed group")
            i += 1
        elif c == "[":
            i += 1
            if peek() == "^":
                i += 1
            first = True
            while True:
                c = peek()
                if c is None:
                    fail("unclosed class")
                if c == "]" and not first:
                    i += 1
                    break
                if c in "\\[":
                    fail(f"{c!r} in a character class")
                i += 1
                if peek() == "-" and peek(1) not in (None, "]"):
                    if peek(1) in "[\\":
                        fail("class subtraction or escape in a range")
                    i += 2
                first = False
        elif c == "\\":
            if peek(1) != "d":
                fail(f"escape \\{peek(1)}")
            i += 2
        elif c in ("^", "$", ")", "]", "{", "}", "?", "*", "+"):
            fail(f"{c!r} outside a class")
        else:
            i += 1

    alt()
    if i != len(p):
        fail(f"unexpected {p[i]!r} at {i}")


def empty_facets(base):
    # the numeric built-ins have whiteSpace collapse; xs:string preserve
    ws = "collapse" if base in NUMERIC else None
    return {"base": base, "length": None, "min": None, "max": None, "pattern": None, "enum": [], "ws": ws}


class Schema:
    def __init__(self, path, label):
        self.path = path
        self.label = label
        self.root = ET.parse(path).getroot()
        self.simple = {st.get("name"): st for st in self.root.findall(XS + "simpleType")}
        self.complex = {ct.get("name"): ct for ct in self.root.findall(XS + "complexType")}
        self.rows = []  # (path, facets)
        self.repeat = []  # paths with maxOccurs > 1

    def fail(self, where, msg):
        raise Fail(f"{self.label} {where}: {msg}")

    def simple_facets(self, st, where, seen=()):
        """Facets of a simpleType element (restriction, possibly on another named simpleType)."""
        kids = [c for c in st if c.tag != XS + "annotation"]
        if len(kids) != 1 or kids[0].tag != XS + "restriction":
            self.fail(where, "simpleType other than a restriction (list/union) is not supported")
        return self.restriction(kids[0], where, seen)

    def type_facets(self, t, where, seen=()):
        if t in STRINGISH or t in NUMERIC or t in OTHER_BUILTIN:
            return empty_facets(t)
        if t in seen:
            self.fail(where, f"recursive type {t}")
        if t not in self.simple:
            self.fail(where, f"unknown simple type {t}")
        return self.simple_facets(self.simple[t], where, seen + (t,))

    def restriction(self, r, where, seen=()):
        base = r.get("base")
        if base is None:
            self.fail(where, "restriction without base")
        f = dict(self.type_facets(base, where, seen))
        f["enum"] = list(f["enum"])
        own_enum = []
        for child in r:
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
                    self.fail(where, "more than one pattern (or a pattern on a patterned base) is not supported")
                check_pattern(v, f"{self.label} {where}")
                f["pattern"] = v
            elif tag == "enumeration":
                own_enum.append(v)
            elif tag == "whiteSpace":
                if v not in ("preserve", "replace", "collapse"):
                    self.fail(where, f"whiteSpace {v!r}")
                f["ws"] = v
            elif tag in ("fractionDigits", "totalDigits", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
                if f["base"] not in NUMERIC:
                    self.fail(where, f"xs:{tag} on non-numeric base {f['base']}")
            elif tag == "annotation":
                pass
            else:
                self.fail(where, f"unsupported facet xs:{tag}")
        if own_enum:
            f["enum"] = own_enum
        return f

    def add(self, path, f):
        if f["base"] in OTHER_BUILTIN:
            if f["pattern"] or f["enum"] or f["length"] is not None or f["min"] is not None or f["max"] is not None:
                self.fail(path, f"facets on {f['base']} are not supported")
            return
        if f["base"] in NUMERIC:
            # the numeric facets are checked by validate's amount checks; keep the lexical ones
            if f["length"] is not None or f["min"] is not None or f["max"] is not None:
                self.fail(path, "length facets on a numeric type")
        elif f["base"] not in STRINGISH:
            self.fail(path, f"unsupported base type {f['base']}")
        if f["length"] is None and f["min"] is None and f["max"] is None and f["pattern"] is None and not f["enum"]:
            return
        self.rows.append((path, f))

    def element(self, el, path):
        if el.get("ref") is not None:
            if el.get("ref") != "ds:Signature":
                self.fail(path, f"element ref {el.get('ref')}")
            return
        name = el.get("name")
        here = f"{path}/{name}" if path else name
        mx = el.get("maxOccurs", "1")
        if mx == "unbounded" or int(mx) > 1:
            self.repeat.append(here)
        t = el.get("type")
        st = el.find(XS + "simpleType")
        ct = el.find(XS + "complexType")
        if t is not None:
            if t in self.complex:
                self.complex_type(self.complex[t], here)
            else:
                self.add(here, self.type_facets(t, here))
        elif st is not None:
            self.add(here, self.simple_facets(st, here))
        elif ct is not None:
            self.complex_type(ct, here)
        else:
            self.fail(here, "element without a type")

    def particle(self, node, path):
        for c in node:
            tag = c.tag.replace(XS, "")
            if tag == "element":
                self.element(c, path)
            elif tag in ("sequence", "choice"):
                self.particle(c, path)
            elif tag == "annotation":
                pass
            else:
                self.fail(path, f"unsupported content xs:{tag}")

    def attribute(self, a, path):
        here = f"{path}/@{a.get('name')}"
        t = a.get("type")
        st = a.find(XS + "simpleType")
        if t is not None:
            self.add(here, self.type_facets(t, here))
        elif st is not None:
            self.add(here, self.simple_facets(st, here))
        else:
            self.fail(here, "attribute without a type")

    def complex_type(self, ct, path):
        for c in ct:
            tag = c.tag.replace(XS, "")
            if tag in ("sequence", "choice"):
                self.particle(c, path)
            elif tag == "attribute":
                self.attribute(c, path)
            elif tag == "simpleContent":
                kids = [k for k in c if k.tag != XS + "annotation"]
                if len(kids) != 1 or kids[0].tag != XS + "extension":
                    self.fail(path, "simpleContent other than an extension")
                ext = kids[0]
                self.add(path, self.type_facets(ext.get("base"), path))
                for k in ext:
                    if k.tag == XS + "attribute":
                        self.attribute(k, path)
                    elif k.tag != XS + "annotation":
                        self.fail(path, f"unsupported extension content {k.tag}")
            elif tag == "annotation":
                pass
            else:
                self.fail(path, f"unsupported complexType content xs:{tag}")

    def run(self):
        roots = self.root.findall(XS + "element")
        if len(roots) != 1:
            self.fail("", "expected exactly one global element")
        # paths are relative to the root element (as validate's paths are)
        root = roots[0]
        ct = root.find(XS + "complexType")
        if ct is None:
            self.fail(root.get("name"), "root without an inline complexType")
        self.complex_type(ct, "")
        self.rows.sort(key=lambda r: r[0])
        self.repeat.sort()
        return self


def find(dirs, name):
    for d in dirs:
        p = os.path.join(XSD, d, name)
        if os.path.exists(p):
            return p, f"{d}/{name}"
    raise Fail(f"{name} not found in {dirs}")


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def opt(v):
    return "None" if v is None else f"Some({v})"


def render(tables):
    facets = {}  # key -> index
    enums = {}  # tuple -> index
    body = []
    def facet_index(f):
        # sorted (code-point order = UTF-8 byte order), so that the check can binary-search
        e = tuple(sorted(set(f["enum"])))
        if e and e not in enums:
            enums[e] = len(enums)
        key = (f["length"], f["min"], f["max"], f["pattern"], e, f["ws"] or "preserve")
        if key not in facets:
            facets[key] = len(facets)
        return facets[key]

    table_lines = []
    sources = []
    for prefix, rev, schema in tables:
        sources.append(schema.label)
        # a trie of the element paths that have facets or repeat, children contiguous (BFS)
        facet_of = {path: facet_index(f) for path, f in schema.rows}
        repeat = set(schema.repeat)
        tree = {}
        for path in list(facet_of) + sorted(repeat):
            node = tree
            for part in path.split("/"):
                node = node.setdefault(part, {})
        nodes = [["", "", 0, 0]]  # name, full path, first child, child count
        queue = [(0, "", tree)]
        while queue:
            idx, path, children = queue.pop(0)
            nodes[idx][2] = len(nodes)
            nodes[idx][3] = len(children)
            for name in sorted(children):
                full = f"{path}/{name}" if path else name
                nodes.append([name, full, 0, 0])
                queue.append((len(nodes) - 1, full, children[name]))
        table_lines.append(f"/// `{schema.label}`: the element paths with facets or repeats, as a trie (node 0: the root).")
        table_lines.append(f"pub(crate) static {prefix}_{rev}: &[Node] = &[")
        for name, full, first, count in nodes:
            facet = facet_of.get(full)
            facet_s = "NO_FACET" if facet is None else str(facet)
            rep = "true" if full in repeat else "false"
            table_lines.append(f"    Node {{ name: {rust_str(name)}, first: {first}, count: {count}, facet: {facet_s}, repeat: {rep} }},")
        table_lines.append("];")
    out = [
        "// @generated by cr-einvoice/tools/gen_facets.py from the vendored v4.4 schemas. Do not edit.",
        "// Sources (cr-einvoice/tests/fixtures/xsd/xsd/): " + ", ".join(sources) + ".",
        "",
        "use super::facets::{Facet, NO_FACET, Node, WhiteSpace};",
        "",
    ]
    for e, i in enums.items():
        vals = ", ".join(rust_str(v) for v in e)
        out.append(f"static E{i}: &[&str] = &[{vals}];")
    out.append("")
    out.append("/// Every distinct set of facets.")
    out.append(f"pub(crate) static FACETS: [Facet; {len(facets)}] = [")
    for (length, mn, mx, pat, e, ws) in facets:
        out.append("    Facet {")
        out.append(f"        length: {opt(length)},")
        out.append(f"        min_length: {opt(mn)},")
        out.append(f"        max_length: {opt(mx)},")
        pat_s = opt(rust_str(pat) if pat is not None else None)
        out.append(f"        pattern: {pat_s},")
        out.append(f"        enumeration: {'E' + str(enums[e]) if e else '&[]'},")
        out.append(f"        white_space: WhiteSpace::{ws.capitalize()},")
        out.append("    },")
    out.append("];")
    out.append("")
    out.extend(table_lines)
    return "\n".join(out) + "\n"


def main():
    tables = []
    for rev, dirs in REVISIONS:
        for prefix, name in DOCS:
            path, label = find(dirs, name)
            tables.append((prefix, rev, Schema(path, label).run()))
    out = render(tables)
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as fh:
            if fh.read() != out:
                print(f"{OUT} is stale: run python3 cr-einvoice/tools/gen_facets.py", file=sys.stderr)
                sys.exit(1)
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(out)


if __name__ == "__main__":
    main()
