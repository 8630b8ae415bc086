//! The alert tick against stores of growing size: each size gets a fresh store with that many
//! credentials expiring far from the tick date plus exactly `due` whose 30-day mark falls on
//! it, and `AlertEngine::tick_zone` is timed three ways:
//!
//! - the first tick after the bulk load (day D-1): every credential is still in
//!   `dirty_credentials`, so this one visits them all (and enqueues the `due` 60-day alerts);
//! - the steady ticks on days D, D+1, ..., D+`ticks`-1: cohort k of `due` credentials
//!   expires on D+30+k, so each tick must find exactly its `due` 30-day alerts through the
//!   expiry index. Their median is the figure the target `tick(10^6)/tick(10^4) <= 1.5` is
//!   about (one tick alone is at the mercy of one flush on a shared disk);
//! - an empty tick on the next day (nothing due), which isolates the index scans from
//!   evaluating and enqueueing alerts.
//!
//! After the ticks it times small durable writes and replays the reads `evaluate` makes for
//! each due credential, so a growing tick can be split into scans, reads and writes.

use crate::engine::Rate;
use crate::latency::Latency;
use crate::seed::{bounded, credential, holders};
use crate::{BenchError, Result};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use recertd::alerts::{AlertConfig, AlertEngine};
use recertd::catalog;
use recertd::clock::ManualClock;
use recertd::service::standing;
use recertd::store::{PgOptions, PgStore, SettingsScope, SledStore, Store, StoreOptions};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The zone every seeded holder is in.
const ZONE: &str = "UTC";
/// The tick date D: fixed, so runs compare.
const TICK_DATE: Date = Date::constant(2026, 6, 15);
/// Far credentials expire at least this many days after D: beyond every threshold (180).
const FAR_DAYS: i64 = 400;
/// ... spread over this many days.
const SPREAD_DAYS: u64 = 3000;
/// Small durable writes timed after the ticks.
const DURABLE_PROBES: usize = 50;

/// What to measure.
#[derive(Debug, Clone)]
pub struct TickOptions {
    /// Credentials (besides the due ones) in each store.
    pub sizes: Vec<u64>,
    /// Credentials whose 30-day mark is on each steady tick's date.
    pub due: u64,
    /// Steady ticks per size (one cohort of `due` credentials each); the median is reported.
    pub ticks: usize,
    /// Credentials per seeded holder (distinct programs).
    pub credentials_per_holder: usize,
    /// Writes in flight while seeding.
    pub in_flight: usize,
    /// Also time the first tick after the bulk load (it visits every credential).
    pub first_tick: bool,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
    /// Read every credential through the expiry index before the ticks (see
    /// [`TickSize::settle`]).
    pub settle: bool,
    /// Close and reopen the store after the bulk load and its first tick, as a restarted
    /// daemon would, before timing the steady and empty ticks: sled's deferred frees of the
    /// bulk load's garbage are then not paid inside the timed ticks.
    pub reopen: bool,
    /// A PostgreSQL cluster (`postgres://USER@HOST:PORT/DB`): each size gets a fresh database
    /// on it instead of a sled store in a temporary dir.
    pub database_url: Option<String>,
}

