//! The PostgreSQL engine: the store port on a PostgreSQL (or PostgreSQL-wire) database, so
//! several `recertd` can share one database.
//!
//! Tables hold each record as its kind's versioned storage message (`body`, the same encoding
//! as the sled engine) beside the columns that queries select, order and constrain by
//! (`migrations/`). Every request is one transaction; a read-modify-write locks the rows it
//! reads (`SELECT ... FOR UPDATE`), so concurrent changes compose, in one daemon or several.
//! Ids come from sequences (never a row every writer locks, so concurrent writers share
//! PostgreSQL's group commit); the per-holder change versions are rows moved in the same
//! transaction as the write, so every daemon's standing cache sees every daemon's writes.
//!
//! SQL used: tables, sequences, `INSERT ... ON CONFLICT`, `SELECT ... FOR UPDATE`, row-value
//! comparisons for keyset pages, `UNNEST` of arrays. No advisory locks, no `LISTEN/NOTIFY`:
//! CockroachDB has all of these.

mod access;
mod after;
mod batch;
mod check;
mod lease;
mod outbox;
mod records;
mod snapshot;

pub use check::check;
pub use lease::Lease;

use crate::domain::{Actor, IdKind};
use crate::store::{Cursor, Result, StoreError, StoredRecord, Version, decode_value};
use deadpool_postgres::{GenericClient, Object, Pool};
use jiff::civil::Date;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The migrations, in order: schema version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: [&str; 7] = [
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_access.sql"),
    include_str!("migrations/0003_courses_by_day.sql"),
    include_str!("migrations/0004_alert_subjects.sql"),
    include_str!("migrations/0005_tick_marks.sql"),
    include_str!("migrations/0006_team_channels.sql"),
    include_str!("migrations/0007_competency_programs.sql"),
];

/// The schema version this build writes and reads.
pub const PG_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How to reach the database.
#[derive(Clone)]
pub struct PgOptions {
    /// `postgres://USER[:PASS]@HOST:PORT/DB[?sslmode=require&sslrootcert=CA.pem]`.
    pub url: String,
    /// Connections in the pool.
    pub pool_size: usize,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The URL with its password hidden (for logs and errors).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "(a database URL that does not parse)".to_string(),
    }
}

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The URL without its password, for messages.
    shown: Arc<str>,
    /// Who this handle's writes are by: each of them appends history rows naming it.
    actor: Option<Arc<Actor>>,
    /// Run inside each write that changes a holder's records (see
    /// [`crate::store::Store::with_alerts_after`]).
    after: Option<Arc<dyn crate::store::AlertsAfter>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// A database error as a store error: lost connections and a database that is starting or
/// stopping are [`StoreError::Unavailable`] (the client may retry); the rest is a failure.
pub(crate) fn db_err(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                StoreError::Unavailable(format!("{code}: {}", db.message()))
            } else {
                StoreError::Storage(format!("{code}: {}", db.message()))
            }
        }
        None if e.code().is_none() => StoreError::Unavailable(with_causes(&e)),
        None => StoreError::Storage(with_causes(&e)),
    }
}

/// An error with its causes, `outer: inner: ...` (the driver's own message leaves out why a
/// TLS handshake failed, e.g. that the server's certificate is not signed by the CA given).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Whether `e` is a violation of the constraint `name`.
pub(crate) fn violates(e: &tokio_postgres::Error, name: &str) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.constraint() == Some(name))
}

/// Whether `e` is a foreign-key violation (a referenced holder is gone).
pub(crate) fn foreign_key(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.code().code() == "23503")
}

/// A date as a sortable integer, `yyyymmdd`.
pub(crate) fn day(date: Date) -> i32 {
    i32::from(date.year()) * 10_000 + i32::from(date.month()) * 100 + i32::from(date.day())
}

