//! `recert course log|list|show|edit|remove`: completed CE activities.

use super::cert::resolve_credential;
use super::{Context, whose};
use crate::cli::{CourseCommand, CourseEditArgs, CourseLogArgs};
use crate::error::Error;
use crate::model::{Compliance, Course, CourseChanges, Deleted, NewCourse};
use crate::render::{Table, amount, details, list_or_dash, or_dash, unit_for};

/// Runs one course command.
pub async fn run(context: &Context, command: CourseCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        CourseCommand::Log(args) if args.team.is_some() || !args.holders.is_empty() => {
            let courses = log_for_several(context, args).await?;
            if out.is_json() {
                return Ok(out.json(&courses));
            }
            let mut text = format!("Logged {} courses:\n", courses.len());
            for c in &courses {
                text.push_str(&format!("  {} for {}: {}\n", c.id, c.holder_id, summary(c)));
            }
            Ok(text)
        }
        CourseCommand::Log(args) => {
            let course = log(context, args).await?;
            // A course that counts toward nothing is kept (the holder may add the credential
            // later), but said so: a typo in the date is the usual cause.
            let standing = api.compliance(&course.holder_id, None).await?;
            if !standing.is_empty()
                && !standing
                    .iter()
                    .any(|c| c.counted_course_ids.contains(&course.id))
            {
                let why: Vec<String> = standing
                    .iter()
                    .filter_map(|c| {
                        c.not_counted
                            .iter()
                            .find(|n| n.course_id == course.id)
                            .map(|n| format!("{} {}: {}", c.credential_id, c.program, n.detail))
                    })
                    .collect();
                let warning = format!(
                    "{} ({}) counts toward none of the holder's credentials{}",
                    course.id,
                    course.completed_on,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join("; "))
                    }
                );
                eprintln!("warning: {}", crate::render::terminal_safe(&warning, false));
            }
            Ok(out.record(&course, || {
                format!("Logged course {}: {}", course.id, summary(&course))
            }))
        }
        CourseCommand::List(list) => {
            let courses = api.courses(context.holder_id(), list.limit());
            if out.is_json() {
                return Ok(out.json(&courses.await?));
            }
            let standing = api.compliance(context.holder_id(), None);
            let (holder, courses, standing) =
                tokio::try_join!(context.holder(), courses, standing)?;
            if courses.is_empty() {
                return Ok(
                    "No courses yet. Log one with: recert course log TITLE --credits N\n"
                        .to_owned(),
                );
            }
            Ok(whose(&holder, "Courses") + &table(&courses, &standing).render(out.color))
        }
        CourseCommand::Show { id } => {
            let course = api.course(&id).await?;
            if out.is_json() {
                return Ok(out.json(&course));
            }
            let standing = api.compliance(&course.holder_id, None).await?;
            Ok(show(&course, &standing))
        }
        CourseCommand::Edit(args) => {
            let course = edit(context, args).await?;
            Ok(out.record(&course, || {
                format!("Updated course {}: {}", course.id, summary(&course))
            }))
        }
        CourseCommand::Remove { id } => {
            api.delete_course(&id).await?;
            let deleted = Deleted { deleted: id };
            Ok(out.record(&deleted, || format!("Removed course {}", deleted.deleted)))
        }
    }
}

/// Logs a course for the selected holder. Without `--date` the daemon dates it today in the
/// holder's time zone, which may differ from this computer's date.
async fn log(context: &Context, args: CourseLogArgs) -> Result<Course, Error> {
    let holder_id = context.holder_id();
    let credential_ids = resolve_pins(
        context,
        holder_id,
        &context.holder_label(),
        &args.for_credentials,
    )
    .await?;
    let course = NewCourse {
        holder_id: holder_id.to_owned(),
        title: args.title,
        provider: args.provider,
        accreditation: args.accreditation,
        completed_on: args.date,
        credits: args.credits,
        unit: args.unit,
        categories: args.category,
        format: args.format,
        credential_ids,
        evidence: args.evidence,
    };
    context
        .api
        .create_course(course, args.allow_duplicate)
        .await
        .map_err(allow_duplicate_flag)
}

