//! Several daemons on one PostgreSQL database: a write through one is read through the other
//! at once, courses logged through both concurrently all land once, and when the daemon
//! holding the alert lease is killed another takes over and delivers, repeating nothing. And a
//! sled store moved to PostgreSQL with export and import answers the same.
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
    Daemon::start_with(&data, None, &args)
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
fn comparable(dump: &[u8]) -> Vec<String> {
    let text = String::from_utf8(dump.to_vec()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
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
    let pg = daemon(root.path(), "pg", &url, &[]);
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
