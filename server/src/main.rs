//! The `recertd` binary: parses flags, reads config, sets up logging and calls [`recertd::run`].

use anyhow::Context;
use clap::Parser;
use recertd::clock::{Clock, ManualClock, SystemClock};
use recertd::config::{self, Config, Listen, Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the system allocator: sled's page cache frees and allocates many small
/// nodes, and under glibc's malloc a third of a tick over 10^6 credentials went to
/// consolidating free chunks (profile in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// recertd: the recert daemon. Serves the recert.v1 gRPC API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Maintenance instead of serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (HOST:PORT), or unix:PATH for a Unix socket readable by this user only
    /// [default: 127.0.0.1:50051].
    #[arg(long, env = "RECERT_LISTEN")]
    listen: Option<Listen>,
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
    /// Cron expression of the leads' digest, on each lead's local clock [default:
    /// "0 0 8 * * Mon", Mondays 08:00]; it goes out at that time, whatever the alert schedule.
    #[arg(long, env = "RECERT_DIGEST_SCHEDULE")]
    digest_schedule: Option<String>,
    /// PEM certificate chain to serve TLS with (with --tls-key).
    #[arg(long, env = "RECERT_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "RECERT_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Serve plaintext on a non-loopback --listen address all the same (behind a TLS proxy
    /// or on a trusted network); without it recertd refuses to start there.
    #[arg(long)]
    insecure_plaintext: bool,
    /// An internal address range (CIDR) webhooks may reach, e.g. 10.1.0.0/16; repeatable.
    /// Loopback, private, link-local, CGNAT, multicast and other internal ranges are refused
    /// otherwise. The environment takes a comma-separated list.
    #[arg(
        long = "webhook-allow-net",
        env = "RECERT_WEBHOOK_ALLOW_NETS",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    webhook_allow_nets: Vec<ipnet::IpNet>,
    /// SMTP relay for e-mail alerts: smtp://host:port (plain, loopback relays),
    /// smtp+starttls://host:port or smtps://host:port, optionally with user@ (the password
    /// comes from --smtp-password-file or RECERT_SMTP_PASSWORD, never the URL).
    #[arg(long, env = "RECERT_SMTP_URL")]
    smtp_url: Option<String>,
    /// File whose first line is the SMTP user's password.
    #[arg(long, env = "RECERT_SMTP_PASSWORD_FILE", value_name = "FILE")]
    smtp_password_file: Option<PathBuf>,
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
    /// Seconds one export stream may stay open; a reader that stalls past it is cut off
    /// with DEADLINE_EXCEEDED [default: 600].
    #[arg(long, env = "RECERT_EXPORT_DEADLINE_SECS", value_parser = clap::value_parser!(u64).range(1..))]
    export_deadline_secs: Option<u64>,
    /// The most the standing cache (computed compliance per holder and date) holds, in MiB;
    /// past it the least recently used are evicted [default: 64].
    #[arg(long, env = "RECERT_STANDING_CACHE_MIB", value_parser = clap::value_parser!(u64).range(1..))]
    standing_cache_mib: Option<u64>,
    /// TOML config file (keys: listen, data_dir, cache_mib, alert_schedule, digest_schedule, smtp_url,
    /// smtp_from, smtp_password_file, backup_schedule, backup_dir, backup_keep, tls_cert,
    /// tls_key, insecure_plaintext, webhook_allow_nets, database_url, lease_secs, export_deadline_secs,
    /// standing_cache_mib); flags and
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
    /// Tokens kept in the data dir.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `recertd token ...`.
#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Make a new admin token and write it to <data dir>/admin.token (0600), which must not
    /// exist; for when the first one was lost. recertd must be stopped.
    CreateAdmin,
}

impl Args {
    /// What the flags and environment set; `config::load` puts it over the file.
    fn settings(&self) -> Settings {
        Settings {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            cache_mib: self.cache_mib,
            alert_schedule: self.alert_schedule.clone(),
            digest_schedule: self.digest_schedule.clone(),
            smtp_url: self.smtp_url.clone(),
            smtp_from: self.smtp_from.clone(),
            backup_schedule: self.backup_schedule.clone(),
            backup_dir: self.backup_dir.clone(),
            backup_keep: self.backup_keep,
            webhook_allow_nets: (!self.webhook_allow_nets.is_empty())
                .then(|| self.webhook_allow_nets.clone()),
            smtp_password_file: self.smtp_password_file.clone(),
            // Never a flag: a flag shows in every process listing.
            smtp_password: std::env::var("RECERT_SMTP_PASSWORD").ok(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            insecure_plaintext: self.insecure_plaintext.then_some(true),
            database_url: self.database_url.clone(),
            lease_secs: self.lease_secs,
            export_deadline_secs: self.export_deadline_secs,
            standing_cache_mib: self.standing_cache_mib,
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
    let (listener, addr, socket): (recertd::Listener, String, _) = match &config.listen {
        Listen::Tcp(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at}"))?;
            let addr = listener
                .local_addr()
                .context("cannot read the bound address")?;
            (listener.into(), addr.to_string(), None)
        }
        Listen::Unix(path) => (
            bind_unix(path)?.into(),
            config.listen.to_string(),
            Some(path.clone()),
        ),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    // One line on stdout once the store is open and signals are handled, so scripts and
    // tests that pass port 0 learn the address.
    let ready = move || println!("recertd listening on {addr}");
    let result = recertd::run(config, listener, clock()?, shutdown, ready).await;
    if let Some(path) = socket {
        let _ = std::fs::remove_file(path);
    }
    result?;
    Ok(())
}

/// Binds the Unix socket at `path`, mode 0600: only this user may connect. A socket left by
/// a daemon that is gone is replaced; one that answers, or any other file, is not.
fn bind_unix(path: &std::path::Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            anyhow::bail!(
                "cannot listen on {}: it exists and is not a socket",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!(
                "cannot listen on {}: another daemon answers there",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot replace the stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))?;
    Ok(listener)
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
    let now = clock()?.now();
    let report = recertd::check(&config, repair, now).await?;
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
    // Whatever the caller's umask, what recertd creates (the store, its lock, backups) is
    // for its own user only.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
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
    if let Some(Command::Token(TokenCommand::CreateAdmin)) = args.command {
        let result = args.config().and_then(|config| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?
                .block_on(async { Ok(recertd::create_admin_token(&config, clock()?).await?) })
        });
        return match result {
            Ok(path) => {
                println!("admin token written to {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("recertd: error: {e:#}");
                ExitCode::FAILURE
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
