//! SledStore tests on a real sled store in a temporary directory.

use super::*;
use crate::domain::{Credits, Unit};
use crate::store::Conflict;

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn holder(name: &str) -> Holder {
    Holder {
        id: 0,
        name: name.into(),
        email: String::new(),
        time_zone: "UTC".into(),
        hired_on: None,
        competencies: Vec::new(),
    }
}

fn credential(holder_id: u64, program: &str, expires: &str) -> Credential {
    Credential {
        id: 0,
        holder_id,
        program: program.into(),
        number: String::new(),
        issued_on: None,
        expires_on: date(expires),
        history: Vec::new(),
        verifications: Vec::new(),
    }
}

fn course(holder_id: u64, title: &str, pins: Vec<u64>) -> Course {
    Course {
        id: 0,
        holder_id,
        title: title.into(),
        provider: String::new(),
        accreditation: String::new(),
        completed_on: date("2026-01-10"),
        amount: Credits::whole(2),
        unit: Unit::Hours,
        categories: vec!["safety".into()],
        format: None,
        credential_ids: pins,
        evidence: String::new(),
    }
}

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, &StoreOptions::default()).unwrap()
}

#[tokio::test]
async fn records_survive_reopen_with_ids_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let dana = store.create_holder(holder("Dana")).await.unwrap();
    let lee = store.create_holder(holder("Lee")).await.unwrap();
    assert_eq!((dana.id, lee.id), (1, 2));
    assert_eq!(store.default_holder_id().unwrap(), Some(1));
    let cpt = store
        .create_credential(credential(dana.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    let logged = store
        .create_course(course(dana.id, "Safety", vec![cpt.id]))
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);

    let store = open(dir.path());
    assert_eq!(store.holder(dana.id).unwrap().name, "Dana");
    assert_eq!(store.credentials_of(dana.id).unwrap(), vec![cpt.clone()]);
    assert_eq!(store.courses_of(dana.id).unwrap(), vec![logged]);
    assert!(store.courses_of(lee.id).unwrap().is_empty());
    let next = store.create_holder(holder("Kim")).await.unwrap();
    assert_eq!(next.id, 3, "id counters persist");
    let expiring = store
        .expiring(date("2027-01-01"), date("2027-12-31"), None, 10)
        .unwrap();
    assert_eq!(expiring.items, vec![cpt]);
}

