//! `recert deadlines`: upcoming expiries for the whole team (or one holder), soonest first.

use super::Context;
use crate::cli::DeadlinesArgs;
use crate::error::Error;
use crate::model::{Deadline, DeadlineQuery};
use crate::render::{Table, unit_for};

/// Runs `recert deadlines`.
///
/// A supervisor wants the team, so all holders is the default; `--holder` (or
/// `RECERT_HOLDER`) narrows to one, and `--all-holders` overrides that again.
pub async fn run(context: &Context, args: DeadlinesArgs) -> Result<String, Error> {
    let holder_id = if context.holder.is_some() && !args.all_holders {
        Some(context.holder_id().to_owned())
    } else {
        None
    };
    let query = DeadlineQuery {
        within_days: args.within,
        holder_id,
        as_of: args.as_of,
    };
    let limit = args.limit.and_then(|n| usize::try_from(n).ok());
    let deadlines = context.api.deadlines(&query, limit).await?;
    let out = context.out;
    if out.is_json() {
        return Ok(out.json(&deadlines));
    }
    if deadlines.is_empty() {
        let whose = match &query.holder_id {
            Some(_) => format!(" for {}", context.holder_label()),
            None => String::new(),
        };
        return Ok(format!(
            "Nothing expires within {} days{whose}.\n",
            query.within_days
        ));
    }
    Ok(render(&deadlines, out.color))
}

/// The deadlines table; the status word is last so it can be coloured.
fn render(deadlines: &[Deadline], color: bool) -> String {
    let mut table = Table::new(&[
        "HOLDER",
        "NAME",
        "CREDENTIAL",
        "PROGRAM",
        "EXPIRES",
        "DAYS LEFT",
        "NEEDED",
        "UNIT",
        "STATUS",
    ])
    .right_align(&[5, 6]);
    for d in deadlines {
        table.status_row(
            vec![
                d.holder_id.clone(),
                d.holder_name.clone(),
                d.credential_id.clone(),
                d.program.clone(),
                d.expires_on.clone(),
                d.days_left.to_string(),
                d.remaining.to_string(),
                unit_for(d.remaining, &d.unit),
            ],
            d.status,
        );
    }
    table.render(color)
}
