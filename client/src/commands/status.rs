//! `recert status`: where each of the holder's credentials stands, and what is missing.

use super::Context;
use crate::cli::{Cycle, StatusArgs};
use crate::error::Error;
use crate::model::{ClosedCycle, Compliance};
use crate::render::{Table, amount, unit_for};
use serde::Serialize;

/// The last closed cycle of one credential (`status --cycle previous`).
#[derive(Debug, Serialize)]
pub struct PreviousCycle {
    /// Credential id.
    pub credential_id: String,
    /// Program slug.
    pub program: String,
    /// The cycle as frozen at renewal.
    #[serde(flatten)]
    pub cycle: ClosedCycle,
}

/// Runs `recert status`.
pub async fn run(context: &Context, args: StatusArgs) -> Result<String, Error> {
    if args.cycle == Cycle::Previous {
        return previous(context).await;
    }
    let rows = context.api.compliance(context.holder_id(), args.as_of);
    let out = context.out;
    if out.is_json() {
        return Ok(out.json(&rows.await?));
    }
    let (holder, rows) = tokio::try_join!(context.holder(), rows)?;
    if rows.is_empty() {
        return Ok(format!(
            "{} ({}) has no credentials yet. Add one with: recert cert add PROGRAM --expires DATE\n",
            holder.name, holder.id
        ));
    }
    let title = format!(
        "Status of {} ({}) on {}\n",
        holder.name, holder.id, rows[0].as_of
    );
    Ok(title + &render(&rows, out.color))
}

/// `status --cycle previous`: each credential's last closed cycle, as frozen at renewal.
async fn previous(context: &Context) -> Result<String, Error> {
    let out = context.out;
    let credentials = context.api.credentials(context.holder_id(), None).await?;
    let rows: Vec<PreviousCycle> = credentials
        .into_iter()
        .filter_map(|c| {
            let cycle = c.past_cycles.last()?.clone();
            Some(PreviousCycle {
                credential_id: c.id,
                program: c.program,
                cycle,
            })
        })
        .collect();
    if out.is_json() {
        return Ok(out.json(&rows));
    }
    let holder = context.holder().await?;
    if rows.is_empty() {
        return Ok(format!(
            "{} ({}) has no closed cycle yet (a renewal closes one: recert cert renew ID)\n",
            holder.name, holder.id
        ));
    }
    let mut table = Table::new(&[
        "ID",
        "PROGRAM",
        "ENDED",
        "REQUIRED",
        "EARNED",
        "CATEGORIES",
        "STATUS",
        "COURSES",
    ])
    .right_align(&[3, 4]);
    for row in &rows {
        let c = &row.cycle;
        let figure = |v: Option<crate::credits::Credits>| match (v, &c.unit) {
            (Some(v), Some(unit)) => amount(v, unit),
            _ => "-".to_owned(),
        };
        table.row(vec![
            row.credential_id.clone(),
            row.program.clone(),
            c.ends_on.clone().unwrap_or_else(|| c.expires_on.clone()),
            figure(c.required),
            figure(c.earned),
            if c.categories.is_empty() {
                "-".to_owned()
            } else {
                c.categories
                    .iter()
                    .map(|k| format!("{} {}/{}", k.category, k.earned, k.required))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            c.status
                .map_or_else(|| "not kept".to_owned(), |s| s.label().to_owned()),
            if c.counted_course_ids.is_empty() {
                "-".to_owned()
            } else {
                c.counted_course_ids.join(", ")
            },
        ]);
    }
    Ok(format!(
        "Last closed cycles of {} ({})\n{}",
        holder.name,
        holder.id,
        table.render(out.color)
    ))
}

/// The status table, then one line per status reason ("cr2 ascp-pbt: at risk: behind pace:
/// 3 expected by now"), per caution ("cr3 ascp-pbt: verify with ASCP") and per course not
/// counted ("cr1 nha-cpt: co11 not counted: ...").
fn render(rows: &[Compliance], color: bool) -> String {
    let mut table = Table::new(&[
        "ID",
        "PROGRAM",
        "EXPIRES",
        "UNIT",
        "REQUIRED",
        "EARNED",
        "NEEDED",
        "CATEGORIES",
        "DAYS LEFT",
        "STATUS",
    ])
    .right_align(&[4, 5, 6, 8]);
    for row in rows {
        table.status_row(
            vec![
                row.credential_id.clone(),
                row.program.clone(),
                row.expires_on.clone(),
                unit_for(row.required, &row.unit),
                row.required.to_string(),
                row.earned.to_string(),
                row.remaining.to_string(),
                categories(row),
                row.days_left.to_string(),
            ],
            row.status,
        );
    }
    let mut text = table.render(color);
    for row in rows {
        if let Some(reason) = &row.status_reason {
            text.push_str(&format!(
                "{} {}: {}: {reason}\n",
                row.credential_id,
                row.program,
                row.status.label()
            ));
        }
        if let Some(caution) = &row.caution {
            text.push_str(&format!(
                "{} {}: {caution}\n",
                row.credential_id, row.program
            ));
        }
        for n in &row.not_counted {
            text.push_str(&format!(
                "{} {}: {} not counted: {}\n",
                row.credential_id, row.program, n.course_id, n.detail
            ));
        }
    }
    text
}

/// "safety 0/1, lab 2/3", or "-" for a program without category minimums.
fn categories(row: &Compliance) -> String {
    if row.categories.is_empty() {
        return "-".to_owned();
    }
    row.categories
        .iter()
        .map(|c| format!("{} {}/{}", c.category, c.earned, c.required))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credits::Credits;
    use crate::model::{CategoryProgress, ComplianceStatus};

    fn row() -> Compliance {
        Compliance {
            credential_id: "cr3".into(),
            holder_id: "h1".into(),
            program: "ascp-pbt".into(),
            program_name: "Phlebotomy Technician".into(),
            expires_on: "2026-03-31".into(),
            window_start: "2023-04-01".into(),
            unit: "point".into(),
            required: Credits::from_hundredths(900),
            earned: Credits::from_hundredths(650),
            remaining: Credits::from_hundredths(250),
            days_left: 120,
            status: ComplianceStatus::AtRisk,
            categories: vec![CategoryProgress {
                category: "safety".into(),
                required: Credits::from_hundredths(100),
                earned: Credits::from_hundredths(0),
            }],
            caution: Some("verify with ASCP".into()),
            as_of: "2025-12-01".into(),
            counted_course_ids: Vec::new(),
            counted: Vec::new(),
            not_counted: Vec::new(),
            status_reason: None,
        }
    }

    #[test]
    fn table_shows_progress_and_cautions() {
        let text = render(&[row()], false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for expected in [
            "cr3",
            "ascp-pbt",
            "2026-03-31",
            "9",
            "6.5",
            "2.5",
            "safety 0/1",
            "120",
        ] {
            assert!(lines[1].contains(expected), "{expected} missing in {text}");
        }
        assert!(lines[1].ends_with("at risk"), "{text}");
        assert_eq!(lines[2], "cr3 ascp-pbt: verify with ASCP");
    }
}
