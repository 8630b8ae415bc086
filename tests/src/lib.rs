//! Harness for the end-to-end tests: starts the real `recertd` binary on port 0 with a
//! temporary data dir, and runs the real `recert` binary against it.
//!
//! With `RECERT_TEST_ENGINE=postgres` every daemon runs on PostgreSQL instead: a database of
//! its own (one per data dir, so a restart finds its data) on the cluster at
//! `RECERT_TEST_DATABASE_URL`, which `scripts/pg-cluster start` provides (`.ci/run` runs the
//! suite on both engines).
//!
//! The binaries come from the workspace's target dir, so run the tests with
//! `cargo test --workspace`, which builds them.

pub mod crash;
pub mod sinks;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A gRPC channel whose every call carries a bearer token: what tests hand to generated
/// clients (`HolderServiceClient::new(daemon.channel().await)`).
pub type AuthChannel = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call (nothing for `Bearer::none()`).
#[derive(Clone, Debug)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The header for `token`.
    pub fn new(token: &str) -> Bearer {
        Bearer(Some(
            format!("Bearer {token}").parse().expect("a token is ASCII"),
        ))
    }

    /// No header at all.
    pub fn none() -> Bearer {
        Bearer(None)
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The admin token recertd wrote into `data_dir` on first start.
pub fn admin_token(data_dir: &Path) -> String {
    let path = data_dir.join("admin.token");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Connects to `url`; every call carries `token` (none when `None`).
pub async fn connect_as(url: &str, token: Option<&str>) -> AuthChannel {
    let channel = Channel::from_shared(url.to_string())
        .expect("a valid URL")
        .connect()
        .await
        .expect("connect to recertd");
    InterceptedService::new(channel, token.map_or_else(Bearer::none, Bearer::new))
}

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

/// The engine under test: `Some(base URL)` when `RECERT_TEST_ENGINE=postgres`.
///
/// Panics when PostgreSQL is asked for without a cluster, so a misconfigured run fails
/// instead of quietly testing sled again.
pub fn postgres_base() -> Option<String> {
    match std::env::var("RECERT_TEST_ENGINE").as_deref() {
        Ok("postgres") => Some(std::env::var("RECERT_TEST_DATABASE_URL").expect(
            "RECERT_TEST_ENGINE=postgres needs RECERT_TEST_DATABASE_URL (eval \"$(scripts/pg-cluster start)\")",
        )),
        Ok("sled") | Ok("") | Err(_) => None,
        Ok(other) => panic!("unknown RECERT_TEST_ENGINE {other:?}: sled or postgres"),
    }
}

/// Whether the end-to-end tests run on PostgreSQL (tests of sled's files check this).
pub fn on_postgres() -> bool {
    postgres_base().is_some()
}

/// The database URL for the daemon of `data_dir` when testing PostgreSQL: a database named
/// after the data dir, created on first use on the cluster at `base`.
pub fn database_for(base: &str, data_dir: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data_dir.to_string_lossy().bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let name = format!("t{hash:016x}");
    let out = Command::new("psql")
        .arg(base)
        .args(["-qAtc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql (install postgresql-client, or use scripts/pg-cluster)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("already exists"),
        "cannot create database {name}: {stderr}"
    );
    let (server, _) = base.rsplit_once('/').expect("a database URL ends in /DB");
    format!("{server}/{name}")
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
    /// The PostgreSQL database this daemon uses, if it runs on PostgreSQL.
    database_url: Option<String>,
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

    /// Like [`Daemon::start_with`], on the sled store whatever the engine under test (for
    /// tests that move data between the engines).
    pub fn start_sled(data_dir: &Path, now: Option<&str>, extra: &[&str]) -> Daemon {
        let mut all: Vec<&str> = LOOPBACK_WEBHOOKS.to_vec();
        all.extend_from_slice(extra);
        let mut daemon = Daemon::start_on(data_dir, now, &all, false);
        daemon.extra = extra.iter().map(|s| s.to_string()).collect();
        daemon.loopback_webhooks = true;
        daemon
    }

    /// Like [`Daemon::start_with`], without the loopback webhook allowance: recertd's
    /// defaults as an operator gets them.
    pub fn start_exactly(data_dir: &Path, now: Option<&str>, extra: &[&str]) -> Daemon {
        Daemon::start_on(data_dir, now, extra, postgres_base().is_some())
    }

    fn start_on(data_dir: &Path, now: Option<&str>, extra: &[&str], postgres: bool) -> Daemon {
        let stderr_log = data_dir.with_extension("log");
        let mut command = Command::new(binary("recertd"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("RECERT_DATABASE_URL");
        let mut database_url = None;
        if let Some(base) = postgres_base().filter(|_| postgres)
            && !extra.contains(&"--database-url")
        {
            let url = database_for(&base, data_dir);
            command.arg("--database-url").arg(&url);
            database_url = Some(url);
        }
        command
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
            database_url,
        }
    }

    /// The admin token this daemon wrote on first start.
    pub fn admin_token(&self) -> String {
        admin_token(&self.data_dir)
    }

    /// A channel to this daemon whose calls carry the admin token.
    pub async fn channel(&self) -> AuthChannel {
        connect_as(&self.url, Some(&self.admin_token())).await
    }

    /// A channel to this daemon whose calls carry `token` (none when `None`).
    pub async fn channel_as(&self, token: Option<&str>) -> AuthChannel {
        connect_as(&self.url, token).await
    }

    /// Runs `recert` against this daemon with `args` as the admin (`RECERT_TOKEN` is the
    /// daemon's admin token), JSON output not forced.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_as(Some(&self.admin_token()), args)
    }

    /// Runs `recert` with `token` in `RECERT_TOKEN`, or with none at all (and a `HOME` and
    /// `XDG_DATA_HOME` with no admin.token in them).
    pub fn cli_as(&self, token: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(binary("recert"));
        command
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .env_remove("RECERT_SERVER")
            .env_remove("RECERT_HOLDER")
            .env_remove("RECERT_CA")
            .env("NO_COLOR", "1");
        match token {
            Some(token) => command.env("RECERT_TOKEN", token),
            None => {
                let home = self.data_dir.with_extension("home");
                command
                    .env_remove("RECERT_TOKEN")
                    .env("HOME", &home)
                    .env("XDG_DATA_HOME", home.join("data"))
            }
        };
        command.output().expect("run recert")
    }

    /// Like [`Daemon::json`], with `token` (see [`Daemon::cli_as`]).
    pub fn json_as(&self, token: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.cli_as(Some(token), &all);
        assert!(
            out.status.success(),
            "recert {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("recert printed JSON")
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

    /// Waits until every alert `alerts list --all` shows (with `args`, e.g. `--holder H`)
    /// satisfies `check`, re-reading what the daemon writes after it started; fails after
    /// 30 s. Returns the list that satisfied it.
    pub fn alerts_until(
        &self,
        args: &[&str],
        check: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut all = vec!["alerts", "list", "--all"];
        all.extend_from_slice(args);
        loop {
            let list = self.json(&all).as_array().cloned().unwrap_or_default();
            if check(&list) || std::time::Instant::now() > deadline {
                assert!(check(&list), "{list:#?}");
                return list;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
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

    /// The daemon's process id while it runs (to read its CPU time and memory in /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The daemon's peak resident memory so far (VmHWM in `/proc/PID/status`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.pid().expect("recertd is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// The daemon's resident memory now (VmRSS in `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.pid().expect("recertd is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Runs `recertd check` (with `extra` flags, e.g. `--repair`) on this daemon's store,
    /// which must be stopped first ([`Daemon::stop`]): on the same engine it ran on.
    pub fn check_store(&self, extra: &[&str]) -> Output {
        let mut command = Command::new(binary("recertd"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("RECERT_DATABASE_URL");
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command
            .arg("check")
            .args(extra)
            .output()
            .expect("run recertd check")
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
