//! Several daemons on one PostgreSQL database: a write through one is read through the other
//! at once, courses logged through both concurrently all land once, and when the daemon
//! holding the alert lease is killed another takes over and delivers, repeating nothing. And a
//! sled store moved to PostgreSQL with export and import answers the same, its tokens,
//! teams and history included.
//!
//! Runs when `RECERT_TEST_DATABASE_URL` names a cluster (`.ci/run` starts one); under CI a
//! missing cluster fails instead of passing quietly.

use recert_tests::Daemon;
use recert_tests::sinks::WebhookSink;
use recertd::alerts::delivery::AlertPayload;
use std::path::Path;
use std::time::{Duration, Instant};

/// The cluster's URL, or `None` (outside CI) to skip.
fn cluster() -> Option<String> {
    match std::env::var("RECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RECERT_TEST_DATABASE_URL (scripts/pg-cluster start)"
            );
            eprintln!("RECERT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped");
            None
        }
    }
}

/// Starts a daemon on `url`, its own data dir under `root/name`. The first daemon on the
/// database writes the admin token to its data dir; later ones find tokens in the database
/// and write none, so they get a copy of the first one's file, as an operator would.
fn daemon(root: &Path, name: &str, url: &str, extra: &[&str]) -> Daemon {
    daemon_at(root, name, url, None, extra)
}

/// Like [`daemon`], its clock frozen at `now` when given.
fn daemon_at(root: &Path, name: &str, url: &str, now: Option<&str>, extra: &[&str]) -> Daemon {
    use std::os::unix::fs::PermissionsExt;
    let data = root.join(name);
    let first = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path().join("admin.token")))
        .find(|file| file.is_file());
    if let Some(file) = first.filter(|_| !data.join("admin.token").exists()) {
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let copy = data.join("admin.token");
        std::fs::copy(&file, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut args = vec!["--database-url", url];
    args.extend_from_slice(extra);
    Daemon::start_with(&data, now, &args)
}

/// Waits for `check` to hold; fails after `limit`.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

#[test]
fn a_write_through_one_daemon_is_read_through_the_other_and_concurrent_courses_all_land() {
    let Some(base) = cluster() else { return };
    let root = tempfile::tempdir().unwrap();
    let url = recert_tests::database_for(&base, &root.path().join("db"));
    let a = daemon(root.path(), "a", &url, &[]);
    let b = daemon(root.path(), "b", &url, &[]);

    a.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    a.json(&["cert", "add", "nha-cpt", "--expires", "2027-03-01"]);
    // B's standing cache has nothing yet; A's write is what B answers.
    let before = b.json(&["status", "--as-of", "2026-12-01"]);
    assert!(before.to_string().contains("nha-cpt"), "{before:#}");
    // B caches Dana's standing; a course through A must show in B's next answer.
    a.json(&[
        "course",
        "log",
        "Sharps safety",
        "--credits",
        "2",
        "--date",
        "2026-11-20",
    ]);
    let after = b.json(&["status", "--as-of", "2026-12-01"]);
    assert_ne!(before, after, "B answered from a stale cache");

    // Courses logged through both at once: all there, none twice.
    let per_daemon = 12;
    std::thread::scope(|s| {
        for (name, d) in [("a", &a), ("b", &b)] {
            for i in 0..per_daemon {
                s.spawn(move || {
                    let title = format!("{name}-{i}");
                    d.json(&[
                        "course",
                        "log",
                        &title,
                        "--credits",
                        "1",
                        "--date",
                        "2026-11-21",
                    ]);
                });
            }
        }
    });
    for d in [&a, &b] {
        let courses = d.json(&["course", "list"]);
        let titles: Vec<&str> = courses
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles.len(), 1 + 2 * per_daemon, "{titles:?}");
        let mut unique = titles.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            titles.len(),
            "a course is there twice: {titles:?}"
        );
        let mut ids: Vec<&str> = courses
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), titles.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_alert_leader_is_killed_the_other_daemon_takes_over_and_repeats_nothing() {
    let Some(base) = cluster() else { return };
    let root = tempfile::tempdir().unwrap();
    let url = recert_tests::database_for(&base, &root.path().join("db"));
    let mut hook = WebhookSink::start(None, 200).await;
    let fast = ["--alert-schedule", "* * * * * *", "--lease-secs", "2"];
    let mut a = daemon(root.path(), "a", &url, &fast);
    assert!(
        eventually(Duration::from_secs(10), || a
            .log()
            .contains("took the alert lease")),
        "A never led: {}",
        a.log()
    );
    let b = daemon(root.path(), "b", &url, &fast);

    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let expires = today
        .checked_add(jiff::ToSpan::days(30))
        .unwrap()
        .to_string();
    b.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    b.json(&["notify", "add", "webhook", &hook.url]);
    let first = b.json(&["cert", "add", "nha-cpt", "--expires", &expires]);

    // A leads, so A delivers the first alert.
    let request = tokio::time::timeout(Duration::from_secs(60), hook.requests.recv())
        .await
        .expect("the leader delivers")
        .unwrap();
    let payload: AlertPayload = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload.credential_id.as_deref(), first["id"].as_str());
    assert!(
        eventually(Duration::from_secs(10), || {
            let list = b.json(&["alerts", "list"]);
            list[0]["status"] == "delivered"
        }),
        "the delivery was not recorded"
    );
    assert!(
        !b.log().contains("took the alert lease"),
        "B led while A lived"
    );

    // Kill the leader; an alert becomes due that only B can deliver now.
    a.kill();
    let second = b.json(&["cert", "add", "ascp-pbt", "--expires", &expires]);
    let request = tokio::time::timeout(Duration::from_secs(60), hook.requests.recv())
        .await
        .expect("B takes over and delivers")
        .unwrap();
    let payload: AlertPayload = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload.credential_id.as_deref(), second["id"].as_str());
    assert!(b.log().contains("took the alert lease"), "{}", b.log());
    assert!(
        eventually(Duration::from_secs(10), || {
            let list = b.json(&["alerts", "list"]);
            list.as_array().unwrap().len() == 2
                && list
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x["status"] == "delivered")
        }),
        "{:#}",
        b.json(&["alerts", "list"])
    );
    // Nothing arrives twice: a few more ticks of B pass without a request.
    let repeat = tokio::time::timeout(Duration::from_secs(3), hook.requests.recv()).await;
    assert!(repeat.is_err(), "an alert was delivered again: {repeat:?}");
}

