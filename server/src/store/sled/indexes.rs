//! The one definition of every index entry: which entries each primary record implies.
//!
//! Writes ([`WriteSet::put_record`], [`WriteSet::remove_record`]), import and `check`/`repair`
//! all derive index entries from here, so an index can only be written one way.

use super::history::{Audit, json_without};
use super::keys::{
    Record, course_day_key, dedupe_index_key, dues_key, expiry_key, id_key, pair_key, retry_key,
    zone_key,
};
use super::{
    ALERT_KEYS, ALERT_RETRY, ALERTS, ALERTS_BY_HOLDER, CHANNELS, CHANNELS_BY_HOLDER,
    CHANNELS_BY_TEAM, COURSE_BY_DAY, COURSE_BY_HOLDER, COURSES, CRED_BY_DUES, CRED_BY_EXPIRY,
    CRED_BY_HOLDER, CREDENTIALS, DIRTY_HOLDERS, HISTORY, HISTORY_BY_HOLDER, HOLDERS,
    HOLDERS_BY_DUE, HOLDERS_BY_ZONE, TEAMS, TOKENS, TOKENS_BY_HASH, WriteSet,
};
use crate::catalog::Competencies;
use crate::domain::{
    Alert, Channel, Course, Credential, HistoryEntry, Holder, IdKind, Team, Token, team_id,
    token_id,
};

/// An index entry: tree, key and value.
pub(super) type Entry = (usize, Vec<u8>, Vec<u8>);

/// A record kind kept in its own primary tree under its id, with the index entries it implies.
pub(crate) trait Indexed: Record {
    /// The primary tree.
    const TREE: usize;
    /// The record's id (its key in [`Indexed::TREE`]).
    fn id(&self) -> u64;
    /// Every index entry this record implies, given the competency programs in force (only a
    /// holder's entries depend on them).
    fn entries(&self, competencies: &Competencies) -> Vec<Entry>;
    /// The holder whose standing (compliance) this record decides, if any.
    fn standing_of(&self) -> Option<u64> {
        None
    }
    /// What the audit trail records of it; `None`: it is not audited.
    fn audit(&self) -> Option<Audit> {
        None
    }
}

fn mark(tree: usize, key: &[u8]) -> Entry {
    (tree, key.to_vec(), Vec::new())
}

impl Indexed for Holder {
    const TREE: usize = HOLDERS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, competencies: &Competencies) -> Vec<Entry> {
        let mut out = vec![mark(HOLDERS_BY_ZONE, &zone_key(&self.time_zone, self.id))];
        // The competency index: (due day, holder) for each tracked competency's next due day
        // under the program in force.
        for due in competencies.due_dates(self) {
            out.push(mark(HOLDERS_BY_DUE, &expiry_key(due, self.id)));
        }
        out
    }
    fn standing_of(&self) -> Option<u64> {
        Some(self.id)
    }
    fn audit(&self) -> Option<Audit> {
        Some(Audit {
            kind: "holder",
            record: IdKind::Holder.format(self.id),
            holder: Some(self.id),
            json: json_without(self, &[]),
        })
    }
}

impl Indexed for Credential {
    const TREE: usize = CREDENTIALS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        vec![
            mark(CRED_BY_HOLDER, &pair_key(self.holder_id, self.id)),
            mark(CRED_BY_EXPIRY, &expiry_key(self.expires_on, self.id)),
            // The dues index: (program, anniversary month, credential) -> holder, for every
            // credential whatever its program's dues (a local program's may change).
            (
                CRED_BY_DUES,
                dues_key(&self.program, crate::domain::dues_month(self), self.id),
                id_key(self.holder_id).to_vec(),
            ),
        ]
    }
    fn standing_of(&self) -> Option<u64> {
        Some(self.holder_id)
    }
    fn audit(&self) -> Option<Audit> {
        Some(Audit {
            kind: "credential",
            record: IdKind::Credential.format(self.id),
            holder: Some(self.holder_id),
            json: json_without(self, &[]),
        })
    }
}

impl Indexed for Course {
    const TREE: usize = COURSES;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        vec![
            mark(COURSE_BY_HOLDER, &pair_key(self.holder_id, self.id)),
            mark(
                COURSE_BY_DAY,
                &course_day_key(self.holder_id, self.completed_on, self.id),
            ),
        ]
    }
    fn standing_of(&self) -> Option<u64> {
        Some(self.holder_id)
    }
    fn audit(&self) -> Option<Audit> {
        Some(Audit {
            kind: "course",
            record: IdKind::Course.format(self.id),
            holder: Some(self.holder_id),
            json: json_without(self, &[]),
        })
    }
}

