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
    expires_on.checked_sub(months.months()).unwrap_or(Date::MIN)
}

/// Whether `course` may count toward `credential` at all (window, accreditation, pinning).
fn eligible(course: &Course, credential: &Credential, program: &Program) -> bool {
    let start = window_start(program, credential.expires_on);
    let pinned_ok =
        course.credential_ids.is_empty() || course.credential_ids.contains(&credential.id);
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
    all.extend(
        others
            .iter()
            .filter(|(c, _)| c.id != credential.id)
            .cloned(),
    );
    compliance_all(&all, courses, today).swap_remove(0)
}

/// Applies caps and minimums to the courses already known to be countable.
fn evaluate(
    program: &Program,
    credential: &Credential,
    courses: &[&Course],
    today: Date,
) -> Compliance {
    let start = window_start(program, credential.expires_on);
    let required_h = program.to_hours(program.required);

    let mut ordered: Vec<&Course> = courses.to_vec();
    ordered.sort_by_key(|c| (c.completed_on, c.id));

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
    // Shortfalls are taken in the program's unit, from the amounts shown. Converting a
    // requirement to hours would round it down (1.01 units of 1.5 hours is 1.515 hours, yet
    // 1.51 hours is not enough); and `required - earned`, with earned rounded down, rounds a
    // shortfall up, so a credential that is not met never shows 0 remaining.
    let earned = program.from_hours(earned_h);
    let category_short: Credits = categories
        .iter()
        .map(|c| c.required.saturating_sub(c.earned))
        .sum();
    let remaining = program.required.saturating_sub(earned).max(category_short);

    let days_left = i64::from(
        today
            .until(credential.expires_on)
            .map(|s| s.get_days())
            .unwrap_or(0),
    );
    let status = if days_left < 0 {
        if -days_left <= i64::from(program.grace_days) {
            Status::InGrace
        } else {
            Status::Expired
        }
    } else if remaining == Credits::ZERO {
        Status::Met
    } else if days_left <= AT_RISK_DAYS
        || behind_pace(start, credential.expires_on, today, required_h, earned_h)
    {
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
        earned,
        remaining,
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::credits::Unit;
    use crate::domain::program::{Cap, CategoryMinimum, Confidence};
    use crate::domain::records::Format;
    use jiff::civil::date;

    const HOLDER: u64 = 7;

    /// A program counted in contact hours (`unit_hours` = 1 hour) unless changed.
    pub(in crate::domain) fn program(
        slug: &str,
        required_hours: i64,
        window_months: u32,
    ) -> Program {
        Program {
            slug: slug.into(),
            body: "Body".into(),
            name: format!("Program {slug}"),
            cycle_months: window_months,
            ce_window_months: window_months,
            unit_name: "contact hour".into(),
            unit_hours: Credits(100),
            required: Credits::whole(required_hours),
            category_minimums: vec![],
            caps: vec![],
            grace_days: 0,
            shares_courses: true,
            accepted_accreditations: vec![],
            sources: vec![],
            confidence: Confidence::Confirmed,
            notes: String::new(),
        }
    }

    /// ASCP PBT as in the catalog: 9 points, 1 in safety, academic work at most 50%.
    fn ascp_pbt() -> Program {
        let mut p = program("ascp-pbt", 9, 36);
        p.unit_name = "point".into();
        p.category_minimums = vec![CategoryMinimum {
            category: "safety".into(),
            minimum: Credits::whole(1),
        }];
        p.caps = vec![Cap {
            scope: CapScope::Format(Format::Academic),
            limit: CapLimit::Percent(50),
        }];
        p
    }

    fn credential(id: u64, program: &Program, expires_on: Date) -> Credential {
        Credential {
            id,
            holder_id: HOLDER,
            program: program.slug.clone(),
            number: String::new(),
            issued_on: None,
            expires_on,
            history: vec![],
        }
    }

    /// A course of `hundredths` contact hours.
    fn course(id: u64, completed_on: Date, hundredths: i64) -> Course {
        Course {
            id,
            holder_id: HOLDER,
            title: format!("Course {id}"),
            provider: String::new(),
            accreditation: String::new(),
            completed_on,
            amount: Credits(hundredths),
            unit: Unit::Hours,
            categories: vec![],
            format: None,
            credential_ids: vec![],
            evidence: String::new(),
        }
    }

    fn one(
        program: &Program,
        credential: &Credential,
        courses: &[Course],
        today: Date,
    ) -> Compliance {
        compliance(program, credential, &[], courses, today)
    }

    // --- The CE window -------------------------------------------------------------------

    #[test]
    fn window_is_inclusive_at_both_ends() {
        let p = program("ca-cpt1", 6, 24);
        let c = credential(1, &p, date(2027, 6, 30));
        assert_eq!(window_start(&p, c.expires_on), date(2025, 6, 30));
        let courses = [
            course(1, date(2025, 6, 29), 100), // a day before the window
            course(2, date(2025, 6, 30), 100), // first day of the window
            course(3, date(2027, 6, 30), 100), // the expiry day
            course(4, date(2027, 7, 1), 100),  // a day after expiry
        ];
        let got = one(&p, &c, &courses, date(2027, 7, 1));
        assert_eq!(got.window_start, date(2025, 6, 30));
        assert_eq!(got.counted_course_ids, [2, 3]);
        assert_eq!(got.earned, Credits::whole(2));
        assert_eq!(got.remaining, Credits::whole(4));
    }

    #[test]
    fn window_from_a_leap_day_expiry_clamps_to_february_28() {
        let p24 = program("p24", 6, 24);
        assert_eq!(window_start(&p24, date(2028, 2, 29)), date(2026, 2, 28));
        let p36 = program("p36", 6, 36);
        assert_eq!(window_start(&p36, date(2028, 2, 29)), date(2025, 2, 28));
        let p12 = program("p12", 6, 12);
        assert_eq!(window_start(&p12, date(2028, 2, 29)), date(2027, 2, 28));
        // Counting back from February 28 lands on February 28, never on a leap day.
        assert_eq!(window_start(&p12, date(2025, 2, 28)), date(2024, 2, 28));
        assert_eq!(window_start(&p12, date(2026, 2, 28)), date(2025, 2, 28));
        // Month ends clamp too.
        let p1 = program("p1", 1, 1);
        assert_eq!(window_start(&p1, date(2027, 3, 31)), date(2027, 2, 28));

        let c = credential(1, &p24, date(2028, 2, 29));
        let courses = [
            course(1, date(2026, 2, 27), 100),
            course(2, date(2026, 2, 28), 100),
            course(3, date(2028, 2, 29), 100),
        ];
        let got = one(&p24, &c, &courses, date(2028, 2, 29));
        assert_eq!(got.counted_course_ids, [2, 3]);
        assert_eq!(got.days_left, 0);
    }

    #[test]
    fn leap_day_course_in_a_twelve_month_window() {
        let p = program("p12", 6, 12);
        let c = credential(1, &p, date(2025, 2, 28));
        let courses = [
            course(1, date(2024, 2, 27), 100),
            course(2, date(2024, 2, 28), 100),
            course(3, date(2024, 2, 29), 100),
        ];
        let got = one(&p, &c, &courses, date(2025, 1, 1));
        assert_eq!(got.window_start, date(2024, 2, 28));
        assert_eq!(got.counted_course_ids, [2, 3]);
    }

    #[test]
    fn other_holders_courses_never_count() {
        let p = program("p", 6, 24);
        let c = credential(1, &p, date(2027, 1, 1));
        let mut theirs = course(1, date(2026, 1, 1), 600);
        theirs.holder_id = HOLDER + 1;
        let got = one(&p, &c, &[theirs], date(2026, 6, 1));
        assert_eq!(got.earned, Credits::ZERO);
        assert!(got.counted_course_ids.is_empty());
    }

    #[test]
    fn accreditation_filter_is_case_insensitive_and_allows_unknown() {
        let mut p = program("p", 6, 24);
        p.accepted_accreditations = vec!["P.A.C.E.".into()];
        let c = credential(1, &p, date(2027, 1, 1));
        let mut pace = course(1, date(2026, 1, 1), 100);
        pace.accreditation = " p.a.c.e. ".into();
        let mut accme = course(2, date(2026, 1, 1), 100);
        accme.accreditation = "ACCME".into();
        let unknown = course(3, date(2026, 1, 1), 100);
        let got = one(&p, &c, &[pace, accme, unknown], date(2026, 6, 1));
        assert_eq!(got.counted_course_ids, [1, 3]);
        assert_eq!(got.earned, Credits::whole(2));
    }

    // --- Caps and minimums ---------------------------------------------------------------

    #[test]
    fn academic_cap_counts_half_of_nine_points() {
        let p = ascp_pbt();
        let c = credential(1, &p, date(2027, 12, 31));
        let mut academic = course(1, date(2025, 3, 1), 600);
        academic.unit = Unit::Point;
        academic.format = Some(Format::Academic);
        let mut live = course(2, date(2025, 4, 1), 100);
        live.unit = Unit::Point;
        live.format = Some(Format::Live);
        let got = one(&p, &c, &[academic, live], date(2025, 6, 1));
        assert_eq!(got.earned, Credits(550));
        assert_eq!(got.earned.to_string(), "5.5");
        // Total shortfall 3.5 beats the safety shortfall of 1.
        assert_eq!(got.remaining, Credits(350));
        assert_eq!(got.counted_course_ids, [1, 2]);
    }

    #[test]
    fn exhausted_cap_counts_nothing_more() {
        let p = ascp_pbt();
        let c = credential(1, &p, date(2027, 12, 31));
        let mut first = course(1, date(2025, 3, 1), 450);
        first.format = Some(Format::Academic);
        let mut second = course(2, date(2025, 4, 1), 300);
        second.format = Some(Format::Academic);
        let got = one(&p, &c, &[first, second], date(2025, 6, 1));
        assert_eq!(got.earned, Credits(450));
        assert_eq!(got.counted_course_ids, [1]);
    }

    #[test]
    fn semester_hour_is_fifteen_points_before_the_cap() {
        let mut p = ascp_pbt();
        p.caps.clear();
        let c = credential(1, &p, date(2027, 12, 31));
        let mut semester = course(1, date(2025, 3, 1), 100);
        semester.unit = Unit::SemesterHour;
        let got = one(&p, &c, &[semester.clone()], date(2025, 6, 1));
        assert_eq!(got.earned, Credits::whole(15));

        let capped = one(&ascp_pbt(), &c, &[semester], date(2025, 6, 1));
        assert_eq!(
            capped.earned,
            Credits::whole(15),
            "the cap is on format, not unit"
        );
    }

    #[test]
    fn category_amount_cap_and_overlapping_caps() {
        let mut p = program("p", 10, 24);
        p.caps = vec![
            Cap {
                scope: CapScope::Category("in-service".into()),
                limit: CapLimit::Amount(Credits::whole(2)),
            },
            Cap {
                scope: CapScope::Format(Format::Online),
                limit: CapLimit::Percent(30),
            },
        ];
        let c = credential(1, &p, date(2027, 1, 1));
        let mut a = course(1, date(2025, 2, 1), 150);
        a.categories = vec!["in-service".into()];
        let mut b = course(2, date(2025, 3, 1), 150);
        b.categories = vec!["in-service".into()];
        b.format = Some(Format::Online);
        let mut o = course(3, date(2025, 4, 1), 400);
        o.format = Some(Format::Online);
        // a: 1.5 (in-service room 2 -> 0.5); b: min(1.5, 0.5, 3) = 0.5 (online room 3 -> 2.5);
        // o: min(4, 2.5) = 2.5.
        let got = one(&p, &c, &[a, b, o], date(2025, 6, 1));
        assert_eq!(got.earned, Credits(150 + 50 + 250));
        assert_eq!(got.counted_course_ids, [1, 2, 3]);
    }

    #[test]
    fn huge_amount_cap_neither_overflows_nor_goes_negative() {
        // Program validation bounds a cap amount only from below.
        let mut p = program("p", 10, 24);
        p.unit_hours = Credits(200);
        p.caps = vec![Cap {
            scope: CapScope::Format(Format::Online),
            limit: CapLimit::Amount(Credits(i64::MAX)),
        }];
        let c = credential(1, &p, date(2027, 1, 1));
        let mut online = course(1, date(2025, 3, 1), 300);
        online.format = Some(Format::Online);
        let got = one(&p, &c, &[online], date(2025, 6, 1));
        assert_eq!(got.earned, Credits(150));
    }

    #[test]
    fn unmet_category_minimum_blocks_met() {
        let p = ascp_pbt();
        let c = credential(1, &p, date(2027, 12, 31));
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 1000)],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits::whole(10));
        assert_eq!(got.remaining, Credits::whole(1));
        assert_eq!(
            got.categories,
            [CategoryProgress {
                category: "safety".into(),
                required: Credits::whole(1),
                earned: Credits::ZERO,
            }]
        );
        assert_eq!(got.status, Status::OnTrack);

        let mut safety = course(2, date(2025, 4, 1), 100);
        safety.categories = vec!["safety".into()];
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 800), safety],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits::whole(9));
        assert_eq!(got.categories[0].earned, Credits::whole(1));
        assert_eq!(got.remaining, Credits::ZERO);
        assert_eq!(got.status, Status::Met);
    }

    #[test]
    fn category_shortfalls_add_up() {
        let mut p = program("p", 10, 24);
        p.category_minimums = vec![
            CategoryMinimum {
                category: "safety".into(),
                minimum: Credits::whole(2),
            },
            CategoryMinimum {
                category: "ethics".into(),
                minimum: Credits::whole(1),
            },
        ];
        let c = credential(1, &p, date(2027, 1, 1));
        let mut safety = course(2, date(2025, 4, 1), 50);
        safety.categories = vec!["safety".into()];
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 950), safety],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits::whole(10));
        // 1.5 short in safety plus 1 in ethics.
        assert_eq!(got.remaining, Credits(250));
        assert_eq!(got.categories[0].earned, Credits(50));
        assert_eq!(got.categories[1].earned, Credits::ZERO);
    }

    #[test]
    fn amounts_are_in_the_programs_unit() {
        // NHA: 10 credits of 2 hours; 3 hours is 1.5 credits.
        let mut p = program("nha-cpt", 0, 24);
        p.unit_hours = Credits(200);
        p.required = Credits::whole(10);
        let c = credential(1, &p, date(2027, 1, 1));
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 300)],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits(150));
        assert_eq!(got.remaining, Credits(850));
        assert_eq!(got.required, Credits::whole(10));

        // A CEU is 10 contact hours, so 5 NHA credits.
        let mut ceu = course(2, date(2025, 3, 1), 100);
        ceu.unit = Unit::Ceu;
        let got = one(&p, &c, &[ceu], date(2025, 6, 1));
        assert_eq!(got.earned, Credits::whole(5));
    }

    #[test]
    fn remaining_rounds_up_so_a_shortfall_never_shows_as_zero() {
        let mut p = program("nha-cpt", 0, 24);
        p.unit_hours = Credits(200);
        p.required = Credits::whole(10);
        let c = credential(1, &p, date(2027, 1, 1));
        // 19.99 hours: 9.995 credits, shown as 9.99 earned and 0.01 remaining.
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 1999)],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits(999));
        assert_eq!(got.remaining, Credits(1));
        assert_ne!(got.status, Status::Met);
    }

    #[test]
    fn remaining_is_zero_exactly_when_met() {
        let mut p = program("nha-cpt", 0, 24);
        p.unit_hours = Credits(200);
        p.required = Credits::whole(10);
        let c = credential(1, &p, date(2027, 1, 1));
        for h in 1990..=2010 {
            let got = one(&p, &c, &[course(1, date(2025, 3, 1), h)], date(2025, 6, 1));
            assert_eq!(
                got.remaining == Credits::ZERO,
                got.status == Status::Met,
                "{h}"
            );
            assert_eq!(got.remaining == Credits::ZERO, h >= 2000, "{h}");
        }
        // A unit of 3 hours: 1 hour short is 0.34 units (0.33 would be 0.99 hours).
        p.unit_hours = Credits(300);
        p.required = Credits::whole(2);
        let got = one(
            &p,
            &c,
            &[course(1, date(2025, 3, 1), 500)],
            date(2025, 6, 1),
        );
        assert_eq!(got.earned, Credits(166));
        assert_eq!(got.remaining, Credits(34));
    }

    // --- Several credentials -------------------------------------------------------------

    #[test]
    fn one_course_serves_two_sharing_credentials() {
        let nha = program("nha-cpt", 20, 24);
        let ca = program("ca-cpt1", 6, 24);
        let creds = [
            (credential(1, &nha, date(2027, 1, 1)), nha.clone()),
            (credential(2, &ca, date(2027, 3, 1)), ca.clone()),
        ];
        let all = compliance_all(
            &creds,
            &[course(10, date(2026, 1, 1), 600)],
            date(2026, 2, 1),
        );
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].counted_course_ids, [10]);
        assert_eq!(all[1].counted_course_ids, [10]);
        assert_eq!(all[0].earned, Credits::whole(6));
        assert_eq!(all[1].earned, Credits::whole(6));
        assert_eq!(all[1].status, Status::Met);
    }

    #[test]
    fn non_sharing_program_counts_only_courses_no_other_credential_could() {
        let sharing = program("share", 10, 12);
        let mut exclusive = program("excl", 10, 24);
        exclusive.shares_courses = false;
        let creds = [
            (credential(1, &sharing, date(2027, 1, 1)), sharing.clone()),
            (
                credential(2, &exclusive, date(2027, 1, 1)),
                exclusive.clone(),
            ),
        ];
        let both = course(10, date(2026, 6, 1), 100); // in both windows
        let only_excl = course(11, date(2025, 6, 1), 100); // before the 12-month window
        let mut pinned = course(12, date(2026, 7, 1), 100);
        pinned.credential_ids = vec![2];
        let mut pinned_both = course(13, date(2026, 8, 1), 100);
        pinned_both.credential_ids = vec![1, 2];
        let all = compliance_all(
            &creds,
            &[both, only_excl, pinned, pinned_both],
            date(2026, 9, 1),
        );
        assert_eq!(all[0].counted_course_ids, [10, 13]);
        assert_eq!(all[1].counted_course_ids, [11, 12, 13]);
    }

    #[test]
    fn two_non_sharing_programs_count_a_contested_course_nowhere() {
        let mut a = program("a", 10, 24);
        a.shares_courses = false;
        let mut b = program("b", 10, 24);
        b.slug = "b".into();
        b.shares_courses = false;
        let creds = [
            (credential(1, &a, date(2027, 1, 1)), a.clone()),
            (credential(2, &b, date(2027, 1, 1)), b.clone()),
        ];
        let all = compliance_all(
            &creds,
            &[course(10, date(2026, 1, 1), 100)],
            date(2026, 2, 1),
        );
        assert!(all[0].counted_course_ids.is_empty());
        assert!(all[1].counted_course_ids.is_empty());
    }

    #[test]
    fn pinning_excludes_other_credentials() {
        let a = program("a", 10, 24);
        let b = program("b", 10, 24);
        let creds = [
            (credential(1, &a, date(2027, 1, 1)), a.clone()),
            (credential(2, &b, date(2027, 1, 1)), b.clone()),
        ];
        let mut pinned = course(10, date(2026, 1, 1), 300);
        pinned.credential_ids = vec![1];
        let all = compliance_all(&creds, &[pinned.clone()], date(2026, 2, 1));
        assert_eq!(all[0].earned, Credits::whole(3));
        assert_eq!(all[1].earned, Credits::ZERO);
        assert!(all[1].counted_course_ids.is_empty());

        // Pinned to a credential that does not exist: counts nowhere.
        pinned.credential_ids = vec![99];
        let all = compliance_all(&creds, &[pinned], date(2026, 2, 1));
        assert!(all.iter().all(|c| c.earned == Credits::ZERO));
    }

    #[test]
    fn single_compliance_matches_compliance_all() {
        let mut a = program("a", 10, 24);
        a.shares_courses = false;
        let b = program("b", 10, 24);
        let creds = vec![
            (credential(1, &a, date(2027, 1, 1)), a.clone()),
            (credential(2, &b, date(2027, 1, 1)), b.clone()),
        ];
        let courses = [
            course(10, date(2026, 1, 1), 100),
            course(11, date(2026, 2, 1), 200),
        ];
        let today = date(2026, 3, 1);
        let all = compliance_all(&creds, &courses, today);
        // `others` may include the credential itself; it is not counted twice.
        assert_eq!(compliance(&a, &creds[0].0, &creds, &courses, today), all[0]);
        assert_eq!(
            compliance(&b, &creds[1].0, &creds[..1], &courses, today),
            all[1]
        );
        // Alone, the non-sharing credential counts everything.
        assert_eq!(
            one(&a, &creds[0].0, &courses, today).earned,
            Credits::whole(3)
        );
        assert_eq!(all[0].earned, Credits::ZERO);
    }

    // --- Status --------------------------------------------------------------------------

    /// 10 hours in a 24-month window from 2025-01-01 to 2027-01-01 (730 days).
    fn paced() -> (Program, Credential) {
        let p = program("p", 10, 24);
        let c = credential(1, &p, date(2027, 1, 1));
        (p, c)
    }

    fn status(hundredths: i64, today: Date) -> (Status, i64) {
        let (p, c) = paced();
        let courses: Vec<Course> = if hundredths > 0 {
            vec![course(1, date(2025, 1, 1), hundredths)]
        } else {
            vec![]
        };
        let got = one(&p, &c, &courses, today);
        (got.status, got.days_left)
    }

    #[test]
    fn pace_rule_boundary() {
        // Halfway (365 of 730 days) a steady pace is 5 hours; a quarter of 10 short is 2.5.
        assert_eq!(status(250, date(2026, 1, 1)), (Status::OnTrack, 365));
        assert_eq!(status(249, date(2026, 1, 1)), (Status::AtRisk, 365));
        // With nothing earned, behind once more than a quarter of the window has passed.
        assert_eq!(status(0, date(2025, 1, 1)), (Status::OnTrack, 730));
        assert_eq!(status(0, date(2025, 7, 2)), (Status::OnTrack, 548)); // day 182
        assert_eq!(status(0, date(2025, 7, 3)), (Status::AtRisk, 547)); // day 183
    }

    #[test]
    fn thirty_day_rule_boundary() {
        // 9.99 hours is on pace, yet within 30 days any shortfall is a risk.
        assert_eq!(status(999, date(2026, 12, 1)), (Status::OnTrack, 31));
        assert_eq!(status(999, date(2026, 12, 2)), (Status::AtRisk, 30));
        assert_eq!(status(1000, date(2026, 12, 2)), (Status::Met, 30));
    }

    #[test]
    fn expiry_day_is_not_expired() {
        assert_eq!(status(999, date(2027, 1, 1)), (Status::AtRisk, 0));
        assert_eq!(status(1000, date(2027, 1, 1)), (Status::Met, 0));
        assert_eq!(status(1000, date(2027, 1, 2)), (Status::Expired, -1));
        assert_eq!(status(0, date(2027, 1, 2)), (Status::Expired, -1));
    }

    #[test]
    fn met_early_stays_met() {
        assert_eq!(status(1000, date(2025, 1, 1)), (Status::Met, 730));
        assert_eq!(status(5000, date(2025, 6, 1)).0, Status::Met);
    }

    #[test]
    fn grace_period_boundary() {
        let (mut p, c) = paced();
        p.grace_days = 30;
        let at = |today| {
            let got = one(&p, &c, &[], today);
            (got.status, got.days_left)
        };
        assert_eq!(at(date(2027, 1, 2)), (Status::InGrace, -1));
        assert_eq!(at(date(2027, 1, 31)), (Status::InGrace, -30));
        assert_eq!(at(date(2027, 2, 1)), (Status::Expired, -31));
    }

    #[test]
    fn today_before_the_window_is_on_track() {
        // A 12-month window inside a longer cycle: nothing is due yet.
        let p = program("p", 6, 12);
        let c = credential(1, &p, date(2027, 1, 1));
        let got = one(&p, &c, &[], date(2025, 6, 1));
        assert_eq!(got.window_start, date(2026, 1, 1));
        assert_eq!(got.status, Status::OnTrack);
        assert_eq!(got.remaining, Credits::whole(6));
    }

    #[test]
    fn status_names() {
        let names: Vec<&str> = [
            Status::Met,
            Status::OnTrack,
            Status::AtRisk,
            Status::InGrace,
            Status::Expired,
        ]
        .iter()
        .map(|s| s.name())
        .collect();
        assert_eq!(names, ["met", "on_track", "at_risk", "in_grace", "expired"]);
    }

    // --- Determinism ---------------------------------------------------------------------

    #[test]
    fn same_input_same_output_in_any_course_order() {
        let p = ascp_pbt();
        let other = program("other", 6, 24);
        let creds = [
            (credential(1, &p, date(2027, 12, 31)), p.clone()),
            (credential(2, &other, date(2027, 6, 30)), other.clone()),
        ];
        let mut courses: Vec<Course> = (1..=12)
            .map(|i| {
                let mut c = course(
                    i,
                    date(2025, 1 + (i as i8 % 12), 1 + (i as i8 * 2)),
                    75 * i as i64,
                );
                c.format = (i % 3 == 0).then_some(Format::Academic);
                if i % 4 == 0 {
                    c.categories = vec!["safety".into()];
                }
                c
            })
            .collect();
        // Two courses on the same day: ties break by id.
        courses.push(course(13, date(2025, 2, 3), 100));
        let today = date(2026, 1, 1);
        let first = compliance_all(&creds, &courses, today);
        assert_eq!(compliance_all(&creds, &courses, today), first);
        courses.reverse();
        assert_eq!(compliance_all(&creds, &courses, today), first);
        courses.rotate_left(5);
        assert_eq!(compliance_all(&creds, &courses, today), first);
        // The academic cap (4.5 points) binds here, so order really matters to the greedy count.
        assert!(first[0].counted_course_ids.len() < 13);
    }
}
