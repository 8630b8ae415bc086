//! The attacks of the security review (issue 12) against the real daemon, one fresh daemon
//! and store each, with a second client timed throughout: its health checks over a
//! connection it keeps (every 10 ms) and over a new connection each time (every 100 ms).
//! Reported per attack: the daemon's peak RSS (VmHWM, which a fresh process starts from
//! zero), its RSS before the attack, its CPU time during it, the second client's latencies,
//! and what the attack got back; the first row is the same with no attack.
//!
//! The attacks are made as `tests/tests/hostile_*.rs` make them: oversized strings and
//! quadratic repeated fields (refused by the limits), a large import (the big dump of
//! `import-load`), idle `WatchAlerts` streams over a planted backlog, a webhook receiver
//! that answers 500 with a 1 GiB body, idle TCP connections past the file limit (set by
//! `prlimit`), and a store planted with a last tick and a snooze in year 9999.

use crate::daemon::{Daemon, Memory};
use crate::latency::Latency;
use crate::load::{Channel, connect};
use crate::{BenchError, Result};
use jiff::civil::{Date, date};
use jiff::{Timestamp, ToSpan};
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_client::AlertServiceClient;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_proto::v1::token_service_client::TokenServiceClient;
use recertd::domain::{
    Alert, AlertSubject, Channel as AlertChannel, ChannelKind, Credential, Delivery, DeliveryState,
    Holder, IdKind, Mark,
};
use recertd::store::{Outbox, PgOptions, PgStore, Records, Scheduler, SledStore, StoreOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// One attack (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Nothing: the figures every attack is compared with.
    None,
    /// `CreateHolder` with a 1 MiB e-mail, then with a 3 MiB time zone, back to back.
    Oversized,
    /// Two `CreateCourse` at once, 120,000 categories / 120,000 pins (F3), back to back.
    Quadratic,
    /// A base dump, then the big dump of `--import-mib` MiB (F4).
    Import,
    /// 300 `WatchAlerts` streams, a connection each, over 20,000 planted alerts of 1.4 KB;
    /// each reads one alert and stalls (F6).
    Watch,
    /// `SendTestAlert` back to back to a receiver that answers 500 with a 1 GiB body (F13).
    Webhook,
    /// 1,100 silent TCP connections, the daemon under `prlimit --nofile=1024:1024` (F9).
    Connections,
    /// A store planted with Paris's last tick in 9999, a snooze to 9999-12-31 in Los Angeles
    /// and a next attempt at the end of time (F10, F11); the alert schedule every second.
    Planted,
}

impl Attack {
    /// Every attack, the baseline first.
    pub const ALL: [Attack; 8] = [
        Attack::None,
        Attack::Oversized,
        Attack::Quadratic,
        Attack::Import,
        Attack::Watch,
        Attack::Webhook,
        Attack::Connections,
        Attack::Planted,
    ];

