//! `recert transcript CREDENTIAL [--cycle current|previous] [--csv]`: every course a cycle
//! counted, with the amount it counted after caps, as a body's audit asks for it.

use super::Context;
use super::cert::resolve_credential;
use crate::cli::{Cycle, TranscriptArgs};
use crate::credits::Credits;
use crate::error::Error;
use crate::model::{ComplianceStatus, CountedCourse, Course, Credential};
use crate::render::{Table, amount, or_dash};
use serde::Serialize;

/// One cycle's transcript (`-o json`).
#[derive(Debug, Serialize)]
pub struct Transcript {
    /// Credential id.
    pub credential_id: String,
    /// Program slug.
    pub program: String,
    /// `current` or `previous`.
    pub cycle: &'static str,
    /// First day of the cycle's CE window; null for a closed cycle whose outcome was not kept.
    pub window_start: Option<String>,
    /// Last day of the cycle.
    pub ends_on: String,
    /// The program's unit.
    pub unit: Option<String>,
    /// Required.
    pub required: Option<Credits>,
    /// Counted after caps.
    pub earned: Option<Credits>,
    /// Status (on the last day, for a closed cycle).
    pub status: Option<ComplianceStatus>,
    /// The counted courses, oldest first.
    pub courses: Vec<TranscriptLine>,
}

/// One counted course.
#[derive(Debug, Serialize)]
pub struct TranscriptLine {
    /// Course id.
    pub course_id: String,
    /// Completion date (null if the course was removed since).
    pub completed_on: Option<String>,
    /// Title (null if the course was removed since).
    pub title: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Accreditation.
    pub accreditation: Option<String>,
    /// Amount as awarded.
    pub awarded: Option<Credits>,
    /// Unit of `awarded`.
    pub awarded_unit: Option<String>,
    /// Amount counted after caps, in the program's unit.
    pub counted: Credits,
    /// Whether a cap counted less than the full amount.
    pub capped: bool,
}

/// Runs `recert transcript`.
pub async fn run(context: &Context, args: TranscriptArgs) -> Result<String, Error> {
    let api = &context.api;
    let credentials = api.credentials(context.holder_id(), None).await?;
    let credential: Credential = if args
        .credential
        .trim()
        .to_ascii_lowercase()
        .starts_with("cr")
        && args.credential.trim()[2..]
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        api.credential(args.credential.trim()).await?
    } else {
        resolve_credential(
            &credentials,
            &context.holder_label(),
            "transcript",
            &args.credential,
        )?
        .clone()
    };
    let courses = api.courses(&credential.holder_id, None).await?;
    let transcript = match args.cycle {
        Cycle::Current => {
            let rows = api.compliance(&credential.holder_id, None).await?;
            let row = rows
                .into_iter()
                .find(|r| r.credential_id == credential.id)
                .ok_or_else(|| Error::Lookup(format!("no standing for {}", credential.id)))?;
            Transcript {
                credential_id: credential.id.clone(),
                program: credential.program.clone(),
                cycle: "current",
                window_start: Some(row.window_start),
                ends_on: row.expires_on,
                unit: Some(row.unit),
                required: Some(row.required),
                earned: Some(row.earned),
                status: Some(row.status),
                courses: lines(&row.counted, &courses),
            }
        }
        Cycle::Previous => {
            let Some(cycle) = credential.past_cycles.last() else {
                return Err(Error::Lookup(format!(
                    "{} has no closed cycle yet (it was never renewed)",
                    credential.id
                )));
            };
            Transcript {
                credential_id: credential.id.clone(),
                program: credential.program.clone(),
                cycle: "previous",
                window_start: cycle.window_start.clone(),
                ends_on: cycle
                    .ends_on
                    .clone()
                    .unwrap_or_else(|| cycle.expires_on.clone()),
                unit: cycle.unit.clone(),
                required: cycle.required,
                earned: cycle.earned,
                status: cycle.status,
                courses: lines(&cycle.counted, &courses),
            }
        }
    };
    if args.csv {
        return csv(&transcript);
    }
    Ok(context
        .out
        .record(&transcript, || render(&transcript, context.out.color)))
}

