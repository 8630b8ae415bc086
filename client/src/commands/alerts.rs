//! `recert alerts list|ack|snooze|mute|test`: the holder's renewal and expiry alerts.
//! (`alerts watch`, a long-running loop, has its own module.)

use super::Context;
use super::cert::resolve_credential;
use super::program::explain_unknown_program;
use super::watch;
use crate::cli::{AlertsCommand, AlertsListArgs};
use crate::error::Error;
use crate::model::{Alert, AlertFilter, AlertQuery, AlertStatus, AlertThresholds, Delivery};
use crate::render::{Table, or_dash};
use crate::spelling::normalize_slug;

/// Longest last error shown in a table cell; `--output json` has all of it.
const ERROR_WIDTH: usize = 48;

/// Longest title shown in a table cell, so a row fits a wide terminal; `--output json` and
/// `alerts watch` have all of it.
const TITLE_WIDTH: usize = 60;

/// Runs one alert command.
pub async fn run(context: &Context, command: AlertsCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        AlertsCommand::List(args) => list(context, &args).await,
        AlertsCommand::Ack { id } => {
            let alert = api.ack_alert(&id).await?;
            Ok(out.record(&alert, || {
                format!("Acknowledged alert {}: {}", alert.id, alert.title)
            }))
        }
        AlertsCommand::Snooze { id, until } => {
            let alert = api.snooze_alert(&id, until).await?;
            Ok(out.record(&alert, || {
                let until = alert
                    .snoozed_until
                    .clone()
                    .unwrap_or_else(|| until.to_string());
                format!("Snoozed alert {} until {until}: {}", alert.id, alert.title)
            }))
        }
        AlertsCommand::Mute { credential, unmute } => {
            let credentials = api.credentials(context.holder_id(), None).await?;
            let credential = resolve_credential(
                &credentials,
                &context.holder_label(),
                "alerts mute",
                &credential,
            )?;
            let mute = api.mute_credential(&credential.id, !unmute).await?;
            Ok(out.record(&mute, || {
                let what = format!("{} ({})", mute.credential_id, credential.program);
                if mute.muted {
                    format!(
                        "Muted alerts about {what}; resume them with: recert alerts mute {} --unmute",
                        mute.credential_id
                    )
                } else {
                    format!("Unmuted alerts about {what}")
                }
            }))
        }
        AlertsCommand::Watch(args) => watch::run(context, args).await,
        AlertsCommand::Thresholds(args) => {
            let (scope, id) = match (&args.credential, &args.program) {
                (Some(credential), _) => {
                    let credentials = api.credentials(context.holder_id(), None).await?;
                    let found = resolve_credential(
                        &credentials,
                        &context.holder_label(),
                        "alerts thresholds --credential",
                        credential,
                    )?;
                    ("credential", found.id.clone())
                }
                (None, Some(program)) => ("program", normalize_slug(program)),
                (None, None) => ("holder", context.holder_id().to_owned()),
            };
            let key = match scope {
                "credential" => ("", id.as_str(), ""),
                "program" => ("", "", id.as_str()),
                _ => (id.as_str(), "", ""),
            };
            let set = if args.clear {
                Some(Vec::new())
            } else if args.days.is_empty() {
                None
            } else {
                Some(args.days.clone())
            };
            let settings = match api.alert_thresholds(key, set).await {
                Ok(reply) => reply,
                Err(err) => match &args.program {
                    Some(typed) if scope == "program" => {
                        return Err(explain_unknown_program(api, typed, err).await);
                    }
                    _ => return Err(err),
                },
            };
            // The server names the scope as it resolved it: "h1" for "default".
            let id = if settings.id.is_empty() {
                id
            } else {
                settings.id
            };
            let thresholds = settings.thresholds;
            let result = AlertThresholds {
                scope: scope.to_owned(),
                id,
                thresholds,
                effective_thresholds: settings.effective_thresholds,
                effective_from: settings.effective_from,
            };
            Ok(out.record(&result, || {
                let effective: Vec<String> = result
                    .effective_thresholds
                    .iter()
                    .map(u32::to_string)
                    .collect();
                if result.thresholds.is_empty() && !effective.is_empty() {
                    format!(
                        "{} {}: no own thresholds; in effect: {} days before expiry ({})",
                        result.scope,
                        result.id,
                        effective.join(", "),
                        result.effective_from.as_deref().unwrap_or("inherited")
                    )
                } else if result.thresholds.is_empty() {
                    format!(
                        "{} {}: no own thresholds (each credential inherits from its program, \
                         whose defaults scale with the cycle)",
                        result.scope, result.id
                    )
                } else {
                    let days: Vec<String> = result.thresholds.iter().map(u32::to_string).collect();
                    format!(
                        "{} {}: alerts {} days before expiry",
                        result.scope,
                        result.id,
                        days.join(", ")
                    )
                }
            }))
        }
        AlertsCommand::Test { team: Some(team) } => {
            let report = api.send_test_alert("", Some(&team)).await?;
            if out.is_json() {
                return Ok(out.json(&report));
            }
            if report.deliveries.is_empty() {
                return Ok(format!(
                    "Team {team} has no alert channels. Add one with: \
                     recert notify add webhook URL --team {team}\n"
                ));
            }
            Ok(test_table(&report.deliveries).render(out.color))
        }
        AlertsCommand::Test { team: None } => {
            let report = api.send_test_alert(context.holder_id(), None).await?;
            if out.is_json() {
                return Ok(out.json(&report));
            }
            if report.deliveries.is_empty() {
                return Ok(format!(
                    "{} has no alert channels and no e-mail address. Add a channel with: \
                     recert notify add webhook URL (or: recert notify add email ADDRESS), \
                     or an address with: recert holder edit {} --email ADDRESS\n",
                    capitalized(&context.holder_label()),
                    context.holder_id()
                ));
            }
            Ok(test_table(&report.deliveries).render(out.color))
        }
    }
}

