//! The alert engine on a real store with a manual clock: a year of ticks, downtime and
//! catch-up, a restart between enqueue and delivery, retries against real receivers that
//! fail then recover, and holders on opposite sides of the world.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use recert_tests::sinks::{SmtpSink, WebhookSink};
use recertd::alerts::delivery::{AlertPayload, verify};
use recertd::alerts::{AlertConfig, AlertEngine};
use recertd::clock::{Clock, ManualClock};
use recertd::domain::{
    Alert, Channel, ChannelKind, Course, Credential, Credits, DeliveryState, Holder, Mark, Unit,
};
use recertd::service::Service;
use recertd::store::{SledStore as Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, &StoreOptions::default()).unwrap()
}

fn engine(store: &Store, clock: &ManualClock, smtp: Option<&str>) -> AlertEngine<Store> {
    let config = AlertConfig {
        smtp_url: smtp.map(str::to_string),
        webhook_allow_nets: recert_tests::loopback_nets(),
        ..AlertConfig::default()
    };
    AlertEngine::new(store.clone(), Arc::new(clock.clone()), &config).unwrap()
}

async fn holder(store: &Store, name: &str, zone: &str) -> Holder {
    store
        .create_holder(Holder {
            id: 0,
            name: name.into(),
            email: String::new(),
            time_zone: zone.into(),
            hired_on: None,
            competencies: Vec::new(),
        })
        .await
        .unwrap()
}

async fn credential(store: &Store, holder: u64, program: &str, expires: &str) -> Credential {
    store
        .create_credential(Credential {
            id: 0,
            holder_id: holder,
            program: program.into(),
            number: String::new(),
            issued_on: None,
            expires_on: d(expires),
            history: Vec::new(),
            verifications: Vec::new(),
        })
        .await
        .unwrap()
}

async fn course(store: &Store, holder: u64, hours: i64, on: &str) {
    store
        .create_course(Course {
            id: 0,
            holder_id: holder,
            title: "CE".into(),
            provider: String::new(),
            accreditation: String::new(),
            completed_on: d(on),
            amount: Credits::whole(hours),
            unit: Unit::Hours,
            categories: Vec::new(),
            format: None,
            credential_ids: Vec::new(),
            evidence: String::new(),
        })
        .await
        .unwrap();
}

/// (credential, mark, local due date) of every alert in the store.
/// The credential-cycle alerts enqueued: (credential, mark, local date due). Dues alerts
/// (AMT's) are left out; [`fired_dues`] has them.
fn fired(store: &Store) -> Vec<(u64, Mark, Date)> {
    let mut all: Vec<(u64, Mark, Date)> = store
        .all_alerts(None, usize::MAX)
        .unwrap()
        .items
        .iter()
        .filter(|a| a.is_credential_cycle())
        .map(|a| (a.credential_id, a.mark, a.due_on))
        .collect();
    all.sort();
    all
}

/// Lives day by day from `start` for `days` days, at `utc_time` each day.
async fn live(
    engine: &AlertEngine<Store>,
    clock: &ManualClock,
    start: Date,
    days: i64,
    utc_time: &str,
) {
    for day in 0..days {
        let date = start.checked_add(day.days()).unwrap();
        let now: Timestamp = format!("{date}T{utc_time}Z").parse().unwrap();
        clock.set(now);
        engine.run_due(now).await.unwrap();
    }
}

