//! `recert status`: where each of the holder's credentials stands, and what is missing.

use super::Context;
use crate::cli::StatusArgs;
use crate::error::Error;
use crate::model::Compliance;
use crate::render::{Table, unit_for};

/// Runs `recert status`.
pub async fn run(context: &Context, args: StatusArgs) -> Result<String, Error> {
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

/// The status table, then one line per caution ("cr3 ascp-pbt: verify with ASCP").
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
        if let Some(caution) = &row.caution {
            text.push_str(&format!(
                "{} {}: {caution}\n",
                row.credential_id, row.program
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
