//! `recert team status [TEAM] [--status ...] [--program SLUG] [--within SPAN] [--csv]`: the
//! supervisor's board, one row per member credential, worst first.

use super::Context;
use crate::cli::{StatusFilter, TeamStatusArgs};
use crate::error::Error;
use crate::model::{CompetencyRow, ComplianceStatus, TeamStatusQuery, TeamStatusRow};
use crate::render::{Table, amount};
use crate::spelling::normalize_slug;

/// Runs `recert team status`.
pub async fn run(context: &Context, args: TeamStatusArgs) -> Result<String, Error> {
    let query = TeamStatusQuery {
        team: args.team.clone(),
        statuses: args
            .status
            .iter()
            .map(|s| match s {
                StatusFilter::Expired => ComplianceStatus::Expired,
                StatusFilter::InGrace => ComplianceStatus::InGrace,
                StatusFilter::AtRisk => ComplianceStatus::AtRisk,
                StatusFilter::OnTrack => ComplianceStatus::OnTrack,
                StatusFilter::Met => ComplianceStatus::Met,
            })
            .collect(),
        program: args.program.as_deref().map(normalize_slug),
        within_days: args.within,
        as_of: args.as_of,
    };
    let (rows, competencies) = context.api.team_status(&query).await.map_err(|e| {
        e.in_terms_of_flags(&[
            ("team", "TEAM"),
            ("program", "--program"),
            ("within_days", "--within"),
            ("as_of", "--as-of"),
        ])
    })?;
    if args.csv {
        return csv(&rows);
    }
    let out = context.out;
    if out.is_json() {
        return Ok(out.json(&rows));
    }
    let whose = args
        .team
        .as_deref()
        .map_or_else(|| "your teams".to_owned(), |t| format!("team {t}"));
    if rows.is_empty() && competencies.is_empty() {
        return Ok(format!("No credentials to show for {whose}.\n"));
    }
    let mut text = format!("Team status of {whose}\n");
    if rows.is_empty() {
        text.push_str("No credentials to show.\n");
    } else {
        text.push_str(&render(&rows, out.color));
    }
    let reasons: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.status_reason.as_ref().map(|why| {
                format!(
                    "{} {} ({}): {}: {why}\n",
                    r.credential_id,
                    r.program,
                    r.holder_name,
                    r.status.label()
                )
            })
        })
        .collect();
    if !reasons.is_empty() {
        text.push('\n');
        text.extend(reasons);
    }
    if !competencies.is_empty() {
        text.push_str("\nCompetencies due (overdue first):\n");
        text.push_str(&render_competencies(&competencies, out.color));
    }
    Ok(text)
}

/// The categories a row is short in, "safety 0/1, clinical 2/10"; empty when none.
pub fn short_categories(row: &TeamStatusRow) -> String {
    row.categories
        .iter()
        .filter(|c| c.earned < c.required)
        .map(|c| format!("{} {}/{}", c.category, c.earned, c.required))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "2026-11-02" when the current cycle was checked and found active; "no" when never
/// checked; "no (2025-01-10)" when the latest check is stale or saw something else.
pub fn verified_cell(row: &TeamStatusRow) -> String {
    match (&row.last_verified_on, row.unverified) {
        (Some(on), false) => on.clone(),
        (Some(on), true) => format!("no ({on})"),
        (None, _) => "no".into(),
    }
}

/// The members' due and overdue competencies as a table.
fn render_competencies(rows: &[CompetencyRow], color: bool) -> String {
    let mut table = Table::new(&[
        "NAME", "HOLDER", "PROGRAM", "SKILL", "LAST", "NEXT DUE", "STATUS",
    ]);
    let date = |d: Option<jiff::civil::Date>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    for r in rows {
        table.row(vec![
            r.holder_name.clone(),
            r.holder_id.clone(),
            r.program.clone(),
            r.skill.clone(),
            date(r.last_assessed_on),
            date(r.next_due),
            r.status.replace('_', " "),
        ]);
    }
    table.render(color)
}

/// The board as a table; the status word is last so it can be coloured.
fn render(rows: &[TeamStatusRow], color: bool) -> String {
    let mut table = Table::new(&[
        "NAME",
        "HOLDER",
        "CREDENTIAL",
        "PROGRAM",
        "EXPIRES",
        "DAYS LEFT",
        "NEEDED",
        "SHORT",
        "VERIFIED",
        "STATUS",
    ])
    .right_align(&[5]);
    for r in rows {
        let short = short_categories(r);
        table.status_row(
            vec![
                r.holder_name.clone(),
                r.holder_id.clone(),
                r.credential_id.clone(),
                r.program.clone(),
                r.expires_on.clone(),
                r.days_left.to_string(),
                amount(r.remaining, &r.unit),
                if short.is_empty() { "-".into() } else { short },
                verified_cell(r),
            ],
            r.status,
        );
    }
    table.render(color)
}

/// `--csv`: a header line, then one line per row (amounts in the program's unit).
fn csv(rows: &[TeamStatusRow]) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Error::Usage(format!("cannot write CSV: {e}"));
    writer
        .write_record([
            "holder_id",
            "holder_name",
            "credential_id",
            "program",
            "expires_on",
            "days_left",
            "required",
            "earned",
            "remaining",
            "unit",
            "categories_short",
            "status",
            "status_reason",
            "last_verified_on",
            "unverified",
        ])
        .map_err(failed)?;
    for r in rows {
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        writer
            .write_record([
                r.holder_id.clone(),
                r.holder_name.clone(),
                r.credential_id.clone(),
                r.program.clone(),
                r.expires_on.clone(),
                r.days_left.to_string(),
                r.required.to_string(),
                r.earned.to_string(),
                r.remaining.to_string(),
                r.unit.clone(),
                short_categories(r),
                status,
                r.status_reason.clone().unwrap_or_default(),
                r.last_verified_on.clone().unwrap_or_default(),
                r.unverified.to_string(),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))
}
