//! The `recertd` binary: parses flags, reads config, sets up logging and calls [`recertd::run`].

use anyhow::Context;
use clap::Parser;
use recertd::clock::{Clock, ManualClock, SystemClock};
use recertd::config::{self, Config, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// recertd: the recert daemon. Serves the recert.v1 gRPC API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Maintenance instead of serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "RECERT_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory of the store [default: $XDG_DATA_HOME/recert, i.e. ~/.local/share/recert].
    #[arg(long, env = "RECERT_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// sled page cache in MiB [default: 64].
    #[arg(long, env = "RECERT_CACHE_MIB", global = true)]
    cache_mib: Option<u64>,
    /// Cron expression of the alert tick, on each holder's local clock [default: "0 0 8 * * *",
    /// 08:00 daily]. Five fields (no seconds) are accepted too.
    #[arg(long, env = "RECERT_ALERT_SCHEDULE")]
    alert_schedule: Option<String>,
    /// SMTP relay for e-mail alerts: smtp://host:port (plain, loopback relays),
    /// smtp+starttls://host:port or smtps://host:port, optionally with user:pass@.
    #[arg(long, env = "RECERT_SMTP_URL")]
    smtp_url: Option<String>,
    /// From address of alert e-mails [default: recertd@localhost].
    #[arg(long, env = "RECERT_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Cron expression (UTC) of the scheduled backup, or "off" [default: "0 30 2 * * *",
    /// 02:30 UTC daily].
    #[arg(long, env = "RECERT_BACKUP_SCHEDULE")]
    backup_schedule: Option<String>,
    /// Directory of scheduled backups [default: <data dir>/backups].
    #[arg(long, env = "RECERT_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// How many scheduled backups to keep, newest first [default: 7].
    #[arg(long, env = "RECERT_BACKUP_KEEP", value_parser = clap::value_parser!(u32).range(1..))]
    backup_keep: Option<u32>,
    /// PostgreSQL instead of the sled store in the data dir:
    /// postgres://USER[:PASS]@HOST:PORT/DB, optionally ?sslmode=require&sslrootcert=CA.pem.
    #[arg(
        long,
        env = "RECERT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// With --database-url: seconds the alert lease lasts; when the daemon running alerts
    /// dies, another takes over within this time [default: 15].
    #[arg(long, env = "RECERT_LEASE_SECS", value_parser = clap::value_parser!(u64).range(1..))]
    lease_secs: Option<u64>,
    /// TOML config file (keys: listen, data_dir, cache_mib, alert_schedule, smtp_url,
    /// smtp_from, backup_schedule, backup_dir, backup_keep, database_url, lease_secs); flags and
    /// environment win.
    #[arg(long, env = "RECERT_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

/// Maintenance commands; they take the data dir's lock, so recertd must not be running.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Verify that every record decodes and every index matches; changes nothing unless
    /// --repair is given, which rebuilds the indexes from the primary records.
    Check {
        /// Rebuild indexes, id counters and the default holder from the records.
        #[arg(long)]
        repair: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Args {
    /// What the flags and environment set; `config::load` puts it over the file.
    fn settings(&self) -> Settings {
        Settings {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            cache_mib: self.cache_mib,
            alert_schedule: self.alert_schedule.clone(),
            smtp_url: self.smtp_url.clone(),
            smtp_from: self.smtp_from.clone(),
            backup_schedule: self.backup_schedule.clone(),
            backup_dir: self.backup_dir.clone(),
            backup_keep: self.backup_keep,
            database_url: self.database_url.clone(),
            lease_secs: self.lease_secs,
        }
    }

    /// The layered config: defaults, then `--config`'s file, then flags and environment.
    fn config(&self) -> anyhow::Result<Config> {
        Ok(config::load(self.config.as_deref(), self.settings())?)
    }
}

/// Logs to stderr; in colour only on a terminal without `NO_COLOR`, so a log file
/// (`recertd 2>recertd.log`) or a journal gets plain text.
fn init_logging(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RECERT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    token.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("signal received; finishing in-flight calls");
    token.cancel();
}

async fn start(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    // One line on stdout once the store is open and signals are handled, so scripts and
    // tests that pass port 0 learn the address.
    let ready = move || println!("recertd listening on {addr}");
    recertd::run(config, listener, clock()?, shutdown, ready).await?;
    Ok(())
}

/// The system clock, or a clock frozen at `RECERT_NOW` (an RFC 3339 instant) for tests and
/// demonstrations.
fn clock() -> anyhow::Result<Arc<dyn Clock>> {
    match std::env::var("RECERT_NOW") {
        Ok(now) => {
            let at: jiff::Timestamp = now
                .parse()
                .with_context(|| format!("RECERT_NOW {now:?} is not an RFC 3339 instant"))?;
            tracing::warn!(%at, "clock frozen by RECERT_NOW");
            Ok(Arc::new(ManualClock::new(at)))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

/// `recertd check [--repair]`: returns whether the store is sound (after repair).
async fn check(config: Config, repair: bool, json: bool) -> anyhow::Result<bool> {
    let report = recertd::check(&config, repair).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (tree, n) in report.records.iter().chain(&report.index_entries) {
            println!("{tree:<28} {n:>10}");
        }
        for problem in &report.problems {
            println!("problem: {problem}");
        }
        let verdict = match (report.ok(), repair) {
            (true, true) => "repaired: the store is sound",
            (true, false) => "the store is sound",
            (false, true) => {
                "problems remain after repair: records that do not decode need a backup"
            }
            (false, false) => {
                "problems found; `recertd check --repair` rebuilds indexes from records"
            }
        };
        println!("{verdict}");
    }
    Ok(report.ok())
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_json);
    if let Some(Command::Check { repair, json }) = args.command {
        let result = args.config().and_then(|config| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?
                .block_on(check(config, repair, json))
        });
        return match result {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("recertd: error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let result = args.config().and_then(|config| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(start(config))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recertd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