impl Indexed for Alert {
    const TREE: usize = ALERTS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        let mut out = vec![
            mark(ALERTS_BY_HOLDER, &pair_key(self.holder_id, self.id)),
            (
                ALERT_KEYS,
                dedupe_index_key(&self.dedupe_key()),
                id_key(self.id).to_vec(),
            ),
        ];
        if let Some(at) = self.next_attempt() {
            out.push(mark(ALERT_RETRY, &retry_key(at, self.id)));
        }
        out
    }
    fn audit(&self) -> Option<Audit> {
        Some(Audit {
            kind: "alert",
            record: IdKind::Alert.format(self.id),
            holder: Some(self.holder_id),
            // Deliveries name their targets (webhook URLs may be secrets) and change with
            // every attempt; the audit keeps the alert's own state.
            json: json_without(self, &["deliveries", "body"]),
        })
    }
}

impl Indexed for Channel {
    const TREE: usize = CHANNELS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        if self.team_id != 0 {
            vec![mark(CHANNELS_BY_TEAM, &pair_key(self.team_id, self.id))]
        } else {
            vec![mark(CHANNELS_BY_HOLDER, &pair_key(self.holder_id, self.id))]
        }
    }
    fn audit(&self) -> Option<Audit> {
        Some(Audit {
            kind: "channel",
            record: IdKind::Channel.format(self.id),
            holder: (self.team_id == 0).then_some(self.holder_id),
            json: json_without(self, &["secret"]),
        })
    }
}

impl Indexed for Token {
    const TREE: usize = TOKENS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        vec![(TOKENS_BY_HASH, self.hash.to_vec(), id_key(self.id).to_vec())]
    }
    fn audit(&self) -> Option<Audit> {
        let json = serde_json::json!({
            "id": token_id(self.id),
            "name": self.name,
            "role": self.role.as_str(),
            "holder_id": self.holder_id.map(|h| IdKind::Holder.format(h)),
            "expires_at": self.expires_at.map(|t| t.to_string()),
            "revoked_at": self.revoked_at.map(|t| t.to_string()),
        });
        Some(Audit {
            kind: "token",
            record: token_id(self.id),
            holder: self.holder_id,
            json: json.to_string(),
        })
    }
}

impl Indexed for Team {
    const TREE: usize = TEAMS;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        Vec::new()
    }
    fn audit(&self) -> Option<Audit> {
        let json = serde_json::json!({
            "id": team_id(self.id),
            "name": self.name,
            "member_ids": self.members.iter().map(|&h| IdKind::Holder.format(h)).collect::<Vec<_>>(),
            "lead_ids": self.leads.iter().map(|&h| IdKind::Holder.format(h)).collect::<Vec<_>>(),
        });
        Some(Audit {
            kind: "team",
            record: team_id(self.id),
            holder: None,
            json: json.to_string(),
        })
    }
}

impl Indexed for HistoryEntry {
    const TREE: usize = HISTORY;
    fn id(&self) -> u64 {
        self.id
    }
    fn entries(&self, _: &Competencies) -> Vec<Entry> {
        self.holder_id
            .map(|h| mark(HISTORY_BY_HOLDER, &pair_key(h, self.id)))
            .into_iter()
            .collect()
    }
}

impl WriteSet {
    /// Writes `new` with its index entries, replacing `old` (the stored version, if any):
    /// entries `old` implied that `new` does not are removed.
    pub(super) fn put_record<T: Indexed>(&mut self, old: Option<&T>, new: &T) {
        self.note(old, Some(new));
        let wanted = new.entries(&self.competencies);
        self.touched.extend(new.standing_of());
        if let Some(old) = old {
            self.touched.extend(old.standing_of());
            for (tree, key, _) in old.entries(&self.competencies) {
                if !wanted.iter().any(|(t, k, _)| *t == tree && *k == key) {
                    self.remove(tree, &key);
                }
            }
        }
        for (tree, key, value) in wanted {
            self.put_raw(tree, &key, &value);
        }
        if T::TREE == HOLDERS {
            // A holder written is evaluated at the next tick, whatever its competencies' days.
            self.mark(DIRTY_HOLDERS, &id_key(new.id()));
        }
        self.put(T::TREE, &id_key(new.id()), new);
    }

    /// Removes `old` and every index entry it implies.
    pub(super) fn remove_record<T: Indexed>(&mut self, old: &T) {
        self.note(Some(old), None);
        self.touched.extend(old.standing_of());
        for (tree, key, _) in old.entries(&self.competencies) {
            self.remove(tree, &key);
        }
        if T::TREE == HOLDERS {
            self.remove(DIRTY_HOLDERS, &id_key(old.id()));
        }
        self.remove(T::TREE, &id_key(old.id()));
    }
}
