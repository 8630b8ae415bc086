//! Reinstatement as a program field (issue 13.3): the rule for a lapsed credential lives in
//! the program (`within_months`, `ce_hours`, `note`, `sources`), `program show` shows it,
//! `cert renew` of a lapsed credential quotes the field of the program in force (a custom
//! program's too), and a partial override keeps the built-in rule.

use recert_proto::v1 as pb;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_tests::Daemon;
use serde_json::json;
use std::process::Output;
use tonic::Code;

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
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `recert ARGS`, asserts exit 1 and an empty stdout, returns stderr.
fn refused(d: &Daemon, args: &[&str]) -> String {
    let out = d.cli(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "recert {args:?}: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    stderr(&out)
}

#[test]
fn built_in_programs_carry_their_reinstatement_rule_as_a_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-12-01T18:00:00Z"));
    let ca = d.json(&["program", "show", "ca-cpt1"]);
    assert_eq!(
        ca["reinstatement"],
        json!({
            "within_months": 12,
            "ce_hours": 6,
            "note": "renewing an expired California certificate",
            "sources": ["https://www.cdph.ca.gov/Programs/OSPHLD/LFS/Pages/Personnel-Renewal.aspx"],
        }),
        "{ca:#}"
    );
    let table = ok(&d, &["program", "show", "ca-cpt1"]);
    assert!(
        table.contains(
            "Reinstatement:   6 contact hours completed within the last 12 months; renewing an expired California certificate (source: https://www.cdph.ca.gov/"
        ),
        "{table}"
    );
    let ascp = d.json(&["program", "show", "ascp-pbt"]);
    assert_eq!(ascp["reinstatement"]["within_months"], 36, "{ascp:#}");
    assert_eq!(ascp["reinstatement"]["ce_hours"], 0, "{ascp:#}");
    let table = ok(&d, &["program", "show", "ascp-pbt"]);
    assert!(
        table.contains(
            "the cycle's requirement (9 points) completed within the last 36 months; plus a reinstatement fee"
        ),
        "{table}"
    );
    assert_eq!(
        d.json(&["program", "show", "nha-cpt"])["reinstatement"],
        json!(null)
    );

    // A lapsed California credential quotes the field; a partial override keeps it.
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "ca-cpt1", "--expires", "2026-11-21"]);
    ok(&d, &["program", "edit", "ca-cpt1", "--required", "8"]);
    let why = refused(&d, &["cert", "renew", "cr1"]);
    assert!(
        why.contains(
            "lapsed on 2026-11-22; reinstatement: 6 contact hours completed within the last 12 months; renewing an expired California certificate (https://www.cdph.ca.gov/"
        ) && why.contains("--force"),
        "{why}"
    );
}

#[tokio::test]
async fn a_custom_programs_reinstatement_rule_is_kept_and_quoted_on_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-12-01T18:00:00Z"));
    let mut programs = ProgramServiceClient::new(d.channel().await);
    let mut custom = pb::Program {
        slug: "state-cpt".into(),
        body: "State Board".into(),
        name: "State CPT".into(),
        cycle_months: 24,
        required_hundredths: 600,
        shares_courses: true,
        reinstatement: Some(pb::Reinstatement {
            within_months: -1,
            ce_hours_hundredths: 1000,
            note: "plus the board's late form".into(),
            sources: vec!["https://example.org/state/reinstate".into()],
        }),
        ..Default::default()
    };
    let bad = programs
        .create_program(pb::CreateProgramRequest {
            program: Some(custom.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message()
            .contains("program.reinstatement.within_months must not be negative"),
        "{bad:?}"
    );
    custom.reinstatement.as_mut().unwrap().within_months = 24;
    programs
        .create_program(pb::CreateProgramRequest {
            program: Some(custom),
        })
        .await
        .unwrap();
    let shown = d.json(&["program", "show", "state-cpt"]);
    assert_eq!(shown["reinstatement"]["ce_hours"], 10, "{shown:#}");

    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "state-cpt", "--expires", "2026-10-01"]);
    let why = refused(&d, &["cert", "renew", "cr1"]);
    assert!(
        why.contains(
            "reinstatement: 10 contact hours completed within the last 24 months; plus the board's late form (https://example.org/state/reinstate)"
        ),
        "{why}"
    );

    // The rule travels in the dump.
    let dump = ok(&d, &["export", "--no-secrets"]);
    let e = Daemon::start(&dir.path().join("two"), Some("2026-12-01T18:00:00Z"));
    let file = dir.path().join("dump.jsonl");
    std::fs::write(&file, dump).unwrap();
    ok(&e, &["import", "--file", file.to_str().unwrap()]);
    assert_eq!(
        e.json(&["program", "show", "state-cpt"])["reinstatement"],
        shown["reinstatement"]
    );
}
