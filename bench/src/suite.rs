//! `recert-bench all`: every benchmark in one run, in one scratch directory, with the
//! targets of the benchmark issue judged from the figures of that same run.
//!
//! `--quick` shrinks every size so the whole suite takes seconds: it proves the harness works
//! (in CI and `cargo test`), and its figures mean nothing about speed.

use crate::daemon::{Daemon, binary};
use crate::disk::DiskReport;
use crate::engine::{EngineOptions, EngineReport};
use crate::load::{LoadOptions, LoadReport, Mix, Mode, RpcClass};
use crate::machine::Machine;
use crate::memory::{MemoryOptions, MemoryReport};
use crate::seed::{ImportReport, SeedOptions, SeedReport};
use crate::status_cli::{StatusOptions, StatusReport};
use crate::tick::{TickOptions, TickReport};
use crate::{BenchError, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Everything `all` runs, with its sizes.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// A smoke run: tiny sizes, no judgement of speed.
    pub quick: bool,
    /// Where `recertd` and `recert` are (default: next to this executable).
    pub bin_dir: Option<PathBuf>,
    /// Where temporary data dirs go (it should be on the disk being measured).
    pub scratch: PathBuf,
    /// Syncs of the disk probe.
    pub disk_syncs: usize,
    /// The sled measurements.
    pub engine: EngineOptions,
    /// The seeded data dir (reused by the memory measurement).
    pub seed: SeedOptions,
    /// Holders per `Store::import` call when seeding the same data through the batch path.
    pub import_holders_per_call: u64,
    /// The alert ticks.
    pub tick: TickOptions,
    /// The gRPC load; its `url` is filled in with the daemon the suite starts.
    pub load: LoadOptions,
    /// Timed `recert status` runs.
    pub status_runs: usize,
    /// Courses of the `recert status` holder.
    pub status_courses: u64,
    /// Settling time before idle memory readings.
    pub settle: Duration,
}

impl SuiteOptions {
    /// The full sizes of the benchmark issue.
    pub fn full(scratch: PathBuf) -> Self {
        SuiteOptions {
            quick: false,
            bin_dir: None,
            scratch,
            disk_syncs: 500,
            engine: EngineOptions {
                single: 100_000,
                batched: 1_000_000,
                batch: 1000,
                flushes: 200,
                cache_mib: 64,
            },
            seed: SeedOptions {
                holders: 20_000,
                credentials_per_holder: 2,
                courses_per_holder: 50,
                in_flight: 256,
                solo_writes: 200,
                cache_mib: 64,
                database_url: None,
            },
            import_holders_per_call: 200,
            tick: TickOptions {
                sizes: vec![10_000, 100_000, 1_000_000],
                due: 100,
                ticks: 5,
                credentials_per_holder: 10,
                in_flight: 256,
                first_tick: true,
                cache_mib: 64,
                settle: false,
                reopen: true,
                database_url: None,
            },
            load: LoadOptions {
                url: String::new(),
                token: None,
                mix: Mix::default(),
                mode: Mode::Both,
                concurrency: 64,
                connections: 4,
                duration: Duration::from_secs(10),
                warmup: Duration::from_secs(2),
                rounds: 5,
                holders: 200,
                courses_per_holder: 20,
                write_holders: 64,
                daemon_pid: None,
            },
            status_runs: 50,
            status_courses: 30,
            settle: Duration::from_secs(1),
        }
    }

    /// Sizes for a smoke run of a few seconds.
    pub fn quick(scratch: PathBuf) -> Self {
        let full = SuiteOptions::full(scratch);
        SuiteOptions {
            quick: true,
            disk_syncs: 20,
            engine: EngineOptions {
                single: 2000,
                batched: 5000,
                batch: 1000,
                flushes: 10,
                ..full.engine
            },
            seed: SeedOptions {
                holders: 20,
                courses_per_holder: 10,
                in_flight: 64,
                solo_writes: 10,
                ..full.seed
            },
            import_holders_per_call: 5,
            tick: TickOptions {
                sizes: vec![200, 1000],
                due: 5,
                ticks: 2,
                in_flight: 64,
                ..full.tick
            },
            load: LoadOptions {
                concurrency: 8,
                connections: 2,
                duration: Duration::from_millis(300),
                warmup: Duration::from_millis(100),
                rounds: 2,
                holders: 10,
                courses_per_holder: 5,
                write_holders: 4,
                ..full.load
            },
            status_runs: 3,
            status_courses: 10,
            settle: Duration::from_millis(100),
            ..full
        }
    }
}

