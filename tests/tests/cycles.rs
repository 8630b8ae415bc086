//! Cycles and renewals through the real binaries (trial findings 2.1 to 2.5, 2.7, 2.10, 2.11
//! and the credential removal of 2.20): a course counts in one cycle only, a closed cycle
//! keeps its record, a renewal checks the rules and can be undone, and every course says why
//! it counts or not.

use recert_tests::Daemon;
use serde_json::Value;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `recert ARGS`, asserts success, returns stdout.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.cli(args);
    assert!(
        out.status.success(),
        "recert {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs `recert ARGS`, asserts it fails with exit code 1 and prints nothing on stdout;
/// returns stderr.
fn refused(d: &Daemon, args: &[&str]) -> String {
    let out = d.cli(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "recert {args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    stderr(&out)
}

fn row<'a>(rows: &'a Value, id: &str) -> &'a Value {
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|r| r["credential_id"] == id)
        .unwrap_or_else(|| panic!("no row for {id} in {rows:#}"))
}

/// Trial 2.1 and 2.3: a course on the expiry day satisfied both the old and the new cycle, and
/// the closed cycle's record was lost.
#[test]
fn a_course_on_the_expiry_day_counts_in_one_cycle_only_and_the_closed_cycle_keeps_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-11-20T18:00:00Z"));
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "ca-cpt1", "--expires", "2026-11-20"]);
    ok(
        &d,
        &[
            "course",
            "log",
            "On expiry day",
            "--credits",
            "6",
            "--date",
            "2026-11-20",
            "--accreditation",
            "ASCLS P.A.C.E.",
        ],
    );
    let before = d.json(&["status"]);
    assert_eq!(row(&before, "cr1")["status"], "met", "{before:#}");

    ok(&d, &["cert", "renew", "cr1", "--on", "2026-11-20"]);
    let after = d.json(&["status"]);
    let cr1 = row(&after, "cr1");
    assert_eq!(cr1["window_start"], "2026-11-21", "{cr1:#}");
    assert_eq!(cr1["earned"], 0, "{cr1:#}");
    assert_eq!(cr1["remaining"], 6, "{cr1:#}");
    assert_ne!(cr1["status"], "met", "{cr1:#}");
    assert_eq!(cr1["counted_course_ids"], serde_json::json!([]));
    // The course belongs to the closed cycle, so the new one does not list it as missed.
    assert_eq!(cr1["not_counted"], serde_json::json!([]), "{cr1:#}");

    // The closed cycle's record.
    let shown = d.json(&["cert", "show", "cr1"]);
    let past = &shown["past_cycles"][0];
    assert_eq!(past["expires_on"], "2026-11-20", "{shown:#}");
    assert_eq!(past["required"], 6, "{shown:#}");
    assert_eq!(past["earned"], 6, "{shown:#}");
    assert_eq!(past["status"], "met", "{shown:#}");
    assert_eq!(past["counted_course_ids"], serde_json::json!(["co1"]));
    let table = ok(&d, &["cert", "show", "cr1"]);
    assert!(
        table.contains("6 contact hours") && table.contains("co1"),
        "{table}"
    );

    let previous = d.json(&["status", "--cycle", "previous"]);
    let p = row(&previous, "cr1");
    assert_eq!(
        (&p["ends_on"], &p["earned"], &p["status"]),
        (
            &Value::from("2026-11-20"),
            &Value::from(6),
            &Value::from("met")
        ),
        "{previous:#}"
    );
    assert!(ok(&d, &["status", "--cycle", "previous"]).contains("co1"));

    // The audit transcript of the closed cycle, as CSV and JSON; the new cycle has none yet.
    let csv = ok(&d, &["transcript", "cr1", "--cycle", "previous", "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("credential_id,program,cycle_ends_on,course_id,"));
    assert_eq!(
        lines[1],
        "cr1,ca-cpt1,2026-11-20,co1,2026-11-20,On expiry day,,ASCLS P.A.C.E.,6,hours,6,contact hour,false"
    );
    let current = d.json(&["transcript", "ca-cpt1"]);
    assert_eq!(current["cycle"], "current");
    assert_eq!(current["courses"], serde_json::json!([]), "{current:#}");
}

/// Trial 2.4 and 2.5: `cert renew` never checked the requirements (in grace, lapsed), and a
/// mistaken renewal could not be undone.
#[test]
fn renewal_is_refused_while_unmet_or_lapsed_unless_forced_and_can_be_undone_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-12-01T18:00:00Z"));
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(
        &d,
        &[
            "cert",
            "add",
            "nha-cpt",
            "--expires",
            "2027-05-01",
            "--issued",
            "2025-05-01",
        ],
    );
    ok(&d, &["cert", "add", "ca-cpt1", "--expires", "2026-11-21"]);
    ok(
        &d,
        &[
            "course",
            "log",
            "Order of draw",
            "--credits",
            "4",
            "--date",
            "2026-10-14",
        ],
    );
    let original = d.json(&["cert", "show", "cr1"]);

    let why = refused(&d, &["cert", "renew", "cr1"]);
    assert!(
        why.starts_with(
            "error: cr1 (nha-cpt) still needs 8 NHA CE credits for the cycle ending 2027-05-01"
        ) && why.contains("--force"),
        "{why}"
    );
    assert_eq!(
        d.json(&["cert", "show", "cr1"]),
        original,
        "nothing changed"
    );

    // Lapsed (California has no grace period): the reinstatement rule, with its source.
    let why = refused(&d, &["cert", "renew", "cr2"]);
    assert!(
        why.contains("lapsed on 2026-11-22")
            && why.contains("6 contact hours completed within the last 12 months")
            && why.contains("cdph.ca.gov")
            && why.contains("--force"),
        "{why}"
    );

    // Forced: the closed cycle records that it was not met.
    let renewed = d.json(&["cert", "renew", "cr1", "--force"]);
    assert_eq!(renewed["expires_on"], "2029-05-01");
    let past = &renewed["past_cycles"][0];
    assert_eq!(
        (&past["status"], &past["earned"], &past["required"]),
        (&Value::from("at_risk"), &Value::from(2), &Value::from(10)),
        "{renewed:#}"
    );

    // Undo: everything as it was, to the byte.
    let undone = ok(&d, &["cert", "renew", "cr1", "--undo"]);
    assert!(undone.contains("expires 2027-05-01 again"), "{undone}");
    assert_eq!(d.json(&["cert", "show", "cr1"]), original);
    let why = refused(&d, &["cert", "renew", "cr1", "--undo"]);
    assert!(why.contains("cr1 has no renewal to undo"), "{why}");
}

