//! Certification programs: a credential type and its renewal rules.

use super::credits::Credits;
use super::records::{Course, Credential, Format};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How sure we are of a program's numbers, overall or of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Stated on the certifying body's or regulator's own page.
    #[default]
    Confirmed,
    /// Secondary or dated sources only, or sources disagree.
    Uncertain,
}

/// A rule of a [`Program`] that can be flagged uncertain on its own, named as its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleField {
    /// `cycle_months`.
    CycleMonths,
    /// `cycle_anchor`.
    CycleAnchor,
    /// `ce_window_months`.
    CeWindowMonths,
    /// `ce_window_years_before`.
    CeWindowYearsBefore,
    /// `unit_hours`.
    UnitHours,
    /// `required`.
    Required,
    /// `first_cycle_per_month`.
    FirstCyclePerMonth,
    /// `category_minimums`.
    CategoryMinimums,
    /// `exclusive_categories`.
    ExclusiveCategories,
    /// `caps`.
    Caps,
    /// `activity_limits`.
    ActivityLimits,
    /// `alternatives`.
    Alternatives,
    /// `accreditation_minimums`.
    AccreditationMinimums,
    /// `grace_days`.
    GraceDays,
    /// `shares_courses`.
    SharesCourses,
    /// `accepted_accreditations`.
    AcceptedAccreditations,
    /// `accreditation_required`.
    AccreditationRequired,
    /// `dues`.
    Dues,
    /// Some rule, without saying which: what a program saved with only a per-program
    /// "uncertain" flag (before flags per field existed) says.
    Unspecified,
}

impl RuleField {
    /// Every rule field, in `Program`'s order, then [`RuleField::Unspecified`].
    pub const ALL: [RuleField; 19] = [
        RuleField::CycleMonths,
        RuleField::CycleAnchor,
        RuleField::CeWindowMonths,
        RuleField::CeWindowYearsBefore,
        RuleField::UnitHours,
        RuleField::Required,
        RuleField::FirstCyclePerMonth,
        RuleField::CategoryMinimums,
        RuleField::ExclusiveCategories,
        RuleField::Caps,
        RuleField::ActivityLimits,
        RuleField::Alternatives,
        RuleField::AccreditationMinimums,
        RuleField::GraceDays,
        RuleField::SharesCourses,
        RuleField::AcceptedAccreditations,
        RuleField::AccreditationRequired,
        RuleField::Dues,
        RuleField::Unspecified,
    ];

    /// The field's name, as in the catalog file and the export format.
    pub const fn name(self) -> &'static str {
        match self {
            RuleField::CycleMonths => "cycle_months",
            RuleField::CycleAnchor => "cycle_anchor",
            RuleField::CeWindowMonths => "ce_window_months",
            RuleField::CeWindowYearsBefore => "ce_window_years_before",
            RuleField::UnitHours => "unit_hours",
            RuleField::Required => "required",
            RuleField::FirstCyclePerMonth => "first_cycle_per_month",
            RuleField::CategoryMinimums => "category_minimums",
            RuleField::ExclusiveCategories => "exclusive_categories",
            RuleField::Caps => "caps",
            RuleField::ActivityLimits => "activity_limits",
            RuleField::Alternatives => "alternatives",
            RuleField::AccreditationMinimums => "accreditation_minimums",
            RuleField::GraceDays => "grace_days",
            RuleField::SharesCourses => "shares_courses",
            RuleField::AcceptedAccreditations => "accepted_accreditations",
            RuleField::AccreditationRequired => "accreditation_required",
            RuleField::Dues => "dues",
            RuleField::Unspecified => "unspecified",
        }
    }

    /// The rule field named `name` (exactly, as [`RuleField::name`] spells it).
    pub fn parse(name: &str) -> Option<RuleField> {
        RuleField::ALL.into_iter().find(|f| f.name() == name.trim())
    }
}

/// A minimum amount in one category, in hundredths of the program's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryMinimum {
    /// Category name, lowercase (e.g. "safety").
    pub category: String,
    /// Minimum in the program's unit.
    pub minimum: Credits,
}

/// What a cap (or an activity limit) applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapScope {
    /// Courses tagged with this category.
    Category(String),
    /// Courses of this format.
    Format(Format),
}