/// One target of the benchmark issue, judged from this run.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is measured.
    pub name: &'static str,
    /// The goal.
    pub goal: &'static str,
    /// What this run measured.
    pub measured: String,
    /// Whether the goal is met (meaningless in a quick run).
    pub met: bool,
}

/// Everything one `all` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// A smoke run: figures mean nothing.
    pub quick: bool,
    /// Where it ran.
    pub machine: Machine,
    /// /proc/loadavg at the end.
    pub load_average_end: [f64; 3],
    /// Disk sync latency.
    pub disk: DiskReport,
    /// sled alone.
    pub engine: EngineReport,
    /// Seeding through the store, one write per record.
    pub seed: SeedReport,
    /// Seeding the same records through `Store::import`.
    pub seed_import: ImportReport,
    /// The daemon's memory.
    pub memory: MemoryReport,
    /// Alert ticks.
    pub tick: TickReport,
    /// gRPC load.
    pub load: LoadReport,
    /// `recert status` as a process.
    pub status: StatusReport,
    /// The targets, judged.
    pub targets: Vec<Target>,
    /// Wall time of the whole run.
    pub total_secs: f64,
}

/// Judges the targets from the reports of one run.
fn targets(
    load: &LoadReport,
    tick: &TickReport,
    (seed, import): (&SeedReport, &ImportReport),
    memory: &MemoryReport,
    status: &StatusReport,
) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(log) = load.alone(RpcClass::Log) {
        out.push(Target {
            name: "durable log-course rate / health rate",
            goal: ">= 0.5",
            measured: format!(
                "{:.3} ({:.0} vs {:.0} req/s)",
                log.ratio(),
                log.subject.total_rate,
                log.health.rate
            ),
            met: log.ratio() >= 0.5,
        });
    }
    if let Some(c) = load.alone(RpcClass::Compliance) {
        out.push(Target {
            name: "compliance read rate / health rate",
            goal: ">= 0.7",
            measured: format!(
                "{:.3} ({:.0} vs {:.0} req/s)",
                c.ratio(),
                c.subject.total_rate,
                c.health.rate
            ),
            met: c.ratio() >= 0.7,
        });
        let p99 = c.subject.classes[0].latency.p99_ms;
        out.push(Target {
            name: "compliance read p99",
            goal: "< 2 ms",
            measured: format!("{p99:.2} ms (health p99 {:.2} ms)", c.health.latency.p99_ms),
            met: p99 < 2.0,
        });
    }
    if let (Some(first), Some(last)) = (tick.sizes.first(), tick.sizes.last()) {
        out.push(Target {
            name: "tick(largest) / tick(smallest)",
            goal: "<= 1.5",
            measured: format!(
                "{:.2} ({:.1} ms at {} vs {:.1} ms at {})",
                tick.ratio_largest_to_smallest,
                last.tick_ms,
                last.credentials,
                first.tick_ms,
                first.credentials
            ),
            met: tick.ratio_largest_to_smallest <= 1.5,
        });
    }
    out.push(Target {
        name: "seeding 10^6 courses, per-write create_*",
        goal: "<= 30 s",
        measured: format!(
            "{:.1} s ({:.0} courses/s over {})",
            seed.projected_million_courses_secs, seed.courses.per_s, seed.courses.ops
        ),
        met: seed.projected_million_courses_secs <= 30.0,
    });
    out.push(Target {
        name: "seeding 10^6 courses, Store::import",
        goal: "<= 30 s",
        measured: format!(
            "{:.1} s ({:.0} courses/s over {})",
            import.projected_million_courses_secs, import.courses.per_s, import.courses.ops
        ),
        met: import.projected_million_courses_secs <= 30.0,
    });
    let idle_mib = memory.idle_empty.rss_kib as f64 / 1024.0;
    out.push(Target {
        name: "idle RSS of recertd",
        goal: "<= 25 MiB",
        measured: format!("{idle_mib:.1} MiB"),
        met: idle_mib <= 25.0,
    });
    out.push(Target {
        name: "`recert status` end to end, median",
        goal: "<= 15 ms",
        measured: format!(
            "{:.2} ms (p90 {:.2} ms)",
            status.status.p50_ms, status.status.p90_ms
        ),
        met: status.status.p50_ms <= 15.0,
    });
    out
}

