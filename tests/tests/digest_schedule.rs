//! The leads' digest at its own time (issue 14 point 2): with the alert tick at 09:00 and the
//! digest on Mondays at 08:00, the digest goes out at 08:00, not with the 09:00 tick. Once
//! through the production `recertd::run` on a clock the test sets and that then runs on its
//! own (the engine must wake at the digest's time by itself: nothing pokes it), once through
//! the real binary restarted on a frozen clock between the two times. Both on the engine
//! under test (`RECERT_TEST_ENGINE`).

use jiff::{SignedDuration, Timestamp};
use recert_tests::Daemon;
use recert_tests::sinks::WebhookSink;
use recertd::alerts::schedule::TickSchedule;
use recertd::clock::Clock;
use recertd::config::{Config, DatabaseUrl};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long any one expected event may take before the test fails: far less than the hour
/// the engine would sleep if it did not wake for the digest.
const PATIENCE: Duration = Duration::from_secs(20);

/// Alert ticks at 09:00 every day; the digest keeps its default, Mondays 08:00.
const TICK_AT_NINE: &str = "0 0 9 * * *";

/// A manual clock that runs: it reads the instant it was last set to, plus the real time
/// since. The test sets it just before the digest's time and then leaves it alone.
#[derive(Debug)]
struct SetClock(Mutex<(Timestamp, Instant)>);

impl SetClock {
    fn new(at: &str) -> SetClock {
        SetClock(Mutex::new((at.parse().unwrap(), Instant::now())))
    }

    fn set(&self, at: &str) {
        *self.0.lock().unwrap() = (at.parse().unwrap(), Instant::now());
    }
}

impl Clock for SetClock {
    fn now(&self) -> Timestamp {
        let (at, since) = *self.0.lock().unwrap();
        at.saturating_add(SignedDuration::try_from(since.elapsed()).unwrap())
            .unwrap()
    }
}

/// `recert --output json ARGS` against `url` as the admin, off the runtime's workers.
async fn cli(url: &str, token: &str, args: &[&str]) -> Value {
    let (url, token) = (url.to_string(), token.to_string());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(recert_tests::binary("recert"))
            .arg("--server")
            .arg(&url)
            .args(["--output", "json"])
            .args(&args)
            .env_remove("RECERT_SERVER")
            .env_remove("RECERT_HOLDER")
            .env_remove("RECERT_CA")
            .env("RECERT_TOKEN", &token)
            .env("NO_COLOR", "1")
            .output()
            .expect("run recert");
        assert!(
            out.status.success(),
            "recert {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("recert printed JSON")
    })
    .await
    .unwrap()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The next webhook body the receiver gets, within [`PATIENCE`].