/// The server's refusal of a twin course names its request field; the user typed a flag.
fn allow_duplicate_flag(e: Error) -> Error {
    match e {
        Error::Server {
            code,
            message,
            violations,
        } => Error::Server {
            code,
            message: message.replace("with allow_duplicate", "with --allow-duplicate"),
            violations,
        },
        other => other,
    }
}

/// `course log --team T` / `--holders A,B`: one course for each, in one transaction.
async fn log_for_several(context: &Context, args: CourseLogArgs) -> Result<Vec<Course>, Error> {
    let mut holder_ids = Vec::with_capacity(args.holders.len());
    for holder in args.holders.iter().filter(|h| !h.trim().is_empty()) {
        holder_ids.push(super::holder_by_name(&context.api, holder, "--holders").await?);
    }
    let course = NewCourse {
        holder_id: String::new(),
        title: args.title,
        provider: args.provider,
        accreditation: args.accreditation,
        completed_on: args.date,
        credits: args.credits,
        unit: args.unit,
        categories: args.category,
        format: args.format,
        credential_ids: Vec::new(),
        evidence: args.evidence,
    };
    context
        .api
        .create_courses(course, holder_ids, args.team, args.allow_duplicate)
        .await
        .map_err(|e| {
            allow_duplicate_flag(e)
                .in_terms_of_flags(&[("holder_ids", "--holders"), ("team", "--team")])
        })
}

/// Applies `course edit`; `--for` slugs resolve against the course's own holder.
async fn edit(context: &Context, args: CourseEditArgs) -> Result<Course, Error> {
    let credential_ids = if args.clear_for {
        Some(Vec::new())
    } else if args.for_credentials.is_empty() {
        None
    } else {
        let holder_id = context.api.course(&args.id).await?.holder_id;
        let whose = format!("holder {holder_id}");
        Some(resolve_pins(context, &holder_id, &whose, &args.for_credentials).await?)
    };
    let categories = if args.clear_categories {
        Some(Vec::new())
    } else if args.category.is_empty() {
        None
    } else {
        Some(args.category)
    };
    let changes = CourseChanges {
        title: args.title,
        provider: args.provider,
        accreditation: args.accreditation,
        completed_on: args.date,
        credits: args.credits,
        unit: args.unit,
        categories,
        format: args.format,
        credential_ids,
        evidence: args.evidence,
    };
    context.api.update_course(&args.id, changes).await
}

/// Turns `--for` values (credential ids or program slugs) into the holder's credential ids;
/// `whose` names the holder in errors.
async fn resolve_pins(
    context: &Context,
    holder_id: &str,
    whose: &str,
    values: &[String],
) -> Result<Vec<String>, Error> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let credentials = context.api.credentials(holder_id, None).await?;
    let mut ids: Vec<String> = Vec::new();
    for value in values {
        let id = &resolve_credential(&credentials, whose, "--for", value)?.id;
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

/// "Needle safety, 2.5 hours on 2025-01-10 (counts only toward cr3)".
fn summary(course: &Course) -> String {
    let pins = if course.credential_ids.is_empty() {
        String::new()
    } else {
        format!(" (counts only toward {})", course.credential_ids.join(", "))
    };
    format!(
        "{}, {} on {}{pins}",
        course.title,
        amount(course.credits, &course.unit),
        course.completed_on
    )
}

/// The `course list` table, oldest course first (the server lists them by id). COUNTS
/// TOWARD is what each course counts toward today, with the amount after caps (trial 2.10:
/// a FOR column said only "any" or the pin); a pin is marked `(pinned)`.
fn table(courses: &[Course], standing: &[Compliance]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "DATE",
        "TITLE",
        "PROVIDER",
        "FORMAT",
        "CREDITS",
        "UNIT",
        "HOURS",
        "CATEGORIES",
        "COUNTS TOWARD",
    ])
    .right_align(&[5, 7]);
    let mut by_date: Vec<&Course> = courses.iter().collect();
    // Ids are "co" and a number: co9 comes before co10.
    let number = |id: &str| {
        id.trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse::<u64>()
            .ok()
    };
    by_date.sort_by(|a, b| {
        (&a.completed_on, number(&a.id), &a.id).cmp(&(&b.completed_on, number(&b.id), &b.id))
    });
    for c in by_date {
        table.row(vec![
            c.id.clone(),
            c.completed_on.clone(),
            c.title.clone(),
            or_dash(c.provider.as_deref()),
            or_dash(c.format.as_deref()),
            c.credits.to_string(),
            unit_for(c.credits, &c.unit),
            c.hours.to_string(),
            list_or_dash(&c.categories),
            counted_cell(c, standing),
        ]);
    }
    table
}

