//! The store port: what the rest of the daemon may ask of storage, engine-neutral.
//!
//! Traits ([`Records`], [`Outbox`], [`Scheduler`], [`Snapshots`], and [`Store`] joining them)
//! and the types they speak: domain records, [`Page`]s with opaque [`Cursor`]s, a per-holder
//! [`Version`] kept in the store, and [`StoreError`]s without user-facing sentences (the
//! service words them). Every method returns a `Send` future, so code generic over
//! `S: Store` can run on any runtime thread; the embedded engine answers reads with ready
//! futures.
//!
//! The engines live in submodules (`sled`, the embedded default; `postgres`, for several
//! daemons on one database). Nothing outside `store/` names an engine except `lib.rs`, which
//! picks one.

pub mod postgres;
pub mod sled;
pub mod steering;

pub use self::postgres::{PgOptions, PgStore};
/// How the audit trail words a record (one wording, shared by both engines).
pub(crate) use self::sled::{Audit, Indexed as Audited, json_without};
pub use self::sled::{CheckReport, SCHEMA_VERSION, SledStore, StoreOptions, TREE_NAMES};
/// The versioned storage encoding of a record kind (one per kind, shared by both engines).
pub(crate) use self::sled::{StoredRecord, decode_value, encode_value};

use crate::domain::{
    Actor, Alert, AlertSettings, Channel, CompetencyProgram, Course, Credential, DedupeKey,
    HistoryEntry, Holder, IdKind, Program, Team, Token, TokenHash,
};
use jiff::Timestamp;
use jiff::civil::Date;
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
    /// A stored (lab-defined) competency program does not exist.
    #[error(
        "competency program {0} is not one the lab stored (see: recert competency program list)"
    )]
    CompetencyProgramNotFound(String),
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
    /// The database cannot be reached just now (connection lost, starting or stopping); the
    /// request may be retried.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
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
    /// The team a channel is for does not exist (removed since the caller named it).
    NoSuchTeam(u64),
    /// The team already has a channel of this kind and target.
    TeamChannelExists {
        /// The team.
        team: u64,
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
    /// A stored competency program of this slug exists already.
    CompetencyProgramExists(String),
    /// Holders have skills on the competency program being deleted.
    CompetencyProgramInUse {
        /// The program's slug.
        slug: String,
        /// How many holders have a skill on it.
        holders: usize,
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
    /// A team of this name exists already.
    TeamExists(String),
    /// The holder has a course that looks the same (same title, date and amount).
    DuplicateCourse {
        /// The course already there.
        twin: u64,
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SettingsScope {
    /// A program, by slug.
    Program(String),
    /// A holder.
    Holder(u64),
    /// A credential.
    Credential(u64),
}

/// The future of a [`TxView`] read or of an [`AlertsAfter`] run.
pub type TxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// One holder's records as a write transaction sees them: its own planned changes included,
/// and no other writer's change in between (sled: under the write lock, over the planned
/// writes; PostgreSQL: inside the transaction, after the holder's row is locked).
pub trait TxView: Send + Sync {
    /// A holder.
    fn holder(&self, id: u64) -> TxFuture<'_, Holder>;
    /// Every credential of a holder, in id order.
    fn credentials_of(&self, holder: u64) -> TxFuture<'_, Vec<Credential>>;
    /// Every course of a holder, in id order.
    fn courses_of(&self, holder: u64) -> TxFuture<'_, Vec<Course>>;
    /// A local program.
    fn local_program<'a>(&'a self, slug: &'a str) -> TxFuture<'a, Option<Program>>;
    /// The alerts of one cycle of a credential (the cycle ending `expires_on`), through the
    /// dedupe key's index; on PostgreSQL locked until the transaction ends.
    fn cycle_alerts(&self, credential: u64, expires_on: Date) -> TxFuture<'_, Vec<Alert>>;

    /// Every credential of a holder, in id order, each with its local program (`None`
    /// where its slug names none). By default one read per credential; PostgreSQL answers
    /// in one query.
    fn credentials_with_programs(
        &self,
        holder: u64,
    ) -> TxFuture<'_, Vec<(Credential, Option<Program>)>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for credential in self.credentials_of(holder).await? {
                let program = self.local_program(&credential.program).await?;
                found.push((credential, program));
            }
            Ok(found)
        })
    }

    /// The alerts of several cycles (credential, the cycle's `expires_on`), as
    /// [`TxView::cycle_alerts`] reads each, in the order of `cycles` (each cycle's in id
    /// order). By default one read per cycle; PostgreSQL answers in one query.
    fn cycles_alerts<'a>(&'a self, cycles: &'a [(u64, Date)]) -> TxFuture<'a, Vec<Alert>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for &(credential, expires_on) in cycles {
                found.extend(self.cycle_alerts(credential, expires_on).await?);
            }
            Ok(found)
        })
    }
}

