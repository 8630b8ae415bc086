//! `recert export` and `recert import` through the real binaries: a store built with the CLI
//! (holders, a custom program, renewed credentials, courses, channels, alert settings, an
//! alert, scheduler state) goes through export, import into an empty daemon and export
//! again unchanged; a second import changes nothing; bad, truncated, garbled and
//! conflicting dumps are refused whole.

use recert_tests::{Daemon, binary};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// 09:00 in Chicago, the day before the tick.
const DAY1: &str = "2026-11-24T15:00:00Z";
/// 09:00 in Chicago: the 08:00 tick of 2026-11-25 has fired since DAY1.
const DAY2: &str = "2026-11-25T15:00:00Z";
const SECRET: &str = "whsec-backup-test";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `recert export ARGS` on `d`: the dump's text.
fn export(d: &Daemon, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = d.cli(&all);
    assert!(out.status.success(), "export failed: {}", stderr(&out));
    String::from_utf8(out.stdout).expect("the dump is UTF-8")
}

/// The dump's lines with the header's `exported_at` taken out, and without the lines of
/// the access records (tokens, history) and the end line that counts them: a daemon
/// brings its own admin token (the imported one moves to the next id) and an import adds
/// a history entry, so those are compared on their own.
fn comparable(dump: &str) -> Vec<String> {
    let mut lines: Vec<String> = dump
        .lines()
        .filter(|l| {
            !l.starts_with("{\"kind\":\"token\"")
                && !l.starts_with("{\"kind\":\"history\"")
                && !l.starts_with("{\"kind\":\"end\"")
        })
        .map(str::to_string)
        .collect();
    let mut header: Value = serde_json::from_str(&lines[0]).expect("a JSON header");
    assert!(header["exported_at"].is_string(), "{header}");
    header.as_object_mut().unwrap().remove("exported_at");
    lines[0] = header.to_string();
    lines
}

/// `recert import --file PATH` after writing `dump` to PATH.
fn import(d: &Daemon, dir: &Path, name: &str, dump: &str) -> std::process::Output {
    let path = dir.join(name);
    std::fs::write(&path, dump).unwrap();
    d.cli(&[
        "--output",
        "json",
        "import",
        "--file",
        path.to_str().unwrap(),
    ])
}

/// Waits, without polling, for the tick to enqueue the default holder's first alert.
fn first_alert(d: &Daemon) -> Value {
    let mut watch = Command::new(binary("recert"))
        .args(["--server", &d.url, "--output", "json", "alerts", "watch"])
        .env_remove("RECERT_HOLDER")
        .env("RECERT_TOKEN", d.admin_token())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run recert alerts watch");
    let mut line = String::new();
    BufReader::new(watch.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = watch.kill();
    let _ = watch.wait();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("watch printed {line:?}: {e}"))
}

