//! Alerts always reach someone, or say they did not (issue 13 point 5, trial 2.8, 2.15, 2.19
//! and 3.2): the holder's own e-mail address, `undeliverable` until a channel is added, an
//! e-mail channel that waits for a relay, the state shown after snooze and ack, the test
//! alert's empty fields, and the webhook body as docs/WEBHOOKS.md documents it.
//!
//! The daemon's clock is frozen (`RECERT_NOW`) and moved by restarting it: the first start
//! records the zone's first tick, the next start a day later runs the catch-up tick.

use recert_tests::Daemon;
use recert_tests::sinks::{SmtpSink, WebhookSink};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const DAY0: &str = "2026-11-01T12:00:00Z";
const DAY1: &str = "2026-11-02T12:00:00Z";
/// 30 days after DAY1: the 30-day mark is crossed by DAY1's tick.
const EXPIRES: &str = "2026-12-02";

/// A daemon on `data` whose clock is frozen at DAY0, with `extra` flags.
fn day0(data: &Path, extra: &[&str]) -> Daemon {
    Daemon::start_with(data, Some(DAY0), extra)
}

/// Restarts `d` a day later (DAY1), so the catch-up tick runs, with `extra` flags.
fn next_day(mut d: Daemon, at: &str, extra: &[&str]) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start_with(&d.data_dir, Some(at), extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_reaches_no_one_is_undeliverable_until_a_channel_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let d = day0(&dir.path().join("data"), &[]);
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", EXPIRES]);
    let d = next_day(d, DAY1, &[]);

    // Trial 3.2: it was "delivered" with no channel at all.
    let list = d.alerts_until(&[], |l| l.len() == 1);
    assert_eq!(list[0]["status"], "undeliverable", "{list:#?}");
    assert_eq!(list[0]["deliveries"], serde_json::json!([]));
    let id = list[0]["id"].as_str().unwrap().to_string();
    let table = d.cli(&["alerts", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("undeliverable") && !table.contains("delivered "),
        "{table}"
    );

    // The first channel added gets it, once.
    d.json(&["notify", "add", "webhook", &hook.url]);
    let request = tokio::time::timeout(Duration::from_secs(30), hook.requests.recv())
        .await
        .expect("the undeliverable alert goes to the new channel")
        .unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["alert_id"], id.as_str());
    let list = d.alerts_until(&[], |l| l[0]["status"] == "delivered");
    assert_eq!(list[0]["deliveries"].as_array().unwrap().len(), 1);

    // docs/WEBHOOKS.md documents exactly the fields a real delivery carries.
    let documented = documented_fields();
    let sent: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(sent, documented, "docs/WEBHOOKS.md vs {body:#}");

    // Trial 2.19: a test alert is about no credential: null, not "" and 0.
    let report = d.json(&["alerts", "test"]);
    assert_eq!(report["deliveries"][0]["status"], "delivered", "{report:#}");
    let test = tokio::time::timeout(Duration::from_secs(10), hook.requests.recv())
        .await
        .unwrap()
        .unwrap();
    let test: Value = serde_json::from_slice(&test.body).unwrap();
    for field in [
        "alert_id",
        "credential_id",
        "program",
        "threshold_days",
        "expires_on",
    ] {
        assert_eq!(test[field], Value::Null, "{field} in {test:#}");
    }
    assert_eq!(test["test"], true);
    let keys: BTreeSet<String> = test.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, documented, "a test alert has the same fields");

    // Trial 2.15: the state shown is the state stored, after snooze then ack and after ack
    // then snooze.
    let snoozed = d.json(&["alerts", "snooze", &id, "--until", "2026-11-20"]);
    assert_eq!(snoozed["status"], "snoozed");
    let acked = d.json(&["alerts", "ack", &id]);
    assert_eq!(acked["status"], "acknowledged", "{acked:#}");
    assert_eq!(acked["snoozed_until"], Value::Null);
    assert!(
        acked["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["next_attempt_at"].is_null() && x["status"] == "stopped"),
        "nothing more is sent, and no delivery says pending: {acked:#}"
    );
    let shown = d.alerts_until(&[], |l| l[0]["status"] == "acknowledged");
    assert_eq!(shown[0], acked);
    let table = d.cli(&["alerts", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("acknowledged") && !table.contains("pending"),
        "{table}"
    );
    let again = d.json(&["alerts", "snooze", &id, "--until", "2026-11-20"]);
    assert_eq!(
        (&again["status"], &again["acknowledged"]),
        (&Value::from("snoozed"), &Value::from(false)),
        "{again:#}"
    );
    assert_eq!(d.alerts_until(&[], |_| true)[0], again);
}

/// The field names of the body table of docs/WEBHOOKS.md.
fn documented_fields() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/WEBHOOKS.md"))
            .unwrap();
    let body = doc.split("## Body").nth(1).expect("a Body section");
    body.lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holders_own_address_gets_alerts_while_they_have_no_email_channel() {
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = SmtpSink::start().await;
    let relay = ["--smtp-url", smtp.url.as_str()];
    let d = day0(&dir.path().join("data"), &relay);
    d.json(&[
        "holder",
        "add",
        "Aisha Khan",
        "--email",
        "aisha.khan@example.org",
        "--tz",
        "UTC",
    ]);
    d.json(&["cert", "add", "nha-cpt", "--expires", EXPIRES]);
    let ben = d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    let ben = ben["id"].as_str().unwrap();
    d.json(&[
        "--holder",
        ben,
        "cert",
        "add",
        "ascp-pbt",
        "--expires",
        EXPIRES,
    ]);
    let d = next_day(d, DAY1, &relay);

    // Trial 3.2: `--email` was never used for alerts.
    let mail = tokio::time::timeout(Duration::from_secs(30), smtp.mails.recv())
        .await
        .expect("the holder's address gets the alert")
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<aisha.khan@example.org>"]);
    let list = d.alerts_until(&[], |l| l.len() == 1 && l[0]["status"] == "delivered");
    let delivery = &list[0]["deliveries"][0];
    assert_eq!(delivery["channel_id"], Value::Null, "{delivery:#}");
    assert_eq!(delivery["kind"], "email");
    assert_eq!(delivery["target"], "aisha.khan@example.org");

    // Ben has no address: undeliverable until he gets one.
    let bens = d.alerts_until(&["--holder", ben], |l| l.len() == 1);
    assert_eq!(bens[0]["status"], "undeliverable");
    d.json(&["holder", "edit", ben, "--email", "ben@example.org"]);
    let mail = tokio::time::timeout(Duration::from_secs(30), smtp.mails.recv())
        .await
        .expect("Ben's new address gets his alert")
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<ben@example.org>"]);
    d.alerts_until(&["--holder", ben], |l| l[0]["status"] == "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_without_a_relay_warns_and_its_alerts_wait_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = day0(&dir.path().join("data"), &[]);
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    // Trial 2.8: accepted silently, then every alert failed.
    let added = d.cli(&["notify", "add", "email", "dana@example.org"]);
    assert!(added.status.success());
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("--smtp-url"),
        "{stderr}"
    );
    d.json(&["cert", "add", "nha-cpt", "--expires", EXPIRES]);
    let d = next_day(d, DAY1, &[]);

    let list = d.alerts_until(&[], |l| {
        l.len() == 1 && l[0]["deliveries"][0]["last_error"] != Value::Null
    });
    let alert = &list[0];
    assert_eq!(alert["status"], "pending", "waiting, not failed: {alert:#}");
    let delivery = &alert["deliveries"][0];
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["attempts"], 0);
    assert!(
        delivery["last_error"]
            .as_str()
            .unwrap()
            .contains("no SMTP relay"),
        "{delivery:#}"
    );

    // A relay configured later delivers it.
    let mut smtp = SmtpSink::start().await;
    let d = next_day(d, "2026-11-02T14:00:00Z", &["--smtp-url", &smtp.url]);
    let mail = tokio::time::timeout(Duration::from_secs(30), smtp.mails.recv())
        .await
        .expect("the waiting e-mail goes out once there is a relay")
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<dana@example.org>"]);
    d.alerts_until(&[], |l| l[0]["status"] == "delivered");
}
