//! The real daemon's memory: VmRSS of `recertd` idle on an empty data dir, idle right after
//! opening a large seeded one, and after it served compliance and course lists for every
//! holder in it.

use crate::daemon::{Daemon, Memory};
use crate::load::Channel;
use crate::load::connect;
use crate::{BenchError, Result};
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What to measure.
#[derive(Debug, Clone)]
pub struct MemoryOptions {
    /// The `recertd` binary.
    pub recertd: PathBuf,
    /// A seeded data dir (see [`crate::seed`]); `None` measures the empty daemon only.
    pub seeded_dir: Option<PathBuf>,
    /// Extra `recertd` flags (e.g. `--cache-mib 16`).
    pub extra: Vec<String>,
    /// Holders served at once.
    pub concurrency: usize,
    /// How long to let the daemon settle before an idle reading.
    pub settle: Duration,
}

/// Memory readings of the daemon.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// Extra flags it ran with.
    pub flags: Vec<String>,
    /// Idle after start on an empty data dir.
    pub idle_empty: Memory,
    /// Idle after start on the seeded data dir.
    pub idle_seeded: Option<Memory>,
    /// After serving every holder of the seeded dir.
    pub served: Option<Memory>,
    /// Holders served (ListCompliance + every page of ListCourses each).
    pub holders_served: u64,
    /// Courses listed while serving.
    pub courses_listed: u64,
    /// Time to serve them.
    pub serve_secs: f64,
}

/// Every holder id, through ListHolders pages.
async fn all_holders(channel: &Channel) -> Result<Vec<String>> {
    let mut client = HolderServiceClient::new(channel.clone());
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_holders(pb::ListHoldersRequest {
                page_size: 1000,
                page_token: token,
            })
            .await
            .map_err(BenchError::rpc("ListHolders"))?
            .into_inner();
        ids.extend(page.holders.into_iter().map(|h| h.id));
        if page.next_page_token.is_empty() {
            return Ok(ids);
        }
        token = page.next_page_token;
    }
}

/// ListCompliance and every page of ListCourses for one holder; returns the courses listed.
async fn serve_holder(channel: Channel, holder: String) -> Result<u64> {
    ComplianceServiceClient::new(channel.clone())
        .list_compliance(pb::ListComplianceRequest {
            holder_id: holder.clone(),
            as_of: String::new(),
        })
        .await
        .map_err(BenchError::rpc("ListCompliance"))?;
    let mut courses = CourseServiceClient::new(channel);
    let mut token = String::new();
    let mut listed = 0;
    loop {
        let page = courses
            .list_courses(pb::ListCoursesRequest {
                holder_id: holder.clone(),
                page_size: 0,
                page_token: token,
            })
            .await
            .map_err(BenchError::rpc("ListCourses"))?
            .into_inner();
        listed += page.courses.len() as u64;
        if page.next_page_token.is_empty() {
            return Ok(listed);
        }
        token = page.next_page_token;
    }
}

async fn settled(daemon: &Daemon, settle: Duration) -> Result<Memory> {
    tokio::time::sleep(settle).await;
    daemon.memory()
}

/// Runs the daemon on an empty temp dir under `scratch`, then on the seeded dir.
pub async fn run(scratch: &Path, options: &MemoryOptions) -> Result<MemoryReport> {
    let empty = tempfile::tempdir_in(scratch).map_err(BenchError::io("create a data dir"))?;
    let daemon = Daemon::start(
        &options.recertd,
        &empty.path().join("data"),
        &options.extra,
        &empty.path().join("recertd.log"),
    )
    .await?;
    let idle_empty = settled(&daemon, options.settle).await?;
    daemon.stop().await?;

    let mut report = MemoryReport {
        flags: options.extra.clone(),
        idle_empty,
        idle_seeded: None,
        served: None,
        holders_served: 0,
        courses_listed: 0,
        serve_secs: 0.0,
    };
    let Some(seeded) = &options.seeded_dir else {
        return Ok(report);
    };
    let daemon = Daemon::start(
        &options.recertd,
        seeded,
        &options.extra,
        &empty.path().join("recertd-seeded.log"),
    )
    .await?;
    report.idle_seeded = Some(settled(&daemon, options.settle).await?);
    let channels = connect(&daemon.url, Some(&daemon.token), 2).await?;
    let holders = all_holders(&channels[0]).await?;
    let started = Instant::now();
    let mut set: JoinSet<Result<u64>> = JoinSet::new();
    for (i, holder) in holders.iter().enumerate() {
        if set.len() >= options.concurrency.max(1)
            && let Some(joined) = set.join_next().await
        {
            report.courses_listed += joined.map_err(|e| BenchError::Task(e.to_string()))??;
        }
        set.spawn(serve_holder(
            channels[i % channels.len()].clone(),
            holder.clone(),
        ));
    }
    while let Some(joined) = set.join_next().await {
        report.courses_listed += joined.map_err(|e| BenchError::Task(e.to_string()))??;
    }
    report.serve_secs = started.elapsed().as_secs_f64();
    report.holders_served = holders.len() as u64;
    report.served = Some(daemon.memory()?);
    daemon.stop().await?;
    Ok(report)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl std::fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = if self.flags.is_empty() {
            "default flags".to_string()
        } else {
            self.flags.join(" ")
        };
        writeln!(f, "recertd memory ({flags}):")?;
        write!(
            f,
            "  idle, empty data dir:         VmRSS {:>7.1} MiB",
            mib(self.idle_empty.rss_kib)
        )?;
        if let Some(m) = self.idle_seeded {
            write!(
                f,
                "\n  idle, seeded data dir:        VmRSS {:>7.1} MiB",
                mib(m.rss_kib)
            )?;
        }
        if let Some(m) = self.served {
            write!(
                f,
                "\n  after serving {} holders ({} courses listed in {:.1} s): VmRSS {:.1} MiB, VmHWM {:.1} MiB",
                self.holders_served,
                self.courses_listed,
                self.serve_secs,
                mib(m.rss_kib),
                mib(m.hwm_kib)
            )?;
        }
        Ok(())
    }
}
