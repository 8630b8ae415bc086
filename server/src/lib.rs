//! recertd: the recert daemon. Stores holders, credentials and CE courses, knows each
//! certification's renewal rules, and answers over gRPC.
//!
//! [`run`] is the one entry point, used by the binary and by every test.

pub mod alerts;
pub mod api;
pub mod backup;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod conn;
pub mod data_dir;
pub mod domain;
pub mod service;
pub mod store;

use api::{
    AlertApi, Api, AuthLayer, BackupApi, ChannelApi, CompetencyApi, ComplianceApi, CourseApi,
    CredentialApi, HistoryApi, HolderApi, ProgramApi, RosterApi, TeamApi, TokenApi,
};
use clock::Clock;
use config::Config;
use recert_proto::v1::alert_service_server::AlertServiceServer;
use recert_proto::v1::backup_service_server::BackupServiceServer;
use recert_proto::v1::channel_service_server::ChannelServiceServer;
use recert_proto::v1::competency_service_server::CompetencyServiceServer;
use recert_proto::v1::compliance_service_server::ComplianceServiceServer;
use recert_proto::v1::course_service_server::CourseServiceServer;
use recert_proto::v1::credential_service_server::CredentialServiceServer;
use recert_proto::v1::history_service_server::HistoryServiceServer;
use recert_proto::v1::holder_service_server::HolderServiceServer;
use recert_proto::v1::program_service_server::ProgramServiceServer;
use recert_proto::v1::roster_service_server::RosterServiceServer;
use recert_proto::v1::team_service_server::TeamServiceServer;
use recert_proto::v1::token_service_server::TokenServiceServer;
use std::sync::Arc;
use store::{PgOptions, PgStore, SledStore, Store, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long in-flight calls (and idle connections) may hold up shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened or closed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gRPC server failed.
    #[error("the gRPC server failed: {0}")]
    Serve(String),
    /// The alert engine could not be set up.
    #[error(transparent)]
    Alerts(#[from] alerts::AlertError),
    /// Reflection could not be set up.
    #[error("cannot set up gRPC reflection: {0}")]
    Reflection(String),
    /// The data dir could not be created or made private.
    #[error("cannot make the data dir {} private (0700, files 0600): {error}", .dir.display())]
    DataDir {
        /// The data dir.
        dir: std::path::PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The TLS certificate or key could not be read or used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The admin token could not be made or written.
    #[error("{0}")]
    AdminToken(String),
}

/// Creates the data dir private to this user, or narrows an existing one (saying so).
fn prepare_data_dir(dir: &std::path::Path) -> Result<(), RunError> {
    let failed = |error| RunError::DataDir {
        dir: dir.to_path_buf(),
        error,
    };
    let tightened = data_dir::prepare(dir).map_err(failed)?;
    if let Some(first) = tightened.first() {
        tracing::warn!(
            data_dir = %dir.display(),
            paths = tightened.len(),
            first = %first.display(),
            "the data dir was readable by others; narrowed it to its owner (directories 0700, files 0600)"
        );
    }
    Ok(())
}

/// The TLS config of `files`: the certificate chain and key, read now so a bad file stops
/// start-up with its name.
fn tls_config(files: &config::TlsFiles) -> Result<tonic::transport::ServerTlsConfig, RunError> {
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| RunError::Tls(format!("cannot read {flag} {}: {e}", path.display())))
    };
    let cert = read("--tls-cert", &files.cert)?;
    let key = read("--tls-key", &files.key)?;
    let identity = tonic::transport::Identity::from_pem(cert, key);
    let tls = tonic::transport::ServerTlsConfig::new().identity(identity);
    // Building the acceptor parses both files: a wrong key fails here, before the store opens.
    tonic::transport::Server::builder()
        .tls_config(tls.clone())
        .map_err(|e| RunError::Tls(format!("the certificate or key is unusable: {e}")))?;
    Ok(tls)
}

/// A bound listener: TCP, or a Unix socket.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix socket listener.
    Unix(tokio::net::UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener::Tcp(listener)
    }
}

impl From<tokio::net::UnixListener> for Listener {
    fn from(listener: tokio::net::UnixListener) -> Self {
        Listener::Unix(listener)
    }
}

/// The file in the data dir that holds the first admin token's secret.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Writes `secret` to a new file at `path`, mode 0600; refuses to replace an existing one.
fn write_secret_file(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    file.sync_all()
}

