//! `recert status` end to end: the real `recert` binary run as a process against a warm
//! `recertd`, timed over many runs, next to `recert --version` (the same process started and
//! stopped without touching the network) so the share of process start-up is visible. When
//! hyperfine is on the PATH it times the same command as a cross-check.

use crate::daemon::Daemon;
use crate::latency::Latency;
use crate::load::{connect, create_holder};
use crate::{BenchError, Result};
use jiff::ToSpan;
use recert_proto::v1 as pb;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// The `recert` binary.
    pub recert: PathBuf,
    /// The `recertd` binary.
    pub recertd: PathBuf,
    /// Timed runs.
    pub runs: usize,
    /// Untimed runs first (warm the daemon, the page cache and the binary).
    pub warmup: usize,
    /// Courses of the default holder.
    pub courses: u64,
    /// Also run hyperfine if it is on the PATH.
    pub hyperfine: bool,
}

/// hyperfine's figures for the same command.
#[derive(Debug, Clone, Serialize)]
pub struct Hyperfine {
    /// Runs.
    pub runs: usize,
    /// Mean, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub median_ms: f64,
    /// Standard deviation, ms.
    pub stddev_ms: f64,
}

/// Timings of `recert status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The command timed.
    pub command: String,
    /// Credentials and courses the default holder has.
    pub credentials: usize,
    /// Courses the default holder has.
    pub courses: u64,
    /// `recert status`, wall time per process.
    pub status: Latency,
    /// `recert --version`, wall time per process: start-up and exit alone.
    pub version: Latency,
    /// hyperfine's measurement, when it ran.
    pub hyperfine: Option<Hyperfine>,
}

/// Gives the daemon a default holder with three credentials and `courses` courses.
async fn seed(url: &str, token: &str, courses: u64) -> Result<usize> {
    let channel = connect(url, Some(token), 1).await?.remove(0);
    let today = crate::seed::today();
    let holder = create_holder(channel.clone(), "Dana Reyes".into()).await?;
    let programs = [("nha-cpt", 300), ("ascp-pbt", 700), ("ca-cpt1", 45)];
    let mut credentials = CredentialServiceClient::new(channel.clone());
    for (program, days) in programs {
        credentials
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    holder_id: holder.clone(),
                    program: program.into(),
                    expires_on: today
                        .checked_add(i64::from(days).days())
                        .unwrap_or(today)
                        .to_string(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateCredential"))?;
    }
    let mut client = CourseServiceClient::new(channel);
    for i in 0..courses {
        let course = crate::seed::course(0, i, today);
        client
            .create_course(pb::CreateCourseRequest {
                course: Some(pb::Course {
                    holder_id: holder.clone(),
                    title: course.title,
                    completed_on: course.completed_on.to_string(),
                    credits_hundredths: course.amount.0,
                    unit: "hours".into(),
                    categories: course.categories,
                    format: "online".into(),
                    ..Default::default()
                }),
                allow_duplicate: true,
            })
            .await
            .map_err(BenchError::rpc("CreateCourse"))?;
    }
    Ok(programs.len())
}

/// Runs `recert ARGS` once and returns its wall time; fails if it fails.
fn time_once(recert: &Path, args: &[&str]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(recert)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RECERT_SERVER")
        .env_remove("RECERT_HOLDER")
        .env_remove("RECERT_OUTPUT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(BenchError::io(format!("run {}", recert.display())))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(BenchError::Check(format!(
            "recert {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(took)
}

fn time_runs(recert: &Path, args: &[&str], warmup: usize, runs: usize) -> Result<Latency> {
    for _ in 0..warmup {
        time_once(recert, args)?;
    }
    let samples = (0..runs.max(1))
        .map(|_| time_once(recert, args))
        .collect::<Result<Vec<_>>>()?;
    Ok(Latency::of(&samples))
}

/// Times the command with hyperfine, if it is installed.
fn hyperfine(command: &str, warmup: usize, runs: usize) -> Option<Hyperfine> {
    let out_file = tempfile::NamedTempFile::new().ok()?;
    let status = Command::new("hyperfine")
        .args(["--shell=none", "--style", "none", "--warmup"])
        .arg(warmup.to_string())
        .arg("--runs")
        .arg(runs.max(2).to_string())
        .arg("--export-json")
        .arg(out_file.path())
        .arg(command)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_file.path()).ok()?).ok()?;
    let result = json.get("results")?.get(0)?;
    let ms = |key: &str| {
        result
            .get(key)
            .and_then(serde_json::Value::as_f64)
            .map(|s| s * 1e3)
    };
    Some(Hyperfine {
        runs: result.get("times")?.as_array()?.len(),
        mean_ms: ms("mean")?,
        median_ms: ms("median")?,
        stddev_ms: ms("stddev").unwrap_or(0.0),
    })
}

/// Starts a daemon in a temporary dir under `scratch`, seeds it, and times the CLI.
pub async fn run(scratch: &Path, options: &StatusOptions) -> Result<StatusReport> {
    let dir = tempfile::tempdir_in(scratch).map_err(BenchError::io("create a data dir"))?;
    let daemon = Daemon::start(
        &options.recertd,
        &dir.path().join("data"),
        &[],
        &dir.path().join("recertd.log"),
    )
    .await?;
    let credentials = seed(&daemon.url, &daemon.token, options.courses).await?;
    let recert = options.recert.clone();
    let url = daemon.url.clone();
    let token = daemon.token.clone();
    let (runs, warmup) = (options.runs, options.warmup);
    let (status, version) = tokio::task::spawn_blocking(move || -> Result<_> {
        let status = time_runs(
            &recert,
            &["--server", &url, "--token", &token, "status"],
            warmup,
            runs,
        )?;
        let version = time_runs(&recert, &["--version"], warmup, runs)?;
        Ok((status, version))
    })
    .await
    .map_err(|e| BenchError::Task(e.to_string()))??;
    let command = format!(
        "{} --server {} --token {} status",
        options.recert.display(),
        daemon.url,
        daemon.token
    );
    let hyperfine = if options.hyperfine {
        let command = command.clone();
        tokio::task::spawn_blocking(move || hyperfine(&command, warmup, runs))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    daemon.stop().await?;
    Ok(StatusReport {
        command,
        credentials,
        courses: options.courses,
        status,
        version,
        hyperfine,
    })
}

impl std::fmt::Display for StatusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "recert status end to end ({} credentials, {} courses), {} runs:",
            self.credentials, self.courses, self.status.count
        )?;
        writeln!(
            f,
            "  recert status:    median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
            self.status.p50_ms, self.status.p90_ms, self.status.max_ms
        )?;
        write!(
            f,
            "  recert --version: median {:.2} ms, p90 {:.2} ms (process start-up and exit only)",
            self.version.p50_ms, self.version.p90_ms
        )?;
        if let Some(h) = &self.hyperfine {
            write!(
                f,
                "\n  hyperfine:        median {:.2} ms, mean {:.2} ± {:.2} ms over {} runs",
                h.median_ms, h.mean_ms, h.stddev_ms, h.runs
            )?;
        }
        Ok(())
    }
}
