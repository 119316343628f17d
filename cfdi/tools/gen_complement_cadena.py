#!/usr/bin/env python3
"""Generate the complement cadena-original programs from SAT's vendored XSLTs.

Usage (from the repository root; Python 3.8+, standard library only):

    python3 cfdi/tools/gen_complement_cadena.py            # writes the Rust file
    python3 cfdi/tools/gen_complement_cadena.py --check    # exit 1 if the committed file is stale
    python3 cfdi/tools/gen_complement_cadena.py --stdout   # print instead of writing

Reads   cfdi/tests/fixtures/sat/www.sat.gob.mx/sitio_internet/cfd/4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt
        and every complement XSLT it includes (xsl:include, in order)
Writes  cfdi/src/cadena/generated.rs

Every complement XSLT included by the CFDI 4.0 cadena XSLT becomes a table of templates, one per
`xsl:template match="prefix:Element"`, each an ordered list of operations that the interpreter in
cfdi/src/cadena/program.rs runs over the complement's XML:

    Requerido / Opcional with select="./@A" | "@A"   -> Op::Required / Op::Optional (Value::Attr)
    ... with select="." / a relative element path     -> Value::Current / Value::Path (string value)
    xsl:apply-templates select="path"                 -> Op::Apply
    xsl:for-each select="path"                        -> Op::ForEach (nested operations)
    xsl:if test="path" | test="./@A='literal'"        -> Op::If (Cond::Exists / Cond::AttrEq)

Paths are `.`, `./p:A`, `p:A/p:B`, `.//p:A` (child and descendant-or-self steps, resolved to
namespace URIs with the XSLT's own prefix declarations). Anything else -- another XSLT instruction,
attribute, literal text in a template, an unknown path form, a named template other than
Requerido/Opcional, two templates matching the same element, or an apply-templates / for-each whose
selected element has no template (SAT's output would then come from XSLT's built-in template) --
stops the generator with an error: nothing is skipped silently.

Excluded on purpose: utilerias.xslt (its Requerido/Opcional/ManejaEspacios semantics are checked
here and implemented by the crate's `req`/`opt`) and Pagos/Pagos20.xslt (typed code in cadena/mod.rs).
A template with match="/" (vehiculousado.xslt has one, for running it stand-alone) is never used by
the 4.0 XSLT, whose own "/" template comes later and wins, so it is not part of any program.

The output is deterministic: running the script twice gives identical bytes.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CFD = os.path.join(ROOT, "cfdi", "tests", "fixtures", "sat", "www.sat.gob.mx", "sitio_internet", "cfd")
MAIN = os.path.join(CFD, "4", "cadenaoriginal_4_0", "cadenaoriginal_4_0.xslt")
OUT = os.path.join(ROOT, "cfdi", "src", "cadena", "generated.rs")

XSL_NS = "http://www.w3.org/1999/XSL/Transform"
XSL = "{" + XSL_NS + "}"
UTILERIAS = "2/cadenaoriginal_2_0/utilerias.xslt"
TYPED = {"Pagos/Pagos20.xslt": "Pagos 2.0 is typed (cadena/mod.rs)"}

NAME = r"[^\W\d][\w.\-]*"
QNAME_RE = re.compile(r"^(" + NAME + r"):(" + NAME + r")$")
ATTR_RE = re.compile(r"^(?:\./)?@(" + NAME + r")$")
ATTR_EQ_RE = re.compile(r"^(?:\./)?@(" + NAME + r")\s*=\s*'([^']*)'$")


class GenError(Exception):
    pass


def fail(where, msg):
    raise GenError(f"{where}: {msg}")


def parse_with_namespaces(path):
    """Parses an XSLT; returns (root element, prefix -> URI map of the stylesheet element)."""
    prefixes = {}
    started = False
    root = None
    for event, item in ET.iterparse(path, events=("start-ns", "start")):
        if event == "start-ns":
            prefix, uri = item
            if started:
                fail(path, f"namespace prefix {prefix!r} declared below the stylesheet element")
            if prefix in prefixes and prefixes[prefix] != uri:
                fail(path, f"prefix {prefix!r} declared twice")
            prefixes[prefix] = uri
        elif root is None:
            started = True
            root = item
    if root is None:
        fail(path, "empty document")
    # iterparse has built the whole tree by now.
    return root, prefixes


def text_is_blank(s):
    return s is None or s.strip() == ""


def check_no_text(el, where):
    if not text_is_blank(el.text):
        fail(where, f"literal text {el.text.strip()!r} inside <{el.tag}>")
    for ch in el:
        if not text_is_blank(ch.tail):
            fail(where, f"literal text {ch.tail.strip()!r} after <{ch.tag}>")


def check_attrs(el, allowed, where):
    extra = set(el.attrib) - set(allowed)
    if extra:
        fail(where, f"<{el.tag}> has unsupported attribute(s) {sorted(extra)}")


def parse_path(expr, prefixes, where):
    """`.`, `./p:A`, `p:A/p:B`, `.//p:A` -> list of (descendant, ns, local); `.` -> []."""
    s = expr.strip()
    if s == ".":
        return []
    if s.startswith("/"):
        fail(where, f"absolute path {expr!r}")
    descendant = False
    if s.startswith(".//"):
        descendant, s = True, s[3:]
    elif s.startswith("./"):
        s = s[2:]
    steps = []
    for part in s.split("/"):
        if part == "":
            if descendant:
                fail(where, f"unsupported path {expr!r}")
            descendant = True
            continue
        m = QNAME_RE.match(part)
        if not m:
            fail(where, f"unsupported path step {part!r} in {expr!r}")
        prefix, local = m.groups()
        if prefix not in prefixes:
            fail(where, f"undeclared prefix {prefix!r} in {expr!r}")
        steps.append((descendant, prefixes[prefix], local))
        descendant = False
    if descendant or not steps:
        fail(where, f"unsupported path {expr!r}")
    return steps


def parse_value(expr, prefixes, where):
    s = expr.strip()
    m = ATTR_RE.match(s)
    if m:
        return ("Attr", m.group(1))
    if s == ".":
        return ("Current",)
    return ("Path", parse_path(s, prefixes, where))


def parse_cond(expr, prefixes, where):
    s = expr.strip()
    m = ATTR_EQ_RE.match(s)
    if m:
        return ("AttrEq", m.group(1), m.group(2))
    return ("Exists", parse_path(s, prefixes, where))


def parse_ops(parent, prefixes, where, in_for_each):
    check_no_text(parent, where)
    ops = []
    for el in parent:
        if el.tag == XSL + "call-template":
            check_attrs(el, ["name"], where)
            kind = {"Requerido": "Required", "Opcional": "Optional"}.get(el.get("name"))
            if kind is None:
                fail(where, f"call-template {el.get('name')!r}")
            check_no_text(el, where)
            params = list(el)
            if len(params) != 1 or params[0].tag != XSL + "with-param":
                fail(where, "call-template needs exactly one xsl:with-param")
            p = params[0]
            check_attrs(p, ["name", "select"], where)
            if p.get("name") != "valor" or p.get("select") is None or len(p) or not text_is_blank(p.text):
                fail(where, "with-param must be name=\"valor\" select=\"...\"")
            ops.append((kind, parse_value(p.get("select"), prefixes, where)))
        elif el.tag == XSL + "apply-templates":
            check_attrs(el, ["select"], where)
            if el.get("select") is None or len(el) or not text_is_blank(el.text):
                fail(where, "apply-templates needs a select and no content")
            path = parse_path(el.get("select"), prefixes, where)
            if not path and not in_for_each:
                fail(where, "apply-templates select=\".\" outside a for-each would recurse forever")
            ops.append(("Apply", path))
        elif el.tag == XSL + "for-each":
            check_attrs(el, ["select"], where)
            if el.get("select") is None:
                fail(where, "for-each needs a select")
            path = parse_path(el.get("select"), prefixes, where)
            if not path:
                fail(where, "for-each select=\".\"")
            body = parse_ops(el, prefixes, where, True)
            ops.append(("ForEach", path, body))
        elif el.tag == XSL + "if":
            check_attrs(el, ["test"], where)
            if el.get("test") is None:
                fail(where, "xsl:if needs a test")
            cond = parse_cond(el.get("test"), prefixes, where)
            ops.append(("If", cond, parse_ops(el, prefixes, where, in_for_each)))
        else:
            fail(where, f"unsupported instruction <{el.tag}>")
    return ops


def check_utilerias(path):
    """The crate's req/opt implement these three templates; make sure they are what we think."""
    root, _ = parse_with_namespaces(path)
    found = {}
    for t in root:
        if t.tag != XSL + "template":
            fail(path, f"unexpected <{t.tag}>")
        found[t.get("name")] = t
    if set(found) != {"Requerido", "Opcional", "ManejaEspacios"}:
        fail(path, f"named templates are {sorted(found, key=str)}")
    req = found["Requerido"]
    if [c.tag for c in req] != [XSL + "param", XSL + "call-template"] or req[0].tail.strip() != "|":
        fail(path, "Requerido is not '|' + ManejaEspacios($valor)")
    opt = found["Opcional"]
    if [c.tag for c in opt] != [XSL + "param", XSL + "if"] or opt[1].get("test") != "$valor":
        fail(path, "Opcional is not xsl:if test=\"$valor\"")
    if opt[1].text.strip() != "|" or [c.get("name") for c in opt[1]] != ["ManejaEspacios"]:
        fail(path, "Opcional does not emit '|' + ManejaEspacios($valor)")
    sel = [c.get("select") for c in found["ManejaEspacios"].iter(XSL + "value-of")]
    if sel != ["normalize-space(string($s))"]:
        fail(path, f"ManejaEspacios selects {sel}")


