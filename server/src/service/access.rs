//! Who is asking, and what they may see: the [`Caller`] a bearer token resolves to, tokens
//! (made, listed, revoked) and teams (whose leads' supervisor tokens see their members).
//!
//! The rule everywhere: a record whose holder the caller may not see answers exactly as if
//! it did not exist ([`Service::visible`]); what only an admin may do at all answers
//! `PermissionDenied` ([`Caller::require_admin`]).

use super::{HolderRef, Service, ServiceError, ServiceResult};
use crate::domain::{
    Actor, FieldError, HistoryEntry, IdKind, Role, Team, Token, TokenHash, parse_team_id,
    parse_token_id, team_id, token_id,
};
use crate::store::{Cursor, Page, Store, StoreError};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The prefix of every token secret, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "rct_";

/// Random bytes in a secret (256 bits).
const SECRET_BYTES: usize = 32;

/// Who is asking. Every use case takes one, so access rules live here, in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The daemon itself (its alert engine, backup job and maintenance commands): sees
    /// everything. No request resolves to it.
    LocalOperator,
    /// A request that carried a valid token.
    Token(Arc<Principal>),
}

/// The holder of a valid token, as resolved for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id.
    pub token_id: u64,
    /// The token's name.
    pub token_name: String,
    /// Its role.
    pub role: Role,
    /// The holder it acts for.
    pub holder_id: Option<u64>,
    /// The holders it may see; `None` for every holder (admin).
    pub holders: Option<BTreeSet<u64>>,
}

impl Caller {
    /// Whether the caller may do everything.
    pub fn is_admin(&self) -> bool {
        match self {
            Caller::LocalOperator => true,
            Caller::Token(p) => p.role == Role::Admin,
        }
    }

    /// Whether the caller may see `holder`'s records.
    pub fn sees(&self, holder: u64) -> bool {
        match self {
            Caller::LocalOperator => true,
            Caller::Token(p) => p.holders.as_ref().is_none_or(|h| h.contains(&holder)),
        }
    }

    /// Whether the caller sees every holder.
    pub fn sees_all(&self) -> bool {
        match self {
            Caller::LocalOperator => true,
            Caller::Token(p) => p.holders.is_none(),
        }
    }

    /// The holder a non-admin token acts for: what `"default"` means for it.
    pub fn own_holder(&self) -> Option<u64> {
        match self {
            Caller::Token(p) if p.role != Role::Admin => p.holder_id,
            _ => None,
        }
    }

    /// The token's id and name, for logs and history.
    pub fn who(&self) -> String {
        match self {
            Caller::LocalOperator => "recertd".into(),
            Caller::Token(p) if p.token_name.is_empty() => token_id(p.token_id),
            Caller::Token(p) => format!("{} ({})", token_id(p.token_id), p.token_name),
        }
    }

    /// Refuses unless the caller is an admin; `what` says what was asked.
    pub fn require_admin(&self, what: &str) -> ServiceResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{what} needs an admin token"
            )))
        }
    }
}

/// A token to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Optional name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The holder it acts for.
    pub holder: Option<HolderRef>,
    /// After this it is refused.
    pub expires_at: Option<Timestamp>,
}

/// Which history entries to list.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// Only this holder's records.
    pub holder: Option<HolderRef>,
    /// Only this credential's entries.
    pub credential: Option<u64>,
    /// Only changes at or after this instant.
    pub since: Option<Timestamp>,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// At most this many.
    pub size: usize,
}

/// A change to a team's people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamChange {
    /// Adds a member.
    AddMember,
    /// Removes a member (and their lead role).
    RemoveMember,
    /// Adds a lead (a lead is not made a member).
    AddLead,
}

/// The SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> TokenHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new random secret: the prefix and 256 random bits in hex.
pub fn new_secret() -> ServiceResult<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        ServiceError::Store(StoreError::Storage(format!(
            "the system's random source failed: {e}"
        )))
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{TOKEN_PREFIX}{hex}"))
}

