//! `recert import --replace` through the real binaries, on the engine the suite runs on: a
//! dump exported before some edits restores the exported holder, credential and course over
//! the edited ones (the status is as before, `recertd check` finds the indexes sound); without
//! --replace the differing records are refused naming the line and nothing is written; a
//! replace that would break a rule across records is refused naming its line, nothing written.

use recert_tests::Daemon;
use serde_json::Value;
use std::path::Path;

/// 09:00 in Chicago.
const DAY1: &str = "2026-11-24T15:00:00Z";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two holders; h1 holds cr1 (nha-cpt, co1 pinned to it) and cr3 (nha-ccma), h2 holds cr2.
fn dump() -> String {
    let lines = [
        serde_json::json!({"format": "recert-export", "version": 1,
            "schema": recertd::store::SCHEMA_VERSION,
            "exported_at": "2026-11-24T14:00:00Z", "secrets": true}),
        serde_json::json!({"kind": "holder", "id": "h1", "name": "Dana Reyes", "email": "",
            "time_zone": "America/Chicago", "is_default": true}),
        serde_json::json!({"kind": "holder", "id": "h2", "name": "Sam Lee", "email": "",
            "time_zone": "America/Chicago", "is_default": false}),
        serde_json::json!({"kind": "credential", "id": "cr1", "holder_id": "h1",
            "program": "nha-cpt", "number": "", "issued_on": null,
            "expires_on": "2027-03-01", "history": []}),
        serde_json::json!({"kind": "credential", "id": "cr2", "holder_id": "h2",
            "program": "nha-cpt", "number": "", "issued_on": null,
            "expires_on": "2027-04-01", "history": []}),
        serde_json::json!({"kind": "credential", "id": "cr3", "holder_id": "h1",
            "program": "nha-ccma", "number": "", "issued_on": null,
            "expires_on": "2027-06-01", "history": []}),
        serde_json::json!({"kind": "course", "id": "co1", "holder_id": "h1",
            "title": "Safety", "provider": "", "accreditation": "", "evidence": "",
            "completed_on": "2026-10-01", "credits_hundredths": 100, "unit": "nha-credit",
            "categories": [], "format": null, "credential_ids": ["cr1"]}),
        serde_json::json!({"kind": "end", "records": 6}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// What the holders look like through the CLI: their records, status and deadlines.
fn seen(d: &Daemon) -> Vec<Value> {
    let mut out = Vec::new();
    for h in ["h1", "h2"] {
        out.push(d.json(&["holder", "show", h]));
        out.push(d.json(&["status", "--holder", h]));
        out.push(d.json(&["cert", "list", "--holder", h]));
        out.push(d.json(&["course", "list", "--holder", h]));
    }
    out.push(d.json(&["deadlines", "--all-holders", "--within", "2y"]));
    out
}

/// `recert -o json import FILE ARGS` after writing `dump` to FILE.
fn import(d: &Daemon, dir: &Path, name: &str, dump: &str, args: &[&str]) -> std::process::Output {
    let path = dir.join(name);
    std::fs::write(&path, dump).unwrap();
    let mut all = vec!["--output", "json", "import", path.to_str().unwrap()];
    all.extend_from_slice(args);
    d.cli(&all)
}

/// The 1-based line of `dump` that holds the record `id`, and the dump with that line's
/// JSON changed by `edit`.
fn edit_line(dump: &str, id: &str, edit: impl Fn(&mut Value)) -> (usize, String) {
    let mut at = 0;
    let lines: Vec<String> = dump
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["id"] == id && v["kind"] != "history" {
                at = i + 1;
                edit(&mut v);
                v.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(at > 0, "{id} is in the dump");
    (at, lines.iter().map(|l| format!("{l}\n")).collect())
}

fn cli_ok(d: &Daemon, args: &[&str]) {
    let out = d.cli(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

#[test]
fn import_replace_restores_the_exported_records_and_keeps_the_indexes_sound() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut d = Daemon::start(&dir.path().join("data"), Some(DAY1));
    let out = import(&d, dir.path(), "start.jsonl", &dump(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = seen(&d);
    let out = d.cli(&["export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = text(&out.stdout);

    // Edits that move index entries: the holder's zone, the expiry, the course's date.
    cli_ok(&d, &["holder", "edit", "h1", "--tz", "America/New_York"]);
    cli_ok(&d, &["cert", "edit", "cr1", "--expires", "2027-09-01"]);
    cli_ok(&d, &["course", "edit", "co1", "--date", "2026-09-15"]);
    let edited = seen(&d);
    assert_ne!(edited, before);

    // The default: a record that differs from the store's is refused, naming its line.
    let out = import(&d, dir.path(), "plain.jsonl", &exported, &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let (holder_line, _) = edit_line(&exported, "h1", |_| {});
    assert!(
        err.contains(&format!("line {holder_line}")) && err.contains("differs"),
        "{err}"
    );
    assert_eq!(seen(&d), edited, "the refused import wrote nothing");

    // --replace: the exported versions come back.
    let out = import(&d, dir.path(), "replace.jsonl", &exported, &["--replace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["replaced"], 3, "{summary}");
    assert_eq!(seen(&d), before);
    // The import's entry in the audit trail counts them.
    let trail = d.json(&["history", "--all-holders"]);
    let imports: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "import")
        .collect();
    assert!(
        imports
            .iter()
            .any(|e| e["record"].as_str().unwrap().contains("3 replaced")),
        "{imports:?}"
    );
    // A second --replace finds nothing to replace.
    let out = import(&d, dir.path(), "again.jsonl", &exported, &["--replace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["replaced"], 0, "{summary}");
    let out = d.cli(&[
        "import",
        dir.path().join("again.jsonl").to_str().unwrap(),
        "--replace",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Rules across records still hold: h1 already holds nha-ccma as cr3.
    let (line, held_twice) = edit_line(&exported, "cr1", |v| v["program"] = "nha-ccma".into());
    let out = import(&d, dir.path(), "twice.jsonl", &held_twice, &["--replace"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("a second nha-ccma"),
        "{err}"
    );
    // The same against the store alone (cr3 is not chosen).
    let out = import(
        &d,
        dir.path(),
        "twice.jsonl",
        &held_twice,
        &["--replace", "--only", "cr1"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("nha-ccma") && err.contains("cr3"),
        "{err}"
    );
    // co1 of h1 is pinned to cr1, which would move to h2 (as nha-cet, which h2 lacks).
    let (line, moved) = edit_line(&exported, "cr1", |v| {
        v["holder_id"] = "h2".into();
        v["program"] = "nha-cet".into();
    });
    let out = import(
        &d,
        dir.path(),
        "moved.jsonl",
        &moved,
        &["--replace", "--only", "cr1"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("co1"),
        "{err}"
    );
    // With the course in the dump too, the course's pin is what is refused.
    let out = import(&d, dir.path(), "moved.jsonl", &moved, &["--replace"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("course.credential_ids"), "{err}");
    assert_eq!(seen(&d), before, "the refused replaces wrote nothing");

    // A program replaced: h1's nha-ccma is free again, its nha-cet taken.
    let (_, reprogrammed) = edit_line(&exported, "cr3", |v| v["program"] = "nha-cet".into());
    let out = import(&d, dir.path(), "cet.jsonl", &reprogrammed, &["--replace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["replaced"], 1, "{summary}");
    let add = |program: &str| {
        d.cli(&[
            "--holder",
            "h1",
            "cert",
            "add",
            program,
            "--expires",
            "2027-08-01",
        ])
    };
    let out = add("nha-cet");
    assert!(!out.status.success(), "h1 holds nha-cet as cr3 now");
    assert!(text(&out.stderr).contains("cr3"), "{}", text(&out.stderr));
    let out = add("nha-ccma");
    assert!(out.status.success(), "{}", text(&out.stderr));

    d.stop();
    let out = d.check_store(&[]);
    assert!(
        out.status.success() && text(&out.stdout).contains("the store is sound"),
        "check: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
