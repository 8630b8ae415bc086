//! `TeamStatus` for one large team: a daemon seeded with a team of `members` holders (two
//! credentials and a few courses each, through the API), then the one RPC timed from a client
//! on the same machine: the first call (every standing computed) and warm calls (standings
//! from the cache). Loopback transport and the answer's encoding are included, so the figures
//! bound the server's time from above.

use crate::daemon::Daemon;
use crate::latency::Latency;
use crate::load::{Channel, connect, create_holder};
use crate::{BenchError, Result};
use jiff::ToSpan;
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::team_service_client::TeamServiceClient;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Members seeded at a time.
const SEED_IN_FLIGHT: usize = 32;

/// What to measure.
#[derive(Debug, Clone)]
pub struct TeamOptions {
    /// The `recertd` binary.
    pub recertd: PathBuf,
    /// Members of the team.
    pub members: u64,
    /// Courses per member.
    pub courses: u64,
    /// Warm calls timed.
    pub runs: usize,
    /// Extra `recertd` flags (e.g. `--database-url URL`).
    pub daemon_args: Vec<String>,
}

/// Timings of `TeamStatus`.
#[derive(Debug, Clone, Serialize)]
pub struct TeamReport {
    /// Members of the team.
    pub members: u64,
    /// Rows in the answer.
    pub rows: usize,
    /// Courses per member.
    pub courses_per_member: u64,
    /// The first call after seeding (each member's standing computed), ms.
    pub first_ms: f64,
    /// Warm calls.
    pub warm: Latency,
    /// Seeding time, s.
    pub seed_s: f64,
}

/// Seeds member `i`: a holder, NHA CPT and ASCP PBT expiring at spread dates, `courses`
/// courses; returns the holder id.
async fn seed_member(channel: Channel, i: u64, courses: u64) -> Result<String> {
    let today = crate::seed::today();
    let holder = create_holder(channel.clone(), format!("Team Member {i}")).await?;
    let mut credentials = CredentialServiceClient::new(channel.clone());
    for (program, offset) in [("nha-cpt", -30_i64), ("ascp-pbt", 20)] {
        let days = offset + i64::try_from(i % 400).unwrap_or(0);
        credentials
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    holder_id: holder.clone(),
                    program: program.into(),
                    expires_on: today.checked_add(days.days()).unwrap_or(today).to_string(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateCredential"))?;
    }
    let mut client = CourseServiceClient::new(channel);
    for c in 0..courses {
        let course = crate::seed::course(i, c, today);
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
    Ok(holder)
}

/// One `TeamStatus` call; returns its time and the rows answered.
async fn time_call(channel: Channel) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let rows = ComplianceServiceClient::new(channel)
        .team_status(pb::TeamStatusRequest {
            team: "Bench team".into(),
            ..Default::default()
        })
        .await
        .map_err(BenchError::rpc("TeamStatus"))?
        .into_inner()
        .rows
        .len();
    Ok((started.elapsed(), rows))
}

/// Starts a daemon in a temporary dir under `scratch`, seeds the team and times the RPC.
pub async fn run(scratch: &Path, options: &TeamOptions) -> Result<TeamReport> {
    let dir = tempfile::tempdir_in(scratch).map_err(BenchError::io("create a data dir"))?;
    let daemon = Daemon::start(
        &options.recertd,
        &dir.path().join("data"),
        &options.daemon_args,
        &dir.path().join("recertd.log"),
    )
    .await?;
    let channel = connect(&daemon.url, Some(&daemon.token), 1)
        .await?
        .remove(0);
    let seeding = Instant::now();
    let mut teams = TeamServiceClient::new(channel.clone());
    teams
        .create_team(pb::CreateTeamRequest {
            name: "Bench team".into(),
        })
        .await
        .map_err(BenchError::rpc("CreateTeam"))?;
    let ids: Vec<u64> = (0..options.members).collect();
    for chunk in ids.chunks(SEED_IN_FLIGHT) {
        let mut tasks = tokio::task::JoinSet::new();
        for &i in chunk {
            tasks.spawn(seed_member(channel.clone(), i, options.courses));
        }
        let mut seeded = Vec::with_capacity(chunk.len());
        while let Some(done) = tasks.join_next().await {
            seeded.push(done.map_err(|e| BenchError::Task(e.to_string()))??);
        }
        for holder_id in seeded {
            teams
                .add_member(pb::TeamMemberRequest {
                    team: "Bench team".into(),
                    holder_id,
                })
                .await
                .map_err(BenchError::rpc("AddMember"))?;
        }
    }
    let seed_s = seeding.elapsed().as_secs_f64();
    let (first, rows) = time_call(channel.clone()).await?;
    let mut samples = Vec::with_capacity(options.runs);
    for _ in 0..options.runs.max(1) {
        samples.push(time_call(channel.clone()).await?.0);
    }
    daemon.stop().await?;
    Ok(TeamReport {
        members: options.members,
        rows,
        courses_per_member: options.courses,
        first_ms: first.as_secs_f64() * 1e3,
        warm: Latency::of(&samples),
        seed_s,
    })
}

impl std::fmt::Display for TeamReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "TeamStatus for a team of {} members ({} rows, {} courses each; seeded in {:.1} s):",
            self.members, self.rows, self.courses_per_member, self.seed_s
        )?;
        writeln!(
            f,
            "  first call (every standing computed): {:.2} ms",
            self.first_ms
        )?;
        write!(
            f,
            "  warm calls ({}): median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
            self.warm.count, self.warm.p50_ms, self.warm.p90_ms, self.warm.max_ms
        )
    }
}