def load_file(rel):
    """Returns (templates: list of (ns, local, ops)) of one complement XSLT."""
    path = os.path.join(CFD, rel)
    root, prefixes = parse_with_namespaces(path)
    if root.tag != XSL + "stylesheet":
        fail(rel, "not an xsl:stylesheet")
    check_no_text(root, rel)
    templates = []
    for el in root:
        if el.tag == XSL + "output":
            continue
        if el.tag != XSL + "template":
            fail(rel, f"unsupported top-level <{el.tag}>")
        check_attrs(el, ["match"], rel)
        match = el.get("match")
        if match is None:
            fail(rel, "named template")
        if match.strip() == "/":
            continue  # overridden by cadenaoriginal_4_0.xslt's own "/" template (see module doc)
        m = QNAME_RE.match(match.strip())
        if not m:
            fail(rel, f"unsupported match pattern {match!r}")
        prefix, local = m.groups()
        if prefix not in prefixes:
            fail(rel, f"undeclared prefix in match {match!r}")
        where = f"{rel} template {match}"
        templates.append((prefixes[prefix], local, parse_ops(el, prefixes, where, False)))
    return templates


def walk_ops(ops):
    """Yields (kind, path, body) for every Apply / ForEach, recursively."""
    for op in ops:
        if op[0] == "Apply":
            yield op
        elif op[0] == "ForEach":
            yield op
            yield from walk_ops(op[2])
        elif op[0] == "If":
            yield from walk_ops(op[2])