#[tokio::test]
async fn a_year_of_three_credentials_fires_every_alert_once_on_its_local_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let clock = ManualClock::new(ts("2026-11-25T00:00:00Z"));
    let engine = engine(&store, &clock, None);
    let dana = holder(&store, "Dana", "America/Chicago").await;
    let ncct = credential(&store, dana.id, "ncct-ncpt", "2027-03-15").await; // 1-year cycle (ASPT's ends on November 30)
    let nha = credential(&store, dana.id, "nha-cpt", "2027-06-30").await; // 2-year cycle
    // AMCA states no grace period (the catalog has none since its fact check): a local
    // override with 30 days, to live through the grace weeks.
    let mut amca_30 = recertd::catalog::find("amca-cpt").unwrap().clone();
    amca_30.grace_days = 30;
    store.put_program(amca_30, true).await.unwrap();
    let amca = credential(&store, dana.id, "amca-cpt", "2027-01-20").await; // 30-day grace
    engine.run_due(clock.now()).await.unwrap(); // the zone's schedule starts now

    let started = std::time::Instant::now();
    // 14:30 UTC is 08:30 in Chicago in winter and 09:30 in summer: after the 08:00 tick.
    // Halfway through, NHA's requirement is met: later NHA alerts say "apply".
    live(&engine, &clock, d("2026-11-25"), 170, "14:30:00").await;
    course(&store, dana.id, 20, "2027-05-13").await;
    live(&engine, &clock, d("2027-05-14"), 195, "14:30:00").await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a year took {:?}",
        started.elapsed()
    );

    let mut expected = vec![
        (ncct.id, Mark::Before(60), d("2027-01-14")),
        (ncct.id, Mark::Before(30), d("2027-02-13")),
        (ncct.id, Mark::Before(14), d("2027-03-01")),
        (ncct.id, Mark::Before(7), d("2027-03-08")),
        (ncct.id, Mark::Before(1), d("2027-03-14")),
        (ncct.id, Mark::ExpiryDay, d("2027-03-15")),
        (ncct.id, Mark::Lapsed, d("2027-03-16")),
        (nha.id, Mark::Before(90), d("2027-04-01")),
        (nha.id, Mark::Before(60), d("2027-05-01")),
        (nha.id, Mark::Before(30), d("2027-05-31")),
        (nha.id, Mark::Before(14), d("2027-06-16")),
        (nha.id, Mark::Before(7), d("2027-06-23")),
        (nha.id, Mark::Before(1), d("2027-06-29")),
        (nha.id, Mark::ExpiryDay, d("2027-06-30")),
        (nha.id, Mark::Lapsed, d("2027-07-01")),
        // Added after its 90- and 60-day marks had passed: one 60-day alert at the first tick.
        (amca.id, Mark::Before(60), d("2026-11-25")),
        (amca.id, Mark::Before(30), d("2026-12-21")),
        (amca.id, Mark::Before(14), d("2027-01-06")),
        (amca.id, Mark::Before(7), d("2027-01-13")),
        (amca.id, Mark::Before(1), d("2027-01-19")),
        (amca.id, Mark::ExpiryDay, d("2027-01-20")),
        (amca.id, Mark::GraceWeek(1), d("2027-01-27")),
        (amca.id, Mark::GraceWeek(2), d("2027-02-03")),
        (amca.id, Mark::GraceWeek(3), d("2027-02-10")),
        (amca.id, Mark::GraceWeek(4), d("2027-02-17")),
        (amca.id, Mark::Lapsed, d("2027-02-20")),
    ];
    expected.sort();
    assert_eq!(fired(&store), expected);

    let alerts = store.all_alerts(None, usize::MAX).unwrap().items;
    let text = |cred: u64, mark: Mark| -> &Alert {
        alerts
            .iter()
            .find(|a| a.credential_id == cred && a.mark == mark)
            .unwrap()
    };
    let nha60 = text(nha.id, Mark::Before(60));
    assert_eq!(
        nha60.title,
        "Dana: Certified Phlebotomy Technician (CPT) expires in 60 days, on 2027-06-30: 10 NHA CE credits still needed"
    );
    assert!(
        nha60
            .body
            .contains("Pace needed: 10 NHA CE credits in 60 days."),
        "{}",
        nha60.body
    );
    assert_eq!(nha60.key(), format!("cr{}/2027-06-30/60", nha.id));
    let nha30 = text(nha.id, Mark::Before(30));
    assert!(
        nha30.met && nha30.title.contains("renewal due: apply"),
        "{}",
        nha30.title
    );
    let amca_grace = text(amca.id, Mark::GraceWeek(1));
    assert!(
        amca_grace.body.contains("grace period"),
        "{}",
        amca_grace.body
    );
    // Every alert was created at 08:00 Chicago time on its due date.
    let chicago = TimeZone::get("America/Chicago").unwrap();
    for a in &alerts {
        let local = a.created_at.to_zoned(chicago.clone());
        assert_eq!(
            (local.date(), local.hour(), local.minute()),
            (a.due_on, 8, 0),
            "{}",
            a.key()
        );
    }
}