impl CapScope {
    /// Whether `course` falls under this scope.
    pub fn covers(&self, course: &Course) -> bool {
        match self {
            CapScope::Category(c) => course.has_category(c),
            CapScope::Format(f) => course.format == Some(*f),
        }
    }
}

/// How much a cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapLimit {
    /// At most this percentage (1..=100) of the required credits.
    Percent(u32),
    /// At most this amount, in the program's unit.
    Amount(Credits),
}

/// A cap on how much of one kind of activity counts toward a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// What the cap applies to.
    pub scope: CapScope,
    /// How much it allows.
    pub limit: CapLimit,
}

/// A calendar day that recurs every year, e.g. November 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MonthDay {
    /// Month, 1 to 12.
    pub month: i8,
    /// Day of the month, 1 to 31 (February 29 falls on February 28 in other years).
    pub day: i8,
}

impl MonthDay {
    /// Whether some year has this day (February 29 counts).
    pub fn is_valid(self) -> bool {
        Date::new(2000, self.month, self.day).is_ok()
    }

    /// This day in `year`; February 29 falls on February 28 in a common year.
    pub fn in_year(self, year: i16) -> Option<Date> {
        let month = self.month.clamp(1, 12);
        let first = Date::new(year, month, 1).ok()?;
        Date::new(year, month, self.day.clamp(1, first.days_in_month())).ok()
    }

    /// The last occurrence of this day on or before `date`.
    pub fn on_or_before(self, date: Date) -> Option<Date> {
        match self.in_year(date.year()) {
            Some(d) if d <= date => Some(d),
            _ => self.in_year(date.year().checked_sub(1)?),
        }
    }
}

/// Where a program's cycle ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CycleAnchor {
    /// On the credential's expiry date, `cycle_months` after issue (or the test date).
    #[default]
    Issue,
    /// On a fixed calendar day, whatever the issue date: ASPT's renewals close on November 30,
    /// ACA's certification year ends on June 30, Louisiana's on December 31.
    Fixed(MonthDay),
    /// On the holder's birthday (Washington). Holders have no birth date yet, so until they do
    /// the credential's expiry is taken as given.
    Birthday,
}

impl CycleAnchor {
    /// The anchor as text, as the export format and the API write it: `""` for the expiry
    /// date, `MM-DD` for a fixed day, `birthday`.
    pub fn text(self) -> String {
        match self {
            CycleAnchor::Issue => String::new(),
            CycleAnchor::Fixed(d) => format!("{:02}-{:02}", d.month, d.day),
            CycleAnchor::Birthday => "birthday".into(),
        }
    }

    /// Parses [`CycleAnchor::text`]'s form (surrounding blanks ignored); `None` if it is not
    /// one, or names no day of the year.
    pub fn parse(text: &str) -> Option<CycleAnchor> {
        let text = text.trim();
        match text {
            "" => Some(CycleAnchor::Issue),
            "birthday" => Some(CycleAnchor::Birthday),
            _ => {
                let (m, d) = text.split_once('-')?;
                let all_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
                let day = MonthDay {
                    month: m.parse().ok()?,
                    day: d.parse().ok()?,
                };
                (all_digits(m) && all_digits(d) && day.is_valid())
                    .then_some(CycleAnchor::Fixed(day))
            }
        }
    }
}

/// "Instead of `required`, this much CE plus this much of another activity" (NHCO: 20 hours of
/// CE, or 10 hours of CE plus work experience).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    /// CE required instead of the program's `required`, in the program's unit.
    pub required: Credits,
    /// Category of the other activity, e.g. `work-hours`. Courses tagged with it never count as
    /// CE toward this program; they count only toward this alternative.
    pub work_category: String,
    /// How much of that activity, in hours (hundredths).
    pub work_hours: Credits,
}

/// "A course of this kind counts at most once every N years" (NCCT: recurring employer
/// training, once every 5 years).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLimit {
    /// Which courses the limit applies to.
    pub scope: CapScope,
    /// After one such course counts, no other counts until this many years have passed.
    pub once_every_years: u32,
}

