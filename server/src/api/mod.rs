//! The gRPC services of `recert.v1`: request checks, calls into the store and the domain, and
//! conversion back to messages. Generated types do not leave this module.

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
use crate::domain::{Holder, IdKind, Program};
use crate::service::Service;
use crate::store::Store;
use jiff::civil::Date;
use std::sync::Arc;

pub use alerts::{AlertApi, ChannelApi};
pub use backup::BackupApi;
pub use compliance::ComplianceApi;
pub use courses::CourseApi;
pub use credentials::CredentialApi;
pub use holders::HolderApi;
pub use programs::ProgramApi;

/// What every gRPC service shares: the service layer, and the store and clock for what
/// is still done here.
#[derive(Clone, Debug)]
pub struct Api<S> {
    service: Service<S>,
    store: S,
    clock: Arc<dyn Clock>,
    alerts: AlertEngine<S>,
}

impl<S: Store> Api<S> {
    /// Services over `store`, telling time by `clock`, waking `alerts` on changes.
    pub fn new(store: S, clock: Arc<dyn Clock>, alerts: AlertEngine<S>) -> Self {
        Api {
            service: Service::new(store.clone(), clock.clone(), alerts.waker()),
            store,
            clock,
            alerts,
        }
    }

    /// The service layer.
    pub fn service(&self) -> &Service<S> {
        &self.service
    }

    /// Tells the service a holder's data changed (met alerts are cancelled, the engine
    /// re-plans); a failure is logged, the request it follows has succeeded.
    async fn changed(&self, holder_id: u64) {
        if let Err(e) = self.service.holder_changed(holder_id).await {
            tracing::error!(error = %e, "re-evaluating alerts failed");
        }
    }

    /// The holder id named in a request; `"default"` is the default holder.
    async fn holder_id(&self, field: &str, value: &str) -> ApiResult<u64> {
        if value.trim() == "default" {
            return self.store.default_holder_id().await?.ok_or_else(|| {
                ApiError::NotFound(
                    "no holder exists yet; create one first (recert holder add NAME)".into(),
                )
            });
        }
        convert::id(IdKind::Holder, field, value)
    }

    /// A holder's local date now.
    fn today(&self, holder: &Holder) -> Date {
        crate::service::standing::today(holder, self.clock.now())
    }

    /// The program in force for `slug`: a local one, else the built-in one.
    async fn program(&self, slug: &str) -> ApiResult<Program> {
        crate::service::standing::program(&self.store, slug)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "program {slug:?} not found (see: recert program list)"
                ))
            })
    }
}

/// Who sent `request`: today every caller is the local operator (tokens and roles come
/// later, read from the request's metadata).
fn caller<T>(_request: &tonic::Request<T>) -> crate::service::Caller {
    crate::service::Caller::LocalOperator
}
