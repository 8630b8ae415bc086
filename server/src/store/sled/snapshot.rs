//! The whole store at once, in sled: a raw snapshot of every record for export, and
//! [`Snapshots::restore`]'s writes, each record with the index entries it implies.
//!
//! **Consistency.** sled 0.34 has no point-in-time snapshots, and its iterators see writes
//! that land while they run, so [`SledStore::dump`] pauses writers instead: it takes the store's
//! write lock (every write plans and commits under it) and copies the raw key/value pairs
//! of the record trees. Copying `IVec`s is a reference-count bump or a small memcpy, so
//! writers wait for milliseconds, not for the client to read the dump; decoding and
//! formatting happen after the lock is released. Indexes are not exported: they are derived
//! and rebuilt by a restore. A restore plans under the same write lock, so the import rules
//! see the store exactly as the writes will find it.

use super::access::{NEXT_TEAM, NEXT_TOKEN};
use super::history::NEXT_HISTORY;
use super::keys::{decode, id_key, read_id};
use super::{
    ALERT_KEYS, ALERT_SETTINGS, ALERTS, CHANNELS, COMPETENCY_PROGRAMS, COURSES, CREDENTIALS, DIRTY,
    HISTORY, HOLDERS, META, META_DEFAULT_HOLDER, META_SCHEMA, PROGRAMS, Result, SettingsScope,
    SledStore, StoreError, TEAMS, TOKENS, WriteSet,
};
use crate::domain::{
    Alert, AlertSettings, Channel, Course, Credential, DedupeKey, HistoryEntry, Holder, Program,
    Team, Token, TokenHash,
};
use crate::store::{COUNTED, Dump, NextIds, RestorePlan, StoreView};
use jiff::Timestamp;

/// Decodes the values of raw pairs.
fn values<T: super::keys::Record>(pairs: Vec<(sled::IVec, sled::IVec)>) -> Result<Vec<T>> {
    pairs
        .iter()
        .map(|(_, v)| decode(v).map_err(StoreError::Corrupt))
        .collect()
}

