//! `recert.v1.BackupService`: the whole store out as a recert-export dump, streamed in
//! chunks of whole lines, and a dump back in, checked completely before anything is
//! written.

use super::{Api, ApiError};
use super::{caller, stream_caller};
use crate::backup;
use crate::domain::limits;
use crate::service::Caller;
use crate::service::import::{Choice, Only};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::backup_service_server::BackupService;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

/// Export chunks are cut after the first whole line that reaches this size.
const CHUNK_BYTES: usize = 64 * 1024;
/// The largest dump an import accepts.
const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;

/// Export and import of the whole store.
#[derive(Debug, Clone)]
pub struct BackupApi<S>(pub Api<S>);

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<pb::ExportDataResponse, Status>> + Send + 'static>>;

/// Joins lines into chunks of about `size` bytes, each ending at the end of a line.
fn chunks(lines: impl Iterator<Item = String>, size: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut lines = lines.peekable();
    std::iter::from_fn(move || {
        lines.peek()?;
        let mut chunk = Vec::with_capacity(size + 1024);
        for line in lines.by_ref() {
            chunk.extend_from_slice(line.as_bytes());
            chunk.push(b'\n');
            if chunk.len() >= size {
                break;
            }
        }
        Some(chunk)
    })
}

/// The records `only` names, checked against its limits first.
fn only_of(ids: &[String]) -> Result<Only, ApiError> {
    if ids.len() > limits::MAX_IMPORT_ONLY {
        return Err(ApiError::invalid(
            "only",
            format!(
                "only names {} records; at most {} may be chosen",
                ids.len(),
                limits::MAX_IMPORT_ONLY
            ),
        ));
    }
    if let Some(long) = ids.iter().find(|id| id.len() > 32) {
        return Err(ApiError::invalid(
            "only",
            format!("only {} is longer than 32 bytes", limits::quote(long)),
        ));
    }
    Only::parse(ids, "only").map_err(|e| ApiError::Invalid(vec![e]))
}

impl<S: Store> BackupApi<S> {
    /// Spools the request into an unnamed temporary file (so memory holds one piece at a
    /// time), then imports it in bounded batches (`service::import::import_file`).
    async fn import(
        &self,
        caller: Caller,
        mut stream: Streaming<pb::ImportDataRequest>,
    ) -> Result<pb::ImportDataResponse, Status> {
        use std::io::Write;
        let spool = |e: std::io::Error| {
            Status::internal(format!("cannot spool the dump to a temporary file: {e}"))
        };
        let file = tokio::task::spawn_blocking(tempfile::tempfile)
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(spool)?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        let mut bytes = 0u64;
        let mut only = None;
        let mut replace = false;
        while let Some(piece) = stream.message().await? {
            if piece.replace {
                if bytes > 0 {
                    return Err(ApiError::invalid(
                        "replace",
                        "replace goes with the first piece of the dump",
                    )
                    .into());
                }
                replace = true;
            }
            if !piece.only.is_empty() {
                if bytes > 0 || only.is_some() {
                    return Err(ApiError::invalid(
                        "only",
                        "only goes with the first piece of the dump",
                    )
                    .into());
                }
                only = Some(only_of(&piece.only)?);
            }
            bytes += piece.data.len() as u64;
            if bytes > MAX_IMPORT_BYTES {
                return Err(ApiError::invalid(
                    "data",
                    format!(
                        "the dump is larger than the {} MiB an import accepts",
                        MAX_IMPORT_BYTES / (1024 * 1024)
                    ),
                )
                .into());
            }
            // A piece is at most the gRPC message limit: writing it blocks only briefly.
            out.write_all(&piece.data).map_err(spool)?;
        }
        let file = out.into_inner().map_err(|e| spool(e.into_error()))?;
        let service = &self.0.service;
        let summary = service
            .import_file(
                &caller,
                Box::new(backup::DumpFile::new(file)),
                Choice { only, replace },
            )
            .await
            .map_err(ApiError::from)?;
        tracing::info!(
            by = %caller.who(),
            bytes,
            imported = summary.imported,
            unchanged = summary.unchanged,
            replaced = summary.replaced,
            "dump imported"
        );
        Ok(pb::ImportDataResponse {
            imported: summary.imported,
            unchanged: summary.unchanged,
            channels_without_secret: summary.channels_without_secret,
            replaced: summary.replaced,
        })
    }
}

#[tonic::async_trait]
impl<S: Store> BackupService for BackupApi<S> {
    type ExportDataStream = ExportStream;

    async fn export_data(
        &self,
        request: Request<pb::ExportDataRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let secrets = !request.get_ref().omit_secrets;
        let caller = caller(&request)?;
        let Ok(permit) = self.0.exports.clone().try_acquire_owned() else {
            tracing::warn!(by = %caller.who(), peer = ?request.remote_addr(), "export refused: too many at once");
            return Err(Status::resource_exhausted(format!(
                "{} exports are streaming already, the most at once; try again when one ends",
                super::MAX_EXPORTS
            )));
        };
        let service = self.0.service();
        let dump = match request.get_ref().holder_id.trim() {
            "" => service.export(&caller).await?,
            id => {
                let holder = service.holder_id(&caller, "holder_id", id).await?;
                service.export_holder(&caller, holder).await?
            }
        };
        tracing::info!(
            secrets,
            by = %caller.who(),
            peer = ?request.remote_addr(),
            "export streamed"
        );
        let lines = backup::lines(dump, self.0.service().clock().now(), secrets);
        let mut chunks = chunks(lines, CHUNK_BYTES);
        // The copy of the store lives in this task, which ends at the deadline however
        // slowly the reader reads: a stalled reader pins at most two chunks after it.
        let limit = self.0.export_deadline;
        let deadline = tokio::time::Instant::now() + limit;
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let who = caller.who();
        tokio::spawn(async move {
            // Held until this export ends, however it ends.
            let _permit = permit;
            loop {
                let Some(data) = chunks.next() else { return };
                let sent =
                    tokio::time::timeout_at(deadline, tx.send(Ok(pb::ExportDataResponse { data })))
                        .await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => break,
                }
            }
            drop(chunks);
            tracing::warn!(
                by = %who,
                secs = limit.as_secs(),
                "export cut off: the reader did not finish within the export deadline"
            );
            let _ = tx
                .send(Err(Status::deadline_exceeded(format!(
                    "the export was not read to the end within {} s \
                     (recertd --export-deadline-secs); run it again",
                    limit.as_secs()
                ))))
                .await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn import_data(
        &self,
        request: Request<Streaming<pb::ImportDataRequest>>,
    ) -> Result<Response<pb::ImportDataResponse>, Status> {
        let caller = stream_caller(&request);
        caller.require_admin("importing a dump")?;
        tracing::info!(by = %caller.who(), peer = ?request.remote_addr(), "import started");
        Ok(Response::new(
            self.import(caller, request.into_inner()).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_line_ends() {
        let lines = (0..10).map(|i| format!("line {i}"));
        let pieces: Vec<Vec<u8>> = chunks(lines, 20).collect();
        assert!(pieces.iter().all(|c| c.ends_with(b"\n")));
        assert!(pieces.len() > 1);
        let all: Vec<u8> = pieces.concat();
        assert_eq!(
            String::from_utf8(all).unwrap().lines().count(),
            10,
            "every line once"
        );
        assert_eq!(chunks(std::iter::empty(), 20).count(), 0);
    }
}
