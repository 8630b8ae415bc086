//! The whole store at once on PostgreSQL: a dump in one `REPEATABLE READ` snapshot, and
//! [`Snapshots::restore`], which reads the store into memory inside its transaction, runs
//! the import rules on it, and writes the plan in the same transaction.
//!
//! **Consistency.** The rules (ids free, references resolve, unique keys hold) are the
//! database's constraints too, so a writer that slips in between the read and the write makes
//! the restore fail on a constraint with nothing written, never write a broken store.

use super::access::{next_in, note, put_token};
use super::outbox::{insert_alert, put_settings, read_scope};
use super::records::{
    insert_holder, update_holder_row, write_course, write_credential, write_tick_marks,
};
use super::{
    PgStore, body, bump_versions, day, db_err, execute, query, read_sql_id, sequence, sql_id,
};
use crate::domain::{
    Actor, Alert, AlertSettings, Channel, Course, Credential, DedupeKey, HistoryEntry, Holder,
    Program, Team, Token, TokenHash,
};
use crate::store::{
    COUNTED, Dump, NextIds, RestorePlan, Result, SCHEMA_VERSION, SettingsScope, Snapshots,
    StoreError, StoreView, encode_value,
};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};

async fn all<T: crate::store::StoredRecord, C: GenericClient + Sync>(
    c: &C,
    sql: &str,
) -> Result<Vec<T>> {
    query(c, sql, &[])
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
}

/// Reads every record in the caller's (snapshot) transaction.
async fn read_dump<C: GenericClient + Sync>(c: &C) -> Result<Dump> {
    let mut dump = Dump {
        // The record schema of the dump is the one the sled engine numbers: exports from
        // both engines carry the same header.
        schema: SCHEMA_VERSION,
        holders: all(c, "SELECT body FROM holders ORDER BY id").await?,
        programs: all(c, "SELECT body FROM programs ORDER BY slug").await?,
        competency_programs: all(c, "SELECT body FROM competency_programs ORDER BY slug").await?,
        credentials: all(c, "SELECT body FROM credentials ORDER BY id").await?,
        courses: all(c, "SELECT body FROM courses ORDER BY id").await?,
        channels: all(c, "SELECT body FROM channels ORDER BY id").await?,
        alerts: all(c, "SELECT body FROM alerts ORDER BY id").await?,
        tokens: all(c, "SELECT body FROM tokens ORDER BY id").await?,
        teams: all(c, "SELECT body FROM teams ORDER BY id").await?,
        history: all(c, "SELECT body FROM history ORDER BY id").await?,
        ..Dump::default()
    };
    for row in query(c, "SELECT scope, body FROM alert_settings", &[]).await? {
        let key: &str = row.try_get(0).map_err(db_err)?;
        dump.alert_settings.push((read_scope(key)?, body(&row, 1)?));
    }
    dump.alert_settings.sort_by(|a, b| a.0.cmp(&b.0));
    for row in query(c, "SELECT zone, at FROM last_ticks ORDER BY zone", &[]).await? {
        let zone: String = row.try_get(0).map_err(db_err)?;
        let at: i64 = row.try_get(1).map_err(db_err)?;
        let at = Timestamp::from_second(at)
            .map_err(|_| StoreError::Corrupt(format!("bad last tick of {zone}")))?;
        dump.last_ticks.push((zone, at));
    }
    for row in query(c, "SELECT id FROM dirty_credentials ORDER BY id", &[]).await? {
        dump.dirty_credentials
            .push(read_sql_id(row.try_get(0).map_err(db_err)?));
    }
    let rows = query(
        c,
        "SELECT value FROM recert_meta WHERE key = 'default_holder'",
        &[],
    )
    .await?;
    dump.default_holder = match rows.first() {
        Some(r) => Some(read_sql_id(r.try_get(0).map_err(db_err)?)),
        None => None,
    };
    for kind in COUNTED {
        let sql = format!("SELECT last_value, is_called FROM {}", sequence(kind));
        let rows = query(c, &sql, &[]).await?;
        if let Some(r) = rows.first() {
            let last: i64 = r.try_get(0).map_err(db_err)?;
            let called: bool = r.try_get(1).map_err(db_err)?;
            dump.next_ids
                .set(kind, read_sql_id(if called { last + 1 } else { last }));
        }
    }
    Ok(dump)
}

