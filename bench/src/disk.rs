//! The disk's durability floor: how long one small write plus `fdatasync` takes in the data
//! dir. Every acknowledged recertd write waits for at least one such sync (sled's `flush`),
//! so this bounds the latency of a single durable write and the number of group commits per
//! second.

use crate::latency::Latency;
use crate::{BenchError, Result};
use serde::Serialize;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes written before each sync: one page, as a small group commit writes.
const WRITE_BYTES: usize = 4096;

/// Sync latency of the disk under a directory.
#[derive(Debug, Clone, Serialize)]
pub struct DiskReport {
    /// Where the probe file was.
    pub dir: PathBuf,
    /// Syncs timed.
    pub syncs: usize,
    /// Bytes appended before each sync.
    pub bytes_per_sync: usize,
    /// Time of one write + `fdatasync`.
    pub latency: Latency,
    /// Sequential syncs per second (1 / mean).
    pub syncs_per_s: f64,
}

/// Appends `WRITE_BYTES` and calls `fdatasync`, `syncs` times, in a temporary file in `dir`.
pub fn probe(dir: &Path, syncs: usize) -> Result<DiskReport> {
    let mut file = tempfile::tempfile_in(dir).map_err(BenchError::io("create the probe file"))?;
    let page = vec![0xa5u8; WRITE_BYTES];
    let mut samples = Vec::with_capacity(syncs);
    let started = Instant::now();
    for i in 0..syncs.max(1) {
        // Rewrite a window of 64 pages so the file does not grow without end.
        let offset = (i % 64 * WRITE_BYTES) as u64;
        let t = Instant::now();
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(&page))
            .and_then(|()| file.sync_data())
            .map_err(BenchError::io("write and sync the probe file"))?;
        samples.push(t.elapsed());
    }
    let total = started.elapsed();
    Ok(DiskReport {
        dir: dir.to_path_buf(),
        syncs: samples.len(),
        bytes_per_sync: WRITE_BYTES,
        latency: Latency::of(&samples),
        syncs_per_s: samples.len() as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
    })
}

impl std::fmt::Display for DiskReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "disk sync ({} B + fdatasync, {} times in {}): {}; {:.0} syncs/s",
            self.bytes_per_sync,
            self.syncs,
            self.dir.display(),
            self.latency,
            self.syncs_per_s
        )
    }
}