/// A store with some of everything, built through the CLI, settled (no tick in flight).
fn build(dir: &Path) -> Daemon {
    let mut d = Daemon::start(dir, Some(DAY1));
    let dana = d.json(&[
        "holder",
        "add",
        "Dana Reyes",
        "--tz",
        "America/Chicago",
        "--email",
        "dana@example.org",
    ]);
    let sam = d.json(&["holder", "add", "Sam Lee", "--tz", "Europe/Berlin"]);
    d.json(&[
        "program",
        "add",
        "state-cpt",
        "--body",
        "State Board",
        "--name",
        "State phlebotomy certificate",
        "--cycle-months",
        "24",
        "--required",
        "6",
        "--category-min",
        "safety=1",
        "--cap-format",
        "online=50%",
        "--grace-days",
        "30",
        "--source",
        "https://example.org/rules",
    ]);
    // Thirty days before expiry on 2026-11-25: the tick of DAY2 enqueues an alert.
    let nha = d.json(&[
        "cert",
        "add",
        "nha-cpt",
        "--expires",
        "2026-12-25",
        "--number",
        "CPT-1",
    ]);
    let ascp = d.json(&[
        "cert",
        "add",
        "ascp-pbt",
        "--expires",
        "2026-11-30",
        "--issued",
        "2023-11-30",
    ]);
    d.json(&[
        "cert",
        "renew",
        &id(&ascp),
        "--expires",
        "2029-11-30",
        "--on",
        "2026-11-20",
        // No CE is logged: a renewal with the cycle unmet must be forced.
        "--force",
    ]);
    let state = d.json(&[
        "--holder",
        &id(&sam),
        "cert",
        "add",
        "state-cpt",
        "--expires",
        "2027-06-30",
    ]);
    d.json(&[
        "course",
        "log",
        "Venipuncture update",
        "--credits",
        "3",
        "--date",
        "2026-02-10",
        "--format",
        "online",
        "--provider",
        "County Hospital",
    ]);
    d.json(&[
        "course",
        "log",
        "Biology 101",
        "--credits",
        "1",
        "--unit",
        "semester-hour",
        "--date",
        "2026-01-15",
        "--format",
        "academic",
        "--for",
        "ascp-pbt",
    ]);
    d.json(&[
        "--holder",
        &id(&sam),
        "course",
        "log",
        "Sharps safety",
        "--credits",
        "0.5",
        "--unit",
        "ceu",
        "--category",
        "safety",
        "--accreditation",
        "P.A.C.E.",
        "--date",
        "2026-03-01",
    ]);
    d.json(&["alerts", "thresholds", "90,30,7"]);
    d.json(&["alerts", "thresholds", "60,14", "--program", "state-cpt"]);
    d.json(&["alerts", "thresholds", "45", "--credential", &id(&ascp)]);

    // The next day: the tick enqueues the 30-day alert; a graceful restart lets it finish.
    assert_eq!(d.stop(), Some(0));
    let mut d = Daemon::start(dir, Some(DAY2));
    let alert = first_alert(&d);
    assert_eq!(alert["credential_id"], id(&nha).as_str(), "{alert:#}");
    d.restart();

    // After the tick: channels, an acknowledgement, a mute, a change for the next tick.
    d.json(&[
        "notify",
        "add",
        "webhook",
        "https://example.org/hook",
        "--secret",
        SECRET,
    ]);
    d.json(&["notify", "add", "email", "dana@example.org"]);
    d.json(&["alerts", "ack", alert["id"].as_str().unwrap()]);
    d.json(&["--holder", &id(&sam), "alerts", "mute", &id(&state)]);
    d.json(&["cert", "edit", &id(&nha), "--number", "CPT-2"]);
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add-member", "Day lab", &id(&sam)]);
    d.json(&["team", "add-lead", "Day lab", &id(&dana)]);
    assert_eq!(dana["is_default"], true);
    d
}

