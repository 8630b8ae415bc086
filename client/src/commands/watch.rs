//! `recert alerts watch`: follows the holder's alert stream, printing each alert as it comes
//! and optionally running a command for it. The stream is resumable: the loop remembers the
//! last `seq` it handled and, when the connection drops, reconnects after it with backoff.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::Stdio;
use std::time::Duration;

use super::Context;
use crate::api::Api;
use crate::cli::AlertsWatchArgs;
use crate::error::Error;
use crate::model::{Alert, AlertFilter, AlertQuery};
use crate::render::{self, Output};

/// Runs `recert alerts watch`. Returns only with `--once`, when stdout is closed, or on an
/// error that waiting will not fix; everything is printed as it happens, so the returned
/// text is empty.
pub async fn run(context: &Context, args: AlertsWatchArgs) -> Result<String, Error> {
    let holder_id = context.holder_id();
    let mut printer = Printer {
        out: context.out,
        exec: args.exec,
    };
    if args.once {
        backlog(&context.api, holder_id, args.after, &mut printer).await?;
    } else {
        follow(&context.api, holder_id, args.after, &mut printer).await?;
    }
    Ok(String::new())
}

/// `--once`: the alerts already there after `after`, oldest first, from ListAlerts (every
/// status, as the stream would send them).
async fn backlog(
    api: &Api,
    holder_id: &str,
    after: u64,
    printer: &mut Printer,
) -> Result<(), Error> {
    let query = AlertQuery {
        holder_id: Some(holder_id.to_owned()),
        filter: AlertFilter::All,
    };
    let mut alerts = api.alerts(&query, None).await?;
    alerts.retain(|alert| alert.seq > after);
    alerts.sort_by_key(|alert| alert.seq);
    for alert in &alerts {
        if printer.handle(alert).await?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Follows WatchAlerts until stdout closes or a permanent error, reconnecting after every
/// transient failure from the last `seq` handled.
async fn follow(
    api: &Api,
    holder_id: &str,
    mut after: u64,
    printer: &mut Printer,
) -> Result<(), Error> {
    let mut backoff = Backoff::default();
    // Every pass after the first follows a lost stream.
    let mut reconnecting = false;
    loop {
        let lost = match api.watch_alerts(holder_id, after).await {
            Ok(mut stream) => {
                if reconnecting {
                    eprintln!("notice: reconnected to the alert stream");
                }
                backoff.reset();
                loop {
                    match stream.next().await {
                        // A repeat (a server resending what we already handled) is dropped.
                        Ok(Some(alert)) if alert.seq <= after => {}
                        Ok(Some(alert)) => {
                            if printer.handle(&alert).await?.is_break() {
                                return Ok(());
                            }
                            after = alert.seq;
                        }
                        Ok(None) => break "the server closed the alert stream".to_owned(),
                        Err(err) if err.is_transient() => {
                            break format!("alert stream lost: {err}");
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            Err(err) if err.is_transient() => format!("cannot open the alert stream: {err}"),
            Err(err) => return Err(err),
        };
        let delay = backoff.next_delay();
        eprintln!(
            "notice: {}; reconnecting in {}s (after seq {after})",
            render::terminal_safe(&lost, false),
            delay.as_secs()
        );
        reconnecting = true;
        tokio::time::sleep(delay).await;
    }
}

/// Reconnect delays: 1s, 2s, 4s, ... doubling up to 30s, back to 1s once connected again.
#[derive(Debug, Clone)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    /// The first delay after a connection is lost.
    const FIRST: Duration = Duration::from_secs(1);
    /// The longest delay between attempts.
    const MAX: Duration = Duration::from_secs(30);

    /// The delay before the next attempt; each call doubles the one after it.
    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(Self::MAX);
        delay
    }

    /// Starts over after a successful connection.
    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// Prints alerts (a line or an NDJSON object each) and runs `--exec` for each.
struct Printer {
    out: Output,
    exec: Option<String>,
}

impl Printer {
    /// Prints one alert, then runs the command for it and waits. `Break` when stdout has
    /// been closed (`recert alerts watch | head -1`), which ends the watch quietly.
    async fn handle(&mut self, alert: &Alert) -> Result<ControlFlow<()>, Error> {
        let line = if self.out.is_json() {
            self.out.json_line(alert)
        } else {
            render::terminal_safe(&line(alert), false)
        };
        let mut stdout = io::stdout().lock();
        match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(ControlFlow::Break(()));
            }
            Err(err) => return Err(Error::Output(err)),
        }
        drop(stdout);
        if let Some(command) = &self.exec
            && let Err(warning) = run_hook(command, alert).await
        {
            eprintln!(
                "warning: {}",
                render::terminal_safe(&warning.to_string(), false)
            );
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// "2026-04-01 nha-cpt NHA CPT expires in 30 days": one line, whatever the title holds.
fn line(alert: &Alert) -> String {
    let text = format!("{} {} {}", alert.due_on, alert.program, alert.title.trim());
    text.replace(['\n', '\r'], " ")
}

/// Runs `sh -c command` for one alert and waits for it. Its stdout goes to our stderr so
/// stdout carries only alerts (NDJSON stays parseable). A failure comes back as the text of
/// a warning: it does not end the watch.
async fn run_hook(command: &str, alert: &Alert) -> Result<(), String> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(hook_env(alert))
        .stdin(Stdio::null())
        .stdout(io::stderr())
        .status()
        .await;
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("--exec for alert {} failed ({status})", alert.id)),
        Err(err) => Err(format!(
            "--exec for alert {} could not be started: {err}",
            alert.id
        )),
    }
}

/// The environment `--exec` commands get: the alert's fields as RECERT_ALERT_* variables.
fn hook_env(alert: &Alert) -> [(&'static str, String); 12] {
    [
        ("RECERT_ALERT_ID", alert.id.clone()),
        ("RECERT_ALERT_SEQ", alert.seq.to_string()),
        ("RECERT_ALERT_HOLDER", alert.holder_id.clone()),
        (
            "RECERT_ALERT_CREDENTIAL",
            alert.credential_id.clone().unwrap_or_default(),
        ),
        ("RECERT_ALERT_PROGRAM", alert.program.clone()),
        ("RECERT_ALERT_MARK", alert.mark.clone()),
        ("RECERT_ALERT_DUE_ON", alert.due_on.clone()),
        ("RECERT_ALERT_EXPIRES_ON", alert.expires_on.clone()),
        ("RECERT_ALERT_TITLE", alert.title.clone()),
        ("RECERT_ALERT_BODY", alert.body.clone()),
        ("RECERT_ALERT_STATUS", alert.status.label().to_owned()),
        ("RECERT_ALERT_KEY", alert.idempotency_key.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlertStatus;

    fn alert() -> Alert {
        Alert {
            id: "al3".into(),
            seq: 3,
            holder_id: "h1".into(),
            credential_id: Some("cr1".into()),
            program: "nha-cpt".into(),
            threshold_days: 0,
            mark: "expiry day".into(),
            due_on: "2026-05-01".into(),
            expires_on: "2026-05-01".into(),
            title: "NHA CPT expires today\n".into(),
            body: "Renew today.\nOr use the grace period.".into(),
            status: AlertStatus::Pending,
            deliveries: Vec::new(),
            idempotency_key: "cr1/2026-05-01/0".into(),
            snoozed_until: None,
            acknowledged: false,
            created_at: "2026-05-01T08:00:00Z".into(),
            subject: "credential".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
        }
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn a_table_line_is_date_program_title_on_one_line() {
        assert_eq!(line(&alert()), "2026-05-01 nha-cpt NHA CPT expires today");
        let mut two_lines = alert();
        two_lines.title = "NHA CPT\nexpires today".into();
        assert_eq!(line(&two_lines), "2026-05-01 nha-cpt NHA CPT expires today");
    }

    #[test]
    fn json_lines_are_one_compact_object() {
        let text = Output {
            format: crate::render::Format::Json,
            color: false,
        }
        .json_line(&alert());
        assert!(!text.contains('\n'), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["seq"], 3);
        assert_eq!(value["status"], "pending");
    }

    #[test]
    fn hooks_get_every_documented_variable() {
        let env = hook_env(&alert());
        let get = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("RECERT_ALERT_ID"), Some("al3"));
        assert_eq!(get("RECERT_ALERT_TITLE"), Some("NHA CPT expires today\n"));
        assert_eq!(
            get("RECERT_ALERT_BODY"),
            Some("Renew today.\nOr use the grace period.")
        );
        assert_eq!(get("RECERT_ALERT_PROGRAM"), Some("nha-cpt"));
        assert_eq!(get("RECERT_ALERT_CREDENTIAL"), Some("cr1"));
        assert_eq!(get("RECERT_ALERT_DUE_ON"), Some("2026-05-01"));
        assert_eq!(get("RECERT_ALERT_STATUS"), Some("pending"));
        assert_eq!(get("RECERT_ALERT_KEY"), Some("cr1/2026-05-01/0"));
        assert_eq!(get("RECERT_ALERT_SEQ"), Some("3"));
    }

    #[tokio::test]
    async fn hooks_see_the_alert_and_failures_become_warnings() {
        let check =
            r#"test "$RECERT_ALERT_ID" = al3 && test "$RECERT_ALERT_KEY" = cr1/2026-05-01/0"#;
        assert_eq!(run_hook(check, &alert()).await, Ok(()));
        let warning = run_hook("exit 3", &alert()).await.unwrap_err();
        assert!(
            warning.starts_with("--exec for alert al3 failed") && warning.contains('3'),
            "{warning}"
        );
    }
}