/// A minimum amount from providers of one accreditation (AAMA: 30 CEUs AAMA-approved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccreditationMinimum {
    /// The accreditation, matched case-insensitively.
    pub accreditation: String,
    /// Minimum in the program's unit.
    pub minimum: Credits,
}

/// Recurring dues that keep a credential active between renewals (AMT: $50 a year, due in
/// the anniversary month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dues {
    /// Amount in cents (US dollars).
    pub amount_cents: u32,
    /// Months between two payments.
    pub every_months: u32,
    /// The month they fall due, relative to the month of the certification anniversary (0:
    /// in the anniversary month, -1: the month before).
    #[serde(default)]
    pub month_offset: i32,
}

/// How a lapsed credential is reinstated, as the body states it (California: 6 contact
/// hours within the last 12 months; ASCP: the CE from the last 3 years plus a fee). Words
/// for a person with the numbers in them: recert shows it when a lapsed credential is
/// renewed and in `program show`, and does not compute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reinstatement {
    /// CE must be completed within this many months before reinstatement (0: not stated).
    #[serde(default)]
    pub within_months: u32,
    /// Contact hours of CE needed, in hundredths; 0: the program's requirement per cycle.
    #[serde(default)]
    pub ce_hours: Credits,
    /// What else the body asks (a fee, a form), or what the rule is called.
    #[serde(default)]
    pub note: String,
    /// Where the rule is published.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Reinstatement {
    /// The rule in words for `program`, e.g. "6 contact hours completed within the last 12
    /// months; renewing an expired California certificate".
    pub fn describe(&self, program: &Program) -> String {
        let hours = if self.ce_hours > Credits::ZERO {
            let unit = if self.ce_hours == Credits(100) {
                "contact hour"
            } else {
                "contact hours"
            };
            format!("{} {unit}", self.ce_hours)
        } else {
            let unit = &program.unit_name;
            let s = if program.required == Credits(100) || unit.ends_with('s') {
                ""
            } else {
                "s"
            };
            format!("the cycle's requirement ({} {unit}{s})", program.required)
        };
        let mut text = match self.within_months {
            0 => format!("{hours} of CE"),
            n => format!("{hours} completed within the last {n} months"),
        };
        if !self.note.is_empty() {
            text.push_str("; ");
            text.push_str(&self.note);
        }
        text
    }
}

/// A credential type and its renewal rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Short lowercase id, e.g. `nha-cpt`.
    pub slug: String,
    /// Certifying body, e.g. `NHA`.
    pub body: String,
    /// Full name of the credential.
    pub name: String,
    /// Length of a certification cycle in months.
    pub cycle_months: u32,
    /// Where the cycle ends: on the expiry date, a fixed calendar day, or a birthday.
    #[serde(default)]
    pub cycle_anchor: CycleAnchor,
    /// Length of the CE window that ends on the cycle's last day, in months.
    pub ce_window_months: u32,
    /// When non-zero, the CE window reaches back further, to January 1 of the calendar year
    /// this many years before the year the cycle ends (NCCT: 1, "the calendar year immediately
    /// preceding the recertification year").
    #[serde(default)]
    pub ce_window_years_before: u32,
    /// Name of the program's unit, e.g. `NHA CE credit`.
    pub unit_name: String,
    /// Contact hours per program unit (hundredths: 100 = 1 hour).
    pub unit_hours: Credits,
    /// Credits required per cycle, in the program's unit; 0 only when the amount is unknown
    /// (and flagged uncertain).
    pub required: Credits,
    /// In the first cycle (a credential with no closed cycle), this much per month certified
    /// instead of `required`, if less (ACA: 0.5 hour a month); 0 for no such rule.
    #[serde(default)]
    pub first_cycle_per_month: Credits,
    /// Minimums per category.
    #[serde(default)]
    pub category_minimums: Vec<CategoryMinimum>,
    /// Whether a credit counts toward one category minimum only, so a course tagged with two
    /// categories fills one or the other (AAMA: administrative, clinical, general).
    #[serde(default)]
    pub exclusive_categories: bool,
    /// Caps by category or format.
    #[serde(default)]
    pub caps: Vec<Cap>,
    /// Kinds of activity that count at most once every so many years.
    #[serde(default)]
    pub activity_limits: Vec<ActivityLimit>,
    /// Other ways to meet the requirement (fewer CE hours plus work hours).
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
    /// Minimums from providers of one accreditation.
    #[serde(default)]
    pub accreditation_minimums: Vec<AccreditationMinimum>,
    /// Days after expiry during which renewal is still possible.
    #[serde(default)]
    pub grace_days: u32,
    /// Whether a course may count toward this and another credential at once.
    #[serde(default = "yes")]
    pub shares_courses: bool,
    /// Accepted accreditations (case-insensitive); empty accepts any.
    #[serde(default)]
    pub accepted_accreditations: Vec<String>,
    /// Whether a course must name its accreditation to count (California: each certificate
    /// carries the accrediting agency's number); otherwise an unknown one is given the benefit
    /// of the doubt.
    #[serde(default)]
    pub accreditation_required: bool,
    /// Recurring dues, if any.
    #[serde(default)]
    pub dues: Option<Dues>,
    /// How a lapsed credential is reinstated, where the body states it.
    #[serde(default)]
    pub reinstatement: Option<Reinstatement>,
    /// Where the numbers come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The rules whose values are not confirmed by a source; every other rule is.
    #[serde(default)]
    pub uncertain: Vec<RuleField>,
    /// Free-form notes shown with the program.
    #[serde(default)]
    pub notes: String,
    /// For a local override of a built-in program: the rules it overrides. Every other rule
    /// (and the body, name, sources, notes and uncertain flags) is read from the built-in
    /// program in force, so a catalog update reaches them ([`Program::over`]). Empty for a
    /// built-in or custom program, and for an override that replaces every field (`program
    /// add` on a built-in slug).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_fields: Vec<RuleField>,
}

