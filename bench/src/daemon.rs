//! The real `recertd` binary as a child process: started on port 0 over a data dir, its
//! address read from the ready line it prints, its memory read from /proc, stopped with
//! SIGTERM like systemd would.

use crate::{BenchError, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// How long recertd may take to print its ready line (opening a large store included).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long recertd may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Finds a workspace binary: in `dir` if given, else next to the running executable (and one
/// level up from a test's `deps/`), which is where cargo puts them.
pub fn binary(dir: Option<&Path>, name: &str) -> Result<PathBuf> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            let exe = std::env::current_exe().map_err(BenchError::io("find this executable"))?;
            let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            if dir.file_name().is_some_and(|n| n == "deps") {
                dir.pop();
            }
            dir
        }
    };
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BenchError::Usage(format!(
            "{name} is not built in {}: run `cargo build --release -p recertd -p recert` \
             (or pass --bin-dir)",
            dir.display()
        )))
    }
}

/// Resident memory of a process, from /proc/PID/status.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// VmRSS: resident now, in KiB.
    pub rss_kib: u64,
    /// VmHWM: the most ever resident, in KiB.
    pub hwm_kib: u64,
}

/// A running `recertd`.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Kept open so the daemon never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where its stderr (logs) goes.
    pub log: PathBuf,
    /// The admin token it wrote into its data dir on first start.
    pub token: String,
}

impl Daemon {
    /// Starts `recertd` on 127.0.0.1 port 0 over `data_dir` with `extra` flags, logging to
    /// `log`, and waits for its ready line.
    pub async fn start(
        recertd: &Path,
        data_dir: &Path,
        extra: &[String],
        log: &Path,
    ) -> Result<Daemon> {
        let log_file = std::fs::File::create(log)
            .map_err(BenchError::io(format!("create {}", log.display())))?;
        let mut child = Command::new(recertd)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("RECERT_NOW")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(BenchError::io(format!("start {}", recertd.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Daemon("no stdout pipe".into()))?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line)).await;
        let addr = match read {
            Ok(Ok(_)) => line
                .trim()
                .strip_prefix("recertd listening on ")
                .map(str::to_string),
            _ => None,
        };
        let Some(addr) = addr else {
            let _ = child.kill().await;
            let logged = std::fs::read_to_string(log).unwrap_or_default();
            return Err(BenchError::Daemon(format!(
                "did not start (stdout {line:?}); its log:\n{logged}"
            )));
        };
        let token_file = data_dir.join("admin.token");
        let token = std::fs::read_to_string(&token_file)
            .map_err(BenchError::io(format!("read {}", token_file.display())))?
            .trim()
            .to_string();
        Ok(Daemon {
            child,
            _stdout: stdout,
            url: format!("http://{addr}"),
            log: log.to_path_buf(),
            token,
        })
    }

    /// The process id.
    pub fn pid(&self) -> Result<u32> {
        self.child
            .id()
            .ok_or_else(|| BenchError::Daemon("it has exited".into()))
    }

    /// Its resident memory now, and the most it ever had.
    pub fn memory(&self) -> Result<Memory> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(BenchError::io(format!("read /proc/{pid}/status")))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .ok_or_else(|| BenchError::Daemon(format!("no {name} in /proc/{pid}/status")))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    /// Stops it with SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) -> Result<()> {
        let pid = self.pid()?;
        let pid = nix::unistd::Pid::from_raw(
            i32::try_from(pid).map_err(|_| BenchError::Daemon("pid out of range".into()))?,
        );
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .map_err(|e| BenchError::Daemon(format!("cannot signal it: {e}")))?;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(BenchError::Daemon(format!("exited with {status}"))),
            Ok(Err(e)) => Err(BenchError::io("wait for recertd")(e)),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(BenchError::Daemon(format!(
                    "did not stop within {STOP_TIMEOUT:?} of SIGTERM"
                )))
            }
        }
    }
}