async fn next_body(hook: &mut WebhookSink) -> Value {
    let request = tokio::time::timeout(PATIENCE, hook.requests.recv())
        .await
        .expect("a webhook delivery in time")
        .unwrap();
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_wakes_for_a_digest_between_two_alert_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config = Config::new(data.clone());
    config.backup.schedule = None;
    config.alerts.webhook_allow_nets = recert_tests::loopback_nets();
    config.alerts.schedule = TickSchedule::parse(TICK_AT_NINE).unwrap();
    if let Some(base) = recert_tests::postgres_base() {
        config.database_url = Some(DatabaseUrl(recert_tests::database_for(&base, &data)));
    }
    // Sunday 2026-11-01, noon UTC.
    let clock = Arc::new(SetClock::new("2026-11-01T12:00:00Z"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let daemon = tokio::spawn(recertd::run(
        config,
        listener,
        clock.clone(),
        shutdown.clone(),
        move || {
            let _ = ready_tx.send(());
        },
    ));
    ready_rx.await.expect("recertd started");
    let token = recert_tests::admin_token(&data);
    let mut hook = WebhookSink::start(None, 200).await;

    cli(&url, &token, &["team", "add", "Day lab"]).await;
    let lead = id(&cli(&url, &token, &["holder", "add", "Lee Lead", "--tz", "UTC"]).await);
    cli(&url, &token, &["team", "add-lead", "Day lab", &lead]).await;
    cli(
        &url,
        &token,
        &["--holder", &lead, "notify", "add", "webhook", &hook.url],
    )
    .await;
    let ed = id(&cli(
        &url,
        &token,
        &["holder", "add", "Ed Expired", "--tz", "UTC"],
    )
    .await);
    cli(&url, &token, &["team", "add-member", "Day lab", &ed]).await;
    // California CPT I has no grace: expired, a line in the digest.
    cli(
        &url,
        &token,
        &[
            "--holder",
            &ed,
            "cert",
            "add",
            "ca-cpt1",
            "--expires",
            "2026-10-20",
        ],
    )
    .await;

    // Monday, three seconds before 08:00; a write wakes the engine at once, which then finds
    // nothing due (the last tick was Sunday's, the next is at 09:00) and sleeps. Nothing
    // wakes it again: it must plan to wake at 08:00 itself, and then send the digest.
    clock.set("2026-11-02T07:59:57Z");
    cli(&url, &token, &["holder", "edit", &ed, "--tz", "UTC"]).await;
    let body = next_body(&mut hook).await;
    assert_eq!(body["subject"], "digest", "{body:#}");
    assert_eq!(
        body["idempotency_key"],
        format!("tm1/{lead}/digest/2026-11-02"),
        "{body:#}"
    );
    let sent_at = clock.now();
    assert!(
        sent_at < "2026-11-02T09:00:00Z".parse().unwrap(),
        "sent at {sent_at}"
    );
    // It went out without an alert tick: Ed's expiry waits for 09:00.
    let ed_alerts = cli(&url, &token, &["--holder", &ed, "alerts", "list", "--all"]).await;
    assert_eq!(ed_alerts.as_array().unwrap().len(), 0, "{ed_alerts:#}");

    shutdown.cancel();
    daemon.await.unwrap().unwrap();
}

/// Restarts `d` with its clock frozen at `at`, alert ticks at 09:00.
fn restart_at(mut d: Daemon, at: &str) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start_with(&d.data_dir, Some(at), &["--alert-schedule", TICK_AT_NINE])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_between_two_alert_ticks_goes_out_before_the_next_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let d = Daemon::start_with(
        &dir.path().join("data"),
        Some("2026-11-01T12:00:00Z"),
        &["--alert-schedule", TICK_AT_NINE],
    );
    d.json(&["team", "add", "Day lab"]);
    let lead = id(&d.json(&["holder", "add", "Lee Lead", "--tz", "UTC"]));
    d.json(&["team", "add-lead", "Day lab", &lead]);
    d.json(&["--holder", &lead, "notify", "add", "webhook", &hook.url]);
    let ed = id(&d.json(&["holder", "add", "Ed Expired", "--tz", "UTC"]));
    d.json(&["team", "add-member", "Day lab", &ed]);
    d.json(&[
        "--holder",
        &ed,
        "cert",
        "add",
        "ca-cpt1",
        "--expires",
        "2026-10-20",
    ]);

    // Monday 08:30: past the digest's 08:00, before the 09:00 tick.
    let d = restart_at(d, "2026-11-02T08:30:00Z");
    let body = next_body(&mut hook).await;
    assert_eq!(
        body["idempotency_key"],
        format!("tm1/{lead}/digest/2026-11-02"),
        "{body:#}"
    );
    assert!(
        body["body"].as_str().unwrap().contains("Ed Expired: "),
        "{body:#}"
    );
    let none = d.json(&["--holder", &ed, "alerts", "list", "--all"]);
    assert_eq!(none.as_array().unwrap().len(), 0, "no tick yet: {none:#}");

    // 09:30: the tick runs (Ed's expiry), and the week's digest is not sent again, though
    // the restart forgot that it went out between the ticks.
    let d = restart_at(d, "2026-11-02T09:30:00Z");
    d.alerts_until(&["--holder", &ed], |l| !l.is_empty());
    let lead_alerts = d.alerts_until(&["--holder", &lead], |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    });
    assert_eq!(lead_alerts[0]["subject"], "digest", "{lead_alerts:#?}");
    assert!(hook.requests.try_recv().is_err(), "one digest");
    check_store(d);
}

/// `recertd check` finds the store sound after the daemon stops.
fn check_store(mut d: Daemon) {
    assert_eq!(d.stop(), Some(0));
    let out = d.check_store(&[]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