/// The id `nextval(sequence)` would give.
async fn next_of<C: GenericClient + Sync>(c: &C, sequence: &str) -> Result<u64> {
    let sql = format!("SELECT last_value, is_called FROM {sequence}");
    let rows = query(c, &sql, &[]).await?;
    Ok(rows.first().map_or(1, |r| {
        let last = r.try_get::<_, i64>(0).map_or(0, read_sql_id);
        if r.try_get::<_, bool>(1).unwrap_or(true) {
            last + 1
        } else {
            last
        }
    }))
}

/// Moves `sequence` so that its next value is past `top`.
async fn move_past<C: GenericClient + Sync>(c: &C, sequence: &str, top: u64) -> Result<()> {
    if next_of(c, sequence).await? <= top {
        let sql = format!("SELECT setval('{sequence}', $1, true)");
        query(c, &sql, &[&sql_id(top)]).await?;
    }
    Ok(())
}

/// The store as read into memory, for the import rules.
struct Loaded {
    dump: Dump,
    holders: HashMap<u64, usize>,
    programs: HashMap<String, usize>,
    credentials: HashMap<u64, usize>,
    courses: HashMap<u64, usize>,
    channels: HashMap<u64, usize>,
    alerts: HashMap<u64, usize>,
    keys: HashMap<DedupeKey, u64>,
    settings: BTreeMap<SettingsScope, AlertSettings>,
    dirty: BTreeSet<u64>,
    tokens: HashMap<u64, usize>,
    hashes: HashMap<TokenHash, usize>,
    teams: HashMap<u64, usize>,
    history: HashMap<u64, usize>,
    next_token: u64,
}

impl Loaded {
    fn new(dump: Dump, next_token: u64) -> Loaded {
        fn index<T>(items: &[T], key: impl Fn(&T) -> u64) -> HashMap<u64, usize> {
            items.iter().enumerate().map(|(i, t)| (key(t), i)).collect()
        }
        Loaded {
            holders: index(&dump.holders, |h| h.id),
            programs: dump
                .programs
                .iter()
                .enumerate()
                .map(|(i, p)| (p.slug.clone(), i))
                .collect(),
            credentials: index(&dump.credentials, |c| c.id),
            courses: index(&dump.courses, |c| c.id),
            channels: index(&dump.channels, |c| c.id),
            alerts: index(&dump.alerts, |a| a.id),
            keys: dump.alerts.iter().map(|a| (a.dedupe_key(), a.id)).collect(),
            settings: dump.alert_settings.iter().cloned().collect(),
            dirty: dump.dirty_credentials.iter().copied().collect(),
            tokens: index(&dump.tokens, |t| t.id),
            hashes: dump
                .tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.hash, i))
                .collect(),
            teams: index(&dump.teams, |t| t.id),
            history: index(&dump.history, |e| e.id),
            next_token,
            dump,
        }
    }
}

