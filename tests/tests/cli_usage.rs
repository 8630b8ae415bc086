//! The command line a person expects (user trial, findings 2.6, 2.13, 2.14, 2.17, 2.20, 3.4
//! and 1.2): clap's hints on usage errors, forgiving names with suggestions, errors in the
//! words the user typed, right plurals, tables that say whose they are, help pages.

use std::process::{Command, Output};

use recert_tests::{Daemon, binary};
use serde_json::Value;

/// 2026-11-24, 09:00 in Chicago.
const NOW: &str = "2026-11-24T15:00:00Z";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `recert ARGS` against a loopback port where nothing listens: usage errors come first.
fn offline(args: &[&str]) -> Output {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    Command::new(binary("recert"))
        .args(["--server", &url])
        .args(args)
        .env_remove("RECERT_HOLDER")
        .env_remove("RECERT_OUTPUT")
        .output()
        .unwrap()
}

/// Runs `args`, asserts success and returns stdout.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.cli(args);
    assert!(out.status.success(), "recert {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs `args`, asserts exit code `code` and nothing on stdout, and returns stderr.
fn fails(d: &Daemon, args: &[&str], code: i32) -> String {
    let out = d.cli(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "recert {args:?}: {}",
        stderr(&out)
    );
    assert!(
        out.stdout.is_empty(),
        "recert {args:?} printed {}",
        stdout(&out)
    );
    stderr(&out)
}

/// Dana (h1, the default holder) with NHA CPT and California CPT I.
fn dana(d: &Daemon) {
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", "2027-04-24"]);
    d.json(&["cert", "add", "ca-cpt1", "--expires", "2027-08-31"]);
}

#[test]
fn usage_errors_keep_clap_hints_and_exit_2() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["course", "edit", "co4"],
            &[
                "required arguments were not provided",
                "--title",
                "--credits <N>",
            ],
        ),
        (
            &["program", "add", "nha-cpt", "--unit-hours", "1"],
            &[
                "--body <B>",
                "--name <N>",
                "--cycle-months <M>",
                "--required <X>",
            ],
        ),
        (
            &["course", "log", "X", "--credits", "1", "--format", "Onlin"],
            &[
                "[possible values: live, online, home-study, academic]",
                "tip: a similar value exists: 'online'",
            ],
        ),
        (
            &["course", "log", "X", "--credit", "1"],
            &["tip: a similar argument exists: '--credits'"],
        ),
        (
            &["cours", "list"],
            &["tip: a similar subcommand exists: 'course'"],
        ),
        (
            &["course", "log", "X", "--credits", "-1"],
            &["invalid value '-1' for '--credits <N>': must be positive"],
        ),
    ];
    for (args, needles) in cases {
        let out = offline(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("cannot reach"), "{args:?}: {err}");
        for needle in *needles {
            assert!(
                err.contains(needle),
                "{args:?}: {needle:?} missing in\n{err}"
            );
        }
    }
}

