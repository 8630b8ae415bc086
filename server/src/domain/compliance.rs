//! Where a credential stands on a given day: credits earned after caps, what is still
//! missing, and a status.

use super::credits::Credits;
use super::program::{CapLimit, CapScope, Program};
use super::records::{Course, Credential};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;

/// Days before expiry within which any shortfall makes a credential at risk.
const AT_RISK_DAYS: i64 = 30;

/// A credential's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every requirement of the cycle is met.
    Met,
    /// Not met yet, but on pace.
    OnTrack,
    /// Behind pace, or within 30 days of expiry with credits missing.
    AtRisk,
    /// Past expiry, inside the grace period.
    InGrace,
    /// Past expiry and grace.
    Expired,
}

impl Status {
    /// The name used in output: `met`, `on_track`, `at_risk`, `in_grace`, `expired`.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::InGrace => "in_grace",
            Status::Expired => "expired",
        }
    }
}

/// Progress in one category that has a minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryProgress {
    /// Category name.
    pub category: String,
    /// Minimum, in the program's unit.
    pub required: Credits,
    /// Counted so far (after caps), in the program's unit.
    pub earned: Credits,
}

/// Where one credential stands on `as_of`. Amounts are in the program's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compliance {
    /// The credential.
    pub credential_id: u64,
    /// The program's slug.
    pub program: String,
    /// First day of the CE window (inclusive).
    pub window_start: Date,
    /// Last day of the CE window and of the cycle (inclusive).
    pub expires_on: Date,
    /// Required per cycle.
    pub required: Credits,
    /// Counted, after caps.
    pub earned: Credits,
    /// Still needed: the larger of the total shortfall and the sum of category shortfalls.
    pub remaining: Credits,
    /// Per-category progress, in the program's order.
    pub categories: Vec<CategoryProgress>,
    /// Days from `as_of` to `expires_on`; negative once expired.
    pub days_left: i64,
    /// The status.
    pub status: Status,
    /// The day this was computed for.
    pub as_of: Date,
    /// Courses counted toward this credential (even partly), in counting order.
    pub counted_course_ids: Vec<u64>,
}

/// First day of the CE window that ends on `expires_on`.
pub fn window_start(program: &Program, expires_on: Date) -> Date {
    let months = i64::from(program.ce_window_months.min(1200));
    expires_on
        .checked_sub(months.months())
        .unwrap_or(Date::MIN)
}

/// Whether `course` may count toward `credential` at all (window, accreditation, pinning).
fn eligible(course: &Course, credential: &Credential, program: &Program) -> bool {
    let start = window_start(program, credential.expires_on);
    let pinned_ok = course.credential_ids.is_empty() || course.credential_ids.contains(&credential.id);
    pinned_ok
        && course.holder_id == credential.holder_id
        && course.completed_on >= start
        && course.completed_on <= credential.expires_on
        && (course.accreditation.is_empty() || program.accepts_accreditation(&course.accreditation))
}

