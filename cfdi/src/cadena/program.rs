//! Complement cadenas as data: the programs generated from SAT's complement XSLTs
//! (`generated.rs`, written by `python3 cfdi/tools/gen_complement_cadena.py`) and the interpreter
//! that runs them over a [`RawXml`] complement.
//!
//! Each XSLT template `match="ns:Element"` is a [`Template`]: an ordered list of [`Op`]s mirroring
//! its `Requerido` / `Opcional` calls, `xsl:apply-templates`, `xsl:for-each` and `xsl:if`.
//! `Apply` and `ForEach` select nodes the XPath way: every node the path matches, in document
//! order, so `apply-templates select="./a"` then `select="./b"` emits all `a` before all `b`
//! however they interleave in the document.

use std::borrow::Cow;

use super::C;
use super::generated::{COMPLEMENTS, TEMPLATES};
use super::tree::{MAX_DEPTH, Tree};
use crate::error::{Error, Result};
use crate::model::RawXml;

/// A complement supported by the cadena: the element that `cadenaoriginal_4_0.xslt` dispatches.
#[derive(Debug)]
pub struct Complement {
    /// The XSLT it was generated from, relative to `sitio_internet/cfd/`.
    pub xslt: &'static str,
    /// Namespace URI of the root element.
    pub namespace: &'static str,
    /// Local name of the root element.
    pub root: &'static str,
}

/// One `xsl:template match="ns:local"`.
#[derive(Debug)]
pub struct Template {
    /// Namespace URI of the matched element.
    pub namespace: &'static str,
    /// Local name of the matched element.
    pub local: &'static str,
    /// The template body.
    pub ops: &'static [Op],
}

/// One step of a path: `ns:local` children, or (`descendant`) descendants, of the context.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// `true` for `.//ns:local` (descendant-or-self then child), `false` for `./ns:local`.
    pub descendant: bool,
    /// Namespace URI of the selected elements.
    pub namespace: &'static str,
    /// Local name of the selected elements.
    pub local: &'static str,
}

/// What a `Requerido` / `Opcional` call outputs.
#[derive(Debug)]
pub enum Value {
    /// `./@name`: an unprefixed attribute of the context element.
    Attr(&'static str),
    /// `.`: the string value of the context element.
    Current,
    /// A path: the string value of the first selected element.
    Path(&'static [Step]),
}

/// The test of an `xsl:if`.
#[derive(Debug)]
pub enum Cond {
    /// `test="path"`: the path selects at least one element.
    Exists(&'static [Step]),
    /// `test="./@name='literal'"`: the attribute exists and equals the literal.
    AttrEq(&'static str, &'static str),
}

/// One instruction of a template.
#[derive(Debug)]
pub enum Op {
    /// `Requerido`: `|` + normalize-space(value), empty if the value is absent.
    Required(Value),
    /// `Opcional`: `|` + normalize-space(value), only if the value is present.
    Optional(Value),
    /// `xsl:apply-templates select="path"` (an empty path is `.`).
    Apply(&'static [Step]),
    /// `xsl:for-each select="path"` running the nested instructions on each selected element.
    ForEach(&'static [Step], &'static [Op]),
    /// `xsl:if` running the nested instructions when the condition holds.
    If(Cond, &'static [Op]),
}

/// Every supported complement, in the include order of `cadenaoriginal_4_0.xslt`.
pub fn complements() -> &'static [Complement] {
    COMPLEMENTS
}

/// The template matching `{namespace}local`, if any XSLT has one.
pub fn template(namespace: &str, local: &str) -> Option<&'static Template> {
    TEMPLATES
        .binary_search_by(|t| (t.namespace, t.local).cmp(&(namespace, local)))
        .ok()
        .and_then(|i| TEMPLATES.get(i))
}

fn unsupported(namespace: &str, local_name: &str) -> Error {
    Error::UnsupportedComplement {
        namespace: namespace.into(),
        local_name: local_name.into(),
    }
}

/// Appends the cadena fields of `raw` to `out`, or fails if its XSLT is not in the table.
pub(super) fn run(out: &mut C, raw: &RawXml) -> Result<()> {
    if !COMPLEMENTS
        .iter()
        .any(|c| c.namespace == raw.namespace() && c.root == raw.local_name())
    {
        return Err(unsupported(raw.namespace(), raw.local_name()));
    }
    let tree = Tree::parse(raw)?;
    Interpreter {
        tree: &tree,
        out,
        depth: 0,
    }
    .apply(0)
}

struct Interpreter<'a> {
    tree: &'a Tree,
    out: &'a mut C,
    /// Nested template applications (each goes at least one element deeper).
    depth: usize,
}

impl Interpreter<'_> {
    /// Applies the template matching element `id`.
    fn apply(&mut self, id: usize) -> Result<()> {
        let node = self.tree.nodes.get(id).ok_or_else(|| unsupported("", ""))?;
        // The generator guarantees every selected element has a template; this is the built-in
        // template case, which is not modelled.
        let t = template(&node.namespace, &node.local)
            .ok_or_else(|| unsupported(&node.namespace, &node.local))?;
        if self.depth > MAX_DEPTH {
            return Err(unsupported(&node.namespace, &node.local));
        }
        self.depth += 1;
        let r = self.run(t.ops, id);
        self.depth -= 1;
        r
    }

    fn run(&mut self, ops: &[Op], ctx: usize) -> Result<()> {
        for op in ops {
            match op {
                Op::Required(v) => {
                    let v = value(self.tree, v, ctx);
                    self.out.req(v.as_deref().unwrap_or(""));
                }
                Op::Optional(v) => {
                    if let Some(v) = value(self.tree, v, ctx) {
                        self.out.req(&v);
                    }
                }
                Op::Apply(path) => {
                    for id in select(self.tree, ctx, path) {
                        self.apply(id)?;
                    }
                }
                Op::ForEach(path, body) => {
                    for id in select(self.tree, ctx, path) {
                        self.run(body, id)?;
                    }
                }
                Op::If(cond, body) => {
                    let holds = match cond {
                        Cond::Exists(path) => !select(self.tree, ctx, path).is_empty(),
                        Cond::AttrEq(name, literal) => self.tree.attr(ctx, name) == Some(*literal),
                    };
                    if holds {
                        self.run(body, ctx)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The value a `Requerido` / `Opcional` call passes, `None` if absent.
fn value<'t>(tree: &'t Tree, v: &Value, ctx: usize) -> Option<Cow<'t, str>> {
    match v {
        Value::Attr(name) => tree.attr(ctx, name).map(Cow::Borrowed),
        Value::Current => Some(Cow::Owned(tree.string_value(ctx))),
        Value::Path(path) => select(tree, ctx, path)
            .first()
            .map(|&id| Cow::Owned(tree.string_value(id))),
    }
}

/// The elements `path` selects from `ctx`, in document order without duplicates.
fn select(tree: &Tree, ctx: usize, path: &[Step]) -> Vec<usize> {
    let mut current = vec![ctx];
    for step in path {
        let matches = |id: &usize| {
            tree.nodes
                .get(*id)
                .is_some_and(|n| n.namespace == step.namespace && n.local == step.local)
        };
        let mut next: Vec<usize> = Vec::new();
        for &c in &current {
            if step.descendant {
                next.extend(tree.descendants(c).filter(matches));
            } else {
                next.extend(tree.children(c).filter(matches));
            }
        }
        next.sort_unstable();
        next.dedup();
        current = next;
    }
    current
}
