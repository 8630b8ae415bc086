//! Tokens, teams and the audit trail on PostgreSQL. A handle made by
//! [`crate::store::Store::acting`] inserts one `history` row per record a write creates,
//! changes or deletes, in that write's transaction, so an entry exists exactly when its
//! change was committed.

use super::records::{page, sql_limit};
use super::{PgStore, body, db_err, execute, id_after, id_cursor, query, read_sql_id, sql_id};
use crate::domain::{Actor, HistoryEntry, Team, Token, TokenHash};
use crate::store::{
    Access, Audit, Audited, Conflict, Cursor, Page, Result, StoreError, encode_value, json_without,
};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;

/// A token or team id that does not exist (these kinds have no [`crate::domain::IdKind`]).
fn missing(what: &str, id: u64) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} vanished"))
}

/// The next value of `sequence`.
pub(super) async fn next_in<C: GenericClient + Sync>(c: &C, sequence: &str) -> Result<u64> {
    let rows = query(c, &format!("SELECT nextval('{sequence}')"), &[]).await?;
    let id: i64 = rows
        .first()
        .ok_or_else(|| StoreError::Storage("nextval returned nothing".into()))?
        .try_get(0)
        .map_err(db_err)?;
    Ok(read_sql_id(id))
}

/// Appends the history entry of one change, worded as the embedded engine words it: nothing without an
/// actor, nothing when the record's audited fields did not change.
pub(super) async fn note_raw<C: GenericClient + Sync>(
    c: &C,
    actor: Option<&Actor>,
    kind: &str,
    record: String,
    holder: Option<u64>,
    before: Option<String>,
    after: Option<String>,
) -> Result<()> {
    let Some(actor) = actor else {
        return Ok(());
    };
    if before == after {
        return Ok(());
    }
    let action = match (&before, &after) {
        (None, _) => "create",
        (_, None) => "delete",
        _ => "update",
    };
    let entry = HistoryEntry {
        id: next_in(c, "history_ids").await?,
        at: actor.at,
        token_id: actor.token_id,
        actor: actor.name.clone(),
        action: action.into(),
        kind: kind.into(),
        record,
        holder_id: holder,
        before,
        after,
    };
    execute(
        c,
        "INSERT INTO history (id, holder_id, body) VALUES ($1, $2, $3)",
        &[
            &sql_id(entry.id),
            &entry.holder_id.map(sql_id),
            &encode_value(&entry),
        ],
    )
    .await?;
    Ok(())
}

/// Appends the history entry of a change from `old` to `new` (either may be absent).
pub(super) async fn note<C: GenericClient + Sync, T: Audited>(
    c: &C,
    actor: Option<&Actor>,
    old: Option<&T>,
    new: Option<&T>,
) -> Result<()> {
    if actor.is_none() {
        return Ok(());
    }
    let (old, new): (Option<Audit>, Option<Audit>) =
        (old.and_then(T::audit), new.and_then(T::audit));
    let Some(any) = new.as_ref().or(old.as_ref()) else {
        return Ok(());
    };
    let (kind, record, holder) = (any.kind, any.record.clone(), any.holder);
    note_raw(
        c,
        actor,
        kind,
        record,
        holder,
        old.map(|a| a.json),
        new.map(|a| a.json),
    )
    .await
}

/// A record's fields as the audit trail shows them (programs, alert settings).
pub(super) fn audit_json<T: serde::Serialize>(value: &T) -> String {
    json_without(value, &[])
}

pub(super) async fn put_token<C: GenericClient + Sync>(c: &C, token: &Token) -> Result<()> {
    execute(
        c,
        "INSERT INTO tokens (id, hash, body) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, body = EXCLUDED.body",
        &[
            &sql_id(token.id),
            &token.hash.as_slice(),
            &encode_value(token),
        ],
    )
    .await?;
    Ok(())
}

impl Access for PgStore {
    async fn create_token(&self, token: Token) -> Result<Token> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let token = Token {
            id: next_in(&tx, "token_ids").await?,
            ..token
        };
        put_token(&tx, &token).await?;
        note(&tx, self.actor(), None, Some(&token)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(token)
    }

    async fn token_by_hash(&self, hash: TokenHash) -> Result<Option<Token>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT body FROM tokens WHERE hash = $1",
            &[&hash.as_slice()],
        )
        .await?;
        rows.first().map(|r| body(r, 0)).transpose()
    }

    async fn tokens(&self) -> Result<Vec<Token>> {
        let client = self.client().await?;
        let rows = query(&client, "SELECT body FROM tokens ORDER BY id", &[]).await?;
        rows.iter().map(|r| body(r, 0)).collect()
    }

    async fn revoke_token(&self, id: u64, at: Timestamp) -> Result<Token> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let rows = query(
            &tx,
            "SELECT body FROM tokens WHERE id = $1 FOR UPDATE",
            &[&sql_id(id)],
        )
        .await?;
        let old: Token = body(rows.first().ok_or_else(|| missing("token", id))?, 0)?;
        let new = Token {
            revoked_at: old.revoked_at.or(Some(at)),
            ..old.clone()
        };
        put_token(&tx, &new).await?;
        note(&tx, self.actor(), Some(&old), Some(&new)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(new)
    }

    async fn put_team(&self, team: Team) -> Result<Team> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let old: Option<Team> = if team.id == 0 {
            None
        } else {
            let rows = query(
                &tx,
                "SELECT body FROM teams WHERE id = $1 FOR UPDATE",
                &[&sql_id(team.id)],
            )
            .await?;
            Some(body(
                rows.first().ok_or_else(|| missing("team", team.id))?,
                0,
            )?)
        };
        let team = match old {
            None => Team {
                id: next_in(&tx, "team_ids").await?,
                ..team
            },
            Some(_) => team,
        };
        let written = execute(
            &tx,
            "INSERT INTO teams (id, name, body) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, body = EXCLUDED.body",
            &[&sql_id(team.id), &team.name, &encode_value(&team)],
        )
        .await;
        match written {
            Err(StoreError::Storage(m)) if m.starts_with("23505") => {
                return Err(StoreError::Conflict(Conflict::TeamExists(team.name)));
            }
            other => other?,
        };
        note(&tx, self.actor(), old.as_ref(), Some(&team)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(team)
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        let client = self.client().await?;
        let rows = query(&client, "SELECT body FROM teams ORDER BY id", &[]).await?;
        rows.iter().map(|r| body(r, 0)).collect()
    }

    async fn history(
        &self,
        holder: Option<u64>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<HistoryEntry>> {
        let client = self.client().await?;
        let after = id_after(after)?;
        let rows = match holder {
            Some(h) => query(
                &client,
                "SELECT body FROM history WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&sql_id(h), &after, &sql_limit(limit)],
            )
            .await?,
            None => {
                query(
                    &client,
                    "SELECT body FROM history WHERE id > $1 ORDER BY id LIMIT $2",
                    &[&after, &sql_limit(limit)],
                )
                .await?
            }
        };
        let items = rows
            .iter()
            .map(|r| body(r, 0))
            .collect::<Result<Vec<HistoryEntry>>>()?;
        Ok(page(items, limit, |e: &HistoryEntry| id_cursor(e.id)))
    }
}
