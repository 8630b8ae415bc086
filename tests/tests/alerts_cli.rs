//! Alerts as a new user meets them: the real daemon with a fast tick schedule, channels set
//! up with the `recert` CLI, a credential expiring in 30 days, and the alert arriving at a
//! real webhook receiver and SMTP server on loopback.

use recert_proto::v1::WatchAlertsRequest;
use recert_proto::v1::alert_service_client::AlertServiceClient;
use recert_tests::Daemon;
use recert_tests::sinks::{SmtpSink, WebhookSink};
use recertd::alerts::delivery::{AlertPayload, verify};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Waits for `check` to hold, re-reading state the daemon writes right after an event the
/// test already observed; fails after `limit`.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::yield_now();
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_an_email_channel_set_up_with_the_cli_receive_the_thirty_day_alert() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let mut smtp = SmtpSink::start().await;
    // A tick every second, so "the next tick" comes during the test.
    let mut d = Daemon::start_with(
        &dir.path().join("data"),
        None,
        &["--alert-schedule", "* * * * * *", "--smtp-url", &smtp.url],
    );
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let channel = d.json(&[
        "notify",
        "add",
        "webhook",
        &hook.url,
        "--secret",
        "whsec-0123456789abcdef",
    ]);
    assert_eq!(channel["has_secret"], true);
    assert!(channel.get("secret").is_none(), "{channel:#}");
    d.json(&["notify", "add", "email", "dana@example.org"]);
    assert_eq!(d.json(&["notify", "list"]).as_array().unwrap().len(), 2);

    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let expires = today
        .checked_add(jiff::ToSpan::days(30))
        .unwrap()
        .to_string();
    let cred = d.json(&["cert", "add", "nha-cpt", "--expires", &expires]);

    let request = tokio::time::timeout(Duration::from_secs(60), hook.requests.recv())
        .await
        .expect("the webhook arrives at the next tick")
        .unwrap();
    let payload: AlertPayload = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload.threshold_days, Some(30));
    assert_eq!(payload.credential_id.as_deref(), cred["id"].as_str());
    assert_eq!(
        payload.idempotency_key,
        format!("{}/{expires}/30", cred["id"].as_str().unwrap())
    );
    assert!(
        payload.title.contains("expires in 30 days"),
        "{}",
        payload.title
    );
    // The alert names the person, so a channel several holders share stays readable.
    assert!(
        payload.title.starts_with("Dana Reyes: ") && payload.body.starts_with("Dana Reyes: "),
        "{}",
        payload.title
    );
    assert!(
        payload.body.contains("10 NHA CE credits still needed"),
        "{}",
        payload.body
    );
    let signature = request.header("X-Recert-Signature").unwrap();
    assert!(verify(
        b"whsec-0123456789abcdef",
        signature,
        &request.body,
        jiff::Timestamp::now(),
        Duration::from_secs(300)
    ));

    let mail = tokio::time::timeout(Duration::from_secs(30), smtp.mails.recv())
        .await
        .expect("the e-mail arrives")
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<dana@example.org>"]);
    assert!(
        mail.header("Subject")
            .unwrap()
            .contains("expires in 30 days")
    );
    assert!(mail.data.contains("recert alerts snooze"), "{}", mail.data);

    let delivered = eventually(Duration::from_secs(10), || {
        let list = d.json(&["alerts", "list"]);
        list.as_array().unwrap().len() == 1 && list[0]["status"] == "delivered"
    });
    assert!(delivered, "{:#}", d.json(&["alerts", "list"]));
    let list = d.json(&["alerts", "list"]);
    let alert = &list[0];
    assert_eq!(alert["threshold_days"], 30);
    assert_eq!(alert["mark"], "30 days before expiry");
    let deliveries = alert["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|x| x["status"] == "delivered" && x["attempts"] == 1),
        "{alert:#}"
    );

    // The stream replays it to a client that connects later, from its cursor.
    let channel = d.channel().await;
    let mut client = AlertServiceClient::new(channel);
    let mut stream = client
        .watch_alerts(WatchAlertsRequest {
            holder_id: "default".into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.id, alert["id"].as_str().unwrap());
    let once = d.cli(&["--output", "json", "alerts", "watch", "--once"]);
    assert!(once.status.success());
    let line: Value =
        serde_json::from_slice(once.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["id"], alert["id"]);

    // Ticks keep coming every second; the same key is never enqueued again, across restarts.
    d.restart();
    let d = d;
    let after = d.json(&["alerts", "list", "--all"]);
    assert_eq!(after.as_array().unwrap().len(), 1, "{after:#}");
    assert_eq!(after[0]["status"], "delivered");
    assert!(
        tokio::time::timeout(Duration::from_secs(3), hook.requests.recv())
            .await
            .is_err(),
        "no repeat delivery"
    );

    // Snooze needs a future date; mute and acknowledge answer with the new state.
    let id = alert["id"].as_str().unwrap();
    let past = d.cli(&["alerts", "snooze", id, "--until", &today.to_string()]);
    assert!(!past.status.success());
    assert!(String::from_utf8_lossy(&past.stderr).contains("until"));
    let acked = d.json(&["alerts", "ack", id]);
    assert_eq!(acked["acknowledged"], true);
    let muted = d.json(&["alerts", "mute", "nha-cpt"]);
    assert_eq!(muted["muted"], true);

    // `alerts test` goes through both channels now and reports each.
    let report = d.json(&["alerts", "test"]);
    let statuses: Vec<&str> = report["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["delivered", "delivered"], "{report:#}");
    let test_hook = tokio::time::timeout(Duration::from_secs(10), hook.requests.recv())
        .await
        .unwrap()
        .unwrap();
    let test_payload: AlertPayload = serde_json::from_slice(&test_hook.body).unwrap();
    assert!(test_payload.test);
    // Trial 2.19: a test alert has its own event header.
    assert_eq!(test_hook.header("x-recert-event"), Some("test"));
    assert_eq!(request.header("x-recert-event"), Some("alert"));
    // Thresholds: the holder's own replace the defaults; --clear inherits again.
    let set = d.json(&["alerts", "thresholds", "120,45,10"]);
    assert_eq!(set["scope"], "holder");
    assert_eq!(set["thresholds"], serde_json::json!([120, 45, 10]));
    assert_eq!(
        d.json(&["alerts", "thresholds"])["thresholds"],
        serde_json::json!([120, 45, 10])
    );
    // Trial 2.16: blanks after the commas were refused (`invalid value ' 60'`).
    let spaced = d.json(&["alerts", "thresholds", "120, 60, 30"]);
    assert_eq!(spaced["thresholds"], serde_json::json!([120, 60, 30]));
    let bad = d.cli(&["alerts", "thresholds", "400"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("thresholds"));
    let program = d.json(&["alerts", "thresholds", "--program", "nha-cpt", "30"]);
    assert_eq!(program["thresholds"], serde_json::json!([30]));
    let cleared = d.json(&["alerts", "thresholds", "--clear"]);
    assert_eq!(cleared["thresholds"], serde_json::json!([]));
    // Trial 2.16: a scope without its own says what is in effect, and from where.
    let inherited = d.json(&["alerts", "thresholds", "--credential", "nha-cpt"]);
    assert_eq!(inherited["thresholds"], serde_json::json!([]));
    assert_eq!(inherited["effective_thresholds"], serde_json::json!([30]));
    assert_eq!(inherited["effective_from"], "program nha-cpt");
    d.json(&["alerts", "thresholds", "--program", "nha-cpt", "--clear"]);
    let shown = d.cli(&["alerts", "thresholds", "--credential", "nha-cpt"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(&format!(
            "credential {}: no own thresholds; in effect: 90, 60, 30, 14, 7, 1 days before expiry (the default for a 24-month cycle)",
            cred["id"].as_str().unwrap()
        )),
        "{text}"
    );
    drop(hook);
}