impl StoreView for Loaded {
    fn holder(&self, id: u64) -> Result<Option<Holder>> {
        Ok(self.holders.get(&id).map(|&i| self.dump.holders[i].clone()))
    }
    fn has_holder(&self, id: u64) -> Result<bool> {
        Ok(self.holders.contains_key(&id))
    }
    fn default_holder(&self) -> Result<Option<u64>> {
        Ok(self.dump.default_holder)
    }
    fn local_program(&self, slug: &str) -> Result<Option<Program>> {
        Ok(self
            .programs
            .get(slug)
            .map(|&i| self.dump.programs[i].clone()))
    }
    fn competency_program(&self, slug: &str) -> Result<Option<crate::domain::CompetencyProgram>> {
        Ok(self
            .dump
            .competency_programs
            .iter()
            .find(|p| p.slug == slug)
            .cloned())
    }
    fn credential(&self, id: u64) -> Result<Option<Credential>> {
        Ok(self
            .credentials
            .get(&id)
            .map(|&i| self.dump.credentials[i].clone()))
    }
    fn has_credential(&self, id: u64) -> Result<bool> {
        Ok(self.credentials.contains_key(&id))
    }
    fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>> {
        Ok(self
            .dump
            .credentials
            .iter()
            .filter(|c| c.holder_id == holder)
            .cloned()
            .collect())
    }
    fn course(&self, id: u64) -> Result<Option<Course>> {
        Ok(self.courses.get(&id).map(|&i| self.dump.courses[i].clone()))
    }
    fn courses_of(&self, holder: u64) -> Result<Vec<Course>> {
        Ok(self
            .dump
            .courses
            .iter()
            .filter(|c| c.holder_id == holder)
            .cloned()
            .collect())
    }
    fn channel(&self, id: u64) -> Result<Option<Channel>> {
        Ok(self
            .channels
            .get(&id)
            .map(|&i| self.dump.channels[i].clone()))
    }
    fn channels_of(&self, holder: u64) -> Result<Vec<Channel>> {
        Ok(self
            .dump
            .channels
            .iter()
            .filter(|c| c.holder_id == holder)
            .cloned()
            .collect())
    }
    fn alert_settings(&self, scope: &SettingsScope) -> Result<Option<AlertSettings>> {
        Ok(self.settings.get(scope).cloned())
    }
    fn alert(&self, id: u64) -> Result<Option<Alert>> {
        Ok(self.alerts.get(&id).map(|&i| self.dump.alerts[i].clone()))
    }
    fn alert_with_key(&self, key: &DedupeKey) -> Result<Option<u64>> {
        Ok(self.keys.get(key).copied())
    }
    fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        Ok(self
            .dump
            .last_ticks
            .iter()
            .find(|(z, _)| z == zone)
            .map(|(_, at)| *at))
    }
    fn is_dirty(&self, credential: u64) -> Result<bool> {
        Ok(self.dirty.contains(&credential))
    }
    fn next_ids(&self) -> Result<NextIds> {
        Ok(self.dump.next_ids)
    }
    fn token(&self, id: u64) -> Result<Option<Token>> {
        Ok(self.tokens.get(&id).map(|&i| self.dump.tokens[i].clone()))
    }
    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<Token>> {
        Ok(self.hashes.get(hash).map(|&i| self.dump.tokens[i].clone()))
    }
    fn next_token_id(&self) -> Result<u64> {
        Ok(self.next_token)
    }
    fn team(&self, id: u64) -> Result<Option<Team>> {
        Ok(self.teams.get(&id).map(|&i| self.dump.teams[i].clone()))
    }
    fn team_named(&self, name: &str) -> Result<Option<Team>> {
        Ok(self.dump.teams.iter().find(|t| t.name == name).cloned())
    }
    fn history_entry(&self, id: u64) -> Result<Option<HistoryEntry>> {
        Ok(self.history.get(&id).map(|&i| self.dump.history[i].clone()))
    }
}

/// How many rows one multi-row insert carries.
const CHUNK: usize = 2_000;

