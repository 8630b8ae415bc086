//! `recert competency log|assign|status|programs`.

use super::Context;
use crate::cli::{AssessmentResult, CompetencyCommand};
use crate::error::Error;
use crate::model::{CompetencyRow, NewAssessment};
use crate::render::{Table, or_dash};

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
        CompetencyCommand::Programs => {
            let programs = api.competency_programs().await?;
            if out.is_json() {
                return Ok(out.json(&programs));
            }
            let mut text = String::new();
            for p in &programs {
                let initial: Vec<String> = p.initial_months.iter().map(u32::to_string).collect();
                text.push_str(&format!(
                    "{}  {}\n  due {} months after hire, then every {} months; remediate: {} days\n",
                    p.slug,
                    p.name,
                    initial.join(" and "),
                    p.every_months,
                    p.remediate_days
                ));
                for (n, e) in p.elements.iter().enumerate() {
                    text.push_str(&format!("  {}. {e}\n", n + 1));
                }
            }
            Ok(text)
        }
    }
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
