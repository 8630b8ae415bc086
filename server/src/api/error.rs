//! The one mapping of errors to `tonic::Status`.

use crate::alerts::AlertError;
use crate::backup;
use crate::domain::FieldError;
use crate::service::import::{ImportError, LineError};
use crate::service::join;
use crate::store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// Field violations sent in one answer (the first ones).
const MAX_VIOLATIONS: usize = 16;
/// Characters of one violation's field or message sent.
const MAX_VIOLATION_CHARS: usize = 300;

/// `text` cut to [`MAX_VIOLATION_CHARS`] characters.
fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_VIOLATION_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Why a request failed: the service layer's error (the API's own parse errors are its
/// `Invalid` kind).
pub use crate::service::ServiceError as ApiError;

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        match e {
            ApiError::Invalid(errors) => {
                // Messages quote short prefixes of bad values; this bounds the trailers even
                // where one quotes more, so the client sees the error rather than a refusal
                // of oversized metadata.
                let errors: Vec<_> = errors
                    .into_iter()
                    .take(MAX_VIOLATIONS)
                    .map(|mut e| {
                        e.message = cut(e.message);
                        e.field = cut(e.field);
                        e
                    })
                    .collect();
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
            ApiError::AlreadyExists(message) => Status::already_exists(message),
            ApiError::FailedPrecondition(message) => Status::failed_precondition(message),
            ApiError::Unauthenticated(message) => Status::unauthenticated(message),
            ApiError::PermissionDenied(message) => Status::permission_denied(message),
            ApiError::Store(e) => match e {
                StoreError::WriteFailed => {
                    tracing::error!("a write was refused: the store could not flush");
                    Status::failed_precondition(e.to_string())
                }
                StoreError::Unavailable(detail) => {
                    tracing::warn!(%detail, "the database is unavailable");
                    Status::unavailable("recertd cannot reach its database just now; try again")
                }
                other => {
                    tracing::error!(error = %other, "store failure");
                    Status::internal("recertd could not complete the request; see its log")
                }
            },
        }
    }
}

/// A failed test send: the store's failure as any other; the rest is the daemon's own
/// (delivery setup, a standing it could not compute), logged and answered INTERNAL.
impl From<AlertError> for Status {
    fn from(e: AlertError) -> Status {
        match e {
            AlertError::Store(e) => Status::from(ApiError::from(e)),
            other => {
                tracing::error!(error = %other, "test alert failed");
                Status::internal("the test alert could not be sent; see the recertd log")
            }
        }
    }
}

/// A line's problem as a field violation: the field is `line N` or `line N: course.title`.
fn violation(e: LineError) -> FieldError {
    let field = if e.field.is_empty() {
        format!("line {}", e.line)
    } else {
        format!("line {}: {}", e.line, e.field)
    };
    FieldError::new(field, e.message)
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(errors) => ApiError::Invalid(
                backup::first_bad_lines(errors)
                    .into_iter()
                    .map(violation)
                    .collect(),
            ),
            conflict @ ImportError::Conflict { .. } => {
                ApiError::FailedPrecondition(conflict.to_string())
            }
            ImportError::Store(e) => ApiError::from(e),
            ImportError::Denied(message) => ApiError::PermissionDenied(message),
            ImportError::NotInDump(message) => ApiError::invalid("only", message),
        }
    }
}

/// The result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
