//! Import of a dump: the rules that decide what a dump may add to the store, whatever the
//! engine. The dump arrives parsed and checked line by line (`backup::read`); here it is
//! checked as a whole (no id twice, references resolve, unique keys hold) and compared with
//! the store (equal records are skipped, different ones are conflicts, or with `replace`
//! replace the store's holders, credentials and courses), giving a
//! [`RestorePlan`] the engine writes in one transaction ([`Snapshots::restore`]) and an
//! [`ImportSummary`].

use super::{Caller, Service};
use crate::domain::{
    Actor, Alert, AlertSettings, Channel, CompetencyProgram, Course, Credential, FieldError,
    HistoryEntry, Holder, IdKind, Program, Team, Token, TokenHash, team_id, token_id,
};
use crate::store::{
    COUNTED, Lookups, NextIds, RestorePlan, Restorer, SettingsScope, Snapshots, Store, StoreError,
    StoreView,
};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A record of a dump and the line of the file it came from.
#[derive(Debug, Clone)]
pub struct Lined<T> {
    /// 1-based line number.
    pub line: usize,
    /// The record.
    pub record: T,
}

/// A channel as a dump holds it: its secret may have been left out of the dump.
#[derive(Debug, Clone)]
pub struct DumpChannel {
    /// The channel; `secret` is empty when it was left out.
    pub channel: Channel,
    /// The channel had a secret that the dump left out (`recert export --no-secrets`).
    pub secret_omitted: bool,
}

/// A dump read from a file, every record checked on its own, ready for [`import`].
#[derive(Debug, Clone, Default)]
pub struct ParsedDump {
    /// The id counters, if the dump has them.
    pub next_ids: Option<Lined<NextIds>>,
    /// Holders, and whether each is marked the default.
    pub holders: Vec<Lined<(Holder, bool)>>,
    /// Local programs.
    pub programs: Vec<Lined<Program>>,
    /// Stored competency programs (before the holders whose skills name them).
    pub competency_programs: Vec<Lined<CompetencyProgram>>,
    /// Credentials.
    pub credentials: Vec<Lined<Credential>>,
    /// Courses.
    pub courses: Vec<Lined<Course>>,
    /// Delivery channels.
    pub channels: Vec<Lined<DumpChannel>>,
    /// Alert settings by scope.
    pub alert_settings: Vec<Lined<(SettingsScope, AlertSettings)>>,
    /// Alerts.
    pub alerts: Vec<Lined<Alert>>,
    /// Last tick per zone.
    pub last_ticks: Vec<Lined<(String, Timestamp)>>,
    /// Credentials to re-evaluate at the next tick.
    pub dirty_credentials: Vec<Lined<u64>>,
    /// Tokens (hashes of their secrets).
    pub tokens: Vec<Lined<Token>>,
    /// Teams.
    pub teams: Vec<Lined<Team>>,
    /// The audit trail.
    pub history: Vec<Lined<HistoryEntry>>,
}

/// One problem on one line of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// The field, as in the domain's validators (`course.title`); empty for the whole line.
    pub field: String,
    /// What is wrong, starting with `line N: `.
    pub message: String,
}

impl LineError {
    /// A problem with `field` (empty: the whole line) on `line`.
    pub fn new(line: usize, field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        LineError {
            line,
            field: field.into(),
            message: format!("line {line}: {message}"),
        }
    }

    /// A domain validator's field error, on `line`.
    pub fn field(line: usize, error: FieldError) -> Self {
        LineError::new(line, error.field, error.message)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Record lines that changed the store.
    pub imported: u64,
    /// Record lines the store already held with equal content.
    pub unchanged: u64,
    /// Record lines whose holder, credential or course replaced the store's different one
    /// with the same id (`replace`); not counted in `imported`.
    pub replaced: u64,
    /// Webhook channels written without the secret the dump left out.
    pub channels_without_secret: u64,
    /// The channels the import wrote (new to the store), which then reach the holders'
    /// undeliverable alerts.
    pub new_channels: Vec<u64>,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Lines of the dump are invalid on their own or reference what exists nowhere.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<LineError>),
    /// A record differs from the store's record with the same id (or unique key).
    #[error("line {line}: {message}")]
    Conflict {
        /// The first conflicting line.
        line: usize,
        /// What conflicts.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller may not import.
    #[error("{0}")]
    Denied(String),
    /// Records chosen with `only` that the dump does not hold.
    #[error("{0}")]
    NotInDump(String),
}

/// The records an import restores when it restores only some (`recert import --only`), by
/// id; whether each was seen in the dump.
#[derive(Debug, Clone, Default)]
pub struct Only(BTreeMap<(usize, u64), bool>);

/// The kinds `--only` names, in the order their ids are tried.
const ONLY_KINDS: [IdKind; 5] = COUNTED;

impl Only {
    /// Reads ids such as `h1`, `cr2`, `co3`, `ch1`, `al1`; names `field` in the error.
    pub fn parse(ids: &[String], field: &str) -> Result<Only, FieldError> {
        let mut only = BTreeMap::new();
        for text in ids {
            let found = ONLY_KINDS
                .iter()
                .enumerate()
                .find_map(|(i, kind)| kind.parse(text.trim()).map(|id| (i, id)));
            match found {
                Some(key) => {
                    only.insert(key, false);
                }
                None => {
                    return Err(FieldError::new(
                        field,
                        format!(
                            "{field} {} is not the id of a holder, credential, course, channel or alert (h1, cr2, co3, ch1, al1)",
                            crate::domain::limits::quote(text)
                        ),
                    ));
                }
            }
        }
        Ok(Only(only))
    }

    fn keep(&mut self, kind: usize, id: u64) -> bool {
        match self.0.get_mut(&(kind, id)) {
            Some(seen) => {
                *seen = true;
                true
            }
            None => false,
        }
    }

    /// The chosen records of `d`, nothing else (no counters, settings, ticks, access).
    fn select(&mut self, d: ParsedDump) -> ParsedDump {
        let index = |k: IdKind| ONLY_KINDS.iter().position(|&o| o == k).unwrap_or(0);
        let (h, cr, co, ch, al) = (
            index(IdKind::Holder),
            index(IdKind::Credential),
            index(IdKind::Course),
            index(IdKind::Channel),
            index(IdKind::Alert),
        );
        let mut holders = d.holders;
        holders.retain(|l| self.keep(h, l.record.0.id));
        let mut credentials = d.credentials;
        credentials.retain(|l| self.keep(cr, l.record.id));
        let mut courses = d.courses;
        courses.retain(|l| self.keep(co, l.record.id));
        let mut channels = d.channels;
        channels.retain(|l| self.keep(ch, l.record.channel.id));
        let mut alerts = d.alerts;
        alerts.retain(|l| self.keep(al, l.record.id));
        ParsedDump {
            holders,
            credentials,
            courses,
            channels,
            alerts,
            ..ParsedDump::default()
        }
    }

    /// The chosen ids the dump did not hold, as the user wrote them.
    fn missing(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, seen)| !**seen)
            .map(|((kind, id), _)| ONLY_KINDS[*kind].format(*id))
            .collect()
    }
}

/// The names of the fields in which two records differ, for conflict messages (never the
/// values: they may be secrets).
fn differing_fields<T: serde::Serialize>(a: &T, b: &T) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return String::new();
    };
    let names: Vec<&str> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    names.join(", ")
}

/// How a dump record compares with the store.
enum Compare {
    /// The store has no record with this id.
    New,
    /// The store has an equal record.
    Same,
    /// The store has a different record with this id.
    Differs(String),
}

fn compare<T: PartialEq + serde::Serialize>(ours: &T, theirs: Option<T>) -> Compare {
    match theirs {
        None => Compare::New,
        Some(t) if &t == ours => Compare::Same,
        Some(t) => Compare::Differs(differing_fields(ours, &t)),
    }
}

/// Collects problems, then reports them by line.
#[derive(Default)]
struct Problems(Vec<LineError>);

impl Problems {
    fn add(&mut self, line: usize, field: &str, message: impl std::fmt::Display) {
        self.0.push(LineError::new(line, field, message));
    }

