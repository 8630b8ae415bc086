//! Import of a dump: the rules that decide what a dump may add to the store, whatever the
//! engine. The dump arrives parsed and checked line by line (`backup::read`); here it is
//! checked as a whole (no id twice, references resolve, unique keys hold) and compared with
//! the store (equal records are skipped, different ones are conflicts), giving a
//! [`RestorePlan`] the engine writes in one transaction ([`Snapshots::restore`]) and an
//! [`ImportSummary`].

use super::{Caller, Service};
use crate::domain::{
    Actor, Alert, AlertSettings, Channel, Course, Credential, FieldError, HistoryEntry, Holder,
    IdKind, Program, Team, Token, team_id, token_id,
};
use crate::store::{
    COUNTED, NextIds, RestorePlan, SettingsScope, Snapshots, Store, StoreError, StoreView,
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Record lines that changed the store.
    pub imported: u64,
    /// Record lines the store already held with equal content.
    pub unchanged: u64,
    /// Webhook channels written without the secret the dump left out.
    pub channels_without_secret: u64,
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
    store
        .restore(|view| {
            check_dump(view, &dump, builtin_programs)?;
            let (mut plan, summary) = plan(view, &dump)?;
            if let Some(actor) = actor {
                plan.history.push(import_entry(actor, &summary));
            }
            Ok((plan, summary))
        })
        .await
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
        record: format!(
            "{} imported, {} unchanged",
            summary.imported, summary.unchanged
        ),
        holder_id: None,
        before: None,
        after: Some(
            serde_json::json!({
                "imported": summary.imported,
                "unchanged": summary.unchanged,
                "channels_without_secret": summary.channels_without_secret,
            })
            .to_string(),
        ),
    }
}