#[test]
fn help_pages_say_what_a_person_needs_once() {
    let help = |args: &[&str]| {
        let out = offline(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let root = help(&["--help"]);
    assert!(root.contains("--server <URL>"), "{root}");
    assert!(root.contains("client/JSON.md"), "{root}");

    let log = help(&["course", "log", "--help"]);
    assert!(!log.contains("--server <URL>"), "{log}");
    assert!(!log.contains("--version"), "{log}");
    assert!(log.contains("Global options (--server URL"), "{log}");
    for rate in [
        "1 CEU = 10 contact hours",
        "1 point = 1 contact hour",
        "1 credit = 2 contact hours",
        "1 semester hour = 15 contact hours",
    ] {
        assert!(log.contains(rate), "{rate} missing in {log}");
    }
    let edit = help(&["course", "edit", "--help"]);
    let usage = edit.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert!(usage.len() < 100, "{usage}");
    assert!(help(&["cert", "add", "--help"]).contains("recert program list"));
    assert!(help(&["notify", "add", "email", "--help"]).contains("--smtp-url"));
    assert!(help(&["deadlines", "--help"]).contains("1y"));
    assert!(!help(&["holder", "add", "--help"]).contains("E-mail address for alerts"));
}

#[test]
fn global_options_still_work_after_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    dana(&d);
    d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    d.json(&[
        "cert",
        "add",
        "ascp-pbt",
        "--expires",
        "2028-06-30",
        "--holder",
        "h2",
    ]);
    let certs = d.json(&["cert", "list", "--holder", "h2"]);
    assert_eq!(certs.as_array().unwrap().len(), 1, "{certs:#}");
    assert_eq!(certs[0]["holder_id"], "h2");
}

#[test]
fn units_formats_and_slugs_ignore_case_and_near_misses_suggest() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);

    let course = |unit: &str, format: &str| {
        d.json(&[
            "course",
            "log",
            "Venipuncture",
            "--credits",
            "1",
            "--date",
            "2026-02-10",
            "--unit",
            unit,
            "--format",
            format,
        ])
    };
    let ceu = course("CEU", "Online");
    assert_eq!(
        (&ceu["unit"], &ceu["format"]),
        (&"ceu".into(), &"online".into())
    );
    assert_eq!(course("hour", "LIVE")["unit"], "hours");
    assert_eq!(
        course("Semester-Hours", "home-study")["unit"],
        "semester-hour"
    );

    let nha = d.json(&["cert", "add", "NHA-CPT", "--expires", "2027-04-24"]);
    assert_eq!(nha["program"], "nha-cpt");
    let ca = d.json(&["cert", "add", "ca_cpt1", "--expires", "2027-08-31"]);
    assert_eq!(ca["program"], "ca-cpt1");
    assert_eq!(d.json(&["program", "show", "ASCP-PBT"])["slug"], "ascp-pbt");

    let err = fails(
        &d,
        &["cert", "add", "nha-cpy", "--expires", "2027-01-01"],
        1,
    );
    assert!(err.contains("did you mean nha-cpt?"), "{err}");
    assert!(err.contains("recert program list"), "{err}");
    // "ascp" alone is as near ascp-dpt and ascp-mla as ascp-pbt since the catalog has them.
    let err = fails(&d, &["program", "show", "ascp-p"], 1);
    assert!(err.contains("did you mean ascp-pbt?"), "{err}");

    let err = fails(
        &d,
        &["course", "log", "X", "--credits", "1", "--for", "ca-cpt"],
        1,
    );
    assert!(err.contains("did you mean ca-cpt1 (cr2)?"), "{err}");
    let pinned = d.json(&["course", "log", "X", "--credits", "1", "--for", "CA-CPT1"]);
    assert_eq!(pinned["credential_ids"], serde_json::json!(["cr2"]));
    let thresholds = d.json(&["alerts", "thresholds", "--program", "NHA_CPT"]);
    assert_eq!(thresholds["id"], "nha-cpt");
}

#[test]
fn errors_name_the_flag_the_user_typed() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    dana(&d);
    d.json(&[
        "course",
        "log",
        "A",
        "--credits",
        "1",
        "--date",
        "2026-01-10",
    ]);
    d.json(&[
        "course",
        "log",
        "B",
        "--credits",
        "2",
        "--date",
        "2026-01-11",
    ]);

    let cases: &[(&[&str], &str, &[&str])] = &[
        (
            &[
                "course",
                "log",
                "Future",
                "--credits",
                "1",
                "--date",
                "2027-01-15",
            ],
            "--date (2027-01-15) is in the future",
            &["completed_on"],
        ),
        (
            &["course", "log", "  ", "--credits", "1"],
            "the title must not be empty",
            &["course.title"],
        ),
        (
            &[
                "cert",
                "add",
                "amt-rpt",
                "--expires",
                "2029-05-01",
                "--issued",
                "2030-01-01",
            ],
            "--expires (2029-05-01) must be after --issued (2030-01-01)",
            &["expires_on", "issued_on"],
        ),
        (
            // --holder takes a name too; one nobody has is named as typed.
            &["--holder", "aisha", "status"],
            "--holder \"aisha\": no holder has that name or id",
            &["holder_id"],
        ),
        (
            &["holder", "remove", "h1"],
            "holder h1 has 2 credentials and 2 courses; remove them first, or use --force",
            &["(s)", "use force"],
        ),
    ];
    for (args, expected, leaked) in cases {
        let err = fails(&d, args, 1);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        for name in *leaked {
            assert!(!err.contains(name), "{args:?}: {err}");
        }
    }
}

