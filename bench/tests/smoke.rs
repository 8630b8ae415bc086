//! The quick suite end to end: the real `recert-bench all --quick` against the real
//! `recertd` and `recert` binaries of this build, in a temporary scratch dir. It proves the
//! harness works (every section runs and the JSON report is complete); it asserts nothing
//! about speed.

use std::path::PathBuf;
use std::process::Command;

/// Where cargo put this build's binaries: the bench binary's own directory.
fn bin_dir() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_recert-bench"));
    let dir = bench
        .parent()
        .expect("binary has a parent dir")
        .to_path_buf();
    for name in ["recertd", "recert"] {
        assert!(
            dir.join(name).is_file(),
            "{name} is not built in {}; run `cargo test --workspace` (or `cargo build -p recertd -p recert`)",
            dir.display()
        );
    }
    dir
}

#[test]
fn quick_suite_runs_every_benchmark() {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let json = scratch.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_recert-bench"))
        .arg("all")
        .arg("--quick")
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--scratch")
        .arg(scratch.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run recert-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "recert-bench all --quick failed:\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tick(largest)/tick(smallest)"), "{stdout}");
    assert!(stdout.contains("health baseline"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON report written"))
            .expect("JSON report parses");
    assert_eq!(report["quick"], true);
    for section in [
        "machine", "disk", "engine", "seed", "memory", "tick", "load", "status",
    ] {
        assert!(
            report[section].is_object(),
            "no {section} section: {report}"
        );
    }
    assert_eq!(report["targets"].as_array().map(Vec::len), Some(8));
    // The tick asserted its alert counts itself; every size is reported.
    assert_eq!(report["tick"]["sizes"].as_array().map(Vec::len), Some(2));
    // Each class of the default mix was measured alone, and the baseline is a real rate.
    assert_eq!(report["load"]["alone"].as_array().map(Vec::len), Some(4));
    assert!(
        report["load"]["baseline_rate"]
            .as_f64()
            .is_some_and(|r| r > 0.0)
    );
    assert!(
        report["memory"]["idle_empty"]["rss_kib"]
            .as_u64()
            .is_some_and(|k| k > 0)
    );
    assert!(
        report["status"]["status"]["count"]
            .as_u64()
            .is_some_and(|n| n >= 1)
    );
}
