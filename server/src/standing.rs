//! A holder's standing: their credentials with the programs in force, and compliance.
//!
//! Shared by the API and the alert engine so both answer the same.

use crate::catalog;
use crate::domain::{Compliance, Credential, Holder, Program, compliance_all};
use crate::store::{Store, StoreError};
use jiff::civil::Date;

/// Why a standing could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    /// A credential names a program that no longer exists.
    #[error("program {0:?} not found (see: recert program list)")]
    UnknownProgram(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The program in force for `slug`: a local one, else the built-in one.
pub fn program(store: &Store, slug: &str) -> Result<Option<Program>, StoreError> {
    if let Some(p) = store.local_program(slug)? {
        return Ok(Some(p));
    }
    Ok(catalog::find(slug).cloned())
}

/// A holder's local date at `now`.
pub fn today(holder: &Holder, now: jiff::Timestamp) -> Date {
    let tz = jiff::tz::TimeZone::get(&holder.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    now.to_zoned(tz).date()
}

/// Compliance of every credential of `holder` on `today`, each with its program, in the
/// order of the holder's credentials.
pub fn of_holder(
    store: &Store,
    holder: &Holder,
    today: Date,
) -> Result<Vec<(Credential, Compliance, Program)>, StandingError> {
    let credentials: Vec<(Credential, Program)> = store
        .credentials_of(holder.id)?
        .into_iter()
        .map(|c| {
            let p = program(store, &c.program)?
                .ok_or_else(|| StandingError::UnknownProgram(c.program.clone()))?;
            Ok((c, p))
        })
        .collect::<Result<_, StandingError>>()?;
    let courses = store.courses_of(holder.id)?;
    let answers = compliance_all(&credentials, &courses, today);
    Ok(answers
        .into_iter()
        .zip(credentials)
        .map(|(answer, (credential, program))| (credential, answer, program))
        .collect())
}
