//! Trial 2.18: `recert --holder h2 export` dumped the whole store (every holder's names,
//! e-mails and webhook secrets). It exports exactly that holder's records now, and a holder
//! token can export only its own holder.

use recert_tests::Daemon;
use serde_json::Value;
use std::collections::BTreeSet;

/// The record lines of a dump, parsed (header and end line left out).
fn records(dump: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(dump)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"].is_string() && v["kind"] != "end")
        .collect()
}

/// Every holder id a dump's records name (`id` of holder lines, `holder_id` of the rest).
fn holders_named(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| {
            if r["kind"] == "holder" {
                r["id"].as_str().map(str::to_owned)
            } else {
                r["holder_id"].as_str().map(str::to_owned)
            }
        })
        .collect()
}

fn kinds(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn export_with_holder_has_exactly_that_holders_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let mut ids = Vec::new();
    for (name, email) in [
        ("Dana Reyes", "dana@example.org"),
        ("Sam Lee", "sam.private@example.org"),
    ] {
        let h = d.json(&["holder", "add", name, "--tz", "UTC", "--email", email])["id"]
            .as_str()
            .unwrap()
            .to_string();
        d.json(&[
            "--holder",
            &h,
            "cert",
            "add",
            "nha-cpt",
            "--expires",
            "2027-05-01",
        ]);
        d.json(&["--holder", &h, "course", "log", "Safety", "--credits", "2"]);
        d.json(&[
            "--holder",
            &h,
            "notify",
            "add",
            "webhook",
            &format!("https://hooks.example.org/{}", name.replace(' ', "-")),
            "--secret",
            "0123456789abcdef0123",
        ]);
        d.json(&["--holder", &h, "alerts", "thresholds", "60,30"]);
        ids.push(h);
    }
    let (h1, h2) = (ids[0].as_str(), ids[1].as_str());
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add-member", "Day lab", h2]);

    let whole = d.cli(&["export", "--no-secrets"]);
    assert!(whole.status.success());
    let whole = records(&whole.stdout);
    assert_eq!(
        holders_named(&whole),
        BTreeSet::from([h1.to_owned(), h2.to_owned()])
    );

    let out = d.cli(&["--holder", h2, "export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mine = records(&out.stdout);
    assert_eq!(
        holders_named(&mine),
        BTreeSet::from([h2.to_owned()]),
        "{text}"
    );
    for kind in [
        "holder",
        "credential",
        "course",
        "channel",
        "alert_settings",
    ] {
        assert!(kinds(&mine).contains(kind), "{kind} missing: {text}");
    }
    for kind in ["token", "team"] {
        assert!(!kinds(&mine).contains(kind), "{kind} in {text}");
    }
    assert!(
        !text.contains("Dana") && !text.contains("dana@example.org"),
        "{text}"
    );
    // Exactly the holder's records of each kind: the same lines as in the whole dump.
    let of_h2: Vec<&Value> = whole
        .iter()
        .filter(|r| {
            (r["kind"] == "holder" && r["id"] == h2)
                || (r["kind"] != "holder" && r["holder_id"] == h2 && r["kind"] != "history")
        })
        .collect();
    for r in of_h2 {
        let mut r = r.clone();
        if r["kind"] == "channel" {
            // The whole dump left the secret out; this one keeps it.
            r.as_object_mut().unwrap().remove("secret");
            r.as_object_mut().unwrap().remove("has_secret");
        }
        assert!(
            mine.iter().any(|m| {
                let mut m = m.clone();
                if m["kind"] == "channel" {
                    m.as_object_mut().unwrap().remove("secret");
                    m.as_object_mut().unwrap().remove("has_secret");
                }
                m == r
            }),
            "{r} missing from {text}"
        );
    }

    // The dump imports into an empty store: that holder alone.
    let e = Daemon::start(&dir.path().join("two"), Some("2026-06-15T12:00:00Z"));
    let file = dir.path().join("h2.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let imported = e.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let holders = e.json(&["holder", "list"]);
    let names: Vec<&str> = holders
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sam Lee"]);

    // --file says whose records it holds.
    let path = dir.path().join("mine.jsonl");
    let report = d.json(&["--holder", h2, "export", "--file", path.to_str().unwrap()]);
    assert_eq!(report["holder"], h2, "{report:#}");
    assert_eq!(report["records"].as_u64().unwrap() as usize, mine.len());
}

#[test]
fn a_holder_token_exports_only_its_own_holder() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let mut ids = Vec::new();
    for name in ["Dana Reyes", "Sam Lee"] {
        let h = d.json(&["holder", "add", name, "--tz", "UTC"])["id"]
            .as_str()
            .unwrap()
            .to_string();
        d.json(&["--holder", &h, "course", "log", "Safety", "--credits", "2"]);
        ids.push(h);
    }
    let (h1, h2) = (ids[0].as_str(), ids[1].as_str());
    let token = d.json(&["token", "create", "--role", "holder", "--holder", h1]);
    let secret = token["token"].as_str().unwrap();

    let own = d.cli_as(Some(secret), &["--holder", h1, "export", "--no-secrets"]);
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    assert_eq!(
        holders_named(&records(&own.stdout)),
        BTreeSet::from([h1.to_owned()])
    );

    // Another holder is not found, as if absent; the whole store needs an admin.
    let other = d.cli_as(Some(secret), &["--holder", h2, "export", "--no-secrets"]);
    assert_eq!(other.status.code(), Some(1));
    assert!(other.stdout.is_empty());
    let why = String::from_utf8_lossy(&other.stderr);
    assert!(why.contains("not found") && why.contains(h2), "{why}");
    let whole = d.cli_as(Some(secret), &["export", "--no-secrets"]);
    assert_eq!(whole.status.code(), Some(1));
    assert!(whole.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&whole.stderr).contains("needs an admin token"),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
}
