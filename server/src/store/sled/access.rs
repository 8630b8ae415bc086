//! Tokens (found by the hash of their secret) and teams.

use super::keys::{decode, id_key, read_id};
use super::{META, Result, SledStore, StoreError, TEAMS, TOKENS, TOKENS_BY_HASH, WriteSet};
use crate::domain::{Team, Token, TokenHash};
use crate::store::Conflict;
use jiff::Timestamp;

pub(super) const NEXT_TOKEN: &[u8] = b"next_id/token";
pub(super) const NEXT_TEAM: &[u8] = b"next_id/team";

/// A token or team id that does not exist (these kinds have no [`crate::domain::IdKind`]).
fn missing(what: &str, id: u64) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} vanished"))
}

impl WriteSet {
    /// Takes the next id from the counter at `key` in `meta`.
    fn next_counter(&mut self, store: &SledStore, key: &[u8]) -> Result<u64> {
        let next = store
            .tree(META)
            .get(key)?
            .and_then(|v| read_id(&v))
            .unwrap_or(1);
        self.put_raw(META, key, &id_key(next + 1));
        Ok(next)
    }
}

impl SledStore {
    pub(super) fn all<T: super::keys::Record>(&self, tree: usize) -> Result<Vec<T>> {
        self.tree(tree)
            .iter()
            .values()
            .map(|v| decode::<T>(&v?).map_err(StoreError::Corrupt))
            .collect()
    }

    /// Stores a new token under a new id.
    pub async fn create_token(&self, token: Token) -> Result<Token> {
        self.write(|store, tx| {
            let id = tx.next_counter(store, NEXT_TOKEN)?;
            let token = Token { id, ..token };
            tx.put_record(None, &token);
            Ok(token)
        })
        .await
    }

    /// The token whose secret hashes to `hash`.
    pub fn token_by_hash(&self, hash: TokenHash) -> Result<Option<Token>> {
        let Some(id) = self.tree(TOKENS_BY_HASH).get(hash)? else {
            return Ok(None);
        };
        let id = read_id(&id).ok_or_else(|| StoreError::Corrupt("bad token index".into()))?;
        self.get(TOKENS, &id_key(id))
    }

    /// Every token, in id order.
    pub fn tokens(&self) -> Result<Vec<Token>> {
        self.all(TOKENS)
    }

    /// Marks a token revoked (keeping an earlier revocation).
    pub async fn revoke_token(&self, id: u64, at: Timestamp) -> Result<Token> {
        self.write(|store, tx| {
            let old: Token = store
                .get(TOKENS, &id_key(id))?
                .ok_or_else(|| missing("token", id))?;
            let new = Token {
                revoked_at: old.revoked_at.or(Some(at)),
                ..old.clone()
            };
            tx.put_record(Some(&old), &new);
            Ok(new)
        })
        .await
    }

    /// Creates (`id` 0) or replaces a team; names are unique.
    pub async fn put_team(&self, team: Team) -> Result<Team> {
        self.write(|store, tx| {
            let teams: Vec<Team> = store.all(TEAMS)?;
            if teams.iter().any(|t| t.id != team.id && t.name == team.name) {
                return Err(StoreError::Conflict(Conflict::TeamExists(team.name)));
            }
            if team.id == 0 {
                let id = tx.next_counter(store, NEXT_TEAM)?;
                let team = Team { id, ..team };
                tx.put_record(None, &team);
                Ok(team)
            } else {
                let old = teams
                    .into_iter()
                    .find(|t| t.id == team.id)
                    .ok_or_else(|| missing("team", team.id))?;
                tx.put_record(Some(&old), &team);
                Ok(team)
            }
        })
        .await
    }

    /// Every team, in id order.
    pub fn teams(&self) -> Result<Vec<Team>> {
        self.all(TEAMS)
    }
}
