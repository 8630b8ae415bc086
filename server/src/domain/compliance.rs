//! Where a credential stands on a given day: credits earned after caps, limits and minimums,
//! what is still missing, and a status.

use super::credits::Credits;
use super::ids::IdKind;
use super::program::{CapLimit, Program};
use super::records::{Course, Credential};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Days before expiry within which any shortfall makes a credential at risk.
const AT_RISK_DAYS: i64 = 30;

/// A credential's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every requirement of the cycle is met.
    Met,
    /// Not met yet, but on pace (or the requirement is unknown).
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
    /// The status [`Status::name`] names.
    pub fn parse(name: &str) -> Option<Status> {
        [
            Status::Met,
            Status::OnTrack,
            Status::AtRisk,
            Status::InGrace,
            Status::Expired,
        ]
        .into_iter()
        .find(|s| s.name() == name.trim())
    }
}

/// Progress in one category that has a minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryProgress {
    /// Category name.
    pub category: String,
    /// Minimum, in the program's unit.
    pub required: Credits,
    /// Counted so far (after caps), in the program's unit. With exclusive categories, what is
    /// assigned to this category, at most its minimum.
    pub earned: Credits,
}

/// A course counted toward a credential, with the amount it counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedCourse {
    /// The course.
    pub course_id: u64,
    /// The amount it counted after caps, in the program's unit.
    pub amount: Credits,
    /// Whether a cap counted less than the course's full amount.
    pub capped: bool,
}

/// Why a course of the holder does not count toward a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotCountedReason {
    /// Pinned to these other credentials.
    PinnedElsewhere(Vec<u64>),
    /// The program does not accept the course's accreditation (or requires one).
    AccreditationNotAccepted,
    /// Completed outside the cycle's CE window.
    OutsideWindow,
    /// A course of its kind already counted within the program's activity limit.
    ActivityLimit,
    /// It can count toward these other credentials too, and this program does not share
    /// courses: an unpinned course counts toward it only when nothing else can count it.
    NotShared(Vec<u64>),
    /// Work hours, which count only toward an alternative that is not met.
    WorkHours,
    /// Caps left no room for it.
    Capped,
}

impl NotCountedReason {
    /// The short name used in JSON: `pinned_elsewhere`, `accreditation_not_accepted`,
    /// `outside_window`, `activity_limit`, `not_shared`, `work_hours`, `capped`.
    pub const fn name(&self) -> &'static str {
        match self {
            NotCountedReason::PinnedElsewhere(_) => "pinned_elsewhere",
            NotCountedReason::AccreditationNotAccepted => "accreditation_not_accepted",
            NotCountedReason::OutsideWindow => "outside_window",
            NotCountedReason::ActivityLimit => "activity_limit",
            NotCountedReason::NotShared(_) => "not_shared",
            NotCountedReason::WorkHours => "work_hours",
            NotCountedReason::Capped => "capped",
        }
    }

    /// The reason in words, for a course and the credential judged by `program` whose window
    /// runs from `start` to `end`.
    pub fn describe(&self, program: &Program, course: &Course, start: Date, end: Date) -> String {
        let ids = |ids: &[u64]| {
            ids.iter()
                .map(|&id| IdKind::Credential.format(id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            NotCountedReason::PinnedElsewhere(pins) => format!("pinned to {}", ids(pins)),
            NotCountedReason::AccreditationNotAccepted
                if course.accreditation.trim().is_empty() =>
            {
                format!("{} requires a named accreditation", program.slug)
            }
            NotCountedReason::AccreditationNotAccepted => format!(
                "accreditation {} not accepted by {} (accepts: {})",
                course.accreditation.trim(),
                program.slug,
                program.accepted_accreditations.join(", ")
            ),
            NotCountedReason::OutsideWindow => format!(
                "{} is outside the window {start} to {end}",
                course.completed_on
            ),
            NotCountedReason::ActivityLimit => {
                "a course of its kind already counted within the activity limit".into()
            }
            NotCountedReason::NotShared(others) => format!(
                "it can also count toward {}, and {} does not share courses (pin it with --for to choose)",
                ids(others),
                program.slug
            ),
            NotCountedReason::WorkHours => {
                "work hours count only toward an alternative, which is not met".into()
            }
            NotCountedReason::Capped => "capped: the cap for its kind is used up".into(),
        }
    }
}

/// A course of the holder that a credential does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCounted {
    /// The course.
    pub course_id: u64,
    /// Why.
    pub reason: NotCountedReason,
    /// Why, in words ([`NotCountedReason::describe`]).
    pub detail: String,
}

/// Progress toward a minimum from providers of one accreditation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccreditationProgress {
    /// The accreditation.
    pub accreditation: String,
    /// Minimum, in the program's unit.
    pub required: Credits,
    /// Counted so far (after caps), in the program's unit.
    pub earned: Credits,
}

/// Progress toward one alternative requirement ("fewer CE hours plus work hours").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternativeProgress {
    /// CE the alternative requires, in the program's unit.
    pub required: Credits,
    /// CE still needed under it (minimums included), in the program's unit.
    pub remaining: Credits,
    /// Category of the other activity, e.g. `work-hours`.
    pub work_category: String,
    /// Hours of that activity required.
    pub work_required: Credits,
    /// Hours of it in the window.
    pub work_earned: Credits,
    /// Whether the alternative is met.
    pub met: bool,
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
    /// Last day of the CE window and of the cycle (inclusive): the credential's expiry, or for
    /// a program whose cycle ends on a fixed calendar day, the last such day on or before it.
    pub expires_on: Date,
    /// Required this cycle: the program's requirement, less in a pro-rata first cycle, or the
    /// CE of the alternative that is met.
    pub required: Credits,
    /// Counted, after caps and activity limits.
    pub earned: Credits,
    /// Still needed: the largest of the total shortfall, the sum of category shortfalls and
    /// the sum of accreditation shortfalls; 0 when an alternative is met.
    pub remaining: Credits,
    /// Per-category progress, in the program's order.
    pub categories: Vec<CategoryProgress>,
    /// Per-accreditation progress, in the program's order.
    pub accreditations: Vec<AccreditationProgress>,
    /// Progress toward each alternative requirement, in the program's order.
    pub alternatives: Vec<AlternativeProgress>,
    /// Days from `as_of` to `expires_on`; negative once expired.
    pub days_left: i64,
    /// The status.
    pub status: Status,
    /// The day this was computed for.
    pub as_of: Date,
    /// Courses counted toward this credential (even partly), in counting order; work hours
    /// only when the alternative they serve is met.
    pub counted_course_ids: Vec<u64>,
    /// The CE courses counted, with the amount each counted after caps, in counting order.
    pub counted: Vec<CountedCourse>,
    /// The holder's courses this cycle does not count, and why; courses dated on or before
    /// the end of a closed cycle belong to that cycle and are left out.
    pub not_counted: Vec<NotCounted>,
    /// Why the status is what it is (e.g. `behind pace: 3 expected by now`); empty for `met`
    /// and `on_track`.
    pub reason: String,
}

