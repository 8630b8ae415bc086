//! A lab's own competency programs (issue 14, point 4: "a lab can edit or add its own"),
//! through the real daemon and CLI on the engine under test, its clock frozen
//! (`RECERT_NOW`, moved by restarting):
//! - a lab adds `glucose-meter` from a TOML file, assigns it, logs a pass and sees next_due;
//! - editing its interval moves next_due, and the alert fires on the new date, found by the
//!   competency index the edit rewrote (the holder is no longer marked for the tick by then);
//! - a holder's token may not add one; one with holders assessed on it cannot be removed;
//! - an edit of the built-in `phlebotomy-annual` changes its schedule, and removing the edit
//!   restores the built-in one;
//! - export and import keep the lab's programs, an import naming an unknown competency
//!   program is refused with its line, and `recertd check` passes on every store.

use recert_tests::Daemon;
use serde_json::Value;

const DAY0: &str = "2026-01-10T12:00:00Z";

const GLUCOSE: &str = r#"
# One [[competency]] table, as in the daemon's catalog/competencies.toml.
[[competency]]
slug = "glucose-meter"
name = "Glucose meter competency"
elements = [
  "direct observation of a patient test",
  "review of quality control records",
  "problem-solving assessment",
]
initial_months = [6]
every_months = 12
remediate_days = 30
sources = ["https://www.cms.gov/regulations-and-guidance/legislation/clia"]
notes = "The lab's own schedule."
"#;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Restarts `d` with its clock at `at`, so the ticks missed since run once.
fn restart_at(mut d: Daemon, at: &str) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start(&d.data_dir, Some(at))
}

