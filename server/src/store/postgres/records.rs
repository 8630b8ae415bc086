//! Holders, local programs, credentials and courses on PostgreSQL.

use super::access::{audit_json, note, note_raw};
use super::{
    COMPETENCY_VERSION, PgStore, body, bump_versions, day, db_err, execute, expiry_cursor,
    foreign_key, id_after, id_cursor, next_id, query, read_expiry_cursor, read_sql_id, sql_id,
    violates,
};
use crate::catalog::Competencies;
use crate::domain::{CompetencyProgram, Course, Credential, Holder, IdKind, Program};
use crate::store::{Conflict, Cursor, Page, Records, Result, StoreError, Version, encode_value};
use deadpool_postgres::GenericClient;
use jiff::civil::Date;

/// Reads a page: `rows` holds up to `limit + 1` records; the extra one says there is more.
pub(super) fn page<T>(mut items: Vec<T>, limit: usize, id: impl Fn(&T) -> Cursor) -> Page<T> {
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(id);
        Page { items, next }
    } else {
        Page { items, next: None }
    }
}

/// The SQL `LIMIT` for a page of `limit` (one more, to know whether there is a next page).
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

pub(super) async fn holder_in<C: GenericClient + Sync>(
    c: &C,
    id: u64,
    lock: bool,
) -> Result<Holder> {
    let sql = if lock {
        "SELECT body FROM holders WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM holders WHERE id = $1"
    };
    let rows = query(c, sql, &[&sql_id(id)]).await?;
    match rows.first() {
        Some(row) => body(row, 0),
        None => Err(StoreError::not_found(IdKind::Holder, id)),
    }
}

pub(super) async fn credentials_in<C: GenericClient + Sync>(
    c: &C,
    holder: u64,
) -> Result<Vec<Credential>> {
    query(
        c,
        "SELECT body FROM credentials WHERE holder_id = $1 ORDER BY id",
        &[&sql_id(holder)],
    )
    .await?
    .iter()
    .map(|r| body(r, 0))
    .collect()
}

pub(super) async fn courses_in<C: GenericClient + Sync>(
    c: &C,
    holder: u64,
    lock: bool,
) -> Result<Vec<Course>> {
    let sql = if lock {
        "SELECT body FROM courses WHERE holder_id = $1 ORDER BY id FOR UPDATE"
    } else {
        "SELECT body FROM courses WHERE holder_id = $1 ORDER BY id"
    };
    query(c, sql, &[&sql_id(holder)])
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
}

async fn courses_on_day<C: GenericClient + Sync>(
    c: &C,
    holder: u64,
    on: Date,
) -> Result<Vec<Course>> {
    query(
        c,
        "SELECT body FROM courses WHERE holder_id = $1 AND completed_on = $2 ORDER BY id",
        &[&sql_id(holder), &day(on)],
    )
    .await?
    .iter()
    .map(|r| body(r, 0))
    .collect()
}

async fn credential_in<C: GenericClient + Sync>(c: &C, id: u64, lock: bool) -> Result<Credential> {
    let sql = if lock {
        "SELECT body FROM credentials WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM credentials WHERE id = $1"
    };
    match query(c, sql, &[&sql_id(id)]).await?.first() {
        Some(row) => body(row, 0),
        None => Err(StoreError::not_found(IdKind::Credential, id)),
    }
}

async fn course_in<C: GenericClient + Sync>(c: &C, id: u64, lock: bool) -> Result<Course> {
    let sql = if lock {
        "SELECT body FROM courses WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM courses WHERE id = $1"
    };
    match query(c, sql, &[&sql_id(id)]).await?.first() {
        Some(row) => body(row, 0),
        None => Err(StoreError::not_found(IdKind::Course, id)),
    }
}