#[test]
fn a_store_survives_export_and_import_into_an_empty_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let a = build(&dir.path().join("a"));
    let dump = export(&a, &[]);
    let kinds: Vec<String> = dump
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].to_string())
        .collect();
    for kind in [
        "next_ids",
        "holder",
        "program",
        "credential",
        "course",
        "channel",
        "alert_settings",
        "alert",
        "last_tick",
        "dirty_credential",
        "token",
        "team",
        "history",
        "end",
    ] {
        assert!(
            kinds.contains(&format!("\"{kind}\"")),
            "no {kind} line in:\n{dump}"
        );
    }
    assert!(dump.contains(SECRET), "the full dump keeps webhook secrets");
    assert!(
        dump.contains("\"history\":[{"),
        "the renewal is in the history"
    );

    let b = Daemon::start(&dir.path().join("b"), Some(DAY2));
    let out = import(&b, dir.path(), "a.jsonl", &dump);
    assert!(out.status.success(), "import failed: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = dump.lines().count() as u64 - 2;
    assert_eq!(report["imported"], records, "{report}");
    assert_eq!(report["unchanged"], 0, "{report}");
    let restored = export(&b, &[]);
    assert_eq!(comparable(&restored), comparable(&dump));
    // The tokens came along (hashes only): a's admin token works on b, beside b's own.
    assert!(
        !dump.contains(&a.admin_token()),
        "a dump holds no token secret"
    );
    let out = b.cli_as(Some(&a.admin_token()), &["holder", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let kinds = |d: &str, kind: &str| {
        d.lines()
            .filter(|l| l.starts_with(&format!("{{\"kind\":\"{kind}\"")))
            .count()
    };
    assert_eq!(kinds(&restored, "token"), kinds(&dump, "token") + 1);
    // So did the history, and the import is in it, by b's admin.
    assert!(kinds(&dump, "history") > 0, "{dump}");
    assert_eq!(kinds(&restored, "history"), kinds(&dump, "history") + 1);
    let last = restored
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"kind\":\"history\""))
        .unwrap();
    let last: Value = serde_json::from_str(last).unwrap();
    assert_eq!(last["action"], "import", "{last}");
    assert_eq!(last["token_id"], "tk1", "{last}");
    assert_eq!(last["holder_id"], Value::Null, "{last}");

    // What the CLI shows agrees too.
    for args in [
        &["holder", "list"][..],
        &["program", "show", "state-cpt"],
        &["status"],
        &["course", "list"],
        &["notify", "list"],
        &["alerts", "list", "--all", "--all-holders"],
    ] {
        assert_eq!(b.json(args), a.json(args), "recert {args:?}");
    }
    // New records continue after the imported ids.
    let next = b.json(&["holder", "add", "Ana Ruiz", "--tz", "UTC"]);
    assert_eq!(next["id"], "h3");

    // The same dump again: nothing changes.
    let c = Daemon::start(&dir.path().join("c"), Some(DAY2));
    assert!(import(&c, dir.path(), "a.jsonl", &dump).status.success());
    let out = import(&c, dir.path(), "a.jsonl", &dump);
    assert!(out.status.success(), "second import: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["unchanged"], records, "{report}");
    assert_eq!(comparable(&export(&c, &[])), comparable(&dump));
}

#[test]
fn bad_truncated_garbled_and_conflicting_dumps_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = build(&dir.path().join("a"));
    let dump = export(&a, &[]);
    let lines: Vec<&str> = dump.lines().collect();
    let empty = Daemon::start(&dir.path().join("empty"), Some(DAY2));
    let before = comparable(&export(&empty, &[]));

    // Line 3 is the first holder; an empty name fails the holder's validator.
    assert!(lines[2].contains("\"kind\":\"holder\""), "{}", lines[2]);
    let mut bad = lines.clone();
    let nameless = lines[2].replace("\"name\":\"Dana Reyes\"", "\"name\":\"\"");
    bad[2] = &nameless;
    let out = import(&empty, dir.path(), "bad.jsonl", &(bad.join("\n") + "\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: line 3: holder.name must not be empty"
    );

    let truncated = lines[..lines.len() - 1].join("\n") + "\n";
    let out = import(&empty, dir.path(), "truncated.jsonl", &truncated);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("without its end line: it is truncated"),
        "{}",
        stderr(&out)
    );

    // Cut in the middle of line 6.
    let garbled = format!(
        "{}\n{}",
        lines[..5].join("\n"),
        &lines[5][..lines[5].len() / 2]
    );
    let out = import(&empty, dir.path(), "garbled.jsonl", &garbled);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: line 6: not valid JSON"),
        "{}",
        stderr(&out)
    );

    let out = import(&empty, dir.path(), "nothing.jsonl", "");
    assert_eq!(stderr(&out).trim(), "error: line 1: the dump is empty");
    let out = import(&empty, dir.path(), "other.jsonl", "{\"hello\":1}\n");
    assert!(
        stderr(&out).contains("line 1: not a recert export"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        comparable(&export(&empty, &[])),
        before,
        "nothing was written"
    );

    // A course that differs from the store's course with the same id.
    let (n, course) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("\"kind\":\"course\""))
        .unwrap();
    let renamed = course.replace("Venipuncture update", "Venipuncture refresher");
    let mut conflicting = lines.clone();
    conflicting[n] = &renamed;
    let a_before = comparable(&export(&a, &[]));
    let out = import(
        &a,
        dir.path(),
        "conflict.jsonl",
        &(conflicting.join("\n") + "\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!("error: line {}: course co1 differs", n + 1)),
        "{}",
        stderr(&out)
    );
    assert_eq!(comparable(&export(&a, &[])), a_before);
}

#[test]
fn secrets_stay_out_on_request_and_files_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a = build(&dir.path().join("a"));
    let without = export(&a, &["--no-secrets"]);
    assert!(!without.contains(SECRET), "{without}");
    assert!(without.contains("\"has_secret\":true"), "{without}");

    let fresh = Daemon::start(&dir.path().join("fresh"), Some(DAY2));
    let out = import(&fresh, dir.path(), "no-secrets.jsonl", &without);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["channels_without_secret"], 1, "{report}");
    // The secret-less dump matches the store it made, whatever the secrets are.
    let out = import(&a, dir.path(), "no-secrets.jsonl", &without);
    assert!(out.status.success(), "{}", stderr(&out));

    let file = dir.path().join("out").join("store.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let report = a.json(&["export", "--file", file.to_str().unwrap()]);
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(report["records"], written.lines().count() as u64 - 2);
    assert_eq!(comparable(&written), comparable(&export(&a, &[])));
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["store.jsonl"], "no temporary file is left");
}

#[test]
fn a_bad_backup_schedule_stops_recertd_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary("recertd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--backup-schedule", "nightly"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("backup schedule \"nightly\" is not a cron expression"),
        "{}",
        stderr(&out)
    );
}