fn yes() -> bool {
    true
}

impl Program {
    /// The rules `program edit` can override one by one, in `Program`'s order.
    pub const OVERRIDABLE: [RuleField; 9] = [
        RuleField::CycleMonths,
        RuleField::CeWindowMonths,
        RuleField::UnitHours,
        RuleField::Required,
        RuleField::CategoryMinimums,
        RuleField::Caps,
        RuleField::GraceDays,
        RuleField::SharesCourses,
        RuleField::AcceptedAccreditations,
    ];

    /// The program in force for this stored local program, given the built-in one of its
    /// slug: itself when it names no local fields (a custom program or a full override),
    /// else `builtin` with only the local fields taken from it. The built-in's uncertain flags
    /// stay, except on the local fields (those are the user's numbers, shown as local).
    pub fn over(&self, builtin: &Program) -> Program {
        if self.local_fields.is_empty() {
            return self.clone();
        }
        let mut p = builtin.clone();
        for &field in &self.local_fields {
            match field {
                RuleField::CycleMonths => p.cycle_months = self.cycle_months,
                RuleField::CeWindowMonths => p.ce_window_months = self.ce_window_months,
                RuleField::UnitHours => p.unit_hours = self.unit_hours,
                RuleField::Required => p.required = self.required,
                RuleField::CategoryMinimums => {
                    p.category_minimums = self.category_minimums.clone();
                }
                RuleField::Caps => p.caps = self.caps.clone(),
                RuleField::GraceDays => p.grace_days = self.grace_days,
                RuleField::SharesCourses => p.shares_courses = self.shares_courses,
                RuleField::AcceptedAccreditations => {
                    p.accepted_accreditations = self.accepted_accreditations.clone();
                }
                // Refused by `validate`; a stored one (from a later build) keeps the built-in.
                _ => {}
            }
        }
        p.uncertain.retain(|f| !self.local_fields.contains(f));
        p.local_fields = self.local_fields.clone();
        p
    }

    /// Converts an amount in this program's unit to contact hours (saturating, as
    /// [`Unit::to_hours`](super::Unit::to_hours)).
    pub fn to_hours(&self, amount: Credits) -> Credits {
        Credits(amount.0.saturating_mul(self.unit_hours.0) / 100)
    }

    /// Converts contact hours to this program's unit, rounding down to a hundredth.
    pub fn from_hours(&self, hours: Credits) -> Credits {
        if self.unit_hours.0 <= 0 {
            return Credits::ZERO;
        }
        Credits(hours.0.saturating_mul(100) / self.unit_hours.0)
    }