/// The key of a settings scope, inverse of `SettingsScope::key`.
fn read_scope(key: &[u8]) -> Result<SettingsScope> {
    let bad = || StoreError::Corrupt("bad alert settings key".into());
    let text = std::str::from_utf8(key).map_err(|_| bad())?;
    let (kind, rest) = text.split_once('/').ok_or_else(bad)?;
    match kind {
        "p" => Ok(SettingsScope::Program(rest.to_string())),
        "h" => rest.parse().map(SettingsScope::Holder).map_err(|_| bad()),
        "c" => rest
            .parse()
            .map(SettingsScope::Credential)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

impl SledStore {
    /// Every record of the store as of one instant; writers wait while the raw records are
    /// copied (see the module docs).
    pub fn dump(&self) -> Result<Dump> {
        const TREES: [usize; 13] = [
            HOLDERS,
            PROGRAMS,
            CREDENTIALS,
            COURSES,
            CHANNELS,
            ALERT_SETTINGS,
            ALERTS,
            DIRTY,
            META,
            TOKENS,
            TEAMS,
            HISTORY,
            COMPETENCY_PROGRAMS,
        ];
        let raw: Vec<Vec<(sled::IVec, sled::IVec)>> = {
            let _guard = self
                .inner
                .write_lock
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            TREES
                .iter()
                .map(|&t| self.tree(t).iter().collect::<Result<Vec<_>, _>>())
                .collect::<Result<_, _>>()?
        };
        let mut raw = raw.into_iter();
        let mut next = || raw.next().unwrap_or_default();
        let mut dump = Dump {
            holders: values(next())?,
            programs: values(next())?,
            credentials: values(next())?,
            courses: values(next())?,
            channels: values(next())?,
            ..Dump::default()
        };

        for (key, value) in next() {
            dump.alert_settings.push((
                read_scope(&key)?,
                decode(&value).map_err(StoreError::Corrupt)?,
            ));
        }
        dump.alerts = values(next())?;
        for (key, _) in next() {
            let id = read_id(&key).ok_or_else(|| StoreError::Corrupt("bad dirty key".into()))?;
            dump.dirty_credentials.push(id);
        }
        for (key, value) in next() {
            if key.as_ref() == META_SCHEMA {
                dump.schema = value
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("schema version is unreadable".into()))?;
            } else if key.as_ref() == META_DEFAULT_HOLDER {
                dump.default_holder = read_id(&value);
            } else if let Some(noun) = key.strip_prefix(super::keys::NEXT_ID_PREFIX)
                && let Some(kind) = COUNTED.iter().find(|k| k.noun().as_bytes() == noun)
            {
                let n =
                    read_id(&value).ok_or_else(|| StoreError::Corrupt("bad id counter".into()))?;
                dump.next_ids.set(*kind, n);
            } else if let Some(zone) = key.strip_prefix(super::keys::LAST_TICK_PREFIX) {
                let at = read_id(&value)
                    .and_then(|s| Timestamp::from_second(s as i64).ok())
                    .ok_or_else(|| StoreError::Corrupt("bad last tick".into()))?;
                dump.last_ticks
                    .push((String::from_utf8_lossy(zone).into_owned(), at));
            }
        }
        dump.tokens = values(next())?;
        dump.teams = values(next())?;
        dump.history = values(next())?;
        dump.competency_programs = values(next())?;
        Ok(dump)
    }

    /// Runs `plan` under the write lock on the store as it stands, then writes the plan it
    /// returns in one transaction and waits until it is durable (see
    /// [`Snapshots::restore`](crate::store::Snapshots::restore)).
    pub async fn restore<T, E: From<StoreError>>(
        &self,
        plan: impl FnOnce(&dyn StoreView) -> std::result::Result<(RestorePlan, T), E>,
    ) -> std::result::Result<T, E> {
        self.write(|store, tx| match plan(store) {
            Ok((planned, answer)) => {
                tx.restore(store, planned)?;
                Ok(Ok(answer))
            }
            Err(e) => Ok(Err(e)),
        })
        .await?
    }
}

/// `meta` key present while a batched restore is under way: a store opened with it rolls
/// the restore back.
const RESTORE_PENDING: &[u8] = b"restore/pending";
/// Prefix of the undo journal of earlier builds in `meta`, one entry per key: the prefix,
/// the tree's index byte and the key; the value is `0` (the key was absent) or `1` and the
/// value it had. Only rolled back or dropped at open, never written.
const UNDO_PREFIX: &[u8] = b"restore/undo/";
/// Prefix of the undo journal of a batched restore in `meta`, one entry per batch: the
/// prefix and the batch's number (big-endian u64); the value lists what each key the batch
/// wrote held before it ([`encode_undo`]). Rolled back newest batch first, so a key that
/// several batches wrote ends with what it held before the first.
const BATCH_UNDO_PREFIX: &[u8] = b"restore/batch-undo/";
/// Batch entries rolled back or dropped per transaction (each up to a batch's keys).
const BATCH_UNDO_CHUNK: usize = 8;
/// Change versions are moved on by a rollback, never put back (a cache entry computed from
/// a batch must not look current again).
const VERSION_PREFIX: &[u8] = b"version/";
/// Undo entries removed per transaction by a rollback or the clean-up after a restore.
const UNDO_CHUNK: usize = 2000;

/// A batched restore on sled, under the write lock: each batch is one transaction that also
/// journals what its keys held before, so a failure (or a crash) puts the store back.
struct SledRestorer<'a> {
    store: &'a SledStore,
    /// Batches written so far (the next one's number in the journal).
    batches: u64,
}

