//! The `recertd` binary's own flags and start-up errors. (Being an integration test of this
//! package, it also makes `cargo test --workspace` build the binary the end-to-end tests in
//! tests/ start.)

use std::process::Command;

fn recertd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recertd"))
        .args(args)
        .env_remove("RECERT_DATA_DIR")
        .env_remove("RECERT_ALERT_SCHEDULE")
        .output()
        .expect("run recertd")
}

#[test]
fn version_names_the_binary() {
    let out = recertd(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("recertd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_alert_schedule_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let out = recertd(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--alert-schedule",
        "every morning",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"every morning\" is not a cron expression"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("db").exists(), "nothing was created");
}

#[test]
fn check_of_a_new_data_dir_is_sound() {
    let dir = tempfile::tempdir().unwrap();
    let out = recertd(&["check", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("the store is sound"));
}
