//! The gRPC load generator: a closed loop of `concurrency` tasks over a few shared HTTP/2
//! connections, against each RPC class alone and as a weighted mix. The baseline is the
//! daemon's own `grpc.health.v1.Health/Check` at the same concurrency over the same
//! connections (the cost of a gRPC round trip through this client, this server and this
//! machine). Each subject is measured in rounds that alternate with health-check slices of the
//! same length, so its ratio to health compares figures taken seconds apart: on a shared,
//! noisy machine the health rate itself moved by 2x between minutes in one run.
//!
//! It seeds what it reads through the API first: "read" holders with two credentials and some
//! courses each, for compliance, course lists and deadlines, and separate "write" holders with
//! no credentials that receive the logged courses, so the read fixture does not grow while it
//! is measured.

use crate::latency::{Latency, Recorder};
use crate::{BenchError, Result};
use jiff::ToSpan;
use jiff::civil::Date;
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use serde::Serialize;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Endpoint;

/// A connection whose every call carries the bearer token.
pub type Channel = InterceptedService<tonic::transport::Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call (nothing without a token).
#[derive(Clone, Debug)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Seeding requests kept in flight.
const SEED_IN_FLIGHT: usize = 32;

/// A kind of request the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpcClass {
    /// `grpc.health.v1.Health/Check`: the baseline.
    Health,
    /// `CourseService/CreateCourse`: a durable write (transaction + group commit).
    Log,
    /// `ComplianceService/ListCompliance` of one holder (`recert status`).
    Compliance,
    /// `CourseService/ListCourses`, first page of one holder.
    List,
    /// `ComplianceService/ListDeadlines` across holders, 90 days (`recert deadlines`).
    Deadlines,
}

impl RpcClass {
    const ALL: [RpcClass; 5] = [
        RpcClass::Health,
        RpcClass::Log,
        RpcClass::Compliance,
        RpcClass::List,
        RpcClass::Deadlines,
    ];

    /// The name used in `--mix` and reports.
    pub const fn name(self) -> &'static str {
        match self {
            RpcClass::Health => "health",
            RpcClass::Log => "log",
            RpcClass::Compliance => "compliance",
            RpcClass::List => "list",
            RpcClass::Deadlines => "deadlines",
        }
    }

    /// The RPC it calls.
    pub const fn rpc(self) -> &'static str {
        match self {
            RpcClass::Health => "grpc.health.v1.Health/Check",
            RpcClass::Log => "recert.v1.CourseService/CreateCourse",
            RpcClass::Compliance => "recert.v1.ComplianceService/ListCompliance",
            RpcClass::List => "recert.v1.CourseService/ListCourses",
            RpcClass::Deadlines => "recert.v1.ComplianceService/ListDeadlines",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for RpcClass {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self> {
        RpcClass::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                BenchError::Usage(format!(
                    "unknown RPC class {s:?}: use log, compliance, list, deadlines or health"
                ))
            })
    }
}

/// Weights of the RPC classes in the mixed phase, e.g. `log=1,compliance=4,list=2,deadlines=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(pub Vec<(RpcClass, u32)>);

impl Default for Mix {
    fn default() -> Self {
        Mix(vec![
            (RpcClass::Log, 1),
            (RpcClass::Compliance, 4),
            (RpcClass::List, 2),
            (RpcClass::Deadlines, 1),
        ])
    }
}

