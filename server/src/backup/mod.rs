//! Scheduled backups: on a cron schedule (UTC) the daemon writes a recert-export dump to the
//! backup dir as `recert-YYYYMMDDTHHMMSSZ.jsonl`, atomically (a temporary file, synced, then
//! renamed into place), and deletes all but the newest few.
//!
//! A fire missed while the daemon was down is not made up: the next one comes on schedule.
//! Backups hold webhook secrets (they exist to restore the store), so files are created
//! readable by the owner only.

pub mod format;
pub mod read;

pub use format::{FORMAT, VERSION, lines};
pub use read::{DumpFile, Reader, first_bad_lines};

use crate::alerts::schedule::TickSchedule;
use crate::clock::Clock;
use crate::store::{Dump, Store, StoreError};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The default schedule: 02:30 UTC every day.
pub const DEFAULT_SCHEDULE: &str = "0 30 2 * * *";
/// How many backups are kept by default.
pub const DEFAULT_KEEP: usize = 7;
/// The task re-reads the clock at least this often (clock jumps, suspend).
const MAX_IDLE: SignedDuration = SignedDuration::from_secs(3600);
const PREFIX: &str = "recert-";
const SUFFIX: &str = ".jsonl";

/// When and where backups are written, and how many are kept.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// When to write one, in UTC; `None` turns scheduled backups off.
    pub schedule: Option<TickSchedule>,
    /// Where they go.
    pub dir: PathBuf,
    /// How many to keep (at least 1).
    pub keep: usize,
}

impl BackupConfig {
    /// The defaults: daily at 02:30 UTC into `<data_dir>/backups`, keeping 7.
    pub fn new(data_dir: &Path) -> Self {
        BackupConfig {
            schedule: Some(
                TickSchedule::parse(DEFAULT_SCHEDULE).expect("the default schedule parses"),
            ),
            dir: data_dir.join("backups"),
            keep: DEFAULT_KEEP,
        }
    }

    /// Parses a schedule: a cron expression as for alerts, or `off`.
    pub fn parse_schedule(text: &str) -> Result<Option<TickSchedule>, BackupError> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        TickSchedule::parse(text)
            .map(Some)
            .map_err(|_| BackupError::Schedule(text.to_string()))
    }
}

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The schedule does not parse.
    #[error(
        "backup schedule {0:?} is not a cron expression (sec min hour day month weekday, in UTC; e.g. \"0 30 2 * * *\") or \"off\""
    )]
    Schedule(String),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be written, renamed or removed.
    #[error("backup: {what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io { what, path, source }
}

/// The file name of a backup made at `at`: `recert-20261124T023000Z.jsonl`.
pub fn file_name(at: Timestamp) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is a backup's file name (so pruning never touches anything else).
fn is_backup(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .is_some_and(|stamp| {
            let b = stamp.as_bytes();
            b.len() == 16
                && b[8] == b'T'
                && b[15] == b'Z'
                && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
        })
}