#[tokio::test]
async fn downtime_across_two_thresholds_coalesces_into_one_alert_and_restarts_add_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(ts("2027-01-02T12:00:00Z"));
    let cred = {
        let store = open(dir.path());
        let engine = engine(&store, &clock, None);
        let h = holder(&store, "Lee", "UTC").await;
        let c = credential(&store, h.id, "nha-cpt", "2027-04-30").await; // 90-day mark: 01-30
        engine.run_due(clock.now()).await.unwrap();
        live(&engine, &clock, d("2027-01-03"), 3, "09:00:00").await;
        assert_eq!(fired(&store), vec![], "nothing due yet");
        store.close().await.unwrap();
        c
    };
    // Down from 2027-01-05 until 2027-04-05: past the 90-, 60- and 30-day marks.
    clock.set(ts("2027-04-05T09:00:00Z"));
    {
        let store = open(dir.path());
        let engine = engine(&store, &clock, None);
        let new = engine.run_due(clock.now()).await.unwrap();
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(
            fired(&store),
            vec![(cred.id, Mark::Before(30), d("2027-04-05"))]
        );
        store.close().await.unwrap();
    }
    {
        let store = open(dir.path());
        let engine = engine(&store, &clock, None);
        assert!(engine.run_due(clock.now()).await.unwrap().is_empty());
        assert_eq!(fired(&store).len(), 1, "a second restart adds nothing");
    }
}