    /// Notes `key` seen on `line`; a second sighting is a duplicate.
    fn unique<K: Ord>(
        &mut self,
        seen: &mut BTreeMap<K, usize>,
        key: K,
        line: usize,
        what: impl FnOnce() -> String,
    ) {
        if let Some(first) = seen.get(&key) {
            self.add(
                line,
                "",
                format!("{} appears twice (first on line {first})", what()),
            );
        } else {
            seen.insert(key, line);
        }
    }
}

/// Bytes of dump text read into one batch: an import holds the records of one batch (and
/// the small cross-line state of [`Importer`]), whatever the size of the dump. Small, as
/// each batch is one sled transaction, during which sled holds its readers back.
pub const BATCH_BYTES: u64 = 256 * 1024;

/// Imports `dump` into `store`, all or nothing, keeping ids and rebuilding every index;
/// answers once the writes are durable.
///
/// Everything is checked against the store as it stands, inside [`Snapshots::restore`] (so
/// no write lands between the check and the writes): no id twice in the dump, references
/// resolve in the dump or the store (`builtin_programs` are the programs that always
/// exist), and unique keys hold (one credential per holder and program, one channel per
/// holder, kind and target, one alert per key). Any failure is [`ImportError::Invalid`].
/// Then a record equal to the store's record with the same id is skipped, and a different
/// one is [`ImportError::Conflict`] with the first such line. Either error writes nothing.
/// Counters move past the imported ids (and to the dump's counters), last ticks move to the
/// later of the two, and changed-credential marks are added.
pub async fn import<S: Snapshots>(
    store: &S,
    dump: ParsedDump,
    builtin_programs: &BTreeSet<String>,
) -> Result<ImportSummary, ImportError> {
    import_as(store, dump, builtin_programs, None).await
}

/// [`import`], appending one `import` history entry naming `actor` (with what it imported)
/// in the same transaction, when an actor is given.
pub async fn import_as<S: Snapshots>(
    store: &S,
    dump: ParsedDump,
    builtin_programs: &BTreeSet<String>,
    actor: Option<Actor>,
) -> Result<ImportSummary, ImportError> {
    let wanted = lookups(&dump);
    let builtin = builtin_programs.clone();
    store
        .restore(wanted, move |view| {
            let mut i = Importer::new(builtin, view)?;
            i.check_window(view, &dump)?;
            i.end_first_pass(view)?;
            let mut plan = RestorePlan::default();
            i.plan(view, &dump, &mut plan)?;
            let last = i.last_batch();
            let summary = i.summary();
            plan.append(last);
            if let Some(actor) = actor {
                plan.history.push(import_entry(actor, &summary));
            }
            Ok((plan, summary))
        })
        .await
}

/// Imports the dump in `file` (a recert-export dump, read from its start) as [`import_as`]
/// does, in bounded memory: a first pass reads it batch by batch, checking each line and
/// keeping only what checks across lines need (ids, keys), then compares it with the store;
/// a second pass reads it again and writes the new records one batch at a time
/// ([`Snapshots::restore_batches`]: all or nothing). Problems of lines on their own come
/// first (as the backup reader gives them), then those across lines, then
/// conflicts with the store; any of them writes nothing.
///
/// With `only`, just the chosen records are restored (each must be in the dump, and what
/// they reference in the store or among the chosen); every line is still checked on its own.
/// With `replace`, a holder, credential or course that differs from the store's record with
/// its id replaces it (the old record's index entries go) instead of being a conflict,
/// unless the new record would break a rule across records (one credential per program
/// and holder, a course's pins on its holder's credentials): that is a conflict.
pub async fn import_file<S: Snapshots>(
    store: &S,
    file: Box<dyn DumpBatches>,
    now: Timestamp,
    builtin_programs: BTreeSet<String>,
    actor: Option<Actor>,
    choice: Choice,
) -> Result<ImportSummary, ImportError> {
    store
        .restore_batches(move |r| import_batches(r, file, now, builtin_programs, actor, choice))
        .await
}

/// What an import restores of a dump and how: `recert import --only ... --replace`.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Only these records (else all).
    pub only: Option<Only>,
    /// Records that differ from the store's replace them (else they are conflicts).
    pub replace: bool,
}

/// A dump the import reads from its start in batches, once per pass (it reads it twice).
/// The backup layer implements it for a spooled file (`DumpFile`).
pub trait DumpBatches: Send + 'static {
    /// Reads the dump from its start, calling `each` with the records of each batch and
    /// whether any line so far was broken; returns the problems of the lines on their own.
    fn read_batches(
        &mut self,
        each: &mut dyn FnMut(ParsedDump, bool) -> Result<(), ImportError>,
    ) -> Result<Vec<LineError>, ImportError>;
}

fn import_batches(
    r: &mut dyn Restorer,
    mut file: Box<dyn DumpBatches>,
    now: Timestamp,
    builtin: BTreeSet<String>,
    actor: Option<Actor>,
    choice: Choice,
) -> Result<ImportSummary, ImportError> {
    let mut i = Importer::new(builtin, r.view())?;
    i.only = choice.only;
    i.replace = choice.replace;
    let mut errors = file.read_batches(&mut |batch, broken| {
        r.prefetch(&lookups(&batch))?;
        i.first_window(r.view(), batch, now, broken)
    })?;
    errors.extend(i.late_line_checks(now));
    if !errors.is_empty() {
        errors.sort_by(|a, b| (a.line, &a.message).cmp(&(b.line, &b.message)));
        errors.dedup();
        return Err(ImportError::Invalid(errors));
    }
    if let Some(only) = &i.only {
        let missing = only.missing();
        if !missing.is_empty() {
            return Err(ImportError::NotInDump(format!(
                "only: the dump has no {}",
                missing.join(", ")
            )));
        }
    }
    i.end_first_pass(r.view())?;
    file.read_batches(&mut |batch, _| {
        let batch = i.select(batch);
        r.prefetch(&lookups(&batch))?;
        let mut plan = RestorePlan::default();
        i.plan(r.view(), &batch, &mut plan)?;
        drop(batch);
        r.write(plan)?;
        Ok(())
    })?;
    let mut last = i.last_batch();
    let summary = i.summary();
    if let Some(actor) = actor {
        last.history.push(import_entry(actor, &summary));
    }
    r.write(last)?;
    Ok(summary)
}

/// What checking and planning `d` looks up in the store: its own records' ids and keys and
/// what its lines reference.
fn lookups(d: &ParsedDump) -> Lookups {
    let mut w = Lookups::default();
    for l in &d.holders {
        w.holders.insert(l.record.0.id);
    }
    for l in &d.credentials {
        let c = &l.record;
        w.credentials.insert(c.id);
        w.holders.insert(c.holder_id);
        w.credentials_of.insert(c.holder_id);
    }
    for l in &d.courses {
        let c = &l.record;
        w.courses.insert(c.id);
        w.holders.insert(c.holder_id);
        w.credentials.extend(c.credential_ids.iter().copied());
    }
    for l in &d.channels {
        let c = &l.record.channel;
        w.channels.insert(c.id);
        w.channels_of.insert(c.holder_id);
        if c.team_id != 0 {
            w.teams.insert(c.team_id);
        } else {
            w.holders.insert(c.holder_id);
        }
    }
    for l in &d.alert_settings {
        match &l.record.0 {
            SettingsScope::Holder(h) => {
                w.holders.insert(*h);
            }
            SettingsScope::Credential(c) => {
                w.credentials.insert(*c);
            }
            SettingsScope::Program(_) => {}
        }
    }
    for l in &d.alerts {
        let a = &l.record;
        w.alerts.insert(a.id);
        w.holders.insert(a.holder_id);
        w.alert_keys.push(a.dedupe_key());
    }
    for l in &d.dirty_credentials {
        w.dirty.insert(l.record);
    }
    for l in &d.tokens {
        w.holders.extend(l.record.holder_id);
    }
    for l in &d.teams {
        let t = &l.record;
        w.teams.insert(t.id);
        w.team_names.insert(t.name.clone());
        w.holders.extend(t.members.iter().chain(&t.leads).copied());
    }
    for l in &d.history {
        w.history.insert(l.record.id);
    }
    w
}

