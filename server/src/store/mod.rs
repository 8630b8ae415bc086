//! The store port: what the rest of the daemon may ask of storage, engine-neutral.
//!
//! Traits ([`Records`], [`Outbox`], [`Scheduler`], [`Snapshots`], and [`Store`] joining them)
//! and the types they speak: domain records, [`Page`]s with opaque [`Cursor`]s, a per-holder
//! [`Version`] kept in the store, and [`StoreError`]s without user-facing sentences (the
//! service words them). Every method returns a `Send` future, so code generic over
//! `S: Store` can run on any runtime thread; the embedded engine answers reads with ready
//! futures.
//!
//! The engines live in submodules (`sled`, the embedded default). Nothing outside `store/`
//! names an engine except `lib.rs`, which picks one.

pub mod sled;

pub use self::sled::{
    CheckReport, Dump, DumpChannel, ImportError, ImportSummary, LineError, Lined, NextIds,
    ParsedDump, SCHEMA_VERSION, SledStore, StoreOptions, TREE_NAMES,
};

use crate::domain::{Alert, AlertSettings, Channel, Course, Credential, Holder, IdKind, Program};
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;

/// The result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record does not exist.
    #[error("{} {} not found", .kind.noun(), .kind.format(*.id))]
    NotFound {
        /// Record kind.
        kind: IdKind,
        /// Its id.
        id: u64,
    },
    /// A local program does not exist.
    #[error("local program {0} not found")]
    ProgramNotFound(String),
    /// The change breaks a rule that spans records; nothing was written.
    #[error("{0:?}")]
    Conflict(Conflict),
    /// A page cursor this engine did not issue.
    #[error("bad page cursor")]
    BadCursor,
    /// Another process holds the data dir.
    #[error("the data dir {} is in use by another recertd (lock held on {})", .dir.display(), .lock.display())]
    Locked {
        /// The data dir.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The store was written by a newer version.
    #[error("the store in {} has schema version {found}, newer than this recertd supports ({supported}); upgrade recertd", .dir.display())]
    NewerSchema {
        /// The data dir.
        dir: PathBuf,
        /// Version on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// The data dir cannot be opened.
    #[error("cannot open the store in {}: {detail}", .dir.display())]
    Open {
        /// The data dir.
        dir: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A stored record does not decode.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The engine failed (I/O, ...).
    #[error("storage failure: {0}")]
    Storage(String),
    /// A write could not be made durable (disk full, read-only, I/O error); the store takes no
    /// more writes until recertd restarts.
    #[error(
        "recertd cannot write to its data dir (disk full or read-only?); the change was not saved. Free space, then restart recertd"
    )]
    WriteFailed,
}

impl StoreError {
    /// A missing record of `kind`.
    pub fn not_found(kind: IdKind, id: u64) -> Self {
        StoreError::NotFound { kind, id }
    }
}

/// A rule spanning records that a write would break. Engines enforce these inside the
/// write's transaction (so concurrent writers cannot both pass a check); the service layer
/// puts them in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The holder already holds a credential of this program.
    CredentialHeld {
        /// The holder.
        holder: u64,
        /// The program's slug.
        program: String,
        /// The credential they hold.
        existing: u64,
    },
    /// The holder already has a channel of this kind and target.
    ChannelExists {
        /// The holder.
        holder: u64,
        /// The channel's kind name.
        kind: &'static str,
        /// Its target.
        target: String,
    },
    /// A local program of this slug exists already.
    ProgramExists(String),
    /// Credentials use the custom program being deleted.
    ProgramInUse {
        /// The program's slug.
        slug: String,
        /// How many credentials use it.
        users: usize,
    },
    /// The holder still has records and the delete was not forced.
    HolderHasRecords {
        /// The holder.
        holder: u64,
        /// Their credentials.
        credentials: usize,
        /// Their courses.
        courses: usize,
    },
    /// A course is pinned to a credential of another holder.
    PinnedToOther {
        /// The credential.
        credential: u64,
    },
    /// An update tried to change a field that cannot change (a credential's holder or
    /// program, a course's holder).
    Immutable(&'static str),
}

/// Where a page stops: made and read by the engine only. Its token form (hex) is what the
/// API hands out as `page_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<u8>);

impl Cursor {
    /// A cursor over an engine's own bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Cursor(bytes)
    }

    /// The engine's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token form handed to clients.
    pub fn to_token(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a token made by [`Cursor::to_token`]; `None` if it is not hex.
    pub fn from_token(token: &str) -> Option<Cursor> {
        if !token.len().is_multiple_of(2) || token.len() > 256 {
            return None;
        }
        (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
            .map(Cursor)
    }
}

/// A page of records and where to continue, if there are more.
#[derive(Debug)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Continue after this, if there are more.
    pub next: Option<Cursor>,
}

