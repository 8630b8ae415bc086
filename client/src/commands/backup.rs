//! `recert export` and `recert import`: the whole store as a recert-export dump and back.
//!
//! The dump goes to stdout as it arrives, or to a file that appears only once complete (a
//! temporary file renamed into place). An import reads the whole dump before sending it, so
//! a read error never reaches the server as a shorter dump.

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
    let mut stream = context.api.export(args.no_secrets).await?;
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
    let tmp = temporary_path(&path);
    let written = async {
        let mut file = io::BufWriter::new(create_private(&tmp).map_err(|e| file_error(&tmp, &e))?);
        let mut lines = 0u64;
        while let Some(chunk) = stream.next().await? {
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            file.write_all(&chunk).map_err(|e| file_error(&tmp, &e))?;
        }
        let file = file.into_inner().map_err(|e| file_error(&tmp, e.error()))?;
        file.sync_all().map_err(|e| file_error(&tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| file_error(&path, &e))?;
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
        file: path.display().to_string(),
        // Besides the header and the end line.
        records: lines.saturating_sub(2),
    };
    Ok(context.out.record(&report, || {
        format!(
            "Exported {} to {}",
            count(report.records as usize, "record"),
            report.file
        )
    }))
}

/// Runs `recert import`.
pub async fn import(context: &Context, args: ImportArgs) -> Result<String, Error> {
    let dump = read_dump(args.source())?;
    let pieces = dump.chunks(PIECE_BYTES).map(<[u8]>::to_vec).collect();
    let report = context.api.import(pieces).await?;
    Ok(context.out.record(&report, || summary(&report)))
}

/// The line `import` prints.
fn summary(report: &ImportReport) -> String {
    let mut text = format!(
        "Imported {} ({} already present, left alone)",
        count(report.imported as usize, "record"),
        report.unchanged
    );
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

/// `PATH.tmp`, next to `path` so the rename stays on one file system.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn file_error(path: &Path, e: &io::Error) -> Error {
    Error::Output(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A new file readable and writable by its owner only: dumps can hold webhook secrets.
fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_file_sits_next_to_the_target() {
        assert_eq!(
            temporary_path(Path::new("/backups/store.jsonl")),
            Path::new("/backups/store.jsonl.tmp")
        );
        assert_eq!(temporary_path(Path::new("dump")), Path::new("dump.tmp"));
    }

    #[test]
    fn the_summary_mentions_missing_secrets_only_when_there_are_some() {
        let mut report = ImportReport {
            imported: 12,
            unchanged: 3,
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
