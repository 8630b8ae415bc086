//! Alert policy: which reminder is due for a credential on a given local date.
//!
//! A credential has *marks*: dates on which a reminder becomes due. Before expiry they are the
//! thresholds (days before `expires_on`), then the expiry day, then weekly through the grace
//! period, then the day it lapses. On any date the due mark is the latest mark on or before
//! it, so marks crossed while nobody looked coalesce into the most urgent one.

use super::alert::AlertSettings;
use super::compliance::{Compliance, Status};
use super::credits::Credits;
use super::program::Program;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The default thresholds, in days before expiry: each row applies to cycles of at most that
/// many months, the last to every longer cycle. Longer cycles get earlier first warnings.
const DEFAULT_THRESHOLDS: [(u32, &[u32]); 3] = [
    (12, &[60, 30, 14, 7, 1]),
    (24, &[90, 60, 30, 14, 7, 1]),
    (u32::MAX, &[180, 90, 60, 30, 14, 7, 1]),
];

/// Default thresholds, in days before expiry, for a cycle of `cycle_months`.
pub fn default_thresholds(cycle_months: u32) -> Vec<u32> {
    DEFAULT_THRESHOLDS
        .iter()
        .find(|(longest, _)| cycle_months <= *longest)
        .map(|(_, thresholds)| thresholds.to_vec())
        .unwrap_or_default()
}

/// The thresholds for a credential: its own settings', else its holder's, else its program's
/// (`program_settings`), else the defaults for the program's cycle length.
pub fn thresholds_for(
    credential: &AlertSettings,
    holder: &AlertSettings,
    program_settings: &AlertSettings,
    program: &Program,
) -> Vec<u32> {
    [credential, holder, program_settings]
        .into_iter()
        .find_map(|s| s.thresholds.clone())
        .unwrap_or_else(|| default_thresholds(program.cycle_months))
}

/// The expiry dates a tick must look up: every window `(from, to)`, both ends included, of
/// the credentials that can have a mark on a local date in `(since, today]`.
///
/// A credential expiring outside every window has no mark in that span under the default
/// thresholds of any cycle length, any of `thresholds_in_use` (the settings' own) and a grace
/// period of any of `graces` days; one inside may still have none (its own thresholds are
/// narrower), which evaluating it tells. Empty windows are left out, so `since >= today`
/// gives none.
pub fn scan_windows(
    since: Date,
    today: Date,
    thresholds_in_use: &[u32],
    graces: &[u32],
) -> Vec<(Date, Date)> {
    let shift = |d: Date, days: i64| d.checked_add(days.days()).ok();
    let mut windows = Vec::new();
    let mut push = |from: Option<Date>, to: Option<Date>| {
        if let (Some(from), Some(to)) = (from, to)
            && from <= to
        {
            windows.push((from, to));
        }
    };
    // `Before(t)` falls on expires_on - t: crossed in (since, today] if expires_on is in
    // (since + t, today + t].
    let thresholds: BTreeSet<u32> = DEFAULT_THRESHOLDS
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .chain(thresholds_in_use.iter().copied())
        .collect();
    for t in thresholds {
        let t = i64::from(t);
        push(shift(since, t + 1), shift(today, t));
    }
    // The expiry day (week 0) and each grace week w fall on expires_on + 7w.
    let graces: BTreeSet<u32> = graces.iter().copied().collect();
    let max_grace = graces.last().copied().unwrap_or(0);
    for week in 0..=i64::from(max_grace / 7) {
        push(shift(since, -7 * week + 1), shift(today, -7 * week));
    }
    // The lapse falls on expires_on + grace + 1.
    for g in graces {
        let g = i64::from(g);
        push(shift(since, -g), shift(today, -g - 1));
    }
    windows
}

/// One point in a credential's reminder schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mark {
    /// This many days before expiry (at least 1).
    Before(u32),
    /// On the expiry day.
    ExpiryDay,
    /// This many weeks into the grace period (at least 1).
    GraceWeek(u32),
    /// The day after the grace period ends: the credential has lapsed.
    Lapsed,
}

impl Mark {
    /// The mark as signed days relative to expiry: `Before(30)` is 30, the expiry day 0,
    /// grace week 2 is -14, and a lapse is one day after the grace period (negative).
    pub fn threshold_days(self, grace_days: u32) -> i64 {
        match self {
            Mark::Before(d) => i64::from(d),
            Mark::ExpiryDay => 0,
            Mark::GraceWeek(w) => -7 * i64::from(w),
            Mark::Lapsed => -(i64::from(grace_days) + 1),
        }
    }

    /// The date this mark falls on for a cycle ending `expires_on`.
    pub fn date(self, expires_on: Date, grace_days: u32) -> Option<Date> {
        let offset = -self.threshold_days(grace_days);
        expires_on.checked_add(offset.days()).ok()
    }

