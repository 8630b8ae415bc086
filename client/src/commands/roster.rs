//! `recert roster template|import FILE.csv [--dry-run]`: holders, their teams and their
//! credentials from one spreadsheet.
//!
//! The file is read and its shape checked here (header, columns, one value per column);
//! every cell is checked by the server, which answers every bad one at once. Each error is
//! printed as `line N, column C (name): message`, and nothing is written unless all is well;
//! then one request writes everything in one transaction.

use super::Context;
use crate::cli::RosterCommand;
use crate::error::Error;
use crate::model::{RosterReport, RosterRow};
use crate::render::Table;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;

/// The columns, in the template's order.
pub const COLUMNS: [&str; 9] = [
    "name",
    "email",
    "time_zone",
    "hired_on",
    "team",
    "program",
    "number",
    "issued_on",
    "expires_on",
];

/// Columns every file must have.
const REQUIRED: [&str; 2] = ["name", "email"];

/// What `roster template` prints.
pub const TEMPLATE: &str = "name,email,time_zone,hired_on,team,program,number,issued_on,expires_on\n\
Ana Ruiz,ana.ruiz@example.org,America/Chicago,2024-03-01,Day lab,nha-cpt,12345678,2024-05-01,2026-05-01\n";

/// Runs one roster command.
pub async fn run(context: &Context, command: RosterCommand) -> Result<String, Error> {
    match command {
        RosterCommand::Template => Ok(TEMPLATE.to_owned()),
        RosterCommand::Import { file, dry_run } => import(context, &file, dry_run).await,
    }
}

/// A progress bar on a terminal's stderr; hidden when stderr is not a terminal.
fn bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {percent}%") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn import(context: &Context, file: &Path, dry_run: bool) -> Result<String, Error> {
    let (header, rows) = read(file)?;
    let count = rows.len();
    let progress = bar(count as u64);
    progress.set_message(if dry_run {
        "checking the roster"
    } else {
        "importing the roster"
    });
    progress.enable_steady_tick(std::time::Duration::from_millis(120));
    let lines: Vec<u32> = rows.iter().map(|r| r.line).collect();
    let answer = context.api.import_roster(rows, dry_run).await;
    progress.set_position(count as u64);
    progress.finish_and_clear();
    let report = answer.map_err(|e| cells(e, &header, &lines))?;
    let out = context.out;
    Ok(out.record(&report, || render(&report, file, out.color)))
}

/// Reads the file: the header names the columns; every row has one value per column.
/// Problems of shape are all reported at once, by line.
fn read(file: &Path) -> Result<(Vec<String>, Vec<RosterRow>), Error> {
    let text = std::fs::read(file)
        .map_err(|e| Error::Lookup(format!("cannot read {}: {e}", file.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_slice());
    let mut problems = Vec::new();
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Lookup(format!("{}: line 1: {e}", file.display())))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(Error::Lookup(format!(
            "{}: line 1: the header row is missing (see: recert roster template)",
            file.display()
        )));
    }
    for (i, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "line 1, column {} ({name}): unknown column (the columns are {})",
                i + 1,
                COLUMNS.join(", ")
            ));
        } else if header[..i].contains(name) {
            problems.push(format!(
                "line 1, column {} ({name}): a second {name} column",
                i + 1
            ));
        }
    }
    for required in REQUIRED {
        if !header.iter().any(|h| h == required) {
            problems.push(format!(
                "line 1: the {required} column is missing (see: recert roster template)"
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line) as u32;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            problems.push(format!(
                "line {line}: {} values for {} columns",
                record.len(),
                header.len()
            ));
            continue;
        }
        let mut row = RosterRow {
            line,
            ..RosterRow::default()
        };
        for (name, value) in header.iter().zip(record.iter()) {
            let value = value.to_owned();
            match name.as_str() {
                "name" => row.name = value,
                "email" => row.email = value,
                "time_zone" => row.time_zone = value,
                "hired_on" => row.hired_on = value,
                "team" => row.team = value,
                "program" => row.program = value,
                "number" => row.number = value,
                "issued_on" => row.issued_on = value,
                "expires_on" => row.expires_on = value,
                _ => {}
            }
        }
        rows.push(row);
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push("the file has a header but no rows".into());
    }
    if !problems.is_empty() {
        return Err(listed(file, problems));
    }
    Ok((header, rows))
}

/// Every problem on a line of its own, after how many there are; nothing was written.
fn listed(file: &Path, problems: Vec<String>) -> Error {
    let n = problems.len();
    Error::Lookup(format!(
        "{} has {n} problem{}; nothing was imported:\n{}",
        file.display(),
        if n == 1 { "" } else { "s" },
        problems.join("\n")
    ))
}

/// The server's cell errors (`rows[3].email`) as `line N, column C (email): message`.
fn cells(error: Error, header: &[String], lines: &[u32]) -> Error {
    let Error::Server {
        message,
        violations,
        ..
    } = &error
    else {
        return error;
    };
    if violations.is_empty() {
        return Error::Lookup(message.clone());
    }
    let problems: Vec<String> = violations
        .iter()
        .map(|v| {
            let place = v
                .field
                .strip_prefix("rows[")
                .and_then(|rest| rest.split_once("]."))
                .and_then(|(index, column)| {
                    let line = lines.get(index.parse::<usize>().ok()?)?;
                    Some(match header.iter().position(|h| h == column) {
                        Some(c) => format!("line {line}, column {} ({column})", c + 1),
                        None => format!("line {line} ({column})"),
                    })
                });
            match place {
                Some(place) => format!("{place}: {}", v.description),
                None => v.description.clone(),
            }
        })
        .collect();
    let n = problems.len();
    Error::Lookup(format!(
        "the roster has {n} problem{}; nothing was imported:\n{}",
        if n == 1 { "" } else { "s" },
        problems.join("\n")
    ))
}

/// The answer as a table, after a line that says what was (or would be) done.
fn render(report: &RosterReport, file: &Path, color: bool) -> String {
    let count = |kind: &str, outcome: &str| {
        report
            .actions
            .iter()
            .filter(|a| a.kind == kind && a.outcome == outcome)
            .count()
    };
    let summary = format!(
        "{} holders created, {} existing (left as they are); {} teams created; {} added to teams; {} credentials created, {} already held",
        count("holder", "created"),
        count("holder", "existing"),
        count("team", "created"),
        count("membership", "added"),
        count("credential", "created"),
        count("credential", "existing"),
    );
    let mut text = if report.dry_run {
        format!(
            "Dry run of {}: nothing was written. It would do: {summary}\n",
            file.display()
        )
    } else {
        format!("Imported {}: {summary}\n", file.display())
    };
    let mut table = Table::new(&["LINE", "KIND", "OUTCOME", "ID", "WHAT"]).right_align(&[0]);
    for a in &report.actions {
        table.row(vec![
            a.line.to_string(),
            a.kind.clone(),
            if report.dry_run && a.outcome == "created" {
                "would create".into()
            } else if report.dry_run && a.outcome == "added" {
                "would add".into()
            } else {
                a.outcome.clone()
            },
            a.id.clone().unwrap_or_else(|| "-".into()),
            a.description.clone(),
        ]);
    }
    text.push_str(&table.render(color));
    text
}