    /// Whether a course with this accreditation is accepted. An empty accreditation (unknown)
    /// is accepted unless the program requires one.
    pub fn accepts_accreditation(&self, accreditation: &str) -> bool {
        let accreditation = accreditation.trim();
        if accreditation.is_empty() {
            return !self.accreditation_required;
        }
        self.accepted_accreditations.is_empty()
            || self
                .accepted_accreditations
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case(accreditation))
    }

    /// Uncertain if any rule is.
    pub fn confidence(&self) -> Confidence {
        if self.uncertain.is_empty() {
            Confidence::Confirmed
        } else {
            Confidence::Uncertain
        }
    }

    /// How sure we are of one rule ([`RuleField::Unspecified`] makes every rule uncertain).
    pub fn confidence_of(&self, field: RuleField) -> Confidence {
        if self.uncertain.contains(&field) || self.uncertain.contains(&RuleField::Unspecified) {
            Confidence::Uncertain
        } else {
            Confidence::Confirmed
        }
    }

    /// Whether the amount of CE required is unknown: `required` is 0 and flagged uncertain.
    pub fn requirement_unknown(&self) -> bool {
        self.required == Credits::ZERO && self.uncertain.contains(&RuleField::Required)
    }

    /// The caution shown with an uncertain program, e.g. "verify with NHA".
    pub fn caution(&self) -> Option<String> {
        (self.confidence() == Confidence::Uncertain).then(|| format!("verify with {}", self.body))
    }

    /// The last day of the cycle of a credential that expires on `expires_on`: the expiry
    /// itself, or for a fixed calendar day (or a known `birthday`) the last such day on or
    /// before it. The credential's expiry is taken as given for a birthday anchor when the
    /// birthday is unknown, as it always is today (holders have no birth date).
    pub fn cycle_end(&self, expires_on: Date, birthday: Option<Date>) -> Date {
        let day = match (self.cycle_anchor, birthday) {
            (CycleAnchor::Fixed(day), _) => day,
            (CycleAnchor::Birthday, Some(b)) => MonthDay {
                month: b.month(),
                day: b.day(),
            },
            (CycleAnchor::Issue | CycleAnchor::Birthday, _) => return expires_on,
        };
        day.on_or_before(expires_on).unwrap_or(expires_on)
    }

    /// Categories counted only by an alternative (work hours), never as CE.
    pub fn is_work_category(&self, category: &str) -> bool {
        self.alternatives
            .iter()
            .any(|a| a.work_category == category)
    }

    /// The last day on which the next dues of `credential` are due, on or after `today`:
    /// the end of the due month, every `every_months` from the certification anniversary.
    ///
    /// The anniversary is the earliest issue date known (the first cycle's, else the current
    /// cycle's), else the expiry date; the first dues fall one period after it. `None` when
    /// the program has no dues or the date is out of range.
    pub fn next_dues_on(&self, credential: &Credential, today: Date) -> Option<Date> {
        let dues = self.dues?;
        let every = i64::from(dues.every_months.clamp(1, 1200));
        let issued = credential
            .history
            .first()
            .and_then(|c| c.issued_on)
            .or(credential.issued_on);
        let anniversary = dues_anniversary(credential);
        let due_month = anniversary
            .first_of_month()
            .checked_add(i64::from(dues.month_offset.clamp(-1200, 1200)).months())
            .ok()?;
        let due_in = |k: i64| -> Option<Date> {
            Some(
                due_month
                    .checked_add(k.checked_mul(every)?.months())
                    .ok()?
                    .last_of_month(),
            )
        };
        // Whole periods from the due month to today's month, less one to be safe, then forward.
        let months_to_today = (i64::from(today.year()) - i64::from(due_month.year())) * 12
            + i64::from(today.month())
            - i64::from(due_month.month());
        let first = if issued.is_some() { 1 } else { i64::MIN };
        let mut k = (months_to_today.div_euclid(every) - 1).max(first);
        loop {
            let due = due_in(k)?;
            if due >= today {
                return Some(due);
            }
            k += 1;
        }
    }
}

