//! Fills a data dir fast through recertd's own store (`recertd::store::Store`), the way the
//! daemon writes: every `create_*` call is one transaction that waits for a durable group
//! commit, so many are kept in flight at once to share flushes.
//!
//! It reports the rate of each phase and, from a few writes made one at a time, what a lone
//! durable write costs, so the bound on the bulk rate can be read off.
//!
//! [`import`] fills a data dir through the import path instead, `service::import::import`
//! (what `recert import` uses): one transaction and one flush per chunk of holders with
//! their credentials and courses.

use crate::engine::Rate;
use crate::latency::Latency;
use crate::{BenchError, Result};
use jiff::ToSpan;
use jiff::civil::Date;
use recertd::catalog;
use recertd::domain::{Course, Credential, Credits, Format, Holder, Unit};
use recertd::service::import::{Lined, ParsedDump, import as import_dump};
use recertd::store::{SledStore, Store, StoreError, StoreOptions};
use serde::Serialize;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// What to put in the data dir.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Holders to create.
    pub holders: u64,
    /// Credentials per holder (distinct built-in programs, at most one each).
    pub credentials_per_holder: usize,
    /// Courses per holder.
    pub courses_per_holder: u64,
    /// Writes kept in flight.
    pub in_flight: usize,
    /// Courses written one at a time first, to time a lone durable write.
    pub solo_writes: u64,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
    /// A PostgreSQL cluster: seed a fresh database on it instead of the data dir.
    pub database_url: Option<String>,
}

/// What seeding took.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// The data dir.
    pub dir: PathBuf,
    /// Writes in flight.
    pub in_flight: usize,
    /// Creating the holders.
    pub holders: Rate,
    /// Creating the credentials.
    pub credentials: Rate,
    /// Creating the courses, `in_flight` at a time.
    pub courses: Rate,
    /// One course at a time: transaction plus waiting for a flush that started after it.
    pub solo_course: Latency,
    /// Closing the store (last flush).
    pub close_secs: f64,
    /// Everything, from open to close.
    pub total_secs: f64,
    /// 10^6 courses at the measured bulk course rate.
    pub projected_million_courses_secs: f64,
}

/// Runs `count` store writes made by `make`, at most `in_flight` at a time, and returns
/// their results in completion order.
pub(crate) async fn bounded<T, F, Fut>(count: u64, in_flight: usize, mut make: F) -> Result<Vec<T>>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut out = Vec::new();
    let take = |joined: Option<Result<Result<T, StoreError>, tokio::task::JoinError>>,
                out: &mut Vec<T>|
     -> Result<()> {
        match joined {
            Some(Ok(Ok(value))) => {
                out.push(value);
                Ok(())
            }
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(e)) => Err(BenchError::Task(e.to_string())),
            None => Ok(()),
        }
    };
    for i in 0..count {
        if set.len() >= in_flight.max(1) {
            take(set.join_next().await, &mut out)?;
        }
        set.spawn(make(i));
    }
    while let Some(joined) = set.join_next().await {
        take(Some(joined), &mut out)?;
    }
    Ok(out)
}

/// Today in UTC: the seeded holders live in UTC.
pub(crate) fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// A holder named after `i`, in UTC.
pub(crate) fn holder(i: u64) -> Holder {
    Holder {
        id: 0,
        name: format!("Bench Holder {i}"),
        email: String::new(),
        time_zone: "UTC".into(),
        hired_on: None,
        competencies: Vec::new(),
    }
}

/// The `k`-th credential of `holder`: built-in program `k`, expiring `expires_on`.
pub(crate) fn credential(holder: u64, k: usize, expires_on: Date) -> Credential {
    let programs = catalog::builtin();
    Credential {
        id: 0,
        holder_id: holder,
        program: programs[k % programs.len()].slug.clone(),
        number: format!("B-{holder}-{k}"),
        issued_on: None,
        expires_on,
        history: Vec::new(),
        verifications: Vec::new(),
    }
}

/// Course `i` of `holder`, completed some days before `today`.
pub(crate) fn course(holder: u64, i: u64, today: Date) -> Course {
    let days_ago = 1 + (i * 37) % 600;
    Course {
        id: 0,
        holder_id: holder,
        title: format!("Venipuncture update {i}"),
        provider: "County Hospital".into(),
        accreditation: "P.A.C.E.".into(),
        completed_on: today
            .checked_sub(i64::try_from(days_ago).unwrap_or(1).days())
            .unwrap_or(today),
        amount: Credits(50 + (i % 4) as i64 * 50),
        unit: Unit::Hours,
        categories: if i.is_multiple_of(5) {
            vec!["safety".into()]
        } else {
            Vec::new()
        },
        format: Some(if i.is_multiple_of(3) {
            Format::Live
        } else {
            Format::Online
        }),
        credential_ids: Vec::new(),
        evidence: String::new(),
    }
}

