//! The compiled filter and its evaluation over one slot of a layer.

use std::borrow::Cow;
use std::cmp::Ordering;

use geo::Rect;

use super::like::{Fold, Pattern};
use super::spatial::{Literal, SpatialOp};
use super::temporal::{Span, TemporalOp};
use crate::index::{Column, Layer};
use crate::query::access::Term;
use crate::query::datetime::days_to_ms;
use std::ops::Bound as End;

const DAY_MS: i64 = 86_400_000;

/// A compiled filter: evaluate it with [`Filter::matches`].
#[derive(Debug)]
pub struct Filter {
    pub(super) root: Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayOp {
    Equals,
    Contains,
    ContainedBy,
    Overlaps,
}

/// A scalar operand: a column, a literal, or a folded (CASEI/ACCENTI) operand.
#[derive(Debug)]
pub enum Scalar {
    Column(usize),
    Literal(Lit),
    Folded(Box<Scalar>, Fold),
}

/// A typed literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    Date(i32),
    Timestamp(i64),
}

/// A temporal operand: a date/timestamp column, a literal span, or an interval of bounds.
#[derive(Debug)]
pub enum TemporalOperand {
    Column(usize),
    Span(Span),
    Interval(Box<Bound>, Box<Bound>),
}

#[derive(Debug)]
pub enum Bound {
    Column(usize),
    Fixed(Span),
    Open,
}

#[derive(Debug)]
pub enum ArrayOperand {
    Column(usize),
    Literal(Vec<String>),
}

#[derive(Debug)]
pub enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare(CmpOp, Scalar, Scalar),
    /// A column against a literal (`available_floor_area_m2 >= 3000`), the commonest term:
    /// read straight from the typed column, without building the operands as values.
    ColumnCmp {
        column: usize,
        op: CmpOp,
        lit: Lit,
    },
    Like {
        value: Scalar,
        pattern: Pattern,
        fold: Fold,
    },
    Between(Scalar, Scalar, Scalar),
    In(Scalar, Vec<Scalar>),
    IsNull(Scalar),
    /// IS NULL on an array or object column.
    IsNullAny(usize),
    Spatial(SpatialOp, Literal),
    Temporal(TemporalOp, TemporalOperand, TemporalOperand),
    Array(ArrayOp, ArrayOperand, ArrayOperand),
}

/// A value read from a column or literal for one comparison, borrowed where it can be.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    Date(i32),
    Ts(i64),
}

fn column_val(col: &Column, slot: usize) -> Val<'_> {
    match col {
        Column::Boolean(c) => c[slot].map_or(Val::Null, Val::Bool),
        Column::Integer(c) => c[slot].map_or(Val::Null, |n| Val::Num(n as f64)),
        Column::Number(c) => c[slot].map_or(Val::Null, Val::Num),
        Column::String(c) => c[slot]
            .as_deref()
            .map_or(Val::Null, |s| Val::Str(Cow::Borrowed(s))),
        Column::Date(c) => c[slot].map_or(Val::Null, Val::Date),
        Column::Timestamp(c) => c[slot].as_ref().map_or(Val::Null, |(t, _)| Val::Ts(*t)),
        Column::StringArray(_) | Column::Json(_) => Val::Null,
    }
}

impl Scalar {
    fn eval<'a>(&'a self, layer: &'a Layer, slot: usize) -> Val<'a> {
        match self {
            Scalar::Column(i) => column_val(&layer.columns[*i], slot),
            Scalar::Literal(l) => l.val(),
            Scalar::Folded(inner, fold) => match inner.eval(layer, slot) {
                Val::Str(s) => Val::Str(fold.apply(s)),
                other => other,
            },
        }
    }
}

impl CmpOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }

    /// The operator with its operands swapped (`3 < x` is `x > 3`).
    fn swapped(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

impl Lit {
    fn val(&self) -> Val<'_> {
        match self {
            Lit::Null => Val::Null,
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Number(n) => Val::Num(*n),
            Lit::Text(s) => Val::Str(Cow::Borrowed(s)),
            Lit::Date(d) => Val::Date(*d),
            Lit::Timestamp(t) => Val::Ts(*t),
        }
    }
}