/// Writes a dump of `store` made at `now` into `dir` (created if needed) atomically, then
/// deletes all but the newest `keep` backups there (and temporary files left by a crash).
/// Returns the new file. Blocking file I/O: call it off the async threads.
pub fn write_backup(
    dump: Dump,
    dir: &Path,
    keep: usize,
    now: Timestamp,
) -> Result<PathBuf, BackupError> {
    create_private_dir(dir).map_err(io("cannot create the directory", dir))?;
    let path = dir.join(file_name(now));
    let tmp = dir.join(format!("{}.tmp", file_name(now)));
    let written = (|| {
        let file = create_private_file(&tmp)?;
        let mut out = std::io::BufWriter::new(file);
        for line in lines(dump, now, true) {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("cannot write", &tmp)(e));
    }
    std::fs::rename(&tmp, &path).map_err(io("cannot rename into place", &path))?;
    // The rename is durable once the directory is synced.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync the directory", dir))?;
    prune(dir, keep.max(1))?;
    Ok(path)
}

/// Deletes all but the newest `keep` backups in `dir`, and leftover temporary files.
fn prune(dir: &Path, keep: usize) -> Result<(), BackupError> {
    let mut backups = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(io("cannot list", dir))?;
    for entry in entries {
        let entry = entry.map_err(io("cannot list", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_backup(&name) {
            backups.push(name);
        } else if name.strip_suffix(".tmp").is_some_and(is_backup) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
        }
    }
    // The names sort by time.
    backups.sort_unstable();
    let old = backups.len().saturating_sub(keep);
    for name in &backups[..old] {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
        tracing::info!(path = %path.display(), "old backup removed");
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes a backup at every fire of `config.schedule` until `shutdown` is cancelled. Does
/// nothing when scheduled backups are off.
pub async fn run<S: Store>(
    store: S,
    clock: Arc<dyn Clock>,
    config: BackupConfig,
    shutdown: CancellationToken,
) {
    let Some(schedule) = config.schedule else {
        tracing::info!("scheduled backups are off");
        return;
    };
    tracing::info!(schedule = %schedule.as_str(), dir = %config.dir.display(), keep = config.keep, "backup schedule started");
    let mut next = schedule.next_after(&TimeZone::UTC, clock.now());
    while let Some(at) = next {
        let now = clock.now();
        if now >= at {
            let (dir, keep) = (config.dir.clone(), config.keep);
            let written = match store.dump().await {
                Ok(dump) => {
                    tokio::task::spawn_blocking(move || write_backup(dump, &dir, keep, now)).await
                }
                Err(e) => Ok(Err(BackupError::Store(e))),
            };
            match written {
                Ok(Ok(path)) => tracing::info!(path = %path.display(), "backup written"),
                Ok(Err(e)) => tracing::error!(error = %e, "backup failed"),
                Err(e) => tracing::error!(error = %e, "backup task failed"),
            }
            next = schedule.next_after(&TimeZone::UTC, now);
            continue;
        }
        let wait = at.duration_since(now).clamp(SignedDuration::ZERO, MAX_IDLE);
        let wait = std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => break,
        }
    }
    tracing::info!("backup schedule stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::Reader;
    use crate::domain::Holder;
    use crate::store::StoreOptions;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn three_backups_keep_two_the_newest_each_a_valid_dump() {
        let tmp = tempfile::tempdir().unwrap();
        let store =
            crate::store::SledStore::open(&tmp.path().join("data"), &StoreOptions::default())
                .unwrap();
        store
            .create_holder(Holder {
                id: 0,
                name: "Dana Reyes".into(),
                email: String::new(),
                time_zone: "America/Chicago".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        let dir = tmp.path().join("backups");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a backup").unwrap();
        std::fs::write(dir.join("recert-20260101T000000Z.jsonl.tmp"), "crashed").unwrap();
        let times = [
            "2026-11-22T02:30:00Z",
            "2026-11-23T02:30:00Z",
            "2026-11-24T02:30:00Z",
        ];
        let mut written = Vec::new();
        for t in times {
            written.push(
                write_backup(
                    crate::store::Snapshots::dump(&store).await.unwrap(),
                    &dir,
                    2,
                    ts(t),
                )
                .unwrap(),
            );
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "notes.txt",
                "recert-20261123T023000Z.jsonl",
                "recert-20261124T023000Z.jsonl"
            ]
        );
        assert_eq!(written[2], dir.join("recert-20261124T023000Z.jsonl"));
        for name in &names[1..] {
            let mut reader = Reader::new();
            reader.push(&std::fs::read(dir.join(name)).unwrap());
            let dump = reader
                .finish(ts("2026-11-24T03:00:00Z"), |_| None)
                .unwrap_or_else(|e| panic!("{name} is not a valid dump: {e:?}"));
            assert_eq!(dump.holders.len(), 1, "{name}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&written[2]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.close().await.unwrap();
    }

    #[test]
    fn the_default_fires_at_half_past_two_utc() {
        let config = BackupConfig::new(Path::new("/data"));
        assert_eq!(config.dir, Path::new("/data/backups"));
        let schedule = config.schedule.unwrap();
        assert_eq!(
            schedule.next_after(&TimeZone::UTC, ts("2026-11-24T15:00:00Z")),
            Some(ts("2026-11-25T02:30:00Z"))
        );
        assert!(BackupConfig::parse_schedule("off").unwrap().is_none());
        let e = BackupConfig::parse_schedule("nightly").unwrap_err();
        assert!(e.to_string().contains("\"nightly\""), "{e}");
    }

    #[test]
    fn only_backup_names_are_backups() {
        assert!(is_backup("recert-20261124T023000Z.jsonl"));
        assert!(!is_backup("recert-20261124T023000Z.jsonl.tmp"));
        assert!(!is_backup("recert-latest.jsonl"));
        assert!(!is_backup("other-20261124T023000Z.jsonl"));
    }
}