impl FromStr for Mix {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self> {
        let mut out: Vec<(RpcClass, u32)> = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let class: RpcClass = name.parse()?;
            let weight: u32 = weight.trim().parse().map_err(|_| {
                BenchError::Usage(format!(
                    "weight of {name} is not a whole number: {weight:?}"
                ))
            })?;
            if weight > 1000 {
                return Err(BenchError::Usage(format!("weight of {name} is above 1000")));
            }
            if out.iter().any(|(c, _)| *c == class) {
                return Err(BenchError::Usage(format!(
                    "{name} appears twice in the mix"
                )));
            }
            if weight > 0 {
                out.push((class, weight));
            }
        }
        if out.is_empty() {
            return Err(BenchError::Usage(
                "the mix is empty: e.g. log=1,compliance=4,list=2,deadlines=1".into(),
            ));
        }
        Ok(Mix(out))
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(c, w)| format!("{}={w}", c.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Which phases to run besides the health baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only the weighted mix.
    Mix,
    /// Each class of the mix alone.
    Alone,
    /// Each class alone, then the mix.
    Both,
}

impl FromStr for Mode {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mix" => Ok(Mode::Mix),
            "alone" => Ok(Mode::Alone),
            "both" => Ok(Mode::Both),
            _ => Err(BenchError::Usage(format!(
                "unknown mode {s:?}: use mix, alone or both"
            ))),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `http://HOST:PORT` of a running recertd.
    pub url: String,
    /// Its bearer token.
    pub token: Option<String>,
    /// Weights of the mixed phase.
    pub mix: Mix,
    /// Phases besides the baseline.
    pub mode: Mode,
    /// Requests in flight (closed loop: each task sends the next when one returns).
    pub concurrency: usize,
    /// HTTP/2 connections the tasks share, round-robin.
    pub connections: usize,
    /// Measured time of each subject (class alone, or the mix).
    pub duration: Duration,
    /// Unmeasured time before each subject's measurement, spread over its rounds.
    pub warmup: Duration,
    /// Rounds each subject is measured in, alternating with health checks.
    pub rounds: usize,
    /// Holders the read classes read.
    pub holders: u64,
    /// Courses seeded per read holder.
    pub courses_per_holder: u64,
    /// Holders the logged courses go to.
    pub write_holders: u64,
    /// The daemon's process id, if it runs on this machine: its CPU time per request is
    /// then reported next to the generator's own.
    pub daemon_pid: Option<u32>,
}

/// One class's figures in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct ClassResult {
    /// The class.
    pub class: RpcClass,
    /// The RPC.
    pub rpc: &'static str,
    /// Successful requests completed in the measured window.
    pub requests: u64,
    /// Failed requests in the measured window.
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Successful requests per second.
    pub rate: f64,
    /// `rate` divided by the rate of the health checks interleaved with it.
    pub ratio_to_health: f64,
    /// Latency of the successful requests.
    pub latency: Latency,
}

/// One measured phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `health`, `alone` or `mix`.
    pub name: String,
    /// Measured seconds.
    pub secs: f64,
    /// Each class sent in it.
    pub classes: Vec<ClassResult>,
    /// All successful requests per second.
    pub total_rate: f64,
    /// `total_rate` divided by the rate of the interleaved health checks.
    pub total_ratio_to_health: f64,
    /// The daemon's CPU time (user + system) per successful request, in µs, when its pid
    /// is known.
    pub daemon_cpu_us_per_request: Option<f64>,
    /// This load generator's own CPU time per successful request, in µs.
    pub generator_cpu_us_per_request: Option<f64>,
}

/// What was seeded through the API before measuring.
#[derive(Debug, Clone, Serialize)]
pub struct FixtureInfo {
    /// Holders read by compliance/list/deadlines.
    pub read_holders: usize,
    /// Credentials per read holder.
    pub credentials_per_holder: usize,
    /// Courses per read holder.
    pub courses_per_holder: u64,
    /// Holders receiving logged courses.
    pub write_holders: usize,
    /// Time the seeding took.
    pub seed_secs: f64,
}

/// A load run: each class alone and the mix, each against interleaved health checks.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The daemon.
    pub url: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Measured seconds per subject (and as much again of health checks).
    pub duration_s: f64,
    /// Warm-up seconds per subject, spread over its rounds.
    pub warmup_s: f64,
    /// Rounds each subject's measurement is split into.
    pub rounds: usize,
    /// The mix weights.
    pub mix: String,
    /// The seeded data.
    pub fixture: FixtureInfo,
    /// The mean of the paired health rates.
    pub baseline_rate: f64,
    /// Each class alone.
    pub alone: Vec<Comparison>,
    /// The weighted mix.
    pub mix_phase: Option<Comparison>,
}

