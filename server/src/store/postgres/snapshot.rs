//! The whole store at once on PostgreSQL: a dump in one `REPEATABLE READ` snapshot; and
//! [`Snapshots::restore_batches`], the streamed import, whose view asks the transaction for
//! what each batch needs (a few `= ANY($1)` queries per batch, one query per key missed), so
//! its memory follows the batch, not the store. [`Snapshots::restore`] (the in-memory import
//! of a parsed dump, the roster import) is the same with one batch: the plan's view asks for
//! what the caller's [`Lookups`] name, and nothing else is read up front.
//!
//! **Consistency.** The rules (ids free, references resolve, unique keys hold) are the
//! database's constraints too, so a writer that slips in between the read and the write makes
//! the restore fail on a constraint with nothing written, never write a broken store.

use super::access::{next_in, note, put_token};
use super::outbox::{insert_alert, put_settings, read_scope, settings_key};
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
    COUNTED, Dump, Lookups, NextIds, RestorePlan, Result, SCHEMA_VERSION, SettingsScope, Snapshots,
    StoreError, StoreView, encode_value,
};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc::SyncSender;
use tokio_postgres::Row;

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
    dump.next_ids = next_ids_in(c).await?;
    Ok(dump)
}

/// The id counters: what each sequence gives next.
async fn next_ids_in<C: GenericClient + Sync>(c: &C) -> Result<NextIds> {
    let mut next = NextIds::default();
    for kind in COUNTED {
        let sql = format!("SELECT last_value, is_called FROM {}", sequence(kind));
        let rows = query(c, &sql, &[]).await?;
        if let Some(r) = rows.first() {
            let last: i64 = r.try_get(0).map_err(db_err)?;
            let called: bool = r.try_get(1).map_err(db_err)?;
            next.set(kind, read_sql_id(if called { last + 1 } else { last }));
        }
    }
    Ok(next)
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

    /// The plan runs as a batched restore of one batch: on a blocking thread, its view
    /// asking the transaction for what `wanted` names (prefetched) or what it misses, so
    /// nothing is read up front and memory follows the plan, not the store.
    async fn restore<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        wanted: Lookups,
        plan: impl FnOnce(&dyn StoreView) -> std::result::Result<(RestorePlan, T), E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        self.restore_batches(move |r| {
            r.prefetch(&wanted)?;
            let (planned, answer) = plan(r.view())?;
            r.write(planned)?;
            Ok(answer)
        })
        .await
    }

    /// The job runs on a blocking thread and hands each batch here, where it is written in
    /// the transaction, committed once the job succeeds. Its view reads that transaction
    /// too, through the same channel (so it sees the batches written so far, as on sled),
    /// answering from what [`Restorer::prefetch`](crate::store::Restorer::prefetch) fetched
    /// for the batch: memory follows the batch, not the store.
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
        let (sender, mut jobs) = tokio::sync::mpsc::channel::<Job>(1);
        let worker = tokio::task::spawn_blocking(move || {
            let mut restorer = PgRestorer {
                view: AskingView {
                    jobs: sender,
                    cache: RefCell::new(Cache::default()),
                },
            };
            job(&mut restorer)
        });
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Write(plan, done) => {
                    let _ = done.send(write_plan(&tx, self.actor(), &plan).await);
                }
                Job::Rows(sql, param, done) => {
                    let _ = done.send(rows_of(&tx, sql, &param).await);
                }
                Job::Counters(done) => {
                    let counters =
                        async { Ok((next_ids_in(&tx).await?, next_of(&tx, "token_ids").await?)) };
                    let _ = done.send(counters.await);
                }
            }
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

/// The one parameter of a lookup.
enum Param {
    Id(i64),
    Ids(Vec<i64>),
    Text(String),
    Texts(Vec<String>),
    Bytes(Vec<u8>),
    None,
}

