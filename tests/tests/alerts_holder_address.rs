//! Alerts that reach the holder (issue 13 leftovers, trial 2.19): `alerts test` with no
//! channel goes to the holder's own `--email` as real alerts do; a channel an import brings
//! gets the holder's undeliverable alerts as `notify add` does; and the lapse alert of a
//! program without a grace period says the credential expired, not that a grace period
//! ended. Real loopback SMTP and HTTP receivers; the daemon's clock frozen and moved by
//! restarts.

use recert_tests::Daemon;
use recert_tests::sinks::{SmtpSink, WebhookSink};
use serde_json::Value;
use std::time::Duration;

const DAY0: &str = "2026-11-01T12:00:00Z";
const DAY1: &str = "2026-11-02T12:00:00Z";
/// 30 days after DAY1: the 30-day mark is crossed by DAY1's tick.
const EXPIRES: &str = "2026-12-02";

/// Restarts `d` at `at`, so the catch-up tick runs, with `extra` flags.
fn restart_at(mut d: Daemon, at: &str, extra: &[&str]) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start_with(&d.data_dir, Some(at), extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_alert_without_channels_goes_to_the_holders_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = SmtpSink::start().await;
    let d = Daemon::start_with(
        &dir.path().join("data"),
        Some(DAY0),
        &["--smtp-url", smtp.url.as_str()],
    );
    d.json(&[
        "holder",
        "add",
        "Aisha Khan",
        "--email",
        "aisha.khan@example.org",
        "--tz",
        "UTC",
    ]);
    let report = d.json(&["alerts", "test"]);
    let deliveries = report["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{report:#}");
    assert_eq!(deliveries[0]["channel_id"], Value::Null, "{report:#}");
    assert_eq!(deliveries[0]["kind"], "email");
    assert_eq!(deliveries[0]["target"], "aisha.khan@example.org");
    assert_eq!(deliveries[0]["status"], "delivered", "{report:#}");
    let mail = tokio::time::timeout(Duration::from_secs(10), smtp.mails.recv())
        .await
        .expect("the test alert reaches the holder's address")
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<aisha.khan@example.org>"]);
    assert!(mail.data.contains("test alert"), "{}", mail.data);
    let table = d.cli(&["alerts", "test"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("holder e-mail") && table.contains("aisha.khan@example.org"),
        "{table}"
    );

    // An e-mail channel of their own replaces the address, as for real alerts.
    d.json(&["notify", "add", "email", "aisha@lab.example.org"]);
    let report = d.json(&["alerts", "test"]);
    let targets: Vec<&str> = report["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["aisha@lab.example.org"], "{report:#}");

    // A holder with neither: nothing is sent, and the CLI says how to fix it.
    let ben = d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    let ben = ben["id"].as_str().unwrap();
    let report = d.json(&["--holder", ben, "alerts", "test"]);
    assert_eq!(report["deliveries"], serde_json::json!([]));
    let out = d.cli(&["--holder", ben, "alerts", "test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no alert channels") && text.contains("--email"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_an_import_brings_gets_the_holders_undeliverable_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let d = Daemon::start(&dir.path().join("data"), Some(DAY0));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", EXPIRES]);
    let channel = d.json(&["notify", "add", "webhook", &hook.url]);
    let channel = channel["id"].as_str().unwrap().to_string();
    // A backup with the channel in it; then the channel is removed by mistake.
    let dump = dir.path().join("backup.jsonl");
    let out = d.cli(&["export", "--file", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.json(&["notify", "remove", &channel]);
    let d = restart_at(d, DAY1, &[]);
    let list = d.alerts_until(&[], |l| l.len() == 1);
    assert_eq!(list[0]["status"], "undeliverable", "{list:#?}");
    let id = list[0]["id"].as_str().unwrap().to_string();

    // Restoring the channel from the backup reaches the alert, as `notify add` would.
    let out = d.cli(&["import", "--file", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let request = tokio::time::timeout(Duration::from_secs(30), hook.requests.recv())
        .await
        .expect("the undeliverable alert goes to the imported channel")
        .unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["alert_id"], id.as_str(), "{body:#}");
    let list = d.alerts_until(&[], |l| l[0]["status"] == "delivered");
    assert_eq!(list[0]["deliveries"][0]["channel_id"], channel.as_str());
}

/// Trial 2.19: the lapse alert of California CPT I (no grace period) said "The grace period
/// has ended".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapse_alert_without_a_grace_period_says_the_credential_expired() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(DAY0));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    d.json(&["cert", "add", "ca-cpt1", "--expires", "2026-11-01"]);
    // A program with a grace period, to compare.
    d.json(&["program", "edit", "ca-cpt2", "--grace-days", "3"]);
    d.json(&["cert", "add", "ca-cpt2", "--expires", "2026-10-29"]);
    let d = restart_at(d, DAY1, &[]);
    let lapsed = |l: &[Value], program: &str| -> Option<Value> {
        l.iter()
            .find(|a| a["program"] == program && a["mark"] == "lapsed")
            .cloned()
    };
    let list = d.alerts_until(&[], |l| {
        lapsed(l, "ca-cpt1").is_some() && lapsed(l, "ca-cpt2").is_some()
    });
    let none = lapsed(&list, "ca-cpt1").unwrap();
    let body = none["body"].as_str().unwrap();
    assert!(!body.contains("grace period has ended"), "{body}");
    assert!(
        body.contains("The credential expired on 2026-11-01 (the program has no grace period)."),
        "{body}"
    );
    // The program's reinstatement rule, from its field.
    assert!(
        body.contains(
            "Reinstatement: 6 contact hours completed within the last 12 months; renewing an expired California certificate."
        ),
        "{body}"
    );
    let three = lapsed(&list, "ca-cpt2").unwrap();
    let body = three["body"].as_str().unwrap();
    assert!(
        body.contains("The grace period of 3 days ended on 2026-11-01."),
        "{body}"
    );
}