/// `alerts list`: one holder's alerts (the selected one), or everyone's with `--all-holders`.
async fn list(context: &Context, args: &AlertsListArgs) -> Result<String, Error> {
    let query = AlertQuery {
        holder_id: (!args.all_holders).then(|| context.holder_id().to_owned()),
        filter: args.filter(),
    };
    let out = context.out;
    let alerts = context.api.alerts(&query, args.list.limit());
    if out.is_json() {
        return Ok(out.json(&alerts.await?));
    }
    if query.holder_id.is_none() {
        let alerts = alerts.await?;
        if alerts.is_empty() {
            return Ok(nothing_to_list(query.filter, None));
        }
        return Ok(table(&alerts, true).render(out.color));
    }
    let (holder, alerts) = tokio::try_join!(context.holder(), alerts)?;
    let whose = format!("{} ({})", holder.name, holder.id);
    if alerts.is_empty() {
        return Ok(nothing_to_list(query.filter, Some(&whose)));
    }
    Ok(super::whose(&holder, "Alerts") + &table(&alerts, false).render(out.color))
}

/// "No pending alerts for Dana Reyes (h1)."
fn nothing_to_list(filter: AlertFilter, whose: Option<&str>) -> String {
    let which = match filter {
        AlertFilter::Pending => "pending ",
        AlertFilter::Failed => "failed ",
        AlertFilter::NotCancelled | AlertFilter::All => "",
    };
    let whose = whose.map(|w| format!(" for {w}")).unwrap_or_default();
    format!("No {which}alerts{whose}.\n")
}