/// The last day of the credential's most recent closed cycle, if it has one.
fn closed_until(program: &Program, credential: &Credential) -> Option<Date> {
    credential.history.last().map(|h| match &h.outcome {
        Some(o) => o.ends_on,
        None => program.cycle_end(h.expires_on, None),
    })
}

/// First day a course can count in the current cycle, ending on `end`: the CE window's first
/// day, but not before the day after the last closed cycle ended, so a course counts in one
/// cycle only. A program whose window reaches before the cycle (NCCT) keeps its window; there
/// only the courses a closed cycle counted are kept out.
pub fn cycle_window_start(program: &Program, credential: &Credential, end: Date) -> Date {
    let start = window_start(program, end);
    if program.ce_window_years_before > 0 {
        return start;
    }
    match closed_until(program, credential).and_then(|d| d.tomorrow().ok()) {
        Some(after) => start.max(after),
        None => start,
    }
}

/// First day of the CE window of a cycle whose last day is `expires_on`.
///
/// `ce_window_months` before it, or January 1 of `ce_window_years_before` calendar years
/// before its year when that is earlier.
pub fn window_start(program: &Program, expires_on: Date) -> Date {
    let months = i64::from(program.ce_window_months.min(1200));
    let start = expires_on.checked_sub(months.months()).unwrap_or(Date::MIN);
    if program.ce_window_years_before == 0 {
        return start;
    }
    let year = i64::from(expires_on.year()) - i64::from(program.ce_window_years_before.min(1000));
    let january = i16::try_from(year)
        .ok()
        .and_then(|y| Date::new(y, 1, 1).ok())
        .unwrap_or(Date::MIN);
    start.min(january)
}

/// Whether `course` may count toward `credential` in the cycle from `start` to `end` at all
/// (window, accreditation, pinning, not counted by a closed cycle).
fn eligible(
    course: &Course,
    credential: &Credential,
    program: &Program,
    (start, end): (Date, Date),
) -> bool {
    reachable(course, credential, program)
        && course.completed_on >= start
        && course.completed_on <= end
        && !credential
            .history
            .iter()
            .any(|h| h.counted_course_ids().any(|id| id == course.id))
}

/// Whether `course` may count toward `credential` in some cycle: same holder, not pinned
/// elsewhere, accreditation accepted.
fn reachable(course: &Course, credential: &Credential, program: &Program) -> bool {
    let pinned_ok =
        course.credential_ids.is_empty() || course.credential_ids.contains(&credential.id);
    pinned_ok
        && course.holder_id == credential.holder_id
        && program.accepts_accreditation(&course.accreditation)
}

/// Courses an activity limit keeps from counting toward `credential` in the cycle ending on
/// `end`: in date order, a course of a limited kind counts only if no course of that kind
/// counted in the years before it. Earlier courses, before the window too, are taken to have
/// counted: recert does not record what a closed cycle counted, and a limit that bites is the
/// safer reading.
fn limited_courses(
    program: &Program,
    credential: &Credential,
    courses: &[Course],
    end: Date,
) -> HashSet<u64> {
    let mut limited = HashSet::new();
    for limit in &program.activity_limits {
        let mut kind: Vec<&Course> = courses
            .iter()
            .filter(|c| {
                reachable(c, credential, program) && c.completed_on <= end && limit.scope.covers(c)
            })
            .collect();
        kind.sort_by_key(|c| (c.completed_on, c.id));
        let years = i64::from(limit.once_every_years.min(1000));
        let mut next_allowed: Option<Date> = None;
        for course in kind {
            match next_allowed {
                Some(next) if course.completed_on < next => {
                    limited.insert(course.id);
                }
                _ => {
                    next_allowed = Some(
                        course
                            .completed_on
                            .checked_add(years.years())
                            .unwrap_or(Date::MAX),
                    );
                }
            }
        }
    }
    limited
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
    let ends: Vec<Date> = credentials
        .iter()
        .map(|(cred, prog)| prog.cycle_end(cred.expires_on, None))
        .collect();
    let ids: Vec<u64> = credentials.iter().map(|(c, _)| c.id).collect();
    let starts: Vec<Date> = credentials
        .iter()
        .zip(&ends)
        .map(|((cred, prog), &end)| cycle_window_start(prog, cred, end))
        .collect();
    let limited: Vec<HashSet<u64>> = credentials
        .iter()
        .zip(&ends)
        .map(|((cred, prog), &end)| limited_courses(prog, cred, courses, end))
        .collect();
    let candidates: Vec<Vec<usize>> = courses
        .iter()
        .map(|course| {
            credentials
                .iter()
                .enumerate()
                .filter(|(i, (cred, prog))| {
                    eligible(course, cred, prog, (starts[*i], ends[*i]))
                        && !limited[*i].contains(&course.id)
                })
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
            let mut answer = evaluate(program, credential, (starts[i], ends[i]), &counted, today);
            answer.not_counted = not_counted(
                (i, credential, program),
                (starts[i], ends[i]),
                courses,
                &candidates,
                &limited[i],
                (&answer.counted_course_ids, &ids),
            );
            answer
        })
        .collect()
}

