//! The one table of size limits: bytes per string field and entries per repeated field, for
//! every request message and every import line. Requests are measured against it on the wire
//! before any other work; import lines and programs through the records' own validation.

/// Largest gRPC message the daemon decodes, in bytes (an import is sent in chunks below it).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Bytes a string field may hold unless [`TEXT_BYTES`] names it.
pub const DEFAULT_TEXT_BYTES: usize = 1024;

/// Entries a repeated field may hold unless [`COUNTS`] names it.
pub const DEFAULT_COUNT: usize = 64;

/// String fields (by name, in any message) that may hold more than [`DEFAULT_TEXT_BYTES`].
///
/// Free text is 2,000 characters, so up to 8,000 bytes of UTF-8; URLs 2,000 bytes.
pub const TEXT_BYTES: &[(&str, usize)] = &[
    ("body", 8192),
    ("detail", 8192),
    ("evidence", 8192),
    ("last_error", 8192),
    ("notes", 8192),
    ("source", 2048),
    ("sources", 2048),
    ("target", 2048),
];

/// Repeated fields (by name, in any message) with their own maximum number of entries.
pub const COUNTS: &[(&str, usize)] = &[
    ("accepted_accreditations", MAX_ACCREDITATIONS),
    ("caps", MAX_CAPS),
    ("holder_ids", 1000),
    ("lead_ids", 256),
    ("member_ids", 1000),
    ("only", MAX_IMPORT_ONLY),
    ("rows", MAX_ROSTER_ROWS),
    ("sources", MAX_SOURCES),
];

/// Rows one roster import may hold.
pub const MAX_ROSTER_ROWS: usize = 5000;

/// Records an import may be told to restore alone (`recert import --only`).
pub const MAX_IMPORT_ONLY: usize = 1000;

/// Caps a program may have.
pub const MAX_CAPS: usize = 64;
/// Accepted accreditations a program may list.
pub const MAX_ACCREDITATIONS: usize = 64;
/// Sources a program may cite.
pub const MAX_SOURCES: usize = 32;

/// Earliest year of any date or instant the daemon accepts (API and import).
pub const MIN_YEAR: i16 = 1900;
/// Latest year of any date or instant the daemon accepts (API and import).
pub const MAX_YEAR: i16 = 2200;

/// How far ahead of now an imported snooze may reach, in days.
pub const MAX_SNOOZE_DAYS: i64 = 366;
/// How far ahead of now an imported next delivery attempt may be, in days.
pub const MAX_NEXT_ATTEMPT_DAYS: i64 = 31;

/// Characters of a bad value an error message quotes.
pub const QUOTE_CHARS: usize = 32;

/// The byte limit of a string field named `field`.
pub fn text_bytes(field: &str) -> usize {
    TEXT_BYTES
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(DEFAULT_TEXT_BYTES, |&(_, n)| n)
}

/// The entry limit of a repeated field named `field`.
pub fn count(field: &str) -> usize {
    COUNTS
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(DEFAULT_COUNT, |&(_, n)| n)
}

/// `value` for an error message: at most [`QUOTE_CHARS`] characters, quoted, control
/// characters escaped, with `…` when cut.
pub fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        format!("{:?}…", head)
    } else {
        format!("{head:?}")
    }
}

/// Whether a year is within [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn year_in_range(year: i16) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_long_values_and_escapes_control_characters() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "x".repeat(1000);
        let q = quote(&long);
        assert!(q.len() < 40, "{q}");
        assert!(q.ends_with('…'));
        assert_eq!(quote("a\u{1b}b"), "\"a\\u{1b}b\"");
    }

    #[test]
    fn named_fields_have_their_own_limits() {
        assert_eq!(text_bytes("title"), DEFAULT_TEXT_BYTES);
        assert_eq!(text_bytes("evidence"), 8192);
        assert_eq!(count("caps"), MAX_CAPS);
        assert_eq!(count("categories"), DEFAULT_COUNT);
    }
}
