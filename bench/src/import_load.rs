//! A large import into the real daemon while a second client asks for health and for a
//! holder's compliance (security review F4: a 243 MiB import froze every client for 98 s and
//! peaked at 8.8 GiB). One run: a base dump (holders, credentials, a few courses each) is
//! imported, the second client is timed for a while with nothing else going on, then the big
//! dump (the base records again, unchanged, and many more courses) is imported while it is
//! timed again. Reported: the daemon's peak RSS (VmHWM) before and after the import, and the
//! second client's latencies in both phases.

use crate::daemon::{Daemon, Memory};
use crate::latency::Latency;
use crate::load::{Channel, connect};
use crate::{BenchError, Result};
use recert_proto::v1 as pb;
use recert_proto::v1::backup_service_client::BackupServiceClient;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ImportLoadOptions {
    /// The `recertd` binary.
    pub recertd: PathBuf,
    /// Size of the big dump, in MiB.
    pub mib: u64,
    /// Holders in the dumps.
    pub holders: u64,
    /// How long the second client is timed with no import.
    pub baseline: Duration,
    /// Extra `recertd` flags (e.g. `--database-url`).
    pub extra: Vec<String>,
}

/// What the import did to the daemon and to the second client.
#[derive(Debug, Clone, Serialize)]
pub struct ImportLoadReport {
    /// Bytes of the big dump.
    pub dump_bytes: u64,
    /// Record lines of the big dump.
    pub records: u64,
    /// Seconds the big import took (sending included).
    pub import_secs: f64,
    /// The daemon after the base import and the baseline (VmHWM: its peak so far).
    pub before: Memory,
    /// The daemon after the big import.
    pub after: Memory,
    /// Health checks with no import.
    pub health_idle: Latency,
    /// ListCompliance of one holder with no import.
    pub compliance_idle: Latency,
    /// Health checks during the import.
    pub health_import: Latency,
    /// ListCompliance during the import.
    pub compliance_import: Latency,
}

impl std::fmt::Display for ImportLoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "import of {:.1} MiB ({} records) took {:.1} s",
            self.dump_bytes as f64 / 1048576.0,
            self.records,
            self.import_secs
        )?;
        writeln!(
            f,
            "daemon peak RSS: {} MiB before the import, {} MiB after (RSS now {} MiB)",
            self.before.hwm_kib / 1024,
            self.after.hwm_kib / 1024,
            self.after.rss_kib / 1024
        )?;
        writeln!(f, "health, no import:      {}", self.health_idle)?;
        writeln!(f, "health, import:         {}", self.health_import)?;
        writeln!(f, "compliance, no import:  {}", self.compliance_idle)?;
        write!(f, "compliance, import:     {}", self.compliance_import)
    }
}

