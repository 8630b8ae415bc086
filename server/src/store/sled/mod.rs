//! The sled engine: one tree per record kind, index trees, one transaction per request, and
//! writes acknowledged only once durable (group commit).
//!
//! Nothing outside `store/` names sled: the rest of the daemon uses [`SledStore`]'s typed
//! methods, so the engine can change.

mod access;
mod after;
mod alerts;
mod check;
mod migrate;
mod snapshot;
use crate::store::SettingsScope;
pub use check::CheckReport;
mod commit;
mod encoding;
mod history;
mod indexes;
mod keys;
mod port;

pub(crate) use history::{Audit, json_without};
pub(crate) use indexes::Indexed;
pub(crate) use keys::{Record as StoredRecord, decode as decode_value, encode as encode_value};

use crate::domain::{Actor, CompetencyProgram, Course, Credential, Holder, IdKind, Program};
use crate::store::{AlertsAfter, Conflict, Cursor, Page, Result, StoreError, Version};
use commit::{CommitQueue, CourseAnswer, CourseJob};
use jiff::civil::Date;
use keys::{Record, decode, encode, expiry_key, id_key, pair_key, read_date, read_id};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Schema version this build writes and reads (older ones are migrated at open).
pub const SCHEMA_VERSION: u32 = migrate::SCHEMA_VERSION;

const META_SCHEMA: &[u8] = b"schema_version";
const META_DEFAULT_HOLDER: &[u8] = b"default_holder";

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

fn not_found(kind: IdKind, id: u64) -> StoreError {
    StoreError::not_found(kind, id)
}

/// Tuning of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The indexes of the store, positions in [`SledStore::trees`].
const HOLDERS: usize = 0;
const CREDENTIALS: usize = 1;
const COURSES: usize = 2;
const PROGRAMS: usize = 3;
const CRED_BY_HOLDER: usize = 4;
const COURSE_BY_HOLDER: usize = 5;
const CRED_BY_EXPIRY: usize = 6;
const META: usize = 7;
const ALERTS: usize = 8;
const ALERT_KEYS: usize = 9;
const ALERTS_BY_HOLDER: usize = 10;
const ALERT_RETRY: usize = 11;
const CHANNELS: usize = 12;
const CHANNELS_BY_HOLDER: usize = 13;
const ALERT_SETTINGS: usize = 14;
const DIRTY: usize = 15;
const HOLDERS_BY_ZONE: usize = 16;
const TOKENS: usize = 17;
const TOKENS_BY_HASH: usize = 18;
const TEAMS: usize = 19;
const HISTORY: usize = 20;
const HISTORY_BY_HOLDER: usize = 21;
const COURSE_BY_DAY: usize = 22;
const HOLDERS_BY_DUE: usize = 23;
const CRED_BY_DUES: usize = 24;
const DIRTY_HOLDERS: usize = 25;
const CHANNELS_BY_TEAM: usize = 26;
const COMPETENCY_PROGRAMS: usize = 27;
/// The sled trees, in the order of the tree indexes above (`HOLDERS` = 0, ...).
pub const TREE_NAMES: [&str; 28] = [
    "holders",
    "credentials",
    "courses",
    "programs",
    "idx_credential_by_holder",
    "idx_course_by_holder",
    "idx_credential_by_expiry",
    "meta",
    "alerts",
    "idx_alert_by_key",
    "idx_alert_by_holder",
    "idx_alert_retry",
    "channels",
    "idx_channel_by_holder",
    "alert_settings",
    "dirty_credentials",
    "idx_holder_by_zone",
    "tokens",
    "idx_token_by_hash",
    "teams",
    "history",
    "idx_history_by_holder",
    "idx_course_by_day",
    "idx_holder_by_due",
    "idx_credential_by_dues",
    "dirty_holders",
    "idx_channel_by_team",
    "competency_programs",
];

/// Opens sled. Our own lock file already keeps other processes out, so sled's own lock can
/// only be held by this process's previous `Db`, which sled releases from a background thread
/// after it is dropped (sled#1234): that one error is retried for up to two seconds.
fn open_sled(path: &Path, cache_bytes: u64) -> sled::Result<sled::Db> {
    let config = sled::Config::new().path(path).cache_capacity(cache_bytes);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The position of `credential` in the expiry index, as a page cursor for [`SledStore::expiring`].
pub fn expiry_cursor(credential: &Credential) -> Cursor {
    Cursor::new(expiry_key(credential.expires_on, credential.id).to_vec())
}

/// The recert store. Cheap to clone.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
    /// Who this handle's writes are by: each of them appends history entries naming it.
    actor: Option<Arc<Actor>>,
    /// Run inside each write that touches a holder's standing (see
    /// [`crate::store::Store::with_alerts_after`]).
    after: Option<Arc<dyn AlertsAfter>>,
}

