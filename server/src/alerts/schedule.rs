//! When ticks fire: a cron expression evaluated on each holder time zone's wall clock.

use chrono::{Datelike, Timelike};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::str::FromStr;

/// The default: every day at 08:00 local time.
pub const DEFAULT_SCHEDULE: &str = "0 0 8 * * *";

/// A parsed tick schedule.
#[derive(Debug, Clone)]
pub struct TickSchedule {
    cron: cron::Schedule,
    text: String,
}

/// A schedule that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "alert schedule {text:?} is not a cron expression ({detail}); e.g. \"0 0 8 * * *\" (sec min hour day month weekday) or \"0 8 * * *\""
)]
pub struct ScheduleError {
    text: String,
    detail: String,
}

impl TickSchedule {
    /// Parses a cron expression: 6 or 7 fields (with seconds), or 5 (seconds = 0).
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let trimmed = text.trim();
        let fields = trimmed.split_whitespace().count();
        let full = if fields == 5 {
            format!("0 {trimmed}")
        } else {
            trimmed.to_string()
        };
        let cron = cron::Schedule::from_str(&full).map_err(|e| ScheduleError {
            text: text.to_string(),
            detail: e.to_string(),
        })?;
        Ok(TickSchedule {
            cron,
            text: trimmed.to_string(),
        })
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire strictly after `after`, on the wall clock of `zone`. A wall time that
    /// does not exist (a DST gap) fires at the same offset after the gap; an ambiguous one
    /// (a DST fold) fires once, at its first occurrence.
    pub fn next_after(&self, zone: &TimeZone, after: Timestamp) -> Option<Timestamp> {
        let local = after.to_zoned(zone.clone()).datetime();
        let naive = chrono::NaiveDate::from_ymd_opt(
            i32::from(local.year()),
            local.month() as u32,
            local.day() as u32,
        )?
        .and_hms_opt(
            local.hour() as u32,
            local.minute() as u32,
            local.second() as u32,
        )?
        .and_utc();
        for candidate in self.cron.after(&naive).take(8) {
            let civil = DateTime::new(
                i16::try_from(candidate.year()).ok()?,
                i8::try_from(candidate.month()).ok()?,
                i8::try_from(candidate.day()).ok()?,
                i8::try_from(candidate.hour()).ok()?,
                i8::try_from(candidate.minute()).ok()?,
                i8::try_from(candidate.second()).ok()?,
                0,
            )
            .ok()?;
            let at = zone
                .to_ambiguous_zoned(civil)
                .compatible()
                .ok()?
                .timestamp();
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// The latest fire in `(after, until]`, if any: the one tick that catches up. Walks the
    /// missed fires (a year of daily ticks is 365 steps) up to a bound.
    pub fn latest_in(
        &self,
        zone: &TimeZone,
        after: Timestamp,
        until: Timestamp,
    ) -> Option<Timestamp> {
        let mut latest = None;
        let mut cursor = after;
        for _ in 0..100_000 {
            match self.next_after(zone, cursor) {
                Some(next) if next <= until => {
                    latest = Some(next);
                    cursor = next;
                }
                _ => break,
            }
        }
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn eight_in_the_morning_local_in_auckland_and_los_angeles() {
        let s = TickSchedule::parse(DEFAULT_SCHEDULE).unwrap();
        let akl = TimeZone::get("Pacific/Auckland").unwrap();
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        // 2026-11-24T00:00Z is 13:00 NZDT (+13) and 16:00 PST the day before.
        let now = ts("2026-11-24T00:00:00Z");
        assert_eq!(s.next_after(&akl, now), Some(ts("2026-11-24T19:00:00Z")));
        assert_eq!(s.next_after(&la, now), Some(ts("2026-11-24T16:00:00Z")));
    }

    #[test]
    fn daylight_saving_changes_keep_eight_local() {
        let s = TickSchedule::parse("0 8 * * *").unwrap();
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        // US DST ends 2026-11-01: 08:00 PDT is 15:00Z before, 08:00 PST is 16:00Z after.
        assert_eq!(
            s.next_after(&la, ts("2026-10-31T12:00:00Z")),
            Some(ts("2026-10-31T15:00:00Z"))
        );
        assert_eq!(
            s.next_after(&la, ts("2026-11-01T12:00:00Z")),
            Some(ts("2026-11-01T16:00:00Z"))
        );
        let akl = TimeZone::get("Pacific/Auckland").unwrap();
        // NZ DST starts 2026-09-27 at 02:00: 08:00 NZST (+12) on the 26th is 20:00Z the day
        // before; 08:00 NZDT (+13) on the 27th is 19:00Z on the 26th.
        assert_eq!(
            s.next_after(&akl, ts("2026-09-25T12:00:00Z")),
            Some(ts("2026-09-25T20:00:00Z"))
        );
        assert_eq!(
            s.next_after(&akl, ts("2026-09-25T21:00:00Z")),
            Some(ts("2026-09-26T19:00:00Z"))
        );
    }

    #[test]
    fn the_catch_up_is_the_latest_missed_fire() {
        let s = TickSchedule::parse(DEFAULT_SCHEDULE).unwrap();
        let utc = TimeZone::UTC;
        let latest = s.latest_in(&utc, ts("2026-01-01T09:00:00Z"), ts("2026-02-15T07:00:00Z"));
        assert_eq!(latest, Some(ts("2026-02-14T08:00:00Z")));
        assert_eq!(
            s.latest_in(&utc, ts("2026-01-01T09:00:00Z"), ts("2026-01-02T07:59:59Z")),
            None
        );
    }

    #[test]
    fn bad_expressions_name_the_expression() {
        let e = TickSchedule::parse("every morning").unwrap_err();
        assert!(e.to_string().contains("every morning"));
    }
}