#[tokio::test]
async fn pages_follow_on_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    for i in 0..7 {
        store
            .create_course(course(h.id, &format!("c{i}"), vec![]))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_courses(h.id, after, 3).unwrap();
        seen.extend(page.items.iter().map(|c| c.title.clone()));
        match page.next {
            Some(key) => after = keys::read_id(key.bytes()),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("c{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn expiry_index_follows_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let mut c = store
        .create_credential(credential(h.id, "amt-rpt", "2027-01-15"))
        .await
        .unwrap();
    c.expires_on = date("2030-01-15");
    store.update_credential(c.clone()).await.unwrap();
    let in_2027 = store
        .expiring(date("2027-01-01"), date("2027-12-31"), None, 10)
        .unwrap();
    assert!(in_2027.items.is_empty());
    let in_2030 = store
        .expiring(date("2030-01-01"), date("2030-12-31"), None, 10)
        .unwrap();
    assert_eq!(in_2030.items, vec![c.clone()]);
    store.delete_credential(c.id).await.unwrap();
    let in_2030 = store
        .expiring(date("2030-01-01"), date("2030-12-31"), None, 10)
        .unwrap();
    assert!(in_2030.items.is_empty());
}

#[tokio::test]
async fn deleting_a_credential_unpins_it_and_holder_delete_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let c = store
        .create_credential(credential(h.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    let k = store
        .create_course(course(h.id, "Pinned", vec![c.id]))
        .await
        .unwrap();
    store.delete_credential(c.id).await.unwrap();
    assert!(store.course(k.id).unwrap().credential_ids.is_empty());

    let refused = store.delete_holder(h.id, false).await.unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Conflict(Conflict::HolderHasRecords { .. })
        ),
        "{refused}"
    );
    assert_eq!(
        store.courses_of(h.id).unwrap().len(),
        1,
        "a refused delete changes nothing"
    );
    store.delete_holder(h.id, true).await.unwrap();
    assert!(matches!(
        store.course(k.id),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.default_holder_id().unwrap(), None);
}

#[tokio::test]
async fn one_credential_per_program_and_pins_must_be_the_holders() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store.create_holder(holder("A")).await.unwrap();
    let b = store.create_holder(holder("B")).await.unwrap();
    let c = store
        .create_credential(credential(a.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    let dup = store
        .create_credential(credential(a.id, "nha-cpt", "2028-04-30"))
        .await
        .unwrap_err();
    assert!(
        matches!(dup, StoreError::Conflict(Conflict::CredentialHeld { .. })),
        "{dup}"
    );
    let foreign = store
        .create_course(course(b.id, "X", vec![c.id]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            foreign,
            StoreError::Conflict(Conflict::PinnedToOther { .. })
        ),
        "{foreign}"
    );
    assert!(store.courses_of(b.id).unwrap().is_empty());
}

#[tokio::test]
async fn a_second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = open(dir.path());
    let err = SledStore::open(dir.path(), &StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use by another recertd"));
}

#[tokio::test]
async fn a_store_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert(META_SCHEMA, &(SCHEMA_VERSION + 1).to_be_bytes()[..])
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), &StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_writers_share_flushes_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_course(course(h.id, &format!("c{i}"), vec![]))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store.close().await.unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.courses_of(h.id).unwrap().len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_courses_keeps_each_answer_and_dense_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let dana = store.create_holder(holder("Dana")).await.unwrap();
    let lee = store.create_holder(holder("Lee")).await.unwrap();
    let lees = store
        .create_credential(credential(lee.id, "nha-cpt", "2027-04-24"))
        .await
        .unwrap();
    let before = (
        store.version(dana.id).unwrap(),
        store.version(lee.id).unwrap(),
    );
    // 300 courses at once: every third for a missing holder, every fifth pinned to a
    // credential of another holder. They share batches; each gets its own answer.
    let tasks: Vec<_> = (0..300u64)
        .map(|i| {
            let store = store.clone();
            let c = if i % 3 == 0 {
                course(999, &format!("c{i}"), vec![])
            } else if i % 5 == 0 {
                course(dana.id, &format!("c{i}"), vec![lees.id])
            } else {
                course(dana.id, &format!("c{i}"), vec![])
            };
            tokio::spawn(async move { (i, store.create_course(c).await) })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        let (i, answer) = t.await.unwrap();
        match answer {
            Ok(c) => {
                assert!(i % 3 != 0 && i % 5 != 0, "course {i} should be refused");
                assert_eq!(c.title, format!("c{i}"));
                ids.push(c.id);
            }
            Err(StoreError::NotFound { kind, .. }) => {
                assert_eq!((i % 3, kind), (0, IdKind::Holder));
            }
            Err(StoreError::Conflict(Conflict::PinnedToOther { credential })) => {
                assert!(i % 5 == 0 && i % 3 != 0, "{i}");
                assert_eq!(
                    credential, lees.id,
                    "the pin to another holder's credential"
                );
            }
            Err(e) => panic!("course {i}: {e}"),
        }
    }
    let good = (0..300u64).filter(|i| i % 3 != 0 && i % 5 != 0).count();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=good as u64).collect::<Vec<_>>(),
        "ids are dense and unique"
    );
    // Only Dana's version moved: Lee's cached answers stay valid.
    let dana_after = store.version(dana.id).unwrap();
    assert_eq!(dana_after.programs, before.0.programs);
    assert!(dana_after.holder > before.0.holder);
    assert_eq!(store.version(lee.id).unwrap(), before.1);
    // A credential write moves its holder's version only; a local program moves everyone's.
    store
        .create_credential(credential(dana.id, "nha-cpt", "2027-04-24"))
        .await
        .unwrap();
    assert_eq!(store.version(lee.id).unwrap(), before.1);
    let mut program = crate::catalog::find("nha-cpt").unwrap().clone();
    program.unit_hours = crate::domain::Credits::whole(1);
    store.put_program(program, true).await.unwrap();
    assert!(store.version(lee.id).unwrap().programs > before.1.programs);
    let versions = (
        store.version(dana.id).unwrap(),
        store.version(lee.id).unwrap(),
    );
    store.close().await.unwrap();
    drop(store);
    let store = open(dir.path());
    // Versions are stored, not counted in memory: they survive a restart.
    assert_eq!(
        (
            store.version(dana.id).unwrap(),
            store.version(lee.id).unwrap()
        ),
        versions
    );
    let titles: Vec<u64> = store
        .courses_of(dana.id)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(titles, ids);
    let next = store
        .create_course(course(dana.id, "after", vec![]))
        .await
        .unwrap();
    assert_eq!(next.id, good as u64 + 1, "the id counter was persisted");
}

