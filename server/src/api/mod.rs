//! The gRPC services of `recert.v1`: each handler parses its request (`convert/`), calls the
//! service layer and converts the answer back. Generated types do not leave this module.

mod access;
mod alerts;
mod auth;
mod backup;
mod competency;
mod compliance;
mod convert;
mod courses;
mod credentials;
mod error;
mod holders;
mod limits;
mod programs;
mod roster;

pub use error::{ApiError, ApiResult};

use crate::alerts::AlertEngine;
use crate::clock::Clock;
use crate::service::{Caller, Service};
use crate::store::Store;
use std::sync::Arc;
use tonic::Request;

pub use access::{HistoryApi, TeamApi, TokenApi};
pub use alerts::{AlertApi, ChannelApi, Watchers};
pub use auth::AuthLayer;
pub use backup::BackupApi;
pub use competency::CompetencyApi;
pub use compliance::ComplianceApi;
pub use courses::CourseApi;
pub use credentials::CredentialApi;
pub use holders::HolderApi;
pub use programs::ProgramApi;
pub use roster::RosterApi;

/// What every gRPC service shares: the service layer, and the alert engine for the stream
/// of new alerts and test sends.
#[derive(Clone, Debug)]
pub struct Api<S> {
    service: Service<S>,
    alerts: AlertEngine<S>,
    /// The longest an `ExportData` stream stays open.
    export_deadline: std::time::Duration,
    /// Exports streaming at once, daemon-wide ([`MAX_EXPORTS`]).
    exports: Arc<tokio::sync::Semaphore>,
}

/// `ExportData` streams the daemon serves at once; another is refused with
/// RESOURCE_EXHAUSTED (each holds a batch of the store until its reader reads it or the
/// export deadline passes).
pub const MAX_EXPORTS: usize = 4;

impl<S: Store> Api<S> {
    /// Services over `store`, telling time by `clock`, waking `alerts` on changes.
    pub fn new(store: S, clock: Arc<dyn Clock>, alerts: AlertEngine<S>) -> Self {
        Api {
            service: Service::new(store, clock, alerts.waker())
                .with_destinations(alerts.destinations().clone()),
            alerts,
            export_deadline: crate::config::EXPORT_DEADLINE,
            exports: Arc::new(tokio::sync::Semaphore::new(MAX_EXPORTS)),
        }
    }

    /// The same, cutting export streams off after `deadline`.
    pub fn with_export_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.export_deadline = deadline;
        self
    }

    /// The same, keeping at most about `bytes` of computed standings.
    pub fn with_standing_budget(mut self, bytes: usize) -> Self {
        self.service = self.service.with_standing_budget(bytes);
        self
    }

    /// The service layer.
    pub fn service(&self) -> &Service<S> {
        &self.service
    }
}

/// Who sent `request`: the caller [`AuthLayer`] resolved from its bearer token.
///
/// Every request that arrives over the network passes the layer, which either puts a caller
/// in its extensions or answers UNAUTHENTICATED itself; a request without one was made in
/// this process by calling a handler directly (the in-process tests do), so it is the
/// daemon's own operator.
///
/// Every unary handler starts here, so this is also where a request is measured against the
/// table of limits, before the handler parses or stores anything.
fn caller<T: prost::Message + prost::Name>(request: &Request<T>) -> Result<Caller, tonic::Status> {
    limits::check(request.get_ref())?;
    Ok(stream_caller(request))
}

/// The caller of a request whose body is a stream (its messages are measured as they come).
fn stream_caller<T>(request: &Request<T>) -> Caller {
    auth::caller_of(request.extensions()).unwrap_or(Caller::LocalOperator)
}
