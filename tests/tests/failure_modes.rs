//! Start-up failures a user can meet: each gives one clear message and a non-zero exit,
//! never a panic and never a silent empty start; `recertd check` reports and repairs.

use recert_tests::{Daemon, binary};
use std::process::{Command, Output};

fn recertd(args: &[&str]) -> Output {
    Command::new(binary("recertd"))
        .args(args)
        .env_remove("RECERT_DATA_DIR")
        .env_remove("RECERT_LISTEN")
        .output()
        .expect("run recertd")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_data_dir_that_is_a_file_is_refused_clearly() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = recertd(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        file.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the store") && err.contains("cannot create it"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "no 'listening' line for a daemon that did not start"
    );
}

#[test]
fn a_damaged_store_is_refused_instead_of_starting_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("conf"), b"segment_size: banana").unwrap();
    std::fs::write(db.join("db"), vec![0x5Au8; 256 * 1024]).unwrap();
    let out = recertd(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.starts_with("recertd: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reports_a_sound_store_and_refuses_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start(&data, Some("2026-11-24T15:00:00Z"));
    d.json(&["holder", "add", "Dana Reyes"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", "2027-04-24"]);
    d.json(&[
        "course",
        "log",
        "Safety",
        "--credits",
        "2",
        "--date",
        "2026-11-01",
    ]);

    let busy = recertd(&["check", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(busy.status.code(), Some(2));
    assert!(
        stderr(&busy).contains("in use by another recertd"),
        "{}",
        stderr(&busy)
    );

    assert_eq!(d.stop(), Some(0));
    let out = recertd(&["check", "--json", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["records"]["courses"], 1);
    assert_eq!(report["index_entries"]["idx_credential_by_expiry"], 1);
    let repaired = recertd(&["check", "--repair", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(repaired.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&repaired.stdout).contains("repaired: the store is sound"));
}
