//! CQL2 filters (OGC API - Features Part 3), compiled once per request into a tree over a layer's
//! typed columns.
//!
//! 1. `cql2` parses the text or JSON encoding into its `Expr`;
//! 2. [`compile`] resolves every property to a column, checks types, parses literal geometries
//!    and instants, and rejects what is unsupported, each with a message (and, for text, the
//!    position in the filter);
//! 3. the resulting [`Filter`] is evaluated per candidate slot with three-valued logic: a
//!    comparison with null is unknown, and unknown is not true.

mod area;
mod cache;
mod compile;
mod eval;
mod grid;
mod like;
mod spatial;
mod temporal;

pub use area::Area;
pub use cache::FilterCache;
pub use compile::compile;
pub use eval::{Filter, Lit};
pub use like::Fold;

/// The encodings of `filter-lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterLang {
    Cql2Text,
    Cql2Json,
}

impl FilterLang {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cql2-text" => Some(FilterLang::Cql2Text),
            "cql2-json" => Some(FilterLang::Cql2Json),
            _ => None,
        }
    }
}

/// A filter as received, before it meets a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSpec {
    pub text: String,
    pub lang: FilterLang,
}

/// How much a filter may ask, so a hostile one cannot pin a worker or overflow the stack.
pub const MAX_NESTING: usize = 32;
/// AND/OR connectives in one text filter (each costs the parser a level of recursion).
pub const MAX_CONNECTIVES: usize = 256;
/// Operators and operands in one filter.
pub const MAX_TERMS: usize = 2_000;
/// Vertices over all literal geometries of one filter.
pub const MAX_VERTICES: usize = 100_000;

/// Why a filter cannot run. The HTTP layer answers each with a 400 that carries this message.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("syntax error{}: {message}", at(*position))]
    Syntax {
        message: String,
        position: Option<usize>,
    },
    #[error("unknown property {name:?}{}; the queryables are: {known}", at(*position))]
    UnknownProperty {
        name: String,
        position: Option<usize>,
        known: String,
    },
    #[error("type mismatch{}: {detail}", at(*position))]
    TypeMismatch {
        detail: String,
        position: Option<usize>,
    },
    #[error("unsupported{}: {detail}", at(*position))]
    Unsupported {
        detail: String,
        position: Option<usize>,
    },
    #[error("invalid geometry: {0}")]
    Geometry(String),
    #[error("filter too complex: {0}")]
    TooComplex(String),
}

fn at(position: Option<usize>) -> String {
    position.map_or_else(String::new, |p| format!(" at character {}", p + 1))
}

impl FilterError {
    /// The 0-based character offset in the filter text, where known.
    pub fn position(&self) -> Option<usize> {
        match self {
            FilterError::Syntax { position, .. }
            | FilterError::UnknownProperty { position, .. }
            | FilterError::TypeMismatch { position, .. }
            | FilterError::Unsupported { position, .. } => *position,
            _ => None,
        }
    }
}

/// Parses a filter into the `cql2` crate's expression, checking nesting before the parser
/// recurses into it.
pub fn parse(spec: &FilterSpec) -> Result<cql2::Expr, FilterError> {
    let depth = max_nesting(&spec.text);
    if depth > MAX_NESTING {
        return Err(FilterError::TooComplex(format!(
            "nesting depth {depth} exceeds the limit of {MAX_NESTING}"
        )));
    }
    // The text parser and the crate's normaliser recurse once per AND/OR of a chain, so a long
    // chain would overflow the stack: count the connectives before parsing.
    if spec.lang == FilterLang::Cql2Text {
        let connectives = count_connectives(&spec.text);
        if connectives > MAX_CONNECTIVES {
            return Err(FilterError::TooComplex(format!(
                "{connectives} AND/OR connectives exceed the limit of {MAX_CONNECTIVES}"
            )));
        }
    }
    match spec.lang {
        FilterLang::Cql2Text => parse_text_bounded(&spec.text),
        FilterLang::Cql2Json => cql2::parse_json(&spec.text).map_err(|e| FilterError::Syntax {
            message: format!("not valid CQL2 JSON: {e}"),
            position: None,
        }),
    }
}

/// Rule calls the CQL2 text parser may make per byte of filter, on top of a floor. A valid filter
/// needs about 25 per byte (a 100,000-vertex LINESTRING of 2.1 MB needs between 10 and 50
/// million), but the grammar backtracks exponentially on some invalid input: each unclosed or
/// bad bracket level multiplies the work by four, so 20 bytes of `((((` took minutes (found by
/// the `query_string` fuzz target). The budget makes the parser's work linear in the input.
const PARSER_CALLS_PER_BYTE: usize = 64;
const PARSER_CALLS_FLOOR: usize = 200_000;

