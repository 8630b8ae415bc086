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

/// What every service shares: the store, the clock and the alert engine.
#[derive(Clone, Debug)]
pub struct Api {
    store: Store,
    clock: Arc<dyn Clock>,
    alerts: AlertEngine,
    standings: Arc<crate::standing::Cache>,
}

impl Api {
    /// Services over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, alerts: AlertEngine) -> Self {
        Api {
            store,
            clock,
            alerts,
            standings: Arc::default(),
        }
    }

    /// Tells the alert engine a holder's data changed: pending shortfall alerts that are now
    /// met are cancelled at once, and the engine re-plans its next wake-up.
    async fn changed(&self, holder_id: u64) {
        if let Err(e) = self
            .alerts
            .holder_changed(holder_id, self.clock.now())
            .await
        {
            tracing::error!(error = %e, "re-evaluating alerts failed");
        }
        self.alerts.wake();
    }

    /// The holder id named in a request; `"default"` is the default holder.
    fn holder_id(&self, field: &str, value: &str) -> ApiResult<u64> {
        if value.trim() == "default" {
            return self.store.default_holder_id()?.ok_or_else(|| {
                ApiError::NotFound(
                    "no holder exists yet; create one first (recert holder add NAME)".into(),
                )
            });
        }
        convert::id(IdKind::Holder, field, value)
    }

    /// A holder's local date now.
    fn today(&self, holder: &Holder) -> Date {
        crate::standing::today(holder, self.clock.now())
    }

    /// The program in force for `slug`: a local one, else the built-in one.
    fn program(&self, slug: &str) -> ApiResult<Program> {
        crate::standing::program(&self.store, slug)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "program {slug:?} not found (see: recert program list)"
            ))
        })
    }
}
