//! `recert competency log|assign|status|programs|program list|add|edit|remove`.

use super::Context;
use crate::cli::{AssessmentResult, CompetencyCommand, CompetencyProgramCommand};
use crate::error::Error;
use crate::model::{CompetencyProgram, CompetencyRow, NewAssessment};
use crate::render::{Table, or_dash};
use serde::Deserialize;

/// Runs one competency command.
pub async fn run(context: &Context, command: CompetencyCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        CompetencyCommand::Log {
            person: holder,
            program,
            skill,
            date,
            assessor,
            elements,
            result,
            note,
        } => {
            let result = match result {
                AssessmentResult::Pass => "pass",
                AssessmentResult::Remediate => "remediate",
            };
            let row = api
                .log_assessment(NewAssessment {
                    holder,
                    program,
                    skill,
                    date,
                    assessor,
                    elements: elements.0,
                    result: result.to_owned(),
                    note,
                })
                .await?;
            Ok(out.record(&row, || {
                format!(
                    "Logged {} ({}) for {} ({}): {result}; next due {}",
                    row.skill,
                    row.program,
                    row.holder_name,
                    row.holder_id,
                    or_dash(row.next_due.map(|d| d.to_string()).as_deref())
                )
            }))
        }
        CompetencyCommand::Assign {
            person: holder,
            program,
            skill,
        } => {
            let row = api.assign_competency(&holder, &program, &skill).await?;
            Ok(out.record(&row, || {
                format!(
                    "Tracking {} ({}) for {} ({}); next due {}",
                    row.skill,
                    row.program,
                    row.holder_name,
                    row.holder_id,
                    or_dash(row.next_due.map(|d| d.to_string()).as_deref())
                )
            }))
        }
        CompetencyCommand::Status { team } => {
            let rows = api
                .competency_status(context.holder_id(), team.as_deref())
                .await?;
            if out.is_json() {
                return Ok(out.json(&rows));
            }
            if rows.is_empty() {
                return Ok(
                    "No competencies tracked yet. Log one with: recert competency log \
                           HOLDER --program clia-testing --skill S --assessor NAME --elements \
                           1,2,3,4,5,6 --result pass\n"
                        .to_owned(),
                );
            }
            Ok(table(&rows).render(out.color))
        }
        CompetencyCommand::Programs => list_programs(context).await,
        CompetencyCommand::Program(command) => program(context, command).await,
    }
}

/// Runs one `competency program` command.
async fn program(context: &Context, command: CompetencyProgramCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        CompetencyProgramCommand::List => list_programs(context).await,
        CompetencyProgramCommand::Add { file } => {
            let program = read_program_file(&file)?;
            let stored = api.put_competency_program(program, true).await?;
            Ok(out.record(&stored, || {
                let what = if stored.overrides_builtin {
                    "the lab's edit of built-in competency program"
                } else {
                    "competency program"
                };
                format!("Added {what} {}: {}", stored.slug, stored.name)
            }))
        }
        CompetencyProgramCommand::Edit(args) => {
            let slug = args.slug.trim().to_ascii_lowercase();
            let current = api
                .competency_programs()
                .await?
                .into_iter()
                .find(|p| p.slug == slug)
                .ok_or_else(|| {
                    Error::Lookup(format!(
                        "{slug:?} is not a competency program (see: recert competency program list)"
                    ))
                })?;
            let edited = match &args.file {
                Some(file) => {
                    let program = read_program_file(file)?;
                    if program.slug != slug {
                        return Err(Error::Usage(format!(
                            "{} is program {:?}, not {slug:?}",
                            file.display(),
                            program.slug
                        )));
                    }
                    program
                }
                None => {
                    let mut p = current.clone();
                    if let Some(name) = args.name {
                        p.name = name;
                    }
                    if !args.element.is_empty() {
                        p.elements = args.element;
                    }
                    if let Some(months) = args.initial_months {
                        p.initial_months = months.0;
                    }
                    if let Some(n) = args.every_months {
                        p.every_months = n;
                    }
                    if let Some(n) = args.remediate_days {
                        p.remediate_days = n;
                    }
                    if let Some(notes) = args.notes {
                        p.notes = notes;
                    }
                    p
                }
            };
            // A built-in program not yet edited is stored as the lab's edit of it.
            let create = current.origin == "builtin";
            let stored = api.put_competency_program(edited, create).await?;
            Ok(out.record(&stored, || {
                let initial: Vec<String> =
                    stored.initial_months.iter().map(u32::to_string).collect();
                format!(
                    "Changed competency program {}: due {} months after hire, then every {} months; remediate: {} days",
                    stored.slug,
                    or_dash(Some(initial.join(" and ").as_str()).filter(|s| !s.is_empty())),
                    stored.every_months,
                    stored.remediate_days
                )
            }))
        }
        CompetencyProgramCommand::Remove { slug } => {
            let slug = slug.trim().to_ascii_lowercase();
            let builtin = api
                .competency_programs()
                .await?
                .into_iter()
                .find(|p| p.slug == slug)
                .map(|p| p.overrides_builtin || p.origin == "builtin");
            api.delete_competency_program(&slug).await?;
            let text = if builtin == Some(true) {
                format!("Removed the lab's edit of {slug}; the built-in program is in force again")
            } else {
                format!("Removed competency program {slug}")
            };
            Ok(out.record(&serde_json::json!({ "removed": slug }), || text))
        }
    }
}

