//! `recert.v1.TokenService` and `recert.v1.TeamService`.

use super::convert;
use super::{Api, ApiError, caller};
use crate::domain::{
    HistoryEntry, IdKind, Role, Team, Token, parse_date, parse_id, team_id, token_id,
};
use crate::service::{HistoryQuery, NewToken, TeamChange};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::history_service_server::HistoryService;
use recert_proto::v1::team_service_server::TeamService;
use recert_proto::v1::token_service_server::TokenService;
use tonic::{Request, Response, Status};

/// Tokens: made, listed and revoked.
#[derive(Debug, Clone)]
pub struct TokenApi<S>(pub Api<S>);

/// Teams of holders.
#[derive(Debug, Clone)]
pub struct TeamApi<S>(pub Api<S>);

/// The audit trail.
#[derive(Debug, Clone)]
pub struct HistoryApi<S>(pub Api<S>);

fn entry_to_pb(e: &HistoryEntry) -> pb::HistoryEntry {
    pb::HistoryEntry {
        id: format!("hi{}", e.id),
        at: e.at.to_string(),
        token_id: e.token_id.map(token_id).unwrap_or_default(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        kind: e.kind.clone(),
        record: e.record.clone(),
        holder_id: e
            .holder_id
            .map(|h| IdKind::Holder.format(h))
            .unwrap_or_default(),
        before: e.before.clone().unwrap_or_default(),
        after: e.after.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<S: Store> HistoryService for HistoryApi<S> {
    async fn list_history(
        &self,
        request: Request<pb::ListHistoryRequest>,
    ) -> Result<Response<pb::ListHistoryResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let holder = match req.holder_id.trim() {
            "" => None,
            h => Some(convert::holder_ref("holder_id", h)?),
        };
        let credential = match req.credential_id.trim() {
            "" => None,
            c => Some(
                parse_id(IdKind::Credential, "credential_id", c)
                    .map_err(|e| ApiError::Invalid(vec![e]))?,
            ),
        };
        let since = match req.since.trim() {
            "" => None,
            d => {
                let date = parse_date("since", d).map_err(|e| ApiError::Invalid(vec![e]))?;
                Some(
                    date.to_zoned(jiff::tz::TimeZone::UTC)
                        .map_err(|_| ApiError::invalid("since", "since is out of range"))?
                        .timestamp(),
                )
            }
        };
        let query = HistoryQuery {
            holder,
            credential,
            since,
            after: convert::page_token(&req.page_token)?,
            size: convert::page_size(req.page_size)?,
        };
        let page = self.0.service().history(&caller, query).await?;
        Ok(Response::new(pb::ListHistoryResponse {
            entries: page.items.iter().map(entry_to_pb).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }
}

fn token_to_pb(t: &Token) -> pb::Token {
    pb::Token {
        id: token_id(t.id),
        name: t.name.clone(),
        role: t.role.as_str().into(),
        holder_id: t
            .holder_id
            .map(|h| IdKind::Holder.format(h))
            .unwrap_or_default(),
        expires_at: t.expires_at.map(|at| at.to_string()).unwrap_or_default(),
        created_at: t.created_at.to_string(),
        revoked_at: t.revoked_at.map(|at| at.to_string()).unwrap_or_default(),
    }
}

fn team_to_pb(t: &Team) -> pb::Team {
    let ids = |list: &[u64]| list.iter().map(|&h| IdKind::Holder.format(h)).collect();
    pb::Team {
        id: team_id(t.id),
        name: t.name.clone(),
        member_ids: ids(&t.members),
        lead_ids: ids(&t.leads),
    }
}

#[tonic::async_trait]
impl<S: Store> TokenService for TokenApi<S> {
    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let role = Role::parse(&req.role).ok_or_else(|| {
            ApiError::invalid(
                "role",
                format!("role {:?} is not admin, supervisor or holder", req.role),
            )
        })?;
        let holder = match req.holder_id.trim() {
            "" => None,
            h => Some(convert::holder_ref("holder_id", h)?),
        };
        let expires_at = match req.expires_at.trim() {
            "" => None,
            at => Some(at.parse::<jiff::Timestamp>().map_err(|_| {
                ApiError::invalid(
                    "expires_at",
                    format!("expires_at {at:?} is not an RFC 3339 instant"),
                )
            })?),
        };
        let new = NewToken {
            name: req.name.trim().to_string(),
            role,
            holder,
            expires_at,
        };
        let (token, secret) = self.0.service().create_token(&caller, new).await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token_to_pb(&token)),
            secret,
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let caller = caller(&request)?;
        let tokens = self.0.service().list_tokens(&caller).await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.iter().map(token_to_pb).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        let caller = caller(&request)?;
        let token = self
            .0
            .service()
            .revoke_token(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(token_to_pb(&token)))
    }
}

impl<S: Store> TeamApi<S> {
    async fn change(
        &self,
        request: Request<pb::TeamMemberRequest>,
        change: TeamChange,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let holder = convert::holder_ref("holder_id", &req.holder_id)?;
        let team = self
            .0
            .service()
            .change_team(&caller, &req.team, holder, change)
            .await?;
        Ok(Response::new(team_to_pb(&team)))
    }
}

#[tonic::async_trait]
impl<S: Store> TeamService for TeamApi<S> {
    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = caller(&request)?;
        let name = request.into_inner().name;
        let team = self.0.service().create_team(&caller, name).await?;
        Ok(Response::new(team_to_pb(&team)))
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        let caller = caller(&request)?;
        let teams = self.0.service().list_teams(&caller).await?;
        Ok(Response::new(pb::ListTeamsResponse {
            teams: teams.iter().map(team_to_pb).collect(),
        }))
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = caller(&request)?;
        let team = self
            .0
            .service()
            .team(&caller, &request.get_ref().team)
            .await?;
        Ok(Response::new(team_to_pb(&team)))
    }

    async fn add_member(
        &self,
        request: Request<pb::TeamMemberRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        self.change(request, TeamChange::AddMember).await
    }

    async fn remove_member(
        &self,
        request: Request<pb::TeamMemberRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        self.change(request, TeamChange::RemoveMember).await
    }

    async fn add_lead(
        &self,
        request: Request<pb::TeamMemberRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        self.change(request, TeamChange::AddLead).await
    }
}