/// One store size.
#[derive(Debug, Clone, Serialize)]
pub struct TickSize {
    /// Far credentials.
    pub credentials: u64,
    /// Due credentials.
    pub due: u64,
    /// Seeding the holders and credentials.
    pub seed: Rate,
    /// A full read of the expiry index and every credential after seeding and before the
    /// ticks, when asked for: sled consolidates pages the bulk load left as long fragment
    /// chains on their first read, and frees the old versions through crossbeam-epoch, so
    /// this moves that cost off the ticks. Zero operations when not asked for.
    pub settle: Rate,
    /// First tick after the bulk load (every credential dirty), if measured.
    pub first_tick_ms: Option<f64>,
    /// Median of the steady ticks, each of which finds and enqueues exactly `due` alerts.
    pub tick_ms: f64,
    /// Every steady tick, in order (days D, D+1, ...).
    pub ticks_ms: Vec<f64>,
    /// Median CPU time (user + system, every thread of this process) the steady ticks used,
    /// ms: what the tick computes, as opposed to what it waits for (disk, scheduling).
    pub tick_cpu_ms: f64,
    /// Medians over the steady ticks of where their time went
    /// (`AlertEngine::last_tick_timings`), ms.
    pub phases_ms: TickPhases,
    /// Tick on the day after the steady ones, with nothing due: index scans only.
    pub empty_tick_ms: f64,
    /// (steady - empty) / due: the cost of evaluating and durably enqueueing one alert.
    pub ms_per_enqueued_alert: f64,
    /// One small durable store write (`Store::set_last_tick`), one at a time, after the
    /// ticks.
    pub durable_write: Latency,
    /// The reads a tick made per due credential before they were batched, replayed one by
    /// one after the ticks, mean µs each.
    pub reads_us: EvaluationReads,
    /// The batched reads the tick makes now (`BatchReads`, one call per kind of record for
    /// all the due credentials of a tick), replayed after the ticks: µs per due credential.
    pub batched_reads_us: f64,
}

/// Median milliseconds of each phase of the steady ticks.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TickPhases {
    /// Expiry-index windows and changed credentials.
    pub scan: f64,
    /// Reading and evaluating the candidates.
    pub evaluate: f64,
    /// The durable write of the due alerts.
    pub enqueue: f64,
}

/// Mean microseconds of each read `AlertEngine::evaluate` makes for one due credential.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct EvaluationReads {
    /// `Store::credential` and `Store::holder`.
    pub credential_and_holder: f64,
    /// The credential's, holder's and program's alert settings (3 `Store::alert_settings`).
    pub alert_settings: f64,
    /// `standing::program` (local override lookup).
    pub program: f64,
    /// `Store::alert_enqueued` (dedupe key).
    pub alert_enqueued: f64,
    /// `standing::of_holder`: credentials, courses and compliance of the holder.
    pub standing: f64,
    /// `Store::channels_of`.
    pub channels: f64,
}

impl EvaluationReads {
    /// All of them.
    pub fn total(&self) -> f64 {
        self.credential_and_holder
            + self.alert_settings
            + self.program
            + self.alert_enqueued
            + self.standing
            + self.channels
    }
}

/// Replays the reads of `AlertEngine::evaluate` for each credential in `ids`.
async fn evaluation_reads<S: Store>(store: &S, ids: &[u64]) -> Result<EvaluationReads> {
    let mut r = EvaluationReads::default();
    let time = |slot: &mut f64, t: Instant| *slot += t.elapsed().as_secs_f64() * 1e6;
    for &id in ids {
        let t = Instant::now();
        let credential = store.credential(id).await?;
        let holder = store.holder(credential.holder_id).await?;
        time(&mut r.credential_and_holder, t);
        let t = Instant::now();
        store.alert_settings(&SettingsScope::Credential(id)).await?;
        store
            .alert_settings(&SettingsScope::Holder(holder.id))
            .await?;
        store
            .alert_settings(&SettingsScope::Program(credential.program.clone()))
            .await?;
        time(&mut r.alert_settings, t);
        let t = Instant::now();
        standing::program(store, &credential.program).await?;
        time(&mut r.program, t);
        let t = Instant::now();
        store
            .alert_enqueued(&recertd::domain::DedupeKey::Credential {
                credential_id: id,
                expires_on: credential.expires_on,
                threshold_days: 30,
            })
            .await?;
        time(&mut r.alert_enqueued, t);
        let t = Instant::now();
        standing::of_holder(store, &holder, TICK_DATE)
            .await
            .map_err(|e| BenchError::Check(format!("standing of a due holder: {e}")))?;
        time(&mut r.standing, t);
        let t = Instant::now();
        store.channels_of(holder.id).await?;
        time(&mut r.channels, t);
    }
    let n = ids.len().max(1) as f64;
    for slot in [
        &mut r.credential_and_holder,
        &mut r.alert_settings,
        &mut r.program,
        &mut r.alert_enqueued,
        &mut r.standing,
        &mut r.channels,
    ] {
        *slot /= n;
    }
    Ok(r)
}