/// Runs every benchmark; `progress` receives each section's text as it completes.
pub async fn run(options: &SuiteOptions, progress: &mut dyn FnMut(String)) -> Result<SuiteReport> {
    let started = Instant::now();
    let recertd = binary(options.bin_dir.as_deref(), "recertd")?;
    let recert = binary(options.bin_dir.as_deref(), "recert")?;
    std::fs::create_dir_all(&options.scratch).map_err(BenchError::io(format!(
        "create {}",
        options.scratch.display()
    )))?;
    let scratch =
        tempfile::tempdir_in(&options.scratch).map_err(BenchError::io("create the scratch dir"))?;
    let machine = crate::machine::describe(scratch.path());
    progress(format!(
        "{machine}\nbinaries: {}, {}",
        recertd.display(),
        recert.display()
    ));

    let dir = scratch.path().to_path_buf();
    let syncs = options.disk_syncs;
    let disk = tokio::task::spawn_blocking(move || crate::disk::probe(&dir, syncs))
        .await
        .map_err(|e| BenchError::Task(e.to_string()))??;
    progress(disk.to_string());

    let dir = scratch.path().to_path_buf();
    let engine_options = options.engine.clone();
    let engine = tokio::task::spawn_blocking(move || crate::engine::measure(&dir, &engine_options))
        .await
        .map_err(|e| BenchError::Task(e.to_string()))??;
    progress(engine.to_string());

    let seeded = scratch.path().join("seeded");
    let seed = crate::seed::seed(&seeded, &options.seed).await?;
    progress(seed.to_string());

    let memory = crate::memory::run(
        scratch.path(),
        &MemoryOptions {
            recertd: recertd.clone(),
            seeded_dir: Some(seeded.clone()),
            extra: Vec::new(),
            concurrency: 16,
            settle: options.settle,
        },
    )
    .await?;
    progress(memory.to_string());
    std::fs::remove_dir_all(&seeded).map_err(BenchError::io("remove the seeded dir"))?;

    let imported = scratch.path().join("imported");
    let seed_import =
        crate::seed::import(&imported, &options.seed, options.import_holders_per_call).await?;
    progress(seed_import.to_string());
    std::fs::remove_dir_all(&imported).map_err(BenchError::io("remove the imported dir"))?;

    let tick = crate::tick::run(scratch.path(), &options.tick).await?;
    progress(tick.to_string());

    let load_dir = scratch.path().join("load");
    let daemon = Daemon::start(
        &recertd,
        &load_dir.join("data"),
        &[],
        &scratch.path().join("load.log"),
    )
    .await?;
    let load_options = LoadOptions {
        url: daemon.url.clone(),
        token: Some(daemon.token.clone()),
        daemon_pid: daemon.pid().ok(),
        ..options.load.clone()
    };
    let load = crate::load::run(&load_options).await?;
    daemon.stop().await?;
    progress(load.to_string());

    let status = crate::status_cli::run(
        scratch.path(),
        &StatusOptions {
            recert,
            recertd,
            runs: options.status_runs,
            warmup: if options.quick { 1 } else { 5 },
            courses: options.status_courses,
            hyperfine: !options.quick,
        },
    )
    .await?;
    progress(status.to_string());

    let targets = targets(&load, &tick, (&seed, &seed_import), &memory, &status);
    Ok(SuiteReport {
        quick: options.quick,
        machine,
        load_average_end: crate::machine::load_average(),
        disk,
        engine,
        seed,
        seed_import,
        memory,
        tick,
        load,
        status,
        targets,
        total_secs: started.elapsed().as_secs_f64(),
    })
}

impl SuiteReport {
    /// The targets as a table.
    pub fn targets_table(&self) -> String {
        let mut out = String::new();
        if self.quick {
            out.push_str("(quick run: the figures below say nothing about speed)\n");
        }
        out.push_str(&format!(
            "{:<40} {:<10} {:<9} {}\n",
            "target", "goal", "met", "measured"
        ));
        for t in &self.targets {
            out.push_str(&format!(
                "{:<40} {:<10} {:<9} {}\n",
                t.name,
                t.goal,
                if t.met { "met" } else { "NOT MET" },
                t.measured
            ));
        }
        let [a, b, c] = self.load_average_end;
        out.push_str(&format!(
            "total {:.1} s; load average at the end {a:.2} {b:.2} {c:.2}",
            self.total_secs
        ));
        out
    }
}
