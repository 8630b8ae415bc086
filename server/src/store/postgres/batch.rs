//! Reads of many records at once on PostgreSQL: each call is one query (`= ANY($1)` over an
//! array of keys), or two pipelined on one connection, where the one-by-one defaults would
//! make a round trip per record.

use super::outbox::settings_key;
use super::{
    PROGRAMS_VERSION, PgStore, body, day, db_err, holder_version_key, query, read_sql_id, sql_id,
};
use crate::domain::{AlertSettings, Channel, Course, Credential, DedupeKey, Holder, IdKind};
use crate::store::{
    BatchReads, HolderRecords, Result, SettingsScope, StoreError, StoredRecord, Version,
};
use jiff::civil::Date;
use std::collections::{HashMap, HashSet};

/// The ids as stored.
fn sql_ids(ids: &[u64]) -> Vec<i64> {
    ids.iter().map(|&i| sql_id(i)).collect()
}

/// `rows` (the record's id in column 2) in id order. The queries leave the order out: with
/// `ORDER BY id`, a generic plan of a prepared statement can walk the primary key of the
/// whole table (filtering on the holders) instead of the holders' index and a sort of their
/// few rows, which grew a tick's read of 100 holders' credentials to 8-11 ms at 10^5
/// credentials.
fn in_id_order(mut rows: Vec<tokio_postgres::Row>) -> Result<Vec<tokio_postgres::Row>> {
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        keyed.push((row.try_get::<_, i64>(2).map_err(db_err)?, row));
    }
    keyed.sort_unstable_by_key(|(id, _)| *id);
    Ok(keyed.into_iter().map(|(_, row)| row).collect())
}

/// Where each holder sits in `holders` (a holder asked for twice gets its records twice).
fn positions(holders: &[u64]) -> HashMap<u64, Vec<usize>> {
    let mut at: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, &h) in holders.iter().enumerate() {
        at.entry(h).or_default().push(i);
    }
    at
}

/// The records of `rows` (holder id in column 0, the record in column 1) grouped by holder,
/// aligned with `holders`.
fn by_holder<T: StoredRecord + Clone>(
    rows: &[tokio_postgres::Row],
    holders: &[u64],
) -> Result<Vec<Vec<T>>> {
    let at = positions(holders);
    let mut found = vec![Vec::new(); holders.len()];
    for row in rows {
        let holder = read_sql_id(row.try_get(0).map_err(db_err)?);
        let record: T = body(row, 1)?;
        for &i in at.get(&holder).into_iter().flatten() {
            found[i].push(record.clone());
        }
    }
    Ok(found)
}

impl BatchReads for PgStore {
    async fn holders_by_id(&self, ids: &[u64]) -> Result<Vec<Holder>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT body FROM holders WHERE id = ANY($1)",
            &[&sql_ids(ids)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
    }

