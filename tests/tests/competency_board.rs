//! Competencies on the supervisor's board (issue 14, point 4): `team status` lists the
//! members' overdue and soon-due competencies below the credentials, overdue first, and
//! leaves out current ones; `--program` (a credential filter) leaves them out.

use recert_tests::Daemon;
use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn team_status_lists_due_and_overdue_competencies_overdue_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let add = |name: &str, hired: &str| {
        d.json(&["holder", "add", name, "--tz", "UTC", "--hired", hired])["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (mia, ben, cara, out) = (
        add("Mia Member", "2026-01-15"),
        add("Ben Okafor", "2025-01-01"),
        add("Cara Current", "2026-01-01"),
        add("Oscar Outside", "2025-01-01"),
    );
    d.json(&["team", "add", "Day lab"]);
    for m in [&mia, &ben, &cara] {
        d.json(&["team", "add-member", "Day lab", m]);
    }
    let assign = |who: &str, program: &str, skill: &str| {
        d.json(&[
            "competency",
            "assign",
            who,
            "--program",
            program,
            "--skill",
            skill,
        ]);
    };
    // Mia: clia-testing due 2026-07-15 (due soon); Ben: phlebotomy-annual due 2026-01-01
    // (overdue); Cara: assessed, next due 2027-01-01 (current); Oscar: overdue, not a member.
    assign(&mia, "clia-testing", "Glucose meter");
    assign(&ben, "phlebotomy-annual", "Venipuncture");
    assign(&out, "phlebotomy-annual", "Venipuncture");
    d.json(&[
        "competency",
        "log",
        &cara,
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
        "--date",
        "2026-06-30",
        "--assessor",
        "Sam",
        "--elements",
        "1,2,3,4,5,6",
        "--result",
        "pass",
    ]);
    d.json(&[
        "--holder",
        &mia,
        "cert",
        "add",
        "nha-cpt",
        "--expires",
        "2026-12-31",
    ]);

    let text = stdout(&d.cli(&["team", "status", "Day lab"]));
    let section = text
        .split("Competencies due (overdue first):")
        .nth(1)
        .unwrap_or_else(|| panic!("no competency section in {text}"));
    let lines: Vec<&str> = section.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3, "header and two rows: {section}");
    assert!(
        lines[1].contains("Ben Okafor")
            && lines[1].contains("Venipuncture")
            && lines[1].contains("2026-01-01")
            && lines[1].contains("overdue"),
        "{section}"
    );
    assert!(
        lines[2].contains("Mia Member")
            && lines[2].contains("2026-07-15")
            && lines[2].contains("due soon"),
        "{section}"
    );
    assert!(
        !section.contains("Cara Current") && !section.contains("Oscar"),
        "{section}"
    );

    // On a later day Mia is overdue too; a credential filter leaves the section out.
    let later = stdout(&d.cli(&["team", "status", "Day lab", "--as-of", "2026-08-01"]));
    let later = later.split("Competencies due").nth(1).unwrap();
    assert_eq!(later.matches("overdue").count(), 3, "{later}");
    let filtered = stdout(&d.cli(&["team", "status", "Day lab", "--program", "nha-cpt"]));
    assert!(!filtered.contains("Competencies due"), "{filtered}");
}