/// Creates `count` holders, `in_flight` at a time; returns their ids in id order.
pub(crate) async fn holders<S: Store>(store: &S, count: u64, in_flight: usize) -> Result<Vec<u64>> {
    let mut ids: Vec<u64> = bounded(count, in_flight, |i| {
        let store = store.clone();
        async move { store.create_holder(holder(i)).await.map(|h| h.id) }
    })
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Fills `dir` (which must not hold a running recertd) with holders, credentials and courses.
pub async fn seed(dir: &Path, options: &SeedOptions) -> Result<SeedReport> {
    let started = Instant::now();
    match &options.database_url {
        None => {
            let store = SledStore::open(
                dir,
                &StoreOptions {
                    cache_bytes: options.cache_mib * 1024 * 1024,
                },
            )?;
            seed_into(store, dir, options, started).await
        }
        Some(base) => {
            let url = crate::tick::fresh_database(base, "seed")?;
            let store = crate::tick::open_pg(&url).await?;
            seed_into(store, dir, options, started).await
        }
    }
}

async fn seed_into<S: Store>(
    store: S,
    dir: &Path,
    options: &SeedOptions,
    started: Instant,
) -> Result<SeedReport> {
    let today = today();
    let in_flight = options.in_flight.max(1);

    let t = Instant::now();
    let holder_ids = Arc::new(holders(&store, options.holders, in_flight).await?);
    let holders_rate = Rate::of(holder_ids.len() as u64, t);

    let per_holder = options.credentials_per_holder.min(catalog::builtin().len());
    let t = Instant::now();
    let credential_count = holder_ids.len() as u64 * per_holder as u64;
    bounded(credential_count, in_flight, |i| {
        let store = store.clone();
        let ids = holder_ids.clone();
        async move {
            let holder = ids[(i / per_holder as u64) as usize];
            let k = (i % per_holder as u64) as usize;
            let expires = today
                .checked_add(i64::try_from(30 + (i * 53) % 900).unwrap_or(30).days())
                .unwrap_or(today);
            store
                .create_credential(credential(holder, k, expires))
                .await
                .map(drop)
        }
    })
    .await?;
    let credentials_rate = Rate::of(credential_count, t);

    let mut solo = Vec::new();
    let solo_count = options
        .solo_writes
        .min(options.courses_per_holder * holder_ids.len() as u64);
    for i in 0..solo_count {
        let holder = holder_ids[(i % holder_ids.len() as u64) as usize];
        let t = Instant::now();
        store.create_course(course(holder, i, today)).await?;
        solo.push(t.elapsed());
    }

    let t = Instant::now();
    let course_count = (options.courses_per_holder * holder_ids.len() as u64) - solo_count;
    bounded(course_count, in_flight, |i| {
        let store = store.clone();
        let ids = holder_ids.clone();
        async move {
            let n = i + solo_count;
            let holder = ids[(n % ids.len() as u64) as usize];
            store
                .create_course(course(holder, n, today))
                .await
                .map(drop)
        }
    })
    .await?;
    let courses_rate = Rate::of(course_count, t);

    let t = Instant::now();
    store.close().await?;
    let close_secs = t.elapsed().as_secs_f64();
    Ok(SeedReport {
        dir: dir.to_path_buf(),
        in_flight,
        holders: holders_rate,
        credentials: credentials_rate,
        courses: courses_rate,
        solo_course: Latency::of(&solo),
        close_secs,
        total_secs: started.elapsed().as_secs_f64(),
        projected_million_courses_secs: 1e6 / courses_rate.per_s.max(f64::MIN_POSITIVE),
    })
}

/// What seeding through `service::import::import` took.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The data dir.
    pub dir: PathBuf,
    /// Holders per `service::import::import` call.
    pub holders_per_call: u64,
    /// `service::import::import` calls.
    pub calls: u64,
    /// Holders written.
    pub holders: u64,
    /// Credentials written.
    pub credentials: u64,
    /// Courses written, at the rate of the whole import (all records included).
    pub courses: Rate,
    /// The slowest single `service::import::import` call, in seconds.
    pub slowest_call_secs: f64,
    /// 10^6 courses at this rate.
    pub projected_million_courses_secs: f64,
}

