//! The supervisor's board through the real binaries: `recert team status` for a team of six
//! with mixed credentials (an expired California licence, one in grace, one at risk close to
//! expiry, one behind pace, one short in a category, one met), the filters, CSV, who may ask,
//! and `deadlines` listing lapsed credentials first. Runs on either engine.

use recert_tests::Daemon;
use serde_json::Value;

/// 2026-11-24, 09:00 in Chicago: every member's today is 2026-11-24.
const NOW: &str = "2026-11-24T15:00:00Z";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds `name` with one credential and, when `hours` is given, one course of that many hours.
fn member(d: &Daemon, name: &str, program: &str, expires: &str, course: Option<(&str, &str)>) {
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
    if let Some((hours, date)) = course {
        d.json(&[
            "--holder",
            name,
            "course",
            "log",
            "In-service",
            "--credits",
            hours,
            "--date",
            date,
            "--accreditation",
            "P.A.C.E.",
        ]);
    }
}

/// The team of six (the user trial's, Part 3), a lead, and one holder outside the team.
fn team(d: &Daemon) {
    d.json(&["holder", "add", "Lena Ortiz", "--tz", "America/Chicago"]);
    // 20 days left, 6 of 10 NHA credits (12 hours): at risk, close to expiry.
    member(
        d,
        "Aisha Khan",
        "nha-cpt",
        "2026-12-14",
        Some(("12", "2026-06-01")),
    );
    // 426 days left, 9 of 9 points but none in safety: short in a category.
    member(
        d,
        "Ben Okafor",
        "ascp-pbt",
        "2028-01-24",
        Some(("9", "2026-03-01")),
    );
    // California CPT I lapsed 10 days ago (no grace), 2 of 6 contact hours.
    member(
        d,
        "Carmen Diaz",
        "ca-cpt1",
        "2026-11-14",
        Some(("2", "2026-02-01")),
    );
    // AAMA CMA expired 20 days ago: inside its 89-day grace.
    member(d, "Dev Patel", "aama-cma", "2026-11-04", None);
    // AMT RPT, 24 of 24 points: met.
    member(
        d,
        "Emily Chen",
        "amt-rpt",
        "2027-06-30",
        Some(("24", "2026-05-01")),
    );
    // 99 days left, 2.5 of 10 NHA credits: behind pace.
    member(
        d,
        "Farah Ali",
        "nha-cpt",
        "2027-03-03",
        Some(("5", "2026-01-10")),
    );
    // Not on the team: lapsed too, but not the team's.
    member(d, "Gus Moreau", "nha-cpt", "2026-10-01", None);

    d.json(&["team", "add", "Draw station"]);
    for name in [
        "Aisha Khan",
        "Ben Okafor",
        "Carmen Diaz",
        "Dev Patel",
        "Emily Chen",
        "Farah Ali",
    ] {
        d.json(&["team", "add-member", "Draw station", name]);
    }
    d.json(&["team", "add-lead", "draw station", "Lena Ortiz"]);
    d.json(&["team", "add", "Night shift"]);
    d.json(&["team", "add-member", "Night shift", "Gus Moreau"]);
}