def load_all():
    root, _ = parse_with_namespaces(MAIN)
    includes = [el.get("href") for el in root if el.tag == XSL + "include"]
    base = os.path.dirname(MAIN)
    rels = [os.path.relpath(os.path.normpath(os.path.join(base, h)), CFD).replace(os.sep, "/") for h in includes]
    if UTILERIAS not in rels:
        fail(MAIN, "utilerias.xslt is not included")
    check_utilerias(os.path.join(CFD, UTILERIAS))
    complements = []  # (rel, ns, root)
    table = {}  # (ns, local) -> (rel, ops)
    for rel in rels:
        if rel == UTILERIAS or rel in TYPED:
            continue
        templates = load_file(rel)
        if not templates:
            fail(rel, "no templates")
        for ns, local, ops in templates:
            if (ns, local) in table:
                fail(rel, f"{{{ns}}}{local} is also matched in {table[(ns, local)][0]}")
            table[(ns, local)] = (rel, ops)
        selected = set()
        for _, _, ops in templates:
            for op in walk_ops(ops):
                if op[1]:
                    selected.add((op[1][-1][1], op[1][-1][2]))
        roots = [(ns, local) for ns, local, _ in templates if (ns, local) not in selected]
        if len(roots) != 1:
            fail(rel, f"expected exactly one root template, found {roots}")
        complements.append((rel, roots[0][0], roots[0][1]))
    # Every element reached by apply-templates must have a template: otherwise XSLT's built-in
    # template would copy its text, which the programs do not model.
    for (ns, local), (rel, ops) in table.items():
        for op in walk_ops(ops):
            if op[0] == "Apply" and op[1]:
                target = (op[1][-1][1], op[1][-1][2])
            elif op[0] == "ForEach" and any(o[0] == "Apply" and not o[1] for o in walk_ops(op[2])):
                target = (op[1][-1][1], op[1][-1][2])
            else:
                continue
            if target not in table:
                fail(rel, f"template {local} applies templates to {{{target[0]}}}{target[1]}, "
                          "which no template matches (XSLT built-in template)")
    return complements, table