impl LoadReport {
    /// The alone comparison of `class`.
    pub fn alone(&self, class: RpcClass) -> Option<&Comparison> {
        self.alone
            .iter()
            .find(|c| c.subject.classes.first().is_some_and(|r| r.class == class))
    }
}

/// Ids the requests name.
#[derive(Debug)]
struct Fixture {
    read: Vec<String>,
    write: Vec<String>,
    today: Date,
}

/// A small deterministic generator (SplitMix64) so each task picks its own classes and ids.
#[derive(Debug)]
struct Rng(u64);

/// Courses the mix phases of this process logged, to keep their titles apart.
static LOGGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The generated clients one task uses, over one shared channel.
#[derive(Clone)]
struct Clients {
    health: HealthClient<Channel>,
    courses: CourseServiceClient<Channel>,
    compliance: ComplianceServiceClient<Channel>,
}

impl Clients {
    fn new(channel: &Channel) -> Self {
        Clients {
            health: HealthClient::new(channel.clone()),
            courses: CourseServiceClient::new(channel.clone()),
            compliance: ComplianceServiceClient::new(channel.clone()),
        }
    }
}

/// Opens `n` HTTP/2 connections to `url`, each call carrying `token`.
pub async fn connect(url: &str, token: Option<&str>, n: usize) -> Result<Vec<Channel>> {
    let bearer = match token {
        Some(t) => Bearer(Some(format!("Bearer {t}").parse().map_err(|_| {
            BenchError::Usage("the token has characters a token never has".into())
        })?)),
        None => Bearer(None),
    };
    let endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| BenchError::Connect {
        url: url.into(),
        detail: e.to_string(),
    })?;
    let endpoint = endpoint.tcp_nodelay(true);
    let mut channels = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        let channel = endpoint.connect().await.map_err(|e| BenchError::Connect {
            url: url.into(),
            detail: e.to_string(),
        })?;
        channels.push(InterceptedService::new(channel, bearer.clone()));
    }
    Ok(channels)
}

fn date_before(today: Date, days: u64) -> String {
    today
        .checked_sub(i64::try_from(days).unwrap_or(1).days())
        .unwrap_or(today)
        .to_string()
}

fn new_course(holder: &str, i: u64, today: Date) -> pb::CreateCourseRequest {
    pb::CreateCourseRequest {
        course: Some(pb::Course {
            holder_id: holder.into(),
            title: format!("Venipuncture update {i}"),
            provider: "County Hospital".into(),
            accreditation: "P.A.C.E.".into(),
            completed_on: date_before(today, 1 + i.wrapping_mul(37) % 600),
            credits_hundredths: 50 + (i % 4) as i64 * 50,
            unit: "hours".into(),
            categories: if i.is_multiple_of(5) {
                vec!["safety".into()]
            } else {
                Vec::new()
            },
            format: if i.is_multiple_of(3) {
                "live"
            } else {
                "online"
            }
            .into(),
            ..Default::default()
        }),
        allow_duplicate: false,
    }
}