    async fn holder_with_version(&self, id: u64) -> Result<(Holder, Version)> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT h.body, (SELECT value FROM versions WHERE key = $2), \
             (SELECT value FROM versions WHERE key = $3) FROM holders h WHERE h.id = $1",
            &[&sql_id(id), &holder_version_key(id), &PROGRAMS_VERSION],
        )
        .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::not_found(IdKind::Holder, id))?;
        let version = |col: usize| -> Result<u64> {
            Ok(row
                .try_get::<_, Option<i64>>(col)
                .map_err(db_err)?
                .map_or(0, read_sql_id))
        };
        Ok((
            body(row, 0)?,
            Version {
                holder: version(1)?,
                programs: version(2)?,
            },
        ))
    }

    async fn expiring_ids(&self, windows: &[(Date, Date)]) -> Result<Vec<u64>> {
        let client = self.client().await?;
        // A tick's windows are a day or a few each: as a list of days they are one `= ANY`
        // over the expiry index, which plans in microseconds; the join over the windows as
        // ranges spent about 1.8 ms planning each time at 10^5 credentials.
        let mut days: Vec<i32> = Vec::new();
        let mut ranges = false;
        for &(from, to) in windows {
            let (from, to) = (day(from), day(to));
            if to >= from
                && days.len() + usize::try_from(to - from + 1).unwrap_or(usize::MAX) <= 1000
            {
                days.extend(from..=to);
            } else if to >= from {
                ranges = true;
            }
        }
        let rows = if ranges {
            let from: Vec<i32> = windows.iter().map(|w| day(w.0)).collect();
            let to: Vec<i32> = windows.iter().map(|w| day(w.1)).collect();
            query(
                &client,
                "SELECT DISTINCT c.id FROM credentials c \
                 JOIN UNNEST($1::INT[], $2::INT[]) AS w(from_day, to_day) \
                 ON c.expires_on >= w.from_day AND c.expires_on <= w.to_day",
                &[&from, &to],
            )
            .await?
        } else {
            days.sort_unstable();
            days.dedup();
            query(
                &client,
                "SELECT id FROM credentials WHERE expires_on = ANY($1::INT[])",
                &[&days],
            )
            .await?
        };
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
            .collect::<Result<Vec<u64>>>()?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    async fn credentials_by_id(&self, ids: &[u64]) -> Result<Vec<Credential>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT body FROM credentials WHERE id = ANY($1)",
            &[&sql_ids(ids)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
    }

    async fn versions(&self, holders: &[u64]) -> Result<Vec<Version>> {
        let client = self.client().await?;
        let mut keys: Vec<String> = holders.iter().map(|&h| holder_version_key(h)).collect();
        keys.push(PROGRAMS_VERSION.to_string());
        let rows = query(
            &client,
            "SELECT key, value FROM versions WHERE key = ANY($1)",
            &[&keys],
        )
        .await?;
        let mut programs = 0;
        let mut by_key: HashMap<String, u64> = HashMap::new();
        for row in rows {
            let key: String = row.try_get(0).map_err(db_err)?;
            let value = read_sql_id(row.try_get(1).map_err(db_err)?);
            if key == PROGRAMS_VERSION {
                programs = value;
            } else {
                by_key.insert(key, value);
            }
        }
        Ok(holders
            .iter()
            .map(|&h| Version {
                programs,
                holder: by_key.get(&holder_version_key(h)).copied().unwrap_or(0),
            })
            .collect())
    }

    async fn records_of(&self, holders: &[u64]) -> Result<Vec<HolderRecords>> {
        let client = self.client().await?;
        let ids = sql_ids(holders);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&ids];
        // Both queries go out on the one connection before either answer is read.
        let (credentials, courses) = tokio::try_join!(
            query(
                &client,
                "SELECT holder_id, body, id FROM credentials WHERE holder_id = ANY($1)",
                &params,
            ),
            query(
                &client,
                "SELECT holder_id, body, id FROM courses WHERE holder_id = ANY($1)",
                &params,
            ),
        )?;
        let (credentials, courses) = (in_id_order(credentials)?, in_id_order(courses)?);
        let at = positions(holders);
        let mut found = vec![HolderRecords::default(); holders.len()];
        for row in &credentials {
            let holder = read_sql_id(row.try_get(0).map_err(db_err)?);
            let credential: Credential = body(row, 1)?;
            for &i in at.get(&holder).into_iter().flatten() {
                found[i].credentials.push(credential.clone());
            }
        }
        for row in &courses {
            let holder = read_sql_id(row.try_get(0).map_err(db_err)?);
            let course: Course = body(row, 1)?;
            for &i in at.get(&holder).into_iter().flatten() {
                found[i].courses.push(course.clone());
            }
        }
        Ok(found)
    }

    async fn credentials_of_many(&self, holders: &[u64]) -> Result<Vec<Vec<Credential>>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT holder_id, body, id FROM credentials WHERE holder_id = ANY($1)",
            &[&sql_ids(holders)],
        )
        .await?;
        by_holder(&in_id_order(rows)?, holders)
    }

    async fn channels_of_many(&self, holders: &[u64]) -> Result<Vec<Vec<Channel>>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT holder_id, body, id FROM channels WHERE holder_id = ANY($1)",
            &[&sql_ids(holders)],
        )
        .await?;
        by_holder(&in_id_order(rows)?, holders)
    }

    async fn alert_settings_many(&self, scopes: &[SettingsScope]) -> Result<Vec<AlertSettings>> {
        let client = self.client().await?;
        let keys: Vec<String> = scopes.iter().map(settings_key).collect();
        let rows = query(
            &client,
            "SELECT scope, body FROM alert_settings WHERE scope = ANY($1)",
            &[&keys],
        )
        .await?;
        let mut set: HashMap<String, AlertSettings> = HashMap::new();
        for row in &rows {
            set.insert(row.try_get(0).map_err(db_err)?, body(row, 1)?);
        }
        Ok(keys
            .iter()
            .map(|k| set.get(k).cloned().unwrap_or_default())
            .collect())
    }

    async fn alerts_enqueued(&self, keys: &[DedupeKey]) -> Result<Vec<bool>> {
        let client = self.client().await?;
        let texts: Vec<String> = keys.iter().map(DedupeKey::text).collect();
        let rows = query(
            &client,
            "SELECT dedupe_key FROM alerts WHERE dedupe_key = ANY($1::TEXT[])",
            &[&texts],
        )
        .await?;
        let mut seen: HashSet<String> = HashSet::new();
        for row in &rows {
            seen.insert(row.try_get(0).map_err(db_err)?);
        }
        Ok(texts.iter().map(|k| seen.contains(k)).collect())
    }
}