/// "The default holder" from "the default holder".
pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The `alerts list` table; a HOLDER column only when several holders can appear.
fn table(alerts: &[Alert], with_holder: bool) -> Table {
    let mut headers = vec!["ID"];
    if with_holder {
        headers.push("HOLDER");
    }
    headers.extend([
        "CREDENTIAL",
        "PROGRAM",
        "MARK",
        "DUE ON",
        "STATUS",
        "DELIVERIES",
        "TITLE",
    ]);
    let mut table = Table::new(&headers);
    for alert in alerts {
        let mut cells = vec![alert.id.clone()];
        if with_holder {
            cells.push(alert.holder_id.clone());
        }
        cells.extend([
            alert.credential_id.clone().unwrap_or_else(|| "-".into()),
            alert.program.clone(),
            alert.mark.clone(),
            alert.due_on.clone(),
            status_cell(alert),
            deliveries_summary(&alert.deliveries),
            shorten(&alert.title, TITLE_WIDTH),
        ]);
        table.row(cells);
    }
    table
}

/// "snoozed until 2026-01-05", "acknowledged", "undeliverable: no channel", "failed": the
/// status as stored, nothing added to it.
fn status_cell(alert: &Alert) -> String {
    match (alert.status, &alert.snoozed_until) {
        (AlertStatus::Snoozed, Some(until)) => format!("snoozed until {until}"),
        (AlertStatus::Undeliverable, _) => "undeliverable: no channel".to_owned(),
        (status, _) => status.label().to_owned(),
    }
}

