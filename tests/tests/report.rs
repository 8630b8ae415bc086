//! `recert report --html`: the page made through the real daemon and CLI, rendered in headless
//! Chromium (installed by scripts/chromium, which scripts/test runs and points
//! `RECERT_TEST_CHROMIUM` at). The DOM after layout must name every member and credential,
//! and the page's own overflow check must find nothing; the screenshot stays under /tmp.
//! Without `RECERT_TEST_CHROMIUM` and without a `chromium` on PATH the rendering test returns
//! early, as the PostgreSQL tests do without their database.

use recert_tests::Daemon;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RECERT_TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
            .find(|p| p.is_file())
    })
}

/// Runs headless Chromium on `page` with `args`; returns stdout.
fn chrome(bin: &Path, profile: &Path, page: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=794,1123",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", profile)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A team of four with mixed credentials and one tracked competency.
fn team(d: &Daemon) -> (Vec<String>, Vec<String>) {
    let mut holders = Vec::new();
    let mut credentials = Vec::new();
    d.json(&["team", "add", "Day lab"]);
    let people = [
        ("Carmen Diaz", "ca-cpt1", "2026-06-01"),
        ("Ben Okafor", "ascp-pbt", "2027-09-01"),
        ("Emily Stone", "amt-rpt", "2028-01-01"),
        (
            "Aisha Khan with a rather long name that must wrap inside its box",
            "nha-cpt",
            "2026-07-21",
        ),
    ];
    for (name, program, expires) in people {
        let h = id(&d.json(&[
            "holder",
            "add",
            name,
            "--tz",
            "UTC",
            "--hired",
            "2026-01-15",
        ]));
        d.json(&["team", "add-member", "Day lab", &h]);
        let c = d.json(&["--holder", &h, "cert", "add", program, "--expires", expires]);
        credentials.push(id(&c));
        holders.push(h);
    }
    d.json(&[
        "competency",
        "assign",
        &holders[0],
        "--program",
        "phlebotomy-annual",
        "--skill",
        "Venipuncture",
    ]);
    (holders, credentials)
}

#[test]
fn the_team_report_renders_every_member_and_credential_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let (holders, credentials) = team(&d);
    let page = dir.path().join("report.html");
    let made = d.json(&[
        "report",
        "--html",
        page.to_str().unwrap(),
        "--team",
        "Day lab",
    ]);
    assert_eq!(made["holders"], 4, "{made}");
    assert_eq!(made["credentials"], 4, "{made}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src="),
        "the page must fetch nothing"
    );
    assert!(html.contains("@page"), "print CSS");

    let Some(bin) = chromium() else {
        eprintln!("no chromium (set RECERT_TEST_CHROMIUM, or run scripts/test): not rendered");
        return;
    };
    let profile = dir.path().join("chromium-profile");
    let dom = chrome(&bin, &profile, &page, &["--dump-dom"]);
    for h in &holders {
        assert!(dom.contains(&format!("data-holder=\"{h}\"")), "{h} missing");
    }
    for name in ["Carmen Diaz", "Ben Okafor", "Emily Stone", "Aisha Khan"] {
        assert!(dom.contains(name), "{name} missing from the rendered page");
    }
    for c in &credentials {
        assert!(
            dom.contains(&format!("data-credential=\"{c}\"")),
            "{c} missing"
        );
    }
    assert!(
        dom.contains("s-expired"),
        "Carmen's lapsed licence is marked"
    );
    assert!(dom.contains("data-competency=\"Venipuncture\""));
    assert!(
        dom.contains("id=\"overflow-findings\" data-count=\"0\""),
        "the page's overflow check ran and found nothing: {}",
        dom.split("overflow-findings")
            .nth(1)
            .unwrap_or("(no findings element)")
            .chars()
            .take(600)
            .collect::<String>()
    );

    let shot = std::env::temp_dir().join("recert-report-team.png");
    let _ = std::fs::remove_file(&shot);
    chrome(
        &bin,
        &profile,
        &page,
        &[&format!("--screenshot={}", shot.display())],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn a_holder_cannot_report_on_another_holder() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let (holders, _) = team(&d);
    let token = d.json(&[
        "token",
        "create",
        "--role",
        "holder",
        "--holder",
        &holders[1],
    ]);
    let token = token["token"].as_str().unwrap();
    let page = dir.path().join("other.html");
    let out = d.cli_as(
        Some(token),
        &[
            "--holder",
            &holders[0],
            "report",
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!page.exists(), "nothing written");
    let out = d.cli_as(
        Some(token),
        &[
            "report",
            "--html",
            page.to_str().unwrap(),
            "--team",
            "Day lab",
        ],
    );
    assert!(!out.status.success(), "a holder does not see the team");
    let own = d.json_as(token, &["report", "--html", page.to_str().unwrap()]);
    assert_eq!(own["holders"], 1, "{own}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Ben Okafor") && !html.contains("Carmen Diaz"));
}