    /// A short label: "30 days before expiry", "expiry day", "grace week 1", "lapsed".
    pub fn label(self) -> String {
        match self {
            Mark::Before(1) => "1 day before expiry".into(),
            Mark::Before(d) => format!("{d} days before expiry"),
            Mark::ExpiryDay => "expiry day".into(),
            Mark::GraceWeek(w) => format!("grace period, week {w}"),
            Mark::Lapsed => "lapsed".into(),
        }
    }
}

/// Every mark of a cycle, in date order.
pub fn marks(thresholds: &[u32], grace_days: u32) -> Vec<Mark> {
    let mut before: Vec<u32> = thresholds.iter().copied().filter(|&d| d > 0).collect();
    before.sort_unstable_by(|a, b| b.cmp(a));
    before.dedup();
    let mut out: Vec<Mark> = before.into_iter().map(Mark::Before).collect();
    out.push(Mark::ExpiryDay);
    out.extend((1..=grace_days / 7).map(Mark::GraceWeek));
    out.push(Mark::Lapsed);
    out
}

/// The most urgent mark on or before `today`, if any: what is due now.
pub fn due_mark(
    expires_on: Date,
    thresholds: &[u32],
    grace_days: u32,
    today: Date,
) -> Option<Mark> {
    marks(thresholds, grace_days)
        .into_iter()
        .rfind(|m| m.date(expires_on, grace_days).is_some_and(|d| d <= today))
}

/// What an alert says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertText {
    /// One line, e.g. "Dana Reyes: NHA CPT expires in 30 days: 2.5 credits still needed".
    pub title: String,
    /// Several lines: what is due, what is missing, by when, and the pace needed.
    pub body: String,
    /// Whether the requirements are met (a "renewal due: apply" reminder).
    pub met: bool,
}

/// `amount unit`, with the unit pluralised unless the amount is 1 ("1 point", "2.5 points").
fn amount_of(amount: Credits, unit: &str) -> String {
    if amount == Credits::whole(1) || unit.ends_with('s') {
        format!("{amount} {unit}")
    } else {
        format!("{amount} {unit}s")
    }
}

/// The words of an alert for `mark`, from the credential's compliance on the day it is due.
/// The title starts with the holder's name, so a channel several holders share (a
/// supervisor's) says whose credential it is. A lapsed credential's alert says when it
/// expired (with `grace_days`, when its grace period ended) and the program's reinstatement
/// rule where it has one.
#[allow(clippy::too_many_arguments)]
pub fn alert_text(
    holder_name: &str,
    program_name: &str,
    unit: &str,
    mark: Mark,
    compliance: &Compliance,
    caution: Option<&str>,
    grace_days: u32,
    reinstatement: Option<&str>,
) -> AlertText {
    let met = compliance.remaining == Credits::ZERO;
    let when = match compliance.days_left {
        d if d > 1 => format!("expires in {d} days, on {}", compliance.expires_on),
        1 => format!("expires tomorrow, {}", compliance.expires_on),
        0 => format!("expires today, {}", compliance.expires_on),
        d => format!("expired {} days ago, on {}", -d, compliance.expires_on),
    };
    let title = match (mark, met) {
        (Mark::Lapsed, _) => format!("{holder_name}: {program_name} has lapsed"),
        (_, true) => format!("{holder_name}: {program_name} renewal due: apply ({when})"),
        (_, false) => format!(
            "{holder_name}: {program_name} {when}: {} still needed",
            amount_of(compliance.remaining, unit)
        ),
    };
    let mut body = vec![title.clone()];
    body.push(format!(
        "Credits: {} of {} earned; {} still needed.",
        compliance.earned,
        amount_of(compliance.required, unit),
        compliance.remaining
    ));
    for c in &compliance.categories {
        if c.earned < c.required {
            body.push(format!(
                "Category {}: {} of {} earned.",
                c.category,
                c.earned,
                amount_of(c.required, unit)
            ));
        }
    }
    if !met && compliance.days_left > 0 {
        body.push(format!(
            "Pace needed: {} in {} days.",
            amount_of(compliance.remaining, unit),
            compliance.days_left
        ));
    }
    if met && !matches!(mark, Mark::Lapsed) {
        body.push("All CE requirements are met: submit your renewal application.".into());
    }
    match compliance.status {
        Status::InGrace => body.push("The credential is in its grace period.".into()),
        Status::Expired => {
            let ended = if grace_days == 0 {
                format!(
                    "The credential expired on {} (the program has no grace period).",
                    compliance.expires_on
                )
            } else {
                let end = compliance
                    .expires_on
                    .checked_add(i64::from(grace_days).days())
                    .unwrap_or(compliance.expires_on);
                format!("The grace period of {grace_days} days ended on {end}.")
            };
            body.push(ended);
            body.push(match reinstatement {
                Some(rule) => format!("Reinstatement: {rule}."),
                None => "See the body's reinstatement rules.".into(),
            });
        }
        _ => {}
    }
    if let Some(caution) = caution {
        body.push(format!("Rules marked uncertain: {caution}."));
    }
    AlertText {
        title,
        body: body.join("\n"),
        met,
    }
}