/// Replays the batched reads of `AlertEngine::evaluate_page` for the credentials in `ids`
/// (one page), µs per credential.
async fn batched_reads<S: Store>(store: &S, ids: &[u64]) -> Result<f64> {
    let t = Instant::now();
    let credentials = store.credentials_by_id(ids).await?;
    let mut holders: Vec<u64> = credentials.iter().map(|c| c.holder_id).collect();
    holders.sort_unstable();
    holders.dedup();
    store.holders_by_id(&holders).await?;
    let mut scopes = Vec::with_capacity(ids.len() * 3);
    let mut keys = Vec::with_capacity(ids.len());
    for c in &credentials {
        scopes.push(SettingsScope::Credential(c.id));
        scopes.push(SettingsScope::Holder(c.holder_id));
        scopes.push(SettingsScope::Program(c.program.clone()));
        keys.push(recertd::domain::DedupeKey::Credential {
            credential_id: c.id,
            expires_on: c.expires_on,
            threshold_days: 30,
        });
    }
    store.alert_settings_many(&scopes).await?;
    store.alerts_enqueued(&keys).await?;
    store.records_of(&holders).await?;
    store.channels_of_many(&holders).await?;
    Ok(t.elapsed().as_secs_f64() * 1e6 / ids.len().max(1) as f64)
}

/// Ticks over every size, and the ratio of the largest to the smallest.
#[derive(Debug, Clone, Serialize)]
pub struct TickReport {
    /// Each size, smallest first.
    pub sizes: Vec<TickSize>,
    /// tick(largest) / tick(smallest), steady ticks.
    pub ratio_largest_to_smallest: f64,
    /// The same for the empty ticks.
    pub empty_ratio_largest_to_smallest: f64,
    /// The same for the CPU time of the steady ticks (medians).
    pub cpu_ratio_largest_to_smallest: f64,
}

