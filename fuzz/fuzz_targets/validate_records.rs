//! Builds holders, programs, credentials and courses from arbitrary input, runs the domain's
//! validators and parsers on them, and evaluates compliance when everything is valid (as the
//! daemon only ever does): nothing may panic or overflow (fuzz builds keep overflow checks),
//! a valid record keeps the invariants its validator promises, and a met credential shows
//! every requirement reached.

#![no_main]

use arbitrary::Arbitrary;
use jiff::civil::Date;
use libfuzzer_sys::fuzz_target;
use recertd::domain::{
    Cap, CapLimit, CapScope, CategoryMinimum, Course, Credential, Credits, CycleAnchor, Format,
    Holder, IdKind, MAX_COURSE_HOURS, MAX_NAME_LEN, Program, Status, Unit, compliance_all,
};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Fold numbers into their valid ranges and use plain texts, so that most inputs get
    /// past validation to the compliance rules.
    shaped: bool,
    holder: (String, String, String),
    program: ProgramInput,
    credential: (String, Option<i32>, i32),
    courses: Vec<CourseInput>,
    today: i32,
    words: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct ProgramInput {
    texts: (String, String, String, String, String),
    months: (u32, u32),
    unit_hours: i64,
    required: i64,
    minimums: Vec<(String, i64)>,
    caps: Vec<(Option<String>, u8, bool, i64)>,
    grace_days: u32,
    shares_courses: bool,
    accepted: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct CourseInput {
    texts: (String, String, String, String),
    completed_on: i32,
    amount: i64,
    unit: u8,
    categories: Vec<String>,
    format: Option<u8>,
    pinned: bool,
}

const FORMATS: [Format; 4] = [
    Format::Live,
    Format::Online,
    Format::HomeStudy,
    Format::Academic,
];

/// A day counted from 2026-01-01, clamped to jiff's range.
fn day(offset: i32) -> Date {
    let start = jiff::civil::date(2026, 1, 1);
    start
        .checked_add(jiff::Span::new().days(i64::from(offset).clamp(-3_000_000, 3_000_000)))
        .unwrap_or(if offset < 0 { Date::MIN } else { Date::MAX })
}

fn program(p: ProgramInput) -> Program {
    let (slug, body, name, unit_name, notes) = p.texts;
    Program {
        slug,
        body,
        name,
        cycle_months: p.months.0,
        cycle_anchor: CycleAnchor::Issue,
        ce_window_months: p.months.1,
        ce_window_years_before: 0,
        unit_name,
        unit_hours: Credits(p.unit_hours),
        required: Credits(p.required),
        first_cycle_per_month: Credits::ZERO,
        category_minimums: p
            .minimums
            .into_iter()
            .map(|(category, minimum)| CategoryMinimum {
                category,
                minimum: Credits(minimum),
            })
            .collect(),
        exclusive_categories: false,
        caps: p
            .caps
            .into_iter()
            .map(|(category, format, percent, amount)| Cap {
                scope: match category {
                    Some(c) => CapScope::Category(c),
                    None => CapScope::Format(FORMATS[usize::from(format) % 4]),
                },
                limit: if percent {
                    CapLimit::Percent(u32::from(format))
                } else {
                    CapLimit::Amount(Credits(amount))
                },
            })
            .collect(),
        activity_limits: vec![],
        alternatives: vec![],
        accreditation_minimums: vec![],
        grace_days: p.grace_days,
        shares_courses: p.shares_courses,
        accepted_accreditations: p.accepted,
        accreditation_required: false,
        dues: None,
        sources: vec![],
        uncertain: vec![],
        notes,
        local_fields: Vec::new(),
        reinstatement: None,
    }
}

fn course(id: u64, c: CourseInput) -> Course {
    let (title, provider, accreditation, evidence) = c.texts;
    Course {
        id,
        holder_id: 1,
        title,
        provider,
        accreditation,
        completed_on: day(c.completed_on),
        amount: Credits(c.amount),
        unit: Unit::ALL[usize::from(c.unit) % Unit::ALL.len()],
        categories: c.categories,
        format: c.format.map(|f| FORMATS[usize::from(f) % 4]),
        credential_ids: if c.pinned { vec![1] } else { vec![] },
        evidence,
    }
}

/// Folds `input` into valid ranges (see `Input::shaped`).
fn shape(mut input: Input) -> Input {
    let fold = |n: i64, max: i64| 1 + (n.rem_euclid(max));
    let p = &mut input.program;
    p.texts = (
        "p".into(),
        "Body".into(),
        "Program".into(),
        "unit".into(),
        String::new(),
    );
    p.months = (1 + p.months.0 % 120, 1 + p.months.1 % 120);
    p.unit_hours = fold(p.unit_hours, 10_000);
    p.required = fold(p.required, 1_000_000);
    let required = p.required;
    for (i, (category, minimum)) in p.minimums.iter_mut().enumerate() {
        *category = format!("c{}", i % 4);
        *minimum = fold(*minimum, required);
    }
    p.minimums.truncate(16);
    for (category, format, _, amount) in &mut p.caps {
        if let Some(c) = category {
            *c = format!("c{}", c.len() % 4);
        }
        *format = 1 + *format % 100;
        *amount = fold(*amount, i64::MAX - 1);
    }
    p.grace_days %= 3651;
    input.credential = (
        String::new(),
        None,
        input.credential.2.rem_euclid(90_000) - 40_000,
    );
    input.today = input.credential.2 + input.today.rem_euclid(4_000) - 3_000;
    for c in &mut input.courses {
        c.texts = ("Course".into(), String::new(), String::new(), String::new());
        let unit = Unit::ALL[usize::from(c.unit) % Unit::ALL.len()];
        c.amount = fold(c.amount, MAX_COURSE_HOURS.0 * 100 / unit.hours_per_unit().0);
        c.completed_on = input.today - c.completed_on.rem_euclid(3_000);
        for (i, category) in c.categories.iter_mut().enumerate() {
            *category = format!("c{}", i % 4);
        }
        c.categories.truncate(16);
    }
    input
}

fuzz_target!(|input: Input| {
    let input = if input.shaped { shape(input) } else { input };
    for word in &input.words {
        for kind in [
            IdKind::Holder,
            IdKind::Credential,
            IdKind::Course,
            IdKind::Alert,
            IdKind::Channel,
        ] {
            if let Some(id) = kind.parse(word) {
                assert_eq!(kind.format(id), word.trim());
            }
        }
        if let Some(unit) = Unit::parse(word) {
            assert_eq!(Unit::parse(unit.name()), Some(unit));
        }
        if let Some(format) = Format::parse(word) {
            assert_eq!(Format::parse(format.name()), Some(format));
        }
        let _ = word.parse::<Date>();
    }

    let (name, email, time_zone) = input.holder;
    let holder = Holder {
        id: 1,
        name,
        email,
        time_zone,
    };
    if holder.validate().is_ok() {
        assert!(!holder.name.trim().is_empty());
        assert!(holder.name.chars().count() <= MAX_NAME_LEN);
    }

    let program = program(input.program);
    let program_ok = program.validate().is_ok();

    let (number, issued, expires) = input.credential;
    let credential = Credential {
        id: 1,
        holder_id: 1,
        program: program.slug.clone(),
        number,
        issued_on: issued.map(day),
        expires_on: day(expires),
        history: vec![],
    };
    let credential_ok = credential.validate().is_ok();

    let today = day(input.today);
    let courses: Vec<Course> = input
        .courses
        .into_iter()
        .zip(1u64..)
        .map(|(c, id)| course(id, c))
        .filter(|c| match c.validate(today) {
            Ok(()) => {
                assert!(c.hours() > Credits::ZERO && c.hours() <= MAX_COURSE_HOURS);
                assert!(c.title.chars().count() <= MAX_NAME_LEN);
                true
            }
            Err(_) => false,
        })
        .collect();

    if program_ok && credential_ok {
        let held = [(credential, program)];
        let first = compliance_all(&held, &courses, today);
        assert_eq!(first, compliance_all(&held, &courses, today));
        let got = &first[0];
        assert!(got.earned >= Credits::ZERO && got.remaining >= Credits::ZERO);
        if got.days_left >= 0 {
            assert_eq!(got.remaining == Credits::ZERO, got.status == Status::Met);
        }
        if got.status == Status::Met {
            assert!(got.earned >= got.required);
            assert!(got.categories.iter().all(|c| c.earned >= c.required));
        }
        for id in &got.counted_course_ids {
            let c = courses.iter().find(|c| c.id == *id).unwrap();
            assert!(got.window_start <= c.completed_on && c.completed_on <= got.expires_on);
        }
    }
});
