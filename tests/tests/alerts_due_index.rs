//! The alert tick reads only the holders with a competency or dues day in its windows (the
//! competency and dues indexes), plus the holders written since the last tick (issues 9 and
//! 14), through the real daemon and its frozen clock (`RECERT_NOW`, moved by restarting):
//! - a competency already past due when assigned alerts once (a written holder), and one due
//!   later alerts on its marks from the index alone, also in a copy made by export/import;
//! - dues whose anniversary moves with an edited issue date alert on the new day only.

use recert_tests::Daemon;
use serde_json::Value;

const DAY0: &str = "2026-11-01T12:00:00Z";
const DAY1: &str = "2026-11-02T12:00:00Z";

/// Restarts `d` with its clock at `at`, so the ticks missed since run once.
fn restart_at(mut d: Daemon, at: &str) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start(&d.data_dir, Some(at))
}

/// The idempotency keys of the alerts listed, sorted.
fn keys(list: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|a| a["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Waits until `d` lists at least `n` alerts (of every holder), then returns their keys.
fn keys_once(d: &Daemon, n: usize) -> Vec<String> {
    keys(&d.alerts_until(&["--all-holders"], |l| l.len() >= n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competencies_alert_from_the_index_and_a_written_holder_once_also_after_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(DAY0));
    // Ana, hired 2026-05-20: the CLIA six-month assessment is due 2026-11-20.
    d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-05-20",
    ]);
    d.json(&[
        "competency",
        "assign",
        "Ana Ruiz",
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
    ]);
    // Cy, hired 2024-01-10 and never assessed: due 2024-07-10, which no window of the next
    // tick reaches; only the holder having been written gets it evaluated.
    d.json(&[
        "holder",
        "add",
        "Cy Tan",
        "--tz",
        "UTC",
        "--hired",
        "2024-01-10",
    ]);
    let cy = d.json(&[
        "competency",
        "assign",
        "Cy Tan",
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
    ]);
    assert_eq!(cy["next_due"], "2024-07-10", "{cy}");

    // 2026-11-02: Ana's 30-day mark (the 60-day one coalesces), Cy's overdue one.
    let d = restart_at(d, DAY1);

    let first = keys_once(&d, 2);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(
        first.contains(&"h1/competency/clia-testing/Glucose meter/2026-11-20/30".to_string()),
        "{first:?}"
    );
    let cy_keys: Vec<&String> = first.iter().filter(|k| k.starts_with("h2/")).collect();
    assert_eq!(cy_keys.len(), 1, "{first:?}");
    assert!(cy_keys[0].contains("/2024-07-10/"), "{first:?}");

    // Copied by export and import on the same day.
    let file = dir.path().join("dump.jsonl");
    d.json(&["export", "--file", file.to_str().unwrap()]);
    let copy = Daemon::start(&dir.path().join("copy"), Some(DAY1));
    let out = copy.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2026-11-03 (nothing due: the imported holders are evaluated, nothing repeats), then
    // 2026-11-06: Ana's 14-day mark, found by the competency index alone, in both stores;
    // Cy's overdue alert is not repeated.
    let want: Vec<String> = {
        let mut w = first.clone();
        w.push("h1/competency/clia-testing/Glucose meter/2026-11-20/14".to_string());
        w.sort();
        w
    };
    let d = restart_at(d, "2026-11-03T12:00:00Z");
    let d = restart_at(d, "2026-11-06T12:00:00Z");
    assert_eq!(keys_once(&d, 3), want);
    let copy = restart_at(copy, "2026-11-03T12:00:00Z");
    let listed = copy.json(&["alerts", "list", "--all", "--all-holders"]);
    assert_eq!(keys(listed.as_array().unwrap()), first);
    let copy = restart_at(copy, "2026-11-06T12:00:00Z");
    assert_eq!(keys_once(&copy, 3), want);

    // Both stores' indexes are what their records call for.
    for daemon in [d, copy] {
        let mut daemon = daemon;
        assert_eq!(daemon.stop(), Some(0));
        let out = daemon.check_store(&[]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dues_follow_an_edited_issue_date_to_their_new_day_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(DAY0));
    d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    // Certified 2025-11-15: AMT's annual dues fall due by 2026-11-30.
    let cert = d.json(&[
        "cert",
        "add",
        "amt-rpt",
        "--issued",
        "2025-11-15",
        "--expires",
        "2028-11-15",
    ]);
    let cert = cert["id"].as_str().unwrap().to_string();
    let d = restart_at(d, DAY1);
    assert_eq!(keys_once(&d, 1), [format!("{cert}/dues/2026-11-30/30")]);

    // The issue date was 2025-12-20: the dues move to 2026-12-31. On 2026-11-16 the old
    // day's 14-day mark does not fire; the new day's 60-day mark does.
    d.json(&["cert", "edit", &cert, "--issued", "2025-12-20"]);
    let d = restart_at(d, "2026-11-16T12:00:00Z");
    assert_eq!(
        keys_once(&d, 2),
        [
            format!("{cert}/dues/2026-11-30/30"),
            format!("{cert}/dues/2026-12-31/60")
        ]
    );
    // 2026-12-01: the 30-day mark of the new day, which only the dues index finds (the
    // credential was evaluated, and its change settled, on 2026-11-16).
    let d = restart_at(d, "2026-12-01T12:00:00Z");
    assert_eq!(
        keys_once(&d, 3),
        [
            format!("{cert}/dues/2026-11-30/30"),
            format!("{cert}/dues/2026-12-31/30"),
            format!("{cert}/dues/2026-12-31/60")
        ]
    );
}