/// Schema 3's data step: fills `courses.completed_on` from each row's body (the day lives
/// inside the storage message, out of SQL's reach), then makes the column NOT NULL.
async fn fill_completed_on<C: GenericClient + Sync>(c: &C) -> Result<()> {
    let rows = query(
        c,
        "SELECT id, body FROM courses WHERE completed_on IS NULL",
        &[],
    )
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut days = Vec::with_capacity(rows.len());
    for row in &rows {
        let course: crate::domain::Course = body(row, 1)?;
        ids.push(row.try_get::<_, i64>(0).map_err(db_err)?);
        days.push(day(course.completed_on));
    }
    for (ids, days) in ids.chunks(10_000).zip(days.chunks(10_000)) {
        execute(
            c,
            "UPDATE courses SET completed_on = d.day \
             FROM UNNEST($1::BIGINT[], $2::INT[]) AS d(id, day) WHERE courses.id = d.id",
            &[&ids, &days],
        )
        .await?;
    }
    c.batch_execute("ALTER TABLE courses ALTER COLUMN completed_on SET NOT NULL")
        .await
        .map_err(db_err)
}

/// Schema 5's data step: fills `credentials.dues_month` and `competencies_due` from the
/// rows' bodies and marks every holder for the next tick (which before read them all).
async fn fill_tick_marks<C: GenericClient + Sync>(c: &C) -> Result<()> {
    let rows = query(c, "SELECT id, body FROM credentials", &[]).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut months = Vec::with_capacity(rows.len());
    for row in &rows {
        let credential: crate::domain::Credential = body(row, 1)?;
        ids.push(row.try_get::<_, i64>(0).map_err(db_err)?);
        months.push(crate::domain::dues_month(&credential));
    }
    for (ids, months) in ids.chunks(10_000).zip(months.chunks(10_000)) {
        execute(
            c,
            "UPDATE credentials SET dues_month = d.month \
             FROM UNNEST($1::BIGINT[], $2::INT[]) AS d(id, month) WHERE credentials.id = d.id",
            &[&ids, &months],
        )
        .await?;
    }
    c.batch_execute("ALTER TABLE credentials ALTER COLUMN dues_month SET NOT NULL")
        .await
        .map_err(db_err)?;
    let rows = query(c, "SELECT body FROM holders", &[]).await?;
    let holders = rows
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<crate::domain::Holder>>>()?;
    // Schema 5 has no stored competency programs: the built-in ones are in force.
    let builtin = crate::catalog::Competencies::builtin();
    for chunk in holders.chunks(10_000) {
        records::write_tick_marks_with(c, chunk, &builtin).await?;
    }
    Ok(())
}

/// Schema 4's data step: fills `alerts.dedupe_key` from each row's body (every alert before
/// schema 4 is about a credential's cycle, so its key is `cr3/2027-03-01/30`), then makes it
/// the outbox's one unique key in place of (credential, expiry, threshold).
async fn fill_dedupe_key<C: GenericClient + Sync>(c: &C) -> Result<()> {
    let rows = query(
        c,
        "SELECT id, body FROM alerts WHERE dedupe_key IS NULL",
        &[],
    )
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        let alert: crate::domain::Alert = body(row, 1)?;
        ids.push(row.try_get::<_, i64>(0).map_err(db_err)?);
        keys.push(alert.key());
    }
    for (ids, keys) in ids.chunks(10_000).zip(keys.chunks(10_000)) {
        execute(
            c,
            "UPDATE alerts SET dedupe_key = d.key \
             FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS d(id, key) WHERE alerts.id = d.id",
            &[&ids, &keys],
        )
        .await?;
    }
    c.batch_execute(
        "ALTER TABLE alerts ALTER COLUMN dedupe_key SET NOT NULL; \
         CREATE UNIQUE INDEX alerts_by_dedupe_key ON alerts (dedupe_key); \
         ALTER TABLE alerts DROP CONSTRAINT alerts_credential_id_expires_on_threshold_days_key; \
         CREATE INDEX alerts_by_cycle ON alerts (credential_id, expires_on)",
    )
    .await
    .map_err(db_err)
}