/// The competency programs in force: a table, or JSON.
async fn list_programs(context: &Context) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    let programs = api.competency_programs().await?;
    if out.is_json() {
        return Ok(out.json(&programs));
    }
    let mut table = Table::new(&[
        "SLUG",
        "ORIGIN",
        "NAME",
        "ELEMENTS",
        "INITIAL",
        "EVERY",
        "REMEDIATE",
    ]);
    for p in &programs {
        let initial: Vec<String> = p.initial_months.iter().map(u32::to_string).collect();
        let origin = if p.overrides_builtin {
            "local (edits built-in)"
        } else {
            p.origin.as_str()
        };
        table.row(vec![
            p.slug.clone(),
            origin.to_owned(),
            p.name.clone(),
            p.elements.len().to_string(),
            or_dash(Some(initial.join(",").as_str()).filter(|s| !s.is_empty())),
            format!("{} mo", p.every_months),
            format!("{} d", p.remediate_days),
        ]);
    }
    let mut text = table.render(out.color);
    for p in &programs {
        text.push_str(&format!("\n{}  {}\n", p.slug, p.name));
        for (n, e) in p.elements.iter().enumerate() {
            text.push_str(&format!("  {}. {e}\n", n + 1));
        }
    }
    Ok(text)
}

/// One competency program as a TOML file gives it: the keys of a `[[competency]]` table of
/// the daemon's catalog/competencies.toml, at the top level or as the file's one
/// `[[competency]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    slug: String,
    name: String,
    elements: Vec<String>,
    #[serde(default)]
    initial_months: Vec<u32>,
    every_months: u32,
    #[serde(default = "default_remediate_days")]
    remediate_days: u32,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    notes: String,
}

fn default_remediate_days() -> u32 {
    30
}

/// A file holding `[[competency]]` tables (as the catalog does).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    competency: Vec<ProgramFile>,
}

/// Reads and parses a program file, with one clear error naming the file (and, from the TOML
/// parser, the line and key) when it cannot be used.
fn read_program_file(path: &std::path::Path) -> Result<CompetencyProgram, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let parsed = if text.contains("[[competency]]") {
        let mut file: CatalogFile = toml::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: {}", path.display(), e.message())))?;
        if file.competency.len() != 1 {
            return Err(Error::Usage(format!(
                "{} holds {} [[competency]] tables; give one program per file",
                path.display(),
                file.competency.len()
            )));
        }
        file.competency.remove(0)
    } else {
        toml::from_str::<ProgramFile>(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            Error::Usage(format!("{}{at}: {}", path.display(), e.message()))
        })?
    };
    Ok(CompetencyProgram {
        slug: parsed.slug.trim().to_ascii_lowercase(),
        name: parsed.name,
        elements: parsed.elements,
        initial_months: parsed.initial_months,
        every_months: parsed.every_months,
        remediate_days: parsed.remediate_days,
        sources: parsed.sources,
        notes: parsed.notes,
        origin: "local".to_owned(),
        overrides_builtin: false,
    })
}

fn table(rows: &[CompetencyRow]) -> Table {
    let mut table = Table::new(&[
        "HOLDER", "NAME", "PROGRAM", "SKILL", "LAST", "RESULT", "NEXT DUE", "STATUS",
    ]);
    for r in rows {
        table.row(vec![
            r.holder_id.clone(),
            r.holder_name.clone(),
            r.program.clone(),
            r.skill.clone(),
            or_dash(r.last_assessed_on.map(|d| d.to_string()).as_deref()),
            or_dash(r.last_result.as_deref()),
            or_dash(r.next_due.map(|d| d.to_string()).as_deref()),
            r.status.clone(),
        ]);
    }
    table
}