/// The history entry of an import: who, when, and how many records it wrote.
fn import_entry(actor: Actor, summary: &ImportSummary) -> HistoryEntry {
    HistoryEntry {
        id: 0,
        at: actor.at,
        token_id: actor.token_id,
        actor: actor.name,
        action: "import".into(),
        kind: "dump".into(),
        record: if summary.replaced == 0 {
            format!(
                "{} imported, {} unchanged",
                summary.imported, summary.unchanged
            )
        } else {
            format!(
                "{} imported, {} replaced, {} unchanged",
                summary.imported, summary.replaced, summary.unchanged
            )
        },
        holder_id: None,
        before: None,
        after: Some(
            serde_json::json!({
                "imported": summary.imported,
                "unchanged": summary.unchanged,
                "replaced": summary.replaced,
                "channels_without_secret": summary.channels_without_secret,
            })
            .to_string(),
        ),
    }
}

impl<S: Store> Service<S> {
    fn import_actor(&self, caller: &Caller) -> Result<Actor, ImportError> {
        if !caller.is_admin() {
            return Err(ImportError::Denied(
                "importing a dump needs an admin token".into(),
            ));
        }
        let token_id = match caller {
            Caller::LocalOperator => None,
            Caller::Token(p) => Some(p.token_id),
        };
        Ok(Actor {
            token_id,
            name: caller.who(),
            at: self.clock.now(),
        })
    }

    /// Imports a dump read from a file (see [`import`]), then wakes the alert engine: the
    /// outbox and the schedule may have changed.
    pub async fn import(
        &self,
        caller: &Caller,
        dump: ParsedDump,
    ) -> Result<ImportSummary, ImportError> {
        let actor = self.import_actor(caller)?;
        let channels: Vec<Channel> = dump
            .channels
            .iter()
            .map(|l| l.record.channel.clone())
            .collect();
        let summary = import_as(self.store(), dump, &self.builtin_slugs(), Some(actor)).await?;
        // A channel the dump brings reaches the holder's undeliverable alerts, as one added
        // by `notify add` does (a channel the store already had reaches none: its alerts
        // have a delivery through it).
        for channel in &channels {
            if let Err(e) = self.reach_through(channel).await {
                tracing::warn!(channel = %IdKind::Channel.format(channel.id), error = %e, "imported channel: undeliverable alerts not given a delivery");
            }
        }
        self.wake_alerts();
        Ok(summary)
    }