/// `in 12 days, on D`, `tomorrow, D`, `today, D`, `3 days ago, on D`: when `due` falls as seen
/// on `today`.
fn when_due(due: Date, today: Date) -> String {
    match (due - today).get_days() {
        d if d > 1 => format!("in {d} days, on {due}"),
        1 => format!("tomorrow, {due}"),
        0 => format!("today, {due}"),
        -1 => format!("since yesterday, {due}"),
        d => format!("since {} days ago, {due}", -d),
    }
}

/// The words of a competency reminder: the skill `skill` of the competency program
/// `program_name` is due on `due` (CLIA: an assessment by then), as seen on `today`. The title
/// starts with the holder's name, like every alert's.
pub fn competency_alert_text(
    holder_name: &str,
    program: &str,
    program_name: &str,
    skill: &str,
    due: Date,
    today: Date,
) -> AlertText {
    let title = if due < today {
        format!(
            "{holder_name}: competency assessment of {skill} ({program_name}) overdue {}",
            when_due(due, today)
        )
    } else {
        format!(
            "{holder_name}: competency assessment of {skill} ({program_name}) due {}",
            when_due(due, today)
        )
    };
    let body = [
        title.clone(),
        format!("Skill: {skill}, under {program_name} ({program}); next assessment due {due}."),
        format!(
            "Log it when done: recert competency log HOLDER --program {program} --skill {skill:?} --date DATE --assessor NAME --elements 1,2,3,4,5,6 --result pass"
        ),
    ]
    .join("\n");
    AlertText {
        title,
        body,
        met: false,
    }
}