/// Creates one read holder: two credentials (one expiring within about two years, so
/// deadlines find some) and `courses` courses.
async fn seed_read_holder(channel: Channel, i: u64, courses: u64, today: Date) -> Result<String> {
    let holder = create_holder(channel.clone(), format!("Bench Reader {i}")).await?;
    let mut credentials = CredentialServiceClient::new(channel.clone());
    for (program, days) in [("nha-cpt", 1 + (i * 7) % 700), ("ascp-pbt", 400 + i % 700)] {
        let expires = today
            .checked_add(i64::try_from(days).unwrap_or(1).days())
            .unwrap_or(today);
        credentials
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    holder_id: holder.clone(),
                    program: program.into(),
                    expires_on: expires.to_string(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateCredential"))?;
    }
    let mut client = CourseServiceClient::new(channel);
    for k in 0..courses {
        client
            .create_course(new_course(&holder, k, today))
            .await
            .map_err(BenchError::rpc("CreateCourse"))?;
    }
    Ok(holder)
}

async fn seed_write_holder(channel: Channel, i: u64) -> Result<String> {
    create_holder(channel, format!("Bench Writer {i}")).await
}

/// Creates a holder in UTC through the API; returns its id.
pub async fn create_holder(channel: Channel, name: String) -> Result<String> {
    Ok(HolderServiceClient::new(channel)
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name,
                time_zone: "UTC".into(),
                ..Default::default()
            }),
        })
        .await
        .map_err(BenchError::rpc("CreateHolder"))?
        .into_inner()
        .id)
}

/// Seeds the fixture through the API, `SEED_IN_FLIGHT` holders at a time.
async fn seed_fixture(
    channels: &[Channel],
    options: &LoadOptions,
) -> Result<(Fixture, FixtureInfo)> {
    let started = Instant::now();
    let today = crate::seed::today();
    let mut set: JoinSet<Result<(bool, String)>> = JoinSet::new();
    let mut read = Vec::new();
    let mut write = Vec::new();
    let total = options.holders.max(1) + options.write_holders.max(1);
    for i in 0..total {
        if set.len() >= SEED_IN_FLIGHT {
            let (is_read, id) = join(set.join_next().await)?;
            if is_read {
                read.push(id)
            } else {
                write.push(id)
            }
        }
        let channel = channels[i as usize % channels.len()].clone();
        let courses = options.courses_per_holder;
        if i < options.holders.max(1) {
            set.spawn(
                async move { Ok((true, seed_read_holder(channel, i, courses, today).await?)) },
            );
        } else {
            set.spawn(async move { Ok((false, seed_write_holder(channel, i).await?)) });
        }
    }
    while let Some(joined) = set.join_next().await {
        let (is_read, id) = join(Some(joined))?;
        if is_read {
            read.push(id)
        } else {
            write.push(id)
        }
    }
    let info = FixtureInfo {
        read_holders: read.len(),
        credentials_per_holder: 2,
        courses_per_holder: options.courses_per_holder,
        write_holders: write.len(),
        seed_secs: started.elapsed().as_secs_f64(),
    };
    Ok((Fixture { read, write, today }, info))
}

fn join<T>(joined: Option<Result<Result<T>, tokio::task::JoinError>>) -> Result<T> {
    match joined {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(BenchError::Task(e.to_string())),
        None => Err(BenchError::Task("no task to join".into())),
    }
}

