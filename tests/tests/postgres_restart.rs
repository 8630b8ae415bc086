//! A database restart while writers run: while PostgreSQL is down every write answers
//! UNAVAILABLE (never a false acknowledgement), every acknowledged course is there
//! afterwards, and the daemon reconnects by itself once the database is back.
//!
//! The test stops and starts a cluster of its own (`scripts/pg-cluster start`, then `down`
//! and `up`), so the cluster the other tests share is not disturbed. Runs when
//! `RECERT_TEST_DATABASE_URL` is set (`scripts/test`), as the other PostgreSQL tests do.

use recert_proto::v1 as pb;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_tests::Daemon;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tonic::Code;

/// A cluster of this test's own, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("pg-cluster")
}

fn pg_cluster(args: &[&str]) -> String {
    let out = Command::new(script()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "pg-cluster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Cluster {
    fn start() -> Cluster {
        let text = pg_cluster(&["start"]);
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .to_string()
        };
        Cluster {
            dir: PathBuf::from(var("PG_CLUSTER_DIR")),
            url: var("RECERT_TEST_DATABASE_URL"),
        }
    }
    fn down(&self) {
        pg_cluster(&["down", self.dir.to_str().unwrap()]);
    }
    fn up(&self) {
        pg_cluster(&["up", self.dir.to_str().unwrap()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// What the writers saw.
#[derive(Default)]
struct Seen {
    acknowledged: std::sync::Mutex<Vec<String>>,
    acks: AtomicUsize,
    unavailable: AtomicUsize,
    other: std::sync::Mutex<Vec<String>>,
}

/// Waits for `check` (writers make progress on their own); fails after `limit`.
async fn until(limit: Duration, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_while_writers_run_loses_nothing_acknowledged_and_the_daemon_reconnects()
{
    match std::env::var("RECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RECERT_TEST_DATABASE_URL"
            );
            eprintln!("RECERT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped");
            return;
        }
    }
    let cluster = Cluster::start();
    let root = tempfile::tempdir().unwrap();
    let url = recert_tests::database_for(&cluster.url, &root.path().join("db"));
    let d = Daemon::start_with(&root.path().join("pg"), None, &["--database-url", &url]);
    let holder = d.json(&["holder", "add", "Dana", "--tz", "UTC"]);
    let holder = holder["id"].as_str().unwrap().to_string();

    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut courses = CourseServiceClient::new(d.channel().await);
        let (seen, stop, holder) = (seen.clone(), stop.clone(), holder.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let title = format!("writer {w} course {n}");
                let answer = courses
                    .create_course(pb::CreateCourseRequest {
                        course: Some(pb::Course {
                            holder_id: holder.clone(),
                            title: title.clone(),
                            completed_on: "2026-05-01".into(),
                            credits_hundredths: 100,
                            ..Default::default()
                        }),
                        allow_duplicate: true,
                    })
                    .await;
                match answer {
                    Ok(_) => {
                        seen.acknowledged.lock().unwrap().push(title);
                        seen.acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(s) if s.code() == Code::Unavailable => {
                        seen.unavailable.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(s) => seen.other.lock().unwrap().push(format!("{title}: {s:?}")),
                }
            }
        }));
    }
    let acks = || seen.acks.load(Ordering::Relaxed);
    until(Duration::from_secs(60), "acknowledged writes", || {
        acks() >= 40
    })
    .await;
    cluster.down();
    until(Duration::from_secs(60), "UNAVAILABLE while down", || {
        seen.unavailable.load(Ordering::Relaxed) >= 4
    })
    .await;
    let acked_while_down = acks();
    cluster.up();
    until(Duration::from_secs(60), "writes after the restart", || {
        acks() >= acked_while_down + 40
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let other = seen.other.lock().unwrap().clone();
    assert!(
        other.is_empty(),
        "answers other than OK and UNAVAILABLE: {other:#?}"
    );

    let listed = d.json(&["--holder", &holder, "course", "list"]);
    let stored: std::collections::BTreeSet<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    let acknowledged = seen.acknowledged.lock().unwrap().clone();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|t| !stored.contains(*t))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    drop(cluster);
}
