use chrono::{DateTime, NaiveDate};

/// The type of one attribute column, inferred once per layer from every feature's value.
///
/// A layer must be consistent: a property that is a number in one feature and a string in another
/// is an ingest error, because filters and sorting need one type per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Boolean,
    Integer,
    Number,
    String,
    /// A calendar date written `YYYY-MM-DD` in every feature that has a value.
    Date,
    /// An RFC 3339 instant in every feature that has a value.
    Timestamp,
    /// An array of strings (for example the derived `zones`).
    StringArray,
    /// Objects or mixed arrays: kept and served, not queryable.
    Json,
}

impl FieldType {
    /// The JSON Schema `type` (and `format`) of the column, as `/queryables` reports it.
    pub fn json_schema(self) -> serde_json::Value {
        use serde_json::json;
        match self {
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Integer => json!({"type": "integer"}),
            FieldType::Number => json!({"type": "number"}),
            FieldType::String => json!({"type": "string"}),
            FieldType::Date => json!({"type": "string", "format": "date"}),
            FieldType::Timestamp => json!({"type": "string", "format": "date-time"}),
            FieldType::StringArray => json!({"type": "array", "items": {"type": "string"}}),
            FieldType::Json => json!({}),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FieldType::Boolean => "boolean",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::String => "string",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::StringArray => "string array",
            FieldType::Json => "json",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Number)
    }
}

/// A single typed value, as a query compares it or a column yields it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// Days since 0001-01-01 (chrono's `num_days_from_ce`).
    Date(i32),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
}

/// Parses a strict `YYYY-MM-DD` date into days since the common era.
pub fn parse_date(s: &str) -> Option<i32> {
    use chrono::Datelike;
    // Read by hand: chrono's format-string parser showed up in profiles of change sets (every
    // edit checks its dates).
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d).map(|d| d.num_days_from_ce())
}

/// Parses an RFC 3339 timestamp into milliseconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats days since the common era back to `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    // Written by hand: chrono's strftime interpreter showed up in profiles of items pages.
    date_parts(days)
        .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
        .unwrap_or_default()
}

/// Year, month and day of a date given as days since the common era.
pub(super) fn date_parts(days: i32) -> Option<(i32, u32, u32)> {
    use chrono::Datelike;
    NaiveDate::from_num_days_from_ce_opt(days).map(|d| (d.year(), d.month(), d.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_loose_forms() {
        let d = parse_date("2027-06-30").unwrap();
        assert_eq!(format_date(d), "2027-06-30");
        assert_eq!(parse_date("2027-6-30"), None);
        assert_eq!(parse_date("2027-02-30"), None);
        assert_eq!(
            parse_timestamp("2022-04-16T10:13:19Z"),
            Some(1_650_103_999_000)
        );
        assert_eq!(parse_timestamp("2022-04-16"), None);
    }
}