/// A column compared with a literal, for one slot: the same answer as [`compare`] on the two
/// values, without building them. `None` is unknown (a null, or kinds that do not compare).
fn column_cmp(col: &Column, slot: usize, op: CmpOp, lit: &Lit) -> Option<bool> {
    let ord = match (col, lit) {
        (Column::Number(c), Lit::Number(v)) => c[slot]?.partial_cmp(v)?,
        (Column::Integer(c), Lit::Number(v)) => (c[slot]? as f64).partial_cmp(v)?,
        (Column::String(c), Lit::Text(v)) => {
            let s = c[slot].as_deref()?;
            // Equality checks the length first; most rows differ there.
            match op {
                CmpOp::Eq => return Some(s == v.as_str()),
                CmpOp::Ne => return Some(s != v.as_str()),
                _ => s.cmp(v.as_str()),
            }
        }
        (Column::Date(c), Lit::Date(v)) => c[slot]?.cmp(v),
        (Column::Boolean(c), Lit::Bool(v)) => c[slot]?.cmp(v),
        (Column::Timestamp(c), Lit::Timestamp(v)) => c[slot].as_ref()?.0.cmp(v),
        (col, lit) => compare(&column_val(col, slot), &lit.val())?,
    };
    Some(op.holds(ord))
}

