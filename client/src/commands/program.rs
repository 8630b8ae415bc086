//! `recert program list|show|add|remove`.

use super::Context;
use crate::api::Api;
use crate::cli::{ProgramAddArgs, ProgramCommand, ProgramEditArgs};
use crate::error::Error;
use crate::model::{CapLimit, CapRule, Confidence, Deleted, Program, ProgramDraft, ProgramEdit};
use crate::render::{Table, amount, details, unit_for};
use crate::spelling::{closest, normalize_slug};

/// Runs one program command.
pub async fn run(context: &Context, command: ProgramCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        ProgramCommand::List(list) => {
            let programs = api.programs(list.limit()).await?;
            if out.is_json() {
                return Ok(out.json(&programs));
            }
            Ok(table(&programs).render(out.color))
        }
        ProgramCommand::Show { slug } => {
            let program = match api.program(&normalize_slug(&slug)).await {
                Ok(program) => program,
                Err(err) => return Err(explain_unknown_program(api, &slug, err).await),
            };
            Ok(out.record(&program, || show(&program)))
        }
        ProgramCommand::Add(args) => {
            let program = api.create_program(draft(*args)).await?;
            Ok(out.record(&program, || {
                let what = if program.overrides_builtin {
                    "local override of built-in program"
                } else {
                    "program"
                };
                format!(
                    "Added {what} {}: {} ({})",
                    program.slug, program.name, program.body
                )
            }))
        }
        ProgramCommand::Edit(args) => {
            let slug = normalize_slug(&args.slug);
            let edit = edit(*args);
            let program = match api.edit_program(&slug, edit).await {
                Ok(program) => program,
                Err(err) => return Err(explain_unknown_program(api, &slug, err).await),
            };
            Ok(out.record(&program, || {
                let local = if program.local_fields.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; local: {} (the other rules follow the built-in program)",
                        program.local_fields.join(", ")
                    )
                };
                format!("Changed program {}{local}", program.slug)
            }))
        }
        ProgramCommand::Reset { slug: typed, field } => {
            let slug = normalize_slug(&typed);
            let reset = match api.reset_program(&slug, &field).await {
                Ok(reset) => reset,
                Err(err) => return Err(explain_unknown_program(api, &typed, err).await),
            };
            Ok(out.record(&reset, || {
                if reset.local_fields.is_empty() {
                    format!(
                        "Reset {}: the built-in program applies as shipped",
                        reset.slug
                    )
                } else {
                    format!(
                        "Reset {} of {}; still local: {}",
                        reset.reset.join(", "),
                        reset.slug,
                        reset.local_fields.join(", ")
                    )
                }
            }))
        }
        ProgramCommand::Remove { slug: typed } => {
            let slug = normalize_slug(&typed);
            // Asked first only to tell the user whether a built-in program comes back.
            let program = match api.program(&slug).await {
                Ok(program) => program,
                Err(err) => return Err(explain_unknown_program(api, &typed, err).await),
            };
            api.delete_program(&slug).await?;
            let deleted = Deleted { deleted: slug };
            Ok(out.record(&deleted, || {
                if program.overrides_builtin {
                    format!(
                        "Removed local override of {}; the built-in program applies again",
                        deleted.deleted
                    )
                } else {
                    format!("Removed program {}", deleted.deleted)
                }
            }))
        }
    }
}

/// Turns NOT_FOUND from a request that named the program `typed` into "program ... not
/// found; did you mean ...?" when no program has that slug; any other error (or a NOT_FOUND
/// about something else) is returned as it is.
pub(super) async fn explain_unknown_program(api: &Api, typed: &str, err: Error) -> Error {
    if !matches!(
        err,
        Error::Server {
            code: tonic::Code::NotFound,
            ..
        }
    ) {
        return err;
    }
    let Ok(programs) = api.programs(None).await else {
        return err;
    };
    let slug = normalize_slug(typed);
    if programs.iter().any(|p| p.slug == slug) {
        return err;
    }
    let near = closest(typed, programs.iter().map(|p| p.slug.as_str()))
        .map(|slug| format!("; did you mean {slug}?"))
        .unwrap_or_default();
    Error::Lookup(format!(
        "program {:?} not found{near} (see: recert program list)",
        typed.trim()
    ))
}

/// The program `program add` sends; the CE window defaults to the cycle.
fn draft(args: ProgramAddArgs) -> ProgramDraft {
    ProgramDraft {
        slug: args.slug,
        body: args.body,
        name: args.name,
        cycle_months: args.cycle_months,
        ce_window_months: args.window_months.unwrap_or(args.cycle_months),
        unit: args.unit_name,
        unit_hours: args.unit_hours,
        required: args.required,
        category_minimums: args.category_min,
        caps: args
            .cap_category
            .into_iter()
            .chain(args.cap_format)
            .collect(),
        grace_days: args.grace_days,
        shares_courses: !args.no_share,
        accepted_accreditations: args.accreditation,
        sources: args.source,
        notes: args.notes,
    }
}