    fn name(self) -> &'static str {
        match self {
            Attack::None => "none",
            Attack::Oversized => "oversized",
            Attack::Quadratic => "quadratic",
            Attack::Import => "import",
            Attack::Watch => "watch",
            Attack::Webhook => "webhook",
            Attack::Connections => "connections",
            Attack::Planted => "planted",
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct HostileOptions {
    /// The `recertd` binary.
    pub recertd: PathBuf,
    /// The attacks, in order.
    pub attacks: Vec<Attack>,
    /// How long each attack (but the import, which lasts as long as it takes) is kept up.
    pub window: Duration,
    /// Size of the big import, in MiB.
    pub import_mib: u64,
    /// Holders of the import's dumps.
    pub import_holders: u64,
    /// Idle `WatchAlerts` streams.
    pub streams: usize,
    /// Idle TCP connections.
    pub connections: usize,
    /// A PostgreSQL URL: each attack's daemon gets a new database on that cluster (made
    /// with `psql`, dropped afterwards) instead of a sled data dir.
    pub database_url: Option<String>,
    /// More `recertd` flags for every attack's daemon (e.g. `--cache-mib 16`).
    pub daemon_flags: Vec<String>,
}

/// One attack's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Which attack.
    pub attack: Attack,
    /// What it got back, in words.
    pub outcome: String,
    /// Seconds it was kept up.
    pub secs: f64,
    /// The daemon just before the attack.
    pub before: Memory,
    /// The daemon after it (VmHWM: its peak).
    pub after: Memory,
    /// Daemon CPU time (user + system) during the attack, in ms.
    pub cpu_ms: u64,
    /// Health checks over a connection the second client keeps.
    pub health: Latency,
    /// Health checks that failed over that connection.
    pub health_failed: u64,
    /// Health checks over a new connection each (connecting included).
    pub health_new: Latency,
    /// New-connection health checks that failed or took over 5 s (not in `health_new`).
    pub health_new_failed: u64,
    /// The longest time no new connection was served, in ms (checks every 100 ms).
    pub health_new_gap_ms: u64,
}

/// Every attack's figures.
#[derive(Debug, Clone, Serialize)]
pub struct HostileReport {
    /// "sled" or "postgres".
    pub engine: String,
    /// The rows, the baseline first.
    pub rows: Vec<Row>,
}

impl std::fmt::Display for HostileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "engine: {}", self.engine)?;
        writeln!(
            f,
            "| attack | outcome | secs | RSS before | peak RSS | daemon CPU | health p50 / p99 / max (kept conn) | health p50 / p99 / max (new conn) | longest with no new conn served |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|")?;
        for r in &self.rows {
            let failed = |n: u64| {
                if n == 0 {
                    String::new()
                } else {
                    format!(", {n} failed")
                }
            };
            writeln!(
                f,
                "| {} | {} | {:.1} | {} MiB | {} MiB | {} ms | {:.2} / {:.2} / {:.1} ms ({}{}) | {:.2} / {:.2} / {:.1} ms ({}{}) | {:.1} s |",
                r.attack.name(),
                r.outcome,
                r.secs,
                r.before.rss_kib / 1024,
                r.after.hwm_kib / 1024,
                r.cpu_ms,
                r.health.p50_ms,
                r.health.p99_ms,
                r.health.max_ms,
                r.health.count,
                failed(r.health_failed),
                r.health_new.p50_ms,
                r.health_new.p99_ms,
                r.health_new.max_ms,
                r.health_new.count,
                failed(r.health_new_failed),
                r.health_new_gap_ms as f64 / 1000.0,
            )?;
        }
        Ok(())
    }
}

/// The daemon's CPU time so far (user + system), from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(BenchError::io(format!("read /proc/{pid}/stat")))?;
    // The fields after the command name, which sits in parentheses.
    let rest = stat
        .rfind(')')
        .and_then(|at| stat.get(at + 2..))
        .ok_or_else(|| BenchError::Daemon("a malformed /proc/PID/stat".into()))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime, in USER_HZ (100 on every Linux this runs on).
    Ok(Duration::from_millis((tick(11) + tick(12)) * 10))
}

