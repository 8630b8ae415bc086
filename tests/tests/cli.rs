//! The `recert` binary against the real `recertd`: a first session as the README tells it, the
//! numbers of the published rules, restarts, and the errors a user sees.

use recert_tests::Daemon;
use serde_json::Value;

/// 2026-11-24, 09:00 in Chicago.
const NOW: &str = "2026-11-24T15:00:00Z";

fn find<'a>(rows: &'a Value, program: &str) -> &'a Value {
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|r| r["program"] == program)
        .unwrap_or_else(|| panic!("no row for {program} in {rows:#}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Dana holds NHA CPT (expiring in 5 months) and PBT(ASCP), and logs four courses.
fn first_session(d: &Daemon) {
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    d.json(&[
        "cert",
        "add",
        "nha-cpt",
        "--expires",
        "2027-04-24",
        "--number",
        "CPT-1",
    ]);
    d.json(&["cert", "add", "ascp-pbt", "--expires", "2028-06-30"]);
    // Counts for both credentials.
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
    ]);
    d.json(&[
        "course",
        "log",
        "Pediatric collection",
        "--credits",
        "2",
        "--date",
        "2025-11-01",
        "--format",
        "live",
    ]);
    // Academic: 1 semester hour = 15 points, capped at 50% of 9 points; pinned to ASCP.
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
    // 0.5 CEU = 5 hours, inside NHA's window (from 2025-04-24) but before ASCP's (from 2025-06-30).
    d.json(&[
        "course",
        "log",
        "Specimen handling",
        "--credits",
        "0.5",
        "--unit",
        "ceu",
        "--date",
        "2025-05-01",
    ]);
}

#[test]
fn first_session_matches_the_published_rules() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    first_session(&d);

    let status = d.json(&["status"]);
    let nha = find(&status, "nha-cpt");
    // 3 + 2 + 5 contact hours = 10 hours = 5 NHA credits (2 hours each) of 10.
    assert_eq!(nha["required"], 10);
    assert_eq!(nha["earned"], 5);
    assert_eq!(nha["remaining"], 5);
    assert_eq!(nha["days_left"], 151);
    assert_eq!(nha["expires_on"], "2027-04-24");
    assert_eq!(nha["window_start"], "2025-04-24");
    assert_eq!(
        nha["status"], "at_risk",
        "7.5 < 10 x 579/730 days: behind pace"
    );
    assert_eq!(nha["caution"], "verify with NHA");

    let pbt = find(&status, "ascp-pbt");
    // 3 + 2 + min(15, 4.5) = 9.5 points: the total is met, the safety point is not.
    assert_eq!(pbt["required"], 9);
    assert_eq!(pbt["earned"], 9.5);
    assert_eq!(pbt["remaining"], 1);
    assert_eq!(pbt["status"], "on_track");
    assert_eq!(pbt["categories"][0]["category"], "safety");
    assert_eq!(pbt["categories"][0]["required"], 1);
    assert_eq!(pbt["categories"][0]["earned"], 0);

    // A safety course closes the ASCP shortfall and counts toward NHA too. Without --date
    // it is dated by the daemon's clock in the holder's zone, not this computer's date.
    let sharps = d.json(&[
        "course",
        "log",
        "Sharps safety",
        "--credits",
        "1",
        "--category",
        "Safety",
    ]);
    assert_eq!(sharps["completed_on"], "2026-11-24");
    let status = d.json(&["status"]);
    assert_eq!(find(&status, "ascp-pbt")["status"], "met");
    assert_eq!(find(&status, "ascp-pbt")["remaining"], 0);
    assert_eq!(find(&status, "nha-cpt")["earned"], 5.5);

    // The table shows the same, without colour when piped.
    let out = d.cli(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let pbt_row = table
        .lines()
        .find(|l| l.contains("ascp-pbt"))
        .unwrap_or_default();
    assert!(
        pbt_row.contains("10.5") && pbt_row.contains("safety 1/1") && pbt_row.contains("met"),
        "{table}"
    );
    assert!(
        !table.contains('\u{1b}'),
        "no colour codes when piped: {table:?}"
    );

    // Deadlines across holders, soonest first.
    let deadlines = d.json(&["deadlines", "--within", "900d"]);
    let programs: Vec<&str> = deadlines
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["program"].as_str().unwrap())
        .collect();
    assert_eq!(programs, ["nha-cpt", "ascp-pbt"]);
    let soon = d.json(&["deadlines", "--within", "90d"]);
    assert_eq!(soon.as_array().unwrap().len(), 0, "{soon:#}");
}