#[test]
fn amounts_have_the_right_plurals_and_tables_say_whose_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    dana(&d);
    d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    d.json(&[
        "cert",
        "add",
        "ascp-pbt",
        "--expires",
        "2028-06-30",
        "--holder",
        "h2",
    ]);

    let program = ok(&d, &["program", "show", "nha-cpt"]);
    assert!(program.contains("10 NHA CE credits per cycle"), "{program}");
    let program = ok(&d, &["program", "show", "ascp-pbt"]);
    assert!(program.contains("9 points per cycle"), "{program}");

    let logged = ok(
        &d,
        &[
            "course",
            "log",
            "Biology",
            "--credits",
            "1",
            "--unit",
            "semester-hour",
            "--date",
            "2026-01-15",
        ],
    );
    assert!(logged.contains("1 semester hour on 2026-01-15"), "{logged}");
    let logged = ok(
        &d,
        &[
            "course",
            "log",
            "Draw",
            "--credits",
            "1",
            "--date",
            "2026-01-16",
        ],
    );
    assert!(logged.contains("Draw, 1 hour on"), "{logged}");
    let show = ok(&d, &["course", "show", "co2"]);
    assert!(
        show.contains("Credits:") && show.contains("1 hour\n"),
        "{show}"
    );

    let status = ok(&d, &["status"]);
    assert!(
        status.starts_with("Status of Dana Reyes (h1) on 2026-11-24\n"),
        "{status}"
    );
    assert!(status.contains("NHA CE credits"), "{status}");
    let status = ok(&d, &["--holder", "h2", "status"]);
    assert!(status.starts_with("Status of Ben Okafor (h2)"), "{status}");
    assert!(ok(&d, &["cert", "list"]).starts_with("Credentials of Dana Reyes (h1)\n"));
    assert!(ok(&d, &["course", "list"]).starts_with("Courses of Dana Reyes (h1)\n"));
    let channels = ok(&d, &["--holder", "h2", "notify", "list"]);
    assert!(
        channels.starts_with("Ben Okafor (h2) has no alert channels"),
        "{channels}"
    );
    // Scripts see the same JSON as before: no header.
    assert!(d.json(&["status"]).is_array());
}

#[test]
fn course_list_is_by_date_with_provider_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    for (title, date) in [
        ("Late", "2026-06-01"),
        ("Early", "2025-12-01"),
        ("Mid", "2026-02-01"),
    ] {
        d.json(&[
            "course",
            "log",
            title,
            "--credits",
            "1",
            "--date",
            date,
            "--provider",
            "County Hospital",
            "--format",
            "live",
        ]);
    }
    let table = ok(&d, &["course", "list"]);
    let rows: Vec<&str> = table.lines().skip(2).collect();
    let titles: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(titles, ["Early", "Mid", "Late"], "{table}");
    let header = table.lines().nth(1).unwrap();
    assert!(
        header.contains("PROVIDER") && header.contains("FORMAT"),
        "{table}"
    );
    assert!(
        rows[0].contains("County Hospital") && rows[0].contains("live"),
        "{table}"
    );
}

