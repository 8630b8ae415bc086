//! `recert import` into a store that already holds records, through the real binaries, on the
//! engine the suite runs on, with dumps of several batches (`BATCH_BYTES` of text each): on
//! PostgreSQL the import reads the store through per-batch lookups, not a copy of the store,
//! and the rules must hold as before. An id the store already gives another record is a
//! conflict naming the line, also in the last batch; so is a second credential of a program a
//! stored holder holds; a duplicate id across batches names the later line; a course of a
//! later batch that references a stored holder and its credential resolves; and a refused
//! import writes nothing. The in-process import of a whole parsed dump (`import::import`,
//! one plan through `Snapshots::restore`, whose view on PostgreSQL also asks the store for
//! what the dump names instead of reading it all) keeps the same rules.

use recert_tests::{Daemon, database_for, postgres_base};
use recertd::service::import::ImportError;
use recertd::store::{PgOptions, PgStore, SledStore, Snapshots, Store, StoreOptions};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

const NOW: &str = "2026-06-15T12:00:00Z";
/// Courses per dump: about 630 KB of text, so more than two batches.
const COURSES: usize = 2000;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Holders `h{first}..` (ten), one nha-cpt credential each, and `COURSES` courses from
/// `co{first_course}` pinned to their holder's credential; then `extra` lines; then the end.
fn dump(first: usize, first_course: usize, extra: &[serde_json::Value]) -> String {
    let mut out = String::new();
    let header = serde_json::json!({
        "format": "recert-export", "version": 1,
        "schema": recertd::store::SCHEMA_VERSION,
        "exported_at": "2026-06-15T11:00:00Z", "secrets": true,
    });
    writeln!(out, "{header}").unwrap();
    let mut records = 0;
    for h in first..first + 10 {
        let line = serde_json::json!({
            "kind": "holder", "id": format!("h{h}"), "name": format!("Holder {h}"),
            "email": "", "time_zone": "America/Chicago", "is_default": h == 1,
        });
        writeln!(out, "{line}").unwrap();
        writeln!(out, "{}", credential(h, h)).unwrap();
        records += 2;
    }
    for id in first_course..first_course + COURSES {
        let h = first + id % 10;
        writeln!(out, "{}", course(id, h, "Venipuncture refresher")).unwrap();
        records += 1;
    }
    for line in extra {
        writeln!(out, "{line}").unwrap();
        records += 1;
    }
    writeln!(
        out,
        "{}",
        serde_json::json!({"kind": "end", "records": records})
    )
    .unwrap();
    out
}

fn credential(id: usize, holder: usize) -> serde_json::Value {
    serde_json::json!({
        "kind": "credential", "id": format!("cr{id}"), "holder_id": format!("h{holder}"),
        "program": "nha-cpt", "number": format!("CPT-{id}"), "issued_on": "2024-09-01",
        "expires_on": "2026-09-01", "history": [],
    })
}

fn course(id: usize, holder: usize, title: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "course", "id": format!("co{id}"), "holder_id": format!("h{holder}"),
        "title": format!("{title} part {id}"),
        "provider": "County Hospital Education", "accreditation": "",
        "evidence": format!("certificates/{id}.pdf"),
        "completed_on": format!("2025-{:02}-{:02}", id % 12 + 1, id % 28 + 1),
        "credits_hundredths": 25 + (id % 4) * 25, "unit": "nha-credit",
        "categories": [], "format": "online", "credential_ids": [format!("cr{holder}")],
    })
}

/// `recert -o json import FILE` after writing `dump` to FILE.
fn import(d: &Daemon, dir: &Path, name: &str, dump: &str) -> std::process::Output {
    let path = dir.join(name);
    std::fs::write(&path, dump).unwrap();
    d.cli(&["--output", "json", "import", path.to_str().unwrap()])
}

/// The 1-based line of `dump` whose record is `kind` `id`.
fn line_of(dump: &str, kind: &str, id: &str) -> usize {
    dump.lines()
        .enumerate()
        .filter(|(_, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["kind"] == kind && v["id"] == id
        })
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or_else(|| panic!("no {kind} {id}"))
}