/// An id as stored (BIGINT).
pub(crate) fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// A stored id.
pub(crate) fn read_sql_id(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The record in column `col` of `row`.
pub(crate) fn body<T: StoredRecord>(row: &Row, col: usize) -> Result<T> {
    let bytes: &[u8] = row.try_get(col).map_err(db_err)?;
    decode_value(bytes).map_err(StoreError::Corrupt)
}

/// The id a cursor of an id-ordered list continues after (the same 8 bytes as sled's).
pub(crate) fn id_after(after: Option<&Cursor>) -> Result<i64> {
    match after {
        None => Ok(0),
        Some(c) => {
            let bytes: [u8; 8] = c.bytes().try_into().map_err(|_| StoreError::BadCursor)?;
            Ok(sql_id(u64::from_be_bytes(bytes)))
        }
    }
}

/// The cursor of an id-ordered list that continues after `id`.
pub(crate) fn id_cursor(id: u64) -> Cursor {
    Cursor::new(id.to_be_bytes().to_vec())
}

/// The expiry cursor (the same 12 bytes as sled's: the date as year+10000, month, day, then
/// the credential id), so page tokens mean the same on both engines.
pub(crate) fn expiry_cursor(date: Date, id: u64) -> Cursor {
    let year = u16::try_from(i32::from(date.year()) + 10_000).unwrap_or(0);
    let mut bytes = year.to_be_bytes().to_vec();
    bytes.push(date.month() as u8);
    bytes.push(date.day() as u8);
    bytes.extend_from_slice(&id.to_be_bytes());
    Cursor::new(bytes)
}

/// Reads an [`expiry_cursor`]: (day, id).
pub(crate) fn read_expiry_cursor(cursor: &Cursor) -> Result<(i32, i64)> {
    let b = cursor.bytes();
    if b.len() != 12 {
        return Err(StoreError::BadCursor);
    }
    let year = i32::from(u16::from_be_bytes([b[0], b[1]])) - 10_000;
    let date = i16::try_from(year)
        .ok()
        .and_then(|y| Date::new(y, b[2] as i8, b[3] as i8).ok())
        .ok_or(StoreError::BadCursor)?;
    let id = u64::from_be_bytes(b[4..12].try_into().map_err(|_| StoreError::BadCursor)?);
    Ok((day(date), sql_id(id)))
}

/// The sequence of a counted kind.
pub(crate) fn sequence(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Holder => "holder_ids",
        IdKind::Credential => "credential_ids",
        IdKind::Course => "course_ids",
        IdKind::Alert => "alert_ids",
        _ => "channel_ids",
    }
}

/// The `versions` key of a holder.
pub(crate) fn holder_version_key(holder: u64) -> String {
    format!("h/{holder}")
}

/// The `versions` key of the local programs.
pub(crate) const PROGRAMS_VERSION: &str = "programs";

/// The `versions` row a competency program write moves and a holder write locks FOR SHARE
/// (see `migrations/0007_competency_programs.sql`).
pub(crate) const COMPETENCY_VERSION: &str = "competency-programs";

/// Runs one statement (prepared once per connection).
pub(crate) async fn query<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(db_err)?;
    client.query(&statement, params).await.map_err(db_err)
}

/// Runs one statement that returns no rows; the number of rows it changed.
pub(crate) async fn execute<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64> {
    let statement = client.prepare_cached(sql).await.map_err(db_err)?;
    client.execute(&statement, params).await.map_err(db_err)
}

/// Moves the change versions of `holders` (and of the local programs when `programs`), in
/// the caller's transaction. Keys are moved in sorted order, so two writers never wait on
/// each other's rows in opposite orders.
pub(crate) async fn bump_versions<C: GenericClient + Sync>(
    client: &C,
    holders: impl IntoIterator<Item = u64>,
    programs: bool,
) -> Result<()> {
    let mut keys: Vec<String> = holders.into_iter().map(holder_version_key).collect();
    if programs {
        keys.push(PROGRAMS_VERSION.to_string());
    }
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    execute(
        client,
        "INSERT INTO versions (key, value) SELECT k, 1 FROM UNNEST($1::TEXT[]) AS k \
         ON CONFLICT (key) DO UPDATE SET value = versions.value + 1",
        &[&keys],
    )
    .await?;
    Ok(())
}

