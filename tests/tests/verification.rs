//! The verification log through the real daemon and CLI (issue 14, point 5): `cert verify`
//! records who checked a credential with its issuing body, when, where and what they saw;
//! `cert show`, `team status` and the HTML report show the last check, and a credential
//! renewed since (or never checked) is unverified. Who may record one (admin, the team's
//! lead; not the holder, not a lead for their own credential), another holder's credential
//! reads as absent, bad input names its flag and changes nothing, and the log survives
//! export and import.

use recert_tests::Daemon;
use serde_json::Value;
use std::process::Output;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Another holder's record reads as absent: "not found" from the server, or the CLI's
/// "no holder has that name or id" when `--holder` is resolved against the visible holders.
fn reads_as_absent(message: &str) -> bool {
    message.contains("not found") || message.contains("no holder has that name or id")
}

/// A lab on 2026-07-01: Mia (a member of Day lab, NHA CPT expiring 2026-12-31), Sam (its
/// lead, with a credential of his own), Oscar (on no team); a supervisor token for Sam named
/// "Sam at the bench", and holder tokens for Mia and Oscar.
struct Lab {
    d: Daemon,
    mia_cert: String,
    sam_cert: String,
    oscar_cert: String,
    supervisor: String,
    mia_token: String,
    oscar_token: String,
    _dir: tempfile::TempDir,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let holder = |name: &str| id(&d.json(&["holder", "add", name, "--tz", "UTC"]));
    let (mia, sam, oscar) = (
        holder("Mia Member"),
        holder("Sam Lead"),
        holder("Oscar Outside"),
    );
    let cert = |who: &str, program: &str| {
        id(&d.json(&[
            "--holder",
            who,
            "cert",
            "add",
            program,
            "--expires",
            "2026-12-31",
            "--number",
            "A-1",
        ]))
    };
    let (mia_cert, sam_cert, oscar_cert) = (
        cert(&mia, "nha-cpt"),
        cert(&sam, "nha-cpt"),
        cert(&oscar, "nha-cpt"),
    );
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add-member", "Day lab", &mia]);
    d.json(&["team", "add-lead", "Day lab", &sam]);
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        d.json(&all)["token"].as_str().unwrap().to_string()
    };
    let supervisor = token(&[
        "--role",
        "supervisor",
        "--holder",
        &sam,
        "--name",
        "Sam at the bench",
    ]);
    let mia_token = token(&["--role", "holder", "--holder", &mia]);
    let oscar_token = token(&["--role", "holder", "--holder", &oscar]);
    Lab {
        d,
        mia_cert,
        sam_cert,
        oscar_cert,
        supervisor,
        mia_token,
        oscar_token,
        _dir: dir,
    }
}