/// (name, program, status, days left) of each row, in order.
fn summary(rows: &Value) -> Vec<(String, String, String, i64)> {
    rows.as_array()
        .expect("an array of rows")
        .iter()
        .map(|r| {
            (
                r["holder_name"].as_str().unwrap_or_default().to_owned(),
                r["program"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["days_left"].as_i64().unwrap_or(i64::MIN),
            )
        })
        .collect()
}

fn row(name: &str, program: &str, status: &str, days: i64) -> (String, String, String, i64) {
    (name.into(), program.into(), status.into(), days)
}

#[test]
fn team_status_lists_the_team_worst_first_by_the_published_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    team(&d);

    let rows = d.json(&["team", "status", "Draw station"]);
    assert_eq!(
        summary(&rows),
        vec![
            row("Carmen Diaz", "ca-cpt1", "expired", -10),
            row("Dev Patel", "aama-cma", "in_grace", -20),
            row("Aisha Khan", "nha-cpt", "at_risk", 20),
            row("Farah Ali", "nha-cpt", "at_risk", 99),
            row("Ben Okafor", "ascp-pbt", "on_track", 426),
            row("Emily Chen", "amt-rpt", "met", 218),
        ],
        "{rows:#}"
    );
    let by = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["holder_name"] == name)
            .unwrap_or_else(|| panic!("no row for {name}"))
            .clone()
    };
    // California: 6 contact hours, 2 earned; the reason names the lapse.
    let carmen = by("Carmen Diaz");
    assert_eq!(carmen["required"], 6, "{carmen:#}");
    assert_eq!(carmen["earned"], 2, "{carmen:#}");
    assert_eq!(carmen["remaining"], 4, "{carmen:#}");
    assert_eq!(carmen["expires_on"], "2026-11-14", "{carmen:#}");
    assert!(
        carmen["status_reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{carmen:#}"
    );
    // NHA: 12 hours are 6 of 10 credits.
    let aisha = by("Aisha Khan");
    assert_eq!(
        (&aisha["required"], &aisha["earned"], &aisha["remaining"]),
        (&Value::from(10), &Value::from(6), &Value::from(4)),
        "{aisha:#}"
    );
    // ASCP: 9 of 9 points, and still 1 needed, in safety.
    let ben = by("Ben Okafor");
    assert_eq!(ben["earned"], 9, "{ben:#}");
    assert_eq!(ben["remaining"], 1, "{ben:#}");
    let safety = ben["categories"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["category"] == "safety"))
        .unwrap_or_else(|| panic!("no safety category: {ben:#}"));
    assert_eq!(
        (&safety["required"], &safety["earned"]),
        (&Value::from(1), &Value::from(0))
    );
    assert!(ben["status_reason"].is_null(), "{ben:#}");
    let emily = by("Emily Chen");
    assert_eq!(emily["remaining"], 0, "{emily:#}");
    for r in rows.as_array().unwrap() {
        for field in [
            "holder_id",
            "credential_id",
            "program",
            "expires_on",
            "days_left",
            "required",
            "earned",
            "remaining",
            "categories",
            "status",
        ] {
            assert!(r.get(field).is_some(), "{field} missing in {r:#}");
        }
    }

    // The table: expired first, by name, the short category shown, reasons below.
    let out = d.cli(&["team", "status", "tm1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("Draw station") || lines[0].contains("tm1"),
        "{text}"
    );
    assert!(lines[1].starts_with("NAME"), "{text}");
    assert!(
        lines[2].starts_with("Carmen Diaz") && lines[2].ends_with("expired"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("Dev Patel") && lines[3].ends_with("in grace"),
        "{text}"
    );
    let ben_line = lines.iter().find(|l| l.starts_with("Ben Okafor")).unwrap();
    assert!(ben_line.contains("safety 0/1"), "{text}");
    assert!(!text.contains("Gus Moreau"), "{text}");
    assert!(text.contains("ca-cpt1 (Carmen Diaz): expired:"), "{text}");

    // Filters: statuses (with the "lapsed" alias), program, within.
    let lapsed = d.json(&[
        "team",
        "status",
        "draw station",
        "--status",
        "lapsed,in_grace",
    ]);
    assert_eq!(
        summary(&lapsed),
        vec![
            row("Carmen Diaz", "ca-cpt1", "expired", -10),
            row("Dev Patel", "aama-cma", "in_grace", -20),
        ]
    );
    let nha = d.json(&["team", "status", "Draw station", "--program", "NHA-CPT"]);
    assert_eq!(
        summary(&nha),
        vec![
            row("Aisha Khan", "nha-cpt", "at_risk", 20),
            row("Farah Ali", "nha-cpt", "at_risk", 99),
        ]
    );
    let soon = d.json(&["team", "status", "Draw station", "--within", "60d"]);
    assert_eq!(summary(&soon).len(), 3, "{soon:#}");
    let at_risk = d.json(&[
        "team",
        "status",
        "Draw station",
        "--status",
        "at_risk",
        "--within",
        "30d",
    ]);
    assert_eq!(
        summary(&at_risk),
        vec![row("Aisha Khan", "nha-cpt", "at_risk", 20)]
    );

    // CSV: a header, then the same rows in the same order.
    let out = d.cli(&["team", "status", "Draw station", "--csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("holder_id,holder_name,credential_id,program")),
        "{csv}"
    );
    let first = lines.next().unwrap_or_default();
    assert!(
        first.contains("Carmen Diaz,") && first.contains(",expired,"),
        "{csv}"
    );
    let ben_csv = csv.lines().find(|l| l.contains("Ben Okafor")).unwrap();
    assert!(ben_csv.contains(",safety 0/1,"), "{csv}");
    assert_eq!(csv.lines().count(), 7, "{csv}");

    // Without a team, an admin sees every holder: Gus too, expired first.
    let all = d.json(&["team", "status", "--status", "expired"]);
    assert_eq!(
        summary(&all),
        vec![
            row("Gus Moreau", "nha-cpt", "expired", -54),
            row("Carmen Diaz", "ca-cpt1", "expired", -10),
        ]
    );

    // Bad input: an unknown team, program or status names what was typed; nothing printed.
    let out = d.cli(&["team", "status", "Day shift"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Day shift"), "{}", stderr(&out));
    let out = d.cli(&["team", "status", "Draw station", "--program", "nha-cpx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nha-cpx"), "{}", stderr(&out));
    let out = d.cli(&["team", "status", "--status", "late"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--status"), "{}", stderr(&out));
}

#[test]
fn team_status_is_for_admins_and_the_team_leads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    team(&d);
    let token = |role: &str, holder: &str| {
        d.json(&["--holder", holder, "token", "create", "--role", role])["token"]
            .as_str()
            .expect("a secret")
            .to_owned()
    };
    let lead = token("supervisor", "Lena Ortiz");
    // The lead: by team name, and without one (every team they lead).
    let rows = d.json_as(&lead, &["team", "status", "Draw station"]);
    assert_eq!(summary(&rows).len(), 6);
    let rows = d.json_as(&lead, &["team", "status"]);
    assert_eq!(summary(&rows).len(), 6);
    assert!(!rows.to_string().contains("Gus Moreau"));
    // Another team: not theirs to see, worded as an absent team.
    let out = d.cli_as(Some(&lead), &["team", "status", "Night shift"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let out = d.cli_as(Some(&lead), &["team", "status", "tm2"]);
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // A member's holder token: the team is theirs to see, its board is not.
    let aisha = token("holder", "Aisha Khan");
    for args in [
        &["team", "status", "Draw station"][..],
        &["team", "status"][..],
    ] {
        let out = d.cli_as(Some(&aisha), args);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stderr(&out).contains("supervisor"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    // A supervisor who leads nothing sees an empty board, not another team's.
    let gus = token("supervisor", "Gus Moreau");
    let out = d.cli_as(Some(&gus), &["team", "status", "Night shift"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("leads"), "{}", stderr(&out));
    let rows = d.json_as(&gus, &["team", "status"]);
    assert_eq!(rows, Value::Array(Vec::new()));
}

#[test]
fn deadlines_list_lapsed_credentials_first_and_holders_take_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    team(&d);
    let rows = d.json(&["deadlines", "--within", "30d"]);
    let seen: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["holder_name"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("Gus Moreau".to_owned(), "expired".to_owned()),
            ("Dev Patel".to_owned(), "in_grace".to_owned()),
            ("Carmen Diaz".to_owned(), "expired".to_owned()),
            ("Aisha Khan".to_owned(), "at_risk".to_owned()),
        ],
        "{rows:#}"
    );
    let out = d.cli(&["deadlines", "--within", "30d"]);
    let text = stdout(&out);
    assert!(text.contains("Lapsed:"), "{text}");
    assert!(text.contains("Carmen Diaz"), "{text}");

    // --holder takes a name (case ignored); an unknown or shared name is refused, naming it.
    let mine = d.json(&["--holder", "carmen diaz", "status"]);
    assert_eq!(mine[0]["program"], "ca-cpt1", "{mine:#}");
    let out = d.cli(&["--holder", "Nobody Here", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--holder \"Nobody Here\""),
        "{}",
        stderr(&out)
    );
    d.json(&["holder", "add", "Ben Okafor", "--tz", "America/Chicago"]);
    let out = d.cli(&["--holder", "Ben Okafor", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give the holder id"),
        "{}",
        stderr(&out)
    );
}
