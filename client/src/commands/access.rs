//! `recert token create|list|revoke` and `recert team add|list|show|add-member|remove-member|add-lead`.

use super::Context;
use crate::cli::{HistoryArgs, Role, TeamCommand, TokenCommand};
use crate::error::Error;
use crate::model::{Team, TokenInfo};
use crate::render::{Table, details, or_dash};

/// Runs one token command.
pub async fn token(context: &Context, command: TokenCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        TokenCommand::Create {
            role,
            expires,
            name,
            team,
        } => {
            let role = match role {
                Role::Admin => "admin",
                Role::Supervisor => "supervisor",
                Role::Holder => "holder",
            };
            let lead = match team {
                Some(team) => Some(team_lead(context, role, &team).await?),
                None => None,
            };
            let named = match context.holder.as_deref() {
                Some(h) if lead.is_none() => Some(holder_named(context, h).await?),
                _ => None,
            };
            let holder = match (role, named.as_deref()) {
                _ if lead.is_some() => lead.as_deref(),
                ("admin", h) => h,
                (_, h) => Some(h.unwrap_or(crate::api::DEFAULT_HOLDER)),
            };
            let made = api
                .create_token(role, holder, expires, name.as_deref())
                .await
                .map_err(|e| {
                    e.in_terms_of_flags(&[("holder_id", "--holder"), ("expires_at", "--expires")])
                })?;
            Ok(out.record(&made, || {
                let whose = made
                    .holder_id
                    .as_deref()
                    .map(|h| format!(" for holder {h}"))
                    .unwrap_or_default();
                format!(
                    "Made {} token {}{whose}. Its secret is shown only this once:\n{}",
                    made.role, made.id, made.token
                )
            }))
        }
        TokenCommand::List => {
            let tokens = api.tokens().await?;
            if out.is_json() {
                return Ok(out.json(&tokens));
            }
            Ok(token_table(&tokens).render(out.color))
        }
        TokenCommand::Revoke { id } => {
            let token = api.revoke_token(&id).await?;
            Ok(out.record(&token, || format!("Revoked token {}", token.id)))
        }
    }
}

fn token_table(tokens: &[TokenInfo]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "ROLE", "HOLDER", "EXPIRES", "REVOKED"]);
    for t in tokens {
        table.row(vec![
            t.id.clone(),
            or_dash(t.name.as_deref()),
            t.role.clone(),
            or_dash(t.holder_id.as_deref()),
            or_dash(t.expires_at.as_deref()),
            or_dash(t.revoked_at.as_deref()),
        ]);
    }
    table
}

/// The holder a `token create --team T` token is bound to: the team's only lead, or the
/// lead `--holder` names (id or name). Only a supervisor token is bound to a team.
async fn team_lead(context: &Context, role: &str, team: &str) -> Result<String, Error> {
    if role != "supervisor" {
        return Err(Error::Usage(format!(
            "--team makes a supervisor token (it sees the team's holders); give --role supervisor, not --role {role}"
        )));
    }
    let api = &context.api;
    let found = api
        .team(team)
        .await
        .map_err(|e| e.in_terms_of_flags(&[("name", "--team"), ("id", "--team")]))?;
    match context.holder.as_deref() {
        Some(h) => {
            let holder = holder_named(context, h).await?;
            if found.lead_ids.contains(&holder) {
                Ok(holder)
            } else {
                Err(Error::Usage(format!(
                    "--holder {h} ({holder}) does not lead team {} ({}); its leads: {}",
                    found.name,
                    found.id,
                    leads_text(&found.lead_ids)
                )))
            }
        }
        None => match found.lead_ids.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(Error::Usage(format!(
                "team {} ({}) has no lead to bind the token to; add one with: recert team add-lead {} HOLDER",
                found.name, found.id, found.id
            ))),
            many => Err(Error::Usage(format!(
                "team {} ({}) has several leads ({}); say which with --holder",
                found.name,
                found.id,
                leads_text(many)
            ))),
        },
    }
}

