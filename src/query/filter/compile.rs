//! From the `cql2` crate's expression to a [`Filter`] bound to one layer's columns.

use cql2::Expr;

use super::eval::{
    ArrayOp, ArrayOperand, Bound, CmpOp, Filter, Lit, Node, Scalar, TemporalOperand,
};
use super::like::{Fold, Pattern};
use super::spatial::{Literal, SpatialOp};
use super::temporal::{Span, TemporalOp};
use super::{parse, FilterError, FilterLang, FilterSpec, MAX_CONNECTIVES, MAX_TERMS, MAX_VERTICES};
use crate::index::Layer;
use crate::model::{parse_date, parse_timestamp, FieldType};
use crate::query::datetime::days_to_ms;

/// The names by which a filter refers to a feature's geometry (`geom` is what the OGC CQL2 test
/// suite uses), unless the layer has a property of that name.
pub const GEOMETRY_NAMES: &[&str] = &["geometry", "geom"];

/// Parses and compiles a filter against a layer.
pub fn compile(layer: &Layer, spec: &FilterSpec) -> Result<Filter, FilterError> {
    let expr = parse(spec)?;
    let mut c = Compiler {
        layer,
        text: (spec.lang == FilterLang::Cql2Text).then_some(spec.text.as_str()),
        terms: 0,
        connectives: 0,
        vertices: 0,
    };
    let root = c.predicate(&expr)?.specialise();
    Ok(Filter { root })
}

/// The kind of a scalar operand, for type checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    Text,
    Date,
    Timestamp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "boolean",
            Kind::Number => "number",
            Kind::Text => "string",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
        }
    }
}

struct Compiler<'a> {
    layer: &'a Layer,
    /// The text encoding, to point at a property's position in errors.
    text: Option<&'a str>,
    terms: usize,
    /// AND/OR connectives, counted in the tree so the limit holds for CQL2 JSON as for text.
    connectives: usize,
    vertices: usize,
}

fn op_name(op: &str) -> String {
    op.to_ascii_lowercase()
}

