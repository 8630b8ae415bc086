//! Alerts about more than a credential's cycle, through the real daemon, its frozen clock
//! (`RECERT_NOW`, moved by restarting) and a real loopback webhook receiver: a due
//! competency (issue 14 point 4) and annual dues (issue 13 point 6), each alerted once per
//! (subject, due date, mark), never repeated by a later tick or a restart.

use recert_tests::Daemon;
use recert_tests::sinks::WebhookSink;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const DAY0: &str = "2026-11-01T12:00:00Z";
const DAY1: &str = "2026-11-02T12:00:00Z";

/// Restarts `d` with its clock at `at`, so the ticks missed since run once.
fn restart_at(mut d: Daemon, at: &str) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start(&d.data_dir, Some(at))
}

/// The next webhook body the receiver gets, within 30 s.
async fn next_body(hook: &mut WebhookSink) -> Value {
    let request = tokio::time::timeout(Duration::from_secs(30), hook.requests.recv())
        .await
        .expect("a webhook delivery")
        .unwrap();
    serde_json::from_slice(&request.body).unwrap()
}

fn start(data: &Path) -> Daemon {
    Daemon::start(data, Some(DAY0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_competency_alerts_once_per_mark_and_not_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let d = start(&dir.path().join("data"));
    // Hired 2026-05-20: the CLIA six-month assessment is due 2026-11-20.
    d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-05-20",
    ]);
    let assigned = d.json(&[
        "competency",
        "assign",
        "Ana Ruiz",
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
    ]);
    assert_eq!(assigned["next_due"], "2026-11-20", "{assigned}");
    d.json(&["notify", "add", "webhook", &hook.url]);

    // 2026-11-02: 18 days before; the 60- and 30-day marks are crossed and coalesce.
    let d = restart_at(d, DAY1);
    let body = next_body(&mut hook).await;
    assert_eq!(body["subject"], "competency", "{body:#}");
    assert_eq!(body["skill"], "Glucose meter");
    assert_eq!(body["program"], "clia-testing");
    assert_eq!(body["credential_id"], Value::Null);
    assert_eq!(body["threshold_days"], 30);
    assert_eq!(body["expires_on"], "2026-11-20");
    assert_eq!(
        body["idempotency_key"],
        "h1/competency/clia-testing/Glucose meter/2026-11-20/30"
    );
    let title = body["title"].as_str().unwrap();
    assert!(
        title.starts_with("Ana Ruiz: competency assessment of Glucose meter")
            && title.contains("due in 18 days, on 2026-11-20"),
        "{title}"
    );
    let list = d.alerts_until(&[], |l| l.len() == 1 && l[0]["status"] == "delivered");
    assert_eq!(list[0]["subject"], "competency");
    assert_eq!(list[0]["skill"], "Glucose meter");
    assert_eq!(list[0]["credential_id"], Value::Null);

    // Restarted on the same day, and the next day: no new mark, nothing enqueued or sent.
    let d = restart_at(d, DAY1);
    let d = restart_at(d, "2026-11-03T12:00:00Z");
    // 2026-11-06: the 14-day mark. The next delivery is that one, not a repeat of the first.
    let d = restart_at(d, "2026-11-06T12:00:00Z");
    let body = next_body(&mut hook).await;
    assert_eq!(body["threshold_days"], 14, "{body:#}");
    let list = d.alerts_until(&[], |l| {
        l.len() == 2 && l.iter().all(|a| a["status"] == "delivered")
    });
    let keys: Vec<&str> = list
        .iter()
        .map(|a| a["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "h1/competency/clia-testing/Glucose meter/2026-11-20/30",
            "h1/competency/clia-testing/Glucose meter/2026-11-20/14"
        ]
    );

    // Export and import carry the subjects: the copy lists the same alerts, and its own
    // tick on the same day enqueues none of them again.
    let file = dir.path().join("dump.jsonl");
    d.json(&["export", "--file", file.to_str().unwrap()]);
    let dump = std::fs::read_to_string(&file).unwrap();
    assert!(
        dump.contains(r#""subject":"competency","skill":"Glucose meter""#),
        "{dump}"
    );
    let copy = Daemon::start(&dir.path().join("copy"), Some("2026-11-06T12:00:00Z"));
    let out = copy.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copied = copy.json(&["alerts", "list", "--all"]);
    let fields = |l: &Value| -> Vec<(Value, Value, Value)> {
        l.as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["subject"].clone(),
                    a["skill"].clone(),
                    a["idempotency_key"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(fields(&copied), fields(&Value::Array(list.clone())));
    let copy = restart_at(copy, "2026-11-07T12:00:00Z");
    assert_eq!(
        fields(&copy.json(&["alerts", "list", "--all"])),
        fields(&Value::Array(list.clone()))
    );
    drop(copy);

    // Assessed before the 7-day mark: the skill is due next 2027-05-20, so no more alerts.
    d.json(&[
        "competency",
        "log",
        "Ana Ruiz",
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
        "--date",
        "2026-11-06",
        "--assessor",
        "T. Consultant",
        "--elements",
        "1,2,3,4,5,6",
        "--result",
        "pass",
    ]);
    let d = restart_at(d, "2026-11-21T12:00:00Z");
    let list = d.alerts_until(&[], |l| l.len() == 2);
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(hook.requests.try_recv().is_err(), "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annual_dues_get_their_own_reminder_naming_the_amount_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let d = start(&dir.path().join("data"));
    d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    // Certified 2025-11-15: AMT's $50 dues fall due by 2026-11-30; the cycle ends in 2028.
    let cert = d.json(&[
        "cert",
        "add",
        "amt-rpt",
        "--issued",
        "2025-11-15",
        "--expires",
        "2028-11-15",
    ]);
    let cert = cert["id"].as_str().unwrap().to_string();
    d.json(&["notify", "add", "webhook", &hook.url]);

    let d = restart_at(d, DAY1);
    let body = next_body(&mut hook).await;
    assert_eq!(body["subject"], "dues", "{body:#}");
    assert_eq!(body["amount_cents"], 5000);
    assert_eq!(body["credential_id"], cert.as_str());
    assert_eq!(body["expires_on"], "2026-11-30");
    assert_eq!(body["threshold_days"], 30);
    assert_eq!(
        body["idempotency_key"],
        format!("{cert}/dues/2026-11-30/30").as_str()
    );
    let title = body["title"].as_str().unwrap();
    assert!(
        title.starts_with("Ben Okafor: ") && title.contains("dues of $50.00 due in 28 days"),
        "{title}"
    );
    let list = d.alerts_until(&[], |l| l.len() == 1 && l[0]["status"] == "delivered");
    assert_eq!(list[0]["subject"], "dues");
    assert_eq!(list[0]["amount_cents"], 5000);

    // A restart the same day enqueues nothing; the 14-day mark is the next delivery.
    let d = restart_at(d, DAY1);
    let d = restart_at(d, "2026-11-16T12:00:00Z");
    let body = next_body(&mut hook).await;
    assert_eq!(
        (&body["subject"], &body["threshold_days"]),
        (&Value::from("dues"), &Value::from(14)),
        "{body:#}"
    );
    let list = d.alerts_until(&[], |l| l.len() == 2);
    assert!(list.iter().all(|a| a["subject"] == "dues"), "{list:#?}");
}