/// The second client, until `stop`: health over a kept connection every 10 ms, and over a
/// new connection every 100 ms.
async fn probe(url: String, kept: Channel, stop: Arc<AtomicBool>) -> Probed {
    let flag = stop.clone();
    let kept = tokio::spawn(async move {
        let mut client = HealthClient::new(kept);
        let (mut times, mut failed) = (Vec::new(), 0u64);
        while !flag.load(Ordering::Relaxed) {
            let started = Instant::now();
            let answered = tokio::time::timeout(
                Duration::from_secs(5),
                client.check(HealthCheckRequest::default()),
            )
            .await;
            if matches!(answered, Ok(Ok(_))) {
                times.push(started.elapsed());
            } else {
                failed += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (Latency::of(&times), failed)
    });
    let fresh = tokio::spawn(async move {
        let (mut times, mut failed) = (Vec::new(), 0u64);
        // The longest time with no new connection served (from the start, between two,
        // and to the end).
        let (mut served, mut gap) = (Instant::now(), Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let url = url.clone();
            let attempt = async move {
                let channel = tonic::transport::Endpoint::from_shared(url)
                    .ok()?
                    .connect()
                    .await
                    .ok()?;
                HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await
                    .ok()
            };
            let answered = tokio::time::timeout(Duration::from_secs(5), attempt).await;
            if matches!(answered, Ok(Some(_))) {
                times.push(started.elapsed());
                gap = gap.max(served.elapsed());
                served = Instant::now();
            } else {
                failed += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (Latency::of(&times), failed, gap.max(served.elapsed()))
    });
    let (health, health_failed) = kept.await.unwrap_or_default();
    let (health_new, health_new_failed, gap) = fresh.await.unwrap_or_default();
    Probed {
        health,
        health_failed,
        health_new,
        health_new_failed,
        health_new_gap_ms: u64::try_from(gap.as_millis()).unwrap_or(u64::MAX),
    }
}

/// What the second client saw.
struct Probed {
    health: Latency,
    health_failed: u64,
    health_new: Latency,
    health_new_failed: u64,
    health_new_gap_ms: u64,
}

/// A loopback HTTP/1.1 receiver: answers every request with 204, or with 500 and a body of
/// `huge` bytes written until the peer stops reading. Counts requests and body bytes sent.
struct Receiver {
    url: String,
    requests: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(huge: Option<u64>) -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BenchError::io("bind the receiver"))?;
        let addr = listener
            .local_addr()
            .map_err(BenchError::io("the receiver's address"))?;
        let (requests, sent) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (r, s) = (requests.clone(), sent.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, huge, r.clone(), s.clone()));
            }
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            requests,
            sent,
            task,
        })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One receiver connection: requests read whole (headers, then Content-Length bytes).
async fn serve(
    mut socket: tokio::net::TcpStream,
    huge: Option<u64>,
    requests: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Headers.
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + length);
        requests.fetch_add(1, Ordering::Relaxed);
        match huge {
            None => {
                if socket
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(bytes) => {
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: {bytes}\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let zeros = vec![b'x'; 64 * 1024];
                let mut left = bytes;
                while left > 0 {
                    let n = zeros.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    if socket.write_all(&zeros[..n]).await.is_err() {
                        return;
                    }
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                    left -= n as u64;
                }
            }
        }
    }
}

/// Makes the PostgreSQL database `name` on the cluster of `base` with `psql`; its URL.
fn create_database(base: &str, name: &str) -> Result<String> {
    psql(base, &format!("CREATE DATABASE {name}"))?;
    let (server, _) = base
        .rsplit_once('/')
        .ok_or_else(|| BenchError::Usage("--database-url must end in /DATABASE".into()))?;
    Ok(format!("{server}/{name}"))
}