#[test]
fn a_check_shows_in_cert_show_team_status_and_the_report_until_a_renewal() {
    let lab = lab();
    let d = &lab.d;
    let cr = lab.mia_cert.as_str();

    // Never checked: unverified everywhere.
    let shown = d.json(&["cert", "show", cr]);
    assert_eq!(shown["last_verification"], Value::Null, "{shown}");
    assert_eq!(
        (shown["verified"].clone(), shown["unverified"].clone()),
        (false.into(), true.into())
    );
    let board = d.json_as(&lab.supervisor, &["team", "status", "Day lab"]);
    assert_eq!(board[0]["last_verified_on"], Value::Null, "{board}");
    assert_eq!(board[0]["unverified"], true);

    // The lead records what the NHA registry showed; --by defaults to the token's name.
    let verified = d.json_as(
        &lab.supervisor,
        &[
            "cert",
            "verify",
            cr,
            "--result",
            "active",
            "--source",
            "https://www.nhanow.com/verify",
            "--on",
            "2026-06-30",
        ],
    );
    assert_eq!(
        verified["last_verification"],
        serde_json::json!({
            "result": "active",
            "source": "https://www.nhanow.com/verify",
            "by": "Sam at the bench",
            "on": "2026-06-30",
            "cycle_expires_on": "2026-12-31",
        }),
        "{verified}"
    );
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["unverified"], false);
    let shown = d.json(&["cert", "show", cr]);
    assert_eq!(shown["last_verification"], verified["last_verification"]);
    assert_eq!(shown["verified"], true);
    let table = stdout(&d.cli(&["cert", "show", cr]));
    assert!(
        table.contains(
            "yes: active on 2026-06-30 by Sam at the bench (https://www.nhanow.com/verify)"
        ),
        "{table}"
    );
    let board = d.json_as(&lab.supervisor, &["team", "status", "Day lab"]);
    assert_eq!(board[0]["credential_id"], cr);
    assert_eq!(board[0]["last_verified_on"], "2026-06-30", "{board}");
    assert_eq!(board[0]["unverified"], false);
    let table = stdout(&d.cli_as(Some(&lab.supervisor), &["team", "status", "Day lab"]));
    assert!(
        table.contains("VERIFIED") && table.contains("2026-06-30"),
        "{table}"
    );
    let csv = stdout(&d.cli_as(
        Some(&lab.supervisor),
        &["team", "status", "Day lab", "--csv"],
    ));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",last_verified_on,unverified"),
        "{csv}"
    );
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",2026-06-30,false"),
        "{csv}"
    );

    // Written with a history entry naming the credential, the token and what was seen.
    let history = d.json(&["history", "--credential", cr, "--all-holders"]);
    let entry = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "update" && e["after"]["verifications"].is_array())
        .unwrap_or_else(|| panic!("no update with verifications in {history}"));
    assert!(
        entry["actor"]
            .as_str()
            .unwrap()
            .contains("Sam at the bench"),
        "{entry}"
    );
    assert_eq!(
        entry["after"]["verifications"][0]["result"], "active",
        "{entry}"
    );
    assert_eq!(
        entry["before"]["verifications"],
        serde_json::json!([]),
        "{entry}"
    );

    // The report shows the real last check.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = d.cli(&[
        "--holder",
        "Mia Member",
        "report",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("data-verification=\"active\" data-verified=\"true\"")
            && html.contains("active on 2026-06-30 by Sam at the bench"),
        "{html}"
    );

    // Renewed since: unverified again, the old check still shown as the last one.
    let renewed = d.json(&["cert", "renew", cr, "--force", "--on", "2026-07-01"]);
    assert_eq!(renewed["verified"], false, "{renewed}");
    assert_eq!(renewed["unverified"], true);
    assert_eq!(renewed["last_verification"]["on"], "2026-06-30");
    let board = d.json_as(&lab.supervisor, &["team", "status", "Day lab"]);
    assert_eq!(board[0]["last_verified_on"], "2026-06-30", "{board}");
    assert_eq!(board[0]["unverified"], true);
    let table = stdout(&d.cli(&["cert", "show", cr]));
    assert!(
        table.contains("no: renewed since the last check"),
        "{table}"
    );
    let out = d.cli(&[
        "--holder",
        "Mia Member",
        "report",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("data-verified=\"false\"") && html.contains("renewed since"),
        "{html}"
    );

    // Checked again for the new cycle by an admin: verified; a mismatch after it is not.
    let again = d.json(&[
        "cert",
        "verify",
        cr,
        "--result",
        "active",
        "--by",
        "Dana Admin",
    ]);
    assert_eq!(again["verified"], true, "{again}");
    assert_eq!(again["last_verification"]["on"], "2026-07-01");
    assert_eq!(again["last_verification"]["by"], "Dana Admin");
    assert_eq!(again["last_verification"]["source"], Value::Null);
    let mismatch = d.json(&["cert", "verify", cr, "--result", "mismatch"]);
    assert_eq!(mismatch["verified"], false, "{mismatch}");
    assert_eq!(mismatch["last_verification"]["result"], "mismatch");
    let board = d.json_as(&lab.supervisor, &["team", "status", "Day lab"]);
    assert_eq!(board[0]["unverified"], true, "{board}");
}