/// A holder's change version, kept in the store: it moves with every write that can change
/// the holder's standing (their record, credentials and courses, or any local program), so
/// a cached answer is valid while the version it was computed at is current, whichever
/// daemon made the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    /// Moves with every change to a local program.
    pub programs: u64,
    /// Moves with every change to the holder's own records.
    pub holder: u64,
}

/// Whose alert settings: a program, a holder or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsScope {
    /// A program, by slug.
    Program(String),
    /// A holder.
    Holder(u64),
    /// A credential.
    Credential(u64),
}

/// Holders, local programs, credentials and courses.
pub trait Records: Send + Sync {
    /// Creates a holder with a new id; the first holder becomes the default.
    fn create_holder(&self, holder: Holder) -> impl Future<Output = Result<Holder>> + Send;
    /// A holder by id.
    fn holder(&self, id: u64) -> impl Future<Output = Result<Holder>> + Send;
    /// The default holder's id, if any holder exists.
    fn default_holder_id(&self) -> impl Future<Output = Result<Option<u64>>> + Send;
    /// Holders in id order, after `after`.
    fn list_holders(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Holder>>> + Send;
    /// Replaces a holder; optionally makes it the default.
    fn update_holder(
        &self,
        holder: Holder,
        make_default: bool,
    ) -> impl Future<Output = Result<Holder>> + Send;
    /// Deletes a holder with everything of theirs when `force`; else refuses
    /// ([`Conflict::HolderHasRecords`]) while they have credentials or courses.
    fn delete_holder(&self, id: u64, force: bool) -> impl Future<Output = Result<()>> + Send;
    /// A holder's change version (see [`Version`]).
    fn version(&self, holder: u64) -> impl Future<Output = Result<Version>> + Send;

    /// A local program by slug.
    fn local_program(&self, slug: &str) -> impl Future<Output = Result<Option<Program>>> + Send;
    /// Every local program, by slug.
    fn local_programs(&self) -> impl Future<Output = Result<Vec<Program>>> + Send;
    /// Stores a local program: `create` refuses an existing one, else one must exist.
    fn put_program(
        &self,
        program: Program,
        create: bool,
    ) -> impl Future<Output = Result<Program>> + Send;
    /// Deletes a local program; `in_use_blocks` refuses while credentials use it.
    fn delete_program(
        &self,
        slug: &str,
        in_use_blocks: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Creates a credential for an existing holder, one per holder and program.
    fn create_credential(
        &self,
        credential: Credential,
    ) -> impl Future<Output = Result<Credential>> + Send;
    /// A credential by id.
    fn credential(&self, id: u64) -> impl Future<Output = Result<Credential>> + Send;
    /// A page of a holder's credentials, in id order.
    fn list_credentials(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Credential>>> + Send;
    /// Every credential of a holder.
    fn credentials_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Credential>>> + Send;
    /// Replaces a credential (same holder and program).
    fn update_credential(
        &self,
        credential: Credential,
    ) -> impl Future<Output = Result<Credential>> + Send;
    /// Deletes a credential, unpins it from its holder's courses and drops its settings.
    fn delete_credential(&self, id: u64) -> impl Future<Output = Result<()>> + Send;
    /// Credentials expiring in `[from, to]`, soonest first, after `after`.
    fn expiring(
        &self,
        from: Date,
        to: Date,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Credential>>> + Send;
    /// The cursor of [`Records::expiring`] that continues right after `credential`.
    fn expiry_cursor(&self, credential: &Credential) -> Cursor;
    /// The cursor of an id-ordered list (holders, credentials, courses, alerts) that
    /// continues right after the record `id`.
    fn id_cursor(&self, id: u64) -> Cursor;

    /// Creates a course for an existing holder; pinned credentials must be theirs.
    /// Concurrent calls share commits.
    fn create_course(&self, course: Course) -> impl Future<Output = Result<Course>> + Send;
    /// A course by id.
    fn course(&self, id: u64) -> impl Future<Output = Result<Course>> + Send;
    /// A page of a holder's courses, in id order.
    fn list_courses(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Course>>> + Send;
    /// Every course of a holder.
    fn courses_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Course>>> + Send;
    /// Replaces a course (same holder).
    fn update_course(&self, course: Course) -> impl Future<Output = Result<Course>> + Send;
    /// Deletes a course.
    fn delete_course(&self, id: u64) -> impl Future<Output = Result<()>> + Send;
}

/// The alert outbox, delivery channels and alert settings.
pub trait Outbox: Send + Sync {
    /// Enqueues alerts in one transaction; skips keys enqueued before or repeated.
    /// Returns the stored alerts.
    fn enqueue_alerts(&self, alerts: Vec<Alert>)
    -> impl Future<Output = Result<Vec<Alert>>> + Send;
    /// Whether an alert with this key was ever enqueued.
    fn alert_enqueued(
        &self,
        credential: u64,
        expires_on: Date,
        threshold_days: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// An alert by id.
    fn alert(&self, id: u64) -> impl Future<Output = Result<Alert>> + Send;
    /// A page of one holder's alerts in stream order, after `after`.
    fn alerts_of(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Alert>>> + Send;
    /// A page of every alert in id order, after `after`.
    fn all_alerts(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Alert>>> + Send;
    /// Alerts with a delivery attempt due at or before `now`, earliest first.
    fn alerts_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Alert>>> + Send;
    /// The earliest scheduled delivery attempt.
    fn next_retry_at(&self) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    /// Changes alert `id` as stored now, atomically: `change` runs on the current record
    /// and what it leaves is written, so concurrent changes compose. The outer error is the
    /// store's; the inner one is `change`'s refusal (then nothing is written).
    fn modify_alert<E: Send>(
        &self,
        id: u64,
        change: impl FnOnce(&mut Alert) -> std::result::Result<(), E> + Send,
    ) -> impl Future<Output = Result<std::result::Result<Alert, E>>> + Send;
    /// Changes a holder's alerts in one transaction; `change` says whether it changed one.
    /// Returns how many changed.
    fn modify_alerts_of(
        &self,
        holder: u64,
        change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> impl Future<Output = Result<usize>> + Send;
    /// Changes a credential's alert settings and its alerts in one write (mute, unmute).
    fn modify_credential_alerts(
        &self,
        credential: u64,
        settings: impl FnOnce(&mut AlertSettings) + Send,
        change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> impl Future<Output = Result<(AlertSettings, usize)>> + Send;

    /// Creates a channel for an existing holder, one per kind and target.
    fn create_channel(&self, channel: Channel) -> impl Future<Output = Result<Channel>> + Send;
    /// A channel by id.
    fn channel(&self, id: u64) -> impl Future<Output = Result<Channel>> + Send;
    /// Every channel of a holder.
    fn channels_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Channel>>> + Send;
    /// Deletes a channel.
    fn delete_channel(&self, id: u64) -> impl Future<Output = Result<()>> + Send;

    /// The alert settings of a scope (defaults if none were set).
    fn alert_settings(
        &self,
        scope: &SettingsScope,
    ) -> impl Future<Output = Result<AlertSettings>> + Send;
    /// Replaces the alert settings of a scope.
    fn set_alert_settings(
        &self,
        scope: SettingsScope,
        settings: AlertSettings,
    ) -> impl Future<Output = Result<AlertSettings>> + Send;
    /// Every threshold any settings use (for the tick's index scans).
    fn thresholds_in_use(&self) -> impl Future<Output = Result<Vec<u32>>> + Send;
}

/// The alert engine's bookkeeping.
pub trait Scheduler: Send + Sync {
    /// Credentials changed since the last tick.
    fn dirty_credentials(&self) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// Forgets that these credentials changed.
    fn clear_dirty(&self, ids: &[u64]) -> impl Future<Output = Result<()>> + Send;
    /// The distinct time zones of holders.
    fn holder_zones(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The instant of the last completed tick in `zone`.
    fn last_tick(&self, zone: &str) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    /// Records a completed tick in `zone`.
    fn set_last_tick(&self, zone: &str, at: Timestamp) -> impl Future<Output = Result<()>> + Send;
}

/// Consistent copies of the whole store, and restoring them.
pub trait Snapshots: Send + Sync {
    /// Every record as of one instant.
    fn dump(&self) -> impl Future<Output = Result<Dump>> + Send;
    /// Writes every record of `dump` the store does not hold yet, all or nothing.
    fn import(
        &self,
        dump: ParsedDump,
        builtin_programs: &BTreeSet<String>,
    ) -> impl Future<Output = Result<ImportSummary, ImportError>> + Send;
}

/// A whole store: every part of the port, cheap to clone and shared across tasks.
pub trait Store: Records + Outbox + Scheduler + Snapshots + Clone + 'static {
    /// Writes what is queued and flushes. Call once, after the last write.
    fn close(&self) -> impl Future<Output = Result<()>> + Send;
}