#[tokio::test]
async fn a_version_1_store_is_migrated_and_reads_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let (h, c) = {
        let store = open(dir.path());
        let h = store
            .create_holder(Holder {
                time_zone: "Pacific/Auckland".into(),
                ..holder("Aroha")
            })
            .await
            .unwrap();
        let c = store
            .create_credential(credential(h.id, "nha-cpt", "2027-04-30"))
            .await
            .unwrap();
        store
            .create_course(course(h.id, "Safety", vec![c.id]))
            .await
            .unwrap();
        // Make it what version 1 wrote: no zone index, no dirty set, schema 1.
        store.tree(HOLDERS_BY_ZONE).clear().unwrap();
        store.tree(DIRTY).clear().unwrap();
        store
            .tree(META)
            .insert(META_SCHEMA, &1u32.to_be_bytes()[..])
            .unwrap();
        store.close().await.unwrap();
        (h, c)
    };
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.holder(h.id).unwrap().name, "Aroha");
    assert_eq!(store.credentials_of(h.id).unwrap(), vec![c.clone()]);
    assert_eq!(store.courses_of(h.id).unwrap().len(), 1);
    assert_eq!(
        store.holder_zones().unwrap(),
        vec!["Pacific/Auckland".to_string()]
    );
    assert_eq!(store.dirty_credentials().unwrap(), vec![c.id]);
    assert!(
        store.check().unwrap().ok(),
        "{:?}",
        store.check().unwrap().problems
    );
}

#[tokio::test]
async fn check_finds_broken_indexes_and_repair_rebuilds_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let c = store
        .create_credential(credential(h.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    store
        .create_course(course(h.id, "A", vec![]))
        .await
        .unwrap();
    assert!(store.check().unwrap().ok());
    // Lose one index entry and add one that points at nothing.
    store.tree(CRED_BY_EXPIRY).clear().unwrap();
    store
        .tree(COURSE_BY_HOLDER)
        .insert(pair_key(h.id, 999), &[][..])
        .unwrap();
    let report = store.check().unwrap();
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("idx_credential_by_expiry"))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("idx_course_by_holder") && p.contains("point at nothing"))
    );
    // Checking changed nothing.
    assert_eq!(store.check().unwrap().problems.len(), 2);
    let repaired = store.repair().unwrap();
    assert!(repaired.ok(), "{:?}", repaired.problems);
    let found = store
        .expiring(date("2027-01-01"), date("2027-12-31"), None, 10)
        .unwrap();
    assert_eq!(found.items, vec![c]);
    assert_eq!(store.courses_of(h.id).unwrap().len(), 1);
}