/// Trial 2.2, 2.7, 2.10, 2.11 and 2.20: what a course counts toward and why not, duplicates,
/// the reason of `at_risk`, and removing a credential that courses are pinned to.
#[test]
fn every_course_says_why_it_counts_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-12-01T18:00:00Z"));
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "nha-cpt", "--expires", "2027-05-01"]);
    ok(&d, &["cert", "add", "ascp-pbt", "--expires", "2028-11-30"]);

    // Ten years old: a typo. Logged, with a warning saying why it counts nowhere.
    let out = d.cli(&[
        "course",
        "log",
        "Specimen rejection",
        "--credits",
        "1",
        "--date",
        "2016-11-20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let warning = stderr(&out);
    assert!(
        warning.starts_with(
            "warning: co1 (2016-11-20) counts toward none of the holder's credentials"
        ) && warning.contains("outside the window"),
        "{warning}"
    );
    assert!(stdout(&out).starts_with("Logged course co1"));

    // 3 semester hours = 45 hours, capped to 4.5 ASCP points (academic at most 50%).
    let out = d.cli(&[
        "course",
        "log",
        "A&P",
        "--credits",
        "3",
        "--unit",
        "semester-hour",
        "--date",
        "2026-09-01",
        "--format",
        "academic",
        "--for",
        "ascp-pbt",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "it counts: {}", stderr(&out));
    let show = ok(&d, &["course", "show", "co2"]);
    assert!(show.contains("cr2 ascp-pbt: 4.5 points (capped)"), "{show}");
    assert!(show.contains("cr1 nha-cpt: pinned to cr2"), "{show}");
    let show = ok(&d, &["course", "show", "co1"]);
    assert!(
        show.contains("Counts toward") && show.contains("nothing"),
        "{show}"
    );

    let status = d.json(&["status"]);
    let nha = row(&status, "cr1");
    let reasons: Vec<(&str, &str)> = nha["not_counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["course_id"].as_str().unwrap(),
                n["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [("co1", "outside_window"), ("co2", "pinned_elsewhere")],
        "{nha:#}"
    );
    assert_eq!(nha["status"], "at_risk");
    assert_eq!(
        nha["status_reason"], "behind pace: 7.9 expected by now",
        "{nha:#}"
    );
    let ascp = row(&status, "cr2");
    assert_eq!(
        ascp["counted"],
        serde_json::json!([{"course_id": "co2", "amount": 4.5, "capped": true}])
    );
    let table = ok(&d, &["status"]);
    assert!(
        table.contains("cr1 nha-cpt: at risk: behind pace: 7.9 expected by now")
            && table.contains("cr1 nha-cpt: co1 not counted: 2016-11-20 is outside the window"),
        "{table}"
    );

    // The same course twice is refused unless asked for.
    let order = [
        "course",
        "log",
        "Order of Draw",
        "--credits",
        "1.5",
        "--date",
        "2026-10-14",
    ];
    ok(&d, &order);
    let why = refused(&d, &order);
    assert!(
        why.contains("looks like co3 (same title, date and amount)")
            && why.contains("--allow-duplicate"),
        "{why}"
    );
    let mut again = order.to_vec();
    again.push("--allow-duplicate");
    assert!(ok(&d, &again).starts_with("Logged course co4"));

    // Removing a credential that a course is pinned to says what changes, and needs --force.
    let why = refused(&d, &["cert", "remove", "cr2"]);
    assert!(
        why.contains("co2 (then counts toward every eligible credential)")
            && why.contains("--force"),
        "{why}"
    );
    assert_eq!(d.json(&["cert", "list"]).as_array().unwrap().len(), 2);
    let removed = ok(&d, &["cert", "remove", "cr2", "--force"]);
    assert!(removed.contains("co2"), "{removed}");
}

/// Trial 2.5: `cert edit --expires` back onto the closed cycle left a past cycle identical
/// to the current one. It is refused, naming the flag and the closed cycle, and nothing
/// changes; `renew --undo` is the way back.
#[test]
fn editing_the_expiry_back_onto_a_closed_cycle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-12-01T15:00:00Z"));
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(
        &d,
        &[
            "cert",
            "add",
            "ca-cpt1",
            "--issued",
            "2024-11-21",
            "--expires",
            "2026-11-21",
        ],
    );
    ok(&d, &["cert", "renew", "cr1", "--force"]);
    let before = d.json(&["cert", "show", "cr1"]);
    // The trial's workaround: both dates back to the closed cycle's.
    let err = refused(
        &d,
        &[
            "cert",
            "edit",
            "cr1",
            "--issued",
            "2024-11-21",
            "--expires",
            "2026-11-21",
        ],
    );
    assert!(
        err.starts_with("error: --expires (2026-11-21) must be after 2026-11-21, the end of the cycle closed on 2026-12-01"),
        "{err}"
    );
    assert!(!err.contains("credential.expires_on"), "{err}");
    assert_eq!(d.json(&["cert", "show", "cr1"]), before, "nothing changed");
    // A later expiry is still an edit.
    ok(&d, &["cert", "edit", "cr1", "--expires", "2028-12-01"]);
    let after = d.json(&["cert", "show", "cr1"]);
    assert_eq!(after["expires_on"], "2028-12-01");
    assert_eq!(after["past_cycles"], before["past_cycles"]);
}

/// The answer sends each counted id once (`counted` for CE, `counted_work_ids` for work
/// hours): the CLI still lists the work hours a met alternative counted among
/// `counted_course_ids`, after the CE courses, and not under `counted`.
#[test]
fn work_hours_counted_toward_a_met_alternative_are_listed_as_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2025-12-01T18:00:00Z"));
    ok(&d, &["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    ok(&d, &["cert", "add", "nhco-cpt", "--expires", "2027-01-01"]);
    ok(
        &d,
        &[
            "course",
            "log",
            "Safety update",
            "--credits",
            "12",
            "--date",
            "2025-01-15",
        ],
    );
    // At most 200 hours per entry: one entry a month.
    let work = |month: u32| {
        let (title, date) = (
            format!("Clinic hours {month}"),
            format!("2025-{month:02}-01"),
        );
        ok(
            &d,
            &[
                "course",
                "log",
                &title,
                "--credits",
                "200",
                "--date",
                &date,
                "--category",
                "work-hours",
            ],
        );
    };
    (2..=7).for_each(work);
    let short = d.json(&["status"]);
    let cr1 = row(&short, "cr1");
    // 1200 work hours of 2080: the alternative is not met, so only the CE course counts.
    assert_eq!(
        cr1["counted_course_ids"],
        serde_json::json!(["co1"]),
        "{cr1:#}"
    );
    (8..=12).for_each(work);
    let met = d.json(&["status"]);
    let cr1 = row(&met, "cr1");
    assert_eq!(cr1["status"], "met", "{cr1:#}");
    let ids: Vec<String> = (1..=12).map(|i| format!("co{i}")).collect();
    assert_eq!(cr1["counted_course_ids"], serde_json::json!(ids), "{cr1:#}");
    let counted: Vec<&Value> = cr1["counted"].as_array().unwrap().iter().collect();
    assert_eq!(counted.len(), 1, "{cr1:#}");
    assert_eq!(counted[0]["course_id"], "co1", "{cr1:#}");
}
