//! Five-field cron schedules (minute hour day-of-month month day-of-week) as CronJobs use
//! them, with lists, ranges, steps, names and the `@hourly`-style macros. Times are UTC.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day fields restricted: cron matches either (Vixie semantics).
    day_or: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parses a schedule; the error says which field is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expanded = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [min, hour, dom, month, dow] = fields[..] else {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                fields.len()
            ));
        };
        let mut weekdays = field(dow, 0, 7, &DAYS, "day-of-week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Self {
            minutes: field(min, 0, 59, &[], "minute")?,
            hours: field(hour, 0, 23, &[], "hour")?,
            days: field(dom, 1, 31, &[], "day-of-month")?,
            months: field(month, 1, 12, &MONTHS, "month")?,
            weekdays,
            day_or: !dom.starts_with('*') && !dow.starts_with('*'),
        })
    }

    /// Whether the minute starting at `t` is scheduled.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let bit = |set: u64, v: u32| set & (1 << v) != 0;
        let dom = bit(self.days, t.day());
        let dow = bit(self.weekdays, t.weekday().num_days_from_sunday());
        let day = if self.day_or { dom || dow } else { dom && dow };
        bit(self.minutes, t.minute())
            && bit(self.hours, t.hour())
            && bit(self.months, t.month())
            && day
    }

    /// The first scheduled minute strictly after `after`, searching up to five years ahead.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = after + Duration::days(5 * 366);
        while t <= limit {
            if !bit_of(self.months, t.month()) {
                // Skip to the first day of the next month.
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = t
                    .with_day(1)?
                    .with_hour(0)?
                    .with_minute(0)?
                    .with_year(y)?
                    .with_month(m)?;
                continue;
            }
            if self.matches(t) {
                return Some(t);
            }
            if !bit_of(self.hours, t.hour()) {
                t = t.with_minute(0)? + Duration::hours(1);
            } else {
                t += Duration::minutes(1);
            }
        }
        None
    }

    /// The latest scheduled minute in `(after, now]`, if any: the run a CronJob owes.
    pub fn latest_due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut due = None;
        let mut t = after;
        // Bounded: a controller that was down for long starts only the latest missed run.
        for _ in 0..10_000 {
            match self.next_after(t) {
                Some(next) if next <= now => {
                    due = Some(next);
                    t = next;
                }
                _ => break,
            }
        }
        due
    }
}

fn bit_of(set: u64, v: u32) -> bool {
    set & (1 << v) != 0
}

fn field(text: &str, lo: u32, hi: u32, names: &[&str], what: &str) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("{what}: bad step {s:?}"))?;
                if step == 0 {
                    return Err(format!("{what}: step must be positive"));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (start, end) = if range == "*" || range == "?" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, lo, what)?, value(b, names, lo, what)?)
        } else {
            let v = value(range, names, lo, what)?;
            (v, if part.contains('/') { hi } else { v })
        };
        if start < lo || end > hi || start > end {
            return Err(format!("{what}: {part:?} is outside {lo}-{hi}"));
        }
        let mut v = start;
        while v <= end {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, names: &[&str], lo: u32, what: &str) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return u32::try_from(i).map(|i| i + lo).map_err(|e| e.to_string());
    }
    text.parse()
        .map_err(|_| format!("{what}: {text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn steps_ranges_and_names() {
        let s = Schedule::parse("*/15 9-17 * * mon-fri").expect("parse");
        // 2026-11-21 is a Saturday: next run is Monday 09:00.
        assert_eq!(
            s.next_after(at(2026, 11, 21, 12, 0)),
            Some(at(2026, 11, 23, 9, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 11, 23, 9, 0)),
            Some(at(2026, 11, 23, 9, 15))
        );
        let h = Schedule::parse("@hourly").expect("parse");
        assert_eq!(
            h.next_after(at(2026, 1, 1, 0, 30)),
            Some(at(2026, 1, 1, 1, 0))
        );
        let y = Schedule::parse("0 0 29 feb *").expect("parse");
        assert_eq!(
            y.next_after(at(2026, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
    }

    #[test]
    fn latest_due_is_the_most_recent_missed_run() {
        let s = Schedule::parse("*/5 * * * *").expect("parse");
        assert_eq!(
            s.latest_due(at(2026, 1, 1, 0, 0), at(2026, 1, 1, 0, 23)),
            Some(at(2026, 1, 1, 0, 20))
        );
        assert_eq!(
            s.latest_due(at(2026, 1, 1, 0, 0), at(2026, 1, 1, 0, 4)),
            None
        );
    }

    #[test]
    fn bad_schedules_name_the_field() {
        for (text, field) in [
            ("* * *", "5 fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * * foo *", "month"),
            ("*/0 * * * *", "step"),
        ] {
            let err = Schedule::parse(text).expect_err(text);
            assert!(err.contains(field), "{text}: {err}");
        }
    }
}