/// The next id of `kind`.
pub(crate) async fn next_id<C: GenericClient + Sync>(client: &C, kind: IdKind) -> Result<u64> {
    let sql = format!("SELECT nextval('{}')", sequence(kind));
    let rows = query(client, &sql, &[]).await?;
    let id: i64 = rows
        .first()
        .ok_or_else(|| StoreError::Storage("nextval returned nothing".into()))?
        .try_get(0)
        .map_err(db_err)?;
    Ok(read_sql_id(id))
}

/// `n` next ids of `kind` in one query, ascending.
pub(crate) async fn next_ids<C: GenericClient + Sync>(
    client: &C,
    kind: IdKind,
    n: usize,
) -> Result<Vec<u64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT nextval('{}') FROM generate_series(1, $1::INT)",
        sequence(kind)
    );
    let count = i32::try_from(n).unwrap_or(i32::MAX);
    let mut ids = query(client, &sql, &[&count])
        .await?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
        .collect::<Result<Vec<u64>>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Builds the TLS connector: roots from `sslrootcert` (a PEM file) when given, else the
/// Web PKI roots. Used when the URL's `sslmode` asks for TLS (`prefer`, `require`).
fn tls(
    ca_file: Option<&PathBuf>,
) -> std::result::Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Splits `sslrootcert=PATH` off the URL (the driver does not read it; we do, for rustls).
fn split_root_cert(url: &str) -> std::result::Result<(String, Option<PathBuf>), String> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| format!("the database URL does not parse: {e}"))?;
    let mut ca = None;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == "sslrootcert" {
                ca = Some(PathBuf::from(v.into_owned()));
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((parsed.to_string(), ca))
}

impl PgStore {
    /// Connects to the database at `options.url`, then applies the migrations it lacks in
    /// one transaction (refusing a schema newer than this build's).
    pub async fn open(options: &PgOptions) -> Result<PgStore> {
        let shown = redact(&options.url);
        let open_err = |detail: String| StoreError::Open {
            dir: PathBuf::from(&shown),
            detail,
        };
        let (url, ca) = split_root_cert(&options.url).map_err(open_err)?;
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            open_err(format!("the database URL is invalid: {e}"))
        })?;
        let tls = tls(ca.as_ref()).map_err(open_err)?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let timeout = Some(std::time::Duration::from_secs(5));
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        let store = PgStore {
            pool,
            shown: Arc::from(shown.as_str()),
            actor: None,
            after: None,
        };
        // Two daemons starting at once may race to create the schema; the loser retries
        // and finds it made.
        let mut attempt = 0;
        loop {
            match store.migrate().await {
                Err(StoreError::Storage(e)) if attempt < 3 => {
                    tracing::warn!(error = %e, "migration raced another daemon; retrying");
                    attempt += 1;
                }
                Err(StoreError::Unavailable(e)) => {
                    return Err(open_err(format!("cannot connect: {e}")));
                }
                other => return other.map(|()| store),
            }
        }
    }

    /// Applies the migrations the database lacks, in one transaction.
    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS recert_schema (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db_err)?;
        let rows = query(
            &tx,
            "SELECT COALESCE(MAX(version), 0) FROM recert_schema",
            &[],
        )
        .await?;
        let found: i32 = rows
            .first()
            .map_or(Ok(0), |r| r.try_get(0))
            .map_err(db_err)?;
        let found = u32::try_from(found).unwrap_or(0);
        if found > PG_SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                dir: PathBuf::from(self.shown.as_ref()),
                found,
                supported: PG_SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.batch_execute(sql).await.map_err(db_err)?;
            if i + 1 == 3 {
                fill_completed_on(&tx).await?;
            }
            if i + 1 == 4 {
                fill_dedupe_key(&tx).await?;
            }
            if i + 1 == 5 {
                fill_tick_marks(&tx).await?;
            }
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            execute(
                &tx,
                "INSERT INTO recert_schema (version) VALUES ($1)",
                &[&version],
            )
            .await?;
            tracing::info!(version, "database schema migrated");
        }
        tx.commit().await.map_err(db_err)
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<u32> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COALESCE(MAX(version), 0) FROM recert_schema",
            &[],
        )
        .await?;
        let v: i32 = rows
            .first()
            .map_or(Ok(0), |r| r.try_get(0))
            .map_err(db_err)?;
        Ok(u32::try_from(v).unwrap_or(0))
    }

    /// The database URL without its password.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// Who this handle's writes are by (none: they leave no history).
    pub(crate) fn actor(&self) -> Option<&Actor> {
        self.actor.as_deref()
    }

    /// A pooled connection; an unreachable database is [`StoreError::Unavailable`].
    pub(crate) async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => db_err(e),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    /// A holder's change version.
    pub(crate) async fn read_version(&self, holder: u64) -> Result<Version> {
        let client = self.client().await?;
        let keys = vec![holder_version_key(holder), PROGRAMS_VERSION.to_string()];
        let rows = query(
            &client,
            "SELECT key, value FROM versions WHERE key = ANY($1)",
            &[&keys],
        )
        .await?;
        let mut version = Version::default();
        for row in rows {
            let key: &str = row.try_get(0).map_err(db_err)?;
            let value: i64 = row.try_get(1).map_err(db_err)?;
            if key == PROGRAMS_VERSION {
                version.programs = read_sql_id(value);
            } else {
                version.holder = read_sql_id(value);
            }
        }
        Ok(version)
    }
}