/// The rules `program edit` changes: only the flags given.
fn edit(args: ProgramEditArgs) -> ProgramEdit {
    let caps: Vec<CapRule> = args
        .cap_category
        .into_iter()
        .chain(args.cap_format)
        .collect();
    let some = |v: Vec<_>| (!v.is_empty()).then_some(v);
    ProgramEdit {
        cycle_months: args.cycle_months,
        ce_window_months: args.window_months,
        unit_hours: args.unit_hours,
        required: args.required,
        category_minimums: some(args.category_min),
        caps: (!caps.is_empty()).then_some(caps),
        grace_days: args.grace_days,
        shares_courses: (args.share || args.no_share).then_some(args.share),
        accepted_accreditations: (!args.accreditation.is_empty()).then_some(args.accreditation),
    }
}

/// "built-in", "override" or "custom".
fn kind(program: &Program) -> &'static str {
    if program.overrides_builtin {
        "override"
    } else if program.builtin {
        "built-in"
    } else {
        "custom"
    }
}

/// "verify with BODY" for uncertain programs, else "".
fn caution(program: &Program) -> String {
    if program.confidence == Confidence::Uncertain {
        format!("verify with {}", program.body)
    } else {
        String::new()
    }
}

/// "1 point = 1 contact hour", "1 CEU = 10 contact hours".
fn unit_hours(program: &Program) -> String {
    let one_hour = program.unit_hours.hundredths() == 100;
    if one_hour && program.unit.starts_with("contact hour") {
        return program.unit.clone();
    }
    let hours = if one_hour {
        "contact hour"
    } else {
        "contact hours"
    };
    format!("1 {} = {} {hours}", program.unit, program.unit_hours)
}

/// "management at most 25%" / "online at most 6".
fn describe_cap(cap: &CapRule) -> String {
    let what = cap
        .category
        .as_deref()
        .or(cap.format.as_deref())
        .unwrap_or("?");
    match cap.limit {
        CapLimit::Percent(p) => format!("{what} at most {p}%"),
        CapLimit::Amount(a) => format!("{what} at most {a}"),
    }
}

/// The `program list` table.
fn table(programs: &[Program]) -> Table {
    let mut table = Table::new(&[
        "SLUG", "BODY", "NAME", "CYCLE", "REQUIRED", "UNIT", "KIND", "NOTE",
    ])
    .right_align(&[4]);
    for p in programs {
        table.row(vec![
            p.slug.clone(),
            p.body.clone(),
            p.name.clone(),
            format!("{} mo", p.cycle_months),
            p.required.to_string(),
            unit_for(p.required, &p.unit),
            kind(p).to_owned(),
            caution(p),
        ]);
    }
    table
}

/// "online" / "safety": what a cap or an activity limit applies to.
fn scope(category: &Option<String>, format: &Option<String>) -> String {
    category
        .as_deref()
        .or(format.as_deref())
        .unwrap_or("?")
        .to_owned()
}

/// "ends each 11-30", "ends on the holder's birthday": where a cycle ends, when not on the
/// expiry date.
fn anchor(p: &Program) -> String {
    match p.cycle_anchor.as_deref() {
        None => String::new(),
        Some("birthday") => ", ending on the holder's birthday".to_owned(),
        Some(day) => format!(", ending each year on {day} (MM-DD)"),
    }
}

/// "6 contact hours completed within the last 12 months; renewing an expired California
/// certificate (source: URL)": how a lapsed credential is reinstated, or "" when not known.
fn reinstatement(p: &Program) -> String {
    let Some(r) = &p.reinstatement else {
        return String::new();
    };
    let hours = if r.ce_hours.hundredths() > 0 {
        let unit = if r.ce_hours.hundredths() == 100 {
            "contact hour"
        } else {
            "contact hours"
        };
        format!("{} {unit}", r.ce_hours)
    } else {
        format!("the cycle's requirement ({})", amount(p.required, &p.unit))
    };
    let mut text = match r.within_months {
        0 => format!("{hours} of CE"),
        n => format!("{hours} completed within the last {n} months"),
    };
    if let Some(note) = &r.note {
        text.push_str(&format!("; {note}"));
    }
    if !r.sources.is_empty() {
        text.push_str(&format!(" (source: {})", r.sources.join(", ")));
    }
    text
}

