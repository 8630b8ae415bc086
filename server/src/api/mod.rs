//! The gRPC services of `recert.v1`: each handler parses its request (`convert/`), calls the
//! service layer and converts the answer back. Generated types do not leave this module.

mod alerts;
mod backup;
mod compliance;
mod convert;
mod courses;
mod credentials;
mod error;
mod holders;
mod programs;

pub use error::{ApiError, ApiResult};

use crate::alerts::AlertEngine;
use crate::clock::Clock;
use crate::service::{Caller, Service};
use crate::store::Store;
use std::sync::Arc;
use tonic::Request;

pub use alerts::{AlertApi, ChannelApi};
pub use backup::BackupApi;
pub use compliance::ComplianceApi;
pub use courses::CourseApi;
pub use credentials::CredentialApi;
pub use holders::HolderApi;
pub use programs::ProgramApi;

/// What every gRPC service shares: the service layer, and the alert engine for the stream
/// of new alerts and test sends.
#[derive(Clone, Debug)]
pub struct Api<S> {
    service: Service<S>,
    alerts: AlertEngine<S>,
}

impl<S: Store> Api<S> {
    /// Services over `store`, telling time by `clock`, waking `alerts` on changes.
    pub fn new(store: S, clock: Arc<dyn Clock>, alerts: AlertEngine<S>) -> Self {
        Api {
            service: Service::new(store, clock, alerts.waker())
                .with_destinations(alerts.destinations().clone()),
            alerts,
        }
    }

    /// The service layer.
    pub fn service(&self) -> &Service<S> {
        &self.service
    }
}

/// Who sent `request`. Every caller is the local operator until requests carry credentials;
/// this is where they will be read.
fn caller<T>(_request: &Request<T>) -> Caller {
    Caller::LocalOperator
}