def rust_str(s):
    if any(c in s for c in '"\\\n\r\t') or any(ord(c) < 0x20 for c in s):
        fail("output", f"unexpected character in {s!r}")
    return '"' + s + '"'


def generate():
    complements, table = load_all()
    namespaces = sorted({ns for ns, _ in table})
    ns_names = {}
    for i, ns in enumerate(namespaces):
        ns_names[ns] = f"NS{i}"

    def steps(path):
        return "&[" + ", ".join(
            f"Step {{ descendant: {'true' if d else 'false'}, namespace: {ns_names[ns]}, local: {rust_str(lo)} }}"
            for d, ns, lo in path) + "]"

    def value(v):
        if v[0] == "Attr":
            return f"Value::Attr({rust_str(v[1])})"
        if v[0] == "Current":
            return "Value::Current"
        return f"Value::Path({steps(v[1])})"

    def ops_text(ops, indent):
        pad = "    " * indent
        lines = []
        for op in ops:
            if op[0] in ("Required", "Optional"):
                lines.append(f"{pad}Op::{op[0]}({value(op[1])}),")
            elif op[0] == "Apply":
                lines.append(f"{pad}Op::Apply({steps(op[1])}),")
            elif op[0] == "ForEach":
                lines.append(f"{pad}Op::ForEach({steps(op[1])}, &[")
                lines.extend(ops_text(op[2], indent + 1))
                lines.append(f"{pad}]),")
            elif op[0] == "If":
                c = op[1]
                if c[0] == "AttrEq":
                    cond = f"Cond::AttrEq({rust_str(c[1])}, {rust_str(c[2])})"
                else:
                    cond = f"Cond::Exists({steps(c[1])})"
                lines.append(f"{pad}Op::If({cond}, &[")
                lines.extend(ops_text(op[2], indent + 1))
                lines.append(f"{pad}]),")
            else:
                fail("output", f"unknown op {op[0]}")
        return lines

    out = [
        "// @generated by cfdi/tools/gen_complement_cadena.py from SAT's cadenaoriginal_4_0.xslt and the",
        "// complement XSLTs it includes (cfdi/tests/fixtures/sat/). Do not edit by hand.",
        "// Regenerate with: python3 cfdi/tools/gen_complement_cadena.py",
        "",
        "use super::program::{Complement, Cond, Op, Step, Template, Value};",
        "",
    ]
    for ns in namespaces:
        out.append(f"const {ns_names[ns]}: &str = {rust_str(ns)};")
    out.append("")
    out.append(f"/// The {len(complements)} complements of `cadenaoriginal_4_0.xslt` (besides Pagos 2.0), in include order.")
    out.append("pub(crate) static COMPLEMENTS: &[Complement] = &[")
    for rel, ns, local in complements:
        out.append(f"    Complement {{ xslt: {rust_str(rel)}, namespace: {ns_names[ns]}, root: {rust_str(local)} }},")
    out.append("];")
    out.append("")
    out.append(f"/// Every template of those XSLTs ({len(table)}), sorted by (namespace, local name) for binary search.")
    out.append("pub(crate) static TEMPLATES: &[Template] = &[")
    for (ns, local) in sorted(table):
        rel, ops = table[(ns, local)]
        out.append(f"    // {rel}")
        out.append(f"    Template {{ namespace: {ns_names[ns]}, local: {rust_str(local)}, ops: &[")
        out.extend(ops_text(ops, 2))
        out.append("    ] },")
    out.append("];")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    try:
        text = generate()
    except GenError as e:
        print(f"gen_complement_cadena: {e}", file=sys.stderr)
        return 2
    if "--stdout" in args:
        sys.stdout.write(text)
        return 0
    if "--check" in args:
        try:
            with open(OUT, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{os.path.relpath(OUT, ROOT)} is stale: run python3 cfdi/tools/gen_complement_cadena.py",
                  file=sys.stderr)
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