/// `ImportData` over gRPC, the dump cut into 5-byte pieces: the status code and details.
async fn import_rpc(
    d: &Daemon,
    dump: &str,
) -> Result<recert_proto::v1::ImportDataResponse, tonic::Status> {
    use recert_proto::v1::ImportDataRequest;
    use recert_proto::v1::backup_service_client::BackupServiceClient;
    let channel = d.channel().await;
    let mut client = BackupServiceClient::new(channel);
    let pieces: Vec<ImportDataRequest> = dump
        .as_bytes()
        .chunks(5)
        .map(|c| ImportDataRequest {
            data: c.to_vec(),
            ..Default::default()
        })
        .collect();
    client
        .import_data(tokio_stream::iter(pieces))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn the_rpc_answers_invalid_argument_with_bad_request_and_failed_precondition() {
    use tonic_types::StatusExt;
    let dir = tempfile::tempdir().unwrap();
    let a = build(&dir.path().join("a"));
    let dump = export(&a, &[]);
    let lines: Vec<&str> = dump.lines().collect();

    // Two bad lines: an empty course title and an unknown holder id.
    let (n, course) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("\"kind\":\"course\""))
        .unwrap();
    let untitled = course.replace("\"title\":\"Venipuncture update\"", "\"title\":\"\"");
    let mut bad = lines.clone();
    bad[n] = &untitled;
    let fresh = Daemon::start(&dir.path().join("fresh"), Some(DAY2));
    let status = import_rpc(&fresh, &(bad.join("\n") + "\n"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let violations = status.get_details_bad_request().expect("a BadRequest");
    let fields: Vec<&str> = violations
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, [format!("line {}: course.title", n + 1)]);
    assert_eq!(
        status.message(),
        format!("line {}: course.title must not be empty", n + 1)
    );

    // A reference to a holder that is nowhere: checked against the store, still a BadRequest.
    let orphan = format!(
        "{}\n{}\n{}\n",
        lines[0],
        r#"{"kind":"channel","id":"ch9","holder_id":"h9","type":"email","target":"x@example.org","has_secret":false}"#,
        r#"{"kind":"end","records":1}"#
    );
    let status = import_rpc(&fresh, &orphan).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status.message(),
        "line 2: channel.holder_id h9 is neither in the dump nor in the store"
    );
    assert!(status.get_details_bad_request().is_some());

    // The good dump; then one whose holder differs from the store's.
    let report = import_rpc(&fresh, &dump).await.unwrap();
    assert_eq!(report.unchanged, 0);
    let renamed = lines[2].replace("Dana Reyes", "Dana R.");
    let mut conflicting = lines.clone();
    conflicting[2] = &renamed;
    let status = import_rpc(&fresh, &(conflicting.join("\n") + "\n"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("line 3: holder h1 differs from the one in the store (fields: name)"),
        "{}",
        status.message()
    );
}

/// A dump of two holders, each with a credential and a course pinned to it.
fn two_holders() -> String {
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
        serde_json::json!({"kind": "course", "id": "co1", "holder_id": "h1",
            "title": "Safety", "provider": "", "accreditation": "", "evidence": "",
            "completed_on": "2026-10-01", "credits_hundredths": 100, "unit": "nha-credit",
            "categories": [], "format": null, "credential_ids": ["cr1"]}),
        serde_json::json!({"kind": "course", "id": "co2", "holder_id": "h2",
            "title": "Ethics", "provider": "", "accreditation": "", "evidence": "",
            "completed_on": "2026-10-02", "credits_hundredths": 200, "unit": "nha-credit",
            "categories": [], "format": null, "credential_ids": ["cr2"]}),
        serde_json::json!({"kind": "end", "records": 6}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `recert import FILE --only ID...` restores just those records: what they reference must
/// be in the store or chosen too; an id the dump lacks, or that is no id, is refused naming
/// --only, and nothing is written. Without --only the rest of the dump follows.
#[test]
fn import_only_restores_the_chosen_records() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(DAY1));
    let path = dir.path().join("two.jsonl");
    std::fs::write(&path, two_holders()).unwrap();
    let file = path.to_str().unwrap();
    let holders = |d: &Daemon| -> Vec<String> {
        let list = d.json(&["holder", "list"]);
        list.as_array().unwrap().iter().map(id).collect()
    };

    let out = d.cli(&["import", file, "--only", "h1", "cr1", "co1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Imported 3 records"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(holders(&d), ["h1"]);
    let courses = d.json(&["course", "list", "--holder", "h1"]);
    assert_eq!(courses.as_array().unwrap().len(), 1, "{courses}");

    // co2's holder and credential are in the dump but not chosen, and not in the store.
    let out = d.cli(&["import", file, "--only", "co2"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("h2"), "{}", stderr(&out));
    let out = d.cli(&["import", file, "--only", "co9"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--only") && err.contains("co9"), "{err}");
    let out = d.cli(&["import", file, "--only", "x1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--only") && err.contains("x1"), "{err}");
    assert_eq!(holders(&d), ["h1"], "the refused imports wrote nothing");

    // The default restores the whole dump: the chosen records are unchanged now.
    let out = d.cli(&["import", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Imported 3 records (3 already present"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(holders(&d), ["h1", "h2"]);
}
