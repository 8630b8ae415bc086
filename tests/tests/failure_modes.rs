//! Start-up failures a user can meet: each gives one clear message and a non-zero exit,
//! never a panic and never a silent empty start; `recertd check` reports and repairs.

use recert_tests::{Daemon, binary};
use std::path::Path;
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
    // The files made above are readable by others: a warning that they were narrowed may
    // come first; the error is the last line.
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("recertd: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reports_a_sound_store_and_refuses_a_store_in_use() {
    if recert_tests::on_postgres() {
        // The data dir's lock and files are the sled engine's; PostgreSQL has neither.
        eprintln!("sled only: skipped on PostgreSQL");
        return;
    }
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

/// A small tmpfs, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. "4M"); `None` where mounting is not permitted.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount_read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_or_read_only_disk_fails_clearly_and_loses_nothing_acknowledged() {
    if recert_tests::on_postgres() {
        // The data dir's lock and files are the sled engine's; PostgreSQL has neither.
        eprintln!("sled only: skipped on PostgreSQL");
        return;
    }
    let Some(disk) = SmallDisk::mount("4M") else {
        eprintln!("not run: this machine does not allow mounting a tmpfs (needs root)");
        return;
    };
    let data = disk.path().join("data");
    let mut d = Daemon::start(&data, Some("2026-11-24T15:00:00Z"));
    d.json(&["holder", "add", "Dana Reyes"]);
    fill(disk.path());
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for i in 0..400 {
        let title = format!("course {i}");
        let out = d.cli(&[
            "--output",
            "json",
            "course",
            "log",
            &title,
            "--credits",
            "1",
            "--date",
            "2026-11-01",
        ]);
        if out.status.success() {
            acknowledged.push(title);
        } else {
            refusal = Some(stderr(&out));
            break;
        }
    }
    let refusal = refusal.expect("a full disk refuses writes");
    assert!(
        refusal.contains("cannot write to its data dir"),
        "{refusal}"
    );
    assert_eq!(refusal.lines().count(), 1, "{refusal}");
    // Once a flush failed, writes are refused at once, with the same message.
    let again = d.cli(&["course", "log", "after", "--credits", "1"]);
    assert!(
        stderr(&again).contains("cannot write to its data dir"),
        "{}",
        stderr(&again)
    );
    d.kill();

    std::fs::remove_file(disk.path().join("filler")).unwrap();
    let mut d = Daemon::start(&data, Some("2026-11-24T15:00:00Z"));
    let titles: Vec<String> = d
        .json(&["course", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        titles, acknowledged,
        "exactly the acknowledged courses survive"
    );
    assert_eq!(d.stop(), Some(0));

    disk.remount_read_only();
    let out = recertd(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the store") && err.contains("Read-only"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
