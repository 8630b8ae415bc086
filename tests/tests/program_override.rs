//! Trial 2.12: overriding one rule of a built-in program. `program edit SLUG --unit-hours 1`
//! keeps every other rule, the notes and the sources of the built-in program, `program show`
//! marks the local rules, `program reset` drops them, only an admin may do either, and the
//! override keeps only its local fields when the catalog under it changes.

use recert_proto::v1 as pb;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_tests::Daemon;
use serde_json::{Value, json};
use std::process::Output;
use tonic::Code;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `recert ARGS` as the admin, asserts success, returns stdout.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.cli(args);
    assert!(
        out.status.success(),
        "recert {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// The line of `program show`'s table that starts with `label`.
fn line<'a>(table: &'a str, label: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in\n{table}"))
}

/// The NHA credential's earned credits in `status`.
fn earned(d: &Daemon) -> Value {
    let rows = d.json(&["status"]);
    rows.as_array().unwrap()[0]["earned"].clone()
}

#[test]
fn one_rule_of_a_built_in_program_is_overridden_shown_as_local_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let builtin = d.json(&["program", "show", "nha-cpt"]);
    assert_eq!(builtin["unit_hours"], 2, "{builtin:#}");
    assert_eq!(builtin["local_fields"], json!([]), "{builtin:#}");
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "nha-cpt", "--expires", "2027-05-01"]);
    ok(
        &d,
        &["course", "log", "Venipuncture review", "--credits", "4"],
    );
    // 4 contact hours are 2 NHA credits at 2 hours a credit.
    assert_eq!(earned(&d), 2);

    let edited = d.json(&["program", "edit", "nha-cpt", "--unit-hours", "1"]);
    assert_eq!(edited["unit_hours"], 1, "{edited:#}");
    assert_eq!(edited["local_fields"], json!(["unit_hours"]), "{edited:#}");
    assert_eq!(edited["overrides_builtin"], true, "{edited:#}");
    // Everything else is the built-in program's, notes and sources included.
    for field in [
        "body",
        "name",
        "required",
        "cycle_months",
        "grace_days",
        "notes",
        "sources",
        "unit",
    ] {
        assert_eq!(edited[field], builtin[field], "{field}: {edited:#}");
    }
    // The built-in flags stay on the rules that are not local.
    assert_eq!(edited["uncertain"], builtin["uncertain"], "{edited:#}");
    assert_eq!(
        earned(&d),
        4,
        "the override applies to the holder's standing"
    );

    let table = ok(&d, &["program", "show", "nha-cpt"]);
    assert!(line(&table, "Unit:").ends_with("(local)"), "{table}");
    assert!(!line(&table, "Required:").contains("(local)"), "{table}");
    assert!(line(&table, "Grace:").ends_with("(uncertain)"), "{table}");
    assert!(line(&table, "Kind:").contains("unit_hours"), "{table}");

    // A second edit adds a local field; the first stays.
    let edited = d.json(&["program", "edit", "nha-cpt", "--grace-days", "30"]);
    assert_eq!(
        edited["local_fields"],
        json!(["unit_hours", "grace_days"]),
        "{edited:#}"
    );
    assert_eq!(edited["unit_hours"], 1, "{edited:#}");
    assert_eq!(edited["grace_days"], 30, "{edited:#}");

    // Reset one field: the built-in value is back, the other local field stays.
    let reset = d.json(&["program", "reset", "nha-cpt", "--field", "unit-hours"]);
    assert_eq!(reset["reset"], json!(["unit_hours"]), "{reset:#}");
    assert_eq!(reset["local_fields"], json!(["grace_days"]), "{reset:#}");
    let shown = d.json(&["program", "show", "nha-cpt"]);
    assert_eq!(shown["unit_hours"], 2, "{shown:#}");
    assert_eq!(shown["grace_days"], 30, "{shown:#}");
    assert_eq!(earned(&d), 2);

    // A field that is not local, or not a rule, is refused and changes nothing.
    let out = d.cli(&["program", "reset", "nha-cpt", "--field", "required"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--field required: not a local field of nha-cpt"),
        "{}",
        stderr(&out)
    );
    let out = d.cli(&["program", "reset", "nha-cpt", "--field", "dues"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--field"), "{}", stderr(&out));
    let out = d.cli(&["program", "edit", "nha-cpt"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        d.json(&["program", "show", "nha-cpt"])["local_fields"],
        json!(["grace_days"])
    );

    // Reset whole: the built-in program as shipped.
    let reset = d.json(&["program", "reset", "nha-cpt"]);
    assert_eq!(reset["local_fields"], json!([]), "{reset:#}");
    let shown = d.json(&["program", "show", "nha-cpt"]);
    assert_eq!(shown, builtin);
    let out = d.cli(&["program", "reset", "nha-cpt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no local rules"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_custom_program_is_edited_in_place_and_an_unknown_slug_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    ok(
        &d,
        &[
            "program",
            "add",
            "state-cpt",
            "--body",
            "State",
            "--name",
            "State CPT",
            "--cycle-months",
            "24",
            "--required",
            "6",
        ],
    );
    let edited = d.json(&["program", "edit", "state-cpt", "--required", "8"]);
    assert_eq!(edited["required"], 8, "{edited:#}");
    assert_eq!(edited["cycle_months"], 24, "{edited:#}");
    assert_eq!(edited["local_fields"], json!([]), "{edited:#}");
    let out = d.cli(&["program", "edit", "nha-cpx", "--required", "8"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean nha-cpt?"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn only_an_admin_overrides_or_resets_a_program() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let h1 = d.json(&["holder", "add", "Dana", "--tz", "UTC"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        d.json(&all)["token"].as_str().unwrap().to_string()
    };
    let holder = token(&["--role", "holder", "--holder", &h1]);
    let supervisor = token(&["--role", "supervisor", "--holder", &h1]);
    ok(&d, &["program", "edit", "amt-rpt", "--required", "20"]);
    for secret in [&holder, &supervisor] {
        for args in [
            &["program", "edit", "nha-cpt", "--unit-hours", "1"][..],
            &["program", "reset", "amt-rpt"][..],
            &["program", "reset", "amt-rpt", "--field", "required"][..],
        ] {
            let out = d.cli_as(Some(secret), args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("needs an admin token"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
        // The RPCs themselves, not only the CLI.
        let mut programs = ProgramServiceClient::new(d.channel_as(Some(secret)).await);
        let mut nha = programs
            .get_program(pb::GetProgramRequest {
                slug: "nha-cpt".into(),
            })
            .await
            .unwrap()
            .into_inner();
        nha.unit_hours_hundredths = 100;
        nha.local_fields = vec!["unit_hours".into()];
        let refused = programs
            .create_program(pb::CreateProgramRequest { program: Some(nha) })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    assert_eq!(d.json(&["program", "show", "nha-cpt"])["unit_hours"], 2);
    assert_eq!(
        d.json(&["program", "show", "amt-rpt"])["local_fields"],
        json!(["required"])
    );

    // Local fields name rules of a built-in program only.
    let mut programs = ProgramServiceClient::new(d.channel().await);
    let custom = pb::Program {
        slug: "state-cpt".into(),
        body: "State".into(),
        name: "State CPT".into(),
        cycle_months: 24,
        required_hundredths: 600,
        shares_courses: true,
        local_fields: vec!["required".into()],
        ..Default::default()
    };
    let refused = programs
        .create_program(pb::CreateProgramRequest {
            program: Some(custom.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("program.local_fields"),
        "{refused:?}"
    );
    let mut nha = pb::Program {
        slug: "nha-cpt".into(),
        local_fields: vec!["notes".into()],
        ..custom
    };
    let refused = programs
        .create_program(pb::CreateProgramRequest {
            program: Some(nha.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    nha.local_fields = vec!["dues".into()];
    let refused = programs
        .create_program(pb::CreateProgramRequest { program: Some(nha) })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("dues cannot be overridden on its own"),
        "{refused:?}"
    );
    assert_eq!(d.json(&["program", "show", "nha-cpt"])["builtin"], true);
}

/// A store written under an older catalog: the override's stored copy of the other rules is
/// stale (as after a catalog update). Only the local fields are kept; the rest, notes and
/// sources included, are the catalog's as shipped now.
#[test]
fn an_override_keeps_only_its_local_fields_when_the_catalog_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("one"), Some("2026-06-15T12:00:00Z"));
    ok(&d, &["program", "edit", "nha-cpt", "--unit-hours", "1"]);
    let dump = ok(&d, &["export", "--no-secrets"]);
    let builtin_notes = d.json(&["program", "show", "nha-cpt"])["notes"].clone();
    // Rewrite the override's line as an older build would have stored it.
    let stale: Vec<String> = dump
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "program" && v["slug"] == "nha-cpt" {
                assert_eq!(v["local_fields"], json!(["unit_hours"]), "{v:#}");
                v["required_hundredths"] = json!(2400);
                v["grace_days"] = json!(90);
                v["notes"] = json!("what the catalog said last year");
                v["sources"] = json!(["https://example.org/old"]);
            }
            v.to_string()
        })
        .collect();
    let e = Daemon::start(&dir.path().join("two"), Some("2026-06-15T12:00:00Z"));
    let file = dir.path().join("stale.jsonl");
    std::fs::write(&file, stale.join("\n") + "\n").unwrap();
    ok(&e, &["import", "--file", file.to_str().unwrap()]);
    let shown = e.json(&["program", "show", "nha-cpt"]);
    assert_eq!(shown["unit_hours"], 1, "{shown:#}");
    assert_eq!(shown["required"], 10, "{shown:#}");
    assert_eq!(shown["grace_days"], 0, "{shown:#}");
    assert_eq!(shown["notes"], builtin_notes, "{shown:#}");
    assert_ne!(
        shown["sources"],
        json!(["https://example.org/old"]),
        "{shown:#}"
    );
    assert_eq!(shown["local_fields"], json!(["unit_hours"]), "{shown:#}");
}