/// The holder's courses the credential at index `i` does not count, and why, given each
/// course's candidate credentials; courses on or before a closed cycle's end are left out.
fn not_counted(
    (i, credential, program): (usize, &Credential, &Program),
    (start, end): (Date, Date),
    courses: &[Course],
    candidates: &[Vec<usize>],
    limited: &HashSet<u64>,
    (counted, ids): (&[u64], &[u64]),
) -> Vec<NotCounted> {
    let closed = closed_until(program, credential);
    let closed_counted: HashSet<u64> = credential
        .history
        .iter()
        .flat_map(|h| h.counted_course_ids())
        .collect();
    let mut out = Vec::new();
    for (course, cands) in courses.iter().zip(candidates) {
        if counted.contains(&course.id)
            || closed_counted.contains(&course.id)
            || closed.is_some_and(|d| course.completed_on <= d)
        {
            continue;
        }
        let reason = if !course.credential_ids.is_empty()
            && !course.credential_ids.contains(&credential.id)
        {
            NotCountedReason::PinnedElsewhere(course.credential_ids.clone())
        } else if !program.accepts_accreditation(&course.accreditation) {
            NotCountedReason::AccreditationNotAccepted
        } else if course.completed_on < start || course.completed_on > end {
            NotCountedReason::OutsideWindow
        } else if limited.contains(&course.id) {
            NotCountedReason::ActivityLimit
        } else if cands.contains(&i) && !program.shares_courses && cands.len() > 1 {
            let mut others: Vec<u64> = cands.iter().filter(|&&j| j != i).map(|&j| ids[j]).collect();
            others.sort_unstable();
            NotCountedReason::NotShared(others)
        } else if course
            .categories
            .iter()
            .any(|c| program.is_work_category(c))
        {
            NotCountedReason::WorkHours
        } else {
            NotCountedReason::Capped
        };
        let detail = reason.describe(program, course, start, end);
        out.push((
            course.completed_on,
            NotCounted {
                course_id: course.id,
                reason,
                detail,
            },
        ));
    }
    out.sort_by_key(|(on, n)| (*on, n.course_id));
    out.into_iter().map(|(_, n)| n).collect()
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

/// What the cycle ending on `end` requires: the program's requirement, or in a pro-rata first
/// cycle (no closed cycle yet, issue date known) the amount per month certified, a month begun
/// counting as a whole one, if that is less.
fn required_in_cycle(program: &Program, credential: &Credential, end: Date) -> Credits {
    let per_month = program.first_cycle_per_month;
    let first_cycle = credential.history.is_empty();
    match credential.issued_on {
        Some(issued) if per_month > Credits::ZERO && first_cycle => {
            let months = months_begun(issued, end);
            Credits(per_month.0.saturating_mul(months)).min(program.required)
        }
        _ => program.required,
    }
}

/// Months from `from` to `to`, a part month counting as one; 0 if `to` is not later.
fn months_begun(from: Date, to: Date) -> i64 {
    if to <= from {
        return 0;
    }
    match from.until((jiff::Unit::Month, to)) {
        Ok(span) => i64::from(span.get_months()) + i64::from(span.get_days() > 0),
        Err(_) => 0,
    }
}

/// Contact hours that make at least `amount` of the program's unit (rounding up, so the
/// amount shown for them is never below `amount`).
fn hours_for(program: &Program, amount: Credits) -> Credits {
    let exact = i128::from(amount.0) * i128::from(program.unit_hours.0);
    Credits(i64::try_from((exact + 99).div_euclid(100)).unwrap_or(i64::MAX))
}

/// Hours assigned to each category minimum when a credit counts toward one category only:
/// the most the courses can cover, as a maximum flow from groups of courses (by the minimum
/// categories they carry) to categories, each category taking at most its minimum.
fn exclusive_assignment(program: &Program, counted: &[(&Course, Credits)]) -> Vec<Credits> {
    let k = program.category_minimums.len();
    let mut groups: BTreeMap<Vec<usize>, i64> = BTreeMap::new();
    for (course, hours) in counted {
        let tags: Vec<usize> = program
            .category_minimums
            .iter()
            .enumerate()
            .filter(|(_, m)| course.has_category(&m.category))
            .map(|(i, _)| i)
            .collect();
        if !tags.is_empty() {
            let slot = groups.entry(tags).or_default();
            *slot = slot.saturating_add(hours.0);
        }
    }
    // Nodes: 0 the source, 1..=g the groups, then the k categories, then the sink.
    let g = groups.len();
    let n = g + k + 2;
    let sink = n - 1;
    let unbounded = i64::MAX / 4;
    let mut residual = vec![vec![0i64; n]; n];
    for (gi, (tags, hours)) in groups.iter().enumerate() {
        residual[0][1 + gi] = *hours;
        for &c in tags {
            residual[1 + gi][1 + g + c] = unbounded;
        }
    }
    let capacity: Vec<i64> = program
        .category_minimums
        .iter()
        .map(|m| hours_for(program, m.minimum).0.max(0))
        .collect();
    for (c, &cap) in capacity.iter().enumerate() {
        residual[1 + g + c][sink] = cap;
    }
    // Edmonds-Karp: shortest augmenting paths until none is left.
    loop {
        let mut previous = vec![usize::MAX; n];
        previous[0] = 0;
        let mut queue = VecDeque::from([0]);
        while let Some(u) = queue.pop_front() {
            for v in 0..n {
                if previous[v] == usize::MAX && residual[u][v] > 0 {
                    previous[v] = u;
                    queue.push_back(v);
                }
            }
        }
        if previous[sink] == usize::MAX {
            break;
        }
        let mut bottleneck = i64::MAX;
        let mut v = sink;
        while v != 0 {
            bottleneck = bottleneck.min(residual[previous[v]][v]);
            v = previous[v];
        }
        let mut v = sink;
        while v != 0 {
            let u = previous[v];
            residual[u][v] -= bottleneck;
            residual[v][u] += bottleneck;
            v = u;
        }
    }
    capacity
        .iter()
        .enumerate()
        .map(|(c, &cap)| Credits(cap - residual[1 + g + c][sink]))
        .collect()
}

/// Applies caps, minimums and alternatives to the courses already known to be countable,
/// for the cycle ending on `end`.
fn evaluate(
    program: &Program,
    credential: &Credential,
    (start, end): (Date, Date),
    courses: &[&Course],
    today: Date,
) -> Compliance {
    let cycle_required = required_in_cycle(program, credential, end);
    let required_h = program.to_hours(cycle_required);

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
    let mut work_h: Vec<Credits> = vec![Credits::ZERO; program.alternatives.len()];
    let mut work_ids = Vec::new();
    let mut counted: Vec<(&Course, Credits)> = Vec::new();
    for course in ordered {
        if course
            .categories
            .iter()
            .any(|c| program.is_work_category(c))
        {
            for (slot, alt) in work_h.iter_mut().zip(&program.alternatives) {
                if course.has_category(&alt.work_category) {
                    *slot += course.hours();
                }
            }
            work_ids.push(course.id);
            continue;
        }
        let matching: Vec<usize> = program
            .caps
            .iter()
            .enumerate()
            .filter(|(_, cap)| cap.scope.covers(course))
            .map(|(i, _)| i)
            .collect();
        let hours = matching
            .iter()
            .fold(course.hours(), |h, &i| h.min(cap_room[i]));
        for &i in &matching {
            cap_room[i] = cap_room[i].saturating_sub(hours);
        }
        if hours > Credits::ZERO {
            counted.push((course, hours));
        }
        earned_h += hours;
    }

    let per_category_h: Vec<Credits> = if program.exclusive_categories {
        exclusive_assignment(program, &counted)
    } else {
        program
            .category_minimums
            .iter()
            .map(|m| {
                counted
                    .iter()
                    .filter(|(c, _)| c.has_category(&m.category))
                    .map(|(_, h)| *h)
                    .sum()
            })
            .collect()
    };
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
    let accreditations: Vec<AccreditationProgress> = program
        .accreditation_minimums
        .iter()
        .map(|min| AccreditationProgress {
            accreditation: min.accreditation.clone(),
            required: min.minimum,
            earned: program.from_hours(
                counted
                    .iter()
                    .filter(|(c, _)| {
                        c.accreditation
                            .trim()
                            .eq_ignore_ascii_case(min.accreditation.trim())
                    })
                    .map(|(_, h)| *h)
                    .sum(),
            ),
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
    let accreditation_short: Credits = accreditations
        .iter()
        .map(|a| a.required.saturating_sub(a.earned))
        .sum();
    let short_of = |required: Credits| {
        required
            .saturating_sub(earned)
            .max(category_short)
            .max(accreditation_short)
    };
    let main_remaining = short_of(cycle_required);
    let alternatives: Vec<AlternativeProgress> = program
        .alternatives
        .iter()
        .zip(&work_h)
        .map(|(alt, &work)| {
            let remaining = short_of(alt.required);
            AlternativeProgress {
                required: alt.required,
                remaining,
                work_category: alt.work_category.clone(),
                work_required: alt.work_hours,
                work_earned: work,
                met: remaining == Credits::ZERO && work >= alt.work_hours,
            }
        })
        .collect();
    let met_by = alternatives.iter().find(|a| a.met);
    let (required, remaining) = match met_by {
        Some(alt) if main_remaining > Credits::ZERO => (alt.required, Credits::ZERO),
        _ => (cycle_required, main_remaining),
    };
    let counted_courses: Vec<CountedCourse> = counted
        .iter()
        .map(|(c, h)| CountedCourse {
            course_id: c.id,
            amount: program.from_hours(*h),
            capped: *h < c.hours(),
        })
        .collect();
    let mut counted_ids: Vec<u64> = counted.iter().map(|(c, _)| c.id).collect();
    if met_by.is_some() && main_remaining > Credits::ZERO {
        counted_ids.extend(work_ids);
    }

    let days_left = i64::from(today.until(end).map(|s| s.get_days()).unwrap_or(0));
    let expected_h = pace(start, end, today, required_h);
    let behind = behind_pace(start, end, today, required_h, earned_h);
    let (status, reason) = if days_left < 0 {
        if -days_left <= i64::from(program.grace_days) {
            let grace_end = end
                .checked_add(i64::from(program.grace_days).days())
                .unwrap_or(end);
            (
                Status::InGrace,
                format!("expired on {end}; grace ends {grace_end}"),
            )
        } else {
            (Status::Expired, format!("expired on {end}"))
        }
    } else if program.requirement_unknown() {
        // Nothing to count toward, so nothing can be said to be met.
        (Status::OnTrack, String::new())
    } else if remaining == Credits::ZERO {
        (Status::Met, String::new())
    } else if behind {
        (
            Status::AtRisk,
            format!(
                "behind pace: {} expected by now",
                // To a tenth: a pace is an estimate, and "2.99" reads as false precision.
                Credits((program.from_hours(expected_h).0 + 5) / 10 * 10)
            ),
        )
    } else if days_left <= AT_RISK_DAYS {
        (
            Status::AtRisk,
            format!("{remaining} still needed with {days_left} days left"),
        )
    } else {
        (Status::OnTrack, String::new())
    };

    Compliance {
        credential_id: credential.id,
        program: program.slug.clone(),
        window_start: start,
        expires_on: end,
        required,
        earned,
        remaining,
        categories,
        accreditations,
        alternatives,
        days_left,
        status,
        as_of: today,
        counted_course_ids: counted_ids,
        counted: counted_courses,
        not_counted: Vec::new(),
        reason,
    }
}

/// The hours a steady pace would have earned by `today`: required x elapsed share of the
/// window.
fn pace(start: Date, end: Date, today: Date, required: Credits) -> Credits {
    let total = i64::from(start.until(end).map(|s| s.get_days()).unwrap_or(0)).max(1);
    let elapsed = i64::from(start.until(today).map(|s| s.get_days()).unwrap_or(0)).clamp(0, total);
    let exact = i128::from(required.0) * i128::from(elapsed) / i128::from(total);
    Credits(i64::try_from(exact).unwrap_or(i64::MAX))
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
    use crate::domain::program::{
        AccreditationMinimum, ActivityLimit, Alternative, Cap, CapScope, CategoryMinimum,
        CycleAnchor, MonthDay, RuleField,
    };
    use crate::domain::records::Format;
    use crate::domain::records::PastCycle;
    use jiff::civil::date;

    const HOLDER: u64 = 7;

    /// A program counted in contact hours (`unit_hours` = 1 hour) unless changed.
    pub(in crate::domain) fn program(
        slug: &str,
        required_hours: i64,
        window_months: u32,
    ) -> Program {
        Program {
            local_fields: Vec::new(),
            reinstatement: None,
            slug: slug.into(),
            body: "Body".into(),
            name: format!("Program {slug}"),
            cycle_months: window_months,
            cycle_anchor: CycleAnchor::Issue,
            ce_window_months: window_months,
            ce_window_years_before: 0,
            unit_name: "contact hour".into(),
            unit_hours: Credits(100),
            required: Credits::whole(required_hours),
            first_cycle_per_month: Credits::ZERO,
            category_minimums: vec![],
            exclusive_categories: false,
            caps: vec![],
            activity_limits: vec![],
            alternatives: vec![],
            accreditation_minimums: vec![],
            grace_days: 0,
            shares_courses: true,
            accepted_accreditations: vec![],
            accreditation_required: false,
            dues: None,
            sources: vec![],
            uncertain: vec![],
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
            verifications: Vec::new(),
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

    /// A closed cycle's outcome as a renewal freezes it: what `compliance` said on its last day.
    fn close(credential: &mut Credential, answer: &Compliance, expires_on: Date) {
        credential.history.push(PastCycle {
            issued_on: credential.issued_on,
            expires_on: credential.expires_on,
            renewed_on: credential.expires_on,
            outcome: Some(crate::domain::CycleOutcome {
                window_start: answer.window_start,
                ends_on: answer.expires_on,
                unit_name: "contact hour".into(),
                required: answer.required,
                earned: answer.earned,
                categories: answer.categories.clone(),
                status: answer.status,
                counted: answer.counted.clone(),
            }),
        });
        credential.issued_on = Some(credential.expires_on);
        credential.expires_on = expires_on;
    }

    /// Trial 2.1: a course on the expiry day counted in the old cycle and again in the new
    /// one, so a new cycle read `met` with no new CE.
    #[test]
    fn a_course_on_the_expiry_day_counts_in_one_cycle_only() {
        let p = program("ca-cpt1", 6, 24);
        let mut c = credential(1, &p, date(2026, 11, 20));
        let courses = [course(1, date(2026, 11, 20), 600)];
        let old = one(&p, &c, &courses, date(2026, 11, 20));
        assert_eq!(
            (old.status, old.counted_course_ids.clone()),
            (Status::Met, vec![1])
        );
        close(&mut c, &old, date(2028, 11, 20));
        let new = one(&p, &c, &courses, date(2026, 11, 21));
        assert_eq!(new.window_start, date(2026, 11, 21));
        assert!(new.counted_course_ids.is_empty());
        assert_eq!(new.remaining, Credits::whole(6));
        assert_ne!(new.status, Status::Met);
        // The course belongs to the closed cycle: not listed as "not counted" here.
        assert!(new.not_counted.is_empty(), "{:?}", new.not_counted);

        // A cycle closed before outcomes were kept: its dates alone keep the course out.
        c.history[0].outcome = None;
        let new = one(&p, &c, &courses, date(2026, 11, 21));
        assert!(new.counted_course_ids.is_empty());
    }

    /// A window that reaches before the cycle (NCCT) keeps reaching back after a renewal, but
    /// what the closed cycle counted does not count again.
    #[test]
    fn a_window_reaching_before_the_cycle_skips_what_the_closed_cycle_counted() {
        let mut p = program("ncct-ncpt", 2, 12);
        p.ce_window_years_before = 1;
        let mut c = credential(1, &p, date(2026, 12, 31));
        let courses = [
            course(1, date(2026, 3, 1), 200),
            course(2, date(2026, 6, 1), 200),
        ];
        let old = one(&p, &c, &courses[..1], date(2026, 12, 31));
        assert_eq!(old.counted_course_ids, [1]);
        close(&mut c, &old, date(2027, 12, 31));
        let new = one(&p, &c, &courses, date(2027, 1, 5));
        assert_eq!(new.window_start, date(2026, 1, 1));
        assert_eq!(new.counted_course_ids, [2]);
        assert_eq!(new.status, Status::Met);
    }

    /// Trial 2.2, 2.10, 2.11: why a course does not count, and why a status is at risk.
    #[test]
    fn courses_not_counted_say_why_and_at_risk_says_its_reason() {
        let mut p = ascp_pbt();
        p.accepted_accreditations = vec!["P.A.C.E.".into()];
        let c = credential(1, &p, date(2028, 11, 30));
        let mut other = credential(2, &program("nha-cpt", 10, 24), date(2027, 5, 1));
        other.id = 2;
        let mut typo = course(1, date(2016, 11, 20), 100);
        typo.accreditation = "P.A.C.E.".into();
        let mut wrong = course(2, date(2026, 10, 1), 100);
        wrong.accreditation = "ACCME".into();
        let mut pinned = course(3, date(2026, 10, 2), 100);
        pinned.credential_ids = vec![2];
        let mut academic = course(4, date(2026, 10, 3), 4500);
        academic.format = Some(Format::Academic);
        let mut more = course(5, date(2026, 10, 4), 100);
        more.format = Some(Format::Academic);
        let courses = [typo, wrong, pinned, academic, more];
        let all = compliance_all(
            &[(c.clone(), p.clone()), (other, program("nha-cpt", 10, 24))],
            &courses,
            date(2026, 12, 1),
        );
        let got = &all[0];
        let reasons: Vec<(u64, &str)> = got
            .not_counted
            .iter()
            .map(|n| (n.course_id, n.reason.name()))
            .collect();
        assert_eq!(
            reasons,
            [
                (1, "outside_window"),
                (2, "accreditation_not_accepted"),
                (3, "pinned_elsewhere"),
                (5, "capped"),
            ]
        );
        // The 45-hour academic course counted 4.5 points, capped.
        assert_eq!(
            got.counted,
            [CountedCourse {
                course_id: 4,
                amount: Credits(450),
                capped: true,
            }]
        );
        assert_eq!(
            got.not_counted[0].detail,
            "2016-11-20 is outside the window 2025-11-30 to 2028-11-30"
        );

        // Two years left, nothing logged yet, a year in: behind pace, with the figure.
        let fresh = one(&p, &c, &[], date(2026, 11, 30));
        assert_eq!(fresh.status, Status::AtRisk);
        assert_eq!(fresh.reason, "behind pace: 3 expected by now");
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

    // --- Rules of the completed catalog --------------------------------------------------

    /// NCCT: outside CE from "the calendar year immediately preceding the recertification
    /// year", so the window reaches January 1 of the year before the cycle ends.
    #[test]
    fn ncct_window_reaches_back_to_january_of_the_previous_year() {
        let mut p = program("ncct-ncpt", 14, 12);
        p.ce_window_years_before = 1;
        let c = credential(1, &p, date(2026, 6, 30));
        let courses = [
            course(1, date(2024, 12, 31), 100), // the year before that: never
            course(2, date(2025, 1, 1), 100),   // first day of the previous year
            course(3, date(2025, 6, 29), 100),  // before a 12-month window, inside this one
            course(4, date(2026, 6, 30), 100),  // the last day of the cycle
        ];
        let got = one(&p, &c, &courses, date(2026, 3, 1));
        assert_eq!(got.window_start, date(2025, 1, 1));
        assert_eq!(got.counted_course_ids, [2, 3, 4]);
        assert_eq!(got.earned, Credits::whole(3));
        // Whatever the day of expiry in the year, the window opens on the same January 1.
        assert_eq!(window_start(&p, date(2026, 12, 31)), date(2025, 1, 1));
        assert_eq!(window_start(&p, date(2026, 1, 1)), date(2025, 1, 1));
        // A window longer than that keeps its own start.
        p.ce_window_months = 36;
        assert_eq!(window_start(&p, date(2026, 6, 30)), date(2023, 6, 30));
    }

    /// ASPT: renewals close on November 30, so the cycle ends there even if the credential's
    /// card runs to December 31: days are counted to it, and later courses do not count.
    #[test]
    fn aspt_cycle_ends_on_november_30() {
        let mut p = program("aspt-cpt", 6, 12);
        p.cycle_anchor = CycleAnchor::Fixed(MonthDay { month: 11, day: 30 });
        let c = credential(1, &p, date(2027, 12, 31));
        let courses = [
            course(1, date(2026, 11, 29), 300), // before the window
            course(2, date(2026, 11, 30), 300), // the window's first day
            course(3, date(2027, 12, 5), 300),  // after renewals closed
        ];
        let got = one(&p, &c, &courses, date(2027, 11, 15));
        assert_eq!(got.expires_on, date(2027, 11, 30));
        assert_eq!(got.window_start, date(2026, 11, 30));
        assert_eq!(got.days_left, 15);
        assert_eq!(got.counted_course_ids, [2]);
        assert_eq!(got.status, Status::AtRisk);
        let got = one(&p, &c, &courses, date(2027, 12, 1));
        assert_eq!((got.status, got.days_left), (Status::Expired, -1));
        // Expiring on November 30 itself, or in a later month of the same year.
        assert_eq!(p.cycle_end(date(2027, 11, 30), None), date(2027, 11, 30));
        assert_eq!(p.cycle_end(date(2027, 11, 29), None), date(2026, 11, 30));
    }

    #[test]
    fn a_fixed_cycle_end_on_february_29_falls_on_the_28th_in_common_years() {
        let mut p = program("p", 6, 12);
        p.cycle_anchor = CycleAnchor::Fixed(MonthDay { month: 2, day: 29 });
        assert_eq!(p.cycle_end(date(2027, 3, 15), None), date(2027, 2, 28));
        assert_eq!(p.cycle_end(date(2028, 3, 1), None), date(2028, 2, 29));
        assert_eq!(p.cycle_end(date(2028, 2, 28), None), date(2027, 2, 28));
    }

    /// Washington: credentials expire on the holder's birthday. Holders have no birth date
    /// yet, so compliance takes the credential's expiry as given.
    #[test]
    fn a_birthday_cycle_takes_the_expiry_as_given_until_holders_have_a_birth_date() {
        let mut p = program("wa-map", 6, 12);
        p.cycle_anchor = CycleAnchor::Birthday;
        let c = credential(1, &p, date(2027, 5, 20));
        let got = one(&p, &c, &[], date(2027, 1, 1));
        assert_eq!(got.expires_on, date(2027, 5, 20));
        // With a birth date, the last birthday on or before the expiry.
        assert_eq!(
            p.cycle_end(date(2027, 5, 20), Some(date(1990, 4, 2))),
            date(2027, 4, 2)
        );
        assert_eq!(
            p.cycle_end(date(2027, 5, 20), Some(date(1990, 8, 2))),
            date(2026, 8, 2)
        );
    }

    /// ACA: the first recertification needs 0.5 hour per month since certification (a month
    /// begun counting as a whole one), at most the 12 hours of later cycles.
    #[test]
    fn aca_first_cycle_is_half_an_hour_per_month_certified() {
        let mut p = program("aca-cpt", 12, 24);
        p.cycle_anchor = CycleAnchor::Fixed(MonthDay { month: 6, day: 30 });
        p.first_cycle_per_month = Credits(50);
        let mut c = credential(1, &p, date(2026, 6, 30));
        c.issued_on = Some(date(2025, 3, 10));
        // March 10, 2025 to June 30, 2026: 15 months and 20 days, so 16 months: 8 hours.
        let eight = [course(1, date(2025, 9, 1), 800)];
        let got = one(&p, &c, &eight, date(2026, 1, 1));
        assert_eq!(got.required, Credits::whole(8));
        assert_eq!(got.remaining, Credits::ZERO);
        assert_eq!(got.status, Status::Met);
        // July 1 to June 30 is twelve months (a day short, begun): 6 hours.
        c.issued_on = Some(date(2025, 7, 1));
        assert_eq!(
            one(&p, &c, &[], date(2026, 1, 1)).required,
            Credits::whole(6)
        );
        // Three years certified: never more than the 12 hours.
        c.issued_on = Some(date(2023, 6, 30));
        assert_eq!(
            one(&p, &c, &[], date(2026, 1, 1)).required,
            Credits::whole(12)
        );
        // After a renewal, or without an issue date, the full 12 hours.
        c.issued_on = Some(date(2025, 3, 10));
        c.history.push(PastCycle {
            issued_on: None,
            expires_on: date(2025, 3, 10),
            renewed_on: date(2025, 3, 1),
            outcome: None,
        });
        let got = one(&p, &c, &eight, date(2026, 1, 1));
        assert_eq!(
            (got.required, got.remaining),
            (Credits::whole(12), Credits::whole(4))
        );
        c.history.clear();
        c.issued_on = None;
        assert_eq!(
            one(&p, &c, &[], date(2026, 1, 1)).required,
            Credits::whole(12)
        );
    }

    /// NHCO: 20 hours of CE, or 10 hours plus 2080 hours of work; work hours never count as
    /// CE, and count only toward the alternative.
    #[test]
    fn nhco_is_met_by_fewer_ce_hours_plus_work_hours() {
        let mut p = program("nhco-cpt", 20, 24);
        p.alternatives = vec![Alternative {
            required: Credits::whole(10),
            work_category: "work-hours".into(),
            work_hours: Credits::whole(2080),
        }];
        let c = credential(1, &p, date(2027, 1, 1));
        let work = |id: u64, month: i8| {
            let mut w = course(id, date(2025, month, 1), 19_000);
            w.categories = vec!["work-hours".into()];
            w
        };
        let mut courses = vec![course(1, date(2025, 1, 15), 1200)];
        courses.extend((1..=10).map(|m| work(10 + m as u64, m)));
        // 1900 work hours: not enough, so the CE requirement stands.
        let got = one(&p, &c, &courses, date(2025, 12, 1));
        assert_eq!(got.earned, Credits::whole(12), "work hours are not CE");
        assert_eq!(got.required, Credits::whole(20));
        assert_eq!(got.remaining, Credits::whole(8));
        assert_ne!(got.status, Status::Met);
        assert_eq!(got.counted_course_ids, [1]);
        assert_eq!(
            got.alternatives,
            [AlternativeProgress {
                required: Credits::whole(10),
                remaining: Credits::ZERO,
                work_category: "work-hours".into(),
                work_required: Credits::whole(2080),
                work_earned: Credits::whole(1900),
                met: false,
            }]
        );
        // 2090 work hours and 12 of CE: met by the alternative.
        courses.push(work(21, 11));
        let got = one(&p, &c, &courses, date(2025, 12, 1));
        assert_eq!(got.earned, Credits::whole(12));
        assert_eq!(
            (got.required, got.remaining),
            (Credits::whole(10), Credits::ZERO)
        );
        assert_eq!(got.status, Status::Met);
        assert!(got.alternatives[0].met);
        assert_eq!(got.counted_course_ids.len(), 12);
        // 9 hours of CE are too few even with the work.
        courses[0].amount = Credits(900);
        let got = one(&p, &c, &courses, date(2025, 12, 1));
        assert!(!got.alternatives[0].met);
        assert_eq!(got.alternatives[0].remaining, Credits::whole(1));
        assert_eq!(got.remaining, Credits::whole(11));
    }

    /// NCCT: recurring employer-required training counts once every 5 years, counting from a
    /// course of that kind before the window too.
    #[test]
    fn employer_training_counts_once_every_five_years() {
        let mut p = program("ncct-ncpt", 14, 24);
        p.activity_limits = vec![ActivityLimit {
            scope: CapScope::Category("employer-training".into()),
            once_every_years: 5,
        }];
        let c = credential(1, &p, date(2026, 12, 31));
        let training = |id: u64, on: Date| {
            let mut t = course(id, on, 200);
            t.categories = vec!["employer-training".into()];
            t
        };
        let courses = [
            training(1, date(2021, 6, 1)), // an earlier cycle: it counted then
            training(2, date(2025, 3, 1)), // within 5 years of it
            course(3, date(2025, 5, 1), 300),
            training(4, date(2026, 6, 1)), // 5 years after the first: counts again
            training(5, date(2026, 9, 1)), // within 5 years of that
        ];
        let got = one(&p, &c, &courses, date(2026, 10, 1));
        assert_eq!(got.counted_course_ids, [3, 4]);
        assert_eq!(got.earned, Credits::whole(5));
        // Without the earlier course, the 2025 one counts and bars the 2026 ones.
        let got = one(&p, &c, &courses[1..], date(2026, 10, 1));
        assert_eq!(got.counted_course_ids, [2, 3]);
        // A course of another holder, or pinned to another credential, bars nothing.
        let mut theirs = training(6, date(2024, 1, 1));
        theirs.holder_id = HOLDER + 1;
        let mut pinned = training(7, date(2024, 1, 1));
        pinned.credential_ids = vec![99];
        let mut mine = vec![theirs, pinned];
        mine.extend_from_slice(&courses[1..]);
        assert_eq!(
            one(&p, &c, &mine, date(2026, 10, 1)).counted_course_ids,
            [2, 3]
        );
        // The limit is the program's own: another credential counts the course.
        let other = program("other", 14, 24);
        let all = compliance_all(
            &[
                (c.clone(), p.clone()),
                (credential(2, &other, date(2026, 12, 31)), other.clone()),
            ],
            &courses,
            date(2026, 10, 1),
        );
        assert_eq!(all[1].counted_course_ids, [2, 3, 4, 5]);
    }

    /// A program whose categories are exclusive (AAMA: administrative, clinical, general).
    fn aama() -> Program {
        let mut p = program("aama-cma", 60, 60);
        p.category_minimums = ["administrative", "clinical", "general"]
            .map(|c| CategoryMinimum {
                category: c.into(),
                minimum: Credits::whole(10),
            })
            .to_vec();
        p.exclusive_categories = true;
        p
    }

    fn tagged(id: u64, on: Date, hundredths: i64, categories: &[&str]) -> Course {
        let mut c = course(id, on, hundredths);
        c.categories = categories.iter().map(|c| c.to_string()).collect();
        c
    }

    /// AAMA: a CEU counts in one category only, so one course tagged administrative and
    /// clinical cannot fill both minimums; and the courses are spread over the categories as
    /// well as they can be, whatever their order.
    #[test]
    fn aama_categories_take_each_credit_once() {
        let p = aama();
        let c = credential(1, &p, date(2029, 12, 31));
        let both = tagged(1, date(2025, 1, 1), 1000, &["administrative", "clinical"]);
        let general = tagged(2, date(2025, 2, 1), 1000, &["general"]);
        let rest = course(3, date(2025, 3, 1), 4000);
        let got = one(
            &p,
            &c,
            &[both.clone(), general.clone(), rest.clone()],
            date(2026, 1, 1),
        );
        assert_eq!(got.earned, Credits::whole(60));
        let earned: Vec<Credits> = got.categories.iter().map(|c| c.earned).collect();
        assert_eq!(
            earned.iter().copied().sum::<Credits>(),
            Credits::whole(20),
            "{earned:?}"
        );
        assert_eq!(got.remaining, Credits::whole(10));
        assert_ne!(got.status, Status::Met);
        // Shared categories do not double count.
        let mut shared = p.clone();
        shared.exclusive_categories = false;
        let got = one(
            &shared,
            &c,
            &[both.clone(), general.clone(), rest],
            date(2026, 1, 1),
        );
        assert_eq!(got.remaining, Credits::ZERO);

        // The two-category course goes where it is needed, though it came first.
        let admin = tagged(4, date(2025, 4, 1), 1000, &["administrative"]);
        let got = one(
            &p,
            &c,
            &[both, general, admin, course(5, date(2025, 5, 1), 3000)],
            date(2026, 1, 1),
        );
        assert_eq!(
            got.categories
                .iter()
                .map(|c| (c.category.as_str(), c.earned))
                .collect::<Vec<_>>(),
            [
                ("administrative", Credits::whole(10)),
                ("clinical", Credits::whole(10)),
                ("general", Credits::whole(10)),
            ]
        );
        assert_eq!(got.remaining, Credits::ZERO);
        assert_eq!(got.status, Status::Met);
    }

    /// AAMA: 30 of the 60 CEUs must be AAMA-approved.
    #[test]
    fn an_accreditation_minimum_counts_only_that_accreditation() {
        let mut p = program("aama-cma", 60, 60);
        p.accreditation_minimums = vec![AccreditationMinimum {
            accreditation: "AAMA".into(),
            minimum: Credits::whole(30),
        }];
        let c = credential(1, &p, date(2029, 12, 31));
        let mut aama = course(1, date(2025, 1, 1), 2000);
        aama.accreditation = " aama ".into();
        let other = course(2, date(2025, 2, 1), 5000);
        let got = one(&p, &c, &[aama.clone(), other.clone()], date(2026, 1, 1));
        assert_eq!(got.earned, Credits::whole(70));
        assert_eq!(
            got.accreditations,
            [AccreditationProgress {
                accreditation: "AAMA".into(),
                required: Credits::whole(30),
                earned: Credits::whole(20),
            }]
        );
        assert_eq!(got.remaining, Credits::whole(10));
        aama.amount = Credits(3000);
        let got = one(&p, &c, &[aama, other], date(2026, 1, 1));
        assert_eq!((got.remaining, got.status), (Credits::ZERO, Status::Met));
    }

    /// California: a course counts only if it names its accrediting agency.
    #[test]
    fn a_program_that_requires_an_accreditation_skips_courses_without_one() {
        let mut p = program("ca-cpt1", 6, 24);
        p.accreditation_required = true;
        let c = credential(1, &p, date(2027, 1, 1));
        let mut named = course(1, date(2026, 1, 1), 300);
        named.accreditation = "P.A.C.E.".into();
        let unnamed = course(2, date(2026, 1, 1), 300);
        let got = one(&p, &c, &[named, unnamed], date(2026, 6, 1));
        assert_eq!(got.counted_course_ids, [1]);
    }

    /// Louisiana, Washington, Nevada: with the CE amount unknown, nothing is ever met; the
    /// dates still are what they are.
    #[test]
    fn an_unknown_requirement_is_never_met() {
        let mut p = program("la-phlebotomist", 0, 12);
        p.uncertain = vec![RuleField::Required];
        let c = credential(1, &p, date(2027, 1, 1));
        let got = one(
            &p,
            &c,
            &[course(1, date(2026, 6, 1), 500)],
            date(2026, 12, 20),
        );
        assert_eq!(
            (got.required, got.remaining),
            (Credits::ZERO, Credits::ZERO)
        );
        assert_eq!(got.status, Status::OnTrack);
        assert_eq!(one(&p, &c, &[], date(2027, 1, 2)).status, Status::Expired);
        // A known requirement of 0 (a pro-rata first cycle of no month) is met.
        p.uncertain.clear();
        assert_eq!(one(&p, &c, &[], date(2026, 12, 20)).status, Status::Met);
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