/// Checks that every credential `course` pins is its holder's, locking them (FOR SHARE) so
/// none is deleted before the course is written.
async fn check_pins<C: GenericClient + Sync>(c: &C, course: &Course) -> Result<()> {
    if course.credential_ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = course.credential_ids.iter().map(|&i| sql_id(i)).collect();
    let rows = query(
        c,
        "SELECT id, holder_id FROM credentials WHERE id = ANY($1) ORDER BY id FOR SHARE",
        &[&ids],
    )
    .await?;
    for &pin in &course.credential_ids {
        let row = rows
            .iter()
            .find(|r| {
                r.try_get::<_, i64>(0)
                    .is_ok_and(|id| read_sql_id(id) == pin)
            })
            .ok_or_else(|| StoreError::not_found(IdKind::Credential, pin))?;
        let holder: i64 = row.try_get(1).map_err(db_err)?;
        if read_sql_id(holder) != course.holder_id {
            return Err(StoreError::Conflict(Conflict::PinnedToOther {
                credential: pin,
            }));
        }
    }
    Ok(())
}

/// Inserts a holder's row only: the caller writes its tick marks ([`write_tick_marks`]) in
/// the same transaction (a restore does so once per chunk of holders).
pub(super) async fn insert_holder<C: GenericClient + Sync>(c: &C, h: &Holder) -> Result<()> {
    execute(
        c,
        "INSERT INTO holders (id, time_zone, body) VALUES ($1, $2, $3)",
        &[&sql_id(h.id), &h.time_zone, &encode_value(h)],
    )
    .await?;
    Ok(())
}

/// Every stored competency program, read in the caller's transaction (no lock).
pub(super) async fn stored_competencies<C: GenericClient + Sync>(
    c: &C,
) -> Result<Vec<CompetencyProgram>> {
    query(c, "SELECT body FROM competency_programs ORDER BY slug", &[])
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
}

/// The competency programs in force, read in the caller's transaction after locking the
/// `competency-programs` version row FOR SHARE: a competency program write holds that row
/// until it commits, so what is read here stays in force until this transaction ends.
pub(super) async fn competencies_in<C: GenericClient + Sync>(c: &C) -> Result<Competencies> {
    query(
        c,
        "SELECT value FROM versions WHERE key = $1 FOR SHARE",
        &[&COMPETENCY_VERSION],
    )
    .await?;
    Ok(Competencies::new(stored_competencies(c).await?))
}

/// Keeps what the alert tick reads of these holders (written in the same transaction): their
/// rows of `competencies_due` become their competencies' next due days under the programs in
/// force ([`competencies_in`]), and each is marked in `dirty_holders`.
pub(super) async fn write_tick_marks<C: GenericClient + Sync>(
    c: &C,
    holders: &[Holder],
) -> Result<()> {
    let competencies = competencies_in(c).await?;
    write_tick_marks_with(c, holders, &competencies).await
}

