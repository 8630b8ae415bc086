//! A change and the cancelling of the alerts it makes moot commit together (issue 9 point
//! 2): the store runs the service's rule inside the change's own write, on both engines
//! (sled, or PostgreSQL with `RECERT_TEST_ENGINE=postgres`).
//!
//! A holder short of credits has a pending shortfall alert. A course that closes the
//! shortfall, written through the service's store handle and nothing else, leaves the alert
//! cancelled; a reader that sees the course never sees the alert still pending; a write
//! refused (a twin) cancels nothing.

use jiff::Timestamp;
use jiff::civil::Date;
use recertd::alerts::{AlertConfig, AlertEngine};
use recertd::clock::{Clock, ManualClock};
use recertd::domain::{Alert, Channel, ChannelKind, Course, Credential, Credits, Holder, Unit};
use recertd::service::Service;
use recertd::store::{PgOptions, PgStore, SledStore, Store, StoreOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn course(holder: u64, title: &str, hours: i64) -> Course {
    Course {
        id: 0,
        holder_id: holder,
        title: title.into(),
        provider: String::new(),
        accreditation: String::new(),
        completed_on: d("2027-03-30"),
        amount: Credits::whole(hours),
        unit: Unit::Hours,
        categories: Vec::new(),
        format: None,
        credential_ids: Vec::new(),
        evidence: String::new(),
    }
}

/// A holder of an NHA CPT credential expiring 2027-04-30 with no credits, a channel, and
/// the shortfall alert the engine enqueued for them; the service over `store`.
struct Short<S: Store> {
    service: Service<S>,
    holder: Holder,
    credential: Credential,
    alert: Alert,
}

async fn short<S: Store>(store: S, name: &str) -> Short<S> {
    let clock = ManualClock::new(ts("2027-03-31T07:00:00Z"));
    let config = AlertConfig {
        webhook_allow_nets: recert_tests::loopback_nets(),
        ..AlertConfig::default()
    };
    let engine = AlertEngine::new(store.clone(), Arc::new(clock.clone()), &config).unwrap();
    let holder = store
        .create_holder(Holder {
            id: 0,
            name: name.into(),
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
            target: "http://127.0.0.1:9/unreachable".into(),
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
    engine.run_due(clock.now()).await.unwrap();
    clock.set(ts("2027-03-31T08:00:00Z"));
    engine.run_due(clock.now()).await.unwrap();
    let alerts = store.alerts_of(holder.id, None, 10).await.unwrap().items;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = alerts.into_iter().next().unwrap();
    assert!(!alert.met && !alert.cancelled, "{alert:?}");
    let service = Service::new(store, Arc::new(clock), engine.waker());
    Short {
        service,
        holder,
        credential,
        alert,
    }
}

/// A test on a fresh store of the engine under test (sled in a temporary dir, or a fresh
/// PostgreSQL database).
macro_rules! on_the_engine {
    ($name:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let dir = tempfile::tempdir().unwrap();
            if let Some(base) = recert_tests::postgres_base() {
                let url = recert_tests::database_for(&base, dir.path());
                let store = PgStore::open(&PgOptions { url, pool_size: 4 })
                    .await
                    .unwrap();
                $body(store.clone()).await;
                store.close().await.unwrap();
            } else {
                let store = SledStore::open(dir.path(), &StoreOptions::default()).unwrap();
                $body(store.clone()).await;
                store.close().await.unwrap();
            }
        }
    };
}

on_the_engine!(
    the_closing_course_is_written_with_its_alert_cancelled,
    closing_course_alone_cancels
);
on_the_engine!(a_refused_twin_cancels_nothing, refused_twin_cancels_nothing);
on_the_engine!(
    a_reader_never_sees_the_course_without_the_cancel,
    reader_never_sees_the_course_without_the_cancel
);
on_the_engine!(
    an_edited_course_that_closes_the_shortfall_cancels_in_its_write,
    edited_course_cancels
);

async fn closing_course_alone_cancels<S: Store>(store: S) {
    let s = short(store, "Ada").await;
    let store = s.service.store().clone();
    // Through the store handle only: no service step runs after the write.
    store
        .create_distinct_course(course(s.holder.id, "Phlebotomy update", 20))
        .await
        .unwrap();
    let alert = store.alert(s.alert.id).await.unwrap();
    assert!(
        alert.cancelled,
        "the course's write cancelled it: {alert:?}"
    );
    assert_eq!(alert.next_attempt(), None);
    assert_eq!(alert.credential_id, s.credential.id);
}

async fn refused_twin_cancels_nothing<S: Store>(raw: S) {
    let s = short(raw.clone(), "Bo").await;
    // The closing course, written behind the service's back (a handle without the rule):
    // the alert stays pending.
    raw.create_course(course(s.holder.id, "Safety", 20))
        .await
        .unwrap();
    // Its twin through the service's handle is refused; the rule would find the credential
    // met, but a refused write commits nothing, so the alert is not cancelled either.
    let refused = s
        .service
        .store()
        .create_distinct_course(course(s.holder.id, "Safety", 20))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            recertd::store::StoreError::Conflict(recertd::store::Conflict::DuplicateCourse { .. })
        ),
        "{refused:?}"
    );
    let alert = raw.alert(s.alert.id).await.unwrap();
    assert!(!alert.cancelled, "{alert:?}");
    assert_eq!(raw.courses_of(s.holder.id).await.unwrap().len(), 1);
}

async fn edited_course_cancels<S: Store>(store: S) {
    let s = short(store, "Di").await;
    let store = s.service.store().clone();
    let mut logged = store
        .create_course(course(s.holder.id, "Half a course", 1))
        .await
        .unwrap();
    assert!(
        !store.alert(s.alert.id).await.unwrap().cancelled,
        "1 hour: still short"
    );
    logged.amount = Credits::whole(20);
    store.update_course(logged).await.unwrap();
    let alert = store.alert(s.alert.id).await.unwrap();
    assert!(alert.cancelled, "the edit's write cancelled it: {alert:?}");
}

async fn reader_never_sees_the_course_without_the_cancel<S: Store>(store: S) {
    let s = short(store, "Cy").await;
    let store = s.service.store().clone();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let done = done.clone();
        let (holder, alert) = (s.holder.id, s.alert.id);
        tokio::spawn(async move {
            let mut reads = 0u64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                // The course first, then the alert: once the course is visible, the cancel
                // committed with it must be too.
                let courses = store.courses_of(holder).await.unwrap();
                let alert = store.alert(alert).await.unwrap();
                reads += 1;
                if !courses.is_empty() {
                    assert!(
                        alert.cancelled,
                        "read {reads}: the course is visible but its alert is still pending: {alert:?}"
                    );
                    return reads;
                }
                assert!(!finished, "the course was written but never seen");
                tokio::task::yield_now().await;
            }
        })
    };
    s.service
        .store()
        .create_distinct_course(course(s.holder.id, "Venipuncture", 20))
        .await
        .unwrap();
    done.store(true, Ordering::SeqCst);
    let reads = reader.await.unwrap();
    assert!(reads >= 1);
}