/// Writes a restore plan in the caller's transaction, with a history entry per record it
/// creates when `actor` is given (as the embedded engine notes them).
async fn write_plan<C: GenericClient + Sync>(
    c: &C,
    actor: Option<&Actor>,
    plan: &RestorePlan,
) -> Result<()> {
    // Competency programs first: the holders' `competencies_due` rows derive from them.
    if !plan.competency_programs.is_empty() {
        super::records::lock_competencies(c).await?;
        for p in &plan.competency_programs {
            execute(
                c,
                "INSERT INTO competency_programs (slug, body) VALUES ($1, $2)",
                &[&p.slug, &crate::store::encode_value(p)],
            )
            .await?;
            super::records::reindex_competencies(c, &p.slug).await?;
        }
    }
    for h in &plan.holders {
        insert_holder(c, h).await?;
    }
    for chunk in plan.holders.chunks(CHUNK) {
        write_tick_marks(c, chunk).await?;
    }
    if let Some(default) = plan.default_holder {
        execute(
            c,
            "INSERT INTO recert_meta (key, value) VALUES ('default_holder', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&sql_id(default)],
        )
        .await?;
    }
    for p in &plan.programs {
        execute(
            c,
            "INSERT INTO programs (slug, body) VALUES ($1, $2)",
            &[&p.slug, &encode_value(p)],
        )
        .await?;
    }
    for chunk in plan.credentials.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|c| sql_id(c.id)).collect();
        let holders: Vec<i64> = chunk.iter().map(|c| sql_id(c.holder_id)).collect();
        let programs: Vec<&str> = chunk.iter().map(|c| c.program.as_str()).collect();
        let days: Vec<i32> = chunk.iter().map(|c| day(c.expires_on)).collect();
        let bodies: Vec<Vec<u8>> = chunk.iter().map(encode_value).collect();
        let months: Vec<i32> = chunk.iter().map(crate::domain::dues_month).collect();
        execute(
            c,
            "INSERT INTO credentials (id, holder_id, program, expires_on, body, dues_month) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::INT[], $5::BYTEA[], $6::INT[])",
            &[&ids, &holders, &programs, &days, &bodies, &months],
        )
        .await?;
    }
    for chunk in plan.courses.chunks(CHUNK) {
        if chunk.len() == 1 {
            write_course(c, &chunk[0], true).await?;
            continue;
        }
        let ids: Vec<i64> = chunk.iter().map(|c| sql_id(c.id)).collect();
        let holders: Vec<i64> = chunk.iter().map(|c| sql_id(c.holder_id)).collect();
        let days: Vec<i32> = chunk.iter().map(|c| day(c.completed_on)).collect();
        let bodies: Vec<Vec<u8>> = chunk.iter().map(encode_value).collect();
        execute(
            c,
            "INSERT INTO courses (id, holder_id, completed_on, body) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::INT[], $4::BYTEA[])",
            &[&ids, &holders, &days, &bodies],
        )
        .await?;
    }
    // Replaced records: the columns the queries and constraints use are rewritten with the
    // body, through the same writes as an edit.
    for (_, h) in &plan.replaced_holders {
        update_holder_row(c, h).await?;
    }
    for (_, cr) in &plan.replaced_credentials {
        write_credential(c, cr, false).await?;
    }
    for (_, co) in &plan.replaced_courses {
        write_course(c, co, false).await?;
    }
    for ch in &plan.channels {
        execute(
            c,
            "INSERT INTO channels (id, holder_id, kind, target, body, team_id) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &sql_id(ch.id),
                &sql_id(ch.holder_id),
                &ch.kind.name(),
                &ch.target,
                &encode_value(ch),
                &sql_id(ch.team_id),
            ],
        )
        .await?;
    }
    for (scope, settings) in &plan.alert_settings {
        put_settings(c, scope, settings).await?;
    }
    for a in &plan.alerts {
        if !insert_alert(c, a).await? {
            return Err(StoreError::Storage(format!(
                "alert {} repeats a key enqueued meanwhile",
                a.id
            )));
        }
    }
    if actor.is_some() {
        for h in &plan.holders {
            note(c, actor, None, Some(h)).await?;
        }
        for cr in &plan.credentials {
            note(c, actor, None, Some(cr)).await?;
        }
        for co in &plan.courses {
            note(c, actor, None, Some(co)).await?;
        }
        for ch in &plan.channels {
            note(c, actor, None, Some(ch)).await?;
        }
        for a in &plan.alerts {
            note(c, actor, None, Some(a)).await?;
        }
        for (before, after) in &plan.replaced_holders {
            note(c, actor, Some(before), Some(after)).await?;
        }
        for (before, after) in &plan.replaced_credentials {
            note(c, actor, Some(before), Some(after)).await?;
        }
        for (before, after) in &plan.replaced_courses {
            note(c, actor, Some(before), Some(after)).await?;
        }
    }
    for (zone, at) in &plan.last_ticks {
        execute(
            c,
            "INSERT INTO last_ticks (zone, at) VALUES ($1, $2) ON CONFLICT (zone) DO UPDATE SET at = excluded.at",
            &[zone, &at.as_second()],
        )
        .await?;
    }
    let dirty: Vec<i64> = plan.dirty_credentials.iter().map(|&i| sql_id(i)).collect();
    execute(
        c,
        "INSERT INTO dirty_credentials (id) SELECT * FROM UNNEST($1::BIGINT[]) ON CONFLICT (id) DO NOTHING",
        &[&dirty],
    )
    .await?;
    for (kind, next) in &plan.counters {
        let sql = format!("SELECT setval('{}', $1, false)", sequence(*kind));
        query(c, &sql, &[&sql_id((*next).max(1))]).await?;
    }
    write_access(c, actor, plan).await?;
    let touched: BTreeSet<u64> = plan
        .holders
        .iter()
        .map(|h| h.id)
        .chain(plan.credentials.iter().map(|c| c.holder_id))
        .chain(plan.courses.iter().map(|c| c.holder_id))
        .chain(
            plan.replaced_holders
                .iter()
                .map(|(_, h)| h.id)
                .chain(
                    plan.replaced_credentials
                        .iter()
                        .flat_map(|(b, a)| [b.holder_id, a.holder_id]),
                )
                .chain(
                    plan.replaced_courses
                        .iter()
                        .flat_map(|(b, a)| [b.holder_id, a.holder_id]),
                ),
        )
        .collect();
    bump_versions(c, touched, !plan.programs.is_empty()).await
}

