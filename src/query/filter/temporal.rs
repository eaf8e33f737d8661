//! Instants and intervals, and the temporal relations of CQL2's Temporal Functions class.
//!
//! Everything is a closed interval of milliseconds since the Unix epoch: an instant is `[t, t]`,
//! a date is its whole UTC day, and an open end (`..`) is unbounded.

/// `[start, end]`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalOp {
    After,
    Before,
    Contains,
    Disjoint,
    During,
    Equals,
    FinishedBy,
    Finishes,
    Intersects,
    Meets,
    MetBy,
    OverlappedBy,
    Overlaps,
    StartedBy,
    Starts,
}

impl TemporalOp {
    pub fn parse(op: &str) -> Option<Self> {
        Some(match op.to_ascii_lowercase().as_str() {
            "t_after" => TemporalOp::After,
            "t_before" => TemporalOp::Before,
            "t_contains" => TemporalOp::Contains,
            "t_disjoint" => TemporalOp::Disjoint,
            "t_during" => TemporalOp::During,
            "t_equals" => TemporalOp::Equals,
            "t_finishedby" => TemporalOp::FinishedBy,
            "t_finishes" => TemporalOp::Finishes,
            "t_intersects" => TemporalOp::Intersects,
            "t_meets" => TemporalOp::Meets,
            "t_metby" => TemporalOp::MetBy,
            "t_overlappedby" => TemporalOp::OverlappedBy,
            "t_overlaps" => TemporalOp::Overlaps,
            "t_startedby" => TemporalOp::StartedBy,
            "t_starts" => TemporalOp::Starts,
            _ => return None,
        })
    }

    /// Allen's interval relations (instants as degenerate intervals).
    pub fn holds(self, a: Span, b: Span) -> bool {
        match self {
            TemporalOp::After => a.start > b.end,
            TemporalOp::Before => a.end < b.start,
            TemporalOp::Contains => a.start < b.start && a.end > b.end,
            TemporalOp::Disjoint => a.end < b.start || a.start > b.end,
            TemporalOp::During => a.start > b.start && a.end < b.end,
            TemporalOp::Equals => a.start == b.start && a.end == b.end,
            TemporalOp::FinishedBy => a.start < b.start && a.end == b.end,
            TemporalOp::Finishes => a.start > b.start && a.end == b.end,
            TemporalOp::Intersects => a.start <= b.end && a.end >= b.start,
            TemporalOp::Meets => a.end == b.start && a.start < b.start,
            TemporalOp::MetBy => a.start == b.end && a.end > b.end,
            TemporalOp::OverlappedBy => b.start < a.start && a.start < b.end && b.end < a.end,
            TemporalOp::Overlaps => a.start < b.start && b.start < a.end && a.end < b.end,
            TemporalOp::StartedBy => a.start == b.start && a.end > b.end,
            TemporalOp::Starts => a.start == b.start && a.end < b.end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: i64, end: i64) -> Span {
        Span { start, end }
    }

    #[test]
    fn exactly_one_basic_relation_holds_between_two_proper_intervals() {
        use TemporalOp::*;
        let basic = [
            After,
            Before,
            Contains,
            During,
            Equals,
            FinishedBy,
            Finishes,
            Meets,
            MetBy,
            OverlappedBy,
            Overlaps,
            StartedBy,
            Starts,
        ];
        let points = [0, 1, 2, 3, 4];
        for a0 in points {
            for a1 in points.iter().copied().filter(|x| *x > a0) {
                for b0 in points {
                    for b1 in points.iter().copied().filter(|x| *x > b0) {
                        let (a, b) = (s(a0, a1), s(b0, b1));
                        let holding: Vec<_> = basic.iter().filter(|op| op.holds(a, b)).collect();
                        assert_eq!(holding.len(), 1, "{a:?} {b:?}: {holding:?}");
                        assert_eq!(Intersects.holds(a, b), !Disjoint.holds(a, b));
                    }
                }
            }
        }
    }
}
