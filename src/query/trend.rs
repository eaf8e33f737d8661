//! Trends: what a period did to the floor space a query matches.
//!
//! A series is one entry per calendar period (day, ISO week from Monday, month, quarter) in
//! Beijing time (UTC+08:00, no daylight saving). Each entry is computed from two versions of
//! the data: as it was at the period's start and at its end (the caller rebuilds them from the
//! change log), and the features the change log says changed in between:
//!
//! - `count`, the sums, the available and the total floor area are those of the features the
//!   query matches at the end (what `/stats` with `asOf` the end answers);
//! - the vacancy rate is available ÷ total floor area at the end;
//! - for each feature changed in the period, `a0` is its available floor area at the start and
//!   `a1` at the end, each 0 where the feature did not exist, did not match the query or (per
//!   group) was not in the group then; absorption adds `max(0, a0 − a1)` and new supply
//!   `max(0, a1 − a0)`. So `available(end) − available(start) = new supply − absorption`
//!   exactly, per group too;
//! - the median rent is the median `rent_cny_m2_day` of the matching features at the end that
//!   have one (the mean of the middle two for an even number).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value as Json;

use super::budget::{Budget, Exceeded};
use super::plan::Plan;
use super::stats::{group_keys, Stats, StatsSpec};
use crate::index::Layer;

/// The property whose decrease is absorption and increase new supply.
pub const AVAILABLE: &str = "available_floor_area_m2";
/// The property vacancy is a share of.
pub const TOTAL: &str = "floor_area_m2";
/// The property whose median is reported.
pub const RENT: &str = "rent_cny_m2_day";

/// Beijing time, in which periods begin: UTC+08:00 all year.
pub const OFFSET_HOURS: i32 = 8;

/// The most periods one series may have (a year of days).
pub const MAX_PERIODS: usize = 366;

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
    Quarter,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => Interval::Day,
            "week" => Interval::Week,
            "month" => Interval::Month,
            "quarter" => Interval::Quarter,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Quarter => "quarter",
        }
    }

    /// The first day of the period holding `d`.
    pub fn start_of(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d,
            Interval::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Interval::Month => d.with_day(1).unwrap_or(d),
            Interval::Quarter => {
                let month = (d.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(d.year(), month, 1).unwrap_or(d)
            }
        }
    }

    /// The first day of the period after the one starting on `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => start.checked_add_signed(Duration::days(1)),
            Interval::Week => start.checked_add_signed(Duration::days(7)),
            Interval::Month => start.checked_add_months(chrono::Months::new(1)),
            Interval::Quarter => start.checked_add_months(chrono::Months::new(3)),
        }
        .unwrap_or(start)
    }

    /// The periods `[start, end)` from the one holding `from` to the one holding `to`; `None`
    /// when there would be more than `max`.
    pub fn periods(
        self,
        from: NaiveDate,
        to: NaiveDate,
        max: usize,
    ) -> Option<Vec<(NaiveDate, NaiveDate)>> {
        let mut out = Vec::new();
        let mut start = self.start_of(from);
        while start <= to {
            let end = self.next(start);
            if out.len() == max || end <= start {
                return None;
            }
            out.push((start, end));
            start = end;
        }
        Some(out)
    }
}

/// The first instant of day `d` in Beijing time, in milliseconds since the epoch.
pub fn day_start_ms(d: NaiveDate) -> i64 {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    midnight.timestamp_millis() - i64::from(OFFSET_HOURS) * 3_600_000
}

/// The columns a trend reads, where the layer has them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrendColumns {
    pub available: Option<usize>,
    pub total: Option<usize>,
    pub rent: Option<usize>,
}

impl TrendColumns {
    pub fn of(layer: &Layer) -> Self {
        let numeric = |name: &str| {
            layer
                .field_index(name)
                .filter(|&i| layer.fields[i].ty.is_numeric())
        };
        TrendColumns {
            available: numeric(AVAILABLE),
            total: numeric(TOTAL),
            rent: numeric(RENT),
        }
    }
}

/// A version of the data and the query compiled for it.
pub struct Version<'a> {
    pub layer: &'a Layer,
    pub plan: &'a Plan,
}

impl Version<'_> {
    /// The available floor area the feature `id` counts for in each group (one entry, keyed
    /// `None`, without a group-by): nothing where it does not exist or does not match.
    fn available_of(
        &self,
        id: &str,
        group_by: Option<usize>,
        columns: &TrendColumns,
    ) -> Vec<(Option<Json>, f64)> {
        let Some(slot) = self.layer.slot_of(id) else {
            return Vec::new();
        };
        if !self.plan.matches(self.layer, slot) {
            return Vec::new();
        }
        let a = columns
            .available
            .and_then(|c| self.layer.columns[c].number_at(slot))
            .unwrap_or(0.0);
        let mut out = vec![(None, a)];
        if let Some(g) = group_by {
            out.extend(
                group_keys(&self.layer.columns[g], slot)
                    .into_iter()
                    .map(|k| (Some(k), a)),
            );
        }
        out
    }
}