fn psql(base: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .arg(base)
        .args(["-qAtc", sql])
        .output()
        .map_err(BenchError::io("run psql"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::Daemon(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// Where an attack's store is.
enum Engine {
    Sled(PathBuf),
    Postgres(String),
}

/// Runs `f` over the store (the daemon not running), then closes it.
macro_rules! with_store {
    ($engine:expr, |$s:ident| $body:expr) => {
        match $engine {
            Engine::Sled(dir) => {
                let $s = SledStore::open(dir, &StoreOptions::default())?;
                let out = $body;
                recertd::store::Store::close(&$s).await?;
                out
            }
            Engine::Postgres(url) => {
                let $s = PgStore::open(&PgOptions {
                    url: url.clone(),
                    pool_size: 2,
                })
                .await?;
                let out = $body;
                recertd::store::Store::close(&$s).await?;
                out
            }
        }
    };
}

/// A holder in `zone` with a webhook to `sink` and an NHA CPT credential expiring on
/// `expires_on`.
async fn holder_with<S: Records + Outbox>(
    store: &S,
    name: &str,
    zone: &str,
    sink: &str,
    expires_on: Date,
) -> Result<(Holder, Credential, AlertChannel)> {
    let holder = store
        .create_holder(Holder {
            id: 0,
            name: name.into(),
            email: String::new(),
            time_zone: zone.into(),
            hired_on: None,
            competencies: Vec::new(),
        })
        .await?;
    let channel = store
        .create_channel(AlertChannel {
            id: 0,
            holder_id: holder.id,
            kind: ChannelKind::Webhook,
            target: sink.into(),
            secret: String::new(),
            team_id: 0,
        })
        .await?;
    let credential = store
        .create_credential(Credential {
            id: 0,
            holder_id: holder.id,
            program: "nha-cpt".into(),
            number: String::new(),
            issued_on: None,
            expires_on,
            history: Vec::new(),
            verifications: Vec::new(),
        })
        .await?;
    Ok((holder, credential, channel))
}

/// An alert of `holder` on `credential`, past and settled unless given deliveries.
fn alert(holder: &Holder, credential: &Credential, expires_on: Date, threshold: i64) -> Alert {
    Alert {
        id: 0,
        holder_id: holder.id,
        subject: AlertSubject::Credential,
        credential_id: credential.id,
        program: "nha-cpt".into(),
        expires_on,
        mark: Mark::Before(u32::try_from(threshold).unwrap_or(30)),
        threshold_days: threshold,
        due_on: date(1950, 1, 1),
        title: "an old reminder".into(),
        body: "an old reminder".into(),
        met: false,
        compliance_status: "at_risk".into(),
        created_at: Timestamp::UNIX_EPOCH,
        snoozed_until: None,
        acknowledged: true,
        cancelled: false,
        deliveries: Vec::new(),
    }
}

/// F10, F11, as `hostile_runtime.rs` plants them: a Berlin holder, a Paris holder whose
/// zone's last tick is in 9999, and a Los Angeles holder with an alert snoozed to 9999-12-31
/// and one whose next attempt is at the end of time, webhooks to `sink`.
async fn plant_steering<S: Records + Outbox + Scheduler>(store: &S, sink: &str) -> Result<()> {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let soon = today.saturating_add(5.days());
    holder_with(store, "Berlin Control", "Europe/Berlin", sink, soon).await?;
    holder_with(store, "Paris Silenced", "Europe/Paris", sink, soon).await?;
    let last = "9999-01-01T00:00:00Z"
        .parse()
        .map_err(|e| BenchError::Check(format!("{e}")))?;
    store.set_last_tick("Europe/Paris", last).await?;
    let far = today.saturating_add(400.days());
    let (la, credential, channel) = holder_with(
        store,
        "Los Angeles Snoozed",
        "America/Los_Angeles",
        sink,
        far,
    )
    .await?;
    let pending = |threshold, snoozed_until, next_attempt_at| {
        let mut a = alert(&la, &credential, far, threshold);
        a.due_on = today;
        a.acknowledged = false;
        a.created_at = Timestamp::now();
        a.snoozed_until = snoozed_until;
        a.deliveries = vec![Delivery {
            channel_id: channel.id,
            kind: ChannelKind::Webhook,
            target: sink.into(),
            attempts: 0,
            last_error: String::new(),
            state: DeliveryState::Pending,
            next_attempt_at: Some(next_attempt_at),
        }];
        a
    };
    store
        .enqueue_alerts(vec![
            pending(500, Some(date(9999, 12, 31)), Timestamp::MIN),
            pending(501, None, Timestamp::MAX),
        ])
        .await?;
    Ok(())
}

/// A holder with `count` settled alerts of 1.4 KB each; its id.
async fn plant_backlog<S: Records + Outbox>(store: &S, count: usize) -> Result<u64> {
    let far = date(2030, 1, 1);
    let (holder, credential, _) =
        holder_with(store, "Watched", "UTC", "http://127.0.0.1:9/unused", far).await?;
    let alerts: Vec<Alert> = (0..count)
        .map(|i| {
            let expires = date(1950, 1, 1).saturating_add(i64::try_from(i).unwrap_or(0).days());
            let mut a = alert(&holder, &credential, expires, 30);
            a.body = "x".repeat(1400);
            a
        })
        .collect();
    for chunk in alerts.chunks(5000) {
        store.enqueue_alerts(chunk.to_vec()).await?;
    }
    Ok(holder.id)
}

/// The daemon flags of every attack: loopback webhooks allowed (the receivers are there).
fn common_flags() -> Vec<String> {
    ["--webhook-allow-net", "127.0.0.0/8"]
        .map(String::from)
        .to_vec()
}

/// What one attack needs before its daemon starts.
enum Prepared {
    Nothing,
    Backlog(u64),
    Receiver(Receiver),
}

/// Runs every attack of `options`, each on a fresh daemon and store under `scratch`.
pub async fn run(scratch: &Path, options: &HostileOptions) -> Result<HostileReport> {
    std::fs::create_dir_all(scratch).map_err(BenchError::io("create the scratch dir"))?;
    let work = tempfile::tempdir_in(scratch).map_err(BenchError::io("make a temporary dir"))?;
    let mut rows = Vec::new();
    for (i, attack) in options.attacks.iter().enumerate() {
        let dir = work.path().join(format!("{i}-{}", attack.name()));
        std::fs::create_dir_all(&dir).map_err(BenchError::io("make the attack's dir"))?;
        let database = match &options.database_url {
            Some(base) => {
                let name = format!("hostile_{}_{}_{i}", std::process::id(), attack.name());
                Some((name.clone(), create_database(base, &name)?))
            }
            None => None,
        };
        let row = one(
            &dir,
            *attack,
            options,
            database.as_ref().map(|d| d.1.clone()),
        )
        .await;
        if let (Some(base), Some((name, _))) = (&options.database_url, &database) {
            let _ = psql(base, &format!("DROP DATABASE IF EXISTS {name}"));
        }
        let row = row?;
        eprintln!(
            "{}: peak {} MiB, health p99 {:.2} ms, new-connection p99 {:.2} ms: {}",
            attack.name(),
            row.after.hwm_kib / 1024,
            row.health.p99_ms,
            row.health_new.p99_ms,
            row.outcome
        );
        rows.push(row);
    }
    Ok(HostileReport {
        engine: if options.database_url.is_some() {
            "postgres".into()
        } else {
            "sled".into()
        },
        rows,
    })
}

async fn one(
    dir: &Path,
    attack: Attack,
    options: &HostileOptions,
    database: Option<String>,
) -> Result<Row> {
    let data = dir.join("data");
    let engine = match &database {
        Some(url) => Engine::Postgres(url.clone()),
        None => Engine::Sled(data.clone()),
    };
    let mut extra = common_flags();
    extra.extend(options.daemon_flags.iter().cloned());
    if let Some(url) = &database {
        extra.extend(["--database-url".to_string(), url.clone()]);
    }
    let prepared = match attack {
        Attack::Watch => {
            Prepared::Backlog(with_store!(&engine, |s| plant_backlog(&s, 20_000).await?))
        }
        Attack::Planted => {
            let receiver = Receiver::start(None).await?;
            with_store!(&engine, |s| plant_steering(&s, &receiver.url).await?);
            extra.extend(["--alert-schedule".to_string(), "* * * * * *".to_string()]);
            Prepared::Receiver(receiver)
        }
        Attack::Webhook => Prepared::Receiver(Receiver::start(Some(1 << 30)).await?),
        _ => Prepared::Nothing,
    };
    let daemon = Daemon::start(&options.recertd, &data, &extra, &dir.join("recertd.log")).await?;
    let pid = daemon.pid()?;
    let admin = connect(&daemon.url, Some(&daemon.token), 1)
        .await?
        .pop()
        .expect("one channel");
    // What the attack works on, made before the clock starts: a default holder (the
    // import's base dump brings its own).
    if attack != Attack::Import {
        HolderServiceClient::new(admin.clone())
            .create_holder(pb::CreateHolderRequest {
                holder: Some(pb::Holder {
                    name: "Dana Reyes".into(),
                    time_zone: "UTC".into(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateHolder"))?;
    }
    let dumps = if attack == Attack::Import {
        let (base, big) = (dir.join("base.jsonl"), dir.join("big.jsonl"));
        let (bytes, records) = crate::import_load::write_dumps(
            &base,
            &big,
            options.import_holders,
            options.import_mib,
        )?;
        crate::import_load::import(&admin, &base).await?;
        Some((big, bytes, records))
    } else {
        None
    };
    let probe_channel = connect(&daemon.url, Some(&daemon.token), 1)
        .await?
        .pop()
        .expect("one channel");
    // Settle, then start the second client and the clock.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = daemon.memory()?;
    let cpu_before = cpu_time(pid)?;
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(daemon.url.clone(), probe_channel, stop.clone()));
    let started = Instant::now();
    let window = options.window;
    let outcome = match attack {
        Attack::None => {
            tokio::time::sleep(window).await;
            "-".to_string()
        }
        Attack::Oversized => oversized(&admin, window).await,
        Attack::Quadratic => quadratic(&daemon, window).await?,
        Attack::Import => {
            let (big, bytes, records) = dumps.expect("dumps for the import");
            let reply = crate::import_load::import(&admin, &big).await;
            match reply {
                Ok(r) => format!(
                    "{:.0} MiB, {records} records: imported {} in {:.1} s",
                    bytes as f64 / 1048576.0,
                    r.imported,
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => format!("failed: {e}"),
            }
        }
        Attack::Watch => {
            let Prepared::Backlog(holder) = &prepared else {
                unreachable!("a backlog was planted")
            };
            watch(&daemon, &admin, *holder, options.streams, window).await?
        }
        Attack::Webhook => {
            let Prepared::Receiver(receiver) = &prepared else {
                unreachable!("a receiver was started")
            };
            webhook(&admin, receiver, window).await?
        }
        Attack::Connections => idle_connections(&daemon, options.connections, window).await?,
        Attack::Planted => {
            let Prepared::Receiver(receiver) = &prepared else {
                unreachable!("a receiver was started")
            };
            tokio::time::sleep(window).await;
            format!(
                "{} alerts delivered to the receiver (2 expected: Berlin, Paris)",
                receiver.requests.load(Ordering::Relaxed)
            )
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let after = daemon.memory()?;
    let cpu_ms = u64::try_from((cpu_time(pid)? - cpu_before).as_millis()).unwrap_or(u64::MAX);
    stop.store(true, Ordering::Relaxed);
    let probed = prober.await.map_err(|e| BenchError::Task(e.to_string()))?;
    drop(prepared);
    daemon.stop().await?;
    Ok(Row {
        attack,
        outcome,
        secs,
        before,
        after,
        cpu_ms,
        health: probed.health,
        health_failed: probed.health_failed,
        health_new: probed.health_new,
        health_new_failed: probed.health_new_failed,
        health_new_gap_ms: probed.health_new_gap_ms,
    })
}

/// The code of a refusal, in words, for the outcome column.
fn tally(codes: &mut std::collections::BTreeMap<String, u64>, result: Result<(), tonic::Status>) {
    let key = match result {
        Ok(()) => "OK".to_string(),
        Err(s) => format!("{:?}", s.code()),
    };
    *codes.entry(key).or_default() += 1;
}

fn tallied(codes: &std::collections::BTreeMap<String, u64>) -> String {
    codes
        .iter()
        .map(|(code, n)| format!("{n} × {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn oversized(admin: &Channel, window: Duration) -> String {
    let mut holders = HolderServiceClient::new(admin.clone())
        .max_encoding_message_size(16 << 20)
        .max_decoding_message_size(16 << 20);
    let holder = |email: String, time_zone: String| pb::CreateHolderRequest {
        holder: Some(pb::Holder {
            name: "Dana".into(),
            email,
            time_zone,
            ..Default::default()
        }),
    };
    let email = format!("{}@example.org", "y".repeat(1 << 20));
    let zone = "Z".repeat(3 << 20);
    let mut codes = Default::default();
    let started = Instant::now();
    while started.elapsed() < window {
        let r = holders
            .create_holder(holder(email.clone(), "UTC".into()))
            .await;
        tally(&mut codes, r.map(drop));
        let r = holders
            .create_holder(holder(String::new(), zone.clone()))
            .await;
        tally(&mut codes, r.map(drop));
    }
    format!("1 MiB e-mail / 3 MiB zone: {}", tallied(&codes))
}

async fn quadratic(daemon: &Daemon, window: Duration) -> Result<String> {
    let course = |categories: usize, pins: usize| pb::CreateCourseRequest {
        course: Some(pb::Course {
            holder_id: "default".into(),
            title: "Safety".into(),
            completed_on: "2026-06-01".into(),
            credits_hundredths: 100,
            categories: (0..categories).map(|i| format!("c{i}")).collect(),
            credential_ids: (0..pins).map(|i| format!("cr{}", i + 1)).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (categories, pins) = (course(120_000, 0), course(0, 120_000));
    let mut channels = connect(&daemon.url, Some(&daemon.token), 2).await?;
    let mut a = CourseServiceClient::new(channels.pop().expect("two"));
    let mut b = CourseServiceClient::new(channels.pop().expect("two"));
    let mut codes = Default::default();
    let started = Instant::now();
    while started.elapsed() < window {
        let (x, y) = tokio::join!(
            a.create_course(categories.clone()),
            b.create_course(pins.clone())
        );
        tally(&mut codes, x.map(drop));
        tally(&mut codes, y.map(drop));
    }
    Ok(format!(
        "pairs of 120,000 categories / pins: {}",
        tallied(&codes)
    ))
}

async fn watch(
    daemon: &Daemon,
    admin: &Channel,
    holder: u64,
    streams: usize,
    window: Duration,
) -> Result<String> {
    // 16 streams per token (the daemon's cap): as many tokens as that takes.
    let mut tokens = Vec::new();
    let mut maker = TokenServiceClient::new(admin.clone());
    for t in 0..streams.div_ceil(16) {
        let made = maker
            .create_token(pb::CreateTokenRequest {
                name: format!("watcher {t}"),
                role: "admin".into(),
                ..Default::default()
            })
            .await
            .map_err(BenchError::rpc("CreateToken"))?;
        tokens.push(made.into_inner().secret);
    }
    let started = Instant::now();
    let holder_id = IdKind::Holder.format(holder);
    let mut open = Vec::new();
    let mut codes = Default::default();
    for s in 0..streams {
        let channel = connect(&daemon.url, Some(&tokens[s / 16]), 1)
            .await?
            .pop()
            .expect("one channel");
        let opened = AlertServiceClient::new(channel)
            .watch_alerts(pb::WatchAlertsRequest {
                holder_id: holder_id.clone(),
                after_seq: 0,
            })
            .await;
        match opened {
            Ok(stream) => {
                let mut stream = stream.into_inner();
                let first = tokio::time::timeout(Duration::from_secs(30), stream.message()).await;
                tally(
                    &mut codes,
                    match first {
                        Ok(Ok(Some(_))) => Ok(()),
                        Ok(Err(s)) => Err(s),
                        _ => Err(tonic::Status::deadline_exceeded("no first alert")),
                    },
                );
                open.push(stream);
            }
            Err(s) => tally(&mut codes, Err(s)),
        }
    }
    let opened_in = started.elapsed();
    if let Some(rest) = window.checked_sub(opened_in) {
        tokio::time::sleep(rest).await;
    }
    drop(open);
    Ok(format!(
        "{streams} streams over 20,000 alerts of 1.4 KB ({} tokens), opened in {:.1} s: {}",
        tokens.len(),
        opened_in.as_secs_f64(),
        tallied(&codes)
    ))
}

/// Holders with a webhook to the 1 GiB receiver: a channel may be tested once a minute,
/// so each test alert of the window goes to a holder of its own.
const WEBHOOK_HOLDERS: usize = 128;
/// Test alerts sent at once.
const WEBHOOK_AT_ONCE: usize = 4;

async fn webhook(admin: &Channel, receiver: &Receiver, window: Duration) -> Result<String> {
    let mut holders = HolderServiceClient::new(admin.clone());
    let mut channels = ChannelServiceClient::new(admin.clone());
    let mut ids = Vec::new();
    for h in 0..WEBHOOK_HOLDERS {
        let holder = holders
            .create_holder(pb::CreateHolderRequest {
                holder: Some(pb::Holder {
                    name: format!("Hooked {h}"),
                    time_zone: "UTC".into(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateHolder"))?
            .into_inner();
        channels
            .create_channel(pb::CreateChannelRequest {
                channel: Some(pb::Channel {
                    holder_id: holder.id.clone(),
                    kind: "webhook".into(),
                    target: receiver.url.clone(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(BenchError::rpc("CreateChannel"))?;
        ids.push(holder.id);
    }
    let started = Instant::now();
    let mut senders = Vec::new();
    for part in ids.chunks(WEBHOOK_HOLDERS / WEBHOOK_AT_ONCE) {
        let (part, admin) = (part.to_vec(), admin.clone());
        senders.push(tokio::spawn(async move {
            let mut alerts = AlertServiceClient::new(admin);
            let mut states = std::collections::BTreeMap::<String, u64>::new();
            for holder_id in part {
                if started.elapsed() >= window {
                    break;
                }
                let reply = alerts
                    .send_test_alert(pb::SendTestAlertRequest {
                        holder_id,
                        ..Default::default()
                    })
                    .await
                    .map_err(BenchError::rpc("SendTestAlert"))?;
                for d in reply.into_inner().deliveries {
                    *states
                        .entry(format!("{}: {}", d.status, d.last_error))
                        .or_default() += 1;
                }
            }
            Ok::<_, BenchError>(states)
        }));
    }
    let mut states = std::collections::BTreeMap::<String, u64>::new();
    for sender in senders {
        let part = sender
            .await
            .map_err(|e| BenchError::Task(e.to_string()))??;
        for (k, n) in part {
            *states.entry(k).or_default() += n;
        }
    }
    if let Some(rest) = window.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let tests: u64 = states.values().sum();
    Ok(format!(
        "{tests} test alerts ({WEBHOOK_AT_ONCE} at once) to a receiver answering 500 with 1 GiB each, which got {:.1} MiB out in all: {}",
        receiver.sent.load(Ordering::Relaxed) as f64 / 1048576.0,
        states
            .iter()
            .map(|(s, n)| format!("{n} × {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

async fn idle_connections(daemon: &Daemon, count: usize, window: Duration) -> Result<String> {
    let pid = daemon.pid()?.to_string();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=1024:1024"])
        .status()
        .map_err(BenchError::io("run prlimit (util-linux)"))?;
    if !limited.success() {
        return Err(BenchError::Daemon("prlimit failed".into()));
    }
    let addr = daemon
        .url
        .strip_prefix("http://")
        .unwrap_or(&daemon.url)
        .to_string();
    let started = Instant::now();
    let mut idle = Vec::new();
    let mut refused = 0;
    for _ in 0..count {
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        {
            Ok(Ok(s)) => idle.push(s),
            _ => refused += 1,
        }
    }
    let fds = || std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
    let mut most = fds();
    while started.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(fds());
    }
    // How many the daemon closed meanwhile (a read sees the end, or a reset).
    let mut closed = 0;
    for s in &mut idle {
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    Ok(format!(
        "{} silent connections opened ({refused} not), the daemon holding at most {most} descriptors; {closed} closed by the daemon by the end",
        idle.len()
    ))
}
