//! Conversions between `recert.v1` messages and domain types, with the request checks that
//! belong at the edge. This file holds the parsers every message shares (ids, holder
//! references, dates, enums, page tokens); each message's own conversions are in its file.

mod alert;
mod compliance;
mod course;
mod credential;
mod holder;
mod program;

pub use alert::{NamedScope, alert_filter, channel_from_pb, settings_scope};
pub use compliance::{statuses, team_within_days, within_days};

use super::error::{ApiError, ApiResult};
pub use course::course_update;
pub use credential::{credential_update, renewal, verification};
pub use holder::holder_update;
pub use program::slug;

use crate::domain::{self, Format, IdKind, Unit, normalize_category};
use crate::service::HolderRef;
use crate::store::Cursor;
use jiff::civil::Date;

/// Default number of items in a page.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Parses a required `YYYY-MM-DD` date.
pub fn date(field: &str, value: &str) -> ApiResult<Date> {
    domain::parse_date(field, value).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Parses an optional date: empty is `None`.
pub fn optional_date(field: &str, value: &str) -> ApiResult<Option<Date>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        date(field, value).map(Some)
    }
}

/// Parses a record id of `kind`.
pub fn id(kind: IdKind, field: &str, value: &str) -> ApiResult<u64> {
    domain::parse_id(kind, field, value).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Parses the holder a request names: `"default"`, or a holder id.
pub fn holder_ref(field: &str, value: &str) -> ApiResult<HolderRef> {
    HolderRef::parse(field, value).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Checks a page size: 0 means the default.
pub fn page_size(value: i32) -> ApiResult<usize> {
    match usize::try_from(value) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
        Err(_) => Err(ApiError::invalid(
            "page_size",
            "page_size must not be negative",
        )),
    }
}

/// Decodes a page token; empty is the first page. Which cursors are valid is the store's
/// business (it answers a foreign one with [`crate::store::StoreError::BadCursor`]).
pub fn page_token(value: &str) -> ApiResult<Option<Cursor>> {
    if value.is_empty() {
        return Ok(None);
    }
    Cursor::from_token(value)
        .map(Some)
        .ok_or_else(bad_page_token)
}

/// The error for a page token this server did not issue.
pub fn bad_page_token() -> ApiError {
    ApiError::invalid("page_token", "page_token is not one this server issued")
}

/// Encodes a page token.
pub fn encode_token(next: Option<Cursor>) -> String {
    next.map(|c| c.to_token()).unwrap_or_default()
}

/// Categories: trimmed, lowercase, deduplicated, order kept.
///
/// Linear in the entries (a set, not a scan of what is kept), though the limits bound them
/// already.
pub fn categories(values: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .map(|c| normalize_category(c))
        .filter(|c| seen.insert(c.clone()))
        .collect()
}

/// Parses an optional course format.
pub fn format(field: &str, value: &str) -> ApiResult<Option<Format>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Format::parse(value).map(Some).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{field} {value:?} is not one of live, online, home-study, academic"),
        )
    })
}

/// Parses a course unit; empty is hours.
pub fn unit(field: &str, value: &str) -> ApiResult<Unit> {
    Unit::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Unit::ALL.iter().map(|u| u.name()).collect();
        ApiError::invalid(
            field,
            format!("{field} {value:?} is not one of {}", names.join(", ")),
        )
    })
}

/// Parses a list of credential ids (pins).
pub fn credential_ids(field: &str, values: &[String]) -> ApiResult<Vec<u64>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for v in values {
        let id = id(IdKind::Credential, field, v)?;
        if seen.insert(id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Renames violations of a record's fields (`course.title`) to the request's own field names
/// (`title`), for update requests whose fields sit at the top level.
pub fn top_level(errors: Vec<crate::domain::FieldError>, record: &str) -> super::ApiError {
    let prefix = format!("{record}.");
    super::ApiError::Invalid(
        errors
            .into_iter()
            .map(|e| crate::domain::FieldError {
                field: e
                    .field
                    .strip_prefix(&prefix)
                    .unwrap_or(&e.field)
                    .to_string(),
                message: e.message.replace(&prefix, ""),
            })
            .collect(),
    )
}

/// [`top_level`] for the error of an update use case: its invalid fields are renamed, any
/// other error is left as it is.
pub fn at_top_level(error: ApiError, record: &str) -> ApiError {
    match error {
        ApiError::Invalid(errors) => top_level(errors, record),
        other => other,
    }
}