/// The id of the holder `--holder` names: an id (`h2`, `default`) as it is, else the one
/// holder the caller sees with that name (case-insensitive).
async fn holder_named(context: &Context, given: &str) -> Result<String, Error> {
    let text = given.trim();
    let is_id = text == crate::api::DEFAULT_HOLDER
        || text
            .strip_prefix('h')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if is_id {
        return Ok(text.to_owned());
    }
    let matching: Vec<_> = context
        .api
        .holders(None)
        .await?
        .into_iter()
        .filter(|h| h.name.trim().eq_ignore_ascii_case(text))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::Lookup(format!(
            "--holder {given:?}: no holder has that id or name (see: recert holder list)"
        ))),
        several => Err(Error::Lookup(format!(
            "--holder {given:?}: several holders have that name ({}); give the id",
            several
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn leads_text(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

/// `recert history`: the audit trail, oldest first.
pub async fn history(context: &Context, args: HistoryArgs) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    let holder = match (&context.holder, args.all_holders, &args.credential) {
        (Some(h), _, _) => Some(h.as_str()),
        (None, false, None) => Some(crate::api::DEFAULT_HOLDER),
        _ => None,
    };
    let entries = api
        .history(holder, args.credential.as_deref(), args.since)
        .await
        .map_err(|e| {
            e.in_terms_of_flags(&[("credential_id", "--credential"), ("since", "--since")])
        })?;
    if out.is_json() {
        return Ok(out.json(&entries));
    }
    if entries.is_empty() {
        return Ok("No changes recorded.\n".to_owned());
    }
    let mut table = Table::new(&["ID", "WHEN", "WHO", "ACTION", "RECORD", "HOLDER", "CHANGED"]);
    for e in &entries {
        table.row(vec![
            e.id.clone(),
            e.at.clone(),
            e.actor.clone(),
            e.action.clone(),
            format!("{} {}", e.kind, e.record),
            or_dash(e.holder_id.as_deref()),
            changed_fields(e.before.as_ref(), e.after.as_ref()),
        ]);
    }
    Ok(table.render(out.color))
}

/// The names of the fields that differ between `before` and `after`.
fn changed_fields(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> String {
    let (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) = (before, after)
    else {
        return "-".into();
    };
    let names: Vec<&str> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(", ")
    }
}

/// Runs one team command.
pub async fn team(context: &Context, command: TeamCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    let changed = |team: Team, what: &str| {
        out.record(&team, || format!("{what} (team {} {})", team.id, team.name))
    };
    match command {
        TeamCommand::Add { name } => {
            let team = api.create_team(&name).await?;
            Ok(out.record(&team, || format!("Added team {}: {}", team.id, team.name)))
        }
        TeamCommand::List => {
            let teams = api.teams().await?;
            if out.is_json() {
                return Ok(out.json(&teams));
            }
            if teams.is_empty() {
                return Ok("No teams yet. Add one with: recert team add NAME\n".to_owned());
            }
            let mut table = Table::new(&["ID", "NAME", "MEMBERS", "LEADS"]);
            for t in &teams {
                table.row(vec![
                    t.id.clone(),
                    t.name.clone(),
                    t.member_ids.join(", "),
                    t.lead_ids.join(", "),
                ]);
            }
            Ok(table.render(out.color))
        }
        TeamCommand::Show { team } => {
            let team = api.team(&team).await?;
            Ok(out.record(&team, || {
                details(&[
                    ("Team", format!("{} ({})", team.name, team.id)),
                    (
                        "Members",
                        or_dash(
                            Some(&team.member_ids.join(", "))
                                .filter(|s| !s.is_empty())
                                .map(String::as_str),
                        ),
                    ),
                    (
                        "Leads",
                        or_dash(
                            Some(&team.lead_ids.join(", "))
                                .filter(|s| !s.is_empty())
                                .map(String::as_str),
                        ),
                    ),
                ])
            }))
        }
        TeamCommand::AddMember { team, member } => {
            let member = super::holder_by_name(api, &member, "HOLDER").await?;
            let team = api.change_team("add-member", &team, &member).await?;
            Ok(changed(team, &format!("Added {member}")))
        }
        TeamCommand::RemoveMember { team, member } => {
            let member = super::holder_by_name(api, &member, "HOLDER").await?;
            let team = api.change_team("remove-member", &team, &member).await?;
            Ok(changed(team, &format!("Removed {member}")))
        }
        TeamCommand::AddLead { team, member } => {
            let member = super::holder_by_name(api, &member, "HOLDER").await?;
            let team = api.change_team("add-lead", &team, &member).await?;
            Ok(changed(team, &format!("Made {member} a lead")))
        }
        TeamCommand::Status(args) => super::team_status::run(context, args).await,
    }
}