struct Inner {
    db: sled::Db,
    trees: Vec<Tree>,
    /// Serialises writers: a write's reads, checks and transaction happen under it.
    write_lock: Mutex<()>,
    /// Jobs for the committer thread (see `commit.rs`): new courses, and writers waiting
    /// until their write is durable.
    commit: Arc<CommitQueue>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    _lock_file: std::fs::File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropped without `close`: let the committer thread end.
        self.commit.stop();
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

/// The writes of one request, applied together in one sled transaction.
///
/// Checks read the trees *before* the transaction (under the store's write lock, so nothing
/// changes in between): sled 0.34 deadlocks when a tree is read non-transactionally while a
/// transaction over it runs.
#[derive(Default)]
struct WriteSet {
    ops: Vec<Op>,
    /// Holders whose standing the planned writes change (their versions move).
    touched: std::collections::BTreeSet<u64>,
    /// Who makes the records' changes planned next (none: they leave no history).
    actor: Option<Arc<Actor>>,
    /// The changes to records planned so far, for the audit trail.
    changes: Vec<history::Change>,
    /// The competency programs in force as planned so far (what a holder's competency index
    /// entries derive from).
    competencies: crate::catalog::Competencies,
}

/// One planned write: tree, key, and the new value (`None` removes the key).
type Op = (usize, Vec<u8>, Option<Vec<u8>>);

impl WriteSet {
    /// An empty plan over `store` as it stands (its competency programs in force read).
    fn over(store: &SledStore) -> Result<WriteSet> {
        Ok(WriteSet {
            actor: store.actor.clone(),
            competencies: crate::catalog::Competencies::new(store.stored_competencies()?),
            ..WriteSet::default()
        })
    }

    /// Adds the writes that move the change versions: the programs' version when a local
    /// program changes, and each touched holder's. Call once, after planning.
    fn stamp_versions(&mut self, store: &SledStore) -> Result<()> {
        let mut keys: Vec<Vec<u8>> = std::mem::take(&mut self.touched)
            .into_iter()
            .map(keys::holder_version_key)
            .collect();
        if self.ops.iter().any(|(tree, _, _)| *tree == PROGRAMS) {
            keys.push(keys::VERSION_PROGRAMS.to_vec());
        }
        for key in keys {
            let now = store
                .tree(META)
                .get(&key)?
                .and_then(|v| read_id(&v))
                .unwrap_or(0);
            self.put_raw(META, &key, &id_key(now + 1));
        }
        Ok(())
    }

    fn put<T: Record>(&mut self, tree: usize, key: &[u8], value: &T) {
        self.ops.push((tree, key.to_vec(), Some(encode(value))));
    }

    fn put_raw(&mut self, tree: usize, key: &[u8], value: &[u8]) {
        self.ops.push((tree, key.to_vec(), Some(value.to_vec())));
    }

    fn mark(&mut self, tree: usize, key: &[u8]) {
        self.put_raw(tree, key, &[]);
    }

    fn remove(&mut self, tree: usize, key: &[u8]) {
        self.ops.push((tree, key.to_vec(), None));
    }

    /// Takes the next id of `kind` from its counter in `meta`.
    fn next_id(&mut self, store: &SledStore, kind: IdKind) -> Result<u64> {
        self.reserve_ids(store, kind, 1)
    }

    /// Reserves `n` consecutive ids of `kind`; returns the first. Call at most once per kind
    /// per write set: the counter is read from the store, not from this set.
    fn reserve_ids(&mut self, store: &SledStore, kind: IdKind, n: u64) -> Result<u64> {
        let key = keys::next_id_key(kind);
        let next = store
            .tree(META)
            .get(&key)?
            .and_then(|v| read_id(&v))
            .unwrap_or(1);
        self.put_raw(META, &key, &id_key(next + n));
        Ok(next)
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, taking an exclusive lock on it. Must be called
    /// inside a tokio runtime: it starts the group-commit flusher.
    pub fn open(dir: &Path, options: &StoreOptions) -> Result<SledStore> {
        let open_err = |detail: String| StoreError::Open {
            dir: dir.to_path_buf(),
            detail,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(format!("cannot create it: {e}")))?;
        let lock_path = dir.join("recertd.lock");
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| open_err(format!("cannot open {}: {e}", lock_path.display())))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(open_err(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }
        let existed = dir.join("db").join("db").exists();
        let db =
            open_sled(&dir.join("db"), options.cache_bytes).map_err(|e| open_err(e.to_string()))?;
        let trees = TREE_NAMES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| open_err(e.to_string()))?;
        migrate::prepare(dir, &db, &trees, existed)?;
        let store = SledStore {
            actor: None,
            after: None,
            inner: Arc::new(Inner {
                db,
                trees,
                write_lock: Mutex::new(()),
                commit: Arc::new(CommitQueue::default()),
                committer: Mutex::new(None),
                _lock_file: lock_file,
            }),
        };
        // The committer holds a weak reference so that dropping every handle still closes
        // sled (tests reopen a data dir after dropping a store without `close`).
        let weak = Arc::downgrade(&store.inner);
        let queue = store.inner.commit.clone();
        let committer = std::thread::Builder::new()
            .name("recert-commit".into())
            .spawn(move || commit::committer(&weak, &queue))
            .map_err(|e| open_err(format!("cannot start the committer thread: {e}")))?;
        *store
            .inner
            .committer
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(committer);
        store.recover_restore()?;
        Ok(store)
    }