/// What one period did, in total or in one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measures {
    pub available: f64,
    pub total: f64,
    pub absorption: f64,
    pub new_supply: f64,
    pub median_rent: Option<f64>,
}

impl Measures {
    /// Available ÷ total floor area, when there is floor area.
    pub fn vacancy_rate(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.available / self.total)
    }
}

/// One period's entry: the end's statistics, and the measures in total and per group key.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub stats: Stats,
    pub total: Measures,
    pub groups: BTreeMap<String, Measures>,
}

/// The entry of one period, from the versions at its `start` and `end`, the slots the query
/// matches at the end (`end_slots`) and the ids of the features changed in between.
pub fn period(
    spec: &StatsSpec,
    columns: &TrendColumns,
    start: &Version<'_>,
    end: &Version<'_>,
    end_slots: &[usize],
    changed: &[String],
    budget: &Budget,
) -> Result<Period, Exceeded> {
    let stats = spec.tally(end.layer, end_slots, budget)?;
    let mut total = Measures::default();
    let mut groups: BTreeMap<String, Measures> = BTreeMap::new();
    let mut rents: BTreeMap<Option<String>, Vec<f64>> = BTreeMap::new();
    let number =
        |c: Option<usize>, slot: usize| c.and_then(|c| end.layer.columns[c].number_at(slot));
    for (i, &slot) in end_slots.iter().enumerate() {
        budget.check_every(i)?;
        let a = number(columns.available, slot).unwrap_or(0.0);
        let t = number(columns.total, slot).unwrap_or(0.0);
        let rent = number(columns.rent, slot);
        let mut add = |m: &mut Measures, key: Option<String>| {
            m.available += a;
            m.total += t;
            if let Some(r) = rent {
                rents.entry(key).or_default().push(r);
            }
        };
        add(&mut total, None);
        if let Some(g) = spec.group_by {
            for k in group_keys(&end.layer.columns[g], slot) {
                let key = k.to_string();
                add(groups.entry(key.clone()).or_default(), Some(key));
            }
        }
    }
    for (i, id) in changed.iter().enumerate() {
        budget.check_every(i)?;
        let before = start.available_of(id, spec.group_by, columns);
        let after = end.available_of(id, spec.group_by, columns);
        let mut keys: Vec<&Option<Json>> = before.iter().chain(&after).map(|(k, _)| k).collect();
        keys.sort_by_key(|k| k.as_ref().map(Json::to_string));
        keys.dedup();
        for key in keys {
            let of = |side: &[(Option<Json>, f64)]| {
                side.iter().find(|(k, _)| k == key).map_or(0.0, |(_, a)| *a)
            };
            let (a0, a1) = (of(&before), of(&after));
            let m = match key {
                None => &mut total,
                Some(k) => groups.entry(k.to_string()).or_default(),
            };
            m.absorption += (a0 - a1).max(0.0);
            m.new_supply += (a1 - a0).max(0.0);
        }
    }
    for (key, mut values) in rents {
        let m = match &key {
            None => &mut total,
            Some(k) => groups.entry(k.clone()).or_default(),
        };
        m.median_rent = median(&mut values);
    }
    Ok(Period {
        stats,
        total,
        groups,
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_follow_the_calendar() {
        let weeks = Interval::Week
            .periods(d("2026-12-02"), d("2026-12-14"), 10)
            .unwrap();
        // 2026-11-30 is a Monday.
        assert_eq!(
            weeks,
            [
                (d("2026-11-30"), d("2026-12-07")),
                (d("2026-12-07"), d("2026-12-14")),
                (d("2026-12-14"), d("2026-12-21"))
            ]
        );
        let quarters = Interval::Quarter
            .periods(d("2026-02-10"), d("2026-08-01"), 10)
            .unwrap();
        assert_eq!(
            quarters,
            [
                (d("2026-01-01"), d("2026-04-01")),
                (d("2026-04-01"), d("2026-07-01")),
                (d("2026-07-01"), d("2026-10-01"))
            ]
        );
        assert_eq!(
            Interval::Month.periods(d("2026-01-31"), d("2026-03-01"), 10),
            Some(vec![
                (d("2026-01-01"), d("2026-02-01")),
                (d("2026-02-01"), d("2026-03-01")),
                (d("2026-03-01"), d("2026-04-01"))
            ])
        );
        assert_eq!(
            Interval::Day
                .periods(d("2026-01-01"), d("2026-12-31"), 366)
                .map(|p| p.len()),
            Some(365)
        );
        assert_eq!(
            Interval::Day.periods(d("2024-01-01"), d("2026-01-01"), 366),
            None
        );
    }

    #[test]
    fn a_beijing_day_starts_at_16_utc_the_day_before() {
        let ms = day_start_ms(d("2026-12-07"));
        let utc = chrono::DateTime::from_timestamp_millis(ms).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-12-06T16:00:00+00:00");
    }

    #[test]
    fn the_median_takes_the_middle() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
