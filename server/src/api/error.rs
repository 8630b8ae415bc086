//! The API's error type and its one mapping to `tonic::Status`.

use crate::domain::{FieldError, Refused};
use crate::store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Fields of the request are invalid.
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    /// A referenced record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed, but the record's state does not allow it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::standing::StandingError> for ApiError {
    fn from(e: crate::standing::StandingError) -> Self {
        match e {
            crate::standing::StandingError::UnknownProgram(_) => ApiError::NotFound(e.to_string()),
            crate::standing::StandingError::Store(e) => ApiError::Store(e),
        }
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        ApiError::FailedPrecondition(refused.reason().to_string())
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::Invalid(errors)
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        match e {
            ApiError::Invalid(errors) => {
                let message = join(&errors);
                let violations: Vec<FieldViolation> = errors
                    .into_iter()
                    .map(|e| FieldViolation::new(e.field, e.message))
                    .collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request(violations),
                )
            }
            ApiError::NotFound(message) => Status::not_found(message),
            ApiError::FailedPrecondition(message) => Status::failed_precondition(message),
            ApiError::Store(e) => match e {
                StoreError::NotFound { .. } => Status::not_found(e.to_string()),
                StoreError::AlreadyExists(m) => Status::already_exists(m),
                StoreError::FailedPrecondition(m) => Status::failed_precondition(m),
                StoreError::WriteFailed => {
                    tracing::error!("a write was refused: the store could not flush");
                    Status::failed_precondition(e.to_string())
                }
                other => {
                    tracing::error!(error = %other, "store failure");
                    Status::internal("recertd could not complete the request; see its log")
                }
            },
        }
    }
}

/// The result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