/// The access indexes are checked and rebuilt like the others: a lost token-hash entry
/// (the token would no longer authenticate) and a stray history entry of a holder.
#[tokio::test]
async fn check_and_repair_cover_the_token_and_history_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let actor = crate::domain::Actor {
        token_id: Some(1),
        name: "tk1 (test)".into(),
        at: "2026-06-15T12:00:00Z".parse().unwrap(),
    };
    let acting = store.acting(actor);
    let token = acting
        .create_token(crate::domain::Token {
            id: 0,
            name: "laptop".into(),
            role: crate::domain::Role::Admin,
            holder_id: None,
            hash: [7; 32],
            created_at: "2026-06-15T12:00:00Z".parse().unwrap(),
            expires_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    let h = acting.create_holder(holder("Dana")).await.unwrap();
    assert!(
        store.check().unwrap().ok(),
        "{:?}",
        store.check().unwrap().problems
    );
    assert_eq!(store.history(Some(h.id), None, 10).unwrap().items.len(), 1);
    store.tree(TOKENS_BY_HASH).clear().unwrap();
    store
        .tree(HISTORY_BY_HOLDER)
        .insert(pair_key(h.id, 999), &[][..])
        .unwrap();
    assert_eq!(store.token_by_hash([7; 32]).unwrap(), None);
    let report = store.check().unwrap();
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("idx_token_by_hash") && p.contains("missing"))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("idx_history_by_holder") && p.contains("point at nothing"))
    );
    let repaired = store.repair().unwrap();
    assert!(repaired.ok(), "{:?}", repaired.problems);
    assert_eq!(store.token_by_hash([7; 32]).unwrap(), Some(token));
    assert_eq!(store.history(Some(h.id), None, 10).unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_record_that_does_not_decode_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    store
        .tree(HOLDERS)
        .insert(id_key(h.id), &[9u8, 1, 2][..])
        .unwrap();
    let report = store.check().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("unknown format version 9")),
        "{:?}",
        report.problems
    );
    assert!(matches!(store.holder(h.id), Err(StoreError::Corrupt(_))));
}

#[tokio::test]
async fn a_damaged_store_is_refused_instead_of_starting_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.create_holder(holder("Dana")).await.unwrap();
        store.tree(META).remove(META_SCHEMA).unwrap();
        store.close().await.unwrap();
    }
    let err = SledStore::open(dir.path(), &StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("no schema version"), "{err}");

    let garbage = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(garbage.path().join("db")).unwrap();
    std::fs::write(
        garbage.path().join("db").join("conf"),
        b"\xff\xfe not a sled config",
    )
    .unwrap();
    std::fs::write(
        garbage.path().join("db").join("db"),
        vec![0xA5u8; 64 * 1024],
    )
    .unwrap();
    let err = SledStore::open(garbage.path(), &StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::Open { .. } | StoreError::Corrupt(_)),
        "{err}"
    );

    let file = tempfile::NamedTempFile::new().unwrap();
    let err = SledStore::open(file.path(), &StoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cannot create it"), "{err}");
}

/// A due alert for `credential` of `holder` with one pending delivery.
fn alert(
    holder_id: u64,
    credential_id: u64,
    threshold_days: i64,
    at: &str,
) -> crate::domain::Alert {
    use crate::domain::{Alert, ChannelKind, Delivery, DeliveryState, Mark};
    let at: jiff::Timestamp = at.parse().unwrap();
    Alert {
        id: 0,
        holder_id,
        subject: crate::domain::AlertSubject::Credential,
        credential_id,
        program: "nha-cpt".into(),
        expires_on: date("2027-04-30"),
        mark: Mark::Before(threshold_days as u32),
        threshold_days,
        due_on: date("2027-03-31"),
        title: "t".into(),
        body: "b".into(),
        met: false,
        compliance_status: "at_risk".into(),
        created_at: at,
        snoozed_until: None,
        acknowledged: false,
        cancelled: false,
        deliveries: vec![Delivery {
            channel_id: 1,
            kind: ChannelKind::Webhook,
            target: "https://example.org/hook".into(),
            attempts: 0,
            last_error: String::new(),
            state: DeliveryState::Pending,
            next_attempt_at: Some(at),
        }],
    }
}