/// The competency program `slug` as `competency program list` shows it.
fn listed(d: &Daemon, slug: &str) -> Value {
    let all = d.json(&["competency", "program", "list"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == slug)
        .cloned()
        .unwrap_or_else(|| panic!("{slug} is not listed: {all}"))
}

/// The next due day of `holder`'s one skill.
fn next_due(d: &Daemon, holder: &str) -> Value {
    let rows = d.json(&["--holder", holder, "competency", "status"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    rows[0]["next_due"].clone()
}

/// `recertd check` passes on `d`'s store (which it stops).
fn check_passes(mut d: Daemon) {
    assert_eq!(d.stop(), Some(0));
    let out = d.check_store(&[]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn a_lab_adds_edits_and_removes_its_own_competency_programs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("glucose.toml");
    std::fs::write(&file, GLUCOSE).unwrap();
    let file = file.to_str().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(DAY0));

    let added = d.json(&["competency", "program", "add", file]);
    assert_eq!(added["slug"], "glucose-meter", "{added}");
    assert_eq!(added["origin"], "local");
    assert_eq!(added["overrides_builtin"], false);
    let listed_program = listed(&d, "glucose-meter");
    assert_eq!(listed_program["every_months"], 12);
    assert_eq!(listed_program["elements"].as_array().unwrap().len(), 3);
    assert_eq!(listed(&d, "clia-testing")["origin"], "builtin");
    // Adding it twice is refused, naming what to do instead.
    let again = d.cli(&["competency", "program", "add", file]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("program edit"),
        "{}",
        stderr(&again)
    );

    // Ana, hired 2025-06-01: due 6 months after hire; a pass on that day makes the next one
    // due 12 months later.
    let ana = id(&d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2025-06-01",
    ]));
    let assigned = d.json(&[
        "competency",
        "assign",
        &ana,
        "--program",
        "glucose-meter",
        "--skill",
        "Glucose meter",
    ]);
    assert_eq!(assigned["next_due"], "2025-12-01", "{assigned}");
    let passed = d.json(&[
        "competency",
        "log",
        &ana,
        "--program",
        "glucose-meter",
        "--skill",
        "Glucose meter",
        "--date",
        "2025-12-01",
        "--assessor",
        "T. Consultant",
        "--elements",
        "1,2,3",
        "--result",
        "pass",
    ]);
    assert_eq!(passed["next_due"], "2026-12-01", "{passed}");
    // The program's own elements are what an assessment is checked against.
    let bad = d.cli(&[
        "competency",
        "log",
        &ana,
        "--program",
        "glucose-meter",
        "--skill",
        "Glucose meter",
        "--assessor",
        "T. C.",
        "--elements",
        "4",
        "--result",
        "pass",
    ]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--elements"), "{}", stderr(&bad));

    // A holder's own token may not add or change a program.
    let made = d.json(&["token", "create", "--role", "holder", "--holder", &ana]);
    let secret = made["token"].as_str().unwrap().to_string();
    let denied = d.cli_as(Some(&secret), &["competency", "program", "add", file]);
    assert!(!denied.status.success());
    assert!(
        stderr(&denied).contains("needs an admin token"),
        "{}",
        stderr(&denied)
    );
    let denied = d.cli_as(
        Some(&secret),
        &[
            "competency",
            "program",
            "edit",
            "glucose-meter",
            "--every-months",
            "1",
        ],
    );
    assert!(!denied.status.success(), "{}", stderr(&denied));
    // Bad programs are refused naming the key.
    let zero = dir.path().join("zero.toml");
    std::fs::write(
        &zero,
        GLUCOSE.replace("every_months = 12", "every_months = 0"),
    )
    .unwrap();
    let out = d.cli(&["competency", "program", "add", zero.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("every_months"), "{}", stderr(&out));
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, GLUCOSE.replace("every_months", "every_month")).unwrap();
    let out = d.cli(&["competency", "program", "add", typo.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("every_month"), "{}", stderr(&out));

    // Every 6 months instead: the next one is due 2026-06-01.
    let edited = d.json(&[
        "competency",
        "program",
        "edit",
        "glucose-meter",
        "--every-months",
        "6",
    ]);
    assert_eq!(edited["every_months"], 6, "{edited}");
    assert_eq!(next_due(&d, &ana), "2026-06-01");

    // Removing it is refused while Ana is assessed on it.
    let out = d.cli(&["competency", "program", "remove", "glucose-meter"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("assessed for 1 holder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listed(&d, "glucose-meter")["every_months"], 6);

    // 2026-01-11: the tick evaluates the holders written (nothing due yet) and forgets them.
    let d = restart_at(d, "2026-01-11T12:00:00Z");
    let none = d.json(&["--holder", &ana, "alerts", "list", "--all"]);
    assert_eq!(none.as_array().unwrap().len(), 0, "{none}");
    // 2026-05-04, 28 days before the new due day: one alert (the 60- and 30-day marks
    // coalesced), found by the competency index alone, for 2026-06-01, not 2026-12-01.
    let d = restart_at(d, "2026-05-04T12:00:00Z");
    let alerts = d.alerts_until(&["--holder", &ana], |l| !l.is_empty());
    let keys: Vec<&str> = alerts
        .iter()
        .map(|a| a["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [format!(
            "{ana}/competency/glucose-meter/Glucose meter/2026-06-01/30"
        )],
        "{alerts:#?}"
    );

    // An edit of the built-in phlebotomy-annual: every 24 months instead of 12.
    let ben = id(&d.json(&[
        "holder",
        "add",
        "Ben Okafor",
        "--tz",
        "UTC",
        "--hired",
        "2024-01-01",
    ]));
    let logged = d.json(&[
        "competency",
        "log",
        &ben,
        "--program",
        "phlebotomy-annual",
        "--skill",
        "Venipuncture",
        "--date",
        "2025-01-05",
        "--assessor",
        "T. Consultant",
        "--elements",
        "1,2,3,4,5,6",
        "--result",
        "pass",
    ]);
    assert_eq!(logged["next_due"], "2026-01-05", "{logged}");
    let edit = d.json(&[
        "competency",
        "program",
        "edit",
        "phlebotomy-annual",
        "--every-months",
        "24",
    ]);
    assert_eq!(edit["overrides_builtin"], true, "{edit}");
    assert_eq!(next_due(&d, &ben), "2027-01-05");
    let shown = listed(&d, "phlebotomy-annual");
    assert_eq!(
        (shown["origin"].as_str(), shown["every_months"].as_u64()),
        (Some("local"), Some(24))
    );
    // Removing the edit (allowed while Ben is assessed on it) restores the built-in program.
    let removed = d.cli(&["competency", "program", "remove", "phlebotomy-annual"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(
        String::from_utf8_lossy(&removed.stdout).contains("built-in program is in force again")
    );
    assert_eq!(next_due(&d, &ben), "2026-01-05");
    let shown = listed(&d, "phlebotomy-annual");
    assert_eq!(
        (shown["origin"].as_str(), shown["every_months"].as_u64()),
        (Some("builtin"), Some(12))
    );
    let out = d.cli(&["competency", "program", "remove", "phlebotomy-annual"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not one the lab stored"),
        "{}",
        stderr(&out)
    );

    // Export and import into an empty store keep the lab's program and its schedule.
    let dump = dir.path().join("dump.jsonl");
    d.json(&["export", "--file", dump.to_str().unwrap()]);
    let text = std::fs::read_to_string(&dump).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains(r#""kind":"competency_program""#))
        .expect("a competency_program line");
    // One holder's dump carries the lab's programs their skills name, and no other.
    let own = d.cli(&["--holder", &ana, "export"]);
    assert!(own.status.success(), "{}", stderr(&own));
    assert!(String::from_utf8_lossy(&own.stdout).contains(r#""kind":"competency_program""#));
    let other = d.cli(&["--holder", &ben, "export"]);
    assert!(!String::from_utf8_lossy(&other.stdout).contains(r#""kind":"competency_program""#));
    let copy = Daemon::start(&dir.path().join("copy"), Some("2026-05-04T12:00:00Z"));
    let out = copy.cli(&["import", "--file", dump.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = listed(&copy, "glucose-meter");
    assert_eq!(
        (kept["origin"].as_str(), kept["every_months"].as_u64()),
        (Some("local"), Some(6))
    );
    assert_eq!(next_due(&copy, &ana), "2026-06-01");
    // Importing it again changes nothing; a dump without the program line is refused, naming
    // the holder's line.
    let again = copy.cli(&["import", "--file", dump.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    let holder_line = text
        .lines()
        .position(|l| l.contains(r#""kind":"holder""#) && l.contains("glucose-meter"))
        .unwrap();
    let without: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != line)
        .map(|(_, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "end" {
                v["records"] = (v["records"].as_u64().unwrap() - 1).into();
            }
            v.to_string()
        })
        .collect();
    let stripped = dir.path().join("stripped.jsonl");
    std::fs::write(&stripped, without.join("\n") + "\n").unwrap();
    let empty = Daemon::start(&dir.path().join("empty"), Some("2026-05-04T12:00:00Z"));
    let out = empty.cli(&["import", "--file", stripped.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    // The holder's line number in the stripped file (one line above it, 1-based).
    assert!(
        err.contains(&format!("line {holder_line}")) && err.contains("glucose-meter"),
        "{err}"
    );

    for daemon in [d, copy, empty] {
        check_passes(daemon);
    }
}
