//! A team's delivery channels (`recert notify add ... --team T`): each receives every
//! member's alerts. Only an admin or one of the team's leads may see or change them.

use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{Channel, IdKind, Role, Team};
use crate::store::Store;

impl<S: Store> Service<S> {
    /// Adds a channel to `team` (an id or a name), checked as a holder's channel is.
    pub async fn create_team_channel(
        &self,
        caller: &Caller,
        team: &str,
        mut channel: Channel,
    ) -> ServiceResult<Channel> {
        let team = self.led_team(caller, team).await?;
        channel.holder_id = 0;
        channel.team_id = team.id;
        self.create_channel_checked(caller, channel).await
    }

    /// The channels of `team` (an id or a name).
    pub async fn team_channels(&self, caller: &Caller, team: &str) -> ServiceResult<Vec<Channel>> {
        let team = self.led_team(caller, team).await?;
        Ok(self.store.team_channels(team.id).await?)
    }

    /// Refuses to remove team channel `channel` unless the caller leads its team or is an
    /// admin; a caller who cannot see the team is told the channel is not found.
    pub(super) async fn may_change_team_channel(
        &self,
        caller: &Caller,
        channel: &Channel,
    ) -> ServiceResult<()> {
        let teams = self.list_teams(caller).await?;
        let Some(team) = teams.iter().find(|t| t.id == channel.team_id) else {
            return Err(crate::store::StoreError::not_found(IdKind::Channel, channel.id).into());
        };
        require_lead(caller, team)
    }

    /// A team the caller may see, by id or name, that they lead (or any, for an admin): who
    /// may change, list or test its channels. A member is refused; a caller who cannot see
    /// the team is told it is not found.
    pub async fn led_team(&self, caller: &Caller, team: &str) -> ServiceResult<Team> {
        let team = self.team(caller, team).await?;
        require_lead(caller, &team)?;
        Ok(team)
    }
}

/// Refuses unless the caller is an admin or a supervisor whose holder leads `team`.
fn require_lead(caller: &Caller, team: &Team) -> ServiceResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let leads = match caller {
        Caller::Token(p) if p.role == Role::Supervisor => {
            p.holder_id.is_some_and(|h| team.leads.contains(&h))
        }
        _ => false,
    };
    if leads {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "the channels of team {} need an admin token or a supervisor token of one of its leads",
            team.name
        )))
    }
}