/// pest's call limit is one process-wide setting, read once when a parse starts. Parses used to
/// take turns under a lock so each ran with its own budget, and three 2 MB filters made a
/// simple one wait 0.4-0.8 s. Now the limit is shared: while parses run it is the largest of
/// their budgets (it may rise, never fall, while any runs), and it returns to the floor when
/// none does. A parse thus runs with at least its own budget; a small one that overlaps a
/// large one may get more, bounded by the large one's, which its own length justified.
struct SharedLimit {
    running: usize,
    limit: usize,
}

static PARSE_LIMIT: std::sync::Mutex<SharedLimit> = std::sync::Mutex::new(SharedLimit {
    running: 0,
    limit: 0,
});

/// Registers a parse with `budget` for as long as it lives.
struct ParseTurn;

impl ParseTurn {
    fn start(budget: usize) -> Self {
        let mut shared = PARSE_LIMIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.running += 1;
        if budget > shared.limit {
            shared.limit = budget;
            pest::set_call_limit(std::num::NonZeroUsize::new(budget));
        }
        ParseTurn
    }
}

impl Drop for ParseTurn {
    fn drop(&mut self) {
        let mut shared = PARSE_LIMIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.running -= 1;
        if shared.running == 0 {
            shared.limit = PARSER_CALLS_FLOOR;
            pest::set_call_limit(std::num::NonZeroUsize::new(PARSER_CALLS_FLOOR));
        }
    }
}

fn parse_text_bounded(text: &str) -> Result<cql2::Expr, FilterError> {
    let budget = PARSER_CALLS_PER_BYTE
        .saturating_mul(text.len())
        .saturating_add(PARSER_CALLS_FLOOR);
    let _turn = ParseTurn::start(budget);
    cql2::parse_text(text).map_err(|e| syntax_error(text, e))
}

/// AND and OR keywords outside string literals (case-insensitive, as whole words).
fn count_connectives(s: &str) -> usize {
    let mut count = 0;
    let mut word = String::new();
    let mut quote = None::<char>;
    for c in s.chars().chain(std::iter::once(' ')) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => continue,
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.clear();
            }
            None if c.is_alphanumeric() || c == '_' => word.push(c),
            None => {
                if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") {
                    count += 1;
                }
                word.clear();
            }
        }
    }
    count
}

/// The deepest nesting of brackets (text) or braces/brackets (JSON), outside string literals.
fn max_nesting(s: &str) -> usize {
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None::<char>);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn syntax_error(text: &str, e: cql2::Error) -> FilterError {
    match e {
        cql2::Error::Pest(p) => {
            let position = match p.location {
                pest::error::InputLocation::Pos(pos) => Some(pos),
                pest::error::InputLocation::Span((start, _)) => Some(start),
            };
            // pest positions are byte offsets; report characters.
            let position = position.and_then(|b| text.get(..b).map(|s| s.chars().count()));
            let message = match &p.variant {
                pest::error::ErrorVariant::ParsingError { positives, .. }
                    if !positives.is_empty() =>
                {
                    format!(
                        "expected one of {}",
                        positives
                            .iter()
                            .map(|r| format!("{r:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                pest::error::ErrorVariant::CustomError { message }
                    if message.contains("call limit") =>
                {
                    return FilterError::TooComplex(
                        "the filter takes too much work to parse for its length (brackets that \
                         do not close, or a malformed term deep inside brackets?)"
                            .to_owned(),
                    );
                }
                _ => "the filter cannot be parsed".to_owned(),
            };
            FilterError::Syntax { message, position }
        }
        other => FilterError::Syntax {
            message: other.to_string(),
            position: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connectives_outside_strings() {
        assert_eq!(count_connectives("a = 'x AND y' AND b = 1 or c = 2"), 2);
        assert_eq!(count_connectives("brand = 'Orland' AND landmark = 1"), 1);
    }

    #[test]
    fn the_longest_allowed_chain_parses_on_a_small_stack() {
        // Tokio's worker threads have 2 MiB stacks; the limit must be safe well within that.
        let text = vec!["floor_area_m2 = 1"; MAX_CONNECTIVES + 1].join(" OR ");
        let handle = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || {
                parse(&FilterSpec {
                    text,
                    lang: FilterLang::Cql2Text,
                })
                .is_ok()
            })
            .expect("thread");
        assert!(handle.join().expect("no stack overflow"));
    }
}