/// The journal value of one batch: for each key, its tree's index byte, the key's length
/// (u32, big-endian) and the key, then `0` (absent) or `1`, the value's length and the value.
fn encode_undo(entries: &[(usize, &[u8], Option<sled::IVec>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tree, key, before) in entries {
        out.push(u8::try_from(*tree).expect("fewer than 256 trees"));
        out.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(key);
        match before {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

/// One key of a batch's journal entry: its tree, the key, what it held (`None`: absent).
type Undo = (usize, Vec<u8>, Option<Vec<u8>>);

/// The entries of [`encode_undo`]'s value.
fn decode_undo(mut bytes: &[u8]) -> Result<Vec<Undo>> {
    let bad = || StoreError::Corrupt("a malformed import undo journal entry".into());
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    fn len(bytes: &mut &[u8]) -> Option<usize> {
        let raw: [u8; 4] = take(bytes, 4)?.try_into().ok()?;
        usize::try_from(u32::from_be_bytes(raw)).ok()
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let tree = usize::from(take(&mut bytes, 1).ok_or_else(bad)?[0]);
        let n = len(&mut bytes).ok_or_else(bad)?;
        let key = take(&mut bytes, n).ok_or_else(bad)?.to_vec();
        let before = match take(&mut bytes, 1).ok_or_else(bad)?[0] {
            0 => None,
            1 => {
                let n = len(&mut bytes).ok_or_else(bad)?;
                Some(take(&mut bytes, n).ok_or_else(bad)?.to_vec())
            }
            _ => return Err(bad()),
        };
        out.push((tree, key, before));
    }
    Ok(out)
}

impl crate::store::Restorer for SledRestorer<'_> {
    fn view(&self) -> &dyn StoreView {
        self.store
    }

    /// Writes the batch and, in the same transaction, one journal entry with what each of
    /// its keys held before. Nothing of the journal is kept in memory across batches: a key
    /// that an earlier batch wrote is journaled again, and the rollback's order (newest
    /// batch first) puts back what it held before the first.
    fn write(&mut self, plan: RestorePlan) -> Result<()> {
        let mut set = WriteSet::over(self.store)?;
        set.actor = None;
        set.restore(self.store, plan)?;
        set.stamp_versions(self.store)?;
        let mut seen: std::collections::HashSet<(usize, &[u8])> = std::collections::HashSet::new();
        let mut befores = Vec::new();
        for (tree, key, _) in &set.ops {
            if !seen.insert((*tree, key.as_slice())) {
                continue;
            }
            befores.push((*tree, key.as_slice(), self.store.tree(*tree).get(key)?));
        }
        let entry = [BATCH_UNDO_PREFIX, &self.batches.to_be_bytes()[..]].concat();
        let mut ops = Vec::with_capacity(set.ops.len() + 2);
        ops.push((META, entry, Some(encode_undo(&befores))));
        drop(befores);
        drop(seen);
        if self.batches == 0 {
            ops.push((META, RESTORE_PENDING.to_vec(), Some(Vec::new())));
        }
        ops.extend(set.ops);
        self.store.apply(&ops)?;
        self.batches += 1;
        Ok(())
    }
}

impl SledStore {
    /// [`Snapshots::restore_batches`](crate::store::Snapshots::restore_batches) on sled:
    /// the job runs on a blocking thread under the write lock (readers do not take it).
    pub async fn restore_batches<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn crate::store::Restorer) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        if self.inner.commit.failed() {
            return Err(StoreError::WriteFailed.into());
        }
        let store = self.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let _guard = store
                .inner
                .write_lock
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut restorer = SledRestorer {
                store: &store,
                batches: 0,
            };
            let answer = job(&mut restorer);
            let wrote = restorer.batches > 0;
            match answer {
                Ok(answer) => {
                    if wrote {
                        store.end_restore(false)?;
                    }
                    Ok(answer)
                }
                Err(e) => {
                    if wrote {
                        store.end_restore(true)?;
                    }
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| StoreError::Storage(format!("the import task failed: {e}")))?;
        if answer.is_ok() {
            self.inner.commit.wait_durable().await?;
        }
        answer
    }

    /// Ends a batched restore: rolls its batches back (`undo`) or keeps them, then drops the
    /// journal. Under the write lock (or at open). Once the pending mark is gone the
    /// restore is kept; leftover journal entries are then only removed.
    fn end_restore(&self, undo: bool) -> Result<()> {
        let meta = self.tree(META);
        if !undo {
            let mut batch = sled::Batch::default();
            batch.remove(RESTORE_PENDING);
            meta.apply_batch(batch)?;
        }
        loop {
            // Newest first: each entry's befores and its removal in one transaction, so a
            // rollback cut off by a crash goes on from where it stopped.
            let mut entries: Vec<(sled::IVec, sled::IVec)> = Vec::new();
            let mut newest = meta.scan_prefix(BATCH_UNDO_PREFIX);
            while entries.len() < BATCH_UNDO_CHUNK {
                match newest.next_back() {
                    Some(pair) => entries.push(pair?),
                    None => break,
                }
            }
            drop(newest);
            if entries.is_empty() {
                break;
            }
            let mut ops: Vec<super::Op> = Vec::new();
            for (k, journal) in &entries {
                if undo {
                    for (tree, key, before) in decode_undo(journal)? {
                        self.undo_op(meta, tree, key, before, &mut ops)?;
                    }
                }
                ops.push((META, k.to_vec(), None));
                if undo {
                    // Later entries in this chunk are older batches: apply in order.
                    self.apply(&ops)?;
                    ops.clear();
                }
            }
            self.apply(&ops)?;
        }
        self.end_keyed_journal(undo)?;
        if undo {
            let mut batch = sled::Batch::default();
            batch.remove(RESTORE_PENDING);
            meta.apply_batch(batch)?;
        }
        self.inner.db.flush()?;
        Ok(())
    }

    /// The write that puts `key` of `tree` back to `before` (change versions are moved on
    /// instead); nothing for a key outside the trees.
    fn undo_op(
        &self,
        meta: &sled::Tree,
        tree: usize,
        key: Vec<u8>,
        before: Option<Vec<u8>>,
        ops: &mut Vec<super::Op>,
    ) -> Result<()> {
        if tree >= super::TREE_NAMES.len() {
            return Ok(());
        }
        if tree == META && key.starts_with(VERSION_PREFIX) {
            let now = meta.get(&key)?.and_then(|v| read_id(&v)).unwrap_or(0);
            ops.push((META, key, Some(id_key(now + 1).to_vec())));
        } else {
            ops.push((tree, key, before));
        }
        Ok(())
    }

    /// Rolls back (`undo`) or drops the per-key journal an earlier build left.
    fn end_keyed_journal(&self, undo: bool) -> Result<()> {
        let meta = self.tree(META);
        loop {
            let entries: Vec<(sled::IVec, sled::IVec)> = meta
                .scan_prefix(UNDO_PREFIX)
                .take(UNDO_CHUNK)
                .collect::<std::result::Result<_, _>>()?;
            if entries.is_empty() {
                break;
            }
            let mut ops: Vec<super::Op> = Vec::with_capacity(entries.len() * 2);
            for (k, before) in &entries {
                ops.push((META, k.to_vec(), None));
                if !undo {
                    continue;
                }
                let rest = &k[UNDO_PREFIX.len()..];
                let Some((&tree, key)) = rest.split_first() else {
                    continue;
                };
                let value = match before.split_first() {
                    Some((1, v)) => Some(v.to_vec()),
                    _ => None,
                };
                self.undo_op(meta, usize::from(tree), key.to_vec(), value, &mut ops)?;
            }
            self.apply(&ops)?;
        }
        Ok(())
    }

    /// At open: rolls back a batched restore that a crash interrupted, and drops the journal
    /// of one that ended.
    pub(super) fn recover_restore(&self) -> Result<()> {
        let meta = self.tree(META);
        let pending = meta.contains_key(RESTORE_PENDING)?;
        if pending {
            tracing::warn!("an import was interrupted before it ended: rolling it back");
            self.end_restore(true)?;
        } else if meta.scan_prefix(UNDO_PREFIX).next().is_some()
            || meta.scan_prefix(BATCH_UNDO_PREFIX).next().is_some()
        {
            self.end_restore(false)?;
        }
        Ok(())
    }
}

impl WriteSet {
    /// The writes of a restore: records with their index entries, the default holder, last
    /// ticks, changed-credential marks and counters.
    fn restore(&mut self, store: &SledStore, plan: RestorePlan) -> Result<()> {
        // Competency programs first: the holders' index entries derive from them.
        for p in &plan.competency_programs {
            self.put(COMPETENCY_PROGRAMS, p.slug.as_bytes(), p);
            let mut local = self.competencies.local().to_vec();
            local.retain(|l| l.slug != p.slug);
            local.push(p.clone());
            store.reindex_competencies(self, local, &p.slug)?;
        }
        for h in &plan.holders {
            self.put_record(None, h);
        }
        if let Some(default) = plan.default_holder {
            self.put_raw(META, META_DEFAULT_HOLDER, &id_key(default));
        }
        for p in &plan.programs {
            self.put(PROGRAMS, p.slug.as_bytes(), p);
        }
        for c in &plan.credentials {
            self.put_record(None, c);
        }
        for c in &plan.courses {
            self.put_record(None, c);
        }
        // Replaced records: the old record's index entries go, the new one's come.
        for (before, after) in &plan.replaced_holders {
            self.put_record(Some(before), after);
        }
        for (before, after) in &plan.replaced_credentials {
            self.put_record(Some(before), after);
        }
        for (before, after) in &plan.replaced_courses {
            self.put_record(Some(before), after);
        }
        for c in &plan.channels {
            self.put_record(None, c);
        }
        for (scope, settings) in &plan.alert_settings {
            self.put(ALERT_SETTINGS, &super::keys::settings_key(scope), settings);
        }
        for a in &plan.alerts {
            self.put_record(None, a);
        }
        for (zone, at) in &plan.last_ticks {
            let key = super::keys::last_tick_key(zone);
            self.put_raw(META, &key, &id_key(at.as_second() as u64));
        }
        for id in &plan.dirty_credentials {
            self.mark(DIRTY, &id_key(*id));
        }
        for (kind, next) in &plan.counters {
            self.put_raw(META, &super::keys::next_id_key(*kind), &id_key(*next));
        }
        let counter = |key: &[u8]| -> Result<u64> {
            Ok(store
                .tree(META)
                .get(key)?
                .and_then(|v| read_id(&v))
                .unwrap_or(1))
        };
        if let Some(top) = plan.tokens.iter().map(|t| t.id).max() {
            for t in &plan.tokens {
                self.put_record(None, t);
            }
            let next = counter(NEXT_TOKEN)?.max(top + 1);
            self.put_raw(META, NEXT_TOKEN, &id_key(next));
        }
        if let Some(top) = plan.teams.iter().map(|t| t.id).max() {
            for t in &plan.teams {
                self.put_record(None, t);
            }
            let next = counter(NEXT_TEAM)?.max(top + 1);
            self.put_raw(META, NEXT_TEAM, &id_key(next));
        }
        for (before, after) in &plan.changed_teams {
            self.put_record(Some(before), after);
        }
        if !plan.history.is_empty() {
            let kept = plan.history.iter().map(|e| e.id).max().unwrap_or(0);
            let mut next = counter(NEXT_HISTORY)?.max(kept + 1);
            for e in plan.history {
                let e = if e.id == 0 {
                    next += 1;
                    HistoryEntry { id: next - 1, ..e }
                } else {
                    e
                };
                self.put_record(None, &e);
            }
            self.put_raw(META, NEXT_HISTORY, &id_key(next));
        }
        Ok(())
    }
}

impl StoreView for SledStore {
    fn holder(&self, id: u64) -> Result<Option<Holder>> {
        self.get(HOLDERS, &id_key(id))
    }
    fn has_holder(&self, id: u64) -> Result<bool> {
        Ok(self.tree(HOLDERS).contains_key(id_key(id))?)
    }
    fn default_holder(&self) -> Result<Option<u64>> {
        self.default_holder_id()
    }
    fn local_program(&self, slug: &str) -> Result<Option<Program>> {
        SledStore::local_program(self, slug)
    }
    fn competency_program(&self, slug: &str) -> Result<Option<crate::domain::CompetencyProgram>> {
        self.get(COMPETENCY_PROGRAMS, slug.as_bytes())
    }
    fn credential(&self, id: u64) -> Result<Option<Credential>> {
        self.get(CREDENTIALS, &id_key(id))
    }
    fn has_credential(&self, id: u64) -> Result<bool> {
        Ok(self.tree(CREDENTIALS).contains_key(id_key(id))?)
    }
    fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>> {
        SledStore::credentials_of(self, holder)
    }
    fn course(&self, id: u64) -> Result<Option<Course>> {
        self.get(COURSES, &id_key(id))
    }
    fn courses_of(&self, holder: u64) -> Result<Vec<Course>> {
        SledStore::courses_of(self, holder)
    }
    fn channel(&self, id: u64) -> Result<Option<Channel>> {
        self.get(CHANNELS, &id_key(id))
    }
    fn channels_of(&self, holder: u64) -> Result<Vec<Channel>> {
        SledStore::channels_of(self, holder)
    }
    fn alert_settings(&self, scope: &SettingsScope) -> Result<Option<AlertSettings>> {
        self.get(ALERT_SETTINGS, &super::keys::settings_key(scope))
    }
    fn alert(&self, id: u64) -> Result<Option<Alert>> {
        self.get(ALERTS, &id_key(id))
    }
    fn alert_with_key(&self, key: &DedupeKey) -> Result<Option<u64>> {
        Ok(self
            .tree(ALERT_KEYS)
            .get(super::keys::dedupe_index_key(key))?
            .and_then(|v| read_id(&v)))
    }
    fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        SledStore::last_tick(self, zone)
    }
    fn is_dirty(&self, credential: u64) -> Result<bool> {
        Ok(self.tree(DIRTY).contains_key(id_key(credential))?)
    }
    fn token(&self, id: u64) -> Result<Option<Token>> {
        self.get(TOKENS, &id_key(id))
    }
    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<Token>> {
        SledStore::token_by_hash(self, *hash)
    }
    fn next_token_id(&self) -> Result<u64> {
        Ok(self
            .tree(META)
            .get(NEXT_TOKEN)?
            .and_then(|v| read_id(&v))
            .unwrap_or(1))
    }
    fn team(&self, id: u64) -> Result<Option<Team>> {
        self.get(TEAMS, &id_key(id))
    }
    fn team_named(&self, name: &str) -> Result<Option<Team>> {
        Ok(self.teams()?.into_iter().find(|t| t.name == name))
    }
    fn history_entry(&self, id: u64) -> Result<Option<HistoryEntry>> {
        self.get(HISTORY, &id_key(id))
    }
    fn next_ids(&self) -> Result<NextIds> {
        let mut next = NextIds::default();
        for kind in COUNTED {
            if let Some(n) = self
                .tree(META)
                .get(super::keys::next_id_key(kind))?
                .and_then(|v| read_id(&v))
            {
                next.set(kind, n);
            }
        }
        Ok(next)
    }
}