impl<S: Store> Service<S> {
    /// Imports a dump read from a file (see [`import`]), then wakes the alert engine: the
    /// outbox and the schedule may have changed.
    pub async fn import(
        &self,
        caller: &Caller,
        dump: ParsedDump,
    ) -> Result<ImportSummary, ImportError> {
        if !caller.is_admin() {
            return Err(ImportError::Denied(
                "importing a dump needs an admin token".into(),
            ));
        }
        let actor = match caller {
            Caller::LocalOperator => None,
            Caller::Token(p) => Some(p.token_id),
        };
        let actor = Actor {
            token_id: actor,
            name: caller.who(),
            at: self.clock.now(),
        };
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
}

/// Checks a dump against itself and the store: duplicates, references, unique keys.
fn check_dump(
    view: &dyn StoreView,
    d: &ParsedDump,
    builtin: &BTreeSet<String>,
) -> Result<(), ImportError> {
    let mut p = Problems::default();
    let mut holders = BTreeMap::new();
    let mut default_line: Option<usize> = None;
    for l in &d.holders {
        let (h, is_default) = &l.record;
        p.unique(&mut holders, h.id, l.line, || {
            format!("holder {}", IdKind::Holder.format(h.id))
        });
        if *is_default {
            match default_line {
                Some(first) => p.add(
                    l.line,
                    "holder.is_default",
                    format!("a second default holder (the first is on line {first})"),
                ),
                None => default_line = Some(l.line),
            }
        }
    }
    let mut programs = BTreeMap::new();
    for l in &d.programs {
        p.unique(&mut programs, l.record.slug.as_str(), l.line, || {
            format!("program {}", l.record.slug)
        });
    }
    let mut credentials: BTreeMap<u64, usize> = BTreeMap::new();
    let by_id: HashMap<u64, &Credential> = d
        .credentials
        .iter()
        .map(|l| (l.record.id, &l.record))
        .collect();
    let mut held = BTreeMap::new();
    for l in &d.credentials {
        let c = &l.record;
        p.unique(&mut credentials, c.id, l.line, || {
            format!("credential {}", IdKind::Credential.format(c.id))
        });
        p.unique(&mut held, (c.holder_id, c.program.as_str()), l.line, || {
            format!(
                "a second {} credential of holder {}",
                c.program,
                IdKind::Holder.format(c.holder_id)
            )
        });
        check_holder(
            view,
            &mut p,
            &holders,
            l.line,
            "credential.holder_id",
            c.holder_id,
        )?;
        let known = programs.contains_key(c.program.as_str())
            || builtin.contains(&c.program)
            || view.local_program(&c.program)?.is_some();
        if !known {
            p.add(
                l.line,
                "credential.program",
                format!(
                    "credential.program {:?} is neither built in nor a local program in the dump or the store",
                    c.program
                ),
            );
        }
    }
    let mut courses = BTreeMap::new();
    for l in &d.courses {
        let c = &l.record;
        p.unique(&mut courses, c.id, l.line, || {
            format!("course {}", IdKind::Course.format(c.id))
        });
        check_holder(
            view,
            &mut p,
            &holders,
            l.line,
            "course.holder_id",
            c.holder_id,
        )?;
        for &pin in &c.credential_ids {
            let owner = match by_id.get(&pin) {
                Some(cred) => Some(cred.holder_id),
                None => view.credential(pin)?.map(|c| c.holder_id),
            };
            let pin_name = IdKind::Credential.format(pin);
            match owner {
                None => p.add(
                    l.line,
                    "course.credential_ids",
                    format!(
                        "course.credential_ids: credential {pin_name} is neither in the dump nor in the store"
                    ),
                ),
                Some(owner) if owner != c.holder_id => p.add(
                    l.line,
                    "course.credential_ids",
                    format!(
                        "course.credential_ids: credential {pin_name} belongs to holder {}, not {}",
                        IdKind::Holder.format(owner),
                        IdKind::Holder.format(c.holder_id)
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    let mut channels = BTreeMap::new();
    let mut targets = BTreeMap::new();
    for l in &d.channels {
        let c = &l.record.channel;
        p.unique(&mut channels, c.id, l.line, || {
            format!("channel {}", IdKind::Channel.format(c.id))
        });
        p.unique(
            &mut targets,
            (c.holder_id, c.kind.name(), c.target.as_str()),
            l.line,
            || format!("the {} channel {}", c.kind.name(), c.target),
        );
        check_holder(
            view,
            &mut p,
            &holders,
            l.line,
            "channel.holder_id",
            c.holder_id,
        )?;
    }
    let mut scopes = BTreeMap::new();
    for l in &d.alert_settings {
        let (scope, _) = &l.record;
        p.unique(&mut scopes, scope, l.line, || {
            "alert settings of this scope".to_string()
        });
        match scope {
            SettingsScope::Holder(h) => {
                check_holder(
                    view,
                    &mut p,
                    &holders,
                    l.line,
                    "alert_settings.holder_id",
                    *h,
                )?;
            }
            SettingsScope::Credential(c) => {
                let exists = credentials.contains_key(c) || view.has_credential(*c)?;
                if !exists {
                    p.add(
                        l.line,
                        "alert_settings.credential_id",
                        format!(
                            "alert_settings.credential_id {} is neither in the dump nor in the store",
                            IdKind::Credential.format(*c)
                        ),
                    );
                }
            }
            // Settings of a program outlive the program (they are not removed with it).
            SettingsScope::Program(_) => {}
        }
    }
    let mut alerts = BTreeMap::new();
    let mut keys = BTreeMap::new();
    for l in &d.alerts {
        let a = &l.record;
        p.unique(&mut alerts, a.id, l.line, || {
            format!("alert {}", IdKind::Alert.format(a.id))
        });
        p.unique(&mut keys, a.key(), l.line, || {
            format!("alert key {}", a.key())
        });
        // An alert outlives its credential, so only the holder must exist.
        check_holder(
            view,
            &mut p,
            &holders,
            l.line,
            "alert.holder_id",
            a.holder_id,
        )?;
    }
    let mut zones = BTreeMap::new();
    for l in &d.last_ticks {
        p.unique(&mut zones, l.record.0.as_str(), l.line, || {
            format!("the last tick of {}", l.record.0)
        });
    }
    let mut dirty = BTreeMap::new();
    for l in &d.dirty_credentials {
        p.unique(&mut dirty, l.record, l.line, || {
            format!("dirty credential {}", IdKind::Credential.format(l.record))
        });
    }
    check_access(view, d, &holders, &mut p)?;
    if p.0.is_empty() {
        Ok(())
    } else {
        p.0.sort_by_key(|e| e.line);
        Err(ImportError::Invalid(p.0))
    }
}

/// Checks the dump's tokens, teams and history: no id (or token hash, or team name) twice,
/// and every holder they name in the dump or the store.
fn check_access(
    view: &dyn StoreView,
    d: &ParsedDump,
    holders: &BTreeMap<u64, usize>,
    p: &mut Problems,
) -> Result<(), StoreError> {
    let mut ids = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    for l in &d.tokens {
        let t = &l.record;
        p.unique(&mut ids, t.id, l.line, || {
            format!("token {}", token_id(t.id))
        });
        p.unique(&mut hashes, t.hash, l.line, || {
            format!("the secret of token {}", token_id(t.id))
        });
        if let Some(h) = t.holder_id {
            check_holder(view, p, holders, l.line, "token.holder_id", h)?;
        }
    }
    let mut ids = BTreeMap::new();
    let mut names = BTreeMap::new();
    for l in &d.teams {
        let t = &l.record;
        p.unique(&mut ids, t.id, l.line, || format!("team {}", team_id(t.id)));
        p.unique(&mut names, t.name.as_str(), l.line, || {
            format!("team name {:?}", t.name)
        });
        for &h in &t.members {
            check_holder(view, p, holders, l.line, "team.member_ids", h)?;
        }
        for &h in &t.leads {
            check_holder(view, p, holders, l.line, "team.lead_ids", h)?;
        }
    }
    let mut ids = BTreeMap::new();
    for l in &d.history {
        p.unique(&mut ids, l.record.id, l.line, || {
            format!("history entry {}", l.record.id)
        });
    }
    Ok(())
}

/// Plans the dump's tokens, teams and history. A token is the same token as the store's
/// when its secret's hash is (the store's record stands; a different role or holder, or a
/// revocation the store lacks, is a conflict); a new one keeps its id when the store's is free and otherwise
/// gets the next (the history entries naming it follow). A history entry equal to the
/// store's entry with its id is unchanged; any other is appended, under its id when that is
/// free.
fn plan_access(
    view: &dyn StoreView,
    d: &ParsedDump,
    plan: &mut RestorePlan,
    t: &mut Tally,
) -> Result<(), StoreError> {
    let dump_top = d.tokens.iter().map(|l| l.record.id).max().unwrap_or(0);
    let mut fresh = view.next_token_id()?.max(dump_top + 1);
    let mut renamed: HashMap<u64, u64> = HashMap::new();
    for l in &d.tokens {
        let token = &l.record;
        match view.token_by_hash(&token.hash)? {
            // The same secret: the same token whatever its name or dates (an admin.token
            // copied beside a new store is made anew there), unless it would grant
            // something else or undo a revocation.
            Some(ours)
                if ours.role == token.role
                    && ours.holder_id == token.holder_id
                    && (ours.revoked_at.is_some() || token.revoked_at.is_none()) =>
            {
                // Brought in before under another id: the entries naming it follow.
                if ours.id != token.id {
                    renamed.insert(token.id, ours.id);
                }
                t.count(false);
            }
            Some(ours) => t.differs(
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
                    renamed.insert(token.id, fresh - 1);
                    fresh - 1
                };
                plan.tokens.push(Token {
                    id,
                    ..token.clone()
                });
                t.count(true);
            }
        }
    }
    for l in &d.teams {
        let team = &l.record;
        match view.team(team.id)? {
            Some(ours) if &ours == team => t.count(false),
            Some(_) => t.differs(l.line, format!("team {}", team_id(team.id)), String::new()),
            None => match view.team_named(&team.name)? {
                Some(other) => t.conflict(
                    l.line,
                    format!(
                        "the store already has a team named {:?} as {}",
                        team.name,
                        team_id(other.id)
                    ),
                ),
                None => {
                    plan.teams.push(team.clone());
                    t.count(true);
                }
            },
        }
    }
    for l in &d.history {
        let entry = HistoryEntry {
            token_id: l
                .record
                .token_id
                .map(|id| renamed.get(&id).copied().unwrap_or(id)),
            ..l.record.clone()
        };
        match view.history_entry(entry.id)? {
            Some(ours) if ours == entry => t.count(false),
            Some(_) => {
                plan.history.push(HistoryEntry { id: 0, ..entry });
                t.count(true);
            }
            None => {
                plan.history.push(entry);
                t.count(true);
            }
        }
    }
    Ok(())
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

/// Notes a problem unless holder `id` is in the dump or the store.
fn check_holder(
    view: &dyn StoreView,
    p: &mut Problems,
    dump_holders: &BTreeMap<u64, usize>,
    line: usize,
    field: &str,
    id: u64,
) -> Result<(), StoreError> {
    if !dump_holders.contains_key(&id) && !view.has_holder(id)? {
        p.add(
            line,
            field,
            format!(
                "{field} {} is neither in the dump nor in the store",
                IdKind::Holder.format(id)
            ),
        );
    }
    Ok(())
}

/// Compares every record with the store and plans the writes of the new ones. Fails with the
/// first conflicting line.
fn plan(view: &dyn StoreView, d: &ParsedDump) -> Result<(RestorePlan, ImportSummary), ImportError> {
    let mut t = Tally::default();
    let mut plan = RestorePlan::default();
    let mut max_ids = NextIds {
        holder: 0,
        credential: 0,
        course: 0,
        alert: 0,
        channel: 0,
    };

    let mut new_holders = Vec::new();
    for l in &d.holders {
        let (h, is_default) = &l.record;
        max_ids.raise(IdKind::Holder, h.id);
        match compare(h, view.holder(h.id)?) {
            Compare::New => {
                plan.holders.push(h.clone());
                new_holders.push((h.id, *is_default));
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.record_differs(l.line, IdKind::Holder, h.id, f),
        }
    }
    if view.default_holder()?.is_none()
        && let Some(&(first, _)) = new_holders.first()
    {
        let default = new_holders
            .iter()
            .find(|(_, is_default)| *is_default)
            .map_or(first, |(id, _)| *id);
        plan.default_holder = Some(default);
    }

    for l in &d.programs {
        let program = &l.record;
        match compare(program, view.local_program(&program.slug)?) {
            Compare::New => {
                plan.programs.push(program.clone());
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.differs(l.line, format!("program {}", program.slug), f),
        }
    }

    let zone_of: HashMap<u64, &str> = d
        .holders
        .iter()
        .map(|l| (l.record.0.id, l.record.0.time_zone.as_str()))
        .collect();
    let dump_ticks: HashMap<&str, Timestamp> = d
        .last_ticks
        .iter()
        .map(|l| (l.record.0.as_str(), l.record.1))
        .collect();
    for l in &d.credentials {
        let c = &l.record;
        max_ids.raise(IdKind::Credential, c.id);
        match compare(c, view.credential(c.id)?) {
            Compare::New => {
                if let Some(other) = view
                    .credentials_of(c.holder_id)?
                    .into_iter()
                    .find(|o| o.program == c.program && o.id != c.id)
                {
                    t.conflict(
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
                // Where the store's scheduler is ahead of the dump's, the marks it passed
                // were never looked at for this credential: the next tick should.
                let zone = match zone_of.get(&c.holder_id) {
                    Some(z) => Some((*z).to_string()),
                    None => view.holder(c.holder_id)?.map(|h| h.time_zone),
                };
                if let Some(zone) = zone
                    && let Some(ours) = view.last_tick(&zone)?
                    && dump_ticks.get(zone.as_str()).is_none_or(|&at| ours > at)
                {
                    plan.dirty_credentials.push(c.id);
                }
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.record_differs(l.line, IdKind::Credential, c.id, f),
        }
    }

    for l in &d.courses {
        let c = &l.record;
        max_ids.raise(IdKind::Course, c.id);
        match compare(c, view.course(c.id)?) {
            Compare::New => {
                plan.courses.push(c.clone());
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.record_differs(l.line, IdKind::Course, c.id, f),
        }
    }

    for l in &d.channels {
        let DumpChannel {
            channel,
            secret_omitted,
        } = &l.record;
        max_ids.raise(IdKind::Channel, channel.id);
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
                    t.conflict(
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
                if *secret_omitted {
                    t.summary.channels_without_secret += 1;
                }
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.record_differs(l.line, IdKind::Channel, channel.id, f),
        }
    }

    for l in &d.alert_settings {
        let (scope, settings) = &l.record;
        match compare(settings, view.alert_settings(scope)?) {
            Compare::New => {
                plan.alert_settings.push((scope.clone(), settings.clone()));
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.differs(l.line, scope_name(scope), f),
        }
    }

    for l in &d.alerts {
        let a = &l.record;
        max_ids.raise(IdKind::Alert, a.id);
        match compare(a, view.alert(a.id)?) {
            Compare::New => {
                if let Some(other) = view.alert_with_key(&a.dedupe_key())?
                    && other != a.id
                {
                    t.conflict(
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
                t.count(true);
            }
            Compare::Same => t.count(false),
            Compare::Differs(f) => t.record_differs(l.line, IdKind::Alert, a.id, f),
        }
    }

    for l in &d.last_ticks {
        let (zone, at) = &l.record;
        let later = view.last_tick(zone)?.is_none_or(|ours| *at > ours);
        if later {
            plan.last_ticks.push((zone.clone(), *at));
        }
        t.count(later);
    }

    for l in &d.dirty_credentials {
        let new = !view.is_dirty(l.record)?;
        if new {
            plan.dirty_credentials.push(l.record);
        }
        t.count(new);
    }

    plan_access(view, d, &mut plan, &mut t)?;

    // Counters: past every imported id, and at least the dump's.
    let stored = view.next_ids()?;
    let mut raised = false;
    for kind in COUNTED {
        let ours = stored.get(kind);
        let theirs = d.next_ids.as_ref().map_or(1, |l| l.record.get(kind));
        let next = ours.max(theirs).max(max_ids.get(kind).saturating_add(1));
        if next > ours {
            plan.counters.push((kind, next));
            raised = true;
        }
    }
    if d.next_ids.is_some() {
        t.count(raised);
    }
    t.finish().map(|summary| (plan, summary))
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