/// [`write_tick_marks`] under the given programs in force (read by the caller, under the lock
/// [`competencies_in`] takes or the exclusive one a program write holds).
pub(super) async fn write_tick_marks_with<C: GenericClient + Sync>(
    c: &C,
    holders: &[Holder],
    competencies: &Competencies,
) -> Result<()> {
    let ids: Vec<i64> = holders.iter().map(|h| sql_id(h.id)).collect();
    let mut due_holders = Vec::new();
    let mut due_days = Vec::new();
    for h in holders {
        for due in competencies.due_dates(h) {
            due_holders.push(sql_id(h.id));
            due_days.push(day(due));
        }
    }
    execute(
        c,
        "DELETE FROM competencies_due WHERE holder_id = ANY($1)",
        &[&ids],
    )
    .await?;
    if !due_holders.is_empty() {
        execute(
            c,
            "INSERT INTO competencies_due (holder_id, due_on) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::INT[])",
            &[&due_holders, &due_days],
        )
        .await?;
    }
    execute(
        c,
        "INSERT INTO dirty_holders (id) SELECT * FROM UNNEST($1::BIGINT[]) ON CONFLICT (id) DO NOTHING",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// Moves the `competency-programs` version row, holding it until the transaction ends: a
/// holder write waits for it before reading the programs in force ([`competencies_in`]).
pub(super) async fn lock_competencies<C: GenericClient + Sync>(c: &C) -> Result<()> {
    execute(
        c,
        "INSERT INTO versions (key, value) VALUES ($1, 1) \
         ON CONFLICT (key) DO UPDATE SET value = versions.value + 1",
        &[&COMPETENCY_VERSION],
    )
    .await?;
    Ok(())
}

/// The holders with a skill on competency program `slug`, as committed (a holder write that
/// has not committed holds the version row's share lock, which the caller waited for).
async fn assessed_on<C: GenericClient + Sync>(c: &C, slug: &str) -> Result<Vec<Holder>> {
    let rows = query(c, "SELECT body FROM holders ORDER BY id", &[]).await?;
    let mut out = Vec::new();
    for row in &rows {
        let h: Holder = body(row, 0)?;
        if h.competencies.iter().any(|s| s.program == slug) {
            out.push(h);
        }
    }
    Ok(out)
}

/// Rewrites the `competencies_due` rows of every holder with a skill on `slug` under the
/// programs now in force in the transaction (each marked for the next tick). Call after
/// [`lock_competencies`].
pub(super) async fn reindex_competencies<C: GenericClient + Sync>(c: &C, slug: &str) -> Result<()> {
    let holders = assessed_on(c, slug).await?;
    if holders.is_empty() {
        return Ok(());
    }
    let competencies = Competencies::new(stored_competencies(c).await?);
    write_tick_marks_with(c, &holders, &competencies).await
}

/// Writes `h` over the holder row with its id (the columns its queries use, the body, and
/// what the tick reads of it: [`write_tick_marks`]).
pub(super) async fn update_holder_row<C: GenericClient + Sync>(c: &C, h: &Holder) -> Result<()> {
    execute(
        c,
        "UPDATE holders SET time_zone = $2, body = $3 WHERE id = $1",
        &[&sql_id(h.id), &h.time_zone, &encode_value(h)],
    )
    .await?;
    write_tick_marks(c, std::slice::from_ref(h)).await
}

pub(super) async fn write_course<C: GenericClient + Sync>(
    c: &C,
    course: &Course,
    new: bool,
) -> Result<()> {
    let sql = if new {
        "INSERT INTO courses (id, holder_id, completed_on, body) VALUES ($1, $2, $3, $4)"
    } else {
        "UPDATE courses SET holder_id = $2, completed_on = $3, body = $4 WHERE id = $1"
    };
    match c
        .execute(
            &c.prepare_cached(sql).await.map_err(db_err)?,
            &[
                &sql_id(course.id),
                &sql_id(course.holder_id),
                &day(course.completed_on),
                &encode_value(course),
            ],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if foreign_key(&e) => Err(StoreError::not_found(IdKind::Holder, course.holder_id)),
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn write_credential<C: GenericClient + Sync>(
    c: &C,
    cr: &Credential,
    new: bool,
) -> Result<()> {
    let sql = if new {
        "INSERT INTO credentials (id, holder_id, program, expires_on, body, dues_month) VALUES ($1, $2, $3, $4, $5, $6)"
    } else {
        "UPDATE credentials SET holder_id = $2, program = $3, expires_on = $4, body = $5, dues_month = $6 WHERE id = $1"
    };
    let statement = c.prepare_cached(sql).await.map_err(db_err)?;
    match c
        .execute(
            &statement,
            &[
                &sql_id(cr.id),
                &sql_id(cr.holder_id),
                &cr.program,
                &day(cr.expires_on),
                &encode_value(cr),
                &crate::domain::dues_month(cr),
            ],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if foreign_key(&e) => Err(StoreError::not_found(IdKind::Holder, cr.holder_id)),
        Err(e) if violates(&e, "credentials_holder_id_program_key") => {
            let existing = query(
                c,
                "SELECT id FROM credentials WHERE holder_id = $1 AND program = $2",
                &[&sql_id(cr.holder_id), &cr.program],
            )
            .await
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.try_get::<_, i64>(0).ok()))
            .map_or(0, read_sql_id);
            Err(StoreError::Conflict(Conflict::CredentialHeld {
                holder: cr.holder_id,
                program: cr.program.clone(),
                existing,
            }))
        }
        Err(e) => Err(db_err(e)),
    }
}

async fn mark_dirty<C: GenericClient + Sync>(c: &C, credential: u64) -> Result<()> {
    execute(
        c,
        "INSERT INTO dirty_credentials (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        &[&sql_id(credential)],
    )
    .await?;
    Ok(())
}

impl Records for PgStore {
    async fn create_holder(&self, holder: Holder) -> Result<Holder> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let mut holder = holder;
        holder.id = next_id(&tx, IdKind::Holder).await?;
        insert_holder(&tx, &holder).await?;
        write_tick_marks(&tx, std::slice::from_ref(&holder)).await?;
        note(&tx, self.actor(), None, Some(&holder)).await?;
        execute(
            &tx,
            "INSERT INTO recert_meta (key, value) VALUES ('default_holder', $1) ON CONFLICT (key) DO NOTHING",
            &[&sql_id(holder.id)],
        )
        .await?;
        bump_versions(&tx, [holder.id], false).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(holder)
    }

    async fn holder(&self, id: u64) -> Result<Holder> {
        let client = self.client().await?;
        holder_in(&client, id, false).await
    }

    async fn default_holder_id(&self) -> Result<Option<u64>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT value FROM recert_meta WHERE key = 'default_holder'",
            &[],
        )
        .await?;
        match rows.first() {
            Some(r) => Ok(Some(read_sql_id(r.try_get(0).map_err(db_err)?))),
            None => Ok(None),
        }
    }

    async fn list_holders(&self, after: Option<&Cursor>, limit: usize) -> Result<Page<Holder>> {
        let after = id_after(after)?;
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM holders WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &sql_limit(limit)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Holder>>>()?;
        Ok(page(items, limit, |h| id_cursor(h.id)))
    }

    async fn update_holder(&self, holder: Holder, make_default: bool) -> Result<Holder> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old = holder_in(&tx, holder.id, true).await?;
        note(&tx, self.actor(), Some(&old), Some(&holder)).await?;
        update_holder_row(&tx, &holder).await?;
        if make_default {
            execute(
                &tx,
                "INSERT INTO recert_meta (key, value) VALUES ('default_holder', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&sql_id(holder.id)],
            )
            .await?;
        }
        self.changed(&tx, [holder.id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(holder)
    }

    async fn delete_holder(&self, id: u64, force: bool) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let holder = holder_in(&tx, id, true).await?;
        let creds = credentials_in(&tx, id).await?;
        let courses = courses_in(&tx, id, false).await?;
        if !force && (!creds.is_empty() || !courses.is_empty()) {
            return Err(StoreError::Conflict(Conflict::HolderHasRecords {
                holder: id,
                credentials: creds.len(),
                courses: courses.len(),
            }));
        }
        let hid = sql_id(id);
        if let Some(actor) = self.actor() {
            let alerts = query(
                &tx,
                "SELECT body FROM alerts WHERE holder_id = $1 ORDER BY id",
                &[&hid],
            )
            .await?;
            for row in &alerts {
                let alert: crate::domain::Alert = body(row, 0)?;
                note(&tx, Some(actor), Some(&alert), None).await?;
            }
            let channels = query(
                &tx,
                "SELECT body FROM channels WHERE holder_id = $1 ORDER BY id",
                &[&hid],
            )
            .await?;
            for row in &channels {
                let channel: crate::domain::Channel = body(row, 0)?;
                note(&tx, Some(actor), Some(&channel), None).await?;
            }
            for course in &courses {
                note(&tx, Some(actor), Some(course), None).await?;
            }
            for credential in &creds {
                note(&tx, Some(actor), Some(credential), None).await?;
            }
            note(&tx, Some(actor), Some(&holder), None).await?;
        }
        let cred_ids: Vec<i64> = creds.iter().map(|c| sql_id(c.id)).collect();
        let mut scopes: Vec<String> = creds.iter().map(|c| format!("c/{}", c.id)).collect();
        scopes.push(format!("h/{id}"));
        execute(&tx, "DELETE FROM alerts WHERE holder_id = $1", &[&hid]).await?;
        execute(&tx, "DELETE FROM channels WHERE holder_id = $1", &[&hid]).await?;
        execute(
            &tx,
            "DELETE FROM dirty_credentials WHERE id = ANY($1)",
            &[&cred_ids],
        )
        .await?;
        execute(
            &tx,
            "DELETE FROM alert_settings WHERE scope = ANY($1)",
            &[&scopes],
        )
        .await?;
        execute(&tx, "DELETE FROM courses WHERE holder_id = $1", &[&hid]).await?;
        execute(&tx, "DELETE FROM credentials WHERE holder_id = $1", &[&hid]).await?;
        execute(&tx, "DELETE FROM dirty_holders WHERE id = $1", &[&hid]).await?;
        execute(&tx, "DELETE FROM holders WHERE id = $1", &[&hid]).await?;
        let default = query(
            &tx,
            "SELECT value FROM recert_meta WHERE key = 'default_holder' FOR UPDATE",
            &[],
        )
        .await?;
        if default.first().and_then(|r| r.try_get::<_, i64>(0).ok()) == Some(hid) {
            let next = query(&tx, "SELECT MIN(id) FROM holders", &[]).await?;
            match next
                .first()
                .and_then(|r| r.try_get::<_, Option<i64>>(0).ok())
                .flatten()
            {
                Some(other) => {
                    execute(
                        &tx,
                        "UPDATE recert_meta SET value = $1 WHERE key = 'default_holder'",
                        &[&other],
                    )
                    .await?
                }
                None => {
                    execute(
                        &tx,
                        "DELETE FROM recert_meta WHERE key = 'default_holder'",
                        &[],
                    )
                    .await?
                }
            };
        }
        bump_versions(&tx, [id], false).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn version(&self, holder: u64) -> Result<Version> {
        self.read_version(holder).await
    }

    async fn local_program(&self, slug: &str) -> Result<Option<Program>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT body FROM programs WHERE slug = $1",
            &[&slug],
        )
        .await?;
        rows.first().map(|r| body(r, 0)).transpose()
    }

    async fn local_programs(&self) -> Result<Vec<Program>> {
        let client = self.client().await?;
        query(&client, "SELECT body FROM programs ORDER BY slug", &[])
            .await?
            .iter()
            .map(|r| body(r, 0))
            .collect()
    }

    async fn put_program(&self, program: Program, create: bool) -> Result<Program> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let before = query(
            &tx,
            "SELECT body FROM programs WHERE slug = $1 FOR UPDATE",
            &[&program.slug],
        )
        .await?
        .first()
        .map(|r| body::<Program>(r, 0))
        .transpose()?;
        let encoded = encode_value(&program);
        let changed = if create {
            execute(
                &tx,
                "INSERT INTO programs (slug, body) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING",
                &[&program.slug, &encoded],
            )
            .await?
        } else {
            execute(
                &tx,
                "UPDATE programs SET body = $2 WHERE slug = $1",
                &[&program.slug, &encoded],
            )
            .await?
        };
        if changed == 0 {
            return Err(if create {
                StoreError::Conflict(Conflict::ProgramExists(program.slug.clone()))
            } else {
                StoreError::ProgramNotFound(program.slug.clone())
            });
        }
        note_raw(
            &tx,
            self.actor(),
            "program",
            program.slug.clone(),
            None,
            before.as_ref().map(audit_json),
            Some(audit_json(&program)),
        )
        .await?;
        bump_versions(&tx, [], true).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(program)
    }

    async fn delete_program(&self, slug: &str, in_use_blocks: bool) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let found = query(
            &tx,
            "SELECT body FROM programs WHERE slug = $1 FOR UPDATE",
            &[&slug],
        )
        .await?;
        let Some(old) = found.first().map(|r| body::<Program>(r, 0)).transpose()? else {
            return Err(StoreError::ProgramNotFound(slug.to_string()));
        };
        if in_use_blocks {
            let rows = query(
                &tx,
                "SELECT COUNT(*) FROM credentials WHERE program = $1",
                &[&slug],
            )
            .await?;
            let users: i64 = rows
                .first()
                .map_or(Ok(0), |r| r.try_get(0))
                .map_err(db_err)?;
            if users > 0 {
                return Err(StoreError::Conflict(Conflict::ProgramInUse {
                    slug: slug.to_string(),
                    users: usize::try_from(users).unwrap_or(usize::MAX),
                }));
            }
        }
        execute(&tx, "DELETE FROM programs WHERE slug = $1", &[&slug]).await?;
        note_raw(
            &tx,
            self.actor(),
            "program",
            slug.to_string(),
            None,
            Some(audit_json(&old)),
            None,
        )
        .await?;
        bump_versions(&tx, [], true).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn competency_programs(&self) -> Result<Vec<CompetencyProgram>> {
        let client = self.client().await?;
        stored_competencies(&client).await
    }

    async fn put_competency_program(
        &self,
        program: CompetencyProgram,
        create: bool,
    ) -> Result<CompetencyProgram> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_competencies(&tx).await?;
        let before = query(
            &tx,
            "SELECT body FROM competency_programs WHERE slug = $1 FOR UPDATE",
            &[&program.slug],
        )
        .await?
        .first()
        .map(|r| body::<CompetencyProgram>(r, 0))
        .transpose()?;
        match (create, &before) {
            (true, Some(_)) => {
                return Err(StoreError::Conflict(Conflict::CompetencyProgramExists(
                    program.slug.clone(),
                )));
            }
            (false, None) => {
                return Err(StoreError::CompetencyProgramNotFound(program.slug.clone()));
            }
            _ => {}
        }
        execute(
            &tx,
            "INSERT INTO competency_programs (slug, body) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET body = EXCLUDED.body",
            &[&program.slug, &encode_value(&program)],
        )
        .await?;
        note_raw(
            &tx,
            self.actor(),
            "competency program",
            program.slug.clone(),
            None,
            before.as_ref().map(audit_json),
            Some(audit_json(&program)),
        )
        .await?;
        reindex_competencies(&tx, &program.slug).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(program)
    }

    async fn delete_competency_program(&self, slug: &str, in_use_blocks: bool) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_competencies(&tx).await?;
        let found = query(
            &tx,
            "SELECT body FROM competency_programs WHERE slug = $1 FOR UPDATE",
            &[&slug],
        )
        .await?;
        let Some(old) = found
            .first()
            .map(|r| body::<CompetencyProgram>(r, 0))
            .transpose()?
        else {
            return Err(StoreError::CompetencyProgramNotFound(slug.to_string()));
        };
        if in_use_blocks {
            let holders = assessed_on(&tx, slug).await?.len();
            if holders > 0 {
                return Err(StoreError::Conflict(Conflict::CompetencyProgramInUse {
                    slug: slug.to_string(),
                    holders,
                }));
            }
        }
        execute(
            &tx,
            "DELETE FROM competency_programs WHERE slug = $1",
            &[&slug],
        )
        .await?;
        note_raw(
            &tx,
            self.actor(),
            "competency program",
            slug.to_string(),
            None,
            Some(audit_json(&old)),
            None,
        )
        .await?;
        reindex_competencies(&tx, slug).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_credential(&self, credential: Credential) -> Result<Credential> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // The holder row is locked before any write: the alert rule after the write locks
        // it too, and taking it after an insert's foreign-key share lock deadlocks with a
        // concurrent writer of the same holder.
        holder_in(&tx, credential.holder_id, true).await?;
        // Checked before an id is drawn, so a refusal leaves no gap in the ids (the unique
        // constraint still decides a race).
        let held = query(
            &tx,
            "SELECT id FROM credentials WHERE holder_id = $1 AND program = $2",
            &[&sql_id(credential.holder_id), &credential.program],
        )
        .await?;
        if let Some(row) = held.first() {
            return Err(StoreError::Conflict(Conflict::CredentialHeld {
                holder: credential.holder_id,
                program: credential.program.clone(),
                existing: read_sql_id(row.try_get(0).map_err(db_err)?),
            }));
        }
        let mut credential = credential;
        credential.id = next_id(&tx, IdKind::Credential).await?;
        write_credential(&tx, &credential, true).await?;
        note(&tx, self.actor(), None, Some(&credential)).await?;
        mark_dirty(&tx, credential.id).await?;
        self.changed(&tx, [credential.holder_id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(credential)
    }

    async fn credential(&self, id: u64) -> Result<Credential> {
        let client = self.client().await?;
        credential_in(&client, id, false).await
    }

    async fn list_credentials(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Credential>> {
        let after = id_after(after)?;
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM credentials WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&sql_id(holder), &after, &sql_limit(limit)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Credential>>>()?;
        Ok(page(items, limit, |c| id_cursor(c.id)))
    }

    async fn credentials_of(&self, holder: u64) -> Result<Vec<Credential>> {
        let client = self.client().await?;
        credentials_in(&client, holder).await
    }

    async fn update_credential(&self, credential: Credential) -> Result<Credential> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old = credential_in(&tx, credential.id, true).await?;
        holder_in(&tx, old.holder_id, true).await?;
        if old.holder_id != credential.holder_id || old.program != credential.program {
            return Err(StoreError::Conflict(Conflict::Immutable(
                "a credential's holder and program",
            )));
        }
        write_credential(&tx, &credential, false).await?;
        note(&tx, self.actor(), Some(&old), Some(&credential)).await?;
        mark_dirty(&tx, credential.id).await?;
        self.changed(&tx, [credential.holder_id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(credential)
    }

    async fn delete_credential(&self, id: u64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old = credential_in(&tx, id, true).await?;
        holder_in(&tx, old.holder_id, true).await?;
        for course in courses_in(&tx, old.holder_id, true).await? {
            if course.credential_ids.contains(&id) {
                let mut unpinned = course.clone();
                unpinned.credential_ids.retain(|&c| c != id);
                write_course(&tx, &unpinned, false).await?;
                note(&tx, self.actor(), Some(&course), Some(&unpinned)).await?;
            }
        }
        let cid = sql_id(id);
        execute(&tx, "DELETE FROM credentials WHERE id = $1", &[&cid]).await?;
        note(&tx, self.actor(), Some(&old), None).await?;
        execute(&tx, "DELETE FROM dirty_credentials WHERE id = $1", &[&cid]).await?;
        execute(
            &tx,
            "DELETE FROM alert_settings WHERE scope = $1",
            &[&format!("c/{id}")],
        )
        .await?;
        self.changed(&tx, [old.holder_id]).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn expiring(
        &self,
        from: Date,
        to: Date,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Credential>> {
        let (after_day, after_id) = match after {
            Some(c) => read_expiry_cursor(c)?,
            None => (i32::MIN, 0),
        };
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM credentials WHERE expires_on >= $1 AND expires_on <= $2 \
             AND (expires_on, id) > ($3, $4) ORDER BY expires_on, id LIMIT $5",
            &[
                &day(from),
                &day(to),
                &after_day,
                &after_id,
                &sql_limit(limit),
            ],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Credential>>>()?;
        Ok(page(items, limit, |c| expiry_cursor(c.expires_on, c.id)))
    }

    fn expiry_cursor(&self, credential: &Credential) -> Cursor {
        expiry_cursor(credential.expires_on, credential.id)
    }

    fn id_cursor(&self, id: u64) -> Cursor {
        id_cursor(id)
    }

    async fn create_course(&self, course: Course) -> Result<Course> {
        self.insert_course(course, false).await
    }

    async fn create_distinct_course(&self, course: Course) -> Result<Course> {
        self.insert_course(course, true).await
    }

    async fn create_courses(&self, courses: Vec<Course>, distinct: bool) -> Result<Vec<Course>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // Lock the holders' rows first, in id order (so two group logs never wait on each
        // other in a cycle), as a single course locks its holder's: the twin checks of one
        // holder then run one after the other, and the alert rule after the write finds
        // the locks already held.
        let mut ids: Vec<u64> = courses.iter().map(|c| c.holder_id).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            holder_in(&tx, id, true).await?;
        }
        if distinct {
            for (i, course) in courses.iter().enumerate() {
                let same_day = query(
                    &tx,
                    "SELECT body FROM courses WHERE holder_id = $1 AND completed_on = $2 ORDER BY id",
                    &[&sql_id(course.holder_id), &day(course.completed_on)],
                )
                .await?
                .iter()
                .map(|r| body(r, 0))
                .collect::<Result<Vec<Course>>>()?;
                if let Some(twin) = same_day.iter().find(|c| c.same_as(course)) {
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
        let mut created = Vec::with_capacity(courses.len());
        let mut holders = Vec::with_capacity(courses.len());
        for mut course in courses {
            holder_in(&tx, course.holder_id, false).await?;
            check_pins(&tx, &course).await?;
            course.id = next_id(&tx, IdKind::Course).await?;
            write_course(&tx, &course, true).await?;
            note(&tx, self.actor(), None, Some(&course)).await?;
            holders.push(course.holder_id);
            created.push(course);
        }
        holders.sort_unstable();
        holders.dedup();
        self.changed(&tx, holders).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn course(&self, id: u64) -> Result<Course> {
        let client = self.client().await?;
        course_in(&client, id, false).await
    }

    async fn list_courses(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Course>> {
        let after = id_after(after)?;
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM courses WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&sql_id(holder), &after, &sql_limit(limit)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Course>>>()?;
        Ok(page(items, limit, |c| id_cursor(c.id)))
    }

    async fn courses_of(&self, holder: u64) -> Result<Vec<Course>> {
        let client = self.client().await?;
        courses_in(&client, holder, false).await
    }

    async fn courses_on(&self, holder: u64, on: Date) -> Result<Vec<Course>> {
        let client = self.client().await?;
        courses_on_day(&client, holder, on).await
    }

    async fn update_course(&self, course: Course) -> Result<Course> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old = course_in(&tx, course.id, true).await?;
        holder_in(&tx, old.holder_id, true).await?;
        if old.holder_id != course.holder_id {
            return Err(StoreError::Conflict(Conflict::Immutable(
                "a course's holder",
            )));
        }
        check_pins(&tx, &course).await?;
        write_course(&tx, &course, false).await?;
        note(&tx, self.actor(), Some(&old), Some(&course)).await?;
        self.changed(&tx, [course.holder_id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(course)
    }

    async fn delete_course(&self, id: u64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old = course_in(&tx, id, true).await?;
        holder_in(&tx, old.holder_id, true).await?;
        execute(&tx, "DELETE FROM courses WHERE id = $1", &[&sql_id(id)]).await?;
        note(&tx, self.actor(), Some(&old), None).await?;
        self.changed(&tx, [old.holder_id]).await?;
        tx.commit().await.map_err(db_err)
    }
}

impl PgStore {
    /// Creates a course; when `distinct`, refuses it if the holder has its twin. The twin
    /// check locks the holder's row first (`FOR UPDATE`), so two distinct courses of one
    /// holder are checked one after the other and identical ones logged at once cannot
    /// both pass.
    async fn insert_course(&self, course: Course, distinct: bool) -> Result<Course> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // Locked always (not only for the twin check): see `create_credential`.
        holder_in(&tx, course.holder_id, true).await?;
        // Then the pins and the twin check, independent reads pipelined on the
        // transaction's connection (one round trip). A twin has the same day: read that
        // day's courses (the day index), not every one.
        let same_day = async {
            if distinct {
                courses_on_day(&tx, course.holder_id, course.completed_on).await
            } else {
                Ok(Vec::new())
            }
        };
        let ((), same_day) = tokio::try_join!(check_pins(&tx, &course), same_day)?;
        if let Some(twin) = same_day.iter().find(|c| c.same_as(&course)) {
            return Err(StoreError::Conflict(Conflict::DuplicateCourse {
                twin: twin.id,
            }));
        }
        // The id only once the course is accepted, so a refused one uses none.
        let id = next_id(&tx, IdKind::Course).await?;
        let course = Course { id, ..course };
        // The row and its history entry, pipelined too.
        tokio::try_join!(
            write_course(&tx, &course, true),
            note(&tx, self.actor(), None, Some(&course))
        )?;
        self.changed(&tx, [course.holder_id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(course)
    }
}
