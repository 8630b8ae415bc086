//! `recert export` and `recert import`: the whole store as a recert-export dump and back.
//!
//! The dump goes to stdout as it arrives (not to a terminal unless it leaves secrets out),
//! or to a file that appears only once complete: a new temporary file of a fresh name,
//! created exclusively without following links, then linked into place, so an existing file
//! (or a link planted where the dump goes) is never written through and is replaced only
//! with `--force`. An import reads the whole dump before sending it, so a read error never
//! reaches the server as a shorter dump.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use super::Context;
use crate::cli::{ExportArgs, ImportArgs};
use crate::error::Error;
use crate::model::{ExportReport, ImportReport};
use crate::render::count;

/// Size of the pieces an import is sent in.
const PIECE_BYTES: usize = 64 * 1024;

/// Runs `recert export`.
pub async fn export(context: &Context, args: ExportArgs) -> Result<String, Error> {
    if args.file.is_none() && !args.no_secrets && io::stdout().is_terminal() {
        return Err(Error::Usage(
            "the dump holds webhook secrets, so recert export does not print it on a terminal: \
             write it with --file PATH, pipe it elsewhere, or leave secrets out with --no-secrets"
                .to_owned(),
        ));
    }
    if let Some(path) = &args.file
        && !args.force
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(exists(path));
    }
    // With --holder (or RECERT_HOLDER), only that holder's records.
    let holder = context.holder.as_deref();
    let mut stream = context
        .api
        .export(args.no_secrets, holder)
        .await
        .map_err(|e| e.in_terms_of_flags(&[("holder_id", "--holder")]))?;
    let Some(path) = args.file else {
        let mut stdout = io::stdout().lock();
        while let Some(chunk) = stream.next().await? {
            match stdout.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(String::new()),
                Err(e) => return Err(Error::Output(e)),
            }
        }
        stdout.flush().map_err(Error::Output)?;
        return Ok(String::new());
    };
    let (tmp, file) = create_temporary(&path).map_err(|e| file_error(&path, &e))?;
    let written = async {
        let mut file = io::BufWriter::new(file);
        let mut lines = 0u64;
        while let Some(chunk) = stream.next().await? {
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            file.write_all(&chunk).map_err(|e| file_error(&tmp, &e))?;
        }
        let file = file.into_inner().map_err(|e| file_error(&tmp, e.error()))?;
        file.sync_all().map_err(|e| file_error(&tmp, &e))?;
        put_in_place(&tmp, &path, args.force)?;
        Ok::<u64, Error>(lines)
    }
    .await;
    let lines = match written {
        Ok(lines) => lines,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let report = ExportReport {
        holder: holder.map(str::to_owned),
        file: path.display().to_string(),
        // Besides the header and the end line.
        records: lines.saturating_sub(2),
    };
    Ok(context.out.record(&report, || {
        let whose = match &report.holder {
            Some(h) => format!(" of holder {h}"),
            None => String::new(),
        };
        format!(
            "Exported {}{whose} to {}",
            count(report.records as usize, "record"),
            report.file
        )
    }))
}

/// Runs `recert import`.
pub async fn import(context: &Context, args: ImportArgs) -> Result<String, Error> {
    let dump = read_dump(args.source())?;
    let pieces = dump.chunks(PIECE_BYTES).map(<[u8]>::to_vec).collect();
    let report = context
        .api
        .import(pieces, args.only, args.replace)
        .await
        .map_err(|e| match &e {
            // The dump's own fields keep their names; only --only is the user's flag.
            Error::Server { violations, .. }
                if !violations.is_empty() && violations.iter().all(|v| v.field == "only") =>
            {
                e.in_terms_of_flags(&[("only", "--only")])
            }
            _ => e,
        })?;
    Ok(context.out.record(&report, || summary(&report)))
}

