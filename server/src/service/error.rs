//! The service layer's error: what went wrong in words a user can act on, by kind. The API
//! maps each kind to a gRPC status once (`api/error.rs`).

use crate::domain::{FieldError, IdKind, Refused};
use crate::store::{Conflict, StoreError};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields of the request are invalid.
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    /// A referenced record does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// A record with that key exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well formed, but the records' state does not allow it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The request carries no valid token (missing, unknown, expired or revoked).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role does not allow this (on records of their own kind, for instance
    /// tokens or global programs; another holder's record is [`ServiceError::NotFound`]).
    #[error("{0}")]
    PermissionDenied(String),
    /// The store failed (the detail is logged, not sent).
    #[error(transparent)]
    Store(StoreError),
}

/// The result of a use case.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// The messages of several field errors, joined.
pub fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    /// One invalid field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(errors: Vec<FieldError>) -> Self {
        ServiceError::Invalid(errors)
    }
}

impl From<FieldError> for ServiceError {
    fn from(error: FieldError) -> Self {
        ServiceError::Invalid(vec![error])
    }
}

impl From<Refused> for ServiceError {
    fn from(refused: Refused) -> Self {
        ServiceError::FailedPrecondition(refused.reason().to_string())
    }
}

impl From<super::standing::StandingError> for ServiceError {
    fn from(e: super::standing::StandingError) -> Self {
        match e {
            super::standing::StandingError::UnknownProgram(_) => {
                ServiceError::NotFound(e.to_string())
            }
            super::standing::StandingError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. }
            | StoreError::ProgramNotFound(_)
            | StoreError::CompetencyProgramNotFound(_) => ServiceError::NotFound(e.to_string()),
            StoreError::Conflict(conflict) => conflict.into(),
            StoreError::BadCursor => {
                ServiceError::invalid("page_token", "page_token is not one this server issued")
            }
            other => ServiceError::Store(other),
        }
    }
}

/// "1 credential", "3 courses".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A broken cross-record rule, in words.
impl From<Conflict> for ServiceError {
    fn from(conflict: Conflict) -> Self {
        let holder = |id: u64| IdKind::Holder.format(id);
        match conflict {
            Conflict::CredentialHeld {
                holder: h,
                program,
                existing,
            } => ServiceError::AlreadyExists(format!(
                "holder {} already holds {program} as credential {}",
                holder(h),
                IdKind::Credential.format(existing)
            )),
            Conflict::ChannelExists {
                holder: h,
                kind,
                target,
            } => ServiceError::AlreadyExists(format!(
                "holder {} already has the {kind} channel {target}",
                holder(h)
            )),
            Conflict::NoSuchTeam(team) => ServiceError::NotFound(format!(
                "team {} not found (see: recert team list)",
                crate::domain::team_id(team)
            )),
            Conflict::TeamChannelExists { team, kind, target } => {
                ServiceError::AlreadyExists(format!(
                    "team {} already has the {kind} channel {target}",
                    crate::domain::team_id(team)
                ))
            }
            Conflict::ProgramExists(slug) => ServiceError::AlreadyExists(format!(
                "program {slug} already exists locally; use update"
            )),
            Conflict::ProgramInUse { slug, users } => ServiceError::FailedPrecondition(format!(
                "program {slug} is used by {}; remove {} first",
                counted(users, "credential"),
                if users == 1 { "it" } else { "them" }
            )),
            Conflict::CompetencyProgramExists(slug) => ServiceError::AlreadyExists(format!(
                "competency program {slug} is already stored; use: recert competency program edit"
            )),
            Conflict::CompetencyProgramInUse { slug, holders } => {
                ServiceError::FailedPrecondition(format!(
                    "competency program {slug} is assessed for {}; their skills on it must go first",
                    counted(holders, "holder")
                ))
            }
            Conflict::HolderHasRecords {
                holder: h,
                credentials,
                courses,
            } => ServiceError::FailedPrecondition(format!(
                "holder {} has {} and {}; delete them first, or delete with force",
                holder(h),
                counted(credentials, "credential"),
                counted(courses, "course")
            )),
            Conflict::PinnedToOther { credential } => ServiceError::FailedPrecondition(format!(
                "credential {} belongs to another holder",
                IdKind::Credential.format(credential)
            )),
            Conflict::DuplicateCourse { twin } => ServiceError::AlreadyExists(format!(
                "looks like {} (same title, date and amount); log it anyway with allow_duplicate",
                IdKind::Course.format(twin)
            )),
            Conflict::TeamExists(name) => {
                ServiceError::AlreadyExists(format!("a team named {name:?} exists already"))
            }
            Conflict::Immutable(what) => {
                ServiceError::FailedPrecondition(format!("{what} cannot change"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(conflict: Conflict) -> String {
        match ServiceError::from(conflict) {
            ServiceError::FailedPrecondition(m) | ServiceError::AlreadyExists(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_count_with_the_right_plurals() {
        assert_eq!(
            message(Conflict::ProgramInUse {
                slug: "lab-x".into(),
                users: 1
            }),
            "program lab-x is used by 1 credential; remove it first"
        );
        assert_eq!(
            message(Conflict::HolderHasRecords {
                holder: 6,
                credentials: 1,
                courses: 3
            }),
            "holder h6 has 1 credential and 3 courses; delete them first, or delete with force"
        );
        assert_eq!(
            message(Conflict::DuplicateCourse { twin: 4 }),
            "looks like co4 (same title, date and amount); log it anyway with allow_duplicate"
        );
    }
}