impl Compiler<'_> {
    fn count(&mut self) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(FilterError::TooComplex(format!(
                "more than {MAX_TERMS} terms"
            )));
        }
        Ok(())
    }

    /// Where `name` first appears in the filter text as an identifier (0-based characters).
    fn locate(&self, name: &str) -> Option<usize> {
        let text = self.text?;
        let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':' || c == '.';
        let mut from = 0;
        while let Some(found) = text[from..].find(name) {
            let start = from + found;
            let end = start + name.len();
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
                let start = if before == Some('"') {
                    start - 1
                } else {
                    start
                };
                return Some(text[..start].chars().count());
            }
            from = end;
        }
        None
    }

    fn unsupported(&self, detail: impl Into<String>, near: Option<&str>) -> FilterError {
        FilterError::Unsupported {
            detail: detail.into(),
            position: near.and_then(|n| self.locate(n)),
        }
    }

    fn mismatch(&self, detail: impl Into<String>, near: Option<&str>) -> FilterError {
        FilterError::TypeMismatch {
            detail: detail.into(),
            position: near.and_then(|n| self.locate(n)),
        }
    }

    fn is_geometry(&self, name: &str) -> bool {
        GEOMETRY_NAMES.contains(&name) && self.layer.field_index(name).is_none()
    }

    fn column(&self, name: &str) -> Result<(usize, FieldType), FilterError> {
        match self.layer.field_index(name) {
            Some(i) => Ok((i, self.layer.fields[i].ty)),
            None => Err(FilterError::UnknownProperty {
                name: name.to_owned(),
                position: self.locate(name),
                known: std::iter::once("geometry")
                    .chain(
                        self.layer
                            .fields
                            .iter()
                            .filter(|f| f.ty != FieldType::Json)
                            .map(|f| f.name.as_str()),
                    )
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn args<'e>(
        &self,
        op: &str,
        args: &'e [Box<Expr>],
        n: usize,
    ) -> Result<Vec<&'e Expr>, FilterError> {
        if args.len() != n {
            return Err(self.unsupported(
                format!("{op} takes {n} arguments, got {}", args.len()),
                Some(op),
            ));
        }
        Ok(args.iter().map(|a| a.as_ref()).collect())
    }

    /// A boolean-valued expression.
    fn predicate(&mut self, e: &Expr) -> Result<Node, FilterError> {
        self.count()?;
        match e {
            Expr::Bool(b) => Ok(Node::Const(*b)),
            Expr::Property { property } => {
                let (i, ty) = self.column(property)?;
                if ty != FieldType::Boolean {
                    return Err(self.mismatch(
                        format!("{property} is a {}, not a condition", ty.name()),
                        Some(property),
                    ));
                }
                Ok(Node::Compare(
                    CmpOp::Eq,
                    Scalar::Column(i),
                    Scalar::Literal(Lit::Bool(true)),
                ))
            }
            Expr::Operation { op, args } => self.operation(&op_name(op), op, args),
            other => Err(self.mismatch(format!("{} is not a condition", describe(other)), None)),
        }
    }

    fn operation(
        &mut self,
        op: &str,
        raw_op: &str,
        args: &[Box<Expr>],
    ) -> Result<Node, FilterError> {
        match op {
            "and" | "or" => {
                self.connectives += args.len().saturating_sub(1);
                if self.connectives > MAX_CONNECTIVES {
                    return Err(FilterError::TooComplex(format!(
                        "more than {MAX_CONNECTIVES} AND/OR connectives"
                    )));
                }
                let items = args
                    .iter()
                    .map(|a| self.predicate(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Node::And(items)
                } else {
                    Node::Or(items)
                })
            }
            "not" => {
                let a = self.args(op, args, 1)?;
                Ok(Node::Not(Box::new(self.predicate(a[0])?)))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                let a = self.args(op, args, 2)?;
                let cmp = match op {
                    "=" => CmpOp::Eq,
                    "<>" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let (l, r) = self.comparable(a[0], a[1])?;
                Ok(Node::Compare(cmp, l, r))
            }
            "like" => {
                let a = self.args(op, args, 2)?;
                let (value, kind, fold_v) = self.scalar(a[0])?;
                if !matches!(kind, Kind::Text | Kind::Null) {
                    return Err(self.mismatch(
                        format!("LIKE needs a string, not a {}", kind.name()),
                        property_of(a[0]),
                    ));
                }
                let (pattern, fold_p) = self.pattern(a[1])?;
                let fold = fold_v.union(fold_p);
                Ok(Node::Like {
                    value: strip_fold(value),
                    pattern: Pattern::new(&fold.apply(pattern.into())),
                    fold,
                })
            }
            "between" => {
                let a = self.args(op, args, 3)?;
                let (v, lo) = self.comparable(a[0], a[1])?;
                let (_, hi) = self.comparable(a[0], a[2])?;
                Ok(Node::Between(v, lo, hi))
            }
            "in" => {
                let a = self.args(op, args, 2)?;
                let Expr::Array(items) = a[1] else {
                    return Err(self.mismatch("IN needs a list in parentheses", property_of(a[0])));
                };
                let mut list = Vec::with_capacity(items.len());
                let mut value = None;
                for item in items {
                    self.count()?;
                    let (v, i) = self.comparable(a[0], item)?;
                    value.get_or_insert(v);
                    list.push(i);
                }
                let value = match value {
                    Some(v) => v,
                    None => self.scalar(a[0])?.0,
                };
                Ok(Node::In(value, list))
            }
            "isnull" => {
                let a = self.args(op, args, 1)?;
                if let Expr::Property { property } = a[0] {
                    let (i, ty) = self.column(property)?;
                    if matches!(ty, FieldType::StringArray | FieldType::Json) {
                        return Ok(Node::IsNullAny(i));
                    }
                }
                Ok(Node::IsNull(self.scalar(a[0])?.0))
            }
            _ if SpatialOp::parse(op).is_some() => self.spatial(op, args),
            _ if TemporalOp::parse(op).is_some() => self.temporal(op, args),
            "a_equals" | "a_contains" | "a_containedby" | "a_overlaps" => {
                let a = self.args(op, args, 2)?;
                let array_op = match op {
                    "a_equals" => ArrayOp::Equals,
                    "a_contains" => ArrayOp::Contains,
                    "a_containedby" => ArrayOp::ContainedBy,
                    _ => ArrayOp::Overlaps,
                };
                Ok(Node::Array(array_op, self.array(a[0])?, self.array(a[1])?))
            }
            "+" | "-" | "*" | "/" | "%" | "^" | "div" => {
                Err(self.unsupported(format!("arithmetic ({raw_op}) is not supported"), None))
            }
            _ => Err(self.unsupported(
                format!("function or operator {raw_op:?} is not supported"),
                Some(raw_op),
            )),
        }
    }

    /// A scalar operand, its kind and any fold applied to it.
    fn scalar(&mut self, e: &Expr) -> Result<(Scalar, Kind, Fold), FilterError> {
        self.count()?;
        let plain = |s: Scalar, k: Kind| Ok((s, k, Fold::default()));
        match e {
            Expr::Property { property } => {
                if self.is_geometry(property) {
                    return Err(self.mismatch(
                        "the geometry can only be used in spatial functions (S_INTERSECTS...)",
                        Some(property),
                    ));
                }
                let (i, ty) = self.column(property)?;
                if self.layer.fields[i].nulls_only {
                    return plain(Scalar::Column(i), Kind::Null);
                }
                let kind = match ty {
                    FieldType::Boolean => Kind::Bool,
                    FieldType::Integer | FieldType::Number => Kind::Number,
                    FieldType::String => Kind::Text,
                    FieldType::Date => Kind::Date,
                    FieldType::Timestamp => Kind::Timestamp,
                    FieldType::StringArray => {
                        return Err(self.mismatch(
                            format!("{property} is an array: use A_CONTAINS({property}, ('value')) or A_OVERLAPS"),
                            Some(property),
                        ))
                    }
                    FieldType::Json => return Err(self.mismatch(format!("{property} holds objects and cannot be compared"), Some(property))),
                };
                plain(Scalar::Column(i), kind)
            }
            Expr::Float(f) => plain(Scalar::Literal(Lit::Number(*f)), Kind::Number),
            Expr::Literal(s) => plain(Scalar::Literal(Lit::Text(s.clone())), Kind::Text),
            Expr::Bool(b) => plain(Scalar::Literal(Lit::Bool(*b)), Kind::Bool),
            Expr::Null => plain(Scalar::Literal(Lit::Null), Kind::Null),
            Expr::Date { date } => {
                let s = literal_text(date)
                    .ok_or_else(|| self.mismatch("DATE() needs a string", None))?;
                let d = parse_date(s).ok_or_else(|| {
                    self.mismatch(format!("{s:?} is not a YYYY-MM-DD date"), Some(s))
                })?;
                plain(Scalar::Literal(Lit::Date(d)), Kind::Date)
            }
            Expr::Timestamp { timestamp } => {
                let s = literal_text(timestamp)
                    .ok_or_else(|| self.mismatch("TIMESTAMP() needs a string", None))?;
                let t = parse_timestamp(s).ok_or_else(|| {
                    self.mismatch(format!("{s:?} is not an RFC 3339 timestamp"), Some(s))
                })?;
                plain(Scalar::Literal(Lit::Timestamp(t)), Kind::Timestamp)
            }
            Expr::Operation { op, args } if matches!(op_name(op).as_str(), "casei" | "accenti") => {
                let a = self.args(op, args, 1)?;
                let (inner, kind, fold) = self.scalar(a[0])?;
                if !matches!(kind, Kind::Text | Kind::Null) {
                    return Err(self.mismatch(
                        format!("{op} needs a string, not a {}", kind.name()),
                        Some(op),
                    ));
                }
                let this = fold_of(op);
                let fold = fold.union(this);
                Ok((
                    Scalar::Folded(Box::new(strip_fold(inner)), fold),
                    kind,
                    fold,
                ))
            }
            Expr::Operation { op, .. } => {
                Err(self.unsupported(format!("{op} cannot be used as a value here"), Some(op)))
            }
            other => Err(self.mismatch(format!("{} cannot be compared", describe(other)), None)),
        }
    }

    /// Two operands of one comparison, with a string literal read as a date or timestamp when the
    /// other side is one (`delivery_date <= '2027-12-31'`).
    fn comparable(&mut self, a: &Expr, b: &Expr) -> Result<(Scalar, Scalar), FilterError> {
        let (sa, ka, _) = self.scalar(a)?;
        let (sb, kb, _) = self.scalar(b)?;
        let coerce = |s: Scalar, to: Kind| -> Option<Scalar> {
            let Scalar::Literal(Lit::Text(t)) = &s else {
                return None;
            };
            match to {
                Kind::Date => parse_date(t).map(|d| Scalar::Literal(Lit::Date(d))),
                Kind::Timestamp => parse_timestamp(t).map(|v| Scalar::Literal(Lit::Timestamp(v))),
                _ => None,
            }
        };
        if ka == kb || ka == Kind::Null || kb == Kind::Null {
            return Ok((sa, sb));
        }
        if ka == Kind::Text {
            if let Some(sa) = coerce(sa, kb) {
                return Ok((sa, sb));
            }
        } else if kb == Kind::Text {
            if let Some(sb) = coerce(sb, ka) {
                return Ok((sa, sb));
            }
        }
        let near = property_of(a).or_else(|| property_of(b));
        Err(self.mismatch(
            format!("cannot compare a {} with a {}", ka.name(), kb.name()),
            near,
        ))
    }

    fn pattern(&mut self, e: &Expr) -> Result<(String, Fold), FilterError> {
        match e {
            Expr::Literal(s) => Ok((s.clone(), Fold::default())),
            Expr::Operation { op, args } if matches!(op_name(op).as_str(), "casei" | "accenti") => {
                let a = self.args(op, args, 1)?;
                let (s, fold) = self.pattern(a[0])?;
                let this = fold_of(op);
                Ok((s, fold.union(this)))
            }
            other => Err(self.mismatch(
                format!(
                    "a LIKE pattern must be a string literal, not {}",
                    describe(other)
                ),
                None,
            )),
        }
    }

    fn spatial(&mut self, op: &str, args: &[Box<Expr>]) -> Result<Node, FilterError> {
        let a = self.args(op, args, 2)?;
        let spatial_op =
            SpatialOp::parse(op).ok_or_else(|| self.unsupported(op.to_owned(), None))?;
        let is_geom =
            |e: &Expr| matches!(e, Expr::Property { property } if self.is_geometry(property));
        let (literal, spatial_op) = match (is_geom(a[0]), is_geom(a[1])) {
            (true, false) => (a[1], spatial_op),
            (false, true) => (a[0], spatial_op.converse()),
            (true, true) => {
                return Err(self.unsupported(
                    format!("{op} needs one literal geometry; both arguments are the geometry"),
                    Some(op),
                ))
            }
            (false, false) => {
                return Err(match property_of(a[0]).or_else(|| property_of(a[1])) {
                    Some(p) if self.layer.field_index(p).is_some() => {
                        self.mismatch(format!("{p} is not a geometry"), Some(p))
                    }
                    Some(p) => self.column(p).err().unwrap_or_else(|| {
                        self.mismatch(format!("{p} is not a geometry"), Some(p))
                    }),
                    None => self.unsupported(
                        format!("{op} needs the geometry property (geometry) as one argument"),
                        Some(op),
                    ),
                })
            }
        };
        let lit = self.geometry_literal(literal)?;
        Ok(Node::Spatial(spatial_op, lit))
    }

    fn geometry_literal(&mut self, e: &Expr) -> Result<Literal, FilterError> {
        let lit = match e {
            Expr::BBox { bbox } => {
                let n: Vec<f64> = bbox
                    .iter()
                    .map(|v| match v.as_ref() {
                        Expr::Float(f) if f.is_finite() => Ok(*f),
                        _ => Err(FilterError::Geometry("BBOX needs numbers".into())),
                    })
                    .collect::<Result<_, _>>()?;
                match n.len() {
                    4 => Literal::bbox(n[0], n[1], n[2], n[3])?,
                    6 => Literal::bbox(n[0], n[1], n[3], n[4])?,
                    k => {
                        return Err(FilterError::Geometry(format!(
                            "BBOX needs 4 or 6 numbers, got {k}"
                        )))
                    }
                }
            }
            Expr::Geometry(_) => {
                let g = geo::Geometry::<f64>::try_from(e.clone())
                    .map_err(|err| FilterError::Geometry(err.to_string()))?;
                Literal::new(g)?
            }
            other => {
                return Err(self.mismatch(
                    format!("expected a geometry literal, found {}", describe(other)),
                    None,
                ))
            }
        };
        self.vertices += lit.vertices();
        if self.vertices > MAX_VERTICES {
            return Err(FilterError::TooComplex(format!(
                "literal geometries have more than {MAX_VERTICES} vertices"
            )));
        }
        Ok(lit)
    }

    fn temporal(&mut self, op: &str, args: &[Box<Expr>]) -> Result<Node, FilterError> {
        let a = self.args(op, args, 2)?;
        let t = TemporalOp::parse(op).ok_or_else(|| self.unsupported(op.to_owned(), None))?;
        Ok(Node::Temporal(
            t,
            self.temporal_operand(a[0])?,
            self.temporal_operand(a[1])?,
        ))
    }

    fn temporal_column(&self, name: &str) -> Result<usize, FilterError> {
        let (i, ty) = self.column(name)?;
        match ty {
            FieldType::Date | FieldType::Timestamp => Ok(i),
            other => Err(self.mismatch(
                format!("{name} is a {}, not a date or timestamp", other.name()),
                Some(name),
            )),
        }
    }

    fn instant(&self, e: &Expr) -> Result<Span, FilterError> {
        let text = match e {
            Expr::Date { date } => literal_text(date),
            Expr::Timestamp { timestamp } => literal_text(timestamp),
            Expr::Literal(s) => Some(s.as_str()),
            _ => None,
        }
        .ok_or_else(|| {
            self.mismatch(
                format!("expected a date or timestamp, found {}", describe(e)),
                None,
            )
        })?;
        if let Some(t) = parse_timestamp(text) {
            return Ok(Span { start: t, end: t });
        }
        let d = parse_date(text).ok_or_else(|| {
            self.mismatch(format!("{text:?} is not a date or timestamp"), Some(text))
        })?;
        let start = days_to_ms(d);
        Ok(Span {
            start,
            end: start + 86_400_000 - 1,
        })
    }

    fn temporal_operand(&mut self, e: &Expr) -> Result<TemporalOperand, FilterError> {
        self.count()?;
        match e {
            Expr::Property { property } => {
                Ok(TemporalOperand::Column(self.temporal_column(property)?))
            }
            Expr::Interval { interval } => {
                if interval.len() != 2 {
                    return Err(self.mismatch("an INTERVAL needs a start and an end", None));
                }
                let bound = |c: &Self, b: &Expr| -> Result<Bound, FilterError> {
                    match b {
                        Expr::Literal(s) if s == ".." => Ok(Bound::Open),
                        Expr::Property { property } => {
                            Ok(Bound::Column(c.temporal_column(property)?))
                        }
                        other => Ok(Bound::Fixed(c.instant(other)?)),
                    }
                };
                Ok(TemporalOperand::Interval(
                    Box::new(bound(self, &interval[0])?),
                    Box::new(bound(self, &interval[1])?),
                ))
            }
            other => Ok(TemporalOperand::Span(self.instant(other)?)),
        }
    }

    fn array(&mut self, e: &Expr) -> Result<ArrayOperand, FilterError> {
        self.count()?;
        match e {
            Expr::Property { property } => {
                let (i, ty) = self.column(property)?;
                if ty != FieldType::StringArray {
                    return Err(self.mismatch(
                        format!("{property} is a {}, not an array", ty.name()),
                        Some(property),
                    ));
                }
                Ok(ArrayOperand::Column(i))
            }
            Expr::Array(items) => items
                .iter()
                .map(|i| match i.as_ref() {
                    Expr::Literal(s) => Ok(s.clone()),
                    other => Err(self.mismatch(
                        format!("array items must be strings, found {}", describe(other)),
                        None,
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ArrayOperand::Literal),
            other => Err(self.mismatch(
                format!("expected an array, found {}", describe(other)),
                None,
            )),
        }
    }
}

/// The fold `CASEI` or `ACCENTI` stands for.
fn fold_of(op: &str) -> Fold {
    let case = op_name(op) == "casei";
    Fold {
        case,
        accent: !case,
    }
}

fn strip_fold(s: Scalar) -> Scalar {
    match s {
        Scalar::Folded(inner, _) => strip_fold(*inner),
        other => other,
    }
}

fn literal_text(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(s) => Some(s),
        _ => None,
    }
}

fn property_of(e: &Expr) -> Option<&str> {
    match e {
        Expr::Property { property } => Some(property),
        Expr::Operation { args, .. } => args.iter().find_map(|a| property_of(a)),
        _ => None,
    }
}

fn describe(e: &Expr) -> String {
    match e {
        Expr::Property { property } => format!("property {property}"),
        Expr::Float(f) => format!("number {f}"),
        Expr::Literal(s) => format!("string {s:?}"),
        Expr::Bool(b) => format!("{b}"),
        Expr::Null => "NULL".into(),
        Expr::Date { .. } => "a date".into(),
        Expr::Timestamp { .. } => "a timestamp".into(),
        Expr::Interval { .. } => "an interval".into(),
        Expr::Geometry(_) | Expr::BBox { .. } => "a geometry".into(),
        Expr::Array(_) => "a list".into(),
        Expr::Operation { op, .. } => format!("{op}(...)"),
    }
}
