//! The gRPC services of `recert.v1`: request checks, calls into the store and the domain, and
//! conversion back to messages. Generated types do not leave this module.

mod compliance;
mod convert;
mod courses;
mod credentials;
mod error;
mod holders;
mod programs;

pub use error::{ApiError, ApiResult};

use crate::clock::Clock;
use crate::domain::{Holder, IdKind, Program};
use crate::store::Store;
use jiff::civil::Date;
use std::sync::Arc;

pub use compliance::ComplianceApi;
pub use courses::CourseApi;
pub use credentials::CredentialApi;
pub use holders::HolderApi;
pub use programs::ProgramApi;

/// What every service shares: the store and the clock.
#[derive(Clone, Debug)]
pub struct Api {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Api {
    /// Services over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Api { store, clock }
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
        let tz = jiff::tz::TimeZone::get(&holder.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        self.clock.now().to_zoned(tz).date()
    }

    /// The program in force for `slug`: a local one, else the built-in one.
    fn program(&self, slug: &str) -> ApiResult<Program> {
        if let Some(p) = self.store.local_program(slug)? {
            return Ok(p);
        }
        crate::catalog::find(slug).cloned().ok_or_else(|| {
            ApiError::NotFound(format!(
                "program {slug:?} not found (see: recert program list)"
            ))
        })
    }
}