/// `$50.00` for 5000 cents.
pub fn dollars(cents: u32) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// The words of a dues reminder: `amount_cents` of the credential's dues are due by `due`
/// (AMT: annual dues in the anniversary month), as seen on `today`.
pub fn dues_alert_text(
    holder_name: &str,
    program_name: &str,
    amount_cents: u32,
    every_months: u32,
    due: Date,
    today: Date,
) -> AlertText {
    let amount = dollars(amount_cents);
    let title = if due < today {
        format!(
            "{holder_name}: {program_name} dues of {amount} overdue {}",
            when_due(due, today)
        )
    } else {
        format!(
            "{holder_name}: {program_name} dues of {amount} due {}",
            when_due(due, today)
        )
    };
    let period = if every_months == 12 {
        "a year".to_string()
    } else {
        format!("every {every_months} months")
    };
    let body = [
        title.clone(),
        format!("Dues: {amount} {period}, due by {due}; they keep the credential active between renewals."),
        "Pay them to the certifying body; recert does not take payments.".to_string(),
    ]
    .join("\n");
    AlertText {
        title,
        body,
        met: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn thresholds_scale_with_the_cycle() {
        assert_eq!(default_thresholds(12), [60, 30, 14, 7, 1]);
        assert_eq!(default_thresholds(24), [90, 60, 30, 14, 7, 1]);
        assert_eq!(default_thresholds(36), [180, 90, 60, 30, 14, 7, 1]);
    }

    #[test]
    fn marks_run_from_thresholds_through_grace_to_lapse() {
        let m = marks(&[30, 60, 30], 14);
        assert_eq!(
            m,
            [
                Mark::Before(60),
                Mark::Before(30),
                Mark::ExpiryDay,
                Mark::GraceWeek(1),
                Mark::GraceWeek(2),
                Mark::Lapsed
            ]
        );
        let expires = d("2027-03-01");
        assert_eq!(Mark::Before(60).date(expires, 14), Some(d("2026-12-31")));
        assert_eq!(Mark::GraceWeek(2).date(expires, 14), Some(d("2027-03-15")));
        assert_eq!(Mark::Lapsed.date(expires, 14), Some(d("2027-03-16")));
        assert_eq!(Mark::Lapsed.threshold_days(14), -15);
    }

    #[test]
    fn the_due_mark_is_the_latest_crossed_so_missed_ones_coalesce() {
        let t = default_thresholds(24);
        let expires = d("2027-03-01");
        assert_eq!(
            due_mark(expires, &t, 0, d("2026-11-30")),
            None,
            "91 days before"
        );
        assert_eq!(
            due_mark(expires, &t, 0, d("2026-12-01")),
            Some(Mark::Before(90))
        );
        // Down across the 60- and 30-day marks: one 30-day alert.
        assert_eq!(
            due_mark(expires, &t, 0, d("2027-01-31")),
            Some(Mark::Before(30))
        );
        assert_eq!(
            due_mark(expires, &t, 0, d("2027-03-01")),
            Some(Mark::ExpiryDay)
        );
        assert_eq!(
            due_mark(expires, &t, 0, d("2027-03-02")),
            Some(Mark::Lapsed)
        );
        assert_eq!(
            due_mark(expires, &t, 30, d("2027-03-09")),
            Some(Mark::GraceWeek(1))
        );
        assert_eq!(
            due_mark(expires, &t, 30, d("2027-03-31")),
            Some(Mark::GraceWeek(4))
        );
        assert_eq!(
            due_mark(expires, &t, 30, d("2027-04-01")),
            Some(Mark::Lapsed)
        );
    }

    fn thresholds(t: Option<&[u32]>) -> AlertSettings {
        AlertSettings {
            thresholds: t.map(<[u32]>::to_vec),
            muted: false,
        }
    }

    #[test]
    fn a_credentials_thresholds_beat_its_holders_which_beat_its_programs() {
        let two_years = crate::domain::compliance::tests::program("nha-cpt", 10, 24);
        let none = thresholds(None);
        let (own, holders, programs) = (
            thresholds(Some(&[45])),
            thresholds(Some(&[60, 10])),
            thresholds(Some(&[120])),
        );
        assert_eq!(thresholds_for(&own, &holders, &programs, &two_years), [45]);
        assert_eq!(
            thresholds_for(&none, &holders, &programs, &two_years),
            [60, 10]
        );
        assert_eq!(thresholds_for(&none, &none, &programs, &two_years), [120]);
        assert_eq!(
            thresholds_for(&none, &none, &none, &two_years),
            default_thresholds(24)
        );
        let one_year = crate::domain::compliance::tests::program("cpr", 2, 12);
        assert_eq!(
            thresholds_for(&none, &none, &none, &one_year),
            default_thresholds(12)
        );
        // A muted scope still passes its thresholds on; muting is decided elsewhere.
        let muted = AlertSettings {
            muted: true,
            ..thresholds(Some(&[3]))
        };
        assert_eq!(thresholds_for(&none, &muted, &programs, &two_years), [3]);
    }

    #[test]
    fn scan_windows_of_a_one_day_tick() {
        let today = d("2026-11-24");
        let since = d("2026-11-23");
        let windows = scan_windows(since, today, &[45], &[0, 30]);
        // Before(t): credentials expiring exactly t days after today.
        for t in [1, 7, 14, 30, 45, 60, 90, 180] {
            let on = today.checked_add(t.days()).unwrap();
            assert!(windows.contains(&(on, on)), "{t}: {windows:?}");
        }
        // The expiry day, grace weeks 1 to 4 and the lapses after 0 and 30 days of grace.
        for back in [0, 7, 14, 21, 28, 1, 31] {
            let on = today.checked_sub(back.days()).unwrap();
            assert!(windows.contains(&(on, on)), "{back}: {windows:?}");
        }
        assert_eq!(windows.len(), 8 + 5 + 2, "{windows:?}");
        assert!(scan_windows(today, today, &[45], &[30]).is_empty());
        assert!(scan_windows(today, since, &[45], &[30]).is_empty());
    }

    /// Every credential with a mark in `(since, today]` expires inside some window, for every
    /// threshold set and grace period the windows were asked for.
    #[test]
    fn scan_windows_cover_every_crossed_mark() {
        let today = d("2026-11-24");
        let in_use = [120, 45, 10, 365];
        let graces = [0, 6, 30, 90];
        let threshold_sets = [
            default_thresholds(6),
            default_thresholds(24),
            default_thresholds(36),
            in_use.to_vec(),
            vec![10],
        ];
        for lookback in [1, 2, 9, 40, 400] {
            let since = today.checked_sub(lookback.days()).unwrap();
            let windows = scan_windows(since, today, &in_use, &graces);
            let covered = |e: Date| windows.iter().any(|&(from, to)| from <= e && e <= to);
            let mut expires = today.checked_sub(600.days()).unwrap();
            let last = today.checked_add(800.days()).unwrap();
            while expires <= last {
                for t in &threshold_sets {
                    for &g in &graces {
                        let crossed = marks(t, g).into_iter().any(|m| {
                            m.date(expires, g)
                                .is_some_and(|on| since < on && on <= today)
                        });
                        assert!(
                            !crossed || covered(expires),
                            "expiring {expires}, thresholds {t:?}, grace {g}, since {since}: \
                             a mark is crossed but no window holds it"
                        );
                    }
                }
                expires = expires.tomorrow().unwrap();
            }
        }
    }
}
