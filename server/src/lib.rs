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
pub mod domain;
pub mod service;
pub mod store;

use api::{
    AlertApi, Api, BackupApi, ChannelApi, ComplianceApi, CourseApi, CredentialApi, HolderApi,
    ProgramApi,
};
use clock::Clock;
use config::Config;
use recert_proto::v1::alert_service_server::AlertServiceServer;
use recert_proto::v1::backup_service_server::BackupServiceServer;
use recert_proto::v1::channel_service_server::ChannelServiceServer;
use recert_proto::v1::compliance_service_server::ComplianceServiceServer;
use recert_proto::v1::course_service_server::CourseServiceServer;
use recert_proto::v1::credential_service_server::CredentialServiceServer;
use recert_proto::v1::holder_service_server::HolderServiceServer;
use recert_proto::v1::program_service_server::ProgramServiceServer;
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
}

/// Serves recert on `listener` until `shutdown` is cancelled, then lets in-flight calls
/// finish and flushes the store. The store is the PostgreSQL database at
/// `config.database_url` when one is set, else the sled store in `config.data_dir`;
/// `on_ready` runs once it is open and the services are about to serve.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    on_ready: impl FnOnce() + Send,
) -> Result<(), RunError> {
    match &config.database_url {
        Some(url) => {
            let store = PgStore::open(&pg_options(&url.0)).await?;
            let schema = store.schema_version().await?;
            tracing::info!(database = store.shown_url(), schema, "database opened");
            let leadership = Leadership::Lease {
                store: store.clone(),
                lease: store::postgres::Lease {
                    name: "alerts".into(),
                    holder: daemon_id(),
                },
                ttl: config.lease,
            };
            run_on(
                store, config, leadership, listener, clock, shutdown, on_ready,
            )
            .await
        }
        None => {
            let store = SledStore::open(&config.data_dir, &config.store_options())?;
            tracing::info!(
                data_dir = %config.data_dir.display(),
                schema = store.schema_version()?,
                "store opened"
            );
            run_on(
                store,
                config,
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

fn pg_options(url: &str) -> PgOptions {
    PgOptions {
        url: url.to_string(),
        pool_size: 16,
    }
}

async fn run_on<S: Store>(
    store: S,
    config: Config,
    leadership: Leadership,
    listener: TcpListener,
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
    let result = serve(store.clone(), listener, clock, engine, shutdown).await;
    engine_stop.cancel();
    let _ = jobs.await;
    store.close().await?;
    tracing::info!("store flushed; stopped");
    result
}

/// `recertd check [--repair]`: checks (or rebuilds) the store in `config.data_dir` while no
/// daemon runs, or the database at `config.database_url`. Engine-specific maintenance, so it
/// lives here, beside the one place that picks the engine.
pub async fn check(config: &Config, repair: bool) -> Result<store::CheckReport, RunError> {
    if let Some(url) = &config.database_url {
        let store = PgStore::open(&pg_options(&url.0)).await?;
        let report = store::postgres::check(&store, repair).await?;
        store.close().await?;
        return Ok(report);
    }
    let store = SledStore::open(&config.data_dir, &config.store_options())?;
    let report = if repair {
        store.repair()?
    } else {
        store.check()?
    };
    store.close().await?;
    Ok(report)
}

async fn serve<S: Store>(
    store: S,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    engine: alerts::AlertEngine<S>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let api = Api::new(store, clock, engine);
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
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "recertd listening");
    }
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(HolderServiceServer::new(HolderApi(api.clone())))
        .add_service(ProgramServiceServer::new(ProgramApi(api.clone())))
        .add_service(CredentialServiceServer::new(CredentialApi(api.clone())))
        .add_service(CourseServiceServer::new(CourseApi(api.clone())))
        .add_service(ComplianceServiceServer::new(ComplianceApi(api.clone())))
        .add_service(AlertServiceServer::new(AlertApi {
            api: api.clone(),
            shutdown: shutdown.clone(),
        }))
        .add_service(BackupServiceServer::new(BackupApi(api.clone())))
        .add_service(ChannelServiceServer::new(ChannelApi(api)))
        .serve_with_incoming_shutdown(
            // Nagle's algorithm would hold back every response over a few hundred bytes.
            tokio_stream::StreamExt::map(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                |conn| conn.map(conn::Unvectored),
            ),
            shutdown.clone().cancelled_owned(),
        );
    tokio::pin!(server);
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
