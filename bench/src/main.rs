//! The `recert-bench` binary: parses flags, runs one benchmark of the `recert_bench` library,
//! prints its report and optionally writes it as JSON.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use recert_bench::engine::EngineOptions;
use recert_bench::load::{LoadOptions, Mix, Mode};
use recert_bench::memory::MemoryOptions;
use recert_bench::seed::SeedOptions;
use recert_bench::status_cli::StatusOptions;
use recert_bench::suite::SuiteOptions;
use recert_bench::tick::TickOptions;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// mimalloc instead of the system allocator: sled's page cache frees and allocates many small
/// nodes, and under glibc's malloc a third of a tick over 10^6 credentials went to
/// consolidating free chunks (profile in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// recert-bench: measures recertd and recert (load against the health baseline, seeding,
/// alert ticks, memory, `recert status`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Worker threads of this process's async runtime [default: one per core].
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Output {
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// gRPC load against a running recertd: the health baseline, each class alone, the mix.
    Load {
        /// The daemon, e.g. http://127.0.0.1:50051.
        #[arg(long)]
        url: String,
        /// Its bearer token (an admin's: the load seeds holders).
        #[arg(long, env = "RECERT_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Class weights of the mixed phase (classes: log, compliance, list, deadlines).
        #[arg(long, default_value = "log=1,compliance=4,list=2,deadlines=1", value_parser = parse_mix)]
        mix: Mix,
        /// Phases besides the baseline: mix, alone (each class of the mix by itself) or both.
        #[arg(long, default_value = "both", value_parser = parse_mode)]
        mode: Mode,
        /// Requests in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// HTTP/2 connections shared by the requests.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Measured time per subject (class alone, or the mix), e.g. 10s, 500ms, 1m.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: Duration,
        /// Unmeasured warm-up per subject, spread over its rounds.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        warmup: Duration,
        /// Rounds each subject is split into, alternating with health-check slices.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Holders seeded for the read classes.
        #[arg(long, default_value_t = 200)]
        holders: u64,
        /// Courses seeded per read holder.
        #[arg(long, default_value_t = 20)]
        courses_per_holder: u64,
        /// Holders that receive the logged courses.
        #[arg(long, default_value_t = 64)]
        write_holders: u64,
        /// The daemon's process id, if it runs on this machine: the report then shows its
        /// CPU time per request next to this generator's
        #[arg(long)]
        daemon_pid: Option<u32>,
        #[command(flatten)]
        output: Output,
    },
    /// Fills a data dir through the store directly (no daemon may run on it).
    Seed {
        /// The data dir to fill.
        #[arg(long)]
        data_dir: PathBuf,
        /// Holders.
        #[arg(long)]
        holders: u64,
        /// Courses per holder.
        #[arg(long)]
        courses_per_holder: u64,
        /// Credentials per holder.
        #[arg(long, default_value_t = 2)]
        credentials_per_holder: usize,
        /// Writes in flight (they share group commits).
        #[arg(long, default_value_t = 256)]
        in_flight: usize,
        /// Courses written one at a time first, to time a lone durable write.
        #[arg(long, default_value_t = 200)]
        solo_writes: u64,
        /// sled page cache in MiB.
        #[arg(long, default_value_t = 64)]
        cache_mib: u64,
        /// Write through `Store::import` instead, this many holders (with their credentials
        /// and courses) per call.
        #[arg(long)]
        import_holders: Option<u64>,
        /// Seed a fresh database on this PostgreSQL cluster instead of the data dir
        /// (postgres://USER[:PASS]@HOST:PORT/DB; the database is made with psql).
        #[arg(long, env = "RECERT_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Times AlertEngine::tick_zone over stores of each size.
    Tick {
        /// Credentials per store, comma-separated.
        #[arg(long, default_value = "10000,100000,1000000", value_delimiter = ',')]
        sizes: Vec<u64>,
        /// Credentials whose 30-day mark falls on the tick date.
        #[arg(long, default_value_t = 100)]
        due: u64,
        /// Steady ticks per size, each with its own `due` credentials; the median counts
        #[arg(long, default_value_t = 5)]
        ticks: usize,
        /// Credentials per seeded holder.
        #[arg(long, default_value_t = 10)]
        credentials_per_holder: usize,
        /// Writes in flight while seeding.
        #[arg(long, default_value_t = 256)]
        in_flight: usize,
        /// Skip timing the first tick after the bulk load (clear the dirty set instead).
        #[arg(long)]
        no_first_tick: bool,
        /// sled page cache in MiB.
        #[arg(long, default_value_t = 64)]
        cache_mib: u64,
        /// Read every credential once before the ticks, so they do not pay for sled
        /// consolidating the pages the bulk load wrote.
        #[arg(long)]
        settle: bool,
        /// Close and reopen the store after the bulk load, as a restarted daemon would,
        /// before the steady and empty ticks.
        #[arg(long)]
        reopen: bool,
        /// Where the temporary stores go.
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// Tick over a fresh database per size on this PostgreSQL cluster instead of sled
        /// stores (postgres://USER[:PASS]@HOST:PORT/DB; databases are made with psql).
        #[arg(long, env = "RECERT_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// The real recertd's memory: idle, and after serving a seeded data dir.
    Memory {
        /// A data dir seeded with `recert-bench seed` (without it, only the idle reading).
        #[arg(long)]
        seeded_dir: Option<PathBuf>,
        /// recertd's page cache in MiB [default: recertd's].
        #[arg(long)]
        cache_mib: Option<u64>,
        /// Where recertd is [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where the temporary data dir goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// A large import into recertd while a second client asks for health and compliance:
    /// the daemon's peak RSS and the second client's latencies, against no import.
    ImportLoad {
        /// Size of the dump, in MiB.
        #[arg(long, default_value_t = 200)]
        mib: u64,
        /// Holders in the dump.
        #[arg(long, default_value_t = 1000)]
        holders: u64,
        /// Seconds the second client is timed with no import.
        #[arg(long, default_value_t = 10)]
        baseline_secs: u64,
        /// Run recertd on this PostgreSQL database instead of a sled data dir.
        #[arg(long, env = "RECERT_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Where recertd is [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where the temporary data dir goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// The attacks of the security review (issue 12), each on a fresh recertd and store:
    /// the daemon's peak RSS and a second client's health latencies during each, against
    /// the same with no attack.
    Hostile {
        /// The attacks, in order [default: all, the baseline first].
        #[arg(long, value_enum, value_delimiter = ',')]
        attacks: Option<Vec<recert_bench::hostile::Attack>>,
        /// How long each attack (but the import) is kept up, e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        window: Duration,
        /// Size of the big import, in MiB.
        #[arg(long, default_value_t = 200)]
        import_mib: u64,
        /// Holders in the import's dumps.
        #[arg(long, default_value_t = 1000)]
        import_holders: u64,
        /// Idle WatchAlerts streams.
        #[arg(long, default_value_t = 300)]
        streams: usize,
        /// Idle TCP connections (the daemon's file limit is set to 1,024).
        #[arg(long, default_value_t = 1100)]
        connections: usize,
        /// A PostgreSQL URL: each attack's recertd gets a new database on that cluster
        /// (made and dropped with psql) instead of a sled data dir.
        #[arg(long, env = "RECERT_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// One more recertd flag for every attack's daemon (repeatable, e.g.
        /// `--daemon-flag=--cache-mib --daemon-flag=16`).
        #[arg(long, allow_hyphen_values = true)]
        daemon_flag: Vec<String>,
        /// Where recertd is [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where the temporary data dirs go.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// `recert status` as a process against a warm recertd.
    Status {
        /// Timed runs.
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Where recertd and recert are [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where the temporary data dir goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// TeamStatus for one large team: the first call and warm calls, timed from a client.
    TeamStatus {
        /// Members of the team.
        #[arg(long, default_value_t = 1000)]
        members: u64,
        /// Courses per member.
        #[arg(long, default_value_t = 5)]
        courses: u64,
        /// Warm calls timed.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Run recertd on this PostgreSQL database instead of sled (it should be empty).
        #[arg(long)]
        database_url: Option<String>,
        /// Where recertd is [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where the temporary data dir goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// The bearer-token check against the compliance use case it guards, in-process on a
    /// real sled store (no daemon).
    Auth {
        /// Holders read (two credentials each).
        #[arg(long, default_value_t = 200)]
        holders: u64,
        /// Courses per holder.
        #[arg(long, default_value_t = 20)]
        courses_per_holder: u64,
        /// Timed calls per measurement and round.
        #[arg(long, default_value_t = 20_000)]
        calls: u64,
        /// Rounds (the three measurements alternate; medians are reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Where the temporary data dir goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// sled alone: transactions over 17 trees vs 3, flush latency, a batched write path.
    Engine {
        /// Courses written one transaction each, per variant.
        #[arg(long, default_value_t = 100_000)]
        single: u64,
        /// Courses written in batches.
        #[arg(long, default_value_t = 1_000_000)]
        batched: u64,
        /// Courses per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Where the scratch database goes.
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// The disk's write + fdatasync latency.
    Disk {
        /// Directory on the disk to measure.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Syncs to time.
        #[arg(long, default_value_t = 500)]
        syncs: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Everything, with the targets judged from this one run.
    All {
        /// A smoke run of a few seconds: proves the harness works, says nothing about speed.
        #[arg(long)]
        quick: bool,
        /// Tick store sizes, comma-separated.
        #[arg(long, value_delimiter = ',')]
        sizes: Option<Vec<u64>>,
        /// Due credentials per tick.
        #[arg(long)]
        due: Option<u64>,
        /// Holders of the seeded data dir.
        #[arg(long)]
        holders: Option<u64>,
        /// Courses per holder of the seeded data dir.
        #[arg(long)]
        courses_per_holder: Option<u64>,
        /// Load concurrency.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Measured time per load phase.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<Duration>,
        /// Warm-up per load phase.
        #[arg(long, value_parser = parse_duration)]
        warmup: Option<Duration>,
        /// Where recertd and recert are [default: next to this executable].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Where temporary data dirs go [default: the system temp dir].
        #[arg(long)]
        scratch: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
}

fn parse_mix(s: &str) -> Result<Mix, String> {
    s.parse()
        .map_err(|e: recert_bench::BenchError| e.to_string())
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
        .map_err(|e: recert_bench::BenchError| e.to_string())
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 10s, 500ms or 2m"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit {other:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn write_json<T: Serialize>(output: &Output, report: &T) -> anyhow::Result<()> {
    if let Some(path) = &output.json {
        let text = serde_json::to_string_pretty(report).context("serialise the report")?;
        std::fs::write(path, text + "\n").with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn scratch(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(std::env::temp_dir)
}

fn print_and_save<T: Serialize + std::fmt::Display>(
    output: &Output,
    report: &T,
) -> anyhow::Result<()> {
    println!("{report}");
    write_json(output, report)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Load {
            url,
            token,
            mix,
            mode,
            concurrency,
            connections,
            duration,
            warmup,
            rounds,
            holders,
            courses_per_holder,
            write_holders,
            daemon_pid,
            output,
        } => {
            let options = LoadOptions {
                url,
                token,
                mix,
                mode,
                concurrency,
                connections,
                duration,
                warmup,
                rounds,
                holders,
                courses_per_holder,
                write_holders,
                daemon_pid,
            };
            print_and_save(&output, &recert_bench::load::run(&options).await?)
        }
        Command::Seed {
            data_dir,
            holders,
            courses_per_holder,
            credentials_per_holder,
            in_flight,
            solo_writes,
            cache_mib,
            import_holders,
            database_url,
            output,
        } => {
            let options = SeedOptions {
                holders,
                credentials_per_holder,
                courses_per_holder,
                in_flight,
                solo_writes,
                cache_mib,
                database_url,
            };
            match import_holders {
                Some(chunk) => print_and_save(
                    &output,
                    &recert_bench::seed::import(&data_dir, &options, chunk).await?,
                ),
                None => print_and_save(
                    &output,
                    &recert_bench::seed::seed(&data_dir, &options).await?,
                ),
            }
        }
        Command::Tick {
            sizes,
            due,
            ticks,
            credentials_per_holder,
            in_flight,
            no_first_tick,
            cache_mib,
            settle,
            reopen,
            scratch: dir,
            database_url,
            output,
        } => {
            let options = TickOptions {
                sizes,
                due,
                ticks,
                credentials_per_holder,
                in_flight,
                first_tick: !no_first_tick,
                cache_mib,
                settle,
                reopen,
                database_url,
            };
            print_and_save(
                &output,
                &recert_bench::tick::run(&scratch(dir), &options).await?,
            )
        }
        Command::Memory {
            seeded_dir,
            cache_mib,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let options = MemoryOptions {
                recertd: recert_bench::daemon::binary(bin_dir.as_deref(), "recertd")?,
                seeded_dir,
                extra: cache_mib
                    .map(|m| vec!["--cache-mib".to_string(), m.to_string()])
                    .unwrap_or_default(),
                concurrency: 16,
                settle: Duration::from_secs(1),
            };
            print_and_save(
                &output,
                &recert_bench::memory::run(&scratch(dir), &options).await?,
            )
        }
        Command::ImportLoad {
            mib,
            holders,
            baseline_secs,
            database_url,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let options = recert_bench::import_load::ImportLoadOptions {
                recertd: recert_bench::daemon::binary(bin_dir.as_deref(), "recertd")?,
                mib,
                holders,
                baseline: Duration::from_secs(baseline_secs),
                extra: database_url
                    .map(|url| vec!["--database-url".to_string(), url])
                    .unwrap_or_default(),
            };
            print_and_save(
                &output,
                &recert_bench::import_load::run(&scratch(dir), &options).await?,
            )
        }
        Command::Hostile {
            attacks,
            window,
            import_mib,
            import_holders,
            streams,
            connections,
            database_url,
            daemon_flag,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let options = recert_bench::hostile::HostileOptions {
                recertd: recert_bench::daemon::binary(bin_dir.as_deref(), "recertd")?,
                attacks: attacks.unwrap_or_else(|| recert_bench::hostile::Attack::ALL.to_vec()),
                window,
                import_mib,
                import_holders,
                streams,
                connections,
                database_url,
                daemon_flags: daemon_flag,
            };
            print_and_save(
                &output,
                &recert_bench::hostile::run(&scratch(dir), &options).await?,
            )
        }
        Command::Status {
            runs,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let options = StatusOptions {
                recert: recert_bench::daemon::binary(bin_dir.as_deref(), "recert")?,
                recertd: recert_bench::daemon::binary(bin_dir.as_deref(), "recertd")?,
                runs,
                warmup: 5,
                courses: 30,
                hyperfine: true,
            };
            print_and_save(
                &output,
                &recert_bench::status_cli::run(&scratch(dir), &options).await?,
            )
        }
        Command::TeamStatus {
            members,
            courses,
            runs,
            database_url,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let options = recert_bench::team::TeamOptions {
                recertd: recert_bench::daemon::binary(bin_dir.as_deref(), "recertd")?,
                members,
                courses,
                runs,
                daemon_args: database_url
                    .map(|url| vec!["--database-url".to_owned(), url])
                    .unwrap_or_default(),
            };
            print_and_save(
                &output,
                &recert_bench::team::run(&scratch(dir), &options).await?,
            )
        }
        Command::Auth {
            holders,
            courses_per_holder,
            calls,
            rounds,
            scratch: dir,
            output,
        } => {
            let options = recert_bench::auth::AuthOptions {
                holders,
                courses_per_holder,
                calls,
                rounds,
            };
            let dir = tempfile::tempdir_in(scratch(dir))?;
            print_and_save(
                &output,
                &recert_bench::auth::run(dir.path(), &options).await?,
            )
        }
        Command::Engine {
            single,
            batched,
            batch,
            scratch: dir,
            output,
        } => {
            let options = EngineOptions {
                single,
                batched,
                batch,
                flushes: 200,
                cache_mib: 64,
            };
            let dir = scratch(dir);
            let report =
                tokio::task::spawn_blocking(move || recert_bench::engine::measure(&dir, &options))
                    .await??;
            print_and_save(&output, &report)
        }
        Command::Disk { dir, syncs, output } => {
            let dir = scratch(dir);
            let report =
                tokio::task::spawn_blocking(move || recert_bench::disk::probe(&dir, syncs))
                    .await??;
            print_and_save(&output, &report)
        }
        Command::All {
            quick,
            sizes,
            due,
            holders,
            courses_per_holder,
            concurrency,
            duration,
            warmup,
            bin_dir,
            scratch: dir,
            output,
        } => {
            let dir = scratch(dir);
            let mut options = if quick {
                SuiteOptions::quick(dir)
            } else {
                SuiteOptions::full(dir)
            };
            options.bin_dir = bin_dir;
            if let Some(sizes) = sizes {
                options.tick.sizes = sizes;
            }
            if let Some(due) = due {
                options.tick.due = due;
            }
            if let Some(h) = holders {
                options.seed.holders = h;
            }
            if let Some(k) = courses_per_holder {
                options.seed.courses_per_holder = k;
            }
            if let Some(c) = concurrency {
                options.load.concurrency = c;
            }
            if let Some(d) = duration {
                options.load.duration = d;
            }
            if let Some(w) = warmup {
                options.load.warmup = w;
            }
            let report = recert_bench::suite::run(&options, &mut |section| {
                println!("{section}\n");
            })
            .await?;
            println!("{}", report.targets_table());
            write_json(&output, &report)
        }
    }
}

fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = threads {
        builder.worker_threads(n.max(1));
    }
    builder.build().context("cannot start the async runtime")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = runtime(cli.threads).and_then(|rt| rt.block_on(run(cli.command)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recert-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10 parsecs").is_err());
    }
}