/// `record` as line `line + 1` of a dump.
fn lined<T>(line: &mut usize, record: T) -> Lined<T> {
    *line += 1;
    Lined {
        line: *line,
        record,
    }
}

/// Fills `dir` (which must not hold a running recertd) through `service::import::import`,
/// `holders_per_call` holders with their credentials and courses per call, with the same
/// records as [`seed`].
pub async fn import(
    dir: &Path,
    options: &SeedOptions,
    holders_per_call: u64,
) -> Result<ImportReport> {
    match &options.database_url {
        None => {
            let store = SledStore::open(
                dir,
                &StoreOptions {
                    cache_bytes: options.cache_mib * 1024 * 1024,
                },
            )?;
            import_into(store, dir, options, holders_per_call).await
        }
        Some(base) => {
            let url = crate::tick::fresh_database(base, "import")?;
            let store = crate::tick::open_pg(&url).await?;
            import_into(store, dir, options, holders_per_call).await
        }
    }
}

async fn import_into<S: Store>(
    store: S,
    dir: &Path,
    options: &SeedOptions,
    holders_per_call: u64,
) -> Result<ImportReport> {
    let today = today();
    let builtin: BTreeSet<String> = catalog::builtin().iter().map(|p| p.slug.clone()).collect();
    let per_holder = options.credentials_per_holder.min(catalog::builtin().len()) as u64;
    let chunk = holders_per_call.max(1);
    let (mut credential_id, mut course_id, mut line) = (0u64, 0u64, 0usize);
    let started = Instant::now();
    let (mut calls, mut slowest) = (0u64, 0f64);
    let mut first = 0u64;
    while first < options.holders {
        let last = (first + chunk).min(options.holders);
        let mut dump = ParsedDump::default();
        for i in first..last {
            let id = i + 1;
            dump.holders
                .push(lined(&mut line, (Holder { id, ..holder(i) }, id == 1)));
            for k in 0..per_holder {
                credential_id += 1;
                let n = i * per_holder + k;
                let expires = today
                    .checked_add(i64::try_from(30 + (n * 53) % 900).unwrap_or(30).days())
                    .unwrap_or(today);
                let c = credential(id, k as usize, expires);
                dump.credentials.push(lined(
                    &mut line,
                    Credential {
                        id: credential_id,
                        ..c
                    },
                ));
            }
            for k in 0..options.courses_per_holder {
                course_id += 1;
                let c = course(id, i * options.courses_per_holder + k, today);
                dump.courses
                    .push(lined(&mut line, Course { id: course_id, ..c }));
            }
        }
        let t = Instant::now();
        import_dump(&store, dump, &builtin)
            .await
            .map_err(|e| BenchError::Check(format!("Store::import refused the seed: {e}")))?;
        slowest = slowest.max(t.elapsed().as_secs_f64());
        calls += 1;
        first = last;
    }
    let courses = Rate::of(course_id, started);
    store.close().await?;
    Ok(ImportReport {
        dir: dir.to_path_buf(),
        holders_per_call: chunk,
        calls,
        holders: options.holders,
        credentials: credential_id,
        courses,
        slowest_call_secs: slowest,
        projected_million_courses_secs: 1e6 / courses.per_s.max(f64::MIN_POSITIVE),
    })
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} through Store::import, {} holders (with their credentials and courses) per call:",
            self.dir.display(),
            self.holders_per_call
        )?;
        writeln!(
            f,
            "  {} holders, {} credentials, {} courses in {} calls, {:.2} s = {:.0} courses/s (slowest call {:.2} s)",
            self.holders,
            self.credentials,
            self.courses.ops,
            self.calls,
            self.courses.secs,
            self.courses.per_s,
            self.slowest_call_secs
        )?;
        write!(
            f,
            "  10^6 courses at this rate: {:.1} s",
            self.projected_million_courses_secs
        )
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} through recertd::store::Store, {} writes in flight:",
            self.dir.display(),
            self.in_flight
        )?;
        for (name, rate) in [
            ("holders", &self.holders),
            ("credentials", &self.credentials),
            ("courses", &self.courses),
        ] {
            writeln!(
                f,
                "  {name:<12} {:>9} in {:>8.2} s = {:>8.0}/s ({:.1} µs each)",
                rate.ops, rate.secs, rate.per_s, rate.us_per_op
            )?;
        }
        writeln!(f, "  one course at a time: {}", self.solo_course)?;
        writeln!(
            f,
            "  close (last flush) {:.2} s; total {:.2} s",
            self.close_secs, self.total_secs
        )?;
        write!(
            f,
            "  10^6 courses at this rate: {:.1} s",
            self.projected_million_courses_secs
        )
    }
}