/// On a store without tokens, makes the first admin token and writes its secret to
/// `<data dir>/admin.token` (0600). An `admin.token` already there (a store made anew beside
/// it) is kept and its secret stored, so the file stays the way in; it is never overwritten.
async fn first_admin_token<S: Store>(
    store: &S,
    clock: &Arc<dyn Clock>,
    data_dir: &std::path::Path,
) -> Result<(), RunError> {
    let service = service::Service::new(store.clone(), clock.clone(), Arc::default());
    let failed = |e: String| RunError::AdminToken(e);
    if service
        .has_tokens()
        .await
        .map_err(|e| failed(e.to_string()))?
    {
        return Ok(());
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) if service::access::is_secret(text.trim()) => text.trim().to_string(),
        Ok(_) => {
            return Err(failed(format!(
                "{} does not hold a recert token; move it away and start again",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = service::access::new_secret().map_err(|e| failed(e.to_string()))?;
            write_secret_file(&path, &secret)
                .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
            secret
        }
        Err(e) => return Err(failed(format!("cannot read {}: {e}", path.display()))),
    };
    service
        .create_admin_token(&secret, "admin (admin.token)")
        .await
        .map_err(|e| failed(e.to_string()))?;
    tracing::info!(file = %path.display(), "first start: admin token written");
    Ok(())
}

/// `recertd token create-admin`: makes a new admin token while no daemon runs and writes it
/// to `<data dir>/admin.token`, which must not exist (it is never overwritten). Returns the
/// file's path.
pub async fn create_admin_token(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<std::path::PathBuf, RunError> {
    let path = config.data_dir.join(ADMIN_TOKEN_FILE);
    if path.exists() {
        return Err(RunError::AdminToken(format!(
            "{} exists; it is never overwritten (move it away first)",
            path.display()
        )));
    }
    match &config.database_url {
        Some(url) => {
            let store = PgStore::open(&pg_options(&url.0)).await?;
            new_admin_token(store, clock, path).await
        }
        None => {
            let store = SledStore::open(&config.data_dir, &config.store_options())?;
            new_admin_token(store, clock, path).await
        }
    }
}

/// Makes an admin token in `store`, writes its secret to `path` and closes the store.
async fn new_admin_token<S: Store>(
    store: S,
    clock: Arc<dyn Clock>,
    path: std::path::PathBuf,
) -> Result<std::path::PathBuf, RunError> {
    let service = service::Service::new(store.clone(), clock, Arc::default());
    let secret = service::access::new_secret().map_err(|e| RunError::AdminToken(e.to_string()))?;
    write_secret_file(&path, &secret)
        .map_err(|e| RunError::AdminToken(format!("cannot write {}: {e}", path.display())))?;
    let made = service
        .create_admin_token(&secret, "admin (token create-admin)")
        .await
        .map_err(|e| RunError::AdminToken(e.to_string()));
    store.close().await?;
    made.map(|_| path)
}

/// Serves recert on `listener` until `shutdown` is cancelled, then lets in-flight calls
/// finish and flushes the store. The store is the PostgreSQL database at
/// `config.database_url` when one is set, else the sled store in `config.data_dir`;
/// `on_ready` runs once it is open and the services are about to serve.
pub async fn run(
    config: Config,
    listener: impl Into<Listener>,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    on_ready: impl FnOnce() + Send,
) -> Result<(), RunError> {
    let tls = config.tls.as_ref().map(tls_config).transpose()?;
    let listener = listener.into();
    let files = conn::raise_file_limit();
    tracing::info!(
        file_limit = files,
        max_connections = conn::max_connections(files),
        "connection limits"
    );
    prepare_data_dir(&config.data_dir)?;
    match &config.database_url {
        Some(url) => {
            let store = PgStore::open(&pg_options(&url.0)).await?;
            let schema = store.schema_version().await?;
            tracing::info!(database = store.shown_url(), schema, "database opened");
            first_admin_token(&store, &clock, &config.data_dir).await?;
            let leadership = Leadership::Lease {
                store: store.clone(),
                lease: store::postgres::Lease {
                    name: "alerts".into(),
                    holder: daemon_id(),
                },
                ttl: config.lease,
            };
            run_on(
                store, config, tls, leadership, listener, clock, shutdown, on_ready,
            )
            .await
        }
        None => {
            let store = SledStore::open(&config.data_dir, &config.store_options())?;
            // What the engine just created, under whatever umask the caller had.
            data_dir::tighten(&config.data_dir).map_err(|error| RunError::DataDir {
                dir: config.data_dir.clone(),
                error,
            })?;
            tracing::info!(
                data_dir = %config.data_dir.display(),
                schema = store.schema_version()?,
                "store opened"
            );
            first_admin_token(&store, &clock, &config.data_dir).await?;
            run_on(
                store,
                config,
                tls,
                Leadership::Always,
                listener,
                clock,
                shutdown,
                on_ready,
            )
            .await
        }
    }
}

/// Who runs the alert engine and the backup job.
enum Leadership {
    /// This daemon alone (the sled store is locked to one process).
    Always,
    /// Whichever daemon holds the lease in the shared database.
    Lease {
        store: PgStore,
        lease: store::postgres::Lease,
        ttl: std::time::Duration,
    },
}

/// An id for this daemon in the lease table: host, process and start instant.
fn daemon_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}/{}/{nanos}", std::process::id())
}

/// The alert engine and the backup job until `stop`.
async fn background<S: Store>(
    engine: alerts::AlertEngine<S>,
    store: S,
    clock: Arc<dyn Clock>,
    backup: backup::BackupConfig,
    stop: CancellationToken,
) {
    let engine_task = tokio::spawn(engine.run(stop.clone()));
    let backup_task = tokio::spawn(backup::run(store, clock, backup, stop));
    let _ = engine_task.await;
    let _ = backup_task.await;
}

/// Runs the background jobs while this daemon holds the lease: tries to take or renew it
/// every third of its time, starts the jobs when it gets it and stops them when it loses it
/// (a renewal failed for a whole lease time, so another daemon may have it by now). Each
/// renewal also wakes the alert engine, so what other daemons wrote is seen within a third
/// of the lease time. Gives the lease up at `stop`.
async fn lead<S: Store>(
    engine: alerts::AlertEngine<S>,
    store: S,
    clock: Arc<dyn Clock>,
    backup: backup::BackupConfig,
    leadership: Leadership,
    stop: CancellationToken,
) {
    let (pg, lease, ttl) = match leadership {
        Leadership::Always => return background(engine, store, clock, backup, stop).await,
        Leadership::Lease { store, lease, ttl } => (store, lease, ttl),
    };
    let mut running: Option<(CancellationToken, tokio::task::JoinHandle<()>)> = None;
    let mut renewed = tokio::time::Instant::now();
    loop {
        let held = match pg.take_lease(&lease, ttl).await {
            Ok(held) => {
                if held {
                    renewed = tokio::time::Instant::now();
                }
                held
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the alert lease");
                // Keep running until the lease we hold would have expired.
                running.is_some() && renewed.elapsed() < ttl
            }
        };
        match (held, running.take()) {
            (true, None) => {
                tracing::info!(holder = %lease.holder, "took the alert lease: running alerts and backups");
                let token = stop.child_token();
                let task = tokio::spawn(background(
                    engine.clone(),
                    store.clone(),
                    clock.clone(),
                    backup.clone(),
                    token.clone(),
                ));
                running = Some((token, task));
            }
            (true, Some(jobs)) => {
                // Other daemons write too, and only this one's own writes wake the engine:
                // look again at every renewal.
                engine.wake();
                running = Some(jobs);
            }
            (false, Some((token, task))) => {
                tracing::warn!("lost the alert lease: alerts and backups stop here");
                token.cancel();
                let _ = task.await;
            }
            (false, None) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(ttl / 3) => {}
            () = stop.cancelled() => break,
        }
    }
    if let Some((token, task)) = running {
        token.cancel();
        let _ = task.await;
        if let Err(e) = pg.release_lease(&lease).await {
            tracing::warn!(error = %e, "cannot release the alert lease");
        }
    }
}

/// The pool for the database at `url`.
fn pg_options(url: &str) -> PgOptions {
    PgOptions {
        url: url.to_string(),
        pool_size: 16,
    }
}

/// Serves on `store` once it is open: the background jobs as `leadership` says, the
/// services until `shutdown`, then flushes the store.
#[allow(clippy::too_many_arguments)]
async fn run_on<S: Store>(
    store: S,
    config: Config,
    tls: Option<tonic::transport::ServerTlsConfig>,
    leadership: Leadership,
    listener: Listener,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    on_ready: impl FnOnce() + Send,
) -> Result<(), RunError> {
    let engine = alerts::AlertEngine::new(store.clone(), clock.clone(), &config.alerts)?;
    let engine_stop = CancellationToken::new();
    let jobs = tokio::spawn(lead(
        engine.clone(),
        store.clone(),
        clock.clone(),
        config.backup.clone(),
        leadership,
        engine_stop.clone(),
    ));
    on_ready();
    let result = serve(
        store.clone(),
        listener,
        tls,
        clock,
        engine,
        &config,
        shutdown,
    )
    .await;
    engine_stop.cancel();
    let _ = jobs.await;
    store.close().await?;
    tracing::info!("store flushed; stopped");
    result
}

/// `recertd check [--repair]`: checks (or rebuilds) the store in `config.data_dir` while no
/// daemon runs, or the database at `config.database_url`. Engine-specific maintenance, so it
/// lives here, beside the one place that picks the engine.
///
/// Both engines also check the values that steer the alert engine against `now`
/// ([`store::steering`]): `--repair` clamps them.
pub async fn check(
    config: &Config,
    repair: bool,
    now: jiff::Timestamp,
) -> Result<store::CheckReport, RunError> {
    if let Some(url) = &config.database_url {
        let store = PgStore::open(&pg_options(&url.0)).await?;
        let mut report = store::postgres::check(&store, repair).await?;
        let steering = store::steering::check_steering(&store, now, repair).await?;
        report.problems.extend(steering);
        store.close().await?;
        return Ok(report);
    }
    prepare_data_dir(&config.data_dir)?;
    let store = SledStore::open(&config.data_dir, &config.store_options())?;
    let mut report = if repair {
        store.repair()?
    } else {
        store.check()?
    };
    // Only a store whose records decode is read through the port.
    if report.ok() {
        let steering = store::steering::check_steering(&store, now, repair).await?;
        report.problems.extend(steering);
    }
    store.close().await?;
    Ok(report)
}

async fn serve<S: Store>(
    store: S,
    listener: Listener,
    tls: Option<tonic::transport::ServerTlsConfig>,
    clock: Arc<dyn Clock>,
    engine: alerts::AlertEngine<S>,
    config: &Config,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let standing_bytes = usize::try_from(config.standing_cache_mib.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX);
    let api = Api::new(store, clock, engine)
        .with_export_deadline(config.export_deadline)
        .with_standing_budget(standing_bytes);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<HolderServiceServer<HolderApi<S>>>()
        .await;
    health
        .set_serving::<ProgramServiceServer<ProgramApi<S>>>()
        .await;
    health
        .set_serving::<CredentialServiceServer<CredentialApi<S>>>()
        .await;
    health
        .set_serving::<CourseServiceServer<CourseApi<S>>>()
        .await;
    health
        .set_serving::<ComplianceServiceServer<ComplianceApi<S>>>()
        .await;
    health
        .set_serving::<AlertServiceServer<AlertApi<S>>>()
        .await;
    health
        .set_serving::<ChannelServiceServer<ChannelApi<S>>>()
        .await;
    health
        .set_serving::<BackupServiceServer<BackupApi<S>>>()
        .await;
    health
        .set_serving::<TokenServiceServer<TokenApi<S>>>()
        .await;
    health.set_serving::<TeamServiceServer<TeamApi<S>>>().await;
    health
        .set_serving::<HistoryServiceServer<HistoryApi<S>>>()
        .await;
    health
        .set_serving::<CompetencyServiceServer<CompetencyApi<S>>>()
        .await;
    health
        .set_serving::<RosterServiceServer<RosterApi<S>>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(recert_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| RunError::Reflection(e.to_string()))?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(recert_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| RunError::Reflection(e.to_string()))?;
    match &listener {
        Listener::Tcp(l) => {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, tls = tls.is_some(), "recertd listening");
            }
        }
        Listener::Unix(l) => {
            if let Some(path) = l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Into::into))
            {
                let path: std::path::PathBuf = path;
                tracing::info!(socket = %path.display(), tls = tls.is_some(), "recertd listening");
            }
        }
    }
    use crate::domain::limits::MAX_REQUEST_BYTES;
    let mut builder = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(conn::KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(conn::KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(Some(conn::MAX_STREAMS_PER_CONNECTION));
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| RunError::Tls(format!("the certificate or key is unusable: {e}")))?;
    }
    let server = builder
        .layer(AuthLayer::new(api.service().clone()))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(
            HolderServiceServer::new(HolderApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            ProgramServiceServer::new(ProgramApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            CredentialServiceServer::new(CredentialApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            CourseServiceServer::new(CourseApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            ComplianceServiceServer::new(ComplianceApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            AlertServiceServer::new(AlertApi {
                api: api.clone(),
                shutdown: shutdown.clone(),
                watchers: api::Watchers::default(),
            })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            BackupServiceServer::new(BackupApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            TokenServiceServer::new(TokenApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            TeamServiceServer::new(TeamApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            HistoryServiceServer::new(HistoryApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            CompetencyServiceServer::new(CompetencyApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            RosterServiceServer::new(RosterApi(api.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            ChannelServiceServer::new(ChannelApi(api)).max_decoding_message_size(MAX_REQUEST_BYTES),
        );
    let stop = shutdown.clone().cancelled_owned();
    type Serving =
        std::pin::Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>>;
    let mut server: Serving = match listener {
        Listener::Tcp(listener) => {
            Box::pin(server.serve_with_incoming_shutdown(conn::Incoming::new(listener), stop))
        }
        Listener::Unix(listener) => {
            Box::pin(server.serve_with_incoming_shutdown(conn::Incoming::new(listener), stop))
        }
    };
    tokio::select! {
        result = &mut server => result.map_err(|e| RunError::Serve(e.to_string())),
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "in-flight calls did not finish in time; closing");
            Ok(())
        }
    }
}
