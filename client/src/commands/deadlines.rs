//! `recert deadlines`: upcoming expiries for the whole team (or one holder), soonest first,
//! with credentials in grace and lapsed ones (which come first, and are listed again below).

use std::collections::HashMap;

use super::Context;
use crate::api::Api;
use crate::calendar::{Expiry, default_thresholds};
use crate::cli::DeadlinesArgs;
use crate::error::Error;
use crate::model::{ComplianceStatus, Deadline, DeadlineQuery, Program};
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
    if args.ics {
        // A lapsed credential has no deadline left to remind of.
        let upcoming: Vec<Deadline> = deadlines
            .into_iter()
            .filter(|d| d.is_dues() || d.status != ComplianceStatus::Expired)
            .collect();
        return calendar(&context.api, &upcoming).await;
    }
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
    let mut text = render(&deadlines, out.color);
    let lapsed: Vec<String> = deadlines
        .iter()
        .filter(|d| !d.is_dues() && d.status == ComplianceStatus::Expired)
        .map(|d| {
            format!(
                "  {} {} of {} ({}), {} days ago\n",
                d.credential_id, d.program, d.holder_name, d.holder_id, -d.days_left
            )
        })
        .collect();
    if !lapsed.is_empty() {
        text.push_str(
            "\nLapsed: past expiry and grace (renew or reinstate before working under them):\n",
        );
        text.extend(lapsed);
    }
    Ok(text)
}

/// `--ics`: the deadlines as a calendar, each with the reminders recertd would send.
async fn calendar(api: &Api, deadlines: &[Deadline]) -> Result<String, Error> {
    let programs: HashMap<String, Program> = api
        .programs(None)
        .await?
        .into_iter()
        .map(|p| (p.slug.clone(), p))
        .collect();
    let mut reminders = Vec::with_capacity(deadlines.len());
    let mut inherited = Inherited::default();
    for d in deadlines {
        reminders.push(thresholds(api, d, programs.get(&d.program), &mut inherited).await?);
    }
    let expiries: Vec<Expiry<'_>> = deadlines
        .iter()
        .zip(&reminders)
        .map(|(deadline, reminders)| Expiry {
            deadline,
            program_name: programs
                .get(&deadline.program)
                .map_or(&deadline.program, |p| &p.name),
            reminders,
        })
        .collect();
    crate::calendar::render(&expiries).map_err(|message| Error::Server {
        code: tonic::Code::Internal,
        message,
        violations: Vec::new(),
    })
}

/// Holder and program settings already asked for, by id and slug.
#[derive(Default)]
struct Inherited {
    holders: HashMap<String, Vec<u32>>,
    programs: HashMap<String, Vec<u32>>,
}

/// The thresholds in effect for one credential, in recertd's order: its own, else its
/// holder's, else its program's, else the defaults for the program's cycle; none when the
/// credential is muted.
async fn thresholds(
    api: &Api,
    d: &Deadline,
    program: Option<&Program>,
    inherited: &mut Inherited,
) -> Result<Vec<u32>, Error> {
    let own = api
        .alert_thresholds(("", &d.credential_id, ""), None)
        .await?;
    if own.muted {
        return Ok(Vec::new());
    }
    if !own.thresholds.is_empty() {
        return Ok(own.thresholds);
    }
    if !inherited.holders.contains_key(&d.holder_id) {
        let holder = api.alert_thresholds((&d.holder_id, "", ""), None).await?;
        inherited
            .holders
            .insert(d.holder_id.clone(), holder.thresholds);
    }
    if let Some(t) = inherited
        .holders
        .get(&d.holder_id)
        .filter(|t| !t.is_empty())
    {
        return Ok(t.clone());
    }
    if !inherited.programs.contains_key(&d.program) {
        let own = api.alert_thresholds(("", "", &d.program), None).await?;
        inherited.programs.insert(d.program.clone(), own.thresholds);
    }
    if let Some(t) = inherited.programs.get(&d.program).filter(|t| !t.is_empty()) {
        return Ok(t.clone());
    }
    // Dues scale with their interval (as recertd's dues reminders do); a program the list
    // did not return (removed meanwhile) gets the shortest cycle's.
    if d.is_dues() {
        return Ok(default_thresholds(
            i32::try_from(d.dues_every_months).unwrap_or(12),
        ));
    }
    Ok(default_thresholds(program.map_or(0, |p| p.cycle_months)))
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
        // A dues row: the program marked `dues`, the amount where the credits would be.
        let (program, needed, unit) = match d.dues_amount_cents.filter(|_| d.is_dues()) {
            Some(cents) => (
                format!("{} dues", d.program),
                crate::render::dollars(cents),
                "dues".to_string(),
            ),
            None => (
                d.program.clone(),
                d.remaining.to_string(),
                unit_for(d.remaining, &d.unit),
            ),
        };
        table.status_row(
            vec![
                d.holder_id.clone(),
                d.holder_name.clone(),
                d.credential_id.clone(),
                program,
                d.expires_on.clone(),
                d.days_left.to_string(),
                needed,
                unit,
            ],
            d.status,
        );
    }
    table.render(color)
}