    /// The change version of `holder`'s standing, as stored: equal versions mean nothing
    /// that decides the holder's standing was written in between. Read it before reading
    /// the records an answer is computed from.
    pub fn version(&self, holder: u64) -> Result<Version> {
        let read = |key: &[u8]| -> Result<u64> {
            Ok(self
                .tree(META)
                .get(key)?
                .and_then(|v| read_id(&v))
                .unwrap_or(0))
        };
        Ok(Version {
            programs: read(keys::VERSION_PROGRAMS)?,
            holder: read(&keys::holder_version_key(holder))?,
        })
    }

    /// Writes what is queued, stops the committer thread and flushes everything to disk.
    /// Call once, after the last write.
    pub async fn close(&self) -> Result<()> {
        self.inner.commit.stop();
        let committer = self
            .inner
            .committer
            .lock()
            .map(|mut h| h.take())
            .unwrap_or(None);
        if let Some(committer) = committer {
            let _ = tokio::task::spawn_blocking(move || committer.join()).await;
        }
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Storage(e.to_string()))??;
        Ok(())
    }

    /// Checks every record and index; changes nothing.
    pub fn check(&self) -> Result<CheckReport> {
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        check::check(&self.inner.trees)
    }

    /// Rebuilds the indexes, id counters and default holder from the primary records, then
    /// checks again.
    pub fn repair(&self) -> Result<CheckReport> {
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let report = check::repair(&self.inner.trees)?;
        self.inner.db.flush()?;
        Ok(report)
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> Result<u32> {
        let v = self.tree(META).get(META_SCHEMA)?;
        Ok(
            v.and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0),
        )
    }

    fn tree(&self, index: usize) -> &Tree {
        &self.inner.trees[index]
    }