/// Whether `secret` has the shape of one [`new_secret`] makes.
pub fn is_secret(secret: &str) -> bool {
    secret.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == SECRET_BYTES * 2 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn unauthenticated(message: &str) -> ServiceError {
    ServiceError::Unauthenticated(format!(
        "{message}; give a token with --token or RECERT_TOKEN (an admin finds the first one in the data dir's admin.token)"
    ))
}

impl<S: Store> Service<S> {
    /// The caller an `authorization` header value (`Bearer rct_...`) names: refused when it
    /// is missing, malformed, unknown, expired or revoked. Read from the store on every call,
    /// so a revocation holds from the next request.
    pub async fn authenticate(&self, authorization: Option<&str>) -> ServiceResult<Caller> {
        let Some(value) = authorization else {
            return Err(unauthenticated("this call needs a token"));
        };
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthenticated("the authorization header is not \"Bearer <token>\""))?;
        let token = match self.store.token_by_hash(hash_secret(secret)).await? {
            Some(token) if token.valid_at(self.clock.now()) => token,
            _ => return Err(unauthenticated("the token is unknown, expired or revoked")),
        };
        let holders = match (token.role, token.holder_id) {
            (Role::Admin, _) => None,
            (Role::Holder, Some(h)) => Some(BTreeSet::from([h])),
            (Role::Supervisor, Some(h)) => {
                let mut seen = BTreeSet::from([h]);
                for team in self.store.teams().await? {
                    if team.leads.contains(&h) {
                        seen.extend(team.members.iter().copied());
                    }
                }
                Some(seen)
            }
            (_, None) => Some(BTreeSet::new()),
        };
        Ok(Caller::Token(Arc::new(Principal {
            token_id: token.id,
            token_name: token.name,
            role: token.role,
            holder_id: token.holder_id,
            holders,
        })))
    }

    /// Whether the caller's token still holds: not revoked, not expired (by the service's
    /// clock), still there. A long-lived stream asks on each item and periodically, so a
    /// revocation through any daemon on the same store cuts it.
    pub async fn still_authenticated(&self, caller: &Caller) -> ServiceResult<()> {
        let Caller::Token(p) = caller else {
            return Ok(());
        };
        let now = self.clock.now();
        let valid = self
            .store
            .tokens()
            .await?
            .iter()
            .any(|t| t.id == p.token_id && t.valid_at(now));
        if valid {
            Ok(())
        } else {
            Err(unauthenticated("the token was revoked or has expired"))
        }
    }

    /// The store, its writes recorded in the audit trail as the caller's.
    pub fn store_as(&self, caller: &Caller) -> S {
        let token_id = match caller {
            Caller::LocalOperator => None,
            Caller::Token(p) => Some(p.token_id),
        };
        self.store.acting(Actor {
            token_id,
            name: caller.who(),
            at: self.clock.now(),
        })
    }

    /// The audit trail the caller may see, oldest first: of one holder's records (or one
    /// credential's), or of every holder they see; only changes at or after `since`.
    pub async fn history(
        &self,
        caller: &Caller,
        query: HistoryQuery,
    ) -> ServiceResult<Page<HistoryEntry>> {
        let holder = match query.holder {
            Some(h) => Some(self.resolve_holder(caller, h).await?),
            None => None,
        };
        let credential = match query.credential {
            Some(id) => Some(self.get_credential(caller, id).await?),
            None => None,
        };
        let holder = holder.or(credential.as_ref().map(|c| c.holder_id));
        let wanted = credential.map(|c| IdKind::Credential.format(c.id));
        let mut after = query.after;
        let mut items = Vec::new();
        loop {
            let page = self
                .store
                .history(holder, after.as_ref(), query.size)
                .await?;
            for entry in page.items {
                after = Some(self.store.id_cursor(entry.id));
                let seen = match entry.holder_id {
                    Some(h) => caller.sees(h),
                    None => caller.is_admin(),
                };
                let matches = wanted.as_ref().is_none_or(|w| *w == entry.record)
                    && query.since.is_none_or(|s| entry.at >= s);
                if seen && matches {
                    items.push(entry);
                    if items.len() == query.size {
                        return Ok(Page { items, next: after });
                    }
                }
            }
            if page.next.is_none() {
                return Ok(Page { items, next: None });
            }
        }
    }

    /// Refuses with "not found", worded as the store words an absent record, unless the
    /// caller may see `holder`'s records.
    pub fn visible(
        &self,
        caller: &Caller,
        kind: IdKind,
        id: u64,
        holder: u64,
    ) -> ServiceResult<()> {
        if caller.sees(holder) {
            Ok(())
        } else {
            Err(StoreError::not_found(kind, id).into())
        }
    }

    /// Makes a token (admin only); returns it and its secret, which is not kept.
    pub async fn create_token(
        &self,
        caller: &Caller,
        new: NewToken,
    ) -> ServiceResult<(Token, String)> {
        caller.require_admin("making a token")?;
        let holder_id = match new.holder {
            Some(h) => Some(self.find_holder(caller, h).await?.id),
            None => None,
        };
        if let Some(at) = new.expires_at
            && at <= self.clock.now()
        {
            return Err(ServiceError::invalid(
                "expires_at",
                format!("expires_at ({at}) is not in the future"),
            ));
        }
        let secret = new_secret()?;
        let token = Token {
            id: 0,
            name: new.name,
            role: new.role,
            holder_id,
            hash: hash_secret(&secret),
            created_at: self.clock.now(),
            expires_at: new.expires_at,
            revoked_at: None,
        };
        token.validate()?;
        let token = self.store_as(caller).create_token(token).await?;
        tracing::info!(token = %token_id(token.id), role = token.role.as_str(), by = %caller.who(), "token created");
        Ok((token, secret))
    }

    /// Stores `secret` as an admin token named `name` (first start, `token create-admin`).
    pub async fn create_admin_token(&self, secret: &str, name: &str) -> ServiceResult<Token> {
        let token = Token {
            id: 0,
            name: name.into(),
            role: Role::Admin,
            holder_id: None,
            hash: hash_secret(secret),
            created_at: self.clock.now(),
            expires_at: None,
            revoked_at: None,
        };
        Ok(self.store.create_token(token).await?)
    }

    /// Whether any token exists.
    pub async fn has_tokens(&self) -> ServiceResult<bool> {
        Ok(!self.store.tokens().await?.is_empty())
    }

    /// The tokens the caller may see: every one for an admin, else those bound to their
    /// holder.
    pub async fn list_tokens(&self, caller: &Caller) -> ServiceResult<Vec<Token>> {
        let tokens = self.store.tokens().await?;
        Ok(tokens
            .into_iter()
            .filter(|t| {
                caller.is_admin() || (t.holder_id.is_some() && t.holder_id == caller.own_holder())
            })
            .collect())
    }

    /// Revokes a token the caller may see (see [`Service::list_tokens`]), from its next use.
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> ServiceResult<Token> {
        let not_found =
            || ServiceError::NotFound(format!("token {id} not found (see: recert token list)"));
        let id = parse_token_id(id).ok_or_else(|| {
            ServiceError::from(FieldError::new(
                "id",
                format!("id {id:?} is not a token id (tk1)"),
            ))
        })?;
        let visible = self.list_tokens(caller).await?;
        if !visible.iter().any(|t| t.id == id) {
            return Err(not_found());
        }
        let token = self
            .store_as(caller)
            .revoke_token(id, self.clock.now())
            .await?;
        tracing::info!(token = %token_id(id), by = %caller.who(), "token revoked");
        Ok(token)
    }

    /// Makes a team (admin only).
    pub async fn create_team(&self, caller: &Caller, name: String) -> ServiceResult<Team> {
        caller.require_admin("making a team")?;
        let team = Team {
            id: 0,
            name: name.trim().to_string(),
            members: Vec::new(),
            leads: Vec::new(),
        };
        team.validate()?;
        if parse_team_id(&team.name).is_some() {
            return Err(ServiceError::invalid(
                "name",
                format!("name {:?} looks like a team id; choose another", team.name),
            ));
        }
        Ok(self.store_as(caller).put_team(team).await?)
    }

    /// The teams the caller may see: all for an admin, else those their holder leads or
    /// belongs to.
    pub async fn list_teams(&self, caller: &Caller) -> ServiceResult<Vec<Team>> {
        let teams = self.store.teams().await?;
        if caller.is_admin() {
            return Ok(teams);
        }
        let own = caller.own_holder();
        Ok(teams
            .into_iter()
            .filter(|t| own.is_some_and(|h| t.leads.contains(&h) || t.members.contains(&h)))
            .collect())
    }

    /// A team the caller may see, by id (`tm1`), name, or a name only one team has when case
    /// is ignored.
    pub async fn team(&self, caller: &Caller, team: &str) -> ServiceResult<Team> {
        let wanted = team.trim();
        let by_id = parse_team_id(wanted);
        let teams = self.list_teams(caller).await?;
        if let Some(team) = teams
            .iter()
            .find(|t| Some(t.id) == by_id || t.name == wanted)
        {
            return Ok(team.clone());
        }
        let mut matches: Vec<Team> = teams
            .into_iter()
            .filter(|t| t.name.eq_ignore_ascii_case(wanted))
            .collect();
        match matches.len() {
            0 => Err(ServiceError::NotFound(format!(
                "team {wanted:?} not found (see: recert team list)"
            ))),
            1 => Ok(matches.remove(0)),
            _ => Err(ServiceError::invalid(
                "team",
                format!(
                    "team {wanted:?} matches {}; give a team id",
                    matches
                        .iter()
                        .map(|t| team_id(t.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Adds or removes a member, or adds a lead (admin only).
    pub async fn change_team(
        &self,
        caller: &Caller,
        team: &str,
        holder: HolderRef,
        change: TeamChange,
    ) -> ServiceResult<Team> {
        caller.require_admin("changing a team")?;
        let mut team = self.team(caller, team).await?;
        let holder = self.find_holder(caller, holder).await?.id;
        let add = |list: &mut Vec<u64>| {
            if !list.contains(&holder) {
                list.push(holder);
                list.sort_unstable();
            }
        };
        match change {
            TeamChange::AddMember => add(&mut team.members),
            TeamChange::AddLead => add(&mut team.leads),
            TeamChange::RemoveMember => {
                team.members.retain(|&h| h != holder);
                team.leads.retain(|&h| h != holder);
            }
        }
        Ok(self.store_as(caller).put_team(team).await?)
    }

    /// Drops a deleted holder from every team (after the delete).
    pub(super) async fn forget_holder_in_teams(
        &self,
        caller: &Caller,
        holder: u64,
    ) -> ServiceResult<()> {
        for mut team in self.store.teams().await? {
            if team.members.contains(&holder) || team.leads.contains(&holder) {
                team.members.retain(|&h| h != holder);
                team.leads.retain(|&h| h != holder);
                self.store_as(caller).put_team(team).await?;
            }
        }
        Ok(())
    }
}