/// What a write runs inside its transaction after planning a change to a holder's records
/// (see [`Store::with_alerts_after`]); the service layer's rule of which alerts a change
/// makes moot.
pub trait AlertsAfter: Send + Sync + std::fmt::Debug {
    /// The holder's alerts the change makes moot, as they are to be written (changed from
    /// the ones `view` read). A holder that no longer exists has none.
    fn moot<'a>(&'a self, view: &'a dyn TxView, holder: u64) -> TxFuture<'a, Vec<Alert>>;
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

    /// Every stored (lab-defined) competency program, by slug: with the built-in ones, the
    /// set in force ([`crate::catalog::Competencies`]).
    fn competency_programs(&self) -> impl Future<Output = Result<Vec<CompetencyProgram>>> + Send;
    /// Stores a competency program: `create` refuses an existing one
    /// ([`Conflict::CompetencyProgramExists`]), else one must exist. The competency index of
    /// every holder with a skill on it is rewritten in the same transaction (and each is
    /// marked for the next tick), so a changed schedule moves its next alert.
    fn put_competency_program(
        &self,
        program: CompetencyProgram,
        create: bool,
    ) -> impl Future<Output = Result<CompetencyProgram>> + Send;
    /// Deletes a stored competency program; `in_use_blocks` refuses
    /// ([`Conflict::CompetencyProgramInUse`]) while holders have skills on it. The index is
    /// rewritten as by [`Records::put_competency_program`] (a built-in program back in force).
    fn delete_competency_program(
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
    /// Creates several courses (one in-service for a team) in one transaction, all or
    /// nothing, with ids in the order given; each holder must exist and pinned credentials
    /// must be theirs. When `distinct`, refuses them all ([`Conflict::DuplicateCourse`]) if a
    /// holder has a twin of theirs ([`Course::same_as`]), checked in the write itself, as
    /// [`Records::create_distinct_course`] does.
    fn create_courses(
        &self,
        courses: Vec<Course>,
        distinct: bool,
    ) -> impl Future<Output = Result<Vec<Course>>> + Send;

    /// Like [`Records::create_course`], but refuses ([`Conflict::DuplicateCourse`]) a course
    /// that looks like one the holder has ([`Course::same_as`]), checked in the write itself,
    /// so of two identical courses logged at the same instant one is refused.
    fn create_distinct_course(&self, course: Course)
    -> impl Future<Output = Result<Course>> + Send;
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
    /// The courses of a holder completed on `day` (to find a course logged twice). The
    /// default reads every course of the holder; an engine with an index answers from it.
    fn courses_on(
        &self,
        holder: u64,
        day: Date,
    ) -> impl Future<Output = Result<Vec<Course>>> + Send {
        async move {
            let mut all = self.courses_of(holder).await?;
            all.retain(|c| c.completed_on == day);
            Ok(all)
        }
    }
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
    /// Whether an alert with this dedupe key was ever enqueued.
    fn alert_enqueued(&self, key: &DedupeKey) -> impl Future<Output = Result<bool>> + Send;
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
    /// Changes the alerts of one cycle of a credential (the cycle ending `expires_on`) in one
    /// transaction, found through the dedupe key's index, so the cost is that cycle's alerts
    /// and not the holder's; nothing is written when `change` changes none of them.
    /// `change` says whether it changed one; returns how many changed.
    fn modify_cycle_alerts(
        &self,
        credential: u64,
        expires_on: Date,
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
    /// Every channel of a team (`notify add --team`).
    fn team_channels(&self, team: u64) -> impl Future<Output = Result<Vec<Channel>>> + Send;
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
    /// Forgets that these credentials changed: each of `evaluated` if it is still stored as
    /// given (one written since the tick read it stays marked), and each of `gone`.
    fn clear_dirty(
        &self,
        evaluated: &[Credential],
        gone: &[u64],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The distinct time zones of holders.
    fn holder_zones(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The ids of the holders whose time zone is `zone`, ascending (for the tick's
    /// competency, dues and digest reminders, which no expiry index finds).
    fn holders_in_zone(&self, zone: &str) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// The ids of the holders with a tracked competency due on a day within any of
    /// `windows` (each `from..=to`; the competency index), ascending, each once.
    fn competencies_due(
        &self,
        windows: &[(Date, Date)],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// The ids of the holders of a credential of `program` whose dues anniversary month
    /// ([`crate::domain::dues_month`]) is in one of `residues` modulo `dues.every_months`
    /// (the dues index; see [`crate::domain::Dues::anniversary_residues`]), ascending, each
    /// once.
    fn dues_holders(
        &self,
        program: &str,
        dues: &crate::domain::Dues,
        residues: &std::collections::BTreeSet<i32>,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// Holders written since the last tick evaluated them (their competencies may be due on
    /// a day no window of the next tick reaches).
    fn dirty_holders(&self) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// Forgets that these holders changed: each of `evaluated` if it is still stored as
    /// given (one written meanwhile stays marked), and each of `gone`.
    fn clear_dirty_holders(
        &self,
        evaluated: &[Holder],
        gone: &[u64],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The instant of the last completed tick in `zone`.
    fn last_tick(&self, zone: &str) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    /// Records a completed tick in `zone`.
    fn set_last_tick(&self, zone: &str, at: Timestamp) -> impl Future<Output = Result<()>> + Send;
}

/// Who may call: bearer tokens (by the hash of their secret) and teams. Few and small
/// records, read on every request (a token) or per authenticated request (teams).
pub trait Access: Send + Sync {
    /// Stores a new token under a new id (its `id` is ignored).
    fn create_token(&self, token: Token) -> impl Future<Output = Result<Token>> + Send;
    /// The token whose secret hashes to `hash`, revoked or not.
    fn token_by_hash(&self, hash: TokenHash) -> impl Future<Output = Result<Option<Token>>> + Send;
    /// Every token, in id order.
    fn tokens(&self) -> impl Future<Output = Result<Vec<Token>>> + Send;
    /// Marks token `id` revoked at `at` (an already revoked one keeps its first instant).
    fn revoke_token(&self, id: u64, at: Timestamp) -> impl Future<Output = Result<Token>> + Send;
    /// Stores a team: `id` 0 creates one under a new id, else it replaces team `id`. Names are
    /// unique ([`Conflict::TeamExists`]).
    fn put_team(&self, team: Team) -> impl Future<Output = Result<Team>> + Send;
    /// Every team, in id order.
    fn teams(&self) -> impl Future<Output = Result<Vec<Team>>> + Send;
    /// A page of the audit trail in id order (oldest first), after `after`: every entry, or
    /// those of one holder's records.
    fn history(
        &self,
        holder: Option<u64>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<HistoryEntry>>> + Send;
}

/// A holder's credentials and courses, read together (what a standing is computed from).
#[derive(Debug, Clone, Default)]
pub struct HolderRecords {
    /// The holder's credentials, in id order.
    pub credentials: Vec<Credential>,
    /// The holder's courses, in id order.
    pub courses: Vec<Course>,
}

/// Reads of many records at once, for the answers that span many holders (the alert tick,
/// deadlines). Each answer is aligned with its input (or, for records by id, holds those that
/// exist). The defaults read one record at a time, which costs the embedded engine nothing;
/// an engine with a network round trip per query answers each call in one or two queries.
pub trait BatchReads: Records + Outbox {
    /// The holders with these ids that exist (in no particular order).
    fn holders_by_id(&self, ids: &[u64]) -> impl Future<Output = Result<Vec<Holder>>> + Send {
        async move {
            let mut found = Vec::with_capacity(ids.len());
            for &id in ids {
                match self.holder(id).await {
                    Ok(h) => found.push(h),
                    Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(found)
        }
    }
    /// A holder with its change version, read together (what an answer from the standing
    /// cache needs before anything else).
    fn holder_with_version(
        &self,
        id: u64,
    ) -> impl Future<Output = Result<(Holder, Version)>> + Send {
        async move {
            let version = self.version(id).await?;
            Ok((self.holder(id).await?, version))
        }
    }
    /// The ids of the credentials expiring within any of `windows` (each `from..=to`),
    /// ascending, each once.
    fn expiring_ids(
        &self,
        windows: &[(Date, Date)],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        async move {
            let mut ids = std::collections::BTreeSet::new();
            for &(from, to) in windows {
                let page = self.expiring(from, to, None, usize::MAX).await?;
                ids.extend(page.items.iter().map(|c| c.id));
            }
            Ok(ids.into_iter().collect())
        }
    }
    /// The credentials with these ids that exist (in no particular order).
    fn credentials_by_id(
        &self,
        ids: &[u64],
    ) -> impl Future<Output = Result<Vec<Credential>>> + Send {
        async move {
            let mut found = Vec::with_capacity(ids.len());
            for &id in ids {
                match self.credential(id).await {
                    Ok(c) => found.push(c),
                    Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(found)
        }
    }
    /// The change version of each holder.
    fn versions(&self, holders: &[u64]) -> impl Future<Output = Result<Vec<Version>>> + Send {
        async move {
            let mut found = Vec::with_capacity(holders.len());
            for &h in holders {
                found.push(self.version(h).await?);
            }
            Ok(found)
        }
    }
    /// The credentials and courses of each holder.
    fn records_of(
        &self,
        holders: &[u64],
    ) -> impl Future<Output = Result<Vec<HolderRecords>>> + Send {
        async move {
            let mut found = Vec::with_capacity(holders.len());
            for &h in holders {
                found.push(HolderRecords {
                    credentials: self.credentials_of(h).await?,
                    courses: self.courses_of(h).await?,
                });
            }
            Ok(found)
        }
    }
    /// The credentials of each holder, in id order.
    fn credentials_of_many(
        &self,
        holders: &[u64],
    ) -> impl Future<Output = Result<Vec<Vec<Credential>>>> + Send {
        async move {
            let mut found = Vec::with_capacity(holders.len());
            for &h in holders {
                found.push(self.credentials_of(h).await?);
            }
            Ok(found)
        }
    }
    /// The channels of each holder.
    fn channels_of_many(
        &self,
        holders: &[u64],
    ) -> impl Future<Output = Result<Vec<Vec<Channel>>>> + Send {
        async move {
            let mut found = Vec::with_capacity(holders.len());
            for &h in holders {
                found.push(self.channels_of(h).await?);
            }
            Ok(found)
        }
    }
    /// The alert settings of each scope (defaults where none were set).
    fn alert_settings_many(
        &self,
        scopes: &[SettingsScope],
    ) -> impl Future<Output = Result<Vec<AlertSettings>>> + Send {
        async move {
            let mut found = Vec::with_capacity(scopes.len());
            for scope in scopes {
                found.push(self.alert_settings(scope).await?);
            }
            Ok(found)
        }
    }
    /// Whether an alert was ever enqueued under each dedupe key.
    fn alerts_enqueued(
        &self,
        keys: &[DedupeKey],
    ) -> impl Future<Output = Result<Vec<bool>>> + Send {
        async move {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                found.push(self.alert_enqueued(key).await?);
            }
            Ok(found)
        }
    }
}

/// The kinds whose ids come from a counter.
pub const COUNTED: [IdKind; 5] = [
    IdKind::Holder,
    IdKind::Credential,
    IdKind::Course,
    IdKind::Alert,
    IdKind::Channel,
];

/// The next id of each kind: what the store's counters hold (1 when unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIds {
    /// Next holder id.
    pub holder: u64,
    /// Next credential id.
    pub credential: u64,
    /// Next course id.
    pub course: u64,
    /// Next alert id (also the next position in the alert stream).
    pub alert: u64,
    /// Next channel id.
    pub channel: u64,
}

impl Default for NextIds {
    fn default() -> Self {
        NextIds {
            holder: 1,
            credential: 1,
            course: 1,
            alert: 1,
            channel: 1,
        }
    }
}

impl NextIds {
    /// The counter of `kind`.
    pub fn get(&self, kind: IdKind) -> u64 {
        match kind {
            IdKind::Holder => self.holder,
            IdKind::Credential => self.credential,
            IdKind::Course => self.course,
            IdKind::Alert => self.alert,
            IdKind::Channel => self.channel,
        }
    }

    /// Sets the counter of `kind`.
    pub fn set(&mut self, kind: IdKind, next: u64) {
        *self.slot(kind) = next;
    }

    /// Raises the counter of `kind` to at least `id`.
    pub fn raise(&mut self, kind: IdKind, id: u64) {
        let slot = self.slot(kind);
        *slot = (*slot).max(id);
    }

    fn slot(&mut self, kind: IdKind) -> &mut u64 {
        match kind {
            IdKind::Holder => &mut self.holder,
            IdKind::Credential => &mut self.credential,
            IdKind::Course => &mut self.course,
            IdKind::Alert => &mut self.alert,
            IdKind::Channel => &mut self.channel,
        }
    }
}

/// Every record of the store as of one instant ([`Snapshots::dump`]), each kind in key order.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// The store's schema version.
    pub schema: u32,
    /// The id counters.
    pub next_ids: NextIds,
    /// The default holder, if any holder exists.
    pub default_holder: Option<u64>,
    /// Holders, by id.
    pub holders: Vec<Holder>,
    /// Local programs (custom ones and overrides of built-in ones), by slug.
    pub programs: Vec<Program>,
    /// The lab's stored competency programs (new ones and edits of built-in ones), by slug.
    pub competency_programs: Vec<CompetencyProgram>,
    /// Credentials, by id.
    pub credentials: Vec<Credential>,
    /// Courses, by id.
    pub courses: Vec<Course>,
    /// Delivery channels, by id.
    pub channels: Vec<Channel>,
    /// Alert settings that were set, by scope.
    pub alert_settings: Vec<(SettingsScope, AlertSettings)>,
    /// The alert outbox, by id.
    pub alerts: Vec<Alert>,
    /// The last completed alert tick of each time zone, by zone.
    pub last_ticks: Vec<(String, Timestamp)>,
    /// Credentials changed since their zone's last tick, by id.
    pub dirty_credentials: Vec<u64>,
    /// Tokens (hashes only: the store never has a secret), by id.
    pub tokens: Vec<Token>,
    /// Teams, by id.
    pub teams: Vec<Team>,
    /// The audit trail, by id.
    pub history: Vec<HistoryEntry>,
}

/// What a restore writes, decided by the import rules (`service::import`) against the store
/// as it stands: every record is new (its id and unique keys are free), every reference
/// resolves. The engine writes it as it is, with the indexes each record implies.
#[derive(Debug, Clone, Default)]
pub struct RestorePlan {
    /// New holders.
    pub holders: Vec<Holder>,
    /// The holder to make the default (the store has none yet).
    pub default_holder: Option<u64>,
    /// New local programs.
    pub programs: Vec<Program>,
    /// New stored competency programs (slugs the store has none of). Written before the
    /// holders, whose index entries derive from them; the holders already stored with a skill
    /// on one (an edit of a built-in program) have their index rewritten.
    pub competency_programs: Vec<CompetencyProgram>,
    /// New credentials.
    pub credentials: Vec<Credential>,
    /// New courses.
    pub courses: Vec<Course>,
    /// New channels.
    pub channels: Vec<Channel>,
    /// Alert settings of scopes that have none.
    pub alert_settings: Vec<(SettingsScope, AlertSettings)>,
    /// New alerts (their key and retry schedule come with them).
    pub alerts: Vec<Alert>,
    /// Last ticks to set (each later than the store's).
    pub last_ticks: Vec<(String, Timestamp)>,
    /// Credentials to mark changed.
    pub dirty_credentials: Vec<u64>,
    /// Id counters to set (each higher than the store's).
    pub counters: Vec<(IdKind, u64)>,
    /// New tokens (ids and hashes free in the store); the token counter moves past them.
    pub tokens: Vec<Token>,
    /// New teams (ids and names free); the team counter moves past them.
    pub teams: Vec<Team>,
    /// Existing teams to replace: (the record as read in the view, the new one; same id and
    /// name). Written by a roster import, which adds members; a dump import leaves it empty.
    pub changed_teams: Vec<(Team, Team)>,
    /// Existing holders to replace: (the record as read in the view, the new one; same id).
    /// Written by `recert import --replace`, as are the two below.
    pub replaced_holders: Vec<(Holder, Holder)>,
    /// Existing credentials to replace: (as read in the view, the new one; same id). The
    /// old record's index entries go, the new one's come.
    pub replaced_credentials: Vec<(Credential, Credential)>,
    /// Existing courses to replace: (as read in the view, the new one; same id).
    pub replaced_courses: Vec<(Course, Course)>,
    /// New history entries, appended in order: an entry with id 0 gets the next id, any
    /// other keeps its (free) id; the history counter moves past them.
    pub history: Vec<HistoryEntry>,
}

impl RestorePlan {
    /// Adds `other`'s writes after these (its default holder, if it names one).
    pub fn append(&mut self, mut other: RestorePlan) {
        self.holders.append(&mut other.holders);
        self.default_holder = other.default_holder.or(self.default_holder);
        self.programs.append(&mut other.programs);
        self.competency_programs
            .append(&mut other.competency_programs);
        self.credentials.append(&mut other.credentials);
        self.courses.append(&mut other.courses);
        self.channels.append(&mut other.channels);
        self.alert_settings.append(&mut other.alert_settings);
        self.alerts.append(&mut other.alerts);
        self.last_ticks.append(&mut other.last_ticks);
        self.dirty_credentials.append(&mut other.dirty_credentials);
        self.counters.append(&mut other.counters);
        self.tokens.append(&mut other.tokens);
        self.teams.append(&mut other.teams);
        self.changed_teams.append(&mut other.changed_teams);
        self.replaced_holders.append(&mut other.replaced_holders);
        self.replaced_credentials
            .append(&mut other.replaced_credentials);
        self.replaced_courses.append(&mut other.replaced_courses);
        self.history.append(&mut other.history);
    }
}

/// The store as it stands, read synchronously inside [`Snapshots::restore`], while the engine
/// keeps every other writer out: what the import rules need to compare a dump with.
pub trait StoreView {
    /// A holder by id.
    fn holder(&self, id: u64) -> Result<Option<Holder>>;
    /// Whether the holder exists.
    fn has_holder(&self, id: u64) -> Result<bool>;
    /// The default holder's id.
    fn default_holder(&self) -> Result<Option<u64>>;
    /// A local program by slug.
    fn local_program(&self, slug: &str) -> Result<Option<Program>>;
    /// A stored competency program by slug.
    fn competency_program(&self, slug: &str) -> Result<Option<CompetencyProgram>>;
    /// A credential by id.
    fn credential(&self, id: u64) -> Result<Option<Credential>>;
    /// Whether the credential exists.
    fn has_credential(&self, id: u64) -> Result<bool>;
    /// Every credential of a holder.
    fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>>;
    /// A course by id.
    fn course(&self, id: u64) -> Result<Option<Course>>;
    /// Every course of a holder.
    fn courses_of(&self, holder: u64) -> Result<Vec<Course>>;
    /// A channel by id.
    fn channel(&self, id: u64) -> Result<Option<Channel>>;
    /// Every channel of a holder.
    fn channels_of(&self, holder: u64) -> Result<Vec<Channel>>;
    /// The alert settings set for a scope (`None`: never set).
    fn alert_settings(&self, scope: &SettingsScope) -> Result<Option<AlertSettings>>;
    /// An alert by id.
    fn alert(&self, id: u64) -> Result<Option<Alert>>;
    /// The alert enqueued with this dedupe key, if any.
    fn alert_with_key(&self, key: &DedupeKey) -> Result<Option<u64>>;
    /// The last completed tick of `zone`.
    fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>>;
    /// Whether the credential is marked changed since its zone's last tick.
    fn is_dirty(&self, credential: u64) -> Result<bool>;
    /// The id counters.
    fn next_ids(&self) -> Result<NextIds>;
    /// A token by id.
    fn token(&self, id: u64) -> Result<Option<Token>>;
    /// The token whose secret hashes to `hash`.
    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<Token>>;
    /// The id the next token gets.
    fn next_token_id(&self) -> Result<u64>;
    /// A team by id.
    fn team(&self, id: u64) -> Result<Option<Team>>;
    /// A team by name.
    fn team_named(&self, name: &str) -> Result<Option<Team>>;
    /// A history entry by id.
    fn history_entry(&self, id: u64) -> Result<Option<HistoryEntry>>;
}

/// A restore in bounded batches ([`Snapshots::restore_batches`]): the store as it stands,
/// and the writes of one batch at a time. Nothing written stays unless the job succeeds.
pub trait Restorer {
    /// The store as it stands, including the batches written so far.
    fn view(&self) -> &dyn StoreView;
    /// Says what the next batch will look up, before it is checked or planned: an engine
    /// whose view asks a server answers it in a few queries instead of one per key, and
    /// forgets what the batch before asked (sled reads its trees directly: nothing to do).
    fn prefetch(&mut self, wanted: &Lookups) -> Result<()> {
        let _ = wanted;
        Ok(())
    }
    /// Writes one batch, with the indexes each record implies.
    fn write(&mut self, plan: RestorePlan) -> Result<()>;
}

/// The keys a batch of a restore looks up in the [`StoreView`] ([`Restorer::prefetch`]).
/// A key left out is still answered, one query at a time.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Holders by id.
    pub holders: std::collections::BTreeSet<u64>,
    /// Credentials by id.
    pub credentials: std::collections::BTreeSet<u64>,
    /// Holders whose credentials are listed.
    pub credentials_of: std::collections::BTreeSet<u64>,
    /// Courses by id.
    pub courses: std::collections::BTreeSet<u64>,
    /// Channels by id.
    pub channels: std::collections::BTreeSet<u64>,
    /// Holders whose channels are listed.
    pub channels_of: std::collections::BTreeSet<u64>,
    /// Alerts by id.
    pub alerts: std::collections::BTreeSet<u64>,
    /// Alerts by dedupe key.
    pub alert_keys: Vec<DedupeKey>,
    /// Credentials marked for the next tick, by id.
    pub dirty: std::collections::BTreeSet<u64>,
    /// Teams by id.
    pub teams: std::collections::BTreeSet<u64>,
    /// Teams by name.
    pub team_names: std::collections::BTreeSet<String>,
    /// History entries by id.
    pub history: std::collections::BTreeSet<u64>,
}

/// Consistent copies of the whole store, and restoring them.
pub trait Snapshots: Send + Sync {
    /// Every record as of one instant.
    fn dump(&self) -> impl Future<Output = Result<Dump>> + Send;
    /// Runs `plan` on the store as it stands, with every other writer kept out, then writes
    /// the [`RestorePlan`] it returns in one transaction and waits until it is durable.
    /// `plan`'s error (or the store's, as `E`) writes nothing.
    ///
    /// `wanted` says what `plan` will look up, as [`Restorer::prefetch`] does for a batch:
    /// an engine whose view asks a server answers it in a few queries and reads nothing
    /// else up front, so the memory follows the plan, not the store (a key left out is still
    /// answered, one query at a time; sled reads its trees directly and ignores it).
    ///
    /// Why a closure rather than a plan made beforehand: the rules compare the dump with the
    /// store (ids free, references resolve, unique keys hold), and a plan made outside the
    /// engine's write exclusion could be stale by the time it is written; checking it again
    /// inside would repeat every rule in every engine, and retrying on a "changed meanwhile"
    /// version could starve a large import under steady writes. The view is synchronous
    /// because the exclusion is held by a synchronous lock in the embedded engine; an engine
    /// with an async client runs `plan` off the async threads (hence `'static`), its view
    /// asking the transaction.
    fn restore<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        wanted: Lookups,
        plan: impl FnOnce(&dyn StoreView) -> Result<(RestorePlan, T), E> + Send + 'static,
    ) -> impl Future<Output = Result<T, E>> + Send;

    /// Runs `job` off the async threads with every other writer kept out; the job reads the
    /// store through its [`Restorer`] and writes [`RestorePlan`]s one bounded batch at a time.
    /// All or nothing: when the job fails (or the daemon stops before it ends) nothing it
    /// wrote stays. Readers are answered throughout (on sled they may see the batches
    /// written so far; on PostgreSQL they see nothing until the one transaction commits).
    /// Answers once the writes are durable.
    fn restore_batches<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn Restorer) -> Result<T, E> + Send + 'static,
    ) -> impl Future<Output = Result<T, E>> + Send;
}

/// A whole store: every part of the port, cheap to clone and shared across tasks.
pub trait Store:
    Records + Outbox + Scheduler + Snapshots + Access + BatchReads + Clone + 'static
{
    /// A handle on the same store whose writes each append, in their own transaction, one
    /// [`HistoryEntry`] per record they create, change or delete, naming `actor`. Writes
    /// through a handle without an actor (the alert engine's) leave no history.
    fn acting(&self, actor: Actor) -> Self;

    /// A handle on the same store whose writes that change a holder's standing (their
    /// record, credentials, courses) run `after` inside the write's transaction, for each
    /// holder they touch, and write the alerts it answers in that same transaction: the
    /// change and the cancelling of the alerts it makes moot commit together or not at all.
    fn with_alerts_after(&self, after: std::sync::Arc<dyn AlertsAfter>) -> Self;

    /// Writes what is queued and flushes. Call once, after the last write.
    fn close(&self) -> impl Future<Output = Result<()>> + Send;
}