/// The tokens, teams and history entries of a restore plan, and the sequences past them.
async fn write_access<C: GenericClient + Sync>(
    c: &C,
    actor: Option<&Actor>,
    plan: &RestorePlan,
) -> Result<()> {
    for t in &plan.tokens {
        put_token(c, t).await?;
    }
    if let Some(top) = plan.tokens.iter().map(|t| t.id).max() {
        move_past(c, "token_ids", top).await?;
    }
    for t in &plan.teams {
        execute(
            c,
            "INSERT INTO teams (id, name, body) VALUES ($1, $2, $3)",
            &[&sql_id(t.id), &t.name, &encode_value(t)],
        )
        .await?;
    }
    if let Some(top) = plan.teams.iter().map(|t| t.id).max() {
        move_past(c, "team_ids", top).await?;
    }
    for (before, after) in &plan.changed_teams {
        execute(
            c,
            "UPDATE teams SET name = $2, body = $3 WHERE id = $1",
            &[&sql_id(after.id), &after.name, &encode_value(after)],
        )
        .await?;
        if actor.is_some() {
            note(c, actor, Some(before), Some(after)).await?;
        }
    }
    if actor.is_some() {
        for t in &plan.teams {
            note(c, actor, None, Some(t)).await?;
        }
    }
    if let Some(top) = plan.history.iter().map(|e| e.id).max() {
        move_past(c, "history_ids", top).await?;
    }
    for e in &plan.history {
        let e = if e.id == 0 {
            HistoryEntry {
                id: next_in(c, "history_ids").await?,
                ..e.clone()
            }
        } else {
            e.clone()
        };
        execute(
            c,
            "INSERT INTO history (id, holder_id, body) VALUES ($1, $2, $3)",
            &[&sql_id(e.id), &e.holder_id.map(sql_id), &encode_value(&e)],
        )
        .await?;
    }
    Ok(())
}

impl Snapshots for PgStore {
    async fn dump(&self) -> Result<Dump> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_err)?;
        let dump = read_dump(&tx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(dump)
    }

    async fn restore<T: Send, E: From<StoreError> + Send>(
        &self,
        plan: impl FnOnce(&dyn StoreView) -> std::result::Result<(RestorePlan, T), E> + Send,
    ) -> std::result::Result<T, E> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(db_err)?;
        let next_token = next_of(&tx, "token_ids").await?;
        let loaded = Loaded::new(read_dump(&tx).await?, next_token);
        let (planned, answer) = plan(&loaded)?;
        drop(loaded);
        write_plan(&tx, self.actor(), &planned).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(answer)
    }

    /// The store is read into memory in the transaction (as for [`Snapshots::restore`]);
    /// the job runs on a blocking thread and hands each batch here, where it is written in
    /// the same transaction, committed once the job succeeds.
    async fn restore_batches<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn crate::store::Restorer) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(db_err)?;
        let next_token = next_of(&tx, "token_ids").await?;
        let loaded = Loaded::new(read_dump(&tx).await?, next_token);
        let (plans, mut batches) = tokio::sync::mpsc::channel::<Batch>(1);
        let worker = tokio::task::spawn_blocking(move || {
            let mut restorer = PgRestorer {
                view: loaded,
                plans,
            };
            job(&mut restorer)
        });
        while let Some((plan, done)) = batches.recv().await {
            let _ = done.send(write_plan(&tx, self.actor(), &plan).await);
        }
        let answer = worker
            .await
            .map_err(|e| StoreError::Storage(format!("the import task failed: {e}")))?;
        if answer.is_ok() {
            tx.commit().await.map_err(db_err)?;
        }
        answer
    }
}

/// A batch to write and where to say how that went.
type Batch = (RestorePlan, std::sync::mpsc::SyncSender<Result<()>>);

/// The job's side of a batched restore on PostgreSQL.
struct PgRestorer {
    view: Loaded,
    plans: tokio::sync::mpsc::Sender<Batch>,
}

impl crate::store::Restorer for PgRestorer {
    fn view(&self) -> &dyn StoreView {
        &self.view
    }

    fn write(&mut self, plan: RestorePlan) -> Result<()> {
        let gone = || StoreError::Storage("the import transaction ended".into());
        let (done, written) = std::sync::mpsc::sync_channel(1);
        self.plans.blocking_send((plan, done)).map_err(|_| gone())?;
        written.recv().map_err(|_| gone())?
    }
}
