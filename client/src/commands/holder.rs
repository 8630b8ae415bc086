//! `recert holder add|list|show|edit|remove`.

use super::Context;
use crate::cli::HolderCommand;
use crate::error::Error;
use crate::model::{Deleted, Holder, HolderChanges, NewHolder};
use crate::render::{Table, count, details, or_dash};

/// Runs one holder command.
pub async fn run(context: &Context, command: HolderCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        HolderCommand::Add {
            name,
            email,
            tz,
            hired,
        } => {
            let time_zone = tz.or_else(system_time_zone);
            let holder = api
                .create_holder(NewHolder {
                    name,
                    email,
                    time_zone,
                    hired_on: hired,
                })
                .await?;
            Ok(out.record(&holder, || {
                let default = if holder.is_default {
                    ", the default holder"
                } else {
                    ""
                };
                format!(
                    "Added holder {}: {} ({}){default}",
                    holder.id, holder.name, holder.time_zone
                )
            }))
        }
        HolderCommand::List(list) => {
            let holders = api.holders(list.limit()).await?;
            if out.is_json() {
                return Ok(out.json(&holders));
            }
            if holders.is_empty() {
                return Ok("No holders yet. Add one with: recert holder add NAME\n".to_owned());
            }
            Ok(table(&holders).render(out.color))
        }
        HolderCommand::Show { id } => {
            let holder = match id.or_else(|| context.holder.clone()) {
                Some(id) => api.holder(&id).await?,
                None => api.default_holder().await?,
            };
            Ok(out.record(&holder, || show(&holder)))
        }
        HolderCommand::Edit {
            id,
            name,
            email,
            tz,
            hired,
            default,
        } => {
            let changes = HolderChanges {
                name,
                email,
                time_zone: tz,
                hired_on: hired,
                make_default: default,
            };
            let holder = api.update_holder(&id, changes).await?;
            Ok(out.record(&holder, || {
                format!("Updated holder {}: {}", holder.id, holder.name)
            }))
        }
        HolderCommand::Remove { id, force } => {
            if let Err(err) = api.delete_holder(&id, force).await {
                return Err(explain_refused_removal(context, &id, force, err).await);
            }
            let deleted = Deleted { deleted: id };
            Ok(out.record(&deleted, || {
                let records = if force {
                    " and all of its credentials and courses"
                } else {
                    ""
                };
                format!("Removed holder {}{records}", deleted.deleted)
            }))
        }
    }
}

/// Says why a holder with records cannot be removed in the user's terms (the counts, and the
/// `--force` flag); the server's own words name its request field instead.
async fn explain_refused_removal(context: &Context, id: &str, force: bool, err: Error) -> Error {
    let refused = matches!(
        err,
        Error::Server {
            code: tonic::Code::FailedPrecondition,
            ..
        }
    );
    if force || !refused {
        return err;
    }
    let api = &context.api;
    let Ok((credentials, courses)) =
        tokio::try_join!(api.credentials(id, None), api.courses(id, None))
    else {
        return err;
    };
    let mut has = Vec::new();
    if !credentials.is_empty() {
        has.push(count(credentials.len(), "credential"));
    }
    if !courses.is_empty() {
        has.push(count(courses.len(), "course"));
    }
    if has.is_empty() {
        return err;
    }
    Error::Server {
        code: tonic::Code::FailedPrecondition,
        message: format!(
            "holder {id} has {}; remove them first, or use --force to remove them with the holder",
            has.join(" and ")
        ),
        violations: Vec::new(),
    }
}

/// This computer's IANA zone, so a new holder's "today" matches the user's by default.
fn system_time_zone() -> Option<String> {
    jiff::tz::TimeZone::system().iana_name().map(str::to_owned)
}

/// The `holder list` table.
fn table(holders: &[Holder]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "EMAIL", "TIME ZONE", "DEFAULT"]);
    for h in holders {
        table.row(vec![
            h.id.clone(),
            h.name.clone(),
            or_dash(h.email.as_deref()),
            h.time_zone.clone(),
            if h.is_default { "yes" } else { "" }.to_owned(),
        ]);
    }
    table
}

/// The `holder show` listing.
fn show(h: &Holder) -> String {
    details(&[
        ("Id", h.id.clone()),
        ("Name", h.name.clone()),
        ("Email", h.email.clone().unwrap_or_default()),
        ("Time zone", h.time_zone.clone()),
        (
            "Hired",
            h.hired_on.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "Default",
            if h.is_default { "yes" } else { "no" }.to_owned(),
        ),
    ])
}