/// The certification anniversary that dues count from (see [`Program::next_dues_on`]): the
/// earliest issue date known, else the expiry date. It depends on the credential alone.
pub fn dues_anniversary(credential: &Credential) -> Date {
    credential
        .history
        .first()
        .and_then(|c| c.issued_on)
        .or(credential.issued_on)
        .unwrap_or(credential.expires_on)
}

/// A date's month as one number (months since January of year 0), so months subtract.
pub fn month_number(date: Date) -> i32 {
    i32::from(date.year()) * 12 + i32::from(date.month()) - 1
}

/// The month number ([`month_number`]) of a credential's dues anniversary: what the dues
/// index keys a credential by, whatever its program's dues are.
pub fn dues_month(credential: &Credential) -> i32 {
    month_number(dues_anniversary(credential))
}

impl Dues {
    /// The anniversary months ([`dues_month`]) whose dues can fall due on a day in
    /// `[from, to]`, as residues modulo `every_months` (clamped as [`Program::next_dues_on`]
    /// clamps it): dues fall on the last day of the month `anniversary + month_offset +
    /// k * every_months`, so an anniversary month `n` has dues in month `m` exactly when
    /// `n = m - month_offset (mod every_months)`.
    pub fn anniversary_residues(&self, from: Date, to: Date) -> BTreeSet<i32> {
        let every = i32::try_from(self.every_months.clamp(1, 1200)).unwrap_or(1);
        let offset = self.month_offset.clamp(-1200, 1200);
        let mut out = BTreeSet::new();
        let (first, last) = (month_number(from), month_number(to));
        // Dues are due on the last day of their month: a month counts when its last day is
        // in the span (always for the months between; for `from`'s if `to` reaches it, for
        // `to`'s if `to` is that day).
        let first = if from.last_of_month() <= to {
            first
        } else {
            first + 1
        };
        let last = if to.last_of_month() == to {
            last
        } else {
            last - 1
        };
        let mut m = first;
        while m <= last && out.len() < every as usize {
            out.insert((m - offset).rem_euclid(every));
            m += 1;
        }
        out
    }

