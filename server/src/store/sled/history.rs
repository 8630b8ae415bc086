//! The audit trail: every record a write creates, changes or deletes through a handle with
//! an actor becomes a history entry, appended in the write's own transaction.

use super::indexes::Indexed;
use super::keys::{id_key, read_id};
use super::{HISTORY, HISTORY_BY_HOLDER, META, Page, Result, SledStore, StoreError, WriteSet};
use crate::domain::{Actor, HistoryEntry};
use crate::store::Cursor;
use std::sync::Arc;

pub(super) const NEXT_HISTORY: &[u8] = b"next_id/history";

/// What a history entry says about one record, as the record kind words it.
pub(crate) struct Audit {
    /// The record's kind.
    pub kind: &'static str,
    /// Its id, slug or scope.
    pub record: String,
    /// Whose record it is.
    pub holder: Option<u64>,
    /// Its fields as a JSON object, secrets left out.
    pub json: String,
}

/// One planned change, waiting for its entry.
pub(super) struct Change {
    actor: Arc<Actor>,
    kind: &'static str,
    record: String,
    holder: Option<u64>,
    before: Option<String>,
    after: Option<String>,
}

/// The fields of `value` as a JSON object, without the fields named in `hide`.
pub(crate) fn json_without<T: serde::Serialize>(value: &T, hide: &[&str]) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(mut fields)) => {
            for name in hide {
                fields.remove(*name);
            }
            serde_json::Value::Object(fields).to_string()
        }
        _ => "{}".into(),
    }
}

impl WriteSet {
    /// Notes the change from `old` to `new` (either may be absent) for the audit trail.
    pub(super) fn note<T: Indexed>(&mut self, old: Option<&T>, new: Option<&T>) {
        let Some(actor) = self.actor.clone() else {
            return;
        };
        let (old, new) = (old.and_then(T::audit), new.and_then(T::audit));
        let Some(any) = new.as_ref().or(old.as_ref()) else {
            return;
        };
        let (kind, record, holder) = (any.kind, any.record.clone(), any.holder);
        let before = old.map(|a| a.json);
        let after = new.map(|a| a.json);
        if before.is_some() && before == after {
            return;
        }
        self.changes.push(Change {
            actor,
            kind,
            record,
            holder,
            before,
            after,
        });
    }

    /// Notes a change to a record that is not [`Indexed`] (a program, alert settings).
    pub(super) fn note_raw(
        &mut self,
        kind: &'static str,
        record: String,
        holder: Option<u64>,
        before: Option<String>,
        after: Option<String>,
    ) {
        if let Some(actor) = self.actor.clone()
            && before != after
        {
            self.changes.push(Change {
                actor,
                kind,
                record,
                holder,
                before,
                after,
            });
        }
    }

    /// Plans one history entry per noted change, under consecutive ids. Call once, after
    /// planning the changes.
    pub(super) fn append_history(&mut self, store: &SledStore) -> Result<()> {
        let changes = std::mem::take(&mut self.changes);
        if changes.is_empty() {
            return Ok(());
        }
        let first = store
            .tree(META)
            .get(NEXT_HISTORY)?
            .and_then(|v| read_id(&v))
            .unwrap_or(1);
        self.put_raw(META, NEXT_HISTORY, &id_key(first + changes.len() as u64));
        for (change, id) in changes.into_iter().zip(first..) {
            let action = match (&change.before, &change.after) {
                (None, _) => "create",
                (_, None) => "delete",
                _ => "update",
            };
            let entry = HistoryEntry {
                id,
                at: change.actor.at,
                token_id: change.actor.token_id,
                actor: change.actor.name.clone(),
                action: action.into(),
                kind: change.kind.into(),
                record: change.record,
                holder_id: change.holder,
                before: change.before,
                after: change.after,
            };
            self.put_record(None, &entry);
        }
        Ok(())
    }
}

impl SledStore {
    /// A page of the audit trail, oldest first: every entry, or one holder's.
    pub fn history(
        &self,
        holder: Option<u64>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<HistoryEntry>> {
        match holder {
            Some(h) => self.children(HISTORY_BY_HOLDER, HISTORY, h, after, limit),
            None => {
                let start = after.map_or(0, |a| a.saturating_add(1));
                let mut items = Vec::new();
                for entry in self.tree(HISTORY).range(id_key(start)..) {
                    let (_, value) = entry?;
                    if items.len() == limit {
                        let next = items
                            .last()
                            .map(|e: &HistoryEntry| Cursor::new(id_key(e.id).to_vec()));
                        return Ok(Page { items, next });
                    }
                    items.push(
                        super::keys::decode::<HistoryEntry>(&value).map_err(StoreError::Corrupt)?,
                    );
                }
                Ok(Page { items, next: None })
            }
        }
    }
}
