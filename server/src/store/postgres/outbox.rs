//! The alert outbox, delivery channels, alert settings and scheduler bookkeeping on
//! PostgreSQL. Every change to an alert locks its row first, so changes from several daemons
//! compose.

use super::access::{audit_json, note, note_raw};
use super::records::{page, sql_limit};
use super::{
    PgStore, body, day, db_err, execute, foreign_key, id_after, id_cursor, next_id, next_ids,
    query, read_sql_id, sql_id, violates,
};
use crate::domain::{Actor, Alert, AlertSettings, Channel, Credential, DedupeKey, Holder, IdKind};
use crate::store::{
    Conflict, Cursor, Outbox, Page, Result, Scheduler, SettingsScope, StoreError, encode_value,
};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use jiff::civil::Date;

/// The `alert_settings` key of a scope (the same as the sled engine's).
pub(super) fn settings_key(scope: &SettingsScope) -> String {
    match scope {
        SettingsScope::Program(slug) => format!("p/{slug}"),
        SettingsScope::Holder(id) => format!("h/{id}"),
        SettingsScope::Credential(id) => format!("c/{id}"),
    }
}

/// Reads a [`settings_key`].
pub(super) fn read_scope(key: &str) -> Result<SettingsScope> {
    let bad = || StoreError::Corrupt(format!("bad alert settings key {key:?}"));
    let (kind, rest) = key.split_once('/').ok_or_else(bad)?;
    match kind {
        "p" => Ok(SettingsScope::Program(rest.to_string())),
        "h" => rest.parse().map(SettingsScope::Holder).map_err(|_| bad()),
        "c" => rest
            .parse()
            .map(SettingsScope::Credential)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// The delivery column of an alert: seconds of its next attempt, if any.
fn next_attempt(alert: &Alert) -> Option<i64> {
    alert.next_attempt().map(|t| t.as_second())
}

/// Inserts an alert unless its key was enqueued before; whether it was inserted.
pub(super) async fn insert_alert<C: GenericClient + Sync>(c: &C, a: &Alert) -> Result<bool> {
    let n = execute(
        c,
        "INSERT INTO alerts (id, holder_id, credential_id, expires_on, threshold_days, next_attempt, body, subject, dedupe_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (dedupe_key) DO NOTHING",
        &[
            &sql_id(a.id),
            &sql_id(a.holder_id),
            &sql_id(a.credential_id),
            &day(a.expires_on),
            &a.threshold_days,
            &next_attempt(a),
            &encode_value(a),
            &a.subject.kind(),
            &a.key(),
        ],
    )
    .await?;
    Ok(n == 1)
}

/// Inserts `alerts` (distinct keys, fresh ids) in one statement; for each, whether it was
/// inserted (false: an alert with its dedupe key is already stored).
pub(super) async fn insert_alerts<C: GenericClient + Sync>(
    c: &C,
    alerts: &[Alert],
) -> Result<Vec<bool>> {
    let ids: Vec<i64> = alerts.iter().map(|a| sql_id(a.id)).collect();
    let holders: Vec<i64> = alerts.iter().map(|a| sql_id(a.holder_id)).collect();
    let credentials: Vec<i64> = alerts.iter().map(|a| sql_id(a.credential_id)).collect();
    let expires: Vec<i32> = alerts.iter().map(|a| day(a.expires_on)).collect();
    let thresholds: Vec<i64> = alerts.iter().map(|a| a.threshold_days).collect();
    let attempts: Vec<Option<i64>> = alerts.iter().map(next_attempt).collect();
    let bodies: Vec<Vec<u8>> = alerts.iter().map(encode_value).collect();
    let subjects: Vec<&str> = alerts.iter().map(|a| a.subject.kind()).collect();
    let keys: Vec<String> = alerts.iter().map(|a| a.key()).collect();
    let inserted: std::collections::HashSet<i64> = query(
        c,
        "INSERT INTO alerts (id, holder_id, credential_id, expires_on, threshold_days, next_attempt, body, subject, dedupe_key) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::INT[], $5::BIGINT[], $6::BIGINT[], $7::BYTEA[], $8::TEXT[], $9::TEXT[]) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        &[
            &ids,
            &holders,
            &credentials,
            &expires,
            &thresholds,
            &attempts,
            &bodies,
            &subjects,
            &keys,
        ],
    )
    .await?
    .iter()
    .map(|r| r.try_get::<_, i64>(0).map_err(db_err))
    .collect::<Result<_>>()?;
    Ok(ids.iter().map(|id| inserted.contains(id)).collect())
}

/// Writes `new` over `old` (the same alert, locked); whether anything changed. Refuses to
/// change what identifies it.
pub(super) async fn change_alert<C: GenericClient + Sync>(
    c: &C,
    actor: Option<&Actor>,
    old: &Alert,
    new: &Alert,
) -> Result<bool> {
    if new == old {
        return Ok(false);
    }
    let identity = |a: &Alert| (a.id, a.holder_id, a.dedupe_key());
    if identity(new) != identity(old) {
        return Err(StoreError::Conflict(Conflict::Immutable(
            "an alert's id, holder and key",
        )));
    }
    execute(
        c,
        "UPDATE alerts SET next_attempt = $2, body = $3 WHERE id = $1",
        &[&sql_id(new.id), &next_attempt(new), &encode_value(new)],
    )
    .await?;
    note(c, actor, Some(old), Some(new)).await?;
    Ok(true)
}

async fn settings_in<C: GenericClient + Sync>(
    c: &C,
    scope: &SettingsScope,
    lock: bool,
) -> Result<Option<AlertSettings>> {
    let sql = if lock {
        "SELECT body FROM alert_settings WHERE scope = $1 FOR UPDATE"
    } else {
        "SELECT body FROM alert_settings WHERE scope = $1"
    };
    let rows = query(c, sql, &[&settings_key(scope)]).await?;
    rows.first().map(|r| body(r, 0)).transpose()
}

pub(super) async fn put_settings<C: GenericClient + Sync>(
    c: &C,
    scope: &SettingsScope,
    settings: &AlertSettings,
) -> Result<()> {
    execute(
        c,
        "INSERT INTO alert_settings (scope, body) VALUES ($1, $2) \
         ON CONFLICT (scope) DO UPDATE SET body = excluded.body",
        &[&settings_key(scope), &encode_value(settings)],
    )
    .await?;
    Ok(())
}

/// Runs `change` on each locked alert of `holder` that `select` picks; how many changed.
async fn modify_of<C: GenericClient + Sync>(
    c: &C,
    actor: Option<&Actor>,
    holder: u64,
    select: impl Fn(&Alert) -> bool,
    change: &mut (impl FnMut(&mut Alert) -> bool + Send),
) -> Result<usize> {
    let rows = query(
        c,
        "SELECT body FROM alerts WHERE holder_id = $1 ORDER BY id FOR UPDATE",
        &[&sql_id(holder)],
    )
    .await?;
    let mut changed = 0;
    for row in &rows {
        let old: Alert = body(row, 0)?;
        if !select(&old) {
            continue;
        }
        let mut new = old.clone();
        if change(&mut new) && change_alert(c, actor, &old, &new).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

impl Outbox for PgStore {
    async fn enqueue_alerts(&self, alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let mut seen = std::collections::HashSet::new();
        let mut fresh = Vec::with_capacity(alerts.len());
        for alert in alerts {
            if seen.insert(alert.dedupe_key()) {
                fresh.push(alert);
            }
        }
        // The ids in one query, then every row in one statement: a tick's alerts cost two
        // round trips and one statement to plan, not one each.
        let ids = next_ids(&tx, IdKind::Alert, fresh.len()).await?;
        let fresh: Vec<Alert> = fresh
            .into_iter()
            .zip(ids)
            .map(|(alert, id)| Alert { id, ..alert })
            .collect();
        let inserted = insert_alerts(&tx, &fresh).await?;
        let mut stored = Vec::new();
        for (alert, inserted) in fresh.into_iter().zip(inserted) {
            if inserted {
                note(&tx, self.actor(), None, Some(&alert)).await?;
                stored.push(alert);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn alert_enqueued(&self, key: &DedupeKey) -> Result<bool> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT 1 FROM alerts WHERE dedupe_key = $1",
            &[&key.text()],
        )
        .await?;
        Ok(!rows.is_empty())
    }

    async fn alert(&self, id: u64) -> Result<Alert> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT body FROM alerts WHERE id = $1",
            &[&sql_id(id)],
        )
        .await?;
        match rows.first() {
            Some(r) => body(r, 0),
            None => Err(StoreError::not_found(IdKind::Alert, id)),
        }
    }

    async fn alerts_of(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Alert>> {
        let after = id_after(after)?;
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM alerts WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&sql_id(holder), &after, &sql_limit(limit)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Alert>>>()?;
        Ok(page(items, limit, |a| id_cursor(a.id)))
    }

    async fn all_alerts(&self, after: Option<&Cursor>, limit: usize) -> Result<Page<Alert>> {
        let after = id_after(after)?;
        let client = self.client().await?;
        let items = query(
            &client,
            "SELECT body FROM alerts WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &sql_limit(limit)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect::<Result<Vec<Alert>>>()?;
        Ok(page(items, limit, |a| id_cursor(a.id)))
    }

    async fn alerts_due(&self, now: Timestamp, limit: usize) -> Result<Vec<Alert>> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        query(
            &client,
            "SELECT body FROM alerts WHERE next_attempt <= $1 ORDER BY next_attempt, id LIMIT $2",
            &[&now.as_second(), &limit],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
    }

    async fn next_retry_at(&self) -> Result<Option<Timestamp>> {
        let client = self.client().await?;
        let rows = query(&client, "SELECT MIN(next_attempt) FROM alerts", &[]).await?;
        let at: Option<i64> = rows
            .first()
            .map_or(Ok(None), |r| r.try_get(0))
            .map_err(db_err)?;
        Ok(at.and_then(|s| Timestamp::from_second(s).ok()))
    }

    async fn modify_alert<E: Send>(
        &self,
        id: u64,
        change: impl FnOnce(&mut Alert) -> std::result::Result<(), E> + Send,
    ) -> Result<std::result::Result<Alert, E>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let rows = query(
            &tx,
            "SELECT body FROM alerts WHERE id = $1 FOR UPDATE",
            &[&sql_id(id)],
        )
        .await?;
        let old: Alert = match rows.first() {
            Some(r) => body(r, 0)?,
            None => return Err(StoreError::not_found(IdKind::Alert, id)),
        };
        let mut new = old.clone();
        if let Err(refused) = change(&mut new) {
            return Ok(Err(refused));
        }
        change_alert(&tx, self.actor(), &old, &new).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Ok(new))
    }

    async fn modify_alerts_of(
        &self,
        holder: u64,
        mut change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let changed = modify_of(&tx, self.actor(), holder, |_| true, &mut change).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }

    async fn modify_cycle_alerts(
        &self,
        credential: u64,
        expires_on: Date,
        mut change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> Result<usize> {
        const CYCLE: &str = "SELECT body FROM alerts WHERE credential_id = $1 AND expires_on = $2 AND subject = 'credential' ORDER BY id";
        let mut client = self.client().await?;
        // Most writes change nothing here: find out without a transaction or a lock.
        let rows = query(&client, CYCLE, &[&sql_id(credential), &day(expires_on)]).await?;
        let mut any = false;
        for row in &rows {
            let mut alert: Alert = body(row, 0)?;
            any |= change(&mut alert);
        }
        if !any {
            return Ok(0);
        }
        let tx = client.transaction().await.map_err(db_err)?;
        let rows = query(
            &tx,
            &format!("{CYCLE} FOR UPDATE"),
            &[&sql_id(credential), &day(expires_on)],
        )
        .await?;
        let mut changed = 0;
        for row in &rows {
            let old: Alert = body(row, 0)?;
            let mut new = old.clone();
            if change(&mut new) && change_alert(&tx, self.actor(), &old, &new).await? {
                changed += 1;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }

    async fn modify_credential_alerts(
        &self,
        credential: u64,
        settings: impl FnOnce(&mut AlertSettings) + Send,
        mut change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> Result<(AlertSettings, usize)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let rows = query(
            &tx,
            "SELECT holder_id FROM credentials WHERE id = $1 FOR SHARE",
            &[&sql_id(credential)],
        )
        .await?;
        let holder: i64 = match rows.first() {
            Some(r) => r.try_get(0).map_err(db_err)?,
            None => return Err(StoreError::not_found(IdKind::Credential, credential)),
        };
        let scope = SettingsScope::Credential(credential);
        let mut stored = settings_in(&tx, &scope, true).await?.unwrap_or_default();
        settings(&mut stored);
        put_settings(&tx, &scope, &stored).await?;
        let changed = modify_of(
            &tx,
            self.actor(),
            read_sql_id(holder),
            |a| a.credential_id == credential,
            &mut change,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok((stored, changed))
    }

    async fn create_channel(&self, channel: Channel) -> Result<Channel> {
        if channel.team_id != 0 {
            return self.create_team_channel(channel).await;
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let found = query(
            &tx,
            // As the foreign key did before schema 6: a concurrent delete of the holder waits.
            "SELECT 1 FROM holders WHERE id = $1 FOR KEY SHARE",
            &[&sql_id(channel.holder_id)],
        )
        .await?;
        if found.is_empty() {
            return Err(StoreError::not_found(IdKind::Holder, channel.holder_id));
        }
        let same = query(
            &tx,
            "SELECT 1 FROM channels WHERE holder_id = $1 AND kind = $2 AND target = $3",
            &[
                &sql_id(channel.holder_id),
                &channel.kind.name(),
                &channel.target,
            ],
        )
        .await?;
        if !same.is_empty() {
            return Err(StoreError::Conflict(Conflict::ChannelExists {
                holder: channel.holder_id,
                kind: channel.kind.name(),
                target: channel.target.clone(),
            }));
        }
        let mut channel = channel;
        channel.id = next_id(&tx, IdKind::Channel).await?;
        let statement = tx
            .prepare_cached(
                "INSERT INTO channels (id, holder_id, kind, target, body) VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(db_err)?;
        let inserted = tx
            .execute(
                &statement,
                &[
                    &sql_id(channel.id),
                    &sql_id(channel.holder_id),
                    &channel.kind.name(),
                    &channel.target,
                    &encode_value(&channel),
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if violates(&e, "channels_holder_id_kind_target_key") => {
                return Err(StoreError::Conflict(Conflict::ChannelExists {
                    holder: channel.holder_id,
                    kind: channel.kind.name(),
                    target: channel.target.clone(),
                }));
            }
            Err(e) if foreign_key(&e) => {
                return Err(StoreError::not_found(IdKind::Holder, channel.holder_id));
            }
            Err(e) => return Err(db_err(e)),
        }
        note(&tx, self.actor(), None, Some(&channel)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(channel)
    }

    async fn channel(&self, id: u64) -> Result<Channel> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT body FROM channels WHERE id = $1",
            &[&sql_id(id)],
        )
        .await?;
        match rows.first() {
            Some(r) => body(r, 0),
            None => Err(StoreError::not_found(IdKind::Channel, id)),
        }
    }

    async fn channels_of(&self, holder: u64) -> Result<Vec<Channel>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT body FROM channels WHERE holder_id = $1 ORDER BY id",
            &[&sql_id(holder)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
    }

    async fn team_channels(&self, team: u64) -> Result<Vec<Channel>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT body FROM channels WHERE team_id = $1 ORDER BY id",
            &[&sql_id(team)],
        )
        .await?
        .iter()
        .map(|r| body(r, 0))
        .collect()
    }

    async fn delete_channel(&self, id: u64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let rows = query(
            &tx,
            "DELETE FROM channels WHERE id = $1 RETURNING body",
            &[&sql_id(id)],
        )
        .await?;
        let Some(row) = rows.first() else {
            return Err(StoreError::not_found(IdKind::Channel, id));
        };
        let old: Channel = body(row, 0)?;
        note(&tx, self.actor(), Some(&old), None).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn alert_settings(&self, scope: &SettingsScope) -> Result<AlertSettings> {
        let client = self.client().await?;
        Ok(settings_in(&client, scope, false)
            .await?
            .unwrap_or_default())
    }

    async fn set_alert_settings(
        &self,
        scope: SettingsScope,
        settings: AlertSettings,
    ) -> Result<AlertSettings> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(actor) = self.actor() {
            let old = settings_in(&tx, &scope, true).await?;
            let (record, holder) = match &scope {
                SettingsScope::Program(slug) => (format!("program {slug}"), None),
                SettingsScope::Holder(h) => (IdKind::Holder.format(*h), Some(*h)),
                SettingsScope::Credential(c) => {
                    let rows = query(
                        &tx,
                        "SELECT holder_id FROM credentials WHERE id = $1",
                        &[&sql_id(*c)],
                    )
                    .await?;
                    let holder = rows
                        .first()
                        .and_then(|r| r.try_get::<_, i64>(0).ok())
                        .map(read_sql_id);
                    (IdKind::Credential.format(*c), holder)
                }
            };
            note_raw(
                &tx,
                Some(actor),
                "alert settings",
                record,
                holder,
                old.as_ref().map(audit_json),
                Some(audit_json(&settings)),
            )
            .await?;
        }
        put_settings(&tx, &scope, &settings).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(settings)
    }

    async fn thresholds_in_use(&self) -> Result<Vec<u32>> {
        let client = self.client().await?;
        let mut all = Vec::new();
        for row in query(&client, "SELECT body FROM alert_settings", &[]).await? {
            let s: AlertSettings = body(&row, 0)?;
            all.extend(s.thresholds.unwrap_or_default());
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }
}

impl Scheduler for PgStore {
    async fn dirty_credentials(&self) -> Result<Vec<u64>> {
        let client = self.client().await?;
        query(&client, "SELECT id FROM dirty_credentials ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
            .collect()
    }

    async fn clear_dirty(&self, evaluated: &[Credential], gone: &[u64]) -> Result<()> {
        let ids: Vec<i64> = evaluated.iter().map(|c| sql_id(c.id)).collect();
        let bodies: Vec<Vec<u8>> = evaluated.iter().map(crate::store::encode_value).collect();
        let gone: Vec<i64> = gone.iter().map(|&i| sql_id(i)).collect();
        let client = self.client().await?;
        // A credential written since it was read keeps its mark: its row's body differs.
        if !ids.is_empty() {
            execute(
                &client,
                "DELETE FROM dirty_credentials d USING credentials c, UNNEST($1::BIGINT[], $2::BYTEA[]) AS e(id, body) \
                 WHERE d.id = e.id AND c.id = e.id AND c.body = e.body",
                &[&ids, &bodies],
            )
            .await?;
        }
        if !gone.is_empty() {
            execute(
                &client,
                "DELETE FROM dirty_credentials WHERE id = ANY($1)",
                &[&gone],
            )
            .await?;
        }
        Ok(())
    }

    async fn competencies_due(&self, windows: &[(Date, Date)]) -> Result<Vec<u64>> {
        let client = self.client().await?;
        let from: Vec<i32> = windows.iter().map(|w| day(w.0)).collect();
        let to: Vec<i32> = windows.iter().map(|w| day(w.1)).collect();
        query(
            &client,
            "SELECT DISTINCT d.holder_id FROM competencies_due d \
             JOIN UNNEST($1::INT[], $2::INT[]) AS w(from_day, to_day) \
             ON d.due_on >= w.from_day AND d.due_on <= w.to_day ORDER BY d.holder_id",
            &[&from, &to],
        )
        .await?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
        .collect()
    }

    async fn dues_holders(
        &self,
        program: &str,
        dues: &crate::domain::Dues,
        residues: &std::collections::BTreeSet<i32>,
    ) -> Result<Vec<u64>> {
        let client = self.client().await?;
        let span = query(
            &client,
            "SELECT MIN(dues_month), MAX(dues_month) FROM credentials WHERE program = $1",
            &[&program],
        )
        .await?;
        let Some(row) = span.first() else {
            return Ok(Vec::new());
        };
        let (Some(min), Some(max)) = (
            row.try_get::<_, Option<i32>>(0).map_err(db_err)?,
            row.try_get::<_, Option<i32>>(1).map_err(db_err)?,
        ) else {
            return Ok(Vec::new());
        };
        let months = dues.anniversary_months(residues, min, max);
        query(
            &client,
            "SELECT DISTINCT holder_id FROM credentials \
             WHERE program = $1 AND dues_month = ANY($2) ORDER BY holder_id",
            &[&program, &months],
        )
        .await?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
        .collect()
    }

    async fn dirty_holders(&self) -> Result<Vec<u64>> {
        let client = self.client().await?;
        query(&client, "SELECT id FROM dirty_holders ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
            .collect()
    }

    async fn clear_dirty_holders(&self, evaluated: &[Holder], gone: &[u64]) -> Result<()> {
        let ids: Vec<i64> = evaluated.iter().map(|h| sql_id(h.id)).collect();
        let bodies: Vec<Vec<u8>> = evaluated.iter().map(crate::store::encode_value).collect();
        let gone: Vec<i64> = gone.iter().map(|&i| sql_id(i)).collect();
        let client = self.client().await?;
        // A holder written since it was read keeps its mark: its row's body differs.
        execute(
            &client,
            "DELETE FROM dirty_holders d USING holders h, UNNEST($1::BIGINT[], $2::BYTEA[]) AS e(id, body) \
             WHERE d.id = e.id AND h.id = e.id AND h.body = e.body",
            &[&ids, &bodies],
        )
        .await?;
        execute(
            &client,
            "DELETE FROM dirty_holders WHERE id = ANY($1)",
            &[&gone],
        )
        .await?;
        Ok(())
    }

    async fn holder_zones(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT DISTINCT time_zone FROM holders ORDER BY time_zone",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(db_err))
        .collect()
    }

    async fn holders_in_zone(&self, zone: &str) -> Result<Vec<u64>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT id FROM holders WHERE time_zone = $1 ORDER BY id",
            &[&zone],
        )
        .await?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map(read_sql_id).map_err(db_err))
        .collect()
    }

    async fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT at FROM last_ticks WHERE zone = $1",
            &[&zone],
        )
        .await?;
        match rows.first() {
            Some(r) => {
                let at: i64 = r.try_get(0).map_err(db_err)?;
                Ok(Timestamp::from_second(at).ok())
            }
            None => Ok(None),
        }
    }

    async fn set_last_tick(&self, zone: &str, at: Timestamp) -> Result<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO last_ticks (zone, at) VALUES ($1, $2) ON CONFLICT (zone) DO UPDATE SET at = excluded.at",
            &[&zone, &at.as_second()],
        )
        .await?;
        Ok(())
    }
}

impl PgStore {
    /// Creates a team's channel: the team is locked while its channels are checked, so two
    /// adds of one target cannot both pass.
    async fn create_team_channel(&self, channel: Channel) -> Result<Channel> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let team = sql_id(channel.team_id);
        let found = query(
            &tx,
            "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE",
            &[&team],
        )
        .await?;
        if found.is_empty() {
            return Err(StoreError::Conflict(Conflict::NoSuchTeam(channel.team_id)));
        }
        let same = query(
            &tx,
            "SELECT 1 FROM channels WHERE team_id = $1 AND kind = $2 AND target = $3",
            &[&team, &channel.kind.name(), &channel.target],
        )
        .await?;
        if !same.is_empty() {
            return Err(StoreError::Conflict(Conflict::TeamChannelExists {
                team: channel.team_id,
                kind: channel.kind.name(),
                target: channel.target.clone(),
            }));
        }
        let mut channel = channel;
        channel.holder_id = 0;
        channel.id = next_id(&tx, IdKind::Channel).await?;
        execute(
            &tx,
            "INSERT INTO channels (id, holder_id, kind, target, body, team_id) VALUES ($1, 0, $2, $3, $4, $5)",
            &[
                &sql_id(channel.id),
                &channel.kind.name(),
                &channel.target,
                &encode_value(&channel),
                &team,
            ],
        )
        .await?;
        note(&tx, self.actor(), None, Some(&channel)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(channel)
    }
}