/// The counted courses with their details, oldest first.
fn lines(counted: &[CountedCourse], courses: &[Course]) -> Vec<TranscriptLine> {
    let mut lines: Vec<TranscriptLine> = counted
        .iter()
        .map(|k| {
            let course = courses.iter().find(|c| c.id == k.course_id);
            TranscriptLine {
                course_id: k.course_id.clone(),
                completed_on: course.map(|c| c.completed_on.clone()),
                title: course.map(|c| c.title.clone()),
                provider: course.and_then(|c| c.provider.clone()),
                accreditation: course.and_then(|c| c.accreditation.clone()),
                awarded: course.map(|c| c.credits),
                awarded_unit: course.map(|c| c.unit.clone()),
                counted: k.amount,
                capped: k.capped,
            }
        })
        .collect();
    lines.sort_by(|a, b| a.completed_on.cmp(&b.completed_on));
    lines
}

/// The heading and the table.
fn render(t: &Transcript, color: bool) -> String {
    let unit = t.unit.clone().unwrap_or_default();
    let figure = |v: Option<Credits>| v.map_or_else(|| "-".to_owned(), |v| amount(v, &unit));
    let mut text = format!(
        "Transcript of {} {} ({} cycle, {} to {}): {} of {} counted, {}\n",
        t.credential_id,
        t.program,
        t.cycle,
        t.window_start.as_deref().unwrap_or("?"),
        t.ends_on,
        figure(t.earned),
        figure(t.required),
        t.status.map_or("status not kept", |s| s.label())
    );
    if t.courses.is_empty() {
        text.push_str("No course counted.\n");
        return text;
    }
    let mut table = Table::new(&[
        "DATE",
        "ID",
        "TITLE",
        "PROVIDER",
        "ACCREDITATION",
        "AWARDED",
        "COUNTED",
    ]);
    for line in &t.courses {
        table.row(vec![
            or_dash(line.completed_on.as_deref()),
            line.course_id.clone(),
            line.title.clone().unwrap_or_else(|| "(removed)".to_owned()),
            or_dash(line.provider.as_deref()),
            or_dash(line.accreditation.as_deref()),
            match (&line.awarded, &line.awarded_unit) {
                (Some(a), Some(u)) => amount(*a, u),
                _ => "-".to_owned(),
            },
            format!(
                "{}{}",
                amount(line.counted, &unit),
                if line.capped { " (capped)" } else { "" }
            ),
        ]);
    }
    text + &table.render(color)
}

/// The transcript as CSV: a header line, then one line per counted course.
fn csv(t: &Transcript) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let unit = t.unit.clone().unwrap_or_default();
    let write = |w: &mut csv::Writer<Vec<u8>>, record: &[String]| {
        w.write_record(record)
            .map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))
    };
    write(
        &mut writer,
        &[
            "credential_id",
            "program",
            "cycle_ends_on",
            "course_id",
            "completed_on",
            "title",
            "provider",
            "accreditation",
            "awarded",
            "awarded_unit",
            "counted",
            "counted_unit",
            "capped",
        ]
        .map(String::from),
    )?;
    for line in &t.courses {
        write(
            &mut writer,
            &[
                t.credential_id.clone(),
                t.program.clone(),
                t.ends_on.clone(),
                line.course_id.clone(),
                line.completed_on.clone().unwrap_or_default(),
                line.title.clone().unwrap_or_default(),
                line.provider.clone().unwrap_or_default(),
                line.accreditation.clone().unwrap_or_default(),
                line.awarded.map(|a| a.to_string()).unwrap_or_default(),
                line.awarded_unit.clone().unwrap_or_default(),
                line.counted.to_string(),
                unit.clone(),
                line.capped.to_string(),
            ],
        )?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))
}