#[test]
fn answers_are_the_same_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&dir.path().join("data"), Some(NOW));
    first_session(&d);
    let before = (
        d.json(&["status"]),
        d.json(&["course", "list"]),
        d.json(&["cert", "list"]),
    );
    d.restart();
    let after = (
        d.json(&["status"]),
        d.json(&["course", "list"]),
        d.json(&["cert", "list"]),
    );
    assert_eq!(before, after);
    assert_eq!(after.1.as_array().unwrap().len(), 4);
}

#[test]
fn lists_follow_every_page_unless_limited() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes"]);
    for i in 0..120 {
        d.json(&[
            "course",
            "log",
            &format!("Course {i}"),
            "--credits",
            "0.25",
            "--date",
            "2026-01-01",
        ]);
    }
    let all = d.json(&["course", "list"]);
    let titles: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 120);
    assert_eq!(titles[119], "Course 119");
    let some = d.json(&["course", "list", "--limit", "7"]);
    assert_eq!(some.as_array().unwrap().len(), 7);
}

#[test]
fn bad_input_gets_one_clear_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));

    let out = d.cli(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("recert holder add"),
        "{}",
        stderr(&out)
    );

    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", "2027-04-24"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "course",
                "log",
                "Future",
                "--credits",
                "1",
                "--date",
                "2026-12-01",
            ],
            "--date",
        ),
        (
            &["course", "log", "Huge", "--credits", "30", "--unit", "ceu"],
            "credits",
        ),
        (&["course", "log", "  ", "--credits", "1"], "title"),
        (
            &["course", "log", "X", "--credits", "1", "--for", "cr99"],
            "cr99",
        ),
        (
            &["cert", "add", "no-such-program", "--expires", "2027-01-01"],
            "no-such-program",
        ),
        (
            &[
                "cert",
                "add",
                "amt-rpt",
                "--expires",
                "2027-01-01",
                "--issued",
                "2027-06-01",
            ],
            "--expires",
        ),
        (
            &["cert", "add", "nha-cpt", "--expires", "2029-01-01"],
            "already holds nha-cpt",
        ),
        (
            &["holder", "add", "Lee", "--tz", "Mars/Olympus"],
            "Mars/Olympus",
        ),
        (
            &["notify", "add", "webhook", "ftp://example.org/"],
            "the address \"ftp://example.org/\" is not an http(s) URL",
        ),
        (
            &["notify", "add", "webhook", "example.org"],
            "the address \"example.org\" is not an http(s) URL",
        ),
        (
            &["notify", "add", "webhook", "https://bob:pw@example.org/"],
            "contains a user name or password",
        ),
        (
            &["notify", "add", "email", "alice"],
            "the address \"alice\" is not an e-mail address",
        ),
    ];
    for (args, needle) in cases {
        let out = d.cli(args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} should fail");
        // A usage error (exit 2) is clap's: its error line, then its hints.
        let first = err.lines().next().unwrap_or_default();
        if out.status.code() != Some(2) {
            assert_eq!(
                err.trim_end().lines().count(),
                1,
                "{args:?}: one line, got {err:?}"
            );
        }
        assert!(
            first.starts_with("error: ") && first.contains(needle),
            "{args:?}: {err:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    assert_eq!(d.json(&["course", "list"]), Value::Array(vec![]));
    assert_eq!(d.json(&["cert", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(d.json(&["holder", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(d.json(&["notify", "list"]), Value::Array(vec![]));
}

#[test]
fn a_daemon_that_is_not_running_is_named_with_how_to_start_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = std::process::Command::new(recert_tests::binary("recert"))
        .args(["--server", &url, "status"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains(&format!("cannot reach recertd at {url}")) && err.contains("recertd"),
        "{err}"
    );
}