/// The `program show` listing, sources last, one per line. A rule set locally by `program
/// edit` is marked `(local)`; one the catalog is unsure of `(uncertain)`.
fn show(p: &Program) -> String {
    let mark = |field: &str, value: String| -> String {
        if value.is_empty() {
            return value;
        }
        let mut value = value;
        if p.local_fields.iter().any(|f| f == field) {
            value.push_str(" (local)");
        } else if p.uncertain.iter().any(|f| f == field) {
            value.push_str(" (uncertain)");
        }
        value
    };
    let minimums: Vec<String> = p
        .category_minimums
        .iter()
        .map(|m| format!("{} {}", m.category, m.minimum))
        .collect();
    let caps: Vec<String> = p.caps.iter().map(describe_cap).collect();
    let confidence = match p.confidence {
        Confidence::Confirmed => "confirmed".to_owned(),
        Confidence::Uncertain if p.uncertain.is_empty() || p.uncertain == ["unspecified"] => {
            format!("uncertain: {}", caution(p))
        }
        Confidence::Uncertain => format!(
            "uncertain ({}): {}; the other rules confirmed",
            p.uncertain.join(", "),
            caution(p)
        ),
        Confidence::Unspecified => "unspecified".to_owned(),
    };
    let kind = match kind(p) {
        "override" if p.local_fields.is_empty() => {
            "local override of a built-in program (every field local)".to_owned()
        }
        "override" => format!(
            "built-in program with local rules: {} (see: recert program reset)",
            p.local_fields.join(", ")
        ),
        other => other.to_owned(),
    };
    let window = if p.ce_window_years_before > 0 {
        let years = if p.ce_window_years_before == 1 {
            "the calendar year".to_owned()
        } else {
            format!("{} calendar years", p.ce_window_years_before)
        };
        format!(
            "{} months before expiry, reaching back to January 1 of {years} before the cycle's last year",
            p.ce_window_months
        )
    } else {
        format!("{} months before expiry", p.ce_window_months)
    };
    let first_cycle = if p.first_cycle_per_month.hundredths() > 0 {
        format!(
            "{} per month certified, if less than the requirement",
            amount(p.first_cycle_per_month, &p.unit)
        )
    } else {
        String::new()
    };
    let alternatives: Vec<String> = p
        .alternatives
        .iter()
        .map(|a| {
            format!(
                "{} plus {} hours of {}",
                amount(a.required, &p.unit),
                a.work_hours,
                a.work_category
            )
        })
        .collect();
    let limits: Vec<String> = p
        .activity_limits
        .iter()
        .map(|l| {
            let years = if l.once_every_years == 1 {
                "year".to_owned()
            } else {
                format!("{} years", l.once_every_years)
            };
            format!(
                "{} counts once every {years}",
                scope(&l.category, &l.format)
            )
        })
        .collect();
    let from_accredited: Vec<String> = p
        .accreditation_minimums
        .iter()
        .map(|m| format!("{} from {}", amount(m.minimum, &p.unit), m.accreditation))
        .collect();
    let dues = p
        .dues
        .as_ref()
        .map(|d| {
            let month = match d.month_offset {
                0 => "in the anniversary month".to_owned(),
                -1 => "the month before the anniversary month".to_owned(),
                n if n < 0 => format!("{} months before the anniversary month", -n),
                1 => "the month after the anniversary month".to_owned(),
                n => format!("{n} months after the anniversary month"),
            };
            let every = if d.every_months == 12 {
                "a year".to_owned()
            } else {
                format!("every {} months", d.every_months)
            };
            format!(
                "${}.{:02} {every}, due {month}",
                d.amount_cents / 100,
                d.amount_cents % 100
            )
        })
        .unwrap_or_default();
    let accreditations = if p.accepted_accreditations.is_empty() {
        "any".to_owned()
    } else {
        p.accepted_accreditations.join(", ")
    };
    let accreditations = if p.accreditation_required {
        format!("{accreditations} (a course must name its accreditation)")
    } else {
        accreditations
    };
    let mut text = details(&[
        ("Slug", p.slug.clone()),
        ("Name", p.name.clone()),
        ("Body", p.body.clone()),
        ("Kind", kind),
        (
            "Cycle",
            mark(
                "cycle_months",
                format!("{} months{}", p.cycle_months, anchor(p)),
            ),
        ),
        ("CE window", mark("ce_window_months", window)),
        (
            "Required",
            mark(
                "required",
                format!("{} per cycle", amount(p.required, &p.unit)),
            ),
        ),
        ("First cycle", mark("first_cycle_per_month", first_cycle)),
        ("Or instead", mark("alternatives", alternatives.join("; "))),
        ("Unit", mark("unit_hours", unit_hours(p))),
        (
            "Minimums",
            mark(
                "category_minimums",
                if p.exclusive_categories && !minimums.is_empty() {
                    format!("{} (a credit counts toward one only)", minimums.join(", "))
                } else {
                    minimums.join(", ")
                },
            ),
        ),
        (
            "From accredited",
            mark("accreditation_minimums", from_accredited.join(", ")),
        ),
        ("Caps", mark("caps", caps.join(", "))),
        ("Limits", mark("activity_limits", limits.join(", "))),
        (
            "Grace",
            mark("grace_days", format!("{} days", p.grace_days)),
        ),
        (
            "Shares courses",
            mark(
                "shares_courses",
                if p.shares_courses { "yes" } else { "no" }.to_owned(),
            ),
        ),
        (
            "Accreditations",
            mark("accepted_accreditations", accreditations),
        ),
        ("Dues", mark("dues", dues)),
        ("Reinstatement", reinstatement(p)),
        ("Confidence", confidence),
        ("Notes", p.notes.clone().unwrap_or_default()),
    ]);
    if !p.sources.is_empty() {
        text.push_str("Sources:\n");
        for source in &p.sources {
            text.push_str(&format!("  {source}\n"));
        }
    }
    text
}