/// The line `import` prints.
fn summary(report: &ImportReport) -> String {
    let mut text = format!(
        "Imported {} ({} already present, left alone)",
        count(report.imported as usize, "record"),
        report.unchanged
    );
    if report.replaced > 0 {
        text.push_str(&format!(
            "\nReplaced {} that differed from the store's",
            count(report.replaced as usize, "record")
        ));
    }
    if report.channels_without_secret > 0 {
        text.push_str(&format!(
            "\n{} restored without their secret (the dump left secrets out): \
             remove them and add them again with --secret to sign deliveries",
            count(report.channels_without_secret as usize, "webhook channel")
        ));
    }
    text
}

/// The dump from `path`, or from stdin for `None` or "-".
fn read_dump(path: Option<&Path>) -> Result<Vec<u8>, Error> {
    let mut dump = Vec::new();
    match path {
        Some(path) if path != Path::new("-") => {
            dump = std::fs::read(path)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        }
        _ => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage(
                    "recert import reads a dump from stdin; pipe one in or name the file: recert import FILE"
                        .to_owned(),
                ));
            }
            stdin
                .lock()
                .read_to_end(&mut dump)
                .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
        }
    }
    Ok(dump)
}

/// `.NAME.PID-N.tmp`, next to `path` so the link or rename stays on one file system.
fn temporary_path(path: &Path, attempt: u32) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{}-{attempt}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// A new private temporary file next to `path`: a name nobody else holds, created
/// exclusively, so a file or link planted there beforehand is never opened.
fn create_temporary(path: &Path) -> io::Result<(PathBuf, std::fs::File)> {
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..16 {
        let tmp = temporary_path(path, start.wrapping_add(attempt));
        match create_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Moves the finished dump at `tmp` to `path`: a new link that fails if `path` exists
/// (file or link alike), unless `force` replaces it.
fn put_in_place(tmp: &Path, path: &Path, force: bool) -> Result<(), Error> {
    if force {
        return std::fs::rename(tmp, path).map_err(|e| file_error(path, &e));
    }
    match std::fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists(path)),
        Err(e) => Err(file_error(path, &e)),
    }
}

/// `path` exists and `--force` was not given.
fn exists(path: &Path) -> Error {
    Error::Usage(format!(
        "{} already exists; recert export does not overwrite it unless --force is given",
        path.display()
    ))
}

fn file_error(path: &Path, e: &io::Error) -> Error {
    Error::Output(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A new file readable and writable by its owner only (dumps can hold webhook secrets),
/// created exclusively and never through a symbolic link.
fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
    }
    let file = options.open(path)?;
    // The mode above is filtered by the umask; a umask can only narrow 0600, never widen it.
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_file_sits_next_to_the_target() {
        let pid = std::process::id();
        assert_eq!(
            temporary_path(Path::new("/backups/store.jsonl"), 7),
            PathBuf::from(format!("/backups/.store.jsonl.{pid}-7.tmp"))
        );
        assert_eq!(
            temporary_path(Path::new("dump"), 0),
            PathBuf::from(format!(".dump.{pid}-0.tmp"))
        );
    }

    #[test]
    fn private_files_are_new_and_never_opened_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.conf");
        std::fs::write(&victim, b"keep me").unwrap();
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(create_private(&planted).is_err());
        assert!(create_private(&victim).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let (tmp, _file) = create_temporary(&dir.path().join("dump.jsonl")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        assert!(matches!(
            put_in_place(&tmp, &victim, false),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            put_in_place(&tmp, &planted, false),
            Err(Error::Usage(_))
        ));
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        put_in_place(&tmp, &dir.path().join("dump.jsonl"), false).unwrap();
        assert!(!tmp.exists());
    }

    #[test]
    fn the_summary_mentions_missing_secrets_only_when_there_are_some() {
        let mut report = ImportReport {
            imported: 12,
            unchanged: 3,
            replaced: 0,
            channels_without_secret: 0,
        };
        assert_eq!(
            summary(&report),
            "Imported 12 records (3 already present, left alone)"
        );
        report.channels_without_secret = 1;
        assert!(summary(&report).contains("\n1 webhook channel restored without their secret"));
        report.channels_without_secret = 2;
        assert!(summary(&report).contains("\n2 webhook channels restored"));
    }
}