#[test]
fn only_admins_and_the_teams_lead_record_checks_and_others_read_as_absent() {
    let lab = lab();
    let d = &lab.d;
    let verify = |token: &str, cr: &str| {
        d.cli_as(Some(token), &["cert", "verify", cr, "--result", "active"])
    };

    // The holder may not vouch for their own credential.
    let out = verify(&lab.mia_token, &lab.mia_cert);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("supervisor or admin"),
        "{}",
        stderr(&out)
    );
    // Another holder's credential is not found, for a holder and for a lead of another team.
    let out = verify(&lab.oscar_token, &lab.mia_cert);
    assert!(!out.status.success());
    assert!(reads_as_absent(&stderr(&out)), "{}", stderr(&out));
    let out = verify(&lab.supervisor, &lab.oscar_cert);
    assert!(!out.status.success());
    assert!(reads_as_absent(&stderr(&out)), "{}", stderr(&out));
    // A lead does not vouch for their own credential either.
    let out = verify(&lab.supervisor, &lab.sam_cert);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("your own credential"),
        "{}",
        stderr(&out)
    );

    // Nothing was recorded by any of them.
    for cr in [&lab.mia_cert, &lab.sam_cert, &lab.oscar_cert] {
        let shown = d.json(&["cert", "show", cr]);
        assert_eq!(shown["last_verification"], Value::Null, "{shown}");
    }
    // The holder sees their own check once the lead has recorded it.
    let out = verify(&lab.supervisor, &lab.mia_cert);
    assert!(out.status.success(), "{}", stderr(&out));
    let own = d.json_as(&lab.mia_token, &["cert", "show", &lab.mia_cert]);
    assert_eq!(own["last_verification"]["by"], "Sam at the bench", "{own}");
}

#[test]
fn bad_input_names_the_flag_and_changes_nothing() {
    let lab = lab();
    let d = &lab.d;
    let cr = lab.mia_cert.as_str();
    let attempt = |extra: &[&str]| {
        let mut args = vec!["cert", "verify", cr];
        args.extend_from_slice(extra);
        d.cli(&args)
    };
    let out = attempt(&["--result", "valid"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--result") && stderr(&out).contains("not-found"),
        "{}",
        stderr(&out)
    );
    let out = attempt(&["--result", "active", "--on", "2026-07-02"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--on (2026-07-02) is in the future"),
        "{}",
        stderr(&out)
    );
    let long = "x".repeat(201);
    let out = attempt(&["--result", "active", "--by", &long]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--by must be at most 200"),
        "{}",
        stderr(&out)
    );
    let out = attempt(&["--result", "active", "--source", "https://a\u{7}b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--source must not contain control characters"),
        "{}",
        stderr(&out)
    );
    let out = d.cli(&["cert", "verify", "cr999", "--result", "active"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let shown = d.json(&["cert", "show", cr]);
    assert_eq!(shown["last_verification"], Value::Null, "{shown}");
}

#[test]
fn checks_survive_export_and_import() {
    let lab = lab();
    let a = &lab.d;
    a.json(&[
        "cert",
        "verify",
        &lab.mia_cert,
        "--result",
        "expired",
        "--source",
        "NHA registry",
        "--by",
        "Dana Admin",
        "--on",
        "2026-05-01",
    ]);
    a.json(&[
        "cert",
        "verify",
        &lab.mia_cert,
        "--result",
        "active",
        "--by",
        "Dana Admin",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dump.jsonl");
    a.json(&["export", "--file", file.to_str().unwrap()]);
    let dump = std::fs::read_to_string(&file).unwrap();
    assert!(
        dump.contains(
            "\"verifications\":[{\"on\":\"2026-05-01\",\"result\":\"expired\",\"source\":\"NHA registry\",\"by\":\"Dana Admin\",\"cycle_expires_on\":\"2026-12-31\"}"
        ),
        "{dump}"
    );

    let b = Daemon::start(&dir.path().join("b"), Some("2026-07-01T12:00:00Z"));
    let out = b.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = b.json(&["cert", "show", &lab.mia_cert]);
    assert_eq!(shown["last_verification"]["on"], "2026-07-01", "{shown}");
    assert_eq!(shown["last_verification"]["result"], "active");
    assert_eq!(shown["verified"], true);

    // A dump line with an unknown result is refused, naming it, and imports nothing.
    let bad = dump.replace("\"result\":\"expired\"", "\"result\":\"lapsed\"");
    let bad_file = dir.path().join("bad.jsonl");
    std::fs::write(&bad_file, bad).unwrap();
    let c = Daemon::start(&dir.path().join("c"), Some("2026-07-01T12:00:00Z"));
    let out = c.cli(&["import", "--file", bad_file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("credential.verifications.result") && stderr(&out).contains("lapsed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.json(&["holder", "list"]).as_array().unwrap().len(), 0);
}