/// One cell of what the course counts toward now: "cr2 4.5 points (capped), cr3 1 hour",
/// "nothing", with "(pinned)" after a pinned course's list.
fn counted_cell(c: &Course, standing: &[Compliance]) -> String {
    let toward: Vec<String> = standing
        .iter()
        .filter_map(|row| {
            if let Some(counted) = row.counted.iter().find(|k| k.course_id == c.id) {
                Some(format!(
                    "{} {}{}",
                    row.credential_id,
                    amount(counted.amount, &row.unit),
                    if counted.capped { " (capped)" } else { "" }
                ))
            } else if row.counted_course_ids.contains(&c.id) {
                Some(format!("{} work hours", row.credential_id))
            } else {
                None
            }
        })
        .collect();
    let cell = if toward.is_empty() {
        "nothing".to_owned()
    } else {
        toward.join(", ")
    };
    if c.credential_ids.is_empty() {
        cell
    } else {
        format!("{cell} (pinned)")
    }
}

/// What the course counts toward now ("cr2 ascp-pbt: 4.5 points (capped)"), one per line,
/// then the credentials that do not count it, with why.
fn counts_toward(c: &Course, standing: &[Compliance]) -> (String, String) {
    let mut toward = Vec::new();
    let mut not = Vec::new();
    for row in standing {
        if let Some(counted) = row.counted.iter().find(|k| k.course_id == c.id) {
            toward.push(format!(
                "{} {}: {}{}",
                row.credential_id,
                row.program,
                amount(counted.amount, &row.unit),
                if counted.capped { " (capped)" } else { "" }
            ));
        } else if row.counted_course_ids.contains(&c.id) {
            toward.push(format!("{} {}: work hours", row.credential_id, row.program));
        } else if let Some(n) = row.not_counted.iter().find(|n| n.course_id == c.id) {
            not.push(format!(
                "{} {}: {}",
                row.credential_id, row.program, n.detail
            ));
        }
    }
    let toward = if toward.is_empty() {
        "nothing".to_owned()
    } else {
        toward.join("; ")
    };
    (
        toward,
        if not.is_empty() {
            "-".to_owned()
        } else {
            not.join("; ")
        },
    )
}

/// The `course show` listing.
fn show(c: &Course, standing: &[Compliance]) -> String {
    let (toward, not) = counts_toward(c, standing);
    details(&[
        ("Id", c.id.clone()),
        ("Holder", c.holder_id.clone()),
        ("Title", c.title.clone()),
        ("Completed", c.completed_on.clone()),
        ("Credits", amount(c.credits, &c.unit)),
        ("Contact hours", c.hours.to_string()),
        ("Provider", c.provider.clone().unwrap_or_default()),
        ("Accreditation", c.accreditation.clone().unwrap_or_default()),
        ("Format", c.format.clone().unwrap_or_default()),
        ("Categories", c.categories.join(", ")),
        (
            "Pinned to",
            if c.credential_ids.is_empty() {
                "-".to_owned()
            } else {
                c.credential_ids.join(", ")
            },
        ),
        ("Counts toward", toward),
        ("Not counted by", not),
        ("Evidence", c.evidence.clone().unwrap_or_default()),
    ])
}