    /// Takes the write lock from an async task. An import holds it for as long as it runs,
    /// so a writer waiting for it must not hold up its runtime thread (and the readers
    /// scheduled there): on a multi-threaded runtime the wait is moved off it.
    fn lock_for_write(&self) -> std::sync::MutexGuard<'_, ()> {
        let lock = || {
            self.inner
                .write_lock
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if let Ok(guard) = self.inner.write_lock.try_lock() {
            return guard;
        }
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(lock),
            _ => lock(),
        }
    }

    /// Runs `f` under the write lock to check and plan a change, applies the planned writes
    /// (with the change versions they move) in one transaction over the trees they touch,
    /// then waits until they are durable.
    async fn write<R>(&self, f: impl FnOnce(&SledStore, &mut WriteSet) -> Result<R>) -> Result<R> {
        if self.inner.commit.failed() {
            return Err(StoreError::WriteFailed);
        }
        let result = {
            let _guard = self.lock_for_write();
            let mut set = WriteSet::over(self)?;
            let result = f(self, &mut set)?;
            if let Some(after) = &self.after {
                self.plan_alerts_after(after.as_ref(), &mut set)?;
            }
            set.append_history(self)?;
            set.stamp_versions(self)?;
            self.apply(&set.ops)?;
            result
        };
        self.inner.commit.wait_durable().await?;
        Ok(result)
    }

    /// Applies `ops` in one sled transaction over just the trees they touch (a transaction's
    /// cost grows with the trees it spans). Call under the write lock.
    fn apply(&self, ops: &[Op]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut slot = [usize::MAX; TREE_NAMES.len()];
        let mut touched: Vec<&Tree> = Vec::new();
        for (tree, _, _) in ops {
            if slot[*tree] == usize::MAX {
                slot[*tree] = touched.len();
                touched.push(self.tree(*tree));
            }
        }
        if let [tree] = touched[..] {
            // One tree: a batch is atomic too (sled writes a batch manifest, so recovery
            // applies all of it or none), and costs less than a transaction.
            let mut batch = sled::Batch::default();
            for (_, key, value) in ops {
                match value {
                    Some(v) => batch.insert(key.as_slice(), v.as_slice()),
                    None => batch.remove(key.as_slice()),
                }
            }
            tree.apply_batch(batch)?;
            return Ok(());
        }
        touched[..].transaction(|trees: &Vec<TransactionalTree>| {
            for (tree, key, value) in ops {
                let t = &trees[slot[*tree]];
                match value {
                    Some(v) => t.insert(key.as_slice(), v.as_slice())?,
                    None => t.remove(key.as_slice())?,
                };
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    fn get<T: Record>(&self, tree: usize, key: &[u8]) -> Result<Option<T>> {
        match self.tree(tree).get(key)? {
            Some(bytes) => decode(&bytes).map(Some).map_err(StoreError::Corrupt),
            None => Ok(None),
        }
    }

    /// Reads the records `primary` that `index` lists under `parent`, after `after`.
    fn children<T: Record>(
        &self,
        index: usize,
        primary: usize,
        parent: u64,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<T>> {
        let start = pair_key(parent, after.map_or(0, |a| a.saturating_add(1)));
        let end = pair_key(parent, u64::MAX);
        let mut items = Vec::new();
        let mut last = None;
        for entry in self.tree(index).range(start..=end) {
            let (key, _) = entry?;
            let child =
                read_id(&key[8..]).ok_or_else(|| StoreError::Corrupt("bad index key".into()))?;
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next: last.map(|id: u64| Cursor::new(id_key(id).to_vec())),
                });
            }
            let record = self.get::<T>(primary, &id_key(child))?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "index {} points at a missing {} {child}",
                    TREE_NAMES[index],
                    T::KIND
                ))
            })?;
            items.push(record);
            last = Some(child);
        }
        Ok(Page { items, next: None })
    }

    // ----- holders -----

    /// Creates a holder with a new id; the first holder becomes the default.
    pub async fn create_holder(&self, holder: Holder) -> Result<Holder> {
        self.write(|store, tx| {
            let mut holder = holder.clone();
            holder.id = tx.next_id(store, IdKind::Holder)?;
            tx.put_record(None, &holder);
            if store.default_holder_id()?.is_none() {
                tx.put_raw(META, META_DEFAULT_HOLDER, &id_key(holder.id));
            }
            Ok(holder)
        })
        .await
    }

    /// A holder by id.
    pub fn holder(&self, id: u64) -> Result<Holder> {
        self.get(HOLDERS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Holder, id))
    }

    /// The default holder's id, if any holder exists.
    pub fn default_holder_id(&self) -> Result<Option<u64>> {
        Ok(self
            .tree(META)
            .get(META_DEFAULT_HOLDER)?
            .and_then(|v| read_id(&v)))
    }

    /// Holders in id order, after `after`.
    pub fn list_holders(&self, after: Option<u64>, limit: usize) -> Result<Page<Holder>> {
        let start = id_key(after.map_or(0, |a| a.saturating_add(1)));
        let mut items = Vec::new();
        for entry in self.tree(HOLDERS).range(start..) {
            let (_, value) = entry?;
            if items.len() == limit {
                let next = items
                    .last()
                    .map(|h: &Holder| Cursor::new(id_key(h.id).to_vec()));
                return Ok(Page { items, next });
            }
            items.push(decode::<Holder>(&value).map_err(StoreError::Corrupt)?);
        }
        Ok(Page { items, next: None })
    }

    /// Replaces a holder; optionally makes it the default.
    pub async fn update_holder(&self, holder: Holder, make_default: bool) -> Result<Holder> {
        self.write(|store, tx| {
            let old = store.holder(holder.id)?;
            tx.put_record(Some(&old), &holder);
            if make_default {
                tx.put_raw(META, META_DEFAULT_HOLDER, &id_key(holder.id));
            }
            Ok(holder.clone())
        })
        .await
    }

    /// Deletes a holder; with `force` also their credentials and courses, else refuses if
    /// they have any. If it was the default, the lowest remaining id becomes the default.
    pub async fn delete_holder(&self, id: u64, force: bool) -> Result<()> {
        self.write(|store, tx| {
            let old = store.holder(id)?;
            let creds = store.credentials_of(id)?;
            let courses = store.courses_of(id)?;
            if !force && (!creds.is_empty() || !courses.is_empty()) {
                return Err(StoreError::Conflict(Conflict::HolderHasRecords {
                    holder: id,
                    credentials: creds.len(),
                    courses: courses.len(),
                }));
            }
            for c in &creds {
                tx.remove_record(c);
            }
            for c in &courses {
                tx.remove_record(c);
            }
            tx.remove_record(&old);
            store.plan_delete_alert_state(tx, id, &creds)?;
            if store.default_holder_id()? == Some(id) {
                let next = store
                    .tree(HOLDERS)
                    .iter()
                    .keys()
                    .filter_map(|k| k.ok().and_then(|k| read_id(&k)))
                    .find(|&other| other != id);
                match next {
                    Some(other) => tx.put_raw(META, META_DEFAULT_HOLDER, &id_key(other)),
                    None => tx.remove(META, META_DEFAULT_HOLDER),
                }
            }
            Ok(())
        })
        .await
    }

    // ----- programs (local: custom programs and overrides of built-in ones) -----

    /// A local program by slug.
    pub fn local_program(&self, slug: &str) -> Result<Option<Program>> {
        self.get(PROGRAMS, slug.as_bytes())
    }

    /// Every local program, by slug.
    pub fn local_programs(&self) -> Result<Vec<Program>> {
        self.tree(PROGRAMS)
            .iter()
            .values()
            .map(|v| decode(&v?).map_err(StoreError::Corrupt))
            .collect()
    }

    /// Stores a local program. `create` refuses an existing local program of that slug;
    /// otherwise one must exist.
    pub async fn put_program(&self, program: Program, create: bool) -> Result<Program> {
        self.write(|store, tx| {
            let exists = store.local_program(&program.slug)?.is_some();
            if create && exists {
                return Err(StoreError::Conflict(Conflict::ProgramExists(
                    program.slug.clone(),
                )));
            }
            if !create && !exists {
                return Err(StoreError::ProgramNotFound(program.slug.clone()));
            }
            let json = |p: &Program| history::json_without(p, &[]);
            let before = store.local_program(&program.slug)?.as_ref().map(json);
            tx.note_raw(
                "program",
                program.slug.clone(),
                None,
                before,
                Some(json(&program)),
            );
            tx.put(PROGRAMS, program.slug.as_bytes(), &program);
            Ok(program.clone())
        })
        .await
    }

    /// Deletes a local program. `in_use_blocks` refuses when a credential uses the slug
    /// (a custom program; an override falls back to the built-in one).
    pub async fn delete_program(&self, slug: &str, in_use_blocks: bool) -> Result<()> {
        self.write(|store, tx| {
            let Some(old) = store.local_program(slug)? else {
                return Err(StoreError::ProgramNotFound(slug.to_string()));
            };
            tx.note_raw(
                "program",
                slug.to_string(),
                None,
                Some(history::json_without(&old, &[])),
                None,
            );
            if in_use_blocks {
                let users = store.count_credentials_of_program(slug)?;
                if users > 0 {
                    return Err(StoreError::Conflict(Conflict::ProgramInUse {
                        slug: slug.to_string(),
                        users,
                    }));
                }
            }
            tx.remove(PROGRAMS, slug.as_bytes());
            Ok(())
        })
        .await
    }

    /// Every stored competency program, by slug.
    pub fn stored_competencies(&self) -> Result<Vec<CompetencyProgram>> {
        self.tree(COMPETENCY_PROGRAMS)
            .iter()
            .values()
            .map(|v| decode(&v?).map_err(StoreError::Corrupt))
            .collect()
    }

    /// Stores a competency program (see [`crate::store::Records::put_competency_program`]).
    pub async fn put_competency_program(
        &self,
        program: CompetencyProgram,
        create: bool,
    ) -> Result<CompetencyProgram> {
        self.write(|store, tx| {
            let before: Option<CompetencyProgram> =
                store.get(COMPETENCY_PROGRAMS, program.slug.as_bytes())?;
            if create && before.is_some() {
                return Err(StoreError::Conflict(Conflict::CompetencyProgramExists(
                    program.slug.clone(),
                )));
            }
            if !create && before.is_none() {
                return Err(StoreError::CompetencyProgramNotFound(program.slug.clone()));
            }
            let json = |p: &CompetencyProgram| history::json_without(p, &[]);
            tx.note_raw(
                "competency program",
                program.slug.clone(),
                None,
                before.as_ref().map(json),
                Some(json(&program)),
            );
            tx.put(COMPETENCY_PROGRAMS, program.slug.as_bytes(), &program);
            let mut local = store.stored_competencies()?;
            local.retain(|p| p.slug != program.slug);
            local.push(program.clone());
            store.reindex_competencies(tx, local, &program.slug)?;
            Ok(program.clone())
        })
        .await
    }

    /// Deletes a stored competency program (see
    /// [`crate::store::Records::delete_competency_program`]).
    pub async fn delete_competency_program(&self, slug: &str, in_use_blocks: bool) -> Result<()> {
        self.write(|store, tx| {
            let Some(old) = store.get::<CompetencyProgram>(COMPETENCY_PROGRAMS, slug.as_bytes())?
            else {
                return Err(StoreError::CompetencyProgramNotFound(slug.to_string()));
            };
            if in_use_blocks {
                let holders = store.holders_assessed_on(slug)?.len();
                if holders > 0 {
                    return Err(StoreError::Conflict(Conflict::CompetencyProgramInUse {
                        slug: slug.to_string(),
                        holders,
                    }));
                }
            }
            tx.note_raw(
                "competency program",
                slug.to_string(),
                None,
                Some(history::json_without(&old, &[])),
                None,
            );
            tx.remove(COMPETENCY_PROGRAMS, slug.as_bytes());
            let mut local = store.stored_competencies()?;
            local.retain(|p| p.slug != slug);
            store.reindex_competencies(tx, local, slug)
        })
        .await
    }

    /// The holders with a skill on competency program `slug`.
    fn holders_assessed_on(&self, slug: &str) -> Result<Vec<Holder>> {
        let mut out = Vec::new();
        for v in self.tree(HOLDERS).iter().values() {
            let h: Holder = decode(&v?).map_err(StoreError::Corrupt)?;
            if h.competencies.iter().any(|s| s.program == slug) {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// Puts `local` in force in `tx` and rewrites the index entries of every holder with a
    /// skill on `slug` (the program whose schedule changed); each is marked for the tick.
    fn reindex_competencies(
        &self,
        tx: &mut WriteSet,
        local: Vec<CompetencyProgram>,
        slug: &str,
    ) -> Result<()> {
        let holders = self.holders_assessed_on(slug)?;
        let old = std::mem::replace(
            &mut tx.competencies,
            crate::catalog::Competencies::new(local),
        );
        for holder in &holders {
            let before = indexes::Indexed::entries(holder, &old);
            let after = indexes::Indexed::entries(holder, &tx.competencies);
            for (tree, key, _) in &before {
                if !after.iter().any(|(t, k, _)| t == tree && k == key) {
                    tx.remove(*tree, key);
                }
            }
            for (tree, key, value) in after {
                tx.put_raw(tree, &key, &value);
            }
            tx.mark(DIRTY_HOLDERS, &id_key(holder.id));
            tx.touched.insert(holder.id);
        }
        Ok(())
    }

    fn count_credentials_of_program(&self, slug: &str) -> Result<usize> {
        let mut n = 0;
        for v in self.tree(CREDENTIALS).iter().values() {
            let c: Credential = decode(&v?).map_err(StoreError::Corrupt)?;
            n += usize::from(c.program == slug);
        }
        Ok(n)
    }

    // ----- credentials -----

    /// Creates a credential for an existing holder.
    pub async fn create_credential(&self, credential: Credential) -> Result<Credential> {
        self.write(|store, tx| {
            store.holder(credential.holder_id)?;
            let held = store.credentials_of(credential.holder_id)?;
            if let Some(same) = held.iter().find(|c| c.program == credential.program) {
                return Err(StoreError::Conflict(Conflict::CredentialHeld {
                    holder: credential.holder_id,
                    program: credential.program.clone(),
                    existing: same.id,
                }));
            }
            let mut credential = credential.clone();
            credential.id = tx.next_id(store, IdKind::Credential)?;
            tx.put_record(None, &credential);
            tx.mark(DIRTY, &id_key(credential.id));
            Ok(credential.clone())
        })
        .await
    }

    /// A credential by id.
    pub fn credential(&self, id: u64) -> Result<Credential> {
        self.get(CREDENTIALS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Credential, id))
    }

    /// A page of a holder's credentials, in id order.
    pub fn list_credentials(
        &self,
        holder: u64,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<Credential>> {
        self.children(CRED_BY_HOLDER, CREDENTIALS, holder, after, limit)
    }

    /// Every credential of a holder.
    pub fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>> {
        Ok(self.list_credentials(holder, None, usize::MAX)?.items)
    }

    /// Replaces a credential (same holder and program), keeping the expiry index in step.
    pub async fn update_credential(&self, credential: Credential) -> Result<Credential> {
        self.write(|store, tx| {
            let old = store.credential(credential.id)?;
            if old.holder_id != credential.holder_id || old.program != credential.program {
                return Err(StoreError::Conflict(Conflict::Immutable(
                    "a credential's holder and program",
                )));
            }
            tx.put_record(Some(&old), &credential);
            tx.mark(DIRTY, &id_key(credential.id));
            Ok(credential.clone())
        })
        .await
    }

    /// Deletes a credential and unpins it from the holder's courses.
    pub async fn delete_credential(&self, id: u64) -> Result<()> {
        self.write(|store, tx| {
            let old = store.credential(id)?;
            for course in store.courses_of(old.holder_id)? {
                if course.credential_ids.contains(&id) {
                    let mut unpinned = course.clone();
                    unpinned.credential_ids.retain(|&c| c != id);
                    tx.put_record(Some(&course), &unpinned);
                }
            }
            tx.remove_record(&old);
            tx.remove(DIRTY, &id_key(id));
            tx.remove(
                ALERT_SETTINGS,
                &keys::settings_key(&SettingsScope::Credential(id)),
            );
            Ok(())
        })
        .await
    }

    /// Credentials expiring in `[from, to]`, soonest first, continuing after the key
    /// `after` (from a previous page).
    pub fn expiring(
        &self,
        from: Date,
        to: Date,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Credential>> {
        let after = match after {
            Some(c) if c.bytes().len() == 12 => Some(c.bytes()),
            Some(_) => return Err(StoreError::BadCursor),
            None => None,
        };
        let start = expiry_key(from, 0);
        let end = expiry_key(to, u64::MAX);
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let range = match after {
            Some(a) if a > &start[..] => self.tree(CRED_BY_EXPIRY).range((
                std::ops::Bound::Excluded(a.to_vec()),
                std::ops::Bound::Included(end.to_vec()),
            )),
            _ => self
                .tree(CRED_BY_EXPIRY)
                .range(start.to_vec()..=end.to_vec()),
        };
        for entry in range {
            let (key, _) = entry?;
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next: last.map(Cursor::new),
                });
            }
            let id = read_id(&key[4..])
                .ok_or_else(|| StoreError::Corrupt("bad expiry index key".into()))?;
            if read_date(&key).is_none() {
                return Err(StoreError::Corrupt("bad date in expiry index".into()));
            }
            items.push(self.credential(id).map_err(|_| {
                StoreError::Corrupt(format!("expiry index points at missing credential {id}"))
            })?);
            last = Some(key.to_vec());
        }
        Ok(Page { items, next: None })
    }

    // ----- courses -----

    fn check_pins(&self, course: &Course) -> Result<()> {
        for &pin in &course.credential_ids {
            let cred = self.credential(pin)?;
            if cred.holder_id != course.holder_id {
                return Err(StoreError::Conflict(Conflict::PinnedToOther {
                    credential: pin,
                }));
            }
        }
        Ok(())
    }

    /// Creates a course for an existing holder; pinned credentials must be theirs.
    ///
    /// Courses are the write users make most, so they go through a committer that writes
    /// every course queued meanwhile in one transaction, sharing one flush (see
    /// [`course_committer`]). A course's checks read holders and credentials, which other
    /// courses never change, so checking the courses of one batch in order against the store
    /// gives the same answers as writing them one by one.
    pub async fn create_course(&self, course: Course) -> Result<Course> {
        self.inner
            .commit
            .write_course(course, self.actor.clone(), self.after.clone(), false)
            .await
    }

    /// Like [`SledStore::create_course`], refusing a course that looks like one the holder
    /// has ([`Conflict::DuplicateCourse`]): checked in the batch under the write lock,
    /// against the store and the courses before it in the batch.
    pub async fn create_distinct_course(&self, course: Course) -> Result<Course> {
        self.inner
            .commit
            .write_course(course, self.actor.clone(), self.after.clone(), true)
            .await
    }

    /// Creates several courses in one transaction (all or nothing), ids in the order given;
    /// when `distinct`, none if a holder has a twin of theirs (in the store or earlier in
    /// `courses`), checked under the write lock, which the course batches take too.
    pub async fn create_courses(
        &self,
        courses: Vec<Course>,
        distinct: bool,
    ) -> Result<Vec<Course>> {
        if courses.is_empty() {
            return Ok(courses);
        }
        self.write(move |store, tx| {
            for (i, course) in courses.iter().enumerate() {
                store.holder(course.holder_id)?;
                store.check_pins(course)?;
                if distinct {
                    if let Some(twin) = store
                        .courses_on(course.holder_id, course.completed_on)?
                        .iter()
                        .find(|c| c.same_as(course))
                    {
                        return Err(StoreError::Conflict(Conflict::DuplicateCourse {
                            twin: twin.id,
                        }));
                    }
                    if courses[..i]
                        .iter()
                        .any(|c| c.holder_id == course.holder_id && c.same_as(course))
                    {
                        return Err(StoreError::Conflict(Conflict::DuplicateCourse { twin: 0 }));
                    }
                }
            }
            let first = tx.reserve_ids(store, IdKind::Course, courses.len() as u64)?;
            let mut created = Vec::with_capacity(courses.len());
            for (mut course, id) in courses.into_iter().zip(first..) {
                course.id = id;
                tx.put_record(None, &course);
                created.push(course);
            }
            Ok(created)
        })
        .await
    }

    /// This store, its writes by `actor` (see [`crate::store::Store::acting`]).
    pub fn acting(&self, actor: Actor) -> SledStore {
        SledStore {
            inner: self.inner.clone(),
            actor: Some(Arc::new(actor)),
            after: self.after.clone(),
        }
    }

    /// This store, running `after` inside its writes (see
    /// [`crate::store::Store::with_alerts_after`]).
    pub fn with_alerts_after(&self, after: Arc<dyn AlertsAfter>) -> SledStore {
        SledStore {
            after: Some(after),
            ..self.clone()
        }
    }

    /// Checks and writes one batch of queued courses in one transaction, under the write
    /// lock; returns each job's answer. Blocking.
    fn write_course_batch(
        &self,
        courses: Vec<CourseJob>,
        actors: Vec<Option<Arc<Actor>>>,
        after: Option<Arc<dyn AlertsAfter>>,
    ) -> Vec<CourseAnswer> {
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // A distinct course is refused when the store or an earlier course of this batch
        // has its twin; `twins` pairs such a course with the earlier one, whose id is known
        // only once ids are reserved.
        let mut twins: Vec<(usize, usize)> = Vec::new();
        let mut answers: Vec<CourseAnswer> = Vec::with_capacity(courses.len());
        for (i, (reply, course, distinct)) in courses.into_iter().enumerate() {
            let mut checked = course.and_then(|course| {
                self.holder(course.holder_id)?;
                self.check_pins(&course)?;
                if distinct
                    && let Some(twin) = self
                        .courses_on(course.holder_id, course.completed_on)?
                        .iter()
                        .find(|c| c.same_as(&course))
                {
                    return Err(StoreError::Conflict(Conflict::DuplicateCourse {
                        twin: twin.id,
                    }));
                }
                Ok(course)
            });
            if distinct
                && let Ok(course) = &checked
                && let Some(j) = answers
                    .iter()
                    .position(|(_, a)| a.as_ref().is_ok_and(|c| c.same_as(course)))
            {
                twins.push((i, j));
                // The twin's id is filled in once it has one.
                checked = Err(StoreError::Conflict(Conflict::DuplicateCourse { twin: 0 }));
            }
            answers.push((reply, checked));
        }
        let accepted = answers.iter().filter(|(_, a)| a.is_ok()).count() as u64;
        if accepted == 0 {
            return answers;
        }
        // Courses only: their index entries do not depend on the competency programs.
        let mut set = WriteSet::default();
        let planned = set
            .reserve_ids(self, IdKind::Course, accepted)
            .and_then(|first| {
                let accepted = answers
                    .iter_mut()
                    .zip(actors)
                    .filter(|((_, a), _)| a.is_ok());
                for (((_, answer), actor), id) in accepted.zip(first..) {
                    if let Ok(course) = answer {
                        course.id = id;
                        set.actor = actor;
                        set.put_record(None, &*course);
                    }
                }
                // Once per holder of the batch, after all of its courses.
                if let Some(after) = &after {
                    self.plan_alerts_after(after.as_ref(), &mut set)?;
                }
                set.append_history(self)?;
                set.stamp_versions(self)?;
                self.apply(&set.ops)
            });
        if let Err(e) = planned {
            let e = e.to_string();
            for (_, answer) in &mut answers {
                if answer.is_ok() {
                    *answer = Err(StoreError::Storage(e.clone()));
                }
            }
        }
        for (i, j) in twins {
            answers[i].1 = match &answers[j].1 {
                Ok(twin) => Err(StoreError::Conflict(Conflict::DuplicateCourse {
                    twin: twin.id,
                })),
                Err(e) => Err(StoreError::Storage(e.to_string())),
            };
        }
        answers
    }

    /// A course by id.
    pub fn course(&self, id: u64) -> Result<Course> {
        self.get(COURSES, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Course, id))
    }

    /// A page of a holder's courses, in id order.
    pub fn list_courses(
        &self,
        holder: u64,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<Course>> {
        self.children(COURSE_BY_HOLDER, COURSES, holder, after, limit)
    }

    /// Every course of a holder.
    pub fn courses_of(&self, holder: u64) -> Result<Vec<Course>> {
        Ok(self.list_courses(holder, None, usize::MAX)?.items)
    }

    /// The courses of a holder completed on `day`, from the (holder, day) index.
    pub fn courses_on(&self, holder: u64, day: Date) -> Result<Vec<Course>> {
        let mut prefix = holder.to_be_bytes().to_vec();
        prefix.extend_from_slice(&keys::date_bytes(day));
        let mut out = Vec::new();
        for key in self.tree(COURSE_BY_DAY).scan_prefix(&prefix).keys() {
            let key = key?;
            let id = key
                .get(12..)
                .and_then(read_id)
                .ok_or_else(|| StoreError::Corrupt("bad course-by-day key".into()))?;
            out.push(self.course(id)?);
        }
        Ok(out)
    }

    /// Replaces a course (same holder).
    pub async fn update_course(&self, course: Course) -> Result<Course> {
        self.write(|store, tx| {
            let old = store.course(course.id)?;
            if old.holder_id != course.holder_id {
                return Err(StoreError::Conflict(Conflict::Immutable(
                    "a course's holder",
                )));
            }
            store.check_pins(&course)?;
            tx.put_record(Some(&old), &course);
            Ok(course.clone())
        })
        .await
    }

    /// Deletes a course.
    pub async fn delete_course(&self, id: u64) -> Result<()> {
        self.write(|store, tx| {
            let old = store.course(id)?;
            tx.remove_record(&old);
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