/// Compliance of every credential of one holder, on `today`.
///
/// A course counts toward every credential whose window contains it, unless it is pinned to
/// some credentials, and except that a program that does not share courses only counts an
/// unpinned course that no other credential could count.
pub fn compliance_all(
    credentials: &[(Credential, Program)],
    courses: &[Course],
    today: Date,
) -> Vec<Compliance> {
    let candidates: Vec<Vec<usize>> = courses
        .iter()
        .map(|course| {
            credentials
                .iter()
                .enumerate()
                .filter(|(_, (cred, prog))| eligible(course, cred, prog))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    credentials
        .iter()
        .enumerate()
        .map(|(i, (credential, program))| {
            let counted: Vec<&Course> = courses
                .iter()
                .zip(&candidates)
                .filter(|(course, cands)| {
                    cands.contains(&i)
                        && (program.shares_courses
                            || !course.credential_ids.is_empty()
                            || cands.len() == 1)
                })
                .map(|(course, _)| course)
                .collect();
            evaluate(program, credential, &counted, today)
        })
        .collect()
}

/// Compliance of one credential on `today`, given the holder's other credentials (which
/// matter only for programs that do not share courses).
pub fn compliance(
    program: &Program,
    credential: &Credential,
    others: &[(Credential, Program)],
    courses: &[Course],
    today: Date,
) -> Compliance {
    let mut all: Vec<(Credential, Program)> = vec![(credential.clone(), program.clone())];
    all.extend(others.iter().filter(|(c, _)| c.id != credential.id).cloned());
    compliance_all(&all, courses, today).swap_remove(0)
}

/// Applies caps and minimums to the courses already known to be countable.
fn evaluate(program: &Program, credential: &Credential, courses: &[&Course], today: Date) -> Compliance {
    let start = window_start(program, credential.expires_on);
    let required_h = program.to_hours(program.required);

    let mut ordered: Vec<&Course> = courses.to_vec();
    ordered.sort_by(|a, b| (a.completed_on, a.id).cmp(&(b.completed_on, b.id)));

    let mut cap_room: Vec<Credits> = program
        .caps
        .iter()
        .map(|cap| match cap.limit {
            CapLimit::Percent(p) => required_h.percent(p),
            CapLimit::Amount(a) => program.to_hours(a),
        })
        .collect();
    let mut earned_h = Credits::ZERO;
    let mut per_category_h: Vec<Credits> = vec![Credits::ZERO; program.category_minimums.len()];
    let mut counted_ids = Vec::new();
    for course in ordered {
        let matching: Vec<usize> = program
            .caps
            .iter()
            .enumerate()
            .filter(|(_, cap)| match &cap.scope {
                CapScope::Category(c) => course.has_category(c),
                CapScope::Format(f) => course.format == Some(*f),
            })
            .map(|(i, _)| i)
            .collect();
        let counted = matching
            .iter()
            .fold(course.hours(), |h, &i| h.min(cap_room[i]));
        for &i in &matching {
            cap_room[i] = cap_room[i].saturating_sub(counted);
        }
        if counted > Credits::ZERO {
            counted_ids.push(course.id);
        }
        earned_h += counted;
        for (slot, min) in per_category_h.iter_mut().zip(&program.category_minimums) {
            if course.has_category(&min.category) {
                *slot += counted;
            }
        }
    }

    let categories: Vec<CategoryProgress> = program
        .category_minimums
        .iter()
        .zip(&per_category_h)
        .map(|(min, &h)| CategoryProgress {
            category: min.category.clone(),
            required: min.minimum,
            earned: program.from_hours(h),
        })
        .collect();
    let category_short_h: Credits = program
        .category_minimums
        .iter()
        .zip(&per_category_h)
        .map(|(min, &h)| program.to_hours(min.minimum).saturating_sub(h))
        .sum();
    let remaining_h = required_h.saturating_sub(earned_h).max(category_short_h);

    let days_left = i64::from(today.until(credential.expires_on).map(|s| s.get_days()).unwrap_or(0));
    let status = if days_left < 0 {
        if -days_left <= i64::from(program.grace_days) {
            Status::InGrace
        } else {
            Status::Expired
        }
    } else if remaining_h == Credits::ZERO {
        Status::Met
    } else if days_left <= AT_RISK_DAYS || behind_pace(start, credential.expires_on, today, required_h, earned_h) {
        Status::AtRisk
    } else {
        Status::OnTrack
    };

    Compliance {
        credential_id: credential.id,
        program: program.slug.clone(),
        window_start: start,
        expires_on: credential.expires_on,
        required: program.required,
        earned: program.from_hours(earned_h),
        remaining: program.from_hours(remaining_h),
        categories,
        days_left,
        status,
        as_of: today,
        counted_course_ids: counted_ids,
    }
}

/// Behind pace: earned is more than a quarter of the requirement short of a steady pace
/// (required x elapsed share of the window).
fn behind_pace(start: Date, end: Date, today: Date, required: Credits, earned: Credits) -> bool {
    let total = i64::from(start.until(end).map(|s| s.get_days()).unwrap_or(0)).max(1);
    let elapsed = i64::from(start.until(today).map(|s| s.get_days()).unwrap_or(0)).clamp(0, total);
    // earned + required/4 < required * elapsed / total, in integers.
    (i128::from(earned.0) * 4 + i128::from(required.0)) * i128::from(total)
        < i128::from(required.0) * 4 * i128::from(elapsed)
}