/// Sends one request of `class`.
async fn call(
    class: RpcClass,
    clients: &mut Clients,
    rng: &mut Rng,
    fixture: &Fixture,
) -> Result<(), tonic::Status> {
    match class {
        RpcClass::Health => {
            clients
                .health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await?;
        }
        RpcClass::Log => {
            let holder = &fixture.write[rng.below(fixture.write.len())];
            // A random title: a real technician does not log the same course twice (the
            // daemon refuses a twin), and the check for one is part of what is measured.
            // Plus a count of this process's logs: phases that reuse a task's seed against
            // the same store would otherwise log the same courses again, which the daemon
            // refuses now that its twin check is atomic.
            let i = rng
                .next()
                .wrapping_add(LOGGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            clients
                .courses
                .create_course(new_course(holder, i, fixture.today))
                .await?;
        }
        RpcClass::Compliance => {
            let holder = &fixture.read[rng.below(fixture.read.len())];
            clients
                .compliance
                .list_compliance(pb::ListComplianceRequest {
                    holder_id: holder.clone(),
                    as_of: String::new(),
                })
                .await?;
        }
        RpcClass::List => {
            let holder = &fixture.read[rng.below(fixture.read.len())];
            clients
                .courses
                .list_courses(pb::ListCoursesRequest {
                    holder_id: holder.clone(),
                    page_size: 0,
                    page_token: String::new(),
                })
                .await?;
        }
        RpcClass::Deadlines => {
            clients
                .compliance
                .list_deadlines(pb::ListDeadlinesRequest {
                    within_days: 90,
                    ..Default::default()
                })
                .await?;
        }
    }
    Ok(())
}

/// Per-class tallies of one task.
#[derive(Debug, Default)]
struct Tally {
    recorder: Option<Recorder>,
    errors: u64,
    first_error: Option<String>,
}

/// One closed-loop task: sends requests until `end`, recording those that complete in
/// `[measure_from, end]`.
async fn worker(
    mut clients: Clients,
    fixture: Arc<Fixture>,
    picks: Arc<[RpcClass]>,
    seed: u64,
    measure_from: Instant,
    end: Instant,
) -> Vec<Tally> {
    let mut tallies: Vec<Tally> = RpcClass::ALL.iter().map(|_| Tally::default()).collect();
    let mut rng = Rng(seed);
    while Instant::now() < end {
        let class = picks[rng.below(picks.len())];
        let started = Instant::now();
        let result = call(class, &mut clients, &mut rng, &fixture).await;
        let done = Instant::now();
        if done < measure_from || done > end {
            continue;
        }
        let tally = &mut tallies[class.index()];
        match result {
            Ok(()) => tally
                .recorder
                .get_or_insert_with(Recorder::new)
                .record(done - started),
            Err(status) => {
                tally.errors += 1;
                if tally.first_error.is_none() {
                    tally.first_error = Some(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }
    tallies
}

/// The tallies of one or more measured slices of time, pooled.
#[derive(Debug)]
struct Slices {
    tallies: Vec<Tally>,
    secs: f64,
    cpu: CpuUse,
}

/// Successful requests in `tallies`.
fn successes(tallies: &[Tally]) -> u64 {
    tallies
        .iter()
        .filter_map(|t| t.recorder.as_ref())
        .map(Recorder::count)
        .sum()
}

/// CPU seconds used during measured windows, by the daemon and by this process.
#[derive(Debug, Default, Clone, Copy)]
struct CpuUse {
    daemon: Option<f64>,
    generator: Option<f64>,
}

impl CpuUse {
    fn add(&mut self, other: CpuUse) {
        let sum = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.daemon = sum(self.daemon, other.daemon);
        self.generator = sum(self.generator, other.generator);
    }
}

/// Reads the daemon's and this process's CPU time at `from` and at `to`.
async fn cpu_between(daemon: Option<u32>, from: Instant, to: Instant) -> CpuUse {
    let read = || {
        (
            daemon.and_then(crate::machine::cpu_secs),
            crate::machine::cpu_secs(std::process::id()),
        )
    };
    tokio::time::sleep_until(from.into()).await;
    let (d0, g0) = read();
    tokio::time::sleep_until(to.into()).await;
    let (d1, g1) = read();
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    CpuUse {
        daemon: delta(d0, d1),
        generator: delta(g0, g1),
    }
}

impl Slices {
    fn new() -> Self {
        Slices {
            tallies: RpcClass::ALL.iter().map(|_| Tally::default()).collect(),
            secs: 0.0,
            cpu: CpuUse::default(),
        }
    }

    fn add(&mut self, (tallies, secs, cpu): (Vec<Tally>, f64, CpuUse)) {
        self.secs += secs;
        self.cpu.add(cpu);
        for (into, from) in self.tallies.iter_mut().zip(tallies) {
            into.errors += from.errors;
            if into.first_error.is_none() {
                into.first_error = from.first_error;
            }
            if let Some(r) = from.recorder {
                into.recorder.get_or_insert_with(Recorder::new).merge(&r);
            }
        }
    }

    /// The figures of `weights`' classes, rates against `baseline`.
    fn phase(&self, name: &str, weights: &[(RpcClass, u32)], baseline: f64) -> Result<Phase> {
        let secs = self.secs.max(f64::MIN_POSITIVE);
        let mut classes = Vec::new();
        for (class, _) in weights {
            let tally = &self.tallies[class.index()];
            let recorder = tally.recorder.clone().unwrap_or_default();
            if recorder.count() == 0 {
                return Err(BenchError::Check(format!(
                    "no {} request succeeded in the {name} phase{}",
                    class.rpc(),
                    tally
                        .first_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )));
            }
            let rate = recorder.count() as f64 / secs;
            classes.push(ClassResult {
                class: *class,
                rpc: class.rpc(),
                requests: recorder.count(),
                errors: tally.errors,
                first_error: tally.first_error.clone(),
                rate,
                ratio_to_health: rate / baseline,
                latency: recorder.summary(),
            });
        }
        let total_rate: f64 = classes.iter().map(|c| c.rate).sum();
        let requests = (total_rate * secs).max(1.0);
        let per_request = |cpu: Option<f64>| cpu.map(|s| s * 1e6 / requests);
        Ok(Phase {
            name: name.into(),
            secs,
            classes,
            total_rate,
            total_ratio_to_health: total_rate / baseline,
            daemon_cpu_us_per_request: per_request(self.cpu.daemon),
            generator_cpu_us_per_request: per_request(self.cpu.generator),
        })
    }
}

/// Runs one slice: `options.concurrency` tasks picking classes by `weights`, measured for
/// `duration` after `warmup`.
async fn slice(
    channels: &[Channel],
    fixture: &Arc<Fixture>,
    weights: &[(RpcClass, u32)],
    options: &LoadOptions,
    warmup: Duration,
    duration: Duration,
    round: u64,
) -> Result<(Vec<Tally>, f64, CpuUse)> {
    let (concurrency, daemon_pid) = (options.concurrency, options.daemon_pid);
    let picks: Arc<[RpcClass]> = weights
        .iter()
        .flat_map(|(c, w)| std::iter::repeat_n(*c, *w as usize))
        .collect();
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut set = JoinSet::new();
    for task in 0..concurrency.max(1) {
        let clients = Clients::new(&channels[task % channels.len()]);
        set.spawn(worker(
            clients,
            fixture.clone(),
            picks.clone(),
            0x5eed ^ ((task as u64) << 32) ^ (round << 8),
            measure_from,
            end,
        ));
    }
    let cpu = tokio::spawn(cpu_between(daemon_pid, measure_from, end));
    let mut pooled = Slices::new();
    while let Some(joined) = set.join_next().await {
        let tallies = joined.map_err(|e| BenchError::Task(e.to_string()))?;
        pooled.add((tallies, 0.0, CpuUse::default()));
    }
    let cpu = cpu.await.map_err(|e| BenchError::Task(e.to_string()))?;
    Ok((pooled.tallies, duration.as_secs_f64(), cpu))
}

/// A subject (one class, or the mix) measured in rounds that alternate with health-check
/// slices of the same length, so each ratio compares figures taken seconds apart.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The subject's figures, pooled over its slices; ratios are to `health`.
    pub subject: Phase,
    /// The health checks of the interleaved slices, pooled.
    pub health: ClassResult,
    /// The daemon's CPU µs per health check in those slices, when its pid is known.
    pub health_daemon_cpu_us_per_request: Option<f64>,
    /// The generator's CPU µs per health check in those slices.
    pub health_generator_cpu_us_per_request: Option<f64>,
    /// subject rate / health rate of each round: their spread shows the noise.
    pub round_ratios: Vec<f64>,
}

impl Comparison {
    /// The subject's total rate over the paired health rate.
    pub fn ratio(&self) -> f64 {
        self.subject.total_ratio_to_health
    }
}

const HEALTH: [(RpcClass, u32); 1] = [(RpcClass::Health, 1)];

/// Measures `weights` against interleaved health checks, `options.rounds` times each.
async fn compare(
    name: &str,
    channels: &[Channel],
    fixture: &Arc<Fixture>,
    weights: &[(RpcClass, u32)],
    options: &LoadOptions,
) -> Result<Comparison> {
    let rounds = options.rounds.max(1);
    let duration = options.duration / rounds as u32;
    let warmup = options.warmup / rounds as u32;
    let mut health = Slices::new();
    let mut subject = Slices::new();
    let mut round_ratios = Vec::with_capacity(rounds);
    for round in 0..rounds as u64 {
        let o = options;
        let h = slice(channels, fixture, &HEALTH, o, warmup, duration, round).await?;
        let health_rate = successes(&h.0) as f64 / h.1;
        health.add(h);
        let s = slice(channels, fixture, weights, o, warmup, duration, round).await?;
        let rate = successes(&s.0) as f64 / s.1;
        round_ratios.push(rate / health_rate.max(f64::MIN_POSITIVE));
        subject.add(s);
    }
    let health_phase = health.phase("health", &HEALTH, 1.0)?;
    let baseline = health_phase.total_rate;
    let mut health_result = health_phase.classes[0].clone();
    health_result.ratio_to_health = 1.0;
    Ok(Comparison {
        subject: subject.phase(name, weights, baseline)?,
        health: health_result,
        health_daemon_cpu_us_per_request: health_phase.daemon_cpu_us_per_request,
        health_generator_cpu_us_per_request: health_phase.generator_cpu_us_per_request,
        round_ratios,
    })
}

/// Seeds the fixture, then measures each class alone and the mix, each against interleaved
/// health checks.
pub async fn run(options: &LoadOptions) -> Result<LoadReport> {
    if options.concurrency == 0 || options.duration.is_zero() {
        return Err(BenchError::Usage(
            "concurrency and duration must be above zero".into(),
        ));
    }
    let channels = connect(&options.url, options.token.as_deref(), options.connections).await?;
    let (fixture, info) = seed_fixture(&channels, options).await?;
    let fixture = Arc::new(fixture);
    let mut alone = Vec::new();
    if options.mode != Mode::Mix {
        // Reads first, the write last: logged courses go to the write holders, so reads do
        // not see them, but the store they share still grows.
        let mut order: Vec<RpcClass> = options.mix.0.iter().map(|(c, _)| *c).collect();
        order.sort_by_key(|c| *c == RpcClass::Log);
        for class in order {
            alone.push(compare("alone", &channels, &fixture, &[(class, 1)], options).await?);
        }
    }
    let mix = if options.mode != Mode::Alone {
        Some(compare("mix", &channels, &fixture, &options.mix.0, options).await?)
    } else {
        None
    };
    let health_rates: Vec<f64> = alone
        .iter()
        .chain(mix.iter())
        .map(|c| c.health.rate)
        .collect();
    Ok(LoadReport {
        url: options.url.clone(),
        concurrency: options.concurrency,
        connections: channels.len(),
        duration_s: options.duration.as_secs_f64(),
        warmup_s: options.warmup.as_secs_f64(),
        rounds: options.rounds.max(1),
        mix: options.mix.to_string(),
        fixture: info,
        baseline_rate: health_rates.iter().sum::<f64>() / health_rates.len().max(1) as f64,
        alone,
        mix_phase: mix,
    })
}

/// A CPU figure in µs per request for the table, `-` when unknown.
fn micros(us: Option<f64>) -> String {
    us.map_or_else(|| "-".to_string(), |us| format!("{us:.1}"))
}

fn spread(ratios: &[f64]) -> String {
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.2}-{max:.2}")
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "load against {}: concurrency {}, {} connection(s); each subject {:.1} s measured in {} rounds alternating with health checks ({:.1} s warm-up in all)",
            self.url,
            self.concurrency,
            self.connections,
            self.duration_s,
            self.rounds,
            self.warmup_s
        )?;
        writeln!(
            f,
            "fixture (seeded through the API in {:.1} s): {} read holders x {} credentials + {} courses; {} write holders",
            self.fixture.seed_secs,
            self.fixture.read_holders,
            self.fixture.credentials_per_holder,
            self.fixture.courses_per_holder,
            self.fixture.write_holders
        )?;
        writeln!(
            f,
            "health baseline over the run: {:.0} req/s on average",
            self.baseline_rate
        )?;
        writeln!(
            f,
            "{:<6} {:<11} {:>8} {:>8} {:>7} {:>11} {:>7} {:>7} {:>8} {:>7} {:>6} {:>7} {:>7}",
            "phase",
            "class",
            "req/s",
            "health/s",
            "xhealth",
            "rounds",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "errors",
            "d us/rq",
            "g us/rq"
        )?;
        for c in self.alone.iter().chain(self.mix_phase.iter()) {
            let p = &c.subject;
            let single = p.classes.len() == 1;
            for r in &p.classes {
                writeln!(
                    f,
                    "{:<6} {:<11} {:>8.0} {:>8.0} {:>7.3} {:>11} {:>7.3} {:>7.3} {:>8.3} {:>7.1} {:>6} {:>7} {:>7}",
                    p.name,
                    r.class.name(),
                    r.rate,
                    c.health.rate,
                    r.ratio_to_health,
                    if single {
                        spread(&c.round_ratios)
                    } else {
                        String::new()
                    },
                    r.latency.p50_ms,
                    r.latency.p99_ms,
                    r.latency.p999_ms,
                    r.latency.max_ms,
                    r.errors,
                    if single {
                        micros(p.daemon_cpu_us_per_request)
                    } else {
                        String::new()
                    },
                    if single {
                        micros(p.generator_cpu_us_per_request)
                    } else {
                        String::new()
                    },
                )?;
                if let Some(e) = &r.first_error {
                    writeln!(f, "       first error: {e}")?;
                }
            }
            if p.classes.len() > 1 {
                writeln!(
                    f,
                    "{:<6} {:<11} {:>8.0} {:>8.0} {:>7.3} {:>11} {:>46} {:>7} {:>7}",
                    p.name,
                    "(all)",
                    p.total_rate,
                    c.health.rate,
                    c.ratio(),
                    spread(&c.round_ratios),
                    "",
                    micros(p.daemon_cpu_us_per_request),
                    micros(p.generator_cpu_us_per_request),
                )?;
            }
            let h = &c.health.latency;
            writeln!(
                f,
                "{:<6} {:<11} {:>8.0} {:>8} {:>7} {:>11} {:>7.3} {:>7.3} {:>8.3} {:>7.1} {:>6} {:>7} {:>7}",
                "",
                "(its health)",
                c.health.rate,
                "",
                "",
                "",
                h.p50_ms,
                h.p99_ms,
                h.p999_ms,
                h.max_ms,
                c.health.errors,
                micros(c.health_daemon_cpu_us_per_request),
                micros(c.health_generator_cpu_us_per_request),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Mix, RpcClass};

    #[test]
    fn mix_parses_weights_and_refuses_nonsense() {
        let mix: Mix = "log=1,compliance=4,list=2,deadlines=1".parse().unwrap();
        assert_eq!(mix, Mix::default());
        assert_eq!(mix.to_string(), "log=1,compliance=4,list=2,deadlines=1");
        let mix: Mix = "compliance,log=0".parse().unwrap();
        assert_eq!(mix.0, vec![(RpcClass::Compliance, 1)]);
        assert!("log=1,log=2".parse::<Mix>().is_err());
        assert!("write=1".parse::<Mix>().is_err());
        assert!("log=x".parse::<Mix>().is_err());
        assert!("log=0".parse::<Mix>().is_err());
    }
}