    /// The months between `min` and `max` (anniversary month numbers) in one of `residues`
    /// modulo `every_months`, ascending.
    pub fn anniversary_months(&self, residues: &BTreeSet<i32>, min: i32, max: i32) -> Vec<i32> {
        let every = i32::try_from(self.every_months.clamp(1, 1200)).unwrap_or(1);
        (min..=max)
            .filter(|n| residues.contains(&n.rem_euclid(every)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compliance::tests::program;
    use crate::domain::records::PastCycle;
    use jiff::civil::date;

    /// AMT: $50 a year, due in the anniversary month.
    fn amt() -> Program {
        let mut p = program("amt-rpt", 24, 36);
        p.dues = Some(Dues {
            amount_cents: 5000,
            every_months: 12,
            month_offset: 0,
        });
        p
    }

    fn credential(issued_on: Option<Date>, expires_on: Date) -> Credential {
        Credential {
            id: 1,
            holder_id: 7,
            program: "amt-rpt".into(),
            number: String::new(),
            issued_on,
            expires_on,
            history: vec![],
            verifications: Vec::new(),
        }
    }

    #[test]
    fn amt_dues_fall_due_by_the_end_of_each_anniversary_month() {
        let p = amt();
        let c = credential(Some(date(2024, 3, 15)), date(2027, 3, 15));
        let next = |today| p.next_dues_on(&c, today);
        // The first dues come a year after certification.
        assert_eq!(next(date(2024, 3, 20)), Some(date(2025, 3, 31)));
        assert_eq!(next(date(2025, 2, 10)), Some(date(2025, 3, 31)));
        assert_eq!(next(date(2025, 3, 31)), Some(date(2025, 3, 31)));
        assert_eq!(next(date(2025, 4, 1)), Some(date(2026, 3, 31)));
        assert_eq!(next(date(2030, 12, 1)), Some(date(2031, 3, 31)));

        // After a renewal the anniversary is still the first certification's.
        let mut renewed = credential(Some(date(2027, 3, 15)), date(2030, 3, 15));
        renewed.history.push(PastCycle {
            issued_on: Some(date(2024, 3, 15)),
            expires_on: date(2027, 3, 15),
            renewed_on: date(2027, 3, 1),
            outcome: None,
        });
        assert_eq!(
            p.next_dues_on(&renewed, date(2027, 3, 20)),
            Some(date(2027, 3, 31))
        );

        // No issue date known: the expiry's month.
        let undated = credential(None, date(2027, 3, 15));
        assert_eq!(
            p.next_dues_on(&undated, date(2025, 6, 1)),
            Some(date(2026, 3, 31))
        );
        assert_eq!(
            p.next_dues_on(&undated, date(2020, 1, 1)),
            Some(date(2020, 3, 31))
        );
    }

    #[test]
    fn dues_can_fall_due_before_the_anniversary_month_or_less_often() {
        let mut p = amt();
        let c = credential(Some(date(2024, 3, 15)), date(2027, 3, 15));
        p.dues = Some(Dues {
            amount_cents: 5000,
            every_months: 12,
            month_offset: -1,
        });
        assert_eq!(
            p.next_dues_on(&c, date(2025, 1, 1)),
            Some(date(2025, 2, 28))
        );
        p.dues = Some(Dues {
            amount_cents: 9000,
            every_months: 24,
            month_offset: 0,
        });
        assert_eq!(
            p.next_dues_on(&c, date(2025, 1, 1)),
            Some(date(2026, 3, 31))
        );
        assert_eq!(
            p.next_dues_on(&c, date(2026, 4, 1)),
            Some(date(2028, 3, 31))
        );
        p.dues = None;
        assert_eq!(p.next_dues_on(&c, date(2025, 1, 1)), None);
    }

    #[test]
    fn a_program_is_uncertain_if_any_rule_is() {
        let mut p = program("p", 10, 24);
        assert_eq!(p.confidence(), Confidence::Confirmed);
        assert_eq!(p.caution(), None);
        p.uncertain = vec![RuleField::UnitHours];
        assert_eq!(p.confidence(), Confidence::Uncertain);
        assert_eq!(p.caution(), Some("verify with Body".into()));
        assert_eq!(p.confidence_of(RuleField::UnitHours), Confidence::Uncertain);
        assert_eq!(p.confidence_of(RuleField::Required), Confidence::Confirmed);
        // "Uncertain, not saying which" leaves no rule confirmed.
        p.uncertain = vec![RuleField::Unspecified];
        assert_eq!(p.confidence_of(RuleField::Required), Confidence::Uncertain);
        assert!(!p.requirement_unknown());
    }

    #[test]
    fn rule_field_names_round_trip() {
        for field in RuleField::ALL {
            assert_eq!(RuleField::parse(field.name()), Some(field));
            let json = serde_json::to_string(&field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.name()));
        }
        assert_eq!(RuleField::parse("grace"), None);
    }

    #[test]
    fn cycle_anchors_as_text() {
        for anchor in [
            CycleAnchor::Issue,
            CycleAnchor::Birthday,
            CycleAnchor::Fixed(MonthDay { month: 11, day: 30 }),
            CycleAnchor::Fixed(MonthDay { month: 2, day: 29 }),
        ] {
            assert_eq!(CycleAnchor::parse(&anchor.text()), Some(anchor));
        }
        assert_eq!(
            CycleAnchor::parse(" 06-30 "),
            Some(CycleAnchor::Fixed(MonthDay { month: 6, day: 30 }))
        );
        for bad in [
            "6-30",
            "06/30",
            "04-31",
            "13-01",
            "+1-01",
            "Birthday",
            "06-30-2027",
        ] {
            assert_eq!(CycleAnchor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_days() {
        assert!(MonthDay { month: 2, day: 29 }.is_valid());
        assert!(!MonthDay { month: 4, day: 31 }.is_valid());
        assert!(!MonthDay { month: 13, day: 1 }.is_valid());
        assert!(!MonthDay { month: 1, day: 0 }.is_valid());
        let nov30 = MonthDay { month: 11, day: 30 };
        assert_eq!(
            nov30.on_or_before(date(2027, 12, 31)),
            Some(date(2027, 11, 30))
        );
        assert_eq!(
            nov30.on_or_before(date(2027, 1, 5)),
            Some(date(2026, 11, 30))
        );
    }
}