#[tokio::test]
async fn an_alert_enqueued_before_a_crash_is_delivered_after_restart_with_a_valid_signature() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let mut sink = WebhookSink::start(None, 200).await;
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    {
        let store = open(dir.path());
        let engine = engine(&store, &clock, None);
        let h = holder(&store, "Kim", "UTC").await;
        store
            .create_channel(Channel {
                id: 0,
                holder_id: h.id,
                kind: ChannelKind::Webhook,
                target: sink.url.clone(),
                secret: "s3cret".into(),
                team_id: 0,
            })
            .await
            .unwrap();
        credential(&store, h.id, "nha-cpt", "2027-04-30").await;
        engine.run_due(clock.now()).await.unwrap();
        clock.set(ts("2027-03-31T08:00:00Z"));
        let new = engine.run_due(clock.now()).await.unwrap();
        assert_eq!(new.len(), 1);
        // The process dies here, enqueued and never dispatched: take the files as a crash
        // would leave them (no close, no final flush) and start from that copy.
        copy_dir(&dir.path().join("db"), &crashed.path().join("db"));
    }
    let store = open(crashed.path());
    let engine = engine(&store, &clock, None);
    assert_eq!(engine.dispatch_due(clock.now()).await.unwrap(), 1);
    let request = tokio::time::timeout(Duration::from_secs(10), sink.requests.recv())
        .await
        .expect("the webhook arrives")
        .unwrap();
    let payload: AlertPayload = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload.threshold_days, Some(30));
    assert_eq!(
        request.header("Idempotency-Key"),
        Some(payload.idempotency_key.as_str())
    );
    let signature = request.header("X-Recert-Signature").unwrap();
    assert!(verify(
        b"s3cret",
        signature,
        &request.body,
        clock.now(),
        Duration::from_secs(300)
    ));
    assert!(!verify(
        b"wrong",
        signature,
        &request.body,
        clock.now(),
        Duration::from_secs(300)
    ));
    let alert = &store.all_alerts(None, 10).unwrap().items[0];
    assert_eq!(alert.deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(
        engine.dispatch_due(clock.now()).await.unwrap(),
        0,
        "delivered once"
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_then_up_gets_the_alert_on_a_persisted_retry() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start(None, 200).await;
    let addr = sink.addr;
    sink.stop(); // down: nothing listens on addr
    let mut smtp = SmtpSink::start().await;
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, Some(&smtp.url));
    let h = holder(&store, "Ana", "UTC").await;
    for (kind, target) in [
        (ChannelKind::Webhook, format!("http://{addr}/hook")),
        (ChannelKind::Email, "ana@example.org".into()),
    ] {
        store
            .create_channel(Channel {
                id: 0,
                holder_id: h.id,
                kind,
                target,
                secret: String::new(),
                team_id: 0,
            })
            .await
            .unwrap();
    }
    credential(&store, h.id, "nha-cpt", "2027-04-30").await;
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    engine.run_due(clock.now()).await.unwrap();
    assert_eq!(engine.dispatch_due(clock.now()).await.unwrap(), 2);

    let mail = tokio::time::timeout(Duration::from_secs(10), smtp.mails.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.rcpt_to, ["<ana@example.org>"]);
    assert!(
        mail.header("Subject")
            .unwrap()
            .contains("expires in 30 days"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("10 NHA CE credits still needed"),
        "{}",
        mail.data
    );

    let alert = store.all_alerts(None, 10).unwrap().items.remove(0);
    let webhook = &alert.deliveries[0];
    assert_eq!(
        (webhook.state, webhook.attempts),
        (DeliveryState::Pending, 1)
    );
    assert!(!webhook.last_error.is_empty());
    let retry_at = webhook.next_attempt_at.expect("a retry is scheduled");
    assert!(retry_at > clock.now());
    store.close().await.unwrap();
    drop(engine);
    drop(store);

    // Restart; the receiver is back on the same port; the retry time survived.
    let mut sink = WebhookSink::start(Some(addr), 200).await;
    let store = open(dir.path());
    let engine = engine_for(&store, &clock);
    assert_eq!(
        store.next_retry_at().unwrap(),
        Some(jiff::Timestamp::from_second(retry_at.as_second()).unwrap())
    );
    assert_eq!(
        engine.dispatch_due(clock.now()).await.unwrap(),
        0,
        "not before its time"
    );
    clock.set(retry_at);
    assert_eq!(engine.dispatch_due(clock.now()).await.unwrap(), 1);
    tokio::time::timeout(Duration::from_secs(10), sink.requests.recv())
        .await
        .unwrap()
        .unwrap();
    let alert = store.all_alerts(None, 10).unwrap().items.remove(0);
    assert_eq!(alert.deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(alert.deliveries[0].attempts, 2);
    assert_eq!(alert.deliveries[1].state, DeliveryState::Delivered);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn engine_for(store: &Store, clock: &ManualClock) -> AlertEngine<Store> {
    engine(store, clock, None)
}

#[tokio::test]
async fn a_receiver_that_refuses_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let _sink_guard;
    let url = {
        let sink = WebhookSink::start(None, 400).await;
        let url = sink.url.clone();
        _sink_guard = sink;
        url
    };
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let h = holder(&store, "Bo", "UTC").await;
    store
        .create_channel(Channel {
            id: 0,
            holder_id: h.id,
            kind: ChannelKind::Webhook,
            target: url,
            secret: String::new(),
            team_id: 0,
        })
        .await
        .unwrap();
    credential(&store, h.id, "nha-cpt", "2027-04-30").await;
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    engine.run_due(clock.now()).await.unwrap();
    engine.dispatch_due(clock.now()).await.unwrap();
    let alert = store.all_alerts(None, 10).unwrap().items.remove(0);
    assert_eq!(alert.deliveries[0].state, DeliveryState::Failed);
    assert_eq!(alert.deliveries[0].attempts, 1);
    assert_eq!(
        alert.status(d("2027-03-31")),
        recertd::domain::AlertStatus::Failed
    );
    assert_eq!(store.next_retry_at().unwrap(), None);
}

#[tokio::test]
async fn a_course_that_closes_the_shortfall_cancels_the_pending_alert() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let h = holder(&store, "Cy", "UTC").await;
    store
        .create_channel(Channel {
            id: 0,
            holder_id: h.id,
            kind: ChannelKind::Webhook,
            target: "http://127.0.0.1:9/unreachable".into(),
            secret: String::new(),
            team_id: 0,
        })
        .await
        .unwrap();
    credential(&store, h.id, "nha-cpt", "2027-04-30").await;
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    engine.run_due(clock.now()).await.unwrap();
    let service = Service::new(store.clone(), Arc::new(clock.clone()), engine.waker());
    assert_eq!(
        service.holder_changed(h.id).await.unwrap(),
        0,
        "still short"
    );
    course(&store, h.id, 20, "2027-03-30").await;
    assert_eq!(service.holder_changed(h.id).await.unwrap(), 1);
    let alert = store.all_alerts(None, 10).unwrap().items.remove(0);
    assert!(alert.cancelled);
    assert_eq!(engine.dispatch_due(clock.now()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_shortfall_met_behind_the_services_back_is_cancelled_at_send_time_not_sent() {
    // The course goes straight to the store (as an import or a second daemon would write
    // it), so nothing cancels the pending alert before the dispatcher looks at it.
    let dir = tempfile::tempdir().unwrap();
    let mut sink = WebhookSink::start(None, 200).await;
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let h = holder(&store, "Dee", "UTC").await;
    store
        .create_channel(Channel {
            id: 0,
            holder_id: h.id,
            kind: ChannelKind::Webhook,
            target: sink.url.clone(),
            secret: String::new(),
            team_id: 0,
        })
        .await
        .unwrap();
    credential(&store, h.id, "nha-cpt", "2027-04-30").await;
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    let enqueued = engine.run_due(clock.now()).await.unwrap();
    assert_eq!(enqueued.len(), 1, "one shortfall alert is due");
    assert!(!enqueued[0].met);
    course(&store, h.id, 20, "2027-03-30").await;
    assert_eq!(
        engine.dispatch_due(clock.now()).await.unwrap(),
        0,
        "nothing sent"
    );
    let alert = store.all_alerts(None, 10).unwrap().items.remove(0);
    assert!(alert.cancelled, "cancelled instead: {alert:?}");
    assert_eq!(store.next_retry_at().unwrap(), None, "and never retried");
    clock.set(ts("2027-04-01T09:00:00Z"));
    engine.dispatch_due(clock.now()).await.unwrap();
    assert!(
        sink.requests.try_recv().is_err(),
        "the receiver got nothing"
    );
}

#[tokio::test]
async fn auckland_and_los_angeles_get_alerts_on_their_own_dates_across_dst_changes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(ts("2027-03-01T00:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let akl = holder(&store, "Aroha", "Pacific/Auckland").await;
    let la = holder(&store, "Luis", "America/Los_Angeles").await;
    // NZ daylight time ends 2027-04-04; US daylight time began 2027-03-14.
    let akl_cred = credential(&store, akl.id, "ncct-ncpt", "2027-04-11").await; // 7 days: 04-04
    let la_cred = credential(&store, la.id, "ncct-ncpt", "2027-03-21").await; // 7 days: 03-14
    engine.run_due(clock.now()).await.unwrap();
    // Every hour for 45 days.
    for hour in 1..=(45 * 24) {
        let now = ts("2027-03-01T00:00:00Z")
            .checked_add((hour as i64).hours())
            .unwrap();
        clock.set(now);
        engine.run_due(now).await.unwrap();
    }
    let alerts = store.all_alerts(None, usize::MAX).unwrap().items;
    for (cred, zone) in [
        (akl_cred.id, "Pacific/Auckland"),
        (la_cred.id, "America/Los_Angeles"),
    ] {
        let tz = TimeZone::get(zone).unwrap();
        let mine: Vec<&Alert> = alerts.iter().filter(|a| a.credential_id == cred).collect();
        assert!(!mine.is_empty());
        for a in &mine {
            let local = a.created_at.to_zoned(tz.clone());
            assert_eq!(
                (local.date(), local.hour()),
                (a.due_on, 8),
                "{zone} {}",
                a.key()
            );
            let mark_day = a.mark.date(a.expires_on, 0).unwrap();
            // A mark already past when the credential was added fires at the first tick.
            if mark_day >= d("2027-03-02") {
                assert_eq!(a.due_on, mark_day, "{zone} {}", a.key());
            } else {
                assert_eq!(local.date(), a.due_on, "{zone} {}", a.key());
                assert!(a.due_on <= d("2027-03-02"), "{zone} {}", a.key());
            }
        }
    }
    let on = |cred: u64, mark: Mark| {
        alerts
            .iter()
            .find(|a| a.credential_id == cred && a.mark == mark)
            .unwrap()
    };
    // 7 days before, on the DST change days themselves.
    assert_eq!(
        on(akl_cred.id, Mark::Before(7)).created_at,
        ts("2027-04-03T20:00:00Z")
    ); // 08:00 NZST (+12)
    assert_eq!(
        on(akl_cred.id, Mark::Before(14)).created_at,
        ts("2027-03-27T19:00:00Z")
    ); // 08:00 NZDT (+13)
    assert_eq!(
        on(la_cred.id, Mark::Before(7)).created_at,
        ts("2027-03-14T15:00:00Z")
    ); // 08:00 PDT (-7)
    assert_eq!(
        on(la_cred.id, Mark::Before(14)).created_at,
        ts("2027-03-07T16:00:00Z")
    ); // 08:00 PST (-8)
}

#[tokio::test]
async fn thresholds_of_a_credential_beat_its_holders_which_beat_its_programs() {
    use recertd::domain::AlertSettings;
    use recertd::store::SettingsScope;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(ts("2027-01-01T00:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let h = holder(&store, "Eve", "UTC").await;
    let nha = credential(&store, h.id, "nha-cpt", "2027-06-30").await;
    let amt = credential(&store, h.id, "amt-rpt", "2027-06-30").await;
    let set = |thresholds: Vec<u32>| AlertSettings {
        thresholds: Some(thresholds),
        muted: false,
    };
    store
        .set_alert_settings(SettingsScope::Program("nha-cpt".into()), set(vec![100]))
        .await
        .unwrap();
    store
        .set_alert_settings(SettingsScope::Holder(h.id), set(vec![45]))
        .await
        .unwrap();
    store
        .set_alert_settings(SettingsScope::Credential(nha.id), set(vec![120, 20]))
        .await
        .unwrap();
    engine.run_due(clock.now()).await.unwrap();
    live(&engine, &clock, d("2027-01-01"), 175, "09:00:00").await;
    let mut expected = vec![
        (nha.id, Mark::Before(120), d("2027-03-02")),
        (nha.id, Mark::Before(20), d("2027-06-10")),
        (amt.id, Mark::Before(45), d("2027-05-16")),
    ];
    expected.sort();
    assert_eq!(fired(&store), expected);
    // AMT's dues (by the end of June, the anniversary month) follow the holder's thresholds
    // too, as their own alert.
    let dues: Vec<(u64, Mark, Date, Date)> = store
        .all_alerts(None, usize::MAX)
        .unwrap()
        .items
        .iter()
        .filter(|a| !a.is_credential_cycle())
        .map(|a| (a.credential_id, a.mark, a.due_on, a.expires_on))
        .collect();
    assert_eq!(
        dues,
        [(amt.id, Mark::Before(45), d("2027-05-16"), d("2027-06-30"))]
    );
}

#[tokio::test]
async fn one_tick_enqueues_every_due_alert_with_distinct_ids_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let store = open(dir.path());
    let engine = engine(&store, &clock, None);
    let a = holder(&store, "A", "UTC").await;
    let b = holder(&store, "B", "UTC").await;
    let mut creds = Vec::new();
    for h in [a.id, b.id] {
        creds.push(credential(&store, h, "nha-cpt", "2027-04-30").await.id);
        creds.push(credential(&store, h, "amca-cpt", "2027-04-30").await.id);
    }
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    let new = engine.run_due(clock.now()).await.unwrap();
    assert_eq!(new.len(), 4);
    // The tick reports where its time went: it wrote alerts durably, so that took time.
    let timings = engine.last_tick_timings();
    assert!(timings.enqueue > std::time::Duration::ZERO, "{timings:?}");
    assert!(timings.evaluate > std::time::Duration::ZERO, "{timings:?}");
    let mut ids: Vec<u64> = new.iter().map(|a| a.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "distinct ids: {ids:?}");
    let mut alerted: Vec<u64> = new.iter().map(|a| a.credential_id).collect();
    alerted.sort();
    creds.sort();
    assert_eq!(alerted, creds);
    assert!(
        store.check().unwrap().ok(),
        "{:?}",
        store.check().unwrap().problems
    );
    clock.set(ts("2027-04-01T08:00:00Z"));
    assert!(engine.run_due(clock.now()).await.unwrap().is_empty());
}