/// Writes the dumps: `base` (holders, one credential each, 5 courses each) and `big` (the
/// same lines, then courses until it reaches `mib` MiB). Returns the big dump's bytes and
/// record lines.
pub(crate) fn write_dumps(base: &Path, big: &Path, holders: u64, mib: u64) -> Result<(u64, u64)> {
    let header = serde_json::json!({
        "format": "recert-export", "version": 1,
        "schema": recertd::store::SCHEMA_VERSION,
        "exported_at": "2026-06-15T11:00:00Z", "secrets": true,
    });
    let mut lines = Vec::new();
    for h in 1..=holders {
        lines.push(serde_json::json!({
            "kind": "holder", "id": format!("h{h}"), "name": format!("Holder {h}"),
            "email": "", "time_zone": "America/Chicago", "is_default": h == 1,
        }));
        lines.push(serde_json::json!({
            "kind": "credential", "id": format!("cr{h}"), "holder_id": format!("h{h}"),
            "program": "nha-cpt", "number": format!("CPT-{h}"), "issued_on": "2024-09-01",
            "expires_on": "2027-09-01", "history": [],
        }));
    }
    let course = |id: u64| {
        let h = id % holders + 1;
        serde_json::json!({
            "kind": "course", "id": format!("co{id}"), "holder_id": format!("h{h}"),
            "title": format!("Venipuncture refresher part {id}"),
            "provider": "County Hospital Education", "accreditation": "",
            "evidence": format!("certificates/{id}.pdf"),
            "completed_on": format!("2025-{:02}-{:02}", id % 12 + 1, id % 28 + 1),
            "credits_hundredths": 25 + (id % 4) * 25, "unit": "nha-credit",
            "categories": if id.is_multiple_of(5) { vec!["safety"] } else { vec![] },
            "format": "online", "credential_ids": [format!("cr{h}")],
        })
    };
    let base_courses = holders * 5;
    for id in 1..=base_courses {
        lines.push(course(id));
    }
    let io = |p: &Path| BenchError::io(format!("write {}", p.display()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(base).map_err(io(base))?);
    writeln!(out, "{header}").map_err(io(base))?;
    for l in &lines {
        writeln!(out, "{l}").map_err(io(base))?;
    }
    let end = serde_json::json!({"kind": "end", "records": lines.len()});
    writeln!(out, "{end}").map_err(io(base))?;
    out.flush().map_err(io(base))?;

    let mut out = std::io::BufWriter::new(std::fs::File::create(big).map_err(io(big))?);
    let mut bytes = 0u64;
    let put = |out: &mut std::io::BufWriter<std::fs::File>, bytes: &mut u64, text: String| {
        *bytes += text.len() as u64 + 1;
        writeln!(out, "{text}")
    };
    put(&mut out, &mut bytes, header.to_string()).map_err(io(big))?;
    for l in &lines {
        put(&mut out, &mut bytes, l.to_string()).map_err(io(big))?;
    }
    let mut records = lines.len() as u64;
    let mut id = base_courses;
    while bytes < mib * 1024 * 1024 {
        id += 1;
        put(&mut out, &mut bytes, course(id).to_string()).map_err(io(big))?;
        records += 1;
    }
    let end = serde_json::json!({"kind": "end", "records": records});
    put(&mut out, &mut bytes, end.to_string()).map_err(io(big))?;
    out.flush().map_err(io(big))?;
    Ok((bytes, records))
}

/// Sends the dump at `path` in 1 MiB pieces.
pub(crate) async fn import(channel: &Channel, path: &Path) -> Result<pb::ImportDataResponse> {
    let data = std::fs::read(path).map_err(BenchError::io(format!("read {}", path.display())))?;
    let pieces: Vec<pb::ImportDataRequest> = data
        .chunks(1024 * 1024)
        .map(|c| pb::ImportDataRequest {
            data: c.to_vec(),
            ..Default::default()
        })
        .collect();
    drop(data);
    let reply = BackupServiceClient::new(channel.clone())
        .max_decoding_message_size(64 * 1024 * 1024)
        .import_data(tokio_stream::iter(pieces))
        .await
        .map_err(BenchError::rpc("ImportData"))?;
    Ok(reply.into_inner())
}

/// The second client: health and one holder's compliance, each on its own connection, until
/// `stop`.
async fn probe(
    health: Channel,
    compliance: Channel,
    stop: Arc<AtomicBool>,
) -> Result<(Latency, Latency)> {
    let flag = stop.clone();
    let health = tokio::spawn(async move {
        let mut client = HealthClient::new(health);
        let mut times = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            let started = Instant::now();
            client
                .check(HealthCheckRequest::default())
                .await
                .map_err(BenchError::rpc("Check"))?;
            times.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, BenchError>(Latency::of(&times))
    });
    let compliance = tokio::spawn(async move {
        let mut client = ComplianceServiceClient::new(compliance);
        let mut times = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            client
                .list_compliance(pb::ListComplianceRequest {
                    holder_id: "h1".into(),
                    ..Default::default()
                })
                .await
                .map_err(BenchError::rpc("ListCompliance"))?;
            times.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, BenchError>(Latency::of(&times))
    });
    let task = |e: tokio::task::JoinError| BenchError::Task(e.to_string());
    Ok((
        health.await.map_err(task)??,
        compliance.await.map_err(task)??,
    ))
}

/// Runs the measurement in a fresh data dir under `scratch`.
pub async fn run(scratch: &Path, options: &ImportLoadOptions) -> Result<ImportLoadReport> {
    std::fs::create_dir_all(scratch).map_err(BenchError::io("create the scratch dir"))?;
    let work = tempfile::tempdir_in(scratch).map_err(BenchError::io("make a temporary dir"))?;
    let (base, big) = (
        work.path().join("base.jsonl"),
        work.path().join("big.jsonl"),
    );
    let (dump_bytes, records) = write_dumps(&base, &big, options.holders, options.mib)?;
    let daemon = Daemon::start(
        &options.recertd,
        &work.path().join("data"),
        &options.extra,
        &work.path().join("recertd.log"),
    )
    .await?;
    let mut channels = connect(&daemon.url, Some(&daemon.token), 3).await?;
    let importer = channels.pop().expect("three channels");
    import(&importer, &base).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(probe(
        channels[0].clone(),
        channels[1].clone(),
        stop.clone(),
    ));
    tokio::time::sleep(options.baseline).await;
    stop.store(true, Ordering::Relaxed);
    let (health_idle, compliance_idle) =
        idle.await.map_err(|e| BenchError::Task(e.to_string()))??;
    let before = daemon.memory()?;

    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn(probe(
        channels[0].clone(),
        channels[1].clone(),
        stop.clone(),
    ));
    let started = Instant::now();
    let imported = import(&importer, &big).await;
    let import_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (health_import, compliance_import) =
        busy.await.map_err(|e| BenchError::Task(e.to_string()))??;
    let after = daemon.memory()?;
    let imported = imported?;
    let added = records - (options.holders * 7);
    if imported.imported != added {
        return Err(BenchError::Check(format!(
            "the import wrote {} records, not {added}",
            imported.imported
        )));
    }
    daemon.stop().await?;
    Ok(ImportLoadReport {
        dump_bytes,
        records,
        import_secs,
        before,
        after,
        health_idle,
        compliance_idle,
        health_import,
        compliance_import,
    })
}
