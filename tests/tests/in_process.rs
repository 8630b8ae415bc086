//! The production `recertd::run` in-process: port 0, a temporary data dir, a manual clock and
//! a real loopback webhook receiver. A renewal year passes in milliseconds: the test moves
//! the clock across each alert mark, pokes the engine through the API, and checks that the
//! receiver gets exactly the alerts due, in order, each once, and that `ListAlerts` shows
//! them delivered; after CE is logged and the credential renewed, nothing more is said about
//! the closed cycle and the next cycle's first alert is not a shortfall.
//!
//! Waits are bounded and wait for something expected (a request at the receiver, a record
//! the engine writes); none guesses how long the daemon takes.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_client::AlertServiceClient;
use recert_proto::v1::backup_service_client::BackupServiceClient;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_tests::AuthChannel as Channel;
use recert_tests::sinks::WebhookSink;
use recertd::clock::ManualClock;
use recertd::config::Config;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long any one expected event may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The clients of one daemon, on one connection.
#[derive(Clone)]
struct Client {
    holders: HolderServiceClient<Channel>,
    channels: ChannelServiceClient<Channel>,
    credentials: CredentialServiceClient<Channel>,
    courses: CourseServiceClient<Channel>,
    alerts: AlertServiceClient<Channel>,
    backup: BackupServiceClient<Channel>,
}

impl Client {
    fn new(channel: Channel) -> Client {
        Client {
            holders: HolderServiceClient::new(channel.clone()),
            channels: ChannelServiceClient::new(channel.clone()),
            credentials: CredentialServiceClient::new(channel.clone()),
            courses: CourseServiceClient::new(channel.clone()),
            alerts: AlertServiceClient::new(channel.clone()),
            backup: BackupServiceClient::new(channel),
        }
    }

