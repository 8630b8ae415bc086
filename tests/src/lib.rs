//! Harness for the end-to-end tests: starts the real `recertd` binary on port 0 with a
//! temporary data dir, and runs the real `recert` binary against it.
//!
//! The binaries come from the workspace's target dir, so run the tests with
//! `cargo test --workspace`, which builds them.

pub mod crash;
pub mod sinks;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Path of a workspace binary: `target/<profile>/<name>`, found from the running executable
/// (a test in `target/<profile>/deps/`, or a tool in `target/<profile>/`), so it works
/// whatever `CARGO_TARGET_DIR` is.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut profile_dir = exe.parent().expect("the executable has a directory");
    if profile_dir.ends_with("deps") {
        profile_dir = profile_dir.parent().expect("deps sits in target/<profile>");
    }
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// The flags every test daemon gets: the test receivers listen on loopback, which recertd
/// refuses as a webhook destination unless allowed.
pub const LOOPBACK_WEBHOOKS: [&str; 4] = [
    "--webhook-allow-net",
    "127.0.0.0/8",
    "--webhook-allow-net",
    "::1/128",
];

/// The same allowance for tests that build an alert engine in-process.
pub fn loopback_nets() -> Vec<recertd::config::IpNet> {
    vec![
        "127.0.0.0/8".parse().expect("a CIDR"),
        "::1/128".parse().expect("a CIDR"),
    ]
}

/// A running `recertd` process.
pub struct Daemon {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data dir (owned by the caller's `TempDir`).
    pub data_dir: PathBuf,
    now: Option<String>,
    extra: Vec<String>,
    loopback_webhooks: bool,
    stderr_log: PathBuf,
}

impl Daemon {
    /// Starts `recertd` on port 0 over `data_dir`, its clock frozen at `now` (RFC 3339) when
    /// given, and waits until it listens.
    pub fn start(data_dir: &Path, now: Option<&str>) -> Daemon {
        Daemon::start_with(data_dir, now, &[])
    }

    /// Like [`Daemon::start`], with extra `recertd` flags.
    pub fn start_with(data_dir: &Path, now: Option<&str>, extra: &[&str]) -> Daemon {
        let mut all: Vec<&str> = LOOPBACK_WEBHOOKS.to_vec();
        all.extend_from_slice(extra);
        let mut daemon = Daemon::start_exactly(data_dir, now, &all);
        daemon.extra = extra.iter().map(|s| s.to_string()).collect();
        daemon.loopback_webhooks = true;
        daemon
    }

    /// Like [`Daemon::start_with`], without the loopback webhook allowance: recertd's
    /// defaults as an operator gets them.
    pub fn start_exactly(data_dir: &Path, now: Option<&str>, extra: &[&str]) -> Daemon {
        let stderr_log = data_dir.with_extension("log");
        let mut command = Command::new(binary("recertd"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("RECERT_NOW")
            .env("RECERT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&stderr_log)
                    .expect("open daemon log"),
            );
        if let Some(now) = now {
            command.env("RECERT_NOW", now);
        }
        let mut child = command.spawn().expect("spawn recertd");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read recertd stdout");
        let addr = line
            .trim()
            .strip_prefix("recertd listening on ")
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(&stderr_log).unwrap_or_default();
                panic!("recertd did not start: stdout {line:?}, log:\n{log}")
            })
            .to_string();
        Daemon {
            child: Some(child),
            url: format!("http://{addr}"),
            data_dir: data_dir.to_path_buf(),
            now: now.map(str::to_string),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            loopback_webhooks: false,
            stderr_log,
        }
    }

    /// Runs `recert` against this daemon with `args`, JSON output not forced.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(binary("recert"))
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .env_remove("RECERT_SERVER")
            .env_remove("RECERT_HOLDER")
            .env_remove("RECERT_CA")
            .env("NO_COLOR", "1")
            .output()
            .expect("run recert")
    }

    /// Runs `recert --output json ARGS`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "recert {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "recert {args:?} printed invalid JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Sends SIGTERM and waits; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
        child.wait().expect("wait for recertd").code()
    }

    /// Sends SIGKILL and waits.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (SIGTERM) and starts again on the same data dir with the same clock.
    pub fn restart(&mut self) {
        assert_eq!(self.stop(), Some(0), "recertd should exit 0 on SIGTERM");
        let now = self.now.clone();
        let extra = self.extra.clone();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let data_dir = self.data_dir.clone();
        *self = if self.loopback_webhooks {
            Daemon::start_with(&data_dir, now.as_deref(), &extra)
        } else {
            Daemon::start_exactly(&data_dir, now.as_deref(), &extra)
        };
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