#[test]
fn evidence_must_exist_and_is_kept_as_an_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    let certificate = dir.path().join("order-of-draw.pdf");
    std::fs::write(&certificate, b"%PDF-1.4").unwrap();

    let missing = d.cli(&[
        "course",
        "log",
        "X",
        "--credits",
        "1",
        "--evidence",
        "certs/nowhere.pdf",
    ]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("certs/nowhere.pdf"),
        "{}",
        stderr(&missing)
    );

    let out = Command::new(binary("recert"))
        .current_dir(dir.path())
        .env("RECERT_TOKEN", d.admin_token())
        .args([
            "--server",
            &d.url,
            "-o",
            "json",
            "course",
            "log",
            "X",
            "--credits",
            "1",
        ])
        .args(["--evidence", "order-of-draw.pdf"])
        .env_remove("RECERT_HOLDER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let course: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored = std::path::PathBuf::from(course["evidence"].as_str().unwrap());
    assert!(stored.is_absolute(), "{stored:?}");
    assert_eq!(stored, certificate.canonicalize().unwrap());
    let url = d.json(&[
        "course",
        "log",
        "Y",
        "--credits",
        "1",
        "--evidence",
        "https://example.org/c.pdf",
    ]);
    assert_eq!(url["evidence"], "https://example.org/c.pdf");
}

#[test]
fn removing_a_credential_says_which_courses_it_unpins() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    dana(&d);
    d.json(&["course", "log", "Pinned", "--credits", "1", "--for", "cr2"]);
    d.json(&["course", "log", "Loose", "--credits", "1"]);
    // Refused first, saying what would change (trial 2.20: it silently unpinned them).
    let refused = d.cli(&["cert", "remove", "cr2"]);
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains(
            "1 course is pinned to cr2: co1 (then counts toward every eligible credential)"
        ) && why.contains("remove anyway with --force"),
        "{why}"
    );
    let out = ok(&d, &["cert", "remove", "cr2", "--force"]);
    assert!(
        out.starts_with("Removed credential cr2 (ca-cpt1)\n"),
        "{out}"
    );
    assert!(
        out.contains("The course co1 was pinned to it and now counts toward every eligible"),
        "{out}"
    );
    assert!(!out.contains("co2"), "{out}");
}

#[test]
fn import_takes_the_file_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    let a = Daemon::start(&dir.path().join("a"), Some(NOW));
    dana(&a);
    let dump = dir.path().join("dump.jsonl");
    ok(&a, &["export", "--file", dump.to_str().unwrap()]);

    let b = Daemon::start(&dir.path().join("b"), Some(NOW));
    let imported = ok(&b, &["import", dump.to_str().unwrap()]);
    assert!(imported.starts_with("Imported "), "{imported}");
    assert_eq!(b.json(&["cert", "list"]).as_array().unwrap().len(), 2);
    let path = dump.to_str().unwrap();
    let both = fails(&b, &["import", path, "--file", path], 2);
    assert!(both.contains("cannot be used with"), "{both}");
}

#[test]
fn the_daemon_log_has_no_colour_codes_when_stderr_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let log = d.log();
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}

/// Trial 2.10: `course list`'s FOR column said "any" or the pin, never what the course
/// counts toward; the 45-hour A&P course became 4.5 ASCP points with nothing saying so.
#[test]
fn course_list_says_what_each_course_counts_toward_after_caps() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    dana(&d);
    d.json(&["cert", "add", "ascp-pbt", "--expires", "2028-06-30"]);
    let log = |args: &[&str]| {
        let mut all = vec!["course", "log"];
        all.extend_from_slice(args);
        d.json(&all)["id"].as_str().unwrap().to_string()
    };
    let anatomy = log(&[
        "A and P",
        "--credits",
        "3",
        "--unit",
        "semester-hour",
        "--format",
        "academic",
        "--date",
        "2026-01-10",
    ]);
    let old = log(&["Old", "--credits", "1", "--date", "2016-11-20"]);
    let table = ok(&d, &["course", "list"]);
    assert!(
        table.lines().nth(1).unwrap().contains("COUNTS TOWARD"),
        "{table}"
    );
    let row = |id: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no {id} in {table}"))
            .to_string()
    };
    assert!(row(&anatomy).contains("(capped)"), "{table}");
    assert!(row(&old).trim_end().ends_with("nothing"), "{table}");
}
