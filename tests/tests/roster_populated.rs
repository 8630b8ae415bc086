//! A small roster import into a large store, through the real binaries, on the engine the
//! suite runs on (issue 12, point 3): the roster is written through `Snapshots::restore`,
//! which on PostgreSQL read the whole store into memory inside its transaction, so a roster
//! of twenty rows cost memory in proportion to the store (57 MiB of growth for this store).
//! Now the view asks the transaction for what the roster names, and the service keeps only
//! the holders the rows name: the daemon's growth follows the roster, not the store.
//!
//! The store: 1,000 holders (with e-mails, one credential each) and 60,000 courses, seeded by
//! an import (about 20 MB of dump). A fresh daemon then serves one small call and the roster,
//! so its peak RSS (VmHWM) is the roster's; the bound on its growth over the RSS it had
//! before the roster is 30 MiB.

use recert_tests::Daemon;
use std::fmt::Write as _;

const NOW: &str = "2026-06-15T12:00:00Z";
const HOLDERS: usize = 1_000;
const COURSES: usize = 60_000;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The store as a recert-export dump: holders `h1..` with e-mails `holderN@example.org`, one
/// nha-cpt credential each, and the courses spread over them, pinned to that credential.
fn dump() -> String {
    let mut out = String::with_capacity(COURSES * 360 + HOLDERS * 400);
    let header = serde_json::json!({
        "format": "recert-export", "version": 1,
        "schema": recertd::store::SCHEMA_VERSION,
        "exported_at": "2026-06-15T11:00:00Z", "secrets": true,
    });
    writeln!(out, "{header}").unwrap();
    let mut records = 0;
    for h in 1..=HOLDERS {
        let line = serde_json::json!({
            "kind": "holder", "id": format!("h{h}"), "name": format!("Holder {h}"),
            "email": format!("holder{h}@example.org"), "time_zone": "America/Chicago",
            "is_default": h == 1,
        });
        writeln!(out, "{line}").unwrap();
        let line = serde_json::json!({
            "kind": "credential", "id": format!("cr{h}"), "holder_id": format!("h{h}"),
            "program": "nha-cpt", "number": format!("CPT-{h}"), "issued_on": "2024-09-01",
            "expires_on": "2026-09-01", "history": [],
        });
        writeln!(out, "{line}").unwrap();
        records += 2;
    }
    for id in 1..=COURSES {
        let h = id % HOLDERS + 1;
        let line = serde_json::json!({
            "kind": "course", "id": format!("co{id}"), "holder_id": format!("h{h}"),
            "title": format!("Venipuncture refresher part {id}"),
            "provider": "County Hospital Education", "accreditation": "",
            "evidence": format!("certificates/{id}.pdf"),
            "completed_on": format!("2025-{:02}-{:02}", id % 12 + 1, id % 28 + 1),
            "credits_hundredths": 25 + (id % 4) * 25, "unit": "nha-credit",
            "categories": [], "format": "online", "credential_ids": [format!("cr{h}")],
        });
        writeln!(out, "{line}").unwrap();
        records += 1;
    }
    writeln!(
        out,
        "{}",
        serde_json::json!({"kind": "end", "records": records})
    )
    .unwrap();
    out
}

/// Twenty rows: ten stored holders (matched by e-mail) get an ascp-pbt credential, ten new
/// holders an nha-cpt one, all of them into a new team.
fn roster() -> String {
    let mut out =
        String::from("name,email,time_zone,hired_on,team,program,number,issued_on,expires_on\n");
    for h in (1..=HOLDERS).step_by(HOLDERS / 10) {
        writeln!(
            out,
            "Holder {h},HOLDER{h}@example.org,America/Chicago,,Night lab,ascp-pbt,PBT-{h},,2027-06-30"
        )
        .unwrap();
    }
    for n in 1..=10 {
        writeln!(
            out,
            "New Hire {n},new{n}@example.org,UTC,2025-01-0{},Night lab,nha-cpt,CPT-N{n},,2027-01-31",
            n % 9 + 1
        )
        .unwrap();
    }
    out
}

#[test]
fn a_small_roster_into_a_large_store_costs_memory_for_the_roster_not_the_store() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start(&data, Some(NOW));
    let path = dir.path().join("store.jsonl");
    std::fs::write(&path, dump()).unwrap();
    let out = d.cli(&["--output", "json", "import", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["imported"], 2 * HOLDERS + COURSES, "{summary}");

    // A fresh daemon, so that its peak is the roster's and not the seeding import's; one
    // small call first, as what the first call costs (the database connections, the
    // runtime's threads and their allocator arenas: about 13 MiB) is not the roster's.
    d.restart();
    d.json(&["holder", "list", "--limit", "1"]);
    let roster_file = dir.path().join("roster.csv");
    std::fs::write(&roster_file, roster()).unwrap();
    let before = d.rss_kib();
    let peak_before = d.peak_rss_kib();
    let out = d.cli(&[
        "--output",
        "json",
        "roster",
        "import",
        roster_file.to_str().unwrap(),
    ]);
    let peak = d.peak_rss_kib();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let grew = peak.saturating_sub(before);
    eprintln!(
        "roster into {HOLDERS} holders and {COURSES} courses: RSS {} MiB before (peak {} MiB), peak {} MiB, growth {} MiB",
        before / 1024,
        peak_before / 1024,
        peak / 1024,
        grew / 1024
    );

    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions = done["actions"].as_array().unwrap();
    let count = |kind: &str, outcome: &str| {
        actions
            .iter()
            .filter(|a| a["kind"] == kind && a["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("holder", "existing"), 10, "{done}");
    assert_eq!(count("holder", "created"), 10, "{done}");
    assert_eq!(count("team", "created"), 1, "{done}");
    assert_eq!(count("membership", "added"), 20, "{done}");
    assert_eq!(count("credential", "created"), 20, "{done}");
    let new_ids: Vec<&str> = actions
        .iter()
        .filter(|a| a["kind"] == "holder" && a["outcome"] == "created")
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        new_ids.first().copied(),
        Some(format!("h{}", HOLDERS + 1).as_str()),
        "new holders take the ids after the store's: {new_ids:?}"
    );
    let certs = d.json(&["--holder", "h101", "cert", "list"]);
    let programs: Vec<&str> = certs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["program"].as_str().unwrap())
        .collect();
    assert_eq!(programs.len(), 2, "{certs}");
    assert!(
        programs.contains(&"ascp-pbt") && programs.contains(&"nha-cpt"),
        "{certs}"
    );
    let team = d.json(&["team", "show", "Night lab"]);
    assert_eq!(team["member_ids"].as_array().unwrap().len(), 20, "{team}");

    let bound = 30 * 1024;
    assert!(
        grew < bound,
        "a 20-row roster grew the daemon by {} MiB (bound {} MiB) in a store of {COURSES} courses",
        grew / 1024,
        bound / 1024
    );
    assert_eq!(d.stop(), Some(0));
    let check = d.check_store(&[]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
}