impl crate::store::Store for PgStore {
    fn acting(&self, actor: Actor) -> Self {
        PgStore {
            actor: Some(Arc::new(actor)),
            ..self.clone()
        }
    }

    fn with_alerts_after(&self, after: Arc<dyn crate::store::AlertsAfter>) -> Self {
        PgStore {
            after: Some(after),
            ..self.clone()
        }
    }

    async fn close(&self) -> Result<()> {
        // Every write was committed before it was answered; only the connections remain.
        self.pool.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_and_sslrootcert_is_ours() {
        assert_eq!(
            redact("postgres://recert:s3cret@db:5432/recert"),
            "postgres://recert:***@db:5432/recert"
        );
        assert_eq!(
            redact("postgres://recert@db/recert"),
            "postgres://recert@db/recert"
        );
        assert!(!redact("not a url s3cret").contains("s3cret"));
        let (url, ca) =
            split_root_cert("postgres://u:p@db/recert?sslmode=require&sslrootcert=/etc/ca.pem")
                .unwrap();
        assert_eq!(url, "postgres://u:p@db/recert?sslmode=require");
        assert_eq!(ca, Some(PathBuf::from("/etc/ca.pem")));
        let (url, ca) = split_root_cert("postgres://u@db/recert").unwrap();
        assert_eq!((url.as_str(), ca), ("postgres://u@db/recert", None));
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let Err(e) = tls(Some(&PathBuf::from("/nonexistent/ca.pem"))) else {
            panic!("a missing CA file was accepted");
        };
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn cursors_have_sled_bytes_and_read_back() {
        let date = Date::new(2027, 3, 1).unwrap();
        let cursor = expiry_cursor(date, 42);
        assert_eq!(cursor.bytes().len(), 12);
        assert_eq!(read_expiry_cursor(&cursor).unwrap(), (20270301, 42));
        assert!(matches!(
            read_expiry_cursor(&Cursor::new(vec![1, 2, 3])),
            Err(StoreError::BadCursor)
        ));
        assert_eq!(id_after(Some(&id_cursor(7))).unwrap(), 7);
        assert!(matches!(
            id_after(Some(&Cursor::new(vec![0; 3]))),
            Err(StoreError::BadCursor)
        ));
    }
}