/// What the job of a batched restore asks of the transaction, and where the answer goes.
enum Job {
    /// Write a batch.
    Write(Box<RestorePlan>, SyncSender<Result<()>>),
    /// Run a query.
    Rows(&'static str, Param, SyncSender<Result<Vec<Row>>>),
    /// The id counters and the next token id.
    Counters(SyncSender<Result<(NextIds, u64)>>),
}

async fn rows_of<C: GenericClient + Sync>(c: &C, sql: &str, param: &Param) -> Result<Vec<Row>> {
    match param {
        Param::Id(v) => query(c, sql, &[v]).await,
        Param::Ids(v) => query(c, sql, &[v]).await,
        Param::Text(v) => query(c, sql, &[v]).await,
        Param::Texts(v) => query(c, sql, &[v]).await,
        Param::Bytes(v) => query(c, sql, &[v]).await,
        Param::None => query(c, sql, &[]).await,
    }
}

/// What the view fetched for the current batch, by key (`None`: not in the store).
#[derive(Default)]
struct Cache {
    holders: HashMap<u64, Option<Holder>>,
    credentials: HashMap<u64, Option<Credential>>,
    credentials_of: HashMap<u64, Vec<Credential>>,
    courses: HashMap<u64, Option<Course>>,
    courses_of: HashMap<u64, Vec<Course>>,
    channels: HashMap<u64, Option<Channel>>,
    channels_of: HashMap<u64, Vec<Channel>>,
    alerts: HashMap<u64, Option<Alert>>,
    keys: HashMap<String, Option<u64>>,
    dirty: HashMap<u64, bool>,
    teams: HashMap<u64, Option<Team>>,
    team_names: HashMap<String, Option<Team>>,
    history: HashMap<u64, Option<HistoryEntry>>,
    programs: HashMap<String, Option<Program>>,
    competency: HashMap<String, Option<crate::domain::CompetencyProgram>>,
    settings: HashMap<String, Option<AlertSettings>>,
    ticks: HashMap<String, Option<Timestamp>>,
    counters: Option<(NextIds, u64)>,
    default_holder: Option<Option<u64>>,
}

/// The store as the restore's transaction has it, for the job: each answer comes from the
/// batch's [`Cache`] or, on a miss, one query (kept in the cache until the batch ends).
struct AskingView {
    jobs: tokio::sync::mpsc::Sender<Job>,
    cache: RefCell<Cache>,
}

fn gone() -> StoreError {
    StoreError::Storage("the import transaction ended".into())
}

impl AskingView {
    fn ask<A>(&self, job: impl FnOnce(SyncSender<Result<A>>) -> Job) -> Result<A> {
        let (done, answer) = std::sync::mpsc::sync_channel(1);
        self.jobs.blocking_send(job(done)).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    fn rows(&self, sql: &'static str, param: Param) -> Result<Vec<Row>> {
        self.ask(|done| Job::Rows(sql, param, done))
    }

    fn bodies<T: crate::store::StoredRecord>(
        &self,
        sql: &'static str,
        param: Param,
    ) -> Result<Vec<T>> {
        self.rows(sql, param)?.iter().map(|r| body(r, 0)).collect()
    }

    fn first<T: crate::store::StoredRecord>(
        &self,
        sql: &'static str,
        param: Param,
    ) -> Result<Option<T>> {
        Ok(self.bodies(sql, param)?.into_iter().next())
    }

    /// The cached answer for `key` in the map `pick` chooses, else `load`'s (then cached).
    fn cached<K: std::hash::Hash + Eq, V: Clone>(
        &self,
        pick: impl Fn(&mut Cache) -> &mut HashMap<K, V>,
        key: K,
        load: impl FnOnce() -> Result<V>,
    ) -> Result<V> {
        if let Some(v) = pick(&mut self.cache.borrow_mut()).get(&key) {
            return Ok(v.clone());
        }
        let v = load()?;
        pick(&mut self.cache.borrow_mut()).insert(key, v.clone());
        Ok(v)
    }

    /// Fetches by id what `ids` names in one query per [`BATCH_IDS`] ids, into the map
    /// `pick` chooses (an id not found: `None`).
    fn fetch<T: crate::store::StoredRecord + Clone>(
        &self,
        sql: &'static str,
        ids: &BTreeSet<u64>,
        id_of: impl Fn(&T) -> u64,
        pick: impl Fn(&mut Cache) -> &mut HashMap<u64, Option<T>>,
    ) -> Result<()> {
        let ids: Vec<u64> = ids.iter().copied().collect();
        for chunk in ids.chunks(BATCH_IDS) {
            let found: Vec<T> =
                self.bodies(sql, Param::Ids(chunk.iter().map(|&i| sql_id(i)).collect()))?;
            let mut cache = self.cache.borrow_mut();
            let map = pick(&mut cache);
            for &id in chunk {
                map.insert(id, None);
            }
            for t in found {
                map.insert(id_of(&t), Some(t));
            }
        }
        Ok(())
    }

    /// Fetches every record of the holders `ids` names, into the map `pick` chooses.
    fn fetch_of<T: crate::store::StoredRecord + Clone>(
        &self,
        sql: &'static str,
        ids: &BTreeSet<u64>,
        holder_of: impl Fn(&T) -> u64,
        pick: impl Fn(&mut Cache) -> &mut HashMap<u64, Vec<T>>,
    ) -> Result<()> {
        let ids: Vec<u64> = ids.iter().copied().collect();
        for chunk in ids.chunks(BATCH_IDS) {
            let found: Vec<T> =
                self.bodies(sql, Param::Ids(chunk.iter().map(|&i| sql_id(i)).collect()))?;
            let mut cache = self.cache.borrow_mut();
            let map = pick(&mut cache);
            for &id in chunk {
                map.insert(id, Vec::new());
            }
            for t in found {
                map.entry(holder_of(&t)).or_default().push(t);
            }
        }
        Ok(())
    }

    fn prefetch(&self, w: &Lookups) -> Result<()> {
        *self.cache.borrow_mut() = Cache::default();
        self.fetch(
            "SELECT body FROM holders WHERE id = ANY($1)",
            &w.holders,
            |h: &Holder| h.id,
            |c| &mut c.holders,
        )?;
        self.fetch(
            "SELECT body FROM credentials WHERE id = ANY($1)",
            &w.credentials,
            |x: &Credential| x.id,
            |c| &mut c.credentials,
        )?;
        self.fetch_of(
            "SELECT body FROM credentials WHERE holder_id = ANY($1) ORDER BY id",
            &w.credentials_of,
            |x: &Credential| x.holder_id,
            |c| &mut c.credentials_of,
        )?;
        self.fetch(
            "SELECT body FROM courses WHERE id = ANY($1)",
            &w.courses,
            |x: &Course| x.id,
            |c| &mut c.courses,
        )?;
        self.fetch(
            "SELECT body FROM channels WHERE id = ANY($1)",
            &w.channels,
            |x: &Channel| x.id,
            |c| &mut c.channels,
        )?;
        self.fetch_of(
            "SELECT body FROM channels WHERE holder_id = ANY($1) ORDER BY id",
            &w.channels_of,
            |x: &Channel| x.holder_id,
            |c| &mut c.channels_of,
        )?;
        self.fetch(
            "SELECT body FROM alerts WHERE id = ANY($1)",
            &w.alerts,
            |x: &Alert| x.id,
            |c| &mut c.alerts,
        )?;
        self.fetch(
            "SELECT body FROM teams WHERE id = ANY($1)",
            &w.teams,
            |x: &Team| x.id,
            |c| &mut c.teams,
        )?;
        self.fetch(
            "SELECT body FROM history WHERE id = ANY($1)",
            &w.history,
            |x: &HistoryEntry| x.id,
            |c| &mut c.history,
        )?;
        let keys: Vec<String> = w.alert_keys.iter().map(DedupeKey::text).collect();
        for chunk in keys.chunks(BATCH_IDS) {
            let rows = self.rows(
                "SELECT dedupe_key, id FROM alerts WHERE dedupe_key = ANY($1)",
                Param::Texts(chunk.to_vec()),
            )?;
            let mut cache = self.cache.borrow_mut();
            for k in chunk {
                cache.keys.insert(k.clone(), None);
            }
            for r in rows {
                let key: String = r.try_get(0).map_err(db_err)?;
                let id: i64 = r.try_get(1).map_err(db_err)?;
                cache.keys.insert(key, Some(read_sql_id(id)));
            }
        }
        let names: Vec<String> = w.team_names.iter().cloned().collect();
        for chunk in names.chunks(BATCH_IDS) {
            let found: Vec<Team> = self.bodies(
                "SELECT body FROM teams WHERE name = ANY($1)",
                Param::Texts(chunk.to_vec()),
            )?;
            let mut cache = self.cache.borrow_mut();
            for n in chunk {
                cache.team_names.insert(n.clone(), None);
            }
            for t in found {
                cache.team_names.insert(t.name.clone(), Some(t));
            }
        }
        let dirty: Vec<u64> = w.dirty.iter().copied().collect();
        for chunk in dirty.chunks(BATCH_IDS) {
            let rows = self.rows(
                "SELECT id FROM dirty_credentials WHERE id = ANY($1)",
                Param::Ids(chunk.iter().map(|&i| sql_id(i)).collect()),
            )?;
            let mut cache = self.cache.borrow_mut();
            for &id in chunk {
                cache.dirty.insert(id, false);
            }
            for r in rows {
                let id: i64 = r.try_get(0).map_err(db_err)?;
                cache.dirty.insert(read_sql_id(id), true);
            }
        }
        Ok(())
    }
}

/// Ids per `= ANY($1)` query of a prefetch.
const BATCH_IDS: usize = 10_000;

impl StoreView for AskingView {
    fn holder(&self, id: u64) -> Result<Option<Holder>> {
        self.cached(
            |c| &mut c.holders,
            id,
            || {
                self.first(
                    "SELECT body FROM holders WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn has_holder(&self, id: u64) -> Result<bool> {
        Ok(self.holder(id)?.is_some())
    }
    fn default_holder(&self) -> Result<Option<u64>> {
        if let Some(d) = self.cache.borrow().default_holder {
            return Ok(d);
        }
        let rows = self.rows(
            "SELECT value FROM recert_meta WHERE key = 'default_holder'",
            Param::None,
        )?;
        let d = match rows.first() {
            Some(r) => Some(read_sql_id(r.try_get(0).map_err(db_err)?)),
            None => None,
        };
        self.cache.borrow_mut().default_holder = Some(d);
        Ok(d)
    }
    fn local_program(&self, slug: &str) -> Result<Option<Program>> {
        self.cached(
            |c| &mut c.programs,
            slug.to_string(),
            || {
                self.first(
                    "SELECT body FROM programs WHERE slug = $1",
                    Param::Text(slug.to_string()),
                )
            },
        )
    }
    fn competency_program(&self, slug: &str) -> Result<Option<crate::domain::CompetencyProgram>> {
        self.cached(
            |c| &mut c.competency,
            slug.to_string(),
            || {
                self.first(
                    "SELECT body FROM competency_programs WHERE slug = $1",
                    Param::Text(slug.to_string()),
                )
            },
        )
    }
    fn credential(&self, id: u64) -> Result<Option<Credential>> {
        self.cached(
            |c| &mut c.credentials,
            id,
            || {
                self.first(
                    "SELECT body FROM credentials WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn has_credential(&self, id: u64) -> Result<bool> {
        Ok(self.credential(id)?.is_some())
    }
    fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>> {
        self.cached(
            |c| &mut c.credentials_of,
            holder,
            || {
                self.bodies(
                    "SELECT body FROM credentials WHERE holder_id = $1 ORDER BY id",
                    Param::Id(sql_id(holder)),
                )
            },
        )
    }
    fn course(&self, id: u64) -> Result<Option<Course>> {
        self.cached(
            |c| &mut c.courses,
            id,
            || {
                self.first(
                    "SELECT body FROM courses WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn courses_of(&self, holder: u64) -> Result<Vec<Course>> {
        self.cached(
            |c| &mut c.courses_of,
            holder,
            || {
                self.bodies(
                    "SELECT body FROM courses WHERE holder_id = $1 ORDER BY id",
                    Param::Id(sql_id(holder)),
                )
            },
        )
    }
    fn channel(&self, id: u64) -> Result<Option<Channel>> {
        self.cached(
            |c| &mut c.channels,
            id,
            || {
                self.first(
                    "SELECT body FROM channels WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn channels_of(&self, holder: u64) -> Result<Vec<Channel>> {
        self.cached(
            |c| &mut c.channels_of,
            holder,
            || {
                self.bodies(
                    "SELECT body FROM channels WHERE holder_id = $1 ORDER BY id",
                    Param::Id(sql_id(holder)),
                )
            },
        )
    }
    fn alert_settings(&self, scope: &SettingsScope) -> Result<Option<AlertSettings>> {
        let key = settings_key(scope);
        self.cached(
            |c| &mut c.settings,
            key.clone(),
            || {
                self.first(
                    "SELECT body FROM alert_settings WHERE scope = $1",
                    Param::Text(key),
                )
            },
        )
    }
    fn alert(&self, id: u64) -> Result<Option<Alert>> {
        self.cached(
            |c| &mut c.alerts,
            id,
            || {
                self.first(
                    "SELECT body FROM alerts WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn alert_with_key(&self, key: &DedupeKey) -> Result<Option<u64>> {
        let key = key.text();
        self.cached(
            |c| &mut c.keys,
            key.clone(),
            || {
                let rows = self.rows(
                    "SELECT id FROM alerts WHERE dedupe_key = $1",
                    Param::Text(key),
                )?;
                match rows.first() {
                    Some(r) => Ok(Some(read_sql_id(r.try_get(0).map_err(db_err)?))),
                    None => Ok(None),
                }
            },
        )
    }
    fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        self.cached(
            |c| &mut c.ticks,
            zone.to_string(),
            || {
                let rows = self.rows(
                    "SELECT at FROM last_ticks WHERE zone = $1",
                    Param::Text(zone.to_string()),
                )?;
                let Some(r) = rows.first() else {
                    return Ok(None);
                };
                let at: i64 = r.try_get(0).map_err(db_err)?;
                Timestamp::from_second(at)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt(format!("bad last tick of {zone}")))
            },
        )
    }
    fn is_dirty(&self, credential: u64) -> Result<bool> {
        self.cached(
            |c| &mut c.dirty,
            credential,
            || {
                let rows = self.rows(
                    "SELECT 1 FROM dirty_credentials WHERE id = $1",
                    Param::Id(sql_id(credential)),
                )?;
                Ok(!rows.is_empty())
            },
        )
    }
    fn next_ids(&self) -> Result<NextIds> {
        Ok(self.counters()?.0)
    }
    fn token(&self, id: u64) -> Result<Option<Token>> {
        self.first(
            "SELECT body FROM tokens WHERE id = $1",
            Param::Id(sql_id(id)),
        )
    }
    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<Token>> {
        self.first(
            "SELECT body FROM tokens WHERE hash = $1",
            Param::Bytes(hash.as_slice().to_vec()),
        )
    }
    fn next_token_id(&self) -> Result<u64> {
        Ok(self.counters()?.1)
    }
    fn team(&self, id: u64) -> Result<Option<Team>> {
        self.cached(
            |c| &mut c.teams,
            id,
            || {
                self.first(
                    "SELECT body FROM teams WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
    fn team_named(&self, name: &str) -> Result<Option<Team>> {
        self.cached(
            |c| &mut c.team_names,
            name.to_string(),
            || {
                self.first(
                    "SELECT body FROM teams WHERE name = $1",
                    Param::Text(name.to_string()),
                )
            },
        )
    }
    fn history_entry(&self, id: u64) -> Result<Option<HistoryEntry>> {
        self.cached(
            |c| &mut c.history,
            id,
            || {
                self.first(
                    "SELECT body FROM history WHERE id = $1",
                    Param::Id(sql_id(id)),
                )
            },
        )
    }
}

impl AskingView {
    fn counters(&self) -> Result<(NextIds, u64)> {
        if let Some(c) = self.cache.borrow().counters {
            return Ok(c);
        }
        let c = self.ask(Job::Counters)?;
        self.cache.borrow_mut().counters = Some(c);
        Ok(c)
    }
}

/// The job's side of a batched restore on PostgreSQL.
struct PgRestorer {
    view: AskingView,
}

impl crate::store::Restorer for PgRestorer {
    fn view(&self) -> &dyn StoreView {
        &self.view
    }

    fn prefetch(&mut self, wanted: &Lookups) -> Result<()> {
        self.view.prefetch(wanted)
    }

    fn write(&mut self, plan: RestorePlan) -> Result<()> {
        // What the view fetched may be what this batch changes.
        *self.view.cache.borrow_mut() = Cache::default();
        self.view.ask(|done| Job::Write(Box::new(plan), done))
    }
}
