//! The audit trail: one entry per change, written in the same transaction as the change.

use jiff::Timestamp;

/// Who makes the changes of one request, and when: what every history entry it causes says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's id; `None` for the daemon itself.
    pub token_id: Option<u64>,
    /// The token's id and name as shown ("tk2 (Dana's laptop)"), or "recertd".
    pub name: String,
    /// When (the request's instant, by the daemon's clock).
    pub at: Timestamp,
}

/// One change to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Store-assigned id, in the order the changes were made.
    pub id: u64,
    /// When.
    pub at: Timestamp,
    /// The token that made it (`None`: the daemon itself).
    pub token_id: Option<u64>,
    /// Who, as shown.
    pub actor: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// The record's kind: `holder`, `credential`, `course`, `channel`, `alert`, `program`,
    /// `alert settings`, `token`, `team`.
    pub kind: String,
    /// The record's id (or slug, or scope).
    pub record: String,
    /// The holder whose record it is, if any.
    pub holder_id: Option<u64>,
    /// The record before, as JSON (secrets left out); `None` for a create.
    pub before: Option<String>,
    /// The record after, as JSON (secrets left out); `None` for a delete.
    pub after: Option<String>,
}