/// The dump's lines with the header's `exported_at` taken out.
/// Tokens, history entries and the end line that counts them are left out: the database
/// brings its own admin token and the import adds an entry (compared on their own).
fn comparable(dump: &[u8]) -> Vec<String> {
    let text = String::from_utf8(dump.to_vec()).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| {
            !l.starts_with("{\"kind\":\"token\"")
                && !l.starts_with("{\"kind\":\"history\"")
                && !l.starts_with("{\"kind\":\"end\"")
        })
        .map(str::to_string)
        .collect();
    let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    header.as_object_mut().unwrap().remove("exported_at");
    lines[0] = header.to_string();
    lines
}

#[test]
fn a_sled_store_moved_to_postgres_answers_the_same_status_for_every_holder() {
    let Some(base) = cluster() else { return };
    let root = tempfile::tempdir().unwrap();
    let now = Some("2026-12-01T15:00:00Z");
    let sled = Daemon::start_sled(&root.path().join("sled"), now, &[]);
    let holders = ["Dana Reyes", "Sam Ortiz", "Lee Park"];
    for (i, name) in holders.iter().enumerate() {
        let h = sled.json(&["holder", "add", name, "--tz", "America/Chicago"]);
        let id = h["id"].as_str().unwrap().to_string();
        let cert = sled.json(&[
            "--holder",
            &id,
            "cert",
            "add",
            "nha-cpt",
            "--expires",
            "2027-03-01",
        ]);
        sled.json(&[
            "--holder",
            &id,
            "cert",
            "add",
            "ascp-pbt",
            "--expires",
            "2028-06-30",
        ]);
        for c in 0..=i {
            let title = format!("Course {c} of {name}");
            sled.json(&[
                "--holder",
                &id,
                "course",
                "log",
                &title,
                "--credits",
                "2",
                "--date",
                &format!("2026-10-{:02}", c + 1),
            ]);
        }
        let pinned = format!("Pinned of {name}");
        sled.json(&[
            "--holder",
            &id,
            "course",
            "log",
            &pinned,
            "--credits",
            "1",
            "--date",
            "2026-11-02",
            "--for",
            cert["id"].as_str().unwrap(),
        ]);
    }
    let dump = root.path().join("recert.jsonl");
    sled.json(&["export", "--file", dump.to_str().unwrap()]);

    let url = recert_tests::database_for(&base, &root.path().join("db"));
    // On the sled daemon's clock: on the wall clock, past 08:00 in Chicago the imported
    // last tick is a day old and the PostgreSQL daemon would tick where sled did not.
    let pg = daemon_at(root.path(), "pg", &url, now, &[]);
    let out = pg.cli(&["import", "--file", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for h in sled.json(&["holder", "list"]).as_array().unwrap() {
        let id = h["id"].as_str().unwrap();
        let status = |d: &Daemon| d.cli(&["--holder", id, "status", "--as-of", "2026-12-01"]);
        let (a, b) = (status(&sled), status(&pg));
        assert!(a.status.success() && b.status.success());
        assert_eq!(
            String::from_utf8_lossy(&a.stdout),
            String::from_utf8_lossy(&b.stdout),
            "status of {id} differs"
        );
    }
    let export = |d: &Daemon| {
        let out = d.cli(&["export"]);
        assert!(out.status.success());
        comparable(&out.stdout)
    };
    assert_eq!(
        export(&sled),
        export(&pg),
        "the engines export different dumps"
    );

    // `recertd check` on the database: sound.
    let out = std::process::Command::new(recert_tests::binary("recertd"))
        .args(["check", "--json", "--database-url", &url])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["problems"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["records"]["courses"], 9, "{report:#}");
    assert!(out.status.success());
}

#[test]
fn tokens_teams_and_history_move_from_sled_to_postgres_and_tokens_still_authenticate() {
    let Some(base) = cluster() else { return };
    let root = tempfile::tempdir().unwrap();
    let sled = Daemon::start_sled(&root.path().join("sled"), None, &[]);
    let dana = sled.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let dana = dana["id"].as_str().unwrap().to_string();
    let sam = sled.json(&["holder", "add", "Sam Ortiz", "--tz", "UTC"]);
    let sam = sam["id"].as_str().unwrap().to_string();
    sled.json(&["team", "add", "Day lab"]);
    sled.json(&["team", "add-member", "Day lab", &sam]);
    sled.json(&["team", "add-lead", "Day lab", &dana]);
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create", "--name", "moved"];
        all.extend_from_slice(args);
        sled.json(&all)["token"].as_str().unwrap().to_string()
    };
    let holder = token(&["--role", "holder", "--holder", &sam]);
    let supervisor = token(&["--role", "supervisor", "--holder", &dana]);
    let revoked_json = sled.json(&[
        "token", "create", "--role", "holder", "--holder", &sam, "--name", "old",
    ]);
    let revoked = revoked_json["token"].as_str().unwrap().to_string();
    sled.json(&["token", "revoke", revoked_json["id"].as_str().unwrap()]);
    sled.json_as(
        &holder,
        &[
            "course",
            "log",
            "Sharps safety",
            "--credits",
            "1",
            "--date",
            "2026-01-05",
        ],
    );
    let before = sled.json(&["history", "--all-holders"]);
    let dump = root.path().join("recert.jsonl");
    sled.json(&["export", "--file", dump.to_str().unwrap()]);
    let text = std::fs::read_to_string(&dump).unwrap();
    for secret in [&holder, &supervisor, &revoked, &sled.admin_token()] {
        assert!(
            !text.contains(secret.as_str()),
            "a dump holds no token secret"
        );
    }

    let url = recert_tests::database_for(&base, &root.path().join("db"));
    let pg = daemon(root.path(), "pg", &url, &[]);
    let report = pg.json(&["import", "--file", dump.to_str().unwrap()]);
    assert!(report["imported"].as_u64().unwrap() > 0, "{report}");

    // Every token still authenticates as what it was; the revoked one still fails.
    let courses = pg.json_as(&holder, &["course", "list"]);
    assert_eq!(courses.as_array().unwrap().len(), 1, "{courses}");
    let seen = pg.json_as(&supervisor, &["holder", "list"]);
    let seen: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [dana.as_str(), sam.as_str()]);
    assert!(
        pg.cli_as(Some(&sled.admin_token()), &["holder", "list"])
            .status
            .success()
    );
    let out = pg.cli_as(Some(&revoked), &["course", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UNAUTHENTICATED")
            || String::from_utf8_lossy(&out.stderr).contains("token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The team, and the history with one entry more: the import, by the database's admin.
    let team = pg.json(&["team", "show", "Day lab"]);
    assert_eq!(team["member_ids"], serde_json::json!([sam]));
    assert_eq!(team["lead_ids"], serde_json::json!([dana]));
    let after = pg.json(&["history", "--all-holders"]);
    let (before, after) = (before.as_array().unwrap(), after.as_array().unwrap());
    assert_eq!(after.len(), before.len() + 1, "{after:#?}");
    for (a, b) in before.iter().zip(after) {
        for field in ["id", "at", "actor", "action", "kind", "record", "holder_id"] {
            assert_eq!(a[field], b[field], "{field} of {a} and {b}");
        }
    }
    let import = after.last().unwrap();
    assert_eq!(import["action"], "import", "{import}");
    assert_eq!(import["token_id"], "tk1", "{import}");
    // The course logged through the holder token names that token, as moved.
    let logged = after
        .iter()
        .find(|e| e["kind"] == "course" && e["action"] == "create")
        .unwrap();
    let moved = pg.json(&["token", "list"]);
    let named = moved
        .as_array()
        .unwrap()
        .iter()
        .find(|t| Some(t["id"].as_str().unwrap()) == logged["token_id"].as_str())
        .unwrap();
    assert_eq!(named["holder_id"], sam.as_str(), "{named}");

    // The same dump again changes nothing.
    let again = pg.json(&["import", "--file", dump.to_str().unwrap()]);
    assert_eq!(again["imported"], 0, "{again}");
}