    /// Wakes the alert engine with a write that changes nothing (an empty holder update):
    /// the engine re-reads the clock on every data change.
    async fn poke(&mut self, holder: &str) {
        self.holders
            .update_holder(pb::UpdateHolderRequest {
                id: holder.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Whether the store holds the engine's last tick of `zone` (it is written the first
    /// time the engine sees a holder in that zone, and starts the zone's schedule).
    async fn has_last_tick(&mut self, zone: &str) -> bool {
        let mut stream = self
            .backup
            .export_data(pb::ExportDataRequest {
                omit_secrets: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let mut dump = Vec::new();
        while let Some(piece) = stream.message().await.unwrap() {
            dump.extend(piece.data);
        }
        String::from_utf8(dump).unwrap().lines().any(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["kind"] == "last_tick" && v["zone"] == zone
        })
    }

    /// The holder's alerts, oldest first.
    async fn alerts(&mut self, holder: &str) -> Vec<pb::Alert> {
        let mut alerts = self
            .alerts
            .list_alerts(pb::ListAlertsRequest {
                holder_id: holder.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .alerts;
        alerts.sort_by_key(|a| a.seq);
        alerts
    }
}

/// Asks `probe` until it answers, at most [`PATIENCE`] long: for state the engine writes
/// after the event the test can observe (a delivery is recorded after the receiver answered).
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::task::yield_now().await;
    }
}

/// The next webhook request's JSON body, waiting at most [`PATIENCE`].
async fn next_post(sink: &mut WebhookSink) -> serde_json::Value {
    let request = tokio::time::timeout(PATIENCE, sink.requests.recv())
        .await
        .expect("a webhook request in time")
        .expect("the sink is running");
    serde_json::from_slice(&request.body).unwrap()
}

/// 08:30 UTC on `date`: just after the default 08:00 tick of a holder in UTC.
fn morning(date: Date) -> Timestamp {
    date.at(8, 30, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

/// `(threshold_days, expires_on, status)` of each alert, for comparing whole lists.
fn summary(alerts: &[pb::Alert]) -> Vec<(i64, String, pb::AlertStatus)> {
    alerts
        .iter()
        .map(|a| (a.threshold_days, a.expires_on.clone(), a.status()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_year_through_the_api_with_a_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.backup.schedule = None;
    config.alerts.webhook_allow_nets = recert_tests::loopback_nets();
    let start: Date = "2026-01-05".parse().unwrap();
    let clock = ManualClock::new(
        start
            .at(7, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let daemon = tokio::spawn(recertd::run(
        config,
        listener,
        Arc::new(clock.clone()),
        shutdown.clone(),
        move || {
            let _ = ready_tx.send(());
        },
    ));
    // The listener is bound; the admin token is written once the store is open.
    ready_rx.await.expect("recertd started");
    let token = recert_tests::admin_token(&dir.path().join("data"));
    let channel = recert_tests::connect_as(&format!("http://{addr}"), Some(&token)).await;
    let mut api = Client::new(channel);
    let mut sink = WebhookSink::start(None, 200).await;

    let holder = api
        .holders
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: "Robin".into(),
                time_zone: "UTC".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    // Until the engine has seen the zone, moving the clock would start its schedule late.
    eventually("the engine starts the UTC schedule", || {
        let mut api = api.clone();
        async move { api.has_last_tick("UTC").await.then_some(()) }
    })
    .await;
    api.channels
        .create_channel(pb::CreateChannelRequest {
            channel: Some(pb::Channel {
                holder_id: holder.clone(),
                kind: "webhook".into(),
                target: sink.url.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    api.alerts
        .update_alert_settings(pb::UpdateAlertSettingsRequest {
            scope: Some(pb::AlertSettingsScope {
                holder_id: holder.clone(),
                ..Default::default()
            }),
            thresholds: vec![90, 30, 7],
        })
        .await
        .unwrap();
    // A 1-year cycle of 6 CE units (1 unit = 1 contact hour), no grace period. ASPT's
    // renewals close on November 30, so the cycle of a card expiring in January ends then,
    // and every mark counts back from that day.
    let card_expires: Date = "2027-01-04".parse().unwrap();
    let expires: Date = "2026-11-30".parse().unwrap();
    let credential = api
        .credentials
        .create_credential(pb::CreateCredentialRequest {
            credential: Some(pb::Credential {
                holder_id: holder.clone(),
                program: "aspt-cpt".into(),
                expires_on: card_expires.to_string(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .id;

    // Each mark of the cycle: one shortfall alert, sent once, then shown delivered.
    let mut expected = Vec::new();
    for days in [90_i64, 30, 7] {
        let due = expires.checked_sub(days.days()).unwrap();
        clock.set(morning(due));
        api.poke(&holder).await;
        let post = next_post(&mut sink).await;
        assert_eq!(post["threshold_days"], days, "{post}");
        assert_eq!(post["due_on"], due.to_string(), "{post}");
        assert_eq!(post["expires_on"], expires.to_string(), "{post}");
        assert_eq!(post["credential_id"], credential, "{post}");
        assert_eq!(post["test"], false, "{post}");
        assert_eq!(
            post["idempotency_key"],
            format!("{credential}/{expires}/{days}"),
            "{post}"
        );
        assert_ne!(post["status"], "met", "a shortfall alert: {post}");
        assert!(
            post["title"].as_str().unwrap().contains("still needed"),
            "{post}"
        );
        expected.push((days, expires.to_string(), pb::AlertStatus::Delivered));
        let shown = eventually("the alert is recorded delivered", || {
            let mut api = api.clone();
            let holder = holder.clone();
            let expected = expected.clone();
            async move {
                let alerts = api.alerts(&holder).await;
                (summary(&alerts) == expected).then_some(alerts)
            }
        })
        .await;
        let last = shown.last().unwrap();
        assert_eq!(last.due_on, due.to_string());
        assert_eq!(last.deliveries.len(), 1);
        assert_eq!(last.deliveries[0].status, "delivered");
        assert_eq!(last.deliveries[0].attempts, 1);
    }

    // A week before expiry: the CE is done and the credential renewed for another year.
    let today = expires.checked_sub(7.days()).unwrap();
    api.courses
        .create_course(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: holder.clone(),
                title: "Phlebotomy update".into(),
                completed_on: today.to_string(),
                credits_hundredths: 600,
                unit: "hours".into(),
                ..Default::default()
            }),
            allow_duplicate: false,
        })
        .await
        .unwrap();
    let renewed = api
        .credentials
        .renew_credential(pb::RenewCredentialRequest {
            id: credential.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renewed.expires_on, "2028-01-04");
    let next_expiry: Date = "2027-11-30".parse().unwrap();

    // The closed cycle's expiry day and lapse pass without a word.
    for date in [expires, expires.checked_add(1.day()).unwrap()] {
        clock.set(morning(date));
        api.poke(&holder).await;
    }
    // Early in the new cycle its CE is done too (the course is also a data change that wakes
    // the engine at this instant).
    let early = "2027-01-20".parse::<Date>().unwrap();
    clock.set(morning(early));
    api.courses
        .create_course(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: holder.clone(),
                title: "Safety refresher".into(),
                completed_on: early.to_string(),
                credits_hundredths: 600,
                unit: "hours".into(),
                ..Default::default()
            }),
            allow_duplicate: false,
        })
        .await
        .unwrap();
    // The new cycle's first mark: the next request the receiver gets is about it (so nothing
    // came for the closed cycle in between), and it says "apply", not "CE still needed".
    let due = next_expiry.checked_sub(90.days()).unwrap();
    clock.set(morning(due));
    api.poke(&holder).await;
    let post = next_post(&mut sink).await;
    assert_eq!(post["expires_on"], next_expiry.to_string(), "{post}");
    assert_eq!(post["threshold_days"], 90, "{post}");
    assert_eq!(post["due_on"], due.to_string(), "{post}");
    assert_eq!(post["status"], "met", "no shortfall after renewal: {post}");
    assert!(
        !post["title"].as_str().unwrap().contains("still needed"),
        "{post}"
    );
    expected.push((90, next_expiry.to_string(), pb::AlertStatus::Delivered));
    eventually("the new cycle's alert is recorded delivered", || {
        let mut api = api.clone();
        let holder = holder.clone();
        let expected = expected.clone();
        async move { (summary(&api.alerts(&holder).await) == expected).then_some(()) }
    })
    .await;

    drop(api);
    shutdown.cancel();
    let stopped = tokio::time::timeout(PATIENCE, daemon)
        .await
        .expect("run returns after the shutdown token is cancelled")
        .expect("run does not panic");
    assert!(stopped.is_ok(), "{stopped:?}");
    // Every request the engine made has reached the sink by now: none was sent twice.
    assert!(
        sink.requests.try_recv().is_err(),
        "an unexpected extra webhook request"
    );
}