fn noon(date: Date) -> Timestamp {
    date.at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn day(offset: i64) -> Date {
    TICK_DATE.checked_add(offset.days()).unwrap_or(TICK_DATE)
}

/// A new database on the cluster at `base` (by `psql`, as the tests make theirs), named
/// after `what` and this process: its URL.
pub(crate) fn fresh_database(base: &str, what: &str) -> Result<String> {
    let name = format!("bench_{what}_{}", std::process::id());
    let out = std::process::Command::new("psql")
        .arg(base)
        .args(["-qAt", "-c", &format!("DROP DATABASE IF EXISTS {name}")])
        .args(["-c", &format!("CREATE DATABASE {name}")])
        .output()
        .map_err(BenchError::io("run psql"))?;
    if !out.status.success() {
        return Err(BenchError::Check(format!(
            "cannot create database {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let (server, _) = base
        .rsplit_once('/')
        .ok_or_else(|| BenchError::Usage("a database URL ends in /DB".into()))?;
    Ok(format!("{server}/{name}"))
}

/// Runs one SQL command on the database at `url` with psql.
fn psql(url: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .arg(url)
        .args(["-qAt", "-c", sql])
        .output()
        .map_err(BenchError::io("run psql"))?;
    if !out.status.success() {
        return Err(BenchError::Check(format!(
            "{sql} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Opens the PostgreSQL store at `url` with a pool sized for `in_flight` writers.
pub(crate) async fn open_pg(url: &str) -> Result<PgStore> {
    Ok(PgStore::open(&PgOptions {
        url: url.to_string(),
        pool_size: 16,
    })
    .await?)
}

/// Seeds one store (sled in `dir`, or a fresh PostgreSQL database) and times its ticks.
async fn one_size(dir: &Path, size: u64, options: &TickOptions) -> Result<TickSize> {
    let sled_options = StoreOptions {
        cache_bytes: options.cache_mib * 1024 * 1024,
    };
    match &options.database_url {
        None => {
            let store = SledStore::open(dir, &sled_options)?;
            let reopen = || SledStore::open(dir, &sled_options).map_err(BenchError::from);
            measure(store, Some(&reopen), None, size, options).await
        }
        Some(base) => {
            if options.reopen {
                return Err(BenchError::Usage(
                    "--reopen is for sled stores (a database keeps no process state)".into(),
                ));
            }
            let url = fresh_database(base, &format!("tick{size}"))?;
            let store = open_pg(&url).await?;
            // What autovacuum does within its naptime after a bulk load and the first tick's
            // removal of every dirty mark: fresh statistics, dead rows gone. Without it the
            // planner reads a 10^5-row table by its seeding-time statistics (100 holders'
            // credentials estimated at 42,560 rows: a sequential scan, 7 ms).
            let maintain = || psql(&url, "VACUUM ANALYZE");
            measure(store, None, Some(&maintain), size, options).await
        }
    }
}

/// Seeds `store` and times its ticks; `reopen` opens it anew (`--reopen`); `maintain` runs
/// after the bulk load's first tick, before the timed ticks.
async fn measure<S: Store>(
    store: S,
    reopen: Option<&dyn Fn() -> Result<S>>,
    maintain: Option<&dyn Fn() -> Result<()>>,
    size: u64,
    options: &TickOptions,
) -> Result<TickSize> {
    let per_holder = options
        .credentials_per_holder
        .clamp(1, catalog::builtin().len()) as u64;
    let in_flight = options.in_flight.max(1);
    let started = Instant::now();
    let far_holders = Arc::new(holders(&store, size.div_ceil(per_holder), in_flight).await?);
    bounded(size, in_flight, |i| {
        let store = store.clone();
        let ids = far_holders.clone();
        async move {
            let holder = ids[(i / per_holder) as usize];
            let expires = day(FAR_DAYS + i64::try_from(i % SPREAD_DAYS).unwrap_or(0));
            store
                .create_credential(credential(holder, (i % per_holder) as usize, expires))
                .await
                .map(drop)
        }
    })
    .await?;
    // The due credentials: one holder each, nha-cpt (2-year cycle: 90/60/30/... day marks);
    // cohort k expires on D+30+k, so its 30-day mark is day D+k.
    let ticks = options.ticks.max(1);
    let all_due = options.due * ticks as u64;
    let due_holders = Arc::new(holders(&store, all_due, in_flight).await?);
    let due = options.due.max(1);
    bounded(all_due, in_flight, |i| {
        let store = store.clone();
        let ids = due_holders.clone();
        let expires = day(30 + i64::try_from(i / due).unwrap_or(0));
        async move {
            store
                .create_credential(credential(ids[i as usize], 0, expires))
                .await
                .map(drop)
        }
    })
    .await?;
    let seed = Rate::of(size + far_holders.len() as u64 + 2 * all_due, started);

    let started = Instant::now();
    let settled = if options.settle {
        let all = store
            .expiring(day(-36_500), day(36_500), None, usize::MAX)
            .await?;
        all.items.len() as u64
    } else {
        0
    };
    let settle = Rate::of(settled, started);

    let clock = Arc::new(ManualClock::new(noon(TICK_DATE)));
    let engine = AlertEngine::new(store.clone(), clock, &AlertConfig::default())?;
    let expect = |what: &str, got: usize, want: u64| -> Result<()> {
        if got as u64 == want {
            Ok(())
        } else {
            Err(BenchError::Check(format!(
                "{what} tick over {size} credentials enqueued {got} alerts, expected {want}"
            )))
        }
    };

    let first_tick_ms = if options.first_tick {
        let t = Instant::now();
        let alerts = engine
            .tick_zone(ZONE, day(-1), Some(day(-2)), noon(day(-1)))
            .await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        expect("first", credential_alerts(&alerts), all_due)?;
        Some(ms)
    } else {
        // Settle the dirty set the way the first tick would, without timing it.
        let dirty = store.dirty_credentials().await?;
        for chunk in dirty.chunks(10_000) {
            store.clear_dirty(&[], chunk).await?;
        }
        None
    };
    if !store.dirty_credentials().await?.is_empty() {
        return Err(BenchError::Check(
            "dirty credentials left after the first tick".into(),
        ));
    }
    if let Some(maintain) = maintain {
        maintain()?;
    }
    let (store, engine) = if let (true, Some(reopen)) = (options.reopen, reopen) {
        drop(engine);
        store.close().await?;
        drop(store);
        let store = reopen()?;
        let clock = Arc::new(ManualClock::new(noon(TICK_DATE)));
        let engine = AlertEngine::new(store.clone(), clock, &AlertConfig::default())?;
        (store, engine)
    } else {
        (store, engine)
    };

    // The bulk load and the first tick leave the kernel writing back hundreds of MiB (at
    // 10^6) for a while; a tick's flush would queue behind it. A daemon's daily tick does
    // not follow a bulk load, so wait for that writeback first.
    sync_filesystems().await?;
    let mut ticks_ms = Vec::with_capacity(ticks);
    let mut phases: [Vec<f64>; 3] = Default::default();
    let mut cpu_ms = Vec::with_capacity(ticks);
    let mut due_ids: Vec<u64> = Vec::new();
    for k in 0..ticks as i64 {
        let cpu = crate::machine::own_cpu_secs();
        let t = Instant::now();
        let alerts = engine
            .tick_zone(ZONE, day(k), Some(day(k - 1)), noon(day(k)))
            .await?;
        ticks_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if let (Some(before), Some(after)) = (cpu, crate::machine::own_cpu_secs()) {
            cpu_ms.push((after - before) * 1e3);
        }
        let timings = engine.last_tick_timings();
        for (into, d) in phases
            .iter_mut()
            .zip([timings.scan, timings.evaluate, timings.enqueue])
        {
            into.push(d.as_secs_f64() * 1e3);
        }
        expect("steady", credential_alerts(&alerts), options.due)?;
        if let Some(wrong) = alerts
            .iter()
            .filter(|a| matches!(a.subject, recertd::domain::AlertSubject::Credential))
            .find(|a| a.threshold_days != 30)
        {
            return Err(BenchError::Check(format!(
                "the steady tick enqueued a {}-day alert, expected only 30-day ones",
                wrong.threshold_days
            )));
        }
        due_ids.extend(alerts.iter().map(|a| a.credential_id));
    }
    let tick_ms = median(&ticks_ms);
    let tick_cpu_ms = median(&cpu_ms);
    let phases_ms = TickPhases {
        scan: median(&phases[0]),
        evaluate: median(&phases[1]),
        enqueue: median(&phases[2]),
    };

    let after = ticks as i64;
    let t = Instant::now();
    let alerts = engine
        .tick_zone(ZONE, day(after), Some(day(after - 1)), noon(day(after)))
        .await?;
    let empty_tick_ms = t.elapsed().as_secs_f64() * 1e3;
    expect("empty", credential_alerts(&alerts), 0)?;

    let mut writes = Vec::with_capacity(DURABLE_PROBES);
    for _ in 0..DURABLE_PROBES {
        let t = Instant::now();
        store.set_last_tick("bench/probe", noon(day(after))).await?;
        writes.push(t.elapsed());
    }

    let reads_us = evaluation_reads(&store, &due_ids).await?;
    let batched_reads_us =
        batched_reads(&store, &due_ids[..due_ids.len().min(options.due as usize)]).await?;

    store.close().await?;
    Ok(TickSize {
        credentials: size,
        due: options.due,
        seed,
        settle,
        first_tick_ms,
        tick_ms,
        ticks_ms,
        tick_cpu_ms,
        phases_ms,
        empty_tick_ms,
        ms_per_enqueued_alert: if options.due == 0 {
            0.0
        } else {
            (tick_ms - empty_tick_ms) / options.due as f64
        },
        durable_write: Latency::of(&writes),
        reads_us,
        batched_reads_us,
    })
}

/// Runs `sync(1)`: returns once the kernel has written back every dirty page.
async fn sync_filesystems() -> Result<()> {
    let status = tokio::process::Command::new("sync")
        .status()
        .await
        .map_err(BenchError::io("run sync"))?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::Check(format!("sync exited with {status}")))
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Runs every size in its own temporary store under `dir`, smallest first.
pub async fn run(dir: &Path, options: &TickOptions) -> Result<TickReport> {
    let mut sizes_sorted = options.sizes.clone();
    sizes_sorted.sort_unstable();
    sizes_sorted.dedup();
    if sizes_sorted.is_empty() {
        return Err(BenchError::Usage("give at least one size".into()));
    }
    let mut sizes = Vec::new();
    for size in sizes_sorted {
        let scratch =
            tempfile::tempdir_in(dir).map_err(BenchError::io("create a scratch data dir"))?;
        sizes.push(one_size(scratch.path(), size, options).await?);
    }
    let (first, last) = (&sizes[0], &sizes[sizes.len() - 1]);
    Ok(TickReport {
        ratio_largest_to_smallest: last.tick_ms / first.tick_ms.max(f64::MIN_POSITIVE),
        empty_ratio_largest_to_smallest: last.empty_tick_ms
            / first.empty_tick_ms.max(f64::MIN_POSITIVE),
        cpu_ratio_largest_to_smallest: last.tick_cpu_ms / first.tick_cpu_ms.max(f64::MIN_POSITIVE),
        sizes,
    })
}

impl std::fmt::Display for TickReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "alert tick (AlertEngine::tick_zone, zone {ZONE}, D = {TICK_DATE}):"
        )?;
        writeln!(
            f,
            "{:>10} {:>5} {:>10} {:>14} {:>12} {:>15} {:>14} {:>10} {:>14}",
            "creds",
            "due",
            "seed/s",
            "first tick ms",
            "tick med ms",
            "ticks min-max",
            "empty tick ms",
            "ms/alert",
            "1 write p50 ms"
        )?;
        for s in &self.sizes {
            writeln!(
                f,
                "{:>10} {:>5} {:>10.0} {:>14} {:>12.2} {:>15} {:>14.2} {:>10.3} {:>14.3}",
                s.credentials,
                s.due,
                s.seed.per_s,
                s.first_tick_ms
                    .map_or_else(|| "-".to_string(), |ms| format!("{ms:.1}")),
                s.tick_ms,
                format!(
                    "{:.2}-{:.2}",
                    s.ticks_ms.iter().copied().fold(f64::INFINITY, f64::min),
                    s.ticks_ms.iter().copied().fold(0.0, f64::max)
                ),
                s.empty_tick_ms,
                s.ms_per_enqueued_alert,
                s.durable_write.p50_ms
            )?;
        }
        writeln!(
            f,
            "steady tick phases (median ms): {:>14} {:>9} {:>18} {:>12}",
            "scan", "evaluate", "enqueue (durable)", "CPU of tick"
        )?;
        for s in &self.sizes {
            let p = &s.phases_ms;
            writeln!(
                f,
                "  {:>10} credentials: {:>12.2} {:>9.2} {:>18.2} {:>12.2}",
                s.credentials, p.scan, p.evaluate, p.enqueue, s.tick_cpu_ms
            )?;
        }
        writeln!(
            f,
            "reads per due credential, replayed (mean µs): {:>10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
            "cred+holder", "settings", "program", "dedupe", "standing", "channels", "total"
        )?;
        for s in &self.sizes {
            let r = &s.reads_us;
            writeln!(
                f,
                "  {:>10} credentials: {:>29.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>9.1} {:>8.1}",
                s.credentials,
                r.credential_and_holder,
                r.alert_settings,
                r.program,
                r.alert_enqueued,
                r.standing,
                r.channels,
                r.total()
            )?;
        }
        write!(f, "batched reads per due credential, replayed (mean µs):")?;
        for s in &self.sizes {
            write!(
                f,
                " {:.1} at {} credentials;",
                s.batched_reads_us, s.credentials
            )?;
        }
        writeln!(f)?;
        write!(
            f,
            "tick(largest)/tick(smallest), medians = {:.2} (CPU of the ticks: {:.2}; empty ticks: {:.2})",
            self.ratio_largest_to_smallest,
            self.cpu_ratio_largest_to_smallest,
            self.empty_ratio_largest_to_smallest
        )
    }
}

/// The credential-expiry alerts among `alerts`: the seeded programs include ones with dues
/// (AMT), whose reminders the same tick may also enqueue; the checks count expiries only.
fn credential_alerts(alerts: &[recertd::domain::Alert]) -> usize {
    alerts
        .iter()
        .filter(|a| matches!(a.subject, recertd::domain::AlertSubject::Credential))
        .count()
}
