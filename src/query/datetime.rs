use crate::model::{parse_date, parse_timestamp};

/// The `datetime` parameter: an instant or a closed/half-bounded interval, in milliseconds since
/// the Unix epoch (inclusive bounds). A date stands for its whole UTC day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateTimeFilter {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "{0:?} is not an RFC 3339 date, timestamp, or interval start/end (with '..' for an open end)"
)]
pub struct DateTimeError(pub String);

const DAY_MS: i64 = 86_400_000;

/// The inclusive millisecond range of a date (`YYYY-MM-DD`) or a timestamp.
pub fn instant_range(s: &str) -> Option<(i64, i64)> {
    if let Some(t) = parse_timestamp(s) {
        return Some((t, t));
    }
    parse_date(s).map(|days| {
        let start = days_to_ms(days);
        (start, start + DAY_MS - 1)
    })
}

/// Days since the common era (chrono's numbering) to milliseconds since the Unix epoch.
pub fn days_to_ms(days: i32) -> i64 {
    const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;
    (days as i64 - UNIX_EPOCH_DAYS_FROM_CE) * DAY_MS
}

impl DateTimeFilter {
    pub fn parse(raw: &str) -> Result<Self, DateTimeError> {
        let err = || DateTimeError(raw.to_owned());
        let bound = |s: &str| -> Result<Option<(i64, i64)>, DateTimeError> {
            match s {
                ".." | "" => Ok(None),
                s => instant_range(s).map(Some).ok_or_else(err),
            }
        };
        match raw.split_once('/') {
            None => {
                let (s, e) = instant_range(raw).ok_or_else(err)?;
                Ok(DateTimeFilter {
                    start: Some(s),
                    end: Some(e),
                })
            }
            Some((a, b)) => {
                let start = bound(a)?.map(|r| r.0);
                let end = bound(b)?.map(|r| r.1);
                if let (Some(s), Some(e)) = (start, end) {
                    if s > e {
                        return Err(err());
                    }
                }
                Ok(DateTimeFilter { start, end })
            }
        }
    }

    /// Whether a value spanning `[lo, hi]` (ms) intersects the filter.
    pub fn intersects(&self, lo: i64, hi: i64) -> bool {
        self.start.is_none_or(|s| hi >= s) && self.end.is_none_or(|e| lo <= e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_instants_and_intervals() {
        let d = DateTimeFilter::parse("2027-01-01").unwrap();
        assert_eq!(d.end.unwrap() - d.start.unwrap(), DAY_MS - 1);
        let open = DateTimeFilter::parse("../2027-12-31").unwrap();
        assert!(open.start.is_none() && open.end.is_some());
        assert!(DateTimeFilter::parse("2028-01-01/2027-01-01").is_err());
        assert!(DateTimeFilter::parse("next year").is_err());
        assert_eq!(days_to_ms(parse_date("1970-01-02").unwrap()), DAY_MS);
    }
}