#[test]
fn an_import_into_a_populated_store_keeps_the_rules_across_batches_and_against_the_store() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut d = Daemon::start(&dir.path().join("data"), Some(NOW));
    let existing = dump(1, 1, &[]);
    assert!(existing.len() > 2 * 256 * 1024, "{} bytes", existing.len());
    let out = import(&d, dir.path(), "existing.jsonl", &existing);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Against the store, in the last batch: co7 is the store's course with another title,
    // and h2 already holds nha-cpt as cr2.
    let late_ref = course(10_000, 1, "Stored holder");
    for (extra, kind, id, named) in [
        (course(7, 8, "Another title"), "course", "co7", "differs"),
        (credential(21, 2), "credential", "cr21", "cr2"),
    ] {
        let bad = dump(11, COURSES + 1, &[late_ref.clone(), extra]);
        let out = import(&d, dir.path(), "bad.jsonl", &bad);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        let line = line_of(&bad, kind, id);
        let before: usize = bad.lines().take(line - 1).map(|l| l.len() + 1).sum();
        assert!(
            before > 2 * 256 * 1024,
            "{id} is in a later batch: line {line}"
        );
        assert!(
            err.contains(&format!("line {line}")) && err.contains(named),
            "{err}"
        );
        let out = d.cli(&["holder", "show", "h11"]);
        assert!(!out.status.success(), "the refused import wrote nothing");
    }

    // Across batches of the dump: a course id of the first batch again in the last.
    let twice = dump(11, COURSES + 1, &[course(COURSES + 1, 12, "Again")]);
    let out = import(&d, dir.path(), "twice.jsonl", &twice);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let again = twice.lines().count() - 1;
    assert!(err.contains(&format!("line {again}")), "{err}");
    let out = d.cli(&["holder", "show", "h11"]);
    assert!(!out.status.success(), "the refused import wrote nothing");

    // A course of the last batch on a stored holder and its credential resolves, and a
    // record equal to the store's is unchanged.
    let good = dump(
        11,
        COURSES + 1,
        &[late_ref, course(7, 8, "Venipuncture refresher")],
    );
    let out = import(&d, dir.path(), "good.jsonl", &good);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["imported"], 20 + COURSES + 1, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    let courses = d.json(&["course", "list", "--holder", "h1"]);
    let ids: Vec<&str> = courses
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"co10000"), "{ids:?}");
    d.stop();
    let check = d.check_store(&[]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
}

/// A parsed dump, as the daemon's reader gives it.
fn parsed(text: &str) -> recertd::service::import::ParsedDump {
    let mut reader = recertd::backup::Reader::new();
    reader.push(text.as_bytes());
    reader
        .finish(NOW.parse().unwrap(), |_| None)
        .expect("the dump reads")
}

/// The cases of the streamed test, in process on `store` (holding `dump(1, 1, &[])`).
async fn in_process<S: Snapshots>(store: &S) {
    let builtin: BTreeSet<String> = recertd::catalog::builtin()
        .iter()
        .map(|p| p.slug.clone())
        .collect();
    let late_ref = course(10_000, 1, "Stored holder");
    for (extra, kind, id, named) in [
        (course(7, 8, "Another title"), "course", "co7", "differs"),
        (credential(21, 2), "credential", "cr21", "cr2"),
    ] {
        let bad = dump(11, COURSES + 1, &[late_ref.clone(), extra]);
        let err = recertd::service::import::import(store, parsed(&bad), &builtin)
            .await
            .expect_err("a conflict with the store");
        assert!(
            matches!(err, ImportError::Conflict { .. } | ImportError::Invalid(_)),
            "{err:?}"
        );
        let err = err.to_string();
        let line = line_of(&bad, kind, id);
        assert!(
            err.contains(&format!("line {line}")) && err.contains(named),
            "{err}"
        );
    }
    let good = dump(
        11,
        COURSES + 1,
        &[late_ref, course(7, 8, "Venipuncture refresher")],
    );
    let summary = recertd::service::import::import(store, parsed(&good), &builtin)
        .await
        .expect("the import");
    assert_eq!(summary.imported, (20 + COURSES + 1) as u64, "{summary:?}");
    assert_eq!(summary.unchanged, 1, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_import_of_a_parsed_dump_keeps_the_rules_against_the_store() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start(&data, Some(NOW));
    let out = import(&d, dir.path(), "existing.jsonl", &dump(1, 1, &[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(d.stop(), Some(0));
    match postgres_base() {
        Some(base) => {
            let store = PgStore::open(&PgOptions {
                url: database_for(&base, &data),
                pool_size: 4,
            })
            .await
            .unwrap();
            in_process(&store).await;
            store.close().await.unwrap();
        }
        None => {
            let store = SledStore::open(&data, &StoreOptions::default()).unwrap();
            in_process(&store).await;
            store.close().await.unwrap();
        }
    }

    let mut d = Daemon::start(&data, Some(NOW));
    let courses = d.json(&["course", "list", "--holder", "h1"]);
    let ids: Vec<&str> = courses
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"co10000"), "{ids:?}");
    let cert = d.json(&["--holder", "h11", "cert", "list"]);
    assert_eq!(cert.as_array().unwrap().len(), 1, "{cert}");
    assert_eq!(d.stop(), Some(0));
    let check = d.check_store(&[]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
}