    /// Imports the dump in `file` in bounded memory (see [`import_file`]), then wakes the
    /// alert engine.
    pub async fn import_file(
        &self,
        caller: &Caller,
        file: Box<dyn DumpBatches>,
        choice: Choice,
    ) -> Result<ImportSummary, ImportError> {
        let actor = self.import_actor(caller)?;
        let now = self.clock.now();
        let summary = import_file(
            self.store(),
            file,
            now,
            self.builtin_slugs(),
            Some(actor),
            choice,
        )
        .await?;
        // A channel the dump brings reaches the holder's undeliverable alerts, as one added
        // by `notify add` does.
        for &id in &summary.new_channels {
            let reached = match self.store().channel(id).await {
                Ok(channel) => self.reach_through(&channel).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = reached {
                tracing::warn!(channel = %IdKind::Channel.format(id), error = %e, "imported channel: undeliverable alerts not given a delivery");
            }
        }
        self.wake_alerts();
        Ok(summary)
    }
}

/// A reference that neither the lines read so far nor the store resolve: it is looked up
/// in the whole dump once every line is read.
enum Ref {
    Holder(u64),
    Team(u64),
    Program(String),
    Credential(u64),
    Pin { pin: u64, holder: u64 },
}

/// The state of an import across the batches of a dump: what the checks across lines need
/// (ids and keys seen, references still open) and what the plan needs at its end (counters,
/// the default holder, last ticks, tokens). Each batch is checked and planned on its own
/// with it: [`Importer::check_window`] and [`Importer::plan`] in the first pass (comparing
/// with the store), [`Importer::plan`] again in the second (giving the batch's writes).
struct Importer {
    builtin: BTreeSet<String>,
    /// Restore only these records.
    only: Option<Only>,
    /// A holder, credential or course that differs from the store's with its id replaces
    /// it (else it is a conflict).
    replace: bool,
    /// In the second pass: plans are written, history is compared.
    second: bool,
    p: Problems,
    line_errors: Vec<LineError>,
    holders: BTreeMap<u64, usize>,
    default_line: Option<usize>,
    programs: BTreeMap<String, usize>,
    /// The dump's competency programs read so far, by slug: their line and the program.
    competency: BTreeMap<String, (usize, CompetencyProgram)>,
    credentials: BTreeMap<u64, usize>,
    /// Holder of each credential of the dump.
    owners: HashMap<u64, u64>,
    held: BTreeMap<(u64, String), usize>,
    courses: BTreeMap<u64, usize>,
    channels: BTreeMap<u64, usize>,
    targets: BTreeMap<(u64, &'static str, String), usize>,
    scopes: BTreeMap<SettingsScope, usize>,
    alerts: BTreeMap<u64, usize>,
    keys: BTreeMap<String, usize>,
    zones: BTreeMap<String, usize>,
    dirty: BTreeMap<u64, usize>,
    token_ids: BTreeMap<u64, usize>,
    hashes: BTreeMap<TokenHash, usize>,
    team_ids: BTreeMap<u64, usize>,
    team_names: BTreeMap<String, usize>,
    history_ids: BTreeMap<u64, usize>,
    deferred: Vec<(usize, &'static str, Ref)>,
    /// Courses read before their holder: their dates are checked at the end.
    late_courses: Vec<Lined<Course>>,
    /// Time zones of the dump's holders, and of the store's as looked up.
    holder_zones: HashMap<u64, String>,
    store_zones: HashMap<u64, Option<String>>,
    t: Tally,
    /// The first pass's tally, once it ended.
    first: Option<ImportSummary>,
    history_tally: Tally,
    max_ids: NextIds,
    next_ids: Option<NextIds>,
    store_had_default: bool,
    first_new_holder: Option<u64>,
    default_new_holder: Option<u64>,
    dump_ticks: HashMap<String, Timestamp>,
    last_ticks: Vec<(String, Timestamp)>,
    tokens: Vec<Lined<Token>>,
    planned_tokens: Vec<Token>,
    renamed: HashMap<u64, u64>,
    counters: Vec<(IdKind, u64)>,
    moved_history: Vec<HistoryEntry>,
}

impl Importer {
    fn new(builtin: BTreeSet<String>, view: &dyn StoreView) -> Result<Importer, StoreError> {
        Ok(Importer {
            builtin,
            only: None,
            replace: false,
            second: false,
            p: Problems::default(),
            line_errors: Vec::new(),
            holders: BTreeMap::new(),
            default_line: None,
            programs: BTreeMap::new(),
            competency: BTreeMap::new(),
            credentials: BTreeMap::new(),
            owners: HashMap::new(),
            held: BTreeMap::new(),
            courses: BTreeMap::new(),
            channels: BTreeMap::new(),
            targets: BTreeMap::new(),
            scopes: BTreeMap::new(),
            alerts: BTreeMap::new(),
            keys: BTreeMap::new(),
            zones: BTreeMap::new(),
            dirty: BTreeMap::new(),
            token_ids: BTreeMap::new(),
            hashes: BTreeMap::new(),
            team_ids: BTreeMap::new(),
            team_names: BTreeMap::new(),
            history_ids: BTreeMap::new(),
            deferred: Vec::new(),
            late_courses: Vec::new(),
            holder_zones: HashMap::new(),
            store_zones: HashMap::new(),
            t: Tally::default(),
            first: None,
            history_tally: Tally::default(),
            max_ids: NextIds {
                holder: 0,
                credential: 0,
                course: 0,
                alert: 0,
                channel: 0,
            },
            next_ids: None,
            store_had_default: view.default_holder()?.is_some(),
            first_new_holder: None,
            default_new_holder: None,
            dump_ticks: HashMap::new(),
            last_ticks: Vec::new(),
            tokens: Vec::new(),
            planned_tokens: Vec::new(),
            renamed: HashMap::new(),
            counters: Vec::new(),
            moved_history: Vec::new(),
        })
    }

    /// The time zone of holder `id`: the dump's, else the store's.
    fn zone(&mut self, view: &dyn StoreView, id: u64) -> Result<Option<String>, StoreError> {
        if let Some(z) = self.holder_zones.get(&id) {
            return Ok(Some(z.clone()));
        }
        if let Some(z) = self.store_zones.get(&id) {
            return Ok(z.clone());
        }
        let z = view.holder(id)?.map(|h| h.time_zone);
        self.store_zones.insert(id, z.clone());
        Ok(z)
    }

    /// One batch of the first pass: the checks of lines that need the time (each course
    /// against its holder's date), then, while no line has a problem, the checks across
    /// lines and the comparison with the store.
    fn first_window(
        &mut self,
        view: &dyn StoreView,
        d: ParsedDump,
        now: Timestamp,
        broken: bool,
    ) -> Result<(), ImportError> {
        for l in &d.holders {
            let h = &l.record.0;
            self.holder_zones.insert(h.id, h.time_zone.clone());
        }
        let mut zones = HashMap::new();
        for l in &d.courses {
            let id = l.record.holder_id;
            if zones.contains_key(&id) {
                continue;
            }
            let zone = self.zone(view, id)?;
            zones.insert(id, zone);
        }
        for l in &d.courses {
            if zones.get(&l.record.holder_id).is_none_or(Option::is_none) {
                self.late_courses.push(l.clone());
            }
        }
        let errors = line_checks(&d, now, |id| zones.get(&id).cloned().flatten());
        self.line_errors.extend(errors);
        if broken || !self.line_errors.is_empty() {
            return Ok(());
        }
        let d = self.select(d);
        self.check_window(view, &d)
    }

    /// The records of `d` this import restores: all, or those chosen with `only`.
    fn select(&mut self, d: ParsedDump) -> ParsedDump {
        match &mut self.only {
            Some(only) => only.select(d),
            None => d,
        }
    }

    /// The date checks of courses read before their holder, now that every holder is read.
    fn late_line_checks(&mut self, now: Timestamp) -> Vec<LineError> {
        let mut errors = std::mem::take(&mut self.line_errors);
        let late = ParsedDump {
            courses: std::mem::take(&mut self.late_courses),
            ..ParsedDump::default()
        };
        if !late.courses.is_empty() {
            let zones = &self.holder_zones;
            errors.extend(line_checks(&late, now, |id| zones.get(&id).cloned()));
        }
        errors
    }

    /// Checks across lines and the comparison with the store, for one batch of the first
    /// pass (skipped once a check failed: the import will write nothing).
    fn check_window(&mut self, view: &dyn StoreView, d: &ParsedDump) -> Result<(), ImportError> {
        self.check(view, d)?;
        if self.p.0.is_empty() {
            let mut sink = RestorePlan::default();
            self.plan(view, d, &mut sink)?;
        }
        Ok(())
    }

    /// Notes holder `id` needed on `line`: in the dump so far or the store, else looked up
    /// in the whole dump at the end.
    fn need_holder(
        &mut self,
        view: &dyn StoreView,
        line: usize,
        field: &'static str,
        id: u64,
    ) -> Result<(), StoreError> {
        if !self.holders.contains_key(&id) && !view.has_holder(id)? {
            self.deferred.push((line, field, Ref::Holder(id)));
        }
        Ok(())
    }

    /// Checks a batch against the lines before it and the store: duplicates, references,
    /// unique keys.
    fn check(&mut self, view: &dyn StoreView, d: &ParsedDump) -> Result<(), StoreError> {
        for l in &d.competency_programs {
            let p = &l.record;
            if let Some((first, _)) = self.competency.get(&p.slug) {
                let first = *first;
                self.p.add(
                    l.line,
                    "competency_program.slug",
                    format!("competency program {} is also on line {first}", p.slug),
                );
            } else {
                self.competency.insert(p.slug.clone(), (l.line, p.clone()));
            }
        }
        for l in &d.holders {
            let h = &l.record.0;
            for skill in &h.competencies {
                let program = match self.competency.get(&skill.program) {
                    Some((_, p)) => Some(p.clone()),
                    None => match view.competency_program(&skill.program)? {
                        Some(p) => Some(p),
                        None => crate::catalog::competency(&skill.program).cloned(),
                    },
                };
                let Some(program) = program else {
                    self.p.add(
                        l.line,
                        "holder.competencies.program",
                        format!(
                            "holder.competencies.program {:?} is neither built in nor a competency program in the store or on an earlier line of the dump",
                            skill.program
                        ),
                    );
                    continue;
                };
                for a in &skill.assessments {
                    if let Err(errors) = a.validate(&program) {
                        for e in errors {
                            self.p.add(
                                l.line,
                                "holder.competencies.elements",
                                format!("holder.competencies.{}", e.message),
                            );
                        }
                    }
                }
            }
        }
        for l in &d.holders {
            let (h, is_default) = &l.record;
            self.p.unique(&mut self.holders, h.id, l.line, || {
                format!("holder {}", IdKind::Holder.format(h.id))
            });
            if *is_default {
                match self.default_line {
                    Some(first) => self.p.add(
                        l.line,
                        "holder.is_default",
                        format!("a second default holder (the first is on line {first})"),
                    ),
                    None => self.default_line = Some(l.line),
                }
            }
        }
        for l in &d.programs {
            self.p
                .unique(&mut self.programs, l.record.slug.clone(), l.line, || {
                    format!("program {}", l.record.slug)
                });
        }
        for l in &d.credentials {
            let c = &l.record;
            self.p.unique(&mut self.credentials, c.id, l.line, || {
                format!("credential {}", IdKind::Credential.format(c.id))
            });
            self.owners.entry(c.id).or_insert(c.holder_id);
            self.p.unique(
                &mut self.held,
                (c.holder_id, c.program.clone()),
                l.line,
                || {
                    format!(
                        "a second {} credential of holder {}",
                        c.program,
                        IdKind::Holder.format(c.holder_id)
                    )
                },
            );
            self.need_holder(view, l.line, "credential.holder_id", c.holder_id)?;
            let known = self.programs.contains_key(c.program.as_str())
                || self.builtin.contains(&c.program)
                || view.local_program(&c.program)?.is_some();
            if !known {
                self.deferred.push((
                    l.line,
                    "credential.program",
                    Ref::Program(c.program.clone()),
                ));
            }
        }
        for l in &d.courses {
            let c = &l.record;
            self.p.unique(&mut self.courses, c.id, l.line, || {
                format!("course {}", IdKind::Course.format(c.id))
            });
            self.need_holder(view, l.line, "course.holder_id", c.holder_id)?;
            for &pin in &c.credential_ids {
                let owner = match self.owners.get(&pin) {
                    Some(&owner) => Some(owner),
                    None => view.credential(pin)?.map(|c| c.holder_id),
                };
                let r = Ref::Pin {
                    pin,
                    holder: c.holder_id,
                };
                match owner {
                    None => self.deferred.push((l.line, "course.credential_ids", r)),
                    Some(owner) => self.pin_problem(l.line, pin, owner, c.holder_id),
                }
            }
        }
        for l in &d.channels {
            let c = &l.record.channel;
            self.p.unique(&mut self.channels, c.id, l.line, || {
                format!("channel {}", IdKind::Channel.format(c.id))
            });
            // A team's channel is unique within its team: its owner counts down from the top
            // of the id space, where no holder id reaches.
            let owner = if c.team_id != 0 {
                u64::MAX - c.team_id
            } else {
                c.holder_id
            };
            self.p.unique(
                &mut self.targets,
                (owner, c.kind.name(), c.target.clone()),
                l.line,
                || format!("the {} channel {}", c.kind.name(), c.target),
            );
            if c.team_id == 0 {
                self.need_holder(view, l.line, "channel.holder_id", c.holder_id)?;
            } else if !self.team_ids.contains_key(&c.team_id) && view.team(c.team_id)?.is_none() {
                // Resolved at the end of the pass: the team's line may come in a later batch.
                self.deferred
                    .push((l.line, "channel.team_id", Ref::Team(c.team_id)));
            }
        }
        for l in &d.alert_settings {
            let (scope, _) = &l.record;
            self.p.unique(&mut self.scopes, scope.clone(), l.line, || {
                "alert settings of this scope".to_string()
            });
            match scope {
                SettingsScope::Holder(h) => {
                    self.need_holder(view, l.line, "alert_settings.holder_id", *h)?;
                }
                SettingsScope::Credential(c) => {
                    let exists = self.credentials.contains_key(c) || view.has_credential(*c)?;
                    if !exists {
                        self.deferred.push((
                            l.line,
                            "alert_settings.credential_id",
                            Ref::Credential(*c),
                        ));
                    }
                }
                // Settings of a program outlive the program (they are not removed with it).
                SettingsScope::Program(_) => {}
            }
        }
        for l in &d.alerts {
            let a = &l.record;
            self.p.unique(&mut self.alerts, a.id, l.line, || {
                format!("alert {}", IdKind::Alert.format(a.id))
            });
            self.p.unique(&mut self.keys, a.key(), l.line, || {
                format!("alert key {}", a.key())
            });
            // An alert outlives its credential, so only the holder must exist.
            self.need_holder(view, l.line, "alert.holder_id", a.holder_id)?;
        }
        for l in &d.last_ticks {
            self.p
                .unique(&mut self.zones, l.record.0.clone(), l.line, || {
                    format!("the last tick of {}", l.record.0)
                });
        }
        for l in &d.dirty_credentials {
            self.p.unique(&mut self.dirty, l.record, l.line, || {
                format!("dirty credential {}", IdKind::Credential.format(l.record))
            });
        }
        self.check_access(view, d)
    }

    fn pin_problem(&mut self, line: usize, pin: u64, owner: u64, holder: u64) {
        if owner != holder {
            self.p.add(
                line,
                "course.credential_ids",
                format!(
                    "course.credential_ids: credential {} belongs to holder {}, not {}",
                    IdKind::Credential.format(pin),
                    IdKind::Holder.format(owner),
                    IdKind::Holder.format(holder)
                ),
            );
        }
    }

    /// Checks the batch's tokens, teams and history: no id (or token hash, or team name)
    /// twice, and every holder they name in the dump or the store.
    fn check_access(&mut self, view: &dyn StoreView, d: &ParsedDump) -> Result<(), StoreError> {
        for l in &d.tokens {
            let t = &l.record;
            self.p.unique(&mut self.token_ids, t.id, l.line, || {
                format!("token {}", token_id(t.id))
            });
            self.p.unique(&mut self.hashes, t.hash, l.line, || {
                format!("the secret of token {}", token_id(t.id))
            });
            if let Some(h) = t.holder_id {
                self.need_holder(view, l.line, "token.holder_id", h)?;
            }
        }
        for l in &d.teams {
            let t = &l.record;
            self.p.unique(&mut self.team_ids, t.id, l.line, || {
                format!("team {}", team_id(t.id))
            });
            self.p
                .unique(&mut self.team_names, t.name.clone(), l.line, || {
                    format!("team name {:?}", t.name)
                });
            for &h in &t.members {
                self.need_holder(view, l.line, "team.member_ids", h)?;
            }
            for &h in &t.leads {
                self.need_holder(view, l.line, "team.lead_ids", h)?;
            }
        }
        for l in &d.history {
            self.p
                .unique(&mut self.history_ids, l.record.id, l.line, || {
                    format!("history entry {}", l.record.id)
                });
        }
        Ok(())
    }

    /// Ends the first pass: the references left open resolve in the whole dump or are
    /// problems; then the tokens, counters and conflicts with the store.
    fn end_first_pass(&mut self, view: &dyn StoreView) -> Result<(), ImportError> {
        for (line, field, r) in std::mem::take(&mut self.deferred) {
            match r {
                Ref::Holder(id) => {
                    if !self.holders.contains_key(&id) {
                        self.p.add(
                            line,
                            field,
                            format!(
                                "{field} {} is neither in the dump nor in the store",
                                IdKind::Holder.format(id)
                            ),
                        );
                    }
                }
                Ref::Team(id) => {
                    if !self.team_ids.contains_key(&id) {
                        self.p.add(
                            line,
                            field,
                            format!(
                                "{field} {} is neither in the dump nor in the store",
                                team_id(id)
                            ),
                        );
                    }
                }
                Ref::Program(slug) => {
                    if !self.programs.contains_key(&slug) {
                        self.p.add(
                            line,
                            field,
                            format!(
                                "credential.program {slug:?} is neither built in nor a local program in the dump or the store"
                            ),
                        );
                    }
                }
                Ref::Credential(id) => {
                    if !self.credentials.contains_key(&id) {
                        self.p.add(
                            line,
                            field,
                            format!(
                                "alert_settings.credential_id {} is neither in the dump nor in the store",
                                IdKind::Credential.format(id)
                            ),
                        );
                    }
                }
                Ref::Pin { pin, holder } => match self.owners.get(&pin) {
                    Some(&owner) => self.pin_problem(line, pin, owner, holder),
                    None => self.p.add(
                        line,
                        field,
                        format!(
                            "course.credential_ids: credential {} is neither in the dump nor in the store",
                            IdKind::Credential.format(pin)
                        ),
                    ),
                },
            }
        }
        if !self.p.0.is_empty() {
            let mut problems = std::mem::take(&mut self.p.0);
            problems.sort_by_key(|e| e.line);
            return Err(ImportError::Invalid(problems));
        }
        self.plan_tokens(view)?;
        // Counters: past every imported id, and at least the dump's.
        let stored = view.next_ids()?;
        let mut raised = false;
        for kind in COUNTED {
            let ours = stored.get(kind);
            let theirs = self.next_ids.map_or(1, |n| n.get(kind));
            let next = ours
                .max(theirs)
                .max(self.max_ids.get(kind).saturating_add(1));
            if next > ours {
                self.counters.push((kind, next));
                raised = true;
            }
        }
        if self.next_ids.is_some() {
            self.t.count(raised);
        }
        let tally = std::mem::take(&mut self.t);
        self.first = Some(tally.finish()?);
        self.second = true;
        Ok(())
    }

    /// What the import did: the first pass's tally, with the history compared in the second.
    fn summary(&self) -> ImportSummary {
        let mut s = self.first.clone().unwrap_or_default();
        s.imported += self.history_tally.summary.imported;
        s.unchanged += self.history_tally.summary.unchanged;
        s
    }

    /// The writes that come last, after every batch: the default holder, tokens, last ticks,
    /// counters, and history entries moved to new ids.
    fn last_batch(&mut self) -> RestorePlan {
        let default_holder = if self.store_had_default {
            None
        } else {
            self.default_new_holder.or(self.first_new_holder)
        };
        RestorePlan {
            default_holder,
            tokens: std::mem::take(&mut self.planned_tokens),
            last_ticks: std::mem::take(&mut self.last_ticks),
            counters: std::mem::take(&mut self.counters),
            history: std::mem::take(&mut self.moved_history),
            ..RestorePlan::default()
        }
    }

    /// Plans the dump's tokens, once every line is read. A token is the same token as the
    /// store's when its secret's hash is (the store's record stands; a different role or
    /// holder, or a revocation the store lacks, is a conflict); a new one keeps its id when
    /// the store's is free and otherwise gets the next (the history entries naming it
    /// follow).
    fn plan_tokens(&mut self, view: &dyn StoreView) -> Result<(), StoreError> {
        let dump_top = self.tokens.iter().map(|l| l.record.id).max().unwrap_or(0);
        let mut fresh = view.next_token_id()?.max(dump_top + 1);
        for l in std::mem::take(&mut self.tokens) {
            let token = &l.record;
            match view.token_by_hash(&token.hash)? {
                // The same secret: the same token whatever its name or dates (an
                // admin.token copied beside a new store is made anew there), unless it
                // would grant something else or undo a revocation.
                Some(ours)
                    if ours.role == token.role
                        && ours.holder_id == token.holder_id
                        && (ours.revoked_at.is_some() || token.revoked_at.is_none()) =>
                {
                    // Brought in before under another id: the entries naming it follow.
                    if ours.id != token.id {
                        self.renamed.insert(token.id, ours.id);
                    }
                    self.t.count(false);
                }
                Some(ours) => self.t.differs(
                    l.line,
                    format!(
                        "token {} (the store's token {} by its secret)",
                        token_id(token.id),
                        token_id(ours.id)
                    ),
                    differing_fields(&access_json(token), &access_json(&ours)),
                ),
                None => {
                    let id = if view.token(token.id)?.is_none() {
                        token.id
                    } else {
                        fresh += 1;
                        self.renamed.insert(token.id, fresh - 1);
                        fresh - 1
                    };
                    self.planned_tokens.push(Token {
                        id,
                        ..token.clone()
                    });
                    self.t.count(true);
                }
            }
        }
        Ok(())
    }

    /// Why credential `new` may not replace the store's `old` (same id), if it may not: the
    /// holder would hold its program twice, or courses of the old holder pin it and it
    /// moves to another holder. (A course's pins are checked with the course, against the
    /// dump's credentials and the store's.)
    fn replace_problem(
        &self,
        view: &dyn StoreView,
        old: &Credential,
        new: &Credential,
    ) -> Result<Option<String>, StoreError> {
        if let Some(other) = view
            .credentials_of(new.holder_id)?
            .into_iter()
            .find(|o| o.program == new.program && o.id != new.id)
        {
            return Ok(Some(format!(
                "credential {} cannot replace the store's: holder {} already holds {} in the store as credential {}",
                IdKind::Credential.format(new.id),
                IdKind::Holder.format(new.holder_id),
                new.program,
                IdKind::Credential.format(other.id)
            )));
        }
        if old.holder_id != new.holder_id
            && let Some(course) = view
                .courses_of(old.holder_id)?
                .into_iter()
                .find(|co| co.credential_ids.contains(&new.id))
        {
            return Ok(Some(format!(
                "credential {} cannot replace the store's: it would move to holder {}, but course {} of holder {} is pinned to it",
                IdKind::Credential.format(new.id),
                IdKind::Holder.format(new.holder_id),
                IdKind::Course.format(course.id),
                IdKind::Holder.format(old.holder_id)
            )));
        }
        Ok(None)
    }

    /// Compares a batch's records with the store. In the first pass it counts what is new
    /// and notes conflicts (and what the end needs); in the second it plans the writes of
    /// the new records into `plan` (and compares the history, which needs every token).
    fn plan(
        &mut self,
        view: &dyn StoreView,
        d: &ParsedDump,
        plan: &mut RestorePlan,
    ) -> Result<(), StoreError> {
        let first = !self.second;
        if first && let Some(l) = &d.next_ids {
            self.next_ids = Some(l.record);
        }
        for l in &d.holders {
            let (h, is_default) = &l.record;
            self.max_ids.raise(IdKind::Holder, h.id);
            match compare(h, view.holder(h.id)?) {
                Compare::New => {
                    plan.holders.push(h.clone());
                    if first {
                        self.first_new_holder.get_or_insert(h.id);
                        if *is_default {
                            self.default_new_holder.get_or_insert(h.id);
                        }
                    }
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(_) if self.replace => {
                    if let Some(old) = view.holder(h.id)? {
                        plan.replaced_holders.push((old, h.clone()));
                    }
                    self.t.summary.replaced += 1;
                }
                Compare::Differs(f) => self.t.record_differs(l.line, IdKind::Holder, h.id, f),
            }
        }

        for l in &d.competency_programs {
            let program = &l.record;
            match compare(program, view.competency_program(&program.slug)?) {
                Compare::New => {
                    plan.competency_programs.push(program.clone());
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(f) => {
                    self.t
                        .differs(l.line, format!("competency program {}", program.slug), f);
                }
            }
        }
        for l in &d.programs {
            let program = &l.record;
            match compare(program, view.local_program(&program.slug)?) {
                Compare::New => {
                    plan.programs.push(program.clone());
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(f) => {
                    self.t
                        .differs(l.line, format!("program {}", program.slug), f);
                }
            }
        }

        if first {
            for l in &d.last_ticks {
                self.dump_ticks.insert(l.record.0.clone(), l.record.1);
            }
        }
        for l in &d.credentials {
            let c = &l.record;
            self.max_ids.raise(IdKind::Credential, c.id);
            match compare(c, view.credential(c.id)?) {
                Compare::New => {
                    if let Some(other) = view
                        .credentials_of(c.holder_id)?
                        .into_iter()
                        .find(|o| o.program == c.program && o.id != c.id)
                    {
                        self.t.conflict(
                            l.line,
                            format!(
                                "holder {} already holds {} in the store as credential {}",
                                IdKind::Holder.format(c.holder_id),
                                c.program,
                                IdKind::Credential.format(other.id)
                            ),
                        );
                        continue;
                    }
                    plan.credentials.push(c.clone());
                    // Where the store's scheduler is ahead of the dump's, the marks it
                    // passed were never looked at for this credential: the next tick
                    // should. (Only the second pass knows every tick of the dump.)
                    if !first
                        && let Some(zone) = self.zone(view, c.holder_id)?
                        && let Some(ours) = view.last_tick(&zone)?
                        && self
                            .dump_ticks
                            .get(zone.as_str())
                            .is_none_or(|&at| ours > at)
                    {
                        plan.dirty_credentials.push(c.id);
                    }
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(_) if self.replace => {
                    let Some(old) = view.credential(c.id)? else {
                        continue;
                    };
                    if let Some(problem) = self.replace_problem(view, &old, c)? {
                        self.t.conflict(l.line, problem);
                        continue;
                    }
                    // Its expiry or program may have moved: the next tick looks again.
                    plan.dirty_credentials.push(c.id);
                    plan.replaced_credentials.push((old, c.clone()));
                    self.t.summary.replaced += 1;
                }
                Compare::Differs(f) => {
                    self.t.record_differs(l.line, IdKind::Credential, c.id, f);
                }
            }
        }

        for l in &d.courses {
            let c = &l.record;
            self.max_ids.raise(IdKind::Course, c.id);
            match compare(c, view.course(c.id)?) {
                Compare::New => {
                    plan.courses.push(c.clone());
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(_) if self.replace => {
                    if let Some(old) = view.course(c.id)? {
                        plan.replaced_courses.push((old, c.clone()));
                    }
                    self.t.summary.replaced += 1;
                }
                Compare::Differs(f) => self.t.record_differs(l.line, IdKind::Course, c.id, f),
            }
        }

        for l in &d.channels {
            let DumpChannel {
                channel,
                secret_omitted,
            } = &l.record;
            self.max_ids.raise(IdKind::Channel, channel.id);
            let stored = view.channel(channel.id)?;
            // Without its secret, a channel matches the store's whatever the secret is.
            let ours = match (&stored, secret_omitted) {
                (Some(s), true) => Channel {
                    secret: s.secret.clone(),
                    ..channel.clone()
                },
                _ => channel.clone(),
            };
            match compare(&ours, stored) {
                Compare::New => {
                    let same_target = view.channels_of(channel.holder_id)?.into_iter().find(|o| {
                        o.kind == channel.kind && o.target == channel.target && o.id != channel.id
                    });
                    if let Some(other) = same_target {
                        self.t.conflict(
                            l.line,
                            format!(
                                "holder {} already has the {} channel {} in the store as {}",
                                IdKind::Holder.format(channel.holder_id),
                                channel.kind.name(),
                                channel.target,
                                IdKind::Channel.format(other.id)
                            ),
                        );
                        continue;
                    }
                    plan.channels.push(channel.clone());
                    if !self.second {
                        self.t.summary.new_channels.push(channel.id);
                    }
                    if *secret_omitted {
                        self.t.summary.channels_without_secret += 1;
                    }
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(f) => {
                    self.t
                        .record_differs(l.line, IdKind::Channel, channel.id, f);
                }
            }
        }

        for l in &d.alert_settings {
            let (scope, settings) = &l.record;
            match compare(settings, view.alert_settings(scope)?) {
                Compare::New => {
                    plan.alert_settings.push((scope.clone(), settings.clone()));
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(f) => self.t.differs(l.line, scope_name(scope), f),
            }
        }

        for l in &d.alerts {
            let a = &l.record;
            self.max_ids.raise(IdKind::Alert, a.id);
            match compare(a, view.alert(a.id)?) {
                Compare::New => {
                    if let Some(other) = view.alert_with_key(&a.dedupe_key())?
                        && other != a.id
                    {
                        self.t.conflict(
                            l.line,
                            format!(
                                "the store already has alert {} with key {}",
                                IdKind::Alert.format(other),
                                a.key()
                            ),
                        );
                        continue;
                    }
                    plan.alerts.push(a.clone());
                    self.t.count(true);
                }
                Compare::Same => self.t.count(false),
                Compare::Differs(f) => self.t.record_differs(l.line, IdKind::Alert, a.id, f),
            }
        }

        if first {
            for l in &d.last_ticks {
                let (zone, at) = &l.record;
                let later = view.last_tick(zone)?.is_none_or(|ours| *at > ours);
                if later {
                    self.last_ticks.push((zone.clone(), *at));
                }
                self.t.count(later);
            }
        }

        for l in &d.dirty_credentials {
            let new = !view.is_dirty(l.record)?;
            if new {
                plan.dirty_credentials.push(l.record);
            }
            self.t.count(new);
        }

        if first {
            self.tokens.extend(d.tokens.iter().cloned());
        }
        for l in &d.teams {
            let team = &l.record;
            match view.team(team.id)? {
                Some(ours) if &ours == team => self.t.count(false),
                Some(_) => {
                    self.t
                        .differs(l.line, format!("team {}", team_id(team.id)), String::new());
                }
                None => match view.team_named(&team.name)? {
                    Some(other) => self.t.conflict(
                        l.line,
                        format!(
                            "the store already has a team named {:?} as {}",
                            team.name,
                            team_id(other.id)
                        ),
                    ),
                    None => {
                        plan.teams.push(team.clone());
                        self.t.count(true);
                    }
                },
            }
        }
        // A history entry equal to the store's entry with its id is unchanged; any other is
        // appended, under its id when that is free (else at the end, under a new one).
        if !first {
            for l in &d.history {
                let entry = HistoryEntry {
                    token_id: l
                        .record
                        .token_id
                        .map(|id| self.renamed.get(&id).copied().unwrap_or(id)),
                    ..l.record.clone()
                };
                match view.history_entry(entry.id)? {
                    Some(ours) if ours == entry => self.history_tally.count(false),
                    Some(_) => {
                        self.moved_history.push(HistoryEntry { id: 0, ..entry });
                        self.history_tally.count(true);
                    }
                    None => {
                        plan.history.push(entry);
                        self.history_tally.count(true);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A token's fields by name, for conflict messages (the hash is never shown).
fn access_json(t: &Token) -> serde_json::Value {
    serde_json::json!({
        "id": token_id(t.id),
        "name": t.name,
        "role": t.role.as_str(),
        "holder_id": t.holder_id,
        "created_at": t.created_at.to_string(),
        "expires_at": t.expires_at.map(|at| at.to_string()),
        "revoked_at": t.revoked_at.map(|at| at.to_string()),
    })
}

/// A scope as a conflict message names it.
fn scope_name(scope: &SettingsScope) -> String {
    match scope {
        SettingsScope::Program(slug) => format!("the alert settings of program {slug}"),
        SettingsScope::Holder(id) => {
            format!(
                "the alert settings of holder {}",
                IdKind::Holder.format(*id)
            )
        }
        SettingsScope::Credential(id) => format!(
            "the alert settings of credential {}",
            IdKind::Credential.format(*id)
        ),
    }
}

/// What the comparison with the store found so far.
#[derive(Default)]
struct Tally {
    summary: ImportSummary,
    conflicts: Vec<(usize, String)>,
}

impl Tally {
    fn count(&mut self, changed: bool) {
        if changed {
            self.summary.imported += 1;
        } else {
            self.summary.unchanged += 1;
        }
    }

    fn conflict(&mut self, line: usize, message: String) {
        self.conflicts.push((line, message));
    }

    /// `what` (e.g. `course co3`) differs from the store's record in `fields`.
    fn differs(&mut self, line: usize, what: String, fields: String) {
        let fields = if fields.is_empty() {
            String::new()
        } else {
            format!(" (fields: {fields})")
        };
        self.conflict(
            line,
            format!(
                "{what} differs from the one in the store{fields}; remove it from the dump or from the store"
            ),
        );
    }

    /// The record `kind` `id` differs from the store's in `fields`.
    fn record_differs(&mut self, line: usize, kind: IdKind, id: u64, fields: String) {
        self.differs(line, format!("{} {}", kind.noun(), kind.format(id)), fields);
    }

    fn finish(self) -> Result<ImportSummary, ImportError> {
        match self.conflicts.into_iter().min_by_key(|(line, _)| *line) {
            Some((line, message)) => Err(ImportError::Conflict { line, message }),
            None => Ok(self.summary),
        }
    }
}

/// The checks of records that need the time: each course against its holder's date at `now`
/// (its zone from `zone_of`), and the values that steer the alert engine.
pub fn line_checks(
    dump: &ParsedDump,
    now: Timestamp,
    zone_of: impl Fn(u64) -> Option<String>,
) -> Vec<LineError> {
    let mut out = Vec::new();
    for l in &dump.courses {
        // An unknown holder is reported by the import; only the date check needs one.
        let today = zone_of(l.record.holder_id)
            .and_then(|z| jiff::tz::TimeZone::get(&z).ok())
            .map_or(jiff::civil::Date::MAX, |tz| now.to_zoned(tz).date());
        if let Err(errors) = l.record.validate(today) {
            out.extend(errors.into_iter().map(|e| LineError::field(l.line, e)));
        }
    }
    out.extend(steering_errors(dump, now));
    out
}

/// The values that steer the alert engine, checked against `now`: a last tick in the future
/// would hold back every alert of its zone, a snooze years ahead or a next attempt far off
/// would silence an alert for good.
fn steering_errors(dump: &ParsedDump, now: Timestamp) -> Vec<LineError> {
    let mut errors = Vec::new();
    for l in &dump.last_ticks {
        let (zone, at) = &l.record;
        if *at > now {
            errors.push(LineError::new(
                l.line,
                "last_tick.at",
                format!(
                    "last_tick.at {at} is in the future (it is {now} now): it would hold back every alert in {zone}"
                ),
            ));
        }
    }
    let latest_snooze = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(crate::domain::limits::MAX_SNOOZE_DAYS))
        .unwrap_or(jiff::civil::Date::MAX);
    let latest_attempt = now
        .checked_add(jiff::SignedDuration::from_hours(
            24 * crate::domain::limits::MAX_NEXT_ATTEMPT_DAYS,
        ))
        .unwrap_or(Timestamp::MAX);
    for l in &dump.alerts {
        if let Some(until) = l.record.snoozed_until
            && until > latest_snooze
        {
            errors.push(LineError::new(
                l.line,
                "alert.snoozed_until",
                format!(
                    "alert.snoozed_until {until} is more than {} days ahead (the latest is {latest_snooze})",
                    crate::domain::limits::MAX_SNOOZE_DAYS
                ),
            ));
        }
        for d in &l.record.deliveries {
            if let Some(at) = d.next_attempt_at
                && at > latest_attempt
            {
                errors.push(LineError::new(
                    l.line,
                    "alert.deliveries.next_attempt_at",
                    format!(
                        "alert.deliveries.next_attempt_at {at} is more than {} days ahead",
                        crate::domain::limits::MAX_NEXT_ATTEMPT_DAYS
                    ),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelKind, Credits, Delivery, DeliveryState, Mark, Unit};
    use crate::store::{Dump, SledStore, StoreOptions};
    use jiff::civil::date;

    fn holder(name: &str, zone: &str) -> Holder {
        Holder {
            id: 0,
            name: name.into(),
            email: String::new(),
            time_zone: zone.into(),
            hired_on: None,
            competencies: Vec::new(),
        }
    }

    fn lined<T>(record: T) -> Lined<T> {
        Lined { line: 0, record }
    }

    /// Every record of `dump` on line 0, as an import would see them.
    fn parsed(dump: &Dump) -> ParsedDump {
        ParsedDump {
            next_ids: Some(lined(dump.next_ids)),
            holders: dump
                .holders
                .iter()
                .map(|h| lined((h.clone(), dump.default_holder == Some(h.id))))
                .collect(),
            programs: dump.programs.iter().cloned().map(lined).collect(),
            competency_programs: dump
                .competency_programs
                .iter()
                .cloned()
                .map(lined)
                .collect(),
            credentials: dump.credentials.iter().cloned().map(lined).collect(),
            courses: dump.courses.iter().cloned().map(lined).collect(),
            channels: dump
                .channels
                .iter()
                .map(|c| {
                    lined(DumpChannel {
                        channel: c.clone(),
                        secret_omitted: false,
                    })
                })
                .collect(),
            alert_settings: dump.alert_settings.iter().cloned().map(lined).collect(),
            alerts: dump.alerts.iter().cloned().map(lined).collect(),
            last_ticks: dump.last_ticks.iter().cloned().map(lined).collect(),
            dirty_credentials: dump.dirty_credentials.iter().copied().map(lined).collect(),
            tokens: dump.tokens.iter().cloned().map(lined).collect(),
            teams: dump.teams.iter().cloned().map(lined).collect(),
            history: dump.history.iter().cloned().map(lined).collect(),
        }
    }

    /// A store with one of everything, alerts with a pending delivery included.
    async fn filled(dir: &std::path::Path) -> SledStore {
        let store = SledStore::open(dir, &StoreOptions::default()).unwrap();
        let h1 = store
            .create_holder(holder("Dana Reyes", "America/Chicago"))
            .await
            .unwrap();
        let h2 = store
            .create_holder(holder("Sam Lee", "Pacific/Auckland"))
            .await
            .unwrap();
        store.delete_holder(h2.id, false).await.unwrap();
        let h3 = store
            .create_holder(holder("Ana Ruiz", "Pacific/Auckland"))
            .await
            .unwrap();
        let cred = store
            .create_credential(Credential {
                id: 0,
                holder_id: h1.id,
                program: "nha-cpt".into(),
                number: "CPT-1".into(),
                issued_on: None,
                expires_on: date(2026, 12, 24),
                history: vec![],
                verifications: Vec::new(),
            })
            .await
            .unwrap();
        store
            .create_course(Course {
                id: 0,
                holder_id: h1.id,
                title: "Venipuncture".into(),
                provider: String::new(),
                accreditation: String::new(),
                completed_on: date(2026, 2, 1),
                amount: Credits::whole(3),
                unit: Unit::Hours,
                categories: vec!["safety".into()],
                format: None,
                credential_ids: vec![cred.id],
                evidence: String::new(),
            })
            .await
            .unwrap();
        let channel = store
            .create_channel(Channel {
                id: 0,
                holder_id: h1.id,
                kind: ChannelKind::Webhook,
                target: "https://example.org/hook".into(),
                secret: "s3cret".into(),
                team_id: 0,
            })
            .await
            .unwrap();
        store
            .set_alert_settings(
                SettingsScope::Holder(h3.id),
                AlertSettings {
                    thresholds: Some(vec![30, 7]),
                    muted: false,
                },
            )
            .await
            .unwrap();
        let at: Timestamp = "2026-11-24T14:00:00Z".parse().unwrap();
        store
            .enqueue_alerts(vec![Alert {
                id: 0,
                holder_id: h1.id,
                subject: crate::domain::AlertSubject::Credential,
                credential_id: cred.id,
                program: "nha-cpt".into(),
                expires_on: cred.expires_on,
                mark: Mark::Before(30),
                threshold_days: 30,
                due_on: date(2026, 11, 24),
                title: "NHA CPT expires in 30 days".into(),
                body: "Still needed: 4 credits.".into(),
                met: false,
                compliance_status: "at_risk".into(),
                created_at: at,
                snoozed_until: None,
                acknowledged: false,
                cancelled: false,
                deliveries: vec![Delivery {
                    channel_id: channel.id,
                    kind: ChannelKind::Webhook,
                    target: channel.target.clone(),
                    attempts: 1,
                    last_error: "connection refused".into(),
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(at + jiff::SignedDuration::from_secs(30)),
                }],
            }])
            .await
            .unwrap();
        store.set_last_tick("America/Chicago", at).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_dump_restores_into_an_empty_store_with_every_index() {
        let tmp = tempfile::tempdir().unwrap();
        let source = filled(&tmp.path().join("a")).await;
        let dump = source.dump().unwrap();
        assert_eq!(dump.holders.len(), 2);
        assert_eq!(dump.next_ids.holder, 4, "h2 was deleted, h4 is next");

        let target = SledStore::open(&tmp.path().join("b"), &StoreOptions::default()).unwrap();
        let builtin: BTreeSet<String> = ["nha-cpt".to_string()].into();
        let summary = import(&target, parsed(&dump), &builtin).await.unwrap();
        assert_eq!(summary.unchanged, 0);
        let again = target.dump().unwrap();
        assert_eq!(format!("{again:?}"), format!("{dump:?}"));

        // Indexes: by holder, by expiry, by zone, alert keys and retries, channels.
        assert_eq!(target.default_holder_id().unwrap(), Some(1));
        assert_eq!(target.credentials_of(1).unwrap().len(), 1);
        assert_eq!(target.courses_of(1).unwrap().len(), 1);
        assert_eq!(target.channels_of(1).unwrap().len(), 1);
        assert!(
            target
                .holder_zones()
                .unwrap()
                .contains(&"Pacific/Auckland".to_string())
        );
        let report = target.check().unwrap();
        assert!(
            report.ok(),
            "indexes differ from the records: {:?}",
            report.problems
        );
        let expiring = target
            .expiring(date(2026, 12, 1), date(2026, 12, 31), None, 10)
            .unwrap();
        assert_eq!(expiring.items.len(), 1);
        assert!(
            target
                .alert_enqueued(&crate::domain::DedupeKey::Credential {
                    credential_id: 1,
                    expires_on: date(2026, 12, 24),
                    threshold_days: 30
                })
                .unwrap()
        );
        let due = target
            .alerts_due("2026-11-25T00:00:00Z".parse().unwrap(), 10)
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(target.alerts_of(1, None, 10).unwrap().items.len(), 1);

        // New ids continue after the imported ones.
        let h = target.create_holder(holder("New", "UTC")).await.unwrap();
        assert_eq!(h.id, 4);

        // Twice: nothing changes.
        let second = import(&target, parsed(&dump), &builtin).await.unwrap();
        assert_eq!(second.imported, 0);
        source.close().await.unwrap();
        target.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_different_record_with_the_same_id_is_a_conflict_and_nothing_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let store = filled(&tmp.path().join("a")).await;
        let mut dump = parsed(&store.dump().unwrap());
        for (i, l) in dump.courses.iter_mut().enumerate() {
            l.line = 10 + i;
            l.record.title = "Changed".into();
        }
        // A new course too: it must not be written either.
        let mut extra = dump.courses[0].clone();
        extra.record.id = 99;
        dump.courses.push(extra);
        let builtin: BTreeSet<String> = ["nha-cpt".to_string()].into();
        let before = format!("{:?}", store.dump().unwrap());
        match import(&store, dump, &builtin).await {
            Err(ImportError::Conflict { line, message }) => {
                assert_eq!(line, 10);
                assert!(message.contains("course co1 differs"), "{message}");
                assert!(message.contains("title"), "{message}");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(format!("{:?}", store.dump().unwrap()), before);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn references_must_resolve_in_the_dump_or_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SledStore::open(tmp.path(), &StoreOptions::default()).unwrap();
        let dump = ParsedDump {
            credentials: vec![Lined {
                line: 3,
                record: Credential {
                    id: 1,
                    holder_id: 7,
                    program: "no-such".into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: date(2027, 1, 1),
                    history: vec![],
                    verifications: Vec::new(),
                },
            }],
            ..ParsedDump::default()
        };
        match import(&store, dump, &BTreeSet::new()).await {
            Err(ImportError::Invalid(errors)) => {
                let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
                assert_eq!(
                    text,
                    [
                        "line 3: credential.holder_id h7 is neither in the dump nor in the store",
                        "line 3: credential.program \"no-such\" is neither built in nor a local program in the dump or the store"
                    ]
                );
            }
            other => panic!("expected invalid, got {other:?}"),
        }
        assert!(store.list_holders(None, 10).unwrap().items.is_empty());
        store.close().await.unwrap();
    }
}
