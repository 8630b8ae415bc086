//! `recert notify add|list|remove`: where the holder's alerts are delivered. Secrets go to
//! the server and are never printed; only whether one is set.

use super::{Context, whose};
use crate::cli::{NotifyAddCommand, NotifyCommand};
use crate::error::Error;
use crate::model::{AlertChannel, ChannelKind, Deleted, NewChannel};
use crate::render::Table;

/// Runs one channel command.
pub async fn run(context: &Context, command: NotifyCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        NotifyCommand::Add(add) => {
            let team = match &add {
                NotifyAddCommand::Webhook { team, .. } | NotifyAddCommand::Email { team, .. } => {
                    team.is_some()
                }
            };
            let holder_id = if team {
                String::new()
            } else {
                context.holder_id().to_owned()
            };
            let channel = api.create_channel(new_channel(holder_id, add)).await?;
            if let Some(warning) = &channel.warning {
                eprintln!("warning: {warning}");
            }
            Ok(out.record(&channel, || {
                format!(
                    "Added {} channel {}: {}{}",
                    channel.kind,
                    channel.id,
                    channel.target,
                    if channel.has_secret {
                        " (secret: set)"
                    } else {
                        ""
                    }
                )
            }))
        }
        NotifyCommand::List { team: Some(team) } => {
            let channels = api.channels("", Some(&team)).await?;
            if out.is_json() {
                return Ok(out.json(&channels));
            }
            if channels.is_empty() {
                return Ok(format!(
                    "Team {team} has no alert channels yet. Add one with: \
                     recert notify add webhook URL --team {team}\n"
                ));
            }
            Ok(
                format!("Alert channels of team {team} (every member's alerts):\n")
                    + &table(&channels).render(out.color),
            )
        }
        NotifyCommand::List { team: None } => {
            let channels = api.channels(context.holder_id(), None);
            if out.is_json() {
                return Ok(out.json(&channels.await?));
            }
            let (holder, channels) = tokio::try_join!(context.holder(), channels)?;
            if channels.is_empty() {
                return Ok(format!(
                    "{} ({}) has no alert channels yet. Add one with: \
                     recert notify add webhook URL (or: recert notify add email ADDRESS)\n",
                    holder.name, holder.id
                ));
            }
            Ok(whose(&holder, "Alert channels") + &table(&channels).render(out.color))
        }
        NotifyCommand::Remove { id } => {
            api.delete_channel(&id).await?;
            let deleted = Deleted { deleted: id };
            Ok(out.record(&deleted, || format!("Removed channel {}", deleted.deleted)))
        }
    }
}

/// The channel `notify add` asks for; an empty secret (e.g. an empty RECERT_WEBHOOK_SECRET)
/// means none.
fn new_channel(holder_id: String, add: NotifyAddCommand) -> NewChannel {
    match add {
        NotifyAddCommand::Webhook { url, secret, team } => NewChannel {
            holder_id,
            team,
            kind: ChannelKind::Webhook,
            target: url,
            secret: secret.filter(|s| !s.is_empty()),
        },
        NotifyAddCommand::Email { address, team } => NewChannel {
            holder_id,
            team,
            kind: ChannelKind::Email,
            target: address,
            secret: None,
        },
    }
}

/// The `notify list` table; SECRET says "set" or "-", never the secret.
fn table(channels: &[AlertChannel]) -> Table {
    let mut table = Table::new(&["ID", "KIND", "TARGET", "SECRET"]);
    for c in channels {
        table.row(vec![
            c.id.clone(),
            c.kind.clone(),
            c.target.clone(),
            if c.has_secret { "set" } else { "-" }.to_owned(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secrets_mean_none() {
        let add = |secret: &str| NotifyAddCommand::Webhook {
            url: "https://example.org/hook".into(),
            secret: Some(secret.to_owned().into()),
            team: None,
        };
        assert!(new_channel("h1".into(), add("")).secret.is_none());
        let channel = new_channel("h1".into(), add("s3cret"));
        assert_eq!(channel.kind, ChannelKind::Webhook);
        assert_eq!(
            channel.secret.map(crate::model::Secret::reveal).as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn the_list_shows_whether_a_secret_is_set() {
        let text = table(&[
            AlertChannel {
                id: "ch1".into(),
                holder_id: "h1".into(),
                kind: "webhook".into(),
                target: "https://example.org/hook".into(),
                has_secret: true,
                warning: None,
                team_id: None,
            },
            AlertChannel {
                id: "ch2".into(),
                holder_id: "h1".into(),
                kind: "email".into(),
                target: "alice@example.org".into(),
                has_secret: false,
                warning: None,
                team_id: None,
            },
        ])
        .render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("SECRET"), "{text}");
        assert!(lines[1].ends_with("set"), "{text}");
        assert!(lines[2].ends_with('-'), "{text}");
    }
}
