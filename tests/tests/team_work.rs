//! One in-service for several people in one command: `recert course log ... --team T` and
//! `--holders A,B` make one course per person in one transaction, all or nothing, checked
//! against the caller like a single course. Runs on either engine.

use recert_tests::Daemon;
use serde_json::Value;

/// 2026-11-24, 09:00 in Chicago.
const NOW: &str = "2026-11-24T15:00:00Z";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lena leads "Draw station" (Aisha, Ben, Carmen); Gus is on no team of hers.
fn team(d: &Daemon) {
    for (name, program, expires) in [
        ("Lena Ortiz", "nha-cpt", "2027-10-01"),
        ("Aisha Khan", "nha-cpt", "2026-12-14"),
        ("Ben Okafor", "ascp-pbt", "2028-01-24"),
        ("Carmen Diaz", "ca-cpt1", "2027-11-14"),
        ("Gus Moreau", "nha-cpt", "2027-10-01"),
    ] {
        d.json(&["holder", "add", name, "--tz", "America/Chicago"]);
        d.json(&[
            "--holder",
            name,
            "cert",
            "add",
            program,
            "--expires",
            expires,
        ]);
    }
    d.json(&["team", "add", "Draw station"]);
    for name in ["Aisha Khan", "Ben Okafor", "Carmen Diaz"] {
        d.json(&["team", "add-member", "Draw station", name]);
    }
    d.json(&["team", "add-lead", "Draw station", "Lena Ortiz"]);
}

/// How many courses `holder` has.
fn courses(d: &Daemon, holder: &str) -> usize {
    d.json(&["--holder", holder, "course", "list"])
        .as_array()
        .map_or(0, Vec::len)
}

fn log_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "course",
        "log",
        "Sharps safety in-service",
        "--credits",
        "1",
        "--category",
        "safety",
        "--date",
        "2026-11-20",
        "--accreditation",
        "P.A.C.E.",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn one_in_service_for_a_team_is_one_course_each_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    team(&d);

    // The whole team: one course per member, each counted in their own standing.
    let made = d.json(&log_args(&["--team", "draw station"]));
    let owners: Vec<&str> = made
        .as_array()
        .expect("an array of courses")
        .iter()
        .map(|c| c["holder_id"].as_str().unwrap())
        .collect();
    assert_eq!(owners, vec!["h2", "h3", "h4"], "{made:#}");
    let ben = d.json(&["--holder", "Ben Okafor", "status"]);
    let safety = &ben[0]["categories"][0];
    assert_eq!(
        (&safety["category"], &safety["earned"]),
        (&Value::from("safety"), &Value::from(1)),
        "{ben:#}"
    );
    assert_eq!(courses(&d, "Gus Moreau"), 0);
    // Each course is in the audit trail.
    let history = d.json(&["--holder", "Carmen Diaz", "history"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "course" && e["action"] == "create"),
        "{history:#}"
    );

    // By names; the table says who got which course.
    let out = d.cli(&log_args(&[
        "--holders",
        "Aisha Khan,gus moreau",
        "--allow-duplicate",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Logged 2 courses:"), "{text}");
    assert!(text.contains("for h2") && text.contains("for h5"), "{text}");
    assert_eq!(
        (courses(&d, "Aisha Khan"), courses(&d, "Gus Moreau")),
        (2, 1)
    );

    // All or nothing: an unknown holder, or a duplicate for one of them, logs nothing at all.
    let out = d.cli(&log_args(&[
        "--holders",
        "Ben Okafor,h99",
        "--allow-duplicate",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("h99"), "{}", stderr(&out));
    let out = d.cli(&log_args(&["--team", "Draw station"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--allow-duplicate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        (
            courses(&d, "Aisha Khan"),
            courses(&d, "Ben Okafor"),
            courses(&d, "Carmen Diaz")
        ),
        (2, 1, 1)
    );
    // A course for several people cannot be pinned (each one's credentials differ).
    let out = d.cli(&log_args(&["--team", "Draw station", "--for", "cr2"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = d.cli(&log_args(&["--team", "Nobody's team"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Nobody's team"), "{}", stderr(&out));
}

#[test]
fn a_lead_logs_for_their_team_and_not_for_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    team(&d);
    let lead = d.json(&["--holder", "h1", "token", "create", "--role", "supervisor"])["token"]
        .as_str()
        .expect("a secret")
        .to_owned();
    let made = d.json_as(&lead, &log_args(&["--team", "Draw station"]));
    assert_eq!(made.as_array().map(Vec::len), Some(3), "{made:#}");
    // Gus is not hers to see: "not found", and nothing is logged for the others either.
    let out = d.cli_as(
        Some(&lead),
        &log_args(&["--holders", "h2,h5", "--allow-duplicate"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    assert_eq!(
        (courses(&d, "Aisha Khan"), courses(&d, "Gus Moreau")),
        (1, 0)
    );
    // A holder's token cannot log for the team's other members.
    let aisha = d.json(&["--holder", "h2", "token", "create", "--role", "holder"])["token"]
        .as_str()
        .expect("a secret")
        .to_owned();
    let out = d.cli_as(
        Some(&aisha),
        &log_args(&["--team", "Draw station", "--allow-duplicate"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    assert_eq!(courses(&d, "Aisha Khan"), 1);
}