/// Compares two values of the same kind; `None` when either is null (unknown).
fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        // Rust orders `str` by UTF-8 bytes, which is Unicode code point order, as CQL2 asks.
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::Ts(x), Val::Ts(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn and3(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for v in items {
        match v {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

fn or3(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for v in items {
        match v {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

fn column_span(col: &Column, slot: usize) -> Option<Span> {
    match col {
        Column::Date(c) => c[slot].map(|d| {
            let start = days_to_ms(d);
            Span {
                start,
                end: start + DAY_MS - 1,
            }
        }),
        Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| Span { start: *t, end: *t }),
        _ => None,
    }
}

impl TemporalOperand {
    fn span(&self, layer: &Layer, slot: usize) -> Option<Span> {
        match self {
            TemporalOperand::Column(i) => column_span(&layer.columns[*i], slot),
            TemporalOperand::Span(s) => Some(*s),
            TemporalOperand::Interval(a, b) => {
                let start = match a.as_ref() {
                    Bound::Open => i64::MIN,
                    Bound::Fixed(s) => s.start,
                    Bound::Column(i) => column_span(&layer.columns[*i], slot)?.start,
                };
                let end = match b.as_ref() {
                    Bound::Open => i64::MAX,
                    Bound::Fixed(s) => s.end,
                    Bound::Column(i) => column_span(&layer.columns[*i], slot)?.end,
                };
                Some(Span { start, end })
            }
        }
    }
}

impl ArrayOperand {
    fn items<'a>(&'a self, layer: &'a Layer, slot: usize) -> Option<Vec<&'a str>> {
        match self {
            ArrayOperand::Literal(v) => Some(v.iter().map(String::as_str).collect()),
            ArrayOperand::Column(i) => match &layer.columns[*i] {
                Column::StringArray(c) => c[slot]
                    .as_ref()
                    .map(|items| items.iter().map(|s| &**s).collect()),
                _ => None,
            },
        }
    }
}

impl Node {
    /// Rewrites column-versus-literal comparisons into [`Node::ColumnCmp`], everywhere in the
    /// tree. Evaluation gives the same answers; the property tests compare both paths with an
    /// independent oracle.
    pub(super) fn specialise(self) -> Node {
        match self {
            Node::And(items) => Node::And(items.into_iter().map(Node::specialise).collect()),
            Node::Or(items) => Node::Or(items.into_iter().map(Node::specialise).collect()),
            Node::Not(inner) => Node::Not(Box::new(inner.specialise())),
            Node::Compare(op, Scalar::Column(column), Scalar::Literal(lit)) => {
                Node::ColumnCmp { column, op, lit }
            }
            Node::Compare(op, Scalar::Literal(lit), Scalar::Column(column)) => Node::ColumnCmp {
                column,
                op: op.swapped(),
                lit,
            },
            other => other,
        }
    }

    fn eval(&self, layer: &Layer, slot: usize) -> Option<bool> {
        match self {
            Node::Const(b) => Some(*b),
            Node::And(items) => and3(items.iter().map(|n| n.eval(layer, slot))),
            Node::Or(items) => or3(items.iter().map(|n| n.eval(layer, slot))),
            Node::Not(inner) => inner.eval(layer, slot).map(|b| !b),
            Node::Compare(op, a, b) => {
                let ord = compare(&a.eval(layer, slot), &b.eval(layer, slot))?;
                Some(op.holds(ord))
            }
            Node::ColumnCmp { column, op, lit } => {
                column_cmp(&layer.columns[*column], slot, *op, lit)
            }
            Node::Like {
                value,
                pattern,
                fold,
            } => match value.eval(layer, slot) {
                Val::Str(s) => Some(pattern.matches(&fold.apply(s))),
                _ => None,
            },
            Node::Between(v, lo, hi) => {
                let v = v.eval(layer, slot);
                let above = compare(&v, &lo.eval(layer, slot)).map(|o| o != Ordering::Less);
                let below = compare(&v, &hi.eval(layer, slot)).map(|o| o != Ordering::Greater);
                and3([above, below].into_iter())
            }
            Node::In(v, list) => {
                let v = v.eval(layer, slot);
                if v == Val::Null {
                    return None;
                }
                or3(list
                    .iter()
                    .map(|item| compare(&v, &item.eval(layer, slot)).map(|o| o == Ordering::Equal)))
            }
            Node::IsNull(v) => Some(matches!(v.eval(layer, slot), Val::Null)),
            Node::IsNullAny(i) => Some(layer.columns[*i].json_at(slot).is_null()),
            Node::Spatial(op, lit) => {
                Some(lit.test(*op, &layer.geometries[slot], layer.envelope(slot)))
            }
            Node::Temporal(op, a, b) => Some(op.holds(a.span(layer, slot)?, b.span(layer, slot)?)),
            Node::Array(op, a, b) => {
                let (a, b) = (a.items(layer, slot)?, b.items(layer, slot)?);
                Some(match op {
                    ArrayOp::Equals => a == b,
                    ArrayOp::Contains => b.iter().all(|x| a.contains(x)),
                    ArrayOp::ContainedBy => a.iter().all(|x| b.contains(x)),
                    ArrayOp::Overlaps => a.iter().any(|x| b.contains(x)),
                })
            }
        }
    }

    /// The filter as a term an attribute index can answer exactly, if it is one.
    fn term(&self) -> Option<Term> {
        let lit = |s: &Scalar| match s {
            Scalar::Literal(l) if *l != Lit::Null => Some(l.clone()),
            _ => None,
        };
        match self {
            Node::ColumnCmp { column, op, lit } if *lit != Lit::Null => {
                let (lo, hi) = match op {
                    CmpOp::Eq => (End::Included(lit.clone()), End::Included(lit.clone())),
                    CmpOp::Lt => (End::Unbounded, End::Excluded(lit.clone())),
                    CmpOp::Le => (End::Unbounded, End::Included(lit.clone())),
                    CmpOp::Gt => (End::Excluded(lit.clone()), End::Unbounded),
                    CmpOp::Ge => (End::Included(lit.clone()), End::Unbounded),
                    CmpOp::Ne => return None,
                };
                Some(Term::Range {
                    column: *column,
                    lo,
                    hi,
                })
            }
            Node::Between(Scalar::Column(column), lo, hi) => Some(Term::Range {
                column: *column,
                lo: End::Included(lit(lo)?),
                hi: End::Included(lit(hi)?),
            }),
            Node::In(Scalar::Column(column), list) => Some(Term::Any(
                list.iter()
                    .map(|item| Some(Term::equal(*column, lit(item)?)))
                    .collect::<Option<_>>()?,
            )),
            Node::IsNull(Scalar::Column(column)) => Some(Term::Null { column: *column }),
            Node::And(items) => Some(Term::All(
                items.iter().map(Node::term).collect::<Option<_>>()?,
            )),
            Node::Or(items) => Some(Term::Any(
                items.iter().map(Node::term).collect::<Option<_>>()?,
            )),
            _ => None,
        }
    }

    /// A rectangle every match's envelope must intersect, if the filter implies one: a spatial
    /// predicate (other than disjoint) alone or in a conjunction.
    fn narrowing(&self) -> Option<Rect<f64>> {
        match self {
            Node::Spatial(op, lit) if op.implies_intersection() => Some(lit.envelope),
            Node::And(items) => items
                .iter()
                .filter_map(Node::narrowing)
                .min_by(|a, b| area(a).total_cmp(&area(b))),
            _ => None,
        }
    }
}

fn area(r: &Rect<f64>) -> f64 {
    r.width() * r.height()
}

impl Filter {
    /// Whether the feature in `slot` satisfies the filter (unknown counts as no).
    pub fn matches(&self, layer: &Layer, slot: usize) -> bool {
        self.root.eval(layer, slot) == Some(true)
    }

    /// The filter's conjuncts an attribute index can answer, and whether they are all of it.
    pub fn index_terms(&self) -> (Vec<Term>, bool) {
        match &self.root {
            Node::And(items) => {
                let terms: Vec<Term> = items.iter().filter_map(Node::term).collect();
                let complete = terms.len() == items.len();
                (terms, complete)
            }
            node => match node.term() {
                Some(t) => (vec![t], true),
                None => (Vec::new(), false),
            },
        }
    }

    /// The rectangle to ask the R-tree for, when a spatial predicate narrows the candidates.
    pub fn narrowing(&self) -> Option<Rect<f64>> {
        self.root.narrowing()
    }

    /// About how much memory the compiled filter holds, for the filter cache's budget: its
    /// literal geometries (with their segment lists and grids) dominate.
    pub fn heap_bytes(&self) -> usize {
        self.root.heap_bytes()
    }
}

/// What a heap allocation costs besides its bytes (the allocator's header and rounding).
const ALLOCATION: usize = 16;

impl Node {
    /// The node and everything it owns: text literals, patterns, lists and geometries are
    /// weighed by their size, so a filter of long strings or long IN lists counts for what
    /// it holds (they were once weighed at 64 bytes each, and 50,000 of them overran the
    /// cache's budget several times).
    fn heap_bytes(&self) -> usize {
        let own = std::mem::size_of::<Node>();
        own + match self {
            Node::And(nodes) | Node::Or(nodes) => {
                ALLOCATION + nodes.iter().map(Node::heap_bytes).sum::<usize>()
            }
            Node::Not(node) => ALLOCATION + node.heap_bytes(),
            Node::Spatial(_, literal) => literal.heap_bytes(),
            Node::Compare(_, a, b) => a.heap_bytes() + b.heap_bytes(),
            Node::ColumnCmp { lit, .. } => lit.heap_bytes(),
            Node::Like { value, pattern, .. } => value.heap_bytes() + pattern.heap_bytes(),
            Node::Between(a, b, c) => a.heap_bytes() + b.heap_bytes() + c.heap_bytes(),
            Node::In(v, list) => {
                v.heap_bytes()
                    + ALLOCATION
                    + list
                        .iter()
                        .map(|s| std::mem::size_of::<Scalar>() + s.heap_bytes())
                        .sum::<usize>()
            }
            Node::IsNull(v) => v.heap_bytes(),
            Node::Temporal(_, a, b) => a.heap_bytes() + b.heap_bytes(),
            Node::Array(_, a, b) => a.heap_bytes() + b.heap_bytes(),
            Node::Const(_) | Node::IsNullAny(_) => 0,
        }
    }
}

impl Scalar {
    fn heap_bytes(&self) -> usize {
        match self {
            Scalar::Column(_) => 0,
            Scalar::Literal(l) => l.heap_bytes(),
            Scalar::Folded(inner, _) => {
                ALLOCATION + std::mem::size_of::<Scalar>() + inner.heap_bytes()
            }
        }
    }
}

impl Lit {
    fn heap_bytes(&self) -> usize {
        match self {
            Lit::Text(s) => ALLOCATION + s.capacity(),
            _ => 0,
        }
    }
}

impl TemporalOperand {
    fn heap_bytes(&self) -> usize {
        match self {
            TemporalOperand::Interval(..) => 2 * (ALLOCATION + std::mem::size_of::<Bound>()),
            _ => 0,
        }
    }
}

impl ArrayOperand {
    fn heap_bytes(&self) -> usize {
        match self {
            ArrayOperand::Column(_) => 0,
            ArrayOperand::Literal(items) => {
                ALLOCATION
                    + items
                        .iter()
                        .map(|s| std::mem::size_of::<String>() + ALLOCATION + s.capacity())
                        .sum::<usize>()
            }
        }
    }
}
