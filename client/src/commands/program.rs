//! `recert program list|show|add|remove`.

use super::Context;
use crate::api::Api;
use crate::cli::{ProgramAddArgs, ProgramCommand};
use crate::error::Error;
use crate::model::{CapLimit, CapRule, Confidence, Deleted, Program, ProgramDraft};
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

/// The `program show` listing, sources last, one per line.
fn show(p: &Program) -> String {
    let minimums: Vec<String> = p
        .category_minimums
        .iter()
        .map(|m| format!("{} {}", m.category, m.minimum))
        .collect();
    let caps: Vec<String> = p.caps.iter().map(describe_cap).collect();
    let confidence = match p.confidence {
        Confidence::Confirmed => "confirmed".to_owned(),
        Confidence::Uncertain => format!("uncertain: {}", caution(p)),
        Confidence::Unspecified => "unspecified".to_owned(),
    };
    let kind = match kind(p) {
        "override" => "local override of a built-in program",
        other => other,
    };
    let mut text = details(&[
        ("Slug", p.slug.clone()),
        ("Name", p.name.clone()),
        ("Body", p.body.clone()),
        ("Kind", kind.to_owned()),
        ("Cycle", format!("{} months", p.cycle_months)),
        (
            "CE window",
            format!("{} months before expiry", p.ce_window_months),
        ),
        (
            "Required",
            format!("{} per cycle", amount(p.required, &p.unit)),
        ),
        ("Unit", unit_hours(p)),
        ("Minimums", minimums.join(", ")),
        ("Caps", caps.join(", ")),
        ("Grace", format!("{} days", p.grace_days)),
        (
            "Shares courses",
            if p.shares_courses { "yes" } else { "no" }.to_owned(),
        ),
        (
            "Accreditations",
            if p.accepted_accreditations.is_empty() {
                "any".to_owned()
            } else {
                p.accepted_accreditations.join(", ")
            },
        ),
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