/// Subjects key apart: a credential's cycle alert and its dues alert with the same credential,
/// date and threshold are both enqueued (each once, also after a reopen), the dues one is
/// not part of the cycle's alerts, and a competency alert dedupes by its own key.
#[tokio::test]
async fn alerts_of_different_subjects_are_keyed_apart_and_each_deduped() {
    use crate::domain::{AlertSubject, DedupeKey};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let c = store
        .create_credential(credential(h.id, "amt-rpt", "2027-04-30"))
        .await
        .unwrap();
    let due = "2027-03-31T08:00:00Z";
    let with = |subject: AlertSubject| crate::domain::Alert {
        subject,
        ..alert(h.id, c.id, 30, due)
    };
    let competency = AlertSubject::Competency {
        skill: "Glucose meter".into(),
    };
    let dues = AlertSubject::Dues { amount_cents: 5000 };
    let stored = store
        .enqueue_alerts(vec![
            with(AlertSubject::Credential),
            with(dues.clone()),
            with(dues.clone()),
            crate::domain::Alert {
                credential_id: 0,
                program: "clia-testing".into(),
                ..with(competency.clone())
            },
        ])
        .await
        .unwrap();
    let subjects: Vec<&AlertSubject> = stored.iter().map(|a| &a.subject).collect();
    assert_eq!(subjects, [&AlertSubject::Credential, &dues, &competency]);
    assert_eq!(
        stored[2].key(),
        format!(
            "h{}/competency/clia-testing/Glucose meter/2027-04-30/30",
            h.id
        )
    );
    let mut cycle = Vec::new();
    store
        .modify_cycle_alerts(c.id, date("2027-04-30"), |a| {
            cycle.push(a.id);
            false
        })
        .await
        .unwrap();
    assert_eq!(cycle, [stored[0].id], "the dues are not the cycle's");
    drop(store);
    let store = open(dir.path());
    for a in &stored {
        assert!(
            store.alert_enqueued(&a.dedupe_key()).unwrap(),
            "{}",
            a.key()
        );
    }
    assert!(
        !store
            .alert_enqueued(&DedupeKey::Subject(format!(
                "cr{}/dues/2027-04-30/14",
                c.id
            )))
            .unwrap()
    );
    let again = store
        .enqueue_alerts(
            stored
                .iter()
                .map(|a| crate::domain::Alert { id: 0, ..a.clone() })
                .collect(),
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn modify_alert_changes_the_stored_record_and_its_retry_index_or_nothing() {
    use crate::domain::Refused;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let c = store
        .create_credential(credential(h.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    let due = "2027-03-31T08:00:00Z";
    let a = store
        .enqueue_alerts(vec![alert(h.id, c.id, 30, due)])
        .await
        .unwrap()
        .remove(0);
    let at: jiff::Timestamp = due.parse().unwrap();
    assert_eq!(store.next_retry_at().unwrap(), Some(at));

    let refused = store
        .modify_alert(a.id, |a| {
            a.acknowledge();
            Err(Refused::new("no"))
        })
        .await
        .unwrap();
    assert_eq!(refused.unwrap_err().reason(), "no");
    assert_eq!(store.alert(a.id).unwrap(), a, "a refusal writes nothing");

    let acked = store
        .modify_alert(a.id, |a| {
            a.acknowledge();
            Ok::<(), Refused>(())
        })
        .await
        .unwrap()
        .unwrap();
    assert!(acked.acknowledged);
    assert_eq!(store.alert(a.id).unwrap(), acked);
    assert_eq!(store.next_retry_at().unwrap(), None, "off the retry index");
    assert!(store.alerts_due(at, 10).unwrap().is_empty());

    let moved = store
        .modify_alert(a.id, |a| {
            a.threshold_days = 7;
            Ok::<(), Refused>(())
        })
        .await;
    assert!(matches!(
        moved,
        Err(StoreError::Conflict(Conflict::Immutable(_)))
    ));
    assert!(matches!(
        store.modify_alert(999, |_| Ok::<(), Refused>(())).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store.check().unwrap().ok(),
        "{:?}",
        store.check().unwrap().problems
    );
}

#[tokio::test]
async fn a_credentials_settings_and_alerts_change_in_one_write() {
    use crate::domain::AlertSettings;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let h = store.create_holder(holder("Dana")).await.unwrap();
    let nha = store
        .create_credential(credential(h.id, "nha-cpt", "2027-04-30"))
        .await
        .unwrap();
    let amca = store
        .create_credential(credential(h.id, "amca-cpt", "2027-04-30"))
        .await
        .unwrap();
    let due = "2027-03-31T08:00:00Z";
    store
        .enqueue_alerts(vec![
            alert(h.id, nha.id, 30, due),
            alert(h.id, nha.id, 60, due),
            alert(h.id, amca.id, 30, due),
        ])
        .await
        .unwrap();
    store
        .set_alert_settings(
            SettingsScope::Credential(nha.id),
            AlertSettings {
                thresholds: Some(vec![60, 30]),
                muted: false,
            },
        )
        .await
        .unwrap();

    let (settings, cancelled) = store
        .modify_credential_alerts(
            nha.id,
            |s| s.muted = true,
            |a| {
                a.cancel();
                true
            },
        )
        .await
        .unwrap();
    assert_eq!(cancelled, 2);
    assert_eq!(
        settings,
        AlertSettings {
            thresholds: Some(vec![60, 30]),
            muted: true
        }
    );
    assert_eq!(
        store
            .alert_settings(&SettingsScope::Credential(nha.id))
            .unwrap(),
        settings
    );
    let alerts = store.alerts_of(h.id, None, 10).unwrap().items;
    let cancelled_of = |id| {
        alerts
            .iter()
            .filter(|a| a.credential_id == id && a.cancelled)
            .count()
    };
    assert_eq!((cancelled_of(nha.id), cancelled_of(amca.id)), (2, 0));

    // `true` for an alert left as it was counts nothing.
    let changed = store
        .modify_alerts_of(h.id, |a| {
            a.cancel();
            true
        })
        .await
        .unwrap();
    assert_eq!(changed, 1, "only the AMCA alert was still open");
    assert_eq!(store.next_retry_at().unwrap(), None);
    assert!(matches!(
        store.modify_credential_alerts(999, |_| {}, |_| false).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store.check().unwrap().ok(),
        "{:?}",
        store.check().unwrap().problems
    );
}

#[tokio::test]
async fn courses_of_a_day_come_from_the_day_index_which_a_version_2_store_gains() {
    let dir = tempfile::tempdir().unwrap();
    let (h, first) = {
        let store = open(dir.path());
        let h = store.create_holder(holder("Dana")).await.unwrap();
        let first = store
            .create_course(course(h.id, "Safety", vec![]))
            .await
            .unwrap();
        store
            .create_course(Course {
                completed_on: date("2026-01-11"),
                ..course(h.id, "Safety", vec![])
            })
            .await
            .unwrap();
        assert_eq!(
            store.courses_on(h.id, date("2026-01-10")).unwrap(),
            vec![first.clone()]
        );
        // Make it what version 2 wrote: no course-by-day index, schema 2.
        store.tree(COURSE_BY_DAY).clear().unwrap();
        store
            .tree(META)
            .insert(META_SCHEMA, &2u32.to_be_bytes()[..])
            .unwrap();
        assert!(
            store
                .courses_on(h.id, date("2026-01-10"))
                .unwrap()
                .is_empty()
        );
        store.close().await.unwrap();
        (h, first)
    };
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        store.courses_on(h.id, date("2026-01-10")).unwrap(),
        vec![first.clone()]
    );
    store.delete_course(first.id).await.unwrap();
    assert!(
        store
            .courses_on(h.id, date("2026-01-10"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.courses_on(h.id, date("2026-01-11")).unwrap().len(), 1);
    assert!(store.check().unwrap().ok(), "{:?}", store.check());
}

/// The entries of tree `index`, in key order.
fn entries(store: &SledStore, index: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .tree(index)
        .iter()
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

#[tokio::test]
async fn a_version_3_store_gains_the_competency_and_dues_indexes_a_fresh_write_makes() {
    let dir = tempfile::tempdir().unwrap();
    let assessed = |on: &str| crate::domain::Assessment {
        assessed_on: date(on),
        assessor: "Pat".into(),
        elements: vec![1, 2, 3, 4, 5, 6],
        result: crate::domain::AssessmentResult::Pass,
        note: String::new(),
    };
    let (holders, due, dues) = {
        let store = open(dir.path());
        let mut holders = Vec::new();
        // Hired, with one skill assessed and one never; hired with none; never hired.
        for (name, hired, skills) in [
            (
                "Ana",
                Some("2025-05-20"),
                vec![
                    ("clia-testing", "Glucose", vec![assessed("2025-11-18")]),
                    ("phlebotomy-annual", "Venipuncture", vec![]),
                ],
            ),
            ("Bo", Some("2026-01-05"), vec![]),
            ("Cy", None, vec![("phlebotomy-annual", "Capillary", vec![])]),
        ] {
            let h = store
                .create_holder(Holder {
                    hired_on: hired.map(date),
                    competencies: skills
                        .into_iter()
                        .map(
                            |(program, skill, assessments)| crate::domain::CompetencySkill {
                                program: program.into(),
                                skill: skill.into(),
                                assessments,
                            },
                        )
                        .collect(),
                    ..holder(name)
                })
                .await
                .unwrap();
            holders.push(h.id);
        }
        // AMT credentials have dues; NHA's have none.
        for (i, (program, issued, expires)) in [
            ("amt-rma", Some("2024-03-15"), "2027-03-31"),
            ("amt-rpt", None, "2026-12-31"),
            ("nha-cpt", Some("2025-02-01"), "2027-02-01"),
        ]
        .into_iter()
        .enumerate()
        {
            store
                .create_credential(Credential {
                    issued_on: issued.map(date),
                    ..credential(holders[i], program, expires)
                })
                .await
                .unwrap();
        }
        let due = entries(&store, HOLDERS_BY_DUE);
        let dues = entries(&store, CRED_BY_DUES);
        assert!(!due.is_empty() && !dues.is_empty());
        // Make it what version 3 wrote: neither index, no dirty holders, schema 3.
        store.tree(HOLDERS_BY_DUE).clear().unwrap();
        store.tree(CRED_BY_DUES).clear().unwrap();
        store.tree(DIRTY_HOLDERS).clear().unwrap();
        store
            .tree(META)
            .insert(META_SCHEMA, &3u32.to_be_bytes()[..])
            .unwrap();
        store.close().await.unwrap();
        (holders, due, dues)
    };
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(entries(&store, HOLDERS_BY_DUE), due);
    assert_eq!(entries(&store, CRED_BY_DUES), dues);
    assert_eq!(store.dirty_holders().unwrap(), holders);
    assert!(store.check().unwrap().ok(), "{:?}", store.check());
}

use crate::store::{RestorePlan, StoreView};

/// Holders `ids` as a restore plan.
fn holders_plan(ids: std::ops::RangeInclusive<u64>) -> RestorePlan {
    RestorePlan {
        holders: ids
            .map(|id| Holder {
                id,
                ..holder(&format!("Holder {id}"))
            })
            .collect(),
        counters: vec![(IdKind::Holder, 100)],
        ..RestorePlan::default()
    }
}

#[tokio::test]
async fn a_batched_restore_that_fails_leaves_nothing_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
    let kept = store.create_holder(holder("Kept")).await.unwrap();
    let before = store.version(kept.id).unwrap();
    let failed: std::result::Result<(), StoreError> = store
        .restore_batches(|r| {
            r.write(holders_plan(10..=19))?;
            r.write(holders_plan(20..=29))?;
            assert!(r.view().has_holder(25)?, "the job sees its own batches");
            Err(StoreError::Storage("the job gave up".into()))
        })
        .await;
    assert!(failed.is_err());
    let ids: Vec<u64> = store
        .list_holders(None, 100)
        .unwrap()
        .items
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, vec![kept.id], "only the holder from before");
    assert_eq!(store.create_holder(holder("Next")).await.unwrap().id, 2);
    assert!(store.check().unwrap().ok());
    assert_eq!(store.version(kept.id).unwrap(), before);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_batched_restore_cut_off_midway_is_rolled_back_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
        store.create_holder(holder("Kept")).await.unwrap();
        // The job dies after its first batch, as a crash would leave it: no rollback ran.
        let died: std::result::Result<(), StoreError> = store
            .restore_batches(|r| {
                r.write(holders_plan(10..=19))?;
                panic!("cut off");
            })
            .await;
        assert!(died.is_err());
        assert!(store.has_holder(12).unwrap(), "the batch was written");
        store.close().await.unwrap();
    }
    let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
    assert!(!store.has_holder(12).unwrap(), "rolled back at open");
    assert_eq!(store.list_holders(None, 100).unwrap().items.len(), 1);
    assert!(store.check().unwrap().ok());
    // A restore that ends keeps everything, journal gone.
    let n: std::result::Result<usize, StoreError> = store
        .restore_batches(|r| {
            r.write(holders_plan(10..=19))?;
            r.write(holders_plan(20..=29))?;
            Ok(2)
        })
        .await;
    assert_eq!(n.unwrap(), 2);
    assert_eq!(store.list_holders(None, 100).unwrap().items.len(), 21);
    assert!(store.check().unwrap().ok());
    assert_eq!(
        store.tree(META).scan_prefix(b"restore/").count(),
        0,
        "no journal left"
    );
    store.close().await.unwrap();
}

/// The journal holds one entry per batch and nothing in memory across batches: a record
/// that two batches replace is rolled back to what it was before the first (the rollback
/// runs newest batch first), at failure and at open after a crash.
#[tokio::test]
async fn a_record_two_batches_replace_is_rolled_back_to_before_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let renamed = |h: &Holder, name: &str| Holder {
        name: name.into(),
        ..h.clone()
    };
    let replace = |before: &Holder, after: &Holder| RestorePlan {
        replaced_holders: vec![(before.clone(), after.clone())],
        ..RestorePlan::default()
    };
    {
        let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
        let kept = store.create_holder(holder("Kept")).await.unwrap();
        let (first, second) = (renamed(&kept, "First"), renamed(&kept, "Second"));
        let failed: std::result::Result<(), StoreError> = store
            .restore_batches({
                let (kept, first, second) = (kept.clone(), first.clone(), second.clone());
                move |r| {
                    r.write(replace(&kept, &first))?;
                    r.write(replace(&first, &second))?;
                    assert_eq!(r.view().holder(kept.id)?.unwrap().name, "Second");
                    Err(StoreError::Storage("the job gave up".into()))
                }
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(store.holder(kept.id).unwrap().name, "Kept");
        assert!(store.check().unwrap().ok());
        // Cut off after both batches, as a crash would leave it.
        let died: std::result::Result<(), StoreError> = store
            .restore_batches(move |r| {
                r.write(replace(&kept, &first))?;
                r.write(replace(&first, &second))?;
                panic!("cut off");
            })
            .await;
        assert!(died.is_err());
        assert_eq!(store.holder(1).unwrap().name, "Second");
        store.close().await.unwrap();
    }
    let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
    assert_eq!(store.holder(1).unwrap().name, "Kept");
    assert!(store.check().unwrap().ok());
    assert_eq!(store.tree(META).scan_prefix(b"restore/").count(), 0);
    store.close().await.unwrap();
}

/// A store left by an earlier build in the middle of an import, with its per-key journal
/// (`restore/undo/<tree><key>`), is still rolled back at open.
#[tokio::test]
async fn a_per_key_journal_of_an_earlier_build_is_rolled_back_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
        let kept = store.create_holder(holder("Kept")).await.unwrap();
        let key = super::keys::id_key(kept.id);
        let before = store.tree(HOLDERS).get(key).unwrap().unwrap();
        // What the earlier build's first batch left: the journal, the mark, the new value.
        let entry = [&b"restore/undo/"[..], &[HOLDERS as u8], &key[..]].concat();
        let meta = store.tree(META);
        meta.insert(entry, [&[1u8][..], &before].concat()).unwrap();
        meta.insert(b"restore/pending", Vec::new()).unwrap();
        let changed = Holder {
            name: "Imported".into(),
            ..kept.clone()
        };
        store
            .tree(HOLDERS)
            .insert(key, crate::store::encode_value(&changed))
            .unwrap();
        assert_eq!(store.holder(kept.id).unwrap().name, "Imported");
        store.close().await.unwrap();
    }
    let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
    assert_eq!(store.holder(1).unwrap().name, "Kept");
    assert_eq!(store.tree(META).scan_prefix(b"restore/").count(), 0);
    store.close().await.unwrap();
}