/// One cell for all of an alert's deliveries: "webhook ok, email 3 tries: timed out";
/// "-" when the holder has no channels (the alert is only on the stream).
fn deliveries_summary(deliveries: &[Delivery]) -> String {
    if deliveries.is_empty() {
        return "-".to_owned();
    }
    deliveries
        .iter()
        .map(delivery_summary)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "webhook ok", "email pending", "email 3 tries: timed out" (still retrying),
/// "email failed after 5 tries: mailbox unavailable".
fn delivery_summary(d: &Delivery) -> String {
    let tries = match d.attempts {
        1 => "1 try".to_owned(),
        n => format!("{n} tries"),
    };
    let error = d
        .last_error
        .as_deref()
        .map(|e| format!(": {}", shorten(e, ERROR_WIDTH)))
        .unwrap_or_default();
    match d.status.as_str() {
        "delivered" => format!("{} ok", d.kind),
        "stopped" => format!("{} not sent", d.kind),
        "failed" => format!("{} failed after {tries}{error}", d.kind),
        "pending" if d.attempts == 0 => format!("{} pending", d.kind),
        "pending" => format!("{} {tries}{error}", d.kind),
        other => format!("{} {other}{error}", d.kind),
    }
}

/// The text on one line, cut after a whole word to at most `width` characters with "..."
/// when longer (mid-word only when the first word alone is too long).
fn shorten(text: &str, width: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= width {
        return line;
    }
    let cut: String = line.chars().take(width.saturating_sub(3) + 1).collect();
    let words = match cut.rfind(' ') {
        Some(space) if space > 0 => &cut[..space],
        _ => &cut[..cut.char_indices().last().map_or(0, |(i, _)| i)],
    };
    format!("{}...", words.trim_end_matches([' ', ',', ';', ':']))
}

/// The `alerts test` table: what each channel did with the test alert.
fn test_table(deliveries: &[Delivery]) -> Table {
    let mut table = Table::new(&["CHANNEL", "KIND", "TARGET", "STATUS", "ERROR"]);
    for d in deliveries {
        table.row(vec![
            d.channel_id
                .clone()
                .unwrap_or_else(|| "holder e-mail".to_owned()),
            d.kind.clone(),
            d.target.clone(),
            d.status.clone(),
            or_dash(d.last_error.as_deref()),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(kind: &str, status: &str, attempts: i32, error: Option<&str>) -> Delivery {
        Delivery {
            channel_id: Some("ch1".into()),
            kind: kind.into(),
            target: "https://example.org/hook".into(),
            attempts,
            last_error: error.map(Into::into),
            status: status.into(),
            next_attempt_at: None,
        }
    }

    fn alert(status: AlertStatus) -> Alert {
        Alert {
            id: "al3".into(),
            seq: 3,
            holder_id: "h1".into(),
            credential_id: Some("cr1".into()),
            program: "nha-cpt".into(),
            threshold_days: 30,
            mark: "30 days before expiry".into(),
            due_on: "2026-04-01".into(),
            expires_on: "2026-05-01".into(),
            title: "NHA CPT expires in 30 days".into(),
            body: "Renew by 2026-05-01.".into(),
            status,
            deliveries: vec![delivery("webhook", "delivered", 1, None)],
            idempotency_key: "cr1/2026-05-01/30".into(),
            snoozed_until: None,
            acknowledged: false,
            created_at: "2026-04-01T08:00:00Z".into(),
            subject: "credential".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
        }
    }

    #[test]
    fn deliveries_summarise_in_one_cell() {
        let summary = deliveries_summary(&[
            delivery("webhook", "delivered", 1, None),
            delivery("email", "pending", 3, Some("connection refused")),
        ]);
        assert_eq!(summary, "webhook ok, email 3 tries: connection refused");

        assert_eq!(deliveries_summary(&[]), "-");
        assert_eq!(
            delivery_summary(&delivery("email", "pending", 0, None)),
            "email pending"
        );
        assert_eq!(
            delivery_summary(&delivery("webhook", "failed", 1, Some("HTTP 410 Gone"))),
            "webhook failed after 1 try: HTTP 410 Gone"
        );
        assert_eq!(
            delivery_summary(&delivery("sms", "queued", 0, None)),
            "sms queued"
        );
    }

    #[test]
    fn long_errors_are_cut_to_one_short_line() {
        let long = format!("timed out\n{}", "x".repeat(200));
        let summary = delivery_summary(&delivery("email", "pending", 2, Some(&long)));
        assert_eq!(summary, "email 2 tries: timed out...");
        let words = shorten("connection refused by tc-mail.example.org: try later", 30);
        assert_eq!(words, "connection refused by...");
        assert!(words.chars().count() <= 30);
        let one_word = shorten(&"x".repeat(100), 10);
        assert_eq!(one_word, "xxxxxxx...");
    }

    #[test]
    fn status_cells_add_snooze_date_and_acknowledgement() {
        let mut snoozed = alert(AlertStatus::Snoozed);
        snoozed.snoozed_until = Some("2026-04-10".into());
        assert_eq!(status_cell(&snoozed), "snoozed until 2026-04-10");
        let mut acked = alert(AlertStatus::Acknowledged);
        acked.acknowledged = true;
        assert_eq!(status_cell(&acked), "acknowledged");
        assert_eq!(status_cell(&alert(AlertStatus::Failed)), "failed");
    }

    #[test]
    fn table_has_the_documented_columns() {
        let text = table(&[alert(AlertStatus::Pending)], false).render(false);
        let lines: Vec<&str> = text.lines().collect();
        let headers: Vec<&str> = lines[0].split("  ").filter(|h| !h.is_empty()).collect();
        assert_eq!(
            headers.iter().map(|h| h.trim()).collect::<Vec<_>>(),
            [
                "ID",
                "CREDENTIAL",
                "PROGRAM",
                "MARK",
                "DUE ON",
                "STATUS",
                "DELIVERIES",
                "TITLE"
            ]
        );
        assert!(lines[1].starts_with("al3"), "{text}");
        assert!(lines[1].contains("webhook ok"), "{text}");
        assert!(lines[1].ends_with("NHA CPT expires in 30 days"), "{text}");

        let everyone = table(&[alert(AlertStatus::Pending)], true).render(false);
        assert!(
            everyone.lines().next().unwrap().contains("HOLDER"),
            "{everyone}"
        );
    }

    #[test]
    fn empty_lists_say_what_was_asked() {
        assert_eq!(
            nothing_to_list(AlertFilter::Pending, Some("Dana Reyes (h1)")),
            "No pending alerts for Dana Reyes (h1).\n"
        );
        assert_eq!(nothing_to_list(AlertFilter::All, None), "No alerts.\n");
        assert_eq!(capitalized("the default holder"), "The default holder");
    }
}
