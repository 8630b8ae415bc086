//! What a holder does while a delivery is in flight stands: an acknowledgement, a snooze, a
//! mute or a course that closes the shortfall, made while a real loopback receiver holds its
//! answer, is still there after the answer, and nothing more is sent. Also the ack/snooze
//! interplay as the API shows it: snoozing re-opens an acknowledged alert, and a cancelled
//! alert cannot be snoozed.
//!
//! Real `Store`, `AlertEngine` and `AlertApi`; time is a manual clock and explicit instants.

use jiff::Timestamp;
use jiff::civil::Date;
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_server::AlertService;
use recert_tests::sinks::WebhookSink;
use recertd::alerts::{AlertConfig, AlertEngine, AlertError};
use recertd::api::{AlertApi, Api};
use recertd::clock::ManualClock;
use recertd::domain::{
    Alert, Channel, ChannelKind, Course, Credential, Credits, DeliveryState, Holder, IdKind, Unit,
};
use recertd::store::{SledStore as Store, StoreOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tonic::{Code, Request};

/// When the alert is enqueued and first delivered: 08:00 in the holder's zone (UTC).
const NOW: &str = "2027-03-31T08:00:00Z";
/// Two hours on: past the first retry the old code scheduled (about 27 s) and the next ones.
const LATER: &str = "2027-03-31T10:00:00Z";
/// The snooze date used below, and the instant it starts in UTC.
const UNTIL: &str = "2027-04-03";
const RESUME: &str = "2027-04-03T00:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// One due alert for one holder with one webhook channel whose receiver holds its answers.
struct Outbox {
    _dir: tempfile::TempDir,
    store: Store,
    engine: AlertEngine<Store>,
    api: AlertApi<Store>,
    sink: WebhookSink,
    holder: Holder,
    credential: Credential,
    alert: Alert,
}

impl Outbox {
    /// The receiver answers `status` once released; the alert is enqueued by a tick at NOW.
    async fn new(status: u16) -> Outbox {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let clock = ManualClock::new(ts(NOW));
        let engine = AlertEngine::new(
            store.clone(),
            Arc::new(clock.clone()),
            &AlertConfig {
                webhook_allow_nets: recert_tests::loopback_nets(),
                ..AlertConfig::default()
            },
        )
        .unwrap();
        let api = AlertApi {
            api: Api::new(store.clone(), Arc::new(clock.clone()), engine.clone()),
            shutdown: tokio_util::sync::CancellationToken::new(),
            watchers: Default::default(),
        };
        let sink = WebhookSink::start_holding(status).await;
        let holder = store
            .create_holder(Holder {
                id: 0,
                name: "Kim".into(),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        store
            .create_channel(Channel {
                id: 0,
                holder_id: holder.id,
                kind: ChannelKind::Webhook,
                target: sink.url.clone(),
                secret: String::new(),
                team_id: 0,
            })
            .await
            .unwrap();
        let credential = store
            .create_credential(Credential {
                id: 0,
                holder_id: holder.id,
                program: "nha-cpt".into(),
                number: String::new(),
                issued_on: None,
                expires_on: d("2027-04-30"),
                history: Vec::new(),
                verifications: Vec::new(),
            })
            .await
            .unwrap();
        let mut enqueued = engine
            .tick_zone("UTC", d("2027-03-31"), None, ts(NOW))
            .await
            .unwrap();
        assert_eq!(enqueued.len(), 1, "{enqueued:?}");
        let alert = enqueued.remove(0);
        Outbox {
            _dir: dir,
            store,
            engine,
            api,
            sink,
            holder,
            credential,
            alert,
        }
    }

    /// Starts `dispatch_due(at)` and returns once the receiver has the request, whose answer
    /// it now holds.
    async fn start_delivery(&mut self, at: &str) -> JoinHandle<Result<usize, AlertError>> {
        let engine = self.engine.clone();
        let at = ts(at);
        let task = tokio::spawn(async move { engine.dispatch_due(at).await });
        tokio::time::timeout(Duration::from_secs(10), self.sink.requests.recv())
            .await
            .expect("the webhook request arrives")
            .expect("the sink is running");
        task
    }

    /// Lets the held answer go and waits for the dispatch; returns its attempt count.
    async fn finish_delivery(&self, task: JoinHandle<Result<usize, AlertError>>) -> usize {
        self.sink.release();
        task.await.unwrap().unwrap()
    }

    /// One whole delivery at `at`, answered at once.
    async fn deliver(&mut self, at: &str) -> usize {
        let task = self.start_delivery(at).await;
        self.finish_delivery(task).await
    }

    fn id(&self) -> String {
        IdKind::Alert.format(self.alert.id)
    }

    fn stored(&self) -> Alert {
        self.store.alert(self.alert.id).unwrap()
    }

    async fn ack(&self) -> pb::Alert {
        self.api
            .ack_alert(Request::new(pb::AckAlertRequest { id: self.id() }))
            .await
            .unwrap()
            .into_inner()
    }

    async fn snooze(&self, until: &str) -> Result<pb::Alert, tonic::Status> {
        self.api
            .snooze_alert(Request::new(pb::SnoozeAlertRequest {
                id: self.id(),
                until: until.into(),
            }))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn mute(&self, muted: bool) {
        let answer = self
            .api
            .mute_credential(Request::new(pb::MuteCredentialRequest {
                credential_id: IdKind::Credential.format(self.credential.id),
                muted,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.muted, muted);
    }

    /// Whether the credential's settings say muted, through the API.
    async fn muted(&self) -> bool {
        self.api
            .get_alert_settings(Request::new(pb::GetAlertSettingsRequest {
                scope: Some(pb::AlertSettingsScope {
                    credential_id: IdKind::Credential.format(self.credential.id),
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
            .muted
    }

    /// The alert as `recert alerts list --all` gets it.
    async fn listed(&self) -> pb::Alert {
        let mut alerts = self
            .api
            .list_alerts(Request::new(pb::ListAlertsRequest {
                holder_id: IdKind::Holder.format(self.holder.id),
                filter: "all".into(),
                page_size: 10,
                page_token: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
            .alerts;
        assert_eq!(alerts.len(), 1);
        alerts.remove(0)
    }

    /// No delivery is scheduled, and a dispatch at `at` sends nothing.
    async fn nothing_more_at(&mut self, at: &str) {
        assert_eq!(
            self.store.next_retry_at().unwrap(),
            None,
            "no retry scheduled"
        );
        assert!(self.store.alerts_due(ts(at), 10).unwrap().is_empty());
        assert_eq!(self.engine.dispatch_due(ts(at)).await.unwrap(), 0);
        assert!(
            self.sink.requests.try_recv().is_err(),
            "the receiver got nothing more"
        );
        let report = self.store.check().unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

/// Acknowledges through the API while the receiver holds `status`, then lets it answer.
async fn acknowledged_in_flight(status: u16, left: DeliveryState) {
    let mut outbox = Outbox::new(status).await;
    let task = outbox.start_delivery(NOW).await;
    let answer = outbox.ack().await;
    assert!(answer.acknowledged);
    assert_eq!(outbox.finish_delivery(task).await, 1);

    let alert = outbox.stored();
    assert!(alert.acknowledged, "the acknowledgement stands: {alert:?}");
    assert_eq!(alert.next_attempt(), None);
    let delivery = &alert.deliveries[0];
    assert_eq!(delivery.attempts, 1, "the attempt is recorded");
    assert_eq!(delivery.state, left);
    assert_eq!(delivery.next_attempt_at, None, "and not retried");
    let shown = outbox.listed().await;
    assert!(shown.acknowledged);
    assert_eq!(shown.status(), pb::AlertStatus::Acknowledged);
    assert_eq!(shown.deliveries[0].next_attempt_at, "");
    outbox.nothing_more_at(LATER).await;
}

#[tokio::test]
async fn an_acknowledgement_during_a_delivery_that_succeeds_stands() {
    acknowledged_in_flight(204, DeliveryState::Delivered).await;
}

#[tokio::test]
async fn an_acknowledgement_during_a_delivery_that_fails_stands_and_stops_retries() {
    acknowledged_in_flight(503, DeliveryState::Pending).await;
}

#[tokio::test]
async fn a_snooze_during_a_delivery_holds_every_delivery_until_its_date() {
    let mut outbox = Outbox::new(204).await;
    let task = outbox.start_delivery(NOW).await;
    let answer = outbox.snooze(UNTIL).await.unwrap();
    assert_eq!(answer.status(), pb::AlertStatus::Snoozed);
    assert_eq!(outbox.finish_delivery(task).await, 1);

    // The attempt belonged to the round the snooze replaced: the new round is untouched.
    let alert = outbox.stored();
    assert_eq!(alert.snoozed_until, Some(d(UNTIL)));
    let delivery = &alert.deliveries[0];
    assert_eq!(
        (delivery.state, delivery.attempts, delivery.next_attempt_at),
        (DeliveryState::Pending, 0, Some(ts(RESUME)))
    );
    assert_eq!(outbox.listed().await.status(), pb::AlertStatus::Snoozed);
    assert_eq!(outbox.engine.dispatch_due(ts(LATER)).await.unwrap(), 0);
    assert!(outbox.sink.requests.try_recv().is_err());

    assert_eq!(
        outbox.deliver(RESUME).await,
        1,
        "delivered when the snooze ends"
    );
    assert_eq!(
        outbox.stored().deliveries[0].state,
        DeliveryState::Delivered
    );
}

#[tokio::test]
async fn a_mute_during_a_failing_delivery_cancels_the_alert_and_stops_retries() {
    let mut outbox = Outbox::new(503).await;
    let task = outbox.start_delivery(NOW).await;
    outbox.mute(true).await;
    assert_eq!(outbox.finish_delivery(task).await, 1);

    let alert = outbox.stored();
    assert!(alert.cancelled, "{alert:?}");
    assert_eq!(alert.deliveries[0].attempts, 1);
    assert_eq!(alert.deliveries[0].next_attempt_at, None);
    assert!(outbox.muted().await);
    assert_eq!(outbox.listed().await.status(), pb::AlertStatus::Cancelled);
    outbox.nothing_more_at(LATER).await;

    // Unmuting changes the setting only: the cancelled alert stays cancelled.
    outbox.mute(false).await;
    assert!(!outbox.muted().await);
    assert!(outbox.stored().cancelled);
    outbox.nothing_more_at(LATER).await;
}

#[tokio::test]
async fn a_course_that_closes_the_shortfall_during_a_failing_delivery_cancels_it_for_good() {
    let mut outbox = Outbox::new(503).await;
    let task = outbox.start_delivery(NOW).await;
    outbox
        .store
        .create_course(Course {
            id: 0,
            holder_id: outbox.holder.id,
            title: "CE".into(),
            provider: String::new(),
            accreditation: String::new(),
            completed_on: d("2027-03-30"),
            amount: Credits::whole(20),
            unit: Unit::Hours,
            categories: Vec::new(),
            format: None,
            credential_ids: Vec::new(),
            evidence: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        outbox
            .api
            .api
            .service()
            .holder_changed(outbox.holder.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(outbox.finish_delivery(task).await, 1);

    let alert = outbox.stored();
    assert!(alert.cancelled, "{alert:?}");
    assert_eq!(alert.deliveries[0].attempts, 1);
    outbox.nothing_more_at(LATER).await;
}

#[tokio::test]
async fn snoozing_reopens_an_acknowledged_alert_and_a_cancelled_one_cannot_be_snoozed() {
    let mut outbox = Outbox::new(204).await;
    assert_eq!(outbox.deliver(NOW).await, 1);
    assert!(outbox.ack().await.acknowledged);

    // "Remind me again on UNTIL": the alert is open again, and shown as it is stored.
    let answer = outbox.snooze(UNTIL).await.unwrap();
    assert!(!answer.acknowledged);
    assert_eq!(answer.status(), pb::AlertStatus::Snoozed);
    assert_eq!(answer.snoozed_until, UNTIL);
    assert_eq!(answer.deliveries[0].status, "pending");
    assert_eq!(answer.deliveries[0].next_attempt_at, RESUME);
    assert_eq!(outbox.listed().await, answer);
    assert_eq!(outbox.engine.dispatch_due(ts(LATER)).await.unwrap(), 0);
    assert_eq!(outbox.deliver(RESUME).await, 1, "delivered again on UNTIL");

    // Acknowledging again drops the snooze; snoozing once more, then muting, cancels it.
    let acked = outbox.ack().await;
    assert!(acked.acknowledged);
    assert_eq!(acked.snoozed_until, "");
    outbox.snooze("2027-04-10").await.unwrap();
    outbox.mute(true).await;
    assert_eq!(outbox.listed().await.status(), pb::AlertStatus::Cancelled);
    let before = outbox.stored();
    let refused = outbox.snooze("2027-04-20").await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(refused.message(), "a cancelled alert cannot be snoozed");
    assert_eq!(outbox.stored(), before, "a refused snooze changes nothing");
}
